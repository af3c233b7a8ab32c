/* synfin sim: the trace sink. Every event of the simulated network goes
 * to the ladder, the --pcap capture and the --json trace; each host's
 * states are recorded to be checked against the scenario's. */
#include <stdio.h>
#include <string.h>

#include "io/json.h"
#include "io/pcap.h"
#include "ladder/ladder.h"
#include "sim/sim_int.h"

/* ------------------------------------------------------ tracing */

static void path_add(struct run *r, int h, enum sf_state s)
{
    size_t n = strlen(r->path[h]);
    snprintf(r->path[h] + n, sizeof r->path[h] - n, "%s%s", n ? " " : "",
             sf_state_name(s));
}

/* Records the states each host's connection visits (listeners, whose
 * remote port is 0, are drawn but not part of the path). */
static void record_state(struct run *r, int h, const struct sf_trace_event *t)
{
    if (t->remote.port == 0)
        return;
    if (!r->have_last[h] || r->last[h] != t->from)
        path_add(r, h, t->from);
    path_add(r, h, t->to);
    r->last[h] = t->to;
    r->have_last[h] = true;
}

static int col_of(const struct run *r, int h)
{
    return r->nh == 1 ? 0 : h;
}

static void on_stack(struct run *r, int h, const struct sf_trace_event *t)
{
    int c = col_of(r, h);
    switch (t->kind) {
    case SF_TRACE_STATE:
        record_state(r, h, t);
        ladder_state(r->lad, t->now, c, t->from, t->to, t->cause);
        break;
    case SF_TRACE_DROP:
        ladder_drop(r->lad, t->now, c, t->drop);
        break;
    case SF_TRACE_TIMER:
        r->persist[h] += t->timer == SF_TIMER_PERSIST;
        ladder_timer(r->lad, t->now, c, t->timer);
        break;
    case SF_TRACE_NOTE:
        ladder_note(r->lad, t->now, c, t->note ? t->note : "");
        break;
    default:
        break;
    }
}

static const char *host_name(const struct run *r, int h)
{
    return r->nh == 1 ? "host" : h ? "server" : "client";
}

/* --pcap: at the wire, each datagram once as it leaves its sender (the
 * network's extra copies are not sent by anyone); at a host, what it sends
 * and what is delivered to it, at delivery time and as delivered. */
static void capture(struct run *r, const struct sf_sim_event *ev)
{
    int at = r->o.capture < 0 ? -1 : r->nh == 1 ? 0 : r->o.capture;
    bool rec;
    if (ev->kind == SF_SIM_EV_SEND)
        rec = !(ev->flags & SF_SIM_F_DUP) &&
              (at < 0 || (ev->host == at && ev->peer != at));
    else
        rec = ev->kind == SF_SIM_EV_ARRIVE && at >= 0 && ev->host == at;
    if (rec)
        pcapw_write(r->pcap, ev->now, ev->dgram, ev->len);
}

static bool is_host(const struct run *r, uint32_t ip)
{
    return sf_sim_host_by_addr(r->sim, ip) >= 0;
}

static bool is_host6(const struct run *r, const uint8_t *ip6)
{
    return sf_sim_host_by_addr6(r->sim, ip6) >= 0;
}

/* Whether an event concerns an address no host owns (syn-flood's spoofed
 * sources): those are counted, captured, but not drawn. */
