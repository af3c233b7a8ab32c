/* synfin sim --soak N: N seeds, each a random network (loss up to 20%,
 * duplication, reordering, corruption, MTU 68..9000, jitter, bandwidth)
 * and a random workload (a few connections moving random amounts both
 * ways, with half-closes, aborts, closes in either order and refused
 * connects). After every event each connection's invariants are checked;
 * at the end every byte must have arrived intact or the connection failed
 * with a clean error, and nothing may be left but listeners. A quarter of
 * the seeds run on dual-stack hosts (IPv4 and fd00::N): their listeners
 * are bound to ::, and most connections go over IPv6, the rest over IPv4
 * to the IPv6 listener (seen as ::ffff:a.b.c.d). Per stack or socket,
 * from hashes of the seed: window scaling, timestamps, SACK, RACK, ECN,
 * CUBIC or NewReno, pacing, a memory limit. Everything follows the
 * seed, so `--soak 1 --seed S` replays seed S exactly. --jobs N forks N
 * workers over the seeds (seed i to worker i mod N) and prints their
 * reports merged in seed order. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef __wasi__ /* the lab's WebAssembly build: no processes (--jobs 1) */
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#define SOAK_JOBS 1
#endif

#include "sim/sim_int.h"

#define SOAK_MAXH 3
#define SOAK_MAXC 8
#define SOAK_LIMIT (3 * 3600 * SF_SEC) /* virtual time bound per seed */

/* What an endpoint does once it has queued all its bytes. */
enum plan {
    P_HALF,  /* shutdown(SHUT_WR), close at EOF */
    P_WAIT,  /* close at EOF (the peer must close or half-close first) */
    P_CLOSE, /* close at once, not reading the rest */
    P_ABORT  /* abort (SO_LINGER 0) after abort_at bytes */
};
static const char *const plan_name[] = {"half-close", "wait", "close", "abort"};

struct end {
    int host, sd;
    enum plan plan;
    uint64_t n, sent, got, abort_at;
    bool eof, closed, shut, bad, connected;
    int err;
    const char *err_in; /* the call that returned err */
};

struct sconn {
    struct end e[2]; /* 0: client, 1: server */
    int lsd;         /* the server's listener, one per connection */
    uint16_t port;
    bool refused;    /* no listener: the connect must fail */
    sf_time_t start;
};

struct soak {
    uint64_t seed, rng;
    struct sf_sim *sim;
    struct sf_sim_cfg cfg;
    struct sf_link_cfg worse; /* host 0 -> 1, when worse.mtu != 0 */
    sf_time_t down_at, down_for;  /* an outage between hosts 0 and 1 */
    int nh, nc;
    struct sconn c[SOAK_MAXC];
    char why[400]; /* the first failure */
    bool verbose;
    /* A retransmission timeout that fired: it must send something (or end
     * the connection) in the same event. */
    bool rto_pending;
    int rto_host;
    struct sf_addr rto_local, rto_remote;
    uint64_t steps;
    /* RFC 3168 ECN: its own stream of draws (the ECN setting of every
     * socket, a CE threshold on the links), so that the draws above, and
     * with them every seed's network and workload, stay as they were. */
    uint64_t erng;
    uint8_t ecn[2][SOAK_MAXC]; /* SF_TCP_ECN of client (0), listener (1) */
    bool ipv6; /* dual-stack hosts, listeners on :: (ipv6_for) */
};

