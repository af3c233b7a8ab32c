#include "base/ring.h"

#include <stdlib.h>
#include <string.h>

/* A storage of cap bytes charged to acct, or NULL (no room, no memory). */
static struct ring_mem *mem_new(uint32_t cap, struct mem_acct *acct)
{
    if (cap == 0 || !mem_take(acct, ring_mem_cost(cap)))
        return NULL;
    struct ring_mem *m = malloc(sizeof *m + cap);
    if (!m) {
        mem_give(acct, ring_mem_cost(cap));
        return NULL;
    }
    m->aux = NULL;
    m->acct = acct;
    m->cap = cap;
    m->head = m->len = 0;
    m->aux_size = 0;
    return m;
}

/* Frees a storage without aux, crediting its account. */
static void mem_del(struct ring_mem *m)
{
    mem_give(m->acct, ring_mem_cost(m->cap));
    free(m);
}

void ring_aux_free(struct ring *r)
{
    struct ring_mem *m = r->m;
    if (!m || !m->aux)
        return;
    free(m->aux);
    mem_give(m->acct, m->aux_size);
    m->aux = NULL;
    m->aux_size = 0;
}

void *ring_aux_alloc(struct ring *r, uint32_t n)
{
    struct ring_mem *m = r->m;
    if (!m || n == 0)
        return NULL;
    ring_aux_free(r);
    if (!mem_take(m->acct, n))
        return NULL;
    m->aux = calloc(1, n);
    if (!m->aux) {
        mem_give(m->acct, n);
        return NULL;
    }
    m->aux_size = n;
    return m->aux;
}

void ring_free(struct ring *r)
{
    if (!r->m)
        return;
    ring_aux_free(r);
    mem_del(r->m);
    r->m = NULL;
}

int ring_reserve(struct ring *r, uint32_t cap)
{
    if (r->m)
        return 0;
    r->m = mem_new(cap, NULL);
    return r->m ? 0 : -1;
}

static uint32_t pos(const struct ring_mem *m, uint64_t off);

int ring_grow(struct ring *r, uint32_t cap)
{
    struct ring_mem *m = r->m;
    if (!m)
        return ring_reserve(r, cap);
    if (cap <= m->cap)
        return 0;
    uint32_t old = m->cap;
    if (!mem_take(m->acct, (uint64_t)cap - old))
        return -1;
    struct ring_mem *n = realloc(m, sizeof *n + cap);
    if (!n) {
        mem_give(m->acct, (uint64_t)cap - old);
        return -1;
    }
    /* The old storage, from the head to its end and then its start (the
     * bytes held and any written past the tail), keeps its order from
     * the head: the shorter of the two parts moves, the wrapped start to
     * just past the old end, or the part from the head to the new end. */
    uint32_t first = old - n->head, wrapped = n->head;
    if (wrapped <= cap - old && wrapped <= first) {
        memcpy(n->data + old, n->data, wrapped);
    } else {
        memmove(n->data + cap - first, n->data + n->head, first);
        n->head = cap - first;
    }
    n->cap = cap;
    r->m = n;
    return 0;
}

static uint32_t pos(const struct ring_mem *m, uint64_t off)
{
    return (uint32_t)(((uint64_t)m->head + off) % m->cap);
}

/* Copies len bytes into the ring at position p, wrapping. */
static void put(struct ring_mem *m, uint32_t p, const uint8_t *data,
                uint32_t len)
{
    uint32_t first = m->cap - p < len ? m->cap - p : len;
    memcpy(m->data + p, data, first);
    memcpy(m->data, data + first, len - first);
}

uint32_t ring_write(struct ring *r, uint32_t cap, const void *data,
                       uint32_t len)
{
    uint32_t n = ring_write_at(r, cap, 0, data, len);
    ring_commit(r, n);
    return n;
}

uint32_t ring_write_at(struct ring *r, uint32_t cap, uint32_t off,
                          const void *data, uint32_t len)
{
    if (ring_reserve(r, cap) < 0)
        return 0;
    struct ring_mem *m = r->m;
    /* cap is the caller's limit; the storage may be larger (grown ahead) */
    uint32_t lim = cap < m->cap ? cap : m->cap;
    uint32_t space = lim > m->len ? lim - m->len : 0;
    if (off >= space)
        return 0;
    if (len > space - off)
        len = space - off;
    put(m, pos(m, (uint64_t)m->len + off), data, len);
    return len;
}

void ring_commit(struct ring *r, uint32_t n)
{
    if (!r->m)
        return;
    if (n > r->m->cap - r->m->len)
        n = r->m->cap - r->m->len;
    r->m->len += n;
}

