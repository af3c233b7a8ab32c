/* Segments out: the one place that builds a TCP segment from a TCB and
 * hands it to wire/ and then to the embedder's output callback. */
#include <string.h>

#include "tcp/cc.h"
#include "tcp/pacing.h"
#include "tcp/tcp_int.h"

/* A data segment's payload left where it is, in one or two slices of
 * the send ring, for cfg.output_gather. */
struct tcp_slices {
    uint8_t *p[2];
    uint32_t n[2]; /* n[0] > 0; n[1] 0 unless the ring wraps */
    uint32_t seg;  /* 0: one segment; else a run of segments of seg bytes
                    * each for the device to cut (cfg.output_gso) */
};

static void emit(struct tcp_ctx *ctx, int sd, const struct sf_addr *src,
                 const struct sf_addr *dst, struct sf_tcp *seg, uint8_t tos,
                 const struct tcp_slices *sl);

void tcp_emit(struct tcp_ctx *ctx, int sd, const struct sf_addr *src,
              const struct sf_addr *dst, struct sf_tcp *seg)
{
    emit(ctx, sd, src, dst, seg, 0, NULL);
}

void tcp_emit_tos(struct tcp_ctx *ctx, int sd, const struct sf_addr *src,
                  const struct sf_addr *dst, struct sf_tcp *seg, uint8_t tos)
{
    emit(ctx, sd, src, dst, seg, tos, NULL);
}

/* RFC 9293 3.1: the checksum covers the payload too; summed in place,
 * the second slice at the odd offset the first may leave (RFC 1071). */
static uint32_t slices_sum(const struct tcp_slices *sl)
{
    uint32_t sum = sf_csum_add(0, sl->p[0], sl->n[0]);
    return sl->n[1] ? sf_csum_add_at(sum, sl->p[1], sl->n[1], sl->n[0]) : sum;
}

/* tos: the IPv4 TOS byte or IPv6 Traffic Class, whose low two bits are
 * the ECN field (RFC 3168 5, RFC 8200 7; ecn.c chooses them). The
 * addresses' family picks the IP version: one TCP, two network layers.
 * sl: the payload's slices (seg->len bytes) for cfg.output_gather, which
 * gets the headers built in obuf and the slices as they are; NULL: the
 * whole datagram is built in obuf for cfg.output. */
