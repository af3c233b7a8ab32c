/* The attack tests' network (issue 14 item 2): up to three stacks on one
 * in-memory wire with a fixed delay, in virtual time, plus whatever a test
 * forges. Datagrams to an address no stack owns (the answers to spoofed
 * sources) go to an optional sink: a raw peer that parses them and queues
 * its answers (net_queue), as an attacker with its own code would; a
 * stack's callbacks may not call into a stack, so nothing is delivered
 * from inside one. Deterministic: a seeded generator, no clock.
 *
 * The same shape as tests/system/test_attacks.c's two-stack wire, grown
 * to a third host, a sink and a wire sized by the test.
 *
 * Size: each test has a small size (CI, `make test`) and a full one (the
 * issue's numbers, `make attack ATTACK_SIZE=full`): attack_full() says
 * which. Each prints its figures as "FIGURE name: value (aim ...)". */
#ifndef SF_TESTS_ATTACK_NET_H
#define SF_TESTS_ATTACK_NET_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define NET_MAXH 3
#define NET_IP(i) (0xC6120001u + (uint32_t)(i)) /* 198.18.0.1, .2, .3 */

static inline bool attack_full(void)
{
    const char *s = getenv("ATTACK_SIZE");
    return s && !strcmp(s, "full");
}

/* splitmix64: a seeded, deterministic stream of random numbers. */
static inline uint64_t rnd_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

struct net_pkt {
    sf_time_t at;
    int to; /* host index, or -1: the sink */
    uint16_t len;
    uint8_t buf[1600 - sizeof(sf_time_t) - 2 * sizeof(int)];
};

struct net;
struct net_host {
    struct net *net;
    int id;
};

struct net {
    struct sf_stack *st[NET_MAXH];
    struct net_host h[NET_MAXH];
    int nh;
    struct net_pkt *q; /* FIFO: one delay for all, so in time order */
    size_t qcap, head, n;
    sf_time_t now, delay;
    uint64_t sent[NET_MAXH]; /* datagrams each host sent */
    uint64_t lost;           /* the wire was full */
    /* datagrams to no host's address: handed to sink, if any, when
     * they arrive (at + delay) */
    void (*sink)(void *ctx, const uint8_t *d, size_t len);
    void *sink_ctx;
    uint64_t sunk;
};

static inline int net_host_of(const struct net *n, uint32_t ip)
{
    for (int i = 0; i < n->nh; i++)
        if (NET_IP(i) == ip)
            return i;
    return -1;
}

/* Queues a datagram to arrive after the wire's delay. */
static inline void net_queue(struct net *n, const uint8_t *d, size_t len)
{
    if (n->n == n->qcap || len > sizeof n->q[0].buf || len < 20) {
        n->lost++; /* a full wire loses datagrams, as any link */
        return;
    }
    struct net_pkt *p = &n->q[(n->head + n->n) % n->qcap];
    memcpy(p->buf, d, len);
    p->len = (uint16_t)len;
    uint32_t dst = (uint32_t)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
    p->to = net_host_of(n, dst);
    p->at = n->now + n->delay;
    n->n++;
}

static inline void net_out(void *ctx, const uint8_t *d, size_t len)
{
    struct net_host *h = ctx;
    h->net->sent[h->id]++;
    if (len >= 20) {
        uint32_t dst = (uint32_t)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
        if (net_host_of(h->net, dst) < 0 && !h->net->sink) {
            h->net->sunk++; /* to a spoofed source: nobody listens */
            return;
        }
    }
    net_queue(h->net, d, len);
}

typedef void (*net_tweak_fn)(struct sf_stack_cfg *cfg, int host);

/* nh stacks at 198.18.0.1.. (host i seeded seed+i), a wire of qcap
 * datagrams with a 1 ms delay; tweak adjusts each configuration. */
static inline void net_init(struct net *n, int nh, size_t qcap,
                           net_tweak_fn tweak, uint8_t seed)
{
    memset(n, 0, sizeof *n);
    n->nh = nh;
    n->qcap = qcap;
    n->q = malloc(qcap * sizeof *n->q);
    CHECK(n->q != NULL);
    n->now = 1000 * SF_SEC;
    n->delay = 1 * SF_MSEC;
    for (int i = 0; i < nh; i++) {
        struct sf_stack_cfg cfg;
        sf_stack_cfg_default(&cfg);
        cfg.addr = NET_IP(i);
        cfg.output = net_out;
        cfg.output_ctx = &n->h[i];
        cfg.seed[0] = (uint8_t)(seed + i);
        cfg.seed[1] = 0xa7;
        if (tweak)
            tweak(&cfg, i);
        n->h[i] = (struct net_host){.net = n, .id = i};
        CHECK_EQ(sf_stack_create(&cfg, n->now, &n->st[i]), 0);
    }
}

