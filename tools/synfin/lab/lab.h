/* The TCP lab (docs/lab.md): one self-contained HTML page that plays a
 * run's events (the JSON of io/json.c) and, with the WebAssembly build of
 * the simulator embedded, runs the scenario again after the student
 * changes it. Also the per-datagram impairments the page asks for
 * (--drop, --hold, --dup-dgram of synfin sim). */
#ifndef SF_TOOLS_LAB_H
#define SF_TOOLS_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/sim.h"

/* Writes the page to path: the title, the run's JSON (json, n bytes, the
 * text --json writes) and the scenario's command line (args, shown and
 * used as the starting point of a re-run; may be NULL). Returns 0, or -1
 * with a one-line reason in err. */
int lab_html_write(const char *path, const char *title, const char *json,
                   size_t n, const char *args, char *err, size_t errlen);

/* The events' JSON text (an array) packed as the page carries it
 * (pack.c): a malloc()ed buffer and its size, or NULL (not a JSON array
 * of values, or out of memory) with the byte where reading stopped. */
unsigned char *lab_pack(const char *json, size_t n, size_t *out_n, size_t *bad_at);

/* ----------------------------------------------- datagram impairments */

#define LAB_MAX_PICKS 64

/* What to do to datagram number n (1-based, in the order the hosts send
 * them; the same numbers as the JSON's "dgram"). */
struct lab_pick {
    uint64_t n;
    enum { LAB_DROP, LAB_HOLD, LAB_DUP } what;
    sf_time_t hold; /* LAB_HOLD: extra delay */
};

struct lab_impair {
    struct lab_pick pick[LAB_MAX_PICKS];
    int npicks;
    uint64_t count; /* datagrams seen so far */
    bool injecting; /* a --dup-dgram copy is being sent */
    /* the scenario's own filter, run first */
    sf_sim_filter_fn inner;
    void *inner_ctx;
};

/* Parses "N[,N...]" (what LAB_DROP or LAB_DUP) or "N:MS[,N:MS...]"
 * (LAB_HOLD) into li; returns 0 or -1 (bad number, too many). */
int lab_impair_parse(struct lab_impair *li, const char *spec, int what);
/* Whether ev is the sending of a --dup-dgram copy (the trace then shows
 * it as a duplicate of its datagram, SF_SIM_F_DUP, not as injected). */
bool lab_is_dup_copy(const struct lab_impair *li,
                     const struct sf_sim_event *ev);
/* Installs the filter on sim (calling inner first, if set). */
void lab_impair_install(struct lab_impair *li, struct sf_sim *sim);

#endif
