/*
 * Model of fork-join's private-prefix publication handshake
 * (include/crew/fastpath.h, src/scheduler/forkjoin.c, worker.c): an owner
 * spawning into its slot stack (slots [0, split) published on its
 * Chase-Lev deque, [split, top) private), thieves and sleepers asking for
 * work by storing 0 into its `limit`, the owner's next spawn taking the
 * slow path and publishing its oldest private slot (a deque push, then
 * crew_wake_after_publish's seq_cst RMW on the idle word), and the syncs.
 *
 * The deque is src/deque/deque.c itself (compiled in, as in
 * model_deque.cpp); the rest is transcribed statement by statement with
 * the C code's orders (model_orders.h): crew_spawn's fast path and
 * spawn_slow, publish_oldest_private, crew_publish_all_private,
 * limit_open, limit_after_release, slot_released, crew_sync's take-back
 * and crew_sync_slow_, steal_counted and crew_ask_for_work,
 * crew_execute_job with crew_floor_enter/leave, crew_run_stolen_spawn,
 * crew_stolen_complete / crew_stolen_sleep / spawn_done, and the idle
 * word (sleep_model.hpp). Not modelled: leapfrogging while a sync waits
 * for a thief (model_leapfrog.cpp has it), detached jobs on the deque,
 * statistics and traces; the pool's injection queue is empty throughout.
 *
 * Scenarios and properties:
 *  - exactly_once: the owner spawns three tasks and syncs them (LIFO),
 *    then spawns a fourth into a slot a thief used, while a thief steals
 *    and asks for work. Every task runs exactly once; a sync returns the
 *    result the thief wrote (a Relacy variable: a data race otherwise),
 *    and the slot is reused only after the thief is done with it.
 *  - spawn_wakes_sleeper (and with two sleepers): a worker that finds the
 *    owner's deque empty asks for work and goes to sleep (crew_idle_sleep)
 *    while the owner spawns. Here the owner never takes a published task
 *    back: it sleeps (untimed) until other workers have taken every task
 *    it published, as the design requires (an idle worker can always take
 *    a published task, whatever its owner does), then syncs. So a lost
 *    wake-up, a published task left while every other worker sleeps, is a
 *    DEADLOCK; and every task runs exactly once.
 *
 * Negative control: with the sleeper's seq_cst announcement weakened to
 * relaxed (-DCREW_MO_OVERRIDE_sleep_idle_announce=rl::mo_relaxed),
 * spawn_wakes_sleeper must report DEADLOCK.
 */
#include "model.hpp"

#include "deque/deque.c"
#include "sleep_model.hpp"

namespace {

const int CAP = 4;       /* slots per stack */
const int MAX_TASKS = 5; /* task ids 1..4 */
const int MAX_WORKERS = 3;

struct job {
    rl::var<int> fn;  /* the task's id stands for its function */
    rl::var<int> arg; /* and for its argument */
    rl::var<int> result;
    rl::atomic<uint32_t> state;
    rl::atomic<void *> runner;
    void *finish; /* NULL: a spawn (no detached jobs in this model) */
};

struct model;

struct worker {
    /* crew_worker_hot_ */
    job slots[CAP];
    int top = 0;
    int split = 0;
    int cap = CAP;
    bool is_worker = true;
    rl::atomic<int> limit;
    /* crew_worker */
    crew_deque deque;
    rl::atomic<int64_t> floor;
    rl::atomic<uint64_t> batch_ctl; /* the injected batch: unused, empty */
    model *m = NULL;

    void init(model *owner)
    {
        m = owner;
        for (job &j : slots) {
            j.fn($) = 0;
            j.arg($) = 0;
            j.result($) = 0;
            j.state.store(0, rl::mo_relaxed, $);
            j.runner.store(NULL, rl::mo_relaxed, $);
            j.finish = NULL;
        }
        /* crew_slots_init: a worker starts with nothing published */
        limit.store(0, rl::mo_relaxed, $);
        RL_ASSERT(crew_deque_init(&deque, CAP) == 0);
        floor.store(INT64_MIN, rl::mo_relaxed, $);
        batch_ctl.store(0, rl::mo_relaxed, $);
    }
};

struct model {
    crew_model::idle_pool pool;
    worker workers[MAX_WORKERS];
    int nworkers = 0;
    int ran[MAX_TASKS] = {0, 0, 0, 0, 0}; /* ghost: runs per task */
    /* The model's own scaffolding (spawn_wakes_sleeper): successful
     * steals, counted on a futex word the owner sleeps on. */
    bool count_steals = false;
    rl::atomic<int> steals;

