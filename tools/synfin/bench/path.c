/* synfin bench --only path: goodput of one bulk transfer in each direction
 * at once, on a grid of paths (RTT 2, 20, 100 ms; loss 0, 0.1 %, 1 %,
 * 5 %; 1 % loss with 5 % reordering; a 100 Mbit/s bottleneck with a
 * 1-BDP queue), in three columns measured in one run:
 *
 *   synfin  two synfin stacks in the simulator, the path as the sim's
 *           links; goodput over virtual time.
 *   Linux   two kernels, each in a namespace of its own (unshare), joined
 *           by synfin relay (the same link model, in real time).
 *   TUN     one kernel (namespace A) and one synfin stack on a TUN device
 *           (namespace B, whose kernel forwards between that TUN and the
 *           relay's): synfin against Linux over the same relay.
 *
 * Each side sends --path-mb MB to the other while receiving as much; a
 * cell's goodput is the bytes both received, in bits, over the time until
 * the later of the two received its peer's FIN. A cell that does not end
 * within the cap (--path-cap S, virtual seconds for the simulator) reports
 * the bytes received by then over the cap, marked '*'. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "io/pcap.h"
#include "synfin/relay.h"
#include "synfin/sim.h"
#include "synfin/tun.h"

#define PATH_PORT 5001
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define RELAY_A IP(198, 18, 20, 1) /* the relay's device in namespace A */
#define RELAY_B IP(198, 18, 20, 2) /* and in namespace B */
#define TUN_HOST IP(198, 18, 21, 1) /* TUN column: B's kernel side of synfin's TUN */
#define TUN_SYNFIN IP(198, 18, 21, 2) /* and synfin's own address */

struct path_cell {
    char label[48];
    double rtt_ms, loss, reorder;
    uint64_t bandwidth; /* 0: none */
    uint64_t bytes;     /* each way (path_size) */
    double cap;         /* seconds (path_size) */
};

/* A bottleneck cell's transfer is at least --path-bdps (default 200)
 * bandwidth-delay products each way, so that the handshake and slow
 * start from IW10 are a small part of it. They cost an ideal TCP about
 * 1 + 0.5 + (log2(BDP/IW) - 1) RTTs of the bottleneck's time (6 at
 * 100 ms, 100 Mbit/s: 863 segments a BDP), so K BDPs read at most
 * K / (K + 6) of the rate: 4 MB there is 3.4 BDPs (0.36), 40 BDPs 0.87,
 * 100 BDPs 0.94, 200 BDPs 0.97. The headers and the reverse flow's ACKs
 * take about 5 % more of the link (1,448 bytes of data in 1,500, a
 * 52-byte ACK every two segments), so at 100 ms 100 BDPs read at most
 * about 0.895x and 200 BDPs about 0.92x: below 200 the 0.9x of
 * the bottleneck is out of reach of any TCP (bench/README.md, Paths). */
static void path_size(struct path_cell *c, uint64_t bytes, double cap, unsigned bdps)
{
    c->bytes = bytes;
    c->cap = cap;
    if (!c->bandwidth)
        return;
    double bdp = (double)c->bandwidth * c->rtt_ms / 1e3 / 8;
    uint64_t want = (uint64_t)(bdps * bdp);
    want = (want + 1048575) / 1048576 * 1048576;
    if (want > c->bytes)
        c->bytes = want;
    double ideal = (double)c->bytes * 8 / (double)c->bandwidth;
    if (3 * ideal > c->cap)
        c->cap = 3 * ideal;
}

/* The grid, built in order. */
static size_t path_grid(struct path_cell *g, bool quick)
{
    static const double rtts[3] = {2, 20, 100};
    static const double losses[4] = {0, 0.001, 0.01, 0.05};
    size_t n = 0;
    if (quick) {
        g[n++] = (struct path_cell){"rtt 2 ms, loss 0", 2, 0, 0, 0, 0, 0};
        g[n++] = (struct path_cell){"rtt 20 ms, loss 1%", 20, 0.01, 0, 0, 0, 0};
        return n;
    }
    for (int r = 0; r < 3; r++) {
        for (int l = 0; l < 4; l++) {
            g[n] = (struct path_cell){"", rtts[r], losses[l], 0, 0, 0, 0};
            snprintf(g[n].label, sizeof g[n].label, "rtt %g ms, loss %g%%",
                     rtts[r], losses[l] * 100);
            n++;
        }
        g[n] = (struct path_cell){"", rtts[r], 0.01, 0.05, 0, 0, 0};
        snprintf(g[n].label, sizeof g[n].label, "rtt %g ms, loss 1%% reorder 5%%", rtts[r]);
        n++;
        g[n] = (struct path_cell){"", rtts[r], 0, 0, 100000000, 0, 0};
        snprintf(g[n].label, sizeof g[n].label, "rtt %g ms, 100M, 1-BDP queue", rtts[r]);
        n++;
    }
    return n;
}

/* One direction of the cell's path, for the relay and the simulator. */
static struct sf_link_cfg cell_dir(const struct path_cell *c)
{
    struct sf_link_cfg d = {0};
    d.delay = (sf_time_t)(c->rtt_ms * 1e6 / 2);
    d.loss = c->loss;
    d.reorder = c->reorder;
    d.bandwidth = c->bandwidth;
    /* 1 BDP: rate x RTT, at least two packets. */
    if (c->bandwidth) {
        double bdp = (double)c->bandwidth * c->rtt_ms / 1e3 / 8;
        d.queue_bytes = bdp < 3000 ? 3000 : (uint32_t)bdp;
    }
    return d;
}

struct path_result {
    double mbit;   /* goodput, both directions together */
    bool capped;   /* did not finish: bytes by the cap over the cap */
    bool have;
    char note[96];
};

/* ------------------------------------------- a bulk endpoint on synfin */

