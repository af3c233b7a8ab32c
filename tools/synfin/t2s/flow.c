/* synfin tun2socks' data path: one flow per TCP connection caught on the
 * TUN device.
 *
 * A SYN to any address reaches the transparent listener's filter
 * (on_syn), which holds it (SF_SYN_DEFER) while the upstream is opened: a
 * SOCKS5 CONNECT to the SYN's destination, or a direct non-blocking
 * connect from a socket bound to --out-iface / marked --fwmark. Then:
 *   upstream connected       sf_syn_decide ACCEPT: the client's connect succeeds
 *   refused (RST / REP 5)    REFUSE: the client gets a RST, ECONNREFUSED
 *   net/host unreachable     DROP, and an ICMP destination unreachable
 *     (ENETUNREACH, REP 3/4)  (net / host; ICMPv6 no route / address
 *                             unreachable) quoting the client's SYN, so its
 *                             connect fails at once with the same error
 *   timed out (--connect-timeout, ETIMEDOUT, REP 6)
 *                            DROP: nothing is answered; the client's SYN
 *                             retransmissions (each a new attempt) run out
 *                             and it sees ETIMEDOUT, as behind a black hole
 *   anything else (proxy down, not allowed, SOCKS errors)
 *                            REFUSE: a prompt error rather than a hang
 * When the SYN queue is full the stack answers with SYN cookies and cannot
 * hold the SYN: such a flow is accepted first, its upstream opened after,
 * and an upstream failure is then a RST.
 *
 * The relay makes no copy of its own: sendmsg() takes the client's bytes
 * straight from the stack's receive buffer (sf_recv_view, sf_recv_done
 * for what the kernel accepted), readv() puts the upstream's straight
 * into the free room of the stack's send buffer (sf_send_reserve,
 * sf_send_commit); the only copies are the kernel's. A side that cannot
 * take more leaves the other unread (backpressure: the stack's receive
 * window closes, or the kernel socket's buffer fills). A FIN is passed on
 * as shutdown(SHUT_WR) / sf_shutdown(SF_SHUT_WR) once everything before it
 * went through; a reset on either side is a reset on the other (SO_LINGER
 * 0 on close). */
#include "t2s/t2s.h"
#include "t2s/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static struct sf_stack *stk(struct t2s *t) { return t->cli.tun.st; }

/* ------------------------------------------------------------ chunks */

static uint8_t *chunk_get(struct t2s *t)
{
    if (t->npool)
        return t->pool[--t->npool];
    return malloc(T2S_CHUNK);
}

static void chunk_put(struct t2s *t, uint8_t *b)
{
    if (!b)
        return;
    if (t->npool < T2S_POOL_MAX)
        t->pool[t->npool++] = b;
    else
        free(b);
}

/* ------------------------------------------------------- flow tables */

static uint32_t addr_hash(const struct sf_addr *a)
{
    uint32_t h = 2166136261u ^ a->family;
    const uint8_t *p = a->family == SF_AF_INET6 ? a->ip6 : (const uint8_t *)&a->ip;
    size_t n = a->family == SF_AF_INET6 ? 16 : 4;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return (h ^ a->port) * 16777619u;
}

static unsigned slot(const struct t2s *t, const struct sf_addr *c, const struct sf_addr *d)
{
    return (addr_hash(c) * 31u + addr_hash(d)) & t->hmask;
}

static void hash_add(struct t2s *t, struct flow *f)
{
    unsigned s = slot(t, &f->client, &f->dst);
    f->hnext = t->htab[s];
    t->htab[s] = f;
    f->hashed = true;
}

static void hash_del(struct t2s *t, struct flow *f)
{
    if (!f->hashed)
        return;
    for (struct flow **pp = &t->htab[slot(t, &f->client, &f->dst)]; *pp; pp = &(*pp)->hnext)
        if (*pp == f) {
            *pp = f->hnext;
            break;
        }
    f->hashed = false;
}

static struct flow *hash_find(struct t2s *t, const struct sf_addr *c, const struct sf_addr *d)
{
    for (struct flow *f = t->htab[slot(t, c, d)]; f; f = f->hnext)
        if (sf_addr_eq(&f->client, c) && sf_addr_eq(&f->dst, d))
            return f;
    return NULL;
}

static void enqueue(struct t2s *t, struct flow *f)
{
    if (f->queued)
        return;
    f->queued = true;
    f->rnext = NULL;
    if (t->rtail)
        t->rtail->rnext = f;
    else
        t->rhead = f;
    t->rtail = f;
}

static struct flow *flow_new(struct t2s *t)
{
    struct flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->sd = f->ufd = -1;
    f->num = ++t->next_num;
    f->next = t->flows;
    if (t->flows)
        t->flows->prev = f;
    t->flows = f;
    t->nflows++;
    t->ctr.flows++;
    if (t->nflows > t->ctr.max_flows_seen)
        t->ctr.max_flows_seen = t->nflows;
    return f;
}

static void set_sd(struct t2s *t, struct flow *f, int sd)
{
    f->sd = sd;
    if (sd >= 0 && (unsigned)sd < t->nby_sd)
        t->by_sd[sd] = f;
}

/* Closes what the flow holds (reset: with SO_LINGER 0, so the other side
 * gets a RST) and marks it DONE; the ready list frees it. */
