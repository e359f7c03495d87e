/*
 * Data parallelism on top of spawn/sync: crew_parallel_for (lazy binary
 * splitting), crew_parallel_reduce (a split tree fixed by the grain, so
 * deterministic), crew_parallel_map. docs/loops.md is the design.
 *
 * Lazy splitting (after Tzannes, Caragea, Barua, Vishkin, PPoPP 2010): a
 * task works through its range chunk by chunk and splits off the right half
 * of what is left only when a thief wants work. The signal is the worker's
 * own `limit` word, which a thief that found its public deque empty, or a
 * worker going to sleep, sets to 0 (and which is 0 while nothing of the
 * worker is published, so a loop's first split happens at once); the spawn
 * of the right half then takes the slow path that publishes it and wakes a
 * sleeper. A loop nobody wants to share costs one relaxed load per chunk.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

/* A frame splits at most this often; each split halves what is left, so
 * 48 splits cover any range of chunks. */
#define MAX_SPLITS 48

/* Adaptive chunk (grain 0): enough chunks per worker that a late thief
 * still finds work, few enough that the per-chunk check is noise. */
#define CHUNKS_PER_WORKER 16
#define MAX_AUTO_CHUNK 1024

typedef struct loop_ctx {
    crew_range_fn fn;
    void *arg;
    size_t chunk;
    _Atomic int stop; /* set by the first call that returned non-zero */
    _Atomic int rc;   /* that call's value */
    const char *label; /* the trace's label for the pieces */
} loop_ctx;

typedef struct loop_range {
    loop_ctx *ctx;
    size_t begin, end;
} loop_range;

static int thief_waiting(void)
{
    return crew_work_wanted(crew_current_worker_);
}

static void loop_stop(loop_ctx *c, int rc)
{
    int zero = 0;
    atomic_compare_exchange_strong_explicit(&c->rc, &zero, rc, memory_order_relaxed,
                                            memory_order_relaxed);
    /* Release: a task that sees stop (acquire) starts no new chunk. */
    atomic_store_explicit(&c->stop, 1, memory_order_release);
}

/* A traced pool records each piece a loop task runs: one test per loop
 * task when the pool does not trace. */
static crew_worker *tracing_worker(void)
{
    crew_worker *w = crew_self();
    return w != NULL && w->pool->trace_path != NULL ? w : NULL;
}

static int run_piece(crew_worker *traced, loop_ctx *c, size_t b, size_t e)
{
    crew_trace_event *ev = traced != NULL ? crew_trace(traced, CREW_TRACE_PIECE) : NULL;
    int rc = c->fn(b, e, c->arg);
    if (ev != NULL) {
        ev->what = *(const void **)&c->fn;
        ev->label = c->label;
        ev->begin = b;
        ev->end = e;
        ev->end_ns = crew_trace_now_ns();
    }
    return rc;
}

static void *loop_task(void *a)
{
    loop_range *r = a;
    loop_ctx *c = r->ctx;
    size_t b = r->begin, e = r->end;
    crew_task tasks[MAX_SPLITS];
    loop_range kids[MAX_SPLITS];
    int nk = 0;
    crew_worker *traced = tracing_worker();
    while (b < e && !atomic_load_explicit(&c->stop, memory_order_acquire)) {
        size_t n = e - b;
        if (n > c->chunk && nk < MAX_SPLITS && thief_waiting()) {
            size_t mid = b + n / 2;
            kids[nk] = (loop_range){c, mid, e};
            crew_spawn(&tasks[nk], loop_task, &kids[nk]);
            nk++;
            e = mid;
            continue;
        }
        size_t step = n < c->chunk ? n : c->chunk;
        int rc = run_piece(traced, c, b, b + step);
        if (rc != 0) {
            loop_stop(c, rc);
            break;
        }
        b += step;
    }
    while (nk > 0)
        crew_sync(&tasks[--nk]);
    return NULL;
}

static size_t auto_chunk(crew_pool *pool, size_t n)
{
    size_t parts = (size_t)crew_pool_workers(pool) * CHUNKS_PER_WORKER;
    size_t chunk = n / (parts == 0 ? 1 : parts);
    if (chunk < 1)
        chunk = 1;
    return chunk > MAX_AUTO_CHUNK ? MAX_AUTO_CHUNK : chunk;
}

