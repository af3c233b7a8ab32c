/* The socket API of include/synfin/synfin.h over the tcp/ engine. Every
 * call checks its descriptor and arguments, acts at the stack's current
 * time, and reaps the connection if the call ended it. */
#include <string.h>

#include "stack/stack_int.h"
#include "tcp/cc.h"
#include "tcp/pacing.h"

static struct sf_conn *get(struct sf_stack *st, int sd)
{
    if (!st || sd < 0 || sd >= st->nsds)
        return NULL;
    return st->sds[sd];
}

static void sd_release(struct sf_stack *st, struct sf_conn *c)
{
    if (c->sd < 0)
        return;
    st->sds[c->sd] = NULL;
    st->sd_free[st->nsd_free++] = c->sd;
    c->sd = -1;
}

static int sd_assign(struct sf_stack *st, struct sf_conn *c)
{
    if (st->nsd_free == 0)
        return SF_EMFILE;
    c->sd = st->sd_free[--st->nsd_free];
    st->sds[c->sd] = c;
    return c->sd;
}

int sf_socket(struct sf_stack *st)
{
    if (!st)
        return SF_EINVAL;
    if (st->nsd_free == 0)
        return SF_EMFILE;
    struct sf_conn *c = stack_conn_new(st);
    if (!c)
        return SF_ENOMEM;
    return sd_assign(st, c);
}

/* An address as the application sees it: an IPv6 socket's IPv4
 * connection shows IPv4-mapped addresses (RFC 4291 2.5.5.2, RFC 3493
 * 3.7), as on Linux. */
static struct sf_addr api_addr(const struct sf_conn *c, const struct sf_addr *a)
{
    return c->v4mapped ? sf_addr_to_v4mapped(a) : *a;
}

/* The local address of a bind to a, into *out (its port a's); marks c as
 * an IPv6 socket when a is IPv6. 0 or the error. */
static int bind_addr(struct sf_stack *st, struct sf_conn *c,
                     const struct sf_addr *a, struct sf_addr *out)
{
    if (a->family == SF_AF_INET6) {
        if (sf_addr_is_v4mapped(a)) {
            /* RFC 3493 3.7: ::ffff:a.b.c.d is the IPv4 address a.b.c.d;
             * an IPV6_V6ONLY socket has no IPv4 (Linux: EINVAL) */
            if (c->v6only)
                return SF_EINVAL;
            struct sf_addr v4 = sf_addr_from_v4mapped(a);
            c->v4mapped = true;
            return bind_addr(st, c, &v4, out);
        }
        c->v4mapped = true;
        if (sf_addr_is_unspec(a)) {
            /* ::, dual-stack unless IPV6_V6ONLY: it stays unspecified
             * (a listener takes both families; connect() picks one). As
             * on Linux, whether or not the stack has an IPv6 address. */
            *out = sf_addr6(a->ip6, a->port);
            return 0;
        }
        if (!stack_addr_owned(st, a))
            return SF_EADDRNOTAVAIL;
        *out = sf_addr6(a->ip6, a->port);
        return 0;
    }
    if (a->family != SF_AF_INET)
        return SF_EINVAL;
    /* 0.0.0.0 stays unspecified, as on Linux: a listener takes every
     * owned IPv4 address, connect() picks one. Any other address must be
     * the stack's. A transparent socket may bind 0.0.0.0 on a stack
     * without IPv4: its connections take the addresses their SYNs were
     * sent to. */
    if ((!stack_addr_first(st, SF_AF_INET) && !(c->transparent && a->ip == 0)) ||
        (a->ip != 0 && !stack_addr_owned(st, a)))
        return SF_EADDRNOTAVAIL;
    *out = sf_addr4(a->ip, a->port);
    return 0;
}

