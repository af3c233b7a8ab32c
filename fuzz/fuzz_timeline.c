/* libFuzzer harness: one connection's timeline. The input's first four
 * bytes choose the features (window scaling, timestamps, SACK, RACK, ECN,
 * CUBIC or NewReno, pacing, buffer sizes, a memory limit, IPv4 or IPv6,
 * active or passive open, the peer's SYN options); a scripted peer then
 * brings one connection to ESTABLISHED and the rest of the input is a
 * sequence of 8-byte steps: inbound segments numbered from the
 * connection's real variables (any flags, options, CE marks, data),
 * socket calls (send, recv, peek, shutdown, close, abort, options) and
 * clock steps (milliseconds to hours). Every byte either side sends is a
 * pattern of its stream offset, so after every step the harness checks:
 *   - every byte the application reads is the peer's byte at that offset,
 *     and EOF comes only where the peer sent a FIN (RFC 9293 3.10.7.4);
 *   - every byte the stack sends is the application's byte at that
 *     offset, never past what it wrote; its FIN only after shutdown or
 *     close, at the end of what was written (RFC 9293 3.10.4);
 *   - it never acknowledges what the peer did not send (RFC 9293 3.4);
 *   - SND.UNA <= SND.NXT, the queues within the buffers, a timer running
 *     while anything is unacknowledged, no timer overdue after the clock
 *     moved, every state change in the transition table;
 *   - RFC 3168 6.1: no CE from the stack, no ECT on SYNs or pure ACKs;
 *   - with a memory limit, the stack's memory never above it.
 * Then the stack is freed (ASan reports any leak).
 * Inputs are step sequences, long from the start:
 * fuzz-flags: -len_control=0
 */
#include "fuzz_common.h"
#include "tcp/seq.h"

#define LPORT 80
#define PPORT 7000
#define PEER_ISN 0xffffff00u /* the peer's numbers wrap after 255 bytes */
#define NFIN 32

struct fz {
    struct sf_stack *st;
    struct sf_stack_cfg cfg;
    sf_time_t now;
    bool v6;
    int sd, lsd;
    uint16_t lport;
    /* the stack's side, learned from its first SYN or SYN-ACK */
    bool have_iss;
    uint32_t iss;
    uint32_t ts_recent; /* its last TSval, for the peer's TSecr */
    /* the application */
    uint64_t app_sent, app_got;
    uint64_t app_pending; /* inside sf_send: bytes being handed over */
    bool app_shut, app_eof, app_shut_rd;
    bool app_err; /* a call returned the connection's error (then EOF) */
    /* the peer: highest offset it sent (data and FIN), its FIN offsets */
    int64_t peer_hi;
    int64_t fin_at[NFIN];
    unsigned nfin;
    bool fin_lost; /* more FINs than fin_at holds: EOF not checked */
    uint32_t peer_ts;
    bool debug; /* FZ_DEBUG set: every segment and call on stderr */
    struct fz_out out;
};

/* Byte off of the stream sent by side k (0: the stack, 1: the peer). */
static uint8_t pat(int k, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(k + 1) << 56;
    x ^= x >> 29;
    return (uint8_t)(x * 0xBF58476D1CE4E5B9ull >> 56);
}

static void check_trace(void *ctx, const struct sf_trace_event *ev)
{
    (void)ctx;
    if (ev->kind != SF_TRACE_STATE)
        return;
    if (sf_transition_index(ev->from, ev->to, ev->cause) < 0) {
        fprintf(stderr, "illegal transition %s -> %s (%s)\n",
                sf_state_name(ev->from), sf_state_name(ev->to),
                sf_cause_name(ev->cause));
        fz_need(0, "transition is in the table");
    }
}

