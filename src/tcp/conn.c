/* The TCB's life: creation, the one function every state change goes
 * through, termination, tracing and STATUS. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/cc.h"
#include "tcp/tcp_int.h"

void tcp_conn_init(struct tcp_ctx *ctx, struct sf_conn *c)
{
    const struct sf_stack_cfg *cfg = ctx->cfg;
    memset(c, 0, sizeof *c);
    c->sd = -1;
    c->state = SF_CLOSED;
    wheel_timer_init(&c->timer, TK_CONN);
    for (int i = 0; i < TT_NWIDE; i++)
        c->deadline[i] = SF_TIME_NEVER;
    c->rto_us = (uint32_t)(cfg->rto_initial / SF_USEC);
    c->keepidle_ms = (uint32_t)(cfg->keepidle / SF_MSEC);
    c->keepintvl_ms = (uint32_t)(cfg->keepintvl / SF_MSEC);
    c->keepcnt = cfg->keepcnt;
    c->sndbuf_size = cfg->sndbuf;
    c->rcvbuf_size = cfg->rcvbuf;
    c->sack_want = cfg->sack;
    c->rack_want = cfg->rack;
    c->ecn_mode = cfg->ecn;
    c->snd_mss = TCP_DEFAULT_MSS; /* RFC 9293 3.7.1: without the option */
    c->want_wscale = cfg->wscale; /* RFC 7323, per stack, then socket */
    c->want_ts = cfg->timestamps;
    c->pace_on = cfg->pacing; /* pacing.c */
    ring_init(&c->sndbuf);
    ring_init(&c->rcvbuf);
    ctx->ctr.conns_in_state[SF_CLOSED]++;
}

void tcp_conn_destroy(struct tcp_ctx *ctx, struct sf_conn *c)
{
    tcp_timers_stop_all(ctx, c);
    tcp_sndbuf_free(ctx, c);
    ring_free(&c->rcvbuf);
    tcp_reass_free(c);
    tcp_sack_free(c);
    tcp_rack_free(c);
    tcp_cc_free(c);
    free(c->lq);
    c->lq = NULL;
    ctx->ctr.conns_in_state[c->state]--;
}

static void trace_emit(struct tcp_ctx *ctx, struct sf_trace_event *ev)
{
    if (!ctx->cfg->trace)
        return;
    ev->now = ctx->now;
    ctx->cfg->trace(ctx->cfg->trace_ctx, ev);
}

static void trace_conn_event(struct tcp_ctx *ctx, const struct sf_conn *c,
                             struct sf_trace_event *ev)
{
    ev->sd = c ? c->sd : -1;
    if (c) {
        ev->local = c->local;
        ev->remote = c->remote;
    }
    trace_emit(ctx, ev);
}

void tcp_conn_init_record(struct tcp_ctx *ctx, struct sf_conn *tmp,
                          enum sf_state state)
{
    tcp_conn_init(ctx, tmp);
    ctx->ctr.conns_in_state[SF_CLOSED]--;
    tmp->state = state;
}

void tcp_set_state_untraced(struct tcp_ctx *ctx, struct sf_conn *c,
                            enum sf_state to, enum sf_cause cause)
{
    enum sf_state from = c->state;
    int idx = sf_transition_index(from, to, cause);
    /* An illegal transition is a bug in this engine, never the network's
     * doing: every input path must end in a legal edge of the table. */
    assert(idx >= 0 && "illegal TCP state transition");
    (void)idx;
    ctx->ctr.conns_in_state[from]--;
    ctx->ctr.conns_in_state[to]++;
    c->state = to;
}

void tcp_set_state(struct tcp_ctx *ctx, struct sf_conn *c, enum sf_state to,
                   enum sf_cause cause)
{
    enum sf_state from = c->state;
    tcp_set_state_untraced(ctx, c, to, cause);
    if (to == SF_ESTABLISHED)
        ctx->ctr.c[SF_CTR_ESTABLISHED]++;
    if (!ctx->cfg->trace)
        return; /* the event is not even built (addresses: 2 x 20 bytes) */
    struct sf_trace_event ev = {.kind = SF_TRACE_STATE, .from = from,
                                .to = to, .cause = cause};
    trace_conn_event(ctx, c, &ev);
}

