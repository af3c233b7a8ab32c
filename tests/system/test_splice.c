/* sf_splice: one copy from a connection's receive buffer to a
 * connection's send buffer (the same one for an echo), as sf_recv then
 * sf_send of the bytes would, but what the sending side cannot take
 * stays unread (backpressure). Byte-for-byte transfers through it (an
 * echo, a relay between two connections, both rings wrapping), its
 * answers (SF_EAGAIN, end of stream, SF_EBADF, SF_EPIPE, a reset on
 * either side, the memory cap and its wakeup), and the segment it makes
 * for an echo: the data carries the window update. Two stacks on the
 * in-memory wire of mem_pair.h; st[1] splices. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"

#include "mem_pair.h"

#define TOTAL (4u << 20)
#define CHUNK 70000

static uint8_t pat(uint64_t p) { return (uint8_t)(p * 7 + (p >> 11)); }

/* Sizes that vary, so that the rings wrap at odd places. */
static size_t want(uint64_t k) { return 1 + (size_t)((k * 2654435761u) % CHUNK); }

/* Sends up to n pattern bytes at stream offset *off on st/sd; returns
 * what sf_send did (the offset moves by what was taken). */
static long send_pat(struct sf_stack *st, int sd, uint64_t *off, size_t n)
{
    uint8_t *b = malloc(CHUNK);
    CHECK(b != NULL);
    if (n > CHUNK)
        n = CHUNK;
    for (size_t i = 0; i < n; i++)
        b[i] = pat(*off + i);
    long r = sf_send(st, sd, b, n, 0);
    if (r > 0)
        *off += (uint64_t)r;
    free(b);
    return r;
}

/* Reads up to n bytes from st/sd, checking they continue the pattern at
 * *off; returns what sf_recv did. */
static long recv_pat(struct sf_stack *st, int sd, uint64_t *off, size_t n,
                     bool *bad)
{
    uint8_t *b = malloc(CHUNK);
    CHECK(b != NULL);
    if (n > CHUNK)
        n = CHUNK;
    long r = sf_recv(st, sd, b, n, 0);
    for (long i = 0; i < r; i++)
        *bad |= b[i] != pat(*off + (uint64_t)i);
    if (r > 0)
        *off += (uint64_t)r;
    free(b);
    return r;
}

static size_t rcvq(struct sf_stack *st, int sd)
{
    struct sf_tcp_info i;
    CHECK_EQ(sf_tcp_info(st, sd, &i), 0);
    return i.rcvq;
}

static size_t sndq(struct sf_stack *st, int sd)
{
    struct sf_tcp_info i;
    CHECK_EQ(sf_tcp_info(st, sd, &i), 0);
    return i.sndq;
}

/* A transfer of TOTAL bytes from the client socket c1 through the server
 * (sf_splice from a to b) back to the client socket c2: an echo when
 * c1 == c2 (and a == b). The client ends its stream; the server passes
 * the end on (shutdown) once sf_splice says 0. wraps (if not NULL)
 * counts the splices whose source and destination were both in two
 * slices (seen with sf_recv_view and sf_send_reserve just before). */
