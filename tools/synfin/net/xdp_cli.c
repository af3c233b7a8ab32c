/* `synfin serve --xdp IFACE --queues N` (see xdp_cli.h, docs/xdp.md). */
#include "net/xdp_cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/tun_cli.h"

static int parse_ports(void *base, const struct opt *o, const char *v,
                       const char *prog)
{
    struct xdp_cli *x = base;
    (void)o;
    x->nports = 0;
    for (const char *s = v; *s;) {
        char *end;
        errno = 0;
        unsigned long p = strtoul(s, &end, 10);
        if (end == s || errno || p == 0 || p > 65535 || (*end && *end != ',') ||
            x->nports == XDP_CLI_MAX_PORTS) {
            fprintf(stderr, "%s: --xdp-ports wants up to %d TCP ports 1..65535 "
                    "separated by commas, not '%s'\n", prog, XDP_CLI_MAX_PORTS, v);
            return OPT_FAIL;
        }
        x->ports[x->nports++] = (uint16_t)p;
        s = *end ? end + 1 : end;
    }
    if (x->nports == 0) {
        fprintf(stderr, "%s: --xdp-ports wants at least one port\n", prog);
        return OPT_FAIL;
    }
    return 0;
}

static void xdp_cli_report(const struct opt_err *e)
{
    if (e->kind == OPT_E_MISSING)
        fprintf(stderr, "%s: %s needs a value\n", e->prog, e->name);
    else if (e->kind == OPT_E_BAD && e->o && e->o->why)
        fprintf(stderr, "%s: %s %s, not '%s'\n", e->prog, e->name, e->o->why, e->value);
    else
        fprintf(stderr, "%s: bad value '%s' for %s\n", e->prog,
                e->value ? e->value : "", e->name);
}

static const char *const mode_names[] = {"auto", "native", "generic", NULL};
static const int mode_vals[] = {SF_XDP_AUTO, SF_XDP_NATIVE, SF_XDP_GENERIC};
/* --xdp-tx (x->tx: 0 when not given, the default: inline) */
enum { TX_DEFAULT, TX_AUTO, TX_THREAD, TX_INLINE };
static const char *const tx_names[] = {"auto", "thread", "inline", NULL};
static const int tx_vals[] = {TX_AUTO, TX_THREAD, TX_INLINE};

static const char *const csum_names[] = {"auto", "on", "off", NULL};
static const int csum_vals[] = {SF_XDP_CSUM_AUTO, SF_XDP_CSUM_ON, SF_XDP_CSUM_OFF};

