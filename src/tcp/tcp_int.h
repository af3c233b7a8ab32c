/* The TCP protocol engine: the TCB (struct sf_conn), the per-stack TCP
 * context, and RFC 9293's events (3.10). Uses only base/ and wire/.
 *
 * The stack layer above owns the tables (demux hash, bound ports,
 * descriptors) and calls in here; this layer never calls back up. When a
 * connection leaves the protocol (CLOSED, or a passive child returned to
 * LISTEN) this layer sets conn->dead, and the stack unhashes and frees it
 * once the call returns. */
#ifndef SF_TCP_TCP_INT_H
#define SF_TCP_TCP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ring.h"
#include "base/wheel.h"
#include "synfin/synfin.h"
#include "tcp/seq.h"
#include "synfin/wire.h"

/* RFC 9293 3.7.1 (MUST-15): "If an MSS Option is not received at
 * connection setup, TCP implementations MUST assume a default send MSS of
 * 536 (576 - 40) for IPv4". */
#define TCP_DEFAULT_MSS 536
/* RFC 9293 3.1: the Window field is 16 bits; without window scaling (RFC
 * 7323) no window offered can be larger. */
#define TCP_MAX_WIN 65535u
/* RFC 7323 2.3: "the maximum scale exponent is limited to 14". */
#define TCP_MAX_WSCALE 14
/* RFC 7323 3.2: the TSopt is 10 bytes, 12 with the NOPs that align it */
#define TCP_TSOPT_ALIGNED 12
/* RFC 6298 5.7: "the RTO MUST be re-initialized to 3 seconds when data
 * transmission begins" if the SYN was retransmitted without an RTT sample
 * (in microseconds, as c->rto_us). */
#define TCP_RTO_SYN_LOST_US 3000000u

/* RFC 9293 3.7.1: the default send MSS for IPv6 is "1220 (1280 - 60)":
 * the IPv6 minimum MTU (RFC 8200 5) less 40 bytes of IPv6 and 20 of TCP
 * header. */
#define TCP_DEFAULT_MSS6 1220
/* The IPv6 header is 20 bytes longer than IPv4's: over the same MTU an
 * IPv6 segment carries this much less (cfg->mss is for IPv4). */
#define TCP_MSS6_LESS 20

/* The network layer of a segment, either family: the addresses with the
 * TCP ports filled in (src is the sender's), and the ECN-carrying byte
 * (IPv4 TOS or IPv6 Traffic Class, RFC 3168 5 and RFC 8200 7). The stack
 * fills it from sf_ipv4_parse or sf_ipv6_parse; the engine sees no
 * difference between the families but the address and the MSS. */
struct tcp_ip {
    struct sf_addr src, dst;
    uint8_t tos;
};

/* Per-stack TCP context. Embedded in struct sf_stack. */
struct tcp_ctx {
    const struct sf_stack_cfg *cfg;
    bool in_batch; /* the datagram being input came with SF_IN_BATCH */
    struct wheel wheel;
    struct sf_counters ctr;
    sf_time_t now;
    uint8_t isn_key[16];    /* RFC 6528 secret, derived from cfg->seed */
    uint8_t cookie_key[16]; /* RFC 4987 secret */
    uint16_t ip_id;
    /* RFC 5961 7: the stack-wide challenge ACK budget of the current
     * one-second period, drawn anew each period with a keyed hash
     * (chack_key, from cfg->seed): oow.c */
    uint8_t chack_key[16];
    uint64_t chack_period; /* now / 1 s, plus 1; 0 before the first */
    unsigned chack_left;
    unsigned orphans; /* connections held with no descriptor (stack.c) */
    uint8_t *obuf; /* one outgoing datagram */
    size_t ocap;
    uint8_t *pbuf; /* payload gathered from a send ring */
    struct ring_cache rcache; /* empty ring storages for reuse (ring.h) */
    uint64_t syn_id; /* the last sf_syn_info.id given out (listen.c) */
    struct mem_acct mem; /* cfg.mem_max: every buffer's bytes (mem.h) */
    /* a send was refused at the cap (sf_conn.snd_mem_wait); the stack
     * wakes the waiters once memory frees (stack_mem_wake) */
    bool mem_waiting;
    /* cfg.output_flush: gathered datagrams went out since the last call
     * (tcp_out_flush) */
    bool gather_kept;
};

/* cfg.output_flush: before a send ring's storage may move or be freed,
 * the driver is told to be done with the slices it kept (synfin.h). */
static inline void tcp_out_flush(struct tcp_ctx *ctx)
{
    if (ctx->gather_kept) {
        ctx->gather_kept = false;
        ctx->cfg->output_flush(ctx->cfg->output_ctx);
    }
}

/* A connection's timeouts. Each has a deadline; the connection holds one
 * wheel entry, armed at the earliest of them, so a TCB pays for one timer
 * however many it runs. The retransmission and persist timers (RFC 9293
 * 3.8.6.1) never run at once (persist only while no retransmission timer
 * watches the connection), so they share TT_REXMT; persist_on says which
 * of the two the slot holds. tcp_timer_start(TT_REXMT) always means the
 * retransmission timer; tcp_persist_start() the persist timer. TT_PACE
 * is no timeout: the time the next paced burst may leave (pacing.c). */
enum tcp_timer_slot { TT_REXMT, TT_LONG, TT_PACE, TT_DELACK, TT_NTIMERS };
#define TT_NWIDE 3 /* slots with a full deadline; TT_DELACK keeps 32 bits */
/* keepalive runs in ESTABLISHED only, the 2*MSL and FIN_WAIT_2 waits
 * after it: one slot serves both, told apart by the state */
#define TT_KEEP TT_LONG
#define TT_WAIT TT_LONG
/* Wheel entry kinds: what a popped sf_timer is embedded in. */
enum tcp_timer_kind { TK_CONN, TK_REQ, TK_TW };

struct sf_conn {
    /* --- owned by the stack layer --- */
    struct sf_conn *hnext;    /* demux (or listener) hash chain */
    struct sf_conn *qnext;    /* the next in that accept queue */
    struct tcp_lq *lq;        /* a listener's queues (LISTEN only) */
    struct ring sndbuf, rcvbuf;
    struct wheel_timer timer;
    sf_time_t deadline[TT_NWIDE]; /* SF_TIME_NEVER when off */
    uint32_t delack_ms; /* the delayed ACK's deadline, if delack_on */
    struct sf_addr local, remote;
    int32_t sd; /* descriptor, -1 once released */