/* Listens on PATH_PORT, connects to the peer's, sends want bytes and
 * shuts down, reads the peer's bytes to their FIN. */
struct sfb_ep {
    struct sf_stack *st;
    uint32_t peer;
    int lsd, csd, asd;
    uint64_t want, sent, rcvd;
    bool connected, shut, eof;
    sf_time_t t_done;
    uint8_t buf[65536];
};

static int sfb_ep_listen(struct sfb_ep *e)
{
    e->lsd = sf_socket(e->st);
    struct sf_addr a = {.port = PATH_PORT};
    if (e->lsd < 0 || sf_bind(e->st, e->lsd, &a) < 0 || sf_listen(e->st, e->lsd, 4) < 0)
        return -1;
    e->csd = e->asd = -1;
    for (size_t i = 0; i < sizeof e->buf; i++)
        e->buf[i] = (uint8_t)i;
    return 0;
}

static int sfb_ep_connect(struct sfb_ep *e)
{
    e->csd = sf_socket(e->st);
    struct sf_addr p = {.ip = e->peer, .port = PATH_PORT};
    if (e->csd < 0)
        return -1;
    int r = sf_connect(e->st, e->csd, &p);
    return r == SF_EINPROGRESS || r == 0 ? 0 : -1;
}

static void sfb_ep_step(struct sfb_ep *e, sf_time_t now)
{
    if (e->asd < 0)
        e->asd = sf_accept(e->st, e->lsd, NULL);
    if (e->asd < 0)
        e->asd = -1;
    if (e->csd >= 0 && !e->shut && (sf_poll(e->st, e->csd) & SF_POLLOUT)) {
        while (e->sent < e->want) {
            uint64_t left = e->want - e->sent;
            size_t n = left < sizeof e->buf ? (size_t)left : sizeof e->buf;
            long k = sf_send(e->st, e->csd, e->buf, n, 0);
            if (k <= 0)
                break;
            e->sent += (uint64_t)k;
        }
        if (e->sent == e->want) {
            sf_shutdown(e->st, e->csd, SF_SHUT_WR);
            e->shut = true;
        }
    }
    while (e->asd >= 0 && !e->eof) {
        uint8_t tmp[65536];
        long k = sf_recv(e->st, e->asd, tmp, sizeof tmp, 0);
        if (k > 0) {
            e->rcvd += (uint64_t)k;
        } else {
            if (k == 0) {
                e->eof = true;
                e->t_done = now;
            }
            break;
        }
    }
}

/* ------------------------------------------------ the synfin column */

struct sim_ctx {
    struct sfb_ep ep[2];
};

static void sim_app(void *ctx, struct sf_sim *sim, int host)
{
    struct sim_ctx *s = ctx;
    sfb_ep_step(&s->ep[host], sf_sim_now(sim));
}

static void sim_start(void *ctx, struct sf_sim *sim, int host)
{
    struct sim_ctx *s = ctx;
    sfb_ep_connect(&s->ep[host]);
    sfb_ep_step(&s->ep[host], sf_sim_now(sim));
}

static bool sim_running(void *ctx, struct sf_sim *sim)
{
    struct sim_ctx *s = ctx;
    (void)sim;
    return !(s->ep[0].eof && s->ep[1].eof);
}

/* -v: what a stack's recovery did (its non-zero counters), in one write
 * (a child endpoint shares the parent's stderr). */
static void print_stack_counters(struct sf_stack *st, const char *who)
{
    const struct sf_counters *k = sf_stack_counters(st);
    char line[4096];
    size_t n = (size_t)snprintf(line, sizeof line, "  %s:", who);
    for (int i = 0; i < SF_NCOUNTERS && n < sizeof line; i++)
        if (k->c[i])
            n += (size_t)snprintf(line + n, sizeof line - n, " %s=%llu",
                                  sf_counter_name((enum sf_counter)i),
                                  (unsigned long long)k->c[i]);
    fprintf(stderr, "%s\n", line);
}

/* -v: both stacks of a simulator cell. */
static void print_counters(struct sf_sim *sim, const char *label)
{
    for (int h = 0; h < 2; h++) {
        char who[80]; /* label: a path_cell's, under 48 bytes */
        snprintf(who, sizeof who, "%.48s, host %d", label, h);
        print_stack_counters(sf_sim_host_stack(sim, h), who);
    }
}

static void run_sim(const struct path_cell *c, uint64_t seed, uint64_t bytes, double cap,
                    int pacing, bool verbose, struct path_result *res)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.seed = seed;
    if (pacing >= 0)
        cfg.stack.pacing = pacing != 0;
    struct sf_link_cfg d = cell_dir(c);
    cfg.link.delay = d.delay;
    cfg.link.loss = d.loss;
    cfg.link.reorder = d.reorder;
    cfg.link.bandwidth = d.bandwidth;
    cfg.link.queue_bytes = d.queue_bytes;
    struct sf_sim *sim;
    struct sim_ctx *s = calloc(1, sizeof *s);
    if (!s || sf_sim_create(&cfg, &sim) != 0) {
        free(s);
        snprintf(res->note, sizeof res->note, "cannot create the simulator");
        return;
    }
    int h0 = sf_sim_add_host(sim, 0, NULL), h1 = sf_sim_add_host(sim, 0, NULL);
    for (int k = 0; k < 2; k++) {
        struct sfb_ep *e = &s->ep[k];
        e->st = sf_sim_host_stack(sim, k);
        e->peer = sf_sim_host_addr(sim, k ? h0 : h1);
        e->want = bytes;
        sf_sim_touch(sim, k);
        sfb_ep_listen(e);
    }
    sf_sim_set_app(sim, sim_app, s);
    sf_sim_at(sim, 0, h0, sim_start, s);
    sf_sim_at(sim, 0, h1, sim_start, s);
    sf_time_t limit = (sf_time_t)(cap * 1e9);
    sf_sim_run_while(sim, sim_running, s, limit);
    uint64_t got = s->ep[0].rcvd + s->ep[1].rcvd;
    res->have = true;
    if (s->ep[0].eof && s->ep[1].eof) {
        sf_time_t t = s->ep[0].t_done > s->ep[1].t_done ? s->ep[0].t_done : s->ep[1].t_done;
        res->mbit = (double)got * 8 / ((double)t / 1e9) / 1e6;
    } else {
        res->capped = true;
        res->mbit = (double)got * 8 / cap / 1e6;
    }
    if (verbose)
        print_counters(sim, c->label);
    sf_sim_free(sim);
    free(s);
}

