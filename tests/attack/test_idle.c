/* Half-open and idle floods (issue 14 item 2): a raw peer (its own code,
 * no stack: it answers from the server's segments alone) completes the
 * handshake from many addresses and then holds the connections open as
 * cheaply as it can. Four ways, each against what reclaims it:
 *
 *   silent    sends nothing more, answers nothing: the server's
 *             keepalive (RFC 1122 4.2.3.6; here idle 60 s, 3 probes 10 s
 *             apart) ends each at 90 s.
 *   zerownd   the server has a response to send; the peer advertises a
 *             zero window forever and answers every window probe (RFC
 *             9293 3.8.6.1 forbids giving up on an answered probe):
 *             TCP_USER_TIMEOUT (RFC 5482; here 30 s) ends each.
 *   finnoack  the server closes at once; the peer never acknowledges its
 *             FIN: the orphan's FIN retransmissions end it
 *             (cfg.orphan_retries, as Linux tcp_orphan_retries), and past
 *             cfg.max_orphans a close resets at once.
 *   finwait2  the peer acknowledges the FIN but never sends its own: the
 *             FIN_WAIT_2 timeout (cfg.fin_wait_2_timeout, 60 s) ends it.
 *
 * Figures: memory per connection while held (sf_stack_mem) and when they
 * were reclaimed, in virtual seconds from the first SYN: the first and
 * the last (aim: every one, at the time its mechanism says, and the
 * memory back to what it was before).
 * Small: 1,000 connections. Full (ATTACK_SIZE=full): 100,000. */
#include "net.h"

#define SRV 0
#define RESP 1000 /* bytes the server sends in zerownd */

enum mode { SILENT, ZEROWND, FINNOACK, FINWAIT2 };
static const char *const mode_name[] = {"silent", "zerownd", "finnoack",
                                        "finwait2"};

struct flood {
    struct net n;
    enum mode mode;
    unsigned nconn;
    uint64_t answers; /* segments the raw peer sent after its SYNs */
    int *sds;         /* the server's open descriptors */
    unsigned nsds;
};

static unsigned g_n;

static void idle_cfg(struct sf_stack_cfg *cfg, int host)
{
    (void)host;
    cfg->max_sockets = g_n + 64;
    cfg->timer_slots = 65536;
    /* zerownd: a small send buffer; its storage is taken whole (at the
     * default 64 KB a held connection costs 66 KB: docs/attacks.md) */
    cfg->sndbuf = 8192;
}

/* The peer's address for connection i: 198.19.x.y, port from i. */
static uint32_t peer_ip(unsigned i)
{
    return 0xC6130000u + 1 + i / 50000;
}
static uint16_t peer_port(unsigned i)
{
    return (uint16_t)(10000 + i % 50000);
}

/* The raw peer: reads what the server sends it, answers per mode. */
static void peer_sink(void *ctx, const uint8_t *d, size_t len)
{
    struct flood *f = ctx;
    struct sf_ipv4 ip;
    struct sf_tcp s;
    if (!net_parse(d, len, &ip, &s) || (s.flags & SF_RST))
        return;
    struct sf_tcp a = {.sport = s.dport, .dport = s.sport, .seq = s.ack,
                       .flags = SF_ACK, .win = 65535};
    if (s.flags & SF_SYN) { /* the SYN,ACK: complete the handshake */
        a.ack = s.seq + 1;
        a.win = f->mode == ZEROWND ? 0 : 65535;
    } else if (f->mode == ZEROWND && s.len) {
        a.ack = s.seq; /* a window probe: answered, nothing taken */
        a.win = 0;
    } else if (f->mode == FINWAIT2 && (s.flags & SF_FIN)) {
        a.ack = s.seq + (uint32_t)s.len + 1; /* the FIN, acknowledged */
    } else {
        return; /* silent */
    }
    f->answers++;
    net_send(&f->n, ip.dst, ip.src, &a);
}