    void init(int n)
    {
        crew_model::new_iteration();
        nworkers = n;
        pool.init();
        steals.store(0, rl::mo_relaxed, $);
        for (int i = 0; i < n; i++)
            workers[i].init(this);
    }

    void destroy()
    {
        for (int i = 0; i < nworkers; i++)
            crew_deque_destroy(&workers[i].deque);
    }

    /* The task itself: what fn(arg) computes. */
    int run_task(int id)
    {
        RL_ASSERT(id >= 1 && id < MAX_TASKS);
        ran[id]++;
        RL_ASSERT(ran[id] == 1);
        return 10 * id;
    }

    /* ---- the owner's side ---- */

    static bool spawn_fast_ok(worker *w, int top)
    {
        return top < w->limit.load(MO_LOAD(fastpath_spawn_limit));
    }

    static void limit_open(worker *w) { w->limit.store(w->cap, MO_STORE(forkjoin_limit_open)); }

    static void limit_after_release(worker *w)
    {
        if (w->is_worker && w->split == 0)
            w->limit.store(0, MO_STORE(forkjoin_limit_release));
    }

    static void slot_released(worker *w, int idx)
    {
        w->top = idx;
        w->split = idx;
        limit_after_release(w);
    }

    bool publish_oldest_private(worker *w)
    {
        if (w->split == w->top)
            return false;
        job *j = &w->slots[w->split];
        j->finish = NULL;
        /* Plain stores in C (the fields are written before the push's
         * release makes the slot visible); relaxed atomic stores here,
         * which is the same, since Relacy's atomics take atomic stores. */
        j->state.store(CREW_SPAWN_PENDING, rl::mo_relaxed, $);
        j->runner.store(NULL, rl::mo_relaxed, $);
        if (crew_deque_push(&w->deque, j) != 0)
            return false;
        w->split++;
        limit_open(w);
        return true;
    }

    /* crew_publish_all_private */
    bool publish_all_private(worker *w)
    {
        unsigned published = 0;
        bool all = true;
        while (w->split < w->top) {
            if (!publish_oldest_private(w)) {
                all = false;
                break;
            }
            published++;
        }
        if (published > 0)
            pool.wake_after_publish(published, true);
        return all;
    }

    int spawn_slow(worker *w, int id)
    {
        if (w->top >= w->cap)
            return -1;
        int idx = w->top++;
        job *s = &w->slots[idx];
        s->fn($) = id;
        s->arg($) = id;
        if (!w->is_worker)
            return idx;
        if (publish_oldest_private(w))
            pool.wake_after_publish(1, true);
        return idx;
    }

    /* crew_spawn: the handle is {idx, fn, arg}; here {idx, id}. */
    int spawn(worker *w, int id)
    {
        int idx = w->top;
        if (spawn_fast_ok(w, idx)) {
            job *s = &w->slots[idx];
            w->top = idx + 1;
            s->fn($) = id;
            s->arg($) = id;
        } else {
            idx = spawn_slow(w, id);
        }
        return idx;
    }

    bool spawn_done(job *j) { return j->state.load(MO_LOAD(forkjoin_spawn_done)) == CREW_SPAWN_DONE; }

    /* crew_stolen_sleep: a timed futex wait (it may time out at any
     * moment). */
    void stolen_sleep(job *j)
    {
        uint32_t expect = CREW_SPAWN_STOLEN;
        if (j->state.compare_exchange_strong(expect, CREW_SPAWN_WAITING,
                                             MO_CAS(sleep_stolen_sleep_cas)) ||
            expect == CREW_SPAWN_WAITING)
            crew_model::futex_wait(&j->state, (uint32_t)CREW_SPAWN_WAITING, true, $);
    }

    /* crew_sync (its take-back) and crew_sync_slow_ */
    int sync(worker *w, int idx, int id)
    {
        if (idx >= w->split) {
            RL_ASSERT(idx + 1 == w->top); /* LIFO */
            w->top = idx;
            return run_task(id);
        }
        RL_ASSERT(idx + 1 == w->top && w->split == w->top);
        job *j = &w->slots[idx];
        for (;;) {
            job *x = static_cast<job *>(crew_deque_pop(&w->deque));
            if (x == j) {
                slot_released(w, idx);
                return run_task(id);
            }
            if (x == NULL)
                break; /* stolen */
            RL_ASSERT(!"popped another task: out of LIFO order");
        }
        wait_for_runner(w, j);
        int r = j->result($);
        slot_released(w, idx);
        return r;
    }

