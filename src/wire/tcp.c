/* TCP header parse and emit (RFC 9293 3.1), over IPv4 or IPv6. */
#include "wire/bytes.h"
#include "wire/wire_int.h"

#include <string.h>

/* RFC 9293 3.1 (and RFC 768 for UDP): the checksum covers a 96-bit
 * pseudo-header of source and destination address, zero, protocol and
 * TCP (UDP) length. */
uint32_t wire_pseudo_sum_proto(uint32_t src, uint32_t dst, size_t len,
                               uint8_t proto)
{
    uint8_t ph[12];
    wire_put32(ph, src);
    wire_put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    wire_put16(ph + 10, (uint16_t)len);
    return sf_csum_add(0, ph, sizeof ph);
}

uint32_t wire_pseudo_sum(uint32_t src, uint32_t dst, size_t tcplen)
{
    return wire_pseudo_sum_proto(src, dst, tcplen, SF_IPPROTO_TCP_NUM);
}

/* RFC 8200 8.1: over IPv6 the pseudo-header is the two 128-bit addresses,
 * a 32-bit Upper-Layer Packet Length, 24 zero bits and the Next Header
 * "of the upper-layer protocol": 6, whatever extension headers come
 * before TCP. At the recipient the destination is the one in the IPv6
 * header (a Routing header's final destination is already there). */
uint32_t wire_pseudo6_sum_proto(const uint8_t src[16], const uint8_t dst[16],
                                size_t len, uint8_t proto)
{
    uint8_t ph[8];
    wire_put32(ph, (uint32_t)len);
    ph[4] = ph[5] = ph[6] = 0;
    ph[7] = proto;
    uint32_t sum = sf_csum_add(0, src, 16);
    sum = sf_csum_add(sum, dst, 16);
    return sf_csum_add(sum, ph, sizeof ph);
}

uint32_t wire_pseudo6_sum(const uint8_t src[16], const uint8_t dst[16],
                          size_t tcplen)
{
    return wire_pseudo6_sum_proto(src, dst, tcplen, SF_IPPROTO_TCP_NUM);
}

/* The checks and fields common to both IP versions, on the len bytes of
 * the segment at p; pseudo is the pseudo-header sum for len. */
static enum sf_drop tcp_parse_body(const uint8_t *p, size_t len,
                                   uint32_t pseudo, unsigned flags,
                                   struct sf_tcp *seg)
{
    if (len < SF_TCP_HDR_MIN)
        return SF_DROP_TCP_SHORT;
    size_t doff = (size_t)(p[12] >> 4) * 4;
    if (doff < SF_TCP_HDR_MIN || doff > len)
        return SF_DROP_TCP_DOFF;
    /* RFC 9293 3.1: the checksum covers the pseudo-header, the header
     * and the data. SF_CSUM_VALID: the device vouched for it (virtio 1.x
     * 5.1.6.2: NEEDS_CSUM from the local kernel, which never computed
     * it, or DATA_VALID: checked already); the lengths above and below
     * are checked all the same. */
    if (!(flags & SF_CSUM_VALID) &&
        sf_csum_fold(sf_csum_add(pseudo, p, len)) != 0)
        return SF_DROP_TCP_CSUM;
    seg->sport = wire_get16(p);
    seg->dport = wire_get16(p + 2);
    /* RFC 9293 3.1: port 0 is reserved; nothing may be sent to or from it. */
    if (seg->sport == 0 || seg->dport == 0)
        return SF_DROP_TCP_PORT_ZERO;
    enum sf_drop d = wire_opts_parse(p + SF_TCP_HDR_MIN,
                                       doff - SF_TCP_HDR_MIN, &seg->opt);
    if (d != SF_DROP_NONE)
        return d;
    seg->flags = p[13];
    /* SYN opens, RST ends: together they are a scan or an attack (the
     * "Christmas tree" probes); no peer sends them. SYN with FIN is left
     * to the states: RFC 9293 3.10.7 gives each one its answer (a RST
     * from CLOSED, a challenge ACK in the synchronized states, ...). */
    if ((seg->flags & SF_SYN) && (seg->flags & SF_RST))
        return SF_DROP_TCP_FLAGS;
    seg->seq = wire_get32(p + 4);
    seg->ack = wire_get32(p + 8);
    seg->win = wire_get16(p + 14);
    seg->urp = wire_get16(p + 18);
    seg->payload = p + doff;
    seg->len = len - doff;
    return SF_DROP_NONE;
}

