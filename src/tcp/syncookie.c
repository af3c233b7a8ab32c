/* SYN cookies (RFC 4987 3.6): under a flood that fills the SYN queue, a
 * listener answers a SYN with a SYN,ACK whose ISN encodes what a request
 * would have kept, and keeps nothing; an ACK that returns a valid cookie
 * rebuilds the connection. When the SYN carried timestamps, the low bits
 * of our SYN,ACK's TSval carry the SYN's other options (RFC 7323 window
 * scale, RFC 2018 SACK-permitted, RFC 3168 ECN-setup), as Linux does;
 * the peer's ACK echoes them in its TSecr. */
#include "base/siphash.h"
#include "tcp/tcp_int.h"

/* RFC 4987 3.6: the ISN carries what the server would have kept: a coarse
 * time t (5 bits), an MSS class (3 bits) and 24 bits of a keyed hash of
 * the 4-tuple, the client's ISN, t and the option bits below. Valid for
 * two periods. */
#define COOKIE_PERIOD (64 * SF_SEC)
static const uint16_t cookie_mss[8] = {TCP_DEFAULT_MSS, 1200, 1300, 1360,
                                       1400, 1440, 1460, 8960};

/* The options in the TSval's low COOKIE_TS_BITS bits: the peer's window
 * shift (4 bits, COOKIE_WS_NONE: no Window Scale option), SACK-permitted
 * and ECN-setup (one bit each). COOKIE_TS (not on the wire) marks, in
 * the hash input, a SYN,ACK that carried timestamps at all. */
#define COOKIE_TS_BITS 6
#define COOKIE_TS_MASK ((1u << COOKIE_TS_BITS) - 1)
#define COOKIE_WS_MASK 0x0fu
#define COOKIE_WS_NONE 0x0fu
#define COOKIE_SACK 0x10u
#define COOKIE_ECN 0x20u
#define COOKIE_TS 0x40u

static uint32_t cookie_hash(const struct tcp_ctx *ctx,
                            const struct tcp_ip *ip, const struct sf_tcp *seg,
                            uint32_t irs, uint32_t t, unsigned opts)
{
    /* the full addresses of either family (an IPv4 4-tuple hashes as it
     * always did) */
    uint8_t b[45];
    size_t n = siphash_put_addr(b, &ip->src);
    n += siphash_put_addr(b + n, &ip->dst);
    n += siphash_put32(b + n, ((uint32_t)seg->sport << 16) | seg->dport);
    n += siphash_put32(b + n, irs);
    n += siphash_put32(b + n, t);
    /* the option bits are under the hash: an ACK whose TSecr claims other
     * options than our SYN,ACK gave fails the check (a forgery, or a
     * peer that does not echo our TSval) */
    b[n++] = (uint8_t)opts;
    return (uint32_t)siphash24(ctx->cookie_key, b, n) & 0xffffff;
}

/* The TSval of a cookie's SYN,ACK: the connection's timestamp clock now
 * (ts.c: milliseconds plus the 4-tuple's offset), rounded DOWN to the
 * largest value not above it whose low COOKIE_TS_BITS bits are bits. It
 * lags the clock by at most 63 ms, never leads it, so every TSval the
 * connection sends later (tcp_ts_now(), which only grows) is >= this
 * one: the peer's TS.Recent starts at it and RFC 7323 5.3 R1 (PAWS)
 * never sees our timestamps go backwards. For one SYN (the same bits)
 * it is non-decreasing in time as well, so a SYN,ACK sent again for a
 * retransmitted SYN does not step back either. */
static uint32_t cookie_tsval(uint32_t now, unsigned bits)
{
    uint32_t v = (now & ~COOKIE_TS_MASK) | bits;
    if (bits > (now & COOKIE_TS_MASK))
        v -= 1u << COOKIE_TS_BITS; /* mod 2^32, as the clock is */
    return v;
}

/* The option bits an ACK returns: from its TSecr if it has a TSopt (RFC
 * 7323 3.2: only a peer whose SYN,ACK carried one echoes one), else none. */
static unsigned cookie_opts_of(const struct sf_tcp *seg)
{
    return seg->opt.has_ts ? COOKIE_TS | (seg->opt.ts_ecr & COOKIE_TS_MASK)
                           : 0;
}

