/* Any-destination accept (issue 12, docs/transparent.md): a listener with
 * SF_IP_TRANSPARENT bound to the unspecified address and port 0 takes SYNs
 * to addresses the stack does not own, in both families; its per-SYN
 * filter accepts, refuses (RST, RFC 9293 3.10.7.1), drops or defers (held
 * until sf_syn_decide, or expired); more specific sockets win; SYN cookies
 * keep the destination. One stack, the peer's datagrams built by hand. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define MAXD 16
#define OWN4 0xc6120001u /* 198.18.0.1: the stack's */
#define PEER4 0xc6120002u /* 198.18.0.2: the client */
#define FAR4 0xc6130505u /* 198.19.5.5: not the stack's */
static const uint8_t own6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t peer6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t far6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0, 5};

/* What the stack sent, parsed. */
struct out {
    struct sf_addr src, dst; /* with the TCP ports */
    struct sf_tcp seg;
    uint8_t payload[64];
};

struct tb {
    struct sf_stack *st;
    uint8_t d[MAXD][2048];
    size_t len[MAXD];
    unsigned n;
    sf_time_t now;
    /* the filter */
    enum sf_syn_verdict verdict;
    unsigned asked;
    struct sf_syn_info last;
};

static void cap_out(void *ctx, const uint8_t *dgram, size_t len)
{
    struct tb *t = ctx;
    if (t->n < MAXD && len <= sizeof t->d[0]) {
        memcpy(t->d[t->n], dgram, len);
        t->len[t->n] = len;
    }
    t->n++;
}

static enum sf_syn_verdict filter(void *arg, const struct sf_syn_info *syn)
{
    struct tb *t = arg;
    t->asked++;
    t->last = *syn;
    return t->verdict;
}

/* Datagram i of those captured, parsed. */
static bool parse_out(struct tb *t, unsigned i, struct out *o)
{
    if (i >= t->n || i >= MAXD)
        return false;
    memset(o, 0, sizeof *o);
    const uint8_t *p;
    size_t plen;
    if (t->d[i][0] >> 4 == 6) {
        struct sf_ipv6 ip;
        if (sf_ipv6_parse(t->d[i], t->len[i], &ip) != SF_DROP_NONE ||
            sf_tcp6_parse(&ip, &o->seg) != SF_DROP_NONE)
            return false;
        o->src = sf_addr6(ip.src, o->seg.sport);
        o->dst = sf_addr6(ip.dst, o->seg.dport);
    } else {
        struct sf_ipv4 ip;
        if (sf_ipv4_parse(t->d[i], t->len[i], &ip) != SF_DROP_NONE ||
            sf_tcp_parse(&ip, &o->seg) != SF_DROP_NONE)
            return false;
        o->src = sf_addr4(ip.src, o->seg.sport);
        o->dst = sf_addr4(ip.dst, o->seg.dport);
    }
    p = o->seg.payload;
    plen = o->seg.len < sizeof o->payload ? o->seg.len : sizeof o->payload;
    if (p && plen)
        memcpy(o->payload, p, plen);
    return true;
}

/* The one datagram sent since the last call. */
static bool one_out(struct tb *t, struct out *o)
{
    bool ok = t->n == 1 && parse_out(t, 0, o);
    t->n = 0;
    return ok;
}

/* A segment from src to dst (either family; both the same). */
static void send_seg(struct tb *t, const struct sf_addr *src,
                     const struct sf_addr *dst, struct sf_tcp seg)
{
    uint8_t buf[512];
    size_t n;
    seg.sport = src->port;
    seg.dport = dst->port;
    if (src->family == SF_AF_INET6) {
        struct sf_ipv6 ip = {.proto = SF_IPPROTO_TCP_NUM, .hlim = 64};
        memcpy(ip.src, src->ip6, 16);
        memcpy(ip.dst, dst->ip6, 16);
        n = sf_emit6(buf, sizeof buf, &ip, &seg);
    } else {
        struct sf_ipv4 ip = {.src = src->ip, .dst = dst->ip,
                             .proto = SF_IPPROTO_TCP_NUM, .ttl = 64};
        n = sf_emit(buf, sizeof buf, &ip, &seg);
    }
    CHECK(n > 0);
    sf_stack_input(t->st, t->now, buf, n);
}

static struct sf_tcp syn_seg(uint32_t isn)
{
    struct sf_tcp s = {.seq = isn, .flags = SF_SYN, .win = 65535};
    s.opt.has_mss = true;
    s.opt.mss = 1400;
    return s;
}

static const struct sf_counters *ctr(struct tb *t)
{
    return sf_stack_counters(t->st);
}

static void tb_init(struct tb *t, unsigned syn_backlog, bool cookies)
{
    memset(t, 0, sizeof *t);
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = OWN4;
    memcpy(cfg.addr6, own6, 16);
    cfg.output = cap_out;
    cfg.output_ctx = t;
    cfg.syn_backlog = syn_backlog;
    cfg.syncookies = cookies;
    cfg.seed[0] = 7;
    t->now = 1 * SF_SEC;
    CHECK_EQ(sf_stack_create(&cfg, t->now, &t->st), 0);
}

/* The any-destination listener: :: port 0 (both families unless v6only),
 * or 0.0.0.0 port 0; with the filter when with_filter. */
static int any_listener(struct tb *t, int family, bool v6only,
                        bool with_filter)
{
    int one = 1, v6 = v6only;
    int l = sf_socket(t->st);
    CHECK(l >= 0);
    CHECK_EQ(sf_setsockopt(t->st, l, SF_IPPROTO_IP, SF_IP_TRANSPARENT, &one,
                           sizeof one), 0);
    struct sf_addr any = {.family = (uint8_t)family};
    if (family == SF_AF_INET6)
        CHECK_EQ(sf_setsockopt(t->st, l, SF_IPPROTO_IPV6, SF_IPV6_V6ONLY,
                               &v6, sizeof v6), 0);
    CHECK_EQ(sf_bind(t->st, l, &any), 0);
    CHECK_EQ(sf_listen(t->st, l, 64), 0);
    if (with_filter)
        CHECK_EQ(sf_listen_filter(t->st, l, filter, t), 0);
    return l;
}

static struct sf_addr a4(uint32_t ip, uint16_t port)
{
    return sf_addr4(ip, port);
}
static struct sf_addr a6(const uint8_t ip[16], uint16_t port)
{
    return sf_addr6(ip, port);
}

