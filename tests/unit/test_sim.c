/* Unit tests of the simulator's pure pieces: the event heap's order and
 * determinism, the PRNG, the integer map, and the link model's
 * impairments (loss rate, MTU drop, FIFO, serialization, duplication,
 * reordering, corruption). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "link/sim_int.h"

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
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
