/* The TUN driver's offload arithmetic (see gso.h). Byte offsets are those
 * of an IPv4 header without options (20 bytes) or an IPv6 header with TCP
 * next (40 bytes, l3_len) and a TCP header where the code says so;
 * everything else reads the header lengths. */
#include "link/gso.h"
#include "synfin/wire.h"

#include <string.h>

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void set16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void set32(uint8_t *p, uint32_t v)
{
    set16(p, (uint16_t)(v >> 16));
    set16(p + 2, (uint16_t)v);
}

/* RFC 9293 3.1: the pseudo-header sum (source, destination, zero,
 * protocol 6, TCP length) of the IPv4 datagram d; RFC 8200 8.1 for an
 * IPv6 one: source, destination, 32-bit upper-layer length, three zero
 * bytes, next header 6. */
static uint32_t pseudo_sum(const uint8_t *d, size_t tcp_len)
{
    uint8_t ph[40];
    if (d[0] >> 4 == 6) {
        memcpy(ph, d + 8, 32);
        set32(ph + 32, (uint32_t)tcp_len);
        ph[36] = ph[37] = ph[38] = 0;
        ph[39] = 6;
        return sf_csum_add(0, ph, 40);
    }
    memcpy(ph, d + 12, 8);
    ph[8] = 0;
    ph[9] = 6;
    set16(ph + 10, (uint16_t)tcp_len);
    return sf_csum_add(0, ph, 12);
}

/* The IP header length of a datagram the offload paths handle: 20 for
 * IPv4 without options, 40 for IPv6 whose next header is TCP (no
 * extension headers); 0 for anything else. */
static size_t l3_len(const uint8_t *d, size_t len)
{
    if (len >= 40 && d[0] == 0x45 && d[9] == 6)
        return 20;
    if (len >= 60 && d[0] >> 4 == 6 && d[6] == 6)
        return 40;
    return 0;
}

/* Sets the length field of the IP header (IPv4 total length and header
 * checksum, or RFC 8200 3's payload length) for a datagram of len bytes. */
static void set_ip_len(uint8_t *d, size_t ihl, size_t len)
{
    if (d[0] >> 4 == 6) {
        set16(d + 4, (uint16_t)(len - 40));
        return;
    }
    set16(d + 2, (uint16_t)len);
    d[10] = d[11] = 0;
    set16(d + 10, sf_csum_fold(sf_csum_add(0, d, ihl)));
}

/* RFC 9293 3.1: the TCP checksum over the pseudo-header and the whole
 * segment, stored in the IPv4 datagram d (header length ihl). */
static void tcp_csum(uint8_t *d, size_t ihl, size_t len)
{
    d[ihl + 16] = d[ihl + 17] = 0;
    uint32_t sum = sf_csum_add(pseudo_sum(d, len - ihl), d + ihl, len - ihl);
    set16(d + ihl + 16, sf_csum_fold(sum));
}

/* virtio 1.x 5.1.6.2, NEEDS_CSUM: the TCP checksum field of the IPv4 (IPv6)
 * datagram d holds the pseudo-header sum for len bytes of datagram,
 * folded and not complemented, for the device to add the segment's
 * bytes to. */
static void tcp_partial(uint8_t *d, size_t ihl, size_t len)
{
    set16(d + ihl + 16, (uint16_t)~sf_csum_fold(pseudo_sum(d, len - ihl)));
}

/* RFC 791 3.1: the header checksum over the ihl header bytes. */
static void ip_csum(uint8_t *d, size_t ihl)
{
    d[10] = d[11] = 0;
    set16(d + 10, sf_csum_fold(sf_csum_add(0, d, ihl)));
}

/* ------------------------------------------------------------ out: merge */

/* Copies len bytes from offset off of the datagram in pieces v[0..n). */
static void pieces_copy(const struct iovec *v, size_t n, size_t off,
                        uint8_t *out, size_t len)
{
    for (size_t i = 0; i < n && len; i++) {
        if (off >= v[i].iov_len) {
            off -= v[i].iov_len;
            continue;
        }
        size_t k = v[i].iov_len - off < len ? v[i].iov_len - off : len;
        memcpy(out, (const uint8_t *)v[i].iov_base + off, k);
        out += k;
        len -= k;
        off = 0;
    }
}

/* The TCP header's length (its data offset) of datagram d whose TCP header
 * starts at h (l3_len). */
static size_t tcp_hl(const uint8_t *d, size_t h)
{
    return (size_t)(d[h + 12] >> 4) * 4;
}

