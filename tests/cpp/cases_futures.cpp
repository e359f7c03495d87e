/* Suite `cpp`: pool::submit and crew::future, pool::run. */
#include "cpp_util.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

using crew_test::boom;

CPP_CASE(submit_get_returns_an_int)
{
    crew::pool p(2);
    crew::future<int> f = p.submit([] { return 6 * 7; });
    CHECK(f.valid());
    CHECK(f.get() == 42);
    CHECK(!f.valid());
    /* Many at once, read in reverse order. */
    std::vector<crew::future<long>> fs;
    for (long i = 0; i < 1000; i++)
        fs.push_back(p.submit([i] { return i * i; }));
    for (long i = 999; i >= 0; i--)
        CHECKF(fs[(size_t)i].get() == i * i, "future %ld", i);
    return 0;
}

CPP_CASE(submit_get_of_void_waits_for_the_task)
{
    crew::pool p(2);
    std::atomic<int> ran{0};
    crew::future<void> f = p.submit([&ran] { ran.store(1, std::memory_order_relaxed); });
    f.get();
    /* get() returned after the task: its write is visible (the future's
     * wait orders it). */
    CHECK(ran.load(std::memory_order_relaxed) == 1);
    CHECK(!f.valid());
    return 0;
}

CPP_CASE(submit_get_moves_a_move_only_result_out)
{
    crew::pool p(2);
    auto f = p.submit([] { return std::make_unique<std::string>("moved, not copied"); });
    std::unique_ptr<std::string> s = f.get();
    CHECK(s != nullptr && *s == "moved, not copied");
    /* A move-only callable, and a moved future. */
    auto owned = std::make_unique<int>(7);
    auto g = p.submit([o = std::move(owned)] { return *o * 6; });
    crew::future<int> h = std::move(g);
    CHECK(!g.valid() && h.valid());
    CHECK(h.get() == 42);
    return 0;
}

CPP_CASE(submit_get_returns_a_large_result_intact)
{
    crew::pool p(2);
    using big = std::array<std::uint64_t, 8192>; /* 64 KiB, returned by value */
    auto f = p.submit([] {
        big b;
        for (size_t i = 0; i < b.size(); i++)
            b[i] = i * 2654435761u;
        return b;
    });
    auto v = p.submit([] { return std::vector<int>(1000000, 3); });
    big b = f.get();
    for (size_t i = 0; i < b.size(); i++)
        CHECKF(b[i] == i * 2654435761u, "element %zu", i);
    std::vector<int> w = v.get();
    CHECK(w.size() == 1000000 && std::accumulate(w.begin(), w.end(), 0L) == 3000000L);
    return 0;
}

CPP_CASE(get_twice_throws_logic_error)
{
    crew::pool p(1);
    auto f = p.submit([] { return 1; });
    CHECK(f.get() == 1);
    CHECK(crew_test::throws<std::logic_error>([&] { f.get(); }));
    CHECK(crew_test::throws<std::logic_error>([&] { f.wait(); }));
    crew::future<int> empty;
    CHECK(!empty.valid());
    CHECK(crew_test::throws<std::logic_error>([&] { empty.get(); }));
    auto g = p.submit([] {});
    auto h = std::move(g);
    CHECK(crew_test::throws<std::logic_error>([&] { g.get(); }));
    h.get();
    CHECK(crew_test::throws<std::logic_error>([&] { h.get(); }));
    return 0;
}

CPP_CASE(exception_thrown_in_a_task_reaches_get)
{
    crew::pool p(2);
    auto f = p.submit([]() -> int { throw boom(17); });
    try {
        f.get();
        CHECK(!"get() returned");
    } catch (const boom &b) {
        CHECK(b.value == 17);
    }
    CHECK(!f.valid()); /* read, by the throw */
    /* A standard exception, from a void task, and the pool still works. */
    auto g = p.submit([] { throw std::out_of_range("index 3"); });
    try {
        g.get();
        CHECK(!"get() returned");
    } catch (const std::out_of_range &e) {
        CHECK(std::string(e.what()) == "index 3");
    }
    /* Thrown in a task submitted from a task, collected in that task. */
    int inner = p.run([&p] {
        auto h = p.submit([]() -> int { throw boom(5); });
        try {
            h.get();
        } catch (const boom &b) {
            return (int)b.value;
        }
        return -1;
    });
    CHECK(inner == 5);
    CHECK(p.submit([] { return 3; }).get() == 3);
    return 0;
}

CPP_CASE(future_destroyed_unread_does_not_wait_and_the_task_still_runs)
{
    crew::pool p(2);
    std::atomic<int> release{0}, finished{0};
    {
        /* The task waits (bounded) for `release`, which is set only after
         * the future is gone: a destructor that waited would stall here
         * until the task gave up, and the check below would fail. */
        auto f = p.submit([&] {
            bool released = crew_test::wait_until([&] { return release.load() == 1; });
            finished.store(released ? 1 : 2);
            return std::string("dropped");
        });
    }
    release.store(1);
    CHECK(crew_test::wait_until([&] { return finished.load() != 0; }));
    CHECKF(finished.load() == 1, "the future's destructor waited for the task");
    return 0;
}

