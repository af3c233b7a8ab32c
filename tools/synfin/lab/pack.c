/* The run's events packed for the page (docs/lab.md, "The events in the
 * page"): JSON.parse of a 100,000-event run (some 100 MB of JSON) took
 * most of the page's load, so the page carries them by shape instead.
 * Each event's JSON text, with every string value replaced by "\u0001s",
 * every integer by "\u0001n" and every other number by "\u0001f", is its
 * shape (a few dozen distinct ones per run); the values follow it in
 * order, as LEB128 varints (integers zigzagged; strings and other numbers
 * as an index into a table of distinct strings). lab.js decodes the
 * varints into one Float64Array and builds an event's object only when a
 * view asks for it; the views' columns (time, flags, seq, cwnd...) are read
 * straight from the array. Decoding gives back the very events of the
 * JSON (tests/lab compares them with `synfin sim --json`).
 *
 * Layout: "SFP1", varint length + the string table (a JSON array of the
 * strings, as they were written), varint length + the shapes (a JSON
 * array of the templates), varint event count, varint value count (all
 * events'), then per event its shape number and its values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab.h"

struct buf {
    unsigned char *p;
    size_t n, cap;
    int oom;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->n + n)
            c *= 2;
        unsigned char *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void putv(struct buf *b, uint64_t v)
{
    unsigned char t[10];
    size_t k = 0;
    do {
        t[k] = (unsigned char)(v & 127);
        v >>= 7;
        if (v)
            t[k] |= 128;
        k++;
    } while (v);
    put(b, t, k);
}

/* Interned byte strings: text in one buffer, an open-addressing table of
 * (offset, length) by FNV-1a hash. */
struct intern {
    struct buf text; /* the entries, each followed by ',' (a JSON array's body) */
    size_t *off, *len;
    uint32_t *slot; /* 0 empty, else index + 1 */
    size_t n, cap;
};

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The index of s in t (added if new); -1 when out of memory. */
static long intern_get(struct intern *t, const char *s, size_t n)
{
    if (2 * (t->n + 1) > t->cap) {
        size_t c = t->cap ? 2 * t->cap : 1024;
        uint32_t *sl = calloc(c, sizeof *sl);
        size_t *o = realloc(t->off, c / 2 * sizeof *o), *l = o ? realloc(t->len, c / 2 * sizeof *l) : NULL;
        if (o)
            t->off = o;
        if (l)
            t->len = l;
        if (!sl || !o || !l) {
            free(sl);
            return -1;
        }
        for (size_t i = 0; i < t->n; i++) {
            size_t h = (size_t)fnv((const char *)t->text.p + t->off[i], t->len[i]) & (c - 1);
            while (sl[h])
                h = (h + 1) & (c - 1);
            sl[h] = (uint32_t)i + 1;
        }
        free(t->slot);
        t->slot = sl;
        t->cap = c;
    }
    size_t h = (size_t)fnv(s, n) & (t->cap - 1);
    for (; t->slot[h]; h = (h + 1) & (t->cap - 1)) {
        size_t i = t->slot[h] - 1;
        if (t->len[i] == n && !memcmp(t->text.p + t->off[i], s, n))
            return (long)i;
    }
    t->off[t->n] = t->text.n;
    t->len[t->n] = n;
    put(&t->text, s, n);
    put(&t->text, ",", 1);
    if (t->text.oom)
        return -1;
    t->slot[h] = (uint32_t)t->n + 1;
    return (long)t->n++;
}

static void intern_free(struct intern *t)
{
    free(t->text.p);
    free(t->off);
    free(t->len);
    free(t->slot);
}

struct packer {
    const char *s, *end;
    struct buf shape, vals; /* the event being read */
    uint64_t nvals;         /* values of all events */
    struct intern strs, shapes;
    int depth;
    int bad;
};

static void skip_ws(struct packer *k)
{
    while (k->s < k->end && (*k->s == ' ' || *k->s == '\n' || *k->s == '\r' || *k->s == '\t'))
        k->s++;
}

/* A string at k->s (the '"'): its text with the quotes; NULL if unended. */
static const char *str_end(struct packer *k)
{
    const char *p = k->s + 1;
    while (p < k->end && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        p += *p == '\\' ? 2 : 1;
    }
    return p < k->end ? p + 1 : NULL;
}

static void value(struct packer *k);

static void string_value(struct packer *k)
{
    const char *e = str_end(k);
    if (!e) {
        k->bad = 1;
        return;
    }
    long id = intern_get(&k->strs, k->s, (size_t)(e - k->s));
    if (id < 0) {
        k->bad = 1;
        return;
    }
    put(&k->shape, "\"\\u0001s\"", 9);
    putv(&k->vals, (uint64_t)id);
    k->nvals++;
    k->s = e;
}