int crew_parallel_for(crew_pool *pool, size_t begin, size_t end, size_t grain,
                      crew_range_fn fn, void *arg)
{
    if (pool == NULL || fn == NULL || begin > end)
        return EINVAL;
    if (begin == end)
        return 0;
    loop_ctx c = {.fn = fn, .arg = arg, .label = crew_trace_current_label()};
    c.chunk = grain != 0 ? grain : auto_chunk(pool, end - begin);
    atomic_init(&c.stop, 0);
    atomic_init(&c.rc, 0);
    loop_range root = {&c, begin, end};
    int rc = crew_run(pool, loop_task, &root, NULL);
    if (rc != 0)
        return rc;
    return atomic_load_explicit(&c.rc, memory_order_relaxed);
}

/* ---- reduce ---- */

typedef struct reduce_ctx {
    size_t grain, value_size;
    const void *identity;
    crew_reduce_range_fn range;
    crew_reduce_combine_fn combine;
    void *arg;
} reduce_ctx;

typedef struct reduce_node {
    const reduce_ctx *ctx;
    size_t begin, end;
    void *acc; /* value_size bytes, starts as identity */
} reduce_node;

/* The split point depends only on (begin, end, grain): the left part gets
 * half of the grain-sized pieces, rounded up. So the tree, and the order in
 * which partial results are combined, is the same on every run. */
static void *reduce_task(void *a)
{
    reduce_node *r = a;
    const reduce_ctx *c = r->ctx;
    size_t n = r->end - r->begin;
    if (n <= c->grain) {
        c->range(r->begin, r->end, r->acc, c->arg);
        return NULL;
    }
    size_t pieces = (n + c->grain - 1) / c->grain;
    size_t mid = r->begin + (pieces + 1) / 2 * c->grain;
    _Alignas(max_align_t) unsigned char right_acc[CREW_REDUCE_MAX_VALUE];
    memcpy(right_acc, c->identity, c->value_size);
    reduce_node right = {c, mid, r->end, right_acc};
    reduce_node left = {c, r->begin, mid, r->acc};
    crew_task t;
    crew_spawn(&t, reduce_task, &right);
    reduce_task(&left);
    crew_sync(&t);
    c->combine(r->acc, right_acc, c->arg);
    return NULL;
}

int crew_parallel_reduce(crew_pool *pool, size_t begin, size_t end, size_t grain,
                         size_t value_size, const void *identity,
                         crew_reduce_range_fn range, crew_reduce_combine_fn combine,
                         void *arg, void *result)
{
    if (pool == NULL || range == NULL || combine == NULL || identity == NULL ||
        result == NULL || value_size == 0 || value_size > CREW_REDUCE_MAX_VALUE ||
        begin > end)
        return EINVAL;
    /* grain 0: a fixed number of leaves per worker (the tree is then fixed
     * for a given pool size and range, though docs/api.md only promises that
     * for an explicit grain). */
    reduce_ctx c = {grain != 0 ? grain : auto_chunk(pool, end - begin), value_size,
                    identity, range, combine, arg};
    _Alignas(max_align_t) unsigned char acc[CREW_REDUCE_MAX_VALUE];
    memcpy(acc, identity, value_size);
    if (begin < end) {
        reduce_node root = {&c, begin, end, acc};
        int rc = crew_run(pool, reduce_task, &root, NULL);
        if (rc != 0)
            return rc;
    }
    memcpy(result, acc, value_size);
    return 0;
}

/* ---- map ---- */

typedef struct map_ctx {
    const unsigned char *in;
    unsigned char *out;
    size_t in_size, out_size;
    crew_map_fn fn;
    void *arg;
} map_ctx;

static int map_range(size_t begin, size_t end, void *a)
{
    const map_ctx *m = a;
    for (size_t i = begin; i < end; i++)
        m->fn(m->in + i * m->in_size, m->out + i * m->out_size, m->arg);
    return 0;
}

int crew_parallel_map(crew_pool *pool, const void *in, size_t in_size, void *out,
                      size_t out_size, size_t count, size_t grain, crew_map_fn fn,
                      void *arg)
{
    if (pool == NULL || fn == NULL || (count != 0 && (in == NULL || out == NULL)))
        return EINVAL;
    if (count != 0 && ((in_size != 0 && count > SIZE_MAX / in_size) ||
                       (out_size != 0 && count > SIZE_MAX / out_size)))
        return EINVAL;
    map_ctx m = {in, out, in_size, out_size, fn, arg};
    return crew_parallel_for(pool, 0, count, grain, map_range, &m);
}
