/* synfin on AF_XDP (see xdp.h and docs/xdp.md). The rings, the UMEM and
 * the program's loading and attaching are libxdp's and libbpf's; what is
 * here is what a TCP stack on raw Ethernet frames needs around them: the
 * Ethernet header on and off, ARP (RFC 826) for its one address, frame
 * bookkeeping, and the loop. */
#include "link/xdp.h"
#include "synfin/wire.h" /* sf_csum_add: the tap's copies */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <linux/if_xdp.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

/* The program's object, compiled by clang -target bpf from xdp_prog.bpf.c
 * and turned into this array by the Makefile. */
extern const unsigned char sf_xdp_prog_obj[];
extern const unsigned int sf_xdp_prog_obj_len;

#define FRAME 4096u            /* one frame per datagram: MTU up to FRAME - 14 */
#define NRX 2048u              /* RX and fill rings, and the frames they own */
#define NTX 2048u              /* TX and completion rings, and their frames */
#define NFRAMES (NRX + NTX)
#define BATCH 64u
#define NNEIGH 32
#define ETH_HLEN_ 14
#define MAX_QUEUES 64          /* the program's socket map (sf_xsks) */
#define HELD_WAIT (10 * SF_MSEC) /* the longest sleep while a datagram waits for ARP */
/* The largest Ethernet frame the link handles: one frame's worth at most
 * SF_XDP_MAX_MTU, several chained (multi-buffer) above it. */
#define MAXFRAME (SF_XDP_SG_MAX_MTU + ETH_HLEN_)

/* AF_XDP multi-buffer (Linux 6.6), which Debian's kernel headers (6.1)
 * predate: declared here as the kernel's UAPI (include/uapi/linux/
 * if_xdp.h) has them. Documentation/networking/af_xdp.rst, "Multi-Buffer
 * Support": the bind flag XDP_USE_SG says the application handles a
 * packet spread over several descriptors; every descriptor of such a
 * packet but its last carries XDP_PKT_CONTD in its options, on the RX
 * ring as on the TX ring. */
#define BIND_USE_SG (1u << 4)          /* XDP_USE_SG, sockaddr_xdp.sxdp_flags */
#define DESC_CONTD (1u << 0)           /* XDP_PKT_CONTD, xdp_desc.options */

/* What one queue learnt about a next hop, published for the others
 * (docs/xdp.md, "ARP with several queues"): a reply to one queue's ARP
 * request lands on whichever queue the sender hashes it to. Each queue
 * writes only its own slice (one writer, no lock); the others read it
 * under the entry's sequence count (odd: being written) and merge what is
 * newer than what they have. Every field is an atomic, read relaxed
 * between the two reads of seq, so no read races a write. */
struct pub_neigh {
    atomic_uint seq;
    atomic_uint_least64_t ipf;   /* ip (network order) | from_arp << 32 | valid << 33 */
    atomic_uint_least64_t mac;   /* the six bytes, first in the low byte */
    atomic_uint_least64_t stamp; /* the generation it was written at */
};

/* Keep in step with struct sf_xdp_cfg in xdp_prog.bpf.c. */
struct xdp_prog_cfg {
    uint32_t addr;      /* network byte order */
    uint32_t all_ports;
    uint32_t arp;
    uint32_t port_lo, port_hi;
};

/* Software steering between queues (sf_xdp_prog_steer, docs/xdp.md
 * "Active opens"): a frame of a local port another queue owns, taken off
 * this queue, is copied into a ring of this queue's to that one (one
 * producer, one consumer, no lock) and that queue's loop is woken. The
 * slot holds the whole Ethernet frame: at most the MTU (SF_XDP_MAX_MTU)
 * and 14 bytes; with multi-buffer (a larger MTU) the slots are that much
 * larger (p->ho_frame: the interface's MTU and 14), and fewer
 * (p->ho_slots: a power of two, so that the free-running counters wrap
 * onto the same slot, as many as HO_BYTES holds, at most HO_SLOTS and at
 * least HO_SLOTS_MIN: 1024 up to MTU 15000, 128 at MTU 65535, where 1024
 * would take 64 MB a ring). */
#define HO_SLOTS 1024u
#define HO_SLOTS_MIN 64u
#define HO_BYTES (16u << 20)
#define HO_FRAME (SF_XDP_MAX_MTU + ETH_HLEN_)
struct ho_slot {
    uint32_t len;
    uint8_t f[]; /* p->ho_frame bytes */
};
struct ho_ring {
    _Alignas(64) atomic_uint head; /* the consumer's: the next slot to read */
    _Alignas(64) atomic_uint tail; /* the producer's: the next slot to write */
    _Alignas(64) unsigned char s[]; /* p->ho_slots slots of p->ho_stride bytes */
};

struct sf_xdp_prog {
    char ifname[IF_NAMESIZE];
    int ifindex;
    int mtu;
    unsigned nqueues;
    uint8_t mac[ETH_ALEN];
    uint32_t addr;             /* host order */
    bool all_ports;
    enum xdp_attach_mode mode;
    int no_socket_fd;          /* the program's per-CPU count */
    struct bpf_object *obj;
    struct xdp_program *prog;
    int xsks_fd;
    bool arp;                  /* ARP about addr is synfin's */
    bool sg;                   /* multi-buffer: MTU above SF_XDP_MAX_MTU */
    size_t ho_frame, ho_stride; /* steering: a slot's frame room, its size */
    unsigned ho_slots;          /* and the slots of a ring */
    uint16_t port_lo, port_hi; /* active opens' local ports (lo > hi: none) */
    /* Software steering (sf_xdp_prog_steer): steer_n queues, ring
     * ho[j * steer_n + k] from queue j to queue k, queue k's wake-up
     * eventfd wake[k] (set when it opens, before any loop runs). */
    unsigned steer_n;
    struct ho_ring **ho;
    int wake[MAX_QUEUES];
    /* The only state queues share, and only for ARP: one slice per queue,
     * written by that queue alone. gen orders what was learnt (a newer
     * ARP answer wins), pubs counts finished publications (a queue with
     * nothing new to merge reads only that). */
    atomic_uint_least64_t gen, pubs;
    struct pub_neigh pub[MAX_QUEUES][NNEIGH];
};

/* A next hop: its IPv4 address and Ethernet address; one datagram may
 * wait here for the ARP reply. */
struct neigh {
    uint32_t ip; /* network byte order; 0: free */
    uint8_t mac[ETH_ALEN];
    bool known;
    uint64_t stamp;        /* the publication this knowledge came with */
    sf_time_t asked;       /* when we last sent an ARP request */
    size_t held_len;       /* a datagram waiting for the reply (0: none) */
    uint8_t held[MAXFRAME];
};

struct sf_xdp {
    struct sf_xdp_prog *p;
    unsigned queue;
    struct sf_stack *st;
    void *area;
    int fd;                    /* the AF_XDP socket */
    void *ring_map[4];         /* its rings' mappings: fill, completion, RX, TX */
    size_t ring_len[4];
    struct xsk_ring_prod fill, tx;
    struct xsk_ring_cons comp, rx;
    bool zerocopy, in_map;
    bool csum;                 /* TX checksum offload: TCP frames carry TX metadata */
    char csum_why[256];        /* why not, where asked (auto) */
    sf_tun_tap_fn tap;         /* sf_xdp_set_tap */
    void *tap_ctx;
    uint8_t tap_buf[MAXFRAME]; /* a partial datagram completed for the tap */
    uint8_t gather_buf[MAXFRAME]; /* a gathered datagram made one (tap, ARP wait) */
    /* Multi-buffer (p->sg): the socket bound with XDP_USE_SG; the frame
     * being gathered from its chained RX descriptors (sg_len bytes so
     * far; sg_bad: the chain is dropped at its end). */
    bool sg, sg_bad;
    size_t sg_len;
    uint8_t sg_buf[MAXFRAME];
    /* The distance between RX slots (rx_slot: FRAME, or FRAME -
     * RX_HEADROOM so that consecutive slots' data lie end to end; with
     * multi-buffer the UMEM's chunks are unaligned, umem_reg). A chain
     * being gathered in place: its first byte (chain; NULL: none, or
     * copied into sg_buf), and how many of its descriptors this RX batch
     * holds. */
    uint32_t rx_slot;
    const uint8_t *chain;
    unsigned chain_descs;
    uint64_t free_tx[NTX];     /* TX frames not in flight */
    unsigned nfree;
    unsigned unkicked;         /* TX descriptors submitted since the last kick */
    /* The TX thread (copy mode; docs/xdp.md "Where the time goes"): the
     * sendto() that pushes the TX ring runs the kernel's transmit path,
     * and on a veth the peer's whole receive path, inline; this thread
     * makes those calls, so the stack's loop goes on meanwhile. The loop
     * tells it with the eventfd; it says a failure in kerr. */
    enum sf_xdp_tx tx_mode;
    sf_time_t busy_ns;         /* sf_xdp_set_busy_poll (0: off) */
    bool kth_on;
    pthread_t kth;
    int kick_fd, done_fd;
    atomic_int kerr, kstop;
    atomic_int kbusy;             /* the thread is pushing */
    atomic_int kwaiter;           /* the loop waits on done_fd for the push's end */
    atomic_uint_least64_t ksends; /* sendto() calls the thread made */
    atomic_uint_least64_t kdrops; /* of them, EBUSY: a frame dropped */
    struct neigh neigh[NNEIGH];
    unsigned neigh_next, neigh_last;
    unsigned pub_next;         /* the next slot of our slice to overwrite */
    uint64_t seen_pubs;        /* p->pubs at the last complete merge */
    unsigned seen_seq[MAX_QUEUES][NNEIGH]; /* each published entry's seq merged */
    int err;                   /* the errno that stopped the queue (0: none) */
    int wake_fd;               /* steering: other queues hand us frames */
    uint64_t ho_pending;       /* steering: queues to wake after this batch (bit k) */
    struct sf_xdp_stats stats;
};

static void tx_thread_stop(struct sf_xdp *q);

static sf_time_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (sf_time_t)ts.tv_sec * SF_SEC + (sf_time_t)ts.tv_nsec;
}

/* libbpf and libxdp talk on stderr by default; synfin says what failed in
 * its own one line, so theirs are shown only on request. */
static int lib_print(int level, const char *fmt, va_list ap)
{
    (void)level;
    if (!getenv("SYNFIN_XDP_DEBUG"))
        return 0;
    return vfprintf(stderr, fmt, ap);
}
static int libbpf_print(enum libbpf_print_level l, const char *f, va_list ap)
{
    return lib_print((int)l, f, ap);
}
static int libxdp_print(enum libxdp_print_level l, const char *f, va_list ap)
{
    return lib_print((int)l, f, ap);
}