    /* --- RFC 9293 3.3.1 --- */
    uint32_t iss, irs;
    uint32_t snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2;
    uint32_t snd_max;     /* highest sequence number sent + 1 */
    uint32_t max_snd_wnd; /* RFC 5961 5.2: MAX.SND.WND */
    uint32_t rcv_nxt, rcv_wnd; /* no urgent pointers: see step six */
    uint32_t snd_buf_seq; /* sequence number of sndbuf's first byte */
    uint32_t fin_seq;     /* our FIN's sequence number, if fin_queued */
    uint32_t rfin_seq;    /* the peer's FIN, if rfin */
    uint32_t rcv_acked;   /* RCV.NXT as last acknowledged */
    uint32_t rcv_adv;     /* right edge RCV.NXT + RCV.WND last offered */
    uint32_t snd_sml;     /* end of the last sub-MSS segment sent (Nagle) */
    /* RFC 5681 / 6582 */
    uint32_t cwnd, ssthresh, recover;
    /* RFC 7661 / RFC 9438 4.6: how far the sender used cwnd in the
     * window that ends when SND.UNA reaches cwnd_use_seq (cc.c) */
    uint32_t cwnd_use_seq, cwnd_use_max;
    bool cwnd_use_full;
    uint32_t sndbuf_size, rcvbuf_size;
    /* the storage each ring had last: a ring read dry or all
     * acknowledged gives its storage up, and its next starts at that
     * size (wscale.c storage_for) */
    uint32_t snd_storage_last, rcv_storage_last;
    uint32_t snd_resv; /* bytes tcp_send_reserve showed, until commit */

    /* RFC 6298 state in microseconds, other times in milliseconds of the
     * stack clock modulo 2^32: differences stay right across the wrap for
     * spans shorter than 71 minutes (us) or 49 days (ms). */
    uint32_t rto_us, srtt_us, rttvar_us;
    uint32_t rtt_seq, rtt_start_us;
    uint32_t una_since_ms; /* when SND.UNA last moved (TCP_USER_TIMEOUT) */
    uint32_t last_rcv_ms;  /* last segment received (keepalive idle) */
    uint32_t keepidle_ms, keepintvl_ms, user_timeout_ms;

    uint16_t snd_mss;  /* effective send MSS (3.7.1) */
    uint16_t user_mss; /* TCP_MAXSEG, 0 = default */
    uint16_t rcv_mss;  /* "full-sized" received: largest, <= our MSS */
    uint16_t linger_secs;
    int16_t error;       /* pending SO_ERROR (negative SF_E*), 0 if none */
    int16_t reset_error; /* sticky: connection ended by this error */
    uint8_t nrexmt;      /* consecutive retransmissions of the front */
    uint8_t keepcnt, keepprobes;
    uint8_t dupacks;
    uint8_t orphan_tries; /* timeouts since orphaned, without progress */
    uint32_t oow_last_ms; /* last rate-limited ACK (oow.c), if oow_sent */
    /* RFC 9293 3.9.2.2: the last ICMP soft error (negative SF_E*, 0 if
     * none) and SND.UNA when it came: reported instead of ETIMEDOUT if
     * the connection times out with no progress since (pmtu.c) */
    int16_t soft_error;
    uint32_t soft_una;

    /* --- state and flags --- */
    unsigned state : 4; /* enum sf_state */
    bool hashed : 1, in_ltab : 1, bound : 1, explicit_bind : 1, bound_strict : 1;
    bool passive : 1;       /* opened from LISTEN (3.10.7.4: RST -> LISTEN) */
    bool fin_queued : 1;    /* CLOSE called: FIN goes after the data */
    bool fin_rcvd : 1;      /* peer's FIN received (RCV.NXT is past it) */
    bool shut_rd : 1;       /* shutdown(SHUT_RD) */
    bool app_closed : 1;    /* descriptor released */
    bool snd_mem_wait : 1;  /* sf_send refused at the memory cap: wake it */
    bool dead : 1;          /* out of the protocol: stack must free it */
    bool ack_now : 1;       /* an ACK is owed */
    bool connect_seen : 1;  /* sf_connect has reported success once */
    bool syn_rexmitted : 1;
    bool in_acceptq : 1;
    bool ack_pending : 1;   /* data received, ACK delayed (3.8.6.3) */
    bool in_recovery : 1;   /* RFC 6582 fast recovery */
    bool rfin : 1;          /* the peer's FIN is known, at rfin_seq */
    bool linger_on : 1, nodelay : 1, keepalive : 1, reuseaddr : 1;
    bool have_rtt : 1, rtt_timing : 1;
    bool delack_on : 1;
    bool oow_sent : 1;       /* oow_last_ms is set */
    bool orphan_counted : 1; /* counted in tcp_ctx.orphans */
    /* Our SYN is acknowledged: the connection is synchronized (RFC 9293
     * 3.5). A flag, not SND.UNA > ISS: that comparison turns false again
     * once SND.UNA is 2^31 past ISS (3.4: sequence numbers are compared
     * modulo 2^32, so only points less than 2^31 apart can be ordered). */
    bool syn_acked : 1;
    bool persist_on : 1; /* TT_REXMT holds the persist timer */
    bool rcv_adv_set : 1; /* rcv_adv holds an offer (an ACK was sent) */
    /* RFC 2018: sack_want offers SACK-permitted (cfg.sack, SF_TCP_SACK);
     * sack_ok: both SYNs carried it, SACK is in use (sack.c) */
    bool sack_want : 1, sack_ok : 1;
    bool dsack_on : 1; /* RFC 2883: a D-SACK block is owed, dsack[] */
    bool tlp_on : 1;   /* TT_REXMT holds the RFC 8985 loss probe (PTO) */
    /* RFC 8985 7.3-7.4 (sack.c): a probe's episode is open (TLP.end_seq
     * in tlp_end is set), the probe was a retransmission
     * (TLP.is_retrans), and no RTT sample came since it was sent */
    bool tlp_episode : 1, tlp_is_retrans : 1, tlp_no_rtt : 1;
    /* RFC 8985 6 RACK (rack.c): rack_want (cfg.rack, SF_TCP_RACK);
     * rack_tmr_on: TT_REXMT holds the reordering timer (6.3) */
    bool rack_want : 1, rack_tmr_on : 1;
    bool rack_reord : 1; /* RFC 8985 6.1 RACK.reordering_seen */
    bool dsack_in_set : 1; /* dsack_in holds the last D-SACK taken */
    uint32_t dsack[2];  /* the duplicate [start, end) to report once */
    uint32_t dsack_in[2]; /* the peer's last D-SACK block (sack.c) */
    uint32_t tlp_end;     /* RFC 8985 7.4 TLP.end_seq, with tlp_episode */
    struct tcp_sb *sb;  /* the sender's SACK scoreboard, while it has news */
    struct tcp_rack *rack; /* RFC 8985 send times, while data is in flight */
    /* RFC 8985 6.1, kept while idle (the path's): RACK.min_RTT (0: none
     * yet), RACK.reo_wnd_mult, RACK.reo_wnd_persist */
    uint32_t rack_min_rtt_us;
    uint8_t rack_reo_mult, rack_reo_persist;