#define OFF(f) offsetof(struct xdp_cli, f)
static const struct opt xdp_opts[] = {
    {.kind = OPT_TEXT, .help = "AF_XDP instead of TUN (docs/xdp.md):\n"},
    {.name = "--xdp", .kind = OPT_STR, .off = OFF(ifname), .arg = "IFACE",
     .flags = OPT_F_NONEMPTY,
     .help = "serve (or connect) on an Ethernet interface's queues\n"
             "through AF_XDP; --addr is synfin's own address there\n"
             "(it answers ARP; connect takes only its TCP ports\n"
             "49152-65535, the rest goes to the kernel)"},
    {.name = "--queues", .kind = OPT_INT, .off = OFF(queues), .as = OPT_AS_INT,
     .min = 1, .max = XDP_CLI_MAX_QUEUES, .base = 10, .arg = "N",
     .why = "wants a number of queues, 1..64",
     .help = "queues 0..N-1, one stack and thread each, thread k\n"
             "pinned to core k (default 1; at most the cores online;\n"
             "control sockets --ctl PATH, PATH.K; docs/xdp.md)"},
    {.name = "--xdp-mode", .kind = OPT_ENUM, .off = OFF(mode), .as = OPT_AS_INT,
     .choices = mode_names, .vals = mode_vals, .arg = "auto|native|generic",
     .why = "wants auto, native or generic",
     .help = "where the XDP program runs (default auto: native,\n"
             "else generic, said aloud)"},
    {.name = "--xdp-copy", .kind = OPT_FLAG, .off = OFF(force_copy), .as = OPT_AS_BOOL,
     .val = 1, .help = "copy mode even where the driver has zero-copy"},
    {.name = "--xdp-tx", .kind = OPT_ENUM, .off = OFF(tx), .as = OPT_AS_INT,
     .choices = tx_names, .vals = tx_vals, .arg = "auto|thread|inline",
     .why = "wants auto, thread or inline",
     .help = "who pushes each queue's TX ring: the stack's loop\n"
             "(inline, the default), or a thread of the queue's own\n"
             "(the sendto() of copy mode runs the kernel's transmit\n"
             "path; it pays only with a core to spare); auto: the\n"
             "thread in copy mode with fewer queues than cores\n"
             "(docs/xdp.md, \"Where the time goes\")"},
    {.name = "--xdp-csum", .kind = OPT_ENUM, .off = OFF(csum), .as = OPT_AS_INT,
     .choices = csum_names, .vals = csum_vals, .arg = "auto|on|off",
     .why = "wants auto, on or off",
     .help = "TCP checksums left to the device through AF_XDP TX\n"
             "metadata (default auto: where the kernel takes it, in\n"
             "copy mode, with the device's tx-checksumming on; else\n"
             "synfin computes them, said in one line; on: or fail;\n"
             "docs/xdp.md, \"Checksum offload\")"},
    {.name = "--xdp-ports", .kind = OPT_FN, .fn = parse_ports, .arg = "P,P...",
     .help = "serve: the kernel keeps --addr too: only these TCP\n"
             "ports are synfin's (default: every datagram to --addr)"},
    {.kind = OPT_END},
};

struct opt_group xdp_cli_group(struct xdp_cli *x)
{
    if (!x->queues)
        x->queues = 1;
    return (struct opt_group){xdp_opts, x, xdp_cli_report};
}

bool xdp_cli_stray(struct tun_cli *c, const char *prog)
{
    const struct xdp_cli *x = &c->xdp;
    const char *o = x->queues > 1 ? "--queues" : x->mode ? "--xdp-mode"
                  : x->force_copy ? "--xdp-copy" : x->nports ? "--xdp-ports"
                  : x->tx ? "--xdp-tx" : x->csum ? "--xdp-csum" : NULL;
    if (o)
        fprintf(stderr, "%s: %s goes with --xdp IFACE (the TUN device has "
                "no AF_XDP queues)\n", prog, o);
    return o != NULL;
}

#ifndef SF_HAVE_XDP

int xdp_cli_start(struct tun_cli *c, const char *prog)
{
    (void)c;
    fprintf(stderr, "%s: this synfin was built without AF_XDP (it needs "
            "libxdp-dev, libbpf-dev and clang's bpf target: run scripts/deps.sh "
            "and rebuild)\n", prog);
    return 2;
}
int xdp_cli_run(struct tun_cli *c, const struct sf_tun_hooks *h, const char *prog)
{
    (void)c, (void)h, (void)prog;
    return -1;
}
void xdp_cli_finish(struct tun_cli *c) { (void)c; }
void xdp_cli_stats(struct tun_cli *c, FILE *f) { (void)c, (void)f; }
void xdp_cli_summary(struct tun_cli *c, char *buf, size_t len)
{
    (void)c;
    if (len)
        buf[0] = 0;
}
int xdp_cli_open_mq(struct tun_cli *const *cs, unsigned n, const char *prog)
{
    (void)n;
    xdp_cli_start(cs[0], prog); /* says the build lacks AF_XDP */
    return -1;
}
void xdp_cli_bind_mq(struct tun_cli *const *cs, unsigned n, const char *prog)
{
    (void)cs, (void)n, (void)prog;
}
long long xdp_cli_drops(void *ctx)
{
    (void)ctx;
    return -1;
}

#else

/* --xdp-tx. A TX thread per queue pays only with a core to spare
 * (bench/README.md, AF_XDP, 2026-12-03): on the 2-core VM, beside its
 * load, it made no difference out of the noise, so the loop pushes by
 * default. auto:
 * the thread where the queues leave a core free (the link's own auto
 * then takes it in copy mode only). */
