/* The mutex-guarded FIFO serial queue (see peers/mutex_serial.h). The FIFO
 * is a ring that doubles when full, as mutex_pool's: once grown to the
 * run's size a post mallocs nothing. */
#include "peers/mutex_serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAPACITY 1024
#define TURN 64 /* tasks a drain runs before it goes back to the pool */

typedef struct serial_item {
    void *(*fn)(void *);
    void *arg;
} serial_item;

struct peer_mutex_serial {
    pthread_mutex_t lock;
    serial_item *ring; /* capacity is a power of two */
    size_t capacity, head, count;
    int draining; /* a drain is queued on the pool or running */
    peer_mutex_pool *pool;
};

static void *drain(void *arg);

/* With the lock held: post the drain, or (the pool is out of memory)
 * leave `draining` clear so that the next post tries again. */
static int post_drain(peer_mutex_serial *q)
{
    int rc = peer_mutex_pool_post(q->pool, drain, q);
    if (rc != 0)
        q->draining = 0;
    return rc;
}

static void *drain(void *arg)
{
    peer_mutex_serial *q = arg;
    for (int ran = 0; ran < TURN; ran++) {
        pthread_mutex_lock(&q->lock);
        if (q->count == 0) {
            q->draining = 0;
            pthread_mutex_unlock(&q->lock);
            return NULL;
        }
        serial_item it = q->ring[q->head];
        q->head = (q->head + 1) & (q->capacity - 1);
        q->count--;
        pthread_mutex_unlock(&q->lock);
        it.fn(it.arg);
    }
    pthread_mutex_lock(&q->lock);
    if (q->count == 0)
        q->draining = 0;
    else
        post_drain(q);
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* With the lock held. */
static int grow(peer_mutex_serial *q)
{
    size_t cap = q->capacity * 2;
    serial_item *ring = malloc(cap * sizeof(*ring));
    if (ring == NULL)
        return ENOMEM;
    size_t first = q->capacity - q->head;
    if (first > q->count)
        first = q->count;
    memcpy(ring, q->ring + q->head, first * sizeof(*ring));
    memcpy(ring + first, q->ring, (q->count - first) * sizeof(*ring));
    free(q->ring);
    q->ring = ring;
    q->capacity = cap;
    q->head = 0;
    return 0;
}

int peer_mutex_serial_post(peer_mutex_serial *q, void *(*fn)(void *), void *arg)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    if (q->count == q->capacity && grow(q) != 0) {
        pthread_mutex_unlock(&q->lock);
        return ENOMEM;
    }
    q->ring[(q->head + q->count) & (q->capacity - 1)] = (serial_item){fn, arg};
    q->count++;
    if (!q->draining) {
        q->draining = 1;
        rc = post_drain(q);
        if (rc != 0)
            q->count--; /* refused: take the item back (it is the newest) */
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

peer_mutex_serial *peer_mutex_serial_create(peer_mutex_pool *pool)
{
    peer_mutex_serial *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->ring = malloc(INITIAL_CAPACITY * sizeof(*q->ring));
    if (q->ring == NULL) {
        free(q);
        errno = ENOMEM;
        return NULL;
    }
    q->capacity = INITIAL_CAPACITY;
    q->pool = pool;
    pthread_mutex_init(&q->lock, NULL);
    return q;
}

void peer_mutex_serial_destroy(peer_mutex_serial *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->lock);
    free(q->ring);
    free(q);
}
