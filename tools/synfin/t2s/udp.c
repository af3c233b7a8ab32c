/* The UDP relay of synfin tun2socks (udp.h says what it does and its
 * bounds). Layout: an association table keyed by the client's source
 * (address, port), hashed with a keyed mix; two least-recently-used
 * lists, one for associations that have only sent to port 53 (DNS, a
 * shorter idle timeout) and one for the rest, each also its idle-timeout
 * order (every touch moves an association to the front of its list with
 * the current time, so a tail is always the next of its list to expire);
 * a FIFO of proxy legs in handshake (one timeout for all, so the
 * head is the next to expire); an fd -> association map for the loop's
 * events. */
#include "udp.h"
#include "socks5.h"

#include "synfin/wire.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull
/* Room before a received payload for the IPv6 and UDP headers, so that a
 * reply is framed in place (sf_udp_emit with the payload already there). */
#define HEADROOM (SF_IPV6_HDR_LEN + SF_UDP_HDR_LEN)
/* The longest RFC 1928 section 7 header: RSV FRAG ATYP, a 255-byte name
 * with its length byte, PORT. */
#define S5_UDP_HDR_MAX (3 + 1 + 1 + 255 + 2)
/* A UDP datagram's payload is at most 65535 - 8 bytes. */
#define PAYLOAD_MAX (0xffff - SF_UDP_HDR_LEN)
/* Datagrams read per readiness event before the loop gets a turn (the
 * sockets are level-triggered: the rest is read at the next turn). */
#define READ_BURST 64

enum fd_kind { FD_NONE = 0, FD_DIRECT, FD_CTL, FD_PROXY };
enum leg_state { LEG_NONE = 0, LEG_CONNECTING, LEG_HANDSHAKE, LEG_READY,
                 LEG_FAILED };

/* The client's source: family 4 or 6, address as on the wire, port. */
struct key {
    uint8_t fam;
    uint8_t addr[16];
    uint16_t port;
};

/* A datagram waiting for the proxy's handshake. */
struct qdgram {
    struct qdgram *next;
    struct s5_addr dst;
    size_t len;
    uint8_t data[];
};

struct assoc {
    struct key key;
    struct assoc *hnext;              /* hash chain */
    struct assoc *lru_prev, *lru_next; /* most recent at its list's head */
    uint64_t last;                    /* last datagram either way */
    bool dns;                         /* every datagram so far to port 53 */
    int dfd;                          /* direct socket, or -1 */
    /* the proxy leg */
    enum leg_state st;
    int ctl, pfd;                     /* control TCP, relay UDP, or -1 */
    struct s5_client *s5;             /* during the handshake only */
    struct assoc *hs_prev, *hs_next;  /* in u's handshake FIFO */
    uint64_t hs_start, retry_at;
    struct qdgram *qhead, **qtail;
    uint32_t qn;
};

struct fdref {
    struct assoc *a;
    uint8_t kind;
};

struct t2s_udp {
    struct t2s_udp_cfg cfg;
    struct assoc **buckets;
    size_t nbuckets; /* a power of two */
    uint64_t k0, k1;
    struct assoc *lru_head[2], *lru_tail[2]; /* [a->dns] */
    struct assoc *hs_head, *hs_tail;
    struct fdref *fds;
    size_t nfds;
    uint16_t ip_id;
    uint64_t icmp_window; /* the second the ICMP errors below count in */
    unsigned icmp_count;  /* ICMP errors sent in it */
    struct t2s_udp_stats st;
    /* one receive buffer: HEADROOM, then the datagram (a SOCKS5 header
     * and a payload at most) */
    uint8_t rbuf[HEADROOM + S5_UDP_HDR_MAX + 0x10000];
};

/* ------------------------------------------------------------ the table */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* A keyed hash of the source: the key is random (cfg.seed for tests), so
 * a client cannot aim many sources at one chain without knowing it. */
static size_t key_hash(const struct t2s_udp *u, const struct key *k)
{
    uint64_t a, b;
    memcpy(&a, k->addr, 8);
    memcpy(&b, k->addr + 8, 8);
    uint64_t h = mix(u->k0, a);
    h = mix(h, b ^ u->k1);
    h = mix(h, (uint64_t)k->port << 8 | k->fam);
    return (size_t)(h ^ (h >> 32)) & (u->nbuckets - 1);
}

static bool key_eq(const struct key *x, const struct key *y)
{
    return x->fam == y->fam && x->port == y->port &&
           !memcmp(x->addr, y->addr, x->fam == 4 ? 4 : 16);
}

static struct assoc *lookup(struct t2s_udp *u, const struct key *k)
{
    for (struct assoc *a = u->buckets[key_hash(u, k)]; a; a = a->hnext)
        if (key_eq(&a->key, k))
            return a;
    return NULL;
}

static void lru_unlink(struct t2s_udp *u, struct assoc *a)
{
    if (a->lru_prev)
        a->lru_prev->lru_next = a->lru_next;
    else
        u->lru_head[a->dns] = a->lru_next;
    if (a->lru_next)
        a->lru_next->lru_prev = a->lru_prev;
    else
        u->lru_tail[a->dns] = a->lru_prev;
    a->lru_prev = a->lru_next = NULL;
}

static void lru_push(struct t2s_udp *u, struct assoc *a)
{
    a->lru_prev = NULL;
    a->lru_next = u->lru_head[a->dns];
    if (u->lru_head[a->dns])
        u->lru_head[a->dns]->lru_prev = a;
    else
        u->lru_tail[a->dns] = a;
    u->lru_head[a->dns] = a;
}

