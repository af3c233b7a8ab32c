/* CUBIC (RFC 9438) and HyStart++ (RFC 9406) arithmetic, against values
 * worked out by hand from the RFCs' formulas (in the comments; the RFCs
 * count segments and seconds, the code bytes and milliseconds: SMSS =
 * 1000 bytes throughout, so a segment is 1000 bytes). The algorithm's
 * hooks are called directly on a TCB that holds only what they read. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tcp/cc.h"

#define MSS 1000u

/* Allocation failure on demand: this binary's calloc fails while
 * calloc_fail is set (the sanitizers bring their own allocator, which
 * cannot be wrapped this way: there the case says so and checks
 * nothing more). */
#if defined(__SANITIZE_ADDRESS__)
#define CAN_FAIL_CALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CAN_FAIL_CALLOC 0
#endif
#endif
#ifndef CAN_FAIL_CALLOC
#define CAN_FAIL_CALLOC 1
static int calloc_fail;
extern void *__libc_calloc(size_t n, size_t size);
void *calloc(size_t n, size_t size)
{
    if (calloc_fail)
        return NULL;
    return __libc_calloc(n, size);
}
#endif

static struct sf_stack_cfg cfg;

/* c: zeroed, or set up before (what the algorithm allocated is freed) */
static void setup(struct tcp_ctx *ctx, struct sf_conn *c)
{
    tcp_cc_free(c);
    memset(ctx, 0, sizeof *ctx);
    memset(c, 0, sizeof *c);
    sf_stack_cfg_default(&cfg);
    ctx->cfg = &cfg;
    ctx->now = 1000 * SF_SEC;
    c->snd_mss = MSS;
    c->snd_una = 1;
    c->snd_nxt = 1;
}

/* |a - b| <= tol */
static int near(long long a, long long b, long long tol)
{
    return a - b <= tol && b - a <= tol;
}

static void test_icbrt(void)
{
    static const uint64_t roots[] = {1, 2, 3, 7, 10, 1000, 4217, 65536,
                                     2097151, 2097152, 2642245};
    CHECK_EQ(tcp_cc_icbrt(0), 0);
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        uint64_t r = roots[i], cube = r * r * r;
        CHECK_EQ(tcp_cc_icbrt(cube), r);         /* exact cubes */
        CHECK_EQ(tcp_cc_icbrt(cube - 1), r - 1); /* just below */
        CHECK_EQ(tcp_cc_icbrt(cube + 1), r);     /* just above */
    }
    /* 2642245^3 = 18446724184312856125 <= 2^64 - 1 < 2642246^3 */
    CHECK_EQ(tcp_cc_icbrt(UINT64_MAX), 2642245);
    CHECK_EQ(tcp_cc_icbrt(26), 2);
    CHECK_EQ(tcp_cc_icbrt(27), 3);
}

static void test_k(void)
{
    /* RFC 9438 eq. 2, K = cbrt((W_max - cwnd_epoch) / C), C = 0.4:
     * W_max 100 segments, cwnd_epoch 70 (beta 0.7): cbrt(30 / 0.4) =
     * cbrt(75) = 4.21716 s -> 4217 ms */
    CHECK_EQ(cubic_k_ms(100 * MSS, 70 * MSS, MSS), 4217);
    /* W_max 1000, cwnd_epoch 700: cbrt(750) = 9.08560 s -> 9085 ms */
    CHECK_EQ(cubic_k_ms(1000 * MSS, 700 * MSS, MSS), 9085);
    /* W_max 1 segment above: cbrt(2.5) = 1.35721 s */
    CHECK_EQ(cubic_k_ms(11 * MSS, 10 * MSS, MSS), 1357);
    /* no W_max above the window: K = 0 */
    CHECK_EQ(cubic_k_ms(70 * MSS, 70 * MSS, MSS), 0);
    CHECK_EQ(cubic_k_ms(60 * MSS, 70 * MSS, MSS), 0);
    /* the largest window: (2^30 - 0) bytes / 1000 / 0.4 = 2684354.56
     * s^3, cbrt = 138.978 s */
    CHECK(near(cubic_k_ms(1u << 30, 0, MSS), 138978, 1));
}

static void test_w_cubic(void)
{
    /* RFC 9438 eq. 1, W_cubic(t) = C (t - K)^3 + W_max, W_max = 100
     * segments, K = 4.217 s: */
    uint32_t wm = 100 * MSS, k = 4217;
    /* t = 0: 100 + 0.4 * (-4.217)^3 = 100 - 29.9965 = 70.0035 segments */
    CHECK(near(cubic_w(wm, k, 0, MSS), 70003, 1));
    /* t = 2 s: 100 + 0.4 * (-2.217)^3 = 100 - 4.35870 = 95.6413 */
    CHECK(near(cubic_w(wm, k, 2000, MSS), 95641, 1));
    /* t = K: W_max (the plateau between concave and convex) */
    CHECK_EQ(cubic_w(wm, k, k, MSS), wm);
    /* t = K + 1 s: 100 + 0.4 = 100.4 */
    CHECK_EQ(cubic_w(wm, k, k + 1000, MSS), 100400);
    /* t = 5 s: 100 + 0.4 * 0.783^3 = 100.19202 */
    CHECK(near(cubic_w(wm, k, 5000, MSS), 100192, 1));
    /* t = K + 10 s: 100 + 0.4 * 1000 = 500 */
    CHECK_EQ(cubic_w(wm, k, k + 10000, MSS), 500 * MSS);
    /* far past K: bounded, no wrap */
    CHECK_EQ(cubic_w(wm, k, 4000000000u, MSS), TCP_CWND_MAX);
    /* far before K (a huge K): 0, not a negative window */
    CHECK_EQ(cubic_w(wm, 900000, 0, MSS), 0);
}

