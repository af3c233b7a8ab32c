/* The byte ring the byte stream is built on (src/base/ring.h): writes,
 * peeks, wrapping, bytes past the tail, views in place; ring_grow keeps every byte
 * held, and every byte written past the tail, at its offset from the head
 * whichever way the storage wrapped, and charges its account only what it
 * grows by; the cache gives back a storage from the need up to the most
 * asked. A randomized run against a flat reference. */
#include "base/ring.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

/* The basic contract: storage only while bytes are held, wrapping,
 * out-of-order bytes past the tail. */
static void test_ring(void)
{
    struct ring r;
    ring_init(&r);
    CHECK_EQ(ring_len(&r), 0);
    CHECK(r.m == NULL); /* no storage until bytes arrive */
    CHECK_EQ(ring_space(&r, 10), 10);
    CHECK_EQ(ring_write(&r, 10, "abcdefgh", 8), 8);
    char out[16];
    CHECK_EQ(ring_peek(&r, 2, out, 3), 3);
    CHECK(memcmp(out, "cde", 3) == 0);
    ring_consume(&r, 6);
    /* wraps: 2 held, 8 free, the write crosses the end */
    CHECK_EQ(ring_write(&r, 10, "12345678", 8), 8);
    CHECK_EQ(ring_write(&r, 10, "x", 1), 0); /* full */
    CHECK_EQ(ring_peek(&r, 0, out, 16), 10);
    CHECK(memcmp(out, "gh12345678", 10) == 0);
    ring_consume(&r, 10);
    /* out-of-order bytes past the tail keep their place until committed */
    CHECK_EQ(ring_write_at(&r, 10, 3, "XYZ", 3), 3);
    CHECK_EQ(ring_len(&r), 0);
    ring_trim(&r, true); /* something waits past the tail: kept */
    CHECK(r.m != NULL);
    CHECK_EQ(ring_write_at(&r, 10, 0, "abc", 3), 3);
    ring_commit(&r, 6);
    CHECK_EQ(ring_peek(&r, 0, out, 16), 6);
    CHECK(memcmp(out, "abcXYZ", 6) == 0);
    CHECK_EQ(ring_write_at(&r, 10, 4, "toolong", 7), 0); /* past the end */
    ring_consume(&r, 6);
    ring_trim(&r, false);
    CHECK(r.m == NULL); /* empty: storage given back */
    ring_free(&r);
}

/* ring_view: the bytes ring_peek would copy, in place: one slice, or
 * two where the storage wraps (the gather output's payload). */
static void test_ring_view(void)
{
    struct ring r;
    ring_init(&r);
    uint8_t *p[2];
    uint32_t n[2];
    CHECK_EQ(ring_view(&r, 0, 4, p, n), 0); /* no storage */
    CHECK_EQ(ring_write(&r, 10, "abcdefgh", 8), 8);
    CHECK_EQ(ring_view(&r, 2, 3, p, n), 3);
    CHECK_EQ(n[0], 3);
    CHECK_EQ(n[1], 0);
    CHECK(memcmp(p[0], "cde", 3) == 0);
    ring_consume(&r, 6);
    CHECK_EQ(ring_write(&r, 10, "12345678", 8), 8); /* wraps after "12" */
    char out[16];
    for (uint32_t off = 0; off < 10; off++)
        for (uint32_t len = 0; len <= 12; len++) {
            uint32_t got = ring_view(&r, off, len, p, n);
            uint32_t want = ring_peek(&r, off, out, len);
            CHECK_EQ(got, want);
            CHECK_EQ(n[0] + n[1], want);
            CHECK(memcmp(p[0], out, n[0]) == 0);
            CHECK(n[1] == 0 || memcmp(p[1], out + n[0], n[1]) == 0);
        }
    CHECK_EQ(ring_view(&r, 1, 6, p, n), 6); /* "h12" | "345" */
    CHECK_EQ(n[0], 3);
    CHECK_EQ(n[1], 3);
    CHECK(memcmp(p[0], "h12", 3) == 0 && memcmp(p[1], "345", 3) == 0);
    CHECK_EQ(ring_view(&r, 10, 1, p, n), 0); /* past the end */
    ring_free(&r);
}