int sf_bind(struct sf_stack *st, int sd, const struct sf_addr *local)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (!local)
        return SF_EINVAL;
    if (c->bound || c->state != SF_CLOSED || c->dead)
        return SF_EINVAL; /* already bound, or in use */
    struct sf_addr l;
    bool was_v6 = c->v4mapped;
    int r = bind_addr(st, c, local, &l);
    if (r < 0) {
        c->v4mapped = was_v6;
        return r;
    }
    c->local.family = l.family;
    c->local.ip = l.ip;
    memcpy(c->local.ip6, l.ip6, 16);
    /* SF_IP_TRANSPARENT on the unspecified address and port 0: port 0
     * stays, for the any-destination listener (docs/transparent.md) */
    if (local->port == 0 &&
        !(c->transparent && sf_addr_is_unspec(local)))
        return stack_port_ephemeral(st, c, NULL);
    r = stack_port_bind(st, c, local->port);
    if (r == 0)
        c->explicit_bind = true;
    return r;
}

int sf_listen(struct sf_stack *st, int sd, int backlog)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    unsigned max = st->cfg.default_backlog_max;
    if (backlog < 1)
        backlog = 1;
    if ((unsigned)backlog > max)
        backlog = (int)max;
    if (c->state == SF_LISTEN) {
        tcp_listen_set_backlog(c, backlog); /* listen() again */
        return 0;
    }
    if (c->state != SF_CLOSED || c->dead)
        return SF_EINVAL;
    if (!c->bound) {
        /* 0.0.0.0 and a port of the stack's choosing, as Linux */
        if (!stack_addr_first(st, SF_AF_INET))
            return SF_EADDRNOTAVAIL; /* no IPv4: bind to :: first */
        int r = stack_port_ephemeral(st, c, NULL);
        if (r < 0)
            return r;
    }
    /* A listener may not share its port with another listener, even with
     * SO_REUSEADDR. */
    int r = stack_port_listen_ok(st, c);
    if (r < 0)
        return r;
    r = tcp_open_passive(&st->tcp, c, backlog);
    if (r < 0)
        return r;
    stack_listen_insert(st, c);
    return 0;
}

int sf_listen_filter(struct sf_stack *st, int sd, sf_syn_fn fn, void *arg)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (c->state != SF_CLOSED && c->state != SF_LISTEN)
        return SF_EINVAL; /* a connection has no SYNs to decide */
    c->syn_fn = fn;
    c->syn_arg = fn ? arg : NULL;
    return 0;
}

int sf_accept(struct sf_stack *st, int sd, struct sf_addr *peer)
{
    struct sf_conn *l = get(st, sd);
    if (!l)
        return SF_EBADF;
    if (l->state != SF_LISTEN)
        return SF_EINVAL;
    if (st->nsd_free == 0)
        return SF_EMFILE;
    struct sf_conn *c = tcp_accept(&st->tcp, l);
    if (!c)
        return SF_EAGAIN;
    if (peer)
        *peer = api_addr(c, &c->remote);
    c->connect_seen = true;
    return sd_assign(st, c);
}

/* connect() on c in a state other than CLOSED: true, with the answer in
 * *ret. */
static bool connect_answered(struct sf_conn *c, int *ret)
{
    switch (c->state) {
    case SF_CLOSED:
        return false;
    case SF_SYN_SENT:
    case SF_SYN_RCVD:
        *ret = SF_EALREADY;
        return true;
    case SF_LISTEN:
        *ret = SF_EISCONN;
        return true;
    default:
        *ret = SF_EISCONN;
        if (!c->connect_seen) {
            c->connect_seen = true;
            *ret = 0; /* the non-blocking connect completed */
        }
        return true;
    }
}

/* The remote address of a connect(): 0, or the error. */
static int remote_check(const struct sf_addr *remote)
{
    if (!remote || remote->port == 0 || sf_addr_is_unspec(remote))
        return SF_EINVAL;
    /* RFC 9293 3.10.1 (MUST-46): an OPEN for a broadcast or multicast
     * remote address is an error: TCP is one-to-one. As Linux, the error
     * is ENETUNREACH (no unicast route leads there). Only the limited
     * broadcast is known here: synfin has no netmask for directed ones.
     * IPv6 has no broadcast; its multicast is ff00::/8 (RFC 4291 2.7). */
    if (remote->family == SF_AF_INET6)
        return remote->ip6[0] == 0xff ? SF_ENETUNREACH : 0;
    if (remote->ip == 0xffffffffu || (remote->ip >> 28) == 0xe)
        return SF_ENETUNREACH;
    return 0;
}

