/* The TUN driver's gather output (sf_tun_output_gather, src/link/tun.c) on
 * a real device: a stack serving a kernel TCP client in a network
 * namespace of its own (unshare; the device and its addresses go with the
 * test process), 198.18.0.1 (kernel) and 198.18.0.2 (synfin). synfin sends
 * 6 MB; the kernel must receive every byte in order, each segment checked
 * by its TCP (RFC 9293 3.1; over offload the kernel completes our partial
 * sums), and the tap must see every datagram the stack sent whole: both
 * checksums right (the driver completes them for a tap) and the payload
 * the bytes of the stream at its sequence number. With offload the
 * segments are merged into GSO packets, with or without timestamps (the
 * kernel gives each segment the first one's options, as Linux's TSO
 * does), and the tap's view of each is built around its payload in the
 * merge buffer; without offload every one goes by writev of its pieces
 * and the tap gets a copy. The send ring wraps under some of
 * them (three pieces). Needs root; as another user it says so and passes
 * without running (it runs in the root suite). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "synfin/tun.h"
#include "synfin/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

#define KERNEL_IP 0xC6120001u /* 198.18.0.1 */
#define SYNFIN_IP 0xC6120002u /* 198.18.0.2 */
#define PORT 5001
#define TOTAL (6u << 20)

static bool can_run;

struct g_run {
    struct sf_tun t;
    bool gather, ts, keep; /* keep: sf_tun_output_gather_keep */
    int ls, sd, kfd;
    uint64_t sent, rcvd;
    bool shut, bad_stream, timed_out;
    sf_time_t deadline;
    /* the tap */
    bool have_base;
    uint32_t base; /* the sequence number of stream byte 0 */
    unsigned tap_data, tap_bad;
    /* the gather calls */
    unsigned gathers, wrapped;
    /* runs handed whole (cfg.output_gso): tso 1 with the tap on what is
     * read only (sf_tun_run sets SF_OFFLOAD_TSO), 2 with the tap on what
     * is written too (set here once running: the driver cuts them) */
    int tso;
    bool tso_forced;
    unsigned gsos;
};

static uint8_t pattern(uint64_t p)
{
    return (uint8_t)(p * 131u + (p >> 9));
}

static void tap(void *ctx, sf_time_t now, enum sf_tun_dir dir,
                const uint8_t *d, size_t len)
{
    struct g_run *r = ctx;
    (void)now;
    if (dir != SF_TUN_OUT)
        return;
    struct sf_ipv4 ip;
    struct sf_tcp seg;
    if (sf_ipv4_parse(d, len, &ip) != SF_DROP_NONE ||
        sf_tcp_parse(&ip, &seg) != SF_DROP_NONE) {
        r->tap_bad++; /* a checksum or a length wrong */
        return;
    }
    if (seg.flags & SF_SYN) {
        r->base = seg.seq + 1;
        r->have_base = true;
    }
    if (!seg.len)
        return;
    r->tap_data++;
    uint64_t at = (uint32_t)(seg.seq - r->base);
    for (size_t i = 0; i < seg.len; i++)
        if (!r->have_base || seg.payload[i] != pattern(at + i)) {
            r->tap_bad++;
            return;
        }
}

/* The run whose device ctx (the stack's output_ctx) is. */
static struct g_run *run_of(void *ctx)
{
    return (struct g_run *)((char *)ctx - offsetof(struct g_run, t));
}

static void counted_gather(void *ctx, const struct sf_piece *v, size_t n)
{
    struct g_run *r = run_of(ctx);
    r->gathers++;
    r->wrapped += n == 3;
    if (r->keep)
        sf_tun_output_gather_keep(ctx, v, n);
    else
        sf_tun_output_gather(ctx, v, n);
}

static void counted_gso(void *ctx, const struct sf_piece *v, size_t n, size_t seg)
{
    struct g_run *r = run_of(ctx);
    r->gsos++;
    r->wrapped += n == 3;
    if (r->keep)
        sf_tun_output_gso_keep(ctx, v, n, seg);
    else
        sf_tun_output_gso(ctx, v, n, seg);
}

static int pollfds(void *ctx, struct pollfd *fds, int max)
{
    struct g_run *r = ctx;
    if (max < 1)
        return 0;
    fds[0] = (struct pollfd){.fd = r->kfd, .events = POLLIN};
    return 1;
}

