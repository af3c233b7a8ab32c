/* wire: UDP parse and emit over IPv4 and IPv6 (RFC 768, RFC 8200 8.1),
 * include/synfin/wire.h. Every parse input sits at the very end of a page
 * followed by a PROT_NONE guard page (guard.h), so any read past the
 * buffer crashes the test; emits write into such a buffer too. */
#include "check.h"
#include "guard.h"
#include "synfin/wire.h"

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- helpers */

/* 198.18.0.1:40000 -> 198.18.0.2:53 "abc", id 0x1234, DF, TTL 64; its UDP
 * checksum 0x12d8 confirmed with tshark (-o udp.check_checksum:TRUE:
 * "[correct]"). */
static const uint8_t known4[] = {
    0x45, 0x00, 0x00, 0x1f, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x9c,
    0x72, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0x9c, 0x40,
    0x00, 0x35, 0x00, 0x0b, 0x12, 0xd8, 0x61, 0x62, 0x63};
/* 2001:db8::2:40000 -> 2001:db8::1:53 "abc"; checksum 0x438b, tshark
 * "[correct]". */
static const uint8_t known6[] = {
    0x60, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x11, 0x40, 0x20, 0x01, 0x0d,
    0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x9c, 0x40, 0x00, 0x35,
    0x00, 0x0b, 0x43, 0x8b, 0x61, 0x62, 0x63};

#define SRC4 0xc6120001u /* 198.18.0.1 */
#define DST4 0xc6120002u /* 198.18.0.2 */
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                 0,    0,    0,    0,    0, 0, 0, 2};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                 0,    0,    0,    0,    0, 0, 0, 1};

/* RFC 1071 the plain way, not through the code under test. */
static uint32_t ref_add(uint32_t s, const uint8_t *a, size_t n)
{
    for (size_t i = 0; i < n; i += 2)
        s += (uint32_t)(a[i] << 8 | (i + 1 < n ? a[i + 1] : 0));
    return s;
}
static uint16_t ref_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Writes the UDP checksum of the IPv4 datagram b (20-byte header) from
 * scratch, over ulen bytes of UDP (its Length field is not consulted). */
static void fix4(uint8_t *b, size_t ulen)
{
    uint8_t ph[12];
    memcpy(ph, b + 12, 8);
    ph[8] = 0, ph[9] = 17;
    ph[10] = (uint8_t)(ulen >> 8), ph[11] = (uint8_t)ulen;
    b[26] = b[27] = 0;
    uint16_t c = ref_fold(ref_add(ref_add(0, ph, 12), b + 20, ulen));
    if (c == 0)
        c = 0xffff;
    b[26] = (uint8_t)(c >> 8), b[27] = (uint8_t)c;
}

/* The IPv6 one, the UDP header at offset off (after extension headers). */
static void fix6(uint8_t *b, size_t off, size_t ulen)
{
    uint8_t ph[40];
    memcpy(ph, b + 8, 32);
    ph[32] = 0, ph[33] = 0, ph[34] = (uint8_t)(ulen >> 8);
    ph[35] = (uint8_t)ulen;
    ph[36] = ph[37] = ph[38] = 0, ph[39] = 17;
    b[off + 6] = b[off + 7] = 0;
    uint16_t c = ref_fold(ref_add(ref_add(0, ph, 40), b + off, ulen));
    if (c == 0)
        c = 0xffff;
    b[off + 6] = (uint8_t)(c >> 8), b[off + 7] = (uint8_t)c;
}

/* Fixes the IPv4 header checksum after an edit. */
static void fix_ip4(uint8_t *b)
{
    b[10] = b[11] = 0;
    uint16_t c = ref_fold(ref_add(0, b, 20));
    b[10] = (uint8_t)(c >> 8), b[11] = (uint8_t)c;
}

/* IPv4 then UDP from a guarded copy; the copy stays mapped in *keep when
 * keep is given (the parse points into it). */
static enum sf_drop parse4(const uint8_t *buf, size_t len, struct sf_udp *u,
                           struct guard *keep)
{
    struct guard g = guarded(buf, len);
    struct sf_ipv4 ip;
    struct sf_udp tmp;
    enum sf_drop d = sf_ipv4_parse(g.data, len, &ip);
    if (d == SF_DROP_NONE)
        d = sf_udp_parse(&ip, u ? u : &tmp);
    if (keep)
        *keep = g;
    else
        unguard(&g);
    return d;
}

