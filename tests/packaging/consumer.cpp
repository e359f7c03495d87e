// A C++ program from outside the tree, built against an installed crew:
// by check_install.sh with `c++ -std=c++17 consumer.cpp $(pkg-config
// --cflags --libs crew)`, and by check_cmake.sh through find_package(crew)
// and pkg_check_modules. It touches each part of <crew.hpp> once, the
// exception path included.
#include <crew.hpp>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <vector>

static long fib(long n)
{
    if (n < 2)
        return n;
    auto [a, b] = crew::join([n] { return fib(n - 1); }, [n] { return fib(n - 2); });
    return a + b;
}

int main()
{
    bool ok = true;
    crew::pool pool(2);

    ok &= pool.submit([] { return 6 * 7; }).get() == 42;
    try {
        pool.submit([]() -> int { throw std::runtime_error("from a task"); }).get();
        ok = false;
    } catch (const std::runtime_error &) {
    }

    ok &= pool.run([] { return fib(20); }) == 6765;

    std::vector<int> seen(10000, 0);
    crew::parallel_for(pool, 0, seen.size(), [&](size_t i) { seen[i]++; });
    for (int s : seen)
        ok &= s == 1;

    std::atomic<int> posted{0};
    crew::group group(pool);
    for (int i = 0; i < 10; i++)
        group.post([&posted] { posted++; });
    group.wait();
    ok &= posted.load() == 10;

    std::printf("consumer_cpp: crew %s, %s\n", crew_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
