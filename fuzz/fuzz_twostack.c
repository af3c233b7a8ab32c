/* libFuzzer harness: two stacks on the simulated link (src/link/sim.c).
 * fuzz-sources: src/link/sim.c src/link/sim_heap.c src/link/sim_link.c src/link/impair.c
 * Inputs are step sequences, long from the start:
 * fuzz-flags: -len_control=0
 *
 * The input's first 12 bytes choose each stack's features (window
 * scaling, timestamps, SACK, RACK, ECN, CUBIC or NewReno, pacing, buffer
 * sizes, a memory limit), IPv4 or IPv6, the link (delay, jitter,
 * bandwidth, MTU, loss, duplication, reordering, corruption, CE marking)
 * and the sim's seed. Host 0 connects to host 1; the rest is a sequence
 * of 4-byte steps, each after a fuzzer-chosen pause: either side's
 * application writes, half-closes, closes or aborts, the link changes
 * (worse, better, down, up) or nothing happens. Then the link is healed
 * and both applications finish (write what is left, half-close, read to
 * the end, close). Checked:
 *   - every byte either application reads is the other's byte at that
 *     offset, in order (RFC 9293 3.10.7.4: data reaches the user in
 *     sequence), and nothing after EOF;
 *   - every state change is in the transition table; SND.UNA <= SND.NXT
 *     on every connection after every event;
 *   - once the link is healed, within 20 virtual minutes both sides end:
 *     no connection left on either stack, every socket closed, and unless
 *     one side aborted or a call failed with a clean error (reset,
 *     timeout), each side read all the other wrote, then EOF.
 * Then the sim is freed (ASan reports any leak). */
#include "fuzz_common.h"
#include "synfin/sim.h"
#include "tcp/seq.h"

#define PORT 5000
#define HEAL_LIMIT (20 * 60 * SF_SEC)
#define MAX_BYTES (256u * 1024)

struct side {
    int sd;
    uint64_t sent, want; /* written so far, to write in all */
    uint64_t got;
    bool shut, closed, eof, aborted;
    int err; /* the clean error a call returned, or 0 */
};

struct fz {
    struct sf_sim *sim;
    int lsd;
    struct side s[2]; /* 0: host 0, the client; 1: host 1, the server */
    bool finish;      /* the link is healed: both finish */
    bool v6;
    struct sf_link_cfg link;
};

static uint8_t pat(int k, uint64_t off)
{
    uint64_t x = (off + 1) * 0xD6E8FEB86659FD93ull ^ (uint64_t)(k + 1) << 57;
    x ^= x >> 31;
    return (uint8_t)(x * 0x9E3779B97F4A7C15ull >> 56);
}

static bool clean(int e)
{
    return e == SF_ECONNRESET || e == SF_ETIMEDOUT || e == SF_EPIPE ||
           e == SF_ECONNREFUSED || e == SF_ECONNABORTED;
}

static void on_event(void *ctx, const struct sf_sim_event *ev)
{
    (void)ctx;
    if (ev->kind != SF_SIM_EV_STACK || ev->trace->kind != SF_TRACE_STATE)
        return;
    const struct sf_trace_event *t = ev->trace;
    if (getenv("FZ_DEBUG"))
        fprintf(stderr, "%llu host %d: %s -> %s (%s)\n", (unsigned long long)ev->now,
                ev->host, sf_state_name(t->from), sf_state_name(t->to),
                sf_cause_name(t->cause));
    if (sf_transition_index(t->from, t->to, t->cause) < 0) {
        fprintf(stderr, "host %d: illegal transition %s -> %s (%s)\n", ev->host,
                sf_state_name(t->from), sf_state_name(t->to),
                sf_cause_name(t->cause));
        fz_need(0, "transition is in the table");
    }
}

static void set_err(struct side *s, long r, const char *what)
{
    if (!clean((int)r)) {
        fprintf(stderr, "%s: %s\n", what, sf_errname((int)r));
        fz_need(0, "a call failed with an unexpected error");
    }
    if (!s->err)
        s->err = (int)r;
}

