/* Loops, the object pool and graphs for the fuzzer (fuzz_internal.h),
 * from a caller or from inside a task: each call checked against what
 * the sequential version would do. */
#include "fuzz_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- loops ---- */

typedef struct fz_visit {
    _Atomic unsigned char *seen;
    size_t base;
    size_t grain;
    _Atomic int too_long;
    int stop_at; /* -1: never stop */
} fz_visit;

static int fz_mark(size_t b, size_t e, void *arg)
{
    fz_visit *v = arg;
    if (v->grain != 0 && e - b > v->grain)
        atomic_store(&v->too_long, 1);
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&v->seen[i - v->base], 1, memory_order_relaxed);
    if (v->stop_at >= 0 && (size_t)v->stop_at >= b && (size_t)v->stop_at < e)
        return -5;
    return 0;
}

/* combine(acc of [a, m), right of [m, e)): acc * 31^(e - m) + right. The
 * length of the right part travels in the value's second word. */
typedef struct fz_fold {
    uint64_t h, len;
} fz_fold;

static void fz_fold_range(size_t b, size_t e, void *acc, void *arg)
{
    (void)arg;
    fz_fold *f = acc;
    for (size_t i = b; i < e; i++)
        f->h = f->h * 31 + i;
    f->len += e - b;
}

static void fz_fold_combine(void *acc, const void *right, void *arg)
{
    (void)arg;
    fz_fold *a = acc;
    const fz_fold *r = right;
    uint64_t p = 1;
    for (uint64_t k = 0; k < r->len; k++)
        p *= 31;
    a->h = a->h * p + r->h;
    a->len += r->len;
}

static void fz_square(const void *in, void *out, void *arg)
{
    (void)arg;
    long x = *(const int *)in;
    *(long *)out = x * x + 1;
}

/* A loop of each kind on n indices, checked against the sequential one. */
void fz_loops_once(uint64_t *rng, int inside)
{
    static const size_t grains[] = {0, 1, 7, 64, 1000};
    size_t n = fz_rnd(rng, 4) == 0 ? fz_rnd(rng, 20000) : fz_rnd(rng, 2000);
    size_t grain = grains[fz_rnd(rng, 5)];
    if (grain == 1 && n > 3000)
        n = 3000;
    size_t base = fz_rnd(rng, 100);
    int kind = (int)fz_rnd(rng, 4);
    int rc;
    if (kind == 0 || kind == 3) {
        fz_visit v = {.base = base, .grain = grain, .stop_at = -1};
        if (kind == 3 && n > 0)
            v.stop_at = (int)(base + fz_rnd(rng, (unsigned)n));
        v.seen = calloc(n + 1, 1);
        if (v.seen == NULL)
            return;
        atomic_init(&v.too_long, 0);
        rc = crew_parallel_for(fz->pool, base, base + n, grain, fz_mark, &v);
        if (rc == ESHUTDOWN && !inside && fz_ending()) {
            free(v.seen);
            return;
        }
        if (v.stop_at < 0) {
            FZ_CHECK(rc == 0, "crew_parallel_for returned %d", rc);
            long bad = 0;
            for (size_t i = 0; i < n; i++)
                bad += atomic_load(&v.seen[i]) != 1;
            FZ_CHECK(bad == 0, "crew_parallel_for(n %zu, grain %zu): %ld indices not once", n,
                     grain, bad);
        } else {
            FZ_CHECK(rc == -5, "a stopped crew_parallel_for returned %d", rc);
            long bad = 0;
            for (size_t i = 0; i < n; i++)
                bad += atomic_load(&v.seen[i]) > 1;
            FZ_CHECK(bad == 0, "a stopped crew_parallel_for: %ld indices twice", bad);
            FZ_CHECK(atomic_load(&v.seen[v.stop_at - base]) == 1,
                     "the stopping index was not visited once");
        }
        FZ_CHECK(!atomic_load(&v.too_long), "a subrange longer than grain %zu", grain);
        free(v.seen);
    } else if (kind == 1) {
        fz_fold id = {0, 0}, got = {1, 1}, want = id;
        fz_fold_range(base, base + n, &want, NULL);
        rc = crew_parallel_reduce(fz->pool, base, base + n, grain, sizeof(fz_fold), &id,
                                  fz_fold_range, fz_fold_combine, NULL, &got);
        if (rc == ESHUTDOWN && !inside && fz_ending())
            return;
        FZ_CHECK(rc == 0, "crew_parallel_reduce returned %d", rc);
        FZ_CHECK(got.h == want.h && got.len == want.len,
                 "crew_parallel_reduce(n %zu, grain %zu): wrong fold", n, grain);
    } else {
        int *in = malloc((n + 1) * sizeof *in);
        long *out = malloc((n + 1) * sizeof *out);
        if (in == NULL || out == NULL) {
            free(in);
            free(out);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            in[i] = (int)(i * 2654435761u % 20011) - 10000;
            out[i] = -1;
        }
        rc = crew_parallel_map(fz->pool, in, sizeof *in, out, sizeof *out, n, grain, fz_square,
                               NULL);
        if (!(rc == ESHUTDOWN && !inside && fz_ending())) {
            FZ_CHECK(rc == 0, "crew_parallel_map returned %d", rc);
            long bad = 0;
            for (size_t i = 0; i < n; i++)
                bad += out[i] != (long)in[i] * in[i] + 1;
            FZ_CHECK(bad == 0, "crew_parallel_map(n %zu, grain %zu): %ld wrong", n, grain, bad);
        }
        free(in);
        free(out);
    }
}

