/* Segments out: the one place that builds a TCP segment from a TCB and
 * hands it to wire/ and then to the embedder's output callback. */
#include <string.h>

#include "tcp/tcp_int.h"

static void emit(struct tcp_ctx *ctx, int sd, uint32_t src, uint32_t dst,
                 struct sf_tcp *seg)
{
    struct sf_ipv4 ip = {.src = src, .dst = dst, .ttl = 64,
                         .proto = SF_IPPROTO_TCP_NUM, .id = ctx->ip_id++};
    size_t n = sf_emit(ctx->obuf, ctx->ocap, &ip, seg);
    if (n == 0)
        return;
    ctx->ctr.c[SF_CTR_SEG_OUT]++;
    if (seg->flags & SF_RST)
        ctx->ctr.c[SF_CTR_RST_OUT]++;
    tcp_trace_seg(ctx, SF_TRACE_SEG_OUT, sd, &ip, seg, ctx->obuf, n);
    ctx->cfg->output(ctx->cfg->output_ctx, ctx->obuf, n);
}

/* RFC 9293 3.8.6: the window offered is the free receive buffer; since
 * RCV.NXT advances by exactly what fills the buffer, the right edge
 * RCV.NXT + RCV.WND never moves left (3.10.7.4 seventh step: "The total of
 * RCV.NXT and RCV.WND should not be reduced"). No window scaling yet, so
 * at most 65535. */
uint32_t tcp_rcv_window(const struct sf_conn *c)
{
    uint32_t used = c->rcvbuf.len;
    uint32_t space = c->rcvbuf_size > used ? c->rcvbuf_size - used : 0;
    return space > 65535 ? 65535 : space;
}

static uint16_t our_mss(const struct tcp_ctx *ctx, const struct sf_conn *c)
{
    return c->user_mss ? c->user_mss : ctx->cfg->mss;
}

static void send_seg(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                     uint8_t flags, const uint8_t *data, size_t len)
{
    struct sf_tcp seg = {.sport = c->local.port, .dport = c->remote.port,
                         .seq = seq, .flags = flags, .payload = data,
                         .len = len};
    if (flags & SF_ACK) {
        seg.ack = c->rcv_nxt;
        c->ack_now = false;
    }
    c->rcv_wnd = tcp_rcv_window(c);
    seg.win = (uint16_t)c->rcv_wnd;
    if (flags & SF_SYN) {
        /* RFC 9293 3.7.1 (MUST-... SHLD-5): send the MSS option on every
         * SYN so the peer need not fall back to 536. */
        seg.opt.has_mss = true;
        seg.opt.mss = our_mss(ctx, c);
    }
    emit(ctx, c->sd, c->local.ip, c->remote.ip, &seg);
}

/* Accounts a segment occupying [seq, seq+n) as sent. */
static void sent_space(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                       uint32_t n)
{
    bool fresh = seq_geq(seq, c->snd_max);
    c->snd_nxt = seq + n;
    if (seq_gt(c->snd_nxt, c->snd_max))
        c->snd_max = c->snd_nxt;
    /* RFC 6298 3 (Karn): time only segments sent once. */
    if (fresh && !c->rtt_timing) {
        c->rtt_timing = true;
        c->rtt_seq = seq;
        c->rtt_start = ctx->now;
    }
    /* RFC 6298 5.1: start the timer if it is not running. */
    if (!sf_timer_pending(&c->timers[TT_REXMT]))
        tcp_timer_start(ctx, c, TT_REXMT, c->rto);
}

static bool send_syn(struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint8_t flags = SF_SYN;
    /* SYN_SENT has not seen the peer's SYN: nothing to acknowledge. */
    if (c->state != SF_SYN_SENT)
        flags |= SF_ACK;
    send_seg(ctx, c, c->iss, flags, NULL, 0);
    sent_space(ctx, c, c->iss, 1);
    return true;
}