/* The local address a connect() from c to remote (the wire's family)
 * uses: the stack's address of that family, on c's port. 0 or the
 * error. */
static int connect_local(struct sf_stack *st, struct sf_conn *c,
                         const struct sf_addr *remote)
{
    bool bound_v6 = c->bound && c->local.family == SF_AF_INET6;
    /* a socket bound to an address sends from it (owned at bind; if it
     * has been removed since, the SYN still leaves from it, as Linux) */
    if (c->bound && !sf_addr_is_unspec(&c->local) &&
        c->local.family == remote->family)
        return 0;
    if (remote->family == SF_AF_INET6) {
        if (c->bound && !bound_v6)
            return SF_EINVAL; /* an IPv4 socket (Linux: EAFNOSUPPORT) */
        if (c->bound && !sf_addr_is_unspec(&c->local))
            return SF_ENETUNREACH;
    } else if (bound_v6 && (c->v6only || !sf_addr_is_unspec(&c->local))) {
        /* IPv4: from an IPv4 socket, or from an IPv6 one bound to ::
         * that is not IPV6_V6ONLY */
        return SF_ENETUNREACH;
    }
    /* unbound or bound to the unspecified address: the first owned
     * address of the remote's family (synfin has no routes to choose by,
     * RFC 6724's rules beyond family do not apply) */
    const struct sf_addr *a = stack_addr_first(st, remote->family);
    if (!a)
        return SF_ENETUNREACH;
    uint16_t port = c->local.port;
    c->local = *a;
    c->local.port = port;
    return 0;
}

int sf_connect(struct sf_stack *st, int sd, const struct sf_addr *remote)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (c->error) {
        int e = c->error; /* the outcome of an earlier attempt */
        c->error = 0;
        return e;
    }
    int r;
    if (connect_answered(c, &r))
        return r;
    if (c->dead)
        return c->reset_error ? c->reset_error : SF_ECONNABORTED;
    r = remote_check(remote);
    if (r < 0)
        return r;
    /* RFC 3493 3.7: ::ffff:a.b.c.d is an IPv4 peer, reached over IPv4
     * (not from an IPV6_V6ONLY socket: ENETUNREACH, as Linux) */
    struct sf_addr rem = *remote;
    if (sf_addr_is_v4mapped(remote)) {
        if (c->v6only)
            return SF_ENETUNREACH;
        rem = sf_addr_from_v4mapped(remote);
        r = remote_check(&rem);
        if (r < 0)
            return r;
    }
    r = connect_local(st, c, &rem);
    if (r < 0)
        return r;
    if (remote->family == SF_AF_INET6)
        c->v4mapped = true; /* an IPv6 socket */
    if (!c->bound) {
        r = stack_port_ephemeral(st, c, &rem);
        if (r < 0)
            return r;
    } else if (c->local.port == 0) {
        return SF_EINVAL; /* an any-destination socket connects nowhere */
    } else if (stack_tuple_taken(st, &c->local, &rem)) {
        return SF_EADDRNOTAVAIL; /* that 4-tuple is taken (MUST-13) */
    }
    c->remote = rem;
    stack_hash_conn(st, c);
    r = tcp_open_active(&st->tcp, c);
    stack_reap(st, c);
    return r;
}

long sf_send(struct sf_stack *st, int sd, const void *buf, size_t len,
             int flags)
{
    struct sf_conn *c = get(st, sd);
    (void)flags;
    if (!c)
        return SF_EBADF;
    if (!buf && len)
        return SF_EINVAL;
    long r = tcp_send(&st->tcp, c, buf, len);
    stack_reap(st, c);
    return r;
}