/* ------------------------------------------------------------ the program */

static int if_info(struct sf_xdp_prog *p, char *err, size_t errlen)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, p->ifname, strlen(p->ifname));
    if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
        snprintf(err, errlen, "cannot read %s's Ethernet address: %s",
                 p->ifname, strerror(errno));
        if (s >= 0)
            close(s);
        return -1;
    }
    if (ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */) {
        snprintf(err, errlen, "%s is not an Ethernet interface (AF_XDP here "
                 "speaks Ethernet and ARP)", p->ifname);
        close(s);
        return -1;
    }
    memcpy(p->mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    p->mtu = ioctl(s, SIOCGIFMTU, &ifr) < 0 ? 1500 : ifr.ifr_mtu;
    close(s);
    /* RX queues: /sys/class/net/IF/queues/rx-N (ip netns exec mounts the
     * namespace's own /sys). */
    char path[64];
    snprintf(path, sizeof path, "/sys/class/net/%s/queues", p->ifname);
    DIR *d = opendir(path);
    p->nqueues = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        p->nqueues += strncmp(e->d_name, "rx-", 3) == 0;
    if (d)
        closedir(d);
    if (p->nqueues == 0)
        p->nqueues = 1;
    return 0;
}

static const char *lib_err(int e, char *buf, size_t len)
{
    libxdp_strerror(e, buf, len);
    return buf;
}

/* The advice for a program that cannot be loaded or attached. */
static void load_err(int e, const struct sf_xdp_prog *p, const char *step,
                     char *err, size_t errlen)
{
    char b[128];
    e = e < 0 ? -e : e;
    if (e == EPERM || e == EACCES)
        snprintf(err, errlen, "the XDP program on %s: cannot %s: %s (run as "
                 "root, or with CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW)",
                 p->ifname, step, strerror(e));
    else if (e == EBUSY || e == EEXIST)
        snprintf(err, errlen, "the XDP program on %s: cannot %s: another XDP "
                 "program holds the interface (`xdp-loader status %s`, "
                 "`ip link set %s xdp off`)", p->ifname, step, p->ifname, p->ifname);
    else if (e == EOPNOTSUPP || e == ENOSYS || e == EINVAL)
        snprintf(err, errlen, "the XDP program on %s: cannot %s: %s (this "
                 "kernel or driver lacks XDP; Linux 5.3 or later is needed)",
                 p->ifname, step, lib_err(-e, b, sizeof b));
    else
        snprintf(err, errlen, "the XDP program on %s: cannot %s: %s",
                 p->ifname, step, lib_err(-e, b, sizeof b));
}

/* Multi-buffer refused (an old kernel, libxdp or driver): the MTU must
 * fit one frame, as without it. */
static void mtu_err(int e, const struct sf_xdp_prog *p, const char *step,
                    char *err, size_t errlen)
{
    char b[128];
    snprintf(err, errlen, "%s's MTU %d is above %d, which needs AF_XDP "
             "multi-buffer, and cannot %s: %s (Linux 6.6 or later, a driver with "
             "multi-buffer XDP): `ip link set %s mtu %d`", p->ifname, p->mtu,
             SF_XDP_MAX_MTU, step, lib_err(e < 0 ? e : -e, b, sizeof b),
             p->ifname, SF_XDP_MAX_MTU);
}

static int attach(struct sf_xdp_prog *p, enum sf_xdp_mode mode, char *note,
                  size_t notelen, char *err, size_t errlen)
{
    char b[128];
    int r = -EOPNOTSUPP;
    if (mode != SF_XDP_GENERIC) {
        r = xdp_program__attach(p->prog, p->ifindex, XDP_MODE_NATIVE, 0);
        if (r == 0) {
            p->mode = XDP_MODE_NATIVE;
            snprintf(note, notelen, "native XDP on %s", p->ifname);
            return 0;
        }
        if (mode == SF_XDP_NATIVE || r == -EPERM || r == -EACCES) {
            load_err(r, p, "attach in native mode", err, errlen);
            return -1;
        }
    }
    int rn = r;
    r = xdp_program__attach(p->prog, p->ifindex, XDP_MODE_SKB, 0);
    if (r < 0) {
        load_err(r, p, "attach", err, errlen);
        return -1;
    }
    p->mode = XDP_MODE_SKB;
    if (mode == SF_XDP_GENERIC)
        snprintf(note, notelen, "generic (SKB) XDP on %s, as asked", p->ifname);
    else
        snprintf(note, notelen, "generic (SKB) XDP on %s: native mode refused "
                 "(%s), falling back", p->ifname, lib_err(rn, b, sizeof b));
    return 0;
}

static int set_maps(struct sf_xdp_prog *p, const uint16_t *ports, int nports,
                    char *err, size_t errlen)
{
    int cfg_fd = bpf_object__find_map_fd_by_name(p->obj, "sf_cfg");
    int ports_fd = bpf_object__find_map_fd_by_name(p->obj, "sf_ports");
    p->xsks_fd = bpf_object__find_map_fd_by_name(p->obj, "sf_xsks");
    p->no_socket_fd = bpf_object__find_map_fd_by_name(p->obj, "sf_no_socket");
    if (cfg_fd < 0 || ports_fd < 0 || p->xsks_fd < 0 || p->no_socket_fd < 0) {
        snprintf(err, errlen, "the XDP program's maps are missing (a bad build?)");
        return -1;
    }
    uint8_t one = 1;
    for (int i = 0; i < nports; i++) {
        uint32_t k = ports[i];
        if (bpf_map_update_elem(ports_fd, &k, &one, BPF_ANY) < 0)
            goto fail;
    }
    /* The address last: until then the program passes every frame on. */
    struct xdp_prog_cfg c = {.addr = htonl(p->addr), .all_ports = p->all_ports,
                             .arp = p->arp, .port_lo = p->port_lo,
                             .port_hi = p->port_hi};
    uint32_t zero = 0;
    if (bpf_map_update_elem(cfg_fd, &zero, &c, BPF_ANY) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot set the XDP program's maps: %s", strerror(errno));
    return -1;
}

static int prog_open(struct sf_xdp_prog **pp, const char *ifname,
                     uint32_t addr, const uint16_t *ports, int nports,
                     bool arp, uint16_t lo, uint16_t hi,
                     enum sf_xdp_mode mode, char *note, size_t notelen,
                     char *err, size_t errlen)
{
    *pp = NULL;
    note[0] = 0;
    if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
        snprintf(err, errlen, "bad interface name '%s'", ifname ? ifname : "");
        return -1;
    }
    struct sf_xdp_prog *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(p->ifname, ifname, strlen(ifname));
    p->xsks_fd = -1;
    p->addr = addr;
    p->all_ports = ports == NULL && lo > hi;
    p->arp = arp;
    p->port_lo = lo;
    p->port_hi = hi;
    for (int k = 0; k < MAX_QUEUES; k++)
        p->wake[k] = -1;
    p->ifindex = (int)if_nametoindex(ifname);
    if (p->ifindex == 0) {
        snprintf(err, errlen, "no interface %s here (`ip link` lists them)", ifname);
        free(p);
        return -1;
    }
    if (if_info(p, err, errlen) < 0) {
        free(p);
        return -1;
    }
    if (p->mtu > SF_XDP_SG_MAX_MTU) {
        snprintf(err, errlen, "%s's MTU %d is above %d, the largest an IPv4 "
                 "datagram and chained AF_XDP frames carry here: "
                 "`ip link set %s mtu 9000`", ifname, p->mtu, SF_XDP_SG_MAX_MTU,
                 ifname);
        free(p);
        return -1;
    }
    /* Above one frame's worth: multi-buffer (af_xdp.rst, "Multi-Buffer
     * Support"), the program frags-aware (BPF_F_XDP_HAS_FRAGS) and the
     * socket bound with XDP_USE_SG; at or below it, neither. */
    p->sg = p->mtu > SF_XDP_MAX_MTU;
    p->ho_frame = p->sg ? (size_t)p->mtu + ETH_HLEN_ : HO_FRAME;
    p->ho_stride = (offsetof(struct ho_slot, f) + p->ho_frame + 63) / 64 * 64;
    p->ho_slots = HO_SLOTS;
    while (p->ho_slots > HO_SLOTS_MIN && p->ho_slots * p->ho_stride > HO_BYTES)
        p->ho_slots /= 2;
    libbpf_set_print(libbpf_print);
    libxdp_set_print(libxdp_print);
    p->obj = bpf_object__open_mem(sf_xdp_prog_obj, sf_xdp_prog_obj_len, NULL);
    long e = libbpf_get_error(p->obj);
    if (e) {
        p->obj = NULL;
        load_err((int)e, p, "open", err, errlen);
        sf_xdp_prog_close(p);
        return -1;
    }
    p->prog = xdp_program__from_bpf_obj(p->obj, "xdp");
    e = libxdp_get_error(p->prog);
    if (e) {
        p->prog = NULL;
        load_err((int)e, p, "open", err, errlen);
        sf_xdp_prog_close(p);
        return -1;
    }
    /* af_xdp.rst, "Multi-Buffer Support": a program that takes frames
     * of several buffers says so (SEC("xdp.frags"), here the flag set
     * before loading); it sees the first buffer between data and
     * data_end, where the headers it reads are. */
    if (p->sg && (e = xdp_program__set_xdp_frags_support(p->prog, true)) != 0) {
        mtu_err((int)e, p, "mark the XDP program frags-aware", err, errlen);
        sf_xdp_prog_close(p);
        return -1;
    }
    if (attach(p, mode, note, notelen, err, errlen) < 0) {
        if (p->sg) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "%s; a multi-buffer XDP program (frags) for "
                     "%s's MTU %d above %d: without one, `ip link set %s mtu %d`",
                     why, ifname, p->mtu, SF_XDP_MAX_MTU, ifname, SF_XDP_MAX_MTU);
        }
        sf_xdp_prog_close(p);
        return -1;
    }
    if (set_maps(p, ports, nports, err, errlen) < 0) {
        sf_xdp_prog_close(p);
        return -1;
    }
    *pp = p;
    return 0;
}

int sf_xdp_prog_open(struct sf_xdp_prog **pp, const char *ifname,
                     uint32_t addr, const uint16_t *ports, int nports,
                     enum sf_xdp_mode mode, char *note, size_t notelen,
                     char *err, size_t errlen)
{
    return prog_open(pp, ifname, addr, ports, nports, ports == NULL, 1, 0,
                     mode, note, notelen, err, errlen);
}

