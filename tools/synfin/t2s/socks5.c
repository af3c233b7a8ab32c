/* The SOCKS5 client state machine, the UDP request header and the proxy
 * URL (see socks5.h). Pure: no I/O, no allocation, no clock. */
#include "t2s/socks5.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- addresses ---- */

int s5_addr_from_sa(struct s5_addr *a, const struct sockaddr *sa)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        a->atyp = S5_ATYP_IPV4;
        memcpy(a->ip, &s4->sin_addr, 4);
        a->port = ntohs(s4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        a->atyp = S5_ATYP_IPV6;
        memcpy(a->ip, &s6->sin6_addr, 16);
        a->port = ntohs(s6->sin6_port);
        return 0;
    }
    return S5_E_ARG;
}

int s5_addr_to_sa(const struct s5_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (a->atyp == S5_ATYP_IPV4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->ip, 4);
        s4->sin_port = htons(a->port);
        *len = sizeof *s4;
        return 0;
    }
    if (a->atyp == S5_ATYP_IPV6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->ip, 16);
        s6->sin6_port = htons(a->port);
        *len = sizeof *s6;
        return 0;
    }
    return S5_E_ARG;
}

/* RFC 1928 section 5: ATYP, then 4 octets (IPv4), 16 (IPv6), or a length
 * octet and that many (domain name, "no terminating NUL octet"), then the
 * port in network octet order. */
int s5_addr_encode(const struct s5_addr *a, uint8_t *buf, size_t cap)
{
    size_t alen;
    switch (a->atyp) {
    case S5_ATYP_IPV4: alen = 4; break;
    case S5_ATYP_IPV6: alen = 16; break;
    case S5_ATYP_DOMAIN:
        alen = strnlen(a->host, sizeof a->host);
        if (alen == 0 || alen > 255)
            return S5_E_ARG;
        alen += 1;
        break;
    default: return S5_E_ARG;
    }
    if (cap < 1 + alen + 2)
        return S5_E_ARG;
    buf[0] = a->atyp;
    if (a->atyp == S5_ATYP_DOMAIN) {
        buf[1] = (uint8_t)(alen - 1);
        memcpy(buf + 2, a->host, alen - 1);
    } else {
        memcpy(buf + 1, a->ip, alen);
    }
    buf[1 + alen] = (uint8_t)(a->port >> 8);
    buf[2 + alen] = (uint8_t)a->port;
    return (int)(1 + alen + 2);
}

/* The length ATYP ADDR PORT takes, from its first two octets; 0 when the
 * ATYP is unknown or the domain empty, -1 when p is too short to tell. */
static int addr_wire_len(const uint8_t *p, size_t len)
{
    if (len < 1)
        return -1;
    switch (p[0]) {
    case S5_ATYP_IPV4: return 1 + 4 + 2;
    case S5_ATYP_IPV6: return 1 + 16 + 2;
    case S5_ATYP_DOMAIN:
        if (len < 2)
            return -1;
        return p[1] ? 1 + 1 + p[1] + 2 : 0;
    default: return 0;
    }
}

int s5_addr_decode(struct s5_addr *a, const uint8_t *p, size_t len)
{
    int need = addr_wire_len(p, len);
    if (need < 0)
        return S5_MORE;
    if (need == 0)
        return S5_E_PROTO;
    if (len < (size_t)need)
        return S5_MORE;
    /* A name with a NUL in it is no "fully-qualified domain name" (RFC
     * 1928 section 5) and would be cut short as a C string: garbage, as
     * an unknown ATYP is (found by fuzz/fuzz_socks5.c). */
    if (p[0] == S5_ATYP_DOMAIN && memchr(p + 2, 0, p[1]))
        return S5_E_PROTO;
    memset(a, 0, sizeof *a);
    a->atyp = p[0];
    if (p[0] == S5_ATYP_DOMAIN) {
        memcpy(a->host, p + 2, p[1]);
        a->host[p[1]] = 0;
    } else {
        memcpy(a->ip, p + 1, (size_t)need - 3);
    }
    a->port = (uint16_t)(p[need - 2] << 8 | p[need - 1]);
    return need;
}

