/* synfin sim: runs a scenario on the simulated network and draws it as a
 * ladder diagram. Each scenario asserts the states each side visits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "io/json.h"
#include "io/pcap.h"
#include "ladder/ladder.h"
#include "ladder/ladder_int.h"
#include "ladder/svg.h"
#include "sim/sim_int.h"

/* ------------------------------------------------------------ main */

static int build(struct run *r)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.seed = r->o.seed;
    cfg.link = r->o.link;
    cfg.stack.msl = r->o.msl;
    if (r->o.ecn_set)
        cfg.stack.ecn = (uint8_t)r->o.ecn;
    if (r->o.pacing_set)
        cfg.stack.pacing = r->o.pacing != 0;
    /* No path MTU discovery: the MSS we announce must fit the link. */
    if (cfg.link.mtu && cfg.link.mtu - 40 < cfg.stack.mss) /* mtu >= 104 */
        cfg.stack.mss = (uint16_t)(cfg.link.mtu - 40);
    if (r->sc->tune)
        r->sc->tune(r, &cfg);
    /* --sndbuf, --rcvbuf: a fixed size, autotuning capped at it */
    if (r->o.sndbuf)
        cfg.stack.sndbuf = cfg.stack.sndbuf_max = r->o.sndbuf;
    if (r->o.rcvbuf)
        cfg.stack.rcvbuf = cfg.stack.rcvbuf_max = r->o.rcvbuf;
    if (sf_sim_create(&cfg, &r->sim))
        return 1;
    r->nh = r->sc->nhosts;
    static const char *const names[2][2][2] = {
        {{"host", ""}, {"client", "server"}}, {{"主机", ""}, {"客户端", "服务器"}}};
    /* --ipv6: IPv6-only hosts (fd00::1, ::2), so nothing can go by IPv4 */
    unsigned fams = r->o.ipv6 ? SF_SIM_HOST_V6 : SF_SIM_HOST_V4;
    for (int h = 0; h < r->nh; h++) {
        if (sf_sim_add_host_fam(r->sim, fams, 0, NULL, NULL) != h)
            return 1;
        struct sf_addr a = host_addr(r, h, 0);
        ladder_column(r->lad, names[r->o.zh][r->nh - 1][h], &a);
    }
    /* The request names the server (RFC 9110 7.2: an IPv6 literal in
     * brackets, RFC 3986 3.2.2) */
    char srv[SF_ADDR_STRLEN];
    struct sf_addr sa = host_addr(r, r->nh - 1, 0);
    sf_addr_ip_fmt(&sa, srv, sizeof srv);
    snprintf(r->request, sizeof r->request, "GET / HTTP/1.0\r\nHost: %s%s%s"
             "\r\n\r\n", r->o.ipv6 ? "[" : "", srv, r->o.ipv6 ? "]" : "");
    sf_sim_set_trace(r->sim, on_event, r);
    sf_sim_set_app(r->sim, app_hook, r);
    r->sc->setup(r);
    /* --drop, --hold, --dup-dgram: parsed once already by options.c */
    if (r->o.drop)
        lab_impair_parse(&r->imp, r->o.drop, LAB_DROP);
    if (r->o.hold)
        lab_impair_parse(&r->imp, r->o.hold, LAB_HOLD);
    if (r->o.dupd)
        lab_impair_parse(&r->imp, r->o.dupd, LAB_DUP);
    lab_impair_install(&r->imp, r->sim);
    return 0;
}

/* Whether path is one of the alternatives in want ("A B | A C B"). */
static bool path_matches(const char *path, const char *want)
{
    size_t n = strlen(path);
    for (const char *w = want;;) {
        const char *bar = strstr(w, " | ");
        size_t len = bar ? (size_t)(bar - w) : strlen(w);
        if (len == n && !strncmp(w, path, n))
            return true;
        if (!bar)
            return false;
        w = bar + 3;
    }
}

/* A host's name in the summary: "client", or in Chinese. */
static const char *side_name(const struct run *r, int h)
{
    static const char *const n[2][3] = {{"host", "client", "server"},
                                        {"主机", "客户端", "服务器"}};
    return n[r->o.zh][r->nh == 1 ? 0 : 1 + h];
}

static int check_paths(struct run *r)
{
    int bad_paths = 0;
    for (int h = 0; h < r->nh; h++) {
        if (path_matches(r->path[h], r->sc->path[h]))
            continue;
        const char *who = r->nh == 1 ? "host" : h ? "server" : "client";
        if (r->o.zh)
            fprintf(stderr, "synfin sim: %s：%s经过的状态为“%s”，预期为“%s”\n",
                    r->sc->name, r->nh == 1 ? "主机" : h ? "服务器" : "客户端",
                    r->path[h], r->sc->path[h]);
        else
            fprintf(stderr, "synfin sim: %s: %s visited \"%s\", expected \"%s\"\n",
                    r->sc->name, who, r->path[h], r->sc->path[h]);
        bad_paths = 1;
    }
    return bad_paths;
}

