/* RFC 5681 slow start, congestion avoidance, fast retransmit; RFC 6582
 * NewReno fast recovery; RFC 6928 initial window. */
#include "tcp/cc.h"

/* RFC 5681 sets no upper bound on cwnd, and on a path where the peer's
 * window (at most 2^30 with RFC 7323 scaling) is the limit it grows with
 * every ACK, without end: a 32-bit cwnd would wrap after ~4 GiB and the
 * connection would crawl from a window of a few bytes. It stops here,
 * far above any window a peer can offer. */
#define TCP_CWND_MAX (1u << 30)

static void cwnd_grow(struct sf_conn *c, uint32_t inc)
{
    c->cwnd = c->cwnd < TCP_CWND_MAX - inc ? c->cwnd + inc : TCP_CWND_MAX;
}

static void newreno_on_ack(struct sf_conn *c, uint32_t acked)
{
    uint32_t mss = c->snd_mss;
    if (c->cwnd < c->ssthresh) {
        /* RFC 5681 3.1 (3): slow start, cwnd += min(N, SMSS) */
        cwnd_grow(c, acked < mss ? acked : mss);
    } else {
        /* (5): congestion avoidance, cwnd += SMSS*SMSS/cwnd per ACK,
         * at least one byte */
        uint32_t inc = (uint32_t)((uint64_t)mss * mss / (c->cwnd ? c->cwnd : 1));
        cwnd_grow(c, inc ? inc : 1);
    }
}

static uint32_t newreno_ssthresh(const struct sf_conn *c)
{
    /* RFC 5681 (4): ssthresh = max(FlightSize / 2, 2*SMSS) */
    uint32_t half = tcp_flight(c) / 2;
    return half > 2u * c->snd_mss ? half : 2u * c->snd_mss;
}

const struct tcp_cc_ops tcp_cc_newreno = {
    .name = "newreno",
    .on_ack = newreno_on_ack,
    .ssthresh = newreno_ssthresh,
};

static const struct tcp_cc_ops *ops(const struct sf_conn *c)
{
    (void)c;
    return &tcp_cc_newreno;
}

void tcp_cc_init(struct tcp_ctx *ctx, struct sf_conn *c)
{
    (void)ctx;
    /* RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)); RFC 5681 3.1: the
     * initial ssthresh "arbitrarily high". */
    uint32_t mss = c->snd_mss;
    uint32_t iw = 2 * mss > 14600 ? 2 * mss : 14600;
    c->cwnd = 10 * mss < iw ? 10 * mss : iw;
    c->ssthresh = UINT32_MAX;
    c->recover = c->iss;
    c->dupacks = 0;
    c->in_recovery = false;
}

void tcp_cc_on_newack(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t acked)
{
    if (!c->in_recovery) {
        c->dupacks = 0;
        ops(c)->on_ack(c, acked);
        /* RFC 6582 3.2 (2) asks whether an ACK "covers more than
         * recover". Once SND.UNA is past recover it stays past, but a
         * fixed recover would read as ahead again 2^31 bytes later and
         * block fast retransmit: keep it just behind SND.UNA. */
        if (seq_gt(c->snd_una, c->recover))
            c->recover = c->snd_una - 1;
        return;
    }
    if (seq_geq(c->snd_una, c->recover)) {
        /* RFC 6582 3.2 (3), full ACK: deflate to
         * min(ssthresh, max(FlightSize, SMSS) + SMSS) and leave recovery */
        uint32_t f = tcp_flight(c);
        uint32_t w = (f > c->snd_mss ? f : c->snd_mss) + c->snd_mss;
        c->cwnd = w < c->ssthresh ? w : c->ssthresh;
        c->in_recovery = false;
        c->dupacks = 0;
        return;
    }
    /* (4) partial ACK: retransmit the first unacknowledged segment,
     * deflate by the amount acked, add back one SMSS if >= SMSS acked */
    tcp_retransmit_front(ctx, c);
    c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
    if (acked >= c->snd_mss)
        c->cwnd += c->snd_mss;
    if (c->cwnd < c->snd_mss)
        c->cwnd = c->snd_mss;
}

void tcp_cc_on_dupack(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->in_recovery) {
        /* RFC 6582 3.2 (3)... (5): each further duplicate ACK inflates the
         * window by one segment that has left the network (bounded: a
         * peer can send any number of them) */
        cwnd_grow(c, c->snd_mss);
        return;
    }
    if (++c->dupacks != 3)
        return;
    /* RFC 6582 3.2 (2): only if the ACK covers more than recover, so that
     * one loss event after an RTO is not answered twice. (recover starts
     * at ISS, behind SND.UNA once our SYN is acknowledged, and is kept
     * behind it in tcp_cc_on_newack.) */
    if (!seq_gt(c->snd_una, c->recover))
        return;
    /* RFC 5681 3.2 (2)-(4): fast retransmit, then fast recovery */
    c->ssthresh = ops(c)->ssthresh(c);
    c->recover = c->snd_max;
    c->in_recovery = true;
    ctx->ctr.c[SF_CTR_FAST_RETRANSMITS]++;
    tcp_retransmit_front(ctx, c);
    c->cwnd = c->ssthresh + 3u * c->snd_mss;
}

void tcp_cc_on_rto(struct tcp_ctx *ctx, struct sf_conn *c)
{
    (void)ctx;
    /* RFC 5681 (4) and 3.1: after an RTO, ssthresh from the flight size
     * and the loss window of one segment; RFC 6582 4.1: recover = the
     * highest sequence number sent. Go-back-N follows from SND.NXT. */
    if (c->nrexmt <= 1)
        c->ssthresh = ops(c)->ssthresh(c);
    c->cwnd = c->snd_mss;
    c->recover = c->snd_max;
    c->in_recovery = false;
    c->dupacks = 0;
}

uint32_t tcp_cc_loss_ssthresh(struct tcp_ctx *ctx, struct sf_conn *c)
{
    (void)ctx;
    return ops(c)->ssthresh(c);
}