void s5_addr_str(const struct s5_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    switch (a->atyp) {
    case S5_ATYP_IPV4:
        inet_ntop(AF_INET, a->ip, ip, sizeof ip);
        snprintf(buf, cap, "%s:%u", ip, a->port);
        break;
    case S5_ATYP_IPV6:
        inet_ntop(AF_INET6, a->ip, ip, sizeof ip);
        snprintf(buf, cap, "[%s]:%u", ip, a->port);
        break;
    case S5_ATYP_DOMAIN:
        snprintf(buf, cap, "%s:%u", a->host, a->port);
        break;
    default:
        snprintf(buf, cap, "?");
    }
}

/* ---- the handshake ---- */

static int fail(struct s5_client *c, int err)
{
    c->state = S5_ST_FAILED;
    c->err = err;
    c->out_len = c->out_off = 0;
    return err;
}

/* RFC 1928 section 4: VER CMD RSV ATYP DST.ADDR DST.PORT, written at o
 * (room for 3 + 1 + 1 + 255 + 2 octets); its length, or S5_E_ARG. */
static int write_request(const struct s5_client *c, uint8_t *o)
{
    o[0] = 5;
    o[1] = c->cmd;
    o[2] = 0;
    int n = s5_addr_encode(&c->dst, o + 3, 1 + 1 + 255 + 2);
    return n < 0 ? n : 3 + n;
}

/* RFC 1929 section 2: VER(X'01') ULEN UNAME PLEN PASSWD at o; its length. */
static size_t write_auth(const struct s5_client *c, uint8_t *o)
{
    size_t ul = strlen(c->user), pl = strlen(c->pass);
    o[0] = 1;
    o[1] = (uint8_t)ul;
    memcpy(o + 2, c->user, ul);
    o[2 + ul] = (uint8_t)pl;
    memcpy(o + 3 + ul, c->pass, pl);
    return 3 + ul + pl;
}

/* The next reply expected: state st, nothing of it read yet. */
static int expect(struct s5_client *c, enum s5_state st)
{
    c->in_len = 0;
    c->state = st;
    return S5_MORE;
}

static int queue_request(struct s5_client *c)
{
    int n = write_request(c, c->out);
    if (n < 0)
        return fail(c, n);
    c->out_len = (uint16_t)n;
    c->out_off = 0;
    return expect(c, S5_ST_REQUEST);
}

static void queue_auth(struct s5_client *c)
{
    c->out_len = (uint16_t)write_auth(c, c->out);
    c->out_off = 0;
    expect(c, S5_ST_AUTH);
}

int s5_client_init(struct s5_client *c, uint8_t cmd, const struct s5_addr *dst,
                   const char *user, const char *pass)
{
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->dst = *dst;
    uint8_t probe[300];
    if (s5_addr_encode(dst, probe, sizeof probe) < 0)
        return fail(c, S5_E_ARG);
    if (user && *user) {
        /* RFC 1929 section 2: ULEN and PLEN are one octet each. */
        if (strlen(user) > 255 || (pass && strlen(pass) > 255))
            return fail(c, S5_E_ARG);
        strcpy(c->user, user);
        strcpy(c->pass, pass ? pass : "");
        c->have_auth = true;
    }
    /* RFC 1928 section 3: VER NMETHODS METHODS. */
    c->out[0] = 5;
    if (c->have_auth) {
        c->out[1] = 2;
        c->out[2] = S5_METHOD_NONE;
        c->out[3] = S5_METHOD_USERPASS;
        c->out_len = 4;
    } else {
        c->out[1] = 1;
        c->out[2] = S5_METHOD_NONE;
        c->out_len = 3;
    }
    c->state = S5_ST_GREETING;
    return S5_MORE;
}