/* Every datagram the stack sends to the peer's port is checked here. */
static void on_output(void *ctx, const uint8_t *d, size_t len)
{
    struct fz *f = ctx;
    fz_record(&f->out, d, len);
    struct sf_tcp seg;
    unsigned ecn;
    if (d[0] >> 4 == 6) {
        struct sf_ipv6 ip;
        if (sf_ipv6_parse(d, len, &ip) != SF_DROP_NONE ||
            sf_tcp6_parse(&ip, &seg) != SF_DROP_NONE)
            return;
        ecn = ip.tclass & 3;
    } else {
        struct sf_ipv4 ip;
        if (sf_ipv4_parse(d, len, &ip) != SF_DROP_NONE ||
            sf_tcp_parse(&ip, &seg) != SF_DROP_NONE)
            return;
        ecn = ip.tos & 3;
    }
    if (seg.dport != PPORT)
        return;
    /* RFC 3168 5, 6.1.1.1, 6.1.4: never CE; ECT only on data */
    fz_need(ecn != 3, "the stack sent CE");
    fz_need(!ecn || (!(seg.flags & SF_SYN) && seg.len > 0),
            "ECT on a SYN or a segment without data");
    if (seg.flags & SF_SYN) {
        if (!f->have_iss) {
            f->have_iss = true;
            f->iss = seg.seq;
        }
        fz_need(seg.seq == f->iss, "a second SYN with another ISN");
        fz_need(seg.len == 0, "data on our SYN");
    }
    if (seg.opt.has_ts)
        f->ts_recent = seg.opt.ts_val;
    if (!f->have_iss || (seg.flags & SF_RST))
        return;
    /* RFC 9293 3.10.4: data is the application's, in order, never past
     * what it wrote; the FIN comes after the last byte written. */
    uint32_t off = seg.seq + ((seg.flags & SF_SYN) ? 1u : 0u) - (f->iss + 1);
    if (f->debug)
        fprintf(stderr, "out: flags %02x seq +%d ack %u len %zu win %u (sent %llu)\n", seg.flags, (int)off, seg.ack - PEER_ISN - 1, seg.len, seg.win, (unsigned long long)f->app_sent);
    for (size_t i = 0; i < seg.len; i++)
        fz_need(seg.payload[i] == pat(0, (uint32_t)(off + i)), "sent a byte that differs");
    fz_need((int64_t)(int32_t)off + (int64_t)seg.len <=
            (int64_t)(f->app_sent + f->app_pending + (seg.len ? 0 : f->app_shut)),
            "sent past what the application wrote (and its FIN)");
    if (seg.flags & SF_FIN) {
        fz_need(f->app_shut, "a FIN before shutdown or close");
        fz_need((uint64_t)(int32_t)off + seg.len == f->app_sent,
                "the FIN is not after the last byte written");
    }
    /* RFC 9293 3.4: never acknowledge what was not sent */
    if (seg.flags & SF_ACK)
        fz_need((int64_t)(int32_t)(seg.ack - (PEER_ISN + 1)) <= f->peer_hi,
                "acknowledged what the peer never sent");
}

static struct sf_addr peer_addr(const struct fz *f)
{
    return f->v6 ? sf_addr6(FZ_PEER6, PPORT)
                 : (struct sf_addr){.ip = FZ_PEER, .port = PPORT};
}

static struct sf_addr host_addr(const struct fz *f)
{
    return f->v6 ? sf_addr6(FZ_HOST6, f->lport)
                 : (struct sf_addr){.ip = FZ_HOST, .port = f->lport};
}

static int info(struct fz *f, struct sf_tcp_info *in)
{
    struct sf_addr l = host_addr(f), r = peer_addr(f);
    return sf_tcp_info_by_addr(f->st, &l, &r, in);
}

