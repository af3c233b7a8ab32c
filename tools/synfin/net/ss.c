/* synfin ss: the connections of a running synfin, read over its control
 * socket (ctl.c) and printed like `ss -tan`, with the running timer. */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmds.h"
#include "opt.h"
#include "synfin/synfin.h"

#define SS_MAX_FILTERS 16

struct ss_opts {
    const char *ctl;
    const char *filters[SS_MAX_FILTERS];
    int nfilters;
    bool json, stats, mem;
    const char *set;
};


static int state_of(const char *name)
{
    for (int i = 0; i < SF_NSTATES; i++)
        if (!strcmp(name, sf_state_name((enum sf_state)i)))
            return i;
    return -1;
}

/* Whether state s passes filter f (a state's sf_state_ss_filter name or a group). */
static int filter_match(const char *f, int s)
{
    if (!strcmp(f, "all"))
        return 1;
    if (!strcmp(f, "connected"))
        return s != SF_LISTEN && s != SF_CLOSED;
    if (!strcmp(f, "synchronized"))
        return s != SF_LISTEN && s != SF_CLOSED && s != SF_SYN_SENT;
    if (!strcmp(f, "listen"))
        f = "listening";
    return !strcmp(f, sf_state_ss_filter((enum sf_state)s));
}

static int filter_known(const char *f)
{
    for (int s = 0; s < SF_NSTATES; s++)
        if (filter_match(f, s))
            return 1;
    return 0;
}

