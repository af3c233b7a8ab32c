/* The simulated network: hosts (synfin stacks), links between them, and
 * the event loop on a virtual clock. See include/synfin/sim.h. */
#include <stdlib.h>
#include <string.h>

#include "link/sim_int.h"

struct sim_host {
    struct sf_sim *sim;
    int id;
    uint32_t ip;     /* 0: no IPv4 address */
    bool has_ip6;
    uint8_t ip6[16]; /* network byte order */
    struct sf_stack *st;
    sf_time_t timer_at; /* deadline the pending TIMER event is for */
    uint64_t timer_gen; /* bumped on every reschedule: stale events skip */
    bool dirty;         /* on the dirty list: deadline to be re-read */
    int next_dirty;
};

struct sf_sim {
    struct sf_sim_cfg cfg;
    sf_time_t now;
    struct sim_rng rng;
    struct sim_heap heap;
    struct sim_host **hosts;
    size_t nhosts, cap_hosts;
    struct sim_map by_addr;  /* ip -> host */
    struct sim_map by_addr6; /* addr6_key(ip6) -> host */
    struct sim_map by_pair;  /* from << 32 | to -> link index */
    struct sim_link **links;
    size_t nlinks, cap_links;
    uint32_t next_ip;
    uint32_t next_ip6; /* the N of the next fd00::N to try */
    int dirty_head; /* -1: empty */
    struct sf_sim_stats stats;
    void (*trace)(void *ctx, const struct sf_sim_event *ev);
    void *trace_ctx;
    sf_sim_filter_fn filter;
    void *filter_ctx;
    void (*app)(void *ctx, struct sf_sim *sim, int host);
    void *app_ctx;
};

static const char *const drop_text[SF_SIM_NDROPS] = {
    [SF_SIM_DROP_NONE] = "not dropped",
#define SF_X_(name, text) [SF_SIM_DROP_##name] = text,
    SF_SIM_DROP_LIST(SF_X_)
#undef SF_X_
};

const char *sf_sim_drop_text(enum sf_sim_drop d)
{
    return (unsigned)d < SF_SIM_NDROPS ? drop_text[d] : "unknown";
}

void sf_sim_cfg_default(struct sf_sim_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->link.delay = 10 * SF_MSEC;
    cfg->link.mtu = 1500;
    sf_stack_cfg_default(&cfg->stack);
}

int sf_sim_create(const struct sf_sim_cfg *cfg, struct sf_sim **out)
{
    *out = NULL;
    if (sf_link_cfg_check(&cfg->link))
        return SF_EINVAL;
    struct sf_sim *sim = calloc(1, sizeof *sim);
    if (!sim)
        return SF_ENOMEM;
    sim->cfg = *cfg;
    sim_rng_seed(&sim->rng, cfg->seed);
    sim_heap_init(&sim->heap);
    sim_map_init(&sim->by_addr);
    sim_map_init(&sim->by_pair);
    sim_map_init(&sim->by_addr6);
    sim->next_ip = SF_SIM_NET_BASE + 1;
    sim->next_ip6 = 1;
    sim->dirty_head = -1;
    *out = sim;
    return 0;
}

void sf_sim_free(struct sf_sim *sim)
{
    if (!sim)
        return;
    for (size_t i = 0; i < sim->nhosts; i++) {
        sf_stack_free(sim->hosts[i]->st);
        free(sim->hosts[i]);
    }
    for (size_t i = 0; i < sim->nlinks; i++)
        free(sim->links[i]);
    free(sim->hosts);
    free(sim->links);
    sim_heap_free(&sim->heap);
    sim_map_free(&sim->by_addr);
    sim_map_free(&sim->by_addr6);
    sim_map_free(&sim->by_pair);
    free(sim);
}

/* ------------------------------------------------------------ events */

static void emit(struct sf_sim *sim, struct sf_sim_event *ev)
{
    ev->now = sim->now;
    if (sim->trace)
        sim->trace(sim->trace_ctx, ev);
}

static void host_trace(void *ctx, const struct sf_trace_event *tev)
{
    struct sim_host *h = ctx;
    struct sf_sim_event ev = {.kind = SF_SIM_EV_STACK, .host = h->id,
                              .trace = tev, .peer = -1};
    emit(h->sim, &ev);
}

