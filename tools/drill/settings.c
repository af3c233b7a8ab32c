/* drill settings (--name=value) and the symbolic constants scripts use in
 * system calls (SOCK_STREAM, O_NONBLOCK, EAGAIN, POLLIN, ...). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"

/* The settings: one table, read by one parser (drill_setting), in the
 * manner of the command's option tables (tools/synfin/opt.h). A row names
 * a setting, says what value it takes (kind, range) and where the value
 * goes: a field of struct drill_settings (the runner's own), or a stack
 * setting's slot val[slot], which drill_settings_apply copies into the
 * sf_stack_cfg field the row names. A new setting is one row (and, for
 * the stack, one SET_* slot in drill.h). */
enum set_kind {
    SK_INT,  /* an integer (strtoll, any base) in lo..hi */
    SK_FLAG, /* --name alone or --name=V: true unless V is "0" */
    SK_WORD, /* one of words[]: stores vals[i] */
};

enum set_dest {
    SD_NONE,   /* checked, stored nowhere */
    SD_RUNNER, /* the struct drill_settings field at off, as `as` */
    SD_STACK,  /* val[slot] (set[slot] = true); applied to the
                  sf_stack_cfg field at off, as `as` (AS_NONE: the row
                  only fills the slot another row applies) */
};

/* How a value is stored at off. */
enum set_as { AS_NONE, AS_BOOL, AS_U8, AS_U16, AS_U32, AS_UINT, AS_I64,
              AS_U64, AS_TIME_MS, AS_CC };

struct setting {
    const char *name;
    enum set_kind kind;
    int64_t lo, hi;                  /* SK_INT */
    const char *const *words;        /* SK_WORD, NULL-terminated */
    const int64_t *vals;             /* SK_WORD */
    enum set_dest dest;
    int slot;                        /* SD_STACK: SET_* */
    int64_t add;                     /* added before storing (--mtu: -40) */
    size_t off;
    enum set_as as;
    const char *why;  /* a bad value's rule, else "must be LO to HI" */
    const char *help; /* --help's text */
};

/* The largest millisecond count that fits sf_time_t's nanoseconds. */
#define MS_MAX ((int64_t)(UINT64_MAX / SF_MSEC))

#define STACK(n, s, f, a, l, h, text)                                     \
    {.name = n, .kind = SK_INT, .lo = l, .hi = h, .dest = SD_STACK,       \
     .slot = s, .off = offsetof(struct sf_stack_cfg, f), .as = a,         \
     .help = text}
#define STACK_BOOL(n, s, f, text) STACK(n, s, f, AS_BOOL, 0, 1, text)
#define STACK_MS(n, s, f, text) STACK(n, s, f, AS_TIME_MS, 0, MS_MAX, text)
#define STACK_UINT(n, s, f, text) STACK(n, s, f, AS_UINT, 0, UINT_MAX, text)
#define RUNNER(n, k, f, a, l, h, text)                                    \
    {.name = n, .kind = k, .lo = l, .hi = h, .dest = SD_RUNNER,           \
     .off = offsetof(struct drill_settings, f), .as = a, .help = text}

/* packetdrill's: the wire's family, and the socket's */
static const char *const ip_words[] = {"ipv4", "ipv6", "ipv4-mapped-ipv6",
                                       NULL};
static const int64_t ip_vals[] = {DRILL_IPV4, DRILL_IPV6, DRILL_IPV4_MAPPED};
/* --dst_addr */
static const char *const dst_words[] = {"stack", "foreign", NULL};
static const int64_t dst_vals[] = {0, 1};
/* the stack's congestion control, named as TCP_CONGESTION names it */
static const char *const cc_words[] = {"cubic", "reno", NULL};
static const int64_t cc_vals[] = {SF_CC_CUBIC, SF_CC_RENO};

