/* The reliable byte stream, end to end: two stacks on the simulated
 * network move megabytes in both directions with random write and read
 * sizes, over links that lose, duplicate, reorder and delay datagrams, and
 * every byte received is checked against what was sent (RFC 9293 3.8: a
 * reliable, ordered, full-duplex byte stream). Also: half-close with data
 * in flight, and keepalive finding a vanished peer.
 *
 * Each transfer moves SF_STREAM_MB MiB each way (default 1; the quarter
 * of it under the heaviest impairment), e.g. `SF_STREAM_MB=64
 * test_stream half_close` for a longer run of one case. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/sim.h"
#include "synfin/synfin.h"

#define SERVER_PORT 80

struct side {
    int sd;
    uint64_t to_send, sent, rcvd;
    uint64_t rng;
    bool shut, eof, bad;
    int err;
};

struct run {
    struct side s[2]; /* 0 client, 1 server */
    int listener;
    uint32_t server_ip;
    bool server_waits; /* the server sends only after the client's FIN */
};

static uint64_t next_rand(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The byte at position p of direction d. */
static uint8_t pattern(int d, uint64_t p)
{
    uint64_t x = p * 0x9e3779b97f4a7c15ull + (uint64_t)d * 77;
    return (uint8_t)(x >> 56 ^ p);
}

static void pump(struct run *r, struct sf_stack *st, int who)
{
    struct side *me = &r->s[who];
    if (who == 1 && me->sd < 0) {
        me->sd = sf_accept(st, r->listener, NULL);
        if (me->sd < 0)
            return;
    }
    if (me->sd < 0)
        return;
    uint8_t buf[20000];
    while (me->sent < me->to_send && !(who == 1 && r->server_waits && !me->eof)) {
        uint64_t n = 1 + next_rand(&me->rng) % sizeof buf;
        if (n > me->to_send - me->sent)
            n = me->to_send - me->sent;
        for (uint64_t i = 0; i < n; i++)
            buf[i] = pattern(who, me->sent + i);
        long w = sf_send(st, me->sd, buf, (size_t)n, 0);
        if (w <= 0) {
            if (w < 0 && w != SF_EAGAIN)
                me->err = (int)w;
            break;
        }
        me->sent += (uint64_t)w;
    }
    if (me->sent == me->to_send && !me->shut) {
        sf_shutdown(st, me->sd, SF_SHUT_WR);
        me->shut = true;
    }
    for (;;) {
        size_t want = 1 + next_rand(&me->rng) % sizeof buf;
        long n = sf_recv(st, me->sd, buf, want, 0);
        if (n == 0) {
            me->eof = true;
            break;
        }
        if (n < 0) {
            if (n != SF_EAGAIN)
                me->err = (int)n;
            break;
        }
        for (long i = 0; i < n; i++)
            if (buf[i] != pattern(!who, me->rcvd + (uint64_t)i))
                me->bad = true;
        me->rcvd += (uint64_t)n;
    }
    if (who == 1 && r->server_waits && me->eof && me->sent == 0 && !me->err)
        pump(r, st, who); /* EOF seen: the half-closed side sends now */
}

static void app(void *ctx, struct sf_sim *sim, int host)
{
    struct run *r = ctx;
    pump(r, sf_sim_host_stack(sim, host), host);
}

static bool not_done(void *ctx, struct sf_sim *sim)
{
    (void)sim;
    struct run *r = ctx;
    for (int i = 0; i < 2; i++)
        if (!r->s[i].eof && !r->s[i].err)
            return true;
    return false;
}

/* Moves `bytes` each way over a link with these impairments, over
 * family (SF_AF_INET, or SF_AF_INET6 between dual-stack hosts' fd00::N). */
static void transfer_mode(uint64_t seed, double loss, double dup,
                          double reorder, uint64_t bytes, bool server_waits,
                          int family)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.seed = seed;
    cfg.link.delay = 5 * SF_MSEC;
    cfg.link.jitter = 1 * SF_MSEC;
    cfg.link.loss = loss;
    cfg.link.dup = dup;
    cfg.link.reorder = reorder;
    cfg.stack.sndbuf = 32768;
    cfg.stack.rcvbuf = 49152;
    cfg.ipv6 = family == SF_AF_INET6;
    struct sf_sim *sim;
    CHECK_EQ(sf_sim_create(&cfg, &sim), 0);
    int c = sf_sim_add_host(sim, SF_SIM_NET_BASE + 1, NULL);
    int s = sf_sim_add_host(sim, SF_SIM_NET_BASE + 2, NULL);
    struct run r = {.server_ip = SF_SIM_NET_BASE + 2,
                    .server_waits = server_waits};
    for (int i = 0; i < 2; i++) {
        r.s[i].sd = -1;
        r.s[i].to_send = bytes;
        r.s[i].rng = seed * 31 + (uint64_t)i;
    }
    struct sf_stack *cs = sf_sim_host_stack(sim, c);
    struct sf_stack *ss = sf_sim_host_stack(sim, s);
    r.listener = sf_socket(ss);
    sf_bind(ss, r.listener, &(struct sf_addr){.port = SERVER_PORT,
                                              .family = (uint8_t)family});
    sf_listen(ss, r.listener, 8);
    r.s[0].sd = sf_socket(cs);
    sf_sim_touch(sim, c);
    struct sf_addr to = family == SF_AF_INET6
        ? sf_sim_host_ip(sim, s, SF_AF_INET6, SERVER_PORT)
        : (struct sf_addr){.ip = r.server_ip, .port = SERVER_PORT};
    CHECK_EQ(sf_connect(cs, r.s[0].sd, &to), SF_EINPROGRESS);
    sf_sim_touch(sim, c);
    sf_sim_set_app(sim, app, &r);
    sf_sim_run_while(sim, not_done, &r, 4 * 3600 * SF_SEC);
    for (int i = 0; i < 2; i++) {
        if (r.s[i].rcvd != bytes || r.s[i].bad || r.s[i].err)
            fprintf(stderr, "seed %llu loss %.2f dup %.2f reorder %.2f: side %d "
                    "rcvd %llu of %llu bad %d err %s, t=%.1fs\n",
                    (unsigned long long)seed, loss, dup, reorder, i,
                    (unsigned long long)r.s[i].rcvd, (unsigned long long)bytes,
                    r.s[i].bad, sf_strerror(r.s[i].err),
                    (double)sf_sim_now(sim) / 1e9);
        CHECK_EQ(r.s[i].rcvd, bytes);
        CHECK(!r.s[i].bad);
        CHECK_EQ(r.s[i].err, 0);
        CHECK(r.s[i].eof);
    }
    sf_sim_set_app(sim, NULL, NULL);
    sf_close(cs, r.s[0].sd);
    sf_close(ss, r.s[1].sd);
    sf_close(ss, r.listener);
    sf_sim_free(sim);
}

