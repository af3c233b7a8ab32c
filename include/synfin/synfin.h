/* synfin: a TCP stack in user space, as a sans-IO core.
 *
 * The whole public API. The core is handed IPv4 and IPv6 datagrams and the
 * current time (sf_stack_input, sf_stack_advance) and hands back datagrams
 * to send through cfg.output. It never reads a clock, sleeps or does I/O.
 *
 * Time: every socket call acts at the time of the most recent
 * sf_stack_input() or sf_stack_advance() call ("the stack's now").
 * All socket calls are non-blocking; a call that would block returns
 * SF_EAGAIN (or SF_EINPROGRESS for connect).
 */
#ifndef SYNFIN_SYNFIN_H
#define SYNFIN_SYNFIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ time */

typedef uint64_t sf_time_t; /* nanoseconds */
#define SF_TIME_NEVER UINT64_MAX
#define SF_USEC ((sf_time_t)1000)
#define SF_MSEC ((sf_time_t)1000000)
#define SF_SEC ((sf_time_t)1000000000)

/* ---------------------------------------------------------------- errors */

/* X(name, text). Public calls return 0 or a positive count on success and a
 * negative SF_E* code on failure. Values are negative and stable. */
#define SF_ERROR_LIST(X)                                                     \
    X(EPERM, "operation not permitted")                                      \
    X(EBADF, "bad socket descriptor")                                        \
    X(EAGAIN, "resource temporarily unavailable")                            \
    X(ENOMEM, "out of memory")                                               \
    X(EINVAL, "invalid argument")                                            \
    X(EMFILE, "too many open sockets")                                       \
    X(EPIPE, "broken pipe")                                                  \
    X(ENOPROTOOPT, "protocol not available")                                 \
    X(EOPNOTSUPP, "operation not supported")                                 \
    X(EADDRINUSE, "address already in use")                                  \
    X(EADDRNOTAVAIL, "cannot assign requested address")                      \
    X(ENETUNREACH, "network is unreachable")                                 \
    X(ECONNABORTED, "software caused connection abort")                      \
    X(ECONNRESET, "connection reset by peer")                                \
    X(ENOBUFS, "no buffer space available")                                  \
    X(EISCONN, "transport endpoint is already connected")                    \
    X(ENOTCONN, "transport endpoint is not connected")                       \
    X(ETIMEDOUT, "connection timed out")                                     \
    X(ECONNREFUSED, "connection refused")                                    \
    X(EALREADY, "operation already in progress")                             \
    X(EINPROGRESS, "operation now in progress")                              \
    X(EDESTADDRREQ, "destination address required")                          \
    X(EMSGSIZE, "message too long")                                          \
    X(ENOENT, "no such connection")                                          \
    X(EHOSTUNREACH, "no route to host")                                      \
    X(EACCES, "permission denied")

enum sf_error {
    SF_OK = 0,
#define SF_X_(name, text) SF_##name,
    SF_ERROR_BASE_ = -1000,
    SF_ERROR_LIST(SF_X_)
#undef SF_X_
};
#define SF_EWOULDBLOCK SF_EAGAIN

/* Text for an error code ("connection refused"); "unknown error" otherwise. */
const char *sf_strerror(int err);
/* The errno-like name of an error code ("ECONNREFUSED"), or NULL. */
const char *sf_errname(int err);

/* ---------------------------------------------------------------- states */

/* X(name, linux_name, ss_name, ss_filter): RFC 9293 3.3.2, Figure 5, with
 * the names Linux's tcp_info and ss(8) give each state. The order is fixed. */
#define SF_STATE_LIST(X)                                                     \
    X(CLOSED, TCP_CLOSE, "UNCONN", "closed")                                 \
    X(LISTEN, TCP_LISTEN, "LISTEN", "listening")                             \
    X(SYN_SENT, TCP_SYN_SENT, "SYN-SENT", "syn-sent")                        \
    X(SYN_RCVD, TCP_SYN_RECV, "SYN-RECV", "syn-recv")                        \
    X(ESTABLISHED, TCP_ESTABLISHED, "ESTAB", "established")                  \
    X(FIN_WAIT_1, TCP_FIN_WAIT1, "FIN-WAIT-1", "fin-wait-1")                 \
    X(FIN_WAIT_2, TCP_FIN_WAIT2, "FIN-WAIT-2", "fin-wait-2")                 \
    X(CLOSE_WAIT, TCP_CLOSE_WAIT, "CLOSE-WAIT", "close-wait")                \
    X(CLOSING, TCP_CLOSING, "CLOSING", "closing")                            \
    X(LAST_ACK, TCP_LAST_ACK, "LAST-ACK", "last-ack")                        \
    X(TIME_WAIT, TCP_TIME_WAIT, "TIME-WAIT", "time-wait")

enum sf_state {
#define SF_X_(name, lname, ss, filter) SF_##name,
    SF_STATE_LIST(SF_X_)
#undef SF_X_
    SF_NSTATES
};

const char *sf_state_name(enum sf_state s);       /* "SYN_SENT" */
const char *sf_state_linux_name(enum sf_state s); /* "TCP_SYN_SENT" */
const char *sf_state_ss_name(enum sf_state s);    /* "SYN-SENT" (ss's column) */
const char *sf_state_ss_filter(enum sf_state s);  /* "syn-sent" (ss's filter) */

/* Why a state changed. X(name, text). */
#define SF_CAUSE_LIST(X)                                                     \
    X(OPEN_ACTIVE, "active OPEN (connect)")                                  \
    X(OPEN_PASSIVE, "passive OPEN (listen)")                                 \
    X(RCV_SYN, "received SYN")                                               \
    X(RCV_SYNACK, "received SYN,ACK")                                        \
    X(RCV_ACK, "received ACK")                                               \
    X(RCV_ACK_OF_FIN, "received ACK of our FIN")                             \
    X(RCV_FIN, "received FIN")                                               \
    X(RCV_FIN_ACK, "received FIN with ACK of our FIN")                       \
    X(RCV_RST, "received RST")                                               \
    X(CLOSE, "CLOSE (close or shutdown)")                                    \
    X(ABORT, "ABORT (close with SO_LINGER 0)")                               \
    X(TIMEOUT_RETRANSMIT, "retransmission limit reached")                    \
    X(TIMEOUT_TIME_WAIT, "2*MSL expired")                                    \
    X(TIMEOUT_FIN_WAIT_2, "FIN_WAIT_2 timeout")                              \
    X(TIMEOUT_KEEPALIVE, "keepalive probes unanswered")                      \
    X(LISTENER_CLOSED, "listening socket closed")                           \
    X(NEW_INCARNATION, "SYN beyond RCV.NXT: a new incarnation")              \
    X(ICMP_ERROR, "ICMP hard error while opening (RFC 9293 3.9.2.2)")

enum sf_cause {
#define SF_X_(name, text) SF_CAUSE_##name,
    SF_CAUSE_LIST(SF_X_)
#undef SF_X_
    SF_NCAUSES
};
const char *sf_cause_name(enum sf_cause c);

/* A legal state transition (RFC 9293 Figure 5 plus the RST, abort and
 * timeout edges). sf_transitions() returns the whole table. */
struct sf_transition {
    enum sf_state from, to;
    enum sf_cause cause;
    const char *why; /* "rcv SYN,ACK; snd ACK" */
};
size_t sf_transitions(const struct sf_transition **table);
/* Index of (from, to, cause) in that table, or -1 if it is not legal. */
int sf_transition_index(enum sf_state from, enum sf_state to,
                        enum sf_cause cause);

/* ----------------------------------------------------------- drop reasons */

