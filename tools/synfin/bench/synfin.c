/* synfin bench, synfin back end: a client stack and a server stack in one
 * process, joined by a zero-delay in-memory wire. Each stack's output
 * callback appends the datagram to the queue towards the other; pump()
 * feeds the queues until both are empty. The virtual clock barely moves,
 * so every TIME_WAIT record stays for the whole run: that is the point of
 * the lifecycle workloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "synfin/synfin.h"

#define SFB_CLI_IP 0x0a000001u /* 10.0.0.1 */
#define SFB_SRV_IP 0x0a000002u /* 10.0.0.2 */
/* the IPv6 rows: 2001:db8::1 and ::2 (RFC 3849), host id last */
#define SFB_IP6 {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
#define SFB_PORT0 10000
#define SFB_MAXPORTS 1024
#define SFB_BATCH 256

struct sfb_q {
    struct bench_q w;
    bool discard; /* drop what is sent this way (fake-peer workloads) */
    bool failed;  /* out of memory once: the run is invalid */
};

struct sfb {
    struct sf_stack *cli, *srv;
    struct sfb_q to_cli, to_srv;
    sf_time_t now;
    unsigned nports;
    int lsd[SFB_MAXPORTS];
    bool v6; /* connections over IPv6 (listeners on ::) */
};

static void q_out(void *ctx, const uint8_t *dgram, size_t len)
{
    struct sfb_q *q = ctx;
    if (q->discard)
        return;
    uint8_t *at = bench_q_push(&q->w, len);
    if (!at) {
        q->failed = true;
        return;
    }
    memcpy(at, dgram, len);
}

/* Feeding `to` only appends to the queue towards the other stack, never to
 * q itself, so q can be walked in place. */
static void q_drain(struct sfb *b, struct sfb_q *q, struct sf_stack *to)
{
    size_t off = 0;
    while (off < q->w.len) {
        uint32_t n;
        memcpy(&n, q->w.buf + off, sizeof n);
        sf_stack_input(to, b->now, q->w.buf + off + sizeof n, n);
        off += sizeof n + n;
    }
    q->w.len = 0;
}

static void pump(struct sfb *b)
{
    while (b->to_cli.w.len || b->to_srv.w.len) {
        q_drain(b, &b->to_srv, b->srv);
        q_drain(b, &b->to_cli, b->cli);
    }
}

/* Nothing in flight: move the clock to the earlier stack deadline (a
 * delayed ACK, say) and fire it. Returns false if no timer is pending. */
static bool idle(struct sfb *b)
{
    sf_time_t a = sf_stack_advance(b->cli, b->now);
    sf_time_t s = sf_stack_advance(b->srv, b->now);
    pump(b);
    sf_time_t next = a < s ? a : s;
    if (next == SF_TIME_NEVER)
        return false;
    b->now = next > b->now ? next : b->now + SF_USEC;
    sf_stack_advance(b->cli, b->now);
    sf_stack_advance(b->srv, b->now);
    pump(b);
    return true;
}

static int stack_new(struct sfb *b, uint32_t ip, struct sfb_q *q, uint8_t id,
                     unsigned nsock, struct sf_stack **out)
{
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = ip;
    if (b->v6) { /* dual-stack, as a stack is: its IPv6 address too */
        static const uint8_t a6[16] = SFB_IP6;
        memcpy(cfg.addr6, a6, 16);
        cfg.addr6[15] = id;
    }
    cfg.output = q_out;
    cfg.output_ctx = q;
    cfg.max_sockets = nsock;
    cfg.default_backlog_max = nsock;
    /* the SYN queue may hold as many half-open connections as there are
     * sockets: the memory benchmark measures request entries, not cookies */
    cfg.syn_backlog = nsock;
    for (int i = 0; i < 16; i++)
        cfg.seed[i] = (uint8_t)(id * 31 + i);
    return sf_stack_create(&cfg, b->now, out);
}