bool gso_plain_data_v(const struct iovec *v, size_t n, size_t len)
{
    const uint8_t *d = v[0].iov_base;
    /* the headers from v[0] alone (l3_len: IP and 20 TCP bytes within it,
     * then the TCP options too) */
    size_t h = n && len <= GSO_MAX && v[0].iov_len <= len ? l3_len(d, v[0].iov_len) : 0;
    if (h == 0)
        return false;
    size_t th = tcp_hl(d, h);
    if (th < 20 || h + th > v[0].iov_len || len <= h + th)
        return false;
    bool ip_ok = h == 20 ? get16(d + 2) == len && (get16(d + 6) & 0x3fff) == 0
                         : get16(d + 4) == len - 40; /* RFC 8200 3 */
    return ip_ok && (d[h + 13] == 0x10 || d[h + 13] == 0x18);
}

bool gso_plain_data(const uint8_t *d, size_t len)
{
    struct iovec v = {(void *)d, len};
    return gso_plain_data_v(&v, 1, len);
}

/* Whether plain segment d (its headers in hlen bytes, len in all)
 * continues the pending one: same family and IP
 * header fields (IPv4: TOS, TTL, addresses; IPv6: traffic class and flow
 * label, hop limit, addresses), same ports, ACK and window, and the same
 * TCP options byte for byte. The kernel's segmentation gives every
 * segment the first one's header, options included: with timestamps
 * (RFC 7323 3) each carries the first one's TSval and TSecr, as the
 * segments of one TSO send of Linux's do, so segments whose TSval
 * differs are not merged. */
static bool continues(const struct gso_merge *g, const uint8_t *d, size_t hlen,
                      size_t len, size_t seg)
{
    const uint8_t *p = g->buf;
    size_t h = l3_len(d, hlen);
    if (!g->len || h != l3_len(p, g->len))
        return false;
    size_t th = tcp_hl(d, h);
    if (th != tcp_hl(p, h))
        return false;
    size_t pl = len - h - th;
    bool ip_same = h == 20 ? d[1] == p[1] && d[8] == p[8] && !memcmp(d + 12, p + 12, 8)
                           : !memcmp(d, p, 4) && d[7] == p[7] && !memcmp(d + 8, p + 8, 32);
    /* a run (seg) is whole segments of the pending packet's size */
    bool fits = seg ? seg == g->mss && pl % seg == 0 : pl <= g->mss;
    return ip_same && g->last == g->mss && fits &&
           g->len + pl <= GSO_MAX && get32(d + h + 4) == g->next_seq &&
           !memcmp(d + h, p + h, 4) && !memcmp(d + h + 8, p + h + 8, 4) &&
           !memcmp(d + h + 14, p + h + 14, 2) &&
           !memcmp(d + h + 20, p + h + 20, th - 20);
}

/* Segment d (IP header h bytes, pl bytes of payload; a run of segments of
 * seg bytes, 0: one) joined the pending packet: counted, and the packet
 * carries its PSH (the last one's). */
static void seg_added(struct gso_merge *g, const uint8_t *d, size_t h, size_t pl,
                      size_t seg)
{
    g->len += pl;
    g->segs += seg ? (unsigned)(pl / seg) : 1;
    g->last = seg ? seg : pl;
    g->next_seq += (uint32_t)pl;
    g->buf[h + 13] = d[h + 13];
}

static bool add_copy(struct gso_merge *g, const struct iovec *v, size_t n,
                     size_t len, size_t seg)
{
    const uint8_t *d = v[0].iov_base;
    if (g->byref || !continues(g, d, v[0].iov_len, len, seg))
        return false;
    size_t h = l3_len(d, v[0].iov_len), th = tcp_hl(d, h), pl = len - h - th;
    /* the payload straight from the pieces: its one copy */
    pieces_copy(v, n, h + th, g->buf + g->len, pl);
    seg_added(g, d, h, pl, seg);
    return true;
}

bool gso_merge_add_v(struct gso_merge *g, const struct iovec *v, size_t n,
                     size_t len)
{
    return add_copy(g, v, n, len, 0);
}

bool gso_merge_add(struct gso_merge *g, const uint8_t *d, size_t len)
{
    struct iovec v = {(void *)d, len};
    return gso_merge_add_v(g, &v, 1, len);
}

/* Whether piece b starts where piece a ends. */
static bool adjacent(const struct iovec *a, const struct iovec *b)
{
    return (const uint8_t *)a->iov_base + a->iov_len == b->iov_base;
}

/* The pieces after v[0] appended to g's references, each joined to the
 * one before it where adjacent; false (g unchanged) if they would pass
 * GSO_REFS. */
