/* Two stacks in one process, joined by an in-memory wire with no delay:
 * the whole lifecycle (three-way handshake, data both ways, four-way close,
 * TIME_WAIT expiring), an abort, a refused connect, and self-connect. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define MAXQ 256
struct wire {
    struct { uint8_t buf[1600]; size_t len; int to; } q[MAXQ];
    int n;
    int drop_next_from; /* drop the next datagram sent by this host, or -1 */
};
struct host {
    struct sf_stack *st;
    struct wire *w;
    int id;
    enum sf_state states[64];
    int nstates;
    struct sf_addr local_filter;
};

static void out(void *ctx, const uint8_t *d, size_t len)
{
    struct host *h = ctx;
    struct wire *w = h->w;
    if (w->drop_next_from == h->id) {
        w->drop_next_from = -1;
        return;
    }
    if (w->n < MAXQ && len <= sizeof w->q[0].buf) {
        memcpy(w->q[w->n].buf, d, len);
        w->q[w->n].len = len;
        /* destination: the other host, or this one for self-connect */
        uint32_t dst = (uint32_t)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
        w->q[w->n].to = (dst == 0xC6120001u) ? 0 : 1;
        w->n++;
    }
}

static void trace(void *ctx, const struct sf_trace_event *ev)
{
    struct host *h = ctx;
    if (ev->kind == SF_TRACE_STATE && h->nstates < 64 &&
        (h->local_filter.port == 0 || ev->local.port == h->local_filter.port))
        h->states[h->nstates++] = ev->to;
}

static struct host hosts[2];
static sf_time_t now;

static void setup(struct wire *w)
{
    memset(w, 0, sizeof *w);
    w->drop_next_from = -1;
    for (int i = 0; i < 2; i++) {
        struct sf_stack_cfg cfg;
        sf_stack_cfg_default(&cfg);
        cfg.addr = 0xC6120001u + (uint32_t)i; /* 198.18.0.1, .2 */
        cfg.output = out;
        cfg.output_ctx = &hosts[i];
        cfg.trace = trace;
        cfg.trace_ctx = &hosts[i];
        cfg.seed[0] = (uint8_t)(i + 1);
        memset(&hosts[i], 0, sizeof hosts[i]);
        hosts[i].w = w;
        hosts[i].id = i;
        CHECK_EQ(sf_stack_create(&cfg, now, &hosts[i].st), 0);
    }
}

/* Delivers queued datagrams and fires timers until quiet or until `until`. */
static void run(struct wire *w, sf_time_t until)
{
    for (int guard = 0; guard < 100000; guard++) {
        if (w->n > 0) {
            int to = w->q[0].to;
            uint8_t buf[1600];
            size_t len = w->q[0].len;
            memcpy(buf, w->q[0].buf, len);
            memmove(&w->q[0], &w->q[1], (size_t)(w->n - 1) * sizeof w->q[0]);
            w->n--;
            sf_stack_input(hosts[to].st, now, buf, len);
            continue;
        }
        sf_time_t next = SF_TIME_NEVER;
        for (int i = 0; i < 2; i++) {
            sf_time_t t = sf_stack_advance(hosts[i].st, now);
            if (t < next)
                next = t;
        }
        if (w->n > 0)
            continue;
        if (next == SF_TIME_NEVER || next > until)
            return;
        now = next;
    }
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++)
        sf_stack_free(hosts[i].st);
}

