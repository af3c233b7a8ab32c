/* synfin tun2socks: every TCP flow a TUN device catches, relayed through a
 * SOCKS5 proxy (RFC 1928, RFC 1929) or directly, by synfin's stack.
 *
 * One thread, one loop: sf_tun_run (src/link/tun.c, with its offloads)
 * waits on the device, the signalfd, the control socket and one epoll
 * descriptor holding every upstream socket, with the stack's
 * sf_stack_advance deadline (or an earlier flow deadline) as its timeout;
 * the stack's wakeup callback and the epoll events put flows on a ready
 * list, so a wake-up costs only the flows that can move (flow.c). This
 * file: options, start-up, the control socket, --print-routes, --stats. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmds.h"
#include "t2s/t2s.h"
#include "t2s/udp.h"
#include "synfin/wire.h"

#define PROG "synfin tun2socks"

/* ---------------------------------------------------------- options */

static int opt_proxy(void *base, const struct opt *o, const char *v, const char *prog)
{
    struct t2s *t = base;
    char err[256];
    (void)o;
    if (s5_url_parse(v, &t->url, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return OPT_FAIL;
    }
    t->proxy_text = v;
    return 0;
}

static int opt_rule(void *base, const struct opt *o, const char *v, const char *prog)
{
    struct t2s *t = base;
    char err[300];
    (void)o;
    if (t2s_rule_add(&t->rules, v, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return OPT_FAIL;
    }
    return 0;
}

static int opt_fwmark(void *base, const struct opt *o, const char *v, const char *prog)
{
    struct t2s *t = base;
    char *end;
    (void)o;
    errno = 0;
    unsigned long long m = strtoull(v, &end, 0);
    if (errno || end == v || *end || m == 0 || m > 0xffffffffull || v[0] == '-') {
        fprintf(stderr, "%s: --fwmark wants a mark 1..0xffffffff (decimal or 0x hex), "
                "not '%s'\n", prog, v);
        return OPT_FAIL;
    }
    t->fwmark = (uint32_t)m;
    t->have_mark = true;
    return 0;
}

static void t2s_report(const struct opt_err *e)
{
    if (e->kind == OPT_E_MISSING)
        fprintf(stderr, "%s: %s needs a value\n", e->prog, e->name);
    else if (e->kind == OPT_E_BAD)
        fprintf(stderr, "%s: %s wants a number in %g..%g, not '%s'\n", e->prog,
                e->name, e->o->lo, e->o->hi, e->value);
    else
        fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", e->prog,
                e->name, e->prog);
}

#define OFF(field) offsetof(struct t2s, field)
static const struct opt t2s_opts[] = {
    {.kind = OPT_TEXT, .help = "upstream (one of --proxy, --direct):\n"},
    {.name = "--proxy", .kind = OPT_FN, .fn = opt_proxy, .arg = "URL",
     .help = "socks5://[user:pass@]host:port: relay every TCP flow\n"
             "through this SOCKS5 server (CONNECT; RFC 1929 user/pass)"},
    {.name = "--socks-pipeline", .kind = OPT_FLAG, .off = OFF(socks_pipeline),
     .as = OPT_AS_BOOL, .val = 1,
     .help = "send the SOCKS5 greeting, user/pass and request at\n"
             "once: one round trip to the proxy, not two or three.\n"
             "Learnt: one flow tries first; a server that does not\n"
             "answer it in 1 s (microsocks) gets that flow again one\n"
             "message at a time, and after 2 such, no pipelining"},
    {.name = "--direct", .kind = OPT_FLAG, .off = OFF(direct), .as = OPT_AS_BOOL, .val = 1,
     .help = "connect each flow's destination from this host (the\n"
             "default action; with --proxy too, rules pick per flow)"},
    {.name = "--out-iface", .kind = OPT_STR, .off = OFF(out_iface), .arg = "IF",
     .flags = OPT_F_NONEMPTY,
     .help = "upstream sockets bound to IF (SO_BINDTODEVICE), so\n"
             "they do not loop back into the TUN"},
    {.name = "--fwmark", .kind = OPT_FN, .fn = opt_fwmark, .arg = "N",
     .help = "upstream sockets marked N (SO_MARK) for an `ip rule`\n"
             "that keeps them out of the TUN (see --print-routes)"},
    {.name = "--rule", .kind = OPT_FN, .fn = opt_rule, .arg = "R",
     .usage = "--rule CIDR[:P[-P]]=A",
     .help = "A is proxy, direct or reject (a RST); CIDR is\n"
             "A.B.C.D/N, ADDR6/N, [ADDR6]:P or '*'; repeat it: the\n"
             "first match wins, else the default (proxy, or direct\n"
             "with --direct alone)"},
    {.kind = OPT_TEXT, .help = "bounds:\n"},
    {.name = "--max-flows", .kind = OPT_NUM, .off = OFF(max_flows), .as = OPT_AS_UINT,
     .lo = 1, .hi = 1000000, .flags = OPT_F_WHOLE, .arg = "N",
     .help = "TCP flows at once (default 4096); beyond, new SYNs\n"
             "get a RST. Each flow holds one upstream fd (the soft\n"
             "RLIMIT_NOFILE is raised to N+64) and ~300 bytes plus\n"
             "its socket buffers (--sndbuf/--rcvbuf, autotuned)"},
    {.name = "--syn-backlog", .kind = OPT_NUM, .off = OFF(syn_backlog), .as = OPT_AS_UINT,
     .lo = 1, .hi = 1000000, .flags = OPT_F_WHOLE, .arg = "N",
     .help = "SYNs held at once while their upstream opens (default\n"
             "1024, at most --max-flows); beyond, SYN cookies: such a\n"
             "flow's upstream opens only once the client completes\n"
             "the handshake, so a SYN flood costs at most N connects"},
    {.name = "--connect-timeout", .kind = OPT_NUM, .off = OFF(connect_timeout),
     .as = OPT_AS_U64, .lo = 0.001, .hi = 3600, .scale = 1e9, .arg = "S",
     .help = "upstream connect + SOCKS5 handshake at most S (default\n"
             "10); then the client's SYN goes unanswered (ETIMEDOUT)"},
    {.name = "--udp-max", .kind = OPT_NUM, .off = OFF(udp_max), .as = OPT_AS_UINT,
     .lo = 1, .hi = 100000, .flags = OPT_F_WHOLE, .arg = "N",
     .help = "UDP associations (client source address:port) at once\n"
             "(default 1024); beyond, the least recently used is\n"
             "closed. Each holds 1 socket (direct) or 2 (proxied)"},
    {.name = "--udp-idle", .kind = OPT_NUM, .off = OFF(udp_idle),
     .as = OPT_AS_U64, .lo = 0.001, .hi = 86400, .scale = 1e9, .arg = "S",
     .help = "a UDP association without a datagram either way for S\n"
             "seconds is closed (default 60; one that has only sent\n"
             "to port 53: 30, or S if shorter)"},
    {.name = "--timestamps", .kind = OPT_FLAG, .off = OFF(timestamps), .as = OPT_AS_BOOL,
     .val = 1,
     .help = "offer RFC 7323 timestamps to the clients (default off:\n"
             "the device then merges synfin's segments into GSO\n"
             "writes, ~4x the throughput toward the clients)"},
    {.kind = OPT_TEXT, .help = "reports:\n"},
    {.name = "--stats", .kind = OPT_FLAG, .off = OFF(stats), .as = OPT_AS_BOOL, .val = 1,
     .help = "print the totals at exit (also: synfin ss --stats)"},
    {.name = "--print-routes", .kind = OPT_FLAG, .off = OFF(print_routes),
     .as = OPT_AS_BOOL, .val = 1,
     .help = "print the ip route/ip rule commands that send traffic\n"
             "into the TUN and keep synfin's own out, and exit"},
    {.kind = OPT_END},
};

static int parse(struct t2s *t, int argc, char **argv)
{
    struct opt_group g[2] = {{t2s_opts, t, t2s_report}, tun_cli_group(&t->cli)};
    struct opt_cmd c = {
        .prog = PROG,
        .usage = "usage: synfin tun2socks --tun DEV --proxy socks5://[user:pass@]HOST:PORT [options]\n"
                 "       synfin tun2socks --tun DEV --direct (--out-iface IF | --fwmark N) [options]\n"
                 "Relays every TCP flow routed into DEV (any address, any port) through a\n"
                 "SOCKS5 proxy or directly; the client's connect succeeds only once the\n"
                 "upstream did, and fails as the upstream's did (docs/tun2socks.md).\n",
        .footer = "SIGINT/SIGTERM: no new flows; every flow gets a FIN both ways once what\n"
                  "is buffered went through; after --grace seconds what is left is reset.\n"
                  "Needs CAP_NET_ADMIN (the TUN device, SO_MARK). `synfin ss` lists the flows\n"
                  "with their upstream and bytes relayed.\n",
        .groups = g, .ngroups = 2};
    int rc = opt_parse(&c, argc, argv);
    if (rc)
        return rc;
    if (!t->proxy_text && !t->direct && !t->print_routes) {
        fprintf(stderr, "%s: give --proxy socks5://HOST:PORT or --direct\n", PROG);
        return 2;
    }
    if (t->socks_pipeline && !t->proxy_text) {
        fprintf(stderr, "%s: --socks-pipeline needs --proxy\n", PROG);
        return 2;
    }
    if (t->direct && t->proxy_text)
        t->direct = false; /* --proxy is the default action; rules pick direct */
    if (!t->proxy_text)
        for (int i = 0; i < t->rules.n; i++)
            if (t->rules.r[i].action == T2S_PROXY) {
                fprintf(stderr, "%s: --rule %d says proxy but no --proxy was given\n",
                        PROG, i + 1);
                return 2;
            }
    if (t->out_iface && !if_nametoindex(t->out_iface)) {
        fprintf(stderr, "%s: --out-iface %s: no such interface\n", PROG, t->out_iface);
        return 2;
    }
    return 0;
}

/* --------------------------------------------------------- privilege */

/* CAP_NET_ADMIN (bit 12) in the effective set: the TUN device and SO_MARK
 * need it. */
static bool have_net_admin(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long eff = 0;
    bool found = false;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1) {
            found = true;
            break;
        }
    if (f)
        fclose(f);
    return found ? (eff >> 12) & 1 : geteuid() == 0;
}

