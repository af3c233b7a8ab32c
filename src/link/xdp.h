/* synfin on AF_XDP (src/link/xdp.c, docs/xdp.md): the stack's datagrams
 * straight from and to a network interface's queues, past the kernel's
 * TCP/IP, through libxdp and libbpf.
 *
 * Two levels:
 *  - sf_xdp_prog, one per interface: the XDP program (xdp_prog.bpf.c,
 *    built into the synfin binary) attached through libxdp, native mode
 *    where the driver has it and generic (SKB) mode otherwise; it sends
 *    synfin's flows to the AF_XDP socket of the queue they came in on and
 *    passes everything else to the kernel.
 *  - sf_xdp, one per queue: its own UMEM, its own socket, its own
 *    neighbour (ARP) table and counters, driving one sf_stack from its own
 *    loop. Nothing mutable is shared between queues but what ARP taught
 *    them: each queue publishes its next hops in its own slice of the
 *    program's table (one writer each, read lock-free by the others under
 *    a sequence count), because an ARP answer lands on whichever queue
 *    the sender hashes it to. So each queue runs in a thread of its own
 *    (one worker = one stack + one queue + its loop).
 *
 * The link speaks Ethernet and ARP (RFC 826) for the stack, which speaks
 * IPv4: frames to synfin's address lose their Ethernet header on the way
 * in, datagrams get one on the way out, with the next hop's address
 * learnt from the frames that arrive and from ARP.
 *
 * Linux only, root (CAP_NET_ADMIN, CAP_BPF or CAP_SYS_ADMIN). Only the
 * synfin tool links this file (with -lxdp -lbpf); libsynfin and
 * libsynfin-link need neither. */
#ifndef SF_LINK_XDP_H
#define SF_LINK_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/synfin.h"
#include "synfin/tun.h" /* struct sf_tun_hooks: the same loop contract */

/* The largest MTU the link carries: one 4096-byte frame per datagram, of
 * which the kernel keeps XDP_PACKET_HEADROOM (256) in front of the frame
 * it copies in, and 14 bytes are Ethernet. Larger frames would be dropped
 * by the kernel (XDP_STATISTICS rx_dropped), so a larger MTU is refused. */
#define SF_XDP_MAX_MTU (4096 - 256 - 14)

/* Above SF_XDP_MAX_MTU, AF_XDP multi-buffer (Linux 6.6; the kernel's
 * Documentation/networking/af_xdp.rst, "Multi-Buffer Support"): the
 * socket is bound with XDP_USE_SG, the program is frags-aware, and a
 * frame spans several 4 KB frames chained by XDP_PKT_CONTD, each less
 * the 256 bytes of headroom on receive: MTU 9000 takes 3, the largest
 * MTU an Ethernet device takes (ETH_MAX_MTU, 65535, also the most an
 * IPv4 datagram holds) 18. In copy mode the kernel takes up to
 * MAX_SKB_FRAGS + 1 (18) descriptors a packet on TX (xsk_build_skb), and
 * a native XDP program on a veth with frags up to MAX_SKB_FRAGS pages
 * beyond the first (veth_xdp_set). A larger MTU is refused. */
#define SF_XDP_SG_MAX_MTU 65535
#define SF_XDP_SG_FRAMES ((SF_XDP_SG_MAX_MTU + 14 + (4096 - 256) - 1) / (4096 - 256))

enum sf_xdp_mode {
    SF_XDP_AUTO,    /* native, else generic said aloud */
    SF_XDP_NATIVE,  /* the driver's own XDP hook, or fail */
    SF_XDP_GENERIC  /* the kernel's generic (SKB) hook */
};

/* Who pushes the TX ring (docs/xdp.md, "Where the time goes"). In copy
 * mode the sendto() that does is the kernel's whole transmit path, run in
 * the caller (on a veth: the peer's receive path too); a thread of the
 * queue's own can make those calls while the stack's loop goes on. */
enum sf_xdp_tx {
    SF_XDP_TX_AUTO,    /* the thread in copy mode, inline in zero-copy */
    SF_XDP_TX_THREAD,  /* the thread */
    SF_XDP_TX_INLINE   /* the stack's loop calls sendto() itself */
};

/* TX checksum offload through AF_XDP TX metadata (docs/xdp.md,
 * "Checksum offload"): the stack leaves every TCP checksum partial
 * (SF_OFFLOAD_TX_CSUM) and each TCP frame asks the device to complete
 * it. */
enum sf_xdp_csum {
    SF_XDP_CSUM_AUTO, /* where the kernel and the device can, else not (said) */
    SF_XDP_CSUM_ON,   /* or fail */
    SF_XDP_CSUM_OFF   /* synfin computes every checksum */
};

struct sf_xdp_prog;
struct sf_xdp;

