/* The small records of the stack: SYN-queue requests (and the cookies that
 * replace them under a flood) and TIME_WAIT records. Each is expanded into
 * a full TCB on the C stack for tcp/ to process, then settled: folded
 * back, promoted to a real connection, or deleted. */
#include <stdlib.h>
#include <string.h>

#include "stack/stack_int.h"

static void drop(struct sf_stack *st, enum sf_drop why,
                 const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    tcp_drop(&st->tcp, NULL, why, ip, seg);
}

/* --------------------------------------------------------- requests */

static void req_delete(struct sf_stack *st, struct tcp_req *r)
{
    tcp_req_unlink(r);
    wheel_stop(&st->tcp.wheel, &r->timer);
    ttab_remove(&st->reqs, r);
    free(r);
}

/* The handshake completed: the TCB gets its own memory and waits in the
 * listener's accept queue. */
static void promote(struct sf_stack *st, struct sf_conn *l,
                    struct sf_conn *tmp)
{
    struct tcp_ctx *ctx = &st->tcp;
    struct sf_conn *c = malloc(sizeof *c);
    if (!c) {
        tcp_abort(ctx, tmp); /* no memory: tell the peer at once */
        tcp_conn_destroy(ctx, tmp);
        return;
    }
    tcp_conn_move(ctx, c, tmp);
    c->sd = -1;
    stack_port_link(st, c, c->local.port); /* a count: cannot fail here */
    stack_hash_conn(st, c);
    if (!c->dead)
        tcp_accept_push(ctx, l, c);
    stack_reap(st, c);
}

static unsigned backlog(const struct sf_conn *l)
{
    return l->lq->backlog > 0 ? (unsigned)l->lq->backlog : 1;
}

/* Linux's answer to a full accept queue, which the issue asks for: the
 * final ACK is dropped; the client's retransmission or our SYN,ACK
 * retransmission brings the handshake back once there is room. */
static bool acceptq_full(struct sf_stack *st, const struct sf_conn *l,
                         const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    if (!(seg->flags & SF_ACK) || (seg->flags & (SF_SYN | SF_RST)) ||
        l->lq->acceptq_len < backlog(l))
        return false;
    drop(st, SF_DROP_ACCEPTQ_FULL, ip, seg);
    return true;
}

static void req_settle(struct sf_stack *st, struct tcp_req *r,
                       struct sf_conn *tmp)
{
    struct tcp_ctx *ctx = &st->tcp;
    struct sf_conn *l = r->listener;
    if (tmp->dead) {
        tcp_conn_destroy(ctx, tmp);
        req_delete(st, r);
    } else if (tmp->state == SF_SYN_RCVD) {
        tcp_req_deflate(ctx, r, tmp);
    } else {
        req_delete(st, r);
        promote(st, l, tmp);
    }
}

void stack_req_input(struct sf_stack *st, struct tcp_req *r,
                     const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    if (acceptq_full(st, r->listener, ip, seg))
        return;
    struct sf_conn tmp;
    tcp_req_inflate(&st->tcp, r, &tmp);
    tcp_segment_arrives(&st->tcp, &tmp, ip, seg);
    req_settle(st, r, &tmp);
}

void stack_req_timer(struct sf_stack *st, struct tcp_req *r)
{
    struct sf_conn tmp;
    tcp_req_inflate(&st->tcp, r, &tmp);
    tmp.deadline[TT_REXMT] = st->tcp.now; /* popped from the wheel: due */
    tcp_conn_timer_fire(&st->tcp, &tmp);
    req_settle(st, r, &tmp);
}

/* A SYN for a listener: a new half-open connection, kept as a request.
 * tw_snd_nxt: the SND.NXT of the TIME_WAIT record it replaces, or NULL. */
