/* The tables of the stack's small records: SYN-queue requests (and the
 * cookies that replace them under a flood) and TIME_WAIT records, their
 * memory, and the TIME_WAIT expiry FIFO. The protocol is in tcp/
 * (listen.c, syncookie.c, timewait.c): a record is expanded into a full
 * TCB on the C stack for tcp/ to process, then settled here as tcp/ says:
 * folded back, promoted to a real connection, or deleted. */
#include <stdlib.h>

#include "stack/stack_int.h"

/* --------------------------------------------------------- requests */

/* Deferred requests by id (sf_syn_decide): a chained table that doubles
 * when full. Ids are a counter, so id & mask spreads them evenly. */
static struct tcp_req **defer_slot(struct sf_stack *st, uint64_t id)
{
    return &st->defer_slots[id & (st->defer_size - 1)];
}

static void defer_remove(struct sf_stack *st, struct tcp_req *r)
{
    if (!st->defer_slots)
        return;
    for (struct tcp_req **pp = defer_slot(st, r->defer_id); *pp;
         pp = &(*pp)->dnext)
        if (*pp == r) {
            *pp = r->dnext;
            r->dnext = NULL;
            st->defer_count--;
            return;
        }
}

static bool defer_insert(struct sf_stack *st, struct tcp_req *r)
{
    if (st->defer_count >= st->defer_size) {
        size_t nsize = st->defer_size ? st->defer_size * 2 : 64;
        struct tcp_req **ns = calloc(nsize, sizeof *ns);
        if (!ns && !st->defer_slots)
            return false;
        if (ns) {
            for (size_t i = 0; i < st->defer_size; i++)
                for (struct tcp_req *x = st->defer_slots[i], *next; x;
                     x = next) {
                    next = x->dnext;
                    x->dnext = ns[x->defer_id & (nsize - 1)];
                    ns[x->defer_id & (nsize - 1)] = x;
                }
            free(st->defer_slots);
            st->defer_slots = ns;
            st->defer_size = nsize;
        } /* else: keep the old table, longer chains */
    }
    struct tcp_req **slot = defer_slot(st, r->defer_id);
    r->dnext = *slot;
    *slot = r;
    st->defer_count++;
    return true;
}

static struct tcp_req *defer_find(struct sf_stack *st, uint64_t id)
{
    if (!st->defer_slots)
        return NULL;
    for (struct tcp_req *r = *defer_slot(st, id); r; r = r->dnext)
        if (r->defer_id == id)
            return r;
    return NULL;
}

static void req_delete(struct sf_stack *st, struct tcp_req *r)
{
    if (r->deferred)
        defer_remove(st, r);
    tcp_req_unlink(r);
    wheel_stop(&st->tcp.wheel, &r->timer);
    ttab_remove(&st->reqs, r);
    mem_free(&st->tcp.mem, r, sizeof *r);
}

/* cfg.mem_max: the memory of the TCB that an ACK completing a handshake
 * needs, taken before the ACK runs (*c NULL for a segment that cannot
 * complete one). Without it the ACK is dropped unanswered, counted, and
 * the request stays: the peer's next segment (data, or the ACK of the
 * SYN,ACK sent again) completes it once memory frees, as Linux's
 * tcp_check_req drops such an ACK and keeps the request (without
 * tcp_abort_on_overflow). Taken after the ACK ran, the TCB could find the
 * memory gone to the ACK's own text, and the connection the peer
 * already had was reset. */
static bool tcb_reserve(struct sf_stack *st, const struct tcp_ip *ip,
                        const struct sf_tcp *seg, struct sf_conn **c)
{
    *c = NULL;
    if ((seg->flags & (SF_ACK | SF_RST | SF_SYN)) != SF_ACK)
        return true;
    *c = mem_alloc(&st->tcp.mem, sizeof **c);
    if (*c)
        return true;
    st->tcp.ctr.c[SF_CTR_ACK_MEM_DROPPED]++;
    tcp_drop(&st->tcp, NULL, SF_DROP_NO_MEMORY, ip, seg);
    return false;
}

/* The handshake completed: the TCB gets its own memory (c, from
 * tcb_reserve, or NULL: allocated here) and waits in the listener's
 * accept queue. */
static void promote(struct sf_stack *st, struct sf_conn *l,
                    struct sf_conn *tmp, struct sf_conn *c)
{
    struct tcp_ctx *ctx = &st->tcp;
    if (!c)
        c = mem_alloc(&ctx->mem, sizeof *c); /* cfg.mem_max */
    if (!c) {
        tcp_abort(ctx, tmp); /* no memory: tell the peer at once */
        tcp_conn_destroy(ctx, tmp);
        return;
    }
    tcp_conn_move(ctx, c, tmp);
    c->sd = -1;
    stack_port_link(st, c, c->local.port); /* a count: cannot fail here */
    stack_hash_conn(st, c);
    if (!c->dead)
        tcp_accept_push(ctx, l, c);
    stack_reap(st, c);
}

