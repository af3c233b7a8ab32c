/* One direction of an impaired link: the description the simulator's
 * links (synfin/sim.h: sf_sim_cfg.link, sf_sim_link_set), the relay's
 * directions (synfin/relay.h: sf_relay_cfg.dir, sf_relay_core_dir) and the
 * link kit's model (src/link/impair.c, which decides every datagram's
 * fate from it) all use. Every field's zero is "off"; the model applies
 * them in this order: down, MTU, queue, serialization, loss, delay,
 * jitter, corruption, duplication, reordering. */
#ifndef SYNFIN_LINK_H
#define SYNFIN_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "synfin/synfin.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sf_link_cfg {
    sf_time_t delay;      /* one-way propagation delay */
    sf_time_t jitter;     /* uniform extra delay in [0, jitter]; FIFO kept */
    uint64_t bandwidth;   /* bits per second; 0: infinitely fast */
    uint32_t queue_bytes; /* FIFO limit before tail drop; 0: unlimited */
    uint32_t mtu;         /* larger datagrams are dropped; 0: no limit */
    double loss;          /* probability a datagram is lost, 0..1 */
    double dup;           /* probability it is delivered twice */
    double reorder;       /* probability it is held back past later ones */
    double corrupt;       /* probability one bit of it is flipped */
    bool down;            /* link down: everything is dropped */
    /* RFC 3168 5 CE marking: an ECN-capable datagram (ECT(0) or ECT(1))
     * that finds more than this many bytes queued ahead of it (behind
     * `bandwidth`) arrives marked CE rather than queued unmarked (a step
     * threshold, as the simplest AQM of RFC 3168 7 would do in place of
     * an early drop). Not-ECT datagrams are only ever tail-dropped at
     * queue_bytes. 0: off. Needs a bandwidth (else nothing queues). */
    uint32_t ce_threshold;
};

/* Checks a link description: 0, or SF_EINVAL for a probability outside
 * 0..1 (NaN included). */
int sf_link_cfg_check(const struct sf_link_cfg *cfg);

#ifdef __cplusplus
}
#endif
#endif
