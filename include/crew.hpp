/*
 * crew.hpp: crew for C++17, header-only, over the C API of <crew.h>.
 *
 *   crew::pool p(2);                                 // 2 workers; crew::pool p; one per CPU
 *   crew::future<int> f = p.submit([] { return 6 * 7; });
 *   int v = f.get();                                 // 42, or rethrows what the task threw
 *   crew::parallel_for(p, 0, n, [&](size_t i) { ... });   // every index once
 *   long r = p.run([] { return fib(30); });          // a root task
 *
 *   long fib(long n) {                               // fork-join at the C fast path's cost
 *       if (n < 2) return n;
 *       auto [a, b] = crew::join([n] { return fib(n - 1); },   // spawned
 *                                [n] { return fib(n - 2); });  // run here
 *       return a + b;
 *   }
 *
 * The rules (docs/cpp.md has them all, with tested examples):
 *   - An exception thrown in a task is caught where the task runs and
 *     rethrown to whoever collects the task: future::get, join,
 *     spawned::sync, pool::run, parallel_for (the first one, after the
 *     loop stops), group::wait, graph::run. None crosses the C library's
 *     frames, so none ends in std::terminate.
 *   - A failure the C library reports (an errno value) is thrown as
 *     std::system_error in std::generic_category (ESHUTDOWN after
 *     shutdown, EAGAIN from a full bounded queue, EINVAL for a moved-from
 *     object, ...), except ENOMEM, which is std::bad_alloc.
 *   - pool, future, group and graph own their C object and free it when
 *     destroyed; they move but do not copy. spawned<F> neither moves nor
 *     copies (its record may be on a thief's deque) and syncs itself if
 *     destroyed unsynced.
 *
 * Only the public C functions and types of crew.h are used here, never
 * the private layout at its bottom.
 */
#ifndef CREW_HPP
#define CREW_HPP

#if __cplusplus < 201703L
#error "crew.hpp needs C++17 or later (crew.h alone works from C++11)"
#endif

#include <crew.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace crew {

class pool;
template <class T> class future;

namespace detail {

[[noreturn]] inline void throw_errno(int rc, const char *what)
{
    if (rc == ENOMEM)
        throw std::bad_alloc();
    throw std::system_error(rc, std::generic_category(), what);
}

/* What a task produced: its value, or the exception it threw. */
template <class T> struct outcome {
    static_assert(std::is_move_constructible_v<T>,
                  "crew: a task's result type must be move-constructible");
    std::optional<T> value;
    std::exception_ptr error;

    template <class F> void capture(F &&fn) noexcept
    {
        try {
            value.emplace(std::invoke(std::forward<F>(fn)));
        } catch (...) {
            error = std::current_exception();
        }
    }
    T take()
    {
        if (error)
            std::rethrow_exception(error);
        return std::move(*value);
    }
};

template <class T> struct outcome<T &> {
    T *value = nullptr;
    std::exception_ptr error;

    template <class F> void capture(F &&fn) noexcept
    {
        try {
            value = std::addressof(std::invoke(std::forward<F>(fn)));
        } catch (...) {
            error = std::current_exception();
        }
    }
    T &take()
    {
        if (error)
            std::rethrow_exception(error);
        return *value;
    }
};

template <> struct outcome<void> {
    std::exception_ptr error;

    template <class F> void capture(F &&fn) noexcept
    {
        try {
            std::invoke(std::forward<F>(fn));
        } catch (...) {
            error = std::current_exception();
        }
    }
    void take()
    {
        if (error)
            std::rethrow_exception(error);
    }
};

/* Where a future's task leaves its outcome. Two references: the task's
 * (dropped when it has run) and the future's (dropped when it is read or
 * destroyed); the last one out deletes it. A task that will never run
 * (cancelled) never drops its reference: the future, which learns of the
 * cancellation, drops both. */
template <class T> struct future_state {
    std::atomic<int> refs{2};
    outcome<T> out;

    virtual ~future_state() = default;
    void unref(int n) noexcept
    {
        /* AcqRel: everything either holder did to the state (the task's
         * outcome, the future's read of it) happens before the delete. */
        if (refs.fetch_sub(n, std::memory_order_acq_rel) == n)
            delete this;
    }
};

template <class T, class F> struct future_task final : future_state<T> {
    std::optional<F> fn;

    template <class G> explicit future_task(G &&g) : fn(std::in_place, std::forward<G>(g)) {}
};

template <class T, class F> void *future_entry(void *arg)
{
    auto *t = static_cast<future_task<T, F> *>(arg);
    t->out.capture(std::move(*t->fn));
    t->fn.reset(); /* the captures go now, on the worker, not with the future */
    t->unref(1);
    return nullptr;
}

/* pool::run's frame, on the caller's stack: crew_run returns only after
 * the task has. */
template <class T, class F> struct run_frame {
    F &fn;
    outcome<T> out;
};

template <class T, class F> void *run_entry(void *arg)
{
    auto *fr = static_cast<run_frame<T, F> *>(arg);
    fr->out.capture(std::forward<F>(fr->fn));
    return nullptr;
}

/* The first exception of a loop, a group or a graph run. The first
 * thrower claims the slot (`failed`), writes it, then publishes it
 * (`ready`); a collector takes it with an exchange of `ready` (so two
 * collectors never both take it), empties it, then reopens it. A task
 * that has finished before the collector's C call (crew_parallel_for,
 * crew_group_wait, crew_graph_run) returned has published its exception:
 * that call orders the task's writes before its return. */
struct first_error {
    std::atomic<bool> failed{false}; /* claimed: later throwers drop theirs */
    std::atomic<bool> ready{false};  /* `error` written */
    std::exception_ptr error;