/* A half-close in SYN_SENT would end the open (RFC 9293 3.10.4: CLOSE
 * there deletes the TCB): the applications wait for the handshake. */
static bool opening(struct sf_stack *st, int sd)
{
    struct sf_tcp_info in;
    return sf_tcp_info(st, sd, &in) == 0 && in.state == SF_SYN_SENT;
}

static void side_step(struct fz *f, int k)
{
    struct side *s = &f->s[k];
    struct sf_stack *st = sf_sim_host_stack(f->sim, k);
    if (k == 1 && s->sd < 0 && f->lsd >= 0) {
        s->sd = sf_accept(st, f->lsd, NULL);
        if (s->sd < 0)
            return;
        int on = 1, idle = 10, intvl = 5, cnt = 3;
        sf_setsockopt(st, s->sd, SF_SOL_SOCKET, SF_SO_KEEPALIVE, &on, sizeof on);
        sf_setsockopt(st, s->sd, SF_IPPROTO_TCP, SF_TCP_KEEPIDLE, &idle, sizeof idle);
        sf_setsockopt(st, s->sd, SF_IPPROTO_TCP, SF_TCP_KEEPINTVL, &intvl, sizeof intvl);
        sf_setsockopt(st, s->sd, SF_IPPROTO_TCP, SF_TCP_KEEPCNT, &cnt, sizeof cnt);
        sf_close(st, f->lsd);
        f->lsd = -1;
    }
    if (s->sd < 0 || s->closed)
        return;
    uint8_t buf[4096];
    while (s->sent < s->want && !s->shut && !s->err) {
        size_t n = s->want - s->sent < sizeof buf ? (size_t)(s->want - s->sent)
                                                  : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(k, s->sent + i);
        long r = sf_send(st, s->sd, buf, n, 0);
        if (r == SF_EAGAIN)
            break;
        if (r < 0) {
            set_err(s, r, "send");
            break;
        }
        fz_need(r > 0 && (size_t)r <= n, "send took 1..n bytes");
        s->sent += (uint64_t)r;
    }
    while (!s->eof && !s->err) {
        long r = sf_recv(st, s->sd, buf, sizeof buf, 0);
        if (r == SF_EAGAIN)
            break;
        if (r < 0) {
            if (getenv("FZ_DEBUG")) {
                struct sf_tcp_info in;
                int e = sf_tcp_info(st, s->sd, &in);
                fprintf(stderr, "side %d recv %ld info %d state %s at %llu\n", k, r, e,
                        e ? "-" : sf_state_name(in.state), (unsigned long long)sf_sim_now(f->sim));
            }
            set_err(s, r, "recv");
            break;
        }
        if (r == 0) {
            s->eof = true;
            break;
        }
        for (long i = 0; i < r; i++)
            fz_need(buf[i] == pat(1 - k, s->got + (uint64_t)i),
                    "read a byte that differs from what the other side wrote");
        s->got += (uint64_t)r;
        fz_need(s->got <= f->s[1 - k].sent, "read more than the other side wrote");
    }
    if (f->finish) { /* everything written: half-close, then close at EOF */
        if (s->sent == s->want && !s->shut && !s->err && !opening(st, s->sd)) {
            sf_shutdown(st, s->sd, SF_SHUT_WR);
            s->shut = true;
        }
        if ((s->shut && (s->eof || s->err)) || s->err) {
            sf_close(st, s->sd);
            s->closed = true;
        }
    }
}

static void app(void *ctx, struct sf_sim *sim, int h)
{
    (void)sim;
    side_step(ctx, h);
}

static int check_conn(void *ctx, const struct sf_tcp_info *t)
{
    (void)ctx;
    if (t->state != SF_LISTEN && t->state != SF_CLOSED &&
        t->state != SF_TIME_WAIT)
        fz_need(seq_leq(t->snd_una, t->snd_nxt), "SND.UNA <= SND.NXT");
    return 0;
}