static int resolve_proxy(struct t2s *t)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof port, "%u", t->url.port);
    int r = getaddrinfo(t->url.host, port, &hints, &res);
    if (r || !res) {
        fprintf(stderr, "%s: cannot resolve the proxy host '%s': %s\n", PROG,
                t->url.host, r ? gai_strerror(r) : "no address");
        return -1;
    }
    memcpy(&t->proxy_sa, res->ai_addr, res->ai_addrlen);
    t->proxy_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* ---------------------------------------------------- --print-routes */

static void print_routes(const struct t2s *t)
{
    const char *dev = t->cli.dev;
    unsigned mark = t->have_mark ? t->fwmark : 0x5f;
    unsigned table = mark & 0xffff ? (mark & 0xffff) : 95;
    if (table == 253 || table == 254 || table == 255)
        table = 95; /* not default, main, local */
    printf("# synfin tun2socks --tun %s: what sends traffic into it, and keeps\n"
           "# synfin's own upstream sockets out. synfin creates %s and gives its\n"
           "# kernel side --host (default 198.18.0.1/24); run these after it is up.\n\n",
           dev, dev);
    printf("# A. Gateway: hosts or namespaces behind interface IN (e.g. a veth)\n"
           "#    send their traffic here; synfin's own sockets are local, so they\n"
           "#    follow the main table and need no mark.\n"
           "sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1\n"
           "ip route add default dev %s table %u\n"
           "ip -6 route add default dev %s table %u\n"
           "ip rule add iif IN lookup %u pref 5210\n"
           "ip -6 rule add iif IN lookup %u pref 5210\n\n",
           dev, table, dev, table, table, table);
    printf("# B. This machine (or this namespace) itself: everything but synfin's\n"
           "#    marked sockets%s; routes more specific than the default (the\n"
           "#    LAN, the proxy's subnet) still win.\n"
           "ip route add default dev %s table %u\n"
           "ip -6 route add default dev %s table %u\n"
           "ip rule add table main suppress_prefixlength 0 pref 5200\n"
           "ip -6 rule add table main suppress_prefixlength 0 pref 5200\n"
           "ip rule add not fwmark 0x%x table %u pref 5201\n"
           "ip -6 rule add not fwmark 0x%x table %u pref 5201\n\n",
           t->have_mark ? "" : " (run synfin with --fwmark 0x5f for these)", dev, table,
           dev, table, mark, table, mark, table);
    printf("# C. Only some destinations (no rule, no mark): a route into %s for\n"
           "#    them, e.g. 198.18.2.0/24; the proxy must not be among them.\n"
           "ip route add 198.18.2.0/24 dev %s\n\n", dev, dev);
    printf("# Undo: ip rule del pref 5200; ip rule del pref 5201; ip rule del pref 5210;\n"
           "#       ip route flush table %u (and the same with ip -6).\n", table);
}