int sf_xdp_prog_open_active(struct sf_xdp_prog **pp, const char *ifname,
                            uint32_t addr, uint16_t lo, uint16_t hi,
                            enum sf_xdp_mode mode, char *note, size_t notelen,
                            char *err, size_t errlen)
{
    if (lo == 0 || lo > hi) {
        *pp = NULL;
        snprintf(err, errlen, "bad local port range %u-%u", lo, hi);
        return -1;
    }
    return prog_open(pp, ifname, addr, NULL, 0, true, lo, hi, mode, note,
                     notelen, err, errlen);
}

int sf_xdp_prog_steer(struct sf_xdp_prog *p, unsigned n, char *err, size_t errlen)
{
    if (n < 2)
        return 0;
    if (p->ho || n > MAX_QUEUES || n > p->nqueues) {
        snprintf(err, errlen, "cannot steer between %u queues of %s", n, p->ifname);
        return -1;
    }
    /* what is allocated is freed by sf_xdp_prog_close, even half made */
    p->ho = calloc((size_t)n * n, sizeof *p->ho);
    if (!p->ho)
        goto nomem;
    p->steer_n = n;
    for (unsigned j = 0; j < n; j++)
        for (unsigned k = 0; k < n; k++) {
            if (j == k)
                continue;
            size_t sz = sizeof(struct ho_ring) + p->ho_slots * p->ho_stride;
            struct ho_ring *r = aligned_alloc(64, (sz + 63) / 64 * 64);
            if (!r)
                goto nomem;
            atomic_init(&r->head, 0);
            atomic_init(&r->tail, 0);
            p->ho[j * n + k] = r;
        }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory (the rings between queues)");
    return -1;
}

const char *sf_xdp_prog_mode(const struct sf_xdp_prog *p)
{
    return p->mode == XDP_MODE_NATIVE ? "native" : "generic";
}
int sf_xdp_prog_mtu(const struct sf_xdp_prog *p) { return p->mtu; }

uint64_t sf_xdp_prog_no_socket(const struct sf_xdp_prog *p)
{
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0)
        return 0;
    uint64_t *v = calloc((size_t)ncpu, sizeof *v), sum = 0;
    uint32_t zero = 0;
    if (v && bpf_map_lookup_elem(p->no_socket_fd, &zero, v) == 0)
        for (int i = 0; i < ncpu; i++)
            sum += v[i];
    free(v);
    return sum;
}
unsigned sf_xdp_prog_queues(const struct sf_xdp_prog *p) { return p->nqueues; }

void sf_xdp_prog_close(struct sf_xdp_prog *p)
{
    if (!p)
        return;
    if (p->prog && p->mode != XDP_MODE_UNSPEC)
        xdp_program__detach(p->prog, p->ifindex, p->mode, 0);
    if (p->prog)
        xdp_program__close(p->prog);
    if (p->obj)
        bpf_object__close(p->obj); /* from_bpf_obj leaves it to us */
    if (p->ho)
        for (unsigned i = 0; i < p->steer_n * p->steer_n; i++)
            free(p->ho[i]);
    free(p->ho);
    free(p);
}

/* ------------------------------------------------------------ one queue */

/* AF_XDP TX metadata (Linux 6.8; the flag that asks for it, 6.11:
 * Documentation/networking/xsk-tx-metadata.rst), which Debian's kernel
 * headers (6.1) and libxdp 1.3 predate: declared here, as the kernel's
 * UAPI (include/uapi/linux/if_xdp.h) has them. The UMEM is registered by
 * hand for it, since libxdp's xsk_umem__create cannot pass
 * tx_metadata_len. */
#define UMEM_TX_METADATA_LEN (1u << 2) /* XDP_UMEM_TX_METADATA_LEN */
#define UMEM_UNALIGNED (1u << 0)       /* XDP_UMEM_UNALIGNED_CHUNK_FLAG */
/* What the kernel keeps in front of every RX buffer (XDP_PACKET_HEADROOM):
 * a frame's data starts this far into its chunk. */
#define RX_HEADROOM 256u
#define DESC_TX_METADATA (1u << 1)     /* XDP_TX_METADATA, xdp_desc.options */
#define TXMD_CHECKSUM (1ull << 1)      /* XDP_TXMD_FLAGS_CHECKSUM */
struct umem_reg {                      /* struct xdp_umem_reg */
    uint64_t addr, len;
    uint32_t chunk_size, headroom, flags, tx_metadata_len;
};
struct tx_meta {                       /* struct xsk_tx_metadata */
    uint64_t flags;
    uint16_t csum_start;  /* from the frame's first byte (desc addr) */
    uint16_t csum_offset; /* from csum_start: where the sum goes */
    uint32_t pad_;
    uint64_t launch_time_;
};
/* The room kept in front of every TX frame for its metadata: a multiple
 * of 8 (the kernel's rule), at least the struct. Every TX frame starts
 * TXMD bytes into its 4 KB chunk, metadata or not: the kernel checks
 * room for it in front of every descriptor once the UMEM has it. */
#define TXMD 32u
_Static_assert(sizeof(struct tx_meta) <= TXMD && TXMD % 8 == 0, "TXMD");
_Static_assert(sizeof(struct umem_reg) == 32, "xdp_umem_reg");

static const char *sock_advice(int e)
{
    switch (e) {
    case EAFNOSUPPORT:
        return " (this kernel has no AF_XDP sockets: CONFIG_XDP_SOCKETS, Linux 4.18 or later)";
    case EPERM:
    case EACCES:
        return " (run as root, or with CAP_NET_RAW and CAP_NET_ADMIN)";
    case EBUSY:
        return " (another AF_XDP socket holds this queue)";
    case EINVAL:
        return " (no such queue on the interface?)";
    case ENOMEM:
    case ENOBUFS:
        return " (locked memory: raise `ulimit -l`)";
    default:
        return "";
    }
}

static int fill_all(struct sf_xdp *q)
{
    uint32_t idx;
    if (xsk_ring_prod__reserve(&q->fill, NRX, &idx) != NRX)
        return -1;
    for (uint32_t i = 0; i < NRX; i++)
        *xsk_ring_prod__fill_addr(&q->fill, idx + i) = (uint64_t)i * q->rx_slot;
    xsk_ring_prod__submit(&q->fill, NRX);
    for (uint32_t i = 0; i < NTX; i++)
        q->free_tx[i] = (uint64_t)(NRX + i) * FRAME + TXMD;
    q->nfree = NTX;
    return 0;
}

/* Maps ring k of the socket (n entries of esize bytes at page offset
 * pgoff; 0 fill, 1 completion, 2 RX, 3 TX). Returns the mapping, or NULL
 * with errno. RING_INIT then sets up libxdp's view of it, as
 * xsk_umem__create and xsk_socket__create do: a producer's cached view
 * starts with the whole ring free. */
static char *map_ring(struct sf_xdp *q, int k, const struct xdp_ring_offset *o,
                      uint64_t pgoff, unsigned n, size_t esize)
{
    size_t len = (size_t)o->desc + n * esize;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   q->fd, (off_t)pgoff);
    if (m == MAP_FAILED)
        return NULL;
    q->ring_map[k] = m;
    q->ring_len[k] = len;
    return m;
}
#define RING_INIT(r, m, o, n, prod)                                     \
    do {                                                                \
        (r)->mask = (n) - 1;                                            \
        (r)->size = (n);                                                \
        (r)->producer = (uint32_t *)((m) + (o).producer);               \
        (r)->consumer = (uint32_t *)((m) + (o).consumer);               \
        (r)->flags = (uint32_t *)((m) + (o).flags);                     \
        (r)->ring = (m) + (o).desc;                                     \
        (r)->cached_prod = *(r)->producer;                              \
        (r)->cached_cons = *(r)->consumer + ((prod) ? (n) : 0);         \
    } while (0)

/* Registers the UMEM on q->fd, with TX metadata unless csum is
 * SF_XDP_CSUM_OFF; *meta says whether the kernel took it. Returns 0 or
 * an errno. */
static int umem_reg(struct sf_xdp *q, enum sf_xdp_csum csum, bool *meta)
{
    /* Multi-buffer: unaligned chunks, so that the fill ring may hand out
     * RX slots that tile the UMEM (fill_all) */
    uint32_t base = q->p->sg ? UMEM_UNALIGNED : 0;
    struct umem_reg r = {.addr = (uint64_t)(uintptr_t)q->area,
                         .len = (uint64_t)NFRAMES * FRAME, .chunk_size = FRAME,
                         .flags = base};
    *meta = false;
    if (csum != SF_XDP_CSUM_OFF) {
        r.flags = base | UMEM_TX_METADATA_LEN;
        r.tx_metadata_len = TXMD;
        if (setsockopt(q->fd, SOL_XDP, XDP_UMEM_REG, &r, sizeof r) == 0) {
            *meta = true;
            return 0;
        }
        if (errno != EINVAL)
            return errno;
        /* a kernel before 6.11 knows no such flag: without it (6.8 to
         * 6.10 would take tx_metadata_len alone, older ones ignore it:
         * not worth telling apart) */
        r.flags = base;
        r.tx_metadata_len = 0;
    }
    if (setsockopt(q->fd, SOL_XDP, XDP_UMEM_REG, &r, sizeof r) < 0)
        return errno;
    return 0;
}

/* Whether ifname completes the checksums of what it sends itself
 * (ETHTOOL_GTXCSUM: `ethtool -k IF` tx-checksumming); unknown counts as
 * no. */
static bool dev_tx_csum(const char *ifname)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct ethtool_value v = {.cmd = ETHTOOL_GTXCSUM};
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    ifr.ifr_data = (void *)&v;
    bool on = ioctl(s, SIOCETHTOOL, &ifr) == 0 && v.data;
    close(s);
    return on;
}

/* The socket, its UMEM (with TX metadata when asked and taken), its four
 * rings, bound to queue `queue` of p's interface. Returns 0, or -1 with
 * a one-line error. */