static const struct setting settings[] = {
    /* the runner's own */
    RUNNER("tolerance_usecs", SK_INT, tolerance_us, AS_I64, 0, INT64_MAX,
           "how far (us) an outbound segment may be from its time (4000)"),
    RUNNER("seed", SK_INT, seed, AS_U64, 0, INT64_MAX,
           "the stack's random seed (1)"),
    RUNNER("check_data", SK_FLAG, check_data, AS_BOOL, 0, 0,
           "check the bytes read() returns"),
    RUNNER("tcp_ts_tick_usecs", SK_INT, ts_tick_us, AS_I64, 0, 1000000,
           "us per outbound TS val tick (0: TS val not checked)"),
    RUNNER("tcp_ts_ecr_scaled", SK_FLAG, ts_ecr_scaled, AS_BOOL, 0, 0,
           "interpolate inbound TS ecr values that echo no TS val sent"),
    RUNNER("in_batch", SK_FLAG, in_batch, AS_BOOL, 0, 0,
           "inbound segments at one instant go in as one batch (SF_IN_BATCH)"),
    {.name = "ip_version", .kind = SK_WORD, .words = ip_words,
     .vals = ip_vals, .dest = SD_RUNNER,
     .off = offsetof(struct drill_settings, ip_version), .as = AS_U8,
     .help = "ipv4 (the default), ipv6 or ipv4-mapped-ipv6"},
    /* packetdrill's --mtu: the device MTU. The MSS the stack advertises
     * and the largest segment it sends follow it: MTU less the 20-byte
     * IPv4 and 20-byte TCP headers (RFC 9293 3.7.1; over IPv6 the stack
     * takes 20 more off for its longer header). The stack takes an
     * MSS of 64 at least (sf_stack_create). */
    {.name = "mtu", .kind = SK_INT, .lo = 64 + 40, .hi = 65535,
     .dest = SD_STACK, .slot = SET_MSS, .add = -40, .as = AS_NONE,
     .why = "the MTU must be 104 to 65535 (the stack's MSS, MTU - 40, is "
            "at least 64)",
     .help = "the device MTU: the same as --mss=MTU-40 (MTU-60 over IPv6)"},
    /* the stack's, applied to sf_stack_cfg */
    STACK("mss", SET_MSS, mss, AS_U16, 0, UINT16_MAX,
          "the MSS the stack advertises"),
    STACK_MS("rto_initial_ms", SET_RTO_INITIAL_MS, rto_initial,
             "the first RTO, ms"),
    STACK_MS("rto_min_ms", SET_RTO_MIN_MS, rto_min,
             "the smallest RTO, ms (runner's default 1000)"),
    STACK_MS("rto_max_ms", SET_RTO_MAX_MS, rto_max, "the largest RTO, ms"),
    STACK_UINT("syn_retries", SET_SYN_RETRIES, syn_retries, "SYN retransmissions"),
    STACK_UINT("synack_retries", SET_SYNACK_RETRIES, synack_retries,
               "SYN-ACK retransmissions"),
    STACK_UINT("r1", SET_R1, r1, "RFC 1122 4.2.3.5 R1, retransmissions"),
    STACK_UINT("r2", SET_R2, r2, "RFC 1122 4.2.3.5 R2, retransmissions"),
    STACK_MS("msl_ms", SET_MSL_MS, msl, "the MSL (TIME_WAIT: 2 MSL), ms"),
    STACK_MS("fin_wait_2_timeout_ms", SET_FIN_WAIT_2_TIMEOUT_MS,
             fin_wait_2_timeout,
             "FIN_WAIT_2 of an orphan at most, ms"),
    STACK_UINT("challenge_ack_limit", SET_CHALLENGE_ACK_LIMIT,
               challenge_ack_limit, "RFC 5961 challenge ACKs per second"),
    STACK("rcvbuf", SET_RCVBUF, rcvbuf, AS_U32, 0, UINT32_MAX,
          "receive buffer, bytes"),
    STACK("sndbuf", SET_SNDBUF, sndbuf, AS_U32, 0, UINT32_MAX,
          "send buffer, bytes"),
    STACK_MS("keepidle_ms", SET_KEEPIDLE_MS, keepidle, "keepalive idle time, ms"),
    STACK_MS("keepintvl_ms", SET_KEEPINTVL_MS, keepintvl, "keepalive probe interval, ms"),
    STACK_UINT("keepcnt", SET_KEEPCNT, keepcnt, "keepalive probes"),
    STACK_MS("delack_ms", SET_DELACK_MS, delack,
             "delayed ACKs at most this late, ms"),
    STACK_UINT("syn_backlog", SET_SYN_BACKLOG, syn_backlog,
               "SYN queue entries per listener"),
    STACK_BOOL("syncookies", SET_SYNCOOKIES, syncookies,
               "RFC 4987 SYN cookies"),
    STACK_UINT("reass_max_ranges", SET_REASS_MAX_RANGES, reass_max_ranges,
               "out-of-order ranges held"),
    STACK_MS("invalid_ratelimit_ms", SET_INVALID_RATELIMIT_MS,
             invalid_ratelimit, "one ACK to invalid segments per, ms"),
    STACK_UINT("max_orphans", SET_MAX_ORPHANS, max_orphans, "orphans held"),
    STACK_UINT("orphan_retries", SET_ORPHAN_RETRIES, orphan_retries,
               "an orphan's retransmissions"),
    STACK("min_snd_mss", SET_MIN_SND_MSS, min_snd_mss, AS_U16, 0, UINT16_MAX,
          "floor on the peer's MSS option"),
    STACK_UINT("max_tw", SET_MAX_TW, max_tw, "TIME_WAIT records held"),
    {.name = "cc", .kind = SK_WORD, .words = cc_words, .vals = cc_vals,
     .dest = SD_STACK, .slot = SET_CC,
     .off = offsetof(struct sf_stack_cfg, cc), .as = AS_CC,
     .why = "the congestion control must be cubic or reno",
     .help = "cubic or reno (the stack's default: cubic)"},
    {.name = "ecn", .kind = SK_INT, .lo = 0, .hi = 2, .dest = SD_STACK,
     .slot = SET_ECN, .off = offsetof(struct sf_stack_cfg, ecn),
     .as = AS_U8,
     .why = "must be 0 (off), 1 (ask and accept) or 2 (accept when asked)",
     .help = "RFC 3168 ECN (runner's default 0)"},
    STACK_BOOL("sack", SET_SACK, sack, "RFC 2018 SACK (runner's default 0)"),
    /* RFC 7323 and autotuning: OFF in the runner unless the script says */
    STACK_BOOL("wscale", SET_WSCALE, wscale,
               "RFC 7323 window scale (runner's default 0)"),
    STACK_BOOL("timestamps", SET_TIMESTAMPS, timestamps,
               "RFC 7323 timestamps (runner's default 0)"),
    STACK("rcvbuf_max", SET_RCVBUF_MAX, rcvbuf_max, AS_U32, 0, UINT32_MAX,
          "receive buffer autotuning cap (runner's default 0: off)"),
    STACK("sndbuf_max", SET_SNDBUF_MAX, sndbuf_max, AS_U32, 0, UINT32_MAX,
          "send buffer autotuning cap (runner's default 0: off)"),
    STACK_BOOL("rack", SET_RACK, rack, "RFC 8985 RACK (runner's default 0)"),
    STACK_BOOL("pacing", SET_PACING, pacing, "sender pacing (runner's default 0)"),
    /* the address inbound segments are sent to: the stack's own, or one it
     * does not own (198.19.0.1, 2001:db8::99), which only a transparent
     * listener (IP_TRANSPARENT) takes */
    {.name = "dst_addr", .kind = SK_WORD, .words = dst_words,
     .vals = dst_vals, .dest = SD_RUNNER,
     .off = offsetof(struct drill_settings, dst_foreign), .as = AS_BOOL,
     .help = "stack (the default) or foreign: where inbound segments go"},
    STACK("mem_max", SET_MEM_MAX, mem_max, AS_U64, 0, INT64_MAX,
          "memory limit for the whole stack, bytes (0: none)"),
    STACK("mem_pressure", SET_MEM_PRESSURE, mem_pressure, AS_UINT, 1, 100,
          "memory pressure level, % of mem_max (75)"),
    STACK_MS("fin_ack_delay_ms", SET_FIN_ACK_DELAY_MS, fin_ack_delay,
             "ACK of a FIN in ESTABLISHED at most this late, ms (0: at once)"),
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

void drill_settings_default(struct drill_settings *s)
{
    memset(s, 0, sizeof *s);
    s->tolerance_us = 4000;
    s->seed = 1;
}

static void store(void *base, size_t off, enum set_as as, int64_t x)
{
    void *p = (char *)base + off;
    switch (as) {
    case AS_NONE: break;
    case AS_BOOL: *(bool *)p = x != 0; break;
    case AS_U8: *(uint8_t *)p = (uint8_t)x; break;
    case AS_U16: *(uint16_t *)p = (uint16_t)x; break;
    case AS_U32: *(uint32_t *)p = (uint32_t)x; break;
    case AS_UINT: *(unsigned *)p = (unsigned)x; break;
    case AS_I64: *(int64_t *)p = x; break;
    case AS_U64: *(uint64_t *)p = (uint64_t)x; break;
    case AS_TIME_MS: *(sf_time_t *)p = (sf_time_t)x * SF_MSEC; break;
    case AS_CC: *(enum sf_cc *)p = (enum sf_cc)x; break;
    }
}

static const struct setting *find(const char *name, size_t nlen)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strlen(settings[i].name) == nlen &&
            !strncmp(name, settings[i].name, nlen))
            return &settings[i];
    return NULL;
}