static void close_ufd(struct flow *f, bool reset)
{
    if (f->ufd < 0)
        return;
    if (reset) {
        struct linger lg = {1, 0};
        setsockopt(f->ufd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(f->ufd);
    f->ufd = -1;
}

static void close_sd(struct t2s *t, struct flow *f, bool reset)
{
    if (f->sd < 0)
        return;
    if (reset) {
        struct sf_linger lg = {1, 0};
        sf_setsockopt(stk(t), f->sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg);
    }
    if ((unsigned)f->sd < t->nby_sd)
        t->by_sd[f->sd] = NULL;
    sf_close(stk(t), f->sd);
    f->sd = -1;
}

/* Whether f's SOCKS5 handshake is the pipelining probe (t2s.h, enum
 * t2s_pipe), and its end, with or without a verdict. */
static bool pipe_probe(const struct t2s *t, const struct flow *f) { return t->pipe_flow == f; }
static void pipe_probe_end(struct t2s *t, struct flow *f)
{
    if (pipe_probe(t, f))
        t->pipe_flow = NULL;
}

static void flow_done(struct t2s *t, struct flow *f)
{
    pipe_probe_end(t, f);
    close_ufd(f, false);
    close_sd(t, f, false);
    hash_del(t, f);
    free(f->s5);
    f->s5 = NULL;
    chunk_put(t, f->down.buf);
    f->down.buf = NULL;
    f->st = FL_DONE;
    enqueue(t, f);
}

static void flow_free(struct t2s *t, struct flow *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        t->flows = f->next;
    if (f->next)
        f->next->prev = f->prev;
    t->nflows--;
    free(f);
}

/* -------------------------------------------------------- the device */

static void quote_syn(struct t2s *t, const uint8_t *d, size_t len, int v6, size_t l4)
{
    const uint8_t *th = d + l4;
    if (len < l4 + 14 || (th[13] & (SF_SYN | SF_ACK)) != SF_SYN)
        return;
    uint16_t sp = (uint16_t)(th[0] << 8 | th[1]), dp = (uint16_t)(th[2] << 8 | th[3]);
    if (v6) {
        t->syn_src = sf_addr6(d + 8, sp);
        t->syn_dst = sf_addr6(d + 24, dp);
    } else {
        uint32_t s, ds;
        memcpy(&s, d + 12, 4);
        memcpy(&ds, d + 16, 4);
        t->syn_src = sf_addr4(ntohl(s), sp);
        t->syn_dst = sf_addr4(ntohl(ds), dp);
    }
    size_t q = l4 + 8;
    if (q > sizeof t->syn_quote)
        return;
    memcpy(t->syn_quote, d, q);
    t->syn_quote_len = (uint8_t)q;
}

/* The device's tap: sees every datagram read before the stack does. A
 * client's SYN is kept (its first bytes are what an ICMP error must
 * quote: RFC 792, RFC 4443 3.1); a UDP datagram goes to the UDP relay. */
void t2s_tap(void *ctx, sf_time_t now, enum sf_tun_dir dir, const uint8_t *d, size_t len)
{
    struct t2s *t = ctx;
    struct tun_cli *c = &t->cli;
    if (c->pcap)
        pcapw_write(c->pcap, c->pcap_base_real + (now - c->pcap_base_mono), d, len);
    if (dir != SF_TUN_IN || len < 20)
        return;
    if ((d[0] >> 4) == 4) {
        size_t ihl = (size_t)(d[0] & 15) * 4;
        if (ihl >= 20 && d[9] == 6)
            quote_syn(t, d, len, 0, ihl);
    } else if ((d[0] >> 4) == 6 && len >= 40) {
        if (d[6] == 6)
            quote_syn(t, d, len, 1, 40);
    }
}

static uint16_t csum_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

/* An ICMP destination unreachable to the client about its SYN (RFC 792:
 * type 3, code 0 net / 1 host; RFC 4443 3.1: type 1, code 0 no route / 3
 * address unreachable), from the SYN's destination address. Linux aborts
 * a connect in SYN-SENT on it with ENETUNREACH / EHOSTUNREACH. Returns
 * false without a quote of the SYN (the tap did not see it). */
static bool send_unreach(struct t2s *t, struct flow *f, bool host)
{
    if (!f->quote_len)
        return false;
    uint8_t d[40 + 8 + sizeof f->quote];
    size_t ql = f->quote_len, n;
    memset(d, 0, sizeof d);
    if (f->dst.family == SF_AF_INET6) {
        n = 40 + 8 + ql;
        d[0] = 0x60;
        d[4] = (uint8_t)((8 + ql) >> 8);
        d[5] = (uint8_t)(8 + ql);
        d[6] = 58; /* ICMPv6 */
        d[7] = 64;
        memcpy(d + 8, f->dst.ip6, 16);
        memcpy(d + 24, f->client.ip6, 16);
        d[40] = 1;
        d[41] = host ? 3 : 0;
        memcpy(d + 48, f->quote, ql);
        /* RFC 4443 2.3: the checksum covers the RFC 8200 8.1 pseudo-header. */
        uint32_t s = csum_add(0, d + 8, 32);
        s += (uint32_t)(8 + ql) + 58;
        s = csum_add(s, d + 40, 8 + ql);
        uint16_t c = csum_fold(s);
        d[42] = (uint8_t)(c >> 8);
        d[43] = (uint8_t)c;
    } else {
        n = 20 + 8 + ql;
        d[0] = 0x45;
        d[2] = (uint8_t)(n >> 8);
        d[3] = (uint8_t)n;
        d[8] = 64;
        d[9] = 1; /* ICMP */
        uint32_t s = htonl(f->dst.ip), dd = htonl(f->client.ip);
        memcpy(d + 12, &s, 4);
        memcpy(d + 16, &dd, 4);
        uint16_t c = csum_fold(csum_add(0, d, 20));
        d[10] = (uint8_t)(c >> 8);
        d[11] = (uint8_t)c;
        d[20] = 3;
        d[21] = host ? 1 : 0;
        memcpy(d + 28, f->quote, ql);
        c = csum_fold(csum_add(0, d + 20, 8 + ql));
        d[22] = (uint8_t)(c >> 8);
        d[23] = (uint8_t)c;
    }
    sf_tun_output(&t->cli.tun, d, n);
    t->ctr.icmp_sent++;
    return true;
}

/* ------------------------------------------------- the SYN decision */

static int family_bytes(const struct sf_addr *a, uint8_t out[16])
{
    if (a->family == SF_AF_INET6) {
        memcpy(out, a->ip6, 16);
        return 6;
    }
    uint32_t n = htonl(a->ip);
    memcpy(out, &n, 4);
    return 4;
}

static enum t2s_action route_of(struct t2s *t, const struct sf_addr *dst)
{
    uint8_t b[16];
    int fam = family_bytes(dst, b);
    return t2s_rule_match(&t->rules, fam, b, dst->port,
                          t->direct ? T2S_DIRECT : T2S_PROXY, NULL);
}

/* The listener's filter: runs inside sf_stack_input, so it only decides
 * and queues; the upstream starts from the loop (t2s_work). */
static enum sf_syn_verdict on_syn(void *arg, const struct sf_syn_info *si)
{
    struct t2s *t = arg;
    t->ctr.syns++;
    if (t->cli.quit) {
        t->ctr.quit_refused++;
        return SF_SYN_REFUSE;
    }
    struct sf_addr dst = sf_addr_from_v4mapped(&si->local);
    struct sf_addr cli = sf_addr_from_v4mapped(&si->remote);
    enum t2s_action act = route_of(t, &dst);
    if (act == T2S_REJECT) {
        t->ctr.rejected++;
        return SF_SYN_REFUSE;
    }
    if (t->nflows >= t->max_flows) {
        t->ctr.over_limit++;
        return SF_SYN_REFUSE;
    }
    /* At the memory cap (--max-memory, cfg.mem_max) the stack drops a new
     * SYN unanswered, as Linux's tcp_conn_request does a SYN it cannot
     * allocate for; the client sends it again (RFC 9293 3.8.1, RFC 6298
     * 5.7) and gets in once memory frees. Decided here, before an upstream
     * is opened for it: otherwise each SYN and each retransmission opened
     * an upstream connection only to close it when the stack could not
     * keep the handshake (counted as accept_timeout). */
    struct sf_mem_info mi;
    sf_stack_mem(stk(t), &mi);
    if (mi.full) {
        t->ctr.mem_refused++;
        return SF_SYN_DROP;
    }
    /* Under SYN cookies the SYN cannot be held: accept it, and open the
     * upstream once the handshake completes (a flooder that never
     * completes it costs no upstream connect). */
    if (si->cookie)
        return SF_SYN_ACCEPT;
    struct flow *f = flow_new(t);
    if (!f) {
        t->ctr.over_limit++;
        return SF_SYN_REFUSE;
    }
    f->client = cli;
    f->dst = dst;
    f->act = act;
    f->deferred = true;
    f->syn_id = si->id;
    if (t->syn_quote_len && sf_addr_eq(&t->syn_src, &cli) && sf_addr_eq(&t->syn_dst, &dst)) {
        memcpy(f->quote, t->syn_quote, t->syn_quote_len);
        f->quote_len = t->syn_quote_len;
    }
    f->st = FL_NEW;
    hash_add(t, f);
    enqueue(t, f);
    return SF_SYN_DEFER;
}

int t2s_listen(struct t2s *t)
{
    struct sf_stack *st = stk(t);
    static const uint8_t any[16];
    struct sf_addr l = sf_addr6(any, 0);
    int one = 1, sd = sf_socket(st);
    int r = sd < 0 ? sd : sf_setsockopt(st, sd, SF_IPPROTO_IP, SF_IP_TRANSPARENT, &one, sizeof one);
    r = r < 0 ? r : sf_bind(st, sd, &l);
    r = r < 0 ? r : sf_listen_filter(st, sd, on_syn, t);
    r = r < 0 ? r : sf_listen(st, sd, (int)t->max_flows);
    if (r < 0) {
        if (sd >= 0)
            sf_close(st, sd);
        return r;
    }
    t->lsd = sd;
    t->pipe = t->socks_pipeline && t->proxy_text ? T2S_PIPE_UNKNOWN : T2S_PIPE_OFF;
    return 0;
}

void t2s_on_wakeup(void *ctx, int sd)
{
    struct t2s *t = ctx;
    if (sd == t->lsd) {
        t->listener_ready = true;
        return;
    }
    if (sd >= 0 && (unsigned)sd < t->nby_sd && t->by_sd[sd])
        enqueue(t, t->by_sd[sd]);
}

/* cfg.deliver: the client's in-order bytes, offered by the stack while
 * nothing of the flow waits in its receive buffer, go upstream at once
 * from the device's buffer: their copy into the receive buffer is saved
 * (sf_stack_cfg.deliver). What the socket does not take is left to the
 * stack, and so to relay_up; an error too (the next send meets it). */
size_t t2s_on_deliver(void *ctx, int sd, const uint8_t *data, size_t len)
{
    struct t2s *t = ctx;
    if (sd < 0 || (unsigned)sd >= t->nby_sd || !t->by_sd[sd])
        return 0;
    struct flow *f = t->by_sd[sd];
    if (f->st != FL_RELAY || f->ufd < 0 || !f->u_wr || f->u_shut || f->c_eof)
        return 0;
    ssize_t w = send(f->ufd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w <= 0) {
        if (w < 0 && errno == EAGAIN)
            f->u_wr = false; /* its EPOLLOUT says when there is room */
        else
            enqueue(t, f); /* relay_up meets the error */
        return 0;
    }
    if ((size_t)w < len)
        f->u_wr = false;
    f->up_bytes += (uint64_t)w;
    t->ctr.bytes_up += (uint64_t)w;
    return (size_t)w;
}

/* ------------------------------------------------------- upstream */

enum fail_kind { FAIL_REFUSED, FAIL_NET_UNREACH, FAIL_HOST_UNREACH, FAIL_TIMEOUT, FAIL_OTHER };

static enum fail_kind fail_of_errno(int e)
{
    switch (e) {
    case ECONNREFUSED: return FAIL_REFUSED;
    case ENETUNREACH:
    case ENETDOWN: return FAIL_NET_UNREACH;
    case EHOSTUNREACH:
    case EHOSTDOWN: return FAIL_HOST_UNREACH;
    case ETIMEDOUT: return FAIL_TIMEOUT;
    default: return FAIL_OTHER;
    }
}

static enum fail_kind fail_of_socks(int err)
{
    switch (err) {
    case S5_E_REFUSED: return FAIL_REFUSED;
    case S5_E_NET_UNREACH: return FAIL_NET_UNREACH;
    case S5_E_HOST_UNREACH: return FAIL_HOST_UNREACH;
    case S5_E_TTL: return FAIL_TIMEOUT;
    default: return FAIL_OTHER;
    }
}

/* The upstream could not be opened: tell the client as the header
 * comment says, and end the flow. REFUSE answers the held SYN as a closed
 * port would (RFC 9293 3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>),
 * which a client's connect reports as ECONNREFUSED. */
static void upstream_failed(struct t2s *t, struct flow *f, enum fail_kind k)
{
    switch (k) {
    case FAIL_REFUSED: t->ctr.up_refused++; break;
    case FAIL_NET_UNREACH:
    case FAIL_HOST_UNREACH: t->ctr.up_unreach++; break;
    case FAIL_TIMEOUT: t->ctr.up_timeout++; break;
    default: t->ctr.up_other++; break;
    }
    close_ufd(f, false);
    if (f->sd >= 0) { /* accepted already (SYN cookies): reset it */
        close_sd(t, f, true);
    } else if (f->deferred) {
        enum sf_syn_verdict v = SF_SYN_REFUSE;
        if (k == FAIL_TIMEOUT)
            v = SF_SYN_DROP;
        else if ((k == FAIL_NET_UNREACH || k == FAIL_HOST_UNREACH) &&
                 send_unreach(t, f, k == FAIL_HOST_UNREACH))
            v = SF_SYN_DROP;
        sf_syn_decide(stk(t), f->syn_id, v);
        f->deferred = false;
    }
    flow_done(t, f);
}

static int open_socket(struct t2s *t, int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if ((t->out_iface &&
         setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, t->out_iface, (socklen_t)strlen(t->out_iface)) < 0) ||
        (t->have_mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &t->fwmark, sizeof t->fwmark) < 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* An upstream socket the kernel routed into our own TUN (its source is
 * the device's address) would come back as a new flow, and that one's
 * upstream too: refuse it, and say once how to fix the routes. */
static bool loops_back(struct t2s *t, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return false;
    bool loop = false;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        loop = ntohl(s4->sin_addr.s_addr) == t->cli.host_ip;
    } else if (ss.ss_family == AF_INET6 && t->cli.has6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        loop = !memcmp(&s6->sin6_addr, t->cli.host6, 16);
    }
    if (loop && !t->ctr.loops++)
        fprintf(stderr, "synfin tun2socks: an upstream connection is routed back into %s: "
                "refused; keep synfin's own traffic out of it with --out-iface or "
                "--fwmark and the routes of --print-routes\n", t->cli.tun.name);
    return loop;
}

static void upstream_start(struct t2s *t, struct flow *f, sf_time_t now)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (f->act == T2S_PROXY) {
        ss = t->proxy_sa;
        sl = t->proxy_len;
    } else {
        struct s5_addr a;
        memset(&a, 0, sizeof a);
        a.atyp = f->dst.family == SF_AF_INET6 ? S5_ATYP_IPV6 : S5_ATYP_IPV4;
        family_bytes(&f->dst, a.ip);
        a.port = f->dst.port;
        s5_addr_to_sa(&a, &ss, &sl);
    }
    f->ufd = open_socket(t, ss.ss_family);
    if (f->ufd < 0) {
        upstream_failed(t, f, FAIL_OTHER);
        return;
    }
    f->st = FL_CONNECTING;
    if (!f->give_up)
        f->give_up = now + t->connect_timeout;
    f->deadline = f->give_up;
    if (f->deadline < t->next_deadline)
        t->next_deadline = f->deadline;
    if (connect(f->ufd, (struct sockaddr *)&ss, sl) == 0) {
        f->u_wr = true; /* at once: step it now */
        enqueue(t, f);
    } else if (errno != EINPROGRESS) {
        /* the proxy's own failure is not the destination's */
        upstream_failed(t, f, f->act == T2S_PROXY ? FAIL_OTHER : fail_of_errno(errno));
        return;
    }
    if (loops_back(t, f->ufd)) {
        upstream_failed(t, f, FAIL_OTHER);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = f};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, f->ufd, &ev) < 0)
        upstream_failed(t, f, FAIL_OTHER);
}

