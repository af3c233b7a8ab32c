/* The link kit's impairments (see impair.h): the PRNG, then the decision
 * for one datagram. The simulator's output for a seed depends on the order
 * and number of draws here: change them and every recorded sim run
 * changes. */
#include "link/impair.h"

/* ------------------------------------------------------------ PRNG */

uint64_t impair_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void impair_rng_seed(struct impair_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = impair_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t impair_rng_next(struct impair_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t impair_rng_below(struct impair_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Rejection keeps it uniform: drop the top partial block of 2^64. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = impair_rng_next(r);
    } while (x >= limit);
    return x % n;
}

bool impair_rng_chance(struct impair_rng *r, double p)
{
    if (!(p > 0.0))
        return false;
    if (p >= 1.0)
        return true;
    /* 53 random bits make a double uniform in [0, 1). */
    double u = (double)(impair_rng_next(r) >> 11) * 0x1.0p-53;
    return u < p;
}

/* ----------------------------------------------------- impairments */

/* Time the transmitter needs to put len bytes on the wire. */
static sf_time_t serialization(const struct sf_link_cfg *c, size_t len)
{
    if (c->bandwidth == 0)
        return 0;
    return (sf_time_t)((unsigned __int128)len * 8 * SF_SEC / c->bandwidth);
}

/* Bytes still waiting in the FIFO at now (tail drop beyond queue_bytes). */
static uint64_t backlog(const struct sf_link_cfg *c,
                        const struct impair_queue *q, sf_time_t now)
{
    if (c->bandwidth == 0 || q->tx_free <= now)
        return 0;
    return (uint64_t)((unsigned __int128)(q->tx_free - now) *
                      c->bandwidth / 8 / SF_SEC);
}

static enum impair_drop admit(const struct sf_link_cfg *c,
                              const struct impair_queue *q, sf_time_t now,
                              size_t len)
{
    if (c->down)
        return IMPAIR_DOWN;
    if (c->mtu && len > c->mtu)
        return IMPAIR_MTU;
    if (c->queue_bytes && backlog(c, q, now) + len > c->queue_bytes)
        return IMPAIR_QUEUE;
    return IMPAIR_PASS;
}

/* Arrival of an in-order copy: never before the previous in-order one,
 * so jitter alone does not reorder (a FIFO link). */
static sf_time_t fifo_arrival(struct impair_queue *q, sf_time_t t)
{
    if (t < q->last_arrive)
        t = q->last_arrive;
    q->last_arrive = t;
    return t;
}

void impair_decide(const struct sf_link_cfg *c, struct impair_queue *q,
                   struct impair_rng *r, sf_time_t now, size_t len,
                   sf_time_t extra, struct impair_fate *f)
{
    impair_decide_ecn(c, q, r, now, len, extra, 0, f);
}

/* RFC 3168 5: ECT(1) is 01, ECT(0) 10; 11 is CE already, 00 Not-ECT. */
static bool ect(uint8_t ecn)
{
    return ecn == 1 || ecn == 2;
}

void impair_decide_ecn(const struct sf_link_cfg *c, struct impair_queue *q,
                       struct impair_rng *r, sf_time_t now, size_t len,
                       sf_time_t extra, uint8_t ecn, struct impair_fate *f)
{
    f->ncopies = 0;
    f->flags[0] = f->flags[1] = 0;
    f->flip_bit = 0;
    f->drop = admit(c, q, now, len);
    if (f->drop)
        return;
    /* RFC 3168 7: where the queue would have a router drop a datagram to
     * signal congestion, an ECN-capable one is marked CE instead. Here:
     * more than ce_threshold queued ahead of it. No draw from r. */
    unsigned ce = c->ce_threshold && ect(ecn) &&
                          backlog(c, q, now) > c->ce_threshold
                      ? IMPAIR_F_CE : 0;
    /* The datagram occupies the transmitter even if it is then lost. */
    sf_time_t start = q->tx_free > now ? q->tx_free : now;
    q->tx_free = start + serialization(c, len);
    if (impair_rng_chance(r, c->loss)) {
        f->drop = IMPAIR_LOSS;
        return;
    }
    sf_time_t t = q->tx_free + c->delay;
    if (c->jitter)
        t += impair_rng_below(r, c->jitter + 1);
    if (impair_rng_chance(r, c->corrupt) && len) {
        f->flags[0] |= IMPAIR_F_CORRUPTED;
        f->flip_bit = (size_t)impair_rng_below(r, (uint64_t)len * 8);
    }
    bool dup = impair_rng_chance(r, c->dup);
    bool held = extra > 0;
    if (impair_rng_chance(r, c->reorder)) {
        /* Held back by one to two delays (at least 1 ms): later
         * datagrams overtake it. */
        sf_time_t d = c->delay > SF_MSEC ? c->delay : SF_MSEC;
        t += d + impair_rng_below(r, d + 1);
        f->flags[0] |= IMPAIR_F_REORDERED;
        held = true;
    }
    t += extra;
    f->arrive[0] = held ? t : fifo_arrival(q, t);
    f->flags[0] |= ce;
    f->ncopies = 1;
    if (dup) {
        /* The copy follows the original at once. */
        f->arrive[1] = f->arrive[0];
        f->flags[1] = IMPAIR_F_DUP | ce;
        f->ncopies = 2;
    }
}

uint8_t impair_ecn_of(const uint8_t *d, size_t len)
{
    if (len >= 20 && (d[0] >> 4) == 4)
        return d[1] & 3;
    /* RFC 3168 5 / RFC 8200 7: IPv6's Traffic Class, ECN in its low bits */
    if (len >= 40 && (d[0] >> 4) == 6)
        return (d[1] >> 4) & 3;
    return 0;
}

void impair_mark_ce(uint8_t *d, size_t len)
{
    if (len >= 40 && (d[0] >> 4) == 6) {
        d[1] |= 0x30; /* IPv6 has no header checksum */
        return;
    }
    if (len < 20 || (d[0] >> 4) != 4)
        return;
    /* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over the 16-bit word
     * holding version/IHL and TOS. */
    uint16_t m = (uint16_t)(d[0] << 8 | d[1]);
    d[1] |= 3;
    uint16_t m2 = (uint16_t)(d[0] << 8 | d[1]);
    uint32_t sum = (uint16_t)~(d[10] << 8 | d[11]);
    sum += (uint16_t)~m;
    sum += m2;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint16_t hc = (uint16_t)~sum;
    d[10] = (uint8_t)(hc >> 8);
    d[11] = (uint8_t)hc;
}

void impair_flip(uint8_t *d, size_t bit)
{
    d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static bool rate_ok(double p)
{
    return p >= 0.0 && p <= 1.0; /* false for NaN too */
}

int sf_link_cfg_check(const struct sf_link_cfg *c)
{
    if (!rate_ok(c->loss) || !rate_ok(c->dup) || !rate_ok(c->reorder) ||
        !rate_ok(c->corrupt))
        return SF_EINVAL;
    return 0;
}
