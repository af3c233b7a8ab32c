/* libFuzzer harness for src/wire: arbitrary bytes as an IPv4+TCP datagram
 * and as an IPv6+TCP datagram (extension headers and all). Whatever parses
 * is emitted again and re-parsed; the two parses must agree field by
 * field, and a second emit must give identical bytes. The same bytes, as a
 * string, go through sf_ip_parse (whatever it accepts must be the
 * canonical dotted quad sf_addr_fmt writes back) and sf_ip6_parse
 * (whatever it accepts must come back from sf_ip6_fmt's text to the same
 * address, and that text must be a fixed point). */
#include "synfin/wire.h"

#include <stdlib.h>
#include <string.h>

static void need(int cond)
{
    if (!cond)
        abort();
}

static void same_opts(const struct sf_tcp_opts *x, const struct sf_tcp_opts *y)
{
    need(x->has_mss == y->has_mss && (!x->has_mss || x->mss == y->mss));
    need(x->has_wscale == y->has_wscale &&
         (!x->has_wscale || x->wscale == y->wscale));
    need(x->sack_ok == y->sack_ok);
    need(x->has_ts == y->has_ts &&
         (!x->has_ts || (x->ts_val == y->ts_val && x->ts_ecr == y->ts_ecr)));
    need(x->nsack == y->nsack && x->nsack <= 4);
    need(memcmp(x->sack, y->sack, sizeof(uint32_t) * 2 * x->nsack) == 0);
}

static void same_seg(const struct sf_tcp *a, const struct sf_tcp *b)
{
    need(a->sport == b->sport && a->dport == b->dport);
    need(a->seq == b->seq && a->ack == b->ack && a->flags == b->flags);
    need(a->win == b->win && a->urp == b->urp && a->len == b->len);
    need(a->len == 0 || memcmp(a->payload, b->payload, a->len) == 0);
    same_opts(&a->opt, &b->opt);
}

static void roundtrip(const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    static uint8_t out[70000], again[70000];
    size_t n = sf_emit(out, sizeof out, ip, seg);
    need(n == 40 + sf_tcp_opts_len(&seg->opt) + seg->len);
    struct sf_ipv4 ip2;
    struct sf_tcp seg2;
    need(sf_ipv4_parse(out, n, &ip2) == SF_DROP_NONE);
    need(sf_tcp_parse(&ip2, &seg2) == SF_DROP_NONE);
    need(ip2.src == ip->src && ip2.dst == ip->dst && ip2.tos == ip->tos);
    need(ip2.id == ip->id && ip2.ttl == (ip->ttl ? ip->ttl : 64));
    same_seg(seg, &seg2);
    size_t n2 = sf_emit(again, sizeof again, &ip2, &seg2);
    need(n2 == n && memcmp(out, again, n) == 0);
}

static void ip_string(const uint8_t *data, size_t size)
{
    char s[64], back[32];
    if (size >= sizeof s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    uint32_t ip;
    if (sf_ip_parse(s, &ip) != 0)
        return;
    struct sf_addr a = {.ip = ip, .port = 0};
    sf_addr_fmt(&a, back, sizeof back);
    need(strlen(back) == strlen(s) + 2 && memcmp(back, s, strlen(s)) == 0);
}

static void roundtrip6(const struct sf_ipv6 *ip, const struct sf_tcp *seg)
{
    static uint8_t out[70000], again[70000];
    size_t n = sf_emit6(out, sizeof out, ip, seg);
    need(n == 60 + sf_tcp_opts_len(&seg->opt) + seg->len);
    struct sf_ipv6 ip2;
    struct sf_tcp seg2;
    need(sf_ipv6_parse(out, n, &ip2) == SF_DROP_NONE);
    need(sf_tcp6_parse(&ip2, &seg2) == SF_DROP_NONE);
    need(memcmp(ip2.src, ip->src, 16) == 0 && memcmp(ip2.dst, ip->dst, 16) == 0);
    need(ip2.tclass == ip->tclass && ip2.flow == ip->flow);
    need(ip2.hlim == (ip->hlim ? ip->hlim : 64));
    need(ip2.proto == SF_IPPROTO_TCP_NUM && ip2.nexthdrs == 0);
    need(ip2.hdr_len == SF_IPV6_HDR_LEN);
    same_seg(seg, &seg2);
    size_t n2 = sf_emit6(again, sizeof again, &ip2, &seg2);
    need(n2 == n && memcmp(out, again, n) == 0);
}

static void ip6_string(const uint8_t *data, size_t size)
{
    char s[80], back[SF_IP6_STRLEN], back2[SF_IP6_STRLEN];
    if (size >= sizeof s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    uint8_t a[16], a2[16];
    if (sf_ip6_parse(s, a) != 0)
        return;
    sf_ip6_fmt(a, back, sizeof back);
    need(strlen(back) < SF_IP6_STRLEN);
    need(sf_ip6_parse(back, a2) == 0 && memcmp(a, a2, 16) == 0);
    sf_ip6_fmt(a2, back2, sizeof back2);
    need(strcmp(back, back2) == 0);
}

static void v4(const uint8_t *data, size_t size)
{
    struct sf_ipv4 ip;
    struct sf_tcp seg;
    if (sf_ipv4_parse(data, size, &ip) != SF_DROP_NONE)
        return;
    need(ip.payload >= data && ip.payload + ip.payload_len <= data + size);
    if (sf_tcp_parse(&ip, &seg) != SF_DROP_NONE)
        return;
    need(seg.payload >= ip.payload &&
         seg.payload + seg.len == ip.payload + ip.payload_len);
    need(!((seg.flags & SF_SYN) && (seg.flags & SF_RST)));
    need(seg.sport != 0 && seg.dport != 0);
    roundtrip(&ip, &seg);
}

static void v6(const uint8_t *data, size_t size)
{
    struct sf_ipv6 ip;
    struct sf_tcp seg;
    if (sf_ipv6_parse(data, size, &ip) != SF_DROP_NONE)
        return;
    need(ip.payload == data + ip.hdr_len);
    need(ip.hdr_len >= SF_IPV6_HDR_LEN && ip.nexthdrs <= SF_IPV6_EXT_MAX);
    need(ip.hdr_len + ip.payload_len <= size);
    need(ip.src[0] != 0xff);
    if (sf_tcp6_parse(&ip, &seg) != SF_DROP_NONE)
        return;
    need(ip.dst[0] != 0xff);
    need(seg.payload >= ip.payload &&
         seg.payload + seg.len == ip.payload + ip.payload_len);
    need(!((seg.flags & SF_SYN) && (seg.flags & SF_RST)));
    need(seg.sport != 0 && seg.dport != 0);
    roundtrip6(&ip, &seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ip_string(data, size);
    ip6_string(data, size);
    v4(data, size);
    v6(data, size);
    return 0;
}