static void sfb_free(struct sfb *b)
{
    if (b->cli)
        sf_stack_free(b->cli);
    if (b->srv)
        sf_stack_free(b->srv);
    free(b->to_cli.w.buf);
    free(b->to_srv.w.buf);
    memset(b, 0, sizeof *b);
}

/* Two stacks; the server listens on nports ports with a backlog of
 * `backlog`, on 0.0.0.0 or (v6) on ::. */
static int sfb_init(struct sfb *b, unsigned nports, unsigned nsock,
                    int backlog, bool v6)
{
    memset(b, 0, sizeof *b);
    b->v6 = v6;
    b->now = SF_SEC;
    b->nports = nports > SFB_MAXPORTS ? SFB_MAXPORTS : nports;
    if (stack_new(b, SFB_CLI_IP, &b->to_srv, 1, nsock, &b->cli) ||
        stack_new(b, SFB_SRV_IP, &b->to_cli, 2, nsock, &b->srv))
        return -1;
    for (unsigned p = 0; p < b->nports; p++) {
        struct sf_addr a = {.port = (uint16_t)(SFB_PORT0 + p),
                            .family = v6 ? SF_AF_INET6 : SF_AF_INET};
        int sd = sf_socket(b->srv);
        if (sd < 0 || sf_bind(b->srv, sd, &a) || sf_listen(b->srv, sd, backlog))
            return -1;
        b->lsd[p] = sd;
    }
    return 0;
}

static struct sf_addr srv_addr(const struct sfb *b, unsigned i)
{
    uint16_t port = (uint16_t)(SFB_PORT0 + i % b->nports);
    if (b->v6) {
        uint8_t a6[16] = SFB_IP6;
        a6[15] = 2;
        return sf_addr6(a6, port);
    }
    return (struct sf_addr){.ip = SFB_SRV_IP, .port = port};
}

/* connect -> accept; returns 0 with both descriptors, or an error. */
static int sfb_open(struct sfb *b, unsigned i, bool abort, int *cs, int *ss)
{
    int c = sf_socket(b->cli);
    if (c < 0)
        return c;
    if (abort) {
        struct sf_linger l = {1, 0};
        sf_setsockopt(b->cli, c, SF_SOL_SOCKET, SF_SO_LINGER, &l, sizeof l);
    }
    struct sf_addr ra = srv_addr(b, i);
    int r = sf_connect(b->cli, c, &ra);
    if (r != SF_EINPROGRESS) {
        sf_close(b->cli, c);
        return r < 0 ? r : SF_EINVAL;
    }
    pump(b);
    int s = sf_accept(b->srv, b->lsd[i % b->nports], NULL);
    if (s < 0) {
        sf_close(b->cli, c);
        pump(b);
        return s;
    }
    *cs = c;
    *ss = s;
    return 0;
}

/* One whole lifecycle: the client closes first (FIN, or RST with
 * SO_LINGER {1,0}), then the server. */
static int lifecycle(struct sfb *b, unsigned i, bool abort)
{
    int c, s;
    int r = sfb_open(b, i, abort, &c, &s);
    if (r)
        return r;
    sf_close(b->cli, c);
    pump(b);
    sf_close(b->srv, s);
    pump(b);
    return 0;
}

/* Runs lifecycles for o->seconds; returns the rate, or -1 on an error. */
static double life_rate(struct sfb *b, const struct bench_opts *o, bool abort,
                        unsigned start, const char **err)
{
    unsigned n = 0;
    double t0 = bench_now(), t;
    do {
        for (int k = 0; k < SFB_BATCH; k++, n++) {
            int r = lifecycle(b, start + n, abort);
            if (r) {
                *err = sf_errname(r);
                return -1;
            }
        }
        b->now += SF_USEC;
        sf_stack_advance(b->cli, b->now);
        sf_stack_advance(b->srv, b->now);
        t = bench_now();
    } while (t - t0 < o->seconds);
    return n / (t - t0);
}