/* X(name, text). Every dropped datagram or segment is counted under one. */
#define SF_DROP_LIST(X)                                                      \
    X(IP_SHORT, "IPv4: shorter than its header")                             \
    X(IP_VERSION, "IPv4: version is not 4")                                  \
    X(IP_HDRLEN, "IPv4: bad header length")                                  \
    X(IP_TOTLEN, "IPv4: total length disagrees with datagram")               \
    X(IP_CSUM, "IPv4: bad header checksum")                                  \
    X(IP_FRAGMENT, "IPv4: fragment (not reassembled)")                       \
    X(IP_PROTO, "IPv4: not TCP")                                             \
    X(IP_ADDR, "IPv4: not addressed to this stack")                          \
    X(IP_BAD_SRC, "IPv4: source is broadcast, multicast or unspecified")     \
    X(TCP_SHORT, "TCP: shorter than its header")                             \
    X(TCP_DOFF, "TCP: bad data offset")                                      \
    X(TCP_CSUM, "TCP: bad checksum")                                         \
    X(TCP_OPT_LEN, "TCP: option length runs past header or is < 2")         \
    X(TCP_OPT_BAD, "TCP: known option with wrong length")                    \
    X(TCP_PORT_ZERO, "TCP: port 0")                                          \
    X(TCP_FLAGS, "TCP: impossible flag combination")                         \
    X(NO_SOCKET, "no connection or listener (RST sent unless RST)")          \
    X(CLOSED_RST, "RST to a closed port (ignored)")                          \
    X(LISTEN_RST, "RST in LISTEN (ignored)")                                 \
    X(LISTEN_ACK, "ACK in LISTEN (RST sent)")                                \
    X(LISTEN_NO_SYN, "LISTEN: segment without SYN")                          \
    X(LISTEN_OVERFLOW, "LISTEN: accept queue full (SYN dropped)")            \
    X(SYNQ_FULL, "LISTEN: SYN queue full, cookies off (SYN dropped)")         \
    X(ACCEPTQ_FULL, "accept queue full: final ACK dropped")                  \
    X(COOKIE_BAD, "ACK with an invalid or stale SYN cookie (RST sent)")      \
    X(SYNSENT_BAD_ACK, "SYN_SENT: unacceptable ACK (RST sent)")              \
    X(SYNSENT_NO_SYN, "SYN_SENT: neither SYN nor RST")                       \
    X(SYNSENT_RST_NO_ACK, "SYN_SENT: RST without acceptable ACK")            \
    X(OUT_OF_WINDOW, "sequence number not acceptable (ACK sent)")            \
    X(RST_OUT_OF_WINDOW, "RST outside the window")                           \
    X(RST_CHALLENGED, "RST in window but not RCV.NXT (challenge ACK)")       \
    X(SYN_CHALLENGED, "SYN in synchronized state (challenge ACK)")           \
    X(NO_ACK, "segment without ACK")                                         \
    X(ACK_UNACCEPTABLE, "ACK outside the acceptable range")                  \
    X(ACK_UNSENT, "ACK for data not yet sent (ACK sent)")                    \
    X(SYNRCVD_BAD_ACK, "SYN_RCVD: unacceptable ACK (RST sent)")              \
    X(DATA_NOT_SYNCHRONIZED, "data after FIN or in a closing state")         \
    X(REASS_FULL, "out-of-order data beyond the reassembly limits")          \
    X(RCVBUF_FULL, "receive buffer full")                                    \
    X(CHALLENGE_ACK_LIMIT, "challenge ACK rate limit reached")              \
    X(NO_MEMORY, "out of memory")                                            \
    X(LISTEN_SYN_FIN, "LISTEN: SYN with FIN (a scan; dropped)")              \
    X(PAWS, "RFC 7323 PAWS: timestamp older than TS.Recent (ACK sent)")      \
    X(TS_MISSING, "RFC 7323 3.2: no timestamp on a timestamped connection")  \
    X(IP6_SHORT, "IPv6: shorter than its 40-byte header")                    \
    X(IP6_VERSION, "IPv6: version is not 6")                                 \
    X(IP6_PLEN, "IPv6: payload length runs past the datagram")               \
    X(IP6_BAD_SRC, "IPv6: source multicast, ::, ::1 or v4-mapped")           \
    X(IP6_BAD_DST, "IPv6: dest ::, ::1, v4-mapped (multicast: TCP)")         \
    X(IP6_EXT_LEN, "IPv6: extension header runs past the payload")           \
    X(IP6_EXT_MANY, "IPv6: more than 8 extension headers")                   \
    X(IP6_EXT_UNKNOWN, "IPv6: ESP, AH or other unwalked ext. header")        \
    X(IP6_HBH_ORDER, "IPv6: Hop-by-Hop header not first")                    \
    X(IP6_OPT_LEN, "IPv6: option runs past its extension header")            \
    X(IP6_OPT_UNKNOWN, "IPv6: unrecognized option whose type says discard")  \
    X(IP6_OPT_EXCESS, "IPv6: over 7 pad bytes in a row or 8 options")        \
    X(IP6_ROUTING, "IPv6: routing header with segments left")                \
    X(IP6_FRAGMENT, "IPv6: fragment (not reassembled)")                      \
    X(IP6_PROTO, "IPv6: not TCP")                                            \
    X(IP6_ADDR, "IPv6: not addressed to this stack")                        \
    X(ICMP_BAD, "ICMP error: bad checksum, short, or no connection of ours") \
    X(ICMP_NOT_IN_FLIGHT, "ICMP error: quoted segment not in flight")        \
    X(ICMP_MTU_IGNORED, "ICMP too big: MTU not below the path's")            \
    X(SYN_FILTERED, "LISTEN: SYN refused or dropped by the listener's filter") \
    X(SYN_DEFERRED, "segment to a deferred SYN (held unanswered)")          \
    X(UDP_PROTO, "UDP: IP protocol is not UDP (17)")                         \
    X(UDP_SHORT, "UDP: shorter than its 8-byte header")                      \
    X(UDP_LEN, "UDP: length field < 8 or past the IP payload")              \
    X(UDP_CSUM, "UDP: bad checksum")                                         \
    X(UDP_CSUM_ZERO6, "UDP over IPv6: zero checksum (RFC 8200 8.1)")         \
    X(UDP_PORT_ZERO, "UDP: destination port 0")

enum sf_drop {
    SF_DROP_NONE = 0,
#define SF_X_(name, text) SF_DROP_##name,
    SF_DROP_LIST(SF_X_)
#undef SF_X_
    SF_NDROPS
};
const char *sf_drop_name(enum sf_drop d); /* "TCP_CSUM" */
const char *sf_drop_text(enum sf_drop d);

/* ---------------------------------------------------------------- timers */

#define SF_TIMER_LIST(X)                                                     \
    X(RETRANSMIT, "retransmit")                                              \
    X(TIME_WAIT, "time-wait")                                                \
    X(FIN_WAIT_2, "fin-wait-2")                                              \
    X(KEEPALIVE, "keepalive")                                                \
    X(PERSIST, "persist")                                                    \
    X(DELACK, "delayed-ack")                                                 \
    X(PACING, "pacing")

enum sf_timer_kind {
    SF_TIMER_NONE = 0,
#define SF_X_(name, text) SF_TIMER_##name,
    SF_TIMER_LIST(SF_X_)
#undef SF_X_
    SF_NTIMERS
};
const char *sf_timer_name(enum sf_timer_kind k);

/* -------------------------------------------------------------- counters */

