/* The zero-copy RECEIVE and SEND (sf_recv_view / sf_recv_done,
 * sf_send_reserve / sf_send_commit) that synfin tun2socks relays with:
 * the same bytes, the same segments on the wire as sf_recv / sf_send, and
 * a clear error for every misuse; and direct delivery (cfg.deliver):
 * in-order bytes offered to the application before they are queued, only
 * when nothing waits before them. Two stacks on the in-memory wire of
 * mem_pair.h. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"

#include "mem_pair.h"

#define TOTAL (6u << 20)

static uint8_t pat(uint64_t p) { return (uint8_t)(p * 7 + (p >> 11)); }

/* FNV-1a over every datagram either stack put on the wire */
struct wire_sum {
    uint64_t h, n;
};

static void sum_queue(struct wire_sum *w, const struct mem_wire *q)
{
    for (size_t i = 0; i < q->len; i++)
        w->h = (w->h ^ q->buf[i]) * 0x100000001b3ull;
    w->n += q->len;
}

/* mem_pump, summing what passes */
static void pump_sum(struct mem_pair *p, struct wire_sum *w)
{
    while (p->to[0].len || p->to[1].len) {
        sum_queue(w, &p->to[0]);
        sum_queue(w, &p->to[1]);
        for (int k = 1; k >= 0; k--) {
            struct mem_wire *q = &p->to[k];
            size_t len = q->len;
            q->len = 0;
            for (size_t off = 0; off < len;) {
                uint32_t n;
                memcpy(&n, q->buf + off, 4);
                sf_stack_input(p->st[k], p->now, q->buf + off + 4, n);
                off += 4 + n;
            }
        }
    }
}

struct run {
    uint64_t sent, rcvd;
    unsigned wrapped_send, wrapped_recv; /* views in two slices */
    bool bad;
};

/* Sizes that vary, so that the rings wrap at odd places: a step of the
 * transfer asks for want(k) bytes and takes some of them. */
static size_t want(uint64_t k) { return 1 + (size_t)((k * 2654435761u) % 70000); }
static size_t part(uint64_t k, size_t n) { return k % 3 == 0 ? n : n - n / (2 + k % 5); }

/* One transfer of TOTAL bytes st[0] -> st[1], through the zero-copy calls
 * (zc) or through sf_send / sf_recv with the same sizes. */