/* Pipelined, the greeting's one METHOD (RFC 1928 section 3), so that
 * the choice is known; the greeting is then VER NMETHODS(1) METHOD. */
#define PIPE_GREETING 3
static uint8_t pipe_method(const struct s5_client *c)
{
    return c->have_auth ? S5_METHOD_USERPASS : S5_METHOD_NONE;
}

int s5_client_pipeline(struct s5_client *c)
{
    if (c->state != S5_ST_GREETING || c->out_off)
        return S5_E_ARG;
    uint16_t o = 0;
    c->out[o++] = 5;
    c->out[o++] = 1;
    c->out[o++] = pipe_method(c);
    if (c->have_auth)
        o = (uint16_t)(o + write_auth(c, c->out + o));
    c->end_auth = o;
    int n = write_request(c, c->out + o);
    if (n < 0)
        return fail(c, n);
    c->out_len = (uint16_t)(o + n);
    c->pipeline = true;
    return S5_MORE;
}

/* Where in out the message that the awaited reply answers ends: the
 * server can answer only after it has all of it. */
static size_t answered_end(const struct s5_client *c)
{
    if (!c->pipeline)
        return c->out_len;
    switch (c->state) {
    case S5_ST_GREETING: return PIPE_GREETING;
    case S5_ST_AUTH: return c->end_auth;
    default: return c->out_len;
    }
}

size_t s5_client_out(const struct s5_client *c, const uint8_t **p)
{
    *p = c->out + c->out_off;
    return (size_t)(c->out_len - c->out_off);
}

void s5_client_sent(struct s5_client *c, size_t n)
{
    size_t left = (size_t)(c->out_len - c->out_off);
    c->out_off = (uint16_t)(c->out_off + (n < left ? n : left));
}

/* The full length of the reply being read, or 0 if in[] does not tell yet
 * (then the lower bound is what want() computes). */
static size_t reply_len(const struct s5_client *c, size_t *at_least)
{
    switch (c->state) {
    case S5_ST_GREETING:
    case S5_ST_AUTH:
        *at_least = 2;
        return 2;
    case S5_ST_REQUEST: {
        /* VER REP RSV, then ATYP ADDR PORT: 4 octets tell IPv4/IPv6, the
         * 5th a domain's length. */
        if (c->in_len < 4) {
            *at_least = 4 + 1 + 1 + 2; /* the shortest: a 1-octet domain */
            return 0;
        }
        int l = addr_wire_len(c->in + 3, c->in_len - 3);
        if (l < 0) {
            *at_least = 5;
            return 0;
        }
        if (l == 0) {
            *at_least = c->in_len; /* unknown ATYP: input() rejects it */
            return c->in_len;
        }
        *at_least = 3 + (size_t)l;
        return 3 + (size_t)l;
    }
    default:
        *at_least = 0;
        return 0;
    }
}

size_t s5_client_want(const struct s5_client *c)
{
    if (c->state == S5_ST_DONE || c->state == S5_ST_FAILED || c->out_off < answered_end(c))
        return 0;
    /* Never past the reply: the shortest possible rest of it. */
    size_t least;
    reply_len(c, &least);
    return least > c->in_len ? least - c->in_len : 0;
}

/* REP (RFC 1928 section 6) to an error. */
static int rep_err(uint8_t rep)
{
    if (rep >= 1 && rep <= 8)
        return S5_E_REP - rep;
    return S5_E_PROTO; /* X'09' to X'FF' unassigned */
}

