/* wire: IPv6 parse and emit, TCP over IPv6, IPv6 address text
 * (include/synfin/wire.h). Every parse input sits at the very end of a page
 * followed by a PROT_NONE guard page (guard.h), so any read past the buffer
 * crashes the test. */
#include "check.h"
#include "guard.h"
#include "synfin/wire.h"

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- helpers */

/* Parses IPv6 then TCP from a guarded copy; returns the first drop. The
 * copy stays mapped when keep is given (the parse points into it). */
static enum sf_drop parse6_keep(const uint8_t *buf, size_t len,
                                struct sf_ipv6 *ip, struct sf_tcp *seg,
                                struct guard *keep)
{
    struct guard g = guarded(buf, len);
    enum sf_drop d = sf_ipv6_parse(g.data, len, ip);
    if (d == SF_DROP_NONE)
        d = sf_tcp6_parse(ip, seg);
    if (keep)
        *keep = g;
    else
        unguard(&g);
    return d;
}

static enum sf_drop drop6(const uint8_t *buf, size_t len)
{
    struct sf_ipv6 ip;
    struct sf_tcp seg;
    return parse6_keep(buf, len, &ip, &seg, NULL);
}

/* The IPv6 layer alone, guarded. */
static enum sf_drop ip6_only(const uint8_t *buf, size_t len,
                             struct sf_ipv6 *ip)
{
    struct guard g = guarded(buf, len);
    enum sf_drop d = sf_ipv6_parse(g.data, len, ip);
    unguard(&g);
    return d;
}

/* RFC 1071 the plain way, over two pieces, not through the code under
 * test. */
static uint16_t ref_csum(const uint8_t *a, size_t alen, const uint8_t *b,
                         size_t blen)
{
    uint32_t s = 0;
    for (size_t i = 0; i < alen; i += 2)
        s += (uint32_t)(a[i] << 8 | (i + 1 < alen ? a[i + 1] : 0));
    for (size_t i = 0; i < blen; i += 2)
        s += (uint32_t)(b[i] << 8 | (i + 1 < blen ? b[i + 1] : 0));
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* 2001:db8::2 -> 2001:db8::1 (RFC 3849 documentation prefix). */
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                 0,    0,    0,    0,    0, 0, 0, 2};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                 0,    0,    0,    0,    0, 0, 0, 1};

/* Fixes the TCP checksum of the segment at t (tcplen bytes) over the IPv6
 * pseudo-header (RFC 8200 8.1) written out here, with next header nh. */
static void fix_tcp6(const uint8_t *ip6, uint8_t *t, size_t tcplen,
                     uint8_t nh)
{
    uint8_t ph[40];
    memcpy(ph, ip6 + 8, 32);
    ph[32] = (uint8_t)(tcplen >> 24), ph[33] = (uint8_t)(tcplen >> 16);
    ph[34] = (uint8_t)(tcplen >> 8), ph[35] = (uint8_t)tcplen;
    ph[36] = ph[37] = ph[38] = 0, ph[39] = nh;
    t[16] = t[17] = 0;
    uint16_t c = ref_csum(ph, 40, t, tcplen);
    t[16] = (uint8_t)(c >> 8), t[17] = (uint8_t)c;
}

/* Builds a datagram by hand: IPv6 header with Next Header first_nh, the
 * extension headers ext (laid out by the caller, their own Next Header
 * fields included), a TCP header with raw options, the payload. The TCP
 * checksum is fixed with ref_csum. Returns the length. */
static size_t build6(uint8_t *b, uint8_t first_nh, const uint8_t *ext,
                     size_t extlen, const uint8_t *opts, size_t optlen,
                     uint8_t flags, const char *payload)
{
    size_t doff = 20 + optlen, plen = payload ? strlen(payload) : 0;
    size_t tcplen = doff + plen, pl = extlen + tcplen;
    memset(b, 0, 40 + pl);
    b[0] = 0x60;
    b[4] = (uint8_t)(pl >> 8), b[5] = (uint8_t)pl;
    b[6] = first_nh, b[7] = 64;
    memcpy(b + 8, SRC6, 16);
    memcpy(b + 24, DST6, 16);
    if (extlen)
        memcpy(b + 40, ext, extlen);
    uint8_t *t = b + 40 + extlen;
    t[0] = 0x9c, t[1] = 0x40, t[2] = 0, t[3] = 80; /* 40000 -> 80 */
    t[4] = 0xde, t[5] = 0xad, t[6] = 0xbe, t[7] = 0xef;
    t[12] = (uint8_t)((doff / 4) << 4);
    t[13] = flags;
    t[14] = 0x20;
    if (optlen)
        memcpy(t + 20, opts, optlen);
    if (plen)
        memcpy(t + doff, payload, plen);
    fix_tcp6(b, t, tcplen, 6);
    return 40 + pl;
}

/* A plain datagram: no extension headers. */
static size_t plain6(uint8_t *b, uint8_t flags, const char *payload)
{
    return build6(b, 6, NULL, 0, NULL, 0, flags, payload);
}

/* Writes an options header (Hop-by-Hop or Destination Options) of
 * (units + 1) * 8 bytes at p whose options area is valid: PadN for up to 7
 * bytes, else one skippable option (type 0x1e: action bits 00). units must
 * be <= 31. Returns the header length. */
static size_t opts_hdr(uint8_t *p, uint8_t next, uint8_t units)
{
    size_t hl = ((size_t)units + 1) * 8, area = hl - 2;
    memset(p, 0, hl);
    p[0] = next, p[1] = units;
    p[2] = area <= 7 ? 1 : 0x1e; /* PadN or an unknown "skip" option */
    p[3] = (uint8_t)(area - 2);
    return hl;
}

/* Writes the raw header bytes, Next Header and Hdr Ext Len given, the rest
 * from body (hl - 2 bytes). */
