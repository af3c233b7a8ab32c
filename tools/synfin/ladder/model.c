/* The ladder diagram's model (see ladder.h): the rows, as events are
 * added, with their labels and explanations; term.c and svg.c draw it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/dgram.h"
#include "io/wscale.h"
#include "ladder/ladder_int.h"
#include "synfin/wire.h"

/* What the explainer remembers about one side of a connection. */
struct endpoint {
    struct sf_addr addr; /* with the port */
    bool has_isn, fin_sent, got_synack, hs_acked;
    uint32_t isn, fin_seq;
};

#define LADDER_MAX_EP 16

struct ladder {
    struct ladder_opts o;
    char title[200];
    int ncols;
    char colname[2][64];
    struct sf_addr colip[2];
    uint16_t colport[2];
    struct ladder_row *rows;
    size_t n, cap;
    struct endpoint ep[LADDER_MAX_EP];
    int nep;
    bool explained[EX_NKEYS];
    bool state_explained[SF_NSTATES][SF_NSTATES];
    struct ws_track ws; /* each side's window shift, from its SYN */
};

/* ------------------------------------------------------------ setup */

struct ladder *ladder_new(const struct ladder_opts *o)
{
    struct ladder *l = calloc(1, sizeof *l);
    if (l)
        l->o = *o;
    return l;
}

void ladder_free(struct ladder *l)
{
    if (!l)
        return;
    free(l->rows);
    ws_track_free(&l->ws);
    free(l);
}

void ladder_title(struct ladder *l, const char *title)
{
    snprintf(l->title, sizeof l->title, "%s", title);
}

int ladder_column(struct ladder *l, const char *name,
                  const struct sf_addr *ip)
{
    if (l->ncols >= 2)
        return -1;
    snprintf(l->colname[l->ncols], sizeof l->colname[0], "%s", name);
    l->colip[l->ncols] = *ip;
    l->colip[l->ncols].port = 0;
    return l->ncols++;
}

static struct ladder_row *add_row(struct ladder *l, enum ladder_row_kind k, sf_time_t t,
                           int col)
{
    if (col < 0 || col >= l->ncols)
        return NULL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct ladder_row *p = realloc(l->rows, cap * sizeof *p);
        if (!p)
            return NULL;
        l->rows = p;
        l->cap = cap;
    }
    struct ladder_row *r = &l->rows[l->n++];
    memset(r, 0, sizeof *r);
    r->kind = k;
    r->t = t;
    r->col = col;
    r->to = col;
    return r;
}

/* Sets the row's explanation if this kind of step has not had one yet. */
static void explain(struct ladder *l, struct ladder_row *r, enum explain_key k)
{
    if (!l->o.explain || l->explained[k] || r->why[0])
        return;
    l->explained[k] = true;
    snprintf(r->why, sizeof r->why, "%s",
             ladder_explain_text(k, l->o.zh));
}

/* ---------------------------------------------------------- segments */

static struct endpoint *endpoint(struct ladder *l, const struct sf_addr *a)
{
    for (int i = 0; i < l->nep; i++)
        if (sf_addr_eq(&l->ep[i].addr, a))
            return &l->ep[i];
    struct endpoint *e = &l->ep[l->nep < LADDER_MAX_EP ? l->nep++
                                                       : LADDER_MAX_EP - 1];
    memset(e, 0, sizeof *e);
    e->addr = *a;
    return e;
}

static void flag_names(uint8_t f, char *buf, size_t len)
{
    static const struct { uint8_t bit; const char *name; } names[] = {
        {SF_SYN, "SYN"}, {SF_FIN, "FIN"}, {SF_RST, "RST"}, {SF_PSH, "PSH"},
        {SF_ACK, "ACK"}, {SF_URG, "URG"}, {SF_ECE, "ECE"}, {SF_CWR, "CWR"}};
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit)
            o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s",
                                  o ? "," : "", names[i].name);
    if (!o)
        snprintf(buf, len, "none");
}

/* A sequence number relative to an ISN, signed so an old duplicate shows
 * as a small negative offset rather than a number near 2^32. */
static long long rel(const struct ladder *l, uint32_t v, const struct endpoint *e)
{
    if (l->o.absolute || !e || !e->has_isn)
        return v;
    return (int32_t)(v - e->isn);
}

static void opts_text(const struct sf_tcp_opts *o, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
#define ADD(...) n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__)
    if (o->has_mss)
        ADD("%smss %u", n ? "," : "", o->mss);
    if (o->sack_ok)
        ADD("%ssackOK", n ? "," : "");
    if (o->has_ts)
        ADD("%sTS val %u ecr %u", n ? "," : "", o->ts_val, o->ts_ecr);
    if (o->has_wscale)
        ADD("%swscale %u", n ? "," : "", o->wscale);
    for (unsigned i = 0; i < o->nsack && i < 4; i++)
        ADD("%ssack %u-%u", n ? "," : "", o->sack[i][0], o->sack[i][1]);
#undef ADD
}