/* The method choice: VER METHOD (RFC 1928 section 3). */
static int on_method(struct s5_client *c)
{
    if (c->in[0] != 5)
        return fail(c, S5_E_PROTO);
    c->method = c->in[1];
    /* "If the selected METHOD is X'FF', none of the methods listed by the
     * client are acceptable, and the client MUST close the connection." */
    if (c->method == S5_METHOD_NO_ACCEPTABLE)
        return fail(c, S5_E_NO_METHOD);
    if (c->pipeline) { /* the one method offered, whose message followed */
        if (c->method != pipe_method(c))
            return fail(c, S5_E_PROTO);
        return expect(c, c->method == S5_METHOD_USERPASS ? S5_ST_AUTH : S5_ST_REQUEST);
    }
    if (c->method == S5_METHOD_NONE)
        return queue_request(c);
    if (c->method == S5_METHOD_USERPASS) {
        if (!c->have_auth)
            return fail(c, S5_E_NEED_AUTH);
        queue_auth(c);
        return S5_MORE;
    }
    return fail(c, S5_E_PROTO); /* a method we did not offer */
}

/* RFC 1929 section 2: VER STATUS; "A STATUS field of X'00' indicates
 * success. If the server returns a `failure' (STATUS value other than
 * X'00') status, it MUST close the connection." */
static int on_auth(struct s5_client *c)
{
    if (c->in[0] != 1)
        return fail(c, S5_E_PROTO);
    if (c->in[1] != 0)
        return fail(c, S5_E_AUTH);
    if (c->pipeline)
        return expect(c, S5_ST_REQUEST); /* sent already */
    return queue_request(c);
}

/* RFC 1928 section 6: VER REP RSV(X'00') ATYP BND.ADDR BND.PORT. */
static int on_reply(struct s5_client *c)
{
    if (c->in[0] != 5 || c->in[2] != 0)
        return fail(c, S5_E_PROTO);
    c->rep = c->in[1];
    if (c->rep != 0)
        return fail(c, rep_err(c->rep));
    int n = s5_addr_decode(&c->bound, c->in + 3, c->in_len - 3u);
    if (n <= 0)
        return fail(c, S5_E_PROTO);
    c->state = S5_ST_DONE;
    return S5_DONE;
}

/* The reply's first octets judged before the rest arrives, so that garbage
 * or a failure REP is known at once (a server that sends "X'05' X'05'"
 * and closes has still refused). */
static int early_check(struct s5_client *c)
{
    if (c->state != S5_ST_REQUEST || c->in_len < 2)
        return S5_MORE;
    if (c->in[0] != 5)
        return fail(c, S5_E_PROTO);
    if (c->in[1] != 0)
        return fail(c, rep_err(c->in[1])); /* the rest of the reply does not matter */
    if (c->in_len >= 3 && c->in[2] != 0)
        return fail(c, S5_E_PROTO);
    if (c->in_len >= 4 && addr_wire_len(c->in + 3, c->in_len - 3u) == 0)
        return fail(c, S5_E_PROTO);
    return S5_MORE;
}

int s5_client_input(struct s5_client *c, const uint8_t *p, size_t n, size_t *used)
{
    *used = 0;
    if (c->state == S5_ST_DONE)
        return S5_DONE;
    if (c->state == S5_ST_FAILED)
        return c->err;
    /* A server that answers before our message is sent is not SOCKS5. */
    if (c->out_off < answered_end(c) && n > 0)
        return fail(c, S5_E_PROTO);
    while (*used < n) {
        int e = early_check(c);
        if (e < 0)
            return e;
        size_t least, full = reply_len(c, &least);
        size_t target = full ? full : least;
        if (c->in_len < target) {
            size_t take = target - c->in_len;
            if (take > n - *used)
                take = n - *used;
            memcpy(c->in + c->in_len, p + *used, take);
            c->in_len = (uint16_t)(c->in_len + take);
            *used += take;
        }
        full = reply_len(c, &least);
        if (!full || c->in_len < full)
            continue;
        int r;
        switch (c->state) {
        case S5_ST_GREETING: r = on_method(c); break;
        case S5_ST_AUTH: r = on_auth(c); break;
        case S5_ST_REQUEST: r = on_reply(c); break;
        default: r = fail(c, S5_E_PROTO); break;
        }
        if (r != S5_MORE)
            return r;
        /* Our next message must go out before the server can answer it. */
        if (c->out_off < answered_end(c)) {
            if (*used < n)
                return fail(c, S5_E_PROTO);
            return S5_MORE;
        }
    }
    return early_check(c);
}

