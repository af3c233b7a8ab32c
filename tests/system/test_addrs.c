/* A stack with several local addresses of both families (issue 11 item
 * 2): sf_stack_addr_add / _del / sf_stack_addrs, bind to any owned
 * address, listeners on the unspecified address taking every owned one,
 * listeners on one address taking only it, the source address of
 * connect(), datagrams to an address not owned dropped and counted, bind
 * conflicts keyed on addresses as Linux's, and the bad input of issue 11
 * (sources and destinations that must never appear, ICMP errors quoting
 * garbage or another connection's segment). Two stacks, an in-memory
 * wire that routes each datagram to the stack that owns its destination
 * (asked through sf_stack_addrs). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define MAXQ 256
#define IP4(h, i) (0xC6120000u + 256u * (uint32_t)(h) + (uint32_t)(i))

/* 2001:db8::H:I (RFC 3849's documentation prefix) */
static struct sf_addr a6(int h, int i, uint16_t port)
{
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
    a[13] = (uint8_t)h, a[15] = (uint8_t)i;
    return sf_addr6(a, port);
}

static struct sf_addr a4(int h, int i, uint16_t port)
{
    return sf_addr4(IP4(h, i), port);
}

struct wire {
    struct { uint8_t buf[1600]; size_t len; int to; } q[MAXQ];
    int n;
    unsigned unrouted;
    uint8_t lost[1600]; /* the last datagram routed nowhere */
    size_t lost_len;
    /* the last datagram each host sent, and its source address */
    struct sf_addr last_src[2];
};
static struct sf_stack *st[2];
static struct wire w;
static sf_time_t now;

/* The datagram's source and destination addresses; false if neither
 * IPv4 nor IPv6 parses. */
static bool addrs_of(const uint8_t *d, size_t len, struct sf_addr *src,
                     struct sf_addr *dst)
{
    if (len && d[0] >> 4 == 6) {
        struct sf_ipv6 ip;
        if (sf_ipv6_parse(d, len, &ip) != SF_DROP_NONE)
            return false;
        *src = sf_addr6(ip.src, 0), *dst = sf_addr6(ip.dst, 0);
        return true;
    }
    struct sf_ipv4 ip;
    if (sf_ipv4_parse(d, len, &ip) != SF_DROP_NONE)
        return false;
    *src = sf_addr4(ip.src, 0), *dst = sf_addr4(ip.dst, 0);
    return true;
}

static bool owns(int h, const struct sf_addr *a)
{
    struct sf_addr list[16];
    size_t n = sf_stack_addrs(st[h], list, 16);
    for (size_t i = 0; i < n && i < 16; i++)
        if (sf_addr_ip_eq(&list[i], a))
            return true;
    return false;
}

static void out(void *ctx, const uint8_t *d, size_t len)
{
    int from = (int)(intptr_t)ctx;
    struct sf_addr src, dst;
    if (!addrs_of(d, len, &src, &dst)) {
        w.unrouted++;
        return;
    }
    w.last_src[from] = src;
    int to = owns(0, &dst) ? 0 : owns(1, &dst) ? 1 : -1;
    if (to < 0 || w.n >= MAXQ || len > sizeof w.q[0].buf) {
        w.unrouted++;
        if (len <= sizeof w.lost)
            memcpy(w.lost, d, w.lost_len = len);
        return;
    }
    memcpy(w.q[w.n].buf, d, len);
    w.q[w.n].len = len;
    w.q[w.n].to = to;
    w.n++;
}

/* Host h: 198.18.h.1 and 2001:db8::h:1 from its configuration. */
static void setup(void)
{
    memset(&w, 0, sizeof w);
    for (int h = 0; h < 2; h++) {
        struct sf_stack_cfg cfg;
        sf_stack_cfg_default(&cfg);
        cfg.addr = IP4(h, 1);
        struct sf_addr x = a6(h, 1, 0);
        memcpy(cfg.addr6, x.ip6, 16);
        cfg.output = out;
        cfg.output_ctx = (void *)(intptr_t)h;
        cfg.seed[0] = (uint8_t)(h + 1);
        CHECK_EQ(sf_stack_create(&cfg, now, &st[h]), 0);
    }
}

static void teardown(void)
{
    for (int h = 0; h < 2; h++)
        sf_stack_free(st[h]);
}

