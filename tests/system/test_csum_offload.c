/* Checksum offload at the stack's edges (virtio 1.x 5.1.6.2, docs/tun.md):
 * sf_stack_input_flags with SF_IN_CSUM_VALID takes a segment whose TCP
 * checksum it did not check (counted CSUM_IN_SKIPPED) but still checks
 * every length; without the flag a bad checksum is dropped and counted
 * as before (RFC 9293 3.1). With cfg.offload SF_OFFLOAD_TX_CSUM every
 * segment sent carries only the pseudo-header sum (CSUM_OUT_PARTIAL),
 * which the kernel's completion turns into the full checksum (RFC 1071);
 * without it (the default, and after sf_stack_set_offload(st, 0)) the
 * checksum is complete. */
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define HOST 0xC6120002u /* 198.18.0.2: the stack */
#define PEER 0xC6120001u
#define PORT 80

struct cap {
    uint8_t d[4][2048];
    size_t len[4];
    unsigned n;
};

static void cap_out(void *ctx, const uint8_t *dgram, size_t len)
{
    struct cap *c = ctx;
    if (c->n < 4 && len <= sizeof c->d[0]) {
        memcpy(c->d[c->n], dgram, len);
        c->len[c->n] = len;
    }
    c->n++;
}

static struct sf_stack *listening(struct cap *cap, unsigned offload)
{
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = HOST;
    cfg.output = cap_out;
    cfg.output_ctx = cap;
    cfg.offload = offload;
    struct sf_stack *st = NULL;
    CHECK_EQ(sf_stack_create(&cfg, 0, &st), 0);
    int sd = sf_socket(st);
    struct sf_addr a = sf_addr4(0, PORT);
    CHECK_EQ(sf_bind(st, sd, &a), 0);
    CHECK_EQ(sf_listen(st, sd, 8), 0);
    return st;
}

/* A SYN from the peer, its checksum complete. */
static size_t syn(uint8_t *buf, uint16_t sport)
{
    struct sf_ipv4 ip = {.src = PEER, .dst = HOST, .ttl = 64, .id = 1};
    struct sf_tcp t = {.sport = sport, .dport = PORT, .seq = 1000,
                       .flags = SF_SYN, .win = 65535};
    t.opt.has_mss = true;
    t.opt.mss = 1460;
    size_t n = sf_emit(buf, 256, &ip, &t);
    CHECK(n > 0);
    return n;
}

static uint64_t ctr(struct sf_stack *st, enum sf_counter c)
{
    return sf_stack_counters(st)->c[c];
}

static uint64_t drops(struct sf_stack *st, enum sf_drop d)
{
    return sf_stack_counters(st)->drops[d];
}

/* Whether the captured datagram k has a complete, valid checksum. */
static bool valid(const struct cap *c, unsigned k)
{
    struct sf_ipv4 ip;
    struct sf_tcp t;
    return sf_ipv4_parse(c->d[k], c->len[k], &ip) == SF_DROP_NONE &&
           sf_tcp_parse(&ip, &t) == SF_DROP_NONE;
}

static void test_in_flag(void)
{
    struct cap cap = {0};
    struct sf_stack *st = listening(&cap, 0);
    uint8_t b[256];
    size_t n = syn(b, 40001);
    b[20 + 16] ^= 0x55; /* a corrupted checksum */
    /* without the flag: dropped and counted, as ever */
    sf_stack_input(st, 1, b, n);
    CHECK_EQ(drops(st, SF_DROP_TCP_CSUM), 1);
    sf_stack_input_flags(st, 2, b, n, 0);
    CHECK_EQ(drops(st, SF_DROP_TCP_CSUM), 2);
    CHECK_EQ(cap.n, 0);
    CHECK_EQ(ctr(st, SF_CTR_CSUM_IN_SKIPPED), 0);
    /* with it: taken unchecked, answered with a SYN,ACK */
    sf_stack_input_flags(st, 3, b, n, SF_IN_CSUM_VALID);
    CHECK_EQ(drops(st, SF_DROP_TCP_CSUM), 2);
    CHECK_EQ(ctr(st, SF_CTR_CSUM_IN_SKIPPED), 1);
    CHECK_EQ(cap.n, 1);
    CHECK(valid(&cap, 0)); /* no offload: the answer's checksum complete */
    /* flagged, but lengths that disagree: still dropped and counted */
    cap.n = 0;
    n = syn(b, 40002);
    sf_stack_input_flags(st, 4, b, n - 1, SF_IN_CSUM_VALID); /* cut short */
    CHECK_EQ(drops(st, SF_DROP_IP_TOTLEN), 1);
    b[20 + 12] = 0xf0; /* data offset 60 > the segment's 24 */
    sf_stack_input_flags(st, 5, b, n, SF_IN_CSUM_VALID);
    CHECK_EQ(drops(st, SF_DROP_TCP_DOFF), 1);
    b[20 + 12] = 0x60;
    b[9] = 17; /* not TCP: the flag does not make it so */
    b[10] = b[11] = 0;
    uint16_t c = sf_csum_fold(sf_csum_add(0, b, 20));
    b[10] = (uint8_t)(c >> 8);
    b[11] = (uint8_t)c;
    sf_stack_input_flags(st, 6, b, n, SF_IN_CSUM_VALID);
    CHECK_EQ(drops(st, SF_DROP_IP_PROTO), 1);
    b[10] ^= 1; /* nor does it cover the IPv4 header checksum */
    sf_stack_input_flags(st, 7, b, n, SF_IN_CSUM_VALID);
    CHECK_EQ(drops(st, SF_DROP_IP_CSUM), 1);
    CHECK_EQ(cap.n, 0);
    CHECK_EQ(ctr(st, SF_CTR_CSUM_IN_SKIPPED), 1);
    sf_stack_free(st);
}