/* A segment from the peer; data is the peer's pattern at its offset. */
static void peer_send(struct fz *f, uint8_t flags, uint32_t seq, uint32_t ack,
                      uint16_t win, const struct sf_tcp_opts *o, size_t len,
                      uint8_t tos)
{
    uint8_t data[1500];
    if (len > sizeof data)
        len = sizeof data;
    uint32_t off = seq + ((flags & SF_SYN) ? 1u : 0u) - (PEER_ISN + 1);
    for (size_t i = 0; i < len; i++)
        data[i] = pat(1, (uint32_t)(off + i));
    int64_t end = (int64_t)(int32_t)off + (int64_t)len;
    if (flags & SF_FIN) {
        if (f->nfin < NFIN)
            f->fin_at[f->nfin++] = end;
        else
            f->fin_lost = true;
        end++;
    }
    if (!(flags & SF_RST) && end > f->peer_hi)
        f->peer_hi = end;
    if (f->debug)
        fprintf(stderr, "in: flags %02x seq +%d ack +%d len %zu win %u tos %u\n",
                flags, (int)off, (int)(ack - f->iss - 1), len, win, tos & 3);
    struct sf_tcp seg = {.sport = PPORT, .dport = f->lport, .seq = seq,
                         .ack = ack, .flags = flags, .win = win,
                         .payload = data, .len = len};
    if (o)
        seg.opt = *o;
    uint8_t buf[1600];
    size_t n;
    if (f->v6) {
        struct sf_ipv6 ip = {.hlim = 64, .tclass = tos & 3};
        memcpy(ip.src, FZ_PEER6, 16);
        memcpy(ip.dst, FZ_HOST6, 16);
        n = sf_emit6(buf, sizeof buf, &ip, &seg);
    } else {
        struct sf_ipv4 ip = {.src = FZ_PEER, .dst = FZ_HOST, .tos = tos & 3};
        n = sf_emit(buf, sizeof buf, &ip, &seg);
    }
    if (n)
        sf_stack_input(f->st, f->now, buf, n);
}

static void check_all(struct fz *f)
{
    struct sf_tcp_info in;
    if (info(f, &in) == 0 && in.state != SF_CLOSED && in.state != SF_LISTEN &&
        in.state != SF_TIME_WAIT) {
        fz_need(seq_leq(in.snd_una, in.snd_nxt), "SND.UNA <= SND.NXT");
        fz_need(in.sndq <= in.sndbuf, "send queue within the buffer");
        if (f->debug)
            fprintf(stderr, "info: %s rcvq %u rcvbuf %u wscale %u sndq %u sndbuf %u\n", sf_state_name(in.state), in.rcvq, in.rcvbuf, in.rcv_wscale, in.sndq, in.sndbuf);
        /* (not rcvq <= rcvbuf + 2^shift - 1: the scaled window's
         * round-up moves the edge right with every small segment, an
         * open finding in docs/testing.md; the memory limit bounds it) */
        bool unacked = in.snd_una != in.snd_nxt || in.sndq > 0;
        fz_need(!unacked || in.timer != SF_TIMER_NONE,
                "unacknowledged data with no timer");
        fz_need(in.timer == SF_TIMER_NONE ||
                in.timer_expires + 2 * SF_MSEC + f->cfg.timer_granularity >= f->now,
                "a timer overdue");
        fz_need((int64_t)(int32_t)(in.rcv_nxt - (PEER_ISN + 1)) <= f->peer_hi,
                "RCV.NXT past what the peer sent");
        if (f->have_iss)
            fz_need((int64_t)(int32_t)(in.snd_nxt - (f->iss + 1)) <=
                    (int64_t)f->app_sent + 1, "SND.NXT past what was written");
    }
    fz_need((int64_t)f->app_got <= f->peer_hi, "read more than the peer sent");
    if (f->cfg.mem_max) {
        struct sf_mem_info m;
        sf_stack_mem(f->st, &m);
        fz_need(m.used <= m.limit, "memory above the limit");
    }
}

static void peer_opts(struct fz *f, uint8_t sel, uint8_t x, uint32_t base,
                      struct sf_tcp_opts *o)
{
    memset(o, 0, sizeof *o);
    if (sel & 1) { /* RFC 7323 3: TSval from the peer's clock, sometimes jumped */
        o->has_ts = true;
        o->ts_val = f->peer_ts + ((sel & 2) ? (uint32_t)x << 24 : 0);
        o->ts_ecr = (sel & 4) ? f->ts_recent ^ x : f->ts_recent;
    }
    o->nsack = (sel >> 3) % 5;
    for (int i = 0; i < o->nsack; i++) {
        o->sack[i][0] = base + (uint32_t)(int8_t)(x + 37 * i) * 64u;
        o->sack[i][1] = o->sack[i][0] + (uint32_t)((x >> i) & 31) * 100u + 1;
    }
}