static struct wire_sum transfer(bool zc, struct run *r)
{
    struct mem_pair p;
    int c, s;
    mem_pair_open(&p, &c, &s);
    struct wire_sum w = {0xcbf29ce484222325ull, 0};
    uint8_t *buf = malloc(70000);
    CHECK(buf != NULL);
    memset(r, 0, sizeof *r);
    uint64_t k = 0;
    while (r->rcvd < TOTAL) {
        long sent = 0, got = 0;
        k++;
        if (r->sent < TOTAL) {
            size_t ask = want(k);
            if (ask > TOTAL - r->sent)
                ask = (size_t)(TOTAL - r->sent);
            if (zc) {
                struct sf_iov v[2];
                long room = sf_send_reserve(p.st[0], c, v, ask);
                if (room > 0) {
                    size_t n = part(k, (size_t)room), i = 0;
                    r->wrapped_send += v[1].len > 0;
                    CHECK_EQ(v[0].len + v[1].len, (size_t)room);
                    for (int j = 0; j < 2; j++)
                        for (size_t b = 0; b < v[j].len && i < n; b++, i++)
                            ((uint8_t *)v[j].base)[b] = pat(r->sent + i);
                    sent = sf_send_commit(p.st[0], c, n);
                    CHECK_EQ(sent, (long)n);
                }
            } else {
                /* the same room sf_send_reserve would show, and the part */
                struct sf_tcp_info i;
                CHECK_EQ(sf_tcp_info(p.st[0], c, &i), 0);
                size_t room = i.sndbuf - i.sndq < ask ? i.sndbuf - i.sndq : ask;
                if (room > 0) {
                    size_t n = part(k, room);
                    for (size_t b = 0; b < n; b++)
                        buf[b] = pat(r->sent + b);
                    sent = sf_send(p.st[0], c, buf, n, 0);
                    CHECK_EQ(sent, (long)n);
                }
            }
            if (sent > 0)
                r->sent += (uint64_t)sent;
            if (r->sent == TOTAL)
                CHECK_EQ(sf_shutdown(p.st[0], c, SF_SHUT_WR), 0);
        }
        pump_sum(&p, &w);
        size_t ask = want(k + 7);
        if (zc) {
            struct sf_iov v[2];
            got = sf_recv_view(p.st[1], s, v, ask);
            if (got > 0) {
                size_t n = part(k + 1, (size_t)got), i = 0;
                r->wrapped_recv += v[1].len > 0;
                for (int j = 0; j < 2; j++)
                    for (size_t b = 0; b < v[j].len && i < n; b++, i++)
                        r->bad |= ((uint8_t *)v[j].base)[b] != pat(r->rcvd + i);
                CHECK_EQ(sf_recv_done(p.st[1], s, n), 0);
                got = (long)n;
            }
        } else {
            struct sf_tcp_info i;
            CHECK_EQ(sf_tcp_info(p.st[1], s, &i), 0);
            size_t avail = i.rcvq < ask ? i.rcvq : ask;
            if (avail > 0) {
                size_t n = part(k + 1, avail);
                got = sf_recv(p.st[1], s, buf, n, 0);
                CHECK_EQ(got, (long)n);
                for (long b = 0; b < got; b++)
                    r->bad |= buf[b] != pat(r->rcvd + (uint64_t)b);
            }
        }
        if (got > 0)
            r->rcvd += (uint64_t)got;
        pump_sum(&p, &w);
        if (sent <= 0 && got <= 0) {
            sf_time_t a = sf_stack_advance(p.st[0], p.now);
            sf_time_t b = sf_stack_advance(p.st[1], p.now);
            pump_sum(&p, &w);
            sf_time_t next = a < b ? a : b;
            if (next == SF_TIME_NEVER)
                break;
            p.now = next > p.now ? next : p.now + SF_USEC;
        }
    }
    /* the end of the stream: nothing more, 0 */
    struct sf_iov v[2];
    uint8_t one;
    long end = zc ? sf_recv_view(p.st[1], s, v, 1) : sf_recv(p.st[1], s, &one, 1, 0);
    CHECK_EQ(end, 0);
    free(buf);
    mem_pair_free(&p);
    return w;
}

/* The same transfer both ways: the same bytes arrive, and the wire carries
 * the same datagrams, byte for byte (the zero-copy calls are SEND and
 * RECEIVE, not another protocol). The sizes make both rings wrap. */
static void test_same_as_copying(void)
{
    struct run a, b;
    struct wire_sum zc = transfer(true, &a), cp = transfer(false, &b);
    fprintf(stderr, "zero-copy: %llu bytes, %u sends and %u receives in two slices; "
            "wire %llu bytes\n", (unsigned long long)a.rcvd, a.wrapped_send,
            a.wrapped_recv, (unsigned long long)zc.n);
    CHECK_EQ(a.rcvd, (uint64_t)TOTAL);
    CHECK_EQ(b.rcvd, (uint64_t)TOTAL);
    CHECK(!a.bad && !b.bad);
    CHECK(a.wrapped_send > 0 && a.wrapped_recv > 0);
    CHECK_EQ(zc.n, cp.n);
    CHECK_EQ(zc.h, cp.h);
}

/* A reservation committed with 0 bytes and nothing queued gives its
 * storage back: an idle relay that reserves before each read holds none
 * (serve's proxy held 17 KB a connection before). */
