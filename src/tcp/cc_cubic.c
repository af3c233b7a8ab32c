/* CUBIC congestion control (RFC 9438) with HyStart++ (RFC 9406) for the
 * initial slow start.
 *
 * The RFCs count windows in segments and time in seconds; here windows
 * are bytes (a segment is SMSS bytes) and time is milliseconds of the
 * stack's clock (ctx->now), in integer arithmetic: C = 0.4 = 4/10,
 * beta_cubic = 0.7 = 7/10, alpha_cubic = 3(1 - 0.7)/(1 + 0.7) = 9/17. */
#include <stdlib.h>

#include "tcp/cc.h"

#define CUBIC_BETA_NUM 7 /* RFC 9438 4.1.1: beta_cubic = 0.7 */
#define CUBIC_BETA_DEN 10
#define CUBIC_ALPHA_NUM 9 /* RFC 9438 4.3 eq. 3: 3 * 0.3 / 1.7 = 9/17 */
#define CUBIC_ALPHA_DEN 17
/* the |t - K| past which W_cubic is beyond any window (1000 s; keeps the
 * cube in 64 bits) */
#define CUBIC_T_MAX_MS 1000000u

/* RFC 9406 4.3 constants */
#define HS_MIN_RTT_THRESH_US 4000u
#define HS_MAX_RTT_THRESH_US 16000u
#define HS_MIN_RTT_DIVISOR 8u
#define HS_N_RTT_SAMPLE 8u
#define HS_CSS_GROWTH_DIVISOR 4u
#define HS_CSS_ROUNDS 5u
/* RFC 9406 4.3: "L = infinity if paced, L = 8 if non-paced" (segments
 * per ACK): a paced sender's bursts are spread by pacing.c */
#define HS_L 8u
#define HS_INF UINT32_MAX

uint32_t tcp_cc_icbrt(uint64_t x)
{
    /* Bit by bit, from the top (the root of a 64-bit x is below 2^22):
     * each bit stays set if the cube stays <= x. */
    uint64_t y = 0;
    for (int b = 21; b >= 0; b--) {
        uint64_t t = y | (uint64_t)1 << b;
        /* 2642245 = floor(cbrt(2^64 - 1)): above it the cube overflows */
        if (t <= 2642245u && t * t * t <= x)
            y = t;
    }
    return (uint32_t)y;
}

/* RFC 9438 4.2 eq. 2: K = cbrt((W_max - cwnd_epoch) / C) seconds, with
 * the windows in segments. In ms and bytes:
 * K_ms^3 = (W_max - cwnd_epoch) / SMSS / 0.4 * 10^9. */
uint32_t cubic_k_ms(uint32_t w_max, uint32_t cwnd_epoch, uint32_t mss)
{
    if (w_max <= cwnd_epoch || mss == 0)
        return 0;
    /* (W_max - cwnd_epoch) < 2^32, times 2.5e9 < 1.1e19 < 2^64 */
    uint64_t k3 = (uint64_t)(w_max - cwnd_epoch) * 2500000000u / mss;
    return tcp_cc_icbrt(k3);
}

/* RFC 9438 4.2 eq. 1: W_cubic(t) = C * (t - K)^3 + W_max, in segments and
 * seconds. In bytes and ms: W_max + 4 * (t - K)^3 * SMSS / 10^10,
 * bounded to 0..TCP_CWND_MAX. */
uint32_t cubic_w(uint32_t w_max, uint32_t k_ms, uint32_t t_ms, uint32_t mss)
{
    bool neg = t_ms < k_ms;
    uint64_t d = neg ? k_ms - t_ms : t_ms - k_ms;
    if (d > CUBIC_T_MAX_MS)
        d = CUBIC_T_MAX_MS;
    /* millionths of a segment: 4 * d^3 / 10^4 (d^3 <= 10^18) */
    uint64_t useg = d * d * d / 10000u * 4u;
    uint64_t bytes = useg > UINT64_MAX / mss ? UINT64_MAX
                                             : useg * mss / 1000000u;
    if (neg)
        return bytes >= w_max ? 0 : (uint32_t)(w_max - bytes);
    uint64_t w = (uint64_t)w_max + bytes;
    return w > TCP_CWND_MAX ? TCP_CWND_MAX : (uint32_t)w;
}

