/* Suite `fuzz`: the fuzzer (fuzz.c) on a fixed set of seeds, so that CI
 * runs the same call sequences every time (the interleavings vary). Each
 * case is bounded: CREW_TEST_SCALE scales the calls per caller, and a
 * caller stops early after a few seconds. A failure prints its seed;
 * `scripts/fuzz.sh SECONDS SEED` runs that seed again (any build), and
 * `scripts/fuzz.sh SECONDS` tries random seeds. */
#include "fuzz_cases.h"

#include "fuzz.h"

static int run_seeds(const unsigned long long *seeds, int n, unsigned threads)
{
    crew_fuzz_opts o = {
        .threads = threads,
        .ops = crew_scaled(2000, 200),
        .max_seconds = 4,
        .verbose = 1,
    };
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed |= crew_fuzz_run(seeds[i], &o);
    return failed;
}

int fuzz_fixed_seeds_two_callers(void)
{
    static const unsigned long long seeds[] = {1, 0x5eed, 20261201};
    return run_seeds(seeds, 3, 2);
}

int fuzz_fixed_seeds_four_callers(void)
{
    static const unsigned long long seeds[] = {7, 0xc0ffee, 424242};
    return run_seeds(seeds, 3, 4);
}

int fuzz_fixed_seeds_eight_callers(void)
{
    static const unsigned long long seeds[] = {99, 0xdecade};
    return run_seeds(seeds, 2, 8);
}
