/* RFC 7323 window scaling as the tools show it (see wscale.h). */
#include "io/wscale.h"

#include <stdlib.h>

struct ws_side {
    /* IPv4: address << 16 | port, plus 1 << 48 when in use; IPv6: a hash
     * of address and port with bit 63 set (a collision would only show
     * one side's window with the other's shift) */
    uint64_t key;
    bool offered; /* its latest SYN carried Window Scale */
    uint8_t shift;
};

#define WS_USED (1ull << 48)

static uint64_t key_of(const struct sf_addr *a, uint16_t port)
{
    if (a->family != SF_AF_INET6)
        return WS_USED | (uint64_t)a->ip << 16 | port;
    uint64_t h = 0xcbf29ce484222325ull ^ port; /* FNV-1a, then a mix */
    for (int i = 0; i < 16; i++)
        h = (h ^ a->ip6[i]) * 0x100000001b3ull;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    return h | 1ull << 63;
}

static size_t slot(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static const struct ws_side *find(const struct ws_track *w, uint64_t key)
{
    if (!w->cap)
        return NULL;
    for (size_t i = slot(key, w->cap);; i = (i + 1) & (w->cap - 1)) {
        if (w->v[i].key == key)
            return &w->v[i];
        if (!w->v[i].key)
            return NULL;
    }
}

static bool grow(struct ws_track *w)
{
    size_t cap = w->cap ? w->cap * 2 : 64;
    struct ws_side *v = calloc(cap, sizeof *v);
    if (!v)
        return false;
    for (size_t k = 0; k < w->cap; k++) {
        if (!w->v[k].key)
            continue;
        size_t i = slot(w->v[k].key, cap);
        while (v[i].key)
            i = (i + 1) & (cap - 1);
        v[i] = w->v[k];
    }
    free(w->v);
    w->v = v;
    w->cap = cap;
    return true;
}

void ws_learn(struct ws_track *w, const struct sf_addr *src,
              const struct sf_tcp *t)
{
    if (!(t->flags & SF_SYN))
        return;
    uint64_t key = key_of(src, t->sport);
    struct ws_side *s = (struct ws_side *)find(w, key);
    if (!s) {
        if (2 * (w->n + 1) > w->cap && !grow(w))
            return; /* out of memory: its windows show unscaled */
        size_t i = slot(key, w->cap);
        while (w->v[i].key)
            i = (i + 1) & (w->cap - 1);
        s = &w->v[i];
        s->key = key;
        w->n++;
    }
    /* The latest SYN speaks for the side: a new SYN is a new connection. */
    s->offered = t->opt.has_wscale;
    /* RFC 7323 2.3: a shift above 14 is used as 14 */
    s->shift = t->opt.wscale > 14 ? 14 : t->opt.wscale;
}

uint32_t ws_window(const struct ws_track *w, const struct sf_addr *src,
                   const struct sf_addr *dst, const struct sf_tcp *t)
{
    /* RFC 7323 2.2: the window of a SYN or SYN-ACK is never scaled */
    if (t->flags & SF_SYN)
        return t->win;
    const struct ws_side *s = find(w, key_of(src, t->sport));
    const struct ws_side *d = find(w, key_of(dst, t->dport));
    /* RFC 7323 2.2: scaling only when both SYNs carried the option */
    if (!s || !d || !s->offered || !d->offered)
        return t->win;
    return (uint32_t)t->win << s->shift;
}

void ws_track_free(struct ws_track *w)
{
    free(w->v);
    *w = (struct ws_track){0};
}