/* Upstream (and SOCKS5) ready: let the client's handshake complete. */
static void upstream_ready(struct t2s *t, struct flow *f, sf_time_t now)
{
    free(f->s5);
    f->s5 = NULL;
    /* u_rd stays as the events and the last read left it (short_read):
     * a recv() now would only find EAGAIN. */
    f->u_wr = true;
    if (f->sd >= 0) { /* accepted first (SYN cookies): the client may have sent already */
        f->st = FL_RELAY;
        f->deadline = 0;
        enqueue(t, f);
        return;
    }
    if (sf_syn_decide(stk(t), f->syn_id, SF_SYN_ACCEPT) < 0) {
        /* the held SYN expired or its entry is gone */
        f->deferred = false;
        t->ctr.accept_timeout++;
        flow_done(t, f);
        return;
    }
    f->deferred = false;
    f->st = FL_WAIT_ACCEPT;
    f->deadline = now + T2S_ACCEPT_WAIT;
    if (f->deadline < t->next_deadline)
        t->next_deadline = f->deadline;
}

/* Whether this flow's handshake goes pipelined (t2s.h, enum t2s_pipe):
 * while it is not known whether the server reads past the greeting, one
 * flow at a time tries, and waits T2S_PIPE_WAIT at most for its final
 * reply (pipe_fallback). */