static uint64_t rnd(struct soak *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t below(struct soak *s, uint64_t n)
{
    return n ? rnd(s) % n : 0;
}

static uint64_t ebelow(struct soak *s, uint64_t n)
{
    uint64_t z = (s->erng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return n ? z % n : 0;
}

static double unit(struct soak *s)
{
    return (double)(rnd(s) >> 11) / (double)(1ull << 53);
}

static bool fail(struct soak *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool fail(struct soak *s, const char *fmt, ...)
{
    if (!s->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->why, sizeof s->why, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* The byte at offset i of the stream sent by endpoint k of connection c. */
static uint8_t pattern(int c, int k, uint64_t i)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(c * 2 + k + 1) << 52;
    x ^= x >> 31;
    return (uint8_t)(x * 0xD6E8FEB86659FD93ull >> 56);
}

/* ------------------------------------------------------- the network */

static void random_link(struct soak *s, struct sf_link_cfg *l)
{
    /* MTU 68 is RFC 791's floor, but the core refuses an MSS below 64,
     * so the smallest MTU a stack can match is 104. */
    static const uint32_t mtus[] = {104, 296, 576, 1280, 1500, 1500, 9000};
    l->delay = (1 + below(s, 50)) * SF_MSEC;
    l->jitter = below(s, 3) ? below(s, 20) * SF_MSEC : 0;
    l->bandwidth = below(s, 3) ? 0 : 1000000 * (1 + below(s, 100));
    l->mtu = below(s, 4) ? mtus[below(s, 7)] : 104 + (uint32_t)below(s, 9000 - 103);
    l->loss = below(s, 4) ? unit(s) * 0.2 : 0;
    l->dup = below(s, 2) ? unit(s) * 0.1 : 0;
    l->reorder = below(s, 2) ? unit(s) * 0.1 : 0;
    l->corrupt = below(s, 2) ? unit(s) * 0.05 : 0;
}

static void random_stack(struct soak *s, struct sf_stack_cfg *st, uint32_t mtu)
{
    static const uint32_t bufs[] = {2048, 8192, 16384, 65535, 65535};
    /* No path MTU discovery: the MSS must fit the smallest link. */
    st->mss = (uint16_t)(mtu - 40 < 8960 ? mtu - 40 : 8960);
    st->sndbuf = bufs[below(s, 5)];
    st->rcvbuf = bufs[below(s, 5)];
    st->delack = below(s, 3) ? 200 * SF_MSEC : 0;
    st->msl = (1 + below(s, 30)) * SF_SEC;
    st->syn_backlog = 1 + (unsigned)below(s, 8);
    st->reass_max_ranges = 1 + (unsigned)below(s, 32);
    /* RFC 7323 and autotuning, per stack: drawn from the seed alone (not
     * the workload's stream, so the other draws stay as they were) */
    uint64_t z = (s->seed ^ 0x7323ull) * 0x9E3779B97F4A7C15ull;
    z ^= z >> 31;
    st->wscale = (z & 3) != 0;
    st->timestamps = (z & 12) != 0;
    st->rcvbuf_max = (z & 16) ? 0 : (uint32_t)(64 * 1024) << (z >> 5) % 8;
    st->sndbuf_max = (z & 256) ? 0 : (uint32_t)(64 * 1024) << (z >> 9) % 8;
}

/* RFC 7323 options on or off per socket, from the seed, the connection
 * and the end alone: 0 leave the stack's, 1 off, 2 on. */
static void random_rfc7323(struct soak *s, struct sf_stack *st, int sd,
                           uint64_t salt)
{
    uint64_t z = (s->seed * 0x9E3779B97F4A7C15ull) ^ (salt * 0xBF58476D1CE4E5B9ull);
    z ^= z >> 29;
    z *= 0x94D049BB133111EBull;
    z ^= z >> 32;
    int ws = (int)(z % 3), ts = (int)(z / 3 % 3);
    if (ws) {
        int v = ws - 1;
        sf_setsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_WSCALE, &v, sizeof v);
    }
    if (ts) {
        int v = ts - 1;
        sf_setsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_TIMESTAMPS, &v, sizeof v);
    }
}

/* ISNs near the edges of the sequence space, on a quarter of the seeds
 * each: seeds 1, 5, 9 ... start a little below 2^31 (where the sign bit of
 * the absolute number flips), seeds 2, 6, 10 ... a little below 2^32
 * (where the numbers wrap), so that many connections cross the edge in
 * mid-transfer (RFC 9293 3.4: all arithmetic modulo 2^32). Drawn from the
 * seed alone, not from the workload's stream, so the other draws (and the
 * other seeds) are unchanged. 0: the stack's own hashed ISN. */
static uint32_t isn_offset_for(uint64_t seed)
{
    static const uint64_t edge[4] = {0, 1ull << 31, 1ull << 32, 0};
    if (!edge[seed % 4])
        return 0;
    uint64_t z = (seed ^ 0x15ED6E5EEDull) * 0x9E3779B97F4A7C15ull;
    z ^= z >> 29;
    /* The ISN adds the 4 us clock (connections start in the first 2 s:
     * up to 500000) and 16 bits of the hash to this: below the edge by
     * 0.6 to 1 MB, a transfer (up to 1 MB) often crosses it. */
    return (uint32_t)(edge[seed % 4] - 600000 - z % 400000);
}

/* Whether seed runs on dual-stack hosts: one seed in four, from the seed
 * alone (not the workload's stream, so every seed's network and workload
 * stay as they were; the other three in four run exactly as before). */
static bool ipv6_for(uint64_t seed)
{
    uint64_t z = (seed ^ 0x1F6D00ull) * 0xD6E8FEB86659FD93ull;
    z ^= z >> 32;
    z *= 0x9E3779B97F4A7C15ull;
    return z >> 62 == 0;
}

/* On a dual-stack seed, whether connection i goes over IPv6 (three in
 * four) or over IPv4 to the dual-stack listener, from seed and i alone. */
static bool conn_v6(const struct soak *s, int i)
{
    uint64_t z = (s->seed ^ 0xC0FFEE6ull) * 0x9E3779B97F4A7C15ull ^
                 (uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ull;
    z ^= z >> 31;
    return s->ipv6 && (z >> 62) != 0;
}

/* A memory limit for the whole stack (cfg.mem_max) on one seed in four,
 * from the seed alone (the other draws stay as they were): both buffers
 * plus SF_MEM_MIN and 0..1 MB, so that some seeds run under pressure and
 * at the cap (out-of-order data pruned, windows clamped, SYNs dropped). */
static uint64_t mem_max_for(uint64_t seed, const struct sf_stack_cfg *st)
{
    uint64_t z = (seed ^ 0x3E3C4Bull) * 0xBF58476D1CE4E5B9ull;
    z ^= z >> 31;
    z *= 0x94D049BB133111EBull;
    z ^= z >> 29;
    if (z >> 62)
        return 0;
    return (uint64_t)st->rcvbuf + st->sndbuf + SF_MEM_MIN + (z & 0xfffff);
}

static int build(struct soak *s)
{
    sf_sim_cfg_default(&s->cfg);
    s->cfg.seed = s->seed;
    s->cfg.stack.isn_offset = isn_offset_for(s->seed);
    s->cfg.ipv6 = s->ipv6 = ipv6_for(s->seed);
    random_link(s, &s->cfg.link);
    random_stack(s, &s->cfg.stack, s->cfg.link.mtu);
    s->cfg.stack.mem_max = mem_max_for(s->seed, &s->cfg.stack);
    /* RFC 3168: on half of the links with a rate, CE marking from a
     * random backlog (the worse link below is a copy: it marks too). */
    if (s->cfg.link.bandwidth && ebelow(s, 2))
        s->cfg.link.ce_threshold = 1500 + (uint32_t)ebelow(s, 60000);
    if (sf_sim_create(&s->cfg, &s->sim))
        return -1;
    s->nh = 2 + (int)below(s, SOAK_MAXH - 1);
    for (int h = 0; h < s->nh; h++)
        if (sf_sim_add_host(s->sim, 0, NULL) != h)
            return -1;
    /* Sometimes one direction of one pair is worse than the rest. */
    if (below(s, 3) == 0) {
        s->worse = s->cfg.link;
        s->worse.loss = unit(s) * 0.2;
        s->worse.reorder = unit(s) * 0.2;
        sf_sim_link_set(s->sim, 0, 1, &s->worse);
    }
    return 0;
}

/* An outage: hosts 0 and 1 lose each other for a while (both ways), so
 * retransmissions back off, keepalives probe and some connections time
 * out. */
static void set_down(struct sf_sim *sim, bool down)
{
    struct sf_link_cfg l;
    for (int from = 0; from < 2; from++) {
        sf_sim_link_get(sim, from, 1 - from, &l);
        l.down = down;
        sf_sim_link_set(sim, from, 1 - from, &l);
    }
}

static void link_down(void *ctx, struct sf_sim *sim, int h)
{
    (void)ctx, (void)h;
    set_down(sim, true);
}

static void link_up(void *ctx, struct sf_sim *sim, int h)
{
    (void)ctx, (void)h;
    set_down(sim, false);
}

static void maybe_outage(struct soak *s)
{
    if (below(s, 4))
        return;
    s->down_at = below(s, 5000) * SF_MSEC;
    s->down_for = (1 + below(s, 300)) * SF_SEC;
    sf_sim_at(s->sim, s->down_at, -1, link_down, s);
    sf_sim_at(s->sim, s->down_at + s->down_for, -1, link_up, s);
}

/* ------------------------------------------------------ the workload */

static void random_conn(struct soak *s, int i)
{
    struct sconn *c = &s->c[i];
    uint64_t cap = 300ull * s->cfg.stack.mss; /* bounded in segments */
    if (cap > 1000000)
        cap = 1000000;
    c->port = (uint16_t)(1000 + i);
    c->lsd = -1;
    c->refused = below(s, 12) == 0;
    c->start = below(s, 2000) * SF_MSEC;
    for (int k = 0; k < 2; k++) {
        struct end *e = &c->e[k];
        *e = (struct end){.sd = -1, .plan = (enum plan)below(s, 4)};
        e->n = below(s, 3) ? below(s, cap + 1) : 0;
        e->abort_at = below(s, e->n + 1);
    }
    c->e[0].host = (int)below(s, (uint64_t)s->nh);
    c->e[1].host = (int)below(s, (uint64_t)s->nh); /* itself, sometimes */
    if (c->e[0].plan == P_WAIT && c->e[1].plan == P_WAIT)
        c->e[below(s, 2)].plan = P_HALF;
    s->ecn[0][i] = (uint8_t)ebelow(s, 3);
    s->ecn[1][i] = (uint8_t)ebelow(s, 3);
}

/* RFC 2018 SACK on or off for a socket, from the seed and the socket
 * alone (not the workload's stream, so the other draws stay as they
 * were): about half the connections use it, some only on one side. */
static int sack_for(const struct soak *s, int host, int sd)
{
    uint64_t z = (s->seed ^ 0x5ACC5ACCull) * 0x9E3779B97F4A7C15ull ^
                 (uint64_t)(host * 4096 + sd + 1) * 0xBF58476D1CE4E5B9ull;
    z ^= z >> 29;
    return (int)(z >> 63);
}

/* RFC 8985 RACK on or off per socket, from its own hash (the other
 * draws stay as they were) */
static int rack_for(const struct soak *s, int host, int sd)
{
    uint64_t z = (s->seed ^ 0x5ACC8985ull) * 0xD6E8FEB86659FD93ull ^
                 (uint64_t)(host * 4096 + sd + 1) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (int)(z >> 63);
}

/* Sender pacing per socket, from its own hash (the other draws stay as
 * they were): off (0) for about half the sockets, on (1) for a quarter,
 * on with an SO_MAX_PACING_RATE cap of 64 KB/s .. 2 MB/s (2 .. 32) for
 * the rest. Returns the cap in 64 KB/s units, 1 for no cap, 0 for off. */
static unsigned pacing_for(const struct soak *s, int host, int sd)
{
    uint64_t z = (s->seed ^ 0x9ACE9ACEull) * 0x9E3779B97F4A7C15ull ^
                 (uint64_t)(host * 4096 + sd + 1) * 0xD6E8FEB86659FD93ull;
    z ^= z >> 29;
    if (!(z >> 63))
        return 0;
    return (z >> 62) & 1 ? 1 : 2 + (unsigned)((z >> 32) % 31);
}

/* RFC 9438 CUBIC or RFC 5681/6582 NewReno per socket (TCP_CONGESTION),
 * from its own hash (the other draws stay as they were): about half
 * each; 0 leaves the stack's default (CUBIC). */
static void set_cc(const struct soak *s, struct sf_stack *st, int host, int sd)
{
    uint64_t z = (s->seed ^ 0xCC5681ull) * 0x94D049BB133111EBull ^
                 (uint64_t)(host * 4096 + sd + 1) * 0x9E3779B97F4A7C15ull;
    z ^= z >> 30;
    const char *cc = (z >> 63) ? "reno" : "cubic";
    sf_setsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_CONGESTION, cc,
                  (unsigned)strlen(cc));
}

static void set_pacing(const struct soak *s, struct sf_stack *st, int host,
                       int sd)
{
    unsigned p = pacing_for(s, host, sd);
    int on = p != 0, cap = p > 1 ? (int)p * 65536 : -1;
    sf_setsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_PACING, &on, sizeof on);
    sf_setsockopt(st, sd, SF_SOL_SOCKET, SF_SO_MAX_PACING_RATE, &cap,
                  sizeof cap);
}

static void setopts(struct soak *s, struct end *e)
{
    struct sf_stack *st = sf_sim_host_stack(s->sim, e->host);
    /* Keepalive on every socket: a peer that vanished (its RST lost) is
     * found, so every connection ends within its timeouts. */
    int on = 1, idle = 60, intvl = 10, cnt = 5, nodelay = (int)below(s, 2);
    sf_setsockopt(st, e->sd, SF_SOL_SOCKET, SF_SO_KEEPALIVE, &on, sizeof on);
    sf_setsockopt(st, e->sd, SF_IPPROTO_TCP, SF_TCP_KEEPIDLE, &idle, sizeof idle);
    sf_setsockopt(st, e->sd, SF_IPPROTO_TCP, SF_TCP_KEEPINTVL, &intvl,
                  sizeof intvl);
    sf_setsockopt(st, e->sd, SF_IPPROTO_TCP, SF_TCP_KEEPCNT, &cnt, sizeof cnt);
    sf_setsockopt(st, e->sd, SF_IPPROTO_TCP, SF_TCP_NODELAY, &nodelay,
                  sizeof nodelay);
    /* (an accepted socket has its listener's, set below: this fails) */
    int sack = sack_for(s, e->host, e->sd);
    sf_setsockopt(st, e->sd, SF_IPPROTO_TCP, SF_TCP_SACK, &sack, sizeof sack);
    int rack = rack_for(s, e->host, e->sd);
    sf_setsockopt(st, e->sd, SF_IPPROTO_TCP, SF_TCP_RACK, &rack, sizeof rack);
    /* (an accepted socket: changed under way, from its listener's) */
    set_pacing(s, st, e->host, e->sd);
    set_cc(s, st, e->host, e->sd);
    if (below(s, 4) == 0) { /* RFC 5482: give up on data unacked this long */
        unsigned ms = 1000 * (1 + (unsigned)below(s, 120));
        sf_setsockopt(st, e->sd, SF_IPPROTO_TCP, SF_TCP_USER_TIMEOUT, &ms,
                      sizeof ms);
    }
}

static void end_close(struct soak *s, struct end *e, bool abort)
{
    struct sf_stack *st = sf_sim_host_stack(s->sim, e->host);
    if (e->closed || e->sd < 0)
        return;
    if (abort) {
        struct sf_linger lg = {1, 0};
        sf_setsockopt(st, e->sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg);
    }
    sf_close(st, e->sd);
    e->closed = true;
}

static void end_send(struct soak *s, int ci, int k)
{
    struct end *e = &s->c[ci].e[k];
    struct sf_stack *st = sf_sim_host_stack(s->sim, e->host);
    uint64_t stop = e->plan == P_ABORT ? e->abort_at : e->n;
    uint8_t buf[4096];
    while (e->sent < stop && !e->err) {
        size_t n = stop - e->sent < sizeof buf ? (size_t)(stop - e->sent) : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(ci, k, e->sent + i);
        long r = sf_send(st, e->sd, buf, n, 0);
        if (r == SF_EAGAIN)
            return;
        if (r <= 0) {
            e->err = r ? (int)r : SF_EINVAL;
            e->err_in = "send";
        }
        else
            e->sent += (uint64_t)r;
    }
}

static void end_recv(struct soak *s, int ci, int k)
{
    struct end *e = &s->c[ci].e[k];
    struct sf_stack *st = sf_sim_host_stack(s->sim, e->host);
    uint8_t buf[4096];
    while (!e->eof && !e->err) {
        long r = sf_recv(st, e->sd, buf, sizeof buf, 0);
        if (r == SF_EAGAIN)
            return;
        if (r < 0) {
            e->err = (int)r;
            e->err_in = "recv";
            return;
        }
        e->eof = r == 0;
        for (long i = 0; i < r; i++)
            e->bad |= buf[i] != pattern(ci, 1 - k, e->got + (uint64_t)i);
        e->got += (uint64_t)r;
    }
}

/* One endpoint's application: connect or accept, send, read, and close
 * as its plan says. */
static void end_step(struct soak *s, int ci, int k)
{
    struct sconn *c = &s->c[ci];
    struct end *e = &c->e[k];
    struct sf_stack *st = sf_sim_host_stack(s->sim, e->host);
    if (k == 1 && e->sd < 0 && c->lsd >= 0) {
        int sd = sf_accept(st, c->lsd, NULL);
        if (sd < 0)
            return;
        e->sd = sd;
        e->connected = true;
        setopts(s, e);
        sf_close(st, c->lsd); /* one connection per listener */
        c->lsd = -1;
    }
    if (e->sd < 0 || e->closed)
        return;
    if (!e->connected) {
        struct sf_addr to = sf_sim_host_ip(
            s->sim, c->e[1].host, conn_v6(s, ci) ? SF_AF_INET6 : SF_AF_INET,
            c->port);
        int r = sf_connect(st, e->sd, &to);
        if (r == SF_EALREADY || r == SF_EINPROGRESS)
            return;
        e->connected = true;
        if (r && r != SF_EISCONN) {
            e->err = r;
            e->err_in = "connect";
        }
    }
    end_send(s, ci, k);
    bool all = e->sent == (e->plan == P_ABORT ? e->abort_at : e->n);
    /* Every side reads while it sends (or two writers could block each
     * other for ever); P_CLOSE and P_ABORT stop reading once they are done. */
    if (!all || (e->plan != P_CLOSE && e->plan != P_ABORT))
        end_recv(s, ci, k);
    if (all && e->plan == P_HALF && !e->shut && !e->err) {
        sf_shutdown(st, e->sd, SF_SHUT_WR);
        e->shut = true;
    }
    if (e->err || (all && (e->plan == P_CLOSE || e->plan == P_ABORT)) ||
        (all && e->eof))
        end_close(s, e, e->plan == P_ABORT && !e->err);
}

static void app(void *ctx, struct sf_sim *sim, int h)
{
    struct soak *s = ctx;
    (void)sim;
    for (int i = 0; i < s->nc; i++)
        for (int k = 0; k < 2; k++)
            if (s->c[i].e[k].host == h)
                end_step(s, i, k);
}

static void start(void *ctx, struct sf_sim *sim, int h)
{
    struct soak *s = ctx;
    (void)h;
    for (int i = 0; i < s->nc; i++) {
        struct sconn *c = &s->c[i];
        if (c->start != sf_sim_now(sim) || c->e[0].sd >= 0)
            continue;
        struct sf_stack *cs = sf_sim_host_stack(sim, c->e[0].host);
        sf_sim_touch(sim, c->e[0].host);
        c->e[0].sd = sf_socket(cs);
        if (c->e[0].sd < 0) { /* at the memory limit: no TCB (SF_ENOMEM) */
            c->e[0].err = c->e[0].sd;
            c->e[0].err_in = "socket";
            c->e[0].sd = -1;
            continue;
        }
        setopts(s, &c->e[0]);
        random_rfc7323(s, cs, c->e[0].sd, (uint64_t)i * 2);
        int ecn = s->ecn[0][i];
        sf_setsockopt(cs, c->e[0].sd, SF_IPPROTO_TCP, SF_TCP_ECN, &ecn,
                      sizeof ecn);
        end_step(s, i, 0);
        sf_sim_touch(sim, c->e[0].host);
    }
}

static void listen_all(struct soak *s)
{
    for (int i = 0; i < s->nc; i++) {
        struct sconn *c = &s->c[i];
        if (c->refused)
            continue;
        struct sf_stack *st = sf_sim_host_stack(s->sim, c->e[1].host);
        /* a dual-stack seed: :: takes IPv6 and IPv4 (IPV6_V6ONLY off) */
        struct sf_addr a = {.port = c->port,
                            .family = s->ipv6 ? SF_AF_INET6 : SF_AF_INET};
        c->lsd = sf_socket(st);
        random_rfc7323(s, st, c->lsd, (uint64_t)i * 2 + 1);
        int sack = sack_for(s, c->e[1].host, c->lsd);
        sf_setsockopt(st, c->lsd, SF_IPPROTO_TCP, SF_TCP_SACK, &sack,
                      sizeof sack);
        int rack = rack_for(s, c->e[1].host, c->lsd);
        sf_setsockopt(st, c->lsd, SF_IPPROTO_TCP, SF_TCP_RACK, &rack,
                      sizeof rack);
        set_pacing(s, st, c->e[1].host, c->lsd); /* its children take it */
        set_cc(s, st, c->e[1].host, c->lsd);
        /* RFC 3168 ECN, 0/1/2 at random per connection (its children
         * take the listener's) */
        int ecn = s->ecn[1][i];
        sf_setsockopt(st, c->lsd, SF_IPPROTO_TCP, SF_TCP_ECN, &ecn, sizeof ecn);
        if (sf_bind(st, c->lsd, &a) || sf_listen(st, c->lsd, 4))
            fail(s, "cannot listen on port %u", c->port);
        sf_sim_touch(s->sim, c->e[1].host);
    }
    for (int i = 0; i < s->nc; i++)
        sf_sim_at(s->sim, s->c[i].start, -1, start, s);
}

/* ------------------------------------------------------- invariants */

static bool seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(b - a) >= 0;
}

