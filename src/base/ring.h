/* A byte ring buffer whose storage exists only while it holds bytes: a
 * connection that is idle holds no buffer memory, and the ring itself is
 * one pointer. The capacity is given when storage is first needed. */
#ifndef SF_BASE_RING_H
#define SF_BASE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mem.h"

struct ring_mem {
    void *aux;     /* the user's block that lives with the storage */
    struct mem_acct *acct; /* charged for the storage and aux, or NULL */
    uint32_t cap;  /* capacity in bytes */
    uint32_t head; /* offset of the first byte */
    uint32_t len;  /* bytes held */
    uint32_t aux_size; /* bytes of aux charged */
    uint8_t data[];
};

/* What a storage of cap bytes costs (charged to its account). */
static inline uint64_t ring_mem_cost(uint32_t cap)
{
    return sizeof(struct ring_mem) + (uint64_t)cap;
}

struct ring {
    struct ring_mem *m; /* NULL: empty and unallocated */
};

static inline void ring_init(struct ring *r) { r->m = NULL; }
static inline uint32_t ring_len(const struct ring *r)
{
    return r->m ? r->m->len : 0;
}
/* Free bytes in a ring of capacity cap. */
static inline uint32_t ring_space(const struct ring *r, uint32_t cap)
{
    uint32_t len = ring_len(r);
    return cap > len ? cap - len : 0;
}
/* Frees the storage (and its aux block). */
void ring_free(struct ring *r);
/* Gives the ring storage of cap bytes if it has none; 0 or -1. The
 * storage is charged to no account (ring_reserve_cached charges the
 * cache's). */
int ring_reserve(struct ring *r, uint32_t cap);
/* A block of n bytes (zeroed) living with the storage (freed with it),
 * charged to the storage's account; NULL if the ring has no storage, the
 * account has no room or malloc fails. An aux block there already is
 * freed first. */
void *ring_aux_alloc(struct ring *r, uint32_t n);
void ring_aux_free(struct ring *r);

/* A few empty storages kept for reuse (one cache per stack). A ring read
 * dry gives its storage up, and the next segment asks for one at once
 * (ring_reserve_cached says which it takes): taken from here, the
 * storage's pages stay mapped, where a fresh allocation of a large ring (glibc serves it with mmap)
 * would have the kernel fault in and zero every page again (over TUN:
 * 40-50 Mbit/s of upload, most of its time in page faults). At most
 * RING_CACHE_N storages and RING_CACHE_BYTES bytes; the oldest goes
 * first. */
#define RING_CACHE_N 8
#define RING_CACHE_BYTES (8u << 20)
/* The storages it holds stay charged to acct (NULL: none). Under
 * memory pressure (acct->pressure) the cache keeps nothing: a storage
 * given to it is freed, and the next reserve releases what it holds. */
struct ring_cache {
    struct ring_mem *m[RING_CACHE_N];
    unsigned n;
    uint64_t bytes;
    struct mem_acct *acct;
};
void ring_cache_free(struct ring_cache *rc);
/* ring_reserve, taking a cached storage of cap to most bytes if any,
 * else one of need to most (the newest first), else allocating one of
 * cap bytes: 1 taken from the cache (or the ring had storage), 0
 * allocated, -1 (no memory, or the account's limit would be passed even
 * with the cache released). */
int ring_reserve_cached(struct ring *r, uint32_t need, uint32_t most,
                        uint32_t cap, struct ring_cache *rc);
/* ring_trim, giving the storage (its aux block freed) to the cache. */
void ring_trim_cached(struct ring *r, bool keep, struct ring_cache *rc);
/* Gives the ring storage of cap bytes, keeping what it holds (and the
 * bytes waiting past its tail) at their offsets from the head; cap must
 * not be below the current capacity. 0 or -1 (the ring unchanged). The
 * storage is reallocated (glibc moves a large one's pages with mremap,
 * no copy), and its account charged the bytes it grows by only: a ring
 * that holds most of what the cap allows can still grow by the rest. */
int ring_grow(struct ring *r, uint32_t cap);
/* The capacity of the storage, 0 if none. */
static inline uint32_t ring_cap(const struct ring *r)
{
    return r->m ? r->m->cap : 0;
}
/* Appends up to len bytes; returns how many. */
uint32_t ring_write(struct ring *r, uint32_t cap, const void *data,
                       uint32_t len);
/* Copies len bytes starting off bytes after head into out (no removal);
 * returns how many were available. */
uint32_t ring_peek(const struct ring *r, uint32_t off, void *out,
                      uint32_t len);
/* ring_peek in place: points p[0] at up to len bytes starting off bytes
 * after head (n[0] of them) and, where the storage wraps, p[1] at the
 * rest (n[1], else 0 and NULL); returns n[0] + n[1]. The pointers stay
 * valid until the ring is written, consumed, grown or trimmed. */
uint32_t ring_view(const struct ring *r, uint32_t off, uint32_t len,
                   uint8_t *p[2], uint32_t n[2]);
/* The free room past the tail in place (at most len bytes, within cap as
 * ring_write_at): p[0]/n[0], then p[1]/n[1] where it wraps; returns the
 * total, 0 if the ring has no storage. Bytes written there join the ring
 * with ring_commit(). */
uint32_t ring_free_view(const struct ring *r, uint32_t cap, uint32_t len,
                        uint8_t *p[2], uint32_t n[2]);
/* Drops len bytes from the head. */
void ring_consume(struct ring *r, uint32_t len);
/* Writes len bytes at off bytes past the tail without making them part of
 * the ring yet (out-of-order data waiting for the gap before it); returns
 * how many fitted. ring_commit() later takes n bytes at the tail in. */
/* (cap bounds what the ring holds, whatever its storage's capacity.) */
uint32_t ring_write_at(struct ring *r, uint32_t cap, uint32_t off,
                          const void *data, uint32_t len);
void ring_commit(struct ring *r, uint32_t n);
/* Frees the storage if the ring is empty (keep = bytes past the tail are
 * still waiting, see ring_write_at). */
void ring_trim(struct ring *r, bool keep);

#endif