/* The start of a congestion avoidance stage (RFC 9438 4.2: t_epoch,
 * cwnd_epoch, K from eq. 2; 4.3: "W_est is set equal to cwnd_epoch at the
 * start of the congestion avoidance stage"). No W_max above cwnd: the
 * stage follows a slow start that HyStart++ ended without a congestion
 * event (4.10) or a timeout (4.8: "K is set to 0, and W_max is set to the
 * congestion window size at the beginning of the current congestion
 * avoidance stage"). */
static void epoch_start(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->cubic_epoch = true;
    c->cubic_t_epoch_ms = tcp_now_ms(ctx);
    c->cubic_cwnd_epoch = c->cwnd;
    c->cubic_w_est = c->cwnd;
    c->cubic_acc = 0;
    c->cubic_est_acc = 0;
    if (c->cubic_w_max <= c->cwnd)
        c->cubic_w_max = c->cwnd;
    c->cubic_k_ms = cubic_k_ms(c->cubic_w_max, c->cwnd, c->snd_mss);
}

/* HyStart++ is over for this connection (RFC 9406 4.2: a loss, or CSS
 * ran its rounds; 4.3: slow start after an RTO is standard): its state
 * goes. */
static void hs_stop(struct sf_conn *c)
{
    c->hs_on = false;
    free(c->hs);
    c->hs = NULL;
}

struct tcp_hs *tcp_cc_hs_get(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->hs || !c->hs_on)
        return c->hs;
    struct tcp_hs *hs = calloc(1, sizeof *hs);
    if (!hs) {
        /* without it, a standard slow start (RFC 5681 3.1), counted */
        ctx->ctr.c[SF_CTR_HYSTART_NOMEM]++;
        c->hs_on = false;
        return NULL;
    }
    /* RFC 9406 4.2's initial values, or where hs_park left off: between
     * rounds, not in CSS, no samples in hand */
    hs->last_min_rtt = HS_INF;
    hs->cur_min_rtt = c->hs_idle_rtt;
    hs->css_baseline = HS_INF;
    c->hs = hs;
    return hs;
}

/* Everything sent is acknowledged, between rounds, outside CSS: all the
 * next round reads is currentRoundMinRTT (it becomes lastRoundMinRTT when
 * that round starts). The rest is freed until data flows again. */
static void hs_park(struct sf_conn *c)
{
    struct tcp_hs *hs = c->hs;
    if (!hs || c->snd_una != c->snd_max || hs->round || hs->css ||
        hs->mark_n)
        return;
    c->hs_idle_rtt = hs->cur_min_rtt;
    free(hs);
    c->hs = NULL;
}

static void cubic_init(struct tcp_ctx *ctx, struct sf_conn *c)
{
    (void)ctx;
    c->cubic_epoch = false;
    c->cubic_w_max = 0;
    c->cubic_cwnd_prior = 0;
    /* RFC 9406 4.2 (initialization) and 4.3: HyStart++ only in the
     * initial slow start, when ssthresh is still "arbitrarily high". Its
     * state is allocated when data first flows (tcp_cc_hs_get). */
    hs_stop(c);
    c->hs_on = c->ssthresh == UINT32_MAX;
    c->hs_idle_rtt = HS_INF;
}

