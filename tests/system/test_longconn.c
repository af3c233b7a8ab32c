/* Long connections (issue 8): two stacks joined by an in-memory wire with
 * no delay move 5 GiB each way at once over one connection, every byte
 * checked, with ISNs started just below 2^32 on one side and just below
 * 2^31 on the other (cfg.isn_offset), so that each direction's sequence
 * numbers wrap 2^32 and pass 2^31 from ISS more than once. RFC 9293 3.4:
 * sequence numbers are compared modulo 2^32; nothing may stop working
 * once SND.UNA is 2^31 past ISS. The loop is bounded in virtual time and
 * in steps without progress, so a stall fails instead of hanging.
 *
 * SF_LONGCONN_BYTES (bytes each way) may lower the size, but only in a
 * sanitizer build (much slower per byte); the plain build always moves
 * 5 GiB. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LC_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LC_SANITIZED 1
#endif

#define LC_MSS 8192
#define LC_SLOT (LC_MSS + 60)
#define LC_QMAX 256
#define LC_CHUNK (256 * 1024)

struct lc_wire {
    uint8_t *buf; /* LC_QMAX slots of LC_SLOT bytes */
    size_t len[LC_QMAX];
    int to[LC_QMAX];
    unsigned head, n;
    uint64_t lost; /* datagrams that did not fit: must stay 0 */
    /* The server's data bytes sent so far; the first data datagram after
     * each of drop_at[] is lost on purpose. */
    uint64_t data_out;
    int ndrop;
};

/* A loss early on (fast retransmit sets RFC 6582's `recover`), then
 * another more than 2^31 bytes later: fast retransmit must answer it too
 * (RFC 5681 3.2), not a timeout a second later. */
static const uint64_t drop_at[2] = {64ull << 20, (64ull << 20) + (9ull << 28)};

struct lc_host {
    struct sf_stack *st;
    struct lc_wire *w;
    int id;
    int sd;
    uint64_t sent, got; /* stream positions */
    bool bad;           /* a byte differed from the pattern */
    bool eof;
    uint8_t tx[LC_CHUNK]; /* stream bytes made, [tx_off, tx_len) unsent */
    size_t tx_off, tx_len;
    /* server only: the sequence number just past its last data byte,
     * the last ACK it received, and how much was in flight when its last
     * (small) segment left */
    uint32_t data_end, last_ack;
    uint32_t tail_flight;
    bool tail_seen;
};

static void lc_trace(void *ctx, const struct sf_trace_event *ev)
{
    struct lc_host *h = ctx;
    const struct sf_seg_info *s = ev->seg;
    if (!s || !h->data_end)
        return;
    if (ev->kind == SF_TRACE_SEG_IN && (s->flags & SF_ACK))
        h->last_ack = s->ack;
    /* (small: a full segment ended at the same number 4 GiB earlier) */
    if (ev->kind == SF_TRACE_SEG_OUT && s->len && s->len < LC_MSS &&
        !h->tail_seen && s->seq + s->len == h->data_end) {
        h->tail_seen = true;
        h->tail_flight = s->seq - h->last_ack;
    }
}

static sf_time_t lc_now;

static void lc_out(void *ctx, const uint8_t *d, size_t len)
{
    struct lc_host *h = ctx;
    struct lc_wire *w = h->w;
    if (w->n == LC_QMAX || len > LC_SLOT) {
        w->lost++;
        return;
    }
    if (h->id == 1 && len > 40) {
        w->data_out += len - 40;
        if (w->ndrop < 2 && w->data_out > drop_at[w->ndrop]) {
            w->ndrop++;
            return;
        }
    }
    unsigned i = (w->head + w->n) % LC_QMAX;
    memcpy(w->buf + (size_t)i * LC_SLOT, d, len);
    w->len[i] = len;
    w->to[i] = 1 - h->id;
    w->n++;
}

/* The stream sent by host k: 8-byte words, word i being (i + k 2^61)
 * times an odd constant (a bijection), so a byte lost, doubled or moved
 * shows. Built by addition, which is cheap. */
