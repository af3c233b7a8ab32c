/* drill executor: one script on a fresh stack and a virtual clock. Before
 * each event the stack is advanced through every deadline it asked for up
 * to the event's time; what it emits is queued with the virtual time of
 * emission, and each `>` line consumes the next queued datagram. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/exec.h"

#define HOUR ((sf_time_t)3600 * SF_SEC)
/* keeps every sum of script times far from overflowing sf_time_t */
#define MAX_TIME ((sf_time_t)1000000000 * SF_SEC)

static double secs(sf_time_t t)
{
    return (double)t / (double)SF_SEC;
}

void drill_fail(struct drill_runner *r, int line, const char *what,
                const char *expected, sf_time_t exp_t, const char *actual,
                sf_time_t act_t)
{
    if (r->failed)
        return;
    r->failed = true;
    printf("FAIL %s:%d: %s\n", r->sc->path, line, what);
    if (expected)
        printf("  expected: %s at %.6fs\n", expected, secs(exp_t));
    if (actual)
        printf("  actual:   %s at %.6fs\n", actual, secs(act_t));
}

/* ------------------------------------------------------ stack callbacks */

static void on_output(void *ctx, const uint8_t *dgram, size_t len)
{
    struct drill_runner *r = ctx;
    if (r->qhead + r->qlen == r->qcap) {
        if (r->qhead) { /* slide the live part down before growing */
            memmove(r->q, r->q + r->qhead, r->qlen * sizeof *r->q);
            r->qhead = 0;
        }
        if (r->qlen == r->qcap) {
            size_t cap = r->qcap ? r->qcap * 2 : 16;
            struct drill_out *q = realloc(r->q, cap * sizeof *q);
            if (!q)
                return;
            r->q = q;
            r->qcap = cap;
        }
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, dgram, len);
    r->q[r->qhead + r->qlen++] = (struct drill_out){r->now, copy, len};
    drill_seg_learn(r, dgram, len);
    if (r->ctx->verbose) {
        char s[320];
        drill_seg_fmt_dgram(r, dgram, len, s, sizeof s);
        printf("  %10.6f > %s\n", secs(r->now), s);
    }
}

static void on_trace(void *ctx, const struct sf_trace_event *ev)
{
    struct drill_runner *r = ctx;
    if (ev->kind != SF_TRACE_STATE)
        return;
    int idx = sf_transition_index(ev->from, ev->to, ev->cause);
    if (r->ctx->verbose)
        printf("  %10.6f   state %s -> %s (%s)\n", secs(ev->now),
               sf_state_name(ev->from), sf_state_name(ev->to),
               sf_cause_name(ev->cause));
    if (idx >= 0 && r->seen && (size_t)idx < r->ctx->ntrans)
        r->seen[idx] = true;
    if (idx < 0) {
        char act[128];
        snprintf(act, sizeof act, "%s -> %s (%s)", sf_state_name(ev->from),
                 sf_state_name(ev->to), sf_cause_name(ev->cause));
        drill_fail(r, r->line, "illegal transition", "a transition of sf_transitions()",
                   ev->now, act, ev->now);
    }
}

static void seed_from(uint64_t seed, uint8_t out[16])
{
    uint64_t a = seed, b = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (8 * i));
        out[8 + i] = (uint8_t)(b >> (8 * i));
    }
}

bool drill_need_stack(struct drill_runner *r, int line)
{
    if (r->st)
        return true;
    r->cfg.addr = DRILL_STACK_IP;
    if (r->sc->settings.ip_version == DRILL_IPV6) {
        struct sf_addr a6 = drill_stack_addr(r, 0);
        memcpy(r->cfg.addr6, a6.ip6, 16);
    }
    r->cfg.output = on_output;
    r->cfg.output_ctx = r;
    r->cfg.trace = on_trace;
    r->cfg.trace_ctx = r;
    seed_from(r->sc->settings.seed, r->cfg.seed);
    drill_settings_apply(&r->sc->settings, &r->cfg);
    int rc = sf_stack_create(&r->cfg, r->now, &r->st);
    if (rc) {
        /* the setting at fault, as sf_stack_cfg_check names it */
        const char *why = sf_stack_cfg_check(&r->cfg);
        drill_fail(r, line, "cannot create the stack with these settings", NULL,
                   0, why ? why : sf_errname(rc), r->now);
        return false;
    }
    r->next = sf_stack_advance(r->st, r->now);
    return true;
}

