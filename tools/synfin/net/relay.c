/* synfin relay: a user-space netem (see synfin/relay.h). Two TUN devices,
 * each optionally created in its own network namespace, joined through
 * synfin's impairments, one instance per direction. Counters are printed
 * on exit (SIGINT/SIGTERM); --ctl serves them while it runs, to `synfin ss
 * --ctl PATH --stats`, and takes `set KEY VALUE` (`synfin ss --set`). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmds.h"
#include "net/tun_cli.h"
#include "opt.h"
#include "synfin/relay.h"

struct relay_cli {
    struct sf_relay_cfg cfg;
    bool to[2];        /* which directions the impairment options set */
    bool have_queue[2];
    const char *ctl_path;
    int sigfd, ctl_fd;
    struct sf_relay r;
};

static const char *const dir_name[2] = {"a2b", "b2a"};

/* The impairment rows: off is inside struct sf_link_cfg, and the value
 * goes to every direction selected by --a2b / --b2a / --both. */
static int set_dir_num(void *base, const struct opt *o, const char *v,
                       const char *prog)
{
    struct relay_cli *c = base;
    double d;
    (void)prog;
    if (opt_number(o, v, &d) || !opt_in_range(o, d))
        return OPT_BAD;
    for (int k = 0; k < 2; k++)
        if (c->to[k])
            opt_store_num(&c->cfg.dir[k], o, d);
    return 0;
}

/* BYTES (k/M/G suffixes) or Np: N packets of the MTU. */
static int set_dir_bytes(void *base, const struct opt *o, const char *v,
                         const char *prog)
{
    struct relay_cli *c = base;
    (void)prog;
    size_t n = strlen(v);
    double d;
    if (n > 1 && (v[n - 1] == 'p')) {
        char buf[32];
        if (n >= sizeof buf)
            return OPT_BAD;
        memcpy(buf, v, n - 1);
        buf[n - 1] = 0;
        struct opt plain = *o;
        plain.flags &= ~(unsigned)OPT_F_SUFFIX;
        if (opt_number(&plain, buf, &d) || d != floor(d) || d < 1)
            return OPT_BAD;
        d *= c->cfg.mtu ? c->cfg.mtu : 1500;
    } else if (opt_number(o, v, &d)) {
        return OPT_BAD;
    }
    if (!opt_in_range(o, d))
        return OPT_BAD;
    for (int k = 0; k < 2; k++) {
        if (!c->to[k])
            continue;
        opt_store_num(&c->cfg.dir[k], o, d);
        if (o->off == offsetof(struct sf_link_cfg, queue_bytes))
            c->have_queue[k] = true;
    }
    return 0;
}

static int pick_dir(void *base, const struct opt *o, const char *v,
                    const char *prog)
{
    struct relay_cli *c = base;
    (void)v, (void)prog;
    c->to[0] = o->val != 1;
    c->to[1] = o->val != 0;
    return 0;
}

static int parse_addr(void *base, const struct opt *o, const char *v,
                      const char *prog)
{
    struct relay_cli *c = base;
    int k = o->val;
    char ip[32];
    const char *slash = strchr(v, '/');
    size_t n = slash ? (size_t)(slash - v) : strlen(v);
    char *end;
    long p = slash ? strtol(slash + 1, &end, 10) : -1;
    if (n >= sizeof ip || !slash || *end || p < 1 || p > 30)
        goto bad;
    memcpy(ip, v, n);
    ip[n] = 0;
    if (sf_ip_parse(ip, &c->cfg.addr[k]) != 0)
        goto bad;
    c->cfg.prefix[k] = (int)p;
    return 0;
bad:
    fprintf(stderr, "%s: %s wants A.B.C.D/N (N in 1..30), not '%s'\n", prog,
            o->name, v);
    return OPT_FAIL;
}

static void relay_report(const struct opt_err *e)
{
    if (e->kind == OPT_E_UNKNOWN)
        fprintf(stderr, "%s: unknown option '%s' (see synfin relay --help)\n",
                e->prog, e->name);
    else if (e->kind == OPT_E_MISSING)
        fprintf(stderr, "%s: %s needs a value\n", e->prog, e->name);
    else if (e->o->why)
        fprintf(stderr, "%s: %s wants %s, not '%s'\n", e->prog, e->name,
                e->o->why, e->value);
    else
        fprintf(stderr, "%s: %s wants a number in %g..%g, not '%s'\n", e->prog,
                e->name, e->o->lo, e->o->hi, e->value);
}

