/* Shared options and start-up of `synfin serve` and `synfin connect`. */
#include "net/tun_cli.h"
#include "synfin/wire.h"

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
    c->threads = 1;
    sf_stack_cfg_default(&c->cfg);
    c->cfg.mss = 0; /* from the MTU unless given */
    /* fd00:5f::2 and fd00:5f::1/64 (RFC 4193 local addresses), used only
     * when --addr6 or --host6 asks for IPv6 */
    static const uint8_t a6[16] = {0xfd, 0, 0, 0x5f, [15] = 2};
    static const uint8_t h6[16] = {0xfd, 0, 0, 0x5f, [15] = 1};
    memcpy(c->addr6, a6, 16);
    memcpy(c->host6, h6, 16);
    c->prefix6 = 64;
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

static int parse_host(void *base, const struct opt *o, const char *v,
                      const char *prog)
{
    struct tun_cli *c = base;
    (void)o;
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
        return OPT_FAIL;
    c->prefix = (int)p;
    return 0;
bad:
    fprintf(stderr, "%s: --host wants A.B.C.D/N (the kernel's side), not '%s'\n",
            prog, v);
    return OPT_FAIL;
}

/* An address --addr6 / --host6 may take: IPv6, a unicast address a
 * datagram may carry (RFC 4291 2.5.2, 2.5.3, 2.5.5.2, 2.7: not ::, ::1,
 * ::ffff:a.b.c.d or ff00::/8). Prints why not and returns -1. */
static int parse_ip6(const char *prog, const char *opt, const char *ip,
                     const char *v, uint8_t out[16])
{
    struct sf_addr a;
    static const uint8_t loop[16] = {[15] = 1};
    const char *why = NULL;
    if (sf_addr_parse_ip(ip, &a) != 0)
        why = "not an IPv6 address";
    else if (a.family != SF_AF_INET6)
        why = "an IPv4 address (use --addr/--host for those)";
    else if (sf_addr_is_unspec(&a))
        why = "the unspecified address";
    else if (!memcmp(a.ip6, loop, 16))
        why = "the loopback address";
    else if (sf_addr_is_v4mapped(&a))
        why = "an IPv4-mapped address";
    else if (a.ip6[0] == 0xff)
        why = "a multicast address";
    if (why) {
        fprintf(stderr, "%s: %s wants %s, not '%s': %s\n", prog, opt,
                strcmp(opt, "--host6") ? "an IPv6 address (e.g. fd00:5f::2)"
                                        : "ADDR/N (e.g. fd00:5f::1/64)",
                v, why);
        return -1;
    }
    memcpy(out, a.ip6, 16);
    return 0;
}

static int parse_addr6(void *base, const struct opt *o, const char *v,
                       const char *prog)
{
    struct tun_cli *c = base;
    (void)o;
    if (parse_ip6(prog, "--addr6", v, v, c->addr6) < 0)
        return OPT_FAIL;
    c->has6 = true;
    return 0;
}

static int parse_host6(void *base, const struct opt *o, const char *v,
                       const char *prog)
{
    struct tun_cli *c = base;
    (void)o;
    char ip[64];
    const char *slash = strchr(v, '/');
    size_t n = slash ? (size_t)(slash - v) : strlen(v);
    double p = 64;
    if (n >= sizeof ip) {
        fprintf(stderr, "%s: --host6 wants ADDR/N (e.g. fd00:5f::1/64), not "
                "'%s': the address is too long\n", prog, v);
        return OPT_FAIL;
    }
    memcpy(ip, v, n);
    ip[n] = 0;
    if (parse_ip6(prog, "--host6", ip, v, c->host6) < 0)
        return OPT_FAIL;
    if (slash && num(prog, "--host6 prefix", slash + 1, 1, 126, &p) < 0)
        return OPT_FAIL;
    c->prefix6 = (int)p;
    c->has6 = true;
    return 0;
}