struct inv {
    struct soak *s;
    int host;
    const struct sf_stack_cfg *cfg;
    sf_time_t now;
};

#define INV(cond, ...) \
    do { if (!(cond)) return fail(v->s, __VA_ARGS__), 1; } while (0)

/* RFC 9293 3.3.1 and 3.8: what must hold of any connection at any time. */
static int check_conn(void *ctx, const struct sf_tcp_info *t)
{
    struct inv *v = ctx;
    char a[SF_ADDR_STRLEN];
    sf_addr_fmt(&t->local, a, sizeof a);
    const char *st = sf_state_name(t->state);
    if (t->state == SF_LISTEN)
        return 0;
    INV(t->state != SF_CLOSED || t->sd >= 0,
        "host %d %s: CLOSED without a descriptor is still listed", v->host, a);
    if (t->state == SF_CLOSED)
        return 0;
    INV(seq_le(t->snd_una, t->snd_nxt), "host %d %s %s: SND.UNA %u > SND.NXT %u",
        v->host, a, st, t->snd_una, t->snd_nxt);
    /* Buffers as autotuned (never past the stack's ceiling); a scaled
     * window may offer up to 2^shift - 1 bytes more than the buffer holds
     * rather than move its right edge left (RFC 7323 2.4). */
    uint32_t rmax = v->cfg->rcvbuf_max > v->cfg->rcvbuf ? v->cfg->rcvbuf_max
                                                        : v->cfg->rcvbuf;
    uint32_t smax = v->cfg->sndbuf_max > v->cfg->sndbuf ? v->cfg->sndbuf_max
                                                        : v->cfg->sndbuf;
    uint32_t slack = (1u << t->rcv_wscale) - 1;
    INV(t->rcvbuf <= rmax && t->sndbuf <= smax, "host %d %s %s: buffers "
        "%u/%u beyond the ceilings %u/%u", v->host, a, st, t->rcvbuf,
        t->sndbuf, rmax, smax);
    INV(t->sndq <= t->sndbuf, "host %d %s %s: %u bytes queued to send, "
        "buffer %u", v->host, a, st, t->sndq, t->sndbuf);
    /* Under a memory limit a buffer autotuning raised goes back to
     * cfg.rcvbuf under pressure while the window offered before stays
     * offered (tcp_rcvbuf_reserve): bounded by the ceiling then. */
    uint32_t rbound = v->cfg->mem_max && rmax > t->rcvbuf ? rmax : t->rcvbuf;
    INV(t->rcvq <= rbound + slack, "host %d %s %s: %u bytes queued to "
        "read, buffer %u", v->host, a, st, t->rcvq, t->rcvbuf);
    /* rcv_wnd is the window last advertised (not moved as data arrives). */
    INV(t->rcv_wnd <= rbound + slack &&
        t->rcv_wnd <= (65535u << t->rcv_wscale), "host %d %s %s: "
        "window %u advertised, buffer %u", v->host, a, st, t->rcv_wnd,
        t->rcvbuf);
    INV(t->wscale_ok || (t->rcv_wscale == 0 && t->snd_wscale == 0),
        "host %d %s %s: a shift without window scaling", v->host, a, st);
    /* Something must be pending while data or a SYN/FIN is unacknowledged
     * (only the earliest timer is visible). */
    bool unacked = t->snd_una != t->snd_nxt || t->sndq > 0 ||
                   t->state == SF_SYN_SENT || t->state == SF_SYN_RCVD;
    INV(!unacked || t->timer != SF_TIMER_NONE, "host %d %s %s: unacknowledged "
        "(SND.UNA %u, SND.NXT %u, %u queued) with no timer", v->host, a, st,
        t->snd_una - t->iss, t->snd_nxt - t->iss, t->sndq);
    INV(t->state != SF_TIME_WAIT || t->timer == SF_TIMER_TIME_WAIT,
        "host %d %s TIME_WAIT with the %s timer", v->host, a,
        t->timer ? sf_timer_name(t->timer) : "no");
    INV(t->timer == SF_TIMER_NONE || t->timer_expires + 2 * SF_MSEC +
        v->cfg->timer_granularity >= v->now, "host %d %s %s: %s timer overdue "
        "(due %llu ns, now %llu)", v->host, a, st, sf_timer_name(t->timer),
        (unsigned long long)t->timer_expires, (unsigned long long)v->now);
    return 0;
}

