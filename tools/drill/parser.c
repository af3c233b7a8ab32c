/* drill parser: tokens -> struct drill_script. The grammar is
 * docs/drill.md (packetdrill's, as synfin speaks it): options
 * first, then one event per line, each starting with a time. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "synfin/wire.h"

struct parser {
    const struct drill_tokens *t;
    size_t i;
    const char *path;
    char *err;
    size_t errlen;
    bool failed;
};

static const struct drill_token *peek(struct parser *p)
{
    return &p->t->v[p->i];
}

static const struct drill_token *take(struct parser *p)
{
    const struct drill_token *t = &p->t->v[p->i];
    if (t->kind != TK_EOF)
        p->i++;
    return t;
}

static int perr(struct parser *p, const struct drill_token *at,
                const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = true;
    int n = snprintf(p->err, p->errlen, "%s:%d:%d: error: ", p->path,
                     at->line, at->col);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    /* one line, whatever the script's bytes quoted in it (found by
     * fuzz/fuzz_drill.c: a code block's text ran over lines) */
    for (char *c = p->err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    return -1;
}

static const char *tok_desc(const struct drill_token *t)
{
    switch (t->kind) {
    case TK_EOF: return "end of file";
    case TK_CODE: return "%{ code block }%";
    default: return t->text;
    }
}

static bool is_punct(const struct drill_token *t, char c)
{
    return t->kind == TK_PUNCT && t->text[0] == c;
}

static bool is_ident(const struct drill_token *t, const char *s)
{
    return t->kind == TK_IDENT && !strcmp(t->text, s);
}

static int expect_punct(struct parser *p, char c)
{
    const struct drill_token *t = take(p);
    if (!is_punct(t, c))
        return perr(p, t, "expected '%c', found '%s'", c, tok_desc(t));
    return 0;
}

/* An unsigned integer token (decimal or 0x hex) that fits in 32 bits. */
static int expect_u32(struct parser *p, uint32_t *out)
{
    const struct drill_token *t = take(p);
    char *end;
    unsigned long long v;
    if (t->kind != TK_NUM)
        return perr(p, t, "expected a number, found '%s'", tok_desc(t));
    v = strtoull(t->text, &end, 0);
    if (*end || v > UINT32_MAX)
        return perr(p, t, "bad number '%s'", t->text);
    *out = (uint32_t)v;
    return 0;
}

/* Seconds as written ("1", "0.25", ".1") -> microseconds, exactly. */
static int expect_secs(struct parser *p, int64_t *us)
{
    const struct drill_token *t = take(p);
    const char *s = t->text;
    int64_t whole = 0, frac = 0, scale = 100000;
    if (t->kind != TK_NUM)
        return perr(p, t, "expected a time in seconds, found '%s'", tok_desc(t));
    for (; isdigit((unsigned char)*s); s++) {
        whole = whole * 10 + (*s - '0');
        if (whole > 1000000000)
            return perr(p, t, "time '%s' is too large", t->text);
    }
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
            frac += (*s - '0') * scale;
    if (*s || scale < 0)
        return perr(p, t, "bad time '%s'", t->text);
    *us = whole * 1000000 + frac;
    return 0;
}

static int parse_time(struct parser *p, struct drill_time *tm)
{
    if (is_punct(peek(p), '*')) {
        take(p);
        tm->kind = DT_ANY;
        return 0;
    }
    tm->kind = DT_ABS;
    if (is_punct(peek(p), '+')) {
        take(p);
        tm->kind = DT_REL;
    }
    if (expect_secs(p, &tm->us))
        return -1;
    if (is_punct(peek(p), '~')) {
        take(p);
        if (is_punct(peek(p), '+'))
            take(p);
        tm->range = true;
    } else if (peek(p)->kind == TK_ELLIPSIS) {
        take(p);
        tm->blocking = true;
    } else {
        tm->end_us = tm->us;
        return 0;
    }
    if (expect_secs(p, &tm->end_us))
        return -1;
    if (tm->end_us < tm->us)
        return perr(p, &p->t->v[p->i - 1], "time range ends before it starts");
    return 0;
}

