/* synfin sim: a simulated network of synfin stacks on a virtual clock.
 *
 * Any number of hosts, each an sf_stack with its own IPv4 address (by
 * default 198.18.0.1, .2, ... in the benchmarking range 198.18.0.0/15 of
 * RFC 2544), its own IPv6 address (by default fd00::1, ::2, ... in the
 * unique local range fd00::/8 of RFC 4193), or both, joined by links that
 * carry IPv4 and IPv6 datagrams alike and route them by their destination
 * address. Each direction of each pair of hosts is its
 * own link with delay, jitter, bandwidth (serialization delay behind a FIFO
 * queue), MTU, loss, duplication, reordering, corruption and an up/down
 * switch. Pairs not configured use the sim's default link; a host sending
 * to its own address uses its loopback link (also the default).
 *
 * Determinism: one seeded PRNG in the sim, and an event queue ordered by
 * (time, sequence number), so the same seed and configuration give the
 * same event sequence, byte for byte. Events are datagram deliveries, the
 * stacks' timer deadlines (from sf_stack_advance) and application calls
 * scheduled with sf_sim_at. Every operation is O(log events) or O(1) in
 * the number of hosts.
 *
 * Applications drive sockets with the normal API on sf_sim_host_stack().
 * Inside a sim callback (sf_sim_at, the app hook) the host's stack clock
 * is already at sf_sim_now(); outside one, call sf_sim_touch() first.
 */
#ifndef SYNFIN_SIM_H
#define SYNFIN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/link.h"
#include "synfin/synfin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_SIM_NET_BASE 0xC6120000u /* 198.18.0.0/15 */
/* The IPv6 hosts' default prefix, fd00::/96: host addresses fd00::N with N
 * counting from 1 in the last 32 bits (RFC 4193 unique local). */
#define SF_SIM_NET6_BASE {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/* One direction of a link: struct sf_link_cfg, in synfin/link.h. */

struct sf_sim_cfg {
    uint64_t seed;
    struct sf_link_cfg link; /* every pair not set with sf_sim_link_set */
    /* Template for every host's stack (addr, output, trace, wakeup and
     * seed are filled in by the sim). */
    struct sf_stack_cfg stack;
    /* sf_sim_add_host gives every host an IPv6 address as well (the next
     * free fd00::N), so that hosts are dual-stack. Default false. */
    bool ipv6;
};

/* Why the network (not a stack) dropped a datagram. */
#define SF_SIM_DROP_LIST(X)                                                  \
    X(LOSS, "lost on the link")                                              \
    X(MTU, "larger than the link MTU")                                       \
    X(QUEUE, "link queue full")                                              \
    X(DOWN, "link down")                                                     \
    X(FILTER, "dropped by the filter")                                       \
    X(NO_ROUTE, "no host has that address")                                  \
    X(SHORT, "not an IPv4 or IPv6 datagram")

enum sf_sim_drop {
    SF_SIM_DROP_NONE = 0,
#define SF_X_(name, text) SF_SIM_DROP_##name,
    SF_SIM_DROP_LIST(SF_X_)
#undef SF_X_
    SF_SIM_NDROPS
};
const char *sf_sim_drop_text(enum sf_sim_drop d);

enum sf_sim_event_kind {
    SF_SIM_EV_STACK, /* a host's stack traced something: see .trace */
    SF_SIM_EV_SEND,  /* a datagram left a host (or was injected): its fate */
    SF_SIM_EV_ARRIVE /* a datagram is about to be handed to a host */
};

/* Flags of a SEND or ARRIVE event. */
#define SF_SIM_F_DUP 0x01       /* the second copy of a duplicated datagram */
#define SF_SIM_F_REORDERED 0x02 /* held back past later datagrams */
#define SF_SIM_F_CORRUPTED 0x04 /* a bit was flipped (dgram is the original) */
#define SF_SIM_F_INJECTED 0x08  /* sent with sf_sim_inject, not by the stack */
#define SF_SIM_F_CE 0x10        /* marked CE by the link (dgram is the original) */

struct sf_sim_event {
    enum sf_sim_event_kind kind;
    sf_time_t now;
    int host;                            /* the host it happened at */
    const struct sf_trace_event *trace;  /* STACK */
    int peer;                            /* SEND/ARRIVE: the other host or -1 */
    const uint8_t *dgram;                /* SEND/ARRIVE */
    size_t len;
    sf_time_t arrive;                    /* SEND: delivery time if not dropped */
    enum sf_sim_drop drop;               /* SEND: why it will not arrive */
    unsigned flags;                      /* SF_SIM_F_* */
};

struct sf_sim_stats {
    uint64_t events;     /* events processed */
    uint64_t sent;       /* datagrams handed to the network */
    uint64_t delivered;  /* datagrams handed to a stack */
    uint64_t drops[SF_SIM_NDROPS];
    uint64_t dups, reordered, corrupted;
    uint64_t bytes_sent;
    uint64_t ce_marked; /* copies marked CE by a link (ce_threshold) */
};

struct sf_sim;

/* Defaults: seed 1, 10 ms delay, no jitter, infinite bandwidth, MTU 1500,
 * no impairment; the stack template from sf_stack_cfg_default(). */
void sf_sim_cfg_default(struct sf_sim_cfg *cfg);
/* Returns 0, SF_EINVAL (bad rate or cfg) or SF_ENOMEM. */
int sf_sim_create(const struct sf_sim_cfg *cfg, struct sf_sim **out);
void sf_sim_free(struct sf_sim *sim);

