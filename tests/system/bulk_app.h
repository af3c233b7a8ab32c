/* The two-stack bulk transfer that tests/system/test_sack.c, test_rack.c
 * and test_buffers.c share: host 0 sends BYTES of a position-derived
 * pattern to host 1 and shuts down its side; host 1 accepts, reads to the
 * FIN and checks every byte. Over IPv4, or over IPv6 (bulk_start with
 * SF_AF_INET6: dual-stack hosts, the connection between their fd00::N
 * addresses, checked to be IPv6 at accept). Header-only: each test is one
 * program. */
#ifndef SF_TESTS_SYSTEM_BULK_APP_H
#define SF_TESTS_SYSTEM_BULK_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "synfin/sim.h"
#include "synfin/synfin.h"

#define SERVER_PORT 80
#define BYTES (4u * 1000u * 1000u)

struct bulk {
    int listener, csd, ssd;
    uint64_t sent, rcvd;
    bool shut, eof, bad;
    int err;
    struct sf_addr peer; /* the server's accept() */
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
        b->ssd = sf_accept(st, b->listener, &b->peer);
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

/* One bulk transfer on a simulator made from cfg: host 0 (the client,
 * cs) connects to host 1 (the server, ss), which listens on SERVER_PORT,
 * over family (SF_AF_INET or SF_AF_INET6). trace, when not NULL, sees the
 * simulator's events. */
struct bulk_run {
    struct sf_sim *sim;
    struct sf_stack *cs, *ss;
    struct bulk b;
    int family;
};

static void bulk_start(struct bulk_run *r, const struct sf_sim_cfg *cfg0,
                       void (*trace)(void *ctx, const struct sf_sim_event *ev),
                       int family)
{
    struct sf_sim_cfg cfg = *cfg0;
    if (family == SF_AF_INET6)
        cfg.ipv6 = true; /* every host dual-stack, fd00::N */
    CHECK_EQ(sf_sim_create(&cfg, &r->sim), 0);
    if (trace)
        sf_sim_set_trace(r->sim, trace, NULL);
    int c = sf_sim_add_host(r->sim, SF_SIM_NET_BASE + 1, NULL);
    int s = sf_sim_add_host(r->sim, SF_SIM_NET_BASE + 2, NULL);
    r->cs = sf_sim_host_stack(r->sim, c);
    r->ss = sf_sim_host_stack(r->sim, s);
    r->b = (struct bulk){.ssd = -1};
    r->family = family;
    r->b.listener = sf_socket(r->ss);
    /* the unspecified address of the family: 0.0.0.0 or :: */
    struct sf_addr any = {.port = SERVER_PORT, .family = (uint8_t)family};
    CHECK_EQ(sf_bind(r->ss, r->b.listener, &any), 0);
    CHECK_EQ(sf_listen(r->ss, r->b.listener, 8), 0);
    r->b.csd = sf_socket(r->cs);
    sf_sim_touch(r->sim, c);
    struct sf_addr to = sf_sim_host_ip(r->sim, s, family, SERVER_PORT);
    CHECK(!sf_addr_is_unspec(&to));
    CHECK_EQ(sf_connect(r->cs, r->b.csd, &to), SF_EINPROGRESS);
    sf_sim_touch(r->sim, c);
    sf_sim_set_app(r->sim, app, &r->b);
}

/* Runs to the end of the data (an hour of virtual time at most) and
 * checks that every byte came, intact, to a FIN, without an error. */
static void bulk_finish(struct bulk_run *r)
{
    sf_sim_run_while(r->sim, not_done, &r->b, 3600 * SF_SEC);
    CHECK_EQ(r->b.rcvd, BYTES);
    CHECK(!r->b.bad);
    CHECK_EQ(r->b.err, 0);
    CHECK(r->b.eof);
    /* the server saw the client's address of the family asked for (an
     * IPv6 one, not IPv4-mapped) */
    struct sf_addr c = sf_sim_host_ip(r->sim, 0, r->family, 0);
    CHECK(sf_addr_ip_eq(&r->b.peer, &c));
}

static void bulk_free(struct bulk_run *r)
{
    sf_sim_set_app(r->sim, NULL, NULL);
    sf_close(r->cs, r->b.csd);
    sf_close(r->ss, r->b.ssd);
    sf_close(r->ss, r->b.listener);
    sf_sim_free(r->sim);
}

#endif