static bool setup(struct fz *f, const uint8_t c[4])
{
    static const uint32_t bufs[] = {2048, 8192, 65535, 262144};
    static const uint16_t mss[] = {536, 1460, 64, 9000};
    struct sf_stack_cfg *cfg = &f->cfg;
    fz_cfg(cfg, &f->out, c[3]);
    cfg->output = on_output;
    cfg->output_ctx = f;
    cfg->trace = check_trace;
    cfg->wscale = c[0] & 1;
    cfg->timestamps = c[0] & 2;
    cfg->sack = c[0] & 4;
    cfg->rack = c[0] & 8;
    cfg->ecn = (c[0] >> 4 & 3) % 3;
    cfg->cc = (c[0] & 0x40) ? SF_CC_RENO : SF_CC_CUBIC;
    cfg->pacing = c[0] & 0x80;
    cfg->rcvbuf = bufs[c[1] & 3];
    cfg->sndbuf = bufs[c[1] >> 2 & 3];
    if (c[1] & 0x20) {
        cfg->mem_max = (uint64_t)cfg->rcvbuf + cfg->sndbuf + SF_MEM_MIN +
                       ((c[1] & 0x10) ? 65536 : 0);
    }
    cfg->delack = (c[3] & 8) ? 0 : 40 * SF_MSEC;
    f->v6 = c[1] & 0x40;
    f->now = FZ_START;
    f->lsd = f->sd = -1;
    if (sf_stack_create(cfg, f->now, &f->st) != 0)
        return false;
    struct sf_addr pa = peer_addr(f);
    struct sf_tcp_opts o = {.has_mss = c[2] & 1, .mss = mss[c[2] >> 1 & 3],
                            .has_wscale = c[2] & 8, .wscale = c[2] >> 4,
                            .sack_ok = c[3] & 1, .has_ts = c[3] & 2,
                            .ts_val = f->peer_ts};
    uint8_t ecn_syn = (c[3] & 4) ? SF_ECE | SF_CWR : 0;
    if (c[1] & 0x80) { /* active open */
        f->sd = sf_socket(f->st);
        int nd = c[3] >> 4 & 1;
        sf_setsockopt(f->st, f->sd, SF_IPPROTO_TCP, SF_TCP_NODELAY, &nd, sizeof nd);
        if (sf_connect(f->st, f->sd, &pa) != SF_EINPROGRESS || !f->have_iss)
            return false;
        struct sf_addr l;
        sf_getsockname(f->st, f->sd, &l);
        f->lport = l.port;
        o.ts_ecr = f->ts_recent;
        peer_send(f, SF_SYN | SF_ACK | (ecn_syn & SF_ECE), PEER_ISN, f->iss + 1,
                  65535, &o, 0, 0);
    } else { /* passive open; the listener closed after accept */
        f->lport = LPORT;
        f->lsd = sf_socket(f->st);
        struct sf_addr any = {.port = LPORT,
                              .family = f->v6 ? SF_AF_INET6 : SF_AF_INET};
        if (sf_bind(f->st, f->lsd, &any) || sf_listen(f->st, f->lsd, 4))
            return false;
        peer_send(f, SF_SYN | ecn_syn, PEER_ISN, 0, 65535, &o, 0, 0);
        if (!f->have_iss)
            return false;
        struct sf_tcp_opts a = {.has_ts = o.has_ts, .ts_val = f->peer_ts,
                                .ts_ecr = f->ts_recent};
        peer_send(f, SF_ACK, PEER_ISN + 1, f->iss + 1, 65535, &a, 0, 0);
        f->sd = sf_accept(f->st, f->lsd, NULL);
        sf_close(f->st, f->lsd);
        if (f->sd < 0)
            return false;
    }
    struct sf_tcp_info in;
    return info(f, &in) == 0 && in.state == SF_ESTABLISHED;
}

