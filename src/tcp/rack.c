/* RFC 8985 6: RACK, time-based loss detection for SACK connections.
 *
 * (The quotations of RFC 8985 below are its text, found through the
 * search tool in an implementation's verbatim duvet citations of
 * rfc-editor.org/rfc/rfc8985; the few not found are written from
 * knowledge of the RFC and marked "[from memory]".)
 *
 * RACK needs the send time of every segment in flight. The send buffer
 * is a ring of bytes, so a connection keeps, while data is outstanding
 * and only then, a struct tcp_rack behind c->rack: a seq-sorted list of
 * at most tcp_rack_limit() ranges (TCP_RACK_MIN, and two per SMSS in
 * flight) that partition [SND.UNA, SND.MAX), each
 * with the time it was last (re)transmitted and its flags. A send that
 * would need more entries merges the two neighbours sent closest in
 * time (the merged range keeps the later time, so RACK can only decide
 * later, never earlier, that it is lost). SACKed bytes are read from the
 * scoreboard (sack.c); this file marks segments lost and sack.c
 * retransmits them with its RFC 6675 / RFC 6937 machinery. */
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp_int.h"

#define SEG_RETRANS 1u   /* sent more than once */
#define SEG_LOST 2u      /* RACK declared it lost */
#define SEG_NEED_RXT 4u  /* lost and not sent again since */
#define SEG_DELIVERED 8u /* SACKed or acknowledged (seen by RACK) */

struct tcp_rack_seg {
    uint32_t start, end, ts_us; /* ts_us: last (re)transmission */
    uint32_t xmit_no;           /* which send of the flight (see below) */
    uint32_t flags;
};

struct tcp_rack {
    unsigned n, cap; /* ranges in s[], room for cap (grown by doubling
                      * up to tcp_rack_limit()) */
    struct tcp_rack_seg *s;
    /* RFC 8985 6.1 [from memory]: "RACK.xmit_ts: The latest transmission
     * timestamp of the most recently delivered segment. RACK.end_seq: The
     * ending TCP sequence number of the most recently delivered segment.
     * RACK.rtt: The RTT of the most recently delivered segment ...
     * RACK.min_RTT ... RACK.fack: The highest sequence number delivered
     * ... RACK.reordering_seen ... RACK.reo_wnd_mult ... RACK.dsack_round
     * ... RACK.reo_wnd_persist" */
    uint32_t xmit_ts, end_seq, rtt_us, fack;
    /* RACK_sent_after breaks ties of equal xmit_ts by sequence number,
     * which orders the segments of one burst but not a retransmission
     * sent in the same clock tick as new data above it (a simulator
     * instant, or one microsecond of a fast sender): the ACKs of that new
     * data would declare the retransmission lost at once. So every send
     * (one call of tcp_rack_sent) gets the next number of this counter,
     * and sends are ordered by it; sequence numbers order the segments
     * of one send. xmit_no is RACK.xmit_ts's send. */
    uint32_t sends, xmit_no;
    uint32_t dsack_round;
    uint32_t timeout_us; /* the reordering timer wanted (0: none) */
    bool have;           /* xmit_ts/end_seq/rtt hold a delivered segment */
    bool have_fack, dsack_round_set;
    /* RACK.min_RTT, RACK.reordering_seen, RACK.reo_wnd_mult and
     * RACK.reo_wnd_persist live in the TCB: they outlast a flight */
};

/* docs/stream.md states the bound: keep it true */
_Static_assert(sizeof(struct tcp_rack) <= 64, "struct tcp_rack grew: "
                                              "update docs/stream.md");
_Static_assert(sizeof(struct tcp_rack_seg) == 20, "docs/stream.md: 20 "
                                                  "bytes a range");

/* The most ranges the list may hold now: TCP_RACK_MIN, plus two per SMSS
 * of the sequence space in flight (each segment sent, cut once more where
 * a SACK block ends inside it), at most TCP_RACK_HARD: bounded by the
 * send queue. */
