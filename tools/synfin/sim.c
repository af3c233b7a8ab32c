/* synfin sim: runs a scenario on the simulated network and draws it as a
 * ladder diagram. Each scenario asserts the states each side visits. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "ladder.h"
#include "pcap.h"
#include "sim_opts.h"
#include "svg.h"
#include "synfin/cmds.h"
#include "synfin/sim.h"
#include "synfin/wire.h"

/* ------------------------------------------------------------ options */


static int bad(const char *opt, const char *why, const char *val)
{
    fprintf(stderr, "synfin sim: %s: %s%s%s\n", opt, why, val ? ": " : "",
            val ? val : "");
    return 2;
}

static int parse_rate(const char *opt, const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= 0.0 && d <= 1.0))
        return bad(opt, "rate must be a number in 0..1", v);
    *out = d;
    return 0;
}

/* A non-negative decimal number with an optional k/M/G suffix. */
static int parse_num(const char *opt, const char *v, double *out, bool suffix)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (suffix && *end && !end[1]) {
        d *= *end == 'k' || *end == 'K' ? 1e3
             : *end == 'M' || *end == 'm' ? 1e6
             : *end == 'G' || *end == 'g' ? 1e9 : NAN;
        end++;
    }
    if (errno || end == v || *end || !(d >= 0.0) || d > 1e15)
        return bad(opt, "must be a non-negative number", v);
    *out = d;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: synfin sim [SCENARIO] [options]\n"
            "  --scenario NAME  scenario to run (default lifecycle; --list)\n"
            "  --seed N         PRNG seed (default 1)\n"
            "  --loss P --dup P --reorder P --corrupt P   rates in 0..1\n"
            "  --delay MS       one-way delay (default 10)\n"
            "  --jitter MS      extra uniform delay\n"
            "  --bandwidth BPS  link rate, e.g. 10M (default unlimited)\n"
            "  --mtu N          link MTU, >= 68 (default 1500)\n"
            "  --msl SECONDS    maximum segment lifetime (default 30)\n"
            "  --absolute       real sequence numbers\n"
            "  --explain        say why at each new kind of step\n"
            "  --lang en|zh     language of --explain\n"
            "  --pcap FILE      write the capture (libpcap, raw IPv4, ns times)\n"
            "  --capture AT     where --pcap listens: wire (default: every\n"
            "                   datagram once, as it leaves its sender, lost\n"
            "                   ones included), client or server (what that\n"
            "                   host sends, and what reaches it, as delivered:\n"
            "                   duplicates twice, corrupted copies corrupted)\n"
            "  --svg FILE       write the ladder as a standalone SVG\n"
            "  --json FILE      write the event trace as JSON ('-': stdout)\n"
            "  --quiet          summary only\n"
            "  --no-color       no ANSI colours\n"
            "  --list           list the scenarios\n"
            "  --bytes N        bulk: bytes each way, e.g. 4M (default 1M)\n"
            "  --one-way        bulk: impair only the client -> server way\n"
            "  --ladder         bulk: draw the ladder too (long)\n"
            "  --conns N        many: connections (default 2000)\n"
            "  --soak N         run N random seeds from --seed, checking\n"
            "                   invariants after every event\n");
}

/* Parses one option taking a value; returns 0, 2 (bad) or -1 (not it). */
static int opt_value(struct sim_opts *o, const char *a, const char *v)
{
    double d;
    int e;
    static const char *const impair[] = {"--loss", "--dup", "--reorder",
                                         "--corrupt", "--bandwidth", "--jitter"};
    for (size_t i = 0; i < sizeof impair / sizeof impair[0]; i++)
        o->link_set |= !strcmp(a, impair[i]);
    if (!strcmp(a, "--loss"))
        return parse_rate(a, v, &o->link.loss);
    if (!strcmp(a, "--dup"))
        return parse_rate(a, v, &o->link.dup);
    if (!strcmp(a, "--reorder"))
        return parse_rate(a, v, &o->link.reorder);
    if (!strcmp(a, "--corrupt"))
        return parse_rate(a, v, &o->link.corrupt);
    if (!strcmp(a, "--scenario")) {
        o->scenario = v;
        return 0;
    }
    if (!strcmp(a, "--pcap") || !strcmp(a, "--svg") || !strcmp(a, "--json")) {
        if (!*v)
            return bad(a, "needs a file name", NULL);
        *(a[2] == 'p' ? &o->pcap : a[2] == 's' ? &o->svg : &o->json) = v;
        return 0;
    }
    if (!strcmp(a, "--capture")) {
        if (strcmp(v, "wire") && strcmp(v, "client") && strcmp(v, "server"))
            return bad(a, "must be wire, client or server", v);
        o->capture = !strcmp(v, "wire") ? -1 : !strcmp(v, "server");
        o->capture_set = true;
        return 0;
    }
    if (!strcmp(a, "--lang")) {
        if (strcmp(v, "en") && strcmp(v, "zh"))
            return bad(a, "language must be en or zh", v);
        o->zh = !strcmp(v, "zh");
        return 0;
    }
    if (!strcmp(a, "--seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 0);
        if (errno || end == v || *end || *v == '-')
            return bad(a, "must be a non-negative integer", v);
        o->seed = s;
        o->seed_set = true;
        return 0;
    }
    if (!strcmp(a, "--conns") || !strcmp(a, "--soak")) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 0);
        if (errno || end == v || *end || *v == '-' || n == 0 ||
            n > (a[2] == 'c' ? 1000000ull : 100000000ull))
            return bad(a, "must be a positive integer (not too large)", v);
        if (a[2] == 'c')
            o->conns = (unsigned)n;
        else
            o->soak = n;
        return 0;
    }
    bool suffix = !strcmp(a, "--bandwidth") || !strcmp(a, "--bytes");
    if (strcmp(a, "--delay") && strcmp(a, "--jitter") && strcmp(a, "--mtu") &&
        strcmp(a, "--msl") && !suffix)
        return -1;
    if ((e = parse_num(a, v, &d, suffix)))
        return e;
    if (!strcmp(a, "--delay"))
        o->link.delay = (sf_time_t)(d * (double)SF_MSEC);
    else if (!strcmp(a, "--jitter"))
        o->link.jitter = (sf_time_t)(d * (double)SF_MSEC);
    else if (!strcmp(a, "--msl")) {
        if (d <= 0 || d > 86400)
            return bad(a, "must be in (0, 86400] seconds", v);
        o->msl = (sf_time_t)(d * (double)SF_SEC);
    } else if (!strcmp(a, "--bytes")) {
        if (d < 1 || d > 1e10 || d != floor(d))
            return bad(a, "must be a whole number of bytes in 1..10G", v);
        o->bytes = (uint64_t)d;
    } else if (suffix)
        o->link.bandwidth = (uint64_t)d;
    else {
        /* RFC 791: every host must accept 68-byte datagrams. */
        if (d < 68 || d > 65535 || d != floor(d))
            return bad(a, "MTU must be an integer in 68..65535", v);
        o->link.mtu = (uint32_t)d;
    }
    return 0;
}

