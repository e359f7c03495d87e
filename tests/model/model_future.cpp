/*
 * Model of a future's completion against its waiters: the record's state
 * word and waiter count (crew_state_wait / crew_state_wake in sleep.c,
 * used by record.c and executor.c). Transcribed statement by statement
 * with the C code's orders (model_orders.h):
 *   the worker that dequeues the record: record_dequeued's claim
 *     (crew_record_claim, PENDING -> RUNNING), record_execute (runner,
 *     result, crew_record_finalize: the seq_cst exchange to DONE, then
 *     crew_state_wake: a seq_cst load of the waiters, a futex wake);
 *   a waiter outside the pool: crew_future_wait's loop (while not
 *     crew_record_final: crew_record_sleep = crew_state_wait: seq_cst
 *     increment of the waiters, seq_cst load of the state, futex wait,
 *     decrement), then future_result;
 *   a canceller: crew_future_cancel (PENDING -> CANCELLED, finalize).
 *
 * Properties, in every explored execution:
 *  - no lost wake-up: a waiter never sleeps through the completion
 *    (Relacy reports DEADLOCK if it sleeps for ever);
 *  - exactly one of the worker and the canceller wins the record;
 *  - a waiter that returns sees the outcome: the result the worker wrote
 *    (a Relacy variable: a data race otherwise), or ECANCELED.
 *
 * Negative control: with the waker's seq_cst load of the waiter count
 * weakened to relaxed
 * (-DCREW_MO_OVERRIDE_sleep_state_wake_waiters=rl::mo_relaxed), it may miss
 * a waiter that the waiter's own look missed the completion for: scenario
 * complete must report DEADLOCK. (Why not the waiter's increment, the
 * announcement: docs/models.md, "Futures".)
 */
#include "model.hpp"

#include <climits>
#include <cstdint>

#include "model_orders.h"

namespace {

struct record {
    rl::atomic<uint32_t> state; /* job.state: the futex word */
    rl::atomic<uint32_t> waiters;
    rl::atomic<void *> runner;
    /* The done-callback word; this model registers no callbacks (their
     * list, callbacks.c, is not modelled), so completion's look at it
     * always reads 0. */
    rl::atomic<uintptr_t> callbacks;
    rl::var<int> result; /* job.result */
    int ran = 0;         /* ghost */
    int cancelled = 0;   /* ghost */

    void init()
    {
        state.store(CREW_JOB_PENDING, rl::mo_relaxed, $);
        waiters.store(0, rl::mo_relaxed, $);
        runner.store(NULL, rl::mo_relaxed, $);
        callbacks.store(0, rl::mo_relaxed, $);
        result($) = 0;
    }

    static bool settled(uint32_t s) { return s == CREW_JOB_DONE || s == CREW_JOB_CANCELLED; }

    /* crew_state_wait with no time limit */
    void state_wait()
    {
        waiters.fetch_add(1, MO_RMW(sleep_state_wait_announce));
        uint32_t s = state.load(MO_LOAD(sleep_state_wait_state));
        if (!settled(s))
            crew_model::futex_wait(&state, s, false, $);
        waiters.fetch_sub(1, MO_RMW(sleep_state_wait_leave));
    }

    /* crew_state_wake */
    void state_wake()
    {
        if (waiters.load(MO_LOAD(sleep_state_wake_waiters)) > 0)
            crew_model::futex_wake(&state, INT_MAX, $);
    }

    /* crew_record_claim */
    bool claim()
    {
        uint32_t expect = CREW_JOB_PENDING;
        return state.compare_exchange_strong(expect, CREW_JOB_RUNNING, MO_CAS(record_claim));
    }

    /* crew_record_finalize */
    void finalize(uint32_t final_state)
    {
        state.exchange(final_state, MO_RMW(record_finalize));
        state_wake();
        RL_ASSERT(callbacks.load(MO_LOAD(record_finalize_callbacks)) == 0);
    }

    /* crew_record_final */
    bool final_() { return settled(state.load(MO_LOAD(record_final))); }

    /* record_dequeued, on the worker that took the queue entry */
    void dequeued(void *worker)
    {
        if (claim()) {
            /* record_execute */
            runner.store(worker, MO_STORE(record_execute_runner));
            result($) = 42;
            ran++;
            finalize(CREW_JOB_DONE);
        }
    }

    /* crew_future_cancel */
    void cancel()
    {
        uint32_t expect = CREW_JOB_PENDING;
        if (state.compare_exchange_strong(expect, CREW_JOB_CANCELLED, MO_CAS(future_cancel_claim))) {
            cancelled++;
            finalize(CREW_JOB_CANCELLED);
        }
    }

    /* crew_future_wait from a thread outside the pool, then future_result */
    void wait_for_result()
    {
        while (!final_())
            state_wait(); /* crew_record_sleep(r, 0, NULL) */
        if (state.load(MO_LOAD(future_result_state)) == CREW_JOB_CANCELLED) {
            RL_ASSERT(cancelled == 1);
            return;
        }
        int v = result($);
        RL_ASSERT(v == 42);
    }
};

int worker_token;

template <class Derived, int Threads>
struct future_test : rl::test_suite<Derived, Threads> {
    record r;
    void before() { r.init(); }
    void after()
    {
        RL_ASSERT(r.ran + r.cancelled == 1);
        RL_ASSERT(r.state.load(rl::mo_relaxed, $) ==
                  (r.ran ? CREW_JOB_DONE : CREW_JOB_CANCELLED));
    }
};

/* A worker runs the record while its submitter waits. */
struct complete : future_test<complete, 2> {
    void thread(unsigned t)
    {
        if (t == 0)
            r.dequeued(&worker_token);
        else
            r.wait_for_result();
    }
};

/* Two waiters (the wake is for all), and the worker. */
struct two_waiters : future_test<two_waiters, 3> {
    void thread(unsigned t)
    {
        if (t == 0)
            r.dequeued(&worker_token);
        else
            r.wait_for_result();
    }
};

/* The worker, a waiter and a canceller race: one of run and cancel wins,
 * and the waiter sees which. */
struct cancel_race : future_test<cancel_race, 3> {
    void thread(unsigned t)
    {
        if (t == 0)
            r.dequeued(&worker_token);
        else if (t == 1)
            r.wait_for_result();
        else
            r.cancel();
    }
};

const crew_model::scenario scenarios[] = {
    {"complete", 200000, 3, crew_model::run_test<complete>},
    {"two_waiters", 200000, 0, crew_model::run_test<two_waiters>},
    {"cancel_race", 200000, 3, crew_model::run_test<cancel_race>},
};

} // namespace

CREW_MODEL_MAIN(scenarios)