/* ---- the object pool ---- */

int fz_obj_init(void *obj, void *ctx)
{
    (void)ctx;
    fz_obj *o = obj;
    o->magic = FZ_MAGIC;
    atomic_init(&o->holder, 0);
    atomic_fetch_add(&fz->obj_inits, 1);
    return 0;
}

void fz_obj_reset(void *obj, void *ctx)
{
    (void)ctx;
    FZ_CHECK(((fz_obj *)obj)->magic == FZ_MAGIC, "reset: not an object init built");
}

void fz_obj_fini(void *obj, void *ctx)
{
    (void)ctx;
    fz_obj *o = obj;
    FZ_CHECK(o->magic == FZ_MAGIC, "fini: not an object init built");
    FZ_CHECK(atomic_load(&o->holder) == 0, "fini of an object still held");
    o->magic = 0;
    atomic_fetch_add(&fz->obj_finis, 1);
}

/* Acquires some objects, checks nobody else holds them, releases them
 * (sometimes in another order). */
void fz_objpool_once(uint64_t *rng, long token)
{
    fz_obj *held[FZ_OBJS];
    unsigned n = 1 + fz_rnd(rng, FZ_OBJS);
    for (unsigned i = 0; i < n; i++) {
        errno = 0;
        held[i] = crew_objpool_acquire(fz->objs);
        FZ_CHECK(held[i] != NULL, "crew_objpool_acquire: errno %d", errno);
        if (held[i] == NULL) {
            n = i;
            break;
        }
        FZ_CHECK(held[i]->magic == FZ_MAGIC, "acquired an object init never built");
        long prev = 0;
        FZ_CHECK(atomic_compare_exchange_strong(&held[i]->holder, &prev, token),
                 "an object handed out while %ld holds it", prev);
        memset(held[i]->payload, (int)(token & 0xff), sizeof held[i]->payload);
    }
    int backwards = (int)fz_rnd(rng, 2);
    for (unsigned j = 0; j < n; j++) {
        unsigned i = backwards ? n - 1 - j : j;
        FZ_CHECK(held[i]->payload[0] == (char)(token & 0xff), "an object changed while held");
        long mine = token;
        FZ_CHECK(atomic_compare_exchange_strong(&held[i]->holder, &mine, 0),
                 "an object we held changed holder to %ld", mine);
        crew_objpool_release(fz->objs, held[i]);
        held[i] = NULL;
    }
}

