/*
 * crew/fastpath.h: PRIVATE TO CREW. Included by <crew.h>, never on its
 * own; nothing here is API. It holds what the inline spawn/sync fast path
 * must see: the layout of a thread's slot stack and of a task record, and
 * the inline definitions of the functions <crew.h> declares in its
 * "Fork-join" section (and of the typed tasks' helpers, crew/typed.h).
 * The layout may change in any release (programs see it only through the
 * inline functions; the library's exported copies, crew_spawn_extern and
 * crew_sync_extern, mirror them), and a change of it bumps the shared
 * library's soname (docs/install.md).
 *
 * The design (docs/scheduler.md, "The fast path"): every thread that
 * spawns has a stack of task slots. A spawn writes fn and arg into the
 * next slot and moves `top` up; a sync of a slot that is still private
 * moves `top` back and calls the function: no atomic, no fence, and the
 * caller's crew_task is a handle (the slot's index, the function and its
 * argument) whose address is never stored anywhere, so the compiler keeps
 * it in registers. Slots [0, split) are published: their addresses are on
 * the worker's Chase-Lev deque, where thieves take them. Invariant: every
 * published slot is older (lower) than every private one.
 */
#ifndef CREW_FASTPATH_H
#define CREW_FASTPATH_H

#ifndef CREW_H
#error "include <crew.h>, not <crew/fastpath.h>"
#endif

#include <string.h>

#include "port.h"

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

/* A task record: a spawn's slot, or a detached job's record. Thieves and
 * waiters read fn, arg, state and runner of a published slot; a thief
 * writes result, state and runner. */
typedef struct crew_job_ {
    crew_fn   fn;
    void     *arg;
    void     *result;
    uint32_t  state;   /* atomic (builtins): CREW_SPAWN_* / CREW_JOB_* of the library */
    uint32_t  flags;
    void     *runner;  /* atomic: the worker that stole or claimed it */
    void    (*finish)(struct crew_job_ *job, void *worker); /* NULL: a spawn */
    const char *label; /* the trace's label (crew_trace_label), or NULL */
} crew_job_;

/* Bytes of a slot that typed tasks (crew/typed.h) use for their
 * arguments, and then for their result. */
#define CREW_SLOT_PAYLOAD_ 64

/* A typed spawn's fast path writes one word of its slot's record, job.fn:
 * its thunk with this bit set, and nothing in job.arg (one store less made
 * fib's typed handle form 6% faster, scripts/fib-ab.sh). Publication
 * (the slow path, before a thief can see the slot) clears the bit and sets
 * job.arg to the payload. No function's address has it: user space is
 * the lower half of the address space on every 64-bit system crew runs
 * on. Where pointers have 32 bits, there is no such bit: the typed spawn
 * writes job.arg too. */
#if UINTPTR_MAX > 0xffffffffu
#define CREW_TYPED_MARK_ ((uintptr_t)1 << 63)
#endif
/* A typed spawn's record as its fast path writes it, and a record's fn
 * with the mark cleared (the thunk of a typed spawn, private or
 * published; any other fn as it is). */
#ifdef CREW_TYPED_MARK_
#define CREW_TYPED_SET_FN_(s, thunk)                                                    \
    ((s)->job.fn = (crew_fn)((uintptr_t)(thunk) | CREW_TYPED_MARK_))
#define CREW_TYPED_FN_OF_(s) ((crew_fn)((uintptr_t)(s)->job.fn & ~CREW_TYPED_MARK_))
#else
#define CREW_TYPED_SET_FN_(s, thunk) ((s)->job.fn = (thunk), (s)->job.arg = (s)->payload)
#define CREW_TYPED_FN_OF_(s) ((s)->job.fn)
#endif

typedef struct crew_slot_ {
    crew_job_ job;
    /* Spawns made into this slot (statistics; atomic, owner writes): a
     * counter per slot, not one per thread, so that no chain of
     * load-add-store runs from one spawn to the next. */
    uint64_t uses;
    CREW_ALIGNAS_(64) unsigned char payload[CREW_SLOT_PAYLOAD_];
} crew_slot_;

/* A thread's spawn state. Workers have one each; a thread outside every
 * pool gets its own the first time it spawns (the serial elision: its
 * slots are never published). */
typedef struct crew_worker_hot_ {
    crew_slot_ *slots; /* owner only: the slot stack, `cap` slots */
    int top;           /* owner only: slots [0, top) hold unsynced spawns */
    int split;         /* owner only: [0, split) are published */
    int cap;           /* slots in the stack */
    int is_worker;     /* 1 on a pool's worker */
    /* Statistics (atomic, written by the owner only): spawns that got no
     * slot; the others are counted in their slots. */
    uint64_t spawns;
    /* atomic: a spawn with top >= limit takes the slow path. The owner
     * sets it to cap, or to 0 while nothing is published (so that the
     * next spawn publishes: the oldest unsynced spawn is always public); a
     * thief that found the public part empty, or a worker going to sleep,
     * sets it to 0 to ask for a task (the next spawn publishes one). Its
     * own cache line: others write it while the owner spawns. */
    CREW_ALIGNAS_(64) int limit;
} crew_worker_hot_;