static void emit(struct tcp_ctx *ctx, int sd, const struct sf_addr *src,
                 const struct sf_addr *dst, struct sf_tcp *seg, uint8_t tos,
                 const struct tcp_slices *sl)
{
    size_t n;
    /* cfg.offload: the device completes the checksum (SF_OFFLOAD_TX_CSUM) */
    unsigned ef = ctx->cfg->offload & SF_OFFLOAD_TX_CSUM ? SF_CSUM_PARTIAL : 0;
    uint32_t paysum = sl && !ef ? slices_sum(sl) : 0;
    if (src->family == SF_AF_INET6) {
        struct sf_ipv6 ip6 = {.hlim = 64, .tclass = tos,
                              .proto = SF_IPPROTO_TCP_NUM};
        memcpy(ip6.src, src->ip6, 16);
        memcpy(ip6.dst, dst->ip6, 16);
        n = sl ? sf_emit6_hdr(ctx->obuf, ctx->ocap, &ip6, seg, ef, paysum)
               : sf_emit6_ex(ctx->obuf, ctx->ocap, &ip6, seg, ef);
    } else {
        struct sf_ipv4 ip4 = {.src = src->ip, .dst = dst->ip, .ttl = 64,
                              .tos = tos, .proto = SF_IPPROTO_TCP_NUM,
                              .id = ctx->ip_id++};
        n = sl ? sf_emit_hdr(ctx->obuf, ctx->ocap, &ip4, seg, ef, paysum)
               : sf_emit_ex(ctx->obuf, ctx->ocap, &ip4, seg, ef);
    }
    if (n == 0)
        return;
    size_t hl = n;
    if (sl)
        n += seg->len;
    /* a run for the device to cut: k segments on the wire, each with its
     * own IPv4 ID (the device numbers them on from the first's) */
    uint32_t k = sl && sl->seg ? (uint32_t)(seg->len / sl->seg) : 1;
    ctx->ip_id = (uint16_t)(ctx->ip_id + k - 1);
    ctx->ctr.c[SF_CTR_SEG_OUT] += k;
    if (ef)
        ctx->ctr.c[SF_CTR_CSUM_OUT_PARTIAL] += k;
    if (seg->flags & SF_RST)
        ctx->ctr.c[SF_CTR_RST_OUT]++;
    struct tcp_ip ip = {.src = *src, .dst = *dst, .tos = tos};
    ip.src.port = seg->sport;
    ip.dst.port = seg->dport;
    if (sl && ctx->cfg->trace) { /* the trace shows the whole datagram */
        memcpy(ctx->obuf + hl, sl->p[0], sl->n[0]);
        if (sl->n[1])
            memcpy(ctx->obuf + hl + sl->n[0], sl->p[1], sl->n[1]);
    }
    tcp_trace_seg(ctx, SF_TRACE_SEG_OUT, sd, &ip, seg, ctx->obuf, n);
    if (!sl) {
        ctx->cfg->output(ctx->cfg->output_ctx, ctx->obuf, n);
        return;
    }
    struct sf_piece v[3] = {{ctx->obuf, hl}, {sl->p[0], sl->n[0]},
                            {sl->p[1], sl->n[1]}};
    if (sl->seg) {
        ctx->ctr.c[SF_CTR_TSO_OUT]++;
        ctx->cfg->output_gso(ctx->cfg->output_ctx, v, sl->n[1] ? 3 : 2, sl->seg);
    } else {
        ctx->cfg->output_gather(ctx->cfg->output_ctx, v, sl->n[1] ? 3 : 2);
    }
    ctx->gather_kept = ctx->cfg->output_flush != NULL;
}

/* What is still open of the window offered last: [RCV.NXT, rcv_adv). */
static uint32_t rcv_offered(const struct sf_conn *c)
{
    return c->rcv_adv_set && seq_gt(c->rcv_adv, c->rcv_nxt)
               ? c->rcv_adv - c->rcv_nxt : 0;
}

/* RFC 9293 3.8.6: the window offered is the free receive buffer; since
 * RCV.NXT advances by exactly what fills the buffer, the right edge
 * RCV.NXT + RCV.WND does not move left (3.10.7.4 seventh step: "The total
 * of RCV.NXT and RCV.WND should not be reduced"). A buffer made smaller
 * (SO_RCVBUF) would move it left: 3.8.6.2.2 (SHLD-14) and RFC 7323 2.4
 * say the edge must stay, so what was offered stays offered and the
 * smaller buffer applies once the peer has used the offer up. At most
 * what the 16-bit field carries with our shift (RFC 7323 2.2). */
uint32_t tcp_rcv_window(const struct sf_conn *c)
{
    uint32_t used = ring_len(&c->rcvbuf);
    uint32_t space = c->rcvbuf_size > used ? c->rcvbuf_size - used : 0;
    uint32_t offered = rcv_offered(c);
    if (space < offered)
        space = offered;
    uint32_t max = tcp_max_rcv_window(c); /* RFC 7323 2.2: scaled */
    return space > max ? max : space;
}

uint32_t tcp_rcv_cap(const struct sf_conn *c)
{
    uint32_t need = ring_len(&c->rcvbuf) + rcv_offered(c);
    return need > c->rcvbuf_size ? need : c->rcvbuf_size;
}

/* Memory pressure (cfg.mem_pressure), as Linux's tcp_select_window,
 * which under tcp_memory_pressure clamps the window to 4 * advmss: the
 * window offered is at most four segments, or the room left in the
 * receive storage already held if larger (it costs nothing more), and
 * never less than what is still open of the last offer: RFC 9293
 * 3.8.6.2.2 and RFC 7323 2.4, the right edge must not move left, so the
 * window shrinks only by not advancing. */