static void lc_fill(int k, uint64_t pos, uint8_t *out, size_t n)
{
    static uint64_t words[LC_CHUNK / 8 + 2];
    const uint64_t K = 0x9E3779B97F4A7C15ull;
    uint64_t w0 = pos / 8, v = (w0 + ((uint64_t)k << 61)) * K;
    size_t nw = (size_t)((pos + n + 7) / 8 - w0);
    for (size_t i = 0; i < nw; i++, v += K)
        words[i] = v;
    memcpy(out, (const uint8_t *)words + (pos & 7), n);
}

static uint8_t lc_rx[LC_CHUNK], lc_want[LC_CHUNK];

/* Where the server's stream pauses until all is acknowledged, then goes
 * on with one small (Nagle) segment of 100 bytes, 3.5 GiB before its end
 * (and less than 2^31 past ISS, so that the segment is recorded as the
 * last small one): at the end SND.UNA is more than 2^31 past it. RFC 9293 3.7.4: a small segment may go when no earlier small one
 * is unacknowledged; that one was acknowledged long ago. */
static uint64_t lc_small_at(uint64_t total)
{
    return total > (7ull << 29) ? total - (7ull << 29) : 0;
}

/* How far h may write now. */
static uint64_t lc_stop(struct lc_host *h, uint64_t total)
{
    uint64_t at = lc_small_at(total);
    if (h->id != 1 || at == 0 || h->sent > at)
        return total;
    if (h->sent < at)
        return at;
    struct sf_tcp_info in;
    if (sf_tcp_info(h->st, h->sd, &in) != 0 || in.sndq > 0)
        return h->sent; /* wait until everything is acknowledged */
    return at + 100;
}

static bool lc_pump(struct lc_host *h, uint64_t total)
{
    bool moved = false;
    uint64_t stop;
    while ((stop = lc_stop(h, total)) > h->sent) {
        /* the next piece of the stream, made once, sent as room allows */
        if (h->tx_off == h->tx_len) {
            size_t n = total - h->sent < LC_CHUNK ? (size_t)(total - h->sent)
                                                  : LC_CHUNK;
            lc_fill(h->id, h->sent, h->tx, n);
            h->tx_off = 0;
            h->tx_len = n;
        }
        size_t n = h->tx_len - h->tx_off;
        if (n > stop - h->sent)
            n = (size_t)(stop - h->sent);
        long r = sf_send(h->st, h->sd, h->tx + h->tx_off, n, 0);
        if (r <= 0)
            break;
        h->tx_off += (size_t)r;
        h->sent += (uint64_t)r;
        moved = true;
    }
    for (;;) {
        long r = sf_recv(h->st, h->sd, lc_rx, sizeof lc_rx, 0);
        if (r == 0)
            h->eof = true;
        if (r <= 0)
            break;
        lc_fill(1 - h->id, h->got, lc_want, (size_t)r);
        if (memcmp(lc_rx, lc_want, (size_t)r) != 0)
            h->bad = true;
        h->got += (uint64_t)r;
        moved = true;
    }
    return moved;
}

static uint64_t lc_bytes(void)
{
    uint64_t total = 5ull << 30;
#ifdef LC_SANITIZED
    const char *e = getenv("SF_LONGCONN_BYTES");
    if (e && *e)
        total = strtoull(e, NULL, 0);
#endif
    return total;
}

