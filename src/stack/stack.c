/* The stack: creation, the clock, datagrams in, timers, and the tables
 * that find a connection (a keyed hash of the 4-tuple, so that a remote
 * peer cannot aim collisions), a listener (by port) and bound ports. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/siphash.h"
#include "stack/stack_int.h"

/* RFC 791: the IPv4 total length field is 16 bits: the largest datagram. */
#define DGRAM_MAX 65535

void sf_stack_cfg_default(struct sf_stack_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_sockets = 1024;
    cfg->mss = 1460;
    cfg->sndbuf = TCP_MAX_WIN; /* one unscaled window */
    cfg->rcvbuf = TCP_MAX_WIN;
    cfg->default_backlog_max = 4096;
    cfg->syn_backlog = 256;
    cfg->syncookies = true;
    cfg->rto_initial = 1 * SF_SEC;
    /* RFC 6298 2.4: "Whenever RTO is computed, if it is less than 1
     * second, then the RTO SHOULD be rounded up to 1 second." A SHOULD:
     * like Linux (TCP_RTO_MIN, 200 ms) and FreeBSD (rexmit_min, 30 ms)
     * synfin bounds it lower, so that one lost tail on a short path costs
     * 200 ms, not 1 s (500 RTTs at 2 ms). sf_stack_cfg.rto_min sets
     * another (the drill runner keeps 1 s). */
    cfg->rto_min = 200 * SF_MSEC;
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
    cfg->delack = 200 * SF_MSEC;
    cfg->reass_max_ranges = 32;
    cfg->timer_slots = 4096;
    cfg->timer_granularity = 1 * SF_MSEC;
    cfg->invalid_ratelimit = 500 * SF_MSEC;
    cfg->max_orphans = 4096;
    cfg->orphan_retries = 8;
    cfg->min_snd_mss = 48;
    cfg->max_tw = 131072;
    cfg->wscale = true;      /* RFC 7323, as Linux tcp_window_scaling */
    cfg->timestamps = true;  /* as Linux tcp_timestamps */
    cfg->rcvbuf_max = 6u << 20; /* as Linux tcp_rmem[2] */
    cfg->sndbuf_max = 4u << 20; /* as Linux tcp_wmem[2] */
    cfg->sack = true;
    cfg->rack = true;
    cfg->ecn = 2; /* RFC 3168: accept when asked, as Linux */
    cfg->pacing = true; /* pacing.c, see sf_stack_cfg.pacing */
    cfg->syn_defer_timeout = 30 * SF_SEC;
    cfg->mem_max = 0;       /* no memory limit */
    cfg->mem_pressure = 75; /* % of mem_max (Linux: tcp_mem[1] ~ 4/3 [0]) */
}

/* ------------------------------------------------------------- tables */

static int hash_init(struct sf_hash *h, size_t size)
{
    h->slots = calloc(size, sizeof *h->slots);
    h->size = h->slots ? size : 0;
    h->count = 0;
    return h->slots ? 0 : SF_ENOMEM;
}

static size_t port_slot(const struct sf_hash *h, uint16_t port)
{
    return (port * 2654435761u) & (h->size - 1);
}


int stack_hash_conn(struct sf_stack *st, struct sf_conn *c)
{
    ttab_insert(&st->demux, c);
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
    if (c->in_ltab && st->any_listener == c) {
        st->any_listener = NULL;
        stack_port_listening(st, c, -1);
        c->in_ltab = false;
    } else if (c->in_ltab) {
        chain_remove(&st->listeners.slots[port_slot(&st->listeners,
                                                    c->local.port)], c);
        st->listeners.count--;
        stack_port_listening(st, c, -1);
        c->in_ltab = false;
    } else {
        ttab_remove(&st->demux, c);
    }
    c->hashed = false;
}

struct sf_conn *stack_lookup(struct sf_stack *st, const struct sf_addr *local,
                             const struct sf_addr *remote)
{
    return ttab_lookup(&st->demux, local, remote);
}

/* Does listener l take dst's family? An IPv6 listener bound to :: takes
 * IPv4 as well unless IPV6_V6ONLY is set (RFC 3493 5.3, as Linux). */
static bool takes_family(const struct sf_conn *l, const struct sf_addr *dst)
{
    return l->local.family == dst->family ||
           (l->local.family == SF_AF_INET6 && dst->family == SF_AF_INET &&
            !l->v6only && sf_addr_is_unspec(&l->local));
}

/* How well listener l matches dst: 3 bound to dst's address, 2 to the
 * unspecified address of dst's family, 1 an IPv6 one on :: that takes
 * IPv4 too, 0 not at all. */
