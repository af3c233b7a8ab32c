/* synfin serve: the small servers every TCP tester reaches for, on synfin's
 * own address over a TUN device: echo (RFC 862), discard (RFC 863), daytime
 * (RFC 867), chargen (RFC 864), and proxy:PORT=HOST:PORT, which relays each
 * connection to a kernel TCP socket (the tun2socks pattern). The
 * per-connection logic lives in app_serve.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "net/app_serve.h"

static int parse_app(void *base, const struct opt *o, const char *v,
                     const char *prog)
{
    struct serve *s = base;
    char name[16], host[64];
    unsigned port, tport;
    struct app *a = &s->apps[s->napps];
    if (s->napps >= SERVE_MAX_APPS) {
        fprintf(stderr, "synfin serve: at most %d apps\n", SERVE_MAX_APPS);
        return OPT_FAIL;
    }
    (void)o, (void)prog;
    memset(a, 0, sizeof *a);
    a->lsd = -1;
    /* proxy:PORT=A.B.C.D:PORT or proxy:PORT=[IPV6]:PORT (RFC 3986 3.2.2) */
    if (sscanf(v, "proxy:%u=[%63[^]]]:%u", &port, host, &tport) == 3 ||
        sscanf(v, "proxy:%u=%63[^:]:%u", &port, host, &tport) == 3) {
        a->kind = APP_PROXY;
        if (sf_addr_parse_ip(host, &a->target) != 0 || tport == 0 || tport > 65535)
            goto bad;
        a->target.port = (uint16_t)tport;
    } else if (sscanf(v, "%15[a-z]:%u", name, &port) == 2) {
        static const char *const names[] = {"echo", "discard", "daytime", "chargen"};
        a->kind = APP_NKINDS;
        for (int k = 0; k < 4; k++)
            if (!strcmp(name, names[k]))
                a->kind = (enum app_kind)k;
        if (a->kind == APP_NKINDS)
            goto bad;
    } else
        goto bad;
    if (port == 0 || port > 65535)
        goto bad;
    a->port = (uint16_t)port;
    s->napps++;
    return 0;
bad:
    fprintf(stderr, "synfin serve: --app wants echo|discard|daytime|chargen:PORT "
            "or proxy:PORT=A.B.C.D:PORT or proxy:PORT=[IPV6]:PORT, not '%s'\n", v);
    return OPT_FAIL;
}

/* Any number: atof's, as ever (not checked). */
static int parse_close_delay(void *base, const struct opt *o, const char *v,
                             const char *prog)
{
    struct serve *s = base;
    (void)o, (void)prog;
    s->close_delay = (sf_time_t)(atof(v) * 1e6);
    return 0;
}

static void serve_report(const struct opt_err *e)
{
    fprintf(stderr, "synfin serve: unknown option or missing value '%s'\n", e->name);
}

static const struct opt serve_opts[] = {
    {.kind = OPT_TEXT,
     .help = "apps (repeat --app; served on synfin's own address):\n"
             "  echo:PORT        echoes; after the peer's FIN finishes echoing, closes\n"
             "  discard:PORT     reads and drops\n"
             "  daytime:PORT     writes one line and closes at once (active close)\n"
             "  chargen:PORT     streams RFC 864 lines until the peer closes\n"
             "  proxy:PORT=HOST:PORT  relays to a kernel TCP socket, both ways,\n"
             "                   half-close preserved\n"},
    {.name = "--app", .kind = OPT_FN, .fn = parse_app},
    {.name = "--close-delay", .kind = OPT_FN, .fn = parse_close_delay, .arg = "MS",
     .help = "hold a connection MS after the peer's FIN before\n"
             "closing (default 0; shows CLOSE_WAIT to `synfin ss`)"},
    {.kind = OPT_END},
};

/* Returns 0, OPT_HELP after the help, or 2 after a message. */
static int parse(struct serve *s, int argc, char **argv)
{
    struct opt_group g[3] = {{serve_opts, s, serve_report},
                             tun_cli_group(&s->cli), xdp_cli_group(&s->cli.xdp)};
    struct opt_cmd c = {
        .prog = "synfin serve",
        .usage = "usage: synfin serve [--tun DEV] [--addr A.B.C.D] [--host A.B.C.D/N]\n"
                 "                    --app NAME:PORT [--app ...] [options]\n",
        .footer = "SIGINT/SIGTERM: listeners close, every connection is flushed and sent\n"
                  "a FIN, and synfin waits --grace seconds at most; what is still open\n"
                  "then is reset (one line says how many), and synfin exits 0.\n",
        .groups = g, .ngroups = 3};
    int rc = opt_parse(&c, argc, argv);
    if (rc)
        return rc;
    if (s->napps == 0) {
        fprintf(stderr, "synfin serve: give at least one --app NAME:PORT "
                "(see synfin serve --help)\n");
        return 2;
    }
    return 0;
}

static int serve_body(void *arg) { return serve_run(arg); }

/* --threads N, or --xdp IFACE --queues N: N copies of the parsed
 * options, one per worker (mq.h), each with its own stack and queue. */
static int serve_mq(struct serve *s0)
{
    bool xdp = s0->cli.xdp.ifname != NULL;
    unsigned n = xdp && s0->cli.threads <= 1 ? (unsigned)s0->cli.xdp.queues
                                              : s0->cli.threads;
    struct serve **ss = calloc(n, sizeof *ss);
    struct tun_cli **cs = calloc(n + 1, sizeof *cs); /* NULL-ended */
    struct mq_worker *w = mq_alloc(n);
    int rc = 1;
    unsigned made = 0;
    for (; ss && cs && w && made < n; made++) {
        ss[made] = made ? malloc(sizeof *s0) : s0;
        if (!ss[made])
            break;
        if (made)
            memcpy(ss[made], s0, sizeof *s0);
        cs[made] = &ss[made]->cli;
    }
    if (made < n) {
        fprintf(stderr, "synfin serve: out of memory\n");
        goto out;
    }
    int sigfd;
    rc = tun_cli_start_mq(cs, n, "synfin serve", w, &sigfd);
    if (rc == 0) {
        for (unsigned k = 0; k < n; k++) {
            w[k].body = serve_body;
            w[k].arg = ss[k];
        }
        /* (with --xdp the kernel's drops are AF_XDP's, per queue) */
        rc = mq_run_drops(w, n, sigfd, "synfin serve", s0->cli.dev, true,
                          xdp ? xdp_cli_drops : NULL, xdp ? (void *)cs : NULL);
        close(sigfd);
        for (unsigned k = n; k-- > 0;) /* copy 0 last: it owns --xdp's program */
            tun_cli_finish(cs[k]);
    }
out:
    if (w)
        mq_free(w, n);
    for (unsigned k = 1; k < made; k++)
        serve_free(ss[k]);
    free(ss);
    free(cs);
    free(w);
    return rc;
}

int sf_cmd_serve(int argc, char **argv)
{
    struct serve *s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    tun_cli_init(&s->cli);
    int rc = parse(s, argc, argv);
    if (rc == OPT_HELP) {
        rc = 0;
    } else if (rc == 0 && (s->cli.threads > 1 ||
                           (s->cli.xdp.ifname && s->cli.xdp.queues > 1))) {
        rc = serve_mq(s);
    } else if (rc == 0) {
        rc = tun_cli_start(&s->cli, "synfin serve");
        if (rc == 0)
            rc = serve_run(s);
        tun_cli_finish(&s->cli);
    }
    serve_free(s);
    return rc;
}
