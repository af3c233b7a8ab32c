/* synfin tun2socks' rules (see rules.h). */
#include "t2s/rules.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *t2s_action_name(enum t2s_action a)
{
    switch (a) {
    case T2S_PROXY: return "proxy";
    case T2S_DIRECT: return "direct";
    case T2S_REJECT: return "reject";
    }
    return "?";
}

static int rule_err(char *err, size_t cap, const char *text, const char *why)
{
    snprintf(err, cap, "bad --rule '%s': %s (want CIDR[:PORT[-PORT]]="
             "proxy|direct|reject, e.g. 198.18.0.0/15:80-443=direct)", text, why);
    /* one line, whatever bytes the argument had */
    for (char *c = err; cap && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return -1;
}

/* A decimal number in 0..max from s[0..n); -1 if not. */
static long num(const char *s, size_t n, long max)
{
    if (n == 0 || n > 6)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* PORT or PORT-PORT from s[0..n). */
static int ports(const char *s, size_t n, struct t2s_rule *r)
{
    const char *dash = memchr(s, '-', n);
    long lo = num(s, dash ? (size_t)(dash - s) : n, 65535);
    long hi = dash ? num(dash + 1, n - (size_t)(dash - s) - 1, 65535) : lo;
    if (lo < 0 || hi < 0 || lo > hi)
        return -1;
    r->port_lo = (uint16_t)lo;
    r->port_hi = (uint16_t)hi;
    return 0;
}

static bool host_bits_zero(const struct t2s_rule *r)
{
    int bytes = r->family == 4 ? 4 : 16;
    for (int i = 0; i < bytes; i++) {
        int bits = r->prefix - 8 * i;
        uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
        if (r->addr[i] & (uint8_t)~m)
            return false;
    }
    return true;
}

int t2s_rule_add(struct t2s_rules *rs, const char *text, char *err, size_t errcap)
{
    if (rs->n >= T2S_MAX_RULES)
        return rule_err(err, errcap, text, "too many rules (at most 256)");
    struct t2s_rule r;
    memset(&r, 0, sizeof r);
    r.port_hi = 65535;
    const char *eq = strrchr(text, '=');
    if (!eq)
        return rule_err(err, errcap, text, "no '=ACTION'");
    if (!strcmp(eq + 1, "proxy"))
        r.action = T2S_PROXY;
    else if (!strcmp(eq + 1, "direct"))
        r.action = T2S_DIRECT;
    else if (!strcmp(eq + 1, "reject"))
        r.action = T2S_REJECT;
    else
        return rule_err(err, errcap, text, "the action must be proxy, direct or reject");
    size_t n = (size_t)(eq - text);
    char a[80];
    const char *portp = NULL;
    size_t alen;
    if (n > 0 && text[0] == '*') {
        r.family = 0;
        if (n > 1 && text[1] != ':')
            return rule_err(err, errcap, text, "'*' stands alone or with :PORT");
        portp = n > 1 ? text + 2 : NULL;
        alen = 0;
    } else if (n > 0 && text[0] == '[') {
        const char *close = memchr(text, ']', n);
        if (!close)
            return rule_err(err, errcap, text, "'[' without ']'");
        alen = (size_t)(close - text - 1);
        /* "[]" is no address (it was taken as '*', every address: found
         * by fuzz/fuzz_t2s_rules.c) */
        if (alen == 0)
            return rule_err(err, errcap, text, "no address in '[ ]'");
        if (alen >= sizeof a)
            return rule_err(err, errcap, text, "address too long");
        memcpy(a, text + 1, alen);
        a[alen] = 0;
        const char *after = close + 1;
        if (after < eq && *after == '/') {
            /* [ADDR]/N: take the prefix below */
            const char *q = after + 1;
            while (q < eq && *q != ':')
                q++;
            long p = num(after + 1, (size_t)(q - after - 1), 128);
            if (p < 0)
                return rule_err(err, errcap, text, "bad prefix length");
            r.prefix = (uint8_t)p;
            after = q;
        } else {
            r.prefix = 255; /* a host: set by family */
        }
        if (after < eq && *after != ':')
            return rule_err(err, errcap, text, "junk after ']'");
        portp = after < eq ? after + 1 : NULL;
    } else {
        const char *slash = memchr(text, '/', n);
        const char *aend;
        if (slash) {
            aend = slash;
            const char *q = slash + 1;
            while (q < eq && *q != ':')
                q++;
            long p = num(slash + 1, (size_t)(q - slash - 1), 128);
            if (p < 0)
                return rule_err(err, errcap, text, "bad prefix length");
            r.prefix = (uint8_t)p;
            portp = q < eq ? q + 1 : NULL;
        } else {
            /* A bare address: IPv4 may carry :PORT, IPv6 only in [ ]. */
            const char *colon = memchr(text, ':', n);
            const char *colon2 = colon ? memchr(colon + 1, ':', (size_t)(eq - colon - 1)) : NULL;
            if (colon && !colon2) {
                aend = colon;
                portp = colon + 1;
            } else {
                aend = eq;
            }
            r.prefix = 255;
        }
        alen = (size_t)(aend - text);
        if (alen == 0)
            return rule_err(err, errcap, text, "no address");
        if (alen >= sizeof a)
            return rule_err(err, errcap, text, "address too long");
        memcpy(a, text, alen);
        a[alen] = 0;
    }
    if (alen) {
        if (inet_pton(AF_INET, a, r.addr) == 1) {
            r.family = 4;
            if (r.prefix == 255)
                r.prefix = 32;
            if (r.prefix > 32)
                return rule_err(err, errcap, text, "an IPv4 prefix is at most /32");
        } else if (inet_pton(AF_INET6, a, r.addr) == 1) {
            r.family = 6;
            if (r.prefix == 255)
                r.prefix = 128;
        } else {
            return rule_err(err, errcap, text, "not an IPv4 or IPv6 address");
        }
        if (!host_bits_zero(&r))
            return rule_err(err, errcap, text, "address bits set beyond the prefix length");
    }
    if (portp && ports(portp, (size_t)(eq - portp), &r) < 0)
        return rule_err(err, errcap, text, "bad port or port range (0-65535, LOW-HIGH)");
    rs->r[rs->n++] = r;
    return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)full))
        return false;
    if (!rest)
        return true;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (a[full] & m) == (net[full] & m);
}

enum t2s_action t2s_rule_match(const struct t2s_rules *rs, int family,
                               const uint8_t *addr, uint16_t port,
                               enum t2s_action def, int *index)
{
    for (int i = 0; i < rs->n; i++) {
        const struct t2s_rule *r = &rs->r[i];
        if (r->family && r->family != family)
            continue;
        if (port < r->port_lo || port > r->port_hi)
            continue;
        if (r->family && !prefix_match(addr, r->addr, r->prefix))
            continue;
        if (index)
            *index = i;
        return r->action;
    }
    if (index)
        *index = -1;
    return def;
}
