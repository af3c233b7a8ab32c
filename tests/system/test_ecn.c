/* RFC 3168 ECN end to end: two stacks on the simulated network, the
 * client sending 2 MB to the server through a bottleneck link of
 * 10 Mbit/s with a 20 ms round trip and a 30 kB FIFO that marks ECN-capable
 * datagrams CE once more than 10 kB are queued (sf_link_cfg
 * .ce_threshold). With ECN negotiated the queue marks instead of
 * dropping: no datagram is lost at the queue, the receiver echoes every
 * mark (ECE), the sender reduces its window and says so (CWR). Without
 * ECN the same queue overflows and drops. Everything runs on the virtual
 * clock, so the counters are the same on every run (checked). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/sim.h"
#include "synfin/synfin.h"

#define PORT 9
#define BYTES 2000000u

struct ecn_run {
    int listener, csd, ssd;
    uint64_t sent, rcvd;
    bool shut, eof, bad;
    int err;
};

static uint8_t pattern(uint64_t p)
{
    return (uint8_t)((p * 0x9e3779b97f4a7c15ull) >> 56 ^ p);
}

static void app(void *ctx, struct sf_sim *sim, int host)
{
    struct ecn_run *r = ctx;
    struct sf_stack *st = sf_sim_host_stack(sim, host);
    uint8_t buf[16384];
    if (host == 0) {
        while (r->sent < BYTES) {
            size_t n = sizeof buf;
            if (n > BYTES - r->sent)
                n = (size_t)(BYTES - r->sent);
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern(r->sent + i);
            long w = sf_send(st, r->csd, buf, n, 0);
            if (w <= 0) {
                if (w < 0 && w != SF_EAGAIN)
                    r->err = (int)w;
                break;
            }
            r->sent += (uint64_t)w;
        }
        if (r->sent == BYTES && !r->shut) {
            sf_shutdown(st, r->csd, SF_SHUT_WR);
            r->shut = true;
        }
        return;
    }
    if (r->ssd < 0 && (r->ssd = sf_accept(st, r->listener, NULL)) < 0)
        return;
    for (;;) {
        long n = sf_recv(st, r->ssd, buf, sizeof buf, 0);
        if (n == 0)
            r->eof = true;
        if (n <= 0) {
            if (n < 0 && n != SF_EAGAIN)
                r->err = (int)n;
            break;
        }
        for (long i = 0; i < n; i++)
            r->bad |= buf[i] != pattern(r->rcvd + (uint64_t)i);
        r->rcvd += (uint64_t)n;
    }
}

static bool not_done(void *ctx, struct sf_sim *sim)
{
    (void)sim;
    const struct ecn_run *r = ctx;
    return !r->eof && !r->err;
}

static bool keep_going(void *ctx, struct sf_sim *sim)
{
    (void)ctx;
    (void)sim;
    return true;
}

struct ecn_result {
    uint64_t c[2][SF_NCOUNTERS]; /* client, server */
    uint64_t queue_drops, ce_marked;
};

/* One transfer: the stacks' cfg.ecn, and the client socket's and the
 * listener's SF_TCP_ECN (-1: not set). */
