/* synfin relay (see synfin/relay.h): two TUN devices joined through the
 * link kit's impairments. The core is a timer heap of held datagrams,
 * ordered by (due time, sequence number); each direction has its own
 * impair_queue (the bottleneck's transmitter and FIFO) and both draw from
 * one PRNG, as the simulator's links do. The driver waits in ppoll() on
 * both devices with the next due time as its timeout (nanosecond
 * resolution), reads in batches and writes what is due. */
#include "synfin/relay.h"
#include "link/impair.h"
#include "link/netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RELAY_BUF 65600 /* an IPv4 datagram is at most 65535 bytes */
#define RELAY_BATCH 64  /* datagrams read per device per wake-up */
#define RELAY_MAX_HOOK_FDS 16
#define RELAY_DEFAULT_HELD ((size_t)64 << 20)

struct relay_pkt {
    int dir;
    size_t len;
    uint8_t data[];
};

struct relay_slot {
    sf_time_t due;
    uint64_t seq;
    struct relay_pkt *p;
};

struct sf_relay_core {
    struct impair_rng rng;
    struct sf_link_cfg dir[2];
    struct impair_queue q[2];
    struct sf_relay_dir_stats st[2];
    uint64_t held_n[2];
    size_t held_bytes, max_held;
    struct relay_slot *heap;
    size_t n, cap;
    uint64_t seq;
};

/* ------------------------------------------------------------ core */

struct sf_relay_core *sf_relay_core_new(uint64_t seed, size_t max_held)
{
    struct sf_relay_core *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    impair_rng_seed(&c->rng, seed);
    c->max_held = max_held ? max_held : RELAY_DEFAULT_HELD;
    return c;
}

void sf_relay_core_free(struct sf_relay_core *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->heap[i].p);
    free(c->heap);
    free(c);
}

struct sf_link_cfg *sf_relay_core_dir(struct sf_relay_core *c, int d)
{
    return &c->dir[d & 1];
}

const struct sf_relay_dir_stats *sf_relay_core_stats(const struct sf_relay_core *c,
                                                     int d)
{
    return &c->st[d & 1];
}

void sf_relay_core_tx_error(struct sf_relay_core *c, int d)
{
    c->st[d & 1].tx_errors++;
}