static void relay(struct mem_pair *p, int c1, int c2, int a, int b,
                  unsigned *wraps)
{
    uint64_t sent = 0, moved = 0, rcvd = 0, k = 0;
    bool bad = false, eof = false, end = false;
    while (!end) {
        bool progress = false;
        k++;
        if (sent < TOTAL) {
            size_t n = want(k);
            if (n > TOTAL - sent)
                n = (size_t)(TOTAL - sent);
            long r = send_pat(p->st[0], c1, &sent, n);
            CHECK(r > 0 || r == SF_EAGAIN);
            progress |= r > 0;
            if (sent == TOTAL)
                CHECK_EQ(sf_shutdown(p->st[0], c1, SF_SHUT_WR), 0);
        }
        mem_pump(p);
        for (int j = 0; j < 4 && !eof; j++) {
            size_t ask = want(k * 5 + (uint64_t)j);
            struct sf_iov v[2], w[2];
            long seen = 0, room = 0;
            if (wraps) {
                seen = sf_recv_view(p->st[1], a, v, ask);
                if (seen > 0)
                    room = sf_send_reserve(p->st[1], b, w, (size_t)seen);
            }
            long r = sf_splice(p->st[1], a, b, ask);
            if (r > 0) {
                moved += (uint64_t)r;
                progress = true;
                if (wraps) {
                    CHECK(seen >= r && room == r);
                    *wraps += (size_t)r > v[0].len && (size_t)r > w[0].len;
                }
            } else if (r == 0) {
                eof = true;
                CHECK_EQ(sf_shutdown(p->st[1], b, SF_SHUT_WR), 0);
            } else {
                CHECK_EQ(r, SF_EAGAIN);
                break;
            }
        }
        mem_pump(p);
        long r = recv_pat(p->st[0], c2, &rcvd, want(k + 11), &bad);
        if (r == 0)
            end = true;
        else
            CHECK(r > 0 || r == SF_EAGAIN);
        progress |= r > 0;
        mem_pump(p);
        if (!progress && !end && !mem_idle(p))
            break;
    }
    CHECK(end);
    CHECK(eof);
    CHECK(!bad);
    CHECK_EQ(moved, (uint64_t)TOTAL);
    CHECK_EQ(rcvd, (uint64_t)TOTAL);
}

/* An echo: sf_splice(s, s) sends back every byte, in order, and the end
 * of the stream is 0. */
static void test_echo(void)
{
    struct mem_pair p;
    int c, s;
    mem_pair_open(&p, &c, &s);
    relay(&p, c, c, s, s, NULL);
    fprintf(stderr, "echo: %u bytes\n", TOTAL);
    mem_pair_free(&p);
}

/* A relay from one connection to another (a -> b), with sizes that vary
 * (the rings wrap at odd places; test_wrap_both makes both wrap at
 * once for sure). */
static void test_relay_two_conns(void)
{
    struct mem_pair p;
    int c1, c2, a, b;
    mem_pair_open(&p, &c1, &a);
    b = mem_pair_connect(&p, &c2);
    CHECK(b >= 0);
    unsigned wraps = 0;
    relay(&p, c1, c2, a, b, &wraps);
    fprintf(stderr, "relay: %u bytes, %u splices with both rings wrapping\n",
            TOTAL, wraps);
    mem_pair_free(&p);
}

/* The length of the TCP payload of datagram d (IPv4) and its flags. */
static size_t payload_len(const uint8_t *d, uint32_t n, uint8_t *flags)
{
    CHECK(n >= 40 && (d[0] >> 4) == 4);
    size_t ihl = (size_t)(d[0] & 15) * 4, tot = (size_t)d[2] << 8 | d[3];
    size_t doff = (size_t)(d[ihl + 12] >> 4) * 4;
    *flags = d[ihl + 13];
    return tot - ihl - doff;
}

/* Hands the first datagram queued towards stack k in, and loses the
 * rest. */
static void deliver_first(struct mem_pair *p, int k)
{
    struct mem_wire *q = &p->to[k];
    CHECK(q->len > 4);
    uint32_t n;
    memcpy(&n, q->buf, 4);
    uint8_t *d = malloc(n);
    CHECK(d != NULL);
    memcpy(d, q->buf + 4, n);
    q->len = 0;
    sf_stack_input(p->st[k], p->now, d, n);
    free(d);
}

/* Both rings wrap where the splice reads and writes: a's bytes lie in
 * two slices (read up to near the end of its storage, then more came)
 * and b's free room too (its head moved by an ACK while bytes after it
 * wait, lost), at different places, so the copy goes from two slices to
 * two in three pieces; every byte arrives in order. */
