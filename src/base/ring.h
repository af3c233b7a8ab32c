/* A byte ring buffer with a fixed capacity chosen at allocation. The
 * storage is allocated on first use (sf_ring_reserve), so an idle
 * connection holds no buffer memory. */
#ifndef SF_BASE_RING_H
#define SF_BASE_RING_H

#include <stddef.h>
#include <stdint.h>

struct sf_ring {
    uint8_t *buf;
    uint32_t cap;  /* capacity in bytes (buffer allocated lazily) */
    uint32_t head; /* offset of the first byte */
    uint32_t len;  /* bytes held */
};

void sf_ring_init(struct sf_ring *r, uint32_t cap);
void sf_ring_free(struct sf_ring *r);
/* Allocates the storage if not yet done; returns 0 or -1. */
int sf_ring_reserve(struct sf_ring *r);
static inline uint32_t sf_ring_space(const struct sf_ring *r) { return r->cap - r->len; }
/* Appends up to len bytes; returns how many. */
uint32_t sf_ring_write(struct sf_ring *r, const void *data, uint32_t len);
/* Copies len bytes starting off bytes after head into out (no removal);
 * returns how many were available. */
uint32_t sf_ring_peek(const struct sf_ring *r, uint32_t off, void *out, uint32_t len);
/* Writes len bytes at off bytes past the tail without making them part
 * of the ring yet (out-of-order data waiting for the gap before it);
 * returns how many fitted. sf_ring_commit() later takes n bytes at the
 * tail in. */
uint32_t sf_ring_write_at(struct sf_ring *r, uint32_t off, const void *data,
                          uint32_t len);
void sf_ring_commit(struct sf_ring *r, uint32_t n);
/* Drops len bytes from the head. */
void sf_ring_consume(struct sf_ring *r, uint32_t len);

#endif