static int opt_flag(struct sim_opts *o, const char *a)
{
    if (!strcmp(a, "--absolute"))
        o->absolute = true;
    else if (!strcmp(a, "--explain"))
        o->explain = true;
    else if (!strcmp(a, "--quiet"))
        o->quiet = true;
    else if (!strcmp(a, "--list"))
        o->list = true;
    else if (!strcmp(a, "--ladder"))
        o->ladder = true;
    else if (!strcmp(a, "--one-way"))
        o->one_way = true;
    else if (!strcmp(a, "--no-color"))
        o->color = false;
    else if (!strcmp(a, "--color"))
        o->color = true;
    else
        return -1;
    return 0;
}

static int parse_opts(struct sim_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return -1;
        }
        if (a[0] != '-') {
            if (o->scenario)
                return bad(a, "a second scenario name (one at a time)", NULL);
            o->scenario = a;
            continue;
        }
        if (!opt_flag(o, a))
            continue;
        char name[32];
        const char *eq = strchr(a, '='), *v;
        if (eq && (size_t)(eq - a) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            a = name;
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            v = NULL;
        }
        int r = v ? opt_value(o, a, v) : -1;
        if (r == -1)
            return bad(a, v ? "unknown option" : "unknown option or missing value",
                       NULL);
        if (r)
            return r;
    }
    if (o->quiet && o->explain)
        return bad("--explain", "conflicts with --quiet", NULL);
    if (o->capture_set && !o->pcap)
        return bad("--capture", "needs --pcap FILE", NULL);
    return 0;
}

/* ---------------------------------------------------------- the run */

#define REQUEST "GET / HTTP/1.0\r\nHost: 198.18.0.2\r\n\r\n"
#define BODY_LEN 300
#define MAXH 2

enum role { R_NONE, R_CLIENT, R_SERVER, R_PEER, R_BULK };
enum close_mode { CM_NONE, CM_AFTER_RESPONSE, CM_SHUT_AFTER_REQUEST,
                  CM_ABORT_AFTER_RESPONSE };

/* One host's application: a tiny HTTP/1.0-like client or server. */
struct app {
    enum role role;
    enum close_mode cm;
    bool close_on_eof, stream_after_eof, respond;
    int lsd, sd;
    struct sf_addr remote;
    bool connected, req_sent, resp_sent, eof, closed;
    int err;         /* the error that ended connect or recv */
    size_t got;      /* bytes received */
    int streamed;    /* half-close: chunks sent after the peer's FIN */
    bool keepalive;  /* keepalive: 20 s idle, 5 s between probes, 3 */
    uint64_t sent;   /* bulk: bytes handed to sf_send */
    bool shut;       /* bulk: SHUT_WR done */
    uint64_t bad_at; /* bulk: first byte that differs, or UINT64_MAX */
    sf_time_t done_at; /* bulk: when the last byte arrived */
};

struct run {
    struct sim_opts o;
    const struct scenario *sc;
    struct sf_sim *sim;
    struct ladder *lad;
    int nh;
    struct app app[MAXH];
    char path[MAXH][512];
    enum sf_state last[MAXH];
    bool have_last[MAXH];
    bool filter_done, srv_fin_seen;
    struct pcapw *pcap;
    struct jsonw *json;
    uint64_t lost;
    uint64_t spoofed; /* datagrams to or from no host (syn-flood) */
    uint64_t bulk_n;  /* bulk: bytes each way */
    uint64_t cookies[MAXH][2]; /* SYN cookies sent and validated, seen */
};

struct scenario {
    const char *name;
    const char *desc;
    bool available;
    int nhosts;
    void (*setup)(struct run *r);
    const char *path[MAXH]; /* expected states, space separated */
    int (*check)(struct run *r);
    /* Optional: adjusts the network before the hosts exist; prints a
     * summary after the run; the ladder is drawn only with --ladder. */
    void (*tune)(struct run *r, struct sf_sim_cfg *cfg);
    void (*report)(struct run *r);
    bool summary_only;
};

static size_t response_len(void)
{
    char head[96];
    return (size_t)snprintf(head, sizeof head,
                            "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n",
                            BODY_LEN) + BODY_LEN;
}

static void make_response(char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n",
                     BODY_LEN);
    for (size_t i = (size_t)n; i < (size_t)n + BODY_LEN && i < cap; i++)
        buf[i] = "synfin says hello, "[i % 19];
}

static struct sf_stack *stk(struct run *r, int h)
{
    return sf_sim_host_stack(r->sim, h);
}

static void app_close(struct run *r, int h)
{
    struct app *a = &r->app[h];
    if (a->sd >= 0 && !a->closed)
        sf_close(stk(r, h), a->sd);
    a->closed = true;
}

static void app_read(struct run *r, int h)
{
    struct app *a = &r->app[h];
    char buf[2048];
    for (;;) {
        long n = sf_recv(stk(r, h), a->sd, buf, sizeof buf, 0);
        if (n > 0) {
            a->got += (size_t)n;
            continue;
        }
        if (n == 0)
            a->eof = true;
        else if (n != SF_EAGAIN)
            a->err = (int)n;
        return;
    }
}

/* Active side: finish connecting, send the request, read the answer. */
static void client_step(struct run *r, int h)
{
    struct app *a = &r->app[h];
    if (a->sd < 0 || a->closed || a->err)
        return;
    if (!a->connected) {
        int c = sf_connect(stk(r, h), a->sd, &a->remote);
        if (c == SF_EALREADY || c == SF_EINPROGRESS)
            return;
        if (c != 0 && c != SF_EISCONN) {
            a->err = c;
            app_close(r, h);
            return;
        }
        a->connected = true;
    }
    if (a->role == R_CLIENT && !a->req_sent) {
        sf_send(stk(r, h), a->sd, REQUEST, strlen(REQUEST), 0);
        a->req_sent = true;
        if (a->cm == CM_SHUT_AFTER_REQUEST)
            sf_shutdown(stk(r, h), a->sd, SF_SHUT_WR);
    }
    app_read(r, h);
    if (a->got >= response_len() && a->cm == CM_ABORT_AFTER_RESPONSE) {
        struct sf_linger lg = {1, 0};
        sf_setsockopt(stk(r, h), a->sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg,
                      sizeof lg);
        app_close(r, h);
    } else if ((a->got >= response_len() && a->cm == CM_AFTER_RESPONSE) ||
               (a->eof && a->close_on_eof) || a->err) {
        app_close(r, h);
    }
}

static void stream_chunk(void *ctx, struct sf_sim *sim, int h);

