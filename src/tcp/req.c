/* Small records for the two states that crowd a busy server: half-open
 * passive connections (SYN_RCVD, the SYN queue) and TIME_WAIT. Each is
 * expanded into a full TCB on the caller's stack when something happens
 * to it, so that one implementation of RFC 9293 3.10 serves all; then it
 * is folded back, promoted to a real connection, or deleted. Also SYN
 * cookies (RFC 4987), which keep no record at all. */
#include <string.h>

#include "base/siphash.h"
#include "tcp/tcp_int.h"

/* ------------------------------------------------------------ requests */

static void synq_push(struct sf_conn *l, struct tcp_req *r)
{
    r->qprev = NULL;
    r->qnext = l->lq->synq;
    if (l->lq->synq)
        l->lq->synq->qprev = r;
    l->lq->synq = r;
    l->lq->synq_len++;
}

void tcp_req_unlink(struct tcp_req *r)
{
    struct sf_conn *l = r->listener;
    if (!l)
        return;
    if (r->qprev)
        r->qprev->qnext = r->qnext;
    else
        l->lq->synq = r->qnext;
    if (r->qnext)
        r->qnext->qprev = r->qprev;
    r->qnext = r->qprev = NULL;
    l->lq->synq_len--;
    r->listener = NULL;
}

/* Folds the TCB's handshake state into r (timer included) and frees what
 * the TCB held; the SYN_RCVD count stays with r. */
void tcp_req_deflate(struct tcp_ctx *ctx, struct tcp_req *r,
                     struct sf_conn *tmp)
{
    r->nrexmt = tmp->nrexmt;
    r->rto_ms = tmp->rto_us / 1000;
    r->syn_rexmitted = tmp->syn_rexmitted;
    r->snd_wnd = (uint16_t)tmp->snd_wnd;
    r->snd_mss = tmp->snd_mss;
    sf_time_t due = tmp->deadline[TT_REXMT];
    tcp_timers_stop_all(ctx, tmp);
    if (due == SF_TIME_NEVER)
        wheel_stop(&ctx->wheel, &r->timer);
    else
        wheel_start(&ctx->wheel, &r->timer, due);
    ring_free(&tmp->sndbuf);
    ring_free(&tmp->rcvbuf);
    tcp_reass_free(tmp);
}

void tcp_req_from_conn(struct tcp_ctx *ctx, struct tcp_req *r,
                       struct sf_conn *l, struct sf_conn *tmp)
{
    memset(r, 0, sizeof *r);
    wheel_timer_init(&r->timer, TK_REQ);
    r->local = tmp->local;
    r->remote = tmp->remote;
    r->iss = tmp->iss;
    r->irs = tmp->irs;
    r->listener = l;
    synq_push(l, r);
    tcp_req_deflate(ctx, r, tmp);
}

void tcp_inherit(struct sf_conn *c, const struct sf_conn *l)
{
    c->reuseaddr = l->reuseaddr;
    c->sndbuf_size = l->sndbuf_size;
    c->rcvbuf_size = l->rcvbuf_size;
    c->user_mss = l->user_mss;
    c->nodelay = l->nodelay;
    c->keepalive = l->keepalive;
    c->keepidle_ms = l->keepidle_ms;
    c->keepintvl_ms = l->keepintvl_ms;
    c->keepcnt = l->keepcnt;
    c->user_timeout_ms = l->user_timeout_ms;
    c->linger_on = l->linger_on;
    c->linger_secs = l->linger_secs;
    c->cc_algo = l->cc_algo; /* TCP_CONGESTION */
}

/* Starts tmp as a TCB that the caller's record already counts in state. */
static void tmp_init(struct tcp_ctx *ctx, struct sf_conn *tmp,
                     enum sf_state state)
{
    tcp_conn_init(ctx, tmp);
    ctx->ctr.conns_in_state[SF_CLOSED]--;
    tmp->state = state;
}

void tcp_req_inflate(struct tcp_ctx *ctx, const struct tcp_req *r,
                     struct sf_conn *tmp)
{
    tmp_init(ctx, tmp, SF_SYN_RCVD);
    if (r->listener)
        tcp_inherit(tmp, r->listener);
    tmp->passive = true;
    tmp->local = r->local;
    tmp->remote = r->remote;
    tmp->iss = r->iss;
    tmp->irs = r->irs;
    tmp->snd_una = r->iss;
    tmp->snd_nxt = tmp->snd_max = r->iss + 1;
    tmp->snd_buf_seq = r->iss + 1;
    tmp->snd_sml = r->iss;
    tmp->rcv_nxt = tmp->rcv_acked = r->irs + 1;
    tmp->snd_wnd = tmp->max_snd_wnd = r->snd_wnd;
    tmp->snd_wl1 = r->irs;
    tmp->snd_mss = r->snd_mss;
    tmp->rto_us = r->rto_ms * 1000;
    tmp->nrexmt = r->nrexmt;
    tmp->syn_rexmitted = r->syn_rexmitted;
    tmp->rcv_wnd = tcp_rcv_window(tmp);
    /* the record's timer is the TCB's retransmission deadline */
    tmp->deadline[TT_REXMT] =
        wheel_timer_pending(&r->timer) ? r->timer.expires : SF_TIME_NEVER;
}

void tcp_conn_move(struct tcp_ctx *ctx, struct sf_conn *dst,
                   struct sf_conn *src)
{
    wheel_stop(&ctx->wheel, &src->timer);
    memcpy(dst, src, sizeof *dst);
    wheel_timer_init(&dst->timer, TK_CONN);
    tcp_timer_rearm(ctx, dst);
}

