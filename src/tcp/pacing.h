/* Sender pacing (pacing.c): data segments leave no faster than a rate
 * derived from the congestion window and the smoothed RTT, as Linux's
 * internal TCP pacing does (no fq qdisc needed). output.c asks before it
 * sends; the TT_PACE timer (timer.c) resumes sending when the next burst
 * is due. */
#ifndef SF_TCP_PACING_H
#define SF_TCP_PACING_H

#include "tcp/tcp_int.h"

/* Linux's ratios (ip-sysctl tcp_pacing_ss_ratio, tcp_pacing_ca_ratio),
 * in percent of cwnd/SRTT. */
#define TCP_PACE_SS_RATIO 200
#define TCP_PACE_CA_RATIO 120
/* Segments sent unpaced at the start of a connection (the initial
 * window), as sch_fq's initial quantum and Linux's internal pacing. */
#define TCP_PACE_UNPACED_SEGS 10

/* The pacing rate in bytes per second, 0 while c is not paced (pacing
 * off, no RTT sample yet, or the first TCP_PACE_UNPACED_SEGS segments). */
uint64_t tcp_pace_rate(const struct tcp_ctx *ctx, const struct sf_conn *c);
/* May a data segment leave now? false arms the pacing timer for the
 * next burst. */
bool tcp_pace_ok(struct tcp_ctx *ctx, struct sf_conn *c);
/* segs data segments of len bytes each left at once (new or
 * retransmitted; several: a run the device cuts, cfg.output_gso), as
 * that many calls for one segment would account them, all at the rate of
 * the first (SND.NXT, from which the rate's flight is counted, moves
 * after the run; sent one by one, a flight above cwnd would raise the
 * rate a little for the later ones). */
void tcp_pace_sent(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t len,
                   uint32_t segs);
/* Is sending held back until the pacing timer fires? */
static inline bool tcp_pace_waiting(const struct sf_conn *c)
{
    return c->deadline[TT_PACE] != SF_TIME_NEVER;
}
/* The pacing timer fired: the next burst is due. */
void tcp_pace_fire(struct tcp_ctx *ctx, struct sf_conn *c);
/* SF_TCP_PACING, SF_SO_MAX_PACING_RATE: pacing on or off, or a new
 * rate; whatever waited for the timer goes now. */
void tcp_pace_set(struct tcp_ctx *ctx, struct sf_conn *c, bool on);

#endif