/* A TCB in congestion avoidance after a loss at W_max = 100 segments:
 * cwnd = ssthresh = 70 segments. */
static void avoid_setup(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t srtt_us)
{
    setup(ctx, c);
    c->ssthresh = UINT32_MAX;
    tcp_cc_cubic.init(ctx, c);
    c->cwnd = c->ssthresh = 70 * MSS;
    c->cubic_w_max = 100 * MSS;
    c->cubic_cwnd_prior = 100 * MSS; /* the window before the loss */
    c->have_rtt = true;
    c->srtt_us = srtt_us;
}

static void ack_one(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t bytes,
                    uint32_t rtt)
{
    c->snd_una += bytes;
    tcp_cc_cubic.on_ack(ctx, c, bytes, rtt);
    c->snd_nxt = c->snd_una + c->cwnd; /* the sender fills the window */
}

static void test_concave_convex(void)
{
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    avoid_setup(&ctx, &c, 100000); /* RTT 100 ms */
    /* The first ACK in avoidance starts the epoch (RFC 9438 4.2):
     * cwnd_epoch = 70, K = 4.217 s, W_est = 70 */
    ack_one(&ctx, &c, MSS, 0);
    CHECK(c.cubic_epoch);
    CHECK_EQ(c.cubic_k_ms, 4217);
    CHECK_EQ(c.cubic_cwnd_epoch, 70 * MSS);
    /* One second later, concave region (4.4, cwnd < W_max):
     * W_cubic(1 s) = 100 + 0.4 (1 - 4.217)^3 = 86.683 > W_est (about
     * 70.01): not Reno-friendly. target = W_cubic(1.1 s) = 100 + 0.4 (1.1
     * - 4.217)^3 = 87.886; the ACK of one segment adds (target - cwnd) /
     * cwnd = (87.886 - 70) / 70 = 0.2555 segments = 255 bytes. */
    c.cwnd = 70 * MSS;
    ctx.now += 1000 * SF_MSEC;
    uint32_t before = c.cwnd;
    ack_one(&ctx, &c, MSS, 0);
    CHECK(near(c.cwnd - before, 255, 1));
    /* Convex region (4.5), cwnd = W_max = 100 at t = K + 2 s: target =
     * W_cubic(K + 2.1 s) = 100 + 0.4 * 2.1^3 = 103.704; one segment
     * acknowledged adds 3.704 / 100 = 0.03704 segments = 37 bytes. */
    c.cwnd = 100 * MSS;
    c.cubic_acc = 0;
    ctx.now = 1000 * SF_SEC + (4217 + 2000) * SF_MSEC;
    before = c.cwnd;
    ack_one(&ctx, &c, MSS, 0);
    CHECK(near(c.cwnd - before, 37, 1));
    /* target is at most 1.5 cwnd (4.2): 100 s after K, W_cubic is
     * 400,100 segments, but an ACK of a whole window (100 segments) adds
     * (150 - 100) / 100 * 100 = 50 segments, no more */
    c.cwnd = 100 * MSS;
    c.cubic_acc = 0;
    ctx.now = 1000 * SF_SEC + (4217 + 100000) * SF_MSEC;
    before = c.cwnd;
    ack_one(&ctx, &c, 100 * MSS, 0);
    CHECK_EQ(c.cwnd - before, 50 * MSS);
    tcp_cc_free(&c);
}

/* rounds RTTs of rtt_ms each: a window of one-segment ACKs, then the
 * clock moves on by one RTT */
static void run_rtts(struct tcp_ctx *ctx, struct sf_conn *c, int rounds,
                     unsigned rtt_ms)
{
    for (int r = 0; r < rounds; r++) {
        uint32_t n = c->cwnd / MSS;
        for (uint32_t i = 0; i < n; i++)
            ack_one(ctx, c, MSS, 0);
        ctx->now += rtt_ms * SF_MSEC;
    }
}

