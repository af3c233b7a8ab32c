/* synfin sim: the parsed command line, shared by the ladder scenarios
 * (sim.c), the many-connections scenario (many.c) and the soak
 * (soak.c). */
#ifndef SF_TOOLS_SIM_INT_H
#define SF_TOOLS_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "synfin/sim.h"

struct sim_opts {
    uint64_t seed;
    bool seed_set;
    struct sf_sim_link_cfg link;
    bool link_set;  /* an impairment option was given */
    sf_time_t msl;
    bool absolute, explain, zh, quiet, list, color;
    bool ladder;   /* bulk: draw the ladder too */
    bool one_way;  /* bulk: impair only client -> server */
    uint64_t bytes; /* bulk: bytes each way */
    unsigned conns; /* many: connections */
    uint64_t soak;  /* --soak N seeds, 0: no soak */
    const char *scenario;
    const char *pcap, *svg, *json; /* output files, or NULL */
    int capture; /* -1: the wire (every datagram as sent); else a host */
    bool capture_set;
};

/* options.c: reads the command line into o (defaults already there);
 * returns 0, OPT_HELP (-1) after the help, or 2 after a one-line message. */
int sim_parse_opts(struct sim_opts *o, int argc, char **argv);
/* "synfin sim: OPT: WHY[: VAL]" on stderr; returns 2. */
int sim_bad(const char *opt, const char *why, const char *val);

/* `synfin sim many`: returns the exit status. */
int sim_many(const struct sim_opts *o);
/* `synfin sim --soak N`: returns the exit status. */
int sim_soak(const struct sim_opts *o);

#endif