static bool refs_add(struct gso_merge *g, const struct iovec *v, size_t n)
{
    unsigned k = g->nref, more = 0;
    const struct iovec *prev = k ? &g->ref[k - 1] : NULL;
    for (size_t i = 1; i < n; i++)
        if (v[i].iov_len) {
            more += !(prev && adjacent(prev, &v[i]));
            prev = &v[i];
        }
    if (k + more > GSO_REFS)
        return false;
    for (size_t i = 1; i < n; i++) {
        if (!v[i].iov_len)
            continue;
        if (k && adjacent(&g->ref[k - 1], &v[i]))
            g->ref[k - 1].iov_len += v[i].iov_len;
        else
            g->ref[k++] = v[i];
    }
    g->nref = k;
    return true;
}

/* Whether v[0] holds exactly the headers of plain segment v (len bytes). */
static bool headers_alone(const struct iovec *v, size_t n, size_t len)
{
    const uint8_t *d = v[0].iov_base;
    size_t h = l3_len(d, v[0].iov_len);
    return n >= 2 && h && v[0].iov_len == h + tcp_hl(d, h) && len > v[0].iov_len;
}

static bool add_ref(struct gso_merge *g, const struct iovec *v, size_t n,
                    size_t len, size_t seg)
{
    const uint8_t *d = v[0].iov_base;
    if (!g->byref || !headers_alone(v, n, len) ||
        !continues(g, d, v[0].iov_len, len, seg) || !refs_add(g, v, n))
        return false;
    seg_added(g, d, l3_len(d, v[0].iov_len), len - v[0].iov_len, seg);
    return true;
}

bool gso_merge_add_ref(struct gso_merge *g, const struct iovec *v, size_t n,
                       size_t len)
{
    return add_ref(g, v, n, len, 0);
}

/* A new pending packet's counts: its payload pl is one segment, or (seg)
 * a run of segments of seg bytes. */
static void first_added(struct gso_merge *g, size_t pl, size_t seg)
{
    g->segs = seg ? (unsigned)(pl / seg) : 1;
    g->mss = g->last = seg ? seg : pl;
}

static bool start_ref(struct gso_merge *g, const struct iovec *v, size_t n,
                      size_t len, size_t seg)
{
    g->nref = 0;
    if (!headers_alone(v, n, len) || !refs_add(g, v, n))
        return false;
    size_t hl = v[0].iov_len;
    memcpy(g->buf, v[0].iov_base, hl);
    const uint8_t *d = g->buf;
    size_t h = l3_len(d, hl);
    g->byref = true;
    g->hlen = hl;
    g->len = len;
    first_added(g, len - hl, seg);
    g->next_seq = get32(d + h + 4) + (uint32_t)(len - hl);
    return true;
}

bool gso_merge_start_ref(struct gso_merge *g, const struct iovec *v, size_t n,
                         size_t len)
{
    return start_ref(g, v, n, len, 0);
}

static void start_copy(struct gso_merge *g, const struct iovec *v, size_t n,
                       size_t len, size_t seg)
{
    g->byref = false;
    pieces_copy(v, n, 0, g->buf, len);
    const uint8_t *d = g->buf;
    size_t h = l3_len(d, len), th = tcp_hl(d, h);
    g->len = len;
    first_added(g, len - h - th, seg);
    g->next_seq = get32(d + h + 4) + (uint32_t)(len - h - th);
}

void gso_merge_start_v(struct gso_merge *g, const struct iovec *v, size_t n,
                       size_t len)
{
    start_copy(g, v, n, len, 0);
}

/* A run: whole segments of seg bytes, its payload a multiple of seg. */
static bool run_ok(const struct iovec *v, size_t n, size_t len, size_t seg)
{
    if (!n || !gso_plain_data_v(v, n, len))
        return false;
    const uint8_t *d = v[0].iov_base;
    size_t h = l3_len(d, v[0].iov_len), pl = len - h - tcp_hl(d, h);
    return seg && pl % seg == 0 && pl / seg >= 2;
}

bool gso_merge_add_run(struct gso_merge *g, const struct iovec *v, size_t n,
                       size_t len, size_t seg, bool byref)
{
    if (!run_ok(v, n, len, seg))
        return false;
    return byref ? add_ref(g, v, n, len, seg) : add_copy(g, v, n, len, seg);
}

bool gso_merge_start_run(struct gso_merge *g, const struct iovec *v, size_t n,
                         size_t len, size_t seg, bool byref)
{
    if (!run_ok(v, n, len, seg))
        return false;
    if (byref)
        return start_ref(g, v, n, len, seg);
    start_copy(g, v, n, len, seg);
    return true;
}

