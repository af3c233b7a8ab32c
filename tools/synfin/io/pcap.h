/* Captures: writing the simulated wire to a pcap file, and reading IPv4
 * and IPv6 datagrams back out of pcap or pcapng files, both through
 * libpcap. Built
 * without libpcap (SF_HAVE_PCAP unset), every open fails with a message
 * saying so. */
#ifndef SF_TOOLS_PCAP_H
#define SF_TOOLS_PCAP_H

#include <stddef.h>
#include <stdint.h>

#include "synfin/synfin.h"

struct pcapw;
struct pcapr;

/* Opens path for writing raw IP (LINKTYPE_RAW: IPv4 and IPv6 alike, told
 * apart by the version nibble) with nanosecond timestamps. On failure returns NULL with a one-line reason in err. */
struct pcapw *pcapw_open(const char *path, char *err, size_t errlen);
/* Records one datagram at virtual time t (nanoseconds since the epoch of
 * the capture, which for the sim is time 0). */
void pcapw_write(struct pcapw *w, sf_time_t t, const uint8_t *d, size_t len);
/* Flushes and closes; returns 0, or -1 if a write failed. */
int pcapw_close(struct pcapw *w);

/* Opens a pcap or pcapng capture of raw IP, Ethernet (with VLAN tags),
 * Linux cooked (SLL, SLL2) or BSD loopback frames. NULL and a one-line
 * reason in err if it is not a capture or the link type is unknown. */
struct pcapr *pcapr_open(const char *path, char *err, size_t errlen);

struct pcap_pkt {
    sf_time_t t;        /* capture time, nanoseconds */
    const uint8_t *ip;  /* the IPv4 or IPv6 datagram (may be cut short by
                         * snaplen) */
    size_t len;         /* captured bytes of it */
    size_t wire_len;    /* its length on the wire */
    unsigned long frame; /* 1-based frame number in the file */
};

/* The next IP datagram (version 4 or 6); frames of other protocols are
 * skipped. Returns
 * 1, 0 at the end of the file, or -1 with a one-line reason in err (a
 * truncated file, a read error). */
int pcapr_next(struct pcapr *r, struct pcap_pkt *p, char *err, size_t errlen);
/* Frames read so far and how many of them were not IP. */
unsigned long pcapr_frames(const struct pcapr *r);
unsigned long pcapr_skipped(const struct pcapr *r);
void pcapr_close(struct pcapr *r);

#endif
