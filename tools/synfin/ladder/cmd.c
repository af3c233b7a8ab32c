/* synfin ladder FILE: the ladder diagram of one TCP connection in a pcap
 * or pcapng capture, with both sides' states inferred from the segments
 * (infer.c). Reads every TCP segment over IPv4 or IPv6, groups them by
 * connection, lists the connections or draws one. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "io/dgram.h"
#include "io/json.h"
#include "io/pcap.h"
#include "lab/lab.h"
#include "ladder/infer.h"
#include "ladder/ladder.h"
#include "ladder/ladder_int.h"
#include "ladder/svg.h"
#include "opt.h"

struct cap_seg {
    sf_time_t t;
    uint8_t *d; /* the datagram, checksums recomputed */
    size_t len;
    size_t off; /* of the TCP header */
    int conn;
    bool fixed; /* its checksum was wrong (offload) or it was cut short */
};

struct conn {
    /* [0]: the client (first SYN sender, else first source); with ports */
    struct sf_addr a[2];
    unsigned long segs, bytes;
    bool syn, synack, fin, rst, passive, server_syn;
    sf_time_t first, last;
};

struct cap {
    struct cap_seg *s;
    size_t n, cap;
    struct conn *c;
    int nc, ccap;
    unsigned long frames, fixed, not_tcp;
};

struct lopts {
    const char *file, *svg, *html;
    int conn; /* 1-based, 0: none chosen */
    bool list, absolute, explain, zh, color, quiet;
};

/* A message about bad input, in Chinese with --lang zh (ladder/text.c);
 * what was typed (options, values, files) stays as it was. */
static int fail(bool zh, const char *msg, const char *arg)
{
    const char *sep = zh ? "：" : ": ";
    fprintf(stderr, "synfin ladder: %s%s%s\n", ladder_err_word(msg, zh),
            arg ? sep : "", arg ? arg : "");
    return 2;
}

static void report(const struct opt_err *e, bool zh)
{
    const char *sep = zh ? "：" : ": ";
    if (e->kind == OPT_E_BAD)
        fprintf(stderr, "synfin ladder: %s%s%s%s%s\n", e->name, sep,
                ladder_err_word(e->o->why, zh), sep, e->value);
    else
        fail(zh, e->kind == OPT_E_UNKNOWN && e->had_value
                     ? "unknown option" : "unknown option or missing value", e->name);
}
static void ladder_report(const struct opt_err *e) { report(e, false); }
static void ladder_report_zh(const struct opt_err *e) { report(e, true); }

static int ladder_positional(void *ctx, const char *a)
{
    struct lopts *o = ctx;
    if (o->file) {
        fail(o->zh, "one capture at a time", a);
        return OPT_FAIL;
    }
    o->file = a;
    return 0;
}

#define OFF(field) offsetof(struct lopts, field)
#define FLAG(nm, field, v, h) \
    {.name = nm, .kind = OPT_FLAG, .off = OFF(field), .as = OPT_AS_BOOL, .val = v, .help = h}

static const char *const langs[] = {"en", "zh", NULL};

static const struct opt ladder_opts_table[] = {
    FLAG("--list", list, 1, "list the TCP connections in the capture"),
    {.name = "--conn", .kind = OPT_INT, .off = OFF(conn), .as = OPT_AS_INT,
     .base = 10, .min = 1, .max = 1000000,
     .why = "must be a connection number (see --list)", .arg = "N",
     .help = "draw connection N (default: the only one)"},
    {.name = "--svg", .kind = OPT_STR, .off = OFF(svg), .arg = "FILE",
     .help = "also write the ladder as a standalone SVG"},
    FLAG("--absolute", absolute, 1, "real sequence numbers"),
    FLAG("--explain", explain, 1, "say why at each new kind of step"),
    {.name = "--lang", .kind = OPT_ENUM, .off = OFF(zh), .as = OPT_AS_BOOL,
     .choices = langs, .why = "must be en or zh", .arg = "en|zh",
     .help = "language of --explain"},
    {.name = "--html", .kind = OPT_STR, .off = OFF(html), .arg = "FILE",
     .help = "also write the TCP lab: a self-contained web page\n"
             "that steps through the connection (docs/lab.md)"},
    FLAG("--quiet", quiet, 1, "no terminal ladder (with --svg)"),
    FLAG("--no-color", color, 0, "no ANSI colours"),
    FLAG("--color", color, 1, NULL),
    {.kind = OPT_END},
};

