/* Unit tests of the simulator's pure pieces: the event heap's order and
 * determinism, the PRNG, the integer map, and the link model's
 * impairments (loss rate, MTU drop, FIFO, serialization, duplication,
 * reordering, corruption); and IPv6 and mixed hosts: their addresses,
 * routing by the destination of either IP version, connections over
 * both, and the network's drops of IPv6 datagrams. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "link/sim_int.h"
#include "synfin/wire.h"

static void test_heap_order(void)
{
    struct sim_heap h;
    sim_heap_init(&h);
    struct sim_rng r;
    sim_rng_seed(&r, 42);
    /* 1000 events on 50 distinct times: pops must be sorted by time, and
     * by push order within one time. */
    for (int i = 0; i < 1000; i++) {
        struct sim_ev ev = {.time = sim_rng_below(&r, 50), .host = i};
        CHECK_EQ(sim_heap_push(&h, &ev), 0);
    }
    struct sim_ev prev = {0}, ev;
    int n = 0;
    bool sorted = true;
    while (sim_heap_pop(&h, &ev)) {
        if (n && (ev.time < prev.time ||
                  (ev.time == prev.time && ev.host <= prev.host)))
            sorted = false;
        prev = ev;
        n++;
    }
    CHECK_EQ(n, 1000);
    CHECK(sorted);
    CHECK(sim_heap_peek(&h) == NULL);
    sim_heap_free(&h);
}

static void test_heap_ties_fifo(void)
{
    struct sim_heap h;
    sim_heap_init(&h);
    int order[5] = {3, 1, 4, 0, 2};
    for (int i = 0; i < 5; i++) {
        struct sim_ev ev = {.time = 7, .host = order[i]};
        sim_heap_push(&h, &ev);
    }
    struct sim_ev early = {.time = 3, .host = 99};
    sim_heap_push(&h, &early);
    struct sim_ev ev;
    CHECK(sim_heap_pop(&h, &ev));
    CHECK_EQ(ev.host, 99);
    for (int i = 0; i < 5; i++) {
        CHECK(sim_heap_pop(&h, &ev));
        CHECK_EQ(ev.host, order[i]);
    }
    CHECK(!sim_heap_pop(&h, &ev));
    sim_heap_free(&h);
}

static void test_rng_determinism(void)
{
    struct sim_rng a, b, c;
    sim_rng_seed(&a, 7);
    sim_rng_seed(&b, 7);
    sim_rng_seed(&c, 8);
    int same = 0, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = sim_rng_next(&a), y = sim_rng_next(&b);
        same += x == y;
        differ += x != sim_rng_next(&c);
    }
    CHECK_EQ(same, 100);
    CHECK(differ >= 99);
    /* splitmix64's first output for seed 0 (reference value). */
    uint64_t s = 0;
    CHECK(sim_splitmix64(&s) == 0xE220A8397B1DCDAFull);
    uint64_t below_max = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = sim_rng_below(&a, 10);
        if (v > below_max)
            below_max = v;
    }
    CHECK_EQ(below_max, 9);
    CHECK(!sim_rng_chance(&a, 0.0));
    CHECK(sim_rng_chance(&a, 1.0));
}

static void test_map(void)
{
    struct sim_map m;
    sim_map_init(&m);
    CHECK_EQ(sim_map_get(&m, 5), -1);
    for (int i = 0; i < 5000; i++)
        CHECK_EQ(sim_map_put(&m, 0xC6120000u + (uint64_t)i * 3, i), 0);
    int bad = 0;
    for (int i = 0; i < 5000; i++)
        bad += sim_map_get(&m, 0xC6120000u + (uint64_t)i * 3) != i;
    CHECK_EQ(bad, 0);
    CHECK_EQ(sim_map_get(&m, 0xC6120001u), -1);
    CHECK_EQ(sim_map_put(&m, 0xC6120000u, 77), 0);
    CHECK_EQ(sim_map_get(&m, 0xC6120000u), 77);
    CHECK_EQ(m.n, 5000);
    sim_map_free(&m);
}

static struct sim_link mklink(void)
{
    struct sim_link l = {0};
    l.cfg.delay = 10 * SF_MSEC;
    l.cfg.mtu = 1500;
    return l;
}