uint32_t ring_peek(const struct ring *r, uint32_t off, void *out,
                      uint32_t len)
{
    const struct ring_mem *m = r->m;
    if (!m || off >= m->len)
        return 0;
    if (len > m->len - off)
        len = m->len - off;
    uint32_t start = pos(m, off);
    uint32_t first = m->cap - start < len ? m->cap - start : len;
    memcpy(out, m->data + start, first);
    memcpy((uint8_t *)out + first, m->data, len - first);
    return len;
}

/* Points p/n at len bytes of m's storage from position start, wrapping. */
static uint32_t slices(const struct ring_mem *m, uint32_t start, uint32_t len,
                       uint8_t *p[2], uint32_t n[2])
{
    n[0] = m->cap - start < len ? m->cap - start : len;
    n[1] = len - n[0];
    p[0] = (uint8_t *)m->data + start;
    p[1] = n[1] ? (uint8_t *)m->data : NULL;
    return len;
}

uint32_t ring_view(const struct ring *r, uint32_t off, uint32_t len,
                   uint8_t *p[2], uint32_t n[2])
{
    const struct ring_mem *m = r->m;
    n[0] = n[1] = 0;
    p[0] = p[1] = NULL;
    if (!m || off >= m->len)
        return 0;
    if (len > m->len - off)
        len = m->len - off;
    return slices(m, pos(m, off), len, p, n);
}

uint32_t ring_free_view(const struct ring *r, uint32_t cap, uint32_t len,
                        uint8_t *p[2], uint32_t n[2])
{
    const struct ring_mem *m = r->m;
    n[0] = n[1] = 0;
    p[0] = p[1] = NULL;
    if (!m)
        return 0;
    uint32_t lim = cap < m->cap ? cap : m->cap; /* as ring_write_at */
    uint32_t space = lim > m->len ? lim - m->len : 0;
    if (len > space)
        len = space;
    return len ? slices(m, pos(m, m->len), len, p, n) : 0;
}

void ring_consume(struct ring *r, uint32_t len)
{
    struct ring_mem *m = r->m;
    if (!m)
        return;
    if (len > m->len)
        len = m->len;
    m->head = pos(m, len);
    m->len -= len;
    /* head is not reset when the ring empties: bytes written past the
     * tail by ring_write_at() keep their place */
}

void ring_trim(struct ring *r, bool keep)
{
    if (r->m && r->m->len == 0 && !keep)
        ring_free(r);
}

void ring_cache_free(struct ring_cache *rc)
{
    for (unsigned i = 0; i < rc->n; i++)
        mem_del(rc->m[i]);
    rc->n = 0;
    rc->bytes = 0;
}

/* The newest cached storage of lo to hi bytes: its index, or -1. */
static int cache_find(const struct ring_cache *rc, uint32_t lo, uint32_t hi)
{
    for (unsigned i = rc->n; i-- > 0;)
        if (rc->m[i]->cap >= lo && rc->m[i]->cap <= hi)
            return (int)i;
    return -1;
}

int ring_reserve_cached(struct ring *r, uint32_t need, uint32_t most,
                        uint32_t cap, struct ring_cache *rc)
{
    if (r->m)
        return 1;
    if (rc->acct && rc->acct->pressure)
        ring_cache_free(rc); /* under pressure: nothing kept idle */
    /* one of the size asked or more first, then of the need or more */
    int take = cache_find(rc, cap, most);
    if (take < 0)
        take = cache_find(rc, need, most);
    if (take >= 0) {
        unsigned i = (unsigned)take;
        struct ring_mem *m = rc->m[i];
        memmove(&rc->m[i], &rc->m[i + 1], (rc->n - i - 1) * sizeof rc->m[0]);
        rc->n--;
        rc->bytes -= m->cap;
        m->head = m->len = 0;
        r->m = m;
        return 1;
    }
    /* the limit reached: idle storages go before the new one is refused */
    if (!mem_fits(rc->acct, ring_mem_cost(cap)))
        ring_cache_free(rc);
    r->m = mem_new(cap, rc->acct);
    return r->m ? 0 : -1;
}

void ring_trim_cached(struct ring *r, bool keep, struct ring_cache *rc)
{
    struct ring_mem *m = r->m;
    if (!m || m->len != 0 || keep)
        return;
    if (m->cap > RING_CACHE_BYTES || m->acct != rc->acct ||
        (rc->acct && rc->acct->pressure)) {
        ring_free(r);
        return;
    }
    ring_aux_free(r);
    while (rc->n == RING_CACHE_N || rc->bytes + m->cap > RING_CACHE_BYTES) {
        rc->bytes -= rc->m[0]->cap; /* the oldest leaves */
        mem_del(rc->m[0]);
        memmove(&rc->m[0], &rc->m[1], (rc->n - 1) * sizeof rc->m[0]);
        rc->n--;
    }
    rc->m[rc->n++] = m;
    rc->bytes += m->cap;
    r->m = NULL;
}
