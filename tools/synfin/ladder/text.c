/* The ladder's teaching text, English and Chinese, as data: one line for
 * each new kind of step (--explain), one for each state change, and the
 * reason written beside each state change. */
#include <stddef.h>
#include <string.h>

#include "ladder/ladder_int.h"
#include "synfin/sim.h"

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

const char *ladder_explain_text(enum explain_key k, bool zh)
{
    return zh ? explain_text[k].zh : explain_text[k].en;
}

#define ANY (-1)

/* Explanations of state changes, by the state entered (and the one left,
 * or the cause, where that changes the reason): the first row that fits.
 * Entering CLOSED at the end of TIME_WAIT has none (the timer row
 * explains it). */
static const struct state_text {
    enum sf_state to;
    int from;  /* enum sf_state, or ANY */
    int cause; /* enum sf_cause, or ANY */
    struct bitext text;
} state_texts[] = {
    {SF_LISTEN, SF_SYN_RCVD, ANY,
     {"Reset while half-open from a passive OPEN: back to LISTEN, "
      "as if the SYN had never come (RFC 9293 3.10.7.4).",
      "被动打开的半连接收到 RST：回到 LISTEN，就像那个 SYN 从未到达"
      "（RFC 9293 3.10.7.4）。"}},
    {SF_LISTEN, ANY, ANY,
     {"listen(): a passive OPEN, waiting for a SYN.",
      "listen()：被动打开，等待 SYN。"}},
    {SF_SYN_SENT, ANY, ANY,
     {"connect(): an active OPEN; the SYN is out, waiting for SYN,ACK.",
      "connect()：主动打开；SYN 已发出，等待 SYN,ACK。"}},
    {SF_SYN_RCVD, SF_SYN_SENT, ANY,
     {"Simultaneous open: a SYN arrived while ours was still "
      "unanswered; each side answers with SYN,ACK.",
      "同时打开：自己的 SYN 尚未得到应答时收到了对方的 SYN；"
      "双方都回复 SYN,ACK。"}},
    {SF_SYN_RCVD, ANY, ANY,
     {"A SYN arrived: the SYN,ACK goes back, waiting for the last "
      "ACK of the handshake.",
      "收到 SYN：回复 SYN,ACK，等待握手的最后一个 ACK。"}},
    {SF_ESTABLISHED, ANY, ANY,
     {"The connection is open: data may now flow both ways.",
      "连接已建立：数据可以双向传输了。"}},
    {SF_FIN_WAIT_1, ANY, ANY,
     {"close(): our FIN is sent; waiting for its ACK.",
      "close()：FIN 已发出，等待它的 ACK。"}},
    {SF_FIN_WAIT_2, ANY, ANY,
     {"Our FIN is acknowledged: our direction is closed but the peer "
      "may still send. The connection is half-closed.",
      "我们的 FIN 已被确认：本方向已关闭，但对端仍可发送数据——连接处于半关闭状态。"}},
    {SF_CLOSE_WAIT, ANY, ANY,
     {"The peer closed its direction: the application reads EOF "
      "(recv returns 0) and decides when to close its own.",
      "对端关闭了它的方向：应用读到 EOF（recv 返回 0），自己决定何时关闭本方向。"}},
    {SF_LAST_ACK, ANY, ANY,
     {"close() after the peer's FIN: our FIN is sent; its ACK will be "
      "the last segment of the connection.",
      "收到对端 FIN 之后调用 close()：FIN 已发出，它的 ACK 将是连接的最后一个报文段。"}},
    {SF_CLOSING, ANY, ANY,
     {"Simultaneous close: the peer's FIN arrived before the ACK of "
      "ours; both sides now wait for that ACK.",
      "同时关闭：对端的 FIN 先于对我方 FIN 的 ACK 到达；双方都在等待这个 ACK。"}},
    {SF_TIME_WAIT, ANY, ANY,
     {"TIME_WAIT lasts 2*MSL: old duplicates of this connection die out "
      "before its addresses can be reused, and if our last ACK is lost "
      "the peer's retransmitted FIN can be ACKed again.",
      "TIME_WAIT 持续 2*MSL：让该连接的旧重复报文在地址被重用前消亡；"
      "若最后的 ACK 丢失，还能再次确认对端重传的 FIN。"}},
    {SF_CLOSED, ANY, SF_CAUSE_RCV_ACK_OF_FIN,
     {"The ACK of our FIN arrived: both directions are closed. The "
      "side that closed second needs no TIME_WAIT.",
      "收到对我方 FIN 的确认：两个方向都已关闭。后关闭的一方不需要 TIME_WAIT。"}},
    {SF_CLOSED, ANY, SF_CAUSE_RCV_RST,
     {"Reset: the connection is gone at once.",
      "被重置：连接立即消失。"}},
    {SF_CLOSED, ANY, SF_CAUSE_ABORT,
     {"SO_LINGER {1, 0} turns close() into ABORT: a RST instead of "
      "a FIN, and no TIME_WAIT.",
      "SO_LINGER {1, 0} 把 close() 变成 ABORT：发送 RST 而不是 FIN，"
      "也没有 TIME_WAIT。"}},
    {SF_CLOSED, ANY, SF_CAUSE_TIMEOUT_RETRANSMIT,
     {"Too many retransmissions: the stack gives up and the call "
      "fails with ETIMEDOUT.",
      "重传次数过多：协议栈放弃，调用返回 ETIMEDOUT。"}},
};