/* ---------------------------------- the real columns: processes, namespaces */

struct ep_report {
    uint64_t rcvd;
    sf_time_t t_done; /* 0: not done by the deadline */
    char err[80];
};

static int read_byte(int fd, double secs)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)(secs * 1000)) <= 0)
        return -1;
    char ch;
    return read(fd, &ch, 1) == 1 ? ch : -1;
}

static int read_full(int fd, void *buf, size_t n, double secs)
{
    struct pollfd p = {fd, POLLIN, 0};
    size_t got = 0;
    while (got < n) {
        if (poll(&p, 1, (int)(secs * 1000)) <= 0)
            return -1;
        ssize_t k = read(fd, (char *)buf + got, n - got);
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 0;
}

/* A tag byte and a report to the parent (who may be gone: ignored). */
static void send_report(int ctl, char tag, const struct ep_report *r)
{
    if (write(ctl, &tag, 1) == 1)
        (void)!write(ctl, r, sizeof *r);
}

static void report_err(int ctl, const char *fmt, const char *what)
{
    struct ep_report r = {0};
    snprintf(r.err, sizeof r.err, fmt, what, errno ? strerror(errno) : "");
    send_report(ctl, 'e', &r);
    _exit(1);
}

static int add_route(uint32_t net, uint32_t mask, const char *dev)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
    struct sockaddr_in *msk = (struct sockaddr_in *)&rt.rt_genmask;
    dst->sin_family = msk->sin_family = AF_INET;
    dst->sin_addr.s_addr = htonl(net);
    msk->sin_addr.s_addr = htonl(mask);
    rt.rt_flags = RTF_UP;
    rt.rt_dev = (char *)dev;
    int r = s < 0 ? -1 : ioctl(s, SIOCADDRT, &rt);
    if (s >= 0)
        close(s);
    return r;
}

/* -v: the kernel's own account of its namespace's TCP (TcpExt of
 * /proc/net/netstat, as nstat shows it): recoveries, timeouts, D-SACKs,
 * and HyStart's exits from slow start, by ACK train or by delay. */
static void print_kernel_mib(const char *who)
{
    static const char *const keep[] = {
        "TCPHystartTrainDetect", "TCPHystartDelayDetect", "TCPSackRecovery",
        "TCPLossProbes", "TCPTimeouts", "TCPSpuriousRTOs", "TCPDSACKRecv",
        "TCPDSACKOldSent", "TCPDSACKUndo", "TCPSACKReorder", "TCPRcvQDrop",
        "TCPOFOQueue", "TCPWantZeroWindowAdv", "TCPFullUndo", "TCPLostRetransmit"};
    FILE *f = fopen("/proc/net/netstat", "r");
    char names[8192], vals[8192], line[16384];
    size_t n = (size_t)snprintf(line, sizeof line, "  %s, kernel:", who);
    bool found = false;
    while (f && fgets(names, sizeof names, f) && fgets(vals, sizeof vals, f)) {
        if (strncmp(names, "TcpExt:", 7) != 0 || strncmp(vals, "TcpExt:", 7) != 0)
            continue;
        char *sn, *sv;
        char *a = strtok_r(names + 7, " \n", &sn), *b = strtok_r(vals + 7, " \n", &sv);
        for (; a && b; a = strtok_r(NULL, " \n", &sn), b = strtok_r(NULL, " \n", &sv))
            for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
                if (strcmp(a, keep[i]) == 0 && strcmp(b, "0") != 0 && n < sizeof line)
                    n += (size_t)snprintf(line + n, sizeof line - n, " %s=%s", a, b);
        found = true;
    }
    if (f)
        fclose(f);
    if (found)
        fprintf(stderr, "%s\n", line);
}

/* -v: the datagrams this namespace's devices dropped (/proc/net/dev: a
 * TUN device whose reader falls behind drops what overflows its queue,
 * a loss the path model did not make). */
static void print_dev_drops(const char *who)
{
    FILE *f = fopen("/proc/net/dev", "r");
    char line[512], out[1024];
    size_t n = (size_t)snprintf(out, sizeof out, "  %s, devices:", who);
    while (f && fgets(line, sizeof line, f)) {
        char dev[32];
        unsigned long long v[16];
        if (sscanf(line, " %31[^:]: %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
                   dev, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
                   &v[9], &v[10], &v[11]) == 13 &&
            strcmp(dev, "lo") != 0 && n < sizeof out)
            /* columns: rx bytes packets errs drop ..., tx bytes packets errs drop */
            n += (size_t)snprintf(out + n, sizeof out - n, " %s rx %llu (drop %llu) tx %llu (drop %llu);",
                                  dev, v[1], v[3], v[9], v[11]);
    }
    if (f)
        fclose(f);
    fprintf(stderr, "%s\n", out);
}

/* A TUN device's transmit queue holds what the kernel sends toward the
 * device's reader (the relay, or synfin) until it reads it: 500 datagrams
 * by default, and what overflows is dropped. One slow-start burst of a
 * 4 MB transfer (cwnd up to 2900 segments, sent at once where no
 * bandwidth is modelled) overflowed it whenever the reader fell behind on
 * this shared machine: tens to hundreds of drops a cell on the lossless
 * paths (-v, "devices"), losses the path model did not make, in both real
 * columns. A queue that holds a whole transfer. */
