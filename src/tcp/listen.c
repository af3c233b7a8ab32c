/* LISTEN (RFC 9293 3.10.7.2) and a listener's two queues: the SYN queue
 * of half-open passive connections, kept as small records (struct
 * tcp_req, RFC 4987 3.1), and the accept queue of established ones. A
 * request is expanded into a full TCB on the caller's stack when
 * something happens to it (tcp_req_inflate), run through the same RFC
 * 9293 3.10 code as any connection, then folded back (tcp_req_deflate),
 * promoted to a real connection, or deleted: tcp_req_settle() says which.
 * The stack layer owns the request table and the memory. */
#include <string.h>

#include "tcp/cc.h"
#include "tcp/tcp_int.h"

static unsigned backlog_of(const struct sf_conn *l)
{
    return l->lq->backlog > 0 ? (unsigned)l->lq->backlog : 1;
}

/* ------------------------------------------------- 3.10.7.2 LISTEN */

/* RFC 9293 3.10.7.2 second check, RFC 4987 3.6: a bare ACK that returns
 * one of our SYN cookies (checked only where the RFC's checks would reach
 * the ACK: after the RST check). */
static bool returns_cookie(struct tcp_ctx *ctx, const struct sf_conn *l,
                           const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    return (seg->flags & (SF_RST | SF_ACK | SF_SYN)) == SF_ACK &&
           tcp_cookie_check(ctx, l, ip, seg);
}

/* The listener's filter (sf_listen_filter) on a new SYN; ACCEPT without
 * one. Each SYN asked gets a fresh id (the one a DEFER is decided by). The
 * application sees the addresses as its socket shows them (IPv4-mapped on
 * a dual-stack listener, as sf_getsockname of the child will). */
static enum sf_syn_verdict syn_verdict(struct tcp_ctx *ctx,
                                       const struct sf_conn *l,
                                       const struct tcp_ip *ip, bool cookie,
                                       uint64_t *id)
{
    if (!l->syn_fn)
        return SF_SYN_ACCEPT;
    struct sf_syn_info info = {.local = ip->dst, .remote = ip->src,
                               .id = ++ctx->syn_id, .cookie = cookie};
    if (l->v4mapped) {
        info.local = sf_addr_to_v4mapped(&info.local);
        info.remote = sf_addr_to_v4mapped(&info.remote);
    }
    *id = info.id;
    enum sf_syn_verdict v = l->syn_fn(l->syn_arg, &info);
    /* an answer that is none of the four: the safe one */
    return v <= SF_SYN_DEFER ? v : SF_SYN_DROP;
}

/* RFC 9293 3.10.7.2, its checks in order; TCP_CONTINUE: a SYN with room
 * for a new connection (*defer_id set when the filter deferred it). */