static bool slot_before(const struct relay_slot *a, const struct relay_slot *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_swap(struct relay_slot *h, size_t i, size_t j)
{
    struct relay_slot t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static bool heap_push(struct sf_relay_core *c, sf_time_t due, struct relay_pkt *p)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct relay_slot *h = realloc(c->heap, cap * sizeof *h);
        if (!h)
            return false;
        c->heap = h;
        c->cap = cap;
    }
    size_t i = c->n++;
    c->heap[i] = (struct relay_slot){due, c->seq++, p};
    while (i > 0 && slot_before(&c->heap[i], &c->heap[(i - 1) / 2])) {
        heap_swap(c->heap, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return true;
}

static struct relay_pkt *heap_pop(struct sf_relay_core *c)
{
    struct relay_pkt *p = c->heap[0].p;
    c->heap[0] = c->heap[--c->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < c->n && slot_before(&c->heap[l], &c->heap[m]))
            m = l;
        if (r < c->n && slot_before(&c->heap[r], &c->heap[m]))
            m = r;
        if (m == i)
            break;
        heap_swap(c->heap, i, m);
        i = m;
    }
    return p;
}

/* RFC 3168 5: the ECN field is the low two bits of the IPv4 TOS byte (the
 * IPv6 Traffic Class); 00 Not-ECT, 01 and 10 ECT, 11 CE. A router marks
 * CE only an ECT datagram (6.1.1.1). The link kit does the marking, for
 * the simulator and the relay alike. */
bool sf_relay_mark_ce(uint8_t *d, size_t len)
{
    uint8_t ecn = impair_ecn_of(d, len);
    if (ecn == 0 || ecn == 3)
        return false;
    impair_mark_ce(d, len);
    return true;
}

static struct relay_pkt *pkt_new(int d, const uint8_t *dgram, size_t len)
{
    struct relay_pkt *p = malloc(sizeof *p + len);
    if (p) {
        p->dir = d;
        p->len = len;
        memcpy(p->data, dgram, len);
    }
    return p;
}

void sf_relay_core_input(struct sf_relay_core *c, int d, sf_time_t now,
                         const uint8_t *dgram, size_t len)
{
    d &= 1;
    const struct sf_link_cfg *dc = &c->dir[d];
    struct sf_relay_dir_stats *st = &c->st[d];
    st->rx++;
    st->rx_bytes += len;
    if (len < 20) {
        st->runts++;
        return;
    }
    /* Room for both copies, checked before the transmitter is charged. */
    if (c->held_bytes + 2 * len > c->max_held) {
        st->held_drops++;
        return;
    }
    struct impair_fate f;
    impair_decide_ecn(dc, &c->q[d], &c->rng, now, len, 0,
                      impair_ecn_of(dgram, len), &f);
    if (f.drop == IMPAIR_QUEUE) {
        st->queue_drops++;
        return;
    }
    if (f.drop) {
        st->lost++;
        return;
    }
    for (int k = 0; k < f.ncopies; k++) {
        struct relay_pkt *p = pkt_new(d, dgram, len);
        if (!p || !heap_push(c, f.arrive[k], p)) {
            free(p);
            st->held_drops++;
            continue;
        }
        if (f.flags[k] & IMPAIR_F_CE) {
            impair_mark_ce(p->data, len);
            if (k == 0)
                st->ce_marked++;
        }
        if (f.flags[k] & IMPAIR_F_CORRUPTED) {
            impair_flip(p->data, f.flip_bit);
            st->corrupted++;
        }
        if (f.flags[k] & IMPAIR_F_REORDERED)
            st->reordered++;
        if (f.flags[k] & IMPAIR_F_DUP)
            st->dup++;
        c->held_bytes += len;
        if (++c->held_n[d] > st->held_max)
            st->held_max = c->held_n[d];
    }
}

sf_time_t sf_relay_core_next(const struct sf_relay_core *c)
{
    return c->n ? c->heap[0].due : SF_TIME_NEVER;
}

size_t sf_relay_core_pop(struct sf_relay_core *c, sf_time_t now, int *d,
                         uint8_t *buf, size_t cap)
{
    if (!c->n || c->heap[0].due > now)
        return 0;
    struct relay_pkt *p = heap_pop(c);
    size_t n = p->len < cap ? p->len : cap;
    memcpy(buf, p->data, n);
    *d = p->dir;
    c->held_bytes -= p->len;
    c->held_n[p->dir]--;
    c->st[p->dir].tx++;
    c->st[p->dir].tx_bytes += p->len;
    free(p);
    return n;
}

/* ---------------------------------------------------------- driver */

static sf_time_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (sf_time_t)ts.tv_sec * SF_SEC + (sf_time_t)ts.tv_nsec;
}

static int enter_netns(const char *ns, char *err, size_t errlen)
{
    char path[300];
    if (strchr(ns, '/'))
        snprintf(path, sizeof path, "%s", ns);
    else
        snprintf(path, sizeof path, "/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open network namespace %s: %s%s", path,
                 strerror(errno), strchr(ns, '/') ? "" : " (create it: ip netns add NAME)");
        return -1;
    }
    int r = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    if (r < 0) {
        snprintf(err, errlen, "cannot enter network namespace %s: %s%s", path,
                 strerror(e), e == EPERM ? " (run as root)" : "");
        return -1;
    }
    return 0;
}

static int open_dev(struct sf_relay *r, int k, const struct sf_relay_cfg *cfg,
                    char *err, size_t errlen)
{
    const char *name = cfg->tun[k];
    const char *opt = k ? "--tun-b" : "--tun-a";
    if (!name || !*name || strlen(name) >= IFNAMSIZ) {
        snprintf(err, errlen, "bad device name '%s' for %s: give 1 to %d characters",
                 name ? name : "", opt, IFNAMSIZ - 1);
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open /dev/net/tun: %s (modprobe tun)",
                 strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot create TUN device %s (%s): %s%s", name, opt,
                 strerror(e), e == EPERM ? " (run as root or with CAP_NET_ADMIN)"
                 : e == EBUSY || e == EINVAL ? " (the name is in use: pick another)" : "");
        close(fd);
        return -1;
    }
    r->fd[k] = fd;
    memcpy(r->name[k], ifr.ifr_name, sizeof r->name[k] - 1);
    return link_netdev_config(r->name[k], cfg->addr[k], cfg->prefix[k],
                      cfg->mtu ? cfg->mtu : 1500, err, errlen);
}

