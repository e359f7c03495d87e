#include "common/fault.h"

#include <stdatomic.h>

typedef struct fault {
    _Atomic long countdown; /* successes left; negative: disarmed */
    _Atomic int fired;
} fault;

static fault points[2] = {{-1, 0}, {-1, 0}};

static void arm(fault *f, long successes)
{
    /* Relaxed, both: the hook only needs each call to take one distinct
     * countdown value; a test arms and reads from one thread, and calls
     * it wants counted happen after the arming in that thread's order or
     * are synchronized with it by the test itself. */
    atomic_store_explicit(&f->fired, 0, memory_order_relaxed);
    atomic_store_explicit(&f->countdown, successes < 0 ? -1 : successes,
                          memory_order_relaxed);
}

void crew_fault_inject_alloc(long successes)
{
    arm(&points[CREW_FAULT_ALLOC], successes);
}

void crew_fault_inject_thread(long successes)
{
    arm(&points[CREW_FAULT_THREAD], successes);
}

int crew_fault_alloc_fired(void)
{
    return atomic_load_explicit(&points[CREW_FAULT_ALLOC].fired, memory_order_relaxed);
}

int crew_fault_thread_fired(void)
{
    return atomic_load_explicit(&points[CREW_FAULT_THREAD].fired, memory_order_relaxed);
}

int crew_fault_hit(crew_fault_point p)
{
    fault *f = &points[p];
    if (atomic_load_explicit(&f->countdown, memory_order_relaxed) < 0)
        return 0;
    long left = atomic_fetch_sub_explicit(&f->countdown, 1, memory_order_relaxed);
    if (left == 0) {
        atomic_store_explicit(&f->fired, 1, memory_order_relaxed);
        return 1;
    }
    if (left < 0) /* raced past the armed value: disarm again */
        atomic_store_explicit(&f->countdown, -1, memory_order_relaxed);
    return 0;
}
