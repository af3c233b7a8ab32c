/* Reassembly (RFC 9293 3.10.7.4: segments beyond RCV.NXT "SHOULD be held
 * for later processing", SHLD-31). Out-of-order bytes are written straight
 * into the receive ring at their offset past the tail, where they will be
 * when the gap fills, so holding them costs no allocation per segment and
 * no copy when they join the stream. What is held is a short list of
 * [start, end) sequence ranges, bounded in count and bytes. Where ranges
 * and new data overlap, the first copy received stays: later copies only
 * fill gaps (a peer cannot rewrite bytes it sent once). */
#include "tcp/tcp_int.h"

struct tcp_reass {
    unsigned n, max;
    uint32_t bytes;
    /* RFC 2018 4: the first sequence numbers of the latest out-of-order
     * segments, the most recent first: the ranges holding them are the
     * SACK blocks reported first */
    uint32_t recent[4];
    unsigned nrecent;
    struct {
        uint32_t start, end;
    } r[];
};

/* The ranges live with the receive ring's storage (its aux block): there
 * is nothing out of order without a ring to hold it. */
static struct tcp_reass *reass_of(const struct sf_conn *c)
{
    return c->rcvbuf.m ? c->rcvbuf.m->aux : NULL;
}

bool tcp_reass_empty(const struct sf_conn *c)
{
    const struct tcp_reass *q = reass_of(c);
    return !q || q->n == 0;
}

void tcp_reass_free(struct sf_conn *c)
{
    ring_aux_free(&c->rcvbuf);
}

/* Writes the parts of [seq, seq+len) not covered by held ranges. */
static void write_gaps(struct sf_conn *c, uint32_t seq, const uint8_t *data,
                       uint32_t len, uint64_t *work)
{
    uint32_t end = seq + len, at = seq;
    const struct tcp_reass *q = reass_of(c);
    for (unsigned i = 0; q && i < q->n && seq_lt(at, end); i++) {
        (*work)++;
        uint32_t s = q->r[i].start, e = q->r[i].end;
        if (seq_leq(e, at))
            continue;
        if (seq_geq(s, end))
            break;
        if (seq_lt(at, s))
            ring_write_at(&c->rcvbuf, tcp_rcv_cap(c), at - c->rcv_nxt, data + (at - seq),
                             s - at);
        at = e;
    }
    if (seq_lt(at, end))
        ring_write_at(&c->rcvbuf, tcp_rcv_cap(c), at - c->rcv_nxt, data + (at - seq),
                         end - at);
}

/* Merges [seq, end) into the sorted, disjoint range list. */
static void add_range(struct tcp_reass *q, uint32_t seq, uint32_t end,
                      uint64_t *work)
{
    unsigned i = 0;
    while (i < q->n && seq_lt(q->r[i].end, seq))
        i++;
    unsigned j = i;
    *work += i;
    while (j < q->n && seq_leq(q->r[j].start, end)) {
        (*work)++;
        if (seq_lt(q->r[j].start, seq))
            seq = q->r[j].start;
        if (seq_gt(q->r[j].end, end))
            end = q->r[j].end;
        q->bytes -= q->r[j].end - q->r[j].start;
        j++;
    }
    /* ranges i..j-1 collapse into one at i (the moves are work too) */
    *work += q->n - j;
    if (j == i) {
        for (unsigned k = q->n; k > i; k--)
            q->r[k] = q->r[k - 1];
        q->n++;
    } else {
        for (unsigned k = j; k < q->n; k++)
            q->r[i + 1 + k - j] = q->r[k];
        q->n -= j - i - 1;
    }
    q->r[i].start = seq;
    q->r[i].end = end;
    q->bytes += end - seq;
}

/* Would [seq, end) need a new range slot (touching no held range)? */
static bool needs_slot(const struct tcp_reass *q, uint32_t seq, uint32_t end,
                       uint64_t *work)
{
    for (unsigned i = 0; i < q->n; i++) {
        (*work)++;
        if (seq_leq(q->r[i].start, end) && seq_leq(seq, q->r[i].end))
            return false;
    }
    return true;
}

