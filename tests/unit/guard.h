/* Guard pages for the wire tests: a parse input is placed at the very end
 * of a page followed by a PROT_NONE page (the picohttpparser trick), so
 * any read past the buffer crashes the test. Shared by test_wire.c and
 * test_wire6.c. */
#ifndef SF_TESTS_GUARD_H
#define SF_TESTS_GUARD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guard {
    uint8_t *map;
    size_t maplen;
    const uint8_t *data;
};

static struct guard guarded(const void *data, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (len + pg - 1) / pg + 1;
    struct guard g = {0};
    g.maplen = (pages + 1) * pg;
    g.map = mmap(NULL, g.maplen, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.map == MAP_FAILED)
        abort();
    if (mprotect(g.map + pages * pg, pg, PROT_NONE) != 0)
        abort();
    uint8_t *end = g.map + pages * pg;
    if (len)
        memcpy(end - len, data, len);
    g.data = end - len;
    return g;
}

static void unguard(struct guard *g)
{
    munmap(g->map, g->maplen);
}

#endif
