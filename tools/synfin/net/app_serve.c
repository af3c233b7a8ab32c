/* The servers of `synfin serve` (see app_serve.h). Every wake-up of the
 * loop services every connection: each step is non-blocking and stops at
 * SF_EAGAIN, so a connection that cannot move costs one call. */
#include "net/app_serve.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define STEPS 64 /* reads per connection per wake-up: fairness */

static struct sf_stack *stk(struct serve *s) { return s->cli.tun.st; }

/* The listening socket of port: IPv4 (0.0.0.0), or with --addr6 a
 * dual-stack one (:: with IPV6_V6ONLY off, as most Linux servers listen:
 * IPv4 peers then show as ::ffff:a.b.c.d, RFC 3493 5.3). One socket, not
 * an IPv4 one beside a V6ONLY one: the core's port table counts a port's
 * listeners whatever their family, so a second would be EADDRINUSE.
 * Returns the descriptor or an SF_E* error. */
static int listen_one(struct serve *s, uint16_t port, bool v6)
{
    int one = 1, sd = sf_socket(stk(s));
    struct sf_addr l = {.port = port};
    if (v6) {
        static const uint8_t any[16];
        l = sf_addr6(any, port);
    }
    int r = sd < 0 ? sd : sf_setsockopt(stk(s), sd, SF_SOL_SOCKET,
                                        SF_SO_REUSEADDR, &one, sizeof one);
    r = r < 0 ? r : sf_bind(stk(s), sd, &l);
    r = r < 0 ? r : sf_listen(stk(s), sd, s->cli.backlog);
    if (r < 0 && sd >= 0)
        sf_close(stk(s), sd);
    return r < 0 ? r : sd;
}

static int listen_all(struct serve *s)
{
    for (int i = 0; i < s->napps; i++) {
        struct app *a = &s->apps[i];
        bool v6 = s->cli.has6;
        int sd = listen_one(s, a->port, v6);
        if (sd < 0) {
            fprintf(stderr, "synfin serve: cannot listen on %s port %u: %s "
                    "(is another --app on it?)\n", v6 ? "dual-stack" : "IPv4",
                    a->port, sf_strerror(sd));
            return -1;
        }
        a->lsd = sd;
    }
    return 0;
}

static void daytime(struct serve *s, int sd)
{
    char line[80];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    size_t n = strftime(line, sizeof line, "%A, %B %d, %Y %H:%M:%S-%Z\r\n", &tm);
    sf_send(stk(s), sd, line, n, 0);
    /* RFC 867: "the server closes the connection" right after: synfin is
     * the active closer. */
    sf_close(stk(s), sd);
}

static void proxy_start(struct sconn *c)
{
    const struct sf_addr *t = &c->app->target;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    memset(&sin, 0, sizeof sin);
    memset(&sin6, 0, sizeof sin6);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(t->ip);
    sin.sin_port = htons(t->port);
    sin6.sin6_family = AF_INET6;
    memcpy(&sin6.sin6_addr, t->ip6, 16);
    sin6.sin6_port = htons(t->port);
    bool v6 = t->family == SF_AF_INET6;
    c->kfd = socket(v6 ? AF_INET6 : AF_INET,
                    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->kfd >= 0 &&
        connect(c->kfd, v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin,
                v6 ? sizeof sin6 : sizeof sin) == 0)
        c->kconnected = true;
}