/* Called before every event: checks every connection of every host. */
static bool check_all(void *ctx, struct sf_sim *sim)
{
    struct soak *s = ctx;
    s->steps++;
    if (s->rto_pending) {
        char a[SF_ADDR_STRLEN];
        sf_addr_fmt(&s->rto_local, a, sizeof a);
        return fail(s, "host %d %s: the retransmission timer fired and sent "
                    "nothing", s->rto_host, a);
    }
    for (int h = 0; h < s->nh; h++) {
        struct sf_stack *st = sf_sim_host_stack(sim, h);
        struct inv v = {s, h, sf_stack_config(st), sf_sim_now(sim)};
        const struct sf_counters *ctr = sf_stack_counters(st);
        for (int i = 0; i < SF_NSTATES; i++)
            if (ctr->conns_in_state[i] > 1000000)
                return fail(s, "host %d: %s count underflowed", h,
                            sf_state_name((enum sf_state)i));
        if (sf_stack_foreach(st, check_conn, &v))
            return false;
    }
    return true;
}

/* ------------------------------------------------------- the outcome */

static bool clean_error(int err)
{
    return err == SF_ECONNRESET || err == SF_ETIMEDOUT ||
           err == SF_ECONNREFUSED || err == SF_EPIPE;
}

static int left_over(void *ctx, const struct sf_tcp_info *t)
{
    struct inv *v = ctx;
    char a[SF_ADDR_STRLEN], b[SF_ADDR_STRLEN];
    if (t->state == SF_LISTEN)
        return 0;
    sf_addr_fmt(&t->local, a, sizeof a);
    sf_addr_fmt(&t->remote, b, sizeof b);
    fail(v->s, "stuck: host %d %s -> %s still %s (timer %s)", v->host, a, b,
         sf_state_name(t->state), t->timer ? sf_timer_name(t->timer) : "none");
    return 1;
}

