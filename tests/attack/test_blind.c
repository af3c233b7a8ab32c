/* Blind in-window attacks (RFC 5961; issue 14 item 2): an off-path host
 * that knows the 4-tuples of established connections, but not their
 * sequence numbers, sends spoofed RST, SYN and data segments with random
 * sequence and acknowledgment numbers (and a random timestamp, since one
 * without is dropped unread, RFC 7323 3.2), at 100,000 per virtual
 * second, against connections with 64 KB and with 16 MB windows.
 *
 *   RST: reset only at exactly RCV.NXT, else a challenge ACK when in the
 *        window (RFC 5961 3.2): a hit per 2^32 guesses.
 *   SYN: never a reset, a challenge ACK whatever its number (4.2).
 *   data: taken only when the sequence number is in the window AND the
 *        ACK in SND.UNA - MAX.SND.WND .. SND.NXT (5.2), the lower edge no
 *        further back than the bytes ever acknowledged (as Linux: one
 *        cannot acknowledge data older than the connection).
 *
 * Figures: connections reset (aim 0), bytes injected (aim 0: none held
 * out of order, none delivered, and a genuine transfer afterwards arrives
 * intact), challenge ACKs and all other answers (bounded by the
 * per-connection limit, one per 500 ms, RFC 5961 7).
 * Small: 30,000 segments. Full (ATTACK_SIZE=full): 1,000,000. */
#include "net.h"

#define A 0
#define B 1
#define NCONN 4
#define DLEN 64

static uint32_t g_buf; /* the windows of the current case */

static void blind_cfg(struct sf_stack_cfg *cfg, int host)
{
    (void)host;
    cfg->rcvbuf = g_buf;
    cfg->sndbuf = g_buf;
    cfg->rcvbuf_max = 0; /* no autotuning: the window is the case's */
    cfg->sndbuf_max = 0;
}

struct blind {
    struct net n;
    int l, sd[NCONN], acc[NCONN];
    struct sf_tcp_info bi[NCONN]; /* B's view: the tuples */
};

static void blind_setup(struct blind *b, uint32_t buf, uint8_t seed)
{
    g_buf = buf;
    net_init(&b->n, 2, 16384, blind_cfg, seed);
    b->l = net_listen(&b->n, B, 64);
    for (int i = 0; i < NCONN; i++)
        net_connect(&b->n, A, B, b->l, &b->sd[i], &b->acc[i]);
    net_run(&b->n, b->n.now + 1 * SF_SEC);
    for (int i = 0; i < NCONN; i++) {
        CHECK_EQ(sf_tcp_info(b->n.st[B], b->acc[i], &b->bi[i]), 0);
        CHECK_EQ(b->bi[i].state, SF_ESTABLISHED);
    }
}

/* One spoofed segment at B, from A's side of connection i. */
static void blind_segment(struct blind *b, uint64_t *rs, int kind)
{
    static const uint8_t junk[DLEN] = "INJECTED";
    uint64_t r = rnd_next(rs), r2 = rnd_next(rs);
    const struct sf_tcp_info *ti = &b->bi[r % NCONN];
    struct sf_tcp s = {.sport = ti->remote.port, .dport = ti->local.port,
                       .seq = (uint32_t)(r >> 32), .ack = (uint32_t)r2,
                       .win = 65535};
    switch (kind) {
    case 0:
        s.flags = (r2 >> 32) & 1 ? SF_RST : SF_RST | SF_ACK;
        break;
    case 1:
        s.flags = SF_SYN;
        break;
    default:
        s.flags = SF_ACK | SF_PSH;
        s.payload = junk;
        s.len = DLEN;
        break;
    }
    s.opt.has_ts = true;
    s.opt.ts_val = (uint32_t)(r2 >> 32);
    s.opt.ts_ecr = (uint32_t)(r2 >> 16);
    net_inject(&b->n, B, ti->remote.ip, ti->local.ip, &s);
}

/* A then sends `len` genuine bytes on each connection; B reads them:
 * the bytes that differ from what A sent, or that were never sent. */