static void test_loss_rate(void)
{
    struct sim_link l = mklink();
    l.cfg.loss = 0.1;
    struct sim_rng r;
    sim_rng_seed(&r, 1);
    int lost = 0;
    for (int i = 0; i < 10000; i++) {
        struct sim_fate f;
        sim_link_send(&l, &r, (sf_time_t)i * SF_MSEC, 100, 0, &f);
        lost += f.drop == SF_SIM_DROP_LOSS;
        if (f.drop == SF_SIM_DROP_NONE)
            CHECK_EQ(f.arrive[0], (sf_time_t)i * SF_MSEC + 10 * SF_MSEC);
    }
    /* Binomial(10000, 0.1): sd 30, so 900..1100 is over 3 sd. */
    CHECK(lost > 900 && lost < 1100);
}

static void test_mtu_and_down(void)
{
    struct sim_link l = mklink();
    struct sim_rng r;
    sim_rng_seed(&r, 1);
    struct sim_fate f;
    sim_link_send(&l, &r, 0, 1500, 0, &f);
    CHECK_EQ(f.drop, SF_SIM_DROP_NONE);
    CHECK_EQ(f.ncopies, 1);
    sim_link_send(&l, &r, 0, 1501, 0, &f);
    CHECK_EQ(f.drop, SF_SIM_DROP_MTU);
    CHECK_EQ(f.ncopies, 0);
    l.cfg.down = true;
    sim_link_send(&l, &r, 0, 60, 0, &f);
    CHECK_EQ(f.drop, SF_SIM_DROP_DOWN);
}

static void test_bandwidth_fifo(void)
{
    struct sim_link l = mklink();
    l.cfg.bandwidth = 8000000; /* 1 byte per microsecond */
    l.cfg.queue_bytes = 3000;
    l.cfg.jitter = 5 * SF_MSEC;
    struct sim_rng r;
    sim_rng_seed(&r, 3);
    struct sim_fate f;
    sf_time_t last = 0;
    int queued = 0, qdrop = 0;
    /* Ten 1000-byte datagrams at once: 1 ms each on the wire, so the
     * queue holds three, and jitter never reorders the FIFO. */
    for (int i = 0; i < 10; i++) {
        sim_link_send(&l, &r, 0, 1000, 0, &f);
        if (f.drop == SF_SIM_DROP_QUEUE) {
            qdrop++;
            continue;
        }
        CHECK(f.arrive[0] >= last);
        CHECK(f.arrive[0] >= (sf_time_t)(queued + 1) * SF_MSEC + 10 * SF_MSEC);
        last = f.arrive[0];
        queued++;
    }
    CHECK_EQ(queued, 3);
    CHECK_EQ(qdrop, 7);
}

static void test_dup_reorder_corrupt(void)
{
    struct sim_link l = mklink();
    l.cfg.dup = 1.0;
    l.cfg.corrupt = 1.0;
    struct sim_rng r;
    sim_rng_seed(&r, 9);
    struct sim_fate f;
    sim_link_send(&l, &r, 0, 40, 0, &f);
    CHECK_EQ(f.ncopies, 2);
    CHECK(f.flags[0] & SF_SIM_F_CORRUPTED);
    CHECK(f.flip_bit < 40 * 8);
    CHECK(f.flags[1] & SF_SIM_F_DUP);
    CHECK(!(f.flags[1] & SF_SIM_F_CORRUPTED));
    struct sim_link m = mklink();
    m.cfg.reorder = 1.0;
    sim_link_send(&m, &r, 0, 40, 0, &f);
    CHECK(f.flags[0] & SF_SIM_F_REORDERED);
    CHECK(f.arrive[0] >= 20 * SF_MSEC);
    /* A later in-order datagram overtakes the held one. */
    m.cfg.reorder = 0;
    struct sim_fate g;
    sim_link_send(&m, &r, SF_MSEC, 40, 0, &g);
    CHECK_EQ(g.arrive[0], 11 * SF_MSEC);
    CHECK(g.arrive[0] < f.arrive[0]);
}

/* Same seed, same sequence of sends: identical fates. */
static void test_link_determinism(void)
{
    struct sf_link_cfg c = {.delay = SF_MSEC, .jitter = SF_MSEC,
                                .loss = 0.2, .dup = 0.1, .reorder = 0.1,
                                .corrupt = 0.1, .mtu = 1500};
    sf_time_t sum[2] = {0, 0};
    int drops[2] = {0, 0};
    for (int run = 0; run < 2; run++) {
        struct sim_link l = {.cfg = c};
        struct sim_rng r;
        sim_rng_seed(&r, 1234);
        for (int i = 0; i < 500; i++) {
            struct sim_fate f;
            sim_link_send(&l, &r, (sf_time_t)i * 100 * SF_USEC, 60 + i, 0, &f);
            drops[run] += f.drop != SF_SIM_DROP_NONE;
            for (int k = 0; k < f.ncopies; k++)
                sum[run] += f.arrive[k] * (k + 1) + f.flags[k] + f.flip_bit;
        }
    }
    CHECK(sum[0] == sum[1]);
    CHECK_EQ(drops[0], drops[1]);
    CHECK(drops[0] > 50 && drops[0] < 150);
}

