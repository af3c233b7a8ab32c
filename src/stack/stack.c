/* The stack: creation, the clock, datagrams in, timers, and the tables
 * that find a connection (a keyed hash of the 4-tuple, so that a remote
 * peer cannot aim collisions), a listener (by port) and bound ports. */
#include <stdlib.h>
#include <string.h>

#include "base/siphash.h"
#include "stack/stack_int.h"

void sf_stack_cfg_default(struct sf_stack_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_sockets = 1024;
    cfg->mss = 1460;
    cfg->sndbuf = 65535;
    cfg->rcvbuf = 65535;
    cfg->default_backlog_max = 4096;
    cfg->rto_initial = 1 * SF_SEC;
    cfg->rto_min = 1 * SF_SEC;
    cfg->rto_max = 60 * SF_SEC;
    cfg->syn_retries = 7;
    cfg->synack_retries = 5;
    cfg->r1 = 3;
    cfg->r2 = 15;
    cfg->msl = 30 * SF_SEC;
    cfg->fin_wait_2_timeout = 60 * SF_SEC;
    cfg->keepidle = 7200 * SF_SEC;
    cfg->keepintvl = 75 * SF_SEC;
    cfg->keepcnt = 10;
    cfg->challenge_ack_limit = 1000;
    cfg->timer_slots = 4096;
    cfg->timer_granularity = 1 * SF_MSEC;
}

/* ------------------------------------------------------------- tables */

static int hash_init(struct sf_hash *h, size_t size)
{
    h->slots = calloc(size, sizeof *h->slots);
    h->size = size;
    h->count = 0;
    return h->slots ? 0 : SF_ENOMEM;
}

static uint64_t tuple_hash(const struct sf_stack *st,
                           const struct sf_addr *local,
                           const struct sf_addr *remote)
{
    uint8_t b[12];
    uint32_t v[3] = {local->ip, remote->ip,
                     ((uint32_t)local->port << 16) | remote->port};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++)
            b[i * 4 + k] = (uint8_t)(v[i] >> (8 * k));
    return sf_siphash24(st->hash_key, b, sizeof b);
}

static size_t port_slot(const struct sf_hash *h, uint16_t port)
{
    return (port * 2654435761u) & (h->size - 1);
}

static bool addr_eq(const struct sf_addr *a, const struct sf_addr *b)
{
    return a->ip == b->ip && a->port == b->port;
}

/* Doubles the demux table when it is full, so chains stay short. */
static void demux_grow(struct sf_stack *st)
{
    struct sf_hash *h = &st->demux;
    size_t nsize = h->size * 2;
    struct sf_conn **ns = calloc(nsize, sizeof *ns);
    if (!ns)
        return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < h->size; i++) {
        struct sf_conn *c = h->slots[i], *next;
        for (; c; c = next) {
            next = c->hnext;
            size_t j = tuple_hash(st, &c->local, &c->remote) & (nsize - 1);
            c->hnext = ns[j];
            ns[j] = c;
        }
    }
    free(h->slots);
    h->slots = ns;
    h->size = nsize;
}

int stack_hash_conn(struct sf_stack *st, struct sf_conn *c)
{
    if (st->demux.count >= st->demux.size)
        demux_grow(st);
    size_t i = tuple_hash(st, &c->local, &c->remote) & (st->demux.size - 1);
    c->hnext = st->demux.slots[i];
    st->demux.slots[i] = c;
    st->demux.count++;
    c->hashed = true;
    return 0;
}

static void chain_remove(struct sf_conn **slot, struct sf_conn *c)
{
    for (struct sf_conn **pp = slot; *pp; pp = &(*pp)->hnext)
        if (*pp == c) {
            *pp = c->hnext;
            c->hnext = NULL;
            return;
        }
}

static void unhash(struct sf_stack *st, struct sf_conn *c)
{
    if (!c->hashed)
        return;
    if (c->in_ltab) {
        chain_remove(&st->listeners.slots[port_slot(&st->listeners,
                                                    c->local.port)], c);
        st->listeners.count--;
        c->in_ltab = false;
    } else {
        size_t i = tuple_hash(st, &c->local, &c->remote) &
                   (st->demux.size - 1);
        chain_remove(&st->demux.slots[i], c);
        st->demux.count--;
    }
    c->hashed = false;
}

