/* SF_IN_BATCH (sf_stack_input_flags): a driver that hands in a batch of
 * datagrams at once and then calls sf_stack_advance lets the receiver
 * hold the ACK that RFC 5681 4.2's "at least every second full-sized
 * segment" calls for until that call, so that one ACK covers the batch,
 * as a receive offload that merged the batch would send. Checked here
 * between two stacks, the sender's segments held and handed to the
 * receiver in one batch: with the flag, no ACK during the batch and one
 * ACK of all of it at the advance (at the same instant: no later); without
 * it, one every second segment; never more than half the window owed
 * (the sender keeps room); out-of-order data and the ACK of a FIN not
 * held. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define A_IP 0xC6120002u /* 198.18.0.2: the sender */
#define B_IP 0xC6120001u
#define PORT 80
#define QMAX 64
#define DMAX 2048

struct q {
    uint8_t d[QMAX][DMAX];
    size_t len[QMAX];
    unsigned n;
};

struct pair {
    struct sf_stack *a, *b;
    struct q to_b, to_a;
    int cs, ss;
    sf_time_t now;
};

static void put(struct q *q, const uint8_t *d, size_t n)
{
    CHECK(q->n < QMAX && n <= DMAX);
    if (q->n >= QMAX || n > DMAX)
        return;
    memcpy(q->d[q->n], d, n);
    q->len[q->n++] = n;
}

static void a_out(void *ctx, const uint8_t *d, size_t n)
{
    put(&((struct pair *)ctx)->to_b, d, n);
}

static void b_out(void *ctx, const uint8_t *d, size_t n)
{
    put(&((struct pair *)ctx)->to_a, d, n);
}

static struct sf_stack *stack(struct pair *p, bool is_a)
{
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = is_a ? A_IP : B_IP;
    cfg.mss = 1000;
    cfg.output = is_a ? a_out : b_out;
    cfg.output_ctx = p;
    for (int k = 0; k < 16; k++)
        cfg.seed[k] = (uint8_t)(k * 5 + (is_a ? 1 : 2));
    struct sf_stack *st = NULL;
    CHECK_EQ(sf_stack_create(&cfg, 0, &st), 0);
    return st;
}

/* Delivers everything queued both ways until quiet, advancing both. */
static void pump(struct pair *p)
{
    for (int round = 0; round < 50; round++) {
        sf_stack_advance(p->a, p->now);
        sf_stack_advance(p->b, p->now);
        if (!p->to_a.n && !p->to_b.n)
            return;
        struct q qa = p->to_a, qb = p->to_b;
        p->to_a.n = p->to_b.n = 0;
        for (unsigned i = 0; i < qb.n; i++)
            sf_stack_input(p->b, p->now, qb.d[i], qb.len[i]);
        for (unsigned i = 0; i < qa.n; i++)
            sf_stack_input(p->a, p->now, qa.d[i], qa.len[i]);
    }
}

