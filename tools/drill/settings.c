/* drill settings (--name=value) and the symbolic constants scripts use in
 * system calls (SOCK_STREAM, O_NONBLOCK, EAGAIN, POLLIN, ...). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"

static const char *const setting_names[SET_COUNT] = {
    [SET_MSS] = "mss",
    [SET_RTO_INITIAL_MS] = "rto_initial_ms",
    [SET_RTO_MIN_MS] = "rto_min_ms",
    [SET_RTO_MAX_MS] = "rto_max_ms",
    [SET_SYN_RETRIES] = "syn_retries",
    [SET_SYNACK_RETRIES] = "synack_retries",
    [SET_R1] = "r1",
    [SET_R2] = "r2",
    [SET_MSL_MS] = "msl_ms",
    [SET_FIN_WAIT_2_TIMEOUT_MS] = "fin_wait_2_timeout_ms",
    [SET_CHALLENGE_ACK_LIMIT] = "challenge_ack_limit",
    [SET_RCVBUF] = "rcvbuf",
    [SET_SNDBUF] = "sndbuf",
    [SET_KEEPIDLE_MS] = "keepidle_ms",
    [SET_KEEPINTVL_MS] = "keepintvl_ms",
    [SET_KEEPCNT] = "keepcnt",
    [SET_DELACK_MS] = "delack_ms",
    [SET_SYN_BACKLOG] = "syn_backlog",
    [SET_SYNCOOKIES] = "syncookies",
    [SET_REASS_MAX_RANGES] = "reass_max_ranges",
    [SET_INVALID_RATELIMIT_MS] = "invalid_ratelimit_ms",
    [SET_MAX_ORPHANS] = "max_orphans",
    [SET_ORPHAN_RETRIES] = "orphan_retries",
    [SET_MIN_SND_MSS] = "min_snd_mss",
    [SET_MAX_TW] = "max_tw",
    [SET_WSCALE] = "wscale",
    [SET_TIMESTAMPS] = "timestamps",
    [SET_RCVBUF_MAX] = "rcvbuf_max",
    [SET_SNDBUF_MAX] = "sndbuf_max",
    [SET_SACK] = "sack",
    [SET_ECN] = "ecn",
    [SET_CC] = "cc", /* by name: --cc=cubic or --cc=reno */
    [SET_RACK] = "rack",
    [SET_PACING] = "pacing",
};

void drill_settings_default(struct drill_settings *s)
{
    memset(s, 0, sizeof *s);
    s->tolerance_us = 4000;
    s->seed = 1;
}

static bool parse_int(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 0);
    if (errno || end == v || *end || x < 0)
        return false;
    *out = x;
    return true;
}

int drill_setting(struct drill_settings *s, const char *nameval, char *err,
                  size_t errlen)
{
    const char *eq = strchr(nameval, '=');
    size_t nlen = eq ? (size_t)(eq - nameval) : strlen(nameval);
    const char *v = eq ? eq + 1 : "";
    int64_t x = 0;
    if (nlen == 10 && !strncmp(nameval, "ip_version", 10)) {
        if (strcmp(v, "ipv4")) {
            snprintf(err, errlen, "--ip_version=%s: only ipv4 is supported", v);
            return -1;
        }
        return 0;
    }
    if (nlen == 2 && !strncmp(nameval, "cc", 2)) {
        /* the stack's congestion control, named as TCP_CONGESTION names
         * it */
        if (!strcmp(v, "cubic") || !strcmp(v, "reno")) {
            s->set[SET_CC] = true;
            s->val[SET_CC] = !strcmp(v, "cubic") ? SF_CC_CUBIC : SF_CC_RENO;
            return 0;
        }
        snprintf(err, errlen, "--cc=%s: the congestion control must be "
                 "cubic or reno", v);
        return -1;
    }
    if (nlen == 10 && !strncmp(nameval, "check_data", 10)) {
        s->check_data = !eq || strcmp(v, "0");
        return 0;
    }
    if (nlen == 17 && !strncmp(nameval, "tcp_ts_ecr_scaled", 17)) {
        s->ts_ecr_scaled = !eq || strcmp(v, "0");
        return 0;
    }
    if (!eq || !parse_int(v, &x)) {
        if (eq)
            snprintf(err, errlen, "--%.*s=%s: needs a non-negative integer "
                     "value", (int)nlen, nameval, v);
        else
            snprintf(err, errlen, "--%.*s needs a non-negative integer value",
                     (int)nlen, nameval);
        return -1;
    }
    if (nlen == 15 && !strncmp(nameval, "tolerance_usecs", 15)) {
        s->tolerance_us = x;
        return 0;
    }
    if (nlen == 3 && !strncmp(nameval, "mtu", 3)) {
        /* packetdrill's --mtu: the device MTU. The MSS the stack advertises
         * and the largest segment it sends follow it: MTU less the 20-byte
         * IPv4 and 20-byte TCP headers (RFC 9293 3.7.1). The stack takes
         * an MSS of 64 at least (sf_stack_create). */
        if (x < 64 + 40 || x > 65535) {
            snprintf(err, errlen, "--mtu=%s: the MTU must be 104 to 65535 "
                     "(the stack's MSS, MTU - 40, is at least 64)", v);
            return -1;
        }
        s->set[SET_MSS] = true;
        s->val[SET_MSS] = x - 40;
        return 0;
    }
    if (nlen == 17 && !strncmp(nameval, "tcp_ts_tick_usecs", 17)) {
        if (x > 1000000) {
            snprintf(err, errlen, "--tcp_ts_tick_usecs=%s: at most 1000000", v);
            return -1;
        }
        s->ts_tick_us = x;
        return 0;
    }
    if (nlen == 4 && !strncmp(nameval, "seed", 4)) {
        s->seed = (uint64_t)x;
        return 0;
    }
    if (nlen == 3 && !strncmp(nameval, "ecn", 3) && x > 2) {
        snprintf(err, errlen, "--ecn=%s: must be 0 (off), 1 (ask and "
                 "accept) or 2 (accept when asked)", v);
        return -1;
    }
    for (int i = 0; i < SET_COUNT; i++) {
        if (strlen(setting_names[i]) == nlen &&
            !strncmp(nameval, setting_names[i], nlen)) {
            s->set[i] = true;
            s->val[i] = x;
            return 0;
        }
    }
    snprintf(err, errlen, "unknown option --%.*s", (int)nlen, nameval);
    return -1;
}

