/* SEGMENT ARRIVES: RFC 9293 3.10.7, in the RFC's order. Each step of
 * 3.10.7.4 is one function returning a disposition; per-state differences
 * are switches inside the steps. */
#include <string.h>

#include "tcp/cc.h"
#include "tcp/tcp_int.h"

enum disp { CONTINUE, STOP };

static uint32_t seg_space(const struct sf_tcp *s)
{
    return (uint32_t)s->len + !!(s->flags & SF_SYN) + !!(s->flags & SF_FIN);
}

static bool our_fin_acked(const struct sf_conn *c)
{
    return c->fin_queued && seq_gt(c->snd_una, c->fin_seq);
}

/* RFC 9293 3.7.1: Eff.snd.MSS is the peer's MSS option (536 when absent,
 * raised to cfg->min_snd_mss) bounded by what we can send. */
static void set_send_mss(struct tcp_ctx *ctx, struct sf_conn *c,
                         const struct sf_tcp *s)
{
    uint16_t peer = tcp_peer_mss(ctx, s);
    uint16_t ours = tcp_our_mss(ctx, c);
    c->snd_mss = peer < ours ? peer : ours;
    if (c->snd_mss < 1)
        c->snd_mss = 1; /* an MSS option of 0 must not stall us */
}

static void set_send_window(struct sf_conn *c, const struct sf_tcp *s)
{
    c->snd_wnd = s->win;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    if (s->win > c->max_snd_wnd)
        c->max_snd_wnd = s->win;
}

static void enter_time_wait(struct tcp_ctx *ctx, struct sf_conn *c,
                            enum sf_cause cause)
{
    tcp_timers_stop_all(ctx, c);
    tcp_set_state(ctx, c, SF_TIME_WAIT, cause);
    tcp_timer_start(ctx, c, TT_WAIT, 2 * ctx->cfg->msl);
    tcp_wakeup(ctx, c);
}

/* ---------------------------------------------------- 3.10.7.1 CLOSED */

void tcp_closed_segment(struct tcp_ctx *ctx, const struct sf_ipv4 *ip,
                        const struct sf_tcp *seg)
{
    /* "An incoming segment containing a RST is discarded. An incoming
     * segment not containing a RST causes a RST to be sent in response." */
    tcp_drop(ctx, NULL, (seg->flags & SF_RST) ? SF_DROP_CLOSED_RST
                                              : SF_DROP_NO_SOCKET, ip, seg);
    tcp_send_rst_for(ctx, ip, seg);
}

/* ---------------------------------------------------- 3.10.7.2 LISTEN */

enum tcp_listen_verdict tcp_listen_segment(struct tcp_ctx *ctx,
                                           struct sf_conn *l,
                                           const struct sf_ipv4 *ip,
                                           const struct sf_tcp *seg)
{
    /* First: "An incoming RST should be ignored." */
    if (seg->flags & SF_RST) {
        tcp_drop(ctx, l, SF_DROP_LISTEN_RST, ip, seg);
        return TCP_LISTEN_DROP;
    }
    /* Second: "Any acknowledgment is bad ... <SEQ=SEG.ACK><CTL=RST>" --
     * unless it returns one of our SYN cookies (RFC 4987 3.6). */
    if (seg->flags & SF_ACK) {
        if (!(seg->flags & SF_SYN) && tcp_cookie_check(ctx, l, ip, seg))
            return TCP_LISTEN_COOKIE;
        tcp_drop(ctx, l, SF_DROP_LISTEN_ACK, ip, seg);
        tcp_send_rst_for(ctx, ip, seg);
        return TCP_LISTEN_DROP;
    }
    /* Fourth: anything else without SYN "should not be reached. Drop." */
    if (!(seg->flags & SF_SYN)) {
        tcp_drop(ctx, l, SF_DROP_LISTEN_NO_SYN, ip, seg);
        return TCP_LISTEN_DROP;
    }
    /* Third: a SYN. One with FIN too is no peer's opening but a scanner's
     * probe (Linux drops it as well): RFC 9293 3.10.7.2 would queue the
     * FIN for after ESTABLISHED; synfin drops it, counted, and says so in
     * docs/lifecycle.md. */
    if (seg->flags & SF_FIN) {
        tcp_drop(ctx, l, SF_DROP_LISTEN_SYN_FIN, ip, seg);
        return TCP_LISTEN_DROP;
    }
    /* With the accept queue full there is no room for the
     * connection at the end of the handshake: drop, the peer retries. */
    unsigned backlog = l->lq->backlog > 0 ? (unsigned)l->lq->backlog : 1;
    if (l->lq->acceptq_len >= backlog) {
        tcp_drop(ctx, l, SF_DROP_LISTEN_OVERFLOW, ip, seg);
        return TCP_LISTEN_DROP;
    }
    /* A full SYN queue (a flood of half-open handshakes): answer with a
     * cookie and keep no state (RFC 4987 3.6), or drop. */
    if (l->lq->synq_len >= ctx->cfg->syn_backlog) {
        if (ctx->cfg->syncookies) {
            tcp_send_cookie(ctx, l, ip, seg);
            return TCP_LISTEN_DROP;
        }
        tcp_drop(ctx, l, SF_DROP_SYNQ_FULL, ip, seg);
        return TCP_LISTEN_DROP;
    }
    return TCP_LISTEN_SPAWN;
}

