/* synfin on a Linux TUN device (see synfin/tun.h). One process, one stack, one
 * device; the loop waits in ppoll() on the device and the application's
 * descriptors with the timeout the stack asks for, reads datagrams in
 * batches and writes each datagram the stack emits as it is emitted (a TUN
 * write carries exactly one datagram, so without offload there is nothing
 * to gain from queueing them, except when an impairment holds one back).
 *
 * With offload (IFF_VNET_HDR) a write costs the same ~3.5 us however large
 * it is, so consecutive data segments of one connection are merged into
 * one GSO packet that the kernel segments and checksums itself: the
 * arithmetic is in gso.c. No TCP checksum is computed on either side where
 * the kernel does not need one (virtio 1.x 5.1.6.2): what the kernel
 * hands us with NEEDS_CSUM (its own, never summed) or DATA_VALID goes to
 * the core flagged SF_IN_CSUM_VALID, and the core's segments carry only
 * the pseudo-header sum (SF_OFFLOAD_TX_CSUM) and go out with NEEDS_CSUM,
 * for the kernel to complete or, delivering locally, to skip. Only the
 * tap gets complete checksums, computed for it alone. The impairments are
 * the link kit's (impair.c), as in the simulator. */
#include "synfin/tun.h"
#include "link/gso.h"
#include "link/impair.h"
#include "link/netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TUN_BATCH 64      /* datagrams read per wake-up before servicing */
#define TUN_BUF 65600     /* a datagram is at most 65535 bytes (IPv6: 65575) */
#define TUN_MAX_APP_FDS 1024
#define VNET_HDR GSO_VNET_HDR
#define TUN_PIECES 4      /* a gathered datagram's pieces written as they are */

/* Offload state: outgoing segments being merged into one GSO packet, and
 * the segment cut from a super-packet read. */
struct sf_tun_gso {
    struct gso_merge out;
    bool out_partial;  /* the pending one's checksum is partial */
    size_t rx_mss;     /* gso_size of the datagram just read (0: none) */
    uint8_t seg[GSO_MAX]; /* one segment cut from a super-packet read */
    uint8_t tap[TUN_BUF]; /* a datagram's copy completed for the tap */
};

/* A datagram's flags on its way through the driver: toward the stack the
 * SF_IN_CSUM_VALID of sf_stack_input_flags; toward the kernel OUT_PARTIAL,
 * its TCP checksum field holds the pseudo-header sum. */
#define OUT_PARTIAL 1u
/* ... and OUT_KEEP: gathered with cfg.output_flush set, its payload slices
 * valid until sf_tun_output_flush (kept by reference in a GSO packet) */
#define OUT_KEEP 2u

/* A datagram held back by delay or reordering. */
struct tun_pkt {
    struct tun_pkt *next;
    sf_time_t due;
    bool out; /* toward the kernel (else toward the stack) */
    unsigned flags; /* OUT_PARTIAL or SF_IN_CSUM_VALID */
    size_t len;
    uint8_t data[];
};

/* The impaired wire on synfin's side: one PRNG for both directions, each
 * direction's queue, and the datagrams held back, sorted by due time. */
struct sf_tun_wire {
    struct impair_rng rng;
    struct impair_queue in, out;
    struct tun_pkt *held;
    uint8_t *flat; /* TUN_BUF bytes, on first need: a gathered datagram
                    * made contiguous (for the tap, or odd pieces) */
    uint8_t *cut;  /* GSO_MAX bytes, on first need: a segment cut from a
                    * run the stack handed whole (output_gso) */
};

/* A datagram on its way through the driver: one piece (read, or from
 * output and the UDP relay) or the pieces of a gather output (v[0]
 * holding at least the IP and TCP headers); len bytes in all. */
struct dgram {
    struct iovec v[TUN_PIECES];
    size_t n, len;
};

static struct dgram one_piece(const uint8_t *d, size_t len)
{
    struct dgram g = {.n = 1, .len = len};
    g.v[0] = (struct iovec){(void *)d, len};
    return g;
}

/* A gather output's pieces as a datagram (len counts all n; only the
 * first TUN_PIECES are kept: the callers check n). */
static struct dgram of_pieces(const struct sf_piece *v, size_t n)
{
    struct dgram g = {.n = n};
    for (size_t i = 0; i < n; i++) {
        if (i < TUN_PIECES)
            g.v[i] = (struct iovec){(void *)v[i].base, v[i].len};
        g.len += v[i].len;
    }
    return g;
}

/* Copies the pieces of g, in order, to out (g->len bytes). */
static void dgram_copy(uint8_t *out, const struct dgram *g)
{
    size_t off = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (g->v[i].iov_len)
            memcpy(out + off, g->v[i].iov_base, g->v[i].iov_len);
        off += g->v[i].iov_len;
    }
}

