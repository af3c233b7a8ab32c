/* synfin tun2socks' --rule (tools/synfin/t2s/rules.c): the forms it takes
 * (IPv4 and IPv6 CIDRs, bare addresses, [IPv6]:PORT, '*', port ranges),
 * first match wins, the default when none matches, and one-line errors for
 * what it refuses. */
#include <arpa/inet.h>
#include <string.h>

#include "check.h"
#include "t2s/rules.h"

static enum t2s_action m4(const struct t2s_rules *rs, const char *ip, uint16_t port)
{
    uint8_t a[4];
    inet_pton(AF_INET, ip, a);
    return t2s_rule_match(rs, 4, a, port, T2S_PROXY, NULL);
}

static enum t2s_action m6(const struct t2s_rules *rs, const char *ip, uint16_t port)
{
    uint8_t a[16];
    inet_pton(AF_INET6, ip, a);
    return t2s_rule_match(rs, 6, a, port, T2S_PROXY, NULL);
}

static void add(struct t2s_rules *rs, const char *text)
{
    char err[300] = "";
    int r = t2s_rule_add(rs, text, err, sizeof err);
    if (r)
        fprintf(stderr, "%s: %s\n", text, err);
    CHECK_EQ(r, 0);
}

static void test_first_match_wins(void)
{
    struct t2s_rules rs;
    memset(&rs, 0, sizeof rs);
    add(&rs, "198.18.2.2:25=reject");
    add(&rs, "198.18.0.0/15:80-443=direct");
    add(&rs, "198.18.0.0/15=proxy");
    add(&rs, "2001:db8::/32:53=direct");
    add(&rs, "[2001:db8::1]:22=reject");
    add(&rs, "*:6667=reject");
    CHECK_EQ(rs.n, 6);
    CHECK_EQ(m4(&rs, "198.18.2.2", 25), T2S_REJECT);
    CHECK_EQ(m4(&rs, "198.18.2.3", 25), T2S_PROXY);
    CHECK_EQ(m4(&rs, "198.19.255.1", 80), T2S_DIRECT);
    CHECK_EQ(m4(&rs, "198.19.255.1", 443), T2S_DIRECT);
    CHECK_EQ(m4(&rs, "198.19.255.1", 444), T2S_PROXY);
    CHECK_EQ(m4(&rs, "198.20.0.1", 6667), T2S_REJECT); /* '*', after the others */
    CHECK_EQ(m6(&rs, "2001:db8:ffff::9", 53), T2S_DIRECT);
    CHECK_EQ(m6(&rs, "2001:db8::1", 22), T2S_REJECT);
    CHECK_EQ(m6(&rs, "2001:db8::2", 22), T2S_PROXY);
    CHECK_EQ(m6(&rs, "2001:db9::1", 6667), T2S_REJECT);
    int idx = 7;
    uint8_t a[4] = {10, 0, 0, 1};
    CHECK_EQ(t2s_rule_match(&rs, 4, a, 80, T2S_DIRECT, &idx), T2S_DIRECT); /* the default */
    CHECK_EQ(idx, -1);
    CHECK_EQ(m4(&rs, "198.18.2.2", 80), T2S_DIRECT);
    /* an IPv4 rule never matches an IPv6 destination and back */
    memset(&rs, 0, sizeof rs);
    add(&rs, "0.0.0.0/0=reject");
    CHECK_EQ(m6(&rs, "::ffff:1.2.3.4", 80), T2S_PROXY);
    CHECK_EQ(m4(&rs, "1.2.3.4", 80), T2S_REJECT);
}

static void test_prefix_edges(void)
{
    struct t2s_rules rs;
    memset(&rs, 0, sizeof rs);
    add(&rs, "198.18.128.0/17=direct");
    add(&rs, "fd00::/9=direct");
    CHECK_EQ(m4(&rs, "198.18.127.255", 1), T2S_PROXY);
    CHECK_EQ(m4(&rs, "198.18.128.0", 1), T2S_DIRECT);
    CHECK_EQ(m4(&rs, "198.18.255.255", 1), T2S_DIRECT);
    CHECK_EQ(m6(&rs, "fd7f::1", 1), T2S_DIRECT);
    CHECK_EQ(m6(&rs, "fd80::1", 1), T2S_PROXY);
    add(&rs, "[fe80::]/10:0-1=reject");
    CHECK_EQ(m6(&rs, "fe80::1", 1), T2S_REJECT);
    CHECK_EQ(m6(&rs, "fe80::1", 2), T2S_PROXY);
}

static bool refused(const char *text, const char *why)
{
    struct t2s_rules rs;
    memset(&rs, 0, sizeof rs);
    char err[300] = "";
    bool ok = t2s_rule_add(&rs, text, err, sizeof err) == -1 && strstr(err, why) && rs.n == 0;
    if (!ok)
        fprintf(stderr, "'%s': '%s' lacks '%s'\n", text, err, why);
    return ok;
}

static void test_errors(void)
{
    CHECK(refused("198.18.0.0/15", "no '=ACTION'"));
    CHECK(refused("198.18.0.0/15=drop", "proxy, direct or reject"));
    CHECK(refused("198.18.0.1/15=direct", "beyond the prefix"));
    CHECK(refused("198.18.0.0/33=direct", "at most /32"));
    CHECK(refused("198.18.0.0/129=direct", "prefix length"));
    CHECK(refused("198.18.0.0/x=direct", "prefix length"));
    CHECK(refused("198.18.0.0/15:99999=direct", "port"));
    CHECK(refused("198.18.0.0/15:443-80=direct", "port"));
    CHECK(refused("198.18.0=direct", "not an IPv4 or IPv6"));
    CHECK(refused("=direct", "no address"));
    CHECK(refused("[2001:db8::1=direct", "without ']'"));
    CHECK(refused("*x=direct", "'*'"));
    /* found by fuzz/fuzz_t2s_rules.c: "[]" was taken as '*' */
    CHECK(refused("[]:543=direct", "no address"));
    CHECK(refused("[]/8=direct", "no address"));
    /* an error is one line, whatever the argument held */
    {
        struct t2s_rules r1;
        memset(&r1, 0, sizeof r1);
        char e1[300] = "";
        CHECK_EQ(t2s_rule_add(&r1, "198.18.0.0/15\n=drop", e1, sizeof e1), -1);
        CHECK(strchr(e1, '\n') == NULL);
    }
    struct t2s_rules rs;
    memset(&rs, 0, sizeof rs);
    char err[300];
    for (int i = 0; i < T2S_MAX_RULES; i++)
        CHECK_EQ(t2s_rule_add(&rs, "*=proxy", err, sizeof err), 0);
    CHECK_EQ(t2s_rule_add(&rs, "*=proxy", err, sizeof err), -1);
    CHECK(strstr(err, "too many") != NULL);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_first_match_wins),
    CHECK_CASE(test_prefix_edges),
    CHECK_CASE(test_errors),
};

int main(int argc, char **argv) { return CHECK_MAIN(argc, argv, cases); }
