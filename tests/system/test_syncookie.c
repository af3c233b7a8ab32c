/* SYN cookies with options (RFC 4987 3.6, RFC 7323): a listener whose
 * SYN queue is full (syn_backlog 0) answers every SYN with a cookie; a SYN
 * with timestamps gets a SYN,ACK whose TSval carries the peer's window
 * shift, SACK-permitted and ECN-setup in its low 6 bits. Over many SYNs
 * at clock values spread over the 64 ms the rounding spans and over
 * several cookie periods, this checks the bits, that the TSval never
 * leads the connection's own timestamp clock (so the TSvals the
 * connection sends later are not older: RFC 7323 5.3 PAWS at the peer),
 * that SYN,ACKs to a retransmitted SYN do not step back, that the ACK
 * makes a connection with the options, and that the handshake gives no
 * RTT sample from the rounded TSval. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/sim.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define PORT 80
#define MAXD 8

struct cap {
    uint8_t d[MAXD][2048];
    size_t len[MAXD];
    unsigned n;
};

static void cap_out(void *ctx, const uint8_t *dgram, size_t len)
{
    struct cap *c = ctx;
    if (c->n < MAXD && len <= sizeof c->d[0]) {
        memcpy(c->d[c->n], dgram, len);
        c->len[c->n] = len;
    }
    c->n++;
}

/* The only datagram captured since the last reset, parsed. */
static bool one_seg(struct cap *c, struct sf_tcp *seg)
{
    struct sf_ipv4 ip;
    bool ok = c->n == 1 &&
              sf_ipv4_parse(c->d[0], c->len[0], &ip) == SF_DROP_NONE &&
              sf_tcp_parse(&ip, seg) == SF_DROP_NONE;
    c->n = 0;
    return ok;
}

struct peer {
    struct sf_stack *st;
    struct cap *cap;
    struct sf_ipv4 ip; /* peer -> stack */
};

static void send_seg(struct peer *p, sf_time_t now, struct sf_tcp *seg)
{
    uint8_t buf[256];
    size_t n = sf_emit(buf, sizeof buf, &p->ip, seg);
    CHECK(n > 0);
    sf_stack_input(p->st, now, buf, n);
}

static struct sf_tcp syn_to(uint16_t sport, uint32_t isn, uint32_t tsval,
                            uint8_t wscale, bool ecn)
{
    struct sf_tcp s = {.sport = sport, .dport = PORT, .seq = isn,
                       .flags = SF_SYN, .win = 65535};
    if (ecn)
        s.flags |= SF_ECE | SF_CWR;
    s.opt.has_mss = true;
    s.opt.mss = 1460;
    s.opt.sack_ok = true;
    s.opt.has_ts = true;
    s.opt.ts_val = tsval;
    s.opt.has_wscale = true;
    s.opt.wscale = wscale;
    return s;
}

static struct sf_stack *cookie_stack(struct cap *cap, int *listener)
{
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = SF_SIM_NET_BASE + 1;
    cfg.output = cap_out;
    cfg.output_ctx = cap;
    cfg.syn_backlog = 0; /* every SYN gets a cookie */
    cfg.rto_min = 200 * SF_MSEC; /* so that an RTT sample would show */
    cfg.rto_initial = 1 * SF_SEC;
    cfg.ecn = 2;
    struct sf_stack *st;
    CHECK_EQ(sf_stack_create(&cfg, 1 * SF_SEC, &st), 0);
    int l = sf_socket(st);
    CHECK_EQ(sf_bind(st, l, &(struct sf_addr){.ip = cfg.addr,
                                              .port = PORT}), 0);
    CHECK_EQ(sf_listen(st, l, 1000), 0);
    *listener = l;
    return st;
}

/* Each SYN from a new port at a clock value 13 ms on from the last (all
 * 64 residues of the rounding, several 64 s cookie periods): the
 * SYN,ACK's options and bits, then the ACK, then data. */
