/* synfin relay's forwarding core (src/link/relay.c) without devices: the
 * timer heap hands datagrams out in due order and never early, the
 * bottleneck's queue and the memory limit drop, CE marking touches only
 * ECT datagrams and keeps the IPv4 header checksum right, and the same
 * seed gives the same fates. */
#include <string.h>

#include "check.h"
#include "synfin/relay.h"

/* A 20-byte IPv4 header (plus pad bytes of payload) with TOS tos, a
 * correct checksum, and id as its identification (to tell them apart). */
static size_t mk_ip(uint8_t *d, size_t total, uint8_t tos, uint16_t id)
{
    memset(d, 0, total);
    d[0] = 0x45;
    d[1] = tos;
    d[2] = (uint8_t)(total >> 8);
    d[3] = (uint8_t)total;
    d[4] = (uint8_t)(id >> 8);
    d[5] = (uint8_t)id;
    d[8] = 64;
    d[9] = 6;
    d[12] = 198, d[13] = 18, d[14] = 20, d[15] = 1;
    d[16] = 198, d[17] = 18, d[18] = 20, d[19] = 2;
    uint32_t s = 0;
    for (int i = 0; i < 20; i += 2)
        s += (uint32_t)d[i] << 8 | d[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    d[10] = (uint8_t)(~s >> 8);
    d[11] = (uint8_t)~s;
    return total;
}

static bool csum_ok(const uint8_t *d)
{
    uint32_t s = 0;
    for (int i = 0; i < 20; i += 2)
        s += (uint32_t)d[i] << 8 | d[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return s == 0xffff;
}

static uint16_t id_of(const uint8_t *d)
{
    return (uint16_t)(d[4] << 8 | d[5]);
}

static void test_delay_order(void)
{
    struct sf_relay_core *c = sf_relay_core_new(1, 0);
    CHECK(c != NULL);
    sf_relay_core_dir(c, 0)->delay = 10 * SF_MSEC;
    sf_relay_core_dir(c, 1)->delay = 3 * SF_MSEC;
    uint8_t d[100], out[200];
    int dir = -1;
    sf_relay_core_input(c, 0, 0, d, mk_ip(d, 100, 0, 1));
    sf_relay_core_input(c, 1, SF_MSEC, d, mk_ip(d, 100, 0, 2));
    sf_relay_core_input(c, 0, 2 * SF_MSEC, d, mk_ip(d, 60, 0, 3));
    CHECK_EQ(sf_relay_core_next(c), 4 * SF_MSEC);
    /* Nothing before its time. */
    CHECK_EQ(sf_relay_core_pop(c, 4 * SF_MSEC - 1, &dir, out, sizeof out), 0u);
    CHECK_EQ(sf_relay_core_pop(c, 4 * SF_MSEC, &dir, out, sizeof out), 100u);
    CHECK_EQ(dir, 1);
    CHECK_EQ(id_of(out), 2);
    CHECK_EQ(sf_relay_core_next(c), 10 * SF_MSEC);
    CHECK_EQ(sf_relay_core_pop(c, 100 * SF_MSEC, &dir, out, sizeof out), 100u);
    CHECK_EQ(id_of(out), 1);
    CHECK_EQ(dir, 0);
    CHECK_EQ(sf_relay_core_pop(c, 100 * SF_MSEC, &dir, out, sizeof out), 60u);
    CHECK_EQ(id_of(out), 3);
    CHECK_EQ(sf_relay_core_pop(c, 100 * SF_MSEC, &dir, out, sizeof out), 0u);
    CHECK_EQ(sf_relay_core_next(c), SF_TIME_NEVER);
    const struct sf_relay_dir_stats *s = sf_relay_core_stats(c, 0);
    CHECK_EQ(s->rx, 2u);
    CHECK_EQ(s->tx, 2u);
    CHECK_EQ(s->tx_bytes, 160u);
    CHECK_EQ(s->held_max, 2u);
    /* A runt is counted, not held. */
    sf_relay_core_input(c, 0, 0, d, 10);
    CHECK_EQ(s->runts, 1u);
    CHECK_EQ(sf_relay_core_next(c), SF_TIME_NEVER);
    sf_relay_core_free(c);
}

/* 8 Mbit/s: 1000 bytes take 1 ms. A queue of 3000 bytes holds three
 * (the one being sent counts until it is out); the fourth and fifth are
 * dropped. */
static void test_bandwidth_queue(void)
{
    struct sf_relay_core *c = sf_relay_core_new(1, 0);
    struct sf_link_cfg *dc = sf_relay_core_dir(c, 0);
    dc->bandwidth = 8000000;
    dc->queue_bytes = 3000;
    uint8_t d[1000], out[1000];
    for (int i = 0; i < 5; i++)
        sf_relay_core_input(c, 0, 0, d, mk_ip(d, 1000, 0, (uint16_t)i));
    const struct sf_relay_dir_stats *s = sf_relay_core_stats(c, 0);
    CHECK_EQ(s->queue_drops, 2u);
    int dir;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(sf_relay_core_next(c), (sf_time_t)(i + 1) * SF_MSEC);
        CHECK_EQ(sf_relay_core_pop(c, SF_SEC, &dir, out, sizeof out), 1000u);
        CHECK_EQ(id_of(out), i);
    }
    CHECK_EQ(sf_relay_core_next(c), SF_TIME_NEVER);
    sf_relay_core_free(c);
}

/* CE above the threshold, only for ECT, with the checksum fixed. */
static void test_ce_threshold(void)
{
    struct sf_relay_core *c = sf_relay_core_new(1, 0);
    struct sf_link_cfg *dc = sf_relay_core_dir(c, 0);
    dc->bandwidth = 8000000;
    dc->ce_threshold = 1500;
    uint8_t d[1000], out[1000];
    /* Backlogs found: 0, 1000, 2000 (marked), 3000 (Not-ECT: unmarked),
     * 4000 (ECT(1): marked), 5000 (already CE: left). */
    const uint8_t tos[6] = {0x02, 0x02, 0x02, 0x00, 0x01, 0x03};
    for (int i = 0; i < 6; i++)
        sf_relay_core_input(c, 0, 0, d, mk_ip(d, 1000, tos[i], (uint16_t)i));
    const uint8_t want[6] = {0x02, 0x02, 0x03, 0x00, 0x03, 0x03};
    int dir;
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(sf_relay_core_pop(c, SF_SEC, &dir, out, sizeof out), 1000u);
        CHECK_EQ(id_of(out), i);
        CHECK_EQ(out[1], want[i]);
        CHECK(csum_ok(out));
    }
    CHECK_EQ(sf_relay_core_stats(c, 0)->ce_marked, 2u);
    /* IPv6: ECN in bits 4-5 of byte 1. */
    uint8_t v6[40] = {0x60, 0x20};
    CHECK(sf_relay_mark_ce(v6, sizeof v6));
    CHECK_EQ(v6[1], 0x30);
    CHECK(!sf_relay_mark_ce(v6, sizeof v6));
    sf_relay_core_free(c);
}