const char *ladder_state_text(enum sf_state from, enum sf_state to,
                              enum sf_cause cause, bool zh)
{
    for (size_t i = 0; i < sizeof state_texts / sizeof state_texts[0]; i++) {
        const struct state_text *t = &state_texts[i];
        if (t->to == to && (t->from == ANY || t->from == (int)from) &&
            (t->cause == ANY || t->cause == (int)cause))
            return zh ? t->text.zh : t->text.en;
    }
    return NULL;
}

static const char *const cause_text[SF_NCAUSES] = {
#define SF_X_(name, text) [SF_CAUSE_##name] = text,
    SF_CAUSE_LIST(SF_X_)
#undef SF_X_
};

const char *ladder_cause_text(enum sf_cause cause)
{
    return cause_text[cause];
}

/* Row i of the state-change table, for the TCP lab's page (lab/html.c),
 * which picks its text the same way: the first row that fits. from and
 * cause are -1 for any. Returns 0, or -1 past the last row. */
int ladder_state_text_row(size_t i, int *to, int *from, int *cause,
                          const char **en, const char **zh)
{
    if (i >= sizeof state_texts / sizeof state_texts[0])
        return -1;
    const struct state_text *t = &state_texts[i];
    *to = (int)t->to;
    *from = t->from;
    *cause = t->cause;
    *en = t->text.en;
    *zh = t->text.zh;
    return 0;
}

/* ------------------------------------------------ Chinese words (--lang zh) */

/* The reason beside a state change, in Chinese (state names, flags and
 * call names stay as the RFC and the API write them). */
static const char *const cause_zh[SF_NCAUSES] = {
    [SF_CAUSE_OPEN_ACTIVE] = "主动打开（connect）",
    [SF_CAUSE_OPEN_PASSIVE] = "被动打开（listen）",
    [SF_CAUSE_RCV_SYN] = "收到 SYN",
    [SF_CAUSE_RCV_SYNACK] = "收到 SYN,ACK",
    [SF_CAUSE_RCV_ACK] = "收到 ACK",
    [SF_CAUSE_RCV_ACK_OF_FIN] = "收到对我方 FIN 的 ACK",
    [SF_CAUSE_RCV_FIN] = "收到 FIN",
    [SF_CAUSE_RCV_FIN_ACK] = "收到 FIN，并确认了我方的 FIN",
    [SF_CAUSE_RCV_RST] = "收到 RST",
    [SF_CAUSE_CLOSE] = "CLOSE（close 或 shutdown）",
    [SF_CAUSE_ABORT] = "ABORT（SO_LINGER 为 0 的 close）",
    [SF_CAUSE_TIMEOUT_RETRANSMIT] = "达到重传次数上限",
    [SF_CAUSE_TIMEOUT_TIME_WAIT] = "2*MSL 到期",
    [SF_CAUSE_TIMEOUT_FIN_WAIT_2] = "FIN_WAIT_2 超时",
    [SF_CAUSE_TIMEOUT_KEEPALIVE] = "保活探测无应答",
    [SF_CAUSE_LISTENER_CLOSED] = "监听套接字已关闭",
    [SF_CAUSE_NEW_INCARNATION] = "序号超过 RCV.NXT 的 SYN：新的连接化身",
    [SF_CAUSE_ICMP_ERROR] = "打开过程中收到 ICMP 硬错误（RFC 9293 3.9.2.2）",
};