static sf_time_t service(void *ctx, sf_time_t now, struct pollfd *fds, int n)
{
    struct g_run *r = ctx;
    struct sf_stack *st = r->t.st;
    (void)fds, (void)n;
    if (now > r->deadline) {
        r->timed_out = true;
        r->t.stop = 1;
        return now;
    }
    if (r->tso == 2 && !r->tso_forced) {
        const struct sf_stack_cfg *sc = sf_stack_config(st);
        CHECK_EQ(sc->offload & SF_OFFLOAD_TSO, 0); /* (a tap on what is written) */
        CHECK_EQ(sf_stack_set_offload(st, sc->offload | SF_OFFLOAD_TSO), 0);
        r->tso_forced = true;
    }
    if (r->sd < 0)
        r->sd = sf_accept(st, r->ls, NULL);
    uint8_t buf[65536];
    while (r->sd >= 0 && r->sent < TOTAL) {
        size_t k = TOTAL - r->sent < 3001 ? (size_t)(TOTAL - r->sent) : 3001;
        for (size_t i = 0; i < k; i++)
            buf[i] = pattern(r->sent + i);
        long w = sf_send(st, r->sd, buf, k, 0);
        if (w <= 0)
            break;
        r->sent += (uint64_t)w;
    }
    if (r->sd >= 0 && r->sent == TOTAL && !r->shut) {
        sf_shutdown(st, r->sd, SF_SHUT_WR);
        r->shut = true;
    }
    for (;;) {
        ssize_t g = recv(r->kfd, buf, sizeof buf, MSG_DONTWAIT);
        if (g == 0) {
            r->t.stop = 1; /* the whole stream and our FIN */
            break;
        }
        if (g < 0)
            break;
        for (ssize_t i = 0; i < g; i++)
            if (buf[i] != pattern(r->rcvd + (uint64_t)i))
                r->bad_stream = true;
        r->rcvd += (uint64_t)g;
    }
    return now + 5 * SF_MSEC;
}

/* One transfer; with napi through SF_TUN_NAPI. Returns what the device
 * said of its NAPI thread (napi_thread, napi_why in why). */
static bool run_tso(bool offload, bool ts, bool gather, bool napi,
                    bool keep, int tso, char *why, size_t whylen)
{
    if (!can_run)
        return false;
    static struct g_run r;
    memset(&r, 0, sizeof r);
    r.gather = gather;
    r.ts = ts;
    r.keep = keep;
    r.tso = tso;
    r.sd = -1;
    char err[256];
    unsigned fl = (offload ? SF_TUN_OFFLOAD : 0) | (napi ? SF_TUN_NAPI : 0);
    CHECK_EQ(sf_tun_open_flags(&r.t, "sfgather0", fl, 0, 0, err, sizeof err), 0);
    CHECK_EQ(r.t.napi, napi);
    bool threaded = r.t.napi_thread;
    snprintf(why, whylen, "%s", r.t.napi_why);
    CHECK_EQ(sf_tun_config(&r.t, KERNEL_IP, 24, 1500, err, sizeof err), 0);
    sf_tun_set_tap(&r.t, tap, &r);
    r.t.tap_in_only = tso == 1;
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = SYNFIN_IP;
    cfg.mss = 1460;
    cfg.output = sf_tun_output;
    cfg.output_gather = gather ? counted_gather : NULL;
    cfg.output_flush = gather && keep ? sf_tun_output_flush : NULL;
    cfg.output_gso = tso ? counted_gso : NULL;
    cfg.output_ctx = &r.t;
    for (int k = 0; k < 16; k++)
        cfg.seed[k] = (uint8_t)(k + 1);
    CHECK_EQ(sf_stack_create(&cfg, sf_tun_now(), &r.t.st), 0);
    r.ls = sf_socket(r.t.st);
    struct sf_addr a = sf_addr4(0, PORT);
    int on = ts, snd = 100000; /* a ring that wraps often */
    CHECK_EQ(sf_setsockopt(r.t.st, r.ls, SF_IPPROTO_TCP, SF_TCP_TIMESTAMPS, &on, sizeof on), 0);
    CHECK_EQ(sf_setsockopt(r.t.st, r.ls, SF_SOL_SOCKET, SF_SO_SNDBUF, &snd, sizeof snd), 0);
    CHECK_EQ(sf_bind(r.t.st, r.ls, &a), 0);
    CHECK_EQ(sf_listen(r.t.st, r.ls, 4), 0);
    r.kfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(r.kfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT),
                             .sin_addr.s_addr = htonl(SYNFIN_IP)};
    int c = connect(r.kfd, (struct sockaddr *)&sa, sizeof sa);
    CHECK(c == 0 || errno == EINPROGRESS);
    r.deadline = sf_tun_now() + 30 * SF_SEC;
    struct sf_tun_hooks h = {&r, pollfds, service};
    CHECK_EQ(sf_tun_run(&r.t, &h), 0);
    const struct sf_tun_stats *s = &r.t.stats;
    fprintf(stderr, "offload %d timestamps %d gather %d keep %d tso %d: %llu of %u bytes, "
            "tap %u data segments (%u bad), %u gathered (%u wrapped), %u runs, "
            "tx %llu, GSO %llu (%llu segments)\n", offload, ts, gather, keep, tso,
            (unsigned long long)r.rcvd, TOTAL, r.tap_data, r.tap_bad,
            r.gathers, r.wrapped, r.gsos, (unsigned long long)s->tx,
            (unsigned long long)s->tx_gso, (unsigned long long)s->tx_gso_segs);
    CHECK(!r.timed_out);
    CHECK_EQ(r.rcvd, TOTAL);
    CHECK(!r.bad_stream);
    CHECK_EQ(r.tap_bad, 0);
    if (tso != 1) /* (else the tap sees what is read only) */
        CHECK(r.tap_data >= TOTAL / 1460);
    CHECK_EQ(s->tx_errors, 0);
    if (tso) { /* runs went: whole, or cut into what the tap saw */
        CHECK(r.gsos > 10);
        CHECK_EQ(sf_stack_counters(r.t.st)->c[SF_CTR_TSO_OUT], r.gsos);
    }
    if (gather) { /* (runs count once a run) */
        CHECK(r.gathers + r.gsos >= TOTAL / 1460 / (tso ? 45 : 1));
        CHECK(r.wrapped > 0);
    }
    if (offload)
        CHECK(s->tx_gso_segs > s->tx_gso); /* merged */
    close(r.kfd);
    sf_stack_free(r.t.st);
    sf_tun_close(&r.t);
    return threaded;
}

