/* RFC 5681 slow start, congestion avoidance, fast retransmit; RFC 6582
 * NewReno fast recovery; RFC 6928 initial window. The algorithms plug in
 * through struct tcp_cc_ops: NewReno here, CUBIC in cc_cubic.c. */
#include <stdlib.h>
#include <string.h>

#include "tcp/cc.h"

/* RFC 5681 sets no upper bound on cwnd, and on a path where the peer's
 * window (at most 2^30 with RFC 7323 scaling) is the limit it grows with
 * every ACK, without end: a 32-bit cwnd would wrap after ~4 GiB and the
 * connection would crawl from a window of a few bytes. It stops at
 * TCP_CWND_MAX, far above any window a peer can offer. */
void tcp_cwnd_grow(struct sf_conn *c, uint32_t inc)
{
    /* (TCP_CWND_MAX - inc wrapped for inc above the ceiling) */
    c->cwnd = c->cwnd < TCP_CWND_MAX && inc < TCP_CWND_MAX - c->cwnd
                  ? c->cwnd + inc : TCP_CWND_MAX;
}

static void newreno_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                           uint32_t acked, uint32_t rtt_us)
{
    (void)ctx;
    (void)rtt_us;
    uint32_t mss = c->snd_mss;
    if (c->cwnd < c->ssthresh) {
        /* RFC 5681 3.1 (3): slow start, cwnd += min(N, SMSS) */
        tcp_cwnd_grow(c, acked < mss ? acked : mss);
    } else {
        /* (5): congestion avoidance, cwnd += SMSS*SMSS/cwnd per ACK,
         * at least one byte */
        uint32_t inc = (uint32_t)((uint64_t)mss * mss / (c->cwnd ? c->cwnd : 1));
        tcp_cwnd_grow(c, inc ? inc : 1);
    }
}

/* RFC 5681 (4): ssthresh = max(FlightSize / 2, 2*SMSS) */
static uint32_t newreno_ssthresh(const struct sf_conn *c)
{
    uint32_t half = tcp_flight(c) / 2;
    return half > 2u * c->snd_mss ? half : 2u * c->snd_mss;
}

static uint32_t newreno_on_congestion(struct tcp_ctx *ctx, struct sf_conn *c)
{
    (void)ctx;
    return newreno_ssthresh(c);
}

static void newreno_on_rto(struct tcp_ctx *ctx, struct sf_conn *c, bool first)
{
    (void)ctx;
    if (first)
        c->ssthresh = newreno_ssthresh(c);
}

/* NewReno keeps no state of its own: cwnd and ssthresh are all. */
static void newreno_nothing(struct tcp_ctx *ctx, struct sf_conn *c)
{
    (void)ctx;
    (void)c;
}

static void newreno_save(struct tcp_ctx *ctx, struct sf_conn *c,
                         struct tcp_cc_undo *u)
{
    (void)ctx;
    u->cwnd = c->cwnd;
    u->ssthresh = c->ssthresh;
}

/* RFC 3708 / RFC 2883 5 (Linux-style undo): the window and threshold as
 * they were before the reduction, or as they are now where that is
 * more. */
static void newreno_undo(struct tcp_ctx *ctx, struct sf_conn *c,
                         struct tcp_cc_undo *u)
{
    (void)ctx;
    if (c->cwnd < u->cwnd)
        c->cwnd = u->cwnd;
    if (c->ssthresh < u->ssthresh)
        c->ssthresh = u->ssthresh;
}

/* Linux calls it "reno" (its Reno has the NewReno recovery too). */
const struct tcp_cc_ops tcp_cc_newreno = {
    .name = "reno",
    .init = newreno_nothing,
    .on_ack = newreno_on_ack,
    .on_congestion = newreno_on_congestion,
    .on_rto = newreno_on_rto,
    .on_recovery_exit = newreno_nothing,
    .save = newreno_save,
    .undo = newreno_undo,
};

static const struct tcp_cc_ops *const algos[TCP_CC_COUNT] = {
    [TCP_CC_CUBIC] = &tcp_cc_cubic,
    [TCP_CC_RENO] = &tcp_cc_newreno,
};

int tcp_cc_find(const char *name, size_t len)
{
    /* As Linux's TCP_CONGESTION: the name is the bytes given, up to the
     * first NUL. */
    size_t n = 0;
    while (n < len && name[n])
        n++;
    if (n == 7 && !memcmp(name, "newreno", 7))
        return TCP_CC_RENO;
    for (int i = 1; i < TCP_CC_COUNT; i++)
        if (strlen(algos[i]->name) == n && !memcmp(name, algos[i]->name, n))
            return i;
    return -1;
}

const struct tcp_cc_ops *tcp_cc_ops_of(const struct tcp_ctx *ctx,
                                       const struct sf_conn *c)
{
    int a = c->cc_algo;
    if (a == TCP_CC_DEFAULT)
        a = ctx->cfg->cc == SF_CC_RENO ? TCP_CC_RENO : TCP_CC_CUBIC;
    return algos[a];
}

