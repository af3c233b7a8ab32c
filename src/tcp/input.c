/* SEGMENT ARRIVES: RFC 9293 3.10.7, in the RFC's order. Each step is one
 * function returning a disposition (struct tcp_disp): go on, done, or
 * drop with a reason and an answer. run_steps() runs a state's steps and
 * settles each disposition in one place (tcp_settle); per-state
 * differences are switches inside the steps. */
#include <string.h>

#include "tcp/cc.h"
#include "tcp/tcp_int.h"

typedef struct tcp_disp step_fn(struct tcp_ctx *ctx, struct sf_conn *c,
                                const struct tcp_ip *ip, struct sf_tcp *s);

static uint32_t seg_space(const struct sf_tcp *s)
{
    return (uint32_t)s->len + !!(s->flags & SF_SYN) + !!(s->flags & SF_FIN);
}

static bool our_fin_acked(const struct sf_conn *c)
{
    return c->fin_queued && seq_gt(c->snd_una, c->fin_seq);
}

/* RFC 9293 3.7.1: Eff.snd.MSS is the peer's MSS option (536 when absent,
 * 1220 over IPv6; raised to cfg->min_snd_mss) bounded by what we can send. */
void tcp_set_send_mss(struct tcp_ctx *ctx, struct sf_conn *c,
                      const struct sf_tcp *s)
{
    uint16_t peer = tcp_peer_mss(ctx, s, c->local.family);
    uint16_t ours = tcp_our_mss(ctx, c);
    c->snd_mss = peer < ours ? peer : ours;
    /* RFC 9293 3.7.1: the MSS counts no TCP options, and the segment
     * must fit "MMS_S - TCPhdrsize": with RFC 7323 timestamps on every
     * segment, 12 bytes of each (10, padded) are the TSopt (as Linux). */
    if (c->ts_ok && c->snd_mss > TCP_TSOPT_ALIGNED)
        c->snd_mss -= TCP_TSOPT_ALIGNED;
    if (c->snd_mss < 1)
        c->snd_mss = 1; /* an MSS option of 0 must not stall us */
}

/* RFC 9293 3.10.7.3/3.10.7.4: "set SND.WND <- SEG.WND, set SND.WL1 <-
 * SEG.SEQ, and set SND.WL2 <- SEG.ACK". */