static int parse_keepalive(void *base, const struct opt *o, const char *v,
                           const char *prog)
{
    struct tun_cli *c = base;
    (void)o;
    if (sscanf(v, "%d,%d,%d", &c->keep_idle, &c->keep_intvl, &c->keep_cnt) != 3 ||
        c->keep_idle < 1 || c->keep_intvl < 1 || c->keep_cnt < 1) {
        fprintf(stderr, "%s: --keepalive wants IDLE,INTERVAL,COUNT (seconds, "
                "seconds, probes; all >= 1), not '%s'\n", prog, v);
        return OPT_FAIL;
    }
    c->keepalive = true;
    c->cfg.keepidle = (sf_time_t)c->keep_idle * SF_SEC;
    c->cfg.keepintvl = (sf_time_t)c->keep_intvl * SF_SEC;
    c->cfg.keepcnt = (unsigned)c->keep_cnt;
    return 0;
}

/* RFC 3168 ECN: sf_stack_cfg.ecn, 0..2 as Linux tcp_ecn. */
static int parse_ecn(void *base, const struct opt *o, const char *v,
                     const char *prog)
{
    struct tun_cli *c = base;
    (void)o;
    if (!v[0] || v[1] || v[0] < '0' || v[0] > '2') {
        fprintf(stderr, "%s: --ecn wants 0 (off), 1 (ask and accept) or 2 "
                "(accept when asked), not '%s'\n", prog, v);
        return OPT_FAIL;
    }
    c->cfg.ecn = (uint8_t)(v[0] - '0');
    return 0;
}

static int parse_addr(void *base, const struct opt *o, const char *v,
                      const char *prog)
{
    struct tun_cli *c = base;
    (void)o;
    if (sf_ip_parse(v, &c->addr) != 0) {
        fprintf(stderr, "%s: --addr wants A.B.C.D (synfin's own address), "
                "not '%s'\n", prog, v);
        return OPT_FAIL;
    }
    return 0;
}

static void tun_cli_report(const struct opt_err *e)
{
    if (e->kind == OPT_E_MISSING)
        fprintf(stderr, "%s: %s needs a value\n", e->prog, e->name);
    else if (e->kind == OPT_E_BAD)
        fprintf(stderr, "%s: %s wants a number in %g..%g, not '%s'\n", e->prog,
                e->name, e->o->lo, e->o->hi, e->value);
}

#define OFF(field) offsetof(struct tun_cli, field)
#define FLAG(nm, field, v, h) \
    {.name = nm, .kind = OPT_FLAG, .off = OFF(field), .as = OPT_AS_BOOL, .val = v, .help = h}
/* A number in lo..hi, stored times scale. */
#define NUM(nm, field, as_, lo_, hi_, scale_, arg_, h)                        \
    {.name = nm, .kind = OPT_NUM, .off = OFF(field), .as = as_, .lo = lo_, \
     .hi = hi_, .scale = scale_, .arg = arg_, .help = h}