static bool pipe_choose(struct t2s *t, struct flow *f, sf_time_t now)
{
    if (f->no_pipe || (t->pipe != T2S_PIPE_GOOD && (t->pipe != T2S_PIPE_UNKNOWN || t->pipe_flow)))
        return false;
    t->ctr.pipelined++;
    if (t->pipe == T2S_PIPE_GOOD)
        return true;
    t->pipe_flow = f;
    t->ctr.pipe_probes++;
    if (now + T2S_PIPE_WAIT < f->deadline) {
        f->deadline = now + T2S_PIPE_WAIT;
        if (f->deadline < t->next_deadline)
            t->next_deadline = f->deadline;
    }
    return true;
}

/* The probe's final reply came: the server reads pipelined requests. */
static void pipe_good(struct t2s *t, struct flow *f)
{
    pipe_probe_end(t, f);
    if (t->pipe != T2S_PIPE_UNKNOWN)
        return;
    t->pipe = T2S_PIPE_GOOD;
    t->pipe_fails = 0;
    if (t->udp)
        t2s_udp_set_pipeline(t->udp, true);
}

/* The probe got no final reply in T2S_PIPE_WAIT, or the server closed or
 * answered garbage before it: RFC 1928 does not promise that a server
 * reads past the greeting before it answers it (microsocks 1.0.3 drops
 * what came with it and waits for a request it will not get). The flow
 * starts again on a new connection, one message at a time, within its
 * connect deadline; after T2S_PIPE_FAILS such probes in a row, no flow
 * is pipelined to this server again. */