    void offer(std::exception_ptr e) noexcept
    {
        /* AcqRel: acquires the collector's reopening store, so our write
         * of `error` comes after its read of the previous one. */
        if (failed.exchange(true, std::memory_order_acq_rel))
            return;
        error = std::move(e);
        /* Release: the write of `error` before the collector sees ready. */
        ready.store(true, std::memory_order_release);
    }
    /* Rethrows the published exception, if any, and reopens the slot. */
    void rethrow_and_clear()
    {
        /* Acquire: pairs with offer's release of ready. */
        if (!ready.exchange(false, std::memory_order_acquire))
            return;
        std::exception_ptr e = std::move(error);
        error = nullptr;
        /* Release: our reads of `error` before the next offer's claim. */
        failed.store(false, std::memory_order_release);
        std::rethrow_exception(e);
    }
};

template <class I, class Fn> struct loop_frame {
    I begin;
    Fn &fn;
    first_error err;
};

template <class I, class Fn> int loop_entry(std::size_t lo, std::size_t hi, void *arg)
{
    using U = std::make_unsigned_t<I>;
    auto *fr = static_cast<loop_frame<I, Fn> *>(arg);
    /* The C loop starts no subrange after one returned non-zero; this
     * closes the window between a throw and that return. Relaxed: only a
     * hint, the slot itself is ordered by the loop's return. */
    if (fr->err.failed.load(std::memory_order_relaxed))
        return 1;
    try {
        for (std::size_t k = lo; k < hi; k++)
            std::invoke(fr->fn, static_cast<I>(static_cast<U>(static_cast<U>(fr->begin) +
                                                              static_cast<U>(k))));
    } catch (...) {
        fr->err.offer(std::current_exception());
        return 1;
    }
    return 0;
}

/* A group's task on the heap. Posted through one non-template entry, so
 * that the pool's on_cancel hook can recognize (and free) the ones a
 * shutdown with cancel_pending drops. */
struct group_item {
    first_error *err; /* the group's: it waits for its tasks before it goes */

    explicit group_item(first_error *e) : err(e) {}
    virtual ~group_item() = default;
    virtual void run() = 0;
};

template <class F> struct group_task final : group_item {
    F fn;

    template <class G>
    group_task(first_error *e, G &&g) : group_item(e), fn(std::forward<G>(g))
    {
    }
    void run() override
    {
        try {
            std::invoke(fn);
        } catch (...) {
            err->offer(std::current_exception());
        }
    }
};

inline void *group_entry(void *arg)
{
    auto *item = static_cast<group_item *>(arg);
    item->run();
    delete item;
    return nullptr;
}

/* The pool's hooks: crew_config has one ctx for all three, so the user's
 * ctx is kept here and handed to the user's own hooks. */
struct pool_hooks {
    void (*on_start)(unsigned, void *) = nullptr;
    void (*on_stop)(unsigned, void *) = nullptr;
    void (*on_cancel)(crew_fn, void *, void *) = nullptr;
    void *ctx = nullptr;

