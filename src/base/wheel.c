/* A hashed timing wheel (Varghese and Lauck, 1987) with exact expiry times.
 *
 * Invariants, with now = w->now:
 *  - a pending timer with expires > now sits in slot tick(expires) & mask,
 *    unsorted (O(1) start and stop); far timers share the slot of their
 *    tick modulo nslots and are skipped until their revolution comes;
 *  - a pending timer with expires <= now sits in the due list
 *    (slots[nslots]), sorted by (expires, order), so pops come out in the
 *    documented order;
 *  - cached_next, when valid, is the earliest expiry among slot timers.
 * Whether a timer is in a slot or the due list is thus told by its expiry
 * alone. */
#include "base/wheel.h"

#include <stdlib.h>

static struct wheel_timer *due(struct wheel *w)
{
    return &w->slots[w->nslots];
}

static uint64_t tick_of(const struct wheel *w, sf_time_t t)
{
    return t / w->granularity;
}

static size_t slot_of(const struct wheel *w, sf_time_t t)
{
    return (size_t)(tick_of(w, t) & (w->nslots - 1));
}

static bool before(const struct wheel_timer *a, const struct wheel_timer *b)
{
    return a->expires < b->expires ||
           (a->expires == b->expires && (int32_t)(a->order - b->order) < 0);
}

static void list_init(struct wheel_timer *head)
{
    head->next = head->prev = head;
}

static void link_after(struct wheel_timer *pos, struct wheel_timer *t)
{
    t->prev = pos;
    t->next = pos->next;
    pos->next->prev = t;
    pos->next = t;
}