/* ------------------------------------------------- control and stats */

struct ss_walk {
    struct t2s *t;
    FILE *f;
    sf_time_t now;
};

static int ss_flow_row(void *ctx, const struct sf_tcp_info *i)
{
    struct ss_walk *w = ctx;
    struct t2s *t = w->t;
    struct flow *f = i->sd >= 0 && (unsigned)i->sd < t->nby_sd ? t->by_sd[i->sd] : NULL;
    char extra[128];
    if (f)
        snprintf(extra, sizeof extra, "%s\t%llu\t%llu",
                 f->act == T2S_PROXY ? "socks5" : "direct",
                 (unsigned long long)f->up_bytes, (unsigned long long)f->down_bytes);
    ctl_ss_row(w->f, w->now, i, f ? extra : NULL);
    return 0;
}

/* Flows without a stack socket yet (their upstream is being opened, the
 * client's SYN held): shown as SYN-RECV, the state the client is
 * answered from. */
static void ss_pending(struct t2s *t, FILE *out, sf_time_t now)
{
    for (struct flow *f = t->flows; f; f = f->next) {
        if (f->sd >= 0 || f->st == FL_DONE)
            continue;
        struct sf_tcp_info i;
        memset(&i, 0, sizeof i);
        i.state = SF_SYN_RCVD;
        i.sd = -1;
        i.local = f->dst;
        i.remote = f->client;
        i.timer = SF_TIMER_NONE;
        char extra[128];
        snprintf(extra, sizeof extra, "%s%s\t0\t0",
                 f->act == T2S_PROXY ? "socks5" : "direct",
                 f->st == FL_WAIT_ACCEPT ? "(ready)" : "(connecting)");
        ctl_ss_row(out, now, &i, extra);
    }
}