/* Passive side: accept, read the request, answer, close after EOF. */
static void server_step(struct run *r, int h)
{
    struct app *a = &r->app[h];
    if (a->sd < 0 && a->lsd >= 0) {
        int sd = sf_accept(stk(r, h), a->lsd, NULL);
        if (sd < 0)
            return;
        a->sd = sd;
    }
    if (a->sd < 0 || a->closed)
        return;
    bool had_eof = a->eof;
    app_read(r, h);
    if (a->respond && !a->resp_sent && a->got >= strlen(REQUEST)) {
        char resp[512];
        make_response(resp, sizeof resp);
        sf_send(stk(r, h), a->sd, resp, response_len(), 0);
        a->resp_sent = true;
    }
    if (a->err) {
        app_close(r, h);
    } else if (a->eof && !had_eof && a->stream_after_eof) {
        sf_sim_at(r->sim, sf_sim_now(r->sim) + 50 * SF_MSEC, h, stream_chunk, r);
    } else if (a->eof && a->close_on_eof) {
        app_close(r, h);
    }
}

/* Half-close: the server keeps sending after the client's FIN. */
static void stream_chunk(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct app *a = &r->app[h];
    char chunk[200];
    memset(chunk, 'x', sizeof chunk);
    if (a->closed)
        return;
    sf_send(stk(r, h), a->sd, chunk, sizeof chunk, 0);
    if (++a->streamed < 3)
        sf_sim_at(sim, sf_sim_now(sim) + 50 * SF_MSEC, h, stream_chunk, r);
    else
        app_close(r, h);
}

static void bulk_step(struct run *r, int h);

static void app_hook(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    (void)sim;
    if (h < 0 || h >= r->nh)
        return;
    if (r->app[h].role == R_BULK)
        bulk_step(r, h);
    else if (r->app[h].role == R_SERVER)
        server_step(r, h);
    else if (r->app[h].role != R_NONE)
        client_step(r, h);
}

/* ----------------------------------------------------- scenario setup */

static void do_listen(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct sf_stack *st = sf_sim_host_stack(sim, h);
    struct sf_addr local = {0, 80};
    r->app[h].lsd = sf_socket(st);
    if (sf_bind(st, r->app[h].lsd, &local) || sf_listen(st, r->app[h].lsd, 16))
        r->app[h].err = SF_EINVAL;
}

static void do_connect(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct sf_stack *st = sf_sim_host_stack(sim, h);
    struct app *a = &r->app[h];
    a->sd = sf_socket(st);
    if (a->role == R_PEER) { /* a fixed port, to be connected to */
        struct sf_addr local = {0, (uint16_t)(5000 + h)};
        sf_bind(st, a->sd, &local);
    }
    if (a->keepalive) {
        int on = 1, idle = 20, intvl = 5, cnt = 3;
        sf_setsockopt(st, a->sd, SF_SOL_SOCKET, SF_SO_KEEPALIVE, &on, sizeof on);
        sf_setsockopt(st, a->sd, SF_IPPROTO_TCP, SF_TCP_KEEPIDLE, &idle,
                      sizeof idle);
        sf_setsockopt(st, a->sd, SF_IPPROTO_TCP, SF_TCP_KEEPINTVL, &intvl,
                      sizeof intvl);
        sf_setsockopt(st, a->sd, SF_IPPROTO_TCP, SF_TCP_KEEPCNT, &cnt,
                      sizeof cnt);
    }
    int c = sf_connect(st, a->sd, &a->remote);
    if (c != SF_EINPROGRESS && c != 0)
        a->err = c;
}

static void do_close(void *ctx, struct sf_sim *sim, int h)
{
    (void)sim;
    app_close(ctx, h);
}

/* The client connects at time t. */
static void client_server_at(struct run *r, uint16_t port, enum close_mode cm,
                             sf_time_t t)
{
    uint32_t srv = sf_sim_host_addr(r->sim, 1);
    r->app[0] = (struct app){.role = R_CLIENT, .cm = cm, .lsd = -1, .sd = -1,
                             .remote = {srv, port}, .close_on_eof = true};
    r->app[1] = (struct app){.role = R_SERVER, .lsd = -1, .sd = -1,
                             .respond = true, .close_on_eof = true};
    sf_sim_at(r->sim, 0, 1, do_listen, r);
    sf_sim_at(r->sim, t, 0, do_connect, r);
}

static void client_server(struct run *r, uint16_t port, enum close_mode cm)
{
    client_server_at(r, port, cm, 0);
}

static void setup_lifecycle(struct run *r)
{
    client_server(r, 80, CM_AFTER_RESPONSE);
}

static void setup_refused(struct run *r)
{
    client_server(r, 81, CM_AFTER_RESPONSE);
}

static void setup_abort(struct run *r)
{
    client_server(r, 80, CM_ABORT_AFTER_RESPONSE);
}

static void setup_half_close(struct run *r)
{
    client_server(r, 80, CM_SHUT_AFTER_REQUEST);
    r->app[1].stream_after_eof = true;
    r->app[1].close_on_eof = false;
}

static void setup_sim_close(struct run *r)
{
    client_server(r, 80, CM_NONE);
    r->app[0].close_on_eof = r->app[1].close_on_eof = false;
    r->app[0].role = R_PEER; /* no request: just open, then close */
    r->app[1].respond = false;
    sf_sim_at(r->sim, 100 * SF_MSEC, 0, do_close, r);
    sf_sim_at(r->sim, 100 * SF_MSEC, 1, do_close, r);
}

/* Both sides connect to each other's fixed port at the same instant. */
static void setup_sim_open(struct run *r)
{
    for (int h = 0; h < 2; h++) {
        r->app[h] = (struct app){.role = R_PEER, .lsd = -1, .sd = -1,
                                 .close_on_eof = true};
        r->app[h].remote.ip = sf_sim_host_addr(r->sim, 1 - h);
        r->app[h].remote.port = (uint16_t)(5000 + 1 - h);
        sf_sim_at(r->sim, 0, h, do_connect, r);
    }
    sf_sim_at(r->sim, 100 * SF_MSEC, 0, do_close, r);
}

static void setup_self(struct run *r)
{
    r->app[0] = (struct app){.role = R_PEER, .lsd = -1, .sd = -1,
                             .remote = {sf_sim_host_addr(r->sim, 0), 5000}};
    sf_sim_at(r->sim, 0, 0, do_connect, r);
    sf_sim_at(r->sim, 100 * SF_MSEC, 0, do_close, r);
}

/* Flags and payload length of a datagram, or -1 if it is not TCP. */
static int seg_flags(const uint8_t *d, size_t len, struct sf_tcp *t)
{
    struct sf_ipv4 ip;
    if (sf_ipv4_parse(d, len, &ip) || sf_tcp_parse(&ip, t))
        return -1;
    return t->flags;
}

