/* The tun2socks UDP relay (tools/synfin/t2s/udp.c) with fake loop
 * callbacks: the "TUN" is a list of captured datagrams, the "epoll" a list
 * of registered fds that the test polls itself. Destinations and the
 * SOCKS5 server are sockets of this process on loopback (allow_loopback),
 * so nothing leaves the host; the SOCKS5 server is driven step by step
 * from the test. */
#include "check.h"
#include "synfin/wire.h"
#include "t2s/socks5.h"
#include "t2s/udp.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define S 1000000000ull

/* ---------------------------------------------------------- the fakes */

#define MAXREG 8192
struct fake {
    int fds[MAXREG];
    uint32_t ev[MAXREG];
    int nfd;
    int adds, dels;
    uint8_t last[70000];
    size_t last_len;
    int writes;
};

static void f_tun_write(void *ctx, const uint8_t *d, size_t len)
{
    struct fake *f = ctx;
    memcpy(f->last, d, len);
    f->last_len = len;
    f->writes++;
}

static int f_fd_add(void *ctx, int fd, uint32_t events)
{
    struct fake *f = ctx;
    if (f->nfd >= MAXREG)
        return -ENOSPC;
    f->fds[f->nfd] = fd;
    f->ev[f->nfd++] = events;
    f->adds++;
    return 0;
}

static void f_fd_del(void *ctx, int fd)
{
    struct fake *f = ctx;
    for (int i = 0; i < f->nfd; i++)
        if (f->fds[i] == fd) {
            f->fds[i] = f->fds[--f->nfd];
            f->ev[i] = f->ev[f->nfd];
            break;
        }
    f->dels++;
}

static bool registered(const struct fake *f, int fd)
{
    for (int i = 0; i < f->nfd; i++)
        if (f->fds[i] == fd)
            return true;
    return false;
}

static struct t2s_udp_cfg base_cfg(struct fake *f)
{
    memset(f, 0, sizeof *f);
    struct t2s_udp_cfg c = {0};
    c.ctx = f;
    c.tun_write = f_tun_write;
    c.fd_add = f_fd_add;
    c.fd_del = f_fd_del;
    c.default_route = T2S_UDP_DIRECT;
    c.allow_loopback = true;
    c.seed = 42;
    return c;
}

/* Waits (at most 2 s) until fd has what `want` asks (POLLIN, POLLOUT) and
 * hands the loop's event to the relay. */
static void ev(struct t2s_udp *u, int fd, short want, uint64_t now)
{
    struct pollfd p = {fd, (short)(want | POLLRDHUP), 0};
    poll(&p, 1, 2000);
    uint32_t e = 0;
    if (p.revents & POLLIN)
        e |= EPOLLIN;
    if (p.revents & POLLOUT)
        e |= EPOLLOUT;
    if (p.revents & POLLRDHUP)
        e |= EPOLLRDHUP;
    if (p.revents & POLLHUP)
        e |= EPOLLHUP;
    if (p.revents & POLLERR)
        e |= EPOLLERR;
    t2s_udp_event(u, fd, e, now);
}

/* ------------------------------------------------------------ helpers */

#define CLIENT4 0xc6120001u /* 198.18.0.1, the client behind the TUN */

/* A UDP datagram from the client (src:sport) to dst:dport, IPv4. */
static size_t dgram4(uint8_t *b, uint32_t src, uint16_t sport, uint32_t dst,
                     uint16_t dport, const char *payload)
{
    struct sf_ipv4 ip = {0};
    ip.src = src, ip.dst = dst;
    struct sf_udp ud = {sport, dport, (const uint8_t *)payload,
                        strlen(payload)};
    return sf_udp_emit(b, 2000, &ip, &ud);
}

static size_t dgram6(uint8_t *b, const uint8_t src[16], uint16_t sport,
                     const uint8_t dst[16], uint16_t dport,
                     const char *payload)
{
    struct sf_ipv6 ip = {0};
    memcpy(ip.src, src, 16);
    memcpy(ip.dst, dst, 16);
    struct sf_udp ud = {sport, dport, (const uint8_t *)payload,
                        strlen(payload)};
    return sf_udp_emit6(b, 2000, &ip, &ud);
}

