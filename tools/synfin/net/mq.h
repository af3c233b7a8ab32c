/* One stack per core (issue 15, docs/scale.md): the threads of `synfin
 * serve --threads N`, `connect --threads N` and `tun2socks --threads N`.
 *
 * A worker is one sf_stack, one link queue (a multi-queue TUN queue here;
 * an AF_XDP socket there) and the event loop that drives both, all owned
 * by one thread pinned to one core. Workers share nothing mutable: each
 * has its own stack, connections, buffers, timers, control socket and
 * counters; what they share is read-only (the options, and the 16-byte
 * cfg.seed, so every stack computes ISNs and SYN cookies with the same
 * secret). The main thread only waits: for SIGINT/SIGTERM, which it passes
 * on to every worker through the worker's quit eventfd; for a worker that
 * ended; and, once a second, for a thread falling behind: one stuck in an
 * iteration for 2 s (its heartbeat), or the device's queues overflowing
 * (the kernel's TX drops on it), each reported in one line. The
 * link does not matter here: body() runs whatever loop its link has
 * (sf_tun_run for TUN, sf_xdp_run for AF_XDP's `serve --xdp IFACE
 * --queues N`, one AF_XDP socket and UMEM per worker). */
#ifndef SF_TOOLS_MQ_H
#define SF_TOOLS_MQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "synfin/synfin.h"

/* At most this many threads, whatever the machine (and never more than
 * the cores online: one stack per core). */
#define MQ_MAX_THREADS 64

struct mq_worker {
    unsigned idx, n;
    int quit_fd;           /* eventfd the main thread writes to on a signal */
    int (*body)(void *arg); /* the worker's loop; returns its exit status */
    void *arg;
    /* written by the worker, read by the main thread: */
    atomic_llong busy_since; /* sf_tun_now() when the loop woke, 0 asleep */
    atomic_int done;
    int rc;
    /* the main thread's */
    pthread_t th;
    bool started, warned;
};

/* The number of cores online, for --threads' bound. */
unsigned mq_cores(void);
/* Checks --threads n against the cores (one line to stderr naming the
 * bound if not); returns 0 or -1. */
int mq_check_threads(const char *prog, unsigned n);
/* n workers, zeroed, quit_fd -1 (free() them after mq_free). */
struct mq_worker *mq_alloc(unsigned n);
/* Gives each of the n workers its quit eventfd. Returns 0, or -1 after a
 * one-line error (descriptors already opened closed again). */
int mq_init(struct mq_worker *w, unsigned n, const char *prog);
/* Starts the n workers (worker k pinned to core k), waits as said above
 * until every one has ended, and returns the first non-zero status (0 if
 * none). sigfd: the signalfd of SIGINT/SIGTERM (blocked in every thread).
 * dev names the link in messages. all_or_none: a worker ending with a
 * non-zero status (its queue failed) ends the others too (serve: a
 * stopped queue's flows cannot move to another stack); otherwise each
 * ends on its own (connect: one connection each). */
int mq_run(struct mq_worker *w, unsigned n, int sigfd, const char *prog,
           const char *dev, bool all_or_none);
/* mq_run with the link's own count of what the kernel dropped for want
 * of room in synfin's queues (drops(ctx), -1: unknown), in place of the
 * TUN device's TX drops: AF_XDP's XDP_STATISTICS (xdp_cli_drops). */
int mq_run_drops(struct mq_worker *w, unsigned n, int sigfd, const char *prog,
                 const char *dev, bool all_or_none,
                 long long (*drops)(void *ctx), void *ctx);
void mq_free(struct mq_worker *w, unsigned n);

/* What the kernel dropped for want of room in synfin's queues (drops(ctx),
 * -1: unknown; NULL: the TUN device dev's TX drops), read once a second
 * and to be said at most every 10 s: mq_run's watch of its threads, and
 * that of one AF_XDP queue (xdp_cli_run), each with its own words. */
struct mq_drops_watch {
    sf_time_t next, quiet_until, last_at;
    long long last; /* -1: none read */
    long long (*drops)(void *ctx);
    void *ctx;
};
/* Reads the count to start from (before the queues run: what a queue
 * stopped before the first look lets the kernel drop is still said). */
void mq_drops_start(struct mq_drops_watch *d, const char *dev);
/* Once a second: the rise to say now (0: none, or said less than 10 s
 * ago), over *span since the read before. */
long long mq_drops_rise(struct mq_drops_watch *d, const char *dev, sf_time_t *span);

/* In a worker's loop: mark it awake (now) or about to sleep (0). */
static inline void mq_beat(atomic_llong *b, sf_time_t now)
{
    if (b)
        atomic_store_explicit(b, (long long)now, memory_order_relaxed);
}

#endif