static void app_recv(struct fz *f, int flags, size_t want)
{
    uint8_t buf[4096];
    if (want > sizeof buf)
        want = sizeof buf;
    long r = sf_recv(f->st, f->sd, buf, want, flags);
    if (f->debug)
        fprintf(stderr, "recv(%zu, %d) at %llu: %ld\n", want, flags,
                (unsigned long long)f->app_got, r);
    if (r > 0) {
        fz_need(!f->app_eof, "data after EOF");
        fz_need((size_t)r <= want, "recv returned more than asked");
        for (long i = 0; i < r; i++) {
            if (f->debug && buf[i] != pat(1, f->app_got + (uint64_t)i))
                fprintf(stderr, "byte %ld: %02x, want %02x\n", i, buf[i],
                        pat(1, f->app_got + (uint64_t)i));
            fz_need(buf[i] == pat(1, f->app_got + (uint64_t)i),
                    "read a byte that differs from the peer's");
        }
        if (!(flags & SF_MSG_PEEK))
            f->app_got += (uint64_t)r;
    } else if (r < 0 && r != SF_EAGAIN) {
        f->app_err = true;
    } else if (r == 0 && want > 0 && !f->app_shut_rd && !f->app_err) {
        bool sent = f->fin_lost;
        for (unsigned i = 0; i < f->nfin; i++)
            sent |= f->fin_at[i] == (int64_t)f->app_got;
        fz_need(sent, "EOF where the peer sent no FIN");
        f->app_eof = true;
    }
}

static void app_call(struct fz *f, const uint8_t *s)
{
    if (f->sd < 0)
        return;
    switch (s[1] % 12) {
    case 0: case 1: case 2: { /* send */
        uint8_t buf[4096];
        size_t n = (size_t)s[2] * 16 + s[3] % 16;
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(0, f->app_sent + i);
        f->app_pending = n;
        long r = sf_send(f->st, f->sd, buf, n, 0);
        f->app_pending = 0;
        fz_need(r <= (long)n, "send took more than given");
        if (r < 0 && r != SF_EAGAIN)
            f->app_err = true;
        if (r > 0) {
            fz_need(!f->app_shut, "send after shutdown");
            f->app_sent += (uint64_t)r;
        }
        break;
    }
    case 3: case 4: case 5: app_recv(f, 0, (size_t)s[2] * 16 + 1); break;
    case 6: app_recv(f, SF_MSG_PEEK, s[2]); break;
    case 7: { /* (the FIN may leave inside the call) */
        bool was = f->app_shut;
        f->app_shut = true;
        if (sf_shutdown(f->st, f->sd, (s[2] & 1) ? SF_SHUT_WR : SF_SHUT_RDWR) == 0) {
            /* SHUT_RD discards what was queued: reading goes on (data
             * that comes later is still readable) from RCV.NXT */
            struct sf_tcp_info in;
            if (!(s[2] & 1) && info(f, &in) == 0)
                f->app_got = (uint32_t)(in.rcv_nxt - (PEER_ISN + 1));
            f->app_shut_rd |= !(s[2] & 1); /* recv then says 0 at once */
        } else
            f->app_shut = was;
        break;
    }
    case 8: /* close, sometimes an abort (SO_LINGER 0) */
        if (s[2] & 1) {
            struct sf_linger lg = {1, 0};
            sf_setsockopt(f->st, f->sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg);
        }
        f->app_shut = true;
        sf_close(f->st, f->sd);
        f->sd = -1;
        break;
    case 9: {
        int v = s[2] & 1;
        sf_setsockopt(f->st, f->sd, SF_IPPROTO_TCP, SF_TCP_NODELAY, &v, sizeof v);
        break;
    }
    case 10: { /* switch congestion control mid-connection */
        const char *cc = (s[2] & 1) ? "reno" : "cubic";
        sf_setsockopt(f->st, f->sd, SF_IPPROTO_TCP, SF_TCP_CONGESTION, cc,
                      (unsigned)strlen(cc));
        break;
    }
    case 11: { /* RFC 5482 user timeout, or keepalive */
        unsigned ms = (unsigned)s[2] * 100;
        if (s[3] & 1)
            sf_setsockopt(f->st, f->sd, SF_IPPROTO_TCP, SF_TCP_USER_TIMEOUT,
                          &ms, sizeof ms);
        else {
            int on = 1, idle = 1 + s[2] % 30;
            sf_setsockopt(f->st, f->sd, SF_SOL_SOCKET, SF_SO_KEEPALIVE, &on, sizeof on);
            sf_setsockopt(f->st, f->sd, SF_IPPROTO_TCP, SF_TCP_KEEPIDLE, &idle,
                          sizeof idle);
        }
        break;
    }
    }
}

