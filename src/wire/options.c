/* TCP options: RFC 9293 3.2 (EOL, NOP, MSS), RFC 7323 (window scale,
 * timestamps), RFC 2018 (SACK-permitted, SACK). */
#include "wire/bytes.h"
#include "wire/wire_int.h"

#include <string.h>

enum {
    OPT_EOL = 0,
    OPT_NOP = 1,
    OPT_MSS = 2,
    OPT_WS = 3,
    OPT_SACK_OK = 4,
    OPT_SACK = 5,
    OPT_TS = 8,
};

/* Stores one known option whose length byte said len (>= 2, within the
 * header); returns SF_DROP_TCP_OPT_BAD when the length does not fit the
 * kind. Unknown kinds are ignored: RFC 9293 3.1 requires every option
 * after the first two kinds to carry a length, so they can be skipped. */
static enum sf_drop opt_one(uint8_t kind, const uint8_t *p, size_t len,
                            struct sf_tcp_opts *opt)
{
    switch (kind) {
    case OPT_MSS:
        if (len != 4)
            return SF_DROP_TCP_OPT_BAD;
        opt->has_mss = true;
        opt->mss = wire_get16(p + 2);
        return SF_DROP_NONE;
    case OPT_WS:
        if (len != 3)
            return SF_DROP_TCP_OPT_BAD;
        opt->has_wscale = true;
        opt->wscale = p[2]; /* RFC 7323 2.3: the user clamps to 14 */
        return SF_DROP_NONE;
    case OPT_SACK_OK:
        if (len != 2)
            return SF_DROP_TCP_OPT_BAD;
        opt->sack_ok = true;
        return SF_DROP_NONE;
    case OPT_SACK:
        /* RFC 2018 3: 8n + 2 bytes; 40 option bytes hold at most 4. */
        if (len < 10 || (len - 2) % 8 != 0 || (len - 2) / 8 > 4)
            return SF_DROP_TCP_OPT_BAD;
        opt->nsack = (uint8_t)((len - 2) / 8);
        for (size_t i = 0; i < opt->nsack; i++) {
            opt->sack[i][0] = wire_get32(p + 2 + 8 * i);
            opt->sack[i][1] = wire_get32(p + 6 + 8 * i);
        }
        return SF_DROP_NONE;
    case OPT_TS:
        if (len != 10)
            return SF_DROP_TCP_OPT_BAD;
        opt->has_ts = true;
        opt->ts_val = wire_get32(p + 2);
        opt->ts_ecr = wire_get32(p + 6);
        return SF_DROP_NONE;
    default:
        return SF_DROP_NONE;
    }
}

enum sf_drop wire_opts_parse(const uint8_t *p, size_t optlen,
                               struct sf_tcp_opts *opt)
{
    memset(opt, 0, sizeof *opt);
    size_t i = 0;
    while (i < optlen) {
        uint8_t kind = p[i];
        if (kind == OPT_EOL)
            break; /* RFC 9293 3.1: the end of the option list */
        if (kind == OPT_NOP) {
            i++;
            continue;
        }
        /* A length byte past the header, below 2 (which would loop or
         * underflow), or running past the header: the list is corrupt. */
        if (optlen - i < 2)
            return SF_DROP_TCP_OPT_LEN;
        size_t len = p[i + 1];
        if (len < 2 || len > optlen - i)
            return SF_DROP_TCP_OPT_LEN;
        enum sf_drop d = opt_one(kind, p + i, len, opt);
        if (d != SF_DROP_NONE)
            return d;
        i += len;
    }
    return SF_DROP_NONE;
}

/* The fixed-size options in emit order, and how many SACK blocks fit in
 * what is left of the 40 bytes (RFC 2018 3: 3 with timestamps). */
static size_t fixed_len(const struct sf_tcp_opts *opt)
{
    return (opt->has_mss ? 4u : 0u) + (opt->sack_ok ? 2u : 0u) +
           (opt->has_ts ? 10u : 0u) + (opt->has_wscale ? 3u : 0u);
}

static size_t sack_blocks(const struct sf_tcp_opts *opt)
{
    size_t n = opt->nsack > 4 ? 4 : opt->nsack;
    size_t room = SF_TCP_OPT_MAX - fixed_len(opt);
    size_t fit = room >= 10 ? (room - 2) / 8 : 0;
    return n < fit ? n : fit;
}

size_t sf_tcp_opts_len(const struct sf_tcp_opts *opt)
{
    size_t n = sack_blocks(opt);
    size_t len = fixed_len(opt) + (n ? 2 + 8 * n : 0);
    return (len + 3) & ~(size_t)3;
}

void wire_opts_emit(uint8_t *p, const struct sf_tcp_opts *opt)
{
    size_t i = 0, total = sf_tcp_opts_len(opt);
    if (opt->has_mss) {
        p[i] = OPT_MSS, p[i + 1] = 4;
        wire_put16(p + i + 2, opt->mss);
        i += 4;
    }
    if (opt->sack_ok) {
        p[i] = OPT_SACK_OK, p[i + 1] = 2;
        i += 2;
    }
    if (opt->has_ts) {
        p[i] = OPT_TS, p[i + 1] = 10;
        wire_put32(p + i + 2, opt->ts_val);
        wire_put32(p + i + 6, opt->ts_ecr);
        i += 10;
    }
    if (opt->has_wscale) {
        p[i] = OPT_WS, p[i + 1] = 3, p[i + 2] = opt->wscale;
        i += 3;
    }
    size_t n = sack_blocks(opt);
    if (n) {
        p[i] = OPT_SACK, p[i + 1] = (uint8_t)(2 + 8 * n);
        for (size_t b = 0; b < n; b++) {
            wire_put32(p + i + 2 + 8 * b, opt->sack[b][0]);
            wire_put32(p + i + 6 + 8 * b, opt->sack[b][1]);
        }
        i += 2 + 8 * n;
    }
    while (i < total)
        p[i++] = OPT_NOP;
}
