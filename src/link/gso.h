/* The TUN driver's offload arithmetic (IFF_VNET_HDR with TUN_F_CSUM |
 * TUN_F_TSO4 | TUN_F_TSO6), as pure functions on IPv4 and IPv6 datagrams
 * (IPv6: TCP right after the 40-byte header) in memory: no I/O, no
 * clock, no allocation, so each piece is unit tested alone
 * (tests/unit/test_gso.c).
 *
 * Out: consecutive data segments of one connection are merged into one GSO
 * packet with its virtio_net_hdr; the kernel cuts it back into gso_size
 * segments and completes their checksums.
 * In: a super-packet from the kernel gets its IPv4 total length set and,
 * where someone must see it (a tap, UDP), its checksum completed
 * (NEEDS_CSUM), and can be cut back into the gso_size segments the wire
 * would have carried. A TCP checksum the kernel left partial need not be
 * completed at all (gso_tcp_partial: the stack takes it as valid); the
 * stack's partial ones go out with gso_csum_hdr's header. */
#ifndef SF_LINK_GSO_H
#define SF_LINK_GSO_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GSO_VNET_HDR 10 /* struct virtio_net_hdr, without num_buffers */
#define GSO_MAX 65535   /* a merged packet is still one IPv4 datagram */

/* ------------------------------------------------------------ out: merge */

/* Outgoing data segments being merged into one GSO packet: the first
 * segment's headers, then every segment's payload. */
#define GSO_REFS 64 /* payload pieces a packet kept by reference may have */
struct gso_merge {
    size_t len;        /* IPv4 datagram bytes held (0: nothing pending) */
    unsigned segs;
    size_t mss;        /* payload of the first segment: the gso_size */
    size_t last;       /* payload of the latest one */
    uint32_t next_seq; /* the sequence number that may follow */
    /* By reference (gso_merge_start_ref): buf holds the first segment's
     * headers (hlen bytes) only, the payload stays where the caller's
     * pieces are, ref[0..nref) in order (adjacent ones joined). */
    bool byref;
    size_t hlen;
    unsigned nref;
    struct iovec ref[GSO_REFS];
    uint8_t buf[GSO_MAX];
};

/* A segment that may be merged: IPv4 without options or fragmentation,
 * total length len (or IPv6 with TCP next, payload length len - 40),
 * its headers (TCP options included) in the first piece, ACK or ACK+PSH
 * only, some payload. */
bool gso_plain_data(const uint8_t *d, size_t len);

/* Adds plain data segment d (gso_plain_data) to the pending packet if it
 * continues it: same family, addresses, ports, TOS and TTL (IPv6: traffic
 * class, flow label and hop limit), same ACK, window and TCP options (byte for byte),
 * the next sequence number, the pending ones all gso_size long, and room
 * left. The merged packet then carries the PSH of its last segment.
 * Returns false (and changes nothing) if it does not continue. */
bool gso_merge_add(struct gso_merge *g, const uint8_t *d, size_t len);

/* Starts a new pending packet with plain data segment d (nothing may be
 * pending: finish it first). */
void gso_merge_start(struct gso_merge *g, const uint8_t *d, size_t len);

/* The same three for a datagram of len bytes in the n pieces v (a gather
 * output's: sf_stack_cfg.output_gather), whose headers are read from v[0]
 * alone: a segment whose IP and TCP headers are not all in v[0] is not
 * plain. The payload is copied from the pieces into g->buf once. */
bool gso_plain_data_v(const struct iovec *v, size_t n, size_t len);
bool gso_merge_add_v(struct gso_merge *g, const struct iovec *v, size_t n,
                     size_t len);
void gso_merge_start_v(struct gso_merge *g, const struct iovec *v, size_t n,
                       size_t len);

/* The same, keeping the payload by reference: the pieces after v[0]
 * (which must hold the headers exactly) are not copied but pointed to,
 * and must stay valid and unchanged until the packet is finished and
 * written (gso_merge_finish_v). A packet started by reference takes only
 * segments added by reference (gso_merge_add_ref; gso_merge_add_v refuses
 * them), and one started by copy only copies. gso_merge_add_ref returns
 * false also when v[0] is not exactly the headers or the pieces would
 * pass GSO_REFS. */
bool gso_merge_add_ref(struct gso_merge *g, const struct iovec *v, size_t n,
                       size_t len);
bool gso_merge_start_ref(struct gso_merge *g, const struct iovec *v, size_t n,
                         size_t len);
/* A run of segments the stack hands whole (sf_stack_cfg.output_gso): a
 * plain datagram whose payload is k >= 2 segments of seg bytes, its
 * headers the first segment's. Added to (or starting) a pending packet as
 * k segments would be, by copy or (byref) by reference, when the pending
 * one's gso_size is seg; false (g unchanged) where a segment would be
 * refused, or the payload is no such run. */
bool gso_merge_add_run(struct gso_merge *g, const struct iovec *v, size_t n,
                       size_t len, size_t seg, bool byref);
bool gso_merge_start_run(struct gso_merge *g, const struct iovec *v, size_t n,
                         size_t len, size_t seg, bool byref);
