/* synfin sim many: thousands of concurrent connections from several client
 * hosts to one server, each a short request, answer and close, with a
 * summary instead of a ladder. The applications learn which sockets to
 * look at from the stacks' wakeup callback, so the work per event does not
 * grow with the number of connections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/sim_int.h"

#define MANY_CLIENTS 8
#define MANY_REQ 40
#define MANY_RESP 200
#define MANY_PORT 80

struct many;

/* One connection's application state, on either side. */
struct mconn {
    struct many *m;
    int host, sd;
    size_t got, want;
    bool sent, closed, eof;
    int err;
};

/* One host: its sockets by descriptor, and those woken since last looked. */
struct mhost {
    struct many *m;
    int id, lsd;
    struct mconn **by_sd;
    unsigned nsd;
    int *dirty;
    unsigned ndirty;
    bool *is_dirty;
};

struct many {
    const struct sim_opts *o;
    struct sf_sim *sim;
    struct mhost h[MANY_CLIENTS + 1];
    struct mconn *conns; /* clients' then the server's */
    unsigned n, nsrv;
    uint64_t states[SF_NSTATES]; /* entries into each state */
    uint64_t tw, tw_peak;
    unsigned done, failed;
};

static void wake(void *ctx, int sd)
{
    struct mhost *mh = ctx;
    if (sd < 0 || (unsigned)sd >= mh->nsd || mh->is_dirty[sd])
        return;
    mh->is_dirty[sd] = true;
    mh->dirty[mh->ndirty++] = sd;
}

static struct sf_stack *mst(struct many *m, int h)
{
    return sf_sim_host_stack(m->sim, h);
}

static void mclose(struct many *m, struct mconn *c)
{
    if (c->closed)
        return;
    sf_close(mst(m, c->host), c->sd);
    m->h[c->host].by_sd[c->sd] = NULL;
    c->closed = true;
    if (c->host != 0) { /* a client's connection is over for the app */
        m->done++;
        m->failed += c->err != 0 || c->got != MANY_RESP;
    }
}

/* Reads what there is; sends the request (client, once connected) or the
 * answer (server, once the request is in); closes at the end. */
static void mconn_step(struct many *m, struct mconn *c)
{
    struct sf_stack *st = mst(m, c->host);
    char buf[512];
    memset(buf, 'm', sizeof buf);
    bool client = c->host != 0;
    if (client && !c->sent) {
        unsigned ev = sf_poll(st, c->sd);
        if (ev & (SF_POLLERR | SF_POLLHUP)) {
            c->err = SF_ECONNRESET;
        } else if (ev & SF_POLLOUT) {
            c->sent = sf_send(st, c->sd, buf, MANY_REQ, 0) == MANY_REQ;
        }
    }
    for (long n; !c->err && !c->eof;) {
        n = sf_recv(st, c->sd, buf, sizeof buf, 0);
        if (n > 0)
            c->got += (size_t)n;
        else if (n == 0)
            c->eof = true;
        else {
            c->err = n == SF_EAGAIN ? 0 : (int)n;
            break;
        }
    }
    if (!client && !c->sent && c->got >= MANY_REQ)
        c->sent = sf_send(st, c->sd, buf, MANY_RESP, 0) == MANY_RESP;
    /* The client closes first, so it keeps TIME_WAIT (RFC 9293 3.6). */
    if (c->err || (client && c->got >= MANY_RESP) || (!client && c->eof))
        mclose(m, c);
}

static void maccept(struct many *m, struct mhost *mh)
{
    for (;;) {
        int sd = sf_accept(mst(m, mh->id), mh->lsd, NULL);
        if (sd < 0 || (unsigned)sd >= mh->nsd || m->nsrv >= m->n) {
            if (sd >= 0)
                sf_close(mst(m, mh->id), sd);
            return;
        }
        struct mconn *c = &m->conns[m->n + m->nsrv++];
        *c = (struct mconn){.m = m, .host = 0, .sd = sd};
        mh->by_sd[sd] = c;
        mconn_step(m, c);
    }
}

static void app(void *ctx, struct sf_sim *sim, int h)
{
    struct many *m = ctx;
    (void)sim;
    struct mhost *mh = &m->h[h];
    while (mh->ndirty) {
        int sd = mh->dirty[--mh->ndirty];
        mh->is_dirty[sd] = false;
        if (sd == mh->lsd)
            maccept(m, mh);
        else if (mh->by_sd[sd])
            mconn_step(m, mh->by_sd[sd]);
    }
}