const char *ladder_cause_word(enum sf_cause cause, bool zh)
{
    if ((unsigned)cause >= SF_NCAUSES)
        return "";
    return zh && cause_zh[cause] ? cause_zh[cause] : cause_text[cause];
}

/* Why a stack dropped a segment, in Chinese. */
static const char *const drop_zh[SF_NDROPS] = {
    [SF_DROP_IP_SHORT] = "IPv4：比首部还短",
    [SF_DROP_IP_VERSION] = "IPv4：版本号不是 4",
    [SF_DROP_IP_HDRLEN] = "IPv4：首部长度错误",
    [SF_DROP_IP_TOTLEN] = "IPv4：总长度与数据报不符",
    [SF_DROP_IP_CSUM] = "IPv4：首部校验和错误",
    [SF_DROP_IP_FRAGMENT] = "IPv4：分片（不重组）",
    [SF_DROP_IP_PROTO] = "IPv4：不是 TCP",
    [SF_DROP_IP_ADDR] = "IPv4：目的地址不是本协议栈",
    [SF_DROP_IP_BAD_SRC] = "IPv4：源地址是广播、组播或未指定地址",
    [SF_DROP_TCP_SHORT] = "TCP：比首部还短",
    [SF_DROP_TCP_DOFF] = "TCP：数据偏移错误",
    [SF_DROP_TCP_CSUM] = "TCP：校验和错误",
    [SF_DROP_TCP_OPT_LEN] = "TCP：选项长度越过首部或小于 2",
    [SF_DROP_TCP_OPT_BAD] = "TCP：已知选项的长度错误",
    [SF_DROP_TCP_PORT_ZERO] = "TCP：端口为 0",
    [SF_DROP_TCP_FLAGS] = "TCP：不可能的标志组合",
    [SF_DROP_NO_SOCKET] = "没有连接或监听者（除非是 RST，否则回 RST）",
    [SF_DROP_CLOSED_RST] = "发往关闭端口的 RST（忽略）",
    [SF_DROP_LISTEN_RST] = "LISTEN 状态收到 RST（忽略）",
    [SF_DROP_LISTEN_ACK] = "LISTEN 状态收到 ACK（回 RST）",
    [SF_DROP_LISTEN_NO_SYN] = "LISTEN：没有 SYN 的报文段",
    [SF_DROP_LISTEN_OVERFLOW] = "LISTEN：接受队列已满（丢弃 SYN）",
    [SF_DROP_SYNQ_FULL] = "LISTEN：SYN 队列已满且未启用 cookie（丢弃 SYN）",
    [SF_DROP_ACCEPTQ_FULL] = "接受队列已满：丢弃最后的 ACK",
    [SF_DROP_COOKIE_BAD] = "ACK 携带无效或过期的 SYN cookie（回 RST）",
    [SF_DROP_SYNSENT_BAD_ACK] = "SYN_SENT：不可接受的 ACK（回 RST）",
    [SF_DROP_SYNSENT_NO_SYN] = "SYN_SENT：既无 SYN 也无 RST",
    [SF_DROP_SYNSENT_RST_NO_ACK] = "SYN_SENT：RST 没有可接受的 ACK",
    [SF_DROP_OUT_OF_WINDOW] = "序号不可接受（回 ACK）",
    [SF_DROP_RST_OUT_OF_WINDOW] = "RST 在窗口之外",
    [SF_DROP_RST_CHALLENGED] = "RST 在窗口内但不等于 RCV.NXT（挑战 ACK）",
    [SF_DROP_SYN_CHALLENGED] = "同步状态下收到 SYN（挑战 ACK）",
    [SF_DROP_NO_ACK] = "报文段没有 ACK",
    [SF_DROP_ACK_UNACCEPTABLE] = "ACK 超出可接受范围",
    [SF_DROP_ACK_UNSENT] = "确认了尚未发送的数据（回 ACK）",
    [SF_DROP_SYNRCVD_BAD_ACK] = "SYN_RCVD：不可接受的 ACK（回 RST）",
    [SF_DROP_DATA_NOT_SYNCHRONIZED] = "FIN 之后或关闭状态中的数据",
    [SF_DROP_REASS_FULL] = "乱序数据超出重组上限",
    [SF_DROP_RCVBUF_FULL] = "接收缓冲区已满",
    [SF_DROP_CHALLENGE_ACK_LIMIT] = "达到挑战 ACK 速率上限",
    [SF_DROP_NO_MEMORY] = "内存不足",
    [SF_DROP_LISTEN_SYN_FIN] = "LISTEN：同时带 FIN 的 SYN（扫描，丢弃）",
    [SF_DROP_PAWS] = "RFC 7323 PAWS：时间戳早于 TS.Recent（回 ACK）",
    [SF_DROP_TS_MISSING] = "RFC 7323 3.2：使用时间戳的连接上缺少时间戳",
    [SF_DROP_IP6_SHORT] = "IPv6：不足 40 字节的首部",
    [SF_DROP_IP6_VERSION] = "IPv6：版本号不是 6",
    [SF_DROP_IP6_PLEN] = "IPv6：载荷长度越过数据报",
    [SF_DROP_IP6_BAD_SRC] = "IPv6：源地址为组播、::、::1 或 IPv4 映射地址",
    [SF_DROP_IP6_BAD_DST] = "IPv6：目的地址为 ::、::1 或 IPv4 映射地址（组播：TCP）",
    [SF_DROP_IP6_EXT_LEN] = "IPv6：扩展首部越过载荷",
    [SF_DROP_IP6_EXT_MANY] = "IPv6：超过 8 个扩展首部",
    [SF_DROP_IP6_EXT_UNKNOWN] = "IPv6：ESP、AH 或其他不解析的扩展首部",
    [SF_DROP_IP6_HBH_ORDER] = "IPv6：逐跳选项首部不在最前",
    [SF_DROP_IP6_OPT_LEN] = "IPv6：选项越过其扩展首部",
    [SF_DROP_IP6_OPT_UNKNOWN] = "IPv6：无法识别且类型要求丢弃的选项",
    [SF_DROP_IP6_OPT_EXCESS] = "IPv6：连续超过 7 个填充字节或 8 个选项",
    [SF_DROP_IP6_ROUTING] = "IPv6：剩余段数不为零的路由首部",
    [SF_DROP_IP6_FRAGMENT] = "IPv6：分片（不重组）",
    [SF_DROP_IP6_PROTO] = "IPv6：不是 TCP",
    [SF_DROP_IP6_ADDR] = "IPv6：目的地址不是本协议栈",
    [SF_DROP_ICMP_BAD] = "ICMP 差错：校验和错误、太短，或没有对应的连接",
    [SF_DROP_ICMP_NOT_IN_FLIGHT] = "ICMP 差错：引用的报文段不在途中",
    [SF_DROP_ICMP_MTU_IGNORED] = "ICMP 报文过大：MTU 不低于路径的 MTU",
    [SF_DROP_SYN_FILTERED] = "LISTEN：SYN 被监听者的过滤器拒绝或丢弃",
    [SF_DROP_SYN_DEFERRED] = "发往延后处理的 SYN 的报文段（暂不应答）",
    [SF_DROP_UDP_PROTO] = "UDP：IP 协议号不是 UDP（17）",
    [SF_DROP_UDP_SHORT] = "UDP：不足 8 字节的首部",
    [SF_DROP_UDP_LEN] = "UDP：长度字段小于 8 或越过 IP 载荷",
    [SF_DROP_UDP_CSUM] = "UDP：校验和错误",
    [SF_DROP_UDP_CSUM_ZERO6] = "IPv6 上的 UDP：校验和为零（RFC 8200 8.1）",
    [SF_DROP_UDP_PORT_ZERO] = "UDP：目的端口为 0",
};

