/* Suite `serial`: every error value of crew_serial_* (docs/api.md), and
 * every allocation of a queue's life failed in turn. */
#include "serial_cases.h"

#include <crew.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "common/fault.h"
#include "util.h"

static void *twice(void *arg)
{
    return IP(PI(arg) * 2);
}

/* ---- errors ---- */

int serial_calls_reject_bad_arguments_with_einval(void)
{
    errno = 0;
    CHECK(crew_serial_create(NULL) == NULL && errno == EINVAL);
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_serial *q = crew_serial_create(p);
    CHECK(q != NULL);
    CHECK(crew_serial_post(NULL, twice, NULL) == EINVAL);
    CHECK(crew_serial_post(q, NULL, NULL) == EINVAL);
    errno = 0;
    CHECK(crew_serial_submit(NULL, twice, NULL) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(crew_serial_submit(q, NULL, NULL) == NULL && errno == EINVAL);
    CHECK(crew_serial_wait(NULL) == EINVAL);
    CHECK(crew_serial_wait(q) == 0); /* empty: at once */
    crew_serial_destroy(NULL);
    crew_serial_destroy(q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* Every allocation a queue's life makes fails in turn (create, the
 * records of posts and submits, the injection queue's segment for a
 * drain, from outside and from a task): each call either fails ENOMEM
 * with nothing queued, or succeeds and its task runs exactly once. The
 * injection queue takes a new segment on its 63rd push, so 62 pushes
 * first put the drains' push on that boundary. */
static _Atomic long nm_ran;
static _Atomic int nm_gate;

static void *nm_task(void *arg)
{
    atomic_fetch_add(&nm_ran, 1);
    return arg;
}

static void *nm_gate_task(void *arg)
{
    (void)arg;
    test_spin_until(&nm_gate);
    return NULL;
}

typedef struct nm_inside {
    crew_serial *q;
    long fail_after;
    _Atomic int go;
    int rc;
    int fired;
} nm_inside;

/* From a task: wait for the go, arm the fault, post to an empty queue. */
static void *nm_inside_task(void *arg)
{
    nm_inside *in = arg;
    test_spin_until(&in->go);
    crew_fault_inject_alloc(in->fail_after);
    in->rc = crew_serial_post(in->q, nm_task, NULL);
    in->fired = crew_fault_alloc_fired();
    crew_fault_inject_alloc(-1);
    return NULL;
}

static int nm_round(long fail_after, int from_inside, int *fired)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    atomic_store(&nm_ran, 0);
    atomic_store(&nm_gate, 0);
    static nm_inside in;
    memset(&in, 0, sizeof in);
    in.fail_after = fail_after;
    long accepted = 0, pushes = 0;
    crew_serial *q = NULL;
    if (from_inside) {
        CHECK((in.q = crew_serial_create(p)) != NULL);
        CHECK(crew_post(p, nm_inside_task, &in) == 0);
        pushes = 1;
    } else {
        CHECK(crew_post(p, nm_gate_task, NULL) == 0);
        pushes = 1;
    }
    for (; pushes < 62; pushes++)
        CHECK(crew_post(p, nm_task, NULL) == 0);
    long posted_plain = pushes - 1;
    if (from_inside) {
        /* The task (the oldest item) runs first and posts once the 61
         * plain posts are in: its drain's push is the 63rd. */
        atomic_store(&in.go, 1);
        CHECK(crew_pool_shutdown(p, false) == 0);
        *fired = in.fired;
        CHECKF(in.rc == 0 || in.rc == ENOMEM, "inside post: %d", in.rc);
        accepted = in.rc == 0;
        crew_serial_destroy(in.q);
    } else {
        crew_fault_inject_alloc(fail_after);
        q = crew_serial_create(p);
        if (q == NULL) {
            CHECK(errno == ENOMEM);
        } else {
            for (int i = 0; i < 4; i++) {
                int rc = crew_serial_post(q, nm_task, NULL);
                CHECKF(rc == 0 || rc == ENOMEM, "post: %d", rc);
                accepted += rc == 0;
                crew_future *f = crew_serial_submit(q, nm_task, NULL);
                CHECK(f != NULL || errno == ENOMEM);
                if (f != NULL) {
                    accepted++;
                    crew_future_release(f);
                }
            }
        }
        *fired = crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        atomic_store(&nm_gate, 1);
        if (q != NULL)
            CHECK(crew_serial_wait(q) == 0);
        CHECK(crew_pool_shutdown(p, false) == 0);
        crew_serial_destroy(q);
    }
    CHECKF(atomic_load(&nm_ran) == accepted + posted_plain,
           "fail after %ld (%s): ran %ld, accepted %ld + %ld plain", fail_after,
           from_inside ? "inside" : "outside", atomic_load(&nm_ran), accepted, posted_plain);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int serial_calls_out_of_memory_fail_enomem_and_lose_nothing(void)
{
    for (int from_inside = 0; from_inside < 2; from_inside++) {
        int fired = 1;
        long k;
        for (k = 0; fired && k < 200; k++)
            CHECK(nm_round(k, from_inside, &fired) == 0);
        CHECKF(!fired, "the sweep did not end after %ld allocations", k);
        CHECKF(k > 1, "no allocation was failed (%ld rounds)", k);
    }
    return 0;
}