/* What a bad value of r is told: its rule, or its range. */
static void tell_rule(const struct setting *r, char *buf, size_t len)
{
    if (r->why) {
        snprintf(buf, len, "%s", r->why);
    } else if (r->kind == SK_WORD) {
        size_t n = (size_t)snprintf(buf, len, "must be");
        for (int k = 0; r->words[k] && n < len; k++)
            n += (size_t)snprintf(buf + n, len - n, "%s %s",
                                  !k ? "" : r->words[k + 1] ? "," : " or",
                                  r->words[k]);
    } else {
        snprintf(buf, len, "must be %" PRId64 " to %" PRId64, r->lo, r->hi);
    }
}

/* Reads v (NULL: the bare --name) for r: 0 with the value in *x, or 1 if
 * it is no value r takes; *not_int tells an SK_INT value that is no
 * integer at all. */
static int read_value(const struct setting *r, const char *v, int64_t *x,
                      bool *not_int)
{
    switch (r->kind) {
    case SK_FLAG:
        *x = !v || strcmp(v, "0");
        return 0;
    case SK_WORD:
        for (int k = 0; v && r->words[k]; k++)
            if (!strcmp(v, r->words[k])) {
                *x = r->vals ? r->vals[k] : k;
                return 0;
            }
        return 1;
    case SK_INT: {
        char *end;
        long long n = 0;
        if (v) {
            errno = 0;
            n = strtoll(v, &end, 0);
        }
        *not_int = !v || errno || end == v || *end || n < 0;
        if (*not_int || n < r->lo || n > r->hi)
            return 1;
        *x = n;
        return 0;
    }
    }
    return 1;
}

