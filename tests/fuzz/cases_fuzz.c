/* Suite `fuzz`: the fuzzer (fuzz.c) on a fixed set of seeds, so that CI
 * runs the same call sequences every time (the interleavings vary). Each
 * case is bounded: CREW_TEST_SCALE scales the calls per caller, and a
 * caller stops early after a few seconds. A failure prints its seed;
 * `scripts/fuzz.sh SECONDS SEED` runs that seed again (any build), and
 * `scripts/fuzz.sh SECONDS` tries random seeds. */
#include "fuzz_cases.h"

#include <crew.h>
#include <errno.h>
#include <stdio.h>

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

static void *identity(void *arg)
{
    return arg;
}

/* Found by the faults sweep (a bounded queue still counting a place after
 * shutdown returned): a worker that claims a batch from the injection
 * queue publishes the batch before it gives the batch's queue places
 * back, so another worker can take, run and finish those tasks first.
 * Seen from outside: the queue holds nothing, yet a submit gets EAGAIN.
 * One submitter, one task at a time, each waited for before the next: the
 * queue is empty at every submit and must never be full. The window is a
 * few instructions, hit when the claiming worker is preempted there: more
 * workers than CPUs make that likelier (measured: the TSan build, 4
 * workers, 673 refusals in 100,000 submits; optimized builds rarely). */
int a_bounded_queue_never_refuses_a_submit_once_the_previous_task_finished(void)
{
    crew_config c;
    crew_config_default(&c);
    c.workers = 4;
    c.queue_limit = 1;
    c.block_when_full = false;
    crew_pool *p = crew_pool_create(&c);
    CHECK(p != NULL);
    long n = crew_scaled(100000, 40000), refused = 0;
    for (long i = 0; i < n; i++) {
        errno = 0;
        crew_future *f = crew_submit(p, identity, (void *)i);
        if (f == NULL) {
            CHECKF(errno == EAGAIN, "crew_submit: errno %d", errno);
            refused++;
            continue;
        }
        void *r = NULL;
        CHECK(crew_future_wait(f, &r) == 0 && r == (void *)i);
        crew_future_release(f);
    }
    CHECK(crew_pool_destroy(p) == 0);
    CHECKF(refused == 0, "%ld of %ld submits got EAGAIN from an empty queue", refused, n);
    return 0;
}
