/* Selective acknowledgments: RFC 2018 (the option, both sides), RFC 2883
 * (D-SACK), RFC 6675 (loss recovery on the sender's scoreboard), RFC 6937
 * (Proportional Rate Reduction), with a D-SACK based undo of spurious
 * recoveries (RFC 3708 / RFC 2883 section 4, Linux-style).
 *
 * The receiver's blocks come from the reassembly ranges (reass.c). The
 * sender keeps a scoreboard of SACKed ranges, struct tcp_sb, allocated
 * only while SACK information or a recovery exists and freed when
 * everything sent is acknowledged. It holds at most tcp_sack_limit()
 * ranges (TCP_SB_MIN, and one per SMSS in flight: bounded by the send
 * queue), whatever the peer sends: a block that would need one more
 * forgets the highest range (counted). SACKed data stays in the send buffer until it
 * is cumulatively acknowledged (RFC 2018 8): the scoreboard only chooses
 * what to retransmit, it never frees anything. */
#include <stdlib.h>
#include <string.h>

#include "tcp/cc.h"
#include "tcp/tcp_int.h"

/* RFC 6675 2: "DupThresh ... The number of duplicate acknowledgments
 * required to trigger a retransmission ... DupThresh is 3" (RFC 5681). */
#define DUPTHRESH 3u

struct tcp_sb {
    unsigned n, cap; /* ranges in r[] (sorted, disjoint, not touching,
                      * all in [SND.UNA, SND.MAX]); room for cap */
    struct tcp_sb_range *r; /* grown by doubling up to tcp_sack_limit() */
    uint32_t sacked;     /* bytes in r[] */
    bool recovering;     /* an RFC 6675 loss recovery phase runs */
    bool rescue_set;     /* RescueRxt is defined */
    bool undo_ok;        /* the episode may still prove spurious */
    bool first_due;      /* RFC 6675 5 (4.3): HighACK + 1 not yet resent */
    uint32_t rxt_next;   /* RFC 6675 HighRxt + 1 (next byte not resent) */
    uint32_t rescue_rxt; /* RFC 6675 RescueRxt */
    /* RFC 6937 */
    uint32_t prr_delivered, prr_out, recover_fs;
    /* undo (RFC 3708, RFC 2883 5): the window before the reduction and
     * the retransmitted octets not yet shown to be duplicates (octets, not
     * segments: a receiver may report one duplicate in two blocks) */
    uint32_t undo_cwnd, undo_ssthresh, undo_marker;
    uint32_t undo_retrans, undo_sent;
    /* retransmissions the timestamps showed were not needed (RFC 3522,
     * tcp_sack_rxt_spurious): their D-SACKs, still to come, are not
     * counted twice. A ring of the last four. */
    struct {
        uint32_t start, end;
    } proven[4];
    unsigned nproven;
    uint32_t undo_end; /* SND.MAX when recovery ended: D-SACKs for its
                        * retransmissions come before an ACK beyond it */
};

/* docs/stream.md states the bound: keep it true */
_Static_assert(sizeof(struct tcp_sb) <= 112, "struct tcp_sb grew: update "
                                             "docs/stream.md");
_Static_assert(sizeof(struct tcp_sb_range) == 8, "docs/stream.md: 8 bytes "
                                                 "a range");

/* The most ranges the scoreboard may hold now: TCP_SB_MIN, plus one per
 * SMSS of the sequence space in flight (a receiver that SACKs whole
 * segments can never need more than half that), at most TCP_SB_HARD.
 * What was sent is in the send buffer, so the scoreboard is bounded by
 * the send queue, whatever blocks the peer sends. */
unsigned tcp_sack_limit(const struct sf_conn *c)
{
    uint64_t n = TCP_SB_MIN + tcp_flight_segs(c);
    return n > TCP_SB_HARD ? TCP_SB_HARD : (unsigned)n;
}

void tcp_sack_free(struct sf_conn *c)
{
    if (c->sb)
        free(c->sb->r);
    free(c->sb);
    c->sb = NULL;
}

static struct tcp_sb *sb_get(struct sf_conn *c)
{
    if (!c->sb) {
        c->sb = calloc(1, sizeof *c->sb);
    }
    return c->sb;
}

/* Room for one more range: the array doubles, up to limit. */
static bool sb_room(struct tcp_sb *sb, unsigned limit)
{
    if (sb->n < sb->cap)
        return true;
    if (sb->cap >= limit)
        return false;
    unsigned cap = sb->cap ? sb->cap * 2 : TCP_SB_MIN;
    if (cap > limit)
        cap = limit;
    struct tcp_sb_range *r = realloc(sb->r, (size_t)cap * sizeof *r);
    if (!r)
        return false;
    sb->r = r;
    sb->cap = cap;
    return true;
}

const struct tcp_sb_range *tcp_sack_view(const struct sf_conn *c,
                                         unsigned *n)
{
    *n = c->sb ? c->sb->n : 0;
    return c->sb ? c->sb->r : NULL;
}

bool tcp_sack_recovering(const struct sf_conn *c)
{
    return c->sb && c->sb->recovering;
}

/* RFC 2018 2: "This option may be sent in a SYN by a TCP that has been
 * extended to receive (and presumably process) the SACK option once the
 * connection has opened. It MUST NOT be sent on non-SYN segments." SACK is
 * in use when both SYNs carried it. */
void tcp_sack_negotiate(struct sf_conn *c, const struct sf_tcp *syn)
{
    c->sack_ok = c->sack_want && syn->opt.sack_ok;
}

/* ---------------------------------------------------------- receiver */

/* RFC 2883 4: a duplicate segment below RCV.NXT: "the first SACK block
 * ... should specify the contiguous sequence space of the duplicate
 * segment" (reported once, in the next ACK). */
void tcp_sack_rcv_old(struct sf_conn *c, const struct sf_tcp *s)
{
    if (!c->sack_ok || s->len == 0 || (s->flags & (SF_SYN | SF_RST)) ||
        !seq_lt(s->seq, c->rcv_nxt))
        return;
    uint32_t end = s->seq + (uint32_t)s->len;
    if (seq_gt(end, c->rcv_nxt))
        end = c->rcv_nxt;
    c->dsack[0] = s->seq;
    c->dsack[1] = end;
    c->dsack_on = true;
}

/* RFC 2018 4 and RFC 2883 4: the blocks of an ACK, as many as fit in the
 * option space left by the other options already in opt (40 bytes: 4
 * blocks alone, 3 beside timestamps). */
