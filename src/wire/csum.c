/* The Internet checksum (RFC 1071): the one's complement of the one's
 * complement sum of 16-bit big-endian words. */
#include "wire/wire.h"

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
uint32_t sf_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = sum;
    size_t i = 0;
    /* Four bytes at a time: a big-endian 32-bit word is two 16-bit words
     * w0 * 2^16 + w1, and 2^16 = 1 modulo 2^16 - 1, the modulus of the one's
     * complement sum, so adding it adds w0 + w1 (compilers turn the byte
     * assembly into one load and a byte swap). */
    for (; i + 8 <= len; i += 8) {
        s += (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
             (uint32_t)p[i + 2] << 8 | p[i + 3];
        s += (uint32_t)p[i + 4] << 24 | (uint32_t)p[i + 5] << 16 |
             (uint32_t)p[i + 6] << 8 | p[i + 7];
    }
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