static void summary(struct run *r, int failed)
{
    const struct sf_sim_stats *s = sf_sim_stats(r->sim);
    bool zh = r->o.zh;
    for (int h = 0; h < r->nh; h++) /* "客户端" is 6 columns, as "client " */
        printf(zh ? "%s %s\n" : "%-7s %s\n", side_name(r, h),
               r->path[h][0] ? r->path[h] : zh ? "（无连接）" : "(no connection)");
    printf(zh ? "网络：发送 %llu 个数据报，送达 %llu 个，丢失 %llu 个，重复 %llu 个，"
                "乱序 %llu 个，损坏 %llu 个\n"
              : "network: %llu datagrams sent, %llu delivered, %llu dropped, "
                "%llu duplicated, %llu reordered, %llu corrupted\n",
           (unsigned long long)s->sent, (unsigned long long)s->delivered,
           (unsigned long long)r->lost, (unsigned long long)s->dups,
           (unsigned long long)s->reordered, (unsigned long long)s->corrupted);
    if (r->o.link.ce_threshold) /* RFC 3168: only when marking is on */
        printf(zh ? "网络：%llu 个标记为 CE，%llu 个因队列满而丢弃\n"
                  : "network: %llu CE-marked, %llu dropped at a full queue\n",
               (unsigned long long)s->ce_marked,
               (unsigned long long)s->drops[SF_SIM_DROP_QUEUE]);
    if (zh)
        printf("%s：%s，虚拟时间 %.3f 秒（随机种子 %llu）\n", r->sc->name,
               failed ? "失败" : "通过", (double)sf_sim_now(r->sim) / (double)SF_SEC,
               (unsigned long long)r->o.seed);
    else
        printf("%s: %s after %.3f s of virtual time (seed %llu)\n", r->sc->name,
               failed ? "FAILED" : "ok",
               (double)sf_sim_now(r->sim) / (double)SF_SEC,
               (unsigned long long)r->o.seed);
}

/* Opens --pcap and --json before the run; returns 0 or 2 with a message. */
static int open_outputs(struct run *r)
{
    char err[300];
    /* In Chinese, a file that cannot be made is said so in our words
     * (the writers' messages carry the C library's English) */
    const char *const outs[2][2] = {{"--pcap", r->o.pcap}, {"--json", r->o.json}};
    for (int i = 0; r->o.zh && i < 2; i++) {
        const char *p = outs[i][1];
        FILE *f = p && strcmp(p, "-") ? fopen(p, "w") : NULL;
        if (p && strcmp(p, "-") && !f)
            return sim_bad(true, outs[i][0], "cannot create", p);
        if (f)
            fclose(f);
    }
    if (r->o.pcap && !(r->pcap = pcapw_open(r->o.pcap, err, sizeof err)))
        return sim_bad(r->o.zh, "--pcap", err, NULL);
    if (r->o.json && !(r->json = jsonw_open(r->o.json, err, sizeof err)))
        return sim_bad(r->o.zh, "--json", err, NULL);
    if (r->o.html &&
        !(r->html_json = jsonw_open_mem(&r->html_buf, &r->html_len, err, sizeof err)))
        return sim_bad(r->o.zh, "--html", err, NULL);
    jsonw_set_info(r->json, sim_tcp_info, r);
    jsonw_set_info(r->html_json, sim_tcp_info, r);
    for (int i = 0; i < 2; i++) { /* fail early */
        const char *p = i ? r->o.html : r->o.svg;
        FILE *f = p ? fopen(p, "w") : NULL;
        if (p && !f)
            return sim_bad(r->o.zh, i ? "--html" : "--svg", "cannot create", p);
        if (f)
            fclose(f);
    }
    return 0;
}

/* Closes the outputs and writes the SVG; returns 0 or 1 with a message. */
static int close_outputs(struct run *r)
{
    int rc = 0;
    if (r->pcap && pcapw_close(r->pcap))
        rc = sim_bad(r->o.zh, "--pcap", "write failed", r->o.pcap) - 1;
    if (r->json && jsonw_close(r->json))
        rc = sim_bad(r->o.zh, "--json", "write failed", r->o.json) - 1;
    r->pcap = NULL;
    r->json = NULL;
    char err[300];
    if (r->o.svg && svg_write_file(r->lad, r->o.svg, err, sizeof err))
        rc = sim_bad(r->o.zh, "--svg", err, NULL) - 1;
    if (r->html_json) {
        int bad = jsonw_close(r->html_json);
        r->html_json = NULL;
        char args[1024] = "";
        size_t n = 0;
        for (int i = 0; i < r->o.argc && n + 2 < sizeof args; i++)
            n += (size_t)snprintf(args + n, sizeof args - n, "%s%s",
                                  i ? "\x1f" : "", r->o.argv[i]);
        struct ladder_view v;
        ladder_get_view(r->lad, &v);
        if (bad || lab_html_write(r->o.html, v.title ? v.title : "",
                                  r->html_buf, r->html_len, args, err, sizeof err))
            rc = sim_bad(r->o.zh, "--html", bad ? "out of memory" : err, NULL) - 1;
    }
    return rc;
}

