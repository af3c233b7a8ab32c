/* synfin bench, Linux back end: the kernel's TCP over loopback, in a fresh
 * network namespace made by a forked child (so nothing leaks into the
 * host's tables and TIME_WAITs die with the namespace). lo is brought up
 * with MTU 1500 so that segments are MSS 1460 as in the other back ends
 * (1440 over IPv6, ::1, as synfin's IPv6 rows).
 * One thread, blocking sockets: on loopback connect(), close() and the
 * peer's processing all happen inside the system calls. Each workload
 * group runs in its own child and sends its results back through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"

#define LX_PORT0 20000
#define LX_MAXPORTS 1024

struct lx {
    unsigned nports;
    int lsd[LX_MAXPORTS];
    int family;                  /* AF_INET (127.0.0.1) or AF_INET6 (::1) */
    struct sockaddr_storage srv; /* the loopback address, port 0 */
    socklen_t srvlen;
};

/* The server's address on port `port`. */
static struct sockaddr_storage lx_addr(const struct lx *l, uint16_t port)
{
    struct sockaddr_storage a = l->srv;
    if (l->family == AF_INET6)
        ((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&a)->sin_port = htons(port);
    return a;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* lo up, MTU 1500; TIME_WAIT kept (no reuse, no cap below our tables). */
static int netns_setup(struct bench_res *res)
{
    if (unshare(CLONE_NEWNET) < 0) {
        bench_note(res, "unshare(CLONE_NEWNET): %s", strerror(errno));
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    ifr.ifr_mtu = 1500;
    int r = fd < 0 ? -1 : ioctl(fd, SIOCSIFMTU, &ifr);
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    if (r == 0)
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    if (fd >= 0)
        close(fd);
    if (r < 0) {
        bench_note(res, "bringing lo up: %s", strerror(errno));
        return -1;
    }
    write_file("/proc/sys/net/ipv4/ip_local_port_range", "1024 65535");
    write_file("/proc/sys/net/ipv4/tcp_tw_reuse", "0");
    write_file("/proc/sys/net/ipv4/tcp_max_tw_buckets", "4000000");
    write_file("/proc/sys/net/core/somaxconn", "65535");
    write_file("/proc/sys/net/ipv4/tcp_max_syn_backlog", "1000000");
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    return 0;
}

static int lx_init(struct lx *l, unsigned nports, int family)
{
    memset(l, 0, sizeof *l);
    l->nports = nports > LX_MAXPORTS ? LX_MAXPORTS : nports;
    l->family = family;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&l->srv;
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_loopback;
        l->srvlen = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&l->srv;
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        l->srvlen = sizeof *a4;
    }
    for (unsigned p = 0; p < l->nports; p++) {
        int one = 1, sd = socket(family, SOCK_STREAM, 0);
        struct sockaddr_storage a = lx_addr(l, (uint16_t)(LX_PORT0 + p));
        if (sd < 0 || setsockopt(sd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
            bind(sd, (struct sockaddr *)&a, l->srvlen) || listen(sd, 65535))
            return -1;
        l->lsd[p] = sd;
    }
    return 0;
}

static int lx_open(struct lx *l, unsigned i, bool abort, int *cs, int *ss)
{
    int c = socket(l->family, SOCK_STREAM, 0);
    if (c < 0)
        return -errno;
    if (abort) {
        struct linger lg = {1, 0};
        setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    struct sockaddr_storage a = lx_addr(l, (uint16_t)(LX_PORT0 + i % l->nports));
    if (connect(c, (struct sockaddr *)&a, l->srvlen) < 0) {
        int e = errno;
        close(c);
        return -e;
    }
    int s = accept(l->lsd[i % l->nports], NULL, NULL);
    if (s < 0) {
        int e = errno;
        close(c);
        return -e;
    }
    *cs = c;
    *ss = s;
    return 0;
}

static int lx_life(struct lx *l, unsigned i, bool abort)
{
    int c, s, r = lx_open(l, i, abort, &c, &s);
    if (r)
        return r;
    close(c);
    close(s);
    return 0;
}

static double lx_rate(struct lx *l, const struct bench_opts *o, bool abort,
                      int *err)
{
    unsigned n = 0;
    double t0 = bench_now(), t;
    do {
        for (int k = 0; k < 64; k++, n++)
            if ((*err = lx_life(l, n, abort)) != 0)
                return -1;
        t = bench_now();
    } while (t - t0 < o->seconds);
    return n / (t - t0);
}

static void set_life(struct bench_res *res, enum bench_wl w, double rate,
                     int err)
{
    if (rate >= 0)
        bench_set(res, w, rate);
    else
        bench_note(res, "%s%s: %s", w == BW_ABORT || w == BW_ABORT_FULL ||
                   w == BW_ABORT6 ? "abort" : "graceful",
                   w == BW_ABORT6 || w == BW_GRACEFUL6 ? " (IPv6)" : "",
                   strerror(-err));
}

static void life(const struct bench_opts *o, struct bench_res *res, int family)
{
    struct lx l;
    int err = 0;
    bool v6 = family == AF_INET6;
    if (lx_init(&l, o->ports, family)) {
        bench_note(res, "listen%s: %s", v6 ? " (IPv6)" : "", strerror(errno));
        return;
    }
    set_life(res, v6 ? BW_ABORT6 : BW_ABORT, lx_rate(&l, o, true, &err), err);
    set_life(res, v6 ? BW_GRACEFUL6 : BW_GRACEFUL, lx_rate(&l, o, false, &err),
             err);
}

static void g_life(const struct bench_opts *o, struct bench_res *res)
{
    life(o, res, AF_INET);
}

/* over ::1, in a namespace of its own (no IPv4 TIME_WAITs in the tables) */
static void g_life6(const struct bench_opts *o, struct bench_res *res)
{
    life(o, res, AF_INET6);
}

/* A helper process holds n established connections (two descriptors
 * each: the descriptor limit may be far below 2 * fill) until hold_rd
 * reads end-of-file. Returns its pid once they are open, or -1. */
static pid_t lx_helper(struct lx *l, unsigned from, unsigned n, int hold[2])
{
    int rp[2];
    if (pipe(rp) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(rp[0]);
        close(hold[1]);
        char ok = 'K', x;
        int c, s;
        for (unsigned i = 0; i < n; i++)
            if (lx_open(l, from + i, false, &c, &s)) {
                ok = 'E';
                break;
            }
        if (write(rp[1], &ok, 1) != 1 || read(hold[0], &x, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(rp[1]);
    char ok = 0;
    if (pid < 0 || read(rp[0], &ok, 1) != 1 || ok != 'K')
        pid = -1;
    close(rp[0]);
    return pid;
}

static unsigned fd_room(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 2000)
        return 500;
    return (unsigned)(rl.rlim_cur > 2000000 ? 1000000 : (rl.rlim_cur - 1000) / 2);
}

static void g_full(const struct bench_opts *o, struct bench_res *res)
{
    struct lx l;
    int err = 0, hold[2];
    pid_t pids[4096];
    unsigned np = 0, per = fd_room();
    if (lx_init(&l, o->ports, AF_INET) || pipe(hold) < 0) {
        bench_note(res, "listen: %s", strerror(errno));
        return;
    }
    for (unsigned i = 0; i < o->fill && np < 4096 && err == 0; i += per) {
        unsigned n = o->fill - i < per ? o->fill - i : per;
        if ((pids[np] = lx_helper(&l, i, n, hold)) < 0)
            err = -EMFILE;
        else
            np++;
    }
    for (unsigned i = 0; i < o->fill && err == 0; i++)
        err = lx_life(&l, o->fill + i, false);
    if (err == 0) {
        set_life(res, BW_ABORT_FULL, lx_rate(&l, o, true, &err), err);
        set_life(res, BW_GRACEFUL_FULL, lx_rate(&l, o, false, &err), err);
    } else {
        bench_note(res, "filling the tables: %s", strerror(-err));
    }
    close(hold[1]);
    for (unsigned k = 0; k < np; k++)
        waitpid(pids[k], NULL, 0);
}

/* One connection, non-blocking ends, 1 MB writes and reads; over lo at
 * MTU 1500: MSS 1460 over IPv4, 1440 over IPv6. */
static void bulk(const struct bench_opts *o, struct bench_res *res, int family)
{
    struct lx l;
    int c, s;
    size_t chunk = 1 << 20;
    char *buf = calloc(1, chunk);
    if (!buf || lx_init(&l, 1, family) || lx_open(&l, 0, false, &c, &s)) {
        bench_note(res, "bulk%s setup failed",
                   family == AF_INET6 ? " (IPv6)" : "");
        free(buf);
        return;
    }
    fcntl(c, F_SETFL, O_NONBLOCK);
    fcntl(s, F_SETFL, O_NONBLOCK);
    uint64_t sent = 0, rcvd = 0;
    double t0 = bench_now();
    while (rcvd < o->bulk_bytes) {
        if (sent < o->bulk_bytes) {
            size_t want = o->bulk_bytes - sent < chunk ? o->bulk_bytes - sent : chunk;
            ssize_t w = write(c, buf, want);
            sent += w > 0 ? (uint64_t)w : 0;
        }
        ssize_t r;
        while ((r = read(s, buf, chunk)) > 0)
            rcvd += (uint64_t)r;
    }
    bench_set(res, family == AF_INET6 ? BW_BULK6 : BW_BULK,
              rcvd / (bench_now() - t0) / 1e6);
    free(buf);
}

static void g_bulk(const struct bench_opts *o, struct bench_res *res)
{
    bulk(o, res, AF_INET);
}

static void g_bulk6(const struct bench_opts *o, struct bench_res *res)
{
    bulk(o, res, AF_INET6);
}

/* The object size of a slab cache, from /proc/slabinfo; -1 if absent. */
static long long slab_objsize(const char *cache)
{
    FILE *f = fopen("/proc/slabinfo", "r");
    if (!f)
        return -1;
    char line[512], name[64];
    long long act, num, sz, found = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%63s %lld %lld %lld", name, &act, &num, &sz) == 4 &&
            !strcmp(name, cache))
            found = sz;
    fclose(f);
    return found;
}

/* Kernel bytes per entry, as the sizes of the slab objects each one
 * holds: an established socket a tcp_sock ("TCP"), its socket inode,
 * struct file and dentry; a TIME_WAIT a tw_sock_TCP; a SYN-queue entry a
 * request_sock_TCP. Not a before/after difference: slab caches keep freed
 * objects and this machine is shared, which made deltas pure noise. No
 * buffers are counted (idle sockets hold none). */
static void g_mem(const struct bench_opts *o, struct bench_res *res)
{
    static const char *const estab[] = {"TCP", "sock_inode_cache", "filp",
                                        "dentry"};
    (void)o;
    long long sum = 0;
    for (size_t i = 0; i < sizeof estab / sizeof estab[0]; i++) {
        long long sz = slab_objsize(estab[i]);
        if (sz < 0) {
            bench_note(res, "memory: /proc/slabinfo has no %s", estab[i]);
            return;
        }
        sum += sz;
    }
    bench_set(res, BW_MEM_ESTAB, (double)sum);
    long long tw = slab_objsize("tw_sock_TCP"), req = slab_objsize("request_sock_TCP");
    if (tw > 0)
        bench_set(res, BW_MEM_TW, (double)tw);
    if (req > 0)
        bench_set(res, BW_MEM_SYN, (double)req);
    bench_note(res, "memory: slab object sizes (TCP+sock_inode_cache+filp+dentry, "
                    "tw_sock_TCP, request_sock_TCP)");
}

int bench_linux(const struct bench_opts *o, struct bench_res *res)
{
    if (geteuid() != 0) {
        bench_note(res, "skipped: needs root for a network namespace");
        return -1;
    }
    bench_groups_in_children(netns_setup, g_life, g_full, g_bulk, g_mem, o,
                             res);
    /* the IPv6 rows, each in a fresh namespace too */
    if (o->groups & BENCH_G_LIFE)
        bench_in_child(netns_setup, g_life6, o, res);
    if (o->groups & BENCH_G_BULK)
        bench_in_child(netns_setup, g_bulk6, o, res);
    return 0;
}
