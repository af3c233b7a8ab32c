/* The timing wheel against its contract (src/base/wheel.h): exact expiry,
 * (expires, start order) firing order, restart, stop, huge jumps, far
 * timers, 100k timers, and a randomized run against a sorted reference. */
#include "base/wheel.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

#define MS SF_MSEC

static struct wheel mkwheel(size_t slots, sf_time_t gran, sf_time_t now)
{
    struct wheel w;
    int rc = wheel_init(&w, slots, gran, now);
    CHECK_EQ(rc, 0);
    return w;
}

static void test_init(void)
{
    struct wheel w;
    CHECK_EQ(wheel_init(&w, 0, MS, 0), SF_EINVAL);
    CHECK_EQ(wheel_init(&w, 16, 0, 0), SF_EINVAL);
    CHECK_EQ(wheel_init(&w, 100, MS, 5), 0);
    CHECK_EQ(w.nslots, 128);
    CHECK(wheel_next(&w) == SF_TIME_NEVER);
    CHECK(wheel_pop_expired(&w, 1000 * SF_SEC) == NULL);
    wheel_free(&w);
}

static void test_order_and_exact(void)
{
    struct wheel w = mkwheel(64, MS, 0);
    struct wheel_timer t[5];
    /* Out-of-order starts, some inside the same 1 ms tick. */
    sf_time_t at[5] = {30 * MS + 7, 10 * MS + 500, 10 * MS + 499, 2 * MS, 30 * MS};
    for (int i = 0; i < 5; i++) {
        wheel_timer_init(&t[i], (uint8_t)i);
        wheel_start(&w, &t[i], at[i]);
    }
    CHECK_EQ(w.count, 5);
    CHECK_EQ(wheel_next(&w), 2 * MS);
    /* Exact: not a nanosecond early. */
    CHECK(wheel_pop_expired(&w, 2 * MS - 1) == NULL);
    CHECK(wheel_pop_expired(&w, 2 * MS) == &t[3]);
    CHECK(!wheel_timer_pending(&t[3]));
    CHECK_EQ(wheel_next(&w), 10 * MS + 499);
    CHECK(wheel_pop_expired(&w, 10 * MS + 499) == &t[2]);
    CHECK(wheel_pop_expired(&w, 10 * MS + 499) == NULL);
    CHECK_EQ(wheel_next(&w), 10 * MS + 500);
    /* A big step pops the rest in expiry order. */
    CHECK(wheel_pop_expired(&w, SF_SEC) == &t[1]);
    CHECK(wheel_pop_expired(&w, SF_SEC) == &t[4]);
    CHECK(wheel_pop_expired(&w, SF_SEC) == &t[0]);
    CHECK(wheel_pop_expired(&w, SF_SEC) == NULL);
    CHECK_EQ(w.count, 0);
    CHECK(wheel_next(&w) == SF_TIME_NEVER);
    wheel_free(&w);
}

static void test_ties_and_restart(void)
{
    struct wheel w = mkwheel(16, MS, 0);
    struct wheel_timer t[4];
    for (int i = 0; i < 4; i++) {
        wheel_timer_init(&t[i], (uint8_t)i);
        wheel_start(&w, &t[i], 5 * MS);
    }
    /* Restarting t[1] at the same time moves it to the back of the tie. */
    wheel_start(&w, &t[1], 5 * MS);
    CHECK_EQ(w.count, 4);
    /* Restart t[2] later: it must not fire at 5 ms. */
    wheel_start(&w, &t[2], 7 * MS);
    CHECK(wheel_pop_expired(&w, 6 * MS) == &t[0]);
    CHECK(wheel_pop_expired(&w, 6 * MS) == &t[3]);
    CHECK(wheel_pop_expired(&w, 6 * MS) == &t[1]);
    CHECK(wheel_pop_expired(&w, 6 * MS) == NULL);
    CHECK(wheel_timer_pending(&t[2]));
    CHECK_EQ(wheel_next(&w), 7 * MS);
    /* Restart earlier than before. */
    wheel_start(&w, &t[2], 6 * MS + 1);
    CHECK_EQ(wheel_next(&w), 6 * MS + 1);
    CHECK(wheel_pop_expired(&w, 7 * MS) == &t[2]);
    CHECK(wheel_pop_expired(&w, 7 * MS) == NULL);
    wheel_free(&w);
}