    /* --- RFC 7323 (wscale.c, ts.c) and buffer autotuning --- */
    uint32_t ts_recent;    /* TS.Recent (4.3) */
    uint32_t ts_recent_ms; /* when TS.Recent was set (5.5: 24 days) */
    uint32_t ts_offset;    /* 5.4, 7.1: this connection's clock offset */
    uint32_t rcv_rtt_us;   /* receiver's RTT estimate from TSecr (DRS) */
    uint32_t rcvq_space;   /* DRS: bytes read in the last measured RTT */
    uint32_t rcvq_copied;  /* bytes read since rcvq_us */
    uint32_t rcvq_us;      /* start of the current measurement */
    /* RFC 3522 RetransmitTS; RFC 4015 the window before the timeout:
     * cwnd and pipe_prev = max(FlightSize, ssthresh) (eifel.c) */
    uint32_t eifel_ts, eifel_cwnd, eifel_pipe;
    uint8_t snd_wscale : 4; /* Snd.Wind.Shift: the peer's, 0..14 */
    uint8_t rcv_wscale : 4; /* Rcv.Wind.Shift: ours */
    bool want_wscale : 1, want_ts : 1; /* offered (per socket) */
    bool wscale_ok : 1, ts_ok : 1;     /* negotiated */
    bool ts_upd : 1;       /* 4.3: this segment may update TS.Recent */
    bool eifel_on : 1;     /* RFC 3522: a timeout's retransmission to judge */
    bool rcvbuf_lock : 1, sndbuf_lock : 1; /* SO_RCVBUF/SO_SNDBUF set */
    /* RFC 3168 ECN (ecn.c) */
    uint8_t ecn_mode;    /* SF_TCP_ECN: 0 off, 1 ask and accept, 2 accept */
    bool ecn_ok : 1;     /* negotiated (SYN_SENT: our SYN asked for it) */
    bool ecn_ece : 1;    /* receiver: CE seen, ECE on every ACK until CWR */
    bool ecn_cwr : 1;    /* sender: CWR due on the next new data segment */
    bool ecn_cut : 1;    /* sender: reduced for ECE, up to ecn_high */
    uint32_t ecn_high;   /* SND.MAX when cwnd was last reduced for ECE */
    /* --- congestion control (cc.c, cc_cubic.c) --- */
    uint8_t cc_algo; /* enum tcp_cc_algo: 0 = the stack's default */
    bool cubic_epoch : 1;  /* an epoch is running (t_epoch, K valid) */
    bool hs_on : 1;        /* HyStart++: the initial slow start */
    /* RFC 9406 HyStart++'s RTT samples and round state (struct tcp_hs in
     * cc.h): allocated while hs_on and data is in flight; NULL otherwise
     * (hs_idle_rtt then keeps currentRoundMinRTT, all that an idle
     * connection's next round needs) */
    struct tcp_hs *hs;
    /* what the controller saved at a reduction that D-SACKs may yet show
     * spurious (struct tcp_cc_undo in cc.h), NULL when none can */
    struct tcp_cc_undo *cc_undo;
    /* RFC 9438 4.1.2 (bytes, ms of the stack clock modulo 2^32) */
    uint32_t cubic_w_max, cubic_cwnd_epoch, cubic_w_est;
    uint32_t cubic_k_ms, cubic_t_epoch_ms;
    uint32_t cubic_acc;     /* remainder of a division by cwnd */
    uint64_t cubic_est_acc; /* remainder of a division by 17 * cwnd */
    uint32_t hs_idle_rtt;   /* currentRoundMinRTT while hs is parked (us) */
    uint32_t cubic_cwnd_prior; /* RFC 9438 4.1.2 cwnd_prior */
    /* --- sender pacing (pacing.c); TT_PACE holds its timer --- */
    sf_time_t pace_next;     /* earliest departure of the next burst */
    uint64_t pace_max_rate;  /* SF_SO_MAX_PACING_RATE, bytes/s; 0: none */
    uint32_t pace_credit;    /* bytes the current burst may still send */
    uint32_t min_rtt_us;     /* smallest RTT sample (tcp_rto_sample); 0: none */
    uint8_t pace_segs;       /* data segments sent, up to the unpaced few */
    bool pace_on : 1;        /* cfg.pacing, SF_TCP_PACING */
    /* IPv6 sockets (socket.c): IPV6_V6ONLY set; the application sees this
     * IPv4 connection's addresses as ::ffff:a.b.c.d (RFC 4291 2.5.5.2) */
    bool v6only : 1, v4mapped : 1;
    /* SF_IP_TRANSPARENT: a listener for addresses the stack does not own
     * (docs/transparent.md); its per-SYN filter (sf_listen_filter) */
    bool transparent : 1;
    sf_syn_fn syn_fn;
    void *syn_arg;
    /* RFC 5961 5.2: bytes (and SYN, FIN) SND.UNA has moved over in all:
     * no ACK may lie further back than what was ever acknowledged */
    uint64_t bytes_acked;
    /* The TS clock when the retransmission timer last sent again: an
     * older TSecr names a transmission before it (ts.c, RTTM). */
    uint32_t rexmt_ts;
};

/* What only a listener needs: its two queues (3.10.7.2; RFC 4987). */
struct tcp_lq {
    struct tcp_req *synq;                   /* half-open requests */
    struct sf_conn *acceptq, *acceptq_tail; /* established, FIFO */
    unsigned synq_len, acceptq_len;
    int backlog;
    sf_time_t last_cookie; /* when a SYN cookie was last sent, + 1 */
};

/* A passive connection in SYN_RCVD, kept small (RFC 4987 3.1): what it
 * takes to answer the handshake. On a segment or a timeout it is expanded
 * into a full TCB on the C stack (tcp_req_inflate), run through the same
 * code as any connection, and folded back or promoted (listen.c). */
struct tcp_req {
    struct tcp_req *hnext;        /* stack's request table chain */
    struct sf_addr local, remote; /* the key: consecutive */
    struct wheel_timer timer;        /* SYN,ACK retransmission: TK_REQ */
    struct sf_conn *listener;
    struct tcp_req *qnext, *qprev; /* the listener's SYN queue */
    uint32_t iss, irs;
    uint32_t rto_ms;
    uint16_t snd_wnd, snd_mss;
    uint8_t nrexmt;
    bool syn_rexmitted;
    /* RFC 7323: what the SYN negotiated, so that a retransmitted SYN,ACK
     * carries the same options (2.2, 3.2) and TSecr */
    uint8_t snd_wscale : 4, rcv_wscale : 4;
    bool wscale_ok : 1, ts_ok : 1;
    uint32_t ts_recent;
    bool sack_ok; /* RFC 2018: both SYNs carry SACK-permitted */
    bool ecn_ok; /* RFC 3168: the SYN was ECN-setup and we accepted */
    /* SF_SYN_DEFER: held unanswered (no SYN,ACK sent) until
     * sf_syn_decide names defer_id; the timer is then the
     * syn_defer_timeout expiry. dnext: the stack's table by id. */
    bool deferred;
    uint64_t defer_id;
    struct tcp_req *dnext;
    /* RFC 6298 2.2, 3: the SYN,ACK timed (sent once) since rtt_start_us,
     * so that the ACK completing the handshake gives the first RTT sample */
    bool rtt_timing;
    uint32_t rtt_start_us;
};

