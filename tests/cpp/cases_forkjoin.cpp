/* Suite `cpp`: fork-join with lambdas, crew::join and crew::spawn. */
#include "cpp_util.hpp"

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

using crew_test::boom;

namespace {

long fib_join(long n)
{
    if (n < 2)
        return n;
    auto [a, b] = crew::join([n] { return fib_join(n - 1); }, [n] { return fib_join(n - 2); });
    return a + b;
}

long fib_spawn(long n)
{
    if (n < 2)
        return n;
    auto t = crew::spawn([n] { return fib_spawn(n - 1); });
    long b = fib_spawn(n - 2);
    return t.sync() + b;
}

/* fib, except that the leaf at depth `depth` along the all-left path
 * throws boom(depth). */
long fib_throwing(long n, int depth, int throw_at)
{
    if (depth == throw_at)
        throw boom(throw_at);
    if (n < 2)
        return n;
    auto [a, b] = crew::join([=] { return fib_throwing(n - 1, depth + 1, throw_at); },
                             [=] { return fib_throwing(n - 2, depth + 100, throw_at); });
    return a + b;
}

/* Keeps the calling worker spawning (a thief's request is served at a
 * spawn) until done() holds or a few seconds pass. */
template <class Done> bool spawn_until(Done done)
{
    return crew_test::wait_until([&] {
        crew::join([] {}, [] {});
        return done();
    });
}

} // namespace

CPP_CASE(join_fib_matches_the_sequential_fib_inside_and_outside_a_pool)
{
    long n = crew_scaled(27, 20);
    long want = crew_test::fib_seq(n);
    crew::pool p(2);
    for (int rep = 0; rep < 3; rep++)
        CHECKF(p.run([n] { return fib_join(n); }) == want, "rep %d", rep);
    /* Outside a worker: the serial elision. */
    CHECK(fib_join(18) == 2584);
    crew::pool one(1);
    CHECK(one.run([] { return fib_join(20); }) == 6765);
    return 0;
}

CPP_CASE(join_of_void_move_only_and_large_results)
{
    crew::pool p(2);
    int code = p.run([] {
        int left = 0, right = 0;
        auto voids = crew::join([&] { left = 1; }, [&] { right = 2; });
        static_assert(std::is_same_v<decltype(voids), std::pair<std::monostate, std::monostate>>);
        if (left != 1 || right != 2)
            return 1;
        auto [s, u] = crew::join([] { return std::string(100, 'x'); },
                                 [] { return std::make_unique<int>(8); });
        if (s != std::string(100, 'x') || *u != 8)
            return 2;
        using big = std::array<long, 512>;
        auto [b, d] = crew::join(
            [] {
                big a;
                for (size_t i = 0; i < a.size(); i++)
                    a[i] = (long)i * 3;
                return a;
            },
            [] { return 0.5; });
        for (size_t i = 0; i < b.size(); i++)
            if (b[i] != (long)i * 3)
                return 3;
        if (d != 0.5)
            return 4;
        auto [v, w] = crew::join([] {}, [] { return 'c'; });
        (void)v;
        return w == 'c' ? 0 : 5;
    });
    CHECKF(code == 0, "check %d failed", code);
    return 0;
}

CPP_CASE(exception_in_a_spawned_lambda_reaches_join)
{
    crew::pool p(2);
    /* The spawned one throws; the other still ran to its end. */
    std::atomic<int> g_ran{0}, f_ran{0};
    try {
        p.run([&] {
            crew::join([]() -> int { throw boom(1); }, [&] { g_ran.store(1); });
        });
        CHECK(!"join returned");
    } catch (const boom &b) {
        CHECK(b.value == 1);
    }
    CHECK(g_ran.load() == 1);
    /* The one run here throws: the spawned one is synced first (it ran
     * to its end), then the exception propagates. */
    try {
        p.run([&] {
            crew::join([&] { f_ran.store(1); }, []() -> int { throw boom(2); });
        });
        CHECK(!"join returned");
    } catch (const boom &b) {
        CHECK(b.value == 2);
    }
    CHECK(f_ran.load() == 1);
    /* Both throw: the one run here wins. */
    try {
        p.run([] { crew::join([] { throw boom(3); }, [] { throw boom(4); }); });
        CHECK(!"join returned");
    } catch (const boom &b) {
        CHECK(b.value == 4);
    }
    /* Deep in a tree of joins (spawned side all the way down), through
     * every level, with some of the tree stolen on the way. */
    for (int at = 1; at <= 15; at += 7) {
        try {
            p.run([at] { return fib_throwing(22, 0, at); });
            CHECK(!"fib returned");
        } catch (const boom &b) {
            CHECKF(b.value == at, "boom(%ld), thrown at depth %d", b.value, at);
        }
    }
    /* Outside a pool (the serial elision) too. */
    CHECK(crew_test::throws<boom>([] { fib_throwing(10, 0, 4); }));
    CHECK(p.run([] { return fib_join(15); }) == 610);
    return 0;
}

