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
#include "mem_pair.h"

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


/* The receive ring read dry after every megabyte of a large buffer: the
 * bytes held plus the window offered passed the buffer size by a few
 * segments (19 KB over 4 MB), so a storage sized to the buffer grew (a
 * whole copy) after most reads and, the grown size missing the cache's
 * exact match, a new one was allocated on the next. Before the fix
 * (wscale.c rcv_storage): 34 allocations and 66 grows for 32 MB. */
static void test_few_allocations_bulk_reads(void)
{
    struct mem_pair p;
    int c, s;
    mem_pair_open(&p, &c, &s);
    size_t chunk = 1u << 20;
    uint8_t *buf = calloc(1, chunk);
    CHECK(buf != NULL);
    uint64_t total = 32ull << 20, sent = 0, rcvd = 0;
    while (rcvd < total) {
        long w = 0, r = 0;
        if (sent < total) {
            size_t want = total - sent < chunk ? (size_t)(total - sent) : chunk;
            w = sf_send(p.st[0], c, buf, want, 0);
            sent += w > 0 ? (uint64_t)w : 0;
        }
        mem_pump(&p);
        while ((r = sf_recv(p.st[1], s, buf, chunk, 0)) > 0)
            rcvd += (uint64_t)r;
        mem_pump(&p);
        if (w <= 0 && r <= 0 && !mem_idle(&p))
            break;
    }
    CHECK_EQ(rcvd, total);
    CHECK(!p.to[0].failed && !p.to[1].failed);
    const struct sf_counters *ks = sf_stack_counters(p.st[1]);
    fprintf(stderr, "in memory: receiver: %llu allocations, %llu grows (%llu)\n",
            (unsigned long long)ks->c[SF_CTR_BUF_ALLOCS],
            (unsigned long long)ks->c[SF_CTR_BUF_GROWS],
            (unsigned long long)ks->c[SF_CTR_RCVBUF_GROWN]);
    CHECK(ks->c[SF_CTR_RCVBUF_GROWN] > 0); /* a large buffer, as intended */
    CHECK(ks->c[SF_CTR_BUF_ALLOCS] <= 4 + ks->c[SF_CTR_RCVBUF_GROWN]);
    /* a storage starts at 4 KB and doubles as the ring fills (wscale.c
     * storage_for): up to 4 MB, 10 grows, once; the cache gives it back
     * whole after each read */
    CHECK(ks->c[SF_CTR_BUF_GROWS] <= 10 + ks->c[SF_CTR_RCVBUF_GROWN]);
    free(buf);
    mem_pair_free(&p);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_few_allocations),
    CHECK_CASE(test_few_allocations_ipv6),
    CHECK_CASE(test_few_allocations_bulk_reads),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