/* Adds a host with address ip (0: the next free one of 198.18.0.0/15) and
 * the stack configuration cfg (NULL: the sim's template); with cfg.ipv6 of
 * the sim, also the next free IPv6 address. Returns the host number (0,
 * 1, ...) or SF_EADDRINUSE / SF_EINVAL / SF_ENOMEM. */
int sf_sim_add_host(struct sf_sim *sim, uint32_t ip,
                    const struct sf_stack_cfg *cfg);

/* Address families of a host, for sf_sim_add_host_fam. */
#define SF_SIM_HOST_V4 1u
#define SF_SIM_HOST_V6 2u
/* Adds a host with the families in fams (one or both): an IPv4 address ip
 * (0: the next free one) if SF_SIM_HOST_V4, an IPv6 address ip6 (NULL or
 * ::, the next free fd00::N) if SF_SIM_HOST_V6. An IPv6-only host has
 * sf_sim_host_addr 0. Same returns as sf_sim_add_host (SF_EINVAL for no
 * family, or an IPv6 address that is multicast, loopback or
 * IPv4-mapped). */
int sf_sim_add_host_fam(struct sf_sim *sim, unsigned fams, uint32_t ip,
                        const uint8_t *ip6, const struct sf_stack_cfg *cfg);
size_t sf_sim_nhosts(const struct sf_sim *sim);
struct sf_stack *sf_sim_host_stack(struct sf_sim *sim, int host);
/* The host's IPv4 address, 0 if it has none. */
uint32_t sf_sim_host_addr(const struct sf_sim *sim, int host);
/* Copies the host's IPv6 address into out; false (out untouched) if it
 * has none. */
bool sf_sim_host_addr6(const struct sf_sim *sim, int host, uint8_t out[16]);
/* The host's address of family (SF_AF_INET or SF_AF_INET6) with port; the
 * unspecified address of that family if it has none. */
struct sf_addr sf_sim_host_ip(const struct sf_sim *sim, int host, int family,
                              uint16_t port);
/* The host with address ip, or -1. */
int sf_sim_host_by_addr(const struct sf_sim *sim, uint32_t ip);
int sf_sim_host_by_addr6(const struct sf_sim *sim, const uint8_t ip6[16]);
/* Either family (the port is ignored). */
int sf_sim_host_by_ip(const struct sf_sim *sim, const struct sf_addr *a);

/* Sets or reads the link from host `from` to host `to` (one direction;
 * from == to is the host's loopback). Returns 0 or SF_EINVAL/SF_ENOMEM. */
int sf_sim_link_set(struct sf_sim *sim, int from, int to,
                    const struct sf_link_cfg *cfg);
int sf_sim_link_get(struct sf_sim *sim, int from, int to,
                    struct sf_link_cfg *cfg);

/* Sees every event (stack traces with their host, and every datagram's
 * fate). Called synchronously; must not call back into the sim. */
void sf_sim_set_trace(struct sf_sim *sim,
                      void (*fn)(void *ctx, const struct sf_sim_event *ev),
                      void *ctx);

/* Decides the fate of every datagram before the link's impairments: return
 * false to drop it (SF_SIM_DROP_FILTER), and add to *extra_delay to hold it
 * back (it then bypasses the FIFO, so it may be overtaken). */
typedef bool (*sf_sim_filter_fn)(void *ctx, struct sf_sim *sim, int from,
                                 int to, const uint8_t *dgram, size_t len,
                                 sf_time_t *extra_delay);
void sf_sim_set_filter(struct sf_sim *sim, sf_sim_filter_fn fn, void *ctx);

/* The application hook: called after every event that touched a host
 * (delivery, timer), with that host's clock at now, so the application can
 * poll its sockets and act. */
void sf_sim_set_app(struct sf_sim *sim,
                    void (*fn)(void *ctx, struct sf_sim *sim, int host),
                    void *ctx);

/* Calls fn at time t (>= now) with host's clock moved to t (host -1: no
 * host). Calls at the same time run in the order they were scheduled.
 * Returns 0 or SF_ENOMEM/SF_EINVAL. */
int sf_sim_at(struct sf_sim *sim, sf_time_t t, int host,
              void (*fn)(void *ctx, struct sf_sim *sim, int host), void *ctx);

/* Moves host's stack clock to now and reschedules its timer; call it
 * around socket calls made outside sim callbacks. */
void sf_sim_touch(struct sf_sim *sim, int host);

/* Sends a datagram into the network as if host `from` had sent it, after
 * an extra delay (to stage old duplicates and forged segments). */
int sf_sim_inject(struct sf_sim *sim, int from, const uint8_t *dgram,
                  size_t len, sf_time_t extra_delay);

sf_time_t sf_sim_now(const struct sf_sim *sim);
/* Time of the next pending event, or SF_TIME_NEVER. */
sf_time_t sf_sim_next_time(struct sf_sim *sim);
/* Processes the next event; returns false when there is none. */
bool sf_sim_step(struct sf_sim *sim);
/* Processes every event at or before t, then sets the clock to t. */
void sf_sim_run_until(struct sf_sim *sim, sf_time_t t);
/* Steps while pred() is true, events remain and time stays <= limit.
 * Returns the number of events processed. */
uint64_t sf_sim_run_while(struct sf_sim *sim,
                          bool (*pred)(void *ctx, struct sf_sim *sim),
                          void *ctx, sf_time_t limit);

const struct sf_sim_stats *sf_sim_stats(const struct sf_sim *sim);
/* The sim's PRNG (xoshiro256**), for applications that want randomness
 * that follows the seed. */
uint64_t sf_sim_random(struct sf_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