/* RFC 9406 4.2: the delay checks, once a round has N_RTT_SAMPLE samples. */
static void hystart_check(struct tcp_hs *hs)
{
    if (hs->samples < HS_N_RTT_SAMPLE || hs->cur_min_rtt == HS_INF)
        return;
    if (!hs->css) {
        if (hs->last_min_rtt == HS_INF)
            return;
        /* "RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT /
         * MIN_RTT_DIVISOR, MAX_RTT_THRESH))"; "if (currentRoundMinRTT >=
         * (lastRoundMinRTT + RttThresh))": exit slow start, enter CSS,
         * "cssBaselineMinRtt = currentRoundMinRTT" */
        uint32_t th = hs->last_min_rtt / HS_MIN_RTT_DIVISOR;
        if (th > HS_MAX_RTT_THRESH_US)
            th = HS_MAX_RTT_THRESH_US;
        if (th < HS_MIN_RTT_THRESH_US)
            th = HS_MIN_RTT_THRESH_US;
        if ((uint64_t)hs->cur_min_rtt >= (uint64_t)hs->last_min_rtt + th) {
            hs->css_baseline = hs->cur_min_rtt;
            hs->css = true;
            hs->css_rounds = 0;
        }
    } else if (hs->cur_min_rtt < hs->css_baseline) {
        /* "if (currentRoundMinRTT < cssBaselineMinRtt)": the RTT increase
         * was spurious; "cssBaselineMinRtt = infinity", resume slow start */
        hs->css_baseline = HS_INF;
        hs->css = false;
    }
}

/* RFC 9406 4.2: HyStart++ on an ACK in slow start or CSS. */
static void hystart_on_ack(struct sf_conn *c, struct tcp_hs *hs,
                           uint32_t acked, uint32_t rtt)
{
    /* A round starts with windowEnd = SND.NXT: "lastRoundMinRTT =
     * currentRoundMinRTT, currentRoundMinRTT = infinity, rttSampleCount =
     * 0". (It starts at the first ACK after the last one ended, so that
     * windowEnd covers what that ACK let out.) */
    if (!hs->round) {
        hs->round = true;
        hs->window_end = c->snd_nxt;
        hs->last_min_rtt = hs->cur_min_rtt;
        hs->cur_min_rtt = HS_INF;
        hs->samples = 0;
    }
    /* "cwnd = cwnd + min(N, L * SMSS)", in CSS divided by
     * CSS_GROWTH_DIVISOR; L is infinite when pacing */
    uint32_t lim = HS_L * c->snd_mss;
    uint32_t inc = acked < lim || c->pace_on ? acked : lim;
    tcp_cwnd_grow(c, hs->css ? inc / HS_CSS_GROWTH_DIVISOR : inc);
    if (rtt) {
        /* "currentRoundMinRTT = min(currentRoundMinRTT, currentRTT);
         * rttSampleCount += 1" */
        if (rtt < hs->cur_min_rtt)
            hs->cur_min_rtt = rtt;
        if (hs->samples < UINT8_MAX)
            hs->samples++;
        hystart_check(hs);
    }
    /* The round ends with the ACK of windowEnd. "If CSS_ROUNDS rounds
     * are complete, enter congestion avoidance by setting the ssthresh to
     * the current cwnd" (the round CSS began in counts as one). */
    if (seq_geq(c->snd_una, hs->window_end)) {
        hs->round = false;
        if (hs->css && ++hs->css_rounds >= HS_CSS_ROUNDS) {
            /* RFC 9438 4.10: "CUBIC sets cwnd_prior = cwnd" */
            c->ssthresh = c->cwnd;
            c->cubic_cwnd_prior = c->cwnd;
            hs_stop(c);
            return;
        }
    }
    hs_park(c);
}

/* RFC 9438 4.3 eq. 4, per ACK: W_est += alpha_cubic * segments_acked /
 * cwnd. "Once W_est has grown to reach the cwnd at the time of most
 * recently setting ssthresh, that is, W_est >= cwnd_prior, the sender
 * SHOULD set alpha_cubic to 1" (cwnd_prior, not W_max: after fast
 * convergence W_max is below cwnd_prior, and Reno's rate from there
 * would take back the room fast convergence gave). In bytes: W_est +=
 * alpha * acked * SMSS / cwnd, the remainder kept. */
