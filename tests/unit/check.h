/* A tiny unit-test harness: CHECK(cond) and CHECK_EQ(a, b) count and report
 * failures with file:line; CHECK_MAIN_END prints "N passed, N failed" and
 * returns non-zero on any failure. Tests assert; a test that asserts
 * nothing is not a test. */
#ifndef SF_TESTS_CHECK_H
#define SF_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>

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

#endif
