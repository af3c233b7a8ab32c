/* SipHash-2-4 (Aumasson and Bernstein), the keyed hash behind synfin's ISNs,
 * SYN cookies, ephemeral ports and demux table. Pure; no state. */
#ifndef SF_BASE_SIPHASH_H
#define SF_BASE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The 64-bit SipHash-2-4 of data under a 16-byte key. */
uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

struct sf_addr;
/* SipHash-2-4 of a connection's 4-tuple (local then remote address and
 * port, little-endian): the ISN's F() and the demux tables' hash. */
uint64_t siphash_tuple(const uint8_t key[16], const struct sf_addr *local,
                          const struct sf_addr *remote);

#endif
