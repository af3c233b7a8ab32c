/* synfin bench: in-memory benchmarks of synfin against the Linux kernel
 * (loopback in a fresh network namespace) and lwIP (in memory). Rounds are
 * interleaved (synfin, Linux, lwIP, synfin, ...) and each cell is the
 * median over rounds. A benchmark asserts nothing about speed: it reports.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench/bench.h"
#include "cmds.h"
#include "opt.h"

enum { BE_SYNFIN, BE_LINUX, BE_LWIP, BE_N };

static const char *const be_names[BE_N] = {"synfin", "Linux", "lwIP"};
static const bench_backend_fn be_fns[BE_N] = {bench_synfin, bench_linux,
                                               bench_lwip};

static const char *const wl_labels[BW_N] = {
#define BENCH_X_(id, label, unit) label,
    BENCH_WORKLOADS(BENCH_X_)
#undef BENCH_X_
};
static const char *const wl_ids[BW_N] = {
#define BENCH_X_(id, label, unit) #id,
    BENCH_WORKLOADS(BENCH_X_)
#undef BENCH_X_
};

#define BENCH_MAX_ROUNDS 32

struct bench_run {
    struct bench_opts o;
    unsigned rounds;
    bool use[BE_N];
    const char *json;
    struct bench_res res[BENCH_MAX_ROUNDS][BE_N];
    int status[BENCH_MAX_ROUNDS][BE_N];
};

static const char usage_text[] =
    "usage: synfin bench [--quick] [--rounds N] [--seconds S] [--bulk-mb N]\n"
    "                    [--fill N] [--mem-conns N] [--ports N]\n"
    "                    [--only life,full,bulk,mem,path] [--backends synfin,linux,lwip]\n"
    "                    [--path-mb N] [--path-cap S] [--path-runs N]\n"
    "                    [--path-bdps N] [--linux-cc NAME]\n"
    "                    [--json FILE] [-v]\n\n"
    "Runs the workloads on synfin (two stacks joined in memory), the Linux\n"
    "kernel (loopback, MTU 1500, in a fresh network namespace; needs root)\n"
    "and lwIP (in memory, when built with liblwip-dev), interleaved, and\n"
    "prints the median of each over the rounds.\n\n"
    "  life   graceful and abort (SO_LINGER {1,0}) lifecycles per second,\n"
    "         over IPv4 and over IPv6 (synfin and Linux; lwIP: IPv4 only)\n"
    "  full   the same with --fill TIME_WAIT and --fill established\n"
    "         connections already in the tables (default 100000)\n"
    "  bulk   one connection moving --bulk-mb MB (default 256), over IPv4\n"
    "         and over IPv6 (MSS 1440 at the 1500-byte MTU)\n"
    "  mem    bytes per established, SYN-queue and TIME_WAIT entry\n"
    "         (over --mem-conns connections, default 10000)\n"
    "  path   (only when named) goodput of one bulk transfer each way at\n"
    "         once on a grid of paths (RTT 2/20/100 ms, loss 0-5 %, reordering,\n"
    "         a 100 Mbit/s bottleneck): synfin in the simulator, two Linux\n"
    "         kernels across synfin relay, and Linux against synfin on TUN\n"
    "         (root); --path-mb MB each way (default 4; a 100 Mbit/s cell at\n"
    "         least --path-bdps bandwidth-delay products, default 200), at\n"
    "         most --path-cap seconds a run (default 20; 100M: at least 3x\n"
    "         the transfer at the bottleneck rate); each cell runs\n"
    "         --path-runs N times in every column (default 3; synfin: seeds\n"
    "         1..N), printing the median and the min-max; the kernels use\n"
    "         --linux-cc\n"
    "         (default cubic, synfin's own default, so loss-based meets\n"
    "         loss-based); a fourth column runs them with the namespace's\n"
    "         default (net.ipv4.tcp_congestion_control) when that differs;\n"
    "         --pacing 0|1 sets synfin's sender pacing (default: the\n"
    "         stack's, on); --path-cells TEXT runs only the cells whose\n"
    "         label contains TEXT (e.g. \"rtt 20 ms, loss 0%\"); -v adds each\n"
    "         cell's counters and each direction's time; --path-pcap FILE\n"
    "         writes what crosses synfin's TUN device (FILE.N for cell N)\n"
    "  --quick  a few-second run: 1 round, small sizes (path: 2 cells)\n";

static unsigned parse_groups(const char *s)
{
    unsigned g = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (!strcmp(t, "life")) g |= BENCH_G_LIFE;
        else if (!strcmp(t, "full")) g |= BENCH_G_FULL;
        else if (!strcmp(t, "bulk")) g |= BENCH_G_BULK;
        else if (!strcmp(t, "mem")) g |= BENCH_G_MEM;
        else if (!strcmp(t, "all")) g |= BENCH_G_ALL;
        else if (!strcmp(t, "path")) g |= BENCH_G_PATH;
        else return 0;
    }
    return g;
}

static bool parse_backends(const char *s, bool use[BE_N])
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    memset(use, 0, BE_N * sizeof use[0]);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        int k;
        for (k = 0; k < BE_N && strcasecmp(t, be_names[k]); k++)
            ;
        if (k == BE_N)
            return false;
        use[k] = true;
    }
    return true;
}

static int opt_groups(void *base, const struct opt *o, const char *v,
                      const char *prog)
{
    struct bench_run *r = base;
    (void)o, (void)prog;
    return (r->o.groups = parse_groups(v)) ? 0 : OPT_BAD;
}

static int opt_backends(void *base, const struct opt *o, const char *v,
                        const char *prog)
{
    struct bench_run *r = base;
    (void)o, (void)prog;
    return parse_backends(v, r->use) ? 0 : OPT_BAD;
}

static int opt_quick(void *base, const struct opt *o, const char *v,
                     const char *prog)
{
    struct bench_run *r = base;
    struct bench_opts *b = &r->o;
    (void)o, (void)v, (void)prog;
    b->seconds = 0.2; b->bulk_bytes = 16u << 20; b->fill = 5000;
    b->mem_conns = 2000; r->rounds = 1;
    b->path_bytes = 256u << 10; b->path_cap = 10; b->path_quick = true;
    return 0;
}

static void bench_report(const struct opt_err *e)
{
    bool no_value = e->kind == OPT_E_MISSING;
    if (e->kind == OPT_E_UNKNOWN)
        fprintf(stderr, "synfin bench: unknown option '%s' (synfin bench --help "
                        "lists them)\n", e->name);
    else if (e->value && e->o && e->o->hi > e->o->lo)
        fprintf(stderr, "synfin bench: bad value '%s' for %s: give a number from "
                        "%g to %g\n", e->value, e->name, e->o->lo, e->o->hi);
    else
        fprintf(stderr, "synfin bench: bad option '%s'%s\n", e->name,
                no_value ? " (missing value)" : "");
}

#define OFF(field) offsetof(struct bench_run, field)
#define NUM(nm, field, as_, lo_, hi_, scale_)                                 \
    {.name = nm, .kind = OPT_NUM, .off = OFF(field), .as = as_, .lo = lo_, \
     .hi = hi_, .scale = scale_}

/* The help is the prose in usage_text: no row shows a line of its own. */
static const struct opt bench_opts_table[] = {
    {.name = "-v", .kind = OPT_FLAG, .off = OFF(o.verbose), .as = OPT_AS_BOOL, .val = 1},
    {.name = "--quick", .kind = OPT_CALL, .fn = opt_quick},
    {.name = "--json", .kind = OPT_STR, .off = OFF(json)},
    {.name = "--only", .kind = OPT_FN, .fn = opt_groups},
    {.name = "--backends", .kind = OPT_FN, .fn = opt_backends},
    NUM("--rounds", rounds, OPT_AS_UINT, 1, BENCH_MAX_ROUNDS, 0),
    NUM("--seconds", o.seconds, OPT_AS_DOUBLE, 0.01, 600, 0),
    NUM("--bulk-mb", o.bulk_bytes, OPT_AS_U64, 1, 65536, 1048576),
    NUM("--fill", o.fill, OPT_AS_UINT, 0, 1000000, 0),
    NUM("--mem-conns", o.mem_conns, OPT_AS_UINT, 10, 1000000, 0),
    NUM("--ports", o.ports, OPT_AS_UINT, 1, 1024, 0),
    NUM("--path-mb", o.path_bytes, OPT_AS_U64, 0.01, 4096, 1048576),
    NUM("--path-cap", o.path_cap, OPT_AS_DOUBLE, 1, 3600, 0),
    {.name = "--linux-cc", .kind = OPT_STR, .off = OFF(o.linux_cc)},
    NUM("--pacing", o.pacing, OPT_AS_INT, 0, 1, 0),
    {.name = "--path-cells", .kind = OPT_STR, .off = OFF(o.path_cells)},
    {.name = "--path-pcap", .kind = OPT_STR, .off = OFF(o.path_pcap)},
    NUM("--path-runs", o.path_runs, OPT_AS_UINT, 1, BENCH_PATH_MAX_RUNS, 0),
    NUM("--path-bdps", o.path_bdps, OPT_AS_UINT, 0, 10000, 0),
    {.kind = OPT_END},
};

