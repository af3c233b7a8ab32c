/* The harness of the hostile-input tests (tests/hostile/test_*.c): one
 * stack (198.18.0.1, 2001:db8::1) and a peer played by the test, which
 * builds every datagram byte by byte, so that it can lie in any field (an
 * option length, the data offset, the IP lengths, the flags) where the
 * wire codec (sf_emit) would refuse to. What the stack sends is kept in a
 * queue and parsed back with the wire layer.
 *
 * Each case checks the RFC's answer (a drop and its counter, a RST, an
 * ACK, a challenge ACK, or nothing), that no state changed where none is
 * due (the connection's state and sequence variables before and after),
 * and that the connection still works afterwards (h_alive). The stack is
 * freed at the end of each case, so that the ASan build (make test SAN=1)
 * reports any leak. Tests only: the state is one static struct. */
#ifndef SF_TESTS_HOSTILE_H
#define SF_TESTS_HOSTILE_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define H_US4 0xC6120001u   /* 198.18.0.1: the stack */
#define H_PEER4 0xC6120002u /* 198.18.0.2: the test */
#define H_PORT 8080         /* the stack's listening port */
#define H_PPORT 40000       /* the peer's first port */
#define H_PISN 0xfffffc00u  /* the peer's ISN: every case crosses 2^32 */
#define H_MAXQ 4096

struct h_out {
    uint8_t b[1600];
    size_t len;
};

struct h {
    struct sf_stack *st;
    bool v6;
    sf_time_t now;
    struct h_out q[H_MAXQ];
    int nq, lost;
    uint16_t pport;          /* the peer's port of the connection */
    uint16_t sport;          /* the stack's port of the connection */
    uint32_t pisn;           /* the peer's ISN (H_PISN unless set) */
    uint32_t pnxt;           /* the peer's next sequence number */
    uint32_t iss;            /* the stack's ISN */
    uint32_t snxt;           /* what the peer acknowledges of the stack */
    int lsd, sd;
    /* timestamps negotiated: every segment without options of its own
     * carries <nop,nop,TS val tsval ecr tsecr> (RFC 7323 3.2) */
    bool ts;
    uint32_t tsval, tsecr;
    struct sf_counters snap;
    struct sf_tcp_info isnap;
};

static struct h H;

/* ------------------------------------------------------------ addresses */

static inline void h_ip6(int last, uint8_t out[16])
{
    static const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8};
    memcpy(out, base, 16);
    out[15] = (uint8_t)last;
}

static inline struct sf_addr h_addr(bool stack, uint16_t port)
{
    if (!H.v6)
        return sf_addr4(stack ? H_US4 : H_PEER4, port);
    uint8_t a[16];
    h_ip6(stack ? 1 : 2, a);
    return sf_addr6(a, port);
}

/* --------------------------------------------------------------- stack */

static inline void h_output(void *ctx, const uint8_t *d, size_t len)
{
    (void)ctx;
    if (H.nq == H_MAXQ || len > sizeof H.q[0].b) {
        H.lost++;
        return;
    }
    memcpy(H.q[H.nq].b, d, len);
    H.q[H.nq].len = len;
    H.nq++;
}

typedef void (*h_tweak)(struct sf_stack_cfg *cfg);

static inline void h_setup(bool v6, h_tweak tweak)
{
    memset(&H, 0, sizeof H);
    H.v6 = v6;
    H.now = 1000 * SF_SEC;
    H.pport = H_PPORT;
    H.pisn = H_PISN;
    H.tsval = 1;
    H.lsd = H.sd = -1;
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = H_US4;
    h_ip6(1, cfg.addr6);
    cfg.output = h_output;
    cfg.seed[0] = 7;
    /* the RFC 5961 answers, not their rate limits (tested elsewhere) */
    cfg.invalid_ratelimit = 0;
    if (tweak)
        tweak(&cfg);
    CHECK_EQ(sf_stack_create(&cfg, H.now, &H.st), 0);
}

static inline void h_teardown(void)
{
    CHECK_EQ(H.lost, 0);
    sf_stack_free(H.st);
    H.st = NULL;
}

static inline void h_advance(sf_time_t dt)
{
    sf_time_t until = H.now + dt;
    for (int i = 0; i < 100000; i++) {
        sf_time_t next = sf_stack_advance(H.st, H.now);
        if (next > until)
            break;
        H.now = next > H.now ? next : H.now + 1;
    }
    H.now = until;
    sf_stack_advance(H.st, H.now);
}

/* ------------------------------------------------------------ outbound */