void tcp_sack_fill(struct tcp_ctx *ctx, struct sf_conn *c,
                   struct sf_tcp_opts *opt)
{
    uint32_t blk[4][2];
    unsigned n = 0, room = 0;
    /* RFC 2018 3: "a SACK option that specifies n blocks will have a
     * length of 8*n+2 bytes, so the 40 bytes available for TCP options
     * can specify a maximum of 4 blocks" -- less what the other options
     * of this segment take (timestamps: 3 blocks). */
    opt->nsack = 0;
    size_t base = sf_tcp_opts_len(opt);
    if (base + 10 <= SF_TCP_OPT_MAX)
        room = (unsigned)((SF_TCP_OPT_MAX - base - 2) / 8);
    if (room > 4)
        room = 4;
    if (room == 0)
        return;
    if (c->dsack_on) {
        /* RFC 2883 4: "If the D-SACK block reports a duplicate contiguous
         * sequence from a (possibly larger) block of data in the
         * receiver's data queue above the cumulative acknowledgement,
         * then the second SACK block in that SACK option should specify
         * that (possibly larger) block of data." (tcp_reass_sack_blocks
         * puts the block holding the latest segment first.) */
        blk[n][0] = c->dsack[0];
        blk[n][1] = c->dsack[1];
        n++;
        c->dsack_on = false;
        ctx->ctr.c[SF_CTR_DSACK_OUT]++;
    }
    n += tcp_reass_sack_blocks(c, blk + n, room - n);
    for (unsigned i = 0; i < n; i++) {
        opt->sack[i][0] = blk[i][0];
        opt->sack[i][1] = blk[i][1];
    }
    opt->nsack = (uint8_t)n;
}

/* ------------------------------------------------------- scoreboard */

static void sb_remove(struct tcp_sb *sb, unsigned i)
{
    sb->sacked -= sb->r[i].end - sb->r[i].start;
    memmove(&sb->r[i], &sb->r[i + 1], (sb->n - i - 1) * sizeof sb->r[0]);
    sb->n--;
}

/* Forgets what SND.UNA has passed: cumulatively acknowledged now. */
static void sb_trim(struct tcp_sb *sb, uint32_t una)
{
    unsigned k = 0;
    while (k < sb->n && seq_leq(sb->r[k].end, una))
        sb->sacked -= sb->r[k].end - sb->r[k].start, k++;
    if (k) {
        memmove(&sb->r[0], &sb->r[k], (sb->n - k) * sizeof sb->r[0]);
        sb->n -= k;
    }
    if (sb->n && seq_lt(sb->r[0].start, una)) {
        sb->sacked -= una - sb->r[0].start;
        sb->r[0].start = una;
    }
}

/* Merges [s, e) (SND.UNA <= s < e <= SND.MAX, checked by the caller) into
 * the sorted ranges. Returns the bytes newly SACKed. */
static uint32_t sb_add(struct tcp_ctx *ctx, struct tcp_sb *sb, uint32_t s,
                       uint32_t e, unsigned limit)
{
    unsigned i = 0;
    while (i < sb->n && seq_lt(sb->r[i].end, s))
        i++;
    unsigned j = i;
    uint32_t before = sb->sacked;
    uint32_t ns = s, ne = e;
    while (j < sb->n && seq_leq(sb->r[j].start, e)) {
        if (seq_lt(sb->r[j].start, ns))
            ns = sb->r[j].start;
        if (seq_gt(sb->r[j].end, ne))
            ne = sb->r[j].end;
        j++;
    }
    uint32_t absorbed = 0;
    for (unsigned k = i; k < j; k++)
        absorbed += sb->r[k].end - sb->r[k].start;
    if (j == i) {
        /* a new range: make room, forgetting the highest if at the
         * limit (it is retransmitted at worst, never freed) */
        if (!sb_room(sb, limit)) {
            ctx->ctr.c[SF_CTR_SACK_SB_OVERFLOW]++;
            if (i == sb->n || sb->n == 0)
                return 0; /* the new block is itself the highest */
            sb_remove(sb, sb->n - 1);
        }
        memmove(&sb->r[i + 1], &sb->r[i], (sb->n - i) * sizeof sb->r[0]);
        sb->n++;
    } else {
        memmove(&sb->r[i + 1], &sb->r[j], (sb->n - j) * sizeof sb->r[0]);
        sb->n -= j - i - 1;
    }
    sb->r[i].start = ns;
    sb->r[i].end = ne;
    sb->sacked = sb->sacked - absorbed + (ne - ns);
    return sb->sacked - before;
}

/* RFC 6675 4, IsLost (SeqNum): "This routine returns whether the given
 * sequence number is considered to be lost. The routine returns true when
 * either DupThresh discontiguous SACKed sequences have arrived above
 * 'SeqNum' or more than (DupThresh - 1) * SMSS bytes with sequence numbers
 * greater than 'SeqNum' have been SACKed." */
static bool is_lost(const struct tcp_sb *sb, uint32_t seq, uint32_t mss)
{
    unsigned ranges = 0;
    uint32_t bytes = 0;
    for (unsigned i = sb->n; i-- > 0 && seq_gt(sb->r[i].end, seq);) {
        ranges++;
        bytes += sb->r[i].end - (seq_gt(sb->r[i].start, seq)
                                     ? sb->r[i].start : seq + 1);
        if (ranges >= DUPTHRESH || bytes > (DUPTHRESH - 1) * mss)
            return true;
    }
    return ranges >= DUPTHRESH || bytes > (DUPTHRESH - 1) * mss;
}

/* RFC 6675 4, SetPipe (): for each octet from HighACK to HighData not
 * SACKed, "(a) If IsLost (S1) returns false: Pipe is incremented by 1
 * octet. (b) If S1 <= HighRxt: Pipe is incremented by 1 octet." A hole
 * has no SACKed octet in it, so IsLost is the same for all its octets. */
