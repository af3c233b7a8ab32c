/* Hostile segments that parse (issue 14 item 3): flag combinations no peer
 * sends, every zero-length flag combination in LISTEN, SYN-SENT,
 * SYN-RECEIVED, ESTABLISHED, TIME-WAIT and at a closed port, MSS and window-scale values at and
 * past their limits, urgent pointers past the data, sequence numbers at
 * each wraparound boundary, timestamps 2^31 apart, and the SACK Panic and
 * SegmentSmack patterns, each with the answer RFC 9293 (and RFCs 5961,
 * 7323, 2018) gives. Each case names the CVE or report it comes from;
 * tests/hostile/README.md is the table. */
#include "hostile.h"

#define BOTH(v6) for (int v6 = 0; v6 < 2; v6++)

/* serial arithmetic (RFC 9293 3.4), the tests' own */
static bool seq_gt_(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

/* ------------------------------------------------------ MSS, wscale */

/* CVE-2019-11479 (Linux, Netflix NFLX-2019-001: a peer MSS of 48 or less
 * made the sender cut its stream into 8-byte segments): the peer's MSS
 * is raised to cfg.min_snd_mss (48, as Linux's tcp_min_snd_mss), counted
 * as MSS_CLAMPED; 48 itself is taken as it is. 200 bytes then go out as
 * 48 + 48 + 48 + 48 + 8, never a zero-length or 1-byte segment. */
static void test_mss_0_1_48(void)
{
    static const uint16_t mss[] = {0, 1, 47, 48};
    BOTH(v6) for (size_t i = 0; i < 4; i++) {
        h_setup(v6, NULL);
        h_listen();
        uint8_t opt[4] = {2, 4, (uint8_t)(mss[i] >> 8), (uint8_t)mss[i]};
        h_accept_opts(opt, sizeof opt);
        CHECK_EQ(h_info().snd_mss, 48);
        CHECK_EQ(h_ctr(SF_CTR_MSS_CLAMPED), mss[i] < 48 ? 1 : 0);
        static const char data[200];
        CHECK_EQ(sf_send(H.st, H.sd, data, sizeof data, 0), 200);
        h_advance(SF_MSEC);
        uint32_t bytes = 0;
        struct sf_tcp seg;
        for (int k = 0; k < H.nq; k++) {
            CHECK(h_seg_at(k, &seg));
            CHECK(seg.len == 48 || (seg.len == 8 && bytes == 192));
            bytes += (uint32_t)seg.len;
        }
        CHECK_EQ(bytes, 200);
        CHECK_EQ(H.nq, 5);
        h_in(&(struct h_seg){.flags = SF_ACK, .seq = H.pnxt,
                             .ack = H.snxt + 200});
        h_alive();
        h_teardown();
    }
}

/* RFC 7323 2.3: "If a Window Scale option is received with a shift.cnt
 * value larger than 14, the TCP SHOULD log the error but MUST use 14
 * instead of the specified value" (a shift of 15 or more would make the
 * window larger than half the sequence space, and a shift by 32 or more
 * is undefined in C). Counted as WSCALE_CLAMPED. */
static void test_wscale_15_plus(void)
{
    static const uint8_t ws[] = {14, 15, 32, 255};
    BOTH(v6) for (size_t i = 0; i < 4; i++) {
        h_setup(v6, NULL);
        h_listen();
        uint8_t opt[8] = {2, 4, 0x05, 0xb4, 1, 3, 3, ws[i]};
        h_accept_opts(opt, sizeof opt);
        struct sf_tcp_info in = h_info();
        CHECK_EQ(in.snd_wscale, 14);
        CHECK_EQ(h_ctr(SF_CTR_WSCALE_CLAMPED), ws[i] > 14 ? 1 : 0);
        /* a window of 2 units is 2 << 14 bytes, no more */
        h_in(&(struct h_seg){.flags = SF_ACK, .seq = H.pnxt, .ack = H.snxt,
                             .win = 2});
        CHECK_EQ(h_info().snd_wnd, 2u << 14);
        h_in(&(struct h_seg){.flags = SF_ACK, .seq = H.pnxt, .ack = H.snxt,
                             .win = 65535});
        CHECK_EQ(h_info().snd_wnd, 65535u << 14);
        h_alive();
        h_teardown();
    }
}

/* The same options when the SYN is answered by a SYN cookie (RFC 4987
 * 3.6; the SYN queue full), where the options are folded into the cookie
 * and rebuilt from the final ACK: MSS 0 and a shift of 255 still give a
 * connection whose MSS is a sane one of the cookie table (never below
 * min_snd_mss) and whose shift is 14. */
static void one_syn_queue(struct sf_stack_cfg *cfg)
{
    cfg->syn_backlog = 1;
}

static void test_syncookie_hostile_options(void)
{
    BOTH(v6) {
        h_setup(v6, one_syn_queue);
        h_listen();
        /* another peer's SYN fills the queue */
        h_in(&(struct h_seg){.flags = SF_SYN, .seq = 5, .sport = H_PPORT + 50});
        h_clear();
        /* mss 0, nop wscale 255, sackOK nop nop, TS val 1 ecr 0, eol eol */
        static const uint8_t opt[] = {2, 4, 0, 0, 1, 3, 3, 255, 4, 2, 1, 1,
                                      8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
        h_accept_opts(opt, sizeof opt);
        CHECK_EQ(h_ctr(SF_CTR_SYNCOOKIES_OK), 1);
        struct sf_tcp_info in = h_info();
        CHECK(in.snd_mss >= 48 && in.snd_mss <= 536);
        CHECK_EQ(in.snd_wscale, 14);
        CHECK(in.ts_ok);
        h_alive();
        h_teardown();
    }
}

/* Options out of their place, on an ESTABLISHED connection that
 * negotiated none of them (an attacker who cannot see the SYN trying to
 * change what it set): MSS (RFC 9293 3.7.1: sent only in SYN; the send
 * MSS is fixed at the handshake, and CVE-2019-11479 makes a late MSS 1 a
 * weapon), window scale (RFC 7323 2.2: "ignored" in a non-SYN segment;
 * WSCALE_NOT_SYN), SACK-permitted, SACK blocks without SACK (RFC 2018 2),
 * and timestamps not negotiated (RFC 7323 3.2: "MUST be ignored", so no
 * PAWS: an older TSval after a newer one is still taken). Every segment's
 * data is taken; the MSS, the shift and the window stay as they were. */
static void test_options_outside_syn(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        CHECK(!in.ts_ok && !in.wscale_ok);
        uint32_t seq = in.rcv_nxt;
        /* mss 1, nop wscale 14, sackOK nop nop */
        static const uint8_t o1[] = {2, 4, 0, 1, 1, 3, 3, 14, 4, 2, 1, 1};
        /* TS val 1000, then TS val 5: older, not negotiated */
        static const uint8_t o2[] = {1, 1, 8, 10, 0, 0, 3, 0xe8, 0, 0, 0, 0};
        static const uint8_t o3[] = {1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 0};
        uint8_t o4[12] = {1, 1, 5, 10}; /* a SACK block */
        h_put32(o4 + 4, in.snd_nxt - 100);
        h_put32(o4 + 8, in.snd_nxt + 100);
        const uint8_t *opts[] = {o1, o2, o3, o4};
        uint64_t ws0 = h_ctr(SF_CTR_WSCALE_NOT_SYN);
        for (size_t i = 0; i < 4; i++) {
            h_snap();
            h_in(&(struct h_seg){.flags = SF_ACK | SF_PSH, .seq = seq,
                                 .ack = in.snd_nxt, .win = 1000,
                                 .opt = opts[i], .optlen = 12, .len = 10,
                                 .poff = seq - in.rcv_nxt});
            seq += 10;
            CHECK_EQ(h_info().rcv_nxt, seq);
            CHECK_EQ(h_ctr(SF_CTR_DROPS), H.snap.c[SF_CTR_DROPS]);
        }
        struct sf_tcp_info now = h_info();
        CHECK_EQ(now.snd_mss, in.snd_mss);
        CHECK_EQ(now.snd_wscale, 0);
        CHECK_EQ(now.snd_wnd, 1000);
        CHECK(!now.ts_ok);
        CHECK_EQ(h_ctr(SF_CTR_WSCALE_NOT_SYN) - ws0, 1);
        uint8_t buf[64];
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 40);
        h_alive();
        h_teardown();
    }
}

