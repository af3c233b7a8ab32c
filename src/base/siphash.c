/* SipHash-2-4, after the reference implementation by Aumasson and
 * Bernstein ("SipHash: a fast short-input PRF", 2012). Byte order is fixed
 * little-endian regardless of the host, so hashes (and hence ISNs and SYN
 * cookies) are the same on every machine. */
#include "base/siphash.h"
#include "synfin/synfin.h"

static uint64_t rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

/* Written out, not as a loop: compilers see one little-endian load. */
static uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
           (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* One SipRound on v0..v3, kept in locals (a macro, not a function taking
 * a struct: the state then stays in registers; this hash runs several
 * times per connection and once per segment in the demux). */
#define SIP_ROUND(v0, v1, v2, v3)                                             \
    do {                                                                      \
        v0 += v1;                                                             \
        v1 = rotl(v1, 13);                                                    \
        v1 ^= v0;                                                             \
        v0 = rotl(v0, 32);                                                    \
        v2 += v3;                                                             \
        v3 = rotl(v3, 16);                                                    \
        v3 ^= v2;                                                             \
        v0 += v3;                                                             \
        v3 = rotl(v3, 21);                                                    \
        v3 ^= v0;                                                             \
        v2 += v1;                                                             \
        v1 = rotl(v1, 17);                                                    \
        v1 ^= v2;                                                             \
        v2 = rotl(v2, 32);                                                    \
    } while (0)

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        /* one message word: c = 2 compression rounds */
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3);
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }

    /* The last word holds the 0..7 remaining bytes and len mod 256 in its
     * top byte. */
    uint64_t b = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[full + i] << (8 * i);
    v3 ^= b;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= b;

    /* d = 4 finalization rounds. */
    v2 ^= 0xff;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

size_t siphash_put_addr(uint8_t *b, const struct sf_addr *a)
{
    if (a->family == SF_AF_INET6) {
        for (int k = 0; k < 16; k++)
            b[k] = a->ip6[k];
        return 16;
    }
    for (int k = 0; k < 4; k++)
        b[k] = (uint8_t)(a->ip >> (8 * k));
    return 4;
}

size_t siphash_put32(uint8_t *b, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        b[k] = (uint8_t)(v >> (8 * k));
    return 4;
}

uint64_t siphash_tuple(const uint8_t key[16], const struct sf_addr *local,
                          const struct sf_addr *remote)
{
    uint8_t b[36];
    size_t n = siphash_put_addr(b, local);
    n += siphash_put_addr(b + n, remote);
    n += siphash_put32(b + n, ((uint32_t)local->port << 16) | remote->port);
    return siphash24(key, b, n);
}