/* Delivers queued datagrams and fires timers until quiet or until. */
static void run(sf_time_t until)
{
    for (int guard = 0; guard < 100000; guard++) {
        if (w.n > 0) {
            uint8_t buf[1600];
            size_t len = w.q[0].len;
            int to = w.q[0].to;
            memcpy(buf, w.q[0].buf, len);
            memmove(&w.q[0], &w.q[1], (size_t)(w.n - 1) * sizeof w.q[0]);
            w.n--;
            sf_stack_input(st[to], now, buf, len);
            continue;
        }
        sf_time_t next = SF_TIME_NEVER;
        for (int h = 0; h < 2; h++) {
            sf_time_t t = sf_stack_advance(st[h], now);
            if (t < next)
                next = t;
        }
        if (w.n > 0)
            continue;
        if (next == SF_TIME_NEVER || next > until)
            return;
        now = next;
    }
}

static int listener(int h, const struct sf_addr *at, bool v6only)
{
    int l = sf_socket(st[h]);
    if (at->family == SF_AF_INET6) {
        int on = v6only;
        CHECK_EQ(sf_setsockopt(st[h], l, SF_IPPROTO_IPV6, SF_IPV6_V6ONLY,
                               &on, sizeof on), 0);
    }
    CHECK_EQ(sf_bind(st[h], l, at), 0);
    CHECK_EQ(sf_listen(st[h], l, 16), 0);
    return l;
}

/* Host 0 connects to dst; the result of connect() once the wire is
 * quiet (0 connected). */
static int connect_to(const struct sf_addr *dst, int *sd)
{
    *sd = sf_socket(st[0]);
    int r = sf_connect(st[0], *sd, dst);
    if (r != SF_EINPROGRESS)
        return r;
    run(now + 5 * SF_SEC);
    return sf_connect(st[0], *sd, dst);
}

static uint64_t drops(int h, enum sf_drop why)
{
    return sf_stack_counters(st[h])->drops[why];
}

/* ------------------------------------------------------------ the API */