/* ------------------------------------------------------------ URG */

/* CVE-2020-17437 (uIP, AMNESIA:33) and CVE-2020-17528 (Apache NuttX): an
 * urgent pointer past the segment's data was trusted as an offset into
 * it, a write out of bounds. RFC 9293 3.10.7.4 sixth step: synfin keeps
 * no urgent mode (RFC 6093 advises against it), so the pointer is never
 * used as an offset: the data is delivered in line and acknowledged, and
 * URG on a segment without data changes nothing. */
static void test_urg_beyond_data(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        static const uint16_t urp[] = {65535, 11, 0};
        uint32_t seq = in.rcv_nxt;
        for (size_t i = 0; i < 3; i++) {
            h_in(&(struct h_seg){.flags = SF_ACK | SF_URG | SF_PSH, .seq = seq,
                                 .ack = in.snd_nxt, .urp = urp[i], .len = 10});
            seq += 10;
            CHECK_EQ(h_info().rcv_nxt, seq);
        }
        uint8_t buf[64];
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 30);
        CHECK(!memcmp(buf, "abcdefghij", 10));
        h_advance(500 * SF_MSEC); /* the delayed ACK */
        struct sf_tcp seg;
        CHECK(H.nq >= 1 && h_seg_at(H.nq - 1, &seg) && seg.ack == seq);
        /* URG, pointer far away, no data: nothing to do or answer */
        h_snap();
        h_in(&(struct h_seg){.flags = SF_ACK | SF_URG, .seq = seq,
                             .ack = in.snd_nxt, .urp = 65535});
        h_ignored();
        h_alive();
        h_teardown();
    }
}

/* ---------------------------------------------- SYN+FIN, FIN, RST */

/* SYN with FIN to a listener (the "SYN-FIN" scan, nmap's and
 * fingerprinting tools'; Linux and the BSDs drop it): RFC 9293 lets
 * LISTEN ignore the FIN, synfin drops the segment unanswered so that a
 * scanner learns nothing, and holds no request for it. */
static void test_syn_fin_listen(void)
{
    BOTH(v6) {
        h_setup(v6, NULL);
        h_listen();
        h_snap();
        h_in(&(struct h_seg){.flags = SF_SYN | SF_FIN, .seq = 9});
        CHECK_EQ(h_drops(SF_DROP_LISTEN_SYN_FIN) -
                     H.snap.drops[SF_DROP_LISTEN_SYN_FIN], 1);
        CHECK_EQ(H.nq, 0);
        CHECK_EQ(h_ctr(SF_CTR_PASSIVE_OPENS), 0);
        h_accept();
        h_alive();
        h_teardown();
    }
}

/* SYN with FIN on an ESTABLISHED connection (a blind reset attempt, RFC
 * 5961 4): RFC 9293 3.10.7.4 fourth step, "If the SYN bit is set,
 * irrespective of the sequence number, TCP endpoints MUST send a
 * 'challenge ACK'" and drop the segment: the FIN is not processed. */
static void test_syn_fin_established(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        static const uint32_t off[] = {0, 100, 0x80000000u};
        for (size_t i = 0; i < 3; i++) {
            h_snap();
            h_in(&(struct h_seg){.flags = SF_SYN | SF_FIN | SF_ACK,
                                 .seq = in.rcv_nxt + off[i],
                                 .ack = in.snd_nxt});
            h_acked();
            h_unchanged();
            /* in the window or 2^31 away, a challenge ACK: RFC 5961 4.2
             * answers a SYN "irrespective of the sequence number" (the
             * same segment on the wire as the first step's ACK to an
             * unacceptable segment, but rate-limited and counted as a
             * challenge) */
            CHECK_EQ(h_ctr(SF_CTR_CHALLENGE_ACKS) -
                         H.snap.c[SF_CTR_CHALLENGE_ACKS], 1);
            h_advance(2 * SF_SEC); /* the per-connection challenge budget */
        }
        h_alive();
        h_teardown();
    }
}

/* FIN on a SYN: the SYN,ACK answering our SYN carries FIN. RFC 9293
 * 3.10.7.3: with an acceptable ACK the connection is ESTABLISHED and "if
 * there are other controls or text in the segment, then continue
 * processing at the sixth step": the FIN takes it to CLOSE-WAIT, one ACK
 * acknowledges SYN and FIN, and the application reads end of stream. */
static void test_fin_on_synack(void)
{
    BOTH(v6) {
        h_setup(v6, NULL);
        h_connect();
        h_in(&(struct h_seg){.flags = SF_SYN | SF_ACK | SF_FIN,
                             .seq = H.pisn, .ack = H.snxt});
        struct sf_tcp seg;
        if (h_one(&seg)) {
            CHECK_EQ(seg.flags, SF_ACK);
            CHECK_EQ(seg.ack, H.pisn + 2);
        }
        CHECK_EQ(h_info().state, SF_CLOSE_WAIT);
        uint8_t buf[8];
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 0);
        h_teardown();
    }
}