#define T2S_COUNTERS(X)                                                          \
    X(syns) X(flows) X(cookie_flows) X(rejected) X(over_limit) X(quit_refused)   \
    X(up_refused) X(up_unreach) X(up_timeout) X(up_other) X(socks_errors)        \
    X(icmp_sent) X(accept_timeout) X(client_resets) X(upstream_resets)           \
    X(closed_clean) X(bytes_up) X(bytes_down) X(max_flows_seen) X(loops)       \
    X(mem_refused) X(mem_waits) X(pipelined) X(pipe_probes) X(pipe_fallbacks)

static void t2s_stats(struct t2s *t, FILE *f, const char *prefix)
{
#define X(n) fprintf(f, "%s" #n " %llu\n", prefix, (unsigned long long)t->ctr.n);
    T2S_COUNTERS(X)
#undef X
    fprintf(f, "%sflows_open %u\n", prefix, t->nflows);
    struct sf_mem_info mi;
    sf_stack_mem(t->cli.tun.st, &mi);
    fprintf(f, "%smem_full %d\n", prefix, mi.full ? 1 : 0); /* at the cap now */
    if (t->udp) {
        for (int i = 0; i < T2S_UDP_NCOUNTERS; i++)
            fprintf(f, "%sudp.%s %llu\n", prefix, t2s_udp_counter_name(i),
                    (unsigned long long)t2s_udp_counter(t->udp, i));
        const struct t2s_udp_stats *us = t2s_udp_stats(t->udp);
        fprintf(f, "%sudp.assoc_open %u\n%sudp.fds_open %u\n", prefix,
                us->assoc_now, prefix, us->fds_now);
        for (int d = 1; d < SF_NDROPS; d++)
            if (us->parse[d])
                fprintf(f, "%sudp.parse.%s %llu\n", prefix, sf_drop_name(d),
                        (unsigned long long)us->parse[d]);
    }
}

static void answer(void *ctx, const char *cmd, FILE *f)
{
    struct t2s *t = ctx;
    if (!strcmp(cmd, "ss")) {
        struct ss_walk w = {t, f, sf_tun_now()};
        sf_stack_foreach(t->cli.tun.st, ss_flow_row, &w);
        ss_pending(t, f, w.now);
    } else if (!strcmp(cmd, "stats")) {
        ctl_answer_cli(&t->cli, cmd, f);
        t2s_stats(t, f, "t2s.");
    } else {
        ctl_answer_cli(&t->cli, cmd, f);
    }
}

/* -------------------------------------------------------------- loop */

static int hook_pollfds(void *ctx, struct pollfd *fds, int max)
{
    struct t2s *t = ctx;
    int n = tun_cli_pollfds(&t->cli, fds, max);
    if (n < max)
        fds[n++] = (struct pollfd){.fd = t->epfd, .events = POLLIN};
    return n;
}

static int busy_conn(void *ctx, const struct sf_tcp_info *i)
{
    (void)ctx;
    return i->state != SF_LISTEN && i->state != SF_TIME_WAIT && i->state != SF_CLOSED;
}

static void drain_epoll(struct t2s *t)
{
    struct epoll_event ev[256];
    for (int round = 0; round < 16; round++) {
        int n = epoll_wait(t->epfd, ev, 256, 0);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 & 1) /* a UDP relay socket (udp_fd_add) */
                t2s_udp_event(t->udp, (int)(ev[i].data.u64 >> 1), ev[i].events,
                              sf_tun_now());
            else
                t2s_upstream_event(t, ev[i].data.ptr, ev[i].events);
        }
        if (n < 256)
            return;
    }
}

