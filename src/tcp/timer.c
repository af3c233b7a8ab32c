/* The timeouts of RFC 9293 3.10.8 and 3.8: retransmission (with persist
 * folded in), delayed ACK, keepalive, TIME_WAIT and the orphaned
 * FIN_WAIT_2 limit. A connection keeps one deadline per timeout and one
 * entry on the stack's timing wheel, armed at the earliest deadline. */
#include <stddef.h>
#include <stdint.h>

#include "tcp/cc.h"
#include "tcp/pacing.h"
#include "tcp/tcp_int.h"

void tcp_timer_rearm(struct tcp_ctx *ctx, struct sf_conn *c)
{
    sf_time_t next = SF_TIME_NEVER;
    for (int i = 0; i < TT_NTIMERS; i++) {
        sf_time_t d = tcp_deadline(ctx, c, (enum tcp_timer_slot)i);
        if (d < next)
            next = d;
    }
    if (next == SF_TIME_NEVER)
        wheel_stop(&ctx->wheel, &c->timer);
    else if (!wheel_timer_pending(&c->timer) || c->timer.expires != next)
        wheel_start(&ctx->wheel, &c->timer, next);
}

void tcp_timer_start(struct tcp_ctx *ctx, struct sf_conn *c,
                     enum tcp_timer_slot slot, sf_time_t after)
{
    if (slot == TT_DELACK) {
        c->delack_on = true;
        c->delack_ms = (uint32_t)((ctx->now + after + SF_MSEC - 1) / SF_MSEC);
    } else {
        c->deadline[slot] = ctx->now + after;
    }
    if (slot == TT_REXMT) {
        c->persist_on = false; /* the retransmission timer takes the slot */
        c->tlp_on = false;
        c->rack_tmr_on = false;
    }
    tcp_timer_rearm(ctx, c);
}

void tcp_delack_due(struct tcp_ctx *ctx, struct sf_conn *c)
{
    /* (the slot keeps whole milliseconds, rounded up by tcp_timer_start:
     * the one that has begun is due already) */
    c->delack_on = true;
    c->delack_ms = (uint32_t)(ctx->now / SF_MSEC);
    tcp_timer_rearm(ctx, c);
}

/* RFC 9293 3.8.6.1: the persist timer, in the slot the retransmission
 * timer leaves free while nothing it would retransmit is outstanding. */
void tcp_persist_start(struct tcp_ctx *ctx, struct sf_conn *c)
{
    tcp_timer_start(ctx, c, TT_REXMT, tcp_rto(c));
    c->persist_on = true;
}

void tcp_timer_stop(struct tcp_ctx *ctx, struct sf_conn *c,
                    enum tcp_timer_slot slot)
{
    if (slot == TT_REXMT)
        c->persist_on = c->tlp_on = c->rack_tmr_on = false;
    if (!tcp_timer_pending(c, slot))
        return;
    if (slot == TT_DELACK)
        c->delack_on = false;
    else
        c->deadline[slot] = SF_TIME_NEVER;
    tcp_timer_rearm(ctx, c);
}

void tcp_timers_stop_all(struct tcp_ctx *ctx, struct sf_conn *c)
{
    for (int i = 0; i < TT_NWIDE; i++)
        c->deadline[i] = SF_TIME_NEVER;
    c->delack_on = false;
    c->persist_on = false;
    c->tlp_on = false;
    c->rack_tmr_on = false;
    wheel_stop(&ctx->wheel, &c->timer);
}

static void trace_timer(struct tcp_ctx *ctx, struct sf_conn *c,
                        enum sf_timer_kind kind)
{
    if (!ctx->cfg->trace)
        return;
    struct sf_trace_event ev = {.kind = SF_TRACE_TIMER, .now = ctx->now,
                                .sd = c->sd, .local = c->local,
                                .remote = c->remote, .timer = kind};
    ctx->cfg->trace(ctx->cfg->trace_ctx, &ev);
}

/* RFC 6298 5.5: RTO <- RTO * 2, up to the configured maximum. */
static void rto_backoff(const struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint64_t max_us = ctx->cfg->rto_max / SF_USEC;
    c->rto_us = (uint64_t)c->rto_us * 2 > max_us ? (uint32_t)max_us
                                                 : c->rto_us * 2;
}