uint32_t tcp_sack_pipe(const struct sf_conn *c)
{
    /* RFC 8985 6 [from memory]: with RACK, "lost" in SetPipe is RACK's
     * marking, not IsLost's DupThresh rule */
    if (tcp_rack_active(c))
        return tcp_rack_pipe(c);
    const struct tcp_sb *sb = c->sb;
    /* From the top down, so that IsLost's count of SACKed ranges and
     * octets above a hole is kept as we go (one pass, not one per hole):
     * the hole below range i has ranges i.. above it. */
    uint32_t pipe = 0, end = c->snd_max, bytes = 0;
    unsigned ranges = 0;
    for (unsigned i = sb->n + 1; i-- > 0;) {
        uint32_t at = i > 0 ? sb->r[i - 1].end : c->snd_una;
        if (seq_lt(at, end)) {
            bool lost = ranges >= DUPTHRESH || bytes > (DUPTHRESH - 1) * c->snd_mss;
            if (!lost)
                pipe += end - at;
            if (seq_lt(at, sb->rxt_next))
                pipe += (seq_lt(end, sb->rxt_next) ? end : sb->rxt_next) - at;
        }
        if (i > 0) {
            ranges++;
            bytes += sb->r[i - 1].end - sb->r[i - 1].start;
            end = sb->r[i - 1].start;
        }
    }
    return pipe;
}

/* output.c: what the congestion window is measured against. In recovery,
 * RFC 6675's pipe. Before it, RFC 6675 5 step (3) lets an ACK that brings
 * new SACK information send more ("the number of octets which can be
 * sent is determined by pipe and cwnd ... (3.3) If (cwnd - pipe) >= 1
 * SMSS, there exists previously unsent data, and the receiver's
 * advertised window allows, transmit up to 1 SMSS of data") -- pipe there
 * being every octet not SACKed, as nothing IsLost yet. With RACK (RFC
 * 8985) a hole is not declared lost for RACK.rtt + reo_wnd, many SACKs
 * on a reordering path, not DupThresh's three: the same measure holds
 * until then, so the sender does not stall at SND.UNA + cwnd while a
 * late segment is on its way (tests/drill/sack/pipe-before-recovery.pkt).
 * After a timeout (SND.NXT behind SND.MAX) it is FlightSize less what
 * go-back-N skipped as SACKed. */
uint32_t tcp_sack_inflight(const struct sf_conn *c)
{
    uint32_t flight = c->snd_nxt - c->snd_una;
    if (tcp_sack_recovering(c))
        return tcp_sack_pipe(c);
    const struct tcp_sb *sb = c->sb;
    if (sb && c->snd_nxt == c->snd_max && sb->sacked <= flight)
        return flight - sb->sacked;
    if (sb && seq_lt(c->snd_nxt, c->snd_max)) {
        /* after an RTO, going back from SND.UNA (RFC 6675 5.1): what
         * go-back-N skipped as SACKed (the scoreboard is kept,
         * tcp_sack_on_rto) has left the network; counted in flight it
         * would hold the sender back by all of it, as Linux's
         * packets_in_flight after a timeout does not
         * (tests/drill/sack/rto-keeps-scoreboard.pkt) */
        uint32_t below = 0;
        for (unsigned i = 0; i < sb->n && seq_lt(sb->r[i].start, c->snd_nxt);
             i++)
            below += (seq_lt(sb->r[i].end, c->snd_nxt) ? sb->r[i].end
                                                       : c->snd_nxt) -
                     sb->r[i].start;
        return below <= flight ? flight - below : 0;
    }
    return flight;
}

/* RFC 6675 4, NextSeg () rules (1) and (3): the first unSACKed octet S2
 * with "(1.a) S2 is greater than HighRxt. (1.b) S2 is less than the
 * highest octet covered by any received SACK." and, for rule (1), "(1.c)
 * IsLost (S2) returns true." A segment of at most SMSS from there. */
static bool next_hole(const struct sf_conn *c, bool need_lost, uint32_t *seq,
                      uint32_t *len)
{
    const struct tcp_sb *sb = c->sb;
    uint32_t at = c->snd_una;
    for (unsigned i = 0; i < sb->n; i++) {
        uint32_t hs = seq_gt(sb->rxt_next, at) ? sb->rxt_next : at;
        uint32_t he = sb->r[i].start;
        if (seq_lt(hs, he)) {
            /* IsLost only weakens going up: if the lowest candidate is
             * not lost, none above it is */
            if (need_lost && !is_lost(sb, hs, c->snd_mss))
                return false;
            *seq = hs;
            *len = he - hs < c->snd_mss ? he - hs : c->snd_mss;
            return true;
        }
        at = sb->r[i].end;
    }
    return false;
}

/* RFC 6675 4, NextSeg () rule (4): "a single 'rescue' retransmission per
 * entry into loss recovery. If HighACK is greater than RescueRxt (or
 * RescueRxt is undefined), then one segment of up to SMSS octets that
 * MUST include the highest outstanding unSACKed sequence number SHOULD be
 * returned, and RescueRxt set to RecoveryPoint. HighRxt MUST NOT be
 * updated." */
static bool rescue_seg(struct sf_conn *c, uint32_t *seq, uint32_t *len)
{
    struct tcp_sb *sb = c->sb;
    if (sb->rescue_set && !seq_gt(c->snd_una, sb->rescue_rxt))
        return false;
    /* the highest unSACKed octet: below the last range if it reaches
     * SND.MAX, else SND.MAX - 1 */
    uint32_t top = c->snd_max;
    for (unsigned i = sb->n; i-- > 0;) {
        if (sb->r[i].end != top)
            break;
        top = sb->r[i].start;
    }
    if (!seq_gt(top, c->snd_una))
        return false;
    uint32_t n = top - c->snd_una < c->snd_mss ? top - c->snd_una : c->snd_mss;
    *seq = top - n;
    *len = n;
    sb->rescue_set = true;
    sb->rescue_rxt = c->recover;
    return true;
}

/* Sends [seq, seq+len) again, as much of it as is data (and our FIN when
 * it ends there). Returns the sequence space sent, 0 if nothing. */
static uint32_t resend(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                       uint32_t len)
{
    uint32_t used = tcp_send_range(ctx, c, seq, len);
    if (used) {
        ctx->ctr.c[SF_CTR_SACK_RETRANSMITS]++;
        c->sb->undo_retrans += used;
        c->sb->undo_sent += used;
    }
    return used;
}

/* RFC 6675 5 (C): "If cwnd - pipe >= 1 SMSS, the sender SHOULD transmit
 * one or more segments as follows: (C.1) The scoreboard MUST be queried
 * via NextSeg () for the sequence number range of the next segment to
 * transmit (if any), and the given segment sent. (C.2) If any of the data
 * octets sent in (C.1) are below HighData, HighRxt MUST be set to the
 * highest sequence number of the retransmitted segment ... (C.4) The
 * estimate of the amount of data outstanding in the network must be
 * updated by incrementing pipe by the number of octets transmitted in
 * (C.1). (C.5) If cwnd - pipe >= 1 SMSS, return to (C.1)". With PRR
 * (tcp_sack_on_ack), cwnd is pipe + sndcnt, so this sends sndcnt. */