static sf_time_t hook_service(void *ctx, sf_time_t now, struct pollfd *fds, int n)
{
    struct t2s *t = ctx;
    bool was_quit = t->cli.quit;
    /* the signal here; the control socket below, with our answers */
    tun_cli_service(&t->cli, now, fds, n < 1 ? n : 1);
    if (n >= 2 && (fds[1].revents & POLLIN))
        ctl_answer_one(t->cli.ctl_fd, answer, t);
    if (t->cli.quit && !was_quit) {
        fprintf(stderr, "%s: stopping: %u flows to close (at most %.1f s)\n", PROG,
                t->nflows, (double)t->cli.grace / 1e9);
        t2s_quit(t);
    }
    drain_epoll(t);
    sf_time_t next = t2s_work(t, now);
    if (t->udp) {
        sf_time_t un = t2s_udp_advance(t->udp, now);
        if (un < next)
            next = un;
    }
    if (t->cli.quit) {
        if (tun_cli_grace_over(&t->cli, now)) {
            unsigned left = t->nflows;
            t2s_abort_all(t);
            t2s_work(t, now);
            /* and the connections no flow holds any more (closed by
             * the relay, still ending): no client is left waiting on a
             * stack that is gone (RFC 9293 3.10.5 ABORT); then
             * RESET_WAIT more for a challenge ACK to answer (tun_cli.h) */
            int more = sf_stack_abort_all(t->cli.tun.st);
            fprintf(stderr, "%s: --grace %.1f s ran out: %u flow%s and %d other "
                    "connection%s reset\n", PROG, (double)t->cli.grace / 1e9, left,
                    left == 1 ? "" : "s", more, more == 1 ? "" : "s");
        } else if (now >= t->cli.quit_deadline) {
            t->cli.tun.stop = 1;
        } else if (t->cli.reset_sent) {
            /* the stack answers by itself until the deadline */
        } else if (t->nflows == 0 && !sf_stack_foreach(t->cli.tun.st, busy_conn, NULL)) {
            t->cli.tun.stop = 1;
        }
        if (next > t->cli.quit_deadline)
            next = t->cli.quit_deadline;
        /* the stack's FINs are acknowledged without us: look again soon */
        if (next > now + 50 * SF_MSEC)
            next = now + 50 * SF_MSEC;
    }
    return next;
}

/* ---------------------------------------------------------- start-up */

static void raise_nofile(struct t2s *t)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = (rlim_t)t->max_flows + 64 + 2 * (rlim_t)(t->udp_max ? t->udp_max : 1024);
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        fprintf(stderr, "%s: warning: RLIMIT_NOFILE is %llu: fewer than --max-flows %u "
                "upstream sockets can be open (raise it with ulimit -n)\n", PROG,
                (unsigned long long)rl.rlim_cur, t->max_flows);
}

/* The UDP relay's side of the loop (tools/synfin/t2s/udp.h): datagrams to
 * the device go out as the stack's do; its sockets share the epoll set,
 * tagged with the low bit (a flow pointer never has it). */
static void udp_tun_write(void *ctx, const uint8_t *d, size_t len)
{
    struct t2s *t = ctx;
    sf_tun_output(&t->cli.tun, d, len);
}

static int udp_fd_add(void *ctx, int fd, uint32_t events)
{
    struct t2s *t = ctx;
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)fd << 1 | 1};
    return epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void udp_fd_del(void *ctx, int fd)
{
    struct t2s *t = ctx;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static enum t2s_udp_route udp_route(void *ctx, const struct sockaddr *sa)
{
    struct t2s *t = ctx;
    const uint8_t *a;
    uint16_t port;
    int fam;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        a = (const uint8_t *)&in->sin_addr, port = ntohs(in->sin_port), fam = 4;
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        a = in6->sin6_addr.s6_addr, port = ntohs(in6->sin6_port), fam = 6;
    }
    switch (t2s_rule_match(&t->rules, fam, a, port,
                           t->direct ? T2S_DIRECT : T2S_PROXY, NULL)) {
    case T2S_DIRECT:
        return T2S_UDP_DIRECT;
    case T2S_REJECT:
        return T2S_UDP_REJECT;
    default:
        return T2S_UDP_PROXY;
    }
}

/* Whether an IPv6 datagram carries UDP: its Next Header, or behind the
 * extension headers sf_ipv6_parse walks (RFC 8200 4.1: Hop-by-Hop 0,
 * Routing 43, Fragment 44, Destination Options 60), which only then are
 * walked here. */
