/* The link kit's impairments (src/link/impair.c) used directly, as the TUN
 * driver uses them: the draws nothing-when-off rule, the order of the
 * draws (which every recorded sim run depends on), and the fates the TUN
 * driver's settings give (delay 0 with reordering, duplicates, loss 1).
 * The simulator's view of the same code is tested in test_sim.c. */
#include <string.h>

#include "check.h"
#include "link/impair.h"
#include "synfin/wire.h"

static bool same_state(const struct impair_rng *a, const struct impair_rng *b)
{
    return memcmp(a->s, b->s, sizeof a->s) == 0;
}

static void test_off_draws_nothing(void)
{
    struct sf_link_cfg c = {.delay = 5 * SF_MSEC, .mtu = 1500};
    struct impair_queue q = {0};
    struct impair_rng r, before;
    impair_rng_seed(&r, 17);
    before = r;
    struct impair_fate f;
    for (int i = 0; i < 100; i++) {
        impair_decide(&c, &q, &r, (sf_time_t)i * SF_MSEC, 100, 0, &f);
        CHECK_EQ(f.drop, IMPAIR_PASS);
        CHECK_EQ(f.ncopies, 1);
        CHECK_EQ(f.arrive[0], (sf_time_t)i * SF_MSEC + 5 * SF_MSEC);
    }
    CHECK(same_state(&r, &before));
    /* Certain loss and certain duplication draw nothing either. */
    c.loss = 1.0;
    impair_decide(&c, &q, &r, 0, 100, 0, &f);
    CHECK_EQ(f.drop, IMPAIR_LOSS);
    c.loss = 0;
    c.dup = 1.0;
    impair_decide(&c, &q, &r, 0, 100, 0, &f);
    CHECK_EQ(f.ncopies, 2);
    CHECK(same_state(&r, &before));
    /* Drops before the wire draw nothing. */
    c.down = true;
    c.loss = 0.5;
    impair_decide(&c, &q, &r, 0, 100, 0, &f);
    CHECK_EQ(f.drop, IMPAIR_DOWN);
    c.down = false;
    impair_decide(&c, &q, &r, 0, 1501, 0, &f);
    CHECK_EQ(f.drop, IMPAIR_MTU);
    CHECK(same_state(&r, &before));
}

/* The fates replayed from a second PRNG with the same seed, drawing in the
 * documented order: loss, jitter, corruption (and its bit), duplication,
 * reordering (and its hold). */
static void test_draw_order(void)
{
    struct sf_link_cfg c = {.delay = 3 * SF_MSEC, .jitter = 2 * SF_MSEC,
                           .loss = 0.3, .corrupt = 0.3, .dup = 0.3,
                           .reorder = 0.3};
    struct impair_queue q = {0};
    struct impair_rng r, m;
    impair_rng_seed(&r, 99);
    impair_rng_seed(&m, 99);
    unsigned lost = 0, corrupted = 0, dups = 0, reordered = 0;
    for (int i = 0; i < 2000; i++) {
        sf_time_t now = (sf_time_t)i * 100 * SF_USEC;
        size_t len = 40 + (size_t)i % 1400;
        struct impair_fate f;
        impair_decide(&c, &q, &r, now, len, 0, &f);
        bool loss = impair_rng_chance(&m, c.loss);
        CHECK_EQ(f.drop, loss ? IMPAIR_LOSS : IMPAIR_PASS);
        if (loss) {
            lost++;
            continue;
        }
        sf_time_t t = now + c.delay + impair_rng_below(&m, c.jitter + 1);
        bool corrupt = impair_rng_chance(&m, c.corrupt);
        size_t bit = corrupt ? (size_t)impair_rng_below(&m, len * 8) : 0;
        bool dup = impair_rng_chance(&m, c.dup);
        bool reorder = impair_rng_chance(&m, c.reorder);
        if (reorder)
            t += c.delay + impair_rng_below(&m, c.delay + 1);
        CHECK_EQ((f.flags[0] & IMPAIR_F_CORRUPTED) != 0, corrupt);
        CHECK_EQ(f.flip_bit, bit);
        CHECK_EQ(f.ncopies, dup ? 2 : 1);
        CHECK_EQ((f.flags[0] & IMPAIR_F_REORDERED) != 0, reorder);
        if (reorder)
            CHECK_EQ(f.arrive[0], t);
        else
            CHECK(f.arrive[0] >= t); /* the FIFO may push it later */
        corrupted += corrupt;
        dups += dup;
        reordered += reorder;
    }
    CHECK(same_state(&r, &m));
    /* Each near 30% of what it applies to. */
    CHECK(lost > 500 && lost < 700);
    CHECK(corrupted > 330 && corrupted < 510);
    CHECK(dups > 330 && dups < 510);
    CHECK(reordered > 330 && reordered < 510);
}

