/* The TUN driver's offload arithmetic (src/link/gso.c), without a device:
 * merging data segments into one GSO packet and its virtio_net_hdr, the
 * segments that must not be merged, completing the checksum of a
 * super-packet the kernel hands over, and cutting a super-packet back into
 * MSS segments. Every checksum is verified by the wire code the core uses
 * (sf_ipv4_parse, sf_tcp_parse), and merge-then-cut must give back the
 * segments the stack emitted, byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "link/gso.h"
#include "synfin/wire.h"

#define SRC 0xC6120002u /* 198.18.0.2 */
#define DST 0xC6120001u

static uint8_t pay[GSO_MAX];

/* One datagram from the wire code: seq, flags, payload bytes pay[at..],
 * IP ID id, optionally the timestamp option. */
static size_t seg(uint8_t *buf, uint32_t seq, uint8_t flags, size_t at,
                  size_t n, uint16_t id, bool ts)
{
    struct sf_ipv4 ip = {.src = SRC, .dst = DST, .ttl = 64, .id = id};
    struct sf_tcp t = {.sport = 7, .dport = 40000, .seq = seq, .ack = 1000,
                       .flags = flags, .win = 65535, .payload = pay + at,
                       .len = n};
    if (ts) {
        t.opt.has_ts = true;
        t.opt.ts_val = 11;
        t.opt.ts_ecr = 22;
    }
    size_t len = sf_emit(buf, GSO_MAX, &ip, &t);
    CHECK(len > 0);
    return len;
}

/* Whether d parses as the core would take it: both checksums right. */
static bool valid(const uint8_t *d, size_t len, struct sf_tcp *t)
{
    struct sf_ipv4 ip;
    return sf_ipv4_parse(d, len, &ip) == SF_DROP_NONE &&
           sf_tcp_parse(&ip, t) == SF_DROP_NONE;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* What the kernel does with NEEDS_CSUM: sums from csum_start on (the
 * field holding the pseudo-header sum) and stores the complement. */
static void kernel_csum(uint8_t *d, size_t len, const struct virtio_net_hdr *h)
{
    uint16_t c = sf_csum_fold(sf_csum_add(0, d + h->csum_start,
                                          len - h->csum_start));
    d[h->csum_start + h->csum_offset] = (uint8_t)(c >> 8);
    d[h->csum_start + h->csum_offset + 1] = (uint8_t)c;
}

static void test_merge_consecutive(void)
{
    static struct gso_merge g;
    static uint8_t a[GSO_MAX], b[GSO_MAX], c[GSO_MAX];
    uint32_t seq = 0xfffffff0u; /* the merge crosses the wrap */
    size_t la = seg(a, seq, SF_ACK, 0, 100, 1, false);
    size_t lb = seg(b, seq + 100, SF_ACK, 100, 100, 2, false);
    size_t lc = seg(c, seq + 200, SF_ACK | SF_PSH, 200, 37, 3, false);
    CHECK(gso_plain_data(a, la) && gso_plain_data(b, lb) && gso_plain_data(c, lc));
    memset(&g, 0, sizeof g);
    gso_merge_start(&g, a, la);
    CHECK(gso_merge_add(&g, b, lb));
    CHECK(gso_merge_add(&g, c, lc)); /* shorter: the last one */
    struct virtio_net_hdr h;
    size_t len = 0;
    unsigned segs = 0;
    uint8_t *ip = (uint8_t *)gso_merge_finish(&g, &h, &len, &segs);
    CHECK(ip != NULL);
    CHECK_EQ(segs, 3);
    CHECK_EQ(len, 40 + 237);
    CHECK_EQ(g.len, 0); /* emptied */
    /* The header asks for TCPv4 segmentation at the first payload. */
    CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    CHECK_EQ(h.hdr_len, 40);
    CHECK_EQ(h.gso_size, 100);
    CHECK_EQ(h.csum_start, 20);
    CHECK_EQ(h.csum_offset, 16);
    /* IPv4: the merged length and a right header checksum. */
    CHECK_EQ(get16(ip + 2), len);
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, ip, 20)), 0);
    /* The TCP field holds the pseudo-header sum of the merged length, not
     * complemented: the one's complement sum of the pseudo-header. */
    uint8_t ph[12] = {0};
    memcpy(ph, ip + 12, 8);
    ph[9] = 6;
    ph[10] = (uint8_t)((len - 20) >> 8);
    ph[11] = (uint8_t)(len - 20);
    CHECK_EQ(get16(ip + 36), (uint16_t)~sf_csum_fold(sf_csum_add(0, ph, 12)));
    /* Completed as the kernel does, it is one valid segment carrying all
     * the payload, with the first seq and the last PSH. */
    kernel_csum(ip, len, &h);
    struct sf_tcp t;
    CHECK(valid(ip, len, &t));
    CHECK_EQ(t.seq, seq);
    CHECK_EQ(t.flags, SF_ACK | SF_PSH);
    CHECK_EQ(t.len, 237);
    CHECK(memcmp(t.payload, pay, 237) == 0);
    /* Nothing pending: nothing to write. */
    CHECK(gso_merge_finish(&g, &h, &len, &segs) == NULL);
    CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
}

static void test_single_as_emitted(void)
{
    static struct gso_merge g;
    static uint8_t a[GSO_MAX], copy[GSO_MAX];
    size_t la = seg(a, 5000, SF_ACK | SF_PSH, 0, 333, 9, false);
    memcpy(copy, a, la);
    memset(&g, 0, sizeof g);
    gso_merge_start(&g, a, la);
    struct virtio_net_hdr h, zero;
    memset(&zero, 0, sizeof zero);
    size_t len = 0;
    unsigned segs = 0;
    const uint8_t *ip = gso_merge_finish(&g, &h, &len, &segs);
    CHECK_EQ(segs, 1);
    CHECK_EQ(len, la);
    CHECK(ip && memcmp(ip, copy, la) == 0);
    CHECK(memcmp(&h, &zero, sizeof h) == 0); /* no GSO, checksum complete */
}

/* Each case: the pending packet of two 100-byte segments, then d; d must
 * not join. */
static void refuse(const uint8_t *d, size_t len, const char *why)
{
    static struct gso_merge g;
    static uint8_t a[GSO_MAX], b[GSO_MAX];
    size_t la = seg(a, 1, SF_ACK, 0, 100, 1, false);
    size_t lb = seg(b, 101, SF_ACK, 100, 100, 2, false);
    memset(&g, 0, sizeof g);
    gso_merge_start(&g, a, la);
    CHECK(gso_merge_add(&g, b, lb));
    size_t before = g.len;
    bool joined = gso_plain_data(d, len) && gso_merge_add(&g, d, len);
    if (joined)
        fprintf(stderr, "joined but should not: %s\n", why);
    CHECK(!joined);
    CHECK_EQ(g.len, before); /* unchanged */
    CHECK_EQ(g.segs, 2);
}

