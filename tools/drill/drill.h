/* drill: the packetdrill-language runner. Internal interfaces between the
 * lexer (lexer.c), the parser (parser.c), the executor (exec.c, seg.c,
 * calls.c) and the command (drill.c). See tools/drill/README.md for the
 * conventions a script may rely on. */
#ifndef SF_TOOLS_DRILL_H
#define SF_TOOLS_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "synfin/synfin.h"

/* ----------------------------------------------------------------- lexer */

enum drill_tok {
    TK_EOF,
    TK_NUM,      /* 12, 0.5, .1, 0x1f (text kept) */
    TK_IDENT,    /* letters, digits, _ */
    TK_OPTION,   /* --name=value at the start of a line (text: name=value) */
    TK_CODE,     /* %{ ... }% (text: the inside) */
    TK_SHELL,    /* `...` (text: the inside) */
    TK_ELLIPSIS, /* ... */
    TK_PUNCT,    /* any other single character (text: that char) */
    TK_STRING    /* "..." on one line, no escapes (text: the inside) */
};

struct drill_token {
    enum drill_tok kind;
    char *text; /* owned, NUL-terminated */
    int line, col;
};

struct drill_tokens {
    struct drill_token *v;
    size_t n;
};

/* Splits src into tokens (comments dropped). On error returns -1 and
 * writes "line:col: error: ..." into err. */
int drill_lex(const char *src, struct drill_tokens *out, char *err,
              size_t errlen);
void drill_tokens_free(struct drill_tokens *t);

/* ------------------------------------------------------------ the script */

enum drill_time_kind { DT_ABS, DT_REL, DT_ANY };

/* A time as written. Microseconds, as packetdrill counts them. */
struct drill_time {
    enum drill_time_kind kind;
    int64_t us;        /* start (DT_ABS / DT_REL) */
    bool range;        /* a~b: the event must happen within [a, b] */
    bool blocking;     /* a...b: a blocking call started at a, ending at b */
    int64_t end_us;    /* b, in the same base as us */
};

/* An argument or result expression of a system call. */
enum drill_expr_kind {
    EX_ELLIPSIS, /* ... */
    EX_INT,      /* 42, -1 */
    EX_NAME,     /* SOCK_STREAM, ECONNRESET */
    EX_OR,       /* A|B|C: kids */
    EX_LIST,     /* [a, b]: kids */
    EX_STRUCT,   /* {f=a, g=b}: kids, each with a field name */
    EX_STRING    /* "cubic": name holds the text */
};

struct drill_expr {
    enum drill_expr_kind kind;
    int64_t num;
    char *name;  /* EX_NAME, EX_STRING */
    char *field; /* member of EX_STRUCT: its field name */
    struct drill_expr *kids;
    size_t nkids;
};

/* One TCP option in a script's <...> list, or read from a datagram.
 * OPT_UNKNOWN only comes from datagrams: v[0] its kind, v[1] its length. */
enum drill_opt_kind { OPT_NOP, OPT_EOL, OPT_MSS, OPT_WSCALE, OPT_SACKOK,
                      OPT_SACK, OPT_TS, OPT_UNKNOWN };
struct drill_opt {
    enum drill_opt_kind kind;
    uint32_t v[8]; /* mss; wscale; TS val, ecr; sack edges */
    uint8_t n;     /* sack: number of blocks */
};

/* Bytes the option takes on the wire (RFC 9293 3.1, RFC 7323, RFC 2018). */
size_t drill_opt_len(const struct drill_opt *o);

/* The IP ECN field as packetdrill writes it after the direction,
 * `< [ect0] S ...` (RFC 3168 5: Not-ECT 00, ECT(1) 01, ECT(0) 10, CE 11).
 * ECN_UNSET: not written (inbound: Not-ECT; outbound: not checked).
 * ECN_ECT01: outbound only, either ECT codepoint. */
enum drill_ecn { ECN_UNSET, ECN_NOECN, ECN_ECT0, ECN_ECT1, ECN_CE, ECN_ECT01 };

enum drill_opts_mode { OPTS_NONE, OPTS_ANY, OPTS_LIST };

struct drill_seg {
    bool inbound;
    uint8_t flags; /* SF_SYN ... */
    enum drill_ecn ecn;
    uint32_t seq, end, len;
    bool has_ack, has_win, has_urg;
    uint32_t ack, win, urg;
    enum drill_opts_mode opts_mode;
    struct drill_opt *opts;
    size_t nopts;
    /* synfin's own IP marks of an inbound line, beside the ECN one (in the
     * same brackets, comma-separated): IPv6 extension headers before TCP,
     * DRILL_EXT_* bits, and a TCP checksum made wrong */
    uint8_t ip6_ext;
    bool bad_csum;
    /* packetdrill's `< icmp unreachable frag_needed mtu N [S:E(L)]` (or
     * `icmp packet_too_big mtu N [...]`): an ICMP "too big" quoting the
     * stack's segment S:E(L) (seq, end, len above; relative to its ISN),
     * sent as ICMPv6 Packet Too Big on an IPv6 wire */
    bool icmp_too_big;
    uint32_t icmp_mtu;
    /* any other ICMP error line, `< icmp unreachable port_unreachable
     * [S:E(L)]` (or time_exceeded): the type and code sent on an IPv4
     * wire and on an IPv6 one (type 0: the line has no meaning there) */
    bool icmp_error;
    uint8_t icmp4_type, icmp4_code, icmp6_type, icmp6_code;
};
#define DRILL_EXT_HBH 1u    /* [hbh]: an empty Hop-by-Hop Options header */
#define DRILL_EXT_DSTOPT 2u /* [dstopt]: an empty Destination Options one */