static int sock_open(struct sf_xdp *q, bool force_copy, enum sf_xdp_csum csum,
                     bool *meta, char *err, size_t errlen)
{
    struct sf_xdp_prog *p = q->p;
    const char *step = "open an AF_XDP socket on";
    int e = 0;
    q->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (q->fd < 0) {
        e = errno;
        goto fail;
    }
    step = "register the UMEM of";
    e = umem_reg(q, csum, meta);
    if (e)
        goto fail;
    step = "open an AF_XDP socket on";
    unsigned sizes[4] = {NRX, NTX, NRX, NTX};
    int opts[4] = {XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING,
                   XDP_TX_RING};
    for (int i = 0; i < 4; i++)
        if (setsockopt(q->fd, SOL_XDP, opts[i], &sizes[i], sizeof sizes[i]) < 0) {
            e = errno;
            goto fail;
        }
    struct xdp_mmap_offsets off;
    socklen_t ol = sizeof off;
    if (getsockopt(q->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0) {
        e = errno;
        goto fail;
    }
    char *fr = map_ring(q, 0, &off.fr, XDP_UMEM_PGOFF_FILL_RING, NRX, 8);
    char *cr = fr ? map_ring(q, 1, &off.cr, XDP_UMEM_PGOFF_COMPLETION_RING, NTX, 8) : NULL;
    char *rx = cr ? map_ring(q, 2, &off.rx, XDP_PGOFF_RX_RING, NRX,
                             sizeof(struct xdp_desc)) : NULL;
    char *tx = rx ? map_ring(q, 3, &off.tx, XDP_PGOFF_TX_RING, NTX,
                             sizeof(struct xdp_desc)) : NULL;
    if (!tx) {
        e = errno;
        goto fail;
    }
    RING_INIT(&q->fill, fr, off.fr, NRX, true);
    RING_INIT(&q->comp, cr, off.cr, NTX, false);
    RING_INIT(&q->rx, rx, off.rx, NRX, false);
    RING_INIT(&q->tx, tx, off.tx, NTX, true);
    /* neither XDP_COPY nor XDP_ZEROCOPY: the kernel takes zero-copy
     * where the driver has it and copy mode otherwise */
    struct sockaddr_xdp sa = {
        .sxdp_family = AF_XDP, .sxdp_ifindex = (uint32_t)p->ifindex,
        .sxdp_queue_id = q->queue,
        .sxdp_flags = (uint16_t)(XDP_USE_NEED_WAKEUP | (force_copy ? XDP_COPY : 0))};
    /* af_xdp.rst, "Multi-Buffer Support": XDP_USE_SG, only where a frame
     * may span several (else the kernel would drop it, and nothing
     * changes below SF_XDP_MAX_MTU) */
    if (p->sg)
        sa.sxdp_flags |= BIND_USE_SG;
    if (bind(q->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        e = errno;
        if (p->sg && e != EPERM && e != EACCES && e != EBUSY) {
            char step2[64];
            snprintf(step2, sizeof step2, "bind queue %u's AF_XDP socket with "
                     "XDP_USE_SG", q->queue);
            mtu_err(e, p, step2, err, errlen);
            return -1;
        }
        goto fail;
    }
    q->sg = p->sg;
    q->stats.sg = q->sg;
    return 0;
fail:
    snprintf(err, errlen, "cannot %s %s queue %u: %s%s", step, p->ifname,
             q->queue, strerror(e),
             e == EINVAL && q->fd >= 0 && !q->ring_map[0] ? "" : sock_advice(e));
    return -1;
}

/* Decides the queue's TX checksum offload (docs/xdp.md, "Checksum
 * offload"): usable where the kernel took the TX metadata and, in copy
 * mode, the device completes TCP checksums (the kernel then hands the
 * frame on as a CHECKSUM_PARTIAL skb, and a veth to the peer's stack,
 * which takes it as valid, as from a local socket). Zero-copy: whether
 * the driver honours the metadata (the netdev family's xsk-features) is
 * not asked here, so not used. Sets q->csum, or the reason why not in
 * q->csum_why; for SF_XDP_CSUM_ON a reason is an error. */
static int csum_decide(struct sf_xdp *q, enum sf_xdp_csum csum, bool meta,
                       char *err, size_t errlen)
{
    const char *ifn = q->p->ifname;
    q->csum = false;
    q->csum_why[0] = 0;
    if (csum == SF_XDP_CSUM_OFF)
        return 0;
    if (!meta)
        snprintf(q->csum_why, sizeof q->csum_why, "this kernel takes no AF_XDP "
                 "TX metadata (XDP_UMEM_TX_METADATA_LEN: Linux 6.11 or later)");
    else if (q->zerocopy)
        snprintf(q->csum_why, sizeof q->csum_why, "zero-copy on %s: whether "
                 "its driver completes checksums from AF_XDP TX metadata is not "
                 "probed (--xdp-copy would let the kernel's device path do it)",
                 ifn);
    else if (!dev_tx_csum(ifn))
        snprintf(q->csum_why, sizeof q->csum_why, "%s does not complete the "
                 "checksums of what it sends (tx-checksumming off: `ethtool -K "
                 "%s tx on`)", ifn, ifn);
    else
        q->csum = true;
    if (!q->csum && csum == SF_XDP_CSUM_ON) {
        snprintf(err, errlen, "--xdp-csum on: %s", q->csum_why);
        return -1;
    }
    return 0;
}

int sf_xdp_open(struct sf_xdp **qp, struct sf_xdp_prog *p, unsigned queue,
                bool force_copy, enum sf_xdp_csum csum, char *err, size_t errlen)
{
    *qp = NULL;
    if (queue >= p->nqueues) {
        snprintf(err, errlen, "%s has %u RX queue%s; queue %u does not exist",
                 p->ifname, p->nqueues, p->nqueues == 1 ? "" : "s", queue);
        return -1;
    }
    struct sf_xdp *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    q->p = p;
    q->queue = queue;
    q->fd = -1;
    q->kick_fd = -1;
    q->done_fd = -1;
    q->wake_fd = -1;
    if (queue < p->steer_n) {
        q->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->wake_fd < 0) {
            snprintf(err, errlen, "eventfd: %s", strerror(errno));
            sf_xdp_close(q);
            return -1;
        }
        p->wake[queue] = q->wake_fd;
    }
    q->area = mmap(NULL, (size_t)NFRAMES * FRAME, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q->area == MAP_FAILED) {
        q->area = NULL;
        snprintf(err, errlen, "cannot map the UMEM: %s", strerror(errno));
        sf_xdp_close(q);
        return -1;
    }
    bool meta;
    if (sock_open(q, force_copy, csum, &meta, err, errlen) < 0) {
        sf_xdp_close(q);
        return -1;
    }
    struct xdp_options o;
    socklen_t ol = sizeof o;
    if (getsockopt(q->fd, SOL_XDP, XDP_OPTIONS, &o, &ol) == 0)
        q->zerocopy = (o.flags & XDP_OPTIONS_ZEROCOPY) != 0;
    if (csum_decide(q, csum, meta, err, errlen) < 0) {
        sf_xdp_close(q);
        return -1;
    }
    q->stats.tx_csum_offload = q->csum;
    /* Multi-buffer in copy mode: RX slots FRAME - RX_HEADROOM apart, so
     * that the data of slot k + 1 starts where slot k's ends (its
     * headroom over the last bytes of slot k's, which copy mode never
     * writes) and a chain taken from consecutive slots lies in one piece
     * (rx_desc_sg); the kernel takes fill entries in order, and rx_batch
     * gives them back in the order they came. In zero-copy mode the
     * driver's DMA would have a chunk crossing a page boundary rejected
     * (its pages need not be contiguous): FRAME apart there, as without
     * multi-buffer. */
    q->rx_slot = p->sg && !q->zerocopy ? FRAME - RX_HEADROOM : FRAME;
    if (fill_all(q) < 0) {
        snprintf(err, errlen, "cannot fill the fill ring of %s queue %u",
                 p->ifname, queue);
        sf_xdp_close(q);
        return -1;
    }
    uint32_t k = queue;
    if (bpf_map_update_elem(p->xsks_fd, &k, &q->fd, BPF_ANY) < 0) {
        snprintf(err, errlen, "cannot put %s queue %u's socket in the XDP "
                 "program's map: %s", p->ifname, queue, strerror(errno));
        sf_xdp_close(q);
        return -1;
    }
    q->in_map = true;
    *qp = q;
    return 0;
}

bool sf_xdp_zerocopy(const struct sf_xdp *q) { return q->zerocopy; }
void sf_xdp_set_tx(struct sf_xdp *q, enum sf_xdp_tx mode) { q->tx_mode = mode; }
void sf_xdp_set_busy_poll(struct sf_xdp *q, sf_time_t ns) { q->busy_ns = ns; }
bool sf_xdp_tx_thread(const struct sf_xdp *q)
{
    return q->tx_mode == SF_XDP_TX_THREAD ||
           (q->tx_mode == SF_XDP_TX_AUTO && !q->zerocopy);
}
unsigned sf_xdp_queue(const struct sf_xdp *q) { return q->queue; }
uint64_t sf_xdp_kernel_drops(const struct sf_xdp *q)
{
    struct xdp_statistics k;
    socklen_t l = sizeof k;
    if (getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, &k, &l) != 0)
        return 0;
    return k.rx_dropped + k.rx_ring_full;
}
/* With the TX checksum offload, the stack leaves every TCP checksum to
 * the device (SF_OFFLOAD_TX_CSUM). */
void sf_xdp_set_stack(struct sf_xdp *q, struct sf_stack *st)
{
    q->st = st;
    if (q->csum)
        sf_stack_set_offload(st, sf_stack_config(st)->offload | SF_OFFLOAD_TX_CSUM);
}
bool sf_xdp_csum(const struct sf_xdp *q) { return q->csum; }
const char *sf_xdp_csum_why(const struct sf_xdp *q)
{
    return q->csum_why[0] ? q->csum_why : NULL;
}
void sf_xdp_set_tap(struct sf_xdp *q, sf_tun_tap_fn fn, void *ctx)
{
    q->tap = fn;
    q->tap_ctx = ctx;
}
const struct sf_xdp_stats *sf_xdp_stats(struct sf_xdp *q)
{
    struct xdp_statistics k;
    socklen_t l = sizeof k;
    if (getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, &k, &l) == 0) {
        q->stats.k_rx_dropped = k.rx_dropped;
        q->stats.k_rx_ring_full = k.rx_ring_full;
        q->stats.k_fill_empty = k.rx_fill_ring_empty_descs;
    }
    q->stats.tx_thread = sf_xdp_tx_thread(q);
    q->stats.tx_thread_sends = atomic_load_explicit(&q->ksends, memory_order_relaxed);
    if (q->kth_on)
        q->stats.tx_dropped = atomic_load_explicit(&q->kdrops, memory_order_relaxed);
    return &q->stats;
}