/* A handshake from cli to dst through listener l: SYN, the SYN,ACK from
 * dst, the ACK; returns the accepted descriptor and the stack's ISS. */
static int handshake(struct tb *t, int l, const struct sf_addr *cli,
                     const struct sf_addr *dst, uint32_t isn, uint32_t *iss)
{
    t->n = 0;
    send_seg(t, cli, dst, syn_seg(isn));
    struct out o;
    CHECK(one_out(t, &o));
    CHECK_EQ(o.seg.flags, SF_SYN | SF_ACK);
    CHECK(sf_addr_eq(&o.src, dst)); /* from the SYN's destination */
    CHECK(sf_addr_eq(&o.dst, cli));
    CHECK_EQ(o.seg.ack, isn + 1);
    *iss = o.seg.seq;
    struct sf_tcp ack = {.seq = isn + 1, .ack = o.seg.seq + 1,
                         .flags = SF_ACK, .win = 65535};
    send_seg(t, cli, dst, ack);
    CHECK_EQ(t->n, 0);
    struct sf_addr peer;
    int c = sf_accept(t->st, l, &peer);
    CHECK(c >= 0);
    return c;
}

/* Data both ways and an orderly close on accepted connection c (cli to
 * dst, the client's next sequence number isn + 1, ours iss + 1). */
static void exchange(struct tb *t, int c, const struct sf_addr *cli,
                     const struct sf_addr *dst, uint32_t isn, uint32_t iss)
{
    struct sf_tcp d = {.seq = isn + 1, .ack = iss + 1,
                       .flags = SF_ACK | SF_PSH, .win = 65535,
                       .payload = (const uint8_t *)"ping", .len = 4};
    t->n = 0;
    send_seg(t, cli, dst, d); /* demuxed by the 4-tuple */
    char buf[16];
    CHECK_EQ(sf_recv(t->st, c, buf, sizeof buf, 0), 4);
    CHECK(!memcmp(buf, "ping", 4));
    t->n = 0;
    CHECK_EQ(sf_send(t->st, c, "pong!", 5, 0), 5);
    struct out o;
    bool found = false;
    for (unsigned i = 0; i < t->n; i++)
        if (parse_out(t, i, &o) && o.seg.len == 5) {
            found = true;
            CHECK(sf_addr_eq(&o.src, dst)); /* leaves from dst */
            CHECK(sf_addr_eq(&o.dst, cli));
            CHECK(!memcmp(o.payload, "pong!", 5));
            CHECK_EQ(o.seg.seq, iss + 1);
        }
    CHECK(found);
    /* the client acknowledges and closes; we close */
    struct sf_tcp fin = {.seq = isn + 5, .ack = iss + 6,
                         .flags = SF_ACK | SF_FIN, .win = 65535};
    t->n = 0;
    send_seg(t, cli, dst, fin);
    CHECK_EQ(sf_recv(t->st, c, buf, sizeof buf, 0), 0);
    t->n = 0;
    CHECK_EQ(sf_close(t->st, c), 0);
    found = false;
    for (unsigned i = 0; i < t->n; i++)
        if (parse_out(t, i, &o) && (o.seg.flags & SF_FIN)) {
            found = true;
            CHECK(sf_addr_eq(&o.src, dst));
            CHECK_EQ(o.seg.seq, iss + 6);
        }
    CHECK(found);
    struct sf_tcp last = {.seq = isn + 6, .ack = iss + 7, .flags = SF_ACK,
                          .win = 65535};
    t->n = 0;
    send_seg(t, cli, dst, last); /* LAST_ACK -> CLOSED */
    CHECK_EQ(t->n, 0);
    CHECK_EQ(ctr(t)->conns_in_state[SF_LAST_ACK], 0);
    CHECK_EQ(ctr(t)->conns_in_state[SF_CLOSE_WAIT], 0);
}

/* IPv4 and IPv6 SYNs to addresses and ports the stack does not own reach
 * one dual-stack listener; each connection shows and uses its SYN's
 * destination; data and close work by the 4-tuple. */
static void test_accept_any_both_families(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    int l = any_listener(&t, SF_AF_INET6, false, false);
    struct sf_addr got;
    CHECK_EQ(sf_getsockname(t.st, l, &got), 0);
    CHECK_EQ(got.port, 0);
    int one;
    size_t len = sizeof one;
    CHECK_EQ(sf_getsockopt(t.st, l, SF_IPPROTO_IP, SF_IP_TRANSPARENT, &one,
                           &len), 0);
    CHECK_EQ(one, 1);

    struct sf_addr cli = a4(PEER4, 40000), dst = a4(FAR4, 443);
    uint32_t iss;
    int c = handshake(&t, l, &cli, &dst, 1000, &iss);
    CHECK_EQ(sf_getsockname(t.st, c, &got), 0);
    struct sf_addr mapped = sf_addr_to_v4mapped(&dst);
    CHECK(sf_addr_eq(&got, &mapped)); /* an IPv6 socket's IPv4 child */
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(t.st, c, &info), 0);
    CHECK(sf_addr_eq(&info.local, &mapped));
    CHECK_EQ(info.state, SF_ESTABLISHED);
    CHECK_EQ(sf_tcp_info_by_addr(t.st, &dst, &cli, &info), 0);
    CHECK_EQ(info.sd, c);
    exchange(&t, c, &cli, &dst, 1000, iss);

    /* another address and port, and IPv6 */
    struct sf_addr dst2 = a4(0xc6137f01u, 8080);
    int c2 = handshake(&t, l, &cli, &dst2, 5000, &iss);
    exchange(&t, c2, &cli, &dst2, 5000, iss);
    struct sf_addr cli6 = a6(peer6, 50000), dst6 = a6(far6, 22);
    int c6 = handshake(&t, l, &cli6, &dst6, 9000, &iss);
    CHECK_EQ(sf_getsockname(t.st, c6, &got), 0);
    CHECK(sf_addr_eq(&got, &dst6));
    exchange(&t, c6, &cli6, &dst6, 9000, iss);
    /* the stack's own address, on a port nobody listens on */
    struct sf_addr own = a4(OWN4, 7777);
    int c3 = handshake(&t, l, &cli, &own, 11000, &iss);
    exchange(&t, c3, &cli, &own, 11000, iss);
    CHECK_EQ(ctr(&t)->c[SF_CTR_PASSIVE_OPENS], 4);
    sf_stack_free(t.st);
}

