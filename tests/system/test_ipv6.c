/* Two dual-stack stacks in one process, joined by an in-memory wire that
 * routes by the version nibble and the destination address: one TCP for
 * both families (issue 11). The whole lifecycle and a bulk transfer over
 * IPv6 (every datagram IPv6, every segment within the IPv6 MSS), SYN
 * cookies over IPv6, a dual-stack listener taking IPv4 (the peer seen as
 * ::ffff:a.b.c.d), IPV6_V6ONLY, an IPv4 and an IPv6 connection at once,
 * and the API's errors. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define MAXQ 512
#define IP4(i) (0xC6120001u + (uint32_t)(i)) /* 198.18.0.1, .2 */

/* 2001:db8::1, ::2 (RFC 3849's documentation prefix) */
static void ip6_of(int i, uint8_t out[16])
{
    static const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8};
    memcpy(out, base, 16);
    out[15] = (uint8_t)(i + 1);
}

static struct sf_addr addr6(int host, uint16_t port)
{
    uint8_t a[16];
    ip6_of(host, a);
    return sf_addr6(a, port);
}

struct wire {
    struct { uint8_t buf[1600]; size_t len; int to; } q[MAXQ];
    int n;
    /* what the hosts sent */
    unsigned v4, v6, bad, maxpay6;
    /* a router on the path: datagrams longer than mtu (0: no limit) are
     * dropped and answered with an ICMP too big to their sender; the
     * first one is kept in big[] */
    size_t mtu, maxlen_after;
    unsigned too_big;
    uint8_t big[1600];
    size_t big_len;
};
struct host {
    struct sf_stack *st;
    struct wire *w;
    int id;
};

static struct host hosts[2];
static sf_time_t now;

/* The host a datagram is for, by its destination address; -1: none. */
static int dest_of(struct wire *w, const uint8_t *d, size_t len)
{
    if (len && d[0] >> 4 == 6) {
        struct sf_ipv6 ip;
        struct sf_tcp seg;
        if (sf_ipv6_parse(d, len, &ip) != SF_DROP_NONE ||
            sf_tcp6_parse(&ip, &seg) != SF_DROP_NONE)
            return -1;
        w->v6++;
        if (seg.len > w->maxpay6)
            w->maxpay6 = (unsigned)seg.len;
        for (int i = 0; i < 2; i++) {
            uint8_t a[16];
            ip6_of(i, a);
            if (!memcmp(ip.dst, a, 16))
                return i;
        }
        return -1;
    }
    struct sf_ipv4 ip;
    if (sf_ipv4_parse(d, len, &ip) != SF_DROP_NONE)
        return -1;
    w->v4++;
    return ip.dst == IP4(0) ? 0 : ip.dst == IP4(1) ? 1 : -1;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

/* The router's ICMP "too big" for datagram d (len bytes) into m: ICMPv6
 * Packet Too Big (RFC 4443 3.2) from 2001:db8::fe, or ICMP
 * fragmentation needed (RFC 792, RFC 1191 4) from 198.18.0.254, quoting
 * d (IPv6: as much as fits 1280 bytes; IPv4: its header and 8 bytes).
 * Returns its length. */
static size_t icmp_too_big(const uint8_t *d, size_t len, uint32_t mtu,
                           uint8_t *m)
{
    if (d[0] >> 4 == 6) {
        size_t q = len < 1280 - 48 ? len : 1280 - 48, n = 8 + q;
        memset(m, 0, 48);
        m[0] = 0x60, put16(m + 4, (uint32_t)n), m[6] = 58, m[7] = 64;
        ip6_of(0, m + 8);
        m[8 + 15] = 0xfe;
        memcpy(m + 24, d + 8, 16); /* to the datagram's source */
        uint8_t *i = m + 40;
        i[0] = 2, i[4] = (uint8_t)(mtu >> 24), i[5] = (uint8_t)(mtu >> 16);
        i[6] = (uint8_t)(mtu >> 8), i[7] = (uint8_t)mtu;
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
    put16(m + 12, 0xc612), put16(m + 14, 0x00fe);
    memcpy(m + 16, d + 12, 4);
    put16(m + 10, sf_csum_fold(sf_csum_add(0, m, 20)));
    uint8_t *i = m + 20;
    i[0] = 3, i[1] = 4, put16(i + 6, mtu);
    memcpy(i + 8, d, ihl + 8);
    put16(i + 2, sf_csum_fold(sf_csum_add(0, i, n)));
    return 20 + n;
}

static void out(void *ctx, const uint8_t *d, size_t len)
{
    struct host *h = ctx;
    struct wire *w = h->w;
    if (w->mtu && len > w->mtu && w->n < MAXQ) {
        if (!w->big_len) {
            memcpy(w->big, d, len);
            w->big_len = len;
        }
        w->too_big++;
        w->q[w->n].len = icmp_too_big(d, len, (uint32_t)w->mtu,
                                      w->q[w->n].buf);
        w->q[w->n].to = h->id;
        w->n++;
        return;
    }
    if (w->too_big && len > w->maxlen_after)
        w->maxlen_after = len;
    int to = dest_of(w, d, len);
    if (to < 0) {
        w->bad++;
        return;
    }
    if (w->n < MAXQ && len <= sizeof w->q[0].buf) {
        memcpy(w->q[w->n].buf, d, len);
        w->q[w->n].len = len;
        w->q[w->n].to = to;
        w->n++;
    }
}

static void setup_cfg(struct wire *w, void (*tweak)(struct sf_stack_cfg *))
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < 2; i++) {
        struct sf_stack_cfg cfg;
        sf_stack_cfg_default(&cfg);
        cfg.addr = IP4(i);
        ip6_of(i, cfg.addr6);
        cfg.output = out;
        cfg.output_ctx = &hosts[i];
        cfg.seed[0] = (uint8_t)(i + 1);
        if (tweak)
            tweak(&cfg);
        memset(&hosts[i], 0, sizeof hosts[i]);
        hosts[i].w = w;
        hosts[i].id = i;
        CHECK_EQ(sf_stack_create(&cfg, now, &hosts[i].st), 0);
    }
}

