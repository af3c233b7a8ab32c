/* libFuzzer harness for the whole stack. Each run builds a stack at
 * 198.18.0.1 and fd00:5f::1 with a fixed seed, has a scripted peer at 198.18.0.2 bring one
 * connection into each of the eleven states (RFC 9293 Figure 5), then
 * feeds the fuzz input as a sequence of records, each a segment from the
 * peer (or a socket call) built relative to the target connection's real
 * variables, advancing time between them. After every record: snd_una <=
 * snd_nxt in serial arithmetic, every state is legal, and every traced
 * state change is in the transition table. Then the stack is
 * freed (ASan reports any leak). */
#include "fuzz_common.h"
#include "tcp/seq.h"

#define LPORT 80  /* the listener */
#define LPORT6 443 /* the IPv6-only listener (IPV6_V6ONLY) */

enum { C_CLOSED, C_LISTEN, C_SYN_SENT, C_SYN_RCVD, C_ESTAB, C_FIN_WAIT_1,
       C_FIN_WAIT_2, C_CLOSE_WAIT, C_CLOSING, C_LAST_ACK, C_TIME_WAIT, NCONN };

/* The peer's view of one connection. */
struct pconn {
    uint16_t lport, rport; /* stack's port, peer's port */
    uint32_t snd_nxt;      /* peer's next sequence number */
    uint32_t rcv_nxt;      /* what the peer has received of the stack */
    int sd;
};

struct fz {
    struct sf_stack *st;
    sf_time_t now;
    struct pconn c[NCONN];
    /* The last datagrams the stack sent, for learning its ISNs. */
    struct fz_out out;
    int l6; /* the IPv6 listener */
};

/* The stack's last segment to the peer's port, parsed; 0 if there is none. */
static int last_out(struct fz *f, uint16_t rport, struct sf_tcp *seg)
{
    for (unsigned k = 0; k < FZ_NOUT; k++)
        if (fz_out_seg(&f->out, k, seg) == 0 && seg->dport == rport)
            return 1;
    return 0;
}

/* Every state change must be an edge of the legal transition table. */
static void check_trace(void *ctx, const struct sf_trace_event *ev)
{
    (void)ctx;
    if (ev->kind != SF_TRACE_STATE)
        return;
    fz_need((unsigned)ev->to < SF_NSTATES && (unsigned)ev->from < SF_NSTATES,
         "traced state in range");
    if (sf_transition_index(ev->from, ev->to, ev->cause) < 0) {
        fprintf(stderr, "illegal transition %s -> %s (%s)\n",
                sf_state_name(ev->from), sf_state_name(ev->to),
                sf_cause_name(ev->cause));
        fz_need(0, "transition is in the table");
    }
}

static void peer_send(struct fz *f, const struct pconn *c, uint8_t flags,
                      uint32_t seq, uint32_t ack, uint16_t win,
                      const struct sf_tcp_opts *opt, const uint8_t *data,
                      size_t len)
{
    struct sf_tcp seg = {.sport = c->rport, .dport = c->lport, .seq = seq,
                         .ack = ack, .flags = flags, .win = win,
                         .payload = data, .len = len};
    if (opt)
        seg.opt = *opt;
    fz_inject(f->st, f->now, &seg);
}

/* Sends from the peer with its own variables, advancing snd_nxt. */
static void peer_seg(struct fz *f, struct pconn *c, uint8_t flags)
{
    struct sf_tcp_opts o = {.has_mss = true, .mss = 1460};
    peer_send(f, c, flags, c->snd_nxt, c->rcv_nxt, 65535,
              (flags & SF_SYN) ? &o : NULL, NULL, 0);
    if (flags & (SF_SYN | SF_FIN))
        c->snd_nxt++;
}

/* Learns rcv_nxt from the stack's last segment to this connection. */
static void peer_learn(struct fz *f, struct pconn *c)
{
    struct sf_tcp seg;
    if (!last_out(f, c->rport, &seg))
        return;
    c->rcv_nxt = seg.seq + (uint32_t)seg.len +
                 ((seg.flags & SF_SYN) ? 1u : 0u) +
                 ((seg.flags & SF_FIN) ? 1u : 0u);
}

static void active_open(struct fz *f, struct pconn *c, uint16_t rport)
{
    c->rport = rport;
    c->snd_nxt = 0xfffffff0u; /* the peer's sequence space wraps soon */
    c->sd = sf_socket(f->st);
    struct sf_addr r = {.ip = FZ_PEER, .port = rport};
    sf_connect(f->st, c->sd, &r);
    struct sf_addr l;
    if (sf_getsockname(f->st, c->sd, &l) == 0)
        c->lport = l.port;
    peer_learn(f, c);
}