/* 0.0.0.0 port 0 takes IPv4 only; :: with V6ONLY IPv6 only. What no
 * listener takes and is not the stack's is dropped as before (IP_ADDR),
 * unanswered. */
static void test_family_and_unclaimed(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    int l = any_listener(&t, SF_AF_INET, false, false);
    struct sf_addr cli6 = a6(peer6, 50000), dst6 = a6(far6, 22);
    send_seg(&t, &cli6, &dst6, syn_seg(1));
    CHECK_EQ(t.n, 0);
    CHECK_EQ(ctr(&t)->drops[SF_DROP_IP6_ADDR], 1);
    struct sf_addr cli = a4(PEER4, 40000), dst = a4(FAR4, 443);
    uint32_t iss;
    int c = handshake(&t, l, &cli, &dst, 1000, &iss);
    struct sf_addr got;
    CHECK_EQ(sf_getsockname(t.st, c, &got), 0);
    CHECK(sf_addr_eq(&got, &dst)); /* an IPv4 socket: plain IPv4 */
    /* the listener closes: the accepted connection lives on, found by
     * its 4-tuple; new SYNs to other addresses are not ours again */
    CHECK_EQ(sf_close(t.st, l), 0);
    exchange(&t, c, &cli, &dst, 1000, iss);
    t.n = 0;
    struct sf_addr dst2 = a4(FAR4, 444);
    send_seg(&t, &cli, &dst2, syn_seg(7));
    CHECK_EQ(t.n, 0);
    CHECK_EQ(ctr(&t)->drops[SF_DROP_IP_ADDR], 1);
    sf_stack_free(t.st);

    tb_init(&t, 256, true);
    any_listener(&t, SF_AF_INET6, true, false);
    send_seg(&t, &cli, &dst, syn_seg(1));
    CHECK_EQ(t.n, 0);
    CHECK_EQ(ctr(&t)->drops[SF_DROP_IP_ADDR], 1);
    t.n = 0;
    send_seg(&t, &cli6, &dst6, syn_seg(1));
    struct out o;
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_SYN | SF_ACK);
    CHECK(sf_addr_eq(&o.src, &dst6));
    sf_stack_free(t.st);
}

/* Without a transparent listener nothing changes: a SYN to an address not
 * the stack's is dropped (IP_ADDR), even with a listener on its port. */
static void test_plain_listener_not_transparent(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    int l = sf_socket(t.st);
    CHECK_EQ(sf_bind(t.st, l, &(struct sf_addr){.port = 80}), 0);
    CHECK_EQ(sf_listen(t.st, l, 8), 0);
    struct sf_addr cli = a4(PEER4, 40000), dst = a4(FAR4, 80);
    send_seg(&t, &cli, &dst, syn_seg(1));
    CHECK_EQ(t.n, 0);
    CHECK_EQ(ctr(&t)->drops[SF_DROP_IP_ADDR], 1);
    /* ... and with a transparent one elsewhere, the plain listener still
     * takes only its own address: the any-destination one gets the SYN */
    int any = any_listener(&t, SF_AF_INET6, false, false);
    uint32_t iss;
    int c = handshake(&t, any, &cli, &dst, 100, &iss);
    CHECK(c >= 0);
    CHECK_EQ(sf_accept(t.st, l, NULL), SF_EAGAIN);
    sf_stack_free(t.st);
}

/* A more specific socket wins: a listener on the stack's address and
 * port, a transparent listener on a port, an existing connection. */
static void test_specific_wins(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    int any = any_listener(&t, SF_AF_INET6, false, true);
    t.verdict = SF_SYN_ACCEPT;
    int l80 = sf_socket(t.st);
    CHECK_EQ(sf_bind(t.st, l80, &(struct sf_addr){.ip = OWN4, .port = 80}),
             0);
    CHECK_EQ(sf_listen(t.st, l80, 8), 0);
    int one = 1;
    int l9 = sf_socket(t.st);
    CHECK_EQ(sf_setsockopt(t.st, l9, SF_IPPROTO_IP, SF_IP_TRANSPARENT, &one,
                           sizeof one), 0);
    CHECK_EQ(sf_bind(t.st, l9, &(struct sf_addr){.port = 9000}), 0);
    CHECK_EQ(sf_listen(t.st, l9, 8), 0);
    /* a second any-destination listener: port 0 is taken */
    int l2 = sf_socket(t.st);
    CHECK_EQ(sf_setsockopt(t.st, l2, SF_IPPROTO_IP, SF_IP_TRANSPARENT, &one,
                           sizeof one), 0);
    CHECK_EQ(sf_bind(t.st, l2, &(struct sf_addr){0}), SF_EADDRINUSE);

    struct sf_addr cli = a4(PEER4, 40000);
    struct sf_addr own80 = a4(OWN4, 80), far9 = a4(FAR4, 9000);
    struct sf_addr far80 = a4(FAR4, 80);
    uint32_t iss;
    int c = handshake(&t, l80, &cli, &own80, 100, &iss);
    CHECK(c >= 0);
    CHECK_EQ(t.asked, 0); /* the any listener's filter never saw it */
    c = handshake(&t, l9, &cli, &far9, 200, &iss);
    CHECK(c >= 0);
    CHECK_EQ(t.asked, 0);
    /* not the stack's address: the plain listener on 80 is no match */
    int c80 = handshake(&t, any, &cli, &far80, 300, &iss);
    CHECK(c80 >= 0);
    CHECK_EQ(t.asked, 1);
    CHECK_EQ(sf_accept(t.st, l80, NULL), SF_EAGAIN);
    /* the connection's own segments reach it, not the listener */
    exchange(&t, c80, &cli, &far80, 300, iss);
    CHECK_EQ(t.asked, 1);
    sf_stack_free(t.st);
}

/* The filter sees each new SYN once, with its addresses; REFUSE answers
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (RFC 9293 3.10.7.1), DROP
 * nothing; both counted. */