#define PATH_TXQLEN 10000

static int set_txqlen(const char *dev)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
    ifr.ifr_qlen = PATH_TXQLEN;
    int r = s < 0 ? -1 : ioctl(s, SIOCSIFTXQLEN, &ifr);
    if (s >= 0)
        close(s);
    return r;
}

/* The kernel's endpoint, in a child that has its own namespace. Says 'r'
 * once it listens, starts on 'g', answers 'd' and an ep_report. */
static void kernel_ep(int ctl, uint32_t peer, uint64_t want, double cap,
                      const char *relay_dev, const char *route_dev, const char *cc,
                      bool verbose)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PATH_PORT)};
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* the accepted socket inherits the listener's congestion control */
    if (cc && setsockopt(ls, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc)) < 0)
        report_err(ctl, "TCP_CONGESTION %s: %s", cc);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4) < 0)
        report_err(ctl, "%s: %s", "listen");
    if (write(ctl, "r", 1) != 1 || read_byte(ctl, 60) != 'g')
        _exit(1);
    if (route_dev && add_route(TUN_SYNFIN & 0xffffff00u, 0xffffff00u, route_dev) < 0)
        report_err(ctl, "%s: %s", "route to synfin's TUN subnet");
    if (set_txqlen(relay_dev) < 0) /* the relay's device, up by now */
        report_err(ctl, "%s: %s", "txqueuelen of the relay's device");
    sf_time_t t0 = sf_tun_now(), deadline = t0 + (sf_time_t)(cap * 1e9);
    int cs = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in p = {.sin_family = AF_INET, .sin_port = htons(PATH_PORT),
                            .sin_addr.s_addr = htonl(peer)};
    if (cs >= 0 && cc)
        setsockopt(cs, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc));
    if (cs < 0 || (connect(cs, (struct sockaddr *)&p, sizeof p) < 0 && errno != EINPROGRESS))
        report_err(ctl, "%s: %s", "connect");
    enum { BUF = 1 << 18 };
    uint8_t *buf = malloc(BUF);
    if (!buf)
        report_err(ctl, "%s: %s", "malloc");
    for (size_t i = 0; i < BUF; i++)
        buf[i] = (uint8_t)i;
    uint64_t sent = 0;
    struct ep_report r = {0};
    int as = -1;
    bool shut = false;
    while (!(r.t_done && shut) && sf_tun_now() < deadline) {
        /* once the peer's FIN is read, its socket is polled no more: it
         * stays readable (EOF), and polling it would spin */
        struct pollfd f[3] = {{cs, shut ? 0 : POLLOUT, 0},
                              {as >= 0 ? as : ls, r.t_done ? 0 : POLLIN, 0},
                              {ctl, POLLIN, 0}};
        sf_time_t now = sf_tun_now();
        int ms = (int)((deadline - now) / SF_MSEC) + 1;
        if (poll(f, 3, ms < 100 ? ms : 100) < 0 && errno != EINTR)
            break;
        if (f[2].revents)
            break; /* the parent gave up */
        if (!shut && (f[0].revents & (POLLOUT | POLLERR))) {
            while (sent < want) {
                size_t n = want - sent < BUF ? (size_t)(want - sent) : BUF;
                ssize_t k = send(cs, buf, n, MSG_NOSIGNAL);
                if (k <= 0)
                    break;
                sent += (uint64_t)k;
            }
            if (sent == want) {
                shutdown(cs, SHUT_WR);
                shut = true;
            }
        }
        if (as < 0 && (f[1].revents & POLLIN)) {
            as = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            continue;
        }
        if (as >= 0 && !r.t_done && (f[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            for (;;) {
                ssize_t k = recv(as, buf, BUF, 0);
                if (k > 0) {
                    r.rcvd += (uint64_t)k;
                    continue;
                }
                if (k == 0)
                    r.t_done = sf_tun_now();
                else if (errno != EAGAIN)
                    snprintf(r.err, sizeof r.err, "recv: %s", strerror(errno));
                break;
            }
            if (r.err[0])
                break;
        }
    }
    /* The socket stays open (the kernel keeps sending what it holds)
     * until the parent has both reports. */
    send_report(ctl, 'd', &r);
    if (verbose) {
        print_kernel_mib(route_dev ? "TUN, A" : "Linux, A or B");
        print_dev_drops(route_dev ? "TUN, A" : "Linux, A or B");
    }
    read_byte(ctl, cap + 30); /* the parent closes when it has both */
    _exit(0);
}

/* synfin's endpoint on a TUN device in namespace B (the TUN column). */
struct tun_ep {
    struct sf_tun t;
    struct sfb_ep e;
    int ctl;
    bool started;
    sf_time_t deadline;
    struct ep_report r;
};

static int tun_ep_fds(void *ctx, struct pollfd *fds, int max)
{
    struct tun_ep *te = ctx;
    if (max < 1)
        return 0;
    fds[0] = (struct pollfd){.fd = te->ctl, .events = POLLIN};
    return 1;
}

static sf_time_t tun_ep_service(void *ctx, sf_time_t now, struct pollfd *fds, int n)
{
    struct tun_ep *te = ctx;
    if (n > 0 && fds[0].revents) {
        char ch;
        if (te->started || read(te->ctl, &ch, 1) != 1 || ch != 'g') {
            te->t.stop = 1;
            return SF_TIME_NEVER;
        }
        te->started = true;
        te->deadline = now + te->deadline;
        if (set_txqlen("pb") < 0) { /* the relay's device, up by now */
            snprintf(te->r.err, sizeof te->r.err, "txqueuelen of pb: %s", strerror(errno));
            te->t.stop = 1;
            return SF_TIME_NEVER;
        }
        if (sfb_ep_connect(&te->e) < 0) {
            snprintf(te->r.err, sizeof te->r.err, "sf_connect failed");
            te->t.stop = 1;
        }
    }
    if (!te->started)
        return SF_TIME_NEVER;
    sfb_ep_step(&te->e, now);
    if ((te->e.eof && te->e.shut) || now >= te->deadline) {
        te->r.rcvd = te->e.rcvd;
        te->r.t_done = te->e.eof ? te->e.t_done : 0;
        te->t.stop = 1;
    }
    return te->deadline;
}

static void path_tap(void *ctx, sf_time_t now, enum sf_tun_dir dir,
                     const uint8_t *d, size_t len)
{
    (void)dir;
    pcapw_write(ctx, now, d, len);
}

static void synfin_tun_ep(int ctl, uint64_t want, double cap, int pacing, bool verbose,
                          const char *pcap)
{
    struct tun_ep *tp = calloc(1, sizeof *tp);
    char err[160];
    if (!tp)
        report_err(ctl, "%s: %s", "calloc");
    tp->ctl = ctl;
    tp->deadline = (sf_time_t)(cap * 1e9);
    errno = 0;
    int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "1", 1) != 1)
        report_err(ctl, "%s: %s", "ip_forward in namespace B");
    close(fd);
    if (sf_tun_open(&tp->t, "pt", false, err, sizeof err) < 0 ||
        sf_tun_config(&tp->t, TUN_HOST, 24, 1500, err, sizeof err) < 0) {
        errno = 0;
        report_err(ctl, "%s%s", err);
    }
    if (set_txqlen("pt") < 0)
        report_err(ctl, "%s: %s", "txqueuelen of synfin's TUN device");
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = TUN_SYNFIN;
    if (pacing >= 0)
        cfg.pacing = pacing != 0;
    cfg.output = sf_tun_output;
    cfg.output_gather = sf_tun_output_gather;
    cfg.output_ctx = &tp->t;
    if (getrandom(cfg.seed, sizeof cfg.seed, 0) != sizeof cfg.seed ||
        sf_stack_create(&cfg, sf_tun_now(), &tp->t.st) != 0)
        report_err(ctl, "%s: %s", "stack");
    tp->e.st = tp->t.st;
    tp->e.peer = RELAY_A;
    tp->e.want = want;
    if (sfb_ep_listen(&tp->e) < 0)
        report_err(ctl, "%s: %s", "sf_listen");
    if (write(ctl, "r", 1) != 1)
        _exit(1);
    /* --path-pcap: a capture of what crosses synfin's device */
    struct pcapw *pw = pcap ? pcapw_open(pcap, err, sizeof err) : NULL;
    if (pcap && !pw)
        fprintf(stderr, "synfin bench: --path-pcap: %s\n", err);
    if (pw)
        sf_tun_set_tap(&tp->t, path_tap, pw);
    struct sf_tun_hooks h = {tp, tun_ep_fds, tun_ep_service};
    sf_tun_run(&tp->t, &h);
    if (pw) {
        sf_tun_set_tap(&tp->t, NULL, NULL);
        pcapw_close(pw);
    }
    send_report(ctl, 'd', &tp->r);
    if (verbose) {
        print_stack_counters(tp->t.st, "TUN, synfin");
        print_dev_drops("TUN, B");
    }
    /* Keep ACKing the peer's retransmissions until the parent is done. */
    tp->started = false;
    tp->t.stop = 0;
    sf_tun_run(&tp->t, &h);
    _exit(0);
}