/* The pieces of g copied into one buffer (w->flat): NULL if it cannot be
 * had (no memory; too long for a datagram). */
static const uint8_t *flatten(struct sf_tun_wire *w, const struct dgram *g)
{
    if (g->len > TUN_BUF || (!w->flat && !(w->flat = malloc(TUN_BUF))))
        return NULL;
    dgram_copy(w->flat, g);
    return w->flat;
}

sf_time_t sf_tun_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (sf_time_t)ts.tv_sec * SF_SEC + (sf_time_t)ts.tv_nsec;
}

static int set_offload(int fd, char *err, size_t errlen)
{
    int sz = VNET_HDR;
    /* TUN_F_TSO4 and TUN_F_TSO6 let the kernel hand us TCP super-packets
     * of either family (gso.c completes both); UFO and USO we could not
     * take (TCP only). */
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 ||
        ioctl(fd, TUNSETOFFLOAD,
              (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0) {
        snprintf(err, errlen, "cannot enable offloads on the TUN device: %s "
                 "(run with --no-offload)", strerror(errno));
        return -1;
    }
    return 0;
}

/* SF_TUN_NAPI, once the device exists: a bound on what the kernel queues
 * for the NAPI poll (the socket's send buffer, which a write is charged
 * until the poll takes the datagram; the default has none), and the
 * device's polls in kernel threads. */
static void napi_setup(struct sf_tun *t, int fd)
{
    t->napi = true;
    int sndbuf = SF_TUN_NAPI_QUEUE;
    if (ioctl(fd, TUNSETSNDBUF, &sndbuf) < 0)
        snprintf(t->napi_why, sizeof t->napi_why,
                 "cannot bound the NAPI queue (TUNSETSNDBUF): %s", strerror(errno));
    else if (link_netdev_threaded(t->name, t->napi_why, sizeof t->napi_why) == 0)
        t->napi_thread = true;
}

static int open_dev(struct sf_tun *t, const char *name, bool offload,
                    bool mq, bool napi, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
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
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0) |
                    (mq ? IFF_MULTI_QUEUE : 0) | (napi ? IFF_NAPI : 0);
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
    t->wire = calloc(1, sizeof *t->wire);
    t->gso = offload ? calloc(1, sizeof *t->gso) : NULL;
    bool bad = !t->wire || (offload && !t->gso);
    if (bad)
        snprintf(err, errlen, "out of memory");
    else if (offload)
        bad = set_offload(fd, err, errlen) < 0;
    if (bad) {
        free(t->wire);
        free(t->gso);
        t->wire = NULL;
        t->gso = NULL;
        close(fd);
        return -1;
    }
    impair_rng_seed(&t->wire->rng, 0);
    t->offload = offload;
    t->fd = fd;
    t->nqueues = 1;
    memcpy(t->name, ifr.ifr_name, sizeof t->name - 1);
    if (napi)
        napi_setup(t, fd);
    return 0;
}

int sf_tun_open(struct sf_tun *t, const char *name, bool offload, char *err,
                size_t errlen)
{
    return sf_tun_open_flags(t, name, offload ? SF_TUN_OFFLOAD : 0, 0, 0,
                             err, errlen);
}

/* ------------------------------------------------------------ multi-queue */

/* A queue number the device cannot have: t closed, err says so. */
static int bad_queue(struct sf_tun *t, unsigned queue, unsigned nqueues,
                     char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
    snprintf(err, errlen, "queue %u of %u: a TUN device has 1 to %d queues",
             queue, nqueues, SF_TUN_MAX_QUEUES);
    return -1;
}

int sf_tun_open_queue(struct sf_tun *t, const char *name, bool offload,
                      unsigned queue, unsigned nqueues, char *err,
                      size_t errlen)
{
    if (nqueues < 1) /* sf_tun_open_flags would take 0 as single-queue */
        return bad_queue(t, queue, nqueues, err, errlen);
    return sf_tun_open_flags(t, name, offload ? SF_TUN_OFFLOAD : 0, queue,
                             nqueues, err, errlen);
}

int sf_tun_open_flags(struct sf_tun *t, const char *name, unsigned flags,
                      unsigned queue, unsigned nqueues, char *err,
                      size_t errlen)
{
    bool offload = flags & SF_TUN_OFFLOAD, napi = flags & SF_TUN_NAPI;
    if (nqueues == 0)
        return queue > 0 ? bad_queue(t, queue, 1, err, errlen)
                         : open_dev(t, name, offload, false, napi, err, errlen);
    if (nqueues > SF_TUN_MAX_QUEUES || queue >= nqueues)
        return bad_queue(t, queue, nqueues, err, errlen);
    if (open_dev(t, name, offload, true, napi, err, errlen) < 0) {
        if (queue > 0) { /* say which queue the kernel refused */
            char why[200];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "queue %u of %s: %s", queue, name, why);
        }
        return -1;
    }
    t->queue = queue;
    t->nqueues = nqueues;
    return 0;
}

