/* synfin drill: runs packetdrill-language scripts against the sans-IO core
 * on a virtual clock. The language is docs/drill.md; the runner's
 * conventions, on which tests/drill/ relies (see tools/drill/README.md):
 *
 *  - The stack under test is 198.18.0.1; the peer the script plays is
 *    198.18.0.2. bind(3, ...) binds port 8080; connect(3, ...) connects to
 *    198.18.0.2:8080. Inbound segments go to the connection the script
 *    drives: the most recent 4-tuple seen in a segment either way, or, before
 *    any, 198.18.0.2:40000 -> 198.18.0.1:8080 (a listener's port).
 *  - socket() and accept() return the lowest free script fd >= 3.
 *  - Sequence numbers are relative. The peer's ISN is 0xfffffc00, so every
 *    script crosses the 2^32 wrap in its first kilobyte; the stack's ISN is
 *    learned from the first SYN it sends or answers with (base 0 before).
 *  - Outbound: flags exact, SEQ:END(LEN), ack if given (ACK flag iff '.'),
 *    win if given, options: <...> any, none written = none, a list = exactly
 *    those (any order). Inbound win defaults to 65535.
 *  - Time: each `>` must be matched by the next datagram the stack emits,
 *    within --tolerance_usecs (default 4000) of its time; a datagram no `>`
 *    consumes is a failure. The clock stops at the last event.
 *  - A blocking call (a...b, or EAGAIN/EINPROGRESS on a blocking socket) is
 *    retried after every later event and clock step until it completes,
 *    which must happen at its end time, within tolerance.
 *  - %{ assert tcpi_state == TCP_X }% (or !=) checks the driven connection.
 *  - Stack settings: --mss, --rto_{initial,min,max}_ms, --syn_retries,
 *    --synack_retries, --r1, --r2, --msl_ms, --fin_wait_2_timeout_ms,
 *    --challenge_ack_limit, --rcvbuf, --sndbuf, --keep{idle,intvl}_ms,
 *    --keepcnt, --invalid_ratelimit_ms, --max_orphans, --orphan_retries,
 *    --min_snd_mss, --max_tw, --seed; `sysctl -q net.ipv4.tcp_*=N` lines before the first
 *    socket call map onto the same settings.
 *
 * Output: "PASS file" or "FAIL file:line: what" with expected/actual lines,
 * then "drill: N passed, N failed". Exit 0 iff all passed (and, with
 * --coverage, every legal transition was exercised). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "drill/exec.h"
#include "../synfin/cmds.h" /* the command table (tools/synfin) */

static void usage(FILE *f, bool settings)
{
    fprintf(f,
            "usage: synfin drill [options] FILE...\n"
            "  -v               print every event as it runs\n"
            "  --coverage       table of the legal transitions the scripts exercised\n"
            "  --parse-only     parse and check the scripts without running them\n"
            "  --self-test      the runner's own checks of its option and ECN code\n"
            "  --NAME=VALUE     a script option for every file (--tolerance_usecs,\n"
            "                   --mss, --r2, --seed, ...; see tools/drill/README.md)\n");
    if (settings) {
        fprintf(f, "script options (--NAME=VALUE lines before the first event, "
                "or the command line):\n");
        drill_settings_help(f);
    }
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *b = realloc(buf, cap * 2 + 1);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

/* Returns true if the file parsed (and, unless parse_only, passed). */
static bool run_file(struct drill_ctx *ctx, const struct drill_settings *base,
                     const char *path, bool parse_only)
{
    char err[512];
    char *src = read_file(path);
    if (!src) {
        printf("FAIL %s: cannot read the file\n", path);
        return false;
    }
    struct drill_script sc = {.settings = *base};
    bool ok = drill_parse(path, src, &sc, err, sizeof err) == 0;
    if (!ok)
        printf("FAIL %s\n%s\n", path, err);
    else if (parse_only)
        printf("PASS %s (parsed, %zu events)\n", path, sc.nev);
    else
        ok = drill_run(ctx, &sc);
    drill_script_free(&sc);
    free(src);
    return ok;
}

/* Prints the coverage table; returns the number of transitions never
 * exercised. */
static size_t print_coverage(const struct drill_ctx *ctx)
{
    const struct sf_transition *t;
    size_t n = sf_transitions(&t), missing = 0;
    printf("\ntransition coverage:\n");
    for (size_t i = 0; i < n; i++) {
        char row[96];
        snprintf(row, sizeof row, "%s -> %s", sf_state_name(t[i].from),
                 sf_state_name(t[i].to));
        printf("  %-28s (%s)%*s", row, sf_cause_name(t[i].cause),
               (int)(22 - strlen(sf_cause_name(t[i].cause))), "");
        if (ctx->cover[i])
            printf("%u scripts\n", ctx->cover[i]);
        else
            printf("NOT EXERCISED\n"), missing++;
    }
    printf("coverage: %zu of %zu transitions exercised\n", n - missing, n);
    return missing;
}

int sf_cmd_drill(int argc, char **argv)
{
    struct drill_ctx ctx = {0};
    struct drill_settings base;
    bool parse_only = false;
    int i = 1, passed = 0, failed = 0;
    char err[256];
    drill_settings_default(&base);
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-v")) {
            ctx.verbose = true;
        } else if (!strcmp(a, "--coverage")) {
            ctx.coverage = true;
        } else if (!strcmp(a, "--parse-only")) {
            parse_only = true;
        } else if (!strcmp(a, "--self-test")) {
            return drill_selftest() ? 1 : 0;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout, true);
            return 0;
        } else if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (a[1] != '-' || drill_setting(&base, a + 2, err, sizeof err)) {
            fprintf(stderr, "synfin drill: %s\n",
                    a[1] != '-' ? "unknown flag" : err);
            usage(stderr, false);
            return 2;
        }
    }
    if (i == argc) {
        usage(stderr, false);
        return 2;
    }
    if (ctx.coverage) {
        const struct sf_transition *t;
        ctx.ntrans = sf_transitions(&t);
        ctx.cover = calloc(ctx.ntrans ? ctx.ntrans : 1, sizeof *ctx.cover);
        if (!ctx.cover)
            return 2;
    }
    for (; i < argc; i++) {
        if (run_file(&ctx, &base, argv[i], parse_only))
            passed++;
        else
            failed++;
    }
    size_t missing = ctx.coverage && !parse_only ? print_coverage(&ctx) : 0;
    free(ctx.cover);
    printf("drill: %d passed, %d failed\n", passed, failed);
    return failed || missing ? 1 : 0;
}