/* `fill` idle established connections and `fill` client TIME_WAITs. */
static int fill_tables(struct sfb *b, unsigned fill)
{
    for (unsigned i = 0; i < fill; i++) {
        int c, s;
        if (sfb_open(b, i, false, &c, &s))
            return -1;
    }
    for (unsigned i = 0; i < fill; i++)
        if (lifecycle(b, fill + i, false))
            return -1;
    const struct sf_counters *k = sf_stack_counters(b->cli);
    if (k->conns_in_state[SF_TIME_WAIT] < fill ||
        k->conns_in_state[SF_ESTABLISHED] < fill)
        return -1;
    return 0;
}

static void set_life(struct bench_res *res, bool abort, bool full, bool v6,
                     double rate, const char *err)
{
    if (rate >= 0)
        bench_set(res, full ? (abort ? BW_ABORT_FULL : BW_GRACEFUL_FULL)
                  : v6 ? (abort ? BW_ABORT6 : BW_GRACEFUL6)
                       : (abort ? BW_ABORT : BW_GRACEFUL), rate);
    else
        bench_note(res, "%s%s%s lifecycle failed: %s", abort ? "abort" : "graceful",
                   full ? " (full)" : "", v6 ? " (IPv6)" : "", err);
}

/* Empty tables: fresh stacks for each kind (and each family). */
static void run_life(const struct bench_opts *o, struct bench_res *res,
                     bool abort, bool v6)
{
    struct sfb b;
    const char *err = "setup";
    double rate = -1;
    if (sfb_init(&b, o->ports, 65536, 1024, v6) == 0)
        rate = life_rate(&b, o, abort, 0, &err);
    if (b.to_cli.failed || b.to_srv.failed)
        rate = -1, err = "out of memory";
    set_life(res, abort, false, v6, rate, err);
    sfb_free(&b);
}

/* Full tables, filled once: aborts first (they leave nothing behind),
 * then graceful lifecycles, as the Linux and lwIP back ends do. */
static void run_full(const struct bench_opts *o, struct bench_res *res)
{
    struct sfb b;
    const char *err = "setup";
    double ra = -1, rg = -1;
    if (sfb_init(&b, o->ports, 2 * o->fill + 65536, 1024, false) == 0 &&
        fill_tables(&b, o->fill) == 0) {
        ra = life_rate(&b, o, true, 2 * o->fill, &err);
        if (ra >= 0)
            rg = life_rate(&b, o, false, 3 * o->fill, &err);
    }
    if (b.to_cli.failed || b.to_srv.failed)
        ra = rg = -1, err = "out of memory";
    set_life(res, true, true, false, ra, err);
    set_life(res, false, true, false, rg, err);
    sfb_free(&b);
}

/* One connection, large writes and reads; MSS 1460 (1440 over IPv6),
 * checksums on (the core always computes and checks them). */
static void run_bulk(const struct bench_opts *o, struct bench_res *res,
                     bool v6)
{
    struct sfb b;
    size_t chunk = 1 << 20;
    uint8_t *buf = calloc(1, chunk);
    int c, s;
    if (!buf || sfb_init(&b, 1, 16, 16, v6) || sfb_open(&b, 0, false, &c, &s)) {
        bench_note(res, "bulk%s setup failed", v6 ? " (IPv6)" : "");
        free(buf);
        sfb_free(&b);
        return;
    }
    uint64_t sent = 0, rcvd = 0;
    double t0 = bench_now();
    while (rcvd < o->bulk_bytes) {
        long w = 0, r = 0;
        if (sent < o->bulk_bytes) {
            size_t want = o->bulk_bytes - sent < chunk ? o->bulk_bytes - sent : chunk;
            w = sf_send(b.cli, c, buf, want, 0);
            sent += w > 0 ? (uint64_t)w : 0;
        }
        pump(&b);
        while ((r = sf_recv(b.srv, s, buf, chunk, 0)) > 0)
            rcvd += (uint64_t)r;
        pump(&b);
        if (w <= 0 && r <= 0 && rcvd < o->bulk_bytes && !idle(&b))
            break;
    }
    double dt = bench_now() - t0;
    if (rcvd >= o->bulk_bytes)
        bench_set(res, v6 ? BW_BULK6 : BW_BULK, rcvd / dt / 1e6);
    else
        bench_note(res, "bulk%s stalled at %llu bytes", v6 ? " (IPv6)" : "",
                   (unsigned long long)rcvd);
    free(buf);
    sfb_free(&b);
}

