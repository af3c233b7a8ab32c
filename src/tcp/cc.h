/* Congestion control (RFC 5681) with NewReno fast recovery (RFC 6582),
 * CUBIC (RFC 9438, the default) and HyStart++ (RFC 9406).
 *
 * The loss detection and recovery machinery (duplicate ACKs, fast
 * retransmit, partial ACKs, the loss window after an RTO) is common; what
 * an algorithm changes is how the window grows and how far it falls, so
 * that is all struct tcp_cc_ops holds. A connection picks its algorithm
 * with TCP_CONGESTION ("cubic", "reno"), else the stack's cfg.cc. */
#ifndef SF_TCP_CC_H
#define SF_TCP_CC_H

#include "tcp/tcp_int.h"

/* Segments timed at once for HyStart++'s RTT samples (cc.c). */
#define TCP_CC_NMARK 16

/* RFC 9406 HyStart++: what only the initial slow start uses, behind
 * sf_conn.hs (allocated by CUBIC's init, freed when slow start ends), so
 * that an established connection in congestion avoidance, or idle, does
 * not carry it. RTTs in us, UINT32_MAX = infinity. */
struct tcp_hs {
    /* RTT samples (RFC 9406 4.2 wants N_RTT_SAMPLE of them per round; the
     * RFC 6298 timing gives one): the end and send time (us) of up to
     * TCP_CC_NMARK segments sent once, oldest first, from mark_head */
    struct {
        uint32_t end, sent_us;
    } mark[TCP_CC_NMARK];
    uint8_t mark_head, mark_n;
    /* RFC 9406 4.2 */
    uint8_t samples, css_rounds; /* rttSampleCount; CSS rounds done */
    uint32_t last_min_rtt, cur_min_rtt, css_baseline; /* lastRoundMinRTT,
                                  * currentRoundMinRTT, cssBaselineMinRtt */
    uint32_t window_end; /* windowEnd, if round */
    bool round;          /* a round is running (window_end is set) */
    bool css;            /* in Conservative Slow Start */
};

/* What a controller saves when it reduces for a loss that may yet prove
 * spurious (RFC 9438 4.9.2; behind sf_conn.cc_undo, from the reduction
 * until the undo or until an undo can no longer come): the window, and
 * the controller's own state, so that the undo puts it all back. */
struct tcp_cc_undo {
    const struct tcp_cc_ops *ops; /* the algorithm that saved it */
    uint32_t cwnd, ssthresh;
    /* CUBIC: RFC 9438 4.9.2's list (cwnd_prior, W_max, K, t_epoch,
     * W_est), the rest of the epoch, and HyStart++'s state */
    uint32_t cwnd_prior, w_max, k_ms, t_epoch_ms, w_est, cwnd_epoch, acc;
    uint64_t est_acc;
    uint32_t hs_idle_rtt;
    bool epoch, hs_on;
    struct tcp_hs *hs; /* owned here until the undo or the discard */
};

/* sf_conn.cc_algo. 0 follows the stack's default (cfg.cc). */
enum tcp_cc_algo { TCP_CC_DEFAULT, TCP_CC_CUBIC, TCP_CC_RENO, TCP_CC_COUNT };

struct tcp_cc_ops {
    const char *name; /* as Linux's TCP_CONGESTION names it */
    /* The algorithm's own state, once cwnd and ssthresh are set (the
     * connection is synchronized), or when it is chosen mid-connection. */
    void (*init)(struct tcp_ctx *ctx, struct sf_conn *c);
    /* Growth on an ACK of `acked` new bytes outside recovery, at
     * ctx->now; rtt_us is the RTT sample this ACK gave, 0 for none. */
    void (*on_ack)(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t acked,
                   uint32_t rtt_us);
    /* A congestion event (three duplicate ACKs), c->cwnd still the window
     * at the event: returns the new ssthresh. */
    uint32_t (*on_congestion)(struct tcp_ctx *ctx, struct sf_conn *c);
    /* The retransmission timer expired; first: the first expiry of a
     * series, which sets ssthresh (RFC 5681 (4)). cwnd is set after. */
    void (*on_rto)(struct tcp_ctx *ctx, struct sf_conn *c, bool first);
    /* Fast recovery ended (RFC 6582 3.2 (3)), cwnd already deflated. */
    void (*on_recovery_exit)(struct tcp_ctx *ctx, struct sf_conn *c);
    /* A loss detected by acknowledgments is about to reduce the window
     * (before on_congestion): save into u what undo needs. */
    void (*save)(struct tcp_ctx *ctx, struct sf_conn *c,
                 struct tcp_cc_undo *u);
    /* That loss proved spurious (every retransmission D-SACKed, RFC 2883
     * / RFC 3708): restore what save kept, as far as the algorithm says
     * (u->hs is the algorithm's to take). */
    void (*undo)(struct tcp_ctx *ctx, struct sf_conn *c,
                 struct tcp_cc_undo *u);
};

