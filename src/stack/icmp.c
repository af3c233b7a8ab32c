/* ICMP errors for TCP (RFC 9293 3.9.2.2, MUST-54: "act on an ICMP error
 * message passed up from the IP layer, directing it to the connection
 * that created the error"; "This applies to ICMPv6 in addition to IPv4
 * ICMP."). Checked here (checksum, length, a quoted TCP segment sent from
 * an address of this stack), then handed to the connection the quote
 * names, which checks that the quoted segment is in flight (RFC 5927
 * 4.1, tcp/pmtu.c):
 *   - "too big": RFC 1191 (ICMP type 3 code 4, with the next-hop MTU,
 *     RFC 792 and RFC 1191 4) and RFC 8201 (ICMPv6 type 2, Packet Too
 *     Big, RFC 4443 3.2): the path MTU (tcp_pmtu_too_big);
 *   - Destination Unreachable (ICMP type 3, RFC 792; ICMPv6 type 1, RFC
 *     4443 3.1) and Time Exceeded (ICMP 11, ICMPv6 3): soft or hard
 *     errors (tcp_icmp_unreach).
 * Source Quench (ICMP 4) is silently discarded (MUST-55), as is every
 * other message (Parameter Problem included: not acted on, a gap): they
 * go on to be dropped as "not TCP", as before. The core never sends
 * ICMP. */
#include <string.h>

#include "stack/stack_int.h"

#define ICMP4_UNREACH 3
#define ICMP4_FRAG_NEEDED 4
#define ICMP4_TIME_EXCEEDED 11
#define ICMP6_UNREACH 1
#define ICMP6_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return be16(p) << 16 | be16(p + 2);
}

/* What an error means to TCP: its error code (negative SF_E*) and
 * whether RFC 9293 3.9.2.2 calls it hard. err 0: none (a "too big" is the path MTU's, tcp/pmtu.c; others TCP ignores). */
struct icmp_meaning {
    int err;
    bool hard;
};

/* RFC 9293 3.9.2.2: for IPv4, Destination Unreachable codes 0, 1, 5 and
 * Time Exceeded 0, 1 are soft errors; Destination Unreachable 2-4 hard
 * (4, fragmentation needed, is path MTU discovery's, RFC 1191). Codes
 * 6-15 (RFC 1122 3.2.2.1, RFC 1812 5.2.7.1) the RFC does not class:
 * synfin takes them as soft (never abort on what the RFC does not call
 * hard). The error codes are Linux's (icmp_err_convert), EHOSTDOWN and
 * ENONET (codes 7, 8) given as EHOSTUNREACH. */
static struct icmp_meaning icmp4_meaning(unsigned type, unsigned code)
{
    struct icmp_meaning m = {0, false};
    if (type == ICMP4_TIME_EXCEEDED && code <= 1) {
        m.err = SF_EHOSTUNREACH;
    } else if (type == ICMP4_UNREACH && code <= 15) {
        switch (code) {
        case 0: case 6: case 9: case 11: m.err = SF_ENETUNREACH; break;
        case 2: m.err = SF_ENOPROTOOPT, m.hard = true; break;
        case 3: m.err = SF_ECONNREFUSED, m.hard = true; break;
        case 4: break; /* fragmentation needed: the path MTU's (RFC 1191) */
        case 5: m.err = SF_EOPNOTSUPP; break;
        default: m.err = SF_EHOSTUNREACH; break;
        }
    }
    return m;
}

/* RFC 9293 3.9.2.2: for ICMPv6, Destination Unreachable codes 0 and 3
 * and Time Exceeded 0, 1 are soft. RFC 4443 3.1 names the others: 1
 * "communication with destination administratively prohibited", 2
 * "beyond scope of source address", 4 "port unreachable", 5 "source
 * address failed ingress/egress policy", 6 "reject route to
 * destination". Port unreachable is the hard error of IPv4's code 3; 1,
 * 5 and 6 (a firewall's or a route's refusal) hard as well, 2 soft, as
 * Linux (icmpv6_err_convert), with its error codes. */
static struct icmp_meaning icmp6_meaning(unsigned type, unsigned code)
{
    struct icmp_meaning m = {0, false};
    if (type == ICMP6_TIME_EXCEEDED && code <= 1) {
        m.err = SF_EHOSTUNREACH;
    } else if (type == ICMP6_UNREACH && code <= 6) {
        switch (code) {
        case 0: m.err = SF_ENETUNREACH; break;
        case 1: case 5: m.err = SF_EACCES, m.hard = true; break;
        case 4: m.err = SF_ECONNREFUSED, m.hard = true; break;
        case 6: m.err = SF_EHOSTUNREACH, m.hard = true; break;
        default: m.err = SF_EHOSTUNREACH; break; /* 2, 3 */
        }
    }
    return m;
}

/* The quoted TCP header's first 8 bytes (all RFC 792 promises): the
 * connection from local to remote, and the sequence number. mtu: a too
 * big message's; else m says what the error means. */