/* The options of `synfin serve` and `synfin connect` both. */
static const struct opt tun_cli_opts[] = {
    {.kind = OPT_TEXT, .help = "device and addresses:\n"},
    {.name = "--tun", .kind = OPT_STR, .off = OFF(dev), .arg = "DEV",
     .help = "TUN device to create (default sf0)"},
    {.name = "--addr", .kind = OPT_FN, .fn = parse_addr, .arg = "A.B.C.D",
     .help = "synfin's own address (default 198.18.0.2)"},
    {.name = "--host", .kind = OPT_FN, .fn = parse_host, .arg = "A.B.C.D/N",
     .help = "the kernel's address on DEV (default 198.18.0.1/24)"},
    {.name = "--addr6", .kind = OPT_FN, .fn = parse_addr6, .arg = "ADDR",
     .help = "synfin's IPv6 address too (default none; with\n"
             "--host6 alone fd00:5f::2)"},
    {.name = "--host6", .kind = OPT_FN, .fn = parse_host6, .arg = "ADDR/N",
     .help = "the kernel's IPv6 address on DEV (default none; with\n"
             "--addr6 alone fd00:5f::1/64); MTU at least 1280"},
    NUM("--mtu", mtu, OPT_AS_INT, 576, 65535, 0, "N", "device MTU (default 1500)"),
    {.name = "--ctl", .kind = OPT_STR, .off = OFF(ctl_path), .arg = "PATH",
     .help = "control socket for `synfin ss` (default\n"
             "/run/synfin/DEV-PID.sock, else /tmp/synfin-DEV-PID.sock)"},
    {.name = "--pcap", .kind = OPT_STR, .off = OFF(pcap_path), .arg = "FILE",
     .help = "write every datagram on DEV to FILE (pcap, raw IP)"},
    FLAG("--no-offload", offload, 0,
         "no virtio-net header on DEV: one write per segment\n"
         "(default --offload: checksums and TSO offloaded,\n"
         "data segments merged into 64 KB writes)"),
    FLAG("--offload", offload, 1, NULL),
    FLAG("--napi-thread", napi, 1,
         "the kernel handles what synfin writes to DEV in a\n"
         "kernel thread of its own (IFF_NAPI, threaded NAPI),\n"
         "beside synfin's, not inside each write; docs/tun.md\n"
         "(default: on in tun2socks, off in serve and connect)"),
    FLAG("--no-napi-thread", napi, 0, NULL),
    NUM("--busy-poll", busy_us, OPT_AS_INT, 0, 100000, 0, "USEC",
        "after a turn that moved datagrams, the loop looks\n"
        "again without sleeping for up to USEC (default 0: it\n"
        "sleeps as soon as there is nothing to do); a datagram\n"
        "then waits for no wake-up, at the price of a core kept\n"
        "busy while traffic flows (docs/tun.md \"Busy polling\";\n"
        "with --xdp, each queue's loop)"),
    NUM("--threads", threads, OPT_AS_UINT, 1, SF_TUN_MAX_QUEUES, 0, "N",
        "N stacks, one per thread pinned to a core, each on its\n"
        "own queue of DEV (IFF_MULTI_QUEUE, steered by ports;\n"
        "docs/scale.md). Default 1; at most the cores online"),
    FLAG("--steer-kernel", steer_kernel, 1,
         "with --threads: no steering program, the kernel's own\n"
         "flow table picks the queue (to measure it: replies then\n"
         "reach other queues, counted as tun.rx_wrong_queue)"),
    {.kind = OPT_TEXT, .help = "impairments on synfin's side (both directions):\n"},
    {.name = "--loss", .kind = OPT_NUM, .off = OFF(imp.loss), .as = OPT_AS_DOUBLE,
     .lo = 0, .hi = 1, .usage = "--loss P --dup P --reorder P",
     .help = "  rates in 0..1 (default 0)"},
    NUM("--dup", imp.dup, OPT_AS_DOUBLE, 0, 1, 0, NULL, NULL),
    NUM("--reorder", imp.reorder, OPT_AS_DOUBLE, 0, 1, 0, NULL, NULL),
    NUM("--delay", imp.delay, OPT_AS_U64, 0, 10000, 1e6, "MS",
        "one-way delay added (default 0)"),
    {.name = "--seed", .kind = OPT_NUM, .off = OFF(seed), .as = OPT_AS_U64,
     .lo = 0, .hi = 1e18, .flags = OPT_F_SETS, .set_off = OFF(seeded),
     .arg = "N", .help = "impairment and ISN randomness (default: random)"},
    {.kind = OPT_TEXT, .help = "stack settings:\n"},
    NUM("--msl", cfg.msl, OPT_AS_U64, 0.001, 3600, 1e9, "S",
        "maximum segment lifetime, TIME_WAIT = 2*MSL (default 30)"),
    {.name = "--sndbuf", .kind = OPT_NUM, .off = OFF(cfg.sndbuf), .as = OPT_AS_U32,
     .lo = 1024, .hi = 1 << 30, .usage = "--sndbuf N --rcvbuf N",
     .help = "  socket buffers in bytes (default 65535)"},
    NUM("--rcvbuf", cfg.rcvbuf, OPT_AS_U32, 1024, 1 << 30, 0, NULL, NULL),
    NUM("--max-memory", cfg.mem_max, OPT_AS_U64, 1, 1 << 20, 1 << 20, "MB",
        "cap on all the stack's buffer and queue memory together\n"
        "(cfg.mem_max; default none): near it windows shrink and\n"
        "out-of-order data is pruned, at it new flows are refused\n"
        "(docs/stream.md)"),
    NUM("--mss", cfg.mss, OPT_AS_U16, 88, 65495, 0, "N", "MSS advertised (default MTU-40)"),
    NUM("--rto-min", cfg.rto_min, OPT_AS_U64, 1, 60000, 1e6, "MS",
        "minimum retransmission timeout (default 200, as Linux; RFC 6298 2.4: 1000)"),
    NUM("--fin-timeout", cfg.fin_wait_2_timeout, OPT_AS_U64, 1, 3600, 1e9, "S",
        "FIN_WAIT_2 timeout (default 60)"),
    {.name = "--keepalive", .kind = OPT_FN, .fn = parse_keepalive,
     .usage = "--keepalive I,T,C",
     .help = " keepalive on every connection: idle I s, interval\n"
             "T s, C probes (default off; RFC 1122: 7200,75,10)"},
    {.name = "--ecn", .kind = OPT_FN, .fn = parse_ecn, .arg = "0|1|2",
     .help = "RFC 3168 ECN: 0 off, 1 ask and accept, 2 accept\n"
             "when asked (default 2, as Linux tcp_ecn)"},
    FLAG("--no-pacing", cfg.pacing, 0,
         "no sender pacing (default on: in the first slow start\n"
         "and while a queue builds; docs/stream.md)"),
    FLAG("--pacing", cfg.pacing, 1, NULL),
    NUM("--backlog", backlog, OPT_AS_INT, 1, 65535, 0, "N", "listen backlog (default 128)"),
    FLAG("--no-syncookies", cfg.syncookies, 0,
         "no SYN cookies when the SYN queue is full (default on)"),
    FLAG("--syncookies", cfg.syncookies, 1, NULL),
    NUM("--grace", grace, OPT_AS_U64, 0, 3600, 1e9, "S",
        "on SIGINT/SIGTERM, wait at most S for FINs (default 5)"),
    {.kind = OPT_END},
};

