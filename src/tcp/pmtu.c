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

enum sf_drop tcp_pmtu_too_big(struct tcp_ctx *ctx, struct sf_conn *c,
                              uint32_t mtu, uint32_t quoted_seq)
{
    /* RFC 5927 4.1: act only if the quoted sequence number is one we
     * sent and the peer has not acknowledged, SND.UNA =< SEG.SEQ <
     * SND.MAX (a forged message must guess it); and only where data
     * flows */
    if (c->state == SF_CLOSED || c->state == SF_LISTEN ||
        c->state == SF_SYN_SENT || c->state == SF_SYN_RCVD ||
        c->state == SF_TIME_WAIT || !seq_geq(quoted_seq, c->snd_una) ||
        !seq_lt(quoted_seq, c->snd_max))
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