static bool check_all(void *ctx, struct sf_sim *sim)
{
    (void)ctx;
    for (int h = 0; h < 2; h++)
        sf_stack_foreach(sf_sim_host_stack(sim, h), check_conn, NULL);
    return true;
}

static int count_conn(void *ctx, const struct sf_tcp_info *t)
{
    unsigned *n = ctx;
    if (t->state != SF_LISTEN)
        ++*n;
    return 0;
}

/* On a failure: every connection left, each host's memory and drops
 * (FZ_DEBUG=1: every counter). */
static int dump_conn(void *ctx, const struct sf_tcp_info *t)
{
    fprintf(stderr, "  host %d: %s sd %d una %u nxt %u snd_wnd %u rcv_nxt %u rcv_wnd %u "
            "sndq %u rcvq %u rexmits %u timer %s at %lld cwnd %u\n",
            *(int *)ctx, sf_state_name(t->state), t->sd, t->snd_una - t->iss,
            t->snd_nxt - t->iss, t->snd_wnd, t->rcv_nxt - t->irs, t->rcv_wnd,
            t->sndq, t->rcvq, t->retransmits,
            t->timer ? sf_timer_name(t->timer) : "none",
            (long long)t->timer_expires, t->snd_cwnd);
    return 0;
}

static void dump(struct fz *f)
{
    for (int h = 0; h < 2; h++) {
        struct sf_stack *st = sf_sim_host_stack(f->sim, h);
        sf_stack_foreach(st, dump_conn, &h);
        const struct sf_counters *c = sf_stack_counters(st);
        struct sf_mem_info mi;
        sf_stack_mem(st, &mi);
        fprintf(stderr, "  host %d: memory used %llu (idle %llu) limit %llu%s%s\n", h,
                (unsigned long long)mi.used, (unsigned long long)mi.idle,
                (unsigned long long)mi.limit, mi.pressure ? " pressure" : "",
                mi.full ? " full" : "");
        if (getenv("FZ_DEBUG"))
            for (int d = 0; d < SF_NCOUNTERS; d++)
                if (c->c[d])
                    fprintf(stderr, "  host %d: %s %llu\n", h,
                            sf_counter_name((enum sf_counter)d), (unsigned long long)c->c[d]);
        for (int d = 0; d < SF_NDROPS; d++)
            if (c->drops[d])
                fprintf(stderr, "  host %d: dropped %s %llu\n", h,
                        sf_drop_name((enum sf_drop)d), (unsigned long long)c->drops[d]);
    }
}

static bool not_done(void *ctx, struct sf_sim *sim)
{
    struct fz *f = ctx;
    check_all(ctx, sim);
    if (!f->s[0].closed || (f->s[1].sd >= 0 && !f->s[1].closed))
        return true;
    unsigned n = 0;
    for (int h = 0; h < 2; h++)
        sf_stack_foreach(sf_sim_host_stack(sim, h), count_conn, &n);
    return n > 0;
}

static void stack_cfg(struct sf_stack_cfg *c, uint8_t a, uint8_t b)
{
    static const uint32_t bufs[] = {4096, 16384, 65535, 262144};
    sf_stack_cfg_default(c);
    c->wscale = a & 1;
    c->timestamps = a & 2;
    c->sack = a & 4;
    c->rack = a & 8;
    c->ecn = (a >> 4 & 3) % 3;
    c->cc = (a & 0x40) ? SF_CC_RENO : SF_CC_CUBIC;
    c->pacing = a & 0x80;
    c->rcvbuf = bufs[b & 3];
    c->sndbuf = bufs[b >> 2 & 3];
    if (b & 0x10) {
        c->mem_max = (uint64_t)c->rcvbuf + c->sndbuf + SF_MEM_MIN +
                     (uint64_t)(b >> 5) * 32768;
    }
    c->msl = SF_SEC; /* TIME_WAIT 2 s */
}