    static void start(unsigned index, void *self)
    {
        auto *h = static_cast<pool_hooks *>(self);
        h->on_start(index, h->ctx);
    }
    static void stop(unsigned index, void *self)
    {
        auto *h = static_cast<pool_hooks *>(self);
        h->on_stop(index, h->ctx);
    }
    static void cancel(crew_fn fn, void *arg, void *self)
    {
        auto *h = static_cast<pool_hooks *>(self);
        if (fn == &group_entry)
            delete static_cast<group_item *>(arg);
        else if (h->on_cancel != nullptr)
            h->on_cancel(fn, arg, h->ctx);
    }
};

template <class T> inline constexpr bool is_index_v =
    std::is_integral_v<T> && !std::is_same_v<std::remove_cv_t<T>, bool>;

} // namespace detail

/* ------------------------------------------------------------------ */
/* future<T>: the result of pool::submit                               */
/* ------------------------------------------------------------------ */

/* Move-only. get() once: it waits, then returns the task's value or
 * rethrows its exception; a second get() throws std::logic_error.
 * Destroying a future that was never read does not wait: the task still
 * runs, its result is dropped when it finishes. */
template <class T> class future {
public:
    future() noexcept = default;
    future(future &&o) noexcept
        : f_(std::exchange(o.f_, nullptr)), s_(std::exchange(o.s_, nullptr))
    {
    }
    future &operator=(future &&o) noexcept
    {
        if (this != &o) {
            drop();
            f_ = std::exchange(o.f_, nullptr);
            s_ = std::exchange(o.s_, nullptr);
        }
        return *this;
    }
    future(const future &) = delete;
    future &operator=(const future &) = delete;
    ~future() { drop(); }

    /* false once read, moved from, or default-constructed. */
    bool valid() const noexcept { return s_ != nullptr; }

    /* Waits (on a worker of the task's pool, runs the task here if it has
     * not started), then returns its value or rethrows its exception.
     * Cancelled: std::system_error ECANCELED. Either way the future is
     * read: valid() turns false. */
    T get()
    {
        check("crew::future::get");
        int rc = crew_future_wait(f_, nullptr);
        if (rc != 0 && rc != ECANCELED)
            detail::throw_errno(rc, "crew::future::get"); /* EDEADLK: its own task; still valid */
        detail::future_state<T> *s = std::exchange(s_, nullptr);
        crew_future_release(std::exchange(f_, nullptr));
        if (rc == ECANCELED) {
            s->unref(2); /* the task never ran and never will */
            detail::throw_errno(ECANCELED, "crew::future::get");
        }
        struct unref_at_exit {
            detail::future_state<T> *s;
            ~unref_at_exit() { s->unref(1); }
        } guard{s};
        return s->out.take();
    }

    /* Waits without reading (get() still returns the value). */
    void wait() const
    {
        check("crew::future::wait");
        int rc = crew_future_wait(f_, nullptr);
        if (rc != 0 && rc != ECANCELED)
            detail::throw_errno(rc, "crew::future::wait");
    }

    /* Waits at most until `deadline` (never running the task inline):
     * true if the task has finished or was cancelled. */
    template <class Clock, class Duration>
    bool wait_until(const std::chrono::time_point<Clock, Duration> &deadline) const
    {
        check("crew::future::wait_until");
        using namespace std::chrono;
        /* In double seconds, so that no deadline (time_point::max()
         * included) overflows; clamped to [now, now + 100 years]. */
        duration<double> left = deadline - Clock::now();
        if (left.count() < 0)
            left = duration<double>(0);
        if (left > hours(24 * 365 * 100))
            left = hours(24 * 365 * 100);
        auto at = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()) +
                  duration_cast<nanoseconds>(left);
        struct timespec abstime;
        abstime.tv_sec = static_cast<time_t>(duration_cast<seconds>(at).count());
        abstime.tv_nsec = static_cast<long>((at - duration_cast<seconds>(at)).count());
        int rc = crew_future_timedwait(f_, &abstime, nullptr);
        if (rc == ETIMEDOUT)
            return false;
        if (rc != 0 && rc != ECANCELED)
            detail::throw_errno(rc, "crew::future::wait_until");
        return true;
    }
    template <class Rep, class Period>
    bool wait_for(const std::chrono::duration<Rep, Period> &timeout) const
    {
        return wait_until(std::chrono::steady_clock::now() + timeout);
    }

    /* true once the task has finished or was cancelled. */
    bool ready() const noexcept { return f_ != nullptr && crew_future_done(f_); }

    /* true if the task will never run (get() then throws ECANCELED);
     * false if it has started or finished. */
    bool cancel()
    {
        check("crew::future::cancel");
        return crew_future_cancel(f_) == 0;
    }

    crew_future *native() const noexcept { return f_; }

