/* RFC 7323 timestamps: the TSopt on our segments (3), TS.Recent (4.3),
 * PAWS (5) and RTTM (4.1). The timestamp clock is the stack's millisecond
 * clock (5.4: "between 1 ms and 1 sec per tick") plus a per-connection
 * offset drawn from the stack's secret (7.1: a random offset per
 * connection, so the clock reveals neither uptime nor a link between
 * connections), as the ISN is (RFC 6528): no clock is read here. */
#include "base/siphash.h"
#include "tcp/tcp_int.h"

/* RFC 7323 5.5: "If the TCP has been idle for more than 24 days, TS.Recent
 * is invalid" (2^31 ms is 24.8 days: the serial comparison of TSvals
 * stops telling old from new beyond that). */
#define TS_RECENT_VALID_MS (24u * 24 * 3600 * 1000)

uint32_t tcp_ts_offset(const struct tcp_ctx *ctx, const struct sf_addr *local,
                       const struct sf_addr *remote)
{
    /* keyed with the ISN secret, in a domain of its own ("ts" first) so
     * that the offset says nothing about the ISN */
    uint8_t b[38] = {'t', 's'};
    size_t n = 2 + siphash_put_addr(b + 2, local);
    n += siphash_put_addr(b + n, remote);
    n += siphash_put32(b + n, ((uint32_t)local->port << 16) | remote->port);
    return (uint32_t)siphash24(ctx->isn_key, b, n);
}

void tcp_ts_out(const struct tcp_ctx *ctx, const struct sf_conn *c,
                struct sf_tcp *seg)
{
    seg->opt.has_ts = true;
    seg->opt.ts_val = tcp_ts_now(ctx, c);
    /* 4.3 (3): "When a TSopt is sent, its TSecr field is set to the
     * current TS.Recent value." 3.2: TSecr is 0 when the ACK bit is not
     * set (our first SYN). */
    seg->opt.ts_ecr = (seg->flags & SF_ACK) ? c->ts_recent : 0;
}

/* RFC 7323 5.3, before the first check of RFC 9293 3.10.7.4 ("R1"). */
struct tcp_disp tcp_ts_paws(struct tcp_ctx *ctx, struct sf_conn *c,
                            const struct tcp_ip *ip, struct sf_tcp *s)
{
    (void)ip;
    c->ts_upd = false;
    if (!c->ts_ok)
        return TCP_GO;
    bool rst = s->flags & SF_RST;
    if (!s->opt.has_ts) {
        /* 3.2: "If a non-<RST> segment is received without a TSopt, a
         * TCP SHOULD silently drop the segment. A received <RST> segment
         * MUST NOT be dropped for lack of a TSopt." A SYN is left to RFC
         * 5961 4.2 (a challenge ACK, step four): it may be a peer that
         * restarted without timestamps, which the ACK lets reset us. */
        return rst || (s->flags & SF_SYN) ? TCP_GO
                                          : tcp_dropped(SF_DROP_TS_MISSING);
    }
    uint32_t now = tcp_now_ms(ctx);
    bool valid = now - c->ts_recent_ms <= TS_RECENT_VALID_MS;
    /* R1: "If there is a Timestamps option in the arriving segment,
     * SEG.TSval < TS.Recent, TS.Recent is valid (see later discussion),
     * and the RST bit is not set, then treat the arriving segment as not
     * acceptable: Send an acknowledgment in reply as specified in
     * [RFC793] page 69 and drop the segment." The comparison is serial
     * (mod 2^32, as sequence numbers): a TSval 2^31 ahead is behind. A
     * RST is left to the RFC 5961 checks (5.3: PAWS does not apply). */
    if (!rst && valid && seq_lt(s->opt.ts_val, c->ts_recent))
        return tcp_disp(TCP_DROP_ACK, SF_DROP_PAWS);
    /* R3 (4.3 (2)): "If SEG.TSval >= TS.Recent and SEG.SEQ =<
     * Last.ACK.sent then SEG.TSval is copied to TS.Recent" -- once the
     * segment passed the first check (tcp_ts_update). Last.ACK.sent is
     * the ACK field we last sent: rcv_acked. With a delayed ACK, the
     * later segments lie beyond it, so TS.Recent keeps the TSval of the
     * earliest unacknowledged one (4.3, the delayed ACK example). A
     * stale TS.Recent (5.5) is replaced by any. */
    c->ts_upd = seq_leq(s->seq, c->rcv_acked) &&
                (!valid || seq_geq(s->opt.ts_val, c->ts_recent));
    return TCP_GO;
}