/* ------------------------------------------------------------ segments */

static int parse_flags(struct parser *p, uint8_t *flags)
{
    const struct drill_token *t = take(p);
    *flags = 0;
    if (t->kind == TK_IDENT) {
        for (const char *c = t->text; *c; c++) {
            const char *letters = "FSRPUEW";
            const char *f = strchr(letters, *c);
            if (!f)
                return perr(p, t, "unknown TCP flag '%c' in '%s'", *c, t->text);
            static const uint8_t bits[] = {SF_FIN, SF_SYN, SF_RST, SF_PSH,
                                           SF_URG, SF_ECE, SF_CWR};
            *flags |= bits[f - letters];
        }
        if (!is_punct(peek(p), '.'))
            return 0;
        t = take(p);
    }
    if (!is_punct(t, '.'))
        return perr(p, t, "expected TCP flags, found '%s'", tok_desc(t));
    *flags |= SF_ACK;
    return 0;
}

static int add_opt(struct parser *p, struct drill_seg *s, struct drill_opt o)
{
    struct drill_opt *v = realloc(s->opts, (s->nopts + 1) * sizeof *v);
    if (!v)
        return perr(p, peek(p), "out of memory");
    s->opts = v;
    s->opts[s->nopts++] = o;
    return 0;
}

size_t drill_opt_len(const struct drill_opt *o)
{
    switch (o->kind) {
    case OPT_NOP:
    case OPT_EOL: return 1;
    case OPT_MSS: return 4;
    case OPT_WSCALE: return 3;
    case OPT_SACKOK: return 2;
    case OPT_SACK: return 2 + 8u * o->n;
    case OPT_TS: return 10;
    case OPT_UNKNOWN: return o->v[1] ? o->v[1] : 1;
    }
    return 1;
}

static int parse_sack(struct parser *p, const struct drill_token *name,
                      struct drill_opt *o)
{
    while (peek(p)->kind == TK_NUM) {
        if (o->n == 4)
            return perr(p, peek(p), "more than 4 SACK blocks in one option "
                        "(RFC 2018 3), at '%s'", peek(p)->text);
        if (expect_u32(p, &o->v[2 * o->n]) || expect_punct(p, ':') ||
            expect_u32(p, &o->v[2 * o->n + 1]))
            return -1;
        o->n++;
    }
    return o->n ? 0 : perr(p, peek(p), "'%s' needs at least one block L:R, "
                           "found '%s'", name->text, tok_desc(peek(p)));
}

/* The next token must be the word w of an option's syntax. */
static int expect_word(struct parser *p, const char *w, const char *syntax)
{
    const struct drill_token *t = take(p);
    if (!is_ident(t, w))
        return perr(p, t, "expected '%s' in '%s', found '%s'", w, syntax,
                    tok_desc(t));
    return 0;
}

static int parse_one_opt(struct parser *p, struct drill_opt *o)
{
    const struct drill_token *t = take(p);
    uint32_t v = 0;
    memset(o, 0, sizeof *o);
    if (is_ident(t, "nop")) {
        o->kind = OPT_NOP;
    } else if (is_ident(t, "eol")) {
        o->kind = OPT_EOL;
    } else if (is_ident(t, "sackOK")) {
        o->kind = OPT_SACKOK;
    } else if (is_ident(t, "mss") || is_ident(t, "wscale")) {
        o->kind = t->text[0] == 'm' ? OPT_MSS : OPT_WSCALE;
        if (peek(p)->kind != TK_NUM)
            return perr(p, peek(p), "'%s' needs a value, found '%s'", t->text,
                        tok_desc(peek(p)));
        if (expect_u32(p, &v))
            return -1;
        if (v > (o->kind == OPT_MSS ? 65535u : 255u))
            return perr(p, t, "%s value %" PRIu32 " out of range (%s)", t->text,
                        v, o->kind == OPT_MSS ? "0 to 65535" : "0 to 255");
        o->v[0] = v;
    } else if (is_ident(t, "sack")) {
        o->kind = OPT_SACK;
        return parse_sack(p, t, o);
    } else if (is_ident(t, "TS")) {
        static const char syntax[] = "TS val N ecr N";
        o->kind = OPT_TS;
        if (expect_word(p, "val", syntax) || expect_u32(p, &o->v[0]) ||
            expect_word(p, "ecr", syntax) || expect_u32(p, &o->v[1]))
            return -1;
    } else {
        return perr(p, t, "unknown TCP option '%s' (synfin knows nop, eol, "
                    "mss N, wscale N, sackOK, sack L:R ..., TS val N ecr N)",
                    tok_desc(t));
    }
    return 0;
}

