/* Names and texts for the public enums, generated from the X-macro lists
 * in synfin.h so that they cannot drift from the enums. */
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
