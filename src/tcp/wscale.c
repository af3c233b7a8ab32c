/* RFC 7323 window scaling (2, 6) and the buffer sizes that make it
 * worth having: the shift is chosen from the largest receive buffer the
 * connection may reach, and both buffers grow by themselves (autotuning,
 * as Linux's receive "DRS" and send buffer expansion) unless the
 * application set SO_RCVBUF / SO_SNDBUF. The timestamps half of RFC 7323
 * is in ts.c. */
#include "tcp/tcp_int.h"

/* cfg.mem_max: what one connection's buffer may grow to by autotuning,
 * as Linux sets tcp_rmem[2] and tcp_wmem[2] to no more than 1/128 of the
 * pressure threshold (tcp_init: max_share), but never below the default
 * size: a buffer grown near the cap could never get its storage back
 * once given up (the window's right edge offered must stay covered). */
static uint64_t mem_share(const struct tcp_ctx *ctx, uint32_t dflt)
{
    if (!ctx->mem.limit)
        return UINT64_MAX;
    uint64_t share = ctx->mem.pressure_at / 128;
    return share > dflt ? share : dflt;
}

/* The receive buffer this connection may grow to. */
static uint32_t rcvbuf_ceiling(const struct tcp_ctx *ctx,
                               const struct sf_conn *c)
{
    uint32_t max = c->rcvbuf_size;
    if (!c->rcvbuf_lock && ctx->cfg->rcvbuf_max > max)
        max = ctx->cfg->rcvbuf_max;
    return max;
}

/* RFC 7323 2.3: "the shift count ... is determined by the receiver's
 * buffer size": the smallest shift (at most 14) with which the 16-bit
 * field can offer the whole buffer. */
void tcp_wscale_choose(const struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint32_t max = rcvbuf_ceiling(ctx, c);
    uint8_t shift = 0;
    while (shift < TCP_MAX_WSCALE && (TCP_MAX_WIN << shift) < max)
        shift++;
    c->rcv_wscale = shift;
}

void tcp_syn_options_in(struct tcp_ctx *ctx, struct sf_conn *c,
                        const struct sf_tcp *s)
{
    /* RFC 7323 2.2: "both sides MUST send Window Scale options in their
     * <SYN> segments to enable window scaling in either direction". */
    if (c->want_wscale && s->opt.has_wscale) {
        uint8_t shift = s->opt.wscale;
        /* 2.3: "If a Window Scale option is received with a shift.cnt
         * value larger than 14, the TCP SHOULD log the error but MUST use
         * 14 instead of the specified value." */
        if (shift > TCP_MAX_WSCALE) {
            ctx->ctr.c[SF_CTR_WSCALE_CLAMPED]++;
            tcp_note(ctx, c, "peer's window scale above 14: 14 used");
            shift = TCP_MAX_WSCALE;
        }
        c->wscale_ok = true;
        c->snd_wscale = shift;
    } else {
        c->wscale_ok = false;
        c->snd_wscale = 0;
        c->rcv_wscale = 0;
    }
    /* RFC 7323 3.2: "the TSopt MUST be sent in every non-<RST> segment"
     * once "both <SYN> and <SYN,ACK> contain TSopt"; a SYN,ACK may carry
     * it only if the SYN did. TS.Recent starts at the SYN's TSval (4.3:
     * the SYN's TSval is the first recorded). */
    if (c->want_ts && s->opt.has_ts) {
        c->ts_ok = true;
        c->ts_recent = s->opt.ts_val;
        c->ts_recent_ms = tcp_now_ms(ctx);
    } else {
        c->ts_ok = false;
    }
}

