/* The ladder diagram renderer (see ladder.h). Rows are collected, then
 * drawn with the arrow span sized to the widest label. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ladder.h"
#include "synfin/wire.h"


/* What the explainer remembers about one side of a connection. */
struct endpoint {
    uint32_t ip;
    uint16_t port;
    bool has_isn, fin_sent, got_synack, hs_acked;
    uint32_t isn, fin_seq;
};

#define LADDER_MAX_EP 16

enum explain_key {
    EX_SYN, EX_SYNACK, EX_HS_ACK, EX_DATA, EX_ACK, EX_FIN, EX_FIN_ACK,
    EX_RST, EX_RST_REFUSED, EX_RST_OLD, EX_LOST, EX_DUP, EX_CORRUPT,
    EX_REORDER, EX_OLD, EX_RETRANSMIT, EX_TW_EXPIRED, EX_DROP,
    EX_NKEYS
};

struct ladder {
    struct ladder_opts o;
    char title[200];
    int ncols;
    char colname[2][64];
    uint32_t colip[2];
    uint16_t colport[2];
    struct ladder_row *rows;
    size_t n, cap;
    struct endpoint ep[LADDER_MAX_EP];
    int nep;
    bool explained[EX_NKEYS];
    bool state_explained[SF_NSTATES][SF_NSTATES];
};

/* ------------------------------------------------------------ texts */

struct bitext {
    const char *en, *zh;
};