static bool run_flags(bool offload, bool ts, bool gather, bool napi,
                      bool keep, char *why, size_t whylen)
{
    return run_tso(offload, ts, gather, napi, keep, 0, why, whylen);
}

static void run(bool offload, bool ts, bool gather)
{
    char why[200];
    CHECK(!run_flags(offload, ts, gather, false, false, why, sizeof why));
}

/* merged into GSO packets: the tap's view built in the merge buffer */
static void test_offload_merged(void)
{
    run(true, false, true);
}

/* with timestamps (RFC 7323) merged too: the options are the same on the
 * segments of a burst, and the kernel copies them onto each; the tap's
 * view built in the merge buffer around headers 12 bytes longer */
static void test_offload_timestamps(void)
{
    run(true, true, true);
}

/* no vnet header: writev of the pieces */
static void test_no_offload(void)
{
    run(false, false, true);
}

/* the contiguous path still does as before */
static void test_offload_no_gather(void)
{
    run(true, false, false);
}

/* sf_tun_output_gather_keep with output_flush: the GSO packets point into
 * the send ring until written (no copy of the payload), with and without
 * timestamps; every byte in order, the tap's view of each segment whole */
static void test_offload_kept(void)
{
    char why[200];
    CHECK(!run_flags(true, false, true, false, true, why, sizeof why));
    CHECK(!run_flags(true, true, true, false, true, why, sizeof why));
    CHECK(!run_flags(false, false, true, false, true, why, sizeof why));
}

/* cfg.output_gso (SF_OFFLOAD_TSO): runs of full segments handed whole,
 * with and without timestamps, kept or copied. With the tap on what is
 * read only, sf_tun_run turns it on and the runs join the GSO packets
 * whole; with the tap on what is written it stays off, and forced on,
 * the driver cuts each run into its segments for the tap (every one of
 * them checked there). Every byte in order either way. */
static void test_offload_runs(void)
{
    char why[200];
    CHECK(!run_tso(true, false, true, false, true, 1, why, sizeof why));
    CHECK(!run_tso(true, true, true, false, true, 1, why, sizeof why));
    CHECK(!run_tso(true, false, true, false, false, 1, why, sizeof why));
    CHECK(!run_tso(true, true, true, false, true, 2, why, sizeof why));
    CHECK(!run_tso(true, false, true, false, false, 2, why, sizeof why));
}

/* SF_TUN_NAPI: the datagrams written go through the device's NAPI poll.
 * With the sysfs of another namespace (this process unshared only its
 * network) the thread is refused with the reason and the device works
 * without it; with a sysfs of its own (as ip netns exec mounts one) the
 * poll runs in its kernel thread; every byte arrives either way. */
static void test_napi_thread(void)
{
    if (!can_run)
        return;
    char why[200];
    CHECK(!run_flags(true, false, true, true, false, why, sizeof why));
    fprintf(stderr, "refused: %s\n", why);
    CHECK(strstr(why, "is not this namespace's sfgather0") != NULL);
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("sysfs", "/sys", "sysfs", 0, NULL) != 0) {
        fprintf(stderr, "no sysfs of our own (%s): the thread not tried\n",
                strerror(errno));
        CHECK(false);
        return;
    }
    CHECK(run_flags(true, false, true, true, false, why, sizeof why));
    CHECK(run_flags(false, false, true, true, false, why, sizeof why));
}

static const struct check_case cases[] = {
    CHECK_CASE(test_offload_merged),
    CHECK_CASE(test_offload_timestamps),
    CHECK_CASE(test_no_offload),
    CHECK_CASE(test_offload_no_gather),
    CHECK_CASE(test_offload_kept),
    CHECK_CASE(test_offload_runs),
    CHECK_CASE(test_napi_thread), /* last: it mounts a sysfs of its own */
};

int main(int argc, char **argv)
{
    if (geteuid() != 0) {
        printf("test_tun_gather: not root, not run\n");
        return 0;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        printf("FAIL: unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return 1;
    }
    can_run = true;
    return CHECK_MAIN(argc, argv, cases);
}