unsigned tcp_sack_output(struct tcp_ctx *ctx, struct sf_conn *c,
                         unsigned max_segs)
{
    struct tcp_sb *sb = c->sb;
    unsigned sent = 0;
    uint32_t pipe = tcp_sack_pipe(c);
    while (sent < max_segs && sb->recovering) {
        if (c->cwnd < pipe || c->cwnd - pipe < c->snd_mss)
            break;
        uint32_t seq, len, used = 0;
        uint32_t nxt = c->snd_nxt;
        if (sb->first_due) {
            /* RFC 6675 5 (4.3): "Retransmit the first data segment
             * presumed dropped -- the segment starting with sequence
             * number HighACK + 1", SACK information or not */
            sb->first_due = false;
            uint32_t end = sb->n ? sb->r[0].start : c->snd_max;
            if (seq_gt(end, c->snd_una)) {
                len = end - c->snd_una < c->snd_mss ? end - c->snd_una
                                                    : c->snd_mss;
                used = resend(ctx, c, c->snd_una, len);
                if (seq_gt(c->snd_una + used, sb->rxt_next))
                    sb->rxt_next = c->snd_una + used;
            }
        }
        bool rack = tcp_rack_active(c);
        if (used) {
            /* sent above */
        } else if (rack) {
            /* RFC 8985 6 [from memory]: RACK "can be used as a
             * replacement for the DupThresh-based IsLost ()" : rule (1)
             * sends what RACK marked lost (a lost retransmission
             * included), rule (2) new data; rules (3) and (4) would
             * resend data nobody thinks lost -- RACK's timer, the probe
             * and the RTO cover the tail instead. */
            if (tcp_rack_next_lost(c, &seq, &len)) {
                used = resend(ctx, c, seq, len);
                if (seq_gt(seq + used, sb->rxt_next))
                    sb->rxt_next = seq + used;
            } else if (tcp_send_new_one(ctx, c)) {
                used = c->snd_nxt - nxt;
            }
        } else if (next_hole(c, true, &seq, &len)) { /* rule (1) */
            used = resend(ctx, c, seq, len);
            sb->rxt_next = seq + used; /* (C.2) */
        } else if (tcp_send_new_one(ctx, c)) { /* rule (2) */
            used = c->snd_nxt - nxt;
        } else if (next_hole(c, false, &seq, &len)) { /* rule (3) */
            used = resend(ctx, c, seq, len);
            sb->rxt_next = seq + used;
        } else if (rescue_seg(c, &seq, &len)) { /* rule (4) */
            used = resend(ctx, c, seq, len);
        }
        if (used == 0)
            break;
        /* RFC 6937 3: "On any data transmission or retransmission:
         * prr_out += (data sent)" */
        sb->prr_out += used;
        pipe += used; /* (C.4) */
        sent++;
    }
    return sent;
}

/* After an RTO, until SND.UNA reaches RecoveryPoint (recover, SND.MAX at
 * the timeout), the sender goes back to SND.UNA and sends everything
 * again as the window opens (send_data); no new recovery may start (RFC
 * 6675 5.1: "a new recovery phase ... MUST NOT be initiated until HighACK
 * is greater than or equal to the new value of RecoveryPoint"). A segment
 * sent again in that phase and lost again would then wait for another,
 * doubled, timeout. RACK times every segment by its last transmission
 * (RFC 8985 6.1) and finds it lost once a segment sent after it is
 * delivered (6.2 step 5); RFC 6675 5.1: "a SACK TCP sender SHOULD utilize
 * all SACK information made available during the loss recovery following
 * an RTO". So what RACK marks lost below SND.NXT is sent first, within
 * the congestion window like the rest of the go-back-N sending
 * (tests/drill/rack/rto-recovery-lost-again.pkt). Returns the segments
 * sent. */
unsigned tcp_sack_rto_output(struct tcp_ctx *ctx, struct sf_conn *c,
                             unsigned max_segs)
{
    if (!tcp_rack_active(c) || tcp_sack_recovering(c) ||
        !seq_lt(c->snd_una, c->recover))
        return 0;
    unsigned sent = 0;
    uint32_t seq, len;
    while (sent < max_segs && tcp_rack_next_lost(c, &seq, &len) &&
           seq_lt(seq, c->snd_nxt)) {
        if (c->snd_nxt - seq < len)
            len = c->snd_nxt - seq;
        uint32_t inflight = tcp_sack_inflight(c);
        if (c->cwnd < inflight || c->cwnd - inflight < len)
            break;
        uint32_t used = tcp_send_range(ctx, c, seq, len);
        if (used == 0)
            break;
        ctx->ctr.c[SF_CTR_SACK_RETRANSMITS]++;
        sent++;
    }
    return sent;
}

/* After an RTO the sender goes back to SND.UNA; RFC 6675 5.1: "a SACK TCP
 * sender SHOULD utilize all SACK information made available during the
 * loss recovery following an RTO": what was SACKed since is skipped. */
