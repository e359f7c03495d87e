// docs/cpp.md, "Loops": crew::parallel_for over a vector, and a loop
// that stops at the first exception.
#include <crew.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

int main()
{
    crew::pool pool(2);

    std::vector<double> roots(1000000);
    crew::parallel_for(pool, 0, roots.size(), [&](size_t i) { roots[i] = std::sqrt((double)i); });
    std::printf("roots[1000] = %.3f\n", roots[1000]);

    // Any integer types: the index has the bounds' common type (here int,
    // so a negative range works).
    std::atomic<long> below_zero{0};
    crew::parallel_for(pool, -500, 500, [&](int i) {
        if (i < 0)
            below_zero.fetch_add(1, std::memory_order_relaxed);
    });
    std::printf("%ld negative indices\n", below_zero.load());

    // The first exception is rethrown once the loop has stopped: no chunk
    // starts after it, the ones running finish.
    std::atomic<long> checked{0};
    try {
        crew::parallel_for(pool, 0, roots.size(), [&](size_t i) {
            checked.fetch_add(1, std::memory_order_relaxed);
            if (roots[i] * roots[i] > (double)i + 1e-6)
                throw std::logic_error("bad root");
            if (i == 123456)
                throw std::runtime_error("stop at 123456");
        });
    } catch (const std::runtime_error &e) {
        std::printf("%s after %ld of %zu indices\n", e.what(), checked.load(), roots.size());
    }
    return roots[1000] > 31.622 && roots[1000] < 31.623 && below_zero.load() == 500 &&
                   checked.load() < (long)roots.size()
               ? 0
               : 1;
}