unsigned tcp_rack_limit(const struct sf_conn *c)
{
    uint64_t n = TCP_RACK_MIN + 2 * tcp_flight_segs(c);
    return n > TCP_RACK_HARD ? TCP_RACK_HARD : (unsigned)n;
}

static inline int32_t tdiff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

void tcp_rack_free(struct sf_conn *c)
{
    if (c->rack)
        free(c->rack->s);
    free(c->rack);
    c->rack = NULL;
}

bool tcp_rack_active(const struct sf_conn *c)
{
    return c->rack != NULL;
}

/* The two neighbours sent closest in time become one range. */
static void merge_one(struct tcp_rack *r)
{
    unsigned best = 0;
    uint32_t gap = UINT32_MAX;
    for (unsigned i = 0; i + 1 < r->n; i++) {
        int32_t d = tdiff(r->s[i + 1].ts_us, r->s[i].ts_us);
        uint32_t g = d < 0 ? (uint32_t)-(int64_t)d : (uint32_t)d;
        if (r->s[i].flags != r->s[i + 1].flags)
            g = g > UINT32_MAX / 2 ? UINT32_MAX : g * 2 + 1;
        if (g < gap) {
            gap = g;
            best = i;
        }
    }
    struct tcp_rack_seg *a = &r->s[best], *b = &r->s[best + 1];
    a->end = b->end;
    if (tdiff(b->ts_us, a->ts_us) > 0)
        a->ts_us = b->ts_us;
    if (tdiff(b->xmit_no, a->xmit_no) > 0)
        a->xmit_no = b->xmit_no;
    /* lost only if both were; delivered only if both were */
    uint32_t both = a->flags & b->flags & (SEG_LOST | SEG_NEED_RXT |
                                           SEG_DELIVERED);
    a->flags = ((a->flags | b->flags) & SEG_RETRANS) | both;
    for (unsigned k = best + 2; k < r->n; k++)
        r->s[k - 1] = r->s[k];
    r->n--;
}

/* Room for one more range: the array doubles up to tcp_rack_limit();
 * at the limit (or without memory) the two neighbours sent closest in
 * time become one. */
static void room(const struct sf_conn *c, struct tcp_rack *r)
{
    if (r->n < r->cap)
        return;
    unsigned limit = tcp_rack_limit(c);
    if (r->cap < limit) {
        unsigned cap = r->cap * 2 < limit ? r->cap * 2 : limit;
        struct tcp_rack_seg *s = realloc(r->s, (size_t)cap * sizeof *s);
        if (s) {
            r->s = s;
            r->cap = cap;
            return;
        }
    }
    merge_one(r);
}

/* Cuts entry i at seq (inside it); there must be room. */
static void cut(struct tcp_rack *r, unsigned i, uint32_t seq)
{
    memmove(&r->s[i + 1], &r->s[i], (r->n - i) * sizeof r->s[0]);
    r->n++;
    r->s[i].end = seq;
    r->s[i + 1].start = seq;
}

/* Splits the entry holding seq so that one starts at seq; returns the
 * index of the entry starting at seq (n if seq is past the last). */
static unsigned split_at(const struct sf_conn *c, struct tcp_rack *r,
                         uint32_t seq)
{
    for (unsigned i = 0; i < r->n; i++) {
        struct tcp_rack_seg *e = &r->s[i];
        if (e->start == seq)
            return i;
        if (seq_lt(e->start, seq) && seq_lt(seq, e->end)) {
            if (r->n == r->cap) {
                room(c, r);
                return split_at(c, r, seq);
            }
            cut(r, i, seq);
            return i + 1;
        }
    }
    return r->n;
}

/* Forgets what SND.UNA has passed. */
static void trim(struct tcp_rack *r, uint32_t una)
{
    unsigned k = 0;
    while (k < r->n && seq_leq(r->s[k].end, una))
        k++;
    for (unsigned i = k; i < r->n; i++)
        r->s[i - k] = r->s[i];
    r->n -= k;
    if (r->n && seq_lt(r->s[0].start, una))
        r->s[0].start = una;
}

