/* The command line of every subcommand: one table of options each, read by
 * one parser (opt.c), which also prints --help from the table.
 *
 * A row names an option, says what kind of value it takes and where the
 * value goes (an offset into the struct its group points at). Each group
 * brings its own messages (report), so every subcommand keeps its wording:
 * the parser says what went wrong (an unknown option, a missing or a bad
 * value), the group says it. */
#ifndef SF_TOOLS_OPT_H
#define SF_TOOLS_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_kind {
    OPT_END = 0, /* ends a table */
    OPT_TEXT,    /* not an option: help is printed as it is */
    OPT_FLAG,    /* no value: stores val */
    OPT_STR,     /* a string (const char *) */
    OPT_NUM,     /* a decimal number (strtod) in lo..hi, times scale */
    OPT_INT,     /* an unsigned integer (strtoull, base) in min..max */
    OPT_ENUM,    /* one of choices: stores vals[i] (or i without vals) */
    OPT_FN,      /* a value read by fn */
    OPT_CALL,    /* no value: calls fn with a NULL value */
};

/* How a value is stored at off. */
enum opt_as { OPT_AS_BOOL, OPT_AS_INT, OPT_AS_UINT, OPT_AS_U16, OPT_AS_U32,
              OPT_AS_U64, OPT_AS_DOUBLE };

/* Row flags. */
#define OPT_F_NONEMPTY 0x01 /* STR: an empty value is a missing one */
#define OPT_F_WHOLE 0x02    /* NUM: a whole number */
#define OPT_F_SUFFIX 0x04   /* NUM: k/M/G (10^3, 10^6, 10^9) may follow */
#define OPT_F_LO_OPEN 0x08  /* NUM: lo itself is outside the range */
#define OPT_F_SETS 0x10     /* also sets the bool at set_off when given */

/* What an fn returns: 0, OPT_BAD (the group reports o->why), OPT_UNKNOWN
 * (treated as an unknown option) or OPT_FAIL (fn said why itself). */
enum { OPT_BAD = 1, OPT_UNKNOWN = 2, OPT_FAIL = 3 };

struct opt;
typedef int (*opt_fn)(void *base, const struct opt *o, const char *v,
                      const char *prog);

struct opt {
    const char *name;  /* "--loss" (or a bare word: "state") */
    const char *alias; /* "-q", or NULL */
    enum opt_kind kind;
    size_t off;        /* where the value goes in the group's base */
    enum opt_as as;
    double lo, hi, scale;            /* NUM (scale 0 means 1) */
    unsigned long long min, max;     /* INT (max 0: no limit) */
    int base;                        /* INT: as strtoull's */
    int val;                         /* FLAG */
    const char *const *choices;      /* ENUM, NULL-terminated */
    const int *vals;                 /* ENUM */
    opt_fn fn;                       /* FN, CALL */
    unsigned flags;                  /* OPT_F_* */
    size_t set_off;                  /* OPT_F_SETS */
    const char *why;   /* what a bad value is told: "must be en or zh" */
    const char *arg;   /* the value in --help: "FILE" */
    const char *usage; /* --help's left column, instead of "name arg" */
    const char *help;  /* --help's right column ('\n': a further line);
                          NULL: not shown */
};

enum opt_err_kind {
    OPT_E_UNKNOWN, /* not an option of the command */
    OPT_E_MISSING, /* an option without its value */
    OPT_E_BAD,     /* a value the option does not take */
};

struct opt_err {
    enum opt_err_kind kind;
    const char *prog;     /* "synfin sim" */
    const char *name;     /* the option as given (before any '=') */
    const struct opt *o;  /* NULL for OPT_E_UNKNOWN */
    const char *value;    /* the value, or NULL */
    bool had_value;       /* UNKNOWN: a value followed ('=' or a next word) */
};

struct opt_group {
    const struct opt *opts; /* ends with an OPT_END row */
    void *base;
    void (*report)(const struct opt_err *e);
};

/* Command flags. */
#define OPT_C_EQUALS 0x01     /* --name=value too */
#define OPT_C_DASH_ARG 0x02   /* a lone "-" is a positional argument */

struct opt_cmd {
    const char *prog;
    const char *usage;  /* --help's first lines */
    const char *footer; /* and its last */
    const struct opt_group *groups; /* unknown options: groups[0].report */
    int ngroups;
    unsigned flags;
    /* Takes a positional argument: 0, or OPT_UNKNOWN / OPT_FAIL. NULL:
     * there are none. */
    int (*positional)(void *ctx, const char *arg);
    void *ctx;
};

/* Reads argv[1..argc-1]. Returns 0; OPT_HELP after printing the help to
 * stdout for -h or --help; or 2 after a one-line message. */
#define OPT_HELP (-1)
int opt_parse(const struct opt_cmd *c, int argc, char **argv);

/* For fns: strtod with OPT_F_SUFFIX's k/M/G (0 or OPT_BAD, no range
 * check); whether d is in o's range; stores d times o's scale at o->off. */
int opt_number(const struct opt *o, const char *v, double *out);
bool opt_in_range(const struct opt *o, double d);
void opt_store_num(void *base, const struct opt *o, double d);

/* usage, each shown row ("  %-16s %s"), then footer. */
void opt_help(const struct opt_cmd *c, FILE *f);

#endif