static void transfer(uint64_t seed, double loss, double dup, double reorder,
                     uint64_t bytes)
{
    transfer_mode(seed, loss, dup, reorder, bytes, false, SF_AF_INET);
}

/* RFC 1122 4.2.3.6: a peer that vanished (its link went down) is found
 * after the idle time plus keepcnt unanswered probes, with ETIMEDOUT. */
static void test_keepalive_finds_dead_peer(void)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.seed = 9;
    cfg.link.delay = 5 * SF_MSEC;
    struct sf_sim *sim;
    CHECK_EQ(sf_sim_create(&cfg, &sim), 0);
    int c = sf_sim_add_host(sim, SF_SIM_NET_BASE + 1, NULL);
    int s = sf_sim_add_host(sim, SF_SIM_NET_BASE + 2, NULL);
    struct sf_stack *cs = sf_sim_host_stack(sim, c);
    struct sf_stack *ss = sf_sim_host_stack(sim, s);
    int l = sf_socket(ss);
    sf_bind(ss, l, &(struct sf_addr){.port = SERVER_PORT});
    sf_listen(ss, l, 8);
    int sd = sf_socket(cs);
    int one = 1, idle = 10, intvl = 5, cnt = 3;
    sf_setsockopt(cs, sd, SF_SOL_SOCKET, SF_SO_KEEPALIVE, &one, sizeof one);
    sf_setsockopt(cs, sd, SF_IPPROTO_TCP, SF_TCP_KEEPIDLE, &idle, sizeof idle);
    sf_setsockopt(cs, sd, SF_IPPROTO_TCP, SF_TCP_KEEPINTVL, &intvl, sizeof intvl);
    sf_setsockopt(cs, sd, SF_IPPROTO_TCP, SF_TCP_KEEPCNT, &cnt, sizeof cnt);
    sf_sim_touch(sim, c);
    sf_connect(cs, sd, &(struct sf_addr){.ip = SF_SIM_NET_BASE + 2,
                                         .port = SERVER_PORT});
    sf_sim_touch(sim, c);
    sf_sim_run_until(sim, 1 * SF_SEC);
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(cs, sd, &info), 0);
    CHECK_EQ(info.state, SF_ESTABLISHED);
    /* an idle but live peer answers the probes: still up after a minute */
    sf_sim_run_until(sim, 61 * SF_SEC);
    CHECK_EQ(sf_tcp_info(cs, sd, &info), 0);
    CHECK_EQ(info.state, SF_ESTABLISHED);
    CHECK(sf_stack_counters(cs)->c[SF_CTR_KEEPALIVE_PROBES] >= 2);
    /* now the server vanishes */
    struct sf_link_cfg down;
    sf_sim_link_get(sim, s, c, &down);
    down.down = true;
    sf_sim_link_set(sim, s, c, &down);
    sf_time_t t0 = sf_sim_now(sim);
    sf_sim_run_until(sim, t0 + 40 * SF_SEC);
    CHECK_EQ(sf_tcp_info(cs, sd, &info), 0);
    CHECK_EQ(info.state, SF_CLOSED);
    char b[4];
    CHECK_EQ(sf_recv(cs, sd, b, sizeof b, 0), SF_ETIMEDOUT);
    CHECK_EQ(sf_stack_counters(cs)->c[SF_CTR_TIMEOUTS], 1);
    sf_close(cs, sd);
    sf_close(ss, l);
    sf_sim_free(sim);
}

