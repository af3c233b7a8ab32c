/* A tiny test harness, shared by tests/unit and tests/system: CHECK(cond)
 * and CHECK_EQ(a, b) count and report failures with file:line.
 *
 * Each test file lists its cases in a table and ends main with
 * CHECK_MAIN(argc, argv, cases):
 *
 *     static const struct check_case cases[] = {
 *         CHECK_CASE(test_parse_ipv4),
 *         CHECK_CASE(test_emit_layout),
 *     };
 *     int main(int argc, char **argv) { return CHECK_MAIN(argc, argv, cases); }
 *
 * The binary then runs every case, in table order, when given no argument;
 * given arguments, only the cases they name: an argument that is a case's
 * name, with or without its "test_" prefix, selects that case alone, any
 * other the cases whose name contains it (`test_wire drops emit`); `--list` prints the names (only the matching
 * ones if arguments are given too). An argument that matches no case is an
 * error (exit 2), so that a typo cannot pass as a run of nothing. The last
 * line is always "FILE: N passed, N failed" (CI reads it); the exit status
 * is non-zero on any failure. CHECK_MAIN_END() (print that line, return)
 * remains for a main that calls its cases itself.
 *
 * Tests assert; a test that asserts nothing is not a test. */
#ifndef SF_TESTS_CHECK_H
#define SF_TESTS_CHECK_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned check_passed_, check_failed_;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            check_passed_++;                                                 \
        } else {                                                             \
            check_failed_++;                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                       \
    do {                                                                     \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);      \
        if (check_a_ == check_b_) {                                          \
            check_passed_++;                                                 \
        } else {                                                             \
            check_failed_++;                                                 \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);         \
        }                                                                    \
    } while (0)

#define CHECK_MAIN_END()                                                     \
    do {                                                                     \
        printf("%s: %u passed, %u failed\n", __FILE__, check_passed_,       \
               check_failed_);                                               \
        return check_failed_ ? 1 : 0;                                        \
    } while (0)

/* One named case: a function that takes nothing and CHECKs. */
struct check_case {
    const char *name;
    void (*fn)(void);
};
#define CHECK_CASE(fn) {#fn, fn}

#define CHECK_MAIN(argc, argv, cases)                                        \
    check_main_(__FILE__, (argc), (argv), (cases),                           \
                sizeof(cases) / sizeof((cases)[0]))

/* Whether case `name` is what `pat` asks for: its exact name (with or
 * without the "test_" prefix) when a case has it, else any case whose
 * name contains it. */
static inline bool check_exact_(const char *name, const char *pat)
{
    return !strcmp(name, pat) ||
           (!strncmp(name, "test_", 5) && !strcmp(name + 5, pat));
}

static inline bool check_matches_(const char *name, const char *pat,
                                  const struct check_case *cases, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (check_exact_(cases[k].name, pat))
            return check_exact_(name, pat);
    return strstr(name, pat) != NULL;
}

/* Whether case `name` is selected by the patterns argv[1..argc-1] (the
 * options skipped): all are when there is no pattern. */
static inline bool check_selected_(const char *name, int argc, char **argv,
                                   const struct check_case *cases, size_t n)
{
    bool any = false;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        any = true;
        if (check_matches_(name, argv[i], cases, n))
            return true;
    }
    return !any;
}

static inline int check_main_(const char *file, int argc, char **argv,
                              const struct check_case *cases, size_t n)
{
    bool list = false, picked = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--list")) {
            list = true;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: %s [--list] [NAME...]\n"
                   "  runs the cases of %s that the NAMEs name: a case's "
                   "name (\"test_\" may be left off)\n  or a part of "
                   "names; all cases without NAME. --list prints the "
                   "names.\n",
                   argv[0], file);
            return 0;
        }
        if (a[0] == '-' || !a[0]) {
            fprintf(stderr, "%s: unknown option '%s' (usage: [--list] "
                    "[NAME...])\n", argv[0], a);
            return 2;
        }
        bool found = false;
        for (size_t k = 0; k < n && !found; k++)
            found = check_matches_(cases[k].name, a, cases, n);
        if (!found) {
            fprintf(stderr, "%s: no case of %s matches '%s'; the cases are:\n",
                    argv[0], file, a);
            for (size_t k = 0; k < n; k++)
                fprintf(stderr, "  %s\n", cases[k].name);
            return 2;
        }
        picked = true;
    }
    for (size_t k = 0; k < n; k++) {
        if (!check_selected_(cases[k].name, argc, argv, cases, n))
            continue;
        if (list) {
            printf("%s\n", cases[k].name);
            continue;
        }
        if (picked)
            printf("%s: %s\n", file, cases[k].name);
        cases[k].fn();
    }
    if (list)
        return 0;
    printf("%s: %u passed, %u failed\n", file, check_passed_, check_failed_);
    return check_failed_ ? 1 : 0;
}

#endif