int sf_relay_open(struct sf_relay *r, const struct sf_relay_cfg *cfg,
                  char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->fd[0] = r->fd[1] = -1;
    if (cfg->tun[0] && cfg->tun[1] && !strcmp(cfg->tun[0], cfg->tun[1]) &&
        !(cfg->netns[0] && cfg->netns[1] && strcmp(cfg->netns[0], cfg->netns[1]))) {
        snprintf(err, errlen, "--tun-a and --tun-b name the same device %s in "
                 "the same namespace", cfg->tun[0]);
        return -1;
    }
    r->core = sf_relay_core_new(cfg->seed, cfg->max_held);
    if (!r->core) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int d = 0; d < 2; d++)
        *sf_relay_core_dir(r->core, d) = cfg->dir[d];
    int home = -1;
    if (cfg->netns[0] || cfg->netns[1]) {
        home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (home < 0) {
            snprintf(err, errlen, "cannot open /proc/self/ns/net: %s", strerror(errno));
            sf_relay_close(r);
            return -1;
        }
    }
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        if (cfg->netns[k] && enter_netns(cfg->netns[k], err, errlen) < 0)
            rc = -1;
        else
            rc = open_dev(r, k, cfg, err, errlen);
        if (home >= 0 && setns(home, CLONE_NEWNET) < 0 && !rc) {
            snprintf(err, errlen, "cannot return to the relay's namespace: %s",
                     strerror(errno));
            rc = -1;
        }
    }
    if (home >= 0)
        close(home);
    if (rc)
        sf_relay_close(r);
    return rc;
}

void sf_relay_close(struct sf_relay *r)
{
    for (int k = 0; k < 2; k++) {
        if (r->fd[k] >= 0)
            close(r->fd[k]);
        r->fd[k] = -1;
    }
    sf_relay_core_free(r->core);
    r->core = NULL;
}

/* Writes every datagram due by now to its destination device. */
static void flush_due(struct sf_relay *r, uint8_t *buf)
{
    sf_time_t now = mono_now();
    int d;
    size_t n;
    while ((n = sf_relay_core_pop(r->core, now, &d, buf, RELAY_BUF)) > 0) {
        /* Direction 0 (A -> B) is written to device B. */
        if (write(r->fd[d ^ 1], buf, n) != (ssize_t)n)
            sf_relay_core_tx_error(r->core, d);
    }
}

/* Reads up to a batch from device k. Returns -1 if the device failed. */
static int read_dev(struct sf_relay *r, int k, uint8_t *buf, char *err,
                    size_t errlen)
{
    for (int i = 0; i < RELAY_BATCH; i++) {
        ssize_t n = read(r->fd[k], buf, RELAY_BUF);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            snprintf(err, errlen, "read from %s: %s", r->name[k], strerror(errno));
            return -1;
        }
        sf_relay_core_input(r->core, k, mono_now(), buf, (size_t)n);
    }
    return 0;
}

int sf_relay_run(struct sf_relay *r, const struct sf_relay_hooks *h,
                 char *err, size_t errlen)
{
    uint8_t *buf = malloc(RELAY_BUF);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    struct pollfd fds[2 + RELAY_MAX_HOOK_FDS];
    while (!r->stop) {
        flush_due(r, buf);
        for (int k = 0; k < 2; k++)
            fds[k] = (struct pollfd){.fd = r->fd[k], .events = POLLIN};
        int nh = h && h->pollfds ? h->pollfds(h->ctx, fds + 2, RELAY_MAX_HOOK_FDS) : 0;
        sf_time_t next = sf_relay_core_next(r->core);
        struct timespec ts, *tp = NULL;
        if (next != SF_TIME_NEVER) {
            sf_time_t now = mono_now();
            sf_time_t wait = next > now ? next - now : 0;
            ts.tv_sec = (time_t)(wait / SF_SEC);
            ts.tv_nsec = (long)(wait % SF_SEC);
            tp = &ts;
        }
        int n = ppoll(fds, (nfds_t)(2 + nh), tp, NULL);
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "ppoll: %s", strerror(errno));
            rc = -1;
            break;
        }
        for (int k = 0; k < 2 && n > 0; k++) {
            if (fds[k].revents & (POLLERR | POLLNVAL)) {
                snprintf(err, errlen, "device %s failed", r->name[k]);
                rc = -1;
            } else if ((fds[k].revents & POLLIN) && read_dev(r, k, buf, err, errlen) < 0) {
                rc = -1;
            }
        }
        if (rc)
            break;
        if (h && h->service)
            h->service(h->ctx, r, fds + 2, nh);
    }
    free(buf);
    return rc;
}