static bool udp6(const uint8_t *d, size_t len)
{
    uint8_t nh = d[6];
    if (nh == SF_IPPROTO_UDP_NUM)
        return true;
    if (nh != 0 && nh != 43 && nh != 44 && nh != 60)
        return false;
    struct sf_ipv6 ip;
    return sf_ipv6_parse(d, len, &ip) == SF_DROP_NONE &&
           ip.proto == SF_IPPROTO_UDP_NUM;
}

/* Every datagram read from the device: the flows' tap, and UDP to the
 * relay (the stack then drops the datagram as not TCP, counted under
 * IP_PROTO/IP6_PROTO). */
static void t2s_udp_tap(void *ctx, sf_time_t now, enum sf_tun_dir dir,
                        const uint8_t *d, size_t len)
{
    struct t2s *t = ctx;
    t2s_tap(ctx, now, dir, d, len);
    if (dir != SF_TUN_IN || !t->udp || len < 20)
        return;
    if (((d[0] >> 4) == 4 && d[9] == SF_IPPROTO_UDP_NUM) ||
        ((d[0] >> 4) == 6 && len >= 40 && udp6(d, len)))
        t2s_udp_input(t->udp, now, d, len);
}

static int udp_start(struct t2s *t)
{
    struct t2s_udp_cfg c;
    memset(&c, 0, sizeof c);
    c.ctx = t;
    c.tun_write = udp_tun_write;
    c.fd_add = udp_fd_add;
    c.fd_del = udp_fd_del;
    c.route = udp_route;
    if (t->proxy_text) {
        memcpy(&c.proxy, &t->proxy_sa, t->proxy_len);
        c.proxy_len = t->proxy_len;
        if (t->url.has_auth)
            c.user = t->url.user, c.pass = t->url.pass;
        c.pipeline = false; /* --socks-pipeline: once a TCP flow's probe is answered (flow.c) */
    }
    c.bind_dev = t->out_iface;
    c.mark = t->have_mark ? t->fwmark : 0;
    c.idle_ns = t->udp_idle;
    c.handshake_ns = t->connect_timeout;
    c.max_assoc = t->udp_max;
    t->udp = t2s_udp_new(&c);
    return t->udp ? 0 : -1;
}

#define T2S_MSS_MAX 16000 /* the default MSS cap, see prepare() */
#define T2S_FIN_ACK_DELAY (40 * SF_MSEC) /* see prepare() */
#define T2S_RCVBUF_MAX (1u << 20) /* the receive buffer's autotuning ceiling, see prepare() */