static int listener_score(const struct sf_conn *l, const struct sf_addr *dst)
{
    if (l->local.port != dst->port || !takes_family(l, dst))
        return 0;
    if (l->local.family != dst->family)
        return 1;
    return sf_addr_ip_eq(&l->local, dst) ? 3
           : sf_addr_is_unspec(&l->local) ? 2 : 0;
}

/* The listener a segment to dst goes to. To an address of the stack: of
 * those on dst's port (several may listen there on different addresses
 * of the stack), the best match, the most specific first, as Linux; to
 * another address, only a transparent one (SF_IP_TRANSPARENT). Failing
 * that, the any-destination listener, which takes what no other socket
 * claims (docs/transparent.md). */
struct sf_conn *stack_listener_for(struct sf_stack *st,
                                   const struct sf_addr *dst)
{
    bool owned = !st->foreign_ok || stack_addr_owned(st, dst);
    struct sf_conn *best = NULL;
    int best_score = 0;
    size_t i = port_slot(&st->listeners, dst->port);
    for (struct sf_conn *l = st->listeners.slots[i]; l; l = l->hnext) {
        int s = (owned || l->transparent) ? listener_score(l, dst) : 0;
        if (s > best_score)
            best = l, best_score = s;
    }
    if (best)
        return best;
    struct sf_conn *l = st->any_listener;
    return l && takes_family(l, dst) ? l : NULL;
}

/* The listener whose accept queue holds c (several may share its port; a
 * child of the any-destination listener is not found by its port), or
 * NULL. */
static struct sf_conn *listener_holding(struct sf_stack *st,
                                        const struct sf_conn *c)
{
    size_t i = port_slot(&st->listeners, c->local.port);
    for (struct sf_conn *l = st->listeners.slots[i]; l; l = l->hnext)
        if (l->local.port == c->local.port && tcp_acceptq_holds(l, c))
            return l;
    return tcp_acceptq_holds(st->any_listener, c) ? st->any_listener : NULL;
}

int stack_listen_insert(struct sf_stack *st, struct sf_conn *c)
{
    if (c->transparent) {
        st->foreign_ok = true;
        if (c->local.port == 0) { /* bound to port 0: any destination */
            st->any_listener = c;
            c->hashed = true;
            c->in_ltab = true;
            stack_port_listening(st, c, +1);
            return 0;
        }
    }
    size_t i = port_slot(&st->listeners, c->local.port);
    c->hnext = st->listeners.slots[i];
    st->listeners.slots[i] = c;
    st->listeners.count++;
    c->hashed = true;
    c->in_ltab = true;
    stack_port_listening(st, c, +1);
    return 0;
}

/* -------------------------------------------------------- connections */

struct sf_conn *stack_conn_new(struct sf_stack *st)
{
    struct sf_conn *c = mem_alloc(&st->tcp.mem, sizeof *c); /* cfg.mem_max */
    if (!c)
        return NULL;
    tcp_conn_init(&st->tcp, c);
    return c;
}

/* Not in the RFC; as Linux tcp_max_orphans. A closed connection still
 * sending its data and FIN holds its buffers with nobody to account them
 * to; a peer that stalls many of them (a zero window, unanswered FINs)
 * could fill memory. Past cfg.max_orphans, close() resets the connection
 * (ABORT, 3.10.5, so that the peer learns the data is lost) instead of
 * leaving it to live on. */
bool stack_orphan_refused(struct sf_stack *st, struct sf_conn *c)
{
    struct tcp_ctx *ctx = &st->tcp;
    bool would_live = c->state >= SF_SYN_RCVD && c->state != SF_TIME_WAIT &&
                      !c->dead;
    if (!would_live || c->orphan_counted || ctx->orphans < st->cfg.max_orphans)
        return false;
    ctx->ctr.c[SF_CTR_ORPHAN_OVERFLOW]++;
    tcp_note(ctx, c, "too many orphans (max_orphans): reset");
    tcp_send_rst(ctx, c);
    tcp_terminate(ctx, c, 0, SF_CAUSE_ABORT);
    return true;
}

void stack_orphan_count(struct sf_stack *st, struct sf_conn *c)
{
    if (c->dead || c->state == SF_CLOSED || c->state == SF_TIME_WAIT ||
        c->orphan_counted)
        return; /* over, or a TIME_WAIT record soon (capped by max_tw) */
    st->tcp.orphans++;
    c->orphan_counted = true;
}

void stack_conn_free(struct sf_stack *st, struct sf_conn *c)
{
    if (c->orphan_counted) {
        st->tcp.orphans--;
        c->orphan_counted = false;
    }
    if (c->in_acceptq) /* reset or timed out before accept() took it */
        tcp_child_unlink(listener_holding(st, c), c);
    unhash(st, c);
    stack_port_release(st, c);
    tcp_conn_destroy(&st->tcp, c);
    mem_free(&st->tcp.mem, c, sizeof *c);
}

