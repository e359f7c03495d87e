/* The plain test driver: runs a suite's cases in this process, in order,
 * and prints one line per case and a closing "N passed, N failed". Used
 * where Criterion cannot run (ThreadSanitizer builds, and cross builds
 * whose tests run under qemu-user). Arguments, if any, name the cases to
 * run. */
#include "harness.h"

#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int wanted(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int crew_driver_main(const char *suite, const crew_case *cases, size_t n,
                     int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!wanted(cases[i].name, argc, argv))
            continue;
        double t0 = now_s();
        int rc = cases[i].fn();
        printf("[%s] %-60s %s (%.2f s)\n", suite, cases[i].name,
               rc == 0 ? "ok" : "FAILED", now_s() - t0);
        fflush(stdout);
        if (rc == 0)
            passed++;
        else
            failed++;
    }
    printf("%s: %d passed, %d failed\n", suite, passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
