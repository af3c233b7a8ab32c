/* IPv6 header parse and emit (RFC 8200), with the walk of the extension
 * headers between the IPv6 header and TCP. Like IPv4, nothing is
 * reassembled: a fragment is dropped; a Fragment header that holds a whole
 * datagram is not a fragment and is skipped. */
#include "synfin/wire.h"
#include "wire/bytes.h"
#include "wire/wire_int.h"

#include <string.h>

/* Next Header values (IANA "Assigned Internet Protocol Numbers"; the
 * extension headers are those of IANA's "IPv6 Extension Header Types"). */
enum {
    NH_HOPOPTS = 0,
    NH_ROUTING = 43,
    NH_FRAGMENT = 44,
    NH_ESP = 50,
    NH_AH = 51,
    NH_NONE = 59,
    NH_DSTOPTS = 60,
    NH_MOBILITY = 135,
    NH_HIP = 139,
    NH_SHIM6 = 140,
    NH_EXP1 = 253,
    NH_EXP2 = 254,
};

enum { OPT_PAD1 = 0, OPT_PADN = 1 };

#define FRAG_OFFSET_MASK 0xfff8
#define FRAG_M 0x0001

static bool all_zero(const uint8_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i])
            return false;
    return true;
}

static bool unspecified(const uint8_t a[16])
{
    return all_zero(a, 16);
}

static bool loopback(const uint8_t a[16])
{
    return all_zero(a, 15) && a[15] == 1;
}

/* RFC 4291 2.5.5.2: ::ffff:0:0/96, an IPv4 address in IPv6 clothes. */
static bool v4mapped(const uint8_t a[16])
{
    return all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff;
}

/* RFC 4291 2.7: ff00::/8. */
static bool multicast(const uint8_t a[16])
{
    return a[0] == 0xff;
}

/* RFC 4291 2.7: "Multicast addresses must not be used as source addresses
 * in IPv6 packets". RFC 4291 2.5.3: "A packet received on an interface
 * with a destination address of loopback must be dropped", and the
 * loopback address "must not be used as the source address in IPv6
 * packets that are sent outside of a single node". RFC 6890 2.2.3 lists
 * ::ffff:0:0/96 with Source False and Destination False: the mapped form
 * belongs to the socket API, never to a packet. The unspecified source is
 * only for a node without an address yet (duplicate address detection,
 * an ICMPv6 matter): TCP cannot answer it, as IPv4's 0.0.0.0. */
static bool bad_source(const uint8_t a[16])
{
    return multicast(a) || unspecified(a) || loopback(a) || v4mapped(a);
}

/* RFC 4291 2.5.2: the unspecified address "must not be used as the
 * destination address of IPv6 packets". Multicast destinations are legal
 * IPv6 (ICMPv6 uses them) and are refused by sf_tcp6_parse. */
static bool bad_dest(const uint8_t a[16])
{
    return unspecified(a) || loopback(a) || v4mapped(a);
}

/* The options of a Hop-by-Hop or Destination Options header h of hlen
 * bytes (RFC 8200 4.2), in order: "The sequence of options within a header
 * must be processed strictly in the order they appear in the header".
 * Pad1 and PadN "must be recognized by all IPv6 implementations"; synfin
 * recognizes no other option, so each one gets what the two high-order
 * bits of its type ask of a node that "does not recognize the Option
 * Type": 00 "skip over this option and continue processing the header",
 * 01, 10 and 11 "discard the packet" (the ICMP Parameter Problem that 10
 * and 11 also ask for is the stack's to send, not the wire's). Beyond the
 * RFC, synfin's bounds against option bombs: more than SF_IPV6_PAD_MAX
 * bytes of padding in a row (alignment never needs 8) or more than
 * SF_IPV6_OPT_MAX other options in one header are dropped. */
static enum sf_drop walk_options(const uint8_t *h, size_t hlen)
{
    size_t pad = 0, nopts = 0;
    for (size_t i = 2; i < hlen;) {
        uint8_t type = h[i];
        bool padding = type == OPT_PAD1 || type == OPT_PADN;
        /* The type decides before the length is read: discard means
         * discard, whatever follows. */
        if (!padding && type >> 6 != 0)
            return SF_DROP_IP6_OPT_UNKNOWN;
        size_t olen = 1; /* "the format of the Pad1 option is a special
                          * case -- it does not have length and value
                          * fields" */
        if (type != OPT_PAD1) {
            if (hlen - i < 2)
                return SF_DROP_IP6_OPT_LEN;
            olen = 2 + (size_t)h[i + 1];
            if (olen > hlen - i)
                return SF_DROP_IP6_OPT_LEN;
        }
        if (padding) {
            pad += olen;
            if (pad > SF_IPV6_PAD_MAX)
                return SF_DROP_IP6_OPT_EXCESS;
        } else {
            pad = 0;
            if (++nopts > SF_IPV6_OPT_MAX)
                return SF_DROP_IP6_OPT_EXCESS;
        }
        i += olen;
    }
    return SF_DROP_NONE;
}

/* The extension headers synfin does not walk: ESP hides what follows,
 * AH authenticates what synfin would not verify, the others (Mobility,
 * HIP, Shim6, the experimental 253 and 254) are protocols of their own. */
static bool ext_unwalked(uint8_t nh)
{
    return nh == NH_ESP || nh == NH_AH || nh == NH_MOBILITY ||
           nh == NH_HIP || nh == NH_SHIM6 || nh == NH_EXP1 || nh == NH_EXP2;
}

