/* Suite `cpp`: typed tasks (<crew/typed.h>) used from C++, where a lambda
 * written inside a task's body can run on another thread than the body.
 *
 * A typed body has a hidden parameter, its thread's spawn state, and in C
 * the macros use it. A lambda in the body would capture it (by reference
 * or by value) and, run by a thief or by a std::thread, spawn onto the
 * body's worker from the wrong thread: corrupt slot stacks, "crew_sync out
 * of LIFO order" (seen with 8 workers). So in C++ every macro reads the
 * running thread's state. These cases check, from inside such lambdas,
 * that the state the macros use is the running thread's, and that the
 * results are exact. Negative control typed_cpp_here puts the body's
 * parameter back: both cases must then fail. */
#include "cpp_util.hpp"

#include <atomic>
#include <thread>

namespace {

/* What the lambdas saw. */
struct seen {
    std::atomic<int> wrong_state{0}; /* macros given another thread's state */
    std::atomic<int> elsewhere{0};   /* lambdas run off the body's thread */
};

} // namespace

/* File scope: CREW_TASK defines static functions and a typedef. */
CREW_TASK(long, cpp_tfib, (long, n))
{
    if (n < 2)
        return n;
    CREW_SPAWN(cpp_tfib, n - 1);
    long b = CREW_CALL(cpp_tfib, n - 2);
    return CREW_SYNC(cpp_tfib) + b;
}

/* The state the macros would use here, against the running thread's (in
 * two statements: the first may make the thread's state). */
#define CPP_TYPED_NOTE_STATE(s)                                              \
    do {                                                                     \
        crew_worker_hot_ *given_ = CREW_HERE_;                               \
        if (given_ != crew_current_worker_)                                  \
            (s)->wrong_state++;                                              \
    } while (0)

/* crew::join of two lambdas that spawn, call and sync typed tasks. The
 * second waits (a second at most) for the first to start, so that an idle
 * worker can steal it while this one is still busy. */
CREW_TASK(long, cpp_typed_joiner, (seen *, s), (long, n))
{
    const std::thread::id body_thread = std::this_thread::get_id();
    std::atomic<bool> started{false};
    auto [a, b] = crew::join(
        [&] {
            started.store(true);
            if (std::this_thread::get_id() != body_thread)
                s->elsewhere++;
            CPP_TYPED_NOTE_STATE(s);
            CREW_SPAWN(cpp_tfib, n - 1);
            long x = CREW_CALL(cpp_tfib, n - 2);
            return CREW_SYNC(cpp_tfib) + x;
        },
        [&] {
            crew_test::wait_until([&] { return started.load(); }, 1);
            CPP_TYPED_NOTE_STATE(s);
            crew_task t;
            CREW_SPAWN_TO(&t, cpp_tfib, n);
            long y = CREW_CALL(cpp_tfib, n - 1);
            return CREW_SYNC_FROM(&t, cpp_tfib) + y;
        });
    return a + b;
}

/* A std::thread started in a body, using the macros: it is a thread
 * outside every pool, with a state of its own. */
CREW_TASK(long, cpp_typed_threader, (seen *, s), (long, n))
{
    long r = 0;
    std::thread th([&] {
        CPP_TYPED_NOTE_STATE(s);
        CREW_SPAWN(cpp_tfib, n - 1);
        long x = CREW_CALL(cpp_tfib, n - 2);
        r = CREW_SYNC(cpp_tfib) + x;
    });
    th.join();
    CPP_TYPED_NOTE_STATE(s);
    return r + CREW_CALL(cpp_tfib, n);
}

CPP_CASE(typed_macros_in_a_stolen_lambda_use_the_thiefs_state)
{
    seen s;
    const long n = 14;
    const long want = crew_test::fib_seq(n) + crew_test::fib_seq(n - 1) + crew_test::fib_seq(n);
    crew::pool p(2);
    /* Rounds until a few lambdas ran on the other worker (a few seconds
     * at most). */
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int rounds = 0;
    while (s.elsewhere.load() < 5 && std::chrono::steady_clock::now() < end) {
        long got = -1;
        CHECK(CREW_RUN(p.native(), cpp_typed_joiner, &got, &s, n) == 0);
        CHECKF(got == want, "round %d: %ld, want %ld", rounds, got, want);
        CHECKF(s.wrong_state.load() == 0,
               "round %d: %d typed macros were given another thread's state", rounds,
               s.wrong_state.load());
        rounds++;
    }
    CHECKF(s.elsewhere.load() > 0, "the steal did not happen in %d rounds", rounds);
    return 0;
}

CPP_CASE(typed_macros_in_a_std_thread_started_by_a_body_use_its_state)
{
    seen s;
    const long n = 16;
    const long want = crew_test::fib_seq(n) + crew_test::fib_seq(n);
    crew::pool p(2);
    for (int round = 0; round < 4; round++) {
        long got = -1;
        CHECK(CREW_RUN(p.native(), cpp_typed_threader, &got, &s, n) == 0);
        CHECKF(got == want, "round %d: %ld, want %ld", round, got, want);
    }
    CHECKF(s.wrong_state.load() == 0, "%d typed macros were given another thread's state",
           s.wrong_state.load());
    return 0;
}