#define SF_COUNTER_LIST(X)                                                   \
    X(IP_IN, "IPv4 datagrams received")                                      \
    X(SEG_IN, "TCP segments received and checked")                           \
    X(SEG_OUT, "TCP segments sent")                                          \
    X(DROPS, "datagrams or segments dropped (all reasons)")                  \
    X(RETRANSMITS, "segments retransmitted")                                 \
    X(RST_OUT, "RSTs sent")                                                  \
    X(RST_IN, "RSTs accepted")                                               \
    X(CHALLENGE_ACKS, "challenge ACKs sent")                                 \
    X(ACTIVE_OPENS, "active opens")                                          \
    X(PASSIVE_OPENS, "passive opens")                                        \
    X(ESTABLISHED, "connections that reached ESTABLISHED")                   \
    X(ATTEMPT_FAILS, "opens that failed")                                    \
    X(RESETS, "connections reset")                                           \
    X(TIMEOUTS, "connections timed out")                                     \
    X(R1_REACHED, "retransmissions that passed R1")                          \
    X(FAST_RETRANSMITS, "fast retransmits (three duplicate ACKs)")           \
    X(REASS_QUEUED, "out-of-order segments held for reassembly")             \
    X(DELAYED_ACKS, "ACKs sent by the delayed-ACK timer")                    \
    X(ACK_BATCHED, "ACKs held to the end of an input batch (SF_IN_BATCH)")   \
    X(KEEPALIVE_PROBES, "keepalive probes sent")                             \
    X(SYNCOOKIES_SENT, "SYN cookies sent")                                   \
    X(SYNCOOKIES_OK, "SYN cookies validated")                                \
    X(SYNCOOKIES_BAD, "SYN cookies rejected")                                \
    X(ACK_SKIPPED_CHALLENGE, "challenge ACKs not sent: per-connection limit") \
    X(ACK_SKIPPED_INVALID, "ACKs to unacceptable segments not sent: per-connection limit") \
    X(ORPHAN_RETRIES, "orphans reset: orphan_retries reached")               \
    X(ORPHAN_OVERFLOW, "connections reset at close: max_orphans reached")    \
    X(MSS_CLAMPED, "peer MSS below min_snd_mss, raised to it")               \
    X(TW_OVERFLOW, "TIME_WAIT skipped (straight to CLOSED): max_tw reached") \
    X(WSCALE_CLAMPED, "RFC 7323 2.3: peer's window scale > 14, used 14")      \
    X(WSCALE_NOT_SYN, "RFC 7323 2.3: window scale option outside a SYN, ignored") \
    X(RCVBUF_GROWN, "receive buffers grown by autotuning")                    \
    X(SNDBUF_GROWN, "send buffers grown by autotuning")                      \
    X(RTO_EVENTS, "retransmission timeouts (data or FIN outstanding)")       \
    X(SACK_RECOVERIES, "SACK loss recoveries entered (RFC 6675)")            \
    X(SACK_RETRANSMITS, "segments retransmitted by SACK recovery")           \
    X(SACK_BLOCKS_BAD, "SACK blocks ignored: outside SND.UNA..SND.MAX or empty") \
    X(SACK_SB_OVERFLOW, "SACK scoreboard full: highest range forgotten")     \
    X(SACK_RENEGING, "SACK reneging seen: scoreboard cleared")               \
    X(DSACK_IN, "D-SACK blocks received, a repeat once (RFC 2883)")          \
    X(DSACK_OUT, "D-SACK blocks sent (RFC 2883)")                            \
    X(SACK_UNDO, "recoveries undone: every retransmission D-SACKed")       \
    X(TLP_PROBES, "tail loss probes sent (RFC 8985)")                        \
    X(TLP_REPAIRS, "losses a probe repaired: cwnd reduced (RFC 8985 7.4)")   \
    X(ECN_NEGOTIATED, "connections established with ECN (RFC 3168)")       \
    X(ECN_CE_RCVD, "segments received with CE (RFC 3168)")                  \
    X(ECN_ECE_SENT, "ACKs sent with ECE (congestion echoed)")               \
    X(ECN_ECE_RCVD, "ACKs received with ECE")                               \
    X(ECN_REDUCTIONS, "congestion window reductions for ECE (once per window)") \
    X(ECN_CWR_SENT, "segments sent with CWR")                               \
    X(RACK_LOST, "segment ranges RACK declared lost (RFC 8985 6.2)")          \
    X(RACK_REORDER, "flights where RACK saw reordering (RFC 8985 6.2)")       \
    X(RACK_TIMEOUTS, "RACK reordering timer expirations (RFC 8985 6.3)")  \
    X(SPURIOUS_RTO, "timeouts found spurious by timestamps (RFC 3522) and undone (RFC 4015)") \
    X(HYSTART_NOMEM, "HyStart++ state not allocated: standard slow start") \
    X(CC_UNDO_NOMEM, "congestion control state for an undo not allocated") \
    X(PACING_WAITS, "times data waited for the pacing timer")               \
    X(BUF_ALLOCS, "socket buffer storages allocated (not reused from the cache)") \
    X(BUF_GROWS, "socket buffer storages grown (copied into a larger one)")  \
    X(PMTU_LOWERED, "path MTU lowered by ICMP too big (RFC 1191, RFC 8201)") \
    X(SYN_REFUSED, "SYNs refused by a listener's filter (RST sent)")          \
    X(SYN_DROPPED, "SYNs dropped by a listener's filter (no answer)")         \
    X(SYN_DEFERRED, "SYNs deferred by a listener's filter (held unanswered)") \
    X(SYN_DEFER_EXPIRED, "deferred SYNs not decided within syn_defer_timeout") \
    X(SYN_DEFER_COOKIE, "DEFER under SYN cookies (queue full): dropped")      \
    X(ICMP_SOFT_ERRORS, "ICMP soft errors noted (reported if the conn. times out)") \
    X(ICMP_HARD_ABORTS, "opens aborted by an ICMP hard error (RFC 9293 3.9.2.2)") \
    X(MEM_PRESSURE, "entries into memory pressure (above cfg.mem_pressure % of cfg.mem_max)") \
    X(MEM_FULL, "entries into the memory cap: an allocation refused (cfg.mem_max)") \
    X(MEM_REFUSED, "allocations refused at the memory cap")                 \
    X(OFO_PRUNED, "out-of-order ranges pruned under memory pressure (reneged, not acknowledged)") \
    X(OFO_PRUNED_BYTES, "out-of-order bytes pruned under memory pressure")   \
    X(RCV_MEM_DROP, "segments not kept for want of memory (not acknowledged: sent again)") \
    X(SYN_MEM_REFUSED, "SYNs dropped unanswered at the memory cap")          \
    X(SND_MEM_WAIT, "sends refused with SF_EAGAIN at the memory cap")        \
    X(MEM_WINDOW_CLAMPED, "windows offered smaller under memory pressure") \
    X(MEM_BUF_SHRUNK, "autotuned buffers set back to the default under memory pressure") \
    X(REASS_WORK, "reassembly range entries examined or moved for out-of-order segments (work)") \
    X(SND_MEM_WOKEN, "sockets woken once memory freed after a send waited at the cap") \
    X(CSUM_IN_SKIPPED, "TCP checksums not verified: the device vouched for them (SF_IN_CSUM_VALID)") \
    X(CSUM_OUT_PARTIAL, "segments sent with the pseudo-header sum only, for the device to complete") \
    X(TSO_OUT, "datagrams of several segments handed to the device to cut (cfg.output_gso)") \
    X(FIN_ACK_DELAYED, "ACKs of a FIN in ESTABLISHED delayed (cfg.fin_ack_delay)") \
    X(DIRECT_DELIVERED, "bytes taken by the application's direct delivery (cfg.deliver), never queued") \
    X(ACK_MEM_DROPPED, "handshake-completing ACKs dropped at the memory cap (the request kept)")

enum sf_counter {
#define SF_X_(name, text) SF_CTR_##name,
    SF_COUNTER_LIST(SF_X_)
#undef SF_X_
    SF_NCOUNTERS
};

struct sf_counters {
    uint64_t c[SF_NCOUNTERS];
    uint64_t drops[SF_NDROPS];
    uint64_t conns_in_state[SF_NSTATES]; /* current, by state */
};
const char *sf_counter_name(enum sf_counter c);

/* ----------------------------------------------------------- addresses */

/* Address families of struct sf_addr. The zero value is IPv4, so that
 * {ip, port} initializers mean what they always meant. */
#define SF_AF_INET 0
#define SF_AF_INET6 1

/* An address and port of either family. IPv4: ip in host byte order,
 * ip6 all zero. IPv6: ip6 in network byte order, ip 0. port in host byte
 * order. Compare with sf_addr_eq (never memcmp: the struct has padding). */
struct sf_addr {
    uint32_t ip;
    uint16_t port;
    uint8_t family; /* SF_AF_INET (0) or SF_AF_INET6 */
    uint8_t ip6[16];
};

