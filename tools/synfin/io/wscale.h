/* The window a segment offers in bytes, as its receiver reads it, for the
 * tools that show segments (the ladder, the sim's JSON trace): RFC 7323
 * window scaling learned from the SYNs seen so far.
 *
 * RFC 7323 2.2: a side's Window Scale option (on its SYN) gives the shift
 * it applies to every window it sends after its SYN; scaling is in effect
 * only if both sides' SYNs carried the option, and the window of a
 * segment with SYN set is never scaled. RFC 7323 2.3: a shift above 14 is
 * taken as 14. A connection whose SYNs were not seen (a capture that
 * starts later) shows the raw field. */
#ifndef SF_TOOLS_WSCALE_H
#define SF_TOOLS_WSCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/synfin.h"
#include "synfin/wire.h"

struct ws_side;

/* What the SYNs said, per endpoint (address and port). Zero-initialise;
 * ws_track_free releases it. */
struct ws_track {
    struct ws_side *v; /* open addressing; cap a power of two */
    size_t n, cap;
};

/* Notes the SYN (or SYN-ACK) t that src (its address, of either family;
 * the port is t's) sent: its Window Scale option or its absence. Other
 * segments are ignored. */
void ws_learn(struct ws_track *w, const struct sf_addr *src,
              const struct sf_tcp *t);
/* The window of t, sent from src to dst, in bytes: the field shifted by
 * src's shift if both sides offered the option and t has no SYN; else
 * the field. */
uint32_t ws_window(const struct ws_track *w, const struct sf_addr *src,
                   const struct sf_addr *dst, const struct sf_tcp *t);
void ws_track_free(struct ws_track *w);

#endif