/* A connection in TIME_WAIT whose application has let go: the numbers
 * that answer a retransmitted FIN, for 2*MSL. The records sit in a FIFO
 * in expiry order (every restart is now + 2*MSL, so it goes to the tail)
 * under one stack-wide timer. */
struct tcp_tw {
    struct tcp_tw *hnext;
    struct sf_addr local, remote;
    struct tcp_tw *next, *prev; /* the FIFO */
    sf_time_t expires;
    uint32_t snd_nxt, rcv_nxt;
    /* RFC 7323 5.8 (PAWS in TIME_WAIT) and the scaled window of its ACKs */
    uint32_t ts_recent;
    uint8_t rcv_wscale : 4;
    bool ts_ok : 1;
};

static inline uint32_t tcp_now_ms(const struct tcp_ctx *ctx)
{
    return (uint32_t)(ctx->now / SF_MSEC);
}
static inline uint32_t tcp_now_us(const struct tcp_ctx *ctx)
{
    return (uint32_t)(ctx->now / SF_USEC);
}
/* The MSS we advertise: TCP_MAXSEG if set, else the stack's for the
 * connection's family (IPv6: MTU - 60, RFC 9293 3.7.1, 20 below
 * IPv4's). It is also the size of the peer's full segments (3.8.6.2.2,
 * 3.8.6.3). */
static inline uint16_t tcp_our_mss(const struct tcp_ctx *ctx,
                                   const struct sf_conn *c)
{
    if (c->user_mss)
        return c->user_mss;
    if (c->local.family == SF_AF_INET6)
        return (uint16_t)(ctx->cfg->mss - TCP_MSS6_LESS);
    return ctx->cfg->mss;
}
/* The peer's MSS option (when absent, RFC 9293 3.7.1: 536 over IPv4,
 * 1220 over IPv6), raised to cfg->min_snd_mss: an MSS of 1 would have us
 * cut the stream into 1-byte segments, a CPU and bandwidth cost the peer
 * chooses (CVE-2019-11479). */
static inline uint16_t tcp_peer_mss(struct tcp_ctx *ctx,
                                    const struct sf_tcp *s, uint8_t family)
{
    uint16_t peer = s->opt.has_mss ? s->opt.mss
                    : family == SF_AF_INET6 ? TCP_DEFAULT_MSS6
                                            : TCP_DEFAULT_MSS;
    if (peer < ctx->cfg->min_snd_mss) {
        ctx->ctr.c[SF_CTR_MSS_CLAMPED]++;
        peer = ctx->cfg->min_snd_mss;
    }
    return peer;
}
/* The sequence space in flight in whole SMSS: what bounds the SACK
 * scoreboard and the RACK list (tcp_sack_limit, tcp_rack_limit). */
static inline uint64_t tcp_flight_segs(const struct sf_conn *c)
{
    return (uint64_t)(c->snd_max - c->snd_una) / (c->snd_mss ? c->snd_mss : 1);
}

static inline sf_time_t tcp_rto(const struct sf_conn *c)
{
    return (sf_time_t)c->rto_us * SF_USEC;
}

/* RFC 7323 6: "SEG.WND << Snd.Wind.Shift" for every segment but a SYN,
 * whose window "is never scaled" (2.2). snd_wscale is 0 unless
 * negotiated. */
static inline uint32_t tcp_seg_wnd(const struct sf_conn *c,
                                   const struct sf_tcp *s)
{
    return (s->flags & SF_SYN) ? s->win : (uint32_t)s->win << c->snd_wscale;
}

/* wscale.c: RFC 7323 window scaling, buffer autotuning */
/* Rcv.Wind.Shift for our SYN: the smallest shift whose largest window
 * covers the receive buffer this connection may grow to. */
void tcp_wscale_choose(const struct tcp_ctx *ctx, struct sf_conn *c);
/* The peer's SYN (or SYN,ACK) s: window scaling and timestamps are on if
 * we offered them and s carries them. */
void tcp_syn_options_in(struct tcp_ctx *ctx, struct sf_conn *c,
                        const struct sf_tcp *s);
/* Our SYN or SYN,ACK's options beyond MSS. */
void tcp_syn_options_out(struct tcp_ctx *ctx, const struct sf_conn *c,
                         struct sf_tcp *seg);
/* The window field for a segment offering wnd bytes; *offered: the bytes
 * it stands for (RFC 7323 2.4 rounding). */
uint16_t tcp_win_field(const struct sf_conn *c, bool syn, uint32_t wnd,
                       uint32_t *offered);
/* The largest window we may offer. */
uint32_t tcp_max_rcv_window(const struct sf_conn *c);
/* The receive ring with room for text up to sequence number end
 * (within tcp_rcv_cap; the storage grows as the ring fills); 0 or -1. */
int tcp_rcvbuf_reserve(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t end);
/* The send ring likewise for want more bytes (within sndbuf_size); -2:
 * the memory cap (cfg.mem_max) leaves no room now. */
int tcp_sndbuf_reserve(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t want);
/* The send ring's storage freed, the output driver told first
 * (tcp_out_flush: it may hold slices of it). */
void tcp_sndbuf_free(struct tcp_ctx *ctx, struct sf_conn *c);
/* DRS: the application read n bytes. */
void tcp_rcvbuf_autotune(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t n);
/* The send buffer follows the congestion window. */
void tcp_sndbuf_autotune(struct tcp_ctx *ctx, struct sf_conn *c);
/* Any option a segment other than a SYN must not carry is counted. */
void tcp_options_not_syn(struct tcp_ctx *ctx, const struct sf_tcp *s);

/* ts.c: RFC 7323 timestamps, PAWS, RTTM */
uint32_t tcp_ts_offset(const struct tcp_ctx *ctx, const struct sf_addr *local,
                       const struct sf_addr *remote);
static inline uint32_t tcp_ts_now(const struct tcp_ctx *ctx,
                                  const struct sf_conn *c)
{
    return (uint32_t)(ctx->now / SF_MSEC) + c->ts_offset;
}
/* TSopt on a segment we send (3.2: every segment once negotiated). */
void tcp_ts_out(const struct tcp_ctx *ctx, const struct sf_conn *c,
                struct sf_tcp *seg);
/* SEGMENT ARRIVES: 5.3 PAWS before the first check, 4.3 TS.Recent after. */
struct tcp_disp tcp_ts_paws(struct tcp_ctx *ctx, struct sf_conn *c,
                            const struct tcp_ip *ip, struct sf_tcp *s);
struct tcp_disp tcp_ts_update(struct tcp_ctx *ctx, struct sf_conn *c,
                              const struct tcp_ip *ip, struct sf_tcp *s);
