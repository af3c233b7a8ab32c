/* synfin sim: the scenarios. Each sets its hosts up, names the states
 * each side must visit and may check more after the run; the table at the
 * end lists them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/dgram.h"
#include "ladder/ladder.h"
#include "sim/sim_int.h"
#include "synfin/wire.h"

/* ----------------------------------------------------- scenario setup */

static void do_listen(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct sf_stack *st = sf_sim_host_stack(sim, h);
    struct sf_addr local = any_addr(r, 80);
    r->app[h].lsd = sf_socket(st);
    if (sf_bind(st, r->app[h].lsd, &local) || sf_listen(st, r->app[h].lsd, 16))
        r->app[h].err = SF_EINVAL;
}

static void do_connect(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct sf_stack *st = sf_sim_host_stack(sim, h);
    struct app *a = &r->app[h];
    a->sd = sf_socket(st);
    if (a->role == R_PEER) { /* a fixed port, to be connected to */
        struct sf_addr local = any_addr(r, (uint16_t)(5000 + h));
        sf_bind(st, a->sd, &local);
    }
    if (a->keepalive) {
        int on = 1, idle = 20, intvl = 5, cnt = 3;
        sf_setsockopt(st, a->sd, SF_SOL_SOCKET, SF_SO_KEEPALIVE, &on, sizeof on);
        sf_setsockopt(st, a->sd, SF_IPPROTO_TCP, SF_TCP_KEEPIDLE, &idle,
                      sizeof idle);
        sf_setsockopt(st, a->sd, SF_IPPROTO_TCP, SF_TCP_KEEPINTVL, &intvl,
                      sizeof intvl);
        sf_setsockopt(st, a->sd, SF_IPPROTO_TCP, SF_TCP_KEEPCNT, &cnt,
                      sizeof cnt);
    }
    int c = sf_connect(st, a->sd, &a->remote);
    if (c != SF_EINPROGRESS && c != 0)
        a->err = c;
}

static void do_close(void *ctx, struct sf_sim *sim, int h)
{
    (void)sim;
    app_close(ctx, h);
}

/* The client connects at time t. */
static void client_server_at(struct run *r, uint16_t port, enum close_mode cm,
                             sf_time_t t)
{
    r->app[0] = (struct app){.role = R_CLIENT, .cm = cm, .lsd = -1, .sd = -1,
                             .remote = host_addr(r, 1, port),
                             .close_on_eof = true};
    r->app[1] = (struct app){.role = R_SERVER, .lsd = -1, .sd = -1,
                             .respond = true, .close_on_eof = true};
    sf_sim_at(r->sim, 0, 1, do_listen, r);
    sf_sim_at(r->sim, t, 0, do_connect, r);
}

static void client_server(struct run *r, uint16_t port, enum close_mode cm)
{
    client_server_at(r, port, cm, 0);
}

static void setup_lifecycle(struct run *r)
{
    client_server(r, 80, CM_AFTER_RESPONSE);
}

static void setup_refused(struct run *r)
{
    client_server(r, 81, CM_AFTER_RESPONSE);
}

static void setup_abort(struct run *r)
{
    client_server(r, 80, CM_ABORT_AFTER_RESPONSE);
}

static void setup_half_close(struct run *r)
{
    client_server(r, 80, CM_SHUT_AFTER_REQUEST);
    r->app[1].stream_after_eof = true;
    r->app[1].close_on_eof = false;
}

static void setup_sim_close(struct run *r)
{
    client_server(r, 80, CM_NONE);
    r->app[0].close_on_eof = r->app[1].close_on_eof = false;
    r->app[0].role = R_PEER; /* no request: just open, then close */
    r->app[1].respond = false;
    sf_sim_at(r->sim, 100 * SF_MSEC, 0, do_close, r);
    sf_sim_at(r->sim, 100 * SF_MSEC, 1, do_close, r);
}

/* Both sides connect to each other's fixed port at the same instant. */
static void setup_sim_open(struct run *r)
{
    for (int h = 0; h < 2; h++) {
        r->app[h] = (struct app){.role = R_PEER, .lsd = -1, .sd = -1,
                                 .close_on_eof = true};
        r->app[h].remote = host_addr(r, 1 - h, (uint16_t)(5000 + 1 - h));
        sf_sim_at(r->sim, 0, h, do_connect, r);
    }
    sf_sim_at(r->sim, 100 * SF_MSEC, 0, do_close, r);
}