/* tcb: memory for the TCB (tcb_reserve), used or freed here; or NULL. */
static void req_settle(struct sf_stack *st, struct tcp_req *r,
                       struct sf_conn *tmp, struct sf_conn *tcb)
{
    struct sf_conn *l = r->listener;
    switch (tcp_req_settle(&st->tcp, r, tmp)) {
    case TCP_REQ_GONE:
        req_delete(st, r);
        break;
    case TCP_REQ_ESTABLISHED:
        req_delete(st, r);
        promote(st, l, tmp, tcb);
        return;
    default: /* folded back */
        break;
    }
    if (tcb)
        mem_free(&st->tcp.mem, tcb, sizeof *tcb);
}

/* A deferred request ends without a connection (refused, dropped,
 * expired, or reset by the peer). */
static void defer_end(struct sf_stack *st, struct tcp_req *r, bool refuse)
{
    tcp_req_defer_end(&st->tcp, r, refuse);
    req_delete(st, r);
}

void stack_req_input(struct sf_stack *st, struct tcp_req *r,
                     const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    if (r->deferred) {
        if (tcp_req_deferred_segment(&st->tcp, r, ip, seg))
            defer_end(st, r, false);
        return;
    }
    struct sf_conn tmp, *tcb;
    if (!tcb_reserve(st, ip, seg, &tcb))
        return;
    if (tcp_req_segment(&st->tcp, r, &tmp, ip, seg))
        req_settle(st, r, &tmp, tcb);
    else if (tcb)
        mem_free(&st->tcp.mem, tcb, sizeof *tcb);
}

void stack_req_timer(struct sf_stack *st, struct tcp_req *r)
{
    if (r->deferred) { /* cfg.syn_defer_timeout: forgotten, silently */
        st->tcp.ctr.c[SF_CTR_SYN_DEFER_EXPIRED]++;
        tcp_note(&st->tcp, NULL, "deferred SYN expired (syn_defer_timeout)");
        defer_end(st, r, false);
        return;
    }
    struct sf_conn tmp;
    tcp_req_timer_fire(&st->tcp, r, &tmp);
    req_settle(st, r, &tmp, NULL);
}

/* A SYN for a listener: a new half-open connection, kept as a request.
 * tw_snd_nxt: the SND.NXT of the TIME_WAIT record it replaces, or NULL. */
static void spawn(struct sf_stack *st, struct sf_conn *l,
                  const struct tcp_ip *ip, const struct sf_tcp *seg,
                  const uint32_t *tw_snd_nxt, uint64_t defer_id)
{
    /* cfg.mem_max: at the cap (from a refused allocation until use is
     * back to the pressure level) a new connection would only take memory
     * from those moving data: its SYN is dropped unanswered, as Linux's
     * tcp_conn_request drops a SYN whose request cannot be allocated
     * (LISTENDROPS); the client sends it again (RFC 9293 3.8.1, RFC 6298
     * 5.7) and is served once memory frees. */
    struct tcp_req *r = st->tcp.mem.full
                            ? NULL : mem_alloc(&st->tcp.mem, sizeof *r);
    if (!r) {
        if (st->tcp.mem.full)
            st->tcp.ctr.c[SF_CTR_SYN_MEM_REFUSED]++;
        tcp_drop(&st->tcp, NULL, SF_DROP_NO_MEMORY, ip, seg);
        return;
    }
    tcp_listen_new_req(&st->tcp, l, r, ip, seg, tw_snd_nxt, defer_id);
    ttab_insert(&st->reqs, r);
    if (r->deferred && !defer_insert(st, r)) {
        tcp_drop(&st->tcp, NULL, SF_DROP_NO_MEMORY, ip, seg);
        r->deferred = false; /* not in the id table */
        tcp_req_defer_end(&st->tcp, r, false);
        req_delete(st, r);
    }
}

/* An ACK returning a valid SYN cookie: the connection the SYN queue had
 * no room for, rebuilt from the cookie (RFC 4987 3.6). */
static void cookie_spawn(struct sf_stack *st, struct sf_conn *l,
                         const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    if (tcp_listen_acceptq_full(&st->tcp, l, ip, seg))
        return;
    if (st->tcp.mem.full) { /* as a SYN at the memory cap (spawn) */
        st->tcp.ctr.c[SF_CTR_SYN_MEM_REFUSED]++;
        tcp_drop(&st->tcp, NULL, SF_DROP_NO_MEMORY, ip, seg);
        return;
    }
    struct sf_conn tmp, *tcb;
    if (!tcb_reserve(st, ip, seg, &tcb))
        return;
    if (tcp_cookie_open(&st->tcp, l, &tmp, ip, seg))
        promote(st, l, &tmp, tcb);
    else
        mem_free(&st->tcp.mem, tcb, sizeof *tcb);
}