static void test_reno_friendly(void)
{
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    avoid_setup(&ctx, &c, 1000); /* RTT 1 ms */
    /* RFC 9438 4.3: on a short RTT, Reno's window grows faster than the
     * cubic curve. Per RTT (a window of ACKs, one segment each) W_est
     * grows by alpha_cubic = 3 (1 - 0.7) / (1 + 0.7) = 0.5294 segments
     * (eq. 4 summed over cwnd ACKs); after 20 RTTs (20 ms) W_est is
     * about 70 + 20 * 0.53 = 80.6 segments (a little less: cwnd grows,
     * and each ACK adds alpha / cwnd). W_cubic(20 ms) = 100 + 0.4 (0.020
     * - 4.217)^3 = 70.428 segments: the Reno-friendly region, where cwnd
     * follows W_est. */
    run_rtts(&ctx, &c, 20, 1);
    uint32_t t = (uint32_t)((ctx.now / SF_MSEC) - c.cubic_t_epoch_ms);
    CHECK_EQ(t, 20);
    CHECK(near(cubic_w(c.cubic_w_max, c.cubic_k_ms, t, MSS), 70428, 1));
    CHECK(c.cwnd >= 79 * MSS && c.cwnd <= 81 * MSS);
    CHECK_EQ(c.cwnd, c.cubic_w_est);
    CHECK(c.cwnd > cubic_w(c.cubic_w_max, c.cubic_k_ms, t + 1, MSS) + 8 * MSS);

    /* On a 100 ms path, one second is 10 RTTs: W_est about 70 + 10 *
     * 0.53 = 75.3 segments, while W_cubic(1 s) = 86.68: the cubic curve
     * leads and cwnd follows it (4.4), well above W_est. */
    avoid_setup(&ctx, &c, 100000);
    run_rtts(&ctx, &c, 10, 100);
    CHECK(c.cubic_w_est >= 74 * MSS && c.cubic_w_est <= 76 * MSS);
    CHECK(c.cwnd > c.cubic_w_est + 8 * MSS);
    CHECK(near(c.cwnd, 86683, 2 * MSS));
    tcp_cc_free(&c);
}

/* RFC 9438 4.3: "Once W_est has grown to reach the cwnd at the time of
 * most recently setting ssthresh, that is, W_est >= cwnd_prior, the
 * sender SHOULD set alpha_cubic to 1". After fast convergence (4.7) W_max
 * lies below cwnd_prior; between the two W_est must still grow by
 * alpha_cubic = 0.53 segments per RTT, not by Reno's 1 (which would undo
 * the convergence that fast convergence asked for). */
static void test_reno_friendly_alpha(void)
{
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    setup(&ctx, &c);
    c.ssthresh = UINT32_MAX;
    tcp_cc_cubic.init(&ctx, &c);
    c.have_rtt = true;
    c.srtt_us = 1000; /* RTT 1 ms: the Reno-friendly region */
    /* losses at 100, then at 80 segments: W_max = 80 * 0.85 = 68,
     * cwnd_prior = 80, ssthresh = cwnd = 56 */
    c.cwnd = 100 * MSS;
    c.snd_nxt = c.snd_una + c.cwnd;
    tcp_cc_cubic.on_congestion(&ctx, &c);
    c.cwnd = 80 * MSS;
    c.snd_nxt = c.snd_una + c.cwnd;
    c.ssthresh = tcp_cc_cubic.on_congestion(&ctx, &c);
    CHECK_EQ(c.cubic_w_max, 68 * MSS);
    CHECK_EQ(c.cubic_cwnd_prior, 80 * MSS);
    c.cwnd = c.ssthresh;
    CHECK_EQ(c.cwnd, 56 * MSS);
    tcp_cc_cubic.on_recovery_exit(&ctx, &c);
    CHECK_EQ(c.cubic_w_est, 56 * MSS);
    /* W_est climbs past W_max = 68 (about 23 RTTs at 0.53) */
    for (int i = 0; i < 100 && c.cubic_w_est < 70 * MSS; i++)
        run_rtts(&ctx, &c, 1, 1);
    CHECK(c.cubic_w_est >= 70 * MSS && c.cubic_w_est < 71 * MSS);
    /* still Reno-friendly: cwnd follows W_est */
    CHECK_EQ(c.cwnd, c.cubic_w_est);
    /* four RTTs at 70..72 segments below cwnd_prior = 80: + 4 * 0.53 =
     * 2.1 segments (a little less: each ACK adds alpha / cwnd, and cwnd
     * grows); alpha 1 would give 4 */
    uint32_t w0 = c.cubic_w_est;
    run_rtts(&ctx, &c, 4, 1);
    CHECK(c.cubic_w_est - w0 >= 2000 && c.cubic_w_est - w0 <= 2200);
    /* past cwnd_prior, alpha is 1: one segment per RTT */
    for (int i = 0; i < 100 && c.cubic_w_est < 81 * MSS; i++)
        run_rtts(&ctx, &c, 1, 1);
    CHECK(c.cubic_w_est >= 81 * MSS);
    w0 = c.cubic_w_est;
    run_rtts(&ctx, &c, 4, 1);
    CHECK(c.cubic_w_est - w0 >= 3900 && c.cubic_w_est - w0 <= 4000);
    tcp_cc_free(&c);
}

