/*
 * One body per test case, two ways to run it. Criterion 2.4 cannot start
 * under ThreadSanitizer (Criterion issue #274), so every case is a plain
 * `int name(void)` returning 0 on success, listed once in a suite's
 * X-macro. test_<suite>.c turns the list into Criterion tests; under TSan,
 * driver_<suite>.c runs the same list through crew_driver_main.
 */
#ifndef CREW_TEST_HARNESS_H
#define CREW_TEST_HARNESS_H

#include <stdio.h>
#include <stddef.h>

#ifndef CREW_TEST_SCALE
#define CREW_TEST_SCALE 100
#endif

/* n scaled by the build's test_scale percentage (sanitizer builds run
 * fewer iterations, never fewer than `floor`). */
static inline long crew_scaled(long n, long floor)
{
    long s = n * CREW_TEST_SCALE / 100;
    return s < floor ? floor : s;
}

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            return 1;                                                        \
        }                                                                    \
    } while (0)

#define CHECKF(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            return 1;                                                        \
        }                                                                    \
    } while (0)

typedef struct crew_case {
    const char *name;
    int (*fn)(void);
} crew_case;

#define CREW_DECLARE_CASE(name) int name(void);
#define CREW_TABLE_ENTRY(name) {#name, name},
#define CREW_CRITERION_CASE(suite, name)                                     \
    Test(suite, name, .timeout = 60)                                         \
    {                                                                        \
        cr_assert_eq(name(), 0, #name " failed (its message is above)");     \
    }

int crew_driver_main(const char *suite, const crew_case *cases, size_t n,
                     int argc, char **argv);

#endif