/* Would a SYN to l find room for a new request (tcp_listen_segment's
 * accept and SYN queue checks)? */
bool tcp_listen_has_room(const struct tcp_ctx *ctx, const struct sf_conn *l)
{
    unsigned backlog = l->lq->backlog > 0 ? (unsigned)l->lq->backlog : 1;
    return l->lq->acceptq_len < backlog &&
           l->lq->synq_len < ctx->cfg->syn_backlog;
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

/* The new connection of a SYN to a listener, in a TCB c (the caller keeps
 * it as a small request, or as a full TCB when a cookie returns). */
void tcp_listen_spawn(struct tcp_ctx *ctx, struct sf_conn *l,
                      struct sf_conn *c, const struct sf_ipv4 *ip,
                      const struct sf_tcp *seg, uint32_t iss, bool send)
{
    c->local = (struct sf_addr){ip->dst, seg->dport};
    c->remote = (struct sf_addr){ip->src, seg->sport};
    c->passive = true;
    tcp_inherit(c, l);
    /* The child starts as a copy of the listener: LISTEN -> SYN_RCVD. */
    ctx->ctr.conns_in_state[c->state]--;
    c->state = SF_LISTEN;
    ctx->ctr.conns_in_state[SF_LISTEN]++;
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
    set_send_window(c, seg);
    set_send_mss(ctx, c, seg);
    tcp_set_state(ctx, c, SF_SYN_RCVD, SF_CAUSE_RCV_SYN);
    if (send) {
        tcp_output(ctx, c); /* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> */
    } else {
        c->snd_nxt = c->snd_max = c->iss + 1; /* the cookie's SYN,ACK */
    }
}

/* ------------------------------------------------- 3.10.7.3 SYN-SENT */

static void step7_text(struct tcp_ctx *ctx, struct sf_conn *c,
                       const struct sf_ipv4 *ip, struct sf_tcp *s);
static enum disp step8_fin(struct tcp_ctx *ctx, struct sf_conn *c,
                           const struct sf_ipv4 *ip, struct sf_tcp *s);
static void ack_advance(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t ack);

static void connection_established(struct tcp_ctx *ctx, struct sf_conn *c)
{
    /* RFC 6298 5.7: a SYN retransmitted without an RTT sample leaves the
     * RTO at 3 s for the data phase. */
    if (c->syn_rexmitted && !c->have_rtt && c->rto_us < 3000000)
        c->rto_us = 3000000;
    c->nrexmt = 0;
    tcp_keepalive_reset(ctx, c);
    tcp_wakeup(ctx, c);
}

/* RFC 9293 3.10.7.3, a SYN without ACK in SYN-SENT: "If there are other
 * controls or text in the segment, queue them for processing after the
 * ESTABLISHED state has been reached". The text waits in the reassembly
 * queue at its place right after the SYN (not acknowledged, so the peer
 * keeps it for retransmission too); a FIN is remembered at its place. */
static void synsent_queue_rest(struct tcp_ctx *ctx, struct sf_conn *c,
                               const struct sf_ipv4 *ip,
                               const struct sf_tcp *s)
{
    uint32_t seq = s->seq + 1; /* the text follows the SYN */
    uint32_t len = (uint32_t)s->len;
    uint32_t wnd = tcp_rcv_window(c);
    bool fin = s->flags & SF_FIN;
    if (len > wnd) { /* what lies beyond the window is not kept */
        ctx->ctr.drops[SF_DROP_RCVBUF_FULL]++;
        len = wnd;
        fin = false;
    }
    if (len && !tcp_reass_store(ctx, c, seq, s->payload, len)) {
        tcp_drop(ctx, c, SF_DROP_REASS_FULL, ip, s);
        return; /* the peer sends it again */
    }
    if (fin) {
        c->rfin = true;
        c->rfin_seq = seq + len;
    }
}

/* SYN-RECEIVED -> ESTABLISHED: the text queued by synsent_queue_rest, at
 * RCV.NXT now, joins the stream (step eight then sees a queued FIN). The
 * segment s being processed may repeat some of it: "only the new parts
 * are processed". */
static void deliver_queued(struct tcp_ctx *ctx, struct sf_conn *c,
                           struct sf_tcp *s)
{
    if (tcp_reass_empty(c))
        return;
    bool filled;
    uint32_t n = tcp_reass_in_order(c, NULL, 0, &filled);
    if (n == 0)
        return;
    ring_commit(&c->rcvbuf, n);
    c->rcv_nxt += n;
    c->ack_now = true;
    tcp_wakeup(ctx, c);
    if (seq_lt(s->seq, c->rcv_nxt)) {
        uint32_t cut = c->rcv_nxt - s->seq;
        if (cut > s->len)
            cut = (uint32_t)s->len;
        s->payload += cut;
        s->len -= cut;
        s->seq += cut;
    }
}

static void synsent_arrives(struct tcp_ctx *ctx, struct sf_conn *c,
                            const struct sf_ipv4 *ip, struct sf_tcp *s)
{
    bool ack = s->flags & SF_ACK;
    /* First, the ACK: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
     * (unless the RST bit is set) <SEQ=SEG.ACK><CTL=RST>" (Figure 8). */
    if (ack && (seq_leq(s->ack, c->iss) || seq_gt(s->ack, c->snd_max))) {
        tcp_drop(ctx, c, SF_DROP_SYNSENT_BAD_ACK, ip, s);
        tcp_send_rst_for(ctx, ip, s);
        return;
    }
    /* Second, RST: refused if the ACK was acceptable, else ignored. */
    if (s->flags & SF_RST) {
        if (!ack) {
            tcp_drop(ctx, c, SF_DROP_SYNSENT_RST_NO_ACK, ip, s);
            return;
        }
        ctx->ctr.c[SF_CTR_RST_IN]++;
        tcp_terminate(ctx, c, SF_ECONNREFUSED, SF_CAUSE_RCV_RST);
        return;
    }
    /* Fifth: "if neither of the SYN or RST bits is set, drop". */
    if (!(s->flags & SF_SYN)) {
        tcp_drop(ctx, c, SF_DROP_SYNSENT_NO_SYN, ip, s);
        return;
    }
    /* Fourth, SYN. */
    c->irs = s->seq;
    c->rcv_nxt = c->rcv_acked = s->seq + 1;
    set_send_mss(ctx, c, s);
    if (ack) {
        ack_advance(ctx, c, s->ack);
        set_send_window(c, s);
        tcp_set_state(ctx, c, SF_ESTABLISHED, SF_CAUSE_RCV_SYNACK);
        connection_established(ctx, c);
        c->ack_now = true; /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
        /* "If there are other controls or text in the segment, then
         * continue processing at the sixth step." */
        s->flags &= (uint8_t)~SF_SYN;
        s->seq++;
        step7_text(ctx, c, ip, s);
        if (!c->dead)
            step8_fin(ctx, c, ip, s);
        tcp_output(ctx, c);
        return;
    }
    /* Simultaneous open (Figure 7): "enter SYN-RECEIVED, form a SYN,ACK
     * segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it". */
    c->snd_wnd = s->win;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = 0;
    if (s->win > c->max_snd_wnd)
        c->max_snd_wnd = s->win;
    tcp_set_state(ctx, c, SF_SYN_RCVD, SF_CAUSE_RCV_SYN);
    synsent_queue_rest(ctx, c, ip, s);
    c->snd_nxt = c->iss;
    tcp_output_limit(ctx, c, 1);
}

/* ------------------------------------------- 3.10.7.4 the other states */

/* First, check the sequence number (Table 6), then trim the segment to
 * the window so that the later steps see the idealized segment. */
static enum disp step1_seq(struct tcp_ctx *ctx, struct sf_conn *c,
                           const struct sf_ipv4 *ip, struct sf_tcp *s)
{
    uint32_t len = seg_space(s);
    uint32_t wnd = tcp_rcv_window(c);
    uint32_t nxt = c->rcv_nxt;
    bool ok;
    if (len == 0)
        ok = wnd == 0 ? s->seq == nxt : seq_between(nxt, s->seq, nxt + wnd);
    else
        ok = wnd != 0 && (seq_between(nxt, s->seq, nxt + wnd) ||
                          seq_between(nxt, s->seq + len - 1, nxt + wnd));
    /* "If the RCV.WND is zero ... special allowance should be made to
     * accept valid ACKs, URGs, and RSTs": keep the header, drop the text. */
    if (!ok && wnd == 0 && s->seq == nxt && !(s->flags & SF_SYN)) {
        if (s->len)
            ctx->ctr.drops[SF_DROP_RCVBUF_FULL]++;
        s->len = 0;
        s->flags &= (uint8_t)~SF_FIN;
        c->ack_now = true;
        ok = true;
    }
    if (!ok) {
        if (s->flags & SF_RST) {
            tcp_drop(ctx, c, SF_DROP_RST_OUT_OF_WINDOW, ip, s);
            return STOP;
        }
        /* TIME-WAIT: "The only thing that can arrive in this state is a
         * retransmission of the remote FIN. Acknowledge it, and restart
         * the 2 MSL timeout." */
        if (c->state == SF_TIME_WAIT && (s->flags & SF_FIN) &&
            s->seq + s->len + 1 == nxt)
            tcp_timer_start(ctx, c, TT_WAIT, 2 * ctx->cfg->msl);
        /* "an acknowledgment should be sent in reply ... and drop"
         * (rate-limited against ACK storms: oow.c) */
        tcp_drop(ctx, c, SF_DROP_OUT_OF_WINDOW, ip, s);
        tcp_send_invalid_ack(ctx, c, s);
        return STOP;
    }
    if (s->flags & (SF_SYN | SF_RST))
        return CONTINUE; /* dropped whole by steps two and four */
    /* "If a segment's contents straddle the boundary between old and new,
     * only the new parts are processed." */
    if (seq_lt(s->seq, nxt)) {
        uint32_t cut = nxt - s->seq;
        if (cut > s->len)
            cut = (uint32_t)s->len;
        s->payload += cut;
        s->len -= cut;
        s->seq += cut;
    }
    /* ... and what lies beyond the window is not processed either. */
    if (seq_gt(s->seq + (uint32_t)s->len, nxt + wnd)) {
        s->len = nxt + wnd - s->seq;
        s->flags &= (uint8_t)~SF_FIN;
    }
    return CONTINUE;
}

/* Second, check the RST bit (RFC 5961 3.2 as RFC 9293 gives it). */
static enum disp step2_rst(struct tcp_ctx *ctx, struct sf_conn *c,
                           const struct sf_ipv4 *ip, struct sf_tcp *s)
{
    if (!(s->flags & SF_RST))
        return CONTINUE;
    /* 3) in the window but not exactly RCV.NXT: challenge ACK, drop. */
    if (s->seq != c->rcv_nxt) {
        tcp_drop(ctx, c, SF_DROP_RST_CHALLENGED, ip, s);
        tcp_send_challenge_ack(ctx, c);
        return STOP;
    }
    /* 2) exactly RCV.NXT: reset, as the state prescribes. */
    ctx->ctr.c[SF_CTR_RST_IN]++;
    switch (c->state) {
    case SF_SYN_RCVD:
        if (c->passive) {
            /* "return this connection to LISTEN state and return. The
             * user need not be informed." The child goes away. */
            tcp_timers_stop_all(ctx, c);
            tcp_set_state(ctx, c, SF_LISTEN, SF_CAUSE_RCV_RST);
            c->dead = true;
        } else {
            tcp_terminate(ctx, c, SF_ECONNREFUSED, SF_CAUSE_RCV_RST);
        }
        break;
    case SF_ESTABLISHED:
    case SF_FIN_WAIT_1:
    case SF_FIN_WAIT_2:
    case SF_CLOSE_WAIT:
        tcp_terminate(ctx, c, SF_ECONNRESET, SF_CAUSE_RCV_RST);
        break;
    default: /* CLOSING, LAST_ACK, TIME_WAIT: "enter the CLOSED state" */
        tcp_terminate(ctx, c, 0, SF_CAUSE_RCV_RST);
        break;
    }
    return STOP;
}

/* Third, security: synfin carries no security/compartment labels (the IP
 * security option is obsolete), so there is nothing to compare. */

/* Fourth, check the SYN bit. */
static enum disp step4_syn(struct tcp_ctx *ctx, struct sf_conn *c,
                           const struct sf_ipv4 *ip, struct sf_tcp *s)
{
    if (!(s->flags & SF_SYN))
        return CONTINUE;
    if (c->state == SF_SYN_RCVD && c->passive) {
        /* "If the connection was initiated with a passive OPEN, then
         * return this connection to the LISTEN state and return." */
        tcp_drop(ctx, c, SF_DROP_SYN_CHALLENGED, ip, s);
        tcp_timers_stop_all(ctx, c);
        tcp_set_state(ctx, c, SF_LISTEN, SF_CAUSE_RCV_SYN);
        c->dead = true;
        return STOP;
    }
    /* RFC 5961 4.2: "irrespective of the sequence number, TCP endpoints
     * MUST send a challenge ACK" and drop. */
    tcp_drop(ctx, c, SF_DROP_SYN_CHALLENGED, ip, s);
    tcp_send_challenge_ack(ctx, c);
    return STOP;
}

/* SND.UNA advances to ack: free what is acknowledged, sample the RTT. */
static void ack_advance(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t ack)
{
    if (c->rtt_timing && seq_gt(ack, c->rtt_seq)) {
        c->rtt_timing = false;
        tcp_rto_sample(ctx, c, tcp_now_us(ctx) - c->rtt_start_us);
    }
    if (seq_gt(ack, c->snd_buf_seq)) {
        uint32_t n = ack - c->snd_buf_seq;
        if (n > ring_len(&c->sndbuf))
            n = ring_len(&c->sndbuf);
        ring_consume(&c->sndbuf, n);
        ring_trim(&c->sndbuf, false); /* all acknowledged: no buffer */
        c->snd_buf_seq += n;
    }
    c->snd_una = ack;
    if (seq_lt(c->snd_nxt, c->snd_una))
        c->snd_nxt = c->snd_una;
    if (!c->syn_acked) {
        /* The first ACK that moves SND.UNA covers our SYN at ISS: the
         * connection is synchronized (RFC 9293 3.5), whichever way it got
         * there (SYN_SENT, SYN_RCVD, or SYN_RCVD -> FIN_WAIT_1 by a CLOSE
         * before the ACK): the congestion state starts here, once (RFC
         * 5681 3.1, RFC 6928). */
        c->syn_acked = true;
        tcp_cc_init(ctx, c);
    }
    /* Nagle's "small segment outstanding" mark is behind SND.UNA once
     * acknowledged: keep it there, so that it never falls 2^31 behind
     * and reads as ahead again. */
    if (seq_lt(c->snd_sml, c->snd_una))
        c->snd_sml = c->snd_una;
    tcp_rexmt_restart(ctx, c);
    tcp_wakeup(ctx, c);
}

/* Will step eight process this segment's FIN? (It follows the text.) */
static bool fin_in_order(const struct sf_conn *c, const struct sf_tcp *s)
{
    return (s->flags & SF_FIN) && s->seq == c->rcv_nxt &&
           s->len <= ring_space(&c->rcvbuf, tcp_rcv_cap(c)) && tcp_reass_empty(c);
}

/* Fifth, check the ACK field. */
static enum disp step5_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                           const struct sf_ipv4 *ip, struct sf_tcp *s)
{
    if (!(s->flags & SF_ACK)) {
        tcp_drop(ctx, c, SF_DROP_NO_ACK, ip, s);
        return STOP;
    }
    uint32_t ack = s->ack;
    if (c->state == SF_SYN_RCVD) {
        /* "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED";
         * otherwise "<SEQ=SEG.ACK><CTL=RST>". */
        if (!(seq_lt(c->snd_una, ack) && seq_leq(ack, c->snd_max))) {
            tcp_drop(ctx, c, SF_DROP_SYNRCVD_BAD_ACK, ip, s);
            tcp_send_rst_for(ctx, ip, s);
            return STOP;
        }
        set_send_window(c, s);
        tcp_set_state(ctx, c, SF_ESTABLISHED, SF_CAUSE_RCV_ACK);
        connection_established(ctx, c);
        deliver_queued(ctx, c, s);
    }
    /* RFC 5961 5.2: acceptable only if
     * SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT; else ACK and drop. */
    if (seq_gt(ack, c->snd_max)) {
        tcp_drop(ctx, c, SF_DROP_ACK_UNSENT, ip, s);
        tcp_send_invalid_ack(ctx, c, s); /* rate-limited: oow.c */
        return STOP;
    }
    if (seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
        tcp_drop(ctx, c, SF_DROP_ACK_UNACCEPTABLE, ip, s);
        tcp_send_challenge_ack(ctx, c);
        return STOP;
    }
    /* RFC 5681 2: a duplicate ACK acknowledges nothing new, carries no
     * data, SYN or FIN, leaves the window alone, with data in flight. */
    bool dup = ack == c->snd_una && s->len == 0 &&
               !(s->flags & (SF_SYN | SF_FIN)) && s->win == c->snd_wnd &&
               c->snd_una != c->snd_max &&
               s->win != 0; /* answers to window probes are not losses */
    if (seq_gt(ack, c->snd_una)) {
        uint32_t acked = ack - c->snd_una;
        ack_advance(ctx, c, ack);
        tcp_cc_on_newack(ctx, c, acked);
    } else if (dup && c->state != SF_SYN_RCVD) {
        tcp_cc_on_dupack(ctx, c);
    }
    /* Window update, guarded by SND.WL1/SND.WL2 against old segments. */
    if (seq_leq(c->snd_una, ack) &&
        (seq_lt(c->snd_wl1, s->seq) ||
         (c->snd_wl1 == s->seq && seq_leq(c->snd_wl2, ack)))) {
        bool was_closed = c->snd_wnd == 0;
        set_send_window(c, s);
        if (was_closed && s->win != 0)
            tcp_window_opened(ctx, c); /* tcp_output sends at once */
        /* RFC 9293 3.8.6.1: a peer that answers our zero-window probes is
         * alive; do not count them towards R2. */
        if (s->win == 0 && ack == c->snd_una)
            c->nrexmt = 0;
    }
    switch (c->state) {
    case SF_FIN_WAIT_1:
        /* "if the FIN segment is now acknowledged, then enter FIN-WAIT-2"
         * (a FIN in this same segment goes straight to TIME_WAIT in the
         * eighth step). */
        if (our_fin_acked(c) && !fin_in_order(c, s)) {
            tcp_set_state(ctx, c, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK_OF_FIN);
            if (c->app_closed)
                tcp_timer_start(ctx, c, TT_WAIT, ctx->cfg->fin_wait_2_timeout);
        }
        break;
    case SF_CLOSING:
        /* "if the ACK acknowledges our FIN, then enter the TIME-WAIT
         * state; otherwise, ignore the segment." */
        if (our_fin_acked(c))
            enter_time_wait(ctx, c, SF_CAUSE_RCV_ACK_OF_FIN);
        return STOP;
    case SF_LAST_ACK:
        /* "If our FIN is now acknowledged, delete the TCB, enter the
         * CLOSED state, and return." */
        if (our_fin_acked(c)) {
            tcp_terminate(ctx, c, 0, SF_CAUSE_RCV_ACK_OF_FIN);
            return STOP;
        }
        break;
    default:
        break;
    }
    return CONTINUE;
}