/* RFC 2883 4: a segment all of whose bytes are held already is a
 * duplicate: "the first SACK block ... should specify the contiguous
 * sequence space of the duplicate segment". */
static void note_dup(struct sf_conn *c, const struct tcp_reass *q,
                     uint32_t seq, uint32_t end, uint64_t *work)
{
    if (!c->sack_ok)
        return;
    for (unsigned i = 0; i < q->n; i++) {
        (*work)++;
        if (seq_leq(q->r[i].start, seq) && seq_leq(end, q->r[i].end)) {
            c->dsack[0] = seq;
            c->dsack[1] = end;
            c->dsack_on = true;
            return;
        }
    }
}

/* RFC 2018 4: "The first SACK block (i.e., the one immediately following
 * the kind and length fields in the option) MUST specify the contiguous
 * block of data containing the segment which triggered this ACK". */
static void note_recent(struct tcp_reass *q, uint32_t seq)
{
    unsigned k = q->nrecent < 4 ? q->nrecent : 3;
    for (; k > 0; k--)
        q->recent[k] = q->recent[k - 1];
    q->recent[0] = seq;
    if (q->nrecent < 4)
        q->nrecent++;
}

/* The held range holding seq, or q->n. */
static unsigned range_of(const struct tcp_reass *q, uint32_t seq)
{
    for (unsigned i = 0; i < q->n; i++)
        if (seq_leq(q->r[i].start, seq) && seq_lt(seq, q->r[i].end))
            return i;
    return q->n;
}

static bool listed(uint32_t (*blk)[2], unsigned n, uint32_t start)
{
    for (unsigned k = 0; k < n; k++)
        if (blk[k][0] == start)
            return true;
    return false;
}

unsigned tcp_reass_sack_blocks(const struct sf_conn *c, uint32_t (*blk)[2],
                               unsigned max)
{
    const struct tcp_reass *q = reass_of(c);
    if (!q || q->n == 0 || max == 0)
        return 0;
    unsigned n = 0;
    /* RFC 2018 4: the block of the latest segment first; then "The SACK
     * option SHOULD be filled out by repeating the most recently reported
     * SACK blocks (based on first SACK blocks in previous SACK options)
     * that are not subsets of a SACK block already included"; ranges
     * merge as holes fill, so a recent segment names its range now. */
    for (unsigned k = 0; k < q->nrecent && n < max; k++) {
        unsigned i = range_of(q, q->recent[k]);
        if (i == q->n || listed(blk, n, q->r[i].start))
            continue;
        blk[n][0] = q->r[i].start;
        blk[n][1] = q->r[i].end;
        n++;
    }
    /* then the other ranges, highest first (the sender learns of the
     * holes nearest its SND.NXT, as RFC 2018 4 advises for the rest) */
    for (unsigned i = q->n; i-- > 0 && n < max;) {
        if (listed(blk, n, q->r[i].start))
            continue;
        blk[n][0] = q->r[i].start;
        blk[n][1] = q->r[i].end;
        n++;
    }
    return n;
}

/* SegmentSmack (CVE-2018-5390): the range list is walked and shifted
 * per out-of-order segment, so its length bounds the work each one costs
 * (REASS_WORK counts the entries examined or moved). However many ranges
 * cfg.reass_max_ranges asks for, at most this many are held: a peer that
 * sends every other byte of a 16 MB window cannot make each segment cost
 * a walk of millions. */
#define REASS_RANGES_CAP 1024u