unsigned sf_tun_queue_of_ports(uint16_t a, uint16_t b, unsigned nqueues)
{
    /* Must stay the same function as steer_prog below: 32-bit XOR of the
     * ports, times the golden-ratio constant, high half, modulo n (the
     * kernel takes the program's answer modulo the queues). */
    uint32_t h = ((uint32_t)(a ^ b) * 0x9e3779b1u) >> 16;
    return nqueues ? h % nqueues : 0;
}

unsigned sf_tun_queue_of(const uint8_t *d, size_t len, unsigned nqueues)
{
    size_t off;
    uint8_t proto;
    if (len >= 20 && d[0] >> 4 == 4) {
        off = (size_t)(d[0] & 0xf) * 4;
        proto = d[9];
    } else if (len >= 40 && d[0] >> 4 == 6) {
        off = 40;
        proto = d[6];
    } else {
        return 0;
    }
    if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || len < off + 4)
        return 0; /* ICMP, other protocols, runts: queue 0, as the program */
    uint16_t sp = (uint16_t)(d[off] << 8 | d[off + 1]);
    uint16_t dp = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
    return sf_tun_queue_of_ports(sp, dp, nqueues);
}

/* The steering program (eBPF, socket filter type): the kernel runs it for
 * every datagram it sends into the device and takes its answer modulo the
 * number of queues as the queue (drivers/net/tun.c tun_ebpf_select_queue).
 * Without it the kernel picks by its own flow table, learned from the
 * queue that last wrote each flow and forgotten after 3 s without a write
 * (TUN_FLOW_EXPIRE), then by a hash keyed with a boot-time secret:
 * replies to a connection we opened then land on another queue (see
 * docs/scale.md for the measurement). This program is a pure function of
 * the ports that synfin computes too (sf_tun_queue_of). LD_ABS / LD_IND
 * read at the network header (SKF_NET_OFF) and return host order. */
#define NET_OFF (-0x100000)
#define INSN(c, d, s, o, i) {.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)}
static const struct bpf_insn steer_prog[] = {
    INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),          /* 0: r6 = ctx */
    INSN(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, NET_OFF),       /* 1: r0 = ver/ihl */
    INSN(BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0),          /* 2: r7 = r0 */
    INSN(BPF_ALU64 | BPF_RSH | BPF_K, 7, 0, 0, 4),          /* 3: r7 >>= 4 */
    INSN(BPF_JMP | BPF_JEQ | BPF_K, 7, 0, 8, 6),            /* 4: v6: -> 13 */
    INSN(BPF_JMP | BPF_JNE | BPF_K, 7, 0, 18, 4),           /* 5: else -> 24 */
    INSN(BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, 0xf),        /* 6: r0 = IHL */
    INSN(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 2),          /* 7: in bytes */
    INSN(BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0),          /* 8: r7 = it */
    INSN(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, NET_OFF + 9),   /* 9: protocol */
    INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 6, IPPROTO_TCP),  /* 10: -> 17 */
    INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 5, IPPROTO_UDP),  /* 11: -> 17 */
    INSN(BPF_JMP | BPF_JA, 0, 0, 11, 0),                    /* 12: -> 24 */
    INSN(BPF_ALU64 | BPF_MOV | BPF_K, 7, 0, 0, 40),         /* 13: r7 = 40 */
    INSN(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, NET_OFF + 6),   /* 14: next header */
    INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1, IPPROTO_TCP),  /* 15: -> 17 */
    INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 7, IPPROTO_UDP),  /* 16: -> 24 */
    INSN(BPF_LD | BPF_IND | BPF_H, 0, 7, 0, NET_OFF),       /* 17: source port */
    INSN(BPF_ALU64 | BPF_MOV | BPF_X, 8, 0, 0, 0),          /* 18: r8 = it */
    INSN(BPF_LD | BPF_IND | BPF_H, 0, 7, 0, NET_OFF + 2),   /* 19: dest. port */
    INSN(BPF_ALU | BPF_XOR | BPF_X, 0, 8, 0, 0),            /* 20: r0 ^= r8 */
    INSN(BPF_ALU | BPF_MUL | BPF_K, 0, 0, 0, (int32_t)0x9e3779b1u), /* 21 */
    INSN(BPF_ALU | BPF_RSH | BPF_K, 0, 0, 0, 16),           /* 22: high half */
    INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),                   /* 23 */
    INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),          /* 24: queue 0 */
    INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),                   /* 25 */
};

