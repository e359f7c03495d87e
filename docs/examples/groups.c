/* docs/guide.md, part 1: groups. Wait for many tasks without a future
 * each; tasks may post more work into their own group; a task may wait on
 * a group of its own (the waiting worker runs the group's tasks). */
#include <crew.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* 1. A tree walk: each node posts its children into the same group. The
 * group's count cannot reach zero early: a parent is still running (and
 * counted) while it posts its children. */
enum { DEPTH = 10, NODES = (1 << DEPTH) - 1 };

typedef struct walk {
    crew_group *group;
    atomic_long visited;
    atomic_int post_failed;
} walk;

static walk tree;
static size_t ids[NODES]; /* heap order: node i has children 2i+1 and 2i+2 */

static void *visit(void *arg)
{
    size_t i = *(const size_t *)arg;
    atomic_fetch_add(&tree.visited, 1);
    for (size_t c = 2 * i + 1; c <= 2 * i + 2 && c < NODES; c++)
        if (crew_group_post(tree.group, visit, &ids[c]) != 0)
            atomic_store(&tree.post_failed, 1);
    return NULL;
}

/* 2. Inside a task: fan out into a group of its own and wait for it. */
enum { PARTS = 8, PER = 1000 };

typedef struct part {
    const int *v;
    size_t begin, end;
    long sum;
} part;

typedef struct job {
    crew_pool *pool;
    const int *v;
} job;

static void *sum_part(void *arg)
{
    part *p = arg;
    p->sum = 0;
    for (size_t i = p->begin; i < p->end; i++)
        p->sum += p->v[i];
    return NULL;
}

static void *sum_in_parts(void *arg) /* a task on j->pool */
{
    const job *j = arg;
    part parts[PARTS];
    crew_group *g = crew_group_create(j->pool);
    if (g == NULL)
        return (void *)(intptr_t)-1;
    for (size_t k = 0; k < PARTS; k++) {
        parts[k] = (part){j->v, k * PER, (k + 1) * PER, 0};
        if (crew_group_post(g, sum_part, &parts[k]) != 0)
            sum_part(&parts[k]); /* could not post (ENOMEM): do it here */
    }
    crew_group_wait(g);    /* a worker waiting here runs the parts not yet started */
    crew_group_destroy(g); /* parts[] may go out of scope only after the wait */
    long total = 0;
    for (size_t k = 0; k < PARTS; k++)
        total += parts[k].sum;
    return (void *)(intptr_t)total;
}

int main(void)
{
    crew_pool *pool = crew_pool_create(NULL);
    if (pool == NULL)
        return 1;

    tree.group = crew_group_create(pool);
    if (tree.group == NULL)
        return 1;
    for (size_t i = 0; i < NODES; i++)
        ids[i] = i;
    if (crew_group_post(tree.group, visit, &ids[0]) != 0)
        return 1;
    crew_group_wait(tree.group); /* every task posted so far, and what they posted */
    crew_group_destroy(tree.group);
    long visited = atomic_load(&tree.visited);
    printf("tree walk: visited %ld of %d nodes\n", visited, NODES);
    if (visited != NODES || atomic_load(&tree.post_failed))
        return 1;

    /* On a one-worker pool nobody else could run the parts: without the
     * waiting worker running them itself, this would deadlock. */
    static int v[PARTS * PER];
    for (int i = 0; i < PARTS * PER; i++)
        v[i] = i;
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 1;
    crew_pool *one = crew_pool_create(&cfg);
    if (one == NULL)
        return 1;
    job j = {one, v};
    void *total;
    if (crew_run(one, sum_in_parts, &j, &total) != 0)
        return 1;
    long expect = (long)PARTS * PER * (PARTS * PER - 1) / 2;
    long got = (long)(intptr_t)total;
    printf("group inside a task on 1 worker: sum %ld (expected %ld)\n", got, expect);
    crew_pool_destroy(one);
    crew_pool_destroy(pool);
    return got == expect ? 0 : 1;
}