static void test_stop(void)
{
    struct wheel w = mkwheel(16, MS, 0);
    struct wheel_timer a, b, c;
    wheel_timer_init(&a, 1);
    wheel_timer_init(&b, 2);
    wheel_timer_init(&c, 3);
    wheel_stop(&w, &a); /* idle: harmless */
    CHECK_EQ(w.count, 0);
    wheel_start(&w, &a, 3 * MS);
    wheel_start(&w, &b, 4 * MS);
    wheel_start(&w, &c, 4 * MS);
    CHECK_EQ(wheel_next(&w), 3 * MS);
    wheel_stop(&w, &a); /* the earliest: next must move on */
    CHECK(!wheel_timer_pending(&a));
    CHECK(a.prev == NULL);
    CHECK_EQ(wheel_next(&w), 4 * MS);
    wheel_stop(&w, &a); /* twice: harmless */
    CHECK_EQ(w.count, 2);
    /* Stop a timer that is already due but not yet popped. */
    CHECK(wheel_pop_expired(&w, 5 * MS) == &b);
    wheel_stop(&w, &c);
    CHECK(wheel_pop_expired(&w, 5 * MS) == NULL);
    CHECK_EQ(w.count, 0);
    CHECK(wheel_next(&w) == SF_TIME_NEVER);
    wheel_free(&w);
}

static void test_past_start(void)
{
    struct wheel w = mkwheel(16, MS, 100 * MS);
    struct wheel_timer a, b, c;
    wheel_timer_init(&a, 1);
    wheel_timer_init(&b, 2);
    wheel_timer_init(&c, 3);
    wheel_start(&w, &a, 50 * MS);  /* in the past */
    wheel_start(&w, &b, 10 * MS);  /* further in the past: fires first */
    wheel_start(&w, &c, 100 * MS); /* exactly now */
    CHECK_EQ(wheel_next(&w), 10 * MS);
    CHECK(wheel_pop_expired(&w, 100 * MS) == &b);
    CHECK(wheel_pop_expired(&w, 100 * MS) == &a);
    CHECK(wheel_pop_expired(&w, 100 * MS) == &c);
    CHECK(wheel_pop_expired(&w, 100 * MS) == NULL);
    wheel_free(&w);
}

/* 1 ns ticks and a two-hour jump: 7.2e12 ticks. A wheel that walked ticks
 * would never finish. */
static void test_huge_jump(void)
{
    struct wheel w = mkwheel(256, 1, 0);
    struct wheel_timer t[3];
    for (int i = 0; i < 3; i++)
        wheel_timer_init(&t[i], (uint8_t)i);
    wheel_start(&w, &t[0], 7200 * SF_SEC - 1);
    wheel_start(&w, &t[1], 5);
    wheel_start(&w, &t[2], 7200 * SF_SEC + 1);
    CHECK(wheel_pop_expired(&w, 7200 * SF_SEC) == &t[1]);
    CHECK(wheel_pop_expired(&w, 7200 * SF_SEC) == &t[0]);
    CHECK(wheel_pop_expired(&w, 7200 * SF_SEC) == NULL);
    CHECK_EQ(wheel_next(&w), 7200 * SF_SEC + 1);
    CHECK(wheel_pop_expired(&w, SF_TIME_NEVER - 1) == &t[2]);
    wheel_free(&w);
}

/* Timers many revolutions ahead share slots with near ones and must not
 * fire when their slot comes round early. */
static void test_far(void)
{
    struct wheel w = mkwheel(64, MS, 0); /* one revolution = 64 ms */
    struct wheel_timer far, near, never;
    wheel_timer_init(&far, 1);
    wheel_timer_init(&near, 2);
    wheel_timer_init(&never, 3);
    wheel_start(&w, &far, 7200 * SF_SEC + 3 * MS + 17);
    wheel_start(&w, &never, SF_TIME_NEVER - 1);
    CHECK_EQ(wheel_next(&w), 7200 * SF_SEC + 3 * MS + 17);
    wheel_start(&w, &near, 3 * MS + 17); /* same slot as far */
    CHECK_EQ(wheel_next(&w), 3 * MS + 17);
    sf_time_t now = 0;
    int popped = 0;
    /* Step 1 ms at a time through several revolutions. */
    for (int i = 0; i < 1000; i++) {
        now += MS;
        struct wheel_timer *t;
        while ((t = wheel_pop_expired(&w, now))) {
            CHECK(t == &near);
            CHECK(now >= 3 * MS + 17);
            popped++;
        }
    }
    CHECK_EQ(popped, 1);
    CHECK(wheel_timer_pending(&far));
    CHECK_EQ(wheel_next(&w), 7200 * SF_SEC + 3 * MS + 17);
    CHECK(wheel_pop_expired(&w, 7200 * SF_SEC + 3 * MS + 16) == NULL);
    CHECK(wheel_pop_expired(&w, 7200 * SF_SEC + 3 * MS + 17) == &far);
    CHECK_EQ(wheel_next(&w), SF_TIME_NEVER - 1);
    wheel_free(&w);
}

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: a fixed-seed generator so failures reproduce. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void test_100k(void)
{
    enum { N = 100000 };
    struct wheel w = mkwheel(4096, MS, 0);
    struct wheel_timer *t = calloc(N, sizeof *t);
    uint64_t seed = 42;
    sf_time_t min = SF_TIME_NEVER;
    for (int i = 0; i < N; i++) {
        wheel_timer_init(&t[i], 0);
        sf_time_t e = rng_next(&seed) % (600 * SF_SEC);
        if (e < min)
            min = e;
        wheel_start(&w, &t[i], e);
    }
    CHECK_EQ(w.count, N);
    CHECK_EQ(wheel_next(&w), min);
    int n = 0, bad = 0;
    struct wheel_timer *prev = NULL, *cur;
    sf_time_t now = 0;
    while (now < 700 * SF_SEC) {
        now += 37 * MS + 11;
        while ((cur = wheel_pop_expired(&w, now))) {
            if (cur->expires > now)
                bad++;
            if (prev && (prev->expires > cur->expires ||
                         (prev->expires == cur->expires && prev->order > cur->order)))
                bad++;
            prev = cur;
            n++;
        }
    }
    CHECK_EQ(n, N);
    CHECK_EQ(bad, 0);
    CHECK_EQ(w.count, 0);
    free(t);
    wheel_free(&w);
}

