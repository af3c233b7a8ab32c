/* The Internet checksum (RFC 1071): the one's complement of the one's
 * complement sum of 16-bit big-endian words. */
#include <string.h>

#include "synfin/wire.h"

/* Folds the carries of a 64-bit partial sum back in (end-around carry),
 * which keeps the one's complement sum unchanged. */
static uint32_t fold32(uint64_t s)
{
    while (s >> 32)
        s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

/* An odd length is padded with one zero byte (RFC 1071 "zero-padded"), so
 * only the last piece of a checksummed region may have an odd length. */
/* The one's complement sum of 16-bit words in the machine's own byte
 * order, folded to 16 bits: eight bytes a load. */
static uint16_t native_sum(const uint8_t *p, size_t n)
{
    uint64_t a = 0, b = 0; /* two chains, so the adds overlap */
    for (; n >= 32; p += 32, n -= 32) {
        uint64_t w[4];
        memcpy(w, p, 32);
        a += (w[0] & 0xffffffffu) + (w[0] >> 32) + (w[1] & 0xffffffffu) +
             (w[1] >> 32);
        b += (w[2] & 0xffffffffu) + (w[2] >> 32) + (w[3] & 0xffffffffu) +
             (w[3] >> 32);
    }
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        a += (w & 0xffffffffu) + (w >> 32);
    }
    /* no overflow: each chain gains < 2^34 a step, for < 2^29 steps */
    uint32_t s = fold32((uint64_t)fold32(a) + fold32(b));
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* An odd length is padded with one zero byte (RFC 1071 "zero-padded"), so
 * only the last piece of a checksummed region may have an odd length. */
uint32_t sf_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = sum;
    /* RFC 1071 2(B): the sum is independent of byte order but for a byte
     * swap of the result, so the bulk is summed in the machine's order and
     * swapped once into the big-endian sum the callers keep. */
    size_t bulk = len & ~(size_t)7;
    if (bulk) {
        const uint16_t one = 1;
        uint16_t n = native_sum(p, bulk);
        if (*(const uint8_t *)&one) /* little-endian */
            n = (uint16_t)(n << 8 | n >> 8);
        s += n;
    }
    size_t i = bulk;
    for (; i + 1 < len; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < len)
        s += (uint32_t)p[i] << 8;
    return fold32(s);
}

uint16_t sf_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t sf_csum_add_at(uint32_t sum, const void *data, size_t len, size_t at)
{
    if (!(at & 1))
        return sf_csum_add(sum, data, len);
    /* RFC 1071 2(B): swapping the bytes of every word swaps the sum; the
     * piece's own sum, folded to 16 bits first, swapped, is its sum one
     * byte along (its first byte the low half of the word it shares) */
    uint32_t s = sf_csum_add(0, data, len);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return fold32((uint64_t)sum + (uint16_t)(s << 8 | s >> 8));
}