static void test_wrap_both(void)
{
    struct mem_pair p;
    int c1, c2, a, b;
    mem_pair_open(&p, &c1, &a);
    b = mem_pair_connect(&p, &c2);
    CHECK(b >= 0);
    int one = 1;
    CHECK_EQ(sf_setsockopt(p.st[1], b, SF_IPPROTO_TCP, SF_TCP_NODELAY, &one, sizeof one), 0);
    /* a: 3000 bytes, 2999 read, then 2000 more */
    uint64_t sa = 0, ra = 0;
    bool bad = false;
    CHECK_EQ(send_pat(p.st[0], c1, &sa, 3000), 3000);
    mem_pump(&p);
    CHECK_EQ(recv_pat(p.st[1], a, &ra, 2999, &bad), 2999);
    CHECK_EQ(send_pat(p.st[0], c1, &sa, 2000), 2000);
    mem_pump(&p);
    mem_idle(&p);
    /* b: 2500 bytes sent, the first segment arrives and is acknowledged,
     * the rest is lost (for now); a byte back from the client carries
     * the ACK at once */
    uint64_t sb = 0;
    CHECK_EQ(send_pat(p.st[1], b, &sb, 2500), 2500);
    deliver_first(&p, 0);
    mem_pump(&p);
    CHECK_EQ(sf_send(p.st[0], c2, "x", 1, 0), 1); /* with the ACK */
    mem_pump(&p);
    CHECK(sndq(p.st[1], b) > 0 && sndq(p.st[1], b) < 2500);
    CHECK_EQ(p.to[0].len, 0u); /* the lost bytes wait for a timeout */

    struct sf_iov v[2], w[2];
    CHECK_EQ(sf_recv_view(p.st[1], a, v, 5000), 2001);
    CHECK_EQ(sf_send_reserve(p.st[1], b, w, 2001), 2001);
    fprintf(stderr, "wrap: from %zu+%zu, to %zu+%zu\n", v[0].len, v[1].len,
            w[0].len, w[1].len);
    CHECK(v[1].len > 0 && w[1].len > 0 && v[0].len != w[0].len);
    CHECK_EQ(sf_splice(p.st[1], a, b, 5000), 2001);
    CHECK_EQ(sf_recv(p.st[1], a, &one, 1, 0), SF_EAGAIN);

    /* the client gets b's 2500 bytes (the lost ones again), then a's
     * 2001 from a's offset 2999 */
    uint64_t got = 0;
    for (int i = 0; i < 100 && got < 2500; i++) {
        if (recv_pat(p.st[0], c2, &got, 2500 - (size_t)got, &bad) <= 0)
            mem_idle(&p);
    }
    CHECK_EQ(got, 2500u);
    uint64_t off = 2999;
    for (int i = 0; i < 100 && off < 5000; i++) {
        if (recv_pat(p.st[0], c2, &off, 5000, &bad) <= 0)
            mem_idle(&p);
    }
    CHECK_EQ(off, 5000u);
    CHECK(!bad);
    mem_pair_free(&p);
}

/* Fills the send buffer of st[1]'s b, the client (c2) not reading: the
 * client's window closes, then b's buffer. */
static void fill_send(struct mem_pair *p, int b)
{
    uint64_t off = 0;
    for (int i = 0; i < 1000; i++) {
        long r;
        while ((r = send_pat(p->st[1], b, &off, CHUNK)) > 0)
            ;
        CHECK_EQ(r, SF_EAGAIN);
        mem_pump(p);
        if (send_pat(p->st[1], b, &off, 1) == SF_EAGAIN)
            return;
    }
    CHECK(!"the send buffer never filled");
}

/* What b cannot take stays in a: SF_EAGAIN with b full, all of it
 * readable afterwards in order; once b has some room, only that much
 * goes, and the rest still follows in order. */