/* Every connection is found through a descriptor or the demux table (a
 * connection with neither is freed at once), so these two walks see them
 * all, each once. */
static int walk(struct sf_stack *st, int (*fn)(void *, struct sf_conn *),
                void *ctx)
{
    for (int sd = 0; st->sds && sd < st->nsds; sd++) /* (create failed) */
        if (st->sds[sd]) {
            int r = fn(ctx, st->sds[sd]);
            if (r)
                return r;
        }
    for (size_t i = 0; i < st->demux.size; i++)
        for (struct sf_conn *c = st->demux.slots[i], *next; c; c = next) {
            next = c->hnext;
            if (c->sd < 0) {
                int r = fn(ctx, c);
                if (r)
                    return r;
            }
        }
    return 0;
}

/* After every call into tcp/: a connection that left the protocol leaves
 * the demux table at once, and is freed when no descriptor holds it; one
 * in TIME_WAIT that no descriptor holds shrinks to a small record. */
void stack_reap(struct sf_stack *st, struct sf_conn *c)
{
    if (!c)
        return;
    if (c->dead) {
        unhash(st, c);
        if (c->sd < 0)
            stack_conn_free(st, c);
        return;
    }
    if (c->state == SF_TIME_WAIT && c->sd < 0)
        stack_tw_from_conn(st, c);
}

/* ------------------------------------------------------------ the stack */

static void derive_key(const uint8_t seed[16], const char *label,
                       uint8_t out[16])
{
    size_t n = strlen(label);
    uint64_t a = siphash24(seed, label, n);
    uint64_t b = siphash24(seed, label, n - 1);
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (8 * i));
        out[8 + i] = (uint8_t)(b >> (8 * i));
    }
}

/* The stack has an IPv6 address (cfg.addr6 not ::). */
bool stack_has_addr6(const struct sf_stack_cfg *cfg)
{
    static const uint8_t zero[16];
    return memcmp(cfg->addr6, zero, 16) != 0;
}

/* ------------------------------------------------- local addresses */

bool stack_addr_owned(const struct sf_stack *st, const struct sf_addr *a)
{
    for (size_t i = 0; i < st->naddrs; i++)
        if (sf_addr_ip_eq(&st->addrs[i], a))
            return true;
    return false;
}

const struct sf_addr *stack_addr_first(const struct sf_stack *st, int family)
{
    for (size_t i = 0; i < st->naddrs; i++)
        if (st->addrs[i].family == family)
            return &st->addrs[i];
    return NULL;
}

/* A host's unicast address: not unspecified, multicast (RFC 1112 4,
 * RFC 4291 2.7), the limited broadcast (RFC 919), ::1 or IPv4-mapped
 * (RFC 4291 2.5.3, 2.5.5.2: never an interface's). */
static bool addr_assignable(const struct sf_addr *a)
{
    static const uint8_t loop6[16] = {[15] = 1};
    if (a->family == SF_AF_INET)
        return a->ip != 0 && a->ip != 0xffffffffu && a->ip >> 28 != 0xe;
    return a->family == SF_AF_INET6 && !sf_addr_is_unspec(a) &&
           a->ip6[0] != 0xff && memcmp(a->ip6, loop6, 16) != 0 &&
           !sf_addr_is_v4mapped(a);
}

int sf_stack_addr_add(struct sf_stack *st, const struct sf_addr *a)
{
    if (!st || !a || !addr_assignable(a))
        return SF_EINVAL;
    if (stack_addr_owned(st, a))
        return SF_EADDRINUSE;
    if (st->naddrs == st->addrs_cap) {
        size_t cap = st->addrs_cap ? 2 * st->addrs_cap : 4;
        struct sf_addr *n = realloc(st->addrs, cap * sizeof *n);
        if (!n)
            return SF_ENOMEM;
        st->addrs = n;
        st->addrs_cap = cap;
    }
    struct sf_addr *slot = &st->addrs[st->naddrs++];
    *slot = a->family == SF_AF_INET ? sf_addr4(a->ip, 0)
                                    : sf_addr6(a->ip6, 0);
    return 0;
}

/* As Linux (ip addr del): the connections and sockets on the address are
 * left alone; they end by their own timeouts. */
int sf_stack_addr_del(struct sf_stack *st, const struct sf_addr *a)
{
    if (!st || !a)
        return SF_EINVAL;
    for (size_t i = 0; i < st->naddrs; i++)
        if (sf_addr_ip_eq(&st->addrs[i], a)) {
            memmove(&st->addrs[i], &st->addrs[i + 1],
                    (st->naddrs - i - 1) * sizeof *st->addrs);
            st->naddrs--;
            return 0;
        }
    return SF_EADDRNOTAVAIL;
}