static void test_congestion_and_fast_convergence(void)
{
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    setup(&ctx, &c);
    c.ssthresh = UINT32_MAX;
    tcp_cc_cubic.init(&ctx, &c);
    /* First loss at cwnd = flight = 100 segments: W_max = 100 (RFC 9438
     * 4.6), ssthresh = 100 * 0.7 = 70 */
    c.cwnd = 100 * MSS;
    c.snd_nxt = c.snd_una + 100 * MSS;
    CHECK_EQ(tcp_cc_cubic.on_congestion(&ctx, &c), 70 * MSS);
    CHECK_EQ(c.cubic_w_max, 100 * MSS);
    CHECK(!c.cubic_epoch);
    CHECK(!c.hs_on && !c.hs); /* RFC 9406: a loss ends HyStart++ */
    /* A second loss below that maximum, at 80 segments: fast convergence
     * (4.7) remembers W_max = 80 * (1 + 0.7) / 2 = 68, not 80; ssthresh
     * 80 * 0.7 = 56 */
    c.cwnd = 80 * MSS;
    c.snd_nxt = c.snd_una + 80 * MSS;
    CHECK_EQ(tcp_cc_cubic.on_congestion(&ctx, &c), 56 * MSS);
    CHECK_EQ(c.cubic_w_max, 68 * MSS);
    /* ... and the next epoch aims at 68: from cwnd_epoch 56, K =
     * cbrt(12 / 0.4) = cbrt(30) = 3.1072 s */
    c.cwnd = c.ssthresh = 56 * MSS;
    tcp_cc_cubic.on_recovery_exit(&ctx, &c);
    CHECK(c.cubic_epoch);
    CHECK_EQ(c.cubic_k_ms, 3107);
    /* A loss above it, at 120: W_max = 120 (a new maximum) */
    c.cwnd = 120 * MSS;
    c.snd_nxt = c.snd_una + 120 * MSS;
    CHECK_EQ(tcp_cc_cubic.on_congestion(&ctx, &c), 84 * MSS);
    CHECK_EQ(c.cubic_w_max, 120 * MSS);
    /* NewReno halves the same flight (RFC 5681 (4)) */
    CHECK_EQ(tcp_cc_newreno.on_congestion(&ctx, &c), 60 * MSS);
    /* Not below 2 segments (slow start: cwnd below ssthresh 56, the
     * base is the flight) */
    c.cwnd = 2 * MSS;
    c.snd_nxt = c.snd_una + 2 * MSS;
    CHECK_EQ(tcp_cc_cubic.on_congestion(&ctx, &c), 2 * MSS);
    /* In congestion avoidance (cwnd >= ssthresh) the base is the larger
     * of cwnd and the flight (cc_cubic.c): a flight a cumulative ACK has
     * just emptied does not pull ssthresh below what cwnd carried ... */
    c.ssthresh = 56 * MSS;
    c.cwnd = 100 * MSS;
    c.snd_nxt = c.snd_una + 60 * MSS;
    CHECK_EQ(tcp_cc_cubic.on_congestion(&ctx, &c), 70 * MSS);
    /* ... and SACKed data still outstanding above cwnd counts */
    c.snd_nxt = c.snd_una + 120 * MSS;
    CHECK_EQ(tcp_cc_cubic.on_congestion(&ctx, &c), 84 * MSS);
    /* in slow start the flight alone: cwnd runs ahead of the pacer */
    c.cwnd = 50 * MSS;
    c.snd_nxt = c.snd_una + 40 * MSS;
    CHECK_EQ(tcp_cc_cubic.on_congestion(&ctx, &c), 28 * MSS);
    /* NewReno: RFC 5681 (4), FlightSize / 2 whatever cwnd is */
    c.cwnd = 100 * MSS;
    c.snd_nxt = c.snd_una + 60 * MSS;
    CHECK_EQ(tcp_cc_newreno.on_congestion(&ctx, &c), 30 * MSS);
    c.ssthresh = UINT32_MAX;

    /* RTO (4.8): ssthresh by beta, then the epoch restarts with K = 0
     * and W_max = the cwnd avoidance starts from */
    c.cwnd = 40 * MSS;
    c.snd_nxt = c.snd_una + 40 * MSS;
    tcp_cc_cubic.on_rto(&ctx, &c, true);
    CHECK_EQ(c.ssthresh, 28 * MSS);
    c.cwnd = 28 * MSS; /* slow start has climbed back */
    ack_one(&ctx, &c, MSS, 0);
    CHECK(c.cubic_epoch);
    CHECK_EQ(c.cubic_k_ms, 0);
    CHECK_EQ(c.cubic_w_max, 28 * MSS);
    /* a second expiry in a row leaves ssthresh alone (RFC 5681 (4)) */
    c.snd_nxt = c.snd_una + 2 * MSS;
    tcp_cc_cubic.on_rto(&ctx, &c, false);
    CHECK_EQ(c.ssthresh, 28 * MSS);
    tcp_cc_free(&c);
}

/* One round of HyStart++: n ACKs that acknowledge everything sent before
 * the round, each with an RTT sample rtt_us. */
static void hs_round(struct tcp_ctx *ctx, struct sf_conn *c, unsigned n,
                     uint32_t rtt_us)
{
    uint32_t end = c->snd_nxt, step = (end - c->snd_una) / n;
    for (unsigned i = 0; i + 1 < n; i++)
        ack_one(ctx, c, step, rtt_us);
    ack_one(ctx, c, end - c->snd_una, rtt_us);
}