static enum sf_xdp_tx tx_mode(int asked, unsigned queues)
{
    if (asked == TX_THREAD)
        return SF_XDP_TX_THREAD;
    if (asked == TX_AUTO && queues < mq_cores())
        return SF_XDP_TX_AUTO;
    return SF_XDP_TX_INLINE;
}

static int fail(const char *prog, const char *err)
{
    fprintf(stderr, "%s: %s\n", prog, err);
    return 2;
}

/* The program: serve's (the address, or --xdp-ports), or connect's (its
 * local port range, docs/xdp.md "Active opens"). */
static int open_prog(struct tun_cli *c, char *note, size_t notelen, char *err,
                     size_t errlen)
{
    struct xdp_cli *x = &c->xdp;
    if (x->active && x->nports) {
        snprintf(err, errlen, "--xdp-ports is for synfin serve (a shared "
                 "address); synfin connect --xdp owns --addr and takes its "
                 "local ports from %d-%d", XDP_CLI_PORT_LO, XDP_CLI_PORT_HI);
        return -1;
    }
    if (x->active)
        return sf_xdp_prog_open_active(&x->prog, x->ifname, c->addr,
                                       XDP_CLI_PORT_LO, XDP_CLI_PORT_HI,
                                       (enum sf_xdp_mode)x->mode, note, notelen,
                                       err, errlen);
    return sf_xdp_prog_open(&x->prog, x->ifname, c->addr, x->nports ? x->ports : NULL,
                            x->nports, (enum sf_xdp_mode)x->mode, note, notelen,
                            err, errlen);
}

/* --xdp-csum auto where the offload cannot be: one line, why. */
static void csum_said(const struct sf_xdp *q, const char *prog)
{
    const char *why = sf_xdp_csum_why(q);
    if (why)
        fprintf(stderr, "%s: TX checksum offload off: %s; synfin computes "
                "every TCP checksum\n", prog, why);
}

/* The banner's words for the checksums. */
static const char *csum_words(const struct sf_xdp *q)
{
    return sf_xdp_csum(q) ? "TCP checksums left to the device (TX metadata)"
                          : "TCP checksums computed by synfin";
}

/* The banner's words for what of the address is synfin's. */
static const char *whose(const struct xdp_cli *x)
{
    return x->active ? " (its TCP ports 49152-65535: active opens)"
           : x->nports ? " (shared with the kernel: --xdp-ports)" : "";
}

