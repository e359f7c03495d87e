// The Boost.Asio peer of crew-bench: see peers/asio.h. Header-only Asio;
// compiled only when Meson finds Boost's headers and a C++ compiler.
#include "peers/asio.h"

#include <cerrno>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

struct peer_asio_pool {
    boost::asio::thread_pool pool;
    explicit peer_asio_pool(unsigned workers) : pool(workers) {}
};

struct peer_asio_strand {
    boost::asio::strand<boost::asio::thread_pool::executor_type> strand;
    explicit peer_asio_strand(peer_asio_pool *p)
        : strand(boost::asio::make_strand(p->pool.get_executor()))
    {
    }
};

extern "C" peer_asio_pool *peer_asio_pool_create(unsigned workers)
{
    if (workers == 0)
        return nullptr;
    try {
        return new peer_asio_pool(workers);
    } catch (...) {
        return nullptr;
    }
}

extern "C" void peer_asio_pool_destroy(peer_asio_pool *p)
{
    if (p == nullptr)
        return;
    try {
        p->pool.join();
    } catch (...) {
        // join only waits; nothing is left to undo
    }
    delete p;
}

extern "C" peer_asio_strand *peer_asio_strand_create(peer_asio_pool *p)
{
    if (p == nullptr)
        return nullptr;
    try {
        return new peer_asio_strand(p);
    } catch (...) {
        return nullptr;
    }
}

extern "C" int peer_asio_strand_post(peer_asio_strand *s, void *(*fn)(void *), void *arg)
{
    try {
        boost::asio::post(s->strand, [fn, arg] { fn(arg); });
        return 0;
    } catch (...) {
        return ENOMEM;
    }
}

extern "C" void peer_asio_strand_destroy(peer_asio_strand *s)
{
    delete s;
}