size_t sf_stack_addrs(const struct sf_stack *st, struct sf_addr *out,
                      size_t max)
{
    for (size_t i = 0; out && i < st->naddrs && i < max; i++)
        out[i] = st->addrs[i];
    return st->naddrs;
}

/* Every SF_OFFLOAD_* bit (cfg.offload, sf_stack_set_offload). */
#define OFFLOAD_KNOWN (SF_OFFLOAD_TX_CSUM | SF_OFFLOAD_TSO)

const char *sf_stack_cfg_check(const struct sf_stack_cfg *cfg)
{
    if (!cfg)
        return "no configuration";
    /* RFC 9293 3.7.1: a segment is at most an IPv4 datagram, 65535 bytes,
     * less 20 bytes of IPv4 and 20 of TCP header: an MSS above 65495 would
     * announce full-sized segments that can never be sent. */
    if (cfg->mss < 64 || cfg->mss > 65495)
        return "mss must be 64..65495 (an IPv4 datagram holds at most "
               "65535 bytes, 40 of them headers)";
    if (!cfg->output)
        return "output: no output callback";
    if (cfg->addr == 0 && !stack_has_addr6(cfg))
        return "addr and addr6: neither is set (0.0.0.0 and :: are not "
               "addresses of this host)";
    if (cfg->addr6[0] == 0xff)
        return "addr6: a multicast address (ff00::/8) cannot be a host's";
    if (cfg->max_sockets == 0)
        return "max_sockets must be at least 1";
    if (cfg->sndbuf == 0 || cfg->rcvbuf == 0)
        return "sndbuf and rcvbuf must be at least 1 byte";
    if (cfg->sndbuf > SF_BUF_MAX || cfg->rcvbuf > SF_BUF_MAX ||
        cfg->sndbuf_max > SF_BUF_MAX || cfg->rcvbuf_max > SF_BUF_MAX)
        return "sndbuf, rcvbuf, sndbuf_max and rcvbuf_max must be at most "
               "256 MB (SF_BUF_MAX)";
    if (cfg->rto_min == 0 || cfg->rto_initial == 0)
        return "rto_min and rto_initial must be above 0";
    if (cfg->rto_max / SF_USEC > UINT32_MAX / 4 || cfg->rto_max < cfg->rto_min)
        return "rto_max must be at least rto_min and below about 17 minutes";
    /* retry counts and keepcnt live in 8 bits of the TCB */
    if (cfg->syn_retries > 250 || cfg->synack_retries > 250 ||
        cfg->r1 > 250 || cfg->r2 > 250)
        return "syn_retries, synack_retries, r1 and r2 must be 0..250";
    if (cfg->orphan_retries > 250)
        return "orphan_retries must be 0..250";
    if (cfg->keepcnt > 255 || cfg->keepidle / SF_MSEC > UINT32_MAX / 2 ||
        cfg->keepintvl / SF_MSEC > UINT32_MAX / 2)
        return "keepcnt must be 0..255, keepidle and keepintvl below 24 days";
    if (cfg->timer_slots == 0 || cfg->timer_granularity == 0)
        return "timer_slots and timer_granularity must be above 0";
    if (cfg->ecn > 2)
        return "ecn must be 0 (off), 1 (ask and accept) or 2 (accept only)";
    if (cfg->cc != SF_CC_CUBIC && cfg->cc != SF_CC_RENO)
        return "cc must be SF_CC_CUBIC or SF_CC_RENO";
    if (cfg->syn_defer_timeout < SF_MSEC || cfg->syn_defer_timeout > 3600 * SF_SEC)
        return "syn_defer_timeout must be 1 ms .. 1 hour";
    /* one connection's buffers of the default size, both of them, must
     * fit, or a connection could wait for memory that can never be free:
     * with only the larger, two stacks each holding unacknowledged data
     * in a send storage had no room left for a receive storage, and each
     * waited for the other's ACK (found by fuzz_twostack) */
    if (cfg->mem_max != 0 &&
        cfg->mem_max < (uint64_t)cfg->rcvbuf + cfg->sndbuf + SF_MEM_MIN)
        return "mem_max must be 0 (no limit) or at least rcvbuf plus "
               "sndbuf plus 16384 bytes";
    if (cfg->mem_pressure < 1 || cfg->mem_pressure > 100)
        return "mem_pressure must be 1..100 (percent of mem_max)";
    if (cfg->offload & ~OFFLOAD_KNOWN)
        return "offload: a bit that is no SF_OFFLOAD_* (SF_OFFLOAD_TX_CSUM "
               "and SF_OFFLOAD_TSO are the only ones)";
    /* RFC 1122 4.2.3.2: "the delay MUST be less than 0.5 seconds" */
    if (cfg->fin_ack_delay >= 500 * SF_MSEC)
        return "fin_ack_delay must be below 500 ms (RFC 1122 4.2.3.2)";
    return NULL;
}

