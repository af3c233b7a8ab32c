/* The UDP relay of synfin tun2socks: every UDP datagram the TUN device
 * catches goes on through a kernel UDP socket (direct) or a SOCKS5 UDP
 * ASSOCIATE (RFC 1928 section 7), and the replies come back to the TUN as
 * datagrams from the address that answered.
 *
 * One association per client source (address, port), created by its first
 * datagram, holding up to two legs that are opened as the rule for a
 * destination asks:
 *   direct: one unconnected kernel UDP socket (SO_BINDTODEVICE / SO_MARK as
 *           configured, so its traffic does not loop back into the TUN),
 *           sending to any destination; a reply from any address is
 *           relayed (endpoint-independent mapping and filtering, RFC 4787).
 *   proxy:  a TCP control connection to the SOCKS5 server carrying UDP
 *           ASSOCIATE, and one UDP socket to the server's relay address;
 *           each datagram wrapped in the RFC 1928 section 7 header. While
 *           the handshake runs, datagrams wait in a bounded queue.
 * An association ends after idle_ns without a datagram either way
 * (dns_idle_ns when it has only sent to port 53), when
 * the proxy's control connection ends (RFC 1928 section 7: "A UDP
 * association terminates when the TCP connection that the UDP ASSOCIATE
 * request arrived on terminates"), or when max_assoc are open and a new
 * source arrives (the least recently used one is closed).
 *
 * Bounds: at most max_assoc associations, each with at most 3 fds (direct
 * socket, proxy control and UDP sockets) and at most queue_max datagrams
 * waiting; queued memory all together at most queue_bytes_max. Nothing is
 * allocated per datagram except while queued.
 *
 * No I/O of its own beyond those sockets: the caller's event loop owns the
 * TUN and epoll, and passes the time in. Single-threaded. */
#ifndef SF_TOOLS_T2S_UDP_H
#define SF_TOOLS_T2S_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "synfin/synfin.h"

/* Where a destination's datagrams go. */
enum t2s_udp_route {
    T2S_UDP_PROXY = 0,
    T2S_UDP_DIRECT = 1,
    T2S_UDP_REJECT = 2, /* dropped, counted (rejected) */
};

struct t2s_udp_cfg {
    void *ctx; /* passed to every callback */
    /* Writes one IP datagram (IPv4 or IPv6, UDP, checksum filled) to the
     * TUN device, toward the client. */
    void (*tun_write)(void *ctx, const uint8_t *dgram, size_t len);
    /* Adds fd to the loop's epoll for events (EPOLLIN, EPOLLOUT, EPOLLET,
     * EPOLLRDHUP as given); the loop calls t2s_udp_event(u, fd, ...) when
     * it is ready. 0, or a negative errno (the fd is then closed). */
    int (*fd_add)(void *ctx, int fd, uint32_t events);
    /* Removes fd from the loop's epoll, just before it is closed. */
    void (*fd_del)(void *ctx, int fd);
    /* The rule for a destination (NULL: every destination goes by
     * default_route). */
    enum t2s_udp_route (*route)(void *ctx, const struct sockaddr *dst);
    enum t2s_udp_route default_route;

    /* The SOCKS5 server (proxy_len 0: none; a PROXY route is then
     * dropped and counted as no_proxy), and RFC 1929 credentials (user
     * NULL or "": no authentication offered). */
    struct sockaddr_storage proxy;
    socklen_t proxy_len;
    const char *user, *pass;
    bool pipeline; /* s5_client_pipeline(): greeting, user/pass, request at once */

    /* Applied to every socket opened (direct and proxy): SO_BINDTODEVICE
     * when bind_dev is non-empty, SO_MARK when mark is non-zero. */
    const char *bind_dev;
    uint32_t mark;
    /* Relay to 127/8 and ::1 too (off: the relay host's own services are
     * not the client's to reach; the unit tests turn it on). */
    bool allow_loopback;

    /* Limits (0: the default in brackets). */
    uint64_t idle_ns;            /* [60 s] no datagram either way: closed */
    uint64_t dns_idle_ns;        /* [30 s, or idle_ns if shorter] the same
                                    for an association that has only sent
                                    to port 53 (a resolver's query each) */
    uint64_t handshake_ns;       /* [10 s] SOCKS5 connect + ASSOCIATE */
    uint64_t retry_ns;           /* [1 s] after a failed proxy leg, its
                                    datagrams are dropped this long */
    uint32_t max_assoc;          /* [1024] associations open at once */
    uint32_t queue_max;          /* [16] datagrams queued per handshake */
    uint32_t queue_bytes_max;    /* [256 KiB] queued, all together (each
                                    datagram counts its ~300 bytes of
                                    bookkeeping too) */
    uint64_t seed;               /* the association hash's key (0: random) */
};