static uint64_t genuine_transfer(struct blind *b, uint32_t len)
{
    static uint8_t out[65536], in[65536];
    uint64_t bad = 0;
    for (int i = 0; i < NCONN; i++) {
        uint32_t done = 0, got = 0;
        for (int round = 0; round < 1000 && got < len; round++) {
            while (done < len) {
                uint32_t k = len - done > sizeof out ? sizeof out : len - done;
                for (uint32_t j = 0; j < k; j++)
                    out[j] = (uint8_t)((done + j) * 7 + i);
                long w = sf_send(b->n.st[A], b->sd[i], out, k, 0);
                if (w <= 0)
                    break;
                done += (uint32_t)w;
            }
            net_run(&b->n, b->n.now + 5 * SF_MSEC);
            long r;
            while ((r = sf_recv(b->n.st[B], b->acc[i], in, sizeof in, 0)) > 0) {
                for (long j = 0; j < r; j++)
                    bad += in[j] != (uint8_t)((got + (uint32_t)j) * 7 + i);
                got += (uint32_t)r;
            }
        }
        CHECK_EQ(got, len);
        bad += got > len ? got - len : 0;
    }
    return bad;
}

static void blind_case(uint32_t buf, const char *name, uint8_t seed)
{
    long total = attack_full() ? 1000000 : 30000;
    static struct blind b;
    blind_setup(&b, buf, seed);
    const struct net *n = &b.n;
    uint64_t rs = 0xb11d + seed;
    uint64_t resets0 = net_ctr(n, B, SF_CTR_RESETS) + net_ctr(n, A, SF_CTR_RESETS);
    uint64_t chack0 = net_ctr(n, B, SF_CTR_CHALLENGE_ACKS);
    uint64_t sent0 = n->sent[B];
    uint64_t held0 = net_ctr(n, B, SF_CTR_REASS_QUEUED);
    uint64_t kinds[3] = {0}, answered[3] = {0};
    sf_time_t t0 = b.n.now;
    for (long k = 0; k < total;) {
        for (int j = 0; j < 100 && k < total; j++, k++) {
            int kind = (int)(k % 3);
            uint64_t before = b.n.sent[B];
            blind_segment(&b, &rs, kind);
            kinds[kind]++;
            answered[kind] += b.n.sent[B] - before;
        }
        net_run(&b.n, b.n.now + 1 * SF_MSEC);
    }
    double secs = (double)(b.n.now - t0) / SF_SEC;
    net_run(&b.n, b.n.now + 1 * SF_SEC);
    /* what the attack left: held out of order, or readable in order */
    uint64_t held = net_ctr(n, B, SF_CTR_REASS_QUEUED) - held0, readable = 0;
    int alive = 0;
    for (int i = 0; i < NCONN; i++) {
        struct sf_tcp_info ti, ta;
        alive += sf_tcp_info(b.n.st[B], b.acc[i], &ti) == 0 &&
                 ti.state == SF_ESTABLISHED &&
                 sf_tcp_info(b.n.st[A], b.sd[i], &ta) == 0 &&
                 ta.state == SF_ESTABLISHED;
        readable += ti.rcvq;
        CHECK_EQ(ti.rcv_nxt, b.bi[i].rcv_nxt);
    }
    uint64_t resets = net_ctr(n, B, SF_CTR_RESETS) + net_ctr(n, A, SF_CTR_RESETS)
                      - resets0;
    uint64_t chack = net_ctr(n, B, SF_CTR_CHALLENGE_ACKS) - chack0;
    uint64_t answers = n->sent[B] - sent0;
    uint64_t corrupt = genuine_transfer(&b, 100000);
    uint64_t injected = held * DLEN + readable + corrupt;
    /* RFC 5961 7: one answer per 500 ms per connection */
    uint64_t bound = NCONN * (uint64_t)(secs / 0.5 + 2);
    printf("FIGURE blind_%s: %ld spoofed segments (%llu RST, %llu SYN, "
           "%llu data) over %.1f s at %u connections\n", name, total,
           (unsigned long long)kinds[0], (unsigned long long)kinds[1],
           (unsigned long long)kinds[2], secs, NCONN);
    printf("FIGURE blind_%s connections reset: %llu (aim 0), alive %d of %d\n",
           name, (unsigned long long)resets, alive, NCONN);
    printf("FIGURE blind_%s bytes injected: %llu (aim 0: %llu segments held "
           "out of order, %llu bytes readable, %llu bytes of a genuine "
           "transfer corrupted)\n", name, (unsigned long long)injected,
           (unsigned long long)held, (unsigned long long)readable,
           (unsigned long long)corrupt);
    uint64_t skipped = net_ctr(n, B, SF_CTR_ACK_SKIPPED_CHALLENGE) +
                       net_ctr(n, B, SF_CTR_ACK_SKIPPED_INVALID) +
                       net_drops(n, B, SF_DROP_CHALLENGE_ACK_LIMIT);
    printf("FIGURE blind_%s challenge ACKs: %llu; answers to RST %llu, to "
           "SYN %llu (bound together %llu: one per 500 ms per connection, "
           "RFC 5961 7), %llu held back; to data %llu (each may be "
           "answered, RFC 9293 3.10.7.4, as Linux); all segments sent %llu\n",
           name, (unsigned long long)chack,
           (unsigned long long)answered[0], (unsigned long long)answered[1],
           (unsigned long long)bound, (unsigned long long)skipped,
           (unsigned long long)answered[2], (unsigned long long)answers);
    CHECK_EQ(resets, 0);
    CHECK_EQ(alive, NCONN);
    CHECK_EQ(injected, 0);
    /* challenge ACKs and ACKs to bare segments share one slot per
     * connection; answers to data come on top (at most one each) */
    CHECK(chack <= bound);
    CHECK(answered[0] + answered[1] <= bound);
    CHECK(answered[2] <= kinds[2]);
    CHECK(answers <= bound + kinds[2]);
    CHECK(skipped >= kinds[1] - bound); /* every SYN but a few held back */
    net_free(&b.n);
}

