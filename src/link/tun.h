/* synfin on a Linux TUN device: the device, a pcap tap, impairments applied
 * on synfin's side of the wire (this machine has no netem), and the event
 * loop that drives one sf_stack from the device and the monotonic clock.
 *
 * The core never reads a clock: this driver does (CLOCK_MONOTONIC, in ns)
 * and hands the time in with every sf_stack_input / sf_stack_advance. */
#ifndef SF_LINK_TUN_H
#define SF_LINK_TUN_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "synfin/synfin.h"

/* Impairments of one direction (probabilities 0..1, delay in ns). */
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
};

struct sf_tun_pkt; /* a datagram held back by delay or reordering */
struct sf_tun_gso; /* --offload: outgoing segments being merged */

struct sf_tun {
    int fd;
    char name[16];
    struct sf_stack *st;
    struct sf_tun_impair in, out; /* in: kernel -> synfin; out: synfin -> kernel */
    uint64_t rng;                 /* xorshift state for the impairments */
    struct sf_tun_pkt *held;      /* pending datagrams, sorted by due time */
    FILE *pcap;
    sf_time_t pcap_base_mono, pcap_base_real;
    struct sf_tun_stats stats;
    int stop; /* set by a hook to leave the loop */
    bool offload;             /* IFF_VNET_HDR: every read/write has one */
    struct sf_tun_gso *gso;   /* pending merge (offload only) */
};

/* Opens /dev/net/tun and creates (or attaches to) interface `name` with
 * IFF_TUN | IFF_NO_PI. With offload, also IFF_VNET_HDR (a 10-byte
 * virtio_net_hdr before every datagram) and TUN_F_CSUM | TUN_F_TSO4: the
 * kernel may then hand over TCP super-packets up to 64 KB with the checksum
 * left to us, and takes ours (see sf_tun_flush). Returns 0, or -1 with a
 * one-line advice in err. */
int sf_tun_open(struct sf_tun *t, const char *name, bool offload, char *err,
                size_t errlen);
/* Gives the kernel's side of the interface ip/prefix (host order), sets the
 * MTU and brings it up. Returns 0, or -1 with advice in err. */
int sf_tun_config(struct sf_tun *t, uint32_t ip, int prefix, int mtu,
                  char *err, size_t errlen);
/* Starts writing every datagram read or written to a pcap file
 * (LINKTYPE_RAW). Returns 0 or -1 with err. */
int sf_tun_pcap_open(struct sf_tun *t, const char *path, char *err,
                     size_t errlen);
void sf_tun_close(struct sf_tun *t);

/* The stack's output callback (cfg.output, ctx = the sf_tun). */
void sf_tun_output(void *ctx, const uint8_t *dgram, size_t len);

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

/* Runs until t->stop is set. Returns 0, or -1 if the device failed. */
int sf_tun_run(struct sf_tun *t, const struct sf_tun_hooks *h);

#endif