/* Room for any sf_addr_fmt text and its NUL: "[" 45 "]:" 5. */
#define SF_ADDR_STRLEN 56

/* Formats "198.18.0.1:8080" or "[fd00::1]:8080" (RFC 5952 text, RFC 3986
 * brackets) into buf (SF_ADDR_STRLEN bytes for any address; 22 for any
 * IPv4 one). */
const char *sf_addr_fmt(const struct sf_addr *a, char *buf, size_t len);
/* Formats the address alone: "198.18.0.1" or "fd00::1". */
const char *sf_addr_ip_fmt(const struct sf_addr *a, char *buf, size_t len);
/* Parses dotted-quad "A.B.C.D" into *ip; returns 0 or SF_EINVAL. */
int sf_ip_parse(const char *s, uint32_t *ip);
/* An IPv4 / IPv6 address and port. */
struct sf_addr sf_addr4(uint32_t ip, uint16_t port);
struct sf_addr sf_addr6(const uint8_t ip6[16], uint16_t port);
/* Parses an address of either family without port ("198.18.0.1",
 * "fd00::1", "::ffff:198.18.0.1": the last is IPv6, IPv4-mapped) into
 * *a with port 0; returns 0 or SF_EINVAL, leaving *a untouched. */
int sf_addr_parse_ip(const char *s, struct sf_addr *a);
/* Same family, address and port. */
bool sf_addr_eq(const struct sf_addr *a, const struct sf_addr *b);
/* Same family and address, whatever the ports. */
bool sf_addr_ip_eq(const struct sf_addr *a, const struct sf_addr *b);
/* 0.0.0.0 or :: (the "any" address of bind). */
bool sf_addr_is_unspec(const struct sf_addr *a);
/* An IPv6 address of the form ::ffff:a.b.c.d (RFC 4291 2.5.5.2). */
bool sf_addr_is_v4mapped(const struct sf_addr *a);
/* IPv4 a.b.c.d:port into ::ffff:a.b.c.d:port; any other address as is. */
struct sf_addr sf_addr_to_v4mapped(const struct sf_addr *a);
/* IPv4-mapped ::ffff:a.b.c.d:port into a.b.c.d:port; any other as is. */
struct sf_addr sf_addr_from_v4mapped(const struct sf_addr *a);

/* ----------------------------------------------------------------- trace */

/* TCP flag bits as on the wire. */
#define SF_FIN 0x01
#define SF_SYN 0x02
#define SF_RST 0x04
#define SF_PSH 0x08
#define SF_ACK 0x10
#define SF_URG 0x20
#define SF_ECE 0x40
#define SF_CWR 0x80

/* A parsed TCP segment, as traced. Options absent have has_* false. */
struct sf_seg_info {
    struct sf_addr src, dst;
    uint32_t seq, ack;
    uint16_t win, urp;
    uint8_t flags;
    uint32_t len; /* payload bytes */
    bool has_mss, has_wscale, sack_ok, has_ts;
    uint16_t mss;
    uint8_t wscale;
    uint8_t nsack;
    uint32_t sack[4][2];
    uint32_t ts_val, ts_ecr;
    const uint8_t *dgram; /* the whole IPv4 or IPv6 datagram */
    size_t dgram_len;
};

enum sf_trace_kind {
    SF_TRACE_SEG_IN,  /* a segment passed the wire checks */
    SF_TRACE_SEG_OUT, /* a segment is being sent */
    SF_TRACE_STATE,   /* a connection changed state */
    SF_TRACE_DROP,    /* a datagram or segment was dropped */
    SF_TRACE_TIMER,   /* a timer fired */
    SF_TRACE_NOTE     /* free-text note (R1 reached, challenge ACK, ...) */
};

struct sf_trace_event {
    enum sf_trace_kind kind;
    sf_time_t now;
    int sd;                    /* socket descriptor, or -1 */
    struct sf_addr local, remote; /* the connection, when known */
    const struct sf_seg_info *seg; /* SEG_IN, SEG_OUT, DROP (may be NULL) */
    enum sf_state from, to;        /* STATE */
    enum sf_cause cause;           /* STATE */
    enum sf_drop drop;             /* DROP */
    enum sf_timer_kind timer;      /* TIMER */
    const char *note;              /* NOTE */
};

/* --------------------------------------------------------------- stack */

struct sf_stack;

/* Congestion control algorithms (sf_stack_cfg.cc; TCP_CONGESTION names
 * them "cubic" and "reno"). */
enum sf_cc { SF_CC_CUBIC, SF_CC_RENO };

/* A piece of a datagram handed to cfg.output_gather: len bytes at base. */
struct sf_piece {
    const uint8_t *base;
    size_t len;
};

struct sf_stack_cfg {
    uint32_t addr; /* this stack's (first) IPv4 address, host order; more
                    * with sf_stack_addr_add */

    /* Called for every datagram to send; the buffer is valid only during
     * the call. Required. */
    void (*output)(void *ctx, const uint8_t *dgram, size_t len);
    void *output_ctx;
    /* Called for every trace event; optional. */
    void (*trace)(void *ctx, const struct sf_trace_event *ev);
    void *trace_ctx;
    /* Called when a socket may have become readable/writable/errored;
     * optional. Poll with sf_poll() to learn which. It runs inside a stack
     * call: note the descriptor and act after that call returns (the
     * output and trace callbacks may not call into the stack either). */
    void (*wakeup)(void *ctx, int sd);
    void *wakeup_ctx;
    /* Direct delivery; optional. In-order data arriving for a socket whose
     * receive buffer is empty (and with no out-of-order data held) is
     * first offered here, in the input call: the callback returns how
     * many of the len bytes it took (0..len), as if sf_recv had read them
     * at once (the window stays open, autotuning counts them); the rest is
     * queued as usual. data is valid only during the call. For a relay
     * that can write the bytes on at once (to a kernel socket: synfin
     * tun2socks), this saves their copy into the receive buffer. It may
     * not call into the stack. */
    size_t (*deliver)(void *ctx, int sd, const uint8_t *data, size_t len);
    void *deliver_ctx;

    /* Randomness, supplied by the embedder: ISN secret, port choice. */
    uint8_t seed[16];

    /* Limits. */
    unsigned max_sockets;      /* default 1024 */
    uint16_t mss;              /* MSS we advertise, default 1460 */
    uint32_t sndbuf, rcvbuf;   /* default buffer sizes, default 65535 */
    unsigned default_backlog_max; /* cap on listen backlog, default 4096 */
    unsigned syn_backlog; /* SYN queue entries per listener, default 256 */
    bool syncookies;      /* RFC 4987 cookies when the SYN queue is full: on */

    /* Timers (RFC 6298, RFC 9293 3.8.1, RFC 1122 4.2.3.5). */
    sf_time_t rto_initial; /* 1 s */
    sf_time_t rto_min;     /* 200 ms (Linux's; RFC 6298 2.4 says 1 s) */
    sf_time_t rto_max;     /* 60 s */
    unsigned syn_retries;    /* 7: RFC 1122 4.2.3.5 asks >= 3 min (Linux: 6) */
    unsigned synack_retries; /* 5, as Linux tcp_synack_retries */
    unsigned r1;             /* 3 retransmissions: R1 of RFC 1122 */
    unsigned r2;             /* 15 retransmissions: R2, as Linux tcp_retries2 */
    sf_time_t msl;           /* 30 s: TIME_WAIT lasts 2*MSL = 60 s as Linux */
    sf_time_t fin_wait_2_timeout; /* 60 s, as Linux tcp_fin_timeout */

    /* Keepalive defaults (RFC 1122 4.2.3.6). */
    sf_time_t keepidle;  /* 7200 s */
    sf_time_t keepintvl; /* 75 s */
    unsigned keepcnt;    /* 10 */