/* 4.1 RTTM: an ACK of new data that echoes a timestamp gives an RTT
 * sample; true if it did. */
bool tcp_ts_rtt(struct tcp_ctx *ctx, struct sf_conn *c,
                const struct sf_tcp *s);

/* conn.c: lifecycle, state changes, tracing */
void tcp_conn_init(struct tcp_ctx *ctx, struct sf_conn *c);
void tcp_conn_destroy(struct tcp_ctx *ctx, struct sf_conn *c);
void tcp_set_state(struct tcp_ctx *ctx, struct sf_conn *c, enum sf_state to,
                   enum sf_cause cause);
/* A state change that is no event of its own, so not traced: a passive
 * child born as a copy of its listener. Checked against the table and
 * counted as tcp_set_state() does. */
void tcp_set_state_untraced(struct tcp_ctx *ctx, struct sf_conn *c,
                            enum sf_state to, enum sf_cause cause);
/* Starts tmp as the TCB of a small record (SYN queue request, TIME_WAIT
 * record) in state: the record is counted there already, so this is no
 * transition and counts nothing. */
void tcp_conn_init_record(struct tcp_ctx *ctx, struct sf_conn *tmp,
                          enum sf_state state);
void tcp_drop(struct tcp_ctx *ctx, struct sf_conn *c, enum sf_drop why,
              const struct tcp_ip *ip, const struct sf_tcp *seg);
void tcp_note(struct tcp_ctx *ctx, struct sf_conn *c, const char *note);
void tcp_trace_seg(struct tcp_ctx *ctx, enum sf_trace_kind kind, int sd,
                   const struct tcp_ip *ip, const struct sf_tcp *seg,
                   const uint8_t *dgram, size_t len);
void tcp_wakeup(struct tcp_ctx *ctx, struct sf_conn *c);
/* Ends the connection: error for the user (0 for none), then CLOSED. */
void tcp_terminate(struct tcp_ctx *ctx, struct sf_conn *c, int error,
                   enum sf_cause cause);
void tcp_info(const struct tcp_ctx *ctx, const struct sf_conn *c,
              struct sf_tcp_info *info);
/* Moves a TCB (its timer re-armed) from src to dst. */
void tcp_conn_move(struct tcp_ctx *ctx, struct sf_conn *dst,
                   struct sf_conn *src);

/* reass.c: out-of-order data kept in the receive ring itself */
struct tcp_reass;
/* Stores [seq, seq+len) (RCV.NXT < seq) where no earlier copy is held;
 * returns false (nothing stored) when the range limits are reached. */
bool tcp_reass_store(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                     const uint8_t *data, uint32_t len);
/* Writes in-order data at RCV.NXT around what is already held and
 * returns how far RCV.NXT may advance (len plus any ranges it joins). */
uint32_t tcp_reass_in_order(struct sf_conn *c, const uint8_t *data,
                            uint32_t len, bool *filled_hole);
bool tcp_reass_empty(const struct sf_conn *c);
void tcp_reass_free(struct sf_conn *c);
/* Memory pressure: drops c's out-of-order data if the receive storage is
 * held for it alone (and frees that storage); the bytes pruned. */
uint32_t tcp_reass_prune(struct tcp_ctx *ctx, struct sf_conn *c);
/* Forgets held bytes at or past the peer's FIN at fin. */
void tcp_reass_cut(struct sf_conn *c, uint32_t fin);
/* RFC 2018 4: up to max SACK blocks from the held ranges, the one holding
 * the most recently received segment first, then those reported most
 * recently, then the rest. Returns how many. */
unsigned tcp_reass_sack_blocks(const struct sf_conn *c, uint32_t (*blk)[2],
                               unsigned max);

/* sack.c: RFC 2018 SACK, RFC 2883 D-SACK, RFC 6675 recovery, RFC 6937 PRR */
/* The sender's scoreboard holds at most tcp_sack_limit() SACKed ranges:
 * TCP_SB_MIN, plus one per SMSS in flight, never more than TCP_SB_HARD
 * (docs/stream.md). */
#define TCP_SB_MIN 16
#define TCP_SB_HARD 65536
struct tcp_sb_range {
    uint32_t start, end;
};
unsigned tcp_sack_limit(const struct sf_conn *c);
/* The scoreboard's ranges, sorted (rack.c reads them in place). */
const struct tcp_sb_range *tcp_sack_view(const struct sf_conn *c,
                                         unsigned *n);
void tcp_sack_negotiate(struct sf_conn *c, const struct sf_tcp *syn);
void tcp_sack_fill(struct tcp_ctx *ctx, struct sf_conn *c,
                   struct sf_tcp_opts *opt);
/* A segment (partly) below RCV.NXT arrived: owed a D-SACK. */
void tcp_sack_rcv_old(struct sf_conn *c, const struct sf_tcp *s);
void tcp_sack_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                     const struct sf_tcp *s, uint32_t acked, bool dup);
void tcp_sack_on_rto(struct sf_conn *c);
bool tcp_sack_recovering(const struct sf_conn *c);
uint32_t tcp_sack_pipe(const struct sf_conn *c);
/* the bytes cwnd limits: pipe with SACK information, else FlightSize */
uint32_t tcp_sack_inflight(const struct sf_conn *c);
/* after an RTO: what RACK found lost again goes first; segments sent */
unsigned tcp_sack_rto_output(struct tcp_ctx *ctx, struct sf_conn *c,
                             unsigned max_segs);
/* rack.c: the timestamps show the retransmission of [s, e) unneeded */
void tcp_sack_rxt_spurious(struct tcp_ctx *ctx, struct sf_conn *c,
                           uint32_t s, uint32_t e);
unsigned tcp_sack_output(struct tcp_ctx *ctx, struct sf_conn *c,
                         unsigned max_segs);
uint32_t tcp_sack_skip(const struct sf_conn *c, uint32_t seq);
void tcp_sack_free(struct sf_conn *c);
unsigned tcp_sack_nblocks(const struct sf_conn *c);
/* RFC 8985 7: schedule the tail loss probe (in place of a running RTO),
 * and send it when it fires. */
void tcp_tlp_arm(struct tcp_ctx *ctx, struct sf_conn *c);
bool tcp_tlp_due(const struct sf_conn *c);
void tcp_tlp_fire(struct tcp_ctx *ctx, struct sf_conn *c);
/* The scoreboard's ranges (for checks: fuzz/fuzz_sack.c); returns n. */
unsigned tcp_sack_ranges(const struct sf_conn *c, uint32_t (*out)[2],
                         unsigned max);

/* rack.c: RFC 8985 6 RACK. At most tcp_rack_limit() send-time ranges
 * per connection: TCP_RACK_MIN, plus two per SMSS in flight, never more
 * than TCP_RACK_HARD (docs/stream.md states the bound). */
