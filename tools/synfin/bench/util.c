/* synfin bench: helpers shared by the back ends. */
#include <malloc.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "synfin/wire.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Bytes handed out by malloc and not yet freed, mmapped chunks included:
 * the difference over N objects is what each one costs on the heap,
 * allocator headers and rounding included. -1 when unknown. */
long long bench_heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    long long used = (long long)mi.uordblks + (long long)mi.hblkhd;
    return used > 0 ? used : -1; /* sanitizers replace malloc: 0 here */
}

void bench_set(struct bench_res *r, enum bench_wl w, double v)
{
    r->v[w] = v;
    r->have[w] = true;
}

void bench_note(struct bench_res *r, const char *fmt, ...)
{
    size_t n = strlen(r->note);
    if (n + 3 >= sizeof r->note)
        return;
    if (n)
        n += (size_t)snprintf(r->note + n, sizeof r->note - n, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note + n, sizeof r->note - n, fmt, ap);
    va_end(ap);
}

size_t bench_syn(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, uint32_t seq)
{
    struct sf_ipv4 ip = {.src = src, .dst = dst, .ttl = 64,
                         .proto = SF_IPPROTO_TCP_NUM};
    struct sf_tcp seg = {.sport = sport, .dport = dport, .seq = seq,
                         .flags = SF_SYN, .win = 65535};
    seg.opt.has_mss = true;
    seg.opt.mss = 1460;
    return sf_emit(buf, 64, &ip, &seg);
}

/* Runs fn in a forked child (after setup, if any) and merges the results
 * it sends back through a pipe: the child's namespaces, descriptors and
 * library globals (lwIP has many) die with it. */
void bench_in_child(int (*setup)(struct bench_res *), bench_group_fn fn,
                    const struct bench_opts *o, struct bench_res *res)
{
    int p[2];
    if (pipe(p) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        struct bench_res r;
        memset(&r, 0, sizeof r);
        if (!setup || setup(&r) == 0)
            fn(o, &r);
        ssize_t n = write(p[1], &r, sizeof r);
        _exit(n == (ssize_t)sizeof r ? 0 : 1);
    }
    close(p[1]);
    struct bench_res r;
    ssize_t n = pid > 0 ? read(p[0], &r, sizeof r) : -1;
    close(p[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    if (n != (ssize_t)sizeof r) {
        bench_note(res, "child failed");
        return;
    }
    for (int w = 0; w < BW_N; w++)
        if (r.have[w])
            bench_set(res, (enum bench_wl)w, r.v[w]);
    if (r.note[0])
        bench_note(res, "%s", r.note);
}

uint8_t *bench_q_push(struct bench_q *q, size_t n)
{
    size_t need = q->len + sizeof(uint32_t) + n;
    if (need > q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1 << 16;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = realloc(q->buf, cap);
        if (!nb)
            return NULL;
        q->buf = nb;
        q->cap = cap;
    }
    uint32_t n32 = (uint32_t)n;
    memcpy(q->buf + q->len, &n32, sizeof n32);
    uint8_t *at = q->buf + q->len + sizeof n32;
    q->len = need;
    return at;
}

void bench_groups_in_children(int (*setup)(struct bench_res *),
                              bench_group_fn life, bench_group_fn full,
                              bench_group_fn bulk, bench_group_fn mem,
                              const struct bench_opts *o,
                              struct bench_res *res)
{
    if (o->groups & (BENCH_G_LIFE | BENCH_G_FULL))
        bench_in_child(setup, life, o, res);
    if (o->groups & BENCH_G_FULL)
        bench_in_child(setup, full, o, res);
    if (o->groups & BENCH_G_BULK)
        bench_in_child(setup, bulk, o, res);
    if (o->groups & BENCH_G_MEM)
        bench_in_child(setup, mem, o, res);
}