static void spawn(struct sf_stack *st, struct sf_conn *l,
                  const struct sf_ipv4 *ip, const struct sf_tcp *seg,
                  const uint32_t *tw_snd_nxt)
{
    struct tcp_ctx *ctx = &st->tcp;
    struct tcp_req *r = malloc(sizeof *r);
    if (!r) {
        drop(st, SF_DROP_NO_MEMORY, ip, seg);
        return;
    }
    struct sf_conn tmp;
    tcp_conn_init(ctx, &tmp);
    struct sf_addr local = {ip->dst, seg->dport}, remote = {ip->src, seg->sport};
    uint32_t iss = tw_snd_nxt
                       ? tcp_isn_above(ctx, &local, &remote, *tw_snd_nxt)
                       : tcp_isn(ctx, &local, &remote);
    tcp_listen_spawn(ctx, l, &tmp, ip, seg, iss, true);
    tcp_req_from_conn(ctx, r, l, &tmp);
    ttab_insert(&st->reqs, r);
}

/* An ACK returning a valid SYN cookie: the connection the SYN queue had
 * no room for, rebuilt from the cookie (RFC 4987 3.6). */
static void cookie_spawn(struct sf_stack *st, struct sf_conn *l,
                         const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    if (acceptq_full(st, l, ip, seg))
        return;
    struct sf_conn tmp;
    tcp_conn_init(&st->tcp, &tmp);
    tcp_cookie_spawn(&st->tcp, l, &tmp, ip, seg);
    tcp_segment_arrives(&st->tcp, &tmp, ip, seg);
    if (tmp.dead || tmp.state == SF_SYN_RCVD) {
        tcp_timers_stop_all(&st->tcp, &tmp);
        tcp_conn_destroy(&st->tcp, &tmp);
        return;
    }
    promote(st, l, &tmp);
}

static void listen_input(struct sf_stack *st, struct sf_conn *l,
                         const struct sf_ipv4 *ip, const struct sf_tcp *seg,
                         const uint32_t *tw_snd_nxt)
{
    switch (tcp_listen_segment(&st->tcp, l, ip, seg)) {
    case TCP_LISTEN_SPAWN:
        spawn(st, l, ip, seg, tw_snd_nxt);
        break;
    case TCP_LISTEN_COOKIE:
        cookie_spawn(st, l, ip, seg);
        break;
    default:
        break;
    }
}

void stack_listen_input(struct sf_stack *st, struct sf_conn *l,
                        const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    listen_input(st, l, ip, seg, NULL);
}

/* ----------------------------------------------------- TIME_WAIT FIFO */

static void tw_arm(struct sf_stack *st)
{
    if (st->tw_head)
        wheel_start(&st->tcp.wheel, &st->tw_timer, st->tw_head->expires);
    else
        wheel_stop(&st->tcp.wheel, &st->tw_timer);
}

static void fifo_remove(struct sf_stack *st, struct tcp_tw *tw)
{
    if (tw->prev)
        tw->prev->next = tw->next;
    else
        st->tw_head = tw->next;
    if (tw->next)
        tw->next->prev = tw->prev;
    else
        st->tw_tail = tw->prev;
    tw->next = tw->prev = NULL;
}

/* In expiry order; nearly always at the tail, so O(1). */
static void fifo_insert(struct sf_stack *st, struct tcp_tw *tw)
{
    struct tcp_tw *after = st->tw_tail;
    while (after && after->expires > tw->expires)
        after = after->prev;
    tw->prev = after;
    tw->next = after ? after->next : st->tw_head;
    if (tw->next)
        tw->next->prev = tw;
    else
        st->tw_tail = tw;
    if (after)
        after->next = tw;
    else
        st->tw_head = tw;
}

static void tw_delete(struct sf_stack *st, struct tcp_tw *tw)
{
    stack_port_tw(st, tw->local.port, -1);
    fifo_remove(st, tw);
    ttab_remove(&st->tws, tw);
    free(tw);
}