/* A UDP socket bound to 127.0.0.1 (or ::1) on a kernel-chosen port. */
static int udp_server(int family, uint16_t *port)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        sl = sizeof *in6;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
        abort();
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* The captured datagram toward the client, parsed (either version). */
static enum sf_drop last_parsed(const struct fake *f, struct sf_udp *ud,
                                uint8_t src[16], uint8_t dst[16])
{
    if (f->last_len && f->last[0] >> 4 == 6) {
        struct sf_ipv6 ip;
        enum sf_drop d = sf_ipv6_parse(f->last, f->last_len, &ip);
        if (d == SF_DROP_NONE)
            d = sf_udp6_parse(&ip, ud);
        memcpy(src, ip.src, 16);
        memcpy(dst, ip.dst, 16);
        return d;
    }
    struct sf_ipv4 ip;
    enum sf_drop d = sf_ipv4_parse(f->last, f->last_len, &ip);
    if (d == SF_DROP_NONE)
        d = sf_udp_parse(&ip, ud);
    uint32_t s = htonl(ip.src), t = htonl(ip.dst);
    memcpy(src, &s, 4);
    memcpy(dst, &t, 4);
    return d;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* -------------------------------------------------------------- direct */

/* A datagram goes out from one relay socket to the destination; the
 * answer comes back to the client from the address that answered; a
 * second destination from the same source shares the socket and its
 * answer carries that destination's address. */
static void test_direct_roundtrip4(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t p1, p2;
    int s1 = udp_server(AF_INET, &p1), s2 = udp_server(AF_INET, &p2);
    uint8_t b[2000], r[100];
    size_t n = dgram4(b, CLIENT4, 5000, 0x7f000001u, p1, "hello");
    CHECK_EQ(t2s_udp_input(u, 1 * S, b, n), 0);
    CHECK_EQ(f.nfd, 1);
    CHECK(f.ev[0] & EPOLLIN);
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    CHECK_EQ(recvfrom(s1, r, sizeof r, 0, (struct sockaddr *)&from, &fl), 5);
    CHECK(memcmp(r, "hello", 5) == 0);
    CHECK_EQ(sendto(s1, "world!", 6, 0, (struct sockaddr *)&from, fl), 6);
    ev(u, f.fds[0], POLLIN, 2 * S);
    CHECK_EQ(f.writes, 1);
    struct sf_udp ud;
    uint8_t src[16], dst[16];
    CHECK_EQ(last_parsed(&f, &ud, src, dst), SF_DROP_NONE);
    CHECK(memcmp(src, "\x7f\0\0\x01", 4) == 0);
    CHECK(memcmp(dst, "\xc6\x12\0\x01", 4) == 0);
    CHECK_EQ(ud.sport, p1);
    CHECK_EQ(ud.dport, 5000);
    CHECK_EQ(ud.len, 6);
    CHECK(memcmp(ud.payload, "world!", 6) == 0);

    n = dgram4(b, CLIENT4, 5000, 0x7f000001u, p2, "second");
    CHECK_EQ(t2s_udp_input(u, 3 * S, b, n), 0);
    CHECK_EQ(f.adds, 1); /* the same association, the same socket */
    fl = sizeof from;
    CHECK_EQ(recvfrom(s2, r, sizeof r, 0, (struct sockaddr *)&from, &fl), 6);
    CHECK_EQ(sendto(s2, "x", 1, 0, (struct sockaddr *)&from, fl), 1);
    ev(u, f.fds[0], POLLIN, 4 * S);
    CHECK_EQ(last_parsed(&f, &ud, src, dst), SF_DROP_NONE);
    CHECK_EQ(ud.sport, p2);
    const struct t2s_udp_stats *st = t2s_udp_stats(u);
    CHECK_EQ(st->assoc_opened, 1);
    CHECK_EQ(st->dgrams_out, 2);
    CHECK_EQ(st->bytes_out, 11);
    CHECK_EQ(st->dgrams_in, 2);
    CHECK_EQ(st->bytes_in, 7);
    t2s_udp_free(u);
    CHECK_EQ(f.nfd, 0);
    close(s1);
    close(s2);
}

/* IPv6: sf_ipv6_parse refuses ::1 as a destination, so the datagram goes
 * to 2001:db8::1 on a socket bound to lo (SO_BINDTODEVICE), where it
 * cannot leave the host: the send fails (counted) with no route, and the
 * client gets an ICMPv6 destination unreachable (RFC 4443 3.1, code 0 no
 * route or 3 address unreachable, as the kernel said) from 2001:db8::1
 * quoting its datagram (icmp_local; before, nothing: the client waited
 * for a timeout); the socket stays, and an answer sent to it from ::1
 * comes back to the client from [::1]. */
static void test_direct_roundtrip6(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.bind_dev = "lo";
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t p;
    int s = udp_server(AF_INET6, &p);
    static const uint8_t client[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
                                       0,    0, 0, 0, 0, 0, 0, 7};
    static const uint8_t doc[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                    0,    0,    0,    0,    0, 0, 0, 1};
    uint8_t lo[16] = {0};
    lo[15] = 1;
    uint8_t b[2000];
    size_t n = dgram6(b, client, 6000, doc, 53, "q6");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 1);
    CHECK_EQ(t2s_udp_stats(u)->drop_send, 1);
    CHECK_EQ(f.nfd, 1);
    CHECK_EQ(t2s_udp_stats(u)->icmp_local, 1);
    CHECK_EQ(f.writes, 1);
    CHECK_EQ(f.last_len, 48 + n);
    CHECK_EQ(f.last[6], 58);
    CHECK_EQ(f.last[40], 1);
    CHECK(f.last[41] == 0 || f.last[41] == 3);
    CHECK(memcmp(f.last + 8, doc, 16) == 0);     /* from the destination */
    CHECK(memcmp(f.last + 24, client, 16) == 0); /* to the client */
    CHECK(memcmp(f.last + 48, b, n) == 0);       /* its datagram quoted */
    struct sockaddr_in6 me;
    socklen_t ml = sizeof me;
    CHECK_EQ(getsockname(f.fds[0], (struct sockaddr *)&me, &ml), 0);
    CHECK_EQ(me.sin6_family, AF_INET6);
    me.sin6_addr = in6addr_loopback;
    CHECK_EQ(sendto(s, "a6", 2, 0, (struct sockaddr *)&me, ml), 2);
    ev(u, f.fds[0], POLLIN, 2 * S);
    struct sf_udp ud;
    uint8_t src[16], dst[16];
    CHECK_EQ(f.writes, 2);
    CHECK_EQ(f.last[0] >> 4, 6);
    CHECK_EQ(last_parsed(&f, &ud, src, dst), SF_DROP_IP6_BAD_SRC);
    /* (parse refuses ::1 as a source too: check the bytes themselves) */
    CHECK(memcmp(f.last + 8, lo, 16) == 0);
    CHECK(memcmp(f.last + 24, client, 16) == 0);
    CHECK_EQ(f.last[6], 17);
    CHECK_EQ(f.last[40] << 8 | f.last[41], p);
    CHECK_EQ(f.last[42] << 8 | f.last[43], 6000);
    CHECK_EQ(f.last_len, 50);
    CHECK(memcmp(f.last + 48, "a6", 2) == 0);
    t2s_udp_free(u);
    close(s);
}

/* One association per source (address, port): three sources, three
 * sockets; the same three again, none more. */
static void test_one_assoc_per_source(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t p;
    int s = udp_server(AF_INET, &p);
    uint8_t b[2000];
    for (int round = 0; round < 2; round++) {
        size_t n = dgram4(b, CLIENT4, 7000, 0x7f000001u, p, "a");
        t2s_udp_input(u, S, b, n);
        n = dgram4(b, CLIENT4, 7001, 0x7f000001u, p, "b");
        t2s_udp_input(u, S, b, n);
        n = dgram4(b, CLIENT4 + 1, 7000, 0x7f000001u, p, "c");
        t2s_udp_input(u, S, b, n);
    }
    CHECK_EQ(t2s_udp_stats(u)->assoc_now, 3);
    CHECK_EQ(t2s_udp_stats(u)->assoc_opened, 3);
    CHECK_EQ(f.nfd, 3);
    CHECK_EQ(t2s_udp_stats(u)->dgrams_out, 6);
    t2s_udp_free(u);
    close(s);
}

