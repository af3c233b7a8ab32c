/* drill segments: inbound ones built from a script line and handed to the
 * stack; outbound ones parsed with the wire layer and checked against the
 * script; both printed as packetdrill lines with relative numbers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/exec.h"

static bool same(const struct sf_addr *a, const struct sf_addr *b)
{
    return a->ip == b->ip && a->port == b->port;
}

static struct drill_conn *conn_find(const struct drill_runner *r,
                                    const struct sf_addr *local,
                                    const struct sf_addr *remote)
{
    for (size_t i = 0; i < r->nconns; i++)
        if (same(&r->conns[i].local, local) && same(&r->conns[i].remote, remote))
            return &r->conns[i];
    return NULL;
}

/* The stack's ISN on this 4-tuple; 0 before it sent a SYN there. */
static uint32_t base_of(const struct drill_runner *r, const struct sf_addr *local,
                        const struct sf_addr *remote)
{
    const struct drill_conn *c = conn_find(r, local, remote);
    return c && c->have_isn ? c->isn : 0;
}

/* ... on the connection the script drives. */
static uint32_t stack_base(const struct drill_runner *r)
{
    return r->have_tuple ? base_of(r, &r->local, &r->remote) : 0;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* The script's options in the script's order (NOP and EOL included, which
 * sf_emit's struct cannot say), padded with EOL to a multiple of 4. */
static size_t build_opts(const struct drill_seg *s, uint8_t *o)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nopts && n <= 30; i++) {
        const struct drill_opt *p = &s->opts[i];
        switch (p->kind) {
        case OPT_NOP: o[n++] = 1; break;
        case OPT_EOL: o[n++] = 0; break;
        case OPT_MSS: o[n] = 2, o[n + 1] = 4, put16(o + n + 2, p->v[0]), n += 4; break;
        case OPT_WSCALE: o[n] = 3, o[n + 1] = 3, o[n + 2] = (uint8_t)p->v[0], n += 3; break;
        case OPT_SACKOK: o[n] = 4, o[n + 1] = 2, n += 2; break;
        case OPT_TS:
            o[n] = 8, o[n + 1] = 10, put32(o + n + 2, p->v[0]);
            put32(o + n + 6, p->v[1]);
            n += 10;
            break;
        case OPT_SACK:
            if (n + 2 + 8u * p->n > SF_TCP_OPT_MAX)
                break;
            o[n] = 5, o[n + 1] = (uint8_t)(2 + 8 * p->n);
            for (int b = 0; b < 2 * p->n; b++)
                put32(o + n + 2 + 4 * b, p->v[b]);
            n += 2 + 8u * p->n;
            break;
        }
    }
    while (n % 4)
        o[n++] = 0;
    return n > SF_TCP_OPT_MAX ? SF_TCP_OPT_MAX : n;
}

