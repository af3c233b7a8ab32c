/* synfin sim: the command line (the table of options, read by opt.c). */
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "sim/sim_int.h"

int sim_bad(const char *opt, const char *why, const char *val)
{
    fprintf(stderr, "synfin sim: %s: %s%s%s\n", opt, why, val ? ": " : "",
            val ? val : "");
    return 2;
}

/* A non-negative decimal number (with k/M/G where the row allows), then
 * the row's own range. */
static int sim_num(void *base, const struct opt *o, const char *v,
                   const char *prog)
{
    double d;
    (void)prog;
    if (opt_number(o, v, &d) || !(d >= 0.0) || d > 1e15) {
        sim_bad(o->name, "must be a non-negative number", v);
        return OPT_FAIL;
    }
    if (!opt_in_range(o, d))
        return OPT_BAD;
    opt_store_num(base, o, d);
    return 0;
}

static void sim_report(const struct opt_err *e)
{
    if (e->kind == OPT_E_BAD)
        sim_bad(e->name, e->o->why, e->value);
    else
        sim_bad(e->name, e->kind == OPT_E_UNKNOWN && e->had_value
                             ? "unknown option" : "unknown option or missing value",
                NULL);
}

static int sim_positional(void *ctx, const char *a)
{
    struct sim_opts *o = ctx;
    if (o->scenario) {
        sim_bad(a, "a second scenario name (one at a time)", NULL);
        return OPT_FAIL;
    }
    o->scenario = a;
    return 0;
}

#define OFF(field) offsetof(struct sim_opts, field)
#define FLAG(nm, field, v, h) \
    {.name = nm, .kind = OPT_FLAG, .off = OFF(field), .as = OPT_AS_BOOL, .val = v, .help = h}
/* An impairment: also sets link_set. */
#define RATE(nm, field, u, h)                                                  \
    {.name = nm, .kind = OPT_NUM, .off = OFF(link.field), .as = OPT_AS_DOUBLE, \
     .lo = 0, .hi = 1, .flags = OPT_F_SETS, .set_off = OFF(link_set),          \
     .why = "rate must be a number in 0..1", .usage = u, .help = h}
#define FILE_OPT(nm, field, h)                                                 \
    {.name = nm, .kind = OPT_STR, .off = OFF(field), .flags = OPT_F_NONEMPTY, \
     .why = "needs a file name", .arg = "FILE", .help = h}

static const char *const capture_at[] = {"wire", "client", "server", NULL};
static const int capture_host[] = {-1, 0, 1};
static const char *const langs[] = {"en", "zh", NULL};