static unsigned rexmt_limit(const struct tcp_ctx *ctx, const struct sf_conn *c)
{
    if (c->state == SF_SYN_SENT)
        return ctx->cfg->syn_retries;
    if (c->state == SF_SYN_RCVD)
        return ctx->cfg->synack_retries;
    return ctx->cfg->r2;
}

/* RFC 9293 3.8.6.1: with the peer's window closed (or too small to send
 * into without silly-window segments) and nothing in flight, probe it
 * with one byte so that a lost window update cannot deadlock the
 * connection. The probe is retransmitted with backoff like any segment;
 * answers to it reset the count (input.c), so a live peer that keeps its
 * window closed is never given up on (RFC 6429). */
static void persist_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    trace_timer(ctx, c, SF_TIMER_PERSIST);
    /* back off before the probe, so that its own retransmission waits
     * twice as long: probes go out at RTO, 2 RTO, 4 RTO ... apart */
    rto_backoff(ctx, c);
    tcp_output_force_one(ctx, c);
}

/* RFC 5482: with TCP_USER_TIMEOUT set, the time data may stay
 * unacknowledged replaces the R2 count as the limit. */
static bool rexmt_give_up(const struct tcp_ctx *ctx, const struct sf_conn *c)
{
    if (c->user_timeout_ms && c->state != SF_SYN_SENT &&
        c->state != SF_SYN_RCVD)
        return tcp_now_ms(ctx) - c->una_since_ms >= c->user_timeout_ms;
    return c->nrexmt > rexmt_limit(ctx, c);
}

/* An orphan (closed by the application, RFC 1122 4.2.2.13) lives on its
 * timers alone. A peer that answers every window probe, or every FIN, with
 * a zero-window ACK that takes nothing new would keep it and its buffers
 * forever: such answers do not count towards R2 (3.8.6.1 forbids giving
 * up on an answered probe, which protects a live application, not an
 * orphan). Not in the RFC; as Linux tcp_orphan_retries: after
 * cfg->orphan_retries timeouts with nothing new acknowledged, reset it.
 * Returns true if it was. */
static bool orphan_give_up(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (!c->app_closed || c->state == SF_SYN_SENT || c->state == SF_SYN_RCVD)
        return false;
    if (c->orphan_tries < UINT8_MAX)
        c->orphan_tries++;
    if (c->orphan_tries <= ctx->cfg->orphan_retries)
        return false;
    ctx->ctr.c[SF_CTR_ORPHAN_RETRIES]++;
    tcp_note(ctx, c, "orphan retries reached: reset");
    tcp_send_rst(ctx, c);
    tcp_terminate(ctx, c, 0, SF_CAUSE_ABORT);
    return true;
}

/* RFC 6298 5.4-5.7 and RFC 9293 3.10.8 RETRANSMISSION TIMEOUT. */
/* RFC 1122 4.2.3.5: at R1, "pass negative advice to IP": we have no
 * routes to reconsider, so the event is counted and traced. */
static void note_r1(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->nrexmt == ctx->cfg->r1) {
        ctx->ctr.c[SF_CTR_R1_REACHED]++;
        tcp_note(ctx, c, "R1 reached (RFC 1122 4.2.3.5)");
    }
}

/* RFC 6298 5.5: back off the timer; 5.6: restart it, but no later than
 * the user timeout (RFC 5482) allows. */
static void rexmt_backoff_restart(struct tcp_ctx *ctx, struct sf_conn *c)
{
    rto_backoff(ctx, c);
    sf_time_t after = tcp_rto(c);
    if (c->user_timeout_ms) {
        uint32_t spent = tcp_now_ms(ctx) - c->una_since_ms;
        if (spent < c->user_timeout_ms &&
            (sf_time_t)(c->user_timeout_ms - spent) * SF_MSEC < after)
            after = (sf_time_t)(c->user_timeout_ms - spent) * SF_MSEC;
    }
    tcp_timer_start(ctx, c, TT_REXMT, after);
}

/* RFC 6298 5.4: retransmit the earliest unacknowledged segment (go back
 * to SND.UNA; the rest follows as ACKs open the congestion window). */
