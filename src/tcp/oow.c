/* The ACKs TCP sends in answer to segments it does not accept: challenge
 * ACKs (RFC 5961), and the ACKs of RFC 9293 3.10.7.4 to a segment outside
 * the window or to an ACK of data not yet sent. Each is a segment a remote
 * host can make us send at will, so each is limited: per connection (no
 * ACK storm, and one connection's budget cannot be spent by attacking
 * another), and challenge ACKs also per stack, by a budget an off-path
 * host cannot count. */
#include "base/siphash.h"
#include "tcp/tcp_int.h"

/* RFC 5961 7 ("An implementation SHOULD include an ACK throttling
 * mechanism"; the limit may be per connection) and RFC 9293 3.10.7.4: at
 * most one such ACK per cfg->invalid_ratelimit on a connection. Returns
 * true when this one must not be sent; otherwise takes the slot. */
static bool conn_limited(struct tcp_ctx *ctx, struct sf_conn *c)
{
    sf_time_t gap = ctx->cfg->invalid_ratelimit;
    if (gap == 0)
        return false;
    uint32_t now_ms = tcp_now_ms(ctx);
    if (c->oow_sent &&
        (sf_time_t)(uint32_t)(now_ms - c->oow_last_ms) * SF_MSEC < gap)
        return true;
    c->oow_sent = true;
    c->oow_last_ms = now_ms;
    return false;
}

/* RFC 5961 7 and CVE-2016-5696: with one fixed stack-wide count per
 * second, an off-path host that provokes challenge ACKs on its own
 * connection and counts them learns how many the stack sent elsewhere in
 * that second, and so whether a spoofed probe hit a live 4-tuple or an
 * in-window sequence number. The budget of each one-second period is
 * therefore drawn at random between limit/2 and 3*limit/2 (mean: the
 * limit), from a keyed hash of the period number: unpredictable without
 * the stack's secret, and the same for the same seed and inputs. */
static bool global_limited(struct tcp_ctx *ctx)
{
    uint64_t period = ctx->now / SF_SEC + 1;
    if (period != ctx->chack_period) {
        uint64_t limit = ctx->cfg->challenge_ack_limit;
        uint8_t b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (uint8_t)(period >> (8 * i));
        uint64_t budget = 0;
        if (limit)
            budget = (limit + 1) / 2 +
                     siphash24(ctx->chack_key, b, sizeof b) % limit;
        ctx->chack_period = period;
        ctx->chack_left = budget > UINT32_MAX ? UINT32_MAX : (unsigned)budget;
    }
    if (ctx->chack_left == 0)
        return true;
    ctx->chack_left--;
    return false;
}

void tcp_send_challenge_ack(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (conn_limited(ctx, c)) {
        ctx->ctr.c[SF_CTR_ACK_SKIPPED_CHALLENGE]++;
        tcp_note(ctx, c, "challenge ACK: per-connection limit, not sent");
        return;
    }
    if (global_limited(ctx)) {
        ctx->ctr.drops[SF_DROP_CHALLENGE_ACK_LIMIT]++;
        tcp_note(ctx, c, "challenge ACK rate limit reached: not sent");
        return;
    }
    ctx->ctr.c[SF_CTR_CHALLENGE_ACKS]++;
    tcp_send_ack(ctx, c);
}

/* RFC 9293 3.10.7.4 answers a segment outside the window, and an ACK of
 * something not yet sent, with an ACK. When a segment injected into one
 * of two connected stacks moves its RCV.NXT past the other's SND.NXT,
 * each finds the other's ACKs unacceptable and answers them: an ACK storm
 * that never ends (RFC 5961 10). RFC 9293 permits limiting these ACKs;
 * a bare one (no data and no FIN, or a SYN) is sent at most once per
 * cfg->invalid_ratelimit per connection, as Linux does. One carrying data
 * or a FIN is always answered: it is a retransmission of what we hold,
 * and our ACK is what the peer needs to move on, and it cannot loop. */
void tcp_send_invalid_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                          const struct sf_tcp *s)
{
    bool bare = (s->len == 0 && !(s->flags & SF_FIN)) || (s->flags & SF_SYN);
    if (bare && conn_limited(ctx, c)) {
        ctx->ctr.c[SF_CTR_ACK_SKIPPED_INVALID]++;
        tcp_note(ctx, c, "ACK to an unacceptable segment: rate-limited");
        return;
    }
    tcp_send_ack(ctx, c);
}
