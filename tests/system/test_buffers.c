/* Socket buffer storage over a bulk transfer (tests/system/bulk_app.h:
 * 4 MB between two stacks on the simulated network, 20 ms round trip,
 * 100 Mbit/s, no loss, the reader draining its buffer on every wake-up).
 *
 * A receive ring read dry gives its storage up, and the next segment
 * needs one again at once; autotuning raises both buffers a little at a
 * time. Served by fresh allocations and copies into larger storage, this
 * cost the TUN upload (kernel -> synfin) most of its time: a new mmap'd
 * storage (page faults, zeroing) per read, and a whole-ring copy for
 * nearly every segment (50 Mbit/s where the download ran at 2 Gbit/s).
 * Now the storages come back from the stack's cache (ring.h ring_cache)
 * and grow ahead (wscale.c): a handful of allocations and copies for the
 * whole transfer, counted by BUF_ALLOCS and BUF_GROWS. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/sim.h"
#include "synfin/synfin.h"

#include "bulk_app.h"

static void few_allocations(int family)
{
    struct sf_sim_cfg cfg;
    sf_sim_cfg_default(&cfg);
    cfg.seed = 1;
    cfg.link.delay = 10 * SF_MSEC;
    cfg.link.bandwidth = 100000000;
    cfg.link.mtu = 1500;
    struct bulk_run r;
    bulk_start(&r, &cfg, NULL, family);
    bulk_finish(&r);
    const struct sf_counters *kc = sf_stack_counters(r.cs), *ks = sf_stack_counters(r.ss);
    fprintf(stderr, "%ssender: %llu allocations, %llu grows (buffer raised %llu "
            "times); receiver: %llu allocations, %llu grows (%llu)\n",
            family == SF_AF_INET6 ? "IPv6 " : "",
            (unsigned long long)kc->c[SF_CTR_BUF_ALLOCS],
            (unsigned long long)kc->c[SF_CTR_BUF_GROWS],
            (unsigned long long)kc->c[SF_CTR_SNDBUF_GROWN],
            (unsigned long long)ks->c[SF_CTR_BUF_ALLOCS],
            (unsigned long long)ks->c[SF_CTR_BUF_GROWS],
            (unsigned long long)ks->c[SF_CTR_RCVBUF_GROWN]);
    /* the sender's ring: one storage, grown by half again at least each
     * time autotuning passes it (from 64 KB to the 4 MB cap: under 16) */
    CHECK(kc->c[SF_CTR_BUF_ALLOCS] <= 4);
    CHECK(kc->c[SF_CTR_BUF_GROWS] <= 16);
    /* the receiver's ring, read dry thousands of times: its storage comes
     * back from the cache, and grows only when the buffer does */
    CHECK(ks->c[SF_CTR_BUF_ALLOCS] <= 4 + ks->c[SF_CTR_RCVBUF_GROWN]);
    CHECK(ks->c[SF_CTR_BUF_GROWS] <= 4 + ks->c[SF_CTR_RCVBUF_GROWN]);
    bulk_free(&r);
}

static void test_few_allocations(void)
{
    few_allocations(SF_AF_INET);
}

/* the same over IPv6: the rings do not care for the family */
static void test_few_allocations_ipv6(void)
{
    few_allocations(SF_AF_INET6);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_few_allocations),
    CHECK_CASE(test_few_allocations_ipv6),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