static void transfer_fam(int cfg_ecn, int client_opt, int listen_opt,
                         struct ecn_result *res, int family)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.seed = 3;
    cfg.link.delay = 10 * SF_MSEC;
    cfg.stack.ecn = (uint8_t)cfg_ecn;
    cfg.ipv6 = family == SF_AF_INET6; /* dual-stack hosts */
    struct sf_sim *sim;
    CHECK_EQ(sf_sim_create(&cfg, &sim), 0);
    int c = sf_sim_add_host(sim, SF_SIM_NET_BASE + 1, NULL);
    int s = sf_sim_add_host(sim, SF_SIM_NET_BASE + 2, NULL);
    /* the bottleneck: client -> server */
    struct sf_link_cfg l;
    sf_sim_link_get(sim, c, s, &l);
    l.bandwidth = 10000000;
    l.queue_bytes = 30000;
    l.ce_threshold = 10000;
    CHECK_EQ(sf_sim_link_set(sim, c, s, &l), 0);
    struct ecn_run r = {.ssd = -1};
    struct sf_stack *cs = sf_sim_host_stack(sim, c);
    struct sf_stack *ss = sf_sim_host_stack(sim, s);
    r.listener = sf_socket(ss);
    if (listen_opt >= 0)
        CHECK_EQ(sf_setsockopt(ss, r.listener, SF_IPPROTO_TCP, SF_TCP_ECN,
                               &listen_opt, sizeof listen_opt), 0);
    CHECK_EQ(sf_bind(ss, r.listener, &(struct sf_addr){.port = PORT,
                     .family = (uint8_t)family}), 0);
    CHECK_EQ(sf_listen(ss, r.listener, 4), 0);
    r.csd = sf_socket(cs);
    if (client_opt >= 0)
        CHECK_EQ(sf_setsockopt(cs, r.csd, SF_IPPROTO_TCP, SF_TCP_ECN,
                               &client_opt, sizeof client_opt), 0);
    sf_sim_touch(sim, c);
    struct sf_addr to = sf_sim_host_ip(sim, s, family, PORT);
    CHECK_EQ(sf_connect(cs, r.csd, &to), SF_EINPROGRESS);
    sf_sim_touch(sim, c);
    sf_sim_set_app(sim, app, &r);
    sf_sim_run_while(sim, not_done, &r, 600 * SF_SEC);
    /* the server has read everything: ACKs (and their ECE) may still be
     * on their way back; let them arrive before counting */
    sf_sim_run_while(sim, keep_going, NULL, sf_sim_now(sim) + SF_SEC);
    CHECK_EQ(r.rcvd, BYTES);
    CHECK(!r.bad);
    CHECK_EQ(r.err, 0);
    CHECK(r.eof);
    memcpy(res->c[0], sf_stack_counters(cs)->c, sizeof res->c[0]);
    memcpy(res->c[1], sf_stack_counters(ss)->c, sizeof res->c[1]);
    res->queue_drops = sf_sim_stats(sim)->drops[SF_SIM_DROP_QUEUE];
    res->ce_marked = sf_sim_stats(sim)->ce_marked;
    fprintf(stderr, "ecn cfg %d client %d listener %d: %.3f s, queue drops "
            "%llu, CE marked %llu, client: retransmits %llu ECE rcvd %llu "
            "reductions %llu CWR %llu; server: CE %llu ECE sent %llu\n",
            cfg_ecn, client_opt, listen_opt, (double)sf_sim_now(sim) / 1e9,
            (unsigned long long)res->queue_drops,
            (unsigned long long)res->ce_marked,
            (unsigned long long)res->c[0][SF_CTR_RETRANSMITS],
            (unsigned long long)res->c[0][SF_CTR_ECN_ECE_RCVD],
            (unsigned long long)res->c[0][SF_CTR_ECN_REDUCTIONS],
            (unsigned long long)res->c[0][SF_CTR_ECN_CWR_SENT],
            (unsigned long long)res->c[1][SF_CTR_ECN_CE_RCVD],
            (unsigned long long)res->c[1][SF_CTR_ECN_ECE_SENT]);
    sf_sim_set_app(sim, NULL, NULL);
    sf_sim_free(sim);
}

static void transfer(int cfg_ecn, int client_opt, int listen_opt,
                     struct ecn_result *res)
{
    transfer_fam(cfg_ecn, client_opt, listen_opt, res, SF_AF_INET);
}

static void check_ecn_off(const struct ecn_result *x)
{
    for (int h = 0; h < 2; h++) {
        CHECK_EQ(x->c[h][SF_CTR_ECN_NEGOTIATED], 0);
        CHECK_EQ(x->c[h][SF_CTR_ECN_CE_RCVD], 0);
        CHECK_EQ(x->c[h][SF_CTR_ECN_ECE_SENT], 0);
        CHECK_EQ(x->c[h][SF_CTR_ECN_ECE_RCVD], 0);
        CHECK_EQ(x->c[h][SF_CTR_ECN_REDUCTIONS], 0);
        CHECK_EQ(x->c[h][SF_CTR_ECN_CWR_SENT], 0);
    }
    /* Not-ECT datagrams are never marked: the full queue drops them, and
     * the client retransmits */
    CHECK_EQ(x->ce_marked, 0);
    CHECK(x->queue_drops > 0);
    CHECK(x->c[0][SF_CTR_RETRANSMITS] > 0);
}

/* The client asks (SF_TCP_ECN 1 on a stack whose default, 2, would not),
 * the server accepts (its default): the marks replace the drops. */