    /* RFC 9293 3.8.6.3: delayed ACKs at most this late (0: ACK at once). */
    sf_time_t delack; /* 200 ms */
    /* Reassembly limits per connection: ranges of out-of-order data held,
     * and bytes (besides the receive buffer bounding them anyway). */
    unsigned reass_max_ranges; /* 32; at most 1024 are held (reass.c) */
    uint32_t reass_max_bytes;  /* 0 = the receive buffer */

    /* RFC 5961 challenge ACKs per second, per stack: each second's budget
     * is drawn between half and 1.5 times this (CVE-2016-5696). */
    unsigned challenge_ack_limit; /* 1000 */

    unsigned timer_slots;        /* timing wheel slots, default 4096 */
    sf_time_t timer_granularity; /* default 1 ms */

    /* Limits against off-path and on-path attacks (docs/lifecycle.md). */
    /* Per connection, at most one ACK per this interval in answer to a
     * bare unacceptable segment, an ACK of unsent data, or as a challenge
     * ACK (RFC 5961 7, 10; as Linux tcp_invalid_ratelimit). 0: no limit. */
    sf_time_t invalid_ratelimit; /* 500 ms */
    /* Connections the application has closed that may still be held; a
     * close() beyond this resets the connection (Linux tcp_max_orphans). */
    unsigned max_orphans; /* 4096 */
    /* Retransmission and window-probe timeouts an orphan may take without
     * the peer acknowledging anything new; then it is reset (Linux
     * tcp_orphan_retries). At most 250. */
    unsigned orphan_retries; /* 8 */
    /* Floor on the peer's MSS option (CVE-2019-11479; Linux
     * tcp_min_snd_mss). 0: none. */
    uint16_t min_snd_mss; /* 48 */
    /* TIME_WAIT records held at most; past it a connection goes straight
     * to CLOSED (Linux tcp_max_tw_buckets). */
    unsigned max_tw; /* 131072 */
    /* For tests and tools only, never in production: when non-zero, ISNs
     * start near this value, so that a test can make the sequence space
     * wrap (2^32) or turn over (2^31) early in a connection. The ISN is
     * then isn_offset + M + (F mod 2^16) (isn.c): the clock M and the low
     * bits of the keyed hash F still differ per connection, but the ISN is
     * predictable. 0 (the default): the RFC 6528 ISN, unchanged. */
    uint32_t isn_offset;
    /* RFC 7323, each also per socket (SF_TCP_WSCALE, SF_TCP_TIMESTAMPS):
     * offer window scaling / timestamps on our SYNs and accept them on the
     * peer's. Both on by default (as Linux). */
    bool wscale;     /* on */
    bool timestamps; /* on */
    /* Buffer autotuning ceilings (bytes); a socket whose SO_RCVBUF /
     * SO_SNDBUF was set is not tuned (as Linux). The receive buffer grows
     * with the bytes the application reads per round trip (as Linux's
     * DRS, tcp_rmem[2]); the send buffer with the congestion window (as
     * tcp_wmem[2]). 0: no autotuning. At most SF_BUF_MAX. */
    uint32_t rcvbuf_max; /* 6 MB */
    uint32_t sndbuf_max; /* 4 MB */
    /* RFC 2018 SACK (with RFC 6675 recovery, RFC 6937 PRR, RFC 2883
     * D-SACK): offer SACK-permitted on SYNs and use it when the peer
     * offers it too. Default on (as Linux tcp_sack); SF_TCP_SACK per
     * socket. */
    bool sack;
    /* RFC 3168 ECN, as Linux tcp_ecn: 0 off; 1 ask for it on active
     * opens and accept it on passive ones; 2 (the default) accept it when
     * a peer asks, never ask. Per socket: SF_TCP_ECN. */
    uint8_t ecn;
    /* Congestion control of new connections (TCP_CONGESTION changes it
     * per socket): SF_CC_CUBIC (RFC 9438 with HyStart++, the default) or
     * SF_CC_RENO (RFC 5681 with RFC 6582 NewReno recovery). */
    enum sf_cc cc;
    /* RFC 8985 6 RACK time-based loss detection on SACK connections (in
     * place of RFC 6675's DupThresh rule). Default on (as Linux
     * tcp_recovery); SF_TCP_RACK per socket. */
    bool rack;
    /* Sender pacing, as Linux's internal TCP pacing: data leaves at most
     * at 200 % (slow start) or 120 % (congestion avoidance) of cwnd/SRTT,
     * in bursts of about 1 ms (at least 2 segments), in the first slow
     * start and while SRTT >= 5/4 of the smallest RTT (a queue on the
     * path); SACK recovery is not paced. Default on (as Linux with the fq qdisc): unpaced
     * bursts overflow a bottleneck queue of one BDP again and again
     * (bench/README.md, Paths); SF_TCP_PACING and SF_SO_MAX_PACING_RATE
     * per socket. */
    bool pacing;
    /* This stack's (first) IPv6 address (network byte order), all zero
     * for none. A stack has an IPv4 address (addr), an IPv6 one, or both,
     * and more of either with sf_stack_addr_add; a datagram to an address
     * it does not own is dropped (IP_ADDR, IP6_ADDR). The IPv6 MSS
     * is mss - 20 (RFC 8200's header is 20 bytes longer: MTU - 60). */
    uint8_t addr6[16];
    /* How long a SYN deferred by a listener's filter (SF_SYN_DEFER) waits
     * for sf_syn_decide; then it is forgotten silently (counted). 1 ms to
     * 1 hour; default 30 s. */
    sf_time_t syn_defer_timeout;
    /* A memory limit for the whole stack (as Linux's tcp_mem), in bytes:
     * the send and receive buffer storages (with the cache of idle ones),
     * the out-of-order range lists, the connections' TCBs, SYN-queue
     * entries and TIME_WAIT records together stay at or below it. 0 (the
     * default): no limit. Otherwise at least rcvbuf plus sndbuf plus
     * 16384 (SF_MEM_MIN), one connection's two buffers; autotuning then grows a buffer to
     * at most 1/128 of the pressure level (as Linux's tcp_rmem[2] from
     * tcp_mem), never below rcvbuf/sndbuf. A buffer set with SO_RCVBUF or
     * SO_SNDBUF is the application's: one larger than the cap can never
     * be allocated. Above mem_pressure %
     * of it the stack is under pressure: buffers stop autotuning upward,
     * the idle storages are released, and windows are offered no larger
     * than 4 segments or the room of the storage held (the right edge
     * offered never moves left). At the limit an allocation is refused:
     * out-of-order data is pruned first (connections holding storage for
     * it alone), a segment that finds no buffer is dropped unacknowledged
     * (the peer sends it again), sf_send returns SF_EAGAIN (and the
     * socket gets a wakeup once memory is free again: SND_MEM_WOKEN,
     * even with nothing in flight to bring an ACK), and from the
     * first refusal until use falls back to the pressure level new SYNs
     * are dropped unanswered (the client retries). Counters MEM_* ,
     * OFO_PRUNED*, RCV_MEM_DROP, SYN_MEM_REFUSED, SND_MEM_WAIT show each
     * step; sf_stack_mem() the bytes. docs/stream.md has more. */
    uint64_t mem_max;      /* 0 */
    unsigned mem_pressure; /* 75 (percent of mem_max, 1..100) */
    /* What the device behind output does itself (SF_OFFLOAD_*; 0, the
     * default: nothing, every datagram is complete). sf_stack_set_offload
     * changes it; a TUN driver with offload sets it (sf_tun_run). */
    unsigned offload;
    /* RFC 1122 4.2.3.2, RFC 9293 3.8.6.3: the ACK of a FIN that moves an
     * ESTABLISHED connection to CLOSE_WAIT is delayed at most this long
     * (as Linux's delayed ACK in CLOSE_WAIT), so that the application's
     * own FIN, or data, sent meanwhile carries it: one segment fewer per
     * connection the peer closes first (a proxy passes the FIN on and
     * answers with the far end's FIN a moment later). 0 (the default):
     * acknowledged at once. Below 500 ms (RFC 1122 4.2.3.2), kept to the
     * millisecond. */
    sf_time_t fin_ack_delay;
    /* Optional: a datagram in pieces, for a driver that writes them with
     * writev or copies them once into a buffer of its own. When set, each
     * TCP segment carrying data goes out through it instead of output (ctx
     * is output_ctx), without the copy of its payload out of the send
     * buffer: v[0] holds the IP and TCP headers (options included), then
     * the payload as one or two slices of the connection's send ring (two
     * where it wraps); n is 2 or 3 and no piece is empty. The datagram is
     * the pieces in order, byte for byte what output would get (checksum
     * complete, or with SF_OFFLOAD_TX_CSUM the pseudo-header sum). Every
     * other datagram still goes through output. Without output_flush the
     * pieces, like output's buffer, are valid only during the call, and
     * the callback may not call into the stack. NULL (the default): output
     * only. */
    void (*output_gather)(void *ctx, const struct sf_piece *v, size_t n);
    /* Optional, with output_gather: the payload slices (v[1], v[2]) of the
     * gathered datagrams stay valid and unchanged after the call, until
     * the stack calls output_flush (ctx is output_ctx): it does before a
     * send ring's storage grows (it may move) or is freed (all data
     * acknowledged, the connection closed or reset, the stack freed). A
     * driver may then keep the slices and write several datagrams' payload
     * from them at once (a GSO packet by writev: src/link/tun.c) instead
     * of copying it; when output_flush is called it must be done with all
     * of them (write them, or copy what it still holds). v[0], the
     * headers, is valid only during the output_gather call either way.
     * The callback may not call into the stack. */
    void (*output_flush)(void *ctx);
    /* Optional, with output_gather and SF_OFFLOAD_TSO | SF_OFFLOAD_TX_CSUM
     * in offload: a run of full-sized new data segments may go out as one
     * datagram through this instead (ctx is output_ctx; v and n as
     * output_gather's, the same rules for keeping the slices): its
     * payload is k >= 2 segments of seg bytes each, at most 65,435 bytes
     * in all, and its headers are the first segment's with the IP length
     * of the whole. The device cuts it into the k segments the stack would
     * have sent one by one (TCP segmentation offload; virtio 1.x 5.1.6.2
     * gso_size): the same headers, the IPv4 ID and the sequence number
     * advanced for each, PSH only on the last (which has it only if the
     * datagram has), CWR only on the first, every checksum completed.
     * Never with a FIN or a retransmission, and not while cfg.trace is
     * set (the trace shows each segment as the wire carries it). Counted
     * as SEG_OUT once a segment, and TSO_OUT once a call. NULL (the
     * default): one segment a datagram. */
    void (*output_gso)(void *ctx, const struct sf_piece *v, size_t n,
                       size_t seg);
};