/* Heap bytes per idle established connection end (a client socket and a
 * server socket both count once). */
static double mem_estab(const struct bench_opts *o)
{
    struct sfb b;
    unsigned n = o->mem_conns;
    double v = -1;
    if (sfb_init(&b, o->ports, 2 * n + 1024, 1024, false) == 0) {
        pump(&b);
        long long h0 = bench_heap_used();
        unsigned i;
        for (i = 0; i < n; i++) {
            int c, s;
            if (sfb_open(&b, i, false, &c, &s))
                break;
        }
        if (i == n)
            v = (double)(bench_heap_used() - h0) / (2.0 * n);
    }
    sfb_free(&b);
    return v;
}

/* Heap bytes per client TIME_WAIT record (the server side is gone). */
static double mem_tw(const struct bench_opts *o)
{
    struct sfb b;
    unsigned n = o->mem_conns, i = 0;
    double v = -1;
    if (sfb_init(&b, o->ports, n + 1024, 1024, false) == 0) {
        long long h0 = bench_heap_used();
        for (i = 0; i < n && lifecycle(&b, i, false) == 0; i++)
            ;
        const struct sf_counters *k = sf_stack_counters(b.cli);
        if (i == n && k->conns_in_state[SF_TIME_WAIT] == n)
            v = (double)(bench_heap_used() - h0) / n;
    }
    sfb_free(&b);
    return v;
}

/* Heap bytes per SYN_RCVD entry: a fake peer sends SYNs from n source
 * ports and never answers the SYN,ACKs (they are discarded). */
static double mem_syn(const struct bench_opts *o)
{
    struct sfb b;
    unsigned n = o->mem_conns;
    double v = -1;
    if (sfb_init(&b, 1, n + 1024, (int)n + 16, false) == 0) {
        b.to_cli.discard = true;
        uint8_t d[64];
        long long h0 = bench_heap_used();
        for (unsigned i = 0; i < n; i++) {
            uint32_t src = SFB_CLI_IP + (i >> 15);
            size_t len = bench_syn(d, src, (uint16_t)(1024 + (i & 0x7fff)),
                                   SFB_SRV_IP, SFB_PORT0, 1000u * i);
            sf_stack_input(b.srv, b.now, d, len);
        }
        const struct sf_counters *k = sf_stack_counters(b.srv);
        if (k->conns_in_state[SF_SYN_RCVD] == n)
            v = (double)(bench_heap_used() - h0) / n;
    }
    sfb_free(&b);
    return v;
}

static void run_mem(const struct bench_opts *o, struct bench_res *res)
{
    if (bench_heap_used() < 0) {
        bench_note(res, "memory: mallinfo2 unavailable (sanitizer build?)");
        return;
    }
    double e = mem_estab(o), s = mem_syn(o), t = mem_tw(o);
    if (e >= 0)
        bench_set(res, BW_MEM_ESTAB, e);
    if (s >= 0)
        bench_set(res, BW_MEM_SYN, s);
    else
        bench_note(res, "SYN flood did not leave %u SYN_RCVD", o->mem_conns);
    if (t >= 0)
        bench_set(res, BW_MEM_TW, t);
}

int bench_synfin(const struct bench_opts *o, struct bench_res *res)
{
    if (o->groups & (BENCH_G_LIFE | BENCH_G_FULL)) {
        run_life(o, res, true, false);
        run_life(o, res, false, false);
    }
    if (o->groups & BENCH_G_LIFE) {
        run_life(o, res, true, true);
        run_life(o, res, false, true);
    }
    if (o->groups & BENCH_G_FULL)
        run_full(o, res);
    if (o->groups & BENCH_G_BULK) {
        run_bulk(o, res, false);
        run_bulk(o, res, true);
    }
    if (o->groups & BENCH_G_MEM)
        run_mem(o, res);
    return 0;
}
