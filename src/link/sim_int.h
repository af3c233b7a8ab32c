/* Internals of the simulated network, split so that each piece can be unit
 * tested alone: the PRNG and the link model (the link kit's impair.c,
 * seen through sim_link.c), the event heap and the integer map
 * (sim_heap.c). sim.c joins them to the stacks. */
#ifndef SF_LINK_SIM_INT_H
#define SF_LINK_SIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link/impair.h"
#include "synfin/sim.h"

/* ------------------------------------------------------------ PRNG */

/* The sim's one PRNG is the link kit's xoshiro256** (impair.h), under the
 * sim's names. */
struct sim_rng {
    struct impair_rng r;
};
static inline uint64_t sim_splitmix64(uint64_t *x)
{
    return impair_splitmix64(x);
}
static inline void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    impair_rng_seed(&r->r, seed);
}
static inline uint64_t sim_rng_next(struct sim_rng *r)
{
    return impair_rng_next(&r->r);
}
/* Uniform in [0, n); n 0 gives 0. */
static inline uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    return impair_rng_below(&r->r, n);
}
/* True with probability p. Draws nothing when p <= 0 or p >= 1, so an
 * impairment that is off does not shift the stream of the others. */
static inline bool sim_rng_chance(struct sim_rng *r, double p)
{
    return impair_rng_chance(&r->r, p);
}

/* ------------------------------------------------------- event heap */

enum sim_ev_kind { SIM_EV_DELIVER, SIM_EV_TIMER, SIM_EV_CALL };

struct sim_ev {
    sf_time_t time;
    uint64_t seq; /* push order: ties at one time run first-in first-out */
    enum sim_ev_kind kind;
    int host;
    unsigned flags;  /* DELIVER: SF_SIM_F_* */
    int from;        /* DELIVER: sending host */
    uint64_t gen;    /* TIMER: the host's timer generation when pushed */
    uint8_t *buf;    /* DELIVER: owned datagram */
    size_t len;
    void (*fn)(void *ctx, struct sf_sim *sim, int host); /* CALL */
    void *ctx;
};

/* A binary min-heap on (time, seq): O(log n) push and pop. */
struct sim_heap {
    struct sim_ev *ev;
    size_t n, cap;
    uint64_t next_seq;
};
void sim_heap_init(struct sim_heap *h);
void sim_heap_free(struct sim_heap *h); /* frees owned datagrams too */
/* Stamps ev->seq and inserts a copy; returns 0 or SF_ENOMEM. */
int sim_heap_push(struct sim_heap *h, struct sim_ev *ev);
/* Removes the earliest event into *out; false when empty. */
bool sim_heap_pop(struct sim_heap *h, struct sim_ev *out);
const struct sim_ev *sim_heap_peek(const struct sim_heap *h);

/* ------------------------------------------------- integer hash map */

/* Open addressing, linear probing, u64 key -> int value (>= 0). */
struct sim_map {
    uint64_t *keys;
    int *vals; /* -1: empty */
    size_t cap, n;
};
void sim_map_init(struct sim_map *m);
void sim_map_free(struct sim_map *m);
int sim_map_get(const struct sim_map *m, uint64_t key); /* -1 if absent */
int sim_map_put(struct sim_map *m, uint64_t key, int val); /* 0/SF_ENOMEM */

/* ------------------------------------------------------ link model */

struct sim_link {
    struct sf_link_cfg cfg;
    struct impair_queue q; /* its transmitter queue and FIFO */
};

/* What the link does with one datagram: up to two copies. */
struct sim_fate {
    enum sf_sim_drop drop; /* NONE: ncopies copies arrive */
    int ncopies;
    sf_time_t arrive[2];
    unsigned flags[2];
    size_t flip_bit; /* copy 0 has this bit flipped if SF_SIM_F_CORRUPTED */
};

/* Runs one datagram of len bytes, sent at now, through the link
 * (impair_decide: down, MTU, queue, serialization, loss, delay, jitter,
 * corruption, duplication, reordering, in that order). extra holds it back
 * beyond the FIFO. */
void sim_link_send(struct sim_link *l, struct sim_rng *r, sf_time_t now,
                   size_t len, sf_time_t extra, struct sim_fate *f);
/* The same for a datagram whose IP ECN field is ecn (RFC 3168 5): an ECT
 * one above the link's ce_threshold gets SF_SIM_F_CE. */
void sim_link_send_ecn(struct sim_link *l, struct sim_rng *r, sf_time_t now,
                       size_t len, sf_time_t extra, uint8_t ecn,
                       struct sim_fate *f);

#endif