static void test_backpressure(void)
{
    struct mem_pair p;
    int c1, c2, a, b;
    mem_pair_open(&p, &c1, &a);
    b = mem_pair_connect(&p, &c2);
    CHECK(b >= 0);
    int size = 65536; /* set: autotuning leaves it alone */
    CHECK_EQ(sf_setsockopt(p.st[1], b, SF_SOL_SOCKET, SF_SO_SNDBUF, &size, sizeof size), 0);
    fill_send(&p, b);
    size_t queued = sndq(p.st[1], b);
    const size_t m = 40000;
    uint64_t sent = 0;
    CHECK_EQ(send_pat(p.st[0], c1, &sent, m), (long)m);
    mem_pump(&p);
    CHECK_EQ(rcvq(p.st[1], a), m);
    CHECK_EQ(sf_splice(p.st[1], a, b, m), SF_EAGAIN);
    CHECK_EQ(rcvq(p.st[1], a), m); /* nothing taken */
    CHECK_EQ(sndq(p.st[1], b), queued);

    /* the client reads a little: b gets room for part of m only */
    uint64_t got = 0;
    bool bad = false;
    CHECK_EQ(recv_pat(p.st[0], c2, &got, 8000, &bad), 8000);
    mem_pump(&p);
    mem_idle(&p); /* the ACK of what the window update let go */
    long r = sf_splice(p.st[1], a, b, m);
    fprintf(stderr, "backpressure: %ld of %zu bytes moved with room opened\n", r, m);
    CHECK(r > 0 && (size_t)r < m);
    CHECK_EQ(rcvq(p.st[1], a), m - (size_t)r);
    CHECK_EQ(sf_splice(p.st[1], a, b, m), SF_EAGAIN);
    /* the rest of a reads in order after what was moved */
    uint64_t off = (uint64_t)r;
    while (off < m)
        CHECK(recv_pat(p.st[1], a, &off, m, &bad) > 0);
    CHECK_EQ(off, (uint64_t)m);
    CHECK(!bad);
    CHECK_EQ(sf_recv(p.st[1], a, &bad, 1, 0), SF_EAGAIN);
    mem_pair_free(&p);
}

/* from with nothing: SF_EAGAIN; its FIN read and nothing left: 0 (again
 * and again), even when to could no longer take anything. */
static void test_end_of_stream(void)
{
    struct mem_pair p;
    int c1, c2, a, b;
    mem_pair_open(&p, &c1, &a);
    b = mem_pair_connect(&p, &c2);
    CHECK(b >= 0);
    CHECK_EQ(sf_splice(p.st[1], a, b, 100), SF_EAGAIN);
    uint64_t sent = 0;
    CHECK_EQ(send_pat(p.st[0], c1, &sent, 300), 300);
    CHECK_EQ(sf_shutdown(p.st[0], c1, SF_SHUT_WR), 0);
    mem_pump(&p);
    CHECK_EQ(sf_splice(p.st[1], a, b, 100), 100);
    CHECK_EQ(sf_splice(p.st[1], a, b, 1000), 200);
    CHECK_EQ(sf_splice(p.st[1], a, b, 1000), 0);
    CHECK_EQ(sf_splice(p.st[1], a, b, 1000), 0);
    CHECK_EQ(sf_splice(p.st[1], a, a, 1000), 0); /* an echo's end */
    CHECK_EQ(sf_shutdown(p.st[1], b, SF_SHUT_WR), 0);
    CHECK_EQ(sf_splice(p.st[1], a, b, 1000), 0); /* from's answer first */
    mem_pump(&p);
    mem_idle(&p);
    uint64_t got = 0;
    bool bad = false;
    CHECK_EQ(recv_pat(p.st[0], c2, &got, 1000, &bad), 300);
    CHECK_EQ(recv_pat(p.st[0], c2, &got, 1000, &bad), 0);
    CHECK(!bad);
    mem_pair_free(&p);
}