static void setup_self(struct run *r)
{
    r->app[0] = (struct app){.role = R_PEER, .lsd = -1, .sd = -1,
                             .remote = host_addr(r, 0, 5000)};
    sf_sim_at(r->sim, 0, 0, do_connect, r);
    sf_sim_at(r->sim, 100 * SF_MSEC, 0, do_close, r);
}

/* Flags and payload length of a datagram, or -1 if it is not TCP. */
static int seg_flags(const uint8_t *d, size_t len, struct sf_tcp *t)
{
    struct dgram g;
    if (dgram_parse(d, len, &g))
        return -1;
    *t = g.t;
    return t->flags;
}

/* lost-final-ack: drop the client's ACK of the server's FIN, once. */
static bool filter_final_ack(void *ctx, struct sf_sim *sim, int from, int to,
                             const uint8_t *d, size_t len, sf_time_t *extra)
{
    struct run *r = ctx;
    struct sf_tcp t;
    (void)sim, (void)to, (void)extra;
    int f = seg_flags(d, len, &t);
    if (from == 1 && f >= 0 && (f & SF_FIN))
        r->srv_fin_seen = true;
    if (from == 0 && f == SF_ACK && t.len == 0 && r->srv_fin_seen &&
        !r->filter_done) {
        r->filter_done = true;
        return false;
    }
    return true;
}

static void setup_lost_final_ack(struct run *r)
{
    client_server(r, 80, CM_AFTER_RESPONSE);
    sim_set_filter(r, filter_final_ack);
}

static void link_up(void *ctx, struct sf_sim *sim, int h)
{
    struct sf_link_cfg c;
    (void)ctx, (void)h;
    sf_sim_link_get(sim, 0, 1, &c);
    c.down = false;
    sf_sim_link_set(sim, 0, 1, &c);
}

/* syn-retransmit: the link to the server is down for the first 10 s. */
static void setup_syn_retransmit(struct run *r)
{
    struct sf_link_cfg c;
    client_server(r, 80, CM_AFTER_RESPONSE);
    sf_sim_link_get(r->sim, 0, 1, &c);
    c.down = true;
    sf_sim_link_set(r->sim, 0, 1, &c);
    sf_sim_at(r->sim, 10 * SF_SEC, -1, link_up, r);
}

/* old-duplicate-syn: the client's own SYN is held back 50 ms in the
 * network, so an old SYN of the same connection arrives first. */
static bool filter_delay_syn(void *ctx, struct sf_sim *sim, int from, int to,
                             const uint8_t *d, size_t len, sf_time_t *extra)
{
    struct run *r = ctx;
    struct sf_tcp t;
    (void)sim, (void)to;
    if (from == 0 && !r->filter_done && seg_flags(d, len, &t) == SF_SYN) {
        r->filter_done = true;
        *extra += 50 * SF_MSEC;
    }
    return true;
}

static void send_old_syn(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct sf_tcp_info ti;
    if (sf_tcp_info(sf_sim_host_stack(sim, h), r->app[h].sd, &ti))
        return;
    /* the MSS the SYN would carry over its family (IPv6: 20 less) */
    struct sf_tcp t = {.sport = ti.local.port, .dport = ti.remote.port,
                       .seq = ti.iss - 100000, .flags = SF_SYN, .win = 65535,
                       .opt = {.has_mss = true,
                               .mss = ti.local.family == SF_AF_INET6 ? 1440
                                                                     : 1460}};
    uint8_t buf[128];
    size_t n = dgram_emit(buf, sizeof buf, &ti.local, &ti.remote, &t);
    if (n)
        sf_sim_inject(sim, h, buf, n, 0);
}

static void setup_old_dup(struct run *r)
{
    client_server(r, 80, CM_AFTER_RESPONSE);
    sim_set_filter(r, filter_delay_syn);
    sf_sim_at(r->sim, 0, 0, send_old_syn, r);
}

/* --------------------------------------------------- scenario checks */

static int expect_err(struct run *r, int h, int want)
{
    if (r->app[h].err == want)
        return 0;
    const char *none = r->o.zh ? "无错误" : "no error";
    fprintf(stderr, r->o.zh ? "synfin sim: %s：主机 %d 结束时为 %s，预期为 %s\n"
                            : "synfin sim: %s: host %d ended with %s, expected %s\n",
            r->sc->name, h, r->app[h].err ? sf_errname(r->app[h].err) : none,
            want ? sf_errname(want) : none);
    return 1;
}