/* At max_assoc, a new source closes the least recently used association
 * (counted); a source used again is not the one closed. */
static void test_lru_eviction(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.max_assoc = 4;
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t p;
    int s = udp_server(AF_INET, &p);
    uint8_t b[2000];
    for (uint16_t i = 0; i < 4; i++) {
        size_t n = dgram4(b, CLIENT4, (uint16_t)(100 + i), 0x7f000001u, p, "x");
        t2s_udp_input(u, (1 + i) * S, b, n);
    }
    /* source 100 again: now the most recent; 101 is the oldest */
    size_t n = dgram4(b, CLIENT4, 100, 0x7f000001u, p, "x");
    t2s_udp_input(u, 10 * S, b, n);
    CHECK_EQ(t2s_udp_stats(u)->assoc_evicted, 0);
    n = dgram4(b, CLIENT4, 200, 0x7f000001u, p, "x");
    t2s_udp_input(u, 11 * S, b, n);
    CHECK_EQ(t2s_udp_stats(u)->assoc_evicted, 1);
    CHECK_EQ(t2s_udp_stats(u)->assoc_now, 4);
    CHECK_EQ(f.nfd, 4);
    CHECK_EQ(f.dels, 1);
    /* 100 is still there (no new association), 101 is gone (a new one) */
    uint64_t opened = t2s_udp_stats(u)->assoc_opened;
    n = dgram4(b, CLIENT4, 100, 0x7f000001u, p, "x");
    t2s_udp_input(u, 12 * S, b, n);
    CHECK_EQ(t2s_udp_stats(u)->assoc_opened, opened);
    n = dgram4(b, CLIENT4, 101, 0x7f000001u, p, "x");
    t2s_udp_input(u, 13 * S, b, n);
    CHECK_EQ(t2s_udp_stats(u)->assoc_opened, opened + 1);
    CHECK_EQ(t2s_udp_stats(u)->assoc_evicted, 2);
    t2s_udp_free(u);
    close(s);
}

/* An association idle for idle_ns is closed; advance() names the time;
 * a reply counts as activity. */
static void test_idle_timeout(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.idle_ns = 30 * S;
    struct t2s_udp *u = t2s_udp_new(&c);
    CHECK_EQ(t2s_udp_advance(u, 0), UINT64_MAX);
    uint16_t p;
    int s = udp_server(AF_INET, &p);
    uint8_t b[2000], r[16];
    size_t n = dgram4(b, CLIENT4, 9000, 0x7f000001u, p, "x");
    t2s_udp_input(u, 100 * S, b, n);
    n = dgram4(b, CLIENT4, 9001, 0x7f000001u, p, "y");
    t2s_udp_input(u, 110 * S, b, n);
    CHECK_EQ(t2s_udp_advance(u, 120 * S), 130 * S);
    /* a reply to 9000 at 125 s keeps it */
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    recvfrom(s, r, sizeof r, 0, (struct sockaddr *)&from, &fl);
    sendto(s, "r", 1, 0, (struct sockaddr *)&from, fl);
    int dfd = -1;
    for (int i = 0; i < f.nfd; i++) {
        struct sockaddr_in me;
        socklen_t ml = sizeof me;
        getsockname(f.fds[i], (struct sockaddr *)&me, &ml);
        if (me.sin_port == from.sin_port)
            dfd = f.fds[i];
    }
    CHECK(dfd >= 0);
    ev(u, dfd, POLLIN, 125 * S);
    CHECK_EQ(f.writes, 1);
    CHECK_EQ(t2s_udp_advance(u, 125 * S), 140 * S);
    CHECK_EQ(t2s_udp_advance(u, 140 * S), 155 * S);
    CHECK_EQ(t2s_udp_stats(u)->assoc_idle, 1);
    CHECK_EQ(t2s_udp_stats(u)->assoc_now, 1);
    CHECK(registered(&f, dfd));
    CHECK_EQ(t2s_udp_advance(u, 155 * S), UINT64_MAX);
    CHECK_EQ(t2s_udp_stats(u)->assoc_idle, 2);
    CHECK_EQ(f.nfd, 0);
    CHECK_EQ(t2s_udp_stats(u)->fds_now, 0);
    t2s_udp_free(u);
    close(s);
}

/* An association that has only sent to port 53 (a resolver's query) is
 * closed after dns_idle_ns, 30 s by default; one datagram elsewhere and
 * it has the full idle_ns. Eviction takes the older of the two lists. */
static void test_dns_idle(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.max_assoc = 3;
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t p;
    int s = udp_server(AF_INET, &p);
    uint8_t b[2000];
    /* 1000: DNS only; 1001: 53 then p; 1002: p only */
    size_t n = dgram4(b, CLIENT4, 1000, 0x7f000001u, 53, "q");
    t2s_udp_input(u, 100 * S, b, n);
    n = dgram4(b, CLIENT4, 1001, 0x7f000001u, 53, "q");
    t2s_udp_input(u, 101 * S, b, n);
    n = dgram4(b, CLIENT4, 1001, 0x7f000001u, p, "x");
    t2s_udp_input(u, 102 * S, b, n);
    n = dgram4(b, CLIENT4, 1002, 0x7f000001u, p, "x");
    t2s_udp_input(u, 103 * S, b, n);
    CHECK_EQ(t2s_udp_advance(u, 110 * S), 130 * S);
    CHECK_EQ(t2s_udp_advance(u, 130 * S), 162 * S);
    CHECK_EQ(t2s_udp_stats(u)->assoc_idle, 1);
    CHECK_EQ(t2s_udp_stats(u)->assoc_now, 2);
    /* a new DNS source at 140 s, then one more at 141 s: the table is
     * full (3), and the oldest of all is 1001 (102 s), in the other list */
    n = dgram4(b, CLIENT4, 1003, 0x7f000001u, 53, "q");
    t2s_udp_input(u, 140 * S, b, n);
    n = dgram4(b, CLIENT4, 1004, 0x7f000001u, 53, "q");
    t2s_udp_input(u, 141 * S, b, n);
    CHECK_EQ(t2s_udp_stats(u)->assoc_evicted, 1);
    uint64_t opened = t2s_udp_stats(u)->assoc_opened;
    n = dgram4(b, CLIENT4, 1002, 0x7f000001u, p, "x"); /* still there */
    t2s_udp_input(u, 142 * S, b, n);
    CHECK_EQ(t2s_udp_stats(u)->assoc_opened, opened);
    CHECK_EQ(t2s_udp_advance(u, 142 * S), 170 * S); /* 1003 at 140 + 30 */
    t2s_udp_free(u);
    close(s);
}

