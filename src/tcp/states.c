/* The table of legal transitions: RFC 9293 Figure 5 plus the RST, ABORT
 * and timeout edges of 3.10. tcp_set_state() checks every state change
 * against it. (The states' and causes' names are in stack/names.c.) */
#include "synfin/synfin.h"

#include <stddef.h>

#define T(f, t, c, why) {SF_##f, SF_##t, SF_CAUSE_##c, why}
static const struct sf_transition transitions[] = {
    /* Figure 5, opening */
    T(CLOSED, LISTEN, OPEN_PASSIVE, "passive OPEN: create TCB"),
    T(CLOSED, SYN_SENT, OPEN_ACTIVE, "active OPEN: snd SYN"),
    T(LISTEN, CLOSED, CLOSE, "CLOSE: delete TCB"),
    T(LISTEN, SYN_RCVD, RCV_SYN, "rcv SYN: snd SYN,ACK (new child)"),
    T(SYN_SENT, ESTABLISHED, RCV_SYNACK, "rcv SYN,ACK: snd ACK"),
    T(SYN_SENT, SYN_RCVD, RCV_SYN, "rcv SYN (simultaneous open): snd SYN,ACK"),
    T(SYN_SENT, CLOSED, CLOSE, "CLOSE: delete TCB"),
    T(SYN_SENT, CLOSED, ABORT, "ABORT: delete TCB"),
    T(SYN_SENT, CLOSED, RCV_RST, "rcv RST,ACK: connection refused"),
    T(SYN_SENT, CLOSED, TIMEOUT_RETRANSMIT, "SYN retries exhausted"),
    T(SYN_RCVD, ESTABLISHED, RCV_ACK, "rcv ACK of SYN"),
    T(SYN_RCVD, FIN_WAIT_1, CLOSE, "CLOSE: snd FIN"),
    T(SYN_RCVD, LISTEN, RCV_RST, "rcv RST (passive open): back to LISTEN"),
    T(SYN_RCVD, LISTEN, RCV_SYN, "rcv new SYN (passive open): back to LISTEN"),
    T(SYN_RCVD, CLOSED, RCV_RST, "rcv RST (active open): connection refused"),
    T(SYN_RCVD, CLOSED, ABORT, "ABORT: snd RST"),
    T(SYN_RCVD, CLOSED, TIMEOUT_RETRANSMIT, "SYN,ACK retries exhausted"),
    T(SYN_RCVD, CLOSED, LISTENER_CLOSED, "listener closed: snd RST"),
    /* data transfer and closing */
    T(ESTABLISHED, FIN_WAIT_1, CLOSE, "CLOSE: snd FIN"),
    T(ESTABLISHED, CLOSE_WAIT, RCV_FIN, "rcv FIN: snd ACK"),
    T(ESTABLISHED, CLOSED, RCV_RST, "rcv RST: connection reset"),
    T(ESTABLISHED, CLOSED, ABORT, "ABORT: snd RST"),
    T(ESTABLISHED, CLOSED, TIMEOUT_RETRANSMIT, "R2 reached: connection timed out"),
    T(FIN_WAIT_1, FIN_WAIT_2, RCV_ACK_OF_FIN, "rcv ACK of FIN"),
    T(FIN_WAIT_1, CLOSING, RCV_FIN, "rcv FIN: snd ACK (simultaneous close)"),
    T(FIN_WAIT_1, TIME_WAIT, RCV_FIN_ACK, "rcv FIN with ACK of FIN: snd ACK"),
    T(FIN_WAIT_1, CLOSED, RCV_RST, "rcv RST: connection reset"),
    T(FIN_WAIT_1, CLOSED, ABORT, "ABORT: snd RST"),
    T(FIN_WAIT_1, CLOSED, TIMEOUT_RETRANSMIT, "FIN retries exhausted"),
    T(FIN_WAIT_2, TIME_WAIT, RCV_FIN, "rcv FIN: snd ACK"),
    T(FIN_WAIT_2, CLOSED, RCV_RST, "rcv RST: connection reset"),
    T(FIN_WAIT_2, CLOSED, ABORT, "ABORT: snd RST"),
    T(FIN_WAIT_2, CLOSED, TIMEOUT_FIN_WAIT_2, "orphaned FIN_WAIT_2 timed out"),
    T(CLOSE_WAIT, LAST_ACK, CLOSE, "CLOSE: snd FIN"),
    T(CLOSE_WAIT, CLOSED, RCV_RST, "rcv RST: connection reset"),
    T(CLOSE_WAIT, CLOSED, ABORT, "ABORT: snd RST"),
    T(CLOSE_WAIT, CLOSED, TIMEOUT_RETRANSMIT, "R2 reached: connection timed out"),
    T(CLOSING, TIME_WAIT, RCV_ACK_OF_FIN, "rcv ACK of FIN"),
    T(CLOSING, CLOSED, RCV_RST, "rcv RST"),
    T(CLOSING, CLOSED, ABORT, "ABORT: delete TCB"),
    T(CLOSING, CLOSED, TIMEOUT_RETRANSMIT, "FIN retries exhausted"),
    T(LAST_ACK, CLOSED, RCV_ACK_OF_FIN, "rcv ACK of FIN: delete TCB"),
    T(LAST_ACK, CLOSED, RCV_RST, "rcv RST"),
    T(LAST_ACK, CLOSED, ABORT, "ABORT: delete TCB"),
    T(LAST_ACK, CLOSED, TIMEOUT_RETRANSMIT, "FIN retries exhausted"),
    T(TIME_WAIT, CLOSED, TIMEOUT_TIME_WAIT, "2*MSL timeout: delete TCB"),
    T(TIME_WAIT, CLOSED, RCV_RST, "rcv RST"),
    T(TIME_WAIT, CLOSED, ABORT, "ABORT: delete TCB"),
    T(TIME_WAIT, CLOSED, NEW_INCARNATION, "rcv SYN beyond RCV.NXT: reopen"),
    T(ESTABLISHED, CLOSED, TIMEOUT_KEEPALIVE, "keepalive probes unanswered"),
    T(CLOSE_WAIT, CLOSED, TIMEOUT_KEEPALIVE, "keepalive probes unanswered"),
    T(FIN_WAIT_2, CLOSED, TIMEOUT_KEEPALIVE, "keepalive probes unanswered"),
    T(SYN_SENT, CLOSED, ICMP_ERROR, "ICMP hard error: open aborted"),
    T(SYN_RCVD, CLOSED, ICMP_ERROR, "ICMP hard error (active open): aborted"),
};
#undef T

size_t sf_transitions(const struct sf_transition **table)
{
    *table = transitions;
    return sizeof transitions / sizeof transitions[0];
}

int sf_transition_index(enum sf_state from, enum sf_state to,
                        enum sf_cause cause)
{
    for (size_t i = 0; i < sizeof transitions / sizeof transitions[0]; i++)
        if (transitions[i].from == from && transitions[i].to == to &&
            transitions[i].cause == cause)
            return (int)i;
    return -1;
}
