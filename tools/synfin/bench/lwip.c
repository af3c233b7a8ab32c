/* synfin bench, lwIP back end (Debian's liblwip-dev, raw API), built only
 * when the Makefile finds lwIP (SF_HAVE_LWIP).
 *
 * lwIP keeps its state in globals, so there is one instance per process
 * and each workload group runs in a forked child (bench_in_child). In it,
 * one lwIP instance has three netifs: "cl" (10.1.0.1) and "sv" (10.2.0.1)
 * own the two endpoints' addresses but are link-down, so routing never
 * picks them; "wi", the default netif, is link-up and is where every
 * segment leaves: its output appends the datagram to an in-memory queue,
 * and drain() feeds each one back with ip4_input(), which accepts it on
 * whichever netif owns the destination. Zero delay, checksums generated
 * and checked. The library is built with NO_SYS=0, but nothing here starts
 * its tcpip thread: the raw API is called from this one thread, and the
 * timers are driven by calling tcp_tmr() when idle (250 ms of lwIP time).
 */
#include "bench/bench.h"

#ifndef SF_HAVE_LWIP
int bench_lwip(const struct bench_opts *o, struct bench_res *res)
{
    (void)o;
    bench_note(res, "skipped: built without lwIP (apt-get install liblwip-dev, rebuild)");
    return -1;
}
#else
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#define LW_CLI_IP "10.1.0.1"
#define LW_SRV_IP "10.2.0.1"
#define LW_PORT0 10000
#define LW_CPORT0 20000
#define LW_CPORTS 45000
#define LW_MAXPORTS 1024
/* lwIP finds a connection by walking linked lists of every PCB, so each
 * segment costs O(connections): full tables are capped at this many. */
#define LW_FILL_MAX 10000

/* The lwIP functions used. They are looked up in a dlopen()ed liblwip
 * (RTLD_DEEPBIND), never linked: lwIP's tcp_accept, tcp_close, tcp_abort,
 * tcp_output ... share their names with synfin's internal functions, and a
 * linked liblwip would have its own calls bound to synfin's. */
#define LW_FUNCS(X)                                                          \
    X(lwip_init) X(netif_add) X(netif_set_up) X(netif_set_link_up)          \
    X(netif_set_default) X(ip4_input) X(pbuf_alloc) X(pbuf_free)            \
    X(pbuf_copy_partial) X(tcp_new) X(tcp_bind) X(tcp_listen_with_backlog)  \
    X(tcp_arg) X(tcp_accept) X(tcp_recv) X(tcp_err) X(tcp_recved)           \
    X(tcp_connect) X(tcp_abort) X(tcp_close) X(tcp_write) X(tcp_output)     \
    X(tcp_tmr) X(ipaddr_aton) X(ip4addr_aton)

struct lw_api {
#define LW_X_(fn) __typeof__(&fn) fn;
    LW_FUNCS(LW_X_)
#undef LW_X_
};

/* AddressSanitizer refuses RTLD_DEEPBIND; without it lwIP binds to its
 * own functions only if this program exports none of the same names. */
#if defined(__SANITIZE_ADDRESS__)
#define LW_DEEPBIND 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LW_DEEPBIND 0
#endif
#endif
#ifndef LW_DEEPBIND
#define LW_DEEPBIND RTLD_DEEPBIND
#endif