/* A loop may stamp a datagram with a later time than the one it then
 * passes to advance (the device read after its clock reading): nothing is
 * closed early. (Failed before advance compared sums: now - last
 * underflowed and every new association was closed as idle.) */
static void test_advance_older_now(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.idle_ns = 60 * S;
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t p;
    int s = udp_server(AF_INET, &p);
    uint8_t b[2000];
    size_t n = dgram4(b, CLIENT4, 9000, 0x7f000001u, p, "x");
    t2s_udp_input(u, 100 * S + 5, b, n);
    CHECK_EQ(t2s_udp_advance(u, 100 * S), 160 * S + 5);
    CHECK_EQ(t2s_udp_stats(u)->assoc_idle, 0);
    CHECK_EQ(t2s_udp_stats(u)->assoc_now, 1);
    t2s_udp_free(u);
    close(s);
}

/* Hostile datagrams from the TUN: each dropped and counted under its
 * reason, no association made. */
static void test_bad_input(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.allow_loopback = false;
    struct t2s_udp *u = t2s_udp_new(&c);
    uint8_t b[2000];
    CHECK_EQ(t2s_udp_input(u, S, b, 0), 1);
    CHECK_EQ(t2s_udp_input(u, S, (const uint8_t *)"\x45garbage", 8), 1);
    size_t n = dgram4(b, CLIENT4, 1, 0xc6120002u, 53, "abc");
    b[30] ^= 1; /* payload: bad checksum */
    CHECK_EQ(t2s_udp_input(u, S, b, n), 1);
    CHECK_EQ(t2s_udp_stats(u)->parse[SF_DROP_UDP_CSUM], 1);
    n = dgram4(b, CLIENT4, 1, 0xc6120002u, 53, "abc");
    CHECK_EQ(t2s_udp_input(u, S, b, n - 1), 1); /* truncated */
    CHECK_EQ(t2s_udp_stats(u)->drop_parse, 4);
    const uint32_t bad[] = {0xe00000fbu /* mDNS 224.0.0.251 */,
                            0xffffffffu, 0x7f000001u, 0x00000001u};
    for (size_t i = 0; i < 4; i++) {
        n = dgram4(b, CLIENT4, 1, bad[i], 53, "abc");
        CHECK_EQ(t2s_udp_input(u, S, b, n), 1);
    }
    CHECK_EQ(t2s_udp_stats(u)->drop_dst, 4);
    uint8_t ff02[16] = {0xff, 2}, one[16] = {0}, src6[16] = {0xfd};
    one[15] = 1, ff02[15] = 0xfb, src6[15] = 9;
    n = dgram6(b, src6, 1, ff02, 5353, "m");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 1);
    n = dgram6(b, src6, 1, one, 53, "l"); /* ::1: the IPv6 parse's */
    CHECK_EQ(t2s_udp_input(u, S, b, n), 1);
    CHECK_EQ(t2s_udp_stats(u)->parse[SF_DROP_IP6_BAD_DST], 1);
    CHECK_EQ(t2s_udp_stats(u)->drop_dst, 5);
    /* the default route is proxy, and there is no proxy */
    t2s_udp_free(u);
    c = base_cfg(&f);
    c.default_route = T2S_UDP_PROXY;
    u = t2s_udp_new(&c);
    n = dgram4(b, CLIENT4, 1, 0xc6120002u, 53, "abc");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 1);
    CHECK_EQ(t2s_udp_stats(u)->drop_no_proxy, 1);
    CHECK_EQ(t2s_udp_stats(u)->assoc_now, 0);
    CHECK_EQ(f.nfd, 0);
    t2s_udp_free(u);
}

/* The rule callback sees the destination; reject drops. */
static enum t2s_udp_route reject_53(void *ctx, const struct sockaddr *dst)
{
    (void)ctx;
    const struct sockaddr_in *in = (const struct sockaddr_in *)dst;
    return dst->sa_family == AF_INET && ntohs(in->sin_port) == 53
               ? T2S_UDP_REJECT
               : T2S_UDP_DIRECT;
}

static void test_rule_reject(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.route = reject_53;
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t p;
    int s = udp_server(AF_INET, &p);
    uint8_t b[2000];
    size_t n = dgram4(b, CLIENT4, 1, 0x7f000001u, 53, "abc");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 1);
    CHECK_EQ(t2s_udp_stats(u)->drop_rejected, 1);
    CHECK_EQ(f.nfd, 0);
    /* RFC 1122 3.2.2.1 / RFC 792: an ICMP port unreachable (type 3 code
     * 3) from the destination to the client, quoting the whole datagram,
     * both checksums right */
    CHECK_EQ(f.writes, 1);
    CHECK_EQ(f.last_len, 28 + n);
    CHECK_EQ(f.last[9], 1);
    CHECK_EQ(f.last[20], 3);
    CHECK_EQ(f.last[21], 3);
    CHECK(memcmp(f.last + 12, b + 16, 4) == 0);
    CHECK(memcmp(f.last + 16, b + 12, 4) == 0);
    CHECK(memcmp(f.last + 28, b, n) == 0);
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, f.last, 20)), 0);
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, f.last + 20, 8 + n)), 0);
    CHECK_EQ(t2s_udp_stats(u)->icmp_unreach, 1);
    /* RFC 4443 2.4(f), RFC 1812 4.3.2.8: at most 100 a second */
    for (int i = 0; i < 150; i++)
        t2s_udp_input(u, S + 1, b, n);
    CHECK_EQ(t2s_udp_stats(u)->icmp_unreach, 1 + 99);
    CHECK_EQ(t2s_udp_stats(u)->icmp_limited, 51);
    t2s_udp_input(u, 2 * S, b, n); /* the next second */
    CHECK_EQ(t2s_udp_stats(u)->icmp_unreach, 101);
    n = dgram4(b, CLIENT4, 1, 0x7f000001u, p, "abc");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 0);
    CHECK_EQ(f.nfd, 1);
    t2s_udp_free(u);
    close(s);
}

