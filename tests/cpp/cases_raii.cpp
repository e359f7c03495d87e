/* Suite `cpp`: the owning wrappers, crew::pool, crew::group and
 * crew::graph: what their destructors do, moves, and their errors. */
#include "cpp_util.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

using crew_test::boom;

CPP_CASE(pool_destroyed_at_scope_exit_runs_what_was_submitted)
{
    std::atomic<int> ran{0};
    crew_pool *native = nullptr;
    {
        crew::pool p(2);
        native = p.native();
        CHECK(native != nullptr && p.workers() == 2);
        for (int i = 0; i < 1000; i++)
            p.submit([&ran] { ran.fetch_add(1, std::memory_order_relaxed); }); /* dropped */
    }
    /* The destructor (crew_pool_destroy) ran them all, then joined. */
    CHECK(ran.load() == 1000);
    crew::pool dflt; /* one worker per CPU */
    CHECK(dflt.workers() >= 1);
    return 0;
}

namespace {

struct hook_log {
    std::mutex m;
    std::vector<std::string> events;
    void add(std::string e)
    {
        std::lock_guard<std::mutex> lock(m);
        events.push_back(std::move(e));
    }
};

void on_start(unsigned index, void *ctx)
{
    static_cast<hook_log *>(ctx)->add("start " + std::to_string(index));
}

void on_stop(unsigned index, void *ctx)
{
    static_cast<hook_log *>(ctx)->add("stop " + std::to_string(index));
}

void on_cancel(crew_fn, void *arg, void *ctx)
{
    static_cast<hook_log *>(ctx)->add("cancel " + std::to_string((long)(intptr_t)arg));
}

void *posted(void *arg)
{
    return arg;
}

} // namespace

CPP_CASE(pool_moves_and_chains_the_users_hooks_and_ctx)
{
    hook_log log;
    std::atomic<int> release{0};
    {
        crew_config cfg;
        crew_config_default(&cfg);
        cfg.workers = 1;
        cfg.on_worker_start = on_start;
        cfg.on_worker_stop = on_stop;
        cfg.on_cancel = on_cancel;
        cfg.ctx = &log;
        crew::pool a(cfg);
        crew::pool p = std::move(a);
        crew::pool q(1);
        q = std::move(p); /* q's own pool is destroyed first */
        CHECK(a.native() == nullptr && p.native() == nullptr);
        /* A post through the C API, cancelled by shutdown: the user's
         * on_cancel gets it, with the user's ctx. */
        std::atomic<int> started{0};
        auto busy = q.submit([&] {
            started.store(1);
            crew_test::wait_until([&] { return release.load() == 1; });
        });
        /* Started, so that the shutdown cancels only what queues behind. */
        CHECK(crew_test::wait_until([&] { return started.load() == 1; }));
        CHECK(crew_post(q.native(), posted, (void *)(intptr_t)77) == 0);
        std::thread releaser([&] {
            crew_test::wait_until([] { return false; }, 0.05);
            release.store(1);
        });
        q.shutdown(true);
        releaser.join();
        busy.get();
    }
    std::vector<std::string> want = {"start 0", "cancel 77", "stop 0"};
    CHECKF(log.events == want, "%zu hook events", log.events.size());
    return 0;
}

CPP_CASE(group_waits_and_rethrows_the_first_exception_once)
{
    crew::pool p(2);
    crew::group g(p);
    std::atomic<int> ran{0};
    for (int i = 0; i < 500; i++)
        g.post([&ran] { ran.fetch_add(1); });
    g.wait();
    CHECK(ran.load() == 500);
    /* Two throw: wait rethrows one of them, once; every task still ran. */
    for (int i = 0; i < 100; i++)
        g.post([&ran, i] {
            ran.fetch_add(1);
            if (i == 10 || i == 90)
                throw boom(i);
        });
    try {
        g.wait();
        CHECK(!"wait returned");
    } catch (const boom &b) {
        CHECK(b.value == 10 || b.value == 90);
    }
    CHECK(ran.load() == 600);
    g.wait(); /* collected: nothing more to rethrow */
    /* The group is reusable, and movable. */
    crew::group h = std::move(g);
    CHECK(g.native() == nullptr && h.native() != nullptr);
    CHECK(crew_test::throws_errno(EINVAL, [&] { g.post([] {}); }));
    CHECK(crew_test::throws_errno(EINVAL, [&] { g.wait(); }));
    h.post([] { throw std::runtime_error("after the move"); });
    CHECK(crew_test::throws<std::runtime_error>([&] { h.wait(); }));
    /* From inside a task: the waiting worker runs the group's tasks. */
    crew::pool one(1);
    int sum = one.run([&one] {
        crew::group inner(one);
        std::atomic<int> s{0};
        for (int i = 1; i <= 10; i++)
            inner.post([&s, i] { s.fetch_add(i); });
        inner.wait();
        return s.load();
    });
    CHECK(sum == 55);
    return 0;
}

