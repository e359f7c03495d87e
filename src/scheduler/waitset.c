/*
 * crew_future_wait_any and crew_future_wait_all.
 *
 * wait_any puts one note on each future that is not done (callbacks.h),
 * all in one block it allocates; the first note to fire adds one to the
 * block's tally, on which the waiter sleeps (sleep.c, "tallies"). Notes
 * on futures still pending when the waiter returns stay on those futures
 * and fire when they complete: the block is reference counted, by the
 * waiter and by each note. Without memory for the block, the waiter
 * sleeps on the first pending future's own state word 1 ms at a time,
 * looking at all of them in between: no ENOMEM, which the contract does
 * not have.
 *
 * wait_all needs no note: it waits for each future in turn on the
 * future's own state word (crew_future_timedwait's sleep), from the last
 * to the first. Outside submissions run in FIFO order, so the last one
 * tends to finish last and one sleep usually covers them all; whatever
 * the order, a future found done costs one load, and completion pays
 * nothing for a waiter (the completer's waiter-count load, as for any
 * future). Notes would make every completer run a callback for it.
 */
#include "scheduler/callbacks.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/alloc.h"

typedef struct waitset {
    _Atomic uint32_t tally; /* notes fired, or 1 for a future found done while noting */
    uint32_t target;        /* 1; written before the first note is registered */
    _Atomic size_t refs;    /* the waiter's, plus one per note registered */
    crew_done_node notes[];
} waitset;

/* How long a waiter without a block sleeps on one future of wait_any
 * before it looks at the others again. */
#define POLL_NS 1000000L

static void waitset_unref(waitset *ws)
{
    /* AcqRel: every note's and the waiter's use happens before the free. */
    if (atomic_fetch_sub_explicit(&ws->refs, 1, memory_order_acq_rel) == 1)
        free(ws);
}

static void note_fired(crew_future *f, void *ctx)
{
    (void)f;
    waitset *ws = ctx;
    crew_tally_add(&ws->tally, 1, ws->target);
    waitset_unref(ws);
}

static int bad_deadline(const struct timespec *abstime)
{
    return abstime != NULL && (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000);
}

static int deadline_passed(const struct timespec *abstime)
{
    if (abstime == NULL)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > abstime->tv_sec ||
           (now.tv_sec == abstime->tv_sec && now.tv_nsec >= abstime->tv_nsec);
}

static int is_done(crew_future *f)
{
    return crew_record_final((crew_record *)f);
}

/* The lowest index of a done future, or n. */
static size_t first_done(crew_future *const *fs, size_t n)
{
    size_t i = 0;
    while (i < n && !is_done(fs[i]))
        i++;
    return i;
}

/* The lowest index of a future not done, or n. */
static size_t first_pending(crew_future *const *fs, size_t n)
{
    size_t i = 0;
    while (i < n && is_done(fs[i]))
        i++;
    return i;
}

/* No block: sleep on the first pending future 1 ms at a time, looking at
 * all of them in between. 0 once one is done, ETIMEDOUT when the deadline
 * passed first. */
static int wait_without_block(crew_future *const *fs, size_t n, const struct timespec *abstime)
{
    for (;;) {
        if (first_done(fs, n) < n)
            return 0;
        if (deadline_passed(abstime))
            return ETIMEDOUT;
        crew_record_sleep((crew_record *)fs[first_pending(fs, n)], POLL_NS, NULL);
    }
}

/* Sleeps until one of fs is done, or the deadline: 0 or ETIMEDOUT (the
 * caller looks at the futures again either way). */
static int wait_notes(crew_future *const *fs, size_t n, const struct timespec *abstime)
{
    if (deadline_passed(abstime))
        return ETIMEDOUT;
    waitset *ws = n <= (SIZE_MAX - sizeof(*ws)) / sizeof(crew_done_node)
                      ? crew_malloc(sizeof(*ws) + n * sizeof(crew_done_node))
                      : NULL;
    if (ws == NULL)
        return wait_without_block(fs, n, abstime);
    atomic_init(&ws->tally, 0);
    ws->target = 1;
    atomic_init(&ws->refs, 1);
    size_t noted = 0;
    for (size_t i = 0; i < n; i++) {
        crew_done_node *note = &ws->notes[noted];
        *note = (crew_done_node){NULL, note_fired, ws, 0};
        /* Relaxed: we hold a reference; the note's drop is AcqRel. */
        atomic_fetch_add_explicit(&ws->refs, 1, memory_order_relaxed);
        if (!crew_record_add_note((crew_record *)fs[i], note)) {
            /* Done already: no need to note the rest. */
            atomic_fetch_sub_explicit(&ws->refs, 1, memory_order_relaxed);
            crew_tally_add(&ws->tally, 1, ws->target);
            break;
        }
        noted++;
    }
    int rc = crew_tally_wait(&ws->tally, ws->target, abstime);
    waitset_unref(ws);
    return rc;
}

int crew_future_wait_any(crew_future *const *fs, size_t n, const struct timespec *abstime,
                         size_t *index)
{
    if (fs == NULL || n == 0 || index == NULL || bad_deadline(abstime))
        return EINVAL;
    for (size_t i = 0; i < n; i++)
        if (fs[i] == NULL)
            return EINVAL;
    size_t i = first_done(fs, n);
    if (i == n) {
        wait_notes(fs, n, abstime);
        /* A done future wins over a passed deadline. */
        i = first_done(fs, n);
        if (i == n)
            return ETIMEDOUT;
    }
    *index = i;
    return 0;
}

int crew_future_wait_all(crew_future *const *fs, size_t n, const struct timespec *abstime)
{
    if ((fs == NULL && n > 0) || bad_deadline(abstime))
        return EINVAL;
    for (size_t i = 0; i < n; i++)
        if (fs[i] == NULL)
            return EINVAL;
    for (size_t i = n; i-- > 0;) {
        crew_record *r = (crew_record *)fs[i];
        while (!crew_record_final(r))
            if (crew_record_sleep(r, 0, abstime) == ETIMEDOUT && !crew_record_final(r))
                return ETIMEDOUT;
    }
    return 0;
}