int s5_client_eof(struct s5_client *c)
{
    if (c->state == S5_ST_DONE)
        return S5_DONE;
    if (c->state == S5_ST_FAILED)
        return c->err;
    return fail(c, S5_E_CLOSED);
}

const char *s5_strerror(int err)
{
    switch (err) {
    case S5_DONE: return "succeeded";
    case S5_MORE: return "in progress";
    case S5_E_PROTO: return "the SOCKS server's reply is not SOCKS5";
    case S5_E_CLOSED: return "the SOCKS server closed the connection during the handshake";
    case S5_E_NO_METHOD: return "the SOCKS server accepts none of our authentication methods";
    case S5_E_AUTH: return "the SOCKS server rejected the username/password";
    case S5_E_NEED_AUTH: return "the SOCKS server wants a username/password and none was given";
    case S5_E_ARG: return "bad argument";
    case S5_E_FRAG: return "fragmented SOCKS5 UDP datagram (not supported, dropped)";
    case S5_E_GENERAL: return "general SOCKS server failure";
    case S5_E_NOT_ALLOWED: return "connection not allowed by the SOCKS server's ruleset";
    case S5_E_NET_UNREACH: return "network unreachable (SOCKS server)";
    case S5_E_HOST_UNREACH: return "host unreachable (SOCKS server)";
    case S5_E_REFUSED: return "connection refused (SOCKS server)";
    case S5_E_TTL: return "TTL expired (SOCKS server)";
    case S5_E_CMD: return "command not supported by the SOCKS server";
    case S5_E_ATYP: return "address type not supported by the SOCKS server";
    default: return "unknown SOCKS5 error";
    }
}

int s5_errno(int err)
{
    switch (err) {
    case S5_E_REFUSED: return ECONNREFUSED;
    case S5_E_NET_UNREACH: return ENETUNREACH;
    case S5_E_HOST_UNREACH: return EHOSTUNREACH;
    case S5_E_TTL: return ETIMEDOUT;
    case S5_E_NOT_ALLOWED: return EACCES;
    case S5_E_CMD:
    case S5_E_ATYP: return EOPNOTSUPP;
    case S5_E_AUTH:
    case S5_E_NEED_AUTH:
    case S5_E_NO_METHOD: return EACCES;
    case S5_E_ARG: return EINVAL;
    default: return ECONNABORTED;
    }
}

/* ---- RFC 1928 section 7: UDP ---- */

int s5_udp_encode(uint8_t *buf, size_t cap, const struct s5_addr *dst)
{
    if (cap < 3)
        return S5_E_ARG;
    buf[0] = buf[1] = 0; /* RSV */
    buf[2] = 0;          /* FRAG: standalone datagram */
    int n = s5_addr_encode(dst, buf + 3, cap - 3);
    return n < 0 ? n : 3 + n;
}

int s5_udp_decode(const uint8_t *buf, size_t len, struct s5_addr *src)
{
    if (len < 4 || buf[0] || buf[1])
        return S5_E_PROTO;
    /* "An implementation that does not support fragmentation MUST drop any
     * datagram whose FRAG field is other than X'00'." */
    if (buf[2])
        return S5_E_FRAG;
    int n = s5_addr_decode(src, buf + 3, len - 3);
    if (n <= 0)
        return S5_E_PROTO; /* short or unknown ATYP */
    return 3 + n;
}

/* ---- the URL ---- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* %-decodes s[0..n) into out (cap bytes with the NUL); -1 on a bad
 * escape, -2 if too long, -3 if it decodes to a NUL. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            ch = h << 4 | l;
            if (!ch)
                return -3;
            i += 2;
        }
        if (o + 1 >= cap)
            return -2;
        out[o++] = (char)ch;
    }
    out[o] = 0;
    return (int)o;
}

/* The URL itself is not repeated: it may hold a password. */
static int url_err(char *err, size_t cap, const char *why)
{
    snprintf(err, cap, "bad proxy URL: %s (want socks5://[user:pass@]host:port)", why);
    return -1;
}