static bool check_end(struct soak *s, int ci, int k)
{
    const struct sconn *c = &s->c[ci];
    const struct end *e = &c->e[k], *p = &c->e[1 - k];
    const char *who = k ? "server" : "client";
    if (e->bad)
        return fail(s, "conn %d %s: received bytes differ from those sent", ci, who);
    /* at a memory limit the stack may refuse a new socket (its TCB) */
    bool mem_refused = e->err == SF_ENOMEM && s->cfg.stack.mem_max &&
                       e->err_in && strcmp(e->err_in, "socket") == 0;
    if (e->err && !clean_error(e->err) && !mem_refused)
        return fail(s, "conn %d %s: unexpected error %s from %s", ci, who,
                    sf_errname(e->err), e->err_in);
    if (c->refused && k == 0 && !e->err)
        return fail(s, "conn %d: connect to a closed port did not fail", ci);
    if (e->sd >= 0 && !e->closed)
        return fail(s, "conn %d %s (%s): never finished: sent %llu/%llu, got "
                    "%llu%s", ci, who, plan_name[e->plan],
                    (unsigned long long)e->sent, (unsigned long long)e->n,
                    (unsigned long long)e->got, e->eof ? " and EOF" : "");
    bool reads = e->plan == P_HALF || e->plan == P_WAIT;
    uint64_t want = p->plan == P_ABORT ? p->abort_at : p->n;
    if (reads && e->sd >= 0 && !e->err && (e->got != want || !e->eof ||
                                           p->plan == P_ABORT))
        return fail(s, "conn %d %s: read %llu of %llu bytes%s and no error "
                    "(peer %s)", ci, who, (unsigned long long)e->got,
                    (unsigned long long)want, e->eof ? " then EOF" : "",
                    plan_name[p->plan]);
    return true;
}