static int expect_ctr(struct run *r, int h, enum sf_counter c, uint64_t min)
{
    uint64_t v = sf_stack_counters(stk(r, h))->c[c];
    if (v >= min)
        return 0;
    fprintf(stderr, r->o.zh ? "synfin sim: %s：主机 %d 的计数为 %llu %s，预期 >= %llu\n"
                            : "synfin sim: %s: host %d counted %llu %s, expected >= %llu\n",
            r->sc->name, h, (unsigned long long)v, sf_counter_name(c),
            (unsigned long long)min);
    return 1;
}

static int check_exchange(struct run *r)
{
    if (r->app[0].got != response_len()) {
        fprintf(stderr, r->o.zh ? "synfin sim: %s：客户端读到 %zu 字节，预期 %zu 字节\n"
                                : "synfin sim: %s: client read %zu bytes, expected %zu\n",
                r->sc->name, r->app[0].got, response_len());
        return 1;
    }
    return expect_err(r, 0, 0);
}

static int check_refused(struct run *r)
{
    return expect_err(r, 0, SF_ECONNREFUSED);
}

static int check_abort(struct run *r)
{
    return expect_err(r, 1, SF_ECONNRESET);
}

static int check_half_close(struct run *r)
{
    if (r->app[0].got == response_len() + 3 * 200 && r->app[0].eof)
        return 0;
    if (r->o.zh)
        fprintf(stderr, "synfin sim: half-close：客户端读到 %zu 字节%s，"
                "预期 %zu 字节并读到 EOF\n", r->app[0].got,
                r->app[0].eof ? "" : "，没有读到 EOF", response_len() + 600);
    else
        fprintf(stderr, "synfin sim: half-close: client read %zu bytes%s, "
                "expected %zu and EOF\n", r->app[0].got,
                r->app[0].eof ? "" : " without EOF", response_len() + 600);
    return 1;
}

static int check_lost_final_ack(struct run *r)
{
    return check_exchange(r) | expect_ctr(r, 1, SF_CTR_RETRANSMITS, 1);
}

static int check_syn_retransmit(struct run *r)
{
    return check_exchange(r) | expect_ctr(r, 0, SF_CTR_RETRANSMITS, 4);
}

/* ---------------------------------------------------------- keepalive */

static void links_down(void *ctx, struct sf_sim *sim, int h)
{
    struct sf_link_cfg c;
    (void)ctx, (void)h;
    for (int from = 0; from < 2; from++) {
        sf_sim_link_get(sim, from, 1 - from, &c);
        c.down = true;
        sf_sim_link_set(sim, from, 1 - from, &c);
    }
}

/* keepalive: after one exchange the server vanishes (its links go down at
 * 1 s); the idle client probes after 20 s, every 5 s, and gives up after 3
 * unanswered probes (RFC 1122 4.2.3.6). */
static void setup_keepalive(struct run *r)
{
    client_server(r, 80, CM_NONE);
    r->app[0].close_on_eof = false;
    r->app[0].keepalive = true;
    sf_sim_at(r->sim, SF_SEC, -1, links_down, r);
}

static int check_keepalive(struct run *r)
{
    return expect_err(r, 0, SF_ETIMEDOUT) |
           expect_ctr(r, 0, SF_CTR_KEEPALIVE_PROBES, 3);
}

/* ---------------------------------------------------------- syn-flood */

#define FLOOD_SYNS 40
#define FLOOD_BACKLOG 8

static void tune_flood(struct run *r, struct sf_sim_cfg *cfg)
{
    (void)r;
    cfg->stack.syn_backlog = FLOOD_BACKLOG;
}

/* Spoofed SYNs from 10.66.x.y (over IPv6 2001:db8:66::x:y, RFC 3849's
 * documentation prefix), which no host owns: the SYN,ACKs go nowhere, so
 * each request sits in the SYN queue until it gives up. */
