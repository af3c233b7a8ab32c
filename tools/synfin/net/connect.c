/* synfin connect: a netcat-like client over a TUN device. stdin goes to
 * the connection, the connection to stdout; at stdin's end the write side
 * is shut down (FIN), and the program ends when the peer's FIN has been
 * read and written out. The exit status tells the failures apart. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cmds.h"
#include "net/tun_cli.h"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_REFUSED = 3,
       EXIT_RESET = 4, EXIT_TIMEDOUT = 5 };

struct pipebuf {
    uint8_t buf[65536];
    size_t off, len;
    bool eof, shut;
};

struct client {
    struct tun_cli cli;
    struct sf_addr remote, remote_local; /* remote_local: our end */
    int sd;
    bool connected, abort_at_end, quiet, any_port;
    long long send_bytes; /* -1: read stdin */
    unsigned long long pattern_pos;
    /* the pattern from any point: pat[i] = i mod 251, for a memcpy or a
     * memcmp of up to a buffer's length from pat + pos mod 251 */
    uint8_t pat[251 + 65536];
    sf_time_t connect_deadline, linger_deadline;
    struct pipebuf out; /* stdin -> connection */
    struct pipebuf in;  /* connection -> stdout */
    int status;         /* exit status once decided, else -1 */
    const char *pos[2]; /* HOST PORT as given */
    int npos;
    /* --threads N > 1: each thread's connection checks what it reads
     * against the pattern (an echo server's answer) instead of writing it
     * out; the totals go in a summary line */
    long long sent_total;
    unsigned long long recv_pos, recv_bad;
    unsigned long long recv_total; /* every byte read, checked or not */
    unsigned long long sent_count; /* every byte the stack took */
    sf_time_t t_conn, t_eof;       /* connected; the peer's FIN read */
    /* --xdp --queues N: the queues hand each other the segments of each
     * other's connections (xdp.h, sf_xdp_prog_steer), so a thread whose
     * connection is done keeps its loop running until every thread's is:
     * live counts the threads not done yet (shared by all), counted
     * whether this one has taken itself off */
    atomic_int *live;
    bool counted;
};

/* The connection is done (c->status is set): the loop ends, or with
 * --xdp --queues N goes on handing over until every thread's is. */
static void end_loop(struct client *c)
{
    if (!c->live) {
        c->cli.tun.stop = 1;
        return;
    }
    if (!c->counted) {
        c->counted = true;
        atomic_fetch_sub(c->live, 1);
    }
}

/* After end_loop with --xdp --queues N: stop once every thread is done
 * (looked at every 20 ms: the last one stops at once). */
static sf_time_t wait_others(struct client *c, sf_time_t now)
{
    if (!c->live || atomic_load(c->live) == 0) {
        c->cli.tun.stop = 1;
        return SF_TIME_NEVER;
    }
    return now + 20 * SF_MSEC;
}

/* --send-bytes and --connect-timeout: any number, atoll's and atof's as
 * ever (not checked). */
static int parse_send_bytes(void *base, const struct opt *o, const char *v,
                            const char *prog)
{
    struct client *c = base;
    (void)o, (void)prog;
    c->send_bytes = atoll(v);
    return 0;
}

static int parse_connect_timeout(void *base, const struct opt *o, const char *v,
                                 const char *prog)
{
    struct client *c = base;
    (void)o, (void)prog;
    c->connect_deadline = (sf_time_t)(atof(v) * 1e9);
    return 0;
}

static void client_report(const struct opt_err *e)
{
    fprintf(stderr, "synfin connect: unknown option or missing value '%s'\n",
            e->name);
}

/* HOST, then PORT. */
static int client_positional(void *ctx, const char *a)
{
    struct client *c = ctx;
    if (c->npos >= 2)
        return OPT_UNKNOWN;
    c->pos[c->npos++] = a;
    return 0;
}