static int parse_opts(struct parser *p, struct drill_seg *s)
{
    const struct drill_token *open = take(p); /* '<' */
    size_t bytes = 0;
    if (peek(p)->kind == TK_ELLIPSIS) {
        /* packetdrill: "any options" is a check, and only `>` lines check */
        if (s->inbound)
            return perr(p, peek(p), "<...> for TCP options can only be used "
                        "with outbound segments");
        take(p);
        s->opts_mode = OPTS_ANY;
        return expect_punct(p, '>');
    }
    s->opts_mode = OPTS_LIST;
    for (;;) {
        struct drill_opt o;
        const struct drill_token *at = peek(p);
        if (parse_one_opt(p, &o) || add_opt(p, s, o))
            return -1;
        bytes += drill_opt_len(&o);
        /* RFC 9293 3.1: the data offset leaves 40 bytes for options */
        if (bytes > SF_TCP_OPT_MAX)
            return perr(p, at, "TCP options too long: %zu bytes up to and "
                        "including '%s', at most %d fit in a header", bytes,
                        at->text, SF_TCP_OPT_MAX);
        if (!is_punct(peek(p), ','))
            break;
        take(p);
    }
    if (!is_punct(peek(p), '>'))
        return perr(p, peek(p), "expected ',' or '>' in the option list, "
                    "found '%s'", tok_desc(peek(p)));
    take(p);
    /* An outbound list is compared byte for byte, padding included, so it
     * must say what the padding is (packetdrill's rule). An inbound one is
     * padded with EOL by the runner. */
    if (!s->inbound && bytes % 4)
        return perr(p, open, "outbound TCP options take %zu bytes, not a "
                    "multiple of 4: write the padding (nop, eol) the stack "
                    "sends", bytes);
    return 0;
}

/* packetdrill's IP information after the direction: `[ect0]` or `(ect0)`.
 * synfin understands the ECN marks, and on inbound lines its own marks
 * (comma-separated with an ECN one): `hbh` and `dstopt` put an empty
 * Hop-by-Hop / Destination Options header before TCP (IPv6 only),
 * `bad_csum` sends the segment with a wrong TCP checksum. */
static int parse_ecn(struct parser *p, struct drill_seg *s)
{
    static const char *const names[] = {
        [ECN_NOECN] = "noecn", [ECN_ECT0] = "ect0", [ECN_ECT1] = "ect1",
        [ECN_CE] = "ce", [ECN_ECT01] = "ect01"};
    const struct drill_token *open = take(p);
    char close = open->text[0] == '[' ? ']' : ')';
    for (;;) {
        const struct drill_token *t = take(p);
        bool known = false;
        for (int i = ECN_NOECN; i <= ECN_ECT01; i++)
            if (is_ident(t, names[i]) && s->ecn == ECN_UNSET)
                s->ecn = (enum drill_ecn)i, known = true;
        if (s->inbound && is_ident(t, "hbh"))
            s->ip6_ext |= DRILL_EXT_HBH, known = true;
        if (s->inbound && is_ident(t, "dstopt"))
            s->ip6_ext |= DRILL_EXT_DSTOPT, known = true;
        if (s->inbound && is_ident(t, "bad_csum"))
            s->bad_csum = true, known = true;
        if (!known)
            return perr(p, t, "unsupported IP field '%s' in %c...%c: synfin "
                        "understands one ECN mark (noecn, ect0, ect1, ce, "
                        "ect01) and, inbound, hbh, dstopt and bad_csum",
                        tok_desc(t), open->text[0], close);
        if (s->ecn == ECN_ECT01 && s->inbound)
            return perr(p, t, "[ect01] can only be used with outbound "
                        "segments");
        if (!is_punct(peek(p), ','))
            break;
        take(p);
    }
    return expect_punct(p, close);
}