uint32_t tcp_sack_skip(const struct sf_conn *c, uint32_t seq)
{
    const struct tcp_sb *sb = c->sb;
    if (!sb)
        return seq;
    /* the first range ending after seq (binary search: per segment) */
    unsigned lo = 0, hi = sb->n;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (seq_leq(sb->r[mid].end, seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < sb->n && seq_leq(sb->r[lo].start, seq))
        return sb->r[lo].end;
    return seq;
}

/* ------------------------------------------------------ ACK arrives */

/* RFC 2883 5 (interpreting the option at the sender), paraphrased: the
 * first block is a D-SACK if it lies at or below the cumulative ACK, or
 * if it is a subset of the second block. */
static bool is_dsack(const struct sf_tcp *s)
{
    const uint32_t(*b)[2] = s->opt.sack;
    if (seq_leq(b[0][1], s->ack))
        return true;
    return s->opt.nsack > 1 && seq_geq(b[0][0], b[1][0]) &&
           seq_leq(b[0][1], b[1][1]);
}

/* A D-SACK block in s that reports a duplicate not reported before.
 * RFC 2883 4: "Each duplicate contiguous sequence of data received is
 * reported in at most one D-SACK block." Linux's receiver sends its
 * block again on every ACK until its RCV.NXT moves (window updates and
 * duplicate ACKs while a hole stays: 45 ACKs for one duplicate over
 * AF_XDP here). A block equal to the last one taken is that same report:
 * taken twice, it would count a needed retransmission as spurious and
 * undo a recovery from a real loss (RFC 3708 undoes only when every
 * retransmission was a duplicate; tests/drill/sack/dsack-repeated.pkt).
 * Two real duplicates of one range count as one: no undo, the safe
 * side. */
static bool dsack_new(struct sf_conn *c, const struct sf_tcp *s)
{
    if (!s->opt.nsack || !is_dsack(s))
        return false;
    uint32_t bs = s->opt.sack[0][0], be = s->opt.sack[0][1];
    if (c->dsack_in_set && c->dsack_in[0] == bs && c->dsack_in[1] == be)
        return false;
    c->dsack_in[0] = bs;
    c->dsack_in[1] = be;
    c->dsack_in_set = true;
    return true;
}

/* RFC 3708 (and RFC 2883 5's use of D-SACK): a recovery all of whose
 * retransmissions the receiver reports as duplicates was spurious: put
 * the window back. */
static void maybe_undo(struct tcp_ctx *ctx, struct sf_conn *c)
{
    struct tcp_sb *sb = c->sb;
    if (!sb || sb->recovering || !sb->undo_ok || sb->undo_sent == 0 ||
        sb->undo_retrans != 0)
        return;
    sb->undo_ok = false;
    tcp_cc_undo(ctx, c); /* the controller's state (RFC 9438 4.9.2) */
    if (c->cwnd < sb->undo_cwnd)
        c->cwnd = sb->undo_cwnd;
    if (c->ssthresh < sb->undo_ssthresh)
        c->ssthresh = sb->undo_ssthresh;
    ctx->ctr.c[SF_CTR_SACK_UNDO]++;
    tcp_note(ctx, c, "recovery undone: every retransmission D-SACKed");
}

/* A retransmission of [s, e) was not needed: the receiver had the
 * original. Counts it off the episode's retransmitted octets. */
static void undo_count(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t s,
                       uint32_t e)
{
    struct tcp_sb *sb = c->sb;
    uint32_t n = e - s;
    sb->undo_retrans = n >= sb->undo_retrans ? 0 : sb->undo_retrans - n;
    maybe_undo(ctx, c);
}

/* [s, e) less what tcp_sack_rxt_spurious counted already. */
static uint32_t not_proven(const struct tcp_sb *sb, uint32_t s, uint32_t e)
{
    uint32_t n = e - s;
    for (unsigned i = 0; i < sb->nproven && i < 4; i++) {
        uint32_t a = seq_gt(sb->proven[i].start, s) ? sb->proven[i].start : s;
        uint32_t b = seq_lt(sb->proven[i].end, e) ? sb->proven[i].end : e;
        if (seq_lt(a, b))
            n -= b - a;
    }
    return n;
}

static void note_dsack(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t s,
                       uint32_t e)
{
    ctx->ctr.c[SF_CTR_DSACK_IN]++;
    struct tcp_sb *sb = c->sb;
    if (!sb || !sb->undo_ok || sb->undo_retrans == 0 || !seq_lt(s, e) ||
        seq_lt(s, sb->undo_marker) || seq_gt(e, c->snd_max))
        return;
    /* RFC 8985 6.2 step 3 counts reordering only from segments never
     * retransmitted, as it cannot tell which transmission arrived; a
     * D-SACK of a retransmission (RFC 3708: the receiver had it already)
     * tells: the original was late, not lost. Reordering is seen, and
     * reo_wnd stays open in recovery too (step 4). */
    if (!c->rack_reord && c->rack_want) {
        c->rack_reord = true;
        ctx->ctr.c[SF_CTR_RACK_REORDER]++;
    }
    uint32_t n = not_proven(sb, s, e);
    if (n)
        undo_count(ctx, c, e - n, e);
}

/* rack.c: the ACK that acknowledged [s, e), retransmitted in this
 * episode, echoes a timestamp older than the retransmission (RFC 3522
 * 2: the ACK was sent for the original): that retransmission was not
 * needed. Counted like a D-SACK of it, and remembered so that its D-SACK,
 * which follows, is not counted again. */
void tcp_sack_rxt_spurious(struct tcp_ctx *ctx, struct sf_conn *c,
                           uint32_t s, uint32_t e)
{
    struct tcp_sb *sb = c->sb;
    if (!sb || !sb->undo_ok || sb->undo_retrans == 0 || !seq_lt(s, e) ||
        seq_lt(s, sb->undo_marker))
        return;
    sb->proven[sb->nproven % 4].start = s;
    sb->proven[sb->nproven % 4].end = e;
    sb->nproven++;
    undo_count(ctx, c, s, e);
}

/* RFC 2018 8 and RFC 6675 5.1: the receiver may discard what it SACKed
 * (reneging); the sender keeps the data until cumulatively acknowledged
 * and forgets the SACK marks. Seen here when the cumulative ACK stops
 * exactly where a SACKed range starts and this ACK no longer reports it:
 * the receiver holds everything before that range and not the range. */
static void check_reneging(struct tcp_ctx *ctx, struct sf_conn *c,
                           const struct sf_tcp *s)
{
    struct tcp_sb *sb = c->sb;
    if (!sb || sb->n == 0 || sb->r[0].start != c->snd_una)
        return;
    for (unsigned i = 0; i < s->opt.nsack; i++)
        if (seq_leq(s->opt.sack[i][0], c->snd_una) &&
            seq_gt(s->opt.sack[i][1], c->snd_una))
            return;
    ctx->ctr.c[SF_CTR_SACK_RENEGING]++;
    tcp_note(ctx, c, "SACK reneging: scoreboard cleared (RFC 2018 8)");
    sb->n = 0;
    sb->sacked = 0;
}

/* Update () of RFC 6675 4: the blocks of s into the scoreboard; dsack:
 * its first block is a D-SACK not seen before (dsack_new). Returns the
 * bytes newly SACKed. */
static uint32_t sb_update(struct tcp_ctx *ctx, struct sf_conn *c,
                          const struct sf_tcp *s, bool dsack)
{
    uint32_t news = 0;
    for (unsigned i = 0; i < s->opt.nsack; i++) {
        uint32_t bs = s->opt.sack[i][0], be = s->opt.sack[i][1];
        if (i == 0 && is_dsack(s)) {
            if (dsack)
                note_dsack(ctx, c, bs, be);
            continue; /* (a D-SACK, new or repeated, is no SACK) */
        }
        /* RFC 2018 3: "Left Edge ... the first sequence number of this
         * block. Right Edge ... the sequence number immediately following
         * the last sequence number of this block": a block must be
         * non-empty and lie in what was sent and not acknowledged; the
         * others are ignored (and counted). A block reaching below
         * SND.UNA is cut there. The blocks are "blocks of data", and our
         * FIN is none: a block reaching over it is cut at the last data
         * byte (marked as held, the FIN would be skipped by every
         * retransmission from SND.UNA, tcp_sack_skip, and never sent
         * again; found by fuzz_timeline). */
        if (c->fin_queued && seq_gt(be, c->fin_seq) && !seq_gt(be, c->snd_max))
            be = c->fin_seq;
        if (!seq_lt(bs, be) || seq_gt(be, c->snd_max) ||
            seq_leq(be, c->snd_una) || seq_gt(bs, c->snd_max)) {
            ctx->ctr.c[SF_CTR_SACK_BLOCKS_BAD]++;
            continue;
        }
        if (seq_lt(bs, c->snd_una))
            bs = c->snd_una;
        struct tcp_sb *sb = sb_get(c);
        if (!sb)
            return news;
        news += sb_add(ctx, sb, bs, be, tcp_sack_limit(c));
    }
    return news;
}

/* RFC 6675 5, entering loss recovery: "(4.1) RecoveryPoint = HighData
 * ... (4.2) ssthresh = cwnd = (FlightSize / 2) ... (4.3) Retransmit the
 * first data segment presumed dropped ... (4.4) Run SetPipe ()"; RFC 6937
 * 3: "At the beginning of recovery, initialize the PRR state ...
 * prr_delivered = 0, prr_out = 0, RecoverFS = snd.nxt - snd.una". */
static void enter_recovery(struct tcp_ctx *ctx, struct sf_conn *c)
{
    struct tcp_sb *sb = sb_get(c);
    if (!sb)
        return;
    sb->undo_cwnd = c->cwnd;
    sb->undo_ssthresh = c->ssthresh;
    sb->undo_marker = c->snd_una;
    sb->undo_retrans = sb->undo_sent = 0;
    sb->nproven = 0;
    sb->undo_ok = true;
    c->ssthresh = tcp_cc_loss_ssthresh(ctx, c);
    c->recover = c->snd_max;
    c->in_recovery = true;
    sb->recovering = true;
    sb->rxt_next = c->snd_una;
    /* with RACK, rule (1) sends what RACK marked lost instead */
    sb->first_due = !tcp_rack_active(c);
    sb->rescue_set = false;
    sb->prr_delivered = sb->prr_out = 0;
    sb->recover_fs = c->snd_nxt - c->snd_una;
    c->tlp_episode = false; /* the recovery's reduction covers the probe's */
    ctx->ctr.c[SF_CTR_FAST_RETRANSMITS]++;
    ctx->ctr.c[SF_CTR_SACK_RECOVERIES]++;
}

/* RFC 6937 3, "On every ACK during recovery": the send quota sndcnt,
 * applied as cwnd = pipe + sndcnt so that tcp_sack_output sends it. */
static void prr_ack(struct sf_conn *c, int64_t delivered)
{
    struct tcp_sb *sb = c->sb;
    uint64_t mss = c->snd_mss;
    if (delivered > 0)
        sb->prr_delivered += (uint32_t)delivered;
    uint64_t pipe = tcp_sack_pipe(c);
    uint64_t ss = c->ssthresh;
    int64_t sndcnt;
    if (pipe > ss) {
        /* "sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out" */
        uint64_t fs = sb->recover_fs ? sb->recover_fs : 1;
        sndcnt = (int64_t)((sb->prr_delivered * ss + fs - 1) / fs) -
                 (int64_t)sb->prr_out;
    } else {
        /* PRR-SSRB: "limit = MAX(prr_delivered - prr_out, DeliveredData)
         * + MSS; sndcnt = MIN(ssthresh - pipe, limit)" */
        int64_t limit = (int64_t)sb->prr_delivered - (int64_t)sb->prr_out;
        if (limit < delivered)
            limit = delivered;
        limit += (int64_t)mss;
        sndcnt = (int64_t)(ss - pipe);
        if (sndcnt > limit)
            sndcnt = limit;
    }
    if (sndcnt < 0)
        sndcnt = 0;
    /* RFC 6675 5 (4.3): the first segment presumed lost is retransmitted
     * on entry, whatever the reduction says. */
    if (sb->prr_out == 0 && sndcnt < (int64_t)mss)
        sndcnt = (int64_t)mss;
    uint64_t w = pipe + (uint64_t)sndcnt;
    c->cwnd = w > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)w;
}

