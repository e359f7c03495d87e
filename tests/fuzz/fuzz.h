/*
 * The fuzzer behind suite `fuzz` and the crew-fuzz program (run by
 * scripts/fuzz.sh): several threads make seeded random sequences of API
 * calls against one pool, then race shutdown against shutdown, destroy
 * the pool, and account for every task. A seed fixes each thread's
 * sequence of calls and the pool's configuration (not the interleaving).
 */
#ifndef CREW_TEST_FUZZ_H
#define CREW_TEST_FUZZ_H

#include <stdint.h>

typedef struct crew_fuzz_opts {
    unsigned threads;   /* calling threads (at most 8) */
    long ops;           /* calls each thread makes before the end phase */
    double max_seconds; /* the threads stop early after this long (0: no limit) */
    int verbose;        /* print the configuration and a summary */
} crew_fuzz_opts;

/* One run: 0, or 1 after printing the failure (with the seed) to stderr. */
int crew_fuzz_run(uint64_t seed, const crew_fuzz_opts *opts);

#endif