/* lost-final-ack: drop the client's ACK of the server's FIN, once. */
static bool filter_final_ack(void *ctx, struct sf_sim *sim, int from, int to,
                             const uint8_t *d, size_t len, sf_time_t *extra)
{
    struct run *r = ctx;
    struct sf_tcp t;
    (void)sim, (void)to, (void)extra;
    int f = seg_flags(d, len, &t);
    if (from == 1 && f >= 0 && (f & SF_FIN))
        r->srv_fin_seen = true;
    if (from == 0 && f == SF_ACK && t.len == 0 && r->srv_fin_seen &&
        !r->filter_done) {
        r->filter_done = true;
        return false;
    }
    return true;
}

static void setup_lost_final_ack(struct run *r)
{
    client_server(r, 80, CM_AFTER_RESPONSE);
    sf_sim_set_filter(r->sim, filter_final_ack, r);
}

static void link_up(void *ctx, struct sf_sim *sim, int h)
{
    struct sf_sim_link_cfg c;
    (void)ctx, (void)h;
    sf_sim_link_get(sim, 0, 1, &c);
    c.down = false;
    sf_sim_link_set(sim, 0, 1, &c);
}

/* syn-retransmit: the link to the server is down for the first 10 s. */
static void setup_syn_retransmit(struct run *r)
{
    struct sf_sim_link_cfg c;
    client_server(r, 80, CM_AFTER_RESPONSE);
    sf_sim_link_get(r->sim, 0, 1, &c);
    c.down = true;
    sf_sim_link_set(r->sim, 0, 1, &c);
    sf_sim_at(r->sim, 10 * SF_SEC, -1, link_up, r);
}

/* old-duplicate-syn: the client's own SYN is held back 50 ms in the
 * network, so an old SYN of the same connection arrives first. */
static bool filter_delay_syn(void *ctx, struct sf_sim *sim, int from, int to,
                             const uint8_t *d, size_t len, sf_time_t *extra)
{
    struct run *r = ctx;
    struct sf_tcp t;
    (void)sim, (void)to;
    if (from == 0 && !r->filter_done && seg_flags(d, len, &t) == SF_SYN) {
        r->filter_done = true;
        *extra += 50 * SF_MSEC;
    }
    return true;
}

static void send_old_syn(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct sf_tcp_info ti;
    if (sf_tcp_info(sf_sim_host_stack(sim, h), r->app[h].sd, &ti))
        return;
    struct sf_ipv4 ip = {.src = ti.local.ip, .dst = ti.remote.ip, .ttl = 64};
    struct sf_tcp t = {.sport = ti.local.port, .dport = ti.remote.port,
                       .seq = ti.iss - 100000, .flags = SF_SYN, .win = 65535,
                       .opt = {.has_mss = true, .mss = 1460}};
    uint8_t buf[128];
    size_t n = sf_emit(buf, sizeof buf, &ip, &t);
    if (n)
        sf_sim_inject(sim, h, buf, n, 0);
}

static void setup_old_dup(struct run *r)
{
    client_server(r, 80, CM_AFTER_RESPONSE);
    sf_sim_set_filter(r->sim, filter_delay_syn, r);
    sf_sim_at(r->sim, 0, 0, send_old_syn, r);
}

/* --------------------------------------------------- scenario checks */

static int expect_err(struct run *r, int h, int want)
{
    if (r->app[h].err == want)
        return 0;
    fprintf(stderr, "synfin sim: %s: host %d ended with %s, expected %s\n",
            r->sc->name, h, r->app[h].err ? sf_errname(r->app[h].err) : "no error",
            want ? sf_errname(want) : "no error");
    return 1;
}

static int expect_ctr(struct run *r, int h, enum sf_counter c, uint64_t min)
{
    uint64_t v = sf_stack_counters(stk(r, h))->c[c];
    if (v >= min)
        return 0;
    fprintf(stderr, "synfin sim: %s: host %d counted %llu %s, expected >= %llu\n",
            r->sc->name, h, (unsigned long long)v, sf_counter_name(c),
            (unsigned long long)min);
    return 1;
}

static int check_exchange(struct run *r)
{
    if (r->app[0].got != response_len()) {
        fprintf(stderr, "synfin sim: %s: client read %zu bytes, expected %zu\n",
                r->sc->name, r->app[0].got, response_len());
        return 1;
    }
    return expect_err(r, 0, 0);
}

static int check_refused(struct run *r)
{
    return expect_err(r, 0, SF_ECONNREFUSED);
}

static int check_abort(struct run *r)
{
    return expect_err(r, 1, SF_ECONNRESET);
}

static int check_half_close(struct run *r)
{
    if (r->app[0].got == response_len() + 3 * 200 && r->app[0].eof)
        return 0;
    fprintf(stderr, "synfin sim: half-close: client read %zu bytes%s, "
            "expected %zu and EOF\n", r->app[0].got,
            r->app[0].eof ? "" : " without EOF", response_len() + 600);
    return 1;
}

static int check_lost_final_ack(struct run *r)
{
    return check_exchange(r) | expect_ctr(r, 1, SF_CTR_RETRANSMITS, 1);
}

static int check_syn_retransmit(struct run *r)
{
    return check_exchange(r) | expect_ctr(r, 0, SF_CTR_RETRANSMITS, 4);
}

/* ---------------------------------------------------------- keepalive */

static void links_down(void *ctx, struct sf_sim *sim, int h)
{
    struct sf_sim_link_cfg c;
    (void)ctx, (void)h;
    for (int from = 0; from < 2; from++) {
        sf_sim_link_get(sim, from, 1 - from, &c);
        c.down = true;
        sf_sim_link_set(sim, from, 1 - from, &c);
    }
}

/* keepalive: after one exchange the server vanishes (its links go down at
 * 1 s); the idle client probes after 20 s, every 5 s, and gives up after 3
 * unanswered probes (RFC 1122 4.2.3.6). */
static void setup_keepalive(struct run *r)
{
    client_server(r, 80, CM_NONE);
    r->app[0].close_on_eof = false;
    r->app[0].keepalive = true;
    sf_sim_at(r->sim, SF_SEC, -1, links_down, r);
}

static int check_keepalive(struct run *r)
{
    return expect_err(r, 0, SF_ETIMEDOUT) |
           expect_ctr(r, 0, SF_CTR_KEEPALIVE_PROBES, 3);
}

/* ---------------------------------------------------------- syn-flood */

#define FLOOD_SYNS 40
#define FLOOD_BACKLOG 8

static void tune_flood(struct run *r, struct sf_sim_cfg *cfg)
{
    (void)r;
    cfg->stack.syn_backlog = FLOOD_BACKLOG;
}

/* Spoofed SYNs from 10.66.x.y, which no host owns: the SYN,ACKs go
 * nowhere, so each request sits in the SYN queue until it gives up. */