int drill_setting(struct drill_settings *s, const char *nameval, char *err,
                  size_t errlen)
{
    const char *eq = strchr(nameval, '=');
    size_t nlen = eq ? (size_t)(eq - nameval) : strlen(nameval);
    const char *v = eq ? eq + 1 : NULL;
    const struct setting *r = find(nameval, nlen);
    int64_t x = 0;
    bool not_int = false;
    if (!r) {
        snprintf(err, errlen, "unknown option --%.*s", (int)nlen, nameval);
        return -1;
    }
    if (read_value(r, v, &x, &not_int)) {
        /* the setting, the value, and the rule or range it breaks */
        char rule[160];
        tell_rule(r, rule, sizeof rule);
        if (!v)
            snprintf(err, errlen, "--%s needs a %s: %s", r->name,
                     r->kind == SK_INT ? "non-negative integer value"
                                       : "value", rule);
        else
            snprintf(err, errlen, "--%s=%s: %s%s", r->name, v,
                     not_int ? "needs a non-negative integer value; " : "",
                     rule);
        return -1;
    }
    x += r->add;
    if (r->dest == SD_RUNNER) {
        store(s, r->off, r->as, x);
    } else if (r->dest == SD_STACK) {
        s->set[r->slot] = true;
        s->val[r->slot] = x;
        if (r->slot == SET_MSS)
            s->mss_is_mtu = !strcmp(r->name, "mtu");
    }
    return 0;
}

