/* Names and texts for every public enum (states, causes, errors, drops,
 * timers, counters), each table generated from its X-macro list in
 * synfin.h so that it cannot drift from the enum. One table per enum, all
 * here. */
#include "synfin/synfin.h"

static const char *const err_names[] = {
#define X(name, text) #name,
    SF_ERROR_LIST(X)
#undef X
};
static const char *const err_texts[] = {
#define X(name, text) text,
    SF_ERROR_LIST(X)
#undef X
};
#define NERRS (sizeof err_names / sizeof err_names[0])

static int err_index(int err)
{
    int i = err - (SF_ERROR_BASE_ + 1);
    return i >= 0 && (size_t)i < NERRS ? i : -1;
}

const char *sf_strerror(int err)
{
    if (err == 0)
        return "success";
    int i = err_index(err);
    return i < 0 ? "unknown error" : err_texts[i];
}

const char *sf_errname(int err)
{
    int i = err_index(err);
    return i < 0 ? NULL : err_names[i];
}

static const char *const drop_names[] = {
    "NONE",
#define X(name, text) #name,
    SF_DROP_LIST(X)
#undef X
};
static const char *const drop_texts[] = {
    "not dropped",
#define X(name, text) text,
    SF_DROP_LIST(X)
#undef X
};

const char *sf_drop_name(enum sf_drop d)
{
    return (unsigned)d < SF_NDROPS ? drop_names[d] : "?";
}

const char *sf_drop_text(enum sf_drop d)
{
    return (unsigned)d < SF_NDROPS ? drop_texts[d] : "?";
}

static const char *const timer_names[] = {
    "none",
#define X(name, text) text,
    SF_TIMER_LIST(X)
#undef X
};

const char *sf_timer_name(enum sf_timer_kind k)
{
    return (unsigned)k < SF_NTIMERS ? timer_names[k] : "?";
}

static const char *const counter_names[] = {
#define X(name, text) #name,
    SF_COUNTER_LIST(X)
#undef X
};

const char *sf_counter_name(enum sf_counter c)
{
    return (unsigned)c < SF_NCOUNTERS ? counter_names[c] : "?";
}

/* ---------------------------------------------------- states and causes */

static const char *const state_names[] = {
#define X(name, lname, ss, filter) #name,
    SF_STATE_LIST(X)
#undef X
};
static const char *const state_lnames[] = {
#define X(name, lname, ss, filter) #lname,
    SF_STATE_LIST(X)
#undef X
};
static const char *const state_ssnames[] = {
#define X(name, lname, ss, filter) ss,
    SF_STATE_LIST(X)
#undef X
};
static const char *const state_filters[] = {
#define X(name, lname, ss, filter) filter,
    SF_STATE_LIST(X)
#undef X
};
static const char *const cause_names[] = {
#define X(name, text) #name,
    SF_CAUSE_LIST(X)
#undef X
};

const char *sf_state_name(enum sf_state s)
{
    return (unsigned)s < SF_NSTATES ? state_names[s] : "?";
}

const char *sf_state_linux_name(enum sf_state s)
{
    return (unsigned)s < SF_NSTATES ? state_lnames[s] : "?";
}

const char *sf_state_ss_name(enum sf_state s)
{
    return (unsigned)s < SF_NSTATES ? state_ssnames[s] : "?";
}

const char *sf_state_ss_filter(enum sf_state s)
{
    return (unsigned)s < SF_NSTATES ? state_filters[s] : "?";
}

const char *sf_cause_name(enum sf_cause c)
{
    return (unsigned)c < SF_NCAUSES ? cause_names[c] : "?";
}