/* FIN without SYN in SYN-SENT: RFC 9293 3.10.7.3 fifth, "If neither of
 * the SYN or RST bits is set, then drop the segment and return", and the
 * eighth step: "Do not process the FIN if the state is CLOSED, LISTEN, or
 * SYN-SENT since the SEG.SEQ cannot be validated". Nothing sent, still
 * SYN-SENT, and the real SYN,ACK then completes the handshake. */
static void test_fin_in_syn_sent(void)
{
    BOTH(v6) {
        h_setup(v6, NULL);
        h_connect();
        static const uint8_t fl[] = {SF_FIN | SF_ACK, SF_FIN,
                                     SF_FIN | SF_ACK | SF_PSH};
        for (size_t i = 0; i < 3; i++) {
            h_snap();
            h_in(&(struct h_seg){.flags = fl[i], .seq = H.pisn + 1,
                                 .ack = H.snxt, .len = i == 2 ? 10 : 0});
            h_dropped(SF_DROP_SYNSENT_NO_SYN);
        }
        h_in(&(struct h_seg){.flags = SF_SYN | SF_ACK, .seq = H.pisn,
                             .ack = H.snxt});
        CHECK_EQ(h_info().state, SF_ESTABLISHED);
        h_alive();
        h_teardown();
    }
}

/* RST carrying data (RFC 9293 3.5.3: "A TCP implementation SHOULD allow a
 * received RST segment to include data" (SHLD-2), diagnostic text, never
 * stream bytes). At RCV.NXT it resets the connection (RFC 5961 3.2) and
 * its data is not delivered; in the window but not at RCV.NXT it gets a
 * challenge ACK and its data is not taken either. */
static void test_rst_data(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        h_snap();
        h_in(&(struct h_seg){.flags = SF_RST | SF_ACK, .seq = in.rcv_nxt + 1,
                             .ack = in.snd_nxt, .len = 10});
        h_acked();
        h_unchanged();
        h_snap();
        h_in(&(struct h_seg){.flags = SF_RST | SF_ACK, .seq = in.rcv_nxt,
                             .ack = in.snd_nxt, .len = 10});
        CHECK_EQ(H.nq, 0);
        CHECK_EQ(h_ctr(SF_CTR_RESETS) - H.snap.c[SF_CTR_RESETS], 1);
        uint8_t buf[64];
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), SF_ECONNRESET);
        CHECK_EQ(h_info().state, SF_CLOSED);
        h_teardown();
    }
}

/* Data past the FIN (Ptacek and Newsham, "Insertion, Evasion, and Denial
 * of Service: Eluding Network Intrusion Detection", 1998: a receiver that
 * takes bytes past a FIN reads a stream other than the one a monitor
 * saw; Linux's tcp_fin() purges what is held out of order for it). RFC
 * 9293 3.10.7.4: the segment at RCV.NXT is processed whole, its FIN
 * included (eighth step: CLOSE-WAIT), before any held segment; then "This
 * should not occur since a FIN has been received ... Ignore the segment
 * text". Three orders: bytes held past the FIN, bytes held across it, and
 * the FIN held first with the hole then filled by a segment running past
 * it. Each time the application reads the stream up to the FIN, then end
 * of stream, and the FIN is acknowledged. */
static void test_data_beyond_fin(void)
{
    static const struct {
        uint32_t held, held_len; /* data held out of order first */
        bool held_fin;           /* ... with FIN after it */
        uint32_t len;            /* then data at RCV.NXT ... */
        bool fin;                /* ... with FIN after it */
        uint32_t stream;         /* the stream up to the FIN */
    } c[] = {
        {10, 10, false, 5, true, 5},
        {3, 10, false, 5, true, 5},
        {5, 5, true, 20, false, 10},
    };
    BOTH(v6) for (size_t i = 0; i < 3; i++) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        uint32_t n = in.rcv_nxt, a = in.snd_nxt;
        h_in(&(struct h_seg){.flags = (uint8_t)(SF_ACK |
                                                (c[i].held_fin ? SF_FIN : 0)),
                             .seq = n + c[i].held, .ack = a,
                             .len = c[i].held_len, .poff = c[i].held});
        h_clear();
        h_in(&(struct h_seg){.flags = (uint8_t)(SF_ACK |
                                                (c[i].fin ? SF_FIN : 0)),
                             .seq = n, .ack = a, .len = c[i].len});
        struct sf_tcp_info now = h_info();
        CHECK_EQ(now.state, SF_CLOSE_WAIT);
        CHECK_EQ(now.rcv_nxt, n + c[i].stream + 1);
        struct sf_tcp seg;
        CHECK(H.nq >= 1 && h_seg_at(H.nq - 1, &seg) &&
              seg.ack == n + c[i].stream + 1);
        uint8_t buf[64];
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), c[i].stream);
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 0);
        /* more data past the FIN: not taken (RFC 9293 seventh step) */
        h_snap();
        h_in(&(struct h_seg){.flags = SF_ACK, .seq = now.rcv_nxt, .ack = a,
                             .len = 10});
        CHECK_EQ(h_info().rcv_nxt, now.rcv_nxt);
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 0);
        h_teardown();
    }
}

/* ------------------------------- zero-length segments, every flag set */

/* The flags a zero-length segment may carry: all 256 of the 8 bits. */
enum { NFLAGS = 256 };

static bool has(unsigned f, unsigned bit)
{
    return (f & bit) != 0;
}

/* ESTABLISHED (RFC 9293 3.10.7.4, RFC 5961), a segment at RCV.NXT with
 * ACK = SND.NXT: SYN with RST is impossible (dropped, TCP_FLAGS); RST
 * resets; SYN gets a challenge ACK; without ACK the segment is dropped
 * ("if the ACK bit is off, drop the segment and return", FIN included);
 * ACK with FIN goes to CLOSE-WAIT with an ACK of the FIN; any other ACK
 * (PSH, URG, ECE, CWR on a connection without ECN) changes nothing and is
 * not answered. */
