/* The Internet checksum (RFC 1071) against a plain 16-bit reference, for
 * every length and alignment, alone and split into pieces (even-length
 * pieces, then an odd tail, as the callers use it). Also the ring buffer
 * the byte stream is built on. */
#include <string.h>

#include "base/ring.h"
#include "check.h"
#include "synfin/wire.h"

static uint16_t reference(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i < len; i++)
        s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void test_csum(void)
{
    uint8_t buf[300];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    unsigned bad = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= 280; len++) {
            const uint8_t *p = buf + off;
            if (sf_csum_fold(sf_csum_add(0, p, len)) != reference(p, len))
                bad++;
            size_t cut = (len / 2) & ~(size_t)1; /* an even first piece */
            uint32_t s = sf_csum_add(sf_csum_add(0, p, cut), p + cut, len - cut);
            if (sf_csum_fold(s) != reference(p, len))
                bad++;
        }
    CHECK_EQ(bad, 0);
    memset(buf, 0xff, sizeof buf); /* worst case for carries */
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, buf, 280)), reference(buf, 280));
}

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

static const struct check_case cases[] = {
    CHECK_CASE(test_csum),
    CHECK_CASE(test_ring),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
