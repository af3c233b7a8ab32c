/* synfin's wire codec, public: IPv4 and TCP parse and emit, the Internet
 * checksum. Pure functions over byte buffers: no state, no allocation,
 * never a read or write outside the buffer given. The stack uses them for
 * every datagram; drivers, capture readers and test tools use the same
 * code to read and build segments.
 * A parse either fills its struct and returns SF_DROP_NONE, or returns the
 * enum sf_drop reason the datagram must be dropped for. */
#ifndef SYNFIN_WIRE_H
#define SYNFIN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/synfin.h"

#define SF_IPV4_HDR_MIN 20
#define SF_TCP_HDR_MIN 20
#define SF_TCP_OPT_MAX 40
#define SF_IPPROTO_TCP_NUM 6

/* A checked IPv4 header. Addresses in host order. */
struct sf_ipv4 {
    uint32_t src, dst;
    uint8_t proto, ttl, tos;
    uint16_t id;
    const uint8_t *payload; /* points into the parsed buffer */
    size_t payload_len;     /* total length minus header length */
};

/* TCP options (RFC 9293 3.2; RFC 7323; RFC 2018). */
struct sf_tcp_opts {
    bool has_mss, has_wscale, sack_ok, has_ts;
    uint16_t mss;
    uint8_t wscale;
    uint8_t nsack; /* 0..4 blocks */
    uint32_t sack[4][2];
    uint32_t ts_val, ts_ecr;
};

/* A checked TCP segment. */
struct sf_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags; /* SF_FIN ... SF_CWR */
    uint16_t win, urp;
    struct sf_tcp_opts opt;
    const uint8_t *payload; /* points into the parsed buffer */
    size_t len;             /* payload length */
};

/* Internet checksum helpers (RFC 1071). sf_csum_add folds len bytes into a
 * 32-bit running sum; sf_csum_fold finishes it into the 16-bit one's
 * complement checksum. */
uint32_t sf_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t sf_csum_fold(uint32_t sum);

/* Checks version 4, IHL >= 5 and within the buffer, total length within the
 * buffer (trailing bytes past total length are ignored, as link padding),
 * header checksum, not a fragment (MF set or offset != 0), and that the
 * source is not 0, broadcast or multicast. Does not check proto. */
enum sf_drop sf_ipv4_parse(const uint8_t *buf, size_t len, struct sf_ipv4 *ip);

/* Checks proto is TCP, data offset >= 5 and within the payload, checksum
 * over the pseudo-header, ports non-zero, and parses the options: EOL ends
 * them; NOP; MSS (len 4), WS (3), SACK-permitted (2), SACK (2+8n, n 1..4),
 * timestamps (10); unknown kinds skipped by their length. A length < 2 or
 * running past the header is SF_DROP_TCP_OPT_LEN; a known kind with the
 * wrong length SF_DROP_TCP_OPT_BAD. SYN with RST is SF_DROP_TCP_FLAGS
 * (SYN with FIN is parsed: RFC 9293 3.10.7 answers it per state). */
enum sf_drop sf_tcp_parse(const struct sf_ipv4 *ip, struct sf_tcp *seg);

/* Writes a whole IPv4+TCP datagram into buf: header fields from ip (src,
 * dst, ttl, tos, id; proto forced to TCP; DF set), TCP from seg (options in
 * seg->opt are written in the order MSS, SACK-permitted, timestamps,
 * window scale, SACK blocks, NOP-padded to a multiple of 4), then
 * seg->payload. Computes both checksums. Returns the datagram length, or 0
 * if cap is too small. */
size_t sf_emit(uint8_t *buf, size_t cap, const struct sf_ipv4 *ip,
               const struct sf_tcp *seg);

/* Length in bytes of the options sf_emit would write (a multiple of 4). */
size_t sf_tcp_opts_len(const struct sf_tcp_opts *opt);

#endif
