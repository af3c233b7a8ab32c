/* Path MTU discovery, the lowering half: RFC 1191 (IPv4: ICMP Destination
 * Unreachable, "fragmentation needed and DF set", with the next-hop MTU)
 * and RFC 8201 (IPv6: ICMPv6 Packet Too Big). The stack (stack/icmp.c)
 * checks the message and finds the connection its quoted segment names;
 * here the RFC 5927 check that the segment is in flight, the new MSS, and
 * the segments sent again at it. synfin never raises the path MTU again
 * (RFC 8201 4 allows it after probing; not done) and does no PLPMTUD
 * (RFC 4821). */
#include "tcp/tcp_int.h"

/* RFC 8201 4: "A node MUST NOT reduce its estimate of the Path MTU below
 * the IPv6 minimum link MTU" (1280). RFC 1191 3 puts IPv4's floor at 68;
 * a forged message could then cut a connection into 28-byte segments
 * (RFC 5927 7.2 describes the attack), so synfin floors IPv4 at 576, the
 * datagram every host must accept (RFC 1122 3.3.3; Linux floors at 552). */
#define PMTU_MIN6 1280u
#define PMTU_MIN4 576u

/* RFC 5927 4.1: act on an ICMP error only if the quoted sequence number
 * is one we sent and the peer has not acknowledged, SND.UNA =< SEG.SEQ <
 * SND.NXT (SND.MAX here: SND.NXT goes back on a timeout), so that a
 * forged message must guess it; and only for a connection that sends
 * (not one closed, listening or in TIME_WAIT). */
static bool quoted_in_flight(const struct sf_conn *c, uint32_t quoted_seq)
{
    return !c->dead && c->state != SF_CLOSED && c->state != SF_LISTEN &&
           c->state != SF_TIME_WAIT && seq_geq(quoted_seq, c->snd_una) &&
           seq_lt(quoted_seq, c->snd_max);
}

/* RFC 9293 3.9.2.2 (MUST-54: act on it; MUST-56: never abort on a soft
 * error; SHLD-26: abort on a hard one), as RFC 5461 4 refines it and
 * Linux does: a hard error (port or protocol unreachable, administrative
 * prohibition) aborts an opening connection (SYN_SENT, or SYN_RCVD of a
 * simultaneous open: the peer told us nobody is there); in a synchronized
 * state it is only noted, as a soft error is (RFC 5461 4: a transient
 * routing or firewall state must not kill a working connection). A noted
 * error is reported if the connection then times out (tcp_terminate),
 * as Linux's sk_err_soft. Unlike Linux, which aborts a SYN_SENT on soft
 * errors too (RFC 5461 4 describes that), synfin keeps retrying the SYN:
 * MUST-56 has no exception for the handshake. */
enum sf_drop tcp_icmp_unreach(struct tcp_ctx *ctx, struct sf_conn *c,
                              uint32_t quoted_seq, int err, bool hard)
{
    if (!quoted_in_flight(c, quoted_seq))
        return SF_DROP_ICMP_NOT_IN_FLIGHT;
    if (hard && (c->state == SF_SYN_SENT || c->state == SF_SYN_RCVD)) {
        ctx->ctr.c[SF_CTR_ICMP_HARD_ABORTS]++;
        tcp_note(ctx, c, "ICMP hard error while opening: aborted");
        tcp_terminate(ctx, c, err, SF_CAUSE_ICMP_ERROR);
        return SF_DROP_NONE;
    }
    c->soft_error = (int16_t)err;
    c->soft_una = c->snd_una;
    ctx->ctr.c[SF_CTR_ICMP_SOFT_ERRORS]++;
    tcp_note(ctx, c, hard ? "ICMP hard error in a synchronized state: "
                            "noted as soft (RFC 5461 4)"
                          : "ICMP soft error: noted");
    return SF_DROP_NONE;
}

enum sf_drop tcp_pmtu_too_big(struct tcp_ctx *ctx, struct sf_conn *c,
                              uint32_t mtu, uint32_t quoted_seq)
{
    /* RFC 5927 4.1 (quoted_in_flight), and only where data flows */
    if (c->state == SF_SYN_SENT || c->state == SF_SYN_RCVD ||
        !quoted_in_flight(c, quoted_seq))
        return SF_DROP_ICMP_NOT_IN_FLIGHT;
    bool v6 = c->local.family == SF_AF_INET6;
    uint32_t floor = v6 ? PMTU_MIN6 : PMTU_MIN4;
    if (mtu < floor)
        mtu = floor;
    /* RFC 9293 3.7.1: Eff.snd.MSS from the MTU less the fixed headers
     * (IPv6 60, IPv4 40) and, as tcp_set_send_mss does, the timestamp
     * option every segment carries */
    uint32_t mss = mtu - (v6 ? 60u : 40u);
    if (c->ts_ok)
        mss -= TCP_TSOPT_ALIGNED;
    /* RFC 1191 3 / RFC 8201 4: a message only lowers the estimate */
    if (mss >= c->snd_mss)
        return SF_DROP_ICMP_MTU_IGNORED;
    c->snd_mss = mss;
    ctx->ctr.c[SF_CTR_PMTU_LOWERED]++;
    tcp_note(ctx, c, "path MTU lowered (ICMP too big): flight sent again");
    /* The datagram the message quotes was dropped (RFC 1191 6.5: treat
     * it as a lost segment), and so, likely, was everything sent after it
     * at the old size: rather than wait for the timeout, the whole flight
     * [SND.UNA, SND.MAX) goes again at once at the new size. It was in
     * the window already; as Linux's tcp_simple_retransmit this is no
     * congestion signal (cwnd and ssthresh stay), and what was sent once
     * is not held back by Nagle (RFC 9293 3.7.4). tcp_send_range() takes
     * Karn's rule (RFC 6298 3) and counts the retransmissions. */
    for (uint32_t seq = c->snd_una, n = 0; seq_lt(seq, c->snd_max);
         seq += n)
        if ((n = tcp_send_range(ctx, c, seq, c->snd_max - seq)) == 0)
            break;
    return SF_DROP_NONE;
}
