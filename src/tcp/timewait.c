/* TIME_WAIT records (RFC 9293 3.10.7.4, 3.6.1): a connection in TIME_WAIT
 * whose application has let go shrinks to the numbers that answer a
 * retransmitted FIN (struct tcp_tw). A segment or the 2*MSL timeout
 * expands it into a full TCB on the caller's stack (tcp_tw_inflate), run
 * through the same RFC 9293 3.10 code as any connection, then folds it
 * back (tcp_tw_deflate). The stack layer owns the record table and the
 * expiry FIFO. */
#include <string.h>

#include "tcp/tcp_int.h"

/* The record of c, entering TIME_WAIT with no descriptor. The record
 * keeps the TIME_WAIT count the TCB had (tcp_conn_destroy of c takes the
 * TCB's off). */
void tcp_tw_from_conn(struct tcp_ctx *ctx, struct tcp_tw *tw,
                      const struct sf_conn *c)
{
    tw->local = c->local;
    tw->remote = c->remote;
    tw->snd_nxt = c->snd_max;
    tw->rcv_nxt = c->rcv_nxt;
    tw->expires = c->deadline[TT_WAIT];
    tw->ts_recent = c->ts_recent;
    tw->ts_ok = c->ts_ok;
    tw->rcv_wscale = c->wscale_ok ? c->rcv_wscale : 0;
    ctx->ctr.conns_in_state[SF_TIME_WAIT]++;
}

/* Not in the RFC; as Linux tcp_max_tw_buckets ("time wait bucket table
 * overflow"): each record is memory a peer can make us hold for 2*MSL by
 * closing connections. At the cap the connection skips TIME_WAIT and is
 * deleted at once; a stray old segment then meets no TCB and draws a RST
 * (3.10.7.1) instead of an ACK. */
void tcp_tw_overflow(struct tcp_ctx *ctx, struct sf_conn *c)
{
    ctx->ctr.c[SF_CTR_TW_OVERFLOW]++;
    tcp_note(ctx, c, "TIME_WAIT records at max_tw: closed at once");
    tcp_terminate(ctx, c, 0, SF_CAUSE_ABORT);
}

void tcp_tw_inflate(struct tcp_ctx *ctx, const struct tcp_tw *tw,
                    struct sf_conn *tmp)
{
    tcp_conn_init_record(ctx, tmp, SF_TIME_WAIT);
    tmp->local = tw->local;
    tmp->remote = tw->remote;
    tmp->snd_una = tmp->snd_nxt = tmp->snd_max = tw->snd_nxt;
    tmp->syn_acked = true;
    tmp->iss = tw->snd_nxt - 1;
    tmp->snd_buf_seq = tw->snd_nxt - 1;
    tmp->fin_queued = true;
    tmp->fin_seq = tw->snd_nxt - 1; /* our FIN, acknowledged */
    tmp->rcv_nxt = tmp->rcv_acked = tw->rcv_nxt;
    tmp->fin_rcvd = tmp->rfin = true;
    tmp->rfin_seq = tw->rcv_nxt - 1;
    tmp->app_closed = true;
    tmp->snd_wl1 = tw->rcv_nxt;
    tmp->snd_wl2 = tw->snd_nxt;
    /* RFC 7323 5.8: PAWS keeps working in TIME_WAIT; its ACKs carry
     * TSopt and a window in the negotiated scale. (The peer's shift is
     * not kept: nothing is sent in TIME_WAIT that its window limits.) */
    tmp->ts_ok = tmp->want_ts = tw->ts_ok;
    tmp->ts_recent = tw->ts_recent;
    tmp->ts_recent_ms = tcp_now_ms(ctx);
    tmp->ts_offset = tw->ts_ok ? tcp_ts_offset(ctx, &tw->local, &tw->remote) : 0;
    tmp->wscale_ok = tw->rcv_wscale != 0;
    tmp->rcv_wscale = tw->rcv_wscale;
    tmp->rcv_wnd = tcp_rcv_window(tmp);
    tmp->deadline[TT_WAIT] = tw->expires;
}

/* After tmp (expanded from a record) was run: false if the TIME_WAIT ended
 * (tmp freed: the caller deletes the record); else true, tmp folded
 * back, and *due its 2*MSL deadline (restarted by a retransmitted FIN). */
bool tcp_tw_deflate(struct tcp_ctx *ctx, struct sf_conn *tmp, sf_time_t *due)
{
    if (tmp->dead) {
        tcp_conn_destroy(ctx, tmp);
        return false;
    }
    *due = tmp->deadline[TT_WAIT];
    tcp_timers_stop_all(ctx, tmp);
    tcp_sndbuf_free(ctx, tmp);
    ring_free(&tmp->rcvbuf);
    return true;
}

/* As BSD and Linux do: a SYN numbered beyond the old RCV.NXT cannot be
 * confused with the old connection's segments, so it may open a new
 * incarnation of the 4-tuple now instead of after 2*MSL. Its ISS must lie
 * above the old SND.NXT (RFC 9293 3.6.1, RFC 1122 4.2.2.13), which a SYN
 * cookie cannot promise: with the SYN or accept queue full the record
 * stays and the SYN is answered as TIME-WAIT answers it (the peer's
 * retransmission tries again). True: tmp (expanded from tw) is CLOSED,
 * and listener l may take seg. */
bool tcp_tw_reopen(struct tcp_ctx *ctx, const struct tcp_tw *tw,
                   struct sf_conn *tmp, const struct sf_conn *l,
                   const struct sf_tcp *seg)
{
    if ((seg->flags & (SF_SYN | SF_ACK | SF_RST | SF_FIN)) != SF_SYN || !l ||
        !seq_gt(seg->seq, tw->rcv_nxt) || !tcp_listen_has_room(ctx, l))
        return false;
    tcp_set_state(ctx, tmp, SF_CLOSED, SF_CAUSE_NEW_INCARNATION);
    tmp->dead = true;
    return true;
}

/* RFC 9293 3.10.6 STATUS of a record. */
void tcp_tw_info(const struct tcp_tw *tw, struct sf_tcp_info *info)
{
    memset(info, 0, sizeof *info);
    info->state = SF_TIME_WAIT;
    info->sd = -1;
    info->local = tw->local;
    info->remote = tw->remote;
    info->snd_una = info->snd_nxt = tw->snd_nxt;
    info->rcv_nxt = tw->rcv_nxt;
    info->timer = SF_TIMER_TIME_WAIT;
    info->timer_expires = tw->expires;
}