static bool outcome(struct soak *s)
{
    for (int h = 0; h < s->nh; h++) {
        struct sf_stack *st = sf_sim_host_stack(s->sim, h);
        struct inv v = {s, h, sf_stack_config(st), sf_sim_now(s->sim)};
        if (sf_stack_foreach(st, left_over, &v))
            return false;
    }
    for (int i = 0; i < s->nc; i++)
        for (int k = 0; k < 2; k++)
            if (!check_end(s, i, k))
                return false;
    return true;
}

/* ------------------------------------------------------------ main */

static void describe(const struct soak *s, FILE *f)
{
    const struct sf_link_cfg *l = &s->cfg.link;
    fprintf(f, "  network: %d hosts, delay %llu ms, jitter %llu ms, %llu bit/s, "
            "MTU %u (MSS %u), loss %.3f dup %.3f reorder %.3f corrupt %.3f\n",
            s->nh, (unsigned long long)(l->delay / SF_MSEC),
            (unsigned long long)(l->jitter / SF_MSEC),
            (unsigned long long)l->bandwidth, l->mtu, s->cfg.stack.mss, l->loss,
            l->dup, l->reorder, l->corrupt);
    if (s->cfg.stack.isn_offset)
        fprintf(f, "  ISNs from %u (test offset, near 2^%d)\n",
                s->cfg.stack.isn_offset,
                s->cfg.stack.isn_offset < 0x80000000u ? 31 : 32);
    if (s->down_for)
        fprintf(f, "  hosts 0 and 1 cut off from %.3f s for %.0f s\n",
                (double)s->down_at / (double)SF_SEC,
                (double)s->down_for / (double)SF_SEC);
    if (s->worse.mtu)
        fprintf(f, "  host 0 -> host 1: loss %.3f reorder %.3f\n",
                s->worse.loss, s->worse.reorder);
    if (l->ce_threshold)
        fprintf(f, "  links mark ECT datagrams CE above %u bytes queued\n",
                l->ce_threshold);
    if (s->cfg.stack.mem_max)
        fprintf(f, "  memory limit %llu bytes per stack\n",
                (unsigned long long)s->cfg.stack.mem_max);
    if (s->ipv6)
        fprintf(f, "  dual-stack hosts (198.18.0.N and fd00::N), listeners "
                "on ::\n");
    for (int i = 0; i < s->nc; i++) {
        const struct sconn *c = &s->c[i];
        fprintf(f, "  conn %d: host %d -> host %d:%u%s%s at %llu ms; client %llu "
                "bytes, %s; server %llu bytes, %s; ECN %u/%u\n", i, c->e[0].host,
                c->e[1].host, c->port, !s->ipv6 ? "" : conn_v6(s, i)
                                                   ? " over IPv6" : " over IPv4",
                c->refused ? " (no listener)" : "",
                (unsigned long long)(c->start / SF_MSEC),
                (unsigned long long)c->e[0].n, plan_name[c->e[0].plan],
                (unsigned long long)c->e[1].n, plan_name[c->e[1].plan],
                s->ecn[0][i], s->ecn[1][i]);
    }
}

/* A single-seed replay prints every state change and timer, to diagnose. */
static bool same_conn(const struct soak *s, int h, const struct sf_trace_event *t)
{
    return h == s->rto_host && sf_addr_eq(&t->local, &s->rto_local) &&
           sf_addr_eq(&t->remote, &s->rto_remote);
}

static void print_event(const struct sf_sim_event *ev);

static void trace(void *ctx, const struct sf_sim_event *ev)
{
    struct soak *s = ctx;
    if (ev->kind != SF_SIM_EV_STACK)
        return;
    const struct sf_trace_event *t = ev->trace;
    if (t->kind == SF_TRACE_SEG_OUT && t->seg && t->seg->dgram_len >= 20) {
        /* RFC 3168: a stack never sends CE (5); SYNs, SYN,ACKs (6.1.1.1)
         * and segments without data (6.1.4) are Not-ECT. The ECN field:
         * IPv4's TOS low bits, IPv6's Traffic Class low bits (RFC 8200 7) */
        const uint8_t *d = t->seg->dgram;
        unsigned ecn = d[0] >> 4 == 6 ? (d[1] >> 4) & 3 : d[1] & 3;
        if (ecn == 3)
            fail(s, "host %d sent a CE-marked segment", ev->host);
        else if (ecn && ((t->seg->flags & SF_SYN) || t->seg->len == 0))
            fail(s, "host %d sent ECT on a %s", ev->host,
                 t->seg->flags & SF_SYN ? "SYN" : "segment without data");
    }
    if (t->kind == SF_TRACE_TIMER && t->timer == SF_TIMER_RETRANSMIT) {
        s->rto_pending = true;
        s->rto_host = ev->host;
        s->rto_local = t->local;
        s->rto_remote = t->remote;
    } else if ((t->kind == SF_TRACE_SEG_OUT || t->kind == SF_TRACE_STATE) &&
               s->rto_pending && same_conn(s, ev->host, t)) {
        s->rto_pending = false;
    }
    if (s->verbose)
        print_event(ev);
}