static void test_memory_limit(void)
{
    struct sf_relay_core *c = sf_relay_core_new(1, 65536);
    sf_relay_core_dir(c, 0)->delay = SF_SEC;
    uint8_t d[1500];
    for (int i = 0; i < 100; i++)
        sf_relay_core_input(c, 0, 0, d, mk_ip(d, 1500, 0, (uint16_t)i));
    const struct sf_relay_dir_stats *s = sf_relay_core_stats(c, 0);
    /* 2 * 1500 must fit beside what is held: 42 of 43 possible. */
    CHECK_EQ(s->held_max, 42u);
    CHECK_EQ(s->held_drops, 58u);
    sf_relay_core_free(c);
}

/* Same seed, same fates; another seed, others. */
static uint64_t run_seed(uint64_t seed, uint64_t *sum)
{
    struct sf_relay_core *c = sf_relay_core_new(seed, 0);
    struct sf_link_cfg *dc = sf_relay_core_dir(c, 0);
    dc->delay = 5 * SF_MSEC;
    dc->jitter = SF_MSEC;
    dc->loss = 0.1;
    dc->dup = 0.1;
    dc->reorder = 0.1;
    uint8_t d[200], out[200];
    for (int i = 0; i < 1000; i++)
        sf_relay_core_input(c, 0, (sf_time_t)i * 100000, d,
                            mk_ip(d, 200, 0, (uint16_t)i));
    int dir;
    *sum = 0;
    uint64_t n = 0;
    while (sf_relay_core_pop(c, SF_TIME_NEVER - 1, &dir, out, sizeof out)) {
        *sum = *sum * 31 + id_of(out);
        n++;
    }
    const struct sf_relay_dir_stats *s = sf_relay_core_stats(c, 0);
    CHECK(s->lost > 50 && s->dup > 50 && s->reordered > 50);
    CHECK_EQ(n, s->tx);
    sf_relay_core_free(c);
    return n;
}

static void test_seeded(void)
{
    uint64_t a, b, x;
    uint64_t na = run_seed(7, &a), nb = run_seed(7, &b);
    run_seed(8, &x);
    CHECK_EQ(na, nb);
    CHECK_EQ(a, b);
    CHECK(a != x);
}

/* A direction is a struct sf_link_cfg like a simulated link: its MTU and
 * down switch drop there too (counted as lost), the other direction
 * untouched. */
static void test_link_mtu_down(void)
{
    struct sf_relay_core *c = sf_relay_core_new(1, 0);
    CHECK(c != NULL);
    struct sf_link_cfg *a2b = sf_relay_core_dir(c, 0);
    a2b->mtu = 576;
    uint8_t d[1500], out[1600];
    int dir = -1;
    sf_relay_core_input(c, 0, 0, d, mk_ip(d, 1000, 0, 1)); /* > MTU */
    sf_relay_core_input(c, 0, 0, d, mk_ip(d, 500, 0, 2));
    CHECK_EQ(sf_relay_core_pop(c, 0, &dir, out, sizeof out), 500);
    CHECK_EQ(id_of(out), 2);
    CHECK_EQ(sf_relay_core_pop(c, 0, &dir, out, sizeof out), 0);
    a2b->down = true;
    sf_relay_core_input(c, 0, 0, d, mk_ip(d, 100, 0, 3));
    sf_relay_core_input(c, 1, 0, d, mk_ip(d, 100, 0, 4));
    CHECK_EQ(sf_relay_core_pop(c, 0, &dir, out, sizeof out), 100);
    CHECK_EQ(dir, 1);
    CHECK_EQ(id_of(out), 4);
    CHECK_EQ(sf_relay_core_pop(c, 0, &dir, out, sizeof out), 0);
    CHECK_EQ(sf_relay_core_stats(c, 0)->lost, 2);
    CHECK_EQ(sf_relay_core_stats(c, 1)->lost, 0);
    sf_relay_core_free(c);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_delay_order),
    CHECK_CASE(test_bandwidth_queue),
    CHECK_CASE(test_ce_threshold),
    CHECK_CASE(test_memory_limit),
    CHECK_CASE(test_seeded),
    CHECK_CASE(test_link_mtu_down),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
