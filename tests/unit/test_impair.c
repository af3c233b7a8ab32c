/* The link kit's impairments (src/link/impair.c) used directly, as the TUN
 * driver uses them: the draws nothing-when-off rule, the order of the
 * draws (which every recorded sim run depends on), and the fates the TUN
 * driver's settings give (delay 0 with reordering, duplicates, loss 1).
 * The simulator's view of the same code is tested in test_sim.c. */
#include <string.h>

#include "check.h"
#include "link/impair.h"

static bool same_state(const struct impair_rng *a, const struct impair_rng *b)
{
    return memcmp(a->s, b->s, sizeof a->s) == 0;
}

static void test_off_draws_nothing(void)
{
    struct impair_cfg c = {.delay = 5 * SF_MSEC, .mtu = 1500};
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
    struct impair_cfg c = {.delay = 3 * SF_MSEC, .jitter = 2 * SF_MSEC,
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
    struct impair_cfg c = {.reorder = 1.0};
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
    struct impair_cfg j = {.delay = SF_MSEC, .jitter = 10 * SF_MSEC};
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

static const struct check_case cases[] = {
    CHECK_CASE(test_off_draws_nothing),
    CHECK_CASE(test_draw_order),
    CHECK_CASE(test_tun_settings),
    CHECK_CASE(test_flip),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