/* Parses queued datagram i; false if it is no TCP segment of ours. */
static inline bool h_seg_at(int i, struct sf_tcp *seg)
{
    if (i >= H.nq)
        return false;
    const uint8_t *d = H.q[i].b;
    size_t len = H.q[i].len;
    if (H.v6) {
        struct sf_ipv6 ip;
        return sf_ipv6_parse(d, len, &ip) == SF_DROP_NONE &&
               sf_tcp6_parse(&ip, seg) == SF_DROP_NONE;
    }
    struct sf_ipv4 ip;
    return sf_ipv4_parse(d, len, &ip) == SF_DROP_NONE &&
           sf_tcp_parse(&ip, seg) == SF_DROP_NONE;
}

static inline void h_clear(void)
{
    H.nq = 0;
}

/* The one segment the stack sent since h_clear; false (and a failed
 * CHECK) unless there was exactly one. The queue is cleared. */
static inline bool h_one(struct sf_tcp *seg)
{
    CHECK_EQ(H.nq, 1);
    bool ok = H.nq == 1 && h_seg_at(0, seg);
    CHECK(ok);
    h_clear();
    return ok;
}

/* ------------------------------------------------------------- inbound */

/* One forged segment. Fields left 0 take these defaults: win 65535, data
 * offset from the options (padded with EOL to a multiple of 4), lengths
 * true. The lies: doff (with set_doff; words, as on the wire), iplen_delta (added to
 * the IPv4 Total Length or the IPv6 Payload Length field), buf_delta
 * (added to the bytes handed to the stack: negative truncates, positive
 * appends zero bytes). The TCP checksum is computed over the bytes the
 * receiver will take as the segment (the IP length's, within the buffer),
 * so that each lie meets the check meant for it, not the checksum. */
struct h_seg {
    uint8_t flags;
    uint32_t seq, ack;
    uint16_t win, urp;
    bool win0; /* send a zero window */
    const uint8_t *opt;
    size_t optlen;
    size_t len; /* payload bytes: 'a' + (poff + i) % 26 */
    uint32_t poff;
    int doff;      /* with set_doff: the Data Offset field, words */
    bool set_doff;
    int iplen_delta;
    int buf_delta;
    bool land; /* from the stack's own address and port */
    uint16_t sport; /* 0: H.pport */
    bool sport0, dport0; /* send source / destination port 0 */
    uint32_t src4;  /* non-zero: this IPv4 source */
    const uint8_t *src6; /* non-NULL: this IPv6 source */
    uint16_t dport; /* 0: H.sport, or H_PORT before a connection */
};

static inline void h_put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static inline void h_put32(uint8_t *p, uint32_t v)
{
    h_put16(p, v >> 16), h_put16(p + 2, v);
}

/* Builds the datagram into b (room for 1600 + 64 bytes); returns the
 * length to hand to the stack. */
static inline size_t h_build(const struct h_seg *s, uint8_t *b)
{
    size_t iph = H.v6 ? 40 : 20;
    uint8_t tsopt[12] = {1, 1, 8, 10};
    struct h_seg ts_s;
    if (H.ts && !s->optlen) {
        h_put32(tsopt + 4, H.tsval);
        h_put32(tsopt + 8, H.tsecr);
        ts_s = *s;
        ts_s.opt = tsopt, ts_s.optlen = sizeof tsopt;
        s = &ts_s;
    }
    size_t optpad = (s->optlen + 3) & ~(size_t)3;
    size_t hdr = 20 + optpad, tcplen = hdr + s->len;
    size_t total = iph + tcplen;
    memset(b, 0, total + 64);
    uint8_t *t = b + iph;
    uint16_t sport = s->land ? (H.sport ? H.sport : H_PORT)
                             : s->sport ? s->sport : H.pport;
    uint16_t dport = s->dport ? s->dport : H.sport ? H.sport : H_PORT;
    h_put16(t, s->sport0 ? 0 : sport);
    h_put16(t + 2, s->dport0 ? 0 : dport);
    h_put32(t + 4, s->seq);
    h_put32(t + 8, s->ack);
    size_t doffw = s->set_doff ? (size_t)s->doff : hdr / 4;
    t[12] = (uint8_t)(doffw << 4);
    t[13] = s->flags;
    h_put16(t + 14, s->win0 ? 0 : s->win ? s->win : 65535);
    h_put16(t + 18, s->urp);
    if (s->optlen)
        memcpy(t + 20, s->opt, s->optlen);
    for (size_t i = 0; i < s->len; i++)
        t[hdr + i] = (uint8_t)('a' + (s->poff + i) % 26);

    /* the length fields, true or not */
    long claim = (long)tcplen + s->iplen_delta; /* the IP payload claimed */
    size_t send = (size_t)((long)total + s->buf_delta);
    uint8_t srcip[16], dstip[16];
    if (H.v6) {
        h_ip6(s->land ? 1 : 2, srcip);
        if (s->src6)
            memcpy(srcip, s->src6, 16);
        h_ip6(1, dstip);
        b[0] = 0x60;
        h_put16(b + 4, (uint32_t)claim);
        b[6] = 6, b[7] = 64;
        memcpy(b + 8, srcip, 16);
        memcpy(b + 24, dstip, 16);
    } else {
        b[0] = 0x45;
        h_put16(b + 2, (uint32_t)(claim + 20));
        b[6] = 0x40, b[8] = 64, b[9] = 6;
        h_put32(b + 12, s->src4 ? s->src4 : s->land ? H_US4 : H_PEER4);
        h_put32(b + 16, H_US4);
        h_put16(b + 10, sf_csum_fold(sf_csum_add(0, b, 20)));
    }
    /* TCP checksum over what the receiver takes as the segment */
    size_t avail = send > iph ? send - iph : 0;
    size_t clen = claim < 0 ? 0 : (size_t)claim;
    if (clen > avail)
        clen = avail;
    if (clen >= 18) {
        uint8_t ph[40];
        size_t phl;
        if (H.v6) {
            memcpy(ph, srcip, 16);
            memcpy(ph + 16, dstip, 16);
            h_put32(ph + 32, (uint32_t)clen);
            ph[36] = ph[37] = ph[38] = 0, ph[39] = 6;
            phl = 40;
        } else {
            memcpy(ph, b + 12, 8);
            ph[8] = 0, ph[9] = 6;
            h_put16(ph + 10, (uint32_t)clen);
            phl = 12;
        }
        uint32_t sum = sf_csum_add(0, ph, phl);
        sum = sf_csum_add(sum, t, clen);
        h_put16(t + 16, sf_csum_fold(sum));
    }
    return send;
}