/* ------------------------------------------------- IPv6 and mixed hosts */

static const uint8_t doc7[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7}; /* 2001:db8::7 */

static void ip6_n(uint8_t out[16], uint32_t n) /* fd00::n */
{
    memset(out, 0, 16);
    out[0] = 0xfd;
    for (int i = 0; i < 4; i++)
        out[12 + i] = (uint8_t)(n >> (24 - 8 * i));
}

struct seen6 {
    unsigned v6_sent, v4_sent, v6_to[4], accepted[4];
    int lsd[4];
};

static void trace6(void *ctx, const struct sf_sim_event *ev)
{
    struct seen6 *s = ctx;
    if (ev->kind != SF_SIM_EV_SEND || ev->len < 1)
        return;
    if (ev->dgram[0] >> 4 == 6) {
        s->v6_sent++;
        if (ev->peer >= 0 && ev->peer < 4)
            s->v6_to[ev->peer]++;
    } else {
        s->v4_sent++;
    }
}

static void app6(void *ctx, struct sf_sim *sim, int h)
{
    struct seen6 *s = ctx;
    if (h < 0 || h >= 4 || s->lsd[h] < 0)
        return;
    struct sf_addr peer;
    int sd = sf_accept(sf_sim_host_stack(sim, h), s->lsd[h], &peer);
    if (sd >= 0)
        s->accepted[h]++;
}

static void test_ipv6_hosts(void)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    struct sf_sim *sim;
    CHECK_EQ(sf_sim_create(&cfg, &sim), 0);
    uint8_t a[16], b[16];
    /* IPv4 only, IPv6 only (the first free fd00::N), both with a given
     * IPv6 address */
    int h0 = sf_sim_add_host_fam(sim, SF_SIM_HOST_V4, 0, NULL, NULL);
    int h1 = sf_sim_add_host_fam(sim, SF_SIM_HOST_V6, 0, NULL, NULL);
    int h2 = sf_sim_add_host_fam(sim, SF_SIM_HOST_V4 | SF_SIM_HOST_V6, 0,
                                 doc7, NULL);
    CHECK_EQ(h0, 0);
    CHECK_EQ(h1, 1);
    CHECK_EQ(h2, 2);
    CHECK_EQ(sf_sim_host_addr(sim, h0), SF_SIM_NET_BASE + 1);
    CHECK(!sf_sim_host_addr6(sim, h0, a));
    CHECK_EQ(sf_sim_host_addr(sim, h1), 0);
    CHECK(sf_sim_host_addr6(sim, h1, a));
    ip6_n(b, 1);
    CHECK(memcmp(a, b, 16) == 0);
    CHECK_EQ(sf_sim_host_addr(sim, h2), SF_SIM_NET_BASE + 2);
    CHECK(sf_sim_host_addr6(sim, h2, a) && memcmp(a, doc7, 16) == 0);
    CHECK_EQ(sf_sim_host_by_addr6(sim, b), h1);
    CHECK_EQ(sf_sim_host_by_addr6(sim, doc7), h2);
    CHECK_EQ(sf_sim_host_by_addr(sim, 0), -1);
    struct sf_addr x = sf_sim_host_ip(sim, h2, SF_AF_INET6, 80);
    CHECK(x.family == SF_AF_INET6 && x.port == 80 && !memcmp(x.ip6, doc7, 16));
    CHECK_EQ(sf_sim_host_by_ip(sim, &x), h2);
    x = sf_sim_host_ip(sim, h2, SF_AF_INET, 80);
    CHECK(x.family == SF_AF_INET && x.ip == SF_SIM_NET_BASE + 2);
    CHECK_EQ(sf_sim_host_by_ip(sim, &x), h2);
    ip6_n(a, 2);
    CHECK_EQ(sf_sim_host_by_addr6(sim, a), -1);
    /* the stacks got the addresses */
    CHECK(!memcmp(sf_stack_config(sf_sim_host_stack(sim, h1))->addr6, b, 16));
    CHECK_EQ(sf_stack_config(sf_sim_host_stack(sim, h1))->addr, 0);
    /* what a host may not have */
    static const uint8_t mc[16] = {0xff, 0x02, [15] = 1}, lo[16] = {[15] = 1},
                         mapped[16] = {[10] = 0xff, [11] = 0xff, 198, 18, 0, 9};
    CHECK_EQ(sf_sim_add_host_fam(sim, 0, 0, NULL, NULL), SF_EINVAL);
    CHECK_EQ(sf_sim_add_host_fam(sim, SF_SIM_HOST_V6, 0, doc7, NULL), SF_EADDRINUSE);
    CHECK_EQ(sf_sim_add_host_fam(sim, SF_SIM_HOST_V6, 0, mc, NULL), SF_EINVAL);
    CHECK_EQ(sf_sim_add_host_fam(sim, SF_SIM_HOST_V6, 0, lo, NULL), SF_EINVAL);
    CHECK_EQ(sf_sim_add_host_fam(sim, SF_SIM_HOST_V6, 0, mapped, NULL), SF_EINVAL);
    CHECK_EQ(sf_sim_add_host_fam(sim, SF_SIM_HOST_V4, 0, doc7, NULL), SF_EINVAL);
    CHECK_EQ(sf_sim_add_host_fam(sim, SF_SIM_HOST_V6, SF_SIM_NET_BASE + 9,
                                 NULL, NULL), SF_EINVAL);
    CHECK_EQ(sf_sim_nhosts(sim), 3);
    sf_sim_free(sim);

    /* cfg.ipv6: sf_sim_add_host makes dual-stack hosts */
    cfg.ipv6 = true;
    CHECK_EQ(sf_sim_create(&cfg, &sim), 0);
    CHECK_EQ(sf_sim_add_host(sim, 0, NULL), 0);
    CHECK_EQ(sf_sim_add_host(sim, 0, NULL), 1);
    CHECK_EQ(sf_sim_host_addr(sim, 1), SF_SIM_NET_BASE + 2);
    CHECK(sf_sim_host_addr6(sim, 1, a));
    ip6_n(b, 2);
    CHECK(!memcmp(a, b, 16));
    sf_sim_free(sim);
}