static struct tcp_disp listen_check(struct tcp_ctx *ctx, struct sf_conn *l,
                                    const struct tcp_ip *ip,
                                    const struct sf_tcp *seg,
                                    uint64_t *defer_id)
{
    /* First: "An incoming RST should be ignored." */
    if (seg->flags & SF_RST)
        return tcp_dropped(SF_DROP_LISTEN_RST);
    /* Second: "Any acknowledgment is bad ... <SEQ=SEG.ACK><CTL=RST>". */
    if (seg->flags & SF_ACK)
        return tcp_disp(TCP_DROP_RST, SF_DROP_LISTEN_ACK);
    /* Fourth: anything else without SYN "should not be reached. Drop." */
    if (!(seg->flags & SF_SYN))
        return tcp_dropped(SF_DROP_LISTEN_NO_SYN);
    /* Third: a SYN. One with FIN too is no peer's opening but a scanner's
     * probe (Linux drops it as well): RFC 9293 3.10.7.2 would queue the
     * FIN for after ESTABLISHED; synfin drops it, counted, and says so in
     * docs/lifecycle.md. */
    if (seg->flags & SF_FIN)
        return tcp_dropped(SF_DROP_LISTEN_SYN_FIN);
    /* With the accept queue full there is no room for the
     * connection at the end of the handshake: drop, the peer retries. */
    if (l->lq->acceptq_len >= backlog_of(l))
        return tcp_dropped(SF_DROP_LISTEN_OVERFLOW);
    /* A full SYN queue (a flood of half-open handshakes): answer with a
     * cookie and keep no state (RFC 4987 3.6), or drop. */
    bool full = l->lq->synq_len >= ctx->cfg->syn_backlog;
    if (full && !ctx->cfg->syncookies)
        return tcp_dropped(SF_DROP_SYNQ_FULL);
    /* The listener's filter decides this SYN (docs/transparent.md). */
    uint64_t id = 0;
    switch (syn_verdict(ctx, l, ip, full, &id)) {
    case SF_SYN_REFUSE:
        /* As if no listener: RFC 9293 3.10.7.1, "<SEQ=0><ACK=SEG.SEQ+
         * SEG.LEN><CTL=RST,ACK>" (tcp_send_rst_for). */
        ctx->ctr.c[SF_CTR_SYN_REFUSED]++;
        return tcp_disp(TCP_DROP_RST, SF_DROP_SYN_FILTERED);
    case SF_SYN_DROP:
        ctx->ctr.c[SF_CTR_SYN_DROPPED]++;
        return tcp_dropped(SF_DROP_SYN_FILTERED);
    case SF_SYN_DEFER:
        if (full) { /* a cookie keeps no state to hold: DROP */
            ctx->ctr.c[SF_CTR_SYN_DEFER_COOKIE]++;
            return tcp_dropped(SF_DROP_SYN_FILTERED);
        }
        *defer_id = id;
        break;
    default:
        break;
    }
    if (full) {
        tcp_send_cookie(ctx, l, ip, seg);
        return tcp_disp(TCP_DONE, SF_DROP_NONE);
    }
    return TCP_GO;
}

/* RFC 9293 3.10.7.2: a segment for listener l. */
enum tcp_listen_verdict tcp_listen_segment(struct tcp_ctx *ctx,
                                           struct sf_conn *l,
                                           const struct tcp_ip *ip,
                                           const struct sf_tcp *seg,
                                           uint64_t *defer_id)
{
    *defer_id = 0;
    if (returns_cookie(ctx, l, ip, seg))
        return TCP_LISTEN_COOKIE;
    struct tcp_disp d = listen_check(ctx, l, ip, seg, defer_id);
    tcp_settle(ctx, l, ip, seg, d);
    return d.v == TCP_CONTINUE ? TCP_LISTEN_SPAWN : TCP_LISTEN_DROP;
}

/* Would a SYN to l find room for a new request (tcp_listen_segment's
 * accept and SYN queue checks)? */
bool tcp_listen_has_room(const struct tcp_ctx *ctx, const struct sf_conn *l)
{
    return l->lq->acceptq_len < backlog_of(l) &&
           l->lq->synq_len < ctx->cfg->syn_backlog;
}

/* Does l's SYN queue hold a request (worth a look in the request table)? */
bool tcp_listen_has_requests(const struct sf_conn *l)
{
    return l && l->lq && l->lq->synq_len;
}

/* listen() again on a listener adjusts its backlog. */
void tcp_listen_set_backlog(struct sf_conn *l, int backlog)
{
    l->lq->backlog = backlog;
}

/* A listener is readable while its accept queue holds a connection. */
bool tcp_listen_readable(const struct sf_conn *l)
{
    return l->lq && l->lq->acceptq_len;
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
    c->want_wscale = l->want_wscale;
    c->want_ts = l->want_ts;
    c->rcvbuf_lock = l->rcvbuf_lock;
    c->sndbuf_lock = l->sndbuf_lock;
    c->sack_want = l->sack_want;
    c->rack_want = l->rack_want;
    c->ecn_mode = l->ecn_mode;
    c->cc_algo = l->cc_algo; /* TCP_CONGESTION */
    c->pace_on = l->pace_on; /* SF_TCP_PACING, SF_SO_MAX_PACING_RATE */
    c->pace_max_rate = l->pace_max_rate;
    /* an IPv6 listener's IPv4 children show mapped addresses */
    c->v4mapped = l->v4mapped;
    c->v6only = l->v6only;
}