/* RFC 3042 2 (Limited Transmit), which RFC 6675 5 points to: "The
 * first and second duplicate ACKs can also be used to trigger the
 * transmission of previously unsent segments": one new segment per such
 * ACK "if the receiver's advertised window allows, the total FlightSize
 * would remain less than or equal to cwnd plus 2 segments, and the sender
 * has previously unsent data available". With a small window this is
 * what brings the third SACK (or duplicate ACK) that starts recovery. */
static void limited_transmit(struct tcp_ctx *ctx, struct sf_conn *c)
{
    uint32_t cwnd = c->cwnd, flight = c->snd_nxt - c->snd_una;
    uint32_t mss = c->snd_mss;
    if (flight + mss > cwnd + 2 * mss)
        return;
    c->cwnd = flight + mss;
    tcp_send_new_one(ctx, c);
    c->cwnd = cwnd;
}

/* RFC 6675 5: the end of recovery, "once a TCP is in the loss recovery
 * phase, ... until ... the cumulative acknowledgment point ... is at
 * least RecoveryPoint"; RFC 6937 3: "cwnd = ssthresh" at its end. */
static void leave_recovery(struct tcp_ctx *ctx, struct sf_conn *c)
{
    struct tcp_sb *sb = c->sb;
    sb->recovering = false;
    c->in_recovery = false;
    c->dupacks = 0;
    c->cwnd = c->ssthresh;
    tcp_cc_recovery_exit(ctx, c);
    tcp_rack_recovery_done(c); /* RFC 8985 6.2 step 4: reo_wnd_persist */
    sb->undo_end = c->snd_max;
    maybe_undo(ctx, c);
}

static void tlp_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                       const struct sf_tcp *s, bool dsack, uint32_t una0);

/* The fifth step's ACK processing for a connection using SACK, after
 * SND.UNA moved by acked bytes (ack_advance). dup: a duplicate ACK in the
 * sense of RFC 5681 2. */
