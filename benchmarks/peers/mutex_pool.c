/* The mutex + condition variable pool (see peers/mutex_pool.h). The queue is
 * a ring that doubles when full, so a post mallocs nothing once the ring has
 * grown to the run's size: the peer pays for its lock, not for malloc. */
#include "peers/mutex_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAPACITY 1024

typedef struct peer_item {
    void *(*fn)(void *);
    void *arg;
} peer_item;

struct peer_mutex_pool {
    pthread_mutex_t lock;
    pthread_cond_t work; /* signalled when an item is queued or at stop */
    peer_item *ring;     /* capacity is a power of two */
    size_t capacity, head, count;
    unsigned idle;       /* workers waiting on `work` */
    int stopping;
    unsigned nthreads;
    pthread_t *threads;
};

static void *peer_worker(void *arg)
{
    peer_mutex_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->count == 0 && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
        }
        if (p->count == 0)
            break; /* stopping and drained */
        peer_item it = p->ring[p->head];
        p->head = (p->head + 1) & (p->capacity - 1);
        p->count--;
        pthread_mutex_unlock(&p->lock);
        it.fn(it.arg);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Called with the lock held. */
static int grow(peer_mutex_pool *p)
{
    size_t cap = p->capacity * 2;
    peer_item *ring = malloc(cap * sizeof(*ring));
    if (ring == NULL)
        return ENOMEM;
    /* Unwrap: the oldest item goes to index 0. */
    size_t first = p->capacity - p->head;
    if (first > p->count)
        first = p->count;
    memcpy(ring, p->ring + p->head, first * sizeof(*ring));
    memcpy(ring + first, p->ring, (p->count - first) * sizeof(*ring));
    free(p->ring);
    p->ring = ring;
    p->capacity = cap;
    p->head = 0;
    return 0;
}

int peer_mutex_pool_post(peer_mutex_pool *p, void *(*fn)(void *), void *arg)
{
    pthread_mutex_lock(&p->lock);
    if (p->count == p->capacity && grow(p) != 0) {
        pthread_mutex_unlock(&p->lock);
        return ENOMEM;
    }
    p->ring[(p->head + p->count) & (p->capacity - 1)] = (peer_item){fn, arg};
    p->count++;
    /* A waiter counted in `idle` is inside pthread_cond_wait (it released
     * the lock there), so a signal after unlocking cannot be lost. */
    int wake = p->idle > 0;
    pthread_mutex_unlock(&p->lock);
    if (wake)
        pthread_cond_signal(&p->work);
    return 0;
}

static void stop_and_join(peer_mutex_pool *p, unsigned started)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_mutex_unlock(&p->lock);
    pthread_cond_broadcast(&p->work);
    for (unsigned i = 0; i < started; i++)
        pthread_join(p->threads[i], NULL);
}

static void free_pool(peer_mutex_pool *p)
{
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p->ring);
    free(p);
}

peer_mutex_pool *peer_mutex_pool_create(unsigned workers)
{
    if (workers == 0)
        workers = 1;
    peer_mutex_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->ring = malloc(INITIAL_CAPACITY * sizeof(*p->ring));
    p->threads = calloc(workers, sizeof(*p->threads));
    if (p->ring == NULL || p->threads == NULL) {
        free(p->ring);
        free(p->threads);
        free(p);
        errno = ENOMEM;
        return NULL;
    }
    p->capacity = INITIAL_CAPACITY;
    p->nthreads = workers;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    for (unsigned i = 0; i < workers; i++) {
        int rc = pthread_create(&p->threads[i], NULL, peer_worker, p);
        if (rc != 0) {
            stop_and_join(p, i);
            free_pool(p);
            errno = rc;
            return NULL;
        }
    }
    return p;
}

void peer_mutex_pool_destroy(peer_mutex_pool *p)
{
    if (p == NULL)
        return;
    stop_and_join(p, p->nthreads);
    free_pool(p);
}