/* win: the window in bytes (RFC 7323 scaling applied, io/wscale.h) */
static void seg_label(struct ladder *l, struct ladder_row *r, const struct sf_tcp *t,
                      uint32_t win, const struct endpoint *src,
                      const struct endpoint *dst)
{
    char fl[40], op[120];
    flag_names(t->flags, fl, sizeof fl);
    opts_text(&t->opt, op, sizeof op);
    size_t n = (size_t)snprintf(r->text, sizeof r->text, "%s seq=%lld", fl,
                                rel(l, t->seq, src));
    if (t->flags & SF_ACK)
        n += (size_t)snprintf(r->text + n, sizeof r->text - n, " ack=%lld",
                              rel(l, t->ack, dst));
    n += (size_t)snprintf(r->text + n, sizeof r->text - n, " win=%u", win);
    if (t->len && n < sizeof r->text)
        n += (size_t)snprintf(r->text + n, sizeof r->text - n, " len=%zu",
                              t->len);
    if (op[0] && n < sizeof r->text)
        snprintf(r->text + n, sizeof r->text - n, " <%s>", op);
}

/* Picks the teaching line for a segment from what each side has done. */
static void explain_seg(struct ladder *l, struct ladder_row *r, const struct sf_tcp *t,
                        struct endpoint *src, struct endpoint *dst)
{
    uint8_t f = t->flags;
    if (r->flags & LADDER_OLD)
        explain(l, r, EX_OLD);
    else if ((f & SF_RST) && !src->has_isn && (f & SF_ACK))
        explain(l, r, EX_RST_REFUSED);
    else if ((f & SF_RST) && src->got_synack && !src->hs_acked)
        explain(l, r, EX_RST_OLD);
    else if (f & SF_RST)
        explain(l, r, EX_RST);
    else if ((f & SF_SYN) && (f & SF_ACK))
        explain(l, r, EX_SYNACK);
    else if (f & SF_SYN)
        explain(l, r, EX_SYN);
    else if (f & SF_FIN)
        explain(l, r, EX_FIN);
    else if (t->len)
        explain(l, r, EX_DATA);
    else if (dst->fin_sent && t->ack == dst->fin_seq + 1)
        explain(l, r, EX_FIN_ACK);
    else if (src->got_synack && !src->hs_acked)
        explain(l, r, EX_HS_ACK);
    else
        explain(l, r, EX_ACK);
}

/* Updates what the explainer knows after a segment is sent. */
static void learn(struct ladder *l, const struct ladder_row *r, const struct sf_tcp *t,
                  struct endpoint *src, struct endpoint *dst)
{
    (void)l;
    if (r->flags & LADDER_OLD)
        return;
    /* The latest SYN an endpoint sends defines its ISN: a new SYN with a
     * new number is a new incarnation of the connection. */
    if (t->flags & SF_SYN) {
        src->has_isn = true;
        src->isn = t->seq;
        src->hs_acked = src->fin_sent = false;
        if (t->flags & SF_ACK)
            dst->got_synack = true;
    } else if ((t->flags & SF_ACK) && src->got_synack) {
        src->hs_acked = true;
    }
    if (t->flags & SF_FIN) {
        src->fin_sent = true;
        src->fin_seq = t->seq + (uint32_t)t->len;
    }
}

static void seg_note(struct ladder_row *r, sf_time_t arrive, const char *lost,
                     bool zh)
{
    size_t n = 0;
    r->note[0] = 0;
#define ADD(...) n += (size_t)snprintf(r->note + n, n < sizeof r->note ? sizeof r->note - n : 0, __VA_ARGS__)
    if (lost)
        ADD("%s", lost);
    else if (!(r->flags & LADDER_CAPTURED))
        ADD(zh ? "%.3f 到达" : "arrives %.3f", (double)arrive / (double)SF_MSEC);
    if (r->flags & LADDER_OLD)
        ADD("%s", zh ? "，旧的重复报文" : ", old duplicate");
    if (r->flags & LADDER_DUP)
        ADD("%s", zh ? "，重复" : ", duplicate");
    if (r->flags & LADDER_REORDERED)
        ADD("%s", zh ? "，乱序" : ", reordered");
    if (r->flags & LADDER_CORRUPTED)
        ADD("%s", zh ? "，损坏" : ", corrupted");
#undef ADD
}