/* Sixth, the URG bit: synfin does not deliver urgent data out of band
 * (RFC 6093 advises applications against it); the pointer is ignored and
 * the bytes are delivered in line. */

/* RFC 9293 3.8.6.3, RFC 5681 4.2: "an ACK SHOULD be generated for at
 * least every second full-sized segment", and no later than cfg->delack
 * after the first unacknowledged one. The count is of bytes received
 * since the last ACK, in units of a full-sized segment (see
 * note_rcv_mss()), so one segment of many MSS (a TSO/GRO super-packet)
 * counts as the segments it stands for. */
static void delay_ack(struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint32_t ours = tcp_our_mss(ctx, c); /* TCP_MAXSEG may have shrunk it */
    uint32_t full = c->rcv_mss ? c->rcv_mss : 536;
    if (full > ours)
        full = ours;
    if (ctx->cfg->delack == 0 || c->rcv_nxt - c->rcv_acked >= 2 * full) {
        c->ack_now = true;
        return;
    }
    c->ack_pending = true;
    if (!tcp_timer_pending(c, TT_DELACK))
        tcp_timer_start(ctx, c, TT_DELACK, ctx->cfg->delack);
}

/* RFC 5681 2: a "full-sized segment" carries the sender's SMSS, which
 * RFC 9293 3.7.1 bounds by the MSS we advertised. The largest segment seen
 * estimates it (a peer whose own MTU is smaller sends smaller ones), but
 * capped at our MSS: anything longer is several segments merged by the
 * sender's TSO or a receive offload (the kernel hands synfin 64 KB
 * super-packets over TUN), and taking it as "full-sized" would make every
 * later segment count as a fraction of one, so that no two of them ever
 * reach an immediate ACK and each window waits for the delayed-ACK timer. */
