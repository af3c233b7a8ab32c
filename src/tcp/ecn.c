/* RFC 3168 Explicit Congestion Notification for TCP: the ECN-setup
 * handshake (6.1.1), ECT(0) on new data (6.1.1, 6.1.4-6.1.6), the data
 * receiver's echo of CE with ECE until CWR (6.1.3), and the data sender's
 * congestion response to ECE, at most once per window, announced with CWR
 * (6.1.2). The window reduction itself is congestion control's (cc.c,
 * tcp_cc_on_ecn), so that whatever algorithm runs decides how far.
 *
 * The IP ECN field (RFC 3168 5): the two low bits of the TOS byte,
 * 00 Not-ECT, 10 ECT(0), 01 ECT(1), 11 CE. */
#include "tcp/cc.h"
#include "tcp/tcp_int.h"

#define ECN_NOT_ECT 0x0
#define ECN_ECT0 0x2
#define ECN_CE 0x3
#define ECN_MASK 0x3

/* RFC 3168 6.1.1: "An ECN-setup SYN packet: a SYN packet with the ECE
 * and CWR flags set"; "An ECN-setup SYN-ACK packet: a SYN-ACK packet with
 * the ECE flag set but the CWR flag not set". */
static bool ecn_setup_syn(const struct sf_tcp *s)
{
    return (s->flags & (SF_ECE | SF_CWR)) == (SF_ECE | SF_CWR);
}
static bool ecn_setup_synack(const struct sf_tcp *s)
{
    return (s->flags & (SF_ECE | SF_CWR)) == SF_ECE;
}

uint8_t tcp_ecn_syn_flags(struct sf_conn *c)
{
    if (c->state == SF_SYN_SENT) {
        /* RFC 3168 6.1.1: "Before a TCP connection can use ECN, Host A
         * sends an ECN-setup SYN packet". Only mode 1 asks (Linux
         * tcp_ecn=1). Retransmitted SYNs ask again: the MAY of 6.1.1.1
         * (resend without ECE and CWR after a timeout) is not taken, so
         * every SYN we send is an ECN-setup SYN or none is. */
        c->ecn_ok = c->ecn_mode == 1;
        return c->ecn_ok ? SF_ECE | SF_CWR : 0;
    }
    /* RFC 3168 6.1.1: "If a host has received an ECN-setup SYN packet,
     * then it MAY send an ECN-setup SYN-ACK packet"; otherwise the
     * SYN,ACK is a plain one and ECN is off for the connection. */
    return c->ecn_ok ? SF_ECE : 0;
}

void tcp_ecn_syn_in(struct sf_conn *c, const struct sf_tcp *s)
{
    /* Passive open: accept in modes 1 and 2. Simultaneous open (SYN_SENT):
     * only if our own SYN was ECN-setup too, since RFC 3168 6.1.1 lets a
     * host set ECT only if it "has sent at least one ECN-setup SYN or
     * ECN-setup SYN-ACK packet, and has received at least one ECN-setup
     * SYN or ECN-setup SYN-ACK packet, and has sent no non-ECN-setup SYN
     * or non-ECN-setup SYN-ACK packet". */
    bool willing = c->state == SF_SYN_SENT ? c->ecn_ok : c->ecn_mode != 0;
    c->ecn_ok = willing && ecn_setup_syn(s);
}

void tcp_ecn_synack_in(struct sf_conn *c, const struct sf_tcp *s)
{
    /* RFC 3168 6.1.1: ECN is used only if we sent an ECN-setup SYN and
     * the answer is an ECN-setup SYN-ACK (ECE without CWR; a SYN-ACK with
     * both, from a peer that reflects the flags, is not one). */
    c->ecn_ok = c->ecn_ok && ecn_setup_synack(s);
}

void tcp_ecn_established(struct tcp_ctx *ctx, struct sf_conn *c)
{
    if (c->ecn_ok)
        ctx->ctr.c[SF_CTR_ECN_NEGOTIATED]++;
}

/* RFC 3168 6.1.6: a window probe is data beyond the window offered. */
static bool window_probe(const struct sf_conn *c, uint32_t seq, uint32_t n)
{
    return seq_gt(seq + n, c->snd_una + c->snd_wnd);
}