#define OFF(f) offsetof(struct relay_cli, f)
#define DOFF(f) offsetof(struct sf_link_cfg, f)
#define PROB(nm, f, h)                                                        \
    {.name = nm, .kind = OPT_FN, .fn = set_dir_num, .off = DOFF(f),         \
     .as = OPT_AS_DOUBLE, .lo = 0, .hi = 1, .arg = "P",                      \
     .why = "a probability in 0..1", .help = h}

static const struct opt relay_opts[] = {
    {.kind = OPT_TEXT, .help = "devices (both required):\n"},
    {.name = "--tun-a", .kind = OPT_STR, .off = OFF(cfg.tun[0]), .arg = "NAME",
     .flags = OPT_F_NONEMPTY, .help = "TUN device A (created; gone when the relay exits)"},
    {.name = "--tun-b", .kind = OPT_STR, .off = OFF(cfg.tun[1]), .arg = "NAME",
     .flags = OPT_F_NONEMPTY, .help = "TUN device B"},
    {.name = "--netns-a", .kind = OPT_STR, .off = OFF(cfg.netns[0]), .arg = "NS",
     .flags = OPT_F_NONEMPTY,
     .help = "create A in namespace NS (an `ip netns` name, or a\n"
             "path such as /proc/PID/ns/net; default: the relay's)"},
    {.name = "--netns-b", .kind = OPT_STR, .off = OFF(cfg.netns[1]), .arg = "NS",
     .flags = OPT_F_NONEMPTY, .help = "create B in namespace NS"},
    {.name = "--addr-a", .kind = OPT_FN, .fn = parse_addr, .val = 0, .arg = "A.B.C.D/N",
     .help = "give A's kernel side this address (default: none;\n"
             "the caller configures it). Both devices are brought up"},
    {.name = "--addr-b", .kind = OPT_FN, .fn = parse_addr, .val = 1, .arg = "A.B.C.D/N",
     .help = "the same for B"},
    {.name = "--mtu", .kind = OPT_NUM, .off = OFF(cfg.mtu), .as = OPT_AS_INT,
     .lo = 576, .hi = 65535, .flags = OPT_F_WHOLE, .arg = "N",
     .help = "both devices' MTU (default 1500)"},
    {.kind = OPT_TEXT,
     .help = "impairments (the simulator's link model), per direction:\n"
             "they apply to both directions, or to the one chosen by the\n"
             "last --a2b / --b2a before them (--both: both again)\n"},
    {.name = "--a2b", .kind = OPT_CALL, .fn = pick_dir, .val = 0,
     .usage = "--a2b --b2a --both", .help = "  where the options after it go"},
    {.name = "--b2a", .kind = OPT_CALL, .fn = pick_dir, .val = 1},
    {.name = "--both", .kind = OPT_CALL, .fn = pick_dir, .val = 2},
    {.name = "--delay", .kind = OPT_FN, .fn = set_dir_num, .off = DOFF(delay),
     .as = OPT_AS_U64, .lo = 0, .hi = 60000, .scale = 1e6, .arg = "MS",
     .why = "milliseconds in 0..60000", .help = "one-way delay (default 0)"},
    {.name = "--jitter", .kind = OPT_FN, .fn = set_dir_num, .off = DOFF(jitter),
     .as = OPT_AS_U64, .lo = 0, .hi = 60000, .scale = 1e6, .arg = "MS",
     .why = "milliseconds in 0..60000",
     .help = "uniform extra delay in 0..MS, order kept (default 0)"},
    {.name = "--bandwidth", .kind = OPT_FN, .fn = set_dir_num, .off = DOFF(bandwidth),
     .as = OPT_AS_U64, .lo = 1000, .hi = 1e12, .flags = OPT_F_SUFFIX | OPT_F_WHOLE,
     .arg = "RATE", .why = "bits per second in 1k..1000G (suffix k, M or G)",
     .help = "bottleneck rate in bit/s, e.g. 10M (default: none)"},
    {.name = "--queue", .kind = OPT_FN, .fn = set_dir_bytes, .off = DOFF(queue_bytes),
     .as = OPT_AS_U32, .lo = 1500, .hi = 4e9, .flags = OPT_F_SUFFIX,
     .arg = "BYTES|Np", .why = "bytes in 1500..4G (suffix k, M or G) or Np (N packets of the MTU)",
     .help = "bottleneck queue before tail drop (default with\n"
             "--bandwidth: 1000p, as netem's limit)"},
    PROB("--loss", loss, "probability a datagram is lost (default 0)"),
    PROB("--dup", dup, "probability it is delivered twice"),
    PROB("--reorder", reorder, "probability it is held back 1-2 delays (>= 1 ms)"),
    PROB("--corrupt", corrupt, "probability one bit of it is flipped"),
    {.name = "--ce-threshold", .kind = OPT_FN, .fn = set_dir_bytes,
     .off = DOFF(ce_threshold), .as = OPT_AS_U32, .lo = 1, .hi = 4e9,
     .flags = OPT_F_SUFFIX, .arg = "BYTES|Np",
     .why = "bytes in 1..4G (suffix k, M or G) or Np (N packets of the MTU)",
     .help = "mark ECT datagrams CE when more is queued ahead\n"
             "of them (needs --bandwidth; default: never)"},
    {.kind = OPT_TEXT, .help = "other:\n"},
    {.name = "--seed", .kind = OPT_NUM, .off = OFF(cfg.seed), .as = OPT_AS_U64,
     .lo = 0, .hi = 1e18, .flags = OPT_F_WHOLE, .arg = "N",
     .help = "PRNG seed of the impairments (default 1)"},
    {.name = "--max-held", .kind = OPT_NUM, .off = OFF(cfg.max_held), .as = OPT_AS_U64,
     .lo = 65536, .hi = 1e11, .flags = OPT_F_SUFFIX | OPT_F_WHOLE, .arg = "BYTES",
     .help = "bytes in flight at most, both ways (default 64M)"},
    {.name = "--ctl", .kind = OPT_STR, .off = OFF(ctl_path), .arg = "PATH",
     .flags = OPT_F_NONEMPTY,
     .help = "control socket: `synfin ss --ctl PATH --stats`,\n"
             "`synfin ss --ctl PATH --set loss-a2b=0.01`"},
    {.kind = OPT_END},
};