    /* ---- the thieves' side ---- */

    /* crew_ask_for_work */
    static void ask_for_work(worker *v)
    {
        if (v->limit.load(MO_LOAD(request_ask_load)) != 0)
            v->limit.store(0, MO_STORE(request_ask_store));
    }

    /* steal_counted: 0, EAGAIN or ENOENT */
    int steal_counted(worker *victim, int64_t floor, int (*veto)(void *), void *veto_arg,
                      job **out)
    {
        void *x;
        crew_steal_result r = crew_deque_steal_above(&victim->deque, floor, veto, veto_arg, &x);
        if (r == CREW_STEAL_OK) {
            if (crew_deque_size_estimate(&victim->deque) > 0)
                pool.wake_next(true);
            *out = static_cast<job *>(x);
            if (count_steals) {
                steals.fetch_add(1, rl::mo_relaxed, $);
                crew_model::futex_wake(&steals, INT_MAX, $);
            }
            return 0;
        }
        if (r == CREW_STEAL_EMPTY)
            ask_for_work(victim);
        return r == CREW_STEAL_RETRY ? EAGAIN : ENOENT;
    }

    /* steal_from */
    int steal_from(worker *victim, job **out) { return steal_counted(victim, INT64_MIN, NULL, NULL, out); }

    /* crew_steal_subtask, with worker.c's awaited_job veto */
    struct awaited_job {
        model *m;
        job *j;
    };

    static int awaited_is_done(void *arg)
    {
        awaited_job *a = static_cast<awaited_job *>(arg);
        return a->m->spawn_done(a->j);
    }

    int steal_subtask(worker *runner, job *awaited, job **out)
    {
        int64_t floor = runner->floor.load(MO_LOAD(worker_steal_subtask_floor));
        if (spawn_done(awaited))
            return ENOENT;
        awaited_job a = {this, awaited};
        return steal_counted(runner, floor, awaited_is_done, &a, out);
    }

    /* crew_wait_for_runner with spawn_wait's ops (spawn_done,
     * crew_stolen_sleep); its 256 spin rounds before a sleep are 4 here. */
    void wait_for_runner(worker *w, job *j)
    {
        const unsigned spin_rounds = 4;
        unsigned idle = 0;
        publish_all_private(w);
        while (!spawn_done(j)) {
            worker *runner = static_cast<worker *>(j->runner.load(MO_LOAD(forkjoin_wait_runner)));
            if (runner != NULL && runner != w) {
                job *sub;
                int r = steal_subtask(runner, j, &sub);
                if (r == 0) {
                    leapfrogged(runner, sub);
                    execute_job(w, sub);
                    idle = 0;
                    continue;
                }
                if (r == EAGAIN)
                    continue;
            }
            if (++idle < spin_rounds) {
                rl::yield(1, $);
                continue;
            }
            stolen_sleep(j);
            idle = spin_rounds / 2;
        }
    }

    /* What a leapfrogging waiter may take from a runner: the model's
     * check, set by the scenario (ids of tasks below the floor, or pushed
     * after the awaited job was done). */
    int forbidden[MAX_TASKS] = {0, 0, 0, 0, 0};
    void leapfrogged(worker *runner, job *sub)
    {
        (void)runner;
        int id = sub->arg($);
        RL_ASSERT(!forbidden[id]); /* below the floor, or after the awaited job */
    }

    int64_t floor_enter(worker *w)
    {
        publish_all_private(w);
        int64_t saved = w->floor.load(MO_LOAD(worker_floor_enter_load));
        w->floor.store(crew_deque_bottom(&w->deque), MO_STORE(worker_floor_enter_store));
        return saved;
    }

    void floor_leave(worker *w, int64_t saved) { w->floor.store(saved, MO_STORE(worker_floor_leave_store)); }

    /* crew_stolen_complete */
    void stolen_complete(job *j)
    {
        uint32_t old = j->state.exchange(CREW_SPAWN_DONE, MO_RMW(sleep_stolen_complete_state));
        if (old == CREW_SPAWN_WAITING)
            crew_model::futex_wake(&j->state, 1, $);
    }

