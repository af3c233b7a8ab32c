/* synfin on a Linux TUN device (see tun.h). One process, one stack, one
 * device; the loop waits in ppoll() on the device and the application's
 * descriptors with the timeout the stack asks for, reads datagrams in
 * batches and writes each datagram the stack emits as it is emitted (a TUN
 * write carries exactly one datagram, so without offload there is nothing
 * to gain from queueing them, except when an impairment holds one back).
 *
 * With offload (IFF_VNET_HDR) a write costs the same ~3.5 us however large
 * it is, so consecutive data segments of one connection are merged into
 * one GSO packet that the kernel segments and checksums itself, and the
 * super-packets the kernel sends us get their TCP checksum completed here,
 * before the core (which checks every checksum) sees them. */
#include "link/tun.h"
#include "synfin/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TUN_BATCH 64      /* datagrams read per wake-up before servicing */
#define TUN_BUF 65600     /* an IPv4 datagram is at most 65535 bytes */
#define TUN_MAX_APP_FDS 1024
#define VNET_HDR 10       /* struct virtio_net_hdr, without num_buffers */
#define GSO_MAX 65535     /* a merged packet is still one IPv4 datagram */

/* Outgoing data segments being merged into one GSO packet: the first
 * segment's headers, then every segment's payload, after room for the
 * vnet header. */
struct sf_tun_gso {
    size_t len;        /* IPv4 datagram bytes held (0: nothing pending) */
    unsigned segs;
    size_t mss;        /* payload of the first segment: the gso_size */
    size_t last;       /* payload of the latest one */
    uint32_t next_seq; /* the sequence number that may follow */
    size_t rx_mss;     /* gso_size of the datagram just read (0: none) */
    uint8_t buf[VNET_HDR + GSO_MAX];
    uint8_t seg[GSO_MAX]; /* one segment cut from a super-packet read */
};

struct sf_tun_pkt {
    struct sf_tun_pkt *next;
    sf_time_t due;
    bool out; /* toward the kernel (else toward the stack) */
    size_t len;
    uint8_t data[];
};

sf_time_t sf_tun_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (sf_time_t)ts.tv_sec * SF_SEC + (sf_time_t)ts.tv_nsec;
}

static sf_time_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (sf_time_t)ts.tv_sec * SF_SEC + (sf_time_t)ts.tv_nsec;
}

static int set_offload(int fd, char *err, size_t errlen)
{
    int sz = VNET_HDR;
    /* TUN_F_TSO4 lets the kernel hand us super-packets; TSO6 and UFO we
     * could not take (IPv4 TCP only). */
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 ||
        ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0) {
        snprintf(err, errlen, "cannot enable offloads on the TUN device: %s "
                 "(run with --no-offload)", strerror(errno));
        return -1;
    }
    return 0;
}

int sf_tun_open(struct sf_tun *t, const char *name, bool offload, char *err,
                size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
    t->rng = 0x9e3779b97f4a7c15ull;
    if (!name || !*name || strlen(name) >= IFNAMSIZ) {
        snprintf(err, errlen, "bad device name '%s': give 1 to %d characters",
                 name ? name : "", IFNAMSIZ - 1);
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open /dev/net/tun: %s (load the tun "
                 "module: modprobe tun, or create it: mknod /dev/net/tun c 10 200)",
                 strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        if (e == EPERM)
            snprintf(err, errlen, "cannot create TUN device %s: permission "
                     "denied (run as root or with CAP_NET_ADMIN)", name);
        else if (e == EBUSY || e == EINVAL)
            snprintf(err, errlen, "cannot create TUN device %s: the name is in "
                     "use (%s); pick another with --tun NAME", name, strerror(e));
        else
            snprintf(err, errlen, "cannot create TUN device %s: %s", name,
                     strerror(e));
        close(fd);
        return -1;
    }
    if (offload) {
        t->gso = calloc(1, sizeof *t->gso);
        if (!t->gso)
            snprintf(err, errlen, "out of memory");
        if (!t->gso || set_offload(fd, err, errlen) < 0) {
            free(t->gso);
            t->gso = NULL;
            close(fd);
            return -1;
        }
    }
    t->offload = offload;
    t->fd = fd;
    memcpy(t->name, ifr.ifr_name, sizeof t->name - 1);
    return 0;
}

static int ifioctl(int s, unsigned long req, struct ifreq *ifr, const char *what,
                   const char *dev, char *err, size_t errlen)
{
    if (ioctl(s, req, ifr) == 0)
        return 0;
    snprintf(err, errlen, "cannot %s on %s: %s%s", what, dev, strerror(errno),
             errno == EPERM ? " (run as root or with CAP_NET_ADMIN)" : "");
    return -1;
}

static void set_sin(struct sockaddr *sa, uint32_t ip)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(ip);
    memcpy(sa, &sin, sizeof sin);
}