static void print_event(const struct sf_sim_event *ev)
{
    const struct sf_trace_event *t = ev->trace;
    char a[SF_ADDR_STRLEN], b[SF_ADDR_STRLEN];
    sf_addr_fmt(&t->local, a, sizeof a);
    sf_addr_fmt(&t->remote, b, sizeof b);
    if (t->kind == SF_TRACE_STATE)
        printf("  %12.6f host %d %s -> %s: %s -> %s (%s)\n",
               (double)ev->now / (double)SF_SEC, ev->host, a, b,
               sf_state_name(t->from), sf_state_name(t->to),
               sf_cause_name(t->cause));
    else if ((t->kind == SF_TRACE_SEG_OUT || t->kind == SF_TRACE_SEG_IN) && t->seg)
        printf("  %12.6f host %d %s %s -> %s: flags %02x seq %u ack %u len %u "
               "win %u\n", (double)ev->now / (double)SF_SEC, ev->host,
               t->kind == SF_TRACE_SEG_OUT ? "out" : "in ", a, b,
               t->seg->flags, t->seg->seq, t->seg->ack, t->seg->len,
               t->seg->win);
    else if (t->kind == SF_TRACE_DROP)
        printf("  %12.6f host %d %s -> %s: drop %s\n",
               (double)ev->now / (double)SF_SEC, ev->host, a, b,
               sf_drop_name(t->drop));
    else if (t->kind == SF_TRACE_TIMER)
        printf("  %12.6f host %d %s -> %s: %s timer\n",
               (double)ev->now / (double)SF_SEC, ev->host, a, b,
               sf_timer_name(t->timer));
}

/* For the tests of the report: SYNFIN_SOAK_FAIL=S,S,... fails those
 * seeds on purpose (after running them). */
static bool forced_failure(uint64_t seed)
{
    const char *e = getenv("SYNFIN_SOAK_FAIL");
    while (e && *e) {
        char *end;
        unsigned long long v = strtoull(e, &end, 10);
        if (end == e)
            return false;
        if (v == seed)
            return true;
        e = *end == ',' ? end + 1 : end;
    }
    return false;
}

/* Runs one seed; returns true if it passed. A failure (or, verbose,
 * every outcome) is reported on out. */
static bool soak_one(uint64_t seed, bool verbose, FILE *out)
{
    struct soak *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->seed = seed;
    s->rng = seed ^ 0x50A4C0DEull;
    s->erng = seed ^ 0xEC3168ull;
    bool ok = build(s) == 0;
    if (ok) {
        sf_sim_set_app(s->sim, app, s);
        s->verbose = verbose;
        sf_sim_set_trace(s->sim, trace, s);
        s->nc = 1 + (int)below(s, SOAK_MAXC);
        for (int i = 0; i < s->nc; i++)
            random_conn(s, i);
        listen_all(s);
        maybe_outage(s);
        sf_sim_run_while(s->sim, check_all, s, SOAK_LIMIT);
        ok = !s->why[0] && outcome(s);
    }
    if (ok && forced_failure(seed))
        ok = fail(s, "failed on purpose (SYNFIN_SOAK_FAIL)");
    if (!ok || verbose) {
        fprintf(out, "seed %llu: %s%s\n", (unsigned long long)seed,
                ok ? "ok" : "FAILED: ", s->why[0] ? s->why : ok ? "" : "cannot build");
        describe(s, out);
        if (!ok)
            fprintf(out, "  at %.3f s virtual; replay: synfin sim --soak 1 --seed %llu\n",
                    s->sim ? (double)sf_sim_now(s->sim) / (double)SF_SEC : 0.0,
                    (unsigned long long)seed);
    }
    sf_sim_free(s->sim);
    free(s);
    return ok;
}

/* ------------------------------------------------------- --jobs N */
#ifdef SOAK_JOBS

/* A worker runs seeds first + w, first + w + n, ... and writes to fd, per
 * seed: "S seed\n" before it, "F seed len\n" and the report after a
 * failure; at the end "D\n". A worker that dies is told by the parent,
 * with the seed it had started. */
static void worker(uint64_t first, uint64_t count, unsigned w, unsigned n,
                   int fd)
{
    FILE *out = fdopen(fd, "w");
    if (!out)
        _exit(3);
    for (uint64_t i = w; i < count; i += n) {
        char *rep = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&rep, &len);
        fprintf(out, "S %llu\n", (unsigned long long)(first + i));
        fflush(out);
        bool ok = m && soak_one(first + i, false, m);
        if (m)
            fclose(m);
        if (!ok) {
            fprintf(out, "F %llu %zu\n", (unsigned long long)(first + i), len);
            fwrite(rep, 1, len, out);
        }
        free(rep);
    }
    fprintf(out, "D\n");
    fclose(out);
    _exit(0);
}

struct report {
    uint64_t seed;
    char *text;
};

