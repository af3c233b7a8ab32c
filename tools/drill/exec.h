/* drill executor internals shared by exec.c (clock, events, verdict),
 * seg.c (segments in and out) and calls.c (system calls). */
#ifndef SF_TOOLS_DRILL_EXEC_H
#define SF_TOOLS_DRILL_EXEC_H

#include "drill/drill.h"
#include "synfin/wire.h"

#define DRILL_STACK_IP 0xc6120001u /* 198.18.0.1 */
#define DRILL_PEER_IP 0xc6120002u  /* 198.18.0.2 */
/* --ip_version=ipv6: 2001:db8::1 and 2001:db8::2 (RFC 3849's
 * documentation prefix) */
#define DRILL_STACK_IP6 \
    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
#define DRILL_PEER_IP6 \
    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}
/* --dst_addr=foreign: an address that is not the stack's */
#define DRILL_FOREIGN_IP 0xc6130001u /* 198.19.0.1 */
#define DRILL_FOREIGN_IP6 \
    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99}
#define DRILL_PORT 8080
#define DRILL_PEER_PORT 40000
#define DRILL_PEER_ISN 0xfffffc00u
#define DRILL_MAX_FDS 64

struct drill_out { /* a datagram the stack emitted, not yet consumed */
    sf_time_t t;
    uint8_t *buf;
    size_t len;
};

/* One connection the script has seen, named by its 4-tuple (packetdrill
 * keeps these per socket): the stack's ISN, learned from the first SYN it
 * emitted on that 4-tuple. Outbound SEQ and inbound ACK count from it. */
struct drill_conn {
    struct sf_addr local, remote;
    bool have_isn;
    uint32_t isn;
    /* TCP timestamps, as packetdrill keeps them per socket: the first
     * outbound TS val the script wrote and the stack sent (the offset
     * between the two clocks), and every script TS val -> stack TS val
     * pair seen, which inbound TS ecr values are mapped through. */
    bool have_ts;
    uint32_t ts_script0, ts_actual0;
    struct drill_tsmap { uint32_t script, actual; } *tsmap;
    size_t ntsmap, tsmapcap;
};

struct drill_fd {
    bool used, nonblock;
    int sd;
    uint64_t wrote; /* bytes written so far: the pattern offset */
    uint64_t read;
};

struct drill_runner {
    struct drill_ctx *ctx;
    const struct drill_script *sc;
    struct sf_stack_cfg cfg;
    struct sf_stack *st;
    sf_time_t now, next;  /* virtual clock; the stack's next deadline */
    sf_time_t tol;        /* tolerance, ns */
    sf_time_t last_script; /* script time of the previous event, ns */
    struct drill_out *q;
    size_t qhead, qlen, qcap;
    struct drill_fd fds[DRILL_MAX_FDS];
    bool have_tuple;
    struct sf_addr local, remote; /* the driven connection */
    uint16_t defaults_used;       /* default 4-tuples used: peer ports */
    struct drill_conn *conns;     /* every 4-tuple seen, in order */
    size_t nconns, conncap;
    /* a blocking call in progress */
    const struct drill_event *pending;
    sf_time_t pend_start, pend_end;
    int line;   /* the script line being run, for messages */
    /* --in_batch: the next event is an inbound segment at the same
     * instant, so the stack is not advanced after this one */
    bool batch_more;
    bool *seen; /* coverage: transitions this script exercised */
    bool failed;
};

/* Records the first failure of the script: prints FAIL file:line: what,
 * then the expected and actual lines (either may be NULL). */
void drill_fail(struct drill_runner *r, int line, const char *what,
                const char *expected, sf_time_t exp_t, const char *actual,
                sf_time_t act_t);

/* seg.c */
void drill_seg_inject(struct drill_runner *r, const struct drill_event *ev);
/* Checks the datagram against the script's > line; returns true if it
 * matches, else fills why with the first difference. */
bool drill_seg_match(struct drill_runner *r, const struct drill_seg *want,
                     const uint8_t *buf, size_t len, char *why, size_t n);
/* Formats the script's segment / an actual datagram as packetdrill does. */
void drill_seg_fmt_script(const struct drill_seg *s, char *out, size_t n);
void drill_seg_fmt_dgram(struct drill_runner *r, const uint8_t *buf,
                         size_t len, char *out, size_t n);
/* The same for the `actual:` line of a failed `>` line: the ECN mark shown
 * whenever the script wrote one, an outbound TS val in the script's clock
 * (once the connection's TS offset is known). */
void drill_seg_fmt_actual(struct drill_runner *r, const struct drill_seg *want,
                          const uint8_t *buf, size_t len, char *out, size_t n);
/* Writes the options, in order, EOL-padded to a multiple of 4; returns
 * the length (at most SF_TCP_OPT_MAX). */
size_t drill_seg_build_opts(const struct drill_opt *opts, size_t n, uint8_t *out);
/* An inbound line's options with the stack's numbers (SACK edges plus its
 * ISN, TS ecr mapped to the TS val the stack sent); false with a reason if
 * a TS ecr cannot be mapped. out holds s->nopts entries. */
bool drill_seg_map_inbound(const struct drill_runner *r,
                           const struct drill_seg *s, struct drill_opt *out,
                           char *why, size_t n);
/* selftest.c: the option and ECN machinery on hand-made datagrams (the
 * stack sends no timestamps or SACKs yet); prints ok / not ok lines and
 * returns the number of failures. */
int drill_selftest(void);
/* Frees what seg.c keeps per connection. */
void drill_seg_free(struct drill_runner *r);
/* Learns the driven 4-tuple, and the stack's ISN on it from its first SYN,
 * from an emitted datagram. */
void drill_seg_learn(struct drill_runner *r, const uint8_t *buf, size_t len);
/* A new socket is the one under test (packetdrill's socket()): until the
 * stack emits a segment, inbound ones go to a new default 4-tuple. */
void drill_seg_new_socket(struct drill_runner *r);

/* The stack's and the peer's address on the wire (IPv6 under
 * --ip_version=ipv6, else IPv4), with the given port. */
struct sf_addr drill_stack_addr(const struct drill_runner *r, uint16_t port);
struct sf_addr drill_peer_addr(const struct drill_runner *r, uint16_t port);

/* calls.c: runs a call; returns true once it completed (checked and, on a
 * mismatch, failed), false while it would block. */
bool drill_call_run(struct drill_runner *r, const struct drill_event *ev,
                    bool may_block);
/* Makes sure the stack exists (created lazily at the first call or
 * segment, so that sysctl lines before it apply). */
bool drill_need_stack(struct drill_runner *r, int line);

#endif
