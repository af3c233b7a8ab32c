/* Hostile headers (issue 14 item 3): TCP options, data offsets, IP
 * lengths and flags that broke other stacks, each sent in raw bytes to an
 * ESTABLISHED connection (and to a listener where the bug was there),
 * over IPv4 and IPv6. Each case names the CVE or report it comes from;
 * tests/hostile/README.md is the table. The answer every one of them must
 * get: the datagram dropped with its reason counted, nothing sent, the
 * connection as it was (RFC 9293 3.1: a malformed header is not a
 * segment of the connection), and the connection still working. */
#include "hostile.h"

#define BOTH(v6) for (int v6 = 0; v6 < 2; v6++)

/* An in-order data segment at RCV.NXT with raw options opt. */
static struct h_seg data_seg(const uint8_t *opt, size_t optlen)
{
    struct sf_tcp_info in = h_info();
    return (struct h_seg){.flags = SF_ACK | SF_PSH, .seq = in.rcv_nxt,
                          .ack = in.snd_nxt, .opt = opt, .optlen = optlen,
                          .len = 10};
}

/* The options opt on an in-order data segment of an ESTABLISHED
 * connection, and on a SYN to the listener: both dropped for `why`. */
static void opts_dropped(const uint8_t *opt, size_t optlen, enum sf_drop why)
{
    BOTH(v6) {
        h_established(v6, NULL);
        h_snap();
        struct h_seg s = data_seg(opt, optlen);
        h_in(&s);
        h_dropped(why);
        /* a SYN from a new port: no SYN,ACK, no request held */
        h_snap();
        h_in(&(struct h_seg){.flags = SF_SYN, .seq = 1234, .opt = opt,
                             .optlen = optlen, .sport = H_PPORT + 1,
                             .dport = H_PORT});
        CHECK_EQ(sf_stack_counters(H.st)->drops[why] - H.snap.drops[why], 1);
        CHECK_EQ(H.nq, 0);
        CHECK_EQ(h_ctr(SF_CTR_PASSIVE_OPENS), H.snap.c[SF_CTR_PASSIVE_OPENS]);
        h_alive();
        h_teardown();
    }
}

/* AMNESIA:33, CVE-2020-24337 (picoTCP, tass-belgium/picotcp#506): an
 * option of length 0 made the option walk stand still (an endless loop);
 * Nut/Net had the same (CVE-2026-120596). Unknown kind and known kind. */
static void test_opt_len_0(void)
{
    static const uint8_t unknown[] = {1, 1, 30, 0};
    opts_dropped(unknown, sizeof unknown, SF_DROP_TCP_OPT_LEN);
    static const uint8_t mss[] = {2, 0, 1, 1};
    opts_dropped(mss, sizeof mss, SF_DROP_TCP_OPT_LEN);
}

/* AMNESIA:33 (the same option walks): length 1 covers only the kind byte,
 * so a walk that trusts it steps back onto the length byte and loops, or
 * reads the length as the next kind. */
static void test_opt_len_1(void)
{
    static const uint8_t unknown[] = {30, 1, 1, 1};
    opts_dropped(unknown, sizeof unknown, SF_DROP_TCP_OPT_LEN);
    static const uint8_t ts[] = {1, 1, 8, 1};
    opts_dropped(ts, sizeof ts, SF_DROP_TCP_OPT_LEN);
}

/* Linux tcp_parse_options fix 9609dad263f8 ("if (length < 2) return"):
 * an option kind in the last byte of the header, its length byte past
 * it; and lengths that run past the header (CVE-2020-24341, picoTCP: TCP
 * lengths not checked, an out-of-bounds read). */