long sf_recv(struct sf_stack *st, int sd, void *buf, size_t len, int flags)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (!buf && len)
        return SF_EINVAL;
    long r = tcp_receive(&st->tcp, c, buf, len, flags);
    stack_reap(st, c);
    stack_mem_wake(st);
    return r;
}

/* sf_recv_view and sf_send_reserve: the call fn shows slices of a
 * connection's buffer, handed out as v. */
static long view_call(struct sf_stack *st, int sd, struct sf_iov v[2], size_t len,
                      long (*fn)(struct tcp_ctx *, struct sf_conn *, uint8_t *[2],
                                 uint32_t[2], size_t))
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (!v)
        return SF_EINVAL;
    uint8_t *p[2];
    uint32_t n[2];
    long r = fn(&st->tcp, c, p, n, len);
    for (int i = 0; i < 2; i++)
        v[i] = (struct sf_iov){p[i], n[i]};
    stack_reap(st, c);
    return r;
}

long sf_recv_view(struct sf_stack *st, int sd, struct sf_iov v[2], size_t len)
{
    return view_call(st, sd, v, len, tcp_receive_view);
}

long sf_recv_done(struct sf_stack *st, int sd, size_t n)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    long r = tcp_receive_done(&st->tcp, c, n);
    stack_reap(st, c);
    stack_mem_wake(st);
    return r;
}

long sf_send_reserve(struct sf_stack *st, int sd, struct sf_iov v[2], size_t len)
{
    return view_call(st, sd, v, len, tcp_send_reserve);
}

long sf_send_commit(struct sf_stack *st, int sd, size_t n)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    long r = tcp_send_commit(&st->tcp, c, n);
    stack_reap(st, c);
    return r;
}

/* Copies n bytes from the slices src/sn to the slices dst/dn (each pair
 * holds at least n). */
static void copy_slices(uint8_t *dst[2], const uint32_t dn[2],
                        uint8_t *const src[2], const uint32_t sn[2], uint32_t n)
{
    int i = 0, j = 0;
    uint32_t di = 0, si = 0;
    while (n > 0) {
        uint32_t k = dn[i] - di < sn[j] - si ? dn[i] - di : sn[j] - si;
        if (k > n)
            k = n;
        memcpy(dst[i] + di, src[j] + si, k);
        n -= k;
        di += k;
        si += k;
        if (di == dn[i] && i == 0) {
            i = 1;
            di = 0;
        }
        if (si == sn[j] && j == 0) {
            j = 1;
            si = 0;
        }
    }
}

/* The view of from's receive ring is taken first and held across
 * tcp_send_reserve on to, which must not move or free it. It does not:
 * the reservation touches to's send ring only (from == to included: the
 * send and the receive ring are two storages), which it may grow
 * (realloc: that storage moves) or take from the stack's cache of idle
 * storages; under memory pressure or at the cap it frees what that
 * cache holds, but a storage in the cache holds no bytes, and from's
 * holds the ones shown. Its tcp_out_flush calls the driver's
 * output_flush, which may not call into the stack. An error from
 * send_check (a reset or timeout left on to, which is from when from ==
 * to) is only taken and returned. So the slices shown stay valid up to
 * the copy; the two storages being distinct, the copy cannot overlap.
 * (Reserving first and viewing after would work as well, tcp_receive_view
 * changing nothing, but the view says how much to reserve: the send
 * storage grows to what is asked.) */