static void test_refuse_and_drop(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    int l = any_listener(&t, SF_AF_INET6, false, true);
    struct sf_addr cli = a4(PEER4, 40000), dst = a4(FAR4, 443);
    t.verdict = SF_SYN_REFUSE;
    send_seg(&t, &cli, &dst, syn_seg(0xfffffff0u));
    struct out o;
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_RST | SF_ACK);
    CHECK_EQ(o.seg.seq, 0);
    CHECK_EQ(o.seg.ack, 0xfffffff1u);
    CHECK(sf_addr_eq(&o.src, &dst));
    CHECK(sf_addr_eq(&o.dst, &cli));
    CHECK_EQ(t.asked, 1);
    struct sf_addr m = sf_addr_to_v4mapped(&dst);
    CHECK(sf_addr_eq(&t.last.local, &m));
    m = sf_addr_to_v4mapped(&cli);
    CHECK(sf_addr_eq(&t.last.remote, &m));
    CHECK(!t.last.cookie);
    uint64_t id1 = t.last.id;
    CHECK(id1 != 0);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_REFUSED], 1);
    CHECK_EQ(ctr(&t)->drops[SF_DROP_SYN_FILTERED], 1);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    /* the client tries again: asked again (nothing was held) */
    t.verdict = SF_SYN_DROP;
    struct sf_addr cli6 = a6(peer6, 1234), dst6 = a6(far6, 53);
    send_seg(&t, &cli6, &dst6, syn_seg(77));
    CHECK_EQ(t.n, 0);
    CHECK_EQ(t.asked, 2);
    CHECK(sf_addr_eq(&t.last.local, &dst6));
    CHECK(sf_addr_eq(&t.last.remote, &cli6));
    CHECK(t.last.id > id1);
    send_seg(&t, &cli6, &dst6, syn_seg(77));
    CHECK_EQ(t.n, 0);
    CHECK_EQ(t.asked, 3);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DROPPED], 2);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    /* NULL: accept all again */
    CHECK_EQ(sf_listen_filter(t.st, l, NULL, NULL), 0);
    send_seg(&t, &cli6, &dst6, syn_seg(77));
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_SYN | SF_ACK);
    CHECK_EQ(t.asked, 3);
    sf_stack_free(t.st);
}

/* ------------------------------------------------------------ DEFER */

static int count_syn_rcvd(void *ctx, const struct sf_tcp_info *info)
{
    struct sf_addr *want = ctx;
    if (info->state == SF_SYN_RCVD && sf_addr_eq(&info->local, want))
        want->family |= 0x80; /* seen */
    return 0;
}

/* DEFER holds the SYN unanswered (ss shows it in SYN-RECV); the client's
 * retransmitted SYNs and other segments are absorbed, not re-asked;
 * sf_syn_decide(ACCEPT) sends the SYN,ACK and the handshake completes. */
static void test_defer_accept(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    int l = any_listener(&t, SF_AF_INET6, false, true);
    t.verdict = SF_SYN_DEFER;
    struct sf_addr cli = a4(PEER4, 40000), dst = a4(FAR4, 443);
    send_seg(&t, &cli, &dst, syn_seg(1000));
    CHECK_EQ(t.n, 0);
    CHECK_EQ(t.asked, 1);
    uint64_t id = t.last.id;
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DEFERRED], 1);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 1);
    struct sf_addr seen = dst;
    sf_stack_foreach(t.st, count_syn_rcvd, &seen);
    CHECK(seen.family & 0x80);
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info_by_addr(t.st, &dst, &cli, &info), 0);
    CHECK_EQ(info.state, SF_SYN_RCVD);
    CHECK_EQ(info.snd_nxt, info.iss); /* nothing sent */
    /* the client's SYN again, 1 s and 3 s later, and a stray ACK */
    t.now += 1 * SF_SEC;
    sf_stack_advance(t.st, t.now);
    send_seg(&t, &cli, &dst, syn_seg(1000));
    t.now += 2 * SF_SEC;
    sf_stack_advance(t.st, t.now);
    send_seg(&t, &cli, &dst, syn_seg(1000));
    struct sf_tcp stray = {.seq = 1001, .ack = 5, .flags = SF_ACK,
                           .win = 100};
    send_seg(&t, &cli, &dst, stray);
    CHECK_EQ(t.n, 0);
    CHECK_EQ(t.asked, 1);
    CHECK_EQ(ctr(&t)->drops[SF_DROP_SYN_DEFERRED], 3);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DEFERRED], 1);
    CHECK_EQ(sf_accept(t.st, l, NULL), SF_EAGAIN);
    /* the upstream connected: accept */
    CHECK_EQ(sf_syn_decide(t.st, id, SF_SYN_ACCEPT), 0);
    struct out o;
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_SYN | SF_ACK);
    CHECK(sf_addr_eq(&o.src, &dst));
    CHECK(sf_addr_eq(&o.dst, &cli));
    CHECK_EQ(o.seg.ack, 1001);
    CHECK(o.seg.opt.has_mss);
    uint32_t iss = o.seg.seq;
    CHECK_EQ(sf_syn_decide(t.st, id, SF_SYN_ACCEPT), SF_ENOENT);
    /* now an ordinary SYN_RCVD: its SYN,ACK is retransmitted on time */
    t.now += 1 * SF_SEC;
    sf_stack_advance(t.st, t.now);
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_SYN | SF_ACK);
    CHECK_EQ(o.seg.seq, iss);
    struct sf_tcp ack = {.seq = 1001, .ack = iss + 1, .flags = SF_ACK,
                         .win = 65535};
    send_seg(&t, &cli, &dst, ack);
    CHECK_EQ(t.n, 0);
    struct sf_addr peer;
    int c = sf_accept(t.st, l, &peer);
    CHECK(c >= 0);
    struct sf_addr got, m = sf_addr_to_v4mapped(&dst);
    CHECK_EQ(sf_getsockname(t.st, c, &got), 0);
    CHECK(sf_addr_eq(&got, &m));
    m = sf_addr_to_v4mapped(&cli);
    CHECK(sf_addr_eq(&peer, &m));
    exchange(&t, c, &cli, &dst, 1000, iss);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    sf_stack_free(t.st);
}

/* Deferred, then REFUSE: the RST a SYN to no listener gets (RFC 9293
 * 3.10.7.1), which a client in SYN-SENT accepts (its ACK acknowledges
 * the SYN, 3.10.7.3); then DROP: nothing; the client's next SYN is a new
 * one, asked again. IPv6 here. */