/* A connection a -> b, established and quiet; b offers rcvbuf bytes. */
static void open_pair(struct pair *p, int rcvbuf)
{
    memset(p, 0, sizeof *p);
    p->now = SF_SEC;
    p->a = stack(p, true);
    p->b = stack(p, false);
    int ls = sf_socket(p->b);
    struct sf_addr any = sf_addr4(B_IP, PORT);
    CHECK_EQ(sf_setsockopt(p->b, ls, SF_SOL_SOCKET, SF_SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    CHECK_EQ(sf_bind(p->b, ls, &any), 0);
    CHECK_EQ(sf_listen(p->b, ls, 4), 0);
    p->cs = sf_socket(p->a);
    int one = 1;
    CHECK_EQ(sf_setsockopt(p->a, p->cs, SF_IPPROTO_TCP, SF_TCP_NODELAY, &one, sizeof one), 0);
    struct sf_addr dst = sf_addr4(B_IP, PORT);
    long rc = sf_connect(p->a, p->cs, &dst);
    CHECK(rc == 0 || rc == SF_EINPROGRESS);
    pump(p);
    p->ss = sf_accept(p->b, ls, NULL);
    CHECK(p->ss >= 0);
    /* a first exchange read at once: the window b offers grows past its
     * first few segments (the ACKs carry it) */
    static uint8_t buf[65536];
    memset(buf, 'w', sizeof buf);
    sf_send(p->a, p->cs, buf, 64000, 0);
    struct sf_tcp_info ia = {0};
    for (int k = 0; k < 400; k++) {
        pump(p);
        while (sf_recv(p->b, p->ss, buf, sizeof buf, 0) > 0)
            ;
        p->now += SF_MSEC;
        CHECK_EQ(sf_tcp_info(p->a, p->cs, &ia), 0);
        if (ia.sndq == 0)
            break;
    }
    CHECK_EQ(ia.sndq, 0);
    p->now += 500 * SF_MSEC; /* every timer quiet */
    pump(p);
}

static void close_pair(struct pair *p)
{
    sf_stack_free(p->a);
    sf_stack_free(p->b);
}

/* The ACK number and payload length of datagram d. */
static uint32_t ack_of(const uint8_t *d, size_t n, size_t *pay, uint8_t *flags)
{
    struct sf_ipv4 ip;
    struct sf_tcp t;
    CHECK(sf_ipv4_parse(d, n, &ip) == SF_DROP_NONE);
    CHECK(sf_tcp_parse(&ip, &t) == SF_DROP_NONE);
    *pay = t.len;
    *flags = t.flags;
    return t.ack;
}

/* a sends len bytes; its segments are held in to_b. Returns how many. */
static unsigned send_held(struct pair *p, size_t len)
{
    static uint8_t buf[65536];
    memset(buf, 'x', len);
    CHECK_EQ(sf_send(p->a, p->cs, buf, len, 0), (long)len);
    return p->to_b.n;
}

/* Hands b the held segments (skipping index skip, -1 none) with flags;
 * returns the ACKs b sent during the batch. */
static unsigned batch(struct pair *p, unsigned flags, int skip)
{
    struct q qb = p->to_b;
    p->to_b.n = 0;
    p->to_a.n = 0;
    for (unsigned i = 0; i < qb.n; i++) {
        if ((int)i == skip)
            continue;
        p->now += 1000; /* 1 us apart, as a read batch's */
        sf_stack_input_flags(p->b, p->now, qb.d[i], qb.len[i], flags);
    }
    return p->to_a.n;
}

/* The ACKs b sent since the last batch(), the highest acknowledged. */
static unsigned acks(struct pair *p, uint32_t *hi)
{
    unsigned k = 0;
    for (unsigned i = 0; i < p->to_a.n; i++) {
        size_t pay;
        uint8_t fl;
        uint32_t a = ack_of(p->to_a.d[i], p->to_a.len[i], &pay, &fl);
        if (pay == 0 && (fl & SF_ACK)) {
            k++;
            if (k == 1 || (int32_t)(a - *hi) > 0)
                *hi = a;
        }
    }
    return k;
}

static void test_one_ack_a_batch(void)
{
    struct pair p;
    open_pair(&p, 1 << 20);
    struct sf_tcp_info ia;
    unsigned n = send_held(&p, 10 * 988);
    CHECK(n >= 8);
    CHECK_EQ(batch(&p, SF_IN_BATCH, -1), 0); /* held through the batch */
    uint64_t held = sf_stack_counters(p.b)->c[SF_CTR_ACK_BATCHED];
    CHECK(held >= 1);
    sf_stack_advance(p.b, p.now); /* the same instant: due now */
    uint32_t hi = 0;
    CHECK_EQ(acks(&p, &hi), 1);
    CHECK_EQ(sf_tcp_info(p.a, p.cs, &ia), 0);
    CHECK_EQ(hi, ia.snd_nxt); /* that one ACK acknowledges all of it */
    pump(&p);
    CHECK_EQ(sf_tcp_info(p.a, p.cs, &ia), 0);
    CHECK_EQ(ia.snd_una, ia.snd_nxt);
    fprintf(stderr, "%u segments in one batch: 1 ACK at the advance (%llu held)\n",
            n, (unsigned long long)held);
    close_pair(&p);
}

static void test_without_flag(void)
{
    struct pair p;
    open_pair(&p, 1 << 20);
    unsigned n = send_held(&p, 10 * 988);
    unsigned during = batch(&p, 0, -1);
    uint32_t hi = 0;
    CHECK_EQ(acks(&p, &hi), during);
    CHECK(during >= n / 2); /* every second full-sized segment */
    CHECK_EQ(sf_stack_counters(p.b)->c[SF_CTR_ACK_BATCHED], 0);
    fprintf(stderr, "%u segments without the flag: %u ACKs during the batch\n",
            n, during);
    close_pair(&p);
}

/* A window of 6000 bytes: at most half of it owed before an ACK goes. */
static void test_half_window(void)
{
    struct pair p;
    open_pair(&p, 6000);
    unsigned n = send_held(&p, 6 * 988);
    unsigned during = batch(&p, SF_IN_BATCH, -1);
    fprintf(stderr, "%u segments into a 6000-byte window: %u ACKs during the batch\n",
            n, during);
    CHECK(n >= 5);
    CHECK(during >= 1);
    close_pair(&p);
}

/* A segment missing: what follows it is out of order, acknowledged at
 * once (the duplicate ACKs that tell the sender), not held. */
static void test_out_of_order_not_held(void)
{
    struct pair p;
    open_pair(&p, 1 << 20);
    unsigned n = send_held(&p, 10 * 988);
    unsigned during = batch(&p, SF_IN_BATCH, 1);
    CHECK(during >= n - 2);
    close_pair(&p);
}

/* The FIN's ACK is not held. */
static void test_fin_not_held(void)
{
    struct pair p;
    open_pair(&p, 1 << 20);
    CHECK_EQ(sf_shutdown(p.a, p.cs, SF_SHUT_WR), 0);
    CHECK(p.to_b.n >= 1);
    CHECK(batch(&p, SF_IN_BATCH, -1) >= 1);
    close_pair(&p);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_one_ack_a_batch),
    CHECK_CASE(test_without_flag),
    CHECK_CASE(test_half_window),
    CHECK_CASE(test_out_of_order_not_held),
    CHECK_CASE(test_fin_not_held),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
