/* Spurious retransmission timeouts: RFC 3522 (the Eifel detection
 * algorithm) and RFC 4015 (the Eifel response algorithm), with RFC 7323
 * timestamps. (The search tool held no text of either RFC: the rules
 * below are paraphrased from knowledge of them and marked [from memory].)
 *
 * A timeout is spurious when the segment it resent was only late: the
 * ACK that then arrives was sent for the original, and echoes the
 * original's TSval, which is older than the retransmission's. The
 * timeout's reductions (a one-segment window, ssthresh from the flight,
 * go-back-N from SND.UNA) were then for nothing, and are undone. */
#include "tcp/cc.h"
#include "tcp/tcp_int.h"

/* RFC 3522 2 [from memory], on the first timeout of a series (not a
 * later one: the backed-off retransmissions carry newer timestamps and
 * the first one decides): RetransmitTS is the TSval of the
 * retransmission, which goes out now; RFC 4015 3.2 [from memory] saves
 * the window before the timeout's reduction, pipe_prev = max(FlightSize,
 * ssthresh). Called before tcp_cc_on_rto. */
void tcp_eifel_on_rto(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->eifel_on = c->ts_ok && c->nrexmt == 1;
    if (!c->eifel_on)
        return;
    uint32_t flight = c->snd_max - c->snd_una;
    c->eifel_ts = tcp_ts_now(ctx, c);
    c->eifel_cwnd = c->cwnd;
    c->eifel_pipe = flight > c->ssthresh ? flight : c->ssthresh;
}

/* The first ACK that acknowledges new data after the timeout decides
 * (RFC 3522 2 [from memory]: "the first acceptable ACK"): if its TSecr
 * is older than RetransmitTS, it was sent for the original transmission
 * and the timeout was spurious. Then RFC 4015 3.2 [from memory]: resume
 * with the data not sent yet (SND.NXT back to SND.MAX: what the timeout
 * sent again from SND.UNA is in flight already), and give back the
 * window: cwnd = FlightSize + min(bytes_acked, IW), ssthresh = pipe_prev
 * (cwnd not above what it was before the timeout). The retransmission
 * timer's backoff ends with the ACK (tcp_rexmt_restart). Called after
 * SND.UNA moved, before the congestion control counts the ACK. */
void tcp_eifel_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                      const struct sf_tcp *s, uint32_t acked)
{
    if (!c->eifel_on || acked == 0)
        return;
    c->eifel_on = false;
    if (!s->opt.has_ts || !seq_lt(s->opt.ts_ecr, c->eifel_ts))
        return; /* the retransmission was needed */
    ctx->ctr.c[SF_CTR_SPURIOUS_RTO]++;
    tcp_note(ctx, c, "timeout was spurious (RFC 3522): window restored");
    if (seq_lt(c->snd_nxt, c->snd_max))
        c->snd_nxt = c->snd_max;
    uint32_t iw = tcp_cc_iw(c->snd_mss);
    uint32_t flight = c->snd_max - c->snd_una;
    uint64_t w = (uint64_t)flight + (acked < iw ? acked : iw);
    if (w > c->eifel_cwnd)
        w = c->eifel_cwnd;
    if (w > c->cwnd)
        c->cwnd = (uint32_t)w;
    c->ssthresh = c->eifel_pipe;
    c->recover = c->snd_una; /* no NewReno recovery left to finish */
}
