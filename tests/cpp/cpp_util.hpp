/* What the cpp suite's cases share: the case wrapper (no exception may
 * leave a case: the runners are C), exception checks, and bounded waits
 * (a wait that times out turns into a failed check, never a hang). */
#ifndef CREW_TEST_CPP_UTIL_HPP
#define CREW_TEST_CPP_UTIL_HPP

#include "cpp_cases.h"

#include <crew.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <typeinfo>

namespace crew_test {

template <class Body> int guarded(const char *name, Body body) noexcept
{
    try {
        return body();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: unexpected exception %s: %s\n", name, typeid(e).name(),
                     e.what());
    } catch (...) {
        std::fprintf(stderr, "%s: unexpected exception of an unknown type\n", name);
    }
    return 1;
}

/* A case: `CPP_CASE(name) { ...; return 0; }`, with C linkage (declared
 * so in cpp_cases.h). */
#define CPP_CASE(name)                                                       \
    static int name##_body();                                                \
    int name(void) { return crew_test::guarded(#name, name##_body); }       \
    static int name##_body()

/* True if fn() throws an E (anything else propagates to the case). */
template <class E, class Fn> bool throws(Fn &&fn)
{
    try {
        fn();
    } catch (const E &) {
        return true;
    }
    return false;
}

/* True if fn() throws std::system_error carrying errno value `code`. */
template <class Fn> bool throws_errno(int code, Fn &&fn)
{
    try {
        fn();
    } catch (const std::system_error &e) {
        if (e.code() == std::error_code(code, std::generic_category()))
            return true;
        std::fprintf(stderr, "system_error %d (%s), expected %d\n", e.code().value(), e.what(),
                     code);
        return false;
    }
    return false;
}

/* The exception the cases throw on purpose: carries a value, so a check
 * can tell which throw arrived. */
struct boom : std::exception {
    long value;
    explicit boom(long v) : value(v) {}
    const char *what() const noexcept override { return "crew_test::boom"; }
};

/* Waits until pred() holds, at most `seconds`; returns pred(). */
template <class Pred> bool wait_until(Pred pred, double seconds = 5)
{
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end)
            return pred();
        std::this_thread::yield();
    }
    return true;
}

inline long fib_seq(long n)
{
    return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2);
}

} // namespace crew_test

#endif