static void mark_dirty(struct sim_host *h)
{
    if (h->dirty)
        return;
    h->dirty = true;
    h->next_dirty = h->sim->dirty_head;
    h->sim->dirty_head = h->id;
}

/* Re-reads the host's next deadline and, if it moved, queues a TIMER event
 * for it; the event for the old deadline becomes stale (generation). */
static void resched(struct sf_sim *sim, struct sim_host *h)
{
    sf_time_t t = sf_stack_advance(h->st, sim->now);
    if (t == h->timer_at)
        return;
    h->timer_at = t;
    h->timer_gen++;
    if (t == SF_TIME_NEVER)
        return;
    /* advance(now) has fired everything due, so t > now; should a stack
     * say otherwise, wake it 1 ns later so the clock still moves. */
    struct sim_ev ev = {.kind = SIM_EV_TIMER, .host = h->id,
                        .gen = h->timer_gen,
                        .time = t > sim->now ? t : sim->now + 1};
    sim_heap_push(&sim->heap, &ev);
}

static void flush_dirty(struct sf_sim *sim)
{
    while (sim->dirty_head >= 0) {
        struct sim_host *h = sim->hosts[sim->dirty_head];
        sim->dirty_head = h->next_dirty;
        h->dirty = false;
        resched(sim, h);
    }
}

/* ------------------------------------------------------------- links */

static uint64_t pair_key(int from, int to)
{
    return (uint64_t)(uint32_t)from << 32 | (uint32_t)to;
}

static bool host_ok(const struct sf_sim *sim, int host)
{
    return host >= 0 && (size_t)host < sim->nhosts;
}

/* The link from -> to, created with the default configuration on first
 * use, so only pairs that talk cost memory. */
static struct sim_link *link_of(struct sf_sim *sim, int from, int to)
{
    int i = sim_map_get(&sim->by_pair, pair_key(from, to));
    if (i >= 0)
        return sim->links[i];
    if (sim->nlinks == sim->cap_links) {
        size_t cap = sim->cap_links ? sim->cap_links * 2 : 16;
        struct sim_link **p = realloc(sim->links, cap * sizeof *p);
        if (!p)
            return NULL;
        sim->links = p;
        sim->cap_links = cap;
    }
    struct sim_link *l = calloc(1, sizeof *l);
    if (!l || sim_map_put(&sim->by_pair, pair_key(from, to),
                          (int)sim->nlinks)) {
        free(l);
        return NULL;
    }
    l->cfg = sim->cfg.link;
    sim->links[sim->nlinks++] = l;
    return l;
}

int sf_sim_link_set(struct sf_sim *sim, int from, int to,
                    const struct sf_link_cfg *cfg)
{
    if (!host_ok(sim, from) || !host_ok(sim, to) ||
        sf_link_cfg_check(cfg))
        return SF_EINVAL;
    struct sim_link *l = link_of(sim, from, to);
    if (!l)
        return SF_ENOMEM;
    l->cfg = *cfg;
    return 0;
}

int sf_sim_link_get(struct sf_sim *sim, int from, int to,
                    struct sf_link_cfg *cfg)
{
    if (!host_ok(sim, from) || !host_ok(sim, to))
        return SF_EINVAL;
    int i = sim_map_get(&sim->by_pair, pair_key(from, to));
    *cfg = i >= 0 ? sim->links[i]->cfg : sim->cfg.link;
    return 0;
}

/* ------------------------------------------------------ transmission */

#define SIM_IPV4_MIN 20
#define SIM_IPV6_MIN 40