static void lc_setup(struct lc_wire *w, struct lc_host *hosts)
{
    memset(w, 0, sizeof *w);
    w->buf = malloc((size_t)LC_QMAX * LC_SLOT);
    CHECK(w->buf != NULL);
    for (int i = 0; i < 2; i++) {
        struct sf_stack_cfg cfg;
        sf_stack_cfg_default(&cfg);
        cfg.addr = 0xC6120001u + (uint32_t)i; /* 198.18.0.1, .2 */
        cfg.output = lc_out;
        cfg.output_ctx = &hosts[i];
        if (i == 1) {
            cfg.trace = lc_trace;
            cfg.trace_ctx = &hosts[i];
        }
        cfg.seed[0] = (uint8_t)(i + 1);
        cfg.mss = LC_MSS;
        cfg.sndbuf = 1u << 20;
        /* the wire holds LC_QMAX datagrams: the windows this test was
         * built around are unscaled (64 KB), and its segment sizes count
         * no TSopt (RFC 7323 off; tests/system/test_rfc7323.c has it on) */
        cfg.wscale = false;
        cfg.timestamps = false;
        /* the server ACKs every segment, the client every second one:
         * the client's cwnd grows by all it sends (slow start never
         * ends on a lossless wire), past 4 GiB */
        if (i == 1)
            cfg.delack = 0;
        /* ISNs a little below 2^32 (client) and 2^31 (server) */
        cfg.isn_offset = i == 0 ? 0u - 300000u : 0x80000000u - 300000u;
        memset(&hosts[i], 0, sizeof hosts[i]);
        hosts[i].w = w;
        hosts[i].id = i;
        hosts[i].sd = -1;
        CHECK_EQ(sf_stack_create(&cfg, lc_now, &hosts[i].st), 0);
    }
}

/* Delivers every queued datagram; returns how many. */
static uint64_t lc_deliver(struct lc_wire *w, struct lc_host *hosts)
{
    static uint8_t d[LC_SLOT];
    uint64_t k = 0;
    while (w->n) {
        unsigned i = w->head;
        size_t len = w->len[i];
        int to = w->to[i];
        memcpy(d, w->buf + (size_t)i * LC_SLOT, len);
        w->head = (w->head + 1) % LC_QMAX;
        w->n--;
        sf_stack_input(hosts[to].st, lc_now, d, len);
        k++;
    }
    return k;
}