/* ---------------------------------------------------------------- clock */

static void retry_pending(struct drill_runner *r)
{
    const struct drill_event *ev = r->pending;
    if (!ev || r->failed || !drill_call_run(r, ev, true))
        return;
    r->pending = NULL;
    if (r->now + r->tol < r->pend_end) {
        drill_fail(r, ev->line, "blocking call returned too early",
                   "the call to return", r->pend_end, "it returned", r->now);
    }
}

static void check_pending_late(struct drill_runner *r)
{
    if (r->pending && !r->failed && r->now > r->pend_end + r->tol)
        drill_fail(r, r->pending->line, "blocking call did not return",
                   "the call to return", r->pend_end, "still blocked", r->now);
}

/* One step: the stack's next deadline, if it is not after t. */
static bool step_once(struct drill_runner *r, sf_time_t t)
{
    if (!r->st || r->next > t || r->failed)
        return false;
    sf_time_t at = r->next > r->now ? r->next : r->now;
    r->now = at;
    r->next = sf_stack_advance(r->st, at);
    if (r->next <= at) /* due again at once: go on a nanosecond later */
        r->next = at + 1;
    retry_pending(r);
    check_pending_late(r);
    return true;
}

static void step_to(struct drill_runner *r, sf_time_t t)
{
    while (step_once(r, t))
        ;
    if (t > r->now && !r->failed) {
        r->now = t;
        if (r->st)
            r->next = sf_stack_advance(r->st, t);
        retry_pending(r);
        check_pending_late(r);
    }
}

/* After an event: the stack may want a new deadline, a blocked call may
 * now complete. (Not between the segments of an --in_batch batch: the
 * driver advances the stack once the batch is in.) */
static void after_event(struct drill_runner *r)
{
    if (r->st && !r->batch_more)
        r->next = sf_stack_advance(r->st, r->now);
    retry_pending(r);
}

/* ---------------------------------------------------------------- events */

/* t: the script time by which a `>` line should have consumed it. */
static void fail_unexpected(struct drill_runner *r, int line,
                            const struct drill_out *d, sf_time_t t)
{
    char act[320];
    drill_seg_fmt_dgram(r, d->buf, d->len, act, sizeof act);
    drill_fail(r, line, "unexpected outbound segment",
               "no segment without a `>` line for it", t, act, d->t);
}

/* A queued datagram emitted more than tolerance before this event's time
 * can be consumed by no later `>` line. */
static void check_stale(struct drill_runner *r, const struct drill_event *ev,
                        sf_time_t t)
{
    if (r->qlen && r->q[r->qhead].t + r->tol < t)
        fail_unexpected(r, ev->line, &r->q[r->qhead], t);
}

static void pop(struct drill_runner *r)
{
    free(r->q[r->qhead].buf);
    r->qhead++;
    if (--r->qlen == 0)
        r->qhead = 0;
}

