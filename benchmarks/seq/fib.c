/* The sequential twin of crew-bench fib: the same recursion without spawn
 * and sync. It lives alone in this translation unit, built with the
 * benchmark's flags, and noinline keeps the compiler from folding the
 * recursion into itself: every level is a real call, as in the crew
 * version, whose recursive calls go through crew_spawn/crew_sync. */
#include "bench.h"

__attribute__((noinline)) long seq_fib(long n)
{
    if (n < 2)
        return n;
    return seq_fib(n - 1) + seq_fib(n - 2);
}