static void test_opt_past_header(void)
{
    static const uint8_t kind_last[] = {1, 1, 1, 8}; /* TS, no length */
    opts_dropped(kind_last, sizeof kind_last, SF_DROP_TCP_OPT_LEN);
    static const uint8_t ts_long[] = {1, 1, 8, 10, 0, 0, 0, 1}; /* 10 > 6 */
    opts_dropped(ts_long, sizeof ts_long, SF_DROP_TCP_OPT_LEN);
    static const uint8_t huge[] = {30, 255, 0, 0};
    opts_dropped(huge, sizeof huge, SF_DROP_TCP_OPT_LEN);
    /* MSS in the last 2 of 40 option bytes, length 4 */
    uint8_t full[40];
    memset(full, 1, sizeof full);
    full[38] = 2, full[39] = 4;
    opts_dropped(full, sizeof full, SF_DROP_TCP_OPT_LEN);
}

/* CVE-2020-13988 (uIP, AMNESIA:33: the MSS option's length trusted, an
 * integer overflow in the walk): a known kind whose length is not its
 * own is dropped, not read as far as the length says. */
static void test_opt_known_wrong_len(void)
{
    static const uint8_t mss3[] = {2, 3, 5, 1};
    opts_dropped(mss3, sizeof mss3, SF_DROP_TCP_OPT_BAD);
    static const uint8_t ws4[] = {3, 4, 7, 0};
    opts_dropped(ws4, sizeof ws4, SF_DROP_TCP_OPT_BAD);
    static const uint8_t ts8[] = {8, 8, 0, 0, 0, 1, 0, 0};
    opts_dropped(ts8, sizeof ts8, SF_DROP_TCP_OPT_BAD);
    static const uint8_t sack9[] = {5, 9, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1};
    opts_dropped(sack9, sizeof sack9, SF_DROP_TCP_OPT_BAD);
    /* RFC 2018 3: at most 4 blocks fit 40 bytes; a SACK of 4 blocks and
     * 1 byte (35) is no SACK option */
    uint8_t sack35[36] = {5, 35};
    opts_dropped(sack35, sizeof sack35, SF_DROP_TCP_OPT_BAD);
}

/* The option loops of AMNESIA:33 the other way round: 40 bytes of NOPs
 * (the longest walk there is) and garbage after EOL are legal (RFC 9293
 * 3.1: EOL ends the list; what follows is padding), so the data is taken
 * and acknowledged. */
static void test_opt_nops_and_eol_garbage(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        uint8_t nops[40];
        memset(nops, 1, sizeof nops);
        struct sf_tcp_info in = h_info();
        h_snap();
        struct h_seg s = data_seg(nops, sizeof nops);
        h_in(&s);
        CHECK_EQ(h_info().rcv_nxt, in.rcv_nxt + 10);
        CHECK_EQ(h_ctr(SF_CTR_DROPS), H.snap.c[SF_CTR_DROPS]);
        static const uint8_t eol[] = {0, 30, 0, 2, 0, 0xff, 1, 8};
        s = data_seg(eol, sizeof eol);
        h_in(&s);
        CHECK_EQ(h_info().rcv_nxt, in.rcv_nxt + 20);
        CHECK_EQ(h_ctr(SF_CTR_DROPS), H.snap.c[SF_CTR_DROPS]);
        uint8_t buf[64];
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 20);
        h_alive();
        h_teardown();
    }
}

/* A data offset below 5 words, or past the segment: the TCP header
 * claiming more than the datagram holds (CVE-2021-21281, Contiki-NG: a
 * data offset not validated; CVE-2020-24341, picoTCP). */
static void test_doff_bad(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        static const int doffs[] = {0, 1, 4, 15};
        for (size_t i = 0; i < sizeof doffs / sizeof doffs[0]; i++) {
            h_snap();
            struct h_seg s = data_seg(NULL, 0);
            s.len = 0;
            s.doff = doffs[i];
            s.set_doff = true;
            h_in(&s);
            h_dropped(SF_DROP_TCP_DOFF);
        }
        /* the offset past the 10 bytes of payload too (doff 15 = 60 > 30) */
        h_snap();
        struct h_seg s = data_seg(NULL, 0);
        s.doff = 15;
        s.set_doff = true;
        h_in(&s);
        h_dropped(SF_DROP_TCP_DOFF);
        h_alive();
        h_teardown();
    }
}