static const struct opt sim_opts_table[] = {
    {.name = "--scenario", .kind = OPT_STR, .off = OFF(scenario), .arg = "NAME",
     .help = "scenario to run (default lifecycle; --list)"},
    {.name = "--seed", .kind = OPT_INT, .off = OFF(seed), .as = OPT_AS_U64,
     .flags = OPT_F_SETS, .set_off = OFF(seed_set),
     .why = "must be a non-negative integer", .arg = "N",
     .help = "PRNG seed (default 1)"},
    RATE("--loss", loss, "--loss P --dup P --reorder P --corrupt P",
         "  rates in 0..1"),
    RATE("--dup", dup, NULL, NULL),
    RATE("--reorder", reorder, NULL, NULL),
    RATE("--corrupt", corrupt, NULL, NULL),
    {.name = "--delay", .kind = OPT_FN, .fn = sim_num, .off = OFF(link.delay),
     .as = OPT_AS_U64, .lo = 0, .hi = 1e15, .scale = (double)SF_MSEC,
     .arg = "MS", .help = "one-way delay (default 10)"},
    {.name = "--jitter", .kind = OPT_FN, .fn = sim_num, .off = OFF(link.jitter),
     .as = OPT_AS_U64, .lo = 0, .hi = 1e15, .scale = (double)SF_MSEC,
     .flags = OPT_F_SETS, .set_off = OFF(link_set),
     .arg = "MS", .help = "extra uniform delay"},
    {.name = "--bandwidth", .kind = OPT_FN, .fn = sim_num, .off = OFF(link.bandwidth),
     .as = OPT_AS_U64, .lo = 0, .hi = 1e15,
     .flags = OPT_F_SUFFIX | OPT_F_SETS, .set_off = OFF(link_set),
     .arg = "BPS", .help = "link rate, e.g. 10M (default unlimited)"},
    /* RFC 791 lets a link carry as little as 68 bytes, but a segment
     * needs 40 bytes of IPv4 and TCP headers plus the core's smallest
     * MSS, 64 (sf_stack_cfg_check): below 104 no data could cross. Over
     * IPv6 (--ipv6) the same MTU takes MSS - 20 (RFC 8200's 40-byte
     * header), 44 at 104: RFC 8200 5's 1280 is not enforced, to test
     * small segments. */
    {.name = "--mtu", .kind = OPT_FN, .fn = sim_num, .off = OFF(link.mtu),
     .as = OPT_AS_U32, .lo = 104, .hi = 65535, .flags = OPT_F_WHOLE,
     .why = "MTU must be an integer in 104..65535 (40 bytes of "
            "headers plus the 64-byte minimum MSS)",
     .arg = "N", .help = "link MTU, 104..65535 (default 1500)"},
    {.name = "--queue", .kind = OPT_FN, .fn = sim_num, .off = OFF(link.queue_bytes),
     .as = OPT_AS_U32, .lo = 0, .hi = 4294967295.0,
     .flags = OPT_F_SUFFIX | OPT_F_WHOLE | OPT_F_SETS, .set_off = OFF(link_set),
     .why = "must be a whole number of bytes below 4G",
     .arg = "BYTES", .help = "link FIFO limit before tail drop, e.g. 30k\n"
                             "(default 0: unlimited; needs --bandwidth)"},
    /* RFC 3168: the link marks ECT datagrams CE above this backlog. */
    {.name = "--ce-threshold", .kind = OPT_FN, .fn = sim_num,
     .off = OFF(link.ce_threshold), .as = OPT_AS_U32, .lo = 1,
     .hi = 4294967295.0, .flags = OPT_F_SUFFIX | OPT_F_WHOLE | OPT_F_SETS,
     .set_off = OFF(link_set),
     .why = "must be a whole number of bytes in 1..4G",
     .arg = "BYTES", .help = "mark ECN-capable datagrams CE (RFC 3168) when\n"
                             "more than BYTES are queued ahead of them,\n"
                             "e.g. 10k (needs --bandwidth; default off)"},
    {.name = "--ecn", .kind = OPT_INT, .off = OFF(ecn), .as = OPT_AS_UINT,
     .min = 0, .max = 2, .flags = OPT_F_SETS, .set_off = OFF(ecn_set),
     .why = "must be 0 (off), 1 (ask and accept) or 2 (accept when asked)",
     .arg = "0|1|2", .help = "the stacks' RFC 3168 ECN setting (default 2;\n"
                             "1 to have the client ask for it)"},
    {.name = "--pacing", .kind = OPT_INT, .off = OFF(pacing),
     .as = OPT_AS_UINT, .min = 0, .max = 1, .flags = OPT_F_SETS,
     .set_off = OFF(pacing_set), .why = "must be 0 (off) or 1 (on)",
     .arg = "0|1", .help = "the stacks' sender pacing (default 1)"},
    {.name = "--msl", .kind = OPT_FN, .fn = sim_num, .off = OFF(msl),
     .as = OPT_AS_U64, .lo = 0, .hi = 86400, .scale = (double)SF_SEC,
     .flags = OPT_F_LO_OPEN, .why = "must be in (0, 86400] seconds",
     .arg = "SECONDS", .help = "maximum segment lifetime (default 30)"},
    FLAG("--absolute", absolute, 1, "real sequence numbers"),
    FLAG("--explain", explain, 1, "say why at each new kind of step"),
    {.name = "--lang", .kind = OPT_ENUM, .off = OFF(zh), .as = OPT_AS_BOOL,
     .choices = langs, .why = "language must be en or zh", .arg = "en|zh",
     .help = "language of --explain"},
    FILE_OPT("--pcap", pcap, "write the capture (libpcap, raw IP, ns times)"),
    FLAG("--ipv6", ipv6, 1, "IPv6-only hosts (fd00::1, ::2, ...): the\n"
                            "scenario, many or bulk over IPv6"),
    {.name = "--capture", .kind = OPT_ENUM, .off = OFF(capture), .as = OPT_AS_INT,
     .choices = capture_at, .vals = capture_host, .flags = OPT_F_SETS,
     .set_off = OFF(capture_set), .why = "must be wire, client or server",
     .arg = "AT",
     .help = "where --pcap listens: wire (default: every\n"
             "datagram once, as it leaves its sender, lost\n"
             "ones included), client or server (what that\n"
             "host sends, and what reaches it, as delivered:\n"
             "duplicates twice, corrupted copies corrupted)"},
    FILE_OPT("--svg", svg, "write the ladder as a standalone SVG"),
    FILE_OPT("--json", json, "write the event trace as JSON ('-': stdout)"),
    FLAG("--quiet", quiet, 1, "summary only"),
    FLAG("--no-color", color, 0, "no ANSI colours"),
    FLAG("--color", color, 1, NULL),
    FLAG("--list", list, 1, "list the scenarios"),
    {.name = "--bytes", .kind = OPT_FN, .fn = sim_num, .off = OFF(bytes),
     .as = OPT_AS_U64, .lo = 1, .hi = 1e10, .flags = OPT_F_SUFFIX | OPT_F_WHOLE,
     .why = "must be a whole number of bytes in 1..10G",
     .arg = "N", .help = "bulk: bytes each way, e.g. 4M (default 1M)"},
    FLAG("--one-way", one_way, 1, "bulk: impair only the client -> server way"),
    FLAG("--ladder", ladder, 1, "bulk: draw the ladder too (long)"),
    FLAG("--stats", stats, 1, "bulk: every non-zero counter of each stack"),
    {.name = "--conns", .kind = OPT_INT, .off = OFF(conns), .as = OPT_AS_UINT,
     .min = 1, .max = 1000000, .why = "must be a positive integer (not too large)",
     .arg = "N", .help = "many: connections (default 2000)"},
    {.name = "--soak", .kind = OPT_INT, .off = OFF(soak), .as = OPT_AS_U64,
     .min = 1, .max = 100000000, .why = "must be a positive integer (not too large)",
     .arg = "N", .help = "run N random seeds from --seed, checking\n"
                         "invariants after every event"},
    FILE_OPT("--html", html, "write the TCP lab: one self-contained web\n"
                             "page that steps and plots the run (docs/lab.md)"),
    {.name = "--drop", .kind = OPT_STR, .off = OFF(drop), .flags = OPT_F_NONEMPTY,
     .why = "needs datagram numbers", .arg = "N[,N..]",
     .help = "drop datagram number N (1-based, as sent: the\n"
             "JSON's \"dgram\")"},
    {.name = "--hold", .kind = OPT_STR, .off = OFF(hold), .flags = OPT_F_NONEMPTY,
     .why = "needs N:MS", .arg = "N:MS[,..]",
     .help = "hold datagram number N back MS milliseconds"},
    {.name = "--sndbuf", .kind = OPT_FN, .fn = sim_num, .off = OFF(sndbuf),
     .as = OPT_AS_U32, .lo = 1, .hi = (double)SF_BUF_MAX,
     .flags = OPT_F_SUFFIX | OPT_F_WHOLE,
     .why = "must be a whole number of bytes in 1..256M (SF_BUF_MAX)",
     .arg = "BYTES", .help = "both stacks' send buffer, fixed (no autotuning)"},
    {.name = "--rcvbuf", .kind = OPT_FN, .fn = sim_num, .off = OFF(rcvbuf),
     .as = OPT_AS_U32, .lo = 1, .hi = (double)SF_BUF_MAX,
     .flags = OPT_F_SUFFIX | OPT_F_WHOLE,
     .why = "must be a whole number of bytes in 1..256M (SF_BUF_MAX)",
     .arg = "BYTES", .help = "both stacks' receive buffer, fixed (no\n"
                             "autotuning): the window they can offer"},
    {.name = "--read-pause", .kind = OPT_FN, .fn = sim_num, .off = OFF(read_pause),
     .as = OPT_AS_U64, .lo = 0, .hi = 600000, .scale = (double)SF_MSEC,
     .flags = OPT_F_SETS, .set_off = OFF(read_pause_set),
     .why = "must be in 0..600000 milliseconds", .arg = "MS",
     .help = "bulk, zero-window: the server's application reads\n"
             "nothing for MS ms once connected (zero-window:\n"
             "default 2000), so its window can close"},
    {.name = "--dup-dgram", .kind = OPT_STR, .off = OFF(dupd),
     .flags = OPT_F_NONEMPTY, .why = "needs datagram numbers", .arg = "N[,N..]",
     .help = "send datagram number N twice"},
    {.name = "--jobs", .kind = OPT_INT, .off = OFF(jobs), .as = OPT_AS_UINT,
     .min = 0, .max = 1024, .flags = OPT_F_SETS, .set_off = OFF(jobs_set),
     .why = "must be 0 (every core) to 1024", .arg = "N",
     .help = "soak: N worker processes over the seeds (0:\n"
             "every core); the output is merged in seed order"},
    {.kind = OPT_END},
};