const char *ladder_drop_word(enum sf_drop d, bool zh)
{
    if ((unsigned)d >= SF_NDROPS)
        return "";
    return zh && drop_zh[d] ? drop_zh[d] : sf_drop_text(d);
}

/* Why the simulated network dropped a datagram, in Chinese. */
static const char *const sim_drop_zh[SF_SIM_NDROPS] = {
    [SF_SIM_DROP_NONE] = "未丢弃",
    [SF_SIM_DROP_LOSS] = "在链路上丢失",
    [SF_SIM_DROP_MTU] = "超过链路 MTU",
    [SF_SIM_DROP_QUEUE] = "链路队列已满",
    [SF_SIM_DROP_DOWN] = "链路中断",
    [SF_SIM_DROP_FILTER] = "被过滤器丢弃",
    [SF_SIM_DROP_NO_ROUTE] = "没有主机拥有该地址",
    [SF_SIM_DROP_SHORT] = "不是 IPv4 或 IPv6 数据报",
};

const char *ladder_sim_drop_word(enum sf_sim_drop d, bool zh)
{
    if ((unsigned)d >= SF_SIM_NDROPS)
        return "";
    return zh && sim_drop_zh[d] ? sim_drop_zh[d] : sf_sim_drop_text(d);
}

/* A timer's name: "retransmit", or in Chinese. */
const char *ladder_timer_word(enum sf_timer_kind k, bool zh)
{
    static const char *const zhw[SF_NTIMERS] = {
        [SF_TIMER_RETRANSMIT] = "重传", [SF_TIMER_TIME_WAIT] = "TIME_WAIT",
        [SF_TIMER_FIN_WAIT_2] = "FIN_WAIT_2", [SF_TIMER_KEEPALIVE] = "保活",
        [SF_TIMER_PERSIST] = "坚持", [SF_TIMER_DELACK] = "延迟确认",
        [SF_TIMER_PACING] = "发送节奏"};
    if ((unsigned)k >= SF_NTIMERS)
        return "";
    return zh && zhw[k] ? zhw[k] : sf_timer_name(k);
}

