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
 * port, little-endian; IPv6 addresses as their 16 bytes): the ISN's F()
 * and the demux tables' hash. */
uint64_t siphash_tuple(const uint8_t key[16], const struct sf_addr *local,
                          const struct sf_addr *remote);
/* Writes a's address into b as hash input: an IPv4 address as 4 bytes
 * little-endian, an IPv6 one as its 16 bytes; returns how many. */
size_t siphash_put_addr(uint8_t *b, const struct sf_addr *a);
/* Writes v as 4 bytes little-endian; returns 4. */
size_t siphash_put32(uint8_t *b, uint32_t v);

#endif