static void test_defer_refuse_drop(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    any_listener(&t, SF_AF_INET6, false, true);
    t.verdict = SF_SYN_DEFER;
    struct sf_addr cli = a6(peer6, 40000), dst = a6(far6, 443);
    send_seg(&t, &cli, &dst, syn_seg(0xfffffffeu));
    CHECK_EQ(t.n, 0);
    uint64_t id = t.last.id;
    CHECK(sf_addr_eq(&t.last.local, &dst));
    CHECK_EQ(sf_syn_decide(t.st, id, SF_SYN_REFUSE), 0);
    struct out o;
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_RST | SF_ACK);
    CHECK_EQ(o.seg.seq, 0);
    CHECK_EQ(o.seg.ack, 0xffffffffu);
    CHECK(sf_addr_eq(&o.src, &dst));
    CHECK(sf_addr_eq(&o.dst, &cli));
    CHECK_EQ(sf_syn_decide(t.st, id, SF_SYN_REFUSE), SF_ENOENT);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_REFUSED], 1);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    /* again, dropped this time */
    send_seg(&t, &cli, &dst, syn_seg(0xfffffffeu));
    CHECK_EQ(t.asked, 2);
    CHECK(t.last.id != id);
    id = t.last.id;
    CHECK_EQ(sf_syn_decide(t.st, id, SF_SYN_DROP), 0);
    CHECK_EQ(t.n, 0);
    CHECK_EQ(sf_syn_decide(t.st, id, SF_SYN_ACCEPT), SF_ENOENT);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DROPPED], 1);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    send_seg(&t, &cli, &dst, syn_seg(0xfffffffeu));
    CHECK_EQ(t.asked, 3); /* nothing held: a new SYN */
    /* DEFER again from sf_syn_decide: still held */
    CHECK_EQ(sf_syn_decide(t.st, t.last.id, SF_SYN_DEFER), 0);
    CHECK_EQ(t.n, 0);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 1);
    /* the client gives up with a RST at RCV.NXT: forgotten */
    struct sf_tcp rst = {.seq = 0xffffffffu, .flags = SF_RST};
    send_seg(&t, &cli, &dst, rst);
    CHECK_EQ(t.n, 0);
    CHECK_EQ(sf_syn_decide(t.st, t.last.id, SF_SYN_ACCEPT), SF_ENOENT);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    sf_stack_free(t.st);
}

/* sf_stack_abort_all with a SYN still held (SF_SYN_DEFER): refused as
 * sf_syn_decide's REFUSE would, <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>
 * (its SYN was never answered), and forgotten. */
static void test_defer_abort_all(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    any_listener(&t, SF_AF_INET6, false, true);
    t.verdict = SF_SYN_DEFER;
    struct sf_addr cli = a6(peer6, 40001), dst = a6(far6, 443);
    send_seg(&t, &cli, &dst, syn_seg(1000));
    CHECK_EQ(t.n, 0);
    uint64_t id = t.last.id;
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 1);
    CHECK_EQ(sf_stack_abort_all(t.st), 1);
    struct out o;
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_RST | SF_ACK);
    CHECK_EQ(o.seg.seq, 0);
    CHECK_EQ(o.seg.ack, 1001);
    CHECK(sf_addr_eq(&o.src, &dst));
    CHECK(sf_addr_eq(&o.dst, &cli));
    CHECK_EQ(sf_syn_decide(t.st, id, SF_SYN_ACCEPT), SF_ENOENT);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    CHECK_EQ(sf_stack_abort_all(t.st), 0);
    sf_stack_free(t.st);
}

/* An undecided SYN expires after cfg.syn_defer_timeout, silently and
 * counted; a RST out of place does not end it early. */
static void test_defer_expiry(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    any_listener(&t, SF_AF_INET, false, true);
    t.verdict = SF_SYN_DEFER;
    struct sf_addr cli = a4(PEER4, 40000), dst = a4(FAR4, 443);
    sf_time_t t0 = t.now;
    send_seg(&t, &cli, &dst, syn_seg(1000));
    uint64_t id = t.last.id;
    struct sf_tcp rst = {.seq = 5000, .flags = SF_RST};
    send_seg(&t, &cli, &dst, rst); /* not at RCV.NXT: ignored */
    CHECK(sf_stack_advance(t.st, t0 + 29 * SF_SEC) <= t0 + 30 * SF_SEC + SF_SEC);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DEFER_EXPIRED], 0);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 1);
    sf_stack_advance(t.st, t0 + 31 * SF_SEC);
    CHECK_EQ(t.n, 0);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DEFER_EXPIRED], 1);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    CHECK_EQ(sf_syn_decide(t.st, id, SF_SYN_ACCEPT), SF_ENOENT);
    sf_stack_free(t.st);

    /* a shorter timeout from the configuration */
    memset(&t, 0, sizeof t);
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = OWN4;
    cfg.output = cap_out;
    cfg.output_ctx = &t;
    cfg.syn_defer_timeout = 2 * SF_SEC;
    t.now = 1 * SF_SEC;
    CHECK_EQ(sf_stack_create(&cfg, t.now, &t.st), 0);
    any_listener(&t, SF_AF_INET, false, true);
    t.verdict = SF_SYN_DEFER;
    send_seg(&t, &cli, &dst, syn_seg(1000));
    sf_stack_advance(t.st, t.now + 1500 * SF_MSEC);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DEFER_EXPIRED], 0);
    sf_stack_advance(t.st, t.now + 2100 * SF_MSEC);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DEFER_EXPIRED], 1);
    CHECK_EQ(t.n, 0);
    sf_stack_free(t.st);
}

/* Deferred SYNs fill the SYN queue (syn_backlog); with it full and
 * cookies on, the filter is asked with cookie=true and its DEFER is a
 * DROP (counted); an ACCEPT gets a cookie, and the ACK that returns it
 * makes a connection with the SYN's destination (from the ACK's IP
 * header, RFC 4987 3.6). Cookies off: a full queue drops unasked. */