static int lw_load(struct lw_api *f)
{
    if (!LW_DEEPBIND && dlsym(RTLD_DEFAULT, "tcp_output"))
        return -1;
    void *h = dlopen("liblwip.so.0", RTLD_NOW | RTLD_LOCAL | LW_DEEPBIND);
    if (!h)
        return -1;
#define LW_X_(fn)                                                            \
    if (!(f->fn = (__typeof__(f->fn))dlsym(h, #fn)))                          \
        return -1;
    LW_FUNCS(LW_X_)
#undef LW_X_
    return 0;
}

struct lw_conn { /* the lifecycle under way, as the callbacks see it */
    bool connected, dead, fin;
};

struct lw {
    struct lw_api f;
    struct netif wi, cl, sv;
    ip_addr_t cli_ip, srv_ip;
    struct bench_q q, spare;
    bool discard;       /* drop everything sent (fake-peer workloads) */
    bool failed;
    unsigned nports;
    struct tcp_pcb *lpcb[LW_MAXPORTS];
    struct tcp_pcb *accepted;
    struct lw_conn cc, sc;
    uint64_t rcvd; /* bulk: bytes handed to the server's recv callback */
};

static err_t wire_output(struct netif *nif, struct pbuf *p,
                         const ip4_addr_t *dst)
{
    (void)dst;
    struct lw *l = nif->state;
    if (l->discard)
        return ERR_OK;
    uint8_t *at = bench_q_push(&l->q, p->tot_len);
    if (!at) {
        l->failed = true;
        return ERR_MEM;
    }
    l->f.pbuf_copy_partial(p, at, p->tot_len, 0);
    return ERR_OK;
}

static err_t nif_init(struct netif *nif)
{
    nif->output = wire_output;
    nif->mtu = 1500;
    nif->flags = 0;
    return ERR_OK;
}

static void input_one(struct lw *l, const uint8_t *d, uint32_t n)
{
    struct pbuf *p = l->f.pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
    if (!p) {
        l->failed = true;
        return;
    }
    memcpy(p->payload, d, n);
    l->f.ip4_input(p, &l->wi);
}

/* Input appends to q while we walk: walk a swapped-out copy instead. */
static void drain(struct lw *l)
{
    while (l->q.len) {
        struct bench_q t = l->q;
        l->q = l->spare;
        l->q.len = 0;
        for (size_t off = 0; off < t.len;) {
            uint32_t n;
            memcpy(&n, t.buf + off, sizeof n);
            input_one(l, t.buf + off + sizeof n, n);
            off += sizeof n + n;
        }
        l->spare = t;
    }
}

static void add_nif(struct lw *l, struct netif *nif, const char *ip, bool up)
{
    ip4_addr_t a, mask, gw;
    l->f.ip4addr_aton(ip, &a);
    l->f.ip4addr_aton("255.255.0.0", &mask);
    ip4_addr_set_zero(&gw);
    l->f.netif_add(nif, &a, &mask, &gw, l, nif_init, l->f.ip4_input);
    l->f.netif_set_up(nif);
    if (up)
        l->f.netif_set_link_up(nif);
}

static err_t srv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p,
                      err_t err)
{
    struct lw *l = arg;
    (void)err;
    if (!p) {
        l->sc.fin = true;
        return ERR_OK;
    }
    l->rcvd += p->tot_len;
    l->f.tcp_recved(pcb, p->tot_len);
    l->f.pbuf_free(p);
    return ERR_OK;
}

static void srv_err(void *arg, err_t err)
{
    (void)err;
    ((struct lw *)arg)->sc.dead = true;
}

static void cli_err(void *arg, err_t err)
{
    (void)err;
    ((struct lw *)arg)->cc.dead = true;
}

static err_t on_accept(void *arg, struct tcp_pcb *npcb, err_t err)
{
    struct lw *l = arg;
    if (err != ERR_OK || !npcb)
        return ERR_VAL;
    l->accepted = npcb;
    l->f.tcp_recv(npcb, srv_recv);
    l->f.tcp_err(npcb, srv_err);
    return ERR_OK;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)pcb;
    ((struct lw *)arg)->cc.connected = err == ERR_OK;
    return ERR_OK;
}

static int lw_init(struct lw *l, unsigned nports)
{
    memset(l, 0, sizeof *l);
    if (lw_load(&l->f))
        return -2;
    l->f.lwip_init();
    add_nif(l, &l->wi, "10.255.0.1", true);
    add_nif(l, &l->cl, LW_CLI_IP, false);
    add_nif(l, &l->sv, LW_SRV_IP, false);
    l->f.netif_set_default(&l->wi);
    l->f.ipaddr_aton(LW_CLI_IP, &l->cli_ip);
    l->f.ipaddr_aton(LW_SRV_IP, &l->srv_ip);
    l->nports = nports > LW_MAXPORTS ? LW_MAXPORTS : nports;
    for (unsigned p = 0; p < l->nports; p++) {
        struct tcp_pcb *pcb = l->f.tcp_new();
        if (!pcb)
            return -1;
        ip_set_option(pcb, SOF_REUSEADDR);
        if (l->f.tcp_bind(pcb, &l->srv_ip, (u16_t)(LW_PORT0 + p)) != ERR_OK)
            return -1;
        struct tcp_pcb *lp = l->f.tcp_listen_with_backlog(pcb, TCP_DEFAULT_LISTEN_BACKLOG);
        if (!lp)
            return -1;
        l->f.tcp_arg(lp, l);
        l->f.tcp_accept(lp, on_accept);
        l->lpcb[p] = lp;
    }
    return 0;
}

/* connect -> accept, the client bound explicitly: lwIP's own ephemeral
 * ports are unique per local port (16384 of them), which the piled-up
 * TIME_WAITs would exhaust. Connection i gets a 4-tuple of its own. */
static int lw_open(struct lw *l, unsigned i,
                   struct tcp_pcb **cp, struct tcp_pcb **sp)
{
    struct tcp_pcb *c = l->f.tcp_new();
    if (!c)
        return -1;
    ip_set_option(c, SOF_REUSEADDR);
    u16_t cport = (u16_t)(LW_CPORT0 + (i / l->nports) % LW_CPORTS);
    l->cc = (struct lw_conn){0};
    l->sc = (struct lw_conn){0};
    l->accepted = NULL;
    l->f.tcp_arg(c, l);
    l->f.tcp_err(c, cli_err);
    if (l->f.tcp_bind(c, &l->cli_ip, cport) != ERR_OK ||
        l->f.tcp_connect(c, &l->srv_ip, (u16_t)(LW_PORT0 + i % l->nports),
                    on_connected) != ERR_OK) {
        l->f.tcp_abort(c);
        return -1;
    }
    drain(l);
    if (!l->cc.connected || !l->accepted) {
        if (!l->cc.dead)
            l->f.tcp_abort(c);
        return -1;
    }
    *cp = c;
    *sp = l->accepted;
    return 0;
}

static int lw_life(struct lw *l, unsigned i, bool abort)
{
    struct tcp_pcb *c, *s;
    if (lw_open(l, i, &c, &s))
        return -1;
    if (abort)
        l->f.tcp_abort(c); /* RST; the server's PCB is freed on receipt */
    else
        l->f.tcp_close(c);
    drain(l);
    if (!l->sc.dead)
        l->f.tcp_close(s);
    drain(l);
    return l->failed ? -1 : 0;
}

static double lw_rate(struct lw *l, const struct bench_opts *o, bool abort,
                      unsigned start)
{
    unsigned n = 0;
    double t0 = bench_now(), t;
    do {
        for (int k = 0; k < 64; k++, n++)
            if (lw_life(l, start + n, abort))
                return -1;
        t = bench_now();
    } while (t - t0 < o->seconds);
    return n / (t - t0);
}

static int lw_start(struct lw *l, unsigned nports, struct bench_res *res)
{
    int r = lw_init(l, nports);
    if (r == -2)
        bench_note(res, "skipped: liblwip.so.0 not loadable apart from "
                        "synfin's symbols (sanitizer build?)");
    else if (r)
        bench_note(res, "lwIP setup failed");
    return r;
}

static void set_life(struct bench_res *res, enum bench_wl w, double rate)
{
    if (rate >= 0)
        bench_set(res, w, rate);
    else
        bench_note(res, "lifecycle failed (workload %d)", (int)w);
}

static void g_life(const struct bench_opts *o, struct bench_res *res)
{
    struct lw lv, *l = &lv;
    if (lw_start(l, o->ports, res))
        return;
    set_life(res, BW_ABORT, lw_rate(l, o, true, 0));
    set_life(res, BW_GRACEFUL, lw_rate(l, o, false, 1u << 24));
}

static void g_full(const struct bench_opts *o, struct bench_res *res)
{
    struct lw lv, *l = &lv;
    struct tcp_pcb *c, *s;
    unsigned fill = o->fill < LW_FILL_MAX ? o->fill : LW_FILL_MAX;
    if (lw_start(l, o->ports, res))
        return;
    for (unsigned i = 0; i < fill; i++)
        if (lw_open(l, 2 * i, &c, &s) || lw_life(l, 2 * i + 1, false)) {
            bench_note(res, "filling the tables failed at %u", i);
            return;
        }
    if (fill < o->fill)
        bench_note(res, "full tables capped at %u+%u (O(n) PCB lists)", fill, fill);
    set_life(res, BW_ABORT_FULL, lw_rate(l, o, true, 2 * fill));
    set_life(res, BW_GRACEFUL_FULL, lw_rate(l, o, false, (1u << 24) + 2 * fill));
}

/* One connection: write what the send buffer takes (copied, as
 * sf_send does), output, deliver; when nothing moves, run lwIP's timers
 * (its delayed ACKs wait for tcp_fasttmr). */
static void g_bulk(const struct bench_opts *o, struct bench_res *res)
{
    struct lw lv, *l = &lv;
    struct tcp_pcb *c, *s;
    static const uint8_t zeros[65535];
    if (lw_start(l, 1, res))
        return;
    if (lw_open(l, 0, &c, &s)) {
        bench_note(res, "bulk setup failed");
        return;
    }
    uint64_t sent = 0;
    unsigned stuck = 0;
    double t0 = bench_now();
    while (l->rcvd < o->bulk_bytes && stuck < 100) {
        u16_t room = tcp_sndbuf(c);
        uint64_t left = o->bulk_bytes - sent;
        u16_t n = left < room ? (u16_t)left : room;
        if (n && l->f.tcp_write(c, zeros, n, TCP_WRITE_FLAG_COPY) == ERR_OK)
            sent += n;
        l->f.tcp_output(c);
        uint64_t before = l->rcvd;
        drain(l);
        if (l->rcvd == before && !n) {
            l->f.tcp_tmr();
            drain(l);
            stuck++;
        } else {
            stuck = 0;
        }
    }
    if (l->rcvd >= o->bulk_bytes)
        bench_set(res, BW_BULK, l->rcvd / (bench_now() - t0) / 1e6);
    else
        bench_note(res, "bulk stalled at %llu bytes", (unsigned long long)l->rcvd);
}

/* Heap bytes (lwIP here allocates PCBs with malloc) per established
 * PCB, per TIME_WAIT PCB, and per SYN_RCVD PCB from a fake peer's SYNs. */
static void g_mem(const struct bench_opts *o, struct bench_res *res)
{
    struct lw lv, *l = &lv;
    struct tcp_pcb *c, *s;
    unsigned n = o->mem_conns, i;
    if (bench_heap_used() < 0) {
        bench_note(res, "memory: mallinfo2 unavailable (sanitizer build?)");
        return;
    }
    if (lw_start(l, o->ports, res))
        return;
    drain(l);
    long long h0 = bench_heap_used();
    for (i = 0; i < n && lw_open(l, i, &c, &s) == 0; i++)
        ;
    long long h1 = bench_heap_used();
    if (i == n)
        bench_set(res, BW_MEM_ESTAB, (double)(h1 - h0) / (2.0 * n));
    for (i = 0; i < n && lw_life(l, n + i, false) == 0; i++)
        ;
    long long h2 = bench_heap_used();
    if (i == n)
        bench_set(res, BW_MEM_TW, (double)(h2 - h1) / n);
    l->discard = true;
    uint8_t d[64];
    uint32_t cli = 0x0a010001u, srv = 0x0a020001u; /* LW_CLI_IP, LW_SRV_IP */
    for (i = 0; i < n; i++) {
        size_t len = bench_syn(d, cli + 1 + (i >> 15), (u16_t)(1024 + (i & 0x7fff)),
                               srv, LW_PORT0, 1000u * i);
        input_one(l, d, (uint32_t)len);
    }
    bench_set(res, BW_MEM_SYN, (double)(bench_heap_used() - h2) / n);
}

int bench_lwip(const struct bench_opts *o, struct bench_res *res)
{
    bench_groups_in_children(NULL, g_life, g_full, g_bulk, g_mem, o, res);
    return 0;
}
#endif