long sf_splice(struct sf_stack *st, int from, int to, size_t len)
{
    struct sf_conn *f = get(st, from), *t = get(st, to);
    if (!f || !t)
        return SF_EBADF;
    uint8_t *src[2], *dst[2];
    uint32_t sn[2], dn[2];
    long r = tcp_receive_view(&st->tcp, f, src, sn, len);
    if (r > 0)
        r = tcp_send_reserve(&st->tcp, t, dst, dn, (size_t)r);
    if (r > 0) {
        copy_slices(dst, dn, src, sn, (uint32_t)r);
        /* Queued first, taken next, sent last: taking the bytes may owe
         * the window update of RFC 9293 3.8.6.2.2, which tcp_receive_done
         * sends at once (tcp_output of from); for an echo the bytes are
         * then already queued, and that output sends them carrying the
         * update, where committing first (tcp_send_commit's output) would
         * send them with the window still closed over them and the
         * update after in a pure ACK, and taking first would send the
         * pure ACK before them. tcp_output of to then sends what is left
         * (all of it for a relay, or when no update was due). */
        long q = tcp_send_queue(&st->tcp, t, (size_t)r);
        if (q == r) {
            tcp_receive_done(&st->tcp, f, (size_t)r);
            tcp_output(&st->tcp, t);
        }
        r = q;
    }
    stack_reap(st, f);
    if (t != f)
        stack_reap(st, t);
    stack_mem_wake(st);
    return r;
}

int sf_shutdown(struct sf_stack *st, int sd, int how)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (how != SF_SHUT_RD && how != SF_SHUT_WR && how != SF_SHUT_RDWR)
        return SF_EINVAL;
    if (c->state == SF_CLOSED || c->state == SF_LISTEN)
        return SF_ENOTCONN;
    if (how != SF_SHUT_WR) {
        c->shut_rd = true;
        ring_free(&c->rcvbuf);
        tcp_reass_free(c);
    }
    if (how != SF_SHUT_RD)
        tcp_close(&st->tcp, c);
    stack_reap(st, c);
    stack_mem_wake(st);
    return 0;
}

int sf_close(struct sf_stack *st, int sd)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    sd_release(st, c);
    if (c->state == SF_LISTEN) {
        stack_close_listener(st, c);
    } else if (c->linger_on && c->linger_secs == 0) {
        /* RFC 9293 3.10.5: SO_LINGER with a zero time is ABORT. */
        tcp_abort(&st->tcp, c);
    } else if (!stack_orphan_refused(st, c)) {
        tcp_orphan(&st->tcp, c);
        tcp_close(&st->tcp, c);
        stack_orphan_count(st, c);
    }
    c->app_closed = true;
    if (c->state == SF_CLOSED)
        c->dead = true; /* never opened, or already over: free it now */
    stack_reap(st, c);
    stack_mem_wake(st);
    return 0;
}

/* ----------------------------------------------------------- options */

