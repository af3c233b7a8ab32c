/* struct sf_addr of either family (src/wire/addr.c): constructors, text
 * (RFC 5952 for IPv6, brackets with a port), parse, comparison, the
 * IPv4-mapped form (RFC 4291 2.5.5.2), and the hash input the 4-tuple
 * tables, ISNs, ports and SYN cookies take from an address
 * (base/siphash.c): IPv4's exactly as before IPv6 came. */
#include <string.h>

#include "base/siphash.h"
#include "check.h"
#include "synfin/synfin.h"

static const uint8_t DOC1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0, 1};

static void test_zero_family_is_ipv4(void)
{
    /* the initializers every caller wrote before IPv6 keep their meaning */
    struct sf_addr a = {.ip = 0xc6120001u, .port = 80};
    CHECK_EQ(a.family, SF_AF_INET);
    struct sf_addr b = sf_addr4(0xc6120001u, 80);
    CHECK(sf_addr_eq(&a, &b));
    struct sf_addr z = {0};
    CHECK(sf_addr_is_unspec(&z));
    CHECK(!sf_addr_is_v4mapped(&z));
}

static void test_fmt(void)
{
    char buf[SF_ADDR_STRLEN];
    struct sf_addr a = sf_addr6(DOC1, 8080);
    CHECK(!strcmp(sf_addr_fmt(&a, buf, sizeof buf), "[2001:db8::1]:8080"));
    CHECK(!strcmp(sf_addr_ip_fmt(&a, buf, sizeof buf), "2001:db8::1"));
    struct sf_addr v4 = sf_addr4(0xc6120002u, 443);
    CHECK(!strcmp(sf_addr_fmt(&v4, buf, sizeof buf), "198.18.0.2:443"));
    CHECK(!strcmp(sf_addr_ip_fmt(&v4, buf, sizeof buf), "198.18.0.2"));
    /* the longest text fits SF_ADDR_STRLEN */
    uint8_t full[16];
    memset(full, 0xff, sizeof full);
    struct sf_addr f = sf_addr6(full, 65535);
    sf_addr_fmt(&f, buf, sizeof buf);
    CHECK(!strcmp(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
    struct sf_addr m = sf_addr_to_v4mapped(&v4);
    CHECK(!strcmp(sf_addr_fmt(&m, buf, sizeof buf),
                  "[::ffff:198.18.0.2]:443"));
    /* short buffers truncate, as snprintf; none at all gives "" */
    char small[6];
    CHECK(!strcmp(sf_addr_fmt(&a, small, sizeof small), "[2001"));
    CHECK(!strcmp(sf_addr_fmt(&a, NULL, 0), ""));
}

static void test_parse(void)
{
    struct sf_addr a = {.port = 7};
    CHECK_EQ(sf_addr_parse_ip("2001:DB8::1", &a), 0);
    CHECK_EQ(a.family, SF_AF_INET6);
    CHECK_EQ(a.port, 0);
    CHECK(!memcmp(a.ip6, DOC1, 16));
    CHECK_EQ(a.ip, 0);
    CHECK_EQ(sf_addr_parse_ip("198.18.0.9", &a), 0);
    CHECK_EQ(a.family, SF_AF_INET);
    CHECK_EQ(a.ip, 0xc6120009u);
    CHECK_EQ(sf_addr_parse_ip("::ffff:198.18.0.9", &a), 0);
    CHECK(sf_addr_is_v4mapped(&a));
    CHECK_EQ(sf_addr_parse_ip("::", &a), 0);
    CHECK(sf_addr_is_unspec(&a));
    CHECK_EQ(a.family, SF_AF_INET6);
    /* errors leave *a as it was */
    struct sf_addr keep = sf_addr4(1, 2);
    const char *bad[] = {"", "1.2.3", "[::1]", "::1%eth0", "fd00::/8",
                         "198.18.0.1:80", "1:2:3:4:5:6:7:8:9", ":::"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        a = keep;
        CHECK_EQ(sf_addr_parse_ip(bad[i], &a), SF_EINVAL);
        CHECK(sf_addr_eq(&a, &keep));
    }
    CHECK_EQ(sf_addr_parse_ip(NULL, &a), SF_EINVAL);
}

static void test_compare(void)
{
    struct sf_addr a = sf_addr6(DOC1, 80), b = sf_addr6(DOC1, 80);
    CHECK(sf_addr_eq(&a, &b));
    b.port = 81;
    CHECK(!sf_addr_eq(&a, &b));
    CHECK(sf_addr_ip_eq(&a, &b));
    b = a;
    b.ip6[15] = 2;
    CHECK(!sf_addr_eq(&a, &b));
    /* the families never compare equal, not even the mapped form with
     * its IPv4 address, nor :: with 0.0.0.0 */
    struct sf_addr v4 = sf_addr4(0xc6120001u, 80);
    struct sf_addr m = sf_addr_to_v4mapped(&v4);
    CHECK(!sf_addr_eq(&v4, &m));
    struct sf_addr any4 = sf_addr4(0, 0), any6 = sf_addr6((uint8_t[16]){0}, 0);
    CHECK(!sf_addr_eq(&any4, &any6));
    CHECK(sf_addr_is_unspec(&any4) && sf_addr_is_unspec(&any6));
}

static void test_v4mapped(void)
{
    struct sf_addr v4 = sf_addr4(0xc6120001u, 8080);
    struct sf_addr m = sf_addr_to_v4mapped(&v4);
    static const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                     0, 0, 0xff, 0xff, 198, 18, 0, 1};
    CHECK_EQ(m.family, SF_AF_INET6);
    CHECK(!memcmp(m.ip6, want, 16));
    CHECK_EQ(m.port, 8080);
    CHECK(sf_addr_is_v4mapped(&m));
    struct sf_addr back = sf_addr_from_v4mapped(&m);
    CHECK(sf_addr_eq(&back, &v4));
    /* anything else passes unchanged */
    struct sf_addr v6 = sf_addr6(DOC1, 1);
    struct sf_addr same = sf_addr_to_v4mapped(&v6);
    CHECK(sf_addr_eq(&same, &v6));
    same = sf_addr_from_v4mapped(&v6);
    CHECK(sf_addr_eq(&same, &v6));
    same = sf_addr_from_v4mapped(&v4);
    CHECK(sf_addr_eq(&same, &v4));
    CHECK(!sf_addr_is_v4mapped(&v6));
    CHECK(!sf_addr_is_v4mapped(&v4));
    /* ::ffff:0:0/96 only: the old IPv4-compatible ::a.b.c.d is not */
    uint8_t compat[16] = {0};
    compat[12] = 198, compat[15] = 1;
    struct sf_addr c = sf_addr6(compat, 0);
    CHECK(!sf_addr_is_v4mapped(&c));
}

static void test_hash_input(void)
{
    uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    /* IPv4: the 12 bytes the hash always took (local, remote, ports;
     * little-endian), so that ISNs, ports and cookies of IPv4 are as they
     * were */
    struct sf_addr l = sf_addr4(0xc6120001u, 80), r = sf_addr4(0xc6120002u,
                                                               40000);
    uint8_t b[12];
    uint32_t v[3] = {l.ip, r.ip, (uint32_t)l.port << 16 | r.port};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++)
            b[i * 4 + k] = (uint8_t)(v[i] >> (8 * k));
    CHECK(siphash_tuple(key, &l, &r) == siphash24(key, b, sizeof b));
    /* IPv6: the whole 16 bytes of each address count */
    struct sf_addr l6 = sf_addr6(DOC1, 80), r6 = sf_addr6(DOC1, 40000);
    r6.ip6[15] = 2;
    uint64_t h = siphash_tuple(key, &l6, &r6);
    for (int i = 0; i < 16; i++) {
        struct sf_addr x = r6;
        x.ip6[i] ^= 0x80;
        CHECK(siphash_tuple(key, &l6, &x) != h);
    }
    uint8_t out[16];
    CHECK_EQ(siphash_put_addr(out, &l6), 16);
    CHECK(!memcmp(out, DOC1, 16));
    CHECK_EQ(siphash_put_addr(out, &l), 4);
    CHECK_EQ(out[0], 1);
    CHECK_EQ(out[3], 198);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_zero_family_is_ipv4),
    CHECK_CASE(test_fmt),
    CHECK_CASE(test_parse),
    CHECK_CASE(test_compare),
    CHECK_CASE(test_v4mapped),
    CHECK_CASE(test_hash_input),
};

int main(int argc, char **argv) { return CHECK_MAIN(argc, argv, cases); }