static uint32_t rcv_window_mem(struct tcp_ctx *ctx, const struct sf_conn *c)
{
    uint32_t wnd = tcp_rcv_window(c);
    if (!ctx->mem.pressure)
        return wnd;
    uint32_t used = ring_len(&c->rcvbuf), cap = ring_cap(&c->rcvbuf);
    uint32_t lim = 4u * tcp_our_mss(ctx, c);
    if (cap > used && cap - used > lim)
        lim = cap - used;
    /* (before any ACK of ours: what the SYN,ACK of a SYN-queue request
     * offered, kept in RCV.WND when the request became this TCB) */
    uint32_t open = c->rcv_adv_set ? rcv_offered(c) : c->rcv_wnd;
    if (open > lim)
        lim = open;
    if (wnd <= lim)
        return wnd;
    ctx->ctr.c[SF_CTR_MEM_WINDOW_CLAMPED]++;
    return lim;
}

/* The payload: len bytes at data, or (data NULL) in the slices sl. */
static void send_seg_tos(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                         uint8_t flags, const uint8_t *data, size_t len,
                         uint8_t tos, const struct tcp_slices *sl)
{
    tcp_ecn_ack_out(ctx, c, &flags); /* RFC 3168 6.1.3: ECE until CWR */
    struct sf_tcp seg = {.sport = c->local.port, .dport = c->remote.port,
                         .seq = seq, .flags = flags, .payload = data,
                         .len = len};
    if (flags & SF_ACK) {
        /* any segment carrying the ACK settles what was owed */
        seg.ack = c->rcv_nxt;
        c->rcv_acked = c->rcv_nxt;
        c->ack_now = false;
        c->ack_pending = false;
        if (tcp_timer_pending(c, TT_DELACK))
            tcp_timer_stop(ctx, c, TT_DELACK);
    }
    c->rcv_wnd = rcv_window_mem(ctx, c);
    uint32_t offered;
    seg.win = tcp_win_field(c, flags & SF_SYN, c->rcv_wnd, &offered);
    if (flags & SF_ACK) {
        /* the offer this segment makes, relative to the RCV.NXT it
         * acknowledges */
        c->rcv_adv = c->rcv_nxt + offered;
        c->rcv_adv_set = true;
    }
    if (flags & SF_SYN) {
        /* RFC 9293 3.7.1: send the MSS option on every SYN so the peer
         * need not fall back to TCP_DEFAULT_MSS. */
        seg.opt.has_mss = true;
        seg.opt.mss = tcp_our_mss(ctx, c);
        /* RFC 2018 2: SACK-permitted on our SYN if we want SACK; on a
         * SYN,ACK only if the peer's SYN offered it. */
        seg.opt.sack_ok = c->state == SF_SYN_SENT ? c->sack_want : c->sack_ok;
        tcp_syn_options_out(ctx, c, &seg); /* RFC 7323 */
    } else if (c->ts_ok) {
        /* RFC 7323 3.2: "the TSopt MUST be sent in every non-<RST>
         * segment for the duration of the connection, and SHOULD be sent
         * in an <RST> segment". */
        tcp_ts_out(ctx, c, &seg);
    }
    /* RFC 2018 4: SACK blocks on ACKs while data is held out of order
     * (last: they take the option space the others leave) */
    if (c->sack_ok && (flags & SF_ACK) && !(flags & SF_SYN))
        tcp_sack_fill(ctx, c, &seg.opt);
    emit(ctx, c->sd, &c->local, &c->remote, &seg, tos, sl);
}

static void send_seg(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                     uint8_t flags, const uint8_t *data, size_t len)
{
    send_seg_tos(ctx, c, seq, flags, data, len, 0, NULL);
}

/* Accounts a segment occupying [seq, seq+n) as sent (seg: a run of
 * segments of seg bytes, cut by the device; 0: one segment). */
