/* IPv6 address text: RFC 5952's canonical form out, RFC 4291 2.2's forms
 * in (the helpers of wire.h, beside addr.c's IPv4 ones). */
#include "synfin/wire.h"

#include <stdio.h>

/* Lower-case hex without leading zeros: RFC 5952 4.1 "Leading zeros MUST
 * be suppressed", "A single 16-bit 0000 field MUST be represented as 0";
 * RFC 5952 4.3 "The characters 'a', 'b', 'c', 'd', 'e', and 'f' in an IPv6
 * address MUST be represented in lowercase". Returns the digits written. */
static size_t hex16(char *p, uint16_t v)
{
    static const char digits[] = "0123456789abcdef";
    int shift = 12;
    while (shift > 0 && (v >> shift) == 0)
        shift -= 4;
    size_t n = 0;
    for (; shift >= 0; shift -= 4)
        p[n++] = digits[(v >> shift) & 0xf];
    return n;
}

const char *sf_ip6_fmt(const uint8_t a[16], char *buf, size_t len)
{
    if (!buf || len == 0)
        return "";
    uint16_t w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
    /* RFC 5952 5: for an address recognized as holding an IPv4 address by
     * a well-known prefix, "mixed notation is RECOMMENDED": the
     * IPv4-mapped ::ffff:0:0/96 (RFC 4291 2.5.5.2) is written
     * ::ffff:192.0.2.1. (The deprecated IPv4-compatible ::/96 is not
     * recognized: RFC 4291 2.5.5.1.) */
    int groups = 8;
    if (w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 &&
        w[5] == 0xffff)
        groups = 6;
    /* RFC 5952 4.2.1: "::" "MUST be used to its maximum capability";
     * 4.2.2: it "MUST NOT be used to shorten just one 16-bit 0 field";
     * 4.2.3: "the longest run of consecutive 16-bit 0 fields MUST be
     * shortened", and on a tie "the first sequence of zero bits MUST be
     * shortened". */
    int best = -1, bestlen = 1;
    for (int i = 0; i < groups;) {
        if (w[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < groups && w[j] == 0)
            j++;
        if (j - i > bestlen) {
            best = i;
            bestlen = j - i;
        }
        i = j;
    }
    char t[SF_IP6_STRLEN];
    size_t n = 0;
    for (int i = 0; i < groups;) {
        if (i == best) {
            t[n++] = ':';
            t[n++] = ':';
            i += bestlen;
            continue;
        }
        if (i > 0 && i != best + bestlen)
            t[n++] = ':';
        n += hex16(t + n, w[i]);
        i++;
    }
    if (groups == 6) {
        if (best + bestlen != 6)
            t[n++] = ':';
        n += (size_t)snprintf(t + n, sizeof t - n, "%u.%u.%u.%u", a[12],
                              a[13], a[14], a[15]);
    }
    t[n] = '\0';
    snprintf(buf, len, "%s", t);
    return buf;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 4291 2.2: "The preferred form is x:x:x:x:x:x:x:x, where the 'x's are
 * one to four hexadecimal digits of the eight 16-bit pieces of the
 * address"; "The use of '::' indicates one or more groups of 16 bits of
 * zeros. The '::' can only appear once in an address"; and the form
 * x:x:x:x:x:x:d.d.d.d, whose d's are "the decimal values of the four
 * low-order 8-bit pieces of the address (standard IPv4 representation)".
 * RFC 5952 4 binds only the text written: "all implementations must accept
 * and be able to handle any legitimate RFC 4291 format". */
int sf_ip6_parse(const char *s, uint8_t out[16])
{
    if (!s || !out)
        return SF_EINVAL;
    uint16_t w[8];
    int n = 0, gap = -1; /* gap: where "::" stands, in groups */
    const char *p = s;
    if (p[0] == ':') {
        if (p[1] != ':')
            return SF_EINVAL;
        gap = 0;
        p += 2;
    }
    while (*p != '\0') {
        int digits = 0;
        uint32_t v = 0;
        while (digits < 5 && hexval(p[digits]) >= 0)
            v = v << 4 | (uint32_t)hexval(p[digits++]);
        if (p[digits] == '.') {
            /* The dotted quad: the last 32 bits, and the end of the text
             * (sf_ip_parse wants exactly "A.B.C.D", decimal). */
            uint32_t v4;
            if (n > 6 || sf_ip_parse(p, &v4) != 0)
                return SF_EINVAL;
            w[n++] = (uint16_t)(v4 >> 16);
            w[n++] = (uint16_t)v4;
            break;
        }
        if (digits == 0 || digits > 4 || n == 8)
            return SF_EINVAL;
        w[n++] = (uint16_t)v;
        p += digits;
        if (*p == '\0')
            break;
        if (*p++ != ':')
            return SF_EINVAL;
        if (*p == ':') {
            if (gap >= 0)
                return SF_EINVAL;
            gap = n;
            p++;
        } else if (*p == '\0') {
            return SF_EINVAL; /* a single trailing colon */
        }
    }
    /* Without "::" exactly eight groups; with it at most seven, since it
     * stands for at least one. */
    if (gap < 0 ? n != 8 : n > 7)
        return SF_EINVAL;
    uint16_t full[8] = {0};
    int tail = gap < 0 ? 0 : n - gap;
    for (int i = 0; i < n - tail; i++)
        full[i] = w[i];
    for (int i = 0; i < tail; i++)
        full[8 - tail + i] = w[gap + i];
    for (int i = 0; i < 8; i++) {
        out[2 * i] = (uint8_t)(full[i] >> 8);
        out[2 * i + 1] = (uint8_t)full[i];
    }
    return 0;
}