/* The destination address of a datagram at least SIM_IPV4_MIN long. */
static uint32_t dgram_dst(const uint8_t *d)
{
    return (uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 |
           (uint32_t)d[18] << 8 | d[19];
}

/* The host a datagram is routed to by its destination address (IPv4:
 * bytes 16..19, RFC 791 3.1; IPv6: bytes 24..39, RFC 8200 3): -1 if no
 * host has it, -2 if it is too short for its version's header or neither
 * version. The sim routes; the stacks check the rest of the header. */
static int route(const struct sf_sim *sim, const uint8_t *d, size_t len)
{
    if (len >= SIM_IPV4_MIN && (d[0] >> 4) == 4)
        return sf_sim_host_by_addr(sim, dgram_dst(d));
    if (len >= SIM_IPV6_MIN && (d[0] >> 4) == 6)
        return sf_sim_host_by_addr6(sim, d + 24);
    return -2;
}

static void queue_copy(struct sf_sim *sim, int from, int to,
                       const uint8_t *d, size_t len, sf_time_t at,
                       unsigned flags, size_t flip_bit)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return;
    memcpy(buf, d, len);
    if (flags & SF_SIM_F_CE) { /* RFC 3168 5: CE, before any bit flip */
        impair_mark_ce(buf, len);
        sim->stats.ce_marked++;
    }
    if (flags & SF_SIM_F_CORRUPTED) {
        impair_flip(buf, flip_bit);
        sim->stats.corrupted++;
    }
    struct sim_ev ev = {.kind = SIM_EV_DELIVER, .time = at, .host = to,
                        .from = from, .flags = flags, .buf = buf,
                        .len = len};
    if (sim_heap_push(&sim->heap, &ev))
        free(buf);
}

/* Sends one datagram from host `from` into the network. */
static void transmit(struct sf_sim *sim, int from, const uint8_t *d,
                     size_t len, sf_time_t extra, unsigned flags)
{
    struct sf_sim_event ev = {.kind = SF_SIM_EV_SEND, .host = from,
                              .peer = -1, .dgram = d, .len = len,
                              .flags = flags};
    struct sim_fate f = {.drop = SF_SIM_DROP_NONE};
    sim->stats.sent++;
    sim->stats.bytes_sent += len;
    int to = route(sim, d, len);
    if (to == -2)
        f.drop = SF_SIM_DROP_SHORT;
    else if ((ev.peer = to) < 0)
        f.drop = SF_SIM_DROP_NO_ROUTE;
    else if (sim->filter &&
             !sim->filter(sim->filter_ctx, sim, from, ev.peer, d, len, &extra))
        f.drop = SF_SIM_DROP_FILTER;
    else {
        struct sim_link *l = link_of(sim, from, ev.peer);
        if (!l)
            return;
        sim_link_send_ecn(l, &sim->rng, sim->now, len, extra,
                          impair_ecn_of(d, len), &f);
    }
    if (f.drop) {
        sim->stats.drops[f.drop]++;
        ev.drop = f.drop;
        emit(sim, &ev);
        return;
    }
    for (int i = 0; i < f.ncopies; i++) {
        ev.flags = flags | f.flags[i];
        ev.arrive = f.arrive[i];
        sim->stats.dups += (f.flags[i] & SF_SIM_F_DUP) != 0;
        sim->stats.reordered += (f.flags[i] & SF_SIM_F_REORDERED) != 0;
        emit(sim, &ev);
        queue_copy(sim, from, ev.peer, d, len, f.arrive[i], ev.flags,
                   f.flip_bit);
    }
}

/* The stacks' cfg.output: called from inside sf_stack_* calls. It only
 * queues events, so it never re-enters a stack. */
static void host_output(void *ctx, const uint8_t *d, size_t len)
{
    struct sim_host *h = ctx;
    mark_dirty(h);
    transmit(h->sim, h->id, d, len, 0, 0);
}

int sf_sim_inject(struct sf_sim *sim, int from, const uint8_t *d, size_t len,
                  sf_time_t extra_delay)
{
    if (!host_ok(sim, from) || (!d && len))
        return SF_EINVAL;
    transmit(sim, from, d, len, extra_delay, SF_SIM_F_INJECTED);
    return 0;
}

/* ------------------------------------------------------------- hosts */

static uint32_t next_free_ip(struct sf_sim *sim)
{
    /* 198.18.0.0/15 has 2^17 addresses; skip .0 and .255 so no address
     * looks like a network or broadcast address to anyone. */
    for (uint32_t n = 0; n < 0x20000u; n++) {
        uint32_t ip = sim->next_ip;
        sim->next_ip = SF_SIM_NET_BASE + ((ip + 1 - SF_SIM_NET_BASE) & 0x1FFFFu);
        uint8_t last = ip & 0xFF;
        if (last != 0 && last != 255 && sim_map_get(&sim->by_addr, ip) < 0)
            return ip;
    }
    return 0;
}