static void establish(struct fz *f, struct pconn *c, uint16_t rport)
{
    active_open(f, c, rport);
    peer_seg(f, c, SF_SYN | SF_ACK);
}

/* A passive open through the listener, accepted. */
static void passive_estab(struct fz *f, struct pconn *c, uint16_t rport)
{
    c->lport = LPORT;
    c->rport = rport;
    c->snd_nxt = 0x7ffffff0u;
    peer_seg(f, c, SF_SYN);
    peer_learn(f, c);
    peer_seg(f, c, SF_ACK);
    struct sf_addr p;
    c->sd = sf_accept(f->st, f->c[C_LISTEN].sd, &p);
}

static void our_fin(struct fz *f, struct pconn *c)
{
    sf_shutdown(f->st, c->sd, SF_SHUT_WR);
    peer_learn(f, c);
}

static void setup(struct fz *f)
{
    struct pconn *c = f->c;
    /* CLOSED: a 4-tuple nobody has; segments to it meet RFC 9293 3.10.7.1. */
    c[C_CLOSED] = (struct pconn){.lport = 81, .rport = 7000, .sd = -1};
    c[C_LISTEN] = (struct pconn){.lport = LPORT, .rport = 7001};
    c[C_LISTEN].sd = sf_socket(f->st);
    struct sf_addr l = {.port = LPORT};
    sf_bind(f->st, c[C_LISTEN].sd, &l);
    sf_listen(f->st, c[C_LISTEN].sd, 16);
    /* IPv6: a V6ONLY listener on :: port LPORT6 that records' IPv6
     * segments can open connections to (action 9). */
    int one = 1;
    struct sf_addr any6 = sf_addr6((const uint8_t[16]){0}, LPORT6);
    f->l6 = sf_socket(f->st);
    sf_setsockopt(f->st, f->l6, SF_IPPROTO_IPV6, SF_IPV6_V6ONLY, &one, sizeof one);
    sf_bind(f->st, f->l6, &any6);
    sf_listen(f->st, f->l6, 16);

    active_open(f, &c[C_SYN_SENT], 7002);
    /* SYN_RCVD by simultaneous open: our SYN crosses the peer's. */
    active_open(f, &c[C_SYN_RCVD], 7003);
    peer_seg(f, &c[C_SYN_RCVD], SF_SYN);
    c[C_SYN_RCVD].rcv_nxt--; /* its SYN-ACK re-sends the same ISN */
    peer_learn(f, &c[C_SYN_RCVD]);

    passive_estab(f, &c[C_ESTAB], 7004);

    establish(f, &c[C_FIN_WAIT_1], 7005);
    our_fin(f, &c[C_FIN_WAIT_1]);

    establish(f, &c[C_FIN_WAIT_2], 7006);
    our_fin(f, &c[C_FIN_WAIT_2]);
    peer_seg(f, &c[C_FIN_WAIT_2], SF_ACK);

    establish(f, &c[C_CLOSE_WAIT], 7007);
    peer_seg(f, &c[C_CLOSE_WAIT], SF_FIN | SF_ACK);
    peer_learn(f, &c[C_CLOSE_WAIT]);

    /* CLOSING: both FINs cross; the peer's does not ACK ours. */
    establish(f, &c[C_CLOSING], 7008);
    uint32_t before_fin = c[C_CLOSING].rcv_nxt;
    our_fin(f, &c[C_CLOSING]);
    uint32_t after_fin = c[C_CLOSING].rcv_nxt;
    c[C_CLOSING].rcv_nxt = before_fin;
    peer_seg(f, &c[C_CLOSING], SF_FIN | SF_ACK);
    c[C_CLOSING].rcv_nxt = after_fin;

    establish(f, &c[C_LAST_ACK], 7009);
    peer_seg(f, &c[C_LAST_ACK], SF_FIN | SF_ACK);
    peer_learn(f, &c[C_LAST_ACK]);
    our_fin(f, &c[C_LAST_ACK]);

    establish(f, &c[C_TIME_WAIT], 7010);
    our_fin(f, &c[C_TIME_WAIT]);
    peer_seg(f, &c[C_TIME_WAIT], SF_ACK);
    peer_seg(f, &c[C_TIME_WAIT], SF_FIN | SF_ACK);
}

static int info_of(struct fz *f, const struct pconn *c, struct sf_tcp_info *in)
{
    struct sf_addr l = {.ip = FZ_HOST, .port = c->lport};
    struct sf_addr r = {.ip = FZ_PEER, .port = c->rport};
    return sf_tcp_info_by_addr(f->st, &l, &r, in);
}

/* Every scripted connection reached its state: a stack that cannot get
 * there has a bug worth more than any fuzzing past it. */
