/* wire: IPv4/TCP parse and emit (include/synfin/wire.h). Every parse input is
 * placed at the very end of a page followed by a PROT_NONE guard page (the
 * picohttpparser trick), so any read past the buffer crashes the test. */
#include "check.h"
#include "guard.h"
#include "synfin/wire.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

/* Parses IPv4 then TCP from a guarded copy; returns the first drop. The
 * copy is unmapped unless keep is given (the parsed payload points into
 * it): then the caller unguards it. */
static enum sf_drop parse_keep(const uint8_t *buf, size_t len,
                               struct sf_ipv4 *ip, struct sf_tcp *seg,
                               struct guard *keep)
{
    struct guard g = guarded(buf, len);
    enum sf_drop d = sf_ipv4_parse(g.data, len, ip);
    if (d == SF_DROP_NONE)
        d = sf_tcp_parse(ip, seg);
    if (keep)
        *keep = g;
    else
        unguard(&g);
    return d;
}

static enum sf_drop parse_all(const uint8_t *buf, size_t len,
                              struct sf_ipv4 *ip, struct sf_tcp *seg)
{
    return parse_keep(buf, len, ip, seg, NULL);
}

static enum sf_drop parse_drop(const uint8_t *buf, size_t len)
{
    struct sf_ipv4 ip;
    struct sf_tcp seg;
    return parse_all(buf, len, &ip, &seg);
}

/* ----------------------------------------------- an independent checksum */

/* RFC 1071 written out the plain way, not through the code under test. */
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

#define SRC 0xc6120002u /* 198.18.0.2 */
#define DST 0xc6120001u /* 198.18.0.1 */

/* Builds a datagram by hand: IP header (ihl words, may include options),
 * TCP header with raw option bytes, payload; fixes both checksums with
 * ref_csum. Returns the length. */
static size_t build(uint8_t *b, int ihl, const uint8_t *opts, size_t optlen,
                    uint8_t flags, const char *payload)
{
    size_t hl = (size_t)ihl * 4, doff = 20 + optlen;
    size_t plen = payload ? strlen(payload) : 0, tot = hl + doff + plen;
    memset(b, 0, tot);
    b[0] = (uint8_t)(0x40 | ihl);
    b[2] = (uint8_t)(tot >> 8), b[3] = (uint8_t)tot;
    b[6] = 0x40, b[8] = 64, b[9] = 6;
    uint32_t a[2] = {SRC, DST};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++)
            b[12 + 4 * k + i] = (uint8_t)(a[k] >> (24 - 8 * i));
    for (size_t i = 20; i < hl; i++)
        b[i] = 1; /* IP NOP options */
    uint8_t *t = b + hl;
    t[0] = 0x9c, t[1] = 0x40, t[2] = 0, t[3] = 80; /* 40000 -> 80 */
    t[4] = 0xde, t[5] = 0xad, t[6] = 0xbe, t[7] = 0xef;
    t[12] = (uint8_t)((doff / 4) << 4);
    t[13] = flags;
    t[14] = 0x20;
    if (optlen)
        memcpy(t + 20, opts, optlen);
    if (plen)
        memcpy(t + doff, payload, plen);
    uint16_t c = ref_csum(b, hl, NULL, 0);
    b[10] = (uint8_t)(c >> 8), b[11] = (uint8_t)c;
    uint8_t ph[12] = {b[12], b[13], b[14], b[15], b[16], b[17], b[18], b[19],
                      0, 6, (uint8_t)((doff + plen) >> 8), (uint8_t)(doff + plen)};
    c = ref_csum(ph, 12, t, doff + plen);
    t[16] = (uint8_t)(c >> 8), t[17] = (uint8_t)c;
    return tot;
}

/* Rewrites the IP header checksum after a test mangles the header. */
static void fix_ip_csum(uint8_t *b)
{
    size_t hl = (size_t)(b[0] & 15) * 4;
    b[10] = b[11] = 0;
    uint16_t c = ref_csum(b, hl, NULL, 0);
    b[10] = (uint8_t)(c >> 8), b[11] = (uint8_t)c;
}

/* ------------------------------------------------------------------ tests */

static const uint8_t known_syn[] = {
    0x45, 0x00, 0x00, 0x2c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x9c, 0x70,
    0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x9c, 0x40, 0x00, 0x50,
    0xff, 0xff, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xff, 0xff,
    0x6f, 0x7d, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4};