static void test_lifecycle(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = sf_socket(ss);
    CHECK(l >= 0);
    CHECK_EQ(sf_bind(ss, l, &(struct sf_addr){.port = 80}), 0);
    CHECK_EQ(sf_listen(ss, l, 8), 0);
    int c = sf_socket(cs);
    CHECK_EQ(sf_connect(cs, c, &(struct sf_addr){.ip = 0xC6120002u,
                                                 .port = 80}),
             SF_EINPROGRESS);
    run(&w, now);
    CHECK_EQ(sf_connect(cs, c, &(struct sf_addr){.ip = 0xC6120002u,
                                                 .port = 80}), 0);
    CHECK(sf_poll(ss, l) & SF_POLLIN);
    struct sf_addr peer;
    int a = sf_accept(ss, l, &peer);
    CHECK(a >= 0);
    CHECK_EQ(peer.ip, 0xC6120001u);

    CHECK_EQ(sf_send(cs, c, "hello", 5, 0), 5);
    run(&w, now);
    char buf[64];
    CHECK_EQ(sf_recv(ss, a, buf, sizeof buf, 0), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(sf_recv(ss, a, buf, sizeof buf, 0), SF_EAGAIN);
    CHECK_EQ(sf_send(ss, a, "world!", 6, 0), 6);
    run(&w, now);
    CHECK_EQ(sf_recv(cs, c, buf, sizeof buf, 0), 6);

    /* active close by the client, half-close first: FIN_WAIT_1,
     * FIN_WAIT_2 / CLOSE_WAIT */
    CHECK_EQ(sf_shutdown(cs, c, SF_SHUT_WR), 0);
    CHECK_EQ(sf_send(cs, c, "x", 1, 0), SF_EPIPE);
    run(&w, now);
    CHECK_EQ(sf_recv(ss, a, buf, sizeof buf, 0), 0); /* EOF */
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(ss, a, &info), 0);
    CHECK_EQ(info.state, SF_CLOSE_WAIT);
    /* half-close: the CLOSE_WAIT side may still send */
    CHECK_EQ(sf_send(ss, a, "bye", 3, 0), 3);
    CHECK_EQ(sf_close(ss, a), 0);
    run(&w, now + 1 * SF_SEC);
    CHECK_EQ(sf_recv(cs, c, buf, sizeof buf, 0), 3);
    CHECK(memcmp(buf, "bye", 3) == 0);
    CHECK_EQ(sf_recv(cs, c, buf, sizeof buf, 0), 0);
    CHECK_EQ(sf_close(cs, c), 0);
    CHECK_EQ(sf_stack_counters(cs)->conns_in_state[SF_TIME_WAIT], 1);
    CHECK_EQ(sf_stack_counters(ss)->conns_in_state[SF_LAST_ACK], 0);
    /* TIME_WAIT lasts 2*MSL = 60 s */
    run(&w, now + 59 * SF_SEC);
    CHECK_EQ(sf_stack_counters(cs)->conns_in_state[SF_TIME_WAIT], 1);
    sf_time_t t0 = now;
    run(&w, now + 120 * SF_SEC);
    CHECK_EQ(sf_stack_counters(cs)->conns_in_state[SF_TIME_WAIT], 0);
    CHECK(now - t0 <= 61 * SF_SEC);
    enum sf_state want_c[] = {SF_SYN_SENT, SF_ESTABLISHED, SF_FIN_WAIT_1,
                              SF_FIN_WAIT_2, SF_TIME_WAIT, SF_CLOSED};
    CHECK_EQ(hosts[0].nstates, 6);
    for (int i = 0; i < 6 && i < hosts[0].nstates; i++)
        CHECK_EQ(hosts[0].states[i], want_c[i]);
    CHECK_EQ(sf_close(ss, l), 0);
    teardown();
}