/* ----------------------------------------------------------- TIME_WAIT */

void tcp_tw_inflate(struct tcp_ctx *ctx, const struct tcp_tw *tw,
                    struct sf_conn *tmp)
{
    tmp_init(ctx, tmp, SF_TIME_WAIT);
    tmp->local = tw->local;
    tmp->remote = tw->remote;
    tmp->snd_una = tmp->snd_nxt = tmp->snd_max = tw->snd_nxt;
    tmp->syn_acked = true;
    tmp->iss = tw->snd_nxt - 1;
    tmp->snd_buf_seq = tw->snd_nxt - 1;
    tmp->fin_queued = true;
    tmp->fin_seq = tw->snd_nxt - 1; /* our FIN, acknowledged */
    tmp->rcv_nxt = tmp->rcv_acked = tw->rcv_nxt;
    tmp->fin_rcvd = tmp->rfin = true;
    tmp->rfin_seq = tw->rcv_nxt - 1;
    tmp->app_closed = true;
    tmp->snd_wl1 = tw->rcv_nxt;
    tmp->snd_wl2 = tw->snd_nxt;
    tmp->rcv_wnd = tcp_rcv_window(tmp);
    tmp->deadline[TT_WAIT] = tw->expires;
}

/* ------------------------------------------------------- SYN cookies */

/* RFC 4987 3.6: the ISN carries what the server would have kept: a coarse
 * time t (5 bits), an MSS class (3 bits) and 24 bits of a keyed hash of
 * the 4-tuple, the client's ISN and t. Valid for two periods. */
#define COOKIE_PERIOD (64 * SF_SEC)
static const uint16_t cookie_mss[8] = {536, 1200, 1300, 1360,
                                       1400, 1440, 1460, 8960};

static uint32_t cookie_hash(const struct tcp_ctx *ctx,
                            const struct sf_ipv4 *ip, const struct sf_tcp *seg,
                            uint32_t irs, uint32_t t)
{
    uint32_t v[5] = {ip->src, ip->dst,
                     ((uint32_t)seg->sport << 16) | seg->dport, irs, t};
    uint8_t b[20];
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++)
            b[i * 4 + k] = (uint8_t)(v[i] >> (8 * k));
    return (uint32_t)siphash24(ctx->cookie_key, b, sizeof b) & 0xffffff;
}

void tcp_send_cookie(struct tcp_ctx *ctx, struct sf_conn *l,
                     const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    uint16_t peer = tcp_peer_mss(ctx, seg); /* with the floor */
    uint16_t ours = tcp_our_mss(ctx, l);
    uint16_t mss = peer < ours ? peer : ours;
    unsigned idx = 0;
    for (unsigned i = 0; i < 8; i++)
        if (cookie_mss[i] <= mss)
            idx = i;
    uint32_t t = (uint32_t)(ctx->now / COOKIE_PERIOD);
    uint32_t cookie = ((t & 31u) << 27) | (idx << 24) |
                      cookie_hash(ctx, ip, seg, seg->seq, t);
    ctx->ctr.c[SF_CTR_SYNCOOKIES_SENT]++;
    l->lq->last_cookie = ctx->now + 1;
    uint32_t wnd = l->rcvbuf_size > 65535 ? 65535 : l->rcvbuf_size;
    struct sf_tcp synack = {.sport = seg->dport, .dport = seg->sport,
                            .seq = cookie, .ack = seg->seq + 1,
                            .flags = SF_SYN | SF_ACK, .win = (uint16_t)wnd};
    synack.opt.has_mss = true;
    synack.opt.mss = ours;
    tcp_emit(ctx, -1, ip->dst, ip->src, &synack);
}

uint16_t tcp_cookie_check(struct tcp_ctx *ctx, const struct sf_conn *l,
                          const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    /* Only while cookies may be out there: a stray ACK is not a cookie. */
    if (!ctx->cfg->syncookies || l->lq->last_cookie == 0 ||
        ctx->now + 1 - l->lq->last_cookie > 2 * COOKIE_PERIOD)
        return 0;
    uint32_t cookie = seg->ack - 1, irs = seg->seq - 1;
    uint32_t now_t = (uint32_t)(ctx->now / COOKIE_PERIOD);
    for (uint32_t age = 0; age < 2 && age <= now_t; age++) {
        uint32_t t = now_t - age;
        if ((cookie >> 27) == (t & 31u) &&
            (cookie & 0xffffff) == cookie_hash(ctx, ip, seg, irs, t)) {
            ctx->ctr.c[SF_CTR_SYNCOOKIES_OK]++;
            return cookie_mss[(cookie >> 24) & 7];
        }
    }
    ctx->ctr.c[SF_CTR_SYNCOOKIES_BAD]++;
    ctx->ctr.drops[SF_DROP_COOKIE_BAD]++;
    return 0;
}

void tcp_cookie_spawn(struct tcp_ctx *ctx, struct sf_conn *l,
                      struct sf_conn *tmp, const struct sf_ipv4 *ip,
                      const struct sf_tcp *seg)
{
    uint32_t cookie = seg->ack - 1;
    struct sf_tcp syn = {.sport = seg->sport, .dport = seg->dport,
                         .seq = seg->seq - 1, .flags = SF_SYN,
                         .win = seg->win};
    syn.opt.has_mss = true;
    syn.opt.mss = cookie_mss[(cookie >> 24) & 7];
    tcp_listen_spawn(ctx, l, tmp, ip, &syn, cookie, false);
}