static void test_csum(void)
{
    /* RFC 1071 section 3's example: sum 0xddf2, checksum 0x220d. */
    const uint8_t ex[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, ex, sizeof ex)), 0x220d);
    /* Split sums agree when the split is at an even offset. */
    uint32_t s = sf_csum_add(sf_csum_add(0, ex, 4), ex + 4, 4);
    CHECK_EQ(sf_csum_fold(s), 0x220d);
    /* Odd length is zero-padded. */
    const uint8_t odd[] = {0x12, 0x34, 0x56};
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, odd, 3)), (uint16_t)~(0x1234 + 0x5600));
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, NULL, 0)), 0xffff);
    /* A large buffer of 0xff bytes does not overflow the running sum. */
    static uint8_t big[65536];
    memset(big, 0xff, sizeof big);
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, big, sizeof big)), 0);
}

static void test_known_syn(void)
{
    /* The bytes were assembled and checksummed by hand (ref_csum agrees). */
    CHECK_EQ(ref_csum(known_syn, 20, NULL, 0), 0);
    struct sf_ipv4 ip;
    struct sf_tcp seg;
    CHECK_EQ(parse_all(known_syn, sizeof known_syn, &ip, &seg), SF_DROP_NONE);
    CHECK_EQ(ip.src, SRC);
    CHECK_EQ(ip.dst, DST);
    CHECK_EQ(ip.ttl, 64);
    CHECK_EQ(ip.id, 0x1234);
    CHECK_EQ(ip.payload_len, 24);
    CHECK_EQ(seg.sport, 40000);
    CHECK_EQ(seg.dport, 80);
    CHECK_EQ(seg.seq, 0xfffffff0u);
    CHECK_EQ(seg.flags, SF_SYN);
    CHECK_EQ(seg.win, 65535);
    CHECK(seg.opt.has_mss);
    CHECK_EQ(seg.opt.mss, 1460);
    CHECK(!seg.opt.has_ts && !seg.opt.has_wscale && !seg.opt.sack_ok);
    CHECK_EQ(seg.len, 0);

    /* sf_emit of the same fields writes exactly those bytes. */
    struct sf_ipv4 eip = {.src = SRC, .dst = DST, .id = 0x1234};
    struct sf_tcp es = {.sport = 40000, .dport = 80, .seq = 0xfffffff0u,
                        .flags = SF_SYN, .win = 65535};
    es.opt.has_mss = true;
    es.opt.mss = 1460;
    uint8_t out[128];
    size_t n = sf_emit(out, sizeof out, &eip, &es);
    CHECK_EQ(n, sizeof known_syn);
    CHECK(n == sizeof known_syn && memcmp(out, known_syn, n) == 0);
}

static int same_seg(const struct sf_tcp *a, const struct sf_tcp *b)
{
    const struct sf_tcp_opts *x = &a->opt, *y = &b->opt;
    int ok = a->sport == b->sport && a->dport == b->dport &&
             a->seq == b->seq && a->ack == b->ack && a->flags == b->flags &&
             a->win == b->win && a->urp == b->urp && a->len == b->len &&
             (a->len == 0 || memcmp(a->payload, b->payload, a->len) == 0);
    ok = ok && x->has_mss == y->has_mss && (!x->has_mss || x->mss == y->mss);
    ok = ok && x->has_wscale == y->has_wscale &&
         (!x->has_wscale || x->wscale == y->wscale);
    ok = ok && x->sack_ok == y->sack_ok && x->has_ts == y->has_ts &&
         (!x->has_ts || (x->ts_val == y->ts_val && x->ts_ecr == y->ts_ecr));
    ok = ok && x->nsack == y->nsack &&
         memcmp(x->sack, y->sack, sizeof(uint32_t) * 2 * x->nsack) == 0;
    return ok;
}

static void roundtrip(const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    uint8_t buf[2048];
    size_t n = sf_emit(buf, sizeof buf, ip, seg);
    CHECK_EQ(n, 40 + sf_tcp_opts_len(&seg->opt) + seg->len);
    CHECK_EQ(sf_tcp_opts_len(&seg->opt) % 4, 0);
    CHECK(buf[6] & 0x40); /* DF */
    CHECK_EQ(buf[8], ip->ttl ? ip->ttl : 64);
    struct sf_ipv4 pip;
    struct sf_tcp pseg;
    struct guard g;
    CHECK_EQ(parse_keep(buf, n, &pip, &pseg, &g), SF_DROP_NONE);
    CHECK_EQ(pip.src, ip->src);
    CHECK_EQ(pip.dst, ip->dst);
    CHECK_EQ(pip.tos, ip->tos);
    CHECK_EQ(pip.id, ip->id);
    CHECK(same_seg(&pseg, seg));
    unguard(&g);
}