static void pipe_fallback(struct t2s *t, struct flow *f, sf_time_t now)
{
    pipe_probe_end(t, f);
    t->ctr.pipe_fallbacks++;
    if (t->pipe == T2S_PIPE_UNKNOWN && ++t->pipe_fails >= T2S_PIPE_FAILS) {
        t->pipe = T2S_PIPE_BAD;
        fprintf(stderr, "synfin tun2socks: the SOCKS5 server %s:%u answered none of %u "
                "pipelined requests: --socks-pipeline is off for it (it does not "
                "read past the greeting)\n", t->url.host, t->url.port, t->pipe_fails);
    }
    close_ufd(f, false);
    free(f->s5);
    f->s5 = NULL;
    f->u_rd = f->u_wr = f->u_hup = false;
    f->no_pipe = true;
    f->st = FL_NEW;
    upstream_start(t, f, now);
}

/* A failed handshake of the probe: an answer to the request (its REP)
 * says the server read it; a close or garbage before that may be the
 * pipelining's fault (pipe_fallback); the rest say nothing about it. */
static bool pipe_failed(struct t2s *t, struct flow *f, int err, sf_time_t now)
{
    if (!pipe_probe(t, f))
        return false;
    if (err <= S5_E_REP - 1 && err >= S5_E_REP - 0xff) {
        pipe_good(t, f);
        return false;
    }
    if (err == S5_E_CLOSED || err == S5_E_PROTO) {
        pipe_fallback(t, f, now);
        return true;
    }
    pipe_probe_end(t, f);
    return false;
}

static void socks_start(struct t2s *t, struct flow *f, sf_time_t now)
{
    struct s5_addr a;
    memset(&a, 0, sizeof a);
    a.atyp = f->dst.family == SF_AF_INET6 ? S5_ATYP_IPV6 : S5_ATYP_IPV4;
    family_bytes(&f->dst, a.ip);
    a.port = f->dst.port;
    f->s5 = malloc(sizeof *f->s5);
    if (!f->s5 || s5_client_init(f->s5, S5_CMD_CONNECT, &a,
                                 t->url.has_auth ? t->url.user : NULL, t->url.pass) < 0 ||
        (pipe_choose(t, f, now) && s5_client_pipeline(f->s5) < 0)) {
        upstream_failed(t, f, FAIL_OTHER);
        return;
    }
    f->st = FL_SOCKS;
}

/* After a recv() that returned fewer bytes than asked: the socket's
 * receive queue was empty, and any byte or FIN that arrives after it
 * raises a new edge-triggered event. So the socket is not readable until
 * then, and the recv() that would only return EAGAIN is saved (one or two
 * a flow, bench/README.md, tun2socks cycles). Not after an event that
 * said EOF or error (u_hup): that one is read to its end. */
static void short_read(struct flow *f, size_t got, size_t asked)
{
    if (got < asked && !f->u_hup)
        f->u_rd = false;
}

/* The server's bytes after its final reply belong to the relayed stream:
 * they wait in the flow's down chunk for the client (relay_down sends it
 * first). Returns false if out of memory. */
static bool socks_leftover(struct t2s *t, struct flow *f, const uint8_t *p, size_t n)
{
    if (!n)
        return true;
    uint8_t *b = chunk_get(t);
    if (!b)
        return false;
    memcpy(b, p, n);
    f->down = (struct chunk){b, 0, (uint32_t)n};
    f->down_bytes += n;
    t->ctr.bytes_down += n;
    return true;
}

/* Drives the handshake as far as the socket allows. */
static void socks_step(struct t2s *t, struct flow *f, sf_time_t now)
{
    for (int k = 0; k < 8; k++) {
        const uint8_t *p;
        size_t n = s5_client_out(f->s5, &p);
        if (n) {
            ssize_t w = send(f->ufd, p, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EAGAIN) {
                f->u_wr = false;
                return;
            }
            if (w < 0) {
                upstream_failed(t, f, FAIL_OTHER);
                return;
            }
            s5_client_sent(f->s5, (size_t)w);
            continue;
        }
        /* The server answers only after what was just sent: no recv()
         * before its EPOLLIN (edge-triggered: an EAGAIN costs a syscall a
         * step, two a flow; bench/README.md, tun2socks cycles). */
        if (!f->u_rd)
            return;
        /* More than s5_client_want(): a whole reply in one recv() (a
         * CONNECT reply's length is known only from its 4th octet), and
         * a short read tells the socket is empty (short_read). What
         * follows the final reply is kept for the client. */
        uint8_t buf[512];
        ssize_t r = recv(f->ufd, buf, sizeof buf, 0);
        if (r < 0 && errno == EAGAIN) {
            f->u_rd = false;
            return;
        }
        int res;
        size_t used = 0;
        if (r <= 0) {
            res = s5_client_eof(f->s5);
        } else {
            short_read(f, (size_t)r, sizeof buf);
            res = s5_client_input(f->s5, buf, (size_t)r, &used);
        }
        if (res == S5_DONE) {
            if (pipe_probe(t, f))
                pipe_good(t, f);
            if (!socks_leftover(t, f, buf + used, (size_t)r - used)) {
                upstream_failed(t, f, FAIL_OTHER);
                return;
            }
            upstream_ready(t, f, now);
            return;
        }
        if (res < 0) {
            if (pipe_failed(t, f, res, now))
                return;
            t->ctr.socks_errors++;
            upstream_failed(t, f, fail_of_socks(res));
            return;
        }
    }
    enqueue(t, f); /* more to do: next round */
}