private:
    friend class pool;
    future(crew_future *f, detail::future_state<T> *s) noexcept : f_(f), s_(s) {}

    void check(const char *what) const
    {
        if (s_ == nullptr)
            throw std::logic_error(std::string(what) +
                                   ": no result (already read, moved from, or empty)");
    }
    void drop() noexcept
    {
        if (s_ == nullptr)
            return;
        /* A cancelled task never drops its reference: if the future is
         * done, ask (crew_future_wait returns at once). A task cancelled
         * after this point, by a shutdown with cancel_pending, leaves its
         * state behind (docs/cpp.md). */
        int refs = 1;
        if (crew_future_done(f_) && crew_future_wait(f_, nullptr) == ECANCELED)
            refs = 2;
        std::exchange(s_, nullptr)->unref(refs);
        crew_future_release(std::exchange(f_, nullptr));
    }

    crew_future *f_ = nullptr;
    detail::future_state<T> *s_ = nullptr;
};

/* ------------------------------------------------------------------ */
/* pool                                                                */
/* ------------------------------------------------------------------ */

class pool {
public:
    /* One worker per CPU this process may run on. */
    pool() : pool(0u) {}
    explicit pool(unsigned workers)
    {
        crew_config cfg;
        crew_config_default(&cfg);
        cfg.workers = workers;
        create(cfg);
    }
    /* Any configuration (fill it with crew_config_default first). Its
     * hooks get its ctx, as in C. */
    explicit pool(const crew_config &cfg) { create(cfg); }

    pool(pool &&o) noexcept
        : p_(std::exchange(o.p_, nullptr)), hooks_(std::move(o.hooks_))
    {
    }
    pool &operator=(pool &&o) noexcept
    {
        if (this != &o) {
            destroy();
            p_ = std::exchange(o.p_, nullptr);
            hooks_ = std::move(o.hooks_);
        }
        return *this;
    }
    pool(const pool &) = delete;
    pool &operator=(const pool &) = delete;

    /* Runs what was submitted, joins the workers (crew_pool_destroy). Not
     * from one of the pool's own tasks: the library refuses (EDEADLK) and
     * the pool is never freed. */
    ~pool() { destroy(); }

    crew_pool *native() const noexcept { return p_; }
    unsigned workers() const noexcept { return crew_pool_workers(p_); }
    crew_stats stats() const noexcept
    {
        crew_stats s;
        crew_pool_stats(p_, &s);
        return s;
    }

    /* fn() on the pool; its value, or its exception, through the future.
     * fn is moved (or copied) into the task and invoked once, as an
     * rvalue; its captures are destroyed on the worker once it has run. */
    template <class F> auto submit(F &&fn) -> future<std::invoke_result_t<std::decay_t<F>>>
    {
        using T = std::invoke_result_t<std::decay_t<F>>;
        using Task = detail::future_task<T, std::decay_t<F>>;
        auto *t = new Task(std::forward<F>(fn));
        crew_future *f = crew_submit(p_, &detail::future_entry<T, std::decay_t<F>>, t);
        if (f == nullptr) {
            int rc = errno;
            delete t;
            detail::throw_errno(rc, "crew::pool::submit");
        }
        return future<T>(f, t);
    }