static void test_roundtrips(void)
{
    const char data[] = "GET / HTTP/1.0\r\n\r\n";
    struct sf_ipv4 ip = {.src = SRC, .dst = DST, .tos = 0x10, .ttl = 7, .id = 9};
    struct sf_tcp seg = {.sport = 1, .dport = 65535, .seq = 0xffffffffu,
                         .ack = 0x80000000u, .flags = SF_ACK | SF_PSH,
                         .win = 1, .urp = 3,
                         .payload = (const uint8_t *)data,
                         .len = sizeof data - 1};
    roundtrip(&ip, &seg); /* no options */
    ip.ttl = 0;
    seg.opt = (struct sf_tcp_opts){.has_mss = true, .mss = 536,
                                   .has_wscale = true, .wscale = 14,
                                   .sack_ok = true, .has_ts = true,
                                   .ts_val = 0xfeedface, .ts_ecr = 1};
    seg.flags = SF_SYN | SF_ACK | SF_ECE | SF_CWR;
    roundtrip(&ip, &seg); /* all SYN options */
    seg.opt = (struct sf_tcp_opts){.nsack = 4};
    for (int i = 0; i < 4; i++) {
        seg.opt.sack[i][0] = 1000u * (uint32_t)i;
        seg.opt.sack[i][1] = 1000u * (uint32_t)i + 500;
    }
    seg.flags = SF_ACK | SF_FIN | SF_URG;
    roundtrip(&ip, &seg); /* four SACK blocks */
    seg.opt.nsack = 3;
    seg.opt.has_ts = true;
    roundtrip(&ip, &seg); /* timestamps and three blocks: 36 bytes */
    CHECK_EQ(sf_tcp_opts_len(&seg.opt), 36);
    seg.opt.nsack = 4;
    seg.opt.has_mss = true;
    CHECK_EQ(sf_tcp_opts_len(&seg.opt), 40); /* MSS + TS + 3 blocks */
    seg.opt.nsack = 1;
    seg.flags = SF_RST;
    seg.len = 0;
    roundtrip(&ip, &seg);
}

static void test_emit_layout(void)
{
    struct sf_tcp_opts o = {.has_mss = true, .mss = 1460, .sack_ok = true,
                            .has_ts = true, .ts_val = 0x01020304,
                            .ts_ecr = 0x05060708, .has_wscale = true,
                            .wscale = 7};
    CHECK_EQ(sf_tcp_opts_len(&o), 20); /* 4 + 2 + 10 + 3 = 19, padded */
    struct sf_ipv4 ip = {.src = SRC, .dst = DST};
    struct sf_tcp seg = {.sport = 5, .dport = 6, .flags = SF_SYN, .opt = o};
    uint8_t buf[128];
    size_t n = sf_emit(buf, sizeof buf, &ip, &seg);
    CHECK_EQ(n, 60);
    const uint8_t want[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4,
                              5, 6, 7, 8, 3, 3, 7, 1};
    CHECK(memcmp(buf + 40, want, 20) == 0);
    CHECK_EQ(buf[32] >> 4, 10); /* data offset */
    CHECK_EQ(buf[9], 6);
    /* Four SACK blocks with timestamps do not fit: emit keeps three. */
    struct sf_tcp_opts s = {.has_ts = true, .nsack = 4};
    CHECK_EQ(sf_tcp_opts_len(&s), 36);
    s.has_wscale = s.sack_ok = s.has_mss = true; /* 19 bytes: 2 blocks */
    CHECK_EQ(sf_tcp_opts_len(&s), 40);
    s.nsack = 200; /* a corrupt count never writes past 40 bytes */
    CHECK_EQ(sf_tcp_opts_len(&s), 40);
    /* Too small a buffer: 0, at every size short of the datagram. */
    for (size_t cap = 0; cap < n; cap++)
        CHECK_EQ(sf_emit(buf, cap, &ip, &seg), 0);
    CHECK_EQ(sf_emit(buf, n, &ip, &seg), n);
}