void tcp_set_send_window(struct sf_conn *c, const struct sf_tcp *s)
{
    c->snd_wnd = tcp_seg_wnd(c, s); /* RFC 7323 6: scaled */
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    if (c->snd_wnd > c->max_snd_wnd)
        c->max_snd_wnd = c->snd_wnd;
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

void tcp_closed_segment(struct tcp_ctx *ctx, const struct tcp_ip *ip,
                        const struct sf_tcp *seg)
{
    /* "An incoming segment containing a RST is discarded. An incoming
     * segment not containing a RST causes a RST to be sent in response."
     * (tcp_send_rst_for never answers a RST.) */
    enum sf_drop why = (seg->flags & SF_RST) ? SF_DROP_CLOSED_RST
                                             : SF_DROP_NO_SOCKET;
    tcp_settle(ctx, NULL, ip, seg, tcp_disp(TCP_DROP_RST, why));
}

/* 3.10.7.2 LISTEN: listen.c */

/* ------------------------------------------------- 3.10.7.3 SYN-SENT */

static void ack_advance(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t ack);

static void connection_established(struct tcp_ctx *ctx, struct sf_conn *c)
{
    /* RFC 6298 5.7: a SYN retransmitted without an RTT sample leaves the
     * RTO at 3 s for the data phase. */
    if (c->syn_rexmitted && !c->have_rtt && c->rto_us < TCP_RTO_SYN_LOST_US)
        c->rto_us = TCP_RTO_SYN_LOST_US;
    c->nrexmt = 0;
    tcp_ecn_established(ctx, c);
    tcp_keepalive_reset(ctx, c);
    tcp_wakeup(ctx, c);
}

/* RFC 9293 3.10.7.3, a SYN without ACK in SYN-SENT: "If there are other
 * controls or text in the segment, queue them for processing after the
 * ESTABLISHED state has been reached". The text waits in the reassembly
 * queue at its place right after the SYN (not acknowledged, so the peer
 * keeps it for retransmission too); a FIN is remembered at its place.
 * Returns the reason if the text could not be kept. */
static enum sf_drop synsent_queue_rest(struct tcp_ctx *ctx, struct sf_conn *c,
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
    if (len && !tcp_reass_store(ctx, c, seq, s->payload, len))
        return SF_DROP_REASS_FULL; /* the peer sends it again */
    if (fin) {
        c->rfin = true;
        c->rfin_seq = seq + len;
    }
    return SF_DROP_NONE;
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

/* RFC 9293 3.10.7.3 fourth, a SYN,ACK: "enter ESTABLISHED state, form an
 * ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it. ... If
 * there are other controls or text in the segment, then continue
 * processing at the sixth step". */
static struct tcp_disp synsent_synack(struct tcp_ctx *ctx, struct sf_conn *c,
                                      struct sf_tcp *s)
{
    tcp_ecn_synack_in(c, s); /* RFC 3168 6.1.1 */
    ack_advance(ctx, c, s->ack);
    tcp_set_send_window(c, s);
    tcp_set_state(ctx, c, SF_ESTABLISHED, SF_CAUSE_RCV_SYNACK);
    connection_established(ctx, c);
    c->ack_now = true;
    s->flags &= (uint8_t)~SF_SYN;
    s->seq++;
    return TCP_GO;
}

/* RFC 9293 3.10.7.3 fourth, a SYN alone: simultaneous open (Figure 7):
 * "enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT>
 * <CTL=SYN,ACK> and send it". */
static struct tcp_disp synsent_syn(struct tcp_ctx *ctx, struct sf_conn *c,
                                   struct sf_tcp *s)
{
    c->snd_wnd = s->win;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = 0;
    if (s->win > c->max_snd_wnd)
        c->max_snd_wnd = s->win;
    tcp_ecn_syn_in(c, s); /* RFC 3168 6.1.1 */
    tcp_set_state(ctx, c, SF_SYN_RCVD, SF_CAUSE_RCV_SYN);
    return tcp_disp(TCP_SEND_SYNACK, synsent_queue_rest(ctx, c, s));
}

/* RFC 9293 3.10.7.3 SYN-SENT: the ACK, RST and SYN checks in order. */
static struct tcp_disp synsent_arrives(struct tcp_ctx *ctx, struct sf_conn *c,
                                       const struct tcp_ip *ip,
                                       struct sf_tcp *s)
{
    (void)ip;
    bool ack = s->flags & SF_ACK;
    /* First, the ACK: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
     * (unless the RST bit is set) <SEQ=SEG.ACK><CTL=RST>" (Figure 8). */
    if (ack && (seq_leq(s->ack, c->iss) || seq_gt(s->ack, c->snd_max)))
        return tcp_disp(TCP_DROP_RST, SF_DROP_SYNSENT_BAD_ACK);
    /* Second, RST: refused if the ACK was acceptable, else ignored. */
    if (s->flags & SF_RST) {
        if (!ack)
            return tcp_dropped(SF_DROP_SYNSENT_RST_NO_ACK);
        ctx->ctr.c[SF_CTR_RST_IN]++;
        tcp_terminate(ctx, c, SF_ECONNREFUSED, SF_CAUSE_RCV_RST);
        return tcp_disp(TCP_DONE, SF_DROP_NONE);
    }
    /* Fifth: "if neither of the SYN or RST bits is set, drop". */
    if (!(s->flags & SF_SYN))
        return tcp_dropped(SF_DROP_SYNSENT_NO_SYN);
    /* Fourth, SYN. */
    c->irs = s->seq;
    c->rcv_nxt = c->rcv_acked = s->seq + 1;
    tcp_syn_options_in(ctx, c, s); /* RFC 7323 2.2, 3.2 */
    tcp_set_send_mss(ctx, c, s);
    tcp_sack_negotiate(c, s);
    return ack ? synsent_synack(ctx, c, s) : synsent_syn(ctx, c, s);
}

/* ------------------------------------------- 3.10.7.4 the other states */

/* Before the first step, a SYN in SYN-RECEIVED numbered as the one that
 * opened it (RFC 9293 3.10.7.4 would have step one ACK it). */
static struct tcp_disp synrcvd_syn(struct tcp_ctx *ctx, struct sf_conn *c,
                                   const struct tcp_ip *ip, struct sf_tcp *s)
{
    (void)ctx, (void)ip;
    if (c->state != SF_SYN_RCVD || !(s->flags & SF_SYN) || s->seq != c->irs)
        return TCP_GO;
    /* The peer's SYN again: our SYN,ACK was lost. Send it again (as BSD
     * and Linux do) rather than the bare ACK of step one. */
    if (!(s->flags & SF_ACK))
        return tcp_disp(TCP_SEND_SYNACK, SF_DROP_OUT_OF_WINDOW);
    /* Simultaneous open (Figure 7 line 5): the SYN half of this SYN,ACK
     * is old news; only its ACK is new. Its ECE and CWR belong to the
     * SYN half too (RFC 3168 6.1.1, the ECN setup), not to the ACK: an
     * ECE left on would read as a congestion echo. Its window is a SYN's,
     * never scaled (RFC 7323 2.2), but the later steps scale it: scaled
     * down here (rounded down, so never more than offered). */
    s->flags &= (uint8_t)~(SF_SYN | SF_ECE | SF_CWR);
    s->seq++;
    s->win = (uint16_t)(s->win >> c->snd_wscale);
    return TCP_GO;
}

/* RFC 9293 3.10.7.4 first step, Table 6: is any of the segment in the
 * window? */
static bool seq_acceptable(const struct sf_conn *c, const struct sf_tcp *s,
                           uint32_t wnd)
{
    uint32_t len = seg_space(s);
    uint32_t nxt = c->rcv_nxt;
    /* An empty segment at the right edge, RCV.NXT + RCV.WND, is taken
     * too (Linux does the same): it is what a peer's ACK carries (SEQ =
     * SND.NXT) once it has filled our window while a hole holds RCV.NXT
     * back, and dropping it would drop the ACK and its SACK blocks until
     * a timeout (3.3: "it is possible for a TCP implementation to
     * maintain a zero receive window while transmitting data and
     * receiving ACKs"). */
    if (len == 0)
        return wnd == 0 ? s->seq == nxt
                        : seq_between(nxt, s->seq, nxt + wnd + 1);
    return wnd != 0 && (seq_between(nxt, s->seq, nxt + wnd) ||
                        seq_between(nxt, s->seq + len - 1, nxt + wnd));
}

/* RFC 9293 3.10.7.4 first step: "If the RCV.WND is zero ... special
 * allowance should be made to accept valid ACKs, URGs, and RSTs": keep
 * the header, drop the text. */
static bool zero_window_allowance(struct tcp_ctx *ctx, struct sf_conn *c,
                                  struct sf_tcp *s, uint32_t wnd)
{
    if (wnd != 0 || s->seq != c->rcv_nxt || (s->flags & SF_SYN))
        return false;
    if (s->len)
        ctx->ctr.drops[SF_DROP_RCVBUF_FULL]++;
    s->len = 0;
    s->flags &= (uint8_t)~SF_FIN;
    c->ack_now = true;
    return true;
}

/* RFC 9293 3.10.7.4 first step, a segment not acceptable. */
static struct tcp_disp seq_unacceptable(struct tcp_ctx *ctx, struct sf_conn *c,
                                        const struct sf_tcp *s)
{
    if (s->flags & SF_RST)
        return tcp_dropped(SF_DROP_RST_OUT_OF_WINDOW);
    /* RFC 5961 4.2: a SYN in a synchronized state, "irrespective of the
     * sequence number", is answered by a challenge ACK (under its limits,
     * oow.c), outside the window as inside. (SYN-RECEIVED and TIME-WAIT
     * keep their own rules: 3.10.7.4 fourth step, timewait.c.) */
    if ((s->flags & SF_SYN) && c->state != SF_SYN_RCVD &&
        c->state != SF_TIME_WAIT)
        return tcp_disp(TCP_DROP_CHALLENGE, SF_DROP_SYN_CHALLENGED);
    /* TIME-WAIT: "The only thing that can arrive in this state is a
     * retransmission of the remote FIN. Acknowledge it, and restart
     * the 2 MSL timeout." */
    if (c->state == SF_TIME_WAIT && (s->flags & SF_FIN) &&
        s->seq + s->len + 1 == c->rcv_nxt)
        tcp_timer_start(ctx, c, TT_WAIT, 2 * ctx->cfg->msl);
    /* "an acknowledgment should be sent in reply ... and drop"
     * (rate-limited against ACK storms: oow.c) */
    return tcp_disp(TCP_DROP_ACK, SF_DROP_OUT_OF_WINDOW);
}

/* RFC 9293 3.10.7.4 first step: trim the segment to the window so that
 * the later steps see the idealized segment. */
static void trim_to_window(struct sf_conn *c, struct sf_tcp *s, uint32_t wnd)
{
    uint32_t nxt = c->rcv_nxt;
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
}

/* RFC 9293 3.10.7.4 first step: check the sequence number (Table 6). */
static struct tcp_disp step1_seq(struct tcp_ctx *ctx, struct sf_conn *c,
                                 const struct tcp_ip *ip, struct sf_tcp *s)
{
    (void)ip;
    tcp_sack_rcv_old(c, s); /* RFC 2883: a duplicate is D-SACKed */
    uint32_t wnd = tcp_rcv_window(c);
    if (!seq_acceptable(c, s, wnd) && !zero_window_allowance(ctx, c, s, wnd))
        return seq_unacceptable(ctx, c, s);
    if (!(s->flags & (SF_SYN | SF_RST))) /* else dropped whole later */
        trim_to_window(c, s, wnd);
    return TCP_GO;
}

/* RFC 9293 3.8.4, RFC 1122 4.2.3.6: an acceptable segment shows the peer
 * alive (keepalive). */
static struct tcp_disp peer_alive(struct tcp_ctx *ctx, struct sf_conn *c,
                                  const struct tcp_ip *ip, struct sf_tcp *s)
{
    (void)ip, (void)s;
    tcp_keepalive_reset(ctx, c);
    return TCP_GO;
}

/* RFC 9293 3.10.7.4 fourth step (and second, RST): "If the connection was
 * initiated with a passive OPEN, then return this connection to the
 * LISTEN state and return." The child goes away. */
static void return_to_listen(struct tcp_ctx *ctx, struct sf_conn *c,
                             enum sf_cause cause)
{
    tcp_timers_stop_all(ctx, c);
    tcp_set_state(ctx, c, SF_LISTEN, cause);
    c->dead = true;
}

/* RFC 9293 3.10.7.4 second step: a RST at exactly RCV.NXT resets the
 * connection, as the state prescribes. */
static void reset_by_peer(struct tcp_ctx *ctx, struct sf_conn *c)
{
    ctx->ctr.c[SF_CTR_RST_IN]++;
    switch (c->state) {
    case SF_SYN_RCVD:
        /* "return this connection to LISTEN state and return. The user
         * need not be informed." */
        if (c->passive)
            return_to_listen(ctx, c, SF_CAUSE_RCV_RST);
        else
            tcp_terminate(ctx, c, SF_ECONNREFUSED, SF_CAUSE_RCV_RST);
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
}

/* RFC 9293 3.10.7.4 second step: check the RST bit (RFC 5961 3.2). */
static struct tcp_disp step2_rst(struct tcp_ctx *ctx, struct sf_conn *c,
                                 const struct tcp_ip *ip, struct sf_tcp *s)
{
    (void)ip;
    if (!(s->flags & SF_RST))
        return TCP_GO;
    /* 3) in the window but not exactly RCV.NXT: challenge ACK, drop. */
    if (s->seq != c->rcv_nxt)
        return tcp_disp(TCP_DROP_CHALLENGE, SF_DROP_RST_CHALLENGED);
    /* 2) exactly RCV.NXT: reset. */
    reset_by_peer(ctx, c);
    return tcp_disp(TCP_DONE, SF_DROP_NONE);
}

/* RFC 9293 3.10.7.4 third step, security: synfin carries no security/
 * compartment labels (the IP security option is obsolete), so there is
 * nothing to compare. */

/* RFC 9293 3.10.7.4 fourth step: check the SYN bit. */
static struct tcp_disp step4_syn(struct tcp_ctx *ctx, struct sf_conn *c,
                                 const struct tcp_ip *ip, struct sf_tcp *s)
{
    (void)ctx, (void)ip;
    if (!(s->flags & SF_SYN))
        return TCP_GO;
    /* "If the connection was initiated with a passive OPEN, then return
     * this connection to the LISTEN state and return." */
    if (c->state == SF_SYN_RCVD && c->passive)
        return tcp_disp(TCP_DROP_LISTEN, SF_DROP_SYN_CHALLENGED);
    /* RFC 5961 4.2: "irrespective of the sequence number, TCP endpoints
     * MUST send a challenge ACK" and drop. */
    return tcp_disp(TCP_DROP_CHALLENGE, SF_DROP_SYN_CHALLENGED);
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
        if (!ring_len(&c->sndbuf))
            tcp_out_flush(ctx); /* its storage goes back to the cache */
        ring_trim_cached(&c->sndbuf, false, &ctx->rcache); /* all acknowledged */
        c->snd_buf_seq += n;
    }
    c->bytes_acked += ack - c->snd_una;
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

/* RFC 9293 3.10.7.4 fifth step, SYN-RECEIVED: "If SND.UNA < SEG.ACK =<
 * SND.NXT, then enter ESTABLISHED"; otherwise "<SEQ=SEG.ACK><CTL=RST>". */
static struct tcp_disp synrcvd_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                                   struct sf_tcp *s)
{
    if (c->state != SF_SYN_RCVD)
        return TCP_GO;
    if (!(seq_lt(c->snd_una, s->ack) && seq_leq(s->ack, c->snd_max)))
        return tcp_disp(TCP_DROP_RST, SF_DROP_SYNRCVD_BAD_ACK);
    tcp_set_send_window(c, s);
    tcp_set_state(ctx, c, SF_ESTABLISHED, SF_CAUSE_RCV_ACK);
    connection_established(ctx, c);
    deliver_queued(ctx, c, s);
    return TCP_GO;
}

/* RFC 5961 5.2 (RFC 9293 3.10.7.4 fifth step): acceptable only if
 * SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT; else ACK and drop. The
 * lower edge lies no further back than the bytes ever acknowledged (as
 * Linux's tcp_ack): an ACK older than our ISS answers nothing we sent.
 * On a connection that has sent little, a blind injector (5.1) must then
 * guess SEG.ACK among as many values as bytes were sent, not among
 * MAX.SND.WND of them: with 16 MB windows, 2^24 times fewer hits. */
static struct tcp_disp ack_acceptable(const struct sf_conn *c,
                                      const struct sf_tcp *s)
{
    if (seq_gt(s->ack, c->snd_max)) /* the ACK is rate-limited: oow.c */
        return tcp_disp(TCP_DROP_ACK, SF_DROP_ACK_UNSENT);
    uint32_t back = c->max_snd_wnd;
    if (c->bytes_acked < back)
        back = (uint32_t)c->bytes_acked;
    if (seq_lt(s->ack, c->snd_una - back))
        return tcp_disp(TCP_DROP_CHALLENGE, SF_DROP_ACK_UNACCEPTABLE);
    return TCP_GO;
}

/* RFC 9293 3.10.7.4 fifth step, "If SND.UNA < SEG.ACK =< SND.NXT, then
 * set SND.UNA <- SEG.ACK"; RFC 5681 2: a duplicate ACK acknowledges
 * nothing new, carries no data, SYN or FIN, leaves the window alone, with
 * data in flight. */
static void ack_advance_or_dup(struct tcp_ctx *ctx, struct sf_conn *c,
                               const struct sf_tcp *s)
{
    uint32_t ack = s->ack;
    bool dup = ack == c->snd_una && s->len == 0 &&
               !(s->flags & (SF_SYN | SF_FIN)) &&
               tcp_seg_wnd(c, s) == c->snd_wnd &&
               c->snd_una != c->snd_max &&
               s->win != 0; /* answers to window probes are not losses */
    uint32_t acked = 0;
    if (seq_gt(ack, c->snd_una)) {
        acked = ack - c->snd_una;
        tcp_ts_rtt(ctx, c, s); /* RFC 7323 4.1 RTTM */
        ack_advance(ctx, c, ack);
        tcp_eifel_on_ack(ctx, c, s, acked); /* RFC 3522, RFC 4015 */
    }
    /* RFC 2018 / RFC 6675: with SACK in use, sack.c runs recovery */
    if (c->sack_ok && c->syn_acked)
        tcp_sack_on_ack(ctx, c, s, acked, dup && c->state != SF_SYN_RCVD);
    else if (acked)
        tcp_cc_on_newack(ctx, c, acked);
    else if (dup && c->state != SF_SYN_RCVD)
        tcp_cc_on_dupack(ctx, c);
    if (acked)
        tcp_sndbuf_autotune(ctx, c);
}

/* RFC 9293 3.10.7.4 fifth step: "If SND.UNA =< SEG.ACK =< SND.NXT, the
 * send window should be updated", guarded by SND.WL1/SND.WL2 against old
 * segments. */
static void window_update(struct tcp_ctx *ctx, struct sf_conn *c,
                          const struct sf_tcp *s)
{
    uint32_t ack = s->ack;
    if (!seq_leq(c->snd_una, ack) ||
        !(seq_lt(c->snd_wl1, s->seq) ||
          (c->snd_wl1 == s->seq && seq_leq(c->snd_wl2, ack))))
        return;
    bool was_closed = c->snd_wnd == 0;
    tcp_set_send_window(c, s);
    if (was_closed && s->win != 0)
        tcp_window_opened(ctx, c); /* tcp_output sends at once */
    /* RFC 9293 3.8.6.1: a peer that answers our zero-window probes is
     * alive; do not count them towards R2. */
    if (s->win == 0 && ack == c->snd_una)
        c->nrexmt = 0;
}

/* RFC 9293 3.10.7.4 fifth step, FIN-WAIT-1: "if the FIN segment is now
 * acknowledged, then enter FIN-WAIT-2". */
static void fin_wait_1_acked(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->state != SF_FIN_WAIT_1 || !our_fin_acked(c))
        return;
    tcp_set_state(ctx, c, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK_OF_FIN);
    if (c->app_closed)
        tcp_timer_start(ctx, c, TT_WAIT, ctx->cfg->fin_wait_2_timeout);
}

/* RFC 9293 3.10.7.4 fifth step, per state: the ACK of our FIN. */
static struct tcp_disp ack_of_fin(struct tcp_ctx *ctx, struct sf_conn *c,
                                  const struct sf_tcp *s)
{
    switch (c->state) {
    case SF_FIN_WAIT_1:
        /* A FIN in this same segment goes straight to TIME_WAIT in the
         * eighth step; if that step does not take it after all, it makes
         * this move (step8_fin). */
        if (!fin_in_order(c, s))
            fin_wait_1_acked(ctx, c);
        return TCP_GO;
    case SF_CLOSING:
        /* "if the ACK acknowledges our FIN, then enter the TIME-WAIT
         * state; otherwise, ignore the segment." */
        if (our_fin_acked(c))
            enter_time_wait(ctx, c, SF_CAUSE_RCV_ACK_OF_FIN);
        return tcp_disp(TCP_DONE, SF_DROP_NONE);
    case SF_LAST_ACK:
        /* "If our FIN is now acknowledged, delete the TCB, enter the
         * CLOSED state, and return." */
        if (!our_fin_acked(c))
            return TCP_GO;
        tcp_terminate(ctx, c, 0, SF_CAUSE_RCV_ACK_OF_FIN);
        return tcp_disp(TCP_DONE, SF_DROP_NONE);
    default:
        return TCP_GO;
    }
}

/* RFC 9293 3.10.7.4 fifth step: check the ACK field. */
static struct tcp_disp step5_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                                 const struct tcp_ip *ip, struct sf_tcp *s)
{
    (void)ip;
    if (!(s->flags & SF_ACK))
        return tcp_dropped(SF_DROP_NO_ACK);
    struct tcp_disp d = synrcvd_ack(ctx, c, s);
    if (d.v == TCP_CONTINUE)
        d = ack_acceptable(c, s);
    if (d.v != TCP_CONTINUE)
        return d;
    ack_advance_or_dup(ctx, c, s);
    tcp_ecn_ece_in(ctx, c, s); /* RFC 3168 6.1.2 */
    window_update(ctx, c, s);
    return ack_of_fin(ctx, c, s);
}

