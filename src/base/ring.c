#include "base/ring.h"

#include <stdlib.h>
#include <string.h>

void sf_ring_init(struct sf_ring *r, uint32_t cap)
{
    r->buf = NULL;
    r->cap = cap;
    r->head = r->len = 0;
}

void sf_ring_free(struct sf_ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->head = r->len = 0;
}

int sf_ring_reserve(struct sf_ring *r)
{
    if (r->buf || r->cap == 0)
        return 0;
    r->buf = malloc(r->cap);
    return r->buf ? 0 : -1;
}

uint32_t sf_ring_write(struct sf_ring *r, const void *data, uint32_t len)
{
    if (sf_ring_reserve(r) < 0)
        return 0;
    if (len > sf_ring_space(r))
        len = sf_ring_space(r);
    uint32_t tail = (uint32_t)(((uint64_t)r->head + r->len) % r->cap);
    uint32_t first = r->cap - tail < len ? r->cap - tail : len;
    memcpy(r->buf + tail, data, first);
    memcpy(r->buf, (const uint8_t *)data + first, len - first);
    r->len += len;
    return len;
}

uint32_t sf_ring_peek(const struct sf_ring *r, uint32_t off, void *out, uint32_t len)
{
    if (off >= r->len)
        return 0;
    if (len > r->len - off)
        len = r->len - off;
    uint32_t start = (uint32_t)(((uint64_t)r->head + off) % r->cap);
    uint32_t first = r->cap - start < len ? r->cap - start : len;
    memcpy(out, r->buf + start, first);
    memcpy((uint8_t *)out + first, r->buf, len - first);
    return len;
}

void sf_ring_consume(struct sf_ring *r, uint32_t len)
{
    if (len > r->len)
        len = r->len;
    r->head = r->cap ? (r->head + len) % r->cap : 0;
    r->len -= len;
    /* head is not reset when the ring empties: bytes written past the
     * tail by sf_ring_write_at() keep their place */
}

uint32_t sf_ring_write_at(struct sf_ring *r, uint32_t off, const void *data,
                          uint32_t len)
{
    if (sf_ring_reserve(r) < 0 || off >= sf_ring_space(r))
        return 0;
    if (len > sf_ring_space(r) - off)
        len = sf_ring_space(r) - off;
    uint32_t pos = (uint32_t)(((uint64_t)r->head + r->len + off) % r->cap);
    uint32_t first = r->cap - pos < len ? r->cap - pos : len;
    memcpy(r->buf + pos, data, first);
    memcpy(r->buf, (const uint8_t *)data + first, len - first);
    return len;
}

void sf_ring_commit(struct sf_ring *r, uint32_t n)
{
    if (n > sf_ring_space(r))
        n = sf_ring_space(r);
    r->len += n;
}
