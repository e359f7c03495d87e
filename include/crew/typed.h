/*
 * crew/typed.h: typed fork-join tasks, in plain C (included by <crew.h>).
 *
 *   CREW_TASK(long, fib, (long, n))
 *   {
 *       if (n < 2)
 *           return n;
 *       CREW_SPAWN(fib, n - 1);        // fib(n - 1), available to thieves
 *       long b = CREW_CALL(fib, n - 2); // a call, here and now
 *       return CREW_SYNC(fib) + b;     // the newest spawn's result
 *   }
 *
 * CREW_TASK(ret, name, (type, param)...) defines `static ret name(type
 * param, ...)`, a function like any other (call it directly, from inside
 * or outside a pool), plus what spawning it needs; the braces that follow
 * are its body. CREW_CALL(name, args...) is name(args...), faster inside
 * a task's body: the body's spawn state goes along as a hidden argument
 * (see "the hidden worker" below), where a plain call reads it from
 * thread-local storage again. CREW_RUN(pool, name,
 * &result, args...) runs it as a root task on a pool (crew_run's typed
 * form: 0 or crew_run's error). Between 1 and 8 parameters; the
 * parameters together, and the result, must fit in 64 bytes (a compile
 * error says so otherwise: pass a pointer). CREW_VOID_TASK(name, ...) is
 * the same for a task that returns nothing.
 *
 * CREW_SPAWN(name, args...) spawns name(args...); CREW_SYNC(name) syncs the
 * calling thread's newest unsynced spawn, which must be one of `name`, and
 * returns its result. No handle and no storage: the arguments and the
 * result live in the thread's own stack of task slots, so a task may spawn
 * a number of children that depends on its data and sync them all in a
 * loop (the newest first):
 *
 *   for (int i = 0; i < k; i++)
 *       CREW_SPAWN(visit, child[i]);
 *   for (int i = 0; i < k; i++)
 *       total += CREW_SYNC(visit);
 *
 * With a handle, when the spawns are few and known (a crew_task each, as
 * crew_spawn takes): CREW_SPAWN_TO(&t, name, args...) and
 * CREW_SYNC_FROM(&t, name). Same slots, same rules; the handle keeps a
 * copy of arguments up to 40 bytes, so a sync that takes its task back
 * runs it from registers instead of reading its slot again (the
 * handle-less CREW_SYNC must read the slot's address and the arguments
 * back from memory after the calls in between, a chain of dependent
 * loads that fib pays at every node):
 *
 *   crew_task t;
 *   CREW_SPAWN_TO(&t, fib, n - 1);
 *   long b = CREW_CALL(fib, n - 2);
 *   return CREW_SYNC_FROM(&t, fib) + b;
 *
 * The rules are crew_spawn's (docs/api.md): syncs in reverse spawn order
 * on each thread, every spawn synced before the spawning task returns.
 * The macros work outside a body too (in a plain helper, in main), and
 * spawns made there and in bodies share the thread's one slot stack: a
 * helper may spawn children that its caller syncs. A task cannot be
 * declared before its CREW_TASK (declare the helpers it calls instead).
 * Debug builds (CREW_DEBUG) also check that CREW_SYNC names the task that
 * was spawned. Each thread's slot stack holds up to 4,194,304 unsynced
 * spawns (address space, committed as it is used); a typed spawn past that
 * prints why and aborts, as a recursion past the C stack would crash.
 * Outside every pool the spawns run at their syncs (the serial elision).
 */
#ifndef CREW_TYPED_H
#define CREW_TYPED_H

#ifndef CREW_H
#error "include <crew.h>, not <crew/typed.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A typed spawn found no free slot, or no memory for a thread's first
 * slot stack: prints which and aborts. */
CREW_API void crew_typed_overflow_(void);

/* ---- the preprocessor's part: one macro per parameter pair ---- */

