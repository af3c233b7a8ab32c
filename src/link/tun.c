/* synfin on a Linux TUN device (see tun.h). One process, one stack, one
 * device; the loop waits in ppoll() on the device and the application's
 * descriptors with the timeout the stack asks for, reads datagrams in
 * batches and writes each datagram the stack emits as it is emitted (a TUN
 * write carries exactly one datagram, so there is nothing to gain from
 * queueing them, except when an impairment holds one back). */
#include "link/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
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

int sf_tun_open(struct sf_tun *t, const char *name, char *err, size_t errlen)
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
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
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
    if (t->pcap)
        fclose(t->pcap);
    t->pcap = NULL;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* ------------------------------------------------------------ data path */

static void dev_write(struct sf_tun *t, sf_time_t now, const uint8_t *d,
                      size_t len)
{
    pcap_write(t, now, d, len);
    if (write(t->fd, d, len) != (ssize_t)len) {
        /* The kernel drops on a full queue as a wire would; count it and
         * let TCP retransmit. */
        t->stats.tx_errors++;
        return;
    }
    t->stats.tx++;
    t->stats.tx_bytes += len;
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

/* Reads up to TUN_BATCH datagrams; returns -1 if the device failed. */
static int read_batch(struct sf_tun *t, uint8_t *buf)
{
    for (int i = 0; i < TUN_BATCH; i++) {
        ssize_t n = read(t->fd, buf, TUN_BUF);
        if (n < 0)
            return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        sf_time_t now = sf_tun_now();
        t->stats.rx++;
        t->stats.rx_bytes += (uint64_t)n;
        if (n < 20)
            t->stats.rx_runts++; /* still handed in: the stack counts why */
        pcap_write(t, now, buf, (size_t)n);
        impaired(t, now, false, buf, (size_t)n);
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