/* cfg.mem_max: the account every buffer is charged to (base/mem.h). */
static void mem_init(struct sf_stack *st)
{
    struct mem_acct *a = &st->tcp.mem;
    a->limit = st->cfg.mem_max;
    a->pressure_at = a->limit / 100 * st->cfg.mem_pressure +
                     a->limit % 100 * st->cfg.mem_pressure / 100;
    a->ctr_pressure = &st->tcp.ctr.c[SF_CTR_MEM_PRESSURE];
    a->ctr_full = &st->tcp.ctr.c[SF_CTR_MEM_FULL];
    a->ctr_refused = &st->tcp.ctr.c[SF_CTR_MEM_REFUSED];
    st->tcp.rcache.acct = a;
}

void sf_stack_mem(const struct sf_stack *st, struct sf_mem_info *out)
{
    const struct mem_acct *a = &st->tcp.mem;
    *out = (struct sf_mem_info){.used = a->used, .peak = a->peak,
                                .limit = a->limit,
                                .pressure_at = a->pressure_at,
                                .pressure = a->pressure, .full = a->full};
    const struct ring_cache *rc = &st->tcp.rcache;
    for (unsigned i = 0; i < rc->n; i++)
        out->idle += ring_mem_cost(rc->m[i]->cap);
}

/* cfg.mem_max: after an allocation was refused at the cap (in a segment's
 * processing, a timer or sf_send), at the end of that input or timer call
 * or before the next one, out-of-order data is pruned first
 * (tcp_reass_prune: a storage held for it alone), connection by
 * connection until use is back to the pressure level with room for the
 * allocation refused. At most one walk per millisecond of stack time, so
 * that a stack at the cap does not walk every connection for every
 * segment. */
static int prune_one(void *arg, struct sf_conn *c)
{
    struct sf_stack *st = arg;
    const struct mem_acct *a = &st->tcp.mem;
    tcp_reass_prune(&st->tcp, c);
    return a->used <= a->pressure_at && mem_fits(a, a->want);
}

static void mem_prune(struct sf_stack *st)
{
    struct tcp_ctx *ctx = &st->tcp;
    if (ctx->mem.refusals == st->prune_seen ||
        ctx->now / SF_MSEC + 1 == st->prune_ms)
        return;
    st->prune_seen = ctx->mem.refusals;
    st->prune_ms = ctx->now / SF_MSEC + 1;
    walk(st, prune_one, st);
}

/* cfg.mem_max: a send refused at the cap (SND_MEM_WAIT) is told when
 * memory is free again. A connection with nothing in flight gets no ACK
 * that would wake it, so without this its application would wait for
 * good (tun2socks did: issue 12, tests/system/test_memlimit.c
 * test_send_woken). Once the cap no longer holds (use back under the
 * pressure level, the refused size fits), every waiter is woken once;
 * a waiter that meets the cap again waits again. Called at the end of
 * every stack call that may free memory. */
void stack_mem_wake(struct sf_stack *st)
{
    struct tcp_ctx *ctx = &st->tcp;
    const struct mem_acct *a = &ctx->mem;
    if (!ctx->mem_waiting || a->full || !mem_fits(a, a->want))
        return;
    ctx->mem_waiting = false;
    for (int sd = 0; sd < st->nsds; sd++) {
        struct sf_conn *c = st->sds[sd];
        if (c && c->snd_mem_wait) {
            c->snd_mem_wait = false;
            ctx->ctr.c[SF_CTR_SND_MEM_WOKEN]++;
            tcp_wakeup(ctx, c);
        }
    }
}

