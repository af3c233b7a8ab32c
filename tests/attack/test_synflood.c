/* SYN flood (issue 14 item 2; RFC 4987): spoofed SYNs at 100,000 per
 * virtual second against a listener with SYN cookies on (RFC 4987 3.6),
 * while legitimate clients of another stack connect. The SYN queue fills
 * with the spoofed SYNs in the first milliseconds; from then on every SYN
 * is answered by a cookie and nothing is kept for it, so the listener's
 * memory stays flat and the legitimate clients, whose ACK carries a valid
 * cookie, get in.
 *
 * Figures: the share of legitimate connects that succeed (aim >= 99 %, and
 * without a retransmitted SYN), and the server's memory (sf_stack_mem):
 * its peak in the first second and after it (aim: no higher after).
 * Small: 2 s, 20 clients. Full (ATTACK_SIZE=full): 60 s, 100 clients. */
#include "net.h"

#define A 0 /* legitimate clients */
#define B 1 /* the server */
#define MAXCL 100

struct client {
    int sd;
    sf_time_t start, done; /* done: ESTABLISHED seen (0: not yet) */
};

static void flood_cfg(struct sf_stack_cfg *cfg, int host)
{
    if (host == A)
        cfg->max_sockets = 4 * MAXCL;
}

/* One spoofed SYN as a Linux client sends it (MSS, SACK-permitted,
 * timestamps, window scale), from a random source in 198.19.0.0/16. */
static void spoofed_syn(struct net *n, uint64_t *rs)
{
    uint64_t r = rnd_next(rs);
    struct sf_tcp s = {.sport = (uint16_t)(1024 + (r & 0xffff) % 64000),
                       .dport = 80, .seq = (uint32_t)(r >> 32),
                       .flags = SF_SYN, .win = 64240};
    s.opt.has_mss = true;
    s.opt.mss = 1460;
    s.opt.sack_ok = true;
    s.opt.has_ts = true;
    s.opt.ts_val = (uint32_t)rnd_next(rs);
    s.opt.has_wscale = true;
    s.opt.wscale = 7;
    uint32_t src = 0xC6130000u | (uint32_t)((r >> 16) & 0xffff);
    if ((src & 0xff) == 0 || (src & 0xff) == 0xff)
        src ^= 1;
    net_inject(n, B, src, NET_IP(B), &s);
}

static void test_syn_flood(void)
{
    bool full = attack_full();
    const unsigned rate = 100000;            /* SYNs per virtual second */
    const unsigned secs = full ? 60 : 2;     /* of flood */
    const unsigned ncl = full ? MAXCL : 20;  /* legitimate clients */
    const unsigned per_ms = rate / 1000;
    static struct net n;
    net_init(&n, 2, 8192, flood_cfg, 21);
    int l = net_listen(&n, B, 128);
    struct client cl[MAXCL];
    uint64_t rs = 0x5f10;
    uint64_t peak_first = 0, peak_after = 0, syns = 0, peak1 = 0;
    sf_time_t t0 = n.now;
    unsigned next_cl = 0;
    for (unsigned ms = 0; ms < secs * 1000 + 3000; ms++) {
        /* a legitimate client every secs/ncl seconds, from 0.5 ms in */
        if (next_cl < ncl && n.now >= t0 + (sf_time_t)next_cl * secs *
                                                SF_SEC / ncl + 500 * SF_USEC) {
            struct client *c = &cl[next_cl++];
            c->sd = sf_socket(n.st[A]);
            CHECK(c->sd >= 0);
            CHECK_EQ(sf_connect(n.st[A], c->sd,
                                &(struct sf_addr){.ip = NET_IP(B), .port = 80}),
                     SF_EINPROGRESS);
            c->start = n.now;
            c->done = 0;
        }
        if (ms < secs * 1000) {
            for (unsigned k = 0; k < per_ms; k++)
                spoofed_syn(&n, &rs);
            syns += per_ms;
        }
        net_run(&n, n.now + 1 * SF_MSEC);
        /* the server's application takes and closes what comes in */
        int sd;
        while ((sd = sf_accept(n.st[B], l, NULL)) >= 0)
            CHECK_EQ(sf_close(n.st[B], sd), 0);
        /* the clients: connected? then done, and close */
        for (unsigned i = 0; i < next_cl; i++) {
            struct sf_tcp_info ti;
            if (cl[i].done || sf_tcp_info(n.st[A], cl[i].sd, &ti) != 0)
                continue;
            if (ti.state == SF_ESTABLISHED) {
                cl[i].done = n.now;
                CHECK_EQ(sf_close(n.st[A], cl[i].sd), 0);
            }
        }
        uint64_t used = net_mem_used(&n, B);
        if (n.now - t0 <= 1 * SF_SEC) {
            peak_first = used > peak_first ? used : peak_first;
            struct sf_mem_info m1;
            sf_stack_mem(n.st[B], &m1);
            peak1 = m1.peak; /* the stack's own peak, every allocation */
        } else
            peak_after = used > peak_after ? used : peak_after;
    }
    unsigned ok = 0, first_try = 0;
    sf_time_t worst = 0;
    for (unsigned i = 0; i < ncl; i++) {
        if (!cl[i].done)
            continue;
        ok++;
        sf_time_t took = cl[i].done - cl[i].start;
        first_try += took < 500 * SF_MSEC; /* no SYN retransmitted (1 s) */
        worst = took > worst ? took : worst;
    }
    struct sf_mem_info m;
    sf_stack_mem(n.st[B], &m);
    printf("FIGURE syn_flood spoofed SYNs: %llu in %u s (%u/s)\n",
           (unsigned long long)syns, secs, rate);
    printf("FIGURE syn_flood legitimate connects: %u of %u = %.1f %% "
           "(aim >= 99 %%), %u at the first SYN, slowest %.1f ms\n",
           ok, ncl, 100.0 * ok / ncl, first_try, (double)worst / SF_MSEC);
    printf("FIGURE syn_flood server memory: peak %llu B in the first second, "
           "%llu B after it (aim: no higher); stack's peak %llu B at 1 s, %llu B at the end; "
           "cookies sent %llu, SYN queue drops %llu\n",
           (unsigned long long)peak_first, (unsigned long long)peak_after,
           (unsigned long long)peak1, (unsigned long long)m.peak,
           (unsigned long long)net_ctr(&n, B, SF_CTR_SYNCOOKIES_SENT),
           (unsigned long long)net_drops(&n, B, SF_DROP_SYNQ_FULL));
    CHECK(ok * 100 >= ncl * 99);
    CHECK_EQ(first_try, ok);
    CHECK(peak_after <= peak_first);
    CHECK(peak_first > 0);
    CHECK_EQ(m.peak, peak1); /* no allocation after 1 s went higher */
    /* the flood was answered by cookies, not by queueing */
    CHECK(net_ctr(&n, B, SF_CTR_SYNCOOKIES_SENT) >= syns - 2 * 256);
    net_free(&n);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_syn_flood),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
