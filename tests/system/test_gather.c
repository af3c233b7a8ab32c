/* The gather output (sf_stack_cfg.output_gather): a data segment goes out
 * as its headers and one or two slices of the send ring, without the copy
 * of its payload into one buffer. The same transfer runs twice with the
 * same inputs, once through output alone and once with output_gather set,
 * and every datagram the sender emits (and every SEG_OUT the trace shows)
 * must be the same bytes in the same order: over IPv4 and IPv6, with the
 * checksum complete (RFC 9293 3.1, summed over the pieces, RFC 1071) and
 * with SF_OFFLOAD_TX_CSUM (the pseudo-header sum only). The send buffer
 * is small and the MSS and writes odd-sized, so the ring wraps under
 * segments (payload in two slices) at odd offsets; datagrams lost on the
 * wire and a receiver that stops reading bring retransmissions from the
 * middle of the ring and zero-window probes. Without offload the receiver
 * checks every checksum (a bad one is dropped and counted). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"
#include "synfin/wire.h"

#define A_IP 0xC6120002u /* 198.18.0.2: the sender */
#define B_IP 0xC6120001u
#define PORT 80
#define TOTAL 150000u
#define STEPS 200000

/* Datagrams in order, each as a 4-byte length and its bytes. */
struct dlog {
    uint8_t *buf;
    size_t len, cap, rd; /* rd: delivered so far (a wire's queue) */
};

static uint8_t *dlog_room(struct dlog *l, size_t n)
{
    if (l->len + 4 + n > l->cap) {
        size_t cap = l->cap ? l->cap : 1 << 16;
        while (cap < l->len + 4 + n)
            cap *= 2;
        uint8_t *nb = realloc(l->buf, cap);
        CHECK(nb != NULL);
        if (!nb)
            exit(1);
        l->buf = nb;
        l->cap = cap;
    }
    uint32_t n32 = (uint32_t)n;
    memcpy(l->buf + l->len, &n32, 4);
    l->len += 4 + n;
    return l->buf + l->len - n;
}

static void dlog_put(struct dlog *l, const uint8_t *d, size_t n)
{
    memcpy(dlog_room(l, n), d, n);
}

/* The next datagram not yet delivered, or NULL. */
static const uint8_t *dlog_next(struct dlog *l, size_t *n)
{
    if (l->rd >= l->len)
        return NULL;
    uint32_t n32;
    memcpy(&n32, l->buf + l->rd, 4);
    *n = n32;
    const uint8_t *d = l->buf + l->rd + 4;
    l->rd += 4 + n32;
    return d;
}


/* The IP and TCP header length and payload of datagram d. */
static size_t hdr_len(const uint8_t *d)
{
    size_t ip = d[0] >> 4 == 6 ? 40 : (size_t)(d[0] & 15) * 4;
    return ip + (size_t)(d[ip + 12] >> 4) * 4;
}

static size_t payload_len(const uint8_t *d, size_t n)
{
    return n - hdr_len(d);
}

/* A gathered datagram kept by reference (output_flush): its headers
 * copied, its payload slices as handed. */
struct kept {
    uint8_t hdr[128];
    size_t hl;
    const uint8_t *p[2];
    size_t n[2];
};
#define KEPT_MAX 4096

struct run {
    bool gather, v6, trace;
    bool tso; /* SF_OFFLOAD_TSO with output_gso: runs cut here (a_gso) */
    unsigned tso_calls, tso_segs, tso_bad;
    bool big; /* buffers of 256 KB, not a few segments: long runs, paced */
    bool keep; /* output_flush set: payload slices kept until it is called */
    struct kept *kept;
    unsigned nkept, kept_most, flushes;
    unsigned offload;
    struct sf_stack *a, *b;
    struct dlog out;   /* every datagram a emitted, both paths */
    struct dlog to_b, to_a;
    struct dlog traced; /* a's SEG_OUT datagrams as the trace shows them */
    /* what the gather path saw */
    unsigned gathers, wrapped, odd_split, bad_pieces, data_via_output;
    unsigned data_segs;
};

