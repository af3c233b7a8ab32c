/* TCP datagrams of either IP version for the tools (see dgram.h). */
#include "io/dgram.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t lo6[16] = {[15] = 1};

/* A capture on a loopback interface holds ::1, which no stack may accept
 * from a wire (RFC 4291 2.5.3) and sf_ipv6_parse drops, but the tools
 * show. Parses a copy with ::1 as 1:: (the same 16-bit ones' complement
 * sum, so the TCP checksum still holds), then puts ::1 back. */
static enum sf_drop loopback6(const uint8_t *d, size_t len, struct dgram *g,
                              enum sf_drop e)
{
    bool s = len >= 40 && !memcmp(d + 8, lo6, 16);
    bool t = len >= 40 && !memcmp(d + 24, lo6, 16);
    uint8_t *c = s || t ? malloc(len) : NULL;
    if (!c)
        return e;
    memcpy(c, d, len);
    static const uint8_t one[16] = {0, 1}; /* 1:: */
    if (s)
        memcpy(c + 8, one, 16);
    if (t)
        memcpy(c + 24, one, 16);
    struct sf_ipv6 ip;
    if (!(e = sf_ipv6_parse(c, len, &ip)) && !(e = sf_tcp6_parse(&ip, &g->t))) {
        g->src = sf_addr6(s ? lo6 : ip.src, g->t.sport);
        g->dst = sf_addr6(t ? lo6 : ip.dst, g->t.dport);
        g->ttl = ip.hlim;
        g->flow = ip.flow;
        /* the payload, in d at the offset it had in the copy */
        g->t.payload = d + (g->t.payload - c);
    }
    free(c);
    return e;
}

enum sf_drop dgram_parse(const uint8_t *d, size_t len, struct dgram *g)
{
    memset(g, 0, sizeof *g);
    enum sf_drop e;
    if (len >= 1 && d[0] >> 4 == 6) {
        struct sf_ipv6 ip;
        g->v6 = true;
        e = sf_ipv6_parse(d, len, &ip);
        if (e == SF_DROP_IP6_BAD_SRC || e == SF_DROP_IP6_BAD_DST)
            return loopback6(d, len, g, e);
        if (e || (e = sf_tcp6_parse(&ip, &g->t)))
            return e;
        g->src = sf_addr6(ip.src, g->t.sport);
        g->dst = sf_addr6(ip.dst, g->t.dport);
        g->ttl = ip.hlim;
        g->flow = ip.flow;
        return SF_DROP_NONE;
    }
    struct sf_ipv4 ip;
    if ((e = sf_ipv4_parse(d, len, &ip)) || (e = sf_tcp_parse(&ip, &g->t)))
        return e;
    g->src = sf_addr4(ip.src, g->t.sport);
    g->dst = sf_addr4(ip.dst, g->t.dport);
    g->ttl = ip.ttl;
    g->id = ip.id;
    return SF_DROP_NONE;
}

size_t dgram_emit(uint8_t *buf, size_t cap, const struct sf_addr *src,
                  const struct sf_addr *dst, const struct sf_tcp *t)
{
    if (src->family != dst->family)
        return 0;
    if (src->family == SF_AF_INET6) {
        struct sf_ipv6 ip = {.hlim = 64};
        memcpy(ip.src, src->ip6, 16);
        memcpy(ip.dst, dst->ip6, 16);
        return sf_emit6(buf, cap, &ip, t);
    }
    struct sf_ipv4 ip = {.src = src->ip, .dst = dst->ip, .ttl = 64};
    return sf_emit(buf, cap, &ip, t);
}
