/* JSON event trace (see json.h). Every object has "t_ns" (virtual time in
 * nanoseconds), "event" and "host"/"host_name". Segments ("sent", "lost",
 * "delivered") add "from", "to", "src", "dst" ("198.18.0.1:80" or, over
 * IPv6, "[fd00::1]:80"), "len_ip", "ttl", "ip_id" (over IPv6 "hop_limit"
 * and "flow" instead),
 * "seq", "ack", "flags" (array), "win" (the header field), "win_scaled"
 * (the window in bytes: "win" shifted by the sender's RFC 7323 window
 * scale once both SYNs offered it, see io/wscale.h), "urp", "len",
 * "options" and
 * "network" (array of duplicate/reordered/corrupted/injected); "sent" has
 * "arrive_ns", "lost" has "reason" and "reason_text". A datagram that does
 * not parse (a corrupted copy, say) has "valid": false and "error".
 * "state" has "from_state", "to_state", "cause", "cause_text", "local",
 * "remote"; "drop" has "reason", "reason_text"; "timer" has "timer".
 * Appended later (the TCP lab, tools/synfin/lab): "sent" and "lost" end
 * with "dgram", the datagram's number (1-based, in the order the hosts
 * hand them to the network, each duplicate copy under its original's
 * number; `synfin sim --drop N` drops number N); when jsonw_set_info gave
 * a way to ask, "sent", "lost" and "state" end with "tcp", the sending
 * (or changing) side's connection right after the event: "state",
 * "snd_una", "snd_nxt", "rcv_nxt", "cwnd", "ssthresh" (bytes, RFC 5681),
 * "flight" (snd_nxt - snd_una), "snd_wnd" (the peer's window),
 * "rcv_wnd", "rto_us", "retransmits", then (appended for the lab's RTT
 * plot) "srtt_us" and "rttvar_us" (RFC 6298 2, 0 before the first
 * measurement). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/dgram.h"
#include "io/json.h"
#include "io/wscale.h"
#include "synfin/wire.h"

struct jsonw {
    FILE *f;
    bool first, is_stdout;
    struct ws_track ws; /* window shifts learned from the SYNs sent */
    uint64_t dgrams;    /* datagrams numbered so far ("dgram") */
    jsonw_info_fn info; /* or NULL */
    void *info_ctx;
    char **mem;         /* jsonw_open_mem: where the text goes */
    size_t *mem_len;
};

struct jsonw *jsonw_open(const char *path, char *err, size_t errlen)
{
    struct jsonw *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->is_stdout = !strcmp(path, "-");
    j->f = j->is_stdout ? stdout : fopen(path, "w");
    if (!j->f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        free(j);
        return NULL;
    }
    j->first = true;
    fputs("[\n", j->f);
    return j;
}

struct jsonw *jsonw_open_mem(char **buf, size_t *len, char *err, size_t errlen)
{
    struct jsonw *j = calloc(1, sizeof *j);
    *buf = NULL;
    *len = 0;
    if (!j || !(j->f = open_memstream(buf, len))) {
        snprintf(err, errlen, "out of memory");
        free(j);
        return NULL;
    }
    j->mem = buf;
    j->mem_len = len;
    j->first = true;
    fputs("[\n", j->f);
    return j;
}