/* The stack's settings for tun2socks, before the stack is made. */
static void prepare(struct t2s *t)
{
    struct sf_stack_cfg *cfg = &t->cli.cfg;
    cfg->max_sockets = t->max_flows + 16;
    /* The SYN queue holds the SYNs whose upstream is opening. Smaller
     * than --max-flows, so that a flood of SYNs that never complete (RFC
     * 4987) fills it, not the flows: past it the stack answers with SYN
     * cookies (RFC 4987 3.6), which hold nothing and cost no upstream
     * connect, and real clients still get in (on_syn, t2s_work). */
    unsigned synq = t->syn_backlog ? t->syn_backlog : 1024;
    cfg->syn_backlog = synq < t->max_flows ? synq : t->max_flows;
    if (cfg->default_backlog_max < t->max_flows)
        cfg->default_backlog_max = t->max_flows;
    cfg->syn_defer_timeout = t->connect_timeout + 5 * SF_SEC;
    /* The device's GSO merging (src/link/gso.c) takes only segments without
     * TCP options: with RFC 7323 timestamps on every segment, synfin's
     * sends toward the clients go out one write per segment, at a fifth of
     * the rate (docs/tun2socks.md). A TUN hop needs neither PAWS nor
     * their RTT samples. */
    cfg->timestamps = t->timestamps;
    /* A large TUN MTU (a "local" setup: --mtu 65000) made the MSS nearly
     * 64 KB, as large as the whole initial receive window: the kernel's
     * TSO writes then arrive one segment per window, under two full-sized
     * segments, so no ACK is due before the delayed-ACK timer (RFC 9293
     * 3.8.6.3) and uploads crawled at 40-50 Mbit/s (bench/tun2socks.sh,
     * local). Unless --mss says otherwise, advertise at most 16000 bytes:
     * four segments per 64 KB window. Not 16384: the kernel's TSO packet
     * holds at most 64 KB with its headers (its size goal is the device's
     * gso_max_size, 65536, less a header allowance, tcp_xmit_size_goal),
     * so four 16384-byte segments never fit and each TUN read carried
     * three, 48 KB; four of 16000 (64000 bytes) fit, and each read, the
     * ACK it gets and the send upstream carry a third more (bench/README.md,
     * tun2socks, the upload's syscalls). */
    if (!cfg->mss && t->cli.mtu - 40 > T2S_MSS_MAX)
        cfg->mss = T2S_MSS_MAX;
    /* A client that closes first (the usual HTTP/1.0-style exchange)
     * gets its FIN passed upstream, and the upstream's FIN comes back a
     * moment later: RFC 1122 4.2.3.2 lets the ACK of the client's FIN wait
     * for it (as Linux's delayed ACK in CLOSE_WAIT), one TUN write fewer
     * per such flow (bench/README.md, tun2socks cycles). 40 ms is
     * Linux's shortest delayed-ACK timeout, below any client's RTO. */
    cfg->fin_ack_delay = T2S_FIN_ACK_DELAY;
    /* The receive window toward a client covers the TUN hop alone (tens
     * of microseconds locally, a LAN's round trip through a gateway): the
     * long path's bytes in flight wait in the upstream socket's kernel
     * buffer (autotuned to 4 MB, tcp_wmem[2]). With the stack's 6 MB
     * ceiling an upload whose upstream was slower than the client filled
     * both, and from then on every byte was copied into the receive buffer
     * and out again, cold (t2s_on_deliver applies only while it is empty):
     * 80-96% of the bytes. With 1 MB (8 Gbit/s at a 1 ms round trip) the
     * kernel's buffer takes the backlog, the receive buffer empties between
     * bursts and about all bytes go upstream straight from the device's
     * read (bench/README.md, tun2socks, the upload's receive buffer). */
    if (cfg->rcvbuf_max > T2S_RCVBUF_MAX)
        cfg->rcvbuf_max = T2S_RCVBUF_MAX;
    cfg->wakeup = t2s_on_wakeup;
    cfg->wakeup_ctx = t;
    cfg->deliver = t2s_on_deliver; /* the client's bytes upstream without a copy */
    cfg->deliver_ctx = t;
    t->cli.backlog = (int)(t->max_flows < 65535 ? t->max_flows : 65535);
}

/* What follows the device and the stack (each thread's, with --threads). */
static int start_rest(struct t2s *t)
{
    struct sf_stack_cfg *cfg = &t->cli.cfg;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t->epfd >= 0 && udp_start(t) < 0) {
        fprintf(stderr, "%s: out of memory (the UDP relay)\n", PROG);
        return 1;
    }
    sf_tun_set_tap(&t->cli.tun, t2s_udp_tap, t);
    /* The tap reads no TCP checksum unless it writes --pcap: then the
     * driver need not complete them for it (docs/tun.md) */
    t->cli.tun.tap_partial = !t->cli.pcap;
    /* and without --pcap it reads only what comes in (SYNs for ICMP
     * quotes, UDP): what the stack writes is not copied for it */
    t->cli.tun.tap_in_only = !t->cli.pcap;
    unsigned hs = 64;
    while (hs < t->max_flows * 2)
        hs *= 2;
    t->hmask = hs - 1;
    t->htab = calloc(hs, sizeof *t->htab);
    t->nby_sd = cfg->max_sockets + 16;
    t->by_sd = calloc(t->nby_sd, sizeof *t->by_sd);
    if (t->epfd < 0 || !t->htab || !t->by_sd) {
        fprintf(stderr, "%s: out of memory or descriptors\n", PROG);
        return 1;
    }
    int r = t2s_listen(t);
    if (r < 0) {
        fprintf(stderr, "%s: cannot open the transparent listener: %s\n", PROG, sf_strerror(r));
        return 1;
    }
    raise_nofile(t);
    if (t->cli.thread > 0)
        return 0;
    char up[300];
    if (t->proxy_text)
        snprintf(up, sizeof up, "socks5 %s:%u%s", t->url.host, t->url.port,
                 t->url.has_auth ? " (user/pass)" : "");
    else
        snprintf(up, sizeof up, "direct");
    fprintf(stderr, "%s: relaying every TCP flow and UDP datagram on %s via %s%s%s%s; %d rules; "
            "at most %u flows%s\n", PROG, t->cli.tun.name, up,
            t->out_iface ? ", out of " : "", t->out_iface ? t->out_iface : "",
            t->have_mark ? ", marked" : "", t->rules.n, t->max_flows,
            t->cli.threads > 1 ? " per thread" : "");
    return 0;
}

