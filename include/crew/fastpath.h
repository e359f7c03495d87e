/*
 * crew/fastpath.h: PRIVATE TO CREW. Included by <crew.h>, never on its
 * own; nothing here is API. It holds what the inline spawn/sync fast path
 * must see: the layout of a worker's hot part and of a task record, and
 * the inline definitions of the functions <crew.h> declares in its
 * "Fork-join" section. The layout may change in any release (programs see
 * it only through those inline functions; the library's exported copies,
 * crew_spawn_extern and crew_sync_extern, mirror them), and a change of it
 * bumps the shared library's soname (docs/install.md).
 */
#ifndef CREW_FASTPATH_H
#define CREW_FASTPATH_H

#ifndef CREW_H
#error "include <crew.h>, not <crew/fastpath.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The C11 keywords below, spelled for C++11 and later when a C++
 * compiler reads this header (the C spelling is unchanged). C++ gets
 * __thread rather than thread_local: an extern thread_local is read
 * through a TLS wrapper call (it might have a dynamic initializer in
 * another translation unit); __thread, constant-initialized by rule, is
 * the same TLS object read directly, as C reads it. */
#ifdef __cplusplus
#define CREW_ALIGNAS_(n) alignas(n)
#define CREW_THREAD_LOCAL_ __thread
#define CREW_STATIC_ASSERT_(cond, msg) static_assert(cond, msg)
#else
#define CREW_ALIGNAS_(n) _Alignas(n)
#define CREW_THREAD_LOCAL_ _Thread_local
#define CREW_STATIC_ASSERT_(cond, msg) _Static_assert(cond, msg)
#endif

/* A task record: what crew_task's reserved words hold. */
typedef struct crew_job_ {
    crew_fn   fn;
    void     *arg;
    void     *result;
    uint32_t  state;   /* atomic (builtins): CREW_JOB_* of the library */
    uint32_t  flags;
    void     *runner;  /* atomic: the worker that stole or claimed it */
    void    (*finish)(struct crew_job_ *job, void *worker); /* NULL: spawned */
} crew_job_;

#define CREW_PRIVATE_SPAWNS_ 64
/* A spawned task's slot in the private prefix: the low bits of its
 * crew_job_.flags, a word only the owner writes (a thief writes result,
 * state and runner, never flags). */
#define CREW_SLOT_MASK_ 127u

typedef struct crew_worker_hot_ {
    unsigned  priv_lo, priv_hi;     /* owner only: private spawns [lo, hi) */
    uint64_t  spawns;               /* atomic, written by the owner only */
    /* Slots CREW_PRIVATE_SPAWNS_ and up stay NULL: a task that is not
     * private names one of them (see crew_sync), and a slot index read
     * through CREW_SLOT_MASK_ can never leave the array. */
    crew_job_ *priv[CREW_SLOT_MASK_ + 1];
    /* atomic: a thief, or a worker going to sleep, asks for a public task.
     * Its own cache line: others write it while the owner spawns. */
    CREW_ALIGNAS_(64) int request;
} crew_worker_hot_;

/* The worker running on this thread; on any other thread, the read-only
 * crew_outside_worker_, whose private part is always "full and empty"
 * (priv_lo == priv_hi == CREW_PRIVATE_SPAWNS_), so both fast paths fall to
 * their slow paths (the serial elision) without a NULL test. */
extern CREW_API CREW_THREAD_LOCAL_ crew_worker_hot_ *crew_current_worker_
    __attribute__((tls_model("initial-exec")));
extern CREW_API crew_worker_hot_ crew_outside_worker_;

CREW_API void  crew_spawn_slow_(crew_worker_hot_ *w, crew_job_ *j);
/* Debug builds (CREW_DEBUG): a sync that breaks the LIFO order; prints
 * what happened and aborts. */
CREW_API void  crew_sync_order_violation_(void);
CREW_API void *crew_sync_slow_(crew_worker_hot_ *w, crew_job_ *j);

CREW_STATIC_ASSERT_(sizeof(crew_job_) <= sizeof(crew_task), "crew_task too small");

static inline void crew_count_(uint64_t *c)
{
    __atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

/* Makes fn(arg) available to thieves. Never fails. No lock, no malloc, no
 * fence: the task goes on the worker's private prefix (only fn and arg are
 * written; the rest of the record is filled in if it is ever published),
 * and is published to its Chase-Lev deque only when a thief asks or a
 * worker goes to sleep (both raise `request`). */
static inline void crew_spawn(crew_task *t, crew_fn fn, void *arg)
{
    crew_job_ *j = (crew_job_ *)(void *)t;
    crew_worker_hot_ *w = crew_current_worker_;
    j->fn = fn;
    j->arg = arg;
    if (__builtin_expect(w->priv_hi == CREW_PRIVATE_SPAWNS_ ||
                             __atomic_load_n(&w->request, __ATOMIC_RELAXED) != 0,
                         0)) {
        crew_spawn_slow_(w, j);
        return;
    }
    unsigned hi = w->priv_hi;
    w->priv[hi] = j;
    /* The task remembers its slot: its sync then rewinds priv_hi from the
     * record instead of reading priv_hi back (a shorter dependency chain
     * through memory than a load and a store of priv_hi per operation). */
    j->flags = hi;
    w->priv_hi = hi + 1;
    crew_count_(&w->spawns);
}

/* The unstolen case of a sync: j is the newest private spawn, and is
 * taken back from the private prefix. */
static inline int crew_sync_takes_back_(crew_worker_hot_ *w, crew_job_ *j)
{
    /* j's slot still holds j only while j is private: publishing a task
     * clears its slot, and a slot is reused only by a task spawned after
     * j was synced or published. Syncs are LIFO, so j is the newest
     * private task and the prefix ends just below it. */
    unsigned idx = j->flags & CREW_SLOT_MASK_;
    if (w->priv[idx] == j) {
#ifdef CREW_DEBUG
        /* Private, but not the newest: a spawn after j is not synced. */
        if (idx + 1 != w->priv_hi)
            crew_sync_order_violation_();
#endif
        w->priv_hi = idx;
        return 1;
    }
    return 0;
}

/* Returns fn(arg)'s result: runs it here if nobody stole it, otherwise
 * works on the thief's subtasks (leapfrogging) or sleeps until it is done.
 * Syncs happen in reverse spawn order. */
static inline void *crew_sync(crew_task *t)
{
    crew_job_ *j = (crew_job_ *)(void *)t;
    crew_worker_hot_ *w = crew_current_worker_;
    if (__builtin_expect(crew_sync_takes_back_(w, j), 1))
        return j->fn(j->arg);
    return crew_sync_slow_(w, j);
}

/* crew_sync for a task known to run `fn`: the unstolen path is a direct
 * call the compiler can see (Lace's SYNC). fn must be the spawned one. */
static inline void *crew_sync_call(crew_task *t, crew_fn fn)
{
    crew_job_ *j = (crew_job_ *)(void *)t;
    crew_worker_hot_ *w = crew_current_worker_;
    if (__builtin_expect(crew_sync_takes_back_(w, j), 1))
        return fn(j->arg);
    return crew_sync_slow_(w, j);
}

#ifdef __cplusplus
}
#endif

#endif /* CREW_FASTPATH_H */