int sf_stack_create(const struct sf_stack_cfg *cfg, sf_time_t now,
                    struct sf_stack **out)
{
    *out = NULL;
    if (sf_stack_cfg_check(cfg))
        return SF_EINVAL;
    struct sf_stack *st = calloc(1, sizeof *st);
    if (!st)
        return SF_ENOMEM;
    st->cfg = *cfg;
    st->tcp.cfg = &st->cfg;
    mem_init(st);
    st->tcp.now = now;
    st->tcp.ocap = DGRAM_MAX;
    st->tcp.obuf = malloc(st->tcp.ocap);
    st->tcp.pbuf = malloc(DGRAM_MAX);
    derive_key(cfg->seed, "synfin-isn", st->tcp.isn_key);
    derive_key(cfg->seed, "synfin-cookie", st->tcp.cookie_key);
    derive_key(cfg->seed, "synfin-demux", st->hash_key);
    derive_key(cfg->seed, "synfin-ports", st->port_key);
    derive_key(cfg->seed, "synfin-chack", st->tcp.chack_key);
    st->nsds = (int)cfg->max_sockets;
    st->sds = calloc((size_t)st->nsds, sizeof *st->sds);
    st->sd_free = malloc((size_t)st->nsds * sizeof *st->sd_free);
    if (!st->tcp.obuf || !st->tcp.pbuf || !st->sds || !st->sd_free ||
        ttab_init(&st->demux, 256, offsetof(struct sf_conn, hnext),
                     offsetof(struct sf_conn, local), st->hash_key) < 0 ||
        ttab_init(&st->reqs, 64, offsetof(struct tcp_req, hnext),
                     offsetof(struct tcp_req, local), st->hash_key) < 0 ||
        ttab_init(&st->tws, 256, offsetof(struct tcp_tw, hnext),
                     offsetof(struct tcp_tw, local), st->hash_key) < 0 ||
        hash_init(&st->listeners, 64) < 0 ||
        wheel_init(&st->tcp.wheel, cfg->timer_slots,
                      cfg->timer_granularity, now) < 0) {
        sf_stack_free(st);
        return SF_ENOMEM;
    }
    /* Lowest descriptors first, as a process's file descriptors. */
    for (int i = 0; i < st->nsds; i++)
        st->sd_free[i] = st->nsds - 1 - i;
    st->nsd_free = st->nsds;
    wheel_timer_init(&st->tw_timer, TK_TW);
    struct sf_addr a4 = sf_addr4(cfg->addr, 0), a6 = sf_addr6(cfg->addr6, 0);
    if ((cfg->addr && sf_stack_addr_add(st, &a4) == SF_ENOMEM) ||
        (stack_has_addr6(cfg) && sf_stack_addr_add(st, &a6) == SF_ENOMEM)) {
        sf_stack_free(st);
        return SF_ENOMEM;
    }
    *out = st;
    return 0;
}

