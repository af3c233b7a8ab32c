/* Two stacks wired together (1 ms each way, virtual time) and a third
 * party that injects forged segments: the limits that keep a remote host
 * from using synfin's answers as a side channel (RFC 5961 7,
 * CVE-2016-5696) or an ACK storm (RFC 5961 10), and the caps on what
 * closed connections may hold (orphans, TIME_WAIT records). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define IP_A 0xC6120001u /* 198.18.0.1 */
#define IP_B 0xC6120002u /* 198.18.0.2 */
#define MAXQ 4096

struct pkt {
    uint8_t buf[1600];
    size_t len;
    int to;
    sf_time_t at;
};
struct wire {
    struct pkt q[MAXQ];
    int head, n;
    sf_time_t delay;
    uint64_t sent[2]; /* datagrams each host sent */
};
struct host {
    struct sf_stack *st;
    int id;
};

static struct wire W;
static struct host hosts[2];
static sf_time_t now = 1000 * SF_SEC;

static void out(void *ctx, const uint8_t *d, size_t len)
{
    struct host *h = ctx;
    h->id == 0 ? W.sent[0]++ : W.sent[1]++;
    if (W.n == MAXQ || len > sizeof W.q[0].buf)
        return; /* a full wire loses datagrams, as any link */
    struct pkt *p = &W.q[(W.head + W.n) % MAXQ];
    memcpy(p->buf, d, len);
    p->len = len;
    uint32_t dst = (uint32_t)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
    p->to = dst == IP_A ? 0 : 1;
    p->at = now + W.delay;
    W.n++;
}

typedef void (*tweak_fn)(struct sf_stack_cfg *cfg, int host);

static void setup(tweak_fn tweak, uint8_t seed)
{
    memset(&W, 0, sizeof W);
    now = 1000 * SF_SEC;
    W.delay = 1 * SF_MSEC;
    for (int i = 0; i < 2; i++) {
        struct sf_stack_cfg cfg;
        sf_stack_cfg_default(&cfg);
        cfg.addr = i == 0 ? IP_A : IP_B;
        cfg.output = out;
        cfg.output_ctx = &hosts[i];
        cfg.seed[0] = (uint8_t)(seed + i);
        if (tweak)
            tweak(&cfg, i);
        hosts[i].id = i;
        CHECK_EQ(sf_stack_create(&cfg, now, &hosts[i].st), 0);
    }
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++)
        sf_stack_free(hosts[i].st);
}

/* Delivers datagrams and fires timers in time order up to `until`;
 * returns the number of datagrams delivered. Bounded. */
static long run(sf_time_t until)
{
    long delivered = 0;
    for (long guard = 0; guard < 2000000; guard++) {
        if (W.n > 0 && W.q[W.head].at <= now) {
            struct pkt p = W.q[W.head];
            W.head = (W.head + 1) % MAXQ;
            W.n--;
            sf_stack_input(hosts[p.to].st, now, p.buf, p.len);
            delivered++;
            continue;
        }
        sf_time_t t = SF_TIME_NEVER;
        for (int i = 0; i < 2; i++) {
            sf_time_t n = sf_stack_advance(hosts[i].st, now);
            if (n < t)
                t = n;
        }
        if (W.n > 0 && W.q[W.head].at <= now)
            continue;
        if (W.n > 0 && W.q[W.head].at < t)
            t = W.q[W.head].at;
        if (t > until)
            break;
        now = t > now ? t : now + 1;
    }
    if (until != SF_TIME_NEVER && until > now)
        now = until;
    for (int i = 0; i < 2; i++)
        sf_stack_advance(hosts[i].st, now);
    return delivered;
}

/* A forged segment, delivered straight to host `to`. */
static void inject(int to, const struct sf_addr *src, const struct sf_addr *dst,
                   uint32_t seq, uint32_t ack, uint8_t flags, size_t len)
{
    static const uint8_t junk[512];
    struct sf_ipv4 ip = {.src = src->ip, .dst = dst->ip, .ttl = 64};
    struct sf_tcp seg = {.sport = src->port, .dport = dst->port,
                         .seq = seq, .ack = ack, .flags = flags,
                         .win = 65535, .payload = junk, .len = len};
    uint8_t buf[1600];
    size_t n = sf_emit(buf, sizeof buf, &ip, &seg);
    CHECK(n > 0);
    sf_stack_input(hosts[to].st, now, buf, n);
}

