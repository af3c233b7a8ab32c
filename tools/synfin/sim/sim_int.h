/* synfin sim: what its files share. The parsed command line (options.c)
 * is read by the run of one scenario (run.c), the many-connections
 * scenario (many.c) and the soak (soak.c); one scenario's run is shared by
 * the applications (app.c), the scenarios (scenarios.c) and the trace sink
 * (trace.c). */
#ifndef SF_TOOLS_SIM_INT_H
#define SF_TOOLS_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "lab/lab.h"
#include "synfin/sim.h"

struct ladder;
struct pcapw;
struct jsonw;

struct sim_opts {
    uint64_t seed;
    bool seed_set;
    struct sf_link_cfg link;
    bool link_set;  /* an impairment option was given */
    sf_time_t msl;
    bool absolute, explain, zh, quiet, list, color;
    bool ladder;   /* bulk: draw the ladder too */
    bool one_way;  /* bulk: impair only client -> server */
    bool stats;    /* bulk: print every non-zero counter */
    uint64_t bytes; /* bulk: bytes each way */
    unsigned conns; /* many: connections */
    uint64_t soak;  /* --soak N seeds, 0: no soak */
    const char *scenario;
    const char *pcap, *svg, *json; /* output files, or NULL */
    int capture; /* -1: the wire (every datagram as sent); else a host */
    bool capture_set;
    unsigned ecn;  /* --ecn: the stacks' sf_stack_cfg.ecn, if ecn_set */
    bool ecn_set;
    unsigned pacing; /* --pacing: sf_stack_cfg.pacing, if pacing_set */
    bool pacing_set;
    bool ipv6; /* --ipv6: IPv6-only hosts, every connection over IPv6 */
    const char *html; /* --html FILE: the TCP lab page (tools/synfin/lab) */
    /* --drop N,.. --hold N:MS,.. --dup-dgram N,..: datagram number N */
    const char *drop, *hold, *dupd;
    uint32_t sndbuf, rcvbuf; /* --sndbuf/--rcvbuf: fixed sizes, 0: default */
    sf_time_t read_pause; /* --read-pause: the server reads nothing this long */
    bool read_pause_set;
    char **argv; /* the command line, for the page's re-runs */
    int argc;
    unsigned jobs; /* --jobs N: soak worker processes, 0 every core */
    bool jobs_set;
};

/* ------------------------------------------------- one scenario's run */

#define BODY_LEN 300
#define MAXH 2

enum role { R_NONE, R_CLIENT, R_SERVER, R_PEER, R_BULK };
enum close_mode { CM_NONE, CM_AFTER_RESPONSE, CM_SHUT_AFTER_REQUEST,
                  CM_ABORT_AFTER_RESPONSE };

/* One host's application: a tiny HTTP/1.0-like client or server. */
struct app {
    enum role role;
    enum close_mode cm;
    bool close_on_eof, stream_after_eof, respond;
    int lsd, sd;
    struct sf_addr remote;
    bool connected, req_sent, resp_sent, eof, closed;
    int err;         /* the error that ended connect or recv */
    size_t got;      /* bytes received */
    int streamed;    /* half-close: chunks sent after the peer's FIN */
    bool keepalive;  /* keepalive: 20 s idle, 5 s between probes, 3 */
    uint64_t sent;   /* bulk: bytes handed to sf_send */
    bool shut;       /* bulk: SHUT_WR done */
    uint64_t bad_at; /* bulk: first byte that differs, or UINT64_MAX */
    sf_time_t done_at; /* bulk: when the last byte arrived */
    bool recv_only;    /* zero-window: the server only reads */
    sf_time_t pause_until; /* --read-pause: no reading before this */
};

struct run {
    struct sim_opts o;
    const struct scenario *sc;
    struct sf_sim *sim;
    struct ladder *lad;
    int nh;
    struct app app[MAXH];
    char path[MAXH][512];
    enum sf_state last[MAXH];
    bool have_last[MAXH];
    bool filter_done, srv_fin_seen;
    struct pcapw *pcap;
    struct jsonw *json;
    uint64_t lost;
    uint64_t spoofed; /* datagrams to or from no host (syn-flood) */
    uint64_t bulk_n;  /* bulk: bytes each way */
    uint64_t cookies[MAXH][2]; /* SYN cookies sent and validated, seen */
    unsigned persist[MAXH]; /* persist timer expiries (zero-window probes) */
    /* The client's request, naming the server by its address. */
    char request[96];
    /* --html: the JSON kept in memory for the page */
    struct jsonw *html_json;
    char *html_buf;
    size_t html_len;
    /* --drop/--hold/--dup-dgram, and the scenario's own filter */
    struct lab_impair imp;
};

struct scenario {
    const char *name;
    const char *desc;
    const char *desc_zh; /* --lang zh */
    bool available;
    int nhosts;
    void (*setup)(struct run *r);
    const char *path[MAXH]; /* expected states, space separated */
    int (*check)(struct run *r);
    /* Optional: adjusts the network before the hosts exist; prints a
     * summary after the run; the ladder is drawn only with --ladder. */
    void (*tune)(struct run *r, struct sf_sim_cfg *cfg);
    void (*report)(struct run *r);
    bool summary_only;
};

static inline struct sf_stack *stk(struct run *r, int h)
{
    return sf_sim_host_stack(r->sim, h);
}

/* The address family of the run's hosts and connections. */
static inline int sim_family(const struct sim_opts *o)
{
    return o->ipv6 ? SF_AF_INET6 : SF_AF_INET;
}

/* Host h's address of the run's family, with port. */
static inline struct sf_addr host_addr(struct run *r, int h, uint16_t port)
{
    return sf_sim_host_ip(r->sim, h, sim_family(&r->o), port);
}

/* The unspecified address of the run's family (0.0.0.0 or ::), port. */
static inline struct sf_addr any_addr(const struct run *r, uint16_t port)
{
    struct sf_addr a = {.port = port, .family = (uint8_t)sim_family(&r->o)};
    return a;
}

/* A scenario's network filter (run before --drop and its kin). */
static inline void sim_set_filter(struct run *r, sf_sim_filter_fn fn)
{
    r->imp.inner = fn;
    r->imp.inner_ctx = r;
}

/* app.c */
size_t response_len(void);
void app_close(struct run *r, int h);
/* The sim's application hook: steps host h's application. */
void app_hook(void *ctx, struct sf_sim *sim, int h);
/* scenarios.c */
void bulk_step(struct run *r, int h);
const struct scenario *find_scenario(const char *name);
int list_scenarios(void);
/* trace.c: the sim's trace hook. */
void on_event(void *ctx, const struct sf_sim_event *ev);
/* The JSON's "tcp" fields: host h's connection local -> remote. */
int sim_tcp_info(void *ctx, int h, const struct sf_addr *local,
                 const struct sf_addr *remote, struct sf_tcp_info *out);

/* ------------------------------------------------------------ options.c */

/* options.c: reads the command line into o (defaults already there);
 * returns 0, OPT_HELP (-1) after the help, or 2 after a one-line message. */
int sim_parse_opts(struct sim_opts *o, int argc, char **argv);
/* "synfin sim: OPT: WHY[: VAL]" on stderr; returns 2. */
int sim_bad(bool zh, const char *opt, const char *why, const char *val);

/* `synfin sim many`: returns the exit status. */
int sim_many(const struct sim_opts *o);
/* `synfin sim --soak N`: returns the exit status. */
int sim_soak(const struct sim_opts *o);

#endif
