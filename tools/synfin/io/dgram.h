/* One TCP datagram of either IP version, as the tools that show segments
 * read it (the ladder, the sim's JSON trace and scenarios, synfin ladder
 * on captures): the wire layer's own checks (sf_ipv4_parse and
 * sf_tcp_parse, or sf_ipv6_parse and sf_tcp6_parse), then the addresses
 * as struct sf_addr with the TCP ports. */
#ifndef SF_TOOLS_DGRAM_H
#define SF_TOOLS_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/synfin.h"
#include "synfin/wire.h"

struct dgram {
    bool v6;
    struct sf_addr src, dst; /* with the TCP ports */
    uint8_t ttl;             /* IPv4 TTL, IPv6 hop limit */
    uint16_t id;             /* IPv4 identification (IPv6: 0) */
    uint32_t flow;           /* IPv6 flow label (IPv4: 0) */
    struct sf_tcp t;
};

/* Parses the datagram d of len bytes by its version nibble: 6 as IPv6,
 * anything else as IPv4 (whose parser names a bad version). Returns
 * SF_DROP_NONE or why it is not a valid TCP segment. Unlike a stack it
 * takes ::1 (a capture on loopback). */
enum sf_drop dgram_parse(const uint8_t *d, size_t len, struct dgram *g);

/* Writes segment t from src to dst (both of one family; the ports are
 * t's) as an IPv4 (TTL 64) or IPv6 (hop limit 64) datagram into buf:
 * sf_emit or sf_emit6. Returns its length, 0 if it does not fit or the
 * families differ. */
size_t dgram_emit(uint8_t *buf, size_t cap, const struct sf_addr *src,
                  const struct sf_addr *dst, const struct sf_tcp *t);

#endif