/* The idle timeout of list l. */
static uint64_t idle_of(const struct t2s_udp *u, int l)
{
    return l ? u->cfg.dns_idle_ns : u->cfg.idle_ns;
}

/* A datagram to another port than 53: the association leaves the DNS
 * list for good. */
static void not_dns(struct t2s_udp *u, struct assoc *a)
{
    if (!a->dns)
        return;
    lru_unlink(u, a);
    a->dns = false;
    lru_push(u, a);
}

/* A datagram went either way: a is the most recently used, and its idle
 * time starts again. */
static void touch(struct t2s_udp *u, struct assoc *a, uint64_t now)
{
    a->last = now;
    if (u->lru_head[a->dns] != a) {
        lru_unlink(u, a);
        lru_push(u, a);
    }
}

static void hs_unlink(struct t2s_udp *u, struct assoc *a)
{
    if (a->hs_prev)
        a->hs_prev->hs_next = a->hs_next;
    else if (u->hs_head == a)
        u->hs_head = a->hs_next;
    else
        return; /* not in the FIFO */
    if (a->hs_next)
        a->hs_next->hs_prev = a->hs_prev;
    else
        u->hs_tail = a->hs_prev;
    a->hs_prev = a->hs_next = NULL;
}

static void hs_append(struct t2s_udp *u, struct assoc *a)
{
    a->hs_next = NULL;
    a->hs_prev = u->hs_tail;
    if (u->hs_tail)
        u->hs_tail->hs_next = a;
    else
        u->hs_head = a;
    u->hs_tail = a;
}

/* ------------------------------------------------------------------ fds */

static int fd_track(struct t2s_udp *u, int fd, struct assoc *a,
                    enum fd_kind kind, uint32_t events)
{
    if ((size_t)fd >= u->nfds) {
        size_t n = u->nfds ? u->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct fdref *p = realloc(u->fds, n * sizeof *p);
        if (!p)
            return -ENOMEM;
        memset(p + u->nfds, 0, (n - u->nfds) * sizeof *p);
        u->fds = p;
        u->nfds = n;
    }
    int r = u->cfg.fd_add(u->cfg.ctx, fd, events);
    if (r < 0)
        return r;
    u->fds[fd].a = a;
    u->fds[fd].kind = (uint8_t)kind;
    u->st.fds_now++;
    return 0;
}

static void fd_close(struct t2s_udp *u, int *fd)
{
    if (*fd < 0)
        return;
    if ((size_t)*fd < u->nfds && u->fds[*fd].a) {
        if (u->cfg.fd_del)
            u->cfg.fd_del(u->cfg.ctx, *fd);
        u->fds[*fd].a = NULL;
        u->fds[*fd].kind = FD_NONE;
        u->st.fds_now--;
    }
    close(*fd);
    *fd = -1;
}

/* A non-blocking socket with the options that keep its traffic out of the
 * TUN (as the TCP direct mode's). -errno on failure. */
static int open_socket(struct t2s_udp *u, int family, int type)
{
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    const char *dev = u->cfg.bind_dev;
    if (dev && dev[0] &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev,
                   (socklen_t)strnlen(dev, IFNAMSIZ)) < 0)
        goto fail;
    if (u->cfg.mark &&
        setsockopt(fd, SOL_SOCKET, SO_MARK, &u->cfg.mark,
                   sizeof u->cfg.mark) < 0)
        goto fail;
    return fd;
fail:;
    int e = errno;
    close(fd);
    return -e;
}

/* --------------------------------------------------------- associations */

static void queue_drop(struct t2s_udp *u, struct assoc *a)
{
    while (a->qhead) {
        struct qdgram *q = a->qhead;
        a->qhead = q->next;
        u->st.queued_now--;
        u->st.queued_bytes_now -= sizeof *q + q->len;
        u->st.drop_proxy_down++;
        free(q);
    }
    a->qtail = &a->qhead;
    a->qn = 0;
}

/* Ends the proxy leg (both sockets, the handshake, the queue). */
static void leg_close(struct t2s_udp *u, struct assoc *a)
{
    fd_close(u, &a->ctl);
    fd_close(u, &a->pfd);
    hs_unlink(u, a);
    free(a->s5);
    a->s5 = NULL;
    queue_drop(u, a);
    a->st = LEG_NONE;
}

/* The proxy leg failed: its datagrams are dropped for retry_ns, then a
 * new datagram tries again (a dead proxy costs one connect per source
 * per retry_ns, not one per datagram). */
static void leg_fail(struct t2s_udp *u, struct assoc *a, uint64_t now)
{
    leg_close(u, a);
    a->st = LEG_FAILED;
    a->retry_at = now + u->cfg.retry_ns;
    u->st.legs_failed++;
}

static void assoc_close(struct t2s_udp *u, struct assoc *a)
{
    leg_close(u, a);
    fd_close(u, &a->dfd);
    struct assoc **pp = &u->buckets[key_hash(u, &a->key)];
    while (*pp != a)
        pp = &(*pp)->hnext;
    *pp = a->hnext;
    lru_unlink(u, a);
    u->st.assoc_now--;
    free(a);
}

/* Closes the least recently used association other than keep (the one
 * being served): the older of the two lists' tails; false if there is
 * none. */
static bool evict_one(struct t2s_udp *u, const struct assoc *keep)
{
    struct assoc *c[2];
    for (int l = 0; l < 2; l++) {
        c[l] = u->lru_tail[l];
        if (c[l] && c[l] == keep)
            c[l] = c[l]->lru_prev;
    }
    struct assoc *v = !c[0] ? c[1] : !c[1] ? c[0]
                      : c[1]->last < c[0]->last ? c[1] : c[0];
    if (!v)
        return false;
    assoc_close(u, v);
    u->st.assoc_evicted++;
    return true;
}