/* Connections over IPv6 (to an IPv6-only host) and IPv4 (to an
 * IPv4-only host) from one dual-stack host, routed by destination. */
static void test_ipv6_mixed_conns(void)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    struct sf_sim *sim;
    CHECK_EQ(sf_sim_create(&cfg, &sim), 0);
    int h4 = sf_sim_add_host_fam(sim, SF_SIM_HOST_V4, 0, NULL, NULL);
    int h6 = sf_sim_add_host_fam(sim, SF_SIM_HOST_V6, 0, NULL, NULL);
    int hd = sf_sim_add_host_fam(sim, SF_SIM_HOST_V4 | SF_SIM_HOST_V6, 0,
                                 NULL, NULL);
    struct seen6 s = {.lsd = {-1, -1, -1, -1}};
    sf_sim_set_trace(sim, trace6, &s);
    sf_sim_set_app(sim, app6, &s);
    struct sf_addr any4 = {.port = 80}, any6 = {.port = 80, .family = SF_AF_INET6};
    struct sf_stack *st4 = sf_sim_host_stack(sim, h4), *st6 = sf_sim_host_stack(sim, h6),
                    *std = sf_sim_host_stack(sim, hd);
    s.lsd[h4] = sf_socket(st4);
    s.lsd[h6] = sf_socket(st6);
    CHECK_EQ(sf_bind(st4, s.lsd[h4], &any4), 0);
    CHECK_EQ(sf_listen(st4, s.lsd[h4], 4), 0);
    CHECK_EQ(sf_bind(st6, s.lsd[h6], &any6), 0);
    CHECK_EQ(sf_listen(st6, s.lsd[h6], 4), 0);
    sf_sim_touch(sim, h4);
    sf_sim_touch(sim, h6);
    int c6 = sf_socket(std), c4 = sf_socket(std);
    struct sf_addr to6 = sf_sim_host_ip(sim, h6, SF_AF_INET6, 80);
    struct sf_addr to4 = sf_sim_host_ip(sim, h4, SF_AF_INET, 80);
    CHECK_EQ(sf_connect(std, c6, &to6), SF_EINPROGRESS);
    CHECK_EQ(sf_connect(std, c4, &to4), SF_EINPROGRESS);
    sf_sim_touch(sim, hd);
    sf_sim_run_until(sim, SF_SEC);
    CHECK_EQ(s.accepted[h6], 1);
    CHECK_EQ(s.accepted[h4], 1);
    /* connected: connect reports it (0 once, then EISCONN) */
    int r6 = sf_connect(std, c6, &to6), r4 = sf_connect(std, c4, &to4);
    CHECK(r6 == 0 || r6 == SF_EISCONN);
    CHECK(r4 == 0 || r4 == SF_EISCONN);
    struct sf_addr name;
    CHECK_EQ(sf_getsockname(std, c6, &name), 0);
    CHECK(name.family == SF_AF_INET6 && sf_sim_host_by_ip(sim, &name) == hd);
    /* handshakes: 2 datagrams each way and family; the IPv6 ones all
     * between hd and h6 */
    CHECK(s.v6_sent >= 3 && s.v4_sent >= 3);
    CHECK_EQ(s.v6_to[h4], 0);
    CHECK(s.v6_to[h6] >= 2 && s.v6_to[hd] >= 1);
    CHECK_EQ(sf_sim_stats(sim)->drops[SF_SIM_DROP_NO_ROUTE], 0);
    CHECK_EQ(sf_sim_stats(sim)->drops[SF_SIM_DROP_SHORT], 0);

    /* The network's own drops of IPv6 datagrams: shorter than the 40-byte
     * header, to an address no host has, over the link MTU (RFC 8200 5:
     * the link decides, 40 bytes of header included) */
    uint8_t d[1400] = {0x60};
    struct sf_sim_stats before = *sf_sim_stats(sim);
    CHECK_EQ(sf_sim_inject(sim, hd, d, 39, 0), 0);
    CHECK_EQ(sf_sim_stats(sim)->drops[SF_SIM_DROP_SHORT],
             before.drops[SF_SIM_DROP_SHORT] + 1);
    memcpy(d + 8, doc7, 16);
    memcpy(d + 24, doc7, 16); /* 2001:db8::7: nobody's */
    CHECK_EQ(sf_sim_inject(sim, hd, d, 60, 0), 0);
    CHECK_EQ(sf_sim_stats(sim)->drops[SF_SIM_DROP_NO_ROUTE],
             before.drops[SF_SIM_DROP_NO_ROUTE] + 1);
    struct sf_link_cfg l;
    CHECK_EQ(sf_sim_link_get(sim, hd, h6, &l), 0);
    l.mtu = 1280;
    CHECK_EQ(sf_sim_link_set(sim, hd, h6, &l), 0);
    sf_sim_host_addr6(sim, h6, d + 24);
    CHECK_EQ(sf_sim_inject(sim, hd, d, 1281, 0), 0);
    CHECK_EQ(sf_sim_stats(sim)->drops[SF_SIM_DROP_MTU],
             before.drops[SF_SIM_DROP_MTU] + 1);
    uint64_t delivered = sf_sim_stats(sim)->delivered;
    CHECK_EQ(sf_sim_inject(sim, hd, d, 1280, 0), 0);
    CHECK_EQ(sf_sim_stats(sim)->drops[SF_SIM_DROP_MTU],
             before.drops[SF_SIM_DROP_MTU] + 1);
    sf_sim_run_until(sim, 2 * SF_SEC);
    CHECK_EQ(sf_sim_stats(sim)->delivered, delivered + 1); /* (to h6) */
    sf_sim_free(sim);
}

