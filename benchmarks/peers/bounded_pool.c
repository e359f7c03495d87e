/* The mutex + condition variable bounded object pool (peers/bounded_pool.h). */
#include "peers/bounded_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct peer_bounded_pool {
    pthread_mutex_t lock;
    pthread_cond_t room; /* signalled when an object is released */
    void **idle;         /* [0, nidle): idle objects, max_live slots */
    size_t nidle, live, max_live, obj_size;
    unsigned waiters; /* acquirers waiting on `room` */
};

peer_bounded_pool *peer_bounded_pool_create(size_t obj_size, size_t max_live)
{
    if (obj_size == 0 || max_live == 0) {
        errno = EINVAL;
        return NULL;
    }
    peer_bounded_pool *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->idle = calloc(max_live, sizeof(void *))) == NULL) {
        free(p);
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->room, NULL);
    p->max_live = max_live;
    p->obj_size = obj_size;
    return p;
}

void *peer_bounded_pool_acquire(peer_bounded_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->nidle == 0 && p->live == p->max_live) {
        p->waiters++;
        pthread_cond_wait(&p->room, &p->lock);
        p->waiters--;
    }
    if (p->nidle > 0) {
        void *obj = p->idle[--p->nidle];
        pthread_mutex_unlock(&p->lock);
        return obj;
    }
    p->live++; /* room for one more: build it outside the lock */
    pthread_mutex_unlock(&p->lock);
    void *obj = calloc(1, p->obj_size); /* zeroed: the caller's flags start clear */
    if (obj == NULL) {
        pthread_mutex_lock(&p->lock);
        p->live--;
        unsigned w = p->waiters;
        pthread_mutex_unlock(&p->lock);
        if (w > 0)
            pthread_cond_signal(&p->room);
        errno = ENOMEM;
    }
    return obj;
}

void peer_bounded_pool_release(peer_bounded_pool *p, void *obj)
{
    pthread_mutex_lock(&p->lock);
    p->idle[p->nidle++] = obj;
    unsigned w = p->waiters;
    pthread_mutex_unlock(&p->lock);
    /* After the unlock, so the woken waiter does not block on the mutex
     * at once; it re-checks under the lock, so nothing is lost. */
    if (w > 0)
        pthread_cond_signal(&p->room);
}

size_t peer_bounded_pool_built(peer_bounded_pool *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->live;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void peer_bounded_pool_destroy(peer_bounded_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nidle; i++)
        free(p->idle[i]);
    pthread_cond_destroy(&p->room);
    pthread_mutex_destroy(&p->lock);
    free(p->idle);
    free(p);
}