static void setup(struct wire *w) { setup_cfg(w, NULL); }

/* Delivers queued datagrams and fires timers until quiet or until `until`. */
static void run(struct wire *w, sf_time_t until)
{
    for (int guard = 0; guard < 200000; guard++) {
        if (w->n > 0) {
            int to = w->q[0].to;
            uint8_t buf[1600];
            size_t len = w->q[0].len;
            memcpy(buf, w->q[0].buf, len);
            memmove(&w->q[0], &w->q[1], (size_t)(w->n - 1) * sizeof w->q[0]);
            w->n--;
            sf_stack_input(hosts[to].st, now, buf, len);
            continue;
        }
        sf_time_t next = SF_TIME_NEVER;
        for (int i = 0; i < 2; i++) {
            sf_time_t t = sf_stack_advance(hosts[i].st, now);
            if (t < next)
                next = t;
        }
        if (w->n > 0)
            continue;
        if (next == SF_TIME_NEVER || next > until)
            return;
        now = next;
    }
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++)
        sf_stack_free(hosts[i].st);
}

/* A listener on [::]:port of host 1 (v6only as given). */
static int listen6(int port, bool v6only)
{
    struct sf_stack *ss = hosts[1].st;
    int l = sf_socket(ss);
    int on = v6only;
    CHECK_EQ(sf_setsockopt(ss, l, SF_IPPROTO_IPV6, SF_IPV6_V6ONLY, &on,
                           sizeof on), 0);
    struct sf_addr any = sf_addr6((uint8_t[16]){0}, (uint16_t)port);
    CHECK_EQ(sf_bind(ss, l, &any), 0);
    CHECK_EQ(sf_listen(ss, l, 8), 0);
    return l;
}