/* What one queue counts, beside its stack's own counters. */
struct sf_xdp_stats {
    uint64_t rx, tx, rx_bytes, tx_bytes;
    uint64_t rx_arp, tx_arp;      /* ARP packets in (about our address), out */
    uint64_t rx_other;            /* frames redirected that were neither IPv4 nor ARP */
    uint64_t tx_full;             /* datagrams dropped: no frame or ring room */
    uint64_t tx_no_neigh;         /* datagrams dropped waiting for ARP */
    uint64_t tx_too_big;          /* datagrams larger than a frame */
    uint64_t tx_not_ipv4;         /* datagrams the link cannot carry (IPv6) */
    uint64_t kicks;               /* sendto() calls that pushed the TX ring */
    uint64_t tx_dropped;          /* frames the kernel took off the TX ring
                                   * and the driver dropped (sendto's EBUSY) */
    uint64_t neigh_merged;        /* next hops learnt from another queue's ARP */
    /* The kernel's own counts for the socket (XDP_STATISTICS), read by
     * sf_xdp_stats: frames it dropped because the RX ring was full, or
     * for other reasons (no fill ring entry), and empty fill ring hits. */
    uint64_t k_rx_dropped, k_rx_ring_full, k_fill_empty;
    uint64_t tx_thread;           /* 1: the TX thread pushes the ring */
    uint64_t tx_thread_sends;     /* sendto() calls the TX thread made */
    /* Steering between queues (sf_xdp_prog_steer): frames of a port
     * another queue owns handed to it, frames handed to us by the
     * others, and frames dropped because the ring to the owner was full. */
    uint64_t handoff_out, handoff_in, handoff_full;
    uint64_t rx_frames;           /* frames taken off the queue's RX ring (a
                                   * chain of descriptors, multi-buffer: one) */
    /* TX checksum offload (sf_xdp_csum): 1 when on, and the TCP frames
     * sent with their checksum left to the device (TX metadata). */
    uint64_t tx_csum_offload, tx_csum_offloaded;
    /* Data segments copied from the stack's pieces straight into their
     * frames (sf_xdp_output_gather), not made one buffer first. */
    uint64_t tx_gathered;
    /* Multi-buffer (above SF_XDP_MAX_MTU): 1 when the socket is bound
     * with XDP_USE_SG; frames that came in chained over several UMEM
     * frames (XDP_PKT_CONTD), datagrams sent so; chains dropped because
     * longer than the MTU allows or with a descriptor outside its frame. */
    uint64_t sg, rx_sg, tx_sg, rx_sg_bad;
    /* Of rx_sg, the chains whose frames lay end to end in the UMEM (copy
     * mode: the fill ring hands out slots that tile it, docs/xdp.md
     * "Jumbo frames") and went to the stack from there, uncopied. */
    uint64_t rx_sg_direct;
    /* Chains an RX batch ended inside of, left on the RX ring whole for
     * the next batch (rx_batch). */
    uint64_t rx_sg_held;
    /* Busy polling (sf_xdp_set_busy_poll): the turns of the loop that
     * looked again at once, where without it the loop would have slept. */
    uint64_t busy_turns;
};

/* Loads the program and attaches it to interface ifname. addr: synfin's
 * IPv4 address (host order). ports NULL: every datagram to addr is
 * synfin's (the kernel does not hold addr, synfin answers ARP for it);
 * else an array of nports TCP ports, only those are synfin's and the
 * kernel, which then holds addr too, keeps ARP and everything else.
 * note gets one line saying which mode was taken and why (a fallback
 * from native to generic is said there). Returns 0, or -1 with a
 * one-line error in err. */
int sf_xdp_prog_open(struct sf_xdp_prog **pp, const char *ifname,
                     uint32_t addr, const uint16_t *ports, int nports,
                     enum sf_xdp_mode mode, char *note, size_t notelen,
                     char *err, size_t errlen);
/* The same for the active opens of `synfin connect --xdp` (docs/xdp.md,
 * "Active opens"): synfin owns addr and answers ARP for it, but of the
 * datagrams to it only TCP to a local port in lo..hi (the ports synfin
 * opens connections from) is synfin's; everything else goes on to the
 * kernel. */
int sf_xdp_prog_open_active(struct sf_xdp_prog **pp, const char *ifname,
                            uint32_t addr, uint16_t lo, uint16_t hi,
                            enum sf_xdp_mode mode, char *note, size_t notelen,
                            char *err, size_t errlen);
/* Which of n queues owns local port `port` when the queues steer by port
 * (sf_xdp_prog_steer): the port's remainder modulo n. A connection a
 * queue's stack opens takes a local port that queue owns. */
static inline unsigned sf_xdp_port_queue(uint16_t port, unsigned n)
{
    return n > 1 ? port % n : 0;
}
/* Steering between the first n queues by port (n >= 2; before any
 * sf_xdp_open): where the NIC's flow hash cannot be known (a veth: the
 * sender picks the queue; a NIC whose RSS key is not known), a TCP
 * segment that arrives on queue j for a local port queue k owns is copied
 * by j's loop into a ring to k (one producer, one consumer) and k's loop
 * woken: every segment of a connection reaches the stack that opened it,
 * whatever queue it came in on (xdp.handoff_* counts them). Returns 0, or
 * -1 with a one-line error. */