/* Reference model: an array of (pending, expires, order); the next to fire
 * is the pending one with the least (expires, order). */
struct ref {
    bool pending;
    sf_time_t expires;
    uint64_t order;
};

static int ref_min(const struct ref *r, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (!r[i].pending)
            continue;
        if (best < 0 || r[i].expires < r[best].expires ||
            (r[i].expires == r[best].expires && r[i].order < r[best].order))
            best = i;
    }
    return best;
}

static sf_time_t rand_expiry(uint64_t *seed, sf_time_t now)
{
    uint64_t r = rng_next(seed);
    switch (r % 8) {
    case 0: return now > 5 * MS ? now - (r >> 8) % (5 * MS) : 0; /* past */
    case 1: return now + (r >> 8) % 3;                          /* ties */
    case 2: return now + (r >> 8) % (3600 * SF_SEC);            /* far */
    default: return now + (r >> 8) % (300 * MS);                /* near */
    }
}

static void test_random_vs_reference(void)
{
    enum { N = 300, OPS = 200000 };
    struct wheel w = mkwheel(128, MS, 0);
    struct wheel_timer t[N];
    struct ref r[N];
    uint64_t seed = 0x5eed, order = 0;
    sf_time_t now = 0;
    int mismatches = 0, pops = 0;
    for (int i = 0; i < N; i++) {
        wheel_timer_init(&t[i], 0);
        r[i].pending = false;
    }
    for (int op = 0; op < OPS; op++) {
        uint64_t x = rng_next(&seed);
        int i = (int)((x >> 16) % N);
        switch (x % 10) {
        case 0: case 1: case 2: case 3: {
            sf_time_t e = rand_expiry(&seed, now);
            wheel_start(&w, &t[i], e);
            r[i] = (struct ref){true, e, order++};
            break;
        }
        case 4:
            wheel_stop(&w, &t[i]);
            r[i].pending = false;
            break;
        case 5: case 6: case 7: case 8: {
            uint64_t y = rng_next(&seed);
            sf_time_t step = y % 50 == 0 ? (y >> 8) % (7200 * SF_SEC)
                                         : (y >> 8) % (20 * MS);
            now += step;
            struct wheel_timer *got;
            while ((got = wheel_pop_expired(&w, now))) {
                int want = ref_min(r, N);
                if (want < 0 || got != &t[want] || r[want].expires > now)
                    mismatches++;
                if (want >= 0)
                    r[want].pending = false;
                pops++;
            }
            int left = ref_min(r, N);
            if (left >= 0 && r[left].expires <= now)
                mismatches++;
            break;
        }
        default: {
            int want = ref_min(r, N);
            sf_time_t nx = wheel_next(&w);
            if (nx != (want < 0 ? SF_TIME_NEVER : r[want].expires))
                mismatches++;
        }
        }
        size_t cnt = 0;
        for (int k = 0; k < N; k++)
            cnt += r[k].pending;
        if (cnt != w.count)
            mismatches++;
    }
    CHECK_EQ(mismatches, 0);
    CHECK(pops > 10000);
    wheel_free(&w);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_init),
    CHECK_CASE(test_order_and_exact),
    CHECK_CASE(test_ties_and_restart),
    CHECK_CASE(test_stop),
    CHECK_CASE(test_past_start),
    CHECK_CASE(test_huge_jump),
    CHECK_CASE(test_far),
    CHECK_CASE(test_100k),
    CHECK_CASE(test_random_vs_reference),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