static void flood(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    for (int i = 0; i < FLOOD_SYNS; i++) {
        uint64_t x = sf_sim_random(sim);
        uint32_t low = (uint32_t)(x & 0xFFFE) | 1u;
        struct sf_addr src = sf_addr4(0x0A420000u | low, 0);
        if (r->o.ipv6) {
            uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x66};
            a[14] = (uint8_t)(low >> 8);
            a[15] = (uint8_t)low;
            src = sf_addr6(a, 0);
        }
        struct sf_addr dst = host_addr(r, 1, 80);
        struct sf_tcp t = {.sport = (uint16_t)(1024 + (x >> 16) % 60000),
                           .dport = 80, .seq = (uint32_t)(x >> 32),
                           .flags = SF_SYN, .win = 65535,
                           .opt = {.has_mss = true,
                                   .mss = r->o.ipv6 ? 1440 : 1460}};
        uint8_t buf[128];
        size_t n = dgram_emit(buf, sizeof buf, &src, &dst, &t);
        if (n)
            sf_sim_inject(sim, h, buf, n, 0);
    }
    char note[128];
    snprintf(note, sizeof note, r->o.zh ? "洪泛：%d 个来自伪造地址 %s 的 SYN"
                                          "（未画出）；SYN 队列容量 %d"
                                        : "flood: %d SYNs from spoofed %s "
                                          "(not drawn); SYN queue holds %d",
             FLOOD_SYNS, r->o.ipv6 ? "2001:db8:66::x:y" : "10.66.x.y",
             FLOOD_BACKLOG);
    ladder_note(r->lad, sf_sim_now(sim), 1, note);
}

static void setup_syn_flood(struct run *r)
{
    /* The client connects 100 ms after the flood has filled the queue. */
    client_server_at(r, 80, CM_AFTER_RESPONSE, 100 * SF_MSEC);
    sf_sim_at(r->sim, 0, 0, flood, r);
}

static void report_flood(struct run *r)
{
    const struct sf_counters *c = sf_stack_counters(stk(r, 1));
    printf(r->o.zh ? "服务器：发出 %llu 个 SYN cookie，验证通过 %llu 个，拒绝 %llu 个；"
                     "%llu 个数据报来自或发往伪造地址\n"
                   : "server: %llu SYN cookies sent, %llu validated, %llu rejected; "
                     "%llu datagrams to or from spoofed addresses\n",
           (unsigned long long)c->c[SF_CTR_SYNCOOKIES_SENT],
           (unsigned long long)c->c[SF_CTR_SYNCOOKIES_OK],
           (unsigned long long)c->c[SF_CTR_SYNCOOKIES_BAD],
           (unsigned long long)r->spoofed);
}

static int check_flood(struct run *r)
{
    return check_exchange(r) |
           expect_ctr(r, 1, SF_CTR_SYNCOOKIES_SENT, FLOOD_SYNS - FLOOD_BACKLOG) |
           expect_ctr(r, 1, SF_CTR_SYNCOOKIES_OK, 1);
}

/* --------------------------------------------------------------- bulk */

/* The byte at offset i of the stream host h sends: a function of both, so
 * a byte delivered at the wrong offset, twice or from the other direction
 * is caught. */
static uint8_t bulk_byte(int h, uint64_t i)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(h + 1) << 56;
    x ^= x >> 29;
    return (uint8_t)(x * 0xBF58476D1CE4E5B9ull >> 56);
}

static void bulk_send(struct run *r, int h)
{
    struct app *a = &r->app[h];
    uint8_t buf[16384];
    while (a->sent < r->bulk_n) {
        size_t n = r->bulk_n - a->sent < sizeof buf ? (size_t)(r->bulk_n - a->sent)
                                                    : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = bulk_byte(h, a->sent + i);
        long k = sf_send(stk(r, h), a->sd, buf, n, 0);
        if (k <= 0) {
            if (k != SF_EAGAIN)
                a->err = (int)k;
            return;
        }
        a->sent += (uint64_t)k;
    }
}

static void bulk_recv(struct run *r, int h)
{
    struct app *a = &r->app[h];
    uint8_t buf[16384];
    for (;;) {
        long n = sf_recv(stk(r, h), a->sd, buf, sizeof buf, 0);
        if (n == 0)
            a->eof = true;
        if (n <= 0) {
            if (n < 0 && n != SF_EAGAIN)
                a->err = (int)n;
            return;
        }
        for (long i = 0; i < n && a->bad_at == UINT64_MAX; i++)
            if (buf[i] != bulk_byte(1 - h, a->got + (uint64_t)i))
                a->bad_at = a->got + (uint64_t)i;
        a->got += (size_t)n;
        if (a->got >= r->bulk_n && !a->done_at)
            a->done_at = sf_sim_now(r->sim);
    }
}

/* --read-pause: the server's reading resumes (nothing else would call
 * its application: no segment arrives while its window is closed but
 * the sender's probes). */
static void read_resume(void *ctx, struct sf_sim *sim, int h)
{
    (void)sim;
    bulk_step(ctx, h);
}