static const struct opt client_opts[] = {
    {.name = "--send-bytes", .kind = OPT_FN, .fn = parse_send_bytes, .arg = "N",
     .help = "send N bytes of a fixed pattern instead of stdin"},
    {.name = "--abort", .kind = OPT_FLAG, .off = offsetof(struct client, abort_at_end),
     .as = OPT_AS_BOOL, .val = 1,
     .help = "at the end, abort (RST, SO_LINGER 0) instead of FIN"},
    {.name = "--connect-timeout", .kind = OPT_FN, .fn = parse_connect_timeout,
     .arg = "S", .help = "  give up connecting after S seconds (default 30)"},
    {.name = "--quiet", .alias = "-q", .kind = OPT_FLAG,
     .off = offsetof(struct client, quiet), .as = OPT_AS_BOOL, .val = 1,
     .usage = "-q, --quiet", .help = "no progress lines on stderr"},
    {.name = "--any-port", .kind = OPT_FLAG, .off = offsetof(struct client, any_port),
     .as = OPT_AS_BOOL, .val = 1,
     .help = "with --threads: a random local port, whatever queue\n"
             "it steers to (a test's control: the replies of a port\n"
             "that steers to another thread never reach this one)"},
    {.kind = OPT_END},
};

/* Returns 0, OPT_HELP after the help, or 2 after a message. */
static int parse(struct client *c, int argc, char **argv)
{
    struct opt_group g[3] = {{client_opts, c, client_report},
                             tun_cli_group(&c->cli), xdp_cli_group(&c->cli.xdp)};
    struct opt_cmd oc = {
        .prog = "synfin connect",
        .usage = "usage: synfin connect [options] HOST PORT\n",
        .footer = "exit status: 0 done, 1 other error, 2 usage, 3 connection refused,\n"
                  "             4 connection reset, 5 timed out\n",
        .groups = g, .ngroups = 3, .positional = client_positional, .ctx = c};
    int rc = opt_parse(&oc, argc, argv);
    if (rc)
        return rc;
    unsigned port = 0;
    char tail;
    if (c->npos != 2) {
        fprintf(stderr, "synfin connect: give HOST PORT (A.B.C.D or an IPv6 "
                "address, and 1..65535)\n");
        return EXIT_USAGE;
    }
    /* HOST: either family; an IPv6 one may come bracketed (RFC 3986 3.2.2) */
    char host[64];
    const char *h = c->pos[0];
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    snprintf(host, sizeof host, "%.*s", (int)(hl < sizeof host ? hl : 0), h);
    if (sf_addr_parse_ip(host, &c->remote) != 0) {
        fprintf(stderr, "synfin connect: HOST wants A.B.C.D or an IPv6 address "
                "(e.g. fd00:5f::1), not '%s'\n", c->pos[0]);
        return EXIT_USAGE;
    }
    if (sscanf(c->pos[1], "%u%c", &port, &tail) != 1 || port == 0 || port > 65535) {
        fprintf(stderr, "synfin connect: PORT wants 1..65535, not '%s'\n",
                c->pos[1]);
        return EXIT_USAGE;
    }
    if (c->remote.family == SF_AF_INET6 && !sf_addr_is_v4mapped(&c->remote) &&
        !c->cli.has6) {
        fprintf(stderr, "synfin connect: HOST %s is IPv6 but synfin has no IPv6 "
                "address: give --addr6 ADDR and --host6 ADDR/N\n", c->pos[0]);
        return EXIT_USAGE;
    }
    c->remote.port = (uint16_t)port;
    if (c->cli.threads > 1 && c->send_bytes < 0) {
        fprintf(stderr, "synfin connect: --threads %u needs --send-bytes N (each "
                "thread sends N bytes on its own connection; stdin cannot be "
                "split)\n", c->cli.threads);
        return EXIT_USAGE;
    }
    if (c->cli.xdp.ifname && c->cli.xdp.queues > 1 && c->send_bytes < 0) {
        fprintf(stderr, "synfin connect: --queues %d needs --send-bytes N (each "
                "queue's thread sends N bytes on its own connection; stdin "
                "cannot be split)\n", c->cli.xdp.queues);
        return EXIT_USAGE;
    }
    c->cli.xdp.active = true; /* --xdp: the program gives synfin its ports */
    return 0;
}

static int exit_for(int err)
{
    switch (err) {
    case SF_ECONNREFUSED: return EXIT_REFUSED;
    case SF_ECONNRESET: return EXIT_RESET;
    case SF_ETIMEDOUT: return EXIT_TIMEDOUT;
    default: return EXIT_ERR;
    }
}