/* Client connection c opens now. */
static void start(void *ctx, struct sf_sim *sim, int h)
{
    struct mconn *c = ctx;
    struct many *m = c->m;
    struct sf_stack *st = sf_sim_host_stack(sim, h);
    struct sf_addr srv = sf_sim_host_ip(sim, 0, sim_family(m->o), MANY_PORT);
    c->sd = sf_socket(st);
    if (c->sd < 0 || (unsigned)c->sd >= m->h[h].nsd) {
        c->err = c->sd < 0 ? c->sd : SF_EMFILE;
        c->closed = true;
        m->done++;
        m->failed++;
        return;
    }
    m->h[h].by_sd[c->sd] = c;
    int e = sf_connect(st, c->sd, &srv);
    if (e != SF_EINPROGRESS) {
        c->err = e ? e : SF_EINVAL;
        mclose(m, c);
    }
}

/* Counts entries into each state and the TIME_WAIT population. */
static void trace(void *ctx, const struct sf_sim_event *ev)
{
    struct many *m = ctx;
    if (ev->kind != SF_SIM_EV_STACK || ev->trace->kind != SF_TRACE_STATE)
        return;
    const struct sf_trace_event *t = ev->trace;
    m->states[t->to]++;
    if (t->to == SF_TIME_WAIT && ++m->tw > m->tw_peak)
        m->tw_peak = m->tw;
    if (t->from == SF_TIME_WAIT)
        m->tw--;
}

static int add_host(struct many *m, int id, unsigned nsock)
{
    struct sf_sim_cfg d;
    sf_sim_cfg_default(&d);
    struct sf_stack_cfg cfg = d.stack;
    struct mhost *mh = &m->h[id];
    cfg.max_sockets = nsock;
    cfg.msl = m->o->msl;
    cfg.default_backlog_max = nsock;
    cfg.syn_backlog = nsock;
    cfg.wakeup = wake;
    cfg.wakeup_ctx = mh;
    if (m->o->link.mtu && m->o->link.mtu - 40 < cfg.mss)
        cfg.mss = (uint16_t)(m->o->link.mtu - 40); /* --mtu >= 104 */
    *mh = (struct mhost){.m = m, .id = id, .lsd = -1, .nsd = nsock};
    mh->by_sd = calloc(nsock, sizeof *mh->by_sd);
    mh->dirty = calloc(nsock, sizeof *mh->dirty);
    mh->is_dirty = calloc(nsock, sizeof *mh->is_dirty);
    if (!mh->by_sd || !mh->dirty || !mh->is_dirty)
        return SF_ENOMEM;
    /* --ipv6: IPv6-only hosts */
    unsigned fams = m->o->ipv6 ? SF_SIM_HOST_V6 : SF_SIM_HOST_V4;
    return sf_sim_add_host_fam(m->sim, fams, 0, NULL, &cfg) == id ? 0 : SF_ENOMEM;
}

static int build(struct many *m)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.seed = m->o->seed;
    cfg.link = m->o->link;
    m->conns = calloc(2 * (size_t)m->n, sizeof *m->conns);
    if (!m->conns || sf_sim_create(&cfg, &m->sim))
        return 1;
    unsigned per = (m->n + MANY_CLIENTS - 1) / MANY_CLIENTS;
    for (int h = 0; h <= MANY_CLIENTS; h++)
        if (add_host(m, h, h ? per + 16 : m->n + 16))
            return 1;
    sf_sim_set_app(m->sim, app, m);
    sf_sim_set_trace(m->sim, trace, m);
    struct sf_stack *st = mst(m, 0);
    struct sf_addr a = {.port = MANY_PORT,
                        .family = (uint8_t)sim_family(m->o)};
    m->h[0].lsd = sf_socket(st);
    if (sf_bind(st, m->h[0].lsd, &a) || sf_listen(st, m->h[0].lsd, (int)m->n))
        return 1;
    /* Every connection opens within the first 100 ms: all concurrent. */
    for (unsigned i = 0; i < m->n; i++) {
        int h = 1 + (int)(i % MANY_CLIENTS);
        m->conns[i] = (struct mconn){.m = m, .host = h, .sd = -1};
        sf_time_t t = (sf_time_t)i * 100 * SF_MSEC / m->n;
        if (sf_sim_at(m->sim, t, h, start, &m->conns[i]))
            return 1;
    }
    return 0;
}