static enum sf_drop parse6(const uint8_t *buf, size_t len, struct sf_udp *u,
                           struct guard *keep)
{
    struct guard g = guarded(buf, len);
    struct sf_ipv6 ip;
    struct sf_udp tmp;
    enum sf_drop d = sf_ipv6_parse(g.data, len, &ip);
    if (d == SF_DROP_NONE)
        d = sf_udp6_parse(&ip, u ? u : &tmp);
    if (keep)
        *keep = g;
    else
        unguard(&g);
    return d;
}

/* An IPv4 header for the emitters. */
static struct sf_ipv4 hdr4(void)
{
    struct sf_ipv4 ip = {0};
    ip.src = SRC4, ip.dst = DST4, ip.id = 0x1234;
    return ip;
}
static struct sf_ipv6 hdr6(void)
{
    struct sf_ipv6 ip = {0};
    memcpy(ip.src, SRC6, 16);
    memcpy(ip.dst, DST6, 16);
    return ip;
}

/* A writable buffer of cap bytes that ends at a guard page. */
static struct guard room(size_t cap)
{
    static const uint8_t zeros[65536 + 64];
    return guarded(zeros, cap);
}

/* ------------------------------------------------------------------ tests */

static void test_known4(void)
{
    struct sf_udp u;
    struct guard g;
    CHECK_EQ(parse4(known4, sizeof known4, &u, &g), SF_DROP_NONE);
    CHECK_EQ(u.sport, 40000);
    CHECK_EQ(u.dport, 53);
    CHECK_EQ(u.len, 3);
    CHECK(u.payload == g.data + 28);
    CHECK(memcmp(u.payload, "abc", 3) == 0);
    unguard(&g);
}

static void test_known6(void)
{
    struct sf_udp u;
    struct guard g;
    CHECK_EQ(parse6(known6, sizeof known6, &u, &g), SF_DROP_NONE);
    CHECK_EQ(u.sport, 40000);
    CHECK_EQ(u.dport, 53);
    CHECK_EQ(u.len, 3);
    CHECK(u.payload == g.data + 48);
    unguard(&g);
}

/* The emitters write the tshark-checked datagrams byte for byte. */
static void test_emit_known(void)
{
    uint8_t b[64];
    struct sf_ipv4 ip = hdr4();
    struct sf_udp u = {40000, 53, (const uint8_t *)"abc", 3};
    CHECK_EQ(sf_udp_emit(b, sizeof b, &ip, &u), sizeof known4);
    CHECK(memcmp(b, known4, sizeof known4) == 0);
    struct sf_ipv6 ip6 = hdr6();
    memcpy(ip6.src, SRC6, 16);
    CHECK_EQ(sf_udp_emit6(b, sizeof b, &ip6, &u), sizeof known6);
    CHECK(memcmp(b, known6, sizeof known6) == 0);
}

/* Every payload length from 0 to 300 (odd ones exercise RFC 768's zero
 * pad byte) survives emit and parse, and the checksum matches the plain
 * reference, both versions. */
static void test_roundtrip_lengths(void)
{
    uint8_t pl[300], b[400], ref[400];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 7 + 3);
    unsigned bad = 0;
    for (size_t n = 0; n <= sizeof pl; n++) {
        struct sf_udp u = {5353, 53, pl, n}, got;
        struct sf_ipv4 ip = hdr4();
        size_t len = sf_udp_emit(b, sizeof b, &ip, &u);
        memcpy(ref, b, len);
        fix4(ref, 8 + n);
        struct guard g;
        if (len != 28 + n || memcmp(ref, b, len) ||
            parse4(b, len, &got, &g) != SF_DROP_NONE || got.len != n ||
            memcmp(got.payload, pl, n) || got.sport != 5353)
            bad++;
        else
            unguard(&g);
        struct sf_ipv6 ip6 = hdr6();
        len = sf_udp_emit6(b, sizeof b, &ip6, &u);
        memcpy(ref, b, len);
        fix6(ref, 40, 8 + n);
        if (len != 48 + n || memcmp(ref, b, len) ||
            parse6(b, len, &got, &g) != SF_DROP_NONE || got.len != n ||
            memcmp(got.payload, pl, n))
            bad++;
        else
            unguard(&g);
    }
    CHECK_EQ(bad, 0);
}

/* RFC 768: "If the computed checksum is zero, it is transmitted as all
 * ones". A two-byte payload equal to the checksum of the datagram with a
 * zero payload makes the sum come out at zero. */