static void test_defer_queue_and_cookies(void)
{
    struct tb t;
    tb_init(&t, 2, true);
    int l = any_listener(&t, SF_AF_INET6, false, true);
    t.verdict = SF_SYN_DEFER;
    struct sf_addr cli = a4(PEER4, 40000), cli2 = a4(PEER4, 40001);
    struct sf_addr dst = a4(FAR4, 443), dst2 = a4(FAR4 + 1, 443);
    send_seg(&t, &cli, &dst, syn_seg(100));
    uint64_t id1 = t.last.id;
    send_seg(&t, &cli2, &dst, syn_seg(200));
    CHECK(!t.last.cookie);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DEFERRED], 2);
    struct sf_addr cli3 = a4(PEER4, 40002);
    send_seg(&t, &cli3, &dst2, syn_seg(300));
    CHECK_EQ(t.asked, 3);
    CHECK(t.last.cookie);
    CHECK_EQ(t.n, 0);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DEFER_COOKIE], 1);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYN_DEFERRED], 2);
    t.verdict = SF_SYN_ACCEPT;
    send_seg(&t, &cli3, &dst2, syn_seg(300));
    struct out o;
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_SYN | SF_ACK);
    CHECK(sf_addr_eq(&o.src, &dst2));
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYNCOOKIES_SENT], 1);
    struct sf_tcp ack = {.seq = 301, .ack = o.seg.seq + 1, .flags = SF_ACK,
                         .win = 65535};
    send_seg(&t, &cli3, &dst2, ack);
    CHECK_EQ(ctr(&t)->c[SF_CTR_SYNCOOKIES_OK], 1);
    int c = sf_accept(t.st, l, NULL);
    CHECK(c >= 0);
    struct sf_addr got, m = sf_addr_to_v4mapped(&dst2);
    CHECK_EQ(sf_getsockname(t.st, c, &got), 0);
    CHECK(sf_addr_eq(&got, &m));
    exchange(&t, c, &cli3, &dst2, 300, o.seg.seq);
    /* the deferred ones are still there to decide */
    CHECK_EQ(sf_syn_decide(t.st, id1, SF_SYN_ACCEPT), 0);
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_SYN | SF_ACK);
    CHECK(sf_addr_eq(&o.src, &dst));
    CHECK(sf_addr_eq(&o.dst, &cli));
    /* the listener closes: the one still deferred gets a RST its
     * SYN-SENT client accepts (ACK of its SYN) */
    t.n = 0;
    CHECK_EQ(sf_close(t.st, l), 0);
    bool rst200 = false;
    for (unsigned i = 0; i < t.n; i++)
        if (parse_out(&t, i, &o) && (o.seg.flags & SF_RST) &&
            sf_addr_eq(&o.dst, &cli2) && (o.seg.flags & SF_ACK) &&
            o.seg.ack == 201)
            rst200 = true;
    CHECK(rst200);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    sf_stack_free(t.st);

    tb_init(&t, 1, false);
    any_listener(&t, SF_AF_INET6, false, true);
    t.verdict = SF_SYN_DEFER;
    send_seg(&t, &cli, &dst, syn_seg(100));
    send_seg(&t, &cli2, &dst, syn_seg(200));
    CHECK_EQ(t.asked, 1);
    CHECK_EQ(t.n, 0);
    CHECK_EQ(ctr(&t)->drops[SF_DROP_SYNQ_FULL], 1);
    sf_stack_free(t.st);
}

/* A SYN-queue entry keeps its 4-tuple: a listener opened on its port
 * while it waits does not take its segments. */
static void test_request_survives_new_listener(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    int any = any_listener(&t, SF_AF_INET6, false, true);
    t.verdict = SF_SYN_DEFER;
    struct sf_addr cli = a4(PEER4, 40000), own = a4(OWN4, 8000);
    send_seg(&t, &cli, &own, syn_seg(500));
    uint64_t id = t.last.id;
    int l = sf_socket(t.st);
    CHECK_EQ(sf_bind(t.st, l, &(struct sf_addr){.ip = OWN4, .port = 8000}),
             0);
    CHECK_EQ(sf_listen(t.st, l, 8), 0);
    send_seg(&t, &cli, &own, syn_seg(500)); /* absorbed, not a new SYN */
    CHECK_EQ(t.n, 0);
    CHECK_EQ(t.asked, 1);
    CHECK_EQ(sf_syn_decide(t.st, id, SF_SYN_ACCEPT), 0);
    struct out o;
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_SYN | SF_ACK);
    struct sf_tcp ack = {.seq = 501, .ack = o.seg.seq + 1, .flags = SF_ACK,
                         .win = 65535};
    send_seg(&t, &cli, &own, ack);
    CHECK_EQ(t.n, 0); /* no RST from the new listener */
    CHECK_EQ(sf_accept(t.st, l, NULL), SF_EAGAIN);
    int c = sf_accept(t.st, any, NULL);
    CHECK(c >= 0);
    exchange(&t, c, &cli, &own, 500, o.seg.seq);
    sf_stack_free(t.st);
}

/* Many deferred SYNs (the id table grows), decided out of order. */
static void test_defer_many(void)
{
    struct tb t;
    tb_init(&t, 1000, true);
    int l = any_listener(&t, SF_AF_INET6, false, true);
    t.verdict = SF_SYN_DEFER;
    enum { N = 300 };
    static uint64_t ids[N];
    for (unsigned i = 0; i < N; i++) {
        struct sf_addr cli = a4(PEER4, (uint16_t)(20000 + i));
        struct sf_addr dst = a4(FAR4 + i, (uint16_t)(1 + i));
        send_seg(&t, &cli, &dst, syn_seg(i * 1000));
        ids[i] = t.last.id;
    }
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], N);
    CHECK_EQ(t.n, 0);
    unsigned accepted = 0;
    for (unsigned k = 0; k < N; k++) {
        unsigned i = (k * 7) % N; /* 7 is prime to 300 */
        enum sf_syn_verdict v = (enum sf_syn_verdict)(i % 3);
        CHECK_EQ(sf_syn_decide(t.st, ids[i], v), 0);
        accepted += v == SF_SYN_ACCEPT;
    }
    CHECK_EQ(accepted, N / 3);
    for (unsigned i = 0; i < N; i++)
        CHECK_EQ(sf_syn_decide(t.st, ids[i], SF_SYN_DROP), SF_ENOENT);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], N / 3);
    CHECK_EQ(t.n, N - N / 3); /* SYN,ACKs and RSTs; drops send nothing */
    CHECK_EQ(sf_close(t.st, l), 0);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_SYN_RCVD], 0);
    sf_stack_free(t.st);
}

/* ------------------------------------------------------- two stacks */

/* A client stack whose datagrams, to whatever address, all reach the
 * server stack (the TUN's routing), and back. */
#define QMAX 512
struct q {
    uint8_t d[QMAX][1600];
    size_t len[QMAX];
    unsigned n, lost;
};
static struct q q_to_srv, q_to_cli;

static void q_out(void *ctx, const uint8_t *dgram, size_t len)
{
    struct q *q = ctx;
    if (q->n < QMAX && len <= sizeof q->d[0]) {
        memcpy(q->d[q->n], dgram, len);
        q->len[q->n++] = len;
    } else {
        q->lost++;
    }
}