static void hs_setup(struct tcp_ctx *ctx, struct sf_conn *c)
{
    setup(ctx, c);
    c->cwnd = 10 * MSS;
    c->ssthresh = UINT32_MAX;
    tcp_cc_cubic.init(ctx, c);
    c->snd_nxt = c->snd_una + c->cwnd;
    CHECK(c->hs_on);
    CHECK(!c->hs); /* allocated when data flows */
    /* two rounds at 50 ms: 10 + 10 = 20, then 20 + 20 = 40 segments */
    hs_round(ctx, c, 10, 50000);
    hs_round(ctx, c, 10, 50000);
    CHECK_EQ(c->cwnd, 40 * MSS);
    tcp_cc_on_use(c, c->snd_nxt - c->snd_una, true); /* the window filled */
    CHECK(!c->hs->css);
}

static void test_hystart(void)
{
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    /* RFC 9406 4.2: RttThresh = max(4 ms, min(50 / 8 = 6.25 ms, 16 ms))
     * = 6.25 ms. A round at 56 ms (< 50 + 6.25) stays in slow start. */
    hs_setup(&ctx, &c);
    hs_round(&ctx, &c, 10, 56000);
    CHECK(c.hs);
    CHECK(!c.hs->css);
    CHECK_EQ(c.cwnd, 80 * MSS); /* slow start doubled it again */

    /* At 57 ms (>= 56.25) the 8th sample of the round (N_RTT_SAMPLE)
     * leaves slow start for CSS, not the 7th. The round's ACKs carry 4
     * segments each. */
    hs_setup(&ctx, &c);
    uint32_t end = c.snd_nxt;
    for (int i = 0; i < 7; i++)
        ack_one(&ctx, &c, 4 * MSS, 57000);
    CHECK(!c.hs->css);
    ack_one(&ctx, &c, 4 * MSS, 57000);
    CHECK(c.hs->css);
    CHECK_EQ(c.hs->css_baseline, 57000);
    /* in CSS an ACK adds min(N, L*SMSS) / CSS_GROWTH_DIVISOR = 4000 / 4 */
    uint32_t before = c.cwnd;
    ack_one(&ctx, &c, 4 * MSS, 57000);
    CHECK_EQ(c.cwnd - before, 1 * MSS);
    ack_one(&ctx, &c, end - c.snd_una, 57000); /* the round's last */
    /* the round CSS began in was the first of CSS_ROUNDS = 5 */
    CHECK_EQ(c.hs->css_rounds, 1);
    hs_round(&ctx, &c, 10, 58000);
    hs_round(&ctx, &c, 10, 58000);
    hs_round(&ctx, &c, 10, 58000);
    CHECK(c.hs->css);
    CHECK_EQ(c.ssthresh, UINT32_MAX);
    hs_round(&ctx, &c, 10, 58000);
    /* five rounds: congestion avoidance, ssthresh = cwnd */
    CHECK(!c.hs_on && !c.hs);
    CHECK_EQ(c.ssthresh, c.cwnd);
    /* and the next ACK starts a CUBIC epoch with W_max = cwnd and K = 0
     * (RFC 9438 4.10: no congestion event yet) */
    uint32_t w = c.cwnd;
    ack_one(&ctx, &c, MSS, 58000);
    CHECK(c.cubic_epoch);
    CHECK_EQ(c.cubic_w_max, w);
    CHECK_EQ(c.cubic_k_ms, 0);

    /* A round in CSS whose minimum falls below the baseline: the rise was
     * spurious, back to slow start (cssBaselineMinRtt = infinity) */
    hs_setup(&ctx, &c);
    hs_round(&ctx, &c, 10, 60000);
    CHECK(c.hs->css);
    hs_round(&ctx, &c, 10, 52000);
    CHECK(c.hs);
    CHECK(!c.hs->css);
    CHECK_EQ(c.hs->css_baseline, UINT32_MAX);

    /* Fewer than N_RTT_SAMPLE samples in a round decide nothing */
    hs_setup(&ctx, &c);
    hs_round(&ctx, &c, 7, 90000);
    CHECK(!c.hs->css);
    tcp_cc_free(&c);
}

/* HyStart++'s state (struct tcp_hs) lives behind c->hs only while data
 * flows in the initial slow start: none for a connection that has sent
 * nothing, none while all is acknowledged between rounds (what the next
 * round needs, currentRoundMinRTT, waits in the TCB), none after. */