static void flood(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    for (int i = 0; i < FLOOD_SYNS; i++) {
        uint64_t x = sf_sim_random(sim);
        struct sf_ipv4 ip = {.src = 0x0A420000u | (uint32_t)(x & 0xFFFE) | 1u,
                             .dst = sf_sim_host_addr(sim, 1), .ttl = 64};
        struct sf_tcp t = {.sport = (uint16_t)(1024 + (x >> 16) % 60000),
                           .dport = 80, .seq = (uint32_t)(x >> 32),
                           .flags = SF_SYN, .win = 65535,
                           .opt = {.has_mss = true, .mss = 1460}};
        uint8_t buf[128];
        size_t n = sf_emit(buf, sizeof buf, &ip, &t);
        if (n)
            sf_sim_inject(sim, h, buf, n, 0);
    }
    char note[96];
    snprintf(note, sizeof note, "flood: %d SYNs from spoofed 10.66.x.y "
             "(not drawn); SYN queue holds %d", FLOOD_SYNS, FLOOD_BACKLOG);
    ladder_note(r->lad, sf_sim_now(sim), 1, note);
}

static void setup_syn_flood(struct run *r)
{
    /* The client connects 100 ms after the flood has filled the queue. */
    client_server_at(r, 80, CM_AFTER_RESPONSE, 100 * SF_MSEC);
    sf_sim_at(r->sim, 0, 0, flood, r);
}

static void report_flood(struct run *r)
{
    const struct sf_counters *c = sf_stack_counters(stk(r, 1));
    printf("server: %llu SYN cookies sent, %llu validated, %llu rejected; "
           "%llu datagrams to or from spoofed addresses\n",
           (unsigned long long)c->c[SF_CTR_SYNCOOKIES_SENT],
           (unsigned long long)c->c[SF_CTR_SYNCOOKIES_OK],
           (unsigned long long)c->c[SF_CTR_SYNCOOKIES_BAD],
           (unsigned long long)r->spoofed);
}

static int check_flood(struct run *r)
{
    return check_exchange(r) |
           expect_ctr(r, 1, SF_CTR_SYNCOOKIES_SENT, FLOOD_SYNS - FLOOD_BACKLOG) |
           expect_ctr(r, 1, SF_CTR_SYNCOOKIES_OK, 1);
}

/* --------------------------------------------------------------- bulk */

/* The byte at offset i of the stream host h sends: a function of both, so
 * a byte delivered at the wrong offset, twice or from the other direction
 * is caught. */
static uint8_t bulk_byte(int h, uint64_t i)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(h + 1) << 56;
    x ^= x >> 29;
    return (uint8_t)(x * 0xBF58476D1CE4E5B9ull >> 56);
}

static void bulk_send(struct run *r, int h)
{
    struct app *a = &r->app[h];
    uint8_t buf[16384];
    while (a->sent < r->bulk_n) {
        size_t n = r->bulk_n - a->sent < sizeof buf ? (size_t)(r->bulk_n - a->sent)
                                                    : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = bulk_byte(h, a->sent + i);
        long k = sf_send(stk(r, h), a->sd, buf, n, 0);
        if (k <= 0) {
            if (k != SF_EAGAIN)
                a->err = (int)k;
            return;
        }
        a->sent += (uint64_t)k;
    }
}

static void bulk_recv(struct run *r, int h)
{
    struct app *a = &r->app[h];
    uint8_t buf[16384];
    for (;;) {
        long n = sf_recv(stk(r, h), a->sd, buf, sizeof buf, 0);
        if (n == 0)
            a->eof = true;
        if (n <= 0) {
            if (n < 0 && n != SF_EAGAIN)
                a->err = (int)n;
            return;
        }
        for (long i = 0; i < n && a->bad_at == UINT64_MAX; i++)
            if (buf[i] != bulk_byte(1 - h, a->got + (uint64_t)i))
                a->bad_at = a->got + (uint64_t)i;
        a->got += (size_t)n;
        if (a->got >= r->bulk_n && !a->done_at)
            a->done_at = sf_sim_now(r->sim);
    }
}

/* Both sides send bulk_n bytes at once; the client shuts down writing when
 * it has queued all of it, the server closes once it has queued its own
 * and read the client's EOF, the client closes at the server's EOF. */
static void bulk_step(struct run *r, int h)
{
    struct app *a = &r->app[h];
    if (a->sd < 0 && a->lsd >= 0 && (a->sd = sf_accept(stk(r, h), a->lsd, NULL)) < 0)
        return;
    if (a->sd < 0 || a->closed)
        return;
    if (!a->connected) {
        int c = sf_connect(stk(r, h), a->sd, &a->remote);
        if (c == SF_EALREADY || c == SF_EINPROGRESS)
            return;
        a->connected = true;
        if (c && c != SF_EISCONN)
            a->err = c;
    }
    if (!a->err)
        bulk_send(r, h);
    if (!a->err)
        bulk_recv(r, h);
    if (h == 0 && a->sent == r->bulk_n && !a->shut && !a->err) {
        sf_shutdown(stk(r, h), a->sd, SF_SHUT_WR);
        a->shut = true;
    }
    if (a->err || (a->eof && (h == 0 || a->sent == r->bulk_n)))
        app_close(r, h);
}

static void tune_bulk(struct run *r, struct sf_sim_cfg *cfg)
{
    r->bulk_n = r->o.bytes ? r->o.bytes : 1000000;
    if (!r->o.link_set) { /* an impaired path unless told otherwise */
        cfg->link.loss = 0.01;
        cfg->link.dup = 0.005;
        cfg->link.reorder = 0.01;
        cfg->link.corrupt = 0.005;
        cfg->link.bandwidth = 100000000;
        r->o.link = cfg->link;
    }
}

/* RFC 863's discard port: not 80, where tshark would read the random
 * bytes as malformed HTTP. */
#define BULK_PORT 9

static void bulk_listen(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct sf_stack *st = sf_sim_host_stack(sim, h);
    struct sf_addr local = {0, BULK_PORT};
    r->app[h].lsd = sf_socket(st);
    if (sf_bind(st, r->app[h].lsd, &local) || sf_listen(st, r->app[h].lsd, 16))
        r->app[h].err = SF_EINVAL;
}

static void setup_bulk(struct run *r)
{
    uint32_t srv = sf_sim_host_addr(r->sim, 1);
    for (int h = 0; h < 2; h++)
        r->app[h] = (struct app){.role = R_BULK, .lsd = -1, .sd = -1,
                                 .remote = {h ? 0 : srv, h ? 0 : BULK_PORT},
                                 .bad_at = UINT64_MAX};
    if (r->o.one_way) { /* the server -> client way is clean */
        struct sf_sim_link_cfg c;
        sf_sim_link_get(r->sim, 1, 0, &c);
        c.loss = c.dup = c.reorder = c.corrupt = 0;
        sf_sim_link_set(r->sim, 1, 0, &c);
    }
    sf_sim_at(r->sim, 0, 1, bulk_listen, r);
    sf_sim_at(r->sim, 0, 0, do_connect, r);
}