void drill_settings_help(FILE *f)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *r = &settings[i];
        char label[48], rule[160] = "";
        snprintf(label, sizeof label, "--%s%s", r->name,
                 r->kind == SK_FLAG ? "" : "=N");
        if (r->kind == SK_WORD)
            snprintf(label, sizeof label, "--%s=%s", r->name,
                     r->words[1] ? "WORD" : r->words[0]);
        if (r->kind == SK_INT)
            snprintf(rule, sizeof rule, " [%" PRId64 "..%" PRId64 "]", r->lo,
                     r->hi);
        fprintf(f, "  %-24s %s%s\n", label, r->help, rule);
    }
}

void drill_settings_apply(const struct drill_settings *s,
                          struct sf_stack_cfg *cfg)
{
    /* The runner's defaults where they differ from the stack's: RFC 7323
     * options and buffer autotuning off, so that a script sees the SYN
     * options and windows it was written for; --wscale=1,
     * --timestamps=1, --rcvbuf_max=N, --sndbuf_max=N turn them on. */
    cfg->wscale = false;
    cfg->timestamps = false;
    cfg->rcvbuf_max = 0;
    cfg->sndbuf_max = 0;
    /* RFC 2018 SACK: off unless the script says --sack=1 (our scripts
     * were written for a stack that offered no sackOK on its SYNs) */
    cfg->sack = false;
    /* RFC 3168 ECN is off in the runner unless a script sets --ecn: the
     * scripts were written for a stack without it (the stack's own
     * default, 2, would answer an ECN-setup SYN with ECE). */
    cfg->ecn = 0;
    /* RFC 8985 RACK: off unless --rack=1 (the SACK scripts were written
     * for RFC 6675's DupThresh rule) */
    cfg->rack = false;
    /* RFC 6298 2.4's one-second minimum RTO (the stack's default is
     * Linux's 200 ms): the scripts' timings were written for it;
     * --rto_min_ms=N sets another */
    cfg->rto_min = 1 * SF_SEC;
    /* Sender pacing: off unless --pacing=1 (the scripts were written for
     * a stack that sent a window at once, and keep their exact timing) */
    cfg->pacing = false;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *r = &settings[i];
        if (r->dest == SD_STACK && r->as != AS_NONE && s->set[r->slot])
            store(cfg, r->off, r->as, s->val[r->slot]);
    }
    /* IPv6: sf_stack_cfg.mss is the stack's IPv4 MSS, and it advertises
     * 20 less over IPv6 (RFC 8200's 40-byte header; RFC 9293 3.7.1). The
     * runner keeps a script's MSS arithmetic the same in both families,
     * as the suite runs every IPv4 script over IPv6 too: the default
     * device MTU is 1500 over IPv4 and 1520 over IPv6 (the MSS is 1460 in
     * both), and --mss=N is the MSS advertised on the script's own
     * family. --mtu=N stays the device MTU: N - 60 over IPv6. */
    if (s->ip_version == DRILL_IPV6 && !(s->set[SET_MSS] && s->mss_is_mtu)) {
        int64_t m = (s->set[SET_MSS] ? s->val[SET_MSS] : 1460) + 20;
        cfg->mss = (uint16_t)(m > UINT16_MAX ? UINT16_MAX : m);
    }
}

