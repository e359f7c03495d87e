/* crew-bench deque: the Chase-Lev deque on its own.
 *   pair:  owner push immediately followed by pop (the fenced pop), ns;
 *   steal: one owner pushes N items while one thief steals them all. */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "deque/deque.h"

#define MAX_REPEAT 64

static double pair_ns(long iters)
{
    crew_deque d;
    if (crew_deque_init(&d, 64) != 0)
        return -1;
    uintptr_t sum = 0;
    double t0 = bench_now();
    for (long i = 0; i < iters; i++) {
        crew_deque_push(&d, (void *)(uintptr_t)(i + 1));
        sum += (uintptr_t)crew_deque_pop(&d);
    }
    double t = bench_now() - t0;
    bench_consume(sum);
    crew_deque_destroy(&d);
    return t * 1e9 / (double)iters;
}

typedef struct steal_run {
    crew_deque d;
    long n;
    _Atomic int start;
    long retries;
} steal_run;

static void *thief(void *arg)
{
    steal_run *s = arg;
    while (!atomic_load_explicit(&s->start, memory_order_acquire))
        ;
    long got = 0, retries = 0;
    uintptr_t sum = 0;
    while (got < s->n) {
        void *x;
        crew_steal_result r = crew_deque_steal(&s->d, &x);
        if (r == CREW_STEAL_OK) {
            got++;
            sum += (uintptr_t)x;
        } else if (r == CREW_STEAL_RETRY) {
            retries++;
        }
    }
    bench_consume(sum);
    s->retries = retries;
    return NULL;
}

/* Steals per second, or -1. */
static double steal_rate(long n, long *retries)
{
    steal_run s = {.n = n};
    if (crew_deque_init(&s.d, (size_t)n) != 0)
        return -1;
    pthread_t t;
    if (pthread_create(&t, NULL, thief, &s) != 0)
        return -1;
    double t0 = bench_now();
    atomic_store_explicit(&s.start, 1, memory_order_release);
    for (long i = 0; i < n; i++)
        crew_deque_push(&s.d, (void *)(uintptr_t)(i + 1));
    pthread_join(t, NULL);
    double secs = bench_now() - t0;
    crew_deque_destroy(&s.d);
    *retries = s.retries;
    return (double)n / secs;
}

int bench_deque(const bench_opts *o)
{
    static const char *const impls[] = {"crew", NULL};
    if (bench_check_impl(o, "deque", impls) != 0)
        return 2;
    long n = o->n > 0 ? o->n : 2000000;
    int repeat = o->repeat > 0 ? o->repeat : 7;
    if (repeat > MAX_REPEAT)
        repeat = MAX_REPEAT;
    double pair[MAX_REPEAT], steal[MAX_REPEAT];
    long retries = 0;
    for (int r = 0; r < repeat; r++) {
        pair[r] = pair_ns(n);
        steal[r] = steal_rate(n, &retries);
        if (pair[r] < 0 || steal[r] < 0) {
            fprintf(stderr, "crew-bench deque: out of memory or threads\n");
            return 1;
        }
        bench_progress("deque", r + 1, repeat);
    }
    bench_summary ps = bench_summarize(pair, (size_t)repeat);
    bench_summary ss = bench_summarize(steal, (size_t)repeat);
    printf("bench=deque impl=crew workers=1 op=push_pop_pair n=%ld repeat=%d", n, repeat);
    bench_print_stats("ns", &ps);
    printf("\n");
    printf("bench=deque impl=crew workers=2 op=steal owner=1 thieves=1 n=%ld repeat=%d", n,
           repeat);
    bench_print_stats("steals_per_s", &ss);
    printf(" last_retries=%ld\n", retries);
    return 0;
}
