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
    return sf_addr_eq(a, b);
}

struct sf_addr drill_stack_addr(const struct drill_runner *r, uint16_t port)
{
    static const uint8_t ip6[16] = DRILL_STACK_IP6;
    return r->sc->settings.ip_version == DRILL_IPV6
               ? sf_addr6(ip6, port) : sf_addr4(DRILL_STACK_IP, port);
}

/* Where inbound segments go: the stack's address, or with
 * --dst_addr=foreign one it does not own. */
static struct sf_addr dst_addr(const struct drill_runner *r, uint16_t port)
{
    static const uint8_t ip6[16] = DRILL_FOREIGN_IP6;
    if (!r->sc->settings.dst_foreign)
        return drill_stack_addr(r, port);
    return r->sc->settings.ip_version == DRILL_IPV6
               ? sf_addr6(ip6, port) : sf_addr4(DRILL_FOREIGN_IP, port);
}

struct sf_addr drill_peer_addr(const struct drill_runner *r, uint16_t port)
{
    static const uint8_t ip6[16] = DRILL_PEER_IP6;
    return r->sc->settings.ip_version == DRILL_IPV6
               ? sf_addr6(ip6, port) : sf_addr4(DRILL_PEER_IP, port);
}

/* A datagram of either family, its IP layer as the runner needs it. */
struct dgram {
    struct sf_addr src, dst; /* with the TCP ports */
    uint8_t tos;             /* IPv4 TOS or IPv6 Traffic Class */
    const uint8_t *tcp;      /* the TCP header */
};

/* Parses an IPv4 or IPv6 datagram (by its version nibble) and its TCP
 * segment with the wire layer: SF_DROP_NONE or why not. */