int s5_url_parse(const char *url, struct s5_url *u, char *err, size_t errcap)
{
    memset(u, 0, sizeof *u);
    const char *p;
    if (!strncmp(url, "socks5://", 9))
        p = url + 9;
    else if (!strncmp(url, "socks5h://", 10))
        p = url + 10;
    else if (strstr(url, "://"))
        return url_err(err, errcap, "the scheme must be socks5");
    else
        return url_err(err, errcap, "no socks5:// scheme");
    const char *end = p + strlen(p);
    if (end > p && end[-1] == '/')
        end--; /* one trailing slash is harmless */
    for (const char *q = p; q < end; q++)
        if (*q == '/' || *q == '?' || *q == '#')
            return url_err(err, errcap, "a path, query or fragment is not allowed");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q; /* the last '@' ends the user info */
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
        int r = pct_decode(p, ulen, u->user, sizeof u->user);
        if (r == -1 || r == -3)
            return url_err(err, errcap, "bad %-escape in the user name");
        if (r == -2)
            return url_err(err, errcap, "user name longer than 255 bytes (RFC 1929)");
        if (r == 0)
            return url_err(err, errcap, "empty user name");
        if (colon) {
            r = pct_decode(colon + 1, (size_t)(at - colon - 1), u->pass, sizeof u->pass);
            if (r == -1 || r == -3)
                return url_err(err, errcap, "bad %-escape in the password");
            if (r == -2)
                return url_err(err, errcap, "password longer than 255 bytes (RFC 1929)");
        }
        u->has_auth = true;
        p = at + 1;
    }
    const char *hend, *portp;
    if (*p == '[') {
        hend = memchr(p, ']', (size_t)(end - p));
        if (!hend)
            return url_err(err, errcap, "'[' without ']' around the IPv6 address");
        size_t hl = (size_t)(hend - p - 1);
        if (hl == 0 || hl >= sizeof u->host)
            return url_err(err, errcap, "bad IPv6 address");
        memcpy(u->host, p + 1, hl);
        struct in6_addr a6;
        if (inet_pton(AF_INET6, u->host, &a6) != 1)
            return url_err(err, errcap, "bad IPv6 address");
        if (hend + 1 >= end || hend[1] != ':')
            return url_err(err, errcap, "no port");
        portp = hend + 2;
    } else {
        const char *colon = NULL;
        for (const char *q = p; q < end; q++)
            if (*q == ':') {
                if (colon)
                    return url_err(err, errcap, "an IPv6 address must be in [brackets]");
                colon = q;
            }
        if (!colon)
            return url_err(err, errcap, "no port");
        size_t hl = (size_t)(colon - p);
        if (hl == 0)
            return url_err(err, errcap, "no host");
        if (hl >= sizeof u->host)
            return url_err(err, errcap, "host name too long");
        memcpy(u->host, p, hl);
        for (size_t i = 0; i < hl; i++) {
            char ch = u->host[i];
            if (!(ch == '-' || ch == '.' || ch == '_' || (ch >= '0' && ch <= '9') ||
                  (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
                return url_err(err, errcap, "bad character in the host name");
        }
        portp = colon + 1;
    }
    if (portp >= end)
        return url_err(err, errcap, "no port");
    unsigned long port = 0;
    for (const char *q = portp; q < end; q++) {
        if (*q < '0' || *q > '9')
            return url_err(err, errcap, "the port is not a number");
        port = port * 10 + (unsigned long)(*q - '0');
        if (port > 65535)
            return url_err(err, errcap, "port out of range 1-65535");
    }
    if (port == 0)
        return url_err(err, errcap, "port out of range 1-65535");
    u->port = (uint16_t)port;
    return 0;
}
