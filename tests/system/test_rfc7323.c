/* RFC 7323 on a long fat path: two stacks on the simulated network, 50 ms
 * each way (100 ms RTT) at 1 Gbit/s, move 64 MiB one way with the stack
 * defaults (window scaling, timestamps, buffer autotuning). Without
 * scaling a window is at most 64 KB: 64 KB per 100 ms is 5.2 Mbit/s, so
 * 64 MiB would take more than 100 s. With scaling and autotuning the
 * receive window must grow past 64 KB and the transfer end well within
 * 10 s of virtual time (a deterministic virtual-time check: no wall
 * clock). Also: the same path with both options off per socket does not
 * negotiate them and never offers more than 65535 bytes. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/sim.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define PORT 5001
#define BYTES (64ull << 20)
/* Under ASan every 16 MB ring allocation is fresh pages (its allocator
 * does not reuse them as glibc's heap does): the 16 MB case moves less. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RFC7323_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RFC7323_SANITIZED 1
#endif
#ifdef RFC7323_SANITIZED
#define BYTES_16MB (16ull << 20)
#else
#define BYTES_16MB BYTES
#endif

struct lf {
    struct sf_sim *sim;
    int listener, csd, ssd;
    uint64_t bytes; /* to move */
    uint64_t sent, rcvd;
    bool bad, eof;
    int err;
    uint32_t max_rcv_wnd; /* the largest window the receiver offered */
    sf_time_t done_at;
};

static uint8_t pat(uint64_t p)
{
    return (uint8_t)((p * 0x9e3779b97f4a7c15ull) >> 56 ^ p);
}

static void app(void *ctx, struct sf_sim *sim, int host)
{
    struct lf *r = ctx;
    struct sf_stack *st = sf_sim_host_stack(sim, host);
    uint8_t buf[65536];
    if (host == 0) {
        while (r->sent < r->bytes) {
            size_t n = sizeof buf;
            if (n > r->bytes - r->sent)
                n = (size_t)(r->bytes - r->sent);
            for (size_t i = 0; i < n; i++)
                buf[i] = pat(r->sent + i);
            long w = sf_send(st, r->csd, buf, n, 0);
            if (w <= 0) {
                if (w != SF_EAGAIN)
                    r->err = (int)w;
                break;
            }
            r->sent += (uint64_t)w;
        }
        return;
    }
    if (r->ssd < 0 && (r->ssd = sf_accept(st, r->listener, NULL)) < 0)
        return;
    for (;;) {
        long n = sf_recv(st, r->ssd, buf, sizeof buf, 0);
        if (n <= 0) {
            if (n == 0)
                r->eof = true;
            else if (n != SF_EAGAIN)
                r->err = (int)n;
            break;
        }
        for (long i = 0; i < n; i++)
            if (buf[i] != pat(r->rcvd + (uint64_t)i))
                r->bad = true;
        r->rcvd += (uint64_t)n;
    }
    struct sf_tcp_info ti;
    if (sf_tcp_info(st, r->ssd, &ti) == 0 && ti.rcv_wnd > r->max_rcv_wnd)
        r->max_rcv_wnd = ti.rcv_wnd;
    if (r->rcvd == r->bytes && !r->done_at)
        r->done_at = sf_sim_now(sim);
}

static bool not_done(void *ctx, struct sf_sim *sim)
{
    (void)sim;
    struct lf *r = ctx;
    return !r->done_at && !r->err;
}

/* Moves BYTES over the long fat path; opts: the RFC 7323 options on. */
static void long_fat_bufs(struct lf *r, bool opts, uint64_t bytes_limit_s,
                          int bufsize);

static void long_fat(struct lf *r, bool opts, uint64_t bytes_limit_s)
{
    long_fat_bufs(r, opts, bytes_limit_s, 0);
}

/* bufsize: SO_RCVBUF on the listener and SO_SNDBUF on the client (0: the
 * defaults, autotuned) */