/* every byte from the head to off + n against the reference */
static void same(const struct ring *r, const uint8_t *ref, uint32_t n)
{
    uint8_t p[1 << 16];
    CHECK(n <= sizeof p);
    uint32_t len = ring_len(r);
    CHECK_EQ(ring_peek(r, 0, p, len), len);
    CHECK(memcmp(p, ref, len) == 0);
    /* past the tail: what ring_write_at put there */
    if (n > len) {
        uint8_t *q[2];
        uint32_t k[2];
        /* (ring_free_view shows the room past the tail in place) */
        uint32_t got = ring_free_view(r, UINT32_MAX, n - len, q, k);
        CHECK_EQ(got, n - len);
        CHECK(memcmp(q[0], ref + len, k[0]) == 0);
        if (k[1])
            CHECK(memcmp(q[1], ref + len + k[0], k[1]) == 0);
    }
}

/* Both ways of keeping the order: the wrapped start moved past the old
 * end (it is the shorter part), or the part from the head moved to the
 * new end. */
static void test_grow_wrapped(void)
{
    for (uint32_t head = 0; head < 16; head++) {
        for (uint32_t newcap = 16; newcap <= 48; newcap += 5) {
            struct mem_acct a = {0};
            struct ring r;
            ring_init(&r);
            uint8_t ref[64];
            CHECK_EQ(ring_reserve_cached(&r, 16, 16, 16, &(struct ring_cache){.acct = &a}), 0);
            uint8_t junk[16] = {0};
            CHECK_EQ(ring_write(&r, 16, junk, head), head);
            ring_consume(&r, head); /* the head now at `head` */
            for (uint32_t i = 0; i < 12; i++)
                ref[i] = (uint8_t)('a' + i);
            CHECK_EQ(ring_write(&r, 16, ref, 10), 10);
            /* two bytes past the tail, as out-of-order data */
            CHECK_EQ(ring_write_at(&r, 16, 0, ref + 10, 2), 2);
            uint64_t before = a.used;
            CHECK_EQ(ring_grow(&r, newcap), 0);
            CHECK_EQ(ring_cap(&r), newcap < 16 ? 16 : newcap);
            CHECK_EQ(a.used - before, (uint64_t)ring_cap(&r) - 16);
            same(&r, ref, 12);
            /* it goes on as a ring: read 4, fill it up (wrapping) */
            ring_consume(&r, 4);
            memmove(ref, ref + 4, 8); /* 6 held, 2 past the tail */
            uint32_t n = ring_cap(&r) - 6;
            for (uint32_t i = 0; i < n; i++)
                ref[6 + i] = (uint8_t)('A' + i);
            CHECK_EQ(ring_write(&r, ring_cap(&r), ref + 6, n), n);
            same(&r, ref, 6 + n);
            ring_free(&r);
            CHECK_EQ(a.used, 0);
        }
    }
}

/* Random writes, consumes, writes past the tail and grows, checked byte
 * for byte against a flat copy, the account against the storage. */
static void test_grow_random(void)
{
    srand(7);
    struct mem_acct a = {0};
    struct ring_cache rc = {.acct = &a};
    for (int run = 0; run < 200; run++) {
        struct ring r;
        ring_init(&r);
        static uint8_t ref[1 << 16];
        uint32_t held = 0, past = 0; /* bytes held; valid bytes past the tail */
        uint32_t cap0 = 1u << (rand() % 6 + 4);
        CHECK(ring_reserve_cached(&r, cap0, cap0, cap0, &rc) >= 0);
        for (int step = 0; step < 300; step++) {
            uint32_t cap = ring_cap(&r);
            switch (rand() % 4) {
            case 0: { /* in order: joins the ring, over what lay past the tail */
                uint32_t n = (uint32_t)rand() % (cap - held + 1);
                uint8_t d[1 << 16];
                for (uint32_t i = 0; i < n; i++)
                    d[i] = (uint8_t)rand();
                CHECK_EQ(ring_write(&r, cap, d, n), n);
                memcpy(ref + held, d, n);
                held += n;
                past = past > n ? past - n : 0;
                break;
            }
            case 1: { /* past the tail, right after what is there */
                uint32_t room = cap - held - past;
                uint32_t n = room ? (uint32_t)rand() % (room + 1) : 0;
                uint8_t d[1 << 16];
                for (uint32_t i = 0; i < n; i++)
                    d[i] = (uint8_t)rand();
                CHECK_EQ(ring_write_at(&r, cap, past, d, n), n);
                memcpy(ref + held + past, d, n);
                past += n;
                break;
            }
            case 2: { /* read */
                uint32_t n = held ? (uint32_t)rand() % (held + 1) : 0;
                ring_consume(&r, n);
                memmove(ref, ref + n, held + past - n);
                held -= n;
                break;
            }
            default: { /* grow */
                uint32_t to = cap + (uint32_t)rand() % (cap + 1);
                if (to > (1u << 15))
                    break;
                uint64_t before = a.used;
                CHECK_EQ(ring_grow(&r, to), 0);
                CHECK_EQ(a.used - before, (uint64_t)to - cap);
                break;
            }
            }
            CHECK_EQ(ring_len(&r), held);
            same(&r, ref, held + past);
            CHECK_EQ(a.used, ring_mem_cost(ring_cap(&r)) + rc.bytes + rc.n * ring_mem_cost(0));
        }
        if (rand() % 2) {
            ring_consume(&r, held);
            ring_trim_cached(&r, false, &rc); /* to the cache, or freed */
        }
        ring_free(&r);
        CHECK_EQ(a.used, rc.bytes + rc.n * ring_mem_cost(0));
    }
    ring_cache_free(&rc);
    CHECK_EQ(a.used, 0);
}

