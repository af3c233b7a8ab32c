/* Shared options and start-up of `synfin serve` and `synfin connect`. */
#include "tun_cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void tun_cli_init(struct tun_cli *c)
{
    memset(c, 0, sizeof *c);
    c->dev = "sf0";
    c->addr = 0xc6120002u;    /* 198.18.0.2 */
    c->host_ip = 0xc6120001u; /* 198.18.0.1 */
    c->prefix = 24;
    c->mtu = 1500;
    c->backlog = 128;
    c->offload = true; /* 3x the bulk throughput; all interop cases pass */
    c->grace = 5 * SF_SEC;
    c->sigfd = c->ctl_fd = -1;
    c->tun.fd = -1;
    sf_stack_cfg_default(&c->cfg);
    c->cfg.mss = 0; /* from the MTU unless given */
}

static int num(const char *prog, const char *opt, const char *v, double lo,
               double hi, double *out)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : NAN;
    if (!v || errno || end == v || *end || !(d >= lo && d <= hi)) {
        fprintf(stderr, "%s: %s wants a number in %g..%g, not '%s'\n", prog,
                opt, lo, hi, v ? v : "(nothing)");
        return -1;
    }
    *out = d;
    return 0;
}

static int parse_host(const char *prog, const char *v, struct tun_cli *c)
{
    char ip[32];
    const char *slash = strchr(v, '/');
    size_t n = slash ? (size_t)(slash - v) : strlen(v);
    double p = 24;
    if (n >= sizeof ip)
        goto bad;
    memcpy(ip, v, n);
    ip[n] = 0;
    if (sf_ip_parse(ip, &c->host_ip) != 0)
        goto bad;
    if (slash && num(prog, "--host prefix", slash + 1, 1, 30, &p) < 0)
        return -1;
    c->prefix = (int)p;
    return 0;
bad:
    fprintf(stderr, "%s: --host wants A.B.C.D/N (the kernel's side), not '%s'\n",
            prog, v);
    return -1;
}

static int parse_keepalive(const char *prog, const char *v, struct tun_cli *c)
{
    if (sscanf(v, "%d,%d,%d", &c->keep_idle, &c->keep_intvl, &c->keep_cnt) != 3 ||
        c->keep_idle < 1 || c->keep_intvl < 1 || c->keep_cnt < 1) {
        fprintf(stderr, "%s: --keepalive wants IDLE,INTERVAL,COUNT (seconds, "
                "seconds, probes; all >= 1), not '%s'\n", prog, v);
        return -1;
    }
    c->keepalive = true;
    c->cfg.keepidle = (sf_time_t)c->keep_idle * SF_SEC;
    c->cfg.keepintvl = (sf_time_t)c->keep_intvl * SF_SEC;
    c->cfg.keepcnt = (unsigned)c->keep_cnt;
    return 0;
}

/* Options that take a number, with their range and where they land. */
static int num_opt(struct tun_cli *c, const char *prog, const char *a,
                   const char *v)
{
    double d;
#define NUM(name, lo, hi) (!strcmp(a, name) && num(prog, name, v, lo, hi, &d) == 0)
    if (NUM("--loss", 0, 1)) c->imp.loss = d;
    else if (NUM("--dup", 0, 1)) c->imp.dup = d;
    else if (NUM("--reorder", 0, 1)) c->imp.reorder = d;
    else if (NUM("--delay", 0, 10000)) c->imp.delay = (sf_time_t)(d * 1e6);
    else if (NUM("--mtu", 576, 65535)) c->mtu = (int)d;
    else if (NUM("--msl", 0.001, 3600)) c->cfg.msl = (sf_time_t)(d * 1e9);
    else if (NUM("--sndbuf", 1024, 1 << 30)) c->cfg.sndbuf = (uint32_t)d;
    else if (NUM("--rcvbuf", 1024, 1 << 30)) c->cfg.rcvbuf = (uint32_t)d;
    else if (NUM("--mss", 88, 65495)) c->cfg.mss = (uint16_t)d;
    else if (NUM("--rto-min", 1, 60000)) c->cfg.rto_min = (sf_time_t)(d * 1e6);
    else if (NUM("--fin-timeout", 1, 3600)) c->cfg.fin_wait_2_timeout = (sf_time_t)(d * 1e9);
    else if (NUM("--backlog", 1, 65535)) c->backlog = (int)d;
    else if (NUM("--grace", 0, 3600)) c->grace = (sf_time_t)(d * 1e9);
    else if (NUM("--seed", 0, 1e18)) { c->seed = (uint64_t)d; c->seeded = true; }
    else return -1;
#undef NUM
    return 1;
}