static void kept_write(struct run *r);

static void a_output(void *ctx, const uint8_t *d, size_t n)
{
    struct run *r = ctx;
    kept_write(r); /* as a driver: what it kept goes first, in order */
    if (payload_len(d, n) > 0 && r->gather)
        r->data_via_output++;
    dlog_put(&r->out, d, n);
    dlog_put(&r->to_b, d, n);
}

static void a_gather(void *ctx, const struct sf_piece *v, size_t n)
{
    struct run *r = ctx;
    r->gathers++;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].len == 0)
            r->bad_pieces++; /* no empty piece */
        len += v[i].len;
    }
    /* the headers, then one or two slices of payload */
    if (n < 2 || n > 3 || v[0].len != hdr_len(v[0].base))
        r->bad_pieces++;
    if (n == 3) {
        r->wrapped++;
        if (v[1].len & 1)
            r->odd_split++;
    }
    if (r->keep && r->nkept == KEPT_MAX)
        kept_write(r); /* as a driver whose packet is full */
    if (r->keep && v[0].len <= sizeof r->kept[0].hdr) {
        /* the headers now (valid only during the call), the payload's
         * slices by reference, read when written (kept_write) */
        struct kept *k = &r->kept[r->nkept++];
        memcpy(k->hdr, v[0].base, v[0].len);
        k->hl = v[0].len;
        k->p[0] = v[1].base;
        k->n[0] = v[1].len;
        k->p[1] = n == 3 ? v[2].base : NULL;
        k->n[1] = n == 3 ? v[2].len : 0;
        if (r->nkept > r->kept_most)
            r->kept_most = r->nkept;
        return;
    }
    uint8_t *d = dlog_room(&r->out, len);
    for (size_t i = 0, off = 0; i < n; off += v[i++].len)
        memcpy(d + off, v[i].base, v[i].len);
    dlog_put(&r->to_b, d, len);
}

/* The kept datagrams written, their payload read from the slices now: a
 * slice whose storage moved or was freed since shows (other bytes, or
 * under ASan a use after free). */
static void kept_write(struct run *r)
{
    for (unsigned i = 0; i < r->nkept; i++) {
        const struct kept *k = &r->kept[i];
        size_t len = k->hl + k->n[0] + k->n[1];
        uint8_t *d = dlog_room(&r->out, len);
        memcpy(d, k->hdr, k->hl);
        memcpy(d + k->hl, k->p[0], k->n[0]);
        if (k->n[1])
            memcpy(d + k->hl + k->n[0], k->p[1], k->n[1]);
        dlog_put(&r->to_b, d, len);
    }
    r->nkept = 0;
}

static void a_flush(void *ctx)
{
    struct run *r = ctx;
    r->flushes++;
    kept_write(r);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The device's cut of a run (virtio 1.x 5.1.6.2, as the kernel's TCP
 * segmentation does it), written here from the API's words: k datagrams
 * of seg bytes of payload, each with the run's headers, its IP length and
 * (IPv4) ID and header checksum, its sequence number, PSH only on the
 * last, CWR only on the first, and in the checksum field the
 * pseudo-header sum of its own length (the device would complete it).
 * Each goes on as a gathered datagram of its headers and one or two
 * slices of the run's. */