static void test_zero_len_flags_established(void)
{
    BOTH(v6) for (unsigned f = 0; f < NFLAGS; f++) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        h_snap();
        h_in(&(struct h_seg){.flags = (uint8_t)f, .seq = in.rcv_nxt,
                             .ack = in.snd_nxt});
        if (has(f, SF_SYN) && has(f, SF_RST)) {
            h_dropped(SF_DROP_TCP_FLAGS);
        } else if (has(f, SF_RST)) {
            CHECK_EQ(H.nq, 0);
            CHECK_EQ(h_info().state, SF_CLOSED);
            CHECK_EQ(h_ctr(SF_CTR_RESETS) - H.snap.c[SF_CTR_RESETS], 1);
        } else if (has(f, SF_SYN)) {
            h_acked();
            h_unchanged();
        } else if (!has(f, SF_ACK)) {
            h_dropped(SF_DROP_NO_ACK);
        } else if (has(f, SF_FIN)) {
            struct sf_tcp seg;
            if (h_one(&seg)) {
                CHECK_EQ(seg.flags, SF_ACK);
                CHECK_EQ(seg.ack, in.rcv_nxt + 1);
            }
            CHECK_EQ(h_info().state, SF_CLOSE_WAIT);
        } else {
            h_ignored();
            h_alive();
        }
        h_teardown();
    }
}

/* LISTEN (RFC 9293 3.10.7.2), from a new port each time: SYN with RST
 * dropped (TCP_FLAGS); "first check for an RST: An incoming RST segment
 * could not be valid ... should be ignored" (LISTEN_RST); "second check
 * for an ACK: Any acknowledgment is bad ... <SEQ=SEG.ACK><CTL=RST>"
 * (LISTEN_ACK); "third check for a SYN": a SYN,ACK is sent (SYN with FIN:
 * dropped, see test_syn_fin_listen); anything else is dropped
 * (LISTEN_NO_SYN). */
static void test_zero_len_flags_listen(void)
{
    BOTH(v6) for (unsigned f = 0; f < NFLAGS; f++) {
        h_setup(v6, NULL);
        h_listen();
        h_snap();
        h_in(&(struct h_seg){.flags = (uint8_t)f, .seq = 1000, .ack = 555});
        struct sf_tcp seg;
        if (has(f, SF_SYN) && has(f, SF_RST)) {
            h_dropped(SF_DROP_TCP_FLAGS);
        } else if (has(f, SF_RST)) {
            h_dropped(SF_DROP_LISTEN_RST);
        } else if (has(f, SF_ACK)) {
            CHECK_EQ(h_drops(SF_DROP_LISTEN_ACK) -
                         H.snap.drops[SF_DROP_LISTEN_ACK], 1);
            if (h_one(&seg)) {
                CHECK_EQ(seg.flags, SF_RST);
                CHECK_EQ(seg.seq, 555);
            }
        } else if (has(f, SF_SYN) && has(f, SF_FIN)) {
            h_dropped(SF_DROP_LISTEN_SYN_FIN);
        } else if (has(f, SF_SYN)) {
            if (h_one(&seg)) {
                CHECK_EQ(seg.flags & (SF_SYN | SF_ACK | SF_RST | SF_FIN),
                         SF_SYN | SF_ACK);
                CHECK_EQ(seg.ack, 1001);
            }
        } else {
            h_dropped(SF_DROP_LISTEN_NO_SYN);
        }
        h_teardown();
    }
}

/* SYN-SENT (RFC 9293 3.10.7.3), with an acceptable ACK (ISS + 1) where
 * the ACK bit is set: SYN with RST dropped; RST with ACK refuses the
 * connection (ECONNREFUSED), RST without ACK is dropped; SYN with ACK
 * establishes (and with FIN goes on to CLOSE-WAIT); SYN without ACK is a
 * simultaneous open (SYN-RECEIVED, a SYN,ACK); neither SYN nor RST:
 * dropped, unanswered. */
static void test_zero_len_flags_syn_sent(void)
{
    BOTH(v6) for (unsigned f = 0; f < NFLAGS; f++) {
        h_setup(v6, NULL);
        h_connect();
        h_snap();
        h_in(&(struct h_seg){.flags = (uint8_t)f, .seq = H.pisn,
                             .ack = H.snxt});
        struct sf_tcp seg;
        if (has(f, SF_SYN) && has(f, SF_RST)) {
            h_dropped(SF_DROP_TCP_FLAGS);
        } else if (has(f, SF_RST) && has(f, SF_ACK)) {
            CHECK_EQ(H.nq, 0);
            CHECK_EQ(h_info().state, SF_CLOSED);
            struct sf_addr to = h_addr(false, H_PORT);
            CHECK_EQ(sf_connect(H.st, H.sd, &to), SF_ECONNREFUSED);
        } else if (has(f, SF_RST)) {
            h_dropped(SF_DROP_SYNSENT_RST_NO_ACK);
        } else if (has(f, SF_SYN) && has(f, SF_ACK)) {
            if (h_one(&seg)) {
                CHECK_EQ(seg.flags & (SF_SYN | SF_ACK | SF_RST | SF_FIN),
                         SF_ACK);
                CHECK_EQ(seg.ack, H.pisn + (has(f, SF_FIN) ? 2 : 1));
            }
            CHECK_EQ(h_info().state,
                     has(f, SF_FIN) ? SF_CLOSE_WAIT : SF_ESTABLISHED);
        } else if (has(f, SF_SYN)) {
            if (h_one(&seg)) {
                CHECK_EQ(seg.flags & (SF_SYN | SF_ACK | SF_RST | SF_FIN),
                         SF_SYN | SF_ACK);
                CHECK_EQ(seg.seq, H.iss);
                CHECK_EQ(seg.ack, H.pisn + 1);
            }
            CHECK_EQ(h_info().state, SF_SYN_RCVD);
        } else {
            h_dropped(SF_DROP_SYNSENT_NO_SYN);
        }
        h_teardown();
    }
}

/* A closed port (RFC 9293 3.10.7.1): "An incoming segment containing a
 * RST is discarded" (CLOSED_RST); with ACK the answer is
 * <SEQ=SEG.ACK><CTL=RST>; without it <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
 * <CTL=RST,ACK>, SEG.LEN counting SYN and FIN. */
static void test_zero_len_flags_closed(void)
{
    BOTH(v6) {
        h_setup(v6, NULL);
        for (unsigned f = 0; f < NFLAGS; f++) {
            h_snap();
            h_in(&(struct h_seg){.flags = (uint8_t)f, .seq = 1000, .ack = 555,
                                 .dport = 9999});
            struct sf_tcp seg;
            if (has(f, SF_SYN) && has(f, SF_RST)) {
                h_dropped(SF_DROP_TCP_FLAGS);
            } else if (has(f, SF_RST)) {
                h_dropped(SF_DROP_CLOSED_RST);
            } else if (h_one(&seg)) {
                CHECK_EQ(h_drops(SF_DROP_NO_SOCKET) -
                             H.snap.drops[SF_DROP_NO_SOCKET], 1);
                if (has(f, SF_ACK)) {
                    CHECK_EQ(seg.flags, SF_RST);
                    CHECK_EQ(seg.seq, 555);
                } else {
                    CHECK_EQ(seg.flags, SF_RST | SF_ACK);
                    CHECK_EQ(seg.seq, 0);
                    CHECK_EQ(seg.ack, 1000 + has(f, SF_SYN) + has(f, SF_FIN));
                }
            }
        }
        h_teardown();
    }
}

