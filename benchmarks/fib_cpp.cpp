/* crew-bench fib, impl=crew_cpp: the same fork-join fib(n), no cutoff, as
 * impl=crew_sync_call, written with crew.hpp's crew::join (a lambda for
 * each half: the first spawned, the second run here). Built only when
 * Meson finds a C++ compiler of the C compiler's family (which defines
 * CREW_BENCH_HAVE_CPP); bench_fib.c reaches it through the one C function
 * below, a crew_fn it runs as the root task with crew_run, like the C
 * rows. No exception is thrown here; crew::join would carry one to the
 * top if fib threw. */
#include <crew.hpp>

#include <cstdint>

extern "C" void *bench_fib_cpp_root(void *arg);

namespace {

long fib(long n)
{
    if (n < 2)
        return n;
    auto [a, b] = crew::join([n] { return fib(n - 1); }, [n] { return fib(n - 2); });
    return a + b;
}

} // namespace

/* fib((long)arg), returned as the C rows return theirs. */
void *bench_fib_cpp_root(void *arg)
{
    return reinterpret_cast<void *>(static_cast<intptr_t>(fib(static_cast<long>(reinterpret_cast<intptr_t>(arg)))));
}