static size_t raw_hdr(uint8_t *p, uint8_t next, uint8_t units,
                      const uint8_t *body)
{
    size_t hl = ((size_t)units + 1) * 8;
    p[0] = next, p[1] = units;
    memcpy(p + 2, body, hl - 2);
    return hl;
}

/* A Fragment header (RFC 8200 4.5): offset in 8-byte units, M flag. */
static size_t frag_hdr(uint8_t *p, uint8_t next, uint16_t offset, int m,
                       int res)
{
    p[0] = next, p[1] = 0;
    uint16_t w = (uint16_t)(offset << 3 | (res & 3) << 1 | (m & 1));
    p[2] = (uint8_t)(w >> 8), p[3] = (uint8_t)w;
    p[4] = 0x12, p[5] = 0x34, p[6] = 0x56, p[7] = 0x78;
    return 8;
}

/* A Routing header of an unknown type with segments_left. */
static size_t rt_hdr(uint8_t *p, uint8_t next, uint8_t segleft)
{
    memset(p, 0, 24);
    p[0] = next, p[1] = 2; /* 24 bytes */
    p[2] = 253, p[3] = segleft;
    return 24;
}

/* ------------------------------------------------------------------ tests */

/* An IPv6 SYN assembled by hand; its TCP checksum 0xa044 was confirmed
 * with tshark (-o tcp.check_checksum:TRUE: "[correct]"). */
static const uint8_t known_syn6[] = {
    0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x9c, 0x40, 0x00, 0x50, 0xff, 0xff, 0xff, 0xf0,
    0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xff, 0xff, 0xa0, 0x44, 0x00, 0x00,
    0x02, 0x04, 0x05, 0xa0};

static void test_known_syn6(void)
{
    struct sf_ipv6 ip;
    struct sf_tcp seg;
    struct guard g;
    CHECK_EQ(parse6_keep(known_syn6, sizeof known_syn6, &ip, &seg, &g),
             SF_DROP_NONE);
    CHECK(memcmp(ip.src, SRC6, 16) == 0);
    CHECK(memcmp(ip.dst, DST6, 16) == 0);
    CHECK_EQ(ip.proto, 6);
    CHECK_EQ(ip.hlim, 64);
    CHECK_EQ(ip.tclass, 0);
    CHECK_EQ(ip.flow, 0);
    CHECK_EQ(ip.nexthdrs, 0);
    CHECK_EQ(ip.hdr_len, 40);
    CHECK_EQ(ip.payload_len, 24);
    CHECK(ip.payload == g.data + 40);
    CHECK_EQ(seg.sport, 40000);
    CHECK_EQ(seg.dport, 80);
    CHECK_EQ(seg.seq, 0xfffffff0u);
    CHECK_EQ(seg.flags, SF_SYN);
    CHECK_EQ(seg.win, 65535);
    CHECK(seg.opt.has_mss);
    CHECK_EQ(seg.opt.mss, 1440);
    CHECK_EQ(seg.len, 0);
    unguard(&g);

    /* sf_emit6 of the same fields writes exactly those bytes. */
    struct sf_ipv6 eip = {0};
    memcpy(eip.src, SRC6, 16);
    memcpy(eip.dst, DST6, 16);
    struct sf_tcp es = {.sport = 40000, .dport = 80, .seq = 0xfffffff0u,
                        .flags = SF_SYN, .win = 65535};
    es.opt.has_mss = true;
    es.opt.mss = 1440;
    uint8_t out[128];
    size_t n = sf_emit6(out, sizeof out, &eip, &es);
    CHECK_EQ(n, sizeof known_syn6);
    CHECK(n == sizeof known_syn6 && memcmp(out, known_syn6, n) == 0);
    /* And the hand builder agrees with both. */
    uint8_t b[128];
    const uint8_t mss[4] = {2, 4, 0x05, 0xa0};
    size_t bn = build6(b, 6, NULL, 0, mss, 4, SF_SYN, NULL);
    b[44] = b[45] = b[46] = 0xff, b[47] = 0xf0; /* seq 0xfffffff0 */
    b[54] = b[55] = 0xff;                      /* window 65535 */
    fix_tcp6(b, b + 40, 24, 6);
    CHECK_EQ(bn, sizeof known_syn6);
    CHECK(memcmp(b, known_syn6, sizeof known_syn6) == 0);
}

static int same_seg(const struct sf_tcp *a, const struct sf_tcp *b)
{
    const struct sf_tcp_opts *x = &a->opt, *y = &b->opt;
    return a->sport == b->sport && a->dport == b->dport &&
           a->seq == b->seq && a->ack == b->ack && a->flags == b->flags &&
           a->win == b->win && a->urp == b->urp && a->len == b->len &&
           (a->len == 0 || memcmp(a->payload, b->payload, a->len) == 0) &&
           x->has_mss == y->has_mss && (!x->has_mss || x->mss == y->mss) &&
           x->has_wscale == y->has_wscale &&
           (!x->has_wscale || x->wscale == y->wscale) &&
           x->sack_ok == y->sack_ok && x->has_ts == y->has_ts &&
           (!x->has_ts || (x->ts_val == y->ts_val && x->ts_ecr == y->ts_ecr)) &&
           x->nsack == y->nsack &&
           memcmp(x->sack, y->sack, sizeof(uint32_t) * 2 * x->nsack) == 0;
}