#define TCP_RACK_MIN 64
#define TCP_RACK_HARD 131072
unsigned tcp_rack_limit(const struct sf_conn *c);
void tcp_rack_free(struct sf_conn *c);
bool tcp_rack_active(const struct sf_conn *c);
void tcp_rack_sent(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                   uint32_t n);
unsigned tcp_rack_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                         const struct sf_tcp *s, uint32_t prior_una,
                         bool dsack);
void tcp_rack_recovery_done(struct sf_conn *c);
void tcp_rack_arm(struct tcp_ctx *ctx, struct sf_conn *c);
unsigned tcp_rack_timer(struct tcp_ctx *ctx, struct sf_conn *c);
bool tcp_rack_is_lost(const struct sf_conn *c, uint32_t seq);
bool tcp_rack_next_lost(const struct sf_conn *c, uint32_t *seq,
                        uint32_t *len);
uint32_t tcp_rack_pipe(const struct sf_conn *c);
void tcp_rack_on_rto(struct sf_conn *c);
/* eifel.c: RFC 3522 detection and RFC 4015 response to spurious RTOs */
void tcp_eifel_on_rto(struct tcp_ctx *ctx, struct sf_conn *c);
void tcp_eifel_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                      const struct sf_tcp *s, uint32_t acked);
/* The send-time ranges (for checks: fuzz/fuzz_sack.c); returns n. */
unsigned tcp_rack_ranges(const struct sf_conn *c, uint32_t (*out)[2],
                         unsigned max);
/* sack.c: the reordering timer fired (RFC 8985 6.3) */
void tcp_sack_rack_timer(struct tcp_ctx *ctx, struct sf_conn *c);

/* isn.c */
uint32_t tcp_isn(const struct tcp_ctx *ctx, const struct sf_addr *local,
                 const struct sf_addr *remote);
#define TCP_TW_ISS_GAP 65536u
uint32_t tcp_isn_above(const struct tcp_ctx *ctx, const struct sf_addr *local,
                       const struct sf_addr *remote, uint32_t old_snd_nxt);

/* output.c */
/* Builds and sends seg from src to dst (the ports are seg's), as IPv4 or
 * IPv6 by the addresses' family. */
void tcp_emit(struct tcp_ctx *ctx, int sd, const struct sf_addr *src,
              const struct sf_addr *dst, struct sf_tcp *seg);
/* The same with the IP TOS / Traffic Class byte (its ECN field: RFC 3168
 * 5, RFC 8200 7). */
void tcp_emit_tos(struct tcp_ctx *ctx, int sd, const struct sf_addr *src,
                  const struct sf_addr *dst, struct sf_tcp *seg, uint8_t tos);
void tcp_output(struct tcp_ctx *ctx, struct sf_conn *c);
/* pmtu.c: an ICMP "too big" naming c: the MTU it reports and the
 * sequence number of the segment it quotes. Returns the drop reason, or
 * SF_DROP_NONE if c's MSS was lowered (and the flight sent again). */
enum sf_drop tcp_pmtu_too_big(struct tcp_ctx *ctx, struct sf_conn *c,
                              uint32_t mtu, uint32_t quoted_seq);
/* pmtu.c: an ICMP / ICMPv6 Destination Unreachable (or Time Exceeded)
 * for c quoting quoted_seq: err its error (negative SF_E*), hard if
 * RFC 9293 3.9.2.2 calls it a hard error. SF_DROP_NONE if acted on. */
enum sf_drop tcp_icmp_unreach(struct tcp_ctx *ctx, struct sf_conn *c,
                              uint32_t quoted_seq, int err, bool hard);
void tcp_output_limit(struct tcp_ctx *ctx, struct sf_conn *c, unsigned max_segs);
void tcp_send_ack(struct tcp_ctx *ctx, struct sf_conn *c);
/* Sends the segment at SND.UNA again, SND.NXT untouched (fast
 * retransmit, partial ACKs). */
void tcp_retransmit_front(struct tcp_ctx *ctx, struct sf_conn *c);
/* Sends [seq, seq+n) of the send buffer again (SACK recovery), with our
 * FIN if it ends there; SND.NXT untouched. Returns the space sent. */
uint32_t tcp_send_range(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                        uint32_t n);
/* One new segment from SND.NXT if the windows allow (RFC 6675 NextSeg
 * rule 2). */
bool tcp_send_new_one(struct tcp_ctx *ctx, struct sf_conn *c);
void tcp_send_last(struct tcp_ctx *ctx, struct sf_conn *c);
/* The persist timer's override: one segment past the window's limits. */
void tcp_output_force_one(struct tcp_ctx *ctx, struct sf_conn *c);
/* A keepalive probe: <SEQ=SND.NXT-1><CTL=ACK>, no data. */
void tcp_send_keepalive(struct tcp_ctx *ctx, struct sf_conn *c);
/* oow.c: answers to unacceptable segments, rate-limited */
void tcp_send_challenge_ack(struct tcp_ctx *ctx, struct sf_conn *c);
/* The ACK of 3.10.7.4 to an unacceptable segment s, or to an ACK of
 * unsent data. */
void tcp_send_invalid_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                          const struct sf_tcp *s);
void tcp_send_rst(struct tcp_ctx *ctx, struct sf_conn *c); /* <SND.NXT> RST,ACK */
/* A RST for a segment with no TCB (3.10.7.1) or with a bad ACK. */
void tcp_send_rst_for(struct tcp_ctx *ctx, const struct tcp_ip *ip,
                      const struct sf_tcp *seg);
uint32_t tcp_rcv_window(const struct sf_conn *c);
/* The receive ring's capacity: rcvbuf_size, or more while a window offered
 * before SO_RCVBUF was lowered is still open. */
uint32_t tcp_rcv_cap(const struct sf_conn *c);

/* timer.c and rto.c */
void tcp_timer_start(struct tcp_ctx *ctx, struct sf_conn *c,
                     enum tcp_timer_slot slot, sf_time_t after);
void tcp_timer_stop(struct tcp_ctx *ctx, struct sf_conn *c,
                    enum tcp_timer_slot slot);
void tcp_timers_stop_all(struct tcp_ctx *ctx, struct sf_conn *c);
/* A slot's deadline. The delayed ACK's is kept to the millisecond in 32
 * bits (a 200 ms heuristic needs no nanoseconds), the others exactly. */
static inline sf_time_t tcp_deadline(const struct tcp_ctx *ctx,
                                     const struct sf_conn *c,
                                     enum tcp_timer_slot slot)
{
    if (slot != TT_DELACK)
        return c->deadline[slot];
    if (!c->delack_on)
        return SF_TIME_NEVER;
    int64_t d = (int32_t)(c->delack_ms - (uint32_t)(ctx->now / SF_MSEC));
    sf_time_t base = ctx->now - ctx->now % SF_MSEC;
    return d >= 0 ? base + (sf_time_t)d * SF_MSEC : ctx->now;
}
static inline bool tcp_timer_pending(const struct sf_conn *c,
                                     enum tcp_timer_slot slot)
{
    return slot == TT_DELACK ? c->delack_on
                             : c->deadline[slot] != SF_TIME_NEVER;
}
void tcp_timer_rearm(struct tcp_ctx *ctx, struct sf_conn *c);
/* The delayed-ACK timer due now: it fires at the next sf_stack_advance
 * (SF_IN_BATCH, input.c). */