/* SYN-RECEIVED of a passive open (the SYN-queue entry; RFC 9293
 * 3.10.7.4), a segment at RCV.NXT with ACK = ISS + 1: SYN with RST
 * dropped; RST "return this connection to the LISTEN state" (the entry
 * gone, nothing sent); SYN, fourth step, "If the connection was initiated
 * with a passive OPEN, then return this connection to the LISTEN state
 * and return" (the entry gone, nothing sent); without ACK dropped; ACK
 * establishes, and with FIN goes on to CLOSE-WAIT with an ACK of it. */
static void test_zero_len_flags_syn_rcvd(void)
{
    BOTH(v6) for (unsigned f = 0; f < NFLAGS; f++) {
        h_setup(v6, NULL);
        h_listen();
        H.sport = H_PORT;
        h_in(&(struct h_seg){.flags = SF_SYN, .seq = H.pisn});
        struct sf_tcp seg;
        if (!h_one(&seg))
            continue;
        H.iss = seg.seq;
        CHECK_EQ(h_info().state, SF_SYN_RCVD);
        h_snap();
        h_in(&(struct h_seg){.flags = (uint8_t)f, .seq = H.pisn + 1,
                             .ack = H.iss + 1});
        if (has(f, SF_SYN) && has(f, SF_RST)) {
            h_dropped(SF_DROP_TCP_FLAGS);
        } else if (has(f, SF_RST) || has(f, SF_SYN)) {
            CHECK_EQ(H.nq, 0);
            CHECK_EQ(h_info().state, SF_CLOSED);
            CHECK(sf_accept(H.st, H.lsd, NULL) < 0);
        } else if (!has(f, SF_ACK)) {
            h_dropped(SF_DROP_NO_ACK);
        } else if (has(f, SF_FIN)) {
            if (h_one(&seg)) {
                CHECK_EQ(seg.flags, SF_ACK);
                CHECK_EQ(seg.ack, H.pisn + 2);
            }
            CHECK_EQ(h_info().state, SF_CLOSE_WAIT);
        } else {
            CHECK_EQ(H.nq, 0);
            CHECK_EQ(h_info().state, SF_ESTABLISHED);
            CHECK((H.sd = sf_accept(H.st, H.lsd, NULL)) >= 0);
            H.pnxt = H.pisn + 1;
            h_alive();
        }
        h_teardown();
    }
}

/* TIME-WAIT (the compact record; RFC 9293 3.10.7.4), after our close and
 * the peer's FIN, a segment at RCV.NXT with ACK = SND.NXT: SYN with RST
 * dropped; RST, second step, "enter the CLOSED state, delete the TCB"
 * (RFC 9293 follows RFC 793 here, not RFC 1337); SYN, not beyond RCV.NXT
 * so no new incarnation (RFC 9293 3.6.1): the challenge ACK of RFC 5961
 * 4; without ACK dropped; a FIN "Remain in the TIME-WAIT state" and is
 * acknowledged (RCV.NXT does not move past the FIN already taken); any
 * other ACK changes nothing and is not answered. */
static void test_zero_len_flags_time_wait(void)
{
    BOTH(v6) for (unsigned f = 0; f < NFLAGS; f++) {
        h_setup(v6, NULL);
        h_connect();
        h_in(&(struct h_seg){.flags = SF_SYN | SF_ACK, .seq = H.pisn,
                             .ack = H.snxt});
        h_clear();
        CHECK_EQ(sf_close(H.st, H.sd), 0);
        struct sf_tcp seg;
        if (!h_one(&seg))
            continue;
        CHECK_EQ(seg.flags, SF_FIN | SF_ACK);
        h_in(&(struct h_seg){.flags = SF_FIN | SF_ACK, .seq = H.pnxt,
                             .ack = H.snxt + 1});
        h_clear();
        struct sf_tcp_info in = h_info();
        CHECK_EQ(in.state, SF_TIME_WAIT);
        h_snap();
        h_in(&(struct h_seg){.flags = (uint8_t)f, .seq = in.rcv_nxt,
                             .ack = in.snd_nxt});
        if (has(f, SF_SYN) && has(f, SF_RST)) {
            h_dropped(SF_DROP_TCP_FLAGS);
        } else if (has(f, SF_RST)) {
            CHECK_EQ(H.nq, 0);
            CHECK_EQ(h_info().state, SF_CLOSED);
        } else if (has(f, SF_SYN)) {
            h_acked();
            h_unchanged();
            CHECK_EQ(h_drops(SF_DROP_SYN_CHALLENGED) -
                         H.snap.drops[SF_DROP_SYN_CHALLENGED], 1);
        } else if (!has(f, SF_ACK)) {
            h_dropped(SF_DROP_NO_ACK);
        } else if (has(f, SF_FIN)) {
            h_acked();
            h_unchanged();
        } else {
            h_ignored();
        }
        h_teardown();
    }
}

/* ------------------------------------------------ sequence wraparound */

/* Sequence numbers at every wraparound boundary (RFC 9293 3.4: "all
 * arithmetic dealing with sequence numbers must be performed modulo
 * 2^32"; smoltcp's and lwIP's TCP_SEQ_LT bugs): the peer's ISN just below
 * 2^32, at 2^32 - 1, at 2^31 - 1 and 2^31 (the sign of a - b turns) and
 * at 0, and the stack's own ISN near both (cfg.isn_offset). 3 x 100 bytes
 * cross each boundary both ways and arrive whole; a segment exactly 2^31
 * away is outside the window (a duplicate ACK, not data). */
static uint32_t isn_offset_for;

static void near_isn(struct sf_stack_cfg *cfg)
{
    cfg->isn_offset = isn_offset_for;
}

/* The cfg.isn_offset that makes the stack's ISN `target` on the harness's
 * connection: the ISN is offset + clock + 16 bits of a keyed hash of the
 * 4-tuple, all the same on a second run (same seed, time, tuple). */
static uint32_t offset_for_isn(bool v6, uint32_t target)
{
    isn_offset_for = 1;
    h_setup(v6, near_isn);
    h_listen();
    h_accept();
    uint32_t iss = H.iss;
    h_teardown();
    return 1 + (target - iss);
}

