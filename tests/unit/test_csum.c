/* The Internet checksum (RFC 1071) against a plain 16-bit reference, for
 * every length and alignment, alone and split into pieces (even-length
 * pieces, then an odd tail, as the callers use it). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/wire.h"

static uint16_t reference(const uint8_t *p, size_t len)
{
    uint64_t s = 0;
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

/* Regions as long as a 64 KB frame and longer than the 2 MB a vector
 * lane of the bulk sum holds before it is folded (carries deferred across
 * its blocks): random bytes and all-ones, at odd and even offsets, whole
 * and in pieces. */
static void test_csum_long(void)
{
    enum { LEN = (5u << 20) + 77 };
    uint8_t *buf = malloc(LEN + 8);
    CHECK(buf != NULL);
    if (!buf)
        return;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t x = 0x2545f4914f6cdd1dull;
        for (size_t i = 0; i < LEN + 8; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = pass ? 0xff : (uint8_t)x;
        }
        static const size_t lens[] = {63, 64, 65, 127, 1460, 8960, 65495,
                                      65536, (2u << 20) - 8, 2u << 20,
                                      (2u << 20) + 64, LEN};
        unsigned bad = 0;
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
            for (size_t off = 0; off < 3; off++) {
                const uint8_t *p = buf + off;
                uint16_t want = reference(p, lens[k]);
                bad += sf_csum_fold(sf_csum_add(0, p, lens[k])) != want;
                size_t cut = (lens[k] / 3) & ~(size_t)1;
                bad += sf_csum_fold(sf_csum_add(sf_csum_add(0, p, cut), p + cut,
                                                lens[k] - cut)) != want;
            }
        CHECK_EQ(bad, 0);
    }
    free(buf);
}

/* sf_csum_add_at: a region summed in two or three pieces cut anywhere
 * (odd lengths, odd offsets: a gather output's payload slices), each at
 * its offset, gives the sum of the whole; a piece at an odd offset summed
 * as if even (sf_csum_add) does not. */
static void test_csum_pieces(void)
{
    uint8_t buf[200];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    unsigned bad = 0, odd_differs = 0;
    for (size_t len = 0; len <= 67; len++)
        for (size_t a = 0; a <= len; a++) {
            uint16_t want = reference(buf, len);
            uint32_t s = sf_csum_add_at(0, buf, a, 0);
            s = sf_csum_add_at(s, buf + a, len - a, a);
            bad += sf_csum_fold(s) != want;
            if (a & 1)
                odd_differs += sf_csum_fold(sf_csum_add(sf_csum_add(0, buf, a),
                                                        buf + a, len - a)) != want;
            for (size_t b = a; b <= len; b++) { /* three pieces */
                uint32_t t = sf_csum_add(0, buf, a);
                t = sf_csum_add_at(t, buf + a, b - a, a);
                t = sf_csum_add_at(t, buf + b, len - b, b);
                bad += sf_csum_fold(t) != want;
            }
        }
    CHECK_EQ(bad, 0);
    CHECK(odd_differs > 0); /* (the test can tell) */
    memset(buf, 0xff, sizeof buf); /* carries */
    uint32_t s = sf_csum_add_at(sf_csum_add(0x1fffe, buf, 99), buf + 99, 101, 99);
    CHECK_EQ(sf_csum_fold(s), sf_csum_fold(sf_csum_add(0x1fffe, buf, 200)));
}

static const struct check_case cases[] = {
    CHECK_CASE(test_csum),
    CHECK_CASE(test_csum_pieces),
    CHECK_CASE(test_csum_long),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
