/* The simulator's event queue (a binary heap on (time, seq)) and its small
 * integer hash map (host addresses, links). */
#include <stdlib.h>
#include <string.h>

#include "link/sim_int.h"

void sim_heap_init(struct sim_heap *h)
{
    memset(h, 0, sizeof *h);
}

void sim_heap_free(struct sim_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->ev[i].buf);
    free(h->ev);
    memset(h, 0, sizeof *h);
}

/* Strict order on (time, seq); seq is unique, so there are no ties and the
 * pop order is fully determined by the push order. */
static bool ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
    if (a->time != b->time)
        return a->time < b->time;
    return a->seq < b->seq;
}

static void swap_ev(struct sim_ev *a, struct sim_ev *b)
{
    struct sim_ev t = *a;
    *a = *b;
    *b = t;
}

int sim_heap_push(struct sim_heap *h, struct sim_ev *ev)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct sim_ev *p = realloc(h->ev, cap * sizeof *p);
        if (!p)
            return SF_ENOMEM;
        h->ev = p;
        h->cap = cap;
    }
    ev->seq = h->next_seq++;
    size_t i = h->n++;
    h->ev[i] = *ev;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(&h->ev[i], &h->ev[parent]))
            break;
        swap_ev(&h->ev[i], &h->ev[parent]);
        i = parent;
    }
    return 0;
}

static void sift_down(struct sim_heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && ev_before(&h->ev[l], &h->ev[m]))
            m = l;
        if (r < h->n && ev_before(&h->ev[r], &h->ev[m]))
            m = r;
        if (m == i)
            return;
        swap_ev(&h->ev[i], &h->ev[m]);
        i = m;
    }
}

bool sim_heap_pop(struct sim_heap *h, struct sim_ev *out)
{
    if (h->n == 0)
        return false;
    *out = h->ev[0];
    h->ev[0] = h->ev[--h->n];
    sift_down(h, 0);
    return true;
}

const struct sim_ev *sim_heap_peek(const struct sim_heap *h)
{
    return h->n ? &h->ev[0] : NULL;
}

/* ------------------------------------------------------------- map */

void sim_map_init(struct sim_map *m)
{
    memset(m, 0, sizeof *m);
}

void sim_map_free(struct sim_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t map_slot(uint64_t key, size_t cap)
{
    uint64_t x = key;
    return (size_t)sim_splitmix64(&x) & (cap - 1);
}

int sim_map_get(const struct sim_map *m, uint64_t key)
{
    if (!m->cap)
        return -1;
    for (size_t i = map_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->vals[i] < 0)
            return -1;
        if (m->keys[i] == key)
            return m->vals[i];
    }
}

static int map_grow(struct sim_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = calloc(cap, sizeof *keys);
    int *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return SF_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++)
        vals[i] = -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] < 0)
            continue;
        size_t j = map_slot(m->keys[i], cap);
        while (vals[j] >= 0)
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int sim_map_put(struct sim_map *m, uint64_t key, int val)
{
    /* Keep the load at most one half so probes stay short. */
    if (2 * (m->n + 1) > m->cap && map_grow(m))
        return SF_ENOMEM;
    size_t i = map_slot(key, m->cap);
    while (m->vals[i] >= 0 && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (m->vals[i] < 0)
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}