static void test_seq_wrap(void)
{
    static const uint32_t peer[] = {0xffffff00u, 0xffffffffu, 0x7fffff9cu,
                                    0x7fffffffu, 0x80000000u, 0};
    /* the stack's ISN 150 below 2^32 and 2^31: its 300 bytes cross */
    static const uint32_t ours[] = {0xffffff6au, 0x7fffff6au};
    BOTH(v6) for (size_t i = 0; i < 6; i++) for (size_t k = 0; k < 2; k++) {
        isn_offset_for = offset_for_isn(v6, ours[k]);
        h_setup(v6, near_isn);
        H.pisn = peer[i];
        h_listen();
        h_accept();
        CHECK_EQ(H.iss, ours[k]);
        uint32_t seq = H.pnxt;
        for (int n = 0; n < 3; n++) {
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = seq, .ack = H.snxt,
                                 .len = 100, .poff = (uint32_t)n * 100});
            seq += 100;
        }
        CHECK_EQ(h_info().rcv_nxt, seq);
        uint8_t buf[400];
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 300);
        bool right = true;
        for (int b = 0; b < 300; b++)
            right = right && buf[b] == 'a' + b % 26;
        CHECK(right);
        /* out, across the stack's own boundary: 300 bytes, ACKed */
        static const char out[300];
        for (int n = 0; n < 3; n++) {
            uint32_t nxt = h_info().snd_nxt;
            h_clear();
            CHECK_EQ(sf_send(H.st, H.sd, out, 100, 0), 100);
            h_advance(SF_MSEC);
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = seq,
                                 .ack = nxt + 100});
            CHECK_EQ(h_info().snd_una, nxt + 100);
        }
        H.snxt = h_info().snd_nxt;
        /* 2^31 away from RCV.NXT: not acceptable (RFC 9293 3.10.7.4) */
        h_snap();
        h_in(&(struct h_seg){.flags = SF_ACK, .seq = seq + 0x80000000u,
                             .ack = H.snxt, .len = 10});
        h_acked();
        h_unchanged();
        h_alive();
        h_teardown();
    }
}

/* The window's own boundaries (RFC 9293 3.10.7.4 Table 6, "RCV.NXT =<
 * SEG.SEQ < RCV.NXT+RCV.WND", or the last byte in it for a segment with
 * data), on a connection whose RCV.NXT sits just past 2^32: one below
 * RCV.NXT, the last number in the window and the first past it, with and
 * without data. Unacceptable: an ACK, RCV.NXT unchanged (OUT_OF_WINDOW);
 * acceptable without data: nothing (an empty segment exactly at the right
 * edge too: synfin's documented exception, as Linux, for the ACKs of a
 * peer that filled the window behind a hole; input.c seq_acceptable);
 * data starting in the window past
 * RCV.NXT: held out of order, a duplicate ACK; data overlapping RCV.NXT:
 * the new part taken. With the window closed (the buffer full) only a
 * zero-length segment at RCV.NXT is acceptable, a 1-byte probe gets an
 * ACK of window 0. */
static void test_window_edges(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        uint32_t nxt = in.rcv_nxt, w = in.rcv_wnd, una = in.snd_nxt;
        CHECK(w > 1000);
        static const struct {
            int32_t at;  /* from RCV.NXT; INT32_MAX: RCV.NXT + RCV.WND */
            int8_t edge; /* 1: at + RCV.WND */
            uint8_t len;
            uint8_t answer; /* 0 nothing, 1 ACK (out of window), 2 dup ACK */
        } c[] = {
            {-1, 0, 0, 1}, {-1, 1, 0, 0}, {0, 1, 0, 0}, {1, 1, 0, 1},
            {-10, 0, 10, 1}, {-5, 1, 10, 2}, {0, 1, 10, 1}, {-11, 0, 10, 1},
        };
        for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
            uint32_t seq = nxt + (uint32_t)c[i].at + (c[i].edge ? w : 0);
            h_snap();
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = seq, .ack = una,
                                 .len = c[i].len});
            if (c[i].answer == 0) {
                h_ignored();
            } else {
                h_acked();
                CHECK_EQ(h_info().rcv_nxt, nxt);
                if (c[i].answer == 1)
                    CHECK_EQ(h_drops(SF_DROP_OUT_OF_WINDOW) -
                                 H.snap.drops[SF_DROP_OUT_OF_WINDOW], 1);
            }
        }
        /* overlapping RCV.NXT: the 5 new bytes taken */
        h_in(&(struct h_seg){.flags = SF_ACK, .seq = nxt - 5, .ack = una,
                             .len = 10});
        CHECK_EQ(h_info().rcv_nxt, nxt + 5);
        h_teardown();

        /* the window closed: fill the buffer without reading */
        h_established(v6, NULL);
        in = h_info();
        nxt = in.rcv_nxt;
        for (int k = 0; k < 200 && h_info().rcv_wnd > 0; k++) {
            uint32_t room = h_info().rcv_wnd;
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = h_info().rcv_nxt,
                                 .ack = una, .len = room > 1000 ? 1000 : room});
        }
        h_advance(SF_SEC);
        in = h_info();
        CHECK_EQ(in.rcv_wnd, 0);
        h_snap();
        h_in(&(struct h_seg){.flags = SF_ACK, .seq = in.rcv_nxt, .ack = una});
        h_ignored();
        h_snap();
        h_in(&(struct h_seg){.flags = SF_ACK, .seq = in.rcv_nxt, .ack = una,
                             .len = 1});
        struct sf_tcp seg;
        if (h_one(&seg)) {
            CHECK_EQ(seg.flags, SF_ACK);
            CHECK_EQ(seg.ack, in.rcv_nxt);
            CHECK_EQ(seg.win, 0);
        }
        h_unchanged();
        h_teardown();
    }
}

/* The peer shrinks its window (moves the right edge left) after we sent
 * up to it: RFC 9293 3.8.6.2.2, the sender "MUST be robust against window
 * shrinking, which may cause the 'usable window' ... to become negative"
 * (MUST-34; an unsigned SND.UNA + SND.WND - SND.NXT would wrap to a huge
 * usable window), "SHOULD NOT send new data" (SHLD-15), retransmits
 * within SND.UNA + SND.WND (SHLD-16), and probes a window shrunk to zero
 * (MUST-35). Windows 0, 10 and 2000 after 14600 bytes in flight: no
 * segment ever ends past the window's right edge (one byte past it for
 * a zero-window probe), and once the peer acknowledges what it gets (and
 * opens a zero window after three probes) the whole 16000 bytes arrive
 * within 400 s. (Before the fix in output.c send_data, the old bytes in
 * a 10-byte window went one per backed-off retransmission timeout: 10
 * bytes a minute once the timeout reached 60 s.) */
