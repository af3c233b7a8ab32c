/* A SOCKS5 client without I/O (RFC 1928, RFC 1929): the handshake is a
 * state machine fed the bytes the caller received and handing back the
 * bytes to send, so one epoll loop can drive thousands of them on
 * non-blocking sockets. Also the UDP request header (RFC 1928 section 7)
 * and the socks5://[user:pass@]host:port URL.
 *
 * Driving one handshake:
 *
 *     s5_client_init(&c, S5_CMD_CONNECT, &dst, user, pass);
 *     loop:
 *       while (s5_client_out(&c, &p) > 0) { n = send(fd, p, len); s5_client_sent(&c, n); }
 *       n = recv(fd, buf, s5_client_want(&c));   // never reads past the reply
 *       r = n > 0 ? s5_client_input(&c, buf, n, &used) : s5_client_eof(&c);
 *       r == S5_DONE: c.bound holds BND.ADDR/BND.PORT; the socket is the stream
 *       r <  0:       failed, s5_strerror(r), s5_errno(r) for the client's error
 *
 * s5_client_want() is the exact count of bytes still missing from the
 * current reply, so a recv() of that size never swallows the first bytes
 * of the relayed stream (a server may speak first right after the reply).
 * Left out: BIND (command 2), GSSAPI (method 1), UDP fragmentation. */
#ifndef SF_TOOLS_T2S_SOCKS5_H
#define SF_TOOLS_T2S_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* RFC 1928 section 4: CMD. */
enum { S5_CMD_CONNECT = 1, S5_CMD_BIND = 2, S5_CMD_UDP_ASSOCIATE = 3 };
/* RFC 1928 section 4: ATYP. */
enum { S5_ATYP_IPV4 = 1, S5_ATYP_DOMAIN = 3, S5_ATYP_IPV6 = 4 };
/* RFC 1928 section 3: METHOD values we use. */
enum { S5_METHOD_NONE = 0x00, S5_METHOD_USERPASS = 0x02, S5_METHOD_NO_ACCEPTABLE = 0xff };

/* Results: S5_DONE / S5_MORE, or a negative error. The REP-code errors
 * (RFC 1928 section 6) are -(0x100 + REP). */
enum {
    S5_DONE = 1,               /* the reply arrived and says succeeded */
    S5_MORE = 0,               /* keep going (send what s5_client_out gives, read s5_client_want) */
    S5_E_PROTO = -1,           /* the server's bytes are not SOCKS5 (bad VER, RSV, ATYP, method) */
    S5_E_CLOSED = -2,          /* the server closed before its reply was complete */
    S5_E_NO_METHOD = -3,       /* the server accepts none of our methods (X'FF') */
    S5_E_AUTH = -4,            /* RFC 1929: username/password rejected */
    S5_E_NEED_AUTH = -5,       /* the server chose username/password and we have none */
    S5_E_ARG = -6,             /* bad argument (address too long, no room) */
    S5_E_FRAG = -7,            /* a UDP datagram with FRAG != 0 (dropped, RFC 1928 section 7) */
    S5_E_REP = -0x100,         /* base of the REP-code errors */
    S5_E_GENERAL = -0x101,     /* X'01' general SOCKS server failure */
    S5_E_NOT_ALLOWED = -0x102, /* X'02' connection not allowed by ruleset */
    S5_E_NET_UNREACH = -0x103, /* X'03' Network unreachable */
    S5_E_HOST_UNREACH = -0x104,/* X'04' Host unreachable */
    S5_E_REFUSED = -0x105,     /* X'05' Connection refused */
    S5_E_TTL = -0x106,         /* X'06' TTL expired */
    S5_E_CMD = -0x107,         /* X'07' Command not supported */
    S5_E_ATYP = -0x108,        /* X'08' Address type not supported */
};

/* An address as SOCKS5 carries it: IPv4, IPv6 or a domain name. */
struct s5_addr {
    uint8_t atyp;       /* S5_ATYP_* */
    uint8_t ip[16];     /* IPv4 in ip[0..3] */
    char host[256];     /* S5_ATYP_DOMAIN: NUL-terminated, 1..255 bytes */
    uint16_t port;      /* host order */
};

int s5_addr_from_sa(struct s5_addr *a, const struct sockaddr *sa);
/* 0, or S5_E_ARG for a domain name (resolve it first). */
int s5_addr_to_sa(const struct s5_addr *a, struct sockaddr_storage *ss, socklen_t *len);
/* The wire form ATYP ADDR PORT into buf; its length, or S5_E_ARG. */
int s5_addr_encode(const struct s5_addr *a, uint8_t *buf, size_t cap);
/* Parses ATYP ADDR PORT at p; its length, S5_MORE if p is too short to
 * hold it, S5_E_PROTO for an unknown ATYP or an empty domain. */