static void test_lifecycle6(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = listen6(80, false);
    struct sf_addr name;
    CHECK_EQ(sf_getsockname(ss, l, &name), 0);
    CHECK_EQ(name.family, SF_AF_INET6);
    CHECK(sf_addr_is_unspec(&name));
    CHECK_EQ(name.port, 80);

    int c = sf_socket(cs);
    struct sf_addr srv = addr6(1, 80);
    CHECK_EQ(sf_connect(cs, c, &srv), SF_EINPROGRESS);
    run(&w, now);
    CHECK_EQ(sf_connect(cs, c, &srv), 0);
    struct sf_addr peer;
    int a = sf_accept(ss, l, &peer);
    CHECK(a >= 0);
    struct sf_addr cli = addr6(0, 0);
    CHECK(sf_addr_ip_eq(&peer, &cli));
    CHECK(peer.port >= 32768);
    struct sf_addr cname, sname, speer;
    CHECK_EQ(sf_getsockname(cs, c, &cname), 0);
    CHECK(sf_addr_ip_eq(&cname, &cli));
    CHECK_EQ(cname.port, peer.port);
    CHECK_EQ(sf_getsockname(ss, a, &sname), 0);
    CHECK(sf_addr_eq(&sname, &srv));
    CHECK_EQ(sf_getpeername(ss, a, &speer), 0);
    CHECK(sf_addr_eq(&speer, &peer));
    /* RFC 9293 3.7.1: MTU 1500 less 60 */
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(cs, c, &info), 0);
    CHECK_EQ(info.snd_mss, 1440 - 12); /* timestamps on: 12 bytes less */
    CHECK(sf_addr_eq(&info.remote, &srv));
    CHECK_EQ(sf_tcp_info_by_addr(ss, &sname, &peer, &info), 0);
    CHECK_EQ(info.state, SF_ESTABLISHED);

    /* 200 kB each way: every datagram IPv6, none above the MSS */
    enum { N = 200000 };
    uint8_t *tx = malloc(N), *rx = malloc(N);
    for (size_t i = 0; i < N; i++)
        tx[i] = (uint8_t)(i * 7 + 3);
    size_t sent = 0, got = 0, sent2 = 0, got2 = 0;
    for (int round = 0; round < 10000 && (got < N || got2 < N); round++) {
        long r;
        if (sent < N && (r = sf_send(cs, c, tx + sent, N - sent, 0)) > 0)
            sent += (size_t)r;
        if (sent2 < N && (r = sf_send(ss, a, tx + sent2, N - sent2, 0)) > 0)
            sent2 += (size_t)r;
        run(&w, now + 10 * SF_MSEC);
        if ((r = sf_recv(ss, a, rx + got, N - got, 0)) > 0)
            got += (size_t)r;
        if (got == N) {
            CHECK(!memcmp(rx, tx, N));
            got = N + 1; /* checked */
        }
        uint8_t tmp[65536];
        while ((r = sf_recv(cs, c, tmp, sizeof tmp, 0)) > 0) {
            CHECK(!memcmp(tmp, tx + got2, (size_t)r));
            got2 += (size_t)r;
        }
    }
    CHECK_EQ(got, N + 1);
    CHECK_EQ(got2, N);
    free(tx);
    free(rx);
    CHECK_EQ(w.v4, 0);
    CHECK(w.v6 > 2 * N / 1440);
    CHECK_EQ(w.bad, 0);
    CHECK(w.maxpay6 <= 1440 - 12);
    CHECK(w.maxpay6 >= 1400);

    /* the four-way close and TIME_WAIT's 2*MSL, over IPv6 */
    CHECK_EQ(sf_close(cs, c), 0);
    run(&w, now + SF_SEC);
    uint8_t buf[8];
    CHECK_EQ(sf_recv(ss, a, buf, sizeof buf, 0), 0);
    CHECK_EQ(sf_close(ss, a), 0);
    run(&w, now + SF_SEC);
    CHECK_EQ(sf_stack_counters(cs)->conns_in_state[SF_TIME_WAIT], 1);
    CHECK_EQ(sf_stack_counters(ss)->conns_in_state[SF_LAST_ACK], 0);
    run(&w, now + 120 * SF_SEC);
    CHECK_EQ(sf_stack_counters(cs)->conns_in_state[SF_TIME_WAIT], 0);
    CHECK_EQ(sf_stack_counters(cs)->conns_in_state[SF_ESTABLISHED], 0);
    CHECK_EQ(w.v4, 0);
    CHECK_EQ(sf_close(ss, l), 0);
    teardown();
}

