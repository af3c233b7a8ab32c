/* The threads of a multi-queue run (see mq.h). */
#include "net/mq.h"
#include "synfin/tun.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define BEHIND_NS (2 * SF_SEC) /* awake this long without sleeping: behind */

unsigned mq_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (unsigned)n;
}

int mq_check_threads(const char *prog, unsigned n)
{
    unsigned cores = mq_cores();
    unsigned max = cores < MQ_MAX_THREADS ? cores : MQ_MAX_THREADS;
    if (n >= 1 && n <= max)
        return 0;
    fprintf(stderr, "%s: --threads %u: give 1 to %u (one stack per core; "
            "%u cores online)\n", prog, n, max, cores);
    return -1;
}

struct mq_worker *mq_alloc(unsigned n)
{
    struct mq_worker *w = calloc(n ? n : 1, sizeof *w);
    for (unsigned k = 0; w && k < n; k++)
        w[k].quit_fd = -1;
    return w;
}

int mq_init(struct mq_worker *w, unsigned n, const char *prog)
{
    for (unsigned k = 0; k < n; k++)
        w[k].quit_fd = -1;
    for (unsigned k = 0; k < n; k++) {
        memset(&w[k], 0, sizeof w[k]);
        w[k].idx = k;
        w[k].n = n;
        atomic_init(&w[k].busy_since, 0);
        atomic_init(&w[k].done, 0);
        w[k].quit_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w[k].quit_fd < 0) {
            fprintf(stderr, "%s: eventfd: %s\n", prog, strerror(errno));
            mq_free(w, k);
            return -1;
        }
    }
    return 0;
}

void mq_free(struct mq_worker *w, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        if (w[k].quit_fd >= 0) {
            close(w[k].quit_fd);
            w[k].quit_fd = -1;
        }
}

static void *worker_main(void *arg)
{
    struct mq_worker *w = arg;
    w->rc = w->body(w->arg);
    atomic_store(&w->done, 1);
    return NULL;
}

static void tell_quit(struct mq_worker *w, unsigned n)
{
    uint64_t one = 1;
    for (unsigned k = 0; k < n; k++)
        if (write(w[k].quit_fd, &one, sizeof one) < 0)
            continue; /* the counter is full: it was told already */
}

static int start(struct mq_worker *w, const char *prog)
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->idx % mq_cores(), &set); /* one stack per core */
    pthread_attr_setaffinity_np(&a, sizeof set, &set);
    int e = pthread_create(&w->th, &a, worker_main, w);
    if (e == EINVAL || e == EPERM) { /* a cpuset without that core: unpinned */
        pthread_attr_destroy(&a);
        pthread_attr_init(&a);
        fprintf(stderr, "%s: thread %u cannot be pinned to core %u; running "
                "it unpinned\n", prog, w->idx, w->idx);
        e = pthread_create(&w->th, &a, worker_main, w);
    }
    pthread_attr_destroy(&a);
    if (e) {
        fprintf(stderr, "%s: cannot start thread %u: %s\n", prog, w->idx,
                strerror(e));
        return -1;
    }
    w->started = true;
    return 0;
}

/* The datagrams the kernel dropped on the device because a queue was full
 * (drivers/net/tun.c counts them as the device's TX drops), or -1. */