int xdp_cli_start(struct tun_cli *c, const char *prog)
{
    struct xdp_cli *x = &c->xdp;
    char err[256], note[256];
    if (c->has6)
        return fail(prog, "--addr6/--host6 do not go over --xdp: the AF_XDP "
                    "link carries IPv4 only");
    if (open_prog(c, note, sizeof note, err, sizeof err) < 0)
        return fail(prog, err);
    unsigned have = sf_xdp_prog_queues(x->prog);
    if ((unsigned)x->queues > have) {
        snprintf(err, sizeof err, "--queues %d: %s has %u RX queue%s", x->queues,
                 x->ifname, have, have == 1 ? "" : "s");
        return fail(prog, err);
    }
    int mtu = sf_xdp_prog_mtu(x->prog);
    if (mtu < 576) {
        snprintf(err, sizeof err, "%s's MTU %d is below 576 (RFC 791): set "
                 "it with `ip link set %s mtu 1500`", x->ifname, mtu, x->ifname);
        return fail(prog, err);
    }
    c->mtu = mtu;
    for (x->nq = 0; x->nq < x->queues; x->nq++) {
        if (sf_xdp_open(&x->q[x->nq], x->prog, (unsigned)x->nq, x->force_copy,
                        (enum sf_xdp_csum)x->csum, err, sizeof err) < 0)
            return fail(prog, err);
        sf_xdp_set_tx(x->q[x->nq], tx_mode(x->tx, (unsigned)x->queues));
        sf_xdp_set_busy_poll(x->q[x->nq], tun_cli_busy_ns(c));
    }
    if (c->pcap_path) {
        if (tun_cli_open_pcap(c, err, sizeof err) < 0)
            return fail(prog, err);
        sf_xdp_set_tap(x->q[0], tun_cli_pcap_tap, c);
    }
    c->dev = x->ifname; /* names the control socket */
    c->cfg.output = sf_xdp_output;
    c->cfg.output_gather = sf_xdp_output_gather;
    c->cfg.output_ctx = x->q[0];
    if (tun_cli_stack_ctl(c, prog) < 0)
        return 2;
    sf_xdp_set_stack(x->q[0], c->tun.st);
    struct sf_addr a = {.ip = c->addr, .port = 0};
    char ab[24];
    sf_addr_fmt(&a, ab, sizeof ab);
    *strrchr(ab, ':') = 0;
    bool zc = sf_xdp_zerocopy(x->q[0]);
    fprintf(stderr, "%s: %s\n", prog, note); /* which XDP mode, and why */
    if (have > (unsigned)x->queues)
        fprintf(stderr, "%s: %s has %u RX queues, synfin serves %d: its flows "
                "hashed to the others go to the kernel (xdp.no_socket counts "
                "them); steer them (ethtool -N %s flow-type tcp4 dst-ip ADDR "
                "action 0) or ethtool -L %s combined %d\n", prog, x->ifname,
                have, x->queues, x->ifname, x->ifname, x->queues);
    csum_said(x->q[0], prog);
    fprintf(stderr, "%s: %s up: AF_XDP queue 0, %s XDP, %s, %s, %s, MTU %d, "
            "synfin %s%s; control socket %s\n", prog, x->ifname,
            sf_xdp_prog_mode(x->prog),
            zc ? "zero-copy" : x->force_copy ? "copy mode (as asked)"
                             : "copy mode (the driver has no zero-copy)",
            sf_xdp_tx_thread(x->q[0]) ? "TX pushed by a thread" : "TX pushed inline",
            csum_words(x->q[0]), mtu, ab, whose(x), c->ctl_path);
    return 0;
}

/* One queue falling behind (issue 15, "a thread that falls behind"): the
 * kernel drops what its RX ring cannot hold (XDP_STATISTICS). With
 * --queues N mq_run's watch says so; with one queue the loop is the main
 * thread's, and this wrapper of the application's hooks keeps the same
 * watch (mq_drops_rise: once a second, said at most every 10 s). The
 * flows stay where they are: nothing moves them to another queue. */
struct behind_watch {
    const struct sf_tun_hooks *h;
    struct sf_xdp *q;
    const char *prog, *dev;
    struct mq_drops_watch dw;
};

static long long queue_drops(void *ctx)
{
    return (long long)sf_xdp_kernel_drops(ctx);
}

static int behind_pollfds(void *ctx, struct pollfd *fds, int max)
{
    struct behind_watch *w = ctx;
    return w->h->pollfds(w->h->ctx, fds, max);
}

static sf_time_t behind_service(void *ctx, sf_time_t now, struct pollfd *fds, int n)
{
    struct behind_watch *w = ctx;
    sf_time_t span;
    long long rise = mq_drops_rise(&w->dw, w->dev, &span);
    if (rise)
        fprintf(stderr, "%s: %s: the kernel dropped %lld frames in the last "
                "%.1f s that AF_XDP queue %u could not take (no free frame "
                "or RX ring room): synfin is falling behind (synfin ss --stats: "
                "xdp.k_rx_ring_full, xdp.k_rx_dropped)\n", w->prog, w->dev, rise,
                (double)span / (double)SF_SEC, sf_xdp_queue(w->q));
    sf_time_t t = w->h->service(w->h->ctx, now, fds, n);
    return t < w->dw.next ? t : w->dw.next;
}