/* Waits (at most 2 s) until fd's error queue holds something. */
static bool wait_err(int fd)
{
    struct pollfd p = {fd, 0, 0};
    return poll(&p, 1, 2000) == 1 && (p.revents & POLLERR);
}

/* A direct destination whose port is closed answers with an ICMP port
 * unreachable (loopback: not rate-limited by the kernel): the relay
 * passes it on to the client (RFC 1122 3.2.2.1, RFC 792 type 3 code 3)
 * from the destination, quoting the client's datagram with its headers
 * rebuilt, both checksums right; the error pending on the socket does not
 * cost the next datagram, to another destination, its send. Before, the
 * error was never read (no IP_RECVERR) and the client waited for a
 * timeout. */
static void test_direct_port_unreach(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t closed, p;
    close(udp_server(AF_INET, &closed)); /* a port nobody has */
    int s = udp_server(AF_INET, &p);
    uint8_t b[2000], r[100];
    size_t n = dgram4(b, CLIENT4, 5000, 0x7f000001u, closed, "knock");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 0);
    CHECK_EQ(f.nfd, 1);
    CHECK(wait_err(f.fds[0]));
    /* the socket's pending error fails one send: retried */
    size_t n2 = dgram4(b + 1000, CLIENT4, 5000, 0x7f000001u, p, "live");
    CHECK_EQ(t2s_udp_input(u, S, b + 1000, n2), 0);
    CHECK_EQ(recv(s, r, sizeof r, 0), 4);
    CHECK_EQ(t2s_udp_stats(u)->drop_send, 0);
    ev(u, f.fds[0], POLLIN, S);
    CHECK_EQ(f.writes, 1);
    CHECK_EQ(f.last_len, 28 + n);
    CHECK_EQ(f.last[9], 1);
    CHECK_EQ(f.last[20], 3);
    CHECK_EQ(f.last[21], 3);
    CHECK(memcmp(f.last + 12, b + 16, 4) == 0); /* from the destination */
    CHECK(memcmp(f.last + 16, b + 12, 4) == 0); /* to the client */
    /* the quote: the client's IP header's addresses, its UDP header and
     * payload as it sent them (the IP id and checksum are rebuilt) */
    CHECK(memcmp(f.last + 28 + 12, b + 12, 8) == 0);
    CHECK(memcmp(f.last + 28 + 20, b + 20, n - 20) == 0);
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, f.last, 20)), 0);
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, f.last + 20, 8 + n)), 0);
    CHECK_EQ(t2s_udp_stats(u)->icmp_passed, 1);
    CHECK_EQ(t2s_udp_stats(u)->icmp_unreach, 0);
    /* read: no error left, nothing more written */
    ev(u, f.fds[0], 0, S);
    CHECK_EQ(f.writes, 1);
    /* the rate limit is the reject rule's: 100 a second */
    for (int i = 0; i < 105; i++) {
        t2s_udp_input(u, 2 * S, b, n);
        CHECK(wait_err(f.fds[0]));
        ev(u, f.fds[0], POLLIN, 2 * S);
    }
    CHECK_EQ(t2s_udp_stats(u)->icmp_passed, 1 + 100);
    CHECK_EQ(t2s_udp_stats(u)->icmp_limited, 5);
    t2s_udp_free(u);
    close(s);
}

/* Datagrams from 5,000 sources to 5,000 destinations with max_assoc 64:
 * never more than 64 associations and sockets, in the relay and in the
 * process. */
static void test_flood_bounded(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.max_assoc = 64;
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t p;
    int s = udp_server(AF_INET, &p);
    int before = open_fds();
    uint8_t b[2000];
    uint32_t max_now = 0;
    int max_fds = 0;
    for (uint32_t i = 0; i < 5000; i++) {
        /* distinct sources, destinations 127.0.x.y on distinct ports */
        size_t n = dgram4(b, CLIENT4 + i / 1000, (uint16_t)(10000 + i),
                          0x7f000000u | (i + 1), (uint16_t)(1000 + i), "f");
        t2s_udp_input(u, S + i, b, n);
        const struct t2s_udp_stats *st = t2s_udp_stats(u);
        if (st->assoc_now > max_now)
            max_now = st->assoc_now;
        if (i % 500 == 0) {
            int o = open_fds() - before;
            if (o > max_fds)
                max_fds = o;
        }
    }
    CHECK_EQ(max_now, 64);
    CHECK(max_fds <= 64);
    CHECK_EQ(t2s_udp_stats(u)->assoc_evicted, 5000 - 64);
    CHECK_EQ(t2s_udp_stats(u)->fds_now, 64);
    CHECK_EQ(f.nfd, 64);
    t2s_udp_free(u);
    CHECK_EQ(open_fds(), before);
    close(s);
}

/* --------------------------------------------------------------- proxy */

/* A SOCKS5 server in this process, driven by the test: a TCP listener and
 * a UDP relay socket on 127.0.0.1. */
struct fake_s5 {
    int lfd, cfd, ufd;
    uint16_t lport, uport;
    struct sockaddr_in peer; /* the relay's UDP socket, once heard */
};