/* Sends one data (and/or FIN) segment from SND.NXT if the window allows. */
static bool send_data(struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
    uint32_t n = 0;
    if (seq_lt(c->snd_nxt, data_end)) {
        uint32_t win_end = c->snd_una + c->snd_wnd;
        uint32_t usable = seq_gt(win_end, c->snd_nxt) ? win_end - c->snd_nxt : 0;
        n = data_end - c->snd_nxt;
        if (n > usable)
            n = usable;
        if (n > c->snd_mss)
            n = c->snd_mss;
        if (n == 0)
            return false; /* window closed */
    }
    bool fin = c->fin_queued && c->snd_nxt + n == c->fin_seq;
    if (n == 0 && !fin)
        return false;
    uint8_t flags = SF_ACK;
    if (n && c->snd_nxt + n == data_end)
        flags |= SF_PSH; /* RFC 9293 3.9.1.2: push the end of the buffer */
    if (fin)
        flags |= SF_FIN;
    if (n)
        sf_ring_peek(&c->sndbuf, c->snd_nxt - c->snd_buf_seq, ctx->pbuf, n);
    send_seg(ctx, c, c->snd_nxt, flags, ctx->pbuf, n);
    sent_space(ctx, c, c->snd_nxt, n + (fin ? 1 : 0));
    return true;
}

void tcp_output_limit(struct tcp_ctx *ctx, struct sf_conn *c, unsigned max_segs)
{
    if (c->dead || c->state == SF_CLOSED || c->state == SF_LISTEN)
        return;
    unsigned sent = 0;
    if (c->state != SF_TIME_WAIT) {
        if (c->snd_nxt == c->iss && seq_leq(c->snd_una, c->iss))
            sent += send_syn(ctx, c);
        /* Data and FIN only once our SYN is acknowledged, or for a FIN
         * queued in SYN_RCVD right behind the SYN. */
        bool syn_acked = seq_gt(c->snd_una, c->iss);
        while (sent < max_segs && c->snd_nxt != c->iss &&
               (syn_acked || (c->fin_queued && c->snd_nxt == c->fin_seq)) &&
               send_data(ctx, c))
            sent++;
    }
    if (c->ack_now && c->state != SF_SYN_SENT)
        tcp_send_ack(ctx, c);
}

void tcp_output(struct tcp_ctx *ctx, struct sf_conn *c)
{
    tcp_output_limit(ctx, c, ~0u);
}

void tcp_send_ack(struct tcp_ctx *ctx, struct sf_conn *c)
{
    send_seg(ctx, c, c->snd_nxt, SF_ACK, NULL, 0);
}

/* RFC 5961 7: at most cfg->challenge_ack_limit challenge ACKs per second
 * per stack, so an attacker cannot use them as an amplifier or a side
 * channel. */
void tcp_send_challenge_ack(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (ctx->now - ctx->chack_epoch >= SF_SEC || ctx->now < ctx->chack_epoch) {
        ctx->chack_epoch = ctx->now;
        ctx->chack_count = 0;
    }
    if (ctx->chack_count >= ctx->cfg->challenge_ack_limit) {
        ctx->ctr.drops[SF_DROP_CHALLENGE_ACK_LIMIT]++;
        tcp_note(ctx, c, "challenge ACK rate limit reached: not sent");
        return;
    }
    ctx->chack_count++;
    ctx->ctr.c[SF_CTR_CHALLENGE_ACKS]++;
    tcp_send_ack(ctx, c);
}

/* RFC 9293 3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>; the ACK bit is set as
 * well (as BSD and Linux do) so that the peer's RFC 5961 checks see the
 * acknowledgment it expects. */
void tcp_send_rst(struct tcp_ctx *ctx, struct sf_conn *c)
{
    send_seg(ctx, c, c->snd_nxt, SF_RST | SF_ACK, NULL, 0);
}

void tcp_send_rst_for(struct tcp_ctx *ctx, const struct sf_ipv4 *ip,
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
    emit(ctx, -1, ip->dst, ip->src, &rst);
}