static int relay_hook_fds(void *ctx, struct pollfd *fds, int max)
{
    if (max < 1)
        return 0;
    fds[0] = (struct pollfd){.fd = *(int *)ctx, .events = POLLIN};
    return 1;
}

static void relay_hook_service(void *ctx, struct sf_relay *r, struct pollfd *fds, int n)
{
    (void)ctx;
    if (n > 0 && fds[0].revents)
        r->stop = 1; /* the parent closed its end, or wrote */
}

/* The relay, in a child: devices in the namespaces of pids a and b; runs
 * until the parent closes ctl. */
static void relay_child(int ctl, pid_t a, pid_t b, const struct path_cell *c, uint64_t seed)
{
    char nsa[64], nsb[64], err[200];
    snprintf(nsa, sizeof nsa, "/proc/%d/ns/net", (int)a);
    snprintf(nsb, sizeof nsb, "/proc/%d/ns/net", (int)b);
    struct sf_relay_cfg cfg = {
        .tun = {"pa", "pb"}, .netns = {nsa, nsb}, .addr = {RELAY_A, RELAY_B},
        .prefix = {24, 24}, .mtu = 1500, .seed = seed};
    cfg.dir[0] = cfg.dir[1] = cell_dir(c);
    struct sf_relay r;
    if (sf_relay_open(&r, &cfg, err, sizeof err) < 0) {
        errno = 0;
        report_err(ctl, "%s%s", err);
    }
    if (write(ctl, "r", 1) != 1)
        _exit(1);
    struct sf_relay_hooks h = {&ctl, relay_hook_fds, relay_hook_service};
    int rc = sf_relay_run(&r, &h, err, sizeof err);
    sf_relay_close(&r);
    _exit(rc ? 1 : 0);
}

/* In a new child: closes every descriptor but stdio and keep, so that the
 * parent's ends of the other children's sockets are not held open here
 * (a child learns that the parent is done from the EOF on its own). */
static void close_others(int keep)
{
    for (int fd = 3; fd < 1024; fd++)
        if (fd != keep)
            close(fd);
}

struct child {
    pid_t pid;
    int ctl; /* the parent's end */
};

static void child_end(struct child *ch)
{
    if (ch->ctl >= 0)
        close(ch->ctl);
    ch->ctl = -1;
    if (ch->pid > 0) {
        for (int i = 0; i < 50; i++) {
            if (waitpid(ch->pid, NULL, WNOHANG) == ch->pid) {
                ch->pid = -1;
                return;
            }
            usleep(20000);
        }
        kill(ch->pid, SIGKILL);
        waitpid(ch->pid, NULL, 0);
        ch->pid = -1;
    }
}

