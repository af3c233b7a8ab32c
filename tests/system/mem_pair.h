/* Two stacks joined by an in-memory wire with no delay, as synfin bench's
 * bulk (tests/system/test_buffers.c, test_zerocopy.c): what one stack
 * outputs waits in a queue until mem_pump hands it to the other, and
 * mem_idle fires the earlier timer. Header-only: each test is one
 * program. */
#ifndef SF_TESTS_SYSTEM_MEM_PAIR_H
#define SF_TESTS_SYSTEM_MEM_PAIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/synfin.h"

struct mem_wire {
    uint8_t *buf;
    size_t len, cap;
    bool failed;
};

static inline void mem_out(void *ctx, const uint8_t *d, size_t n)
{
    struct mem_wire *q = ctx;
    if (q->len + 4 + n > q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1 << 16;
        while (cap < q->len + 4 + n)
            cap *= 2;
        uint8_t *nb = realloc(q->buf, cap);
        if (!nb) {
            q->failed = true;
            return;
        }
        q->buf = nb;
        q->cap = cap;
    }
    uint32_t n32 = (uint32_t)n;
    memcpy(q->buf + q->len, &n32, 4);
    memcpy(q->buf + q->len + 4, d, n);
    q->len += 4 + n;
}

struct mem_pair {
    struct sf_stack *st[2];
    struct mem_wire to[2]; /* to[k]: datagrams towards stack k */
    sf_time_t now;
    int listener; /* st[1]'s, port 80 */
};

/* Everything queued towards stack k goes in, once, but what keep (if
 * not NULL) refuses, which is lost; what that makes stack k send waits
 * in the other queue (a stack never outputs to its own). */
static inline void mem_deliver_if(struct mem_pair *p, int k,
                                  bool (*keep)(const uint8_t *d, uint32_t n))
{
    struct mem_wire *q = &p->to[k];
    for (size_t off = 0; off < q->len;) {
        uint32_t n;
        memcpy(&n, q->buf + off, 4);
        if (!keep || keep(q->buf + off + 4, n))
            sf_stack_input(p->st[k], p->now, q->buf + off + 4, n);
        off += 4 + n;
    }
    q->len = 0;
}

static inline void mem_deliver(struct mem_pair *p, int k)
{
    mem_deliver_if(p, k, NULL);
}

static inline void mem_pump(struct mem_pair *p)
{
    while (p->to[0].len || p->to[1].len)
        for (int k = 1; k >= 0; k--)
            mem_deliver(p, k);
}

/* fires the earlier timer (a delayed ACK); false if none is pending */
static inline bool mem_idle(struct mem_pair *p)
{
    sf_time_t a = sf_stack_advance(p->st[0], p->now);
    sf_time_t b = sf_stack_advance(p->st[1], p->now);
    mem_pump(p);
    sf_time_t next = a < b ? a : b;
    if (next == SF_TIME_NEVER)
        return false;
    p->now = next > p->now ? next : p->now + SF_USEC;
    sf_stack_advance(p->st[0], p->now);
    sf_stack_advance(p->st[1], p->now);
    mem_pump(p);
    return true;
}

/* A new connection from a client socket *c on st[0] to st[1]'s listener:
 * the server's descriptor from sf_accept (an error if st[1] did not
 * take it, its SYN refused at a memory cap say). */
static inline int mem_pair_connect(struct mem_pair *p, int *c)
{
    struct sf_addr ra = {.ip = 0xc6120002u, .port = 80};
    *c = sf_socket(p->st[0]);
    CHECK_EQ(sf_connect(p->st[0], *c, &ra), SF_EINPROGRESS);
    mem_pump(p);
    return sf_accept(p->st[1], p->listener, NULL);
}

/* Two stacks, 198.18.0.1 (st[0]) and 198.18.0.2 (st[1]), and a
 * connection from a client socket *c on st[0] to a server socket *s on
 * st[1] (port 80), established. tune (if not NULL) may change stack k's
 * configuration before it is created. */
static inline void mem_pair_open_with(struct mem_pair *p, int *c, int *s,
                                      void (*tune)(struct sf_stack_cfg *cfg, int k, void *arg),
                                      void *arg)
{
    memset(p, 0, sizeof *p);
    p->now = SF_SEC;
    for (int k = 0; k < 2; k++) {
        struct sf_stack_cfg cfg;
        sf_stack_cfg_default(&cfg);
        cfg.addr = 0xc6120001u + (uint32_t)k; /* 198.18.0.1, .2 */
        cfg.output = mem_out;
        cfg.output_ctx = &p->to[1 - k];
        for (int i = 0; i < 16; i++)
            cfg.seed[i] = (uint8_t)(k * 31 + i);
        if (tune)
            tune(&cfg, k, arg);
        CHECK_EQ(sf_stack_create(&cfg, p->now, &p->st[k]), 0);
    }
    struct sf_addr la = {.port = 80};
    int l = p->listener = sf_socket(p->st[1]);
    CHECK_EQ(sf_bind(p->st[1], l, &la), 0);
    CHECK_EQ(sf_listen(p->st[1], l, 4), 0);
    *s = mem_pair_connect(p, c);
    CHECK(*s >= 0);
}

static inline void mem_pair_open(struct mem_pair *p, int *c, int *s)
{
    mem_pair_open_with(p, c, s, NULL, NULL);
}

static inline void mem_pair_free(struct mem_pair *p)
{
    for (int k = 0; k < 2; k++) {
        sf_stack_free(p->st[k]);
        free(p->to[k].buf);
    }
}

#endif
