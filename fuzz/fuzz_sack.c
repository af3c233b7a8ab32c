/* libFuzzer harness for the SACK scoreboard (src/tcp/sack.c). Each run
 * builds a stack at 198.18.0.1 whose connection to a scripted peer at
 * 198.18.0.2 has SACK agreed and data in flight, then feeds the fuzz input
 * as ACKs from the peer carrying random SACK blocks (edges relative to
 * SND.UNA, some far outside), cumulative ACKs, time steps (the
 * retransmission and probe timers) and more writes. After every record:
 *   - the scoreboard is sorted, its ranges non-empty, disjoint and not
 *     touching, at most TCP_SB_MIN + one per SMSS of the send buffer
 *     (never above TCP_SB_HARD), all within SND.UNA..SND.MAX
 *     (it never marks data that was not sent);
 *   - the send buffer still holds everything not cumulatively acknowledged
 *     (RFC 2018 8: SACKed data is not freed);
 *   - one ACK makes the stack send at most a window's worth of segments
 *     (no retransmission storm);
 *   - RFC 8985 RACK (on for inputs of even length): its send-time ranges
 *     are at most TCP_RACK_MIN + two per SMSS of the send buffer (never
 *     above TCP_RACK_HARD), non-empty, contiguous, from SND.UNA or
 *     before to SND.MAX (every byte in flight has a send time); the
 *     reordering timer only holds a running retransmission-timer slot.
 * Then the stack is freed (ASan reports any leak). */
#include "fuzz_common.h"
#include "stack/stack_int.h"
#include "tcp/seq.h"
#include "tcp/tcp_int.h"

#define PPORT 7000
#define MSS 536

struct fz {
    struct sf_stack *st;
    sf_time_t now;
    int sd;
    uint16_t lport;
    uint32_t iss, peer_nxt;
    struct fz_out out; /* the datagrams the stack sent */
};

static void peer_send(struct fz *f, uint8_t flags, uint32_t seq, uint32_t ack,
                      const struct sf_tcp_opts *opt)
{
    struct sf_tcp seg = {.sport = PPORT, .dport = f->lport, .seq = seq,
                         .ack = ack, .flags = flags, .win = 65535};
    if (opt)
        seg.opt = *opt;
    fz_inject(f->st, f->now, &seg);
}

static struct sf_conn *conn(struct fz *f)
{
    return f->st->sds[f->sd];
}

/* An active open with SACK agreed (MSS 536: many segments in a window). */
static int setup(struct fz *f)
{
    f->sd = sf_socket(f->st);
    struct sf_addr r = {.ip = FZ_PEER, .port = PPORT};
    sf_connect(f->st, f->sd, &r);
    struct sf_addr l;
    if (sf_getsockname(f->st, f->sd, &l) != 0)
        return -1;
    f->lport = l.port;
    struct sf_tcp syn;
    if (fz_out_seg(&f->out, 0, &syn) || !syn.opt.sack_ok)
        return -1;
    f->iss = syn.seq;
    f->peer_nxt = 0xfffffff0u; /* the peer's numbers wrap soon */
    struct sf_tcp_opts o = {.has_mss = true, .mss = MSS, .sack_ok = true};
    peer_send(f, SF_SYN | SF_ACK, f->peer_nxt, f->iss + 1, &o);
    f->peer_nxt++;
    static uint8_t data[40000];
    sf_send(f->st, f->sd, data, sizeof data, 0);
    return conn(f) && conn(f)->sack_ok ? 0 : -1;
}