#define CREW_PP_NARGS_(...) CREW_PP_NARGS_I_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define CREW_PP_NARGS_I_(a1, a2, a3, a4, a5, a6, a7, a8, n, ...) n
#define CREW_PP_CAT_(a, b) CREW_PP_CAT_I_(a, b)
#define CREW_PP_CAT_I_(a, b) a##b
#define CREW_PP_COMMA_() ,
#define CREW_PP_NONE_()
/* m applied to each (type, name) pair, sep() between two. */
#define CREW_PP_MAP_(m, sep, ...) CREW_PP_CAT_(CREW_PP_MAP_, CREW_PP_NARGS_(__VA_ARGS__))(m, sep, __VA_ARGS__)
#define CREW_PP_MAP_1(m, s, x) m x
#define CREW_PP_MAP_2(m, s, x, ...) m x s() CREW_PP_MAP_1(m, s, __VA_ARGS__)
#define CREW_PP_MAP_3(m, s, x, ...) m x s() CREW_PP_MAP_2(m, s, __VA_ARGS__)
#define CREW_PP_MAP_4(m, s, x, ...) m x s() CREW_PP_MAP_3(m, s, __VA_ARGS__)
#define CREW_PP_MAP_5(m, s, x, ...) m x s() CREW_PP_MAP_4(m, s, __VA_ARGS__)
#define CREW_PP_MAP_6(m, s, x, ...) m x s() CREW_PP_MAP_5(m, s, __VA_ARGS__)
#define CREW_PP_MAP_7(m, s, x, ...) m x s() CREW_PP_MAP_6(m, s, __VA_ARGS__)
#define CREW_PP_MAP_8(m, s, x, ...) m x s() CREW_PP_MAP_7(m, s, __VA_ARGS__)
#define CREW_PP_FIELD_(type, name) type name;
#define CREW_PP_PARAM_(type, name) type name
#define CREW_PP_NAME_(type, name) name
#define CREW_PP_ARG_(type, name) crew_a_.name
/* A parameter of array type decays to a pointer, while the argument
 * struct's field keeps the array: the spawn would store the pointer's
 * bits in the array. Inside a function taking the parameters, such a
 * parameter's type is then not the type written (a size compare would
 * miss char[8] on a 64-bit target). */
#ifdef __cplusplus
extern "C++" {
template <typename A, typename B> struct crew_same_type_ { enum { value = 0 }; };
template <typename A> struct crew_same_type_<A, A> { enum { value = 1 }; };
}
#define CREW_PP_IS_TYPE_(name, type) (crew_same_type_<decltype(name), type>::value)
#elif defined(__GNUC__)
#define CREW_PP_IS_TYPE_(name, type) __builtin_types_compatible_p(__typeof__(name), type)
#else
#define CREW_PP_IS_TYPE_(name, type) (sizeof(name) == sizeof(type))
#endif
#define CREW_PP_NOT_ARRAY_(type, name)                                                  \
    CREW_STATIC_ASSERT_(CREW_PP_IS_TYPE_(name, type),                                   \
                        "task parameter " #name " has an array type: pass a "           \
                        "pointer, or wrap the array in a struct");
/* One argument into / out of a payload, field by field (a copy of the
 * whole struct goes through the stack: 2x slower on knapsack's four
 * arguments). crew_args_t_ is the task's argument struct. */
#define CREW_PP_PUT_(type, name)                                                        \
    memcpy(crew_dst_ + offsetof(crew_args_t_, name), &crew_a_.name, sizeof(type));
#define CREW_PP_GET_(type, name)                                                        \
    memcpy(&crew_a_->name, crew_src_ + offsetof(crew_args_t_, name), sizeof(type));

#define CREW_PP_FIELDS_(...) CREW_PP_MAP_(CREW_PP_FIELD_, CREW_PP_NONE_, __VA_ARGS__)
#define CREW_PP_PARAMS_(...) CREW_PP_MAP_(CREW_PP_PARAM_, CREW_PP_COMMA_, __VA_ARGS__)
#define CREW_PP_NAMES_(...) CREW_PP_MAP_(CREW_PP_NAME_, CREW_PP_COMMA_, __VA_ARGS__)
#define CREW_PP_ARGS_(...) CREW_PP_MAP_(CREW_PP_ARG_, CREW_PP_COMMA_, __VA_ARGS__)
#define CREW_PP_PUTS_(...) CREW_PP_MAP_(CREW_PP_PUT_, CREW_PP_NONE_, __VA_ARGS__)
#define CREW_PP_GETS_(...) CREW_PP_MAP_(CREW_PP_GET_, CREW_PP_NONE_, __VA_ARGS__)
#define CREW_PP_NOT_ARRAYS_(...) CREW_PP_MAP_(CREW_PP_NOT_ARRAY_, CREW_PP_NONE_, __VA_ARGS__)