static void summary(struct many *m, double wall)
{
    const struct sf_sim_stats *s = sf_sim_stats(m->sim);
    uint64_t rexmt = 0, segs = 0;
    for (int h = 0; h <= MANY_CLIENTS; h++) {
        const struct sf_counters *c = sf_stack_counters(mst(m, h));
        rexmt += c->c[SF_CTR_RETRANSMITS];
        segs += c->c[SF_CTR_SEG_OUT];
    }
    bool zh = m->o->zh;
    printf(zh ? "many：%u 个连接，从 %d 台客户主机到 1 台服务器%s\n"
              : "many: %u connections from %d client hosts to 1 server%s\n", m->n,
           MANY_CLIENTS, m->o->ipv6 ? (zh ? "，经由 IPv6" : " over IPv6") : "");
    printf(zh ? "  完成 %u 个，失败 %u 个；虚拟时间 %.3f 秒\n"
              : "  completed %u, failed %u; %.3f s of virtual time\n", m->done,
           m->failed, (double)sf_sim_now(m->sim) / (double)SF_SEC);
    printf(zh ? "  发送 %llu 个报文段，重传 %llu 个，丢失 %llu 个数据报\n"
              : "  %llu segments sent, %llu retransmitted, %llu datagrams lost\n",
           (unsigned long long)segs, (unsigned long long)rexmt,
           (unsigned long long)(s->sent - s->delivered + s->dups));
    printf("%s", zh ? "  进入各状态的次数：" : "  states entered:");
    for (int i = 0; i < SF_NSTATES; i++)
        if (m->states[i])
            printf(" %s %llu", sf_state_name((enum sf_state)i),
                   (unsigned long long)m->states[i]);
    printf(zh ? "\n  TIME_WAIT 峰值 %llu\n" : "\n  peak TIME_WAIT %llu\n",
           (unsigned long long)m->tw_peak);
    printf(zh ? "  %llu 个事件，实际用时 %.3f 秒：每秒 %.0f 个事件\n"
              : "  %llu events in %.3f s of wall-clock time: %.0f events/s\n",
           (unsigned long long)s->events, wall,
           wall > 0 ? (double)s->events / wall : 0.0);
}

/* Every connection completed and every state of the lifecycle was seen;
 * nothing is left at the end (all TIME_WAITs expired). */
static int check(struct many *m)
{
    static const enum sf_state need[] = {
        SF_SYN_SENT, SF_SYN_RCVD, SF_ESTABLISHED, SF_FIN_WAIT_1,
        SF_FIN_WAIT_2, SF_CLOSE_WAIT, SF_LAST_ACK, SF_TIME_WAIT, SF_CLOSED};
    int bad = 0;
    if (m->done != m->n || m->failed) {
        fprintf(stderr, m->o->zh ? "synfin sim: many：%u / %u 个连接完成，%u 个失败\n"
                                 : "synfin sim: many: %u of %u connections completed, "
                                   "%u failed\n", m->done, m->n, m->failed);
        bad = 1;
    }
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (m->states[need[i]] < (m->o->link_set ? 1 : m->n)) {
            fprintf(stderr, m->o->zh ? "synfin sim: many：进入 %s %llu 次，预期 %u 次\n"
                                     : "synfin sim: many: %s entered %llu times, "
                                       "expected %u\n", sf_state_name(need[i]),
                    (unsigned long long)m->states[need[i]], m->n);
            bad = 1;
        }
    if (m->tw) {
        fprintf(stderr, m->o->zh ? "synfin sim: many：结束时仍有 %llu 个连接处于 TIME_WAIT\n"
                                 : "synfin sim: many: %llu connections still in "
                                   "TIME_WAIT at the end\n", (unsigned long long)m->tw);
        bad = 1;
    }
    return bad;
}

int sim_many(const struct sim_opts *o)
{
    struct many *m = calloc(1, sizeof *m);
    if (!m)
        return 1;
    m->o = o;
    m->n = o->conns ? o->conns : 2000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = build(m);
    if (rc)
        fprintf(stderr, o->zh ? "synfin sim: many：无法搭建模拟网络\n"
                              : "synfin sim: many: cannot build the network\n");
    else
        sf_sim_run_while(m->sim, NULL, NULL, 3600 * SF_SEC);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!rc) {
        rc = check(m);
        summary(m, wall);
        printf(o->zh ? "many：%s\n" : "many: %s\n",
               rc ? (o->zh ? "失败" : "FAILED") : (o->zh ? "通过" : "ok"));
    }
    for (int h = 0; h <= MANY_CLIENTS; h++) {
        free(m->h[h].by_sd);
        free(m->h[h].dirty);
        free(m->h[h].is_dirty);
    }
    sf_sim_free(m->sim);
    free(m->conns);
    free(m);
    return rc;
}