static int parse_seg_field(struct parser *p, struct drill_seg *s)
{
    const struct drill_token *t = take(p);
    bool *has;
    uint32_t *val;
    if (is_ident(t, "ack")) {
        has = &s->has_ack, val = &s->ack;
    } else if (is_ident(t, "win")) {
        has = &s->has_win, val = &s->win;
    } else if (is_ident(t, "urg") && s->inbound) {
        has = &s->has_urg, val = &s->urg;
    } else {
        return perr(p, t, "unexpected '%s' in a segment", tok_desc(t));
    }
    if (*has)
        return perr(p, t, "'%s' given twice", t->text);
    *has = true;
    if (expect_u32(p, val))
        return -1;
    if (!(val == &s->ack) && *val > 65535)
        return perr(p, t, "%s value %" PRIu32 " out of range", t->text, *val);
    return 0;
}

/* packetdrill's Destination Unreachable code names: IPv4's (RFC 792,
 * RFC 1122 3.2.2.1, RFC 1812 5.2.7.1) and IPv6's (RFC 4443 3.1), each
 * with its code on an IPv4 wire and on an IPv6 one (-1: none there; an
 * IPv4 name with an IPv6 meaning maps to it, as packetdrill's IPv6 runs
 * of IPv4 scripts do). */
static const struct {
    const char *name;
    int v4, v6;
} unreach_codes[] = {
    {"net_unreachable", 0, 0},       {"host_unreachable", 1, 3},
    {"protocol_unreachable", 2, -1}, {"port_unreachable", 3, 4},
    {"source_route_failed", 5, -1},  {"net_unknown", 6, -1},
    {"host_unknown", 7, -1},         {"source_host_isolated", 8, -1},
    {"net_prohibited", 9, 1},        {"host_prohibited", 10, 1},
    {"net_unreachable_for_tos", 11, -1},
    {"host_unreachable_for_tos", 12, -1},
    {"packet_filtered", 13, 1},      {"precedence_violation", 14, -1},
    {"precedence_cutoff", 15, -1},   {"no_route", -1, 0},
    {"admin_prohibited", -1, 1},     {"beyond_scope", -1, 2},
    {"address_unreachable", -1, 3},  {"source_address_failed_policy", -1, 5},
    {"reject_route", -1, 6},
};

/* `unreachable CODE` (not frag_needed) or `time_exceeded`: s's types and
 * codes for both wires. */
static int parse_icmp_error(struct parser *p, const struct drill_token *t,
                            struct drill_seg *s)
{
    s->icmp_error = true;
    if (is_ident(t, "time_exceeded")) { /* code 0, hop limit exceeded */
        s->icmp4_type = 11, s->icmp6_type = 3;
        return 0;
    }
    t = take(p);
    for (size_t i = 0; i < sizeof unreach_codes / sizeof *unreach_codes; i++)
        if (is_ident(t, unreach_codes[i].name)) {
            if (unreach_codes[i].v4 >= 0)
                s->icmp4_type = 3, s->icmp4_code = (uint8_t)unreach_codes[i].v4;
            if (unreach_codes[i].v6 >= 0)
                s->icmp6_type = 1, s->icmp6_code = (uint8_t)unreach_codes[i].v6;
            return 0;
        }
    return perr(p, t, "unknown ICMP unreachable code '%s' (port_unreachable, "
                "host_unreachable, no_route, admin_prohibited, ...)",
                tok_desc(t));
}