struct sf_conn *stack_lookup(struct sf_stack *st, const struct sf_addr *local,
                             const struct sf_addr *remote)
{
    size_t i = tuple_hash(st, local, remote) & (st->demux.size - 1);
    for (struct sf_conn *c = st->demux.slots[i]; c; c = c->hnext)
        if (addr_eq(&c->local, local) && addr_eq(&c->remote, remote))
            return c;
    return NULL;
}

static struct sf_conn *listener_lookup(struct sf_stack *st, uint16_t port)
{
    size_t i = port_slot(&st->listeners, port);
    for (struct sf_conn *c = st->listeners.slots[i]; c; c = c->hnext)
        if (c->local.port == port)
            return c;
    return NULL;
}

int stack_listen_insert(struct sf_stack *st, struct sf_conn *c)
{
    size_t i = port_slot(&st->listeners, c->local.port);
    c->hnext = st->listeners.slots[i];
    st->listeners.slots[i] = c;
    st->listeners.count++;
    c->hashed = true;
    c->in_ltab = true;
    return 0;
}

/* ------------------------------------------------------------- ports */

static void port_link(struct sf_stack *st, struct sf_conn *c, uint16_t port)
{
    struct sf_conn **head = &st->ports.slots[port_slot(&st->ports, port)];
    c->local.port = port;
    c->bprev = NULL;
    c->bnext = *head;
    if (*head)
        (*head)->bprev = c;
    *head = c;
    c->bound = true;
}

static void port_unlink(struct sf_stack *st, struct sf_conn *c)
{
    if (!c->bound)
        return;
    if (c->bprev)
        c->bprev->bnext = c->bnext;
    else
        st->ports.slots[port_slot(&st->ports, c->local.port)] = c->bnext;
    if (c->bnext)
        c->bnext->bprev = c->bprev;
    c->bnext = c->bprev = NULL;
    c->bound = false;
}

/* SO_REUSEADDR, as BSD and Linux give it: a port may be bound again while
 * other sockets on it are not listening (typically TIME_WAIT leftovers)
 * if both the old and the new socket set the option. */
int stack_port_bind(struct sf_stack *st, struct sf_conn *c, uint16_t port)
{
    size_t i = port_slot(&st->ports, port);
    for (struct sf_conn *o = st->ports.slots[i]; o; o = o->bnext) {
        if (o->local.port != port || o == c)
            continue;
        if (!(c->reuseaddr && o->reuseaddr && o->state != SF_LISTEN))
            return SF_EADDRINUSE;
    }
    port_link(st, c, port);
    return 0;
}

int stack_port_listen_ok(struct sf_stack *st, struct sf_conn *c)
{
    size_t i = port_slot(&st->ports, c->local.port);
    for (struct sf_conn *o = st->ports.slots[i]; o; o = o->bnext)
        if (o != c && o->local.port == c->local.port && o->state == SF_LISTEN)
            return SF_EADDRINUSE;
    return 0;
}

/* May a connection to remote use this local port? Only if no listener or
 * explicitly bound socket holds it and the 4-tuple is new. */
static bool port_usable(struct sf_stack *st, uint16_t port,
                        const struct sf_addr *remote)
{
    size_t i = port_slot(&st->ports, port);
    for (struct sf_conn *o = st->ports.slots[i]; o; o = o->bnext) {
        if (o->local.port != port)
            continue;
        if (o->explicit_bind || o->state == SF_LISTEN || !remote ||
            addr_eq(&o->remote, remote))
            return false;
    }
    return true;
}

/* RFC 6056 3.3.3 (Algorithm 3, "Simple Hash-Based Port Selection"):
 * offset = F(local IP, remote IP, remote port, secret), so that ports are
 * unpredictable to an off-path attacker yet spread per destination. */
int stack_port_ephemeral(struct sf_stack *st, struct sf_conn *c,
                         const struct sf_addr *remote)
{
    const uint32_t lo = 32768, num = 61000 - 32768; /* Linux's range */
    uint8_t b[10] = {0};
    uint32_t rip = remote ? remote->ip : 0;
    uint16_t rport = remote ? remote->port : 0;
    for (int k = 0; k < 4; k++) {
        b[k] = (uint8_t)(st->cfg.addr >> (8 * k));
        b[4 + k] = (uint8_t)(rip >> (8 * k));
    }
    b[8] = (uint8_t)rport;
    b[9] = (uint8_t)(rport >> 8);
    uint32_t offset = (uint32_t)sf_siphash24(st->port_key, b, sizeof b);
    for (uint32_t count = 0; count < num; count++) {
        uint16_t port = (uint16_t)(lo + (offset + st->port_next + count) % num);
        if (port_usable(st, port, remote)) {
            st->port_next += count + 1;
            port_link(st, c, port);
            return 0;
        }
    }
    return SF_EADDRNOTAVAIL;
}