/* A checked segment as the trace shows it. */
static void seg_info(struct sf_seg_info *si, const struct tcp_ip *ip,
                     const struct sf_tcp *seg, const uint8_t *dgram,
                     size_t len)
{
    *si = (struct sf_seg_info){
        .src = ip->src, .dst = ip->dst,
        .seq = seg->seq, .ack = seg->ack, .win = seg->win, .urp = seg->urp,
        .flags = seg->flags, .len = (uint32_t)seg->len,
        .has_mss = seg->opt.has_mss, .has_wscale = seg->opt.has_wscale,
        .sack_ok = seg->opt.sack_ok, .has_ts = seg->opt.has_ts,
        .mss = seg->opt.mss, .wscale = seg->opt.wscale,
        .nsack = seg->opt.nsack, .ts_val = seg->opt.ts_val,
        .ts_ecr = seg->opt.ts_ecr, .dgram = dgram, .dgram_len = len};
    memcpy(si->sack, seg->opt.sack, sizeof si->sack);
}

void tcp_drop(struct tcp_ctx *ctx, struct sf_conn *c, enum sf_drop why,
              const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    ctx->ctr.c[SF_CTR_DROPS]++;
    ctx->ctr.drops[why]++;
    if (!ctx->cfg->trace)
        return;
    struct sf_seg_info si;
    struct sf_trace_event ev = {.kind = SF_TRACE_DROP, .drop = why};
    if (ip && seg) {
        seg_info(&si, ip, seg, NULL, 0);
        ev.seg = &si;
        if (!c) {
            ev.local = si.dst;
            ev.remote = si.src;
        }
    }
    trace_conn_event(ctx, c, &ev);
}

void tcp_note(struct tcp_ctx *ctx, struct sf_conn *c, const char *note)
{
    struct sf_trace_event ev = {.kind = SF_TRACE_NOTE, .note = note};
    trace_conn_event(ctx, c, &ev);
}

void tcp_trace_seg(struct tcp_ctx *ctx, enum sf_trace_kind kind, int sd,
                   const struct tcp_ip *ip, const struct sf_tcp *seg,
                   const uint8_t *dgram, size_t len)
{
    if (!ctx->cfg->trace)
        return;
    struct sf_seg_info si;
    seg_info(&si, ip, seg, dgram, len);
    struct sf_trace_event ev = {.kind = kind, .sd = sd, .seg = &si};
    if (kind == SF_TRACE_SEG_OUT) {
        ev.local = si.src;
        ev.remote = si.dst;
    } else {
        ev.local = si.dst;
        ev.remote = si.src;
    }
    trace_emit(ctx, &ev);
}

void tcp_wakeup(struct tcp_ctx *ctx, struct sf_conn *c)
{
    const struct sf_stack_cfg *cfg = ctx->cfg;
    if (!cfg->wakeup)
        return;
    if (c->sd >= 0)
        cfg->wakeup(cfg->wakeup_ctx, c->sd);
}

void tcp_terminate(struct tcp_ctx *ctx, struct sf_conn *c, int error,
                   enum sf_cause cause)
{
    bool timeout = error == SF_ETIMEDOUT;
    /* RFC 9293 3.9.2.2 (SHLD-25), as Linux: a timeout with an ICMP soft
     * error since the last progress reports that error (EHOSTUNREACH,
     * ...) rather than ETIMEDOUT */
    if (timeout && c->soft_error && c->soft_una == c->snd_una)
        error = c->soft_error;
    if (error) {
        c->error = error;
        c->reset_error = error;
    }
    if (error == SF_ECONNRESET || error == SF_ECONNREFUSED)
        ctx->ctr.c[SF_CTR_RESETS]++;
    if (timeout)
        ctx->ctr.c[SF_CTR_TIMEOUTS]++;
    if (c->state == SF_SYN_SENT || c->state == SF_SYN_RCVD)
        ctx->ctr.c[SF_CTR_ATTEMPT_FAILS]++;
    tcp_timers_stop_all(ctx, c);
    tcp_set_state(ctx, c, SF_CLOSED, cause);
    /* RFC 9293 3.10.7.4: "All segment queues should be flushed." Unread
     * received data stays readable only after an orderly end. */
    tcp_sndbuf_free(ctx, c);
    if (error)
        ring_free(&c->rcvbuf);
    tcp_reass_free(c);
    tcp_sack_free(c);
    tcp_rack_free(c);
    tcp_cc_free(c);
    c->dead = true;
    tcp_wakeup(ctx, c);
}