static void q_deliver(struct q *q, struct sf_stack *to, sf_time_t now)
{
    static struct q tmp;
    tmp.n = q->n;
    for (unsigned i = 0; i < q->n; i++) {
        memcpy(tmp.d[i], q->d[i], q->len[i]);
        tmp.len[i] = q->len[i];
    }
    q->n = 0;
    for (unsigned i = 0; i < tmp.n; i++)
        sf_stack_input(to, now, tmp.d[i], tmp.len[i]);
}

struct two {
    struct tb srv; /* the any-destination side, with the filter */
    struct sf_stack *cli;
};

static void two_pump(struct two *w)
{
    for (int i = 0; i < 50 && (q_to_srv.n || q_to_cli.n); i++) {
        q_deliver(&q_to_srv, w->srv.st, w->srv.now);
        q_deliver(&q_to_cli, w->cli, w->srv.now);
    }
}

static void two_tick(struct two *w)
{
    w->srv.now += 1 * SF_MSEC;
    sf_stack_advance(w->srv.st, w->srv.now);
    sf_stack_advance(w->cli, w->srv.now);
    two_pump(w);
}

static void two_init(struct two *w)
{
    memset(w, 0, sizeof *w);
    memset(&q_to_srv, 0, sizeof q_to_srv);
    memset(&q_to_cli, 0, sizeof q_to_cli);
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = OWN4;
    memcpy(cfg.addr6, own6, 16);
    cfg.output = q_out;
    cfg.output_ctx = &q_to_cli;
    cfg.seed[0] = 1;
    w->srv.now = 1 * SF_SEC;
    CHECK_EQ(sf_stack_create(&cfg, w->srv.now, &w->srv.st), 0);
    cfg.addr = PEER4;
    memcpy(cfg.addr6, peer6, 16);
    cfg.output_ctx = &q_to_srv;
    cfg.seed[0] = 2;
    CHECK_EQ(sf_stack_create(&cfg, w->srv.now, &w->cli), 0);
}

static uint8_t pat(uint64_t i, unsigned k)
{
    return (uint8_t)(i * 7u + k + (i >> 10));
}

/* Both directions at once, n bytes each, then both shut down. */
static void two_transfer(struct two *w, int csd, int ssd, uint64_t n)
{
    uint64_t sent[2] = {0}, rcvd[2] = {0};
    bool shut[2] = {false, false}, eof[2] = {false, false}, bad = false;
    int sds[2] = {csd, ssd};
    struct sf_stack *sts[2] = {w->cli, w->srv.st};
    uint8_t buf[8192];
    for (int round = 0; round < 20000 && !(eof[0] && eof[1]); round++) {
        for (int k = 0; k < 2; k++) {
            while (sent[k] < n) {
                size_t m = n - sent[k] < sizeof buf ? (size_t)(n - sent[k])
                                                    : sizeof buf;
                for (size_t i = 0; i < m; i++)
                    buf[i] = pat(sent[k] + i, (unsigned)k);
                long r = sf_send(sts[k], sds[k], buf, m, 0);
                if (r <= 0)
                    break;
                sent[k] += (uint64_t)r;
            }
            if (sent[k] == n && !shut[k]) {
                CHECK_EQ(sf_shutdown(sts[k], sds[k], SF_SHUT_WR), 0);
                shut[k] = true;
            }
            for (;;) { /* what the other side (1 - k) sent */
                long r = sf_recv(sts[k], sds[k], buf, sizeof buf, 0);
                if (r == 0)
                    eof[k] = true;
                if (r <= 0)
                    break;
                for (long i = 0; i < r; i++)
                    bad |= buf[i] != pat(rcvd[k] + (uint64_t)i,
                                         (unsigned)(1 - k));
                rcvd[k] += (uint64_t)r;
            }
        }
        two_tick(w);
    }
    CHECK(!bad);
    CHECK_EQ(rcvd[0], n);
    CHECK_EQ(rcvd[1], n);
    CHECK(eof[0] && eof[1]);
    CHECK_EQ(q_to_srv.lost + q_to_cli.lost, 0);
}

/* A real client (another synfin stack) connects to addresses that are
 * not the server's, over both families: deferred and accepted, the
 * handshake with every option on (RFC 7323, SACK), 300 KB each way at
 * once, half-closes; refused: the client's connect() fails with
 * ECONNREFUSED (RFC 9293 3.10.7.3: a RST acknowledging the SYN). */
static void test_two_stacks(void)
{
    static struct two w;
    two_init(&w);
    int l = any_listener(&w.srv, SF_AF_INET6, false, true);
    w.srv.verdict = SF_SYN_DEFER;
    struct sf_addr dst = a4(FAR4, 443);
    int s = sf_socket(w.cli);
    CHECK_EQ(sf_connect(w.cli, s, &dst), SF_EINPROGRESS);
    two_tick(&w);
    CHECK_EQ(w.srv.asked, 1);
    CHECK_EQ(sf_connect(w.cli, s, &dst), SF_EALREADY);
    struct sf_addr cl;
    CHECK_EQ(sf_getsockname(w.cli, s, &cl), 0);
    struct sf_addr m = sf_addr_to_v4mapped(&cl);
    CHECK(sf_addr_eq(&w.srv.last.remote, &m));
    CHECK_EQ(sf_syn_decide(w.srv.st, w.srv.last.id, SF_SYN_ACCEPT), 0);
    two_tick(&w);
    CHECK_EQ(sf_connect(w.cli, s, &dst), 0);
    int c = sf_accept(w.srv.st, l, NULL);
    CHECK(c >= 0);
    struct sf_addr got;
    CHECK_EQ(sf_getsockname(w.srv.st, c, &got), 0);
    m = sf_addr_to_v4mapped(&dst);
    CHECK(sf_addr_eq(&got, &m));
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(w.srv.st, c, &info), 0);
    CHECK(info.ts_ok && info.wscale_ok);
    two_transfer(&w, s, c, 300000);
    CHECK_EQ(sf_close(w.cli, s), 0);
    CHECK_EQ(sf_close(w.srv.st, c), 0);
    for (int i = 0; i < 100; i++)
        two_tick(&w);

    /* refused upstream: the client sees "connection refused" */
    struct sf_addr dst2 = a4(FAR4 + 9, 25);
    s = sf_socket(w.cli);
    CHECK_EQ(sf_connect(w.cli, s, &dst2), SF_EINPROGRESS);
    two_tick(&w);
    CHECK_EQ(sf_syn_decide(w.srv.st, w.srv.last.id, SF_SYN_REFUSE), 0);
    two_tick(&w);
    CHECK_EQ(sf_connect(w.cli, s, &dst2), SF_ECONNREFUSED);
    CHECK_EQ(sf_close(w.cli, s), 0);

    /* IPv6, accepted at once */
    w.srv.verdict = SF_SYN_ACCEPT;
    struct sf_addr dst6 = a6(far6, 8443);
    s = sf_socket(w.cli);
    CHECK_EQ(sf_connect(w.cli, s, &dst6), SF_EINPROGRESS);
    two_tick(&w);
    CHECK_EQ(sf_connect(w.cli, s, &dst6), 0);
    c = sf_accept(w.srv.st, l, NULL);
    CHECK(c >= 0);
    CHECK_EQ(sf_getsockname(w.srv.st, c, &got), 0);
    CHECK(sf_addr_eq(&got, &dst6));
    two_transfer(&w, s, c, 100000);
    CHECK_EQ(w.srv.asked, 3);
    sf_stack_free(w.cli);
    sf_stack_free(w.srv.st);
}