void sf_stack_free(struct sf_stack *st)
{
    if (!st)
        return;
    tcp_out_flush(&st->tcp); /* cfg.output_flush: before the rings go */
    stack_records_free(st);
    /* the queues die with their listeners: unlink first, then free */
    for (size_t i = 0; i < st->demux.size; i++)
        for (struct sf_conn *c = st->demux.slots[i]; c; c = c->hnext) {
            c->in_acceptq = false;
        }
    for (int sd = 0; st->sds && sd < st->nsds; sd++) /* (create failed) */
        if (st->sds[sd]) {
            struct sf_conn *c = st->sds[sd];
            st->sds[sd] = NULL;
            c->sd = -1;
            stack_conn_free(st, c);
        }
    for (size_t i = 0; i < st->demux.size; i++)
        while (st->demux.slots[i])
            stack_conn_free(st, st->demux.slots[i]);
    if (st->tcp.wheel.slots)
        wheel_free(&st->tcp.wheel);
    ttab_free(&st->demux);
    ttab_free(&st->reqs);
    ttab_free(&st->tws);
    free(st->listeners.slots);
    stack_ports_free(st);
    free(st->sds);
    free(st->sd_free);
    free(st->addrs);
    free(st->tcp.obuf);
    free(st->tcp.pbuf);
    ring_cache_free(&st->tcp.rcache);
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

/* A popped wheel entry: whose is it? */
static void stack_timer_fire(struct sf_stack *st, struct wheel_timer *t)
{
    switch (t->kind) {
    case TK_CONN: {
        struct sf_conn *c = (struct sf_conn *)((char *)t -
                                               offsetof(struct sf_conn, timer));
        tcp_conn_timer_fire(&st->tcp, c);
        stack_reap(st, c);
        break;
    }
    case TK_REQ:
        stack_req_timer(st, (struct tcp_req *)((char *)t -
                                               offsetof(struct tcp_req, timer)));
        break;
    case TK_TW:
        stack_tw_timer(st);
        break;
    default:
        break;
    }
}

sf_time_t sf_stack_advance(struct sf_stack *st, sf_time_t now)
{
    stack_set_now(st, now);
    struct wheel_timer *t;
    while ((t = wheel_pop_expired(&st->tcp.wheel, st->tcp.now)) != NULL)
        stack_timer_fire(st, t);
    mem_prune(st);
    stack_mem_wake(st);
    return wheel_next(&st->tcp.wheel);
}

static void drop(struct sf_stack *st, enum sf_drop why,
                 const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    tcp_drop(&st->tcp, NULL, why, ip, seg);
}

/* The IP and TCP headers of a datagram, checked, into ip and seg; false:
 * dropped. One TCP for both: the version nibble picks the network layer
 * (RFC 8200 3: version 6; RFC 791 3.1: version 4); a version that is
 * neither is counted under IPv4's IP_VERSION as before. */
static bool parse(struct sf_stack *st, const uint8_t *dgram, size_t len,
                  unsigned flags, struct tcp_ip *ip, struct sf_tcp *seg)
{
    /* SF_IN_CSUM_VALID: the device vouched for the TCP checksum (see
     * sf_stack_input_flags); SF_CSUM_VALID skips only that check. */
    unsigned pf = flags & SF_IN_CSUM_VALID ? SF_CSUM_VALID : 0;
    enum sf_drop why;
    if (len > 0 && dgram[0] >> 4 == 6) {
        struct sf_ipv6 ip6;
        why = sf_ipv6_parse(dgram, len, &ip6);
        /* (sf_ipv6_parse drops a :: destination; the stack owns no ::)
         * Not ours: looked up only for TCP once a transparent listener
         * was opened (find_owner's caller drops what nobody takes). */
        if (why == SF_DROP_NONE) {
            struct sf_addr dst = sf_addr6(ip6.dst, 0);
            if (!stack_addr_owned(st, &dst) &&
                !(st->foreign_ok && ip6.proto == SF_IPPROTO_TCP_NUM))
                why = SF_DROP_IP6_ADDR;
        }
        if (why == SF_DROP_NONE && ip6.proto == SF_IPPROTO_ICMPV6_NUM &&
            stack_icmp6_input(st, &ip6))
            return false; /* an ICMPv6 error, taken (icmp.c) */
        if (why == SF_DROP_NONE)
            why = sf_tcp6_parse_ex(&ip6, seg, pf);
        if (why == SF_DROP_NONE) {
            ip->src = sf_addr6(ip6.src, seg->sport);
            ip->dst = sf_addr6(ip6.dst, seg->dport);
            ip->tos = ip6.tclass;
        }
    } else {
        struct sf_ipv4 ip4;
        why = sf_ipv4_parse(dgram, len, &ip4);
        if (why == SF_DROP_NONE) {
            struct sf_addr dst = sf_addr4(ip4.dst, 0);
            if (!stack_addr_owned(st, &dst) &&
                !(st->foreign_ok && ip4.proto == SF_IPPROTO_TCP_NUM))
                why = SF_DROP_IP_ADDR;
        }
        if (why == SF_DROP_NONE && ip4.proto == SF_IPPROTO_ICMP_NUM &&
            stack_icmp4_input(st, &ip4))
            return false; /* an ICMP error, taken (icmp.c) */
        if (why == SF_DROP_NONE)
            why = sf_tcp_parse_ex(&ip4, seg, pf);
        if (why == SF_DROP_NONE) {
            ip->src = sf_addr4(ip4.src, seg->sport);
            ip->dst = sf_addr4(ip4.dst, seg->dport);
            ip->tos = ip4.tos;
        }
    }
    if (why != SF_DROP_NONE) {
        drop(st, why, NULL, NULL);
        return false;
    }
    return true;
}

/* Who a segment is for: a connection, a SYN-queue request, a TIME_WAIT
 * record, a listener, or nobody (all NULL). */
struct owner {
    struct sf_conn *c, *l;
    struct tcp_req *r;
    struct tcp_tw *tw;
};

static struct owner find_owner(struct sf_stack *st, const struct tcp_ip *ip,
                               const struct sf_tcp *seg)
{
    const struct sf_addr *local = &ip->dst, *remote = &ip->src;
    /* one hash for the three tables (they share the key) */
    uint64_t h = ttab_hash(st->hash_key, local, remote);
    struct owner d = {0};
    d.c = ttab_lookup_hashed(&st->demux, h, local, remote);
    /* requests hang under a listener with a SYN queue, TIME_WAIT records
     * under a port that has some: each table is asked only if it may hold
     * the tuple (a lookup in a big table is a cache miss) */
    d.l = d.c ? NULL : stack_listener_for(st, local);
    /* (a request of the any-destination listener keeps its 4-tuple even
     * if a listener opened on its port since) */
    bool reqs = d.l && tcp_listen_has_requests(d.l);
    reqs = reqs || (!d.c && tcp_listen_has_requests(st->any_listener));
    d.r = reqs ? ttab_lookup_hashed(&st->reqs, h, local, remote) : NULL;
    d.tw = d.c || d.r || !stack_port_has_tw(st, seg->dport)
               ? NULL : ttab_lookup_hashed(&st->tws, h, local, remote);
    return d;
}

int sf_stack_set_offload(struct sf_stack *st, unsigned offload)
{
    if (offload & ~OFFLOAD_KNOWN)
        return SF_EINVAL;
    st->cfg.offload = offload;
    return 0;
}

void sf_stack_input(struct sf_stack *st, sf_time_t now, const uint8_t *dgram,
                    size_t len)
{
    sf_stack_input_flags(st, now, dgram, len, 0);
}

static void input_one(struct sf_stack *st, sf_time_t now,
                      const uint8_t *dgram, size_t len, unsigned flags);

void sf_stack_input_flags(struct sf_stack *st, sf_time_t now,
                          const uint8_t *dgram, size_t len, unsigned flags)
{
    st->tcp.in_batch = flags & SF_IN_BATCH; /* (input.c: delay_ack) */
    input_one(st, now, dgram, len, flags);
    st->tcp.in_batch = false;
}

static void input_one(struct sf_stack *st, sf_time_t now,
                      const uint8_t *dgram, size_t len, unsigned flags)
{
    stack_set_now(st, now);
    mem_prune(st); /* a refusal since (sf_send): before this segment */
    struct tcp_ctx *ctx = &st->tcp;
    ctx->ctr.c[SF_CTR_IP_IN]++;
    struct tcp_ip ip;
    struct sf_tcp seg;
    if (!parse(st, dgram, len, flags, &ip, &seg))
        return;
    ctx->ctr.c[SF_CTR_SEG_IN]++;
    if (flags & SF_IN_CSUM_VALID)
        ctx->ctr.c[SF_CTR_CSUM_IN_SKIPPED]++;
    struct owner d = find_owner(st, &ip, &seg);
    /* The "land" attack: a segment from our own address and port to that
     * same address and port. Unless it is our own self-connect (then a
     * connection owns the 4-tuple), a SYN,ACK answering it would come back
     * to the same 4-tuple forever. (Other segments from our own address
     * are connections to ourselves between two ports, and fine.) */
    if (!d.c && !d.r && !d.tw && sf_addr_eq(&ip.src, &ip.dst)) {
        drop(st, SF_DROP_IP_BAD_SRC, &ip, &seg);
        return;
    }
    /* To an address not the stack's that no socket takes: not ours, as
     * parse() says without a transparent listener. */
    if (!d.c && !d.r && !d.tw && !d.l && st->foreign_ok &&
        !stack_addr_owned(st, &ip.dst)) {
        drop(st, ip.dst.family == SF_AF_INET6 ? SF_DROP_IP6_ADDR
                                               : SF_DROP_IP_ADDR, NULL, NULL);
        return;
    }
    int sd = d.c ? d.c->sd : d.l ? d.l->sd : -1;
    tcp_trace_seg(ctx, SF_TRACE_SEG_IN, sd, &ip, &seg, dgram, len);
    if (d.c) {
        tcp_segment_arrives(ctx, d.c, &ip, &seg);
        stack_reap(st, d.c);
    } else if (d.r) {
        stack_req_input(st, d.r, &ip, &seg);
    } else if (d.tw) {
        stack_tw_input(st, d.tw, &ip, &seg);
    } else if (d.l) {
        stack_listen_input(st, d.l, &ip, &seg);
    } else {
        tcp_closed_segment(ctx, &ip, &seg);
    }
    mem_prune(st);
    stack_mem_wake(st);
}

struct foreach_ctx {
    struct sf_stack *st;
    int (*fn)(void *ctx, const struct sf_tcp_info *info);
    void *ctx;
};

static int info_one(void *ctx, struct sf_conn *c)
{
    struct foreach_ctx *fc = ctx;
    struct sf_tcp_info info;
    tcp_info(&fc->st->tcp, c, &info);
    return fc->fn(fc->ctx, &info);
}

int sf_stack_foreach(struct sf_stack *st,
                     int (*fn)(void *ctx, const struct sf_tcp_info *info),
                     void *ctx)
{
    struct foreach_ctx fc = {st, fn, ctx};
    int r = walk(st, info_one, &fc);
    return r ? r : stack_records_foreach(st, fn, ctx);
}

struct abort_ctx {
    struct sf_stack *st;
    int n;
};

static int abort_one(void *ctx, struct sf_conn *c)
{
    struct abort_ctx *ac = ctx;
    if (c->state == SF_LISTEN || c->state == SF_CLOSED)
        return 0;
    /* RFC 9293 3.10.5: ABORT. SYN-RECEIVED to CLOSE-WAIT: "Send a reset
     * segment: <SEQ=SND.NXT><CTL=RST>"; SYN-SENT, CLOSING, LAST-ACK,
     * TIME-WAIT: "Respond with 'ok' and delete the TCB". */
    tcp_abort(&ac->st->tcp, c);
    ac->n++;
    stack_reap(ac->st, c); /* (walk took the next one first) */
    return 0;
}

int sf_stack_abort_all(struct sf_stack *st)
{
    struct abort_ctx ac = {st, 0};
    walk(st, abort_one, &ac);
    ac.n += stack_reqs_abort(st); /* the SYN queue's requests */
    stack_mem_wake(st);
    return ac.n;
}
