/* State inference (see infer.h). */
#include "ladder/infer.h"

static void go(struct infer *in, int side, enum sf_state to, enum sf_cause c)
{
    enum sf_state from = in->s[side].st;
    if (from == to)
        return;
    in->s[side].st = to;
    in->fn(in->ctx, side, from, to, c);
}

static void apply_fin(struct infer *in, int to);

void infer_init(struct infer *in, bool passive, infer_fn fn, void *ctx)
{
    *in = (struct infer){.fn = fn, .ctx = ctx};
    in->s[1].passive = passive;
    if (passive)
        go(in, 1, SF_LISTEN, SF_CAUSE_OPEN_PASSIVE);
}

void infer_send(struct infer *in, int from, const struct sf_tcp *t)
{
    struct infer_side *s = &in->s[from];
    if (t->flags & SF_SYN) {
        s->has_iss = true;
        s->iss = t->seq;
        if (!(t->flags & SF_ACK) && s->st == SF_CLOSED)
            go(in, from, SF_SYN_SENT, SF_CAUSE_OPEN_ACTIVE);
        else if ((t->flags & SF_ACK) &&
                 (s->st == SF_LISTEN || s->st == SF_SYN_SENT))
            go(in, from, SF_SYN_RCVD, SF_CAUSE_RCV_SYN);
    }
    /* A side has surely received the peer's FIN once it acknowledges it:
     * a single capture point cannot tell when it arrived (a FIN crossing
     * ours in a simultaneous close is still in flight when ours leaves). */
    if (s->fin_pending && (t->flags & SF_ACK) && t->ack == s->peer_fin_seq + 1)
        apply_fin(in, from);
    if ((t->flags & SF_RST) && s->st != SF_LISTEN && s->st != SF_CLOSED)
        go(in, from, SF_CLOSED, SF_CAUSE_ABORT);
    if ((t->flags & SF_FIN) && !s->fin_sent) {
        /* RFC 9293 3.10.4: CLOSE in ESTABLISHED or SYN_RCVD sends FIN and
         * enters FIN_WAIT_1; in CLOSE_WAIT it enters LAST_ACK. */
        s->fin_sent = true;
        s->fin_seq = t->seq + (uint32_t)t->len + ((t->flags & SF_SYN) != 0);
        if (s->st == SF_ESTABLISHED || s->st == SF_SYN_RCVD)
            go(in, from, SF_FIN_WAIT_1, SF_CAUSE_CLOSE);
        else if (s->st == SF_CLOSE_WAIT)
            go(in, from, SF_LAST_ACK, SF_CAUSE_CLOSE);
    }
}

static void recv_rst(struct infer *in, int to, const struct sf_tcp *t)
{
    struct infer_side *r = &in->s[to];
    if (r->st == SF_SYN_SENT) {
        /* RFC 9293 3.10.7.3: only a RST acking our SYN counts. */
        if ((t->flags & SF_ACK) && r->has_iss && t->ack == r->iss + 1)
            go(in, to, SF_CLOSED, SF_CAUSE_RCV_RST);
    } else if (r->st == SF_SYN_RCVD && r->passive) {
        go(in, to, SF_LISTEN, SF_CAUSE_RCV_RST);
    } else if (r->st != SF_LISTEN && r->st != SF_CLOSED) {
        go(in, to, SF_CLOSED, SF_CAUSE_RCV_RST);
    }
}

static void apply_fin(struct infer *in, int to);

/* The ACK field: the handshake's last step, or the ACK of our FIN. */
static void recv_ack(struct infer *in, int to, const struct sf_tcp *t)
{
    struct infer_side *r = &in->s[to];
    if (r->st == SF_SYN_SENT && (t->flags & SF_SYN) && t->ack == r->iss + 1)
        go(in, to, SF_ESTABLISHED, SF_CAUSE_RCV_SYNACK);
    else if (r->st == SF_SYN_RCVD && t->ack == r->iss + 1)
        go(in, to, SF_ESTABLISHED, SF_CAUSE_RCV_ACK);
    if (!r->fin_sent || t->ack != r->fin_seq + 1)
        return;
    /* The peer's FIN was captured before this ACK, so on an in-order path
     * it arrived first: a simultaneous close goes through CLOSING. */
    if (r->fin_pending && r->st == SF_FIN_WAIT_1)
        apply_fin(in, to);
    /* A FIN that acknowledges ours takes FIN_WAIT_1 straight to TIME_WAIT
     * (recv_fin notes it; the state changes once it is acknowledged). */
    if (r->st == SF_FIN_WAIT_1 && (t->flags & SF_FIN))
        return;
    if (r->st == SF_FIN_WAIT_1)
        go(in, to, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK_OF_FIN);
    else if (r->st == SF_CLOSING)
        go(in, to, SF_TIME_WAIT, SF_CAUSE_RCV_ACK_OF_FIN);
    else if (r->st == SF_LAST_ACK)
        go(in, to, SF_CLOSED, SF_CAUSE_RCV_ACK_OF_FIN);
}

static void apply_fin(struct infer *in, int to)
{
    struct infer_side *r = &in->s[to];
    bool acks_ours = r->fin_acked;
    r->fin_pending = false;
    r->fin_seen = true;
    if (r->st == SF_ESTABLISHED || r->st == SF_SYN_RCVD)
        go(in, to, SF_CLOSE_WAIT, SF_CAUSE_RCV_FIN);
    else if (r->st == SF_FIN_WAIT_1)
        go(in, to, acks_ours ? SF_TIME_WAIT : SF_CLOSING,
           acks_ours ? SF_CAUSE_RCV_FIN_ACK : SF_CAUSE_RCV_FIN);
    else if (r->st == SF_FIN_WAIT_2)
        go(in, to, SF_TIME_WAIT, SF_CAUSE_RCV_FIN);
}

static void recv_fin(struct infer *in, int to, const struct sf_tcp *t)
{
    struct infer_side *r = &in->s[to];
    if (r->fin_seen || r->fin_pending)
        return; /* a retransmitted FIN changes nothing */
    r->fin_pending = true;
    r->peer_fin_seq = t->seq + (uint32_t)t->len;
    r->fin_acked = (t->flags & SF_ACK) && r->fin_sent &&
                   t->ack == r->fin_seq + 1;
}

void infer_recv(struct infer *in, int from, const struct sf_tcp *t)
{
    int to = in->self ? from : 1 - from;
    struct infer_side *r = &in->s[to];
    if (t->flags & SF_RST) {
        recv_rst(in, to, t);
        return;
    }
    if ((t->flags & SF_SYN) && !(t->flags & SF_ACK) &&
        (r->st == SF_LISTEN || r->st == SF_SYN_SENT))
        go(in, to, SF_SYN_RCVD, SF_CAUSE_RCV_SYN);
    if (t->flags & SF_ACK)
        recv_ack(in, to, t);
    if (t->flags & SF_FIN)
        recv_fin(in, to, t);
}