int tun_cli_opt(struct tun_cli *c, int argc, char **argv, int *i,
                const char *prog)
{
    static const char *const numeric[] = {
        "--loss", "--dup", "--reorder", "--delay", "--mtu", "--msl", "--sndbuf",
        "--rcvbuf", "--mss", "--rto-min", "--fin-timeout", "--backlog",
        "--grace", "--seed", NULL};
    const char *a = argv[*i];
    if (!strcmp(a, "--offload") || !strcmp(a, "--no-offload")) {
        c->offload = !strcmp(a, "--offload");
        return 1;
    }
    if (!strcmp(a, "--syncookies") || !strcmp(a, "--no-syncookies")) {
        c->cfg.syncookies = !strcmp(a, "--syncookies");
        return 1;
    }
    bool known = false;
    for (int k = 0; numeric[k]; k++)
        known |= !strcmp(a, numeric[k]);
    const char *valued[] = {"--tun", "--addr", "--host", "--ctl", "--pcap",
                            "--keepalive", NULL};
    for (int k = 0; valued[k]; k++)
        known |= !strcmp(a, valued[k]);
    if (!known)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", prog, a);
        return -1;
    }
    const char *v = argv[++*i];
    if (!strcmp(a, "--tun")) c->dev = v;
    else if (!strcmp(a, "--ctl")) c->ctl_path = v;
    else if (!strcmp(a, "--pcap")) c->pcap_path = v;
    else if (!strcmp(a, "--host")) return parse_host(prog, v, c) < 0 ? -1 : 1;
    else if (!strcmp(a, "--keepalive")) return parse_keepalive(prog, v, c) < 0 ? -1 : 1;
    else if (!strcmp(a, "--addr")) {
        if (sf_ip_parse(v, &c->addr) != 0) {
            fprintf(stderr, "%s: --addr wants A.B.C.D (synfin's own address), "
                    "not '%s'\n", prog, v);
            return -1;
        }
    } else
        return num_opt(c, prog, a, v);
    return 1;
}

static int check_addrs(struct tun_cli *c, const char *prog)
{
    uint32_t mask = 0xffffffffu << (32 - c->prefix);
    char a[16], h[16];
    struct sf_addr aa = {c->addr, 0}, ha = {c->host_ip, 0};
    char buf[24];
    snprintf(a, sizeof a, "%s", sf_addr_fmt(&aa, buf, sizeof buf));
    snprintf(h, sizeof h, "%s", sf_addr_fmt(&ha, buf, sizeof buf));
    *strchr(a, ':') = 0;
    *strchr(h, ':') = 0;
    if ((c->addr & mask) != (c->host_ip & mask) || c->addr == c->host_ip ||
        (c->addr & ~mask) == 0 || (c->addr & ~mask) == ~mask) {
        fprintf(stderr, "%s: --addr %s must be a host address in --host %s/%d's "
                "subnet, other than the kernel's own\n", prog, a, h, c->prefix);
        return -1;
    }
    return 0;
}

static int open_ctl(struct tun_cli *c, const char *prog)
{
    char err[256];
    if (!c->ctl_path) {
        mkdir("/run/synfin", 0755);
        snprintf(c->ctl_buf, sizeof c->ctl_buf, "/run/synfin/%s-%d.sock", c->dev,
                 (int)getpid());
        if (access("/run/synfin", W_OK) != 0)
            snprintf(c->ctl_buf, sizeof c->ctl_buf, "/tmp/synfin-%s-%d.sock",
                     c->dev, (int)getpid());
        c->ctl_path = c->ctl_buf;
    }
    c->ctl_fd = ctl_listen(c->ctl_path, err, sizeof err);
    if (c->ctl_fd < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    return 0;
}

static int open_signals(struct tun_cli *c)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed kernel socket is an error code */
    c->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return c->sigfd < 0 ? -1 : 0;
}

static int make_stack(struct tun_cli *c, const char *prog)
{
    /* The ISN, cookie and port secrets: 128 random bits from the kernel
     * (a --seed makes a run repeatable, for tests only). */
    if (c->seeded) {
        for (int k = 0; k < 16; k++)
            c->cfg.seed[k] = (uint8_t)((c->seed >> (8 * (k % 8))) ^ (uint64_t)(k * 0x9d));
    } else if (getrandom(c->cfg.seed, sizeof c->cfg.seed, 0) != sizeof c->cfg.seed ||
               getrandom(&c->seed, sizeof c->seed, 0) != sizeof c->seed) {
        fprintf(stderr, "%s: getrandom failed: %s\n", prog, strerror(errno));
        return -1;
    }
    sf_tun_seed(&c->tun, c->seed);
    c->tun.in = c->tun.out = c->imp;
    c->cfg.addr = c->addr;
    c->cfg.output = sf_tun_output;
    c->cfg.output_ctx = &c->tun;
    if (!c->cfg.mss)
        c->cfg.mss = (uint16_t)(c->mtu - 40);
    if (c->cfg.rto_initial < c->cfg.rto_min)
        c->cfg.rto_initial = c->cfg.rto_min;
    int r = sf_stack_create(&c->cfg, sf_tun_now(), &c->tun.st);
    if (r < 0) {
        fprintf(stderr, "%s: cannot create the stack: %s\n", prog, sf_strerror(r));
        return -1;
    }
    return 0;
}