/* A connection to a foreign address that we closed first sits in
 * TIME_WAIT under its 4-tuple; a new SYN beyond its RCV.NXT opens a new
 * incarnation through the listener, whose filter decides it (RFC 9293
 * 3.6.1, RFC 1122 4.2.2.13): asked once, refused here with a RST. */
static void test_time_wait_new_incarnation(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    int l = any_listener(&t, SF_AF_INET6, false, true);
    t.verdict = SF_SYN_ACCEPT;
    struct sf_addr cli = a4(PEER4, 40000), dst = a4(FAR4, 443);
    uint32_t iss;
    int c = handshake(&t, l, &cli, &dst, 1000, &iss);
    CHECK_EQ(t.asked, 1);
    t.n = 0;
    CHECK_EQ(sf_close(t.st, c), 0); /* our FIN first */
    struct out o;
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_FIN | SF_ACK);
    CHECK(sf_addr_eq(&o.src, &dst));
    struct sf_tcp fin = {.seq = 1001, .ack = iss + 2,
                         .flags = SF_FIN | SF_ACK, .win = 65535};
    send_seg(&t, &cli, &dst, fin);
    CHECK(one_out(&t, &o)); /* the ACK of its FIN */
    CHECK_EQ(o.seg.flags, SF_ACK);
    CHECK_EQ(ctr(&t)->conns_in_state[SF_TIME_WAIT], 1);
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info_by_addr(t.st, &dst, &cli, &info), 0);
    CHECK_EQ(info.state, SF_TIME_WAIT);
    /* a retransmitted FIN is answered by the record, not the listener */
    send_seg(&t, &cli, &dst, fin);
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_ACK);
    CHECK_EQ(t.asked, 1);
    /* a new SYN, beyond RCV.NXT */
    t.verdict = SF_SYN_REFUSE;
    send_seg(&t, &cli, &dst, syn_seg(900000));
    CHECK_EQ(t.asked, 2);
    CHECK(one_out(&t, &o));
    CHECK_EQ(o.seg.flags, SF_RST | SF_ACK);
    CHECK_EQ(o.seg.ack, 900001);
    CHECK(sf_addr_eq(&o.src, &dst));
    CHECK_EQ(ctr(&t)->conns_in_state[SF_TIME_WAIT], 0);
    /* and accepted the next time */
    t.verdict = SF_SYN_ACCEPT;
    c = handshake(&t, l, &cli, &dst, 2000000, &iss);
    CHECK(c >= 0);
    CHECK_EQ(t.asked, 3);
    sf_stack_free(t.st);
}

static void test_api_errors(void)
{
    struct tb t;
    tb_init(&t, 256, true);
    int one = 1;
    int s = sf_socket(t.st);
    CHECK_EQ(sf_bind(t.st, s, &(struct sf_addr){.port = 5}), 0);
    /* only before bind */
    CHECK_EQ(sf_setsockopt(t.st, s, SF_IPPROTO_IP, SF_IP_TRANSPARENT, &one,
                           sizeof one), SF_EINVAL);
    CHECK_EQ(sf_setsockopt(t.st, s, SF_IPPROTO_IP, 99, &one, sizeof one),
             SF_ENOPROTOOPT);
    CHECK_EQ(sf_listen_filter(t.st, 99, filter, &t), SF_EBADF);
    CHECK_EQ(sf_syn_decide(t.st, 12345, SF_SYN_ACCEPT), SF_ENOENT);
    CHECK_EQ(sf_syn_decide(t.st, 1, (enum sf_syn_verdict)9), SF_EINVAL);
    /* bound to port 0 for any destination, it connects nowhere */
    int a = sf_socket(t.st);
    CHECK_EQ(sf_setsockopt(t.st, a, SF_IPPROTO_IP, SF_IP_TRANSPARENT, &one,
                           sizeof one), 0);
    CHECK_EQ(sf_bind(t.st, a, &(struct sf_addr){0}), 0);
    struct sf_addr peer = a4(PEER4, 80);
    CHECK_EQ(sf_connect(t.st, a, &peer), SF_EINVAL);
    sf_stack_free(t.st);
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = OWN4;
    cfg.output = cap_out;
    CHECK_EQ(cfg.syn_defer_timeout, 30 * SF_SEC);
    cfg.syn_defer_timeout = 0;
    const char *why = sf_stack_cfg_check(&cfg);
    CHECK(why && strstr(why, "syn_defer_timeout"));
    cfg.syn_defer_timeout = 2 * 3600 * SF_SEC;
    CHECK(sf_stack_cfg_check(&cfg) != NULL);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_accept_any_both_families),
    CHECK_CASE(test_family_and_unclaimed),
    CHECK_CASE(test_plain_listener_not_transparent),
    CHECK_CASE(test_specific_wins),
    CHECK_CASE(test_refuse_and_drop),
    CHECK_CASE(test_api_errors),
    CHECK_CASE(test_defer_accept),
    CHECK_CASE(test_defer_refuse_drop),
    CHECK_CASE(test_defer_abort_all),
    CHECK_CASE(test_defer_expiry),
    CHECK_CASE(test_defer_queue_and_cookies),
    CHECK_CASE(test_defer_many),
    CHECK_CASE(test_request_survives_new_listener),
    CHECK_CASE(test_two_stacks),
    CHECK_CASE(test_time_wait_new_incarnation),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