int sf_tun_steer_load(char *err, size_t errlen)
{
    char log[512] = "";
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = (uint64_t)(uintptr_t)steer_prog;
    a.insn_cnt = sizeof steer_prog / sizeof steer_prog[0];
    a.license = (uint64_t)(uintptr_t)"Dual MIT/GPL";
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = sizeof log;
    a.log_level = 1;
    int pfd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a);
    if (pfd < 0 && errno == ENOSPC) { /* the log was too small: load again without */
        a.log_buf = 0, a.log_size = 0, a.log_level = 0;
        pfd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a);
    }
    if (pfd < 0) {
        int e = errno;
        char *nl = strchr(log, '\n');
        if (nl)
            *nl = 0;
        snprintf(err, errlen, "cannot load the queue steering program: "
                 "%s%s%s", strerror(e),
                 e == EPERM ? " (needs root, CAP_BPF, or "
                              "kernel.unprivileged_bpf_disabled=0)" : "",
                 log[0] ? log : "");
        return -1;
    }
    return pfd;
}

int sf_tun_steer(struct sf_tun *t, char *err, size_t errlen)
{
    int pfd = sf_tun_steer_load(err, errlen);
    if (pfd < 0)
        return -1;
    int r = ioctl(t->fd, TUNSETSTEERINGEBPF, &pfd);
    int e = errno;
    close(pfd); /* the device holds its own reference */
    if (r < 0) {
        snprintf(err, errlen, "cannot attach the queue steering program to %s: "
                 "%s (TUNSETSTEERINGEBPF needs Linux 4.16 or later)", t->name,
                 strerror(e));
        return -1;
    }
    return 0;
}
int sf_tun_config(struct sf_tun *t, uint32_t ip, int prefix, int mtu,
                  char *err, size_t errlen)
{
    if (link_netdev_config(t->name, ip, prefix, mtu, err, errlen) < 0)
        return -1;
    return link_netdev_txqlen(t->name, SF_TUN_TXQLEN, err, errlen);
}

uint64_t sf_tun_kernel_dropped(const struct sf_tun *t)
{
    return link_netdev_tx_dropped(t->name);
}

int sf_tun_config6(struct sf_tun *t, const uint8_t ip6[16], int prefix,
                   char *err, size_t errlen)
{
    return link_netdev_addr6(t->name, ip6, prefix, err, errlen);
}

void sf_tun_seed(struct sf_tun *t, uint64_t seed)
{
    if (t->wire)
        impair_rng_seed(&t->wire->rng, seed);
}

void sf_tun_set_tap(struct sf_tun *t, sf_tun_tap_fn fn, void *ctx)
{
    t->tap = fn;
    t->tap_ctx = ctx;
}

