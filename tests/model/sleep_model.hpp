/*
 * Idle workers (src/scheduler/sleep.c), transcribed for the models: the
 * idle word (sleepers and wake tokens), the event futex word, wake_from,
 * crew_wake_after_sc_publish, crew_wake_after_publish, crew_wake_next,
 * crew_wake_all_workers, get_up and crew_idle_sleep, statement by
 * statement, with the C code's orders (its tags, model_orders.h) and its
 * IDLE_SLEEPER / IDLE_TOKEN (copied from sleep.c); and stop_and_join's
 * first half (lifecycle.c).
 *
 * crew_idle_sleep's look for work (crew_work_visible) and its requests
 * (crew_ask_for_work on every other worker) depend on what a model puts
 * in its pool, so the model passes them in. Not modelled: quiet_notify
 * (shutdown's wait for quiet) and the statistics and trace counters.
 */
#ifndef CREW_MODEL_SLEEP_HPP
#define CREW_MODEL_SLEEP_HPP

#include "model.hpp"

#include <climits>
#include <cstdint>

#include "model_orders.h"

namespace crew_model {

struct idle_pool {
    rl::atomic<uint64_t> idle;
    rl::atomic<unsigned> event; /* the futex word */
    rl::atomic<uint64_t> outside_wakeups;
    rl::atomic<int> stopping;
    int wakes = 0; /* ghost: wakes sent */

    void init()
    {
        idle.store(0, rl::mo_relaxed, $);
        event.store(0, rl::mo_relaxed, $);
        outside_wakeups.store(0, rl::mo_relaxed, $);
        stopping.store(0, rl::mo_relaxed, $);
    }

    static unsigned idle_sleepers(uint64_t v) { return (unsigned)(v & 0xffffffffu); }
    static unsigned idle_tokens(uint64_t v) { return (unsigned)(v >> 32); }

    /* wake_from; is_worker: the caller is one of the pool's workers
     * (crew_own_worker != NULL), which counts in its own statistics. */
    int wake_from(uint64_t v, bool is_worker)
    {
        do {
            if (idle_sleepers(v) <= idle_tokens(v))
                return 0;
        } while (!idle.compare_exchange_weak(v, v + IDLE_TOKEN, MO_CAS(sleep_wake_token)));
        event.fetch_add(1, MO_RMW(sleep_wake_event));
        futex_wake(&event, 1, $);
        if (!is_worker)
            outside_wakeups.fetch_add(1, MO_RMW(sleep_wake_outside_count));
        wakes++;
        return 1;
    }

    void wake_after_sc_publish(bool is_worker)
    {
        wake_from(idle.load(MO_LOAD(sleep_sc_publish_idle)), is_worker);
    }

    unsigned wake_after_publish(unsigned n, bool is_worker)
    {
        uint64_t v = idle.fetch_add(0, MO_RMW(sleep_publish_idle));
        unsigned woke = 0;
        while (woke < n && wake_from(v, is_worker)) {
            woke++;
            v = idle.load(MO_LOAD(sleep_publish_refresh));
        }
        return woke;
    }

    void wake_next(bool is_worker)
    {
        wake_from(idle.load(MO_LOAD(sleep_wake_next_idle)), is_worker);
    }

    void wake_all_workers()
    {
        event.fetch_add(1, MO_RMW(sleep_wake_all_event));
        futex_wake(&event, INT_MAX, $);
    }

    void get_up()
    {
        uint64_t v = idle.load(MO_LOAD(sleep_get_up_load));
        uint64_t next;
        do
            next = v - IDLE_SLEEPER - (idle_tokens(v) > 0 ? IDLE_TOKEN : 0);
        while (!idle.compare_exchange_weak(v, next, MO_CAS(sleep_get_up_cas)));
    }

    /* crew_idle_sleep. ask() makes the requests (crew_ask_for_work on
     * every other worker); visible() is crew_work_visible. Returns whether
     * it called futex_wait (ghost, for the models' bookkeeping). */
    template <class Ask, class Visible>
    bool idle_sleep(Ask ask, Visible visible)
    {
        unsigned e = event.load(MO_LOAD(sleep_idle_event));
        idle.fetch_add(IDLE_SLEEPER, MO_RMW(sleep_idle_announce));
        ask();
        bool slept = false;
        if (!visible() && !stopping.load(MO_LOAD(sleep_idle_stopping))) {
            futex_wait(&event, e, false, $);
            slept = true;
        }
        get_up();
        return slept;
    }

    /* stop_and_join's first half (lifecycle.c): stopping, then wake every
     * worker. The models use it to end, once all their work is taken. */
    void stop()
    {
        stopping.store(1, MO_STORE(lifecycle_stop_stopping));
        wake_all_workers();
    }
};

} // namespace crew_model

#endif