static void roundtrip6(const struct sf_ipv6 *ip, const struct sf_tcp *seg)
{
    uint8_t buf[2048];
    size_t n = sf_emit6(buf, sizeof buf, ip, seg);
    CHECK_EQ(n, 60 + sf_tcp_opts_len(&seg->opt) + seg->len);
    CHECK_EQ(buf[0] >> 4, 6);
    CHECK_EQ(buf[6], 6);
    CHECK_EQ(buf[7], ip->hlim ? ip->hlim : 64);
    CHECK_EQ((size_t)(buf[4] << 8 | buf[5]), n - 40);
    struct sf_ipv6 pip;
    struct sf_tcp pseg;
    struct guard g;
    CHECK_EQ(parse6_keep(buf, n, &pip, &pseg, &g), SF_DROP_NONE);
    CHECK(memcmp(pip.src, ip->src, 16) == 0);
    CHECK(memcmp(pip.dst, ip->dst, 16) == 0);
    CHECK_EQ(pip.tclass, ip->tclass);
    CHECK_EQ(pip.flow, ip->flow & 0xfffff);
    CHECK_EQ(pip.hlim, ip->hlim ? ip->hlim : 64);
    CHECK_EQ(pip.nexthdrs, 0);
    CHECK(same_seg(&pseg, seg));
    unguard(&g);
}

static void test_roundtrips6(void)
{
    const char data[] = "GET / HTTP/1.0\r\n\r\n";
    struct sf_ipv6 ip = {.tclass = 0xb8 | 0x02, .hlim = 7, .flow = 0xabcde};
    memcpy(ip.src, SRC6, 16);
    memcpy(ip.dst, DST6, 16);
    struct sf_tcp seg = {.sport = 1, .dport = 65535, .seq = 0xffffffffu,
                         .ack = 0x80000000u, .flags = SF_ACK | SF_PSH,
                         .win = 1, .urp = 3,
                         .payload = (const uint8_t *)data,
                         .len = sizeof data - 1};
    roundtrip6(&ip, &seg); /* no options; DSCP EF with ECT(0) */
    ip.hlim = 0;           /* 0 means the default, 64 */
    ip.tclass = 0x03;      /* ECN CE */
    ip.flow = 0xfff12345;  /* only the low 20 bits are a flow label */
    seg.opt = (struct sf_tcp_opts){.has_mss = true, .mss = 1220,
                                   .has_wscale = true, .wscale = 14,
                                   .sack_ok = true, .has_ts = true,
                                   .ts_val = 0xfeedface, .ts_ecr = 1};
    seg.flags = SF_SYN | SF_ACK | SF_ECE | SF_CWR;
    roundtrip6(&ip, &seg);
    seg.opt = (struct sf_tcp_opts){.nsack = 3, .has_ts = true};
    for (int i = 0; i < 3; i++) {
        seg.opt.sack[i][0] = 1000u * (uint32_t)i;
        seg.opt.sack[i][1] = 1000u * (uint32_t)i + 500;
    }
    seg.flags = SF_ACK | SF_FIN | SF_URG;
    ip.hlim = 255;
    roundtrip6(&ip, &seg);
    /* Any unicast pair of the documentation, link-local and ULA kinds. */
    const uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    const uint8_t ula[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    memcpy(ip.src, ll, 16);
    memcpy(ip.dst, ula, 16);
    seg.flags = SF_RST;
    seg.len = 0;
    roundtrip6(&ip, &seg);
}

static void test_emit6_layout(void)
{
    struct sf_ipv6 ip = {.tclass = 0xa5, .flow = 0x12345, .hlim = 9};
    memcpy(ip.src, SRC6, 16);
    memcpy(ip.dst, DST6, 16);
    struct sf_tcp seg = {.sport = 5, .dport = 6, .flags = SF_SYN};
    seg.opt.has_mss = true;
    seg.opt.mss = 1220;
    uint8_t buf[128];
    size_t n = sf_emit6(buf, sizeof buf, &ip, &seg);
    CHECK_EQ(n, 64);
    /* RFC 8200 3: Version | Traffic Class | Flow Label in the first word */
    const uint8_t w0[4] = {0x6a, 0x51, 0x23, 0x45};
    CHECK(memcmp(buf, w0, 4) == 0);
    CHECK_EQ(buf[4], 0);
    CHECK_EQ(buf[5], 24);
    CHECK_EQ(buf[6], 6);
    CHECK_EQ(buf[7], 9);
    CHECK(memcmp(buf + 8, SRC6, 16) == 0 && memcmp(buf + 24, DST6, 16) == 0);
    CHECK_EQ(buf[52] >> 4, 6); /* TCP data offset */
    /* The checksum verifies against the independent pseudo-header. */
    uint8_t t[24];
    memcpy(t, buf + 40, 24);
    fix_tcp6(buf, t, 24, 6);
    CHECK(t[16] == buf[56] && t[17] == buf[57]);
    /* Too small a buffer: 0 at every size short of the datagram. */
    int nonzero = 0;
    for (size_t cap = 0; cap < n; cap++)
        nonzero += sf_emit6(buf, cap, &ip, &seg) != 0;
    CHECK_EQ(nonzero, 0);
    CHECK_EQ(sf_emit6(buf, n, &ip, &seg), n);
    /* The Payload Length is 16 bits: a segment of 65535 bytes fits, one
     * more does not (no jumbograms). */
    static uint8_t big[65535 + 40], data[65535];
    struct sf_tcp b = {.sport = 5, .dport = 6, .flags = SF_ACK,
                       .payload = data, .len = 65535 - 20};
    CHECK_EQ(sf_emit6(big, sizeof big, &ip, &b), sizeof big);
    CHECK_EQ(big[4], 0xff);
    CHECK_EQ(big[5], 0xff);
    b.len++;
    CHECK_EQ(sf_emit6(big, sizeof big, &ip, &b), 0);
}

static void set_addr(uint8_t *b, size_t at, const uint8_t a[16])
{
    memcpy(b + at, a, 16);
    fix_tcp6(b, b + 40, (size_t)(b[4] << 8 | b[5]), 6);
}

static void test_ip6_drops(void)
{
    uint8_t b[256];
    size_t n = plain6(b, SF_ACK, "x");
    CHECK_EQ(drop6(b, n), SF_DROP_NONE);
    int bad = 0;
    for (size_t len = 0; len < 40; len++)
        bad += drop6(b, len) != SF_DROP_IP6_SHORT;
    CHECK_EQ(bad, 0);

    /* RFC 8200 3: version 6 only; an IPv4 header is not one. */
    b[0] = 0x40;
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_VERSION);
    b[0] = 0x00;
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_VERSION);
    b[0] = 0xf0;
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_VERSION);

    /* Payload Length against the buffer: longer buffer fine (below),
     * shorter dropped. */
    n = plain6(b, SF_ACK, "x");
    b[5] += 1;
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_PLEN);
    b[4] = 0xff, b[5] = 0xff;
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_PLEN);
    /* A Payload Length shorter than the TCP header: TCP's drop. */
    n = plain6(b, SF_ACK, "x");
    b[5] = 19;
    CHECK_EQ(drop6(b, n), SF_DROP_TCP_SHORT);
    b[5] = 0;
    CHECK_EQ(drop6(b, n), SF_DROP_TCP_SHORT);
    /* Payload Length shorter than the data: the checksum no longer fits. */
    n = plain6(b, SF_ACK, "xy");
    b[5] -= 1;
    CHECK_EQ(drop6(b, n), SF_DROP_TCP_CSUM);
}