static void test_refusals(void)
{
    static uint8_t d[GSO_MAX];
    size_t n;
    n = seg(d, 202, SF_ACK, 200, 100, 3, false);
    refuse(d, n, "a gap in sequence numbers");
    n = seg(d, 101, SF_ACK, 200, 100, 3, false);
    refuse(d, n, "a repeated sequence number");
    n = seg(d, 201, SF_ACK | SF_FIN, 200, 100, 3, false);
    refuse(d, n, "FIN");
    n = seg(d, 201, SF_ACK | SF_RST, 200, 100, 3, false);
    refuse(d, n, "RST");
    n = seg(d, 201, SF_ACK | SF_URG, 200, 100, 3, false);
    refuse(d, n, "URG");
    n = seg(d, 201, SF_ACK | SF_CWR, 200, 100, 3, false);
    refuse(d, n, "CWR");
    n = seg(d, 201, SF_ACK, 200, 100, 3, true);
    refuse(d, n, "TCP options the pending segments lack");
    n = seg(d, 201, SF_ACK, 200, 101, 3, false);
    refuse(d, n, "longer than the gso_size");
    n = seg(d, 201, SF_ACK, 200, 0, 3, false);
    refuse(d, n, "no payload (a pure ACK)");
    /* Different ACK, window, ports, addresses, TTL, TOS: same seq. */
    struct { int at; uint8_t v; const char *why; } field[] = {
        {20 + 8 + 3, 0x55, "another ACK number"},
        {20 + 14, 0x01, "another window"},
        {20 + 1, 0x08, "another source port"},
        {20 + 3, 0x01, "another destination port"},
        {15, 0x03, "another source address"},
        {19, 0x09, "another destination address"},
        {8, 0x01, "another TTL"},
        {1, 0x04, "another TOS"},
    };
    for (size_t k = 0; k < sizeof field / sizeof field[0]; k++) {
        n = seg(d, 201, SF_ACK, 200, 100, 3, false);
        d[field[k].at] ^= field[k].v;
        refuse(d, n, field[k].why);
    }
    /* Not plain at all: fragment, IP options, wrong total length, UDP. */
    n = seg(d, 201, SF_ACK, 200, 100, 3, false);
    CHECK(gso_plain_data(d, n));
    d[6] |= 0x20; /* MF */
    CHECK(!gso_plain_data(d, n));
    n = seg(d, 201, SF_ACK, 200, 100, 3, false);
    d[0] = 0x46;
    CHECK(!gso_plain_data(d, n));
    n = seg(d, 201, SF_ACK, 200, 100, 3, false);
    CHECK(!gso_plain_data(d, n - 1));
    n = seg(d, 201, SF_ACK, 200, 100, 3, false);
    d[9] = 17;
    CHECK(!gso_plain_data(d, n));
}

static void test_merge_limits(void)
{
    static struct gso_merge g;
    static uint8_t d[GSO_MAX];
    memset(&g, 0, sizeof g);
    /* A short segment ends the packet: nothing may follow it. */
    size_t n = seg(d, 1, SF_ACK, 0, 100, 1, false);
    gso_merge_start(&g, d, n);
    n = seg(d, 101, SF_ACK, 100, 50, 2, false);
    CHECK(gso_merge_add(&g, d, n));
    n = seg(d, 151, SF_ACK, 150, 50, 3, false);
    CHECK(!gso_merge_add(&g, d, n));
    /* A PSH in the middle joins; the packet carries the last one's flags. */
    memset(&g, 0, sizeof g);
    n = seg(d, 1, SF_ACK, 0, 100, 1, false);
    gso_merge_start(&g, d, n);
    n = seg(d, 101, SF_ACK | SF_PSH, 100, 100, 2, false);
    CHECK(gso_merge_add(&g, d, n));
    CHECK_EQ(g.buf[33], SF_ACK | SF_PSH);
    n = seg(d, 201, SF_ACK, 200, 100, 3, false);
    CHECK(gso_merge_add(&g, d, n));
    CHECK_EQ(g.buf[33], SF_ACK);
    /* Up to 65535 bytes: 1460-byte segments, 44 fit (64280), not 45. */
    memset(&g, 0, sizeof g);
    uint32_t seq = 1;
    unsigned joined = 0;
    n = seg(d, seq, SF_ACK, 0, 1460, 0, false);
    gso_merge_start(&g, d, n);
    for (int k = 1; k < 50; k++) {
        seq += 1460;
        n = seg(d, seq, SF_ACK, 0, 1460, (uint16_t)k, false);
        if (!gso_merge_add(&g, d, n))
            break;
        joined++;
    }
    CHECK_EQ(joined + 1, 44);
    CHECK_EQ(g.len, 40 + 44 * 1460);
}

/* Cuts a super-packet of `total` payload bytes at mss and checks every
 * piece: valid checksums, sequence numbers, payload, IP IDs, flags. */
static void cut_and_check(uint32_t seq0, uint16_t id0, uint8_t flags,
                          size_t total, size_t mss, bool ts)
{
    static uint8_t sp[GSO_MAX], s[GSO_MAX];
    size_t len = seg(sp, seq0, flags, 0, total, id0, ts);
    size_t hl = 40 + (ts ? 12 : 0);
    size_t n = gso_cut_count(sp, len, mss);
    CHECK_EQ(n, (total + mss - 1) / mss);
    size_t sum = 0;
    for (size_t k = 0; k < n; k++) {
        size_t sl = gso_cut(sp, len, mss, k, s);
        size_t pl = k + 1 < n ? mss : total - (n - 1) * mss;
        CHECK_EQ(sl, hl + pl);
        struct sf_tcp t;
        CHECK(valid(s, sl, &t));
        CHECK_EQ(t.seq, (uint32_t)(seq0 + k * mss));
        CHECK_EQ(t.len, pl);
        CHECK(memcmp(t.payload, pay + k * mss, pl) == 0);
        CHECK_EQ(get16(s + 4), (uint16_t)(id0 + k));
        uint8_t want = flags;
        if (k + 1 < n)
            want &= (uint8_t)~(SF_PSH | SF_FIN);
        if (k > 0)
            want &= (uint8_t)~SF_CWR;
        CHECK_EQ(t.flags, want);
        CHECK_EQ(t.ack, 1000);
        CHECK_EQ(t.win, 65535);
        CHECK_EQ(t.opt.has_ts, ts);
        if (ts)
            CHECK(t.opt.ts_val == 11 && t.opt.ts_ecr == 22);
        sum += pl;
    }
    CHECK_EQ(sum, total);
}

static void test_cut(void)
{
    cut_and_check(1, 100, SF_ACK, 3000, 1000, false);           /* even */
    cut_and_check(0xffffff00u, 0xfffe, SF_ACK | SF_PSH | SF_FIN | SF_CWR,
                  1001, 300, false);  /* odd tail, seq and ID wrap */
    cut_and_check(77, 5, SF_ACK | SF_PSH, 65535 - 52, 1448, true); /* 64 KB */
    cut_and_check(9, 1, SF_ACK, 7, 3, true);                    /* tiny, odd */
    /* Cannot be cut: nothing beyond one mss, mss 0, not TCP, not IPv4,
     * headers past the end. */
    static uint8_t d[GSO_MAX];
    size_t n = seg(d, 1, SF_ACK, 0, 1000, 1, false);
    CHECK_EQ(gso_cut_count(d, n, 1000), 0);
    CHECK_EQ(gso_cut_count(d, n, 999), 2);
    CHECK_EQ(gso_cut_count(d, n, 0), 0);
    d[9] = 17;
    CHECK_EQ(gso_cut_count(d, n, 100), 0);
    d[9] = 6;
    d[0] = 0x65;
    CHECK_EQ(gso_cut_count(d, n, 100), 0);
    d[0] = 0x45;
    CHECK_EQ(gso_cut_count(d, 39, 1), 0);
    d[32] = 0xf0; /* data offset 60 bytes */
    CHECK_EQ(gso_cut_count(d, 70, 1), 0);
}