void gso_merge_start(struct gso_merge *g, const uint8_t *d, size_t len)
{
    struct iovec v = {(void *)d, len};
    gso_merge_start_v(g, &v, 1, len);
}

/* A merged packet's headers (the first hlen bytes of ip, of len in all)
 * made the GSO packet's: its IP length, and the TCP checksum field set to
 * the pseudo-header sum of the merged length, not complemented (virtio
 * 1.x 5.1.6.2: with NEEDS_CSUM the kernel adds each segment's bytes when
 * it splits the packet); *h asks for TCPv4 (TCPv6) segmentation at mss. */
static void gso_hdr(uint8_t *ip, size_t hlen, size_t len, size_t mss,
                    struct virtio_net_hdr *h)
{
    size_t l3 = l3_len(ip, hlen);
    set_ip_len(ip, l3, len);
    tcp_partial(ip, l3, len);
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->gso_type = l3 == 40 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    h->hdr_len = (uint16_t)(l3 + tcp_hl(ip, l3));
    h->gso_size = (uint16_t)mss;
    h->csum_start = (uint16_t)l3;
    h->csum_offset = 16;
}

size_t gso_merge_finish_v(struct gso_merge *g, struct virtio_net_hdr *h,
                          struct iovec *out, size_t *n, unsigned *segs)
{
    memset(h, 0, sizeof *h);
    *n = 0;
    if (!g->len)
        return 0;
    size_t len = g->len, hlen = g->byref ? g->hlen : len;
    unsigned nref = g->byref ? g->nref : 0;
    *segs = g->segs;
    g->len = 0;
    g->byref = false;
    out[0] = (struct iovec){g->buf, hlen};
    if (nref)
        memcpy(out + 1, g->ref, nref * sizeof g->ref[0]);
    *n = 1 + nref;
    if (*segs > 1) /* (one goes out as the stack emitted it) */
        gso_hdr(g->buf, hlen, len, g->mss, h);
    return len;
}

const uint8_t *gso_merge_finish(struct gso_merge *g, struct virtio_net_hdr *h,
                                size_t *len, unsigned *segs)
{
    memset(h, 0, sizeof *h);
    if (g->byref) /* (its payload is not in the buffer) */
        return NULL;
    struct iovec out[1];
    size_t n;
    *len = gso_merge_finish_v(g, h, out, &n, segs);
    return *len ? g->buf : NULL;
}

/* ---------------------------------------------------------- in: complete */

/* How many wire segments of gso_size a super-packet of len bytes (IP
 * header ihl bytes, 0 if not TCP) stands for; 1 if it cannot tell. */
static uint64_t wire_segs(const struct virtio_net_hdr *h, const uint8_t *d,
                          size_t len, size_t ihl)
{
    if (ihl < 20 || ihl + 20 > len || h->gso_size == 0)
        return 1;
    size_t hl = ihl + (size_t)(d[ihl + 12] >> 4) * 4;
    if (hl > len || len - hl <= h->gso_size)
        return 1;
    return (len - hl + h->gso_size - 1) / h->gso_size;
}

bool gso_complete(const struct virtio_net_hdr *h, uint8_t *d, size_t len,
                  struct gso_rx *rx)
{
    memset(rx, 0, sizeof *rx);
    bool v4 = len >= 20 && d[0] >> 4 == 4;
    /* IPv6 with TCP next (no extension headers: the kernel's own TCP
     * sends none): header 40 bytes */
    bool v6tcp = len >= 40 && d[0] >> 4 == 6 && d[6] == 6;
    size_t ihl = v4 ? (size_t)(d[0] & 15) * 4 : v6tcp ? 40 : 0;
    if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
        rx->gso = true;
        rx->segs = wire_segs(h, d, len, v4 && d[9] != 6 ? 0 : ihl);
        if (v4 && ihl >= 20 && ihl <= len && get16(d + 2) != len) {
            set16(d + 2, (uint16_t)len); /* len <= GSO_MAX */
            ip_csum(d, ihl);
        }
        if (v6tcp && get16(d + 4) != len - 40) /* RFC 8200 3: payload length */
            set16(d + 4, (uint16_t)(len - 40));
    }
    if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
        return true;
    size_t start = h->csum_start, at = start + h->csum_offset;
    if (start >= len || at + 2 > len)
        return false;
    rx->csum = true;
    if (((v4 && d[9] == 6) || v6tcp) && start == ihl && h->csum_offset == 16)
        tcp_csum(d, ihl, len);
    else { /* whatever it is, the field's partial sum is summed along */
        uint16_t c = sf_csum_fold(sf_csum_add(0, d + start, len - start));
        /* RFC 768: "If the computed checksum is zero, it is transmitted
         * as all ones": to UDP zero means none (and over IPv6 is invalid,
         * RFC 8200 8.1); to any other one's complement check the two are
         * the same. */
        set16(d + at, c ? c : 0xffff);
    }
    return true;
}