/* Whether host h's application may read now (--read-pause starts when
 * the server accepts the connection). */
static bool may_read(struct run *r, int h)
{
    struct app *a = &r->app[h];
    if (h != 1 || !r->o.read_pause)
        return true;
    if (!a->pause_until) {
        a->pause_until = sf_sim_now(r->sim) + r->o.read_pause;
        sf_sim_at(r->sim, a->pause_until, h, read_resume, r);
    }
    return sf_sim_now(r->sim) >= a->pause_until;
}

/* Both sides send bulk_n bytes at once; the client shuts down writing when
 * it has queued all of it, the server closes once it has queued its own
 * and read the client's EOF, the client closes at the server's EOF. */
void bulk_step(struct run *r, int h)
{
    struct app *a = &r->app[h];
    if (a->sd < 0 && a->lsd >= 0 && (a->sd = sf_accept(stk(r, h), a->lsd, NULL)) < 0)
        return;
    if (a->sd < 0 || a->closed)
        return;
    if (!a->connected) {
        int c = sf_connect(stk(r, h), a->sd, &a->remote);
        if (c == SF_EALREADY || c == SF_EINPROGRESS)
            return;
        a->connected = true;
        if (c && c != SF_EISCONN)
            a->err = c;
    }
    if (!a->err && !a->recv_only)
        bulk_send(r, h);
    if (!a->err && may_read(r, h))
        bulk_recv(r, h);
    if (h == 0 && a->sent == r->bulk_n && !a->shut && !a->err) {
        sf_shutdown(stk(r, h), a->sd, SF_SHUT_WR);
        a->shut = true;
    }
    if (a->err ||
        (a->eof && (h == 0 || a->recv_only || a->sent == r->bulk_n)))
        app_close(r, h);
}

static void tune_bulk(struct run *r, struct sf_sim_cfg *cfg)
{
    r->bulk_n = r->o.bytes ? r->o.bytes : 1000000;
    if (!r->o.link_set) { /* an impaired path unless told otherwise */
        cfg->link.loss = 0.01;
        cfg->link.dup = 0.005;
        cfg->link.reorder = 0.01;
        cfg->link.corrupt = 0.005;
        cfg->link.bandwidth = 100000000;
        r->o.link = cfg->link;
    }
}

/* RFC 863's discard port: not 80, where tshark would read the random
 * bytes as malformed HTTP. */
#define BULK_PORT 9

static void bulk_listen(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct sf_stack *st = sf_sim_host_stack(sim, h);
    struct sf_addr local = any_addr(r, BULK_PORT);
    r->app[h].lsd = sf_socket(st);
    if (sf_bind(st, r->app[h].lsd, &local) || sf_listen(st, r->app[h].lsd, 16))
        r->app[h].err = SF_EINVAL;
}

static void setup_bulk(struct run *r)
{
    for (int h = 0; h < 2; h++)
        r->app[h] = (struct app){.role = R_BULK, .lsd = -1, .sd = -1,
                                 .remote = h ? any_addr(r, 0)
                                             : host_addr(r, 1, BULK_PORT),
                                 .bad_at = UINT64_MAX};
    if (r->o.one_way) { /* the server -> client way is clean */
        struct sf_link_cfg c;
        sf_sim_link_get(r->sim, 1, 0, &c);
        c.loss = c.dup = c.reorder = c.corrupt = 0;
        sf_sim_link_set(r->sim, 1, 0, &c);
    }
    sf_sim_at(r->sim, 0, 1, bulk_listen, r);
    sf_sim_at(r->sim, 0, 0, do_connect, r);
}

