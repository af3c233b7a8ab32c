/* Out-of-order floods (SegmentSmack, CVE-2018-5390; issue 14 item 2): a
 * peer sends a flood of 1-byte segments at random odd offsets in the
 * window, so that hardly any two touch: each would be a new hole-bounded
 * range. RFC 9293 3.10.7.4 lets a receiver hold such segments (SHLD-31),
 * so the question is what each costs and what all of them hold.
 *
 * Work is counted, not timed: REASS_WORK counts the range-list entries
 * examined or moved per out-of-order segment (reass.c). The figure is the
 * work per segment at two flood lengths, n/10 and n, and their ratio: 1
 * (no growth with n) is O(1), 10 would be O(n). It is taken with the
 * default 32 ranges, and with cfg.reass_max_ranges set to 10^6 on a 16 MB
 * window, where before the cap (REASS_RANGES_CAP, 1024) the list grew with
 * the flood and the ratio was ~10. Memory: the receiver's (sf_stack_mem)
 * during the flood, against the bound: the receive buffer plus the range
 * list plus the connection.
 * Small: 100,000 segments. Full (ATTACK_SIZE=full): 1,000,000. */
#include "net.h"

#define A 0 /* the flooding peer's side (its segments are forged) */
#define B 1 /* the receiver */

static uint32_t g_buf;
static unsigned g_ranges;

static void ooo_cfg(struct sf_stack_cfg *cfg, int host)
{
    (void)host;
    cfg->timestamps = false; /* the peer is the attacker: it could match */
    cfg->rcvbuf = g_buf;
    cfg->rcvbuf_max = 0;
    cfg->reass_max_ranges = g_ranges;
}

struct ooo_fig {
    double work_per_seg;
    uint64_t mem_peak, mem_before, held;
};

/* n 1-byte segments at random odd offsets of B's window. */
static struct ooo_fig ooo_flood(uint32_t buf, unsigned ranges, long n,
                                uint8_t seed)
{
    g_buf = buf;
    g_ranges = ranges;
    static struct net net;
    net_init(&net, 2, 16384, ooo_cfg, seed);
    int l = net_listen(&net, B, 8), sd, acc;
    net_connect(&net, A, B, l, &sd, &acc);
    net_run(&net, net.now + 100 * SF_MSEC);
    struct sf_tcp_info ti;
    CHECK_EQ(sf_tcp_info(net.st[B], acc, &ti), 0);
    uint32_t wnd = ti.rcv_wnd;
    CHECK(wnd >= buf / 2);
    struct ooo_fig f = {.mem_before = net_mem_used(&net, B)};
    uint64_t w0 = net_ctr(&net, B, SF_CTR_REASS_WORK);
    uint64_t q0 = net_ctr(&net, B, SF_CTR_REASS_QUEUED);
    uint64_t rs = 0x0f0 + seed;
    static const uint8_t byte = 'x';
    for (long k = 0; k < n;) {
        for (int j = 0; j < 1000 && k < n; j++, k++) {
            uint32_t off = 1 + 2 * (uint32_t)(rnd_next(&rs) % (wnd / 2 - 1));
            struct sf_tcp s = {.sport = ti.remote.port,
                               .dport = ti.local.port,
                               .seq = ti.rcv_nxt + off, .ack = ti.snd_nxt,
                               .flags = SF_ACK, .win = 65535,
                               .payload = &byte, .len = 1};
            net_inject(&net, B, ti.remote.ip, ti.local.ip, &s);
        }
        net_run(&net, net.now + 1 * SF_MSEC);
        uint64_t used = net_mem_used(&net, B);
        f.mem_peak = used > f.mem_peak ? used : f.mem_peak;
    }
    f.work_per_seg = (double)(net_ctr(&net, B, SF_CTR_REASS_WORK) - w0) / n;
    f.held = net_ctr(&net, B, SF_CTR_REASS_QUEUED) - q0;
    /* the connection still works: A's real first byte fills the hole at
     * RCV.NXT and B can read it (the flood's bytes after it are held) */
    CHECK_EQ(sf_send(net.st[A], sd, "A", 1, 0), 1);
    net_run(&net, net.now + 100 * SF_MSEC);
    char c = 0;
    CHECK(sf_recv(net.st[B], acc, &c, 1, 0) == 1 && c == 'A');
    CHECK_EQ(net_in_state(&net, B, SF_ESTABLISHED), 1);
    net_free(&net);
    return f;
}

static void ooo_case(const char *name, uint32_t buf, unsigned ranges,
                     uint8_t seed)
{
    long n = attack_full() ? 1000000 : 100000;
    struct ooo_fig small = ooo_flood(buf, ranges, n / 10, seed);
    struct ooo_fig big = ooo_flood(buf, ranges, n, seed);
    double ratio = big.work_per_seg / small.work_per_seg;
    unsigned held_max = ranges < 1024 ? ranges : 1024;
    /* what the receiver may hold: the receive storage (the buffer and a
     * sixteenth, in 16 KB steps: wscale.c rcv_storage) and the range
     * list (8 bytes a range, and its header) */
    uint64_t storage = ((uint64_t)buf + buf / 16 + 16383) & ~16383ull;
    uint64_t bound = storage + 64 + 8ull * held_max;
    uint64_t grew = big.mem_peak - big.mem_before;
    printf("FIGURE ooo_%s work per segment: %.1f at %ld segments, %.1f at "
           "%ld, ratio %.2f (aim ~1: O(1); 10 would be O(n))\n", name,
           small.work_per_seg, n / 10, big.work_per_seg, n, ratio);
    printf("FIGURE ooo_%s receiver memory: %llu B before, peak %llu B "
           "during (grew %llu B; bound %llu B: buffer + %u ranges); "
           "segments held %llu of %ld\n", name,
           (unsigned long long)big.mem_before,
           (unsigned long long)big.mem_peak, (unsigned long long)grew,
           (unsigned long long)bound, held_max,
           (unsigned long long)big.held, n);
    CHECK(ratio < 1.5);
    CHECK(big.work_per_seg <= 6.0 * held_max);
    CHECK(grew <= bound);
}

static void test_ooo_default(void)
{
    ooo_case("default", 65535, 32, 61);
}

static void test_ooo_many_ranges(void)
{
    ooo_case("16m_1e6_ranges", 16u << 20, 1000000, 63);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_ooo_default),
    CHECK_CASE(test_ooo_many_ranges),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
