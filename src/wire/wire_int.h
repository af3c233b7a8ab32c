/* Cross-file internals of src/wire (not part of the wire.h interface). */
#ifndef SF_WIRE_WIRE_INT_H
#define SF_WIRE_WIRE_INT_H

#include "synfin/wire.h"

/* ipv4.c: the 20-byte IPv4 header (no options) for total length tot,
 * protocol proto (TCP, UDP). */
void wire_ipv4_emit_hdr(uint8_t *p, const struct sf_ipv4 *ip, uint16_t tot,
                        uint8_t proto);

/* ipv6.c: the 40-byte IPv6 header (no extension headers, next header
 * proto) for a payload of plen bytes. */
void wire_ipv6_emit_hdr(uint8_t *p, const struct sf_ipv6 *ip, uint16_t plen,
                        uint8_t proto);

/* options.c: parses optlen bytes of TCP options into *opt. */
enum sf_drop wire_opts_parse(const uint8_t *p, size_t optlen,
                               struct sf_tcp_opts *opt);
/* options.c: writes exactly sf_tcp_opts_len(opt) bytes at p. */
void wire_opts_emit(uint8_t *p, const struct sf_tcp_opts *opt);

/* tcp.c: the pseudo-header sum (RFC 9293 3.1) for a TCP length. */
uint32_t wire_pseudo_sum(uint32_t src, uint32_t dst, size_t tcplen);
/* tcp.c: the IPv6 pseudo-header sum (RFC 8200 8.1) for a TCP length. */
uint32_t wire_pseudo6_sum(const uint8_t src[16], const uint8_t dst[16],
                          size_t tcplen);
/* tcp.c: the same two sums for any upper-layer protocol (UDP: RFC 768). */
uint32_t wire_pseudo_sum_proto(uint32_t src, uint32_t dst, size_t len,
                               uint8_t proto);
uint32_t wire_pseudo6_sum_proto(const uint8_t src[16], const uint8_t dst[16],
                                size_t len, uint8_t proto);

#endif