int sf_tun_config(struct sf_tun *t, uint32_t ip, int prefix, int mtu,
                  char *err, size_t errlen)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, t->name, strlen(t->name));
    uint32_t mask = prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
    int r = 0;
    set_sin(&ifr.ifr_addr, ip);
    r = r ? r : ifioctl(s, SIOCSIFADDR, &ifr, "set the address", t->name, err, errlen);
    set_sin(&ifr.ifr_netmask, mask);
    r = r ? r : ifioctl(s, SIOCSIFNETMASK, &ifr, "set the netmask", t->name, err, errlen);
    ifr.ifr_mtu = mtu;
    r = r ? r : ifioctl(s, SIOCSIFMTU, &ifr, "set the MTU", t->name, err, errlen);
    if (!r)
        r = ifioctl(s, SIOCGIFFLAGS, &ifr, "read the flags", t->name, err, errlen);
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    r = r ? r : ifioctl(s, SIOCSIFFLAGS, &ifr, "bring up", t->name, err, errlen);
    close(s);
    return r;
}

/* ------------------------------------------------------------------ pcap */

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

int sf_tun_pcap_open(struct sf_tun *t, const char *path, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t h[24];
    put32(h, 0xa1b23c4du); /* nanosecond-resolution pcap, host byte order */
    put16(h + 4, 2);
    put16(h + 6, 4);
    put32(h + 8, 0);
    put32(h + 12, 0);
    put32(h + 16, 65535);
    put32(h + 20, 101); /* LINKTYPE_RAW: the datagram starts with IPv4 */
    fwrite(h, 1, sizeof h, f);
    t->pcap = f;
    t->pcap_base_mono = sf_tun_now();
    t->pcap_base_real = realtime_ns();
    return 0;
}

static void pcap_write(struct sf_tun *t, sf_time_t now, const uint8_t *d,
                       size_t len)
{
    if (!t->pcap)
        return;
    sf_time_t ts = t->pcap_base_real + (now - t->pcap_base_mono);
    uint8_t r[16];
    put32(r, (uint32_t)(ts / SF_SEC));
    put32(r + 4, (uint32_t)(ts % SF_SEC));
    put32(r + 8, (uint32_t)len);
    put32(r + 12, (uint32_t)len);
    fwrite(r, 1, sizeof r, t->pcap);
    fwrite(d, 1, len, t->pcap);
}