/* Link impairments from two bytes: probabilities up to 30 % loss. */
static void impair(struct sf_link_cfg *l, uint8_t x, uint8_t y)
{
    l->loss = (x & 7) * 0.04;
    l->dup = (x >> 3 & 3) * 0.03;
    l->reorder = (x >> 5 & 3) * 0.05;
    l->corrupt = (x & 0x80) ? 0.02 : 0;
    l->jitter = (y & 3) * 5 * SF_MSEC;
}

static void set_link(struct fz *f)
{
    for (int a = 0; a < 2; a++)
        sf_sim_link_set(f->sim, a, 1 - a, &f->link);
}

static bool setup(struct fz *f, const uint8_t *c)
{
    static const uint32_t mtus[] = {1500, 1280, 576, 9000};
    struct sf_sim_cfg sc;
    sf_sim_cfg_default(&sc);
    sc.seed = (uint64_t)c[10] << 8 | c[11];
    f->v6 = c[4] & 1;
    sc.ipv6 = f->v6;
    struct sf_link_cfg *l = &f->link;
    l->delay = (1 + c[5] % 64) * SF_MSEC;
    l->bandwidth = (c[6] & 3) ? (uint64_t)(c[6] >> 2 | 1) * 500000 : 0;
    l->mtu = mtus[c[4] >> 1 & 3];
    if (l->bandwidth && (c[4] & 8))
        l->ce_threshold = 3000 + (uint32_t)c[9] * 100;
    impair(l, c[7], c[8]);
    sc.link = *l;
    struct sf_stack_cfg h[2];
    stack_cfg(&h[0], c[0], c[1]);
    stack_cfg(&h[1], c[2], c[3]);
    for (int i = 0; i < 2; i++)
        h[i].mss = (uint16_t)(l->mtu - 40);
    sc.stack = h[0];
    if (sf_sim_create(&sc, &f->sim))
        return false;
    for (int i = 0; i < 2; i++)
        if (sf_sim_add_host(f->sim, 0, &h[i]) != i)
            return false;
    sf_sim_set_trace(f->sim, on_event, f);
    sf_sim_set_app(f->sim, app, f);
    int fam = f->v6 ? SF_AF_INET6 : SF_AF_INET;
    struct sf_stack *s1 = sf_sim_host_stack(f->sim, 1);
    struct sf_addr any = {.port = PORT, .family = (uint8_t)fam};
    f->lsd = sf_socket(s1);
    if (sf_bind(s1, f->lsd, &any) || sf_listen(s1, f->lsd, 4))
        return false;
    sf_sim_touch(f->sim, 1);
    struct sf_stack *s0 = sf_sim_host_stack(f->sim, 0);
    f->s[1].sd = -1;
    f->s[0].sd = sf_socket(s0);
    int on = 1, idle = 10, intvl = 5, cnt = 3;
    sf_setsockopt(s0, f->s[0].sd, SF_SOL_SOCKET, SF_SO_KEEPALIVE, &on, sizeof on);
    sf_setsockopt(s0, f->s[0].sd, SF_IPPROTO_TCP, SF_TCP_KEEPIDLE, &idle, sizeof idle);
    sf_setsockopt(s0, f->s[0].sd, SF_IPPROTO_TCP, SF_TCP_KEEPINTVL, &intvl, sizeof intvl);
    sf_setsockopt(s0, f->s[0].sd, SF_IPPROTO_TCP, SF_TCP_KEEPCNT, &cnt, sizeof cnt);
    struct sf_addr to = sf_sim_host_ip(f->sim, 1, fam, PORT);
    long r = sf_connect(s0, f->s[0].sd, &to);
    sf_sim_touch(f->sim, 0);
    return r == SF_EINPROGRESS;
}