static sf_time_t expect_out(struct drill_runner *r, const struct drill_event *ev,
                            sf_time_t lo, sf_time_t hi, sf_time_t t)
{
    char exp[320], act[320], why[200], what[260];
    while (!r->qlen && step_once(r, hi))
        ;
    drill_seg_fmt_script(&ev->seg, exp, sizeof exp);
    if (!r->qlen) {
        /* failed already; run on a while only to say what came, and when */
        while (!r->qlen && step_once(r, hi + HOUR))
            ;
        if (!r->qlen) {
            drill_fail(r, ev->line, "missing outbound segment", exp, t,
                       "nothing emitted within the next hour", r->now);
            return t;
        }
    }
    const struct drill_out *d = &r->q[r->qhead];
    sf_time_t dt = d->t;
    /* matching first: it may learn the TS offset the actual line uses */
    bool ok = drill_seg_match(r, &ev->seg, d->buf, d->len, why, sizeof why);
    drill_seg_fmt_actual(r, &ev->seg, d->buf, d->len, act, sizeof act);
    if (!ok) {
        snprintf(what, sizeof what, "%s (%s)", d->t < lo
                 ? "unexpected outbound segment" : "outbound segment mismatch", why);
        drill_fail(r, ev->line, what, exp, t, act, d->t);
    } else if (d->t < lo || d->t > hi) {
        drill_fail(r, ev->line, d->t < lo ? "outbound segment too early"
                   : "outbound segment too late", exp, t, act, d->t);
    }
    pop(r);
    return dt;
}

static sf_time_t ev_time(const struct drill_runner *r, const struct drill_time *tm,
                         int64_t us)
{
    sf_time_t v = (sf_time_t)us * SF_USEC;
    if (tm->kind == DT_ANY)
        return r->now;
    return tm->kind == DT_REL ? r->last_script + v : v;
}

static void do_assert(struct drill_runner *r, const struct drill_event *ev);
static void do_shell(struct drill_runner *r, const struct drill_event *ev);

static void do_call(struct drill_runner *r, const struct drill_event *ev,
                    sf_time_t end)
{
    if (r->pending) {
        drill_fail(r, ev->line, "a call while an earlier blocking call is "
                   "still blocked", NULL, 0, NULL, 0);
        return;
    }
    if (!drill_need_stack(r, ev->line))
        return;
    if (!drill_call_run(r, ev, true)) {
        r->pending = ev;
        r->pend_start = r->now;
        r->pend_end = end;
    } else if (ev->time.blocking && r->now + r->tol < end) {
        drill_fail(r, ev->line, "blocking call returned too early",
                   "the call to return", end, "it returned", r->now);
    }
}

static void run_event(struct drill_runner *r, const struct drill_event *ev)
{
    sf_time_t t = ev_time(r, &ev->time, ev->time.us);
    r->line = ev->line;
    sf_time_t end = ev_time(r, &ev->time, ev->time.end_us);
    bool outbound = ev->kind == EV_SEG && !ev->seg.inbound;
    if (end > MAX_TIME) {
        drill_fail(r, ev->line, "event time beyond 10^9 s", NULL, 0, NULL, 0);
        return;
    }
    if (outbound) {
        sf_time_t lo = t > r->tol ? t - r->tol : 0, hi = end + r->tol;
        if (ev->time.kind == DT_ANY)
            lo = 0, hi = r->now + HOUR;
        sf_time_t at = expect_out(r, ev, lo, hi, t);
        r->last_script = ev->time.kind == DT_ANY || ev->time.range ? at : t;
        return;
    }
    step_to(r, t);
    check_stale(r, ev, t);
    if (r->failed)
        return;
    if (ev->kind == EV_SEG && drill_need_stack(r, ev->line))
        drill_seg_inject(r, ev);
    else if (ev->kind == EV_CALL)
        do_call(r, ev, end);
    else if (ev->kind == EV_ASSERT)
        do_assert(r, ev);
    else if (ev->kind == EV_SHELL)
        do_shell(r, ev);
    after_event(r);
    r->last_script = ev->time.kind == DT_ANY ? r->now : t;
}

/* ------------------------------------------------- asserts and sysctls */

static enum sf_state driven_state(struct drill_runner *r)
{
    struct sf_tcp_info info;
    if (!r->st)
        return SF_CLOSED;
    if (r->have_tuple)
        return sf_tcp_info_by_addr(r->st, &r->local, &r->remote, &info) == 0
                   ? info.state : SF_CLOSED;
    /* no segment yet: the most recently opened script descriptor */
    for (int fd = DRILL_MAX_FDS - 1; fd >= 0; fd--)
        if (r->fds[fd].used)
            return sf_tcp_info(r->st, r->fds[fd].sd, &info) == 0 ? info.state
                                                                 : SF_CLOSED;
    return SF_CLOSED;
}

