/* TCP header parse and emit (RFC 9293 3.1). */
#include "wire/bytes.h"
#include "wire/wire_int.h"

#include <string.h>

/* RFC 9293 3.1: the checksum covers a 96-bit pseudo-header of source and
 * destination address, zero, protocol and TCP length. */
uint32_t wire_pseudo_sum(uint32_t src, uint32_t dst, size_t tcplen)
{
    uint8_t ph[12];
    wire_put32(ph, src);
    wire_put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = SF_IPPROTO_TCP_NUM;
    wire_put16(ph + 10, (uint16_t)tcplen);
    return sf_csum_add(0, ph, sizeof ph);
}

enum sf_drop sf_tcp_parse(const struct sf_ipv4 *ip, struct sf_tcp *seg)
{
    const uint8_t *p = ip->payload;
    size_t len = ip->payload_len;
    if (ip->proto != SF_IPPROTO_TCP_NUM)
        return SF_DROP_IP_PROTO;
    if (len < SF_TCP_HDR_MIN)
        return SF_DROP_TCP_SHORT;
    size_t doff = (size_t)(p[12] >> 4) * 4;
    if (doff < SF_TCP_HDR_MIN || doff > len)
        return SF_DROP_TCP_DOFF;
    uint32_t sum = wire_pseudo_sum(ip->src, ip->dst, len);
    if (sf_csum_fold(sf_csum_add(sum, p, len)) != 0)
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
    size_t doff = SF_TCP_HDR_MIN + sf_tcp_opts_len(&seg->opt);
    size_t tcplen = doff + seg->len;
    size_t tot = SF_IPV4_HDR_MIN + tcplen;
    if (seg->len > 0xffff || tot > 0xffff || tot > cap)
        return 0;
    uint8_t *p = buf + SF_IPV4_HDR_MIN;
    wire_ipv4_emit_hdr(buf, ip, (uint16_t)tot);
    tcp_emit_hdr(p, seg, doff);
    if (seg->len)
        memmove(p + doff, seg->payload, seg->len);
    uint32_t sum = wire_pseudo_sum(ip->src, ip->dst, tcplen);
    wire_put16(p + 16, sf_csum_fold(sf_csum_add(sum, p, tcplen)));
    return tot;
}