    /* fn() as a root task on the pool (crew_run): the caller blocks until
     * it returns, and gets its value or its exception. From one of the
     * pool's own tasks, fn is simply called. */
    template <class F> auto run(F &&fn) -> std::invoke_result_t<F &&>
    {
        using T = std::invoke_result_t<F &&>;
        detail::run_frame<T, F &&> fr{fn, {}};
        int rc = crew_run(p_, &detail::run_entry<T, F &&>, &fr, nullptr);
        if (rc != 0)
            detail::throw_errno(rc, "crew::pool::run");
        return fr.out.take();
    }

    /* crew_pool_shutdown: outside submissions fail ESHUTDOWN from now on;
     * with cancel_pending, those not started never run (their futures
     * throw ECANCELED from get()). Returns when nothing runs. */
    void shutdown(bool cancel_pending = false)
    {
        int rc = crew_pool_shutdown(p_, cancel_pending);
        if (rc != 0)
            detail::throw_errno(rc, "crew::pool::shutdown");
    }

private:
    void create(const crew_config &user)
    {
        hooks_ = std::make_unique<detail::pool_hooks>();
        crew_config cfg = user;
        hooks_->on_start = user.on_worker_start;
        hooks_->on_stop = user.on_worker_stop;
        hooks_->on_cancel = user.on_cancel;
        hooks_->ctx = user.ctx;
        cfg.on_worker_start = user.on_worker_start ? &detail::pool_hooks::start : nullptr;
        cfg.on_worker_stop = user.on_worker_stop ? &detail::pool_hooks::stop : nullptr;
        cfg.on_cancel = &detail::pool_hooks::cancel;
        cfg.ctx = hooks_.get();
        p_ = crew_pool_create(&cfg);
        if (p_ == nullptr)
            detail::throw_errno(errno, "crew::pool");
    }
    void destroy() noexcept
    {
        if (p_ != nullptr && crew_pool_destroy(p_) != 0)
            hooks_.release(); /* EDEADLK: the pool lives on and may call them */
        p_ = nullptr;
    }

    crew_pool *p_ = nullptr;
    std::unique_ptr<detail::pool_hooks> hooks_;
};

/* ------------------------------------------------------------------ */
/* parallel_for                                                        */
/* ------------------------------------------------------------------ */

/* fn(i) for every i in [begin, end), each exactly once, on the pool's
 * workers; returns when all calls have returned. The bounds may be any
 * integer types; i has their common type (so a negative begin works with
 * signed bounds). end < begin: std::system_error EINVAL. grain 0: chunks
 * sized and split adaptively; otherwise no chunk is longer than grain.
 * If a call throws, no chunk starts after that, the chunks running
 * finish, and the first exception is rethrown. fn runs on several
 * workers at once. From inside a task it is a nested loop. */
template <class B, class E, class Fn>
void parallel_for(pool &p, B begin, E end, Fn &&fn, std::size_t grain = 0)
{
    static_assert(detail::is_index_v<B> && detail::is_index_v<E>,
                  "crew::parallel_for: the bounds must be of integer types");
    using I = std::common_type_t<B, E>;
    using U = std::make_unsigned_t<I>;
    const I b = static_cast<I>(begin), e = static_cast<I>(end);
    if (e < b)
        detail::throw_errno(EINVAL, "crew::parallel_for: end < begin");
    const U count = static_cast<U>(static_cast<U>(e) - static_cast<U>(b));
    if constexpr (std::numeric_limits<U>::max() > std::numeric_limits<std::size_t>::max())
        if (count > std::numeric_limits<std::size_t>::max())
            detail::throw_errno(EINVAL, "crew::parallel_for: more indices than a size_t holds");
    using Body = std::remove_reference_t<Fn>;
    detail::loop_frame<I, Body> fr{b, fn, {}};
    int rc = crew_parallel_for(p.native(), 0, static_cast<std::size_t>(count), grain,
                               &detail::loop_entry<I, Body>, &fr);
    fr.err.rethrow_and_clear();
    if (rc != 0)
        detail::throw_errno(rc, "crew::parallel_for");
}

/* ------------------------------------------------------------------ */
/* Fork-join: join and spawn                                           */
/* ------------------------------------------------------------------ */