static void syn_from(struct flood *f, unsigned i)
{
    struct sf_tcp s = {.sport = peer_port(i), .dport = 80,
                       .seq = 1000u * i, .flags = SF_SYN, .win = 65535};
    s.opt.has_mss = true;
    s.opt.mss = 1460;
    net_inject(&f->n, SRV, peer_ip(i), NET_IP(SRV), &s);
}

static int setopt(struct sf_stack *st, int sd, int level, int name, int v)
{
    return sf_setsockopt(st, sd, level, name, &v, sizeof v);
}

/* The server's application: accept, set the mode's options, and send or
 * close as the mode says. */
static unsigned server_app(struct flood *f, int l)
{
    struct sf_stack *st = f->n.st[SRV];
    unsigned got = 0;
    int sd;
    static const uint8_t resp[RESP];
    while ((sd = sf_accept(st, l, NULL)) >= 0) {
        got++;
        if (f->mode == SILENT || f->mode == ZEROWND)
            f->sds[f->nsds++] = sd;
        switch (f->mode) {
        case SILENT:
            CHECK_EQ(setopt(st, sd, SF_SOL_SOCKET, SF_SO_KEEPALIVE, 1), 0);
            CHECK_EQ(setopt(st, sd, SF_IPPROTO_TCP, SF_TCP_KEEPIDLE, 60), 0);
            CHECK_EQ(setopt(st, sd, SF_IPPROTO_TCP, SF_TCP_KEEPINTVL, 10), 0);
            CHECK_EQ(setopt(st, sd, SF_IPPROTO_TCP, SF_TCP_KEEPCNT, 3), 0);
            break;
        case ZEROWND:
            CHECK_EQ(setopt(st, sd, SF_IPPROTO_TCP, SF_TCP_USER_TIMEOUT,
                            30000), 0);
            CHECK_EQ(sf_send(st, sd, resp, sizeof resp, 0), RESP);
            break;
        case FINNOACK:
        case FINWAIT2:
            CHECK_EQ(sf_close(st, sd), 0);
            break;
        }
    }
    return got;
}

/* The application closes what timed out (SO_ERROR set: SF_POLLERR). */
static void server_close_dead(struct flood *f)
{
    for (unsigned i = 0; i < f->nsds;) {
        if (sf_poll(f->n.st[SRV], f->sds[i]) & (SF_POLLERR | SF_POLLHUP)) {
            CHECK_EQ(sf_close(f->n.st[SRV], f->sds[i]), 0);
            f->sds[i] = f->sds[--f->nsds];
        } else {
            i++;
        }
    }
}

static uint64_t held(const struct flood *f)
{
    const struct sf_counters *k = sf_stack_counters(f->n.st[SRV]);
    uint64_t h = 0;
    for (int s = 0; s < SF_NSTATES; s++)
        if (s != SF_LISTEN && s != SF_CLOSED)
            h += k->conns_in_state[s];
    return h;
}