/* The TUN driver's settings: no delay, reordering on. A reordered
 * datagram is held 1 to 2 ms; the next in-order one arrives at once and
 * so overtakes it; a duplicate arrives with its original. */
static void test_tun_settings(void)
{
    struct sf_link_cfg c = {.reorder = 1.0};
    struct impair_queue q = {0};
    struct impair_rng r;
    impair_rng_seed(&r, 5);
    struct impair_fate f;
    sf_time_t now = 1000 * SF_SEC;
    impair_decide(&c, &q, &r, now, 60, 0, &f);
    CHECK(f.flags[0] & IMPAIR_F_REORDERED);
    CHECK(f.arrive[0] >= now + SF_MSEC && f.arrive[0] <= now + 2 * SF_MSEC);
    c.reorder = 0;
    c.dup = 1.0;
    struct impair_fate g;
    impair_decide(&c, &q, &r, now + 1, 60, 0, &g);
    CHECK_EQ(g.ncopies, 2);
    CHECK_EQ(g.arrive[0], now + 1);
    CHECK_EQ(g.arrive[1], now + 1);
    CHECK_EQ(g.flags[0], 0);
    CHECK_EQ(g.flags[1], IMPAIR_F_DUP);
    CHECK(g.arrive[0] < f.arrive[0]);
    /* Jitter alone keeps the order (a FIFO wire). */
    struct sf_link_cfg j = {.delay = SF_MSEC, .jitter = 10 * SF_MSEC};
    struct impair_queue jq = {0};
    sf_time_t last = 0;
    for (int i = 0; i < 1000; i++) {
        impair_decide(&j, &jq, &r, now + (sf_time_t)i * SF_USEC, 60, 0, &f);
        CHECK(f.arrive[0] >= last);
        last = f.arrive[0];
    }
}

static void test_flip(void)
{
    uint8_t d[4] = {0};
    impair_flip(d, 0);
    impair_flip(d, 9);
    impair_flip(d, 31);
    CHECK_EQ(d[0], 0x01);
    CHECK_EQ(d[1], 0x02);
    CHECK_EQ(d[2], 0x00);
    CHECK_EQ(d[3], 0x80);
    impair_flip(d, 9);
    CHECK_EQ(d[1], 0x00);
}

/* RFC 3168 5: ECN field values in the low bits of the TOS byte. */
enum { NOT_ECT = 0, ECT1 = 1, ECT0 = 2, CE = 3 };

/* At 8 Mbit/s a byte takes 1 us: ten 1000-byte datagrams sent at once
 * find 0, 1000, ... 9000 bytes queued ahead of them. With a threshold of
 * 3000, the fifth and later are above it: marked if ECT (either codepoint),
 * never if Not-ECT or already CE; marking draws nothing and delays
 * nothing. */
static void test_ce_threshold(void)
{
    struct sf_link_cfg c = {.delay = SF_MSEC, .bandwidth = 8000000,
                           .ce_threshold = 3000};
    static const uint8_t ecns[] = {ECT0, ECT1, NOT_ECT, CE};
    for (size_t e = 0; e < sizeof ecns; e++) {
        struct impair_queue q = {0}, q2 = {0};
        struct impair_rng r, before;
        impair_rng_seed(&r, 5);
        before = r;
        struct sf_link_cfg off = c;
        off.ce_threshold = 0;
        for (int i = 0; i < 10; i++) {
            struct impair_fate f, g;
            impair_decide_ecn(&c, &q, &r, 0, 1000, 0, ecns[e], &f);
            impair_decide_ecn(&off, &q2, &r, 0, 1000, 0, ecns[e], &g);
            CHECK_EQ(f.drop, IMPAIR_PASS);
            CHECK_EQ(f.ncopies, 1);
            bool want = i >= 4 && (ecns[e] == ECT0 || ecns[e] == ECT1);
            CHECK_EQ((f.flags[0] & IMPAIR_F_CE) != 0, want);
            CHECK_EQ(g.flags[0], 0u); /* threshold off: never */
            CHECK_EQ(f.arrive[0], g.arrive[0]);
        }
        CHECK(same_state(&r, &before));
    }
}

/* The queue limit still drops: a Not-ECT datagram at queue_bytes as
 * always, and an ECT one too once the queue is full (marking replaces the
 * drops below the limit, it does not make the queue longer). */