void sf_tun_close(struct sf_tun *t)
{
    while (t->held) {
        struct sf_tun_pkt *p = t->held;
        t->held = p->next;
        free(p);
    }
    if (t->fd >= 0)
        sf_tun_flush(t);
    free(t->gso);
    t->gso = NULL;
    if (t->pcap)
        fclose(t->pcap);
    t->pcap = NULL;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* ------------------------------------------------------------ data path */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void set16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void set32(uint8_t *p, uint32_t v)
{
    set16(p, (uint16_t)(v >> 16));
    set16(p + 2, (uint16_t)v);
}

/* RFC 9293 3.1: the TCP checksum over the pseudo-header and the whole
 * segment, stored in the IPv4 datagram d (header length ihl). */
static void tcp_csum(uint8_t *d, size_t ihl, size_t len)
{
    uint8_t ph[12];
    memcpy(ph, d + 12, 8);
    ph[8] = 0;
    ph[9] = 6;
    set16(ph + 10, (uint16_t)(len - ihl));
    d[ihl + 16] = d[ihl + 17] = 0;
    uint32_t sum = sf_csum_add(sf_csum_add(0, ph, sizeof ph), d + ihl, len - ihl);
    set16(d + ihl + 16, sf_csum_fold(sum));
}

/* One write: the vnet header (offload only; h may be NULL for a plain
 * one, all zero: no GSO, checksum complete), then the datagram. */
static void dev_send(struct sf_tun *t, const struct virtio_net_hdr *h,
                     const uint8_t *d, size_t len)
{
    struct virtio_net_hdr zero;
    memset(&zero, 0, sizeof zero);
    struct iovec iov[2] = {{&zero, VNET_HDR}, {(void *)d, len}};
    if (h)
        iov[0].iov_base = (void *)h;
    int skip = t->offload ? 0 : 1;
    ssize_t want = (ssize_t)len + (t->offload ? VNET_HDR : 0);
    if (writev(t->fd, iov + skip, 2 - skip) != want) {
        /* The kernel drops on a full queue as a wire would; count it and
         * let TCP retransmit. */
        t->stats.tx_errors++;
        return;
    }
    t->stats.tx++;
    t->stats.tx_bytes += len;
}

/* A segment that may be merged: IPv4 without options or fragmentation,
 * TCP without options, ACK or ACK+PSH only, some payload. */
static bool plain_data(const uint8_t *d, size_t len)
{
    return len > 40 && len <= GSO_MAX && d[0] == 0x45 && d[9] == 6 &&
           get16(d + 2) == len && (get16(d + 6) & 0x3fff) == 0 &&
           d[32] >> 4 == 5 && (d[33] == 0x10 || d[33] == 0x18);
}

/* Whether plain segment d continues the pending one: same addresses, ports,
 * TOS and TTL, same ACK and window, the next sequence number, the pending
 * ones all gso_size long, and room left. */
static bool continues(const struct sf_tun_gso *g, const uint8_t *d, size_t len)
{
    const uint8_t *p = g->buf + VNET_HDR;
    size_t pl = len - 40;
    return g->len && g->last == g->mss && pl <= g->mss &&
           g->len + pl <= GSO_MAX && get32(d + 24) == g->next_seq &&
           d[1] == p[1] && d[8] == p[8] && !memcmp(d + 12, p + 12, 12) &&
           !memcmp(d + 28, p + 28, 4) && !memcmp(d + 34, p + 34, 2);
}

void sf_tun_flush(struct sf_tun *t)
{
    struct sf_tun_gso *g = t->gso;
    if (!g || !g->len)
        return;
    uint8_t *ip = g->buf + VNET_HDR;
    if (g->segs == 1) {
        dev_send(t, NULL, ip, g->len); /* as the stack emitted it */
        g->len = 0;
        return;
    }
    set16(ip + 2, (uint16_t)g->len);
    ip[10] = ip[11] = 0;
    set16(ip + 10, sf_csum_fold(sf_csum_add(0, ip, 20)));
    /* virtio 1.x 5.1.6.2: with NEEDS_CSUM the checksum field holds the
     * pseudo-header sum (of the merged length), not complemented; the
     * kernel adds each segment's bytes when it splits the packet. */
    uint8_t ph[12];
    memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = 6;
    set16(ph + 10, (uint16_t)(g->len - 20));
    set16(ip + 36, (uint16_t)~sf_csum_fold(sf_csum_add(0, ph, sizeof ph)));
    struct virtio_net_hdr h = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
        .hdr_len = 40,
        .gso_size = (uint16_t)g->mss,
        .csum_start = 20,
        .csum_offset = 16,
    };
    dev_send(t, &h, ip, g->len);
    t->stats.tx_gso++;
    t->stats.tx_gso_segs += g->segs;
    g->len = 0;
}