int sf_xdp_prog_steer(struct sf_xdp_prog *p, unsigned n, char *err, size_t errlen);
/* "native" or "generic". */
const char *sf_xdp_prog_mode(const struct sf_xdp_prog *p);
/* The interface's MTU and number of RX queues. */
int sf_xdp_prog_mtu(const struct sf_xdp_prog *p);
unsigned sf_xdp_prog_queues(const struct sf_xdp_prog *p);
/* Frames of synfin's flows that arrived on a queue without a socket and
 * went to the kernel (the program's count, summed over CPUs). */
uint64_t sf_xdp_prog_no_socket(const struct sf_xdp_prog *p);
/* Detaches the program (other programs on the interface stay). */
void sf_xdp_prog_close(struct sf_xdp_prog *p);

/* Opens queue `queue` of p's interface: a UMEM, an AF_XDP socket bound
 * to it (zero-copy where the driver allows unless force_copy, else copy
 * mode), its place in the program's socket map. csum: the TX checksum
 * offload (sf_xdp_csum says whether it is on, sf_xdp_csum_why why not;
 * SF_XDP_CSUM_ON where it cannot be is an error). Returns 0, or -1 with a
 * one-line error in err. */
int sf_xdp_open(struct sf_xdp **qp, struct sf_xdp_prog *p, unsigned queue,
                bool force_copy, enum sf_xdp_csum csum, char *err, size_t errlen);
bool sf_xdp_zerocopy(const struct sf_xdp *q);
/* Whether q's TCP frames leave their checksums to the device: the kernel
 * took the UMEM's TX metadata (Linux 6.11 or later), the socket is in copy
 * mode (the kernel's device path honours the metadata: a CHECKSUM_PARTIAL
 * skb) and the device completes checksums (tx-checksumming). */
bool sf_xdp_csum(const struct sf_xdp *q);
/* Why the offload is off though asked (auto), in words; NULL if on or
 * --xdp-csum off. */
const char *sf_xdp_csum_why(const struct sf_xdp *q);
/* Every datagram the stack sends and gets through q, to fn (a capture):
 * a TCP checksum left to the device is completed in a copy for it. */
void sf_xdp_set_tap(struct sf_xdp *q, sf_tun_tap_fn fn, void *ctx);
/* Who pushes q's TX ring (default SF_XDP_TX_AUTO); before sf_xdp_run. */
void sf_xdp_set_tx(struct sf_xdp *q, enum sf_xdp_tx mode);
/* Busy polling: after a turn of sf_xdp_run that moved frames in or out,
 * the loop goes on looking at the rings without sleeping for up to ns (0,
 * the default: it sleeps as soon as they are empty); before sf_xdp_run.
 * A frame that comes while the loop looks is taken at once, not after the
 * wakeup of a thread that slept (on a VM, of a core that halted). */
void sf_xdp_set_busy_poll(struct sf_xdp *q, sf_time_t ns);
/* Whether sf_xdp_run pushes the TX ring from a thread of its own. */
bool sf_xdp_tx_thread(const struct sf_xdp *q);
unsigned sf_xdp_queue(const struct sf_xdp *q);
/* What the kernel dropped on this queue for want of room (XDP_STATISTICS
 * rx_dropped + rx_ring_full), read without touching q's counters: safe
 * from another thread than the queue's (mq.c's watch). */
uint64_t sf_xdp_kernel_drops(const struct sf_xdp *q);
/* The stack this queue drives (cfg.output = sf_xdp_output,
 * cfg.output_ctx = q); with the checksum offload on (sf_xdp_csum), the
 * stack's SF_OFFLOAD_TX_CSUM is set. */
void sf_xdp_set_stack(struct sf_xdp *q, struct sf_stack *st);
void sf_xdp_output(void *ctx, const uint8_t *dgram, size_t len);
/* cfg.output_gather beside it (optional): a data segment copied once,
 * from the pieces (the stack's send ring) straight into its UMEM frame. */
void sf_xdp_output_gather(void *ctx, const struct sf_piece *v, size_t n);
/* The queue's counters, the kernel's (k_*) read now. */
const struct sf_xdp_stats *sf_xdp_stats(struct sf_xdp *q);
/* Runs the queue's loop until *stop: frames in, the stack's timers, the
 * application's hooks, frames out; with the TX thread (sf_xdp_tx_thread)
 * it starts that thread and ends it before it returns (the thread may run
 * on any core: it pushes frames, it holds no state of the stack). Returns
 * 0, or -1 when the queue
 * stopped (the interface went away, the socket failed), with a one-line
 * reason in err. */
int sf_xdp_run(struct sf_xdp *q, const struct sf_tun_hooks *h,
               volatile int *stop, char *err, size_t errlen);
/* Leaves the socket map, closes the socket, frees the UMEM. */
void sf_xdp_close(struct sf_xdp *q);

#endif