/* packetdrill's ICMP line: `icmp unreachable frag_needed mtu N [S:E(L)]`
 * or `icmp packet_too_big mtu N [S:E(L)]` (path MTU), `icmp unreachable
 * CODE [S:E(L)]` or `icmp time_exceeded [S:E(L)]`, S:E(L) the quoted
 * segment of the stack's, as on a `>` line. */
static int parse_icmp(struct parser *p, const struct drill_token *dir,
                      struct drill_seg *s)
{
    take(p); /* icmp */
    const struct drill_token *t = take(p);
    if (is_ident(t, "time_exceeded") ||
        (is_ident(t, "unreachable") && !is_ident(peek(p), "frag_needed"))) {
        if (parse_icmp_error(p, t, s))
            return -1;
    } else if (is_ident(t, "unreachable")) {
        take(p); /* frag_needed */
    } else if (!is_ident(t, "packet_too_big")) {
        return perr(p, t, "synfin's runner sends the ICMP errors "
                    "'unreachable CODE', 'time_exceeded' and "
                    "'packet_too_big', not '%s'", tok_desc(t));
    }
    if (!s->icmp_error) {
        t = take(p);
        if (!is_ident(t, "mtu"))
            return perr(p, t, "expected 'mtu N', found '%s'", tok_desc(t));
        if (expect_u32(p, &s->icmp_mtu))
            return -1;
        if (s->icmp_mtu > 65535)
            return perr(p, t, "mtu %" PRIu32 " out of range", s->icmp_mtu);
    }
    const struct drill_token *at = peek(p);
    if (expect_punct(p, '[') || expect_u32(p, &s->seq) ||
        expect_punct(p, ':') || expect_u32(p, &s->end) ||
        expect_punct(p, '(') || expect_u32(p, &s->len) ||
        expect_punct(p, ')') || expect_punct(p, ']'))
        return -1;
    if (s->end - s->seq != s->len)
        return perr(p, at, "%" PRIu32 ":%" PRIu32 "(%" PRIu32 ") is not "
                    "SEQ:SEQ+LEN(LEN)", s->seq, s->end, s->len);
    (void)dir;
    s->icmp_too_big = !s->icmp_error;
    return 0;
}

static int parse_seg(struct parser *p, struct drill_event *ev)
{
    struct drill_seg *s = &ev->seg;
    const struct drill_token *dir = take(p);
    ev->kind = EV_SEG;
    s->inbound = dir->text[0] == '<';
    if (s->inbound && is_ident(peek(p), "icmp") && peek(p)->line == dir->line)
        return parse_icmp(p, dir, s);
    if ((is_punct(peek(p), '[') || is_punct(peek(p), '(')) &&
        peek(p)->line == dir->line && parse_ecn(p, s))
        return -1;
    if (parse_flags(p, &s->flags))
        return -1;
    const struct drill_token *at = peek(p);
    if (expect_u32(p, &s->seq) || expect_punct(p, ':') ||
        expect_u32(p, &s->end) || expect_punct(p, '(') ||
        expect_u32(p, &s->len) || expect_punct(p, ')'))
        return -1;
    if (s->end - s->seq != s->len)
        return perr(p, at, "%" PRIu32 ":%" PRIu32 "(%" PRIu32 ") is not "
                    "SEQ:SEQ+LEN(LEN)", s->seq, s->end, s->len);
    if (s->len > 65000)
        return perr(p, at, "segment length %" PRIu32 " too large", s->len);
    while (peek(p)->kind == TK_IDENT && peek(p)->line == dir->line)
        if (parse_seg_field(p, s))
            return -1;
    if (is_punct(peek(p), '<') && peek(p)->line == dir->line && parse_opts(p, s))
        return -1;
    if ((is_punct(peek(p), '[') || is_punct(peek(p), '(')) &&
        peek(p)->line == dir->line)
        return perr(p, peek(p), "'%s' after the segment: an ECN mark goes "
                    "right after the direction, as in '%c [ect0] S 0:0(0) ...'",
                    peek(p)->text, dir->text[0]);
    return 0;
}