static void note_rcv_mss(const struct tcp_ctx *ctx, struct sf_conn *c,
                         size_t len)
{
    uint16_t ours = tcp_our_mss(ctx, c);
    uint16_t seen = len < ours ? (uint16_t)len : ours;
    if (seen > c->rcv_mss)
        c->rcv_mss = seen;
}

/* Seventh, process the segment text. */
static void step7_text(struct tcp_ctx *ctx, struct sf_conn *c,
                       const struct sf_ipv4 *ip, struct sf_tcp *s)
{
    bool synced_rx = c->state == SF_ESTABLISHED ||
                     c->state == SF_FIN_WAIT_1 || c->state == SF_FIN_WAIT_2;
    if (synced_rx && (s->flags & SF_FIN) && !c->rfin) {
        c->rfin = true; /* processed in step eight once RCV.NXT gets there */
        c->rfin_seq = s->seq + (uint32_t)s->len;
    }
    if (s->len == 0) {
        if (synced_rx && c->rfin && c->rfin_seq != c->rcv_nxt)
            c->ack_now = true; /* a FIN beyond a hole */
        return;
    }
    if (!synced_rx) {
        /* CLOSE_WAIT .. TIME_WAIT: "This should not occur since a FIN has
         * been received from the remote side. Ignore the segment text." */
        tcp_drop(ctx, c, SF_DROP_DATA_NOT_SYNCHRONIZED, ip, s);
        return;
    }
    if (c->app_closed) {
        /* RFC 1122 4.2.2.13: data arriving after CLOSE has nobody to read
         * it; the TCP SHOULD send a RST so the peer learns it was lost. */
        tcp_drop(ctx, c, SF_DROP_DATA_NOT_SYNCHRONIZED, ip, s);
        tcp_send_rst(ctx, c);
        tcp_terminate(ctx, c, 0, SF_CAUSE_ABORT);
        return;
    }
    if (ring_reserve(&c->rcvbuf, tcp_rcv_cap(c)) < 0) {
        tcp_drop(ctx, c, SF_DROP_NO_MEMORY, ip, s);
        return;
    }
    note_rcv_mss(ctx, c, s->len);
    if (s->seq != c->rcv_nxt) {
        /* SHLD-31: held for later; RFC 5681 4.2: an out-of-order segment
         * is acknowledged at once (the duplicate ACK fast retransmit
         * counts). */
        if (tcp_reass_store(ctx, c, s->seq, s->payload, (uint32_t)s->len))
            ctx->ctr.c[SF_CTR_REASS_QUEUED]++;
        else
            tcp_drop(ctx, c, SF_DROP_REASS_FULL, ip, s);
        c->ack_now = true;
        return;
    }
    bool filled;
    uint32_t n = tcp_reass_in_order(c, s->payload, (uint32_t)s->len, &filled);
    ring_commit(&c->rcvbuf, n);
    /* "advances RCV.NXT over the data accepted" */
    c->rcv_nxt += n;
    if (filled || !tcp_reass_empty(c))
        c->ack_now = true; /* RFC 5681 4.2: "fills in all or part of a gap" */
    else
        delay_ack(ctx, c);
    tcp_wakeup(ctx, c);
}