void tcp_syn_options_out(struct tcp_ctx *ctx, const struct sf_conn *c,
                         struct sf_tcp *seg)
{
    /* RFC 7323 2.3: a TCP "MAY send a Window Scale option in a <SYN>
     * segment without having received one"; in a <SYN,ACK> "only if a
     * Window Scale option was received in the initial <SYN> segment". */
    bool synack = seg->flags & SF_ACK;
    if (synack ? c->wscale_ok : c->want_wscale) {
        seg->opt.has_wscale = true;
        seg->opt.wscale = c->rcv_wscale;
    }
    /* 3.2: TSopt "MAY" go on an initial <SYN>; on a <SYN,ACK> only if
     * the <SYN> had one. The SYN's TSecr is 0 (no ACK bit). */
    if (synack ? c->ts_ok : c->want_ts)
        tcp_ts_out(ctx, c, seg);
}

uint32_t tcp_max_rcv_window(const struct sf_conn *c)
{
    return c->wscale_ok ? TCP_MAX_WIN << c->rcv_wscale : TCP_MAX_WIN;
}

uint16_t tcp_win_field(const struct sf_conn *c, bool syn, uint32_t wnd,
                       uint32_t *offered)
{
    /* RFC 7323 2.2: "The window field in a <SYN> (i.e., a <SYN> or
     * <SYN,ACK>) segment itself is never scaled." */
    if (syn || !c->wscale_ok) {
        if (wnd > TCP_MAX_WIN)
            wnd = TCP_MAX_WIN;
        *offered = wnd;
        return (uint16_t)wnd;
    }
    uint8_t shift = c->rcv_wscale;
    uint32_t field = wnd >> shift;
    /* RFC 7323 2.4: the scaled field loses the low bits; rounding down
     * could move the right edge offered before to the left (shrink the
     * window, RFC 9293 3.8.6.2.2), so round up then: the bytes offered
     * stay covered by tcp_rcv_cap(). */
    if (c->rcv_adv_set &&
        seq_lt(c->rcv_nxt + (field << shift), c->rcv_adv))
        field = (wnd + (1u << shift) - 1) >> shift;
    if (field > TCP_MAX_WIN)
        field = TCP_MAX_WIN;
    *offered = field << shift;
    return (uint16_t)field;
}

/* The receive ring's storage: what tcp_rcv_cap() needs, rounded up to
 * 16 KB. The window's right edge is kept where it was offered and offered
 * in units of 1 << Rcv.Wind.Shift, so the bytes held plus the window can
 * pass the buffer size by a few bytes, again and again: grown to the
 * exact need, the ring was copied whole for nearly every segment (over
 * TUN most of the upload's time). The slack is never offered: the window
 * is computed from the buffer size, and data outside it never reaches
 * the ring. */
