/* Local ports: who uses each, in O(1), without a list per port. A port's
 * users are counted (connections, bound sockets, TIME_WAIT records), with
 * how many of them refuse sharing (bound without SO_REUSEADDR), how many
 * listen and how many were bound explicitly; the 4-tuple uniqueness of a
 * new connection is asked of the demux tables themselves. Storage is two
 * levels of 256, the second allocated on first use. */
#include <stdlib.h>

#include "base/siphash.h"
#include "stack/stack_int.h"

static struct sf_port_use *use_of(struct sf_stack *st, uint16_t port,
                                  bool create)
{
    struct sf_port_use **chunk = &st->ports[port >> 8];
    if (!*chunk) {
        if (!create)
            return NULL;
        *chunk = calloc(256, sizeof **chunk);
        if (!*chunk)
            return NULL;
    }
    return &(*chunk)[port & 0xff];
}

void stack_ports_free(struct sf_stack *st)
{
    for (int i = 0; i < 256; i++) {
        free(st->ports[i]);
        st->ports[i] = NULL;
    }
}

static int take(struct sf_stack *st, struct sf_conn *c, uint16_t port,
                bool explicit_bind)
{
    struct sf_port_use *u = use_of(st, port, true);
    if (!u)
        return SF_ENOMEM;
    u->users++;
    u->strict += !c->reuseaddr;
    u->explicit_binds += explicit_bind;
    c->local.port = port;
    c->bound = true;
    c->bound_strict = !c->reuseaddr;
    c->explicit_bind = explicit_bind;
    return 0;
}

int stack_port_link(struct sf_stack *st, struct sf_conn *c, uint16_t port)
{
    return take(st, c, port, false);
}

void stack_port_release(struct sf_stack *st, struct sf_conn *c)
{
    if (!c->bound)
        return;
    struct sf_port_use *u = use_of(st, c->local.port, false);
    if (u) {
        u->users--;
        u->strict -= c->bound_strict;
        u->explicit_binds -= c->explicit_bind;
        u->listeners -= c->in_ltab;
    }
    c->bound = false;
}

void stack_port_listening(struct sf_stack *st, struct sf_conn *c, int delta)
{
    struct sf_port_use *u = use_of(st, c->local.port, false);
    if (u)
        u->listeners = (uint16_t)(u->listeners + delta);
}

/* A TIME_WAIT record keeps its port in use, as a sharable user: a server
 * that restarts with SO_REUSEADDR binds at once, one without waits. */
void stack_port_tw(struct sf_stack *st, uint16_t port, int delta)
{
    struct sf_port_use *u = use_of(st, port, delta > 0);
    if (u) {
        u->users = (uint32_t)((int64_t)u->users + delta);
        u->tws = (uint32_t)((int64_t)u->tws + delta);
    }
}

bool stack_port_has_tw(struct sf_stack *st, uint16_t port)
{
    const struct sf_port_use *u = use_of(st, port, false);
    return u && u->tws > 0;
}

/* Do two local addresses on one port meet, as on Linux? Of one family:
 * if equal or either is the unspecified address; across families: if the
 * IPv6 one is :: without IPV6_V6ONLY (RFC 3493 5.3: it takes IPv4 too).
 * So an IPv4 bind and an IPV6_V6ONLY one to the same port coexist, as do
 * two binds to different addresses of the stack. */
static bool addrs_meet(const struct sf_addr *a, bool a_v6only,
                       const struct sf_addr *b, bool b_v6only)
{
    if (a->family == b->family)
        return sf_addr_is_unspec(a) || sf_addr_is_unspec(b) ||
               sf_addr_ip_eq(a, b);
    bool a6 = a->family == SF_AF_INET6;
    return sf_addr_is_unspec(a6 ? a : b) && !(a6 ? a_v6only : b_v6only);
}

/* Would x, a user of c's port, refuse c's bind? If their addresses meet
 * and SO_REUSEADDR does not let them share (below). */
static bool refuses(const struct sf_conn *c, const struct sf_conn *x)
{
    return x != c && x->bound && x->local.port == c->local.port &&
           addrs_meet(&c->local, c->v6only, &x->local, x->v6only) &&
           (!c->reuseaddr || x->bound_strict || x->in_ltab);
}

/* The slow half of stack_port_bind: some user of the port may refuse;
 * ask each (descriptors, connections without one, TIME_WAIT records). */
static bool bind_refused(struct sf_stack *st, const struct sf_conn *c)
{
    for (int sd = 0; sd < st->nsds; sd++)
        if (st->sds[sd] && refuses(c, st->sds[sd]))
            return true;
    for (size_t i = 0; i < st->demux.size; i++)
        for (struct sf_conn *x = st->demux.slots[i]; x; x = x->hnext)
            if (x->sd < 0 && refuses(c, x))
                return true;
    if (!c->reuseaddr) /* a TIME_WAIT record shares with SO_REUSEADDR */
        for (const struct tcp_tw *tw = st->tw_head; tw; tw = tw->next)
            if (tw->local.port == c->local.port &&
                addrs_meet(&c->local, c->v6only, &tw->local, false))
                return true;
    return false;
}