/* Eighth, check the FIN bit. */
static enum disp step8_fin(struct tcp_ctx *ctx, struct sf_conn *c,
                           const struct sf_ipv4 *ip, struct sf_tcp *s)
{
    (void)ip;
    if (c->state == SF_TIME_WAIT && (s->flags & SF_FIN)) {
        /* RFC 9293 3.10.7.4 eighth step, TIME-WAIT: "send an
         * acknowledgment for the FIN ... Remain in the TIME-WAIT state.
         * Restart the 2 MSL time-wait timeout." (This is a FIN that passed
         * the first step in the window; an old one is handled there.) */
        c->ack_now = true;
        tcp_timer_start(ctx, c, TT_WAIT, 2 * ctx->cfg->msl);
        return CONTINUE;
    }
    if (!c->rfin || c->rfin_seq != c->rcv_nxt || c->fin_rcvd)
        return CONTINUE;
    if (c->state != SF_ESTABLISHED && c->state != SF_FIN_WAIT_1 &&
        c->state != SF_FIN_WAIT_2)
        return CONTINUE;
    /* "advance RCV.NXT over the FIN, and send an acknowledgment" */
    c->rcv_nxt++;
    c->fin_rcvd = true;
    c->ack_now = true;
    switch (c->state) {
    case SF_ESTABLISHED:
        tcp_set_state(ctx, c, SF_CLOSE_WAIT, SF_CAUSE_RCV_FIN);
        break;
    case SF_FIN_WAIT_1:
        /* "If our FIN has been ACKed (perhaps in this segment), then enter
         * TIME-WAIT ...; otherwise, enter the CLOSING state." */
        if (our_fin_acked(c))
            enter_time_wait(ctx, c, SF_CAUSE_RCV_FIN_ACK);
        else
            tcp_set_state(ctx, c, SF_CLOSING, SF_CAUSE_RCV_FIN);
        break;
    case SF_FIN_WAIT_2:
        enter_time_wait(ctx, c, SF_CAUSE_RCV_FIN);
        break;
    default:
        break;
    }
    tcp_wakeup(ctx, c);
    return CONTINUE;
}