static void report_bulk(struct run *r)
{
    static const char *const dir[2][2] = {{"client -> server", "server -> client"},
                                          {"客户端 -> 服务器", "服务器 -> 客户端"}};
    static const char *const side[2][2] = {{"client", "server"}, {"客户端", "服务器"}};
    bool zh = r->o.zh;
    for (int h = 0; h < 2; h++) {
        const struct app *rx = &r->app[1 - h];
        double t = (double)rx->done_at / (double)SF_SEC;
        printf(zh ? "%s：%llu / %llu 字节%s，用时 %.3f 秒：%.2f 兆比特/秒\n"
                  : "%s: %llu of %llu bytes%s in %.3f s: %.2f Mbit/s\n", dir[zh][h],
               (unsigned long long)rx->got, (unsigned long long)r->bulk_n,
               rx->bad_at == UINT64_MAX ? (zh ? "完好" : " intact")
                                        : (zh ? "已损坏" : " CORRUPTED"), t,
               t > 0 ? (double)rx->got * 8 / t / 1e6 : 0.0);
    }
    for (int h = 0; h < 2; h++) {
        const struct sf_counters *c = sf_stack_counters(stk(r, h));
        printf(zh ? "%s：发送 %llu 个报文段，重传 %llu 个（快速重传 %llu 个），"
                    "%llu 个乱序暂存，%llu 个校验和错误被丢弃\n"
                  : "%s: %llu segments sent, %llu retransmitted (%llu fast), "
                    "%llu held out of order, %llu bad checksums dropped\n",
               side[zh][h],
               (unsigned long long)c->c[SF_CTR_SEG_OUT],
               (unsigned long long)c->c[SF_CTR_RETRANSMITS],
               (unsigned long long)c->c[SF_CTR_FAST_RETRANSMITS],
               (unsigned long long)c->c[SF_CTR_REASS_QUEUED],
               (unsigned long long)(c->drops[SF_DROP_TCP_CSUM] +
                                    c->drops[SF_DROP_IP_CSUM]));
    }
    if (r->o.stats)
        for (int h = 0; h < 2; h++) {
            const struct sf_counters *c = sf_stack_counters(stk(r, h));
            for (int k = 0; k < SF_NCOUNTERS; k++)
                if (c->c[k])
                    printf(zh ? "%s：%-22s %llu\n" : "%s: %-22s %llu\n", side[zh][h],
                           sf_counter_name((enum sf_counter)k),
                           (unsigned long long)c->c[k]);
        }
    if (!r->o.ecn_set && !r->o.link.ce_threshold)
        return; /* RFC 3168 ECN: reported when asked about */
    for (int h = 0; h < 2; h++) {
        const struct sf_counters *c = sf_stack_counters(stk(r, h));
        printf(zh ? "%s：ECN %s，收到 %llu 个 CE，发出 %llu 个 ECE，收到 %llu 个 "
                    "ECE，%llu 次窗口缩减，发出 %llu 个 CWR\n"
                  : "%s: ECN %s, %llu CE received, %llu ECE sent, %llu ECE "
                    "received, %llu window reductions, %llu CWR sent\n",
               side[zh][h],
               c->c[SF_CTR_ECN_NEGOTIATED] ? (zh ? "开启" : "on") : (zh ? "关闭" : "off"),
               (unsigned long long)c->c[SF_CTR_ECN_CE_RCVD],
               (unsigned long long)c->c[SF_CTR_ECN_ECE_SENT],
               (unsigned long long)c->c[SF_CTR_ECN_ECE_RCVD],
               (unsigned long long)c->c[SF_CTR_ECN_REDUCTIONS],
               (unsigned long long)c->c[SF_CTR_ECN_CWR_SENT]);
    }
}

static int check_bulk(struct run *r)
{
    int bad_bulk = 0;
    for (int h = 0; h < 2; h++) {
        const struct app *a = &r->app[h];
        if (a->got == r->bulk_n && a->bad_at == UINT64_MAX && !a->err && a->eof)
            continue;
        bool zh = r->o.zh;
        fprintf(stderr, zh ? "synfin sim: bulk：%s读到 %llu / %llu 字节%s%s%s\n"
                           : "synfin sim: bulk: %s read %llu of %llu bytes%s%s%s\n",
                zh ? (h ? "服务器" : "客户端") : (h ? "server" : "client"),
                (unsigned long long)a->got, (unsigned long long)r->bulk_n,
                a->bad_at != UINT64_MAX ? (zh ? "，内容有误" : ", wrong content") : "",
                a->err ? (zh ? "，错误 " : ", error ") : "", a->err ? sf_errname(a->err) : "");
        bad_bulk = 1;
    }
    return bad_bulk;
}

/* ------------------------------------------------------ zero window */

/* RFC 9293 3.8.6.1: the server's application stops reading, its small
 * receive buffer fills, its window goes to zero; the client, with data
 * left and nothing in flight, probes the closed window on the persist
 * timer until the reader resumes and a window update reopens it. */
static void tune_zero_window(struct run *r, struct sf_sim_cfg *cfg)
{
    r->bulk_n = r->o.bytes ? r->o.bytes : 12000;
    if (!r->o.read_pause_set)
        r->o.read_pause = 2 * SF_SEC;
    /* 4 KB: three segments fill it (--rcvbuf overrides) */
    cfg->stack.rcvbuf = cfg->stack.rcvbuf_max = 4096;
}