/* The new connection of a SYN to a listener, in a TCB c (the caller keeps
 * it as a small request, or as a full TCB when a cookie returns). */
void tcp_listen_spawn(struct tcp_ctx *ctx, struct sf_conn *l,
                      struct sf_conn *c, const struct tcp_ip *ip,
                      const struct sf_tcp *seg, uint32_t iss, bool send)
{
    c->local = ip->dst;
    c->remote = ip->src;
    c->passive = true;
    tcp_inherit(c, l);
    /* The child starts as a copy of the listener (its passive OPEN, not
     * an event of its own), then takes LISTEN -> SYN_RCVD. */
    tcp_set_state_untraced(ctx, c, SF_LISTEN, SF_CAUSE_OPEN_PASSIVE);
    ctx->ctr.c[SF_CTR_PASSIVE_OPENS]++;
    /* "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS should be
     * selected ... SND.NXT is set to ISS+1 and SND.UNA to ISS." Data on
     * the SYN is not kept (no TFO): the peer sends it again. */
    c->irs = seg->seq;
    c->rcv_nxt = c->rcv_acked = seg->seq + 1;
    c->iss = iss;
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->snd_buf_seq = c->iss + 1;
    c->snd_sml = c->iss;
    /* RFC 7323: our shift, the peer's options, this connection's TS
     * clock (before the window: a SYN's is never scaled anyway) */
    tcp_wscale_choose(ctx, c);
    c->ts_offset = tcp_ts_offset(ctx, &c->local, &c->remote);
    tcp_syn_options_in(ctx, c, seg);
    tcp_set_send_window(c, seg);
    tcp_set_send_mss(ctx, c, seg);
    tcp_sack_negotiate(c, seg);
    tcp_ecn_syn_in(c, seg); /* RFC 3168 6.1.1 (a cookie: what it kept) */
    tcp_set_state(ctx, c, SF_SYN_RCVD, SF_CAUSE_RCV_SYN);
    if (send) {
        tcp_output(ctx, c); /* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> */
    } else {
        c->snd_nxt = c->snd_max = c->iss + 1; /* the cookie's SYN,ACK */
    }
}

/* ------------------------------------------------------- SYN queue */

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
    r->snd_wscale = tmp->snd_wscale;
    r->rcv_wscale = tmp->rcv_wscale;
    r->wscale_ok = tmp->wscale_ok;
    r->ts_ok = tmp->ts_ok;
    r->ts_recent = tmp->ts_recent;
    r->sack_ok = tmp->sack_ok;
    r->ecn_ok = tmp->ecn_ok;
    /* RFC 6298 3: "RTT samples MUST NOT be made using segments that were
     * retransmitted" (Karn); a SYN,ACK sent once is timed (output.c), a
     * retransmission stops the timing (timer.c): kept across the record */
    r->rtt_timing = tmp->rtt_timing;
    r->rtt_start_us = tmp->rtt_start_us;
    sf_time_t due = tmp->deadline[TT_REXMT];
    tcp_timers_stop_all(ctx, tmp);
    if (due == SF_TIME_NEVER)
        wheel_stop(&ctx->wheel, &r->timer);
    else
        wheel_start(&ctx->wheel, &r->timer, due);
    tcp_sndbuf_free(ctx, tmp);
    ring_free(&tmp->rcvbuf);
    tcp_reass_free(tmp);
    tcp_rack_free(tmp);
    tcp_cc_free(tmp);
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

/* A SYN for listener l (tcp_listen_segment said TCP_LISTEN_SPAWN): the new
 * half-open connection goes into r and l's SYN queue, its SYN,ACK sent.
 * tw_snd_nxt: the SND.NXT of the TIME_WAIT record it replaces, or NULL. */