/* Merges segments orig[0..n) (each plain, each continuing the last) into
 * g, from an empty g. */
static void merge_segs(struct gso_merge *g, uint8_t (*orig)[GSO_MAX],
                       const size_t *olen, int n)
{
    memset(g, 0, sizeof *g);
    for (int k = 0; k < n; k++) {
        CHECK(gso_plain_data(orig[k], olen[k]));
        if (k == 0)
            gso_merge_start(g, orig[k], olen[k]);
        else
            CHECK(gso_merge_add(g, orig[k], olen[k]));
    }
}

/* The merged packet ip (len bytes, header h), cut at its gso_size as the
 * kernel would: the n segments orig[0..n), byte for byte. */
static void check_cut_back(const uint8_t *ip, size_t len, const struct virtio_net_hdr *h,
                           uint8_t (*orig)[GSO_MAX], const size_t *olen, size_t n)
{
    static uint8_t s[GSO_MAX];
    CHECK_EQ(gso_cut_count(ip, len, h->gso_size), n);
    for (size_t k = 0; k < n; k++) {
        size_t sl = gso_cut(ip, len, h->gso_size, k, s);
        CHECK_EQ(sl, olen[k]);
        CHECK(memcmp(s, orig[k], sl) == 0);
    }
}

/* Segments of pls[0..n) payload bytes from seq (PSH on the last, the
 * timestamp option if ts) built into orig/olen, merged into g and
 * finished: the packet, its header h and its length *len. */
static uint8_t *segs_merged(struct gso_merge *g, uint8_t (*orig)[GSO_MAX], size_t *olen,
                            const size_t *pls, int n, uint32_t seq, bool ts,
                            struct virtio_net_hdr *h, size_t *len)
{
    size_t at = 0;
    for (int k = 0; k < n; k++) {
        olen[k] = seg(orig[k], seq, k == n - 1 ? SF_ACK | SF_PSH : SF_ACK, at,
                      pls[k], (uint16_t)(40 + k), ts);
        seq += (uint32_t)pls[k];
        at += pls[k];
    }
    merge_segs(g, orig, olen, n);
    unsigned segs;
    uint8_t *ip = (uint8_t *)gso_merge_finish(g, h, len, &segs);
    CHECK_EQ(segs, (unsigned)n);
    return ip;
}

/* What the stack emits, merged, then cut again at the gso_size as the
 * kernel would: the same datagrams, byte for byte. */
static void test_merge_then_cut(void)
{
    static struct gso_merge g;
    static uint8_t orig[5][GSO_MAX];
    size_t olen[5], pls[5] = {536, 536, 536, 536, 101}, len;
    struct virtio_net_hdr h;
    uint8_t *ip = segs_merged(&g, orig, olen, pls, 5, 123456, false, &h, &len);
    kernel_csum(ip, len, &h);
    check_cut_back(ip, len, &h, orig, olen, 5);
}

/* Segments with timestamps (RFC 7323 3), as a connection that
 * negotiated them sends: merged when their options are the same byte for
 * byte (the header the kernel copies onto each segment carries them), the
 * gso_size the payload after them, and cut again as the kernel would,
 * the same datagrams; a segment whose TSval or TSecr differs is not
 * merged (it would go out with the first one's). */
static void test_merge_timestamps(void)
{
    static struct gso_merge g;
    static uint8_t orig[4][GSO_MAX], d[GSO_MAX];
    size_t olen[4], pls[4] = {1000, 1000, 1000, 7}, len;
    struct virtio_net_hdr h;
    uint8_t *ip = segs_merged(&g, orig, olen, pls, 4, 77, true, &h, &len);
    CHECK_EQ(h.hdr_len, 20 + 32); /* TCP: 20 bytes and 12 of options */
    CHECK_EQ(h.gso_size, 1000);
    CHECK_EQ(len, 52 + 3007);
    kernel_csum(ip, len, &h);
    struct sf_tcp t;
    CHECK(valid(ip, len, &t));
    CHECK(t.opt.has_ts && t.opt.ts_val == 11 && t.opt.ts_ecr == 22);
    CHECK_EQ(t.len, 3007);
    CHECK(memcmp(t.payload, pay, 3007) == 0);
    check_cut_back(ip, len, &h, orig, olen, 4);
    /* another TSval (its last byte) or TSecr: not merged */
    for (int k = 0; k < 2; k++) {
        memset(&g, 0, sizeof g);
        gso_merge_start(&g, orig[0], olen[0]);
        size_t n = seg(d, 1077, SF_ACK, 1000, 1000, 10, true);
        size_t tsopt = 40;
        while (tsopt < 52 && d[tsopt] == 1)
            tsopt++; /* NOPs, then kind 8, length 10 */
        CHECK_EQ(d[tsopt], 8);
        d[tsopt + 2 + 3 + 4 * k] ^= 1;
        CHECK(gso_plain_data(d, n));
        CHECK(!gso_merge_add(&g, d, n));
        CHECK_EQ(g.segs, 1);
    }
}

/* A super-packet as the kernel hands it over: total length as the kernel
 * left it, TCP checksum field holding the pseudo-header sum. */