/* sf_stack_cfg.offload: the device completes TCP checksums (a TUN device
 * with IFF_VNET_HDR and TUN_F_CSUM; virtio 1.x 5.1.6.2 NEEDS_CSUM), so
 * every TCP segment handed to output carries in its checksum field only
 * the pseudo-header sum (RFC 9293 3.1; RFC 8200 8.1 over IPv6), folded
 * and not complemented, and the device adds the bytes from the TCP header
 * (csum_start) on and stores the result at csum_start + 16. The trace's
 * SEG_OUT datagrams are the same. Counted as CSUM_OUT_PARTIAL. */
#define SF_OFFLOAD_TX_CSUM 1u
/* sf_stack_cfg.offload: the device segments (a TUN device with TUN_F_TSO4
 * and TUN_F_TSO6): with SF_OFFLOAD_TX_CSUM and cfg.output_gso, runs of
 * full-sized segments go out through output_gso as one datagram. Without
 * both it changes nothing. */
#define SF_OFFLOAD_TSO 2u

/* Fills cfg with the defaults above (addr, output and seed left zero). */
void sf_stack_cfg_default(struct sf_stack_cfg *cfg);

/* NULL if cfg is acceptable to sf_stack_create, else a message naming the
 * first setting that is not (e.g. "mss must be 64..65495: ..."). */
const char *sf_stack_cfg_check(const struct sf_stack_cfg *cfg);
/* Creates a stack at time now. Returns 0, SF_EINVAL (a setting is out of
 * range: sf_stack_cfg_check says which) or SF_ENOMEM. */
int sf_stack_create(const struct sf_stack_cfg *cfg, sf_time_t now,
                    struct sf_stack **out);
/* Frees the stack and every socket in it, sending nothing. */
void sf_stack_free(struct sf_stack *st);

/* Hands one IPv4 or IPv6 datagram (told apart by the version nibble) to
 * the stack at time now. Any answer goes out through cfg.output before
 * this returns. */
void sf_stack_input(struct sf_stack *st, sf_time_t now, const uint8_t *dgram,
                    size_t len);
/* sf_stack_input with what the device knows of the datagram (flags 0:
 * the same). SF_IN_CSUM_VALID: the TCP checksum need not be checked,
 * because it comes from this host's own kernel, which never computed it
 * (virtio 1.x 5.1.6.2 VIRTIO_NET_HDR_F_NEEDS_CSUM: the field may hold
 * only the pseudo-header sum), or the device checked it
 * (VIRTIO_NET_HDR_F_DATA_VALID). Counted as CSUM_IN_SKIPPED; every other
 * check (lengths, header checksum, offsets) stays, and the trace's
 * SEG_IN datagram is passed on as it came. */
#define SF_IN_CSUM_VALID 1u
/* SF_IN_BATCH: the datagram is one of a batch the driver hands in at
 * once (a read of everything the device held), and it calls
 * sf_stack_advance when the batch is in. An ACK that in-order data calls
 * for at once (RFC 5681 4.2: at least every second full-sized segment)
 * may then wait for that call, so that it covers what the rest of the
 * batch brings (RFC 9293 3.10.7.4, MUST-58 and MUST-59: a series of
 * queued segments is processed before any ACK is sent): one ACK a batch
 * for a flow, as a receive offload (GRO) that had merged the batch would
 * send, instead of one a datagram. The TUN and AF_XDP drivers set it. Only
 * while less than half the window last offered is owed; ACKs that must
 * go at once for other reasons (out-of-order data, a gap filled, a FIN,
 * a window probe) are not held. Counted as ACK_BATCHED. */
#define SF_IN_BATCH 2u /* (other bits are ignored) */
void sf_stack_input_flags(struct sf_stack *st, sf_time_t now,
                          const uint8_t *dgram, size_t len, unsigned flags);
/* Sets cfg.offload (SF_OFFLOAD_*) from the next datagram sent on. Returns
 * 0, or SF_EINVAL (and changes nothing) for a bit that is no
 * SF_OFFLOAD_*. */
int sf_stack_set_offload(struct sf_stack *st, unsigned offload);
/* Moves the stack's clock to now, fires every timer due, and returns the
 * time the stack next wants to be called (SF_TIME_NEVER if none). */
sf_time_t sf_stack_advance(struct sf_stack *st, sf_time_t now);
/* The stack's current time. */
sf_time_t sf_stack_now(const struct sf_stack *st);

const struct sf_counters *sf_stack_counters(const struct sf_stack *st);
const struct sf_stack_cfg *sf_stack_config(const struct sf_stack *st);

/* ------------------------------------------------------------- sockets */

/* Option levels and names (values are synfin's own). */
#define SF_SOL_SOCKET 1
#define SF_IPPROTO_TCP 6

#define SF_SO_REUSEADDR 2
#define SF_SO_ERROR 4
#define SF_SO_KEEPALIVE 9
#define SF_SO_LINGER 13
#define SF_SO_SNDBUF 7
#define SF_SO_RCVBUF 8

#define SF_TCP_NODELAY 1
#define SF_TCP_MAXSEG 2
#define SF_TCP_KEEPIDLE 4
#define SF_TCP_KEEPINTVL 5
#define SF_TCP_KEEPCNT 6
#define SF_TCP_USER_TIMEOUT 18
/* synfin's own: RFC 7323 window scaling / timestamps offered (int 0/1);
 * set before connect() or listen(). */