/* The notes the core writes in its trace (tcp_note), in Chinese; a note
 * not listed here is shown as the core wrote it. */
static const struct bitext notes[] = {
    {"timeout was spurious (RFC 3522): window restored",
     "超时是虚假的（RFC 3522）：恢复拥塞窗口"},
    {"deferred SYN: peer reset it", "延后处理的 SYN：对端已将其重置"},
    {"challenge ACK: per-connection limit, not sent",
     "挑战 ACK：达到单连接上限，未发送"},
    {"challenge ACK rate limit reached: not sent",
     "达到挑战 ACK 速率上限：未发送"},
    {"ACK to an unacceptable segment: rate-limited",
     "对不可接受报文段的 ACK：已限速"},
    {"ICMP hard error while opening: aborted", "打开过程中收到 ICMP 硬错误：已中止"},
    {"ICMP hard error in a synchronized state: noted as soft (RFC 5461 4)",
     "同步状态下收到 ICMP 硬错误：按软错误记下（RFC 5461 4）"},
    {"ICMP soft error: noted", "ICMP 软错误：已记下"},
    {"R1 reached (RFC 1122 4.2.3.5)", "达到 R1 次重传（RFC 1122 4.2.3.5）"},
    {"recovery undone: every retransmission D-SACKed",
     "撤销恢复：每个重传都被 D-SACK 确认"},
    {"SACK reneging: scoreboard cleared (RFC 2018 8)",
     "SACK 食言：清空记分板（RFC 2018 8）"},
    {"tail loss probe (RFC 8985 7.3)", "尾部丢包探测（RFC 8985 7.3）"},
    {"orphan retries reached: reset", "达到孤儿连接重试上限：重置"},
    {"TIME_WAIT records at max_tw: closed at once",
     "TIME_WAIT 记录数达到 max_tw：立即关闭"},
    {"peer's window scale above 14: 14 used", "对端的窗口缩放因子超过 14：按 14 处理"},
    {"path MTU lowered (ICMP too big): flight sent again",
     "路径 MTU 降低（ICMP 报文过大）：在途数据重新发送"},
    {"memory pressure: out-of-order data pruned (reneging)",
     "内存紧张：丢弃乱序数据（食言）"},
};

int ladder_note_row(size_t i, const char **en, const char **zh)
{
    if (i >= sizeof notes / sizeof notes[0])
        return -1;
    *en = notes[i].en;
    *zh = notes[i].zh;
    return 0;
}

const char *ladder_note_word(const char *note, bool zh)
{
    for (size_t i = 0; zh && i < sizeof notes / sizeof notes[0]; i++)
        if (!strcmp(note, notes[i].en))
            return notes[i].zh;
    return note;
}

/* ------------------------------------------- the commands' error words */

/* What `synfin sim` and `synfin ladder` say on stderr about bad input,
 * in Chinese (--lang zh; ladder_err_word). Option names, values, file
 * names and the terms of tests/sim/zh_words.py stay as typed. */