/* After the first check of RFC 9293 3.10.7.4: the segment is acceptable. */
struct tcp_disp tcp_ts_update(struct tcp_ctx *ctx, struct sf_conn *c,
                              const struct tcp_ip *ip, struct sf_tcp *s)
{
    (void)ip;
    if (c->ts_upd) {
        c->ts_recent = s->opt.ts_val;
        c->ts_recent_ms = tcp_now_ms(ctx);
        c->ts_upd = false;
    }
    /* The receiver's RTT for autotuning (wscale.c): data whose TSecr
     * echoes one of our TSvals left the peer about an RTT after it. */
    if (c->ts_ok && s->len && (s->flags & SF_ACK) && s->opt.has_ts &&
        s->opt.ts_ecr) {
        uint32_t ms = tcp_ts_now(ctx, c) - s->opt.ts_ecr;
        if (ms < TS_RECENT_VALID_MS) {
            uint32_t us = (ms ? ms : 1) * 1000u;
            if (c->rcv_rtt_us == 0 || us < c->rcv_rtt_us)
                c->rcv_rtt_us = us;
            else
                c->rcv_rtt_us = c->rcv_rtt_us - c->rcv_rtt_us / 8 + us / 8;
        }
    }
    return TCP_GO;
}

bool tcp_ts_rtt(struct tcp_ctx *ctx, struct sf_conn *c,
                const struct sf_tcp *s)
{
    /* RFC 7323 4.1 RTTM: "RTT = current time - TSecr" for an ACK that
     * acknowledges new data; 3.2: "A TCP MUST ignore the TSecr field
     * value when the ACK bit is not set." Since the TSecr names the
     * transmission that was acknowledged, a retransmission makes no
     * ambiguity: Karn's rule (RFC 6298 3) is not needed (4.1). A TSecr of
     * 0 may be a peer that echoes nothing: not a sample. */
    if (!c->ts_ok || !s->opt.has_ts || !(s->flags & SF_ACK) || !s->opt.ts_ecr)
        return false;
    /* ...but not when the retransmission timer sent the data again and
     * the TSecr is older than that copy: when only the ACK was lost, the
     * copy is a duplicate to the receiver, which does not take its TSval
     * (5.3: R2 drops it before R3), so the TSecr names the first
     * transmission and the "RTT" is the whole timeout. Fed back into the
     * RTO, each lost ACK raised it by more than the last, up to rto_max
     * (the soak's seeds 7129 and 10257: 60 s timeouts, a 1 MB transfer
     * not done in 3 virtual hours). RFC 6298 3 allows samples from
     * retransmitted data with timestamps, it does not require them: for
     * this one Karn's rule holds, and the backed-off RTO stays until a
     * new sample (RFC 6298 5.7). */
    if (c->nrexmt && (int32_t)(s->opt.ts_ecr - c->rexmt_ts) < 0)
        return false;
    uint32_t ms = tcp_ts_now(ctx, c) - s->opt.ts_ecr;
    if (ms >= TS_RECENT_VALID_MS) /* not one of ours: a TSecr from the future */
        return false;
    c->rtt_timing = false; /* this sample replaces the timed segment's */
    tcp_rto_sample(ctx, c, ms * 1000u);
    return true;
}
