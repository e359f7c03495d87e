/* Suite `faults`: failure reports, task ids, the scenario's tasks, and
 * its loop and object-pool helpers (scenario.h). */
#include "faults/scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

fx *fx_cur;

/* ---- failure reports (any thread) ---- */

void fx_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fx *f = fx_cur;
    if (atomic_fetch_add(&f->failures, 1) != 0)
        return;
    char detail[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&f->msg_lock);
    snprintf(f->first_failure, sizeof f->first_failure,
             "%s:%d: %s: %s [%s, %u workers, phase %s]", file, line, cond, detail,
             f->point < 0 ? "no fault" : "fault armed", f->workers,
             atomic_load_explicit(&f->phase, memory_order_relaxed));
    pthread_mutex_unlock(&f->msg_lock);
}

void fx_phase(fx *f, const char *p)
{
    atomic_store_explicit(&f->phase, p, memory_order_relaxed);
}

/* Out of memory is a documented outcome only when a fault is armed. */
int fx_nomem_ok(void)
{
    return fx_cur->point >= 0 && !fx_cur->threads;
}

/* What a failed crew_pool_create may say at this point. */
int fx_create_errno_ok(int err)
{
    return fx_cur->point >= 0 && err == (fx_cur->threads ? EAGAIN : ENOMEM);
}

/* Which calls gave their documented error during a sweep, and how often:
 * printed at its end, so that a sweep that stopped reaching a call shows. */
enum { FX_SEEN_MAX = 48 };
static struct {
    const char *what;
    long n;
} fx_seen[FX_SEEN_MAX];
static pthread_mutex_t fx_seen_lock = PTHREAD_MUTEX_INITIALIZER;

void fx_saw(const char *what)
{
    pthread_mutex_lock(&fx_seen_lock);
    int i = 0;
    while (i < FX_SEEN_MAX && fx_seen[i].what != NULL && strcmp(fx_seen[i].what, what) != 0)
        i++;
    if (i < FX_SEEN_MAX) {
        fx_seen[i].what = what;
        fx_seen[i].n++;
    }
    pthread_mutex_unlock(&fx_seen_lock);
}

void fx_seen_print(const char *kind)
{
    fprintf(stderr, "faults: calls that gave %s:", kind);
    for (int i = 0; i < FX_SEEN_MAX && fx_seen[i].what != NULL; i++) {
        fprintf(stderr, "%s %s (%ld)", i ? "," : "", fx_seen[i].what, fx_seen[i].n);
        fx_seen[i].what = NULL;
        fx_seen[i].n = 0;
    }
    fputc('\n', stderr);
}

long fx_new_id(void)
{
    long id = atomic_fetch_add(&fx_cur->next_id, 1);
    if (id >= FX_MAX_TASKS) {
        fx_fail(__FILE__, __LINE__, "id < FX_MAX_TASKS", "the scenario made too many tasks");
        return FX_MAX_TASKS - 1;
    }
    return id;
}

/* Marks task `id` accepted, remembering the line that accepted it. */
void fx_accept_at(long id, int line)
{
    atomic_store(&fx_cur->accepted[id], line);
}

void fx_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

double fx_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- tasks ---- */

void *fx_leaf(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&fx_cur->runs[id], 1);
    return IP(id * 7 + 3);
}

/* Holds a worker until the gate opens (the first on_cancel opens it), so
 * that what is posted behind it is still queued when shutdown cancels. */
void *fx_gate(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&fx_cur->runs[id], 1);
    atomic_fetch_add(&fx_cur->gate_started, 1);
    double t0 = fx_now_s();
    while (!atomic_load(&fx_cur->gate_open) && fx_now_s() - t0 < 5)
        fx_sleep_us(100);
    FX_CHECK(atomic_load(&fx_cur->gate_open), "a gate task waited 5 s for its gate");
    return NULL;
}

/* A group task that posts two children into its own group (from inside the
 * pool: no queue limit, accepted even during shutdown). */
void *fx_group_parent(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&fx_cur->runs[id], 1);
    for (int k = 0; k < 2; k++) {
        long c = fx_new_id();
        int rc = crew_group_post(fx_cur->group, fx_leaf, IP(c));
        FX_RC(rc, "crew_group_post from a group task");
        if (rc == 0)
            fx_accept(c);
    }
    return NULL;
}