static void west_update(struct sf_conn *c, uint32_t acked)
{
    bool probing = c->cubic_w_est >= c->cubic_cwnd_prior;
    uint64_t an = probing ? 1 : CUBIC_ALPHA_NUM;
    uint64_t ad = probing ? 1 : CUBIC_ALPHA_DEN;
    uint64_t den = ad * (c->cwnd ? c->cwnd : 1);
    uint64_t num = an * acked * c->snd_mss + c->cubic_est_acc;
    uint64_t w = c->cubic_w_est + num / den;
    c->cubic_est_acc = num % den;
    c->cubic_w_est = w > TCP_CWND_MAX ? TCP_CWND_MAX : (uint32_t)w;
}

/* Congestion avoidance (RFC 9438 4.2-4.5) on an ACK of acked bytes. */
static void cubic_avoid(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t acked)
{
    if (!c->cubic_epoch)
        epoch_start(ctx, c);
    uint32_t t = tcp_now_ms(ctx) - c->cubic_t_epoch_ms;
    uint32_t mss = c->snd_mss;
    west_update(c, acked);
    /* 4.3: "If W_cubic(t) is less than W_est ... CUBIC is in the
     * Reno-friendly region and cwnd SHOULD be set to W_est." (Never
     * lowered on an ACK.) */
    if (cubic_w(c->cubic_w_max, c->cubic_k_ms, t, mss) < c->cubic_w_est) {
        if (c->cubic_w_est > c->cwnd)
            c->cwnd = c->cubic_w_est;
        return;
    }
    /* 4.2 (Figure 3): target = W_cubic(t + RTT), no lower than cwnd and
     * no higher than 1.5 * cwnd */
    uint32_t rtt_ms = c->have_rtt ? c->srtt_us / 1000u : 0;
    uint64_t target = cubic_w(c->cubic_w_max, c->cubic_k_ms, t + rtt_ms, mss);
    uint64_t hi = (uint64_t)c->cwnd + c->cwnd / 2;
    if (target > hi)
        target = hi;
    if (target <= c->cwnd)
        return;
    /* 4.4 (concave, cwnd < W_max) and 4.5 (convex, cwnd >= W_max) grow
     * alike: "cwnd SHOULD be increased by (target - cwnd) / cwnd for each
     * received ACK", in segments; in bytes, (target - cwnd) * acked /
     * cwnd, the remainder kept for the next ACK. */
    uint64_t num = (target - c->cwnd) * (uint64_t)acked + c->cubic_acc;
    uint64_t cw = c->cwnd ? c->cwnd : 1;
    c->cubic_acc = num % cw;
    uint64_t inc = num / cw;
    tcp_cwnd_grow(c, inc > TCP_CWND_MAX ? TCP_CWND_MAX : (uint32_t)inc);
}

static void cubic_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                         uint32_t acked, uint32_t rtt_us)
{
    if (c->cwnd < c->ssthresh) {
        /* RFC 9438 4.10: slow start, with HyStart++ the first time */
        struct tcp_hs *hs = tcp_cc_hs_get(ctx, c);
        if (hs) {
            hystart_on_ack(c, hs, acked, rtt_us);
        } else {
            /* RFC 5681 3.1 (3): cwnd += min(N, SMSS) */
            uint32_t mss = c->snd_mss;
            tcp_cwnd_grow(c, acked < mss ? acked : mss);
        }
        return;
    }
    hs_stop(c);
    cubic_avoid(ctx, c, acked);
}