/* ---- the hidden worker ----
 *
 * A task's body gets one parameter more than it declares: crew_here_, the
 * spawn state of the thread running it (a worker's, or an outside
 * thread's own), handed from call to call (CREW_CALL, and the sync that
 * runs a task it takes back) so that spawns and syncs in a body never
 * read the thread-local crew_current_worker_ again after a call. Anywhere
 * else crew_here_ names the function below (never called; defined, so
 * that an -O0 build, which keeps every reference, links), and the macros
 * tell the two apart by type: CREW_HERE_ is the body's parameter, or
 * crew_typed_here_(). No address is taken, so
 * the parameter stays in a register. (A parameter shadowing a function
 * draws no -Wshadow warning from gcc or clang.) C++ code always reads the
 * thread-local pointer (below).
 *
 * The parameter is always the running thread's state: code outside every
 * pool (a plain call of a task, or a macro outside a body, on a thread
 * that has not spawned yet) gets the thread's own state, made then
 * (crew_typed_here_), and a thread that cannot get the memory for it
 * aborts with a message, as a typed spawn without a slot does (it has no
 * handle to run from at its sync). */
static inline void crew_here_(void) {}
/* This thread's spawn state, made now if it is a thread outside every
 * pool that has none yet (no memory for it: prints why and aborts). */
CREW_API crew_worker_hot_ *crew_typed_here_slow_(void);
static inline crew_worker_hot_ *crew_typed_here_(void)
{
    crew_worker_hot_ *w = crew_current_worker_;
    if (__builtin_expect(w == &crew_outside_worker_, 0))
        w = crew_typed_here_slow_();
    return w;
}
#if defined(__cplusplus) && defined(CREW_NEGATIVE_CONTROL_TYPED_CPP_HERE)
/* Negative control typed_cpp_here (tests only, never in a real build):
 * the body's parameter in C++ too, as before the fix below. The cpp
 * suite's typed cases must fail with it. */
extern "C++" {
static inline crew_worker_hot_ *crew_here_pick_(crew_worker_hot_ *here) { return here; }
static inline crew_worker_hot_ *crew_here_pick_(void (*)(void)) { return crew_typed_here_(); }
}
#define CREW_HERE_ crew_here_pick_(crew_here_)
#elif defined(__cplusplus)
/* C++: always the thread's state. A lambda in a body (crew::join, a
 * parallel loop, std::thread) would capture the body's parameter and
 * could run on another thread with it. */
#define CREW_HERE_ crew_typed_here_()
#else
#define CREW_HERE_ _Generic(&crew_here_, crew_worker_hot_ **: crew_here_, default: crew_typed_here_())
#endif
/* Debug builds (CREW_DEBUG): the state a macro was given must be the
 * running thread's. A GNU nested function or a clang block that
 * uses the macros inside a body and runs on another thread breaks this;
 * so would a bug. Prints what happened and aborts. */
CREW_API void crew_typed_wrong_thread_(void);
#ifdef CREW_DEBUG
#define crew_typed_here_check_(w)                                                       \
    do {                                                                                \
        if ((w) != crew_current_worker_)                                                \
            crew_typed_wrong_thread_();                                                 \
    } while (0)
#else
#define crew_typed_here_check_(w) ((void)0)
#endif

/* ---- what a task needs to be spawned and synced ---- */

/* The helpers each CREW_TASK defines: a program uses some of them (a
 * task spawned only with a handle never uses CREW_SPAWN's), so none is
 * reported unused. */
#define CREW_TYPED_FN_ static inline __attribute__((unused))

/* Bytes of arguments a handle keeps (crew_task's words after the slot's
 * index), and how many of `a` it keeps: all or nothing. */
#define CREW_TYPED_KEPT_ (5 * sizeof(void *))
#define CREW_TYPED_KEPT_SIZE_(a) (sizeof(a) <= CREW_TYPED_KEPT_ ? sizeof(a) : 0)

/* The body's own parameter list: the task's, then the hidden worker
 * (last, so that the task's first argument arrives in the register a
 * plain function's would). */