enum sf_drop sf_tcp_parse_ex(const struct sf_ipv4 *ip, struct sf_tcp *seg,
                             unsigned flags)
{
    if (ip->proto != SF_IPPROTO_TCP_NUM)
        return SF_DROP_IP_PROTO;
    uint32_t pseudo = flags & SF_CSUM_VALID
                          ? 0 : wire_pseudo_sum(ip->src, ip->dst, ip->payload_len);
    return tcp_parse_body(ip->payload, ip->payload_len, pseudo, flags, seg);
}

enum sf_drop sf_tcp_parse(const struct sf_ipv4 *ip, struct sf_tcp *seg)
{
    return sf_tcp_parse_ex(ip, seg, 0);
}

enum sf_drop sf_tcp6_parse(const struct sf_ipv6 *ip, struct sf_tcp *seg)
{
    return sf_tcp6_parse_ex(ip, seg, 0);
}

enum sf_drop sf_tcp6_parse_ex(const struct sf_ipv6 *ip, struct sf_tcp *seg,
                              unsigned flags)
{
    if (ip->proto != SF_IPPROTO_TCP_NUM)
        return SF_DROP_IP6_PROTO;
    /* RFC 9293 3.9.2.3: "A TCP implementation MUST silently discard an
     * incoming SYN segment that is addressed to a broadcast or multicast
     * address" (MUST-57), guidance "applicable to all incoming segments".
     * (Over IPv4 the stack's address match does this.) */
    if (ip->dst[0] == 0xff)
        return SF_DROP_IP6_BAD_DST;
    uint32_t pseudo = flags & SF_CSUM_VALID
                          ? 0 : wire_pseudo6_sum(ip->src, ip->dst, ip->payload_len);
    return tcp_parse_body(ip->payload, ip->payload_len, pseudo, flags, seg);
}

static void tcp_emit_hdr(uint8_t *p, const struct sf_tcp *seg, size_t doff)
{
    wire_put16(p, seg->sport);
    wire_put16(p + 2, seg->dport);
    wire_put32(p + 4, seg->seq);
    wire_put32(p + 8, seg->ack);
    p[12] = (uint8_t)(doff / 4) << 4;
    p[13] = seg->flags;
    wire_put16(p + 14, seg->win);
    wire_put16(p + 16, 0);
    wire_put16(p + 18, seg->urp);
    wire_opts_emit(p + SF_TCP_HDR_MIN, &seg->opt);
}

size_t sf_emit(uint8_t *buf, size_t cap, const struct sf_ipv4 *ip,
               const struct sf_tcp *seg)
{
    return sf_emit_ex(buf, cap, ip, seg, 0);
}

size_t sf_emit6(uint8_t *buf, size_t cap, const struct sf_ipv6 *ip,
                const struct sf_tcp *seg)
{
    return sf_emit6_ex(buf, cap, ip, seg, 0);
}

/* Writes the TCP header (doff bytes, options included) at p and its
 * checksum over the pseudo-header sum for the segment's length, the
 * header, and the payload whose sum paysum is; with SF_CSUM_PARTIAL only
 * the pseudo-header sum (folded, not complemented: virtio 1.x 5.1.6.2),
 * for the device to add the segment's bytes to. */
