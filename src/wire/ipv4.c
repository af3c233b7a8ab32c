/* IPv4 header parse and emit (RFC 791). Options in the header are allowed
 * and skipped; fragments are not reassembled and so are dropped. */
#include "synfin/wire.h"
#include "wire/bytes.h"
#include "wire/wire_int.h"

#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff

/* RFC 1122 3.2.1.3: a source address must not be 0 ("this host", except
 * while booting), the limited broadcast, or a class D (multicast) address;
 * answering any of them would misdirect our replies (RSTs, SYN-ACKs). */
static bool bad_source(uint32_t src)
{
    return src == 0 || src == 0xffffffffu || (src >> 28) == 0xe;
}

enum sf_drop sf_ipv4_parse(const uint8_t *buf, size_t len, struct sf_ipv4 *ip)
{
    if (len < SF_IPV4_HDR_MIN)
        return SF_DROP_IP_SHORT;
    if (buf[0] >> 4 != 4)
        return SF_DROP_IP_VERSION;
    size_t hl = (size_t)(buf[0] & 0x0f) * 4;
    if (hl < SF_IPV4_HDR_MIN || hl > len)
        return SF_DROP_IP_HDRLEN;
    /* A longer buffer is link padding (Ethernet minimum frame); a shorter
     * one is a truncated datagram. */
    size_t tot = wire_get16(buf + 2);
    if (tot < hl || tot > len)
        return SF_DROP_IP_TOTLEN;
    if (sf_csum_fold(sf_csum_add(0, buf, hl)) != 0)
        return SF_DROP_IP_CSUM;
    uint16_t frag = wire_get16(buf + 6);
    if (frag & (IP_MF | IP_OFFMASK))
        return SF_DROP_IP_FRAGMENT;
    uint32_t src = wire_get32(buf + 12);
    if (bad_source(src))
        return SF_DROP_IP_BAD_SRC;
    ip->src = src;
    ip->dst = wire_get32(buf + 16);
    ip->proto = buf[9];
    ip->ttl = buf[8];
    ip->tos = buf[1];
    ip->id = wire_get16(buf + 4);
    ip->payload = buf + hl;
    ip->payload_len = tot - hl;
    return SF_DROP_NONE;
}

/* Writes the 20-byte header for a datagram of total length tot carrying
 * protocol proto. DF is set: we never fragment, and rely on path MTU
 * discovery (RFC 1191). */
void wire_ipv4_emit_hdr(uint8_t *p, const struct sf_ipv4 *ip, uint16_t tot,
                        uint8_t proto)
{
    p[0] = 0x45;
    p[1] = ip->tos;
    wire_put16(p + 2, tot);
    wire_put16(p + 4, ip->id);
    wire_put16(p + 6, IP_DF);
    p[8] = ip->ttl ? ip->ttl : 64;
    p[9] = proto;
    wire_put16(p + 10, 0);
    wire_put32(p + 12, ip->src);
    wire_put32(p + 16, ip->dst);
    wire_put16(p + 10, sf_csum_fold(sf_csum_add(0, p, SF_IPV4_HDR_MIN)));
}