/* A non-blocking connect's end. EPOLLOUT without EPOLLERR or EPOLLHUP
 * says it succeeded (a connecting socket is not writable; a failed one
 * has its error and is HUP), so only an event with ERR/HUP/RDHUP costs
 * the SO_ERROR and getpeername() calls that tell what happened. */
static void connecting_step(struct t2s *t, struct flow *f, sf_time_t now)
{
    if (f->u_hup || !f->u_wr) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(f->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            upstream_failed(t, f, f->act == T2S_PROXY ? FAIL_OTHER : fail_of_errno(err));
            return;
        }
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        if (getpeername(f->ufd, (struct sockaddr *)&peer, &pl) < 0)
            return; /* still connecting */
    }
    if (f->act == T2S_PROXY) {
        socks_start(t, f, now);
        if (f->st == FL_SOCKS)
            socks_step(t, f, now);
    } else {
        upstream_ready(t, f, now);
    }
}

void t2s_upstream_event(struct t2s *t, struct flow *f, uint32_t events)
{
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        f->u_rd = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        f->u_hup = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        f->u_wr = true;
    enqueue(t, f);
}

/* ------------------------------------------------------------ relay */

/* A reset on the client's side (or the stack gave up on it): reset the
 * upstream too (SO_LINGER 0: the kernel's ABORT, RFC 9293 3.10.5). */
static void client_reset(struct t2s *t, struct flow *f)
{
    t->ctr.client_resets++;
    close_ufd(f, true);
    close_sd(t, f, false);
    flow_done(t, f);
}

/* A reset or error on the upstream: reset the client (sf_close with
 * SO_LINGER 0 is ABORT, RFC 9293 3.10.5: a RST, the queues flushed). */
static void upstream_reset(struct t2s *t, struct flow *f)
{
    t->ctr.upstream_resets++;
    close_ufd(f, false);
    close_sd(t, f, true);
    flow_done(t, f);
}

/* client -> upstream, without a copy of ours: sendmsg() straight from
 * the stack's receive buffer (sf_recv_view), and sf_recv_done takes only
 * what the kernel accepted; the rest waits there, its window closed
 * (backpressure). Returns false when the flow ended. After our FIN went
 * upstream on SIGTERM (u_shut before the client's own), what the client
 * still sends is read and dropped until its FIN.
 *
 * One sendmsg() takes all the buffer holds, up to T2S_UP_ROUND a round
 * (as 16 chunks did): each sf_recv_done that frees an MSS or more sends
 * the client a window update (RFC 9293 3.8.6.2.2), a TUN write that runs
 * the client's TCP in our context, so one call for what 64 KB calls did
 * saves those writes as well as the sendmsg() calls (bench/README.md,
 * tun2socks, the upload's syscalls). */
static bool relay_up(struct t2s *t, struct flow *f, bool *more)
{
    int k;
    size_t budget = T2S_UP_ROUND;
    for (k = 0; k < 16 && budget; k++) {
        if (f->c_eof || (!f->u_wr && !f->u_shut))
            break;
        struct sf_iov v[2];
        long n = sf_recv_view(stk(t), f->sd, v, budget);
        if (n <= 0) {
            if (n == SF_EAGAIN)
                break;
            if (n == 0) {
                f->c_eof = true;
                break;
            }
            client_reset(t, f);
            return false;
        }
        ssize_t w = n; /* after u_shut: taken and dropped */
        if (!f->u_shut) {
            struct iovec iov[2] = {{v[0].base, v[0].len}, {v[1].base, v[1].len}};
            struct msghdr m = {.msg_iov = iov, .msg_iovlen = v[1].len ? 2 : 1};
            w = sendmsg(f->ufd, &m, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN) {
                upstream_reset(t, f);
                return false;
            }
            if (w < 0)
                w = 0;
            f->up_bytes += (uint64_t)w;
            t->ctr.bytes_up += (uint64_t)w;
        }
        sf_recv_done(stk(t), f->sd, (size_t)w);
        budget -= (size_t)w;
        if (w < n) {
            f->u_wr = false; /* its EPOLLOUT says when there is room */
            break;
        }
    }
    if (k == 16 || !budget)
        *more = true; /* stopped by the round limit, not by a lack of data */
    /* RFC 9293 3.10.7.4 eighth step: the client's FIN means it "will send
     * no more"; shutdown(SHUT_WR) says the same upstream (a CLOSE there,
     * 3.10.4, after the data queued before it). On SIGTERM, once what was
     * taken from the client has gone. */
    if ((f->c_eof || (t->cli.quit && f->u_wr)) && !f->u_shut) {
        shutdown(f->ufd, SHUT_WR); /* the client's FIN (or ours), passed on */
        f->u_shut = true;
    }
    return true;
}

/* A send the stack refused with nothing of the flow's queued: at the
 * memory cap (--max-memory) a connection without a send storage gets none
 * (SND_MEM_WAIT, as Linux's sk_stream_wait_memory). The stack wakes it
 * once memory frees (SND_MEM_WOKEN); as Linux's waiter under global
 * memory pressure also sleeps a short while and tries again, the flow is
 * tried again in T2S_MEM_RETRY (deadlines) as well, in case the memory
 * freed goes to another allocation first. A flow with bytes queued waits
 * for the stack's wakeup as usual. */
