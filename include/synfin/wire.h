/* synfin's wire codec, public: IPv4, IPv6 and TCP parse and emit, the
 * Internet checksum, IPv6 address text. Pure functions over byte buffers: no state, no allocation,
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
#define SF_IPPROTO_ICMP_NUM 1
#define SF_IPPROTO_ICMPV6_NUM 58

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
/* sf_csum_add for len bytes that lie at byte offset `at` of the region
 * summed, after pieces of any length (sf_csum_add assumes an even
 * offset): at an odd one each byte sits in the other half of its 16-bit
 * word, and the piece's sum is byte-swapped (RFC 1071 2(B)). */
uint32_t sf_csum_add_at(uint32_t sum, const void *data, size_t len, size_t at);

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

/* ------------------------------------------------------------------ IPv6 */

#define SF_IPV6_HDR_LEN 40
/* The most extension headers sf_ipv6_parse walks before the upper-layer
 * header; a datagram with more is dropped (SF_DROP_IP6_EXT_MANY). RFC 8200
 * 4.1 asks for each at most once (Destination Options twice): 8 leaves
 * room for every header it lists, and no datagram needs more. */
#define SF_IPV6_EXT_MAX 8
/* In a Hop-by-Hop or Destination Options header: the longest run of
 * padding (Pad1, PadN) and the most other options accepted. Padding only
 * aligns (RFC 8200 4.2), which never takes 8 bytes in a row. */
#define SF_IPV6_PAD_MAX 7
#define SF_IPV6_OPT_MAX 8
/* Room for any sf_ip6_fmt text and its NUL (INET6_ADDRSTRLEN). */
#define SF_IP6_STRLEN 46

/* A checked IPv6 header (RFC 8200 3) and the extension headers before the
 * upper-layer header. Addresses as on the wire (network byte order). */
struct sf_ipv6 {
    uint8_t src[16], dst[16];
    uint8_t proto;   /* the Next Header of the upper layer (6 for TCP) */
    uint8_t hlim;    /* hop limit */
    uint8_t tclass;  /* traffic class: DSCP << 2 | ECN, as IPv4's tos */
    uint32_t flow;   /* flow label (20 bits) */
    uint8_t nexthdrs; /* extension headers walked, 0..SF_IPV6_EXT_MAX */
    size_t hdr_len;  /* 40 + extension headers: the offset of the payload */
    const uint8_t *payload; /* the upper-layer header, in the parsed buffer */
    size_t payload_len;     /* payload length minus extension headers */
};

/* Checks version 6, the payload length within the buffer (trailing bytes
 * past it are ignored, as link padding), the addresses (source not
 * multicast, unspecified, loopback or IPv4-mapped; destination not
 * unspecified, loopback or IPv4-mapped), and walks the extension headers:
 * Hop-by-Hop (first only), Destination Options (each option checked by the
 * action bits of its type), Routing with Segments Left 0 and a Fragment
 * header that is a whole datagram are skipped by their lengths; a real
 * fragment, ESP, AH and the other extension headers, more than
 * SF_IPV6_EXT_MAX of them, or one running past the payload are dropped.
 * Does not check proto. */
enum sf_drop sf_ipv6_parse(const uint8_t *buf, size_t len,
                           struct sf_ipv6 *ip);

/* sf_tcp_parse for a segment in IPv6: proto TCP, destination not
 * multicast, then the same checks as over IPv4 with the checksum over the
 * IPv6 pseudo-header (RFC 8200 8.1). */
enum sf_drop sf_tcp6_parse(const struct sf_ipv6 *ip, struct sf_tcp *seg);

/* sf_emit over IPv6: a 40-byte header (no extension headers) from ip (src,
 * dst, tclass, flow; hop limit hlim, or 64 when 0; next header TCP), then
 * the TCP segment as sf_emit writes it. Returns the datagram length, or 0
 * if cap is too small or the segment exceeds 65535 bytes. */
size_t sf_emit6(uint8_t *buf, size_t cap, const struct sf_ipv6 *ip,
                const struct sf_tcp *seg);

/* Writes the RFC 5952 text of a 16-byte address into buf (at least
 * SF_IP6_STRLEN bytes for any address) and returns buf; "" if buf is NULL
 * or len 0, truncated text if len is short (as snprintf). */
const char *sf_ip6_fmt(const uint8_t a[16], char *buf, size_t len);

/* Parses an RFC 4291 2.2 text address (hex groups, one "::", an IPv4
 * dotted quad in the last 32 bits, either case) into out[16]; returns 0 or
 * SF_EINVAL, leaving out untouched on error. No zone ("%eth0"), prefix
 * ("/64") or brackets. */
int sf_ip6_parse(const char *s, uint8_t out[16]);

/* ------------------------------------------------------------------- UDP */

