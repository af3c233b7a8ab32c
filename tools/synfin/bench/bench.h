/* synfin bench: shared definitions of the benchmark driver and its three
 * back ends (synfin in memory, the Linux kernel over loopback in a fresh
 * network namespace, lwIP in memory). Each back end runs the same
 * workloads and fills one struct bench_res; the driver interleaves rounds
 * and reports medians. */
#ifndef SF_TOOLS_BENCH_H
#define SF_TOOLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(id, label, unit). The order is the table's. */
#define BENCH_WORKLOADS(X)                                                   \
    X(GRACEFUL, "graceful lifecycles/s", "1/s")                              \
    X(ABORT, "abort lifecycles/s", "1/s")                                    \
    X(GRACEFUL_FULL, "graceful, full tables /s", "1/s")                      \
    X(ABORT_FULL, "abort, full tables /s", "1/s")                            \
    X(GRACEFUL_RATIO, "graceful full/empty", "ratio")                        \
    X(ABORT_RATIO, "abort full/empty", "ratio")                              \
    X(BULK, "bulk MB/s", "MB/s")                                             \
    X(MEM_ESTAB, "bytes/established", "B")                                   \
    X(MEM_SYN, "bytes/SYN-queue entry", "B")                                 \
    X(MEM_TW, "bytes/TIME_WAIT", "B")                                       \
    X(GRACEFUL6, "graceful lifecycles/s, IPv6", "1/s")                       \
    X(ABORT6, "abort lifecycles/s, IPv6", "1/s")                             \
    X(BULK6, "bulk MB/s, IPv6", "MB/s")

enum bench_wl {
#define BENCH_X_(id, label, unit) BW_##id,
    BENCH_WORKLOADS(BENCH_X_)
#undef BENCH_X_
    BW_N
};

/* Workload groups selectable with --only. LIFE and BULK measure over
 * IPv4 and over IPv6 (the *6 rows: synfin's two stacks between 2001:db8::1
 * and ::2, Linux over ::1; lwIP's back end is IPv4 only). */
#define BENCH_G_LIFE 0x1 /* graceful, abort */
#define BENCH_G_FULL 0x2 /* the same with full tables (implies LIFE) */
#define BENCH_G_BULK 0x4
#define BENCH_G_MEM 0x8
#define BENCH_G_ALL 0xf
#define BENCH_G_PATH 0x10 /* the path grid (not in all: minutes) */

struct bench_opts {
    unsigned groups;      /* BENCH_G_* */
    double seconds;       /* per lifecycle measurement */
    uint64_t bulk_bytes;  /* bytes moved by the bulk workload */
    unsigned fill;        /* TIME_WAIT and established for full tables */
    unsigned mem_conns;   /* connections for the memory workloads */
    unsigned ports;       /* server ports to rotate among */
    bool verbose;
    uint64_t path_bytes;  /* path grid: bytes each way per cell */
    double path_cap;      /* path grid: seconds per cell at most */
    bool path_quick;      /* path grid: two cells only */
    const char *linux_cc; /* path grid: the kernels' TCP_CONGESTION */
    int pacing;           /* path grid: synfin's cfg.pacing, -1: default */
    const char *path_cells; /* path grid: only cells whose label has this */
    const char *path_pcap;  /* path grid: capture of synfin's TUN side */
    unsigned path_runs;     /* path grid: runs per cell and column (median) */
    unsigned path_bdps;     /* path grid: a bottleneck cell's size in BDPs, at least */
};

#define BENCH_PATH_MAX_RUNS 15

struct bench_res {
    double v[BW_N];
    bool have[BW_N];
    char note[128]; /* why some workloads are missing, if any */
};

/* A back end: runs the selected workloads once. Returns 0, or -1 when
 * the back end cannot run at all here (res->note says why). */
typedef int (*bench_backend_fn)(const struct bench_opts *o,
                                struct bench_res *res);

/* The in-memory wire of the synfin and lwIP back ends: datagrams queued
 * back to back, each behind its 32-bit length. */
struct bench_q {
    uint8_t *buf;
    size_t len, cap;
};
/* Room for one more datagram of n bytes (its length written in front), or
 * NULL when memory ran out. */
uint8_t *bench_q_push(struct bench_q *q, size_t n);

int bench_synfin(const struct bench_opts *o, struct bench_res *res);
int bench_linux(const struct bench_opts *o, struct bench_res *res);
int bench_lwip(const struct bench_opts *o, struct bench_res *res);
/* The path grid (path.c): prints its own table. sim: the synfin column;
 * real: the Linux and TUN columns (root). */
void bench_path(const struct bench_opts *o, bool sim, bool real);

typedef void (*bench_group_fn)(const struct bench_opts *o,
                               struct bench_res *res);
void bench_in_child(int (*setup)(struct bench_res *), bench_group_fn fn,
                    const struct bench_opts *o, struct bench_res *res);
/* Each workload group the options ask for, in a child of its own (the
 * lifecycle group also serves the full-tables one, for its empty rate). */
void bench_groups_in_children(int (*setup)(struct bench_res *),
                              bench_group_fn life, bench_group_fn full,
                              bench_group_fn bulk, bench_group_fn mem,
                              const struct bench_opts *o,
                              struct bench_res *res);

/* Helpers shared by the back ends (util.c). */
double bench_now(void);                    /* monotonic seconds */
long long bench_heap_used(void);           /* mallinfo2 bytes in use, or -1 */
void bench_set(struct bench_res *r, enum bench_wl w, double v);
void bench_note(struct bench_res *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes an IPv4+TCP SYN (MSS 1460 option) with both checksums into buf
 * (at least 44 bytes); addresses and ports in host order. Returns its
 * length. */
size_t bench_syn(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, uint32_t seq);

#endif