void drill_settings_apply(const struct drill_settings *s,
                          struct sf_stack_cfg *cfg)
{
    const int64_t *v = s->val;
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
    /* Sender pacing: off unless --pacing=1 (the scripts were written for
     * a stack that sent a window at once, and keep their exact timing) */
    cfg->pacing = false;
    for (int i = 0; i < SET_COUNT; i++) {
        if (!s->set[i])
            continue;
        switch ((enum drill_stack_setting)i) {
        case SET_MSS: cfg->mss = (uint16_t)v[i]; break;
        case SET_RTO_INITIAL_MS: cfg->rto_initial = (sf_time_t)v[i] * SF_MSEC; break;
        case SET_RTO_MIN_MS: cfg->rto_min = (sf_time_t)v[i] * SF_MSEC; break;
        case SET_RTO_MAX_MS: cfg->rto_max = (sf_time_t)v[i] * SF_MSEC; break;
        case SET_SYN_RETRIES: cfg->syn_retries = (unsigned)v[i]; break;
        case SET_SYNACK_RETRIES: cfg->synack_retries = (unsigned)v[i]; break;
        case SET_R1: cfg->r1 = (unsigned)v[i]; break;
        case SET_R2: cfg->r2 = (unsigned)v[i]; break;
        case SET_MSL_MS: cfg->msl = (sf_time_t)v[i] * SF_MSEC; break;
        case SET_FIN_WAIT_2_TIMEOUT_MS:
            cfg->fin_wait_2_timeout = (sf_time_t)v[i] * SF_MSEC;
            break;
        case SET_CHALLENGE_ACK_LIMIT: cfg->challenge_ack_limit = (unsigned)v[i]; break;
        case SET_RCVBUF: cfg->rcvbuf = (uint32_t)v[i]; break;
        case SET_SNDBUF: cfg->sndbuf = (uint32_t)v[i]; break;
        case SET_KEEPIDLE_MS: cfg->keepidle = (sf_time_t)v[i] * SF_MSEC; break;
        case SET_KEEPINTVL_MS: cfg->keepintvl = (sf_time_t)v[i] * SF_MSEC; break;
        case SET_KEEPCNT: cfg->keepcnt = (unsigned)v[i]; break;
        case SET_DELACK_MS: cfg->delack = (sf_time_t)v[i] * SF_MSEC; break;
        case SET_SYN_BACKLOG: cfg->syn_backlog = (unsigned)v[i]; break;
        case SET_SYNCOOKIES: cfg->syncookies = v[i] != 0; break;
        case SET_REASS_MAX_RANGES: cfg->reass_max_ranges = (unsigned)v[i]; break;
        case SET_INVALID_RATELIMIT_MS:
            cfg->invalid_ratelimit = (sf_time_t)v[i] * SF_MSEC;
            break;
        case SET_MAX_ORPHANS: cfg->max_orphans = (unsigned)v[i]; break;
        case SET_ORPHAN_RETRIES: cfg->orphan_retries = (unsigned)v[i]; break;
        case SET_MIN_SND_MSS: cfg->min_snd_mss = (uint16_t)v[i]; break;
        case SET_MAX_TW: cfg->max_tw = (unsigned)v[i]; break;
        case SET_WSCALE: cfg->wscale = v[i] != 0; break;
        case SET_TIMESTAMPS: cfg->timestamps = v[i] != 0; break;
        case SET_RCVBUF_MAX: cfg->rcvbuf_max = (uint32_t)v[i]; break;
        case SET_SNDBUF_MAX: cfg->sndbuf_max = (uint32_t)v[i]; break;
        case SET_SACK: cfg->sack = v[i] != 0; break;
        case SET_ECN: cfg->ecn = (uint8_t)v[i]; break;
        case SET_CC: cfg->cc = (enum sf_cc)v[i]; break;
        case SET_RACK: cfg->rack = v[i] != 0; break;
        case SET_PACING: cfg->pacing = v[i] != 0; break;
        case SET_COUNT: break;
        }
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