/* Finishes the pending packet (either kind) as gso_merge_finish does,
 * into pieces: out[0] the headers (by reference) or the whole datagram
 * (by copy), then the payload's references; *n of at most 1 + GSO_REFS.
 * Returns the datagram's length, 0 if nothing was pending. */
size_t gso_merge_finish_v(struct gso_merge *g, struct virtio_net_hdr *h,
                          struct iovec *out, size_t *n, unsigned *segs);
/* Finishes the pending packet and empties g. Returns the IPv4 datagram to
 * write (in g->buf) with its length in *len and the number of segments it
 * holds in *segs, or NULL if nothing is pending. One segment goes out as
 * the stack emitted it, with *h all zero (no GSO; the caller gives it
 * gso_csum_hdr's header if the stack's checksum is partial).
 * Several get their IPv4 total length and header checksum (IPv6: payload
 * length) set, and *h asks the kernel for TCPv4 (TCPv6) segmentation at
 * gso_size with the TCP checksum
 * to complete (its field holds the pseudo-header sum). */
const uint8_t *gso_merge_finish(struct gso_merge *g, struct virtio_net_hdr *h,
                                size_t *len, unsigned *segs);

/* ---------------------------------------------------------- in: complete */

/* What gso_complete found. */
struct gso_rx {
    bool gso;      /* a super-packet (gso_type not NONE) */
    uint64_t segs; /* gso: the wire segments of gso_size it stands for */
    bool csum;     /* NEEDS_CSUM: a checksum was completed */
};

/* Makes the datagram d (len bytes, after vnet header h) one the core
 * accepts. A super-packet gets its IPv4 total length (and so header
 * checksum) set to len, or its IPv6 payload length to len - 40; with NEEDS_CSUM the TCP checksum field holds only
 * the pseudo-header sum, so the full checksum is computed and stored (any
 * other csum_start/offset: the 16-bit one's complement sum from
 * csum_start on, stored at csum_start + csum_offset). Fills *rx. Returns
 * false if the header points outside the datagram (*rx is filled as far
 * as it got). len must be at most GSO_MAX. */
bool gso_complete(const struct virtio_net_hdr *h, uint8_t *d, size_t len,
                  struct gso_rx *rx);

/* ------------------------------------------------------ checksum offload
 * virtio 1.x 5.1.6.2: with VIRTIO_NET_HDR_F_NEEDS_CSUM the checksum is
 * left to the receiver of the header, which sums the bytes from
 * csum_start to the end (the field at csum_start + csum_offset holds the
 * pseudo-header sum) and stores the folded complement there (RFC 1071). */

/* The offset of the TCP header of d (IPv4 with protocol 6, its IHL; IPv6
 * with next header 6, 40), if the 20-byte TCP header lies within len;
 * 0 otherwise. */
size_t gso_tcp_start(const uint8_t *d, size_t len);
/* The end of d's TCP header, options included (gso_tcp_start plus its
 * data offset), if that header is whole within len; 0 otherwise. */
size_t gso_tcp_hdr_end(const uint8_t *d, size_t len);

/* Whether h asks for the TCP checksum of d to be completed at its usual
 * place: NEEDS_CSUM, csum_start the TCP header (gso_tcp_start) and
 * csum_offset 16. Such a datagram came from this host's kernel with its
 * checksum never computed: the stack may take it as valid
 * (SF_IN_CSUM_VALID) and nobody need compute it. */
bool gso_tcp_partial(const struct virtio_net_hdr *h, const uint8_t *d,
                     size_t len);

/* Fills *h for TCP datagram d whose checksum field holds the pseudo-header
 * sum (SF_CSUM_PARTIAL): NEEDS_CSUM, no GSO, csum_start the TCP header,
 * csum_offset 16, hdr_len the IP and TCP headers. Returns false (and
 * leaves *h all zero) if d is not TCP (gso_tcp_start 0). */
bool gso_csum_hdr(struct virtio_net_hdr *h, const uint8_t *d, size_t len);

/* -------------------------------------------------------------- in: cut */

/* How many segments of at most mss payload bytes the TCP datagram d (IPv4,
 * or IPv6 with TCP next) is cut into by gso_cut; 0 if it cannot be cut
 * (mss 0, not TCP over IPv4 or IPv6,
 * headers not within len, or no more than mss bytes of payload). */
size_t gso_cut_count(const uint8_t *d, size_t len, size_t mss);

/* Writes segment k (0 <= k < gso_cut_count) of d into seg (room for the
 * headers plus mss bytes) and returns its length. Each segment gets the
 * headers of d with its own total length, IP ID (d's + k), header
 * checksum (IPv6: its own payload length), sequence number and TCP checksum; PSH and FIN stay on the
 * last segment only, CWR on the first only. */
size_t gso_cut(const uint8_t *d, size_t len, size_t mss, size_t k,
               uint8_t *seg);
/* gso_cut with the TCP checksum field left holding the segment's
 * pseudo-header sum (SF_CSUM_PARTIAL), for a device that completes it. */
size_t gso_cut_partial(const uint8_t *d, size_t len, size_t mss, size_t k,
                       uint8_t *seg);

#endif