/* A whole IPv4+TCP datagram with both checksums (RFC 791, RFC 9293 3.1). */
static size_t build(struct drill_runner *r, const struct drill_seg *s,
                    uint8_t *b, size_t cap)
{
    uint8_t opts[SF_TCP_OPT_MAX + 16];
    size_t olen = build_opts(s, opts), tlen = 20 + olen + s->len;
    if (20 + tlen > cap)
        return 0;
    memset(b, 0, 40);
    b[0] = 0x45, put16(b + 2, (uint32_t)(20 + tlen)), b[6] = 0x40;
    b[8] = 64, b[9] = SF_IPPROTO_TCP_NUM;
    put32(b + 12, r->remote.ip), put32(b + 16, r->local.ip);
    put16(b + 10, sf_csum_fold(sf_csum_add(0, b, 20)));
    uint8_t *t = b + 20;
    put16(t, r->remote.port), put16(t + 2, r->local.port);
    put32(t + 4, DRILL_PEER_ISN + s->seq);
    put32(t + 8, s->has_ack ? stack_base(r) + s->ack : 0);
    t[12] = (uint8_t)((20 + olen) / 4 << 4), t[13] = s->flags;
    put16(t + 14, s->has_win ? s->win : 65535), put16(t + 18, s->urg);
    memcpy(t + 20, opts, olen);
    /* payload: a pattern by stream offset. The first data byte is at
     * relative 1 (the SYN takes the ISN, relative 0), so a SYN's data
     * starts at offset 0 as the data after it does (RFC 9293 3.4). */
    uint32_t off = (s->flags & SF_SYN) ? s->seq : s->seq - 1;
    for (uint32_t i = 0; i < s->len; i++)
        t[20 + olen + i] = (uint8_t)('a' + (off + i) % 26);
    uint8_t pseudo[12];
    put32(pseudo, r->remote.ip), put32(pseudo + 4, r->local.ip);
    pseudo[8] = 0, pseudo[9] = SF_IPPROTO_TCP_NUM, put16(pseudo + 10, (uint32_t)tlen);
    put16(t + 16, sf_csum_fold(sf_csum_add(sf_csum_add(0, pseudo, 12), t, tlen)));
    return 20 + tlen;
}

void drill_seg_inject(struct drill_runner *r, const struct drill_event *ev)
{
    static const size_t cap = 65535 + 128;
    uint8_t *buf = calloc(1, cap);
    if (!buf)
        return;
    if (!r->have_tuple) { /* a new socket under test: to the listener's
                           * port, from a peer port not used before */
        r->local = (struct sf_addr){DRILL_STACK_IP, DRILL_PORT};
        r->remote = (struct sf_addr){DRILL_PEER_IP,
                                     (uint16_t)(DRILL_PEER_PORT + r->defaults_used++)};
        r->have_tuple = true;
    }
    size_t len = build(r, &ev->seg, buf, cap);
    if (r->ctx->verbose) {
        char s[256];
        drill_seg_fmt_dgram(r, buf, len, s, sizeof s);
        printf("  %10.6f < %s\n", (double)r->now / (double)SF_SEC, s);
    }
    if (len)
        sf_stack_input(r->st, r->now, buf, len);
    free(buf);
}

static bool parse(const uint8_t *buf, size_t len, struct sf_ipv4 *ip,
                  struct sf_tcp *seg)
{
    return sf_ipv4_parse(buf, len, ip) == SF_DROP_NONE &&
           sf_tcp_parse(ip, seg) == SF_DROP_NONE;
}

void drill_seg_learn(struct drill_runner *r, const uint8_t *buf, size_t len)
{
    struct sf_ipv4 ip;
    struct sf_tcp seg;
    if (!parse(buf, len, &ip, &seg))
        return;
    r->local = (struct sf_addr){ip.src, seg.sport};
    r->remote = (struct sf_addr){ip.dst, seg.dport};
    r->have_tuple = true;
    struct drill_conn *c = conn_find(r, &r->local, &r->remote);
    if (!c) {
        if (r->nconns == r->conncap) {
            size_t cap = r->conncap ? 2 * r->conncap : 8;
            struct drill_conn *v = realloc(r->conns, cap * sizeof *v);
            if (!v) {
                drill_fail(r, r->line, "out of memory", NULL, 0, NULL, 0);
                return;
            }
            r->conns = v, r->conncap = cap;
        }
        c = &r->conns[r->nconns++];
        *c = (struct drill_conn){.local = r->local, .remote = r->remote};
    }
    /* The first SYN the stack sends or answers with on this 4-tuple; its
     * retransmissions carry the same number. A later incarnation of the
     * same 4-tuple keeps the numbering, as packetdrill's socket does. */
    if ((seg.flags & SF_SYN) && !c->have_isn) {
        c->isn = seg.seq;
        c->have_isn = true;
    }
}

void drill_seg_new_socket(struct drill_runner *r)
{
    r->have_tuple = false;
}