static void test_add_del(void)
{
    setup();
    struct sf_addr list[8];
    CHECK_EQ(sf_stack_addrs(st[0], list, 8), 2);
    CHECK(sf_addr_ip_eq(&list[0], &(struct sf_addr){.ip = IP4(0, 1)}));
    struct sf_addr first6 = a6(0, 1, 0);
    CHECK(sf_addr_ip_eq(&list[1], &first6));
    struct sf_addr b4 = a4(0, 2, 0), b6 = a6(0, 2, 0);
    CHECK_EQ(sf_stack_addr_add(st[0], &b4), 0);
    CHECK_EQ(sf_stack_addr_add(st[0], &b6), 0);
    CHECK_EQ(sf_stack_addr_add(st[0], &b4), SF_EADDRINUSE);
    CHECK_EQ(sf_stack_addrs(st[0], list, 8), 4);
    CHECK(sf_addr_ip_eq(&list[2], &b4) && sf_addr_ip_eq(&list[3], &b6));
    CHECK_EQ(sf_stack_addrs(st[0], NULL, 0), 4);
    /* never a host's unicast address */
    struct sf_addr bad[] = {
        sf_addr4(0, 0), sf_addr4(0xffffffffu, 0), sf_addr4(0xe0000001u, 0),
        sf_addr6((uint8_t[16]){0}, 0), sf_addr6((uint8_t[16]){[15] = 1}, 0),
        sf_addr6((uint8_t[16]){0xff, 0x02, [15] = 1}, 0),
        sf_addr_to_v4mapped(&b4),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(sf_stack_addr_add(st[0], &bad[i]), SF_EINVAL);
    CHECK_EQ(sf_stack_addr_del(st[0], &b4), 0);
    CHECK_EQ(sf_stack_addr_del(st[0], &b4), SF_EADDRNOTAVAIL);
    CHECK_EQ(sf_stack_addrs(st[0], list, 8), 3);
    CHECK(sf_addr_ip_eq(&list[2], &b6));
    teardown();
}

/* sf_bind: an owned address (any of them) or the unspecified one. */
static void test_bind_owned(void)
{
    setup();
    struct sf_addr b4 = a4(0, 2, 7000), b6 = a6(0, 2, 7000);
    int s = sf_socket(st[0]);
    CHECK_EQ(sf_bind(st[0], s, &b4), SF_EADDRNOTAVAIL);
    CHECK_EQ(sf_bind(st[0], s, &b6), SF_EADDRNOTAVAIL);
    CHECK_EQ(sf_stack_addr_add(st[0], &b4), 0);
    CHECK_EQ(sf_stack_addr_add(st[0], &b6), 0);
    CHECK_EQ(sf_bind(st[0], s, &b4), 0);
    struct sf_addr name;
    CHECK_EQ(sf_getsockname(st[0], s, &name), 0);
    CHECK(sf_addr_eq(&name, &b4));
    int s6 = sf_socket(st[0]);
    CHECK_EQ(sf_bind(st[0], s6, &b6), 0);
    CHECK_EQ(sf_getsockname(st[0], s6, &name), 0);
    CHECK(sf_addr_eq(&name, &b6));
    /* 0.0.0.0 stays unspecified, as on Linux */
    int any = sf_socket(st[0]);
    struct sf_addr a = sf_addr4(0, 7001);
    CHECK_EQ(sf_bind(st[0], any, &a), 0);
    CHECK_EQ(sf_getsockname(st[0], any, &name), 0);
    CHECK(sf_addr_eq(&name, &a));
    teardown();
}

/* A listener on the unspecified address takes every owned address of its
 * family, dual-stack :: both families; the accepted connection's local
 * address is the one the peer reached. */
static void test_listen_any(void)
{
    setup();
    struct sf_addr srv[] = {a4(1, 1, 80), a4(1, 2, 80), a6(1, 1, 80),
                            a6(1, 2, 80), a4(1, 3, 80)};
    CHECK_EQ(sf_stack_addr_add(st[1], &srv[1]), 0);
    CHECK_EQ(sf_stack_addr_add(st[1], &srv[3]), 0);
    struct sf_addr any = sf_addr6((uint8_t[16]){0}, 80);
    int l = listener(1, &any, false);
    for (int i = 0; i < 4; i++) {
        int c;
        CHECK_EQ(connect_to(&srv[i], &c), 0);
        int a = sf_accept(st[1], l, NULL);
        CHECK(a >= 0);
        struct sf_addr name, want = sf_addr_to_v4mapped(&srv[i]);
        CHECK_EQ(sf_getsockname(st[1], a, &name), 0);
        CHECK(sf_addr_eq(&name, &want));
        CHECK(sf_addr_ip_eq(&w.last_src[1], &srv[i])); /* answers from it */
    }
    /* 198.18.1.3 is not the stack's: the SYN is dropped and counted, the
     * connect() times out unanswered */
    uint64_t before = drops(1, SF_DROP_IP_ADDR);
    int c = sf_socket(st[0]);
    CHECK_EQ(sf_connect(st[0], c, &srv[4]), SF_EINPROGRESS);
    CHECK_EQ(w.n, 0);
    sf_stack_input(st[1], now, w.lost, w.lost_len); /* by hand */
    CHECK_EQ(drops(1, SF_DROP_IP_ADDR), before + 1);
    CHECK_EQ(w.n, 0); /* no answer */
    CHECK_EQ(sf_accept(st[1], l, NULL), SF_EAGAIN);
    teardown();
}

/* A listener bound to one address takes only it; two listeners on one
 * port on different addresses coexist, and each gets its own. */
static void test_listen_specific(void)
{
    setup();
    struct sf_addr x = a4(1, 1, 80), y = a4(1, 2, 80);
    CHECK_EQ(sf_stack_addr_add(st[1], &y), 0);
    int ly = listener(1, &y, false);
    int c;
    CHECK_EQ(connect_to(&x, &c), SF_ECONNREFUSED); /* nobody on x:80 */
    CHECK_EQ(connect_to(&y, &c), 0);
    CHECK(sf_accept(st[1], ly, NULL) >= 0);
    int lx = listener(1, &x, false);
    CHECK_EQ(connect_to(&x, &c), 0);
    CHECK_EQ(sf_accept(st[1], ly, NULL), SF_EAGAIN);
    int a = sf_accept(st[1], lx, NULL);
    CHECK(a >= 0);
    /* a wildcard listener on the port beside them may not: its address
     * meets both (EADDRINUSE), as on Linux */
    int lw = sf_socket(st[1]);
    struct sf_addr any = sf_addr4(0, 80);
    CHECK_EQ(sf_bind(st[1], lw, &any), SF_EADDRINUSE);
    /* a child unaccepted when its listener's neighbour closes stays with
     * its own listener */
    CHECK_EQ(connect_to(&y, &c), 0);
    CHECK_EQ(sf_close(st[1], lx), 0);
    CHECK(sf_accept(st[1], ly, NULL) >= 0);
    teardown();
}

/* connect() from an unbound socket leaves from the first owned address of
 * the remote's family; from a bound one, from its address. */
static void test_connect_source(void)
{
    setup();
    struct sf_addr b4 = a4(0, 2, 0), b6 = a6(0, 2, 0);
    CHECK_EQ(sf_stack_addr_add(st[0], &b4), 0);
    CHECK_EQ(sf_stack_addr_add(st[0], &b6), 0);
    struct sf_addr any6 = sf_addr6((uint8_t[16]){0}, 80);
    int l = listener(1, &any6, false);
    struct sf_addr srv4 = a4(1, 1, 80), srv6 = a6(1, 1, 80), name;
    int c;
    CHECK_EQ(connect_to(&srv4, &c), 0);
    CHECK_EQ(sf_getsockname(st[0], c, &name), 0);
    CHECK(sf_addr_ip_eq(&name, &(struct sf_addr){.ip = IP4(0, 1)}));
    CHECK_EQ(connect_to(&srv6, &c), 0);
    CHECK_EQ(sf_getsockname(st[0], c, &name), 0);
    struct sf_addr first6 = a6(0, 1, 0);
    CHECK(sf_addr_ip_eq(&name, &first6));
    /* bound to the second address: from it */
    c = sf_socket(st[0]);
    CHECK_EQ(sf_bind(st[0], c, &b4), 0);
    CHECK_EQ(sf_connect(st[0], c, &srv4), SF_EINPROGRESS);
    CHECK(sf_addr_ip_eq(&w.last_src[0], &b4));
    run(now + SF_SEC);
    CHECK_EQ(sf_connect(st[0], c, &srv4), 0);
    /* the first removed: the next of its family becomes the first */
    struct sf_addr first4 = a4(0, 1, 0);
    CHECK_EQ(sf_stack_addr_del(st[0], &first4), 0);
    CHECK_EQ(connect_to(&srv4, &c), 0);
    CHECK_EQ(sf_getsockname(st[0], c, &name), 0);
    CHECK(sf_addr_ip_eq(&name, &b4));
    /* none of the family left: ENETUNREACH */
    CHECK_EQ(sf_stack_addr_del(st[0], &b4), 0);
    c = sf_socket(st[0]);
    CHECK_EQ(sf_connect(st[0], c, &srv4), SF_ENETUNREACH);
    for (int i = 0; i < 4; i++)
        CHECK(sf_accept(st[1], l, NULL) >= 0);
    teardown();
}

/* Removing an address leaves its connections (as Linux): nothing is sent
 * and their state stays, but what arrives for the address is dropped and
 * counted from then on, so they end by their own timeouts. Added back,
 * it works again. */
static void test_del_leaves_connections(void)
{
    setup();
    struct sf_addr y = a4(1, 2, 80);
    CHECK_EQ(sf_stack_addr_add(st[1], &y), 0);
    int l = listener(1, &y, false), c;
    CHECK_EQ(connect_to(&y, &c), 0);
    int a = sf_accept(st[1], l, NULL);
    CHECK(a >= 0);
    CHECK_EQ(sf_stack_addr_del(st[1], &y), 0);
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(st[1], a, &info), 0);
    CHECK_EQ(info.state, SF_ESTABLISHED);
    CHECK_EQ(w.n, 0); /* no RST, nothing sent */
    /* the wire no longer routes to it: the client's data, by hand, is
     * dropped and counted */
    uint64_t before = drops(1, SF_DROP_IP_ADDR);
    CHECK_EQ(sf_send(st[0], c, "hi", 2, 0), 2);
    CHECK_EQ(w.n, 0);
    CHECK_EQ(w.unrouted, 1u);
    sf_stack_input(st[1], now, w.lost, w.lost_len);
    CHECK_EQ(drops(1, SF_DROP_IP_ADDR), before + 1);
    CHECK_EQ(w.n, 0); /* no ACK, no RST */
    char buf[4];
    CHECK_EQ(sf_recv(st[1], a, buf, sizeof buf, 0), SF_EAGAIN);
    CHECK_EQ(sf_tcp_info(st[1], a, &info), 0);
    CHECK_EQ(info.state, SF_ESTABLISHED);
    /* back: the retransmission arrives */
    CHECK_EQ(sf_stack_addr_add(st[1], &y), 0);
    run(now + 3 * SF_SEC);
    CHECK_EQ(sf_recv(st[1], a, buf, sizeof buf, 0), 2);
    teardown();
}