static void marks_instead_of_drops(int family)
{
    struct ecn_result a, b;
    transfer_fam(2, 1, -1, &a, family);
    CHECK_EQ(a.c[0][SF_CTR_ECN_NEGOTIATED], 1);
    CHECK_EQ(a.c[1][SF_CTR_ECN_NEGOTIATED], 1);
    CHECK_EQ(a.queue_drops, 0);
    CHECK_EQ(a.c[0][SF_CTR_RETRANSMITS], 0);
    CHECK(a.ce_marked > 0);
    /* every mark reached the receiver on a data segment in its window */
    CHECK_EQ(a.c[1][SF_CTR_ECN_CE_RCVD], a.ce_marked);
    /* echoed until CWR: at least one ECE per mark's window, all of them
     * received (the return path is clean) */
    CHECK(a.c[1][SF_CTR_ECN_ECE_SENT] > 0);
    CHECK_EQ(a.c[0][SF_CTR_ECN_ECE_RCVD], a.c[1][SF_CTR_ECN_ECE_SENT]);
    /* once per window: fewer reductions than ECEs, each followed by one
     * CWR, and no loss reductions (nothing lost). RFC 3168 6.1.2: CWR
     * rides "the first new data packet sent after the window reduction":
     * a reduction made once the last data has left has none (the ECEs
     * of the last window's marks come back after it), so the last CWR
     * may be missing, never more. */
    CHECK(a.c[0][SF_CTR_ECN_REDUCTIONS] > 0);
    CHECK(a.c[0][SF_CTR_ECN_REDUCTIONS] < a.c[0][SF_CTR_ECN_ECE_RCVD]);
    CHECK(a.c[0][SF_CTR_ECN_CWR_SENT] == a.c[0][SF_CTR_ECN_REDUCTIONS] ||
          a.c[0][SF_CTR_ECN_CWR_SENT] + 1 == a.c[0][SF_CTR_ECN_REDUCTIONS]);
    /* the server sent no data: nothing of its own to mark or reduce */
    CHECK_EQ(a.c[1][SF_CTR_ECN_REDUCTIONS], 0);
    CHECK_EQ(a.c[0][SF_CTR_ECN_CE_RCVD], 0);
    /* the virtual clock makes it exact: the same counters again */
    transfer_fam(2, 1, -1, &b, family);
    CHECK(!memcmp(&a, &b, sizeof a));
}

static void test_marks_instead_of_drops(void)
{
    marks_instead_of_drops(SF_AF_INET);
}

/* The same over IPv6: the ECN field is the low two bits of the Traffic
 * Class (RFC 3168 5, RFC 8200 7), marked by the same queue */
static void test_marks_instead_of_drops_ipv6(void)
{
    marks_instead_of_drops(SF_AF_INET6);
}

/* ... and with ECN off over IPv6, drops */
static void test_off_drops_ipv6(void)
{
    struct ecn_result x;
    transfer_fam(0, -1, -1, &x, SF_AF_INET6);
    check_ecn_off(&x);
}


/* The same path with ECN off on the client's stack: drops. */
static void test_off_drops(void)
{
    struct ecn_result x;
    transfer(0, -1, -1, &x);
    check_ecn_off(&x);
}

/* Both at the default (2: accept, never ask): nobody asks, no ECN. */
static void test_default_does_not_ask(void)
{
    struct ecn_result x;
    transfer(2, -1, -1, &x);
    check_ecn_off(&x);
}

/* The client asks, but the listener's SF_TCP_ECN 0 refuses it (its child
 * takes the listener's setting): no ECN. */
static void test_listener_refuses(void)
{
    struct ecn_result x;
    transfer(2, 1, 0, &x);
    check_ecn_off(&x);
}

/* The stack setting for every socket (cfg.ecn 1 on both): ECN. */
static void test_stack_setting(void)
{
    struct ecn_result x;
    transfer(1, -1, -1, &x);
    CHECK_EQ(x.c[0][SF_CTR_ECN_NEGOTIATED], 1);
    CHECK_EQ(x.queue_drops, 0);
    CHECK(x.ce_marked > 0);
}

/* The option's values and its errors. */
static void test_sockopt(void)
{
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    CHECK_EQ(cfg.ecn, 2);
    cfg.ecn = 3;
    CHECK(sf_stack_cfg_check(&cfg) != NULL);
    struct sf_sim_cfg scfg;
    sf_sim_cfg_default(&scfg);
    struct sf_sim *sim;
    CHECK_EQ(sf_sim_create(&scfg, &sim), 0);
    int h = sf_sim_add_host(sim, 0, NULL);
    struct sf_stack *st = sf_sim_host_stack(sim, h);
    int sd = sf_socket(st), v = -1;
    size_t len = sizeof v;
    CHECK_EQ(sf_getsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_ECN, &v, &len), 0);
    CHECK_EQ(v, 2);
    v = 3;
    CHECK_EQ(sf_setsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_ECN, &v, sizeof v),
             SF_EINVAL);
    v = -1;
    CHECK_EQ(sf_setsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_ECN, &v, sizeof v),
             SF_EINVAL);
    v = 0;
    CHECK_EQ(sf_setsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_ECN, &v, sizeof v), 0);
    v = -1;
    CHECK_EQ(sf_getsockopt(st, sd, SF_IPPROTO_TCP, SF_TCP_ECN, &v, &len), 0);
    CHECK_EQ(v, 0);
    sf_sim_free(sim);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_marks_instead_of_drops),
    CHECK_CASE(test_off_drops),
    CHECK_CASE(test_default_does_not_ask),
    CHECK_CASE(test_listener_refuses),
    CHECK_CASE(test_stack_setting),
    CHECK_CASE(test_sockopt),
    CHECK_CASE(test_marks_instead_of_drops_ipv6),
    CHECK_CASE(test_off_drops_ipv6),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