static void test_ip_drops(void)
{
    uint8_t b[256];
    size_t n = build(b, 5, NULL, 0, SF_ACK, "x");
    CHECK_EQ(parse_drop(b, n), SF_DROP_NONE);
    CHECK_EQ(parse_drop(b, 19), SF_DROP_IP_SHORT);
    CHECK_EQ(parse_drop(b, 0), SF_DROP_IP_SHORT);

    n = build(b, 5, NULL, 0, SF_ACK, "x");
    b[0] = 0x65, fix_ip_csum(b);
    CHECK_EQ(parse_drop(b, n), SF_DROP_IP_VERSION);
    b[0] = 0x44; /* IHL 4 (checksum moot: IHL is checked first) */
    CHECK_EQ(parse_drop(b, n), SF_DROP_IP_HDRLEN);
    b[0] = 0x4f; /* IHL 15 = 60 bytes > 41 */
    CHECK_EQ(parse_drop(b, n), SF_DROP_IP_HDRLEN);

    n = build(b, 5, NULL, 0, SF_ACK, "x");
    b[3] += 1, fix_ip_csum(b); /* total length past the buffer */
    CHECK_EQ(parse_drop(b, n), SF_DROP_IP_TOTLEN);
    b[2] = 0, b[3] = 19, fix_ip_csum(b); /* shorter than the header */
    CHECK_EQ(parse_drop(b, n), SF_DROP_IP_TOTLEN);

    n = build(b, 5, NULL, 0, SF_ACK, "x");
    b[10] ^= 1;
    CHECK_EQ(parse_drop(b, n), SF_DROP_IP_CSUM);

    n = build(b, 5, NULL, 0, SF_ACK, "x");
    b[6] = 0x20, fix_ip_csum(b); /* MF */
    CHECK_EQ(parse_drop(b, n), SF_DROP_IP_FRAGMENT);
    b[6] = 0x40, b[7] = 1, fix_ip_csum(b); /* offset 8, DF */
    CHECK_EQ(parse_drop(b, n), SF_DROP_IP_FRAGMENT);
    b[6] = 0, b[7] = 0, fix_ip_csum(b); /* no DF: fine */
    CHECK_EQ(parse_drop(b, n), SF_DROP_NONE);

    const uint32_t bad_src[] = {0, 0xffffffffu, 0xe0000001u, 0xefffffffu};
    for (size_t i = 0; i < sizeof bad_src / sizeof *bad_src; i++) {
        n = build(b, 5, NULL, 0, SF_ACK, "x");
        for (int k = 0; k < 4; k++)
            b[12 + k] = (uint8_t)(bad_src[i] >> (24 - 8 * k));
        fix_ip_csum(b);
        CHECK_EQ(parse_drop(b, n), SF_DROP_IP_BAD_SRC);
    }

    n = build(b, 5, NULL, 0, SF_ACK, "x");
    b[9] = 17, fix_ip_csum(b);
    CHECK_EQ(parse_drop(b, n), SF_DROP_IP_PROTO);
}

static void test_ip_options_and_padding(void)
{
    uint8_t b[256];
    size_t n = build(b, 7, NULL, 0, SF_ACK, "hello");
    struct sf_ipv4 ip;
    struct sf_tcp seg;
    struct guard g;
    CHECK_EQ(parse_keep(b, n, &ip, &seg, &g), SF_DROP_NONE);
    CHECK_EQ(ip.payload_len, 25);
    CHECK_EQ(seg.len, 5);
    CHECK(seg.len == 5 && memcmp(seg.payload, "hello", 5) == 0);
    unguard(&g);
    /* Trailing link padding past total length is ignored. */
    memset(b + n, 0xee, 20);
    CHECK_EQ(parse_all(b, n + 20, &ip, &seg), SF_DROP_NONE);
    CHECK_EQ(seg.len, 5);
    CHECK_EQ(ip.payload_len, 25);
}