/* ------------------------------------------- bind conflicts (item 3) */

static int bind_at(int h, const struct sf_addr *a, bool v6only, bool reuse)
{
    int s = sf_socket(st[h]);
    int on = 1;
    if (reuse)
        CHECK_EQ(sf_setsockopt(st[h], s, SF_SOL_SOCKET, SF_SO_REUSEADDR, &on,
                               sizeof on), 0);
    if (v6only)
        CHECK_EQ(sf_setsockopt(st[h], s, SF_IPPROTO_IPV6, SF_IPV6_V6ONLY, &on,
                               sizeof on), 0);
    int r = sf_bind(st[h], s, a);
    sf_close(st[h], r == 0 ? -1 : s);
    return r;
}

static void test_bind_conflicts(void)
{
    setup();
    struct sf_addr x4 = a4(0, 1, 9000), y4 = a4(0, 2, 9000);
    struct sf_addr any4 = sf_addr4(0, 9000);
    struct sf_addr any6 = sf_addr6((uint8_t[16]){0}, 9000);
    struct sf_addr x6 = a6(0, 1, 9000);
    CHECK_EQ(sf_stack_addr_add(st[0], &y4), 0);
    /* two addresses of the stack: one port each */
    CHECK_EQ(bind_at(0, &x4, false, false), 0);
    CHECK_EQ(bind_at(0, &y4, false, false), 0);
    CHECK_EQ(bind_at(0, &x4, false, false), SF_EADDRINUSE);
    CHECK_EQ(bind_at(0, &any4, false, false), SF_EADDRINUSE);
    /* an IPV6_V6ONLY bind to the same port coexists with IPv4 ones, an
     * IPv6 address too; a dual-stack :: meets them all */
    CHECK_EQ(bind_at(0, &any6, true, false), 0);
    CHECK_EQ(bind_at(0, &x6, false, false), SF_EADDRINUSE); /* meets :: */
    CHECK_EQ(bind_at(0, &any6, false, false), SF_EADDRINUSE);
    /* on a fresh port: :: dual-stack first refuses IPv4 and IPv6 */
    struct sf_addr d6 = sf_addr6((uint8_t[16]){0}, 9001);
    struct sf_addr d4 = sf_addr4(0, 9001), e4 = a4(0, 2, 9001);
    struct sf_addr f6 = a6(0, 1, 9001);
    CHECK_EQ(bind_at(0, &d6, false, false), 0);
    CHECK_EQ(bind_at(0, &d4, false, false), SF_EADDRINUSE);
    CHECK_EQ(bind_at(0, &e4, false, false), SF_EADDRINUSE);
    CHECK_EQ(bind_at(0, &f6, false, false), SF_EADDRINUSE);
    /* SO_REUSEADDR as before: all sharing, none listening */
    struct sf_addr g4 = a4(0, 1, 9002);
    CHECK_EQ(bind_at(0, &g4, false, true), 0);
    CHECK_EQ(bind_at(0, &g4, false, true), 0);
    CHECK_EQ(bind_at(0, &g4, false, false), SF_EADDRINUSE);
    teardown();
}