static int run_scenario(struct run *r)
{
    char title[200];
    if (r->o.zh)
        snprintf(title, sizeof title,
                 "synfin sim · %s · %s · 随机种子 %llu · 时延 %.3g 毫秒%s%s",
                 r->sc->name, r->sc->desc_zh, (unsigned long long)r->o.seed,
                 (double)r->o.link.delay / (double)SF_MSEC,
                 r->o.link.loss > 0 ? " · 有丢包" : "", r->o.ipv6 ? " · IPv6" : "");
    else
        snprintf(title, sizeof title,
                 "synfin sim · %s · %s · seed %llu · delay %.3g ms%s%s",
                 r->sc->name, r->sc->desc, (unsigned long long)r->o.seed,
                 (double)r->o.link.delay / (double)SF_MSEC,
                 r->o.link.loss > 0 ? " · lossy" : "", r->o.ipv6 ? " · IPv6" : "");
    ladder_title(r->lad, title);
    if (build(r)) {
        fprintf(stderr, "synfin sim: %s\n",
                ladder_err_word("cannot build the network", r->o.zh));
        return 1;
    }
    /* Ten virtual minutes bound every scenario, even a broken one. */
    sf_sim_run_while(r->sim, NULL, NULL, 600 * SF_SEC);
    if (!r->o.quiet && (!r->sc->summary_only || r->o.ladder))
        ladder_print(r->lad, stdout);
    int failed = check_paths(r);
    if (!failed && r->sc->check)
        failed = r->sc->check(r);
    failed |= close_outputs(r);
    /* after the JSON is closed: with --json - its array must end before
     * the report's lines (bulk, syn-flood) reach the same stdout */
    if (r->sc->report)
        r->sc->report(r);
    summary(r, failed);
    return failed;
}

/* --list, --soak N and the many scenario: the runs without a ladder.
 * Returns whether it was one of them, with its exit status in *rc. */
static bool run_other(const struct sim_opts *o, int *rc)
{
    bool many = o->scenario && !strcmp(o->scenario, "many");
    if (o->list)
        *rc = list_scenarios();
    else if (!o->soak && !many)
        return false;
    else if (o->pcap || o->svg || o->json || o->html)
        *rc = sim_bad(o->zh, o->pcap ? "--pcap" : o->svg ? "--svg" : o->json ? "--json"
                      : "--html",
                      o->soak ? "not with --soak" : "not with the many scenario "
                      "(a summary, no trace)", NULL);
    else
        *rc = o->soak ? sim_soak(o) : sim_many(o);
    return true;
}

/* One scenario, drawn: finds it, opens the ladder and the outputs, runs
 * it and frees what it made. Returns the exit status. */
static int run_one(struct run *r)
{
    const char *name = r->o.scenario ? r->o.scenario : "lifecycle";
    r->sc = find_scenario(name);
    if (!r->sc || !r->sc->available)
        return sim_bad(r->o.zh, "--scenario", r->sc ? "not yet available (it needs parts of "
                       "the stack still to come)" : "unknown scenario (see --list)",
                       name);
    struct ladder_opts lo = {.color = r->o.color, .absolute = r->o.absolute,
                             .explain = r->o.explain, .zh = r->o.zh,
                             .msl = r->o.msl};
    r->lad = ladder_new(&lo);
    int rc = !r->lad ? 1 : open_outputs(r);
    if (!rc)
        rc = run_scenario(r);
    pcapw_close(r->pcap);
    jsonw_close(r->json);
    jsonw_close(r->html_json);
    free(r->html_buf);
    ladder_free(r->lad);
    sf_sim_free(r->sim);
    return rc;
}

int sf_cmd_sim(int argc, char **argv)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return 1;
    struct sf_sim_cfg d;
    sf_sim_cfg_default(&d);
    r->o = (struct sim_opts){.seed = 1, .link = d.link, .msl = d.stack.msl,
                             .color = isatty(STDOUT_FILENO), .capture = -1};
    r->o.argc = argc - 1; /* the page's re-runs start from these */
    r->o.argv = argv + 1;
    int rc = sim_parse_opts(&r->o, argc, argv);
    if (rc < 0) /* --help */
        rc = 0;
    else if (rc == 0 && !run_other(&r->o, &rc))
        rc = run_one(r);
    free(r);
    return rc;
}