static void a_gso(void *ctx, const struct sf_piece *v, size_t n, size_t seg)
{
    struct run *r = ctx;
    r->tso_calls++;
    size_t hl = v[0].len, pay = 0;
    for (size_t i = 1; i < n; i++)
        pay += v[i].len;
    if (n < 2 || n > 3 || hl != hdr_len(v[0].base) || hl > 128 || seg == 0 ||
        pay % seg || pay / seg < 2 || pay > 65435) {
        r->tso_bad++;
        return;
    }
    const uint8_t *h0 = v[0].base;
    bool v6 = h0[0] >> 4 == 6;
    size_t ip = v6 ? 40 : 20, k = pay / seg;
    uint32_t seq0 = (uint32_t)h0[ip + 4] << 24 | (uint32_t)h0[ip + 5] << 16 |
                    (uint32_t)h0[ip + 6] << 8 | h0[ip + 7];
    for (size_t i = 0; i < k; i++) {
        uint8_t h[128];
        memcpy(h, h0, hl);
        size_t tot = hl + seg;
        if (v6) {
            put16(h + 4, (uint16_t)(tot - 40));
        } else {
            put16(h + 2, (uint16_t)tot);
            put16(h + 4, (uint16_t)(get16(h0 + 4) + i));
            h[10] = h[11] = 0;
            put16(h + 10, sf_csum_fold(sf_csum_add(0, h, 20)));
        }
        uint32_t seq = seq0 + (uint32_t)(i * seg);
        h[ip + 4] = (uint8_t)(seq >> 24), h[ip + 5] = (uint8_t)(seq >> 16);
        h[ip + 6] = (uint8_t)(seq >> 8), h[ip + 7] = (uint8_t)seq;
        if (i + 1 < k)
            h[ip + 13] &= (uint8_t)~0x08; /* PSH */
        if (i > 0)
            h[ip + 13] &= (uint8_t)~0x80; /* CWR */
        uint8_t ph[40] = {0};
        size_t pl;
        if (v6) {
            memcpy(ph, h + 8, 32);
            ph[34] = (uint8_t)((tot - 40) >> 8), ph[35] = (uint8_t)(tot - 40);
            ph[39] = 6;
            pl = 40;
        } else {
            memcpy(ph, h + 12, 8);
            ph[9] = 6;
            put16(ph + 10, (uint16_t)(tot - 20));
            pl = 12;
        }
        put16(h + ip + 16, (uint16_t)~sf_csum_fold(sf_csum_add(0, ph, pl)));
        /* the payload [i*seg, (i+1)*seg) of the run's slices */
        struct sf_piece p[3] = {{h, hl}};
        size_t np = 1, off = i * seg, want = seg;
        for (size_t j = 1; j < n && want; j++) {
            if (off >= v[j].len) {
                off -= v[j].len;
                continue;
            }
            size_t take = v[j].len - off < want ? v[j].len - off : want;
            p[np++] = (struct sf_piece){v[j].base + off, take};
            want -= take;
            off = 0;
        }
        r->tso_segs++;
        a_gather(ctx, p, np);
    }
}

static void b_output(void *ctx, const uint8_t *d, size_t n)
{
    struct run *r = ctx;
    dlog_put(&r->to_a, d, n);
}

static void a_trace(void *ctx, const struct sf_trace_event *ev)
{
    struct run *r = ctx;
    if (ev->kind == SF_TRACE_SEG_OUT && ev->seg && ev->seg->dgram)
        dlog_put(&r->traced, ev->seg->dgram, ev->seg->dgram_len);
}

static void ip6_of(uint8_t host, uint8_t out[16])
{
    memset(out, 0, 16);
    out[0] = 0xfd;
    out[15] = host;
}

static struct sf_stack *stack(struct run *r, bool is_a)
{
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = is_a ? A_IP : B_IP;
    if (r->v6)
        ip6_of(is_a ? 2 : 1, cfg.addr6);
    cfg.mss = 1001; /* odd: full segments odd-sized */
    cfg.output = is_a ? a_output : b_output;
    cfg.output_ctx = r;
    if (is_a) {
        cfg.output_gather = r->gather ? a_gather : NULL;
        cfg.output_flush = r->keep ? a_flush : NULL;
        cfg.offload = r->offload | (r->tso ? SF_OFFLOAD_TSO : 0);
        cfg.output_gso = r->tso ? a_gso : NULL;
        if (r->trace) {
            cfg.trace = a_trace;
            cfg.trace_ctx = r;
        }
    }
    for (int k = 0; k < 16; k++)
        cfg.seed[k] = (uint8_t)(k * 7 + (is_a ? 1 : 2));
    struct sf_stack *st = NULL;
    CHECK_EQ(sf_stack_create(&cfg, 0, &st), 0);
    return st;
}