static void test_blind_64k(void)
{
    blind_case(65535, "64k", 41);
}

static void test_blind_16m(void)
{
    blind_case(16u << 20, "16m", 43);
}

static void no_ts(struct sf_stack_cfg *cfg, int host)
{
    (void)host;
    cfg->timestamps = false;
}

/* A data segment at B's RCV.NXT from A's side of connection 0, with
 * acknowledgment number ack: the bytes B then has to read. */
static long inject_at_rcv_nxt(struct net *n, int acc, uint32_t ack)
{
    struct sf_tcp_info ti;
    CHECK_EQ(sf_tcp_info(n->st[B], acc, &ti), 0);
    struct sf_tcp s = {.sport = ti.remote.port, .dport = ti.local.port,
                       .seq = ti.rcv_nxt, .ack = ack,
                       .flags = SF_ACK | SF_PSH, .win = 65535,
                       .payload = (const uint8_t *)"INJECTED", .len = 8};
    net_inject(n, B, ti.remote.ip, ti.local.ip, &s);
    net_run(n, n->now + 10 * SF_MSEC);
    char buf[64];
    long r = sf_recv(n->st[B], acc, buf, sizeof buf, 0);
    return r == SF_EAGAIN ? 0 : r;
}

/* RFC 5961 5.2, the lower edge of the acceptable ACKs: on a connection
 * that has sent only its SYN, an ACK 1000 bytes behind SND.UNA (within
 * MAX.SND.WND, so acceptable by the letter of 5.2) acknowledges nothing
 * ever sent: the segment is dropped with a challenge ACK, its data not
 * taken. (Before the fix the 8 bytes were delivered.) Once B has sent
 * more than a window, the same distance back is an old duplicate ACK and
 * the data is taken, as 5.2 says. The right ACK is taken in both. */