static void test_window_shrink(void)
{
    static const uint16_t wins[] = {0, 10, 2000};
    BOTH(v6) for (size_t i = 0; i < 3; i++) {
        h_established(v6, NULL);
        uint32_t start = H.snxt;
        static const char data[16000];
        CHECK_EQ(sf_send(H.st, H.sd, data, sizeof data, 0), 16000);
        h_advance(SF_MSEC);
        CHECK(h_info().snd_nxt - start >= 10000);
        h_clear();
        uint16_t w = wins[i];
        uint32_t una = start + 1000;
        h_in(&(struct h_seg){.flags = SF_ACK, .seq = H.pnxt, .ack = una,
                             .win = w, .win0 = w == 0});
        bool beyond = false;
        int probes = 0;
        for (int r = 0; r < 4000 && una != start + 16000; r++) {
            h_advance(100 * SF_MSEC);
            uint32_t top = una;
            for (int k = 0; k < H.nq; k++) {
                struct sf_tcp seg;
                if (!h_seg_at(k, &seg) || !seg.len)
                    continue;
                uint32_t end = seg.seq + (uint32_t)seg.len;
                if (seq_gt_(end, una + (w ? w : 1)))
                    beyond = true;
                if (seq_gt_(end, top))
                    top = end;
            }
            h_clear();
            if (top == una)
                continue;
            if (w == 0 && ++probes == 3)
                w = 65535; /* the window opens */
            una = top;
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = H.pnxt, .ack = una,
                                 .win = w, .win0 = w == 0});
        }
        CHECK(!beyond);
        CHECK_EQ(una, start + 16000);
        CHECK_EQ(h_info().state, SF_ESTABLISHED);
        h_teardown();
    }
}

/* ------------------------------------------------------ timestamps */

/* Timestamps 2^31 apart (RFC 7323 5.2: "the timestamp values are
 * compared using 32-bit serial arithmetic"; 5.3 R1 PAWS): a TSval
 * 2^31 - 1 ahead of TS.Recent is newer and the data is taken; one 2^31
 * ahead (or more) reads as older: "Send an acknowledgment in reply ... and
 * drop the segment" (PAWS), the data not taken; a RST is exempt from PAWS
 * (R1: "and the RST bit is off") and resets at RCV.NXT. */
static void test_ts_jump_2_31(void)
{
    BOTH(v6) {
        h_setup(v6, NULL);
        h_listen();
        /* mss 1460, nop nop TS val 1 ecr 0 */
        static const uint8_t syn[] = {2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1,
                                      0, 0, 0, 0};
        struct sf_tcp_opts o = h_accept_opts(syn, sizeof syn);
        CHECK(o.has_ts);
        CHECK(h_info().ts_ok);
        uint32_t ecr = o.ts_val, val = 1;
        uint32_t seq = H.pnxt;
        static const uint32_t jump[] = {0x7fffffffu, 0x80000000u, 0xffffffffu};
        for (size_t i = 0; i < 3; i++) {
            uint8_t ts[12] = {1, 1, 8, 10};
            uint32_t v = val + jump[i];
            ts[4] = (uint8_t)(v >> 24), ts[5] = (uint8_t)(v >> 16);
            ts[6] = (uint8_t)(v >> 8), ts[7] = (uint8_t)v;
            ts[8] = (uint8_t)(ecr >> 24), ts[9] = (uint8_t)(ecr >> 16);
            ts[10] = (uint8_t)(ecr >> 8), ts[11] = (uint8_t)ecr;
            h_snap();
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = seq, .ack = H.snxt,
                                 .opt = ts, .optlen = sizeof ts, .len = 10});
            if (i == 0) { /* newer: taken, TS.Recent moves */
                CHECK_EQ(h_info().rcv_nxt, seq + 10);
                seq += 10;
                val = v;
            } else { /* older by serial arithmetic: PAWS */
                CHECK_EQ(h_drops(SF_DROP_PAWS) - H.snap.drops[SF_DROP_PAWS],
                         1);
                h_acked();
                h_unchanged();
            }
            h_advance(SF_SEC);
            h_clear();
        }
        /* a RST with a TSval 2^31 behind, at RCV.NXT: resets */
        uint8_t ts[12] = {1, 1, 8, 10};
        uint32_t v = val + 0x80000000u;
        ts[4] = (uint8_t)(v >> 24), ts[5] = (uint8_t)(v >> 16);
        ts[6] = (uint8_t)(v >> 8), ts[7] = (uint8_t)v;
        h_in(&(struct h_seg){.flags = SF_RST | SF_ACK, .seq = seq,
                             .ack = H.snxt, .opt = ts, .optlen = sizeof ts});
        CHECK_EQ(h_info().state, SF_CLOSED);
        h_teardown();
    }
}

/* ------------------------------------------- SACK Panic, SegmentSmack */

static void sack_on(struct sf_stack_cfg *cfg)
{
    cfg->sndbuf = 256 * 1024;
}

/* SACK Panic and SACK Slowness (CVE-2019-11477, CVE-2019-11478, Netflix
 * NFLX-2019-001; FreeBSD CVE-2019-5599): a peer with a tiny MSS SACKs
 * every other segment of a long flight, so that the sender's
 * retransmission queue is cut into pieces (Linux overflowed a 16-bit
 * segment count; the list walks cost O(n) per SACK). Here: MSS 1 (used as
 * 48), 64 KB in flight (1366 segments), then 2000 ACKs each carrying 4
 * one-segment SACK blocks spread over the flight, with forged blocks
 * among them (past SND.NXT, below SND.UNA, reversed, empty). The stack
 * must ignore the forged ones (RFC 2018 and RFC 6675: blocks outside
 * SND.UNA..SND.MAX; SACK_BLOCKS_BAD), stay within its scoreboard bound,
 * and deliver the whole flight once the peer ACKs it. */