/* A dual-stack listener takes IPv4: the connection runs over IPv4, the
 * server's application sees ::ffff:198.18.0.1, the client plain IPv4. */
static void test_dual_stack(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = listen6(80, false);
    /* the listener has no peer: shown as [::]:0, an IPv6 socket's (ss
     * printed 0.0.0.0:0) */
    struct sf_tcp_info li;
    CHECK_EQ(sf_tcp_info(ss, l, &li), 0);
    CHECK_EQ(li.remote.family, SF_AF_INET6);
    CHECK(sf_addr_is_unspec(&li.remote));
    CHECK_EQ(li.remote.port, 0);
    int c4 = sf_socket(cs), c6 = sf_socket(cs);
    struct sf_addr srv4 = sf_addr4(IP4(1), 80), srv6 = addr6(1, 80);
    CHECK_EQ(sf_connect(cs, c4, &srv4), SF_EINPROGRESS);
    CHECK_EQ(sf_connect(cs, c6, &srv6), SF_EINPROGRESS);
    run(&w, now);
    CHECK_EQ(sf_connect(cs, c4, &srv4), 0);
    CHECK_EQ(sf_connect(cs, c6, &srv6), 0);
    CHECK(w.v4 > 0 && w.v6 > 0);
    struct sf_addr p1, p2;
    int a1 = sf_accept(ss, l, &p1), a2 = sf_accept(ss, l, &p2);
    CHECK(a1 >= 0 && a2 >= 0);
    /* one of each, in the order the SYNs came */
    struct sf_addr v4peer = p1.family == SF_AF_INET6 &&
                                    sf_addr_is_v4mapped(&p1) ? p1 : p2;
    int a4 = sf_addr_eq(&v4peer, &p1) ? a1 : a2;
    CHECK(sf_addr_is_v4mapped(&v4peer));
    struct sf_addr un = sf_addr_from_v4mapped(&v4peer);
    CHECK_EQ(un.ip, IP4(0));
    struct sf_addr n4;
    CHECK_EQ(sf_getsockname(ss, a4, &n4), 0);
    CHECK(sf_addr_is_v4mapped(&n4));
    CHECK_EQ(n4.port, 80);
    struct sf_addr cpeer;
    CHECK_EQ(sf_getpeername(cs, c4, &cpeer), 0);
    CHECK(sf_addr_eq(&cpeer, &srv4)); /* an IPv4 socket: plain IPv4 */
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(ss, a4, &info), 0);
    CHECK(sf_addr_is_v4mapped(&info.remote));
    CHECK_EQ(info.snd_mss, 1460 - 12); /* the IPv4 MSS */
    /* sf_tcp_info_by_addr takes the mapped form too */
    CHECK_EQ(sf_tcp_info_by_addr(ss, &n4, &v4peer, &info), 0);
    CHECK_EQ(info.state, SF_ESTABLISHED);
    /* data over the IPv4 one */
    unsigned v6_before = w.v6;
    CHECK_EQ(sf_send(cs, c4, "four", 4, 0), 4);
    run(&w, now + SF_SEC);
    char buf[8];
    CHECK_EQ(sf_recv(ss, a4, buf, sizeof buf, 0), 4);
    CHECK(!memcmp(buf, "four", 4));
    CHECK_EQ(w.v6, v6_before);
    CHECK_EQ(w.bad, 0);
    teardown();
}