/* RFC 9293 3.10.7.4 sixth step, the URG bit: synfin does not deliver
 * urgent data out of band (RFC 6093 advises applications against it); the
 * pointer is ignored and the bytes are delivered in line. */

/* RFC 9293 3.8.6.3, RFC 5681 4.2: "an ACK SHOULD be generated for at
 * least every second full-sized segment", and no later than cfg->delack
 * after the first unacknowledged one. The count is of bytes received
 * since the last ACK, in units of a full-sized segment (see
 * note_rcv_mss()), so one segment of many MSS (a TSO/GRO super-packet)
 * counts as the segments it stands for. */
static void delay_ack(struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint32_t ours = tcp_our_mss(ctx, c); /* TCP_MAXSEG may have shrunk it */
    uint32_t full = c->rcv_mss ? c->rcv_mss : TCP_DEFAULT_MSS;
    if (full > ours)
        full = ours;
    uint32_t owed = c->rcv_nxt - c->rcv_acked;
    if (ctx->cfg->delack != 0 && owed >= 2 * full && ctx->in_batch &&
        c->rcv_adv_set && owed < (c->rcv_adv - c->rcv_acked) / 2) {
        /* SF_IN_BATCH. RFC 9293 3.10.7.4: "the processing of received
         * segments MUST be implemented to aggregate ACK segments whenever
         * possible (MUST-58). For example, if the TCP endpoint is
         * processing a series of queued segments, it MUST process them
         * all before sending any ACK segments (MUST-59)." The ACK at the
         * end of the batch (a timer due now, fired by the
         * sf_stack_advance the driver calls then), covering what the rest
         * of the batch brings (3.8.6.3 names GRO among the practices that
         * send fewer ACKs than SHLD-19's one every second segment); while
         * the sender still has half the window it was offered */
        c->ack_pending = true;
        if (!tcp_timer_pending(c, TT_DELACK) ||
            tcp_deadline(ctx, c, TT_DELACK) > ctx->now) {
            ctx->ctr.c[SF_CTR_ACK_BATCHED]++;
            tcp_delack_due(ctx, c);
        }
        return;
    }
    if (ctx->cfg->delack == 0 || owed >= 2 * full) {
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

/* RFC 9293 3.10.7.4 seventh step, in ESTABLISHED, FIN-WAIT-1 and -2: text
 * beyond RCV.NXT is held (SHLD-31); RFC 5681 4.2: an out-of-order segment
 * is acknowledged at once (the duplicate ACK fast retransmit counts). */
static struct tcp_disp text_out_of_order(struct tcp_ctx *ctx,
                                         struct sf_conn *c,
                                         const struct sf_tcp *s)
{
    enum sf_drop why = SF_DROP_NONE;
    if (tcp_reass_store(ctx, c, s->seq, s->payload, (uint32_t)s->len))
        ctx->ctr.c[SF_CTR_REASS_QUEUED]++;
    else
        why = SF_DROP_REASS_FULL;
    c->ack_now = true;
    return tcp_disp(TCP_CONTINUE, why);
}

/* RFC 9293 3.10.7.4 seventh step: text at RCV.NXT "advances RCV.NXT over
 * the data accepted". */
static void text_in_order(struct tcp_ctx *ctx, struct sf_conn *c,
                          const struct sf_tcp *s)
{
    bool filled;
    uint32_t n = tcp_reass_in_order(c, s->payload, (uint32_t)s->len, &filled);
    ring_commit(&c->rcvbuf, n);
    c->rcv_nxt += n;
    if (filled || !tcp_reass_empty(c))
        c->ack_now = true; /* RFC 5681 4.2: "fills in all or part of a gap" */
    else
        delay_ack(ctx, c);
    tcp_wakeup(ctx, c);
}

/* RFC 9293 3.10.7.4 seventh step, text at RCV.NXT, "advances RCV.NXT over
 * the data accepted": offered first to the application's direct delivery
 * (cfg.deliver) while nothing waits before it, neither in the receive
 * buffer nor out of order. What it takes is read at once: RCV.NXT passes
 * it, the window stays where it was. Returns true if it took it all (the
 * ACK then follows the usual rules, 3.8.6.3). */
static bool text_direct(struct tcp_ctx *ctx, struct sf_conn *c,
                        struct sf_tcp *s)
{
    const struct sf_stack_cfg *cfg = ctx->cfg;
    if (!cfg->deliver || c->sd < 0 || c->shut_rd || ring_len(&c->rcvbuf) ||
        !tcp_reass_empty(c) || s->seq != c->rcv_nxt)
        return false;
    size_t k = cfg->deliver(cfg->deliver_ctx, c->sd, s->payload, s->len);
    if (k > s->len)
        k = s->len;
    if (k == 0)
        return false;
    ctx->ctr.c[SF_CTR_DIRECT_DELIVERED] += k;
    c->rcv_nxt += (uint32_t)k;
    tcp_rcvbuf_autotune(ctx, c, (uint32_t)k);
    if (k == s->len) {
        delay_ack(ctx, c);
        return true;
    }
    s->payload += k;
    s->seq += (uint32_t)k;
    s->len -= k;
    return false;
}

/* RFC 9293 3.10.7.4 seventh step: process the segment text. */
static struct tcp_disp step7_text(struct tcp_ctx *ctx, struct sf_conn *c,
                                  const struct tcp_ip *ip, struct sf_tcp *s)
{
    tcp_ecn_rcv(ctx, c, ip, s); /* RFC 3168 6.1.3: CE and CWR */
    bool synced_rx = c->state == SF_ESTABLISHED ||
                     c->state == SF_FIN_WAIT_1 || c->state == SF_FIN_WAIT_2;
    if (synced_rx && (s->flags & SF_FIN) && !c->rfin) {
        c->rfin = true; /* processed in step eight once RCV.NXT gets there */
        c->rfin_seq = s->seq + (uint32_t)s->len;
        tcp_reass_cut(c, c->rfin_seq); /* the stream ends there */
    }
    /* Text past a known FIN is no part of the stream (eighth step; the
     * FIN first received stands, as the first copy of bytes does). */
    if (synced_rx && c->rfin && s->len &&
        seq_gt(s->seq + (uint32_t)s->len, c->rfin_seq)) {
        if (seq_geq(s->seq, c->rfin_seq)) {
            c->ack_now = true;
            return tcp_disp(TCP_CONTINUE, SF_DROP_DATA_NOT_SYNCHRONIZED);
        }
        s->len = c->rfin_seq - s->seq;
    }
    if (s->len == 0) {
        /* A FIN beyond a hole: a duplicate ACK at once (RFC 5681 4.2). Only
         * for the segment that carries it: a pure ACK is not answered,
         * or two stacks each holding the other's FIN beyond a hole sent
         * ACKs back and forth once a round trip (found by fuzz_twostack;
         * tests/drill/data/fin-beyond-hole-no-ack-storm.pkt). */
        if (synced_rx && (s->flags & SF_FIN) && c->rfin && c->rfin_seq != c->rcv_nxt)
            c->ack_now = true;
        return TCP_GO;
    }
    /* CLOSE_WAIT .. TIME_WAIT: "This should not occur since a FIN has
     * been received from the remote side. Ignore the segment text." */
    if (!synced_rx)
        return tcp_disp(TCP_CONTINUE, SF_DROP_DATA_NOT_SYNCHRONIZED);
    /* RFC 1122 4.2.2.13: data arriving after CLOSE has nobody to read it;
     * the TCP SHOULD send a RST so the peer learns it was lost. */
    if (c->app_closed)
        return tcp_disp(TCP_DROP_ABORT, SF_DROP_DATA_NOT_SYNCHRONIZED);
    note_rcv_mss(ctx, c, s->len);
    if (text_direct(ctx, c, s))
        return TCP_GO;
    if (tcp_rcvbuf_reserve(ctx, c, s->seq + (uint32_t)s->len) < 0)
        return tcp_disp(TCP_CONTINUE, SF_DROP_NO_MEMORY);
    if (s->seq != c->rcv_nxt)
        return text_out_of_order(ctx, c, s);
    text_in_order(ctx, c, s);
    return TCP_GO;
}

/* RFC 9293 3.10.7.4 eighth step, the state a FIN moves to. */
static void fin_transition(struct tcp_ctx *ctx, struct sf_conn *c)
{
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
}

/* RFC 1122 4.2.3.2, RFC 9293 3.8.6.3: a delayed ACK, for a FIN that moves
 * ESTABLISHED to CLOSE_WAIT (cfg.fin_ack_delay): the application's FIN or
 * data sent before the timer fires carries it (send_seg settles what is
 * owed), as Linux delays the ACK in CLOSE_WAIT. An earlier deadline (data
 * delayed before) stands. */
static void delay_fin_ack(struct tcp_ctx *ctx, struct sf_conn *c)
{
    ctx->ctr.c[SF_CTR_FIN_ACK_DELAYED]++;
    c->ack_pending = true;
    if (!tcp_timer_pending(c, TT_DELACK) ||
        tcp_deadline(ctx, c, TT_DELACK) > ctx->now + ctx->cfg->fin_ack_delay)
        tcp_timer_start(ctx, c, TT_DELACK, ctx->cfg->fin_ack_delay);
}

/* RFC 9293 3.10.7.4 eighth step: check the FIN bit. */
static struct tcp_disp step8_fin(struct tcp_ctx *ctx, struct sf_conn *c,
                                 const struct tcp_ip *ip, struct sf_tcp *s)
{
    (void)ip;
    if (c->state == SF_TIME_WAIT && (s->flags & SF_FIN)) {
        /* TIME-WAIT: "send an acknowledgment for the FIN ... Remain in the
         * TIME-WAIT state. Restart the 2 MSL time-wait timeout." (This is
         * a FIN that passed the first step in the window; an old one is
         * handled there.) */
        c->ack_now = true;
        tcp_timer_start(ctx, c, TT_WAIT, 2 * ctx->cfg->msl);
        return TCP_GO;
    }
    if (!c->rfin || c->rfin_seq != c->rcv_nxt || c->fin_rcvd) {
        /* The FIN that ack_of_fin expected here is not taken (its text
         * found no memory, say): the fifth step's move is still owed.
         * Without it a connection whose FIN was acknowledged stayed in
         * FIN-WAIT-1 with no timer (found by fuzz_twostack). */
        fin_wait_1_acked(ctx, c);
        return TCP_GO;
    }
    if (c->state != SF_ESTABLISHED && c->state != SF_FIN_WAIT_1 &&
        c->state != SF_FIN_WAIT_2)
        return TCP_GO;
    /* "advance RCV.NXT over the FIN, and send an acknowledgment" */
    c->rcv_nxt++;
    c->fin_rcvd = true;
    if (c->state == SF_ESTABLISHED && ctx->cfg->fin_ack_delay && !c->ack_now)
        delay_fin_ack(ctx, c);
    else
        c->ack_now = true;
    fin_transition(ctx, c);
    tcp_wakeup(ctx, c);
    return TCP_GO;
}

/* ------------------------------------------------------ one segment */

void tcp_settle(struct tcp_ctx *ctx, struct sf_conn *c,
                const struct tcp_ip *ip, const struct sf_tcp *s,
                struct tcp_disp d)
{
    if (d.why != SF_DROP_NONE)
        tcp_drop(ctx, c, d.why, ip, s);
    switch (d.v) {
    case TCP_DROP_ACK:
        tcp_send_invalid_ack(ctx, c, s);
        break;
    case TCP_DROP_CHALLENGE:
        tcp_send_challenge_ack(ctx, c);
        break;
    case TCP_DROP_RST:
        tcp_send_rst_for(ctx, ip, s);
        break;
    case TCP_SEND_SYNACK: /* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> */
        c->snd_nxt = c->iss;
        tcp_output_limit(ctx, c, 1);
        break;
    case TCP_DROP_LISTEN:
        return_to_listen(ctx, c, SF_CAUSE_RCV_SYN);
        break;
    case TCP_DROP_ABORT:
        tcp_send_rst(ctx, c);
        tcp_terminate(ctx, c, 0, SF_CAUSE_ABORT);
        break;
    default:
        break;
    }
}

/* RFC 9293 3.10.7.3: SYN-SENT, then "continue processing at the sixth
 * step" (sixth, URG, is empty: see above). */
static step_fn *const synsent_steps[] = {synsent_arrives, step7_text,
                                         step8_fin};
enum { SYNSENT_TAKEN_IN = 1 }; /* a SYN,ACK that reaches step7_text */
/* RFC 9293 3.10.7.4: SYN-RECEIVED .. TIME-WAIT, the RFC's order. */
static step_fn *const synced_steps[] = {
    synrcvd_syn, tcp_ts_paws, step1_seq,  tcp_ts_update, peer_alive,
    step2_rst,   step4_syn,   step5_ack,  step7_text,    step8_fin,
};
enum { SYNCED_TAKEN_IN = 7 }; /* a segment that reaches step5_ack */

/* Runs steps[] while they say go on, settling each disposition in one
 * place. A segment stopped before steps[taken_in] was not taken in
 * (nothing is owed: the answer, if any, went out); one that got there is
 * followed by output, unless the connection is dead. */
static void run_steps(struct tcp_ctx *ctx, struct sf_conn *c,
                      const struct tcp_ip *ip, struct sf_tcp *s,
                      step_fn *const *steps, size_t n, size_t taken_in)
{
    struct tcp_disp d = TCP_GO;
    size_t i = 0;
    while (i < n && d.v == TCP_CONTINUE) {
        d = steps[i++](ctx, c, ip, s);
        if (d.v != TCP_CONTINUE || d.why != SF_DROP_NONE) /* TCP_GO: none */
            tcp_settle(ctx, c, ip, s, d);
    }
    if (i > taken_in && !c->dead)
        tcp_output(ctx, c);
}

#define NSTEPS(a) (sizeof(a) / sizeof(a)[0])

void tcp_segment_arrives(struct tcp_ctx *ctx, struct sf_conn *c,
                         const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    struct sf_tcp s = *seg; /* trimmed in place by the steps */
    tcp_options_not_syn(ctx, seg);
    switch (c->state) {
    case SF_CLOSED:
    case SF_LISTEN:
        tcp_closed_segment(ctx, ip, &s);
        break;
    case SF_SYN_SENT:
        run_steps(ctx, c, ip, &s, synsent_steps, NSTEPS(synsent_steps),
                  SYNSENT_TAKEN_IN);
        break;
    default:
        run_steps(ctx, c, ip, &s, synced_steps, NSTEPS(synced_steps),
                  SYNCED_TAKEN_IN);
        break;
    }
}