/* The size of each transfer, in MiB each way: SF_STREAM_MB (default 1),
 * e.g. SF_STREAM_MB=64 for a longer run. */
static uint64_t stream_mb = 1;

static int stream_size_from_env(void)
{
    const char *e = getenv("SF_STREAM_MB");
    if (!e || !*e)
        return 0;
    char *end;
    unsigned long long mb = strtoull(e, &end, 10);
    if (*end || e[0] == '-' || mb == 0 || mb > (1ull << 20)) {
        fprintf(stderr, "test_stream: SF_STREAM_MB='%s': want a whole number "
                "of MiB from 1 to %llu\n", e, 1ull << 20);
        return -1;
    }
    stream_mb = mb;
    return 0;
}

static uint64_t stream_bytes(void)
{
    return stream_mb << 20;
}

static void test_clean(void)
{
    transfer(1, 0, 0, 0, stream_bytes());
}

static void test_loss(void)
{
    transfer(2, 0.02, 0, 0, stream_bytes());
}

static void test_dup(void)
{
    transfer(3, 0, 0.05, 0, stream_bytes());
}

static void test_reorder(void)
{
    transfer(4, 0, 0, 0.1, stream_bytes());
}

static void test_loss_dup_reorder(void)
{
    transfer(5, 0.05, 0.05, 0.05, stream_bytes());
}

static void test_heavy_impairment(void)
{
    transfer(6, 0.15, 0.02, 0.1, stream_bytes() / 4);
}

/* RFC 9293 3.6.1 half-close: the client writes, shuts down at once (its
 * data still in flight); the server reads to EOF and only then sends its
 * whole answer, which the half-closed client receives */
static void test_half_close(void)
{
    transfer_mode(7, 0.03, 0.01, 0.05, stream_bytes(), true, SF_AF_INET);
}

/* Over IPv6: the loss, duplication and reordering case and the half-close
 * (the others differ from it only in the link's impairments) */
static void test_loss_dup_reorder_ipv6(void)
{
    transfer_mode(5, 0.05, 0.05, 0.05, stream_bytes(), false, SF_AF_INET6);
}

static void test_half_close_ipv6(void)
{
    transfer_mode(7, 0.03, 0.01, 0.05, stream_bytes(), true, SF_AF_INET6);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_clean),
    CHECK_CASE(test_loss),
    CHECK_CASE(test_dup),
    CHECK_CASE(test_reorder),
    CHECK_CASE(test_loss_dup_reorder),
    CHECK_CASE(test_heavy_impairment),
    CHECK_CASE(test_half_close),
    CHECK_CASE(test_loss_dup_reorder_ipv6),
    CHECK_CASE(test_half_close_ipv6),
    CHECK_CASE(test_keepalive_finds_dead_peer),
};

int main(int argc, char **argv)
{
    if (stream_size_from_env() < 0)
        return 2;
    return CHECK_MAIN(argc, argv, cases);
}