bool tcp_reass_store(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                     const uint8_t *data, uint32_t len)
{
    const struct sf_stack_cfg *cfg = ctx->cfg;
    unsigned max = cfg->reass_max_ranges ? cfg->reass_max_ranges : 1;
    if (max > REASS_RANGES_CAP)
        max = REASS_RANGES_CAP;
    if (tcp_rcvbuf_reserve(ctx, c, seq + len) < 0)
        return false;
    struct tcp_reass *q = c->rcvbuf.m->aux;
    if (!q) {
        /* charged to the stack's memory account with the ring */
        q = ring_aux_alloc(&c->rcvbuf,
                           (uint32_t)(sizeof *q + max * sizeof q->r[0]));
        if (!q) {
            ctx->ctr.c[SF_CTR_RCV_MEM_DROP]++;
            return false;
        }
        q->max = max;
    }
    uint32_t byte_limit = cfg->reass_max_bytes ? cfg->reass_max_bytes
                                               : tcp_rcv_cap(c);
    uint64_t *work = &ctx->ctr.c[SF_CTR_REASS_WORK];
    if ((q->n >= q->max && needs_slot(q, seq, seq + len, work)) ||
        q->bytes + len > byte_limit)
        return false;
    note_dup(c, q, seq, seq + len, work);
    write_gaps(c, seq, data, len, work);
    add_range(q, seq, seq + len, work);
    note_recent(q, seq);
    return true;
}

uint32_t tcp_reass_in_order(struct sf_conn *c, const uint8_t *data,
                            uint32_t len, bool *filled_hole)
{
    *filled_hole = false;
    uint64_t work = 0; /* (counted for out-of-order segments only) */
    write_gaps(c, c->rcv_nxt, data, len, &work);
    uint32_t end = c->rcv_nxt + len;
    struct tcp_reass *q = reass_of(c);
    unsigned k = 0;
    /* every held range the new data reaches joins the stream */
    while (q && k < q->n && seq_leq(q->r[k].start, end)) {
        if (seq_gt(q->r[k].end, end))
            end = q->r[k].end;
        q->bytes -= q->r[k].end - q->r[k].start;
        k++;
    }
    if (k) {
        *filled_hole = true;
        for (unsigned i = k; i < q->n; i++)
            q->r[i - k] = q->r[i];
        q->n -= k;
    }
    return end - c->rcv_nxt;
}

/* RFC 9293 3.10.7.4 eighth step: the peer's FIN at `fin` ends its
 * stream, so held bytes at or past it belong to no stream (a hostile or
 * broken peer's; as Linux's tcp_fin() purges its out-of-order queue):
 * forgotten, the highest ranges first. */
void tcp_reass_cut(struct sf_conn *c, uint32_t fin)
{
    struct tcp_reass *q = reass_of(c);
    while (q && q->n > 0 && seq_gt(q->r[q->n - 1].end, fin)) {
        unsigned i = q->n - 1;
        if (seq_lt(q->r[i].start, fin)) {
            q->bytes -= q->r[i].end - fin;
            q->r[i].end = fin;
            break;
        }
        q->bytes -= q->r[i].end - q->r[i].start;
        q->n--;
    }
}

/* Memory pressure (cfg.mem_max), as Linux's tcp_prune_ofo_queue: data
 * held out of order goes first, the highest ranges first. Here it is
 * written in the receive ring, so dropping it frees memory when nothing
 * in order is held besides it (the storage then exists for it alone):
 * only then is it pruned. This is reneging on what SACK blocks reported
 * (RFC 2018 8: "the data receiver is permitted to discard data in its
 * queue that has not been acknowledged to the data sender, even if the
 * data has already been reported in a SACK option"); the ranges are
 * gone, so no later SACK block names them, and the bytes were never
 * acknowledged (RCV.NXT did not pass them): the peer sends them again
 * and nothing is lost. Returns the bytes pruned. */
uint32_t tcp_reass_prune(struct tcp_ctx *ctx, struct sf_conn *c)
{
    struct tcp_reass *q = reass_of(c);
    if (!q || q->n == 0 || ring_len(&c->rcvbuf) != 0)
        return 0;
    uint32_t bytes = 0;
    while (q->n > 0) { /* the highest first */
        q->n--;
        bytes += q->r[q->n].end - q->r[q->n].start;
        ctx->ctr.c[SF_CTR_OFO_PRUNED]++;
    }
    ctx->ctr.c[SF_CTR_OFO_PRUNED_BYTES] += bytes;
    c->dsack_on = false; /* its range may be gone too */
    ring_free(&c->rcvbuf); /* the aux block with it */
    tcp_note(ctx, c, "memory pressure: out-of-order data pruned (reneging)");
    return bytes;
}
