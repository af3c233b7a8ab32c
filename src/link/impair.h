/* The link kit's impairments: what one direction of an impaired wire does
 * to one datagram (MTU, down, bandwidth queue with tail drop, loss, delay,
 * jitter, corruption, duplication, reordering), decided by one function
 * from one seeded PRNG. Both drivers use it: the simulator (sim_link.c,
 * for every link of the virtual network) and the TUN driver (tun.c, on
 * synfin's side of the device). Pure: no clock, no I/O, no allocation;
 * the PRNG and the queue state live in the caller's structs. */
#ifndef SF_LINK_IMPAIR_H
#define SF_LINK_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/link.h"
#include "synfin/synfin.h"

/* ------------------------------------------------------------ PRNG */

/* xoshiro256** (Blackman and Vigna), seeded through splitmix64 so that any
 * 64-bit seed, 0 included, gives a good state. Small, fast, and its whole
 * state lives in the caller's struct, so two users never share a stream. */
struct impair_rng {
    uint64_t s[4];
};
uint64_t impair_splitmix64(uint64_t *x);
void impair_rng_seed(struct impair_rng *r, uint64_t seed);
uint64_t impair_rng_next(struct impair_rng *r);
/* Uniform in [0, n); n 0 gives 0. */
uint64_t impair_rng_below(struct impair_rng *r, uint64_t n);
/* True with probability p. Draws nothing when p <= 0 or p >= 1, so an
 * impairment that is off does not shift the stream of the others. */
bool impair_rng_chance(struct impair_rng *r, double p);

/* ----------------------------------------------------- impairments */

/* One direction of a wire is the public struct sf_link_cfg
 * (synfin/link.h). */

/* The state of one direction: its transmitter queue and FIFO. Zeroed at
 * the start. */
struct impair_queue {
    sf_time_t tx_free;     /* when the transmitter finishes its queue */
    sf_time_t last_arrive; /* latest in-order arrival: keeps the FIFO */
};

/* Why a datagram does not arrive (same order as SF_SIM_DROP_*). */
enum impair_drop {
    IMPAIR_PASS = 0,
    IMPAIR_LOSS,
    IMPAIR_MTU,
    IMPAIR_QUEUE,
    IMPAIR_DOWN,
};

/* Flags of a copy (same values as SF_SIM_F_*). */
#define IMPAIR_F_DUP 0x01       /* the second copy of a duplicated datagram */
#define IMPAIR_F_REORDERED 0x02 /* held back past later datagrams */
#define IMPAIR_F_CORRUPTED 0x04 /* flip_bit is to be flipped in this copy */
#define IMPAIR_F_CE 0x10        /* the copy is to be marked CE (ce_threshold) */

/* What the wire does with one datagram: up to two copies. */
struct impair_fate {
    enum impair_drop drop; /* PASS: ncopies copies arrive */
    int ncopies;
    sf_time_t arrive[2];
    unsigned flags[2];
    size_t flip_bit; /* copy 0 has this bit flipped if IMPAIR_F_CORRUPTED */
};

/* Runs one datagram of len bytes, sent at now, through the wire c with
 * state q: down, MTU, queue, serialization, loss, delay, jitter,
 * corruption, duplication, reordering, in that order, drawing from r only
 * for the impairments that are on. extra holds it back beyond the FIFO
 * (it may then be overtaken). */
void impair_decide(const struct sf_link_cfg *c, struct impair_queue *q,
                   struct impair_rng *r, sf_time_t now, size_t len,
                   sf_time_t extra, struct impair_fate *f);

/* impair_decide for a datagram whose IP ECN field (RFC 3168 5: the low
 * two bits of the TOS byte) is ecn: with c->ce_threshold set, an ECT datagram
 * above the threshold gets IMPAIR_F_CE on its copies. Draws from r exactly
 * what impair_decide draws: marking costs no randomness, so turning it on
 * changes no other impairment's outcome. impair_decide is this with ecn 0
 * (Not-ECT). */
void impair_decide_ecn(const struct sf_link_cfg *c, struct impair_queue *q,
                       struct impair_rng *r, sf_time_t now, size_t len,
                       sf_time_t extra, uint8_t ecn, struct impair_fate *f);

/* The ECN field of an IPv4 or IPv6 datagram (0 if it is too short to have
 * one). */
uint8_t impair_ecn_of(const uint8_t *d, size_t len);
/* Marks a datagram CE (ECN field 11): IPv4 with its header checksum fixed
 * (RFC 1624 incremental update), or IPv6; does nothing to one too short. */
void impair_mark_ce(uint8_t *d, size_t len);

/* Flips bit `bit` of d (bit 0 is the low bit of d[0]), as a corrupting
 * wire does to the copy marked IMPAIR_F_CORRUPTED. */
void impair_flip(uint8_t *d, size_t bit);

#endif