    /* crew_execute_job for a stolen spawn, with crew_run_stolen_spawn;
     * begin_job / end_job are its two halves around the task's body (a
     * scenario may run a body that spawns). */
    int64_t saved_floor[MAX_WORKERS];

    void begin_job(worker *w, job *j)
    {
        saved_floor[w - workers] = floor_enter(w);
        RL_ASSERT(j->finish == NULL);
        j->state.store(CREW_SPAWN_STOLEN, MO_STORE(worker_execute_state));
        j->runner.store(w, MO_STORE(worker_execute_runner));
        int fn = j->fn($);
        int arg = j->arg($);
        RL_ASSERT(fn == arg);
    }

    void end_job(worker *w, job *j)
    {
        j->result($) = run_task(j->arg($));
        stolen_complete(j);
        floor_leave(w, saved_floor[w - workers]);
    }

    void execute_job(worker *w, job *j)
    {
        begin_job(w, j);
        end_job(w, j);
    }

    /* crew_work_visible: every deque's size and batch (the injection
     * queue, empty here, is the injector model's) */
    bool work_visible()
    {
        for (int i = 0; i < nworkers; i++) {
            if (crew_deque_size_estimate(&workers[i].deque) > 0)
                return true;
            uint64_t c = workers[i].batch_ctl.load(MO_LOAD(sleep_visible_batch));
            if (((unsigned)(c >> 8) & 0xffu) < ((unsigned)c & 0xffu))
                return true;
        }
        return false;
    }

    /* A worker's loop (crew_worker_main): steal from the owner (worker 0),
     * else sleep; until stopping with nothing visible. */
    void idle_worker(worker *self)
    {
        worker *owner = &workers[0];
        for (;;) {
            job *j;
            int r = steal_from(owner, &j);
            if (r == 0) {
                execute_job(self, j);
                continue;
            }
            if (r == EAGAIN)
                continue;
            pool.idle_sleep(
                [&] {
                    for (int i = 0; i < nworkers; i++)
                        if (&workers[i] != self)
                            ask_for_work(&workers[i]);
                },
                [&] { return work_visible(); });
            if (pool.stopping.load(MO_LOAD(worker_main_stopping)) && !work_visible())
                return;
        }
    }
};

/* ---- scenarios ---- */

struct exactly_once : rl::test_suite<exactly_once, 2> {
    model m;
    void before() { m.init(2); }
    void thread(unsigned t)
    {
        worker *o = &m.workers[0];
        if (t == 0) {
            int a = m.spawn(o, 1); /* nothing published: publishes itself */
            int b = m.spawn(o, 2);
            int c = m.spawn(o, 3); /* publishes b if a thief asked */
            RL_ASSERT(m.sync(o, c, 3) == 30);
            RL_ASSERT(m.sync(o, b, 2) == 20);
            RL_ASSERT(m.sync(o, a, 1) == 10);
            int d = m.spawn(o, 4); /* slot 0 again */
            RL_ASSERT(m.sync(o, d, 4) == 40);
        } else {
            worker *self = &m.workers[1];
            for (int k = 0; k < 3; k++) {
                job *j;
                if (m.steal_from(o, &j) == 0)
                    m.execute_job(self, j);
            }
        }
    }
    void after()
    {
        for (int id = 1; id <= 4; id++)
            RL_ASSERT(m.ran[id] == 1);
        m.destroy();
    }
};

template <class Derived, int Threads>
struct wakes_sleeper_test : rl::test_suite<Derived, Threads> {
    model m;
    void before()
    {
        m.init(Threads);
        m.count_steals = true;
    }

    /* The owner's wait until other workers have taken n published tasks:
     * an untimed sleep, so that a task nobody is woken for is a deadlock
     * (the model's own; the C owner would pop the task back at its sync,
     * hiding the lost wake-up the model looks for). */
    void wait_taken(int n)
    {
        for (;;) {
            int v = m.steals.load(rl::mo_relaxed, $);
            if (v >= n)
                return;
            crew_model::futex_wait(&m.steals, v, false, $);
        }
    }