static void test_refused_and_abort(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int c = sf_socket(cs);
    CHECK_EQ(sf_connect(cs, c, &(struct sf_addr){.ip = 0xC6120002u,
                                                 .port = 81}),
             SF_EINPROGRESS);
    run(&w, now);
    CHECK_EQ(sf_connect(cs, c, &(struct sf_addr){.ip = 0xC6120002u,
                                                 .port = 81}),
             SF_ECONNREFUSED);
    CHECK_EQ(sf_close(cs, c), 0);
    CHECK_EQ(sf_close(cs, c), SF_EBADF);

    int l = sf_socket(ss);
    CHECK_EQ(sf_bind(ss, l, &(struct sf_addr){.port = 81}), 0);
    CHECK_EQ(sf_listen(ss, l, 8), 0);
    CHECK_EQ(sf_send(ss, l, "x", 1, 0), SF_ENOTCONN);
    c = sf_socket(cs);
    sf_connect(cs, c, &(struct sf_addr){.ip = 0xC6120002u, .port = 81});
    run(&w, now);
    int a = sf_accept(ss, l, NULL);
    CHECK(a >= 0);
    struct sf_linger lg = {1, 0};
    CHECK_EQ(sf_setsockopt(cs, c, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(sf_close(cs, c), 0);
    run(&w, now);
    char b[4];
    CHECK_EQ(sf_recv(ss, a, b, sizeof b, 0), SF_ECONNRESET);
    CHECK_EQ(sf_recv(ss, a, b, sizeof b, 0), 0);
    CHECK_EQ(sf_stack_counters(cs)->c[SF_CTR_RST_OUT], 1);
    sf_close(ss, a);
    sf_close(ss, l);
    teardown();
}

static int count_state(void *ctx, const struct sf_tcp_info *i)
{
    int *n = ctx;
    n[i->state]++;
    return 0;
}

/* sf_stack_abort_all: RFC 9293 3.10.5 ABORT for every connection of the
 * server's stack: one held by a descriptor (ESTABLISHED), one the
 * application closed (FIN_WAIT_2, no descriptor), one not yet accepted,
 * one still a SYN-queue request (SYN_RCVD, its ACK lost);
 * each peer gets a RST (ECONNRESET there). The listener and the TIME_WAIT
 * record of a connection that ended stay, and the listener still takes
 * connections after. */
static void test_abort_all(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    struct sf_addr sa = {.ip = 0xC6120002u, .port = 82};
    int l = sf_socket(ss);
    CHECK_EQ(sf_bind(ss, l, &(struct sf_addr){.port = 82}), 0);
    CHECK_EQ(sf_listen(ss, l, 8), 0);
    int c[6], a[6];
    for (int i = 0; i < 4; i++) {
        c[i] = sf_socket(cs);
        CHECK_EQ(sf_connect(cs, c[i], &sa), SF_EINPROGRESS);
        run(&w, now);
        a[i] = i == 3 ? -1 : sf_accept(ss, l, NULL); /* c[3]: left queued */
        CHECK(i == 3 || a[i] >= 0);
    }
    /* a[1]: the server closes; the client does not (FIN_WAIT_2 here) */
    CHECK_EQ(sf_close(ss, a[1]), 0);
    run(&w, now);
    /* a[2]: the server closes first, then the client: TIME_WAIT here */
    CHECK_EQ(sf_close(ss, a[2]), 0);
    run(&w, now);
    CHECK_EQ(sf_close(cs, c[2]), 0);
    run(&w, now + SF_SEC); /* (not as far as 2 MSL) */
    /* c[4]: its ACK of the SYN-ACK lost: SYN_RCVD here */
    c[4] = sf_socket(cs);
    CHECK_EQ(sf_connect(cs, c[4], &sa), SF_EINPROGRESS);
    w.drop_next_from = 0; /* (the SYN is queued already) */
    run(&w, now);
    int n[SF_NSTATES] = {0};
    sf_stack_foreach(ss, count_state, n);
    CHECK_EQ(n[SF_SYN_RCVD], 1);
    CHECK_EQ(n[SF_ESTABLISHED], 2);
    CHECK_EQ(n[SF_FIN_WAIT_2], 1);
    CHECK_EQ(n[SF_TIME_WAIT], 1);
    CHECK_EQ(n[SF_LISTEN], 1);
    uint64_t rst0 = sf_stack_counters(ss)->c[SF_CTR_RST_OUT];

    CHECK_EQ(sf_stack_abort_all(ss), 4);
    CHECK_EQ(sf_stack_counters(ss)->c[SF_CTR_RST_OUT], rst0 + 4);
    memset(n, 0, sizeof n);
    sf_stack_foreach(ss, count_state, n);
    CHECK_EQ(n[SF_ESTABLISHED] + n[SF_FIN_WAIT_2] + n[SF_SYN_RCVD], 0);
    const struct sf_counters *k = sf_stack_counters(ss);
    CHECK_EQ(k->conns_in_state[SF_SYN_RCVD] + k->conns_in_state[SF_ESTABLISHED] +
             k->conns_in_state[SF_FIN_WAIT_2], 0);
    CHECK_EQ(n[SF_CLOSED], 1); /* a[0], until its descriptor is closed */
    CHECK_EQ(n[SF_TIME_WAIT], 1);
    CHECK_EQ(n[SF_LISTEN], 1);
    CHECK_EQ(sf_stack_abort_all(ss), 0); /* nothing left to abort */
    run(&w, now);
    for (int i = 0; i < 5; i++) { /* each client but c[2]: reset */
        if (i == 2)
            continue;
        struct sf_tcp_info ti;
        CHECK_EQ(sf_tcp_info(cs, c[i], &ti), 0);
        CHECK_EQ(ti.state, SF_CLOSED);
        CHECK_EQ(ti.error, SF_ECONNRESET);
        CHECK_EQ(sf_close(cs, c[i]), 0);
    }
    /* the descriptor held on the server stays valid until closed */
    CHECK_EQ(sf_close(ss, a[0]), 0);
    /* the listener still works */
    c[5] = sf_socket(cs);
    CHECK_EQ(sf_connect(cs, c[5], &sa), SF_EINPROGRESS);
    run(&w, now);
    a[5] = sf_accept(ss, l, NULL);
    CHECK(a[5] >= 0);
    sf_close(ss, a[5]);
    sf_close(cs, c[5]);
    sf_close(ss, l);
    teardown();
}

/* The RST of sf_stack_abort_all carries SND.NXT; a peer that never got
 * the last data (lost) expects less, takes the RST for a blind one and
 * answers with a challenge ACK (RFC 5961 3.2, RFC 9293 3.10.7.4); the
 * aborting stack, the connection gone, answers that with a RST at the
 * ACK's number (RFC 9293 3.10.7.1), which ends the peer's connection:
 * why synfin serve and connect keep their loop RESET_WAIT after an
 * abort (tools/synfin/net/tun_cli.h). */
static void test_abort_all_data_lost(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = sf_socket(ss);
    CHECK_EQ(sf_bind(ss, l, &(struct sf_addr){.port = 83}), 0);
    CHECK_EQ(sf_listen(ss, l, 8), 0);
    int c = sf_socket(cs);
    sf_connect(cs, c, &(struct sf_addr){.ip = 0xC6120002u, .port = 83});
    run(&w, now);
    int a = sf_accept(ss, l, NULL);
    CHECK(a >= 0);
    w.drop_next_from = 1; /* the server's data segment is lost */
    CHECK_EQ(sf_send(ss, a, "lost", 4, 0), 4);
    CHECK_EQ(w.n, 0);
    CHECK_EQ(sf_stack_abort_all(ss), 1);
    CHECK_EQ(w.n, 1); /* the RST, at SND.NXT: 4 beyond the client's RCV.NXT */
    run(&w, now);
    const struct sf_counters *k = sf_stack_counters(cs);
    CHECK_EQ(k->drops[SF_DROP_RST_CHALLENGED], 1);
    CHECK_EQ(k->c[SF_CTR_CHALLENGE_ACKS], 1);
    struct sf_tcp_info ti;
    CHECK_EQ(sf_tcp_info(cs, c, &ti), 0);
    CHECK_EQ(ti.state, SF_CLOSED); /* the answer to its challenge ACK */
    CHECK_EQ(ti.error, SF_ECONNRESET);
    sf_close(cs, c);
    sf_close(ss, a);
    sf_close(ss, l);
    teardown();
}

static void test_self_connect(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *s = hosts[0].st;
    int c = sf_socket(s);
    CHECK_EQ(sf_bind(s, c, &(struct sf_addr){.port = 5000}), 0);
    CHECK_EQ(sf_connect(s, c, &(struct sf_addr){.ip = 0xC6120001u,
                                                .port = 5000}),
             SF_EINPROGRESS);
    run(&w, now);
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(s, c, &info), 0);
    CHECK_EQ(info.state, SF_ESTABLISHED);
    enum sf_state want[] = {SF_SYN_SENT, SF_SYN_RCVD, SF_ESTABLISHED};
    CHECK_EQ(hosts[0].nstates, 3);
    for (int i = 0; i < 3 && i < hosts[0].nstates; i++)
        CHECK_EQ(hosts[0].states[i], want[i]);
    CHECK_EQ(sf_send(s, c, "me", 2, 0), 2);
    run(&w, now);
    char b[4];
    CHECK_EQ(sf_recv(s, c, b, sizeof b, 0), 2);
    CHECK(memcmp(b, "me", 2) == 0);
    teardown();
}

static void test_lost_final_ack(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = sf_socket(ss);
    sf_bind(ss, l, &(struct sf_addr){.port = 80});
    sf_listen(ss, l, 8);
    int c = sf_socket(cs);
    sf_connect(cs, c, &(struct sf_addr){.ip = 0xC6120002u, .port = 80});
    run(&w, now);
    int a = sf_accept(ss, l, NULL);
    sf_close(cs, c);
    run(&w, now);
    sf_close(ss, a);      /* server's FIN goes out ... */
    w.drop_next_from = 0; /* ... and the client's last ACK is lost */
    run(&w, now);
    CHECK_EQ(sf_stack_counters(ss)->conns_in_state[SF_LAST_ACK], 1);
    run(&w, now + 5 * SF_SEC); /* FIN retransmitted after 1 s, ACKed */
    CHECK_EQ(sf_stack_counters(ss)->conns_in_state[SF_LAST_ACK], 0);
    CHECK_EQ(sf_stack_counters(ss)->c[SF_CTR_RETRANSMITS], 1);
    CHECK_EQ(sf_stack_counters(cs)->conns_in_state[SF_TIME_WAIT], 1);
    sf_close(ss, l);
    teardown();
}

/* A full accept queue drops the final ACK of a handshake (as Linux does);
 * the SYN,ACK retransmission brings it back once accept() made room. */
static void test_accept_queue_full(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    int l = sf_socket(ss);
    sf_bind(ss, l, &(struct sf_addr){.port = 80});
    CHECK_EQ(sf_listen(ss, l, 1), 0);
    int a = sf_socket(cs), b = sf_socket(cs);
    sf_connect(cs, a, &(struct sf_addr){.ip = 0xC6120002u, .port = 80});
    sf_connect(cs, b, &(struct sf_addr){.ip = 0xC6120002u, .port = 80});
    run(&w, now);
    const struct sf_counters *k = sf_stack_counters(ss);
    CHECK_EQ(k->drops[SF_DROP_ACCEPTQ_FULL], 1);
    CHECK_EQ(k->conns_in_state[SF_SYN_RCVD], 1); /* b's, still a request */
    int sa = sf_accept(ss, l, NULL);
    CHECK(sa >= 0);
    CHECK_EQ(sf_accept(ss, l, NULL), SF_EAGAIN);
    run(&w, now + 2 * SF_SEC); /* the SYN,ACK again at 1 s; b's ACK again */
    int sb = sf_accept(ss, l, NULL);
    CHECK(sb >= 0);
    CHECK_EQ(k->conns_in_state[SF_SYN_RCVD], 0);
    CHECK_EQ(k->conns_in_state[SF_ESTABLISHED], 2);
    teardown();
}


/* ------------------------------------------------------- a raw peer */

/* The segment in the wire queue at i, parsed. */
static struct sf_tcp queued(struct wire *w, int i)
{
    struct sf_ipv4 ip;
    struct sf_tcp seg;
    memset(&seg, 0, sizeof seg);
    CHECK(i < w->n);
    if (i >= w->n)
        return seg;
    CHECK_EQ(sf_ipv4_parse(w->q[i].buf, w->q[i].len, &ip), SF_DROP_NONE);
    CHECK_EQ(sf_tcp_parse(&ip, &seg), SF_DROP_NONE);
    return seg;
}

/* Host 1 (198.18.0.2) plays a crafted peer: one segment into st. */
static void inject(struct sf_stack *st, uint16_t sport, uint16_t dport,
                   uint8_t flags, uint32_t seq, uint32_t ack,
                   const char *data)
{
    uint8_t buf[1600];
    struct sf_ipv4 ip = {.src = 0xC6120002u, .dst = 0xC6120001u, .ttl = 64};
    struct sf_tcp seg = {.sport = sport, .dport = dport, .seq = seq,
                         .ack = ack, .flags = flags, .win = 65535,
                         .payload = (const uint8_t *)data,
                         .len = data ? strlen(data) : 0};
    size_t n = sf_emit(buf, sizeof buf, &ip, &seg);
    CHECK(n > 0);
    sf_stack_input(st, now, buf, n);
}

/* RFC 9293 3.10.7.3: a SYN without ACK in SYN-SENT (simultaneous open)
 * that carries text: "queue them for processing after the ESTABLISHED
 * state has been reached". The SYN,ACK acknowledges the SYN only; once the
 * peer's ACK makes the connection ESTABLISHED the bytes are delivered, in
 * order before what follows, and acknowledged. */
static void test_synsent_syn_with_data(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *s = hosts[0].st;
    int c = sf_socket(s);
    CHECK_EQ(sf_connect(s, c, &(struct sf_addr){.ip = 0xC6120002u, .port = 80}),
             SF_EINPROGRESS);
    struct sf_tcp syn = queued(&w, 0);
    CHECK_EQ(syn.flags, SF_SYN);
    w.n = 0;
    uint32_t irs = 0xfffffffeu; /* the text crosses the 2^32 wrap */
    inject(s, 80, syn.sport, SF_SYN, irs, 0, "hello");
    struct sf_tcp_info info;
    CHECK_EQ(sf_tcp_info(s, c, &info), 0);
    CHECK_EQ(info.state, SF_SYN_RCVD);
    CHECK_EQ(w.n, 1);
    struct sf_tcp synack = queued(&w, 0);
    CHECK_EQ(synack.flags, SF_SYN | SF_ACK);
    CHECK_EQ(synack.seq, syn.seq);
    CHECK_EQ(synack.ack, irs + 1); /* the text is not acknowledged yet */
    w.n = 0;
    char b[16];
    CHECK_EQ(sf_recv(s, c, b, sizeof b, 0), SF_EAGAIN);
    /* the peer's ACK, with the next bytes of its stream */
    inject(s, 80, syn.sport, SF_ACK, irs + 6, syn.seq + 1, " world");
    CHECK_EQ(sf_tcp_info(s, c, &info), 0);
    CHECK_EQ(info.state, SF_ESTABLISHED);
    CHECK_EQ(info.rcv_nxt, irs + 12);
    CHECK_EQ(sf_recv(s, c, b, sizeof b, 0), 11);
    CHECK(memcmp(b, "hello world", 11) == 0);
    run(&w, now + SF_SEC); /* the (delayed) ACK */
    CHECK(w.n == 0);
    CHECK_EQ(sf_stack_counters(s)->c[SF_CTR_SEG_OUT], 3);
    teardown();

    /* Again, the peer's ACK now repeating the queued text before new
     * bytes: the queued copy is delivered once, then only the new part. */
    setup(&w);
    s = hosts[0].st;
    c = sf_socket(s);
    sf_connect(s, c, &(struct sf_addr){.ip = 0xC6120002u, .port = 80});
    syn = queued(&w, 0);
    w.n = 0;
    inject(s, 80, syn.sport, SF_SYN, irs, 0, "hello");
    CHECK_EQ(queued(&w, 0).ack, irs + 1);
    inject(s, 80, syn.sport, SF_ACK, irs + 1, syn.seq + 1, "hello world");
    CHECK_EQ(sf_tcp_info(s, c, &info), 0);
    CHECK_EQ(info.state, SF_ESTABLISHED);
    CHECK_EQ(info.rcv_nxt, irs + 12);
    memset(b, 0, sizeof b);
    CHECK_EQ(sf_recv(s, c, b, sizeof b, 0), 11);
    CHECK(memcmp(b, "hello world", 11) == 0);
    CHECK_EQ(sf_recv(s, c, b, sizeof b, 0), SF_EAGAIN);
    teardown();
}

/* RFC 9293 3.10.7.2: synfin drops a SYN with FIN in LISTEN, as Linux does
 * (no peer opens that way; scanners do), and counts it as LISTEN_SYN_FIN
 * (docs/lifecycle.md), not as a parse error. */
static void test_listen_syn_fin_counted(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *s = hosts[0].st;
    int l = sf_socket(s);
    CHECK_EQ(sf_bind(s, l, &(struct sf_addr){.port = 80}), 0);
    CHECK_EQ(sf_listen(s, l, 8), 0);
    inject(s, 40000, 80, SF_SYN | SF_FIN, 1000, 0, NULL);
    const struct sf_counters *k = sf_stack_counters(s);
    CHECK_EQ(w.n, 0);
    CHECK_EQ(k->drops[SF_DROP_TCP_FLAGS], 0);
    CHECK_EQ(k->drops[SF_DROP_LISTEN_SYN_FIN], 1);
    CHECK_EQ(k->conns_in_state[SF_SYN_RCVD], 0);
    teardown();
}

/* RFC 9293 3.6.1, RFC 1122 4.2.2.13: a connection that reopens a 4-tuple
 * from TIME-WAIT starts above the old SND.NXT, however fast the old one
 * sent. The server sends 20000 bytes in no time, closes first (TIME-WAIT),
 * and 10 ms later (2500 ticks of the ISN clock) the client reconnects from
 * the same port. */
static void test_reopen_iss_above_old_snd_nxt(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *cs = hosts[0].st, *ss = hosts[1].st;
    struct sf_addr saddr = {.ip = 0xC6120002u, .port = 80};
    struct sf_addr caddr = {.ip = 0xC6120001u, .port = 5000};
    int l = sf_socket(ss);
    sf_bind(ss, l, &(struct sf_addr){.port = 80});
    CHECK_EQ(sf_listen(ss, l, 8), 0);
    int c = sf_socket(cs);
    CHECK_EQ(sf_bind(cs, c, &(struct sf_addr){.port = 5000}), 0);
    sf_connect(cs, c, &saddr);
    run(&w, now);
    int a = sf_accept(ss, l, NULL);
    CHECK(a >= 0);
    static char data[20000], sink[4096];
    memset(data, 'x', sizeof data);
    size_t sent = 0;
    for (int guard = 0; guard < 1000 && sent < sizeof data; guard++) {
        long n = sf_send(ss, a, data + sent, sizeof data - sent, 0);
        if (n > 0)
            sent += (size_t)n;
        run(&w, now);
        while (sf_recv(cs, c, sink, sizeof sink, 0) > 0)
            ;
    }
    CHECK_EQ(sent, sizeof data);
    CHECK_EQ(sf_close(ss, a), 0);
    run(&w, now);
    CHECK_EQ(sf_close(cs, c), 0);
    run(&w, now);
    struct sf_tcp_info old;
    CHECK_EQ(sf_tcp_info_by_addr(ss, &saddr, &caddr, &old), 0);
    CHECK_EQ(old.state, SF_TIME_WAIT);
    now += 10 * SF_MSEC;
    sf_stack_advance(cs, now);
    c = sf_socket(cs);
    CHECK_EQ(sf_bind(cs, c, &(struct sf_addr){.port = 5000}), 0);
    CHECK_EQ(sf_connect(cs, c, &saddr), SF_EINPROGRESS);
    CHECK_EQ(w.n, 1);
    uint8_t buf[1600];
    size_t len = w.q[0].len;
    memcpy(buf, w.q[0].buf, len);
    w.n = 0;
    sf_stack_input(ss, now, buf, len); /* the SYN reopens the 4-tuple */
    struct sf_tcp synack = queued(&w, 0);
    CHECK_EQ(synack.flags, SF_SYN | SF_ACK);
    /* in sequence space: above the old SND.NXT */
    CHECK((int32_t)(synack.seq - old.snd_nxt) > 0);
    CHECK_EQ(synack.seq, old.snd_nxt + 65536u);
    run(&w, now);
    CHECK(sf_accept(ss, l, NULL) >= 0);
    teardown();
}

/* RFC 9293 3.10.1 (MUST-46): connect() to a multicast or broadcast address
 * is refused with SF_ENETUNREACH, sending nothing; RFC 9293 3.7.1: an MSS
 * above 65495 (65535 less 40 bytes of headers) is refused by
 * sf_stack_create with SF_EINVAL, and sf_stack_cfg_check names it. */
static void test_input_validation(void)
{
    struct wire w;
    setup(&w);
    struct sf_stack *s = hosts[0].st;
    static const uint32_t bad[] = {0xE0000001u, 0xE00000FBu, 0xEFFFFFFFu,
                                   0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int c = sf_socket(s);
        CHECK_EQ(sf_connect(s, c, &(struct sf_addr){.ip = bad[i], .port = 80}),
                 SF_ENETUNREACH);
        struct sf_tcp_info info;
        CHECK_EQ(sf_tcp_info(s, c, &info), 0);
        CHECK_EQ(info.state, SF_CLOSED);
        CHECK_EQ(sf_close(s, c), 0);
    }
    CHECK_EQ(w.n, 0); /* no SYN went out */
    /* the unicast address just below 224.0.0.0/4 still connects */
    int c = sf_socket(s);
    CHECK_EQ(sf_connect(s, c, &(struct sf_addr){.ip = 0xDFFFFFFEu, .port = 80}),
             SF_EINPROGRESS);
    teardown();

    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = 0xC6120001u;
    cfg.output = out;
    struct sf_stack *st = NULL;
    cfg.mss = 65495;
    CHECK(sf_stack_cfg_check(&cfg) == NULL);
    CHECK_EQ(sf_stack_create(&cfg, now, &st), 0);
    sf_stack_free(st);
    cfg.mss = 65496;
    CHECK_EQ(sf_stack_create(&cfg, now, &st), SF_EINVAL);
    CHECK(st == NULL);
    const char *why = sf_stack_cfg_check(&cfg);
    CHECK(why && strstr(why, "mss") && strstr(why, "65495"));
    cfg.mss = 65535;
    CHECK_EQ(sf_stack_create(&cfg, now, &st), SF_EINVAL);
    cfg.mss = 63;
    CHECK_EQ(sf_stack_create(&cfg, now, &st), SF_EINVAL);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_lifecycle),
    CHECK_CASE(test_refused_and_abort),
    CHECK_CASE(test_abort_all),
    CHECK_CASE(test_abort_all_data_lost),
    CHECK_CASE(test_self_connect),
    CHECK_CASE(test_lost_final_ack),
    CHECK_CASE(test_accept_queue_full),
    CHECK_CASE(test_synsent_syn_with_data),
    CHECK_CASE(test_listen_syn_fin_counted),
    CHECK_CASE(test_reopen_iss_above_old_snd_nxt),
    CHECK_CASE(test_input_validation),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