static void test_commit_zero_frees(void)
{
    struct mem_pair p;
    int c, s;
    mem_pair_open(&p, &c, &s);
    struct sf_iov v[2];
    struct sf_tcp_info i;
    CHECK_EQ(sf_tcp_info(p.st[0], c, &i), 0);
    CHECK_EQ(i.snd_mem, 0u);
    CHECK_EQ(sf_send_reserve(p.st[0], c, v, 4096), 4096);
    CHECK_EQ(sf_tcp_info(p.st[0], c, &i), 0);
    CHECK(i.snd_mem >= 4096);
    CHECK_EQ(sf_send_commit(p.st[0], c, 0), 0);
    CHECK_EQ(sf_tcp_info(p.st[0], c, &i), 0);
    CHECK_EQ(i.snd_mem, 0u);
    /* with bytes queued the storage stays (they are in it) */
    CHECK_EQ(sf_send(p.st[0], c, "abc", 3, 0), 3);
    CHECK_EQ(sf_send_reserve(p.st[0], c, v, 100), 100);
    CHECK_EQ(sf_send_commit(p.st[0], c, 0), 0);
    CHECK_EQ(sf_tcp_info(p.st[0], c, &i), 0);
    CHECK(i.snd_mem > 0);
    CHECK_EQ(i.sndq, 3u);
    mem_pump(&p);
    char buf[8];
    CHECK_EQ(sf_recv(p.st[1], s, buf, sizeof buf, 0), 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    mem_pair_free(&p);
}

/* Each misuse is an error that says which, and leaves nothing queued. */
static void test_misuse(void)
{
    struct mem_pair p;
    int c, s;
    mem_pair_open(&p, &c, &s);
    struct sf_iov v[2];
    struct sf_tcp_info i;

    CHECK_EQ(sf_send_commit(p.st[0], c, 1), SF_EINVAL); /* nothing reserved */
    CHECK_EQ(sf_send_reserve(p.st[0], 99, v, 10), SF_EBADF);
    CHECK_EQ(sf_send_reserve(p.st[0], c, NULL, 10), SF_EINVAL);
    CHECK_EQ(sf_recv_view(p.st[1], 99, v, 10), SF_EBADF);
    CHECK_EQ(sf_recv_view(p.st[1], s, v, 10), SF_EAGAIN); /* nothing yet */
    CHECK_EQ(sf_recv_done(p.st[1], s, 1), SF_EINVAL);     /* more than is there */

    long room = sf_send_reserve(p.st[0], c, v, 100);
    CHECK_EQ(room, 100);
    memset(v[0].base, 'a', v[0].len);
    CHECK_EQ(sf_send_commit(p.st[0], c, 101), SF_EINVAL); /* more than shown */
    CHECK_EQ(sf_tcp_info(p.st[0], c, &i), 0);
    CHECK_EQ(i.sndq, 0u);
    /* a reservation is void once it was committed, or after another SEND */
    room = sf_send_reserve(p.st[0], c, v, 100);
    CHECK_EQ(sf_send_commit(p.st[0], c, 60), 60);
    CHECK_EQ(sf_send_commit(p.st[0], c, 10), SF_EINVAL);
    room = sf_send_reserve(p.st[0], c, v, 100);
    CHECK_EQ(room, 100);
    CHECK_EQ(sf_send(p.st[0], c, "xy", 2, 0), 2);
    CHECK_EQ(sf_send_commit(p.st[0], c, 10), SF_EINVAL);
    CHECK_EQ(sf_tcp_info(p.st[0], c, &i), 0);
    CHECK_EQ(i.sndq, 62u);
    mem_pump(&p);
    mem_idle(&p); /* the delayed ACK lets Nagle's 2 bytes go (3.7.4) */

    /* the receiver sees the 62 bytes in place, takes them in two steps */
    CHECK_EQ(sf_recv_view(p.st[1], s, v, 1000), 62);
    CHECK_EQ(v[0].len, 62u);
    CHECK_EQ(((uint8_t *)v[0].base)[0], 'a');
    CHECK_EQ(((uint8_t *)v[0].base)[61], 'y');
    CHECK_EQ(sf_recv_done(p.st[1], s, 63), SF_EINVAL);
    CHECK_EQ(sf_recv_done(p.st[1], s, 60), 0);
    CHECK_EQ(sf_recv_view(p.st[1], s, v, 1000), 2);
    CHECK_EQ(((uint8_t *)v[0].base)[0], 'x');
    CHECK_EQ(sf_recv_done(p.st[1], s, 2), 0);
    CHECK_EQ(sf_recv_view(p.st[1], s, v, 1000), SF_EAGAIN);

    /* after CLOSE (3.10.4, our FIN queued) no SEND: reserve and a commit
     * of a reservation made before both say so */
    room = sf_send_reserve(p.st[0], c, v, 10);
    CHECK_EQ(room, 10);
    CHECK_EQ(sf_shutdown(p.st[0], c, SF_SHUT_WR), 0);
    CHECK_EQ(sf_send_commit(p.st[0], c, 10), SF_EPIPE);
    CHECK_EQ(sf_send_reserve(p.st[0], c, v, 10), SF_EPIPE);
    mem_pump(&p);
    CHECK_EQ(sf_recv_view(p.st[1], s, v, 10), 0); /* end of stream */

    /* a listener has nothing to show */
    int l = sf_socket(p.st[1]);
    struct sf_addr la = {.port = 81};
    CHECK_EQ(sf_bind(p.st[1], l, &la), 0);
    CHECK_EQ(sf_listen(p.st[1], l, 4), 0);
    CHECK_EQ(sf_recv_view(p.st[1], l, v, 10), SF_ENOTCONN);
    CHECK_EQ(sf_send_reserve(p.st[1], l, v, 10), SF_ENOTCONN);
    mem_pair_free(&p);
}

/* RFC 9293 3.8.6.2.2: taking bytes with sf_recv_done opens the window as
 * sf_recv does: a receiver whose buffer the sender filled (window 0)
 * sends the update at once, and the transfer goes on. */
static void test_done_opens_window(void)
{
    struct mem_pair p;
    int c, s;
    mem_pair_open(&p, &c, &s);
    uint8_t *buf = calloc(1, 1u << 20);
    CHECK(buf != NULL);
    for (int k = 0; k < 64; k++) {
        sf_send(p.st[0], c, buf, 1u << 20, 0);
        mem_pump(&p);
    }
    struct sf_tcp_info i;
    CHECK_EQ(sf_tcp_info(p.st[1], s, &i), 0);
    CHECK(i.rcv_wnd < i.snd_mss); /* closed, but for less than a segment */
    uint32_t held = i.rcvq;
    struct sf_iov v[2];
    CHECK_EQ(sf_recv_view(p.st[1], s, v, held), (long)held);
    CHECK_EQ(p.to[0].len, 0u);
    CHECK_EQ(sf_recv_done(p.st[1], s, held), 0);
    CHECK(p.to[0].len > 0); /* the window update, sent at once */
    mem_pump(&p);
    CHECK_EQ(sf_tcp_info(p.st[1], s, &i), 0);
    CHECK(i.rcvq > 0); /* the sender went on */
    free(buf);
    mem_pair_free(&p);
}

/* ------------------------------------- direct delivery (cfg.deliver) */

/* The application: what it has taken so far (pos), from the callback or
 * sf_recv; the callback takes all, half or none of what it is offered, in
 * turn, and checks that the bytes offered start where the application
 * stands (so nothing queued before them was passed over). */
struct taker {
    uint64_t pos, taken, calls;
    bool bad;
};

static size_t take(void *ctx, int sd, const uint8_t *d, size_t len)
{
    struct taker *t = ctx;
    (void)sd;
    for (size_t i = 0; i < len; i++)
        t->bad |= d[i] != pat(t->pos + i);
    size_t k = t->calls % 3 == 0 ? len : t->calls % 3 == 1 ? len / 2 : 0;
    t->calls++;
    t->pos += k;
    t->taken += k;
    return k;
}

static void tune_take(struct sf_stack_cfg *cfg, int k, void *arg)
{
    if (k == 1) {
        cfg->deliver = take;
        cfg->deliver_ctx = arg;
    }
}

/* Reads what the stack queued, checking it continues the stream. */
static long read_rest(struct mem_pair *p, int s, struct taker *t, uint8_t *buf, size_t cap)
{
    long r, all = 0;
    while ((r = sf_recv(p->st[1], s, buf, cap, 0)) > 0) {
        for (long i = 0; i < r; i++)
            t->bad |= buf[i] != pat(t->pos + (uint64_t)i);
        t->pos += (uint64_t)r;
        all += r;
    }
    return r < 0 && r != SF_EAGAIN ? r : all;
}

/* A 6 MB transfer to a receiver whose callback takes all, half or none
 * of each in-order segment: every byte arrives once and in order, the
 * callback's and sf_recv's together, and the counter says how many the
 * callback took. */
static void test_direct_delivery(void)
{
    struct taker t = {0};
    struct mem_pair p;
    int c, s;
    mem_pair_open_with(&p, &c, &s, tune_take, &t);
    uint8_t *buf = malloc(1u << 16);
    CHECK(buf != NULL);
    uint64_t sent = 0, read = 0;
    for (int round = 0; round < 100000 && t.pos < TOTAL; round++) {
        long w = 0;
        if (sent < TOTAL) {
            size_t n = TOTAL - sent < (1u << 16) ? (size_t)(TOTAL - sent) : 1u << 16;
            for (size_t i = 0; i < n; i++)
                buf[i] = pat(sent + i);
            w = sf_send(p.st[0], c, buf, n, 0);
            sent += w > 0 ? (uint64_t)w : 0;
            if (sent == TOTAL)
                CHECK_EQ(sf_shutdown(p.st[0], c, SF_SHUT_WR), 0);
        }
        mem_pump(&p);
        long r = read_rest(&p, s, &t, buf, 1u << 16);
        read += r > 0 ? (uint64_t)r : 0;
        mem_pump(&p);
        if (w <= 0 && r <= 0 && !mem_idle(&p))
            break;
    }
    uint8_t one;
    CHECK_EQ(sf_recv(p.st[1], s, &one, 1, 0), 0); /* then the end of the stream */
    fprintf(stderr, "direct delivery: %llu bytes taken in %llu offers, %llu read\n",
            (unsigned long long)t.taken, (unsigned long long)t.calls,
            (unsigned long long)read);
    CHECK_EQ(t.pos, (uint64_t)TOTAL);
    CHECK(!t.bad);
    CHECK(t.taken > 0 && read > 0);
    CHECK_EQ(sf_stack_counters(p.st[1])->c[SF_CTR_DIRECT_DELIVERED], t.taken);
    free(buf);
    mem_pair_free(&p);
}

/* Sends n pattern bytes at stream offset off from the client, unpumped. */
static void send_at_off(struct mem_pair *p, int c, uint64_t off, size_t n)
{
    uint8_t b[1000];
    for (size_t i = 0; i < n; i++)
        b[i] = pat(off + i);
    CHECK_EQ(sf_send(p->st[0], c, b, n, 0), (long)n);
}

/* Not offered: a segment out of order; the one that fills the hole in
 * front of it (RFC 9293 3.10.7.4 seventh step: both go to the buffer
 * together); in-order data while the buffer still holds unread bytes; and
 * after SHUT_RD. Offered again once the buffer is read dry. */
static void test_direct_only_in_order(void)
{
    struct taker t = {0};
    struct mem_pair p;
    int c, s;
    mem_pair_open_with(&p, &c, &s, tune_take, &t);
    int one = 1;
    CHECK_EQ(sf_setsockopt(p.st[0], c, SF_IPPROTO_TCP, SF_TCP_NODELAY, &one, sizeof one), 0);
    uint8_t buf[4000];
    send_at_off(&p, c, 0, 1000);
    send_at_off(&p, c, 1000, 1000);
    /* the two segments towards the server, second first */
    struct mem_wire *q = &p.to[1];
    uint32_t n0, n1;
    memcpy(&n0, q->buf, 4);
    memcpy(&n1, q->buf + 4 + n0, 4);
    CHECK_EQ(q->len, (size_t)(8 + n0 + n1));
    uint8_t *seg0 = malloc(n0), *seg1 = malloc(n1);
    CHECK(seg0 && seg1);
    memcpy(seg0, q->buf + 4, n0);
    memcpy(seg1, q->buf + 8 + n0, n1);
    q->len = 0;
    sf_stack_input(p.st[1], p.now, seg1, n1);
    sf_stack_input(p.st[1], p.now, seg0, n0);
    CHECK_EQ(t.calls, 0u);
    /* in order, but 2000 bytes wait unread before it */
    send_at_off(&p, c, 2000, 500);
    mem_pump(&p);
    CHECK_EQ(t.calls, 0u);
    CHECK_EQ(read_rest(&p, s, &t, buf, sizeof buf), 2500);
    CHECK(!t.bad);
    /* read dry: offered again (taken whole, the first of the turns) */
    send_at_off(&p, c, 2500, 700);
    mem_pump(&p);
    CHECK_EQ(t.calls, 1u);
    CHECK_EQ(t.taken, 700u);
    /* after SHUT_RD nothing is offered */
    CHECK_EQ(sf_shutdown(p.st[1], s, SF_SHUT_RD), 0);
    send_at_off(&p, c, 3200, 100);
    mem_pump(&p);
    CHECK_EQ(t.calls, 1u);
    CHECK(!t.bad);
    free(seg0);
    free(seg1);
    mem_pair_free(&p);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_same_as_copying),
    CHECK_CASE(test_misuse),
    CHECK_CASE(test_commit_zero_frees),
    CHECK_CASE(test_done_opens_window),
    CHECK_CASE(test_direct_delivery),
    CHECK_CASE(test_direct_only_in_order),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