static void test_cookie_options_many(void)
{
    struct cap cap = {0};
    int l;
    struct sf_stack *st = cookie_stack(&cap, &l);
    struct peer p = {.st = st, .cap = &cap,
                     .ip = {.src = SF_SIM_NET_BASE + 2,
                            .dst = SF_SIM_NET_BASE + 1, .ttl = 64}};
    const unsigned n = 400;
    unsigned lags[64] = {0};
    for (unsigned i = 0; i < n; i++) {
        sf_time_t t = 2 * SF_SEC + (sf_time_t)i * 613 * SF_MSEC;
        uint16_t port = (uint16_t)(20000 + i);
        bool ecn = i % 2;
        uint8_t ws = (uint8_t)(i % 16); /* 15: above 14, used as 14 */
        uint32_t isn = 1000u * i, tsv = 7000u + i;
        struct sf_tcp syn = syn_to(port, isn, tsv, ws, ecn);
        /* the timers of the connections before (their FINs) first */
        sf_stack_advance(st, t);
        cap.n = 0;
        send_seg(&p, t, &syn);
        struct sf_tcp sa;
        CHECK(one_seg(&cap, &sa));
        CHECK_EQ(sa.flags & ~SF_ECE, SF_SYN | SF_ACK);
        CHECK_EQ(!!(sa.flags & SF_ECE), ecn);
        CHECK(sa.opt.has_mss && sa.opt.sack_ok && sa.opt.has_wscale);
        CHECK(sa.opt.has_ts);
        CHECK_EQ(sa.opt.ts_ecr, tsv);
        uint8_t eff = ws > 14 ? 14 : ws;
        CHECK_EQ(sa.opt.ts_val & 63, eff | 0x10u | (ecn ? 0x20u : 0));
        /* the ACK, 1 ms later, echoing the TSval */
        struct sf_tcp ack = {.sport = port, .dport = PORT, .seq = isn + 1,
                             .ack = sa.seq + 1, .flags = SF_ACK, .win = 100};
        ack.opt.has_ts = true;
        ack.opt.ts_val = tsv + 1;
        ack.opt.ts_ecr = sa.opt.ts_val;
        send_seg(&p, t + SF_MSEC, &ack);
        CHECK_EQ(cap.n, 0);
        struct sf_tcp_info ti;
        struct sf_addr loc = {.ip = SF_SIM_NET_BASE + 1, .port = PORT};
        struct sf_addr rem = {.ip = SF_SIM_NET_BASE + 2, .port = port};
        CHECK_EQ(sf_tcp_info_by_addr(st, &loc, &rem, &ti), 0);
        CHECK_EQ(ti.state, SF_ESTABLISHED);
        CHECK(ti.wscale_ok && ti.ts_ok);
        CHECK_EQ(ti.snd_wscale, eff);
        CHECK_EQ(ti.rcv_wscale, sa.opt.wscale);
        CHECK_EQ(ti.snd_wnd, 100u << eff); /* the ACK's window, scaled */
        /* RFC 7323 4.1: an RTT sample from the TSecr, which echoes the
         * rounded TSval: the 1 ms plus the rounding (checked below, once
         * the data shows it); the RTO at its 200 ms floor (RFC 6298 2.4) */
        uint32_t srtt_us = ti.srtt_us;
        CHECK(srtt_us >= 1000 && srtt_us < 65000);
        CHECK_EQ(ti.rto, 200 * SF_MSEC);
        int sd = sf_accept(st, l, NULL);
        CHECK(sd >= 0);
        /* data 2 ms after the SYN,ACK: its TSval is the clock, which is
         * 2 ms plus the rounding (0..63) past the SYN,ACK's */
        sf_stack_advance(st, t + 2 * SF_MSEC);
        cap.n = 0;
        CHECK_EQ(sf_send(st, sd, "x", 1, 0), 1);
        struct sf_tcp d;
        CHECK(one_seg(&cap, &d));
        CHECK_EQ(d.len, 1);
        CHECK(d.opt.has_ts);
        CHECK_EQ(d.opt.ts_ecr, tsv + 1);
        uint32_t lag = d.opt.ts_val - sa.opt.ts_val - 2;
        CHECK(lag < 64);
        CHECK_EQ(srtt_us, (1 + lag) * 1000u); /* the sample: 1 ms + lag */
        if (lag < 64)
            lags[lag]++;
        CHECK_EQ(sf_close(st, sd), 0);
        cap.n = 0;
    }
    /* every residue of the clock came by: each lag 0..63 was seen */
    for (unsigned k = 0; k < 64; k++)
        CHECK(lags[k] > 0);
    const struct sf_counters *k = sf_stack_counters(st);
    CHECK_EQ(k->c[SF_CTR_SYNCOOKIES_SENT], n);
    CHECK_EQ(k->c[SF_CTR_SYNCOOKIES_OK], n);
    CHECK_EQ(k->c[SF_CTR_WSCALE_CLAMPED], n / 16);
    sf_stack_free(st);
}

/* One SYN sent again and again, 5 ms apart, over 300 ms: the SYN,ACKs'
 * TSvals carry the same bits and never step back (RFC 7323 5.3: the peer
 * keeps the newest as TS.Recent). */
static void test_cookie_tsval_retransmitted_syn(void)
{
    struct cap cap = {0};
    int l;
    struct sf_stack *st = cookie_stack(&cap, &l);
    struct peer p = {.st = st, .cap = &cap,
                     .ip = {.src = SF_SIM_NET_BASE + 2,
                            .dst = SF_SIM_NET_BASE + 1, .ttl = 64}};
    uint32_t last = 0;
    for (unsigned i = 0; i < 60; i++) {
        struct sf_tcp syn = syn_to(30000, 77, 5000, 7, false);
        send_seg(&p, 3 * SF_SEC + (sf_time_t)i * 5 * SF_MSEC, &syn);
        struct sf_tcp sa;
        CHECK(one_seg(&cap, &sa));
        CHECK(sa.opt.has_ts);
        CHECK_EQ(sa.opt.ts_val & 63, 7u | 0x10u);
        if (i)
            CHECK((int32_t)(sa.opt.ts_val - last) >= 0);
        last = sa.opt.ts_val;
    }
    (void)l;
    sf_stack_free(st);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_cookie_options_many),
    CHECK_CASE(test_cookie_tsval_retransmitted_syn),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
