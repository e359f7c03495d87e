// The oneTBB peer of crew-bench: see peers/tbb.h. The only C++ file of
// the project; compiled only when Meson finds oneTBB and a C++ compiler.
#include "peers/tbb.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <vector>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

namespace {

constexpr std::size_t stack_bytes = 16u << 20;
constexpr unsigned max_arenas = 16;

// The arenas of peer_tbb_prepare, by thread count. Set up from one thread
// before any use (the workloads do it on their main thread, untimed). The
// objects are never freed: oneTBB's own exit-time teardown must not race
// their destructors, and static pointers keep them reachable for leak
// checkers.
struct arena_slot {
    unsigned workers;
    tbb::task_arena *arena;
};
arena_slot arenas[max_arenas];
unsigned narenas;
tbb::global_control *stack_control;
tbb::global_control *parallelism_control;
std::size_t parallelism_limit;

// Lets oneTBB run `threads` threads at once, the calling thread included
// (max_allowed_parallelism counts it: oneTBB starts that many minus one
// workers). The limit only grows: while two controls of one parameter are
// alive the smaller one wins, so the new one is made before the old one
// goes.
void allow_threads(std::size_t threads)
{
    if (stack_control == nullptr)
        stack_control = new tbb::global_control(
            tbb::global_control::thread_stack_size, stack_bytes);
    if (parallelism_limit == 0)
        parallelism_limit = tbb::global_control::active_value(
            tbb::global_control::max_allowed_parallelism);
    if (threads <= parallelism_limit)
        return;
    auto *next = new tbb::global_control(
        tbb::global_control::max_allowed_parallelism, threads);
    delete parallelism_control;
    parallelism_control = next;
    parallelism_limit = threads;
}

tbb::task_arena *find_arena(unsigned workers)
{
    for (unsigned i = 0; i < narenas; i++)
        if (arenas[i].workers == workers)
            return arenas[i].arena;
    return nullptr;
}

tbb::task_group *group_of(peer_tbb_group *g)
{
    return reinterpret_cast<tbb::task_group *>(g->opaque);
}

[[noreturn]] void fail(const char *what)
{
    std::fprintf(stderr, "crew-bench: oneTBB failed in %s\n", what);
    std::abort();
}

long fib(long n)
{
    if (n < 2)
        return n;
    long a = 0;
    tbb::task_group g;
    g.run([&a, n] { a = fib(n - 1); });
    long b = fib(n - 2);
    g.wait();
    return a + b;
}

struct alignas(64) padded_sum {
    std::uint64_t sum;
};

} // namespace

static_assert(sizeof(tbb::task_group) <= sizeof(peer_tbb_group::opaque),
              "peer_tbb_group too small for this oneTBB's task_group");
static_assert(alignof(tbb::task_group) <= 16,
              "peer_tbb_group not aligned enough for this oneTBB's task_group");

extern "C" int peer_tbb_prepare(unsigned workers)
{
    if (workers == 0)
        return EINVAL;
    if (find_arena(workers) != nullptr)
        return 0;
    if (narenas == max_arenas)
        return ENOMEM;
    try {
        allow_threads(workers);
        // One slot is the caller's (reserved_for_masters 1): it joins in
        // execute, so workers - 1 oneTBB threads come to help it.
        auto *a = new tbb::task_arena(static_cast<int>(workers), 1);
        a->initialize();
        arenas[narenas++] = {workers, a};
        return 0;
    } catch (...) {
        return ENOMEM;
    }
}

extern "C" int peer_tbb_execute(unsigned workers, void (*fn)(void *), void *arg)
{
    tbb::task_arena *a = find_arena(workers);
    if (a == nullptr)
        return EINVAL;
    try {
        a->execute([fn, arg] { fn(arg); });
        return 0;
    } catch (...) {
        return ENOMEM;
    }
}

extern "C" void peer_tbb_group_init(peer_tbb_group *g)
{
    new (g->opaque) tbb::task_group();
}