void tcp_segment_arrives(struct tcp_ctx *ctx, struct sf_conn *c,
                         const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    struct sf_tcp s = *seg; /* trimmed in place by the steps */
    switch (c->state) {
    case SF_CLOSED:
    case SF_LISTEN:
        tcp_closed_segment(ctx, ip, &s);
        return;
    case SF_SYN_SENT:
        synsent_arrives(ctx, c, ip, &s);
        return;
    default:
        break;
    }
    if (c->state == SF_SYN_RCVD && (s.flags & SF_SYN) && s.seq == c->irs) {
        if (!(s.flags & SF_ACK)) {
            /* The peer's SYN again: our SYN,ACK was lost. Send it again
             * (as BSD and Linux do) rather than the bare ACK of step one. */
            tcp_drop(ctx, c, SF_DROP_OUT_OF_WINDOW, ip, &s);
            c->snd_nxt = c->iss;
            tcp_output_limit(ctx, c, 1);
            return;
        }
        /* Simultaneous open (Figure 7 line 5): the SYN half of this
         * SYN,ACK is old news; only its ACK is new. */
        s.flags &= (uint8_t)~SF_SYN;
        s.seq++;
    }
    if (step1_seq(ctx, c, ip, &s) == STOP)
        return;
    tcp_keepalive_reset(ctx, c); /* the peer is alive */
    if (step2_rst(ctx, c, ip, &s) == STOP ||
        step4_syn(ctx, c, ip, &s) == STOP) {
        return;
    }
    if (step5_ack(ctx, c, ip, &s) == STOP) {
        if (!c->dead)
            tcp_output(ctx, c);
        return;
    }
    step7_text(ctx, c, ip, &s);
    if (!c->dead) {
        step8_fin(ctx, c, ip, &s);
        tcp_output(ctx, c);
    }
}