static void test_five_gib_each_way(void)
{
    struct lc_wire w;
    struct lc_host h[2];
    lc_now = 0;
    lc_setup(&w, h);
    uint64_t total = lc_bytes();
    printf("moving %llu bytes each way\n", (unsigned long long)total);

    int lsd = sf_socket(h[1].st);
    struct sf_addr sa = {.ip = 0xC6120002u, .port = 80}, peer;
    CHECK_EQ(sf_bind(h[1].st, lsd, &sa), 0);
    CHECK_EQ(sf_listen(h[1].st, lsd, 4), 0);
    h[0].sd = sf_socket(h[0].st);
    CHECK_EQ(sf_connect(h[0].st, h[0].sd, &sa), SF_EINPROGRESS);
    lc_deliver(&w, h);
    h[1].sd = sf_accept(h[1].st, lsd, &peer);
    CHECK(h[1].sd >= 0);
    if (h[1].sd < 0)
        return;
    struct sf_tcp_info ia, ib;
    CHECK_EQ(sf_tcp_info(h[0].st, h[0].sd, &ia), 0);
    CHECK_EQ(sf_tcp_info(h[1].st, h[1].sd, &ib), 0);
    /* the ISNs the test asked for: below 2^32 and below 2^31 */
    CHECK(ia.iss >= 0u - 300000u);
    CHECK(ib.iss >= 0x80000000u - 300000u && ib.iss < 0x80000000u);
    h[1].data_end = ib.iss + 1 + (uint32_t)total;

    /* Bounded: virtual time (timers may fire, e.g. delayed ACKs, but a
     * healthy transfer on a lossless wire needs few) and rounds in a row
     * without a byte moving. */
    const sf_time_t limit = 600 * SF_SEC;
    unsigned idle = 0;
    uint64_t rounds = 0;
    bool closed[2] = {false, false};
    while (lc_now < limit && idle < 1000) {
        rounds++;
        bool moved = false;
        for (int i = 0; i < 2; i++) {
            moved |= lc_pump(&h[i], total);
            /* the FIN once every byte is acknowledged (a FIN queued
             * would push the last small segment out past Nagle) */
            struct sf_tcp_info in;
            if (h[i].sent == total && !closed[i] &&
                sf_tcp_info(h[i].st, h[i].sd, &in) == 0 && in.sndq == 0) {
                CHECK_EQ(sf_shutdown(h[i].st, h[i].sd, SF_SHUT_WR), 0);
                closed[i] = true;
                moved = true;
            }
        }
        if (lc_deliver(&w, h))
            moved = true;
        if (h[0].eof && h[1].eof && h[0].got == total && h[1].got == total)
            break;
        if (moved) {
            idle = 0;
            continue;
        }
        idle++;
        /* nothing to do at this time: on to the next timer */
        sf_time_t next = SF_TIME_NEVER;
        for (int i = 0; i < 2; i++) {
            sf_time_t t = sf_stack_advance(h[i].st, lc_now);
            if (t < next)
                next = t;
        }
        if (w.n)
            continue;
        if (next == SF_TIME_NEVER)
            break; /* nothing will ever happen again: stalled */
        lc_now = next > lc_now ? next : lc_now;
    }
    for (int i = 0; i < 2; i++) {
        printf("host %d: sent %llu, received %llu%s%s\n", i,
               (unsigned long long)h[i].sent, (unsigned long long)h[i].got,
               h[i].eof ? ", end of stream" : "", h[i].bad ? ", CORRUPT" : "");
        CHECK(h[i].sent == total);
        CHECK(h[i].got == total);
        CHECK(h[i].eof);
        CHECK(!h[i].bad);
    }
    printf("virtual time %.3f s, %llu rounds\n", (double)lc_now / SF_SEC,
           (unsigned long long)rounds);
    /* The sender is held by the peer's window, not by cwnd: cwnd grows
     * only while it is used (RFC 9438 4.6, cc.c), so it stays within
     * twice what was ever in flight (at most the send buffer) instead of
     * climbing for 5 GiB; and never wraps to a few bytes. (The ceiling
     * itself, TCP_CWND_MAX: test_cc's test_cwnd_ceiling.) */
    for (int i = 0; i < 2; i++) {
        struct sf_tcp_info in;
        CHECK_EQ(sf_tcp_info(h[i].st, h[i].sd, &in), 0);
        printf("host %d: cwnd %u, ssthresh %u\n", i, in.snd_cwnd,
               in.snd_ssthresh);
        CHECK(in.snd_cwnd <= 2ull * in.sndbuf + 16u * LC_MSS);
        CHECK(in.snd_cwnd >= 10u * LC_MSS || in.snd_cwnd >= 14600u);
    }
    CHECK_EQ(w.lost, 0);
    /* The server's last segment is small; the small one before it was
     * acknowledged 3.5 GiB ago: Nagle lets it go with data in flight, not
     * only once everything is acknowledged. */
    printf("server: last segment sent with %u bytes in flight\n",
           h[1].tail_flight);
    if (lc_small_at(total) && (total - lc_small_at(total) - 100) % LC_MSS) {
        CHECK(h[1].tail_seen);
        CHECK(h[1].tail_flight > 0);
    }
    /* both losses repaired by fast retransmit, no timeout: virtual time
     * never reached the 1 s minimum RTO */
    uint64_t frx = sf_stack_counters(h[1].st)->c[SF_CTR_FAST_RETRANSMITS];
    printf("server: %d datagrams dropped, %llu fast retransmits; client: %llu\n",
           w.ndrop, (unsigned long long)frx,
           (unsigned long long)sf_stack_counters(h[0].st)->c[SF_CTR_FAST_RETRANSMITS]);
    if (total > drop_at[1]) {
        CHECK_EQ(w.ndrop, 2);
        CHECK_EQ(frx, 2);
        CHECK(lc_now < SF_SEC);
    }
    /* each direction went past both of its ISS + 2^31 and ISS + 2^32 */
    CHECK(total <= (1ull << 32) || (h[0].got > (1ull << 32) && h[1].got > (1ull << 32)));
    for (int i = 0; i < 2; i++) {
        sf_close(h[i].st, h[i].sd);
        sf_stack_free(h[i].st);
    }
    free(w.buf);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_five_gib_each_way),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