static void rexmt_front(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->snd_nxt = c->snd_una;
    if (c->state == SF_SYN_SENT || c->state == SF_SYN_RCVD)
        tcp_output_limit(ctx, c, 1); /* the SYN (or SYN,ACK) again */
    else
        /* the front segment again, as far as the window allows (a window
         * probe when it is closed, 3.8.6.1); what was sent once is not
         * held back by the silly-window rules */
        tcp_output_force_one(ctx, c);
}

static void rexmt_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (orphan_give_up(ctx, c))
        return;
    if (c->rack_tmr_on) { /* RFC 8985 6.3: the reordering timer */
        c->rack_tmr_on = false;
        ctx->ctr.c[SF_CTR_RACK_TIMEOUTS]++;
        tcp_timer_start(ctx, c, TT_REXMT, tcp_rto(c));
        tcp_sack_rack_timer(ctx, c);
        return;
    }
    if (c->tlp_on) { /* RFC 8985 7.3: the probe timeout, not an RTO */
        c->tlp_on = false;
        if (tcp_tlp_due(c)) {
            trace_timer(ctx, c, SF_TIMER_RETRANSMIT);
            tcp_tlp_fire(ctx, c);
        } else { /* recovery began since: the RTO watches it */
            tcp_timer_start(ctx, c, TT_REXMT, tcp_rto(c));
        }
        return;
    }
    bool persist = c->persist_on;
    c->persist_on = false;
    /* (with nothing outstanding there is nothing to retransmit: a timer
     * left in the slot can only be a probe's) */
    if (persist || c->snd_una == c->snd_max) {
        persist_fire(ctx, c);
        return;
    }
    trace_timer(ctx, c, SF_TIMER_RETRANSMIT);
    c->nrexmt++;
    /* RFC 1122 4.2.3.5: at R2 (SYN: the SYN retry limit), give up. */
    if (rexmt_give_up(ctx, c)) {
        tcp_terminate(ctx, c, SF_ETIMEDOUT, SF_CAUSE_TIMEOUT_RETRANSMIT);
        return;
    }
    note_r1(ctx, c);
    ctx->ctr.c[SF_CTR_RETRANSMITS]++;
    c->tlp_episode = false; /* the RTO's recovery takes over from the probe */
    c->rtt_timing = false; /* Karn: no sample from a retransmitted segment */
    c->rexmt_ts = tcp_ts_now(ctx, c); /* (nor one echoing an older TSval) */
    bool probing = c->snd_wnd == 0 && c->state != SF_SYN_SENT &&
                   c->state != SF_SYN_RCVD;
    if (c->state == SF_SYN_SENT || c->state == SF_SYN_RCVD)
        c->syn_rexmitted = true;
    else if (!probing) {
        ctx->ctr.c[SF_CTR_RTO_EVENTS]++;
        tcp_eifel_on_rto(ctx, c); /* RFC 3522: judged by the first ACK */
        tcp_cc_on_rto(ctx, c); /* RFC 5681 3.1: the loss window */
        tcp_sack_on_rto(c);    /* RFC 2018 8, RFC 6675 5.1 */
        tcp_rack_on_rto(c);    /* RFC 8985 6.3 */
    }
    rexmt_backoff_restart(ctx, c);
    rexmt_front(ctx, c);
}

/* RFC 9293 3.8.6.3: the delayed ACK is due. */
static void delack_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    trace_timer(ctx, c, SF_TIMER_DELACK);
    if (c->ack_pending) {
        ctx->ctr.c[SF_CTR_DELAYED_ACKS]++;
        c->ack_now = true;
        tcp_output(ctx, c);
    }
}

/* RFC 9293 3.8.4, RFC 1122 4.2.3.6: after keepidle with nothing
 * received, probe every keepintvl with <SEQ=SND.NXT-1> and no data, the
 * segment any live peer must answer with an ACK; after keepcnt probes
 * without an answer, the connection is dead. */
/* Keepalive watches a connection whose peer owes us nothing we could
 * retransmit: ESTABLISHED, CLOSE_WAIT, and FIN_WAIT_2 while the
 * application still holds the socket (after close() the FIN_WAIT_2
 * timeout watches it instead). Its timer also runs on through FIN_WAIT_1
 * (shutdown(SHUT_WR)), where the FIN in flight defers the probes (as any
 * data in flight does): a timeout falling there must not end keepalive
 * for the FIN_WAIT_2 that follows. */
