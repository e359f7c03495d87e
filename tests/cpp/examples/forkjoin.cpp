// docs/cpp.md, "Fork-join": crew::join (fib, a checked sum) and
// crew::spawn (quicksort), with an exception from deep inside the
// recursion.
#include <crew.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <vector>

static long fib(long n)
{
    if (n < 2)
        return n;
    auto [a, b] = crew::join([n] { return fib(n - 1); },  // spawned: a thief may take it
                             [n] { return fib(n - 2); }); // run here
    return a + b;
}

static void quicksort(std::vector<int>::iterator first, std::vector<int>::iterator last)
{
    if (last - first < 2048) {
        std::sort(first, last);
        return;
    }
    int pivot = *(first + (last - first) / 2);
    auto mid1 = std::partition(first, last, [pivot](int x) { return x < pivot; });
    auto mid2 = std::partition(mid1, last, [pivot](int x) { return x == pivot; });
    auto left = crew::spawn([first, mid1] { quicksort(first, mid1); });
    quicksort(mid2, last); // meanwhile, here
    left.sync();           // a second sync() would throw std::logic_error
}

static double checked_sum(const double *v, size_t n)
{
    if (n <= 1000) {
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            if (std::isnan(v[i]))
                throw std::domain_error("NaN at a leaf");
            s += v[i];
        }
        return s;
    }
    auto [a, b] = crew::join([=] { return checked_sum(v, n / 2); },
                             [=] { return checked_sum(v + n / 2, n - n / 2); });
    return a + b;
}

int main()
{
    crew::pool pool(2);

    long f = pool.run([] { return fib(30); });
    std::printf("fib(30) = %ld\n", f);

    std::vector<int> data(1000000);
    std::mt19937 rng(42);
    for (int &x : data)
        x = (int)(rng() % 100000);
    pool.run([&] { quicksort(data.begin(), data.end()); });
    std::printf("sorted: %s\n", std::is_sorted(data.begin(), data.end()) ? "yes" : "no");

    std::vector<double> values(500000, 0.5);
    double s = pool.run([&] { return checked_sum(values.data(), values.size()); });
    std::printf("sum = %.1f\n", s);
    values[377777] = std::nan("");
    bool caught = false;
    try {
        pool.run([&] { return checked_sum(values.data(), values.size()); });
    } catch (const std::domain_error &e) { // from whichever worker ran that leaf
        std::printf("caught: %s\n", e.what());
        caught = true;
    }
    return f == 832040 && std::is_sorted(data.begin(), data.end()) && s == 250000.0 && caught
               ? 0
               : 1;
}
