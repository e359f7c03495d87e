/* Compiled, not run, by the cpp_headers tests: <crew.hpp> as C++17 and
 * C++20 with g++ and clang++, at -Wall -Wextra -pedantic-errors -Werror,
 * with every template instantiated. */
#include <crew.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

long compat_fib(long n);
int compat_main();

long compat_fib(long n)
{
    if (n < 2)
        return n;
    auto [a, b] = crew::join([n] { return compat_fib(n - 1); }, [n] { return compat_fib(n - 2); });
    auto t = crew::spawn([n] { return std::to_string(n); });
    crew::spawned u([] {});
    u.sync();
    return a + b + static_cast<long>(t.sync().size());
}

int compat_main()
{
    crew::pool p(2);
    crew::future<int> f = p.submit([] { return 1; });
    crew::future<void> v = p.submit([] {});
    auto u = p.submit([] { return std::make_unique<int>(2); });
    f.wait_for(std::chrono::milliseconds(1));
    v.wait();
    int sum = f.get() + *u.get();
    std::vector<int> out(100);
    crew::parallel_for(p, 0, out.size(), [&](std::size_t i) { out[i] = static_cast<int>(i); });
    crew::parallel_for(p, short(-3), 40L, [&](long) {}, 8);
    sum += static_cast<int>(p.run([] { return compat_fib(10); }));
    crew::group g(p);
    g.post([] {});
    g.wait();
    crew::graph gr;
    auto a = gr.add([] {});
    auto b = gr.add([] { return 3; });
    gr.precede(a, b);
    gr.run(p);
    p.shutdown();
    return sum;
}