/* RFC 9438 4.6: ssthresh = flight_size * beta_cubic, at least 2
 * segments. "Some implementations of CUBIC currently use cwnd instead of
 * flight_size when calculating a new ssthresh. Implementations that use
 * cwnd MUST use other measures to prevent cwnd from growing when the
 * volume of bytes in flight is smaller than cwnd": cc.c grows cwnd only
 * while the sender uses it (tcp_cc_cwnd_limited). In congestion
 * avoidance the base is the larger of the two:
 * - FlightSize alone reads low just after a cumulative ACK has emptied
 *   it, while the pacer refills it: on the bench's 100 ms, 100 Mbit/s
 *   path a loss then set ssthresh to 0.7 x 823 segments, below the BDP
 *   of 863, and a 239 MB transfer read 0.88x of the link;
 * - cwnd alone reads low after a recovery, when what is outstanding
 *   (SACKed data included: RFC 5681's FlightSize) is above the window
 *   PRR left: the path grid's reordering cells fell 3-4x with it.
 * In slow start cwnd grows with every ACK ahead of what the pacer (at
 * twice the rate) has put in flight: it says nothing of the path yet,
 * and FlightSize alone is the base (with cwnd, the 2 ms, 100 Mbit/s cell
 * overshot its 34-segment pipe again and again: 27 recoveries, 18 % of
 * the segments sent twice). */
static uint32_t cubic_ssthresh(const struct sf_conn *c)
{
    uint32_t f = tcp_flight(c);
    uint32_t base = c->cwnd >= c->ssthresh && c->cwnd > f ? c->cwnd : f;
    uint32_t s = (uint32_t)((uint64_t)base * CUBIC_BETA_NUM / CUBIC_BETA_DEN);
    return s > 2u * c->snd_mss ? s : 2u * c->snd_mss;
}

static uint32_t cubic_on_congestion(struct tcp_ctx *ctx, struct sf_conn *c)
{
    (void)ctx;
    /* RFC 9438 4.6: W_max is the window at the congestion event; the
     * window in use, that is: cwnd where it limited the sender, the
     * flight where the peer's window or the application did (4.6: an
     * implementation that uses cwnd "MUST use other measures to prevent
     * cwnd from growing when the volume of bytes in flight is smaller
     * than cwnd"). */
    uint32_t f = tcp_flight(c);
    uint32_t w = c->cwnd < f ? c->cwnd : f;
    /* 4.6: "cwnd_prior = cwnd" (save cwnd), the window before the
     * reduction (4.1.2) */
    c->cubic_cwnd_prior = c->cwnd;
    /* 4.7 fast convergence: "if cwnd < W_max: W_max = cwnd * (1 +
     * beta_cubic) / 2", a flow that lost below its last maximum gives way
     * (17/20 = 0.85); "else W_max = cwnd" */
    if (w < c->cubic_w_max)
        c->cubic_w_max = (uint32_t)((uint64_t)w * (CUBIC_BETA_DEN + CUBIC_BETA_NUM) /
                                    (2 * CUBIC_BETA_DEN));
    else
        c->cubic_w_max = w;
    /* the stage ends; the next starts when avoidance does (4.2: t_epoch);
     * RFC 9406 4.2: a loss ends slow start and CSS for good */
    c->cubic_epoch = false;
    hs_stop(c);
    return cubic_ssthresh(c);
}

static void cubic_on_rto(struct tcp_ctx *ctx, struct sf_conn *c, bool first)
{
    (void)ctx;
    /* RFC 9438 4.8: cwnd as Reno (the caller), "but sets ssthresh using
     * beta_cubic (same as in Section 4.6)"; the next avoidance stage
     * starts with K = 0 and W_max = its first cwnd (epoch_start). */
    if (first) {
        c->ssthresh = cubic_ssthresh(c);
        c->cubic_cwnd_prior = c->cwnd; /* 4.1.2: when ssthresh was set */
    }
    c->cubic_w_max = 0;
    c->cubic_epoch = false;
    hs_stop(c); /* RFC 9406 4.3: standard slow start from now */
}