static const struct bitext explain_text[EX_NKEYS] = {
    [EX_SYN] = {"SYN asks to open a connection and announces this side's "
                "initial sequence number (ISN) and MSS. It carries no data "
                "but uses up one sequence number.",
                "SYN 请求建立连接，并告知本端的初始序号（ISN）和 MSS。"
                "SYN 不携带数据，却要占用一个序号。"},
    [EX_SYNACK] = {"SYN,ACK is the answer's own SYN (its own ISN) plus ack=1: "
                   "the peer's SYN used sequence number 0, so the next one "
                   "expected is ISN+1.",
                   "SYN,ACK 带上应答方自己的 SYN（它自己的 ISN），并确认 ack=1："
                   "对方的 SYN 占用了序号 0，所以期望的下一个序号是 ISN+1。"},
    [EX_HS_ACK] = {"This ACK completes the three-way handshake: each side's "
                   "ISN has now been acknowledged by the other, so both are "
                   "synchronized.",
                   "这个 ACK 完成了三次握手：双方的初始序号都已得到对方确认，"
                   "连接进入同步状态。"},
    [EX_DATA] = {"Data: len bytes starting at seq. The receiver answers "
                 "with ack=seq+len, the next byte it expects; acks are "
                 "cumulative.",
                 "数据：从 seq 开始的 len 个字节。接收方回复 ack=seq+len，"
                 "即它期望的下一个字节；确认是累计的。"},
    [EX_ACK] = {"A pure ACK: it acknowledges every byte before ack= and, "
                "carrying no data, uses no sequence number.",
                "纯 ACK：确认 ack= 之前的所有字节；它不携带数据，不占用序号。"},
    [EX_FIN] = {"FIN: this side has no more data to send. It closes only "
                "its own direction (the peer may go on sending), so a "
                "close takes four segments: a FIN and an ACK each way. "
                "The FIN uses one sequence number.",
                "FIN：本端没有数据要发送了。它只关闭自己这个方向（对端仍可继续"
                "发送），所以关闭连接要四个报文段——每个方向各一个 FIN 和一个 "
                "ACK，即四次挥手。FIN 占用一个序号。"},
    [EX_FIN_ACK] = {"The ACK of a FIN is the FIN's seq+1, because the FIN "
                    "used a sequence number.",
                    "对 FIN 的确认号是 FIN 的序号 + 1，因为 FIN 占用了一个序号。"},
    [EX_RST] = {"RST ends the connection at once: no FIN exchange, no "
                "TIME_WAIT, and unread data is thrown away; the peer's "
                "next call fails with ECONNRESET.",
                "RST 立即终止连接：没有挥手，没有 TIME_WAIT，未读的数据被丢弃；"
                "对端的下一次调用返回 ECONNRESET。"},
    [EX_RST_REFUSED] = {"Nobody listens on that port, so the host refuses "
                        "the SYN with RST,ACK; ack=ISN+1 shows which SYN it "
                        "answers. connect() fails with ECONNREFUSED.",
                        "该端口上没有监听者，主机用 RST,ACK 拒绝这个 SYN；"
                        "ack=ISN+1 表明它回应的是哪个 SYN。connect() 返回 "
                        "ECONNREFUSED。"},
    [EX_RST_OLD] = {"The SYN,ACK acknowledges a SYN this side never sent "
                    "(an old duplicate), so it answers RST with seq equal "
                    "to that ack, which the other side must accept "
                    "(RFC 9293 Figure 8).",
                    "这个 SYN,ACK 确认的是本端从未发出的 SYN（一个旧的重复报文），"
                    "于是本端回复 RST，其序号等于该确认号，对方必须接受"
                    "（RFC 9293 图 8）。"},
    [EX_LOST] = {"Lost in the network: the sender learns of it only when "
                 "no ACK comes before its retransmission timer fires.",
                 "在网络中丢失：发送方只有在重传定时器到期仍未收到 ACK 时才会察觉。"},
    [EX_DUP] = {"The network delivered this datagram twice; the receiver "
                "sees sequence numbers it already has and only ACKs again.",
                "网络把这个数据报投递了两次；接收方发现序号已收到过，只会再回一个 ACK。"},
    [EX_CORRUPT] = {"A bit was flipped on the way: the receiver's checksum "
                    "catches it and drops the segment without a word; the "
                    "sender will retransmit.",
                    "途中有一个比特被翻转：接收方的校验和发现错误，悄悄丢弃该报文段；"
                    "发送方随后会重传。"},
    [EX_REORDER] = {"Held back in the network: later segments overtake it "
                    "and it arrives out of order.",
                    "在网络中被延迟：后发的报文段先到，它乱序到达。"},
    [EX_OLD] = {"An old duplicate SYN from an earlier incarnation of this "
                "connection, still wandering in the network, arrives first.",
                "一个来自该连接早先化身的旧重复 SYN，仍在网络中游荡，先到达了。"},
    [EX_RETRANSMIT] = {"Retransmission timeout: no ACK came within the RTO, "
                       "so the segment is sent again and the RTO doubles "
                       "(exponential backoff, RFC 6298 5.5).",
                       "重传超时：在 RTO 内没有收到 ACK，于是重发该报文段，"
                       "并把 RTO 加倍（指数退避，RFC 6298 5.5）。"},
    [EX_TW_EXPIRED] = {"2*MSL has passed: any old duplicate of this "
                       "connection has died out, and the connection is "
                       "forgotten.",
                       "2*MSL 已过：该连接的旧重复报文都已消亡，连接被彻底遗忘。"},
    [EX_DROP] = {"The stack dropped this segment: it is counted under its "
                 "reason and, as the RFC asks, usually answered by nothing "
                 "or an ACK.",
                 "协议栈丢弃了这个报文段：按原因计数，并按 RFC 的要求通常不回应，"
                 "或只回一个 ACK。"},
};

/* Explanations of state changes, by the state entered (and the one left,
 * where that changes the reason). */