static void print_stats(struct relay_cli *c, FILE *f)
{
    for (int d = 0; d < 2; d++) {
        const struct sf_relay_dir_stats *s = sf_relay_core_stats(c->r.core, d);
#define S(x) fprintf(f, "%s.%s %llu\n", dir_name[d], #x, (unsigned long long)s->x)
        S(rx); S(rx_bytes); S(tx); S(tx_bytes); S(lost); S(queue_drops);
        S(held_drops); S(dup); S(reordered); S(corrupted); S(ce_marked);
        S(runts); S(tx_errors); S(held_max);
#undef S
    }
}

/* set KEY VALUE: loss|dup|reorder|corrupt-a2b|b2a (0..1), delay-a2b|b2a (ms). */
static void ctl_set(struct relay_cli *c, const char *key, double v, FILE *f)
{
    for (int d = 0; d < 2; d++) {
        struct sf_link_cfg *dc = sf_relay_core_dir(c->r.core, d);
        struct { const char *k; double *p; } m[] = {
            {"loss", &dc->loss}, {"dup", &dc->dup}, {"reorder", &dc->reorder},
            {"corrupt", &dc->corrupt}};
        char name[32];
        for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
            snprintf(name, sizeof name, "%s-%s", m[i].k, dir_name[d]);
            if (!strcmp(key, name) && v >= 0 && v <= 1) {
                *m[i].p = v;
                fprintf(f, "ok\n");
                return;
            }
        }
        snprintf(name, sizeof name, "delay-%s", dir_name[d]);
        if (!strcmp(key, name) && v >= 0 && v <= 60000) {
            dc->delay = (sf_time_t)(v * 1e6);
            fprintf(f, "ok\n");
            return;
        }
    }
    fprintf(f, "error: unknown key or value out of range: %s (loss|dup|reorder|"
            "corrupt-a2b|b2a in 0..1, delay-a2b|b2a in ms)\n", key);
}

/* The relay's control commands (ctl_answer_one serves the socket). */
static void ctl_answer(void *ctx, const char *cmd, FILE *f)
{
    struct relay_cli *c = ctx;
    char key[32];
    double v;
    if (!strcmp(cmd, "stats"))
        print_stats(c, f);
    else if (!strcmp(cmd, "ss"))
        ; /* a relay has no connections */
    else if (sscanf(cmd, "set %31s %lf", key, &v) == 2)
        ctl_set(c, key, v, f);
    else
        fprintf(f, "error: unknown command '%s' (stats, set KEY VALUE)\n", cmd);
}

