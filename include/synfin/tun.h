/* synfin tun: one sf_stack on a Linux TUN device.
 *
 * The driver opens the device (IFF_TUN | IFF_NO_PI, and with offload
 * IFF_VNET_HDR: checksum and TCP segmentation offloads, see docs/tun.md),
 * gives the kernel's side an address, and runs the event loop that drives
 * the stack from the device and the monotonic clock. The core never reads
 * a clock: this driver does (CLOCK_MONOTONIC, in ns) and hands the time in
 * with every sf_stack_input / sf_stack_advance.
 *
 * Impairments (loss, duplication, reordering, delay) can be applied on
 * synfin's side of the device, in each direction, by the same code and
 * PRNG as the links of synfin sim (this machine need not have netem).
 *
 * A tap sees every datagram that crosses the device, with its time and
 * direction, for a capture (synfin serve/connect --pcap write pcap files
 * from it); the driver itself writes no files.
 *
 * Typical use:
 *
 *     struct sf_tun t;
 *     sf_tun_open(&t, "sf0", true, err, sizeof err);
 *     sf_tun_config(&t, host_ip, 24, 1500, err, sizeof err);
 *     cfg.output = sf_tun_output; cfg.output_ctx = &t;
 *     cfg.output_gather = sf_tun_output_gather_keep; // optional: fewer
 *     cfg.output_flush = sf_tun_output_flush;        // copies (both)
 *     cfg.output_gso = sf_tun_output_gso_keep;       // optional: runs
 *     sf_stack_create(&cfg, sf_tun_now(), &t.st);
 *     sf_tun_run(&t, &hooks);      // until a hook sets t.stop
 *     sf_stack_free(t.st);
 *     sf_tun_close(&t);
 *
 * Linux only; needs CAP_NET_ADMIN to create the device.
 */
#ifndef SYNFIN_TUN_H
#define SYNFIN_TUN_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/synfin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Impairments of one direction (probabilities 0..1, delay in ns). They are
 * read for every datagram, so they may be changed while the loop runs.
 * A reordered datagram is held back by one to two delays (at least 1 ms)
 * so that later ones overtake it; a duplicate follows its original. */
struct sf_tun_impair {
    double loss, dup, reorder;
    sf_time_t delay;
};

/* What the loop counts at the device, beside the stack's own counters. */
struct sf_tun_stats {
    uint64_t rx, tx, rx_bytes, tx_bytes;
    uint64_t rx_lost, tx_lost, rx_dup, tx_dup, rx_reordered, tx_reordered;
    uint64_t tx_errors, rx_runts;
    /* --offload only: super-packets read (rx_gso), checksums completed
     * (rx_csum), GSO packets written (tx_gso) and the segments merged into
     * them (tx_gso_segs), vnet headers refused (rx_bad_vnet), and the
     * wire segments the super-packets read stood for (rx_gso_segs; the
     * stack's SEG_IN counts each super-packet once). */
    uint64_t rx_gso, rx_csum, tx_gso, tx_gso_segs, rx_bad_vnet;
    uint64_t rx_gso_segs;
    /* Multi-queue: datagrams read on this queue whose ports steer them to
     * another (sf_tun_queue_of), dropped unseen by the stack. */
    uint64_t rx_wrong_queue;
    /* --offload only, checksum offload (virtio 1.x 5.1.6.2; docs/tun.md):
     * TCP datagrams read and handed to the stack as valid without a
     * checksum computed (NEEDS_CSUM left partial, or DATA_VALID:
     * rx_csum_skipped), and datagrams written with NEEDS_CSUM for the
     * kernel to complete (tx_csum_partial; GSO packets, counted by tx_gso,
     * always are). */
    uint64_t rx_csum_skipped, tx_csum_partial;
    /* Busy polling (sf_tun.busy_poll): the turns of the loop that looked
     * again at once, where without it the loop would have slept. */
    uint64_t busy_turns;
};

/* Which way a datagram crosses the device. */
enum sf_tun_dir {
    SF_TUN_IN,  /* read from the kernel, toward the stack */
    SF_TUN_OUT  /* emitted by the stack, toward the kernel */
};