struct drill_call {
    char *name;
    struct drill_expr *args;
    size_t nargs;
    struct drill_expr ret; /* expected result expression */
    char *errname;         /* expected errno name when ret is -1, or NULL */
};

enum drill_event_kind { EV_SEG, EV_CALL, EV_ASSERT, EV_SHELL };

struct drill_event {
    enum drill_event_kind kind;
    int line;
    struct drill_time time;
    struct drill_seg seg;   /* EV_SEG */
    struct drill_call call; /* EV_CALL */
    bool assert_eq;         /* EV_ASSERT: == (else !=) */
    enum sf_state assert_state;
    /* EV_SHELL: a sysctl mapped onto the config */
    int sysctl; /* enum drill_sysctl */
    int64_t sysctl_val;
    char *text; /* original code/shell text, for messages */
};

enum drill_sysctl { SYS_SYN_RETRIES, SYS_SYNACK_RETRIES, SYS_RETRIES1,
                    SYS_RETRIES2, SYS_FIN_TIMEOUT };

/* Stack settings a script may give as --name=value (applied to
 * sf_stack_cfg before the stack is created). */
enum drill_stack_setting {
    SET_MSS, SET_RTO_INITIAL_MS, SET_RTO_MIN_MS, SET_RTO_MAX_MS,
    SET_SYN_RETRIES, SET_SYNACK_RETRIES, SET_R1, SET_R2, SET_MSL_MS,
    SET_FIN_WAIT_2_TIMEOUT_MS, SET_CHALLENGE_ACK_LIMIT, SET_RCVBUF,
    SET_SNDBUF, SET_KEEPIDLE_MS, SET_KEEPINTVL_MS, SET_KEEPCNT,
    SET_DELACK_MS, SET_SYN_BACKLOG, SET_SYNCOOKIES, SET_REASS_MAX_RANGES,
    SET_INVALID_RATELIMIT_MS, SET_MAX_ORPHANS, SET_ORPHAN_RETRIES,
    SET_MIN_SND_MSS, SET_MAX_TW, SET_CC,
    SET_ECN, SET_SACK,
    /* RFC 7323 and autotuning: OFF in the runner unless the script says
     * (its scripts were written for a stack without them) */
    SET_WSCALE, SET_TIMESTAMPS, SET_RCVBUF_MAX, SET_SNDBUF_MAX,
    SET_RACK, /* RFC 8985 6 RACK: off in the runner unless --rack=1 */
    SET_PACING, /* sender pacing (pacing.c): off unless --pacing=1 */
    SET_MEM_MAX, SET_MEM_PRESSURE, /* cfg.mem_max, cfg.mem_pressure */
    SET_FIN_ACK_DELAY_MS, /* cfg.fin_ack_delay */
    SET_COUNT
};

/* Settings from --name=value lines or the command line. */
enum drill_ip_version { DRILL_IPV4, DRILL_IPV6, DRILL_IPV4_MAPPED };

struct drill_settings {
    int64_t tolerance_us;
    uint64_t seed;
    bool check_data;
    /* TCP timestamps, packetdrill's options: microseconds per outbound TS
     * val tick (0: TS val not checked); interpolate inbound TS ecr values
     * that echo no TS val the stack sent */
    int64_t ts_tick_us;
    bool ts_ecr_scaled;
    /* --in_batch: inbound segments at one instant go in as one device
     * batch (SF_IN_BATCH), the stack advanced after the last of them */
    bool in_batch;
    /* stack settings: set[i] tells whether val[i] was given */
    bool set[SET_COUNT];
    int64_t val[SET_COUNT];
    /* --ip_version (packetdrill's): the wire's family, and the
     * socket's: enum drill_ip_version */
    uint8_t ip_version;
    /* whether val[SET_MSS] came from --mtu (the device MTU, less 40) or
     * from --mss (the MSS itself): they differ over IPv6 */
    bool mss_is_mtu;
    /* --dst_addr=foreign: inbound segments go to an address the stack
     * does not own (DRILL_FOREIGN_IP) */
    bool dst_foreign;
};

struct drill_script {
    const char *path;
    struct drill_event *ev;
    size_t nev;
    struct drill_settings settings;
};

/* Applies one --name=value; returns 0, or -1 with a message in err. */
int drill_setting(struct drill_settings *s, const char *nameval, char *err,
                  size_t errlen);
void drill_settings_default(struct drill_settings *s);
/* One line per setting (name, what it is, its range), for --help. */
void drill_settings_help(FILE *f);
struct sf_stack_cfg;
void drill_settings_apply(const struct drill_settings *s,
                          struct sf_stack_cfg *cfg);

/* Parses a whole file's text. settings must already hold the command-line
 * defaults; the script's own --options override them. On error returns -1
 * and writes "path:line:col: error: ..." into err. */
int drill_parse(const char *path, const char *src, struct drill_script *sc,
                char *err, size_t errlen);
void drill_script_free(struct drill_script *sc);

/* ------------------------------------------------------------- executor */

struct drill_ctx {
    bool verbose;
    /* coverage: per transition, the number of scripts that exercised it */
    bool coverage;
    unsigned *cover;
    size_t ntrans;
};

/* Runs one parsed script on a fresh stack. Prints PASS/FAIL lines. Returns
 * true if it passed. */
bool drill_run(struct drill_ctx *ctx, const struct drill_script *sc);

/* Names: value of a symbolic constant (SOCK_STREAM, O_NONBLOCK, EAGAIN,
 * POLLIN, ...). Returns false if unknown. */
bool drill_symbol(const char *name, int64_t *val);
/* Evaluates an int-valued expression (INT, NAME, OR, [x]). */
bool drill_eval(const struct drill_expr *e, int64_t *val);

#endif