static void test_ip6_padding(void)
{
    uint8_t b[256];
    size_t n = plain6(b, SF_ACK, "hello");
    memset(b + n, 0xee, 30); /* link padding past the Payload Length */
    struct sf_ipv6 ip;
    struct sf_tcp seg;
    struct guard g;
    CHECK_EQ(parse6_keep(b, n + 30, &ip, &seg, &g), SF_DROP_NONE);
    CHECK_EQ(ip.payload_len, 25);
    CHECK_EQ(seg.len, 5);
    CHECK(seg.len == 5 && memcmp(seg.payload, "hello", 5) == 0);
    unguard(&g);
}

/* Every address that must never appear, in each place it must not. */
static void test_ip6_bad_addresses(void)
{
    static const uint8_t bad_src[][16] = {
        {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, /* ff02::1 */
        {0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42},
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff},
        {0}, /* :: */
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, /* ::1 */
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 2},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0},
    };
    uint8_t b[256];
    size_t n;
    for (size_t i = 0; i < sizeof bad_src / sizeof *bad_src; i++) {
        n = plain6(b, SF_SYN, NULL);
        set_addr(b, 8, bad_src[i]);
        CHECK_EQ(drop6(b, n), SF_DROP_IP6_BAD_SRC);
    }
    static const uint8_t bad_dst[][16] = {
        {0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1},
    };
    struct sf_ipv6 ip;
    for (size_t i = 0; i < sizeof bad_dst / sizeof *bad_dst; i++) {
        n = plain6(b, SF_SYN, NULL);
        set_addr(b, 24, bad_dst[i]);
        CHECK_EQ(drop6(b, n), SF_DROP_IP6_BAD_DST);
        CHECK_EQ(ip6_only(b, n, &ip), SF_DROP_IP6_BAD_DST);
    }
    /* A multicast destination is IPv6 (ICMPv6 uses it) but never TCP:
     * RFC 9293 3.9.2.3. */
    static const uint8_t mc[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
                                   0,    0,    0, 0, 0, 0, 0, 1};
    n = plain6(b, SF_SYN, NULL);
    set_addr(b, 24, mc);
    CHECK_EQ(ip6_only(b, n, &ip), SF_DROP_NONE);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_BAD_DST);
    /* Near misses are fine: ::2, ::ffff:1 (not the /96), the deprecated
     * IPv4-compatible ::198.18.0.2, fe80::1, fec0::1 as source and
     * destination. */
    static const uint8_t ok[][16] = {
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 198, 18, 0, 2},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 198, 18, 0, 2},
        {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        {0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        n = plain6(b, SF_SYN, NULL);
        set_addr(b, 8, ok[i]);
        CHECK_EQ(drop6(b, n), SF_DROP_NONE);
        n = plain6(b, SF_SYN, NULL);
        set_addr(b, 24, ok[i]);
        CHECK_EQ(drop6(b, n), SF_DROP_NONE);
    }
}

/* A valid chain of every walked kind: Hop-by-Hop, Destination Options,
 * Routing (Segments Left 0), a Fragment header that is a whole datagram,
 * Destination Options again, then TCP. */