int sim_parse_opts(struct sim_opts *o, int argc, char **argv)
{
    struct opt_group g = {sim_opts_table, o, sim_report};
    struct opt_cmd c = {.prog = "synfin sim",
                        .usage = "usage: synfin sim [SCENARIO] [options]\n",
                        .groups = &g, .ngroups = 1, .flags = OPT_C_EQUALS,
                        .positional = sim_positional, .ctx = o};
    int rc = opt_parse(&c, argc, argv);
    if (rc)
        return rc;
    struct lab_impair li = {0};
    if (o->drop && lab_impair_parse(&li, o->drop, LAB_DROP))
        return sim_bad("--drop", "must be datagram numbers 1..1e9, comma "
                       "separated (at most 64 in all)", o->drop);
    if (o->hold && lab_impair_parse(&li, o->hold, LAB_HOLD))
        return sim_bad("--hold", "must be N:MS pairs (N in 1..1e9, MS in "
                       "0..600000), comma separated", o->hold);
    if (o->dupd && lab_impair_parse(&li, o->dupd, LAB_DUP))
        return sim_bad("--dup-dgram", "must be datagram numbers 1..1e9, comma "
                       "separated (at most 64 in all)", o->dupd);
    if (o->jobs_set && !o->soak)
        return sim_bad("--jobs", "needs --soak N", NULL);
    if (o->quiet && o->explain)
        return sim_bad("--explain", "conflicts with --quiet", NULL);
    if (o->capture_set && !o->pcap)
        return sim_bad("--capture", "needs --pcap FILE", NULL);
    if (o->link.ce_threshold && !o->link.bandwidth)
        return sim_bad("--ce-threshold", "needs --bandwidth (without a link "
                       "rate nothing is ever queued, so nothing is marked)", NULL);
    if (o->link.queue_bytes && !o->link.bandwidth)
        return sim_bad("--queue", "needs --bandwidth (without a link rate "
                       "nothing is ever queued)", NULL);
    if (o->link.ce_threshold && o->link.queue_bytes &&
        o->link.ce_threshold >= o->link.queue_bytes)
        return sim_bad("--ce-threshold", "must be below --queue (the queue "
                       "would tail-drop before it marked)", NULL);
    return 0;
}