/* Offload: the segment joins the pending GSO packet, or starts the next
 * one, or (not a plain data segment) goes out alone after it. */
static void gso_add(struct sf_tun *t, const uint8_t *d, size_t len)
{
    struct sf_tun_gso *g = t->gso;
    /* Not while outbound impairments are on: after a gap the kernel takes
     * a merged packet as one out-of-order skb and sends one duplicate ACK,
     * not one per segment, and our fast retransmit (no SACK) would wait
     * for the retransmission timeout instead. */
    const struct sf_tun_impair *im = &t->out;
    bool plain = plain_data(d, len) &&
                 !(im->loss > 0 || im->dup > 0 || im->reorder > 0);
    if (plain && continues(g, d, len)) {
        size_t pl = len - 40;
        memcpy(g->buf + VNET_HDR + g->len, d + 40, pl);
        g->len += pl;
        g->segs++;
        g->last = pl;
        g->next_seq += (uint32_t)pl;
        g->buf[VNET_HDR + 33] = d[33]; /* PSH as the last segment has it */
        return;
    }
    sf_tun_flush(t);
    if (!plain) {
        dev_send(t, NULL, d, len);
        return;
    }
    memcpy(g->buf + VNET_HDR, d, len);
    g->len = len;
    g->segs = 1;
    g->mss = g->last = len - 40;
    g->next_seq = get32(d + 24) + (uint32_t)(len - 40);
}

static void dev_write(struct sf_tun *t, sf_time_t now, const uint8_t *d,
                      size_t len)
{
    pcap_write(t, now, d, len); /* what the stack sent, before merging */
    if (t->gso)
        gso_add(t, d, len);
    else
        dev_send(t, NULL, d, len);
}

static void deliver(struct sf_tun *t, sf_time_t now, bool out,
                    const uint8_t *d, size_t len)
{
    if (out)
        dev_write(t, now, d, len);
    else
        sf_stack_input(t->st, now, d, len);
}