static void report_bulk(struct run *r)
{
    static const char *const dir[2] = {"client -> server", "server -> client"};
    for (int h = 0; h < 2; h++) {
        const struct app *rx = &r->app[1 - h];
        double t = (double)rx->done_at / (double)SF_SEC;
        printf("%s: %llu of %llu bytes%s in %.3f s: %.2f Mbit/s\n", dir[h],
               (unsigned long long)rx->got, (unsigned long long)r->bulk_n,
               rx->bad_at == UINT64_MAX ? " intact" : " CORRUPTED", t,
               t > 0 ? (double)rx->got * 8 / t / 1e6 : 0.0);
    }
    for (int h = 0; h < 2; h++) {
        const struct sf_counters *c = sf_stack_counters(stk(r, h));
        printf("%s: %llu segments sent, %llu retransmitted (%llu fast), "
               "%llu held out of order, %llu bad checksums dropped\n",
               h ? "server" : "client",
               (unsigned long long)c->c[SF_CTR_SEG_OUT],
               (unsigned long long)c->c[SF_CTR_RETRANSMITS],
               (unsigned long long)c->c[SF_CTR_FAST_RETRANSMITS],
               (unsigned long long)c->c[SF_CTR_REASS_QUEUED],
               (unsigned long long)(c->drops[SF_DROP_TCP_CSUM] +
                                    c->drops[SF_DROP_IP_CSUM]));
    }
}

static int check_bulk(struct run *r)
{
    int bad_bulk = 0;
    for (int h = 0; h < 2; h++) {
        const struct app *a = &r->app[h];
        if (a->got == r->bulk_n && a->bad_at == UINT64_MAX && !a->err && a->eof)
            continue;
        fprintf(stderr, "synfin sim: bulk: %s read %llu of %llu bytes%s%s%s\n",
                h ? "server" : "client", (unsigned long long)a->got,
                (unsigned long long)r->bulk_n,
                a->bad_at != UINT64_MAX ? ", wrong content" : "",
                a->err ? ", error " : "", a->err ? sf_errname(a->err) : "");
        bad_bulk = 1;
    }
    return bad_bulk;
}

#define ACTIVE_CLOSE "ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED"
#define PASSIVE_CLOSE "ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED"
#define CLIENT_LIFE "CLOSED SYN_SENT " ACTIVE_CLOSE
#define SERVER_LIFE "LISTEN SYN_RCVD " PASSIVE_CLOSE

static const struct scenario scenarios[] = {
    {"lifecycle", "open, request, answer, active close, TIME_WAIT", true, 2,
     setup_lifecycle, {CLIENT_LIFE, SERVER_LIFE}, check_exchange, NULL, NULL, false},
    {"simultaneous-open", "both connect to each other at the same instant",
     true, 2, setup_sim_open,
     {"CLOSED SYN_SENT SYN_RCVD " ACTIVE_CLOSE,
      "CLOSED SYN_SENT SYN_RCVD " PASSIVE_CLOSE}, NULL, NULL, NULL, false},
    {"simultaneous-close", "both close at the same instant", true, 2,
     setup_sim_close,
     {"CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT CLOSED",
      "LISTEN SYN_RCVD ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT CLOSED"}, NULL, NULL, NULL, false},
    {"lost-final-ack", "the last ACK is lost: FIN retransmitted, re-ACKed",
     true, 2, setup_lost_final_ack, {CLIENT_LIFE, SERVER_LIFE},
     check_lost_final_ack, NULL, NULL, false},
    {"half-close", "client shuts down writing; server keeps sending", true, 2,
     setup_half_close, {CLIENT_LIFE, SERVER_LIFE}, check_half_close, NULL, NULL, false},
    {"abort", "SO_LINGER {1,0} then close: RST", true, 2, setup_abort,
     {"CLOSED SYN_SENT ESTABLISHED CLOSED", "LISTEN SYN_RCVD ESTABLISHED CLOSED"},
     check_abort, NULL, NULL, false},
    {"refused", "connect to a port nobody listens on: RST,ACK", true, 2,
     setup_refused, {"CLOSED SYN_SENT CLOSED", ""}, check_refused, NULL, NULL, false},
    {"syn-retransmit", "link down 10 s: SYN backoff at 1, 3, 7 s", true, 2,
     setup_syn_retransmit, {CLIENT_LIFE, SERVER_LIFE}, check_syn_retransmit, NULL, NULL, false},
    {"old-duplicate-syn", "RFC 9293 Figure 8: an old SYN arrives first", true,
     2, setup_old_dup,
     {CLIENT_LIFE, "LISTEN SYN_RCVD LISTEN SYN_RCVD " PASSIVE_CLOSE},
     check_exchange, NULL, NULL, false},
    {"self-connect", "a socket connects to its own address and port", true, 1,
     setup_self,
     {"CLOSED SYN_SENT SYN_RCVD ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT CLOSED"},
     NULL, NULL, NULL, false},
    {"keepalive", "the server vanishes; keepalive probes find it gone",
     true, 2, setup_keepalive,
     {"CLOSED SYN_SENT ESTABLISHED CLOSED", "LISTEN SYN_RCVD ESTABLISHED"},
     check_keepalive, NULL, NULL, false},
    {"syn-flood", "spoofed SYNs fill the SYN queue; SYN cookies answer",
     true, 2, setup_syn_flood, {CLIENT_LIFE, SERVER_LIFE},
     check_flood, tune_flood, report_flood, false},
    {"bulk", "--bytes each way across an impaired link, verified", true, 2,
     setup_bulk,
     {"CLOSED SYN_SENT " ACTIVE_CLOSE " | CLOSED SYN_SENT ESTABLISHED "
      "FIN_WAIT_1 TIME_WAIT CLOSED", SERVER_LIFE},
     check_bulk, tune_bulk, report_bulk, true},
    {"many", "--conns connections from 8 client hosts to one server", true,
     2, NULL, {CLIENT_LIFE, SERVER_LIFE}, NULL, NULL, NULL, true},
};
#define NSCEN (sizeof scenarios / sizeof scenarios[0])

static int list_scenarios(void)
{
    for (size_t i = 0; i < NSCEN; i++) {
        const struct scenario *s = &scenarios[i];
        printf("%-19s %s%s\n", s->name, s->desc,
               s->available ? "" : " [not yet available]");
        for (int h = 0; s->available && h < s->nhosts; h++)
            printf("%19s   %s: %s\n", "", s->nhosts == 1 ? "host"
                                         : h ? "server" : "client",
                   s->path[h][0] ? s->path[h] : "(no connection)");
    }
    return 0;
}

/* ------------------------------------------------------ tracing */