/* Returns 0, OPT_HELP after the help, or 2 on a bad option (after the
 * help, on stderr). */
static int parse(struct bench_run *r, int argc, char **argv)
{
    struct bench_opts *o = &r->o;
    *o = (struct bench_opts){BENCH_G_ALL, 1.0, 256ull << 20, 100000, 10000, 64,
                             false, 4u << 20, 20, false, "cubic", -1, NULL, NULL, 3, 200};
    r->rounds = 3;
    for (int k = 0; k < BE_N; k++)
        r->use[k] = true;
    struct opt_group g = {bench_opts_table, r, bench_report};
    struct opt_cmd c = {.prog = "synfin bench", .usage = usage_text,
                        .groups = &g, .ngroups = 1};
    int rc = opt_parse(&c, argc, argv);
    if (rc == 2)
        opt_help(&c, stderr);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the rounds that produced this cell; false if none did. */
static bool median(const struct bench_run *r, int be, int w, double *out)
{
    double v[BENCH_MAX_ROUNDS];
    unsigned n = 0;
    for (unsigned k = 0; k < r->rounds; k++)
        if (r->res[k][be].have[w])
            v[n++] = r->res[k][be].v[w];
    if (!n)
        return false;
    qsort(v, n, sizeof v[0], cmp_double);
    *out = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return true;
}

static void derive_ratios(struct bench_res *res)
{
    if (res->have[BW_GRACEFUL] && res->have[BW_GRACEFUL_FULL] && res->v[BW_GRACEFUL] > 0)
        bench_set(res, BW_GRACEFUL_RATIO, res->v[BW_GRACEFUL_FULL] / res->v[BW_GRACEFUL]);
    if (res->have[BW_ABORT] && res->have[BW_ABORT_FULL] && res->v[BW_ABORT] > 0)
        bench_set(res, BW_ABORT_RATIO, res->v[BW_ABORT_FULL] / res->v[BW_ABORT]);
}

static void fmt_val(char *buf, size_t n, bool have, double v, int w)
{
    if (!have)
        snprintf(buf, n, "n/a");
    else if (w == BW_GRACEFUL_RATIO || w == BW_ABORT_RATIO)
        snprintf(buf, n, "%.2f", v);
    else if (v >= 100)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.1f", v);
}

static bool wl_selected(const struct bench_opts *o, int w)
{
    switch (w) {
    case BW_GRACEFUL: case BW_ABORT:
        return o->groups & (BENCH_G_LIFE | BENCH_G_FULL);
    case BW_GRACEFUL6: case BW_ABORT6:
        return o->groups & BENCH_G_LIFE;
    case BW_BULK6:
        return o->groups & BENCH_G_BULK;
    case BW_GRACEFUL_FULL: case BW_ABORT_FULL:
    case BW_GRACEFUL_RATIO: case BW_ABORT_RATIO:
        return o->groups & BENCH_G_FULL;
    case BW_BULK:
        return o->groups & BENCH_G_BULK;
    default:
        return o->groups & BENCH_G_MEM;
    }
}

/* The table's rows: each IPv6 row under its IPv4 one. */
static const int table_order[BW_N] = {
    BW_GRACEFUL, BW_GRACEFUL6, BW_ABORT, BW_ABORT6, BW_GRACEFUL_FULL,
    BW_ABORT_FULL, BW_GRACEFUL_RATIO, BW_ABORT_RATIO, BW_BULK, BW_BULK6,
    BW_MEM_ESTAB, BW_MEM_SYN, BW_MEM_TW};
_Static_assert(BW_N == 13, "table_order lists every workload once");

static void print_table(const struct bench_run *r)
{
    printf("\n%-28s %12s %12s %12s %12s %12s\n", "workload", "synfin", "Linux",
           "lwIP", "synfin/Linux", "synfin/lwIP");
    for (int k = 0; k < BW_N; k++) {
        int w = table_order[k];
        if (!wl_selected(&r->o, w))
            continue;
        double v[BE_N];
        bool h[BE_N];
        char c[BE_N + 2][32];
        for (int be = 0; be < BE_N; be++) {
            h[be] = r->use[be] && median(r, be, w, &v[be]);
            fmt_val(c[be], sizeof c[be], h[be], v[be], w);
        }
        for (int be = 1; be < BE_N; be++) {
            bool ok = h[0] && h[be] && v[be] > 0;
            if (ok)
                snprintf(c[BE_N + be - 1], 32, "%.2fx", v[0] / v[be]);
            else
                snprintf(c[BE_N + be - 1], 32, "-");
        }
        printf("%-28s %12s %12s %12s %12s %12s\n", wl_labels[w], c[0], c[1],
               c[2], c[3], c[4]);
    }
}

static void print_notes(const struct bench_run *r)
{
    for (int be = 0; be < BE_N; be++)
        for (unsigned k = 0; k < r->rounds; k++)
            if (r->use[be] && r->res[k][be].note[0]) {
                printf("note (%s): %s\n", be_names[be], r->res[k][be].note);
                break;
            }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_results(FILE *f, const struct bench_run *r)
{
    fprintf(f, "  \"results\": {\n");
    bool first = true;
    for (int w = 0; w < BW_N; w++) {
        if (!wl_selected(&r->o, w))
            continue;
        char id[32];
        size_t i;
        for (i = 0; wl_ids[w][i] && i < sizeof id - 1; i++)
            id[i] = (char)tolower((unsigned char)wl_ids[w][i]);
        id[i] = 0;
        fprintf(f, "%s    \"%s\": {\"label\": ", first ? "" : ",\n", id);
        json_str(f, wl_labels[w]);
        for (int be = 0; be < BE_N; be++) {
            double v;
            if (r->use[be] && median(r, be, w, &v))
                fprintf(f, ", \"%s\": %.6g", be_names[be], v);
            else
                fprintf(f, ", \"%s\": null", be_names[be]);
        }
        fprintf(f, "}");
        first = false;
    }
    fprintf(f, "\n  },\n");
}

static int write_json(const struct bench_run *r)
{
    FILE *f = fopen(r->json, "w");
    if (!f) {
        perror(r->json);
        return -1;
    }
    struct utsname u;
    uname(&u);
    fprintf(f, "{\n  \"tool\": \"synfin bench\",\n  \"machine\": ");
    json_str(f, u.release);
    fprintf(f, ",\n  \"cpus\": %ld,\n  \"rounds\": %u,\n", sysconf(_SC_NPROCESSORS_ONLN), r->rounds);
    fprintf(f, "  \"options\": {\"seconds\": %g, \"bulk_bytes\": %llu, \"fill\": %u, "
               "\"mem_conns\": %u, \"ports\": %u},\n", r->o.seconds,
            (unsigned long long)r->o.bulk_bytes, r->o.fill, r->o.mem_conns, r->o.ports);
    json_results(f, r);
    fprintf(f, "  \"notes\": {");
    for (int be = 0; be < BE_N; be++) {
        fprintf(f, "%s\"%s\": ", be ? ", " : "", be_names[be]);
        json_str(f, r->use[be] ? r->res[0][be].note : "not selected");
    }
    fprintf(f, "}\n}\n");
    return fclose(f) ? -1 : 0;
}

int sf_cmd_bench(int argc, char **argv)
{
    struct bench_run *r = calloc(1, sizeof *r);
    if (!r)
        return 1;
    int p = parse(r, argc, argv);
    if (p) {
        free(r);
        return p == OPT_HELP ? 0 : p;
    }
    bool classic = r->o.groups & BENCH_G_ALL;
    for (unsigned k = 0; classic && k < r->rounds; k++) {
        for (int be = 0; be < BE_N; be++) {
            if (!r->use[be])
                continue;
            double t0 = bench_now();
            r->status[k][be] = be_fns[be](&r->o, &r->res[k][be]);
            derive_ratios(&r->res[k][be]);
            fprintf(stderr, "round %u/%u: %s done in %.1f s%s%s\n", k + 1,
                    r->rounds, be_names[be], bench_now() - t0,
                    r->res[k][be].note[0] ? ": " : "", r->res[k][be].note);
        }
    }
    if (classic) {
        print_table(r);
        print_notes(r);
    }
    if (r->o.groups & BENCH_G_PATH)
        bench_path(&r->o, r->use[BE_SYNFIN], r->use[BE_LINUX]);
    int rc = r->json && write_json(r) ? 1 : 0;
    free(r);
    return rc;
}