/* Ripple20 (CVE-2020-11896, CVE-2020-11898 in Treck: IP length fields
 * that disagree with the datagram): an IPv4 Total Length / IPv6 Payload
 * Length longer than the bytes received is a truncated datagram. */
static void test_iplen_longer(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        static const int deltas[] = {1, 100, 30000};
        for (size_t i = 0; i < 3; i++) {
            h_snap();
            struct h_seg s = data_seg(NULL, 0);
            s.iplen_delta = deltas[i];
            h_in(&s);
            h_dropped(v6 ? SF_DROP_IP6_PLEN : SF_DROP_IP_TOTLEN);
        }
        h_alive();
        h_teardown();
    }
}

/* The other way: the IP length shorter than the bytes received. Bytes
 * past it are link padding (an Ethernet minimum frame), never data: the
 * segment is what the IP length says, 4 of the 10 payload bytes. */
static void test_iplen_shorter_is_padding(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        h_snap();
        struct h_seg s = data_seg(NULL, 0);
        s.iplen_delta = -6;
        h_in(&s);
        CHECK_EQ(h_info().rcv_nxt, in.rcv_nxt + 4);
        CHECK_EQ(h_ctr(SF_CTR_DROPS), H.snap.c[SF_CTR_DROPS]);
        uint8_t buf[64];
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 4);
        CHECK(!memcmp(buf, "abcd", 4));
        /* and padding appended after a true length is ignored as well */
        in = h_info();
        s = data_seg(NULL, 0);
        s.buf_delta = 18;
        h_in(&s);
        CHECK_EQ(h_info().rcv_nxt, in.rcv_nxt + 10);
        CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 10);
        h_alive();
        h_teardown();
    }
}

/* The IP length cutting into the TCP header: a segment shorter than 20
 * bytes, or shorter than its data offset (the options cut off). */
static void test_iplen_cuts_tcp_header(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        static const uint8_t ts[] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0};
        h_snap();
        struct h_seg s = data_seg(ts, sizeof ts); /* 32 + 10 bytes */
        s.iplen_delta = -(int)(10 + 20);           /* 12 TCP bytes left */
        h_in(&s);
        h_dropped(SF_DROP_TCP_SHORT);
        h_snap();
        s.iplen_delta = -(int)(10 + 8); /* 24 of the 32 header bytes */
        h_in(&s);
        h_dropped(SF_DROP_TCP_DOFF);
        h_alive();
        h_teardown();
    }
}

/* IPv4 Internet Header Length disagreeing with the datagram (Ripple20
 * CVE-2020-11898, CVE-2020-17438 in uIP: IP header and total lengths not
 * validated): below 5 words, or past the Total Length. */
static void test_ihl_bad(void)
{
    h_established(false, NULL);
    static const struct {
        uint8_t ihl;
        int pad;           /* zero bytes after the datagram */
        enum sf_drop why;
    } c[] = {
        {0, 0, SF_DROP_IP_HDRLEN},
        {4, 0, SF_DROP_IP_HDRLEN},
        {15, 0, SF_DROP_IP_HDRLEN}, /* 60 > the 40 bytes received */
        {15, 40, SF_DROP_IP_TOTLEN}, /* received, but > Total Length 40 */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint8_t b[1700];
        struct h_seg s = data_seg(NULL, 0);
        s.len = 0;
        s.buf_delta = c[i].pad;
        size_t n = h_build(&s, b);
        b[0] = (uint8_t)(0x40 | c[i].ihl);
        b[10] = b[11] = 0;
        size_t hl = c[i].ihl < 5 ? 20 : (size_t)c[i].ihl * 4;
        uint16_t sum = sf_csum_fold(sf_csum_add(0, b, hl < n ? hl : n));
        b[10] = (uint8_t)(sum >> 8), b[11] = (uint8_t)sum;
        h_snap();
        sf_stack_input(H.st, H.now, b, n);
        h_dropped(c[i].why);
    }
    h_alive();
    h_teardown();
}