static void sent_space(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                       uint32_t n, uint32_t seg)
{
    bool fresh = seq_geq(seq, c->snd_max);
    if (seq_gt(seq + n, c->snd_max))
        c->snd_max = seq + n;
    /* RFC 6298 3 (Karn): time only segments sent once. */
    if (fresh && n && !c->rtt_timing) {
        c->rtt_timing = true;
        c->rtt_seq = seq;
        c->rtt_start_us = tcp_now_us(ctx);
    }
    /* RTT samples for HyStart++, one a segment as the wire has them */
    uint32_t step = seg ? seg : n, at = 0;
    do
        tcp_cc_on_send(ctx, c, seq + at, step, fresh);
    while ((at += step) < n);
    tcp_rack_sent(ctx, c, seq, n); /* RFC 8985 6.1: Segment.xmit_ts */
    /* RFC 6298 5.1: start the timer if it is not running. A persist
     * timer in the slot is not a retransmission timer: the data sent now
     * arms the RTO afresh (now + RTO), it does not inherit the persist
     * deadline (RFC 9293 3.8.6.1). */
    if (n && (!tcp_timer_pending(c, TT_REXMT) || c->persist_on)) {
        c->una_since_ms = tcp_now_ms(ctx); /* outstanding from now (RFC 5482) */
        tcp_timer_start(ctx, c, TT_REXMT, tcp_rto(c));
    }
    if (fresh && n)
        tcp_tlp_arm(ctx, c); /* RFC 8985 7.2: after new data is sent */
}

static bool send_syn(struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint8_t flags = SF_SYN;
    /* SYN_SENT has not seen the peer's SYN: nothing to acknowledge. */
    if (c->state != SF_SYN_SENT)
        flags |= SF_ACK;
    flags |= tcp_ecn_syn_flags(c); /* RFC 3168 6.1.1, Not-ECT (6.1.1.1) */
    send_seg(ctx, c, c->iss, flags, NULL, 0);
    sent_space(ctx, c, c->iss, 1, 0);
    c->snd_nxt = c->iss + 1;
    return true;
}

/* RFC 9293 3.7.1: "if there are any IP or TCP options to be sent in a
 * packet, then the sender must decrease the size of the TCP data
 * accordingly": the data a segment may carry is the send MSS less the
 * options send_seg() will put on it (SACK blocks). */
static uint32_t data_room(const struct sf_conn *c)
{
    /* the timestamp option is already out of snd_mss (tcp_set_send_mss);
     * the SACK blocks come on top, as many as tcp_sack_fill() will fit
     * beside it */
    unsigned n = c->sack_ok ? tcp_sack_nblocks(c) : 0;
    uint32_t opt = 0; /* (no block: the common case, no option sets built) */
    if (n) {
        struct sf_tcp_opts o = {.has_ts = c->ts_ok};
        size_t base = sf_tcp_opts_len(&o);
        unsigned room = base + 10 <= SF_TCP_OPT_MAX
                            ? (unsigned)((SF_TCP_OPT_MAX - base - 2) / 8)
                            : 0;
        o.nsack = (uint8_t)(n < room ? n : room);
        opt = (uint32_t)(sf_tcp_opts_len(&o) - base);
    }
    return c->snd_mss > opt + 8 ? c->snd_mss - opt : 8;
}

static uint32_t data_end(const struct sf_conn *c)
{
    return c->snd_buf_seq + ring_len(&c->sndbuf);
}

/* Sends [seq, seq+n) of the send buffer, with FIN if it ends at our FIN;
 * returns the sequence space used. seg: n is a run of segments of seg
 * bytes each for the device to cut (tso_run), 0: one segment. */
