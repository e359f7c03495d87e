/*
 * crew_future_wait_any and crew_future_wait_all. The waiter puts one note
 * on each future that is not done (callbacks.h), all in one block it
 * allocates; a note adds one to the block's tally when its future is done,
 * and the waiter sleeps on the tally until it reaches its target (1 for
 * any, every pending future for all; sleep.c, "tallies"). Notes on futures
 * still pending when the waiter returns (a deadline, or any) stay on those
 * futures and fire when they complete: the block is reference counted, by
 * the waiter and by each note. Without memory for the block, the waiter
 * sleeps on one future's own state word at a time instead (for any, 1 ms
 * at a time, looking at all of them in between): no ENOMEM, which the
 * contract does not have.
 */
#include "scheduler/callbacks.h"

#include <errno.h>
#include <stdlib.h>

#include "common/alloc.h"

typedef struct waitset {
    _Atomic uint32_t tally; /* notes fired, plus the futures found done while registering */
    uint32_t target;        /* written before the first note is registered */
    _Atomic size_t refs;    /* the waiter's, plus one per note registered */
    crew_done_node notes[];
} waitset;

/* The most futures one block serves (the tally is 32 bits). */
#define WAITSET_MAX ((size_t)1 << 30)
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

/* No block: sleep on one future's state word at a time. 0 when the
 * condition holds, ETIMEDOUT when the deadline passed first. */
static int wait_without_block(crew_future *const *fs, size_t n,
                              const struct timespec *abstime, int any)
{
    for (;;) {
        if (any ? first_done(fs, n) < n : first_pending(fs, n) == n)
            return 0;
        if (deadline_passed(abstime))
            return ETIMEDOUT;
        crew_record *r = (crew_record *)fs[first_pending(fs, n)];
        if (any)
            crew_record_sleep(r, POLL_NS, NULL);
        else
            crew_record_sleep(r, 0, abstime);
    }
}

/* Sleeps until one (any) or all of fs are done, or the deadline: 0 or
 * ETIMEDOUT (the caller checks the futures again either way). */
static int wait_notes(crew_future *const *fs, size_t n, const struct timespec *abstime, int any)
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
        pending += !is_done(fs[i]);
    if (pending == 0)
        return 0;
    if (deadline_passed(abstime))
        return ETIMEDOUT;
    waitset *ws = pending <= WAITSET_MAX
                      ? crew_malloc(sizeof(*ws) + pending * sizeof(crew_done_node))
                      : NULL;
    if (ws == NULL)
        return wait_without_block(fs, n, abstime, any);
    atomic_init(&ws->tally, 0);
    /* Every future pending at the count above is either noted below or
     * found done meanwhile (counted at once): all reach the target. */
    ws->target = any ? 1 : (uint32_t)pending;
    atomic_init(&ws->refs, 1);
    size_t noted = 0;
    int found_done = 0;
    for (size_t i = 0; i < n && noted < pending; i++) {
        crew_record *r = (crew_record *)fs[i];
        if (crew_record_final(r)) {
            found_done = 1;
            if (any)
                break;
            continue;
        }
        crew_done_node *note = &ws->notes[noted];
        *note = (crew_done_node){NULL, note_fired, ws, 0};
        /* Relaxed: we hold a reference; the note's drop is AcqRel. */
        atomic_fetch_add_explicit(&ws->refs, 1, memory_order_relaxed);
        if (crew_record_add_note(r, note)) {
            noted++;
        } else {
            atomic_fetch_sub_explicit(&ws->refs, 1, memory_order_relaxed);
            found_done = 1;
            if (any)
                break;
        }
    }
    /* Futures pending at the count and not noted became done meanwhile
     * (a note is never refused for a future that is not done). */
    uint32_t at_once = any ? (found_done ? 1 : 0) : (uint32_t)(pending - noted);
    if (at_once > 0)
        crew_tally_add(&ws->tally, at_once, ws->target);
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
        wait_notes(fs, n, abstime, 1);
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
    if (first_pending(fs, n) == n)
        return 0;
    wait_notes(fs, n, abstime, 0);
    return first_pending(fs, n) == n ? 0 : ETIMEDOUT;
}
