/* Suite `scheduler`, debug builds only (-Ddebug_checks=true, which defines
 * CREW_DEBUG): the spawn/sync preconditions docs/api.md lists are checked.
 * Each violation must abort the process, which a forked child shows. */
#include "scheduler_cases.h"

#ifdef CREW_DEBUG

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scheduler/internal.h"
#include "util.h"

static void *dbg_leaf(void *arg)
{
    return arg;
}

/* spawn A, spawn B, sync A: both private, A is not the newest. */
static void *dbg_wrong_order(void *arg)
{
    (void)arg;
    crew_task a, b;
    crew_spawn(&a, dbg_leaf, IP(1));
    crew_spawn(&b, dbg_leaf, IP(2));
    crew_sync(&a);
    crew_sync(&b);
    return NULL;
}

/* The same after A was published (a worker asked for work): A's sync
 * takes the slow path. */
static void *dbg_wrong_order_published(void *arg)
{
    (void)arg;
    crew_task a, b;
    crew_ask_for_work(crew_current_worker_);
    crew_spawn(&a, dbg_leaf, IP(1));
    crew_spawn(&b, dbg_leaf, IP(2));
    crew_sync(&a);
    crew_sync(&b);
    return NULL;
}

/* The right order: must not abort (the check has no false alarm). */
static void *dbg_right_order(void *arg)
{
    (void)arg;
    crew_task a, b;
    crew_spawn(&a, dbg_leaf, IP(1));
    crew_spawn(&b, dbg_leaf, IP(2));
    crew_sync(&b);
    crew_sync(&a);
    return NULL;
}

static int dbg_run_root(void *root)
{
    crew_pool *p = test_pool(1, 0, false);
    if (p == NULL)
        return 3;
    crew_run(p, *(const crew_fn *)root, NULL, NULL);
    crew_pool_destroy(p);
    return 0;
}

/* Runs root on a 1-worker pool in a child process: the child's fate. */
static int dbg_child(crew_fn root)
{
    return test_child_status(dbg_run_root, &root);
}

int a_sync_out_of_lifo_order_aborts_in_debug_builds(void)
{
    int st = dbg_child(dbg_right_order);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the right order: status %#x", st);
    st = dbg_child(dbg_wrong_order);
    CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "two private spawns: status %#x", st);
    st = dbg_child(dbg_wrong_order_published);
    CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "published first: status %#x", st);
    return 0;
}

#endif
