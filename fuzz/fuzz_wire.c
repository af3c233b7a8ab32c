/* libFuzzer harness for src/wire: arbitrary bytes as an IPv4+TCP datagram.
 * Whatever parses is emitted again and re-parsed; the two parses must
 * agree field by field, and a second emit must give identical bytes.
 * The same bytes, as a string, go through sf_ip_parse: whatever it accepts
 * must be the canonical dotted quad sf_addr_fmt writes back. */
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
    struct sf_addr a = {ip, 0};
    sf_addr_fmt(&a, back, sizeof back);
    need(strlen(back) == strlen(s) + 2 && memcmp(back, s, strlen(s)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sf_ipv4 ip;
    struct sf_tcp seg;
    ip_string(data, size);
    if (sf_ipv4_parse(data, size, &ip) != SF_DROP_NONE)
        return 0;
    need(ip.payload >= data && ip.payload + ip.payload_len <= data + size);
    if (sf_tcp_parse(&ip, &seg) != SF_DROP_NONE)
        return 0;
    need(seg.payload >= ip.payload &&
         seg.payload + seg.len == ip.payload + ip.payload_len);
    need(!((seg.flags & SF_SYN) && (seg.flags & SF_RST)));
    need(seg.sport != 0 && seg.dport != 0);
    roundtrip(&ip, &seg);
    return 0;
}