extern "C" void peer_tbb_group_run(peer_tbb_group *g, void (*fn)(void *), void *arg)
{
    try {
        group_of(g)->run([fn, arg] { fn(arg); });
    } catch (...) {
        fail("task_group::run");
    }
}

extern "C" void peer_tbb_group_wait(peer_tbb_group *g)
{
    tbb::task_group *t = group_of(g);
    try {
        t->wait();
    } catch (...) {
        fail("task_group::wait");
    }
    t->~task_group();
}

extern "C" long peer_tbb_fib(unsigned workers, long n)
{
    tbb::task_arena *a = find_arena(workers);
    if (a == nullptr)
        return -1;
    try {
        return a->execute([n] { return fib(n); });
    } catch (...) {
        return -1;
    }
}

extern "C" int peer_tbb_for_sum(unsigned workers, std::size_t n,
                                std::uint64_t (*sum_range)(std::size_t, std::size_t),
                                int reduce, std::uint64_t *out)
{
    tbb::task_arena *a = find_arena(workers);
    if (a == nullptr)
        return EINVAL;
    using range = tbb::blocked_range<std::size_t>;
    try {
        if (reduce) {
            *out = a->execute([&] {
                return tbb::parallel_reduce(
                    range(0, n), std::uint64_t{0},
                    [sum_range](const range &r, std::uint64_t acc) {
                        return acc + sum_range(r.begin(), r.end());
                    },
                    std::plus<std::uint64_t>());
            });
            return 0;
        }
        // A partial per arena slot: a chunk adds its sum to the slot of
        // the thread that ran it, so no cache line is shared per chunk.
        std::vector<padded_sum> partial(static_cast<std::size_t>(a->max_concurrency()));
        a->execute([&] {
            tbb::parallel_for(range(0, n), [&partial, sum_range](const range &r) {
                std::uint64_t s = sum_range(r.begin(), r.end());
                int slot = tbb::this_task_arena::current_thread_index();
                partial[static_cast<std::size_t>(slot)].sum += s;
            });
        });
        std::uint64_t s = 0;
        for (const padded_sum &p : partial)
            s += p.sum;
        *out = s;
        return 0;
    } catch (...) {
        return ENOMEM;
    }
}

struct peer_tbb_exec {
    tbb::task_arena arena;
    std::vector<std::unique_ptr<tbb::task_group>> groups;
    explicit peer_tbb_exec(unsigned workers)
        : arena(static_cast<int>(workers), 0)
    {
    }
};

extern "C" peer_tbb_exec *peer_tbb_exec_create(unsigned workers, unsigned producers)
{
    if (workers == 0 || producers == 0)
        return nullptr;
    try {
        // workers oneTBB threads, plus one for the outside thread the
        // limit counts.
        allow_threads(std::size_t{workers} + 1);
        auto e = std::make_unique<peer_tbb_exec>(workers);
        for (unsigned k = 0; k < producers; k++)
            e->groups.push_back(std::make_unique<tbb::task_group>());
        e->arena.initialize();
        return e.release();
    } catch (...) {
        return nullptr;
    }
}

extern "C" int peer_tbb_exec_post(peer_tbb_exec *e, unsigned producer,
                                  void *(*fn)(void *), void *arg)
{
    try {
        e->arena.enqueue(e->groups[producer]->defer([fn, arg] { fn(arg); }));
        return 0;
    } catch (...) {
        return ENOMEM;
    }
}

extern "C" int peer_tbb_exec_wait(peer_tbb_exec *e)
{
    try {
        e->arena.execute([e] {
            for (auto &g : e->groups)
                g->wait();
        });
        return 0;
    } catch (...) {
        return ENOMEM;
    }
}

extern "C" void peer_tbb_exec_destroy(peer_tbb_exec *e)
{
    if (e == nullptr)
        return;
    peer_tbb_exec_wait(e);
    delete e;
}
