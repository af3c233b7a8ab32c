/* Sender pacing. Not in an RFC: RFC 9293 and RFC 5681 let a sender put
 * a whole window on the wire at once, and a burst of a window arriving at
 * a bottleneck whose queue holds less than that is cut off at the tail
 * (slow start's doubling makes the bursts largest just when the queue
 * fills). Linux keeps a pacing rate for every TCP flow, enforced by the
 * fq qdisc or, without it, by TCP itself ("internal pacing", Linux 4.13,
 * for BBR and SO_MAX_PACING_RATE); synfin paces by itself (cfg.pacing, on
 * by default), where a queue may be met (tcp_pace_rate()). The rate is
 * derived from the congestion window:
 *
 *   rate = ratio * max(cwnd, bytes in flight) / SRTT
 *
 * with ratio tcp_pacing_ss_ratio = 200 % while cwnd < ssthresh / 2 (slow
 * start: cwnd may double within the RTT, so the window must go out in
 * half of it) and tcp_pacing_ca_ratio = 120 % otherwise (ip-sysctl.rst;
 * Linux commit 43e122b014c9 "tcp: refine pacing rate determination":
 * after a reduction, near the right window, ramp up more gently). The
 * first 10 data segments go unpaced (sch_fq's initial quantum, kept by
 * internal pacing), and segments leave in bursts of about 1 ms at the
 * rate, at least 2 (Linux's TSO autosizing, sk_pacing_shift 10,
 * tcp_min_tso_segs 2), so that pacing costs one timer per burst, not per
 * segment.
 *
 * The model is Linux's "earliest departure time": pace_next is when the
 * next burst may start; each segment sent pushes it on by len / rate
 * from max(pace_next, now) (idle time earns no credit beyond one burst).
 * A burst starts at pace_next with pace_credit bytes to send; when they
 * are used up, output waits for TT_PACE. Pure ACKs, SYNs and RSTs are
 * never paced; retransmissions by the RTO and TLP, and everything SACK
 * recovery sends (RFC 6937 PRR clocks it), leave at once but are counted
 * against the rate. The core reads no clock:
 * ctx->now is the time it was handed. */
#include "tcp/cc.h"
#include "tcp/pacing.h"

/* Linux's GSO limit: no burst is larger than 64 KB. */
#define TCP_PACE_BURST_MAX 65536u

uint64_t tcp_pace_rate(const struct tcp_ctx *ctx, const struct sf_conn *c)
{
    (void)ctx;
    if (!c->pace_on || c->pace_segs < TCP_PACE_UNPACED_SEGS)
        return 0;
    /* Only where bursts do harm: in the first slow start (no loss yet:
     * the path's capacity unknown, and a window sent at once meets a
     * bottleneck queue long before cwnd reaches the BDP), and later while
     * SRTT stands 5/4 or more above the smallest RTT sample, i.e. while
     * a queue holds data. At the minimum RTT no queue is there to
     * overflow, and pacing would only hold back what the ACK clock lets
     * out (the 1 % and 5 % loss cells of bench/README.md's path grid:
     * 10-30 % slower paced). An SO_MAX_PACING_RATE cap always applies. */
    if (!c->pace_max_rate && c->ssthresh != UINT32_MAX && c->min_rtt_us &&
        (uint64_t)c->srtt_us * 4 < (uint64_t)c->min_rtt_us * 5)
        return 0;
    uint64_t rate = UINT64_MAX; /* no RTT yet: only the cap paces */
    if (c->have_rtt && c->srtt_us) {
        uint32_t ratio = c->cwnd < c->ssthresh / 2 ? TCP_PACE_SS_RATIO
                                                   : TCP_PACE_CA_RATIO;
        uint32_t flight = tcp_flight(c);
        uint64_t w = c->cwnd > flight ? c->cwnd : flight;
        /* bytes/s = w * ratio/100 * 1e6/srtt_us */
        rate = w * ratio * 10000u / c->srtt_us;
        if (rate == 0)
            rate = 1;
    }
    if (c->pace_max_rate && c->pace_max_rate < rate)
        rate = c->pace_max_rate;
    return rate == UINT64_MAX ? 0 : rate;
}

/* The bytes one burst may carry at rate: about 1 ms of it, at least two
 * segments, at most 64 KB. */
static uint32_t burst_bytes(const struct sf_conn *c, uint64_t rate)
{
    uint64_t b = rate / 1000;
    uint64_t two = 2u * (uint64_t)c->snd_mss;
    if (b < two)
        b = two;
    if (b > TCP_PACE_BURST_MAX)
        b = TCP_PACE_BURST_MAX;
    return (uint32_t)b;
}

bool tcp_pace_ok(struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint64_t rate = tcp_pace_rate(ctx, c);
    if (rate == 0 || c->pace_credit > 0)
        return true;
    if (ctx->now < c->pace_next) {
        /* the burst is spent: the next one at pace_next */
        if (c->deadline[TT_PACE] != c->pace_next) {
            ctx->ctr.c[SF_CTR_PACING_WAITS]++;
            tcp_timer_start(ctx, c, TT_PACE, c->pace_next - ctx->now);
        }
        return false;
    }
    c->pace_credit = burst_bytes(c, rate);
    return true;
}

void tcp_pace_sent(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t len,
                   uint32_t segs)
{
    /* (a run stops where the unpaced start ends, tso_run in output.c: the
     * rate is 0 for all of it or for none) */
    uint64_t rate = tcp_pace_rate(ctx, c);
    if (c->pace_segs < TCP_PACE_UNPACED_SEGS) {
        uint32_t left = TCP_PACE_UNPACED_SEGS - c->pace_segs;
        c->pace_segs += segs < left ? segs : left;
    }
    if (rate == 0)
        return;
    uint64_t all = (uint64_t)len * segs;
    c->pace_credit = c->pace_credit > all ? c->pace_credit - (uint32_t)all : 0;
    if (c->pace_next < ctx->now)
        c->pace_next = ctx->now;
    /* each segment len / rate on, rounded down as one by one */
    c->pace_next += (sf_time_t)segs * (sf_time_t)((uint64_t)len * SF_SEC / rate);
}

void tcp_pace_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    tcp_output(ctx, c);
}

void tcp_pace_set(struct tcp_ctx *ctx, struct sf_conn *c, bool on)
{
    c->pace_on = on;
    if (!tcp_pace_waiting(c))
        return;
    /* What waited for the timer was scheduled at the old rate: it may go
     * now (unpaced, or as the first burst at the new rate). */
    tcp_timer_stop(ctx, c, TT_PACE);
    c->pace_credit = 0;
    c->pace_next = ctx->now;
    tcp_output(ctx, c);
}
