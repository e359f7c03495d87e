// docs/cpp.md, "Groups and graphs": waiting for many tasks at once, and
// a task graph; both own their C objects and free them at scope exit.
#include <crew.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>

int main()
{
    crew::pool pool(2);

    std::atomic<int> sent{0};
    {
        crew::group mail(pool);
        for (int i = 0; i < 100; i++)
            mail.post([&sent] { sent.fetch_add(1); });
        mail.wait(); // all 100 have run
        std::printf("sent %d\n", sent.load());

        mail.post([] { throw std::runtime_error("mailbox full"); });
        try {
            mail.wait(); // rethrows the first exception since the last wait
        } catch (const std::runtime_error &e) {
            std::printf("group: %s\n", e.what());
        }
    } // the group waits for anything still posted, then is freed

    //   fetch -> parse -> report
    //   fetch -> index -> report
    std::mutex m;
    std::string log;
    auto note = [&](const char *step) {
        std::lock_guard<std::mutex> lock(m);
        log += step;
        log += ' ';
    };
    crew::graph g;
    auto fetch = g.add([&] { note("fetch"); });
    auto parse = g.add([&] { note("parse"); });
    auto index = g.add([&] { note("index"); });
    auto report = g.add([&] { note("report"); });
    g.precede(fetch, parse);
    g.precede(fetch, index);
    g.precede(parse, report);
    g.precede(index, report);
    g.run(pool); // blocks; can run again
    std::printf("%s\n", log.c_str());

    return sent.load() == 100 && log.rfind("fetch ", 0) == 0 &&
                   log.size() == std::string("fetch parse index report ").size()
               ? 0
               : 1;
}
