/* The public address helpers of synfin.h. */
#include "synfin/synfin.h"

#include <stdio.h>

const char *sf_addr_fmt(const struct sf_addr *a, char *buf, size_t len)
{
    if (!buf || len == 0)
        return "";
    snprintf(buf, len, "%u.%u.%u.%u:%u", (unsigned)(a->ip >> 24),
             (unsigned)(a->ip >> 16 & 0xff), (unsigned)(a->ip >> 8 & 0xff),
             (unsigned)(a->ip & 0xff), (unsigned)a->port);
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