static const struct tcp_cc_ops *ops(const struct tcp_ctx *ctx,
                                    const struct sf_conn *c)
{
    return tcp_cc_ops_of(ctx, c);
}

void tcp_cc_select(struct tcp_ctx *ctx, struct sf_conn *c, int algo)
{
    c->cc_algo = (uint8_t)algo;
    /* Mid-connection the window stays where it is; the new algorithm
     * starts its own state from there (as Linux does), with no RTT
     * samples from before. */
    if (c->syn_acked) {
        tcp_cc_free(c);
        ops(ctx, c)->init(ctx, c);
    }
}

/* No undo can come any more: what the controller saved goes. */
static void undo_discard(struct sf_conn *c)
{
    if (!c->cc_undo)
        return;
    free(c->cc_undo->hs);
    free(c->cc_undo);
    c->cc_undo = NULL;
}

void tcp_cc_free(struct sf_conn *c)
{
    undo_discard(c);
    free(c->hs);
    c->hs = NULL;
    c->hs_on = false;
}

/* RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)). */
uint32_t tcp_cc_iw(uint32_t mss)
{
    uint32_t iw = 2 * mss > 14600 ? 2 * mss : 14600;
    return 10 * mss < iw ? 10 * mss : iw;
}

void tcp_cc_init(struct tcp_ctx *ctx, struct sf_conn *c)
{
    /* RFC 5681 3.1: the initial window (RFC 6928) and the initial
     * ssthresh "arbitrarily high". */
    c->cwnd = tcp_cc_iw(c->snd_mss);
    c->ssthresh = UINT32_MAX;
    c->recover = c->iss;
    c->dupacks = 0;
    c->in_recovery = false;
    tcp_cc_free(c); /* no RTT samples yet */
    ops(ctx, c)->init(ctx, c);
}

/* RTT samples for HyStart++ (RFC 9406 4.2 wants N_RTT_SAMPLE of them per
 * round; the RFC 6298 timing gives one), taken only while it runs
 * (c->hs). Each segment sent for the first time is noted, while a mark is
 * free, with its end and send time; the ACK that covers it gives an RTT
 * sample. RFC 6298 3 (Karn): a segment sent again makes every sample
 * ambiguous: all marks go. */
void tcp_cc_on_send(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                    uint32_t n, bool fresh)
{
    if (!fresh) {
        if (c->hs)
            c->hs->mark_n = 0;
        return;
    }
    if (n == 0)
        return;
    struct tcp_hs *hs = tcp_cc_hs_get(ctx, c);
    if (!hs || hs->mark_n == TCP_CC_NMARK)
        return;
    unsigned i = (hs->mark_head + hs->mark_n++) % TCP_CC_NMARK;
    hs->mark[i].end = seq + n;
    hs->mark[i].sent_us = tcp_now_us(ctx);
}

/* RFC 9438 4.6: "Some implementations of CUBIC currently use cwnd
 * instead of flight_size when calculating a new ssthresh. Implementations
 * that use cwnd MUST use other measures to prevent cwnd from growing when
 * the volume of bytes in flight is smaller than cwnd." (RFC 7661 calls a
 * sender that uses its cwnd "cwnd-limited"; draft-ietf-ccwg-ratelimited-
 * increase 3: "When FlightSize < cwnd ... MUST constrain the growth of
 * cwnd".) The measure over one window of data (from a send until
 * SND.UNA passes what was sent then): the most in flight, and whether
 * cwnd ever held back a full-sized segment. A window that was limited
 * stays so to its end; a new window, a limit, or a new maximum restarts
 * the record. */
void tcp_cc_on_use(struct sf_conn *c, uint32_t inflight, bool full)
{
    bool ended = !seq_lt(c->snd_una, c->cwnd_use_seq);
    if (ended || full || (!c->cwnd_use_full && inflight > c->cwnd_use_max)) {
        c->cwnd_use_full = full;
        c->cwnd_use_max = inflight;
        c->cwnd_use_seq = c->snd_nxt;
    }
}

/* May cwnd grow on this ACK? Only if the sender used it. */
static bool cwnd_limited(const struct sf_conn *c)
{
    if (c->cwnd_use_full)
        return true;
    /* In slow start cwnd doubles each round trip, so a sender that used
     * half of it has used what the last round gave it (as Linux does):
     * growth goes on while the window in use catches up. */
    return c->cwnd < c->ssthresh && c->cwnd < 2 * (uint64_t)c->cwnd_use_max;
}

/* The RTT sample of the newest mark SND.UNA now covers (us, at least 1),
 * or 0 if none. Covered marks are consumed. */
static uint32_t rtt_sample(struct tcp_ctx *ctx, struct sf_conn *c)
{
    struct tcp_hs *hs = c->hs;
    uint32_t rtt = 0;
    while (hs && hs->mark_n &&
           seq_leq(hs->mark[hs->mark_head].end, c->snd_una)) {
        uint32_t r = tcp_now_us(ctx) - hs->mark[hs->mark_head].sent_us;
        rtt = r ? r : 1;
        hs->mark_head = (uint8_t)((hs->mark_head + 1) % TCP_CC_NMARK);
        hs->mark_n--;
    }
    return rtt;
}