void tcp_listen_new_req(struct tcp_ctx *ctx, struct sf_conn *l,
                        struct tcp_req *r, const struct tcp_ip *ip,
                        const struct sf_tcp *seg, const uint32_t *tw_snd_nxt,
                        uint64_t defer_id)
{
    struct sf_conn tmp;
    tcp_conn_init(ctx, &tmp);
    struct sf_addr local = ip->dst, remote = ip->src;
    uint32_t iss = tw_snd_nxt
                       ? tcp_isn_above(ctx, &local, &remote, *tw_snd_nxt)
                       : tcp_isn(ctx, &local, &remote);
    /* a deferred SYN: SYN_RCVD, its SYN,ACK not sent (tcp_req_decide) */
    tcp_listen_spawn(ctx, l, &tmp, ip, seg, iss, defer_id == 0);
    tcp_req_from_conn(ctx, r, l, &tmp);
    if (defer_id) {
        r->deferred = true;
        r->defer_id = defer_id;
        wheel_start(&ctx->wheel, &r->timer,
                    ctx->now + ctx->cfg->syn_defer_timeout);
        ctx->ctr.c[SF_CTR_SYN_DEFERRED]++;
    }
}

/* ------------------------------------------------- deferred SYNs */

/* A segment for a deferred request r (nothing was sent to the peer yet,
 * which is in SYN-SENT). True: r is to be forgotten. Its retransmitted
 * SYNs are absorbed, not asked about again (a SYN,ACK would answer them
 * in SYN-RECEIVED, RFC 9293 3.10.7.4; the decision is still pending). A
 * RST at RCV.NXT (RFC 9293 3.10.7.4 second check, as RFC 5961 3.2 asks:
 * exactly RCV.NXT) ends it: "If this connection was initiated with a
 * passive OPEN ... return this connection to the LISTEN state". Anything
 * else is dropped: it cannot acknowledge a SYN,ACK never sent. */
bool tcp_req_deferred_segment(struct tcp_ctx *ctx, const struct tcp_req *r,
                              const struct tcp_ip *ip,
                              const struct sf_tcp *seg)
{
    if ((seg->flags & SF_RST) && seg->seq == r->irs + 1) {
        tcp_note(ctx, NULL, "deferred SYN: peer reset it");
        return true;
    }
    tcp_drop(ctx, NULL, SF_DROP_SYN_DEFERRED, ip, seg);
    return false;
}

/* sf_syn_decide(ACCEPT) on deferred r: expanded into tmp, its SYN,ACK
 * sent now, "<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>" (RFC 9293 3.10.7.2),
 * and the retransmission timer started as for any SYN_RCVD; the caller
 * folds tmp back (tcp_req_settle). */
void tcp_req_defer_accept(struct tcp_ctx *ctx, struct tcp_req *r,
                          struct sf_conn *tmp)
{
    wheel_stop(&ctx->wheel, &r->timer); /* the expiry */
    r->deferred = false;
    tcp_req_inflate(ctx, r, tmp);
    tmp->snd_nxt = tmp->snd_max = r->iss;
    tcp_output(ctx, tmp);
}

/* Deferred r ends without a connection: REFUSE answers as if no listener
 * were there, RFC 9293 3.10.7.1: the SYN's "<SEQ=0><ACK=SEG.SEQ+SEG.LEN>
 * <CTL=RST,ACK>"; DROP and expiry answer nothing. The request leaves the
 * SYN_RCVD count; the caller deletes it. */
void tcp_req_defer_end(struct tcp_ctx *ctx, struct tcp_req *r, bool refuse)
{
    if (refuse) {
        struct tcp_ip ip = {.src = r->remote, .dst = r->local};
        struct sf_tcp syn = {.sport = r->remote.port,
                             .dport = r->local.port, .seq = r->irs,
                             .flags = SF_SYN};
        tcp_send_rst_for(ctx, &ip, &syn);
    }
    struct sf_conn tmp;
    tcp_req_inflate(ctx, r, &tmp);
    tcp_conn_destroy(ctx, &tmp);
}

