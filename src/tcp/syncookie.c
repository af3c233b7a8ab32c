/* SYN cookies (RFC 4987 3.6): under a flood that fills the SYN queue, a
 * listener answers a SYN with a SYN,ACK whose ISN encodes what a request
 * would have kept, and keeps nothing; an ACK that returns a valid cookie
 * rebuilds the connection. */
#include "base/siphash.h"
#include "tcp/tcp_int.h"

/* RFC 4987 3.6: the ISN carries what the server would have kept: a coarse
 * time t (5 bits), an MSS class (3 bits) and 24 bits of a keyed hash of
 * the 4-tuple, the client's ISN and t. Valid for two periods. */
#define COOKIE_PERIOD (64 * SF_SEC)
static const uint16_t cookie_mss[8] = {TCP_DEFAULT_MSS, 1200, 1300, 1360,
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
    uint32_t wnd = l->rcvbuf_size > TCP_MAX_WIN ? TCP_MAX_WIN : l->rcvbuf_size;
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

/* Builds in tmp the SYN_RCVD connection a valid cookie stands for. */
static void cookie_spawn(struct tcp_ctx *ctx, struct sf_conn *l,
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

/* An ACK returning a valid cookie (TCP_LISTEN_COOKIE): the connection the
 * SYN queue had no room for, rebuilt in tmp from the cookie, and seg run
 * through it. True: tmp is established, for the accept queue; false: it
 * did not get there and is freed. */
bool tcp_cookie_open(struct tcp_ctx *ctx, struct sf_conn *l,
                     struct sf_conn *tmp, const struct sf_ipv4 *ip,
                     const struct sf_tcp *seg)
{
    tcp_conn_init(ctx, tmp);
    cookie_spawn(ctx, l, tmp, ip, seg);
    tcp_segment_arrives(ctx, tmp, ip, seg);
    if (tmp->dead || tmp->state == SF_SYN_RCVD) {
        tcp_timers_stop_all(ctx, tmp);
        tcp_conn_destroy(ctx, tmp);
        return false;
    }
    return true;
}