/* ------------------------------------------------------------- checking */

static bool opts_match(const struct drill_seg *w, const struct sf_tcp_opts *o,
                       char *why, size_t n)
{
    struct sf_tcp_opts want = {0};
    if (w->opts_mode == OPTS_ANY)
        return true;
    for (size_t i = 0; i < w->nopts; i++) {
        const struct drill_opt *p = &w->opts[i];
        switch (p->kind) {
        case OPT_MSS: want.has_mss = true, want.mss = (uint16_t)p->v[0]; break;
        case OPT_WSCALE: want.has_wscale = true, want.wscale = (uint8_t)p->v[0]; break;
        case OPT_SACKOK: want.sack_ok = true; break;
        case OPT_TS: want.has_ts = true, want.ts_val = p->v[0], want.ts_ecr = p->v[1]; break;
        case OPT_SACK:
            want.nsack = p->n;
            memcpy(want.sack, p->v, sizeof want.sack);
            break;
        default: break;
        }
    }
    bool ok = want.has_mss == o->has_mss && (!o->has_mss || want.mss == o->mss) &&
              want.has_wscale == o->has_wscale &&
              (!o->has_wscale || want.wscale == o->wscale) &&
              want.sack_ok == o->sack_ok && want.has_ts == o->has_ts &&
              (!o->has_ts || (want.ts_val == o->ts_val && want.ts_ecr == o->ts_ecr)) &&
              want.nsack == o->nsack &&
              !memcmp(want.sack, o->sack, sizeof(uint32_t) * 2 * o->nsack);
    if (!ok)
        snprintf(why, n, "options differ");
    return ok;
}

/* --check_data: write() supplies 'A' + stream offset % 26 (calls.c); a
 * SYN's data starts at offset 0 as in build(). */
static bool payload_ok(const struct sf_tcp *s, uint32_t rel_seq)
{
    uint32_t off = (s->flags & SF_SYN) ? rel_seq : rel_seq - 1;
    for (size_t i = 0; i < s->len; i++)
        if (s->payload[i] != (uint8_t)('A' + (off + i) % 26))
            return false;
    return true;
}

bool drill_seg_match(struct drill_runner *r, const struct drill_seg *w,
                     const uint8_t *buf, size_t len, char *why, size_t n)
{
    struct sf_ipv4 ip;
    struct sf_tcp s;
    if (!parse(buf, len, &ip, &s)) {
        snprintf(why, n, "the stack emitted a malformed datagram");
        return false;
    }
    struct sf_addr local = {ip.src, s.sport}, remote = {ip.dst, s.dport};
    uint32_t seq = s.seq - base_of(r, &local, &remote), ack = s.ack - DRILL_PEER_ISN;
    if (s.flags != w->flags)
        snprintf(why, n, "flags differ");
    else if (seq != w->seq || s.len != w->len)
        snprintf(why, n, "sequence numbers differ");
    else if (w->has_ack && ack != w->ack)
        snprintf(why, n, "ack differs");
    else if (w->has_win && s.win != w->win)
        snprintf(why, n, "window differs");
    else if (r->sc->settings.check_data && !payload_ok(&s, seq))
        snprintf(why, n, "payload differs from what write() supplied");
    else
        return opts_match(w, &s.opt, why, n);
    return false;
}

/* ------------------------------------------------------------- printing */

static size_t fmt_flags(uint8_t f, char *out)
{
    static const char letters[] = "FSRPUEW";
    static const uint8_t bits[] = {SF_FIN, SF_SYN, SF_RST, SF_PSH,
                                   SF_URG, SF_ECE, SF_CWR};
    size_t n = 0;
    for (int i = 0; i < 7; i++)
        if (f & bits[i])
            out[n++] = letters[i];
    if (f & SF_ACK)
        out[n++] = '.';
    out[n] = 0;
    return n;
}