void sf_xdp_close(struct sf_xdp *q)
{
    if (!q)
        return;
    tx_thread_stop(q); /* sf_xdp_run ends it; this is for a run cut short */
    if (q->kick_fd >= 0)
        close(q->kick_fd);
    if (q->done_fd >= 0)
        close(q->done_fd);
    if (q->wake_fd >= 0) {
        q->p->wake[q->queue] = -1;
        close(q->wake_fd);
    }
    if (q->in_map) {
        uint32_t k = q->queue;
        bpf_map_delete_elem(q->p->xsks_fd, &k); /* the queue's frames go back to the kernel */
    }
    for (int k = 0; k < 4; k++)
        if (q->ring_map[k])
            munmap(q->ring_map[k], q->ring_len[k]);
    if (q->fd >= 0)
        close(q->fd);
    if (q->area)
        munmap(q->area, (size_t)NFRAMES * FRAME);
    free(q);
}

/* ------------------------------------------------------------ transmit */

static void reclaim(struct sf_xdp *q)
{
    uint32_t idx;
    unsigned n = xsk_ring_cons__peek(&q->comp, NTX, &idx);
    for (unsigned i = 0; i < n; i++)
        q->free_tx[q->nfree++] = *xsk_ring_cons__comp_addr(&q->comp, idx + i);
    if (n)
        xsk_ring_cons__release(&q->comp, n);
}

/* Pushes the TX ring: in copy mode each sendto() sends a bounded batch
 * (the kernel's xsk_generic_xmit), so it is repeated while the kernel
 * says there is more (EAGAIN), a bounded number of times. EBUSY says the
 * driver dropped the frame the kernel had taken off the ring (its
 * NET_XMIT_DROP: a veth whose peer's backlog is full, say): counted in
 * *drops, and the push goes on with the rest. Returns the errno that says
 * the queue stopped, or 0. */
static int push_tx(int fd, uint64_t *calls, uint64_t *drops)
{
    for (unsigned i = 0; i < NTX / 16; i++) {
        ++*calls;
        if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
            return 0;
        if (errno == EAGAIN || errno == EINTR)
            continue;
        if (errno == EBUSY) {
            ++*drops;
            continue;
        }
        if (errno != ENOBUFS)
            return errno; /* ENETDOWN, ENXIO: the queue stopped */
        return 0;
    }
    return 0;
}

static void kick_now(struct sf_xdp *q)
{
    int e = push_tx(q->fd, &q->stats.kicks, &q->stats.tx_dropped);
    if (e)
        q->err = e;
}

/* The TX thread: one push of the ring for every wake-up the loop gives
 * (an eventfd counts them; what was submitted before the wake-up is on
 * the ring when the thread reads it, so none is left behind). */
static void *tx_thread_main(void *arg)
{
    struct sf_xdp *q = arg;
    int fd = q->fd;
    uint64_t v, calls = 0, drops = 0;
    for (;;) {
        if (read(q->kick_fd, &v, sizeof v) < 0 && errno != EAGAIN && errno != EINTR)
            break;
        if (atomic_load_explicit(&q->kstop, memory_order_acquire))
            break;
        atomic_store(&q->kbusy, 1);
        int e = push_tx(fd, &calls, &drops);
        atomic_store(&q->kbusy, 0);
        if (atomic_exchange(&q->kwaiter, 0)) {
            uint64_t one = 1;
            if (write(q->done_fd, &one, sizeof one) < 0) {
                /* full: the loop has a wake-up waiting already */
            }
        }
        atomic_store_explicit(&q->ksends, calls, memory_order_relaxed);
        atomic_store_explicit(&q->kdrops, drops, memory_order_relaxed);
        if (e) {
            atomic_store_explicit(&q->kerr, e, memory_order_release);
            break;
        }
    }
    return NULL;
}

static void tx_thread_stop(struct sf_xdp *q)
{
    if (!q->kth_on)
        return;
    uint64_t one = 1;
    atomic_store_explicit(&q->kstop, 1, memory_order_release);
    if (write(q->kick_fd, &one, sizeof one) < 0) {
        /* the counter is full: the thread is awake already */
    }
    pthread_join(q->kth, NULL);
    q->kth_on = false;
}

/* Starts the TX thread, free to run on any core (a thread created by a
 * queue's worker would otherwise inherit its pinning to the stack's own
 * core). Returns 0, or an errno. */
static int tx_thread_start(struct sf_xdp *q)
{
    if (q->kick_fd < 0) {
        q->kick_fd = eventfd(0, EFD_CLOEXEC);
        if (q->kick_fd < 0)
            return errno;
    }
    if (q->done_fd < 0) {
        q->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->done_fd < 0)
            return errno;
    }
    atomic_store(&q->kstop, 0);
    atomic_store(&q->kerr, 0);
    pthread_attr_t a;
    pthread_attr_init(&a);
    cpu_set_t set;
    CPU_ZERO(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < n && i < CPU_SETSIZE; i++)
        CPU_SET((int)i, &set);
    pthread_attr_setaffinity_np(&a, sizeof set, &set);
    int e = pthread_create(&q->kth, &a, tx_thread_main, q);
    pthread_attr_destroy(&a);
    if (e == EINVAL || e == EPERM) /* a cpuset narrower than the cores */
        e = pthread_create(&q->kth, NULL, tx_thread_main, q);
    if (e)
        return e;
    q->kth_on = true;
    return 0;
}

/* Pushes what was submitted since the last push: the TX thread's
 * wake-up, or sendto() here. */
static void kick(struct sf_xdp *q)
{
    if (!q->unkicked)
        return;
    q->unkicked = 0;
    if (!xsk_ring_prod__needs_wakeup(&q->tx))
        return;
    if (q->kth_on) {
        uint64_t one = 1;
        q->stats.kicks++;
        if (write(q->kick_fd, &one, sizeof one) < 0) {
            /* the counter is full: the thread has wake-ups to spare */
        }
        return;
    }
    kick_now(q);
}

/* A frame for the TX ring, or 0 with none free even after reclaiming. */
static bool take_frame(struct sf_xdp *q, uint64_t *addr)
{
    if (!q->nfree) {
        reclaim(q);
        if (!q->nfree) {
            /* every frame in flight: push here, whoever usually does, so
             * that the completions come back now */
            q->unkicked = 0;
            kick_now(q);
            reclaim(q);
        }
    }
    if (!q->nfree)
        return false;
    *addr = q->free_tx[--q->nfree];
    return true;
}

/* Copies the pieces v[0..n), in order, to out. */
static void pieces_into(uint8_t *out, const struct sf_piece *v, size_t n)
{
    for (size_t i = 0; i < n; out += v[i].len, i++)
        memcpy(out, v[i].base, v[i].len);
}

/* Copies the next n bytes of the pieces v[*i..nv), from *off bytes into
 * v[*i], to out, and moves *i and *off past them. */
static void pieces_next(uint8_t *out, size_t n, const struct sf_piece *v,
                        size_t nv, size_t *i, size_t *off)
{
    while (n && *i < nv) {
        size_t k = v[*i].len - *off;
        if (k > n)
            k = n;
        memcpy(out, v[*i].base + *off, k);
        out += k;
        n -= k;
        *off += k;
        if (*off == v[*i].len) {
            ++*i;
            *off = 0;
        }
    }
}

/* The room for a frame in a TX chunk: TXMD of it is kept for metadata. */
#define TXCAP (FRAME - TXMD)

/* Writes the TX metadata in front of frame f asking the device for the
 * TCP checksum at l4 bytes into the body; the descriptor's options. */
static uint32_t tx_csum_meta(struct sf_xdp *q, uint8_t *f, size_t l4)
{
    /* xsk-tx-metadata.rst: the metadata right before the frame; the sum
     * from csum_start (from the frame's first byte, Ethernet included)
     * to the end, stored csum_offset further on: RFC 9293 3.1's checksum
     * field, 16 bytes into the TCP header */
    struct tx_meta *m = (struct tx_meta *)(f - TXMD);
    memset(m, 0, sizeof *m);
    m->flags = TXMD_CHECKSUM;
    m->csum_start = (uint16_t)(ETH_HLEN_ + l4);
    m->csum_offset = 16;
    q->stats.tx_csum_offloaded++;
    return DESC_TX_METADATA;
}

/* send_frame_v for a frame larger than one TX frame (multi-buffer, q->sg:
 * af_xdp.rst, "Multi-Buffer Support"): spread over as many frames as it
 * needs, every descriptor but the last with XDP_PKT_CONTD, all reserved
 * and submitted at once so that the kernel never sees part of one. The
 * TX metadata (the checksum offload, xsk-tx-metadata.rst) goes with the
 * first descriptor only, which holds the headers: the kernel builds the
 * packet from its first descriptor and takes the metadata there, with
 * csum_start and csum_offset inside that descriptor (xsk_build_skb). */
static bool send_frame_sg(struct sf_xdp *q, const uint8_t dst[ETH_ALEN],
                          uint16_t type, const struct sf_piece *v, size_t nv,
                          size_t len, size_t l4)
{
    size_t total = ETH_HLEN_ + len;
    unsigned nf = (unsigned)((total + TXCAP - 1) / TXCAP), k;
    uint64_t addrs[SF_XDP_SG_FRAMES];
    uint32_t idx;
    if (len > (size_t)q->p->mtu || nf > SF_XDP_SG_FRAMES) {
        q->stats.tx_too_big++;
        return false;
    }
    for (k = 0; k < nf; k++)
        if (!take_frame(q, &addrs[k]))
            break;
    if (k < nf || xsk_ring_prod__reserve(&q->tx, nf, &idx) != nf) {
        while (k)
            q->free_tx[q->nfree++] = addrs[--k];
        q->stats.tx_full++;
        return false;
    }
    size_t pi = 0, po = 0, done = 0;
    for (k = 0; k < nf; k++) {
        uint8_t *f = xsk_umem__get_data(q->area, addrs[k]);
        size_t put = 0;
        uint32_t opt = k + 1 < nf ? DESC_CONTD : 0;
        if (k == 0) {
            memcpy(f, dst, ETH_ALEN);
            memcpy(f + 6, q->p->mac, ETH_ALEN);
            f[12] = (uint8_t)(type >> 8);
            f[13] = (uint8_t)type;
            put = ETH_HLEN_;
            if (l4)
                opt |= tx_csum_meta(q, f, l4);
        }
        size_t m = len - done < TXCAP - put ? len - done : TXCAP - put;
        pieces_next(f + put, m, v, nv, &pi, &po);
        done += m;
        struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx + k);
        d->addr = addrs[k];
        d->len = (uint32_t)(put + m);
        d->options = opt;
    }
    xsk_ring_prod__submit(&q->tx, nf);
    q->stats.tx_sg++;
    q->unkicked += nf;
    if (q->unkicked >= BATCH)
        kick(q);
    return true;
}