static inline void h_in(const struct h_seg *s)
{
    uint8_t b[1600 + 64 + 40];
    size_t n = h_build(s, b);
    sf_stack_input(H.st, H.now, b, n);
}

/* ------------------------------------------------- snapshots, answers */

static inline struct sf_tcp_info h_info(void)
{
    struct sf_tcp_info in;
    memset(&in, 0, sizeof in);
    struct sf_addr l = h_addr(true, H.sport), r = h_addr(false, H.pport);
    if (sf_tcp_info_by_addr(H.st, &l, &r, &in) != 0)
        in.state = SF_CLOSED;
    return in;
}

static inline uint64_t h_ctr(enum sf_counter c)
{
    return sf_stack_counters(H.st)->c[c];
}

static inline uint64_t h_drops(enum sf_drop d)
{
    return sf_stack_counters(H.st)->drops[d];
}

/* Remembers the counters and the connection before a hostile segment. */
static inline void h_snap(void)
{
    H.snap = *sf_stack_counters(H.st);
    H.isnap = h_info();
    h_clear();
}

/* The connection is as h_snap found it: state and sequence variables. */
static inline void h_unchanged(void)
{
    struct sf_tcp_info now = h_info();
    CHECK_EQ(now.state, H.isnap.state);
    CHECK_EQ(now.snd_una, H.isnap.snd_una);
    CHECK_EQ(now.snd_nxt, H.isnap.snd_nxt);
    CHECK_EQ(now.rcv_nxt, H.isnap.rcv_nxt);
    CHECK_EQ(now.snd_wnd, H.isnap.snd_wnd);
    CHECK_EQ(now.rcvq, H.isnap.rcvq);
}

/* Since h_snap: exactly one drop, for `why`, nothing sent, no change. */
static inline void h_dropped(enum sf_drop why)
{
    const struct sf_counters *c = sf_stack_counters(H.st);
    CHECK_EQ(c->drops[why] - H.snap.drops[why], 1);
    CHECK_EQ(c->c[SF_CTR_DROPS] - H.snap.c[SF_CTR_DROPS], 1);
    CHECK_EQ(H.nq, 0);
    h_unchanged();
}

/* Since h_snap: nothing dropped, nothing sent, no change. */
static inline void h_ignored(void)
{
    CHECK_EQ(h_ctr(SF_CTR_DROPS) - H.snap.c[SF_CTR_DROPS], 0);
    CHECK_EQ(H.nq, 0);
    h_unchanged();
}

/* The one segment since h_snap is a bare ACK of the connection's
 * RCV.NXT from SND.NXT (a duplicate ACK, a challenge ACK). */
static inline void h_acked(void)
{
    struct sf_tcp seg;
    if (!h_one(&seg))
        return;
    struct sf_tcp_info in = h_info();
    CHECK_EQ(seg.flags, SF_ACK);
    CHECK_EQ(seg.seq, in.snd_nxt);
    CHECK_EQ(seg.ack, in.rcv_nxt);
    CHECK_EQ(seg.len, 0);
}

