/* synfin ladder FILE: the ladder diagram of one TCP connection in a pcap
 * or pcapng capture, with both sides' states inferred from the segments
 * (infer.c). Reads every IPv4 TCP segment, groups them by connection,
 * lists the connections or draws one. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "io/pcap.h"
#include "ladder/infer.h"
#include "ladder/ladder.h"
#include "ladder/svg.h"
#include "opt.h"

struct cap_seg {
    sf_time_t t;
    uint8_t *d; /* the datagram, checksums recomputed */
    size_t len;
    int conn;
    bool fixed; /* its checksum was wrong (offload) or it was cut short */
};

struct conn {
    uint32_t ip[2];     /* [0]: the client (first SYN sender, else first source) */
    uint16_t port[2];
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
    const char *file, *svg;
    int conn; /* 1-based, 0: none chosen */
    bool list, absolute, explain, zh, color, quiet;
};

static int fail(const char *msg, const char *arg)
{
    fprintf(stderr, "synfin ladder: %s%s%s\n", msg, arg ? ": " : "",
            arg ? arg : "");
    return 2;
}

static void ladder_report(const struct opt_err *e)
{
    if (e->kind == OPT_E_BAD)
        fprintf(stderr, "synfin ladder: %s: %s: %s\n", e->name, e->o->why,
                e->value);
    else
        fail(e->kind == OPT_E_UNKNOWN && e->had_value
                 ? "unknown option" : "unknown option or missing value", e->name);
}