void stack_tw_from_conn(struct sf_stack *st, struct sf_conn *c)
{
    /* Not in the RFC; as Linux tcp_max_tw_buckets ("time wait bucket
     * table overflow"): each record is memory a peer can make us hold for
     * 2*MSL by closing connections. At the cap the connection skips
     * TIME_WAIT and is deleted at once; a stray old segment then meets no
     * TCB and draws a RST (3.10.7.1) instead of an ACK. */
    if (st->tws.count >= st->cfg.max_tw) {
        st->tcp.ctr.c[SF_CTR_TW_OVERFLOW]++;
        tcp_note(&st->tcp, c, "TIME_WAIT records at max_tw: closed at once");
        tcp_terminate(&st->tcp, c, 0, SF_CAUSE_ABORT);
        stack_reap(st, c);
        return;
    }
    struct tcp_tw *tw = malloc(sizeof *tw);
    if (!tw)
        return; /* keep the full TCB: correct, only larger */
    tw->local = c->local;
    tw->remote = c->remote;
    tw->snd_nxt = c->snd_max;
    tw->rcv_nxt = c->rcv_nxt;
    tw->expires = c->deadline[TT_WAIT];
    fifo_insert(st, tw);
    stack_port_tw(st, tw->local.port, +1);
    stack_conn_free(st, c); /* counted out of TIME_WAIT ... */
    st->tcp.ctr.conns_in_state[SF_TIME_WAIT]++; /* ... and back in */
    ttab_insert(&st->tws, tw);
    tw_arm(st);
}

/* After tmp (expanded from tw) was run. */
static void tw_settle(struct sf_stack *st, struct tcp_tw *tw,
                      struct sf_conn *tmp)
{
    struct tcp_ctx *ctx = &st->tcp;
    if (tmp->dead) {
        tcp_conn_destroy(ctx, tmp);
        tw_delete(st, tw);
    } else {
        sf_time_t due = tmp->deadline[TT_WAIT];
        tcp_timers_stop_all(ctx, tmp);
        ring_free(&tmp->sndbuf);
        ring_free(&tmp->rcvbuf);
        if (due != tw->expires) { /* restarted by a retransmitted FIN */
            fifo_remove(st, tw);
            tw->expires = due;
            fifo_insert(st, tw);
        }
    }
    tw_arm(st);
}

void stack_tw_input(struct sf_stack *st, struct tcp_tw *tw,
                    const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    struct tcp_ctx *ctx = &st->tcp;
    struct sf_conn tmp;
    tcp_tw_inflate(ctx, tw, &tmp);
    struct sf_conn *l = stack_listener_lookup(st, seg->dport);
    /* As BSD and Linux do: a SYN numbered beyond the old RCV.NXT cannot
     * be confused with the old connection's segments, so it may open a
     * new incarnation of the 4-tuple now instead of after 2*MSL. Its ISS
     * must lie above the old SND.NXT (RFC 9293 3.6.1, RFC 1122 4.2.2.13),
     * which a SYN cookie cannot promise: with the SYN or accept queue full
     * the record stays and the SYN is answered as TIME-WAIT answers it
     * (the peer's retransmission tries again). */
    if ((seg->flags & (SF_SYN | SF_ACK | SF_RST | SF_FIN)) == SF_SYN && l &&
        seq_gt(seg->seq, tw->rcv_nxt) && tcp_listen_has_room(ctx, l)) {
        uint32_t old_snd_nxt = tw->snd_nxt;
        tcp_set_state(ctx, &tmp, SF_CLOSED, SF_CAUSE_NEW_INCARNATION);
        tmp.dead = true;
        tw_settle(st, tw, &tmp);
        listen_input(st, l, ip, seg, &old_snd_nxt);
        return;
    }
    tcp_segment_arrives(ctx, &tmp, ip, seg);
    tw_settle(st, tw, &tmp);
}

void stack_tw_timer(struct sf_stack *st)
{
    struct tcp_ctx *ctx = &st->tcp;
    while (st->tw_head && st->tw_head->expires <= ctx->now) {
        struct tcp_tw *tw = st->tw_head;
        struct sf_conn tmp;
        tcp_tw_inflate(ctx, tw, &tmp);
        tcp_conn_timer_fire(ctx, &tmp); /* TIME_WAIT -> CLOSED */
        tw_settle(st, tw, &tmp);
    }
    tw_arm(st);
}

