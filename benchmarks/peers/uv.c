/* The libuv peer: see peers/uv.h. */
#include "peers/uv.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define UV_POOL_MAX 1024 /* libuv's own limit on UV_THREADPOOL_SIZE */

typedef struct peer_uv_job {
    uv_work_t req; /* first: the request is the job */
    void *(*fn)(void *);
    void *arg;
} peer_uv_job;

struct peer_uv_loop {
    uv_loop_t loop;
    peer_uv_job *jobs;
    long capacity;
    long posted;    /* requests handed to uv_queue_work since the drain */
    long completed; /* their completion callbacks that ran */
    long failed;    /* of those, with a status other than 0 */
};

static int loops_created;

int peer_uv_init(unsigned workers)
{
    if (workers == 0 || workers > UV_POOL_MAX)
        return EINVAL;
    if (loops_created)
        return EBUSY;
    char buf[16];
    snprintf(buf, sizeof buf, "%u", workers);
    return setenv("UV_THREADPOOL_SIZE", buf, 1) == 0 ? 0 : errno;
}

/* On a pool thread. */
static void job_work(uv_work_t *req)
{
    peer_uv_job *j = (peer_uv_job *)req;
    j->fn(j->arg);
}

/* On the loop's thread, inside uv_run. */
static void job_done(uv_work_t *req, int status)
{
    peer_uv_loop *l = req->loop->data;
    l->completed++;
    if (status != 0)
        l->failed++;
}

peer_uv_loop *peer_uv_loop_create(long capacity)
{
    if (capacity <= 0) {
        errno = EINVAL;
        return NULL;
    }
    peer_uv_loop *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->jobs = malloc((size_t)capacity * sizeof *l->jobs);
    if (l->jobs == NULL) {
        free(l);
        errno = ENOMEM;
        return NULL;
    }
    memset(l->jobs, 0, (size_t)capacity * sizeof *l->jobs);
    l->capacity = capacity;
    int rc = uv_loop_init(&l->loop);
    if (rc != 0) {
        free(l->jobs);
        free(l);
        errno = -rc;
        return NULL;
    }
    l->loop.data = l;
    loops_created = 1;
    return l;
}

int peer_uv_post(peer_uv_loop *l, void *(*fn)(void *), void *arg)
{
    if (l->posted == l->capacity)
        return ENOSPC;
    peer_uv_job *j = &l->jobs[l->posted];
    j->fn = fn;
    j->arg = arg;
    int rc = uv_queue_work(&l->loop, &j->req, job_work, job_done);
    if (rc != 0)
        return -rc;
    l->posted++;
    return 0;
}

int peer_uv_drain(peer_uv_loop *l)
{
    /* The loop stays alive while a request is pending: uv_run returns
     * once every completion callback has run. */
    uv_run(&l->loop, UV_RUN_DEFAULT);
    int ok = l->completed == l->posted && l->failed == 0;
    l->posted = l->completed = l->failed = 0;
    return ok ? 0 : EIO;
}

void peer_uv_loop_destroy(peer_uv_loop *l)
{
    if (l == NULL)
        return;
    peer_uv_drain(l);
    if (uv_loop_close(&l->loop) != 0)
        fprintf(stderr, "crew-bench: uv_loop_close: the loop is busy\n");
    free(l->jobs);
    free(l);
}