/* SO_REUSEADDR, as BSD and Linux give it: a port in use may be bound again
 * only if the new socket sets the option, every user of the port did too
 * (TIME_WAIT leftovers count as sharing), and none of them listens; users
 * whose addresses do not meet c's (addrs_meet) do not count. The counts
 * answer at once when the port is free or sharable by all; else each user
 * is asked. c->local holds the address to bind. */
int stack_port_bind(struct sf_stack *st, struct sf_conn *c, uint16_t port)
{
    const struct sf_port_use *u = use_of(st, port, false);
    c->local.port = port;
    if (u && u->users > 0 &&
        !(c->reuseaddr && u->strict == 0 && u->listeners == 0) &&
        bind_refused(st, c)) {
        c->local.port = 0; /* not bound */
        return SF_EADDRINUSE;
    }
    return take(st, c, port, true);
}

/* A listener may not share its port with another listener whose address
 * meets its own (addrs_meet: 198.18.0.1:80 and 198.18.0.2:80 may both
 * listen, as may 0.0.0.0:80 and an IPV6_V6ONLY [::]:80). */
int stack_port_listen_ok(struct sf_stack *st, struct sf_conn *c)
{
    const struct sf_port_use *u = use_of(st, c->local.port, false);
    if (!u || u->listeners == 0)
        return 0;
    for (int sd = 0; sd < st->nsds; sd++) {
        const struct sf_conn *x = st->sds[sd];
        if (x && x != c && x->in_ltab && x->local.port == c->local.port &&
            addrs_meet(&c->local, c->v6only, &x->local, x->v6only))
            return SF_EADDRINUSE;
    }
    return 0;
}

/* May a connection to remote use this local port? Not if a listener or an
 * explicitly bound socket holds it, nor if the 4-tuple exists already (a
 * connection or a TIME_WAIT record; requests live only under listeners);
 * for a bind to port 0, only an unused port. */
static bool port_usable(struct sf_stack *st, const struct sf_conn *c,
                        uint16_t port, const struct sf_addr *remote)
{
    const struct sf_port_use *u = use_of(st, port, false);
    if (!u || u->users == 0)
        return true;
    if (!remote || u->listeners || u->explicit_binds)
        return false;
    struct sf_addr local = c->local;
    local.port = port;
    uint64_t h = ttab_hash(st->hash_key, &local, remote);
    return !ttab_lookup_hashed(&st->demux, h, &local, remote) &&
           !(u->tws && ttab_lookup_hashed(&st->tws, h, &local, remote));
}

/* RFC 9293 3.6.1 (MUST-13): a 4-tuple is taken while a connection has it,
 * TIME_WAIT included, whether as a full TCB or as a small record. synfin
 * has no timestamps, so it cannot reuse a TIME_WAIT 4-tuple early as
 * Linux's tcp_tw_reuse does (docs/lifecycle.md). */
bool stack_tuple_taken(struct sf_stack *st, const struct sf_addr *local,
                       const struct sf_addr *remote)
{
    uint64_t h = ttab_hash(st->hash_key, local, remote);
    return ttab_lookup_hashed(&st->demux, h, local, remote) ||
           (stack_port_has_tw(st, local->port) &&
            ttab_lookup_hashed(&st->tws, h, local, remote));
}

/* RFC 6056 3.3.3 (Algorithm 3, "Simple Hash-Based Port Selection"):
 * offset = F(local IP, remote IP, remote port, secret), so that ports are
 * unpredictable to an off-path attacker yet spread per destination. The
 * local address is c's (set by the caller), of either family; one port
 * space serves both families. */
int stack_port_ephemeral(struct sf_stack *st, struct sf_conn *c,
                         const struct sf_addr *remote)
{
    const uint32_t lo = 32768, num = 61000 - 32768; /* Linux's range */
    uint8_t b[34] = {0};
    size_t n = siphash_put_addr(b, &c->local);
    if (remote)
        n += siphash_put_addr(b + n, remote);
    else
        n += 4; /* no remote: an IPv4 0.0.0.0, as before */
    uint16_t rport = remote ? remote->port : 0;
    b[n++] = (uint8_t)rport;
    b[n++] = (uint8_t)(rport >> 8);
    uint32_t offset = (uint32_t)siphash24(st->port_key, b, n);
    for (uint32_t count = 0; count < num; count++) {
        uint16_t port = (uint16_t)(lo + (offset + st->port_next + count) % num);
        if (port_usable(st, c, port, remote)) {
            st->port_next += count + 1;
            return take(st, c, port, false);
        }
    }
    return SF_EADDRNOTAVAIL;
}