/* output.c: [seq, seq+n) went out now (new data or a retransmission). */
void tcp_rack_sent(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                   uint32_t n)
{
    /* data only: not the SYN (or a SYN queue's SYN,ACK) */
    if (!c->rack_want || !c->sack_ok || !c->syn_acked || n == 0)
        return;
    uint32_t now = tcp_now_us(ctx);
    struct tcp_rack *r = c->rack;
    if (!r) {
        r = calloc(1, sizeof *r);
        struct tcp_rack_seg *sg = calloc(TCP_RACK_MIN, sizeof *sg);
        if (!r || !sg) {
            free(r);
            free(sg);
            return; /* RFC 6675's DupThresh rule alone */
        }
        r->s = sg;
        r->cap = TCP_RACK_MIN;
        c->rack = r;
        if (c->rack_reo_mult == 0)
            c->rack_reo_mult = 1;
    }
    trim(r, c->snd_una);
    uint32_t no = ++r->sends;
    uint32_t end = seq + n;
    /* sent before the list existed (or lost from it): as if now */
    uint32_t top = r->n ? r->s[r->n - 1].end : c->snd_una;
    if (seq_gt(seq, top)) {
        room(c, r);
        r->s[r->n++] = (struct tcp_rack_seg){top, seq, now, no, 0};
        top = seq;
    }
    if (seq_lt(seq, top)) {
        /* RFC 8985 6.1: "Upon transmitting a new segment or
         * retransmitting an old segment, record the time in
         * Segment.xmit_ts and set Segment.lost to FALSE. Upon
         * retransmitting a segment, set Segment.retransmitted to TRUE." */
        uint32_t re = seq_lt(end, top) ? end : top;
        if (seq_lt(seq, c->snd_una))
            seq = c->snd_una;
        if (seq_lt(seq, re)) {
            split_at(c, r, re);
            split_at(c, r, seq);
            /* (a full list may have merged the cut ranges again: every
             * range overlapping the resent bytes takes the new time) */
            for (unsigned i = 0; i < r->n; i++) {
                if (!seq_lt(r->s[i].start, re) || !seq_gt(r->s[i].end, seq))
                    continue;
                r->s[i].ts_us = now;
                r->s[i].xmit_no = no;
                r->s[i].flags |= SEG_RETRANS;
                r->s[i].flags &= ~(SEG_NEED_RXT | SEG_DELIVERED);
            }
        }
        seq = re;
    }
    if (seq_lt(seq, end)) {
        struct tcp_rack_seg *l = r->n ? &r->s[r->n - 1] : NULL;
        if (l && l->end == seq && l->ts_us == now && l->flags == 0 &&
            l->xmit_no == no - 1) {
            l->end = end; /* the same burst: nothing sent in between */
            l->xmit_no = no;
        } else {
            room(c, r);
            r->s[r->n++] = (struct tcp_rack_seg){seq, end, now, no, 0};
        }
    }
}

/* Bytes of [s, e) the scoreboard's ranges g[*k..m) hold as SACKed; *k
 * moves past the ranges that end at or before s (callers go up the
 * sequence space, so a walk over all ranges is one pass). */
static uint32_t sacked_in(const struct tcp_sb_range *g, unsigned m,
                          unsigned *k, uint32_t s, uint32_t e)
{
    while (*k < m && seq_leq(g[*k].end, s))
        (*k)++;
    uint32_t t = 0;
    for (unsigned j = *k; j < m && seq_lt(g[j].start, e); j++) {
        uint32_t a = seq_gt(g[j].start, s) ? g[j].start : s;
        uint32_t b = seq_lt(g[j].end, e) ? g[j].end : e;
        if (seq_lt(a, b))
            t += b - a;
    }
    return t;
}

/* Cuts the ranges where the scoreboard's SACKed ranges begin and end
 * (segment edges), in one walk up both lists, so that a range is
 * delivered whole or not at all. */