void tcp_delack_due(struct tcp_ctx *ctx, struct sf_conn *c);
/* Runs the due timeouts of c (its wheel entry was popped). */
void tcp_conn_timer_fire(struct tcp_ctx *ctx, struct sf_conn *c);
void tcp_rto_sample(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t r_us);
void tcp_rexmt_restart(struct tcp_ctx *ctx, struct sf_conn *c);
/* Arms the persist timer in the TT_REXMT slot (which must be free). */
void tcp_persist_start(struct tcp_ctx *ctx, struct sf_conn *c);
/* The peer's window opened (was zero): sending resumes at once. */
void tcp_window_opened(struct tcp_ctx *ctx, struct sf_conn *c);
void tcp_keepalive_reset(struct tcp_ctx *ctx, struct sf_conn *c);
/* setsockopt: SO_KEEPALIVE, and TCP_KEEPIDLE/TCP_KEEPINTVL changed (the
 * interval the running timer was started with is old_intvl_ms). */
void tcp_keepalive_enable(struct tcp_ctx *ctx, struct sf_conn *c, bool on);
void tcp_keepalive_retime(struct tcp_ctx *ctx, struct sf_conn *c,
                          uint32_t old_intvl_ms);

/* input.c: SEGMENT ARRIVES (3.10.7) */
/* What a step of SEGMENT ARRIVES decided about the segment (FreeBSD's
 * dropafterack/dropwithreset labels, as values): go on, done, or drop it
 * with an answer. A drop carries its reason; tcp_settle() counts it,
 * traces it and sends the answer, in that order. */
enum tcp_verdict {
    TCP_CONTINUE,       /* on to the next step (why set: text dropped) */
    TCP_DONE,           /* processed; nothing more to do with it */
    TCP_DROP,           /* drop it, no answer */
    TCP_DROP_ACK,       /* drop it, ACK (rate-limited: oow.c) */
    TCP_DROP_CHALLENGE, /* drop it, challenge ACK (RFC 5961, oow.c) */
    TCP_DROP_RST,       /* drop it, RST for it (tcp_send_rst_for) */
    TCP_SEND_SYNACK,    /* send our SYN,ACK (again; a drop if why set) */
    TCP_DROP_LISTEN,    /* drop it; the passive child returns to LISTEN */
    TCP_DROP_ABORT,     /* drop it, RST,ACK and CLOSED (RFC 1122 4.2.2.13) */
};
struct tcp_disp {
    enum tcp_verdict v;
    enum sf_drop why; /* SF_DROP_NONE unless something was dropped */
};
static inline struct tcp_disp tcp_disp(enum tcp_verdict v, enum sf_drop why)
{
    return (struct tcp_disp){v, why};
}
#define TCP_GO tcp_disp(TCP_CONTINUE, SF_DROP_NONE)
static inline struct tcp_disp tcp_dropped(enum sf_drop why)
{
    return tcp_disp(TCP_DROP, why);
}
/* Counts and traces d's drop (c may be NULL: no connection), then sends
 * its answer or takes its action. */
void tcp_settle(struct tcp_ctx *ctx, struct sf_conn *c,
                const struct tcp_ip *ip, const struct sf_tcp *s,
                struct tcp_disp d);
/* RFC 9293 3.7.1: Eff.snd.MSS from the peer's MSS option in s. */
void tcp_set_send_mss(struct tcp_ctx *ctx, struct sf_conn *c,
                      const struct sf_tcp *s);
/* SND.WND, SND.WL1, SND.WL2 from s (and MAX.SND.WND, RFC 5961 5.2). */
void tcp_set_send_window(struct sf_conn *c, const struct sf_tcp *s);
void tcp_closed_segment(struct tcp_ctx *ctx, const struct tcp_ip *ip,
                        const struct sf_tcp *seg);
void tcp_segment_arrives(struct tcp_ctx *ctx, struct sf_conn *c,
                         const struct tcp_ip *ip, const struct sf_tcp *seg);

/* user.c: the user calls of 3.10.1-3.10.5 */
int tcp_open_active(struct tcp_ctx *ctx, struct sf_conn *c);
int tcp_open_passive(struct tcp_ctx *ctx, struct sf_conn *c, int backlog);
long tcp_send(struct tcp_ctx *ctx, struct sf_conn *c, const void *buf,
              size_t len);
long tcp_receive(struct tcp_ctx *ctx, struct sf_conn *c, void *buf,
                 size_t len, int flags);
/* The zero-copy pair of each (sf_recv_view, sf_send_reserve). */
long tcp_receive_view(struct tcp_ctx *ctx, struct sf_conn *c, uint8_t *p[2],
                      uint32_t n[2], size_t len);
long tcp_receive_done(struct tcp_ctx *ctx, struct sf_conn *c, size_t n);
long tcp_send_reserve(struct tcp_ctx *ctx, struct sf_conn *c, uint8_t *p[2],
                      uint32_t n[2], size_t len);
long tcp_send_commit(struct tcp_ctx *ctx, struct sf_conn *c, size_t n);
/* tcp_send_commit without the output: the caller calls tcp_output (or
 * something that does) next (sf_splice: the bytes are queued before the
 * window update it makes, so that they carry it). */
long tcp_send_queue(struct tcp_ctx *ctx, struct sf_conn *c, size_t n);
int tcp_close(struct tcp_ctx *ctx, struct sf_conn *c);
void tcp_abort(struct tcp_ctx *ctx, struct sf_conn *c);
struct sf_conn *tcp_accept(struct tcp_ctx *ctx, struct sf_conn *l);
/* The descriptor was released (close()): the connection is orphaned. */
void tcp_orphan(struct tcp_ctx *ctx, struct sf_conn *c);

/* listen.c: LISTEN (3.10.7.2), the SYN queue and the accept queue */
enum tcp_listen_verdict { TCP_LISTEN_DROP, TCP_LISTEN_SPAWN, TCP_LISTEN_COOKIE };
/* defer_id: non-zero when the listener's filter deferred the SYN (SPAWN
 * then makes a request held unanswered) */
enum tcp_listen_verdict tcp_listen_segment(struct tcp_ctx *ctx,
                                           struct sf_conn *l,
                                           const struct tcp_ip *ip,
                                           const struct sf_tcp *seg,
                                           uint64_t *defer_id);
/* Would a SYN to l find room for a new request (tcp_listen_segment's
 * accept and SYN queue checks)? */