static long long dev_drops(const char *dev)
{
    char path[96];
    snprintf(path, sizeof path, "/sys/class/net/%s/statistics/tx_dropped", dev);
    FILE *f = fopen(path, "r");
    long long v = -1;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static long long watch_read(const struct mq_drops_watch *d, const char *dev)
{
    return d->drops ? d->drops(d->ctx) : dev ? dev_drops(dev) : -1;
}

void mq_drops_start(struct mq_drops_watch *d, const char *dev)
{
    d->next = d->quiet_until = 0;
    d->last_at = sf_tun_now();
    d->last = watch_read(d, dev);
}

long long mq_drops_rise(struct mq_drops_watch *d, const char *dev, sf_time_t *span)
{
    sf_time_t now = sf_tun_now();
    if (now < d->next)
        return 0;
    d->next = now + SF_SEC;
    long long v = watch_read(d, dev), rise = 0;
    if (v < 0)
        return 0;
    if (d->last >= 0 && v > d->last && now >= d->quiet_until) {
        rise = v - d->last;
        *span = now - d->last_at;
        d->quiet_until = now + 10 * SF_SEC;
    }
    d->last = v;
    d->last_at = now;
    return rise;
}

/* mq_run's watch of its threads. */
static void watch_drops(struct mq_drops_watch *d, const char *prog, const char *dev)
{
    sf_time_t span;
    long long rise = mq_drops_rise(d, dev, &span);
    if (rise)
        fprintf(stderr, "%s: %s: the kernel dropped %lld %s in the last "
                "second that synfin's queues could not take: a thread is "
                "falling behind (each thread's load: synfin ss --ctl PATH.K "
                "--stats)\n", prog, dev, rise, d->drops ? "frames" : "datagrams");
}

/* A worker awake for more than BEHIND_NS: said once per episode. */
static void watch(struct mq_worker *w, unsigned n, const char *prog,
                  const char *dev, bool xdp)
{
    sf_time_t now = sf_tun_now();
    for (unsigned k = 0; k < n; k++) {
        long long b = atomic_load_explicit(&w[k].busy_since, memory_order_relaxed);
        bool behind = b && !atomic_load(&w[k].done) && now > (sf_time_t)b + BEHIND_NS;
        if (behind && !w[k].warned)
            fprintf(stderr, "%s: thread %u has not gone back to its queue %u "
                    "for %.1f s: it is falling behind (the kernel drops what "
                    "the queue cannot hold: %s%s%s)\n",
                    prog, k, k, (double)(now - (sf_time_t)b) / 1e9,
                    xdp ? "synfin ss --stats, xdp.k_rx_ring_full on " : "ip -s link show ",
                    dev, xdp ? "" : ", TX dropped");
        w[k].warned = behind;
    }
}

int mq_run(struct mq_worker *w, unsigned n, int sigfd, const char *prog,
           const char *dev, bool all_or_none)
{
    return mq_run_drops(w, n, sigfd, prog, dev, all_or_none, NULL, NULL);
}

int mq_run_drops(struct mq_worker *w, unsigned n, int sigfd, const char *prog,
                 const char *dev, bool all_or_none,
                 long long (*drops)(void *ctx), void *ctx)
{
    int rc = 0;
    bool quitting = false;
    struct mq_drops_watch dw = {.drops = drops, .ctx = ctx};
    /* the count before any thread runs: what a thread stopped before the
     * first look lets the kernel drop is still said */
    mq_drops_start(&dw, dev);
    for (unsigned k = 0; k < n; k++)
        if (start(&w[k], prog) < 0) {
            rc = 1;
            quitting = true;
            tell_quit(w, k);
            break;
        }
    for (;;) {
        unsigned live = 0;
        for (unsigned k = 0; k < n; k++) {
            if (!w[k].started)
                continue;
            if (!atomic_load(&w[k].done)) {
                live++;
                continue;
            }
            pthread_join(w[k].th, NULL);
            w[k].started = false;
            if (w[k].rc && !rc)
                rc = w[k].rc;
            if (w[k].rc && !quitting && all_or_none) {
                /* One queue stopped: the others' flows are theirs alone
                 * and cannot be moved, so all stop (the worker said why). */
                fprintf(stderr, "%s: thread %u ended with status %d: stopping "
                        "the other threads\n", prog, k, w[k].rc);
                quitting = true;
                tell_quit(w, n);
            }
        }
        if (!live)
            break;
        struct pollfd p = {.fd = sigfd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0 && (p.revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                ;
            quitting = true;
            tell_quit(w, n);
        }
        watch(w, n, prog, dev, drops != NULL);
        watch_drops(&dw, prog, dev);
    }
    return rc;
}