static void cut_at_sacks(const struct sf_conn *c, struct tcp_rack *r)
{
    unsigned m;
    const struct tcp_sb_range *g = tcp_sack_view(c, &m);
    unsigned i = 0;
    for (unsigned k = 0; k < 2 * m; k++) {
        uint32_t edge = k & 1 ? g[k / 2].end : g[k / 2].start;
        for (;;) {
            while (i < r->n && seq_leq(r->s[i].end, edge))
                i++;
            if (i == r->n)
                return;
            if (!seq_lt(r->s[i].start, edge))
                break;
            if (r->n == r->cap) {
                /* a merge joins two neighbours and moves the entries
                 * after them down one: the entry holding the edge is now
                 * at i - 1 or i */
                room(c, r);
                i = i ? i - 1 : 0;
                continue;
            }
            cut(r, i, edge);
            i++;
            break;
        }
    }
}

/* RFC 8985 6.2, step 2: "If Segment.xmit_ts equals RACK.xmit_ts (e.g.,
 * due to clock granularity limits), then compare Segment.end_seq and
 * RACK.end_seq to break the tie when deciding whether to update the
 * RACK.segment's associated state." -- with the send number n in place
 * of the time (struct tcp_rack: the send number orders sends exactly,
 * where equal times do not), so a tie is one send's segments. */
static bool sent_after(uint32_t n1, uint32_t s1, uint32_t n2, uint32_t s2)
{
    return tdiff(n1, n2) > 0 || (n1 == n2 && seq_gt(s1, s2));
}

/* RFC 8985 6.2 step 4, RACK_update_reo_wnd: "If RACK.reordering_seen
 * is FALSE: If in Fast or RTO recovery: Return 0 Else if
 * RACK.segs_sacked >= DupThresh: Return 0 Return min(RACK.reo_wnd_mult *
 * RACK.min_RTT / 4, SRTT)" */
static uint32_t reo_wnd(const struct sf_conn *c, const struct tcp_rack *r)
{
    if (!c->rack_reord) {
        if (c->in_recovery || c->nrexmt)
            return 0;
        /* RACK.segs_sacked: the SACKed segments (ranges still listed
         * are above SND.UNA) */
        uint32_t segs = 0, mss = c->snd_mss ? c->snd_mss : 1;
        for (unsigned i = 0; i < r->n; i++)
            if (r->s[i].flags & SEG_DELIVERED)
                segs += (r->s[i].end - r->s[i].start + mss - 1) / mss;
        if (segs >= 3)
            return 0;
    }
    uint64_t w = (uint64_t)c->rack_reo_mult * c->rack_min_rtt_us / 4;
    if (c->have_rtt && w > c->srtt_us)
        w = c->srtt_us;
    return (uint32_t)w;
}

/* RFC 8985 6.2 step 5, RACK_detect_loss: "For each segment, Segment,
 * not acknowledged yet: If RACK_sent_after(RACK.xmit_ts, RACK.end_seq,
 * Segment.xmit_ts, Segment.end_seq): remaining = Segment.xmit_ts +
 * RACK.rtt + RACK.reo_wnd - Now() If remaining <= 0: Segment.lost = TRUE
 * Segment.xmit_ts = INFINITE_TS Else: timeout = max(remaining, timeout)"
 * (INFINITE_TS here: SEG_NEED_RXT, skipped until sent again).
 * Returns how many ranges became lost; r->timeout_us the timer wanted. */
static unsigned detect_loss(struct tcp_ctx *ctx, struct sf_conn *c)
{
    struct tcp_rack *r = c->rack;
    r->timeout_us = 0;
    if (!r->have)
        return 0;
    uint32_t now = tcp_now_us(ctx), wnd = reo_wnd(c, r);
    unsigned lost = 0;
    for (unsigned i = 0; i < r->n; i++) {
        struct tcp_rack_seg *e = &r->s[i];
        if (e->flags & (SEG_DELIVERED | SEG_NEED_RXT))
            continue;
        if (!sent_after(r->xmit_no, r->end_seq, e->xmit_no, e->end))
            continue;
        int64_t rem = (int64_t)tdiff(e->ts_us, now) + r->rtt_us + wnd;
        if (rem <= 0) {
            e->flags |= SEG_LOST | SEG_NEED_RXT;
            lost++;
            ctx->ctr.c[SF_CTR_RACK_LOST]++;
        } else if ((uint32_t)rem > r->timeout_us) {
            r->timeout_us = (uint32_t)rem;
        }
    }
    return lost;
}

