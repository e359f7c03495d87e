// docs/cpp.md, "Submitting work": a pool, futures, and an exception that
// travels from a task to get().
#include <crew.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

static int parse_port(const std::string &text)
{
    int port = std::stoi(text); // throws std::invalid_argument on "http"
    if (port <= 0 || port > 65535)
        throw std::out_of_range("port " + text);
    return port;
}

int main()
{
    crew::pool pool(2); // two workers; crew::pool pool; has one per CPU

    crew::future<int> answer = pool.submit([] { return 6 * 7; });
    std::printf("answer: %d\n", answer.get()); // waits, then 42

    std::vector<std::string> inputs = {"80", "http", "8080", "99999"};
    std::vector<crew::future<int>> ports;
    for (const std::string &text : inputs)
        ports.push_back(pool.submit([text] { return parse_port(text); }));

    int good = 0, bad = 0;
    for (auto &port : ports) {
        try {
            std::printf("port %d\n", port.get());
            good++;
        } catch (const std::exception &e) { // what the task threw, rethrown here
            std::printf("rejected: %s\n", e.what());
            bad++;
        }
    }

    crew::future<void> done = pool.submit([] { std::puts("a task with no result"); });
    done.get(); // returns once it has run

    return answer.valid() || good != 2 || bad != 2; // 0 when all is as shown
}