static void test_hystart_memory(void)
{
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    setup(&ctx, &c);
    c.cwnd = 10 * MSS;
    c.ssthresh = UINT32_MAX;
    tcp_cc_cubic.init(&ctx, &c);
    CHECK(c.hs_on);
    CHECK(!c.hs);
    /* data leaves: the state comes, with the segment's mark */
    tcp_cc_on_send(&ctx, &c, c.snd_nxt, 10 * MSS, true);
    c.snd_nxt += 10 * MSS;
    tcp_cc_on_use(&c, 10 * MSS, true); /* the window filled */
    c.snd_max = c.snd_nxt;
    CHECK(c.hs);
    if (!c.hs)
        return;
    CHECK_EQ(c.hs->mark_n, 1);
    /* a round at 50 ms whose last ACK covers all: parked */
    ctx.now += 50 * SF_MSEC;
    c.snd_una = c.snd_max;
    tcp_cc_on_newack(&ctx, &c, 10 * MSS);
    CHECK_EQ(c.cwnd, 18 * MSS); /* + min(N, L * SMSS), L = 8 */
    CHECK(c.hs_on);
    CHECK(!c.hs);
    CHECK_EQ(c.hs_idle_rtt, 50000);
    /* The next round, after the idle time: its RTT (57 ms) is measured
     * against the parked 50 ms (RttThresh 6.25 ms): CSS, as if the state
     * had stayed. Eight segments, eight samples (N_RTT_SAMPLE). */
    uint32_t start = c.snd_una;
    for (int i = 0; i < 8; i++) {
        tcp_cc_on_send(&ctx, &c, c.snd_nxt, MSS, true);
        c.snd_nxt += MSS;
        c.snd_max = c.snd_nxt;
    }
    CHECK(c.hs);
    ctx.now += 57 * SF_MSEC;
    for (int i = 1; i <= 8 && c.hs; i++) {
        c.snd_una = start + (uint32_t)i * MSS;
        tcp_cc_on_newack(&ctx, &c, MSS);
        if (i == 7)
            CHECK(c.hs && !c.hs->css);
    }
    /* in CSS the state stays even with nothing in flight */
    CHECK(c.hs && c.hs->css);
    CHECK_EQ(c.snd_una, c.snd_max);
    /* a loss ends HyStart++ for good */
    c.snd_nxt = c.snd_una + 10 * MSS;
    tcp_cc_cubic.on_congestion(&ctx, &c);
    CHECK(!c.hs_on && !c.hs);
    tcp_cc_on_send(&ctx, &c, c.snd_nxt, MSS, true);
    CHECK(!c.hs);
    /* NewReno never has it */
    setup(&ctx, &c);
    c.cc_algo = TCP_CC_RENO;
    c.iss = 0;
    tcp_cc_init(&ctx, &c);
    tcp_cc_on_send(&ctx, &c, c.snd_nxt, MSS, true);
    CHECK(!c.hs_on && !c.hs);
    tcp_cc_free(&c);
}

/* Without memory for HyStart++'s state the connection does a standard
 * slow start (RFC 5681 3.1: cwnd += min(N, SMSS) per ACK, not HyStart++'s
 * min(N, L * SMSS)), and the stack counts it. */
static void test_hystart_nomem(void)
{
#if CAN_FAIL_CALLOC
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    setup(&ctx, &c);
    c.cwnd = 10 * MSS;
    c.ssthresh = UINT32_MAX;
    tcp_cc_cubic.init(&ctx, &c);
    calloc_fail = 1;
    tcp_cc_on_send(&ctx, &c, c.snd_nxt, 10 * MSS, true);
    calloc_fail = 0;
    c.snd_nxt += 10 * MSS;
    tcp_cc_on_use(&c, 10 * MSS, true); /* the window filled */
    c.snd_max = c.snd_nxt;
    CHECK(!c.hs);
    CHECK(!c.hs_on);
    CHECK_EQ(ctx.ctr.c[SF_CTR_HYSTART_NOMEM], 1);
    c.snd_una += 4 * MSS;
    tcp_cc_on_newack(&ctx, &c, 4 * MSS);
    CHECK_EQ(c.cwnd, 11 * MSS);
    CHECK(!c.hs);
    /* the same ACK with HyStart++ adds 4 segments */
    setup(&ctx, &c);
    c.cwnd = 10 * MSS;
    c.ssthresh = UINT32_MAX;
    tcp_cc_cubic.init(&ctx, &c);
    tcp_cc_on_send(&ctx, &c, c.snd_nxt, 10 * MSS, true);
    c.snd_nxt += 10 * MSS;
    tcp_cc_on_use(&c, 10 * MSS, true); /* the window filled */
    c.snd_max = c.snd_nxt;
    c.snd_una += 4 * MSS;
    tcp_cc_on_newack(&ctx, &c, 4 * MSS);
    CHECK_EQ(c.cwnd, 14 * MSS);
    CHECK_EQ(ctx.ctr.c[SF_CTR_HYSTART_NOMEM], 0);
    tcp_cc_free(&c);
#else
    fprintf(stderr, "test_hystart_nomem: calloc cannot fail under the "
                    "sanitizers: allocation failure not exercised\n");
    CHECK(1);
#endif
}

/* RFC 9438 4.9.2: a loss detected by acknowledgments saves cwnd,
 * cwnd_prior, ssthresh, W_max, K, t_epoch and W_est before the reduction;
 * once the loss proves spurious they come back, "if the current cwnd is
 * lower than cwnd_prior", and CUBIC grows on as if there had been no
 * loss. */