static const char *state_why(enum sf_state from, enum sf_state to,
                             enum sf_cause cause, bool zh)
{
#define B(en, zhs) return zh ? zhs : en
    switch (to) {
    case SF_LISTEN:
        if (from == SF_SYN_RCVD)
            B("Reset while half-open from a passive OPEN: back to LISTEN, "
              "as if the SYN had never come (RFC 9293 3.10.7.4).",
              "被动打开的半连接收到 RST：回到 LISTEN，就像那个 SYN 从未到达"
              "（RFC 9293 3.10.7.4）。");
        B("listen(): a passive OPEN, waiting for a SYN.",
          "listen()：被动打开，等待 SYN。");
    case SF_SYN_SENT:
        B("connect(): an active OPEN; the SYN is out, waiting for SYN,ACK.",
          "connect()：主动打开；SYN 已发出，等待 SYN,ACK。");
    case SF_SYN_RCVD:
        if (from == SF_SYN_SENT)
            B("Simultaneous open: a SYN arrived while ours was still "
              "unanswered; each side answers with SYN,ACK.",
              "同时打开：自己的 SYN 尚未得到应答时收到了对方的 SYN；"
              "双方都回复 SYN,ACK。");
        B("A SYN arrived: the SYN,ACK goes back, waiting for the last "
          "ACK of the handshake.",
          "收到 SYN：回复 SYN,ACK，等待握手的最后一个 ACK。");
    case SF_ESTABLISHED:
        B("The connection is open: data may now flow both ways.",
          "连接已建立：数据可以双向传输了。");
    case SF_FIN_WAIT_1:
        B("close(): our FIN is sent; waiting for its ACK.",
          "close()：FIN 已发出，等待它的 ACK。");
    case SF_FIN_WAIT_2:
        B("Our FIN is acknowledged: our direction is closed but the peer "
          "may still send. The connection is half-closed.",
          "我们的 FIN 已被确认：本方向已关闭，但对端仍可发送数据——连接处于半关闭状态。");
    case SF_CLOSE_WAIT:
        B("The peer closed its direction: the application reads EOF "
          "(recv returns 0) and decides when to close its own.",
          "对端关闭了它的方向：应用读到 EOF（recv 返回 0），自己决定何时关闭本方向。");
    case SF_LAST_ACK:
        B("close() after the peer's FIN: our FIN is sent; its ACK will be "
          "the last segment of the connection.",
          "收到对端 FIN 之后调用 close()：FIN 已发出，它的 ACK 将是连接的最后一个报文段。");
    case SF_CLOSING:
        B("Simultaneous close: the peer's FIN arrived before the ACK of "
          "ours; both sides now wait for that ACK.",
          "同时关闭：对端的 FIN 先于对我方 FIN 的 ACK 到达；双方都在等待这个 ACK。");
    case SF_TIME_WAIT:
        B("TIME_WAIT lasts 2*MSL: old duplicates of this connection die out "
          "before its addresses can be reused, and if our last ACK is lost "
          "the peer's retransmitted FIN can be ACKed again.",
          "TIME_WAIT 持续 2*MSL：让该连接的旧重复报文在地址被重用前消亡；"
          "若最后的 ACK 丢失，还能再次确认对端重传的 FIN。");
    case SF_CLOSED:
        if (cause == SF_CAUSE_TIMEOUT_TIME_WAIT)
            return NULL; /* the timer row explains it */
        if (cause == SF_CAUSE_RCV_ACK_OF_FIN)
            B("The ACK of our FIN arrived: both directions are closed. The "
              "side that closed second needs no TIME_WAIT.",
              "收到对我方 FIN 的确认：两个方向都已关闭。后关闭的一方不需要 TIME_WAIT。");
        if (cause == SF_CAUSE_RCV_RST)
            B("Reset: the connection is gone at once.",
              "被重置：连接立即消失。");
        if (cause == SF_CAUSE_ABORT)
            B("SO_LINGER {1, 0} turns close() into ABORT: a RST instead of "
              "a FIN, and no TIME_WAIT.",
              "SO_LINGER {1, 0} 把 close() 变成 ABORT：发送 RST 而不是 FIN，"
              "也没有 TIME_WAIT。");
        if (cause == SF_CAUSE_TIMEOUT_RETRANSMIT)
            B("Too many retransmissions: the stack gives up and the call "
              "fails with ETIMEDOUT.",
              "重传次数过多：协议栈放弃，调用返回 ETIMEDOUT。");
        return NULL;
    default:
        return NULL;
    }
#undef B
}

static const char *const cause_text[SF_NCAUSES] = {
#define SF_X_(name, text) [SF_CAUSE_##name] = text,
    SF_CAUSE_LIST(SF_X_)
#undef SF_X_
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
    free(l);
}

void ladder_title(struct ladder *l, const char *title)
{
    snprintf(l->title, sizeof l->title, "%s", title);
}