enum sf_drop sf_ipv6_parse(const uint8_t *buf, size_t len, struct sf_ipv6 *ip)
{
    if (len < SF_IPV6_HDR_LEN)
        return SF_DROP_IP6_SHORT;
    /* RFC 8200 3: "Version 4-bit Internet Protocol version number = 6." */
    if (buf[0] >> 4 != 6)
        return SF_DROP_IP6_VERSION;
    /* RFC 8200 3: the Payload Length is "the rest of the packet following
     * this IPv6 header" with the extension headers. A longer buffer is
     * link padding, as for IPv4; a shorter one a truncated datagram. A
     * Payload Length of 0 with a Jumbo Payload option (RFC 2675) is not
     * supported: its Hop-by-Hop header runs past the zero-length payload. */
    size_t plen = wire_get16(buf + 4);
    if (plen > len - SF_IPV6_HDR_LEN)
        return SF_DROP_IP6_PLEN;
    const uint8_t *src = buf + 8, *dst = buf + 24;
    if (bad_source(src))
        return SF_DROP_IP6_BAD_SRC;
    if (bad_dest(dst))
        return SF_DROP_IP6_BAD_DST;

    /* RFC 8200 4: "extension headers must be processed strictly in the
     * order they appear in the packet"; "the first one that is not an
     * extension header [IANA-EH] indicates that the next item in the
     * packet is the corresponding upper-layer header". Every header is at
     * least 8 bytes, so the walk moves forward each step and ends. */
    size_t off = SF_IPV6_HDR_LEN, end = SF_IPV6_HDR_LEN + plen;
    uint8_t nh = buf[6];
    unsigned n = 0;
    while (nh == NH_HOPOPTS || nh == NH_DSTOPTS || nh == NH_ROUTING ||
           nh == NH_FRAGMENT) {
        /* RFC 8200 4.1: the Hop-by-Hop Options header "is restricted to
         * appear immediately after an IPv6 header only"; RFC 8200 4: the
         * packet is discarded "if a node encounters a Next Header value of
         * zero in any header other than an IPv6 header". */
        if (nh == NH_HOPOPTS && off != SF_IPV6_HDR_LEN)
            return SF_DROP_IP6_HBH_ORDER;
        /* RFC 8200 4.1 asks each header at most once (Destination Options
         * twice) but that nodes "accept ... any number of times": synfin
         * bounds the walk (SF_IPV6_EXT_MAX) against header chains built to
         * cost time. */
        if (n == SF_IPV6_EXT_MAX)
            return SF_DROP_IP6_EXT_MANY;
        n++;
        /* RFC 8200 4: "Each extension header is an integer multiple of 8
         * octets long"; Hdr Ext Len counts "8-octet units, not including
         * the first 8 octets". The Fragment header is 8 bytes, its second
         * byte Reserved (RFC 8200 4.5). */
        if (end - off < 8)
            return SF_DROP_IP6_EXT_LEN;
        const uint8_t *h = buf + off;
        size_t hl = nh == NH_FRAGMENT ? 8 : ((size_t)h[1] + 1) * 8;
        if (hl > end - off)
            return SF_DROP_IP6_EXT_LEN;
        if (nh == NH_HOPOPTS || nh == NH_DSTOPTS) {
            enum sf_drop d = walk_options(h, hl);
            if (d != SF_DROP_NONE)
                return d;
        } else if (nh == NH_ROUTING) {
            /* RFC 8200 4.4: synfin recognizes no Routing Type. "If
             * Segments Left is zero, the node must ignore the Routing
             * header and proceed to process the next header"; "If
             * Segments Left is non-zero, the node must discard the
             * packet" (and send a Parameter Problem, the stack's part). */
            if (h[3] != 0)
                return SF_DROP_IP6_ROUTING;
        } else {
            /* RFC 8200 4.5: "If the fragment is a whole datagram (that is,
             * both the Fragment Offset field and the M flag are zero),
             * then it does not need any further reassembly and should be
             * processed as a fully reassembled packet". Any other fragment
             * would need reassembly, which synfin does not do (TCP sends
             * segments that fit the path MTU). */
            if (wire_get16(h + 2) & (FRAG_OFFSET_MASK | FRAG_M))
                return SF_DROP_IP6_FRAGMENT;
        }
        nh = h[0];
        off += hl;
    }
    if (ext_unwalked(nh))
        return SF_DROP_IP6_EXT_UNKNOWN;
    /* RFC 8200 4.7: after a Next Header of 59, octets up to the Payload
     * Length "must be ignored". */
    if (nh == NH_NONE)
        end = off;

    memcpy(ip->src, src, 16);
    memcpy(ip->dst, dst, 16);
    uint32_t w0 = wire_get32(buf);
    ip->tclass = (uint8_t)(w0 >> 20);
    ip->flow = w0 & 0xfffff;
    ip->hlim = buf[7];
    ip->proto = nh;
    ip->nexthdrs = (uint8_t)n;
    ip->hdr_len = off;
    ip->payload = buf + off;
    ip->payload_len = end - off;
    return SF_DROP_NONE;
}

/* The 40-byte header of RFC 8200 3, no extension headers, next header
 * proto. */
void wire_ipv6_emit_hdr(uint8_t *p, const struct sf_ipv6 *ip, uint16_t plen,
                        uint8_t proto)
{
    /* Version 6, Traffic Class (RFC 8200 7: DSCP and the ECN field of
     * RFC 3168 in its low two bits, as IPv4's TOS byte), Flow Label. */
    wire_put32(p, (uint32_t)6 << 28 | (uint32_t)ip->tclass << 20 |
                      (ip->flow & 0xfffff));
    wire_put16(p + 4, plen);
    p[6] = proto;
    p[7] = ip->hlim ? ip->hlim : 64;
    memcpy(p + 8, ip->src, 16);
    memcpy(p + 24, ip->dst, 16);
}