static void test_ext_chain(void)
{
    uint8_t ext[256], b[512];
    size_t e = 0;
    e += opts_hdr(ext + e, 60, 0);          /* HBH -> DO */
    e += opts_hdr(ext + e, 43, 1);          /* DO (16 bytes) -> RH */
    e += rt_hdr(ext + e, 44, 0);            /* RH, SL 0 -> FH */
    e += frag_hdr(ext + e, 60, 0, 0, 3);    /* atomic, Res bits ignored */
    e += opts_hdr(ext + e, 6, 3);           /* DO (32 bytes) -> TCP */
    size_t n = build6(b, 0, ext, e, NULL, 0, SF_ACK | SF_PSH, "data");
    struct sf_ipv6 ip;
    struct sf_tcp seg;
    struct guard g;
    CHECK_EQ(parse6_keep(b, n, &ip, &seg, &g), SF_DROP_NONE);
    CHECK_EQ(ip.nexthdrs, 5);
    CHECK_EQ(ip.hdr_len, 40 + e);
    CHECK_EQ(ip.payload_len, 24);
    CHECK(ip.payload == g.data + 40 + e);
    CHECK_EQ(seg.len, 4);
    CHECK(seg.len == 4 && memcmp(seg.payload, "data", 4) == 0);
    unguard(&g);

    /* RFC 8200 8.1: the pseudo-header's Next Header is TCP's 6, not the
     * IPv6 header's 0, and its length the TCP length (without the
     * extension headers). A sender that used either wrong value fails. */
    uint8_t *t = b + 40 + e;
    fix_tcp6(b, t, 24, 0);
    CHECK_EQ(drop6(b, n), SF_DROP_TCP_CSUM);
    uint8_t ph_len_wrong[512];
    memcpy(ph_len_wrong, b, n);
    fix_tcp6(ph_len_wrong, ph_len_wrong + 40 + e, 24, 6);
    CHECK_EQ(drop6(ph_len_wrong, n), SF_DROP_NONE);
    {
        /* sum with the IPv6 Payload Length instead of the TCP length */
        uint8_t ph[40];
        uint8_t *tt = ph_len_wrong + 40 + e;
        size_t pl = n - 40;
        memcpy(ph, ph_len_wrong + 8, 32);
        ph[32] = 0, ph[33] = 0, ph[34] = (uint8_t)(pl >> 8);
        ph[35] = (uint8_t)pl, ph[36] = ph[37] = ph[38] = 0, ph[39] = 6;
        tt[16] = tt[17] = 0;
        uint16_t c = ref_csum(ph, 40, tt, 24);
        tt[16] = (uint8_t)(c >> 8), tt[17] = (uint8_t)c;
        CHECK_EQ(drop6(ph_len_wrong, n), SF_DROP_TCP_CSUM);
    }

    /* Upper layers other than TCP parse at the IPv6 layer and are TCP's
     * IP6_PROTO: UDP, ICMPv6, an unassigned number, No Next Header. */
    const uint8_t protos[] = {17, 58, 200, 59};
    for (size_t i = 0; i < sizeof protos; i++) {
        e = opts_hdr(ext, protos[i], 0);
        n = build6(b, 60, ext, e, NULL, 0, SF_ACK, "zz");
        CHECK_EQ(ip6_only(b, n, &ip), SF_DROP_NONE);
        CHECK_EQ(ip.proto, protos[i]);
        CHECK_EQ(drop6(b, n), SF_DROP_IP6_PROTO);
        /* RFC 8200 4.7: what follows No Next Header is ignored */
        CHECK_EQ(ip.payload_len, protos[i] == 59 ? 0 : 22);
        b[6] = protos[i]; /* and straight after the IPv6 header */
        CHECK_EQ(ip6_only(b, n, &ip), SF_DROP_NONE);
        CHECK_EQ(ip.nexthdrs, 0);
        CHECK_EQ(drop6(b, n), SF_DROP_IP6_PROTO);
    }
}

static void test_ext_drops(void)
{
    uint8_t ext[256], b[512];
    size_t e, n;

    /* RFC 8200 4.4: Segments Left non-zero on an unknown Routing Type. */
    e = rt_hdr(ext, 6, 1);
    n = build6(b, 43, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_ROUTING);
    e = rt_hdr(ext, 6, 255);
    n = build6(b, 43, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_ROUTING);

    /* RFC 8200 4.5: a first, middle and last fragment; each dropped. */
    const struct { uint16_t off; int m; } frags[] = {{0, 1}, {1, 1}, {8191, 0}, {185, 0}};
    for (size_t i = 0; i < sizeof frags / sizeof *frags; i++) {
        e = frag_hdr(ext, 6, frags[i].off, frags[i].m, 0);
        n = build6(b, 44, ext, e, NULL, 0, SF_ACK, "frag");
        CHECK_EQ(drop6(b, n), SF_DROP_IP6_FRAGMENT);
    }
    e = frag_hdr(ext, 6, 0, 0, 0); /* whole datagram: processed */
    n = build6(b, 44, ext, e, NULL, 0, SF_ACK, "frag");
    CHECK_EQ(drop6(b, n), SF_DROP_NONE);

    /* RFC 8200 4.1: Hop-by-Hop only right after the IPv6 header. */
    e = opts_hdr(ext, 0, 0);
    e += opts_hdr(ext + e, 6, 0);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_HBH_ORDER);
    n = build6(b, 0, ext, e, NULL, 0, SF_ACK, NULL); /* HBH, HBH */
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_HBH_ORDER);
    e = frag_hdr(ext, 0, 0, 0, 0);
    e += opts_hdr(ext + e, 6, 0);
    n = build6(b, 44, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_HBH_ORDER);

    /* Extension headers synfin does not walk. */
    const uint8_t unwalked[] = {50, 51, 135, 139, 140, 253, 254};
    for (size_t i = 0; i < sizeof unwalked; i++) {
        e = opts_hdr(ext, 6, 1); /* stands in for the header's body */
        n = build6(b, unwalked[i], ext, e, NULL, 0, SF_ACK, NULL);
        CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_UNKNOWN);
        e = opts_hdr(ext, unwalked[i], 0);
        e += opts_hdr(ext + e, 6, 0);
        n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
        CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_UNKNOWN);
    }

    /* RFC 8200 4.2: an option synfin does not recognize is skipped only
     * when its two high-order bits are 00. */
    const uint8_t types[] = {0x40, 0x7f, 0x80, 0xbe, 0xc2, 0xc9, 0xff};
    for (size_t i = 0; i < sizeof types; i++) {
        const uint8_t body[6] = {types[i], 4, 0, 0, 0, 0};
        for (int hbh = 0; hbh <= 1; hbh++) {
            e = raw_hdr(ext, 6, 0, body);
            n = build6(b, hbh ? 0 : 60, ext, e, NULL, 0, SF_ACK, NULL);
            CHECK_EQ(drop6(b, n), SF_DROP_IP6_OPT_UNKNOWN);
        }
    }
    const uint8_t ra[6] = {0x05, 2, 0, 0, 1, 0}; /* Router Alert: skip */
    e = raw_hdr(ext, 6, 0, ra);
    n = build6(b, 0, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_NONE);
    /* In order: a discard option after a malformed one is never reached,
     * one before a malformed one decides. */
    const uint8_t order1[6] = {0x1e, 0, 0x80, 9, 0, 0};
    e = raw_hdr(ext, 6, 0, order1);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_OPT_UNKNOWN);
    const uint8_t order2[6] = {0x1e, 9, 0x80, 0, 0, 0};
    e = raw_hdr(ext, 6, 0, order2);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_OPT_LEN);
    /* An option whose length byte is missing, or runs past the header. */
    const uint8_t nolen[6] = {1, 2, 0, 0, 0, 0x1e};
    e = raw_hdr(ext, 6, 0, nolen);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_OPT_LEN);
    const uint8_t past[6] = {1, 5, 0, 0, 0, 0};
    e = raw_hdr(ext, 6, 0, past);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_OPT_LEN);
    /* Pad1 six times fills an 8-byte header and is fine. */
    const uint8_t pad1[6] = {0};
    e = raw_hdr(ext, 6, 0, pad1);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_NONE);
}