static void check_setup(struct fz *f)
{
    static const char *const name[NCONN] = {
        "CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
        "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
        "TIME_WAIT"};
    struct sf_tcp_info in;
    fz_need(info_of(f, &f->c[C_CLOSED], &in) == SF_ENOENT, "CLOSED has no TCB");
    fz_need(sf_tcp_info(f->st, f->c[C_LISTEN].sd, &in) == 0 &&
         in.state == SF_LISTEN, "LISTEN");
    for (int i = C_SYN_SENT; i < NCONN; i++) {
        int ok = info_of(f, &f->c[i], &in) == 0 && (int)in.state == i;
        if (!ok)
            fprintf(stderr, "setup: %s: got %s\n", name[i],
                    info_of(f, &f->c[i], &in) == 0 ? sf_state_name(in.state)
                                                   : "no connection");
        fz_need(ok, "setup reaches every state");
    }
}

static int check_one(void *ctx, const struct sf_tcp_info *in)
{
    (void)ctx;
    fz_need((unsigned)in->state < SF_NSTATES, "state in range");
    if (in->state != SF_LISTEN && in->state != SF_CLOSED)
        fz_need(seq_leq(in->snd_una, in->snd_nxt), "snd_una <= snd_nxt");
    return 0;
}

static void check_all(struct fz *f)
{
    sf_stack_foreach(f->st, check_one, NULL);
    for (int i = 0; i < NCONN; i++) {
        struct sf_tcp_info in;
        if (info_of(f, &f->c[i], &in) == 0)
            check_one(NULL, &in);
    }
}

/* A record: 12 header bytes, then up to 64 payload bytes.
 *  0  target connection (mod NCONN; top bit: a fresh 4-tuple to LPORT)
 *  1  TCP flags, raw
 *  2-3 seq delta (int16) from the stack's rcv_nxt; 4-5 ack delta from its
 *     snd_una; delta scaled by 2^16 when byte 10 bit 7 is set
 *  6-7 window; 8 options bitmask; 9 payload length (mod 65)
 *  10 bits 0-6: time step, 11 action (socket call or raw datagram)
 * Actions 8 and 9 are IPv6 (a share of the records): 8 the payload behind
 * a fuzzed IPv6 header (next header byte 1, payload length as given or
 * fuzzed), to the stack's IPv6 address: extension-header chains, bad
 * lengths, TCP over IPv6 with any checksum; 9 a TCP segment from
 * [fd00:5f::2]:30000+(action>>4) to the IPv6 listener, numbered from that
 * connection's real variables as the IPv4 records are. */
struct rec {
    const uint8_t *h, *data;
    size_t len;
};

static void rec_opts(const uint8_t *h, uint32_t base, struct sf_tcp_opts *o)
{
    memset(o, 0, sizeof *o);
    o->has_mss = h[8] & 1;
    o->mss = (uint16_t)(h[6] << 8 | h[3]);
    o->has_wscale = h[8] & 2;
    o->wscale = h[7] & 0x1f;
    o->sack_ok = h[8] & 4;
    o->has_ts = h[8] & 8;
    o->ts_val = (uint32_t)h[2] << 24 | h[10];
    o->ts_ecr = (uint32_t)h[4] << 8;
    o->nsack = (h[8] >> 4) % 5;
    for (int i = 0; i < o->nsack; i++) {
        o->sack[i][0] = base + (uint32_t)(int8_t)h[i + 2] * 100u;
        o->sack[i][1] = o->sack[i][0] + (uint32_t)h[i + 4] * 10u;
    }
}