enum ep_kind { EP_KERNEL, EP_KERNEL_ROUTED, EP_SYNFIN_TUN };

/* Forks a child in a new network namespace running endpoint kind. */
static int child_ep(struct child *ch, enum ep_kind kind, const char *relay_dev,
                    uint32_t peer, uint64_t want, double cap, const char *cc, int pacing,
                    bool verbose, const char *pcap)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    fflush(NULL);
    ch->pid = fork();
    if (ch->pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (ch->pid == 0) {
        close_others(sv[1]);
        signal(SIGPIPE, SIG_IGN);
        if (unshare(CLONE_NEWNET) < 0)
            report_err(sv[1], "%s: %s", "unshare(CLONE_NEWNET)");
        if (kind == EP_SYNFIN_TUN)
            synfin_tun_ep(sv[1], want, cap, pacing, verbose, pcap);
        kernel_ep(sv[1], peer, want, cap, relay_dev, kind == EP_KERNEL_ROUTED ? "pa" : NULL,
                  cc, verbose);
        _exit(0);
    }
    close(sv[1]);
    ch->ctl = sv[0];
    return 0;
}

/* Waits for 'r' (ready) from a child; on an error report, copies it. */
static int child_ready(struct child *ch, char *note, size_t n)
{
    int b = read_byte(ch->ctl, 10);
    if (b == 'r')
        return 0;
    struct ep_report r;
    if (b == 'e' && read_full(ch->ctl, &r, sizeof r, 1) == 0)
        snprintf(note, n, "%s", r.err);
    else
        snprintf(note, n, "a child did not start");
    return -1;
}

/* One cell of a real column: A is a kernel, B a kernel or synfin on TUN;
 * the kernels use congestion control cc (NULL: the namespace's default). */
static void run_real(const struct path_cell *c, uint64_t seed, bool tun, const char *cc,
                     int pacing, bool verbose, const char *pcap, uint64_t bytes, double cap,
                     struct path_result *res)
{
    struct child a = {-1, -1}, b = {-1, -1}, rl = {-1, -1};
    uint32_t a_peer = tun ? TUN_SYNFIN : RELAY_B;
    if (child_ep(&a, tun ? EP_KERNEL_ROUTED : EP_KERNEL, "pa", a_peer, bytes, cap, cc,
                 pacing, verbose, NULL) < 0 ||
        child_ep(&b, tun ? EP_SYNFIN_TUN : EP_KERNEL, "pb", RELAY_A, bytes, cap, cc,
                 pacing, verbose, pcap) < 0) {
        snprintf(res->note, sizeof res->note, "fork: %s", strerror(errno));
        goto out;
    }
    if (child_ready(&a, res->note, sizeof res->note) < 0 ||
        child_ready(&b, res->note, sizeof res->note) < 0)
        goto out;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        goto out;
    fflush(NULL);
    rl.pid = fork();
    if (rl.pid == 0) {
        close_others(sv[1]);
        relay_child(sv[1], a.pid, b.pid, c, seed);
    }
    close(sv[1]);
    rl.ctl = sv[0];
    if (rl.pid < 0 || child_ready(&rl, res->note, sizeof res->note) < 0)
        goto out;
    sf_time_t t_go = sf_tun_now();
    if (write(a.ctl, "g", 1) != 1 || write(b.ctl, "g", 1) != 1)
        goto out;
    struct ep_report ra = {0}, rb = {0};
    struct child *chs[2] = {&a, &b};
    struct ep_report *rs[2] = {&ra, &rb};
    for (int k = 0; k < 2; k++) {
        int ch = read_byte(chs[k]->ctl, cap + 15);
        if ((ch != 'd' && ch != 'e') || read_full(chs[k]->ctl, rs[k], sizeof *rs[k], 5) < 0) {
            snprintf(res->note, sizeof res->note, "an endpoint did not report");
            goto out;
        }
        if (rs[k]->err[0]) {
            snprintf(res->note, sizeof res->note, "%s", rs[k]->err);
            goto out;
        }
    }
    uint64_t got = ra.rcvd + rb.rcvd;
    res->have = true;
    if (verbose) { /* -v: each direction on its own (B is synfin in the TUN column) */
        const char *nb = tun ? "synfin" : "B";
        fprintf(stderr, "  %s, %s: A->%s %.2f Mbit/s (%.3f s), %s->A %.2f Mbit/s (%.3f s)\n",
                c->label, tun ? "TUN" : "Linux", nb,
                rb.t_done ? (double)rb.rcvd * 8 / ((double)(rb.t_done - t_go) / 1e9) / 1e6 : 0,
                rb.t_done ? (double)(rb.t_done - t_go) / 1e9 : -1, nb,
                ra.t_done ? (double)ra.rcvd * 8 / ((double)(ra.t_done - t_go) / 1e9) / 1e6 : 0,
                ra.t_done ? (double)(ra.t_done - t_go) / 1e9 : -1);
    }
    if (ra.t_done && rb.t_done) {
        sf_time_t t = (ra.t_done > rb.t_done ? ra.t_done : rb.t_done) - t_go;
        res->mbit = (double)got * 8 / ((double)t / 1e9) / 1e6;
    } else {
        res->capped = true;
        res->mbit = (double)got * 8 / cap / 1e6;
    }
out:
    child_end(&a);
    child_end(&b);
    child_end(&rl);
}

/* ------------------------------------------------------------ driver */

/* A cell's column over its runs: the median (of an even count, the mean
 * of the middle two), the least and the most, each marked when a run
 * behind it was cut by the cap (counted with its capped goodput). */