CPP_CASE(group_destroyed_at_scope_exit_waits_for_its_tasks)
{
    crew::pool p(2);
    std::atomic<int> ran{0};
    {
        crew::group g(p);
        for (int i = 0; i < 200; i++)
            g.post([&ran] {
                crew_test::wait_until([] { return false; }, 0.0005);
                ran.fetch_add(1);
            });
        g.post([] { throw boom(1); }); /* never collected: dropped */
    }
    CHECK(ran.load() == 200);
    return 0;
}

CPP_CASE(group_tasks_cancelled_by_shutdown_free_their_callables)
{
    auto token = std::make_shared<int>(0);
    std::atomic<int> release{0}, ran{0};
    {
        crew::pool p(1);
        crew::group g(p);
        std::atomic<int> started{0};
        auto busy = p.submit([&] {
            started.store(1);
            crew_test::wait_until([&] { return release.load() == 1; });
        });
        CHECK(crew_test::wait_until([&] { return started.load() == 1; }));
        for (int i = 0; i < 50; i++)
            g.post([token, &ran] { ran.fetch_add(1); });
        CHECK(token.use_count() == 51);
        std::thread releaser([&] {
            crew_test::wait_until([] { return false; }, 0.05);
            release.store(1);
        });
        p.shutdown(true); /* the 50 have not started: cancelled */
        releaser.join();
        busy.get();
        g.wait(); /* cancelled tasks count as done */
        CHECK(ran.load() == 0);
        /* The pool's on_cancel hook freed the cancelled callables. */
        CHECK(token.use_count() == 1);
    }
    return 0;
}

CPP_CASE(graph_runs_in_order_and_again_and_frees_its_callables)
{
    crew::pool p(2);
    auto token = std::make_shared<int>(0);
    {
        /*   a -> b -> d
         *   a -> c -> d      every run: a first, d last */
        crew::graph g;
        std::mutex m;
        std::string trace;
        auto note = [&](char c) {
            std::lock_guard<std::mutex> lock(m);
            trace += c;
        };
        auto a = g.add([&, token] { note('a'); });
        auto b = g.add([&] { note('b'); });
        auto c = g.add([&] { note('c'); return 5; }); /* a result is dropped */
        auto d = g.add([&] { note('d'); });
        g.precede(a, b);
        g.precede(a, c);
        g.precede(b, d);
        g.precede(c, d);
        for (int run = 0; run < 20; run++) {
            trace.clear();
            g.run(p);
            CHECKF(trace.size() == 4 && trace[0] == 'a' && trace[3] == 'd', "run %d: %s", run,
                   trace.c_str());
        }
        CHECK(token.use_count() == 2);
        crew::graph moved = std::move(g);
        CHECK(g.native() == nullptr && moved.native() != nullptr);
        trace.clear();
        moved.run(p);
        CHECK(trace.size() == 4);
        CHECK(crew_test::throws_errno(EINVAL, [&] { g.run(p); }));
        CHECK(crew_test::throws_errno(EINVAL, [&] { g.add([] {}); }));
    }
    /* The graph's destructor freed the node's callable. */
    CHECK(token.use_count() == 1);
    return 0;
}

CPP_CASE(graph_node_exception_skips_the_rest_and_reaches_run)
{
    crew::pool p(2);
    crew::graph g;
    std::atomic<int> after{0}, runs{0};
    /* first -> thrower -> later: later never runs in a failed run. */
    auto first = g.add([&] { runs.fetch_add(1); });
    auto thrower = g.add([&] {
        if (runs.load() == 1)
            throw boom(8);
    });
    auto later = g.add([&] { after.fetch_add(1); });
    g.precede(first, thrower);
    g.precede(thrower, later);
    try {
        g.run(p);
        CHECK(!"run returned");
    } catch (const boom &b) {
        CHECK(b.value == 8);
    }
    CHECK(after.load() == 0);
    /* The next run starts clean: nothing thrown, nothing skipped. */
    g.run(p);
    CHECK(runs.load() == 2 && after.load() == 1);
    return 0;
}

CPP_CASE(graph_cycle_and_misuse_throw_system_error)
{
    crew::pool p(1);
    crew::graph g;
    std::atomic<int> ran{0};
    auto x = g.add([&] { ran.fetch_add(1); });
    auto y = g.add([&] { ran.fetch_add(1); });
    g.precede(x, y);
    g.precede(y, x);
    CHECK(crew_test::throws_errno(ELOOP, [&] { g.run(p); }));
    CHECK(ran.load() == 0);
    CHECK(crew_test::throws_errno(EINVAL, [&] { g.precede(x, x); }));
    CHECK(crew_test::throws_errno(EINVAL, [&] { g.precede(x, crew::graph::node()); }));
    crew::graph other;
    auto z = other.add([] {});
    CHECK(crew_test::throws_errno(EINVAL, [&] { g.precede(x, z); }));
    /* An empty graph runs (nothing). */
    crew::graph empty;
    empty.run(p);
    return 0;
}
