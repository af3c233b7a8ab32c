/* Infers both sides' TCP states from the segments of one connection seen
 * at one capture point (RFC 9293 Figure 5 read backwards): what a side
 * sends tells what it did (SYN: SYN_SENT, FIN: FIN_WAIT_1 or LAST_ACK),
 * what it is sent tells what it learnt (SYN,ACK: ESTABLISHED; the ACK of
 * its FIN: FIN_WAIT_2, TIME_WAIT or CLOSED). TIME_WAIT's end is never on
 * the wire, so that side stays in TIME_WAIT. */
#ifndef SF_TOOLS_INFER_H
#define SF_TOOLS_INFER_H

#include <stdbool.h>
#include <stdint.h>

#include "synfin/synfin.h"
#include "synfin/wire.h"

struct infer_side {
    enum sf_state st;
    bool has_iss, fin_sent, fin_seen, passive;
    bool fin_pending, fin_acked; /* the peer's FIN seen, not yet ACKed */
    uint32_t iss, fin_seq; /* fin_seq: the sequence number of its FIN */
    uint32_t peer_fin_seq;
};

typedef void (*infer_fn)(void *ctx, int side, enum sf_state from,
                         enum sf_state to, enum sf_cause cause);

struct infer {
    struct infer_side s[2];
    bool self; /* one socket connected to itself: one side */
    infer_fn fn;
    void *ctx;
};

/* Side 0 starts CLOSED; side 1 LISTEN if passive, else CLOSED. */
void infer_init(struct infer *in, bool passive, infer_fn fn, void *ctx);
/* What sending t tells about side `from`: call before drawing t. */
void infer_send(struct infer *in, int from, const struct sf_tcp *t);
/* What receiving t does to the other side: call after drawing t. */
void infer_recv(struct infer *in, int from, const struct sf_tcp *t);

#endif