    void thread(unsigned t)
    {
        worker *o = &m.workers[0];
        if (t != 0) {
            m.idle_worker(&m.workers[t]);
            return;
        }
        int a = m.spawn(o, 1); /* publishes itself: nothing was published */
        int b = m.spawn(o, 2); /* published only on a request */
        wait_taken(o->split);
        /* Every published task has been taken: the syncs find them stolen
         * and wait for their thieves (or take b back if still private). */
        RL_ASSERT(m.sync(o, b, 2) == 20);
        RL_ASSERT(m.sync(o, a, 1) == 10);
        m.pool.stop();
    }
    void after()
    {
        for (int id = 1; id <= 2; id++)
            RL_ASSERT(m.ran[id] == 1);
        m.destroy();
    }
};

struct spawn_wakes_sleeper : wakes_sleeper_test<spawn_wakes_sleeper, 2> {};
struct spawn_wakes_two_sleepers : wakes_sleeper_test<spawn_wakes_two_sleepers, 3> {};

/* Leapfrogging, the floor. Worker 1 (the runner) has spawned P, its own
 * task (published: index 0 of its deque), and has stolen job J from worker
 * 0 (the waiter). It runs J, whose body spawns and syncs a subtask, then
 * syncs P. The waiter syncs J: stolen, so it leapfrogs on the runner
 * (crew_wait_for_runner) and may take only items at or above the
 * runner's floor (its bottom when it began J): never P. */
struct leapfrog_floor : rl::test_suite<leapfrog_floor, 2> {
    model m;
    job *stolen_j = NULL;
    int j_idx = -1, p_idx = -1;
    void before()
    {
        m.init(2);
        worker *w = &m.workers[0], *r = &m.workers[1];
        j_idx = m.spawn(w, 1);  /* J, published */
        p_idx = m.spawn(r, 3);  /* P, the runner's own, published */
        RL_ASSERT(m.steal_from(w, &stolen_j) == 0);
        m.forbidden[3] = 1;
    }
    void thread(unsigned t)
    {
        worker *w = &m.workers[0], *r = &m.workers[1];
        if (t == 0) {
            RL_ASSERT(m.sync(w, j_idx, 1) == 10);
        } else {
            m.begin_job(r, stolen_j);
            int s = m.spawn(r, 2); /* J's subtask */
            RL_ASSERT(m.sync(r, s, 2) == 20);
            m.end_job(r, stolen_j);
            RL_ASSERT(m.sync(r, p_idx, 3) == 30);
        }
    }
    void after()
    {
        for (int id = 1; id <= 3; id++)
            RL_ASSERT(m.ran[id] == 1);
        m.destroy();
    }
};

/* Leapfrogging, the veto. As leapfrog_floor, with nothing below the
 * floor; after J is done, the runner's outer frame spawns X, which lands
 * at or above J's floor. The waiter may take J's subtask, never X: the
 * steal's veto (done, asked after bottom's acquire) refuses it. */
struct leapfrog_veto : rl::test_suite<leapfrog_veto, 2> {
    model m;
    job *stolen_j = NULL;
    int j_idx = -1;
    void before()
    {
        m.init(2);
        worker *w = &m.workers[0];
        j_idx = m.spawn(w, 1);
        RL_ASSERT(m.steal_from(w, &stolen_j) == 0);
        m.forbidden[3] = 1;
    }
    void thread(unsigned t)
    {
        worker *w = &m.workers[0], *r = &m.workers[1];
        if (t == 0) {
            RL_ASSERT(m.sync(w, j_idx, 1) == 10);
        } else {
            m.begin_job(r, stolen_j);
            int s = m.spawn(r, 2);
            RL_ASSERT(m.sync(r, s, 2) == 20);
            m.end_job(r, stolen_j);
            int x = m.spawn(r, 3); /* after J: X */
            RL_ASSERT(m.sync(r, x, 3) == 30);
        }
    }
    void after()
    {
        for (int id = 1; id <= 3; id++)
            RL_ASSERT(m.ran[id] == 1);
        m.destroy();
    }
};

const crew_model::scenario scenarios[] = {
    {"exactly_once", 200000, 2, crew_model::run_test<exactly_once>},
    {"spawn_wakes_sleeper", 200000, 0, crew_model::run_test<spawn_wakes_sleeper>},
    {"spawn_wakes_two_sleepers", 100000, 0, crew_model::run_test<spawn_wakes_two_sleepers>},
    {"leapfrog_floor", 200000, 3, crew_model::run_test<leapfrog_floor>},
    {"leapfrog_veto", 200000, 2, crew_model::run_test<leapfrog_veto>},
};

} // namespace

CREW_MODEL_MAIN(scenarios)