static struct sf_addr addr_of(const struct run *r, bool is_a, uint16_t port)
{
    if (!r->v6)
        return sf_addr4(is_a ? A_IP : B_IP, port);
    uint8_t ip6[16];
    ip6_of(is_a ? 2 : 1, ip6);
    return sf_addr6(ip6, port);
}

static uint8_t pattern(uint64_t p)
{
    return (uint8_t)(p * 131u + (p >> 9));
}

/* Delivers what is queued both ways; one in 17 of a's data segments is
 * lost on the wire (the same ones in both runs: the same datagrams). */
static void pump(struct run *r, sf_time_t now)
{
    kept_write(r); /* the driver's loop writes what it kept */
    for (int round = 0; round < 64; round++) {
        size_t n;
        const uint8_t *d;
        bool any = false;
        while ((d = dlog_next(&r->to_b, &n))) {
            any = true;
            if (payload_len(d, n) > 0 && ++r->data_segs % 17 == 5)
                continue;
            /* with offload the checksum is the receiver's device's to
             * complete: as a TUN device's peer, it trusts it */
            sf_stack_input_flags(r->b, now, d, n,
                                 r->offload ? SF_IN_CSUM_VALID : 0);
        }
        while ((d = dlog_next(&r->to_a, &n))) {
            any = true;
            sf_stack_input(r->a, now, d, n);
        }
        if (!any)
            return;
        kept_write(r);
    }
}

static void transfer(struct run *r)
{
    r->a = stack(r, true);
    r->b = stack(r, false);
    int ls = sf_socket(r->b);
    struct sf_addr any = addr_of(r, false, PORT);
    CHECK_EQ(sf_bind(r->b, ls, &any), 0);
    CHECK_EQ(sf_listen(r->b, ls, 4), 0);
    int rcv = r->big ? 1 << 18 : 6000; /* the receiver's window fills while it
                                         * does not read */
    CHECK_EQ(sf_setsockopt(r->b, ls, SF_SOL_SOCKET, SF_SO_RCVBUF, &rcv, sizeof rcv), 0);
    int cs = sf_socket(r->a);
    int snd = r->big ? 1 << 18 : 7777, one = 1; /* a small ring: it wraps every
                                                  * few segments */
    CHECK_EQ(sf_setsockopt(r->a, cs, SF_SOL_SOCKET, SF_SO_SNDBUF, &snd, sizeof snd), 0);
    CHECK_EQ(sf_setsockopt(r->a, cs, SF_IPPROTO_TCP, SF_TCP_NODELAY, &one, sizeof one), 0);
    struct sf_addr dst = addr_of(r, false, PORT);
    long rc = sf_connect(r->a, cs, &dst);
    CHECK(rc == 0 || rc == SF_EINPROGRESS);
    uint64_t sent = 0, rcvd = 0;
    int ss = -1;
    bool shut = false, eof = false, bad = false;
    sf_time_t now = 0;
    uint8_t buf[4096];
    for (unsigned step = 0; step < STEPS && !eof; step++) {
        now += SF_MSEC;
        sf_stack_advance(r->a, now);
        sf_stack_advance(r->b, now);
        pump(r, now);
        /* odd-sized writes: 1 to 3001 bytes */
        size_t want = 1 + (size_t)(step * 7919u) % 3001;
        while (sent < TOTAL) {
            size_t n = TOTAL - sent < want ? (size_t)(TOTAL - sent) : want;
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern(sent + i);
            long w = sf_send(r->a, cs, buf, n, 0);
            if (w <= 0)
                break;
            sent += (uint64_t)w;
        }
        if (sent == TOTAL && !shut) {
            CHECK_EQ(sf_shutdown(r->a, cs, SF_SHUT_WR), 0);
            shut = true;
        }
        pump(r, now);
        if (ss < 0)
            ss = sf_accept(r->b, ls, NULL);
        /* the reader: pauses of 300 ms every 2 s (zero windows, probes),
         * else odd amounts */
        if (ss >= 0 && (now / SF_MSEC) % 2000 >= 300) {
            size_t take = 1 + (size_t)(step * 31u) % 4000;
            long g = sf_recv(r->b, ss, buf, take, 0);
            if (g == 0)
                eof = true;
            for (long i = 0; i < g; i++)
                if (buf[i] != pattern(rcvd + (uint64_t)i))
                    bad = true;
            if (g > 0)
                rcvd += (uint64_t)g;
        }
        pump(r, now);
    }
    CHECK(eof);
    CHECK(!bad);
    CHECK_EQ(rcvd, TOTAL);
    const struct sf_counters *cb = sf_stack_counters(r->b);
    CHECK_EQ(cb->drops[SF_DROP_TCP_CSUM], 0); /* every checksum right */
    CHECK(sf_stack_counters(r->a)->c[SF_CTR_RETRANSMITS] > 0);
    sf_stack_free(r->a);
    sf_stack_free(r->b);
}

