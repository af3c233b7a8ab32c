/* The side channel of CVE-2016-5696 (issue 14 item 2; RFC 5961 7): with
 * one fixed, stack-wide count of challenge ACKs per second, an off-path
 * host learns whether a 4-tuple it names in spoofed segments is a live
 * connection: it sends a spoofed in-window RST "from" the victim's
 * address (a live connection answers the victim with a challenge ACK,
 * spending one of the second's budget), then provokes challenge ACKs on
 * its own connections and counts them: one fewer means the connection
 * exists. synfin limits challenge ACKs per connection (one per 500 ms,
 * cfg.invalid_ratelimit) and draws each second's stack-wide budget at
 * random between limit/2 and 3*limit/2 from its secret (oow.c), as Linux
 * fixed it (commit 75ff39ccc1bd, 2016).
 *
 * Here the attacker has every advantage: it knows the victim's sequence
 * number (its probe is always in the window), holds more connections
 * than the largest budget, so it sees the whole of what remains of each
 * second's budget, and knows the limit. Each trial (one virtual second)
 * probes either the live 4-tuple (H1) or a dead one (H0, the port next
 * to it), chosen at random; the attacker then guesses H1 when it counts
 * fewer than the limit (the threshold that would be exact against a
 * fixed budget of `limit`: L under H0, L-1 under H1, 100 % right).
 *
 * Figures: the attacker's share of right guesses with many connections
 * and with one (aim: a coin toss, about 50 %; the test fails above 60 %
 * small, 56 % full), and the mean counts under H0 and H1.
 * Small: 200 trials. Full (ATTACK_SIZE=full): 2,000. */
#include "net.h"

#define ATK 0    /* the attacker's own host, 198.18.0.1 */
#define SRV 1    /* the server, 198.18.0.2 */
#define VIC 2    /* the victim client, 198.18.0.3 */
#define LIMIT 100 /* the server's cfg.challenge_ack_limit */
#define MAXOWN 160

static void side_cfg(struct sf_stack_cfg *cfg, int host)
{
    if (host == SRV)
        cfg->challenge_ack_limit = LIMIT;
}

/* A RST at B in the window (RCV.NXT + 100) of B's connection ti, from
 * its remote end; port_delta moves the remote port (a dead 4-tuple). */
static void rst_probe(struct net *n, const struct sf_tcp_info *ti,
                      int port_delta)
{
    struct sf_tcp s = {.sport = (uint16_t)(ti->remote.port + port_delta),
                       .dport = ti->local.port, .seq = ti->rcv_nxt + 100,
                       .flags = SF_RST, .win = 65535};
    net_inject(n, SRV, ti->remote.ip, ti->local.ip, &s);
}

/* K trials with the attacker holding `own` connections: the share of
 * right guesses; mean counts under H0 and H1 in *m0, *m1. */
static double side_trials(int own, int trials, uint8_t seed, double *m0,
                          double *m1)
{
    static struct net n;
    net_init(&n, 3, 16384, side_cfg, seed);
    int l = net_listen(&n, SRV, 256);
    int sd[MAXOWN], acc[MAXOWN], vsd, vacc;
    struct sf_tcp_info mine[MAXOWN], vic;
    for (int i = 0; i < own; i++)
        net_connect(&n, ATK, SRV, l, &sd[i], &acc[i]);
    net_connect(&n, VIC, SRV, l, &vsd, &vacc);
    net_run(&n, n.now + 1 * SF_SEC);
    for (int i = 0; i < own; i++)
        CHECK_EQ(sf_tcp_info(n.st[SRV], acc[i], &mine[i]), 0);
    CHECK_EQ(sf_tcp_info(n.st[SRV], vacc, &vic), 0);
    uint64_t rs = 0x51de + seed;
    int right = 0, nh[2] = {0};
    double sum[2] = {0};
    for (int k = 0; k < trials; k++) {
        /* 300 ms into a new second: a new budget, every per-connection
         * slot free again (the last was taken a second ago) */
        net_run(&n, (n.now / SF_SEC + 1) * SF_SEC + 300 * SF_MSEC);
        int h1 = (int)(rnd_next(&rs) & 1);
        rst_probe(&n, &vic, h1 ? 0 : 1);
        /* the attacker's count: challenge ACKs on its own connections
         * (a RST in each window: one answer each at most) */
        uint64_t before = n.sent[SRV];
        for (int r = 0; r < (own == 1 ? LIMIT * 2 : 1); r++)
            for (int i = 0; i < own; i++)
                rst_probe(&n, &mine[i], 0);
        unsigned count = (unsigned)(n.sent[SRV] - before);
        int guess = count < LIMIT;
        right += guess == h1;
        nh[h1]++;
        sum[h1] += count;
    }
    *m0 = nh[0] ? sum[0] / nh[0] : 0;
    *m1 = nh[1] ? sum[1] / nh[1] : 0;
    /* nobody was reset, and the victim's connection saw its challenge
     * ACKs and lives on */
    CHECK_EQ(net_in_state(&n, SRV, SF_ESTABLISHED), (uint64_t)own + 1);
    CHECK_EQ(net_ctr(&n, SRV, SF_CTR_RESETS), 0);
    CHECK(nh[0] > trials / 4 && nh[1] > trials / 4);
    net_free(&n);
    return (double)right / trials;
}

static void test_side_channel(void)
{
    bool full = attack_full();
    int trials = full ? 2000 : 200;
    double cap = full ? 0.56 : 0.60;
    double m0, m1, n0, n1;
    double many = side_trials(MAXOWN, trials, 51, &m0, &m1);
    double one = side_trials(1, trials, 53, &n0, &n1);
    printf("FIGURE side_channel: %d trials, challenge ACK limit %d/s "
           "(each second's budget drawn in %d..%d)\n", trials, LIMIT,
           (LIMIT + 1) / 2, (LIMIT + 1) / 2 + LIMIT - 1);
    printf("FIGURE side_channel attacker with %d connections: %.1f %% right "
           "(aim ~50 %%; a fixed budget gives 100 %%); mean count %.2f "
           "without the connection, %.2f with it\n", MAXOWN, 100 * many, m0,
           m1);
    printf("FIGURE side_channel attacker with 1 connection: %.1f %% right "
           "(aim ~50 %%); mean count %.2f without, %.2f with (the "
           "per-connection limit)\n", 100 * one, n0, n1);
    CHECK(many <= cap);
    CHECK(one <= cap);
    CHECK(n0 <= 1.0 && n1 <= 1.0); /* one answer per 500 ms per connection */
    CHECK(m0 >= LIMIT / 2 && m1 >= LIMIT / 2); /* the budget was spent */
}

static const struct check_case cases[] = {
    CHECK_CASE(test_side_channel),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