struct opt_group tun_cli_group(struct tun_cli *c)
{
    return (struct opt_group){tun_cli_opts, c, tun_cli_report};
}

/* --addr6 in --host6's prefix, not the kernel's own, nor the prefix's
 * all-zero address (the subnet-router anycast of RFC 4291 2.6.1). */
static int check_addrs6(struct tun_cli *c, const char *prog)
{
    bool same = true, host_part_zero = true;
    for (int i = 0; i < 16; i++) {
        int bits = c->prefix6 - 8 * i;
        uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
        same = same && (c->addr6[i] & m) == (c->host6[i] & m);
        host_part_zero = host_part_zero && (c->addr6[i] & ~m & 0xff) == 0;
    }
    char a[SF_IP6_STRLEN], h[SF_IP6_STRLEN];
    sf_ip6_fmt(c->addr6, a, sizeof a);
    sf_ip6_fmt(c->host6, h, sizeof h);
    if (!same || !memcmp(c->addr6, c->host6, 16) || host_part_zero) {
        fprintf(stderr, "%s: --addr6 %s must be a host address in --host6 %s/%d's "
                "prefix, other than the kernel's own\n", prog, a, h, c->prefix6);
        return -1;
    }
    if (c->mtu < 1280) {
        fprintf(stderr, "%s: --mtu %d is below IPv6's minimum of 1280 (RFC 8200 5): "
                "raise it or drop --addr6/--host6\n", prog, c->mtu);
        return -1;
    }
    return 0;
}