#define SF_UDP_HDR_LEN 8
#define SF_IPPROTO_UDP_NUM 17

/* A checked UDP datagram (RFC 768). */
struct sf_udp {
    uint16_t sport, dport;
    const uint8_t *payload; /* points into the parsed buffer */
    size_t len;             /* payload length: the UDP Length field - 8 */
};

/* Checks proto is UDP, the 8-byte header within the IP payload, the
 * Length field (>= 8, not past the IP payload; bytes after it are
 * ignored, as IP padding), the checksum over the pseudo-header (RFC 768;
 * an all-zero checksum means none was sent and is accepted) and a non-zero
 * destination port. */
enum sf_drop sf_udp_parse(const struct sf_ipv4 *ip, struct sf_udp *u);

/* sf_udp_parse over IPv6: the pseudo-header of RFC 8200 8.1, and a zero
 * checksum is dropped (SF_DROP_UDP_CSUM_ZERO6: RFC 8200 8.1 "IPv6
 * receivers must discard UDP packets containing a zero checksum"). */
enum sf_drop sf_udp6_parse(const struct sf_ipv6 *ip, struct sf_udp *u);

/* Writes a whole IPv4+UDP datagram into buf: the IPv4 header from ip
 * (src, dst, ttl (64 when 0), tos, id; proto UDP; DF set), the UDP header
 * from u (ports, length 8 + u->len) and u->payload (which may overlap buf
 * at its final place). The checksum is always computed (RFC 768: a
 * computed 0 is sent as 0xffff). Returns the datagram length, or 0 if cap
 * is too small or the datagram exceeds 65535 bytes. */
size_t sf_udp_emit(uint8_t *buf, size_t cap, const struct sf_ipv4 *ip,
                   const struct sf_udp *u);

/* sf_udp_emit over IPv6: a 40-byte header (no extension headers) from ip
 * (src, dst, tclass, flow, hlim (64 when 0); next header UDP). Returns the
 * datagram length, or 0 if cap is too small or the UDP datagram exceeds
 * 65535 bytes (no jumbograms). */
size_t sf_udp_emit6(uint8_t *buf, size_t cap, const struct sf_ipv6 *ip,
                    const struct sf_udp *u);

/* ------------------------------------------------------ checksum offload
 * For a device that checks or completes TCP checksums itself (a TUN
 * device with IFF_VNET_HDR: virtio 1.x 5.1.6.2, docs/tun.md). */

/* Parse: the TCP checksum is not checked (the device vouched for it:
 * VIRTIO_NET_HDR_F_NEEDS_CSUM from the local kernel, which never computed
 * it, or VIRTIO_NET_HDR_F_DATA_VALID). Every other check stays. */
#define SF_CSUM_VALID 1u
/* Emit: the TCP checksum field gets only the pseudo-header sum (RFC 9293
 * 3.1; RFC 8200 8.1), folded and not complemented, for the device to add
 * the bytes from the TCP header on (virtio NEEDS_CSUM with csum_start the
 * TCP header, csum_offset 16). */
#define SF_CSUM_PARTIAL 2u

/* sf_tcp_parse, sf_tcp6_parse, sf_emit and sf_emit6 with flags (0: the
 * same as those). */
enum sf_drop sf_tcp_parse_ex(const struct sf_ipv4 *ip, struct sf_tcp *seg,
                             unsigned flags);
enum sf_drop sf_tcp6_parse_ex(const struct sf_ipv6 *ip, struct sf_tcp *seg,
                              unsigned flags);
size_t sf_emit_ex(uint8_t *buf, size_t cap, const struct sf_ipv4 *ip,
                  const struct sf_tcp *seg, unsigned flags);
size_t sf_emit6_ex(uint8_t *buf, size_t cap, const struct sf_ipv6 *ip,
                   const struct sf_tcp *seg, unsigned flags);

/* sf_emit_ex and sf_emit6_ex for a payload sent from elsewhere (a gather
 * output, sf_stack_cfg.output_gather): writes only the IP and TCP headers
 * of the datagram that carries seg->len payload bytes after them
 * (seg->payload is not read) and returns the headers' length (0 where
 * sf_emit_ex would return 0: the whole datagram must fit in cap, too).
 * paysum is the payload's sum, sf_csum_add(_at) from 0 over its bytes in
 * order (unused with SF_CSUM_PARTIAL). */
size_t sf_emit_hdr(uint8_t *buf, size_t cap, const struct sf_ipv4 *ip,
                   const struct sf_tcp *seg, unsigned flags, uint32_t paysum);
size_t sf_emit6_hdr(uint8_t *buf, size_t cap, const struct sf_ipv6 *ip,
                    const struct sf_tcp *seg, unsigned flags, uint32_t paysum);

#endif