/* ------------------------------------------------------ checksum offload */

size_t gso_tcp_start(const uint8_t *d, size_t len)
{
    size_t at = len >= 20 && d[0] >> 4 == 4 && d[9] == 6 ? (size_t)(d[0] & 15) * 4
              : len >= 40 && d[0] >> 4 == 6 && d[6] == 6 ? 40 : 0;
    return at >= 20 && at + 20 <= len ? at : 0;
}

size_t gso_tcp_hdr_end(const uint8_t *d, size_t len)
{
    size_t at = gso_tcp_start(d, len);
    size_t end = at ? at + tcp_hl(d, at) : 0;
    return end >= at + 20 && end <= len ? end : 0;
}

bool gso_tcp_partial(const struct virtio_net_hdr *h, const uint8_t *d,
                     size_t len)
{
    size_t at = gso_tcp_start(d, len);
    return (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && at &&
           h->csum_start == at && h->csum_offset == 16;
}

bool gso_csum_hdr(struct virtio_net_hdr *h, const uint8_t *d, size_t len)
{
    memset(h, 0, sizeof *h);
    size_t at = gso_tcp_start(d, len);
    if (!at)
        return false;
    size_t hl = gso_tcp_hdr_end(d, len);
    /* virtio 1.x 5.1.6.2: "csum_start is set to the offset within the
     * packet to begin checksumming, and csum_offset indicates how many
     * bytes after the csum_start the new (16 bit ones' complement)
     * checksum is placed"; RFC 9293 3.1: TCP's is at byte 16. */
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->gso_type = VIRTIO_NET_HDR_GSO_NONE;
    h->hdr_len = (uint16_t)(hl ? hl : at + 20);
    h->csum_start = (uint16_t)at;
    h->csum_offset = 16;
    return true;
}

/* -------------------------------------------------------------- in: cut */

/* The IP and TCP header lengths of d, or 0 if they are not within len. */
static size_t headers(const uint8_t *d, size_t len, size_t *ihl)
{
    *ihl = len >= 20 && d[0] >> 4 == 4 ? (size_t)(d[0] & 15) * 4
         : len >= 40 && d[0] >> 4 == 6 && d[6] == 6 ? 40 : 0;
    size_t hl = *ihl >= 20 && *ihl + 20 <= len
                    ? *ihl + (size_t)(d[*ihl + 12] >> 4) * 4 : 0;
    return hl >= *ihl + 20 && hl <= len ? hl : 0;
}

size_t gso_cut_count(const uint8_t *d, size_t len, size_t mss)
{
    size_t ihl, hl = headers(d, len, &ihl);
    if (mss == 0 || hl == 0 || (d[0] >> 4 == 4 && d[9] != 6) || len - hl <= mss)
        return 0;
    return (len - hl + mss - 1) / mss;
}

/* gso_cut, with the TCP checksum complete or (partial) the pseudo-header
 * sum alone. */
static size_t cut(const uint8_t *d, size_t len, size_t mss, size_t k,
                  uint8_t *s, bool partial)
{
    size_t ihl, hl = headers(d, len, &ihl);
    size_t off = hl + k * mss;
    size_t pl = len - off < mss ? len - off : mss;
    memcpy(s, d, hl);
    memcpy(s + hl, d + off, pl);
    if (s[0] >> 4 == 4) /* IPv4: each segment its own IP ID */
        set16(s + 4, (uint16_t)(get16(d + 4) + k));
    set_ip_len(s, ihl, hl + pl);
    set32(s + ihl + 4, get32(d + ihl + 4) + (uint32_t)(off - hl));
    if (off + pl < len)
        s[ihl + 13] &= (uint8_t)~(0x01 | 0x08); /* FIN, PSH */
    if (k > 0)
        s[ihl + 13] &= (uint8_t)~0x80; /* CWR */
    if (partial)
        tcp_partial(s, ihl, hl + pl);
    else
        tcp_csum(s, ihl, hl + pl);
    return hl + pl;
}

size_t gso_cut(const uint8_t *d, size_t len, size_t mss, size_t k,
               uint8_t *s)
{
    return cut(d, len, mss, k, s, false);
}

size_t gso_cut_partial(const uint8_t *d, size_t len, size_t mss, size_t k,
                       uint8_t *s)
{
    return cut(d, len, mss, k, s, true);
}
