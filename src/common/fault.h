/*
 * Fault injection for the tests: crew's allocations (common/alloc.h) and
 * its thread creations (common/thread.h) each pass one fault point. A test
 * arms a point to let `successes` more calls through and fail the next one
 * (once), and afterwards asks whether the failure fired: a sweep that arms
 * 0, 1, 2, ... until nothing fires has failed every call a scenario makes.
 *
 * Cost when disarmed: one relaxed load per allocation or thread creation,
 * neither of which is on a hot path. Any thread may arm, and the armed
 * failure goes to whichever call comes N+1-th, on any thread.
 */
#ifndef CREW_COMMON_FAULT_H
#define CREW_COMMON_FAULT_H

/* After `successes` more successful allocations, make the next one fail
 * (once, ENOMEM). A negative value disarms. */
void crew_fault_inject_alloc(long successes);
/* The same for thread creation (the failure is EAGAIN). */
void crew_fault_inject_thread(long successes);
/* Whether the failure last armed has happened since it was armed. */
int crew_fault_alloc_fired(void);
int crew_fault_thread_fired(void);

/* Library side: one call per allocation or thread creation; 1 when this
 * call is the injected failure. */
typedef enum crew_fault_point { CREW_FAULT_ALLOC, CREW_FAULT_THREAD } crew_fault_point;
int crew_fault_hit(crew_fault_point p);

#endif