namespace detail {

/* A result the trampoline can hand back as crew_sync's void *, as C code
 * does (no store and reload through the record on the unstolen path). */
template <class R> constexpr bool fits_in_word()
{
    if constexpr (std::is_void_v<R> || std::is_reference_v<R>)
        return false;
    else
        return std::is_trivially_copyable_v<R> && std::is_trivially_default_constructible_v<R> &&
               sizeof(R) <= sizeof(void *) && alignof(R) <= alignof(void *);
}

/* A spawned child: its record, its callable, and where its outcome goes.
 * crew_spawn gets a trampoline instantiated for F, with the child's
 * address as its argument; the sync is crew_sync_call of the same
 * trampoline, so the unstolen path is a direct call the compiler can
 * inline, exactly as in C. An exception is caught in the trampoline,
 * wherever it runs, and kept for the sync. */
template <class F> struct child {
    using R = std::invoke_result_t<F &>;
    static constexpr bool in_word = fits_in_word<R>();
    struct nothing {};
    using stored = std::conditional_t<std::is_void_v<R> || in_word, nothing, outcome<R>>;

    crew_task task; /* written by crew_spawn, no need to clear it */
    F fn;
    std::exception_ptr error; /* in_word and void results */
    stored out;

    template <class G> explicit child(G &&g) : fn(std::forward<G>(g)) {}

    static void *entry(void *self)
    {
        auto *c = static_cast<child *>(self);
        if constexpr (std::is_void_v<R>) {
            try {
                std::invoke(c->fn);
            } catch (...) {
                c->error = std::current_exception();
            }
            return nullptr;
        } else if constexpr (in_word) {
            try {
                R v = std::invoke(c->fn);
                void *word = nullptr;
                std::memcpy(&word, &v, sizeof v);
                return word;
            } catch (...) {
                c->error = std::current_exception();
                return nullptr;
            }
        } else {
            c->out.capture(c->fn);
            return nullptr;
        }
    }
    void spawn() noexcept { crew_spawn(&task, &entry, this); }
    /* The sync half: never throws; take() then rethrows or returns. */
    void *sync() noexcept { return crew_sync_call(&task, &entry); }
    bool failed() const noexcept
    {
        if constexpr (std::is_void_v<R> || in_word)
            return static_cast<bool>(error);
        else
            return static_cast<bool>(out.error);
    }
    void rethrow()
    {
        if constexpr (std::is_void_v<R> || in_word)
            std::rethrow_exception(error);
        else
            std::rethrow_exception(out.error);
    }
    /* After sync(): the value (from sync's word, or the stored outcome). */
    R take(void *word)
    {
        if constexpr (std::is_void_v<R>) {
            (void)word;
        } else if constexpr (in_word) {
            R v;
            std::memcpy(&v, &word, sizeof v);
            return v;
        } else {
            (void)word;
            return out.take();
        }
    }
};

/* What join returns for a callable: its result, std::monostate for void. */
template <class R> using joined_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

template <class F, class G>
using join_result_t = std::pair<joined_t<std::invoke_result_t<F &>>, joined_t<std::invoke_result_t<G &>>>;

template <class R, class H> joined_t<R> call_joined(H &&h)
{
    if constexpr (std::is_void_v<R>) {
        std::invoke(std::forward<H>(h));
        return std::monostate{};
    } else {
        return std::invoke(std::forward<H>(h));
    }
}

/* Out of line on purpose: the exception handling lives in this frame, not
 * in the caller's, so a recursive caller such as fib keeps its base case
 * free of a prologue (GCC and Clang do not shrink-wrap a function that
 * has cleanups), and the compiler may inline the caller into this. */
template <class F, class G>
[[gnu::noinline]] join_result_t<F, G> join_frame(F f, G g)
{
    using RF = std::invoke_result_t<F &>;
    using RG = std::invoke_result_t<G &>;
    child<F> c(std::move(f));
    c.spawn();
    std::optional<joined_t<RG>> b;
    try {
        b.emplace(call_joined<RG>(g));
    } catch (...) {
        c.sync(); /* f must be done before this frame goes; g's exception wins */
        throw;
    }
    void *word = c.sync();
    if (c.failed())
        c.rethrow();
    if constexpr (std::is_void_v<RF>) {
        return {std::monostate{}, std::move(*b)};
    } else {
        return {c.take(word), std::move(*b)};
    }
}

} // namespace detail