void tcp_sack_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                     const struct sf_tcp *s, uint32_t acked, bool dup)
{
    uint32_t prior_sacked = c->sb ? c->sb->sacked : 0;
    if (c->sb)
        sb_trim(c->sb, c->snd_una);
    bool dsack = dsack_new(c, s);
    uint32_t news = sb_update(ctx, c, s, dsack);
    tlp_on_ack(ctx, c, s, dsack, c->snd_una - acked);
    if (acked)
        check_reneging(ctx, c, s);
    /* RFC 8985 6.2: RACK's update and loss detection on every ACK */
    bool rack = tcp_rack_active(c);
    unsigned rack_lost = tcp_rack_on_ack(ctx, c, s, c->snd_una - acked, dsack);
    struct tcp_sb *sb = c->sb;
    if (sb && sb->recovering) {
        if (seq_geq(c->snd_una, c->recover)) {
            leave_recovery(ctx, c);
        } else {
            /* RFC 6937 3: "DeliveredData = change_in(snd.una) +
             * change_in(SACKd)" */
            prr_ack(c, (int64_t)acked + (int64_t)sb->sacked -
                           (int64_t)prior_sacked);
        }
    } else {
        if (acked) {
            c->dupacks = 0;
            tcp_cc_on_newack(ctx, c, acked); /* growth, outside recovery */
        }
        /* RFC 6675 2: a duplicate acknowledgment, with SACK, is one that
         * "contains ... a SACK block that ... SACKs new data" (a peer that
         * sends no blocks is counted as RFC 5681 counts). */
        bool counted = dup && (news || s->opt.nsack == 0);
        if (counted && c->dupacks < UINT8_MAX)
            c->dupacks++;
        /* RFC 6675 5: "(a) ... DupAcks >= DupThresh ... (b) If DupAcks <
         * DupThresh but IsLost (HighACK + 1) returns true ... go to step
         * (4)", and only "If no previous loss event has occurred on the
         * connection or the cumulative acknowledgment point is beyond the
         * last value of RecoveryPoint" (and 5.1: "until HighACK is greater
         * than or equal to the new value of RecoveryPoint" after an RTO).
         * RecoveryPoint is HighData, the highest octet sent, and recover
         * holds SND.MAX, one past it: beyond it is at or past recover. */
        /* RFC 8985 6.2 [from memory]: with RACK, loss is RACK's
         * marking ("a segment is lost if a later-sent one was delivered
         * RACK.rtt + RACK.reo_wnd after it was sent"); the DupThresh
         * rule stays for connections without RACK state. A D-SACK (a
         * duplicate) is no loss signal: it SACKs nothing new. */
        bool lost = rack ? rack_lost != 0
                         : sb && is_lost(sb, c->snd_una, c->snd_mss);
        bool trig = rack ? lost : (dup || news) &&
                                      (c->dupacks >= DUPTHRESH || lost);
        if (trig &&
            seq_geq(c->snd_una, c->recover) && c->snd_una != c->snd_max) {
            enter_recovery(ctx, c);
            if (c->sb && c->sb->recovering)
                prr_ack(c, (int64_t)acked + (int64_t)c->sb->sacked -
                               (int64_t)prior_sacked);
        } else if (counted && c->dupacks < DUPTHRESH) {
            limited_transmit(ctx, c);
        }
    }
    /* a D-SACK for the last episode would have come by now */
    sb = c->sb;
    if (sb && !sb->recovering && sb->undo_ok &&
        seq_gt(c->snd_una, sb->undo_end))
        sb->undo_ok = false;
    /* nothing outstanding, no recovery and no undo pending: the
     * scoreboard goes */
    if (sb && !sb->recovering && c->snd_una == c->snd_max &&
        !(sb->undo_ok && sb->undo_retrans))
        tcp_sack_free(c);
    /* RFC 8985 7.2 on an ACK of new data, now that the scoreboard is up
     * to date (ack_advance armed the RTO before it was) */
    if (acked && tcp_timer_pending(c, TT_REXMT) && !c->persist_on)
        tcp_tlp_arm(ctx, c);
    /* RFC 8985 6.3: the reordering timer for segments not yet lost */
    tcp_rack_arm(ctx, c);
}

/* RFC 8985 6.2: "When an ACK is received or the RACK reordering timer
 * expires, call RACK_detect_loss_and_arm_timer()." Losses found start
 * recovery (RFC 6675 5 (4), with PRR), feed the running one, or go
 * first after an RTO (tcp_sack_rto_output). */
void tcp_sack_rack_timer(struct tcp_ctx *ctx, struct sf_conn *c)
{
    unsigned lost = tcp_rack_timer(ctx, c);
    if (lost && !tcp_sack_recovering(c) && seq_geq(c->snd_una, c->recover) &&
        c->snd_una != c->snd_max && c->nrexmt == 0) {
        enter_recovery(ctx, c);
        if (c->sb && c->sb->recovering)
            prr_ack(c, 0);
    }
    if (lost)
        tcp_output(ctx, c); /* recovery, or after an RTO (above) */
    tcp_rack_arm(ctx, c);
}

/* RFC 6675 5.1: on an RTO "RecoveryPoint MUST be set to HighData ... the
 * loss recovery algorithm outlined in this document MUST be terminated"
 * (tcp_cc_on_rto sets recover), and "a SACK TCP sender SHOULD utilize all
 * SACK information made available during the loss recovery following an
 * RTO". RFC 2018 8 says the sender "SHOULD turn off all of the SACKed
 * bits, since the timeout might indicate that the data receiver has
 * reneged": a SHOULD that synfin, like Linux (which clears them only
 * when it has seen reneging), does not follow. The receiver holds the
 * SACKed data in nearly every timeout (a queue that overflowed delays
 * the ACKs past the RTO), and forgetting it makes go-back-N send all of
 * it again, a window of duplicates into the same full queue. Reneging is
 * still caught when the ACKs show it (check_reneging), which clears the
 * scoreboard then, and data is only ever freed by the cumulative ACK
 * (tests/drill/sack/rto-keeps-scoreboard.pkt). The episode ends: no
 * recovery, no undo (cc.c discards the saved state at an RTO). */
void tcp_sack_on_rto(struct sf_conn *c)
{
    struct tcp_sb *sb = c->sb;
    if (!sb)
        return;
    sb->recovering = false;
    sb->undo_ok = false;
    sb->undo_retrans = sb->undo_sent = 0;
    sb->first_due = false;
    sb->rescue_set = false;
    sb->rxt_next = c->snd_una;
    if (sb->n == 0)
        tcp_sack_free(c);
}