static void path_add(struct run *r, int h, enum sf_state s)
{
    size_t n = strlen(r->path[h]);
    snprintf(r->path[h] + n, sizeof r->path[h] - n, "%s%s", n ? " " : "",
             sf_state_name(s));
}

/* Records the states each host's connection visits (listeners, whose
 * remote port is 0, are drawn but not part of the path). */
static void record_state(struct run *r, int h, const struct sf_trace_event *t)
{
    if (t->remote.port == 0)
        return;
    if (!r->have_last[h] || r->last[h] != t->from)
        path_add(r, h, t->from);
    path_add(r, h, t->to);
    r->last[h] = t->to;
    r->have_last[h] = true;
}

static int col_of(const struct run *r, int h)
{
    return r->nh == 1 ? 0 : h;
}

static void on_stack(struct run *r, int h, const struct sf_trace_event *t)
{
    int c = col_of(r, h);
    switch (t->kind) {
    case SF_TRACE_STATE:
        record_state(r, h, t);
        ladder_state(r->lad, t->now, c, t->from, t->to, t->cause);
        break;
    case SF_TRACE_DROP:
        ladder_drop(r->lad, t->now, c, t->drop);
        break;
    case SF_TRACE_TIMER:
        ladder_timer(r->lad, t->now, c, t->timer);
        break;
    case SF_TRACE_NOTE:
        ladder_note(r->lad, t->now, c, t->note ? t->note : "");
        break;
    default:
        break;
    }
}

static const char *host_name(const struct run *r, int h)
{
    return r->nh == 1 ? "host" : h ? "server" : "client";
}

/* --pcap: at the wire, each datagram once as it leaves its sender (the
 * network's extra copies are not sent by anyone); at a host, what it sends
 * and what is delivered to it, at delivery time and as delivered. */
static void capture(struct run *r, const struct sf_sim_event *ev)
{
    int at = r->o.capture < 0 ? -1 : r->nh == 1 ? 0 : r->o.capture;
    bool rec;
    if (ev->kind == SF_SIM_EV_SEND)
        rec = !(ev->flags & SF_SIM_F_DUP) &&
              (at < 0 || (ev->host == at && ev->peer != at));
    else
        rec = ev->kind == SF_SIM_EV_ARRIVE && at >= 0 && ev->host == at;
    if (rec)
        pcapw_write(r->pcap, ev->now, ev->dgram, ev->len);
}

static bool is_host(const struct run *r, uint32_t ip)
{
    return sf_sim_host_by_addr(r->sim, ip) >= 0;
}

/* Whether an event concerns an address no host owns (syn-flood's spoofed
 * sources): those are counted, captured, but not drawn. */
static bool spoofed(const struct run *r, const struct sf_sim_event *ev)
{
    if (ev->kind == SF_SIM_EV_STACK)
        return ev->trace->remote.ip && !is_host(r, ev->trace->remote.ip);
    if (ev->len < 20)
        return false;
    const uint8_t *d = ev->dgram;
    uint32_t src = (uint32_t)d[12] << 24 | (uint32_t)d[13] << 16 |
                   (uint32_t)d[14] << 8 | d[15];
    uint32_t dst = (uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 |
                   (uint32_t)d[18] << 8 | d[19];
    return !is_host(r, src) || !is_host(r, dst);
}

/* Marks on the ladder the moments a host's SYN-cookie counters move
 * (RFC 4987: the SYN queue is full, the connection's state rides in the
 * ISN; later an ACK brings it back). */
static void note_cookies(struct run *r, const struct sf_sim_event *ev)
{
    static const char *const text[2] = {
        "SYN queue full: this SYN,ACK carries a SYN cookie",
        "SYN cookie in the ACK validated: connection rebuilt"};
    const struct sf_counters *c = sf_stack_counters(stk(r, ev->host));
    uint64_t now[2] = {c->c[SF_CTR_SYNCOOKIES_SENT], c->c[SF_CTR_SYNCOOKIES_OK]};
    for (int i = 0; i < 2; i++) {
        if (now[i] == r->cookies[ev->host][i])
            continue;
        bool real = !spoofed(r, ev);
        r->cookies[ev->host][i] = now[i];
        if (real)
            ladder_note(r->lad, ev->now, col_of(r, ev->host), text[i]);
    }
}

static void on_event(void *ctx, const struct sf_sim_event *ev)
{
    struct run *r = ctx;
    if (ev->host < 0 || ev->host >= r->nh)
        return;
    if (r->json) {
        const char *names[MAXH] = {host_name(r, 0), host_name(r, 1)};
        jsonw_event(r->json, ev, names, r->nh);
    }
    if (r->pcap)
        capture(r, ev);
    if (!spoofed(r, ev) || ev->kind == SF_SIM_EV_STACK)
        note_cookies(r, ev);
    if (spoofed(r, ev)) {
        r->spoofed += ev->kind == SF_SIM_EV_SEND;
        return;
    }
    if (ev->kind == SF_SIM_EV_STACK) {
        on_stack(r, ev->host, ev->trace);
        return;
    }
    if (ev->kind != SF_SIM_EV_SEND)
        return;
    int to = ev->peer >= 0 && ev->peer < r->nh ? col_of(r, ev->peer)
                                               : 1 - col_of(r, ev->host);
    unsigned f = (ev->flags & SF_SIM_F_DUP ? LADDER_DUP : 0) |
                 (ev->flags & SF_SIM_F_REORDERED ? LADDER_REORDERED : 0) |
                 (ev->flags & SF_SIM_F_CORRUPTED ? LADDER_CORRUPTED : 0) |
                 (ev->flags & SF_SIM_F_INJECTED ? LADDER_OLD : 0);
    r->lost += ev->drop != SF_SIM_DROP_NONE;
    ladder_segment(r->lad, ev->now, col_of(r, ev->host), r->nh == 1 ? 0 : to,
                   ev->dgram, ev->len, ev->arrive,
                   ev->drop ? sf_sim_drop_text(ev->drop) : NULL, f);
}

/* ------------------------------------------------------------ main */

static int build(struct run *r)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.seed = r->o.seed;
    cfg.link = r->o.link;
    cfg.stack.msl = r->o.msl;
    /* No path MTU discovery: the MSS we announce must fit the link. */
    if (cfg.link.mtu && cfg.link.mtu - 40 < cfg.stack.mss) /* core min 64 */
        cfg.stack.mss = (uint16_t)(cfg.link.mtu < 104 ? 64 : cfg.link.mtu - 40);
    if (r->sc->tune)
        r->sc->tune(r, &cfg);
    if (sf_sim_create(&cfg, &r->sim))
        return 1;
    r->nh = r->sc->nhosts;
    static const char *const names[2][2] = {{"host", ""}, {"client", "server"}};
    for (int h = 0; h < r->nh; h++) {
        if (sf_sim_add_host(r->sim, 0, NULL) != h)
            return 1;
        ladder_column(r->lad, names[r->nh - 1][h], sf_sim_host_addr(r->sim, h));
    }
    sf_sim_set_trace(r->sim, on_event, r);
    sf_sim_set_app(r->sim, app_hook, r);
    r->sc->setup(r);
    return 0;
}