static void test_undo_cubic(void)
{
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    avoid_setup(&ctx, &c, 100000);
    ack_one(&ctx, &c, MSS, 0); /* epoch: K = 4.217 s from 70 segments */
    ctx.now += 2000 * SF_MSEC;
    run_rtts(&ctx, &c, 3, 100);
    struct sf_conn was = c;
    CHECK(was.cubic_epoch);
    CHECK_EQ(was.cubic_w_max, 100 * MSS);
    CHECK_EQ(was.cubic_k_ms, 4217);
    /* a loss at cwnd = flight (under W_max: fast convergence, 4.7) */
    c.snd_nxt = c.snd_una + c.cwnd;
    c.ssthresh = tcp_cc_loss_ssthresh(&ctx, &c);
    CHECK(c.cc_undo);
    CHECK_EQ(c.ssthresh, was.cwnd * 7 / 10);
    CHECK_EQ(c.cubic_cwnd_prior, was.cwnd);
    CHECK_EQ(c.cubic_w_max, (uint32_t)((uint64_t)was.cwnd * 17 / 20));
    c.cwnd = c.ssthresh;
    ctx.now += 100 * SF_MSEC;
    tcp_cc_recovery_exit(&ctx, &c); /* a new epoch from the reduced cwnd */
    CHECK(c.cubic_t_epoch_ms != was.cubic_t_epoch_ms);
    ack_one(&ctx, &c, MSS, 0);
    /* D-SACKs show it spurious */
    tcp_cc_undo(&ctx, &c);
    CHECK(!c.cc_undo);
    CHECK_EQ(c.cwnd, was.cwnd);
    CHECK_EQ(c.ssthresh, was.ssthresh);
    CHECK_EQ(c.cubic_cwnd_prior, was.cubic_cwnd_prior);
    CHECK_EQ(c.cubic_w_max, was.cubic_w_max);
    CHECK_EQ(c.cubic_k_ms, was.cubic_k_ms);
    CHECK_EQ(c.cubic_t_epoch_ms, was.cubic_t_epoch_ms);
    CHECK_EQ(c.cubic_w_est, was.cubic_w_est);
    CHECK_EQ(c.cubic_cwnd_epoch, was.cubic_cwnd_epoch);
    CHECK(c.cubic_epoch);
    /* and the next ACK grows cwnd on the old curve: the same as a TCB
     * that never saw the loss */
    struct sf_conn ref = was;
    ref.hs = NULL;
    ref.cc_undo = NULL;
    ack_one(&ctx, &ref, MSS, 0);
    ack_one(&ctx, &c, MSS, 0);
    CHECK_EQ(c.cwnd, ref.cwnd);
    CHECK_EQ(c.cubic_w_est, ref.cubic_w_est);

    /* "current cwnd is already higher than cwnd_prior": the current
     * values stay */
    c.snd_nxt = c.snd_una + c.cwnd;
    uint32_t prior = c.cwnd;
    c.ssthresh = tcp_cc_loss_ssthresh(&ctx, &c);
    uint32_t wmax = c.cubic_w_max, ss = c.ssthresh;
    c.cwnd = prior + MSS;
    tcp_cc_undo(&ctx, &c);
    CHECK_EQ(c.cwnd, prior + MSS);
    CHECK_EQ(c.ssthresh, ss);
    CHECK_EQ(c.cubic_w_max, wmax);
    CHECK(!c.cc_undo);

    /* an RTO ends the episode: nothing to undo after it */
    c.snd_nxt = c.snd_una + c.cwnd;
    c.ssthresh = tcp_cc_loss_ssthresh(&ctx, &c);
    CHECK(c.cc_undo);
    c.nrexmt = 1;
    tcp_cc_on_rto(&ctx, &c);
    CHECK(!c.cc_undo);
    tcp_cc_free(&c);
}

/* A spurious loss in the initial slow start: the undo brings HyStart++
 * back (the loss had ended it, RFC 9406 4.2), with ssthresh "arbitrarily
 * high" again. */
static void test_undo_hystart(void)
{
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    hs_setup(&ctx, &c); /* two rounds at 50 ms: cwnd 40 segments */
    tcp_cc_on_send(&ctx, &c, c.snd_nxt, MSS, true);
    c.snd_nxt += MSS;
    c.snd_max = c.snd_nxt;
    CHECK(c.hs);
    struct tcp_hs *hs = c.hs;
    uint32_t cwnd = c.cwnd, last = hs ? hs->cur_min_rtt : 0;
    c.ssthresh = tcp_cc_loss_ssthresh(&ctx, &c);
    CHECK(!c.hs_on && !c.hs);
    c.cwnd = c.ssthresh;
    tcp_cc_recovery_exit(&ctx, &c);
    tcp_cc_undo(&ctx, &c);
    CHECK(c.hs_on);
    CHECK(c.hs == hs);
    CHECK_EQ(c.cwnd, cwnd);
    CHECK_EQ(c.ssthresh, UINT32_MAX);
    if (c.hs) {
        CHECK_EQ(c.hs->cur_min_rtt, last);
        CHECK_EQ(c.hs->mark_n, 0); /* Karn: the recovery resent data */
    }
    /* an ACK of four segments: HyStart++'s min(N, 8 SMSS), not one */
    c.snd_una += 4 * MSS;
    tcp_cc_on_newack(&ctx, &c, 4 * MSS);
    CHECK_EQ(c.cwnd, cwnd + 4 * MSS);
    tcp_cc_free(&c);
}

/* NewReno (RFC 3708 / RFC 2883 5, as sack.c did alone before): cwnd and
 * ssthresh back where they were, or left where they are if higher. Not
 * across a TCP_CONGESTION change. Without memory, counted. */