static void check(struct fz *f, unsigned sent)
{
    struct sf_conn *c = conn(f);
    if (!c || c->dead)
        return;
    /* the bounds of docs/stream.md: what is in flight is in the send
     * buffer (and a FIN), so the send queue bounds both lists */
    uint32_t segs = (ring_cap(&c->sndbuf) + 1) / c->snd_mss + 1;
    static uint32_t r[TCP_SB_HARD + 1][2];
    unsigned n = tcp_sack_ranges(c, r, TCP_SB_HARD + 1);
    fz_need(n <= TCP_SB_HARD && n <= TCP_SB_MIN + segs,
            "at most TCP_SB_MIN + one range per SMSS of the send queue");
    for (unsigned i = 0; i < n; i++) {
        fz_need(seq_lt(r[i][0], r[i][1]), "a range is not empty");
        fz_need(seq_geq(r[i][0], c->snd_una), "a range starts at or past SND.UNA");
        fz_need(seq_leq(r[i][1], c->snd_max), "a range ends at or before SND.MAX");
        if (i)
            fz_need(seq_lt(r[i - 1][1], r[i][0]), "ranges sorted, apart");
    }
    /* RFC 2018 8: nothing past SND.UNA was freed */
    fz_need(seq_leq(c->snd_buf_seq, c->snd_una), "send buffer starts <= SND.UNA");
    uint32_t end = c->snd_buf_seq + ring_len(&c->sndbuf);
    uint32_t data_max = c->fin_queued && seq_gt(c->snd_max, c->fin_seq)
                            ? c->fin_seq : c->snd_max;
    fz_need(seq_geq(end, data_max), "send buffer holds all data sent");
    /* one event: at most a window of segments (65535 / 536) and an ACK:
     * no retransmission storm */
    fz_need(sent <= 65535 / MSS + 4, "at most a window of segments per event");
    static uint32_t rr[TCP_RACK_HARD + 1][2];
    unsigned nr = tcp_rack_ranges(c, rr, TCP_RACK_HARD + 1);
    fz_need(nr <= TCP_RACK_HARD && nr <= TCP_RACK_MIN + 2 * segs,
            "at most TCP_RACK_MIN + two RACK ranges per SMSS of the send queue");
    fz_need(!nr || c->rack_want, "no RACK state with RACK off");
    for (unsigned i = 0; i < nr; i++) {
        fz_need(seq_lt(rr[i][0], rr[i][1]), "a RACK range is not empty");
        fz_need(seq_leq(rr[i][1], c->snd_max), "a RACK range ends <= SND.MAX");
        if (i)
            fz_need(rr[i - 1][1] == rr[i][0], "RACK ranges contiguous");
    }
    fz_need(!nr || rr[nr - 1][1] == c->snd_max, "RACK ranges reach SND.MAX");
    fz_need(!nr || seq_leq(rr[0][0], c->snd_una),
         "every byte in flight has a send time");
    fz_need(!c->rack_tmr_on || tcp_timer_pending(c, TT_REXMT),
         "the RACK timer is in a running slot");
}

/* One record: 1 byte kind, 2 bytes ACK advance, 1 byte block count, then
 * up to 4 blocks of 2 x 4 bytes (offsets from SND.UNA, high bit: from the
 * ISS instead, so that blocks land anywhere). */
static size_t feed(struct fz *f, const uint8_t *d, size_t len)
{
    if (len < 4)
        return len;
    struct sf_conn *c = conn(f);
    if (!c || c->dead || c->state == SF_CLOSED)
        return len;
    uint8_t kind = d[0];
    uint32_t adv = (uint32_t)d[1] << 8 | d[2];
    unsigned nb = d[3] % 5;
    size_t used = 4;
    struct sf_tcp_opts o = {0};
    for (unsigned i = 0; i < nb && used + 8 <= len; i++) {
        uint32_t a = (uint32_t)d[used] << 24 | (uint32_t)d[used + 1] << 16 |
                     (uint32_t)d[used + 2] << 8 | d[used + 3];
        uint32_t b = (uint32_t)d[used + 4] << 24 |
                     (uint32_t)d[used + 5] << 16 |
                     (uint32_t)d[used + 6] << 8 | d[used + 7];
        used += 8;
        uint32_t base = (a & 0x80000000u) ? f->iss : c->snd_una;
        o.sack[i][0] = base + (a & 0x7fffffffu) % 80000u;
        o.sack[i][1] = (b & 0x80000000u) ? o.sack[i][0] + (b & 0xffff)
                                         : base + (b & 0x7fffffffu) % 80000u;
        o.nsack = (uint8_t)(i + 1);
    }
    unsigned before = f->out.n;
    switch (kind % 8) {
    case 0: /* time passes: timers fire */
        f->now += (sf_time_t)(1 + d[1]) * 10 * SF_MSEC;
        sf_stack_advance(f->st, f->now);
        break;
    case 1: { /* the application writes more */
        static uint8_t more[8000];
        sf_send(f->st, f->sd, more, adv % sizeof more, 0);
        break;
    }
    default: { /* an ACK from the peer, with the blocks */
        uint32_t ack = c->snd_una;
        if (kind & 8) {
            uint32_t room = c->snd_max - c->snd_una;
            ack += room ? adv % (room + 1) : 0;
        }
        f->now += SF_MSEC;
        peer_send(f, SF_ACK, f->peer_nxt, ack, &o);
        break;
    }
    }
    check(f, f->out.n - before);
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz *f = calloc(1, sizeof *f);
    struct sf_stack_cfg cfg;
    fz_cfg(&cfg, &f->out, 0x5a);
    cfg.sack = true;
    cfg.rack = (size & 1) == 0;
    f->now = FZ_START;
    if (sf_stack_create(&cfg, f->now, &f->st) != 0) {
        free(f);
        return 0;
    }
    if (setup(f) == 0) {
        size_t off = 0;
        while (off < size)
            off += feed(f, data + off, size - off);
    }
    sf_stack_free(f->st);
    free(f);
    return 0;
}