/* The TSval the last transmission of e carried (tcp_ts_now then): its
 * time is kept in microseconds modulo 2^32, and is within 2^31 us of now. */
static bool late_original(const struct tcp_ctx *ctx, const struct sf_conn *c,
                          const struct sf_tcp *s,
                          const struct tcp_rack_seg *e)
{
    if (!c->ts_ok || !s->opt.has_ts)
        return false;
    uint64_t now_us = (uint64_t)(ctx->now / SF_USEC);
    uint32_t age = (uint32_t)tcp_now_us(ctx) - e->ts_us;
    if (age > (uint32_t)INT32_MAX || age > now_us)
        return false;
    uint32_t sent_ts = (uint32_t)((now_us - age) / 1000) + c->ts_offset;
    return seq_lt(s->opt.ts_ecr, sent_ts);
}

/* The ACK's part: sack.c calls it after the scoreboard took the ACK's
 * blocks and SND.UNA moved (prior_una: SND.UNA before this ACK). dsack:
 * the ACK carried a D-SACK. Returns the ranges newly marked lost. */
unsigned tcp_rack_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                         const struct sf_tcp *s, uint32_t prior_una,
                         bool dsack)
{
    struct tcp_rack *r = c->rack;
    if (!r)
        return 0;
    uint32_t now = tcp_now_us(ctx);
    trim(r, prior_una);
    /* a range is delivered whole or not at all: cut the ranges where the
     * scoreboard's SACKed ranges begin and end (segment edges), so the
     * segments of a burst sent as one range are told apart again */
    split_at(c, r, c->snd_una);
    cut_at_sacks(c, r);
    unsigned m, k = 0;
    const struct tcp_sb_range *g = tcp_sack_view(c, &m);
    for (unsigned i = 0; i < r->n; i++) {
        struct tcp_rack_seg *e = &r->s[i];
        if (e->flags & SEG_DELIVERED)
            continue;
        bool cum = seq_leq(e->end, c->snd_una);
        if (!cum && sacked_in(g, m, &k, e->start, e->end) != e->end - e->start)
            continue;
        if (cum && seq_lt(e->end, prior_una))
            continue; /* (cannot happen: trimmed) */
        e->flags |= SEG_DELIVERED;
        /* RFC 8985 6.2 step 1: "To avoid spurious inferences, ignore a
         * segment as invalid if any of its sequence range has been
         * retransmitted before and if either of two conditions is true:
         * 1. The Timestamp Echo Reply field (TSecr) of the ACK's
         * timestamp option [RFC7323], if available, indicates the ACK was
         * not acknowledging the last retransmission of the segment. 2.
         * The segment was last retransmitted less than RACK.min_rtt ago."
         * (Condition 1: late_original, for the segment at SND.UNA.) */
        uint32_t rtt = (uint32_t)(tdiff(now, e->ts_us) > 0
                                      ? tdiff(now, e->ts_us) : 0);
        bool ambiguous = (e->flags & SEG_RETRANS) && c->rack_min_rtt_us &&
                         rtt < c->rack_min_rtt_us;
        /* RFC 3522 2 with RFC 7323 4.3: the ACK that fills the hole at
         * SND.UNA echoes the TSval of the segment that filled it. Older
         * than the retransmission's: an earlier transmission arrived, the
         * retransmission was not needed, and this delivery is the
         * original's, late -- reordering (step 3 below) and no RTT
         * sample (step 1). */
        bool orig = cum && e->start == prior_una &&
                    (e->flags & SEG_RETRANS) && late_original(ctx, c, s, e);
        if (orig) {
            ambiguous = true;
            tcp_sack_rxt_spurious(ctx, c, e->start, e->end);
        }
        /* RFC 8985 6.2 step 3: "If a never-retransmitted segment that's
         * below RACK.fack is (selectively or cumulatively) acknowledged,
         * it has been delivered out of order. The sender sets
         * RACK.reordering_seen to TRUE if such a segment is identified."
         * A retransmitted one whose original the timestamps show
         * delivered (orig) is such a segment too. */
        if (!r->have_fack || seq_gt(e->end, r->fack)) {
            r->fack = e->end;
            r->have_fack = true;
        } else if (seq_lt(e->end, r->fack) &&
                   (!(e->flags & SEG_RETRANS) || orig)) {
            if (!c->rack_reord)
                ctx->ctr.c[SF_CTR_RACK_REORDER]++;
            c->rack_reord = true;
        }
        if (ambiguous)
            continue;
        /* step 2: "Among all the segments newly ACKed or SACKed by this
         * ACK that pass the checks above, update the RACK.rtt to be the
         * RTT sample calculated using this ACK. Furthermore, record the
         * most recent Segment.xmit_ts in RACK.xmit_ts if it is ahead of
         * RACK.xmit_ts." */
        if (!c->rack_min_rtt_us || rtt < c->rack_min_rtt_us)
            c->rack_min_rtt_us = rtt ? rtt : 1;
        if (!r->have || sent_after(e->xmit_no, e->end, r->xmit_no, r->end_seq)) {
            r->xmit_ts = e->ts_us;
            r->xmit_no = e->xmit_no;
            r->end_seq = e->end;
            r->rtt_us = rtt;
            r->have = true;
        }
    }
    /* RFC 8985 6.2 step 4: "If RACK.dsack_round is not None AND SND.UNA
     * >= RACK.dsack_round: RACK.dsack_round = None" [its comment: "Grow
     * the reordering window per round that sees DSACK. Reset the window
     * after 16 DSACK-free recoveries"] "If RACK.dsack_round is None AND
     * any DSACK option is present on latest received ACK:
     * RACK.dsack_round = SND.NXT RACK.reo_wnd_mult += 1
     * RACK.reo_wnd_persist = 16" */
    if (r->dsack_round_set && seq_geq(c->snd_una, r->dsack_round))
        r->dsack_round_set = false;
    if (!r->dsack_round_set && dsack) {
        r->dsack_round = c->snd_max;
        r->dsack_round_set = true;
        if (c->rack_reo_mult < 255)
            c->rack_reo_mult++;
        c->rack_reo_persist = 16;
    }
    trim(r, c->snd_una);
    unsigned lost = detect_loss(ctx, c);
    if (c->snd_una == c->snd_max)
        tcp_rack_free(c);
    return lost;
}