static void test_tcp_drops(void)
{
    uint8_t b[256];
    size_t n = build(b, 5, NULL, 0, SF_ACK, NULL);
    /* TCP shorter than 20 bytes: total length 39. */
    b[3] = 39, fix_ip_csum(b);
    CHECK_EQ(parse_drop(b, n), SF_DROP_TCP_SHORT);

    n = build(b, 5, NULL, 0, SF_ACK, NULL);
    b[32] = 4 << 4;
    CHECK_EQ(parse_drop(b, n), SF_DROP_TCP_DOFF);
    b[32] = 6 << 4; /* 24 > 20 bytes of TCP */
    CHECK_EQ(parse_drop(b, n), SF_DROP_TCP_DOFF);

    n = build(b, 5, NULL, 0, SF_ACK, "data");
    b[n - 1] ^= 0x40;
    CHECK_EQ(parse_drop(b, n), SF_DROP_TCP_CSUM);
    /* The pseudo-header counts: a changed address breaks it. */
    n = build(b, 5, NULL, 0, SF_ACK, "data");
    b[19] = 7, fix_ip_csum(b);
    CHECK_EQ(parse_drop(b, n), SF_DROP_TCP_CSUM);

    uint8_t zero_s[256], zero_d[256];
    n = build(zero_s, 5, NULL, 0, SF_ACK, NULL);
    /* Move port 40000 to 0 and keep the sum: add 40000 to the seq word. */
    memcpy(zero_d, zero_s, n);
    zero_s[20] = zero_s[21] = 0;
    zero_s[36] = 0, zero_s[37] = 0; /* recompute below */
    {
        uint8_t ph[12] = {zero_s[12], zero_s[13], zero_s[14], zero_s[15],
                          zero_s[16], zero_s[17], zero_s[18], zero_s[19], 0, 6, 0, 20};
        uint16_t c = ref_csum(ph, 12, zero_s + 20, 20);
        zero_s[36] = (uint8_t)(c >> 8), zero_s[37] = (uint8_t)c;
    }
    CHECK_EQ(parse_drop(zero_s, n), SF_DROP_TCP_PORT_ZERO);
    zero_d[22] = zero_d[23] = 0;
    zero_d[36] = 0, zero_d[37] = 0;
    {
        uint8_t ph[12] = {zero_d[12], zero_d[13], zero_d[14], zero_d[15],
                          zero_d[16], zero_d[17], zero_d[18], zero_d[19], 0, 6, 0, 20};
        uint16_t c = ref_csum(ph, 12, zero_d + 20, 20);
        zero_d[36] = (uint8_t)(c >> 8), zero_d[37] = (uint8_t)c;
    }
    CHECK_EQ(parse_drop(zero_d, n), SF_DROP_TCP_PORT_ZERO);

    n = build(b, 5, NULL, 0, SF_SYN | SF_RST, NULL);
    CHECK_EQ(parse_drop(b, n), SF_DROP_TCP_FLAGS);
    /* RFC 9293 3.10.7: SYN with FIN reaches the states, which answer it */
    n = build(b, 5, NULL, 0, SF_SYN | SF_FIN, NULL);
    CHECK_EQ(parse_drop(b, n), SF_DROP_NONE);
    n = build(b, 5, NULL, 0, SF_SYN | SF_FIN | SF_ACK, NULL);
    CHECK_EQ(parse_drop(b, n), SF_DROP_NONE);
    n = build(b, 5, NULL, 0, 0xff, NULL);
    CHECK_EQ(parse_drop(b, n), SF_DROP_TCP_FLAGS);
    n = build(b, 5, NULL, 0, SF_FIN | SF_RST | SF_ACK | SF_PSH | SF_URG, NULL);
    CHECK_EQ(parse_drop(b, n), SF_DROP_NONE); /* odd but possible */
    n = build(b, 5, NULL, 0, 0, NULL);
    CHECK_EQ(parse_drop(b, n), SF_DROP_NONE); /* no flags: input's job */
}

/* Raw options: a parse result for each hostile layout. */
static enum sf_drop opts_drop(const uint8_t *o, size_t len, struct sf_tcp *seg)
{
    uint8_t b[256];
    struct sf_ipv4 ip;
    size_t n = build(b, 5, o, len, SF_SYN, NULL);
    return parse_all(b, n, &ip, seg);
}