static void fail(struct client *c, int err)
{
    fprintf(stderr, "synfin connect: %s (%s)\n", sf_strerror(err),
            sf_errname(err) ? sf_errname(err) : "?");
    c->status = exit_for(err);
    end_loop(c);
}

/* stdin, or --send-bytes' pattern (byte i is i mod 251), into c->out. */
static void fill_out(struct client *c)
{
    struct pipebuf *p = &c->out;
    if (p->len || p->eof)
        return;
    p->off = 0;
    if (c->send_bytes >= 0) {
        size_t n = c->send_bytes < (long long)sizeof p->buf ? (size_t)c->send_bytes
                                                             : sizeof p->buf;
        memcpy(p->buf, c->pat + c->pattern_pos % 251, n);
        c->pattern_pos += n;
        p->len = n;
        c->send_bytes -= (long long)n;
        p->eof = n == 0;
        return;
    }
    ssize_t n = read(0, p->buf, sizeof p->buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    p->len = n > 0 ? (size_t)n : 0;
    p->eof = n <= 0;
}

/* stdin (or the pattern) to the connection; FIN or abort at its end. */
static void pump_out(struct client *c)
{
    struct sf_stack *st = c->cli.tun.st;
    struct pipebuf *p = &c->out;
    for (int k = 0; k < 64 && !p->shut; k++) {
        fill_out(c);
        while (p->off < p->len) {
            long n = sf_send(st, c->sd, p->buf + p->off, p->len - p->off, 0);
            if (n == SF_EAGAIN)
                return;
            if (n < 0) {
                fail(c, (int)n);
                return;
            }
            p->off += (size_t)n;
            c->sent_count += (unsigned long long)n;
        }
        p->off = p->len = 0;
        if (!p->eof)
            continue;
        struct sf_tcp_info ti;
        if (c->abort_at_end && sf_tcp_info(st, c->sd, &ti) == 0 && ti.sndq)
            return; /* abort once all was acknowledged, to reset a reader */
        if (c->abort_at_end) {
            struct sf_linger lg = {1, 0};
            sf_setsockopt(st, c->sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg);
            sf_close(st, c->sd);
            c->sd = -1;
            c->status = EXIT_OK;
            end_loop(c);
        } else {
            sf_shutdown(st, c->sd, SF_SHUT_WR);
        }
        p->shut = true;
    }
}

/* The connection to stdout. */
static void pump_in(struct client *c)
{
    struct pipebuf *p = &c->in;
    for (int k = 0; k < 64 && c->sd >= 0; k++) {
        if (c->cli.threads > 1 && p->off < p->len) {
            size_t n = p->len - p->off;
            const uint8_t *want = c->pat + c->recv_pos % 251;
            if (memcmp(p->buf + p->off, want, n) != 0)
                for (size_t i = 0; i < n; i++)
                    c->recv_bad += p->buf[p->off + i] != want[i];
            c->recv_pos += n;
            p->off = p->len;
        }
        while (p->off < p->len) {
            ssize_t n = write(1, p->buf + p->off, p->len - p->off);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n < 0) {
                fprintf(stderr, "synfin connect: stdout: %s\n", strerror(errno));
                c->status = EXIT_ERR;
                end_loop(c);
                return;
            }
            p->off += (size_t)n;
        }
        p->off = p->len = 0;
        if (p->eof)
            return;
        long n = sf_recv(c->cli.tun.st, c->sd, p->buf, sizeof p->buf, 0);
        if (n == SF_EAGAIN)
            return;
        if (n < 0) {
            fail(c, (int)n);
            return;
        }
        p->len = (size_t)n;
        p->eof = n == 0;
        c->recv_total += (unsigned long long)n;
        if (p->eof)
            c->t_eof = sf_tun_now();
    }
}

static bool connecting(struct client *c, sf_time_t now)
{
    if (c->connected)
        return false;
    int r = sf_connect(c->cli.tun.st, c->sd, &c->remote);
    if (r == SF_EALREADY || r == SF_EINPROGRESS) {
        if (now >= c->connect_deadline)
            fail(c, SF_ETIMEDOUT);
        return true;
    }
    if (r < 0 && r != SF_EISCONN) {
        fail(c, r);
        return true;
    }
    c->connected = true;
    c->t_conn = now;
    if (!c->quiet)
        fprintf(stderr, "synfin connect: connected\n");
    return false;
}