/* One step: s[0] % 8 chooses what it is. */
static void step(struct fz *f, const uint8_t *s)
{
    struct sf_tcp_info in;
    bool have = info(f, &in) == 0;
    uint32_t rcv_nxt = have ? in.rcv_nxt : PEER_ISN + 1 + (uint32_t)f->peer_hi;
    uint32_t snd_una = have ? in.snd_una : f->iss + 1;
    uint32_t snd_nxt = have ? in.snd_nxt : f->iss + 1;
    struct sf_tcp_opts o;
    switch (s[0] % 8) {
    case 0: case 1: case 2: { /* any segment, numbered from the TCB */
        int shift = (s[0] & 0x08) ? 12 : 0;
        uint32_t seq = rcv_nxt + ((uint32_t)(int8_t)s[2] << shift);
        uint32_t ack = snd_una + ((uint32_t)(int8_t)s[3] << shift);
        peer_opts(f, s[7], s[5], snd_una, &o);
        peer_send(f, s[1], seq, ack, (uint16_t)(s[4] << 8 | s[4]), &o,
                  (size_t)s[6] * 6, s[0] >> 4 & 3);
        break;
    }
    case 3: /* a good ACK of everything sent, with a window */
        peer_opts(f, s[7] & 0x81, s[5], snd_una, &o);
        peer_send(f, SF_ACK | (s[1] & (SF_ECE | SF_FIN)), rcv_nxt, snd_nxt,
                  (uint16_t)(s[4] << 8 | 0xff), &o, 0, 0);
        break;
    case 4: /* in-order data, maybe CE-marked */
        peer_opts(f, s[7] & 0x81, s[5], snd_una, &o);
        peer_send(f, SF_ACK | (s[1] & (SF_PSH | SF_FIN | SF_CWR)), rcv_nxt,
                  snd_una, (uint16_t)(s[4] << 8 | 0xff), &o,
                  (size_t)s[6] * 6, s[0] >> 4 & 3);
        break;
    case 5: case 6: app_call(f, s); break;
    case 7: break; /* only the clock */
    }
    /* The clock: mostly milliseconds, sometimes seconds to hours. */
    sf_time_t dt = s[0] % 8 == 7 ? (sf_time_t)s[1] << (s[2] % 24) : s[1] < 240 ? s[1] % 16 : 0;
    f->now += dt * SF_MSEC;
    f->peer_ts += (uint32_t)dt;
    sf_stack_advance(f->st, f->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    struct fz *f = calloc(1, sizeof *f);
    if (!f)
        return 0;
    f->peer_ts = 12345;
    f->debug = getenv("FZ_DEBUG") != NULL;
    if (setup(f, data)) {
        check_all(f);
        for (size_t off = 4; off + 8 <= size; off += 8) {
            step(f, data + off);
            check_all(f);
        }
    }
    if (f->st)
        sf_stack_free(f->st);
    free(f);
    return 0;
}