static void test_hostile_options(void)
{
    struct sf_tcp seg;
    const uint8_t len0[4] = {0x22, 0, 1, 1};
    CHECK_EQ(opts_drop(len0, 4, &seg), SF_DROP_TCP_OPT_LEN);
    const uint8_t len1[4] = {0x22, 1, 1, 1};
    CHECK_EQ(opts_drop(len1, 4, &seg), SF_DROP_TCP_OPT_LEN);
    const uint8_t mss0[4] = {2, 0, 5, 0xb4};
    CHECK_EQ(opts_drop(mss0, 4, &seg), SF_DROP_TCP_OPT_LEN);
    const uint8_t past[8] = {1, 1, 8, 10, 0, 0, 0, 0}; /* TS runs past */
    CHECK_EQ(opts_drop(past, 8, &seg), SF_DROP_TCP_OPT_LEN);
    const uint8_t kind_last[4] = {1, 1, 1, 2}; /* length byte missing */
    CHECK_EQ(opts_drop(kind_last, 4, &seg), SF_DROP_TCP_OPT_LEN);
    const uint8_t unk_past[4] = {0x99, 5, 0, 0};
    CHECK_EQ(opts_drop(unk_past, 4, &seg), SF_DROP_TCP_OPT_LEN);
    const uint8_t sack3[4] = {5, 3, 0, 1};
    CHECK_EQ(opts_drop(sack3, 4, &seg), SF_DROP_TCP_OPT_BAD);
    uint8_t sack2[4] = {5, 2, 1, 1}; /* zero blocks */
    CHECK_EQ(opts_drop(sack2, 4, &seg), SF_DROP_TCP_OPT_BAD);
    uint8_t sack_odd[12] = {5, 11, 0};
    CHECK_EQ(opts_drop(sack_odd, 12, &seg), SF_DROP_TCP_OPT_BAD);
    uint8_t sack5[40] = {1, 1, 1, 1, 1, 1, 5, 34};
    CHECK_EQ(opts_drop(sack5, 40, &seg), SF_DROP_NONE);
    CHECK_EQ(seg.opt.nsack, 4);
    const uint8_t mss3[4] = {2, 3, 5, 1};
    CHECK_EQ(opts_drop(mss3, 4, &seg), SF_DROP_TCP_OPT_BAD);
    const uint8_t ws4[4] = {3, 4, 7, 0};
    CHECK_EQ(opts_drop(ws4, 4, &seg), SF_DROP_TCP_OPT_BAD);
    const uint8_t sok3[4] = {4, 3, 0, 0};
    CHECK_EQ(opts_drop(sok3, 4, &seg), SF_DROP_TCP_OPT_BAD);
    const uint8_t ts8[8] = {8, 8, 0, 0, 0, 0, 0, 0};
    CHECK_EQ(opts_drop(ts8, 8, &seg), SF_DROP_TCP_OPT_BAD);

    uint8_t nops[40];
    memset(nops, 1, sizeof nops);
    CHECK_EQ(opts_drop(nops, 40, &seg), SF_DROP_NONE);
    CHECK(!seg.opt.has_mss && !seg.opt.has_ts && seg.opt.nsack == 0);

    /* EOL in the middle: what follows is not parsed, even garbage. */
    const uint8_t eol[8] = {2, 4, 0x02, 0x18, 0, 0x22, 0, 0};
    CHECK_EQ(opts_drop(eol, 8, &seg), SF_DROP_NONE);
    CHECK(seg.opt.has_mss);
    CHECK_EQ(seg.opt.mss, 536);

    /* Unknown kinds are skipped by their length. */
    const uint8_t unk[12] = {0x1e, 6, 9, 9, 9, 9, 3, 3, 9, 1, 1, 0};
    CHECK_EQ(opts_drop(unk, 12, &seg), SF_DROP_NONE);
    CHECK(seg.opt.has_wscale);
    CHECK_EQ(seg.opt.wscale, 9);

    /* A full Linux-style SYN option block. */
    const uint8_t linux_syn[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
                                   0, 0, 0, 0, 1, 3, 3, 7};
    CHECK_EQ(opts_drop(linux_syn, 20, &seg), SF_DROP_NONE);
    CHECK(seg.opt.has_mss && seg.opt.sack_ok && seg.opt.has_ts &&
          seg.opt.has_wscale);
    CHECK_EQ(seg.opt.ts_val, 1);
    CHECK_EQ(seg.opt.wscale, 7);
}