/* The by_addr6 key of an IPv6 address: a mix of both halves (bijective
 * in each half, so addresses of one /64 never collide); bit 63 set so no
 * key is 0. A lookup compares the whole address. */
static uint64_t addr6_key(const uint8_t a[16])
{
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | a[i];
        lo = lo << 8 | a[8 + i];
    }
    uint64_t x = lo;
    x = sim_splitmix64(&x) ^ hi;
    return sim_splitmix64(&x) | 1ull << 63;
}

static bool addr6_zero(const uint8_t a[16])
{
    static const uint8_t zero[16];
    return memcmp(a, zero, 16) == 0;
}

/* The next fd00::N no host has (N from 1, skipping 0), into out. */
static bool next_free_ip6(struct sf_sim *sim, uint8_t out[16])
{
    static const uint8_t base[16] = SF_SIM_NET6_BASE;
    for (uint32_t n = 0; n < 0x20000u; n++) {
        uint32_t k = sim->next_ip6++;
        if (k == 0)
            continue;
        uint8_t a[16];
        memcpy(a, base, 16);
        for (int i = 0; i < 4; i++)
            a[12 + i] = (uint8_t)(k >> (24 - 8 * i));
        if (sim_map_get(&sim->by_addr6, addr6_key(a)) < 0) {
            memcpy(out, a, 16);
            return true;
        }
    }
    return false;
}

/* An address a host may have (RFC 4291 2.5.2, 2.5.3, 2.7, 2.5.5.2): not
 * ::, ::1, multicast or IPv4-mapped; the stack would drop datagrams to
 * them. */
static bool ip6_usable(const uint8_t a[16])
{
    static const uint8_t loop[16] = {[15] = 1};
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    return !addr6_zero(a) && memcmp(a, loop, 16) != 0 && a[0] != 0xff &&
           memcmp(a, mapped, 12) != 0;
}

static int grow_hosts(struct sf_sim *sim)
{
    if (sim->nhosts < sim->cap_hosts)
        return 0;
    size_t cap = sim->cap_hosts ? sim->cap_hosts * 2 : 8;
    struct sim_host **p = realloc(sim->hosts, cap * sizeof *p);
    if (!p)
        return SF_ENOMEM;
    sim->hosts = p;
    sim->cap_hosts = cap;
    return 0;
}

int sf_sim_add_host(struct sf_sim *sim, uint32_t ip,
                    const struct sf_stack_cfg *cfg)
{
    return sf_sim_add_host_fam(sim, SF_SIM_HOST_V4 |
                                        (sim->cfg.ipv6 ? SF_SIM_HOST_V6 : 0),
                               ip, NULL, cfg);
}

int sf_sim_add_host_fam(struct sf_sim *sim, unsigned fams, uint32_t ip,
                        const uint8_t *ip6, const struct sf_stack_cfg *cfg)
{
    bool v4 = fams & SF_SIM_HOST_V4, v6 = fams & SF_SIM_HOST_V6;
    uint8_t a6[16] = {0};
    if (!fams || (fams & ~(SF_SIM_HOST_V4 | SF_SIM_HOST_V6)) ||
        (!v4 && ip) || (!v6 && ip6 && !addr6_zero(ip6)))
        return SF_EINVAL;
    if (v6 && ip6 && !addr6_zero(ip6)) {
        if (!ip6_usable(ip6))
            return SF_EINVAL;
        memcpy(a6, ip6, 16);
        if (sf_sim_host_by_addr6(sim, a6) >= 0 ||
            sim_map_get(&sim->by_addr6, addr6_key(a6)) >= 0)
            return SF_EADDRINUSE; /* (or, never seen, its key is taken) */
    }
    if (v4 && ip == 0 && (ip = next_free_ip(sim)) == 0)
        return SF_EADDRNOTAVAIL;
    if (v4 && sim_map_get(&sim->by_addr, ip) >= 0)
        return SF_EADDRINUSE;
    if (v6 && addr6_zero(a6) && !next_free_ip6(sim, a6))
        return SF_EADDRNOTAVAIL;
    if (grow_hosts(sim) || sim->nhosts >= INT32_MAX)
        return SF_ENOMEM;
    struct sim_host *h = calloc(1, sizeof *h);
    if (!h)
        return SF_ENOMEM;
    h->sim = sim;
    h->id = (int)sim->nhosts;
    h->ip = ip;
    h->has_ip6 = v6;
    memcpy(h->ip6, a6, 16);
    h->timer_at = SF_TIME_NEVER;
    struct sf_stack_cfg c = cfg ? *cfg : sim->cfg.stack;
    c.addr = ip;
    memcpy(c.addr6, a6, 16);
    c.output = host_output;
    c.output_ctx = h;
    c.trace = host_trace;
    c.trace_ctx = h;
    /* Each host's own randomness (ISNs, ports) follows the sim seed. */
    uint64_t x = sim->cfg.seed ^ ((uint64_t)h->id * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 2; i++) {
        uint64_t v = sim_splitmix64(&x);
        memcpy(c.seed + 8 * i, &v, 8);
    }
    int err = sf_stack_create(&c, sim->now, &h->st);
    if (!err && ((v4 && sim_map_put(&sim->by_addr, ip, h->id)) ||
                 (v6 && sim_map_put(&sim->by_addr6, addr6_key(a6), h->id)))) {
        sf_stack_free(h->st);
        err = SF_ENOMEM; /* (a map that failed to grow holds nothing new) */
    }
    if (err) {
        free(h);
        return err;
    }
    sim->hosts[sim->nhosts++] = h;
    resched(sim, h);
    return h->id;
}