/* The counters, X(name, text). */
#define T2S_UDP_COUNTERS(X)                                                  \
    X(assoc_opened, "associations opened")                                   \
    X(assoc_idle, "associations closed idle")                                \
    X(assoc_evicted, "associations closed for a new one (max_assoc)")        \
    X(assoc_proxy_closed, "associations closed by the proxy's control conn") \
    X(legs_failed, "proxy legs failed (connect, handshake, timeout)")        \
    X(dgrams_out, "datagrams relayed client -> destination")                 \
    X(bytes_out, "payload bytes relayed client -> destination")              \
    X(dgrams_in, "datagrams relayed destination -> client")                  \
    X(bytes_in, "payload bytes relayed destination -> client")               \
    X(drop_parse, "dropped from the TUN: bad IP/UDP (see the reasons)")      \
    X(drop_dst, "dropped: destination multicast, broadcast, loopback, 0")    \
    X(drop_rejected, "dropped: the rule says reject")                        \
    X(drop_no_proxy, "dropped: proxy route without a proxy")                 \
    X(drop_proxy_down, "dropped: proxy leg failed or retrying")              \
    X(drop_queue_full, "dropped: handshake queue full")                      \
    X(drop_socket, "dropped: no socket (fd limit or error)")                 \
    X(drop_send, "dropped: send failed (EAGAIN, unreachable...)")            \
    X(drop_too_big, "dropped: reply too large for one IP datagram")          \
    X(drop_frag, "dropped: SOCKS5 UDP reply with FRAG != 0")                 \
    X(drop_socks_hdr, "dropped: SOCKS5 UDP reply header bad or a name")      \
    X(drop_family, "dropped: reply from another address family")          \
    X(icmp_unreach, "ICMP port unreachable sent for a rejected datagram")  \
    X(icmp_limited, "ICMP unreachable not sent: over the rate limit")      \
    X(icmp_passed, "ICMP unreachable (port, host, net) passed on, direct") \
    X(icmp_local, "ICMP host/net unreachable sent: direct send had no route")

struct t2s_udp_stats {
#define T2S_X_(name, text) uint64_t name;
    T2S_UDP_COUNTERS(T2S_X_)
#undef T2S_X_
    /* drop_parse by reason (enum sf_drop of synfin/wire.h) */
    uint64_t parse[SF_NDROPS];
    /* gauges */
    uint32_t assoc_now, fds_now, queued_now;
    uint64_t queued_bytes_now;
};

struct t2s_udp;

/* NULL on a bad cfg (no tun_write or fd_add) or out of memory. */
struct t2s_udp *t2s_udp_new(const struct t2s_udp_cfg *cfg);
/* Closes every association (fd_del then close for each fd). */
void t2s_udp_free(struct t2s_udp *u);
/* cfg.pipeline from now on (associations opened later). */
void t2s_udp_set_pipeline(struct t2s_udp *u, bool on);

/* One datagram read from the TUN whose IP protocol is UDP. 0 when it was
 * sent on or queued, 1 when it was dropped (counted). */
int t2s_udp_input(struct t2s_udp *u, uint64_t now_ns, const uint8_t *dgram,
                  size_t len);
/* fd, one that fd_add registered, is ready (epoll events). Unknown fds
 * are ignored. */
void t2s_udp_event(struct t2s_udp *u, int fd, uint32_t events,
                   uint64_t now_ns);
/* Closes what timed out (idle associations, slow handshakes); returns the
 * next time it must be called (UINT64_MAX: nothing pending). */
uint64_t t2s_udp_advance(struct t2s_udp *u, uint64_t now_ns);

const struct t2s_udp_stats *t2s_udp_stats(const struct t2s_udp *u);
/* Name and text of counter i (0..T2S_UDP_NCOUNTERS-1), and its value. */
enum {
#define T2S_X_(name, text) T2S_UDP_C_##name,
    T2S_UDP_COUNTERS(T2S_X_)
#undef T2S_X_
    T2S_UDP_NCOUNTERS
};
const char *t2s_udp_counter_name(int i);
uint64_t t2s_udp_counter(const struct t2s_udp *u, int i);

#endif