/* --------------------------------------------------------- system calls */

static void expr_free(struct drill_expr *e);

static int parse_expr(struct parser *p, struct drill_expr *e);

static int expr_push(struct parser *p, struct drill_expr *e, struct drill_expr **kid)
{
    struct drill_expr *v = realloc(e->kids, (e->nkids + 1) * sizeof *v);
    if (!v)
        return perr(p, peek(p), "out of memory");
    e->kids = v;
    *kid = memset(&v[e->nkids++], 0, sizeof *v);
    return 0;
}

/* [a, b] or {f=a, g=b}: the elements up to the closing bracket. */
static int parse_group(struct parser *p, struct drill_expr *e, char close)
{
    bool fields = close == '}';
    e->kind = fields ? EX_STRUCT : EX_LIST;
    while (!is_punct(peek(p), close)) {
        struct drill_expr *k;
        if (e->nkids && expect_punct(p, ','))
            return -1;
        if (expr_push(p, e, &k))
            return -1;
        const struct drill_token *f = NULL;
        if (fields) {
            f = take(p);
            if (f->kind != TK_IDENT)
                return perr(p, f, "expected a field name, found '%s'", tok_desc(f));
            if (expect_punct(p, '='))
                return -1;
        }
        if (parse_expr(p, k))
            return -1;
        if (f)
            k->field = strdup(f->text);
    }
    take(p);
    return 0;
}

static int parse_atom(struct parser *p, struct drill_expr *e)
{
    const struct drill_token *t = take(p);
    if (t->kind == TK_ELLIPSIS) {
        e->kind = EX_ELLIPSIS;
    } else if (is_punct(t, '[') || is_punct(t, '{')) {
        return parse_group(p, e, t->text[0] == '[' ? ']' : '}');
    } else if (t->kind == TK_IDENT || t->kind == TK_STRING) {
        e->kind = t->kind == TK_IDENT ? EX_NAME : EX_STRING;
        e->name = strdup(t->text);
    } else if (t->kind == TK_NUM || is_punct(t, '-')) {
        bool neg = t->kind != TK_NUM;
        const struct drill_token *n = neg ? take(p) : t;
        char *end;
        if (n->kind != TK_NUM)
            return perr(p, n, "expected a number, found '%s'", tok_desc(n));
        long long v = strtoll(n->text, &end, 0);
        if (*end)
            return perr(p, n, "bad number '%s'", n->text);
        e->kind = EX_INT;
        e->num = neg ? -v : v;
    } else {
        return perr(p, t, "expected an argument, found '%s'", tok_desc(t));
    }
    return 0;
}

static int parse_expr(struct parser *p, struct drill_expr *e)
{
    struct drill_expr first = {0}, *k;
    if (parse_atom(p, &first)) {
        expr_free(&first);
        return -1;
    }
    if (!is_punct(peek(p), '|')) {
        *e = first;
        return 0;
    }
    e->kind = EX_OR;
    if (expr_push(p, e, &k)) {
        expr_free(&first);
        return -1;
    }
    *k = first;
    while (is_punct(peek(p), '|')) {
        take(p);
        if (expr_push(p, e, &k) || parse_atom(p, k))
            return -1;
    }
    return 0;
}

/* "(Connection refused)" after an errno: a comment, skipped. */
static int skip_errno_text(struct parser *p, int line)
{
    if (!is_punct(peek(p), '(') || peek(p)->line != line)
        return 0;
    int depth = 0;
    do {
        const struct drill_token *t = take(p);
        if (t->kind == TK_EOF || t->line != line)
            return perr(p, t, "unterminated errno text");
        depth += is_punct(t, '(') - is_punct(t, ')');
    } while (depth > 0);
    return 0;
}