static void long_fat_bufs(struct lf *r, bool opts, uint64_t bytes_limit_s,
                          int bufsize)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.link.delay = 50 * SF_MSEC;
    cfg.link.bandwidth = 1000000000ull;
    memset(r, 0, sizeof *r);
    r->ssd = -1;
    r->bytes = bufsize ? BYTES_16MB : BYTES;
    CHECK_EQ(sf_sim_create(&cfg, &r->sim), 0);
    struct sf_sim *sim = r->sim;
    int c = sf_sim_add_host(sim, SF_SIM_NET_BASE + 1, NULL);
    int s = sf_sim_add_host(sim, SF_SIM_NET_BASE + 2, NULL);
    CHECK_EQ(c, 0);
    struct sf_stack *cs = sf_sim_host_stack(sim, c);
    struct sf_stack *ss = sf_sim_host_stack(sim, s);
    int off = 0;
    r->listener = sf_socket(ss);
    if (!opts) {
        CHECK_EQ(sf_setsockopt(ss, r->listener, SF_IPPROTO_TCP, SF_TCP_WSCALE,
                               &off, sizeof off), 0);
        CHECK_EQ(sf_setsockopt(ss, r->listener, SF_IPPROTO_TCP,
                               SF_TCP_TIMESTAMPS, &off, sizeof off), 0);
    }
    if (bufsize)
        CHECK_EQ(sf_setsockopt(ss, r->listener, SF_SOL_SOCKET, SF_SO_RCVBUF,
                               &bufsize, sizeof bufsize), 0);
    CHECK_EQ(sf_bind(ss, r->listener, &(struct sf_addr){.port = PORT}), 0);
    CHECK_EQ(sf_listen(ss, r->listener, 8), 0);
    r->csd = sf_socket(cs);
    if (bufsize)
        CHECK_EQ(sf_setsockopt(cs, r->csd, SF_SOL_SOCKET, SF_SO_SNDBUF,
                               &bufsize, sizeof bufsize), 0);
    sf_sim_touch(sim, c);
    CHECK_EQ(sf_connect(cs, r->csd,
                        &(struct sf_addr){.ip = SF_SIM_NET_BASE + 2,
                                          .port = PORT}),
             SF_EINPROGRESS);
    sf_sim_touch(sim, c);
    sf_sim_set_app(sim, app, r);
    sf_sim_run_while(sim, not_done, r, (sf_time_t)bytes_limit_s * SF_SEC);
    struct sf_tcp_info ti;
    CHECK_EQ(sf_tcp_info(ss, r->ssd, &ti), 0);
    CHECK_EQ(ti.wscale_ok, opts);
    CHECK_EQ(ti.ts_ok, opts);
    CHECK_EQ(r->err, 0);
    CHECK(!r->bad);
}

static void test_long_fat_path_scaled(void)
{
    struct lf r;
    long_fat(&r, true, 60);
    CHECK_EQ(r.rcvd, BYTES);
    fprintf(stderr, "64 MiB in %.3f s virtual, max window %u\n",
            (double)r.done_at / 1e9, r.max_rcv_wnd);
    /* the window grew past what 16 bits carry */
    CHECK(r.max_rcv_wnd > 65535);
    /* and the transfer is far faster than 64 KB per RTT allows (~100 s) */
    CHECK(r.done_at < 10 * SF_SEC);
    const struct sf_counters *k =
        sf_stack_counters(sf_sim_host_stack(r.sim, 1));
    CHECK(k->c[SF_CTR_RCVBUF_GROWN] > 0);
    sf_sim_set_app(r.sim, NULL, NULL);
    sf_sim_free(r.sim);
}

/* "when asked": 16 MB buffers set by the application (no autotuning)
 * cover the path's 12.5 MB bandwidth-delay product; the shift (9) comes
 * from SO_RCVBUF and the window passes the 6 MB autotuning ceiling. */
static void test_long_fat_path_16mb(void)
{
    struct lf r;
    long_fat_bufs(&r, true, 60, 16 << 20);
    CHECK_EQ(r.rcvd, BYTES_16MB);
    fprintf(stderr, "16 MB buffers: 64 MiB in %.3f s virtual, max window %u\n",
            (double)r.done_at / 1e9, r.max_rcv_wnd);
    struct sf_tcp_info ti;
    CHECK_EQ(sf_tcp_info(sf_sim_host_stack(r.sim, 1), r.ssd, &ti), 0);
    CHECK_EQ(ti.rcv_wscale, 9); /* 65535 << 8 is 256 bytes short of 16 MB */
    CHECK_EQ(ti.rcvbuf, 16u << 20);
    CHECK(r.max_rcv_wnd > (8u << 20));
    CHECK(r.done_at < 5 * SF_SEC);
    sf_sim_set_app(r.sim, NULL, NULL);
    sf_sim_free(r.sim);
}

/* Options off on the listener: no scaling, no timestamps, the window
 * stays within 16 bits (a shorter run: 10 s of virtual time). */
static void test_long_fat_path_unscaled(void)
{
    struct lf r;
    long_fat(&r, false, 10);
    CHECK(r.max_rcv_wnd <= 65535);
    CHECK(r.rcvd < BYTES); /* 64 KB per 100 ms cannot move 64 MiB in 10 s */
    sf_sim_set_app(r.sim, NULL, NULL);
    sf_sim_free(r.sim);
}

/* ---------------------------------------- one stack, segments by hand */

struct cap {
    uint8_t d[2048];
    size_t len;
    unsigned n;
};

static void cap_out(void *ctx, const uint8_t *dgram, size_t len)
{
    struct cap *c = ctx;
    if (len <= sizeof c->d) {
        memcpy(c->d, dgram, len);
        c->len = len;
    }
    c->n++;
}