static int hook_fds(void *ctx, struct pollfd *fds, int max)
{
    struct relay_cli *c = ctx;
    int n = 0;
    if (n < max)
        fds[n++] = (struct pollfd){.fd = c->sigfd, .events = POLLIN};
    if (c->ctl_fd >= 0 && n < max)
        fds[n++] = (struct pollfd){.fd = c->ctl_fd, .events = POLLIN};
    return n;
}

static void hook_service(void *ctx, struct sf_relay *r, struct pollfd *fds, int n)
{
    struct relay_cli *c = ctx;
    if (n > 0 && (fds[0].revents & POLLIN)) {
        struct signalfd_siginfo si;
        while (read(c->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
            r->stop = 1;
    }
    if (n > 1 && (fds[1].revents & POLLIN))
        ctl_answer_one(c->ctl_fd, ctl_answer, c);
}

int sf_cmd_relay(int argc, char **argv)
{
    static const char prog[] = "synfin relay";
    struct relay_cli *c = calloc(1, sizeof *c);
    if (!c)
        return 1;
    c->to[0] = c->to[1] = true;
    c->cfg.seed = 1;
    c->sigfd = c->ctl_fd = -1;
    c->r.fd[0] = c->r.fd[1] = -1;
    struct opt_group g = {relay_opts, c, relay_report};
    struct opt_cmd cmd = {
        .prog = prog,
        .usage = "usage: synfin relay --tun-a NAME --tun-b NAME [--netns-a NS] [--netns-b NS]\n"
                 "                    [--addr-a A.B.C.D/N] [--addr-b A.B.C.D/N] [impairments]\n\n"
                 "Forwards every IP datagram between two TUN devices through synfin's\n"
                 "link impairments: a user-space netem. Counters are printed on exit\n"
                 "(SIGINT/SIGTERM).\n\n",
        .footer = "\nexample (namespaces made with `ip netns add`):\n"
                  "  synfin relay --tun-a ra --netns-a nsa --addr-a 198.18.1.1/24 \\\n"
                  "               --tun-b rb --netns-b nsb --addr-b 198.18.1.2/24 \\\n"
                  "               --delay 25 --bandwidth 100M --queue 100p --loss 0.001\n",
        .groups = &g, .ngroups = 1};
    int rc = opt_parse(&cmd, argc, argv);
    if (rc == OPT_HELP) {
        free(c);
        return 0;
    }
    if (rc) {
        free(c);
        return 2;
    }
    if (!c->cfg.tun[0] || !c->cfg.tun[1]) {
        fprintf(stderr, "%s: give both --tun-a NAME and --tun-b NAME\n", prog);
        free(c);
        return 2;
    }
    for (int d = 0; d < 2; d++) {
        struct sf_link_cfg *dc = &c->cfg.dir[d];
        if (dc->bandwidth && !c->have_queue[d])
            dc->queue_bytes = 1000u * (unsigned)(c->cfg.mtu ? c->cfg.mtu : 1500);
        if (dc->ce_threshold && !dc->bandwidth) {
            fprintf(stderr, "%s: --ce-threshold needs --bandwidth in the same "
                    "direction (%s): without a bottleneck nothing queues\n",
                    prog, dir_name[d]);
            free(c);
            return 2;
        }
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    c->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    char err[256];
    rc = 1;
    if (c->sigfd < 0) {
        fprintf(stderr, "%s: signalfd: %s\n", prog, strerror(errno));
    } else if (sf_relay_open(&c->r, &c->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
    } else if (c->ctl_path && (c->ctl_fd = ctl_listen(c->ctl_path, err, sizeof err)) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
    } else {
        fprintf(stderr, "%s: %s%s%s <-> %s%s%s\n", prog, c->r.name[0],
                c->cfg.netns[0] ? " in " : "", c->cfg.netns[0] ? c->cfg.netns[0] : "",
                c->r.name[1], c->cfg.netns[1] ? " in " : "",
                c->cfg.netns[1] ? c->cfg.netns[1] : "");
        struct sf_relay_hooks h = {c, hook_fds, hook_service};
        rc = sf_relay_run(&c->r, &h, err, sizeof err) < 0 ? 1 : 0;
        if (rc)
            fprintf(stderr, "%s: %s\n", prog, err);
        print_stats(c, stdout);
        fflush(stdout);
    }
    if (c->ctl_fd >= 0) {
        close(c->ctl_fd);
        unlink(c->ctl_path);
    }
    if (c->sigfd >= 0)
        close(c->sigfd);
    sf_relay_close(&c->r);
    free(c);
    return rc;
}