void tcp_req_inflate(struct tcp_ctx *ctx, const struct tcp_req *r,
                     struct sf_conn *tmp)
{
    tcp_conn_init_record(ctx, tmp, SF_SYN_RCVD);
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
    tmp->sack_ok = r->sack_ok;
    tmp->rto_us = r->rto_ms * 1000;
    tmp->nrexmt = r->nrexmt;
    tmp->syn_rexmitted = r->syn_rexmitted;
    tmp->snd_wscale = r->snd_wscale;
    tmp->rcv_wscale = r->rcv_wscale;
    tmp->wscale_ok = r->wscale_ok;
    tmp->ts_ok = r->ts_ok;
    tmp->ts_recent = r->ts_recent;
    tmp->ts_recent_ms = tcp_now_ms(ctx); /* within the handshake's life */
    tmp->ts_offset = tcp_ts_offset(ctx, &r->local, &r->remote);
    tmp->ecn_ok = r->ecn_ok;
    /* the SYN,ACK's timing (RFC 6298 2.2): the ACK of ISS+1 ends it with
     * the first RTT sample, as for an active open's SYN */
    tmp->rtt_timing = r->rtt_timing;
    tmp->rtt_seq = r->iss;
    tmp->rtt_start_us = r->rtt_start_us;
    tmp->rcv_wnd = tcp_rcv_window(tmp);
    /* the record's timer is the TCB's retransmission deadline */
    tmp->deadline[TT_REXMT] =
        wheel_timer_pending(&r->timer) ? r->timer.expires : SF_TIME_NEVER;
}

/* A segment for request r: run through tmp, expanded from r; false if it
 * was dropped first (the accept queue is full), tmp unused. */
bool tcp_req_segment(struct tcp_ctx *ctx, const struct tcp_req *r,
                     struct sf_conn *tmp, const struct tcp_ip *ip,
                     const struct sf_tcp *seg)
{
    if (tcp_listen_acceptq_full(ctx, r->listener, ip, seg))
        return false;
    tcp_req_inflate(ctx, r, tmp);
    tcp_segment_arrives(ctx, tmp, ip, seg);
    return true;
}

/* Request r's SYN,ACK retransmission timer popped: run it in tmp. */
void tcp_req_timer_fire(struct tcp_ctx *ctx, const struct tcp_req *r,
                        struct sf_conn *tmp)
{
    tcp_req_inflate(ctx, r, tmp);
    tmp->deadline[TT_REXMT] = ctx->now; /* popped from the wheel: due */
    tcp_conn_timer_fire(ctx, tmp);
}

/* After tmp (expanded from r) was run: ended (tmp freed; the caller
 * deletes r), still SYN_RCVD (folded back into r), or established (the
 * caller gives tmp memory of its own and deletes r). */
enum tcp_req_fate tcp_req_settle(struct tcp_ctx *ctx, struct tcp_req *r,
                                 struct sf_conn *tmp)
{
    if (tmp->dead) {
        tcp_conn_destroy(ctx, tmp);
        return TCP_REQ_GONE;
    }
    if (tmp->state == SF_SYN_RCVD) {
        tcp_req_deflate(ctx, r, tmp);
        return TCP_REQ_KEPT;
    }
    return TCP_REQ_ESTABLISHED;
}

/* RFC 9293 3.10.6 STATUS of a request. */
void tcp_req_info(const struct tcp_req *r, struct sf_tcp_info *info)
{
    memset(info, 0, sizeof *info);
    info->state = SF_SYN_RCVD;
    info->sd = -1;
    info->local = r->local;
    info->remote = r->remote;
    info->iss = r->iss;
    info->irs = r->irs;
    info->snd_una = r->iss;
    info->snd_nxt = r->deferred ? r->iss : r->iss + 1; /* nothing sent */
    info->rcv_nxt = r->irs + 1;
    info->snd_wnd = r->snd_wnd;
    info->snd_mss = r->snd_mss;
    info->rto = (sf_time_t)r->rto_ms * SF_MSEC;
    info->retransmits = r->nrexmt;
    info->timer = wheel_timer_pending(&r->timer) && !r->deferred
                      ? SF_TIMER_RETRANSMIT : SF_TIMER_NONE;
    info->timer_expires = wheel_timer_pending(&r->timer) ? r->timer.expires
                                                      : SF_TIME_NEVER;
}

/* ---------------------------------------------------- accept queue */