static void setup_zero_window(struct run *r)
{
    r->app[0] = (struct app){.role = R_BULK, .lsd = -1, .sd = -1,
                             .remote = host_addr(r, 1, BULK_PORT),
                             .bad_at = UINT64_MAX};
    r->app[1] = (struct app){.role = R_BULK, .lsd = -1, .sd = -1,
                             .remote = any_addr(r, 0), .bad_at = UINT64_MAX,
                             .recv_only = true};
    sf_sim_at(r->sim, 0, 1, bulk_listen, r);
    sf_sim_at(r->sim, 0, 0, do_connect, r);
}

static int check_zero_window(struct run *r)
{
    const struct app *rx = &r->app[1], *tx = &r->app[0];
    if (rx->got == r->bulk_n && rx->bad_at == UINT64_MAX && !rx->err &&
        !tx->err && tx->sent == r->bulk_n && (r->persist[0] || !r->o.read_pause))
        return 0;
    bool zh = r->o.zh;
    fprintf(stderr, zh ? "synfin sim: zero-window：服务器读到 %llu / %llu 字节%s%s；"
                         "客户端的坚持定时器到期 %u 次\n"
                       : "synfin sim: zero-window: the server read %llu of %llu "
                         "bytes%s%s; the client's persist timer fired %u times\n",
            (unsigned long long)rx->got, (unsigned long long)r->bulk_n,
            rx->bad_at != UINT64_MAX ? (zh ? "，内容有误" : ", wrong content") : "",
            rx->err || tx->err ? (zh ? "，出现错误" : ", an error") : "", r->persist[0]);
    return 1;
}

#define ACTIVE_CLOSE "ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED"
#define PASSIVE_CLOSE "ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED"
#define CLIENT_LIFE "CLOSED SYN_SENT " ACTIVE_CLOSE
#define SERVER_LIFE "LISTEN SYN_RCVD " PASSIVE_CLOSE