static inline void net_free(struct net *n)
{
    for (int i = 0; i < n->nh; i++)
        sf_stack_free(n->st[i]);
    free(n->q);
    n->q = NULL;
}

/* Delivers datagrams and fires timers in time order up to `until`, the
 * clock then at `until`; returns the datagrams delivered. At most
 * `guard` steps (a test that loops forever fails instead). */
static inline long net_run(struct net *n, sf_time_t until)
{
    long delivered = 0;
    for (long guard = 0; guard < 50000000; guard++) {
        if (n->n > 0 && n->q[n->head].at <= n->now) {
            struct net_pkt *p = &n->q[n->head];
            n->head = (n->head + 1) % n->qcap;
            n->n--;
            if (p->to >= 0)
                sf_stack_input(n->st[p->to], n->now, p->buf, p->len);
            else if (n->sink)
                n->sink(n->sink_ctx, p->buf, p->len);
            else
                n->sunk++;
            delivered++;
            continue;
        }
        sf_time_t t = SF_TIME_NEVER;
        for (int i = 0; i < n->nh; i++) {
            sf_time_t w = sf_stack_advance(n->st[i], n->now);
            if (w < t)
                t = w;
        }
        if (n->n > 0 && n->q[n->head].at <= n->now)
            continue;
        if (n->n > 0 && n->q[n->head].at < t)
            t = n->q[n->head].at;
        if (t > until)
            break;
        n->now = t > n->now ? t : n->now + 1;
    }
    if (until != SF_TIME_NEVER && until > n->now)
        n->now = until;
    for (int i = 0; i < n->nh; i++)
        sf_stack_advance(n->st[i], n->now);
    return delivered;
}

/* A forged segment from src to dst, handed straight to host `to` now. */
static inline void net_inject(struct net *n, int to, uint32_t src,
                              uint32_t dst, struct sf_tcp *seg)
{
    struct sf_ipv4 ip = {.src = src, .dst = dst, .ttl = 64};
    uint8_t buf[1600];
    size_t len = sf_emit(buf, sizeof buf, &ip, seg);
    CHECK(len > 0);
    sf_stack_input(n->st[to], n->now, buf, len);
}

/* The same, put on the wire (for a raw peer's answers from a sink). */
static inline void net_send(struct net *n, uint32_t src, uint32_t dst,
                            struct sf_tcp *seg)
{
    struct sf_ipv4 ip = {.src = src, .dst = dst, .ttl = 64};
    uint8_t buf[1600];
    size_t len = sf_emit(buf, sizeof buf, &ip, seg);
    CHECK(len > 0);
    net_queue(n, buf, len);
}

static inline uint64_t net_ctr(const struct net *n, int host, enum sf_counter c)
{
    return sf_stack_counters(n->st[host])->c[c];
}

static inline uint64_t net_drops(const struct net *n, int host, enum sf_drop d)
{
    return sf_stack_counters(n->st[host])->drops[d];
}

static inline uint64_t net_in_state(const struct net *n, int host,
                                    enum sf_state s)
{
    return sf_stack_counters(n->st[host])->conns_in_state[s];
}

static inline uint64_t net_mem_used(const struct net *n, int host)
{
    struct sf_mem_info m;
    sf_stack_mem(n->st[host], &m);
    return m.used;
}

/* Host `server` listens on port 80 (backlog `backlog`). */
static inline int net_listen(struct net *n, int server, int backlog)
{
    int l = sf_socket(n->st[server]);
    CHECK(l >= 0);
    CHECK_EQ(sf_bind(n->st[server], l, &(struct sf_addr){.port = 80}), 0);
    CHECK_EQ(sf_listen(n->st[server], l, backlog), 0);
    return l;
}

/* Host `client` connects to `server`:80 (listener l): *sd there, *acc on
 * the server; each setsockopt'd by `prep` first if given. */
static inline void net_connect(struct net *n, int client, int server, int l,
                               int *sd, int *acc)
{
    *sd = sf_socket(n->st[client]);
    CHECK(*sd >= 0);
    CHECK_EQ(sf_connect(n->st[client], *sd,
                        &(struct sf_addr){.ip = NET_IP(server), .port = 80}),
             SF_EINPROGRESS);
    net_run(n, n->now + 10 * SF_MSEC);
    *acc = sf_accept(n->st[server], l, NULL);
    CHECK(*acc >= 0);
}

/* Parses a datagram (IPv4, TCP): false if it is not one. */
static inline bool net_parse(const uint8_t *d, size_t len, struct sf_ipv4 *ip,
                             struct sf_tcp *seg)
{
    return sf_ipv4_parse(d, len, ip) == SF_DROP_NONE &&
           sf_tcp_parse(ip, seg) == SF_DROP_NONE;
}

#endif