void tcp_cc_on_newack(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t acked)
{
    /* an undo needs the SACK scoreboard (sack.c keeps it while one may
     * come): without it, none will */
    if (c->cc_undo && !c->sb)
        undo_discard(c);
    uint32_t rtt = rtt_sample(ctx, c);
    if (!c->in_recovery) {
        c->dupacks = 0;
        /* RFC 9438 4.6 (tcp_cc_on_use): the algorithm keeps its clocks
         * and samples, but cwnd grows only where the sender used it */
        uint32_t before = c->cwnd;
        ops(ctx, c)->on_ack(ctx, c, acked, rtt);
        if (c->cwnd > before && !cwnd_limited(c))
            c->cwnd = before;
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
        ops(ctx, c)->on_recovery_exit(ctx, c);
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
        tcp_cwnd_grow(c, c->snd_mss);
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
    /* RFC 5681 3.2 (2)-(4): fast retransmit, then fast recovery; the
     * algorithm says how far ssthresh falls (cwnd is still the window at
     * the event) */
    c->ssthresh = ops(ctx, c)->on_congestion(ctx, c);
    c->recover = c->snd_max;
    c->in_recovery = true;
    ctx->ctr.c[SF_CTR_FAST_RETRANSMITS]++;
    tcp_retransmit_front(ctx, c);
    c->cwnd = c->ssthresh + 3u * c->snd_mss;
    tcp_ecn_queue_cwr(c); /* RFC 3168 6.1.2: a reduction: CWR follows */
}

void tcp_cc_on_rto(struct tcp_ctx *ctx, struct sf_conn *c)
{
    /* RFC 5681 (4) and 3.1: after an RTO, ssthresh from the flight size
     * (the algorithm's rule, on the first expiry of a series only) and
     * the loss window of one segment; RFC 6582 4.1: recover = the
     * highest sequence number sent. Go-back-N follows from SND.NXT. */
    ops(ctx, c)->on_rto(ctx, c, c->nrexmt <= 1);
    undo_discard(c); /* sack.c forgets the episode on an RTO */
    c->cwnd = c->snd_mss;
    c->recover = c->snd_max;
    c->in_recovery = false;
    c->dupacks = 0;
    if (c->hs)
        c->hs->mark_n = 0; /* Karn: what follows is sent again */
    tcp_ecn_queue_cwr(c); /* RFC 3168 6.1.2: a reduction: CWR follows */
}

/* ssthresh from the algorithm's congestion rule (RFC 5681 (4) for
 * NewReno, RFC 9438 4.6 for CUBIC; cwnd is still the window at the
 * event), cwnd down to it, with nothing to retransmit. */
static void reduce_now(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->ssthresh = ops(ctx, c)->on_congestion(ctx, c);
    c->cwnd = c->ssthresh;
    if (c->cwnd < c->snd_mss)
        c->cwnd = c->snd_mss;
}

void tcp_cc_on_ecn(struct tcp_ctx *ctx, struct sf_conn *c)
{
    /* RFC 3168 6.1.2: ECE "should be treated just as a congestion loss
     * in non-ECN-Capable TCP. That is, the TCP source halves the
     * congestion window "cwnd" and reduces the slow start threshold
     * "ssthresh"" */
    reduce_now(ctx, c);
}

void tcp_cc_on_probe_repair(struct tcp_ctx *ctx, struct sf_conn *c)
{
    /* RFC 8985 7.4: a loss the probe repaired is a loss; the recovery
     * it would have had is over already (CUBIC's epoch starts again) */
    reduce_now(ctx, c);
    tcp_cc_recovery_exit(ctx, c);
}

uint32_t tcp_cc_loss_ssthresh(struct tcp_ctx *ctx, struct sf_conn *c)
{
    /* RFC 9438 4.9.2: "When packet loss is detected via acknowledgments,
     * a CUBIC implementation MAY save the current value of the following
     * variables before the congestion window is reduced." A loss that
     * D-SACKs later show spurious is undone from that (tcp_cc_undo); a
     * newer reduction replaces the older one's. Without memory for it,
     * sack.c's own undo still restores cwnd and ssthresh (counted). */
    const struct tcp_cc_ops *o = ops(ctx, c);
    undo_discard(c);
    struct tcp_cc_undo *u = calloc(1, sizeof *u);
    if (u) {
        u->ops = o;
        o->save(ctx, c, u);
        c->cc_undo = u;
    } else {
        ctx->ctr.c[SF_CTR_CC_UNDO_NOMEM]++;
    }
    return o->on_congestion(ctx, c);
}

void tcp_cc_undo(struct tcp_ctx *ctx, struct sf_conn *c)
{
    struct tcp_cc_undo *u = c->cc_undo;
    /* saved by the algorithm that runs now (TCP_CONGESTION discards it) */
    if (u && u->ops == ops(ctx, c))
        u->ops->undo(ctx, c, u);
    undo_discard(c);
}

void tcp_cc_recovery_exit(struct tcp_ctx *ctx, struct sf_conn *c)
{
    ops(ctx, c)->on_recovery_exit(ctx, c);
}
