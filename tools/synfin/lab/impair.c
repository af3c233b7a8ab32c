/* The lab's per-datagram impairments: drop, hold back or duplicate the
 * datagram with a given number, so that a student clicking a segment on
 * the page (or typing --drop 7) sees the real stack answer its loss. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab.h"

int lab_impair_parse(struct lab_impair *li, const char *spec, int what)
{
    const char *p = spec;
    if (!*p)
        return -1;
    for (;;) {
        if (li->npicks >= LAB_MAX_PICKS || *p < '0' || *p > '9')
            return -1;
        char *end;
        errno = 0;
        unsigned long long n = strtoull(p, &end, 10);
        if (errno || n == 0 || n > 1000000000ull)
            return -1;
        struct lab_pick *k = &li->pick[li->npicks];
        *k = (struct lab_pick){.n = n, .what = what};
        p = end;
        if (what == LAB_HOLD) {
            if (*p != ':' || p[1] < '0' || p[1] > '9')
                return -1;
            unsigned long long ms = strtoull(p + 1, &end, 10);
            if (errno || ms > 600000)
                return -1;
            k->hold = (sf_time_t)ms * SF_MSEC;
            p = end;
        }
        li->npicks++;
        if (!*p)
            return 0;
        if (*p++ != ',')
            return -1;
    }
}

/* A copy sent again by the same host, at the same moment. */
struct dup_job {
    struct lab_impair *li;
    size_t len;
    uint8_t d[];
};

/* The copy goes out as an injected datagram; while it does (the filter
 * and the trace see it from inside sf_sim_inject) li->injecting says it
 * is a --dup-dgram copy: not counted as a datagram of its own, and drawn
 * as its original's duplicate (lab_is_dup_copy). */
static void send_dup(void *ctx, struct sf_sim *sim, int h)
{
    struct dup_job *j = ctx;
    j->li->injecting = true;
    sf_sim_inject(sim, h, j->d, j->len, 0);
    j->li->injecting = false;
    free(j);
}

bool lab_is_dup_copy(const struct lab_impair *li,
                     const struct sf_sim_event *ev)
{
    return li->injecting && ev->kind == SF_SIM_EV_SEND &&
           (ev->flags & SF_SIM_F_INJECTED);
}

static bool lab_filter(void *ctx, struct sf_sim *sim, int from, int to,
                       const uint8_t *d, size_t len, sf_time_t *extra)
{
    struct lab_impair *li = ctx;
    if (li->injecting) /* a --dup-dgram copy: its original's number */
        return true;
    uint64_t n = ++li->count;
    if (li->inner && !li->inner(li->inner_ctx, sim, from, to, d, len, extra))
        return false;
    bool keep = true;
    for (int i = 0; i < li->npicks; i++) {
        const struct lab_pick *k = &li->pick[i];
        if (k->n != n)
            continue;
        if (k->what == LAB_DROP)
            keep = false;
        else if (k->what == LAB_HOLD)
            *extra += k->hold;
        else {
            /* not sent from inside this call: the sim is in transmit() */
            struct dup_job *j = malloc(sizeof *j + len);
            if (!j)
                continue;
            j->li = li;
            j->len = len;
            memcpy(j->d, d, len);
            if (sf_sim_at(sim, sf_sim_now(sim), from, send_dup, j))
                free(j);
        }
    }
    return keep;
}

void lab_impair_install(struct lab_impair *li, struct sf_sim *sim)
{
    if (li->npicks || li->inner)
        sf_sim_set_filter(sim, lab_filter, li);
}