static int ladder_positional(void *ctx, const char *a)
{
    struct lopts *o = ctx;
    if (o->file) {
        fail("one capture at a time", a);
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
    FLAG("--quiet", quiet, 1, "no terminal ladder (with --svg)"),
    FLAG("--no-color", color, 0, "no ANSI colours"),
    FLAG("--color", color, 1, NULL),
    {.kind = OPT_END},
};

static int parse(struct lopts *o, int argc, char **argv)
{
    struct opt_group g = {ladder_opts_table, o, ladder_report};
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
        return fail("no capture file given (synfin ladder FILE.pcap)", NULL);
    if (o->quiet && o->explain)
        return fail("--explain conflicts with --quiet", NULL);
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

/* Recomputes both checksums: captures on Linux loopback (and any NIC with
 * checksum offload) record segments before the checksum is filled in. A
 * datagram cut short by the snaplen gets its lengths cut to match. Returns
 * true if anything changed. */
static bool fix_datagram(uint8_t *d, size_t len)
{
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

/* A TCP segment worth keeping: IPv4, unfragmented, whole TCP header. */
static bool tcp_ok(const uint8_t *d, size_t len)
{
    if (len < 20 || d[0] >> 4 != 4 || (d[0] & 15) < 5 || d[9] != 6)
        return false;
    size_t ihl = (size_t)(d[0] & 15) * 4, tot = be16(d + 2);
    if (tot < ihl || (be16(d + 6) & 0x3fff))
        return false;
    size_t end = tot < len ? tot : len;
    return end >= ihl + 20 && end >= ihl + (size_t)(d[ihl + 12] >> 4) * 4;
}

static int conn_of(struct cap *c, const uint8_t *d)
{
    size_t ihl = (size_t)(d[0] & 15) * 4;
    uint32_t s = be32(d + 12), t = be32(d + 16);
    unsigned sp = be16(d + ihl), tp = be16(d + ihl + 2);
    for (int i = 0; i < c->nc; i++) {
        struct conn *k = &c->c[i];
        if ((k->ip[0] == s && k->port[0] == sp && k->ip[1] == t && k->port[1] == tp) ||
            (k->ip[1] == s && k->port[1] == sp && k->ip[0] == t && k->port[0] == tp))
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
    c->c[c->nc] = (struct conn){.ip = {s, t},
                                .port = {(uint16_t)sp, (uint16_t)tp}};
    return c->nc++;
}

static int add_seg(struct cap *c, const struct pcap_pkt *p)
{
    if (!tcp_ok(p->ip, p->len)) {
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
    size_t tot = be16(p->ip + 2), len = tot < p->len ? tot : p->len;
    struct cap_seg *s = &c->s[c->n];
    if (!(s->d = malloc(len)) || (s->conn = conn_of(c, p->ip)) < 0)
        return free(s->d), -1;
    memcpy(s->d, p->ip, len);
    s->len = len;
    s->t = p->t;
    s->fixed = fix_datagram(s->d, len);
    c->fixed += s->fixed;
    c->n++;
    return 0;
}

static int read_capture(const char *file, struct cap *c)
{
    char err[400];
    struct pcapr *r = pcapr_open(file, err, sizeof err);
    if (!r)
        return fail(err, NULL);
    struct pcap_pkt p;
    int rc;
    while ((rc = pcapr_next(r, &p, err, sizeof err)) == 1)
        if (add_seg(c, &p))
            break;
    c->frames = pcapr_frames(r);
    c->not_tcp += pcapr_skipped(r);
    pcapr_close(r);
    if (rc < 0) {
        fprintf(stderr, "synfin ladder: %s: truncated or damaged capture (%s)\n",
                file, err);
        return 1;
    }
    if (rc == 1)
        return fail("out of memory", NULL) - 1;
    if (!c->n) {
        fprintf(stderr, "synfin ladder: %s: no TCP over IPv4 in %lu frame%s\n",
                file, c->frames, c->frames == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------- connections */

static uint8_t seg_flags(const struct cap_seg *s)
{
    return s->d[(size_t)(s->d[0] & 15) * 4 + 13];
}

static bool from_side0(const struct conn *k, const struct cap_seg *s)
{
    size_t ihl = (size_t)(s->d[0] & 15) * 4;
    return be32(s->d + 12) == k->ip[0] && be16(s->d + ihl) == k->port[0];
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
        size_t ihl = (size_t)(s->d[0] & 15) * 4;
        k->bytes += s->len - ihl - (size_t)(s->d[ihl + 12] >> 4) * 4;
        if ((f & (SF_SYN | SF_ACK)) == SF_SYN && !k->syn && !from_side0(k, s)) {
            uint32_t ip = k->ip[0];
            uint16_t port = k->port[0];
            k->ip[0] = k->ip[1], k->port[0] = k->port[1];
            k->ip[1] = ip, k->port[1] = port;
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

static void list_conns(const struct cap *c, FILE *f)
{
    fprintf(f, "%4s  %-21s    %-21s %6s %9s %10s  %s\n", "conn", "client",
            "server", "segs", "bytes", "seconds", "seen");
    for (int i = 0; i < c->nc; i++) {
        const struct conn *k = &c->c[i];
        char a[32], b[32];
        struct sf_addr x = {.ip = k->ip[0], .port = k->port[0]};
        struct sf_addr y = {.ip = k->ip[1], .port = k->port[1]};
        fprintf(f, "%4d  %-21s -> %-21s %6lu %9lu %10.3f  %s%s%s%s\n", i + 1,
                sf_addr_fmt(&x, a, sizeof a), sf_addr_fmt(&y, b, sizeof b),
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
};

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
}

static void draw_conn(const struct cap *c, int ci, struct draw *d)
{
    const struct conn *k = &c->c[ci];
    bool self = k->ip[0] == k->ip[1] && k->port[0] == k->port[1];
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
        struct sf_ipv4 ip;
        struct sf_tcp t;
        int from = self ? 0 : !from_side0(k, s);
        d->t = s->t >= t0 ? s->t - t0 : 0;
        bool ok = !sf_ipv4_parse(s->d, s->len, &ip) && !sf_tcp_parse(&ip, &t);
        if (ok && k->syn)
            infer_send(&in, from, &t);
        ladder_segment(d->lad, d->t, from, self ? 0 : 1 - from, s->d, s->len,
                       d->t, NULL, LADDER_CAPTURED);
        if (ok && k->syn)
            infer_recv(&in, from, &t);
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
    snprintf(title, sizeof title, "synfin ladder · %s · connection %d of %d · "
             "%lu segments · states inferred", base, ci + 1, c->nc, k->segs);
    ladder_title(lad, title);
    bool self = k->ip[0] == k->ip[1] && k->port[0] == k->port[1];
    ladder_column(lad, self ? "host" : "client", k->ip[0]);
    if (!self)
        ladder_column(lad, "server", k->ip[1]);
    struct draw d = {.lad = lad};
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
    char err[300];
    int rc = 0;
    if (o->svg && svg_write_file(lad, o->svg, err, sizeof err))
        rc = fail(err, NULL) - 1;
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
    rc = read_capture(o.file, &c);
    if (!rc) {
        summarize(&c);
        if (o.list) {
            list_conns(&c, stdout);
        } else if (o.conn > c.nc) {
            fprintf(stderr, "synfin ladder: --conn %d: the capture has %d "
                    "connection%s (see --list)\n", o.conn, c.nc,
                    c.nc == 1 ? "" : "s");
            rc = 2;
        } else if (!o.conn && c.nc > 1) {
            list_conns(&c, stdout);
            fprintf(stderr, "synfin ladder: %d connections: choose one with "
                    "--conn N\n", c.nc);
            rc = 2;
        } else {
            rc = draw(&o, &c, o.conn ? o.conn - 1 : 0);
        }
    }
    cap_free(&c);
    return rc;
}