static int parse(struct lopts *o, int argc, char **argv)
{
    /* --lang first: what is said about the others is in its language */
    o->zh = ladder_args_zh(argc, argv);
    struct opt_group g = {ladder_opts_table, o, o->zh ? ladder_report_zh : ladder_report};
    struct opt_cmd c = {
        .prog = "synfin ladder",
        .usage = "usage: synfin ladder FILE.pcap [options]\n",
        .footer = "Reads pcap or pcapng (raw IP, Ethernet, Linux cooked SLL/SLL2,\n"
                  "loopback). States are inferred from the segments.\n",
        .groups = &g, .ngroups = 1, .flags = OPT_C_DASH_ARG,
        .positional = ladder_positional, .ctx = o};
    int rc = opt_parse(&c, argc, argv);
    if (rc)
        return rc;
    if (!o->file)
        return fail(o->zh, "no capture file given (synfin ladder FILE.pcap)", NULL);
    if (o->quiet && o->explain)
        return fail(o->zh, "--explain conflicts with --quiet", NULL);
    return 0;
}

/* ------------------------------------------------------------ reading */

static unsigned be16(const uint8_t *b)
{
    return (unsigned)b[0] << 8 | b[1];
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put16(uint8_t *b, unsigned v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

/* fix_datagram for IPv6 (no header checksum): the payload length cut to
 * the bytes captured, the TCP checksum over the RFC 8200 8.1
 * pseudo-header (source, destination, upper-layer length, next header). */
static bool fix_datagram6(uint8_t *d, size_t len, size_t off)
{
    uint8_t old[2];
    bool cut = 40 + (size_t)be16(d + 4) > len;
    if (cut)
        put16(d + 4, (unsigned)(len - 40));
    uint8_t *t = d + off;
    size_t tl = 40 + (size_t)be16(d + 4) - off;
    memcpy(old, t + 16, 2);
    uint8_t ph[40] = {0};
    memcpy(ph, d + 8, 32);
    ph[34] = (uint8_t)(tl >> 8);
    ph[35] = (uint8_t)tl;
    ph[39] = SF_IPPROTO_TCP_NUM;
    put16(t + 16, 0);
    put16(t + 16, sf_csum_fold(sf_csum_add(sf_csum_add(0, ph, 40), t, tl)));
    return cut || memcmp(old, t + 16, 2);
}

/* Recomputes both checksums: captures on Linux loopback (and any NIC with
 * checksum offload) record segments before the checksum is filled in. A
 * datagram cut short by the snaplen gets its lengths cut to match. Returns
 * true if anything changed. */
static bool fix_datagram(uint8_t *d, size_t len, size_t off)
{
    if (d[0] >> 4 == 6)
        return fix_datagram6(d, len, off);
    size_t ihl = (size_t)(d[0] & 15) * 4;
    uint8_t old[4] = {d[10], d[11], 0, 0};
    bool cut = be16(d + 2) > len;
    if (cut)
        put16(d + 2, (unsigned)len);
    put16(d + 10, 0);
    put16(d + 10, sf_csum_fold(sf_csum_add(0, d, ihl)));
    uint8_t *t = d + ihl;
    size_t tl = be16(d + 2) - ihl;
    memcpy(old + 2, t + 16, 2);
    uint8_t ph[12];
    memcpy(ph, d + 12, 8);
    ph[8] = 0;
    ph[9] = SF_IPPROTO_TCP_NUM;
    put16(ph + 10, (unsigned)tl);
    put16(t + 16, 0);
    put16(t + 16, sf_csum_fold(sf_csum_add(sf_csum_add(0, ph, 12), t, tl)));
    return cut || memcmp(old, d + 10, 2) || memcmp(old + 2, t + 16, 2);
}

/* The extension headers of RFC 8200 4 walked to reach TCP (their length
 * in 8-octet units after the first 8, 4.3): Hop-by-Hop, Routing,
 * Destination Options, and a Fragment header that holds the whole
 * datagram (offset 0, M 0; RFC 8200 4.5). More than 8, or anything else
 * (a real fragment, ESP, AH), and the datagram is not drawn. */
static bool tcp6_at(const uint8_t *d, size_t len, size_t *off)
{
    size_t end = 40 + (size_t)be16(d + 4), o = 40;
    uint8_t nh = d[6];
    if (end > len)
        end = len; /* cut by the snaplen */
    for (int i = 0; i < 8 && nh != SF_IPPROTO_TCP_NUM; i++) {
        if (o + 8 > end)
            return false;
        if (nh == 44 && (be16(d + o + 2) & 0xfff9) != 0) /* a fragment */
            return false;
        if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
            return false;
        size_t l = nh == 44 ? 8 : ((size_t)d[o + 1] + 1) * 8;
        nh = d[o];
        o += l;
    }
    if (nh != SF_IPPROTO_TCP_NUM || o + 20 > end ||
        o + (size_t)(d[o + 12] >> 4) * 4 > end)
        return false;
    *off = o;
    return true;
}

/* A TCP segment worth keeping: IPv4 unfragmented or IPv6 (tcp6_at), whole
 * TCP header; *off: where it starts. */
static bool tcp_ok(const uint8_t *d, size_t len, size_t *off)
{
    if (len >= 40 && d[0] >> 4 == 6)
        return tcp6_at(d, len, off);
    *off = len >= 1 ? (size_t)(d[0] & 15) * 4 : 0;
    if (len < 20 || d[0] >> 4 != 4 || (d[0] & 15) < 5 || d[9] != 6)
        return false;
    size_t ihl = (size_t)(d[0] & 15) * 4, tot = be16(d + 2);
    if (tot < ihl || (be16(d + 6) & 0x3fff))
        return false;
    size_t end = tot < len ? tot : len;
    return end >= ihl + 20 && end >= ihl + (size_t)(d[ihl + 12] >> 4) * 4;
}

/* The source and destination of a kept datagram, with the TCP ports. */
static void ends(const uint8_t *d, size_t off, struct sf_addr *s,
                 struct sf_addr *t)
{
    unsigned sp = be16(d + off), tp = be16(d + off + 2);
    if (d[0] >> 4 == 6) {
        *s = sf_addr6(d + 8, (uint16_t)sp);
        *t = sf_addr6(d + 24, (uint16_t)tp);
    } else {
        *s = sf_addr4(be32(d + 12), (uint16_t)sp);
        *t = sf_addr4(be32(d + 16), (uint16_t)tp);
    }
}

static int conn_of(struct cap *c, const uint8_t *d, size_t off)
{
    struct sf_addr s, t;
    ends(d, off, &s, &t);
    for (int i = 0; i < c->nc; i++) {
        struct conn *k = &c->c[i];
        if ((sf_addr_eq(&k->a[0], &s) && sf_addr_eq(&k->a[1], &t)) ||
            (sf_addr_eq(&k->a[1], &s) && sf_addr_eq(&k->a[0], &t)))
            return i;
    }
    if (c->nc == c->ccap) {
        int cap = c->ccap ? c->ccap * 2 : 16;
        struct conn *p = realloc(c->c, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        c->c = p;
        c->ccap = cap;
    }
    c->c[c->nc] = (struct conn){.a = {s, t}};
    return c->nc++;
}

static int add_seg(struct cap *c, const struct pcap_pkt *p)
{
    size_t off;
    if (!tcp_ok(p->ip, p->len, &off)) {
        c->not_tcp++;
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct cap_seg *s = realloc(c->s, cap * sizeof *s);
        if (!s)
            return -1;
        c->s = s;
        c->cap = cap;
    }
    size_t tot = p->ip[0] >> 4 == 6 ? 40 + (size_t)be16(p->ip + 4)
                                    : be16(p->ip + 2);
    size_t len = tot < p->len ? tot : p->len;
    struct cap_seg *s = &c->s[c->n];
    if (!(s->d = malloc(len)) || (s->conn = conn_of(c, p->ip, off)) < 0)
        return free(s->d), -1;
    memcpy(s->d, p->ip, len);
    s->len = len;
    s->off = off;
    s->t = p->t;
    s->fixed = fix_datagram(s->d, len, off);
    c->fixed += s->fixed;
    c->n++;
    return 0;
}

static int read_capture(const char *file, struct cap *c, bool zh)
{
    char err[400];
    struct pcapr *r = pcapr_open(file, err, sizeof err);
    if (!r) {
        /* the reader's reason (io/pcap.c) is English: in Chinese, our
         * words first, its own in parentheses */
        if (zh)
            fprintf(stderr, "synfin ladder: 无法读取抓包文件（%s）\n", err);
        return zh ? 2 : fail(false, err, NULL);
    }
    struct pcap_pkt p;
    int rc;
    while ((rc = pcapr_next(r, &p, err, sizeof err)) == 1)
        if (add_seg(c, &p))
            break;
    c->frames = pcapr_frames(r);
    c->not_tcp += pcapr_skipped(r);
    pcapr_close(r);
    if (rc < 0) {
        fprintf(stderr, zh ? "synfin ladder: %s：抓包文件被截断或已损坏（%s）\n"
                           : "synfin ladder: %s: truncated or damaged capture (%s)\n",
                file, err);
        return 1;
    }
    if (rc == 1)
        return fail(zh, "out of memory", NULL) - 1;
    if (!c->n) {
        if (zh)
            fprintf(stderr, "synfin ladder: %s：%lu 帧中没有 IPv4 或 IPv6 上的 TCP\n",
                    file, c->frames);
        else
            fprintf(stderr, "synfin ladder: %s: no TCP over IPv4 or IPv6 in %lu "
                    "frame%s\n",
                    file, c->frames, c->frames == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------- connections */

static uint8_t seg_flags(const struct cap_seg *s)
{
    return s->d[s->off + 13];
}

static bool from_side0(const struct conn *k, const struct cap_seg *s)
{
    struct sf_addr src, dst;
    ends(s->d, s->off, &src, &dst);
    return sf_addr_eq(&src, &k->a[0]);
}

/* Makes side 0 the client (the first bare SYN's sender) and notes what
 * each connection holds. */
static void summarize(struct cap *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct cap_seg *s = &c->s[i];
        struct conn *k = &c->c[s->conn];
        uint8_t f = seg_flags(s);
        if (!k->segs++)
            k->first = s->t;
        k->last = s->t;
        k->bytes += s->len - s->off - (size_t)(s->d[s->off + 12] >> 4) * 4;
        if ((f & (SF_SYN | SF_ACK)) == SF_SYN && !k->syn && !from_side0(k, s)) {
            struct sf_addr a = k->a[0];
            k->a[0] = k->a[1];
            k->a[1] = a;
        }
        bool srv = !from_side0(k, s);
        k->syn |= (f & (SF_SYN | SF_ACK)) == SF_SYN;
        k->server_syn |= srv && (f & (SF_SYN | SF_ACK)) == SF_SYN;
        k->synack |= (f & (SF_SYN | SF_ACK)) == (SF_SYN | SF_ACK);
        k->passive |= srv && !k->server_syn && (f & (SF_SYN | SF_ACK)) == (SF_SYN | SF_ACK);
        k->fin |= (f & SF_FIN) != 0;
        k->rst |= (f & SF_RST) != 0;
    }
}

/* The connections, one a line; the address columns as wide as the
 * longest address (21 for IPv4, up to 53 for IPv6), never cut. */
static void list_conns(const struct cap *c, FILE *f)
{
    int w = 21;
    for (int i = 0; i < c->nc; i++)
        for (int s = 0; s < 2; s++) {
            char a[SF_ADDR_STRLEN];
            int n = (int)strlen(sf_addr_fmt(&c->c[i].a[s], a, sizeof a));
            w = n > w ? n : w;
        }
    fprintf(f, "%4s  %-*s    %-*s %6s %9s %10s  %s\n", "conn", w, "client",
            w, "server", "segs", "bytes", "seconds", "seen");
    for (int i = 0; i < c->nc; i++) {
        const struct conn *k = &c->c[i];
        char a[SF_ADDR_STRLEN], b[SF_ADDR_STRLEN];
        fprintf(f, "%4d  %-*s -> %-*s %6lu %9lu %10.3f  %s%s%s%s\n", i + 1,
                w, sf_addr_fmt(&k->a[0], a, sizeof a),
                w, sf_addr_fmt(&k->a[1], b, sizeof b),
                k->segs, k->bytes, (double)(k->last - k->first) / (double)SF_SEC,
                k->syn ? "SYN " : "(no SYN: mid-connection) ",
                k->synack ? "SYN,ACK " : "", k->fin ? "FIN " : "",
                k->rst ? "RST" : "");
    }
}

/* ------------------------------------------------------------ drawing */

struct draw {
    struct ladder *lad;
    sf_time_t t;
    char path[2][300];
    struct jsonw *json;  /* --html: the events, as synfin sim's JSON */
    const struct conn *k;
    const char *names[2];
    int nh;
};

/* --html: a state change as the simulator's trace would say it. */
static void json_state(struct draw *d, int side, enum sf_state from,
                       enum sf_state to, enum sf_cause cause)
{
    if (!d->json)
        return;
    struct sf_trace_event t = {.kind = SF_TRACE_STATE, .now = d->t, .sd = -1,
                               .local = d->k->a[side], .remote = d->k->a[!side],
                               .from = from, .to = to, .cause = cause};
    if (d->nh == 1)
        t.remote = d->k->a[0];
    struct sf_sim_event ev = {.kind = SF_SIM_EV_STACK, .now = d->t,
                              .host = side, .trace = &t, .peer = -1};
    jsonw_event(d->json, &ev, d->names, d->nh);
}

static void on_state(void *ctx, int side, enum sf_state from, enum sf_state to,
                     enum sf_cause cause)
{
    struct draw *d = ctx;
    size_t n = strlen(d->path[side]), cap = sizeof d->path[side];
    if (!n && to == SF_LISTEN) /* the listener, as in synfin sim's paths */
        snprintf(d->path[side], cap, "LISTEN");
    else
        snprintf(d->path[side] + n, cap - n, "%s %s", n ? "" : sf_state_name(from),
                 sf_state_name(to));
    ladder_state(d->lad, d->t, side, from, to, cause);
    json_state(d, side, from, to, cause);
}

static void draw_conn(const struct cap *c, int ci, struct draw *d)
{
    const struct conn *k = &c->c[ci];
    bool self = sf_addr_eq(&k->a[0], &k->a[1]);
    struct infer in;
    sf_time_t t0 = k->first;
    d->t = 0;
    infer_init(&in, k->passive && !self, on_state, d);
    in.self = self;
    if (!k->syn)
        ladder_note(d->lad, 0, 0, "the capture starts inside the connection: "
                    "states unknown until a FIN or RST");
    for (size_t i = 0; i < c->n; i++) {
        const struct cap_seg *s = &c->s[i];
        if (s->conn != ci)
            continue;
        struct dgram g;
        int from = self ? 0 : !from_side0(k, s);
        d->t = s->t >= t0 ? s->t - t0 : 0;
        bool ok = !dgram_parse(s->d, s->len, &g);
        if (ok && k->syn)
            infer_send(&in, from, &g.t);
        ladder_segment(d->lad, d->t, from, self ? 0 : 1 - from, s->d, s->len,
                       d->t, NULL, LADDER_CAPTURED);
        /* --html: as sent, with no arrival time known (arrive_ns = t_ns) */
        struct sf_sim_event ev = {.kind = SF_SIM_EV_SEND, .now = d->t,
                                  .host = from, .peer = self ? 0 : 1 - from,
                                  .dgram = s->d, .len = s->len, .arrive = d->t};
        jsonw_event(d->json, &ev, d->names, d->nh);
        if (ok && k->syn)
            infer_recv(&in, from, &g.t);
    }
}

static int draw(const struct lopts *o, const struct cap *c, int ci)
{
    const struct conn *k = &c->c[ci];
    struct ladder_opts lo = {.color = o->color, .absolute = o->absolute,
                             .explain = o->explain, .zh = o->zh,
                             .msl = 30 * SF_SEC};
    struct ladder *lad = ladder_new(&lo);
    if (!lad)
        return 1;
    const char *base = strrchr(o->file, '/') ? strrchr(o->file, '/') + 1 : o->file;
    char title[200];
    if (o->zh)
        snprintf(title, sizeof title, "synfin ladder · %s · 第 %d 个连接（共 %d 个）· "
                 "%lu 个报文段 · 状态为推断", base, ci + 1, c->nc, k->segs);
    else
        snprintf(title, sizeof title, "synfin ladder · %s · connection %d of %d · "
                 "%lu segments · states inferred", base, ci + 1, c->nc, k->segs);
    ladder_title(lad, title);
    bool self = sf_addr_eq(&k->a[0], &k->a[1]);
    ladder_column(lad, self ? (o->zh ? "主机" : "host") : (o->zh ? "客户端" : "client"),
                  &k->a[0]);
    if (!self)
        ladder_column(lad, o->zh ? "服务器" : "server", &k->a[1]);
    struct draw d = {.lad = lad, .k = k, .nh = self ? 1 : 2,
                     .names = {self ? "host" : "client", "server"}};
    char err[300], *buf = NULL;
    size_t blen = 0;
    if (o->html && !(d.json = jsonw_open_mem(&buf, &blen, err, sizeof err))) {
        ladder_free(lad);
        return fail(o->zh, err, NULL) - 1;
    }
    draw_conn(c, ci, &d);
    if (!o->quiet)
        ladder_print(lad, stdout);
    for (int s = 0; s < (self ? 1 : 2); s++)
        printf("%-7s %s\n", self ? "host" : s ? "server" : "client",
               d.path[s][0] ? d.path[s] : "(no state change seen)");
    if (c->fixed)
        printf("note: %lu segment%s had checksums not filled in (offload) or "
               "were cut by the snaplen; drawn as recomputed\n", c->fixed,
               c->fixed == 1 ? "" : "s");
    int rc = 0;
    if (o->svg && svg_write_file(lad, o->svg, err, sizeof err))
        rc = fail(o->zh, err, NULL) - 1;
    if (d.json) {
        int bad = jsonw_close(d.json);
        /* a capture has no scenario to run again: no re-run arguments */
        if (bad || lab_html_write(o->html, title, buf, blen, NULL, err, sizeof err))
            rc = fail(o->zh, bad ? "--html: out of memory" : err, NULL) - 1;
    }
    free(buf);
    ladder_free(lad);
    return rc;
}

static void cap_free(struct cap *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->s[i].d);
    free(c->s);
    free(c->c);
}

int sf_cmd_ladder(int argc, char **argv)
{
    struct lopts o = {.color = isatty(STDOUT_FILENO)};
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct cap c = {0};
    rc = read_capture(o.file, &c, o.zh);
    if (!rc) {
        summarize(&c);
        if (o.list) {
            list_conns(&c, stdout);
        } else if (o.conn > c.nc) {
            if (o.zh)
                fprintf(stderr, "synfin ladder: --conn %d：抓包中只有 %d 个连接"
                        "（见 --list）\n", o.conn, c.nc);
            else
                fprintf(stderr, "synfin ladder: --conn %d: the capture has %d "
                        "connection%s (see --list)\n", o.conn, c.nc,
                        c.nc == 1 ? "" : "s");
            rc = 2;
        } else if (!o.conn && c.nc > 1) {
            list_conns(&c, stdout);
            fprintf(stderr, o.zh ? "synfin ladder: 共 %d 个连接：用 --conn N 选择一个\n"
                                 : "synfin ladder: %d connections: choose one with "
                                   "--conn N\n", c.nc);
            rc = 2;
        } else {
            rc = draw(&o, &c, o.conn ? o.conn - 1 : 0);
        }
    }
    cap_free(&c);
    return rc;
}