static void test_sack_panic_tiny_mss(void)
{
    BOTH(v6) {
        h_setup(v6, sack_on);
        h_listen();
        /* mss 1, sackOK, nop nop */
        static const uint8_t syn[] = {2, 4, 0, 1, 4, 2, 1, 1};
        CHECK(h_accept_opts(syn, sizeof syn).sack_ok);
        CHECK_EQ(h_info().snd_mss, 48);
        static char data[256 * 1024];
        uint32_t una = H.snxt;
        long total = sf_send(H.st, H.sd, data, sizeof data, 0);
        CHECK(total > 65536);
        /* slow start: the peer ACKs each segment on its own until the
         * window lets a long flight out (RFC 5681 3.1: cwnd grows by up
         * to SMSS per ACK), within the peer's window of 65535 */
        h_advance(SF_MSEC);
        for (int r = 0; r < 30 && h_info().snd_nxt - h_info().snd_una < 30000;
             r++) {
            int n = H.nq;
            uint32_t acks[H_MAXQ];
            for (int q = 0; q < n; q++) {
                struct sf_tcp seg;
                acks[q] = h_seg_at(q, &seg) ? seg.seq + (uint32_t)seg.len : 0;
            }
            h_clear();
            for (int q = 0; q < n; q++)
                if (acks[q])
                    h_in(&(struct h_seg){.flags = SF_ACK, .seq = H.pnxt,
                                         .ack = acks[q]});
            h_advance(SF_MSEC);
        }
        h_clear();
        una = h_info().snd_una;
        uint32_t nxt = h_info().snd_nxt, flight = nxt - una;
        CHECK(flight >= 30000);
        uint64_t bad0 = h_ctr(SF_CTR_SACK_BLOCKS_BAD);
        for (uint32_t k = 0; k < 2000; k++) {
            uint8_t o[36] = {1, 1, 5, 34};
            uint32_t blk[4][2];
            uint32_t nseg = flight / 48;
            for (int b = 0; b < 4; b++) {
                uint32_t s = una + 48 * ((2 * (k * 4 + (uint32_t)b) + 1) % nseg);
                blk[b][0] = s, blk[b][1] = s + 48;
            }
            if (k % 5 == 0) { /* forged: past SND.MAX, reversed, empty */
                /* (SND.UNA stays at una: nothing is sent past the
                 * peer's window of 65535, while SACK recovery may send
                 * new data past nxt, so the forged block lies past
                 * una + 65535, not nxt) */
                blk[1][0] = una + 70000, blk[1][1] = una + 71000;
                blk[2][0] = una + 480, blk[2][1] = una + 96;
                blk[3][0] = una + 96, blk[3][1] = una + 96;
            }
            for (int b = 0; b < 4; b++)
                for (int e = 0; e < 2; e++) {
                    uint32_t v = blk[b][e];
                    uint8_t *p = o + 4 + 8 * b + 4 * e;
                    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
                    p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
                }
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = H.pnxt, .ack = una,
                                 .opt = o, .optlen = sizeof o});
            h_clear();
        }
        CHECK(h_ctr(SF_CTR_SACK_BLOCKS_BAD) - bad0 >= 3 * 400);
        CHECK_EQ(h_info().state, SF_ESTABLISHED);
        /* the peer ACKs all it has been sent, repeatedly, until done */
        for (int r = 0; r < 10000 && h_info().snd_una != h_info().snd_nxt;
             r++) {
            h_advance(10 * SF_MSEC);
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = H.pnxt,
                                 .ack = h_info().snd_nxt});
            h_clear();
        }
        struct sf_tcp_info in = h_info();
        CHECK_EQ(in.snd_una, in.snd_nxt);
        CHECK_EQ(in.snd_nxt - H.snxt, (uint32_t)total);
        CHECK_EQ(in.sndq, 0);
        h_alive();
        h_teardown();
    }
}

/* SegmentSmack (CVE-2018-5390, Linux; FreeBSD's CVE-2018-6922): a peer
 * sends many tiny out-of-order segments, each at its own place in the
 * window, so that the reassembly queue grows by one entry per byte and
 * every new one costs a walk. Here: 3000 one-byte segments at every other
 * byte of the window. The reassembly queue keeps at most
 * reass_max_ranges entries (the rest dropped: REASS_FULL, and answered
 * with the duplicate ACKs RFC 9293 3.10.7.4 asks for out-of-order data);
 * the stream then arrives in order and is delivered whole and right. */
static void test_segmentsmack(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        const struct sf_stack_cfg *cfg = sf_stack_config(H.st);
        uint64_t full0 = h_drops(SF_DROP_REASS_FULL);
        uint64_t q0 = h_ctr(SF_CTR_REASS_QUEUED);
        for (uint32_t k = 0; k < 3000; k++) {
            uint32_t off = 2 + 2 * (k % 30000);
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = in.rcv_nxt + off,
                                 .ack = in.snd_nxt, .len = 1, .poff = off});
            if (H.nq > 1000)
                h_clear();
        }
        CHECK_EQ(h_info().rcv_nxt, in.rcv_nxt);
        CHECK(h_ctr(SF_CTR_REASS_QUEUED) - q0 <= cfg->reass_max_ranges);
        CHECK(h_drops(SF_DROP_REASS_FULL) - full0 >=
              3000 - cfg->reass_max_ranges);
        h_clear();
        /* the stream in order: 6000 bytes, delivered as sent */
        for (uint32_t off = 0; off < 6000; off += 1000)
            h_in(&(struct h_seg){.flags = SF_ACK, .seq = in.rcv_nxt + off,
                                 .ack = in.snd_nxt, .len = 1000, .poff = off});
        CHECK_EQ(h_info().rcv_nxt, in.rcv_nxt + 6000);
        static uint8_t buf[8192];
        long got = 0;
        for (int r = 0; r < 10 && got < 6000; r++) {
            long n = sf_recv(H.st, H.sd, buf + got, sizeof buf - (size_t)got,
                             0);
            if (n <= 0)
                break;
            got += n;
        }
        CHECK_EQ(got, 6000);
        bool right = true;
        for (long i = 0; i < got; i++)
            right = right && buf[i] == (uint8_t)('a' + i % 26);
        CHECK(right);
        h_alive();
        h_teardown();
    }
}

static const struct check_case cases[] = {
    CHECK_CASE(test_mss_0_1_48),
    CHECK_CASE(test_wscale_15_plus),
    CHECK_CASE(test_syncookie_hostile_options),
    CHECK_CASE(test_options_outside_syn),
    CHECK_CASE(test_urg_beyond_data),
    CHECK_CASE(test_syn_fin_listen),
    CHECK_CASE(test_syn_fin_established),
    CHECK_CASE(test_fin_on_synack),
    CHECK_CASE(test_fin_in_syn_sent),
    CHECK_CASE(test_rst_data),
    CHECK_CASE(test_data_beyond_fin),
    CHECK_CASE(test_zero_len_flags_established),
    CHECK_CASE(test_zero_len_flags_listen),
    CHECK_CASE(test_zero_len_flags_syn_sent),
    CHECK_CASE(test_zero_len_flags_closed),
    CHECK_CASE(test_zero_len_flags_syn_rcvd),
    CHECK_CASE(test_zero_len_flags_time_wait),
    CHECK_CASE(test_seq_wrap),
    CHECK_CASE(test_window_edges),
    CHECK_CASE(test_window_shrink),
    CHECK_CASE(test_ts_jump_2_31),
    CHECK_CASE(test_sack_panic_tiny_mss),
    CHECK_CASE(test_segmentsmack),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