void sf_tun_close(struct sf_tun *t)
{
    while (t->wire && t->wire->held) {
        struct tun_pkt *p = t->wire->held;
        t->wire->held = p->next;
        free(p);
    }
    if (t->wire) {
        free(t->wire->flat);
        free(t->wire->cut);
    }
    free(t->wire);
    t->wire = NULL;
    if (t->fd >= 0)
        sf_tun_flush(t);
    free(t->gso);
    t->gso = NULL;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* ------------------------------------------------------------ data path */

/* One write: the vnet header (offload only; h may be NULL for a plain
 * one, all zero: no GSO, checksum complete), then the datagram's pieces
 * (writev: a gathered one is not copied). */
static void dev_sendiov(struct sf_tun *t, const struct virtio_net_hdr *h,
                        const struct iovec *v, size_t n, size_t len)
{
    struct virtio_net_hdr zero;
    memset(&zero, 0, sizeof zero);
    struct iovec iov[2 + GSO_REFS] = {{&zero, VNET_HDR}};
    if (h)
        iov[0].iov_base = (void *)h;
    memcpy(iov + 1, v, n * sizeof v[0]);
    int skip = t->offload ? 0 : 1;
    ssize_t want = (ssize_t)len + (t->offload ? VNET_HDR : 0);
    if (writev(t->fd, iov + skip, (int)n + 1 - skip) != want) {
        /* The kernel drops on a full queue as a wire would; count it and
         * let TCP retransmit. */
        t->stats.tx_errors++;
        return;
    }
    t->stats.tx++;
    t->stats.tx_bytes += len;
}

static void dev_sendv(struct sf_tun *t, const struct virtio_net_hdr *h,
                      const struct dgram *g)
{
    dev_sendiov(t, h, g->v, g->n, g->len);
}

/* One datagram alone: a partial checksum (OUT_PARTIAL) with NEEDS_CSUM
 * for the kernel to complete (virtio 1.x 5.1.6.2), else a zero header.
 * The headers are read from the first piece. */
static void send_one(struct sf_tun *t, const struct dgram *g, bool partial)
{
    struct virtio_net_hdr h;
    if (partial && gso_csum_hdr(&h, g->v[0].iov_base, g->v[0].iov_len)) {
        dev_sendv(t, &h, g);
        t->stats.tx_csum_partial++;
        return;
    }
    dev_sendv(t, NULL, g);
}

void sf_tun_flush(struct sf_tun *t)
{
    struct sf_tun_gso *g = t->gso;
    if (!g)
        return;
    struct virtio_net_hdr h;
    struct iovec v[1 + GSO_REFS];
    size_t n;
    unsigned segs;
    size_t len = gso_merge_finish_v(&g->out, &h, v, &n, &segs);
    if (!len)
        return;
    if (segs == 1) { /* as the stack emitted it (at most 3 pieces) */
        struct dgram one = {.n = n, .len = len};
        memcpy(one.v, v, n * sizeof v[0]);
        send_one(t, &one, g->out_partial);
        return;
    }
    dev_sendiov(t, &h, v, n, len);
    t->stats.tx_gso++;
    t->stats.tx_gso_segs += segs;
}

void sf_tun_output_flush(void *ctx)
{
    sf_tun_flush(ctx);
}

/* Offload: the segment joins the pending GSO packet (its payload copied
 * from the pieces into the merge buffer), or starts the next one, or (not
 * a plain data segment) goes out alone after it, as it is. Returns
 * whether it is now the end of the pending packet. */
static bool gso_add(struct sf_tun *t, const struct dgram *d, bool partial,
                    bool keep)
{
    struct sf_tun_gso *g = t->gso;
    /* Not while outbound impairments are on: after a gap the kernel takes
     * a merged packet as one out-of-order skb and sends one duplicate ACK,
     * not one per segment, and our fast retransmit (no SACK) would wait
     * for the retransmission timeout instead. */
    const struct sf_tun_impair *im = &t->out;
    bool plain = gso_plain_data_v(d->v, d->n, d->len) &&
                 !(im->loss > 0 || im->dup > 0 || im->reorder > 0);
    /* Kept (OUT_KEEP): the payload is not copied, the packet points into
     * the send rings until written; the return says false then (no
     * payload at the end of the merge buffer for tap_out). */
    if (plain && partial == g->out_partial &&
        (keep ? gso_merge_add_ref(&g->out, d->v, d->n, d->len)
              : gso_merge_add_v(&g->out, d->v, d->n, d->len)))
        return !keep;
    sf_tun_flush(t);
    if (!plain) {
        send_one(t, d, partial);
        return false;
    }
    g->out_partial = partial;
    if (keep && gso_merge_start_ref(&g->out, d->v, d->n, d->len))
        return false;
    gso_merge_start_v(&g->out, d->v, d->n, d->len);
    return true;
}

/* The tap, with a TCP checksum left partial completed in a copy unless
 * the tap takes it so (tap_partial): RFC 9293 3.1 over the pseudo-header
 * already in the field and the segment (gso_complete, as the kernel
 * would complete it). */
static void tap_call(struct sf_tun *t, sf_time_t now, enum sf_tun_dir dir,
                     const uint8_t *d, size_t len, bool partial)
{
    struct virtio_net_hdr h;
    if (partial && !t->tap_partial && len <= GSO_MAX && gso_csum_hdr(&h, d, len)) {
        struct gso_rx rx;
        memcpy(t->gso->tap, d, len);
        gso_complete(&h, t->gso->tap, len, &rx);
        d = t->gso->tap;
    }
    t->tap(t->tap_ctx, now, dir, d, len);
}

/* The tap's view of an outgoing datagram, contiguous. One piece is as it
 * is. A gathered one just merged (gso_add true) already has its payload
 * at the end of the pending packet: its own headers are put right before
 * it for the call, and the bytes they covered put back after, so that
 * the payload is not copied for the tap. Anything else is copied
 * (flatten). */
static void tap_out(struct sf_tun *t, sf_time_t now, const struct dgram *d,
                    bool partial, bool merged)
{
    if (d->n == 1) {
        tap_call(t, now, SF_TUN_OUT, d->v[0].iov_base, d->len, partial);
        return;
    }
    if (!merged) {
        const uint8_t *c = flatten(t->wire, d);
        if (c)
            tap_call(t, now, SF_TUN_OUT, c, d->len, partial);
        return;
    }
    struct gso_merge *m = &t->gso->out;
    const uint8_t *h = d->v[0].iov_base;
    /* a plain segment: IPv4 (IPv6) without options, its TCP header (with
     * the options the first segment of the packet has too) */
    size_t hl = gso_tcp_hdr_end(h, d->v[0].iov_len);
    uint8_t *at = m->buf + m->len - d->len, save[100];
    memcpy(save, at, hl);
    memcpy(at, h, hl);
    tap_call(t, now, SF_TUN_OUT, at, d->len, partial);
    memcpy(at, save, hl);
}

static void dev_write(struct sf_tun *t, sf_time_t now, const struct dgram *d,
                      unsigned flags)
{
    bool partial = flags & OUT_PARTIAL, merged = false;
    if (t->gso)
        merged = gso_add(t, d, partial, flags & OUT_KEEP);
    else
        dev_sendv(t, NULL, d);
    if (t->tap && !t->tap_in_only) /* what the stack sent, before merging */
        tap_out(t, now, d, partial, merged);
}

/* Toward the stack a datagram is one piece (read from the device). */
static void deliver(struct sf_tun *t, sf_time_t now, bool out,
                    const struct dgram *d, unsigned flags)
{
    if (out)
        dev_write(t, now, d, flags);
    else
        sf_stack_input_flags(t->st, now, d->v[0].iov_base, d->len, flags);
}

static void hold(struct sf_tun *t, sf_time_t due, bool out,
                 const struct dgram *d, unsigned flags)
{
    struct tun_pkt *p = malloc(sizeof *p + d->len);
    if (!p)
        return; /* as a lost datagram */
    p->due = due;
    p->out = out;
    p->flags = flags & ~OUT_KEEP; /* a copy now, one piece */
    p->len = d->len;
    dgram_copy(p->data, d);
    struct tun_pkt **pp = &t->wire->held;
    while (*pp && (*pp)->due <= due)
        pp = &(*pp)->next; /* FIFO among equal due times */
    p->next = *pp;
    *pp = p;
}

/* Whether any impairment is on in one direction. */
static bool impair_any(const struct sf_tun_impair *im)
{
    return im->delay || im->loss || im->dup || im->reorder;
}

/* One datagram crossing the impaired wire in one direction: the link
 * kit decides its fate (impair_decide, drawing only for the impairments
 * that are on); a copy due now goes through at once unless others are
 * held, the rest wait in the held list. */
static void impaired(struct sf_tun *t, sf_time_t now, bool out,
                     const struct dgram *d, unsigned flags)
{
    const struct sf_tun_impair *im = out ? &t->out : &t->in;
    struct sf_tun_wire *w = t->wire;
    /* no impairment on this side and nothing held: straight through (the
     * kit would draw nothing and deliver it now) */
    if (!impair_any(im) && !w->held) {
        deliver(t, now, out, d, flags);
        return;
    }
    const struct sf_link_cfg c = {.delay = im->delay, .loss = im->loss,
                                 .dup = im->dup, .reorder = im->reorder};
    struct impair_fate f;
    impair_decide(&c, out ? &w->out : &w->in, &w->rng, now, d->len, 0, &f);
    if (f.drop) {
        (*(out ? &t->stats.tx_lost : &t->stats.rx_lost))++;
        return;
    }
    if (f.ncopies > 1)
        (*(out ? &t->stats.tx_dup : &t->stats.rx_dup))++;
    if (f.flags[0] & IMPAIR_F_REORDERED)
        (*(out ? &t->stats.tx_reordered : &t->stats.rx_reordered))++;
    for (int i = 0; i < f.ncopies; i++) {
        if (f.arrive[i] <= now && !w->held)
            deliver(t, now, out, d, flags);
        else
            hold(t, f.arrive[i], out, d, flags);
    }
}

/* SF_OFFLOAD_TX_CSUM (set by sf_tun_run): the stack's TCP datagrams carry
 * the pseudo-header sum, for the device to complete. */
static bool stack_partial(const struct sf_tun *t)
{
    return t->gso && t->st &&
           (sf_stack_config(t->st)->offload & SF_OFFLOAD_TX_CSUM);
}

/* A datagram from the stack (or the UDP relay) toward the kernel. */
static void output(struct sf_tun *t, const struct dgram *d, unsigned keep)
{
    bool partial = stack_partial(t) &&
                   gso_tcp_start(d->v[0].iov_base, d->v[0].iov_len);
    impaired(t, sf_stack_now(t->st), true, d, (partial ? OUT_PARTIAL : 0) | keep);
}

void sf_tun_output(void *ctx, const uint8_t *dgram, size_t len)
{
    struct dgram d = one_piece(dgram, len);
    output(ctx, &d, 0);
}

static void gather(struct sf_tun *t, const struct sf_piece *v, size_t n,
                   unsigned keep)
{
    struct dgram d = of_pieces(v, n);
    if (n == 0)
        return;
    if (n == 1 || (n <= TUN_PIECES && gso_tcp_hdr_end(v[0].base, v[0].len))) {
        output(t, &d, keep); /* the stack's pieces as they are */
        return;
    }
    /* anything else is made one piece first (never the stack's) */
    struct sf_tun_wire *w = t->wire;
    if (d.len > TUN_BUF || (!w->flat && !(w->flat = malloc(TUN_BUF)))) {
        t->stats.tx_errors++; /* not a datagram, or no memory: lost */
        return;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; off += v[i++].len)
        if (v[i].len)
            memcpy(w->flat + off, v[i].base, v[i].len);
    sf_tun_output(t, w->flat, d.len);
}

void sf_tun_output_gather(void *ctx, const struct sf_piece *v, size_t n)
{
    gather(ctx, v, n, 0);
}

void sf_tun_output_gather_keep(void *ctx, const struct sf_piece *v, size_t n)
{
    gather(ctx, v, n, OUT_KEEP);
}

/* Whether a run may join the GSO packets as it is: offload, and nobody
 * who must see each segment on its way (outbound impairments, datagrams
 * held back, a tap of what is written). */
static bool run_whole(const struct sf_tun *t)
{
    return t->gso && !impair_any(&t->out) && !t->wire->held &&
           !(t->tap && !t->tap_in_only);
}

/* A run of segments of seg bytes (cfg.output_gso): merged whole into the
 * pending GSO packet, or (run_whole false, or not a run the merge takes)
 * cut here into the segments the stack would have sent, each then on
 * the usual way (impairments, tap, merging by copy). */
static void gather_run(struct sf_tun *t, const struct sf_piece *v, size_t n,
                       size_t seg, unsigned keep)
{
    struct dgram d = of_pieces(v, n);
    if (n == 0 || n > TUN_PIECES)
        return;
    struct sf_tun_gso *g = t->gso;
    /* (a run's checksum is partial: TSO comes with SF_OFFLOAD_TX_CSUM) */
    bool partial = stack_partial(t);
    if (run_whole(t) && partial) {
        bool byref = keep & OUT_KEEP;
        if (g->out_partial &&
            gso_merge_add_run(&g->out, d.v, d.n, d.len, seg, byref))
            return;
        sf_tun_flush(t);
        g->out_partial = true;
        if (gso_merge_start_run(&g->out, d.v, d.n, d.len, seg, byref))
            return;
    }
    struct sf_tun_wire *w = t->wire;
    const uint8_t *flat = flatten(w, &d);
    if (!w->cut)
        w->cut = malloc(GSO_MAX);
    size_t k = flat && w->cut ? gso_cut_count(flat, d.len, seg) : 0;
    if (k == 0) {
        t->stats.tx_errors++; /* no memory, or not a run: lost */
        return;
    }
    for (size_t i = 0; i < k; i++) {
        /* (the checksum as the stack leaves its segments: output() takes
         * them so) */
        size_t len = partial ? gso_cut_partial(flat, d.len, seg, i, w->cut)
                             : gso_cut(flat, d.len, seg, i, w->cut);
        sf_tun_output(t, w->cut, len);
    }
}

void sf_tun_output_gso(void *ctx, const struct sf_piece *v, size_t n, size_t seg)
{
    gather_run(ctx, v, n, seg, 0);
}

void sf_tun_output_gso_keep(void *ctx, const struct sf_piece *v, size_t n,
                            size_t seg)
{
    gather_run(ctx, v, n, seg, OUT_KEEP);
}

static void release_due(struct sf_tun *t, sf_time_t now)
{
    struct sf_tun_wire *w = t->wire;
    while (w->held && w->held->due <= now) {
        struct tun_pkt *p = w->held;
        w->held = p->next;
        struct dgram d = one_piece(p->data, p->len);
        deliver(t, now, p->out, &d, p->flags);
        free(p);
    }
}

/* Reads one datagram into buf; returns its length (0: nothing to hand in)
 * or -1 with errno, and in *flags SF_IN_CSUM_VALID or 0, and in *partial
 * whether its TCP checksum is left partial. */
static ssize_t read_one(struct sf_tun *t, uint8_t *buf, uint8_t **dgram,
                        unsigned *flags, bool *partial)
{
    ssize_t n = read(t->fd, buf, TUN_BUF);
    *dgram = buf;
    *flags = 0;
    *partial = false;
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
    size_t len = (size_t)n - VNET_HDR;
    /* virtio 1.x 5.1.6.2: NEEDS_CSUM at TCP's field is the kernel's own
     * datagram, its checksum never computed; the stack need not check it,
     * and (unless a tap wants it complete) nobody computes it. DATA_VALID:
     * "the data in the packet has been validated". Other NEEDS_CSUM
     * (UDP, odd offsets) is completed as before: the UDP relay and the
     * rest check their own. */
    struct virtio_net_hdr hc = h;
    bool tcp_partial = gso_tcp_partial(&h, *dgram, len);
    if (tcp_partial && (!t->tap || t->tap_partial)) {
        hc.flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
        *partial = true;
    }
    struct gso_rx rx;
    bool ok = gso_complete(&hc, *dgram, len, &rx);
    t->stats.rx_gso += rx.gso;
    t->stats.rx_gso_segs += rx.gso ? rx.segs : 0;
    t->stats.rx_csum += rx.csum;
    if (!ok) {
        t->stats.rx_bad_vnet++;
        return 0;
    }
    if (tcp_partial || ((h.flags & VIRTIO_NET_HDR_F_DATA_VALID) &&
                        gso_tcp_start(*dgram, len))) {
        *flags = SF_IN_CSUM_VALID; /* (completed here for a tap: valid) */
        t->stats.rx_csum_skipped += !rx.csum;
    }
    return (ssize_t)len;
}

/* Offload with inbound impairments: a super-packet is cut back into the
 * segments the wire would have carried (rx_mss each, gso_cut), so that
 * --loss loses one segment, not up to 44. */
static void impaired_in(struct sf_tun *t, sf_time_t now, const uint8_t *d,
                        size_t len, unsigned flags)
{
    const struct sf_tun_impair *im = &t->in;
    size_t mss = t->gso ? t->gso->rx_mss : 0;
    size_t n = (im->loss > 0 || im->dup > 0 || im->reorder > 0)
                   ? gso_cut_count(d, len, mss) : 0;
    if (n == 0) {
        struct dgram one = one_piece(d, len);
        impaired(t, now, false, &one, flags);
        return;
    }
    for (size_t k = 0; k < n; k++) { /* each with its checksum: checked */
        size_t sl = gso_cut(d, len, mss, k, t->gso->seg);
        struct dgram one = one_piece(t->gso->seg, sl);
        impaired(t, now, false, &one, 0);
    }
}

/* Reads up to TUN_BATCH datagrams; returns -1 if the device failed. */
static int read_batch(struct sf_tun *t, uint8_t *buf)
{
    for (int i = 0; i < TUN_BATCH; i++) {
        uint8_t *d;
        unsigned flags;
        bool partial;
        ssize_t n = read_one(t, buf, &d, &flags, &partial);
        if (n < 0)
            return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        if (n == 0 && t->offload)
            continue;
        if (t->nqueues > 1 &&
            sf_tun_queue_of(d, (size_t)n, t->nqueues) != t->queue) {
            /* Another queue's flow: its connection lives in another stack,
             * which this one must not answer for (it would reset it). The
             * steering program never does this; counted, dropped. */
            t->stats.rx_wrong_queue++;
            continue;
        }
        sf_time_t now = sf_tun_now();
        t->stats.rx++;
        t->stats.rx_bytes += (uint64_t)n;
        if (n < 20)
            t->stats.rx_runts++; /* still handed in: the stack counts why */
        if (t->tap)
            tap_call(t, now, SF_TUN_IN, d, (size_t)n, partial);
        /* SF_IN_BATCH: sf_tun_run advances the stack once the batch is
         * in, and the ACKs it holds go then */
        impaired_in(t, now, d, (size_t)n, flags | SF_IN_BATCH);
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
    /* The device completes TCP checksums: tell a stack that outputs
     * straight into it (not one behind another output, e.g. --xdp). */
    const struct sf_stack_cfg *sc = t->st ? sf_stack_config(t->st) : NULL;
    if (t->gso && sc && sc->output == sf_tun_output && sc->output_ctx == t) {
        /* ... and cuts runs of segments handed whole (output_gso), unless
         * each segment must be seen here (run_whole) */
        unsigned tso = sc->output_gso && run_whole(t) ? SF_OFFLOAD_TSO : 0;
        sf_stack_set_offload(t->st, sc->offload | SF_OFFLOAD_TX_CSUM | tso);
    }
    sf_time_t moved = 0; /* when a turn last read or wrote (busy polling) */
    while (!t->stop) {
        sf_time_t now = sf_tun_now();
        uint64_t io0 = t->stats.rx + t->stats.tx;
        if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            /* The device was deleted under us (ip link del): poll says
             * POLLERR at once forever, so without this the loop spins. */
            if (read_batch(t, buf) == 0)
                errno = ENODEV;
            rc = -1;
            break;
        }
        if (fds[0].revents & POLLIN && read_batch(t, buf) < 0) {
            rc = -1;
            break;
        }
        now = sf_tun_now();
        sf_stack_advance(t->st, now);
        release_due(t, now);
        sf_time_t app = h->service(h->ctx, now, fds + 1, woke ? napp : 0);
        sf_time_t next = sf_stack_advance(t->st, now);
        if (t->wire->held)
            next = min_t(next, t->wire->held->due);
        next = min_t(next, app);
        sf_tun_flush(t); /* what this iteration emitted, merged */
        if (t->stop)
            break;
        fds[0] = (struct pollfd){.fd = t->fd, .events = POLLIN};
        napp = h->pollfds(h->ctx, fds + 1, TUN_MAX_APP_FDS);
        /* busy polling: for busy_poll ns after a turn that read or wrote,
         * look again without sleeping */
        if (t->stats.rx + t->stats.tx != io0)
            moved = now;
        if (t->busy_poll && now - moved < t->busy_poll && next > now) {
            t->stats.busy_turns++; /* where it would have slept */
            next = now;
        }
        if (wait_for(t, fds, napp + 1, next) < 0) {
            rc = -1;
            break;
        }
        woke = true;
    }
    free(buf);
    free(fds);
    return rc;
}