/* ---- graphs ---- */

static void *fz_own_node(void *arg)
{
    fz_onode *a = arg;
    fz_own *o = a->own;
    uint64_t preds = o->preds[a->idx];
    for (int u = 0; u < o->n; u++)
        if (preds >> u & 1)
            FZ_CHECK(atomic_load(&o->stamp[u]) == o->epoch,
                     "own graph: node %d started before its predecessor %d returned", a->idx,
                     u);
    atomic_store(&o->stamp[a->idx], o->epoch);
    atomic_fetch_add(&o->runs[a->idx], 1);
    return IP(a->idx + 1);
}

/* Whether the mirror's edges contain a cycle (Kahn on 64-bit sets). */
static int fz_own_has_cycle(const fz_own *o)
{
    uint64_t done = 0, all = o->n == 64 ? ~0ull : ((1ull << o->n) - 1);
    for (;;) {
        uint64_t ready = 0;
        for (int v = 0; v < o->n; v++)
            if (!(done >> v & 1) && (o->preds[v] & ~done) == 0)
                ready |= 1ull << v;
        if (ready == 0)
            return done != all;
        done |= ready;
    }
}

void fz_own_reset(fz_own *o)
{
    crew_graph_destroy(o->g);
    memset(o->nodes, 0, sizeof o->nodes);
    memset(o->preds, 0, sizeof o->preds);
    o->n = 0;
    o->cyclic = 0;
    errno = 0;
    o->g = crew_graph_create();
    FZ_CHECK(o->g != NULL, "crew_graph_create: errno %d", errno);
}

void fz_own_run(fz_own *o, int nested)
{
    if (o->g == NULL)
        return;
    o->epoch++;
    for (int i = 0; i < o->n; i++)
        atomic_store(&o->runs[i], 0);
    int rc = crew_graph_run(fz->pool, o->g);
    if (rc == ESHUTDOWN && !nested && fz_ending())
        return;
    if (o->cyclic) {
        FZ_CHECK(rc == ELOOP, "a graph with a cycle: run returned %d", rc);
    } else {
        FZ_CHECK(rc == 0, "crew_graph_run returned %d", rc);
        atomic_fetch_add(&fz->n_graph_runs, 1);
    }
    for (int i = 0; i < o->n; i++) {
        int r = atomic_load(&o->runs[i]);
        FZ_CHECK(r == (rc == 0 ? 1 : 0), "graph run %d: node %d ran %d times", rc, i, r);
        if (rc == 0)
            FZ_CHECK(crew_node_result(o->nodes[i]) == IP(i + 1), "node %d: wrong result", i);
    }
}

void fz_own_graph_op(fz_own *o, uint64_t *rng)
{
    if (o->g == NULL || o->cyclic || fz_rnd(rng, 50) == 0)
        fz_own_reset(o);
    if (o->g == NULL)
        return;
    unsigned edits = fz_rnd(rng, 8);
    for (unsigned k = 0; k < edits; k++) {
        if ((o->n < 2 || fz_rnd(rng, 3) == 0) && o->n < FZ_OWN_NODES) {
            int i = o->n;
            o->args[i].own = o;
            o->args[i].idx = i;
            errno = 0;
            o->nodes[i] = crew_graph_add(o->g, fz_own_node, &o->args[i]);
            FZ_CHECK(o->nodes[i] != NULL, "crew_graph_add: errno %d", errno);
            if (o->nodes[i] == NULL)
                return;
            atomic_store(&o->stamp[i], 0);
            o->n++;
        } else if (o->n >= 2) {
            int u = (int)fz_rnd(rng, (unsigned)o->n), v = (int)fz_rnd(rng, (unsigned)o->n);
            if (u == v) {
                FZ_CHECK(crew_graph_precede(o->nodes[u], o->nodes[u]) == EINVAL,
                         "a node preceding itself is not EINVAL");
                continue;
            }
            /* Mostly forward edges; one in 40 backward (maybe a cycle). */
            if (u > v && fz_rnd(rng, 40) != 0) {
                int t = u;
                u = v;
                v = t;
            }
            int rc = crew_graph_precede(o->nodes[u], o->nodes[v]);
            FZ_CHECK(rc == 0, "crew_graph_precede returned %d", rc);
            if (rc == 0)
                o->preds[v] |= 1ull << u;
        }
    }
    o->cyclic = fz_own_has_cycle(o);
    unsigned runs = 1 + fz_rnd(rng, 2);
    for (unsigned r = 0; r < runs; r++)
        fz_own_run(o, 0);
}