#define SF_TCP_WSCALE 40
#define SF_TCP_TIMESTAMPS 41
/* SO_SNDBUF / SO_RCVBUF take 1 .. SF_BUF_MAX bytes (RFC 7323 2.3: a
 * scaled window reaches at most 2^30). */
#define SF_BUF_MAX (256u * 1024 * 1024)
/* int, 0 or 1: offer/accept RFC 2018 SACK on this socket's connections
 * (set before connect/listen; default cfg.sack). */
#define SF_TCP_SACK 0x5ac
/* synfin's own: RFC 3168 ECN for this socket, 0..2 as sf_stack_cfg.ecn
 * (set before connect/listen; a listener's children take its value). */
#define SF_TCP_ECN 0x5ec
/* synfin's own: int, 0 or 1: RFC 8985 RACK loss detection (default
 * cfg.rack); only SACK connections use it. */
#define SF_TCP_RACK 0x5ac8
/* The congestion control algorithm by name, as Linux's TCP_CONGESTION:
 * set takes the name's bytes ("cubic", "reno"; SF_ENOENT for an unknown
 * one), get returns up to SF_TCP_CA_NAME_MAX bytes, NUL-padded. */
#define SF_TCP_CONGESTION 13
#define SF_TCP_CA_NAME_MAX 16
/* synfin's own: int, 0 or 1: pace this socket's data (default
 * cfg.pacing); takes effect at once. */
#define SF_TCP_PACING 0x9ace
/* As Linux SO_MAX_PACING_RATE (SOL_SOCKET): int, the highest pacing rate
 * in bytes per second; setting a limit also turns pacing on for the
 * socket (as Linux does); -1 (Linux's ~0U) or 0: no limit. */
#define SF_SO_MAX_PACING_RATE 47
/* IPPROTO_IPV6 level, IPV6_V6ONLY (int 0/1, default 0, set before bind):
 * a socket bound to :: listens (or connects) over IPv6 only; off, it
 * takes IPv4 too and shows IPv4 peers as ::ffff:a.b.c.d (as Linux,
 * RFC 3493 5.3). Values as Linux's. */
#define SF_IPPROTO_IPV6 41
#define SF_IPV6_V6ONLY 26

struct sf_linger {
    int l_onoff;
    int l_linger; /* seconds; 0 with l_onoff means abort with RST on close */
};

/* shutdown() how */
#define SF_SHUT_RD 0
#define SF_SHUT_WR 1
#define SF_SHUT_RDWR 2

/* recv()/send() flags */
#define SF_MSG_PEEK 0x02

/* sf_poll() events */
#define SF_POLLIN 0x001
#define SF_POLLOUT 0x004
#define SF_POLLERR 0x008
#define SF_POLLHUP 0x010
#define SF_POLLRDHUP 0x2000

/* Creates a TCP socket; returns its descriptor (>= 0) or an error. */
int sf_socket(struct sf_stack *st);
/* Binds to a local address; ip 0 means the stack's address, port 0 an
 * ephemeral port. :: (family SF_AF_INET6, ip6 all zero) binds to the
 * stack's IPv6 address, and also to its IPv4 one unless SF_IPV6_V6ONLY is
 * set (a dual-stack socket); ::ffff:a.b.c.d binds to IPv4 a.b.c.d. */
int sf_bind(struct sf_stack *st, int sd, const struct sf_addr *local);
/* Passive OPEN (RFC 9293 3.10.1). */
int sf_listen(struct sf_stack *st, int sd, int backlog);
/* Returns a new descriptor for an established connection, or SF_EAGAIN. */
int sf_accept(struct sf_stack *st, int sd, struct sf_addr *peer);
/* Active OPEN: sends a SYN and returns SF_EINPROGRESS. Calling it again
 * returns SF_EALREADY while connecting, 0 once connected (the first time),
 * SF_EISCONN after, or the error that ended the attempt. A multicast
 * (224.0.0.0/4) or limited broadcast (255.255.255.255) remote address is
 * SF_ENETUNREACH (RFC 9293 MUST-46); a 4-tuple still in use, TIME_WAIT
 * included, SF_EADDRNOTAVAIL (MUST-13). */
int sf_connect(struct sf_stack *st, int sd, const struct sf_addr *remote);
/* SEND (3.10.2): queues up to len bytes, returns how many or an error. */
long sf_send(struct sf_stack *st, int sd, const void *buf, size_t len,
             int flags);
/* RECEIVE (3.10.3): returns bytes read, 0 at end of stream, or an error
 * (SF_EAGAIN when nothing is ready yet). */
long sf_recv(struct sf_stack *st, int sd, void *buf, size_t len, int flags);
/* Zero-copy RECEIVE and SEND, for a relay that moves bytes between a
 * connection and a kernel socket (readv/writev/sendmsg on the slices)
 * without a copy of its own. A slice of a connection's buffer: */
struct sf_iov {
    void *base;
    size_t len;
};
/* sf_recv in place: points v[0] at up to len bytes at the head of sd's
 * receive buffer and, where the buffer wraps, v[1] at the rest (else its
 * len is 0); nothing is taken yet. Returns the total, or what sf_recv
 * would (0 at end of stream, SF_EAGAIN, an error). The slices stay valid
 * until the next call into the stack. */
long sf_recv_view(struct sf_stack *st, int sd, struct sf_iov v[2],
                  size_t len);
/* Takes the first n bytes sf_recv_view showed, as sf_recv would have
 * (the window opens). 0, or SF_EINVAL if n is more than is there. */
long sf_recv_done(struct sf_stack *st, int sd, size_t n);
/* sf_send in place: points v[0] (and v[1] where the buffer wraps) at up
 * to len bytes of free room at the tail of sd's send buffer, for the
 * caller to fill; nothing is queued yet. Returns the total, or what
 * sf_send would (SF_EAGAIN when full or at the memory cap, SF_EPIPE...).
 * Then, before any other call into the stack, sf_send_commit queues the
 * first n bytes written there. The buffer's storage grows to hold what
 * is asked (it is sized to the bytes it holds, 4 KB at first, doubling):
 * ask for about what you will write, not the whole buffer, where memory
 * counts (tun2socks asks 4 KB, twice as much while its reads fill it). */
long sf_send_reserve(struct sf_stack *st, int sd, struct sf_iov v[2],
                     size_t len);
/* Queues n bytes of the room sf_send_reserve showed (SEND, 3.10.2);
 * returns n, SF_EPIPE if the connection can no longer send, or SF_EINVAL
 * if n is more than was shown or the reservation is void (another call
 * came between). n 0 with nothing queued gives the storage the
 * reservation took back (a relay that reserves before a read that may
 * bring nothing commits 0 then, so that an idle connection holds none). */
long sf_send_commit(struct sf_stack *st, int sd, size_t n);
/* sf_recv then sf_send with one copy, for a relay between two connections
 * or an echo (from == to): moves up to len bytes from the head of from's
 * receive buffer to the tail of to's send buffer, except that what to
 * cannot take now stays unread in from (its window stays closed:
 * backpressure). Returns the count moved (> 0); 0 at from's end of
 * stream (its FIN read, nothing left); SF_EAGAIN when from has nothing
 * to read or to has no room (full, or at the memory cap: to then gets
 * the wakeup sf_send's SF_EAGAIN there gives); else an error, SF_EBADF
 * if either descriptor is bad. from is asked first: while it has no byte
 * to move, what sf_recv on it would return is returned (0, SF_EAGAIN,
 * SF_ENOTCONN, SF_ECONNRESET...) and to is not looked at; with bytes to
 * move, what sf_send on to would return (SF_EPIPE, SF_ENOTCONN,
 * SF_ECONNRESET...) is, and nothing is taken from from. len 0 returns 0
 * (or from's error), as sf_recv. Like any call it voids the slices of
 * an sf_recv_view and a reservation of sf_send_reserve. */