static int add_conn(struct serve *s, struct app *a, int sd)
{
    if (s->nconns == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        struct sconn **n = realloc(s->conns, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        s->conns = n;
        s->cap = cap;
    }
    struct sconn *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->app = a;
    c->sd = sd;
    c->kfd = -1;
    if (a->kind == APP_PROXY)
        proxy_start(c);
    s->conns[s->nconns++] = c;
    return 0;
}

static void accept_all(struct serve *s)
{
    for (int i = 0; i < s->napps; i++) {
        struct app *a = &s->apps[i];
        for (int k = 0; a->lsd >= 0 && k < STEPS; k++) {
            int sd = sf_accept(stk(s), a->lsd, NULL);
            if (sd < 0)
                break;
            tun_cli_sockopts(&s->cli, sd);
            if (a->kind == APP_DAYTIME)
                daytime(s, sd);
            else if (add_conn(s, a, sd) < 0)
                sf_close(stk(s), sd);
        }
    }
}

/* ---------------------------------------------------- synfin-side relay */

/* Sends what r holds; returns 0 or a negative SF_E* error. */
static int sf_flush(struct sf_stack *st, int sd, struct relay *r)
{
    while (r->off < r->len) {
        long n = sf_send(st, sd, r->buf + r->off, r->len - r->off, 0);
        if (n == SF_EAGAIN)
            return 0;
        if (n < 0)
            return (int)n;
        r->off += (size_t)n;
    }
    r->off = r->len = 0;
    return 0;
}

/* A connection's own record stays small: the proxy and the echo relay
 * from the stack's buffers, and 1,000 idle connections should not hold
 * 128 KB each of address space (an mmap() apiece, past malloc's
 * threshold) for buffers they never touch. */
_Static_assert(sizeof(struct sconn) <= 256, "struct sconn: buffers belong behind pointers");

/* r's buffer, allocated the first time; NULL if memory ran out. */
static uint8_t *relay_buf(struct relay *r)
{
    if (!r->buf)
        r->buf = malloc(SERVE_BUF);
    return r->buf;
}

static void sconn_free(struct sconn *c)
{
    free(c->up.buf);
    free(c->down.buf);
    free(c);
}

/* Reads into an empty r; returns 1 if it read, 0 if nothing, or an error. */
static int sf_fill(struct sf_stack *st, int sd, struct relay *r)
{
    if (r->len || r->eof)
        return 0;
    if (!relay_buf(r))
        return SF_ENOMEM;
    long n = sf_recv(st, sd, r->buf, SERVE_BUF, 0);
    if (n == SF_EAGAIN)
        return 0;
    if (n < 0)
        return (int)n;
    if (n == 0)
        r->eof = true;
    r->off = 0;
    r->len = (size_t)n;
    return n > 0;
}

static void close_sd(struct serve *s, struct sconn *c, bool abort)
{
    if (c->sd < 0)
        return;
    if (abort) {
        struct sf_linger lg = {1, 0};
        sf_setsockopt(stk(s), c->sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg);
    }
    sf_close(stk(s), c->sd);
    c->sd = -1;
}

/* The peer's FIN was read and everything echoed: close, after
 * --close-delay. On SIGINT/SIGTERM, our FIN goes first instead. */
static sf_time_t finish(struct serve *s, struct sconn *c, sf_time_t now)
{
    struct relay *r = &c->up;
    if (r->eof && !r->len && !c->down.len) {
        if (!c->eof_at)
            c->eof_at = now;
        if (s->cli.quit || now >= c->eof_at + s->close_delay) {
            close_sd(s, c, false);
            return SF_TIME_NEVER;
        }
        return c->eof_at + s->close_delay;
    }
    if (s->cli.quit && !r->len && !c->down.len && !r->shut) {
        sf_shutdown(stk(s), c->sd, SF_SHUT_WR);
        r->shut = true;
    }
    return SF_TIME_NEVER;
}

static void chargen_fill(struct sconn *c)
{
    struct relay *d = &c->down;
    if (d->len || !relay_buf(d))
        return; /* (out of memory: nothing streamed, the connection idles) */
    /* RFC 864: 72 printable characters a line, each line starting one
     * character later than the last, CR LF after each. */
    for (size_t i = 0; i < SERVE_BUF; i++, c->chargen_pos++) {
        size_t line = c->chargen_pos / 74, col = c->chargen_pos % 74;
        d->buf[i] = col == 72 ? '\r' : col == 73 ? '\n'
                                                : (uint8_t)(' ' + (line + col) % 95);
    }
    d->off = 0;
    d->len = SERVE_BUF;
}

/* echo in the stack: each step moves what the connection received into
 * its own send buffer with one copy (sf_splice), and what does not fit
 * stays in the receive buffer, its window closed. Only while the relay
 * buffer is empty and no SIGTERM came: the shutdown path of finish()
 * stays the copying one's. */
static sf_time_t svc_echo_splice(struct serve *s, struct sconn *c, sf_time_t now)
{
    struct relay *r = &c->up;
    for (int k = 0; k < STEPS; k++) {
        long n = sf_splice(stk(s), c->sd, c->sd, SERVE_BUF);
        if (n == SF_EAGAIN)
            break;
        if (n < 0) {
            close_sd(s, c, false); /* reset or timed out, as sf_fill's */
            return SF_TIME_NEVER;
        }
        if (n == 0) {
            r->eof = true;
            break;
        }
    }
    return finish(s, c, now);
}

/* echo, discard and chargen. */
static sf_time_t svc_simple(struct serve *s, struct sconn *c, sf_time_t now)
{
    struct relay *r = &c->up;
    bool echo = c->app->kind == APP_ECHO;
    if (echo && !r->len && !r->eof && !r->shut && !s->cli.quit)
        return svc_echo_splice(s, c, now);
    for (int k = 0; k < STEPS; k++) {
        int e = sf_flush(stk(s), c->sd, r);
        if (e == 0 && r->len == 0 && !r->shut && !s->cli.quit &&
            c->app->kind == APP_CHARGEN && !r->eof) {
            chargen_fill(c);
            e = sf_flush(stk(s), c->sd, &c->down);
        }
        if (e < 0) {
            close_sd(s, c, false); /* reset or timed out: nothing to flush */
            return SF_TIME_NEVER;
        }
        if (r->len)
            break;
        e = sf_fill(stk(s), c->sd, r);
        if (e < 0) {
            close_sd(s, c, false);
            return SF_TIME_NEVER;
        }
        if (!echo || r->shut)
            r->len = r->off = 0; /* dropped: discard, chargen, or after our FIN */
        if (e == 0)
            break;
    }
    if (c->app->kind == APP_CHARGEN && (r->eof || s->cli.quit))
        c->down.len = 0; /* "until the peer closes": stop streaming */
    return finish(s, c, now);
}

/* ---------------------------------------------------------------- proxy */

static void close_kfd(struct sconn *c, bool reset)
{
    if (c->kfd < 0)
        return;
    if (reset) {
        struct linger lg = {1, 0}; /* pass a reset on as a reset */
        setsockopt(c->kfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->kfd);
    c->kfd = -1;
}

/* Returns 1 connected, 0 still connecting, -1 failed. */
static int proxy_connected(struct sconn *c)
{
    if (c->kconnected)
        return 1;
    int err = 0;
    socklen_t len = sizeof err;
    if (c->kfd < 0 || getsockopt(c->kfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -1;
    if (err)
        return -1;
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    if (getpeername(c->kfd, (struct sockaddr *)&peer, &pl) < 0)
        return 0; /* ENOTCONN: the handshake is still going */
    c->kconnected = true;
    return 1;
}

/* synfin connection -> kernel socket, without a copy of ours: sendmsg()
 * straight from the stack's receive buffer (sf_recv_view), and
 * sf_recv_done takes only what the kernel accepted; the rest waits there,
 * its window closed (backpressure) until the socket's POLLOUT. Returns
 * -1 (sf side failed), -2 (kernel side failed) or 0. */
static int proxy_up(struct serve *s, struct sconn *c)
{
    struct relay *r = &c->up;
    r->blocked = false;
    for (int k = 0; k < STEPS && !r->eof; k++) {
        struct sf_iov v[2];
        long n = sf_recv_view(stk(s), c->sd, v, SERVE_BUF);
        if (n == SF_EAGAIN)
            break;
        if (n < 0)
            return -1;
        if (n == 0) {
            r->eof = true;
            break;
        }
        struct iovec iov[2] = {{v[0].base, v[0].len}, {v[1].base, v[1].len}};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = v[1].len ? 2 : 1};
        ssize_t w = sendmsg(c->kfd, &m, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -2;
        if (w > 0)
            sf_recv_done(stk(s), c->sd, (size_t)w);
        if (w < n) {
            r->blocked = true;
            break;
        }
    }
    if (r->eof && !r->shut) {
        shutdown(c->kfd, SHUT_WR); /* half-close passed on */
        r->shut = true;
    }
    return 0;
}

/* kernel socket -> synfin connection, without a copy of ours: readv()
 * straight into the free room of the connection's send buffer
 * (sf_send_reserve, sf_send_commit); while the buffer is full (or at the
 * memory cap: the stack's wakeup says when) the socket is not read
 * (blocked: not polled for POLLIN), so its window closes. A read that
 * brings nothing commits 0, which gives an empty storage back (an idle
 * connection holds none). Same returns. */
static int proxy_down(struct serve *s, struct sconn *c)
{
    struct relay *r = &c->down;
    r->blocked = false;
    /* the send storage grows to what is asked (synfin.h): 4 KB first (a
     * 64-byte answer then holds a 4 KB storage), twice as much while
     * reads fill it, as tun2socks does */
    size_t ask = 4096;
    for (int k = 0; k < STEPS && !r->eof; k++) {
        struct sf_iov v[2];
        long room = sf_send_reserve(stk(s), c->sd, v, ask);
        if (room == SF_EAGAIN) {
            r->blocked = true;
            break;
        }
        if (room < 0)
            return -1;
        struct iovec iov[2] = {{v[0].base, v[0].len}, {v[1].base, v[1].len}};
        ssize_t n = readv(c->kfd, iov, v[1].len ? 2 : 1);
        if (n <= 0)
            sf_send_commit(stk(s), c->sd, 0); /* nothing: the room back */
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n < 0)
            return -2;
        if (n == 0) {
            r->eof = true;
            break;
        }
        if (sf_send_commit(stk(s), c->sd, (size_t)n) < 0)
            return -1;
        if (n < room)
            break; /* the socket had no more */
        if (ask < SERVE_BUF)
            ask *= 2;
    }
    if (r->eof && !r->shut) {
        sf_shutdown(stk(s), c->sd, SF_SHUT_WR);
        r->shut = true;
    }
    return 0;
}

static void svc_proxy(struct serve *s, struct sconn *c)
{
    int k = proxy_connected(c);
    if (k == 0)
        return;
    int e = k < 0 ? -2 : proxy_up(s, c);
    if (e == 0)
        e = proxy_down(s, c);
    if (e == -1) { /* the synfin side was reset or timed out */
        close_kfd(c, true);
        close_sd(s, c, false);
    } else if (e == -2) { /* refused or reset by the kernel side */
        close_kfd(c, false);
        close_sd(s, c, true);
    } else if (c->up.shut && c->down.shut) {
        close_kfd(c, false);
        close_sd(s, c, false);
    }
}

/* ------------------------------------------------------------- the loop */

static int serve_pollfds(void *ctx, struct pollfd *fds, int max)
{
    struct serve *s = ctx;
    int n = s->base_fds = tun_cli_pollfds(&s->cli, fds, max);
    for (int i = 0; i < s->nconns && n < max; i++) {
        struct sconn *c = s->conns[i];
        if (c->kfd < 0)
            continue;
        short ev = 0;
        if (!c->down.blocked && !c->down.eof)
            ev |= POLLIN;
        if (c->up.blocked || !c->kconnected)
            ev |= POLLOUT;
        fds[n++] = (struct pollfd){.fd = c->kfd, .events = ev};
    }
    return n;
}

static int busy_conn(void *ctx, const struct sf_tcp_info *i)
{
    (void)ctx;
    return i->state != SF_LISTEN && i->state != SF_TIME_WAIT &&
           i->state != SF_CLOSED;
}

/* --grace ran out with connections still open: rather than leave their
 * peers waiting on a stack about to be gone, reset them (the proxy's
 * upstream sockets too), and say how many. */
static void grace_out(struct serve *s)
{
    for (int i = 0; i < s->nconns; i++)
        close_kfd(s->conns[i], true);
    int n = sf_stack_abort_all(stk(s));
    if (n > 0) {
        char who[32] = "";
        if (s->cli.threads > 1)
            snprintf(who, sizeof who, "thread %u: ", s->cli.thread);
        fprintf(stderr, "synfin serve: %s--grace %.1f s ran out: %d connection%s "
                "reset\n", who, (double)s->cli.grace / 1e9, n, n == 1 ? "" : "s");
    }
}

static void on_quit(struct serve *s)
{
    for (int i = 0; i < s->napps; i++)
        if (s->apps[i].lsd >= 0) {
            sf_close(stk(s), s->apps[i].lsd);
            s->apps[i].lsd = -1;
        }
}

static void reap(struct serve *s)
{
    int j = 0;
    for (int i = 0; i < s->nconns; i++) {
        struct sconn *c = s->conns[i];
        if (c->sd < 0 && c->kfd < 0)
            sconn_free(c);
        else
            s->conns[j++] = c;
    }
    s->nconns = j;
}

static sf_time_t serve_service(void *ctx, sf_time_t now, struct pollfd *fds,
                               int n)
{
    struct serve *s = ctx;
    bool was_quit = s->cli.quit;
    tun_cli_service(&s->cli, now, fds, n < s->base_fds ? n : s->base_fds);
    if (s->cli.quit && !was_quit)
        on_quit(s);
    accept_all(s);
    sf_time_t next = SF_TIME_NEVER;
    for (int i = 0; i < s->nconns; i++) {
        struct sconn *c = s->conns[i];
        if (c->sd < 0)
            close_kfd(c, false);
        else if (c->app->kind == APP_PROXY)
            svc_proxy(s, c);
        else {
            sf_time_t t = svc_simple(s, c, now);
            next = t < next ? t : next;
        }
    }
    reap(s);
    if (s->cli.quit) {
        /* Done when every connection has sent its FIN and had it
         * acknowledged (TIME_WAIT needs no process), or at the deadline. */
        bool done = s->nconns == 0 && !sf_stack_foreach(stk(s), busy_conn, NULL);
        if (!done && tun_cli_grace_over(&s->cli, now))
            grace_out(s); /* then RESET_WAIT more (tun_cli.h) */
        if (done || now >= s->cli.quit_deadline)
            s->cli.tun.stop = 1;
        next = next < s->cli.quit_deadline ? next : s->cli.quit_deadline;
    }
    return next;
}

int serve_run(struct serve *s)
{
    if (listen_all(s) < 0)
        return 1;
    /* --threads: every stack listens on every app's port; a connection
     * stays on the stack its SYN reached (the queue its ports steer to) */
    for (int i = 0; i < s->napps && s->cli.thread == 0; i++)
        fprintf(stderr, "synfin serve: %s on port %u\n",
                (const char *[]){"echo", "discard", "daytime", "chargen",
                                 "proxy"}[s->apps[i].kind], s->apps[i].port);
    struct sf_tun_hooks h = {s, serve_pollfds, serve_service};
    if (s->cli.xdp.ifname) { /* AF_XDP (xdp_cli.c) says why it stopped */
        if (xdp_cli_run(&s->cli, &h, "synfin serve") < 0)
            return 1;
    } else if (sf_tun_run(&s->cli.tun, &h) < 0) {
        tun_cli_run_failed(&s->cli, "synfin serve");
        return 1;
    }
    if (s->cli.thread == 0)
        fprintf(stderr, "synfin serve: stopped\n");
    return 0;
}

void serve_free(struct serve *s)
{
    for (int i = 0; i < s->nconns; i++) {
        close_kfd(s->conns[i], false);
        sconn_free(s->conns[i]);
    }
    free(s->conns);
    free(s);
}