/* Sends one command; returns the whole answer (malloc'd) or NULL. */
static char *query(const char *path, const char *cmd)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path)
        return NULL;
    memcpy(sa.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    /* one write with its newline: synfin answers as soon as it has read
     * a command, and a second write could meet a closed socket */
    char line[300];
    int ln = snprintf(line, sizeof line, "%s\n", cmd);
    if (ln < 0 || (size_t)ln >= sizeof line ||
        send(fd, line, (size_t)ln, MSG_NOSIGNAL) != ln) {
        close(fd);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    ssize_t n;
    while (out && (n = read(fd, out + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2048) {
            char *m = realloc(out, cap *= 2);
            if (!m) {
                free(out);
                out = NULL;
            }
            out = m;
        }
    }
    close(fd);
    if (out)
        out[len] = 0;
    return out;
}

/* The only control socket of a running synfin in the default places. */
static int find_ctl(char *path, size_t len)
{
    const char *dirs[] = {"/run/synfin", "/tmp"};
    int found = 0;
    char cand[256];
    for (int d = 0; d < 2; d++) {
        DIR *dir = opendir(dirs[d]);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            size_t n = strlen(e->d_name);
            if (n < 6 || strcmp(e->d_name + n - 5, ".sock") ||
                (d == 1 && strncmp(e->d_name, "synfin-", 7)))
                continue;
            snprintf(cand, sizeof cand, "%s/%s", dirs[d], e->d_name);
            char *a = query(cand, "stats");
            if (!a)
                continue; /* a stale socket */
            free(a);
            if (found++ == 0)
                snprintf(path, len, "%s", cand);
            else
                fprintf(stderr, "synfin ss: more than one synfin runs (%s, %s); "
                        "pick one with --ctl PATH\n", path, cand);
        }
        if (dir)
            closedir(dir);
    }
    if (found == 0)
        fprintf(stderr, "synfin ss: no running synfin found under /run/synfin "
                "or /tmp; give --ctl PATH (printed by synfin serve at start)\n");
    return found == 1 ? 0 : -1;
}

struct row {
    char state[16], local[SF_ADDR_STRLEN], peer[SF_ADDR_STRLEN], timer[16];
    unsigned long sndq, rcvq, retrans;
    long long left_ns;
    unsigned long long rto_ns;
    int sd;
    unsigned long srtt_us, rttvar_us; /* RFC 6298; 0: not measured yet */
    /* storage and buffer sizes, receive then send (bytes) */
    unsigned long rmem, rbuf, tmem, tbuf;
    /* synfin tun2socks adds: the flow's upstream, bytes relayed each way */
    char via[64];
    unsigned long long up, down;
};

static int parse_row(char *line, struct row *r)
{
    int n = sscanf(line, "%15s\t%55s\t%55s\t%lu\t%lu\t%15s\t%lld\t%llu\t%lu\t%d"
                   "\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%63s\t%llu\t%llu",
                   r->state, r->local, r->peer, &r->sndq, &r->rcvq, r->timer,
                   &r->left_ns, &r->rto_ns, &r->retrans, &r->sd, &r->srtt_us,
                   &r->rttvar_us, &r->rmem, &r->rbuf, &r->tmem, &r->tbuf,
                   r->via, &r->up, &r->down);
    if (n != 19)
        r->via[0] = 0;
    return n == 16 || n == 19;
}

/* Address column widths: 21 as ss's for IPv4, wider when an [IPv6]:port
 * needs it (never truncated). */
struct widths {
    int local, peer;
};

static void print_row(const struct ss_opts *o, const struct row *r, int s,
                      bool first, const struct widths *w)
{
    if (o->json) {
        printf("%s\n  {\"state\": \"%s\", \"local\": \"%s\", \"peer\": \"%s\", "
               "\"recv_q\": %lu, \"send_q\": %lu, \"timer\": %s%s%s, "
               "\"timer_left_ms\": %.3f, \"rto_ms\": %.3f, \"retransmits\": %lu, "
               "\"sd\": %d",
               first ? "" : ",", sf_state_name((enum sf_state)s), r->local,
               r->peer, r->rcvq, r->sndq, strcmp(r->timer, "-") ? "\"" : "",
               strcmp(r->timer, "-") ? r->timer : "null",
               strcmp(r->timer, "-") ? "\"" : "",
               r->left_ns < 0 ? -1.0 : (double)r->left_ns / 1e6,
               (double)r->rto_ns / 1e6, r->retrans, r->sd);
        if (r->srtt_us)
            printf(", \"srtt_ms\": %.3f, \"rttvar_ms\": %.3f",
                   (double)r->srtt_us / 1e3, (double)r->rttvar_us / 1e3);
        printf(", \"rcv_mem\": %lu, \"rcvbuf\": %lu, \"snd_mem\": %lu, \"sndbuf\": %lu",
               r->rmem, r->rbuf, r->tmem, r->tbuf);
        if (r->via[0])
            printf(", \"upstream\": \"%s\", \"bytes_up\": %llu, \"bytes_down\": %llu",
                   r->via, r->up, r->down);
        printf("}");
        return;
    }
    char timer[64] = "";
    if (strcmp(r->timer, "-"))
        snprintf(timer, sizeof timer, "timer:(%s,%.3fs,%lu)", r->timer,
                 r->left_ns < 0 ? 0.0 : (double)r->left_ns / 1e9, r->retrans);
    /* as ss -i writes it: rtt:SRTT/RTTVAR in milliseconds */
    char rtt[64] = "";
    if (r->srtt_us)
        snprintf(rtt, sizeof rtt, "%srtt:%.3f/%.3f", timer[0] ? " " : "",
                 (double)r->srtt_us / 1e3, (double)r->rttvar_us / 1e3);
    char via[128] = "";
    if (r->via[0])
        snprintf(via, sizeof via, "%svia:%s up:%llu down:%llu",
                 timer[0] || rtt[0] ? " " : "", r->via, r->up, r->down);
    /* --mem, as ss -m writes skmem: r/rb the receive storage and buffer,
     * t/tb the send storage and buffer */
    char mem[96] = "";
    if (o->mem)
        snprintf(mem, sizeof mem, "%smem:(r%lu,rb%lu,t%lu,tb%lu)",
                 timer[0] || rtt[0] || via[0] ? " " : "", r->rmem, r->rbuf,
                 r->tmem, r->tbuf);
    printf("%-11s %-6lu %-6lu %-*s %-*s %s%s%s%s\n",
           sf_state_ss_name((enum sf_state)s), r->rcvq, r->sndq, w->local,
           r->local, w->peer, r->peer, timer, rtt, via, mem);
}

static const char usage_text[] =
    "usage: synfin ss [--ctl PATH] [state FILTER]... [--mem] [--json]\n"
    "       synfin ss [--ctl PATH] --stats\n"
    "       synfin ss [--ctl PATH] --set KEY=VALUE\n"
    "FILTER: a state as ss names it (established, syn-sent, syn-recv,\n"
    "  fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack,\n"
    "  listening, closing) or all, connected, synchronized.\n"
    "--ctl: the control socket a synfin printed at start; without it the\n"
    "  only one under /run/synfin or /tmp is used.\n"
    "--mem: each connection's buffer memory, as ss -m: mem:(rSTORAGE,\n"
    "  rbBUFFER,tSTORAGE,tbBUFFER) for receive (r) and send (t), bytes; a\n"
    "  storage is sized to what its ring holds (0 when empty).\n"
    "--stats: counters and drops by reason. --set: change an impairment\n"
    "  of the running synfin (loss-in, loss-out, dup-in, dup-out,\n"
    "  reorder-in, reorder-out; values 0..1).\n";

static int opt_state(void *base, const struct opt *o, const char *v,
                     const char *prog)
{
    struct ss_opts *so = base;
    (void)o, (void)prog;
    if (so->nfilters >= SS_MAX_FILTERS)
        return OPT_UNKNOWN;
    so->filters[so->nfilters++] = v;
    return filter_known(v) ? 0 : OPT_BAD;
}

static void ss_report(const struct opt_err *e)
{
    if (e->kind == OPT_E_BAD)
        fprintf(stderr, "synfin ss: unknown state '%s' (see synfin ss "
                "--help)\n", e->value);
    else
        fprintf(stderr, "synfin ss: unknown argument '%s'\n", e->name);
}

#define OFF(field) offsetof(struct ss_opts, field)

/* The help is the prose in usage_text: no row shows a line of its own. */
static const struct opt ss_opts_table[] = {
    {.name = "--json", .kind = OPT_FLAG, .off = OFF(json), .as = OPT_AS_BOOL, .val = 1},
    {.name = "--mem", .kind = OPT_FLAG, .off = OFF(mem), .as = OPT_AS_BOOL, .val = 1},
    {.name = "--stats", .kind = OPT_FLAG, .off = OFF(stats), .as = OPT_AS_BOOL, .val = 1},
    {.name = "--ctl", .kind = OPT_STR, .off = OFF(ctl)},
    {.name = "--set", .kind = OPT_STR, .off = OFF(set)},
    {.name = "state", .kind = OPT_FN, .fn = opt_state},
    {.kind = OPT_END},
};

/* Returns 0, OPT_HELP after the help, or 2 after a message. */
static int parse(struct ss_opts *o, int argc, char **argv)
{
    struct opt_group g = {ss_opts_table, o, ss_report};
    struct opt_cmd c = {.prog = "synfin ss", .usage = usage_text,
                        .groups = &g, .ngroups = 1};
    return opt_parse(&c, argc, argv);
}

static bool wanted(const struct ss_opts *o, int s)
{
    if (o->nfilters == 0)
        return true; /* like ss -a: listeners too */
    for (int i = 0; i < o->nfilters; i++)
        if (filter_match(o->filters[i], s))
            return true;
    return false;
}

static void print_table(const struct ss_opts *o, char *answer)
{
    struct widths w = {21, 21};
    char *copy = strdup(answer);
    for (char *save = NULL, *l = copy ? strtok_r(copy, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        struct row r;
        int s;
        if (!parse_row(l, &r) || (s = state_of(r.state)) < 0 || !wanted(o, s))
            continue;
        if ((int)strlen(r.local) > w.local)
            w.local = (int)strlen(r.local);
        if ((int)strlen(r.peer) > w.peer)
            w.peer = (int)strlen(r.peer);
    }
    free(copy);
    if (o->json)
        printf("[");
    else
        printf("%-11s %-6s %-6s %-*s %-*s %s\n", "State", "Recv-Q", "Send-Q",
               w.local, "Local Address:Port", w.peer, "Peer Address:Port", "Timer");
    bool first = true;
    for (char *save = NULL, *l = strtok_r(answer, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        struct row r;
        int s;
        if (!parse_row(l, &r) || (s = state_of(r.state)) < 0 || !wanted(o, s))
            continue;
        print_row(o, &r, s, first, &w);
        first = false;
    }
    if (o->json)
        printf("%s]\n", first ? "" : "\n");
}

int sf_cmd_ss(int argc, char **argv)
{
    struct ss_opts o = {0};
    char path[256], cmd[160];
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc == OPT_HELP ? 0 : rc;
    if (o.ctl)
        snprintf(path, sizeof path, "%s", o.ctl);
    else if (find_ctl(path, sizeof path) < 0)
        return 1;
    const char *eq = o.set ? strchr(o.set, '=') : NULL;
    if (o.set && !eq) {
        fprintf(stderr, "synfin ss: --set wants KEY=VALUE\n");
        return 2;
    }
    if (o.set)
        snprintf(cmd, sizeof cmd, "set %.*s %s", (int)(eq - o.set), o.set, eq + 1);
    else
        snprintf(cmd, sizeof cmd, "%s", o.stats ? "stats" : "ss");
    char *answer = query(path, cmd);
    if (!answer) {
        fprintf(stderr, "synfin ss: cannot reach %s: %s (is synfin running? "
                "give the path it printed with --ctl)\n", path, strerror(errno));
        return 1;
    }
    rc = 0;
    if (o.stats || o.set) {
        fputs(answer, stdout);
        rc = strncmp(answer, "error", 5) ? 0 : 1;
    } else
        print_table(&o, answer);
    free(answer);
    return rc;
}
