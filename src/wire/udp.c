/* UDP header parse and emit (RFC 768), over IPv4 or IPv6 (RFC 8200 8.1).
 * Pure: no state, no allocation, nothing read or written outside the
 * buffers given. */
#include "wire/bytes.h"
#include "wire/wire_int.h"

#include <string.h>

/* The checks common to both IP versions, on the len bytes of IP payload
 * at p. pseudo is the pseudo-header sum without its length, to which the
 * UDP Length is added once known; zero_ok says whether an all-zero
 * checksum is "none sent" (IPv4) or invalid (IPv6). */
static enum sf_drop udp_parse_body(const uint8_t *p, size_t len,
                                   uint32_t (*pseudo)(const void *, size_t),
                                   const void *ip, bool zero_ok,
                                   struct sf_udp *u)
{
    if (len < SF_UDP_HDR_LEN)
        return SF_DROP_UDP_SHORT;
    /* RFC 768: "Length is the length in octets of this user datagram
     * including this header and the data. (This means the minimum value
     * of the length is eight.)" A Length shorter than the IP payload
     * leaves trailing bytes that are not the datagram's (ignored); a
     * longer one is a truncated datagram. */
    size_t ulen = wire_get16(p + 4);
    if (ulen < SF_UDP_HDR_LEN || ulen > len)
        return SF_DROP_UDP_LEN;
    uint16_t csum = wire_get16(p + 6);
    if (csum == 0) {
        /* RFC 768: "An all zero transmitted checksum value means that
         * the transmitter generated no checksum". RFC 8200 8.1: "unlike
         * IPv4, the default behavior when UDP packets are originated by
         * an IPv6 node is that the UDP checksum is not optional ... IPv6
         * receivers must discard UDP packets containing a zero
         * checksum". */
        if (!zero_ok)
            return SF_DROP_UDP_CSUM_ZERO6;
    } else if (sf_csum_fold(sf_csum_add(pseudo(ip, ulen), p, ulen)) != 0) {
        /* RFC 768: the checksum covers the pseudo-header, the UDP header
         * and the data (up to Length, padded with a zero byte). */
        return SF_DROP_UDP_CSUM;
    }
    u->sport = wire_get16(p);
    u->dport = wire_get16(p + 2);
    /* Port 0 is reserved (IANA); nothing listens on it, and a relay
     * cannot send to it. (Source port 0 is legal: RFC 768 "if not used,
     * a value of zero is inserted".) */
    if (u->dport == 0)
        return SF_DROP_UDP_PORT_ZERO;
    u->payload = p + SF_UDP_HDR_LEN;
    u->len = ulen - SF_UDP_HDR_LEN;
    return SF_DROP_NONE;
}

static uint32_t pseudo4(const void *ip, size_t len)
{
    const struct sf_ipv4 *h = ip;
    return wire_pseudo_sum_proto(h->src, h->dst, len, SF_IPPROTO_UDP_NUM);
}

static uint32_t pseudo6(const void *ip, size_t len)
{
    const struct sf_ipv6 *h = ip;
    return wire_pseudo6_sum_proto(h->src, h->dst, len, SF_IPPROTO_UDP_NUM);
}

enum sf_drop sf_udp_parse(const struct sf_ipv4 *ip, struct sf_udp *u)
{
    if (ip->proto != SF_IPPROTO_UDP_NUM)
        return SF_DROP_UDP_PROTO;
    return udp_parse_body(ip->payload, ip->payload_len, pseudo4, ip, true, u);
}

enum sf_drop sf_udp6_parse(const struct sf_ipv6 *ip, struct sf_udp *u)
{
    if (ip->proto != SF_IPPROTO_UDP_NUM)
        return SF_DROP_UDP_PROTO;
    return udp_parse_body(ip->payload, ip->payload_len, pseudo6, ip, false,
                          u);
}

/* Writes the UDP header and payload of ulen bytes at p, with the checksum
 * for the pseudo-header sum given. */
static void udp_emit_body(uint8_t *p, const struct sf_udp *u, size_t ulen,
                          uint32_t pseudo)
{
    /* The payload first: it may sit where it is about to be written
     * (a caller building the datagram in place). */
    if (u->len)
        memmove(p + SF_UDP_HDR_LEN, u->payload, u->len);
    wire_put16(p, u->sport);
    wire_put16(p + 2, u->dport);
    wire_put16(p + 4, (uint16_t)ulen);
    wire_put16(p + 6, 0);
    uint16_t c = sf_csum_fold(sf_csum_add(pseudo, p, ulen));
    /* RFC 768: "If the computed checksum is zero, it is transmitted as
     * all ones (the equivalent in one's complement arithmetic)": zero
     * means "no checksum" on the wire. */
    wire_put16(p + 6, c ? c : 0xffff);
}

size_t sf_udp_emit(uint8_t *buf, size_t cap, const struct sf_ipv4 *ip,
                   const struct sf_udp *u)
{
    size_t ulen = SF_UDP_HDR_LEN + u->len;
    size_t tot = SF_IPV4_HDR_MIN + ulen;
    if (u->len > 0xffff || tot > 0xffff || tot > cap)
        return 0;
    udp_emit_body(buf + SF_IPV4_HDR_MIN, u, ulen,
                  wire_pseudo_sum_proto(ip->src, ip->dst, ulen,
                                        SF_IPPROTO_UDP_NUM));
    wire_ipv4_emit_hdr(buf, ip, (uint16_t)tot, SF_IPPROTO_UDP_NUM);
    return tot;
}

size_t sf_udp_emit6(uint8_t *buf, size_t cap, const struct sf_ipv6 *ip,
                    const struct sf_udp *u)
{
    size_t ulen = SF_UDP_HDR_LEN + u->len;
    /* RFC 8200 3: the Payload Length is 16 bits; jumbograms (RFC 2675,
     * UDP Length 0) are not sent. */
    if (u->len > 0xffff || ulen > 0xffff || cap < SF_IPV6_HDR_LEN ||
        ulen > cap - SF_IPV6_HDR_LEN)
        return 0;
    udp_emit_body(buf + SF_IPV6_HDR_LEN, u, ulen,
                  wire_pseudo6_sum_proto(ip->src, ip->dst, ulen,
                                         SF_IPPROTO_UDP_NUM));
    wire_ipv6_emit_hdr(buf, ip, (uint16_t)ulen, SF_IPPROTO_UDP_NUM);
    return SF_IPV6_HDR_LEN + ulen;
}