static enum sf_drop parse_any(const uint8_t *buf, size_t len, struct dgram *d,
                              struct sf_tcp *seg)
{
    enum sf_drop e;
    memset(d, 0, sizeof *d);
    if (len && buf[0] >> 4 == 6) {
        struct sf_ipv6 ip6;
        if ((e = sf_ipv6_parse(buf, len, &ip6)) != SF_DROP_NONE)
            return e;
        d->src = sf_addr6(ip6.src, 0), d->dst = sf_addr6(ip6.dst, 0);
        d->tos = ip6.tclass, d->tcp = ip6.payload;
        e = sf_tcp6_parse(&ip6, seg);
    } else {
        struct sf_ipv4 ip4;
        if ((e = sf_ipv4_parse(buf, len, &ip4)) != SF_DROP_NONE)
            return e;
        d->src = sf_addr4(ip4.src, 0), d->dst = sf_addr4(ip4.dst, 0);
        d->tos = ip4.tos, d->tcp = ip4.payload;
        e = sf_tcp_parse(&ip4, seg);
    }
    d->src.port = seg->sport, d->dst.port = seg->dport;
    return e;
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

/* Writes the options in the given order (NOP and EOL included, which
 * sf_emit's struct cannot say), padded with EOL to a multiple of 4
 * (RFC 9293 3.1: EOL ends the list, the rest of the header is zero). The
 * parser keeps a list within SF_TCP_OPT_MAX bytes. */
size_t drill_seg_build_opts(const struct drill_opt *opts, size_t nopts, uint8_t *o)
{
    size_t n = 0;
    for (size_t i = 0; i < nopts; i++) {
        const struct drill_opt *p = &opts[i];
        if (n + drill_opt_len(p) > SF_TCP_OPT_MAX)
            break;
        switch (p->kind) {
        case OPT_NOP: o[n++] = 1; break;
        case OPT_EOL: o[n++] = 0; break;
        case OPT_MSS: o[n] = 2, o[n + 1] = 4, put16(o + n + 2, p->v[0]), n += 4; break;
        case OPT_WSCALE: o[n] = 3, o[n + 1] = 3, o[n + 2] = (uint8_t)p->v[0], n += 3; break;
        case OPT_SACKOK: o[n] = 4, o[n + 1] = 2, n += 2; break;
        case OPT_TS: /* RFC 7323 3.2: kind 8, length 10, TSval, TSecr */
            o[n] = 8, o[n + 1] = 10, put32(o + n + 2, p->v[0]);
            put32(o + n + 6, p->v[1]);
            n += 10;
            break;
        case OPT_SACK: /* RFC 2018 3: kind 5, length 2 + 8n, edge pairs */
            o[n] = 5, o[n + 1] = (uint8_t)(2 + 8 * p->n);
            for (int b = 0; b < 2 * p->n; b++)
                put32(o + n + 2 + 4 * b, p->v[b]);
            n += 2 + 8u * p->n;
            break;
        case OPT_UNKNOWN: break;
        }
    }
    while (n % 4)
        o[n++] = 0;
    return n;
}

static struct drill_conn *driven_conn(const struct drill_runner *r)
{
    return r->have_tuple ? conn_find(r, &r->local, &r->remote) : NULL;
}

/* The script's inbound options with its numbers turned into the stack's:
 * SACK edges are relative to the stack's ISN, as `ack` is; a TS ecr on a
 * segment with ACK echoes a TS val the script wrote on a `>` line, mapped
 * to the value the stack sent then (packetdrill's map_inbound_packet).
 * Returns false, with the reason in why, if a TS ecr cannot be mapped. */
bool drill_seg_map_inbound(const struct drill_runner *r,
                           const struct drill_seg *s, struct drill_opt *out,
                           char *why, size_t n)
{
    uint32_t base = stack_base(r);
    const struct drill_conn *c = driven_conn(r);
    for (size_t i = 0; i < s->nopts; i++) {
        struct drill_opt *o = &out[i];
        *o = s->opts[i];
        for (int b = 0; o->kind == OPT_SACK && b < 2 * o->n; b++)
            o->v[b] += base;
        if (o->kind != OPT_TS || !(s->flags & SF_ACK) || !c || !c->have_ts)
            continue; /* no TS from the stack yet: the ecr as written */
        size_t k = c->ntsmap;
        while (k > 0 && c->tsmap[k - 1].script != o->v[1])
            k--;
        if (k > 0) {
            o->v[1] = c->tsmap[k - 1].actual;
        } else if (r->sc->settings.ts_ecr_scaled) {
            o->v[1] = o->v[1] - c->ts_script0 + c->ts_actual0;
        } else {
            snprintf(why, n, "cannot map inbound TS ecr %" PRIu32 ": no `>` "
                     "line had TS val %" PRIu32 " (--tcp_ts_ecr_scaled "
                     "interpolates)", o->v[1], o->v[1]);
            return false;
        }
    }
    return true;
}

/* What the wire layer must read back from options built from list (RFC
 * 9293 3.1: parsing stops at EOL; a repeated option: the last one). */
static void expect_parsed(const struct drill_opt *list, size_t n,
                          struct sf_tcp_opts *w)
{
    memset(w, 0, sizeof *w);
    for (size_t i = 0; i < n && list[i].kind != OPT_EOL; i++) {
        const struct drill_opt *p = &list[i];
        switch (p->kind) {
        case OPT_MSS: w->has_mss = true, w->mss = (uint16_t)p->v[0]; break;
        case OPT_WSCALE: w->has_wscale = true, w->wscale = (uint8_t)p->v[0]; break;
        case OPT_SACKOK: w->sack_ok = true; break;
        case OPT_TS: w->has_ts = true, w->ts_val = p->v[0], w->ts_ecr = p->v[1]; break;
        case OPT_SACK:
            w->nsack = p->n;
            for (int b = 0; b < p->n; b++)
                w->sack[b][0] = p->v[2 * b], w->sack[b][1] = p->v[2 * b + 1];
            break;
        default: break;
        }
    }
}

static bool same_parsed(const struct sf_tcp_opts *a, const struct sf_tcp_opts *b)
{
    bool ok = a->has_mss == b->has_mss && (!a->has_mss || a->mss == b->mss) &&
              a->has_wscale == b->has_wscale &&
              (!a->has_wscale || a->wscale == b->wscale) &&
              a->sack_ok == b->sack_ok && a->has_ts == b->has_ts &&
              (!a->has_ts || (a->ts_val == b->ts_val && a->ts_ecr == b->ts_ecr)) &&
              a->nsack == b->nsack;
    for (int i = 0; ok && i < a->nsack; i++)
        ok = a->sack[i][0] == b->sack[i][0] && a->sack[i][1] == b->sack[i][1];
    return ok;
}

static uint8_t ecn_bits(enum drill_ecn e)
{
    /* RFC 3168 5: ECT(1) 01, ECT(0) 10, CE 11 */
    return e == ECN_ECT1 ? 1 : e == ECN_ECT0 ? 2 : e == ECN_CE ? 3 : 0;
}

/* The IP header of an inbound datagram whose TCP segment (tlen bytes)
 * follows: IPv4 (RFC 791) or IPv6 (RFC 8200) with the extension headers
 * the line asks for, each 8 bytes with an empty option area (a PadN of 4
 * after the 2-byte header: RFC 8200 4.2). Returns its length. */
static size_t build_ip(const struct drill_runner *r, const struct drill_seg *s,
                       size_t tlen, uint8_t *b)
{
    if (r->remote.family != SF_AF_INET6) {
        memset(b, 0, 20);
        b[0] = 0x45, b[1] = ecn_bits(s->ecn), put16(b + 2, (uint32_t)(20 + tlen));
        b[6] = 0x40, b[8] = 64, b[9] = SF_IPPROTO_TCP_NUM;
        put32(b + 12, r->remote.ip), put32(b + 16, r->local.ip);
        put16(b + 10, sf_csum_fold(sf_csum_add(0, b, 20)));
        return 20;
    }
    static const uint8_t kinds[] = {0 /* Hop-by-Hop */, 60 /* Dest. Opts */};
    size_t n = 40, next_at = 6;
    memset(b, 0, 40);
    b[0] = 0x60; /* version 6; the ECN field in the Traffic Class */
    b[1] = (uint8_t)(ecn_bits(s->ecn) << 4), b[7] = 64;
    memcpy(b + 8, r->remote.ip6, 16), memcpy(b + 24, r->local.ip6, 16);
    for (int i = 0; i < 2; i++) {
        if (!(s->ip6_ext & (1u << i)))
            continue;
        b[next_at] = kinds[i];
        memset(b + n, 0, 8);
        b[n + 2] = 1, b[n + 3] = 4; /* PadN, 4 bytes of padding */
        next_at = n;
        n += 8;
    }
    b[next_at] = SF_IPPROTO_TCP_NUM;
    put16(b + 4, (uint32_t)(n - 40 + tlen));
    return n;
}

/* The TCP checksum's pseudo-header sum (RFC 9293 3.1; RFC 8200 8.1). */
static uint32_t pseudo_sum(const struct drill_runner *r, size_t tlen)
{
    uint8_t p[40] = {0};
    if (r->remote.family == SF_AF_INET6) {
        memcpy(p, r->remote.ip6, 16), memcpy(p + 16, r->local.ip6, 16);
        put32(p + 32, (uint32_t)tlen), p[39] = SF_IPPROTO_TCP_NUM;
        return sf_csum_add(0, p, 40);
    }
    put32(p, r->remote.ip), put32(p + 4, r->local.ip);
    p[9] = SF_IPPROTO_TCP_NUM, put16(p + 10, (uint32_t)tlen);
    return sf_csum_add(0, p, 12);
}

/* A whole IPv4+TCP or IPv6+TCP datagram with its checksums (RFC 791,
 * RFC 8200, RFC 9293 3.1); [bad_csum] makes the TCP one wrong. */
static size_t build(struct drill_runner *r, const struct drill_seg *s,
                    const struct drill_opt *opts, uint8_t *b, size_t cap)
{
    uint8_t o[SF_TCP_OPT_MAX + 16];
    size_t olen = drill_seg_build_opts(opts, s->nopts, o), tlen = 20 + olen + s->len;
    if (56 + tlen > cap)
        return 0;
    size_t hl = build_ip(r, s, tlen, b);
    uint8_t *t = b + hl;
    memset(t, 0, 20);
    put16(t, r->remote.port), put16(t + 2, r->local.port);
    put32(t + 4, DRILL_PEER_ISN + s->seq);
    put32(t + 8, s->has_ack ? stack_base(r) + s->ack : 0);
    t[12] = (uint8_t)((20 + olen) / 4 << 4), t[13] = s->flags;
    put16(t + 14, s->has_win ? s->win : 65535), put16(t + 18, s->urg);
    memcpy(t + 20, o, olen);
    /* payload: a pattern by stream offset. The first data byte is at
     * relative 1 (the SYN takes the ISN, relative 0), so a SYN's data
     * starts at offset 0 as the data after it does (RFC 9293 3.4). */
    uint32_t off = (s->flags & SF_SYN) ? s->seq : s->seq - 1;
    for (uint32_t i = 0; i < s->len; i++)
        t[20 + olen + i] = (uint8_t)('a' + (off + i) % 26);
    uint16_t csum = sf_csum_fold(sf_csum_add(pseudo_sum(r, tlen), t, tlen));
    put16(t + 16, s->bad_csum ? (uint16_t)(csum ^ 0x0100) : csum);
    return hl + tlen;
}

static bool parse(const uint8_t *buf, size_t len, struct dgram *d,
                  struct sf_tcp *seg)
{
    return parse_any(buf, len, d, seg) == SF_DROP_NONE;
}

/* An ICMP "too big" from a router (198.18.0.254, 2001:db8::fe) quoting
 * the stack's segment s->seq:s->end (RFC 792 and RFC 1191 4: type 3 code
 * 4 with the next-hop MTU; RFC 4443 3.2: ICMPv6 type 2), the quote an IP
 * header and the 20-byte TCP header, checksums right. */
static size_t build_icmp(struct drill_runner *r, const struct drill_seg *s,
                         uint8_t *b)
{
    bool v6 = r->local.family == SF_AF_INET6;
    size_t ih = v6 ? 40 : 20, n = 8 + ih + 20;
    uint8_t *i = b + ih, *q = i + 8, *t = q + ih;
    memset(b, 0, ih + n);
    if (v6) {
        b[0] = 0x60, put16(b + 4, (uint32_t)n), b[6] = 58, b[7] = 64;
        memcpy(b + 8, r->remote.ip6, 16), b[8 + 15] = 0xfe;
        memcpy(b + 24, r->local.ip6, 16);
        q[0] = 0x60, put16(q + 4, 20 + s->len), q[6] = SF_IPPROTO_TCP_NUM;
        q[7] = 64;
        memcpy(q + 8, r->local.ip6, 16), memcpy(q + 24, r->remote.ip6, 16);
        if (s->icmp_error)
            i[0] = s->icmp6_type, i[1] = s->icmp6_code;
        else
            i[0] = 2, put32(i + 4, s->icmp_mtu);
    } else {
        b[0] = 0x45, put16(b + 2, (uint32_t)(20 + n)), b[8] = 64, b[9] = 1;
        put32(b + 12, (r->remote.ip & ~0xffu) | 0xfe), put32(b + 16, r->local.ip);
        put16(b + 10, sf_csum_fold(sf_csum_add(0, b, 20)));
        q[0] = 0x45, put16(q + 2, 40 + s->len), q[6] = 0x40, q[8] = 64;
        q[9] = SF_IPPROTO_TCP_NUM;
        put32(q + 12, r->local.ip), put32(q + 16, r->remote.ip);
        put16(q + 10, sf_csum_fold(sf_csum_add(0, q, 20)));
        if (s->icmp_error)
            i[0] = s->icmp4_type, i[1] = s->icmp4_code;
        else
            i[0] = 3, i[1] = 4, put16(i + 6, s->icmp_mtu);
    }
    put16(t, r->local.port), put16(t + 2, r->remote.port);
    put32(t + 4, stack_base(r) + s->seq);
    t[12] = 5 << 4, t[13] = SF_ACK;
    uint32_t sum = sf_csum_add(0, i, n);
    if (v6) {
        uint8_t ph[40] = {0};
        memcpy(ph, b + 8, 32);
        put32(ph + 32, (uint32_t)n), ph[39] = 58;
        sum = sf_csum_add(sf_csum_add(0, ph, 40), i, n);
    }
    put16(i + 2, sf_csum_fold(sum));
    return ih + n;
}

void drill_seg_inject(struct drill_runner *r, const struct drill_event *ev)
{
    if (ev->seg.icmp_too_big || ev->seg.icmp_error) {
        uint8_t m[160];
        if (!r->have_tuple) {
            drill_fail(r, ev->line, "an ICMP line needs a connection to "
                       "quote", NULL, 0, NULL, 0);
            return;
        }
        if (ev->seg.icmp_error &&
            (r->local.family == SF_AF_INET6 ? ev->seg.icmp6_type
                                            : ev->seg.icmp4_type) == 0) {
            drill_fail(r, ev->line, "this ICMP code has no meaning on "
                       "this IP version's wire", NULL, 0, NULL, 0);
            return;
        }
        size_t n = build_icmp(r, &ev->seg, m);
        if (r->ctx->verbose && ev->seg.icmp_error)
            printf("  %10.6f < icmp error type %u code %u [%" PRIu32 ":%"
                   PRIu32 "(%" PRIu32 ")]\n", (double)r->now / (double)SF_SEC,
                   r->local.family == SF_AF_INET6 ? ev->seg.icmp6_type
                                                  : ev->seg.icmp4_type,
                   r->local.family == SF_AF_INET6 ? ev->seg.icmp6_code
                                                  : ev->seg.icmp4_code,
                   ev->seg.seq, ev->seg.end, ev->seg.len);
        else if (r->ctx->verbose)
            printf("  %10.6f < icmp too big mtu %" PRIu32 " [%" PRIu32 ":%"
                   PRIu32 "(%" PRIu32 ")]\n", (double)r->now / (double)SF_SEC,
                   ev->seg.icmp_mtu, ev->seg.seq, ev->seg.end, ev->seg.len);
        sf_stack_input(r->st, r->now, m, n);
        return;
    }
    static const size_t cap = 65535 + 128;
    struct drill_opt opts[SF_TCP_OPT_MAX];
    char why[200];
    if (!r->have_tuple) { /* a new socket under test: to the listener's
                           * port, from a peer port not used before */
        r->local = dst_addr(r, DRILL_PORT);
        r->remote = drill_peer_addr(r, (uint16_t)(DRILL_PEER_PORT +
                                                  r->defaults_used++));
        r->have_tuple = true;
    }
    if (ev->seg.nopts > SF_TCP_OPT_MAX) /* the parser keeps it within */
        return;
    if (ev->seg.ip6_ext && r->remote.family != SF_AF_INET6) {
        drill_fail(r, ev->line, "[hbh] and [dstopt] are IPv6 extension "
                   "headers: they need --ip_version=ipv6", NULL, 0, NULL, 0);
        return;
    }
    if (!drill_seg_map_inbound(r, &ev->seg, opts, why, sizeof why)) {
        drill_fail(r, ev->line, why, NULL, 0, NULL, 0);
        return;
    }
    uint8_t *buf = calloc(1, cap);
    if (!buf)
        return;
    size_t len = build(r, &ev->seg, opts, buf, cap);
    /* The builder's self-check: the wire layer must read the options and
     * the ECN field back as written, else the stack would be tested with
     * something else than the script says. */
    struct dgram d;
    struct sf_tcp seg = {0};
    struct sf_tcp_opts want;
    expect_parsed(opts, ev->seg.nopts, &want);
    enum sf_drop e = len ? parse_any(buf, len, &d, &seg) : SF_DROP_NONE;
    /* A script may send SYN with RST, which sf_tcp_parse refuses after it
     * read the options; [bad_csum] must be refused for its checksum. */
    bool bad = ev->seg.bad_csum;
    bool parsed = bad ? e == SF_DROP_TCP_CSUM
                      : e == SF_DROP_NONE || e == SF_DROP_TCP_FLAGS;
    if (len && (!parsed || (!bad && !same_parsed(&want, &seg.opt)) ||
                (d.tos & 3) != ecn_bits(ev->seg.ecn))) {
        drill_fail(r, ev->line, "internal error: the inbound datagram built "
                   "for this line does not parse back as written", NULL, 0,
                   NULL, 0);
        free(buf);
        return;
    }
    if (r->ctx->verbose) {
        char s[320];
        drill_seg_fmt_dgram(r, buf, len, s, sizeof s);
        printf("  %10.6f < %s\n", (double)r->now / (double)SF_SEC, s);
    }
    if (len)
        sf_stack_input_flags(r->st, r->now, buf, len,
                             r->sc->settings.in_batch ? SF_IN_BATCH : 0);
    free(buf);
}

void drill_seg_learn(struct drill_runner *r, const uint8_t *buf, size_t len)
{
    struct dgram d;
    struct sf_tcp seg;
    if (!parse(buf, len, &d, &seg))
        return;
    r->local = d.src;
    r->remote = d.dst;
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

/* ------------------------------------------------- options on the wire */

/* The options of a parsed TCP header t, in their order, each NOP and EOL one
 * entry (as packetdrill walks them). Returns the number of entries. */
static size_t read_opts(const uint8_t *t, struct drill_opt *out)
{
    const uint8_t *p = t + 20;
    size_t len = 4u * (t[12] >> 4) - 20, i = 0, n = 0;
    while (i < len && n < SF_TCP_OPT_MAX) {
        struct drill_opt *o = memset(&out[n++], 0, sizeof *o);
        uint8_t kind = p[i];
        size_t l = i + 1 < len ? p[i + 1] : 0;
        if (kind <= 1) {
            o->kind = kind ? OPT_NOP : OPT_EOL;
            i++;
            continue;
        }
        if (l < 2 || l > len - i) { /* sf_tcp_parse refuses these */
            o->kind = OPT_UNKNOWN, o->v[0] = kind, o->v[1] = (uint32_t)(len - i);
            break;
        }
        if (kind == 2 && l == 4) {
            o->kind = OPT_MSS, o->v[0] = (uint32_t)p[i + 2] << 8 | p[i + 3];
        } else if (kind == 3 && l == 3) {
            o->kind = OPT_WSCALE, o->v[0] = p[i + 2];
        } else if (kind == 4 && l == 2) {
            o->kind = OPT_SACKOK;
        } else if (kind == 5 && l >= 10 && (l - 2) % 8 == 0 && l <= 34) {
            o->kind = OPT_SACK, o->n = (uint8_t)((l - 2) / 8);
            for (size_t b = 0; b < 2u * o->n; b++) {
                const uint8_t *q = p + i + 2 + 4 * b;
                o->v[b] = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
                          (uint32_t)q[2] << 8 | q[3];
            }
        } else if (kind == 8 && l == 10) {
            o->kind = OPT_TS;
            for (size_t b = 0; b < 2; b++) {
                const uint8_t *q = p + i + 2 + 4 * b;
                o->v[b] = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
                          (uint32_t)q[2] << 8 | q[3];
            }
        } else {
            o->kind = OPT_UNKNOWN, o->v[0] = kind, o->v[1] = (uint32_t)l;
        }
        i += l;
    }
    return n;
}

#define APPEND(...)                                                          \
    (used += (size_t)snprintf(out + used, used < n ? n - used : 0, __VA_ARGS__), \
     used = used < n ? used : n)

static void fmt_opt(const struct drill_opt *p, char *out, size_t n)
{
    static const char *const names[] = {"nop", "eol", "mss", "wscale",
                                        "sackOK", "sack", "TS"};
    size_t used = 0;
    if (p->kind == OPT_UNKNOWN) {
        APPEND("kind %" PRIu32 " length %" PRIu32, p->v[0], p->v[1]);
        return;
    }
    APPEND("%s", names[p->kind]);
    if (p->kind == OPT_MSS || p->kind == OPT_WSCALE)
        APPEND(" %" PRIu32, p->v[0]);
    else if (p->kind == OPT_TS)
        APPEND(" val %" PRIu32 " ecr %" PRIu32, p->v[0], p->v[1]);
    for (int b = 0; p->kind == OPT_SACK && b < p->n; b++)
        APPEND(" %" PRIu32 ":%" PRIu32, p->v[2 * b], p->v[2 * b + 1]);
}

static void fmt_opt_list(const struct drill_opt *o, size_t k, char *out,
                         size_t n)
{
    size_t used = 0;
    char one[96];
    out[0] = 0;
    for (size_t i = 0; i < k; i++) {
        fmt_opt(&o[i], one, sizeof one);
        APPEND("%s%s%s", i ? "," : " <", one, i + 1 == k ? ">" : "");
    }
}

/* SACK edges of a datagram relative to the ISN of their sequence space:
 * the peer's for the stack's SACKs, the stack's for the peer's. */
static void sack_relative(struct drill_opt *o, size_t k, uint32_t base)
{
    for (size_t i = 0; i < k; i++)
        for (int b = 0; o[i].kind == OPT_SACK && b < 2 * o[i].n; b++)
            o[i].v[b] -= base;
}

/* packetdrill's per-socket TS learning (map_outbound_live_packet): the
 * first `>` line with a TS option and the datagram's TS fix the offset
 * between the script's clock and the stack's; every pair is remembered so
 * that an inbound TS ecr can name the TS val the script wrote. */
static void ts_learn(struct drill_conn *c, uint32_t script, uint32_t actual)
{
    if (!c->have_ts)
        c->have_ts = true, c->ts_script0 = script, c->ts_actual0 = actual;
    for (size_t i = 0; i < c->ntsmap; i++) {
        if (c->tsmap[i].script == script) {
            c->tsmap[i].actual = actual;
            return;
        }
    }
    if (c->ntsmap == c->tsmapcap) {
        size_t cap = c->tsmapcap ? 2 * c->tsmapcap : 8;
        struct drill_tsmap *v = realloc(c->tsmap, cap * sizeof *v);
        if (!v)
            return;
        c->tsmap = v, c->tsmapcap = cap;
    }
    c->tsmap[c->ntsmap++] = (struct drill_tsmap){script, actual};
}

static const struct drill_opt *first_ts(const struct drill_opt *o, size_t k)
{
    for (size_t i = 0; i < k; i++)
        if (o[i].kind == OPT_TS)
            return &o[i];
    return NULL;
}

void drill_seg_free(struct drill_runner *r)
{
    for (size_t i = 0; i < r->nconns; i++)
        free(r->conns[i].tsmap);
}

/* ------------------------------------------------------------- checking */

/* An outbound option list: the same options in the same order, NOP and
 * EOL included, with the same values (packetdrill's
 * verify_outbound_live_tcp_options), where SACK edges count from the
 * peer's ISN, a TS ecr must be exactly the value echoed and a TS val is
 * checked only with --tcp_ts_tick_usecs, in the script's clock. */
static bool opts_match(struct drill_runner *r, struct drill_conn *c,
                       const struct drill_seg *w, struct drill_opt *a,
                       size_t na, char *why, size_t n)
{
    char e1[96], e2[96];
    const struct drill_opt *sts = first_ts(w->opts, w->nopts), *ats = first_ts(a, na);
    if (c && sts && ats)
        ts_learn(c, sts->v[0], ats->v[0]);
    if (w->opts_mode == OPTS_ANY)
        return true;
    for (size_t i = 0; c && c->have_ts && i < na; i++)
        if (a[i].kind == OPT_TS) /* the stack's TS val in the script's clock */
            a[i].v[0] = c->ts_script0 + (a[i].v[0] - c->ts_actual0);
    for (size_t i = 0; i < w->nopts || i < na; i++) {
        const struct drill_opt *x = i < w->nopts ? &w->opts[i] : NULL;
        const struct drill_opt *y = i < na ? &a[i] : NULL;
        if (x)
            fmt_opt(x, e1, sizeof e1);
        if (y)
            fmt_opt(y, e2, sizeof e2);
        if (!y) {
            snprintf(why, n, "options differ: the script has '%s' as option "
                     "%zu, the stack sent %zu", e1, i + 1, na);
            return false;
        }
        if (!x) {
            snprintf(why, n, "options differ: the stack sent '%s' as option "
                     "%zu, the script lists %zu", e2, i + 1, w->nopts);
            return false;
        }
        bool ok = x->kind == y->kind;
        if (ok && (x->kind == OPT_MSS || x->kind == OPT_WSCALE))
            ok = x->v[0] == y->v[0];
        if (ok && x->kind == OPT_SACK) {
            ok = x->n == y->n;
            for (int b = 0; ok && b < 2 * x->n; b++)
                ok = x->v[b] == y->v[b];
        }
        if (ok && x->kind == OPT_TS) {
            ok = x->v[1] == y->v[1];
            int64_t tick = r->sc->settings.ts_tick_us;
            if (ok && tick && c && c->have_ts) {
                /* packetdrill: |actual - script| ticks, in the script's
                 * clock, times the tick length, within the tolerance */
                uint32_t mapped = y->v[0];
                int64_t d = (int32_t)(mapped - x->v[0]);
                d = d < 0 ? -d : d;
                if (d * tick > r->sc->settings.tolerance_us) {
                    snprintf(why, n, "TS val differs: %" PRIu32 " in the "
                             "script's clock, %" PRId64 " ticks of %" PRId64
                             " us from %" PRIu32 ", more than the tolerance",
                             mapped, d, tick, x->v[0]);
                    return false;
                }
            }
        }
        if (!ok) {
            snprintf(why, n, "options differ: option %zu is '%s', the script "
                     "has '%s'", i + 1, e2, e1);
            return false;
        }
    }
    return true;
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

static bool ecn_ok(enum drill_ecn want, uint8_t bits)
{
    if (want == ECN_UNSET)
        return true;
    if (want == ECN_ECT01)
        return bits == 1 || bits == 2;
    return bits == ecn_bits(want);
}

bool drill_seg_match(struct drill_runner *r, const struct drill_seg *w,
                     const uint8_t *buf, size_t len, char *why, size_t n)
{
    struct dgram d;
    struct sf_tcp s;
    struct drill_opt a[SF_TCP_OPT_MAX];
    if (!parse(buf, len, &d, &s)) {
        snprintf(why, n, "the stack emitted a malformed datagram");
        return false;
    }
    /* the wire's family and addresses are the script's (as packetdrill
     * checks them): a stack that answered an IPv6 segment over IPv4, or
     * from another address, fails here (--dst_addr=foreign: from that
     * address, which is not the stack's) */
    struct sf_addr me = dst_addr(r, 0), peer = drill_peer_addr(r, 0);
    if (!sf_addr_ip_eq(&d.src, &me) || !sf_addr_ip_eq(&d.dst, &peer)) {
        char x[SF_ADDR_STRLEN], y[SF_ADDR_STRLEN];
        snprintf(why, n, "addresses differ: %s > %s", sf_addr_ip_fmt(&d.src, x, sizeof x),
                 sf_addr_ip_fmt(&d.dst, y, sizeof y));
        size_t u = strlen(why);
        snprintf(why + u, n - u, ", the script's are %s > %s",
                 sf_addr_ip_fmt(&me, x, sizeof x), sf_addr_ip_fmt(&peer, y, sizeof y));
        return false;
    }
    struct sf_addr local = d.src, remote = d.dst;
    uint32_t seq = s.seq - base_of(r, &local, &remote), ack = s.ack - DRILL_PEER_ISN;
    size_t na = read_opts(d.tcp, a);
    sack_relative(a, na, DRILL_PEER_ISN);
    if (s.flags != w->flags)
        snprintf(why, n, "flags differ");
    else if (seq != w->seq || s.len != w->len)
        snprintf(why, n, "sequence numbers differ");
    else if (w->has_ack && ack != w->ack)
        snprintf(why, n, "ack differs");
    else if (w->has_win && s.win != w->win)
        snprintf(why, n, "window differs");
    else if (!ecn_ok(w->ecn, d.tos & 3))
        snprintf(why, n, "ECN field differs");
    else if (r->sc->settings.check_data && !payload_ok(&s, seq))
        snprintf(why, n, "payload differs from what write() supplied");
    else
        return opts_match(r, conn_find(r, &local, &remote), w, a, na, why, n);
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

static const char *const ecn_names[] = {"noecn", "ect1", "ect0", "ce"};

/* want: the `>` line the datagram is shown against, or NULL (a trace). */
static void fmt_dgram(struct drill_runner *r, const struct drill_seg *want,
                      const uint8_t *buf, size_t len, char *out, size_t n)
{
    struct dgram d;
    struct sf_tcp s;
    struct drill_opt o[SF_TCP_OPT_MAX];
    char fl[10], opts[256];
    size_t used = 0;
    if (!parse(buf, len, &d, &s)) {
        snprintf(out, n, "(malformed datagram, %zu bytes)", len);
        return;
    }
    struct sf_addr peer = drill_peer_addr(r, 0);
    bool in = sf_addr_ip_eq(&d.src, &peer);
    /* the stack's side of the datagram's own 4-tuple */
    struct sf_addr local = in ? d.dst : d.src;
    struct sf_addr remote = in ? d.src : d.dst;
    uint32_t base = base_of(r, &local, &remote);
    uint32_t seq = s.seq - (in ? DRILL_PEER_ISN : base);
    uint32_t ack = s.ack - (in ? base : DRILL_PEER_ISN);
    size_t k = read_opts(d.tcp, o);
    sack_relative(o, k, in ? base : DRILL_PEER_ISN);
    const struct drill_conn *c = conn_find(r, &local, &remote);
    for (size_t i = 0; want && !in && c && c->have_ts && i < k; i++)
        if (o[i].kind == OPT_TS) /* the TS val in the script's clock */
            o[i].v[0] = c->ts_script0 + (o[i].v[0] - c->ts_actual0);
    if ((d.tos & 3) || (want && want->ecn != ECN_UNSET))
        APPEND("[%s] ", ecn_names[d.tos & 3]);
    fmt_flags(s.flags, fl);
    APPEND("%-2s %" PRIu32 ":%" PRIu32 "(%zu)", fl, seq, seq + (uint32_t)s.len, s.len);
    if (s.flags & SF_ACK)
        APPEND(" ack %" PRIu32, ack);
    APPEND(" win %u", s.win);
    fmt_opt_list(o, k, opts, sizeof opts);
    APPEND("%s", opts);
}

void drill_seg_fmt_dgram(struct drill_runner *r, const uint8_t *buf,
                         size_t len, char *out, size_t n)
{
    fmt_dgram(r, NULL, buf, len, out, n);
}

void drill_seg_fmt_actual(struct drill_runner *r, const struct drill_seg *want,
                          const uint8_t *buf, size_t len, char *out, size_t n)
{
    fmt_dgram(r, want, buf, len, out, n);
}

void drill_seg_fmt_script(const struct drill_seg *s, char *out, size_t n)
{
    static const char *const marks[] = {
        [ECN_NOECN] = "noecn", [ECN_ECT0] = "ect0", [ECN_ECT1] = "ect1",
        [ECN_CE] = "ce", [ECN_ECT01] = "ect01"};
    char fl[10], opts[256];
    size_t used = 0;
    if (s->ecn != ECN_UNSET)
        APPEND("[%s] ", marks[s->ecn]);
    fmt_flags(s->flags, fl);
    APPEND("%-2s %" PRIu32 ":%" PRIu32 "(%" PRIu32 ")", fl, s->seq, s->end, s->len);
    if (s->has_ack)
        APPEND(" ack %" PRIu32, s->ack);
    if (s->has_win)
        APPEND(" win %" PRIu32, s->win);
    if (s->opts_mode == OPTS_ANY)
        APPEND(" <...>");
    fmt_opt_list(s->opts, s->nopts, opts, sizeof opts);
    APPEND("%s", opts);
}