/* Every truncation of valid datagrams is dropped, and never over-read. */
static void test_truncations(void)
{
    const uint8_t opts[16] = {2, 4, 5, 0xb4, 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t b[256];
    for (int ihl = 5; ihl <= 6; ihl++) {
        size_t n = build(b, ihl, opts, sizeof opts, SF_SYN, "payload!");
        int bad = 0;
        for (size_t len = 0; len < n; len++) {
            enum sf_drop d = parse_drop(b, len);
            enum sf_drop want = len < 20 ? SF_DROP_IP_SHORT
                                : len < (size_t)ihl * 4 ? SF_DROP_IP_HDRLEN
                                                        : SF_DROP_IP_TOTLEN;
            bad += d != want;
        }
        CHECK_EQ(bad, 0);
        CHECK_EQ(parse_drop(b, n), SF_DROP_NONE);
    }
    /* Truncations that keep the IP header consistent (total length cut
     * too): the TCP layer must catch each. */
    size_t n = build(b, 5, opts, sizeof opts, SF_SYN, "payload!");
    int none = 0;
    for (size_t tot = 20; tot < n; tot++) {
        uint8_t c[256];
        memcpy(c, b, tot);
        c[2] = (uint8_t)(tot >> 8), c[3] = (uint8_t)tot;
        fix_ip_csum(c);
        enum sf_drop d = parse_drop(c, tot);
        none += d == SF_DROP_NONE;
        CHECK(d == SF_DROP_TCP_SHORT || d == SF_DROP_TCP_DOFF ||
              d == SF_DROP_TCP_CSUM);
    }
    CHECK_EQ(none, 0);
}

static void test_addr(void)
{
    char buf[32];
    struct sf_addr a = {.ip = 0xc6120001u, .port = 8080};
    CHECK(strcmp(sf_addr_fmt(&a, buf, sizeof buf), "198.18.0.1:8080") == 0);
    struct sf_addr m = {.ip = 0xffffffffu, .port = 65535};
    CHECK(strcmp(sf_addr_fmt(&m, buf, 22), "255.255.255.255:65535") == 0);
    uint32_t ip = 0;
    CHECK_EQ(sf_ip_parse("198.18.0.1", &ip), 0);
    CHECK_EQ(ip, 0xc6120001u);
    CHECK_EQ(sf_ip_parse("0.0.0.0", &ip), 0);
    CHECK_EQ(ip, 0);
    CHECK_EQ(sf_ip_parse("255.255.255.255", &ip), 0);
    CHECK_EQ(ip, 0xffffffffu);
    const char *bad[] = {"", "1", "1.2.3", "1.2.3.4.", "1.2.3.4.5", " 1.2.3.4",
                         "1.2.3.4 ", "1.2.3.256", "1.2.3.-1", "1..2.3",
                         "1.2.3.4x", "x1.2.3.4", "01.2.3.4", "1.2.3.0004",
                         "+1.2.3.4", "1.2.3.", ".1.2.3", "1.2.3.1000",
                         "999.1.1.1", "1.2.3.4:80"};
    int accepted = 0;
    ip = 0x12345678;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = sf_ip_parse(bad[i], &ip);
        if (rc != SF_EINVAL) {
            accepted++;
            fprintf(stderr, "accepted %s\n", bad[i]);
        }
    }
    CHECK_EQ(accepted, 0);
    CHECK_EQ(ip, 0x12345678u); /* untouched on failure */
    CHECK_EQ(sf_ip_parse(NULL, &ip), SF_EINVAL);
}

/* The guard page really guards: a read one byte past the copy kills a
 * child process with SIGSEGV (or ASan's report of it), so the tests above could catch an over-read. */
static void test_guard_works(void)
{
    const uint8_t b[3] = {1, 2, 3};
    struct guard g = guarded(b, sizeof b);
    CHECK_EQ(g.data[2], 3);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Under ASan its SEGV handler reports and exits 1: keep it quiet. */
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        volatile const uint8_t *p = g.data;
        _exit(p[3] == 0x55 ? 42 : 43); /* reached only if the read worked */
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    int read_ok = WIFEXITED(status) && WEXITSTATUS(status) >= 42;
    CHECK(!read_ok);
    CHECK(WIFSIGNALED(status) ? WTERMSIG(status) == SIGSEGV
                              : WEXITSTATUS(status) == 1);
    unguard(&g);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_guard_works),
    CHECK_CASE(test_csum),
    CHECK_CASE(test_known_syn),
    CHECK_CASE(test_roundtrips),
    CHECK_CASE(test_emit_layout),
    CHECK_CASE(test_ip_drops),
    CHECK_CASE(test_ip_options_and_padding),
    CHECK_CASE(test_tcp_drops),
    CHECK_CASE(test_hostile_options),
    CHECK_CASE(test_truncations),
    CHECK_CASE(test_addr),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