/* A link marks CE in an IPv6 datagram's Traffic Class (RFC 3168 5,
 * RFC 8200 7) as it does in IPv4's TOS. */
static void test_ipv6_ce(void)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.link.bandwidth = 1000000;
    cfg.link.ce_threshold = 1;
    struct sf_sim *sim;
    CHECK_EQ(sf_sim_create(&cfg, &sim), 0);
    int a = sf_sim_add_host_fam(sim, SF_SIM_HOST_V6, 0, NULL, NULL);
    int b = sf_sim_add_host_fam(sim, SF_SIM_HOST_V6, 0, NULL, NULL);
    uint8_t d[100] = {0x60, 0x10}; /* ECT(0) in the Traffic Class */
    sf_sim_host_addr6(sim, a, d + 8);
    sf_sim_host_addr6(sim, b, d + 24);
    CHECK_EQ(sf_sim_inject(sim, a, d, sizeof d, 0), 0);
    CHECK_EQ(sf_sim_inject(sim, a, d, sizeof d, 0), 0);
    CHECK_EQ(sf_sim_stats(sim)->ce_marked, 1); /* the second, queued */
    sf_sim_free(sim);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_heap_order),
    CHECK_CASE(test_heap_ties_fifo),
    CHECK_CASE(test_rng_determinism),
    CHECK_CASE(test_map),
    CHECK_CASE(test_loss_rate),
    CHECK_CASE(test_mtu_and_down),
    CHECK_CASE(test_bandwidth_fifo),
    CHECK_CASE(test_dup_reorder_corrupt),
    CHECK_CASE(test_link_determinism),
    CHECK_CASE(test_ipv6_hosts),
    CHECK_CASE(test_ipv6_mixed_conns),
    CHECK_CASE(test_ipv6_ce),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