/* The tap: called for every datagram read (IN: as read, a super-packet
 * whole with its checksum completed, before the inbound impairments) and
 * every datagram written (OUT: as the stack emitted it, after the outbound
 * impairments, before GSO merging). now is sf_tun_now() when it crossed.
 * With offload the driver completes a TCP checksum left partial (by the
 * kernel, or by the stack: SF_OFFLOAD_TX_CSUM) for the tap alone, unless
 * sf_tun.tap_partial says the tap takes them as they are. */
typedef void (*sf_tun_tap_fn)(void *ctx, sf_time_t now, enum sf_tun_dir dir,
                              const uint8_t *dgram, size_t len);

struct sf_tun_wire; /* private: the impairments' state, datagrams held back */
struct sf_tun_gso;  /* private: offload state */

struct sf_tun {
    int fd;                       /* the device; -1 when closed */
    char name[16];                /* the interface name */
    struct sf_stack *st;          /* the stack it drives (set by the caller) */
    struct sf_tun_impair in, out; /* in: kernel -> synfin; out: synfin -> kernel */
    struct sf_tun_stats stats;
    int stop;                     /* set by a hook to leave sf_tun_run */
    bool offload;                 /* IFF_VNET_HDR: every read/write has one */
    /* The driver's own: */
    sf_tun_tap_fn tap;
    void *tap_ctx;
    struct sf_tun_wire *wire;
    struct sf_tun_gso *gso;       /* offload only */
    /* Multi-queue (sf_tun_open_queue): this queue's index and how many
     * the device has (1, 0 for a single-queue device). */
    unsigned queue, nqueues;
    /* Offload: the tap takes TCP datagrams whose checksum field holds only
     * the pseudo-header sum (NEEDS_CSUM, as a capture of a TSO sender
     * shows them), so no checksum is computed for it. Default false: the
     * tap sees every checksum complete (a --pcap). Set after open. */
    bool tap_partial;
    /* The tap takes only the datagrams read (SF_TUN_IN): those written
     * are not shown to it, and no copy is made for it (a segment whose
     * payload stays in the send ring, sf_tun_output_gather_keep, is
     * otherwise copied for the tap). Default false. Set after open. */
    bool tap_in_only;
    /* Busy polling: after a turn of sf_tun_run that read or wrote
     * datagrams, the loop goes on looking at the device and the
     * application's descriptors without sleeping for up to busy_poll ns
     * (0, the default: it sleeps as soon as there is nothing to do). A
     * datagram that comes while it looks is taken at once, not after the
     * wake-up of a thread that slept. Set after open. */
    sf_time_t busy_poll;
    /* SF_TUN_NAPI (sf_tun_open_flags): the kernel takes this queue's
     * writes through a NAPI poll (napi), run in a kernel thread of its own
     * (napi_thread). When the thread could not be had, napi_why says why:
     * the kernel's work for each write then runs in the writer's thread,
     * as without SF_TUN_NAPI. */
    bool napi, napi_thread;
    char napi_why[200];
};

/* Opens /dev/net/tun and creates (or attaches to) interface `name` with
 * IFF_TUN | IFF_NO_PI. With offload, also IFF_VNET_HDR (a 10-byte
 * virtio_net_hdr before every datagram) and TUN_F_CSUM | TUN_F_TSO4 |
 * TUN_F_TSO6: the kernel may then hand over TCP super-packets (IPv4 or
 * IPv6) up to 64 KB with the checksum left to us, and takes ours (see sf_tun_flush). No impairments, no tap,
 * impairment seed 0. Returns 0, or -1 with a one-line advice in err. */
int sf_tun_open(struct sf_tun *t, const char *name, bool offload, char *err,
                size_t errlen);

/* sf_tun_open and sf_tun_open_queue with flags: */
#define SF_TUN_OFFLOAD 0x1u /* IFF_VNET_HDR and the offloads, as above */
/* IFF_NAPI and threaded NAPI: a write only queues the datagram, and a
 * kernel thread of the device's (napi/NAME-N) does what the kernel does
 * with it (forwarding, a local peer's TCP receive and its next transmit),
 * in parallel with this one; without, all of that runs inside the write,
 * in this thread. The kernel may hold up to SF_TUN_NAPI_QUEUE bytes of
 * written datagrams for that thread; a write beyond fails as a full
 * queue (counted in tx_errors). docs/tun.md, "A kernel thread for the
 * writes". Needs CAP_NET_ADMIN and a sysfs of the device's namespace. */