static uint32_t send_at_run(struct tcp_ctx *ctx, struct sf_conn *c,
                            uint32_t seq, uint32_t n, uint32_t seg)
{
    bool fin = c->fin_queued && seq + n == c->fin_seq;
    uint8_t flags = SF_ACK;
    if (n && seq + n == data_end(c))
        flags |= SF_PSH; /* RFC 9293 3.9.1.2: push the end of the buffer */
    if (fin)
        flags |= SF_FIN;
    /* the payload: left in the send ring for a gather output, which
     * takes it from there (cfg.output_gather); else copied out to follow
     * the headers in one buffer */
    struct tcp_slices sl = {.seg = seg};
    bool gather = n && ctx->cfg->output_gather;
    if (gather)
        ring_view(&c->sndbuf, seq - c->snd_buf_seq, n, sl.p, sl.n);
    else if (n)
        ring_peek(&c->sndbuf, seq - c->snd_buf_seq, ctx->pbuf, n);
    /* RFC 3168: ECT(0) and CWR on new data (ecn.c) */
    uint8_t tos = tcp_ecn_data_out(ctx, c, seq, n, &flags);
    send_seg_tos(ctx, c, seq, flags, gather ? NULL : ctx->pbuf, n, tos,
                 gather ? &sl : NULL);
    uint32_t used = n + (fin ? 1 : 0);
    if (n < data_room(c) && seq_gt(seq + n, c->snd_sml))
        c->snd_sml = seq + n; /* the end of the last small segment */
    sent_space(ctx, c, seq, used, seg);
    /* the next departure (pacing.c), as the segments one by one */
    tcp_pace_sent(ctx, c, seg ? seg : used, seg ? used / seg : 1);
    return used;
}

static uint32_t send_at(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                        uint32_t n)
{
    return send_at_run(ctx, c, seq, n, 0);
}

/* The most a datagram of several segments may carry: an IPv6 payload (or
 * an IPv4 datagram) of at most 65,535 bytes with 60 bytes of TCP header. */
#define TSO_MAX (65535u - 40u - 60u)

/* A run of full-sized segments for the device to cut (cfg.output_gso,
 * SF_OFFLOAD_TSO): n bytes of new data may go now and at least the first
 * full segment of them is due. How many bytes of it one datagram may
 * carry: a whole number of full segments, at least two, or 0 for one
 * segment the usual way. Only new data (a retransmission goes a segment
 * at a time: SACK decides what), never the FIN (the device's cut handles
 * ACK and PSH only), at most what pacing lets go now: as many segments as
 * the loop below would send one by one while the burst has credit. */
static uint32_t tso_run(const struct tcp_ctx *ctx, const struct sf_conn *c,
                        uint32_t n, uint32_t full, bool paced, unsigned max)
{
    const struct sf_stack_cfg *cfg = ctx->cfg;
    unsigned want = SF_OFFLOAD_TSO | SF_OFFLOAD_TX_CSUM;
    if ((cfg->offload & want) != want || !cfg->output_gso ||
        !cfg->output_gather || cfg->trace || seq_lt(c->snd_nxt, c->snd_max))
        return 0;
    uint32_t most = TSO_MAX / full;
    if (max < most)
        most = max;
    if (paced && tcp_pace_rate(ctx, c)) {
        uint32_t credit = (c->pace_credit + full - 1) / full;
        most = credit < most ? credit : most;
    } else if (paced && c->pace_on && c->pace_segs < TCP_PACE_UNPACED_SEGS) {
        /* the unpaced start ends inside the run: pacing takes over after */
        uint32_t left = TCP_PACE_UNPACED_SEGS - c->pace_segs;
        most = left < most ? left : most;
    }
    uint32_t k = n / full < most ? n / full : most;
    if (k && c->fin_queued && c->snd_nxt + k * full == c->fin_seq)
        k--; /* the last one carries the FIN: it goes alone */
    return k >= 2 ? k * full : 0;
}

/* RFC 9293 3.7.4 (Nagle) and 3.8.6.2.1 (sender SWS avoidance): may a
 * segment of n bytes, out of `remaining` queued, go now? */
static bool worth_sending(const struct sf_conn *c, uint32_t n,
                          uint32_t remaining, uint32_t flight, uint32_t full)
{
    if (n == full)
        return true; /* a full-sized segment */
    if (n == remaining)
        /* all queued data: unless Nagle holds it back. Minshall's variant
         * (as Linux): wait only while an earlier small segment is still
         * unacknowledged, so the tail of a large write is not delayed by
         * a round trip. TCP_NODELAY turns it off; a FIN pushes it out. */
        return c->nodelay || flight == 0 || c->fin_queued ||
               !seq_gt(c->snd_sml, c->snd_una);
    /* window-limited: only a fair share Fs = 1/2 of the largest window
     * the peer offered, never a silly small segment */
    return n >= c->max_snd_wnd / 2 && n > 0;
}