static void test_complete(void)
{
    static uint8_t d[GSO_MAX];
    size_t total = 4001; /* odd */
    size_t len = seg(d, 42, SF_ACK | SF_PSH, 0, total, 7, true);
    uint8_t ph[12] = {0};
    memcpy(ph, d + 12, 8);
    ph[9] = 6;
    ph[10] = (uint8_t)((len - 20) >> 8);
    ph[11] = (uint8_t)(len - 20);
    uint16_t partial = (uint16_t)~sf_csum_fold(sf_csum_add(0, ph, 12));
    d[36] = (uint8_t)(partial >> 8);
    d[37] = (uint8_t)partial;
    d[2] = d[3] = 0; /* a total length the kernel did not fill in */
    struct sf_tcp t;
    CHECK(!valid(d, len, &t));
    struct virtio_net_hdr h = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
        .hdr_len = 52, .gso_size = 1448, .csum_start = 20, .csum_offset = 16,
    };
    struct gso_rx rx;
    CHECK(gso_complete(&h, d, len, &rx));
    CHECK(rx.gso);
    CHECK(rx.csum);
    CHECK_EQ(rx.segs, 3); /* 4001 bytes at 1448: 1448 + 1448 + 1105 */
    CHECK_EQ(get16(d + 2), len);
    CHECK(valid(d, len, &t));
    CHECK_EQ(t.len, total);
    CHECK(memcmp(t.payload, pay, total) == 0);

    /* A plain packet with NEEDS_CSUM: only the checksum; one segment. */
    len = seg(d, 42, SF_ACK, 0, 99, 7, false);
    struct virtio_net_hdr p = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                               .csum_start = 20, .csum_offset = 16};
    memcpy(ph, d + 12, 8);
    ph[10] = (uint8_t)((len - 20) >> 8);
    ph[11] = (uint8_t)(len - 20);
    partial = (uint16_t)~sf_csum_fold(sf_csum_add(0, ph, 12));
    d[36] = (uint8_t)(partial >> 8);
    d[37] = (uint8_t)partial;
    CHECK(!valid(d, len, &t));
    CHECK(gso_complete(&p, d, len, &rx));
    CHECK(!rx.gso && rx.csum);
    CHECK(valid(d, len, &t));

    /* Neither GSO nor NEEDS_CSUM: left alone. */
    len = seg(d, 42, SF_ACK, 0, 10, 7, false);
    static uint8_t copy[GSO_MAX];
    memcpy(copy, d, len);
    struct virtio_net_hdr none = {0};
    CHECK(gso_complete(&none, d, len, &rx));
    CHECK(!rx.gso && !rx.csum);
    CHECK(memcmp(copy, d, len) == 0);

    /* Another checksum place (not TCP at 20+16): the one's complement sum
     * from csum_start on, stored at csum_start + csum_offset. */
    struct virtio_net_hdr other = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                   .csum_start = 20, .csum_offset = 6};
    d[26] = d[27] = 0;
    CHECK(gso_complete(&other, d, len, &rx));
    CHECK_EQ(sf_csum_fold(sf_csum_add(0, d + 20, len - 20)), 0);

    /* A header pointing outside the datagram is refused. */
    struct virtio_net_hdr bad = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                 .csum_start = (uint16_t)len, .csum_offset = 0};
    CHECK(!gso_complete(&bad, d, len, &rx));
    bad.csum_start = (uint16_t)(len - 2);
    bad.csum_offset = 1;
    CHECK(!gso_complete(&bad, d, len, &rx));
    bad.csum_offset = 0;
    CHECK(gso_complete(&bad, d, len, &rx));
}


/* A UDP datagram with NEEDS_CSUM whose checksum comes out at zero: it is
 * written as 0xffff (RFC 768: a computed zero is transmitted as all ones;
 * zero means "no checksum", and over IPv6 is invalid, RFC 8200 8.1). The
 * tun2socks UDP relay dropped such an IPv6 datagram before (one in 65,536
 * with offload on): this failed with 0x0000 in the field. */
static void test_complete_udp_zero(void)
{
    static const uint8_t s6[16] = {0xfd, 0, 0, 0x5f, [15] = 1};
    static const uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    uint8_t d[128], pl[2] = {0, 0};
    struct sf_ipv6 ip = {0};
    memcpy(ip.src, s6, 16);
    memcpy(ip.dst, d6, 16);
    struct sf_udp u = {40000, 53, pl, 2}, got;
    /* a payload word equal to the checksum with a zero payload makes the
     * sum come out at zero */
    size_t len = sf_udp_emit6(d, sizeof d, &ip, &u);
    pl[0] = d[46], pl[1] = d[47];
    len = sf_udp_emit6(d, sizeof d, &ip, &u);
    CHECK_EQ(get16(d + 46), 0xffff);
    /* as the kernel hands it over: the field holds the pseudo-header sum
     * (RFC 8200 8.1), not complemented */
    uint8_t ph[40] = {0};
    memcpy(ph, s6, 16);
    memcpy(ph + 16, d6, 16);
    ph[35] = 10, ph[39] = 17;
    uint16_t partial = (uint16_t)~sf_csum_fold(sf_csum_add(0, ph, 40));
    d[46] = (uint8_t)(partial >> 8), d[47] = (uint8_t)partial;
    struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                               .csum_start = 40, .csum_offset = 6};
    struct gso_rx rx;
    CHECK(gso_complete(&h, d, len, &rx));
    CHECK_EQ(get16(d + 46), 0xffff);
    struct sf_ipv6 ip2;
    CHECK_EQ(sf_ipv6_parse(d, len, &ip2), SF_DROP_NONE);
    CHECK_EQ(sf_udp6_parse(&ip2, &got), SF_DROP_NONE);
}

/* ------------------------------------------------------------- IPv6 */

/* One IPv6 datagram from the wire code (fd00:5f::2 -> fd00:5f::1, flow
 * label 0x12345, traffic class 0): seq, flags, payload bytes pay[at..]. */
static size_t seg6(uint8_t *buf, uint32_t seq, uint8_t flags, size_t at,
                   size_t n)
{
    struct sf_ipv6 ip = {.src = {0xfd, 0, 0, 0x5f, [15] = 2},
                         .dst = {0xfd, 0, 0, 0x5f, [15] = 1},
                         .hlim = 64, .flow = 0x12345};
    struct sf_tcp t = {.sport = 7, .dport = 40000, .seq = seq, .ack = 1000,
                       .flags = flags, .win = 65535, .payload = pay + at,
                       .len = n};
    size_t len = sf_emit6(buf, GSO_MAX, &ip, &t);
    CHECK(len > 0);
    return len;
}

/* Whether IPv6 d parses as the core would take it (RFC 8200 8.1 checksum). */
static bool valid6(const uint8_t *d, size_t len, struct sf_tcp *t)
{
    struct sf_ipv6 ip;
    return sf_ipv6_parse(d, len, &ip) == SF_DROP_NONE &&
           sf_tcp6_parse(&ip, t) == SF_DROP_NONE;
}

/* IPv6 data segments merge into one TCPv6 GSO packet (payload length,
 * hdr_len 60, csum_start 40); the kernel's segmentation of it (cut at
 * gso_size, checksums completed) gives back the stack's datagrams byte
 * for byte. */
static void test_v6_merge_then_cut(void)
{
    static struct gso_merge g;
    static uint8_t orig[4][GSO_MAX], s[GSO_MAX];
    size_t olen[4], pls[4] = {1220, 1220, 1220, 77};
    uint32_t seq = 0xfffffc00u; /* wraps */
    size_t at = 0;
    for (int k = 0; k < 4; k++) {
        olen[k] = seg6(orig[k], seq, k == 3 ? SF_ACK | SF_PSH : SF_ACK, at, pls[k]);
        seq += (uint32_t)pls[k];
        at += pls[k];
    }
    merge_segs(&g, orig, olen, 4);
    struct virtio_net_hdr h;
    size_t len;
    unsigned segs;
    uint8_t *ip = (uint8_t *)gso_merge_finish(&g, &h, &len, &segs);
    CHECK(ip != NULL);
    CHECK_EQ(segs, 4);
    CHECK_EQ(len, 60 + 3 * 1220 + 77);
    CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
    CHECK_EQ(h.hdr_len, 60);
    CHECK_EQ(h.csum_start, 40);
    CHECK_EQ(h.csum_offset, 16);
    CHECK_EQ(h.gso_size, 1220);
    CHECK_EQ(get16(ip + 4), len - 40); /* RFC 8200 3: payload length */
    CHECK_EQ(ip[53], SF_ACK | SF_PSH); /* the last segment's PSH */
    kernel_csum(ip, len, &h);
    struct sf_tcp t;
    CHECK(valid6(ip, len, &t)); /* the partial sum was the pseudo-header's */
    CHECK_EQ(t.len, len - 60);
    CHECK_EQ(gso_cut_count(ip, len, h.gso_size), 4);
    for (size_t k = 0; k < 4; k++) {
        size_t sl = gso_cut(ip, len, h.gso_size, k, s);
        CHECK_EQ(sl, olen[k]);
        CHECK(memcmp(s, orig[k], sl) == 0);
        CHECK(valid6(s, sl, &t));
    }
}