/* Sends one Ethernet frame: dst, our source, type, then the body, in
 * pieces v[0..nv) (len bytes). l4: the offset in the body of a TCP
 * header whose checksum field holds only the pseudo-header sum
 * (SF_OFFLOAD_TX_CSUM), for the device to complete through the frame's
 * TX metadata; 0: the body is complete. */
static bool send_frame_v(struct sf_xdp *q, const uint8_t dst[ETH_ALEN],
                         uint16_t type, const struct sf_piece *v, size_t nv,
                         size_t len, size_t l4)
{
    uint64_t addr;
    uint32_t idx;
    if (ETH_HLEN_ + len > TXCAP) {
        if (q->sg)
            return send_frame_sg(q, dst, type, v, nv, len, l4);
        q->stats.tx_too_big++;
        return false;
    }
    if (!take_frame(q, &addr)) {
        q->stats.tx_full++;
        return false;
    }
    if (xsk_ring_prod__reserve(&q->tx, 1, &idx) != 1) {
        q->free_tx[q->nfree++] = addr;
        q->stats.tx_full++;
        return false;
    }
    uint8_t *f = xsk_umem__get_data(q->area, addr);
    memcpy(f, dst, ETH_ALEN);
    memcpy(f + 6, q->p->mac, ETH_ALEN);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
    /* the body straight from its pieces (the stack's send ring, for a
     * gathered segment): its one copy in user space */
    pieces_into(f + ETH_HLEN_, v, nv);
    struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx);
    d->addr = addr;
    d->len = (uint32_t)(ETH_HLEN_ + len);
    d->options = l4 ? tx_csum_meta(q, f, l4) : 0;
    xsk_ring_prod__submit(&q->tx, 1);
    if (++q->unkicked >= BATCH)
        kick(q);
    return true;
}

/* ------------------------------------------------------------ ARP */

static struct neigh *neigh_find(struct sf_xdp *q, uint32_t ip)
{
    struct neigh *n = &q->neigh[q->neigh_last];
    if (n->ip == ip)
        return n;
    for (unsigned i = 0; i < NNEIGH; i++)
        if (q->neigh[i].ip == ip) {
            q->neigh_last = i;
            return &q->neigh[i];
        }
    return NULL;
}

static struct neigh *neigh_new(struct sf_xdp *q, uint32_t ip)
{
    struct neigh *n = &q->neigh[q->neigh_next];
    q->neigh_next = (q->neigh_next + 1) % NNEIGH;
    n->ip = ip;
    n->known = false;
    n->stamp = 0;
    n->asked = 0;
    n->held_len = 0;
    return n;
}

/* Publishes what this queue now knows about ip in its own slice. */
static uint64_t publish(struct sf_xdp *q, uint32_t ip, const uint8_t mac[ETH_ALEN],
                        bool from_arp)
{
    struct sf_xdp_prog *p = q->p;
    struct pub_neigh *slice = p->pub[q->queue], *e = NULL;
    for (unsigned i = 0; i < NNEIGH && !e; i++)
        if ((atomic_load_explicit(&slice[i].ipf, memory_order_relaxed) &
             0xffffffffu) == ip)
            e = &slice[i];
    if (!e) {
        e = &slice[q->pub_next];
        q->pub_next = (q->pub_next + 1) % NNEIGH;
    }
    uint64_t m = 0;
    for (int i = 0; i < ETH_ALEN; i++)
        m |= (uint64_t)mac[i] << (8 * i);
    uint64_t stamp = atomic_fetch_add_explicit(&p->gen, 1, memory_order_relaxed) + 1;
    unsigned s = atomic_load_explicit(&e->seq, memory_order_relaxed);
    atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&e->ipf, ip | (uint64_t)from_arp << 32 | 1ull << 33,
                          memory_order_relaxed);
    atomic_store_explicit(&e->mac, m, memory_order_relaxed);
    atomic_store_explicit(&e->stamp, stamp, memory_order_relaxed);
    atomic_store_explicit(&e->seq, s + 2, memory_order_release);
    atomic_fetch_add_explicit(&p->pubs, 1, memory_order_release);
    return stamp;
}

/* The offset of d's TCP header when the stack left its checksum to the
 * device (q->csum: SF_OFFLOAD_TX_CSUM, every TCP segment over IPv4), or
 * 0. */
static size_t partial_l4(const struct sf_xdp *q, const uint8_t *d, size_t len)
{
    if (!q->csum || len < 20 || (d[0] >> 4) != 4 || d[9] != 6 /* TCP */)
        return 0;
    size_t ihl = (size_t)(d[0] & 15) * 4;
    return ihl >= 20 && len >= ihl + 20 ? ihl : 0;
}

/* Sends the datagram in pieces v[0..nv) (len bytes, its headers in v[0])
 * to mac, counted. */
static void send_dgram_v(struct sf_xdp *q, const uint8_t mac[ETH_ALEN],
                         const struct sf_piece *v, size_t nv, size_t len)
{
    if (send_frame_v(q, mac, ETH_P_IP, v, nv, len, partial_l4(q, v[0].base, v[0].len))) {
        q->stats.tx++;
        q->stats.tx_bytes += len;
    }
}

/* Sends datagram d to mac, counted. */
static void send_dgram(struct sf_xdp *q, const uint8_t mac[ETH_ALEN],
                       const uint8_t *d, size_t len)
{
    struct sf_piece v = {d, len};
    send_dgram_v(q, mac, &v, 1, len);
}

static void send_held(struct sf_xdp *q, struct neigh *n)
{
    if (n->held_len) {
        size_t len = n->held_len;
        n->held_len = 0;
        send_dgram(q, n->mac, n->held, len);
    }
}

/* What a frame from ip told us: ip is behind mac. A datagram held for
 * it goes out now. An IPv4 frame only fills an address not known yet
 * (first contact: the SYN comes from where the replies must go); only
 * ARP changes a known one, as the kernel's neighbour table would, so
 * that one forged datagram cannot turn a connection's replies aside.
 * What changed is published for the other queues. */
static void learn(struct sf_xdp *q, uint32_t ip, const uint8_t mac[ETH_ALEN],
                  bool from_arp)
{
    struct neigh *n = neigh_find(q, ip);
    if (n && n->known && (!from_arp || !memcmp(n->mac, mac, ETH_ALEN)))
        return;
    if (!n)
        n = neigh_new(q, ip);
    memcpy(n->mac, mac, ETH_ALEN);
    n->known = true;
    n->stamp = publish(q, ip, mac, from_arp);
    send_held(q, n);
}

/* Merges what the other queues published since the last merge: an
 * address this queue does not know yet, or a newer ARP answer about one
 * it knows (the same rule as learn(); RFC 826 "Packet Reception": a
 * sender already in the table has its hardware address updated, which
 * here must reach every queue's table, not only the one the packet came
 * in on). One atomic load when nothing is new. An entry caught mid-write
 * is read again at the next merge. */
static void merge(struct sf_xdp *q)
{
    struct sf_xdp_prog *p = q->p;
    uint64_t pubs = atomic_load_explicit(&p->pubs, memory_order_acquire);
    if (pubs == q->seen_pubs)
        return;
    bool torn = false;
    for (unsigned k = 0; k < p->nqueues && k < MAX_QUEUES; k++) {
        if (k == q->queue)
            continue;
        for (unsigned i = 0; i < NNEIGH; i++) {
            struct pub_neigh *e = &p->pub[k][i];
            unsigned s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
            if (s1 == q->seen_seq[k][i])
                continue;
            uint64_t ipf = atomic_load_explicit(&e->ipf, memory_order_relaxed);
            uint64_t m = atomic_load_explicit(&e->mac, memory_order_relaxed);
            uint64_t stamp = atomic_load_explicit(&e->stamp, memory_order_relaxed);
            atomic_thread_fence(memory_order_acquire);
            unsigned s2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
            if ((s1 & 1) || s1 != s2) {
                torn = true;
                continue;
            }
            q->seen_seq[k][i] = s1;
            if (!(ipf >> 33 & 1))
                continue;
            uint32_t ip = (uint32_t)ipf;
            bool from_arp = ipf >> 32 & 1;
            uint8_t mac[ETH_ALEN];
            for (int b = 0; b < ETH_ALEN; b++)
                mac[b] = (uint8_t)(m >> (8 * b));
            struct neigh *n = neigh_find(q, ip);
            if (n && n->known && (!from_arp || stamp <= n->stamp ||
                                  !memcmp(n->mac, mac, ETH_ALEN)))
                continue;
            if (!n)
                n = neigh_new(q, ip);
            memcpy(n->mac, mac, ETH_ALEN);
            n->known = true;
            n->stamp = stamp;
            q->stats.neigh_merged++;
            send_held(q, n);
        }
    }
    if (!torn)
        q->seen_pubs = pubs;
}

/* Whether a datagram waits for an ARP answer. */
static bool any_held(const struct sf_xdp *q)
{
    for (unsigned i = 0; i < NNEIGH; i++)
        if (q->neigh[i].held_len)
            return true;
    return false;
}

/* RFC 826: an Ethernet/IPv4 ARP packet, op 1 request, 2 reply. */
static void arp_send(struct sf_xdp *q, uint16_t op, const uint8_t dst[ETH_ALEN],
                     const uint8_t tha[ETH_ALEN], uint32_t tip)
{
    uint8_t a[28];
    uint32_t sip = htonl(q->p->addr);
    a[0] = 0, a[1] = 1;            /* hardware: Ethernet */
    a[2] = 0x08, a[3] = 0x00;      /* protocol: IPv4 */
    a[4] = ETH_ALEN, a[5] = 4;
    a[6] = 0, a[7] = (uint8_t)op;
    memcpy(a + 8, q->p->mac, ETH_ALEN);
    memcpy(a + 14, &sip, 4);
    memcpy(a + 18, tha, ETH_ALEN);
    memcpy(a + 24, &tip, 4);
    struct sf_piece v = {a, sizeof a};
    send_frame_v(q, dst, ETH_P_ARP, &v, 1, sizeof a, 0);
    q->stats.tx_arp++;
}