void fx_on_cancel(crew_fn fn, void *arg, void *ctx)
{
    fx *f = ctx;
    FX_CHECK(f == fx_cur, "on_cancel got the wrong ctx");
    FX_CHECK(atomic_load(&f->cancelling), "on_cancel called outside shutdown(cancel)");
    FX_CHECK(fn == fx_leaf || fn == fx_gate || fn == fx_group_parent,
             "on_cancel got a function that was never posted");
    FX_CHECK(crew_worker_index() == -1, "on_cancel ran on a worker");
    atomic_fetch_add(&f->cancels[PI(arg)], 1);
    atomic_store(&f->gate_open, 1);
}

/* ---- loop helpers ---- */

int fx_mark(size_t b, size_t e, void *arg)
{
    fx_visit *v = arg;
    for (size_t i = b; i < e; i++)
        atomic_fetch_add(&v->seen[i], 1);
    return 0;
}

/* Every index once (rc 0) or none (rc != 0). */
void fx_check_visits(fx_visit *v, int rc, const char *what)
{
    long bad = 0;
    for (size_t i = 0; i < v->n; i++)
        bad += atomic_load(&v->seen[i]) != (rc == 0 ? 1 : 0);
    FX_CHECK(bad == 0, "%s returned %d and %ld indices were visited a wrong number of times",
             what, rc, bad);
}

void fx_sum_range(size_t b, size_t e, void *acc, void *arg)
{
    (void)arg;
    for (size_t i = b; i < e; i++)
        *(long *)acc += (long)i;
}

void fx_sum_combine(void *acc, const void *right, void *arg)
{
    (void)arg;
    *(long *)acc += *(const long *)right;
}

void fx_double(const void *in, void *out, void *arg)
{
    (void)arg;
    *(int *)out = 2 * *(const int *)in;
}

/* ---- object pool ---- */

int fx_obj_init(void *obj, void *ctx)
{
    fx *f = ctx;
    /* Every fifth init fails with a value of its own: acquire must pass it
     * on as errno and count nothing. */
    if (atomic_fetch_add(&f->obj_init_calls, 1) % 5 == 4)
        return EILSEQ;
    ((fx_obj *)obj)->magic = FX_MAGIC;
    ((fx_obj *)obj)->holder = -1;
    atomic_fetch_add(&f->obj_inits, 1);
    return 0;
}

void fx_obj_reset(void *obj, void *ctx)
{
    fx *f = ctx;
    FX_CHECK(((fx_obj *)obj)->magic == FX_MAGIC, "reset of an object init never built");
    ((fx_obj *)obj)->holder = -1;
    atomic_fetch_add(&f->obj_resets, 1);
}

void fx_obj_fini(void *obj, void *ctx)
{
    fx *f = ctx;
    FX_CHECK(((fx_obj *)obj)->magic == FX_MAGIC, "fini of an object init never built");
    ((fx_obj *)obj)->magic = 0;
    atomic_fetch_add(&f->obj_finis, 1);
}

/* Acquires up to FX_OBJS objects, checks they are distinct, initialized
 * and unheld, and releases them. `holder` tells the callers apart. */
void fx_objects(long holder)
{
    crew_objpool *p = fx_cur->objs;
    if (p == NULL)
        return;
    fx_obj *held[FX_OBJS];
    int n = 0;
    for (int i = 0; i < FX_OBJS; i++) {
        errno = 0;
        fx_obj *o = crew_objpool_acquire(p);
        if (o == NULL) {
            int err = errno;
            FX_CHECK(err == EILSEQ || (err == ENOMEM && fx_nomem_ok()),
                     "crew_objpool_acquire: NULL with errno %d", err);
            if (err == ENOMEM)
                fx_saw("crew_objpool_acquire");
            continue;
        }
        FX_CHECK(((uintptr_t)o % _Alignof(max_align_t)) == 0, "object misaligned");
        FX_CHECK(o->magic == FX_MAGIC, "acquired an object init never built");
        FX_CHECK(o->holder == -1, "acquired an object held by %ld", o->holder);
        o->holder = holder;
        for (int k = 0; k < n; k++)
            FX_CHECK(held[k] != o, "one object handed out twice");
        held[n++] = o;
    }
    for (int k = 0; k < n; k++) {
        FX_CHECK(held[k]->holder == holder, "an object changed hands while held");
        crew_objpool_release(p, held[k]);
    }
}