static int start(struct t2s *t)
{
    prepare(t);
    int rc = tun_cli_start(&t->cli, PROG);
    return rc ? rc : start_rest(t);
}

static void print_stats(struct t2s *t)
{
    fprintf(stderr, "%s: totals:\n", PROG);
    t2s_stats(t, stderr, "  ");
}

/* One thread's loop, to its end (every flow closed or aborted). */
static int run_one(struct t2s *t)
{
    int rc = 0;
    struct sf_tun_hooks h = {t, hook_pollfds, hook_service};
    if (sf_tun_run(&t->cli.tun, &h) < 0) {
        tun_cli_run_failed(&t->cli, PROG);
        rc = 1;
    }
    t2s_abort_all(t);
    if (t->stats)
        print_stats(t);
    if (t->cli.thread == 0)
        fprintf(stderr, "%s: stopped\n", PROG);
    return rc;
}

static void finish_one(struct t2s *t)
{
    t2s_free_all(t);
    t2s_udp_free(t->udp);
    t->udp = NULL;
    tun_cli_finish(&t->cli);
    if (t->epfd >= 0)
        close(t->epfd);
    t->epfd = -1;
    free(t->htab);
    free(t->by_sd);
    t->htab = NULL;
    t->by_sd = NULL;
}

static int t2s_body(void *arg) { return run_one(arg); }

/* --threads N (docs/scale.md): N copies of the parsed options, each with
 * its own queue, stack, flows, upstream sockets and UDP relay; a flow is
 * relayed by the thread whose queue its SYN reached. --max-flows is per
 * thread. */
static int t2s_mq(struct t2s *t0)
{
    unsigned n = t0->cli.threads, made = 0;
    struct t2s **ts = calloc(n, sizeof *ts);
    struct tun_cli **cs = calloc(n, sizeof *cs);
    struct mq_worker *w = mq_alloc(n);
    int rc = 1;
    for (; ts && cs && w && made < n; made++) {
        ts[made] = made ? malloc(sizeof *t0) : t0;
        if (!ts[made])
            break;
        if (made)
            memcpy(ts[made], t0, sizeof *t0);
        prepare(ts[made]); /* cfg.wakeup_ctx: this copy */
        cs[made] = &ts[made]->cli;
    }
    if (made < n) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        goto out;
    }
    int sigfd;
    rc = tun_cli_start_mq(cs, n, PROG, w, &sigfd);
    if (rc)
        goto out;
    for (unsigned k = 0; k < n && rc == 0; k++)
        rc = start_rest(ts[k]);
    for (unsigned k = 0; k < n; k++) {
        w[k].body = t2s_body;
        w[k].arg = ts[k];
    }
    if (rc == 0)
        rc = mq_run(w, n, sigfd, PROG, t0->cli.dev, true);
    close(sigfd);
    for (unsigned k = 0; k < n; k++)
        finish_one(ts[k]);
out:
    if (w)
        mq_free(w, n);
    for (unsigned k = 1; k < made; k++)
        free(ts[k]);
    free(ts);
    free(cs);
    free(w);
    return rc;
}

int sf_cmd_tun2socks(int argc, char **argv)
{
    struct t2s *t = calloc(1, sizeof *t);
    if (!t)
        return 1;
    tun_cli_init(&t->cli);
    /* The kernel's work for each TUN write (forwarding, a gateway client's
     * TCP) in the device's NAPI thread, beside ours: gateway uploads 1.16x,
     * downloads 1.09x, the engine's CPU a GB 0.6-0.95x (bench/README.md,
     * 2026-12-04, threaded NAPI); --no-napi-thread for the old way. */
    t->cli.napi = true;
    t->max_flows = 4096;
    t->connect_timeout = 10 * SF_SEC;
    t->epfd = t->lsd = -1;
    t->next_deadline = SF_TIME_NEVER;
    int rc = parse(t, argc, argv);
    if (rc == OPT_HELP) {
        rc = 0;
    } else if (rc == 0 && t->print_routes) {
        print_routes(t);
    } else if (rc == 0) {
        if (!have_net_admin()) {
            fprintf(stderr, "%s: needs CAP_NET_ADMIN for the TUN device%s (run as root)\n",
                    PROG, t->have_mark ? " and SO_MARK" : "");
            rc = 2;
        } else if (t->proxy_text && resolve_proxy(t) < 0) {
            rc = 2;
        } else if (t->cli.threads > 1) {
            rc = t2s_mq(t);
            free(t);
            return rc;
        } else if ((rc = start(t)) == 0) {
            rc = run_one(t);
        }
        finish_one(t);
    }
    free(t);
    return rc;
}