static int get_int(const void *val, size_t len, int *out)
{
    if (!val || len < sizeof(int))
        return SF_EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int put_int(void *val, size_t *len, int v)
{
    if (!val || !len || *len < sizeof(int))
        return SF_EINVAL;
    memcpy(val, &v, sizeof v);
    *len = sizeof v;
    return 0;
}

/* SO_SNDBUF / SO_RCVBUF: 1 .. SF_BUF_MAX bytes (RFC 7323 2.3: with the
 * largest shift, 14, a window reaches 2^30). A size set by the
 * application is kept: autotuning leaves that buffer alone (as Linux). */
static int set_buf_size(struct ring *r, uint32_t *size, bool *lock, int v)
{
    if (v <= 0 || (uint32_t)v > SF_BUF_MAX)
        return SF_EINVAL;
    if (ring_len(r))
        return SF_EINVAL; /* not while data is queued */
    ring_free(r); /* storage comes back at the new size when needed */
    *size = (uint32_t)v;
    *lock = true;
    return 0;
}

/* TCP_CONGESTION, as Linux: the name is the bytes given up to a NUL (at
 * most SF_TCP_CA_NAME_MAX - 1); an unknown one is SF_ENOENT. */
static int set_congestion(struct sf_stack *st, struct sf_conn *c,
                          const void *val, size_t len)
{
    if (!val || len == 0)
        return SF_EINVAL;
    if (len >= SF_TCP_CA_NAME_MAX)
        len = SF_TCP_CA_NAME_MAX - 1;
    int algo = tcp_cc_find(val, len);
    if (algo < 0)
        return SF_ENOENT;
    tcp_cc_select(&st->tcp, c, algo);
    return 0;
}

static int get_congestion(struct sf_stack *st, struct sf_conn *c, void *val,
                          size_t *len)
{
    if (!val || !len)
        return SF_EINVAL;
    char name[SF_TCP_CA_NAME_MAX] = {0};
    const char *n = tcp_cc_ops_of(&st->tcp, c)->name;
    memcpy(name, n, strlen(n));
    if (*len > sizeof name)
        *len = sizeof name;
    memcpy(val, name, *len);
    return 0;
}

int sf_setsockopt(struct sf_stack *st, int sd, int level, int name,
                  const void *val, size_t len)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (level == SF_SOL_SOCKET && name == SF_SO_LINGER) {
        struct sf_linger lg;
        if (!val || len < sizeof lg)
            return SF_EINVAL;
        memcpy(&lg, val, sizeof lg);
        if (lg.l_linger < 0 || lg.l_linger > UINT16_MAX) /* linger_secs */
            return SF_EINVAL;
        c->linger_on = lg.l_onoff != 0;
        c->linger_secs = (uint16_t)lg.l_linger;
        return 0;
    }
    if (level == SF_IPPROTO_TCP && name == SF_TCP_CONGESTION)
        return set_congestion(st, c, val, len);
    int v, r = get_int(val, len, &v);
    if (r < 0)
        return r;
    if (level == SF_IPPROTO_IP) {
        if (name != SF_IP_TRANSPARENT)
            return SF_ENOPROTOOPT;
        /* decides what bind and listen do: only before them */
        if (c->bound || c->state != SF_CLOSED)
            return SF_EINVAL;
        c->transparent = v != 0;
        return 0;
    }
    if (level == SF_IPPROTO_IPV6) {
        if (name != SF_IPV6_V6ONLY)
            return SF_ENOPROTOOPT;
        /* RFC 3493 5.3; as Linux, only before the socket is bound */
        if (c->bound || c->state != SF_CLOSED)
            return SF_EINVAL;
        c->v6only = v != 0;
        return 0;
    }
    if (level == SF_SOL_SOCKET) {
        switch (name) {
        case SF_SO_REUSEADDR: c->reuseaddr = v != 0; return 0;
        case SF_SO_KEEPALIVE:
            tcp_keepalive_enable(&st->tcp, c, v != 0);
            return 0;
        case SF_SO_SNDBUF: {
            bool lock = c->sndbuf_lock;
            int e = set_buf_size(&c->sndbuf, &c->sndbuf_size, &lock, v);
            c->sndbuf_lock = lock;
            return e;
        }
        case SF_SO_RCVBUF: {
            bool lock = c->rcvbuf_lock;
            int e = set_buf_size(&c->rcvbuf, &c->rcvbuf_size, &lock, v);
            c->rcvbuf_lock = lock;
            return e;
        }
        case SF_SO_MAX_PACING_RATE:
            /* as Linux: a limit turns pacing on for the socket */
            c->pace_max_rate = v > 0 ? (uint64_t)v : 0;
            tcp_pace_set(&st->tcp, c, v > 0 || c->pace_on);
            return 0;
        default: return SF_ENOPROTOOPT;
        }
    }
    if (level != SF_IPPROTO_TCP)
        return SF_ENOPROTOOPT;
    switch (name) {
    case SF_TCP_NODELAY: c->nodelay = v != 0; return 0;
    case SF_TCP_MAXSEG:
        if (v < 64 || v > 65495)
            return SF_EINVAL;
        c->user_mss = (uint16_t)v;
        return 0;
    case SF_TCP_KEEPIDLE:
    case SF_TCP_KEEPINTVL: {
        if (v < 1 || v > 2000000) return SF_EINVAL;
        uint32_t old_intvl = c->keepintvl_ms;
        if (name == SF_TCP_KEEPIDLE)
            c->keepidle_ms = (uint32_t)v * 1000u;
        else
            c->keepintvl_ms = (uint32_t)v * 1000u;
        /* the running keepalive timer takes the new time at once */
        tcp_keepalive_retime(&st->tcp, c, old_intvl);
        return 0;
    }
    case SF_TCP_KEEPCNT:
        if (v < 1 || v > 255) return SF_EINVAL;
        c->keepcnt = (uint8_t)v; return 0;
    case SF_TCP_USER_TIMEOUT:
        if (v < 0) return SF_EINVAL;
        c->user_timeout_ms = (uint32_t)v; return 0;
    case SF_TCP_WSCALE:
    case SF_TCP_TIMESTAMPS:
        /* RFC 7323 options are negotiated on the SYN: only before it */
        if (c->state != SF_CLOSED && c->state != SF_LISTEN)
            return SF_EISCONN;
        if (name == SF_TCP_WSCALE)
            c->want_wscale = v != 0;
        else
            c->want_ts = v != 0;
        return 0;
    case SF_TCP_SACK:
        /* RFC 2018 2: offered on the SYN only, so it counts before the
         * handshake; later it cannot change what was agreed */
        if (v != 0 && v != 1) return SF_EINVAL;
        if (c->state != SF_CLOSED && c->state != SF_LISTEN) return SF_EISCONN;
        c->sack_want = v != 0; return 0;
    case SF_TCP_RACK: /* RFC 8985 6: takes effect on the next send */
        if (v != 0 && v != 1) return SF_EINVAL;
        c->rack_want = v != 0;
        if (!c->rack_want) tcp_rack_free(c);
        return 0;
    case SF_TCP_ECN: /* RFC 3168: 0 off, 1 ask and accept, 2 accept */
        if (v < 0 || v > 2) return SF_EINVAL;
        c->ecn_mode = (uint8_t)v; return 0;
    case SF_TCP_PACING: /* pacing.c: takes effect at once */
        if (v != 0 && v != 1) return SF_EINVAL;
        tcp_pace_set(&st->tcp, c, v != 0);
        return 0;
    default:
        return SF_ENOPROTOOPT;
    }
}