static int parse_call(struct parser *p, struct drill_event *ev)
{
    struct drill_call *c = &ev->call;
    const struct drill_token *name = take(p);
    static const char *const known[] = {
        "socket", "bind", "listen", "accept", "connect", "read", "recv",
        "write", "send", "shutdown", "close", "fcntl", "setsockopt",
        "getsockopt", "poll", "abort_all"};
    size_t i = 0;
    while (i < sizeof known / sizeof known[0] && strcmp(known[i], name->text))
        i++;
    if (i == sizeof known / sizeof known[0])
        return perr(p, name, "unsupported system call '%s'", name->text);
    ev->kind = EV_CALL;
    c->name = strdup(name->text);
    if (expect_punct(p, '('))
        return -1;
    struct drill_expr args = {0};
    int rc = parse_group(p, &args, ')');
    c->args = args.kids;
    c->nargs = args.nkids;
    if (rc || expect_punct(p, '=') || parse_expr(p, &c->ret))
        return -1;
    if (peek(p)->kind == TK_IDENT && peek(p)->line == name->line) {
        const struct drill_token *e = take(p);
        int64_t v;
        /* errno names are the SF_E* codes, all negative */
        if (!drill_symbol(e->text, &v) || v >= 0)
            return perr(p, e, "unknown errno name '%s'", e->text);
        c->errname = strdup(e->text);
        return skip_errno_text(p, name->line);
    }
    return 0;
}

/* --------------------------------------------------- asserts and shell */

static int parse_assert(struct parser *p, struct drill_event *ev,
                        const struct drill_token *t)
{
    char op[3] = {0}, state[32] = {0};
    int used = 0;
    ev->kind = EV_ASSERT;
    if (sscanf(t->text, " assert tcpi_state %2[=!] %31[A-Z_0-9] %n", op, state,
               &used) == 2 && !t->text[used] && (!strcmp(op, "==") || !strcmp(op, "!="))) {
        for (int s = 0; s < SF_NSTATES; s++) {
            if (!strcmp(state, sf_state_linux_name((enum sf_state)s))) {
                ev->assert_state = (enum sf_state)s;
                ev->assert_eq = op[0] == '=';
                return 0;
            }
        }
        return perr(p, t, "unknown state '%s' in %%{ }%% block", state);
    }
    return perr(p, t, "unsupported %%{ }%% block: only 'assert tcpi_state "
                "== TCP_X' (or !=) is understood");
}

static int parse_shell(struct parser *p, struct drill_event *ev,
                       const struct drill_token *t)
{
    static const char *const names[] = {
        [SYS_SYN_RETRIES] = "tcp_syn_retries",
        [SYS_SYNACK_RETRIES] = "tcp_synack_retries",
        [SYS_RETRIES1] = "tcp_retries1",
        [SYS_RETRIES2] = "tcp_retries2",
        [SYS_FIN_TIMEOUT] = "tcp_fin_timeout"};
    char name[64];
    long long v;
    int used = 0;
    ev->kind = EV_SHELL;
    ev->text = strdup(t->text);
    if ((sscanf(t->text, " sysctl -q net.ipv4.%63[a-z_0-9] = %lld %n", name, &v, &used) == 2 ||
         sscanf(t->text, " sysctl net.ipv4.%63[a-z_0-9] = %lld %n", name, &v, &used) == 2) &&
        !t->text[used] && v >= 0) {
        for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
            if (!strcmp(name, names[i])) {
                ev->sysctl = i;
                ev->sysctl_val = v;
                return 0;
            }
        }
    }
    return perr(p, t, "unsupported shell command `%s` (synfin maps only "
                "sysctl net.ipv4.tcp_{syn,synack}_retries, tcp_retries1/2, "
                "tcp_fin_timeout)", t->text);
}