static void mem_wait(struct t2s *t, struct flow *f, sf_time_t now)
{
    struct sf_tcp_info i;
    if (sf_tcp_info(stk(t), f->sd, &i) < 0 || i.sndq != 0)
        return;
    t->ctr.mem_waits++;
    f->deadline = now + T2S_MEM_RETRY;
    if (f->deadline < t->next_deadline)
        t->next_deadline = f->deadline;
}

/* readv() from the upstream: > 0 the bytes read (a short read noted);
 * 0 when nothing more comes now (EAGAIN: u_rd off; EOF: u_eof on); -1
 * after an error, the flow reset. */
static ssize_t upstream_readv(struct t2s *t, struct flow *f,
                              const struct iovec *iov, int cnt, size_t asked)
{
    ssize_t n = readv(f->ufd, iov, cnt);
    if (n > 0) {
        short_read(f, (size_t)n, asked);
        return n;
    }
    if (n < 0 && errno == EAGAIN)
        f->u_rd = false;
    else if (n == 0)
        f->u_eof = true;
    else {
        upstream_reset(t, f);
        return -1;
    }
    return 0;
}

/* Reads and drops what the upstream still sends after our FIN to the
 * client on SIGTERM, until its EOF. Returns false when the flow ended. */
static bool drain_down(struct t2s *t, struct flow *f)
{
    uint8_t *b = chunk_get(t);
    if (!b)
        return true;
    struct iovec iov = {b, T2S_CHUNK};
    ssize_t n = upstream_readv(t, f, &iov, 1, T2S_CHUNK);
    chunk_put(t, b);
    return n >= 0;
}

/* upstream -> client, without a copy of ours: readv() straight into the
 * free room of the stack's send buffer (sf_send_reserve), then
 * sf_send_commit queues what came. A full buffer (or the memory cap)
 * leaves the socket unread, its receive window closing (backpressure). */
static bool relay_down(struct t2s *t, struct flow *f, bool *more, sf_time_t now)
{
    int k;
    uint64_t start = f->down_bytes;
    /* at most 16 reads and T2S_DOWN_ROUND bytes a round: then the others */
    for (k = 0; k < 16 && f->down_bytes - start < T2S_DOWN_ROUND; k++) {
        if (f->down.buf) { /* the bytes after the SOCKS reply (socks_leftover) */
            long n = sf_send(stk(t), f->sd, f->down.buf + f->down.off, f->down.len - f->down.off, 0);
            if (n < 0 && n != SF_EAGAIN) {
                client_reset(t, f);
                return false;
            }
            if (n > 0)
                f->down.off += (uint32_t)n;
            if (f->down.off < f->down.len) {
                mem_wait(t, f, now);
                break; /* the stack's wakeup says when there is room */
            }
            chunk_put(t, f->down.buf);
            f->down.buf = NULL;
        }
        if (f->u_eof || !f->u_rd)
            break;
        if (f->c_shut) {
            if (!drain_down(t, f))
                return false;
            continue;
        }
        /* The stack sizes its send storage to the room asked: a flow
         * asks for little until its reads fill what it asked (a 64-byte
         * answer then holds a 4 KB storage, not a 64 KB one, against
         * --max-memory), and twice as much each time they do, up to
         * T2S_ASK_MAX: a bulk download then reads 256 KB a readv(), and
         * the kernel sends the upstream a window update for each read
         * in our context (bench/README.md, 2026-12-04: 64 KB reads cost
         * 15-20 % more of the engine's CPU a GB). */
        uint32_t ask = f->down_ask ? f->down_ask : T2S_ASK_MIN;
        struct sf_iov v[2];
        long room = sf_send_reserve(stk(t), f->sd, v, ask);
        if (room == SF_EAGAIN) {
            mem_wait(t, f, now);
            break; /* the stack's wakeup says when there is room */
        }
        if (room <= 0) {
            client_reset(t, f);
            return false;
        }
        struct iovec iov[2] = {{v[0].base, v[0].len}, {v[1].base, v[1].len}};
        ssize_t n = upstream_readv(t, f, iov, v[1].len ? 2 : 1, (size_t)room);
        if (n < 0)
            return false;
        if (n == 0) {
            /* nothing (EAGAIN, or the upstream's FIN): the room back, so
             * that an idle flow holds no empty storage against
             * --max-memory (synfin.h, sf_send_commit) */
            sf_send_commit(stk(t), f->sd, 0);
            break;
        }
        if (n == room && ask < T2S_ASK_MAX)
            f->down_ask = ask * 2; /* (never less again: a bulk flow's
                                      reads come short now and then) */
        f->down_bytes += (uint64_t)n;
        t->ctr.bytes_down += (uint64_t)n;
        if (sf_send_commit(stk(t), f->sd, (size_t)n) != n) {
            client_reset(t, f);
            return false;
        }
    }
    if (k == 16 || f->down_bytes - start >= T2S_DOWN_ROUND)
        *more = true;
    /* RFC 9293 3.10.4 CLOSE: the FIN follows the data already queued. */
    if ((f->u_eof || t->cli.quit) && !f->down.buf && !f->c_shut) {
        sf_shutdown(stk(t), f->sd, SF_SHUT_WR); /* the upstream's EOF (or ours), passed on */
        f->c_shut = true;
    }
    return true;
}

static void relay(struct t2s *t, struct flow *f, sf_time_t now)
{
    bool more = false;
    if (!relay_up(t, f, &more) || !relay_down(t, f, &more, now))
        return;
    if (f->u_shut && f->c_shut && f->c_eof && f->u_eof) {
        /* Both FINs passed on: what the stack still holds it sends on its
         * own after the close. */
        t->ctr.closed_clean++;
        flow_done(t, f);
        return;
    }
    /* Stopped by the round limit, not by a lack of data or room: go on in
     * the next round (a flow waiting for room waits for an epoll event or
     * the stack's wakeup instead). */
    if (more)
        enqueue(t, f);
}

