/* The two-stack bulk transfer that tests/system/test_sack.c and
 * test_rack.c share: host 0 sends BYTES of a position-derived pattern to
 * host 1 and shuts down its side; host 1 accepts, reads to the FIN and
 * checks every byte. Header-only: each test is one program. */
#ifndef SF_TESTS_SYSTEM_BULK_APP_H
#define SF_TESTS_SYSTEM_BULK_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "synfin/sim.h"
#include "synfin/synfin.h"

#define SERVER_PORT 80
#define BYTES (4u * 1000u * 1000u)

struct bulk {
    int listener, csd, ssd;
    uint64_t sent, rcvd;
    bool shut, eof, bad;
    int err;
};

static uint8_t pattern(uint64_t p)
{
    return (uint8_t)(p * 131u + (p >> 9));
}

static void app(void *ctx, struct sf_sim *sim, int host)
{
    struct bulk *b = ctx;
    struct sf_stack *st = sf_sim_host_stack(sim, host);
    uint8_t buf[16384];
    if (host == 0) {
        while (b->sent < BYTES) {
            uint64_t n = BYTES - b->sent < sizeof buf ? BYTES - b->sent
                                                       : sizeof buf;
            for (uint64_t i = 0; i < n; i++)
                buf[i] = pattern(b->sent + i);
            long w = sf_send(st, b->csd, buf, (size_t)n, 0);
            if (w <= 0) {
                if (w < 0 && w != SF_EAGAIN)
                    b->err = (int)w;
                break;
            }
            b->sent += (uint64_t)w;
        }
        if (b->sent == BYTES && !b->shut) {
            sf_shutdown(st, b->csd, SF_SHUT_WR);
            b->shut = true;
        }
        return;
    }
    if (b->ssd < 0)
        b->ssd = sf_accept(st, b->listener, NULL);
    if (b->ssd < 0)
        return;
    for (;;) {
        long n = sf_recv(st, b->ssd, buf, sizeof buf, 0);
        if (n == 0) {
            b->eof = true;
            break;
        }
        if (n < 0) {
            if (n != SF_EAGAIN)
                b->err = (int)n;
            break;
        }
        for (long i = 0; i < n; i++)
            if (buf[i] != pattern(b->rcvd + (uint64_t)i))
                b->bad = true;
        b->rcvd += (uint64_t)n;
    }
}

static bool not_done(void *ctx, struct sf_sim *sim)
{
    (void)sim;
    struct bulk *b = ctx;
    return !b->eof && !b->err;
}

#endif