/* Runs f() and g() in parallel, the way C code spawns one half and calls
 * the other: f is spawned (an idle worker may steal it), g runs here,
 * then f is synced (run here if nobody stole it). Returns both results
 * as a pair (std::monostate for a void one). If either throws, the other
 * still runs to its end; then the exception is rethrown (g's, if both
 * threw). The
 * cost is the C fast path's (crew_spawn + crew_sync_call). Outside a
 * worker both run here, g first (the serial elision). The callables are
 * moved (or copied) into join: capture by reference what should not be
 * copied. */
template <class F, class G> detail::join_result_t<std::decay_t<F>, std::decay_t<G>> join(F &&f, G &&g)
{
    return detail::join_frame<std::decay_t<F>, std::decay_t<G>>(std::forward<F>(f),
                                                                 std::forward<G>(g));
}

/* A spawned child task as an object, for what join does not express (a
 * variable number of children, work between spawn and sync). Lives on
 * the spawning task's stack and neither moves nor copies (its record may
 * be on a thief's deque); `auto t = crew::spawn(fn);` makes one. sync()
 * once, in reverse spawn order (as crew_sync); if it is destroyed
 * unsynced (an exception unwinding past it, say), its destructor syncs,
 * dropping the result and any exception. That destructor is the price:
 * the spawning function gets exception cleanups, which on empty tasks
 * (fib) costs more than join does; docs/cpp.md has the figures. */
template <class F> class spawned {
public:
    using result_type = std::invoke_result_t<F &>;

    template <class G, class = std::enable_if_t<std::is_constructible_v<F, G &&>>>
    explicit spawned(G &&fn) : c_(std::forward<G>(fn))
    {
        c_.spawn();
    }
    spawned(const spawned &) = delete;
    spawned &operator=(const spawned &) = delete;
    ~spawned()
    {
        if (!synced_)
            c_.sync();
    }

    /* The child's value, or its exception rethrown. Runs the child here
     * if nobody stole it; otherwise helps the thief, then sleeps. A
     * second call throws std::logic_error. */
    result_type sync()
    {
        if (synced_)
            throw std::logic_error("crew::spawned::sync: already synced");
        synced_ = true;
        void *word = c_.sync();
        if (c_.failed())
            c_.rethrow();
        return c_.take(word);
    }

private:
    detail::child<F> c_;
    bool synced_ = false;
};

template <class G> spawned(G &&) -> spawned<std::decay_t<G>>;

/* Spawns fn() (see spawned): `auto t = crew::spawn([&] { ... });` */
template <class F> spawned<std::decay_t<F>> spawn(F &&fn)
{
    return spawned<std::decay_t<F>>(std::forward<F>(fn));
}

/* ------------------------------------------------------------------ */
/* group: wait for many tasks without a future each                    */
/* ------------------------------------------------------------------ */

class group {
public:
    explicit group(pool &p) : err_(std::make_unique<detail::first_error>())
    {
        g_ = crew_group_create(p.native());
        if (g_ == nullptr)
            detail::throw_errno(errno, "crew::group");
    }
    group(group &&o) noexcept : g_(std::exchange(o.g_, nullptr)), err_(std::move(o.err_)) {}
    group &operator=(group &&o) noexcept
    {
        if (this != &o) {
            crew_group_destroy(g_);
            g_ = std::exchange(o.g_, nullptr);
            err_ = std::move(o.err_);
        }
        return *this;
    }
    group(const group &) = delete;
    group &operator=(const group &) = delete;
    /* Waits for the tasks posted so far (an exception not collected by a
     * wait() is dropped), then frees the group. */
    ~group() { crew_group_destroy(g_); }

    /* fn() on the group's pool. */
    template <class F> void post(F &&fn)
    {
        auto *item = new detail::group_task<std::decay_t<F>>(err_.get(), std::forward<F>(fn));
        int rc = crew_group_post(g_, &detail::group_entry, item);
        if (rc != 0) {
            delete item;
            detail::throw_errno(rc, "crew::group::post");
        }
    }