static void to_conn(struct sf_stack *st, const struct sf_addr *local,
                    const struct sf_addr *remote, const uint8_t *tcp,
                    uint32_t mtu, struct icmp_meaning m)
{
    struct tcp_ctx *ctx = &st->tcp;
    struct sf_addr l = *local, r = *remote;
    l.port = (uint16_t)be16(tcp);
    r.port = (uint16_t)be16(tcp + 2);
    /* RFC 5927 4.1: the quote must name a connection of ours */
    struct sf_conn *c = ttab_lookup(&st->demux, &l, &r);
    if (!c) {
        tcp_drop(ctx, NULL, SF_DROP_ICMP_BAD, NULL, NULL);
        return;
    }
    uint32_t seq = (uint32_t)be32(tcp + 4);
    enum sf_drop why = m.err ? tcp_icmp_unreach(ctx, c, seq, m.err, m.hard)
                             : tcp_pmtu_too_big(ctx, c, mtu, seq);
    if (why != SF_DROP_NONE)
        tcp_drop(ctx, c, why, NULL, NULL);
    stack_reap(st, c);
}

bool stack_icmp4_input(struct sf_stack *st, const struct sf_ipv4 *ip)
{
    const uint8_t *p = ip->payload;
    size_t n = ip->payload_len;
    if (n < 8)
        return false;
    bool too_big = p[0] == ICMP4_UNREACH && p[1] == ICMP4_FRAG_NEEDED;
    struct icmp_meaning m = icmp4_meaning(p[0], p[1]);
    if (!too_big && !m.err)
        return false;
    /* RFC 792: the checksum over the whole message; then the quoted IPv4
     * header (ours: version 4, TCP, from an address of this stack) and 8
     * bytes of TCP */
    const uint8_t *q = p + 8;
    size_t ihl = n >= 8 + 20 ? 4u * (q[0] & 15) : 0;
    struct sf_addr local = sf_addr4(n >= 8 + 20 ? be32(q + 12) : 0, 0);
    if (sf_csum_fold(sf_csum_add(0, p, n)) != 0 || ihl < 20 ||
        n < 8 + ihl + 8 || q[0] >> 4 != 4 || q[9] != SF_IPPROTO_TCP_NUM ||
        !stack_addr_owned(st, &local)) {
        tcp_drop(&st->tcp, NULL, SF_DROP_ICMP_BAD, NULL, NULL);
        return true;
    }
    struct sf_addr remote = sf_addr4((uint32_t)be32(q + 16), 0);
    /* RFC 1191 4: the Next-Hop MTU in the low 16 bits of the second word
     * (0 from a router older than RFC 1191: the floor of pmtu.c) */
    to_conn(st, &local, &remote, q + ihl, too_big ? be16(p + 6) : 0, m);
    return true;
}

bool stack_icmp6_input(struct sf_stack *st, const struct sf_ipv6 *ip)
{
    const uint8_t *p = ip->payload;
    size_t n = ip->payload_len;
    if (n < 8)
        return false;
    bool too_big = p[0] == ICMP6_TOO_BIG;
    struct icmp_meaning m = icmp6_meaning(p[0], p[1]);
    if (!too_big && !m.err)
        return false;
    /* RFC 4443 2.3: the checksum covers the RFC 8200 8.1 pseudo-header */
    uint8_t ph[40] = {0};
    memcpy(ph, ip->src, 16);
    memcpy(ph + 16, ip->dst, 16);
    ph[32] = (uint8_t)(n >> 24), ph[33] = (uint8_t)(n >> 16);
    ph[34] = (uint8_t)(n >> 8), ph[35] = (uint8_t)n;
    ph[39] = SF_IPPROTO_ICMPV6_NUM;
    /* RFC 4443 3.1, 3.2, 3.3: the error's 8 bytes, then as much of the
     * datagram as fits: ours is a 40-byte header straight to TCP (synfin
     * sends no extension headers), from an address of this stack. A Packet
     * Too Big's code is 0. */
    static const uint8_t none[16];
    const uint8_t *q = p + 8;
    struct sf_addr local = sf_addr6(n >= 8 + 40 ? q + 8 : none, 0);
    if (sf_csum_fold(sf_csum_add(sf_csum_add(0, ph, 40), p, n)) != 0 ||
        (too_big && p[1] != 0) || n < 8 + 40 + 8 || q[0] >> 4 != 6 ||
        q[6] != SF_IPPROTO_TCP_NUM || !stack_addr_owned(st, &local)) {
        tcp_drop(&st->tcp, NULL, SF_DROP_ICMP_BAD, NULL, NULL);
        return true;
    }
    struct sf_addr remote = sf_addr6(q + 24, 0);
    uint32_t mtu = too_big ? be32(p + 4) : 0;
    to_conn(st, &local, &remote, q + 40, mtu > 65535 ? 65535 : mtu, m);
    return true;
}