/* ---------------------------------------------------------- cleanup */

void stack_close_listener(struct sf_stack *st, struct sf_conn *l)
{
    struct tcp_ctx *ctx = &st->tcp;
    while (l->lq->synq) {
        struct tcp_req *r = l->lq->synq;
        struct sf_conn tmp;
        tcp_req_inflate(ctx, r, &tmp);
        tcp_listener_closed(ctx, &tmp);
        req_settle(st, r, &tmp);
    }
    while (l->lq->acceptq) {
        struct sf_conn *c = l->lq->acceptq;
        tcp_listener_closed(ctx, c);
        tcp_child_unlink(l, c);
        stack_reap(st, c);
    }
    tcp_close(ctx, l);
}

void stack_records_free(struct sf_stack *st)
{
    while (st->tw_head)
        tw_delete(st, st->tw_head);
    for (size_t i = 0; i < st->reqs.size; i++)
        while (st->reqs.slots[i]) {
            struct tcp_req *r = st->reqs.slots[i];
            r->listener = NULL; /* the listeners go too */
            req_delete(st, r);
        }
    wheel_stop(&st->tcp.wheel, &st->tw_timer);
}

/* ------------------------------------------------------------ STATUS */

static void req_info(const struct tcp_req *r, struct sf_tcp_info *info)
{
    memset(info, 0, sizeof *info);
    info->state = SF_SYN_RCVD;
    info->sd = -1;
    info->local = r->local;
    info->remote = r->remote;
    info->iss = r->iss;
    info->irs = r->irs;
    info->snd_una = r->iss;
    info->snd_nxt = r->iss + 1;
    info->rcv_nxt = r->irs + 1;
    info->snd_wnd = r->snd_wnd;
    info->snd_mss = r->snd_mss;
    info->rto = (sf_time_t)r->rto_ms * SF_MSEC;
    info->retransmits = r->nrexmt;
    info->timer = wheel_timer_pending(&r->timer) ? SF_TIMER_RETRANSMIT
                                              : SF_TIMER_NONE;
    info->timer_expires = wheel_timer_pending(&r->timer) ? r->timer.expires
                                                      : SF_TIME_NEVER;
}

static void tw_info(const struct tcp_tw *tw, struct sf_tcp_info *info)
{
    memset(info, 0, sizeof *info);
    info->state = SF_TIME_WAIT;
    info->sd = -1;
    info->local = tw->local;
    info->remote = tw->remote;
    info->snd_una = info->snd_nxt = tw->snd_nxt;
    info->rcv_nxt = tw->rcv_nxt;
    info->timer = SF_TIMER_TIME_WAIT;
    info->timer_expires = tw->expires;
}

int stack_record_info(struct sf_stack *st, const struct sf_addr *local,
                      const struct sf_addr *remote, struct sf_tcp_info *info)
{
    const struct tcp_req *r = ttab_lookup(&st->reqs, local, remote);
    if (r) {
        req_info(r, info);
        return 0;
    }
    const struct tcp_tw *tw = ttab_lookup(&st->tws, local, remote);
    if (tw) {
        tw_info(tw, info);
        return 0;
    }
    return SF_ENOENT;
}

int stack_records_foreach(struct sf_stack *st,
                          int (*fn)(void *ctx, const struct sf_tcp_info *info),
                          void *ctx)
{
    struct sf_tcp_info info;
    for (size_t i = 0; i < st->reqs.size; i++)
        for (const struct tcp_req *r = st->reqs.slots[i]; r; r = r->hnext) {
            req_info(r, &info);
            int v = fn(ctx, &info);
            if (v)
                return v;
        }
    for (const struct tcp_tw *tw = st->tw_head; tw; tw = tw->next) {
        tw_info(tw, &info);
        int v = fn(ctx, &info);
        if (v)
            return v;
    }
    return 0;
}