#define SF_TUN_NAPI 0x2u
#define SF_TUN_NAPI_QUEUE (16 << 20)
/* Opens queue `queue` of nqueues (nqueues 0: a single-queue device, queue
 * 0) with SF_TUN_* flags. Returns 0, or -1 with a one-line advice in err;
 * a thread refused (SF_TUN_NAPI) is no failure: see napi_why. */
int sf_tun_open_flags(struct sf_tun *t, const char *name, unsigned flags,
                      unsigned queue, unsigned nqueues, char *err,
                      size_t errlen);
/* Gives the kernel's side of the interface ip/prefix (host order), sets the
 * MTU, raises the device's transmit queue to SF_TUN_TXQLEN datagrams and
 * brings it up. Returns 0, or -1 with advice in err. */
int sf_tun_config(struct sf_tun *t, uint32_t ip, int prefix, int mtu,
                  char *err, size_t errlen);
/* What the kernel may hold for our read, in datagrams. A TUN device
 * starts with 500 (a wire's queue), and drops the datagram that finds it
 * full: a thousand flows closing at once (their FINs and ACKs in one
 * burst) lost hundreds, each then waiting for a retransmission timeout
 * (bench/README.md, tun2socks). 4096 small datagrams are about 1 MB of
 * the kernel's memory at most; a longer queue set by hand (`ip link set
 * DEV txqueuelen N`) is kept. */
#define SF_TUN_TXQLEN 4096
/* The kernel's count of datagrams the device dropped, its queue full
 * (statistics/tx_dropped: the kernel's transmit is our receive). */
uint64_t sf_tun_kernel_dropped(const struct sf_tun *t);
/* Gives the kernel's side of the interface the IPv6 address ip6/prefix
 * (network byte order), as `ip -6 addr add` would; call it after
 * sf_tun_config (the device up, its MTU at least 1280). No neighbour
 * discovery is needed: a TUN device is point-to-point, the kernel routes
 * the prefix to it and runs no DAD on it. Returns 0, or -1 with advice in
 * err. */
int sf_tun_config6(struct sf_tun *t, const uint8_t ip6[16], int prefix,
                   char *err, size_t errlen);
/* Seeds the impairments' PRNG (xoshiro256**, as synfin sim's): the same
 * seed and the same datagrams give the same losses. */
void sf_tun_seed(struct sf_tun *t, uint64_t seed);
/* Sets the tap (NULL: none). */
void sf_tun_set_tap(struct sf_tun *t, sf_tun_tap_fn fn, void *ctx);
/* Writes what is pending, frees the held datagrams, closes the device.
 * Safe on a struct whose sf_tun_open failed, and twice. */
void sf_tun_close(struct sf_tun *t);

/* The stack's output callback (cfg.output, ctx = the sf_tun). */
void sf_tun_output(void *ctx, const uint8_t *dgram, size_t len);
/* The stack's gather output (cfg.output_gather beside sf_tun_output, ctx
 * the same sf_tun): a data segment's payload is not copied out of the
 * send buffer first. With offload it is copied once, straight from the
 * pieces into the GSO packet being merged, or (a segment that cannot be
 * merged) written from them with writev; without offload written with
 * writev. A tap sees it whole: a merged one in place (its headers put
 * before its payload in the merge buffer for the call), any other in a
 * copy made for the tap alone. Behaves as sf_tun_output on the same
 * datagram in every other way (impairments, counters). */
void sf_tun_output_gather(void *ctx, const struct sf_piece *v, size_t n);
/* The same with cfg.output_flush = sf_tun_output_flush (required: the
 * stack then keeps the send rings' slices valid until it calls it,
 * synfin.h): with offload a data segment's payload is not copied at all,
 * the GSO packet being merged points into the send ring (up to GSO_REFS
 * slices) and is written from it by one writev. */