/* Sends one data (and/or FIN) segment from SND.NXT if the windows and
 * the rules above allow, or with max > 1 a run of up to max full-sized
 * ones for the device to cut (tso_run). force: the persist override; paced: not
 * before the pacing rate allows (pacing.c). Returns the segments sent. */
static unsigned send_data(struct tcp_ctx *ctx, struct sf_conn *c, bool force,
                          bool paced, unsigned max)
{
    uint32_t end = data_end(c);
    if (c->sb && seq_lt(c->snd_nxt, c->snd_max))
        c->snd_nxt = tcp_sack_skip(c, c->snd_nxt); /* RFC 6675 5.1 */
    uint32_t remaining = seq_lt(c->snd_nxt, end) ? end - c->snd_nxt : 0;
    if (remaining == 0) {
        /* only the FIN: it needs no window */
        if (c->fin_queued && c->snd_nxt == c->fin_seq) {
            c->snd_nxt += send_at(ctx, c, c->snd_nxt, 0);
            return 1;
        }
        return 0;
    }
    uint32_t flight = c->snd_nxt - c->snd_una;
    /* the peer's window limits what is outstanding; the congestion window
     * what is in the network: with SACK information that is RFC 6675's
     * pipe, not everything outstanding (sack.c) */
    uint32_t inflight = tcp_sack_inflight(c);
    uint32_t pwin = c->snd_wnd > flight ? c->snd_wnd - flight : 0;
    uint32_t cwin = c->cwnd > inflight ? c->cwnd - inflight : 0;
    uint32_t usable = pwin < cwin ? pwin : cwin;
    uint32_t n = remaining < usable ? remaining : usable;
    uint32_t full = data_room(c);
    if (n > full)
        n = full;
    if (force && n == 0)
        n = 1; /* a zero-window probe */
    /* RFC 9438 4.6 / RFC 7661: was cwnd what stopped the sender? (cc.c) */
    bool cwnd_full = cwin <= pwin && remaining > n && (uint64_t)n + full > cwin;
    if (n == 0) {
        tcp_cc_on_use(c, inflight, cwnd_full);
        return 0;
    }
    if (!force && !worth_sending(c, n, remaining, flight, full)) {
        /* RFC 9293 3.8.6.2.2: when the peer shrank its window below what
         * was sent, the sender "SHOULD retransmit normally the old
         * unacknowledged data between SND.UNA and SND.UNA+SND.WND"
         * (SHLD-16). SWS avoidance is for new data: bytes sent once
         * already go again as the window allows, not one per (backed
         * off) retransmission timeout. */
        uint32_t old = seq_lt(c->snd_nxt, c->snd_max)
                           ? c->snd_max - c->snd_nxt : 0;
        if (old == 0)
            return 0;
        if (n > old)
            n = old;
    }
    if (paced && !force && !tcp_pace_ok(ctx, c))
        return 0;
    uint32_t avail = remaining < usable ? remaining : usable;
    uint32_t run = max > 1 && !force && n == full
                       ? tso_run(ctx, c, avail, full, paced, max) : 0;
    if (run) {
        /* as the segments one by one would have: the cwnd limit as seen
         * by the last of them */
        cwnd_full = cwin <= pwin && remaining > run &&
                    (uint64_t)run + full > cwin;
        c->snd_nxt += send_at_run(ctx, c, c->snd_nxt, run, full);
        tcp_cc_on_use(c, inflight + run, cwnd_full);
        return run / full;
    }
    c->snd_nxt += send_at(ctx, c, c->snd_nxt, n);
    tcp_cc_on_use(c, inflight + n, cwnd_full);
    return 1;
}