/* IPV6_V6ONLY: the IPv4 SYN finds no listener (RST: ECONNREFUSED). */
static void test_v6only(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = listen6(80, true);
    int got = -1;
    size_t len = sizeof got;
    CHECK_EQ(sf_getsockopt(ss, l, SF_IPPROTO_IPV6, SF_IPV6_V6ONLY, &got,
                           &len), 0);
    CHECK_EQ(got, 1);
    /* too late once bound (as Linux) */
    int on = 0;
    CHECK_EQ(sf_setsockopt(ss, l, SF_IPPROTO_IPV6, SF_IPV6_V6ONLY, &on,
                           sizeof on), SF_EINVAL);
    int c4 = sf_socket(cs), c6 = sf_socket(cs);
    struct sf_addr srv4 = sf_addr4(IP4(1), 80), srv6 = addr6(1, 80);
    CHECK_EQ(sf_connect(cs, c4, &srv4), SF_EINPROGRESS);
    CHECK_EQ(sf_connect(cs, c6, &srv6), SF_EINPROGRESS);
    run(&w, now + SF_SEC);
    CHECK_EQ(sf_connect(cs, c4, &srv4), SF_ECONNREFUSED);
    CHECK_EQ(sf_connect(cs, c6, &srv6), 0);
    /* a v6only socket neither binds nor connects to IPv4-mapped */
    int s = sf_socket(cs);
    on = 1;
    CHECK_EQ(sf_setsockopt(cs, s, SF_IPPROTO_IPV6, SF_IPV6_V6ONLY, &on,
                           sizeof on), 0);
    struct sf_addr m = sf_addr_to_v4mapped(&srv4);
    CHECK_EQ(sf_connect(cs, s, &m), SF_ENETUNREACH);
    struct sf_addr mine = sf_addr4(IP4(0), 0);
    mine = sf_addr_to_v4mapped(&mine);
    CHECK_EQ(sf_bind(cs, s, &mine), SF_EINVAL);
    teardown();
}

/* An IPv6 socket connects to ::ffff:198.18.0.2: an IPv4 connection,
 * shown mapped to its application. */
static void test_mapped_connect(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = sf_socket(ss);
    CHECK_EQ(sf_bind(ss, l, &(struct sf_addr){.port = 81}), 0);
    CHECK_EQ(sf_listen(ss, l, 8), 0);
    int c = sf_socket(cs);
    struct sf_addr v4 = sf_addr4(IP4(1), 81);
    struct sf_addr m = sf_addr_to_v4mapped(&v4);
    CHECK_EQ(sf_connect(cs, c, &m), SF_EINPROGRESS);
    run(&w, now);
    CHECK_EQ(sf_connect(cs, c, &m), 0);
    CHECK_EQ(w.v6, 0);
    struct sf_addr p, n;
    CHECK_EQ(sf_getpeername(cs, c, &p), 0);
    CHECK(sf_addr_eq(&p, &m));
    CHECK_EQ(sf_getsockname(cs, c, &n), 0);
    CHECK(sf_addr_is_v4mapped(&n));
    struct sf_addr peer;
    int a = sf_accept(ss, l, &peer);
    CHECK(a >= 0);
    CHECK_EQ(peer.family, SF_AF_INET); /* an IPv4 listener: plain IPv4 */
    CHECK_EQ(peer.ip, IP4(0));
    teardown();
}

static void cookies_only(struct sf_stack_cfg *cfg)
{
    cfg->syn_backlog = 0; /* every SYN gets a cookie (RFC 4987) */
}

/* SYN cookies over IPv6: the hash covers the whole addresses; the
 * connection comes up from the returning ACK. */
static void test_syncookie6(void)
{
    struct wire w;
    setup_cfg(&w, cookies_only);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = listen6(80, false);
    int c = sf_socket(cs);
    struct sf_addr srv = addr6(1, 80);
    CHECK_EQ(sf_connect(cs, c, &srv), SF_EINPROGRESS);
    run(&w, now + SF_SEC);
    CHECK_EQ(sf_connect(cs, c, &srv), 0);
    const struct sf_counters *k = sf_stack_counters(ss);
    CHECK_EQ(k->c[SF_CTR_SYNCOOKIES_SENT], 1);
    CHECK_EQ(k->c[SF_CTR_SYNCOOKIES_OK], 1);
    struct sf_addr peer;
    int a = sf_accept(ss, l, &peer);
    CHECK(a >= 0);
    CHECK_EQ(peer.family, SF_AF_INET6);
    CHECK_EQ(sf_send(cs, c, "cookie", 6, 0), 6);
    run(&w, now + SF_SEC);
    char buf[8];
    CHECK_EQ(sf_recv(ss, a, buf, sizeof buf, 0), 6);
    CHECK_EQ(w.v4, 0);
    teardown();
}