/* -------------------------------------------------------- connections */

struct sf_conn *stack_conn_new(struct sf_stack *st)
{
    struct sf_conn *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    tcp_conn_init(&st->tcp, c);
    c->anext = st->all;
    c->aprev = NULL;
    if (st->all)
        st->all->aprev = c;
    st->all = c;
    return c;
}

static void conn_free(struct sf_stack *st, struct sf_conn *c)
{
    unhash(st, c);
    port_unlink(st, c);
    tcp_conn_destroy(&st->tcp, c);
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        st->all = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    free(c);
}

/* After every call into tcp/: a connection that left the protocol leaves
 * the demux table at once, and is freed when no descriptor holds it. */
void stack_reap(struct sf_stack *st, struct sf_conn *c)
{
    if (!c || !c->dead)
        return;
    unhash(st, c);
    if (c->sd < 0)
        conn_free(st, c);
}

/* ------------------------------------------------------------ the stack */

static void derive_key(const uint8_t seed[16], const char *label,
                       uint8_t out[16])
{
    size_t n = strlen(label);
    uint64_t a = sf_siphash24(seed, label, n);
    uint64_t b = sf_siphash24(seed, label, n - 1);
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (8 * i));
        out[8 + i] = (uint8_t)(b >> (8 * i));
    }
}

static int check_cfg(const struct sf_stack_cfg *cfg)
{
    if (!cfg->output || cfg->addr == 0 || cfg->max_sockets == 0 ||
        cfg->mss < 64 || cfg->sndbuf == 0 || cfg->rcvbuf == 0 ||
        cfg->rto_min == 0 || cfg->rto_initial == 0 ||
        cfg->rto_max < cfg->rto_min || cfg->timer_slots == 0 ||
        cfg->timer_granularity == 0)
        return SF_EINVAL;
    return 0;
}

int sf_stack_create(const struct sf_stack_cfg *cfg, sf_time_t now,
                    struct sf_stack **out)
{
    *out = NULL;
    if (check_cfg(cfg) < 0)
        return SF_EINVAL;
    struct sf_stack *st = calloc(1, sizeof *st);
    if (!st)
        return SF_ENOMEM;
    st->cfg = *cfg;
    st->tcp.cfg = &st->cfg;
    st->tcp.now = now;
    st->tcp.ocap = 65535;
    st->tcp.obuf = malloc(st->tcp.ocap);
    st->tcp.pbuf = malloc(65535);
    derive_key(cfg->seed, "synfin-isn", st->tcp.isn_key);
    derive_key(cfg->seed, "synfin-demux", st->hash_key);
    derive_key(cfg->seed, "synfin-ports", st->port_key);
    st->nsds = (int)cfg->max_sockets;
    st->sds = calloc((size_t)st->nsds, sizeof *st->sds);
    st->sd_free = malloc((size_t)st->nsds * sizeof *st->sd_free);
    if (!st->tcp.obuf || !st->tcp.pbuf || !st->sds || !st->sd_free ||
        hash_init(&st->demux, 256) < 0 || hash_init(&st->listeners, 64) < 0 ||
        hash_init(&st->ports, 1024) < 0 ||
        sf_wheel_init(&st->tcp.wheel, cfg->timer_slots,
                      cfg->timer_granularity, now) < 0) {
        sf_stack_free(st);
        return SF_ENOMEM;
    }
    /* Lowest descriptors first, as a process's file descriptors. */
    for (int i = 0; i < st->nsds; i++)
        st->sd_free[i] = st->nsds - 1 - i;
    st->nsd_free = st->nsds;
    *out = st;
    return 0;
}

void sf_stack_free(struct sf_stack *st)
{
    if (!st)
        return;
    while (st->all) {
        struct sf_conn *c = st->all;
        c->listener = NULL; /* queues die with their listener */
        c->in_acceptq = false;
        conn_free(st, c);
    }
    if (st->tcp.wheel.slots)
        sf_wheel_free(&st->tcp.wheel);
    free(st->demux.slots);
    free(st->listeners.slots);
    free(st->ports.slots);
    free(st->sds);
    free(st->sd_free);
    free(st->tcp.obuf);
    free(st->tcp.pbuf);
    free(st);
}