static uint32_t rcv_storage(const struct sf_conn *c)
{
    uint64_t need = tcp_rcv_cap(c);
    /* The bytes held plus the edge kept can pass the buffer size by more
     * than the rounding (seen: 19 KB over a 4 MB buffer): a sixteenth
     * ahead, the storage keeps one size for a given buffer size, and a
     * cached one (exact sizes) fits again. Without it, synfin bench's
     * bulk took a new 4 MB storage and grew it twice (whole copies) per
     * 1 MB read. */
    uint64_t ahead = (uint64_t)c->rcvbuf_size + c->rcvbuf_size / 16;
    if (need < ahead)
        need = ahead;
    uint64_t cap = (need + 16383) & ~(uint64_t)16383;
    return cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

/* Would a storage of cap bytes stay within the memory cap? A new one
 * (the ring has none) may use what idle cached storages hold: they go
 * first (ring_reserve_cached); a grown one costs what it grows by
 * (ring_grow). */
static bool storage_fits(const struct tcp_ctx *ctx, const struct ring *r,
                         uint32_t cap)
{
    if (r->m)
        return mem_fits(&ctx->mem, cap > ring_cap(r) ? cap - ring_cap(r) : 0);
    uint64_t cost = ring_mem_cost(cap), idle = ctx->rcache.bytes;
    return mem_fits(&ctx->mem, cost > idle ? cost - idle : 0);
}

/* A ring's storage is sized to what it holds, not to its buffer: the
 * first is RING_STORAGE_MIN bytes (or the power of two that holds the
 * first bytes), and a ring that needs more takes at least twice what it
 * had (each byte is copied a bounded number of times), up to full, the
 * storage the whole buffer would take. A connection with 100 bytes
 * queued each way held 144 KB of storage (its 64 KB send buffer and its
 * receive buffer and a sixteenth, rounded), so that a stack capped at a
 * few MB (tun2socks' --max-memory) refused new flows and dropped
 * segments while it held almost no bytes (test_memlimit
 * test_storage_sized_to_use). As Linux charges each socket the buffers
 * of the bytes it holds (sk_wmem_queued, sk_rmem_alloc), not its
 * SO_SNDBUF and SO_RCVBUF. */
#define RING_STORAGE_MIN 4096u

static uint32_t storage_for(const struct ring *r, uint64_t need, uint32_t full,
                            uint32_t last)
{
    /* A new storage starts where the last one ended: a flow that moved
     * bulk and read its ring dry (it gave the storage up, to the cache)
     * takes its size back at once rather than doubling from 4 KB again
     * (tun2socks' uploads, each time the upstream held them back) */
    uint64_t size = ring_cap(r)          ? (uint64_t)ring_cap(r) * 2
                    : last > RING_STORAGE_MIN ? last
                                         : RING_STORAGE_MIN;
    while (size < need)
        size *= 2;
    if (size > full)
        size = full;
    if (size < need)
        size = need;
    return size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
}

/* Storage of at least need bytes, sized by storage_for (from *last, the
 * size the ring's last storage had, which it updates), from the stack's
 * cache when it has one of that size to full bytes, else of need to full
 * (a ring read dry gives its storage up, and takes it back with the next
 * segment); allocations and copies into a larger storage are counted.
 * The slack
 * of alloc above need is for speed only: where it would pass the memory
 * cap the storage is need exactly. (A stack capped at its two buffers
 * plus SF_MEM_MIN could otherwise never allocate a receive storage of
 * rcvbuf and a sixteenth, and dropped every segment: found by
 * fuzz_twostack.) */
static int buf_reserve(struct tcp_ctx *ctx, struct ring *r, uint32_t need,
                       uint32_t full, uint32_t *last)
{
    if (ring_cap(r) >= need)
        return 0;
    uint32_t alloc = storage_for(r, need, full, *last);
    if (alloc > need && !storage_fits(ctx, r, alloc))
        alloc = need;
    if (!r->m) {
        int k = ring_reserve_cached(r, need, full, alloc, &ctx->rcache);
        if (k < 0)
            return -1;
        if (k == 0)
            ctx->ctr.c[SF_CTR_BUF_ALLOCS]++;
    } else {
        if (ring_grow(r, alloc) < 0)
            return -1;
        ctx->ctr.c[SF_CTR_BUF_GROWS]++;
    }
    *last = ring_cap(r);
    return 0;
}

/* At the memory cap (cfg.mem_max) the segment that needs the storage is
 * not kept, and not acknowledged: the peer sends it again. end: the
 * sequence number after the segment's text (the ring must hold up to
 * it, within the window offered). */
int tcp_rcvbuf_reserve(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t end)
{
    /* Under memory pressure a buffer autotuning raised goes back to the
     * default when its storage is next needed (as Linux's
     * tcp_clamp_window and sk_stream_moderate_sndbuf shrink buffers under
     * tcp_memory_pressure); the window still open of the last offer stays
     * covered (tcp_rcv_cap), so the right edge does not move left. */
    if (!c->rcvbuf.m && ctx->mem.pressure && !c->rcvbuf_lock &&
        c->rcvbuf_size > ctx->cfg->rcvbuf) {
        c->rcvbuf_size = ctx->cfg->rcvbuf;
        ctx->ctr.c[SF_CTR_MEM_BUF_SHRUNK]++;
    }
    uint64_t cap = tcp_rcv_cap(c);
    uint64_t need = (uint64_t)ring_len(&c->rcvbuf) +
                    (seq_gt(end, c->rcv_nxt) ? end - c->rcv_nxt : 1);
    if (need > cap)
        need = cap;
    if (buf_reserve(ctx, &c->rcvbuf, (uint32_t)need, rcv_storage(c),
                    &c->rcv_storage_last) == 0)
        return 0;
    ctx->ctr.c[SF_CTR_RCV_MEM_DROP]++;
    return -1;
}

/* The send ring's storage when whole: autotuning raises the buffer a
 * little on nearly every ACK of slow start (twice cwnd), and a storage
 * grown to each new size was copied whole each time (728 copies for 20
 * MB). A growing storage takes at least half again its size (up to
 * sndbuf_max); writes stay within the buffer size (ring_write's cap). */
static uint32_t snd_storage(const struct tcp_ctx *ctx, const struct sf_conn *c)
{
    uint64_t need = c->sndbuf_size, cap = ring_cap(&c->sndbuf);
    if (cap == 0 || need <= cap)
        return (uint32_t)need;
    uint64_t ahead = cap + cap / 2;
    uint64_t top = ctx->cfg->sndbuf_max > need ? ctx->cfg->sndbuf_max : need;
    if (ahead > top)
        ahead = top;
    return (uint32_t)(ahead > need ? ahead : need);
}

/* Room for want more bytes (within the buffer size). At the memory cap a
 * storage that cannot grow still takes what fits in it (ring_write stays
 * within the storage); with none, the send waits: -2 (SF_EAGAIN from
 * tcp_send, as Linux's sk_stream_wait_memory); -1 if malloc failed. */
int tcp_sndbuf_reserve(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t want)
{
    if (!c->sndbuf.m && ctx->mem.pressure && !c->sndbuf_lock &&
        c->sndbuf_size > ctx->cfg->sndbuf) { /* as tcp_rcvbuf_reserve */
        c->sndbuf_size = ctx->cfg->sndbuf;
        ctx->ctr.c[SF_CTR_MEM_BUF_SHRUNK]++;
    }
    uint32_t len = ring_len(&c->sndbuf);
    uint64_t need = (uint64_t)len + (want ? want : 1);
    uint64_t most = c->sndbuf_size > len ? c->sndbuf_size : len;
    if (need > most)
        need = most; /* a full buffer takes no more storage */
    uint64_t refusals = ctx->mem.refusals;
    if (c->sndbuf.m && ring_cap(&c->sndbuf) < need)
        tcp_out_flush(ctx); /* the storage grows, and may move */
    if (buf_reserve(ctx, &c->sndbuf, (uint32_t)need, snd_storage(ctx, c),
                    &c->snd_storage_last) == 0)
        return 0;
    if (ring_cap(&c->sndbuf) > ring_len(&c->sndbuf))
        return 0;
    if (ctx->mem.refusals == refusals)
        return -1; /* malloc failed */
    ctx->ctr.c[SF_CTR_SND_MEM_WAIT]++;
    return -2;
}

void tcp_sndbuf_free(struct tcp_ctx *ctx, struct sf_conn *c)
{
    tcp_out_flush(ctx);
    ring_free(&c->sndbuf);
}

/* Receive buffer autotuning, as Linux's dynamic right-sizing: once per
 * round trip compare what the application read in it with the last
 * measure; a reader keeping up with a sender that the window limits
 * reads about a window per RTT, so a buffer of twice that (plus the
 * growth seen, the sender being in slow start) lets the window stay
 * ahead of the bandwidth-delay product. The growth counts twice, as in
 * Linux's tcp_rcv_space_adjust ("we need a 4x factor, because the ACK we
 * are sending now is for the next RTT"): the window offered while one
 * RTT's data arrives lets the sender out for the next, which slow start
 * doubles again. With once (2x read + growth: 4x) a Linux sender in slow
 * start at 100 ms was held by the window two RTTs running
 * (bench/README.md, Paths, 2026-12-03 08:00). Not an RFC rule: RFC 9293
 * 3.8.6 leaves the window's size to the receiver. The RTT: the
 * receiver's own estimate from TSecr (ts.c), else the connection's
 * SRTT. */
/* The start of a measurement: never 0 (0 is "not started") and never
 * ahead of now (now | 1 was, by a microsecond when now was even, and
 * now - start wrapped to 2^32 - 1: every read of a burst handed in at one
 * instant ended a measurement of a segment or two). */
static uint32_t rcvq_start(uint32_t now)
{
    return (now - 1) | 1;
}

void tcp_rcvbuf_autotune(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t n)
{
    /* under memory pressure buffers do not grow (as Linux's
     * tcp_rcv_space_adjust / sk_under_memory_pressure) */
    if (c->rcvbuf_lock || ctx->cfg->rcvbuf_max == 0 || ctx->mem.pressure)
        return;
    c->rcvq_copied += n;
    uint32_t rtt = c->rcv_rtt_us ? c->rcv_rtt_us
                                 : (c->have_rtt ? c->srtt_us : 0);
    uint32_t now = tcp_now_us(ctx);
    if (c->rcvq_us == 0) {
        c->rcvq_us = rcvq_start(now);
        return;
    }
    if (rtt == 0 || now - c->rcvq_us < rtt)
        return;
    uint32_t copied = c->rcvq_copied;
    if (copied > c->rcvq_space) {
        uint64_t want = 2ull * copied + 16ull * c->rcv_mss;
        if (c->rcvq_space) { /* growing: the next RTT brings more */
            uint64_t grow = want * (copied - c->rcvq_space) / c->rcvq_space;
            want += 2 * (grow < want ? grow : want);
        }
        uint64_t max = ctx->cfg->rcvbuf_max;
        if (max > tcp_max_rcv_window(c))
            max = tcp_max_rcv_window(c);
        if (max > mem_share(ctx, ctx->cfg->rcvbuf))
            max = mem_share(ctx, ctx->cfg->rcvbuf);
        if (want > max)
            want = max;
        if (want > c->rcvbuf_size) {
            c->rcvbuf_size = (uint32_t)want;
            ctx->ctr.c[SF_CTR_RCVBUF_GROWN]++;
        }
        c->rcvq_space = copied;
    }
    c->rcvq_copied = 0;
    c->rcvq_us = rcvq_start(now);
}

/* Send buffer autotuning, as Linux's tcp_sndbuf_expand: room for twice
 * the congestion window (one window in flight, one being written), so
 * that the buffer does not cap what the path and the peer allow. */
void tcp_sndbuf_autotune(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->sndbuf_lock || ctx->cfg->sndbuf_max == 0 || ctx->mem.pressure)
        return; /* under memory pressure: as Linux's tcp_should_expand_sndbuf */
    uint64_t want = 2ull * c->cwnd;
    if (want > ctx->cfg->sndbuf_max)
        want = ctx->cfg->sndbuf_max;
    if (want > mem_share(ctx, ctx->cfg->sndbuf))
        want = mem_share(ctx, ctx->cfg->sndbuf);
    if (want > c->sndbuf_size) {
        c->sndbuf_size = (uint32_t)want;
        ctx->ctr.c[SF_CTR_SNDBUF_GROWN]++;
    }
}

/* RFC 7323 2.3: "A Window Scale option in a segment without a <SYN> bit
 * should be ignored." Ignored (its shift is never read after the SYN),
 * and counted. */
void tcp_options_not_syn(struct tcp_ctx *ctx, const struct sf_tcp *s)
{
    if (!(s->flags & SF_SYN) && s->opt.has_wscale)
        ctx->ctr.c[SF_CTR_WSCALE_NOT_SYN]++;
}