static void flood_case(enum mode mode, uint8_t seed)
{
    static struct flood f;
    unsigned n = attack_full() ? 100000 : 1000;
    g_n = n;
    memset(&f, 0, sizeof f);
    f.mode = mode;
    f.nconn = n;
    net_init(&f.n, 1, 2 * (size_t)n + 4096, idle_cfg, seed);
    f.n.sink = peer_sink;
    f.n.sink_ctx = &f;
    f.sds = malloc(n * sizeof *f.sds);
    CHECK(f.sds != NULL);
    int l = net_listen(&f.n, SRV, 4096);
    uint64_t mem0 = net_mem_used(&f.n, SRV);
    sf_time_t t0 = f.n.now;
    unsigned accepted = 0;
    uint64_t peak_held = 0, peak_mem = 0;
    /* the flood: 100 handshakes per ms */
    for (unsigned i = 0; i < n;) {
        for (unsigned j = 0; j < 100 && i < n; j++, i++)
            syn_from(&f, i);
        net_run(&f.n, f.n.now + 1 * SF_MSEC);
        accepted += server_app(&f, l);
    }
    net_run(&f.n, f.n.now + 10 * SF_MSEC);
    accepted += server_app(&f, l);
    /* then wait, one second at a time, for the server to reclaim them */
    sf_time_t first = 0, last = 0;
    uint64_t orphan_rst = net_ctr(&f.n, SRV, SF_CTR_ORPHAN_OVERFLOW);
    for (int s = 0; s < 4 * 3600; s++) {
        uint64_t h = held(&f), m = net_mem_used(&f.n, SRV);
        peak_held = h > peak_held ? h : peak_held;
        peak_mem = m > peak_mem ? m : peak_mem;
        if (!first && h + orphan_rst < accepted)
            first = f.n.now;
        if (h == 0) {
            last = f.n.now;
            break;
        }
        net_run(&f.n, f.n.now + 1 * SF_SEC);
        server_close_dead(&f);
    }
    uint64_t per = peak_held ? (peak_mem - mem0) / peak_held : 0;
    uint64_t mem_end = net_mem_used(&f.n, SRV);
    printf("FIGURE idle_%s: %u connections (%u accepted), %llu held at "
           "most, %llu reset at close (max_orphans)\n", mode_name[mode], n,
           accepted, (unsigned long long)peak_held,
           (unsigned long long)orphan_rst);
    printf("FIGURE idle_%s memory: %llu B per connection held (peak %llu B "
           "over %llu B before), %llu B after\n", mode_name[mode],
           (unsigned long long)per, (unsigned long long)peak_mem,
           (unsigned long long)mem0, (unsigned long long)mem_end);
    printf("FIGURE idle_%s reclaimed: first at %.1f s, all by %.1f s after "
           "the first SYN (peer sent %llu answers)\n", mode_name[mode],
           first ? (double)(first - t0) / SF_SEC : -1.0,
           last ? (double)(last - t0) / SF_SEC : -1.0,
           (unsigned long long)f.answers);
    CHECK_EQ(accepted, n);
    CHECK_EQ(f.n.lost, 0); /* the wire held every datagram */
    CHECK(last != 0); /* every one reclaimed */
    CHECK_EQ(mem_end, mem0);
    double lo = 0, hi = 0;
    switch (mode) {
    case SILENT: /* 60 s idle, probes at 60, 70, 80: ended at 90 s */
        lo = 89, hi = 93;
        CHECK_EQ(net_ctr(&f.n, SRV, SF_CTR_KEEPALIVE_PROBES), 3ull * n);
        break;
    case ZEROWND: /* TCP_USER_TIMEOUT 30 s, checked at each probe */
        lo = 29, hi = 45;
        CHECK(f.answers > n);
        break;
    case FINNOACK: /* RTO 200 ms (the floor: the handshake's ACK gave an
                    * RTT sample, RFC 6298 2.2, 2.4), its FIN sent again
                    * at 0.2, 0.6, 1.4 ... 51, 102.2 s: the 9th timeout
                    * (orphan_retries 8) at 102.2 s resets */
        lo = 101, hi = 106;
        break;
    case FINWAIT2:
        lo = 59, hi = 63;
        break;
    }
    double at_first = (double)(first - t0) / SF_SEC,
           at_last = (double)(last - t0) / SF_SEC;
    if (!(mode == FINNOACK || mode == FINWAIT2) || orphan_rst == 0)
        CHECK(at_first >= lo);
    CHECK(at_last <= hi);
    free(f.sds);
    net_free(&f.n);
}

static void test_idle_silent(void)
{
    flood_case(SILENT, 71);
}

static void test_idle_zero_window(void)
{
    flood_case(ZEROWND, 73);
}

static void test_idle_fin_not_acked(void)
{
    flood_case(FINNOACK, 75);
}

static void test_idle_fin_wait_2(void)
{
    flood_case(FINWAIT2, 77);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_idle_silent),
    CHECK_CASE(test_idle_zero_window),
    CHECK_CASE(test_idle_fin_not_acked),
    CHECK_CASE(test_idle_fin_wait_2),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