/* RFC 8985 6.2 step 4: "Else if exiting Fast or RTO recovery:
 * RACK.reo_wnd_persist -= 1 If RACK.reo_wnd_persist <= 0:
 * RACK.reo_wnd_mult = 1" */
void tcp_rack_recovery_done(struct sf_conn *c)
{
    if (c->rack_reo_persist)
        c->rack_reo_persist--;
    if (c->rack_reo_persist == 0)
        c->rack_reo_mult = 1;
}

/* RFC 8985 6.2: "For timely loss detection, it is RECOMMENDED that the
 * sender install a reordering timer." ... "When an ACK is received or the
 * RACK reordering timer expires, call RACK_detect_loss_and_arm_timer()."
 * (6.3 [from memory]: "If timeout != 0: Arm the RACK timer to call
 * RACK_detect_loss_and_arm_timer() after timeout".) The timer shares
 * TT_REXMT (as the loss probe does), only when it would fire before the
 * RTO; when it fires (tcp_rack_timer) the RTO is armed again. */
void tcp_rack_arm(struct tcp_ctx *ctx, struct sf_conn *c)
{
    struct tcp_rack *r = c->rack;
    if (!r || r->timeout_us == 0 || !tcp_timer_pending(c, TT_REXMT) ||
        c->persist_on)
        return;
    sf_time_t at = ctx->now + (sf_time_t)r->timeout_us * SF_USEC;
    if (at >= c->deadline[TT_REXMT] && !c->rack_tmr_on)
        return;
    if (at >= ctx->now + tcp_rto(c))
        return;
    c->deadline[TT_REXMT] = at;
    c->tlp_on = false;
    c->rack_tmr_on = true;
    tcp_timer_rearm(ctx, c);
}