/* RFC 9293 3.6.1 (MUST-13) and RFC 6056: a connection is unique by its
 * 4-tuple, not by its local port: two sockets bound (SO_REUSEADDR) to one
 * local address and port connect to two different remotes; a third to a
 * remote already served is refused (EADDRNOTAVAIL, as Linux). */
static void test_port_per_tuple(void)
{
    setup();
    struct sf_addr r1 = a4(1, 1, 80), r2 = a4(1, 2, 80), me = a4(0, 1, 5000);
    CHECK_EQ(sf_stack_addr_add(st[1], &r2), 0);
    struct sf_addr any = sf_addr4(0, 80);
    int l = listener(1, &any, false);
    int on = 1, s[3];
    for (int i = 0; i < 3; i++) {
        s[i] = sf_socket(st[0]);
        CHECK_EQ(sf_setsockopt(st[0], s[i], SF_SOL_SOCKET, SF_SO_REUSEADDR,
                               &on, sizeof on), 0);
        CHECK_EQ(sf_bind(st[0], s[i], &me), 0);
    }
    CHECK_EQ(sf_connect(st[0], s[0], &r1), SF_EINPROGRESS);
    CHECK_EQ(sf_connect(st[0], s[1], &r2), SF_EINPROGRESS);
    CHECK_EQ(sf_connect(st[0], s[2], &r1), SF_EADDRNOTAVAIL);
    run(now + SF_SEC);
    CHECK_EQ(sf_connect(st[0], s[0], &r1), 0);
    CHECK_EQ(sf_connect(st[0], s[1], &r2), 0);
    for (int i = 0; i < 2; i++) {
        struct sf_addr peer;
        CHECK(sf_accept(st[1], l, &peer) >= 0);
        CHECK_EQ(peer.port, 5000);
    }
    teardown();
}

