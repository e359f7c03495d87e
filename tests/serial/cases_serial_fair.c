/* Suite `serial`: fairness on a one-worker pool. A queue that always has
 * work looks for other work every CREW_SERIAL_TURN (64) tasks and yields
 * its worker if there is some, so other queues and other submissions run
 * meanwhile; and a queue's drain waits
 * behind the pool's queued work in FIFO order, so a worker whose tasks
 * keep posting (LIFO, on its own deque) does not starve it. The counts
 * asserted are numbers of tasks, not times. */
#include "serial_cases.h"

#include <crew.h>
#include <errno.h>
#include <stdatomic.h>

#include "scheduler/record.h"
#include "util.h"

/* A queue whose every task posts the next one into the same queue, until
 * told to stop (or a cap, so that a broken build ends). */
typedef struct busy {
    crew_serial *q;
    _Atomic long ran;
    _Atomic int stop;
    long cap;
} busy;

static void *busy_task(void *arg)
{
    busy *b = arg;
    long n = atomic_fetch_add(&b->ran, 1) + 1;
    if (!atomic_load(&b->stop) && n < b->cap)
        crew_serial_post(b->q, busy_task, b);
    return NULL;
}

/* What the other work saw: how many of the busy queue's tasks had run. */
typedef struct probe {
    busy *b;
    _Atomic long seen;
} probe;

static void *probe_task(void *arg)
{
    probe *pr = arg;
    atomic_store(&pr->seen, atomic_load(&pr->b->ran));
    return NULL;
}

/* Waits (2 s at most) for the probe to run: the busy queue's count then. */
static long probe_wait(probe *pr)
{
    double t0 = test_now_s();
    while (atomic_load(&pr->seen) < 0 && test_now_s() - t0 < 2)
        test_sleep_ms(1);
    return atomic_load(&pr->seen);
}

int a_busy_queue_yields_its_worker_every_64_tasks(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    static busy b;
    b.q = crew_serial_create(p);
    CHECK(b.q != NULL);
    atomic_store(&b.ran, 0);
    atomic_store(&b.stop, 0);
    b.cap = crew_scaled(50000000, 5000000);
    crew_serial *other = crew_serial_create(p);
    CHECK(other != NULL);
    CHECK(crew_serial_post(b.q, busy_task, &b) == 0);
    while (atomic_load(&b.ran) < 1000)
        test_sleep_ms(1);
    /* Another queue, a post, a submit: each runs within two turns of the
     * busy queue (at the end of a turn it looks for other work and goes
     * to the back of the injection queue if there is some; a probe queued
     * just after one look is seen at the next). A task of the busy queue
     * may be starting as the probe is posted: one more. */
    long worst = 0;
    for (int round = 0; round < 30; round++) {
        probe pr = {&b, -1};
        int kind = round % 3;
        crew_future *f = NULL;
        if (kind == 0)
            CHECK(crew_serial_post(other, probe_task, &pr) == 0);
        else if (kind == 1)
            CHECK(crew_post(p, probe_task, &pr) == 0);
        else
            CHECK((f = crew_submit(p, probe_task, &pr)) != NULL);
        /* Counted from the post's return, when the probe is queued: the
         * busy queue runs tens of millions of tasks a second, so the
         * post's own time (a record's first allocation, say) is worth
         * hundreds of them, which the bound is not about. The probe may
         * have run already (seen < before): then it waited 0 tasks. */
        long before = atomic_load(&b.ran);
        long seen = probe_wait(&pr);
        CHECKF(seen >= 0, "round %d: the probe never ran beside a busy queue", round);
        if (seen - before > worst)
            worst = seen - before;
        if (f != NULL) {
            CHECK(crew_future_wait(f, NULL) == 0);
            crew_future_release(f);
        }
    }
    long at_end = atomic_load(&b.ran);
    atomic_store(&b.stop, 1);
    CHECK(crew_serial_wait(b.q) == 0);
    CHECK(at_end < b.cap); /* still busy when the last probe ran */
    CHECKF(worst <= 2 * CREW_SERIAL_TURN + 1,
           "the busy queue ran %ld tasks between a probe's post and its start", worst);
    crew_serial_destroy(b.q);
    crew_serial_destroy(other);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* A plain task that posts itself again from inside: on one worker, its
 * repost is the newest item of the worker's deque, which the worker pops
 * first, forever. Once, it also starts a chain of serial tasks on an
 * empty queue: a drain queued on this deque would lie under the reposts. */
typedef struct chain {
    crew_serial *q;
    long left;
} chain;

typedef struct flood {
    crew_pool *pool;
    _Atomic long ran;
    _Atomic int stop;
    long cap;
    long chain_at; /* the run that starts the chain */
    chain *chain;
} flood;

static _Atomic long starve_ran;

static void *chain_task(void *arg)
{
    chain *c = arg;
    atomic_fetch_add(&starve_ran, 1);
    if (--c->left > 0)
        crew_serial_post(c->q, chain_task, c);
    return NULL;
}

static void *flood_task(void *arg)
{
    flood *fl = arg;
    long n = atomic_fetch_add(&fl->ran, 1) + 1;
    if (n == fl->chain_at)
        crew_serial_post(fl->chain->q, chain_task, fl->chain);
    if (!atomic_load(&fl->stop) && n < fl->cap)
        crew_post(fl->pool, flood_task, fl);
    return NULL;
}

static void *starve_task(void *arg)
{
    atomic_fetch_add(&starve_ran, 1);
    return arg;
}

int a_queue_is_not_starved_by_a_worker_whose_tasks_keep_posting(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_serial *q = crew_serial_create(p), *q2 = crew_serial_create(p);
    CHECK(q != NULL && q2 != NULL);
    static chain c;
    c.q = q;
    c.left = 100;
    static flood fl;
    fl.pool = p;
    atomic_store(&fl.ran, 0);
    atomic_store(&fl.stop, 0);
    fl.cap = crew_scaled(50000000, 5000000);
    fl.chain_at = 1000;
    fl.chain = &c;
    atomic_store(&starve_ran, 0);
    CHECK(crew_post(p, flood_task, &fl) == 0);
    while (atomic_load(&fl.ran) < 1000)
        test_sleep_ms(1);
    /* And from outside, onto another queue. */
    for (int i = 0; i < 100; i++)
        CHECK(crew_serial_post(q2, starve_task, NULL) == 0);
    double t0 = test_now_s();
    while (atomic_load(&starve_ran) < 200 && test_now_s() - t0 < 5)
        test_sleep_ms(1);
    long got = atomic_load(&starve_ran);
    long flood_then = atomic_load(&fl.ran);
    atomic_store(&fl.stop, 1);
    CHECK(crew_serial_wait(q) == 0 && crew_serial_wait(q2) == 0);
    CHECKF(got == 200, "only %ld of the queues' 200 tasks ran beside the flood", got);
    CHECK(flood_then < fl.cap); /* the flood was still going */
    crew_serial_destroy(q);
    crew_serial_destroy(q2);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