static void arp_in(struct sf_xdp *q, const uint8_t *a, size_t len)
{
    static const uint8_t head[6] = {0, 1, 0x08, 0x00, ETH_ALEN, 4};
    uint32_t sip, tip, me = htonl(q->p->addr);
    if (len < 28 || memcmp(a, head, 6) != 0)
        return;
    q->stats.rx_arp++;
    memcpy(&sip, a + 14, 4);
    memcpy(&tip, a + 24, 4);
    if (tip != me)
        return;
    /* RFC 826 "Packet Reception": merge the sender, then answer a request. */
    if (sip != 0)
        learn(q, sip, a + 8, true);
    if (a[6] == 0 && a[7] == 1)
        arp_send(q, 2, a + 8, a + 8, sip);
}

/* ------------------------------------------------------------ the datagrams */

/* The tap (sf_xdp_set_tap), with a TCP checksum the stack left partial
 * completed in a copy: RFC 9293 3.1, the one's complement sum from the
 * TCP header on, whose checksum field holds the pseudo-header sum. */
static void tap_call(struct sf_xdp *q, enum sf_tun_dir dir, const uint8_t *d,
                     size_t len)
{
    size_t l4 = dir == SF_TUN_OUT ? partial_l4(q, d, len) : 0;
    if (l4 && len <= sizeof q->tap_buf) {
        memcpy(q->tap_buf, d, len);
        uint16_t c = sf_csum_fold(sf_csum_add(0, q->tap_buf + l4, len - l4));
        q->tap_buf[l4 + 16] = (uint8_t)(c >> 8);
        q->tap_buf[l4 + 17] = (uint8_t)c;
        d = q->tap_buf;
    }
    q->tap(q->tap_ctx, mono_now(), dir, d, len);
}

void sf_xdp_output(void *ctx, const uint8_t *dgram, size_t len)
{
    struct sf_xdp *q = ctx;
    uint32_t dst;
    if (q->tap) /* what the stack sent */
        tap_call(q, SF_TUN_OUT, dgram, len);
    if (len < 20 || (dgram[0] >> 4) != 4) {
        q->stats.tx_not_ipv4++; /* IPv6 is not on this link (docs/xdp.md) */
        return;
    }
    memcpy(&dst, dgram + 16, 4);
    struct neigh *n = neigh_find(q, dst);
    if (!n || !n->known) {
        merge(q); /* another queue may have heard the answer */
        n = neigh_find(q, dst);
    }
    if (n && n->known) {
        send_dgram(q, n->mac, dgram, len);
        return;
    }
    /* Not heard from yet: ask (at most once a second) and keep the latest
     * datagram for the answer; TCP retransmits anything older. */
    if (!n)
        n = neigh_new(q, dst);
    if (len <= sizeof n->held) {
        memcpy(n->held, dgram, len);
        n->held_len = len;
    }
    q->stats.tx_no_neigh++;
    sf_time_t now = mono_now();
    if (!n->asked || now - n->asked >= SF_SEC) {
        static const uint8_t bcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        static const uint8_t zero[ETH_ALEN];
        n->asked = now;
        arp_send(q, 1, bcast, zero, dst);
    }
}

void sf_xdp_output_gather(void *ctx, const struct sf_piece *v, size_t n)
{
    struct sf_xdp *q = ctx;
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += v[i].len;
    const uint8_t *d = v[0].base;
    uint32_t dst;
    struct neigh *n4 = NULL;
    if (!q->tap && v[0].len >= 20 && (d[0] >> 4) == 4) {
        memcpy(&dst, d + 16, 4);
        n4 = neigh_find(q, dst);
    }
    if (!n4 || !n4->known) {
        /* a tap, or no neighbour known yet (held for ARP): as one buffer,
         * the rare way (gather_buf) */
        if (len > sizeof q->gather_buf) {
            q->stats.tx_too_big++; /* larger than any frame */
            return;
        }
        pieces_into(q->gather_buf, v, n);
        sf_xdp_output(q, q->gather_buf, len);
        return;
    }
    q->stats.tx_gathered++;
    send_dgram_v(q, n4->mac, v, n, len);
}

static void frame_in(struct sf_xdp *q, sf_time_t now, const uint8_t *f,
                     size_t len)
{
    if (len < ETH_HLEN_) {
        q->stats.rx_other++;
        return;
    }
    uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
    const uint8_t *d = f + ETH_HLEN_;
    len -= ETH_HLEN_;
    if (type == ETH_P_ARP) {
        arp_in(q, d, len);
        return;
    }
    if (type != ETH_P_IP || len < 20) {
        q->stats.rx_other++;
        return;
    }
    /* Ethernet pads short frames to 60 bytes: the datagram is as long as
     * its header says, when that fits (else the stack counts why). */
    size_t tot = (size_t)(d[2] << 8 | d[3]);
    if (tot >= 20 && tot < len)
        len = tot;
    uint32_t src;
    memcpy(&src, d + 12, 4);
    learn(q, src, f + 6, false); /* the replies go back the way it came */
    q->stats.rx++;
    q->stats.rx_bytes += len;
    if (q->tap)
        tap_call(q, SF_TUN_IN, d, len);
    /* SF_IN_BATCH: the loop advances the stack once the batch is in (and
     * what other queues handed over), and the ACKs it holds go then */
    sf_stack_input_flags(q->st, now, d, len, SF_IN_BATCH);
}

/* Steering (sf_xdp_prog_steer): the queue that owns frame f (the
 * Ethernet frame of len bytes): for a first fragment of a TCP segment,
 * the owner of its destination port; else this queue. */
static unsigned frame_owner(const struct sf_xdp *q, const uint8_t *f, size_t len)
{
    const uint8_t *d = f + ETH_HLEN_;
    if (len < ETH_HLEN_ + 20 + 4 || (f[12] << 8 | f[13]) != ETH_P_IP ||
        (d[0] >> 4) != 4 || d[9] != 6 /* TCP */ || ((d[6] << 8 | d[7]) & 0x1fff))
        return q->queue;
    size_t ihl = (size_t)(d[0] & 15) * 4;
    if (ihl < 20 || len < ETH_HLEN_ + ihl + 4)
        return q->queue;
    uint16_t port = (uint16_t)(d[ihl + 2] << 8 | d[ihl + 3]);
    return sf_xdp_port_queue(port, q->p->steer_n);
}

/* Copies frame f into the ring to queue k; its loop is woken after the
 * batch. A full ring drops it (counted): TCP retransmits. */
static void hand_over(struct sf_xdp *q, unsigned k, const uint8_t *f, size_t len)
{
    struct sf_xdp_prog *p = q->p;
    struct ho_ring *r = p->ho[q->queue * p->steer_n + k];
    unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    unsigned h = atomic_load_explicit(&r->head, memory_order_acquire);
    if (t - h >= p->ho_slots || len > p->ho_frame) {
        q->stats.handoff_full++;
        return;
    }
    struct ho_slot *sl = (struct ho_slot *)(r->s + (t % p->ho_slots) * p->ho_stride);
    memcpy(sl->f, f, len);
    sl->len = (uint32_t)len;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    q->stats.handoff_out++;
    q->ho_pending |= 1ull << k;
}

/* Wakes the queues this batch handed frames to. */
static void wake_pending(struct sf_xdp *q)
{
    uint64_t one = 1;
    for (unsigned k = 0; q->ho_pending; k++)
        if (q->ho_pending & (1ull << k)) {
            q->ho_pending &= ~(1ull << k);
            int fd = q->p->wake[k];
            if (fd >= 0 && write(fd, &one, sizeof one) < 0) {
                /* the counter is full: it was woken already */
            }
        }
}

/* Takes what the other queues handed over (at most 4 * BATCH frames
 * from each) into the stack. Returns how many. */
static unsigned take_handed(struct sf_xdp *q)
{
    struct sf_xdp_prog *p = q->p;
    unsigned n = 0;
    sf_time_t now = 0;
    for (unsigned j = 0; j < p->steer_n; j++) {
        if (j == q->queue)
            continue;
        struct ho_ring *r = p->ho[j * p->steer_n + q->queue];
        unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed);
        unsigned t = atomic_load_explicit(&r->tail, memory_order_acquire);
        for (unsigned i = 0; h != t && i < 4 * BATCH; i++, h++, n++) {
            const struct ho_slot *sl =
                (const struct ho_slot *)(r->s + (h % p->ho_slots) * p->ho_stride);
            if (!now)
                now = mono_now();
            q->stats.handoff_in++;
            frame_in(q, now, sl->f, sl->len);
            atomic_store_explicit(&r->head, h + 1, memory_order_release);
        }
    }
    return n;
}

/* A whole Ethernet frame off the RX ring: to this queue's stack, or to the
 * queue that owns its connection (steering). */
static void rx_frame(struct sf_xdp *q, sf_time_t now, const uint8_t *f, size_t len)
{
    unsigned k = q->p->steer_n > 1 ? frame_owner(q, f, len) : q->queue;
    if (k != q->queue)
        hand_over(q, k, f, len); /* another stack's connection */
    else
        frame_in(q, now, f, len);
}

/* An RX descriptor's frame with multi-buffer (q->sg, whose UMEM has
 * unaligned chunks): its data (*data) and the address of its slot
 * (*slot, what goes back to the fill ring). The descriptor holds the
 * slot's address and, in its upper 16 bits, the data's offset in it
 * (xsk_umem__extract_offset). false: the descriptor is not one of ours
 * (its slot is not one we filled, or its data runs past its chunk). */
static bool rx_desc_frame(const struct sf_xdp *q, const struct xdp_desc *d,
                          const uint8_t **data, uint64_t *slot)
{
    *slot = xsk_umem__extract_addr(d->addr);
    uint64_t off = xsk_umem__extract_offset(d->addr);
    bool ours = *slot % q->rx_slot == 0 && *slot / q->rx_slot < NRX &&
                off + d->len <= FRAME;
    *data = ours ? (const uint8_t *)xsk_umem__get_data(q->area, *slot + off) : NULL;
    return ours;
}

/* One RX descriptor with multi-buffer on (q->sg; af_xdp.rst,
 * "Multi-Buffer Support"), its data f (rx_desc_frame; inframe false: not
 * one of ours): a packet is the run of descriptors up to the
 * first without XDP_PKT_CONTD. A packet of one descriptor goes in from its
 * frame, as without multi-buffer. A chain whose frames lie end to end in
 * the UMEM (consecutive slots, q->rx_slot apart: fill_all) goes in from
 * there, uncopied (rx_sg_direct); from the first descriptor that does not
 * follow on (the fill ring's wrap, a slot the kernel reused out of order
 * after a drop, zero-copy mode), it is copied, descriptor by descriptor,
 * into sg_buf and handed in whole at its last. A chain longer than the
 * MTU allows, or with a descriptor outside its frame, is dropped whole at
 * its end and counted (rx_sg_bad). A batch that ends inside a chain:
 * rx_batch. */
