/* A chained hash table of records keyed by a connection's 4-tuple: the
 * demux table for connections, and the tables of SYN-queue requests and
 * TIME_WAIT records. Intrusive: each record holds its chain link and its
 * key (two consecutive struct sf_addr, local then remote) at offsets the
 * table is told. Keyed SipHash, so a remote peer cannot aim collisions;
 * the table doubles when full, so chains stay short. */
#ifndef SF_STACK_TTAB_H
#define SF_STACK_TTAB_H

#include <stddef.h>
#include <stdint.h>

#include "synfin/synfin.h"

struct ttab {
    void **slots;
    size_t size, count;
    size_t link_off, key_off;
    const uint8_t *key; /* 16-byte SipHash key, owned by the stack */
};

int ttab_init(struct ttab *t, size_t size, size_t link_off,
                 size_t key_off, const uint8_t *key);
void ttab_free(struct ttab *t);
void *ttab_lookup(const struct ttab *t, const struct sf_addr *local,
                     const struct sf_addr *remote);
/* The 4-tuple's hash under key: tables sharing a key can be searched with
 * one hash (a segment is looked for in three of them). */
uint64_t ttab_hash(const uint8_t *key, const struct sf_addr *local,
                      const struct sf_addr *remote);
void *ttab_lookup_hashed(const struct ttab *t, uint64_t hash,
                            const struct sf_addr *local,
                            const struct sf_addr *remote);
void ttab_insert(struct ttab *t, void *rec);
void ttab_remove(struct ttab *t, void *rec);

#endif
