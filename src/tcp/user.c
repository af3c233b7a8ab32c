/* The user calls of RFC 9293 3.10.1-3.10.5: OPEN, SEND, RECEIVE, CLOSE,
 * ABORT, each with its per-state rules. (STATUS is tcp_info in conn.c.) */
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp_int.h"

/* 3.10.1 OPEN, active: "select an ISS. Send a SYN segment of the form
 * <SEQ=ISS><CTL=SYN>. Set SND.UNA to ISS, SND.NXT to ISS+1, enter
 * SYN-SENT state". */
int tcp_open_active(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->iss = tcp_isn(ctx, &c->local, &c->remote);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->snd_buf_seq = c->iss + 1;
    c->snd_sml = c->iss;
    c->rto_us = (uint32_t)(ctx->cfg->rto_initial / SF_USEC);
    /* RFC 7323: the shift offered and this connection's TS clock */
    tcp_wscale_choose(ctx, c);
    c->ts_offset = tcp_ts_offset(ctx, &c->local, &c->remote);
    ctx->ctr.c[SF_CTR_ACTIVE_OPENS]++;
    tcp_set_state(ctx, c, SF_SYN_SENT, SF_CAUSE_OPEN_ACTIVE);
    tcp_output(ctx, c);
    return SF_EINPROGRESS;
}

/* 3.10.1 OPEN, passive: "enter the LISTEN state and return". */
int tcp_open_passive(struct tcp_ctx *ctx, struct sf_conn *c, int backlog)
{
    c->lq = calloc(1, sizeof *c->lq);
    if (!c->lq)
        return SF_ENOMEM;
    c->lq->backlog = backlog;
    tcp_set_state(ctx, c, SF_LISTEN, SF_CAUSE_OPEN_PASSIVE);
    return 0;
}

/* Returns (and clears) the error a reset or timeout left, if any. */
static int take_error(struct sf_conn *c)
{
    int e = c->error;
    c->error = 0;
    return e;
}

/* 3.10.2 SEND up to the point of queueing: 0 if data may be queued now,
 * else what SEND returns. Reserves the send buffer's storage. */