static bool can_send_data(const struct sf_conn *c)
{
    /* Data and FIN only once our SYN is acknowledged, or a FIN queued in
     * SYN_RCVD right behind the SYN (once the SYN is out). */
    return c->syn_acked ||
           (c->snd_nxt != c->iss && c->fin_queued && c->snd_nxt == c->fin_seq);
}

/* RFC 9293 3.8.6.1: data waits unsent and no retransmission timer runs
 * to bring an ACK back (nothing outstanding, or what was outstanding has
 * been answered): the persist timer makes sure the window gets probed, so
 * that a lost window update cannot deadlock the connection. A persist
 * timer already running keeps its deadline. */
static void persist_arm(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (tcp_timer_pending(c, TT_REXMT) || !seq_lt(c->snd_nxt, data_end(c)) ||
        !can_send_data(c) || tcp_pace_waiting(c))
        return; /* (data held for pacing goes when its timer fires) */
    tcp_persist_start(ctx, c);
}

void tcp_output_limit(struct tcp_ctx *ctx, struct sf_conn *c, unsigned max_segs)
{
    if (c->dead || c->state == SF_CLOSED || c->state == SF_LISTEN)
        return;
    unsigned sent = 0;
    if (c->state != SF_TIME_WAIT) {
        /* the SYN is due until it is acknowledged: SND.NXT == ISS means
         * not yet sent, or sent again after a timeout; never after, when
         * SND.NXT comes back to ISS every 2^32 bytes */
        if (!c->syn_acked && c->snd_nxt == c->iss)
            sent += send_syn(ctx, c);
        if (tcp_sack_recovering(c) && can_send_data(c)) {
            /* RFC 6675 5 (C): during SACK recovery NextSeg () chooses.
             * Not held by pacing: RFC 6937 PRR already sends in step
             * with the ACKs that report delivered data, and a fast
             * retransmit or the repair of a hole that waits for the
             * pacing timer only delays the recovery (pacing.c; the
             * segments sent still count against the rate). */
            unsigned q = max_segs > sent ? max_segs - sent : 0;
            if (q)
                sent += tcp_sack_output(ctx, c, q);
        } else {
            if (can_send_data(c)) /* sack.c: lost again after an RTO */
                sent += tcp_sack_rto_output(ctx, c, max_segs - sent);
            unsigned k = 1;
            while (sent < max_segs && k && can_send_data(c)) {
                k = send_data(ctx, c, false, true, max_segs - sent);
                sent += k;
            }
        }
        persist_arm(ctx, c);
    }
    if (c->ack_now && c->state != SF_SYN_SENT)
        tcp_send_ack(ctx, c);
}

void tcp_output(struct tcp_ctx *ctx, struct sf_conn *c)
{
    tcp_output_limit(ctx, c, ~0u);
}

void tcp_output_force_one(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (can_send_data(c))
        send_data(ctx, c, true, false, 1);
    persist_arm(ctx, c); /* nothing sent: probe later */
}

/* RFC 9293 3.8.6.1 and 3.10.7.4 fifth step: an ACK opened the peer's
 * window, which was zero. Whatever we sent while it was closed (the
 * zero-window probe) lay beyond the window, and as far as this ACK says
 * the peer did not keep it: go back to SND.UNA so that sending resumes
 * at once (tcp_output follows), rather than at the next probe or
 * retransmission timeout. The probe was answered, so its retransmission
 * timer stops; the data sent now starts it afresh (RFC 6298 5.1), or the
 * persist timer takes over if the window is still too small to use. */
void tcp_window_opened(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (!seq_gt(c->snd_nxt, c->snd_una) || !can_send_data(c))
        return;
    c->snd_nxt = c->snd_una;
    c->rtt_timing = false; /* RFC 6298 3 (Karn): the probe goes again */
    tcp_timer_stop(ctx, c, TT_REXMT);
}

