/* Suite `cpp`: crew::parallel_for. */
#include "cpp_util.hpp"

#include <climits>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

using crew_test::boom;

namespace {

/* Runs parallel_for over [begin, end) and checks that every index was
 * visited exactly once, with an index of the bounds' common type. */
template <class B, class E> int visits_once(crew::pool &p, B begin, E end, size_t grain)
{
    using I = std::common_type_t<B, E>;
    const size_t n = (size_t)((long long)end - (long long)begin);
    std::unique_ptr<std::atomic<unsigned char>[]> seen(new std::atomic<unsigned char>[n + 1]);
    for (size_t i = 0; i <= n; i++)
        seen[i].store(0, std::memory_order_relaxed);
    std::atomic<size_t> outside{0};
    crew::parallel_for(
        p, begin, end,
        [&](auto i) {
            static_assert(std::is_same_v<decltype(i), I>, "the index has the bounds' common type");
            long long k = (long long)i - (long long)begin;
            if (k < 0 || (size_t)k >= n)
                outside.fetch_add(1, std::memory_order_relaxed);
            else
                seen[(size_t)k].fetch_add(1, std::memory_order_relaxed);
        },
        grain);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += seen[i].load(std::memory_order_relaxed) != 1;
    CHECKF(outside.load() == 0, "%zu indices outside the range", outside.load());
    CHECKF(bad == 0, "[%lld, %lld) grain %zu: %zu indices not visited exactly once",
           (long long)begin, (long long)end, grain, bad);
    return 0;
}

} // namespace

CPP_CASE(parallel_for_visits_every_index_once_with_mixed_integer_types)
{
    crew::pool p(2);
    for (size_t grain : {size_t(0), size_t(1), size_t(7), size_t(1000)}) {
        CHECK(visits_once(p, 0, size_t(100003), grain) == 0);              /* int, size_t */
        CHECK(visits_once(p, short(-300), 70000L, grain) == 0);             /* short, long */
        CHECK(visits_once(p, (unsigned char)3, 250, grain) == 0);           /* uchar, int */
        CHECK(visits_once(p, -5000, -17, grain) == 0);                      /* negative */
        CHECK(visits_once(p, std::int8_t(-128), std::int8_t(127), grain) == 0);
        CHECK(visits_once(p, 10u, 20000ull, grain) == 0);                   /* unsigned */
        CHECK(visits_once(p, LLONG_MAX - 5000, LLONG_MAX, grain) == 0);     /* at the top */
        CHECK(visits_once(p, LLONG_MIN, LLONG_MIN + 3000, grain) == 0);     /* at the bottom */
    }
    /* The API.md example: size_t bounds, a size_t index. */
    std::vector<int> v(50000, 0);
    crew::parallel_for(p, 0, v.size(), [&](size_t i) { v[i] += (int)i % 7; });
    for (size_t i = 0; i < v.size(); i++)
        CHECKF(v[i] == (int)i % 7, "v[%zu]", i);
    return 0;
}

CPP_CASE(parallel_for_rejects_end_before_begin_and_runs_empty_ranges)
{
    crew::pool p(2);
    std::atomic<int> calls{0};
    auto count = [&](long) { calls.fetch_add(1); };
    CHECK(crew_test::throws_errno(EINVAL, [&] { crew::parallel_for(p, 10L, 9L, count); }));
    CHECK(crew_test::throws_errno(EINVAL, [&] { crew::parallel_for(p, 0L, -1L, count); }));
    crew::parallel_for(p, 5L, 5L, count);
    crew::parallel_for(p, -3L, -3L, count);
    CHECK(calls.load() == 0);
    crew::parallel_for(p, -1L, 0L, count);
    CHECK(calls.load() == 1);
    return 0;
}

CPP_CASE(parallel_for_rethrows_the_first_exception_after_the_loop_stops)
{
    crew::pool p(2);
    const long n = 4000000;
    for (size_t grain : {size_t(0), size_t(100)}) {
        std::atomic<long> visited{0}, running{0}, throws{0};
        std::atomic<long> running_at_catch{-1};
        try {
            crew::parallel_for(
                p, 0L, n,
                [&](long i) {
                    running.fetch_add(1);
                    visited.fetch_add(1, std::memory_order_relaxed);
                    if (i == 1000 || i == 3000000) {
                        throws.fetch_add(1);
                        running.fetch_sub(1);
                        throw boom(i);
                    }
                    running.fetch_sub(1);
                },
                grain);
            CHECK(!"parallel_for returned");
        } catch (const boom &b) {
            running_at_catch.store(running.load());
            /* The first exception: one of those thrown, the others
             * dropped. */
            CHECKF(b.value == 1000 || b.value == 3000000, "boom(%ld)", b.value);
        }
        /* Rethrown after the loop stopped: no call was still running. */
        CHECKF(running_at_catch.load() == 0, "%ld calls running when it arrived",
               running_at_catch.load());
        CHECK(throws.load() >= 1);
        /* Stopping means part of the range never started (see the C
         * suite's for_stops_early...: the throwing chunk's worker still
         * held a range nobody will run). */
        CHECKF(visited.load() < n, "grain %zu: visited all %ld: nothing stopped", grain, n);
        /* The pool is fine afterwards. */
        std::atomic<long> sum{0};
        crew::parallel_for(p, 0, 1000, [&](int i) { sum.fetch_add(i); });
        CHECK(sum.load() == 499500);
    }
    return 0;
}

CPP_CASE(parallel_for_starts_no_chunk_after_a_throw_on_one_worker)
{
    /* With one worker the chunks run one after another, so "no chunk
     * starts after the throw" is observable exactly: every index visited
     * after the throwing one belongs to the chunk that threw. */
    crew::pool p(1);
    for (size_t grain : {size_t(1), size_t(64)}) {
        std::atomic<int> thrown{0};
        std::atomic<long> after{0};
        try {
            crew::parallel_for(
                p, 0L, 100000L,
                [&](long i) {
                    if (thrown.load())
                        after.fetch_add(1);
                    if (i == 5000) {
                        thrown.store(1);
                        throw boom(i);
                    }
                },
                grain);
            CHECK(!"parallel_for returned");
        } catch (const boom &b) {
            CHECK(b.value == 5000);
        }
        CHECKF(after.load() == 0, "grain %zu: %ld calls after the throw", grain, after.load());
    }
    return 0;
}

CPP_CASE(parallel_for_nested_in_a_task_visits_every_cell_once)
{
    crew::pool p(2);
    const int rows = 200, cols = 501;
    std::vector<std::atomic<int>> cells(rows * cols);
    for (auto &c : cells)
        c.store(0, std::memory_order_relaxed);
    crew::parallel_for(p, 0, rows, [&](int r) {
        crew::parallel_for(p, 0, cols, [&](int c) { cells[(size_t)(r * cols + c)].fetch_add(1); });
    });
    int bad = 0;
    for (auto &c : cells)
        bad += c.load() != 1;
    CHECKF(bad == 0, "%d cells not visited exactly once", bad);
    /* An exception from the inner loop crosses the outer one. */
    CHECK(crew_test::throws<boom>([&] {
        crew::parallel_for(p, 0, rows, [&](int r) {
            crew::parallel_for(p, 0, cols, [&](int c) {
                if (r == 150 && c == 300)
                    throw boom(r);
            });
        });
    }));
    return 0;
}