/* How many blocks tcp_sack_fill would offer now (before the option space
 * is taken into account). */
unsigned tcp_sack_nblocks(const struct sf_conn *c)
{
    uint32_t blk[4][2];
    unsigned n = c->dsack_on ? 1u : 0u;
    return n + tcp_reass_sack_blocks(c, blk, 4 - n);
}

unsigned tcp_sack_ranges(const struct sf_conn *c, uint32_t (*out)[2],
                         unsigned max)
{
    unsigned n = 0;
    for (; c->sb && n < c->sb->n && n < max; n++) {
        out[n][0] = c->sb->r[n].start;
        out[n][1] = c->sb->r[n].end;
    }
    return n;
}

/* ------------------------------------------- RFC 8985 7: tail loss probe */

/* RFC 8985 7.2: "A sender SHOULD schedule a PTO only if all of the
 * following conditions are met: The connection supports SACK [RFC2018].
 * The connection has no SACKed sequences in the SACK scoreboard. The
 * connection is not in loss recovery." (and has an RTT sample, data
 * outstanding, no backed-off RTO and an open peer window). */
static bool tlp_allowed(const struct sf_conn *c)
{
    return c->sack_ok && c->syn_acked && c->have_rtt &&
           c->snd_una != c->snd_max && !c->in_recovery && c->nrexmt == 0 &&
           (!c->sb || c->sb->n == 0) && c->snd_wnd != 0 && !c->persist_on;
}

/* RFC 8985 7.2: "PTO = 2 * SRTT. If FlightSize is equal to one segment,
 * add WCDelAckT (the worst-case delayed ACK timer, 200 ms) to PTO ...
 * If RTO is earlier, the RTO stays." The PTO takes the place of the
 * running retransmission timer; the RTO is armed again once it fires. */
void tcp_tlp_arm(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (!tlp_allowed(c) || !tcp_timer_pending(c, TT_REXMT))
        return;
    sf_time_t pto = 2 * (sf_time_t)c->srtt_us * SF_USEC;
    if (c->snd_max - c->snd_una <= c->snd_mss)
        pto += 200 * SF_MSEC;
    if (pto < ctx->cfg->timer_granularity)
        pto = ctx->cfg->timer_granularity;
    if (pto >= tcp_rto(c)) {
        if (c->tlp_on) /* the PTO would come later than the RTO */
            tcp_timer_start(ctx, c, TT_REXMT, tcp_rto(c));
        return;
    }
    c->deadline[TT_REXMT] = ctx->now + pto;
    c->tlp_on = true;
    tcp_timer_rearm(ctx, c);
}

/* The conditions of 7.2 held when the probe was scheduled; SACK blocks
 * that came since (too few for recovery) do not cancel it. And 7.3: "the
 * sender MUST check whether both of the following conditions are met
 * before sending a loss probe": no earlier probe is still in flight (its
 * episode open: TLP.end_seq set), and an RTT sample came since the last
 * probe was sent. Else "the sender MUST skip sending a loss probe and
 * MUST proceed to re-arm the RTO timer" (timer.c). */
bool tcp_tlp_due(const struct sf_conn *c)
{
    return c->snd_una != c->snd_max && !c->in_recovery && c->nrexmt == 0 &&
           c->syn_acked && !c->tlp_episode && !c->tlp_no_rtt;
}

/* RFC 8985 7.3: "If a previously unsent segment exists AND the receive
 * window allows new data to be sent: Transmit that new segment ...
 * Otherwise: Retransmit the last segment" and "rearm the RTO". */
void tcp_tlp_fire(struct tcp_ctx *ctx, struct sf_conn *c)
{
    ctx->ctr.c[SF_CTR_TLP_PROBES]++;
    tcp_note(ctx, c, "tail loss probe (RFC 8985 7.3)");
    uint32_t cwnd = c->cwnd;
    c->cwnd = UINT32_MAX / 2; /* the probe is not held by cwnd */
    bool sent = tcp_send_new_one(ctx, c);
    c->cwnd = cwnd;
    if (!sent)
        tcp_send_last(ctx, c);
    /* RFC 8985 7.3: TLP.is_retrans says which it was; TLP.end_seq =
     * SND.NXT, the episode's end (7.4) */
    c->tlp_is_retrans = !sent;
    c->tlp_end = c->snd_max;
    c->tlp_episode = true;
    c->tlp_no_rtt = true;
    tcp_timer_start(ctx, c, TT_REXMT, tcp_rto(c));
}

/* RFC 8985 7.4: the ACKs of a probe's episode. A probe that was new data
 * ends it once acknowledged: RACK finds the losses (7.4.1). A probe that
 * retransmitted the last segment either repaired a loss, which
 * retransmitting the segment without a loss detection hid from
 * congestion control, or came as a duplicate (the original had
 * arrived). The receiver's D-SACK of the probe says duplicate: no loss.
 * An ACK past TLP.end_seq with no such D-SACK before it says the probe
 * plugged the hole: the reduction a loss asks for (7.4.2). A duplicate
 * ACK at TLP.end_seq with no news (no SACK block, SND.UNA unmoved) says
 * both copies arrived at a receiver without D-SACK: no loss. An ACK at
 * TLP.end_seq that moves SND.UNA tells neither yet (the original's ACK
 * may have been the lost one): the episode stays open. dsack: the ACK's
 * D-SACK block is new (dsack_new); una0: SND.UNA before this ACK. */
static void tlp_on_ack(struct tcp_ctx *ctx, struct sf_conn *c,
                       const struct sf_tcp *s, bool dsack, uint32_t una0)
{
    if (!c->tlp_episode || seq_lt(s->ack, c->tlp_end))
        return;
    if (!c->tlp_is_retrans) {
        c->tlp_episode = false;
    } else if (dsack && s->opt.sack[0][1] == c->tlp_end) {
        c->tlp_episode = false;
        tcp_note(ctx, c, "loss probe D-SACKed: no loss (RFC 8985 7.4)");
    } else if (seq_gt(s->ack, c->tlp_end)) {
        c->tlp_episode = false;
        ctx->ctr.c[SF_CTR_TLP_REPAIRS]++;
        tcp_note(ctx, c, "loss probe repaired a loss: cwnd reduced "
                         "(RFC 8985 7.4)");
        tcp_cc_on_probe_repair(ctx, c);
    } else if (una0 == c->snd_una && s->opt.nsack == 0) {
        c->tlp_episode = false; /* a pure duplicate ACK */
    }
}