/* Values as Linux has them where a script may print them back (fcntl
 * flags, poll bits); synfin's own values for socket options. */
static const struct {
    const char *name;
    int64_t val;
} symbols[] = {
    {"AF_INET", 2}, {"SOCK_STREAM", 1}, {"IPPROTO_TCP", SF_IPPROTO_TCP},
    {"SOL_SOCKET", SF_SOL_SOCKET}, {"SOL_TCP", SF_IPPROTO_TCP},
    {"SO_REUSEADDR", SF_SO_REUSEADDR}, {"SO_ERROR", SF_SO_ERROR},
    {"SO_KEEPALIVE", SF_SO_KEEPALIVE}, {"SO_LINGER", SF_SO_LINGER},
    {"SO_SNDBUF", SF_SO_SNDBUF}, {"SO_RCVBUF", SF_SO_RCVBUF},
    {"TCP_NODELAY", SF_TCP_NODELAY}, {"TCP_MAXSEG", SF_TCP_MAXSEG},
    {"TCP_KEEPIDLE", SF_TCP_KEEPIDLE}, {"TCP_KEEPINTVL", SF_TCP_KEEPINTVL},
    {"TCP_KEEPCNT", SF_TCP_KEEPCNT}, {"TCP_USER_TIMEOUT", SF_TCP_USER_TIMEOUT},
    {"TCP_WSCALE", SF_TCP_WSCALE}, {"TCP_TIMESTAMPS", SF_TCP_TIMESTAMPS},
    {"TCP_SACK", SF_TCP_SACK}, {"TCP_RACK", SF_TCP_RACK},
    {"TCP_CONGESTION", SF_TCP_CONGESTION},
    {"TCP_PACING", SF_TCP_PACING}, {"SO_MAX_PACING_RATE", SF_SO_MAX_PACING_RATE},
    {"SHUT_RD", SF_SHUT_RD}, {"SHUT_WR", SF_SHUT_WR}, {"SHUT_RDWR", SF_SHUT_RDWR},
    {"MSG_PEEK", 0x02}, {"MSG_DONTWAIT", 0x40},
    {"F_GETFL", 3}, {"F_SETFL", 4}, {"O_RDONLY", 0}, {"O_WRONLY", 1},
    {"O_RDWR", 2}, {"O_NONBLOCK", 04000},
    {"POLLIN", SF_POLLIN}, {"POLLOUT", SF_POLLOUT}, {"POLLERR", SF_POLLERR},
    {"POLLHUP", SF_POLLHUP}, {"POLLRDHUP", SF_POLLRDHUP},
    {"EWOULDBLOCK", SF_EAGAIN},
    {"AF_INET6", 10}, {"IPPROTO_IPV6", SF_IPPROTO_IPV6},
    {"IPV6_V6ONLY", SF_IPV6_V6ONLY},
    {"IPPROTO_IP", SF_IPPROTO_IP}, {"IP_TRANSPARENT", SF_IP_TRANSPARENT},
#define SF_X_(name, text) {#name, SF_##name},
    SF_ERROR_LIST(SF_X_)
#undef SF_X_
};

bool drill_symbol(const char *name, int64_t *val)
{
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        if (!strcmp(symbols[i].name, name)) {
            *val = symbols[i].val;
            return true;
        }
    }
    return false;
}

bool drill_eval(const struct drill_expr *e, int64_t *val)
{
    int64_t acc = 0, x;
    switch (e->kind) {
    case EX_INT: *val = e->num; return true;
    case EX_NAME: return drill_symbol(e->name, val);
    case EX_OR:
        for (size_t i = 0; i < e->nkids; i++) {
            if (!drill_eval(&e->kids[i], &x))
                return false;
            acc |= x;
        }
        *val = acc;
        return true;
    case EX_LIST:
        return e->nkids == 1 && drill_eval(&e->kids[0], val);
    default: return false;
    }
}