#define APPEND(...)                                                          \
    (used += (size_t)snprintf(out + used, used < n ? n - used : 0, __VA_ARGS__), \
     used = used < n ? used : n)

static void fmt_opts(const struct sf_tcp_opts *o, char *out, size_t n)
{
    size_t used = 0;
    const char *sep = "";
    out[0] = 0;
    if (o->has_mss)
        APPEND("%smss %u", sep, o->mss), sep = ",";
    if (o->sack_ok)
        APPEND("%ssackOK", sep), sep = ",";
    if (o->has_ts)
        APPEND("%sTS val %" PRIu32 " ecr %" PRIu32, sep, o->ts_val, o->ts_ecr), sep = ",";
    if (o->has_wscale)
        APPEND("%swscale %u", sep, o->wscale), sep = ",";
    if (o->nsack) {
        APPEND("%ssack", sep);
        for (int i = 0; i < o->nsack; i++)
            APPEND(" %" PRIu32 ":%" PRIu32, o->sack[i][0], o->sack[i][1]);
    }
}

void drill_seg_fmt_dgram(struct drill_runner *r, const uint8_t *buf,
                         size_t len, char *out, size_t n)
{
    struct sf_ipv4 ip;
    struct sf_tcp s;
    char fl[10], opts[160];
    size_t used = 0;
    if (!parse(buf, len, &ip, &s)) {
        snprintf(out, n, "(malformed datagram, %zu bytes)", len);
        return;
    }
    bool in = ip.src == DRILL_PEER_IP;
    /* the stack's side of the datagram's own 4-tuple */
    struct sf_addr local = {in ? ip.dst : ip.src, in ? s.dport : s.sport};
    struct sf_addr remote = {in ? ip.src : ip.dst, in ? s.sport : s.dport};
    uint32_t base = base_of(r, &local, &remote);
    uint32_t seq = s.seq - (in ? DRILL_PEER_ISN : base);
    uint32_t ack = s.ack - (in ? base : DRILL_PEER_ISN);
    fmt_flags(s.flags, fl);
    APPEND("%-2s %" PRIu32 ":%" PRIu32 "(%zu)", fl, seq, seq + (uint32_t)s.len, s.len);
    if (s.flags & SF_ACK)
        APPEND(" ack %" PRIu32, ack);
    APPEND(" win %u", s.win);
    fmt_opts(&s.opt, opts, sizeof opts);
    if (opts[0])
        APPEND(" <%s>", opts);
}

void drill_seg_fmt_script(const struct drill_seg *s, char *out, size_t n)
{
    char fl[10];
    size_t used = 0;
    fmt_flags(s->flags, fl);
    APPEND("%-2s %" PRIu32 ":%" PRIu32 "(%" PRIu32 ")", fl, s->seq, s->end, s->len);
    if (s->has_ack)
        APPEND(" ack %" PRIu32, s->ack);
    if (s->has_win)
        APPEND(" win %" PRIu32, s->win);
    if (s->opts_mode == OPTS_ANY)
        APPEND(" <...>");
    for (size_t i = 0; s->opts_mode == OPTS_LIST && i < s->nopts; i++) {
        const struct drill_opt *p = &s->opts[i];
        static const char *const names[] = {"nop", "eol", "mss", "wscale",
                                            "sackOK", "sack", "TS"};
        APPEND("%s%s", i ? "," : " <", names[p->kind]);
        if (p->kind == OPT_MSS || p->kind == OPT_WSCALE)
            APPEND(" %" PRIu32, p->v[0]);
        else if (p->kind == OPT_TS)
            APPEND(" val %" PRIu32 " ecr %" PRIu32, p->v[0], p->v[1]);
        for (int b = 0; p->kind == OPT_SACK && b < p->n; b++)
            APPEND(" %" PRIu32 ":%" PRIu32, p->v[2 * b], p->v[2 * b + 1]);
        if (i + 1 == s->nopts)
            APPEND(">");
    }
}