/* What does not merge across families or IPv6 header fields, and what
 * is not plain. */
static void test_v6_refusals(void)
{
    static struct gso_merge g;
    static uint8_t a[GSO_MAX], b[GSO_MAX], v4[GSO_MAX];
    size_t la = seg6(a, 1, SF_ACK, 0, 500);
    size_t lb = seg6(b, 501, SF_ACK, 500, 500);
    size_t l4 = seg(v4, 501, SF_ACK, 500, 500, 1, false);
    memset(&g, 0, sizeof g);
    gso_merge_start(&g, a, la);
    CHECK(!gso_merge_add(&g, v4, l4)); /* another family */
    b[7] = 63;                         /* another hop limit */
    CHECK(!gso_merge_add(&g, b, lb));
    b[7] = 64;
    b[3] ^= 1;                         /* another flow label */
    CHECK(!gso_merge_add(&g, b, lb));
    b[3] ^= 1;
    b[39] ^= 1;                        /* another destination */
    CHECK(!gso_merge_add(&g, b, lb));
    b[39] ^= 1;
    CHECK(gso_merge_add(&g, b, lb));
    /* not plain: a payload length that disagrees, an extension header
     * first, a SYN, no payload */
    size_t n = seg6(b, 1, SF_ACK, 0, 100);
    b[5] ^= 1;
    CHECK(!gso_plain_data(b, n));
    b[5] ^= 1;
    b[6] = 0; /* hop-by-hop */
    CHECK(!gso_plain_data(b, n));
    CHECK_EQ(gso_cut_count(b, n, 10), 0);
    b[6] = 6;
    n = seg6(b, 1, SF_SYN, 0, 10);
    CHECK(!gso_plain_data(b, n));
    n = seg6(b, 1, SF_ACK, 0, 0);
    CHECK(!gso_plain_data(b, n));
}

/* A TCPv6 super-packet as the kernel hands it over (TUN_F_TSO6): its
 * payload length set from the read's length, the TCP checksum completed
 * over the IPv6 pseudo-header; the wire segments counted. */
static void test_v6_complete(void)
{
    static uint8_t d[GSO_MAX];
    size_t total = 5001;
    size_t len = seg6(d, 42, SF_ACK | SF_PSH, 0, total);
    uint8_t ph[40] = {0};
    memcpy(ph, d + 8, 32);
    ph[34] = (uint8_t)((len - 40) >> 8);
    ph[35] = (uint8_t)(len - 40);
    ph[39] = 6;
    uint16_t partial = (uint16_t)~sf_csum_fold(sf_csum_add(0, ph, 40));
    d[56] = (uint8_t)(partial >> 8);
    d[57] = (uint8_t)partial;
    d[4] = d[5] = 0; /* a payload length the kernel did not fill in */
    struct sf_tcp t;
    CHECK(!valid6(d, len, &t));
    struct virtio_net_hdr h = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
        .hdr_len = 60, .gso_size = 1428, .csum_start = 40, .csum_offset = 16,
    };
    struct gso_rx rx;
    CHECK(gso_complete(&h, d, len, &rx));
    CHECK(rx.gso && rx.csum);
    CHECK_EQ(rx.segs, 4); /* 5001 at 1428: 3 full and 717 */
    CHECK_EQ(get16(d + 4), len - 40);
    CHECK(valid6(d, len, &t));
    CHECK_EQ(t.len, total);
    CHECK(memcmp(t.payload, pay, total) == 0);
    /* cut back into the wire's segments, each valid */
    static uint8_t s[GSO_MAX];
    CHECK_EQ(gso_cut_count(d, len, 1428), 4);
    size_t sum = 0;
    for (size_t k = 0; k < 4; k++) {
        size_t sl = gso_cut(d, len, 1428, k, s);
        CHECK(valid6(s, sl, &t));
        CHECK_EQ(t.seq, 42 + sum);
        CHECK_EQ(t.flags & SF_PSH, k == 3 ? SF_PSH : 0);
        sum += t.len;
    }
    CHECK_EQ(sum, total);
}

/* ------------------------------------------------------ checksum offload */

/* The pseudo-header sum of datagram d (IPv4 or IPv6, TCP), folded and not
 * complemented: what a partial checksum field holds (virtio 1.x 5.1.6.2). */
static uint16_t pseudo_field(const uint8_t *d, size_t len)
{
    uint8_t ph[40] = {0};
    size_t n;
    if (d[0] >> 4 == 6) {
        memcpy(ph, d + 8, 32);
        ph[34] = (uint8_t)((len - 40) >> 8);
        ph[35] = (uint8_t)(len - 40);
        ph[39] = 6;
        n = 40;
    } else {
        memcpy(ph, d + 12, 8);
        ph[9] = 6;
        ph[10] = (uint8_t)((len - 20) >> 8);
        ph[11] = (uint8_t)(len - 20);
        n = 12;
    }
    return (uint16_t)~sf_csum_fold(sf_csum_add(0, ph, n));
}

/* SF_CSUM_PARTIAL (the stack with SF_OFFLOAD_TX_CSUM): the checksum field
 * holds the pseudo-header sum; gso_csum_hdr's NEEDS_CSUM header points at
 * it; the kernel's completion (kernel_csum) gives back, byte for byte,
 * the datagram with the full checksum (RFC 9293 3.1, RFC 1071), for
 * IPv4 and IPv6, odd and even lengths, with and without options. */