static struct assoc *assoc_get(struct t2s_udp *u, const struct key *k,
                               bool dns, uint64_t now)
{
    struct assoc *a = lookup(u, k);
    if (a)
        return a;
    if (u->st.assoc_now >= u->cfg.max_assoc)
        evict_one(u, NULL);
    a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->key = *k;
    a->dfd = a->ctl = a->pfd = -1;
    a->qtail = &a->qhead;
    a->last = now;
    a->dns = dns;
    size_t h = key_hash(u, k);
    a->hnext = u->buckets[h];
    u->buckets[h] = a;
    lru_push(u, a);
    u->st.assoc_now++;
    u->st.assoc_opened++;
    return a;
}

/* Opens a socket for a, and when the process is out of fds (EMFILE,
 * ENFILE), closes the least recently used association and tries once
 * more: new flows take over from old ones rather than fail. */
static int open_for(struct t2s_udp *u, struct assoc *a, int family, int type)
{
    int fd = open_socket(u, family, type);
    if ((fd == -EMFILE || fd == -ENFILE) && evict_one(u, a))
        fd = open_socket(u, family, type);
    return fd;
}

/* ------------------------------------------------------------ addresses */

static void key_to_s5(const struct key *k, struct s5_addr *s)
{
    memset(s, 0, sizeof *s);
    s->atyp = k->fam == 4 ? S5_ATYP_IPV4 : S5_ATYP_IPV6;
    memcpy(s->ip, k->addr, k->fam == 4 ? 4 : 16);
    s->port = k->port;
}

static socklen_t s5_to_sa(const struct s5_addr *s, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (s->atyp == S5_ATYP_IPV4) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, s->ip, 4);
        in->sin_port = htons(s->port);
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, s->ip, 16);
    in6->sin6_port = htons(s->port);
    return sizeof *in6;
}

/* The address from a socket as a key of the family fam (an IPv4-mapped
 * IPv6 address counts as IPv4); false for anything else. */
static bool sa_to_key(const struct sockaddr_storage *ss, struct key *k)
{
    memset(k, 0, sizeof *k);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        k->fam = 4;
        memcpy(k->addr, &in->sin_addr, 4);
        k->port = ntohs(in->sin_port);
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0xff, 0xff};
        k->port = ntohs(in6->sin6_port);
        if (!memcmp(b, mapped, 12)) {
            k->fam = 4;
            memcpy(k->addr, b + 12, 4);
        } else {
            k->fam = 6;
            memcpy(k->addr, b, 16);
        }
        return true;
    }
    return false;
}

/* Destinations not relayed: RFC 1122 3.2.1.3's 0/8 ("this network"),
 * 127/8 (loopback: the relay host's own services are not the client's),
 * 224/4 (multicast: a relay socket would send it on the relay's network)
 * and the limited broadcast; over IPv6 (RFC 4291 2.5.2, 2.5.3, 2.7) the
 * unspecified address, loopback and ff00::/8. */
static bool bad_dst(const struct key *d, bool loopback_ok)
{
    static const uint8_t zero[16];
    if (d->fam == 4) {
        uint8_t a = d->addr[0];
        return a == 0 || (a == 127 && !loopback_ok) || (a >> 4) == 0xe ||
               !memcmp(d->addr, "\xff\xff\xff\xff", 4);
    }
    bool lo = !memcmp(d->addr, zero, 15) && d->addr[15] == 1;
    return d->addr[0] == 0xff || !memcmp(d->addr, zero, 16) ||
           (lo && !loopback_ok);
}

/* ---------------------------------------------------------------- send */

/* What an ICMP destination unreachable says (dst_unreach). */
enum unreach { UNREACH_NET, UNREACH_HOST, UNREACH_PORT };
static void dst_unreach(struct t2s_udp *u, uint64_t now_ns, const uint8_t *dg,
                        size_t len, enum unreach why, uint64_t *count);

static void count_out(struct t2s_udp *u, size_t len)
{
    u->st.dgrams_out++;
    u->st.bytes_out += len;
}

/* dg/dlen: the client's datagram as it came from the TUN (for an ICMP
 * error quoting it). */
static int send_direct(struct t2s_udp *u, struct assoc *a,
                       const struct s5_addr *dst, const uint8_t *p,
                       size_t len, const uint8_t *dg, size_t dlen,
                       uint64_t now)
{
    if (a->dfd < 0) {
        int fd = open_for(u, a, a->key.fam == 4 ? AF_INET : AF_INET6,
                          SOCK_DGRAM);
        if (fd < 0) {
            u->st.drop_socket++;
            return 1;
        }
        /* An unconnected UDP socket hears of ICMP errors only with
         * IP_RECVERR (ip(7)): then each comes on its error queue, with the
         * destination it was about (direct_errors). */
        int one = 1;
        if (a->key.fam == 4)
            setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
        else
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one);
        a->dfd = fd;
        if (fd_track(u, fd, a, FD_DIRECT, EPOLLIN) < 0) {
            close(fd);
            a->dfd = -1;
            u->st.drop_socket++;
            return 1;
        }
    }
    struct sockaddr_storage ss;
    socklen_t sl = s5_to_sa(dst, &ss);
    ssize_t w = sendto(a->dfd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (struct sockaddr *)&ss, sl);
    /* An ICMP error not yet read (the socket's pending error, set with the
     * error queue's entry) fails the next send once, whatever its
     * destination: this datagram is not the one it was about. */
    if (w < 0 && (errno == ECONNREFUSED || errno == EHOSTUNREACH ||
                  errno == ENETUNREACH))
        w = sendto(a->dfd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                   (struct sockaddr *)&ss, sl);
    if (w < 0) {
        int e = errno;
        u->st.drop_send++;
        /* Failed again: this host has no way there (an unreachable or
         * missing route; RFC 1122 3.3.1.4). The client hears it as from a
         * router on the way: RFC 792 type 3 code 0 net / 1 host, RFC 4443
         * 3.1 type 1 code 0 no route / 3 address unreachable, so that its
         * connected socket fails with ENETUNREACH / EHOSTUNREACH at once
         * (RFC 1122 3.2.2.1: the transport layer is told), as the
         * kernel's own would. */
        if (e == ENETUNREACH || e == EHOSTUNREACH)
            dst_unreach(u, now, dg, dlen,
                        e == ENETUNREACH ? UNREACH_NET : UNREACH_HOST,
                        &u->st.icmp_local);
        return 1;
    }
    count_out(u, len);
    return 0;
}