static void test_emit_zero_csum_as_ones(void)
{
    uint8_t b[64], pl[2] = {0, 0};
    struct sf_udp u = {1000, 2000, pl, 2};
    struct sf_ipv4 ip = hdr4();
    CHECK_EQ(sf_udp_emit(b, sizeof b, &ip, &u), 30);
    pl[0] = b[26], pl[1] = b[27];
    CHECK_EQ(sf_udp_emit(b, sizeof b, &ip, &u), 30);
    CHECK_EQ(b[26], 0xff);
    CHECK_EQ(b[27], 0xff);
    CHECK_EQ(parse4(b, 30, NULL, NULL), SF_DROP_NONE);
    struct sf_ipv6 ip6 = hdr6();
    pl[0] = pl[1] = 0;
    CHECK_EQ(sf_udp_emit6(b, sizeof b, &ip6, &u), 50);
    pl[0] = b[46], pl[1] = b[47];
    CHECK_EQ(sf_udp_emit6(b, sizeof b, &ip6, &u), 50);
    CHECK_EQ(b[46], 0xff);
    CHECK_EQ(b[47], 0xff);
    /* ... which IPv6 must accept: 0xffff is not the forbidden zero. */
    CHECK_EQ(parse6(b, 50, NULL, NULL), SF_DROP_NONE);
}

/* RFC 768: a zero checksum means none was sent (accepted over IPv4, even
 * with data that would not sum); RFC 8200 8.1: over IPv6 it is dropped. */
static void test_zero_csum(void)
{
    uint8_t b[64];
    memcpy(b, known4, sizeof known4);
    b[26] = b[27] = 0;
    b[28] = 'X';
    CHECK_EQ(parse4(b, sizeof known4, NULL, NULL), SF_DROP_NONE);
    memcpy(b, known6, sizeof known6);
    b[46] = b[47] = 0;
    CHECK_EQ(parse6(b, sizeof known6, NULL, NULL), SF_DROP_UDP_CSUM_ZERO6);
}

/* Any single flipped bit in the UDP header or data fails the checksum
 * (or, in Length, the length check); so does a changed address (the
 * pseudo-header). */
static void test_bad_csum(void)
{
    uint8_t b[64];
    unsigned wrong = 0;
    for (size_t i = 20; i < sizeof known4; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, known4, sizeof known4);
            b[i] ^= (uint8_t)(1 << bit);
            enum sf_drop d = parse4(b, sizeof known4, NULL, NULL);
            /* a flip that zeroes the checksum field is "no checksum" */
            bool zeroed = (i == 26 || i == 27) && !b[26] && !b[27];
            bool ok = (i == 24 || i == 25) ? d != SF_DROP_NONE
                      : zeroed            ? d == SF_DROP_NONE
                                          : d == SF_DROP_UDP_CSUM;
            wrong += !ok;
        }
    CHECK_EQ(wrong, 0);
    memcpy(b, known4, sizeof known4);
    b[19] ^= 1; /* destination 198.18.0.3 */
    fix_ip4(b);
    CHECK_EQ(parse4(b, sizeof known4, NULL, NULL), SF_DROP_UDP_CSUM);
    memcpy(b, known6, sizeof known6);
    b[39] ^= 2;
    CHECK_EQ(parse6(b, sizeof known6, NULL, NULL), SF_DROP_UDP_CSUM);
    memcpy(b, known6, sizeof known6);
    b[50] ^= 0x80;
    CHECK_EQ(parse6(b, sizeof known6, NULL, NULL), SF_DROP_UDP_CSUM);
}

/* IP payloads of 0..7 bytes cannot hold the header: dropped, never read
 * past (the guard page sits right after). */
static void test_short(void)
{
    uint8_t b[64];
    for (size_t n = 0; n < 8; n++) {
        memcpy(b, known4, 20 + n);
        b[2] = 0, b[3] = (uint8_t)(20 + n);
        fix_ip4(b);
        CHECK_EQ(parse4(b, 20 + n, NULL, NULL), SF_DROP_UDP_SHORT);
        memcpy(b, known6, 40 + n);
        b[4] = 0, b[5] = (uint8_t)n;
        CHECK_EQ(parse6(b, 40 + n, NULL, NULL), SF_DROP_UDP_SHORT);
    }
}

/* RFC 768: Length counts the header, so its minimum is 8; a Length past
 * the IP payload is a truncated datagram. (0 is also RFC 2675's jumbogram
 * marker over IPv6, which is not supported.) */