int xdp_cli_run(struct tun_cli *c, const struct sf_tun_hooks *h, const char *prog)
{
    char err[256];
    struct behind_watch w = {
        .h = h, .q = c->xdp.q[0], .prog = prog, .dev = c->xdp.ifname,
        .dw = {.drops = queue_drops, .ctx = c->xdp.q[0]}};
    mq_drops_start(&w.dw, w.dev);
    struct sf_tun_hooks wh = {&w, behind_pollfds, behind_service};
    if (c->threads > 1) /* a worker of --queues N: mq_run watches */
        wh = *h;
    if (sf_xdp_run(c->xdp.q[0], &wh, &c->tun.stop, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    return 0;
}

void xdp_cli_finish(struct tun_cli *c)
{
    struct xdp_cli *x = &c->xdp;
    for (int i = 0; i < x->nq; i++)
        sf_xdp_close(x->q[i]);
    x->nq = 0;
    if (!x->prog_shared) /* --queues N: thread 0's, closed last */
        sf_xdp_prog_close(x->prog);
    x->prog = NULL;
}

void xdp_cli_stats(struct tun_cli *c, FILE *f)
{
    struct xdp_cli *x = &c->xdp;
    if (!x->prog || !x->nq)
        return;
    fprintf(f, "xdp.native %d\nxdp.zerocopy %d\nxdp.queues %d\nxdp.queue %u\n",
            !strcmp(sf_xdp_prog_mode(x->prog), "native"),
            sf_xdp_zerocopy(x->q[0]), c->threads > 1 ? (int)c->threads : x->nq,
            sf_xdp_queue(x->q[0]));
    const struct sf_xdp_stats *s = sf_xdp_stats(x->q[0]);
#define X(n) fprintf(f, "xdp." #n " %llu\n", (unsigned long long)s->n)
    X(rx); X(tx); X(rx_bytes); X(tx_bytes); X(rx_arp); X(tx_arp); X(rx_other);
    X(tx_full); X(tx_no_neigh); X(tx_too_big); X(tx_not_ipv4); X(kicks);
    X(tx_dropped);
    X(neigh_merged);
    X(k_rx_dropped); X(k_rx_ring_full); X(k_fill_empty);
    X(tx_thread); X(tx_thread_sends);
    X(handoff_out); X(handoff_in); X(handoff_full); X(rx_frames);
    X(tx_csum_offload); X(tx_csum_offloaded); X(tx_gathered);
    X(sg); X(rx_sg); X(tx_sg); X(rx_sg_bad); X(rx_sg_direct); X(rx_sg_held);
    X(busy_turns);
#undef X
    fprintf(f, "xdp.no_socket %llu\n", (unsigned long long)sf_xdp_prog_no_socket(x->prog));
}

void xdp_cli_summary(struct tun_cli *c, char *buf, size_t len)
{
    struct xdp_cli *x = &c->xdp;
    if (!x->nq) {
        if (len)
            buf[0] = 0;
        return;
    }
    const struct sf_xdp_stats *s = sf_xdp_stats(x->q[0]);
    snprintf(buf, len, "frames off its queue %llu; datagrams in %llu (handed "
             "over from other queues %llu), handed to other queues %llu (ring "
             "full %llu)", (unsigned long long)s->rx_frames,
             (unsigned long long)s->rx,
             (unsigned long long)s->handoff_in, (unsigned long long)s->handoff_out,
             (unsigned long long)s->handoff_full);
}

/* --queues N (N > 1): thread k's copy cs[k] gets queue k. */
int xdp_cli_open_mq(struct tun_cli *const *cs, unsigned n, const char *prog)
{
    struct tun_cli *c0 = cs[0];
    struct xdp_cli *x0 = &c0->xdp;
    char err[256], note[256];
    if (c0->has6) {
        fail(prog, "--addr6/--host6 do not go over --xdp: the AF_XDP link "
             "carries IPv4 only");
        return -1;
    }
    if (open_prog(c0, note, sizeof note, err, sizeof err) < 0) {
        fail(prog, err);
        return -1;
    }
    unsigned have = sf_xdp_prog_queues(x0->prog), cores = mq_cores();
    if (n > have) {
        fprintf(stderr, "%s: --queues %u: %s has %u RX queue%s\n", prog, n,
                x0->ifname, have, have == 1 ? "" : "s");
        return -1;
    }
    if (n > cores) {
        fprintf(stderr, "%s: --queues %u: give 1 to %u (one stack per core, "
                "one core per queue; %u cores online)\n", prog, n, cores, cores);
        return -1;
    }
    int mtu = sf_xdp_prog_mtu(x0->prog);
    if (mtu < 576) {
        fprintf(stderr, "%s: %s's MTU %d is below 576 (RFC 791): set it with "
                "`ip link set %s mtu 1500`\n", prog, x0->ifname, mtu, x0->ifname);
        return -1;
    }
    /* connect: the NIC's flow hash is not known here (on a veth the
     * sender picks the queue), so the queues steer by port among
     * themselves: a connection's segments reach the stack that opened it
     * whatever queue they come in on (docs/xdp.md, "Active opens") */
    if (x0->active && sf_xdp_prog_steer(x0->prog, n, err, sizeof err) < 0) {
        fail(prog, err);
        return -1;
    }
    for (unsigned k = 0; k < n; k++) {
        struct tun_cli *c = cs[k];
        struct xdp_cli *x = &c->xdp;
        x->prog = x0->prog;
        x->prog_shared = k > 0;
        c->mtu = mtu;
        c->dev = x0->ifname; /* names the control socket */
        if (sf_xdp_open(&x->q[0], x0->prog, k, x0->force_copy,
                        (enum sf_xdp_csum)x0->csum, err, sizeof err) < 0) {
            fail(prog, err); /* names the queue */
            return -1;
        }
        sf_xdp_set_tx(x->q[0], tx_mode(x0->tx, n));
        sf_xdp_set_busy_poll(x->q[0], tun_cli_busy_ns(cs[0]));
        x->nq = 1;
        c->cfg.output = sf_xdp_output;
        c->cfg.output_gather = sf_xdp_output_gather;
        c->cfg.output_ctx = x->q[0];
    }
    snprintf(x0->note, sizeof x0->note, "%s", note);
    return 0;
}

void xdp_cli_bind_mq(struct tun_cli *const *cs, unsigned n, const char *prog)
{
    struct tun_cli *c0 = cs[0];
    struct xdp_cli *x0 = &c0->xdp;
    for (unsigned k = 0; k < n; k++)
        sf_xdp_set_stack(cs[k]->xdp.q[0], cs[k]->tun.st);
    struct sf_addr a = {.ip = c0->addr, .port = 0};
    char ab[24];
    sf_addr_fmt(&a, ab, sizeof ab);
    *strrchr(ab, ':') = 0;
    unsigned have = sf_xdp_prog_queues(x0->prog);
    fprintf(stderr, "%s: %s\n", prog, x0->note);
    if (have > n)
        fprintf(stderr, "%s: %s has %u RX queues, synfin serves %u: its flows "
                "hashed to the others go to the kernel (xdp.no_socket counts "
                "them); ethtool -L %s combined %u\n", prog, x0->ifname, have, n,
                x0->ifname, n);
    bool zc = sf_xdp_zerocopy(x0->q[0]);
    csum_said(x0->q[0], prog);
    fprintf(stderr, "%s: %s up: AF_XDP queues 0..%u, one stack per thread, %s "
            "XDP, %s, %s, %s, MTU %d, synfin %s%s; control sockets %s (queue 0), "
            "%s.K (queue K)\n", prog, x0->ifname, n - 1, sf_xdp_prog_mode(x0->prog),
            zc ? "zero-copy" : x0->force_copy ? "copy mode (as asked)"
                             : "copy mode (the driver has no zero-copy)",
            sf_xdp_tx_thread(x0->q[0]) ? "TX pushed by a thread per queue"
                                       : "TX pushed inline",
            csum_words(x0->q[0]), c0->mtu, ab, whose(x0), c0->ctl_path,
            c0->ctl_path);
}

/* mq_run's watch (ctx: the copies, NULL-ended): the kernel's drops on
 * every queue, summed. */
long long xdp_cli_drops(void *ctx)
{
    struct tun_cli *const *cs = ctx;
    long long sum = 0;
    for (; *cs; cs++)
        if ((*cs)->xdp.nq)
            sum += (long long)sf_xdp_kernel_drops((*cs)->xdp.q[0]);
    return sum;
}

#endif