    /* Until every task posted so far has run; then rethrows the first
     * exception one of them threw since the last wait (to one waiter, if
     * several wait at once). On a worker of the pool it runs the group's
     * unstarted tasks itself. Never from a task of the same group
     * (deadlock, as in C). */
    void wait()
    {
        int rc = crew_group_wait(g_);
        if (rc != 0)
            detail::throw_errno(rc, "crew::group::wait"); /* EINVAL: moved from */
        err_->rethrow_and_clear();
    }

    crew_group *native() const noexcept { return g_; }

private:
    crew_group *g_ = nullptr;
    std::unique_ptr<detail::first_error> err_; /* the tasks' pointer to it stays valid on a move */
};

/* ------------------------------------------------------------------ */
/* graph: tasks and "runs before" edges, run as a whole                */
/* ------------------------------------------------------------------ */

class graph {
public:
    /* A node: a handle into its graph, valid while the graph lives. */
    class node {
    public:
        node() noexcept = default;
        crew_node *native() const noexcept { return n_; }

    private:
        friend class graph;
        explicit node(crew_node *n) noexcept : n_(n) {}
        crew_node *n_ = nullptr;
    };

    graph() : state_(std::make_unique<state>())
    {
        state_->g = crew_graph_create();
        if (state_->g == nullptr)
            detail::throw_errno(errno, "crew::graph");
    }
    graph(graph &&) noexcept = default;
    graph &operator=(graph &&) noexcept = default;
    graph(const graph &) = delete;
    graph &operator=(const graph &) = delete;
    /* Not while it runs (as crew_graph_destroy). */
    ~graph() = default;

    /* A node that calls fn() once per run (its value, if any, is
     * dropped). */
    template <class F> node add(F &&fn)
    {
        state &st = live();
        auto t = std::make_unique<node_task<std::decay_t<F>>>(&st, std::forward<F>(fn));
        if (st.tasks.size() == st.tasks.capacity()) /* so that push_back below cannot fail */
            st.tasks.reserve(st.tasks.empty() ? 8 : 2 * st.tasks.size());
        crew_node *n = crew_graph_add(st.g, &node_task<std::decay_t<F>>::entry, t.get());
        if (n == nullptr)
            detail::throw_errno(errno, "crew::graph::add");
        st.tasks.push_back(std::move(t));
        return node(n);
    }

    /* `before` returns before `after` starts. */
    void precede(node before, node after)
    {
        int rc = crew_graph_precede(before.n_, after.n_);
        if (rc != 0)
            detail::throw_errno(rc, "crew::graph::precede");
    }

    /* Runs every node once, none before its predecessors have returned;
     * blocks. If a node throws, the nodes that have not started yet are
     * skipped, and the first exception is rethrown once the run is over.
     * A cycle: std::system_error ELOOP, nothing runs. */
    void run(pool &p)
    {
        state &st = live();
        int rc = crew_graph_run(p.native(), st.g);
        if (rc != 0)
            detail::throw_errno(rc, "crew::graph::run");
        st.err.rethrow_and_clear();
    }

    crew_graph *native() const noexcept { return state_ ? state_->g : nullptr; }

private:
    struct task_base {
        virtual ~task_base() = default;
    };
    struct state {
        crew_graph *g = nullptr;
        std::vector<std::unique_ptr<task_base>> tasks;
        detail::first_error err;
        ~state() { crew_graph_destroy(g); }
    };
    template <class F> struct node_task final : task_base {
        state *owner;
        F fn;

        template <class G> node_task(state *s, G &&g) : owner(s), fn(std::forward<G>(g)) {}
        static void *entry(void *self)
        {
            auto *t = static_cast<node_task *>(self);
            /* Relaxed: a skip is only an optimization of a failed run. */
            if (t->owner->err.failed.load(std::memory_order_relaxed))
                return nullptr;
            try {
                std::invoke(t->fn);
            } catch (...) {
                t->owner->err.offer(std::current_exception());
            }
            return nullptr;
        }
    };

    state &live() const
    {
        if (state_ == nullptr)
            detail::throw_errno(EINVAL, "crew::graph: moved from");
        return *state_;
    }

    std::unique_ptr<state> state_;
};

} // namespace crew

#endif /* CREW_HPP */