/* ------------------------------------------------------------- events */

static int parse_event(struct parser *p, struct drill_event *ev)
{
    const struct drill_token *t = peek(p);
    ev->line = t->line;
    if (parse_time(p, &ev->time))
        return -1;
    t = peek(p);
    if (t->line != ev->line)
        return perr(p, t, "an event must follow its time on the same line");
    if (is_punct(t, '<') || is_punct(t, '>'))
        return parse_seg(p, ev);
    if (t->kind == TK_CODE)
        return parse_assert(p, ev, take(p));
    if (t->kind == TK_SHELL)
        return parse_shell(p, ev, take(p));
    if (t->kind == TK_IDENT && is_punct(&p->t->v[p->i + 1], '('))
        return parse_call(p, ev);
    return perr(p, t, "expected a segment, a system call, %%{ }%% or `...` "
                "after the time, found '%s'", tok_desc(t));
}

static int check_event_end(struct parser *p, const struct drill_event *ev)
{
    const struct drill_token *t = peek(p);
    const struct drill_token *last = &p->t->v[p->i - 1];
    if (t->kind != TK_EOF && t->line == last->line)
        return perr(p, t, "unexpected '%s' after the event of line %d",
                    tok_desc(t), ev->line);
    if (ev->time.blocking && ev->kind != EV_CALL)
        return perr(p, &p->t->v[p->i - 1], "only a system call may block (a...b)");
    return 0;
}

static int parse_all(struct parser *p, struct drill_script *sc)
{
    char msg[256];
    size_t cap = 0;
    while (peek(p)->kind == TK_OPTION) {
        const struct drill_token *t = take(p);
        if (drill_setting(&sc->settings, t->text, msg, sizeof msg))
            return perr(p, t, "%s", msg);
    }
    while (peek(p)->kind != TK_EOF) {
        if (peek(p)->kind == TK_OPTION)
            return perr(p, peek(p), "options must come before the first event");
        if (sc->nev == cap) {
            cap = cap ? cap * 2 : 32;
            struct drill_event *v = realloc(sc->ev, cap * sizeof *v);
            if (!v)
                return perr(p, peek(p), "out of memory");
            sc->ev = v;
        }
        struct drill_event *ev = memset(&sc->ev[sc->nev++], 0, sizeof *ev);
        if (parse_event(p, ev) || check_event_end(p, ev))
            return -1;
    }
    return 0;
}

int drill_parse(const char *path, const char *src, struct drill_script *sc,
                char *err, size_t errlen)
{
    struct drill_tokens toks;
    char lexerr[256];
    sc->path = path;
    sc->ev = NULL;
    sc->nev = 0;
    if (drill_lex(src, &toks, lexerr, sizeof lexerr)) {
        snprintf(err, errlen, "%s:%s", path, lexerr);
        drill_tokens_free(&toks);
        return -1;
    }
    struct parser p = {.t = &toks, .path = path, .err = err, .errlen = errlen};
    int rc = parse_all(&p, sc);
    drill_tokens_free(&toks);
    return rc;
}

static void expr_free(struct drill_expr *e)
{
    for (size_t i = 0; i < e->nkids; i++)
        expr_free(&e->kids[i]);
    free(e->kids);
    free(e->name);
    free(e->field);
}

void drill_script_free(struct drill_script *sc)
{
    for (size_t i = 0; i < sc->nev; i++) {
        struct drill_event *ev = &sc->ev[i];
        free(ev->seg.opts);
        free(ev->call.name);
        for (size_t a = 0; a < ev->call.nargs; a++)
            expr_free(&ev->call.args[a]);
        free(ev->call.args);
        expr_free(&ev->call.ret);
        free(ev->call.errname);
        free(ev->text);
    }
    free(sc->ev);
    sc->ev = NULL;
    sc->nev = 0;
}