CPP_CASE(exception_in_a_stolen_lambda_reaches_the_sync)
{
    crew::pool p(2);
    std::atomic<int> thief{-1}, stolen_ran{0};
    int here = -2;
    try {
        p.run([&] {
            here = crew_worker_index();
            crew::join(
                [&] {
                    thief.store(crew_worker_index());
                    stolen_ran.store(1);
                    throw boom(9);
                },
                [&] { spawn_until([&] { return stolen_ran.load() == 1; }); });
        });
        CHECK(!"join returned");
    } catch (const boom &b) {
        CHECK(b.value == 9);
    }
    CHECKF(thief.load() != here, "never stolen: the spawned lambda ran at the sync (worker %d)",
           here);
    /* The same through crew::spawn. */
    stolen_ran.store(0);
    thief.store(-1);
    try {
        p.run([&] {
            here = crew_worker_index();
            auto t = crew::spawn([&]() -> long {
                thief.store(crew_worker_index());
                stolen_ran.store(1);
                throw boom(10);
            });
            spawn_until([&] { return stolen_ran.load() == 1; });
            return t.sync();
        });
        CHECK(!"sync returned");
    } catch (const boom &b) {
        CHECK(b.value == 10);
    }
    CHECKF(thief.load() != here, "never stolen (spawn)");
    return 0;
}

CPP_CASE(spawned_fib_and_its_exception_reach_sync)
{
    crew::pool p(2);
    long n = crew_scaled(25, 18);
    CHECK(p.run([n] { return fib_spawn(n); }) == crew_test::fib_seq(n));
    CHECK(fib_spawn(15) == 610); /* outside a pool */
    long got = p.run([] {
        auto t = crew::spawn([]() -> long { throw boom(6); });
        long b = fib_spawn(10);
        try {
            return t.sync();
        } catch (const boom &e) {
            return e.value * 1000 + b;
        }
    });
    CHECK(got == 6055);
    /* A void child, and a move-only result. */
    std::string s = p.run([] {
        std::string out;
        auto t = crew::spawn([&out] { out = "void child"; });
        t.sync();
        auto u = crew::spawn([] { return std::make_unique<std::string>(" + unique_ptr"); });
        return out + *u.sync();
    });
    CHECK(s == "void child + unique_ptr");
    return 0;
}

CPP_CASE(spawned_sync_twice_throws_logic_error)
{
    crew::pool p(1);
    int code = p.run([] {
        crew::spawned t([] { return 1; }); /* the class, by deduction */
        if (t.sync() != 1)
            return 1;
        return crew_test::throws<std::logic_error>([&] { t.sync(); }) ? 0 : 2;
    });
    CHECK(code == 0);
    return 0;
}

CPP_CASE(unwinding_past_an_unsynced_spawn_syncs_it)
{
    crew::pool p(2);
    std::atomic<int> order{0}, first{0}, second{0}, third{0};
    /* Three spawns, then a throw: the destructors sync them, newest
     * first (LIFO, as crew_sync requires); one child's own exception is
     * dropped. */
    try {
        p.run([&] {
            auto a = crew::spawn([&] { first.store(++order); });
            auto b = crew::spawn([&]() -> int {
                second.store(++order);
                throw boom(1);
            });
            auto c = crew::spawn([&] { third.store(++order); });
            throw boom(2);
        });
        CHECK(!"run returned");
    } catch (const boom &e) {
        CHECK(e.value == 2);
    }
    CHECK(first.load() != 0 && second.load() != 0 && third.load() != 0);
    /* Stolen and still running when the parent throws: the destructor
     * waits for the thief. */
    std::atomic<int> started{0}, finished{0};
    try {
        p.run([&] {
            auto t = crew::spawn([&] {
                started.store(1);
                crew_test::wait_until([] { return false; }, 0.05);
                finished.store(1);
            });
            spawn_until([&] { return started.load() == 1; });
            throw boom(3);
        });
        CHECK(!"run returned");
    } catch (const boom &e) {
        CHECK(e.value == 3);
    }
    CHECK(started.load() == 1);
    CHECK(finished.load() == 1);
    return 0;
}