static int check_addrs(struct tun_cli *c, const char *prog)
{
    uint32_t mask = 0xffffffffu << (32 - c->prefix);
    char a[16], h[16];
    struct sf_addr aa = {.ip = c->addr, .port = 0};
    struct sf_addr ha = {.ip = c->host_ip, .port = 0};
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
    return c->has6 ? check_addrs6(c, prog) : 0;
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
    if (c->thread > 0) {
        /* --threads: cfg.seed and seed were copied from thread 0, so every
         * stack has the same ISN and SYN-cookie secret (read-only) */
    } else if (c->seeded) {
        for (int k = 0; k < 16; k++)
            c->cfg.seed[k] = (uint8_t)((c->seed >> (8 * (k % 8))) ^ (uint64_t)(k * 0x9d));
    } else if (getrandom(c->cfg.seed, sizeof c->cfg.seed, 0) != sizeof c->cfg.seed ||
               getrandom(&c->seed, sizeof c->seed, 0) != sizeof c->seed) {
        fprintf(stderr, "%s: getrandom failed: %s\n", prog, strerror(errno));
        return -1;
    }
    sf_tun_seed(&c->tun, c->seed + c->thread);
    c->tun.in = c->tun.out = c->imp;
    c->cfg.addr = c->addr;
    if (c->has6)
        memcpy(c->cfg.addr6, c->addr6, 16);
    if (!c->cfg.output) { /* (--xdp sets its own) */
        c->cfg.output = sf_tun_output;
        /* no copy of the payload in user space: a GSO packet is written
         * from the send rings (docs/tun.md, "No copy") */
        c->cfg.output_gather = sf_tun_output_gather_keep;
        c->cfg.output_flush = sf_tun_output_flush;
        /* runs of segments built once, cut by the kernel (TSO) */
        c->cfg.output_gso = sf_tun_output_gso_keep;
        c->cfg.output_ctx = &c->tun;
    }
    if (!c->cfg.mss)
        c->cfg.mss = (uint16_t)(c->mtu - 40);
    if (c->cfg.rto_initial < c->cfg.rto_min)
        c->cfg.rto_initial = c->cfg.rto_min;
    const char *bad = sf_stack_cfg_check(&c->cfg);
    if (bad) {
        fprintf(stderr, "%s: %s\n", prog, bad);
        return -1;
    }
    int r = sf_stack_create(&c->cfg, sf_tun_now(), &c->tun.st);
    if (r < 0) {
        fprintf(stderr, "%s: cannot create the stack: %s\n", prog, sf_strerror(r));
        return -1;
    }
    return 0;
}

/* The device's tap: every datagram into the --pcap file, stamped with the
 * real time it crossed. */
void tun_cli_pcap_tap(void *ctx, sf_time_t now, enum sf_tun_dir dir,
                      const uint8_t *d, size_t len)
{
    struct tun_cli *c = ctx;
    (void)dir;
    pcapw_write(c->pcap, c->pcap_base_real + (now - c->pcap_base_mono), d, len);
}

int tun_cli_open_pcap(struct tun_cli *c, char *err, size_t errlen)
{
    c->pcap = pcapw_open(c->pcap_path, err, errlen);
    if (!c->pcap)
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->pcap_base_mono = sf_tun_now();
    c->pcap_base_real = (sf_time_t)ts.tv_sec * SF_SEC + (sf_time_t)ts.tv_nsec;
    if (!c->xdp.ifname) /* --xdp: the queue's tap (xdp_cli_start) */
        sf_tun_set_tap(&c->tun, tun_cli_pcap_tap, c);
    return 0;
}

/* "DEV up: kernel A/P [and A6/P6], synfin A [and A6]": the start banner's
 * first part. */
static void banner_addrs(const struct tun_cli *c, char *out, size_t len)
{
    struct sf_addr a = {.ip = c->addr, .port = 0};
    struct sf_addr h = {.ip = c->host_ip, .port = 0};
    char ab[24], hb[24];
    sf_addr_fmt(&a, ab, sizeof ab);
    sf_addr_fmt(&h, hb, sizeof hb);
    *strrchr(ab, ':') = 0;
    *strrchr(hb, ':') = 0;
    char a6[SF_IP6_STRLEN + 16] = "", h6[SF_IP6_STRLEN + 16] = "";
    if (c->has6) {
        char t[SF_IP6_STRLEN];
        snprintf(h6, sizeof h6, " and %s/%d", sf_ip6_fmt(c->host6, t, sizeof t),
                 c->prefix6);
        snprintf(a6, sizeof a6, " and %s", sf_ip6_fmt(c->addr6, t, sizeof t));
    }
    snprintf(out, len, "%s up: kernel %s/%d%s, synfin %s%s", c->tun.name, hb,
             c->prefix, h6, ab, a6);
}

static unsigned tun_flags(const struct tun_cli *c)
{
    return (c->offload ? SF_TUN_OFFLOAD : 0) | (c->napi ? SF_TUN_NAPI : 0);
}

