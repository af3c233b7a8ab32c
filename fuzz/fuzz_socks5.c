/* libFuzzer harness for tools/synfin/t2s/socks5.c, the SOCKS5 client of
 * synfin tun2socks: what a SOCKS server sends it is input from the network
 * (RFC 1928, RFC 1929), and a server that answers garbage, in any pieces,
 * must get a clean error, never a crash, a hang or a read past what came.
 * fuzz-sources: tools/synfin/t2s/socks5.c
 *
 * Byte 0 chooses what is fuzzed (its value mod 8):
 *   0-5  the client's handshake: bit 0 UDP ASSOCIATE (else CONNECT), bit 1
 *        with a user and password, bit 2 pipelined (s5_client_pipeline).
 *        Byte 1: the destination's address type (IPv4, IPv6, a name) and
 *        whether our messages leave whole or a byte a send. Then the
 *        server's bytes in pieces: a length byte (0: the server closes)
 *        and that many bytes.
 *   6    a datagram from the UDP relay (s5_udp_decode), encoded again.
 *   7    a proxy URL (s5_url_parse), as --proxy gives it.
 * Checked: each call returns one of its documented values; the bytes to
 * send and the bytes taken lie inside their buffers; S5_MORE takes every
 * byte given; S5_DONE has a bound address of a known type; an error
 * leaves the client FAILED with that error, a message and an errno; the
 * end is sticky; a UDP header decoded encodes back to the same bytes; a
 * URL error is one line. */
#include "t2s/socks5.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void need(int cond)
{
    if (!cond)
        abort();
}

static void check_error(const struct s5_client *c, int r)
{
    need(r < 0);
    need(c->state == S5_ST_FAILED && c->err == r);
    need(s5_strerror(r) != NULL);
    need(s5_errno(r) > 0);
}

static void check_done(struct s5_client *c)
{
    need(c->state == S5_ST_DONE);
    need(c->bound.atyp == S5_ATYP_IPV4 || c->bound.atyp == S5_ATYP_IPV6 ||
         c->bound.atyp == S5_ATYP_DOMAIN);
    need(memchr(c->bound.host, 0, sizeof c->bound.host) != NULL);
    char s[300];
    s5_addr_str(&c->bound, s, sizeof s);
    need(memchr(s, 0, sizeof s) != NULL);
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (s5_addr_to_sa(&c->bound, &ss, &sl) == 0)
        need(sl > 0 && sl <= sizeof ss);
}

static void handshake(const uint8_t *d, size_t size)
{
    if (size < 2)
        return;
    uint8_t cmd = (d[0] & 1) ? S5_CMD_UDP_ASSOCIATE : S5_CMD_CONNECT;
    bool auth = d[0] & 2, pipe = d[0] & 4, bytewise = d[1] & 4;
    struct s5_addr dst;
    memset(&dst, 0, sizeof dst);
    static const uint8_t types[] = {S5_ATYP_IPV4, S5_ATYP_IPV6, S5_ATYP_DOMAIN,
                                    S5_ATYP_IPV4};
    dst.atyp = types[d[1] & 3];
    dst.ip[0] = 198;
    dst.ip[1] = 18;
    dst.ip[3] = 7;
    strcpy(dst.host, "example.test");
    dst.port = 80;
    struct s5_client *c = malloc(sizeof *c);
    if (!c)
        return;
    need(s5_client_init(c, cmd, &dst, auth ? "user" : NULL, auth ? "pass" : NULL) == 0);
    if (pipe)
        need(s5_client_pipeline(c) == 0);
    size_t off = 2;
    int r = S5_MORE;
    for (unsigned round = 0; r == S5_MORE && round < 1000; round++) {
        const uint8_t *p;
        size_t n = s5_client_out(c, &p);
        need(n <= sizeof c->out);
        if (n) {
            need(p >= c->out && p + n <= c->out + sizeof c->out);
            s5_client_sent(c, bytewise ? 1 : n);
        }
        need(s5_client_want(c) <= sizeof c->in);
        if (off >= size)
            break; /* the server says no more: the caller's timeout */
        size_t len = d[off++];
        if (len == 0) { /* the server closes */
            r = s5_client_eof(c);
            need(r == S5_DONE || r < 0);
            break;
        }
        if (len > size - off)
            len = size - off;
        size_t used = 99999;
        r = s5_client_input(c, d + off, len, &used);
        need(used <= len);
        if (r == S5_MORE) {
            need(used == len);
            need(c->state != S5_ST_DONE && c->state != S5_ST_FAILED);
        }
        off += len;
    }
    if (r == S5_DONE)
        check_done(c);
    else if (r != S5_MORE)
        check_error(c, r);
    if (r != S5_MORE) { /* the end is sticky */
        size_t used = 99999;
        uint8_t more[4] = {5, 0, 0, 1};
        need(s5_client_input(c, more, sizeof more, &used) == r && used == 0);
        need(s5_client_eof(c) == r);
        need(s5_client_want(c) == 0);
    }
    free(c);
}

static void udp(const uint8_t *d, size_t size)
{
    struct s5_addr src;
    int r = s5_udp_decode(d, size, &src);
    if (r < 0) {
        need(r == S5_E_PROTO || r == S5_E_FRAG);
        return;
    }
    need(r >= 4 + 2 && (size_t)r <= size);
    need(src.atyp == S5_ATYP_IPV4 || src.atyp == S5_ATYP_IPV6 ||
         src.atyp == S5_ATYP_DOMAIN);
    uint8_t out[300];
    int n = s5_udp_encode(out, sizeof out, &src);
    need(n == r);
    need(memcmp(out, d, (size_t)n) == 0);
}

static void url(const uint8_t *d, size_t size)
{
    char s[1024];
    if (size >= sizeof s)
        size = sizeof s - 1;
    memcpy(s, d, size);
    s[size] = 0;
    struct s5_url u;
    char err[200];
    memset(err, 0, sizeof err);
    if (s5_url_parse(s, &u, err, sizeof err) == 0) {
        need(u.host[0] != 0 && memchr(u.host, 0, sizeof u.host) != NULL);
        need(memchr(u.user, 0, sizeof u.user) != NULL);
        need(memchr(u.pass, 0, sizeof u.pass) != NULL);
        need(!u.has_auth || u.user[0] != 0);
    } else {
        need(err[0] != 0 && memchr(err, 0, sizeof err) != NULL);
        need(strchr(err, '\n') == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] & 7) {
    case 6:
        udp(data + 1, size - 1);
        break;
    case 7:
        url(data + 1, size - 1);
        break;
    default:
        handshake(data, size);
        break;
    }
    return 0;
}