static double rnd(struct sf_tun *t)
{
    /* xorshift64*: impairments need no better randomness than this. */
    t->rng ^= t->rng >> 12;
    t->rng ^= t->rng << 25;
    t->rng ^= t->rng >> 27;
    return (double)((t->rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static void hold(struct sf_tun *t, sf_time_t due, bool out, const uint8_t *d,
                 size_t len)
{
    struct sf_tun_pkt *p = malloc(sizeof *p + len);
    if (!p)
        return; /* as a lost datagram */
    p->due = due;
    p->out = out;
    p->len = len;
    memcpy(p->data, d, len);
    struct sf_tun_pkt **pp = &t->held;
    while (*pp && (*pp)->due <= due)
        pp = &(*pp)->next; /* FIFO among equal due times */
    p->next = *pp;
    *pp = p;
}

/* One datagram crossing the impaired wire in one direction. */
static void impaired(struct sf_tun *t, sf_time_t now, bool out,
                     const uint8_t *d, size_t len)
{
    const struct sf_tun_impair *im = out ? &t->out : &t->in;
    if (im->loss > 0 && rnd(t) < im->loss) {
        (*(out ? &t->stats.tx_lost : &t->stats.rx_lost))++;
        return;
    }
    int copies = 1;
    if (im->dup > 0 && rnd(t) < im->dup) {
        copies = 2;
        (*(out ? &t->stats.tx_dup : &t->stats.rx_dup))++;
    }
    for (int i = 0; i < copies; i++) {
        sf_time_t extra = 0;
        if (im->reorder > 0 && rnd(t) < im->reorder) {
            /* Held back long enough for the datagrams behind it to pass. */
            extra = im->delay > 2 * SF_MSEC ? im->delay : 2 * SF_MSEC;
            (*(out ? &t->stats.tx_reordered : &t->stats.rx_reordered))++;
        }
        if (im->delay == 0 && extra == 0 && !t->held)
            deliver(t, now, out, d, len);
        else
            hold(t, now + im->delay + extra, out, d, len);
    }
}

void sf_tun_output(void *ctx, const uint8_t *dgram, size_t len)
{
    struct sf_tun *t = ctx;
    impaired(t, sf_stack_now(t->st), true, dgram, len);
}

static void release_due(struct sf_tun *t, sf_time_t now)
{
    while (t->held && t->held->due <= now) {
        struct sf_tun_pkt *p = t->held;
        t->held = p->next;
        deliver(t, now, p->out, p->data, p->len);
        free(p);
    }
}

/* Offload: makes the datagram after vnet header h one the core accepts.
 * A super-packet gets its IPv4 total length (and so header checksum) set
 * to what was read; NEEDS_CSUM means the TCP checksum field holds only the
 * pseudo-header sum, so the full checksum is computed and stored. Returns
 * false if the header points outside the datagram. */
static bool complete(struct sf_tun *t, const struct virtio_net_hdr *h,
                     uint8_t *d, size_t len)
{
    bool v4 = len >= 20 && d[0] >> 4 == 4;
    size_t ihl = v4 ? (size_t)(d[0] & 15) * 4 : 0;
    if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
        t->stats.rx_gso++;
        if (v4 && ihl >= 20 && ihl <= len && get16(d + 2) != len) {
            set16(d + 2, (uint16_t)len); /* len <= 65535: see read_one */
            d[10] = d[11] = 0;
            set16(d + 10, sf_csum_fold(sf_csum_add(0, d, ihl)));
        }
    }
    if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
        return true;
    size_t start = h->csum_start, at = start + h->csum_offset;
    if (start >= len || at + 2 > len)
        return false;
    t->stats.rx_csum++;
    if (v4 && d[9] == 6 && start == ihl && h->csum_offset == 16)
        tcp_csum(d, ihl, len);
    else /* whatever it is, the field's partial sum is summed along */
        set16(d + at, sf_csum_fold(sf_csum_add(0, d + start, len - start)));
    return true;
}

/* Reads one datagram into buf; returns its length (0: nothing to hand in)
 * or -1 with errno. */
static ssize_t read_one(struct sf_tun *t, uint8_t *buf, uint8_t **dgram)
{
    ssize_t n = read(t->fd, buf, TUN_BUF);
    *dgram = buf;
    if (n < 0 || !t->offload)
        return n;
    struct virtio_net_hdr h;
    if (n < VNET_HDR || n - VNET_HDR > GSO_MAX) {
        t->stats.rx_bad_vnet++;
        return 0;
    }
    memcpy(&h, buf, sizeof h);
    *dgram = buf + VNET_HDR;
    bool gso = (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE;
    t->gso->rx_mss = gso ? h.gso_size : 0;
    if (!complete(t, &h, buf + VNET_HDR, (size_t)n - VNET_HDR)) {
        t->stats.rx_bad_vnet++;
        return 0;
    }
    return n - VNET_HDR;
}

/* Offload with inbound impairments: a super-packet is cut back into the
 * segments the wire would have carried (rx_mss each), so that --loss loses
 * one segment, not up to 44. Each gets its own length, IP ID, sequence
 * number and checksums; PSH and FIN stay on the last, CWR on the first. */
static void impaired_in(struct sf_tun *t, sf_time_t now, const uint8_t *d,
                        size_t len)
{
    const struct sf_tun_impair *im = &t->in;
    size_t mss = t->gso ? t->gso->rx_mss : 0;
    size_t ihl = len >= 20 ? (size_t)(d[0] & 15) * 4 : 0;
    size_t hl = ihl >= 20 && ihl + 20 <= len ? ihl + (size_t)(d[ihl + 12] >> 4) * 4 : 0;
    if (!(im->loss > 0 || im->dup > 0 || im->reorder > 0) || mss == 0 ||
        hl < ihl + 20 || hl > len || d[0] >> 4 != 4 || d[9] != 6 ||
        len - hl <= mss) {
        impaired(t, now, false, d, len);
        return;
    }
    uint8_t *s = t->gso->seg;
    uint32_t seq = get32(d + ihl + 4);
    uint16_t id = get16(d + 4);
    for (size_t off = hl, k = 0; off < len; off += mss, k++) {
        size_t pl = len - off < mss ? len - off : mss;
        memcpy(s, d, hl);
        memcpy(s + hl, d + off, pl);
        set16(s + 2, (uint16_t)(hl + pl));
        set16(s + 4, (uint16_t)(id + k));
        s[10] = s[11] = 0;
        set16(s + 10, sf_csum_fold(sf_csum_add(0, s, ihl)));
        set32(s + ihl + 4, seq + (uint32_t)(off - hl));
        if (off + pl < len)
            s[ihl + 13] &= (uint8_t)~(0x01 | 0x08); /* FIN, PSH */
        if (k > 0)
            s[ihl + 13] &= (uint8_t)~0x80; /* CWR */
        tcp_csum(s, ihl, hl + pl);
        impaired(t, now, false, s, hl + pl);
    }
}

/* Reads up to TUN_BATCH datagrams; returns -1 if the device failed. */
static int read_batch(struct sf_tun *t, uint8_t *buf)
{
    for (int i = 0; i < TUN_BATCH; i++) {
        uint8_t *d;
        ssize_t n = read_one(t, buf, &d);
        if (n < 0)
            return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        if (n == 0 && t->offload)
            continue;
        sf_time_t now = sf_tun_now();
        t->stats.rx++;
        t->stats.rx_bytes += (uint64_t)n;
        if (n < 20)
            t->stats.rx_runts++; /* still handed in: the stack counts why */
        pcap_write(t, now, d, (size_t)n);
        impaired_in(t, now, d, (size_t)n);
    }
    return 0;
}

static int wait_for(struct sf_tun *t, struct pollfd *fds, int n,
                    sf_time_t deadline)
{
    sf_time_t now = sf_tun_now();
    struct timespec ts, *tsp = NULL;
    if (deadline != SF_TIME_NEVER) {
        sf_time_t d = deadline > now ? deadline - now : 0;
        ts.tv_sec = (time_t)(d / SF_SEC);
        ts.tv_nsec = (long)(d % SF_SEC);
        tsp = &ts;
    }
    (void)t;
    int r = ppoll(fds, (nfds_t)n, tsp, NULL);
    return (r < 0 && errno != EINTR) ? -1 : 0;
}

static sf_time_t min_t(sf_time_t a, sf_time_t b) { return a < b ? a : b; }

int sf_tun_run(struct sf_tun *t, const struct sf_tun_hooks *h)
{
    uint8_t *buf = malloc(TUN_BUF);
    struct pollfd *fds = calloc(TUN_MAX_APP_FDS + 1, sizeof *fds);
    if (!buf || !fds) {
        free(buf);
        free(fds);
        return -1;
    }
    int rc = 0, napp = 0;
    bool woke = false;
    while (!t->stop) {
        sf_time_t now = sf_tun_now();
        if (fds[0].revents & POLLIN && read_batch(t, buf) < 0) {
            rc = -1;
            break;
        }
        now = sf_tun_now();
        sf_stack_advance(t->st, now);
        release_due(t, now);
        sf_time_t app = h->service(h->ctx, now, fds + 1, woke ? napp : 0);
        sf_time_t next = sf_stack_advance(t->st, now);
        if (t->held)
            next = min_t(next, t->held->due);
        next = min_t(next, app);
        sf_tun_flush(t); /* what this iteration emitted, merged */
        if (t->stop)
            break;
        fds[0] = (struct pollfd){.fd = t->fd, .events = POLLIN};
        napp = h->pollfds(h->ctx, fds + 1, TUN_MAX_APP_FDS);
        if (wait_for(t, fds, napp + 1, next) < 0) {
            rc = -1;
            break;
        }
        woke = true;
    }
    if (t->pcap)
        fflush(t->pcap);
    free(buf);
    free(fds);
    return rc;
}