static void test_partial_out(void)
{
    static uint8_t full[GSO_MAX], part[GSO_MAX];
    static const size_t lens[] = {0, 1, 2, 7, 1448, 1449, 9001, 65000};
    for (int v6 = 0; v6 < 2; v6++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
            for (int ts = 0; ts < 2; ts++) {
                struct sf_tcp t = {.sport = 7, .dport = 40000,
                                   .seq = 0x9abcdef0u + (uint32_t)i,
                                   .ack = 1000, .flags = SF_ACK | SF_PSH,
                                   .win = 500, .payload = pay, .len = lens[i]};
                if (ts) {
                    t.opt.has_ts = true;
                    t.opt.ts_val = 11;
                    t.opt.ts_ecr = 22;
                }
                struct sf_ipv4 ip4 = {.src = SRC, .dst = DST, .ttl = 64, .id = 9};
                struct sf_ipv6 ip6 = {.src = {0xfd, 0, 0, 0x5f, [15] = 2},
                                      .dst = {0xfd, 0, 0, 0x5f, [15] = 1},
                                      .hlim = 64};
                size_t fl = v6 ? sf_emit6(full, GSO_MAX, &ip6, &t)
                               : sf_emit(full, GSO_MAX, &ip4, &t);
                size_t pl = v6 ? sf_emit6_ex(part, GSO_MAX, &ip6, &t, SF_CSUM_PARTIAL)
                               : sf_emit_ex(part, GSO_MAX, &ip4, &t, SF_CSUM_PARTIAL);
                CHECK(pl > 0);
                CHECK_EQ(pl, fl);
                size_t l3 = v6 ? 40 : 20, hl = l3 + (ts ? 32 : 20);
                /* everything but the checksum field as sf_emit writes it */
                CHECK(memcmp(part, full, l3 + 16) == 0);
                CHECK(memcmp(part + l3 + 18, full + l3 + 18, pl - l3 - 18) == 0);
                CHECK_EQ(get16(part + l3 + 16), pseudo_field(part, pl));
                struct sf_tcp got;
                if (get16(part + l3 + 16) != get16(full + l3 + 16))
                    CHECK(!(v6 ? valid6(part, pl, &got) : valid(part, pl, &got)));
                struct virtio_net_hdr h;
                CHECK(gso_csum_hdr(&h, part, pl));
                CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
                CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
                CHECK_EQ(h.gso_size, 0);
                CHECK_EQ(h.csum_start, l3);
                CHECK_EQ(h.csum_offset, 16);
                CHECK_EQ(h.hdr_len, hl);
                CHECK(gso_tcp_partial(&h, part, pl));
                kernel_csum(part, pl, &h);
                CHECK(memcmp(part, full, pl) == 0);
                CHECK(v6 ? valid6(part, pl, &got) : valid(part, pl, &got));
                /* the driver's own completion (for a tap) agrees */
                v6 ? sf_emit6_ex(part, GSO_MAX, &ip6, &t, SF_CSUM_PARTIAL)
                   : sf_emit_ex(part, GSO_MAX, &ip4, &t, SF_CSUM_PARTIAL);
                struct gso_rx rx;
                CHECK(gso_complete(&h, part, pl, &rx));
                CHECK(rx.csum && !rx.gso);
                CHECK(memcmp(part, full, pl) == 0);
            }
}

/* SF_CSUM_VALID (what the driver passes for NEEDS_CSUM or DATA_VALID):
 * the checksum is not checked, every length still is; without the flag
 * a partial or corrupted checksum is dropped as before. */
static void test_valid_in(void)
{
    static uint8_t d[GSO_MAX];
    struct sf_ipv4 ip4 = {.src = SRC, .dst = DST, .ttl = 64};
    struct sf_tcp t = {.sport = 7, .dport = 40000, .seq = 5, .ack = 6,
                       .flags = SF_ACK, .win = 500, .payload = pay, .len = 333};
    size_t n = sf_emit_ex(d, GSO_MAX, &ip4, &t, SF_CSUM_PARTIAL);
    struct sf_ipv4 ip;
    struct sf_tcp got;
    CHECK_EQ(sf_ipv4_parse(d, n, &ip), SF_DROP_NONE);
    CHECK_EQ(sf_tcp_parse(&ip, &got), SF_DROP_TCP_CSUM);
    CHECK_EQ(sf_tcp_parse_ex(&ip, &got, 0), SF_DROP_TCP_CSUM);
    CHECK_EQ(sf_tcp_parse_ex(&ip, &got, SF_CSUM_VALID), SF_DROP_NONE);
    CHECK_EQ(got.len, 333);
    CHECK(memcmp(got.payload, pay, 333) == 0);
    d[20 + 12] = 0xf0; /* data offset 60 */
    ip.payload_len = 40; /* a segment shorter than its data offset */
    CHECK_EQ(sf_tcp_parse_ex(&ip, &got, SF_CSUM_VALID), SF_DROP_TCP_DOFF);
    ip.payload_len = 19;
    CHECK_EQ(sf_tcp_parse_ex(&ip, &got, SF_CSUM_VALID), SF_DROP_TCP_SHORT);
    d[20 + 12] = 0x50;
    /* IPv6 too */
    struct sf_ipv6 ip6 = {.src = {0xfd, 0, 0, 0x5f, [15] = 2},
                          .dst = {0xfd, 0, 0, 0x5f, [15] = 1}, .hlim = 64};
    n = sf_emit6_ex(d, GSO_MAX, &ip6, &t, SF_CSUM_PARTIAL);
    struct sf_ipv6 p6;
    CHECK_EQ(sf_ipv6_parse(d, n, &p6), SF_DROP_NONE);
    CHECK_EQ(sf_tcp6_parse(&p6, &got), SF_DROP_TCP_CSUM);
    CHECK_EQ(sf_tcp6_parse_ex(&p6, &got, SF_CSUM_VALID), SF_DROP_NONE);
    d[60 + 7] ^= 0x40; /* corrupted payload: still taken with the flag */
    CHECK_EQ(sf_tcp6_parse_ex(&p6, &got, SF_CSUM_VALID), SF_DROP_NONE);
    d[8 + 15] ^= 1; /* but not port 0, a multicast destination, ... */
    d[24] = 0xff;
    CHECK_EQ(sf_ipv6_parse(d, n, &p6), SF_DROP_NONE);
    CHECK_EQ(sf_tcp6_parse_ex(&p6, &got, SF_CSUM_VALID), SF_DROP_IP6_BAD_DST);
}

/* gso_tcp_partial: only NEEDS_CSUM at TCP's own field is the kernel's
 * TCP checksum left to us; UDP's (offset 6), another start, a header
 * cut short or no NEEDS_CSUM are not. gso_csum_hdr refuses non-TCP. */
static void test_partial_which(void)
{
    static uint8_t d[GSO_MAX];
    size_t n = seg(d, 1, SF_ACK, 0, 100, 1, false);
    struct virtio_net_hdr h;
    CHECK(gso_csum_hdr(&h, d, n));
    CHECK(gso_tcp_partial(&h, d, n));
    CHECK(!gso_tcp_partial(&h, d, 39)); /* TCP header past the read */
    CHECK(gso_tcp_partial(&h, d, 40));
    h.csum_offset = 6;
    CHECK(!gso_tcp_partial(&h, d, n));
    h.csum_offset = 16;
    h.csum_start = 24;
    CHECK(!gso_tcp_partial(&h, d, n));
    h.csum_start = 20;
    h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
    CHECK(!gso_tcp_partial(&h, d, n));
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    d[9] = 17; /* UDP */
    CHECK(!gso_tcp_partial(&h, d, n));
    CHECK(!gso_csum_hdr(&h, d, n));
    CHECK_EQ(h.flags, 0);
    CHECK_EQ(h.csum_start, 0);
    CHECK_EQ(gso_tcp_start(d, n), 0);
    d[9] = 6;
    d[0] = 0x46; /* IPv4 with 4 bytes of options: TCP at 24 */
    CHECK_EQ(gso_tcp_start(d, n), 24);
    d[0] = 0x45;
}

/* Datagram d (n bytes) as pieces, the way a gather output hands it
 * over: its headers (hl bytes), then the payload cut at `cut` (0: one
 * slice). */
static size_t as_pieces(struct iovec *v, uint8_t *d, size_t n, size_t hl,
                        size_t cut)
{
    v[0] = (struct iovec){d, hl};
    if (!cut) {
        v[1] = (struct iovec){d + hl, n - hl};
        return 2;
    }
    v[1] = (struct iovec){d + hl, cut};
    v[2] = (struct iovec){d + hl + cut, n - hl - cut};
    return 3;
}

/* Three consecutive segments of 101, 101 and 37 bytes across the
 * sequence wrap, the last with PSH, into d; their lengths into len. */
static void three_segs(uint8_t (*d)[GSO_MAX], size_t len[3], int v6)
{
    static const size_t pls[3] = {101, 101, 37};
    size_t at = 0;
    uint32_t seq = 0xffffffc0u;
    for (int k = 0; k < 3; k++) {
        uint8_t fl = k == 2 ? SF_ACK | SF_PSH : SF_ACK;
        len[k] = v6 ? seg6(d[k], seq, fl, at, pls[k])
                    : seg(d[k], seq, fl, at, pls[k], (uint16_t)k, false);
        seq += (uint32_t)pls[k];
        at += pls[k];
    }
}

/* The concatenation of pieces v[0..n) into out; its length. */
static size_t joined(const struct iovec *v, size_t n, uint8_t *out)
{
    size_t off = 0;
    for (size_t i = 0; i < n; off += v[i++].iov_len)
        memcpy(out + off, v[i].iov_base, v[i].iov_len);
    return off;
}

/* The gather path (gso_*_v): the same segments merged from pieces give the
 * same packet, byte for byte, as merged from whole datagrams, wherever
 * the payload is cut (odd places too), over IPv4 and IPv6; so do they
 * merged by reference (gso_*_ref: the payload left in place, its pieces
 * pointing into d, adjacent ones joined); a segment whose headers are
 * not all in the first piece is not plain. */
static void test_merge_pieces(void)
{
    static struct gso_merge g1, g2, g3;
    static uint8_t d[3][GSO_MAX], out1[GSO_MAX], out3[GSO_MAX];
    for (int v6 = 0; v6 <= 1; v6++) {
        size_t hl = v6 ? 60 : 40;
        size_t len[3];
        three_segs(d, len, v6);
        unsigned bad = 0;
        for (size_t cut = 0; cut < 37; cut++) {
            memset(&g1, 0, sizeof g1);
            memset(&g2, 0, sizeof g2);
            memset(&g3, 0, sizeof g3);
            struct iovec v[3];
            for (int k = 0; k < 3; k++) {
                size_t n = as_pieces(v, d[k], len[k], hl, cut);
                bad += !gso_plain_data_v(v, n, len[k]);
                if (k == 0) {
                    gso_merge_start(&g1, d[k], len[k]);
                    gso_merge_start_v(&g2, v, n, len[k]);
                    bad += !gso_merge_start_ref(&g3, v, n, len[k]);
                } else {
                    bad += !gso_merge_add(&g1, d[k], len[k]);
                    bad += !gso_merge_add_v(&g2, v, n, len[k]);
                    bad += gso_merge_add_v(&g3, v, n, len[k]); /* not by copy */
                    bad += !gso_merge_add_ref(&g3, v, n, len[k]);
                }
            }
            /* by reference: each segment's own buffer, its two pieces
             * adjacent: joined */
            bad += g3.nref != 3;
            struct virtio_net_hdr h1, h2, h3;
            size_t l1, l2, n3;
            unsigned s1, s2, s3;
            const uint8_t *p1 = gso_merge_finish(&g1, &h1, &l1, &s1);
            memcpy(out1, p1, l1);
            const uint8_t *p2 = gso_merge_finish(&g2, &h2, &l2, &s2);
            bad += l1 != l2 || s1 != 3 || s2 != 3 || memcmp(&h1, &h2, sizeof h1) ||
                   memcmp(out1, p2, l1);
            struct iovec o[1 + GSO_REFS];
            size_t l3 = gso_merge_finish_v(&g3, &h3, o, &n3, &s3);
            bad += l1 != l3 || s3 != 3 || memcmp(&h1, &h3, sizeof h1) ||
                   joined(o, n3, out3) != l3 || memcmp(out1, out3, l1) ||
                   o[1].iov_base != d[0] + hl || g3.len != 0;
        }
        CHECK_EQ(bad, 0);
        /* one segment from pieces: as emitted */
        struct iovec v[3];
        size_t n = as_pieces(v, d[0], len[0], hl, 51);
        memset(&g2, 0, sizeof g2);
        gso_merge_start_v(&g2, v, n, len[0]);
        struct virtio_net_hdr h;
        size_t l;
        unsigned segs;
        const uint8_t *p = gso_merge_finish(&g2, &h, &l, &segs);
        CHECK_EQ(segs, 1);
        CHECK_EQ(l, len[0]);
        CHECK(memcmp(p, d[0], l) == 0);
        /* the TCP header cut short in the first piece: not plain */
        v[0].iov_len = hl - 1;
        v[1] = (struct iovec){d[0] + hl - 1, len[0] - hl + 1};
        CHECK(!gso_plain_data_v(v, 2, len[0]));
        CHECK(gso_plain_data_v(v, 1, len[0]) == false);
        v[0].iov_len = len[0];
        CHECK(gso_plain_data_v(v, 1, len[0]));
    }
}

/* By reference (gso_*_ref, the TUN driver's kept pieces; the packet of
 * three is checked beside the others in test_merge_pieces): one segment
 * goes out as emitted, in its pieces; a packet by copy takes no segment
 * by reference; v[0] must be the headers exactly; GSO_REFS pieces at
 * most. */
static void test_merge_by_ref(void)
{
    static struct gso_merge g1, g2;
    static uint8_t d[3][GSO_MAX], out2[GSO_MAX];
    for (int v6 = 0; v6 <= 1; v6++) {
        size_t hl = v6 ? 60 : 40;
        size_t len[3];
        three_segs(d, len, v6);
        /* one segment: as emitted, in its pieces */
        struct iovec v[3], o[1 + GSO_REFS];
        size_t n = as_pieces(v, d[0], len[0], hl, 51), no;
        memset(&g2, 0, sizeof g2);
        CHECK(gso_merge_start_ref(&g2, v, n, len[0]));
        struct virtio_net_hdr h;
        unsigned segs;
        size_t l = gso_merge_finish_v(&g2, &h, o, &no, &segs);
        CHECK_EQ(segs, 1);
        CHECK_EQ(l, len[0]);
        CHECK_EQ(no, 2); /* the headers, the two adjacent pieces joined */
        CHECK_EQ(joined(o, no, out2), len[0]);
        CHECK(memcmp(out2, d[0], l) == 0);
        CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
        /* a packet by copy takes none by reference */
        memset(&g1, 0, sizeof g1);
        gso_merge_start(&g1, d[0], len[0]);
        n = as_pieces(v, d[1], len[1], hl, 0);
        CHECK(!gso_merge_add_ref(&g1, v, n, len[1]));
        CHECK(gso_merge_add_v(&g1, v, n, len[1]));
        /* headers and payload in one piece: not by reference */
        memset(&g2, 0, sizeof g2);
        v[0] = (struct iovec){d[0], len[0]};
        CHECK(!gso_merge_start_ref(&g2, v, 1, len[0]));
        v[0] = (struct iovec){d[0], hl + 1};
        v[1] = (struct iovec){d[0] + hl + 1, len[0] - hl - 1};
        CHECK(!gso_merge_start_ref(&g2, v, 2, len[0]));
    }
    /* GSO_REFS pieces at most: segments of 1 byte from buffers apart */
    static uint8_t many[GSO_REFS + 2][128];
    memset(&g2, 0, sizeof g2);
    unsigned took = 0;
    for (unsigned k = 0; k < GSO_REFS + 2; k++) {
        size_t l = seg(many[k], 5000 + k, SF_ACK, k, 1, 1, false);
        struct iovec v[2] = {{many[k], 40}, {many[k] + 40, l - 40}};
        bool ok = k == 0 ? gso_merge_start_ref(&g2, v, 2, l) : gso_merge_add_ref(&g2, v, 2, l);
        took += ok;
        if (!ok)
            break;
    }
    CHECK_EQ(took, GSO_REFS);
    CHECK_EQ(g2.nref, GSO_REFS);
}

/* Runs (gso_merge_*_run: a datagram the stack handed whole with
 * cfg.output_gso, k segments of seg bytes under the first one's headers):
 * six segments of 536 bytes sent as two runs of three, by copy and by
 * reference, or as a segment, a run of two and three segments, give the
 * packet that cuts back into the six datagrams sent one by one, byte for
 * byte. A run whose segment size is not the pending packet's, whose
 * payload is not whole segments, or of one segment is refused; a run
 * cut here (gso_cut_partial) gives each segment with the pseudo-header
 * sum, which completed is the segment's checksum. */
/* Finishes g (by reference or copy) and checks the packet cuts back, at
 * gso_size seg, into the n segments orig[0..n). */
static void finish_cuts_back(struct gso_merge *g, size_t seg,
                             uint8_t (*orig)[GSO_MAX], const size_t *olen,
                             unsigned n)
{
    static uint8_t s[GSO_MAX];
    struct virtio_net_hdr h;
    struct iovec o[1 + GSO_REFS];
    size_t no;
    unsigned segs;
    size_t len = gso_merge_finish_v(g, &h, o, &no, &segs);
    CHECK_EQ(segs, n);
    CHECK_EQ(h.gso_size, seg);
    CHECK_EQ(joined(o, no, s), len);
    kernel_csum(s, len, &h);
    check_cut_back(s, len, &h, orig, olen, n);
}

static void test_merge_runs(void)
{
    enum { SEG = 536 };
    static struct gso_merge g;
    static uint8_t orig[6][GSO_MAX], run[2][GSO_MAX], s[GSO_MAX];
    size_t olen[6], rlen[2];
    for (int k = 0; k < 6; k++)
        olen[k] = seg(orig[k], 9000 + (uint32_t)(k * SEG),
                      k == 5 ? SF_ACK | SF_PSH : SF_ACK, (size_t)k * SEG, SEG,
                      (uint16_t)(40 + k), false);
    for (int r = 0; r < 2; r++)
        rlen[r] = seg(run[r], 9000 + (uint32_t)(r * 3 * SEG),
                      r == 1 ? SF_ACK | SF_PSH : SF_ACK, (size_t)r * 3 * SEG,
                      3 * SEG, (uint16_t)(40 + 3 * r), false);
    for (int byref = 0; byref < 2; byref++) {
        memset(&g, 0, sizeof g);
        struct iovec v[3];
        for (int r = 0; r < 2; r++) {
            size_t n = as_pieces(v, run[r], rlen[r], 40, r ? 1000 : 0);
            CHECK(r == 0 ? gso_merge_start_run(&g, v, n, rlen[r], SEG, byref)
                         : gso_merge_add_run(&g, v, n, rlen[r], SEG, byref));
        }
        finish_cuts_back(&g, SEG, orig, olen, 6);
    }
    /* a segment, a run of two, three segments */
    static uint8_t two[GSO_MAX];
    size_t tl = seg(two, 9000 + SEG, SF_ACK, SEG, 2 * SEG, 41, false);
    memset(&g, 0, sizeof g);
    struct iovec v[3];
    size_t n = as_pieces(v, orig[0], olen[0], 40, 0);
    CHECK(gso_merge_start_ref(&g, v, n, olen[0]));
    n = as_pieces(v, two, tl, 40, 0);
    CHECK(gso_merge_add_run(&g, v, n, tl, SEG, true));
    for (int k = 3; k < 6; k++) {
        n = as_pieces(v, orig[k], olen[k], 40, 0);
        CHECK(gso_merge_add_ref(&g, v, n, olen[k]));
    }
    finish_cuts_back(&g, SEG, orig, olen, 6);
    /* refused: another segment size, not whole segments, one segment */
    memset(&g, 0, sizeof g);
    n = as_pieces(v, run[0], rlen[0], 40, 0);
    CHECK(gso_merge_start_run(&g, v, n, rlen[0], SEG, true));
    n = as_pieces(v, run[1], rlen[1], 40, 0);
    CHECK(!gso_merge_add_run(&g, v, n, rlen[1], SEG / 2, true));
    CHECK(!gso_merge_add_run(&g, v, n, rlen[1], SEG + 1, true));
    CHECK(!gso_merge_add_run(&g, v, n, rlen[1], 3 * SEG, true));
    CHECK_EQ(g.segs, 3);
    memset(&g, 0, sizeof g);
    CHECK(!gso_merge_start_run(&g, v, n, rlen[1], 1000, false));
    CHECK_EQ(g.len, 0);
    /* cut here, partial: completed, the segments sent one by one */
    for (size_t k = 0; k < 3; k++) {
        size_t sl = gso_cut_partial(run[1], rlen[1], SEG, k, s);
        CHECK_EQ(sl, olen[3 + k]);
        CHECK_EQ(get16(s + 36), pseudo_field(s, sl));
        struct virtio_net_hdr ch;
        CHECK(gso_csum_hdr(&ch, s, sl));
        kernel_csum(s, sl, &ch);
        CHECK(memcmp(s, orig[3 + k], sl) == 0);
    }
}

static const struct check_case cases[] = {
    CHECK_CASE(test_merge_pieces),
    CHECK_CASE(test_merge_by_ref),
    CHECK_CASE(test_merge_runs),
    CHECK_CASE(test_partial_out),
    CHECK_CASE(test_valid_in),
    CHECK_CASE(test_partial_which),
    CHECK_CASE(test_merge_consecutive),
    CHECK_CASE(test_single_as_emitted),
    CHECK_CASE(test_refusals),
    CHECK_CASE(test_merge_limits),
    CHECK_CASE(test_cut),
    CHECK_CASE(test_merge_then_cut),
    CHECK_CASE(test_merge_timestamps),
    CHECK_CASE(test_complete),
    CHECK_CASE(test_complete_udp_zero),
    CHECK_CASE(test_v6_merge_then_cut),
    CHECK_CASE(test_v6_refusals),
    CHECK_CASE(test_v6_complete),
};

int main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof pay; i++)
        pay[i] = (uint8_t)(i * 7 + (i >> 8) + 1);
    return CHECK_MAIN(argc, argv, cases);
}