/* Is c in l's accept queue? (short: bounded by the backlog) */
bool tcp_acceptq_holds(const struct sf_conn *l, const struct sf_conn *c)
{
    if (!l || !l->lq)
        return false;
    for (const struct sf_conn *x = l->lq->acceptq; x; x = x->qnext)
        if (x == c)
            return true;
    return false;
}

/* Linux's answer to a full accept queue: the final ACK of a handshake is
 * dropped; the client's retransmission or our SYN,ACK retransmission
 * brings the handshake back once there is room. */
bool tcp_listen_acceptq_full(struct tcp_ctx *ctx, const struct sf_conn *l,
                             const struct tcp_ip *ip,
                             const struct sf_tcp *seg)
{
    if (!(seg->flags & SF_ACK) || (seg->flags & (SF_SYN | SF_RST)) ||
        l->lq->acceptq_len < backlog_of(l))
        return false;
    tcp_settle(ctx, NULL, ip, seg, tcp_disp(TCP_DROP, SF_DROP_ACCEPTQ_FULL));
    return true;
}

/* Takes c off the accept queue of its listener l. */
void tcp_child_unlink(struct sf_conn *l, struct sf_conn *c)
{
    if (!l || !l->lq || !c->in_acceptq)
        return;
    struct tcp_lq *q = l->lq;
    struct sf_conn *prev = NULL;
    for (struct sf_conn *x = q->acceptq; x && x != c; x = x->qnext)
        prev = x; /* short: the queue is bounded by the backlog */
    if (prev)
        prev->qnext = c->qnext;
    else
        q->acceptq = c->qnext;
    if (q->acceptq_tail == c)
        q->acceptq_tail = prev;
    c->qnext = NULL;
    q->acceptq_len--;
    c->in_acceptq = false;
}

/* A connection that completed its handshake joins the accept queue. */
void tcp_accept_push(struct tcp_ctx *ctx, struct sf_conn *l, struct sf_conn *c)
{
    struct tcp_lq *q = l->lq;
    c->qnext = NULL;
    if (q->acceptq_tail)
        q->acceptq_tail->qnext = c;
    else
        q->acceptq = c;
    q->acceptq_tail = c;
    q->acceptq_len++;
    c->in_acceptq = true;
    tcp_wakeup(ctx, l); /* the listener is readable */
}

struct sf_conn *tcp_accept(struct tcp_ctx *ctx, struct sf_conn *l)
{
    struct sf_conn *c = l->lq->acceptq;
    (void)ctx;
    if (!c)
        return NULL;
    tcp_child_unlink(l, c);
    return c;
}

/* ------------------------------------------- the listener closes */

/* The listener of c is closing: c is reset and ends. */
void tcp_listener_closed(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->in_acceptq) {
        tcp_abort(ctx, c);
        return;
    }
    /* A handshake in progress: tell the peer it will not complete. */
    if (c->state == SF_SYN_RCVD) {
        tcp_send_rst(ctx, c);
        tcp_terminate(ctx, c, 0, SF_CAUSE_LISTENER_CLOSED);
    }
}

/* The listener l closes: the first request of its SYN queue is reset (a
 * RST, then CLOSED) and taken off the queue. Returns it for the caller to
 * delete; NULL once the queue is empty. */
struct tcp_req *tcp_listen_reset_next_req(struct tcp_ctx *ctx,
                                          struct sf_conn *l)
{
    struct tcp_req *r = l->lq->synq;
    if (!r)
        return NULL;
    struct sf_conn tmp;
    tcp_req_inflate(ctx, r, &tmp);
    tcp_listener_closed(ctx, &tmp); /* SYN_RCVD: always ends it */
    tcp_conn_destroy(ctx, &tmp);
    tcp_req_unlink(r);
    return r;
}

/* The listener l closes: the first connection of its accept queue is
 * reset and taken off the queue. Returns it for the caller to reap; NULL
 * once the queue is empty. */
struct sf_conn *tcp_listen_reset_next_child(struct tcp_ctx *ctx,
                                            struct sf_conn *l)
{
    struct sf_conn *c = l->lq->acceptq;
    if (!c)
        return NULL;
    tcp_listener_closed(ctx, c);
    tcp_child_unlink(l, c);
    return c;
}