static void no_ipv6(struct sf_stack_cfg *cfg)
{
    memset(cfg->addr6, 0, sizeof cfg->addr6);
}

/* Bad input from the API: a clear error each; bad datagrams: dropped. */
static void test_errors(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st;
    int s = sf_socket(cs);
    uint8_t mc[16] = {0xff, 0x02};
    mc[15] = 1;
    struct sf_addr multicast = sf_addr6(mc, 80);
    CHECK_EQ(sf_connect(cs, s, &multicast), SF_ENETUNREACH); /* MUST-46 */
    struct sf_addr any = sf_addr6((uint8_t[16]){0}, 80);
    CHECK_EQ(sf_connect(cs, s, &any), SF_EINVAL);
    struct sf_addr other = addr6(1, 0); /* the other host's address */
    CHECK_EQ(sf_bind(cs, s, &other), SF_EADDRNOTAVAIL);
    struct sf_addr mine = addr6(0, 0);
    CHECK_EQ(sf_bind(cs, s, &mine), 0);
    struct sf_addr v4 = sf_addr4(IP4(1), 80);
    /* bound to an IPv6 address: no IPv4 */
    CHECK_EQ(sf_connect(cs, s, &v4), SF_ENETUNREACH);
    int s4 = sf_socket(cs);
    CHECK_EQ(sf_bind(cs, s4, &(struct sf_addr){.port = 0}), 0);
    struct sf_addr six = addr6(1, 80);
    CHECK_EQ(sf_connect(cs, s4, &six), SF_EINVAL); /* an IPv4 socket */
    CHECK_EQ(sf_setsockopt(cs, s4, SF_IPPROTO_IPV6, 99, &(int){1},
                           sizeof(int)), SF_ENOPROTOOPT);
    teardown();

    /* a stack without IPv6: no route there, and its datagrams dropped */
    setup_cfg(&w, no_ipv6);
    cs = hosts[0].st;
    s = sf_socket(cs);
    CHECK_EQ(sf_connect(cs, s, &six), SF_ENETUNREACH);
    struct sf_tcp seg = {.sport = 4000, .dport = 80, .seq = 1,
                         .flags = SF_SYN, .win = 1000};
    struct sf_ipv6 ip = {.hlim = 64};
    ip6_of(1, ip.src);
    ip6_of(0, ip.dst);
    uint8_t dg[128];
    size_t n = sf_emit6(dg, sizeof dg, &ip, &seg);
    CHECK(n > 0);
    sf_stack_input(cs, now, dg, n);
    CHECK_EQ(sf_stack_counters(cs)->drops[SF_DROP_IP6_ADDR], 1);
    CHECK_EQ(w.n, 0);
    teardown();

    /* the configuration: no address at all, a multicast IPv6 one */
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.output = out;
    struct sf_stack *st = NULL;
    CHECK(sf_stack_cfg_check(&cfg) != NULL);
    CHECK_EQ(sf_stack_create(&cfg, 0, &st), SF_EINVAL);
    memcpy(cfg.addr6, mc, 16);
    CHECK(sf_stack_cfg_check(&cfg) != NULL);
    ip6_of(0, cfg.addr6); /* IPv6 alone is enough */
    CHECK(sf_stack_cfg_check(&cfg) == NULL);
}