void ladder_segment(struct ladder *l, sf_time_t sent, int from, int to,
                    const uint8_t *dgram, size_t len, sf_time_t arrive,
                    const char *lost, unsigned flags)
{
    struct ladder_row *r = add_row(l, ROW_SEG, sent, from);
    if (!r || to < 0 || to >= l->ncols) {
        if (r)
            l->n--;
        return;
    }
    r->to = to;
    r->flags = flags;
    r->lost = lost != NULL;
    r->arrive = lost || (flags & LADDER_CAPTURED) ? sent : arrive;
    seg_note(r, arrive, lost, l->o.zh);
    struct dgram g;
    const struct sf_tcp *tp = &g.t;
    if (dgram_parse(dgram, len, &g) != SF_DROP_NONE) {
        snprintf(r->text, sizeof r->text, l->o.zh ? "（不是有效的 TCP 报文段，%zu 字节）"
                                                  : "(not a valid TCP segment, %zu bytes)",
                 len);
        return;
    }
    if (!l->colport[from])
        l->colport[from] = tp->sport;
    if (!l->colport[to] && to != from)
        l->colport[to] = tp->dport;
    struct endpoint *src = endpoint(l, &g.src);
    struct endpoint *dst = endpoint(l, &g.dst);
    if (!(flags & LADDER_OLD) && (tp->flags & SF_SYN)) {
        src->has_isn = true; /* label this SYN relative to itself */
        src->isn = tp->seq;
    }
    seg_label(l, r, tp, ws_window(&l->ws, &g.src, &g.dst, tp), src, dst);
    if (lost)
        explain(l, r, EX_LOST);
    else if (flags & LADDER_CORRUPTED)
        explain(l, r, EX_CORRUPT);
    else if (flags & LADDER_DUP)
        explain(l, r, EX_DUP);
    else if (flags & LADDER_REORDERED)
        explain(l, r, EX_REORDER);
    explain_seg(l, r, tp, src, dst);
    learn(l, r, tp, src, dst);
    if (!(flags & LADDER_OLD)) /* an old duplicate SYN says nothing now */
        ws_learn(&l->ws, &g.src, tp);
}

/* ------------------------------------------------------ other rows */

void ladder_state(struct ladder *l, sf_time_t t, int col, enum sf_state from,
                  enum sf_state to, enum sf_cause cause)
{
    struct ladder_row *r = add_row(l, ROW_STATE, t, col);
    if (!r)
        return;
    r->from = from;
    r->state = to;
    snprintf(r->text, sizeof r->text, "%s → %s", sf_state_name(from),
             sf_state_name(to));
    if ((unsigned)cause < SF_NCAUSES)
        snprintf(r->note, sizeof r->note, "%s", ladder_cause_word(cause, l->o.zh));
    if (!l->o.explain || l->state_explained[from][to])
        return;
    const char *why = ladder_state_text(from, to, cause, l->o.zh);
    if (!why)
        return;
    l->state_explained[from][to] = true;
    if (to == SF_TIME_WAIT)
        snprintf(r->why, sizeof r->why, l->o.zh ? "%s（2*MSL = %.0f 秒）"
                                                : "%s (2*MSL = %.0f s)", why,
                 2.0 * (double)l->o.msl / (double)SF_SEC);
    else
        snprintf(r->why, sizeof r->why, "%s", why);
}

void ladder_drop(struct ladder *l, sf_time_t t, int col, enum sf_drop why)
{
    struct ladder_row *r = add_row(l, ROW_DROP, t, col);
    if (!r)
        return;
    if (l->o.zh)
        snprintf(r->text, sizeof r->text, "✗ 协议栈丢弃");
    else
        snprintf(r->text, sizeof r->text, "✗ dropped: %s", sf_drop_name(why));
    snprintf(r->note, sizeof r->note, "%s", ladder_drop_word(why, l->o.zh));
    if (why == SF_DROP_TCP_CSUM || why == SF_DROP_IP_CSUM)
        explain(l, r, EX_CORRUPT);
    else
        explain(l, r, EX_DROP);
}

void ladder_timer(struct ladder *l, sf_time_t t, int col,
                  enum sf_timer_kind k)
{
    struct ladder_row *r = add_row(l, ROW_TIMER, t, col);
    if (!r)
        return;
    if (k == SF_TIMER_TIME_WAIT) {
        snprintf(r->text, sizeof r->text, "%s",
                 l->o.zh ? "↻ TIME_WAIT 到期" : "↻ time-wait expired");
        explain(l, r, EX_TW_EXPIRED);
    } else {
        snprintf(r->text, sizeof r->text, l->o.zh ? "↻ %s定时器" : "↻ %s timer",
                 ladder_timer_word(k, l->o.zh));
        if (k == SF_TIMER_RETRANSMIT)
            explain(l, r, EX_RETRANSMIT);
    }
}

void ladder_note(struct ladder *l, sf_time_t t, int col, const char *text)
{
    struct ladder_row *r = add_row(l, ROW_NOTE, t, col);
    if (r)
        snprintf(r->text, sizeof r->text, "· %s", ladder_note_word(text, l->o.zh));
}

void ladder_col_addr(const struct ladder_view *v, int c, char *buf, size_t n)
{
    struct sf_addr ad = v->ip[c];
    ad.port = v->port[c];
    if (v->port[c])
        sf_addr_fmt(&ad, buf, n);
    else
        sf_addr_ip_fmt(&ad, buf, n);
}

void ladder_get_view(const struct ladder *l, struct ladder_view *v)
{
    *v = (struct ladder_view){.title = l->title, .ncols = l->ncols,
                              .rows = l->rows, .n = l->n,
                              .color = l->o.color, .zh = l->o.zh};
    for (int c = 0; c < l->ncols; c++) {
        v->name[c] = l->colname[c];
        v->ip[c] = l->colip[c];
        v->port[c] = l->colport[c];
    }
}