static void unlink_timer(struct wheel_timer *t)
{
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

static void mark(struct wheel *w, size_t s, bool on)
{
    uint64_t bit = (uint64_t)1 << (s % 64);
    if (on)
        w->occupied[s / 64] |= bit;
    else
        w->occupied[s / 64] &= ~bit;
}

int wheel_init(struct wheel *w, size_t nslots, sf_time_t granularity,
                  sf_time_t now)
{
    if (nslots == 0 || nslots > ((size_t)1 << 24) || granularity == 0)
        return SF_EINVAL;
    size_t n = 1;
    while (n < nslots)
        n <<= 1;
    w->slots = malloc((n + 1) * sizeof *w->slots);
    w->occupied = calloc((n + 63) / 64, sizeof *w->occupied);
    if (!w->slots || !w->occupied) {
        free(w->slots);
        free(w->occupied);
        w->slots = NULL;
        w->occupied = NULL;
        return SF_ENOMEM;
    }
    for (size_t i = 0; i <= n; i++)
        list_init(&w->slots[i]);
    w->nslots = n;
    w->granularity = granularity;
    w->now = now;
    w->next_order = 0;
    w->count = 0;
    w->cached_next = SF_TIME_NEVER;
    w->cache_valid = true;
    return 0;
}

void wheel_free(struct wheel *w)
{
    free(w->slots);
    free(w->occupied);
    w->slots = NULL;
    w->occupied = NULL;
    w->nslots = 0;
    w->count = 0;
}

/* Inserts into the due list from its tail: t was started last, so it goes
 * after every due timer with the same or an earlier expiry. Expired timers
 * are usually started "now", so the walk is short. */
static void due_insert(struct wheel *w, struct wheel_timer *t)
{
    struct wheel_timer *pos = due(w)->prev;
    while (pos != due(w) && before(t, pos))
        pos = pos->prev;
    link_after(pos, t);
}

void wheel_start(struct wheel *w, struct wheel_timer *t, sf_time_t expires)
{
    wheel_stop(w, t);
    t->expires = expires;
    t->order = w->next_order++;
    t->pending = true;
    w->count++;
    if (expires <= w->now) {
        due_insert(w, t);
        return;
    }
    size_t s = slot_of(w, expires);
    link_after(&w->slots[s], t);
    mark(w, s, true);
    if (w->cache_valid && expires < w->cached_next)
        w->cached_next = expires;
}

void wheel_stop(struct wheel *w, struct wheel_timer *t)
{
    if (!t->pending)
        return;
    bool in_slot = t->expires > w->now;
    unlink_timer(t);
    t->pending = false;
    w->count--;
    if (!in_slot)
        return;
    size_t s = slot_of(w, t->expires);
    if (w->slots[s].next == &w->slots[s])
        mark(w, s, false);
    if (t->expires == w->cached_next)
        w->cache_valid = false;
}

/* First occupied slot index in [i, nslots), or nslots. */
static size_t scan_from(const struct wheel *w, size_t i)
{
    while (i < w->nslots) {
        uint64_t word = w->occupied[i / 64] >> (i % 64);
        if (word)
            return i + (size_t)__builtin_ctzll(word);
        i = (i / 64 + 1) * 64;
    }
    return w->nslots;
}

/* The circular distance from slot s0 of the first occupied slot at distance
 * >= d, or nslots if there is none. */
static size_t next_occupied(const struct wheel *w, size_t s0, size_t d)
{
    size_t mask = w->nslots - 1;
    if (d >= w->nslots)
        return w->nslots;
    size_t f = scan_from(w, (s0 + d) & mask);
    if (f == w->nslots)
        f = scan_from(w, 0);
    if (f == w->nslots)
        return w->nslots;
    size_t dist = (f - s0) & mask;
    return dist >= d ? dist : w->nslots;
}

/* Scans occupied slots in tick order from the wheel's current tick until
 * one holds a timer of the current revolution; every timer of a later
 * revolution seen on the way expires later than that one, so the minimum
 * over all timers visited is the answer. With no timer within one
 * revolution this visits every timer once; the result is then cached. */
static sf_time_t slots_min(const struct wheel *w)
{
    uint64_t b = tick_of(w, w->now);
    size_t s0 = (size_t)(b & (w->nslots - 1));
    sf_time_t best = SF_TIME_NEVER;
    for (size_t d = next_occupied(w, s0, 0); d < w->nslots;
         d = next_occupied(w, s0, d + 1)) {
        const struct wheel_timer *head = &w->slots[(s0 + d) & (w->nslots - 1)];
        bool current = false;
        for (const struct wheel_timer *t = head->next; t != head; t = t->next) {
            if (t->expires < best)
                best = t->expires;
            if (tick_of(w, t->expires) == b + d)
                current = true;
        }
        if (current)
            break;
    }
    return best;
}

sf_time_t wheel_next(struct wheel *w)
{
    if (due(w)->next != due(w))
        return due(w)->next->expires;
    if (w->count == 0)
        return SF_TIME_NEVER;
    if (!w->cache_valid) {
        w->cached_next = slots_min(w);
        w->cache_valid = true;
    }
    return w->cached_next;
}

/* Merge sort of a NULL-terminated list linked through next, by (expires,
 * order). No allocation: recursion depth is log2 of the length. */
static struct wheel_timer *merge(struct wheel_timer *a, struct wheel_timer *b)
{
    struct wheel_timer head, *tail = &head;
    while (a && b) {
        struct wheel_timer **src = before(b, a) ? &b : &a;
        tail->next = *src;
        tail = *src;
        *src = (*src)->next;
    }
    tail->next = a ? a : b;
    return head.next;
}

static struct wheel_timer *sort_list(struct wheel_timer *l, size_t n)
{
    if (n < 2)
        return l;
    struct wheel_timer *mid = l;
    for (size_t i = 1; i < n / 2; i++)
        mid = mid->next;
    struct wheel_timer *second = mid->next;
    mid->next = NULL;
    return merge(sort_list(l, n / 2), sort_list(second, n - n / 2));
}

/* Moves every slot timer with expires <= now out of slot head onto the
 * singly linked list *out. */
static size_t harvest_slot(struct wheel *w, size_t s, sf_time_t now,
                           struct wheel_timer **out)
{
    struct wheel_timer *head = &w->slots[s];
    size_t n = 0;
    for (struct wheel_timer *t = head->next, *nx; t != head; t = nx) {
        nx = t->next;
        if (t->expires > now)
            continue;
        unlink_timer(t);
        t->next = *out;
        *out = t;
        n++;
    }
    if (head->next == head)
        mark(w, s, false);
    return n;
}

/* Moves the timers expiring in (w->now, now] to the due list. Only the
 * slots of ticks tick(w->now)..tick(now) can hold them; a jump of a whole
 * revolution or more visits each occupied slot once, never each tick. */
static void advance(struct wheel *w, sf_time_t now)
{
    uint64_t b = tick_of(w, w->now), e = tick_of(w, now);
    size_t span = e - b >= w->nslots ? w->nslots : (size_t)(e - b + 1);
    size_t s0 = (size_t)(b & (w->nslots - 1));
    struct wheel_timer *got = NULL;
    size_t n = 0;
    for (size_t d = next_occupied(w, s0, 0); d < span;
         d = next_occupied(w, s0, d + 1))
        n += harvest_slot(w, (s0 + d) & (w->nslots - 1), now, &got);
    w->now = now;
    if (w->cache_valid && w->cached_next <= now)
        w->cache_valid = false;
    /* Everything already due expired at or before the old now, so the
     * newly due timers, sorted, go after them. */
    got = sort_list(got, n);
    for (struct wheel_timer *t = got, *nx; t; t = nx) {
        nx = t->next;
        link_after(due(w)->prev, t);
    }
}

struct wheel_timer *wheel_pop_expired(struct wheel *w, sf_time_t now)
{
    if (now > w->now)
        advance(w, now);
    struct wheel_timer *t = due(w)->next;
    if (t == due(w) || t->expires > now)
        return NULL;
    unlink_timer(t);
    t->pending = false;
    w->count--;
    return t;
}