static bool keepalive_state(const struct sf_conn *c)
{
    return c->state == SF_ESTABLISHED || c->state == SF_CLOSE_WAIT ||
           ((c->state == SF_FIN_WAIT_1 || c->state == SF_FIN_WAIT_2) &&
            !c->app_closed);
}

static bool keepalive_applies(const struct sf_conn *c)
{
    return c->keepalive && keepalive_state(c);
}

static void keep_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (!keepalive_applies(c))
        return;
    /* Received something since (tcp_keepalive_reset only notes the time,
     * so busy connections never touch the wheel for keepalive). */
    uint32_t idle = tcp_now_ms(ctx) - c->last_rcv_ms;
    if (c->keepprobes == 0 && idle < c->keepidle_ms) {
        tcp_timer_start(ctx, c, TT_KEEP,
                        (sf_time_t)(c->keepidle_ms - idle) * SF_MSEC);
        return;
    }
    trace_timer(ctx, c, SF_TIMER_KEEPALIVE);
    if (c->snd_una != c->snd_max || c->state == SF_FIN_WAIT_1) {
        /* data in flight: the retransmission timer watches the peer; in
         * FIN_WAIT_1 our FIN is not acknowledged, in flight or still
         * queued behind a closed window (the persist timer's), as Linux
         * defers while its write queue holds anything. (Found by
         * fuzz/fuzz_timeline.c: a keepalive timeout there ended the
         * connection by an edge the state table does not have.) */
        tcp_timer_start(ctx, c, TT_KEEP, (sf_time_t)c->keepidle_ms * SF_MSEC);
        return;
    }
    if (c->keepprobes >= c->keepcnt ||
        (c->user_timeout_ms && idle >= c->user_timeout_ms)) {
        tcp_terminate(ctx, c, SF_ETIMEDOUT, SF_CAUSE_TIMEOUT_KEEPALIVE);
        return;
    }
    c->keepprobes++;
    tcp_send_keepalive(ctx, c);
    tcp_timer_start(ctx, c, TT_KEEP, (sf_time_t)c->keepintvl_ms * SF_MSEC);
}

static void wait_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->state == SF_TIME_WAIT) {
        /* RFC 9293 3.10.8 TIME-WAIT TIMEOUT: delete the TCB. */
        trace_timer(ctx, c, SF_TIMER_TIME_WAIT);
        tcp_terminate(ctx, c, 0, SF_CAUSE_TIMEOUT_TIME_WAIT);
    } else if (c->state == SF_FIN_WAIT_2 && c->app_closed) {
        /* Not in the RFC: a peer that never sends its FIN would hold an
         * orphaned connection forever; BSD and Linux time it out. */
        trace_timer(ctx, c, SF_TIMER_FIN_WAIT_2);
        tcp_terminate(ctx, c, 0, SF_CAUSE_TIMEOUT_FIN_WAIT_2);
    }
}

static void long_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->state == SF_TIME_WAIT ||
        (c->state == SF_FIN_WAIT_2 && c->app_closed))
        wait_fire(ctx, c);
    else
        keep_fire(ctx, c);
}

static void (*const fire[TT_NTIMERS])(struct tcp_ctx *, struct sf_conn *) = {
    [TT_REXMT] = rexmt_fire, [TT_DELACK] = delack_fire,
    [TT_LONG] = long_fire, [TT_PACE] = tcp_pace_fire};

/* Runs every timeout of c that is due, in slot order, then re-arms. */
void tcp_conn_timer_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    for (int i = 0; i < TT_NTIMERS && !c->dead; i++) {
        enum tcp_timer_slot slot = (enum tcp_timer_slot)i;
        if (tcp_deadline(ctx, c, slot) > ctx->now)
            continue;
        if (slot == TT_DELACK)
            c->delack_on = false;
        else
            c->deadline[slot] = SF_TIME_NEVER;
        fire[i](ctx, c);
    }
    if (!c->dead)
        tcp_timer_rearm(ctx, c);
}