static uint64_t ctr(int host, enum sf_counter c)
{
    return sf_stack_counters(hosts[host].st)->c[c];
}

static uint64_t in_state(int host, enum sf_state s)
{
    return sf_stack_counters(hosts[host].st)->conns_in_state[s];
}

/* B listens on port 80; A connects n times. sds[i] on A, acc[i] on B. */
static int listen_b(void)
{
    int l = sf_socket(hosts[1].st);
    CHECK_EQ(sf_bind(hosts[1].st, l, &(struct sf_addr){.port = 80}), 0);
    CHECK_EQ(sf_listen(hosts[1].st, l, 64), 0);
    return l;
}

static void connect_n(int l, int n, int *sds, int *acc)
{
    for (int i = 0; i < n; i++) {
        sds[i] = sf_socket(hosts[0].st);
        CHECK_EQ(sf_connect(hosts[0].st, sds[i],
                            &(struct sf_addr){.ip = IP_B,
                                              .port = 80}), SF_EINPROGRESS);
        run(now + 10 * SF_MSEC);
        acc[i] = sf_accept(hosts[1].st, l, NULL);
        CHECK(acc[i] >= 0);
    }
}

/* The addresses and B's view of the sequence numbers of B's socket sd. */
static struct sf_tcp_info info_b(int sd)
{
    struct sf_tcp_info in;
    CHECK_EQ(sf_tcp_info(hosts[1].st, sd, &in), 0);
    return in;
}

/* ------------------------------------------------ 6: challenge ACKs */

static void small_chack(struct sf_stack_cfg *cfg, int host)
{
    (void)host;
    cfg->challenge_ack_limit = 10;
}

/* CVE-2016-5696: a flood of in-window RSTs at one connection must not
 * spend the challenge ACKs another connection needs (a shared, countable
 * budget is the side channel). */
static void test_challenge_per_conn(void)
{
    setup(small_chack, 1);
    int l = listen_b(), sds[2], acc[2];
    connect_n(l, 2, sds, acc);
    struct sf_tcp_info a = info_b(acc[0]), b = info_b(acc[1]);
    uint64_t sent0 = ctr(1, SF_CTR_CHALLENGE_ACKS);
    for (int i = 0; i < 100; i++) /* in window, not RCV.NXT */
        inject(1, &a.remote, &a.local, a.rcv_nxt + 100 + (uint32_t)i, 0,
               SF_RST, 0);
    uint64_t on_a = ctr(1, SF_CTR_CHALLENGE_ACKS) - sent0;
    CHECK(on_a >= 1);
    CHECK(on_a <= 1);
    CHECK_EQ(ctr(1, SF_CTR_ACK_SKIPPED_CHALLENGE), 100 - on_a);
    /* the other connection, in the same instant: still answered */
    inject(1, &b.remote, &b.local, b.rcv_nxt + 100, 0, SF_RST, 0);
    CHECK_EQ(ctr(1, SF_CTR_CHALLENGE_ACKS) - sent0 - on_a, 1);
    /* and both connections survived */
    run(now + 100 * SF_MSEC);
    CHECK_EQ(in_state(1, SF_ESTABLISHED), 2);
    teardown();
}

static void chack_no_conn_limit(struct sf_stack_cfg *cfg, int host)
{
    (void)host;
    cfg->challenge_ack_limit = 10;
    cfg->invalid_ratelimit = 0;
}

/* The counts of challenge ACKs sent in each of `n` one-second periods by
 * B (seed `seed`) under a flood of 60 in-window RSTs per period. */
static void chack_counts(uint8_t seed, int n, uint64_t *counts)
{
    setup(chack_no_conn_limit, seed);
    int l = listen_b(), sds[1], acc[1];
    connect_n(l, 1, sds, acc);
    struct sf_tcp_info a = info_b(acc[0]);
    for (int k = 0; k < n; k++) {
        run((now / SF_SEC + 1) * SF_SEC + 300 * SF_MSEC); /* a new second */
        uint64_t before = ctr(1, SF_CTR_CHALLENGE_ACKS);
        for (int i = 0; i < 60; i++)
            inject(1, &a.remote, &a.local, a.rcv_nxt + 100 + (uint32_t)i, 0,
                   SF_RST, 0);
        counts[k] = ctr(1, SF_CTR_CHALLENGE_ACKS) - before;
    }
    CHECK_EQ(in_state(1, SF_ESTABLISHED), 1);
    teardown();
}