int sf_getsockopt(struct sf_stack *st, int sd, int level, int name, void *val,
                  size_t *len)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (level == SF_SOL_SOCKET && name == SF_SO_LINGER) {
        struct sf_linger lg = {c->linger_on, c->linger_secs};
        if (!val || !len || *len < sizeof lg)
            return SF_EINVAL;
        memcpy(val, &lg, sizeof lg);
        *len = sizeof lg;
        return 0;
    }
    if (level == SF_IPPROTO_IPV6 && name == SF_IPV6_V6ONLY)
        return put_int(val, len, c->v6only);
    if (level == SF_IPPROTO_IP && name == SF_IP_TRANSPARENT)
        return put_int(val, len, c->transparent);
    if (level == SF_SOL_SOCKET) {
        switch (name) {
        case SF_SO_REUSEADDR: return put_int(val, len, c->reuseaddr);
        case SF_SO_KEEPALIVE: return put_int(val, len, c->keepalive);
        case SF_SO_SNDBUF: return put_int(val, len, (int)c->sndbuf_size);
        case SF_SO_RCVBUF: return put_int(val, len, (int)c->rcvbuf_size);
        case SF_SO_MAX_PACING_RATE: /* -1: none (Linux's ~0U) */
            return put_int(val, len, c->pace_max_rate ? (int)c->pace_max_rate
                                                      : -1);
        case SF_SO_ERROR: {
            int e = c->error; /* reading SO_ERROR clears it */
            c->error = 0;
            return put_int(val, len, e);
        }
        default: return SF_ENOPROTOOPT;
        }
    }
    if (level != SF_IPPROTO_TCP)
        return SF_ENOPROTOOPT;
    switch (name) {
    case SF_TCP_CONGESTION: return get_congestion(st, c, val, len);
    case SF_TCP_NODELAY: return put_int(val, len, c->nodelay);
    case SF_TCP_MAXSEG:
        return put_int(val, len, c->state == SF_CLOSED || c->state == SF_LISTEN
                                     ? tcp_our_mss(&st->tcp, c) /* IPv6: -20 */
                                     : c->snd_mss);
    case SF_TCP_KEEPIDLE: return put_int(val, len, (int)(c->keepidle_ms / 1000));
    case SF_TCP_KEEPINTVL: return put_int(val, len, (int)(c->keepintvl_ms / 1000));
    case SF_TCP_KEEPCNT: return put_int(val, len, (int)c->keepcnt);
    case SF_TCP_USER_TIMEOUT:
        return put_int(val, len, (int)c->user_timeout_ms);
    case SF_TCP_WSCALE: return put_int(val, len, c->want_wscale);
    case SF_TCP_TIMESTAMPS: return put_int(val, len, c->want_ts);
    case SF_TCP_SACK:
        /* before the handshake: wanted; after: agreed with the peer */
        return put_int(val, len, c->state == SF_CLOSED || c->state == SF_LISTEN
                                     ? c->sack_want : c->sack_ok);
    case SF_TCP_ECN: return put_int(val, len, c->ecn_mode);
    case SF_TCP_RACK: return put_int(val, len, c->rack_want);
    case SF_TCP_PACING: return put_int(val, len, c->pace_on);
    default: return SF_ENOPROTOOPT;
    }
}