/* A kernel thread asked for and refused: said aloud, once per queue. */
static void napi_said(const struct sf_tun *t, const char *prog)
{
    if (t->napi && !t->napi_thread)
        fprintf(stderr, "%s: no NAPI thread on %s queue %u, the kernel's work "
                "for each write stays in this thread: %s\n", prog, t->name,
                t->queue, t->napi_why);
}

int tun_cli_start(struct tun_cli *c, const char *prog)
{
    char err[256];
    if (c->xdp.ifname)
        return xdp_cli_start(c, prog);
    if (xdp_cli_stray(c, prog))
        return 2;
    if (check_addrs(c, prog) < 0)
        return 2;
    if (sf_tun_open_flags(&c->tun, c->dev, tun_flags(c), 0, 0, err, sizeof err) < 0 ||
        sf_tun_config(&c->tun, c->host_ip, c->prefix, c->mtu, err, sizeof err) < 0 ||
        (c->has6 && sf_tun_config6(&c->tun, c->host6, c->prefix6, err, sizeof err) < 0) ||
        (c->pcap_path && tun_cli_open_pcap(c, err, sizeof err) < 0)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        sf_tun_close(&c->tun);
        return 1;
    }
    napi_said(&c->tun, prog);
    c->tun.busy_poll = tun_cli_busy_ns(c);
    if (make_stack(c, prog) < 0 || open_ctl(c, prog) < 0 || open_signals(c) < 0) {
        tun_cli_finish(c);
        return 1;
    }
    char up[256];
    banner_addrs(c, up, sizeof up);
    fprintf(stderr, "%s: %s; control socket %s\n", prog, up, c->ctl_path);
    return 0;
}

void tun_cli_run_failed(const struct tun_cli *c, const char *prog)
{
    if (c->threads > 1)
        fprintf(stderr, "%s: queue %u of %s failed: %s\n", prog, c->thread,
                c->tun.name, strerror(errno));
    else
        fprintf(stderr, "%s: the device %s failed: %s\n", prog, c->tun.name,
                strerror(errno));
}

/* The banner of a multi-queue start (thread 0's addresses). */
static void banner_mq(struct tun_cli *c, unsigned n, const char *prog)
{
    char up[256];
    banner_addrs(c, up, sizeof up);
    fprintf(stderr, "%s: %s; %u queues, one stack per thread, steered by "
            "ports; control sockets %s (thread 0), %s.K (thread K)\n", prog, up,
            n, c->ctl_path, c->ctl_path);
}

static int start_queues(struct tun_cli *const *cs, unsigned n, const char *prog)
{
    char err[256];
    struct tun_cli *c0 = cs[0];
    for (unsigned k = 0; k < n; k++) {
        if (sf_tun_open_flags(&cs[k]->tun, c0->dev, tun_flags(c0), k, n, err,
                              sizeof err) < 0)
            goto fail;
        napi_said(&cs[k]->tun, prog);
        cs[k]->tun.busy_poll = tun_cli_busy_ns(c0);
    }
    /* the program before the device is up: no datagram is ever steered
     * by the kernel's own flow table */
    if ((!c0->steer_kernel && sf_tun_steer(&c0->tun, err, sizeof err) < 0) ||
        sf_tun_config(&c0->tun, c0->host_ip, c0->prefix, c0->mtu, err, sizeof err) < 0 ||
        (c0->has6 && sf_tun_config6(&c0->tun, c0->host6, c0->prefix6, err,
                                    sizeof err) < 0))
        goto fail;
    return 0;
fail:
    fprintf(stderr, "%s: %s\n", prog, err);
    return -1;
}