/* Header bombs: long chains, padding floods, option floods, lengths that
 * claim more than the datagram holds. */
static void test_ext_bombs(void)
{
    static uint8_t ext[4096], b[8192];
    size_t e, n;

    /* SF_IPV6_EXT_MAX headers are walked; one more is a drop. */
    e = 0;
    for (int i = 0; i < SF_IPV6_EXT_MAX; i++)
        e += opts_hdr(ext + e, i + 1 < SF_IPV6_EXT_MAX ? 60 : 6, 0);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_NONE);
    e = 0;
    for (int i = 0; i <= SF_IPV6_EXT_MAX; i++)
        e += opts_hdr(ext + e, i < SF_IPV6_EXT_MAX ? 60 : 6, 0);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_MANY);
    /* Hundreds of Destination Options headers, and of Routing headers
     * with Segments Left 0, and of whole-datagram fragment headers. */
    e = 0;
    for (int i = 0; i < 400; i++)
        e += opts_hdr(ext + e, i < 399 ? 60 : 6, 0);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_MANY);
    e = 0;
    for (int i = 0; i < 150; i++)
        e += rt_hdr(ext + e, i < 149 ? 43 : 6, 0);
    n = build6(b, 43, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_MANY);
    e = 0;
    for (int i = 0; i < 400; i++)
        e += frag_hdr(ext + e, i < 399 ? 44 : 6, 0, 0, 0);
    n = build6(b, 44, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_MANY);

    /* One Destination Options header of 2048 bytes, 1023 empty PadN. */
    ext[0] = 6, ext[1] = 255;
    for (size_t i = 2; i < 2048; i += 2)
        ext[i] = 1, ext[i + 1] = 0;
    n = build6(b, 60, ext, 2048, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_OPT_EXCESS);
    /* ... or 2046 Pad1. */
    memset(ext + 2, 0, 2046);
    n = build6(b, 60, ext, 2048, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_OPT_EXCESS);
    /* The padding bound: 7 bytes in a row pass, 8 do not. */
    const uint8_t pad7[14] = {1, 5, 0, 0, 0, 0, 0, 0x1e, 0, 1, 3, 0, 0, 0};
    e = raw_hdr(ext, 6, 1, pad7);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_NONE);
    const uint8_t pad8[14] = {1, 6, 0, 0, 0, 0, 0, 0, 0x1e, 0, 1, 2, 0, 0};
    e = raw_hdr(ext, 6, 1, pad8);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_OPT_EXCESS);
    /* Skippable options: SF_IPV6_OPT_MAX pass, one more does not. */
    uint8_t many[22];
    for (int k = 0; k <= 1; k++) {
        memset(many, 0, sizeof many);
        int nopt = SF_IPV6_OPT_MAX + k;
        for (int i = 0; i < nopt; i++)
            many[2 * i] = 0x1e, many[2 * i + 1] = 0;
        many[2 * nopt] = 1; /* PadN over the rest */
        many[2 * nopt + 1] = (uint8_t)(22 - 2 * nopt - 2);
        e = raw_hdr(ext, 6, 2, many);
        n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
        CHECK_EQ(drop6(b, n), k ? SF_DROP_IP6_OPT_EXCESS : SF_DROP_NONE);
    }

    /* A header claiming more than the datagram: Hdr Ext Len 255 in a
     * short datagram; a chain whose last header ends past the payload. */
    e = opts_hdr(ext, 6, 0);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, "abc");
    b[41] = 255;
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_LEN);
    b[41] = 3; /* 32 bytes: 8 of the header and 24 of TCP are 32... */
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_LEN); /* ...but only 31 remain */
    /* A Payload Length that ends inside the chain, with the rest of the
     * bytes still in the buffer: the Payload Length decides. */
    e = opts_hdr(ext, 60, 0);
    e += opts_hdr(ext + e, 6, 0);
    n = build6(b, 60, ext, e, NULL, 0, SF_ACK, NULL);
    for (size_t pl = 0; pl < e; pl++) {
        b[4] = (uint8_t)(pl >> 8), b[5] = (uint8_t)pl;
        CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_LEN);
    }
    b[4] = 0, b[5] = (uint8_t)e; /* the chain exactly, no TCP */
    CHECK_EQ(drop6(b, n), SF_DROP_TCP_SHORT);
    /* A Jumbo Payload (Payload Length 0 and a Hop-by-Hop header). */
    const uint8_t jumbo[6] = {0xc2, 4, 0, 1, 0, 0};
    e = raw_hdr(ext, 6, 0, jumbo);
    n = build6(b, 0, ext, e, NULL, 0, SF_ACK, NULL);
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_OPT_UNKNOWN);
    b[4] = b[5] = 0;
    CHECK_EQ(drop6(b, n), SF_DROP_IP6_EXT_LEN);
}