static void s5_start(struct fake_s5 *s, struct t2s_udp_cfg *c)
{
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof in;
    bind(s->lfd, (struct sockaddr *)&in, sl);
    listen(s->lfd, 8);
    getsockname(s->lfd, (struct sockaddr *)&in, &sl);
    s->lport = ntohs(in.sin_port);
    memcpy(&c->proxy, &in, sizeof in);
    c->proxy_len = sizeof in;
    s->ufd = udp_server(AF_INET, &s->uport);
    s->cfd = -1;
}

static void s5_stop(struct fake_s5 *s)
{
    if (s->cfd >= 0)
        close(s->cfd);
    close(s->lfd);
    close(s->ufd);
}

/* Reads exactly n bytes from the control connection (2 s at most). */
static bool s5_read(struct fake_s5 *s, uint8_t *p, size_t n)
{
    struct timeval tv = {2, 0};
    setsockopt(s->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(s->cfd, p + got, n - got, 0);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* The relay's control connection is accepted; the greeting (no auth) and
 * the UDP ASSOCIATE request read and answered, BND 0.0.0.0:uport (the
 * server's own address). ctl is the control fd the relay registered. */
static void s5_handshake(struct fake_s5 *s, struct t2s_udp *u, int ctl,
                         uint64_t now)
{
    s->cfd = accept(s->lfd, NULL, NULL);
    ev(u, ctl, POLLOUT, now); /* connected: the greeting goes */
    uint8_t g[3], req[10];
    CHECK(s5_read(s, g, 3));
    CHECK(g[0] == 5 && g[1] == 1 && g[2] == 0);
    send(s->cfd, "\x05\x00", 2, 0);
    ev(u, ctl, POLLIN, now);
    CHECK(s5_read(s, req, 10));
    /* RFC 1928 section 4: VER 5, CMD 3 (UDP ASSOCIATE), RSV, ATYP 1,
     * 0.0.0.0:0 */
    CHECK(memcmp(req, "\x05\x03\x00\x01\0\0\0\0\0\0", 10) == 0);
    uint8_t rep[10] = {5, 0, 0, 1, 0, 0, 0, 0, (uint8_t)(s->uport >> 8),
                       (uint8_t)s->uport};
    send(s->cfd, rep, 10, 0);
    ev(u, ctl, POLLIN, now);
}

/* Receives one wrapped datagram at the relay; returns its length. */
static ssize_t s5_relay_recv(struct fake_s5 *s, uint8_t *p, size_t cap)
{
    socklen_t pl = sizeof s->peer;
    return recvfrom(s->ufd, p, cap, 0, (struct sockaddr *)&s->peer, &pl);
}

static void test_proxy_associate(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.default_route = T2S_UDP_PROXY;
    c.allow_loopback = false;
    c.queue_max = 3;
    struct fake_s5 s;
    s5_start(&s, &c);
    struct t2s_udp *u = t2s_udp_new(&c);
    uint8_t b[2000];
    /* four datagrams before the handshake: three queued, one dropped */
    for (int i = 0; i < 4; i++) {
        size_t n = dgram4(b, CLIENT4, 4000, 0xc6120909u, 53, "query");
        CHECK_EQ(t2s_udp_input(u, S, b, n), i < 3 ? 0 : 1);
    }
    CHECK_EQ(t2s_udp_stats(u)->queued_now, 3);
    CHECK_EQ(t2s_udp_stats(u)->drop_queue_full, 1);
    CHECK_EQ(f.nfd, 1); /* the control connection */
    CHECK(f.ev[0] & EPOLLET);
    int ctl = f.fds[0];
    s5_handshake(&s, u, ctl, 2 * S);
    CHECK_EQ(f.nfd, 2); /* and the relay socket */
    CHECK_EQ(t2s_udp_stats(u)->queued_now, 0);
    /* RFC 1928 section 7: RSV RSV FRAG ATYP DST.ADDR DST.PORT DATA */
    uint8_t r[2000];
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(s5_relay_recv(&s, r, sizeof r), 10 + 5);
        CHECK(memcmp(r, "\0\0\0\x01\xc6\x12\x09\x09\0\x35query", 15) == 0);
    }
    CHECK_EQ(t2s_udp_stats(u)->dgrams_out, 3);
    int pfd = f.fds[1];
    /* the answer, from 198.18.9.9:53 */
    const uint8_t ans[] = "\0\0\0\x01\xc6\x12\x09\x09\0\x35" "answer";
    sendto(s.ufd, ans, 16, 0, (struct sockaddr *)&s.peer, sizeof s.peer);
    ev(u, pfd, POLLIN, 3 * S);
    struct sf_udp ud;
    uint8_t src[16], dst[16];
    CHECK_EQ(f.writes, 1);
    CHECK_EQ(last_parsed(&f, &ud, src, dst), SF_DROP_NONE);
    CHECK(memcmp(src, "\xc6\x12\x09\x09", 4) == 0);
    CHECK(memcmp(dst, "\xc6\x12\0\x01", 4) == 0);
    CHECK_EQ(ud.sport, 53);
    CHECK_EQ(ud.dport, 4000);
    CHECK(ud.len == 6 && memcmp(ud.payload, "answer", 6) == 0);
    /* FRAG != 0: dropped (RFC 1928 section 7); a domain name as the
     * source, a short header, an IPv6 source to an IPv4 client: dropped */
    const uint8_t frag[] = "\0\0\x01\x01\xc6\x12\x09\x09\0\x35" "x";
    const uint8_t name[] = "\0\0\0\x03\x01z\0\x35" "x";
    const uint8_t shorty[] = "\0\0\0";
    uint8_t v6[23] = {0, 0, 0, 4, 0x20, 1, 0x0d, 0xb8};
    v6[20] = 0, v6[21] = 53, v6[22] = 'x';
    sendto(s.ufd, frag, 11, 0, (struct sockaddr *)&s.peer, sizeof s.peer);
    sendto(s.ufd, name, 9, 0, (struct sockaddr *)&s.peer, sizeof s.peer);
    sendto(s.ufd, shorty, 3, 0, (struct sockaddr *)&s.peer, sizeof s.peer);
    sendto(s.ufd, v6, 23, 0, (struct sockaddr *)&s.peer, sizeof s.peer);
    ev(u, pfd, POLLIN, 4 * S);
    CHECK_EQ(t2s_udp_stats(u)->drop_frag, 1);
    CHECK_EQ(t2s_udp_stats(u)->drop_socks_hdr, 2);
    CHECK_EQ(t2s_udp_stats(u)->drop_family, 1);
    CHECK_EQ(f.writes, 1);
    /* RFC 1928 section 7: the association ends with its TCP connection */
    close(s.cfd);
    s.cfd = -1;
    ev(u, ctl, POLLIN, 5 * S);
    CHECK_EQ(t2s_udp_stats(u)->assoc_proxy_closed, 1);
    CHECK_EQ(t2s_udp_stats(u)->assoc_now, 0);
    CHECK_EQ(f.nfd, 0);
    t2s_udp_free(u);
    s5_stop(&s);
}

/* cfg.pipeline: the greeting (X'02' alone), the credentials and the UDP
 * ASSOCIATE leave together, before any reply; the three replies in one
 * piece complete the handshake and the queued datagram goes out. */
static void test_proxy_pipeline(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.default_route = T2S_UDP_PROXY;
    c.allow_loopback = false;
    c.user = "al";
    c.pass = "pw";
    c.pipeline = false; /* turned on after: tun2socks learns it (flow.c pipe_good) */
    struct fake_s5 s;
    s5_start(&s, &c);
    struct t2s_udp *u = t2s_udp_new(&c);
    t2s_udp_set_pipeline(u, true);
    uint8_t b[2000];
    size_t n = dgram4(b, CLIENT4, 4000, 0xc6120909u, 53, "query");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 0);
    int ctl = f.fds[0];
    s.cfd = accept(s.lfd, NULL, NULL);
    ev(u, ctl, POLLOUT, S);
    uint8_t all[3 + 7 + 10];
    CHECK(s5_read(&s, all, sizeof all)); /* all of it before any answer */
    CHECK(memcmp(all, "\x05\x01\x02" "\x01\x02" "al" "\x02" "pw"
                      "\x05\x03\x00\x01\0\0\0\0\0\0", sizeof all) == 0);
    uint8_t rep[2 + 2 + 10] = {5, 2, 1, 0, 5, 0, 0, 1, 0, 0, 0, 0,
                               (uint8_t)(s.uport >> 8), (uint8_t)s.uport};
    send(s.cfd, rep, sizeof rep, 0);
    ev(u, ctl, POLLIN, S);
    CHECK_EQ(f.nfd, 2); /* the relay socket too: the handshake is done */
    uint8_t r[2000];
    CHECK_EQ(s5_relay_recv(&s, r, sizeof r), 10 + 5);
    CHECK_EQ(t2s_udp_stats(u)->dgrams_out, 1);
    t2s_udp_free(u);
    s5_stop(&s);
}

/* RFC 1929: credentials sent; rejected, the leg fails, its queue is
 * dropped, and for retry_ns the source's datagrams are dropped without a
 * new connection; after it, a new attempt. */
static void test_proxy_auth_fail_retry(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.default_route = T2S_UDP_PROXY;
    c.user = "alice";
    c.pass = "pw";
    c.retry_ns = 2 * S;
    struct fake_s5 s;
    s5_start(&s, &c);
    struct t2s_udp *u = t2s_udp_new(&c);
    uint8_t b[2000], g[4], a[16];
    size_t n = dgram4(b, CLIENT4, 4000, 0xc6120909u, 53, "q");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 0);
    int ctl = f.fds[0];
    s.cfd = accept(s.lfd, NULL, NULL);
    ev(u, ctl, POLLOUT, S);
    CHECK(s5_read(&s, g, 4));
    CHECK(memcmp(g, "\x05\x02\x00\x02", 4) == 0);
    send(s.cfd, "\x05\x02", 2, 0);
    ev(u, ctl, POLLIN, S);
    CHECK(s5_read(&s, a, 1 + 1 + 5 + 1 + 2));
    CHECK(memcmp(a, "\x01\x05" "alice\x02pw", 10) == 0);
    send(s.cfd, "\x01\x01", 2, 0); /* failure */
    ev(u, ctl, POLLIN, S);
    CHECK_EQ(t2s_udp_stats(u)->legs_failed, 1);
    CHECK_EQ(t2s_udp_stats(u)->drop_proxy_down, 1); /* the queued one */
    CHECK_EQ(f.nfd, 0);
    close(s.cfd);
    CHECK_EQ(t2s_udp_input(u, 2 * S, b, n), 1);
    CHECK_EQ(t2s_udp_stats(u)->drop_proxy_down, 2);
    CHECK_EQ(f.adds, 1);
    CHECK_EQ(t2s_udp_input(u, 3 * S, b, n), 0); /* retry_ns passed */
    CHECK_EQ(f.adds, 2);
    s.cfd = accept(s.lfd, NULL, NULL);
    t2s_udp_free(u);
    s5_stop(&s);
}