/* IPv6 extension headers whose lengths disagree with the datagram
 * (Ripple20 CVE-2020-11897 and CVE-2020-11899: IPv6 handling in Treck,
 * out-of-bounds write and read): a Destination Options header claiming
 * 2048 bytes in a short packet, a Payload Length ending inside the
 * extension header, one ending inside the TCP header after it; and the
 * same header with true lengths, which must be taken. */
static void test_ip6_ext_len_lies(void)
{
    h_established(true, NULL);
    static const struct {
        uint8_t extlen;  /* Hdr Ext Len: 8-byte units past the first 8 */
        int plen_delta;  /* added to the true Payload Length */
        enum sf_drop why;
    } c[] = {
        {255, 0, SF_DROP_IP6_EXT_LEN},
        {0, -(20 + 10 + 4), SF_DROP_IP6_EXT_LEN}, /* 4 of the 8 bytes */
        {0, -(10 + 8), SF_DROP_TCP_SHORT},        /* 12 TCP bytes */
        {0, 0, SF_DROP_NONE},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct h_seg s = data_seg(NULL, 0);
        uint8_t tcp[1700], b[1800];
        size_t n = h_build(&s, tcp), tl = n - 40;
        memcpy(b, tcp, 40);
        b[6] = 60; /* Destination Options */
        uint8_t *e = b + 40;
        memset(e, 0, 8);
        e[0] = 6, e[1] = c[i].extlen, e[2] = 1, e[3] = 4; /* PadN 4 */
        memcpy(b + 48, tcp + 40, tl);
        long plen = (long)(8 + tl) + c[i].plen_delta;
        b[4] = (uint8_t)(plen >> 8), b[5] = (uint8_t)plen;
        struct sf_tcp_info in = h_info();
        h_snap();
        sf_stack_input(H.st, H.now, b, 48 + tl);
        if (c[i].why != SF_DROP_NONE) {
            h_dropped(c[i].why);
        } else {
            CHECK_EQ(h_info().rcv_nxt, in.rcv_nxt + 10);
            CHECK_EQ(h_ctr(SF_CTR_DROPS), H.snap.c[SF_CTR_DROPS]);
            uint8_t buf[32];
            CHECK_EQ(sf_recv(H.st, H.sd, buf, sizeof buf, 0), 10);
        }
    }
    h_alive();
    h_teardown();
}

/* The Land attack (CERT CA-1997-28, CVE-1999-0016): a SYN from the
 * stack's own address and port to that address and port. Answering it
 * would answer ourselves forever: dropped, nothing sent, no request. */
static void test_land(void)
{
    BOTH(v6) {
        h_setup(v6, NULL);
        h_listen();
        h_snap();
        h_in(&(struct h_seg){.flags = SF_SYN, .seq = 77, .land = true});
        h_dropped(SF_DROP_IP_BAD_SRC);
        CHECK_EQ(h_ctr(SF_CTR_PASSIVE_OPENS), 0);
        /* and the listener still takes a real SYN */
        h_accept();
        /* a Land segment at an established port: dropped too */
        h_snap();
        h_in(&(struct h_seg){.flags = SF_SYN, .seq = 78, .land = true});
        h_dropped(SF_DROP_IP_BAD_SRC);
        h_alive();
        h_teardown();
    }
}

/* Sources no peer can have, and port 0: answering them would reflect a
 * SYN,ACK or RST at a broadcast or multicast group (the smurf pattern,
 * CERT CA-1998-01) or at nobody. RFC 1122 3.2.1.3 (IPv4 source not 0,
 * broadcast or multicast), RFC 9293 3.9.2.3 (MUST-57: discard a SYN to a
 * broadcast or multicast address; MUST-59 / MUST-60 for sources), RFC
 * 4291 2.5.2, 2.5.3, 2.7 and RFC 6890 (IPv6 ::, ::1, multicast and
 * v4-mapped sources), RFC 9293 3.1 (port 0 is reserved). Each SYN to the
 * listener: dropped for its reason, nothing sent, no request. */