int s5_addr_decode(struct s5_addr *a, const uint8_t *p, size_t len);
/* "198.18.0.1:80", "[2001:db8::1]:443", "example.org:53". */
void s5_addr_str(const struct s5_addr *a, char *buf, size_t cap);

enum s5_state {
    S5_ST_GREETING,  /* greeting sent (or queued), waiting for the method choice */
    S5_ST_AUTH,      /* RFC 1929 request sent, waiting for its status */
    S5_ST_REQUEST,   /* CONNECT / UDP ASSOCIATE sent, waiting for the reply */
    S5_ST_DONE,
    S5_ST_FAILED,
};

struct s5_client {
    enum s5_state state;
    int err;             /* S5_E_* once FAILED */
    uint8_t rep;         /* the reply's REP once known */
    uint8_t cmd;
    uint8_t method;      /* the server's choice */
    bool have_auth;
    struct s5_addr dst;  /* what the request asks for */
    struct s5_addr bound;/* the reply's BND.ADDR/BND.PORT */
    bool pipeline;       /* s5_client_pipeline(): all our messages at once */
    uint8_t out[800];    /* bytes to send: out[out_off..out_len) */
    uint16_t out_len, out_off;
    uint16_t end_auth;   /* pipelined: where the RFC 1929 request (if any) ends in out */
    uint8_t in[262];     /* the current reply so far (the longest is 4+1+255+2) */
    uint16_t in_len;
    char user[256], pass[256];
};

/* user NULL (or "") offers only "no authentication"; with a user, both
 * methods X'00' and X'02'. S5_E_ARG if user or pass is longer than 255
 * bytes (RFC 1929 section 2) or dst's domain is empty or too long. */
int s5_client_init(struct s5_client *c, uint8_t cmd, const struct s5_addr *dst,
                   const char *user, const char *pass);
/* Pipelining, right after s5_client_init(): the greeting, the RFC 1929
 * request (with a user) and the CONNECT / UDP ASSOCIATE request are all
 * queued at once, and the server's replies read as they come, one round
 * trip instead of two (three with a user). The greeting then offers one
 * method only (username/password with a user, else none), so that the
 * server's choice is known in advance; another choice is S5_E_PROTO.
 * RFC 1928 does not promise that a server reads past the greeting before
 * it answers: dante does, microsocks 1.0.3 drops the early request (the
 * handshake then hangs: tun2socks learns it, flow.c pipe_*). S5_E_ARG if not
 * called right after init. */
int s5_client_pipeline(struct s5_client *c);
/* The bytes waiting to be sent (their count; 0: none). */
size_t s5_client_out(const struct s5_client *c, const uint8_t **p);
void s5_client_sent(struct s5_client *c, size_t n);
/* How many bytes the current reply still lacks at least (recv() this many
 * and no more; 0 when DONE or FAILED or when bytes are still to be sent). */
size_t s5_client_want(const struct s5_client *c);
/* Feeds received bytes; *used says how many were part of the handshake
 * (the rest, after S5_DONE, belong to the relayed stream). S5_MORE,
 * S5_DONE or a negative error (the state is then FAILED). */
int s5_client_input(struct s5_client *c, const uint8_t *p, size_t n, size_t *used);
/* The server closed (or the connection failed) before S5_DONE. */
int s5_client_eof(struct s5_client *c);

const char *s5_strerror(int err);
/* The errno a local client should see for err: ECONNREFUSED,
 * ENETUNREACH, EHOSTUNREACH, ETIMEDOUT, EACCES, ECONNABORTED... */
int s5_errno(int err);

/* RFC 1928 section 7: the UDP request header RSV(2) FRAG(1) ATYP ADDR PORT
 * before each datagram. encode: the header's length or S5_E_ARG (no room);
 * decode: the header's length (the data follows), S5_E_PROTO (short,
 * reserved bytes not zero, bad ATYP), or S5_E_FRAG (FRAG != 0: "an
 * implementation that does not support fragmentation MUST drop any
 * datagram whose FRAG field is other than X'00'"). */
int s5_udp_encode(uint8_t *buf, size_t cap, const struct s5_addr *dst);
int s5_udp_decode(const uint8_t *buf, size_t len, struct s5_addr *src);

/* socks5://[user[:pass]@]host:port (host a name, an IPv4 address or an
 * [IPv6] one; user and pass may be %-encoded; "socks5h://" is taken as the
 * same). 0, or -1 with a one-line reason in err. */
struct s5_url {
    char host[256];
    uint16_t port;
    bool has_auth;
    char user[256], pass[256];
};
int s5_url_parse(const char *url, struct s5_url *u, char *err, size_t errcap);

#endif
