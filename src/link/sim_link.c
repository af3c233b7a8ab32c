/* The simulator's links: each direction of each pair of hosts runs its
 * datagrams through the link kit's impairments (impair.c), with the sim's
 * one PRNG. This file only translates between the sim's public types
 * (sf_link_cfg, SF_SIM_DROP_*, SF_SIM_F_*) and the kit's. */
#include "link/sim_int.h"

_Static_assert((int)IMPAIR_LOSS == (int)SF_SIM_DROP_LOSS &&
                   (int)IMPAIR_MTU == (int)SF_SIM_DROP_MTU &&
                   (int)IMPAIR_QUEUE == (int)SF_SIM_DROP_QUEUE &&
                   (int)IMPAIR_DOWN == (int)SF_SIM_DROP_DOWN,
               "impair_drop follows sf_sim_drop");
_Static_assert(IMPAIR_F_DUP == SF_SIM_F_DUP &&
                   IMPAIR_F_REORDERED == SF_SIM_F_REORDERED &&
                   IMPAIR_F_CORRUPTED == SF_SIM_F_CORRUPTED &&
                   IMPAIR_F_CE == SF_SIM_F_CE,
               "impair flags are the sim's");

void sim_link_send(struct sim_link *l, struct sim_rng *r, sf_time_t now,
                   size_t len, sf_time_t extra, struct sim_fate *f)
{
    sim_link_send_ecn(l, r, now, len, extra, 0, f);
}

void sim_link_send_ecn(struct sim_link *l, struct sim_rng *r, sf_time_t now,
                       size_t len, sf_time_t extra, uint8_t ecn,
                       struct sim_fate *f)
{
    struct impair_fate g = {.drop = IMPAIR_PASS};
    impair_decide_ecn(&l->cfg, &l->q, &r->r, now, len, extra, ecn, &g);
    f->drop = (enum sf_sim_drop)g.drop;
    f->ncopies = g.ncopies;
    for (int i = 0; i < 2; i++) {
        f->arrive[i] = g.arrive[i];
        f->flags[i] = g.flags[i];
    }
    f->flip_bit = g.flip_bit;
}