/* Sends n bytes from host 0's c to host 1's a and checks they arrive. */
static void transfer(struct wire *w, int c, int a, size_t n)
{
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    uint8_t *tx = malloc(n), *rx = malloc(n);
    for (size_t i = 0; i < n; i++)
        tx[i] = (uint8_t)(i * 13 + 1);
    size_t sent = 0, got = 0;
    for (int round = 0; round < 5000 && got < n; round++) {
        long r;
        if (sent < n && (r = sf_send(cs, c, tx + sent, n - sent, 0)) > 0)
            sent += (size_t)r;
        run(w, now + 10 * SF_MSEC);
        if ((r = sf_recv(ss, a, rx + got, n - got, 0)) > 0)
            got += (size_t)r;
    }
    CHECK_EQ(got, n);
    CHECK(!memcmp(rx, tx, n));
    free(tx);
    free(rx);
}

/* Host 0 connects to host 1 over the family of srv; returns the two
 * descriptors. */
static void connect_pair(struct wire *w, struct sf_addr srv, int *c, int *a)
{
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = sf_socket(ss);
    struct sf_addr any = srv;
    memset(any.ip6, 0, 16), any.ip = 0;
    CHECK_EQ(sf_bind(ss, l, &any), 0);
    CHECK_EQ(sf_listen(ss, l, 8), 0);
    *c = sf_socket(cs);
    CHECK_EQ(sf_connect(cs, *c, &srv), SF_EINPROGRESS);
    run(w, now);
    CHECK_EQ(sf_connect(cs, *c, &srv), 0);
    *a = sf_accept(ss, l, NULL);
    CHECK(*a >= 0);
}

/* Hands host 0 the router's ICMP too big for the kept datagram, as is
 * (edit 0), with a bad checksum (1), or quoting another port (2). */
static void icmp_again(struct wire *w, uint32_t mtu, int edit)
{
    uint8_t m[1600];
    size_t n = icmp_too_big(w->big, w->big_len, mtu, m);
    if (edit == 1)
        m[n - 1] ^= 1; /* the checksum no longer holds */
    if (edit == 2) {
        /* another connection's segment: the quoted destination port */
        size_t at = m[0] >> 4 == 6 ? 40 + 8 + 40 + 2 : 20 + 8 + 20 + 2;
        m[at] ^= 0x40;
        if (m[0] >> 4 == 6) { /* keep the checksum right */
            uint8_t *i = m + 40;
            uint8_t ph[40] = {0};
            memcpy(ph, m + 8, 32);
            put16(ph + 34, (uint32_t)(n - 40)), ph[39] = 58;
            i[2] = i[3] = 0;
            put16(i + 2, sf_csum_fold(sf_csum_add(sf_csum_add(0, ph, 40), i,
                                                  n - 40)));
        } else {
            uint8_t *i = m + 20;
            i[2] = i[3] = 0;
            put16(i + 2, sf_csum_fold(sf_csum_add(0, i, n - 20)));
        }
    }
    sf_stack_input(hosts[0].st, now, m, n);
}

/* RFC 8201 (IPv6) and RFC 1191 (IPv4): a router on the path with a
 * smaller MTU drops the big datagrams and says so; the connection lowers
 * its MSS and sends the lost data again at the new size (RFC 5927 4.1:
 * only for a segment in flight). Then bad messages: dropped, counted,
 * nothing changed. */