static void do_action(struct fz *f, struct pconn *c, uint8_t a,
                      const struct rec *r)
{
    uint8_t buf[256];
    switch (a % 16) {
    case 0: sf_send(f->st, c->sd, r->data, r->len, 0); break;
    case 1: sf_recv(f->st, c->sd, buf, sizeof buf, 0); break;
    case 2: sf_recv(f->st, c->sd, buf, 3, SF_MSG_PEEK); break;
    case 3: sf_shutdown(f->st, c->sd, a >> 4 & 3); break;
    case 4: sf_close(f->st, c->sd); c->sd = -1; break;
    case 5: {
        struct sf_linger lg = {1, 0};
        sf_setsockopt(f->st, c->sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg);
        break;
    }
    case 6: sf_stack_input(f->st, f->now, r->data, r->len); break;
    case 7: {
        struct sf_addr p;
        int sd = sf_accept(f->st, f->c[C_LISTEN].sd, &p);
        if (sd >= 0 && (a & 0x10))
            sf_close(f->st, sd);
        break;
    }
    case 8: { /* RFC 8200 3: a fuzzed IPv6 header, then the payload */
        uint8_t d[40 + 64];
        const uint8_t *h = r->h;
        d[0] = (uint8_t)(0x60 | (h[6] & 0x0f)); /* version 6 mostly */
        if (h[8] & 0x80)
            d[0] = h[6];                        /* any version */
        d[1] = h[7];
        d[2] = h[2];
        d[3] = h[3];
        uint16_t plen = (h[8] & 0x40) ? (uint16_t)(h[4] << 8 | h[5])
                                      : (uint16_t)r->len;
        d[4] = (uint8_t)(plen >> 8);
        d[5] = (uint8_t)plen;
        d[6] = h[1];                            /* next header */
        d[7] = h[10] | 1;                       /* hop limit */
        memcpy(d + 8, FZ_PEER6, 16);
        memcpy(d + 24, FZ_HOST6, 16);
        if (h[8] & 0x20)
            d[8] = 0xff;                        /* a multicast source */
        memcpy(d + 40, r->data, r->len);
        sf_stack_input(f->st, f->now, d, 40 + r->len);
        break;
    }
    case 9: {
        const uint8_t *h = r->h;
        uint16_t rport = (uint16_t)(30000 + (a >> 4));
        struct sf_addr l = sf_addr6(FZ_HOST6, LPORT6), p = sf_addr6(FZ_PEER6, rport);
        struct sf_tcp_info in;
        uint32_t seq = 1000, ack = 0;
        if (sf_tcp_info_by_addr(f->st, &l, &p, &in) == 0) {
            seq = in.rcv_nxt;
            ack = in.snd_una;
        }
        seq += (uint32_t)(int16_t)(h[2] << 8 | h[3]);
        ack += (uint32_t)(int16_t)(h[4] << 8 | h[5]);
        struct sf_tcp seg = {.sport = rport, .dport = LPORT6, .seq = seq,
                             .ack = ack, .flags = h[1],
                             .win = (uint16_t)(h[6] << 8 | h[7]),
                             .payload = r->data, .len = r->len};
        rec_opts(h, ack, &seg.opt);
        fz_inject6(f->st, f->now, &seg);
        break;
    }
    case 10: { /* accept on the IPv6 listener */
        struct sf_addr p;
        int sd = sf_accept(f->st, f->l6, &p);
        if (sd >= 0) {
            fz_need(p.family == SF_AF_INET6, "an IPv6 listener accepted IPv4");
            if (a & 0x10)
                sf_close(f->st, sd);
        }
        break;
    }
    default: break;
    }
}

static void feed(struct fz *f, const struct rec *r)
{
    const uint8_t *h = r->h;
    struct pconn fresh, *c = &f->c[h[0] % NCONN];
    if (h[0] & 0x80) {
        fresh = (struct pconn){.lport = LPORT, .rport = (uint16_t)(20000 + (h[0] & 0x7f)),
                               .snd_nxt = 1000, .sd = -1};
        c = &fresh;
    }
    int shift = (h[10] & 0x80) ? 16 : 0;
    int32_t ds = (int16_t)(h[2] << 8 | h[3]), da = (int16_t)(h[4] << 8 | h[5]);
    struct sf_tcp_info in;
    uint32_t seq = c->snd_nxt, ack = c->rcv_nxt;
    if (info_of(f, c, &in) == 0) {
        seq = in.rcv_nxt;
        ack = in.snd_una;
    }
    seq += (uint32_t)ds << shift;
    ack += (uint32_t)da << shift;
    struct sf_tcp_opts o;
    rec_opts(h, ack, &o);
    if (h[11] < 0xc0) {
        peer_send(f, c, h[1], seq, ack, (uint16_t)(h[6] << 8 | h[7]), &o,
                  r->data, r->len);
    } else {
        do_action(f, c, h[11], r);
    }
    /* Time: small steps mostly, sometimes past the RTO, 2*MSL or more. */
    sf_time_t step = (sf_time_t)(h[10] & 0x7f);
    step = step < 100 ? step * SF_MSEC : (step - 99) * 10 * SF_SEC;
    f->now += step;
    sf_stack_advance(f->st, f->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz *f = calloc(1, sizeof *f);
    struct sf_stack_cfg cfg;
    fz_cfg(&cfg, &f->out, 0xa5);
    cfg.trace = check_trace;
    f->now = FZ_START;
    if (sf_stack_create(&cfg, f->now, &f->st) != 0) {
        free(f);
        return 0;
    }
    setup(f);
    check_setup(f);
    check_all(f);
    size_t off = 0;
    while (size - off >= 12) {
        struct rec r = {.h = data + off};
        off += 12;
        r.len = r.h[9] % 65;
        if (r.len > size - off)
            r.len = size - off;
        r.data = data + off;
        off += r.len;
        feed(f, &r);
        check_all(f);
    }
    sf_stack_free(f->st);
    free(f);
    return 0;
}