static int by_seed(const void *a, const void *b)
{
    const struct report *x = a, *y = b;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

struct wstate {
    pid_t pid;
    int fd;
    char *buf;
    size_t len, cap;
};

/* Parses a finished worker's stream into reports; returns the seed it
 * last started, and whether it said it was done. */
static bool parse_worker(struct wstate *w, struct report **rep, size_t *nrep,
                         size_t *cap, uint64_t *last, uint64_t *ran)
{
    size_t i = 0;
    bool done = false;
    while (i < w->len) {
        char *nl = memchr(w->buf + i, '\n', w->len - i);
        if (!nl)
            break;
        char *line = w->buf + i;
        *nl = 0;
        i = (size_t)(nl - w->buf) + 1;
        unsigned long long seed;
        size_t len;
        if (sscanf(line, "S %llu", &seed) == 1) {
            *last = seed;
            ++*ran;
        } else if (sscanf(line, "F %llu %zu", &seed, &len) == 2 &&
                   len <= w->len - i) {
            if (*nrep == *cap) {
                *cap = *cap ? *cap * 2 : 16;
                *rep = realloc(*rep, *cap * sizeof **rep);
                if (!*rep)
                    return false;
            }
            char *t = malloc(len + 1);
            if (t) {
                memcpy(t, w->buf + i, len);
                t[len] = 0;
            }
            (*rep)[(*nrep)++] = (struct report){seed, t};
            i += len;
        } else if (strcmp(line, "D") == 0) {
            done = true;
        }
    }
    return done;
}

static int soak_jobs(const struct sim_opts *o, uint64_t first, unsigned n,
                     uint64_t *failed_out, uint64_t *ran_out)
{
    if (n > o->soak)
        n = (unsigned)o->soak;
    struct wstate *w = calloc(n, sizeof *w);
    if (!w)
        return -1;
    fflush(stdout);
    for (unsigned k = 0; k < n; k++) {
        int p[2];
        if (pipe(p)) {
            perror("synfin sim: --jobs: pipe");
            return -1;
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("synfin sim: --jobs: fork");
            return -1;
        }
        if (pid == 0) {
            close(p[0]);
            for (unsigned j = 0; j < k; j++)
                close(w[j].fd);
            worker(first, o->soak, k, n, p[1]);
        }
        close(p[1]);
        w[k] = (struct wstate){.pid = pid, .fd = p[0]};
    }
    /* read every worker's stream to its end (the pipes never fill) */
    struct pollfd *pf = calloc(n, sizeof *pf);
    unsigned open_n = n;
    while (pf && open_n) {
        unsigned m = 0;
        for (unsigned k = 0; k < n; k++)
            if (w[k].fd >= 0)
                pf[m++] = (struct pollfd){.fd = w[k].fd, .events = POLLIN};
        if (poll(pf, m, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (unsigned j = 0; j < m; j++) {
            if (!pf[j].revents)
                continue;
            struct wstate *x = NULL;
            for (unsigned k = 0; k < n; k++)
                if (w[k].fd == pf[j].fd)
                    x = &w[k];
            if (x->len + 65536 > x->cap) {
                x->cap = (x->len + 65536) * 2;
                x->buf = realloc(x->buf, x->cap);
                if (!x->buf)
                    return -1;
            }
            ssize_t r = read(x->fd, x->buf + x->len, x->cap - x->len);
            if (r > 0) {
                x->len += (size_t)r;
            } else if (r == 0 || errno != EINTR) {
                close(x->fd);
                x->fd = -1;
                open_n--;
            }
        }
    }
    free(pf);
    struct report *rep = NULL;
    size_t nrep = 0, cap = 0;
    uint64_t failed = 0, ran = 0;
    for (unsigned k = 0; k < n; k++) {
        int st = 0;
        waitpid(w[k].pid, &st, 0);
        uint64_t last = 0;
        bool done = parse_worker(&w[k], &rep, &nrep, &cap, &last, &ran);
        if (!done || !WIFEXITED(st) || WEXITSTATUS(st)) {
            /* it died in a seed: that seed failed */
            char *t = malloc(256);
            if (t)
                snprintf(t, 256, "seed %llu: FAILED: worker %u died (%s %d)\n"
                         "  replay: synfin sim --soak 1 --seed %llu\n",
                         (unsigned long long)last, k,
                         WIFSIGNALED(st) ? "signal" : "exit status",
                         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
                         (unsigned long long)last);
            if (nrep == cap) {
                cap = cap ? cap * 2 : 16;
                rep = realloc(rep, cap * sizeof *rep);
                if (!rep)
                    return -1;
            }
            rep[nrep++] = (struct report){last, t};
        }
        free(w[k].buf);
    }
    free(w);
    if (nrep) /* (qsort wants a non-null array even for 0 elements) */
        qsort(rep, nrep, sizeof *rep, by_seed);
    for (size_t i = 0; i < nrep; i++) {
        if (rep[i].text)
            fputs(rep[i].text, stdout);
        free(rep[i].text);
        failed++;
    }
    if (nrep) {
        printf("failed seeds:");
        for (size_t i = 0; i < nrep && i < 50; i++)
            printf(" %llu", (unsigned long long)rep[i].seed);
        printf("%s\n", nrep > 50 ? " ..." : "");
    }
    free(rep);
    *failed_out = failed;
    *ran_out = ran;
    return 0;
}

#endif /* SOAK_JOBS */

int sim_soak(const struct sim_opts *o)
{
    if (o->link_set || o->scenario) {
        fprintf(stderr, o->zh ? "synfin sim: --soak：自行生成网络和负载"
                                "（不能给出场景或损伤选项）\n"
                              : "synfin sim: --soak: draws its own network and "
                                "workload (no scenario or impairment options)\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t first = o->seed_set ? o->seed : 1, failed = 0, ran = o->soak;
    unsigned jobs = o->jobs_set ? o->jobs : 1;
#ifdef SOAK_JOBS
    if (jobs == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = c > 0 ? (unsigned)c : 1;
    }
    if (jobs > 1 && o->soak > 1) {
        if (soak_jobs(o, first, jobs, &failed, &ran)) {
            fprintf(stderr, o->zh ? "synfin sim: --jobs：无法启动工作进程\n"
                                  : "synfin sim: --jobs: cannot run the workers\n");
            return 1;
        }
    } else
#endif
    {
        jobs = 1;
        for (uint64_t i = 0; i < o->soak; i++)
            failed += !soak_one(first + i, o->soak == 1 && !o->quiet, stdout);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = wall; /* (no process clocks in WASI) */
#ifdef SOAK_JOBS
    struct rusage ru;
    if (getrusage(jobs > 1 ? RUSAGE_CHILDREN : RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
#endif
    printf("soak: %llu seeds, %llu passed, %llu failed (%.1f s, %.0f seeds/s, "
           "%.1f s CPU, %u job%s, seeds %llu..%llu)\n",
           (unsigned long long)ran, (unsigned long long)(ran - failed),
           (unsigned long long)failed, wall, wall > 0 ? (double)ran / wall : 0.0,
           cpu, jobs, jobs == 1 ? "" : "s", (unsigned long long)first,
           (unsigned long long)(first + o->soak - 1));
    return failed || ran != o->soak ? 1 : 0;
}