/* What a SYN,ACK to syn would offer, negotiated in tmp as tcp_listen_spawn
 * does for a request (the same functions, the listener's settings), then
 * cut down to what the cookie can bring back: without a TSopt in the SYN
 * there is nowhere to put the options, so the connection gets no window
 * scaling, SACK or ECN (Linux does the same). Returns the option bits. */
static unsigned cookie_negotiate(struct tcp_ctx *ctx, struct sf_conn *l,
                                 struct sf_conn *tmp, const struct tcp_ip *ip,
                                 const struct sf_tcp *syn)
{
    tmp->local = ip->dst;
    tmp->remote = ip->src;
    tmp->passive = true;
    tcp_inherit(tmp, l);
    /* Our shift: from the listener's receive buffer settings alone
     * (rcvbuf_size, rcvbuf_lock, the stack's rcvbuf_max), so the ACK's
     * tcp_listen_spawn() chooses the same one again. */
    tcp_wscale_choose(ctx, tmp);
    tmp->ts_offset = tcp_ts_offset(ctx, &tmp->local, &tmp->remote);
    tcp_syn_options_in(ctx, tmp, syn);
    tcp_sack_negotiate(tmp, syn);
    tcp_ecn_syn_in(tmp, syn); /* RFC 3168 6.1.1 */
    if (!tmp->ts_ok) {
        tmp->wscale_ok = false;
        tmp->snd_wscale = tmp->rcv_wscale = 0;
        tmp->sack_ok = false;
        tmp->ecn_ok = false;
        return 0;
    }
    return COOKIE_TS |
           (tmp->wscale_ok ? tmp->snd_wscale : COOKIE_WS_NONE) |
           (tmp->sack_ok ? COOKIE_SACK : 0) | (tmp->ecn_ok ? COOKIE_ECN : 0);
}

void tcp_send_cookie(struct tcp_ctx *ctx, struct sf_conn *l,
                     const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    struct sf_conn tmp;
    tcp_conn_init(ctx, &tmp);
    unsigned opts = cookie_negotiate(ctx, l, &tmp, ip, seg);
    /* with the floor; ours for the SYN's family (tmp's addresses: a
     * dual-stack listener takes both) */
    uint16_t peer = tcp_peer_mss(ctx, seg, ip->dst.family);
    uint16_t ours = tcp_our_mss(ctx, &tmp);
    uint16_t mss = peer < ours ? peer : ours;
    unsigned idx = 0;
    for (unsigned i = 0; i < 8; i++)
        if (cookie_mss[i] <= mss)
            idx = i;
    uint32_t t = (uint32_t)(ctx->now / COOKIE_PERIOD);
    uint32_t cookie = ((t & 31u) << 27) | (idx << 24) |
                      cookie_hash(ctx, ip, seg, seg->seq, t, opts);
    ctx->ctr.c[SF_CTR_SYNCOOKIES_SENT]++;
    l->lq->last_cookie = ctx->now + 1;
    /* The SYN,ACK offers what the cookie brings back, no more, built as a
     * request's is (output.c send_seg): the MSS option, SACK-permitted
     * (RFC 2018 2), Window Scale and TSopt (RFC 7323 2.3, 3.2; wscale.c),
     * ECE for an ECN-setup SYN,ACK (RFC 3168 6.1.1), an unscaled window
     * (RFC 7323 2.2). */
    uint32_t offered;
    struct sf_tcp synack = {
        .sport = seg->dport, .dport = seg->sport, .seq = cookie,
        .ack = seg->seq + 1,
        .flags = (uint8_t)(SF_SYN | SF_ACK | tcp_ecn_syn_flags(&tmp)),
        .win = tcp_win_field(&tmp, true, tcp_rcv_window(&tmp), &offered)};
    synack.opt.has_mss = true;
    synack.opt.mss = ours;
    synack.opt.sack_ok = tmp.sack_ok;
    tcp_syn_options_out(ctx, &tmp, &synack);
    if (synack.opt.has_ts)
        synack.opt.ts_val = cookie_tsval(synack.opt.ts_val,
                                         opts & COOKIE_TS_MASK);
    tcp_conn_destroy(ctx, &tmp);
    tcp_emit(ctx, -1, &ip->dst, &ip->src, &synack);
}