static const struct {
    const char *en, *zh;
} errs[] = {
    /* opt.c's reports */
    {"unknown option", "未知选项"},
    {"unknown option or missing value", "未知选项，或缺少取值"},
    /* the option tables' .why */
    {"MTU must be an integer in 104..65535 (40 bytes of headers plus the "
     "64-byte minimum MSS)",
     "MTU 必须是 104..65535 之间的整数（40 字节首部加上最小 64 字节的 MSS）"},
    {"language must be en or zh", "语言必须是 en 或 zh"},
    {"must be en or zh", "必须是 en 或 zh"},
    {"must be 0 (every core) to 1024", "必须在 0（所有核）到 1024 之间"},
    {"must be 0 (off) or 1 (on)", "必须是 0（关）或 1（开）"},
    {"must be 0 (off), 1 (ask and accept) or 2 (accept when asked)",
     "必须是 0（关）、1（请求并接受）或 2（对方请求时接受）"},
    {"must be a connection number (see --list)", "必须是连接编号（见 --list）"},
    {"must be a non-negative integer", "必须是非负整数"},
    {"must be a non-negative number", "必须是非负数"},
    {"must be a positive integer (not too large)", "必须是正整数（不能过大）"},
    {"must be a whole number of bytes below 4G", "必须是小于 4G 的整数字节数"},
    {"must be a whole number of bytes in 1..10G", "必须是 1..10G 之间的整数字节数"},
    {"must be a whole number of bytes in 1..256M (SF_BUF_MAX)",
     "必须是 1..256M 之间的整数字节数（SF_BUF_MAX）"},
    {"must be a whole number of bytes in 1..4G", "必须是 1..4G 之间的整数字节数"},
    {"must be in (0, 86400] seconds", "必须在 (0, 86400] 秒之内"},
    {"must be in 0..600000 milliseconds", "必须在 0..600000 毫秒之内"},
    {"must be wire, client or server", "必须是 wire、client 或 server"},
    {"needs N:MS", "需要 N:MS 形式的取值"},
    {"needs a file name", "需要一个文件名"},
    {"needs datagram numbers", "需要数据报编号"},
    {"rate must be a number in 0..1", "比率必须是 0..1 之间的数"},
    /* synfin sim */
    {"a second scenario name (one at a time)", "第二个场景名（一次只能运行一个）"},
    {"must be datagram numbers 1..1e9, comma separated (at most 64 in all)",
     "必须是 1 到 10 亿之间的数据报编号，用逗号分隔（总共最多 64 个）"},
    {"must be N:MS pairs (N in 1..1e9, MS in 0..600000), comma separated",
     "必须是 N:MS 对（N 在 1 到 10 亿之间，MS 在 0..600000 之间），用逗号分隔"},
    {"needs --soak N", "需要同时给出 --soak N"},
    {"conflicts with --quiet", "与 --quiet 冲突"},
    {"needs --pcap FILE", "需要同时给出 --pcap 文件"},
    {"needs --bandwidth (without a link rate nothing is ever queued, so "
     "nothing is marked)",
     "需要同时给出 --bandwidth（没有链路速率就不会排队，也就不会标记）"},
    {"needs --bandwidth (without a link rate nothing is ever queued)",
     "需要同时给出 --bandwidth（没有链路速率就不会排队）"},
    {"must be below --queue (the queue would tail-drop before it marked)",
     "必须小于 --queue（否则队列会先尾部丢弃，来不及标记）"},
    {"cannot create", "无法创建"},
    {"write failed", "写入失败"},
    {"out of memory", "内存不足"},
    {"not with --soak", "不能与 --soak 同用"},
    {"not with the many scenario (a summary, no trace)",
     "不能用于 many 场景（它只有汇总，没有逐事件记录）"},
    {"not yet available (it needs parts of the stack still to come)",
     "暂不可用（它需要协议栈中尚未完成的部分）"},
    {"unknown scenario (see --list)", "未知场景（见 --list）"},
    {"cannot build the network", "无法搭建模拟网络"},
    /* synfin ladder */
    {"one capture at a time", "一次只能读一个抓包文件"},
    {"no capture file given (synfin ladder FILE.pcap)",
     "没有给出抓包文件（用法：synfin ladder 抓包文件）"},
    {"--explain conflicts with --quiet", "--explain 与 --quiet 冲突"},
    {"--html: out of memory", "--html：内存不足"},
};

const char *ladder_err_word(const char *en, bool zh)
{
    for (size_t i = 0; zh && i < sizeof errs / sizeof errs[0]; i++)
        if (!strcmp(en, errs[i].en))
            return errs[i].zh;
    return en;
}

bool ladder_args_zh(int argc, char **argv)
{
    bool zh = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lang") && i + 1 < argc)
            zh = !strcmp(argv[++i], "zh");
        else if (!strncmp(argv[i], "--lang=", 7))
            zh = !strcmp(argv[i] + 7, "zh");
    }
    return zh;
}
