/* A hashed timing wheel: one per stack, holding every timer of every
 * connection as an intrusive entry. Start and stop are O(1); popping an
 * expired timer is O(1) amortised. Times are exact: a timer expires at the
 * first call with now >= its expiry, never rounded to a tick, and
 * wheel_next() returns the exact earliest expiry.
 *
 * Firing order is deterministic: by expiry time, then by the order in which
 * the timers were started. */
#ifndef SF_BASE_WHEEL_H
#define SF_BASE_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/synfin.h"

struct wheel_timer {
    struct wheel_timer *next, *prev; /* slot list; prev == NULL when idle */
    sf_time_t expires;
    uint32_t order; /* start order, breaks ties (serial arithmetic) */
    uint8_t kind;   /* owner's tag */
    bool pending;
};

struct wheel {
    struct wheel_timer *slots; /* nslots list heads (sentinels) */
    size_t nslots;          /* a power of two */
    sf_time_t granularity;  /* ns per slot */
    sf_time_t now;          /* last time passed to wheel_pop_expired */
    uint32_t next_order;
    size_t count; /* pending timers */
    /* private bookkeeping for next-expiry queries */
    sf_time_t cached_next;
    bool cache_valid;
    /* private (added): one bit per non-empty slot, so scans skip empty
     * slots 64 at a time; slots[nslots] is the sorted list of due timers */
    uint64_t *occupied;
};

/* nslots is rounded up to a power of two; returns 0 or SF_ENOMEM/SF_EINVAL. */
int wheel_init(struct wheel *w, size_t nslots, sf_time_t granularity,
                  sf_time_t now);
void wheel_free(struct wheel *w);

static inline void wheel_timer_init(struct wheel_timer *t, uint8_t kind)
{
    t->next = t->prev = NULL;
    t->expires = 0;
    t->order = 0;
    t->kind = kind;
    t->pending = false;
}
static inline bool wheel_timer_pending(const struct wheel_timer *t)
{
    return t->pending;
}

/* (Re)starts t to expire at the absolute time expires (which may be in the
 * past: it then expires at the next pop). */
void wheel_start(struct wheel *w, struct wheel_timer *t, sf_time_t expires);
/* Stops t if pending; harmless otherwise. */
void wheel_stop(struct wheel *w, struct wheel_timer *t);
/* The earliest expiry of any pending timer, or SF_TIME_NEVER. */
sf_time_t wheel_next(struct wheel *w);
/* Removes and returns the earliest timer with expires <= now (ties by start
 * order), or NULL if none is due. Records now as the wheel's time. */
struct wheel_timer *wheel_pop_expired(struct wheel *w, sf_time_t now);

#endif