uint8_t tcp_ecn_data_out(struct tcp_ctx *ctx, struct sf_conn *c, uint32_t seq,
                         uint32_t n, uint8_t *flags)
{
    if (!c->ecn_ok || n == 0 || !c->syn_acked)
        return ECN_NOT_ECT; /* RFC 3168 6.1.4: pure ACKs are Not-ECT */
    /* RFC 3168 6.1.5: "the TCP data sender MUST NOT set either an ECT
     * codepoint or the CE codepoint in the IP header for retransmitted
     * data packets". A retransmission is anything below SND.MAX. */
    if (seq_lt(seq, c->snd_max))
        return ECN_NOT_ECT;
    /* RFC 3168 6.1.6: window probes are sent Not-ECT (a probe's loss
     * must not be taken for congestion, nor its mark answered). */
    if (window_probe(c, seq, n))
        return ECN_NOT_ECT;
    /* RFC 3168 6.1.2: "the TCP sender sets the CWR flag in the TCP header
     * of the first new data packet sent after the window reduction". */
    if (c->ecn_cwr) {
        c->ecn_cwr = false;
        *flags |= SF_CWR;
        ctx->ctr.c[SF_CTR_ECN_CWR_SENT]++;
    }
    /* RFC 3168 5 and 6.1.1: new data of an ECN connection goes ECT(0)
     * (RFC 3168 6.1.1.1: "A host MUST NOT set ECT on SYN or SYN-ACK
     * packets": send_syn never comes here). */
    return ECN_ECT0;
}

void tcp_ecn_ack_out(struct tcp_ctx *ctx, struct sf_conn *c, uint8_t *flags)
{
    /* RFC 3168 6.1.3: after a CE packet, "the TCP receiver sets the
     * ECN-Echo flag in the TCP header of the subsequent ACK packet" and
     * goes on setting it "in all ACK packets it sends ... until it
     * receives a CWR packet". Not on a SYN,ACK (ECE means something
     * else there) nor on a RST. */
    if (!c->ecn_ok || !c->ecn_ece || !(*flags & SF_ACK) ||
        (*flags & (SF_SYN | SF_RST)))
        return;
    *flags |= SF_ECE;
    ctx->ctr.c[SF_CTR_ECN_ECE_SENT]++;
}

void tcp_ecn_rcv(struct tcp_ctx *ctx, struct sf_conn *c,
                 const struct tcp_ip *ip, const struct sf_tcp *s)
{
    if (!c->ecn_ok)
        return;
    /* RFC 3168 6.1.3: "After the receipt of the CWR packet,
     * acknowledgments for subsequent non-CE data packets do not have the
     * ECN-Echo flag set." CWR first: a CWR packet that is itself CE
     * starts the echo again, below. */
    if (s->flags & SF_CWR)
        c->ecn_ece = false;
    /* RFC 3168 6.1.5: the receiver "SHOULD ignore the ECN field on
     * arriving data packets that are outside of the receiver's current
     * window": this runs for acceptable segments only (after the first
     * step of RFC 9293 3.10.7.4). */
    if ((ip->tos & ECN_MASK) != ECN_CE)
        return;
    ctx->ctr.c[SF_CTR_ECN_CE_RCVD]++;
    /* "If another CE packet is received by the data receiver, the
     * receiver would once again send ACK packets with the ECN-Echo flag
     * set." The first ACK to carry it goes at once, not delayed, so that
     * the sender learns of the congestion a round trip sooner. */
    if (!c->ecn_ece)
        c->ack_now = true;
    c->ecn_ece = true;
}

void tcp_ecn_ece_in(struct tcp_ctx *ctx, struct sf_conn *c,
                    const struct sf_tcp *s)
{
    if (!c->ecn_ok || !(s->flags & SF_ECE) || (s->flags & SF_SYN) ||
        !c->syn_acked)
        return;
    ctx->ctr.c[SF_CTR_ECN_ECE_RCVD]++;
    /* RFC 3168 6.1.2: "TCP should not react to congestion indications
     * more than once every window of data (or more loosely, more than
     * once every round-trip time)": not again until an ACK covers data
     * sent after the last reduction (beyond ecn_high, SND.MAX then). */
    if (c->ecn_cut && !seq_gt(s->ack, c->ecn_high))
        return;
    /* A fast retransmit already reduced the window for this one (6.1.2:
     * the indication "should be treated just as a congestion loss"). */
    if (c->in_recovery)
        return;
    /* "the TCP source halves the congestion window "cwnd" and reduces
     * the slow start threshold "ssthresh"" */
    tcp_cc_on_ecn(ctx, c);
    c->ecn_cut = true;
    c->ecn_high = c->snd_max;
    ctx->ctr.c[SF_CTR_ECN_REDUCTIONS]++;
    tcp_ecn_queue_cwr(c);
}

void tcp_ecn_queue_cwr(struct sf_conn *c)
{
    /* RFC 3168 6.1.2: "When an ECN-Capable TCP sender reduces its
     * congestion window for any reason (because of a retransmit timeout,
     * a Fast Retransmit, or in response to an ECN Notification), the TCP
     * sender sets the CWR flag in the TCP header of the first new data
     * packet sent after the window reduction". */
    if (c->ecn_ok)
        c->ecn_cwr = true;
}