/* The spawn state of the thread running this: a worker's, a thread's own,
 * or (before a thread's first spawn outside any pool) the read-only
 * crew_outside_worker_, whose limit 0 and split INT_MAX send both fast
 * paths to their slow paths without a NULL test. */
extern CREW_API CREW_THREAD_LOCAL_ crew_worker_hot_ *crew_current_worker_
    __attribute__((tls_model("initial-exec")));
extern CREW_API crew_worker_hot_ crew_outside_worker_;

/* The slow paths. spawn_slow returns the handle's index: a slot, or -1
 * (the task runs at its sync: no slot was free). sync_slow returns the
 * task's result; for a published task it also leaves a typed task's
 * result in its slot's payload. */
CREW_API int   crew_spawn_slow_(crew_worker_hot_ *w, crew_fn fn, void *arg);
CREW_API void *crew_sync_slow_(crew_worker_hot_ *w, int idx, crew_fn fn, void *arg);
/* Typed tasks: spawn_slow with the arguments copied into the slot's
 * payload (the slot's arg then points at it). */
CREW_API int   crew_spawn_payload_slow_(crew_worker_hot_ *w, crew_fn fn, const void *args,
                                        size_t size);
/* Debug builds (CREW_DEBUG): a sync that breaks the LIFO order; prints
 * what happened and aborts. */
CREW_API void  crew_sync_order_violation_(void);

CREW_STATIC_ASSERT_(sizeof(crew_slot_) == 128, "a slot is two cache lines");

/* The handle: crew_task's first three words. */
static inline void crew_handle_set_(crew_task *t, int idx, crew_fn fn, void *arg)
{
    t->crew_reserved_[0] = (void *)(intptr_t)idx;
    memcpy(&t->crew_reserved_[1], &fn, sizeof fn);
    t->crew_reserved_[2] = arg;
}

static inline int crew_handle_idx_(const crew_task *t)
{
    return (int)(intptr_t)t->crew_reserved_[0];
}

static inline crew_fn crew_handle_fn_(const crew_task *t)
{
    crew_fn fn;
    memcpy(&fn, &t->crew_reserved_[1], sizeof fn);
    return fn;
}

static inline void crew_count_(uint64_t *c)
{
    __atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

/* Whether a spawn may take the fast path: a free slot, something already
 * published, nobody asking for work. */
static inline int crew_spawn_fast_ok_(crew_worker_hot_ *w, int top)
{
    /* [mo: fastpath.spawn.limit] */
    return __builtin_expect(top < __atomic_load_n(&w->limit, __ATOMIC_RELAXED), 1);
}

/* The fast path's claim of slot `top` (crew_spawn_fast_ok_ said yes).
 * count_add: count it with crew_count_add_ (crew/port.h), which made the
 * typed spawns 6-7% faster and crew_spawn 3% slower (scripts/fib-ab.sh),
 * so only the typed spawns pass 1. */
static inline crew_slot_ *crew_spawn_take_(crew_worker_hot_ *w, int top, int count_add)
{
    crew_slot_ *s = &w->slots[top];
    w->top = top + 1;
    if (count_add)
        crew_count_add_(&s->uses);
    else
        crew_count_(&s->uses);
    return s;
}

static inline void crew_spawn(crew_task *t, crew_fn fn, void *arg)
{
    crew_worker_hot_ *w = crew_current_worker_;
    int idx = w->top;
    if (crew_spawn_fast_ok_(w, idx)) {
        crew_slot_ *s = crew_spawn_take_(w, idx, 0);
        s->job.fn = fn;
        s->job.arg = arg;
    } else {
        idx = crew_spawn_slow_(w, fn, arg);
    }
    crew_handle_set_(t, idx, fn, arg);
}

/* The unstolen case of a sync: the slot is still private (at or above
 * split), so it is the newest (syncs are LIFO) and is taken back. */
static inline int crew_sync_takes_back_(crew_worker_hot_ *w, int idx)
{
    if (__builtin_expect(idx >= w->split, 1)) {
#ifdef CREW_DEBUG
        /* Private, but not the newest: a spawn after it is not synced. */
        if (idx + 1 != w->top)
            crew_sync_order_violation_();
#endif
        w->top = idx;
        return 1;
    }
    return 0;
}

static inline void *crew_sync(crew_task *t)
{
    crew_worker_hot_ *w = crew_current_worker_;
    int idx = crew_handle_idx_(t);
    crew_fn fn = crew_handle_fn_(t);
    if (crew_sync_takes_back_(w, idx))
        return fn(t->crew_reserved_[2]);
    return crew_sync_slow_(w, idx, fn, t->crew_reserved_[2]);
}

static inline void *crew_sync_call(crew_task *t, crew_fn fn)
{
    crew_worker_hot_ *w = crew_current_worker_;
    int idx = crew_handle_idx_(t);
    if (crew_sync_takes_back_(w, idx))
        return fn(t->crew_reserved_[2]);
    return crew_sync_slow_(w, idx, fn, t->crew_reserved_[2]);
}

#ifdef __cplusplus
}
#endif

#endif /* CREW_FASTPATH_H */
