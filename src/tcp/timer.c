/* The timeouts of RFC 9293 3.10.8 and 3.8: retransmission (with persist
 * folded in), TIME_WAIT, the orphaned FIN_WAIT_2 limit. Every timer is an
 * intrusive entry on the stack's one timing wheel. */
#include <stddef.h>

#include "tcp/tcp_int.h"

void tcp_timer_start(struct tcp_ctx *ctx, struct sf_conn *c,
                     enum tcp_timer_slot slot, sf_time_t after)
{
    sf_wheel_start(&ctx->wheel, &c->timers[slot], ctx->now + after);
}

void tcp_timer_stop(struct tcp_ctx *ctx, struct sf_conn *c,
                    enum tcp_timer_slot slot)
{
    sf_wheel_stop(&ctx->wheel, &c->timers[slot]);
}

void tcp_timers_stop_all(struct tcp_ctx *ctx, struct sf_conn *c)
{
    for (int i = 0; i < TT_NTIMERS; i++)
        tcp_timer_stop(ctx, c, (enum tcp_timer_slot)i);
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

static unsigned rexmt_limit(const struct tcp_ctx *ctx, const struct sf_conn *c)
{
    if (c->state == SF_SYN_SENT)
        return ctx->cfg->syn_retries;
    if (c->state == SF_SYN_RCVD)
        return ctx->cfg->synack_retries;
    return ctx->cfg->r2;
}

/* RFC 9293 3.8.6.1: with the peer's window closed and nothing in flight,
 * probe it with one byte past the window so that a lost window update
 * cannot deadlock the connection. */
static void persist_probe(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->snd_wnd = c->snd_nxt - c->snd_una + 1; /* let one byte out */
    tcp_output_limit(ctx, c, 1);
    c->snd_wnd = 0;
}

/* RFC 6298 5.4-5.6 and RFC 9293 3.10.8 RETRANSMISSION TIMEOUT. */
static void rexmt_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->snd_una == c->snd_max) {
        trace_timer(ctx, c, SF_TIMER_PERSIST);
        persist_probe(ctx, c);
        return;
    }
    trace_timer(ctx, c, SF_TIMER_RETRANSMIT);
    c->nrexmt++;
    /* RFC 1122 4.2.3.5: at R2 (SYN: the SYN retry limit), give up. */
    if (c->nrexmt > rexmt_limit(ctx, c)) {
        tcp_terminate(ctx, c, SF_ETIMEDOUT, SF_CAUSE_TIMEOUT_RETRANSMIT);
        return;
    }
    /* At R1, "pass negative advice to IP": we have no routes to
     * reconsider, so the event is counted and traced. */
    if (c->nrexmt == ctx->cfg->r1) {
        ctx->ctr.c[SF_CTR_R1_REACHED]++;
        tcp_note(ctx, c, "R1 reached (RFC 1122 4.2.3.5)");
    }
    ctx->ctr.c[SF_CTR_RETRANSMITS]++;
    c->rtt_timing = false; /* Karn: no sample from a retransmitted segment */
    if (c->state == SF_SYN_SENT || c->state == SF_SYN_RCVD)
        c->syn_rexmitted = true;
    /* RFC 6298 5.5: back off the timer. */
    c->rto = c->rto * 2 > ctx->cfg->rto_max ? ctx->cfg->rto_max : c->rto * 2;
    /* 5.6, then 5.4: restart, retransmit the earliest unacknowledged
     * segment (go back to SND.UNA; the rest follows as ACKs arrive). */
    tcp_timer_start(ctx, c, TT_REXMT, c->rto);
    c->snd_nxt = c->snd_una;
    tcp_output_limit(ctx, c, 1);
}

static void wait_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->state == SF_TIME_WAIT) {
        /* RFC 9293 3.10.8 TIME-WAIT TIMEOUT: delete the TCB. */
        trace_timer(ctx, c, SF_TIMER_TIME_WAIT);
        tcp_terminate(ctx, c, 0, SF_CAUSE_TIMEOUT_TIME_WAIT);
    } else if (c->state == SF_FIN_WAIT_2) {
        /* Not in the RFC: a peer that never sends its FIN would hold an
         * orphaned connection forever; BSD and Linux time it out. */
        trace_timer(ctx, c, SF_TIMER_FIN_WAIT_2);
        tcp_terminate(ctx, c, 0, SF_CAUSE_TIMEOUT_FIN_WAIT_2);
    }
}

struct sf_conn *tcp_timer_fire(struct tcp_ctx *ctx, struct sf_timer *t)
{
    unsigned slot = t->kind;
    struct sf_conn *c = (struct sf_conn *)((char *)(t - slot) -
                                           offsetof(struct sf_conn, timers));
    switch (slot) {
    case TT_REXMT:
        rexmt_fire(ctx, c);
        break;
    case TT_WAIT:
        wait_fire(ctx, c);
        break;
    default:
        break;
    }
    return c;
}

/* RFC 6298 2.2-2.4: a new RTT measurement r. */
void tcp_rto_sample(struct tcp_ctx *ctx, struct sf_conn *c, sf_time_t r)
{
    const struct sf_stack_cfg *cfg = ctx->cfg;
    if (!c->have_rtt) {
        c->srtt = r;
        c->rttvar = r / 2;
        c->have_rtt = true;
    } else {
        sf_time_t delta = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + delta) / 4; /* beta = 1/4 */
        c->srtt = (7 * c->srtt + r) / 8;         /* alpha = 1/8 */
    }
    sf_time_t k = 4 * c->rttvar;
    if (k < cfg->timer_granularity)
        k = cfg->timer_granularity;
    sf_time_t rto = c->srtt + k;
    if (rto < cfg->rto_min)
        rto = cfg->rto_min; /* 2.4 */
    if (rto > cfg->rto_max)
        rto = cfg->rto_max; /* 2.5 */
    c->rto = rto;
}

/* RFC 6298 5.2-5.3: after new data is acknowledged. */
void tcp_rexmt_restart(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->nrexmt = 0;
    if (c->snd_una == c->snd_max)
        tcp_timer_stop(ctx, c, TT_REXMT);
    else
        tcp_timer_start(ctx, c, TT_REXMT, c->rto);
}

void tcp_keepalive_reset(struct tcp_ctx *ctx, struct sf_conn *c)
{
    (void)ctx;
    (void)c; /* keepalive arrives with the byte-stream work */
}