/* A server that accepts and never answers: the handshake times out at
 * handshake_ns (advance names the time), the queue is dropped. */
static void test_proxy_handshake_timeout(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.default_route = T2S_UDP_PROXY;
    c.handshake_ns = 5 * S;
    c.idle_ns = 100 * S;
    struct fake_s5 s;
    s5_start(&s, &c);
    struct t2s_udp *u = t2s_udp_new(&c);
    uint8_t b[2000];
    size_t n = dgram4(b, CLIENT4, 4000, 0xc6120909u, 5000, "q");
    t2s_udp_input(u, 10 * S, b, n);
    t2s_udp_input(u, 11 * S, b, n);
    s.cfd = accept(s.lfd, NULL, NULL);
    ev(u, f.fds[0], POLLOUT, 11 * S);
    CHECK_EQ(t2s_udp_advance(u, 12 * S), 15 * S);
    CHECK_EQ(t2s_udp_stats(u)->legs_failed, 0);
    CHECK_EQ(t2s_udp_advance(u, 15 * S), 111 * S);
    CHECK_EQ(t2s_udp_stats(u)->legs_failed, 1);
    CHECK_EQ(t2s_udp_stats(u)->drop_proxy_down, 2);
    CHECK_EQ(t2s_udp_stats(u)->queued_bytes_now, 0);
    CHECK_EQ(f.nfd, 0);
    t2s_udp_free(u);
    s5_stop(&s);
}