static const struct scenario scenarios[] = {
    {.name = "lifecycle", .desc = "open, request, answer, active close, TIME_WAIT", .desc_zh = "打开、请求、应答、主动关闭、TIME_WAIT",
     .available = true, .nhosts = 2, .setup = setup_lifecycle,
     .path = {CLIENT_LIFE, SERVER_LIFE}, .check = check_exchange},
    {.name = "simultaneous-open",
     .desc = "both connect to each other at the same instant", .desc_zh = "双方在同一时刻互相连接",
     .available = true, .nhosts = 2, .setup = setup_sim_open,
     .path = {"CLOSED SYN_SENT SYN_RCVD " ACTIVE_CLOSE,
              "CLOSED SYN_SENT SYN_RCVD " PASSIVE_CLOSE}},
    {.name = "simultaneous-close", .desc = "both close at the same instant", .desc_zh = "双方在同一时刻关闭",
     .available = true, .nhosts = 2, .setup = setup_sim_close,
     .path = {"CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT CLOSED",
              "LISTEN SYN_RCVD ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT CLOSED"}},
    {.name = "lost-final-ack",
     .desc = "the last ACK is lost: FIN retransmitted, re-ACKed", .desc_zh = "最后一个 ACK 丢失：FIN 重传，再次确认",
     .available = true, .nhosts = 2, .setup = setup_lost_final_ack,
     .path = {CLIENT_LIFE, SERVER_LIFE}, .check = check_lost_final_ack},
    {.name = "half-close",
     .desc = "client shuts down writing; server keeps sending", .desc_zh = "客户端关闭写方向；服务器继续发送",
     .available = true, .nhosts = 2, .setup = setup_half_close,
     .path = {CLIENT_LIFE, SERVER_LIFE}, .check = check_half_close},
    {.name = "abort", .desc = "SO_LINGER {1,0} then close: RST", .desc_zh = "SO_LINGER {1,0} 后 close：RST",
     .available = true, .nhosts = 2, .setup = setup_abort,
     .path = {"CLOSED SYN_SENT ESTABLISHED CLOSED",
              "LISTEN SYN_RCVD ESTABLISHED CLOSED"},
     .check = check_abort},
    {.name = "refused", .desc = "connect to a port nobody listens on: RST,ACK", .desc_zh = "连接一个无人监听的端口：RST,ACK",
     .available = true, .nhosts = 2, .setup = setup_refused,
     .path = {"CLOSED SYN_SENT CLOSED", ""}, .check = check_refused},
    {.name = "syn-retransmit", .desc = "link down 10 s: SYN backoff at 1, 3, 7 s", .desc_zh = "链路中断 10 秒：SYN 在 1、3、7 秒时退避重传",
     .available = true, .nhosts = 2, .setup = setup_syn_retransmit,
     .path = {CLIENT_LIFE, SERVER_LIFE}, .check = check_syn_retransmit},
    {.name = "old-duplicate-syn",
     .desc = "RFC 9293 Figure 8: an old SYN arrives first", .desc_zh = "RFC 9293 图 8：旧的 SYN 先到达",
     .available = true, .nhosts = 2, .setup = setup_old_dup,
     .path = {CLIENT_LIFE, "LISTEN SYN_RCVD LISTEN SYN_RCVD " PASSIVE_CLOSE},
     .check = check_exchange},
    {.name = "self-connect",
     .desc = "a socket connects to its own address and port", .desc_zh = "套接字连接自己的地址和端口",
     .available = true, .nhosts = 1, .setup = setup_self,
     .path = {"CLOSED SYN_SENT SYN_RCVD ESTABLISHED FIN_WAIT_1 CLOSING "
              "TIME_WAIT CLOSED"}},
    {.name = "keepalive",
     .desc = "the server vanishes; keepalive probes find it gone", .desc_zh = "服务器消失；保活探测发现它已不在",
     .available = true, .nhosts = 2, .setup = setup_keepalive,
     .path = {"CLOSED SYN_SENT ESTABLISHED CLOSED", "LISTEN SYN_RCVD ESTABLISHED"},
     .check = check_keepalive},
    {.name = "syn-flood",
     .desc = "spoofed SYNs fill the SYN queue; SYN cookies answer", .desc_zh = "伪造的 SYN 塞满 SYN 队列；由 SYN cookie 应答",
     .available = true, .nhosts = 2, .setup = setup_syn_flood,
     .path = {CLIENT_LIFE, SERVER_LIFE}, .check = check_flood,
     .tune = tune_flood, .report = report_flood},
    {.name = "bulk", .desc = "--bytes each way across an impaired link, verified", .desc_zh = "在受损链路上双向各传 --bytes 字节并校验",
     .available = true, .nhosts = 2, .setup = setup_bulk,
     .path = {"CLOSED SYN_SENT " ACTIVE_CLOSE " | CLOSED SYN_SENT ESTABLISHED "
              "FIN_WAIT_1 TIME_WAIT CLOSED", SERVER_LIFE},
     .check = check_bulk, .tune = tune_bulk, .report = report_bulk,
     .summary_only = true},
    {.name = "zero-window",
     .desc = "the reader stops: the window closes, the persist timer probes it", .desc_zh = "读取方暂停：窗口关闭，坚持定时器探测它",
     .available = true, .nhosts = 2, .setup = setup_zero_window,
     .path = {"CLOSED SYN_SENT " ACTIVE_CLOSE " | CLOSED SYN_SENT ESTABLISHED "
              "FIN_WAIT_1 TIME_WAIT CLOSED", SERVER_LIFE},
     .check = check_zero_window, .tune = tune_zero_window},
    /* Run by many.c: listed here for --list. */
    {.name = "many",
     .desc = "--conns connections from 8 client hosts to one server", .desc_zh = "从 8 台客户主机向一台服务器建立 --conns 个连接",
     .available = true, .nhosts = 2, .path = {CLIENT_LIFE, SERVER_LIFE},
     .summary_only = true},
};
#define NSCEN (sizeof scenarios / sizeof scenarios[0])

int list_scenarios(void)
{
    for (size_t i = 0; i < NSCEN; i++) {
        const struct scenario *s = &scenarios[i];
        printf("%-19s %s%s\n", s->name, s->desc,
               s->available ? "" : " [not yet available]");
        for (int h = 0; s->available && h < s->nhosts; h++)
            printf("%19s   %s: %s\n", "", s->nhosts == 1 ? "host"
                                         : h ? "server" : "client",
                   s->path[h][0] ? s->path[h] : "(no connection)");
    }
    return 0;
}


const struct scenario *find_scenario(const char *name)
{
    for (size_t i = 0; i < NSCEN; i++)
        if (!strcmp(scenarios[i].name, name))
            return &scenarios[i];
    return NULL;
}