int ladder_column(struct ladder *l, const char *name, uint32_t ip)
{
    if (l->ncols >= 2)
        return -1;
    snprintf(l->colname[l->ncols], sizeof l->colname[0], "%s", name);
    l->colip[l->ncols] = ip;
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
             l->o.zh ? explain_text[k].zh : explain_text[k].en);
}

/* ---------------------------------------------------------- segments */

static struct endpoint *endpoint(struct ladder *l, uint32_t ip, uint16_t port)
{
    for (int i = 0; i < l->nep; i++)
        if (l->ep[i].ip == ip && l->ep[i].port == port)
            return &l->ep[i];
    struct endpoint *e = &l->ep[l->nep < LADDER_MAX_EP ? l->nep++
                                                       : LADDER_MAX_EP - 1];
    memset(e, 0, sizeof *e);
    e->ip = ip;
    e->port = port;
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

static void seg_label(struct ladder *l, struct ladder_row *r, const struct sf_tcp *t,
                      const struct endpoint *src, const struct endpoint *dst)
{
    char fl[40], op[120];
    flag_names(t->flags, fl, sizeof fl);
    opts_text(&t->opt, op, sizeof op);
    size_t n = (size_t)snprintf(r->text, sizeof r->text, "%s seq=%lld", fl,
                                rel(l, t->seq, src));
    if (t->flags & SF_ACK)
        n += (size_t)snprintf(r->text + n, sizeof r->text - n, " ack=%lld",
                              rel(l, t->ack, dst));
    n += (size_t)snprintf(r->text + n, sizeof r->text - n, " win=%u", t->win);
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

static void seg_note(struct ladder_row *r, sf_time_t arrive, const char *lost)
{
    size_t n = 0;
    r->note[0] = 0;
#define ADD(...) n += (size_t)snprintf(r->note + n, n < sizeof r->note ? sizeof r->note - n : 0, __VA_ARGS__)
    if (lost)
        ADD("%s", lost);
    else if (!(r->flags & LADDER_CAPTURED))
        ADD("arrives %.3f", (double)arrive / (double)SF_MSEC);
    if (r->flags & LADDER_OLD)
        ADD(", old duplicate");
    if (r->flags & LADDER_DUP)
        ADD(", duplicate");
    if (r->flags & LADDER_REORDERED)
        ADD(", reordered");
    if (r->flags & LADDER_CORRUPTED)
        ADD(", corrupted");
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
    seg_note(r, arrive, lost);
    struct sf_ipv4 ip;
    struct sf_tcp t;
    if (sf_ipv4_parse(dgram, len, &ip) != SF_DROP_NONE ||
        sf_tcp_parse(&ip, &t) != SF_DROP_NONE) {
        snprintf(r->text, sizeof r->text, "(not a valid TCP segment, %zu bytes)",
                 len);
        return;
    }
    if (!l->colport[from])
        l->colport[from] = t.sport;
    if (!l->colport[to] && to != from)
        l->colport[to] = t.dport;
    struct endpoint *src = endpoint(l, ip.src, t.sport);
    struct endpoint *dst = endpoint(l, ip.dst, t.dport);
    if (!(flags & LADDER_OLD) && (t.flags & SF_SYN)) {
        src->has_isn = true; /* label this SYN relative to itself */
        src->isn = t.seq;
    }
    seg_label(l, r, &t, src, dst);
    if (lost)
        explain(l, r, EX_LOST);
    else if (flags & LADDER_CORRUPTED)
        explain(l, r, EX_CORRUPT);
    else if (flags & LADDER_DUP)
        explain(l, r, EX_DUP);
    else if (flags & LADDER_REORDERED)
        explain(l, r, EX_REORDER);
    explain_seg(l, r, &t, src, dst);
    learn(l, r, &t, src, dst);
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
        snprintf(r->note, sizeof r->note, "%s", cause_text[cause]);
    if (!l->o.explain || l->state_explained[from][to])
        return;
    const char *why = state_why(from, to, cause, l->o.zh);
    if (!why)
        return;
    l->state_explained[from][to] = true;
    if (to == SF_TIME_WAIT)
        snprintf(r->why, sizeof r->why, "%s (2*MSL = %.0f s)", why,
                 2.0 * (double)l->o.msl / (double)SF_SEC);
    else
        snprintf(r->why, sizeof r->why, "%s", why);
}

void ladder_drop(struct ladder *l, sf_time_t t, int col, enum sf_drop why)
{
    struct ladder_row *r = add_row(l, ROW_DROP, t, col);
    if (!r)
        return;
    snprintf(r->text, sizeof r->text, "✗ dropped: %s", sf_drop_name(why));
    snprintf(r->note, sizeof r->note, "%s", sf_drop_text(why));
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
        snprintf(r->text, sizeof r->text, "↻ time-wait expired");
        explain(l, r, EX_TW_EXPIRED);
    } else {
        snprintf(r->text, sizeof r->text, "↻ %s timer", sf_timer_name(k));
        if (k == SF_TIMER_RETRANSMIT)
            explain(l, r, EX_RETRANSMIT);
    }
}

void ladder_note(struct ladder *l, sf_time_t t, int col, const char *text)
{
    struct ladder_row *r = add_row(l, ROW_NOTE, t, col);
    if (r)
        snprintf(r->text, sizeof r->text, "· %s", text);
}

void ladder_get_view(const struct ladder *l, struct ladder_view *v)
{
    *v = (struct ladder_view){.title = l->title, .ncols = l->ncols,
                              .rows = l->rows, .n = l->n};
    for (int c = 0; c < l->ncols; c++) {
        v->name[c] = l->colname[c];
        v->ip[c] = l->colip[c];
        v->port[c] = l->colport[c];
    }
}

/* ---------------------------------------------------------- drawing */

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BLUE "\033[34m"
#define C_MAGENTA "\033[35m"
#define C_CYAN "\033[36m"

#define MARGIN 12 /* "%10.3f  " */

/* Display width of UTF-8 text: one column a character, two for CJK. */
static int cp_width(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                   (cp >= 0xAC00 && cp <= 0xD7A3) ||
                   (cp >= 0xF900 && cp <= 0xFAFF) ||
                   (cp >= 0xFE30 && cp <= 0xFE4F) ||
                   (cp >= 0xFF00 && cp <= 0xFF60) ||
                   (cp >= 0xFFE0 && cp <= 0xFFE6)
               ? 2 : 1;
}

/* Decodes one UTF-8 character at s; returns its byte length (>= 1). */
static int utf8_next(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    int n = u[0] < 0x80 ? 1 : u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;
    uint32_t c = n == 1 ? u[0] : u[0] & (0x3F >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return *cp = 0xFFFD, i;
        c = c << 6 | (u[i] & 0x3F);
    }
    *cp = c;
    return n;
}

static int text_width(const char *s)
{
    int w = 0;
    uint32_t cp;
    while (*s) {
        s += utf8_next(s, &cp);
        w += cp_width(cp);
    }
    return w;
}

static void put_rep(FILE *f, const char *s, int n)
{
    for (int i = 0; i < n; i++)
        fputs(s, f);
}

struct pen {
    FILE *f;
    bool color;
};

static void ink(const struct pen *p, const char *code)
{
    if (p->color)
        fputs(code, p->f);
}

static const char *seg_color(const struct ladder_row *r)
{
    if (r->flags & LADDER_OLD)
        return C_YELLOW;
    if (strncmp(r->text, "RST", 3) == 0 || strstr(r->text, ",RST"))
        return C_RED;
    if (strstr(r->text, "SYN"))
        return C_CYAN;
    if (strstr(r->text, "FIN"))
        return C_MAGENTA;
    if (strstr(r->text, " len="))
        return C_BLUE;
    return "";
}

static const char *row_color(const struct ladder_row *r)
{
    switch (r->kind) {
    case ROW_SEG:
        return seg_color(r);
    case ROW_STATE:
        return r->state == SF_ESTABLISHED ? C_BOLD C_GREEN : C_BOLD C_YELLOW;
    case ROW_DROP:
        return C_RED;
    case ROW_TIMER:
        return C_YELLOW;
    case ROW_NOTE:
        return C_DIM;
    }
    return "";
}

/* The arrow inside the middle span of width aw. */
static void draw_arrow(const struct pen *p, const struct ladder_row *r, int aw)
{
    int lw = text_width(r->text) + 2;
    bool right = r->to > r->col;
    const char *c = seg_color(r);
    if (r->lost) {
        int gap = aw - lw - 5;
        if (!right)
            put_rep(p->f, " ", gap);
        ink(p, c);
        if (!right) {
            ink(p, C_RED);
            fputs("✗", p->f);
            ink(p, C_RESET);
            ink(p, c);
        }
        fprintf(p->f, "── %s ──", r->text);
        if (right) {
            ink(p, C_RED);
            fputs("✗", p->f);
        }
        ink(p, C_RESET);
        if (right)
            put_rep(p->f, " ", gap);
        return;
    }
    int dashes = aw - lw - 1, a = dashes / 2, b = dashes - a;
    ink(p, c);
    if (!right)
        fputs("◀", p->f);
    put_rep(p->f, "─", a);
    fprintf(p->f, " %s ", r->text);
    put_rep(p->f, "─", b);
    if (right)
        fputs("▶", p->f);
    ink(p, C_RESET);
}

/* Text beside a lifeline: after the left one, or before the right one. */
static void draw_label(const struct pen *p, const struct ladder_row *r, int aw,
                       bool at_right)
{
    int pad = aw - text_width(r->text) - 2;
    if (pad < 0)
        pad = 0;
    if (at_right)
        put_rep(p->f, " ", pad + 1);
    else
        fputs(" ", p->f);
    ink(p, row_color(r));
    fputs(r->text, p->f);
    ink(p, C_RESET);
    if (at_right)
        fputs(" ", p->f);
    else
        put_rep(p->f, " ", pad + 1);
}

static void draw_margin(const struct pen *p, const char *s)
{
    ink(p, C_DIM);
    fprintf(p->f, "%10s  ", s);
    ink(p, C_RESET);
}

static void draw_note(const struct pen *p, const char *note)
{
    if (!note[0])
        return;
    ink(p, C_DIM);
    fprintf(p->f, "  %s", note);
    ink(p, C_RESET);
}

/* A self-addressed segment on a one-lifeline ladder: out and back. */
static void draw_loop(const struct pen *p, const struct ladder_row *r, int aw)
{
    int w = text_width(r->text) + 6;
    if (w > aw)
        w = aw;
    ink(p, seg_color(r));
    fprintf(p->f, "├── %s ─%s", r->text, r->lost ? "✗" : "╮");
    ink(p, C_RESET);
    put_rep(p->f, " ", aw - w);
    draw_note(p, r->note);
    fputc('\n', p->f);
    draw_margin(p, "");
    ink(p, seg_color(r));
    if (r->lost)
        fputs("│", p->f);
    else {
        fputs("│◀", p->f);
        put_rep(p->f, "─", w - 2);
        fputs("╯", p->f);
    }
    ink(p, C_RESET);
}

static void draw_row(const struct pen *p, const struct ladder *l,
                     const struct ladder_row *r, int aw)
{
    char t[32];
    snprintf(t, sizeof t, "%.3f", (double)r->t / (double)SF_MSEC);
    draw_margin(p, t);
    if (l->ncols == 1 && r->kind == ROW_SEG) {
        draw_loop(p, r, aw);
        fputc('\n', p->f);
        return;
    }
    bool seg = r->kind == ROW_SEG;
    fputs(seg && r->col == 0 ? "├" : "│", p->f);
    if (seg)
        draw_arrow(p, r, aw);
    else
        draw_label(p, r, aw, r->col == 1);
    if (l->ncols == 2)
        fputs(seg && r->col == 1 ? "┤" : "│", p->f);
    draw_note(p, r->note);
    fputc('\n', p->f);
}

/* An empty stretch of the lifelines, with text in the margin or middle. */
static void draw_blank(const struct pen *p, const struct ladder *l, int aw,
                       const char *margin, const char *mid, const char *c)
{
    draw_margin(p, margin);
    fputs("│", p->f);
    int w = mid ? text_width(mid) : 0;
    if (mid) {
        ink(p, c);
        fputs(mid, p->f);
        ink(p, C_RESET);
    }
    if (l->ncols == 2) {
        put_rep(p->f, " ", aw - w > 0 ? aw - w : 0);
        fputs("│", p->f);
    }
    fputc('\n', p->f);
}

/* True if the character at s is one of those in set. */
static bool strchr_utf8(const char *set, const char *s)
{
    uint32_t c, k;
    utf8_next(s, &c);
    while (*set) {
        set += utf8_next(set, &k);
        if (k == c)
            return true;
    }
    return false;
}

/* Wraps an explanation to the middle span, each line between lifelines. */
static void draw_why(const struct pen *p, const struct ladder *l,
                     const char *why, int aw)
{
    int max = aw - 6;
    const char *s = why;
    while (*s) {
        const char *cut = s, *space = NULL;
        int w = 0;
        uint32_t cp;
        while (*cut) {
            int n = utf8_next(cut, &cp);
            if (w + cp_width(cp) > max)
                break;
            if (cp == ' ')
                space = cut;
            w += cp_width(cp);
            cut += n;
        }
        if (*cut && space && space > s && cp < 0x80)
            cut = space; /* break English at a space */
        else if (*cut && cp >= 0x3000 && strchr_utf8("。，；：）、", cut))
            cut += utf8_next(cut, &cp); /* no line starts with punctuation */
        char line[512];
        size_t len = (size_t)(cut - s) < sizeof line - 8 ? (size_t)(cut - s)
                                                          : sizeof line - 8;
        snprintf(line, sizeof line, "  %s %.*s", s == why ? "↳" : " ",
                 (int)len, s);
        draw_blank(p, l, aw, "", line, C_CYAN);
        s += len;
        while (*s == ' ')
            s++;
    }
}

static int arrow_span(const struct ladder *l)
{
    int aw = 52;
    for (size_t i = 0; i < l->n; i++) {
        int w = text_width(l->rows[i].text) + (l->rows[i].kind == ROW_SEG ? 8 : 4);
        if (w > aw)
            aw = w;
    }
    return aw;
}

static void draw_header(const struct pen *p, const struct ladder *l, int aw)
{
    if (l->title[0]) {
        ink(p, C_BOLD);
        fprintf(p->f, "%s", l->title);
        ink(p, C_RESET);
        fputs("\n\n", p->f);
    }
    char name[2][96];
    for (int c = 0; c < l->ncols; c++) {
        char a[32];
        struct sf_addr ad = {l->colip[c], l->colport[c]};
        sf_addr_fmt(&ad, a, sizeof a);
        if (!l->colport[c])
            *strrchr(a, ':') = 0;
        snprintf(name[c], sizeof name[c], "%s %s", l->colname[c], a);
    }
    ink(p, C_DIM);
    fprintf(p->f, "%10s  ", "time (ms)");
    ink(p, C_RESET);
    ink(p, C_BOLD);
    fputs(name[0], p->f);
    if (l->ncols == 2) {
        int gap = aw + 2 - text_width(name[0]) - text_width(name[1]);
        put_rep(p->f, " ", gap > 2 ? gap : 2);
        fputs(name[1], p->f);
    }
    ink(p, C_RESET);
    fputc('\n', p->f);
}

void ladder_print(struct ladder *l, FILE *f)
{
    struct pen p = {f, l->o.color};
    int aw = arrow_span(l);
    draw_header(&p, l, aw);
    draw_blank(&p, l, aw, "", NULL, "");
    for (size_t i = 0; i < l->n; i++) {
        const struct ladder_row *r = &l->rows[i];
        if (i && r->t - l->rows[i - 1].t >= SF_SEC) {
            char gap[64];
            snprintf(gap, sizeof gap, "  ⋮ %.3f s later",
                     (double)(r->t - l->rows[i - 1].t) / (double)SF_SEC);
            draw_blank(&p, l, aw, "", gap, C_DIM);
        }
        draw_row(&p, l, r, aw);
        if (r->why[0])
            draw_why(&p, l, r->why, aw);
    }
    draw_blank(&p, l, aw, "", NULL, "");
}