/* Both directions ended: close, and stay until our FIN is acknowledged
 * (TIME_WAIT needs no process) or 3 s pass. */
static sf_time_t lingering(struct client *c, sf_time_t now)
{
    struct sf_stack *st = c->cli.tun.st;
    if (c->sd >= 0) {
        struct sf_addr local;
        sf_getsockname(st, c->sd, &local);
        sf_close(st, c->sd);
        c->sd = -1;
        c->remote_local = local;
        c->linger_deadline = now + 3 * SF_SEC;
    }
    struct sf_tcp_info ti;
    int r = sf_tcp_info_by_addr(st, &c->remote_local, &c->remote, &ti);
    if (r < 0 || ti.state == SF_TIME_WAIT || ti.state == SF_CLOSED ||
        now >= c->linger_deadline) {
        c->status = EXIT_OK;
        end_loop(c);
    }
    return c->linger_deadline;
}

static int client_pollfds(void *ctx, struct pollfd *fds, int max)
{
    struct client *c = ctx;
    int n = tun_cli_pollfds(&c->cli, fds, max);
    if (c->send_bytes < 0 && c->connected && !c->out.len && !c->out.eof && n < max)
        fds[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    if (c->in.len > c->in.off && n < max)
        fds[n++] = (struct pollfd){.fd = 1, .events = POLLOUT};
    return n;
}

/* SIGINT/SIGTERM and --grace ran out before the connection ended: say
 * where it stood, so that a user (or a test) sees what did not finish
 * (then it is reset). */
static void grace_out(struct client *c)
{
    struct sf_tcp_info i;
    if (c->sd < 0 || sf_tcp_info(c->cli.tun.st, c->sd, &i) < 0)
        return;
    fprintf(stderr, "synfin connect: thread %u: --grace %.1f s ran out with the "
            "connection in %s: %u bytes unacknowledged, %u queued to send, %u "
            "to read; %u retransmissions in a row, RTO %llu ms, cwnd %u, peer "
            "window %u\n", c->cli.thread, (double)c->cli.grace / 1e9,
            sf_state_name(i.state), i.snd_nxt - i.snd_una, i.sndq, i.rcvq,
            i.retransmits, (unsigned long long)(i.rto / SF_MSEC), i.snd_cwnd,
            i.snd_wnd);
}

static sf_time_t client_service(void *ctx, sf_time_t now, struct pollfd *fds,
                                int n)
{
    struct client *c = ctx;
    tun_cli_service(&c->cli, now, fds, n < 2 ? n : 2);
    if (c->status >= 0)
        return wait_others(c, now);
    if (c->sd < 0 && c->in.eof)
        return lingering(c, now);
    if (c->cli.quit && c->connected && !c->out.eof) {
        c->out.eof = true; /* SIGINT/SIGTERM: as if stdin ended */
        c->out.len = c->out.off = 0;
    }
    if (tun_cli_grace_over(&c->cli, now)) {
        grace_out(c);
        /* and a RST, rather than leave the peer waiting on a stack
         * about to be gone (RFC 9293 3.10.5 ABORT); then RESET_WAIT
         * more for a challenge ACK to answer (tun_cli.h) */
        sf_stack_abort_all(c->cli.tun.st);
    }
    if (c->cli.reset_sent && now < c->cli.quit_deadline)
        return c->cli.quit_deadline; /* the stack answers by itself */
    if (c->cli.quit && now >= c->cli.quit_deadline) {
        c->status = EXIT_OK;
        end_loop(c);
        return SF_TIME_NEVER;
    }
    if (connecting(c, now))
        return c->connect_deadline;
    pump_in(c);
    if (c->status < 0)
        pump_out(c);
    if (c->status < 0 && c->in.eof && c->in.off == c->in.len && c->out.shut)
        return lingering(c, now);
    return c->cli.quit ? c->cli.quit_deadline : SF_TIME_NEVER;
}

/* --threads: a local port whose flow the steering program sends to this
 * thread's queue (sf_tun_queue_of_ports), so that every reply reaches the
 * stack that owns the connection, as mTCP and F-Stack choose source ports
 * by the NIC's RSS hash. Ports of RFC 6056's range 49152-65535, from a
 * point drawn from the seed, the next that steers here and is free.
 * --xdp: always (the XDP program gives synfin only that range, RFC 6335
 * 6's dynamic ports), and with --queues N a port this thread's queue owns
 * (sf_xdp_port_queue: the queues hand each other the segments of their
 * ports, docs/xdp.md "Active opens"). */
static int bind_queue_port(struct client *c)
{
    struct sf_stack *st = c->cli.tun.st;
    unsigned n = c->cli.threads, k = c->cli.thread;
    bool xdp = c->cli.xdp.ifname != NULL;
    int one = 1;
    sf_setsockopt(st, c->sd, SF_SOL_SOCKET, SF_SO_REUSEADDR, &one, sizeof one);
    unsigned start = (unsigned)((c->cli.seed >> 16) + k * 4099u) % 16384u;
    if (c->any_port) { /* the control: any port, no matter its queue */
        uint32_t rnd = 0;
        if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
            rnd = (uint32_t)sf_tun_now();
        start = rnd % 16384u;
    }
    static const uint8_t any6[16];
    for (unsigned i = 0; i < 16384; i++) {
        uint16_t p = (uint16_t)(49152 + (start + i) % 16384);
        /* --xdp: a port this queue owns (xdp.h, sf_xdp_port_queue), of
         * the range the XDP program gives synfin (49152-65535) */
        if (!c->any_port && (xdp ? sf_xdp_port_queue(p, n)
                                 : sf_tun_queue_of_ports(p, c->remote.port, n)) != k)
            continue;
        struct sf_addr l = c->remote.family == SF_AF_INET6 ? sf_addr6(any6, p)
                                                           : sf_addr4(0, p);
        int r = sf_bind(st, c->sd, &l);
        if (r != SF_EADDRINUSE)
            return r;
    }
    return SF_EADDRNOTAVAIL;
}

static void summary(struct client *c)
{
    struct sf_addr l;
    if (c->sd < 0 || sf_getsockname(c->cli.tun.st, c->sd, &l) < 0)
        l = c->remote_local;
    if (c->cli.xdp.ifname) {
        char x[200], rate[64] = "";
        xdp_cli_summary(&c->cli, x, sizeof x);
        /* as kpeer.py's echo-client: from the handshake to the peer's FIN */
        if (c->t_eof > c->t_conn && c->t_conn) {
            double s = (double)(c->t_eof - c->t_conn) / 1e9;
            snprintf(rate, sizeof rate, " in %.2f s (%.1f Mbit/s each way)", s,
                     (double)c->sent_count * 8 / s / 1e6);
        }
        fprintf(stderr, "synfin connect: thread %u: local port %u (owned by queue "
                "%u), AF_XDP queue %u: sent %llu, received %llu bytes (%s)%s; %s\n",
                c->cli.thread, l.port, sf_xdp_port_queue(l.port, c->cli.threads),
                c->cli.thread, c->sent_count, c->recv_total,
                c->cli.threads < 2 ? "written out" : c->recv_bad ? "pattern BROKEN"
                                                                 : "pattern intact",
                rate, x);
        return;
    }
    const struct sf_tun_stats *t = &c->cli.tun.stats;
    fprintf(stderr, "synfin connect: thread %u: local port %u (steers to queue "
            "%u), queue %u: sent %lld, received %llu bytes (%s); datagrams in "
            "%llu, on a wrong queue %llu\n", c->cli.thread, l.port,
            sf_tun_queue_of_ports(l.port, c->remote.port, c->cli.threads),
            c->cli.tun.queue,
            c->sent_total, c->recv_pos,
            c->recv_bad ? "pattern BROKEN" : "pattern intact",
            (unsigned long long)t->rx, (unsigned long long)t->rx_wrong_queue);
}

static int run(struct client *c)
{
    struct sf_stack *st = c->cli.tun.st;
    c->sd = sf_socket(st);
    c->sent_total = c->send_bytes;
    int r = c->sd;
    /* (--xdp: always, the XDP program gives synfin only its range) */
    if (r >= 0 && (c->cli.threads > 1 || c->cli.xdp.ifname))
        r = bind_queue_port(c);
    if (r >= 0)
        r = sf_connect(st, c->sd, &c->remote);
    tun_cli_sockopts(&c->cli, c->sd);
    if (r < 0 && r != SF_EINPROGRESS) {
        fail(c, r);
        return c->status;
    }
    c->connect_deadline += sf_tun_now();
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
    struct sf_tun_hooks h = {c, client_pollfds, client_service};
    if (c->cli.xdp.ifname) {
        if (xdp_cli_run(&c->cli, &h, "synfin connect") < 0)
            return EXIT_ERR; /* it said why */
    } else if (sf_tun_run(&c->cli.tun, &h) < 0) {
        fprintf(stderr, "synfin connect: %s%u failed: %s\n",
                c->cli.threads > 1 ? "queue " : "the device, queue ",
                c->cli.thread, strerror(errno));
        return EXIT_ERR;
    }
    if (c->cli.threads > 1 || c->cli.xdp.ifname)
        summary(c);
    int st_ = c->status < 0 ? EXIT_ERR : c->status;
    return st_ == EXIT_OK && c->recv_bad ? EXIT_ERR : st_;
}

static int run_body(void *arg) { return run(arg); }

/* --threads N, or --xdp IFACE --queues N: N clients, one connection
 * each (mq.h). */
static int connect_mq(struct client *c0)
{
    bool xdp = c0->cli.xdp.ifname != NULL;
    unsigned n = xdp && c0->cli.threads <= 1 ? (unsigned)c0->cli.xdp.queues
                                              : c0->cli.threads;
    struct client **cl = calloc(n, sizeof *cl);
    struct tun_cli **cs = calloc(n + 1, sizeof *cs); /* NULL-ended */
    struct mq_worker *w = mq_alloc(n);
    int rc = EXIT_ERR;
    unsigned made = 0;
    for (; cl && cs && w && made < n; made++) {
        cl[made] = made ? malloc(sizeof *c0) : c0;
        if (!cl[made])
            break;
        if (made)
            memcpy(cl[made], c0, sizeof *c0);
        cs[made] = &cl[made]->cli;
    }
    if (made < n) {
        fprintf(stderr, "synfin connect: out of memory\n");
        goto out;
    }
    atomic_int live;
    atomic_init(&live, (int)n);
    for (unsigned k = 0; xdp && k < n; k++)
        cl[k]->live = &live;
    int sigfd;
    rc = tun_cli_start_mq(cs, n, "synfin connect", w, &sigfd);
    if (rc == 0) {
        for (unsigned k = 0; k < n; k++) {
            w[k].body = run_body;
            w[k].arg = cl[k];
        }
        /* (with --xdp the kernel's drops are AF_XDP's, per queue) */
        rc = mq_run_drops(w, n, sigfd, "synfin connect", c0->cli.dev, false,
                          xdp ? xdp_cli_drops : NULL, xdp ? (void *)cs : NULL);
        close(sigfd);
        for (unsigned k = n; k-- > 0;) /* copy 0 last: it owns --xdp's program */
            tun_cli_finish(cs[k]);
    }
out:
    if (w)
        mq_free(w, n);
    for (unsigned k = 1; k < made; k++)
        free(cl[k]);
    free(cl);
    free(cs);
    free(w);
    return rc;
}

int sf_cmd_connect(int argc, char **argv)
{
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return EXIT_ERR;
    tun_cli_init(&c->cli);
    c->cli.ctl_path = NULL;
    c->send_bytes = -1;
    c->status = -1;
    c->connect_deadline = 30 * SF_SEC;
    for (size_t i = 0; i < sizeof c->pat; i++)
        c->pat[i] = (uint8_t)(i % 251);
    int rc = parse(c, argc, argv);
    if (rc == OPT_HELP) {
        rc = EXIT_OK;
    } else if (rc == 0 && (c->cli.threads > 1 ||
                           (c->cli.xdp.ifname && c->cli.xdp.queues > 1))) {
        rc = connect_mq(c);
    } else if (rc == 0) {
        rc = tun_cli_start(&c->cli, "synfin connect");
        if (rc == 0)
            rc = run(c);
        tun_cli_finish(&c->cli);
    }
    free(c);
    return rc;
}
