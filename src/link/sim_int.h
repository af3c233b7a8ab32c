/* Internals of the simulated network, split so that each piece can be unit
 * tested alone: the PRNG (sim_rng.c), the event heap (sim_heap.c), the
 * link model (sim_link.c), and the integer map (sim_heap.c). sim.c joins
 * them to the stacks. */
#ifndef SF_LINK_SIM_INT_H
#define SF_LINK_SIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/sim.h"

/* ------------------------------------------------------------ PRNG */

/* xoshiro256** (Blackman and Vigna), seeded through splitmix64 so that any
 * 64-bit seed, 0 included, gives a good state. */
struct sim_rng {
    uint64_t s[4];
};
uint64_t sim_splitmix64(uint64_t *x);
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n); n 0 gives 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* True with probability p. Draws nothing when p <= 0 or p >= 1, so an
 * impairment that is off does not shift the stream of the others. */
bool sim_rng_chance(struct sim_rng *r, double p);

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
    struct sf_sim_link_cfg cfg;
    sf_time_t tx_free;     /* when the transmitter finishes its queue */
    sf_time_t last_arrive; /* latest in-order arrival: keeps the FIFO */
};

/* What the link does with one datagram: up to two copies. */
struct sim_fate {
    enum sf_sim_drop drop; /* NONE: ncopies copies arrive */
    int ncopies;
    sf_time_t arrive[2];
    unsigned flags[2];
    size_t flip_bit; /* copy 0 has this bit flipped if SF_SIM_F_CORRUPTED */
};

/* Runs one datagram of len bytes, sent at now, through the link: MTU,
 * queue, serialization, loss, corruption, duplication, reordering and
 * jitter, in that order. extra holds it back beyond the FIFO. */
void sim_link_send(struct sim_link *l, struct sim_rng *r, sf_time_t now,
                   size_t len, sf_time_t extra, struct sim_fate *f);

#endif