size_t sf_sim_nhosts(const struct sf_sim *sim)
{
    return sim->nhosts;
}

struct sf_stack *sf_sim_host_stack(struct sf_sim *sim, int host)
{
    return host_ok(sim, host) ? sim->hosts[host]->st : NULL;
}

uint32_t sf_sim_host_addr(const struct sf_sim *sim, int host)
{
    return host_ok(sim, host) ? sim->hosts[host]->ip : 0;
}

int sf_sim_host_by_addr(const struct sf_sim *sim, uint32_t ip)
{
    return ip ? sim_map_get(&sim->by_addr, ip) : -1;
}

bool sf_sim_host_addr6(const struct sf_sim *sim, int host, uint8_t out[16])
{
    if (!host_ok(sim, host) || !sim->hosts[host]->has_ip6)
        return false;
    memcpy(out, sim->hosts[host]->ip6, 16);
    return true;
}

struct sf_addr sf_sim_host_ip(const struct sf_sim *sim, int host, int family,
                              uint16_t port)
{
    uint8_t a[16] = {0};
    if (family != SF_AF_INET6)
        return sf_addr4(sf_sim_host_addr(sim, host), port);
    sf_sim_host_addr6(sim, host, a);
    return sf_addr6(a, port);
}

int sf_sim_host_by_addr6(const struct sf_sim *sim, const uint8_t ip6[16])
{
    int h = sim_map_get(&sim->by_addr6, addr6_key(ip6));
    return h >= 0 && memcmp(sim->hosts[h]->ip6, ip6, 16) == 0 ? h : -1;
}

int sf_sim_host_by_ip(const struct sf_sim *sim, const struct sf_addr *a)
{
    return a->family == SF_AF_INET6 ? sf_sim_host_by_addr6(sim, a->ip6)
                                    : sf_sim_host_by_addr(sim, a->ip);
}

void sf_sim_touch(struct sf_sim *sim, int host)
{
    if (host_ok(sim, host))
        resched(sim, sim->hosts[host]);
}

/* ----------------------------------------------------------- hooks */

void sf_sim_set_trace(struct sf_sim *sim,
                      void (*fn)(void *ctx, const struct sf_sim_event *ev),
                      void *ctx)
{
    sim->trace = fn;
    sim->trace_ctx = ctx;
}

void sf_sim_set_filter(struct sf_sim *sim, sf_sim_filter_fn fn, void *ctx)
{
    sim->filter = fn;
    sim->filter_ctx = ctx;
}

void sf_sim_set_app(struct sf_sim *sim,
                    void (*fn)(void *ctx, struct sf_sim *sim, int host),
                    void *ctx)
{
    sim->app = fn;
    sim->app_ctx = ctx;
}