static void tcp_emit_hdr_sum(uint8_t *p, const struct sf_tcp *seg,
                             size_t doff, uint32_t pseudo, unsigned flags,
                             uint32_t paysum)
{
    tcp_emit_hdr(p, seg, doff);
    if (flags & SF_CSUM_PARTIAL) {
        wire_put16(p + 16, (uint16_t)~sf_csum_fold(pseudo));
        return;
    }
    /* RFC 9293 3.1, RFC 1071: the header (doff bytes, even) and then the
     * payload; the two 32-bit sums added with the end-around carry */
    uint64_t s = (uint64_t)sf_csum_add(pseudo, p, doff) + paysum;
    s = (s & 0xffffffffu) + (s >> 32);
    wire_put16(p + 16, sf_csum_fold((uint32_t)s));
}

size_t sf_emit_hdr(uint8_t *buf, size_t cap, const struct sf_ipv4 *ip,
                   const struct sf_tcp *seg, unsigned flags, uint32_t paysum)
{
    size_t doff = SF_TCP_HDR_MIN + sf_tcp_opts_len(&seg->opt);
    size_t tcplen = doff + seg->len;
    size_t tot = SF_IPV4_HDR_MIN + tcplen;
    if (seg->len > 0xffff || tot > 0xffff || tot > cap)
        return 0;
    wire_ipv4_emit_hdr(buf, ip, (uint16_t)tot, SF_IPPROTO_TCP_NUM);
    tcp_emit_hdr_sum(buf + SF_IPV4_HDR_MIN, seg, doff,
                     wire_pseudo_sum(ip->src, ip->dst, tcplen), flags, paysum);
    return SF_IPV4_HDR_MIN + doff;
}

size_t sf_emit6_hdr(uint8_t *buf, size_t cap, const struct sf_ipv6 *ip,
                    const struct sf_tcp *seg, unsigned flags, uint32_t paysum)
{
    size_t doff = SF_TCP_HDR_MIN + sf_tcp_opts_len(&seg->opt);
    size_t tcplen = doff + seg->len;
    if (seg->len > 0xffff || tcplen > 0xffff ||
        cap < SF_IPV6_HDR_LEN || tcplen > cap - SF_IPV6_HDR_LEN)
        return 0; /* RFC 8200 3: the Payload Length is 16 bits; jumbograms
                   * (RFC 2675) are not sent */
    wire_ipv6_emit_hdr(buf, ip, (uint16_t)tcplen, SF_IPPROTO_TCP_NUM);
    tcp_emit_hdr_sum(buf + SF_IPV6_HDR_LEN, seg, doff,
                     wire_pseudo6_sum(ip->src, ip->dst, tcplen), flags, paysum);
    return SF_IPV6_HDR_LEN + doff;
}

/* The whole datagram: its headers as sf_emit_hdr writes them (the
 * payload's sum taken first, where it lies), then the payload after them
 * (moved: it may already lie in buf). */
static uint32_t payload_sum(const struct sf_tcp *seg, unsigned flags)
{
    return seg->len && !(flags & SF_CSUM_PARTIAL)
               ? sf_csum_add(0, seg->payload, seg->len) : 0;
}

static size_t payload_after(uint8_t *buf, const struct sf_tcp *seg, size_t hl)
{
    if (hl && seg->len)
        memmove(buf + hl, seg->payload, seg->len);
    return hl ? hl + seg->len : 0;
}

size_t sf_emit_ex(uint8_t *buf, size_t cap, const struct sf_ipv4 *ip,
                  const struct sf_tcp *seg, unsigned flags)
{
    return payload_after(buf, seg, sf_emit_hdr(buf, cap, ip, seg, flags,
                                               payload_sum(seg, flags)));
}

size_t sf_emit6_ex(uint8_t *buf, size_t cap, const struct sf_ipv6 *ip,
                   const struct sf_tcp *seg, unsigned flags)
{
    return payload_after(buf, seg, sf_emit6_hdr(buf, cap, ip, seg, flags,
                                                payload_sum(seg, flags)));
}