CPP_CASE(cancelled_future_throws_ecanceled_and_frees_its_callable)
{
    crew::pool p(1);
    std::atomic<int> release{0};
    auto token = std::make_shared<int>(0);
    /* The one worker is busy; the second task waits in the queue. */
    auto busy = p.submit([&] { crew_test::wait_until([&] { return release.load() == 1; }); });
    auto queued = p.submit([token] { return *token; });
    auto dropped = p.submit([token] { return *token; });
    CHECK(token.use_count() == 3);
    CHECK(queued.cancel());
    CHECK(dropped.cancel());
    CHECK(queued.ready());
    CHECK(crew_test::throws_errno(ECANCELED, [&] { queued.get(); }));
    CHECK(!queued.valid());
    { auto gone = std::move(dropped); } /* cancelled, destroyed unread */
    /* Both callables (and their captures) are gone, never run. */
    CHECK(token.use_count() == 1);
    release.store(1);
    busy.get();
    CHECK(!busy.valid());
    return 0;
}

CPP_CASE(wait_for_times_out_then_sees_the_result)
{
    crew::pool p(1);
    std::atomic<int> release{0};
    auto f = p.submit([&] {
        crew_test::wait_until([&] { return release.load() == 1; });
        return 9;
    });
    CHECK(!f.wait_for(std::chrono::milliseconds(1)));
    CHECK(!f.wait_until(std::chrono::steady_clock::now() - std::chrono::seconds(1)));
    release.store(1);
    CHECK(f.wait_for(std::chrono::seconds(30)));
    CHECK(f.ready());
    CHECK(f.wait_until(std::chrono::system_clock::time_point::max()));
    CHECK(f.get() == 9);
    return 0;
}

CPP_CASE(task_captures_are_destroyed_once_it_has_run)
{
    crew::pool p(2);
    auto token = std::make_shared<int>(11);
    auto f = p.submit([token] { return *token + 1; });
    f.wait(); /* ran, not read */
    CHECK(f.valid());
    /* The task's copy of the capture went when it finished, although the
     * future still holds its result. */
    CHECK(token.use_count() == 1);
    CHECK(f.get() == 12);
    return 0;
}

CPP_CASE(submit_after_shutdown_throws_system_error_eshutdown)
{
    crew::pool p(2);
    p.shutdown();
    CHECK(crew_test::throws_errno(ESHUTDOWN, [&] { p.submit([] { return 1; }); }));
    CHECK(crew_test::throws_errno(ESHUTDOWN, [&] { p.run([] { return 1; }); }));
    CHECK(crew_test::throws_errno(
        ESHUTDOWN, [&] { crew::parallel_for(p, 0, 10, [](int) {}); }));
    /* A moved-from pool refuses everything with EINVAL, and crashes
     * nothing. */
    crew::pool q(1);
    crew::pool r = std::move(q);
    CHECK(q.native() == nullptr && r.native() != nullptr);
    CHECK(crew_test::throws_errno(EINVAL, [&] { q.submit([] {}); }));
    CHECK(crew_test::throws_errno(EINVAL, [&] { q.run([] {}); }));
    CHECK(q.workers() == 0);
    CHECK(r.run([] { return 2; }) == 2);
    return 0;
}

CPP_CASE(get_inside_a_task_of_a_one_worker_pool_runs_it_inline)
{
    crew::pool p(1);
    /* The only worker waits on a future queued behind itself: crew's
     * future wait claims the task and runs it here instead. */
    long v = p.run([&p] {
        auto f = p.submit([] { return crew_test::fib_seq(20); });
        return f.get();
    });
    CHECK(v == 6765);
    return 0;
}

CPP_CASE(run_returns_the_result_and_rethrows_the_exception)
{
    crew::pool p(2);
    CHECK(p.run([] { return std::string("root"); }) == "root");
    CHECK(p.run([] { return crew_worker_index(); }) >= 0);
    try {
        p.run([]() -> int { throw boom(3); });
        CHECK(!"run returned");
    } catch (const boom &b) {
        CHECK(b.value == 3);
    }
    /* An lvalue callable is called, not copied or moved, and may be
     * called again; a reference result refers to the caller's object. */
    int calls = 0;
    auto count = [&calls]() -> int & {
        ++calls;
        return calls;
    };
    int &r1 = p.run(count);
    p.run(count);
    CHECK(&r1 == &calls && calls == 2);
    /* Nested: from a task of the same pool, the callable is simply
     * called. */
    CHECK(p.run([&p] { return p.run([] { return 4; }) + 1; }) == 5);
    return 0;
}