static void number_value(struct packer *k)
{
    const char *p = k->s;
    int neg = p < k->end && *p == '-';
    const char *d = p + neg, *q = d;
    while (q < k->end && *q >= '0' && *q <= '9')
        q++;
    const char *e = q;
    while (e < k->end && ((*e >= '0' && *e <= '9') || *e == '.' || *e == 'e' ||
                          *e == 'E' || *e == '+' || *e == '-'))
        e++;
    if (q == d) {
        k->bad = 1;
        return;
    }
    /* an integer that a double holds exactly (15 digits), not "-0" nor
     * "007": zigzag; anything else by its text */
    size_t nd = (size_t)(q - d);
    if (e == q && nd <= 15 && !(nd > 1 && *d == '0') && !(neg && nd == 1 && *d == '0')) {
        uint64_t v = 0;
        for (const char *c = d; c < q; c++)
            v = v * 10 + (uint64_t)(*c - '0');
        put(&k->shape, "\"\\u0001n\"", 9);
        putv(&k->vals, neg ? 2 * v - 1 : 2 * v);
    } else {
        long id = intern_get(&k->strs, p, (size_t)(e - p));
        if (id < 0) {
            k->bad = 1;
            return;
        }
        put(&k->shape, "\"\\u0001f\"", 9);
        putv(&k->vals, (uint64_t)id);
    }
    k->nvals++;
    k->s = e;
}

/* An object or array: the structure into the shape, the values into vals. */
static void container(struct packer *k, char open, char close)
{
    if (++k->depth > 32) {
        k->bad = 1;
        return;
    }
    put(&k->shape, &open, 1);
    k->s++;
    skip_ws(k);
    if (k->s < k->end && *k->s == close) {
        k->s++;
        put(&k->shape, &close, 1);
        k->depth--;
        return;
    }
    for (;;) {
        skip_ws(k);
        if (open == '{') {
            const char *e = k->s < k->end && *k->s == '"' ? str_end(k) : NULL;
            if (!e) {
                k->bad = 1;
                return;
            }
            put(&k->shape, k->s, (size_t)(e - k->s));
            k->s = e;
            skip_ws(k);
            if (k->s >= k->end || *k->s != ':') {
                k->bad = 1;
                return;
            }
            k->s++;
            put(&k->shape, ":", 1);
            skip_ws(k);
        }
        value(k);
        if (k->bad)
            return;
        skip_ws(k);
        if (k->s < k->end && *k->s == ',') {
            k->s++;
            put(&k->shape, ",", 1);
            continue;
        }
        if (k->s < k->end && *k->s == close) {
            k->s++;
            put(&k->shape, &close, 1);
            k->depth--;
            return;
        }
        k->bad = 1;
        return;
    }
}

static void value(struct packer *k)
{
    skip_ws(k);
    if (k->s >= k->end) {
        k->bad = 1;
        return;
    }
    size_t left = (size_t)(k->end - k->s);
    switch (*k->s) {
    case '"': string_value(k); return;
    case '{': container(k, '{', '}'); return;
    case '[': container(k, '[', ']'); return;
    case 't':
    case 'f':
    case 'n':
        for (size_t i = 0; i < 3; i++) {
            static const char *const word[3] = {"true", "false", "null"};
            size_t n = strlen(word[i]);
            if (left >= n && !memcmp(k->s, word[i], n)) {
                put(&k->shape, word[i], n);
                k->s += n;
                return;
            }
        }
        break;
    default:
        if (*k->s == '-' || (*k->s >= '0' && *k->s <= '9')) {
            number_value(k);
            return;
        }
    }
    k->bad = 1;
}

/* A JSON array's text from an intern table's body ("a,b," -> "[a,b]"). */
static void put_table(struct buf *out, struct intern *t)
{
    size_t n = t->text.n ? t->text.n - 1 : 0;
    putv(out, n + 2);
    put(out, "[", 1);
    put(out, t->text.p, n);
    put(out, "]", 1);
}

unsigned char *lab_pack(const char *json, size_t n, size_t *out_n, size_t *bad_at)
{
    struct packer k = {.s = json, .end = json + n};
    struct buf events = {0};
    uint64_t count = 0;
    unsigned char *ret = NULL;
    skip_ws(&k);
    if (k.s >= k.end || *k.s != '[') {
        k.bad = 1;
        goto out;
    }
    k.s++;
    skip_ws(&k);
    if (k.s < k.end && *k.s == ']')
        k.s++;
    else
        for (;;) {
            k.shape.n = k.vals.n = 0;
            k.depth = 0;
            value(&k);
            if (k.bad)
                goto out;
            long sh = intern_get(&k.shapes, (const char *)k.shape.p, k.shape.n);
            if (sh < 0 || k.shape.oom || k.vals.oom) {
                k.bad = 1;
                goto out;
            }
            putv(&events, (uint64_t)sh);
            put(&events, k.vals.p, k.vals.n);
            count++;
            skip_ws(&k);
            if (k.s < k.end && *k.s == ',') {
                k.s++;
                continue;
            }
            if (k.s < k.end && *k.s == ']') {
                k.s++;
                break;
            }
            k.bad = 1;
            goto out;
        }
    skip_ws(&k);
    if (k.s != k.end) {
        k.bad = 1;
        goto out;
    }
    struct buf o = {0};
    put(&o, "SFP1", 4);
    put_table(&o, &k.strs);
    put_table(&o, &k.shapes);
    putv(&o, count);
    putv(&o, k.nvals);
    put(&o, events.p, events.n);
    if (o.oom || events.oom) {
        free(o.p);
        k.bad = 1;
        k.s = json;
        goto out;
    }
    ret = o.p;
    *out_n = o.n;
out:
    if (k.bad)
        *bad_at = (size_t)(k.s - json);
    free(events.p);
    free(k.shape.p);
    free(k.vals.p);
    intern_free(&k.strs);
    intern_free(&k.shapes);
    return ret;
}
