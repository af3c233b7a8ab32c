/* The ladder diagram: one lifeline per host, one arrow per segment, each
 * side's state changes, timers and drops, with the virtual time in the left
 * margin. Events are added as they happen and drawn at the end, so the
 * columns fit the widest label. Used by `synfin sim` and `synfin ladder
 * FILE.pcap`: it needs only datagrams and times. The model is model.c (its
 * text in text.c); term.c and svg.c draw its ladder_view. A segment's
 * win= is its window in bytes: after the handshake, the field shifted by
 * the sender's RFC 7323 window scale once both SYNs offered one
 * (io/wscale.h, learned from the SYNs drawn). */
#ifndef SF_TOOLS_LADDER_H
#define SF_TOOLS_LADDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "synfin/sim.h"
#include "synfin/synfin.h"

struct ladder_opts {
    bool color;    /* ANSI colours */
    bool absolute; /* real sequence numbers, not relative to each ISN */
    bool explain;  /* a line of teaching text under each new kind of step */
    bool zh;       /* explanations in Chinese */
    sf_time_t msl; /* for the TIME_WAIT explanation */
};

/* Segment flags for ladder_segment. */
#define LADDER_DUP 0x01
#define LADDER_REORDERED 0x02
#define LADDER_CORRUPTED 0x04
#define LADDER_OLD 0x08 /* an old duplicate staged by the scenario */
#define LADDER_CAPTURED 0x10 /* from a capture: the arrival time is unknown */

enum ladder_row_kind { ROW_SEG, ROW_STATE, ROW_DROP, ROW_TIMER, ROW_NOTE };

/* One line of the diagram, in the order added (chronological). */
struct ladder_row {
    enum ladder_row_kind kind;
    sf_time_t t;
    int col, to;         /* to: SEG only */
    unsigned flags;      /* SEG: LADDER_* */
    bool lost;
    sf_time_t arrive;    /* SEG, not lost and not LADDER_CAPTURED */
    enum sf_state from;  /* STATE: the state left */
    enum sf_state state; /* STATE: the new state */
    char text[160];      /* the label */
    char note[96];       /* right margin */
    char why[480];       /* explanation, or empty */
};

/* Everything drawn, for the renderers (term.c, svg.c). Valid until the next
 * ladder_* call. */
struct ladder_view {
    const char *title;
    int ncols;
    const char *name[2];
    struct sf_addr ip[2]; /* either family; the port is port[] */
    uint16_t port[2];
    const struct ladder_row *rows;
    size_t n;
    bool color; /* the ladder_opts' */
    bool zh;    /* the ladder_opts': headings in Chinese */
};

struct ladder;

struct ladder *ladder_new(const struct ladder_opts *o);
void ladder_free(struct ladder *l);
/* A title line printed above the diagram. */
void ladder_title(struct ladder *l, const char *title);
/* Adds a lifeline (at most 2: the diagram is drawn between two hosts, or
 * around one for a host talking to itself) headed by its name and address
 * (either family; the port is learnt from the segments). Returns its
 * number or -1. */
int ladder_column(struct ladder *l, const char *name,
                  const struct sf_addr *ip);

/* A datagram sent at `sent` from column `from` to column `to`. lost is
 * NULL if it arrives at `arrive`, otherwise why it does not. */
void ladder_segment(struct ladder *l, sf_time_t sent, int from, int to,
                    const uint8_t *dgram, size_t len, sf_time_t arrive,
                    const char *lost, unsigned flags);
void ladder_state(struct ladder *l, sf_time_t t, int col, enum sf_state from,
                  enum sf_state to, enum sf_cause cause);
void ladder_drop(struct ladder *l, sf_time_t t, int col, enum sf_drop why);
void ladder_timer(struct ladder *l, sf_time_t t, int col,
                  enum sf_timer_kind k);
void ladder_note(struct ladder *l, sf_time_t t, int col, const char *text);

void ladder_get_view(const struct ladder *l, struct ladder_view *v);
/* Column c's address as both renderers head it: RFC 5952 text, and with
 * a port, IPv6 in brackets (RFC 3986). buf: SF_ADDR_STRLEN bytes. */
void ladder_col_addr(const struct ladder_view *v, int c, char *buf, size_t n);

/* Why the simulated network lost a datagram, in Chinese when zh (for
 * ladder_segment's lost). */
const char *ladder_sim_drop_word(enum sf_sim_drop d, bool zh);

/* Draws everything added so far on a terminal (term.c). */
void ladder_print(struct ladder *l, FILE *f);

#endif