static void test_length_field(void)
{
    uint8_t b[64];
    const unsigned bad[] = {0, 1, 7, 12, 0xffff};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memcpy(b, known4, sizeof known4);
        b[24] = (uint8_t)(bad[k] >> 8), b[25] = (uint8_t)bad[k];
        fix4(b, 11);
        CHECK_EQ(parse4(b, sizeof known4, NULL, NULL), SF_DROP_UDP_LEN);
        memcpy(b, known6, sizeof known6);
        b[44] = (uint8_t)(bad[k] >> 8), b[45] = (uint8_t)bad[k];
        fix6(b, 40, 11);
        CHECK_EQ(parse6(b, sizeof known6, NULL, NULL), SF_DROP_UDP_LEN);
    }
}

/* A Length shorter than the IP payload: the datagram ends at Length, the
 * checksum covers only it, the bytes after it are ignored. */
static void test_length_shorter_than_payload(void)
{
    uint8_t b[64];
    memcpy(b, known4, sizeof known4);
    b[3] = 0x1f + 4; /* 4 trailing bytes inside the IP datagram */
    memcpy(b + 31, "JUNK", 4);
    b[25] = 10; /* UDP length 10: "ab" */
    fix_ip4(b);
    fix4(b, 10);
    struct sf_udp u;
    struct guard g;
    CHECK_EQ(parse4(b, 35, &u, &g), SF_DROP_NONE);
    CHECK_EQ(u.len, 2);
    CHECK(memcmp(u.payload, "ab", 2) == 0);
    unguard(&g);
    /* the checksum over the whole IP payload instead is wrong */
    fix4(b, 15);
    CHECK_EQ(parse4(b, 35, NULL, NULL), SF_DROP_UDP_CSUM);
}

/* RFC 8200 8.1: the pseudo-header's length is the upper-layer length, not
 * the IPv6 Payload Length: a Destination Options header before UDP. */
static void test_ipv6_ext_header(void)
{
    uint8_t b[80];
    memcpy(b, known6, 40);
    b[6] = 60; /* Destination Options */
    uint8_t *o = b + 40;
    memset(o, 0, 8);
    o[0] = 17, o[1] = 0, o[2] = 1, o[3] = 4; /* PadN of 4 */
    memcpy(b + 48, known6 + 40, 11);
    b[5] = 8 + 11;
    fix6(b, 48, 11);
    struct sf_udp u;
    struct guard g;
    CHECK_EQ(parse6(b, 59, &u, &g), SF_DROP_NONE);
    CHECK_EQ(u.len, 3);
    CHECK(u.payload == g.data + 56);
    unguard(&g);
}

static void test_ports_and_proto(void)
{
    uint8_t b[64];
    memcpy(b, known4, sizeof known4);
    b[22] = b[23] = 0; /* destination port 0 */
    fix4(b, 11);
    CHECK_EQ(parse4(b, sizeof known4, NULL, NULL), SF_DROP_UDP_PORT_ZERO);
    memcpy(b, known4, sizeof known4);
    b[20] = b[21] = 0; /* source port 0: "not used", legal */
    fix4(b, 11);
    CHECK_EQ(parse4(b, sizeof known4, NULL, NULL), SF_DROP_NONE);
    memcpy(b, known4, sizeof known4);
    b[9] = 6; /* TCP */
    fix_ip4(b);
    CHECK_EQ(parse4(b, sizeof known4, NULL, NULL), SF_DROP_UDP_PROTO);
    memcpy(b, known6, sizeof known6);
    b[6] = 6;
    CHECK_EQ(parse6(b, sizeof known6, NULL, NULL), SF_DROP_UDP_PROTO);
    memcpy(b, known6, sizeof known6);
    b[42] = b[43] = 0;
    fix6(b, 40, 11);
    CHECK_EQ(parse6(b, sizeof known6, NULL, NULL), SF_DROP_UDP_PORT_ZERO);
}

/* Each cap below the datagram's size gives 0 and writes nothing past the
 * cap (the buffer ends at a guard page); the largest datagrams fit and one
 * byte more does not. */