/* The stack-wide budget is drawn anew each second (between limit/2 and
 * 3*limit/2), so that counting one's own challenge ACKs says nothing
 * exact about the others; and it is drawn from the seeded secret, so the
 * same seed gives the same budgets. */
static void test_challenge_global_random(void)
{
    enum { N = 12 };
    uint64_t c1[N], c2[N], c3[N];
    chack_counts(7, N, c1);
    chack_counts(7, N, c2);
    chack_counts(9, N, c3);
    int distinct = 0, differ_seed = 0;
    for (int k = 0; k < N; k++) {
        CHECK(c1[k] >= 5 && c1[k] <= 14);
        CHECK_EQ(c1[k], c2[k]); /* deterministic */
        bool seen = false;
        for (int j = 0; j < k; j++)
            seen |= c1[j] == c1[k];
        distinct += !seen;
        differ_seed += c1[k] != c3[k];
    }
    printf("challenge ACK budgets, seed 7:");
    for (int k = 0; k < N; k++)
        printf(" %llu", (unsigned long long)c1[k]);
    printf("\n");
    CHECK(distinct >= 3);    /* varies between periods */
    CHECK(differ_seed >= 1); /* and with the secret */
}

/* ------------------------------------------------------ 7: ACK storm */

/* RFC 5961 10: a forged data segment accepted by B moves B's RCV.NXT
 * past A's SND.NXT. B's ACK then acknowledges data A never sent (A
 * answers with an ACK, step five), which B finds below its window (B
 * answers with an ACK, step one) ... forever, unless these answers are
 * rate-limited. The forger here sends no timestamp: with RFC 7323
 * timestamps negotiated B drops such a segment unread (3.2; see
 * test_ack_storm_timestamps), so the storm is staged without them. */
static void no_timestamps(struct sf_stack_cfg *cfg, int host)
{
    (void)host;
    cfg->timestamps = false;
}

static void test_ack_storm(void)
{
    setup(no_timestamps, 3);
    int l = listen_b(), sds[1], acc[1];
    connect_n(l, 1, sds, acc);
    run(now + 1 * SF_SEC);
    struct sf_tcp_info b = info_b(acc[0]);
    uint64_t a0 = W.sent[0], b0 = W.sent[1];
    inject(1, &b.remote, &b.local, b.rcv_nxt, b.snd_nxt, SF_ACK | SF_PSH, 100);
    long delivered = run(now + 10 * SF_SEC);
    uint64_t from_a = W.sent[0] - a0, from_b = W.sent[1] - b0;
    printf("ACK storm: %llu segments from A, %llu from B in 10 s "
           "(%ld delivered)\n", (unsigned long long)from_a,
           (unsigned long long)from_b, delivered);
    /* the storm did start (each side answered, then held back) ... */
    CHECK(from_a >= 1);
    CHECK(ctr(0, SF_CTR_ACK_SKIPPED_INVALID) + ctr(1, SF_CTR_ACK_SKIPPED_INVALID)
          >= 1);
    /* ... and fell quiet */
    CHECK(from_a + from_b <= 6);
    CHECK_EQ(W.n, 0);
    CHECK_EQ(in_state(0, SF_ESTABLISHED), 1);
    CHECK_EQ(in_state(1, SF_ESTABLISHED), 1);
    teardown();
}

/* RFC 7323 3.2: "If a non-<RST> segment is received without a TSopt, a
 * TCP SHOULD silently drop the segment": the forged segment of the ACK
 * storm, without a timestamp, is dropped and answered by nothing. */
static void test_ack_storm_timestamps(void)
{
    setup(NULL, 3);
    int l = listen_b(), sds[1], acc[1];
    connect_n(l, 1, sds, acc);
    run(now + 1 * SF_SEC);
    struct sf_tcp_info b = info_b(acc[0]);
    CHECK(b.ts_ok);
    uint64_t a0 = W.sent[0], b0 = W.sent[1];
    inject(1, &b.remote, &b.local, b.rcv_nxt, b.snd_nxt, SF_ACK | SF_PSH, 100);
    run(now + 10 * SF_SEC);
    CHECK_EQ(W.sent[0] - a0, 0);
    CHECK_EQ(W.sent[1] - b0, 0);
    const struct sf_counters *k = sf_stack_counters(hosts[1].st);
    CHECK_EQ(k->drops[SF_DROP_TS_MISSING], 1);
    CHECK_EQ(info_b(acc[0]).rcv_nxt, b.rcv_nxt);
    teardown();
}

