/* libFuzzer harness for src/wire/udp.c: arbitrary bytes as an IPv4+UDP and
 * as an IPv6+UDP datagram. Whatever parses must lie inside the input, is
 * emitted again (a fresh header, the checksum computed) and re-parsed: the
 * two parses must agree, a second emit must give identical bytes, and the
 * emitted checksum is never zero (RFC 768: a computed zero is sent as all
 * ones; over IPv6 zero is invalid, RFC 8200 8.1). */
#include "synfin/wire.h"

#include <stdlib.h>
#include <string.h>

static void need(int cond)
{
    if (!cond)
        abort();
}

static void same(const struct sf_udp *a, const struct sf_udp *b)
{
    need(a->sport == b->sport && a->dport == b->dport && a->len == b->len);
    need(a->len == 0 || memcmp(a->payload, b->payload, a->len) == 0);
}

static void v4(const uint8_t *data, size_t size)
{
    static uint8_t out[70000], again[70000];
    struct sf_ipv4 ip;
    struct sf_udp u, u2;
    if (sf_ipv4_parse(data, size, &ip) != SF_DROP_NONE ||
        sf_udp_parse(&ip, &u) != SF_DROP_NONE)
        return;
    need(u.payload >= data && u.payload + u.len <= data + size);
    size_t n = sf_udp_emit(out, sizeof out, &ip, &u);
    need(n == 28 + u.len);
    need(out[26] || out[27]);
    struct sf_ipv4 ip2;
    need(sf_ipv4_parse(out, n, &ip2) == SF_DROP_NONE);
    need(sf_udp_parse(&ip2, &u2) == SF_DROP_NONE);
    need(ip2.src == ip.src && ip2.dst == ip.dst);
    same(&u, &u2);
    need(sf_udp_emit(again, sizeof again, &ip2, &u2) == n);
    need(memcmp(out, again, n) == 0);
}

static void v6(const uint8_t *data, size_t size)
{
    static uint8_t out[70000], again[70000];
    struct sf_ipv6 ip;
    struct sf_udp u, u2;
    if (sf_ipv6_parse(data, size, &ip) != SF_DROP_NONE ||
        sf_udp6_parse(&ip, &u) != SF_DROP_NONE)
        return;
    need(u.payload >= data && u.payload + u.len <= data + size);
    size_t n = sf_udp_emit6(out, sizeof out, &ip, &u);
    need(n == 48 + u.len);
    need(out[46] || out[47]);
    struct sf_ipv6 ip2;
    need(sf_ipv6_parse(out, n, &ip2) == SF_DROP_NONE);
    need(sf_udp6_parse(&ip2, &u2) == SF_DROP_NONE);
    need(!memcmp(ip2.src, ip.src, 16) && !memcmp(ip2.dst, ip.dst, 16));
    same(&u, &u2);
    need(sf_udp_emit6(again, sizeof again, &ip2, &u2) == n);
    need(memcmp(out, again, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* (a copy of exactly size bytes: libFuzzer's buffer is already
     * exact, so ASan catches any read past it) */
    v4(data, size);
    v6(data, size);
    return 0;
}