static void listen_input(struct sf_stack *st, struct sf_conn *l,
                         const struct tcp_ip *ip, const struct sf_tcp *seg,
                         const uint32_t *tw_snd_nxt)
{
    uint64_t defer_id;
    switch (tcp_listen_segment(&st->tcp, l, ip, seg, &defer_id)) {
    case TCP_LISTEN_SPAWN:
        spawn(st, l, ip, seg, tw_snd_nxt, defer_id);
        break;
    case TCP_LISTEN_COOKIE:
        cookie_spawn(st, l, ip, seg);
        break;
    default:
        break;
    }
}

void stack_listen_input(struct sf_stack *st, struct sf_conn *l,
                        const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    listen_input(st, l, ip, seg, NULL);
}

int sf_syn_decide(struct sf_stack *st, uint64_t id, enum sf_syn_verdict v)
{
    if (!st || v > SF_SYN_DEFER)
        return SF_EINVAL;
    struct tcp_req *r = defer_find(st, id);
    if (!r)
        return SF_ENOENT;
    switch (v) {
    case SF_SYN_ACCEPT: {
        defer_remove(st, r);
        struct sf_conn tmp;
        tcp_req_defer_accept(&st->tcp, r, &tmp);
        req_settle(st, r, &tmp, NULL);
        return 0;
    }
    case SF_SYN_REFUSE:
    case SF_SYN_DROP:
        st->tcp.ctr.c[v == SF_SYN_REFUSE ? SF_CTR_SYN_REFUSED
                                         : SF_CTR_SYN_DROPPED]++;
        defer_end(st, r, v == SF_SYN_REFUSE);
        return 0;
    default:
        return 0; /* DEFER again: it stays held, its expiry unchanged */
    }
}

/* ----------------------------------------------------- TIME_WAIT FIFO */

static void tw_arm(struct sf_stack *st)
{
    if (st->tw_head)
        wheel_start(&st->tcp.wheel, &st->tw_timer, st->tw_head->expires);
    else
        wheel_stop(&st->tcp.wheel, &st->tw_timer);
}

static void fifo_remove(struct sf_stack *st, struct tcp_tw *tw)
{
    if (tw->prev)
        tw->prev->next = tw->next;
    else
        st->tw_head = tw->next;
    if (tw->next)
        tw->next->prev = tw->prev;
    else
        st->tw_tail = tw->prev;
    tw->next = tw->prev = NULL;
}

/* In expiry order; nearly always at the tail, so O(1). */
static void fifo_insert(struct sf_stack *st, struct tcp_tw *tw)
{
    struct tcp_tw *after = st->tw_tail;
    while (after && after->expires > tw->expires)
        after = after->prev;
    tw->prev = after;
    tw->next = after ? after->next : st->tw_head;
    if (tw->next)
        tw->next->prev = tw;
    else
        st->tw_tail = tw;
    if (after)
        after->next = tw;
    else
        st->tw_head = tw;
}

static void tw_delete(struct sf_stack *st, struct tcp_tw *tw)
{
    stack_port_tw(st, tw->local.port, -1);
    fifo_remove(st, tw);
    ttab_remove(&st->tws, tw);
    mem_free(&st->tcp.mem, tw, sizeof *tw);
}

void stack_tw_from_conn(struct sf_stack *st, struct sf_conn *c)
{
    if (st->tws.count >= st->cfg.max_tw) { /* max_tw: timewait.c */
        tcp_tw_overflow(&st->tcp, c);
        stack_reap(st, c);
        return;
    }
    struct tcp_tw *tw = mem_alloc(&st->tcp.mem, sizeof *tw);
    if (!tw)
        return; /* keep the full TCB: correct, only larger */
    tcp_tw_from_conn(&st->tcp, tw, c); /* counted in TIME_WAIT ... */
    fifo_insert(st, tw);
    stack_port_tw(st, tw->local.port, +1);
    stack_conn_free(st, c); /* ... as the TCB no longer is */
    ttab_insert(&st->tws, tw);
    tw_arm(st);
}

/* After tmp (expanded from tw) was run. */
static void tw_settle(struct sf_stack *st, struct tcp_tw *tw,
                      struct sf_conn *tmp)
{
    sf_time_t due;
    if (!tcp_tw_deflate(&st->tcp, tmp, &due)) {
        tw_delete(st, tw);
    } else if (due != tw->expires) { /* restarted by a retransmitted FIN */
        fifo_remove(st, tw);
        tw->expires = due;
        fifo_insert(st, tw);
    }
    tw_arm(st);
}