static void run_free(struct run *r)
{
    free(r->kept);
    free(r->out.buf);
    free(r->to_a.buf);
    free(r->to_b.buf);
    free(r->traced.buf);
}

/* The index of the first datagram in which two logs differ, -1 if none. */
static long first_diff(const struct dlog *x, const struct dlog *y)
{
    size_t i = 0, j = 0;
    for (long k = 0;; k++) {
        if (i >= x->len || j >= y->len)
            return i >= x->len && j >= y->len ? -1 : k;
        uint32_t nx, ny;
        memcpy(&nx, x->buf + i, 4);
        memcpy(&ny, y->buf + j, 4);
        if (nx != ny || memcmp(x->buf + i + 4, y->buf + j + 4, nx))
            return k;
        i += 4 + nx;
        j += 4 + ny;
    }
}

static void same_bytes(bool v6, unsigned offload, bool trace)
{
    struct run plain = {.v6 = v6, .offload = offload, .trace = trace};
    struct run gath = {.v6 = v6, .offload = offload, .trace = trace, .gather = true};
    transfer(&plain);
    transfer(&gath);
    long k = first_diff(&plain.out, &gath.out);
    if (k >= 0)
        fprintf(stderr, "%s offload %u trace %d: datagram %ld differs\n",
                v6 ? "IPv6" : "IPv4", offload, trace, k);
    CHECK_EQ(k, -1);
    CHECK(plain.out.len > TOTAL); /* (it carried the transfer) */
    if (trace) { /* the trace sees the datagram whole either way */
        CHECK_EQ(first_diff(&plain.traced, &gath.traced), -1);
        CHECK_EQ(first_diff(&plain.traced, &plain.out), -1);
    }
    /* every data segment went through the gather path, as two or three
     * good pieces, some of them wrapping at an odd offset */
    CHECK_EQ(plain.gathers, 0);
    CHECK(gath.gathers > 100);
    CHECK_EQ(gath.data_via_output, 0);
    CHECK_EQ(gath.bad_pieces, 0);
    CHECK(gath.wrapped > 5);
    CHECK(gath.odd_split > 0);
    CHECK(gath.odd_split < gath.wrapped); /* even ones too */
    fprintf(stderr, "%s offload %u trace %d: %u gathered (%u wrapped, %u at an "
            "odd offset), %zu bytes of datagrams the same\n", v6 ? "IPv6" : "IPv4",
            offload, trace, gath.gathers, gath.wrapped, gath.odd_split,
            gath.out.len);
    run_free(&plain);
    run_free(&gath);
}

/* output_flush: the payload slices kept past the call (as the TUN driver
 * keeps them to write a GSO packet from the ring) and read only when the
 * test's loop writes them (before each delivery, and when the stack says
 * so): between, the application's sends grow the ring (4 KB, then its
 * whole size) and ACKs empty it (its storage back to the cache, taken
 * again by the next send). Every datagram must still be the bytes of the
 * run without gathering. Without the stack's calls the kept slices read
 * moved or reused storage (seen: datagrams differ; ASan: use after
 * free). */
