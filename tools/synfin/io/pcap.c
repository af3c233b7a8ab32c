/* Captures through libpcap (see pcap.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pcap.h"

#ifdef SF_HAVE_PCAP
#include <pcap/pcap.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

struct pcapw {
    pcap_t *p;
    pcap_dumper_t *d;
};

struct pcapw *pcapw_open(const char *path, char *err, size_t errlen)
{
    struct pcapw *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* LINKTYPE_RAW: each record is an IP datagram, IPv4 or IPv6 by its
     * version nibble, which is what the simulated links carry.
     * Nanoseconds keep the virtual clock exact. */
    w->p = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535,
                                                PCAP_TSTAMP_PRECISION_NANO);
    if (w->p)
        w->d = pcap_dump_open(w->p, path);
    if (!w->d) {
        snprintf(err, errlen, "%s: %s", path,
                 w->p ? pcap_geterr(w->p) : "cannot create a pcap handle");
        if (w->p)
            pcap_close(w->p);
        free(w);
        return NULL;
    }
    return w;
}

void pcapw_write(struct pcapw *w, sf_time_t t, const uint8_t *d, size_t len)
{
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)(len > 65535 ? 65535 : len),
                            .len = (bpf_u_int32)len};
    h.ts.tv_sec = (time_t)(t / SF_SEC);
    /* With nanosecond precision the tv_usec field carries nanoseconds. */
    h.ts.tv_usec = (suseconds_t)(t % SF_SEC);
    pcap_dump((u_char *)w->d, &h, d);
}

int pcapw_close(struct pcapw *w)
{
    if (!w)
        return 0;
    int rc = pcap_dump_flush(w->d);
    pcap_dump_close(w->d);
    pcap_close(w->p);
    free(w);
    return rc ? -1 : 0;
}

struct pcapr {
    pcap_t *p;
    int dlt;
    unsigned long frames, skipped;
};

static bool dlt_known(int dlt)
{
    return dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6 ||
           dlt == DLT_EN10MB ||
           dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 || dlt == DLT_NULL ||
           dlt == DLT_LOOP;
}

struct pcapr *pcapr_open(const char *path, char *err, size_t errlen)
{
    char e[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(
        path, PCAP_TSTAMP_PRECISION_NANO, e);
    if (!p) {
        snprintf(err, errlen, "%s: not a pcap or pcapng capture (%s)", path, e);
        return NULL;
    }
    int dlt = pcap_datalink(p);
    if (!dlt_known(dlt)) {
        const char *n = pcap_datalink_val_to_name(dlt);
        snprintf(err, errlen, "%s: link type %d (%s) is not supported: use raw "
                 "IP, Ethernet, Linux cooked or loopback captures", path, dlt,
                 n ? n : "unknown");
        pcap_close(p);
        return NULL;
    }
    struct pcapr *r = calloc(1, sizeof *r);
    if (!r) {
        pcap_close(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->p = p;
    r->dlt = dlt;
    return r;
}

static unsigned be16(const uint8_t *b)
{
    return (unsigned)b[0] << 8 | b[1];
}

/* An IP EtherType: IPv4 0x0800, IPv6 0x86DD (RFC 2464 3). */
static bool ip_ethertype(unsigned t)
{
    return t == 0x0800 || t == 0x86DD;
}

/* A BSD loopback family: AF_INET is 2 everywhere; AF_INET6 is 24
 * (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS), as libpcap's
 * LINKTYPE_NULL notes (10, Linux's, never appears in these). */
static bool ip_family(unsigned af)
{
    return af == 2 || af == 24 || af == 28 || af == 30;
}

/* Offset of the IP header (either version) in a frame of link type dlt,
 * or -1 if the frame carries something else. */
static long ip_offset(int dlt, const uint8_t *f, size_t n)
{
    if (dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6)
        return n >= 1 && (f[0] >> 4 == 4 || f[0] >> 4 == 6) ? 0 : -1;
    if (dlt == DLT_NULL || dlt == DLT_LOOP) {
        /* A 4-byte address family in the writer's byte order. */
        if (n < 4)
            return -1;
        return (ip_family(f[0]) && !f[1] && !f[2] && !f[3]) ||
                       (ip_family(f[3]) && !f[0] && !f[1] && !f[2])
                   ? 4 : -1;
    }
    if (dlt == DLT_LINUX_SLL)
        return n >= 16 && ip_ethertype(be16(f + 14)) ? 16 : -1;
    if (dlt == DLT_LINUX_SLL2)
        return n >= 20 && ip_ethertype(be16(f)) ? 20 : -1;
    /* Ethernet, skipping 802.1Q / 802.1ad tags. */
    size_t off = 12;
    while (off + 2 <= n && (be16(f + off) == 0x8100 || be16(f + off) == 0x88a8))
        off += 4;
    return off + 2 <= n && ip_ethertype(be16(f + off)) ? (long)off + 2 : -1;
}

int pcapr_next(struct pcapr *r, struct pcap_pkt *p, char *err, size_t errlen)
{
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *f;
        int rc = pcap_next_ex(r->p, &h, &f);
        if (rc == PCAP_ERROR_BREAK)
            return 0;
        if (rc != 1) {
            snprintf(err, errlen, "frame %lu: %s", r->frames + 1,
                     rc == PCAP_ERROR ? pcap_geterr(r->p) : "read error");
            return -1;
        }
        r->frames++;
        long off = ip_offset(r->dlt, f, h->caplen);
        if (off < 0 || (size_t)off >= h->caplen ||
            (f[off] >> 4 != 4 && f[off] >> 4 != 6)) {
            r->skipped++;
            continue;
        }
        p->t = (sf_time_t)h->ts.tv_sec * SF_SEC + (sf_time_t)h->ts.tv_usec;
        p->ip = f + off;
        p->len = h->caplen - (size_t)off;
        p->wire_len = h->len > (size_t)off ? h->len - (size_t)off : 0;
        p->frame = r->frames;
        return 1;
    }
}

unsigned long pcapr_frames(const struct pcapr *r)
{
    return r->frames;
}

unsigned long pcapr_skipped(const struct pcapr *r)
{
    return r->skipped;
}

void pcapr_close(struct pcapr *r)
{
    if (!r)
        return;
    pcap_close(r->p);
    free(r);
}

#else /* no libpcap */

#define NO_PCAP "synfin was built without libpcap: install libpcap-dev " \
                "(scripts/deps.sh) and rebuild"

struct pcapw *pcapw_open(const char *path, char *err, size_t errlen)
{
    (void)path;
    snprintf(err, errlen, NO_PCAP);
    return NULL;
}

void pcapw_write(struct pcapw *w, sf_time_t t, const uint8_t *d, size_t len)
{
    (void)w, (void)t, (void)d, (void)len;
}

int pcapw_close(struct pcapw *w)
{
    (void)w;
    return 0;
}

struct pcapr *pcapr_open(const char *path, char *err, size_t errlen)
{
    (void)path;
    snprintf(err, errlen, NO_PCAP);
    return NULL;
}

int pcapr_next(struct pcapr *r, struct pcap_pkt *p, char *err, size_t errlen)
{
    (void)r, (void)p, (void)err, (void)errlen;
    return 0;
}

unsigned long pcapr_frames(const struct pcapr *r)
{
    (void)r;
    return 0;
}

unsigned long pcapr_skipped(const struct pcapr *r)
{
    (void)r;
    return 0;
}

void pcapr_close(struct pcapr *r)
{
    (void)r;
}
#endif