struct path_stat {
    int have;  /* runs with a figure */
    int runs;  /* of these many */
    double med, min, max;
    bool med_capped, min_capped, max_capped;
};

static struct path_stat path_stat(const struct path_result *r, unsigned runs)
{
    struct path_stat st = {0};
    const struct path_result *v[BENCH_PATH_MAX_RUNS];
    int n = 0;
    for (unsigned i = 0; i < runs; i++)
        if (r[i].have) {
            int k = n++;
            for (; k > 0 && v[k - 1]->mbit > r[i].mbit; k--)
                v[k] = v[k - 1];
            v[k] = &r[i];
        }
    st.have = n;
    st.runs = (int)runs;
    if (n == 0)
        return st;
    st.min = v[0]->mbit, st.min_capped = v[0]->capped;
    st.max = v[n - 1]->mbit, st.max_capped = v[n - 1]->capped;
    const struct path_result *lo = v[(n - 1) / 2], *hi = v[n / 2];
    st.med = (lo->mbit + hi->mbit) / 2;
    st.med_capped = lo->capped || hi->capped;
    return st;
}

static void fmt_cell(char *buf, size_t n, const struct path_stat *s)
{
    if (!s->have)
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, "%.2f%s", s->med, s->med_capped ? "*" : "");
}

/* A figure in 3-4 digits, for the min-max line. */
static int fmt_num(char *buf, size_t n, double v, bool capped)
{
    return snprintf(buf, n, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v,
                    capped ? "*" : "");
}

static void fmt_range(char *buf, size_t n, const struct path_stat *s)
{
    if (!s->have) {
        snprintf(buf, n, "-");
        return;
    }
    int k = fmt_num(buf, n, s->min, s->min_capped);
    if (k > 0 && (size_t)k + 1 < n) {
        buf[k] = '-';
        k += 1 + fmt_num(buf + k + 1, n - (size_t)k - 1, s->max, s->max_capped);
    }
    if (s->have < s->runs && k > 0 && (size_t)k < n) /* the notes say why */
        snprintf(buf + k, n - (size_t)k, " (%d of %d)", s->have, s->runs);
}

static void fmt_ratio(char *buf, size_t n, const struct path_stat *x, const struct path_stat *y)
{
    if (x->have && y->have && y->med > 0)
        snprintf(buf, n, "%.2fx", x->med / y->med);
    else
        snprintf(buf, n, "-");
}

/* A line of /proc/sys/net/ipv4/NAME (a new namespace starts with the
 * init namespace's values), or "" when it cannot be read. */
static void read_sysctl(const char *name, char *buf, size_t n)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/net/ipv4/%s", name);
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(buf, (int)n, f))
        buf[strcspn(buf, "\n")] = 0;
    fclose(f);
}

enum { COL_SIM, COL_LINUX, COL_TUN, COL_LINUX_DEF, NCOL };

