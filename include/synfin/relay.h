/* synfin relay: a user-space netem. Joins two Linux TUN devices and
 * forwards every IP datagram read from one to the other through the link
 * kit's impairments (the same model, code and PRNG as the simulator's
 * links: delay, jitter, bandwidth behind a tail-drop FIFO, loss,
 * duplication, reordering, corruption), plus CE marking above a queue
 * threshold. Each side may live in its own network namespace: the relay
 * enters it around the device's creation, so the device (and its
 * configuration) belong to that namespace while the relay reads and writes
 * it from anywhere.
 *
 * Direction 0 is A -> B (read from device A, written to device B),
 * direction 1 is B -> A.
 *
 * The forwarding core (sf_relay_core_*) is pure: no clock, no I/O; the
 * driver (sf_relay_open / sf_relay_run) reads CLOCK_MONOTONIC and the
 * devices. Linux only; needs CAP_NET_ADMIN (and CAP_SYS_ADMIN to enter a
 * namespace).
 */
#ifndef SYNFIN_RELAY_H
#define SYNFIN_RELAY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/link.h"
#include "synfin/synfin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The impairments of one direction are a struct sf_link_cfg
 * (synfin/link.h), the simulator's link description. They are read for
 * every datagram, so they may be changed while the relay runs. A datagram
 * dropped by loss, by the MTU or because the direction is down counts as
 * `lost`. */

/* What one direction saw. */
struct sf_relay_dir_stats {
    uint64_t rx, rx_bytes;   /* datagrams read from the source device */
    uint64_t tx, tx_bytes;   /* written to the destination device */
    uint64_t lost;           /* dropped by loss (or mtu, down) */
    uint64_t queue_drops;    /* tail drops: the bottleneck queue was full */
    uint64_t held_drops;     /* dropped: the relay's memory limit was reached */
    uint64_t dup, reordered, corrupted;
    uint64_t ce_marked;      /* ECT datagrams marked CE */
    uint64_t runts;          /* reads too short to be an IP datagram */
    uint64_t tx_errors;      /* writes the device refused */
    uint64_t held_max;       /* most datagrams held back at once */
};

/* ------------------------------------------------ the forwarding core */

struct sf_relay_core;

/* A core with PRNG seed `seed` (xoshiro256**, as synfin sim's), holding
 * at most max_held bytes of datagrams in flight (0: 64 MiB). NULL when
 * out of memory. */
struct sf_relay_core *sf_relay_core_new(uint64_t seed, size_t max_held);
void sf_relay_core_free(struct sf_relay_core *c);
/* The impairments of direction d (0 or 1), to set or change. */
struct sf_link_cfg *sf_relay_core_dir(struct sf_relay_core *c, int d);
const struct sf_relay_dir_stats *sf_relay_core_stats(const struct sf_relay_core *c,
                                                     int d);
/* Takes one datagram read at now for direction d: decides its fate and
 * holds the copies that arrive (none, one or two) until they are due. */
void sf_relay_core_input(struct sf_relay_core *c, int d, sf_time_t now,
                         const uint8_t *dgram, size_t len);
/* When the next held datagram is due (SF_TIME_NEVER: none held). */
sf_time_t sf_relay_core_next(const struct sf_relay_core *c);
/* Hands out the next datagram due at or before now, in due order (ties:
 * in the order they were held): copies it into buf (cap bytes; a longer
 * one is cut) and returns its length and direction; 0 when none is due. */
size_t sf_relay_core_pop(struct sf_relay_core *c, sf_time_t now, int *d,
                         uint8_t *buf, size_t cap);
/* Counts a write the device refused (for the driver). */
void sf_relay_core_tx_error(struct sf_relay_core *c, int d);

/* Marks an IPv4 or IPv6 datagram CE if it is ECT (fixing the IPv4
 * header checksum). Returns true if it marked it. */
bool sf_relay_mark_ce(uint8_t *dgram, size_t len);

/* ------------------------------------------------------- the driver */

struct sf_relay_cfg {
    const char *tun[2];   /* device names (A, B) */
    /* Namespaces to create each device in: a name under /run/netns (as
     * `ip netns` makes), or a path containing '/' (/proc/PID/ns/net).
     * NULL: the relay's own. */
    const char *netns[2];
    /* Optional: address/prefix of the kernel's side of each device
     * (host order; 0: leave it to the caller). The device is brought up
     * either way, with mtu (0: 1500). */
    uint32_t addr[2];
    int prefix[2];
    int mtu;
    struct sf_link_cfg dir[2]; /* [0]: A -> B, [1]: B -> A */
    uint64_t seed;
    size_t max_held;      /* bytes in flight at most (0: 64 MiB) */
};

struct sf_relay {
    int fd[2];                  /* the devices; -1 when closed */
    char name[2][16];
    struct sf_relay_core *core;
    int stop;                   /* set (by a hook) to leave sf_relay_run */
};

/* Creates both devices (IFF_TUN | IFF_NO_PI, in their namespaces),
 * configures and brings them up. Returns 0, or -1 with a one-line reason
 * in err (everything created is closed again). */
int sf_relay_open(struct sf_relay *r, const struct sf_relay_cfg *cfg,
                  char *err, size_t errlen);
/* Closes the devices (they vanish with their last descriptor) and frees
 * what is held. Safe after a failed open, and twice. */
void sf_relay_close(struct sf_relay *r);

/* The caller's side of the loop (signals, a control socket). */
struct sf_relay_hooks {
    void *ctx;
    /* Adds descriptors (at most max); returns how many. */
    int (*pollfds)(void *ctx, struct pollfd *fds, int max);
    /* Called after every wake-up with the entries it added, revents
     * filled in; may set r->stop. */
    void (*service)(void *ctx, struct sf_relay *r, struct pollfd *fds, int n);
};

/* Forwards until r->stop is set (h may be NULL). Returns 0, or -1 if a
 * device failed (err says why). */
int sf_relay_run(struct sf_relay *r, const struct sf_relay_hooks *h,
                 char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