static void test_ce_queue_limit(void)
{
    struct sf_link_cfg c = {.bandwidth = 8000000, .queue_bytes = 5000,
                           .ce_threshold = 2000};
    for (int ecn = 0; ecn < 3; ecn += 2) { /* Not-ECT, ECT(0) */
        struct impair_queue q = {0};
        struct impair_rng r;
        impair_rng_seed(&r, 1);
        int marked = 0, dropped = 0;
        for (int i = 0; i < 8; i++) {
            struct impair_fate f;
            impair_decide_ecn(&c, &q, &r, 0, 1000, 0, (uint8_t)ecn, &f);
            dropped += f.drop == IMPAIR_QUEUE;
            marked += f.drop == IMPAIR_PASS && (f.flags[0] & IMPAIR_F_CE);
        }
        /* 0..4000 queued ahead: 5 admitted, 3 tail-dropped; of the 5,
         * those with 3000 and 4000 ahead are above 2000 */
        CHECK_EQ(dropped, 3);
        CHECK_EQ(marked, ecn ? 2 : 0);
    }
}

/* Marking costs no draw: with every impairment on, the same seed gives
 * the same fates (CE apart) and leaves the PRNG in the same state with and
 * without a CE threshold, so recorded runs stay byte-identical. A
 * duplicate of a marked datagram is marked too. */
static void test_ce_draw_order(void)
{
    struct sf_link_cfg c = {.delay = 3 * SF_MSEC, .jitter = 2 * SF_MSEC,
                           .bandwidth = 10000000, .loss = 0.2, .corrupt = 0.2,
                           .dup = 0.3, .reorder = 0.2};
    struct sf_link_cfg m = c;
    m.ce_threshold = 1500;
    struct impair_queue q = {0}, qm = {0};
    struct impair_rng r, rm;
    impair_rng_seed(&r, 99);
    impair_rng_seed(&rm, 99);
    int marked = 0, dupmarked = 0;
    for (int i = 0; i < 2000; i++) {
        struct impair_fate f, g;
        sf_time_t now = (sf_time_t)i * 500 * SF_USEC / 1000;
        impair_decide(&c, &q, &r, now, 1200, 0, &f);
        impair_decide_ecn(&m, &qm, &rm, now, 1200, 0, ECT0, &g);
        CHECK_EQ(f.drop, g.drop);
        CHECK_EQ(f.ncopies, g.ncopies);
        for (int k = 0; k < f.ncopies; k++) {
            CHECK_EQ(f.arrive[k], g.arrive[k]);
            CHECK_EQ(f.flags[k], g.flags[k] & ~(unsigned)IMPAIR_F_CE);
        }
        CHECK_EQ(f.flip_bit, g.flip_bit);
        marked += g.ncopies && (g.flags[0] & IMPAIR_F_CE);
        if (g.ncopies == 2 && (g.flags[0] & IMPAIR_F_CE))
            dupmarked += (g.flags[1] & IMPAIR_F_CE) != 0;
    }
    CHECK(same_state(&r, &rm));
    CHECK(marked > 0);
    CHECK(dupmarked > 0);
}

/* impair_mark_ce sets CE and keeps the header checksum valid. */
static void test_mark_ce(void)
{
    uint8_t buf[100];
    struct sf_ipv4 ip = {.src = 0xC6120001, .dst = 0xC6120002, .ttl = 64,
                         .tos = 0xb8 | ECT0, .id = 7};
    struct sf_tcp seg = {.sport = 1, .dport = 2, .flags = SF_ACK,
                         .payload = (const uint8_t *)"hello", .len = 5};
    size_t n = sf_emit(buf, sizeof buf, &ip, &seg);
    CHECK(n > 0);
    CHECK_EQ(impair_ecn_of(buf, n), ECT0);
    impair_mark_ce(buf, n);
    struct sf_ipv4 out;
    CHECK_EQ(sf_ipv4_parse(buf, n, &out), SF_DROP_NONE);
    CHECK_EQ(out.tos, 0xb8 | CE);
    CHECK_EQ(impair_ecn_of(buf, n), CE);
    impair_mark_ce(buf, n); /* again: no change, still valid */
    CHECK_EQ(sf_ipv4_parse(buf, n, &out), SF_DROP_NONE);
    CHECK_EQ(impair_ecn_of(buf, 19), 0); /* too short to have one */
}

static const struct check_case cases[] = {
    CHECK_CASE(test_ce_threshold),
    CHECK_CASE(test_ce_queue_limit),
    CHECK_CASE(test_ce_draw_order),
    CHECK_CASE(test_mark_ce),
    CHECK_CASE(test_off_draws_nothing),
    CHECK_CASE(test_draw_order),
    CHECK_CASE(test_tun_settings),
    CHECK_CASE(test_flip),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