void bench_path(const struct bench_opts *o, bool sim, bool real)
{
    struct path_cell grid[18];
    size_t n = path_grid(grid, o->path_quick);
    for (size_t i = 0; i < n; i++) {
        path_size(&grid[i], o->path_bytes, o->path_cap, o->path_bdps);
        if (grid[i].bandwidth) { /* the size in the label: it is not --path-mb */
            size_t l = strlen(grid[i].label);
            snprintf(grid[i].label + l, sizeof grid[i].label - l, ", %.3g MB",
                     (double)grid[i].bytes / 1048576);
        }
    }
    if (o->path_cells) { /* keep the cells whose label has the text */
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (strstr(grid[i].label, o->path_cells))
                grid[k++] = grid[i];
        if (k == 0) {
            fprintf(stderr, "synfin bench: --path-cells '%s' names no cell of the "
                            "grid (labels look like \"rtt 20 ms, loss 1%%\")\n",
                    o->path_cells);
            return;
        }
        n = k;
    }
    unsigned runs = o->path_runs ? o->path_runs : 1;
    if (runs > BENCH_PATH_MAX_RUNS)
        runs = BENCH_PATH_MAX_RUNS;
    /* res[(i * NCOL + col) * runs + run] */
    struct path_result *res = calloc(n * NCOL * runs, sizeof *res);
    if (!res) {
        fprintf(stderr, "synfin bench: path grid: out of memory\n");
        return;
    }
#define RES(i, col) (&res[((i) * NCOL + (col)) * runs])
    static const char *const colname[NCOL] = {"synfin", "Linux", "TUN", "Linux default"};
    bool root = geteuid() == 0;
    const char *why = !real ? "not selected" : !root ? "needs root" : NULL;
    const char *cc = o->linux_cc;
    char def[32], avail[256];
    read_sysctl("tcp_congestion_control", def, sizeof def);
    read_sysctl("tcp_available_congestion_control", avail, sizeof avail);
    if (real && root && avail[0]) {
        bool found = false;
        char words[sizeof avail];
        memcpy(words, avail, sizeof words);
        for (char *t = strtok(words, " "); t && !found; t = strtok(NULL, " "))
            found = strcmp(t, cc) == 0;
        if (!found) {
            fprintf(stderr, "synfin bench: --linux-cc %s: the kernel has no such "
                            "congestion control (net.ipv4.tcp_available_congestion_control: "
                            "%s; modprobe tcp_%s)\n", cc, avail, cc);
            real = false;
            why = "--linux-cc names no congestion control the kernel has";
        }
    }
    /* the fourth column only when the default is another algorithm */
    bool other = real && root && def[0] && strcmp(def, cc) != 0;
    fprintf(stderr, "path grid: %zu cells, %u run%s each, %.3g MB each way (100M: at least "
                    "%d BDPs), cap %g s; kernels: %s%s%s\n",
            n, runs, runs == 1 ? "" : "s", (double)o->path_bytes / 1048576, o->path_bdps,
            o->path_cap, cc, other ? ", and the default " : "", other ? def : "");
    double g0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        double t0 = bench_now();
        const struct path_cell *c = &grid[i];
        /* Run r: the simulator with seed r, the relay with seed r (where
         * its random losses fall), every column once before the next run. */
        for (unsigned r = 0; r < runs; r++) {
            uint64_t seed = r + 1;
            if (sim)
                run_sim(c, seed, c->bytes, c->cap, o->pacing, o->verbose,
                        &RES(i, COL_SIM)[r]);
            if (real && root) {
                char pcap[256];
                if (o->path_pcap) /* the first run's */
                    snprintf(pcap, sizeof pcap, n > 1 ? "%s.%zu" : "%s", o->path_pcap, i + 1);
                const char *pc = o->path_pcap && r == 0 ? pcap : NULL;
                run_real(c, seed, false, cc, o->pacing, o->verbose, NULL, c->bytes, c->cap,
                         &RES(i, COL_LINUX)[r]);
                run_real(c, seed, true, cc, o->pacing, o->verbose, pc, c->bytes, c->cap,
                         &RES(i, COL_TUN)[r]);
                if (other)
                    run_real(c, seed, false, NULL, o->pacing, o->verbose, NULL, c->bytes,
                             c->cap, &RES(i, COL_LINUX_DEF)[r]);
            }
            if (o->verbose) {
                fprintf(stderr, "  %s, run %u (seed %llu):", c->label, r + 1,
                        (unsigned long long)seed);
                for (int k = 0; k < NCOL; k++)
                    if (RES(i, k)[r].have)
                        fprintf(stderr, " %s %.2f%s", colname[k], RES(i, k)[r].mbit,
                                RES(i, k)[r].capped ? "*" : "");
                fprintf(stderr, "\n");
            }
        }
        fprintf(stderr, "path %zu/%zu (%s) done in %.1f s\n", i + 1, n,
                c->label, bench_now() - t0);
    }
    fprintf(stderr, "path grid done in %.1f s\n", bench_now() - g0);
    printf("\npath grid: goodput in Mbit/s of one transfer each way at once (both "
           "directions summed), %.3g MB each way (100M cells: at least %d BDPs, size in "
           "the label); median of %u run%s (synfin: seeds 1..%u; Linux, TUN: %u real "
           "run%s, relay seeds 1..%u), min-max below each row; ratios: median over "
           "median; * = a run not done within the cap (%g s; 100M: at least 3x the "
           "transfer at the bottleneck rate)\n",
           (double)o->path_bytes / 1048576, o->path_bdps, runs, runs == 1 ? "" : "s", runs,
           runs, runs == 1 ? "" : "s", runs, o->path_cap);
    char hl[40], hr[40], hd[40], hdr[40];
    snprintf(hl, sizeof hl, "Linux %s", cc);
    snprintf(hr, sizeof hr, "synfin/%s", cc);
    snprintf(hd, sizeof hd, "Linux %s", other ? def : "-");
    snprintf(hdr, sizeof hdr, "synfin/%s", other ? def : "-");
    printf("%-38s %11s %12s %12s %11s %10s", "path", "synfin", hl, hr, "TUN", "TUN/Linux");
    if (other)
        printf(" %12s %12s", hd, hdr);
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        struct path_stat st[NCOL];
        for (int k = 0; k < NCOL; k++)
            st[k] = path_stat(RES(i, k), runs);
        char c[7][32];
        fmt_cell(c[0], sizeof c[0], &st[COL_SIM]);
        fmt_cell(c[1], sizeof c[1], &st[COL_LINUX]);
        fmt_ratio(c[2], sizeof c[2], &st[COL_SIM], &st[COL_LINUX]);
        fmt_cell(c[3], sizeof c[3], &st[COL_TUN]);
        fmt_ratio(c[4], sizeof c[4], &st[COL_TUN], &st[COL_LINUX]);
        printf("%-38s %11s %12s %12s %11s %10s", grid[i].label, c[0], c[1], c[2], c[3], c[4]);
        if (other) {
            fmt_cell(c[5], sizeof c[5], &st[COL_LINUX_DEF]);
            fmt_ratio(c[6], sizeof c[6], &st[COL_SIM], &st[COL_LINUX_DEF]);
            printf(" %12s %12s", c[5], c[6]);
        }
        printf("\n");
        if (runs > 1) {
            char lab[40];
            snprintf(lab, sizeof lab, "  min-max of %u", runs);
            fmt_range(c[0], sizeof c[0], &st[COL_SIM]);
            fmt_range(c[1], sizeof c[1], &st[COL_LINUX]);
            fmt_range(c[3], sizeof c[3], &st[COL_TUN]);
            char line[256];
            int k = snprintf(line, sizeof line, "%-38s %11s %12s %12s %11s", lab, c[0],
                             c[1], "", c[3]);
            if (other && k > 0 && (size_t)k < sizeof line) {
                fmt_range(c[5], sizeof c[5], &st[COL_LINUX_DEF]);
                snprintf(line + k, sizeof line - (size_t)k, " %10s %12s", "", c[5]);
            }
            printf("%s\n", line);
        }
    }
    if (why)
        printf("note (Linux, TUN): %s\n", why);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < NCOL; k++)
            for (unsigned r = 0; r < runs; r++)
                if (RES(i, k)[r].note[0])
                    printf("note (%s, %s, run %u): %s\n", grid[i].label, colname[k], r + 1,
                           RES(i, k)[r].note);
    printf("synfin: two synfin stacks in the simulator (virtual time); Linux %s: two "
           "kernels in namespaces across synfin relay, TCP_CONGESTION %s; TUN: a kernel "
           "(%s) against synfin on a TUN device across the same relay", cc, cc, cc);
    if (other)
        printf("; Linux %s: the two kernels with the namespace's default congestion "
               "control", def);
    printf("\n");
#undef RES
    free(res);
}