/* ------------------------------------------------------- connections */

static inline void h_listen(void)
{
    H.lsd = sf_socket(H.st);
    CHECK(H.lsd >= 0);
    struct sf_addr any = {.port = H_PORT};
    if (H.v6)
        any.family = SF_AF_INET6;
    CHECK_EQ(sf_bind(H.st, H.lsd, &any), 0);
    CHECK_EQ(sf_listen(H.st, H.lsd, 16), 0);
}

/* The peer's SYN with raw options opt, the stack's SYN,ACK, the ACK, and
 * sf_accept: H.sd is ESTABLISHED. Returns the SYN,ACK's options. */
static inline struct sf_tcp_opts h_accept_opts(const uint8_t *opt, size_t optlen)
{
    struct sf_tcp_opts none;
    memset(&none, 0, sizeof none);
    h_clear();
    H.sport = H_PORT;
    h_in(&(struct h_seg){.flags = SF_SYN, .seq = H.pisn, .opt = opt,
                         .optlen = optlen});
    struct sf_tcp sa;
    if (!h_one(&sa))
        return none;
    CHECK_EQ(sa.flags & (SF_SYN | SF_ACK | SF_RST), SF_SYN | SF_ACK);
    CHECK_EQ(sa.ack, H.pisn + 1);
    H.iss = sa.seq;
    H.snxt = sa.seq + 1;
    if (sa.opt.has_ts) {
        H.ts = true;
        H.tsecr = sa.opt.ts_val;
    }
    H.pnxt = H.pisn + 1;
    h_in(&(struct h_seg){.flags = SF_ACK, .seq = H.pnxt, .ack = H.snxt});
    H.sd = sf_accept(H.st, H.lsd, NULL);
    CHECK(H.sd >= 0);
    CHECK_EQ(h_info().state, SF_ESTABLISHED);
    h_clear();
    return sa.opt;
}

static inline void h_accept(void)
{
    static const uint8_t mss[] = {2, 4, 0x05, 0xb4}; /* mss 1460 */
    h_accept_opts(mss, sizeof mss);
}

/* A listener and one accepted connection. */
static inline void h_established(bool v6, h_tweak tweak)
{
    h_setup(v6, tweak);
    h_listen();
    h_accept();
}

/* sf_connect to the peer: H.sd in SYN_SENT, its SYN consumed. */
static inline void h_connect(void)
{
    H.sd = sf_socket(H.st);
    CHECK(H.sd >= 0);
    struct sf_addr to = h_addr(false, H_PORT);
    CHECK_EQ(sf_connect(H.st, H.sd, &to), SF_EINPROGRESS);
    struct sf_tcp syn;
    if (!h_one(&syn))
        return;
    CHECK_EQ(syn.flags & (SF_SYN | SF_ACK), SF_SYN);
    /* the peer is now the server: its port is the one connected to */
    H.pport = H_PORT;
    H.sport = syn.sport;
    H.iss = syn.seq;
    H.snxt = syn.seq + 1;
    H.pnxt = H.pisn + 1;
    CHECK_EQ(h_info().state, SF_SYN_SENT);
}

/* The connection still works both ways: 5 bytes in (read back, ACKed
 * within the delayed-ACK time) and 5 bytes out (ACKed by the peer). */
static inline void h_alive(void)
{
    h_clear();
    struct sf_tcp_info in = h_info();
    CHECK_EQ(in.state, SF_ESTABLISHED);
    h_in(&(struct h_seg){.flags = SF_ACK | SF_PSH, .seq = in.rcv_nxt,
                         .ack = in.snd_nxt, .len = 5});
    h_advance(500 * SF_MSEC);
    struct sf_tcp seg;
    bool acked = false;
    for (int i = 0; i < H.nq; i++)
        if (h_seg_at(i, &seg) && seg.ack == in.rcv_nxt + 5)
            acked = true;
    CHECK(acked);
    uint8_t buf[64];
    CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), (long)in.rcvq + 5);
    h_clear();
    CHECK_EQ(sf_send(H.st, H.sd, "hello", 5, 0), 5);
    h_advance(SF_MSEC);
    bool sent = false;
    for (int i = 0; i < H.nq; i++)
        if (h_seg_at(i, &seg) && seg.len == 5 && seg.seq == in.snd_nxt)
            sent = true;
    CHECK(sent);
    h_in(&(struct h_seg){.flags = SF_ACK, .seq = in.rcv_nxt + 5,
                         .ack = in.snd_nxt + 5});
    CHECK_EQ(h_info().snd_una, in.snd_nxt + 5);
    h_clear();
}

#endif
