/* Byte accounting against a limit, one per stack (as Linux's tcp_mem):
 * every storage that holds buffered data is charged when allocated and
 * credited when freed, so that the stack knows what it holds, its peak,
 * and whether an allocation would pass the cap. No TCP in here: the
 * counters it bumps are the caller's (pointers set by the stack). */
#ifndef SF_BASE_MEM_H
#define SF_BASE_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct mem_acct {
    uint64_t used, peak;
    uint64_t limit;       /* 0: no limit */
    uint64_t pressure_at; /* used above this: under pressure */
    bool pressure;        /* used > pressure_at (with a limit) */
    /* an allocation was refused at the cap, use being above pressure_at;
     * stays set until used falls back to pressure_at (new connections
     * are refused meanwhile) */
    bool full;
    uint64_t refusals;      /* allocations refused at the cap, ever */
    uint64_t want;          /* bytes of the last allocation refused */
    uint64_t *ctr_pressure; /* bumped at each entry into pressure */
    uint64_t *ctr_full;     /* bumped at each entry into full */
    uint64_t *ctr_refused;  /* bumped at each refused allocation */
};

static inline void mem_update(struct mem_acct *a)
{
    bool p = a->limit && a->used > a->pressure_at;
    if (p && !a->pressure && a->ctr_pressure)
        (*a->ctr_pressure)++;
    a->pressure = p;
    if (a->used <= a->pressure_at || !a->limit)
        a->full = false;
}

/* Would n more bytes stay within the limit? */
static inline bool mem_fits(const struct mem_acct *a, uint64_t n)
{
    return !a || !a->limit || (n <= a->limit && a->used <= a->limit - n);
}

/* Charges n bytes: false (nothing charged, the refusal noted) if they
 * would pass the limit. A NULL account takes anything. */
static inline bool mem_take(struct mem_acct *a, uint64_t n)
{
    if (!a)
        return true;
    if (!mem_fits(a, n)) {
        a->refusals++;
        a->want = n;
        if (a->ctr_refused)
            (*a->ctr_refused)++;
        if (a->used > a->pressure_at) { /* else: one large request */
            if (!a->full && a->ctr_full)
                (*a->ctr_full)++;
            a->full = true;
        }
        return false;
    }
    a->used += n;
    if (a->used > a->peak)
        a->peak = a->used;
    mem_update(a);
    return true;
}

static inline void mem_give(struct mem_acct *a, uint64_t n)
{
    if (!a)
        return;
    a->used = a->used > n ? a->used - n : 0;
    mem_update(a);
}

/* malloc(n) charged to a: NULL if a has no room or malloc fails. */
static inline void *mem_alloc(struct mem_acct *a, size_t n)
{
    if (!mem_take(a, n))
        return NULL;
    void *p = malloc(n);
    if (!p)
        mem_give(a, n);
    return p;
}

/* free(p) of n bytes from mem_alloc. */
static inline void mem_free(struct mem_acct *a, void *p, size_t n)
{
    if (!p)
        return;
    free(p);
    mem_give(a, n);
}

#endif
