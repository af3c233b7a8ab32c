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

/* Where the machine has wider vector units than its baseline (x86-64:
 * AVX2 beside the SSE2 every x86-64 has), the sum below is compiled once
 * for each and the loader picks the one this CPU runs (GCC and clang's
 * target_clones, an ifunc); elsewhere it is compiled once, for the
 * baseline. Either way the same source and the same result. */
#if defined(__x86_64__) && defined(__ELF__) && !defined(__wasm__)
#define SF_CSUM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SF_CSUM_CLONES
#endif

/* Eight 32-bit lanes (GCC and clang's vector extension: two SSE2 or NEON
 * registers, or one AVX2 register). */
typedef uint32_t sf_v8u32 __attribute__((vector_size(32)));

/* The one's complement sum of 16-bit words in the machine's own byte
 * order, folded to 16 bits: 64 bytes a step. Each 32-bit word is split
 * into its two 16-bit halves, added into 32-bit lanes; the carries out of
 * 16 bits stay in each lane's upper half and are added back at the end
 * (RFC 1071 2(C): deferred carries). */
SF_CSUM_CLONES
static uint16_t native_sum(const uint8_t *p, size_t n)
{
    const sf_v8u32 lo16 = {0xffff, 0xffff, 0xffff, 0xffff,
                           0xffff, 0xffff, 0xffff, 0xffff};
    uint64_t s = 0;
    while (n >= 64) {
        /* a lane gains less than 2^17 a step: 2^15 steps (2 MB) fit */
        size_t steps = n / 64 < 32768 ? n / 64 : 32768;
        sf_v8u32 a = {0}, b = {0}, x, y;
        for (size_t i = 0; i < steps; i++, p += 64) {
            memcpy(&x, p, sizeof x);
            memcpy(&y, p + 32, sizeof y);
            a += (x & lo16) + (x >> 16);
            b += (y & lo16) + (y >> 16);
        }
        n -= steps * 64;
        for (int i = 0; i < 8; i++)
            s += (uint64_t)a[i] + b[i];
    }
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        s += (w & 0xffffffffu) + (w >> 32);
    }
    uint32_t f = fold32(s);
    f = (f & 0xffff) + (f >> 16);
    f = (f & 0xffff) + (f >> 16);
    return (uint16_t)f;
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
