/* The control socket of a running synfin: a unix stream socket that takes
 * one command line per connection and answers with text lines, then closes.
 *
 *   ss      one line per connection and listener, tab-separated:
 *           state local remote sndq rcvq timer left_ns rto_ns retrans sd
 *   stats   "name value" lines: the stack's counters, drops by reason,
 *           and the device's own counts
 *   set KEY VALUE   changes an impairment while running (loss-in, loss-out,
 *           dup-in, dup-out, reorder-in, reorder-out); answers "ok"
 *
 * `synfin ss` is the client and does all the formatting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/tun_cli.h"

int ctl_listen(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "control socket path too long: %s", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    unlink(path); /* a stale socket of a dead synfin */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s (pick another with --ctl PATH)",
                 path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct ss_ctx {
    FILE *f;
    sf_time_t now;
};

void ctl_ss_row(FILE *f, sf_time_t now, const struct sf_tcp_info *i,
                const char *extra)
{
    char l[SF_ADDR_STRLEN], r[SF_ADDR_STRLEN]; /* [IPv6]:port whole */
    sf_addr_fmt(&i->local, l, sizeof l);
    sf_addr_fmt(&i->remote, r, sizeof r);
    long long left = -1;
    if (i->timer != SF_TIMER_NONE && i->timer_expires != SF_TIME_NEVER)
        left = i->timer_expires > now ? (long long)(i->timer_expires - now) : 0;
    /* ends with SRTT and RTTVAR (us, RFC 6298), the receive storage and
     * buffer, the send storage and buffer (bytes), then the caller's extra */
    fprintf(f, "%s\t%s\t%s\t%u\t%u\t%s\t%lld\t%llu\t%u\t%d\t%u\t%u\t%u\t%u\t%u\t%u%s%s\n",
            sf_state_name(i->state), l, r, i->sndq, i->rcvq,
            i->timer != SF_TIMER_NONE ? sf_timer_name(i->timer) : "-", left,
            (unsigned long long)i->rto, i->retransmits, i->sd, i->srtt_us,
            i->rttvar_us, i->rcv_mem, i->rcvbuf, i->snd_mem, i->sndbuf,
            extra ? "\t" : "", extra ? extra : "");
}

static int ss_line(void *ctx, const struct sf_tcp_info *i)
{
    struct ss_ctx *s = ctx;
    ctl_ss_row(s->f, s->now, i, NULL);
    return 0;
}

static void stats(struct tun_cli *c, FILE *f)
{
    const struct sf_counters *k = sf_stack_counters(c->tun.st);
    for (int i = 0; i < SF_NCOUNTERS; i++)
        fprintf(f, "%s %llu\n", sf_counter_name((enum sf_counter)i),
                (unsigned long long)k->c[i]);
    for (int i = 1; i < SF_NDROPS; i++)
        fprintf(f, "drop.%s %llu\n", sf_drop_name((enum sf_drop)i),
                (unsigned long long)k->drops[i]);
    struct sf_mem_info m;
    sf_stack_mem(c->tun.st, &m);
    fprintf(f, "mem.used %llu\nmem.peak %llu\nmem.limit %llu\nmem.idle %llu\n",
            (unsigned long long)m.used, (unsigned long long)m.peak,
            (unsigned long long)m.limit, (unsigned long long)m.idle);
    const struct sf_tun_stats *t = &c->tun.stats;
#define T(x) fprintf(f, "tun." #x " %llu\n", (unsigned long long)t->x)
    T(rx); T(tx); T(rx_bytes); T(tx_bytes); T(rx_lost); T(tx_lost);
    T(rx_dup); T(tx_dup); T(rx_reordered); T(tx_reordered); T(tx_errors);
    T(rx_runts); T(rx_gso); T(rx_csum); T(tx_gso); T(tx_gso_segs); T(rx_bad_vnet);
    T(rx_gso_segs); T(rx_csum_skipped); T(tx_csum_partial); T(busy_turns);
    fprintf(f, "tun.kernel_dropped %llu\n", (unsigned long long)sf_tun_kernel_dropped(&c->tun));
    /* --napi-thread: 1 with its kernel thread, 0 refused one (said at start) */
    if (c->tun.napi)
        fprintf(f, "tun.napi_thread %d\n", c->tun.napi_thread ? 1 : 0);
    if (c->threads > 1) {
        T(rx_wrong_queue);
        fprintf(f, "tun.queue %u\ntun.queues %u\n", c->tun.queue, c->tun.nqueues);
    }
#undef T
    xdp_cli_stats(c, f);
}

static void set(struct tun_cli *c, const char *key, double v, FILE *f)
{
    struct { const char *k; double *p; } m[] = {
        {"loss-in", &c->tun.in.loss}, {"loss-out", &c->tun.out.loss},
        {"dup-in", &c->tun.in.dup}, {"dup-out", &c->tun.out.dup},
        {"reorder-in", &c->tun.in.reorder}, {"reorder-out", &c->tun.out.reorder}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(key, m[i].k) && v >= 0 && v <= 1) {
            *m[i].p = v;
            fprintf(f, "ok\n");
            return;
        }
    fprintf(f, "error: unknown key or value out of 0..1: %s\n", key);
}

static void answer(void *ctx, const char *cmd, FILE *f)
{
    struct tun_cli *c = ctx;
    char key[32];
    double v;
    if (!strcmp(cmd, "ss")) {
        struct ss_ctx s = {f, sf_tun_now()};
        sf_stack_foreach(c->tun.st, ss_line, &s);
    } else if (!strcmp(cmd, "stats")) {
        stats(c, f);
    } else if (sscanf(cmd, "set %31s %lf", key, &v) == 2) {
        set(c, key, v, f);
    } else {
        fprintf(f, "error: unknown command '%s' (ss, stats, set KEY VALUE)\n", cmd);
    }
}

/* Serves one client. The client sends its line at once, so a short
 * blocking read with a timeout costs the event loop at most that. */
void ctl_answer_one(int lfd, ctl_answer_fn answer_fn, void *ctx)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return;
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char cmd[128];
    ssize_t n = read(fd, cmd, sizeof cmd - 1);
    if (n <= 0) {
        close(fd);
        return;
    }
    cmd[n] = 0;
    cmd[strcspn(cmd, "\r\n")] = 0;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (f) {
        answer_fn(ctx, cmd, f);
        fclose(f);
        for (size_t off = 0; off < len;) {
            ssize_t w = write(fd, out + off, len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        free(out);
    }
    close(fd);
}

void ctl_answer_cli(void *ctx, const char *cmd, FILE *f)
{
    answer(ctx, cmd, f);
}

void ctl_serve_one(struct tun_cli *c, int lfd)
{
    ctl_answer_one(lfd, answer, c);
}