/* A descriptor that is not one (either side, or closed) is SF_EBADF, and
 * nothing moves. */
static void test_bad_descriptors(void)
{
    struct mem_pair p;
    int c, s;
    mem_pair_open(&p, &c, &s);
    uint64_t sent = 0;
    CHECK_EQ(send_pat(p.st[0], c, &sent, 500), 500);
    mem_pump(&p);
    CHECK_EQ(sf_splice(p.st[1], 99, s, 10), SF_EBADF);
    CHECK_EQ(sf_splice(p.st[1], s, 99, 10), SF_EBADF);
    CHECK_EQ(sf_splice(p.st[1], -1, s, 10), SF_EBADF);
    CHECK_EQ(sf_splice(p.st[1], s, -1, 10), SF_EBADF);
    CHECK_EQ(sf_splice(NULL, s, s, 10), SF_EBADF);
    int x = sf_socket(p.st[1]);
    CHECK(x >= 0);
    CHECK_EQ(sf_close(p.st[1], x), 0);
    CHECK_EQ(sf_splice(p.st[1], s, x, 10), SF_EBADF);
    CHECK_EQ(sf_splice(p.st[1], x, s, 10), SF_EBADF);
    CHECK_EQ(rcvq(p.st[1], s), 500u);
    CHECK_EQ(sndq(p.st[1], s), 0u);
    CHECK_EQ(sf_splice(p.st[1], s, s, 10), 10); /* and the good pair works */
    mem_pair_free(&p);
}

/* to can no longer send (shut for writing, a listener, never connected,
 * reset): sf_send's error, and nothing is taken from from. from reset or
 * not connected: sf_recv's error. */