static void test_bad_sources(void)
{
    static const uint32_t src4[] = {0, 0xffffffffu, 0xe0000001u};
    static const uint8_t src6[][16] = {
        {0xff, 0x02, [15] = 1},              /* ff02::1 */
        {0},                                  /* :: */
        {[15] = 1},                           /* ::1 */
        {[10] = 0xff, [11] = 0xff, 198, 18, 0, 2}, /* ::ffff:198.18.0.2 */
    };
    BOTH(v6) {
        h_setup(v6, NULL);
        h_listen();
        size_t n = v6 ? 4 : 3;
        for (size_t i = 0; i < n; i++) {
            h_snap();
            struct h_seg s = {.flags = SF_SYN, .seq = 3};
            if (v6)
                s.src6 = src6[i];
            else
                s.src4 = src4[i];
            if (!v6 && src4[i] == 0) {
                /* 0.0.0.0: h_build takes 0 as "the peer", so patch it */
                uint8_t b[200];
                size_t len = h_build(&s, b);
                memset(b + 12, 0, 4);
                b[10] = b[11] = 0;
                uint16_t c = sf_csum_fold(sf_csum_add(0, b, 20));
                b[10] = (uint8_t)(c >> 8), b[11] = (uint8_t)c;
                /* (the TCP checksum is not reached: the IP source is
                 * checked first) */
                sf_stack_input(H.st, H.now, b, len);
            } else {
                h_in(&s);
            }
            h_dropped(v6 ? SF_DROP_IP6_BAD_SRC : SF_DROP_IP_BAD_SRC);
            CHECK_EQ(h_ctr(SF_CTR_PASSIVE_OPENS), 0);
        }
        /* port 0, either side */
        h_snap();
        h_in(&(struct h_seg){.flags = SF_SYN, .seq = 3, .sport0 = true});
        h_dropped(SF_DROP_TCP_PORT_ZERO);
        h_snap();
        h_in(&(struct h_seg){.flags = SF_SYN, .seq = 3, .dport0 = true});
        h_dropped(SF_DROP_TCP_PORT_ZERO);
        h_teardown();
    }
}

/* SYN and RST together (nmap's and the "Christmas tree" scans; no peer
 * sends them): dropped as impossible, in any state, with no answer that
 * would tell a scanner anything. */
static void test_syn_rst(void)
{
    BOTH(v6) {
        h_established(v6, NULL);
        struct sf_tcp_info in = h_info();
        static const uint8_t fl[] = {SF_SYN | SF_RST, SF_SYN | SF_RST | SF_ACK,
                                     0xff};
        for (size_t i = 0; i < 3; i++) {
            h_snap();
            h_in(&(struct h_seg){.flags = fl[i], .seq = in.rcv_nxt,
                                 .ack = in.snd_nxt});
            h_dropped(SF_DROP_TCP_FLAGS);
            /* to the listener from a new port */
            h_snap();
            h_in(&(struct h_seg){.flags = fl[i], .seq = 5,
                                 .sport = H_PPORT + 9, .dport = H_PORT});
            h_dropped(SF_DROP_TCP_FLAGS);
        }
        h_alive();
        h_teardown();
    }
}

static const struct check_case cases[] = {
    CHECK_CASE(test_opt_len_0),
    CHECK_CASE(test_opt_len_1),
    CHECK_CASE(test_opt_past_header),
    CHECK_CASE(test_opt_known_wrong_len),
    CHECK_CASE(test_opt_nops_and_eol_garbage),
    CHECK_CASE(test_doff_bad),
    CHECK_CASE(test_iplen_longer),
    CHECK_CASE(test_iplen_shorter_is_padding),
    CHECK_CASE(test_iplen_cuts_tcp_header),
    CHECK_CASE(test_ihl_bad),
    CHECK_CASE(test_ip6_ext_len_lies),
    CHECK_CASE(test_land),
    CHECK_CASE(test_bad_sources),
    CHECK_CASE(test_syn_rst),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