int tun_cli_start_mq(struct tun_cli *const *cs, unsigned n, const char *prog,
                     struct mq_worker *w, int *sigfd)
{
    struct tun_cli *c0 = cs[0];
    bool xdp = c0->xdp.ifname != NULL;
    *sigfd = -1;
    if (xdp && c0->threads > 1) {
        fprintf(stderr, "%s: --threads is for the TUN device's queues; with "
                "--xdp IFACE the queues are --queues N (docs/xdp.md)\n", prog);
        return 2;
    }
    if (!xdp && xdp_cli_stray(c0, prog))
        return 2;
    if (!xdp && (mq_check_threads(prog, n) < 0 || check_addrs(c0, prog) < 0))
        return 2;
    if (c0->pcap_path) {
        fprintf(stderr, "%s: --pcap writes one queue's datagrams; it does not "
                "go with %s %u (give one or the other)\n", prog,
                xdp ? "--queues" : "--threads", n);
        return 2;
    }
    if (mq_init(w, n, prog) < 0)
        return 1;
    for (unsigned k = 0; k < n; k++) {
        cs[k]->thread = k;
        cs[k]->threads = n;
        cs[k]->sigfd = cs[k]->ctl_fd = -1;
        cs[k]->tun.fd = -1;
        cs[k]->tun.st = NULL;
        cs[k]->beat = &w[k].busy_since;
    }
    int rc = 1;
    /* --xdp: the program and one AF_XDP socket per copy (bad input there
     * is exit 2, as with one queue); else the TUN device's queues */
    if (xdp && xdp_cli_open_mq(cs, n, prog) < 0) {
        rc = 2;
        goto fail;
    }
    if ((!xdp && start_queues(cs, n, prog) < 0) || make_stack(c0, prog) < 0 ||
        open_ctl(c0, prog) < 0 || open_signals(c0) < 0)
        goto fail;
    *sigfd = c0->sigfd; /* the main thread's; the workers get eventfds */
    for (unsigned k = 0; k < n; k++) {
        struct tun_cli *c = cs[k];
        c->sigfd = w[k].quit_fd;
        c->quit_event = true;
        if (k == 0)
            continue;
        memcpy(c->cfg.seed, c0->cfg.seed, sizeof c->cfg.seed);
        c->seed = c0->seed;
        snprintf(c->ctl_buf, sizeof c->ctl_buf, "%s.%u", c0->ctl_path, k);
        c->ctl_path = c->ctl_buf;
        if (make_stack(c, prog) < 0 || open_ctl(c, prog) < 0)
            goto fail;
    }
    if (xdp)
        xdp_cli_bind_mq(cs, n, prog);
    else
        banner_mq(c0, n, prog);
    return 0;
fail:
    if (*sigfd >= 0)
        close(*sigfd);
    *sigfd = -1;
    for (unsigned k = n; k-- > 0;) /* copy 0 last: it owns --xdp's program */
        tun_cli_finish(cs[k]);
    return rc;
}

void tun_cli_finish(struct tun_cli *c)
{
    if (c->ctl_fd >= 0) {
        close(c->ctl_fd);
        unlink(c->ctl_path);
    }
    c->ctl_fd = -1;
    if (c->sigfd >= 0 && !c->quit_event)
        close(c->sigfd);
    c->sigfd = -1;
    if (c->tun.st)
        sf_stack_free(c->tun.st);
    c->tun.st = NULL;
    sf_tun_close(&c->tun);
    xdp_cli_finish(c);
    pcapw_close(c->pcap);
    c->pcap = NULL;
}

int tun_cli_pollfds(struct tun_cli *c, struct pollfd *fds, int max)
{
    mq_beat(c->beat, 0); /* the loop is about to sleep */
    if (max < 2)
        return 0;
    fds[0] = (struct pollfd){.fd = c->sigfd, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = c->ctl_fd, .events = POLLIN};
    return 2;
}

void tun_cli_service(struct tun_cli *c, sf_time_t now, struct pollfd *fds,
                     int n)
{
    mq_beat(c->beat, now);
    if (n >= 1 && (fds[0].revents & POLLIN) && c->quit_event) {
        uint64_t v; /* the main thread passes a signal on */
        if (read(c->sigfd, &v, sizeof v) == (ssize_t)sizeof v && !c->quit) {
            c->quit_deadline = now + c->grace;
            c->quit = true;
        }
    } else if (n >= 1 && (fds[0].revents & POLLIN)) {
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

bool tun_cli_grace_over(struct tun_cli *c, sf_time_t now)
{
    if (!c->quit || c->reset_sent || now < c->quit_deadline)
        return false;
    c->reset_sent = true;
    c->quit_deadline = now + RESET_WAIT;
    return true;
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

int tun_cli_stack_ctl(struct tun_cli *c, const char *prog)
{
    return make_stack(c, prog) < 0 || open_ctl(c, prog) < 0 || open_signals(c) < 0
               ? -1 : 0;
}