static void cubic_on_recovery_exit(struct tcp_ctx *ctx, struct sf_conn *c)
{
    /* RFC 9438 4.2: t_epoch is the start of the avoidance stage, which
     * is now if recovery left cwnd at ssthresh (else slow start runs up
     * to it first and the first ACK in avoidance starts the epoch). */
    if (c->cwnd >= c->ssthresh)
        epoch_start(ctx, c);
}

/* RFC 9438 4.9.2: "When packet loss is detected via acknowledgments, a
 * CUBIC implementation MAY save the current value of the following
 * variables before the congestion window is reduced. undo_cwnd = cwnd,
 * undo_cwnd_prior = cwnd_prior, undo_ssthresh = ssthresh, undo_W_max =
 * W_max, undo_K = K, undo_t_epoch = t_epoch, undo_W_est = W_est". With
 * them the rest of the stage (cwnd_epoch, the remainders, whether an
 * epoch runs) and HyStart++'s state, which the loss would end (the block
 * itself moves here: the reduction frees nothing the undo needs). */
static void cubic_save(struct tcp_ctx *ctx, struct sf_conn *c,
                       struct tcp_cc_undo *u)
{
    (void)ctx;
    u->cwnd = c->cwnd;
    u->ssthresh = c->ssthresh;
    u->cwnd_prior = c->cubic_cwnd_prior;
    u->w_max = c->cubic_w_max;
    u->k_ms = c->cubic_k_ms;
    u->t_epoch_ms = c->cubic_t_epoch_ms;
    u->w_est = c->cubic_w_est;
    u->cwnd_epoch = c->cubic_cwnd_epoch;
    u->acc = c->cubic_acc;
    u->est_acc = c->cubic_est_acc;
    u->epoch = c->cubic_epoch;
    u->hs_on = c->hs_on;
    u->hs_idle_rtt = c->hs_idle_rtt;
    u->hs = c->hs;
    c->hs = NULL;
}

/* RFC 9438 4.9.2: "Once the previously declared packet loss is confirmed
 * to be spurious, CUBIC MAY restore the original values of the
 * above-mentioned variables as follows if the current cwnd is lower than
 * cwnd_prior." ... "In rare cases, when the detection happens long after
 * a spurious loss event and the current cwnd is already higher than
 * cwnd_prior, CUBIC SHOULD continue to use the current and the most
 * recent values of these variables." */
static void cubic_undo(struct tcp_ctx *ctx, struct sf_conn *c,
                       struct tcp_cc_undo *u)
{
    (void)ctx;
    if (c->cwnd >= c->cubic_cwnd_prior)
        return;
    c->cwnd = u->cwnd;
    c->ssthresh = u->ssthresh;
    c->cubic_cwnd_prior = u->cwnd_prior;
    c->cubic_w_max = u->w_max;
    c->cubic_k_ms = u->k_ms;
    c->cubic_t_epoch_ms = u->t_epoch_ms;
    c->cubic_w_est = u->w_est;
    c->cubic_cwnd_epoch = u->cwnd_epoch;
    c->cubic_acc = u->acc;
    c->cubic_est_acc = u->est_acc;
    c->cubic_epoch = u->epoch;
    /* HyStart++ again, if the loss had ended it. RFC 6298 3 (Karn): the
     * recovery sent segments again, so none of its RTT marks stands. */
    free(c->hs);
    c->hs = u->hs;
    u->hs = NULL;
    c->hs_on = u->hs_on;
    c->hs_idle_rtt = u->hs_idle_rtt;
    if (c->hs)
        c->hs->mark_n = 0;
}

const struct tcp_cc_ops tcp_cc_cubic = {
    .name = "cubic",
    .init = cubic_init,
    .on_ack = cubic_on_ack,
    .on_congestion = cubic_on_congestion,
    .on_rto = cubic_on_rto,
    .on_recovery_exit = cubic_on_recovery_exit,
    .save = cubic_save,
    .undo = cubic_undo,
};