long sf_splice(struct sf_stack *st, int from, int to, size_t len);
int sf_shutdown(struct sf_stack *st, int sd, int how);
/* CLOSE (3.10.4), or ABORT (3.10.5) when SO_LINGER is on with 0 seconds.
 * The descriptor is released at once; the connection lives on as needed. */
int sf_close(struct sf_stack *st, int sd);
int sf_setsockopt(struct sf_stack *st, int sd, int level, int name,
                  const void *val, size_t len);
int sf_getsockopt(struct sf_stack *st, int sd, int level, int name, void *val,
                  size_t *len);
/* Returns the SF_POLL* events ready on sd (SF_POLLERR|SF_POLLHUP on a bad
 * descriptor). */
unsigned sf_poll(struct sf_stack *st, int sd);
int sf_getsockname(struct sf_stack *st, int sd, struct sf_addr *a);
int sf_getpeername(struct sf_stack *st, int sd, struct sf_addr *a);

/* STATUS (3.10.6). */
struct sf_tcp_info {
    enum sf_state state;
    int sd; /* -1 once the application has closed it */
    struct sf_addr local, remote;
    uint32_t iss, irs;
    uint32_t snd_una, snd_nxt, snd_wnd, snd_mss;
    uint32_t rcv_nxt, rcv_wnd;
    uint32_t sndq, rcvq; /* bytes queued to send (unsent + unacked) / read */
    sf_time_t rto;
    unsigned retransmits; /* consecutive, of the current segment */
    enum sf_timer_kind timer; /* the earliest running timer */
    sf_time_t timer_expires;
    int error; /* pending SO_ERROR */
    uint32_t snd_cwnd, snd_ssthresh; /* bytes (RFC 5681); 0 before sync */
    /* RFC 7323: shifts in use (0 when not negotiated), timestamps on,
     * and the buffer sizes now (autotuning may have grown them). */
    uint8_t snd_wscale, rcv_wscale;
    bool wscale_ok, ts_ok;
    uint32_t sndbuf, rcvbuf;
    /* RFC 6298 2: the smoothed round-trip time and its variation, in
     * microseconds; 0 before the first measurement (and for listeners,
     * SYN-queue entries and TIME_WAIT records). */
    uint32_t srtt_us, rttvar_us;
    /* The bytes of storage the send and receive rings hold now: sized to
     * what they hold, not to sndbuf/rcvbuf (docs/stream.md, Buffers); 0
     * while a ring is empty. */
    uint32_t snd_mem, rcv_mem;
};
int sf_tcp_info(struct sf_stack *st, int sd, struct sf_tcp_info *info);
/* The same for the connection with this 4-tuple, whether or not it still
 * has a descriptor; SF_ENOENT when there is none. */
int sf_tcp_info_by_addr(struct sf_stack *st, const struct sf_addr *local,
                        const struct sf_addr *remote, struct sf_tcp_info *info);
/* Calls fn for every connection and listener; stops when fn returns
 * non-zero (and returns that value). */
int sf_stack_foreach(struct sf_stack *st,
                     int (*fn)(void *ctx, const struct sf_tcp_info *info),
                     void *ctx);
/* ABORT (RFC 9293 3.10.5) for every connection, held by a descriptor or
 * not (closed by the application and still ending, not yet accepted, or
 * a SYN-queue request): a RST to each peer from SYN_RCVD to CLOSE_WAIT
 * (a SYN held by SF_SYN_DEFER is refused), and every TCB deleted.
 * For a process that stops before its connections have ended, so that no
 * peer is left waiting on a stack that is gone (synfin serve and connect
 * when --grace runs out). Listeners and TIME_WAIT records stay; a
 * descriptor stays valid (its connection CLOSED) until sf_close. Returns
 * how many connections it aborted. */
int sf_stack_abort_all(struct sf_stack *st);

/* ------------------------------------------ any-destination accept */

/* IPPROTO_IP level, IP_TRANSPARENT (int 0/1, set before bind/listen; values
 * as Linux's): a listener with it on accepts connections to addresses the
 * stack does not own. Bound to the unspecified address (0.0.0.0, or :: for
 * both families unless SF_IPV6_V6ONLY) and port 0 it receives every SYN no
 * other socket claims, whatever its destination address and port; bound to
 * a port, every SYN to that port. The accepted connection's sf_getsockname
 * is the SYN's destination, and its segments leave from that address.
 * (docs/transparent.md) */
#define SF_IPPROTO_IP 0
#define SF_IP_TRANSPARENT 19

enum sf_syn_verdict {
    SF_SYN_ACCEPT = 0, /* answer with SYN-ACK as any listener */
    SF_SYN_REFUSE = 1, /* answer with RST (RFC 9293 3.10.7.2 as if no listener) */
    SF_SYN_DROP = 2,   /* answer nothing */
    SF_SYN_DEFER = 3,  /* hold the SYN unanswered; sf_syn_decide ends it */
};
struct sf_syn_info {
    struct sf_addr local;  /* the SYN's destination address and port */
    struct sf_addr remote; /* its source */
    uint64_t id;           /* names a deferred SYN in sf_syn_decide */
    bool cookie;           /* SYN queue full: answered statelessly; DEFER not allowed */
};
typedef enum sf_syn_verdict (*sf_syn_fn)(void *arg, const struct sf_syn_info *syn);
/* The listener's per-SYN decision (NULL: accept all, the default). Called
 * once per new SYN, not for retransmissions of a SYN already held. */
int sf_listen_filter(struct sf_stack *st, int sd, sf_syn_fn fn, void *arg);
/* Ends a deferred SYN: ACCEPT sends the SYN-ACK (the connection then
 * reaches sf_accept as usual), REFUSE sends a RST, DROP forgets it.
 * SF_ENOENT when the id is unknown (expired, or the SYN-queue entry gone). */
int sf_syn_decide(struct sf_stack *st, uint64_t id, enum sf_syn_verdict v);
/* The buffer memory the stack holds now (cfg.mem_max says what counts),
 * its peak since creation, and the limits. */
struct sf_mem_info {
    uint64_t used, peak;
    uint64_t limit;       /* cfg.mem_max, 0 if none */
    uint64_t pressure_at; /* bytes above which the stack is under pressure */
    bool pressure;        /* under pressure now */
    bool full;            /* at the cap: new connections are refused */
    uint64_t idle;        /* of used: idle storages kept for reuse */
};
void sf_stack_mem(const struct sf_stack *st, struct sf_mem_info *out);
#define SF_MEM_MIN 16384u /* cfg.mem_max: at least this above rcvbuf + sndbuf */

/* ------------------------------------------------- local addresses */

/* A stack owns any number of local addresses of either family: cfg.addr
 * and cfg.addr6 (when set) are the first of their family, and these add
 * and remove others at run time (port ignored). A datagram to an address
 * the stack does not own is dropped (IP_ADDR, IP6_ADDR); sf_bind takes an
 * owned address or the unspecified one (SF_EADDRNOTAVAIL otherwise); a
 * listener on the unspecified address takes every owned address of its
 * family (both, dual-stack); connect() from an unbound socket (or one
 * bound to the unspecified address) leaves from the first owned address
 * of the remote's family.
 * sf_stack_addr_add: 0, SF_EINVAL (unspecified, multicast, broadcast,
 * loopback or IPv4-mapped: not a host's unicast address), SF_EADDRINUSE
 * (owned already) or SF_ENOMEM.
 * sf_stack_addr_del: 0 or SF_EADDRNOTAVAIL (not owned). Connections and
 * sockets bound to the address stay, as on Linux: what they send still
 * leaves from it, but what arrives for it is dropped from then on, so
 * they end by their own timeouts (or their application's close). */
int sf_stack_addr_add(struct sf_stack *st, const struct sf_addr *a);
int sf_stack_addr_del(struct sf_stack *st, const struct sf_addr *a);
/* Copies up to max owned addresses into out (in order: added first,
 * first); returns how many the stack owns. */
size_t sf_stack_addrs(const struct sf_stack *st, struct sf_addr *out,
                      size_t max);

#ifdef __cplusplus
}
#endif
#endif
