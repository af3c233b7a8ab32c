/* The public address helpers of synfin.h: struct sf_addr of either
 * family, its text (RFC 5952 for IPv6, through addr6.c) and the
 * IPv4-mapped form of RFC 4291 2.5.5.2. */
#include "synfin/synfin.h"

#include <stdio.h>
#include <string.h>

#include "synfin/wire.h"

/* RFC 4291 2.5.5.2: ::ffff:0:0/96 */
static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0,
                                            0, 0, 0xff, 0xff};

const char *sf_addr_ip_fmt(const struct sf_addr *a, char *buf, size_t len)
{
    if (!buf || len == 0)
        return "";
    if (a->family == SF_AF_INET6)
        return sf_ip6_fmt(a->ip6, buf, len);
    snprintf(buf, len, "%u.%u.%u.%u", (unsigned)(a->ip >> 24),
             (unsigned)(a->ip >> 16 & 0xff), (unsigned)(a->ip >> 8 & 0xff),
             (unsigned)(a->ip & 0xff));
    return buf;
}

const char *sf_addr_fmt(const struct sf_addr *a, char *buf, size_t len)
{
    if (!buf || len == 0)
        return "";
    char ip[SF_IP6_STRLEN];
    sf_addr_ip_fmt(a, ip, sizeof ip);
    /* RFC 3986 3.2.2: an IPv6 literal with a port goes in brackets */
    if (a->family == SF_AF_INET6)
        snprintf(buf, len, "[%s]:%u", ip, (unsigned)a->port);
    else
        snprintf(buf, len, "%s:%u", ip, (unsigned)a->port);
    return buf;
}

/* One octet: 1 to 3 decimal digits, value <= 255, no leading zero (so that
 * "010" cannot mean 8, as inet_aton's octal would); *s moves past it. */
static int octet(const char **s, uint32_t *out)
{
    const char *p = *s;
    uint32_t v = 0;
    int n = 0;
    while (*p >= '0' && *p <= '9' && n < 4) {
        v = v * 10 + (uint32_t)(*p - '0');
        p++;
        n++;
    }
    if (n == 0 || n > 3 || v > 255 || (n > 1 && **s == '0'))
        return SF_EINVAL;
    *s = p;
    *out = v;
    return 0;
}

int sf_ip_parse(const char *s, uint32_t *ip)
{
    if (!s || !ip)
        return SF_EINVAL;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint32_t o;
        if (i > 0 && *s++ != '.')
            return SF_EINVAL;
        if (octet(&s, &o) < 0)
            return SF_EINVAL;
        v = v << 8 | o;
    }
    if (*s != '\0')
        return SF_EINVAL;
    *ip = v;
    return 0;
}

struct sf_addr sf_addr4(uint32_t ip, uint16_t port)
{
    return (struct sf_addr){.ip = ip, .port = port, .family = SF_AF_INET};
}

struct sf_addr sf_addr6(const uint8_t ip6[16], uint16_t port)
{
    struct sf_addr a = {.port = port, .family = SF_AF_INET6};
    memcpy(a.ip6, ip6, 16);
    return a;
}

int sf_addr_parse_ip(const char *s, struct sf_addr *a)
{
    if (!s || !a)
        return SF_EINVAL;
    uint32_t ip;
    uint8_t ip6[16];
    if (sf_ip_parse(s, &ip) == 0) {
        *a = sf_addr4(ip, 0);
        return 0;
    }
    if (sf_ip6_parse(s, ip6) == 0) {
        *a = sf_addr6(ip6, 0);
        return 0;
    }
    return SF_EINVAL;
}

bool sf_addr_ip_eq(const struct sf_addr *a, const struct sf_addr *b)
{
    if (a->family != b->family)
        return false;
    if (a->family == SF_AF_INET6)
        return memcmp(a->ip6, b->ip6, 16) == 0;
    return a->ip == b->ip;
}

bool sf_addr_eq(const struct sf_addr *a, const struct sf_addr *b)
{
    return a->port == b->port && sf_addr_ip_eq(a, b);
}

bool sf_addr_is_unspec(const struct sf_addr *a)
{
    static const uint8_t zero[16];
    if (a->family == SF_AF_INET6)
        return memcmp(a->ip6, zero, 16) == 0;
    return a->ip == 0;
}

bool sf_addr_is_v4mapped(const struct sf_addr *a)
{
    return a->family == SF_AF_INET6 &&
           memcmp(a->ip6, v4mapped_prefix, sizeof v4mapped_prefix) == 0;
}

struct sf_addr sf_addr_to_v4mapped(const struct sf_addr *a)
{
    if (a->family == SF_AF_INET6)
        return *a;
    uint8_t ip6[16];
    memcpy(ip6, v4mapped_prefix, sizeof v4mapped_prefix);
    for (int k = 0; k < 4; k++)
        ip6[12 + k] = (uint8_t)(a->ip >> (24 - 8 * k));
    return sf_addr6(ip6, a->port);
}

struct sf_addr sf_addr_from_v4mapped(const struct sf_addr *a)
{
    if (!sf_addr_is_v4mapped(a))
        return *a;
    uint32_t ip = (uint32_t)a->ip6[12] << 24 | (uint32_t)a->ip6[13] << 16 |
                  (uint32_t)a->ip6[14] << 8 | a->ip6[15];
    return sf_addr4(ip, a->port);
}