static void do_assert(struct drill_runner *r, const struct drill_event *ev)
{
    enum sf_state s = driven_state(r);
    if ((s == ev->assert_state) == ev->assert_eq)
        return;
    char exp[64], act[64];
    snprintf(exp, sizeof exp, "tcpi_state %s %s", ev->assert_eq ? "==" : "!=",
             sf_state_linux_name(ev->assert_state));
    snprintf(act, sizeof act, "tcpi_state %s", sf_state_linux_name(s));
    drill_fail(r, ev->line, "state assertion failed", exp, r->now, act, r->now);
}

static void do_shell(struct drill_runner *r, const struct drill_event *ev)
{
    unsigned v = (unsigned)ev->sysctl_val;
    if (r->st) {
        drill_fail(r, ev->line, "sysctl after the first socket call or segment "
                   "(the stack already exists)", NULL, 0, NULL, 0);
        return;
    }
    switch ((enum drill_sysctl)ev->sysctl) {
    case SYS_SYN_RETRIES: r->cfg.syn_retries = v; break;
    case SYS_SYNACK_RETRIES: r->cfg.synack_retries = v; break;
    case SYS_RETRIES1: r->cfg.r1 = v; break;
    case SYS_RETRIES2: r->cfg.r2 = v; break;
    case SYS_FIN_TIMEOUT: r->cfg.fin_wait_2_timeout = (sf_time_t)v * SF_SEC; break;
    }
}

/* -------------------------------------------------------------- verdict */

static void finish(struct drill_runner *r, int last_line)
{
    if (!r->failed && r->pending) {
        step_to(r, r->pend_end + r->tol);
        if (r->pending)
            drill_fail(r, r->pending->line, "blocking call did not return",
                       "the call to return", r->pend_end, "still blocked", r->now);
    }
    if (!r->failed && r->qlen)
        fail_unexpected(r, last_line, &r->q[r->qhead], r->now);
    if (!r->failed)
        printf("PASS %s\n", r->sc->path);
}

static void cleanup(struct drill_runner *r)
{
    while (r->qlen)
        pop(r);
    free(r->q);
    drill_seg_free(r);
    free(r->conns);
    if (r->st)
        sf_stack_free(r->st);
    free(r->seen);
}

/* An inbound segment at a fixed time (no range, not "any"). */
static bool inbound_now(const struct drill_event *ev)
{
    return ev->kind == EV_SEG && ev->seg.inbound && ev->time.kind != DT_ANY &&
           !ev->time.range;
}

bool drill_run(struct drill_ctx *ctx, const struct drill_script *sc)
{
    struct drill_runner r = {.ctx = ctx, .sc = sc};
    sf_stack_cfg_default(&r.cfg);
    r.tol = (sf_time_t)sc->settings.tolerance_us * SF_USEC;
    if (ctx->ntrans)
        r.seen = calloc(ctx->ntrans, sizeof *r.seen);
    if (ctx->verbose)
        printf("--- %s\n", sc->path);
    for (size_t i = 0; i < sc->nev && !r.failed; i++) {
        r.batch_more = sc->settings.in_batch && i + 1 < sc->nev &&
                       inbound_now(&sc->ev[i]) && inbound_now(&sc->ev[i + 1]) &&
                       sc->ev[i + 1].time.kind == DT_REL && sc->ev[i + 1].time.us == 0;
        run_event(&r, &sc->ev[i]);
    }
    finish(&r, sc->nev ? sc->ev[sc->nev - 1].line : 1);
    for (size_t i = 0; r.seen && i < ctx->ntrans; i++)
        ctx->cover[i] += r.seen[i];
    bool ok = !r.failed;
    cleanup(&r);
    return ok;
}