/* RFC 6298 2.2-2.4: a new RTT measurement of r microseconds. */
void tcp_rto_sample(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t r)
{
    const struct sf_stack_cfg *cfg = ctx->cfg;
    c->tlp_no_rtt = false; /* RFC 8985 7.3: a sample since the probe */
    if (!c->min_rtt_us || r < c->min_rtt_us)
        c->min_rtt_us = r ? r : 1; /* (for pacing.c) */
    if (!c->have_rtt) {
        c->srtt_us = r;
        c->rttvar_us = r / 2;
        c->have_rtt = true;
    } else {
        uint64_t delta = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
        c->rttvar_us = (uint32_t)((3 * (uint64_t)c->rttvar_us + delta) / 4);
        c->srtt_us = (uint32_t)((7 * (uint64_t)c->srtt_us + r) / 8);
    }
    uint64_t k = 4 * (uint64_t)c->rttvar_us;
    if (k < cfg->timer_granularity / SF_USEC)
        k = cfg->timer_granularity / SF_USEC;
    uint64_t rto = c->srtt_us + k;
    if (rto < cfg->rto_min / SF_USEC)
        rto = cfg->rto_min / SF_USEC; /* 2.4 */
    if (rto > cfg->rto_max / SF_USEC)
        rto = cfg->rto_max / SF_USEC; /* 2.5 */
    c->rto_us = (uint32_t)rto;
}

/* RFC 6298 5.2-5.3: after new data is acknowledged. */
void tcp_rexmt_restart(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->nrexmt = 0;
    c->orphan_tries = 0; /* progress: the orphan may go on */
    c->una_since_ms = tcp_now_ms(ctx);
    if (c->snd_una == c->snd_max) {
        tcp_timer_stop(ctx, c, TT_REXMT);
    } else {
        tcp_timer_start(ctx, c, TT_REXMT, tcp_rto(c));
        tcp_tlp_arm(ctx, c); /* RFC 8985 7.2: on an ACK of new data */
    }
}

/* Anything received: the peer is alive (keepalive restarts its idle). */
void tcp_keepalive_reset(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->last_rcv_ms = tcp_now_ms(ctx);
    c->keepprobes = 0;
    if (keepalive_applies(c) && !tcp_timer_pending(c, TT_KEEP))
        tcp_timer_start(ctx, c, TT_KEEP, (sf_time_t)c->keepidle_ms * SF_MSEC);
}

/* SO_KEEPALIVE. Turned on, the first probe is due a full keepidle from
 * now (the idle time is still measured from the last segment received,
 * when the timer fires); turned off, the timer stops. */
void tcp_keepalive_enable(struct tcp_ctx *ctx, struct sf_conn *c, bool on)
{
    bool was = c->keepalive;
    c->keepalive = on;
    if (on == was || !keepalive_state(c))
        return;
    c->keepprobes = 0;
    if (on)
        tcp_timer_start(ctx, c, TT_KEEP, (sf_time_t)c->keepidle_ms * SF_MSEC);
    else
        tcp_timer_stop(ctx, c, TT_KEEP);
}

/* TCP_KEEPIDLE or TCP_KEEPINTVL changed on a connection whose keepalive
 * timer runs (RFC 1122 4.2.3.6: the interval MUST be configurable): the
 * new times apply at once, not once the timer started with the old ones
 * (2 hours by default) fires. Idle, the first probe is due keepidle after
 * the last segment received (at once if that is past); probing, the next
 * probe keepintvl after the last one, which went out old_intvl_ms before
 * the running deadline. */
void tcp_keepalive_retime(struct tcp_ctx *ctx, struct sf_conn *c,
                          uint32_t old_intvl_ms)
{
    if (!keepalive_applies(c))
        return;
    sf_time_t after = 0;
    if (c->keepprobes == 0) {
        uint32_t idle = tcp_now_ms(ctx) - c->last_rcv_ms;
        if (idle < c->keepidle_ms)
            after = (sf_time_t)(c->keepidle_ms - idle) * SF_MSEC;
    } else if (tcp_timer_pending(c, TT_KEEP)) {
        sf_time_t old = (sf_time_t)old_intvl_ms * SF_MSEC;
        sf_time_t d = c->deadline[TT_KEEP];
        sf_time_t last = d > old ? d - old : 0; /* the last probe */
        if (last > ctx->now)
            last = ctx->now;
        sf_time_t due = last + (sf_time_t)c->keepintvl_ms * SF_MSEC;
        if (due > ctx->now)
            after = due - ctx->now;
    } else {
        after = (sf_time_t)c->keepintvl_ms * SF_MSEC;
    }
    tcp_timer_start(ctx, c, TT_KEEP, after);
}