static void pmtu(bool v6)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st;
    int c, a;
    connect_pair(&w, v6 ? addr6(1, 80) : sf_addr4(IP4(1), 80), &c, &a);
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(cs, c, &info), 0);
    uint32_t mss0 = info.snd_mss; /* 1428 or 1448: timestamps are on */
    CHECK_EQ(mss0, v6 ? 1428 : 1448);
    w.mtu = v6 ? 1280 : 1000;
    transfer(&w, c, a, 100000);
    const struct sf_counters *k = sf_stack_counters(cs);
    CHECK(w.too_big >= 1);
    CHECK_EQ(k->c[SF_CTR_PMTU_LOWERED], 1);
    CHECK_EQ(sf_tcp_info(cs, c, &info), 0);
    /* RFC 9293 3.7.1: the MTU less 60 (40) and the 12 of the TSopt */
    CHECK_EQ(info.snd_mss, v6 ? 1280 - 60 - 12 : 1000 - 40 - 12);
    CHECK(w.maxlen_after <= w.mtu);
    CHECK(w.maxlen_after >= w.mtu - 8);
    /* every later message for that segment: no longer in flight */
    uint64_t before = k->drops[SF_DROP_ICMP_NOT_IN_FLIGHT];
    icmp_again(&w, (uint32_t)w.mtu - 200, 0);
    CHECK_EQ(k->drops[SF_DROP_ICMP_NOT_IN_FLIGHT], before + 1);
    /* a bad checksum; another connection's 4-tuple */
    before = k->drops[SF_DROP_ICMP_BAD];
    icmp_again(&w, (uint32_t)w.mtu - 200, 1);
    icmp_again(&w, (uint32_t)w.mtu - 200, 2);
    CHECK_EQ(k->drops[SF_DROP_ICMP_BAD], before + 2);
    CHECK_EQ(k->c[SF_CTR_PMTU_LOWERED], 1);
    CHECK_EQ(sf_tcp_info(cs, c, &info), 0);
    CHECK_EQ(info.snd_mss, v6 ? 1280 - 60 - 12 : 1000 - 40 - 12);
    CHECK_EQ(info.state, SF_ESTABLISHED);
    teardown();
}

static void test_pmtu6(void) { pmtu(true); }
static void test_pmtu4(void) { pmtu(false); }

/* The floor (RFC 8201 4: never below 1280 for IPv6; synfin's 576 for
 * IPv4, RFC 5927 7.2's attack), and a message that would raise the
 * estimate: ignored (RFC 8201 4). */
static void pmtu_floor(bool v6)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st;
    int c, a;
    connect_pair(&w, v6 ? addr6(1, 80) : sf_addr4(IP4(1), 80), &c, &a);
    w.mtu = v6 ? 1280 : 576; /* a router at the floor itself */
    transfer(&w, c, a, 3000);
    w.mtu = 0;
    const struct sf_counters *k = sf_stack_counters(cs);
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(cs, c, &info), 0);
    CHECK_EQ(info.snd_mss, v6 ? 1280 - 60 - 12 : 576 - 40 - 12);
    /* a higher MTU for a segment in flight: ignored. The segment: one
     * byte just sent, the last datagram host 0 queued */
    CHECK_EQ(sf_send(cs, c, "x", 1, 0), 1);
    CHECK(w.n > 0);
    memcpy(w.big, w.q[w.n - 1].buf, w.q[w.n - 1].len);
    w.big_len = w.q[w.n - 1].len;
    uint64_t before = k->drops[SF_DROP_ICMP_MTU_IGNORED];
    icmp_again(&w, 1500, 0);
    CHECK_EQ(k->drops[SF_DROP_ICMP_MTU_IGNORED], before + 1);
    /* and a lower one than the floor, for it: the floor again, ignored */
    icmp_again(&w, 200, 0);
    CHECK_EQ(k->drops[SF_DROP_ICMP_MTU_IGNORED], before + 2);
    CHECK_EQ(k->c[SF_CTR_PMTU_LOWERED], 1);
    run(&w, now + SF_SEC);
    teardown();
}

static void test_pmtu_floor6(void) { pmtu_floor(true); }
static void test_pmtu_floor4(void) { pmtu_floor(false); }

static const struct check_case cases[] = {
    CHECK_CASE(test_pmtu6),
    CHECK_CASE(test_pmtu4),
    CHECK_CASE(test_pmtu_floor6),
    CHECK_CASE(test_pmtu_floor4),
    CHECK_CASE(test_lifecycle6),
    CHECK_CASE(test_dual_stack),
    CHECK_CASE(test_v6only),
    CHECK_CASE(test_mapped_connect),
    CHECK_CASE(test_syncookie6),
    CHECK_CASE(test_errors),
};

int main(int argc, char **argv) { return CHECK_MAIN(argc, argv, cases); }