uint16_t tcp_cookie_check(struct tcp_ctx *ctx, const struct sf_conn *l,
                          const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    /* Only while cookies may be out there: a stray ACK is not a cookie. */
    if (!ctx->cfg->syncookies || l->lq->last_cookie == 0 ||
        ctx->now + 1 - l->lq->last_cookie > 2 * COOKIE_PERIOD)
        return 0;
    uint32_t cookie = seg->ack - 1, irs = seg->seq - 1;
    unsigned opts = cookie_opts_of(seg);
    uint32_t now_t = (uint32_t)(ctx->now / COOKIE_PERIOD);
    for (uint32_t age = 0; age < 2 && age <= now_t; age++) {
        uint32_t t = now_t - age;
        if ((cookie >> 27) == (t & 31u) &&
            (cookie & 0xffffff) == cookie_hash(ctx, ip, seg, irs, t, opts)) {
            ctx->ctr.c[SF_CTR_SYNCOOKIES_OK]++;
            return cookie_mss[(cookie >> 24) & 7];
        }
    }
    ctx->ctr.c[SF_CTR_SYNCOOKIES_BAD]++;
    ctx->ctr.drops[SF_DROP_COOKIE_BAD]++;
    return 0;
}

/* Builds in tmp the SYN_RCVD connection a valid cookie stands for: the
 * SYN it answered, as far as the cookie remembers it, run through
 * tcp_listen_spawn() like any SYN, so that the same negotiation gives
 * the connection what the cookie's SYN,ACK offered. */
static void cookie_spawn(struct tcp_ctx *ctx, struct sf_conn *l,
                         struct sf_conn *tmp, const struct tcp_ip *ip,
                         const struct sf_tcp *seg)
{
    uint32_t cookie = seg->ack - 1;
    unsigned opts = cookie_opts_of(seg); /* checked by tcp_cookie_check() */
    struct sf_tcp syn = {.sport = seg->sport, .dport = seg->dport,
                         .seq = seg->seq - 1, .flags = SF_SYN,
                         .win = seg->win};
    syn.opt.has_mss = true;
    syn.opt.mss = cookie_mss[(cookie >> 24) & 7];
    if (opts & COOKIE_TS) {
        /* RFC 7323 4.3: TS.Recent starts at the SYN's TSval; the SYN's is
         * gone, the ACK's (no older: 5.3 R1 lets it through) stands in. */
        syn.opt.has_ts = true;
        syn.opt.ts_val = seg->opt.ts_val;
        if ((opts & COOKIE_WS_MASK) != COOKIE_WS_NONE) {
            syn.opt.has_wscale = true;
            syn.opt.wscale = (uint8_t)(opts & COOKIE_WS_MASK);
        }
        syn.opt.sack_ok = opts & COOKIE_SACK;
        if (opts & COOKIE_ECN)
            syn.flags |= SF_ECE | SF_CWR; /* it was an ECN-setup SYN */
    }
    tcp_listen_spawn(ctx, l, tmp, ip, &syn, cookie, false);
}

/* An ACK returning a valid cookie (TCP_LISTEN_COOKIE): the connection the
 * SYN queue had no room for, rebuilt in tmp from the cookie, and seg run
 * through it. True: tmp is established, for the accept queue; false: it
 * did not get there and is freed. */
bool tcp_cookie_open(struct tcp_ctx *ctx, struct sf_conn *l,
                     struct sf_conn *tmp, const struct tcp_ip *ip,
                     const struct sf_tcp *seg)
{
    tcp_conn_init(ctx, tmp);
    cookie_spawn(ctx, l, tmp, ip, seg);
    /* RFC 7323 4.1 (RTTM): the ACK's TSecr echoes the cookie's SYN,ACK
     * (nothing else of ours is out), "RTT = current time - TSecr": the
     * first RTT sample (RFC 6298 2.2), taken as for any ACK of new data
     * (ts.c). That TSval lagged the clock by up to 63 ms (cookie_tsval),
     * so the sample is up to as much too long, never too short: an RTO
     * that errs on the safe side (RFC 6298 2.4's "conservative"), and
     * later samples take the excess out (2.3). Without timestamps a
     * cookie keeps no send time: no sample until data is acknowledged. */
    tcp_segment_arrives(ctx, tmp, ip, seg);
    if (tmp->dead || tmp->state == SF_SYN_RCVD) {
        tcp_timers_stop_all(ctx, tmp);
        tcp_conn_destroy(ctx, tmp);
        return false;
    }
    return true;
}