/* timer.c: the reordering timer fired. Returns ranges newly lost. */
unsigned tcp_rack_timer(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (!c->rack)
        return 0;
    return detect_loss(ctx, c);
}

/* sack.c: is seq in a range RACK declared lost? */
bool tcp_rack_is_lost(const struct sf_conn *c, uint32_t seq)
{
    const struct tcp_rack *r = c->rack;
    for (unsigned i = 0; r && i < r->n; i++)
        if (seq_leq(r->s[i].start, seq) && seq_lt(seq, r->s[i].end))
            return (r->s[i].flags & SEG_LOST) != 0;
    return false;
}

/* sack.c: the first range lost and not sent again since, not SACKed:
 * its first unSACKed segment (at most mss). */
bool tcp_rack_next_lost(const struct sf_conn *c, uint32_t *seq,
                        uint32_t *len)
{
    const struct tcp_rack *r = c->rack;
    unsigned m, k = 0;
    const struct tcp_sb_range *g = tcp_sack_view(c, &m);
    for (unsigned i = 0; r && i < r->n; i++) {
        const struct tcp_rack_seg *e = &r->s[i];
        if (!(e->flags & SEG_NEED_RXT) || (e->flags & SEG_DELIVERED))
            continue;
        uint32_t at = e->start, he = e->end;
        while (k < m && seq_leq(g[k].end, at))
            k++;
        unsigned j = k;
        while (j < m && seq_leq(g[j].start, at)) {
            at = g[j].end; /* SACKed from at: skip it */
            j++;
        }
        if (j < m && seq_lt(g[j].start, he))
            he = g[j].start;
        if (seq_lt(at, he)) {
            *seq = at;
            *len = he - at < c->snd_mss ? he - at : c->snd_mss;
            return true;
        }
    }
    return false;
}

/* RFC 8985 6.3 [from memory] / RFC 6675 SetPipe: bytes in the network:
 * every unSACKed byte except those lost and not yet sent again. */
uint32_t tcp_rack_pipe(const struct sf_conn *c)
{
    const struct tcp_rack *r = c->rack;
    uint32_t pipe = 0;
    unsigned m, k = 0;
    const struct tcp_sb_range *g = tcp_sack_view(c, &m);
    for (unsigned i = 0; r && i < r->n; i++) {
        const struct tcp_rack_seg *e = &r->s[i];
        if (e->flags & (SEG_NEED_RXT | SEG_DELIVERED))
            continue;
        pipe += (e->end - e->start) - sacked_in(g, m, &k, e->start, e->end);
    }
    return pipe;
}

/* An RTO: RFC 8985 6.3 "Upon RTO timer expiration, RACK
 * marks the first outstanding segment as lost (since it was sent an RTO
 * ago); for all the other segments, RACK only marks the segment as lost
 * if the time elapsed since the segment was transmitted is at least the
 * sum of the recent RTT and the reordering window." Go-back-N sends
 * everything from SND.UNA again, so the marks are simply dropped. */
void tcp_rack_on_rto(struct sf_conn *c)
{
    struct tcp_rack *r = c->rack;
    for (unsigned i = 0; r && i < r->n; i++)
        r->s[i].flags &= ~(SEG_NEED_RXT | SEG_DELIVERED);
}

unsigned tcp_rack_ranges(const struct sf_conn *c, uint32_t (*out)[2],
                         unsigned max)
{
    unsigned n = 0;
    for (; c->rack && n < c->rack->n && n < max; n++) {
        out[n][0] = c->rack->s[n].start;
        out[n][1] = c->rack->s[n].end;
    }
    return n;
}