bool tcp_listen_has_room(const struct tcp_ctx *ctx, const struct sf_conn *l);
bool tcp_listen_has_requests(const struct sf_conn *l);
void tcp_listen_set_backlog(struct sf_conn *l, int backlog);
bool tcp_listen_readable(const struct sf_conn *l);
/* A passive connection takes the listener's socket options. */
void tcp_inherit(struct sf_conn *c, const struct sf_conn *l);
/* iss: the ISS the caller chose (tcp_isn, tcp_isn_above or a cookie);
 * send: send the SYN,ACK (false for a cookie, whose SYN,ACK went out). */
void tcp_listen_spawn(struct tcp_ctx *ctx, struct sf_conn *l,
                      struct sf_conn *child, const struct tcp_ip *ip,
                      const struct sf_tcp *seg, uint32_t iss, bool send);
void tcp_listen_new_req(struct tcp_ctx *ctx, struct sf_conn *l,
                        struct tcp_req *r, const struct tcp_ip *ip,
                        const struct sf_tcp *seg, const uint32_t *tw_snd_nxt,
                        uint64_t defer_id);
/* Deferred SYNs (SF_SYN_DEFER, sf_syn_decide): listen.c */
bool tcp_req_deferred_segment(struct tcp_ctx *ctx, const struct tcp_req *r,
                              const struct tcp_ip *ip,
                              const struct sf_tcp *seg);
void tcp_req_defer_accept(struct tcp_ctx *ctx, struct tcp_req *r,
                          struct sf_conn *tmp);
void tcp_req_defer_end(struct tcp_ctx *ctx, struct tcp_req *r, bool refuse);
bool tcp_acceptq_holds(const struct sf_conn *l, const struct sf_conn *c);
void tcp_req_from_conn(struct tcp_ctx *ctx, struct tcp_req *r,
                       struct sf_conn *l, struct sf_conn *tmp);
void tcp_req_inflate(struct tcp_ctx *ctx, const struct tcp_req *r,
                     struct sf_conn *tmp);
void tcp_req_deflate(struct tcp_ctx *ctx, struct tcp_req *r,
                     struct sf_conn *tmp);
void tcp_req_unlink(struct tcp_req *r);
bool tcp_req_segment(struct tcp_ctx *ctx, const struct tcp_req *r,
                     struct sf_conn *tmp, const struct tcp_ip *ip,
                     const struct sf_tcp *seg);
void tcp_req_timer_fire(struct tcp_ctx *ctx, const struct tcp_req *r,
                        struct sf_conn *tmp);
enum tcp_req_fate { TCP_REQ_GONE, TCP_REQ_KEPT, TCP_REQ_ESTABLISHED };
enum tcp_req_fate tcp_req_settle(struct tcp_ctx *ctx, struct tcp_req *r,
                                 struct sf_conn *tmp);
void tcp_req_info(const struct tcp_req *r, struct sf_tcp_info *info);
bool tcp_listen_acceptq_full(struct tcp_ctx *ctx, const struct sf_conn *l,
                             const struct tcp_ip *ip,
                             const struct sf_tcp *seg);
void tcp_accept_push(struct tcp_ctx *ctx, struct sf_conn *l,
                     struct sf_conn *c);
/* Takes a passive child off its listener's queue. */
void tcp_child_unlink(struct sf_conn *l, struct sf_conn *c);
/* The listener of c is closing: c is reset and ends. */
void tcp_listener_closed(struct tcp_ctx *ctx, struct sf_conn *c);
struct tcp_req *tcp_listen_reset_next_req(struct tcp_ctx *ctx,
                                          struct sf_conn *l);
struct sf_conn *tcp_listen_reset_next_child(struct tcp_ctx *ctx,
                                            struct sf_conn *l);

/* syncookie.c: RFC 4987 SYN cookies */
void tcp_send_cookie(struct tcp_ctx *ctx, struct sf_conn *l,
                     const struct tcp_ip *ip, const struct sf_tcp *seg);
/* For an ACK to a listener: the MSS encoded in a valid cookie, or 0. */
uint16_t tcp_cookie_check(struct tcp_ctx *ctx, const struct sf_conn *l,
                          const struct tcp_ip *ip, const struct sf_tcp *seg);
bool tcp_cookie_open(struct tcp_ctx *ctx, struct sf_conn *l,
                     struct sf_conn *tmp, const struct tcp_ip *ip,
                     const struct sf_tcp *seg);

/* ecn.c: RFC 3168 Explicit Congestion Notification */
/* The ECN flags of our SYN or SYN,ACK (SYN_SENT: decides whether we ask). */
uint8_t tcp_ecn_syn_flags(struct sf_conn *c);
/* A SYN (passive open, or a simultaneous open in SYN_SENT) or a SYN,ACK
 * arrived: is ECN negotiated? */
void tcp_ecn_syn_in(struct sf_conn *c, const struct sf_tcp *s);
void tcp_ecn_synack_in(struct sf_conn *c, const struct sf_tcp *s);
/* The connection reached ESTABLISHED (counted if ECN was negotiated). */
void tcp_ecn_established(struct tcp_ctx *ctx, struct sf_conn *c);
/* The IP ECN codepoint of a segment [seq, seq+n) with data, CWR added to
 * *flags if due. */
uint8_t tcp_ecn_data_out(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                         uint32_t n, uint8_t *flags);
/* ECE added to *flags of a segment carrying an ACK, if due. */
void tcp_ecn_ack_out(struct tcp_ctx *ctx, struct sf_conn *c, uint8_t *flags);
/* An acceptable segment's CWR and CE (the data receiver's side). */
void tcp_ecn_rcv(struct tcp_ctx *ctx, struct sf_conn *c,
                 const struct tcp_ip *ip, const struct sf_tcp *s);
/* An acceptable ACK's ECE (the data sender's side). */
void tcp_ecn_ece_in(struct tcp_ctx *ctx, struct sf_conn *c,
                    const struct sf_tcp *s);
/* The congestion window was reduced (loss or ECE): CWR on the next new
 * data, RFC 3168 6.1.2. */
void tcp_ecn_queue_cwr(struct sf_conn *c);

/* timewait.c: TIME_WAIT records */
void tcp_tw_from_conn(struct tcp_ctx *ctx, struct tcp_tw *tw,
                      const struct sf_conn *c);
void tcp_tw_overflow(struct tcp_ctx *ctx, struct sf_conn *c);
void tcp_tw_inflate(struct tcp_ctx *ctx, const struct tcp_tw *tw,
                    struct sf_conn *tmp);
bool tcp_tw_deflate(struct tcp_ctx *ctx, struct sf_conn *tmp, sf_time_t *due);
bool tcp_tw_reopen(struct tcp_ctx *ctx, const struct tcp_tw *tw,
                   struct sf_conn *tmp, const struct sf_conn *l,
                   const struct sf_tcp *seg);
void tcp_tw_info(const struct tcp_tw *tw, struct sf_tcp_info *info);

#endif