static bool spoofed(const struct run *r, const struct sf_sim_event *ev)
{
    if (ev->kind == SF_SIM_EV_STACK)
        return !sf_addr_is_unspec(&ev->trace->remote) &&
               sf_sim_host_by_ip(r->sim, &ev->trace->remote) < 0;
    const uint8_t *d = ev->dgram;
    if (ev->len >= 40 && d[0] >> 4 == 6) /* RFC 8200 3 */
        return !is_host6(r, d + 8) || !is_host6(r, d + 24);
    if (ev->len < 20)
        return false;
    uint32_t src = (uint32_t)d[12] << 24 | (uint32_t)d[13] << 16 |
                   (uint32_t)d[14] << 8 | d[15];
    uint32_t dst = (uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 |
                   (uint32_t)d[18] << 8 | d[19];
    return !is_host(r, src) || !is_host(r, dst);
}

/* Marks on the ladder the moments a host's SYN-cookie counters move
 * (RFC 4987: the SYN queue is full, the connection's state rides in the
 * ISN; later an ACK brings it back). */
static void note_cookies(struct run *r, const struct sf_sim_event *ev)
{
    static const char *const text[2][2] = {
        {"SYN queue full: this SYN,ACK carries a SYN cookie",
         "SYN cookie in the ACK validated: connection rebuilt"},
        {"SYN 队列已满：这个 SYN,ACK 携带 SYN cookie",
         "ACK 中的 SYN cookie 验证通过：连接已重建"}};
    const struct sf_counters *c = sf_stack_counters(stk(r, ev->host));
    uint64_t now[2] = {c->c[SF_CTR_SYNCOOKIES_SENT], c->c[SF_CTR_SYNCOOKIES_OK]};
    for (int i = 0; i < 2; i++) {
        if (now[i] == r->cookies[ev->host][i])
            continue;
        bool real = !spoofed(r, ev);
        r->cookies[ev->host][i] = now[i];
        if (real)
            ladder_note(r->lad, ev->now, col_of(r, ev->host), text[r->o.zh][i]);
    }
}

/* The "tcp" fields of the JSON (jsonw_set_info). */
int sim_tcp_info(void *ctx, int h, const struct sf_addr *local,
                 const struct sf_addr *remote, struct sf_tcp_info *out)
{
    struct run *r = ctx;
    return h < 0 || h >= r->nh ? -1
                               : sf_tcp_info_by_addr(stk(r, h), local, remote, out);
}

void on_event(void *ctx, const struct sf_sim_event *ev0)
{
    struct run *r = ctx;
    if (ev0->host < 0 || ev0->host >= r->nh)
        return;
    /* a --dup-dgram copy is its datagram's duplicate, as the network's
     * own duplicates are (same number, drawn dashed), not an injected one */
    struct sf_sim_event dup;
    const struct sf_sim_event *ev = ev0;
    if (lab_is_dup_copy(&r->imp, ev0)) {
        dup = *ev0;
        dup.flags = (dup.flags & ~(unsigned)SF_SIM_F_INJECTED) | SF_SIM_F_DUP;
        ev = &dup;
    }
    if (r->json || r->html_json) {
        const char *names[MAXH] = {host_name(r, 0), host_name(r, 1)};
        jsonw_event(r->json, ev, names, r->nh);
        jsonw_event(r->html_json, ev, names, r->nh);
    }
    if (r->pcap)
        capture(r, ev);
    if (!spoofed(r, ev) || ev->kind == SF_SIM_EV_STACK)
        note_cookies(r, ev);
    if (spoofed(r, ev)) {
        r->spoofed += ev->kind == SF_SIM_EV_SEND;
        return;
    }
    if (ev->kind == SF_SIM_EV_STACK) {
        on_stack(r, ev->host, ev->trace);
        return;
    }
    if (ev->kind != SF_SIM_EV_SEND)
        return;
    int to = ev->peer >= 0 && ev->peer < r->nh ? col_of(r, ev->peer)
                                               : 1 - col_of(r, ev->host);
    unsigned f = (ev->flags & SF_SIM_F_DUP ? LADDER_DUP : 0) |
                 (ev->flags & SF_SIM_F_REORDERED ? LADDER_REORDERED : 0) |
                 (ev->flags & SF_SIM_F_CORRUPTED ? LADDER_CORRUPTED : 0) |
                 (ev->flags & SF_SIM_F_INJECTED ? LADDER_OLD : 0);
    r->lost += ev->drop != SF_SIM_DROP_NONE;
    ladder_segment(r->lad, ev->now, col_of(r, ev->host), r->nh == 1 ? 0 : to,
                   ev->dgram, ev->len, ev->arrive,
                   ev->drop ? ladder_sim_drop_word(ev->drop, r->o.zh) : NULL, f);
}