/* An IPv4 listener and an IPV6_V6ONLY one on one port, the usual pair of
 * a server without dual-stack sockets: each takes its family. */
static void test_listen_v4_and_v6only(void)
{
    setup();
    struct sf_addr any4 = sf_addr4(0, 80);
    struct sf_addr any6 = sf_addr6((uint8_t[16]){0}, 80);
    int l4 = listener(1, &any4, false), l6 = listener(1, &any6, true);
    struct sf_addr s4 = a4(1, 1, 80), s6 = a6(1, 1, 80);
    int c;
    CHECK_EQ(connect_to(&s6, &c), 0);
    CHECK_EQ(sf_accept(st[1], l4, NULL), SF_EAGAIN);
    CHECK(sf_accept(st[1], l6, NULL) >= 0);
    CHECK_EQ(connect_to(&s4, &c), 0);
    CHECK_EQ(sf_accept(st[1], l6, NULL), SF_EAGAIN);
    CHECK(sf_accept(st[1], l4, NULL) >= 0);
    /* a dual-stack :: listener beside them is refused */
    int d = sf_socket(st[1]);
    CHECK_EQ(sf_bind(st[1], d, &any6), SF_EADDRINUSE);
    teardown();
}

/* ------------------------------------------- bad input (issue 11) */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

/* An ICMP (IPv4) or ICMPv6 error of type and code from a router to the
 * sender of datagram d, quoting d (its IP header and 8 bytes of TCP; as
 * much as fits for IPv6). Returns its length. */
static size_t icmp_error(const uint8_t *d, size_t len, int type, int code,
                         uint8_t *m)
{
    if (d[0] >> 4 == 6) {
        size_t q = len < 1280 - 48 ? len : 1280 - 48, n = 8 + q;
        memset(m, 0, 48);
        m[0] = 0x60, put16(m + 4, (uint32_t)n), m[6] = 58, m[7] = 64;
        struct sf_addr r = a6(9, 0xfe, 0);
        memcpy(m + 8, r.ip6, 16);
        memcpy(m + 24, d + 8, 16); /* to the datagram's source */
        uint8_t *i = m + 40;
        i[0] = (uint8_t)type, i[1] = (uint8_t)code;
        memcpy(i + 8, d, q);
        uint8_t ph[40] = {0};
        memcpy(ph, m + 8, 32);
        put16(ph + 34, (uint32_t)n), ph[39] = 58;
        put16(i + 2, sf_csum_fold(sf_csum_add(sf_csum_add(0, ph, 40), i, n)));
        return 40 + n;
    }
    size_t ihl = 4u * (d[0] & 15), n = 8 + ihl + 8;
    memset(m, 0, 28);
    m[0] = 0x45, put16(m + 2, (uint32_t)(20 + n)), m[8] = 64, m[9] = 1;
    put16(m + 12, 0xc612), put16(m + 14, 0x09fe);
    memcpy(m + 16, d + 12, 4);
    put16(m + 10, sf_csum_fold(sf_csum_add(0, m, 20)));
    uint8_t *i = m + 20;
    i[0] = (uint8_t)type, i[1] = (uint8_t)code;
    memcpy(i + 8, d, ihl + 8);
    put16(i + 2, sf_csum_fold(sf_csum_add(0, i, n)));
    return 20 + n;
}

/* Re-checksums an ICMP message after the test changed its quote. */
static void icmp_resum(uint8_t *m, size_t len)
{
    if (m[0] >> 4 == 6) {
        uint8_t *i = m + 40;
        size_t n = len - 40;
        put16(i + 2, 0);
        uint8_t ph[40] = {0};
        memcpy(ph, m + 8, 32);
        put16(ph + 34, (uint32_t)n), ph[39] = 58;
        put16(i + 2, sf_csum_fold(sf_csum_add(sf_csum_add(0, ph, 40), i, n)));
        return;
    }
    uint8_t *i = m + 20;
    put16(i + 2, 0);
    put16(i + 2, sf_csum_fold(sf_csum_add(0, i, len - 20)));
}