/* The shared graph: every caller runs and edits it at once. Node v checks
 * that each predecessor u (always older) has run more often than v had
 * before this run: u ran in this run, v in at most every run since it
 * was added after u. */
static void *fz_shared_node(void *arg)
{
    long v = PI(arg);
    long mine = atomic_load(&fz->sruns[v]);
    uint64_t preds = atomic_load(&fz->spreds[v]);
    for (int u = 0; u < FZ_SHARED_NODES; u++)
        if (preds >> u & 1)
            FZ_CHECK(atomic_load(&fz->sruns[u]) > mine,
                     "shared graph: node %ld started before its predecessor %d returned", v, u);
    atomic_fetch_add(&fz->sruns[v], 1);
    return IP(v + 1000);
}

void fz_shared_graph_op(uint64_t *rng, int nested)
{
    unsigned what = fz_rnd(rng, 4);
    if (what == 0) {
        /* Add a node, with an edge from an older one. The mirror lock
         * makes "crew accepted the node" and "the mirror has it" one step
         * for other editors; runs never take it. */
        pthread_mutex_lock(&fz->shared_edit);
        int n = atomic_load(&fz->sn);
        if (n < FZ_SHARED_NODES) {
            errno = 0;
            crew_node *x = crew_graph_add(fz->shared, fz_shared_node, IP(n));
            if (x == NULL) {
                FZ_CHECK(errno == EINVAL, "crew_graph_add on the shared graph: errno %d", errno);
            } else {
                fz->snodes[n] = x;
                if (!atomic_load(&fz->shared_ran_once))
                    atomic_fetch_add(&fz->shared_initial, 1);
                atomic_store(&fz->sn, n + 1);
                if (n > 0) {
                    int u = (int)fz_rnd(rng, (unsigned)n);
                    int rc = crew_graph_precede(fz->snodes[u], x);
                    FZ_CHECK(rc == 0 || rc == EBUSY, "shared precede returned %d", rc);
                    if (rc == 0)
                        atomic_fetch_or(&fz->spreds[n], 1ull << u);
                    else
                        atomic_fetch_add(&fz->n_ebusy, 1);
                }
            }
        }
        pthread_mutex_unlock(&fz->shared_edit);
        return;
    }
    if (what == 1) {
        /* A duplicate of an existing edge: 0 (counts once) or EBUSY. */
        pthread_mutex_lock(&fz->shared_edit);
        int n = atomic_load(&fz->sn);
        for (int v = 1; v < n; v++)
            if (atomic_load(&fz->spreds[v]) != 0) {
                int u = __builtin_ctzll(atomic_load(&fz->spreds[v]));
                int rc = crew_graph_precede(fz->snodes[u], fz->snodes[v]);
                FZ_CHECK(rc == 0 || rc == EBUSY, "a duplicate shared edge: %d", rc);
                break;
            }
        pthread_mutex_unlock(&fz->shared_edit);
        return;
    }
    atomic_store(&fz->shared_ran_once, 1);
    int rc = crew_graph_run(fz->pool, fz->shared);
    if (rc == ESHUTDOWN && !nested && fz_ending())
        return;
    FZ_CHECK(rc == 0 || rc == EBUSY, "crew_graph_run of the shared graph returned %d", rc);
    if (rc == 0)
        atomic_fetch_add(&fz->shared_runs_ok, 1);
    else
        atomic_fetch_add(&fz->n_ebusy, 1);
}