static void test_emit_caps(void)
{
    static uint8_t pl[65536];
    struct sf_udp u = {1, 2, (const uint8_t *)"hello", 5};
    struct sf_ipv4 ip = hdr4();
    struct sf_ipv6 ip6 = hdr6();
    for (size_t cap = 0; cap < 33; cap++) {
        struct guard g = room(cap);
        uint8_t *w = (uint8_t *)g.data;
        CHECK_EQ(sf_udp_emit(w, cap, &ip, &u), 0);
        unguard(&g);
    }
    for (size_t cap = 0; cap < 53; cap++) {
        struct guard g = room(cap);
        CHECK_EQ(sf_udp_emit6((uint8_t *)g.data, cap, &ip6, &u), 0);
        unguard(&g);
    }
    struct guard g = room(65535);
    uint8_t *w = (uint8_t *)g.data;
    u.payload = pl, u.len = 65535 - 28;
    CHECK_EQ(sf_udp_emit(w, 65535, &ip, &u), 65535);
    CHECK_EQ(parse4(w, 65535, NULL, NULL), SF_DROP_NONE);
    u.len++;
    CHECK_EQ(sf_udp_emit(w, 65535, &ip, &u), 0);
    unguard(&g);
    /* IPv6: the UDP length (not the datagram) is the 16-bit limit */
    g = room(65535 + 40);
    w = (uint8_t *)g.data;
    u.len = 65535 - 8;
    CHECK_EQ(sf_udp_emit6(w, 65535 + 40, &ip6, &u), 65535 + 40);
    CHECK_EQ(parse6(w, 65535 + 40, NULL, NULL), SF_DROP_NONE);
    u.len++;
    CHECK_EQ(sf_udp_emit6(w, 65535 + 40, &ip6, &u), 0);
    unguard(&g);
}

/* The payload may already sit at its final place in the buffer (a relay
 * reads into buf + 28 and emits around it). */
static void test_emit_in_place(void)
{
    uint8_t b[64];
    memcpy(b + 28, "abc", 3);
    struct sf_ipv4 ip = hdr4();
    struct sf_udp u = {40000, 53, b + 28, 3};
    CHECK_EQ(sf_udp_emit(b, sizeof b, &ip, &u), sizeof known4);
    CHECK(memcmp(b, known4, sizeof known4) == 0);
    memcpy(b + 48, "abc", 3);
    struct sf_ipv6 ip6 = hdr6();
    u.payload = b + 48;
    CHECK_EQ(sf_udp_emit6(b, sizeof b, &ip6, &u), sizeof known6);
    CHECK(memcmp(b, known6, sizeof known6) == 0);
}

/* Hostile bytes: every truncation of a valid datagram and 20,000 seeded
 * random mutations parse without reading past the buffer, and whatever is
 * accepted points inside it with a checksum the reference agrees with. */
static void test_mutations(void)
{
    uint8_t b[128];
    unsigned wrong = 0;
    for (size_t n = 0; n < sizeof known4; n++)
        wrong += parse4(known4, n, NULL, NULL) == SF_DROP_NONE;
    for (size_t n = 0; n < sizeof known6; n++)
        wrong += parse6(known6, n, NULL, NULL) == SF_DROP_NONE;
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        bool v6 = i & 1;
        const uint8_t *src = v6 ? known6 : known4;
        size_t len = v6 ? sizeof known6 : sizeof known4;
        memcpy(b, src, len);
        for (int k = 0; k < 3; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (v6 ? 40 : 20) + (x >> 8) % (len - (v6 ? 40 : 20));
            b[at] = (uint8_t)(x >> 20);
        }
        x = x * 1103515245u + 12345u;
        size_t cut = len - (x >> 16) % 4;
        struct sf_udp u;
        struct guard g;
        enum sf_drop d = v6 ? parse6(b, cut, &u, &g) : parse4(b, cut, &u, &g);
        if (d != SF_DROP_NONE) {
            unguard(&g);
            continue;
        }
        size_t hl = v6 ? 40 : 20;
        bool inside = u.payload == g.data + hl + 8 &&
                      hl + 8 + u.len <= cut;
        uint8_t c0 = b[hl + 6], c1 = b[hl + 7];
        bool sum_ok = true;
        if (c0 || c1) {
            if (v6)
                fix6(b, hl, 8 + u.len);
            else
                fix4(b, 8 + u.len);
            sum_ok = b[hl + 6] == c0 && b[hl + 7] == c1;
        }
        wrong += !inside || !sum_ok;
        unguard(&g);
    }
    CHECK_EQ(wrong, 0);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_known4),
    CHECK_CASE(test_known6),
    CHECK_CASE(test_emit_known),
    CHECK_CASE(test_roundtrip_lengths),
    CHECK_CASE(test_emit_zero_csum_as_ones),
    CHECK_CASE(test_zero_csum),
    CHECK_CASE(test_bad_csum),
    CHECK_CASE(test_short),
    CHECK_CASE(test_length_field),
    CHECK_CASE(test_length_shorter_than_payload),
    CHECK_CASE(test_ipv6_ext_header),
    CHECK_CASE(test_ports_and_proto),
    CHECK_CASE(test_emit_caps),
    CHECK_CASE(test_emit_in_place),
    CHECK_CASE(test_mutations),
};

int main(int argc, char **argv) { return CHECK_MAIN(argc, argv, cases); }