static void test_kept_until_flush(void)
{
    for (int v6 = 0; v6 < 2; v6++) {
        struct run plain = {.v6 = v6};
        struct run kept = {.v6 = v6, .gather = true, .keep = true};
        kept.kept = calloc(KEPT_MAX, sizeof *kept.kept);
        CHECK(kept.kept != NULL);
        if (!kept.kept)
            return;
        transfer(&plain);
        transfer(&kept);
        long k = first_diff(&plain.out, &kept.out);
        fprintf(stderr, "%s kept: %u gathered, at most %u kept at once, %u "
                "flushes asked; first difference %ld\n", v6 ? "IPv6" : "IPv4",
                kept.gathers, kept.kept_most, kept.flushes, k);
        CHECK_EQ(k, -1);
        CHECK(kept.gathers > 100);
        CHECK(kept.kept_most > 1); /* kept across calls */
        CHECK(kept.flushes > 0);
        CHECK_EQ(kept.nkept, 0); /* none left at the end */
        run_free(&plain);
        run_free(&kept);
    }
}

/* SF_OFFLOAD_TSO: runs of full-sized segments handed whole to
 * output_gso; cut as the device would, they must be the datagrams sent
 * one by one, byte for byte (IPv4 IDs, PSH, sequence numbers, checksums),
 * in the same order, under the same losses, window and pacing. With
 * a trace set none is handed whole. */
static void test_tso_same_segments(void)
{
    for (int v6 = 0; v6 < 2; v6++)
        for (int keep = 0; keep < 2; keep++)
        for (int big = 0; big < 2; big++) {
            struct run one = {.v6 = v6, .gather = true, .keep = keep,
                              .big = big, .offload = SF_OFFLOAD_TX_CSUM};
            struct run tso = one;
            tso.tso = true;
            one.kept = keep ? calloc(KEPT_MAX, sizeof *one.kept) : NULL;
            tso.kept = keep ? calloc(KEPT_MAX, sizeof *tso.kept) : NULL;
            transfer(&one);
            transfer(&tso);
            long k = first_diff(&one.out, &tso.out);
            fprintf(stderr, "%s%s%s TSO: %u runs of %u segments in all, %u "
                    "gathered; first difference %ld\n", v6 ? "IPv6" : "IPv4",
                    keep ? " kept" : "", big ? " big" : "", tso.tso_calls, tso.tso_segs,
                    tso.gathers, k);
            CHECK_EQ(k, -1);
            CHECK_EQ(one.tso_calls, 0);
            CHECK(tso.tso_calls > 20);
            CHECK(tso.tso_segs >= 2 * tso.tso_calls);
            CHECK_EQ(tso.tso_bad, 0);
            CHECK_EQ(tso.bad_pieces, 0);
            run_free(&one);
            run_free(&tso);
        }
    struct run traced = {.gather = true, .trace = true, .tso = true,
                         .offload = SF_OFFLOAD_TX_CSUM};
    transfer(&traced);
    CHECK_EQ(traced.tso_calls, 0);
    run_free(&traced);
}

static void test_same_bytes_ipv4(void)
{
    same_bytes(false, 0, false);
}

static void test_same_bytes_ipv4_offload(void)
{
    same_bytes(false, SF_OFFLOAD_TX_CSUM, false);
}

static void test_same_bytes_ipv6(void)
{
    same_bytes(true, 0, false);
}

static void test_same_bytes_ipv6_offload(void)
{
    same_bytes(true, SF_OFFLOAD_TX_CSUM, false);
}

/* A trace set: it gets the datagram whole, copied for it alone. */
static void test_same_bytes_traced(void)
{
    same_bytes(false, 0, true);
    same_bytes(true, SF_OFFLOAD_TX_CSUM, true);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_same_bytes_ipv4),
    CHECK_CASE(test_same_bytes_ipv4_offload),
    CHECK_CASE(test_same_bytes_ipv6),
    CHECK_CASE(test_same_bytes_ipv6_offload),
    CHECK_CASE(test_same_bytes_traced),
    CHECK_CASE(test_kept_until_flush),
    CHECK_CASE(test_tso_same_segments),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