static void rx_desc_sg(struct sf_xdp *q, sf_time_t now, const struct xdp_desc *d,
                       const uint8_t *f, bool inframe)
{
    bool contd = (d->options & DESC_CONTD) != 0;
    q->stats.rx_frames += !contd; /* Ethernet frames, not descriptors */
    if (!contd && !q->sg_len && !q->sg_bad) {
        if (inframe)
            rx_frame(q, now, f, d->len);
        else
            q->stats.rx_sg_bad++;
        return;
    }
    q->chain_descs++;
    if (q->sg_bad || !inframe || q->sg_len + d->len > (size_t)q->p->mtu + ETH_HLEN_) {
        q->sg_bad = true;
    } else if (!q->sg_len) {
        q->chain = f; /* in place, so far */
        q->sg_len = d->len;
    } else if (q->chain && f == q->chain + q->sg_len) {
        q->sg_len += d->len; /* the next slot: still in one piece */
    } else {
        if (q->chain) { /* not end to end: gathered from here on */
            memcpy(q->sg_buf, q->chain, q->sg_len);
            q->chain = NULL;
        }
        memcpy(q->sg_buf + q->sg_len, f, d->len);
        q->sg_len += d->len;
    }
    if (contd)
        return;
    if (q->sg_bad) {
        q->stats.rx_sg_bad++;
    } else {
        q->stats.rx_sg++;
        q->stats.rx_sg_direct += q->chain != NULL;
        rx_frame(q, now, q->chain ? q->chain : q->sg_buf, q->sg_len);
    }
    q->sg_len = 0;
    q->sg_bad = false;
    q->chain = NULL;
    q->chain_descs = 0;
}

/* The batch ended inside a chain (multi-buffer). One that began in it
 * (after its first descriptor) is left on the RX ring whole, its frames
 * not given back, for the next batch to take from its start: returns how
 * many descriptors that leaves. One that began earlier, or fills the
 * whole batch (the kernel publishes whole packets, and the longest chain
 * of an MTU is shorter than a batch: a bad one), is copied into sg_buf
 * if it lay in place, as its frames go back to the fill ring. */
static unsigned rx_chain_left(struct sf_xdp *q, unsigned n)
{
    unsigned k = q->chain_descs;
    q->chain_descs = 0;
    if (!q->sg_len && !q->sg_bad)
        return 0;
    if (k < n) {
        q->stats.rx_sg_held++;
        xsk_ring_cons__cancel(&q->rx, k);
        q->sg_len = 0;
        q->sg_bad = false;
        q->chain = NULL;
        return k;
    }
    if (q->chain) {
        memcpy(q->sg_buf, q->chain, q->sg_len);
        q->chain = NULL;
    }
    return 0;
}

/* Takes what the RX ring holds (up to BATCH frames), hands each in, and
 * gives the frames back to the fill ring, in the order they came (the
 * slots then stay in sequence: fill_all). Returns how many. */
static unsigned rx_batch(struct sf_xdp *q)
{
    uint32_t idx, fidx;
    unsigned n = xsk_ring_cons__peek(&q->rx, BATCH, &idx);
    if (!n)
        return 0;
    uint64_t addrs[BATCH];
    sf_time_t now = mono_now();
    if (!q->sg)
        q->stats.rx_frames += n; /* (with multi-buffer: by rx_desc_sg) */
    for (unsigned i = 0; i < n; i++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
        if (q->sg) {
            const uint8_t *f;
            bool inframe = rx_desc_frame(q, d, &f, &addrs[i]);
            rx_desc_sg(q, now, d, f, inframe);
            continue;
        }
        addrs[i] = d->addr - d->addr % FRAME;
        rx_frame(q, now, xsk_umem__get_data(q->area, d->addr), d->len);
    }
    if (q->sg)
        n -= rx_chain_left(q, n);
    if (q->ho_pending)
        wake_pending(q);
    xsk_ring_cons__release(&q->rx, n);
    /* The fill ring has room for every RX frame: these n just left it. */
    if (xsk_ring_prod__reserve(&q->fill, n, &fidx) == n) {
        for (unsigned i = 0; i < n; i++)
            *xsk_ring_prod__fill_addr(&q->fill, fidx + i) = addrs[i];
        xsk_ring_prod__submit(&q->fill, n);
    }
    if (xsk_ring_prod__needs_wakeup(&q->fill))
        recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
    return n;
}

/* ------------------------------------------------------------ the loop */

#define MAX_APP_FDS 1024

static int queue_err(struct sf_xdp *q, int e, char *err, size_t errlen)
{
    snprintf(err, errlen, "AF_XDP queue %u of %s stopped: %s", q->queue,
             q->p->ifname, strerror(e ? e : EIO));
    return -1;
}

/* The socket's pending error (the kernel sets ENETDOWN when the
 * interface goes away under a bound socket), or 0. */
static int sock_error(struct sf_xdp *q)
{
    int e = 0;
    socklen_t l = sizeof e;
    getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &e, &l);
    return e;
}

int sf_xdp_run(struct sf_xdp *q, const struct sf_tun_hooks *h,
               volatile int *stop, char *err, size_t errlen)
{
    struct pollfd *fds = calloc(MAX_APP_FDS + 2, sizeof *fds);
    if (!fds) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int napp = 0, rc = 0;
    if (sf_xdp_tx_thread(q) && !q->kth_on) {
        int e = tx_thread_start(q);
        if (e) {
            free(fds);
            snprintf(err, errlen, "AF_XDP queue %u of %s: cannot start its TX "
                     "thread: %s", q->queue, q->p->ifname, strerror(e));
            return -1;
        }
    }
    bool woke = false;
    unsigned got = 0;
    sf_time_t checked = mono_now();
    sf_time_t moved = 0; /* when a turn last moved frames (busy polling) */
    while (!*stop) {
        if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            int e = sock_error(q);
            rc = queue_err(q, e ? e : ENETDOWN, err, errlen);
            break;
        }
        /* ARP answers other queues heard (one load when none), before
         * the frames that may need them */
        merge(q);
        uint64_t io0 = q->stats.tx + q->stats.handoff_in;
        got = rx_batch(q);
        if (q->p->steer_n > 1) {
            unsigned handed = take_handed(q);
            got = handed >= BATCH ? BATCH : got; /* more may wait: no sleep */
        }
        sf_time_t now = mono_now();
        sf_stack_advance(q->st, now);
        sf_time_t app = h->service(h->ctx, now, fds + 1, woke ? napp : 0);
        sf_time_t next = sf_stack_advance(q->st, now);
        next = app < next ? app : next;
        kick(q);
        reclaim(q);
        if (!q->err && q->kth_on)
            q->err = atomic_load_explicit(&q->kerr, memory_order_acquire);
        if (q->err) {
            rc = queue_err(q, q->err, err, errlen);
            break;
        }
        if (*stop)
            break;
        /* A socket whose interface went away is unbound with ENETDOWN
         * as its error but never polls ready (xsk_poll): look once a
         * second, so that a queue that stops says so. */
        now = mono_now();
        if (now - checked >= SF_SEC) {
            checked = now;
            int e = sock_error(q);
            if (e) {
                rc = queue_err(q, e, err, errlen);
                break;
            }
        }
        if (next > checked + SF_SEC)
            next = checked + SF_SEC;
        /* A datagram waiting for ARP: the answer may come to another
         * queue, merged at the next turn. */
        if (next > now + HELD_WAIT && any_held(q))
            next = now + HELD_WAIT;
        fds[0] = (struct pollfd){.fd = q->fd, .events = POLLIN};
        napp = h->pollfds(h->ctx, fds + 1, MAX_APP_FDS);
        /* A full batch means more is waiting: look again without sleeping;
         * so does busy polling, for busy_ns after a turn that moved
         * frames (in, handed over, or out). */
        if (got || q->stats.tx + q->stats.handoff_in != io0)
            moved = now;
        bool spin = q->busy_ns && now - moved < q->busy_ns;
        struct timespec ts = {0, 0}, *tsp = &ts;
        if (got < BATCH && next > now) {
            if (spin)
                q->stats.busy_turns++; /* where it would have slept */
            else
                ts = (struct timespec){(time_t)((next - now) / SF_SEC),
                                       (long)((next - now) % SF_SEC)};
        }
        /* In copy mode the kernel's poll of an AF_XDP socket pushes its
         * TX ring as well (xsk_poll: whatever the bind flags), under the
         * lock the TX thread holds while it pushes; a loop polling then
         * spins on that lock (docs/xdp.md, "Where the time goes"). So
         * with the TX thread the loop leaves the socket out of a look
         * that does not sleep, and while the thread pushes it sleeps on
         * the push's end instead (what the push brings back from the peer
         * is on the RX ring by then); else on the socket. */
        bool on_done = false;
        if (q->kth_on) {
            if (got == BATCH || spin) {
                fds[0] = (struct pollfd){.fd = -1};
            } else if (atomic_load(&q->kbusy)) {
                atomic_store(&q->kwaiter, 1);
                if (atomic_load(&q->kbusy)) {
                    fds[0] = (struct pollfd){.fd = q->done_fd, .events = POLLIN};
                    on_done = true;
                } else {
                    atomic_store(&q->kwaiter, 0);
                }
            }
        }
        /* the other queues' hand-overs (steering) wake us here */
        int nfds = napp + 1;
        if (q->wake_fd >= 0)
            fds[nfds++] = (struct pollfd){.fd = q->wake_fd, .events = POLLIN};
        if (ppoll(fds, (nfds_t)nfds, tsp, NULL) < 0 && errno != EINTR) {
            rc = queue_err(q, errno, err, errlen);
            break;
        }
        if (q->wake_fd >= 0 && (fds[napp + 1].revents & POLLIN)) {
            uint64_t v;
            if (read(q->wake_fd, &v, sizeof v) < 0) {
                /* nothing: another look took it */
            }
        }
        if (on_done) {
            uint64_t v;
            atomic_store(&q->kwaiter, 0);
            if (read(q->done_fd, &v, sizeof v) < 0) {
                /* not yet: a timer or the application woke the loop */
            }
        }
        if (fds[0].fd != q->fd)
            fds[0].revents = 0; /* the checks at the top are the socket's */
        woke = true;
    }
    tx_thread_stop(q);
    free(fds);
    return rc;
}