void stack_set_now(struct sf_stack *st, sf_time_t now)
{
    if (now > st->tcp.now)
        st->tcp.now = now; /* time never runs backwards */
}

sf_time_t sf_stack_now(const struct sf_stack *st)
{
    return st->tcp.now;
}

const struct sf_counters *sf_stack_counters(const struct sf_stack *st)
{
    return &st->tcp.ctr;
}

const struct sf_stack_cfg *sf_stack_config(const struct sf_stack *st)
{
    return &st->cfg;
}

sf_time_t sf_stack_advance(struct sf_stack *st, sf_time_t now)
{
    stack_set_now(st, now);
    struct sf_timer *t;
    while ((t = sf_wheel_pop_expired(&st->tcp.wheel, st->tcp.now)) != NULL)
        stack_reap(st, tcp_timer_fire(&st->tcp, t));
    return sf_wheel_next(&st->tcp.wheel);
}

static void drop(struct sf_stack *st, enum sf_drop why,
                 const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    tcp_drop(&st->tcp, NULL, why, ip, seg);
}

/* A SYN for a listener: a new child connection, in SYN_RCVD. */
static void spawn(struct sf_stack *st, struct sf_conn *l,
                  const struct sf_ipv4 *ip, const struct sf_tcp *seg)
{
    struct sf_conn *c = stack_conn_new(st);
    if (!c) {
        drop(st, SF_DROP_NO_MEMORY, ip, seg);
        return;
    }
    c->local = (struct sf_addr){ip->dst, seg->dport};
    c->remote = (struct sf_addr){ip->src, seg->sport};
    c->reuseaddr = l->reuseaddr;
    port_link(st, c, seg->dport);
    stack_hash_conn(st, c);
    tcp_listen_spawn(&st->tcp, l, c, ip, seg);
    stack_reap(st, c);
}

void sf_stack_input(struct sf_stack *st, sf_time_t now, const uint8_t *dgram,
                    size_t len)
{
    stack_set_now(st, now);
    struct tcp_ctx *ctx = &st->tcp;
    ctx->ctr.c[SF_CTR_IP_IN]++;
    struct sf_ipv4 ip;
    struct sf_tcp seg;
    enum sf_drop why = sf_ipv4_parse(dgram, len, &ip);
    if (why != SF_DROP_NONE) {
        drop(st, why, NULL, NULL);
        return;
    }
    if (ip.dst != st->cfg.addr) {
        drop(st, SF_DROP_IP_ADDR, NULL, NULL);
        return;
    }
    why = sf_tcp_parse(&ip, &seg);
    if (why != SF_DROP_NONE) {
        drop(st, why, NULL, NULL);
        return;
    }
    ctx->ctr.c[SF_CTR_SEG_IN]++;
    struct sf_addr local = {ip.dst, seg.dport}, remote = {ip.src, seg.sport};
    struct sf_conn *c = stack_lookup(st, &local, &remote);
    /* A segment claiming to come from our own address is only ours to
     * take for a connection we opened to ourselves (self-connect); to a
     * listener or a closed port it is the "land" attack, whose SYN,ACK
     * would loop back to us forever. */
    if (!c && ip.src == st->cfg.addr) {
        drop(st, SF_DROP_IP_BAD_SRC, &ip, &seg);
        return;
    }
    struct sf_conn *l = c ? NULL : listener_lookup(st, seg.dport);
    int sd = c ? c->sd : l ? l->sd : -1;
    tcp_trace_seg(ctx, SF_TRACE_SEG_IN, sd, &ip, &seg, dgram, len);
    if (c) {
        tcp_segment_arrives(ctx, c, &ip, &seg);
        stack_reap(st, c);
    } else if (l) {
        if (tcp_listen_segment(ctx, l, &ip, &seg) == TCP_LISTEN_SPAWN)
            spawn(st, l, &ip, &seg);
    } else {
        tcp_closed_segment(ctx, &ip, &seg);
    }
}

int sf_stack_foreach(struct sf_stack *st,
                     int (*fn)(void *ctx, const struct sf_tcp_info *info),
                     void *ctx)
{
    for (struct sf_conn *c = st->all, *next; c; c = next) {
        next = c->anext;
        struct sf_tcp_info info;
        tcp_info(&st->tcp, c, &info);
        int r = fn(ctx, &info);
        if (r)
            return r;
    }
    return 0;
}