/* What the kernel does with NEEDS_CSUM at csum_start 20, offset 16. */
static void kernel_complete(uint8_t *d, size_t len)
{
    uint16_t c = sf_csum_fold(sf_csum_add(0, d + 20, len - 20));
    d[36] = (uint8_t)(c >> 8);
    d[37] = (uint8_t)c;
}

static void test_out_partial(void)
{
    struct cap cap = {0};
    struct sf_stack *st = listening(&cap, SF_OFFLOAD_TX_CSUM);
    uint8_t b[256];
    size_t n = syn(b, 40001);
    sf_stack_input(st, 1, b, n);
    CHECK_EQ(cap.n, 1);
    CHECK_EQ(ctr(st, SF_CTR_CSUM_OUT_PARTIAL), 1);
    CHECK(!valid(&cap, 0) || cap.d[0][36] == 0); /* (by chance only) */
    /* the field is the pseudo-header sum: source, destination, 0, 6,
     * TCP length (RFC 9293 3.1), folded, not complemented */
    struct sf_ipv4 ip;
    CHECK_EQ(sf_ipv4_parse(cap.d[0], cap.len[0], &ip), SF_DROP_NONE);
    uint8_t ph[12] = {0xC6, 0x12, 0, 2, 0xC6, 0x12, 0, 1, 0, 6,
                      (uint8_t)(ip.payload_len >> 8), (uint8_t)ip.payload_len};
    uint16_t want = (uint16_t)~sf_csum_fold(sf_csum_add(0, ph, 12));
    CHECK_EQ(cap.d[0][36] << 8 | cap.d[0][37], want);
    kernel_complete(cap.d[0], cap.len[0]);
    CHECK(valid(&cap, 0));
    /* an unknown bit: refused, nothing changed */
    CHECK_EQ(sf_stack_set_offload(st, 0x80), SF_EINVAL);
    CHECK_EQ(sf_stack_config(st)->offload, SF_OFFLOAD_TX_CSUM);
    struct sf_stack_cfg bad;
    sf_stack_cfg_default(&bad);
    bad.addr = HOST;
    bad.output = cap_out;
    bad.offload = 6;
    CHECK(sf_stack_cfg_check(&bad) != NULL &&
          strstr(sf_stack_cfg_check(&bad), "offload") != NULL);
    /* off again: complete checksums, not counted */
    CHECK_EQ(sf_stack_set_offload(st, 0), 0);
    cap.n = 0;
    n = syn(b, 40002);
    sf_stack_input(st, 2, b, n);
    CHECK_EQ(cap.n, 1);
    CHECK(valid(&cap, 0));
    CHECK_EQ(ctr(st, SF_CTR_CSUM_OUT_PARTIAL), 1);
    CHECK_EQ(sf_stack_config(st)->offload, 0);
    /* a RST to a closed port is a segment like any other */
    CHECK_EQ(sf_stack_set_offload(st, SF_OFFLOAD_TX_CSUM), 0);
    cap.n = 0;
    struct sf_ipv4 pip = {.src = PEER, .dst = HOST, .ttl = 64};
    struct sf_tcp a = {.sport = 5, .dport = 81, .seq = 1, .ack = 2,
                       .flags = SF_ACK, .win = 100};
    n = sf_emit(b, sizeof b, &pip, &a);
    sf_stack_input(st, 3, b, n);
    CHECK_EQ(cap.n, 1);
    CHECK_EQ(ctr(st, SF_CTR_CSUM_OUT_PARTIAL), 2);
    kernel_complete(cap.d[0], cap.len[0]);
    CHECK(valid(&cap, 0));
    sf_stack_free(st);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_in_flag),
    CHECK_CASE(test_out_partial),
};

int main(int argc, char **argv) { return CHECK_MAIN(argc, argv, cases); }