static const struct scenario *find_scenario(const char *name)
{
    for (size_t i = 0; i < NSCEN; i++)
        if (!strcmp(scenarios[i].name, name))
            return &scenarios[i];
    return NULL;
}

/* Whether path is one of the alternatives in want ("A B | A C B"). */
static bool path_matches(const char *path, const char *want)
{
    size_t n = strlen(path);
    for (const char *w = want;;) {
        const char *bar = strstr(w, " | ");
        size_t len = bar ? (size_t)(bar - w) : strlen(w);
        if (len == n && !strncmp(w, path, n))
            return true;
        if (!bar)
            return false;
        w = bar + 3;
    }
}

static int check_paths(struct run *r)
{
    int bad_paths = 0;
    for (int h = 0; h < r->nh; h++) {
        if (path_matches(r->path[h], r->sc->path[h]))
            continue;
        fprintf(stderr, "synfin sim: %s: %s visited \"%s\", expected \"%s\"\n",
                r->sc->name, r->nh == 1 ? "host" : h ? "server" : "client",
                r->path[h], r->sc->path[h]);
        bad_paths = 1;
    }
    return bad_paths;
}

static void summary(struct run *r, int failed)
{
    const struct sf_sim_stats *s = sf_sim_stats(r->sim);
    for (int h = 0; h < r->nh; h++)
        printf("%-7s %s\n", r->nh == 1 ? "host" : h ? "server" : "client",
               r->path[h][0] ? r->path[h] : "(no connection)");
    printf("network: %llu datagrams sent, %llu delivered, %llu dropped, "
           "%llu duplicated, %llu reordered, %llu corrupted\n",
           (unsigned long long)s->sent, (unsigned long long)s->delivered,
           (unsigned long long)r->lost, (unsigned long long)s->dups,
           (unsigned long long)s->reordered, (unsigned long long)s->corrupted);
    printf("%s: %s after %.3f s of virtual time (seed %llu)\n", r->sc->name,
           failed ? "FAILED" : "ok",
           (double)sf_sim_now(r->sim) / (double)SF_SEC,
           (unsigned long long)r->o.seed);
}

/* Opens --pcap and --json before the run; returns 0 or 2 with a message. */
static int open_outputs(struct run *r)
{
    char err[300];
    if (r->o.pcap && !(r->pcap = pcapw_open(r->o.pcap, err, sizeof err)))
        return bad("--pcap", err, NULL);
    if (r->o.json && !(r->json = jsonw_open(r->o.json, err, sizeof err)))
        return bad("--json", err, NULL);
    FILE *f = r->o.svg ? fopen(r->o.svg, "w") : NULL; /* fail early */
    if (r->o.svg && !f)
        return bad("--svg", "cannot create", r->o.svg);
    if (f)
        fclose(f);
    return 0;
}

/* Closes the outputs and writes the SVG; returns 0 or 1 with a message. */
static int close_outputs(struct run *r)
{
    int rc = 0;
    if (r->pcap && pcapw_close(r->pcap))
        rc = bad("--pcap", "write failed", r->o.pcap) - 1;
    if (r->json && jsonw_close(r->json))
        rc = bad("--json", "write failed", r->o.json) - 1;
    r->pcap = NULL;
    r->json = NULL;
    char err[300];
    if (r->o.svg && svg_write_file(r->lad, r->o.svg, err, sizeof err))
        rc = bad("--svg", err, NULL) - 1;
    return rc;
}

static int run_scenario(struct run *r)
{
    char title[200];
    snprintf(title, sizeof title,
             "synfin sim · %s · %s · seed %llu · delay %.3g ms%s",
             r->sc->name, r->sc->desc, (unsigned long long)r->o.seed,
             (double)r->o.link.delay / (double)SF_MSEC,
             r->o.link.loss > 0 ? " · lossy" : "");
    ladder_title(r->lad, title);
    if (build(r)) {
        fprintf(stderr, "synfin sim: cannot build the network\n");
        return 1;
    }
    /* Ten virtual minutes bound every scenario, even a broken one. */
    sf_sim_run_while(r->sim, NULL, NULL, 600 * SF_SEC);
    if (!r->o.quiet && (!r->sc->summary_only || r->o.ladder))
        ladder_print(r->lad, stdout);
    if (r->sc->report)
        r->sc->report(r);
    int failed = check_paths(r);
    if (!failed && r->sc->check)
        failed = r->sc->check(r);
    failed |= close_outputs(r);
    summary(r, failed);
    return failed;
}

int sf_cmd_sim(int argc, char **argv)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return 1;
    struct sf_sim_cfg d;
    sf_sim_cfg_default(&d);
    r->o = (struct sim_opts){.seed = 1, .link = d.link, .msl = d.stack.msl,
                         .color = isatty(STDOUT_FILENO), .capture = -1};
    int rc = parse_opts(&r->o, argc, argv);
    if (rc) {
        free(r);
        return rc < 0 ? 0 : rc;
    }
    if (r->o.list) {
        free(r);
        return list_scenarios();
    }
    bool many = r->o.scenario && !strcmp(r->o.scenario, "many");
    if ((r->o.soak || many) && (r->o.pcap || r->o.svg || r->o.json)) {
        rc = bad(r->o.pcap ? "--pcap" : r->o.svg ? "--svg" : "--json",
                 r->o.soak ? "not with --soak" : "not with the many scenario "
                 "(a summary, no trace)", NULL);
        free(r);
        return rc;
    }
    if (r->o.soak || many) {
        rc = r->o.soak ? sim_soak(&r->o) : sim_many(&r->o);
        free(r);
        return rc;
    }
    const char *name = r->o.scenario ? r->o.scenario : "lifecycle";
    r->sc = find_scenario(name);
    if (!r->sc || !r->sc->available) {
        rc = bad("--scenario", r->sc ? "not yet available (it needs parts of "
                 "the stack still to come)" : "unknown scenario (see --list)",
                 name);
        free(r);
        return rc;
    }
    struct ladder_opts lo = {.color = r->o.color, .absolute = r->o.absolute,
                             .explain = r->o.explain, .zh = r->o.zh,
                             .msl = r->o.msl};
    r->lad = ladder_new(&lo);
    rc = !r->lad ? 1 : open_outputs(r);
    if (!rc)
        rc = run_scenario(r);
    pcapw_close(r->pcap);
    jsonw_close(r->json);
    ladder_free(r->lad);
    sf_sim_free(r->sim);
    free(r);
    return rc;
}