/* A grow under a cap is charged the difference only: a ring holding most
 * of what the cap allows still grows by the rest (it could not when the
 * new storage was allocated beside the old), and one byte more is refused
 * with the ring unchanged. */
static void test_grow_at_cap(void)
{
    struct mem_acct a = {.limit = 100000, .pressure_at = 100000};
    struct ring_cache rc = {.acct = &a};
    struct ring r;
    ring_init(&r);
    CHECK_EQ(ring_reserve_cached(&r, 60000, 60000, 60000, &rc), 0);
    uint8_t d[60000];
    memset(d, 'x', sizeof d);
    CHECK_EQ(ring_write(&r, 60000, d, 60000), 60000);
    uint32_t top = (uint32_t)(100000 - ring_mem_cost(0));
    CHECK_EQ(ring_grow(&r, top + 1), -1);
    CHECK_EQ(ring_cap(&r), 60000);
    CHECK_EQ(a.refusals, 1);
    CHECK_EQ(ring_grow(&r, top), 0);
    CHECK_EQ(a.used, 100000);
    CHECK_EQ(ring_len(&r), 60000);
    ring_free(&r);
    CHECK_EQ(a.used, 0);
}

/* The cache gives back a storage from the need up to the most asked (a
 * bulk reader's large one comes back whole), the newest first; none
 * outside that range. */
static void test_cache_range(void)
{
    struct mem_acct a = {0};
    struct ring_cache rc = {.acct = &a};
    struct ring r[3];
    uint32_t caps[3] = {4096, 65536, 16384};
    for (int i = 0; i < 3; i++) {
        ring_init(&r[i]);
        CHECK_EQ(ring_reserve_cached(&r[i], caps[i], caps[i], caps[i], &rc), 0);
    }
    for (int i = 0; i < 3; i++)
        ring_trim_cached(&r[i], false, &rc);
    CHECK_EQ(rc.n, 3);
    struct ring x;
    ring_init(&x);
    /* 100 bytes, up to 80 KB: the newest that fits, 16 KB */
    CHECK_EQ(ring_reserve_cached(&x, 100, 81920, 4096, &rc), 1);
    CHECK_EQ(ring_cap(&x), 16384);
    ring_free(&x);
    /* 20000 bytes: 64 KB (4 KB is too small) */
    CHECK_EQ(ring_reserve_cached(&x, 20000, 81920, 32768, &rc), 1);
    CHECK_EQ(ring_cap(&x), 65536);
    ring_free(&x);
    /* 5000 bytes, at most 8 KB: nothing cached fits, 8 KB allocated */
    CHECK_EQ(ring_reserve_cached(&x, 5000, 8192, 8192, &rc), 0);
    CHECK_EQ(ring_cap(&x), 8192);
    ring_free(&x);
    CHECK_EQ(rc.n, 1);
    /* a storage of the size asked goes before a newer one that holds
     * only the need: a 64 KB one cached, then a 4 KB one; asked 64 KB
     * for 100 bytes (a ring that had 64 KB), the 64 KB one */
    CHECK_EQ(ring_reserve_cached(&x, 65536, 65536, 65536, &rc), 0);
    ring_trim_cached(&x, false, &rc);
    CHECK_EQ(ring_reserve_cached(&x, 4096, 4096, 4096, &rc), 1); /* the 4 KB one */
    ring_trim_cached(&x, false, &rc);
    CHECK_EQ(rc.n, 2);
    CHECK_EQ(ring_reserve_cached(&x, 100, 81920, 65536, &rc), 1);
    CHECK_EQ(ring_cap(&x), 65536);
    ring_free(&x);
    ring_cache_free(&rc);
    CHECK_EQ(a.used, 0);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_ring),
    CHECK_CASE(test_ring_view),
    CHECK_CASE(test_grow_wrapped),
    CHECK_CASE(test_grow_random),
    CHECK_CASE(test_grow_at_cap),
    CHECK_CASE(test_cache_range),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
