/* Suite `scheduler`, the injection queue on its own. */
#include "scheduler_cases.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "scheduler/injector.h"
#include "util.h"

typedef struct inj_race {
    crew_injector q;
    _Atomic int stop;
    long looks, wrong;
} inj_race;

static void *inj_watcher(void *arg)
{
    inj_race *r = arg;
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        r->looks++;
        if (crew_injector_empty(&r->q))
            r->wrong++;
    }
    return NULL;
}

/* The queue is never empty here: one thread keeps an item in it (it pushes
 * one, then pops the oldest) while another asks crew_injector_empty again
 * and again. Every "empty" is wrong; the head crosses a segment boundary
 * every 63 rounds, which is where a look that pairs an old head index with
 * the next segment's slot says "empty". */
int the_injector_never_looks_empty_while_it_holds_an_item(void)
{
    static inj_race r;
    CHECK(crew_injector_init(&r.q) == 0);
    atomic_store(&r.stop, 0);
    r.looks = r.wrong = 0;
    crew_inj_item it = {NULL, NULL, NULL, CREW_INJ_POST};
    CHECK(crew_injector_push(&r.q, &it) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, inj_watcher, &r) == 0);
    long rounds = crew_scaled(2000000, 200000);
    for (long i = 0; i < rounds; i++) {
        crew_inj_item out;
        CHECK(crew_injector_push(&r.q, &it) == 0);
        CHECK(crew_injector_pop_batch(&r.q, &out, 1, 1) == 1);
    }
    atomic_store(&r.stop, 1);
    pthread_join(t, NULL);
    crew_inj_item out;
    CHECK(crew_injector_pop_batch(&r.q, &out, 1, 1) == 1);
    crew_injector_destroy(&r.q);
    CHECKF(r.wrong == 0, "%ld of %ld looks said empty", r.wrong, r.looks);
    return 0;
}
