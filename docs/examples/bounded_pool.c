/* docs/guide.md, part 4: a bounded pool of connection-like objects. At
 * most four are open at once; eight threads share them, waiting at most a
 * few seconds for one; a connection the "server" dropped is found by the
 * health check on reuse, closed and replaced. */
#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { MAX_CONNS = 4, CLIENTS = 8, REQUESTS = 500 };

typedef struct conn {
    int id;      /* a real one would hold a socket */
    int healthy; /* cleared when the server drops it */
    long served;
} conn;

typedef struct server {
    atomic_int next_id, open, open_peak, opened, closed, dropped;
} server;

static int conn_open(void *obj, void *ctx) /* init: connect */
{
    server *s = ctx;
    conn *c = obj;
    c->id = atomic_fetch_add(&s->next_id, 1);
    c->healthy = 1;
    c->served = 0;
    int now = atomic_fetch_add(&s->open, 1) + 1, peak = atomic_load(&s->open_peak);
    while (now > peak && !atomic_compare_exchange_weak(&s->open_peak, &peak, now))
        ;
    atomic_fetch_add(&s->opened, 1);
    return 0; /* or an errno value: the acquire then fails with it */
}

static void conn_close(void *obj, void *ctx) /* fini: disconnect */
{
    server *s = ctx;
    (void)obj;
    atomic_fetch_sub(&s->open, 1);
    atomic_fetch_add(&s->closed, 1);
}

static int conn_check(void *obj, void *ctx) /* validate: still alive? */
{
    (void)ctx;
    return ((conn *)obj)->healthy ? 0 : ECONNRESET;
}

typedef struct client {
    pthread_t tid;
    crew_objpool *pool;
    server *srv;
    int index, failed;
} client;

static void *client_main(void *arg)
{
    client *me = arg;
    for (int i = 0; i < REQUESTS; i++) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 5; /* give up if all four stay busy for 5 s */
        conn *c = crew_objpool_acquire_timed(me->pool, &deadline);
        if (c == NULL) {
            fprintf(stderr, "client %d: no connection: %s\n", me->index,
                    errno == ETIMEDOUT ? "timed out" : "error");
            me->failed = 1;
            return NULL;
        }
        struct timespec work = {0, 20000}; /* the request: 20 us */
        nanosleep(&work, NULL);
        c->served++;
        if ((i + me->index) % 100 == 99) {
            c->healthy = 0; /* the server dropped this one */
            atomic_fetch_add(&me->srv->dropped, 1);
        }
        crew_objpool_release(me->pool, c);
    }
    return NULL;
}

int main(void)
{
    server srv = {0};
    crew_objpool_config cfg = {
        .obj_size = sizeof(conn),
        .init = conn_open,
        .fini = conn_close,
        .ctx = &srv,
        .max_live = MAX_CONNS,  /* at most four open, idle or in use */
        .validate = conn_check, /* on reuse: a dropped one is closed */
    };
    crew_objpool *pool = crew_objpool_create(&cfg);
    if (pool == NULL)
        return 1;
    client clients[CLIENTS];
    int started = 0, failed = 0;
    for (int k = 0; k < CLIENTS; k++) {
        clients[k] = (client){.pool = pool, .srv = &srv, .index = k};
        if (pthread_create(&clients[k].tid, NULL, client_main, &clients[k]) != 0)
            break;
        started++;
    }
    for (int k = 0; k < started; k++) {
        pthread_join(clients[k].tid, NULL);
        failed |= clients[k].failed;
    }
    crew_objpool_destroy(pool); /* closes the ones still open */
    printf("%d requests, %d connections opened (at most %d at once), %d dropped\n",
           started * REQUESTS, srv.opened, srv.open_peak, srv.dropped);
    int ok = started == CLIENTS && !failed && srv.open_peak <= MAX_CONNS &&
             srv.opened == srv.closed && srv.opened >= srv.dropped;
    return ok ? 0 : 1;
}