int sf_sim_at(struct sf_sim *sim, sf_time_t t, int host,
              void (*fn)(void *ctx, struct sf_sim *sim, int host), void *ctx)
{
    if (!fn || (host != -1 && !host_ok(sim, host)))
        return SF_EINVAL;
    struct sim_ev ev = {.kind = SIM_EV_CALL, .time = t > sim->now ? t : sim->now,
                        .host = host, .fn = fn, .ctx = ctx};
    return sim_heap_push(&sim->heap, &ev);
}

/* -------------------------------------------------------------- loop */

sf_time_t sf_sim_now(const struct sf_sim *sim)
{
    return sim->now;
}

const struct sf_sim_stats *sf_sim_stats(const struct sf_sim *sim)
{
    return &sim->stats;
}

uint64_t sf_sim_random(struct sf_sim *sim)
{
    return sim_rng_next(&sim->rng);
}

static bool stale(const struct sf_sim *sim, const struct sim_ev *ev)
{
    return ev->kind == SIM_EV_TIMER &&
           ev->gen != sim->hosts[ev->host]->timer_gen;
}

/* Drops stale timer events from the top so the head is a real event. */
static const struct sim_ev *head(struct sf_sim *sim)
{
    flush_dirty(sim);
    const struct sim_ev *ev;
    struct sim_ev junk;
    while ((ev = sim_heap_peek(&sim->heap)) && stale(sim, ev))
        sim_heap_pop(&sim->heap, &junk);
    return ev;
}

sf_time_t sf_sim_next_time(struct sf_sim *sim)
{
    const struct sim_ev *ev = head(sim);
    return ev ? ev->time : SF_TIME_NEVER;
}

static void deliver(struct sf_sim *sim, struct sim_ev *ev)
{
    struct sim_host *h = sim->hosts[ev->host];
    struct sf_sim_event se = {.kind = SF_SIM_EV_ARRIVE, .host = h->id,
                              .peer = ev->from, .dgram = ev->buf,
                              .len = ev->len, .flags = ev->flags,
                              .arrive = sim->now};
    emit(sim, &se);
    sim->stats.delivered++;
    sf_stack_input(h->st, sim->now, ev->buf, ev->len);
    free(ev->buf);
    ev->buf = NULL;
    resched(sim, h);
}

static void run_event(struct sf_sim *sim, struct sim_ev *ev)
{
    sim->now = ev->time;
    sim->stats.events++;
    switch (ev->kind) {
    case SIM_EV_DELIVER:
        deliver(sim, ev);
        break;
    case SIM_EV_TIMER:
        /* The deadline is consumed; resched reads the next one. */
        sim->hosts[ev->host]->timer_at = SF_TIME_NEVER;
        resched(sim, sim->hosts[ev->host]);
        break;
    case SIM_EV_CALL:
        if (ev->host >= 0)
            resched(sim, sim->hosts[ev->host]);
        ev->fn(ev->ctx, sim, ev->host);
        if (ev->host >= 0) /* a socket call may start a timer silently */
            resched(sim, sim->hosts[ev->host]);
        flush_dirty(sim);
        return;
    }
    if (sim->app) {
        sim->app(sim->app_ctx, sim, ev->host);
        /* The application's socket calls may start a timer silently (a
         * send into a zero window arms the persist timer): re-read it. */
        resched(sim, sim->hosts[ev->host]);
    }
    flush_dirty(sim);
}

bool sf_sim_step(struct sf_sim *sim)
{
    struct sim_ev ev;
    if (!head(sim) || !sim_heap_pop(&sim->heap, &ev))
        return false;
    run_event(sim, &ev);
    return true;
}

void sf_sim_run_until(struct sf_sim *sim, sf_time_t t)
{
    while (sf_sim_next_time(sim) <= t && sf_sim_step(sim))
        ;
    if (t > sim->now && t != SF_TIME_NEVER)
        sim->now = t;
}

uint64_t sf_sim_run_while(struct sf_sim *sim,
                          bool (*pred)(void *ctx, struct sf_sim *sim),
                          void *ctx, sf_time_t limit)
{
    uint64_t n = 0;
    while ((!pred || pred(ctx, sim)) && sf_sim_next_time(sim) <= limit &&
           sf_sim_step(sim))
        n++;
    return n;
}
