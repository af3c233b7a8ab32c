/* ICMP errors for TCP: the "too big" messages of path MTU discovery, RFC
 * 1191 (ICMP type 3 code 4, "fragmentation needed and DF set", with the
 * next-hop MTU, RFC 792 and RFC 1191 4) and RFC 8201 (ICMPv6 type 2,
 * Packet Too Big, RFC 4443 3.2). Checked here (checksum, length, a quoted
 * TCP segment from this stack), then handed to the connection the quote
 * names (tcp/pmtu.c, which checks it is in flight: RFC 5927). Every other
 * ICMP message goes on to be dropped as "not TCP", as before: synfin acts
 * on no other (RFC 1122 4.2.3.9's soft and hard errors are not
 * implemented). The core never sends ICMP. */
#include <string.h>

#include "stack/stack_int.h"

#define ICMP4_UNREACH 3
#define ICMP4_FRAG_NEEDED 4
#define ICMP6_TOO_BIG 2

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return be16(p) << 16 | be16(p + 2);
}

/* The quoted TCP header's first 8 bytes (all RFC 792 promises): the
 * connection from local to remote, and the sequence number; the rest is
 * tcp_pmtu_too_big's. */
static void too_big(struct sf_stack *st, const struct sf_addr *local,
                    const struct sf_addr *remote, const uint8_t *tcp,
                    uint32_t mtu)
{
    struct tcp_ctx *ctx = &st->tcp;
    struct sf_addr l = *local, r = *remote;
    l.port = (uint16_t)be16(tcp);
    r.port = (uint16_t)be16(tcp + 2);
    struct sf_conn *c = ttab_lookup(&st->demux, &l, &r);
    if (!c) {
        tcp_drop(ctx, NULL, SF_DROP_ICMP_BAD, NULL, NULL);
        return;
    }
    enum sf_drop why = tcp_pmtu_too_big(ctx, c, mtu, (uint32_t)be32(tcp + 4));
    if (why != SF_DROP_NONE)
        tcp_drop(ctx, c, why, NULL, NULL);
    stack_reap(st, c);
}

bool stack_icmp4_input(struct sf_stack *st, const struct sf_ipv4 *ip)
{
    const uint8_t *p = ip->payload;
    size_t n = ip->payload_len;
    if (n < 8 || p[0] != ICMP4_UNREACH || p[1] != ICMP4_FRAG_NEEDED)
        return false;
    /* RFC 792: the checksum over the whole message; then the quoted IPv4
     * header (ours: version 4, TCP, from this stack) and 8 bytes of TCP */
    const uint8_t *q = p + 8;
    size_t ihl = n >= 8 + 20 ? 4u * (q[0] & 15) : 0;
    if (sf_csum_fold(sf_csum_add(0, p, n)) != 0 || ihl < 20 ||
        n < 8 + ihl + 8 || q[0] >> 4 != 4 || q[9] != SF_IPPROTO_TCP_NUM ||
        be32(q + 12) != st->cfg.addr) {
        tcp_drop(&st->tcp, NULL, SF_DROP_ICMP_BAD, NULL, NULL);
        return true;
    }
    struct sf_addr local = sf_addr4(st->cfg.addr, 0);
    struct sf_addr remote = sf_addr4((uint32_t)be32(q + 16), 0);
    /* RFC 1191 4: the Next-Hop MTU in the low 16 bits of the second word
     * (0 from a router older than RFC 1191: the floor of pmtu.c) */
    too_big(st, &local, &remote, q + ihl, be16(p + 6));
    return true;
}

bool stack_icmp6_input(struct sf_stack *st, const struct sf_ipv6 *ip)
{
    const uint8_t *p = ip->payload;
    size_t n = ip->payload_len;
    if (n < 8 || p[0] != ICMP6_TOO_BIG)
        return false;
    /* RFC 4443 2.3: the checksum covers the RFC 8200 8.1 pseudo-header */
    uint8_t ph[40] = {0};
    memcpy(ph, ip->src, 16);
    memcpy(ph + 16, ip->dst, 16);
    ph[32] = (uint8_t)(n >> 24), ph[33] = (uint8_t)(n >> 16);
    ph[34] = (uint8_t)(n >> 8), ph[35] = (uint8_t)n;
    ph[39] = SF_IPPROTO_ICMPV6_NUM;
    /* RFC 4443 3.2: code 0, the MTU, then as much of the datagram as fits:
     * ours is a 40-byte header straight to TCP (synfin sends no extension
     * headers), from this stack */
    const uint8_t *q = p + 8;
    if (sf_csum_fold(sf_csum_add(sf_csum_add(0, ph, 40), p, n)) != 0 ||
        p[1] != 0 || n < 8 + 40 + 8 || q[0] >> 4 != 6 ||
        q[6] != SF_IPPROTO_TCP_NUM || memcmp(q + 8, st->cfg.addr6, 16) != 0) {
        tcp_drop(&st->tcp, NULL, SF_DROP_ICMP_BAD, NULL, NULL);
        return true;
    }
    struct sf_addr local = sf_addr6(q + 8, 0), remote = sf_addr6(q + 24, 0);
    uint32_t mtu = be32(p + 4);
    too_big(st, &local, &remote, q + 40, mtu > 65535 ? 65535 : mtu);
    return true;
}