static void test_undo_newreno(void)
{
    struct tcp_ctx ctx;
    struct sf_conn c = {0};
    setup(&ctx, &c);
    c.cc_algo = TCP_CC_RENO;
    c.cwnd = 20 * MSS;
    c.ssthresh = 30 * MSS;
    c.snd_nxt = c.snd_una + 20 * MSS;
    c.ssthresh = tcp_cc_loss_ssthresh(&ctx, &c);
    CHECK_EQ(c.ssthresh, 10 * MSS);
    c.cwnd = c.ssthresh;
    tcp_cc_undo(&ctx, &c);
    CHECK_EQ(c.cwnd, 20 * MSS);
    CHECK_EQ(c.ssthresh, 30 * MSS);
    CHECK(!c.cc_undo);
    /* saved by NewReno, undone after a switch to CUBIC: CUBIC's state is
     * not NewReno's to restore */
    c.ssthresh = tcp_cc_loss_ssthresh(&ctx, &c);
    c.cwnd = c.ssthresh;
    c.syn_acked = true;
    tcp_cc_select(&ctx, &c, TCP_CC_CUBIC);
    CHECK(!c.cc_undo);
    tcp_cc_undo(&ctx, &c);
    CHECK_EQ(c.cwnd, 10 * MSS);
#if CAN_FAIL_CALLOC
    calloc_fail = 1;
    c.ssthresh = tcp_cc_loss_ssthresh(&ctx, &c);
    calloc_fail = 0;
    CHECK(!c.cc_undo);
    CHECK_EQ(ctx.ctr.c[SF_CTR_CC_UNDO_NOMEM], 1);
    tcp_cc_undo(&ctx, &c); /* nothing saved: nothing done, no crash */
#endif
    tcp_cc_free(&c);
}

static void test_names(void)
{
    CHECK_EQ(tcp_cc_find("cubic", 5), TCP_CC_CUBIC);
    CHECK_EQ(tcp_cc_find("reno", 4), TCP_CC_RENO);
    CHECK_EQ(tcp_cc_find("newreno", 7), TCP_CC_RENO);
    CHECK_EQ(tcp_cc_find("cubic\0junk", 10), TCP_CC_CUBIC);
    CHECK_EQ(tcp_cc_find("cubi", 4), -1);
    CHECK_EQ(tcp_cc_find("nosuch", 6), -1);
    CHECK_EQ(tcp_cc_find("", 0), -1);
}

/* RFC 9406 4.3: "L = infinity if paced, L = 8 if non-paced": a paced
 * sender's bursts are spread by pacing, so an ACK of N bytes grows cwnd by
 * N in slow start, however large N is. Ten segments acknowledged at once:
 * + 8 SMSS unpaced (test_hystart_memory), + 10 SMSS paced. */
static void test_hystart_paced(void)
{
    for (int paced = 0; paced <= 1; paced++) {
        struct tcp_ctx ctx;
        struct sf_conn c = {0};
        setup(&ctx, &c);
        c.pace_on = paced != 0;
        c.cwnd = 10 * MSS;
        c.ssthresh = UINT32_MAX;
        tcp_cc_cubic.init(&ctx, &c);
        tcp_cc_on_send(&ctx, &c, c.snd_nxt, 10 * MSS, true);
        c.snd_nxt += 10 * MSS;
        tcp_cc_on_use(&c, 10 * MSS, true); /* the window filled */
    tcp_cc_on_use(&c, 10 * MSS, true); /* the window filled */
        c.snd_max = c.snd_nxt;
        ctx.now += 50 * SF_MSEC;
        c.snd_una = c.snd_max;
        tcp_cc_on_newack(&ctx, &c, 10 * MSS);
        CHECK_EQ(c.cwnd, (paced ? 20 : 18) * MSS);
        tcp_cc_free(&c);
    }
}

/* cwnd has a ceiling (cc.c): growth near it stops there, never wraps. */
static void test_cwnd_ceiling(void)
{
    struct sf_conn c = {0};
    c.cwnd = TCP_CWND_MAX - 100;
    tcp_cwnd_grow(&c, 1000);
    CHECK_EQ(c.cwnd, TCP_CWND_MAX);
    tcp_cwnd_grow(&c, UINT32_MAX - 5);
    CHECK_EQ(c.cwnd, TCP_CWND_MAX);
    c.cwnd = 10 * MSS;
    tcp_cwnd_grow(&c, MSS);
    CHECK_EQ(c.cwnd, 11 * MSS);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_cwnd_ceiling),
    CHECK_CASE(test_icbrt),
    CHECK_CASE(test_k),
    CHECK_CASE(test_w_cubic),
    CHECK_CASE(test_concave_convex),
    CHECK_CASE(test_reno_friendly),
    CHECK_CASE(test_reno_friendly_alpha),
    CHECK_CASE(test_congestion_and_fast_convergence),
    CHECK_CASE(test_hystart),
    CHECK_CASE(test_hystart_memory),
    CHECK_CASE(test_hystart_nomem),
    CHECK_CASE(test_undo_cubic),
    CHECK_CASE(test_undo_hystart),
    CHECK_CASE(test_undo_newreno),
    CHECK_CASE(test_names),
    CHECK_CASE(test_hystart_paced),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