/* Garbage from the server instead of a method choice: the leg fails. */
static void test_proxy_garbage(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.default_route = T2S_UDP_PROXY;
    struct fake_s5 s;
    s5_start(&s, &c);
    struct t2s_udp *u = t2s_udp_new(&c);
    uint8_t b[2000], g[3];
    size_t n = dgram4(b, CLIENT4, 4000, 0xc6120909u, 53, "q");
    t2s_udp_input(u, S, b, n);
    int ctl = f.fds[0];
    s.cfd = accept(s.lfd, NULL, NULL);
    ev(u, ctl, POLLOUT, S);
    CHECK(s5_read(&s, g, 3));
    send(s.cfd, "HTTP/1.1 400", 12, 0);
    ev(u, ctl, POLLIN, S);
    CHECK_EQ(t2s_udp_stats(u)->legs_failed, 1);
    CHECK_EQ(f.nfd, 0);
    t2s_udp_free(u);
    s5_stop(&s);
}

/* The queued memory of all handshakes together stays under
 * queue_bytes_max: two sources' datagrams share it. */
static void test_proxy_queue_bytes(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.default_route = T2S_UDP_PROXY;
    c.queue_bytes_max = 2000;
    struct fake_s5 s;
    s5_start(&s, &c);
    struct t2s_udp *u = t2s_udp_new(&c);
    static char big[601];
    memset(big, 'b', 600);
    uint8_t b[2000];
    int ok = 0;
    for (int i = 0; i < 6; i++) {
        size_t n = dgram4(b, CLIENT4, (uint16_t)(4000 + i % 2), 0xc6120909u,
                          53, big);
        ok += t2s_udp_input(u, S, b, n) == 0;
    }
    CHECK_EQ(ok, 2); /* 2 x (600 + bookkeeping) fit in 2000, not 3 */
    CHECK_EQ(t2s_udp_stats(u)->drop_queue_full, 4);
    CHECK(t2s_udp_stats(u)->queued_bytes_now <= 2000);
    CHECK_EQ(t2s_udp_stats(u)->queued_now, 2);
    t2s_udp_free(u);
    CHECK_EQ(f.nfd, 0);
    s5_stop(&s);
}

/* The rule can split one source between direct and proxy: two legs. */
static enum t2s_udp_route by_port(void *ctx, const struct sockaddr *dst)
{
    (void)ctx;
    const struct sockaddr_in *in = (const struct sockaddr_in *)dst;
    return ntohs(in->sin_port) == 53 ? T2S_UDP_PROXY : T2S_UDP_DIRECT;
}

static void test_two_legs(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.route = by_port;
    struct fake_s5 s;
    s5_start(&s, &c);
    struct t2s_udp *u = t2s_udp_new(&c);
    uint16_t p;
    int srv = udp_server(AF_INET, &p);
    uint8_t b[2000], r[100];
    size_t n = dgram4(b, CLIENT4, 4000, 0xc6120909u, 53, "viaproxy");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 0);
    n = dgram4(b, CLIENT4, 4000, 0x7f000001u, p, "direct");
    CHECK_EQ(t2s_udp_input(u, S, b, n), 0);
    CHECK_EQ(recv(srv, r, sizeof r, 0), 6);
    CHECK_EQ(t2s_udp_stats(u)->assoc_now, 1);
    CHECK_EQ(f.nfd, 2);
    s5_handshake(&s, u, f.fds[0], 2 * S);
    CHECK_EQ(f.nfd, 3); /* direct, control, relay */
    CHECK_EQ(s5_relay_recv(&s, r, sizeof r), 10 + 8);
    CHECK(memcmp(r + 10, "viaproxy", 8) == 0);
    t2s_udp_free(u);
    CHECK_EQ(f.nfd, 0);
    s5_stop(&s);
    close(srv);
}

static void test_bad_cfg(void)
{
    struct fake f;
    struct t2s_udp_cfg c = base_cfg(&f);
    c.tun_write = NULL;
    CHECK(t2s_udp_new(&c) == NULL);
    c = base_cfg(&f);
    c.proxy_len = 16;
    c.proxy.ss_family = AF_UNIX;
    CHECK(t2s_udp_new(&c) == NULL);
    CHECK(t2s_udp_new(NULL) == NULL);
    CHECK(strcmp(t2s_udp_counter_name(T2S_UDP_C_drop_frag), "drop_frag") == 0);
    CHECK(strcmp(t2s_udp_counter_name(T2S_UDP_NCOUNTERS), "?") == 0);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_direct_roundtrip4),
    CHECK_CASE(test_direct_roundtrip6),
    CHECK_CASE(test_one_assoc_per_source),
    CHECK_CASE(test_lru_eviction),
    CHECK_CASE(test_idle_timeout),
    CHECK_CASE(test_dns_idle),
    CHECK_CASE(test_advance_older_now),
    CHECK_CASE(test_bad_input),
    CHECK_CASE(test_rule_reject),
    CHECK_CASE(test_direct_port_unreach),
    CHECK_CASE(test_flood_bounded),
    CHECK_CASE(test_proxy_associate),
    CHECK_CASE(test_proxy_pipeline),
    CHECK_CASE(test_proxy_auth_fail_retry),
    CHECK_CASE(test_proxy_handshake_timeout),
    CHECK_CASE(test_proxy_garbage),
    CHECK_CASE(test_proxy_queue_bytes),
    CHECK_CASE(test_two_legs),
    CHECK_CASE(test_bad_cfg),
};

int main(int argc, char **argv) { return CHECK_MAIN(argc, argv, cases); }