extern const struct tcp_cc_ops tcp_cc_newreno;
extern const struct tcp_cc_ops tcp_cc_cubic;

/* RFC 5681 sets no upper bound on cwnd: see cc.c. */
#define TCP_CWND_MAX (1u << 30)

/* Bytes sent and not yet acknowledged, as the sender counts them. */
static inline uint32_t tcp_flight(const struct sf_conn *c)
{
    return c->snd_nxt - c->snd_una;
}

/* cwnd += inc, bounded by TCP_CWND_MAX. */
void tcp_cwnd_grow(struct sf_conn *c, uint32_t inc);

/* The algorithm by name ("cubic", "reno" or "newreno"): TCP_CC_* or -1. */
int tcp_cc_find(const char *name, size_t len);
/* The algorithm c runs (its own choice, else the stack's). */
const struct tcp_cc_ops *tcp_cc_ops_of(const struct tcp_ctx *ctx,
                                       const struct sf_conn *c);
/* TCP_CONGESTION: c runs algo (a TCP_CC_* other than DEFAULT) from now. */
void tcp_cc_select(struct tcp_ctx *ctx, struct sf_conn *c, int algo);

void tcp_cc_init(struct tcp_ctx *ctx, struct sf_conn *c);
uint32_t tcp_cc_iw(uint32_t mss); /* RFC 6928's initial window, bytes */
/* Frees what the algorithm allocated (HyStart++ state, the undo state);
 * the connection ends, or its algorithm starts again. */
void tcp_cc_free(struct sf_conn *c);
/* A segment [seq, seq+n) left; fresh: sent for the first time. */
void tcp_cc_on_send(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                    uint32_t n, bool fresh);
/* A sending opportunity ended with inflight bytes in the network; full:
 * cwnd, not the peer's window or the application, held back the next
 * full-sized segment (RFC 7661's cwnd-limited). */
void tcp_cc_on_use(struct sf_conn *c, uint32_t inflight, bool full);
/* SND.UNA moved forward by acked bytes (already applied). */
void tcp_cc_on_newack(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t acked);
/* A duplicate ACK in the sense of RFC 5681 section 2. */
void tcp_cc_on_dupack(struct tcp_ctx *ctx, struct sf_conn *c);
/* The retransmission timer expired (RFC 5681 3.1, equation 4). */
void tcp_cc_on_rto(struct tcp_ctx *ctx, struct sf_conn *c);
/* A loss detected by SACK recovery (RFC 6675 5 (4.2)): the algorithm's
 * new ssthresh for this congestion event. */
uint32_t tcp_cc_loss_ssthresh(struct tcp_ctx *ctx, struct sf_conn *c);
/* The SACK recovery that tcp_cc_loss_ssthresh began was spurious (sack.c,
 * before it restores cwnd and ssthresh itself): the algorithm restores
 * its state from before the reduction (RFC 9438 4.9.2). */
void tcp_cc_undo(struct tcp_ctx *ctx, struct sf_conn *c);
/* A SACK recovery ended with cwnd = ssthresh (RFC 6937): the algorithm's
 * exit (CUBIC starts its epoch, RFC 9438 4.2). */
void tcp_cc_recovery_exit(struct tcp_ctx *ctx, struct sf_conn *c);
/* An ACK with ECE asks for a window reduction (RFC 3168 6.1.2; ecn.c
 * decides when: at most once per window). */
void tcp_cc_on_ecn(struct tcp_ctx *ctx, struct sf_conn *c);
/* The ACK of a loss probe that was a retransmission shows it repaired a
 * loss (RFC 8985 7.4, sack.c): the reduction that loss asks for. */
void tcp_cc_on_probe_repair(struct tcp_ctx *ctx, struct sf_conn *c);

/* HyStart++'s state while c->hs_on, allocated if it is not (NULL, and
 * HyStart++ off for the connection, counted, if that fails). */
struct tcp_hs *tcp_cc_hs_get(struct tcp_ctx *ctx, struct sf_conn *c);

/* cc_cubic.c, pure pieces (unit-tested) */
/* floor(cbrt(x)) */
uint32_t tcp_cc_icbrt(uint64_t x);
/* RFC 9438 eq. 2: K in ms for W_max and cwnd_epoch in bytes. */
uint32_t cubic_k_ms(uint32_t w_max, uint32_t cwnd_epoch, uint32_t mss);
/* RFC 9438 eq. 1: W_cubic(t) in bytes, t in ms since the epoch. */
uint32_t cubic_w(uint32_t w_max, uint32_t k_ms, uint32_t t_ms, uint32_t mss);

#endif