/* What must not change: a connection's state and sequence space, its
 * pending error, and the silence of the stack. */
struct snap {
    struct sf_tcp_info info;
    uint64_t drops;
};

static struct snap snap_of(int h, int sd)
{
    struct snap s;
    CHECK_EQ(sf_tcp_info(st[h], sd, &s.info), 0);
    s.drops = sf_stack_counters(st[h])->c[SF_CTR_DROPS];
    return s;
}

static void check_unchanged(int h, int sd, const struct snap *before,
                            uint64_t more_drops)
{
    struct snap now_ = snap_of(h, sd);
    CHECK_EQ(now_.info.state, before->info.state);
    CHECK_EQ(now_.info.snd_una, before->info.snd_una);
    CHECK_EQ(now_.info.snd_nxt, before->info.snd_nxt);
    CHECK_EQ(now_.info.rcv_nxt, before->info.rcv_nxt);
    CHECK_EQ(now_.info.snd_mss, before->info.snd_mss);
    CHECK_EQ(now_.info.error, before->info.error);
    CHECK_EQ(now_.drops, before->drops + more_drops);
    CHECK_EQ(w.n, 0);
}

/* Two connections from host 0 to host 1 of family v6 (or IPv4), each
 * with `len` bytes of data sent by host 0 and not yet delivered (left in
 * the wire's queue, then taken out into dgram[]). */
static void two_conns(bool v6, int sd[2], uint8_t dgram[2][1600],
                      size_t dlen[2], int *accepted)
{
    struct sf_addr any = v6 ? sf_addr6((uint8_t[16]){0}, 80)
                            : sf_addr4(0, 80);
    int l = listener(1, &any, true);
    struct sf_addr srv = v6 ? a6(1, 1, 80) : a4(1, 1, 80);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(connect_to(&srv, &sd[i]), 0);
        int a = sf_accept(st[1], l, NULL);
        CHECK(a >= 0);
        if (i == 0)
            *accepted = a;
    }
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(sf_send(st[0], sd[i], "data", 4, 0), 4);
        CHECK_EQ(w.n, 1);
        memcpy(dgram[i], w.q[0].buf, dlen[i] = w.q[0].len);
        w.n = 0;
    }
}

/* Issue 11's bad input, IPv6 and IPv4: a source that must never appear
 * (multicast; IPv4-mapped on the wire), a destination that must never
 * appear (unspecified; IPv4-mapped), and ICMP errors quoting garbage or
 * another connection's segment: dropped, counted, no state change. */