/* STATUS: the timer due first, and when. */
static void info_timer(const struct tcp_ctx *ctx, const struct sf_conn *c,
                       struct sf_tcp_info *info)
{
    info->timer = SF_TIMER_NONE;
    info->timer_expires = SF_TIME_NEVER;
    static const enum sf_timer_kind kinds[TT_NTIMERS] = {
        [TT_REXMT] = SF_TIMER_RETRANSMIT, [TT_DELACK] = SF_TIMER_DELACK,
        [TT_LONG] = SF_TIMER_TIME_WAIT, [TT_PACE] = SF_TIMER_PACING};
    for (int i = 0; i < TT_NTIMERS; i++) {
        sf_time_t d = tcp_deadline(ctx, c, (enum tcp_timer_slot)i);
        if (d < info->timer_expires) {
            info->timer = kinds[i];
            if (i == TT_LONG && c->state == SF_FIN_WAIT_2)
                info->timer = c->app_closed ? SF_TIMER_FIN_WAIT_2
                                            : SF_TIMER_KEEPALIVE;
            if (i == TT_LONG &&
                (c->state == SF_ESTABLISHED || c->state == SF_CLOSE_WAIT ||
                 c->state == SF_FIN_WAIT_1))
                info->timer = SF_TIMER_KEEPALIVE;
            if (i == TT_REXMT && c->persist_on)
                info->timer = SF_TIMER_PERSIST;
            info->timer_expires = d;
        }
    }
}

void tcp_info(const struct tcp_ctx *ctx, const struct sf_conn *c,
              struct sf_tcp_info *info)
{
    memset(info, 0, sizeof *info);
    info->state = c->state;
    info->sd = c->sd;
    info->local = c->local;
    info->remote = c->remote;
    /* no peer yet (LISTEN, or CLOSED): the unspecified address of the
     * socket's own family, [::]:0 for an IPv6 socket, as ss shows it */
    if (c->remote.family != SF_AF_INET6 && c->local.family == SF_AF_INET6 &&
        c->remote.ip == 0 && c->remote.port == 0)
        info->remote = (struct sf_addr){.family = SF_AF_INET6};
    info->iss = c->iss;
    info->irs = c->irs;
    info->snd_una = c->snd_una;
    info->snd_nxt = c->snd_nxt;
    info->snd_wnd = c->snd_wnd;
    info->snd_mss = c->snd_mss;
    info->rcv_nxt = c->rcv_nxt;
    info->rcv_wnd = c->rcv_wnd;
    info->sndq = ring_len(&c->sndbuf);
    info->rcvq = c->lq ? c->lq->acceptq_len : ring_len(&c->rcvbuf);
    info->rto = tcp_rto(c);
    info->retransmits = c->nrexmt;
    info->error = c->error;
    info->snd_cwnd = c->cwnd;
    info->snd_ssthresh = c->ssthresh;
    info->wscale_ok = c->wscale_ok;
    info->snd_wscale = c->wscale_ok ? c->snd_wscale : 0;
    info->rcv_wscale = c->wscale_ok ? c->rcv_wscale : 0;
    info->ts_ok = c->ts_ok;
    info->sndbuf = c->sndbuf_size;
    info->rcvbuf = c->rcvbuf_size;
    info->snd_mem = ring_cap(&c->sndbuf);
    info->rcv_mem = ring_cap(&c->rcvbuf);
    info->srtt_us = c->have_rtt ? c->srtt_us : 0;
    info->rttvar_us = c->have_rtt ? c->rttvar_us : 0;
    info_timer(ctx, c, info);
}

/* Moves a TCB (its timer re-armed) from src to dst. */
void tcp_conn_move(struct tcp_ctx *ctx, struct sf_conn *dst,
                   struct sf_conn *src)
{
    wheel_stop(&ctx->wheel, &src->timer);
    memcpy(dst, src, sizeof *dst);
    wheel_timer_init(&dst->timer, TK_CONN);
    tcp_timer_rearm(ctx, dst);
}