/* The device's tap: every datagram into the --pcap file, stamped with the
 * real time it crossed. */
static void pcap_tap(void *ctx, sf_time_t now, enum sf_tun_dir dir,
                     const uint8_t *d, size_t len)
{
    struct tun_cli *c = ctx;
    (void)dir;
    pcapw_write(c->pcap, c->pcap_base_real + (now - c->pcap_base_mono), d, len);
}

static int open_pcap(struct tun_cli *c, char *err, size_t errlen)
{
    c->pcap = pcapw_open(c->pcap_path, err, errlen);
    if (!c->pcap)
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->pcap_base_mono = sf_tun_now();
    c->pcap_base_real = (sf_time_t)ts.tv_sec * SF_SEC + (sf_time_t)ts.tv_nsec;
    sf_tun_set_tap(&c->tun, pcap_tap, c);
    return 0;
}

int tun_cli_start(struct tun_cli *c, const char *prog)
{
    char err[256];
    if (check_addrs(c, prog) < 0)
        return 2;
    if (sf_tun_open(&c->tun, c->dev, c->offload, err, sizeof err) < 0 ||
        sf_tun_config(&c->tun, c->host_ip, c->prefix, c->mtu, err, sizeof err) < 0 ||
        (c->pcap_path && open_pcap(c, err, sizeof err) < 0)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        sf_tun_close(&c->tun);
        return 1;
    }
    if (make_stack(c, prog) < 0 || open_ctl(c, prog) < 0 || open_signals(c) < 0) {
        tun_cli_finish(c);
        return 1;
    }
    struct sf_addr a = {c->addr, 0}, h = {c->host_ip, 0};
    char ab[24], hb[24];
    sf_addr_fmt(&a, ab, sizeof ab);
    sf_addr_fmt(&h, hb, sizeof hb);
    *strrchr(ab, ':') = 0;
    *strrchr(hb, ':') = 0;
    fprintf(stderr, "%s: %s up: kernel %s/%d, synfin %s; control socket %s\n",
            prog, c->tun.name, hb, c->prefix, ab, c->ctl_path);
    return 0;
}

void tun_cli_finish(struct tun_cli *c)
{
    if (c->ctl_fd >= 0) {
        close(c->ctl_fd);
        unlink(c->ctl_path);
    }
    c->ctl_fd = -1;
    if (c->sigfd >= 0)
        close(c->sigfd);
    c->sigfd = -1;
    if (c->tun.st)
        sf_stack_free(c->tun.st);
    c->tun.st = NULL;
    sf_tun_close(&c->tun);
    pcapw_close(c->pcap);
    c->pcap = NULL;
}

int tun_cli_pollfds(struct tun_cli *c, struct pollfd *fds, int max)
{
    if (max < 2)
        return 0;
    fds[0] = (struct pollfd){.fd = c->sigfd, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = c->ctl_fd, .events = POLLIN};
    return 2;
}

void tun_cli_service(struct tun_cli *c, sf_time_t now, struct pollfd *fds,
                     int n)
{
    if (n >= 1 && (fds[0].revents & POLLIN)) {
        struct signalfd_siginfo si;
        while (read(c->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
            if (!c->quit)
                c->quit_deadline = now + c->grace;
            c->quit = true;
        }
    }
    if (n >= 2 && (fds[1].revents & POLLIN))
        ctl_serve_one(c, c->ctl_fd);
}

void tun_cli_sockopts(struct tun_cli *c, int sd)
{
    if (!c->keepalive)
        return;
    int one = 1;
    sf_setsockopt(c->tun.st, sd, SF_SOL_SOCKET, SF_SO_KEEPALIVE, &one, sizeof one);
    sf_setsockopt(c->tun.st, sd, SF_IPPROTO_TCP, SF_TCP_KEEPIDLE, &c->keep_idle, sizeof(int));
    sf_setsockopt(c->tun.st, sd, SF_IPPROTO_TCP, SF_TCP_KEEPINTVL, &c->keep_intvl, sizeof(int));
    sf_setsockopt(c->tun.st, sd, SF_IPPROTO_TCP, SF_TCP_KEEPCNT, &c->keep_cnt, sizeof(int));
}
