/* Congestion control (RFC 5681) with NewReno fast recovery (RFC 6582).
 *
 * The loss detection and recovery machinery (duplicate ACKs, fast
 * retransmit, partial ACKs, the loss window after an RTO) is common; what
 * an algorithm changes is how the window grows and how far it falls, so
 * that is all struct tcp_cc_ops holds: CUBIC and others plug in there. */
#ifndef SF_TCP_CC_H
#define SF_TCP_CC_H

#include "tcp/tcp_int.h"

struct tcp_cc_ops {
    const char *name;
    /* growth on an ACK of `acked` new bytes outside recovery */
    void (*on_ack)(struct sf_conn *c, uint32_t acked);
    /* the new ssthresh after a loss */
    uint32_t (*ssthresh)(const struct sf_conn *c);
};

extern const struct tcp_cc_ops tcp_cc_newreno;

/* Bytes sent and not yet acknowledged, as the sender counts them. */
static inline uint32_t tcp_flight(const struct sf_conn *c)
{
    return c->snd_nxt - c->snd_una;
}

void tcp_cc_init(struct tcp_ctx *ctx, struct sf_conn *c);
/* SND.UNA moved forward by acked bytes (already applied). */
void tcp_cc_on_newack(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t acked);
/* A duplicate ACK in the sense of RFC 5681 section 2. */
void tcp_cc_on_dupack(struct tcp_ctx *ctx, struct sf_conn *c);
/* The retransmission timer expired (RFC 5681 3.1, equation 4). */
void tcp_cc_on_rto(struct tcp_ctx *ctx, struct sf_conn *c);
/* A loss detected by SACK recovery (RFC 6675 5 (4.2)): the algorithm's
 * new ssthresh for this congestion event. */
uint32_t tcp_cc_loss_ssthresh(struct tcp_ctx *ctx, struct sf_conn *c);

#endif
