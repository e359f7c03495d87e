/* The workers' side of a run: a task processes one bag, n items at a
 * time, and between two calls of process it gives part of the bag away
 * when someone needs work: a remote thief first (the communicating
 * thread's demand), then an idle worker of this rank. No MPI here. */
#include "glb.h"

#include <errno.h>
#include <stdlib.h>

void glb_kick(glb *g)
{
    pthread_mutex_lock(&g->lock);
    g->kicked = true;
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

void glb_fail(glb *g, int err)
{
    int none = 0;
    /* relaxed: a failing task stores this before its decrement of active
     * (release), so the communicating thread, which joins a termination
     * wave only after reading active 0 (acquire), has seen it by then;
     * its own failures it stores itself. */
    atomic_compare_exchange_strong_explicit(&g->error, &none, err, memory_order_relaxed,
                                            memory_order_relaxed);
    /* relaxed: stop is a hint to the workers (see glb.stop). */
    atomic_store_explicit(&g->stop, 1, memory_order_relaxed);
    glb_kick(g);
}

int glb_post_bag(glb *g, void *bag)
{
    glb_task *t = malloc(sizeof *t);
    if (t == NULL)
        return ENOMEM;
    t->g = g;
    t->bag = bag;
    /* relaxed: the count only has to rise before the task's own decrement,
     * and it does: the post below orders this increment before the task
     * runs, and read-modify-writes of one atomic follow one order. */
    atomic_fetch_add_explicit(&g->active, 1, memory_order_relaxed);
    int rc = crew_post(g->pool, glb_task_run, t);
    if (rc != 0) {
        /* relaxed: the task never existed. The caller is a task of this
         * run (counted itself, so this is not the decrement to 0) or the
         * communicating thread (the only one that looks for 0). */
        atomic_fetch_sub_explicit(&g->active, 1, memory_order_relaxed);
        free(t);
    }
    return rc;
}

/* Part of bag to an idle worker of this rank: serialized into the
 * worker's buffer, read back into a new bag, posted. Whatever fails short
 * of a bad merge puts the items back. */
static int split_locally(glb *g, glb_slot *s, void *bag)
{
    const crew_mpi_bag_ops *ops = g->ops;
    size_t len = ops->split(bag, s->split_buf, g->max_loot, ops->ctx);
    if (len == 0)
        return 0;
    if (len > g->max_loot)
        return EMSGSIZE;
    void *fresh = ops->create(ops->ctx);
    if (fresh == NULL)
        return ops->merge(bag, s->split_buf, len, ops->ctx);
    int rc = ops->merge(fresh, s->split_buf, len, ops->ctx);
    if (rc != 0) {
        ops->destroy(fresh, ops->ctx);
        return rc;
    }
    if (glb_post_bag(g, fresh) != 0) {
        ops->destroy(fresh, ops->ctx);
        return ops->merge(bag, s->split_buf, len, ops->ctx);
    }
    s->local_splits++;
    return 0;
}

/* Loot for the communicating thread, if it is asking and this worker wins
 * the demand. Returns whether it took it; *err gets EMSGSIZE for a split
 * past the cap. */
static bool answer_demand(glb *g, void *bag, int *err)
{
    int open = DEMAND_OPEN;
    /* The relaxed load is the cheap test made after every process call.
     * acquire on the winning exchange: it reads the OPEN stored (release)
     * after demand_buf was set, so the buffer is the current one. */
    if (atomic_load_explicit(&g->demand, memory_order_relaxed) != DEMAND_OPEN ||
        !atomic_compare_exchange_strong_explicit(&g->demand, &open, DEMAND_TAKEN,
                                                 memory_order_acquire, memory_order_relaxed))
        return false;
    const crew_mpi_bag_ops *ops = g->ops;
    size_t len = ops->split(bag, g->demand_buf, g->max_loot, ops->ctx);
    if (len > g->max_loot) {
        *err = EMSGSIZE;
        len = 0;
    }
    g->demand_len = len;
    /* release: the loot and its length are written before READY is seen. */
    atomic_store_explicit(&g->demand, DEMAND_READY, memory_order_release);
    glb_kick(g);
    return true;
}

void *glb_task_run(void *arg)
{
    glb_task *t = arg;
    glb *g = t->g;
    const crew_mpi_bag_ops *ops = g->ops;
    void *bag = t->bag;
    free(t);
    int w = crew_worker_index();
    int err = 0;
    if (w < 0 || (unsigned)w >= g->workers) {
        err = EINVAL; /* not run by the pool's workers: cannot happen with crew_post */
    } else {
        glb_slot *s = &g->slots[w];
        /* relaxed loads of stop and active: hints (see glb.stop); a stale
         * active at worst splits once too often or too late. */
        while (atomic_load_explicit(&g->stop, memory_order_relaxed) == 0 &&
               !ops->empty(bag, ops->ctx)) {
            err = ops->process(bag, g->chunk, s->result, ops->ctx);
            s->process_calls++;
            if (err != 0 || ops->empty(bag, ops->ctx))
                break;
            if (answer_demand(g, bag, &err)) {
                if (err != 0)
                    break;
                continue;
            }
            if (atomic_load_explicit(&g->active, memory_order_relaxed) < (long)g->workers &&
                (err = split_locally(g, s, bag)) != 0)
                break;
        }
    }
    if (err != 0)
        glb_fail(g, err);
    ops->destroy(bag, ops->ctx);
    /* release: this task's slot writes happen before the count that says
     * it finished (see glb.active). The task that counts the rank dry
     * wakes the communicating thread, which may end the run as soon as it
     * reads 0 and free g: so the decrement is made under the lock, and
     * the run locks it once more before it frees anything (run.c), by
     * which time this task no longer touches g. */
    pthread_mutex_lock(&g->lock);
    if (atomic_fetch_sub_explicit(&g->active, 1, memory_order_release) == 1) {
        g->kicked = true;
        pthread_cond_signal(&g->cond);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}