static void test_blind_ack_older_than_conn(void)
{
    static struct net n;
    net_init(&n, 2, 16384, no_ts, 45);
    int l = net_listen(&n, B, 8), sd[3], acc[3];
    for (int i = 0; i < 3; i++)
        net_connect(&n, A, B, l, &sd[i], &acc[i]);
    net_run(&n, n.now + 100 * SF_MSEC);
    struct sf_tcp_info ti;
    uint64_t ch0 = net_drops(&n, B, SF_DROP_ACK_UNACCEPTABLE);
    CHECK_EQ(sf_tcp_info(n.st[B], acc[0], &ti), 0);
    CHECK_EQ(inject_at_rcv_nxt(&n, acc[0], ti.snd_una - 1000), 0);
    CHECK_EQ(net_drops(&n, B, SF_DROP_ACK_UNACCEPTABLE) - ch0, 1);
    CHECK_EQ(sf_tcp_info(n.st[B], acc[1], &ti), 0);
    CHECK_EQ(inject_at_rcv_nxt(&n, acc[1], ti.snd_una), 8); /* control */
    /* B sends 200 KB on the third, which A reads */
    static uint8_t buf[200000];
    long sent = 0, got = 0;
    for (int i = 0; i < 1000 && got < (long)sizeof buf; i++) {
        long w = sf_send(n.st[B], acc[2], buf + sent,
                         sizeof buf - (size_t)sent, 0);
        sent += w > 0 ? w : 0;
        net_run(&n, n.now + 5 * SF_MSEC);
        long r;
        while ((r = sf_recv(n.st[A], sd[2], buf, sizeof buf, 0)) > 0)
            got += r;
    }
    CHECK_EQ(got, (long)sizeof buf);
    CHECK_EQ(sf_tcp_info(n.st[B], acc[2], &ti), 0);
    CHECK_EQ(inject_at_rcv_nxt(&n, acc[2], ti.snd_una - 1000), 8);
    CHECK_EQ(net_drops(&n, B, SF_DROP_ACK_UNACCEPTABLE) - ch0, 1);
    net_free(&n);
}

/* RFC 5961 4.2: a SYN on an established connection gets a challenge ACK
 * "irrespective of the sequence number": one far outside the window too
 * (before, it was answered as an unacceptable segment, RFC 9293
 * 3.10.7.4 first step: the same ACK, but neither counted as a challenge
 * ACK nor held to the stack-wide budget). */
static void test_blind_syn_outside_window(void)
{
    static struct net n;
    net_init(&n, 2, 16384, no_ts, 47); /* (PAWS would answer first) */
    int l = net_listen(&n, B, 8), sd, acc;
    net_connect(&n, A, B, l, &sd, &acc);
    net_run(&n, n.now + 100 * SF_MSEC);
    struct sf_tcp_info ti;
    CHECK_EQ(sf_tcp_info(n.st[B], acc, &ti), 0);
    uint64_t ch0 = net_ctr(&n, B, SF_CTR_CHALLENGE_ACKS);
    uint64_t sent0 = n.sent[B];
    struct sf_tcp s = {.sport = ti.remote.port, .dport = ti.local.port,
                       .seq = ti.rcv_nxt + 0x40000000u, .flags = SF_SYN,
                       .win = 65535};
    net_inject(&n, B, ti.remote.ip, ti.local.ip, &s);
    CHECK_EQ(n.sent[B] - sent0, 1);
    CHECK_EQ(net_ctr(&n, B, SF_CTR_CHALLENGE_ACKS) - ch0, 1);
    CHECK_EQ(net_drops(&n, B, SF_DROP_SYN_CHALLENGED), 1);
    CHECK_EQ(net_drops(&n, B, SF_DROP_OUT_OF_WINDOW), 0);
    net_run(&n, n.now + 100 * SF_MSEC);
    CHECK_EQ(net_in_state(&n, B, SF_ESTABLISHED), 1);
    net_free(&n);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_blind_syn_outside_window),
    CHECK_CASE(test_blind_ack_older_than_conn),
    CHECK_CASE(test_blind_64k),
    CHECK_CASE(test_blind_16m),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