/* ------------------------------------------------------- 8: orphans */

static void two_orphans(struct sf_stack_cfg *cfg, int host)
{
    if (host == 1)
        cfg->max_orphans = 2;
}

/* Past max_orphans, close() resets the connection instead of leaving it
 * to live on without its application; the count goes down as orphans
 * end. */
static void test_max_orphans(void)
{
    setup(two_orphans, 5);
    int l = listen_b(), sds[5], acc[5];
    connect_n(l, 5, sds, acc);
    /* B closes four: FIN_WAIT_1, then FIN_WAIT_2 once A acknowledges,
     * where an orphan waits up to fin_wait_2_timeout for A's FIN */
    for (int i = 0; i < 4; i++)
        CHECK_EQ(sf_close(hosts[1].st, acc[i]), 0);
    run(now + 100 * SF_MSEC);
    CHECK_EQ(in_state(1, SF_FIN_WAIT_2), 2);
    CHECK_EQ(ctr(1, SF_CTR_ORPHAN_OVERFLOW), 2);
    CHECK_EQ(ctr(1, SF_CTR_RST_OUT), 2);
    /* A: two half-closed, two reset */
    int resets = 0, eofs = 0;
    char c;
    for (int i = 0; i < 4; i++) {
        long r = sf_recv(hosts[0].st, sds[i], &c, 1, 0);
        resets += r == SF_ECONNRESET;
        eofs += r == 0;
    }
    CHECK_EQ(resets, 2);
    CHECK_EQ(eofs, 2);
    /* the FIN_WAIT_2 orphans time out (60 s); then there is room again */
    run(now + 61 * SF_SEC);
    CHECK_EQ(in_state(1, SF_FIN_WAIT_2), 0);
    CHECK_EQ(sf_close(hosts[1].st, acc[4]), 0);
    run(now + 100 * SF_MSEC);
    CHECK_EQ(in_state(1, SF_FIN_WAIT_2), 1);
    CHECK_EQ(ctr(1, SF_CTR_ORPHAN_OVERFLOW), 2);
    teardown();
}

/* ---------------------------------------------------- 10: TIME_WAIT */

static void two_tw(struct sf_stack_cfg *cfg, int host)
{
    if (host == 0)
        cfg->max_tw = 2;
}

/* At max_tw records, a connection that would enter TIME_WAIT without a
 * descriptor is deleted at once, and counted. */
static void test_max_tw(void)
{
    setup(two_tw, 11);
    int l = listen_b(), sds[5], acc[5];
    connect_n(l, 5, sds, acc);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(sf_close(hosts[0].st, sds[i]), 0); /* A closes first */
        CHECK_EQ(sf_close(hosts[1].st, acc[i]), 0);
    }
    run(now + 100 * SF_MSEC);
    CHECK_EQ(in_state(0, SF_TIME_WAIT), 2);
    CHECK_EQ(ctr(0, SF_CTR_TW_OVERFLOW), 2);
    /* every close completed on B all the same */
    CHECK_EQ(in_state(1, SF_LAST_ACK), 0);
    CHECK_EQ(in_state(1, SF_CLOSED) + in_state(1, SF_LAST_ACK), 0);
    /* after 2*MSL the records are gone and there is room again */
    run(now + 61 * SF_SEC);
    CHECK_EQ(in_state(0, SF_TIME_WAIT), 0);
    CHECK_EQ(sf_close(hosts[0].st, sds[4]), 0);
    CHECK_EQ(sf_close(hosts[1].st, acc[4]), 0);
    run(now + 100 * SF_MSEC);
    CHECK_EQ(in_state(0, SF_TIME_WAIT), 1);
    CHECK_EQ(ctr(0, SF_CTR_TW_OVERFLOW), 2);
    teardown();
}

static const struct check_case cases[] = {
    CHECK_CASE(test_challenge_per_conn),
    CHECK_CASE(test_challenge_global_random),
    CHECK_CASE(test_ack_storm),
    CHECK_CASE(test_ack_storm_timestamps),
    CHECK_CASE(test_max_orphans),
    CHECK_CASE(test_max_tw),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