/* RFC 7323 2.3: a shift above 14 is used as 14 and counted; 2.3: a
 * window scale option outside a SYN is ignored and counted. */
static void test_shift_above_14(void)
{
    struct cap cap = {0};
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = SF_SIM_NET_BASE + 1;
    cfg.output = cap_out;
    cfg.output_ctx = &cap;
    struct sf_stack *st;
    sf_time_t now = 1 * SF_SEC;
    CHECK_EQ(sf_stack_create(&cfg, now, &st), 0);
    int sd = sf_socket(st);
    CHECK_EQ(sf_connect(st, sd, &(struct sf_addr){.ip = SF_SIM_NET_BASE + 2,
                                                  .port = 80}),
             SF_EINPROGRESS);
    struct sf_ipv4 ip;
    struct sf_tcp syn;
    CHECK_EQ(sf_ipv4_parse(cap.d, cap.len, &ip), SF_DROP_NONE);
    CHECK_EQ(sf_tcp_parse(&ip, &syn), SF_DROP_NONE);
    CHECK(syn.opt.has_wscale);
    CHECK(syn.opt.has_ts);
    CHECK_EQ(syn.opt.wscale, 7); /* 65535 << 7 covers rcvbuf_max 6 MB */
    struct sf_ipv4 rip = {.src = ip.dst, .dst = ip.src, .ttl = 64};
    struct sf_tcp sa = {.sport = syn.dport, .dport = syn.sport,
                        .seq = 5000, .ack = syn.seq + 1,
                        .flags = SF_SYN | SF_ACK, .win = 1000};
    sa.opt.has_mss = true;
    sa.opt.mss = 1460;
    sa.opt.has_wscale = true;
    sa.opt.wscale = 15;
    uint8_t buf[128];
    size_t n = sf_emit(buf, sizeof buf, &rip, &sa);
    CHECK(n > 0);
    sf_stack_input(st, now, buf, n);
    struct sf_tcp_info ti;
    CHECK_EQ(sf_tcp_info(st, sd, &ti), 0);
    CHECK_EQ(ti.state, SF_ESTABLISHED);
    CHECK(ti.wscale_ok);
    CHECK_EQ(ti.snd_wscale, 14);
    CHECK_EQ(ti.rcv_wscale, 7);
    CHECK(!ti.ts_ok); /* the SYN,ACK had no TSopt */
    CHECK_EQ(ti.snd_wnd, 1000); /* 2.2: a SYN's window is not scaled */
    const struct sf_counters *k = sf_stack_counters(st);
    CHECK_EQ(k->c[SF_CTR_WSCALE_CLAMPED], 1);
    /* an ACK with window 1 and (ignored) wscale 3: 1 << 14 */
    struct sf_tcp ack = {.sport = syn.dport, .dport = syn.sport,
                         .seq = 5001, .ack = syn.seq + 1, .flags = SF_ACK,
                         .win = 1};
    ack.opt.has_wscale = true;
    ack.opt.wscale = 3;
    n = sf_emit(buf, sizeof buf, &rip, &ack);
    sf_stack_input(st, now, buf, n);
    CHECK_EQ(sf_tcp_info(st, sd, &ti), 0);
    CHECK_EQ(ti.snd_wnd, 16384);
    CHECK_EQ(ti.snd_wscale, 14);
    CHECK_EQ(k->c[SF_CTR_WSCALE_NOT_SYN], 1);
    /* SO_RCVBUF accepts 16 MB, and says so for SF_BUF_MAX + 1 */
    int sd2 = sf_socket(st);
    int v = 16 << 20;
    CHECK_EQ(sf_setsockopt(st, sd2, SF_SOL_SOCKET, SF_SO_RCVBUF, &v, sizeof v), 0);
    CHECK_EQ(sf_setsockopt(st, sd2, SF_SOL_SOCKET, SF_SO_SNDBUF, &v, sizeof v), 0);
    v = (int)SF_BUF_MAX + 1;
    CHECK_EQ(sf_setsockopt(st, sd2, SF_SOL_SOCKET, SF_SO_RCVBUF, &v, sizeof v),
             SF_EINVAL);
    /* the options are per socket, before the SYN only */
    int off = 0;
    CHECK_EQ(sf_setsockopt(st, sd2, SF_IPPROTO_TCP, SF_TCP_WSCALE, &off,
                           sizeof off), 0);
    CHECK_EQ(sf_setsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_TIMESTAMPS, &off,
                           sizeof off), SF_EISCONN);
    sf_stack_free(st);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_shift_above_14),
    CHECK_CASE(test_long_fat_path_scaled),
    CHECK_CASE(test_long_fat_path_16mb),
    CHECK_CASE(test_long_fat_path_unscaled),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