void stack_tw_input(struct sf_stack *st, struct tcp_tw *tw,
                    const struct tcp_ip *ip, const struct sf_tcp *seg)
{
    struct tcp_ctx *ctx = &st->tcp;
    struct sf_conn tmp;
    tcp_tw_inflate(ctx, tw, &tmp);
    struct sf_conn *l = stack_listener_for(st, &ip->dst);
    /* a SYN that opens a new incarnation of the 4-tuple: timewait.c */
    if (tcp_tw_reopen(ctx, tw, &tmp, l, seg)) {
        uint32_t old_snd_nxt = tw->snd_nxt;
        tw_settle(st, tw, &tmp);
        listen_input(st, l, ip, seg, &old_snd_nxt);
        return;
    }
    tcp_segment_arrives(ctx, &tmp, ip, seg);
    tw_settle(st, tw, &tmp);
}

void stack_tw_timer(struct sf_stack *st)
{
    struct tcp_ctx *ctx = &st->tcp;
    while (st->tw_head && st->tw_head->expires <= ctx->now) {
        struct tcp_tw *tw = st->tw_head;
        struct sf_conn tmp;
        tcp_tw_inflate(ctx, tw, &tmp);
        tcp_conn_timer_fire(ctx, &tmp); /* TIME_WAIT -> CLOSED */
        tw_settle(st, tw, &tmp);
    }
    tw_arm(st);
}

/* ---------------------------------------------------------- cleanup */

void stack_close_listener(struct sf_stack *st, struct sf_conn *l)
{
    struct tcp_ctx *ctx = &st->tcp;
    struct tcp_req *r;
    struct sf_conn *c;
    while ((r = tcp_listen_reset_next_req(ctx, l)) != NULL)
        req_delete(st, r);
    while ((c = tcp_listen_reset_next_child(ctx, l)) != NULL)
        stack_reap(st, c);
    tcp_close(ctx, l);
}

int stack_reqs_abort(struct sf_stack *st)
{
    int n = 0;
    for (size_t i = 0; i < st->reqs.size; i++)
        while (st->reqs.slots[i]) {
            struct tcp_req *r = st->reqs.slots[i];
            n++;
            if (r->deferred) { /* never answered: refused, as REFUSE */
                defer_end(st, r, true);
                continue;
            }
            /* RFC 9293 3.10.5 ABORT in SYN-RECEIVED: "Send a reset
             * segment: <SEQ=SND.NXT><CTL=RST>", through the TCB the
             * record expands to, settled as its timer's expiry is */
            struct sf_conn tmp;
            tcp_req_inflate(&st->tcp, r, &tmp);
            tcp_abort(&st->tcp, &tmp);
            req_settle(st, r, &tmp, NULL);
        }
    return n;
}

void stack_records_free(struct sf_stack *st)
{
    while (st->tw_head)
        tw_delete(st, st->tw_head);
    for (size_t i = 0; i < st->reqs.size; i++)
        while (st->reqs.slots[i]) {
            struct tcp_req *r = st->reqs.slots[i];
            r->listener = NULL; /* the listeners go too */
            req_delete(st, r);
        }
    free(st->defer_slots);
    st->defer_slots = NULL;
    wheel_stop(&st->tcp.wheel, &st->tw_timer);
}

/* ------------------------------------------------------------ STATUS */

int stack_record_info(struct sf_stack *st, const struct sf_addr *local,
                      const struct sf_addr *remote, struct sf_tcp_info *info)
{
    const struct tcp_req *r = ttab_lookup(&st->reqs, local, remote);
    if (r) {
        tcp_req_info(r, info);
        return 0;
    }
    const struct tcp_tw *tw = ttab_lookup(&st->tws, local, remote);
    if (tw) {
        tcp_tw_info(tw, info);
        return 0;
    }
    return SF_ENOENT;
}

int stack_records_foreach(struct sf_stack *st,
                          int (*fn)(void *ctx, const struct sf_tcp_info *info),
                          void *ctx)
{
    struct sf_tcp_info info;
    for (size_t i = 0; i < st->reqs.size; i++)
        for (const struct tcp_req *r = st->reqs.slots[i]; r; r = r->hnext) {
            tcp_req_info(r, &info);
            int v = fn(ctx, &info);
            if (v)
                return v;
        }
    for (const struct tcp_tw *tw = st->tw_head; tw; tw = tw->next) {
        tcp_tw_info(tw, &info);
        int v = fn(ctx, &info);
        if (v)
            return v;
    }
    return 0;
}
