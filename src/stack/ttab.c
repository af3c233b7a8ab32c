#include "stack/ttab.h"

#include <stdlib.h>

#include "base/siphash.h"

static void **link_of(const struct ttab *t, void *rec)
{
    return (void **)((char *)rec + t->link_off);
}

static const struct sf_addr *key_of(const struct ttab *t, const void *rec)
{
    return (const struct sf_addr *)((const char *)rec + t->key_off);
}

uint64_t ttab_hash(const uint8_t *key, const struct sf_addr *local,
                      const struct sf_addr *remote)
{
    return siphash_tuple(key, local, remote);
}

static size_t slot_of(const struct ttab *t, size_t size,
                      const struct sf_addr *local, const struct sf_addr *remote)
{
    return (size_t)ttab_hash(t->key, local, remote) & (size - 1);
}

int ttab_init(struct ttab *t, size_t size, size_t link_off,
                 size_t key_off, const uint8_t *key)
{
    t->slots = calloc(size, sizeof *t->slots);
    t->size = t->slots ? size : 0; /* a failed init frees and walks nothing */
    t->count = 0;
    t->link_off = link_off;
    t->key_off = key_off;
    t->key = key;
    return t->slots ? 0 : SF_ENOMEM;
}

void ttab_free(struct ttab *t)
{
    free(t->slots);
    t->slots = NULL;
}

static bool same(const struct sf_addr *a, const struct sf_addr *b)
{
    return sf_addr_eq(a, b);
}

void *ttab_lookup_hashed(const struct ttab *t, uint64_t hash,
                            const struct sf_addr *local,
                            const struct sf_addr *remote)
{
    for (void *r = t->slots[hash & (t->size - 1)]; r; r = *link_of(t, r)) {
        const struct sf_addr *k = key_of(t, r);
        if (same(&k[0], local) && same(&k[1], remote))
            return r;
    }
    return NULL;
}

void *ttab_lookup(const struct ttab *t, const struct sf_addr *local,
                     const struct sf_addr *remote)
{
    return ttab_lookup_hashed(t, ttab_hash(t->key, local, remote),
                                 local, remote);
}

static void grow(struct ttab *t)
{
    size_t nsize = t->size * 2;
    void **ns = calloc(nsize, sizeof *ns);
    if (!ns)
        return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < t->size; i++) {
        for (void *r = t->slots[i], *next; r; r = next) {
            next = *link_of(t, r);
            const struct sf_addr *k = key_of(t, r);
            size_t j = slot_of(t, nsize, &k[0], &k[1]);
            *link_of(t, r) = ns[j];
            ns[j] = r;
        }
    }
    free(t->slots);
    t->slots = ns;
    t->size = nsize;
}

void ttab_insert(struct ttab *t, void *rec)
{
    if (t->count >= t->size)
        grow(t);
    const struct sf_addr *k = key_of(t, rec);
    size_t i = slot_of(t, t->size, &k[0], &k[1]);
    *link_of(t, rec) = t->slots[i];
    t->slots[i] = rec;
    t->count++;
}

void ttab_remove(struct ttab *t, void *rec)
{
    const struct sf_addr *k = key_of(t, rec);
    for (void **pp = &t->slots[slot_of(t, t->size, &k[0], &k[1])]; *pp;
         pp = link_of(t, *pp)) {
        if (*pp == rec) {
            *pp = *link_of(t, rec);
            *link_of(t, rec) = NULL;
            t->count--;
            return;
        }
    }
}