#define CREW_TYPED_BODY_PARAMS_(...)                                                    \
    CREW_PP_PARAMS_(__VA_ARGS__), crew_worker_hot_ *crew_here_ __attribute__((unused))

/* The arguments' struct, the spawn (the fast path writes them into the
 * next slot; the slow path, out of line, gets them one by one), and the
 * syncs' common parts. Each takes the spawn state crew_w_ it works with. */
#define CREW_TASK_COMMON_(name, ...)                                                    \
    typedef struct name##_crew_args_ {                                                  \
        CREW_PP_FIELDS_(__VA_ARGS__)                                                    \
    } name##_crew_args_;                                                                \
    CREW_STATIC_ASSERT_(sizeof(name##_crew_args_) <= CREW_SLOT_PAYLOAD_,                \
                        #name ": task arguments over 64 bytes: pass a pointer");        \
    static void *name##_crew_thunk_(void *crew_payload_);                               \
    /* Room for the arguments going in and the result coming out. */                    \
    typedef union name##_crew_frame_ {                                                  \
        name##_crew_args_ args;                                                         \
        unsigned char bytes[CREW_SLOT_PAYLOAD_];                                        \
    } name##_crew_frame_;                                                               \
    /* The spawn's slow path, out of line: the arguments' address is                    \
     * taken here, never in the task's body, which then needs no stack                  \
     * frame for them. They come one by one, in registers: a struct over                \
     * 16 bytes passed by value goes on the stack, and gcc built it there               \
     * on the fast path too (knapsack's spawn: 1.34x faster without). A                 \
     * typed spawn with no slot aborts. */                                              \
    static __attribute__((noinline, cold, unused)) int name##_crew_push_slow_(          \
        crew_worker_hot_ *crew_w_, CREW_PP_PARAMS_(__VA_ARGS__))                        \
    {                                                                                   \
        CREW_PP_NOT_ARRAYS_(__VA_ARGS__)                                                \
        name##_crew_args_ crew_a_ = {CREW_PP_NAMES_(__VA_ARGS__)};                      \
        int crew_top_ = crew_spawn_payload_slow_(crew_w_, name##_crew_thunk_, &crew_a_, sizeof crew_a_); \
        if (crew_top_ < 0)                                                              \
            crew_typed_overflow_();                                                     \
        return crew_top_;                                                               \
    }                                                                                   \
    /* The spawn itself: the arguments into the next slot; the slot's                   \
     * index. */                                                                        \
    CREW_TYPED_FN_ int name##_crew_push_(crew_worker_hot_ *crew_w_, name##_crew_args_ crew_a_) \
    {                                                                                   \
        crew_typed_here_check_(crew_w_);                                                \
        int crew_top_ = crew_w_->top;                                                   \
        /* crew_w_ made opaque to the compiler here: the load of limit is then          \
         * addressed from crew_w_ itself, rather than from &crew_w_->limit kept in a    \
         * register of its own across a body's loop (crew_w_ does not change            \
         * there), which costs a fork-join loop a spilled register. */                  \
        crew_worker_hot_ *crew_lw_ = crew_w_;                                           \
        __asm__ volatile("" : "+r"(crew_lw_));                                          \
        if (!crew_spawn_fast_ok_(crew_lw_, crew_top_))                                  \
            return name##_crew_push_slow_(crew_w_, CREW_PP_ARGS_(__VA_ARGS__));         \
        crew_slot_ *crew_s_ = crew_spawn_take_(crew_w_, crew_top_, 1);                  \
        {                                                                               \
            typedef name##_crew_args_ crew_args_t_;                                     \
            unsigned char *crew_dst_ = crew_s_->payload;                                \
            CREW_PP_PUTS_(__VA_ARGS__)                                                  \
        }                                                                               \
        CREW_TYPED_SET_FN_(crew_s_, name##_crew_thunk_);                                \
        return crew_top_;                                                               \
    }                                                                                   \
    CREW_TYPED_FN_ void name##_crew_spawn_(crew_worker_hot_ *crew_w_, CREW_PP_PARAMS_(__VA_ARGS__)) \
    {                                                                                   \
        name##_crew_args_ crew_a_ = {CREW_PP_NAMES_(__VA_ARGS__)};                      \
        (void)name##_crew_push_(crew_w_, crew_a_);                                      \
    }                                                                                   \
    /* The handle form: the slot's index, then a copy of the arguments                  \
     * when they fit (CREW_TYPED_KEPT_ bytes). */                                       \
    CREW_TYPED_FN_ void name##_crew_spawn_to_(crew_worker_hot_ *crew_w_, crew_task *crew_t_, \
                                             CREW_PP_PARAMS_(__VA_ARGS__))              \
    {                                                                                   \
        name##_crew_args_ crew_a_ = {CREW_PP_NAMES_(__VA_ARGS__)};                      \
        crew_t_->crew_reserved_[0] = (void *)(intptr_t)name##_crew_push_(crew_w_, crew_a_); \
        memcpy(&crew_t_->crew_reserved_[1], &crew_a_, CREW_TYPED_KEPT_SIZE_(crew_a_));  \
    }                                                                                   \
    /* A private slot's arguments, out of its payload. */                               \
    CREW_TYPED_FN_ void name##_crew_args_from_(name##_crew_args_ *crew_a_,              \
                                              const unsigned char *crew_src_)           \
    {                                                                                   \
        typedef name##_crew_args_ crew_args_t_;                                         \
        CREW_PP_GETS_(__VA_ARGS__)                                                      \
    }                                                                                   \
    /* A sync whose slot is published (below split): the slow sync runs                 \
     * it here or waits for its thief; the result is then in *crew_sp_'s                \
     * payload. The callers pass crew_current_worker_ (the same state):                 \
     * given the body's own pointer, gcc reloads top at every turn of a                 \
     * body's loop after the call (fib's handle form went from 1.35x to                 \
     * 1.8x the twin in scripts/fib-ab.sh). */                                          \
    CREW_TYPED_FN_ void name##_crew_sync_wait_(crew_worker_hot_ *crew_w_, int crew_idx_, \
                                              crew_slot_ **crew_sp_)                    \
    {                                                                                   \
        crew_slot_ *crew_s_ = &crew_w_->slots[crew_idx_];                               \
        *crew_sp_ = crew_s_;                                                            \
        crew_typed_check_(crew_s_, name##_crew_thunk_);                                 \
        crew_sync_slow_(crew_w_, crew_idx_, name##_crew_thunk_, crew_s_->payload);      \
    }                                                                                   \
    /* The handle's slot, synced: 1 if it was still private (its arguments              \
     * are in `a`, to run here), 0 if it ran (result in *crew_sp_'s                     \
     * payload). */                                                                     \
    CREW_TYPED_FN_ int name##_crew_sync_from_slot_(crew_worker_hot_ *crew_w_, crew_task *crew_t_, \
                                                  crew_slot_ **crew_sp_, name##_crew_args_ *crew_a_) \
    {                                                                                   \
        int crew_idx_ = (int)(intptr_t)crew_t_->crew_reserved_[0];                      \
        crew_typed_here_check_(crew_w_);                                                \
        if (!crew_sync_takes_back_(crew_w_, crew_idx_)) {                               \
            name##_crew_sync_wait_(crew_current_worker_, crew_idx_, crew_sp_);          \
            return 0;                                                                   \
        }                                                                               \
        if (CREW_TYPED_KEPT_SIZE_(*crew_a_) != 0)                                       \
            memcpy(crew_a_, &crew_t_->crew_reserved_[1], CREW_TYPED_KEPT_SIZE_(*crew_a_)); \
        else                                                                            \
            name##_crew_args_from_(crew_a_, crew_w_->slots[crew_idx_].payload);         \
        crew_typed_check_(&crew_w_->slots[crew_idx_], name##_crew_thunk_);              \
        return 1;                                                                       \
    }                                                                                   \
    /* The newest slot, synced: 1 if it was still private (its arguments                \
     * are in `a`, to run here), 0 if it ran (result in *crew_sp_'s                     \
     * payload). */                                                                     \
    CREW_TYPED_FN_ int name##_crew_sync_slot_(crew_worker_hot_ *crew_w_, crew_slot_ **crew_sp_, \
                                             name##_crew_args_ *crew_a_)                \
    {                                                                                   \
        crew_typed_here_check_(crew_w_);                                                \
        int crew_idx_ = crew_w_->top - 1;                                               \
        if (!crew_sync_takes_back_(crew_w_, crew_idx_)) {                               \
            name##_crew_sync_wait_(crew_current_worker_, crew_idx_, crew_sp_);          \
            return 0;                                                                   \
        }                                                                               \
        crew_slot_ *crew_s_ = &crew_w_->slots[crew_idx_];                               \
        crew_typed_check_(crew_s_, name##_crew_thunk_);                                 \
        name##_crew_args_from_(crew_a_, crew_s_->payload);                              \
        return 1;                                                                       \
    }

#ifdef CREW_DEBUG
/* The newest slot must hold a spawn of the task being synced. */
#define crew_typed_check_(s, thunk)                                                     \
    do {                                                                                \
        if (CREW_TYPED_FN_OF_(s) != (thunk))                                            \
            crew_sync_order_violation_();                                               \
    } while (0)
#else
#define crew_typed_check_(s, thunk) ((void)0)
#endif

/* What CREW_TASK and CREW_VOID_TASK both define after the common part:
 * the thunk (a slot's crew_fn: arguments in, result out through the
 * payload), and `name` itself, an ordinary function. STORE_(ret, expr)
 * puts the body's result into the payload, RETURN_ is `return` (both do
 * nothing for a void task). */
#define CREW_TASK_CALLS_(ret, name, STORE_, RETURN_, ...)                               \
    static void *name##_crew_thunk_(void *crew_payload_)                                \
    {                                                                                   \
        name##_crew_args_ crew_a_;                                                      \
        memcpy(&crew_a_, crew_payload_, sizeof crew_a_);                                \
        STORE_(ret, name##_crew_body_(CREW_PP_ARGS_(__VA_ARGS__), crew_typed_here_())); \
        return NULL;                                                                    \
    }                                                                                   \
    CREW_TYPED_FN_ ret name(CREW_PP_PARAMS_(__VA_ARGS__))                               \
    {                                                                                   \
        RETURN_ name##_crew_body_(CREW_PP_NAMES_(__VA_ARGS__), crew_typed_here_());     \
    }

#define CREW_TASK(ret, name, ...)                                                       \
    static ret name##_crew_body_(CREW_TYPED_BODY_PARAMS_(__VA_ARGS__));                 \
    CREW_TASK_COMMON_(name, __VA_ARGS__)                                                \
    CREW_STATIC_ASSERT_(sizeof(ret) <= CREW_SLOT_PAYLOAD_,                              \
                        #name ": task result over 64 bytes: return a pointer");         \
    CREW_TASK_CALLS_(ret, name, CREW_TYPED_STORE_RESULT_, return, __VA_ARGS__)          \
    CREW_TYPED_FN_ ret name##_crew_sync_(crew_worker_hot_ *crew_w_)                     \
    {                                                                                   \
        crew_slot_ *crew_s_;                                                            \
        name##_crew_args_ crew_a_;                                                      \
        if (name##_crew_sync_slot_(crew_w_, &crew_s_, &crew_a_))                        \
            return name##_crew_body_(CREW_PP_ARGS_(__VA_ARGS__), crew_w_);              \
        ret crew_r_;                                                                    \
        memcpy(&crew_r_, crew_s_->payload, sizeof crew_r_);                             \
        return crew_r_;                                                                 \
    }                                                                                   \
    CREW_TYPED_FN_ ret name##_crew_sync_from_(crew_worker_hot_ *crew_w_, crew_task *crew_t_) \
    {                                                                                   \
        crew_slot_ *crew_s_;                                                            \
        name##_crew_args_ crew_a_;                                                      \
        if (name##_crew_sync_from_slot_(crew_w_, crew_t_, &crew_s_, &crew_a_))          \
            return name##_crew_body_(CREW_PP_ARGS_(__VA_ARGS__), crew_w_);              \
        ret crew_r_;                                                                    \
        memcpy(&crew_r_, crew_s_->payload, sizeof crew_r_);                             \
        return crew_r_;                                                                 \
    }                                                                                   \
    CREW_TYPED_FN_ int name##_crew_run_(crew_pool *crew_pool_, ret *crew_out_,          \
                                       CREW_PP_PARAMS_(__VA_ARGS__))                    \
    {                                                                                   \
        name##_crew_frame_ crew_f_;                                                     \
        name##_crew_args_ crew_a_ = {CREW_PP_NAMES_(__VA_ARGS__)};                      \
        crew_f_.args = crew_a_;                                                         \
        int crew_rc_ = crew_run(crew_pool_, name##_crew_thunk_, crew_f_.bytes, NULL);   \
        if (crew_rc_ == 0 && crew_out_ != NULL)                                         \
            memcpy(crew_out_, crew_f_.bytes, sizeof *crew_out_);                        \
        return crew_rc_;                                                                \
    }                                                                                   \
    static ret name##_crew_body_(CREW_TYPED_BODY_PARAMS_(__VA_ARGS__))

#define CREW_TYPED_STORE_RESULT_(ret, expr)                                             \
    do {                                                                                \
        ret crew_r_ = (expr);                                                           \
        memcpy(crew_payload_, &crew_r_, sizeof crew_r_);                                \
    } while (0)
#define CREW_TYPED_STORE_NOTHING_(ret, expr) (expr)

#define CREW_VOID_TASK(name, ...)                                                       \
    static void name##_crew_body_(CREW_TYPED_BODY_PARAMS_(__VA_ARGS__));                \
    CREW_TASK_COMMON_(name, __VA_ARGS__)                                                \
    CREW_TASK_CALLS_(void, name, CREW_TYPED_STORE_NOTHING_, , __VA_ARGS__)              \
    CREW_TYPED_FN_ void name##_crew_sync_(crew_worker_hot_ *crew_w_)                    \
    {                                                                                   \
        crew_slot_ *crew_s_;                                                            \
        name##_crew_args_ crew_a_;                                                      \
        if (name##_crew_sync_slot_(crew_w_, &crew_s_, &crew_a_))                        \
            name##_crew_body_(CREW_PP_ARGS_(__VA_ARGS__), crew_w_);                     \
    }                                                                                   \
    CREW_TYPED_FN_ void name##_crew_sync_from_(crew_worker_hot_ *crew_w_, crew_task *crew_t_) \
    {                                                                                   \
        crew_slot_ *crew_s_;                                                            \
        name##_crew_args_ crew_a_;                                                      \
        if (name##_crew_sync_from_slot_(crew_w_, crew_t_, &crew_s_, &crew_a_))          \
            name##_crew_body_(CREW_PP_ARGS_(__VA_ARGS__), crew_w_);                     \
    }                                                                                   \
    CREW_TYPED_FN_ int name##_crew_run_(crew_pool *crew_pool_, void *crew_out_,         \
                                       CREW_PP_PARAMS_(__VA_ARGS__))                    \
    {                                                                                   \
        name##_crew_frame_ crew_f_;                                                     \
        name##_crew_args_ crew_a_ = {CREW_PP_NAMES_(__VA_ARGS__)};                      \
        (void)crew_out_;                                                                \
        crew_f_.args = crew_a_;                                                         \
        return crew_run(crew_pool_, name##_crew_thunk_, crew_f_.bytes, NULL);           \
    }                                                                                   \
    static void name##_crew_body_(CREW_TYPED_BODY_PARAMS_(__VA_ARGS__))

/* Spawns name(args...): the arguments are converted to the parameters'
 * types as in a call. */
#define CREW_SPAWN(name, ...) name##_crew_spawn_(CREW_HERE_, __VA_ARGS__)
/* Calls name(args...) here and now: the same as name(args...), and
 * faster inside a task's body (the body's spawn state goes along). */
#define CREW_CALL(name, ...) name##_crew_body_(__VA_ARGS__, CREW_HERE_)
/* Syncs the newest unsynced spawn (one of `name`): its result. */
#define CREW_SYNC(name) name##_crew_sync_(CREW_HERE_)
/* The handle forms: t is a crew_task *, used for one spawn and its sync. */
#define CREW_SPAWN_TO(t, name, ...) name##_crew_spawn_to_(CREW_HERE_, (t), __VA_ARGS__)
#define CREW_SYNC_FROM(t, name) name##_crew_sync_from_(CREW_HERE_, (t))
/* Runs name(args...) as a root task on pool, storing its result in *out
 * (out may be NULL; for a CREW_VOID_TASK, pass NULL): 0, or crew_run's
 * error (EINVAL, ESHUTDOWN, ENOMEM). */
#define CREW_RUN(pool, name, out, ...) name##_crew_run_((pool), (out), __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* CREW_TYPED_H */
