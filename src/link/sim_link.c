/* The link model: what one direction of a simulated link does to one
 * datagram. Pure apart from the PRNG and the link's own queue state. */
#include "link/sim_int.h"

/* Time the transmitter needs to put len bytes on the wire. */
static sf_time_t serialization(const struct sf_sim_link_cfg *c, size_t len)
{
    if (c->bandwidth == 0)
        return 0;
    return (sf_time_t)((unsigned __int128)len * 8 * SF_SEC / c->bandwidth);
}

/* Bytes still waiting in the FIFO at now (tail drop beyond queue_bytes). */
static uint64_t backlog(const struct sim_link *l, sf_time_t now)
{
    if (l->cfg.bandwidth == 0 || l->tx_free <= now)
        return 0;
    return (uint64_t)((unsigned __int128)(l->tx_free - now) *
                      l->cfg.bandwidth / 8 / SF_SEC);
}

static enum sf_sim_drop admit(struct sim_link *l, sf_time_t now, size_t len)
{
    const struct sf_sim_link_cfg *c = &l->cfg;
    if (c->down)
        return SF_SIM_DROP_DOWN;
    if (c->mtu && len > c->mtu)
        return SF_SIM_DROP_MTU;
    if (c->queue_bytes && backlog(l, now) + len > c->queue_bytes)
        return SF_SIM_DROP_QUEUE;
    return SF_SIM_DROP_NONE;
}

/* Arrival of an in-order copy: never before the previous in-order one,
 * so jitter alone does not reorder (a FIFO link). */
static sf_time_t fifo_arrival(struct sim_link *l, sf_time_t t)
{
    if (t < l->last_arrive)
        t = l->last_arrive;
    l->last_arrive = t;
    return t;
}

void sim_link_send(struct sim_link *l, struct sim_rng *r, sf_time_t now,
                   size_t len, sf_time_t extra, struct sim_fate *f)
{
    const struct sf_sim_link_cfg *c = &l->cfg;
    f->ncopies = 0;
    f->flags[0] = f->flags[1] = 0;
    f->flip_bit = 0;
    f->drop = admit(l, now, len);
    if (f->drop)
        return;
    /* The datagram occupies the transmitter even if it is then lost. */
    sf_time_t start = l->tx_free > now ? l->tx_free : now;
    l->tx_free = start + serialization(c, len);
    if (sim_rng_chance(r, c->loss)) {
        f->drop = SF_SIM_DROP_LOSS;
        return;
    }
    sf_time_t t = l->tx_free + c->delay;
    if (c->jitter)
        t += sim_rng_below(r, c->jitter + 1);
    if (sim_rng_chance(r, c->corrupt) && len) {
        f->flags[0] |= SF_SIM_F_CORRUPTED;
        f->flip_bit = (size_t)sim_rng_below(r, (uint64_t)len * 8);
    }
    bool dup = sim_rng_chance(r, c->dup);
    bool held = extra > 0;
    if (sim_rng_chance(r, c->reorder)) {
        /* Held back by one to two delays (at least 1 ms): later
         * datagrams overtake it. */
        sf_time_t d = c->delay > SF_MSEC ? c->delay : SF_MSEC;
        t += d + sim_rng_below(r, d + 1);
        f->flags[0] |= SF_SIM_F_REORDERED;
        held = true;
    }
    t += extra;
    f->arrive[0] = held ? t : fifo_arrival(l, t);
    f->ncopies = 1;
    if (dup) {
        /* The copy follows the original at once. */
        f->arrive[1] = f->arrive[0];
        f->flags[1] = SF_SIM_F_DUP;
        f->ncopies = 2;
    }
}
