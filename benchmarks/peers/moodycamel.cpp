// The moodycamel peer (see peers/moodycamel.h): a pool of worker threads
// over one moodycamel::BlockingConcurrentQueue (Debian's
// libconcurrentqueue-dev, header-only).
#include "peers/moodycamel.h"

#include <cerrno>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include <concurrentqueue/blockingconcurrentqueue.h>

namespace {

struct task {
    void *(*fn)(void *);
    void *arg;
};

using queue = moodycamel::BlockingConcurrentQueue<task>;

} // namespace

struct peer_mc_pool {
    queue q;
    std::vector<std::unique_ptr<moodycamel::ProducerToken>> producers;
    std::vector<std::thread> workers;
    // The token destroy posts its stop tasks through (destroy's thread).
    std::unique_ptr<moodycamel::ProducerToken> closer;
};

static void worker_main(peer_mc_pool *p)
{
    moodycamel::ConsumerToken tok(p->q);
    for (;;) {
        task t;
        p->q.wait_dequeue(tok, t);
        if (t.fn == nullptr)
            return; // a stop task: one per worker, after everything else
        t.fn(t.arg);
    }
}

extern "C" peer_mc_pool *peer_mc_pool_create(unsigned workers, unsigned producers)
{
    if (workers == 0 || producers == 0)
        return nullptr;
    peer_mc_pool *p = nullptr;
    try {
        p = new peer_mc_pool();
        for (unsigned k = 0; k < producers; k++)
            p->producers.push_back(std::make_unique<moodycamel::ProducerToken>(p->q));
        p->closer = std::make_unique<moodycamel::ProducerToken>(p->q);
        for (unsigned w = 0; w < workers; w++)
            p->workers.emplace_back(worker_main, p);
        return p;
    } catch (...) {
        peer_mc_pool_destroy(p);
        return nullptr;
    }
}

extern "C" int peer_mc_pool_post(peer_mc_pool *p, unsigned producer, void *(*fn)(void *),
                                 void *arg)
{
    if (p == nullptr || producer >= p->producers.size() || fn == nullptr)
        return EINVAL;
    try {
        return p->q.enqueue(*p->producers[producer], task{fn, arg}) ? 0 : ENOMEM;
    } catch (...) {
        return ENOMEM;
    }
}

extern "C" void peer_mc_pool_destroy(peer_mc_pool *p)
{
    if (p == nullptr)
        return;
    // One stop task per worker; a worker that takes one runs nothing more,
    // and FIFO per producer token keeps the stops behind every task this
    // thread posted. Tasks of other producers are posted before destroy is
    // called (crew-bench waits until all ran).
    for (size_t w = 0; w < p->workers.size(); w++) {
        // (The closer exists whenever a worker does: create makes it first.)
        for (;;) {
            try {
                if (p->q.enqueue(*p->closer, task{nullptr, nullptr}))
                    break;
            } catch (...) {
            }
            std::this_thread::yield(); // out of memory: try again
        }
    }
    for (std::thread &t : p->workers)
        t.join();
    delete p;
}