static void bad_input(bool v6)
{
    setup();
    int sd[2];
    uint8_t d[2][1600], m[1600], x[1600];
    size_t dl[2];
    int acc = -1;
    two_conns(v6, sd, d, dl, &acc);
    struct snap s0 = snap_of(0, sd[0]), s1 = snap_of(0, sd[1]);
    const struct sf_counters *k = sf_stack_counters(st[1]);

    /* at host 1 (the receiver of d[0]): forged sources and destinations */
    struct { int off; uint8_t bytes[16]; enum sf_drop why; } v6cases[] = {
        {8, {0xff, 0x02, [15] = 1}, SF_DROP_IP6_BAD_SRC},      /* mcast */
        {8, {[10] = 0xff, [11] = 0xff, 198, 18, 0, 1}, SF_DROP_IP6_BAD_SRC},
        {24, {0}, SF_DROP_IP6_BAD_DST},                         /* :: */
        {24, {[10] = 0xff, [11] = 0xff, 198, 18, 1, 1}, SF_DROP_IP6_BAD_DST},
    };
    struct { int off; uint32_t ip; enum sf_drop why; } v4cases[] = {
        {12, 0xe0000001u, SF_DROP_IP_BAD_SRC}, /* 224.0.0.1 source */
        {12, 0xffffffffu, SF_DROP_IP_BAD_SRC}, /* broadcast source */
        {16, 0, SF_DROP_IP_ADDR},              /* 0.0.0.0: not ours */
    };
    struct snap r = snap_of(1, acc); /* d[0]'s connection there */
    size_t ncases = v6 ? 4 : 3;
    for (size_t i = 0; i < ncases; i++) {
        memcpy(x, d[0], dl[0]);
        enum sf_drop why;
        if (v6) {
            memcpy(x + v6cases[i].off, v6cases[i].bytes, 16);
            why = v6cases[i].why;
        } else {
            uint32_t ip = v4cases[i].ip;
            x[v4cases[i].off] = (uint8_t)(ip >> 24);
            x[v4cases[i].off + 1] = (uint8_t)(ip >> 16);
            x[v4cases[i].off + 2] = (uint8_t)(ip >> 8);
            x[v4cases[i].off + 3] = (uint8_t)ip;
            put16(x + 10, 0);
            put16(x + 10, sf_csum_fold(sf_csum_add(0, x, 20)));
            why = v4cases[i].why;
        }
        uint64_t before = k->drops[why];
        sf_stack_input(st[1], now, x, dl[0]);
        CHECK_EQ(k->drops[why], before + 1);
        check_unchanged(1, acc, &r, i + 1);
    }

    /* at host 0 (the sender of d[0], d[1], both in flight): ICMP port
     * unreachable quoting garbage */
    const struct sf_counters *k0 = sf_stack_counters(st[0]);
    int type = v6 ? 1 : 3, code = v6 ? 4 : 3;
    size_t ml = icmp_error(d[0], dl[0], type, code, m);
    size_t q = v6 ? 48 : 28; /* the quoted IP header */
    uint64_t bad = k0->drops[SF_DROP_ICMP_BAD];
    memcpy(x, m, ml);
    x[q] ^= 0x30; /* the quoted IP version: neither 4 nor 6 */
    icmp_resum(x, ml);
    sf_stack_input(st[0], now, x, ml);
    CHECK_EQ(k0->drops[SF_DROP_ICMP_BAD], bad + 1);
    memcpy(x, m, ml);
    put16(x + q + (v6 ? 40 : 20), 1); /* a source port of nobody's */
    icmp_resum(x, ml);
    sf_stack_input(st[0], now, x, ml);
    CHECK_EQ(k0->drops[SF_DROP_ICMP_BAD], bad + 2);
    memcpy(x, m, ml);
    x[q + (v6 ? 8 + 15 : 12 + 3)] ^= 0x40; /* from an address not ours */
    icmp_resum(x, ml);
    sf_stack_input(st[0], now, x, ml);
    CHECK_EQ(k0->drops[SF_DROP_ICMP_BAD], bad + 3);
    memcpy(x, m, ml);
    x[ml - 1] ^= 1; /* a bad ICMP checksum */
    sf_stack_input(st[0], now, x, ml);
    CHECK_EQ(k0->drops[SF_DROP_ICMP_BAD], bad + 4);
    /* quoting another connection's segment: d[0]'s sequence number under
     * the ports of connection 1 */
    uint64_t nif = k0->drops[SF_DROP_ICMP_NOT_IN_FLIGHT];
    memcpy(x, m, ml);
    memcpy(x + q + (v6 ? 40 : 20), d[1] + (v6 ? 40 : 20), 4);
    CHECK(get16(x + q + (v6 ? 40 : 20)) != get16(d[0] + (v6 ? 40 : 20)));
    icmp_resum(x, ml);
    sf_stack_input(st[0], now, x, ml);
    CHECK_EQ(k0->drops[SF_DROP_ICMP_NOT_IN_FLIGHT], nif + 1);
    check_unchanged(0, sd[0], &s0, 5);
    check_unchanged(0, sd[1], &s1, 5);
    CHECK_EQ(k0->c[SF_CTR_ICMP_SOFT_ERRORS], 0u);
    /* and the genuine one is taken: noted as a soft error (synchronized:
     * RFC 5461 4), no state change either */
    sf_stack_input(st[0], now, m, ml);
    CHECK_EQ(k0->c[SF_CTR_ICMP_SOFT_ERRORS], 1u);
    check_unchanged(0, sd[0], &s0, 5);
    teardown();
}

static void test_bad_input6(void) { bad_input(true); }
static void test_bad_input4(void) { bad_input(false); }

int main(int argc, char **argv);
static const struct check_case cases[] = {
    CHECK_CASE(test_add_del),
    CHECK_CASE(test_bind_owned),
    CHECK_CASE(test_listen_any),
    CHECK_CASE(test_listen_specific),
    CHECK_CASE(test_connect_source),
    CHECK_CASE(test_del_leaves_connections),
    CHECK_CASE(test_bind_conflicts),
    CHECK_CASE(test_listen_v4_and_v6only),
    CHECK_CASE(test_port_per_tuple),
    CHECK_CASE(test_bad_input6),
    CHECK_CASE(test_bad_input4),
};
int main(int argc, char **argv) { return CHECK_MAIN(argc, argv, cases); }