/* One step: s[0] what, s[1..2] its argument, s[3] the pause before it. */
static void step(struct fz *f, const uint8_t *s)
{
    sf_time_t pause = (sf_time_t)s[3] < 200 ? (sf_time_t)s[3] * 5 * SF_MSEC
                                             : (sf_time_t)(s[3] - 199) * SF_SEC;
    sf_sim_run_while(f->sim, check_all, f, sf_sim_now(f->sim) + pause);
    sf_sim_run_until(f->sim, sf_sim_now(f->sim) + pause);
    int k = s[0] & 1;
    struct side *d = &f->s[k];
    struct sf_stack *st = sf_sim_host_stack(f->sim, k);
    switch (s[0] >> 1 & 7) {
    case 0: case 1: case 2: /* write more */
        if (!d->shut && !d->closed) {
            d->want += (uint64_t)(s[1] << 8 | s[2]) % 16384;
            if (d->want > MAX_BYTES)
                d->want = MAX_BYTES;
        }
        break;
    case 3: /* write no more: half-close now */
        if (d->sd >= 0 && !d->closed && !d->shut && !opening(st, d->sd)) {
            d->want = d->sent;
            sf_sim_touch(f->sim, k);
            sf_shutdown(st, d->sd, SF_SHUT_WR);
            d->shut = true;
        }
        break;
    case 4: /* abort: SO_LINGER 0, close */
        if (d->sd >= 0 && !d->closed && (s[1] & 0x0f) == 0) {
            struct sf_linger lg = {1, 0};
            sf_sim_touch(f->sim, k);
            sf_setsockopt(st, d->sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg);
            sf_close(st, d->sd);
            d->closed = d->aborted = true;
            sf_sim_touch(f->sim, k);
        }
        break;
    case 5: /* the link changes */
        impair(&f->link, s[1], s[2]);
        set_link(f);
        break;
    case 6: /* down for a while (at most a minute) */
        f->link.down = true;
        set_link(f);
        sf_sim_run_until(f->sim, sf_sim_now(f->sim) + (sf_time_t)(s[1] % 60 + 1) * SF_SEC);
        f->link.down = false;
        set_link(f);
        break;
    case 7: /* nothing */
        break;
    }
    /* the application acts at once */
    sf_sim_touch(f->sim, k);
    side_step(f, k);
    sf_sim_touch(f->sim, k);
}

static void finish_check(struct fz *f)
{
    /* heal the link, let both finish */
    f->finish = true;
    impair(&f->link, 0, 0);
    f->link.down = false;
    set_link(f);
    for (int k = 0; k < 2; k++) {
        sf_sim_touch(f->sim, k);
        side_step(f, k);
        sf_sim_touch(f->sim, k);
    }
    sf_time_t limit = sf_sim_now(f->sim) + HEAL_LIMIT;
    sf_sim_run_while(f->sim, not_done, f, limit);
    if (not_done(f, f->sim)) {
        for (int k = 0; k < 2; k++)
            fprintf(stderr, "side %d: sd %d sent %llu/%llu got %llu%s%s%s err %s\n",
                    k, f->s[k].sd, (unsigned long long)f->s[k].sent,
                    (unsigned long long)f->s[k].want,
                    (unsigned long long)f->s[k].got, f->s[k].eof ? " eof" : "",
                    f->s[k].shut ? " shut" : "", f->s[k].closed ? " closed" : "",
                    f->s[k].err ? sf_errname(f->s[k].err) : "none");
        dump(f);
        fz_need(0, "both sides end within 20 minutes of the link healing");
    }
    bool broken = f->s[0].aborted || f->s[1].aborted || f->s[0].err ||
                  f->s[1].err || f->s[1].sd < 0;
    if (!broken)
        for (int k = 0; k < 2; k++)
            fz_need(f->s[k].eof && f->s[k].got == f->s[1 - k].want,
                    "every byte written arrived, then EOF");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 12)
        return 0;
    struct fz *f = calloc(1, sizeof *f);
    if (!f)
        return 0;
    if (setup(f, data)) {
        for (size_t off = 12; off + 4 <= size && off < 12 + 4 * 64; off += 4)
            step(f, data + off);
        finish_check(f);
    }
    if (f->sim)
        sf_sim_free(f->sim);
    free(f);
    return 0;
}