/* RFC 1928 section 7: "Each UDP datagram carries a UDP request header
 * with it": RSV FRAG ATYP DST.ADDR DST.PORT, then DATA. Two iovecs, so
 * the payload is not copied. */
static int send_proxy_now(struct t2s_udp *u, struct assoc *a,
                          const struct s5_addr *dst, const uint8_t *p,
                          size_t len)
{
    uint8_t hdr[S5_UDP_HDR_MAX];
    int hl = s5_udp_encode(hdr, sizeof hdr, dst);
    if (hl < 0) {
        u->st.drop_send++;
        return 1;
    }
    struct iovec iov[2] = {{hdr, (size_t)hl}, {(void *)p, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    if (sendmsg(a->pfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        u->st.drop_send++;
        return 1;
    }
    count_out(u, len);
    return 0;
}

static int enqueue(struct t2s_udp *u, struct assoc *a,
                   const struct s5_addr *dst, const uint8_t *p, size_t len)
{
    /* the bound counts the bookkeeping too, so it is the memory bound */
    size_t cost = sizeof(struct qdgram) + len;
    if (a->qn >= u->cfg.queue_max ||
        u->st.queued_bytes_now + cost > u->cfg.queue_bytes_max) {
        u->st.drop_queue_full++;
        return 1;
    }
    struct qdgram *q = malloc(sizeof *q + len);
    if (!q) {
        u->st.drop_queue_full++;
        return 1;
    }
    q->next = NULL;
    q->dst = *dst;
    q->len = len;
    memcpy(q->data, p, len);
    *a->qtail = q;
    a->qtail = &q->next;
    a->qn++;
    u->st.queued_now++;
    u->st.queued_bytes_now += cost;
    return 0;
}

static void hs_pump(struct t2s_udp *u, struct assoc *a, uint64_t now);

/* Starts the proxy leg: a non-blocking connect to the SOCKS5 server, then
 * (hs_pump) the greeting, RFC 1929 authentication and UDP ASSOCIATE. */
static int leg_open(struct t2s_udp *u, struct assoc *a, uint64_t now)
{
    const struct sockaddr *px = (const struct sockaddr *)&u->cfg.proxy;
    int fd = open_for(u, a, px->sa_family, SOCK_STREAM);
    if (fd < 0)
        goto fail;
    a->ctl = fd;
    a->s5 = malloc(sizeof *a->s5);
    /* RFC 1928 section 7: "If the client is not in possession of the
     * information at the time of the UDP ASSOCIATE, the client MUST use a
     * port number and address of all zeros." (The relay socket does not
     * exist yet: its family follows the reply's BND.ADDR.) */
    struct s5_addr any = {.atyp = S5_ATYP_IPV4};
    if (!a->s5 || s5_client_init(a->s5, S5_CMD_UDP_ASSOCIATE, &any,
                                 u->cfg.user, u->cfg.pass) < 0 ||
        (u->cfg.pipeline && s5_client_pipeline(a->s5) < 0))
        goto fail;
    if (connect(fd, px, u->cfg.proxy_len) < 0 && errno != EINPROGRESS)
        goto fail;
    /* Registered once connecting (edge-triggered: a socket not yet
     * connecting would report a hang-up edge). */
    if (fd_track(u, fd, a, FD_CTL,
                 EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
        close(fd);
        a->ctl = -1;
        goto fail;
    }
    a->st = LEG_CONNECTING;
    a->hs_start = now;
    hs_append(u, a);
    return 0;
fail:
    leg_fail(u, a, now);
    return -1;
}

static int send_proxy(struct t2s_udp *u, struct assoc *a,
                      const struct s5_addr *dst, const uint8_t *p,
                      size_t len, uint64_t now)
{
    if (u->cfg.proxy_len == 0) {
        u->st.drop_no_proxy++;
        return 1;
    }
    if (a->st == LEG_FAILED && now >= a->retry_at)
        a->st = LEG_NONE;
    if (a->st == LEG_NONE && leg_open(u, a, now) < 0) {
        u->st.drop_proxy_down++;
        return 1;
    }
    switch (a->st) {
    case LEG_READY:
        return send_proxy_now(u, a, dst, p, len);
    case LEG_CONNECTING:
    case LEG_HANDSHAKE:
        return enqueue(u, a, dst, p, len);
    default:
        u->st.drop_proxy_down++;
        return 1;
    }
}

/* --------------------------------------------------------- the handshake */

/* UDP ASSOCIATE succeeded: open the relay socket toward BND.ADDR and
 * BND.PORT (RFC 1928 section 6: "the BND.PORT and BND.ADDR fields indicate
 * the port number/address where the client MUST send UDP request messages
 * to be relayed"); an all-zero BND.ADDR, which many servers send, means
 * the server's own address. Connected, so the kernel drops datagrams from
 * anyone else. Then the queued datagrams go. */
static void leg_ready(struct t2s_udp *u, struct assoc *a, uint64_t now)
{
    struct s5_addr b = a->s5->bound;
    struct sockaddr_storage ss;
    socklen_t sl;
    static const uint8_t zero[16];
    if (b.atyp == S5_ATYP_DOMAIN) {
        leg_fail(u, a, now);
        return;
    }
    if (!memcmp(b.ip, zero, b.atyp == S5_ATYP_IPV4 ? 4 : 16)) {
        ss = u->cfg.proxy;
        sl = u->cfg.proxy_len;
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons(b.port);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons(b.port);
    } else {
        sl = s5_to_sa(&b, &ss);
    }
    int fd = open_for(u, a, ss.ss_family, SOCK_DGRAM);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        if (fd >= 0)
            close(fd);
        leg_fail(u, a, now);
        return;
    }
    a->pfd = fd;
    if (fd_track(u, fd, a, FD_PROXY, EPOLLIN) < 0) {
        close(fd);
        a->pfd = -1;
        leg_fail(u, a, now);
        return;
    }
    free(a->s5);
    a->s5 = NULL;
    hs_unlink(u, a);
    a->st = LEG_READY;
    while (a->qhead) {
        struct qdgram *q = a->qhead;
        a->qhead = q->next;
        u->st.queued_now--;
        u->st.queued_bytes_now -= sizeof *q + q->len;
        send_proxy_now(u, a, &q->dst, q->data, q->len);
        free(q);
    }
    a->qtail = &a->qhead;
    a->qn = 0;
}

/* Moves the handshake on as far as the socket allows (edge-triggered:
 * until EAGAIN, or the end). Every step is bounded by the handshake's few
 * hundred bytes. */
static void hs_pump(struct t2s_udp *u, struct assoc *a, uint64_t now)
{
    for (int guard = 0; guard < 32 && a->st == LEG_HANDSHAKE; guard++) {
        const uint8_t *p;
        size_t n = s5_client_out(a->s5, &p);
        if (n) {
            ssize_t w = send(a->ctl, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            if (w <= 0) {
                leg_fail(u, a, now);
                return;
            }
            s5_client_sent(a->s5, (size_t)w);
            continue;
        }
        size_t want = s5_client_want(a->s5);
        uint8_t buf[512];
        if (want > sizeof buf)
            want = sizeof buf;
        if (want == 0) {
            leg_fail(u, a, now); /* neither to send nor to read: stuck */
            return;
        }
        ssize_t r = recv(a->ctl, buf, want, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        size_t used;
        int res = r > 0 ? s5_client_input(a->s5, buf, (size_t)r, &used)
                        : s5_client_eof(a->s5);
        if (res < 0) {
            leg_fail(u, a, now);
            return;
        }
        if (res == S5_DONE) {
            leg_ready(u, a, now);
            return;
        }
    }
    if (a->st == LEG_HANDSHAKE)
        leg_fail(u, a, now); /* a server dribbling bytes forever */
}

static void ctl_event(struct t2s_udp *u, struct assoc *a, uint32_t events,
                      uint64_t now)
{
    if (a->st == LEG_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(a->ctl, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err ||
            (events & (EPOLLERR | EPOLLHUP))) {
            leg_fail(u, a, now);
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        a->st = LEG_HANDSHAKE;
    }
    if (a->st == LEG_HANDSHAKE) {
        hs_pump(u, a, now);
        return;
    }
    if (a->st != LEG_READY)
        return;
    /* After the reply the server has nothing to say on the control
     * connection; its end (or an error) ends the association (RFC 1928
     * section 7). Stray bytes are read and ignored, a bounded amount per
     * event. */
    bool end = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    for (int i = 0; i < 8 && !end; i++) {
        uint8_t buf[512];
        ssize_t r = recv(a->ctl, buf, sizeof buf, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        end = r <= 0;
    }
    if (end) {
        assoc_close(u, a);
        u->st.assoc_proxy_closed++;
    }
}

/* --------------------------------------------------------------- replies */

/* Frames the payload at p (len bytes, with HEADROOM bytes of u->rbuf or
 * more before it) as a datagram from src to dst (same family) in place;
 * its start in *start, its length returned (0: too big). */
static size_t frame(struct t2s_udp *u, const struct key *src,
                    const struct key *dst, uint8_t *p, size_t len,
                    uint8_t **start)
{
    struct sf_udp ud = {src->port, dst->port, p, len};
    if (src->fam == 4) {
        struct sf_ipv4 ip = {0};
        memcpy(&ip.src, src->addr, 4);
        memcpy(&ip.dst, dst->addr, 4);
        ip.src = ntohl(ip.src);
        ip.dst = ntohl(ip.dst);
        ip.id = u->ip_id++;
        *start = p - SF_IPV4_HDR_MIN - SF_UDP_HDR_LEN;
        return sf_udp_emit(*start, len + 28, &ip, &ud);
    }
    struct sf_ipv6 ip = {0};
    memcpy(ip.src, src->addr, 16);
    memcpy(ip.dst, dst->addr, 16);
    *start = p - HEADROOM;
    return sf_udp_emit6(*start, len + HEADROOM, &ip, &ud);
}

/* A datagram from src to the client, written to the TUN. */
static void reply(struct t2s_udp *u, struct assoc *a, const struct key *src,
                  uint8_t *p, size_t len, uint64_t now)
{
    if (src->fam != a->key.fam) {
        u->st.drop_family++;
        return;
    }
    uint8_t *start;
    size_t n = frame(u, src, &a->key, p, len, &start);
    if (!n) {
        u->st.drop_too_big++;
        return;
    }
    u->cfg.tun_write(u->cfg.ctx, start, n);
    u->st.dgrams_in++;
    u->st.bytes_in += len;
    touch(u, a, now);
}

/* The ICMP errors on a direct socket's error queue (IP_RECVERR): a
 * destination unreachable about a datagram the relay sent (RFC 792 type
 * 3: code 3 port, from the destination; code 0 net or 1 host, from a
 * router on the way; RFC 4443 3.1 type 1 codes 4, 0 and 3) is passed on
 * to the client (RFC 1122 3.2.2.1, 4.1.3.1: UDP passes ICMP errors up to
 * the application), the same code from the datagram's destination (the
 * client knows no router of the relay's network), quoting the client's
 * datagram as it was (its headers rebuilt: the error queue gives the
 * destination and what the ICMP quoted of the payload), under the same
 * rate limit as the reject rule's. The kernel's ee_errno says which
 * (ECONNREFUSED, ENETUNREACH, EHOSTUNREACH; icmp(7)). Other errors are
 * read and dropped. A bounded number per event; the rest keep EPOLLERR
 * up for the next. */
static void direct_errors(struct t2s_udp *u, struct assoc *a, uint64_t now)
{
    for (int i = 0; i < READ_BURST && a->dfd >= 0; i++) {
        struct sockaddr_storage to;
        uint8_t *p = u->rbuf + HEADROOM;
        struct iovec iov = {p, 1280};
        union {
            struct cmsghdr c;
            uint8_t b[CMSG_SPACE(sizeof(struct sock_extended_err) +
                                 sizeof(struct sockaddr_in6))];
        } cb;
        struct msghdr mh = {.msg_name = &to, .msg_namelen = sizeof to,
                            .msg_iov = &iov, .msg_iovlen = 1,
                            .msg_control = cb.b,
                            .msg_controllen = sizeof cb.b};
        ssize_t r = recvmsg(a->dfd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
        if (r < 0)
            return;
        const struct sock_extended_err *ee = NULL;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
                ee = (const struct sock_extended_err *)CMSG_DATA(c);
        struct key dst;
        if (!ee || !((ee->ee_origin == SO_EE_ORIGIN_ICMP && ee->ee_type == 3) ||
                     (ee->ee_origin == SO_EE_ORIGIN_ICMP6 && ee->ee_type == 1)) ||
            !sa_to_key(&to, &dst) || dst.fam != a->key.fam)
            continue;
        enum unreach why;
        if (ee->ee_errno == ECONNREFUSED)
            why = UNREACH_PORT;
        else if (ee->ee_errno == ENETUNREACH)
            why = UNREACH_NET;
        else if (ee->ee_errno == EHOSTUNREACH)
            why = UNREACH_HOST;
        else
            continue;
        /* the client's datagram again: from its source to the destination */
        uint8_t *start;
        size_t n = frame(u, &a->key, &dst, p, (size_t)r, &start);
        if (n)
            dst_unreach(u, now, start, n, why, &u->st.icmp_passed);
    }
}

static void direct_event(struct t2s_udp *u, struct assoc *a, uint32_t events,
                         uint64_t now)
{
    for (int i = 0; i < READ_BURST && a->dfd >= 0; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        uint8_t *p = u->rbuf + HEADROOM;
        ssize_t r = recvfrom(a->dfd, p, PAYLOAD_MAX + 1, MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fl);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r < 0)
            continue; /* an ICMP error's pending error: read below */
        struct key src;
        if (!sa_to_key(&from, &src)) {
            u->st.drop_family++;
            continue;
        }
        reply(u, a, &src, p, (size_t)r, now);
    }
    if ((events & EPOLLERR) && a->dfd >= 0)
        direct_errors(u, a, now);
}

/* RFC 1928 section 7: a reply from the relay carries the header with the
 * address it came from; that address becomes the datagram's source. */
static void proxy_event(struct t2s_udp *u, struct assoc *a, uint64_t now)
{
    for (int i = 0; i < READ_BURST && a->pfd >= 0; i++) {
        uint8_t *p = u->rbuf + HEADROOM;
        ssize_t r = recv(a->pfd, p, S5_UDP_HDR_MAX + PAYLOAD_MAX + 1,
                         MSG_DONTWAIT);
        if (r < 0)
            return;
        struct s5_addr from;
        int hl = s5_udp_decode(p, (size_t)r, &from);
        if (hl == S5_E_FRAG) {
            u->st.drop_frag++;
            continue;
        }
        if (hl < 0 || from.atyp == S5_ATYP_DOMAIN) {
            u->st.drop_socks_hdr++;
            continue;
        }
        struct key src = {0};
        src.fam = from.atyp == S5_ATYP_IPV4 ? 4 : 6;
        memcpy(src.addr, from.ip, src.fam == 4 ? 4 : 16);
        src.port = from.port;
        reply(u, a, &src, p + hl, (size_t)r - (size_t)hl, now);
    }
}

/* ------------------------------------------------------------ the API */

struct t2s_udp *t2s_udp_new(const struct t2s_udp_cfg *cfg)
{
    if (!cfg || !cfg->tun_write || !cfg->fd_add)
        return NULL;
    if (cfg->proxy_len && cfg->proxy.ss_family != AF_INET &&
        cfg->proxy.ss_family != AF_INET6)
        return NULL;
    struct t2s_udp *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->cfg = *cfg;
    struct t2s_udp_cfg *c = &u->cfg;
    if (!c->idle_ns)
        c->idle_ns = 60 * NS_PER_S;
    if (!c->dns_idle_ns)
        c->dns_idle_ns = c->idle_ns < 30 * NS_PER_S ? c->idle_ns : 30 * NS_PER_S;
    if (!c->handshake_ns)
        c->handshake_ns = 10 * NS_PER_S;
    if (!c->retry_ns)
        c->retry_ns = NS_PER_S;
    if (!c->max_assoc)
        c->max_assoc = 1024;
    if (!c->queue_max)
        c->queue_max = 16;
    if (!c->queue_bytes_max)
        c->queue_bytes_max = 256 * 1024;
    u->nbuckets = 16;
    while (u->nbuckets < 2 * (size_t)c->max_assoc && u->nbuckets < (1u << 24))
        u->nbuckets *= 2;
    u->buckets = calloc(u->nbuckets, sizeof *u->buckets);
    if (!u->buckets) {
        free(u);
        return NULL;
    }
    uint64_t seed[2] = {c->seed, c->seed * 0x9e3779b97f4a7c15ull + 1};
    if (!c->seed && getrandom(seed, sizeof seed, 0) != sizeof seed)
        seed[1] = (uint64_t)(uintptr_t)u; /* weak, but never fails */
    u->k0 = seed[0];
    u->k1 = seed[1];
    return u;
}

void t2s_udp_set_pipeline(struct t2s_udp *u, bool on)
{
    u->cfg.pipeline = on;
}

void t2s_udp_free(struct t2s_udp *u)
{
    if (!u)
        return;
    for (int l = 0; l < 2; l++)
        while (u->lru_head[l])
            assoc_close(u, u->lru_head[l]);
    free(u->buckets);
    free(u->fds);
    free(u);
}

/* Parses one datagram from the TUN into its source (key), destination
 * and payload; 1 (counted) if it is dropped. */
static int parse(struct t2s_udp *u, const uint8_t *dgram, size_t len,
                 struct key *src, struct key *dst, struct sf_udp *ud)
{
    enum sf_drop d;
    memset(src, 0, sizeof *src);
    memset(dst, 0, sizeof *dst);
    if (len && dgram[0] >> 4 == 6) {
        struct sf_ipv6 ip;
        d = sf_ipv6_parse(dgram, len, &ip);
        if (d == SF_DROP_NONE)
            d = sf_udp6_parse(&ip, ud);
        if (d == SF_DROP_NONE) {
            src->fam = dst->fam = 6;
            memcpy(src->addr, ip.src, 16);
            memcpy(dst->addr, ip.dst, 16);
        }
    } else {
        struct sf_ipv4 ip;
        d = sf_ipv4_parse(dgram, len, &ip);
        if (d == SF_DROP_NONE)
            d = sf_udp_parse(&ip, ud);
        if (d == SF_DROP_NONE) {
            src->fam = dst->fam = 4;
            uint32_t s = htonl(ip.src), t = htonl(ip.dst);
            memcpy(src->addr, &s, 4);
            memcpy(dst->addr, &t, 4);
        }
    }
    if (d != SF_DROP_NONE) {
        u->st.drop_parse++;
        u->st.parse[d]++;
        return 1;
    }
    src->port = ud->sport;
    dst->port = ud->dport;
    return 0;
}

/* ICMP errors sent per second at most (RFC 4443 2.4(f): MUST limit;
 * RFC 1812 4.3.2.8: SHOULD). */
#define ICMP_PER_SEC 100

/* A datagram a reject rule refuses is answered as a host without that
 * port would: RFC 1122 3.2.2.1 and 4.1.3.1 ("If a datagram arrives
 * addressed to a UDP port for which there is no pending LISTEN call, UDP
 * SHOULD send an ICMP Port Unreachable message"), RFC 792 type 3 code 3;
 * over IPv6 RFC 4443 3.1 type 1 code 4. From the datagram's destination,
 * quoting as much of it as fits in 576 bytes (RFC 1812 4.3.2.3) or 1280
 * (RFC 4443 2.4(c)). A client's connected UDP socket then fails at once
 * with ECONNREFUSED instead of waiting for a timeout. The datagram passed
 * bad_dst (no multicast or broadcast: RFC 1122 3.2.2, RFC 4443 2.4(e)).
 * The same for a destination's own port unreachable, passed on
 * (direct_errors), and with why's code for a net or host unreachable
 * (direct_errors, send_direct); *count is the counter of the one that
 * was sent. */
static void dst_unreach(struct t2s_udp *u, uint64_t now_ns, const uint8_t *dg,
                        size_t len, enum unreach why, uint64_t *count)
{
    /* RFC 4443 3.1: 0 no route, 3 address unreachable, 4 port unreachable;
     * RFC 792: 0 net, 1 host, 3 port unreachable */
    static const uint8_t code6[] = {0, 3, 4}, code4[] = {0, 1, 3};
    uint64_t sec = now_ns / 1000000000u;
    if (sec != u->icmp_window) {
        u->icmp_window = sec;
        u->icmp_count = 0;
    }
    if (u->icmp_count >= ICMP_PER_SEC) {
        u->st.icmp_limited++;
        return;
    }
    u->icmp_count++;
    uint8_t d[1280];
    memset(d, 0, 48);
    size_t n, q;
    if (dg[0] >> 4 == 6) {
        q = len < sizeof d - 48 ? len : sizeof d - 48;
        n = 48 + q;
        d[0] = 0x60;
        d[4] = (uint8_t)((8 + q) >> 8);
        d[5] = (uint8_t)(8 + q);
        d[6] = 58; /* ICMPv6 */
        d[7] = 64;
        memcpy(d + 8, dg + 24, 16);  /* from the datagram's destination */
        memcpy(d + 24, dg + 8, 16);  /* to its source */
        d[40] = 1;                   /* destination unreachable */
        d[41] = code6[why];
        memcpy(d + 48, dg, q);
        /* RFC 4443 2.3: the checksum covers the RFC 8200 8.1 pseudo-header */
        uint32_t c = sf_csum_add(0, d + 8, 32);
        c += (uint32_t)(8 + q) + 58;
        uint16_t f = sf_csum_fold(sf_csum_add(c, d + 40, 8 + q));
        d[42] = (uint8_t)(f >> 8);
        d[43] = (uint8_t)f;
    } else {
        q = len < 576 - 28 ? len : 576 - 28;
        n = 28 + q;
        d[0] = 0x45;
        d[2] = (uint8_t)(n >> 8);
        d[3] = (uint8_t)n;
        uint16_t id = u->ip_id++;
        d[4] = (uint8_t)(id >> 8);
        d[5] = (uint8_t)id;
        d[8] = 64;
        d[9] = 1; /* ICMP */
        memcpy(d + 12, dg + 16, 4);
        memcpy(d + 16, dg + 12, 4);
        uint16_t f = sf_csum_fold(sf_csum_add(0, d, 20));
        d[10] = (uint8_t)(f >> 8);
        d[11] = (uint8_t)f;
        d[20] = 3; /* destination unreachable */
        d[21] = code4[why];
        memcpy(d + 28, dg, q);
        f = sf_csum_fold(sf_csum_add(0, d + 20, 8 + q));
        d[22] = (uint8_t)(f >> 8);
        d[23] = (uint8_t)f;
    }
    u->cfg.tun_write(u->cfg.ctx, d, n);
    (*count)++;
}

int t2s_udp_input(struct t2s_udp *u, uint64_t now_ns, const uint8_t *dgram,
                  size_t len)
{
    struct key src, dk;
    struct sf_udp ud;
    if (parse(u, dgram, len, &src, &dk, &ud))
        return 1;
    if (bad_dst(&dk, u->cfg.allow_loopback)) {
        u->st.drop_dst++;
        return 1;
    }
    struct s5_addr dst;
    key_to_s5(&dk, &dst);
    enum t2s_udp_route r = u->cfg.default_route;
    if (u->cfg.route) {
        struct sockaddr_storage ss;
        s5_to_sa(&dst, &ss);
        r = u->cfg.route(u->cfg.ctx, (const struct sockaddr *)&ss);
    }
    if (r == T2S_UDP_REJECT) {
        u->st.drop_rejected++;
        dst_unreach(u, now_ns, dgram, len, UNREACH_PORT, &u->st.icmp_unreach);
        return 1;
    }
    if (r == T2S_UDP_PROXY && u->cfg.proxy_len == 0) {
        u->st.drop_no_proxy++;
        return 1;
    }
    struct assoc *a = assoc_get(u, &src, dk.port == 53, now_ns);
    if (!a) {
        u->st.drop_socket++;
        return 1;
    }
    if (dk.port != 53)
        not_dns(u, a);
    touch(u, a, now_ns);
    if (r == T2S_UDP_DIRECT)
        return send_direct(u, a, &dst, ud.payload, ud.len, dgram, len,
                           now_ns);
    return send_proxy(u, a, &dst, ud.payload, ud.len, now_ns);
}

void t2s_udp_event(struct t2s_udp *u, int fd, uint32_t events,
                   uint64_t now_ns)
{
    if (fd < 0 || (size_t)fd >= u->nfds || !u->fds[fd].a)
        return;
    struct assoc *a = u->fds[fd].a;
    switch (u->fds[fd].kind) {
    case FD_DIRECT:
        direct_event(u, a, events, now_ns);
        break;
    case FD_CTL:
        ctl_event(u, a, events, now_ns);
        break;
    case FD_PROXY:
        proxy_event(u, a, now_ns);
        break;
    default:
        break;
    }
}

uint64_t t2s_udp_advance(struct t2s_udp *u, uint64_t now_ns)
{
    /* (sums, not differences: a loop may pass a now slightly older than
     * the time a datagram was stamped with) */
    while (u->hs_head && u->hs_head->hs_start + u->cfg.handshake_ns <= now_ns)
        leg_fail(u, u->hs_head, now_ns);
    uint64_t next = UINT64_MAX;
    for (int l = 0; l < 2; l++) {
        struct assoc *a;
        while ((a = u->lru_tail[l]) && a->last + idle_of(u, l) <= now_ns) {
            assoc_close(u, a);
            u->st.assoc_idle++;
        }
        if (a && a->last + idle_of(u, l) < next)
            next = a->last + idle_of(u, l);
    }
    if (u->hs_head && u->hs_head->hs_start + u->cfg.handshake_ns < next)
        next = u->hs_head->hs_start + u->cfg.handshake_ns;
    return next;
}

const struct t2s_udp_stats *t2s_udp_stats(const struct t2s_udp *u)
{
    return &u->st;
}

const char *t2s_udp_counter_name(int i)
{
    static const char *const names[] = {
#define T2S_X_(name, text) #name,
        T2S_UDP_COUNTERS(T2S_X_)
#undef T2S_X_
    };
    return i >= 0 && i < T2S_UDP_NCOUNTERS ? names[i] : "?";
}

uint64_t t2s_udp_counter(const struct t2s_udp *u, int i)
{
    switch (i) {
#define T2S_X_(name, text)                                                   \
    case T2S_UDP_C_##name:                                                   \
        return u->st.name;
        T2S_UDP_COUNTERS(T2S_X_)
#undef T2S_X_
    default:
        return 0;
    }
}