void sf_tun_output_gather_keep(void *ctx, const struct sf_piece *v, size_t n);
/* cfg.output_flush for sf_tun_output_gather_keep: sf_tun_flush. */
void sf_tun_output_flush(void *ctx);
/* cfg.output_gso, beside sf_tun_output_gather (_keep beside _keep): a run
 * of full-sized segments the stack hands whole joins the GSO packet being
 * merged as those segments would, and the kernel cuts it (TUN_F_TSO4,
 * TUN_F_TSO6). sf_tun_run then sets SF_OFFLOAD_TSO in the stack's
 * offload (with SF_OFFLOAD_TX_CSUM), unless the device has no offload,
 * outbound impairments are on, or a tap wants what is written (each
 * segment must be seen): a run that still comes then is cut here into
 * its segments, each going on as sf_tun_output's. */
void sf_tun_output_gso(void *ctx, const struct sf_piece *v, size_t n, size_t seg);
void sf_tun_output_gso_keep(void *ctx, const struct sf_piece *v, size_t n,
                            size_t seg);

/* Offload only: writes the segments merged so far (one GSO packet, or
 * one plain datagram). The loop calls it before it sleeps; a no-op when
 * nothing is pending. */
void sf_tun_flush(struct sf_tun *t);

/* The monotonic clock in ns. */
sf_time_t sf_tun_now(void);

/* The application's side of the loop. */
struct sf_tun_hooks {
    void *ctx;
    /* Adds the application's descriptors (at most max); returns how many. */
    int (*pollfds)(void *ctx, struct pollfd *fds, int max);
    /* Does the application's socket work at `now`; fds/n are the entries
     * it added, with revents filled in (all zero on a timer wake-up).
     * Returns the earliest time it wants to be called again. */
    sf_time_t (*service)(void *ctx, sf_time_t now, struct pollfd *fds, int n);
};

/* Runs until t->stop is set. Returns 0, or -1 if the device failed.
 * With offload, if the stack outputs straight into this device
 * (cfg.output sf_tun_output, cfg.output_ctx t), it first tells the stack
 * that the device completes TCP checksums (sf_stack_set_offload,
 * SF_OFFLOAD_TX_CSUM); from then on a TCP datagram handed to
 * sf_tun_output must carry the pseudo-header sum as the stack's do (UDP,
 * ICMP and the rest go out as they are). TCP datagrams read are handed
 * in with SF_IN_CSUM_VALID when the kernel left their checksum to us
 * (NEEDS_CSUM) or checked it (DATA_VALID). */
int sf_tun_run(struct sf_tun *t, const struct sf_tun_hooks *h);

/* ------------------------------------------------ multi-queue (issue 15)
 * One sf_tun per queue, each driving its own stack in its own thread (see
 * docs/scale.md): open queue 0 (it creates the device) to nqueues - 1 with
 * the same name, attach the steering program through any of them, then
 * configure the device once. */
#define SF_TUN_MAX_QUEUES 256 /* the kernel's MAX_TAP_QUEUES */
/* Opens (creating the device with IFF_MULTI_QUEUE if it is the first) one
 * queue of `name`. Returns 0, or -1 with a one-line advice in err. */
int sf_tun_open_queue(struct sf_tun *t, const char *name, bool offload,
                      unsigned queue, unsigned nqueues, char *err,
                      size_t errlen);
/* Attaches the eBPF steering program: the kernel then sends each TCP or
 * UDP datagram to queue sf_tun_queue_of (a function of its two ports
 * only), everything else to queue 0. Returns 0, or -1 with advice. */
int sf_tun_steer(struct sf_tun *t, char *err, size_t errlen);
/* Loads the steering program alone and returns its descriptor (for a
 * test that runs it, BPF_PROG_TEST_RUN), or -1 with advice in err. */
int sf_tun_steer_load(char *err, size_t errlen);
/* The queue (of nqueues) the steering program picks for a flow whose
 * ports are a and b (either order), or for a datagram. */
unsigned sf_tun_queue_of_ports(uint16_t a, uint16_t b, unsigned nqueues);
unsigned sf_tun_queue_of(const uint8_t *dgram, size_t len, unsigned nqueues);

#ifdef __cplusplus
}
#endif
#endif