uint32_t tcp_send_range(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                        uint32_t n)
{
    uint32_t end = data_end(c);
    if (seq_geq(seq, end))
        n = 0;
    else if (n > end - seq)
        n = end - seq;
    if (n > data_room(c))
        n = data_room(c);
    if (n == 0 && !(c->fin_queued && seq == c->fin_seq))
        return 0;
    ctx->ctr.c[SF_CTR_RETRANSMITS]++;
    /* RFC 6298 3 (Karn): no sample from a segment sent twice */
    if (c->rtt_timing && seq_leq(seq, c->rtt_seq) &&
        seq_lt(c->rtt_seq, seq + n + 1))
        c->rtt_timing = false;
    return send_at(ctx, c, seq, n);
}

/* The highest segment sent, again (RFC 8985 7.3 loss probe). */
void tcp_send_last(struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint32_t end = data_end(c);
    if (seq_gt(end, c->snd_max))
        end = c->snd_max;
    uint32_t n = seq_gt(end, c->snd_una) ? end - c->snd_una : 0;
    if (n > data_room(c))
        n = data_room(c);
    tcp_send_range(ctx, c, end - n, n);
}

/* Not paced here: SACK recovery is not paced (tcp_output_limit(): PRR
 * is its clock); a limited transmit
 * (RFC 3042) or a loss probe (RFC 8985 7.3) is one segment that must go
 * when its ACK or timer says, or not at all (held back, a limited
 * transmit would not follow: the window does not allow it later). Each
 * still counts against the rate. */
bool tcp_send_new_one(struct tcp_ctx *ctx, struct sf_conn *c)
{
    return can_send_data(c) && send_data(ctx, c, false, false, 1);
}

void tcp_retransmit_front(struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint32_t end = data_end(c);
    uint32_t n = seq_lt(c->snd_una, end) ? end - c->snd_una : 0;
    if (n > data_room(c))
        n = data_room(c);
    if (n == 0 && !(c->fin_queued && c->snd_una == c->fin_seq))
        return;
    ctx->ctr.c[SF_CTR_RETRANSMITS]++;
    c->rtt_timing = false; /* Karn */
    send_at(ctx, c, c->snd_una, n);
}

void tcp_send_keepalive(struct tcp_ctx *ctx, struct sf_conn *c)
{
    ctx->ctr.c[SF_CTR_KEEPALIVE_PROBES]++;
    send_seg(ctx, c, c->snd_una - 1, SF_ACK, NULL, 0);
}

/* A pure ACK carries SND.MAX, not SND.NXT: after a timeout sends
 * SND.NXT back to SND.UNA, the peer may hold everything up to SND.MAX,
 * and an ACK numbered below its RCV.NXT would be dropped as old in its
 * first check, its acknowledgment unread (BSD does the same). */
void tcp_send_ack(struct tcp_ctx *ctx, struct sf_conn *c)
{
    send_seg(ctx, c, c->snd_max, SF_ACK, NULL, 0);
}

/* RFC 9293 3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST> (SND.MAX here, as for
 * ACKs: the highest number the peer may have seen); the ACK bit is set as
 * well (as BSD and Linux do) so that the peer's RFC 5961 checks see the
 * acknowledgment it expects. */
void tcp_send_rst(struct tcp_ctx *ctx, struct sf_conn *c)
{
    send_seg(ctx, c, c->snd_max, SF_RST | SF_ACK, NULL, 0);
}

void tcp_send_rst_for(struct tcp_ctx *ctx, const struct tcp_ip *ip,
                      const struct sf_tcp *seg)
{
    if (seg->flags & SF_RST)
        return; /* never answer a RST with a RST */
    struct sf_tcp rst = {.sport = seg->dport, .dport = seg->sport};
    if (seg->flags & SF_ACK) {
        /* <SEQ=SEG.ACK><CTL=RST> */
        rst.seq = seg->ack;
        rst.flags = SF_RST;
    } else {
        /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN and FIN count. */
        uint32_t seglen = (uint32_t)seg->len + !!(seg->flags & SF_SYN) +
                          !!(seg->flags & SF_FIN);
        rst.seq = 0;
        rst.ack = seg->seq + seglen;
        rst.flags = SF_RST | SF_ACK;
    }
    tcp_emit(ctx, -1, &ip->dst, &ip->src, &rst);
}