static void test_to_cannot_send(void)
{
    struct mem_pair p;
    int c1, c2, a, b;
    mem_pair_open(&p, &c1, &a);
    b = mem_pair_connect(&p, &c2);
    CHECK(b >= 0);
    uint64_t sent = 0;
    CHECK_EQ(send_pat(p.st[0], c1, &sent, 1000), 1000);
    mem_pump(&p);

    CHECK_EQ(sf_shutdown(p.st[1], b, SF_SHUT_WR), 0);
    CHECK_EQ(sf_splice(p.st[1], a, b, 1000), SF_EPIPE);
    CHECK_EQ(rcvq(p.st[1], a), 1000u);
    CHECK_EQ(sndq(p.st[1], b), 0u);

    int l = p.listener, fresh = sf_socket(p.st[1]);
    CHECK(fresh >= 0);
    CHECK_EQ(sf_splice(p.st[1], a, l, 1000), SF_ENOTCONN);
    CHECK_EQ(sf_splice(p.st[1], l, a, 1000), SF_ENOTCONN);
    CHECK_EQ(sf_splice(p.st[1], a, fresh, 1000), SF_ENOTCONN);
    CHECK_EQ(sf_splice(p.st[1], fresh, a, 1000), SF_ENOTCONN);
    CHECK_EQ(rcvq(p.st[1], a), 1000u);

    /* the reader of b resets: sf_send's ECONNRESET once, then EPIPE */
    int c3, d;
    d = mem_pair_connect(&p, &c3);
    CHECK(d >= 0);
    struct sf_linger lg = {1, 0};
    CHECK_EQ(sf_setsockopt(p.st[0], c3, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(sf_close(p.st[0], c3), 0);
    mem_pump(&p);
    CHECK_EQ(sf_splice(p.st[1], a, d, 1000), SF_ECONNRESET);
    CHECK_EQ(sf_splice(p.st[1], a, d, 1000), SF_EPIPE);
    CHECK_EQ(rcvq(p.st[1], a), 1000u);

    /* all of a still reads, in order */
    uint64_t off = 0;
    bool bad = false;
    CHECK_EQ(recv_pat(p.st[1], a, &off, 2000, &bad), 1000);
    CHECK(!bad);

    /* from reset, nothing in it: sf_recv's ECONNRESET, then the end */
    CHECK_EQ(sf_setsockopt(p.st[0], c1, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(sf_close(p.st[0], c1), 0);
    mem_pump(&p);
    CHECK_EQ(sf_splice(p.st[1], a, d, 1000), SF_ECONNRESET);
    CHECK_EQ(sf_splice(p.st[1], a, d, 1000), 0);
    mem_pair_free(&p);
}

/* RFC 9293 3.8.6.2.2 and the echo: the bytes taken open the window by
 * more than a segment, so an update is due; it goes out on the echoed
 * data itself, no pure ACK beside it. */
static void test_echo_carries_window_update(void)
{
    struct mem_pair p;
    int c, s;
    mem_pair_open(&p, &c, &s);
    struct sf_tcp_info ci;
    CHECK_EQ(sf_tcp_info(p.st[0], c, &ci), 0);
    uint32_t wnd0 = ci.snd_wnd;
    size_t n = 8 * (size_t)ci.snd_mss;
    uint64_t sent = 0;
    CHECK_EQ(send_pat(p.st[0], c, &sent, n), (long)n);
    mem_pump(&p);
    mem_idle(&p); /* every segment acknowledged */
    CHECK_EQ(rcvq(p.st[1], s), n);
    CHECK_EQ(sf_tcp_info(p.st[0], c, &ci), 0);
    CHECK(ci.snd_wnd + n / 2 <= wnd0); /* the window offered shrank */
    CHECK_EQ(p.to[0].len, 0u);

    CHECK_EQ(sf_splice(p.st[1], s, s, n), (long)n);
    /* what the server sent: data segments only, n bytes in all */
    size_t total = 0, segs = 0, pure = 0;
    for (size_t off = 0; off < p.to[0].len;) {
        uint32_t len;
        memcpy(&len, p.to[0].buf + off, 4);
        uint8_t fl;
        size_t k = payload_len(p.to[0].buf + off + 4, len, &fl);
        CHECK(fl & 0x10); /* ACK */
        total += k;
        segs++;
        pure += k == 0;
        off += 4 + len;
    }
    fprintf(stderr, "echo of %zu bytes: %zu segments, %zu without data\n", n,
            segs, pure);
    CHECK_EQ(total, n);
    CHECK_EQ(pure, 0u);
    mem_pump(&p);
    CHECK_EQ(sf_tcp_info(p.st[0], c, &ci), 0);
    /* the update arrived with the data (to the scale's granularity) */
    CHECK(ci.snd_wnd + 1024 > wnd0);
    uint64_t got = 0;
    bool bad = false;
    CHECK_EQ(recv_pat(p.st[0], c, &got, n, &bad), (long)n);
    CHECK(!bad);
    mem_pair_free(&p);
}

/* --------------------------------------------------- the memory cap */

#define MAXSD 64

static void note_wake(void *ctx, int sd)
{
    unsigned *woke = ctx;
    if (sd >= 0 && sd < MAXSD)
        woke[sd]++;
}

static void tune_cap(struct sf_stack_cfg *cfg, int k, void *arg)
{
    if (k == 1) {
        cfg->mem_max = (uint64_t)cfg->rcvbuf + cfg->sndbuf + SF_MEM_MIN;
        cfg->wakeup = note_wake;
        cfg->wakeup_ctx = arg;
    }
}

/* With the server at its memory cap (the receive buffers of a, x and y
 * hold it), b soon has no storage to take a's bytes: SF_EAGAIN, counted
 * as sf_send's wait is, and the rest stays in a. Once x is read (memory
 * frees) b gets its wakeup, and the splice goes on: every byte reaches
 * the client in order. */
static void test_memory_cap(void)
{
    unsigned woke[MAXSD] = {0};
    struct mem_pair p;
    int c1, c2, c3, c4, a, b, x, y;
    mem_pair_open_with(&p, &c1, &a, tune_cap, woke);
    b = mem_pair_connect(&p, &c2);
    x = mem_pair_connect(&p, &c3);
    y = mem_pair_connect(&p, &c4);
    CHECK(b >= 0 && x >= 0 && y >= 0 && b < MAXSD);
    /* the client sends on a, x and y until the server refuses memory */
    uint64_t sa = 0, sx = 0, sy = 0;
    struct sf_mem_info mi;
    for (int i = 0; i < 200; i++) {
        sf_stack_mem(p.st[1], &mi);
        if (mi.full)
            break;
        send_pat(p.st[0], c1, &sa, 8192);
        send_pat(p.st[0], c3, &sx, 8192);
        send_pat(p.st[0], c4, &sy, 8192);
        mem_pump(&p);
    }
    sf_stack_mem(p.st[1], &mi);
    CHECK(mi.full);
    size_t held = rcvq(p.st[1], a);
    CHECK(held > 0 && rcvq(p.st[1], x) > 0);
    const struct sf_counters *ctr = sf_stack_counters(p.st[1]);
    uint64_t waits = ctr->c[SF_CTR_SND_MEM_WAIT];
    /* what little is left under the cap may take a few bytes first (as
     * with sf_send, a length asked that does not fit is refused whole) */
    uint64_t moved = 0;
    long r;
    for (int i = 0; i < 1000 && (r = sf_splice(p.st[1], a, b, 1000)) > 0; i++)
        moved += (uint64_t)r;
    CHECK_EQ(r, SF_EAGAIN);
    CHECK(ctr->c[SF_CTR_SND_MEM_WAIT] > waits);
    CHECK(held > moved);
    CHECK_EQ(rcvq(p.st[1], a), held - moved);
    fprintf(stderr, "memory cap: %llu of %zu bytes moved before the cap\n",
            (unsigned long long)moved, held);

    /* x read dry: memory frees, b is woken, and the splice resumes */
    memset(woke, 0, sizeof woke);
    uint64_t rx = 0;
    bool bad = false;
    while (recv_pat(p.st[1], x, &rx, CHUNK, &bad) > 0)
        ;
    CHECK_EQ(woke[b], 1u);
    r = sf_splice(p.st[1], a, b, 4096);
    CHECK(r > 0);
    moved += (uint64_t)r;

    /* and the rest follows: everything sent on a reaches c2, in order */
    CHECK_EQ(sf_shutdown(p.st[0], c1, SF_SHUT_WR), 0);
    uint64_t got = 0;
    bool eof = false;
    for (int i = 0; i < 100000; i++) {
        mem_pump(&p);
        bool progress = false;
        while (!eof && (r = sf_splice(p.st[1], a, b, 4096)) > 0) {
            moved += (uint64_t)r;
            progress = true;
        }
        if (!eof && r == 0) {
            eof = true;
            CHECK_EQ(sf_shutdown(p.st[1], b, SF_SHUT_WR), 0);
        }
        while (recv_pat(p.st[1], x, &rx, CHUNK, &bad) > 0)
            ;
        mem_pump(&p);
        long k;
        while ((k = recv_pat(p.st[0], c2, &got, CHUNK, &bad)) > 0)
            progress = true;
        if (k == 0)
            break;
        if (!progress)
            mem_idle(&p);
    }
    CHECK(eof);
    CHECK(!bad);
    CHECK_EQ(moved, sa);
    CHECK_EQ(got, sa);
    mem_pair_free(&p);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_echo),
    CHECK_CASE(test_relay_two_conns),
    CHECK_CASE(test_wrap_both),
    CHECK_CASE(test_backpressure),
    CHECK_CASE(test_end_of_stream),
    CHECK_CASE(test_bad_descriptors),
    CHECK_CASE(test_to_cannot_send),
    CHECK_CASE(test_echo_carries_window_update),
    CHECK_CASE(test_memory_cap),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