/* Every truncation of a valid datagram with a chain is dropped without an
 * over-read; with the Payload Length cut to match, a lower layer drops. */
static void test_truncations6(void)
{
    const uint8_t opts[16] = {2, 4, 5, 0xb4, 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t ext[64], b[256], c[256];
    size_t e = opts_hdr(ext, 44, 0);
    e += frag_hdr(ext + e, 43, 0, 0, 0);
    e += rt_hdr(ext + e, 6, 0);
    size_t n = build6(b, 0, ext, e, opts, sizeof opts, SF_SYN, "payload!");
    CHECK_EQ(drop6(b, n), SF_DROP_NONE);
    int bad = 0;
    for (size_t len = 0; len < n; len++) {
        enum sf_drop want = len < 40 ? SF_DROP_IP6_SHORT : SF_DROP_IP6_PLEN;
        bad += drop6(b, len) != want;
    }
    CHECK_EQ(bad, 0);
    int none = 0;
    for (size_t len = 40; len < n; len++) {
        memcpy(c, b, len);
        c[4] = (uint8_t)((len - 40) >> 8), c[5] = (uint8_t)(len - 40);
        enum sf_drop d = drop6(c, len);
        none += d == SF_DROP_NONE;
        CHECK(d == SF_DROP_IP6_EXT_LEN || d == SF_DROP_TCP_SHORT ||
              d == SF_DROP_TCP_DOFF || d == SF_DROP_TCP_CSUM);
    }
    CHECK_EQ(none, 0);
}

/* ----------------------------------------------------------- address text */

static const char *fmt6(const uint8_t a[16])
{
    static char buf[SF_IP6_STRLEN];
    return sf_ip6_fmt(a, buf, sizeof buf);
}

/* Parses s and writes it back: the canonical text, or "ERR". */
static const char *canon(const char *s)
{
    uint8_t a[16];
    if (sf_ip6_parse(s, a) != 0)
        return "ERR";
    return fmt6(a);
}

static void test_addr6_rfc5952(void)
{
    /* RFC 5952 4.1: "2001:0db8::0001 is not acceptable and must be
     * represented as 2001:db8::1"; a 0000 field is "0". */
    CHECK(strcmp(canon("2001:0db8::0001"), "2001:db8::1") == 0);
    CHECK(strcmp(canon("2001:db8:0000:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1") == 0);
    /* 4.2.1: "2001:db8:0:0:0:0:2:1 must be shortened to 2001:db8::2:1". */
    CHECK(strcmp(canon("2001:db8:0:0:0:0:2:1"), "2001:db8::2:1") == 0);
    CHECK(strcmp(canon("2001:db8::0:1"), "2001:db8::1") == 0);
    /* 4.2.2: "2001:db8:0:1:1:1:1:1 is correct, but 2001:db8::1:1:1:1:1
     * is not correct" (both parse; the first is written). */
    CHECK(strcmp(canon("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1") == 0);
    CHECK(strcmp(canon("2001:db8::1:1:1:1:1"), "2001:db8:0:1:1:1:1:1") == 0);
    /* 4.2.3: the longest run in 2001:0:0:1:0:0:0:1; the first of equal
     * runs: "2001:db8::1:0:0:1 is correct representation". */
    CHECK(strcmp(canon("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1") == 0);
    CHECK(strcmp(canon("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1") == 0);
    /* 4.3: lower case. */
    CHECK(strcmp(canon("2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:FFFF"),
                 "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff") == 0);
    /* 5: the IPv4-mapped prefix in mixed notation. */
    CHECK(strcmp(canon("::ffff:192.0.2.1"), "::ffff:192.0.2.1") == 0);
    CHECK(strcmp(canon("0:0:0:0:0:FFFF:c000:0201"), "::ffff:192.0.2.1") == 0);
    CHECK(strcmp(canon("::ffff:0.0.0.0"), "::ffff:0.0.0.0") == 0);
    /* RFC 5952 2's many ways of writing one address all come back as one
     * canonical text. */
    const char *same[] = {"2001:db8:0:0:1:0:0:1", "2001:0db8:0:0:1:0:0:1",
                          "2001:db8::1:0:0:1",    "2001:db8::0:1:0:0:1",
                          "2001:0db8::1:0:0:1",   "2001:db8:0:0:1::1",
                          "2001:db8:0000:0:1::1", "2001:DB8:0:0:1::1"};
    int differ = 0;
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        differ += strcmp(canon(same[i]), "2001:db8::1:0:0:1") != 0;
    CHECK_EQ(differ, 0);
    /* The special and edge cases. */
    CHECK(strcmp(canon("::"), "::") == 0);
    CHECK(strcmp(canon("0:0:0:0:0:0:0:0"), "::") == 0);
    CHECK(strcmp(canon("::1"), "::1") == 0);
    CHECK(strcmp(canon("1::"), "1::") == 0);
    CHECK(strcmp(canon("1:0:0:0:0:0:0:0"), "1::") == 0);
    CHECK(strcmp(canon("0:0:1:0:0:0:1:0"), "0:0:1::1:0") == 0);
    CHECK(strcmp(canon("1:0:1:0:1:0:1:0"), "1:0:1:0:1:0:1:0") == 0);
    CHECK(strcmp(canon("0:1:1:1:1:1:1:0"), "0:1:1:1:1:1:1:0") == 0);
    CHECK(strcmp(canon("fe80::1"), "fe80::1") == 0);
    CHECK(strcmp(canon("ff02::1:ff00:1"), "ff02::1:ff00:1") == 0);
    CHECK(strcmp(canon("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 0);
    /* IPv4 in the last 32 bits is read anywhere but written only for the
     * mapped prefix: IPv4-compatible and NAT64 come back as hex. */
    CHECK(strcmp(canon("::198.18.0.1"), "::c612:1") == 0);
    CHECK(strcmp(canon("64:ff9b::192.0.2.33"), "64:ff9b::c000:221") == 0);
    CHECK(strcmp(canon("1:2:3:4:5:6:1.2.3.4"), "1:2:3:4:5:6:102:304") == 0);
    CHECK(strcmp(canon("::ffff:1:0"), "::ffff:0.1.0.0") == 0);
    CHECK(strcmp(canon("::1:ffff:1.2.3.4"), "::1:ffff:102:304") == 0);
}

static void test_addr6_fmt_buffers(void)
{
    uint8_t a[16];
    CHECK_EQ(sf_ip6_parse("2001:db8::1", a), 0);
    char buf[SF_IP6_STRLEN];
    memset(buf, 'x', sizeof buf);
    CHECK(strcmp(sf_ip6_fmt(a, buf, 5), "2001") == 0); /* as snprintf */
    CHECK(strcmp(sf_ip6_fmt(a, buf, 1), "") == 0);
    CHECK(strcmp(sf_ip6_fmt(a, NULL, 10), "") == 0);
    CHECK(strcmp(sf_ip6_fmt(a, buf, 0), "") == 0);
    /* The longest texts fit SF_IP6_STRLEN. */
    CHECK_EQ(sf_ip6_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", a), 0);
    CHECK_EQ(strlen(sf_ip6_fmt(a, buf, sizeof buf)), 39);
    CHECK_EQ(sf_ip6_parse("::ffff:255.255.255.255", a), 0);
    CHECK_EQ(strlen(sf_ip6_fmt(a, buf, sizeof buf)), 22);
}

static void test_addr6_parse_bad(void)
{
    const char *bad[] = {
        "", ":", ":::", "1", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
        "1::2::3", "::1::", "1:::2", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:",
        "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "g::",
        "1:2:3:4:5:6:7:8 ", " ::1", "::1%eth0", "[::1]", "::1/64",
        "1.2.3.4", "::1.2.3", "::1.2.3.4.5", "::256.1.1.1", "::01.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:5", "1.2.3.4::", "::ffff:1.2.3.4x",
        "::-1", "::+1", "0x1::", "1:2:3:4:5:6:7:8:", "::ffff:1.2.3.4.",
        "1::2:3:4:5:6:7:8",
    };
    uint8_t a[16];
    memset(a, 0x5a, sizeof a);
    int accepted = 0;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (sf_ip6_parse(bad[i], a) != SF_EINVAL) {
            accepted++;
            fprintf(stderr, "accepted '%s'\n", bad[i]);
        }
    }
    CHECK_EQ(accepted, 0);
    int touched = 0;
    for (int i = 0; i < 16; i++)
        touched += a[i] != 0x5a;
    CHECK_EQ(touched, 0);
    CHECK_EQ(sf_ip6_parse(NULL, a), SF_EINVAL);
    CHECK_EQ(sf_ip6_parse("::", NULL), SF_EINVAL);
    /* "::" may stand for a single group on input (RFC 4291: "one or
     * more"), which 5952 would not write. */
    CHECK_EQ(sf_ip6_parse("1::3:4:5:6:7:8", a), 0);
    CHECK_EQ(a[2] << 8 | a[3], 0);
    CHECK_EQ(a[4] << 8 | a[5], 3);
}

/* Every pattern of zero and non-zero groups: the text comes back to the
 * same address, holds at most one "::", and shortens the first longest
 * run of two or more zero groups (checked by counting here). */
static void test_addr6_all_patterns(void)
{
    int wrong = 0;
    for (unsigned mask = 0; mask < 256; mask++) {
        uint8_t a[16] = {0}, back[16];
        for (int i = 0; i < 8; i++)
            if (mask >> i & 1)
                a[2 * i] = (uint8_t)(i + 1), a[2 * i + 1] = 0xa0;
        const char *s = fmt6(a);
        if (sf_ip6_parse(s, back) != 0 || memcmp(a, back, 16) != 0)
            wrong++;
        /* The longest run (>= 2), the first on a tie. */
        int best = -1, bestlen = 1;
        for (int i = 0; i < 8;) {
            if (mask >> i & 1) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && !(mask >> j & 1))
                j++;
            if (j - i > bestlen)
                best = i, bestlen = j - i;
            i = j;
        }
        int colons = 0, dbl = 0;
        for (const char *p = s; *p; p++) {
            colons += *p == ':';
            dbl += p[0] == ':' && p[1] == ':';
        }
        if (best < 0) {
            wrong += dbl != 0 || colons != 7;
        } else {
            /* groups written = 8 - bestlen; "::" stands for the run */
            int groups = 8 - bestlen;
            int want_colons = groups == 0                            ? 2
                              : best == 0 || best + bestlen == 8 ? groups + 1
                                                                 : groups;
            wrong += dbl != 1 || colons != want_colons;
            /* and the run is in the right place: count groups before */
            int before = 0;
            for (const char *p = s; p[0] && !(p[0] == ':' && p[1] == ':'); p++)
                before += *p == ':';
            wrong += best == 0 ? before != 0 : before != best - 1;
        }
    }
    CHECK_EQ(wrong, 0);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_known_syn6),
    CHECK_CASE(test_roundtrips6),
    CHECK_CASE(test_emit6_layout),
    CHECK_CASE(test_ip6_drops),
    CHECK_CASE(test_ip6_padding),
    CHECK_CASE(test_ip6_bad_addresses),
    CHECK_CASE(test_ext_chain),
    CHECK_CASE(test_ext_drops),
    CHECK_CASE(test_ext_bombs),
    CHECK_CASE(test_truncations6),
    CHECK_CASE(test_addr6_rfc5952),
    CHECK_CASE(test_addr6_fmt_buffers),
    CHECK_CASE(test_addr6_parse_bad),
    CHECK_CASE(test_addr6_all_patterns),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