/* ----------------------------------------------------------- accept */

static void accept_all(struct t2s *t, sf_time_t now)
{
    t->listener_ready = false;
    for (int k = 0; k < 256; k++) {
        int sd = sf_accept(stk(t), t->lsd, NULL);
        if (sd < 0)
            return;
        struct sf_addr l, r;
        sf_getsockname(stk(t), sd, &l);
        sf_getpeername(stk(t), sd, &r);
        l = sf_addr_from_v4mapped(&l);
        r = sf_addr_from_v4mapped(&r);
        tun_cli_sockopts(&t->cli, sd);
        struct flow *f = hash_find(t, &r, &l);
        if (f && f->sd < 0) {
            hash_del(t, f);
            set_sd(t, f, sd);
            if (f->st == FL_WAIT_ACCEPT) {
                f->st = FL_RELAY;
                f->deadline = 0;
            }
            enqueue(t, f);
            continue;
        }
        /* Not held first: accepted under SYN cookies. */
        if (t->cli.quit || t->nflows >= t->max_flows || !(f = flow_new(t))) {
            struct sf_linger lg = {1, 0};
            sf_setsockopt(stk(t), sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg, sizeof lg);
            sf_close(stk(t), sd);
            t->ctr.over_limit++;
            continue;
        }
        t->ctr.cookie_flows++;
        f->client = r;
        f->dst = l;
        f->act = route_of(t, &l);
        set_sd(t, f, sd);
        f->st = FL_NEW;
        (void)now;
        enqueue(t, f);
    }
    t->listener_ready = true; /* more than one round's worth */
}

/* ------------------------------------------------------------- work */

static void flow_step(struct t2s *t, struct flow *f, sf_time_t now)
{
    switch (f->st) {
    case FL_NEW:
        upstream_start(t, f, now);
        break;
    case FL_CONNECTING:
        if (f->u_wr || f->u_rd)
            connecting_step(t, f, now);
        break;
    case FL_SOCKS:
        socks_step(t, f, now);
        break;
    case FL_WAIT_ACCEPT:
        break;
    case FL_RELAY:
        relay(t, f, now);
        break;
    case FL_DONE:
        break;
    }
}

static void deadlines(struct t2s *t, sf_time_t now)
{
    if (now < t->next_deadline)
        return;
    t->next_deadline = SF_TIME_NEVER;
    for (struct flow *f = t->flows; f; f = f->next) {
        if (!f->deadline || f->st == FL_DONE)
            continue;
        if (f->deadline <= now) {
            f->deadline = 0;
            if (f->st == FL_RELAY) {
                enqueue(t, f); /* a send that waited for memory (mem_wait) */
            } else if (f->st == FL_WAIT_ACCEPT) {
                t->ctr.accept_timeout++;
                flow_done(t, f);
            } else if (pipe_probe(t, f) && now < f->give_up) {
                pipe_fallback(t, f, now);
            } else {
                upstream_failed(t, f, FAIL_TIMEOUT);
            }
        } else if (f->deadline < t->next_deadline) {
            t->next_deadline = f->deadline;
        }
    }
}

sf_time_t t2s_work(struct t2s *t, sf_time_t now)
{
    if (t->listener_ready && t->lsd >= 0)
        accept_all(t, now);
    deadlines(t, now);
    /* One pass over what is queued now; what queues itself again runs in
     * the next round (after the device was read again). */
    struct flow *end = t->rtail;
    while (t->rhead) {
        struct flow *f = t->rhead;
        bool last = f == end;
        t->rhead = f->rnext;
        if (!t->rhead)
            t->rtail = NULL;
        f->queued = false;
        if (f->st == FL_DONE)
            flow_free(t, f);
        else
            flow_step(t, f, now);
        if (last)
            break;
    }
    if (t->rhead || t->listener_ready)
        return now;
    return t->next_deadline;
}

/* ------------------------------------------------------------ the end */

/* The listener stays open until the end (t2s_abort_all): its filter
 * refuses every new SYN (cli.quit), but a connection whose SYN-ACK went
 * out (FL_WAIT_ACCEPT) is the client's established connection, and
 * closing the listener would forget it silently (its SYN-ACK no longer
 * retransmitted, its ACK answered by nobody once we exit): it is accepted
 * when its ACK comes and closed as any other, with a FIN. A flow whose SYN
 * is still held (no upstream yet) is refused. */
void t2s_quit(struct t2s *t)
{
    for (struct flow *f = t->flows; f; f = f->next) {
        if (f->st == FL_DONE || f->st == FL_WAIT_ACCEPT)
            continue;
        if (f->st != FL_RELAY) {
            upstream_failed(t, f, FAIL_OTHER);
            continue;
        }
        /* FIN both ways once what is buffered went through (relay_up,
         * relay_down see cli.quit). */
        enqueue(t, f);
    }
}

void t2s_abort_all(struct t2s *t)
{
    if (t->lsd >= 0) { /* what it still holds goes with it */
        sf_close(stk(t), t->lsd);
        t->lsd = -1;
    }
    for (struct flow *f = t->flows; f; f = f->next) {
        if (f->st == FL_DONE)
            continue;
        if (f->deferred) {
            sf_syn_decide(stk(t), f->syn_id, SF_SYN_REFUSE);
            f->deferred = false;
        }
        close_ufd(f, true);
        close_sd(t, f, true);
        flow_done(t, f);
    }
}

void t2s_free_all(struct t2s *t)
{
    while (t->flows) {
        struct flow *f = t->flows;
        close_ufd(f, false);
        free(f->s5);
        free(f->down.buf);
        t->flows = f->next;
        free(f);
    }
    t->nflows = 0;
    while (t->npool)
        free(t->pool[--t->npool]);
}