unsigned sf_poll(struct sf_stack *st, int sd)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_POLLERR | SF_POLLHUP;
    unsigned ev = 0;
    if (c->state == SF_LISTEN)
        return tcp_listen_readable(c) ? SF_POLLIN : 0;
    if (ring_len(&c->rcvbuf) || c->fin_rcvd || c->shut_rd || c->reset_error)
        ev |= SF_POLLIN;
    if (c->fin_rcvd)
        ev |= SF_POLLRDHUP;
    if ((c->state == SF_ESTABLISHED || c->state == SF_CLOSE_WAIT) &&
        !c->fin_queued && ring_space(&c->sndbuf, c->sndbuf_size) > 0)
        ev |= SF_POLLOUT;
    if (c->error)
        ev |= SF_POLLERR;
    if (c->state == SF_CLOSED || (c->fin_rcvd && c->fin_queued))
        ev |= SF_POLLHUP;
    return ev;
}

int sf_getsockname(struct sf_stack *st, int sd, struct sf_addr *a)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (!a)
        return SF_EINVAL;
    *a = api_addr(c, &c->local);
    return 0;
}

int sf_getpeername(struct sf_stack *st, int sd, struct sf_addr *a)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (!a)
        return SF_EINVAL;
    if (c->state == SF_CLOSED || c->state == SF_LISTEN)
        return SF_ENOTCONN;
    *a = api_addr(c, &c->remote);
    return 0;
}

int sf_tcp_info(struct sf_stack *st, int sd, struct sf_tcp_info *info)
{
    struct sf_conn *c = get(st, sd);
    if (!c)
        return SF_EBADF;
    if (!info)
        return SF_EINVAL;
    tcp_info(&st->tcp, c, info);
    info->local = api_addr(c, &info->local);
    info->remote = api_addr(c, &info->remote);
    return 0;
}

int sf_tcp_info_by_addr(struct sf_stack *st, const struct sf_addr *local,
                        const struct sf_addr *remote, struct sf_tcp_info *info)
{
    if (!st || !local || !remote || !info)
        return SF_EINVAL;
    /* the wire's addresses: IPv4-mapped ones are IPv4 there */
    struct sf_addr l = sf_addr_from_v4mapped(local);
    struct sf_addr rem = sf_addr_from_v4mapped(remote);
    const struct sf_addr *first = stack_addr_first(st, l.family);
    if (sf_addr_is_unspec(&l) && first) {
        uint16_t port = l.port;
        l = *first;
        l.port = port;
    }
    struct sf_conn *c = stack_lookup(st, &l, &rem);
    if (!c)
        return stack_record_info(st, &l, &rem, info);
    tcp_info(&st->tcp, c, info);
    return 0;
}