void jsonw_set_info(struct jsonw *j, jsonw_info_fn fn, void *ctx)
{
    if (!j)
        return;
    j->info = fn;
    j->info_ctx = ctx;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void jkey(FILE *f, const char *k, const char *v)
{
    fprintf(f, ",\"%s\":", k);
    jstr(f, v);
}

static void jaddr(FILE *f, const char *k, const struct sf_addr *a)
{
    char b[SF_ADDR_STRLEN];
    jkey(f, k, sf_addr_fmt(a, b, sizeof b));
}

static void jflags(FILE *f, uint8_t fl)
{
    static const char *const names[8] = {"FIN", "SYN", "RST", "PSH",
                                         "ACK", "URG", "ECE", "CWR"};
    fputs(",\"flags\":[", f);
    bool first = true;
    for (int i = 0; i < 8; i++)
        if (fl & (1u << i)) {
            fprintf(f, "%s\"%s\"", first ? "" : ",", names[i]);
            first = false;
        }
    fputc(']', f);
}

static void jopts(FILE *f, const struct sf_tcp_opts *o)
{
    fputs(",\"options\":{", f);
    const char *sep = "";
    if (o->has_mss)
        fprintf(f, "%s\"mss\":%u", sep, o->mss), sep = ",";
    if (o->has_wscale)
        fprintf(f, "%s\"wscale\":%u", sep, o->wscale), sep = ",";
    if (o->sack_ok)
        fprintf(f, "%s\"sack_ok\":true", sep), sep = ",";
    if (o->has_ts)
        fprintf(f, "%s\"ts_val\":%u,\"ts_ecr\":%u", sep, o->ts_val, o->ts_ecr),
            sep = ",";
    if (o->nsack) {
        fprintf(f, "%s\"sack\":[", sep);
        for (unsigned i = 0; i < o->nsack && i < 4; i++)
            fprintf(f, "%s[%u,%u]", i ? "," : "", o->sack[i][0], o->sack[i][1]);
        fputc(']', f);
    }
    fputc('}', f);
}

static void jnet(FILE *f, unsigned fl)
{
    static const char *const names[4] = {"duplicate", "reordered", "corrupted",
                                         "injected"};
    fputs(",\"network\":[", f);
    bool first = true;
    for (int i = 0; i < 4; i++)
        if (fl & (1u << i)) {
            fprintf(f, "%s\"%s\"", first ? "" : ",", names[i]);
            first = false;
        }
    fputc(']', f);
}

/* The side's connection as its stack sees it ("tcp"), if it has one. */
static void jtcp(struct jsonw *j, int host, const struct sf_addr *local,
                 const struct sf_addr *remote)
{
    struct sf_tcp_info ti;
    if (!j->info || j->info(j->info_ctx, host, local, remote, &ti))
        return;
    fprintf(j->f, ",\"tcp\":{\"state\":\"%s\",\"snd_una\":%u,\"snd_nxt\":%u,"
            "\"rcv_nxt\":%u,\"cwnd\":%u,\"ssthresh\":%u,\"flight\":%u,"
            "\"snd_wnd\":%u,\"rcv_wnd\":%u,\"rto_us\":%llu,"
            "\"retransmits\":%u,\"srtt_us\":%u,\"rttvar_us\":%u}",
            sf_state_name(ti.state), ti.snd_una,
            ti.snd_nxt, ti.rcv_nxt, ti.snd_cwnd, ti.snd_ssthresh,
            ti.snd_nxt - ti.snd_una, ti.snd_wnd, ti.rcv_wnd,
            (unsigned long long)(ti.rto / SF_USEC), ti.retransmits,
            ti.srtt_us, ti.rttvar_us);
}

static void jsegment(struct jsonw *j, const struct sf_sim_event *ev)
{
    FILE *f = j->f;
    struct dgram g;
    const struct sf_tcp *tp = &g.t;
    enum sf_drop e = dgram_parse(ev->dgram, ev->len, &g);
    fprintf(f, ",\"len_ip\":%zu", ev->len);
    jnet(f, ev->flags);
    if (e) {
        fputs(",\"valid\":false", f);
        jkey(f, "error", sf_drop_name(e));
        goto number;
    }
    jaddr(f, "src", &g.src);
    jaddr(f, "dst", &g.dst);
    if (g.v6)
        fprintf(f, ",\"hop_limit\":%u,\"flow\":%u", g.ttl, (unsigned)g.flow);
    else
        fprintf(f, ",\"ttl\":%u,\"ip_id\":%u", g.ttl, g.id);
    fprintf(f, ",\"seq\":%u,\"ack\":%u", tp->seq, tp->ack);
    jflags(f, tp->flags);
    fprintf(f, ",\"win\":%u,\"win_scaled\":%u,\"urp\":%u,\"len\":%zu", tp->win,
            ws_window(&j->ws, &g.src, &g.dst, tp), tp->urp, tp->len);
    /* a SYN's options count when it is sent; an injected one (an old
     * duplicate a scenario stages) is no side's word */
    if (ev->kind == SF_SIM_EV_SEND && !(ev->flags & SF_SIM_F_INJECTED))
        ws_learn(&j->ws, &g.src, tp);
    jopts(f, &tp->opt);
    if (ev->kind == SF_SIM_EV_SEND)
        jtcp(j, ev->host, &g.src, &g.dst);
number:
    /* the numbers lab_impair counts: every datagram the network's filter
     * sees (not the short or unroutable ones), copies under their own */
    if (ev->kind == SF_SIM_EV_SEND && ev->drop != SF_SIM_DROP_SHORT &&
        ev->drop != SF_SIM_DROP_NO_ROUTE)
        fprintf(f, ",\"dgram\":%llu", (unsigned long long)
                (j->dgrams += !(ev->flags & SF_SIM_F_DUP)));
}

static void jstack(struct jsonw *j, int host, const struct sf_trace_event *t)
{
    FILE *f = j->f;
    switch (t->kind) {
    case SF_TRACE_STATE:
        jkey(f, "from_state", sf_state_name(t->from));
        jkey(f, "to_state", sf_state_name(t->to));
        jkey(f, "cause", sf_cause_name(t->cause));
        jaddr(f, "local", &t->local);
        jaddr(f, "remote", &t->remote);
        if (t->remote.port) /* not a listener */
            jtcp(j, host, &t->local, &t->remote);
        break;
    case SF_TRACE_DROP:
        jkey(f, "reason", sf_drop_name(t->drop));
        jkey(f, "reason_text", sf_drop_text(t->drop));
        break;
    case SF_TRACE_TIMER:
        jkey(f, "timer", sf_timer_name(t->timer));
        jaddr(f, "local", &t->local);
        jaddr(f, "remote", &t->remote);
        break;
    default:
        jkey(f, "text", t->note ? t->note : "");
        break;
    }
}

static const char *event_name(const struct sf_sim_event *ev)
{
    if (ev->kind == SF_SIM_EV_SEND)
        return ev->drop ? "lost" : "sent";
    if (ev->kind == SF_SIM_EV_ARRIVE)
        return "delivered";
    switch (ev->trace->kind) {
    case SF_TRACE_STATE:
        return "state";
    case SF_TRACE_DROP:
        return "drop";
    case SF_TRACE_TIMER:
        return "timer";
    case SF_TRACE_NOTE:
        return "note";
    default:
        return NULL; /* SEG_IN/SEG_OUT repeat the sim's own segment events */
    }
}

void jsonw_event(struct jsonw *j, const struct sf_sim_event *ev,
                 const char *const *names, int nh)
{
    const char *name = event_name(ev);
    if (!j || !name)
        return;
    FILE *f = j->f;
    fprintf(f, "%s{\"t_ns\":%llu,\"event\":\"%s\",\"host\":%d", j->first ? "" : ",\n",
            (unsigned long long)ev->now, name, ev->host);
    j->first = false;
    if (ev->host >= 0 && ev->host < nh)
        jkey(f, "host_name", names[ev->host]);
    if (ev->kind == SF_SIM_EV_STACK) {
        jstack(j, ev->host, ev->trace);
    } else {
        bool in = ev->kind == SF_SIM_EV_ARRIVE;
        fprintf(f, ",\"from\":%d,\"to\":%d", in ? ev->peer : ev->host,
                in ? ev->host : ev->peer);
        if (ev->kind == SF_SIM_EV_SEND && !ev->drop)
            fprintf(f, ",\"arrive_ns\":%llu", (unsigned long long)ev->arrive);
        if (ev->kind == SF_SIM_EV_SEND && ev->drop) {
            static const char *const dn[SF_SIM_NDROPS] = {
#define SF_X_(n, text) [SF_SIM_DROP_##n] = #n,
                SF_SIM_DROP_LIST(SF_X_)
#undef SF_X_
            };
            jkey(f, "reason", (unsigned)ev->drop < SF_SIM_NDROPS && dn[ev->drop]
                                  ? dn[ev->drop] : "?");
            jkey(f, "reason_text", sf_sim_drop_text(ev->drop));
        }
        jsegment(j, ev);
    }
    fputc('}', f);
}

int jsonw_close(struct jsonw *j)
{
    if (!j)
        return 0;
    fputs(j->first ? "]\n" : "\n]\n", j->f);
    int rc = ferror(j->f) ? -1 : 0;
    if (j->is_stdout)
        rc |= fflush(j->f) ? -1 : 0;
    else
        rc |= fclose(j->f) ? -1 : 0; /* jsonw_open_mem: sets *mem */
    ws_track_free(&j->ws);
    free(j);
    return rc;
}