static long send_check(struct tcp_ctx *ctx, struct sf_conn *c, size_t len)
{
    int e = take_error(c);
    if (e)
        return e;
    switch (c->state) {
    case SF_CLOSED:
        /* never connected: "connection does not exist"; after a reset or
         * an orderly end, writing is a broken pipe */
        return c->reset_error || c->fin_queued ? SF_EPIPE : SF_ENOTCONN;
    case SF_LISTEN:
        /* Figure 5's LISTEN --SEND--> SYN_SENT needs a remote address a
         * listening socket does not have here. */
        return SF_ENOTCONN;
    case SF_SYN_SENT:
    case SF_SYN_RCVD:  /* "Queue the data for transmission after entering
                          ESTABLISHED state" */
    case SF_ESTABLISHED:
    case SF_CLOSE_WAIT: /* "Queue the buffer"; the peer only half closed */
        break;
    default:
        return SF_EPIPE; /* "error: connection closing" */
    }
    if (c->fin_queued)
        return SF_EPIPE;
    if (len == 0)
        return 1;
    /* grown to hold len more (or as autotuning raised the buffer) */
    int k = tcp_sndbuf_reserve(ctx, c, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    if (k == -2) { /* at the memory cap (cfg.mem_max): later, as Linux's
                    * sk_stream_wait_memory; the wakeup says when (with
                    * nothing in flight no ACK would) */
        c->snd_mem_wait = true;
        ctx->mem_waiting = true;
        return SF_EAGAIN;
    }
    if (k < 0)
        return SF_ENOMEM;
    return 0;
}

/* 3.10.2 SEND. */
long tcp_send(struct tcp_ctx *ctx, struct sf_conn *c, const void *buf,
              size_t len)
{
    c->snd_resv = 0; /* a reservation is void after any other SEND */
    long r = send_check(ctx, c, len);
    if (r != 0)
        return r > 0 ? 0 : r;
    uint32_t n = ring_write(&c->sndbuf, c->sndbuf_size, buf,
                               len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    if (n == 0)
        return SF_EAGAIN; /* "insufficient resources": try again later */
    tcp_output(ctx, c);
    return (long)n;
}

/* 3.10.2 SEND without the copy: the free room of the send buffer is
 * shown where it lies, for the application to fill and
 * tcp_send_commit to queue. */
long tcp_send_reserve(struct tcp_ctx *ctx, struct sf_conn *c, uint8_t *p[2],
                      uint32_t n[2], size_t len)
{
    n[0] = n[1] = 0;
    p[0] = p[1] = NULL;
    c->snd_resv = 0;
    long r = send_check(ctx, c, len);
    if (r != 0)
        return r > 0 ? 0 : r;
    uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint32_t k = ring_free_view(&c->sndbuf, c->sndbuf_size, want, p, n);
    if (k == 0)
        return SF_EAGAIN; /* "insufficient resources": try again later */
    c->snd_resv = k;
    return (long)k;
}

long tcp_send_queue(struct tcp_ctx *ctx, struct sf_conn *c, size_t n)
{
    (void)ctx;
    uint32_t resv = c->snd_resv;
    c->snd_resv = 0;
    /* Only what the last reserve showed, and only while the storage it
     * showed is still there: a FIN queued or a reset since makes it void. */
    if (c->state != SF_SYN_SENT && c->state != SF_SYN_RCVD &&
        c->state != SF_ESTABLISHED && c->state != SF_CLOSE_WAIT)
        return SF_EPIPE;
    if (n > resv || !c->sndbuf.m || c->fin_queued ||
        ring_space(&c->sndbuf, ring_cap(&c->sndbuf)) < n)
        return SF_EINVAL;
    ring_commit(&c->sndbuf, (uint32_t)n);
    return (long)n;
}

long tcp_send_commit(struct tcp_ctx *ctx, struct sf_conn *c, size_t n)
{
    long r = tcp_send_queue(ctx, c, n);
    if (r > 0)
        tcp_output(ctx, c);
    else if (r == 0 && !ring_len(&c->sndbuf)) {
        /* Nothing written into the room shown, nothing queued: the
         * storage the reservation took goes back to the cache, as when
         * all is acknowledged (input.c), rather than stay with a
         * connection that reserved on the chance of a read that brought
         * nothing (an idle relay held 17 KB a connection so). No output
         * can hold a slice of it (no tcp_out_flush, which would cut the
         * driver's batch short): a send ring that empties gives its
         * storage up there, so an empty one with storage got it from a
         * reservation, and nothing was queued in it since. */
        ring_trim_cached(&c->sndbuf, false, &ctx->rcache);
    }
    return r;
}

/* RFC 9293 3.8.6.2.2: after the application reads, advertise the larger
 * window only once it has grown by min(half the buffer, one MSS), so we
 * never invite a silly small segment. */
static void maybe_window_update(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->state != SF_ESTABLISHED && c->state != SF_FIN_WAIT_1 &&
        c->state != SF_FIN_WAIT_2)
        return;
    uint32_t now_wnd = tcp_rcv_window(c);
    uint32_t mss = tcp_our_mss(ctx, c);
    uint32_t step = c->rcvbuf_size / 2 < mss ? c->rcvbuf_size / 2 : mss;
    if (now_wnd > c->rcv_wnd && now_wnd - c->rcv_wnd >= step) {
        c->ack_now = true;
        tcp_output(ctx, c);
    }
}

/* What RECEIVE returns with no byte to hand over: the error a reset or
 * timeout left, 0 at the end of the stream, or "nothing yet". */
static long receive_nothing(struct sf_conn *c, size_t len)
{
    int e = take_error(c);
    if (e)
        return e;
    if (c->fin_rcvd || c->shut_rd || c->reset_error)
        return 0; /* end of stream */
    if (c->state == SF_CLOSED)
        return SF_ENOTCONN;
    return len == 0 ? 0 : SF_EAGAIN;
}

/* The application has taken n bytes from the head of the receive buffer. */
static void received(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t n)
{
    ring_consume(&c->rcvbuf, n);
    /* read dry and no out-of-order bytes waiting: no buffer */
    ring_trim_cached(&c->rcvbuf, !tcp_reass_empty(c), &ctx->rcache);
    tcp_rcvbuf_autotune(ctx, c, n);
    maybe_window_update(ctx, c);
}

/* 3.10.3 RECEIVE. */
long tcp_receive(struct tcp_ctx *ctx, struct sf_conn *c, void *buf,
                 size_t len, int flags)
{
    if (c->state == SF_LISTEN)
        return SF_ENOTCONN;
    if (ring_len(&c->rcvbuf) > 0 && len > 0) {
        uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
        uint32_t n = ring_peek(&c->rcvbuf, 0, buf, want);
        if (!(flags & SF_MSG_PEEK))
            received(ctx, c, n);
        return (long)n;
    }
    return receive_nothing(c, len);
}

/* 3.10.3 RECEIVE without the copy: the bytes are shown where they lie
 * (tcp_receive_done takes them), or what RECEIVE would return. */
long tcp_receive_view(struct tcp_ctx *ctx, struct sf_conn *c, uint8_t *p[2],
                      uint32_t n[2], size_t len)
{
    (void)ctx;
    n[0] = n[1] = 0;
    p[0] = p[1] = NULL;
    if (c->state == SF_LISTEN)
        return SF_ENOTCONN;
    if (ring_len(&c->rcvbuf) > 0 && len > 0) {
        uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
        return (long)ring_view(&c->rcvbuf, 0, want, p, n);
    }
    return receive_nothing(c, len);
}

long tcp_receive_done(struct tcp_ctx *ctx, struct sf_conn *c, size_t n)
{
    if (c->state == SF_LISTEN || n > ring_len(&c->rcvbuf))
        return SF_EINVAL; /* more than tcp_receive_view could have shown */
    if (n)
        received(ctx, c, (uint32_t)n);
    return 0;
}

/* Queues our FIN behind every byte already written. */
static void queue_fin(struct sf_conn *c)
{
    c->fin_queued = true;
    c->fin_seq = c->snd_buf_seq + ring_len(&c->sndbuf);
}

/* 3.10.4 CLOSE (also shutdown(SHUT_WR): the FIN is the same). */
int tcp_close(struct tcp_ctx *ctx, struct sf_conn *c)
{
    switch (c->state) {
    case SF_LISTEN:
        /* "Any outstanding RECEIVEs are returned with 'error: closing'
         * responses. Delete TCB" (the stack resets the children first). */
        tcp_set_state(ctx, c, SF_CLOSED, SF_CAUSE_CLOSE);
        c->dead = true;
        return 0;
    case SF_SYN_SENT:
        /* "Delete the TCB and return 'error: closing'" */
        tcp_terminate(ctx, c, 0, SF_CAUSE_CLOSE);
        return 0;
    case SF_SYN_RCVD:
        /* "form a FIN segment and send it, and enter FIN-WAIT-1"; data
         * queued first still goes ahead of it. */
    case SF_ESTABLISHED:
        /* "Queue this until all preceding SENDs have been segmentized,
         * then form a FIN segment and send it. ... enter FIN-WAIT-1" */
        queue_fin(c);
        tcp_set_state(ctx, c, SF_FIN_WAIT_1, SF_CAUSE_CLOSE);
        tcp_output(ctx, c);
        return 0;
    case SF_CLOSE_WAIT:
        /* "Queue this request until all preceding SENDs have been
         * segmentized; then send a FIN segment, enter LAST-ACK state." */
        queue_fin(c);
        tcp_set_state(ctx, c, SF_LAST_ACK, SF_CAUSE_CLOSE);
        tcp_output(ctx, c);
        return 0;
    default:
        /* FIN_WAIT_1/2, CLOSING, LAST_ACK, TIME_WAIT: already closing;
         * CLOSED: nothing to close. */
        return 0;
    }
}

/* 3.10.5 ABORT. */
void tcp_abort(struct tcp_ctx *ctx, struct sf_conn *c)
{
    switch (c->state) {
    case SF_SYN_RCVD:
    case SF_ESTABLISHED:
    case SF_FIN_WAIT_1:
    case SF_FIN_WAIT_2:
    case SF_CLOSE_WAIT:
        /* "Send a reset segment: <SEQ=SND.NXT><CTL=RST>" */
        tcp_send_rst(ctx, c);
        tcp_terminate(ctx, c, 0, SF_CAUSE_ABORT);
        break;
    case SF_SYN_SENT:
    case SF_CLOSING:
    case SF_LAST_ACK:
    case SF_TIME_WAIT:
        /* "Respond with 'ok' and delete the TCB" */
        tcp_terminate(ctx, c, 0, SF_CAUSE_ABORT);
        break;
    default:
        break;
    }
}

/* The application released its descriptor. */
void tcp_orphan(struct tcp_ctx *ctx, struct sf_conn *c)
{
    c->app_closed = true;
    c->sd = -1;
    /* RFC 1122 4.2.2.13: "If such a host issues a CLOSE call while
     * received data is still pending in TCP ... its TCP SHOULD send a RST
     * to show that data was lost." */
    if (ring_len(&c->rcvbuf) > 0) {
        tcp_abort(ctx, c);
        return;
    }
    if (c->state == SF_FIN_WAIT_2)
        tcp_timer_start(ctx, c, TT_WAIT, ctx->cfg->fin_wait_2_timeout);
}

