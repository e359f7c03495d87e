/* crew-mpi's insides: one run's state, shared by the rank's communicating
 * thread (the caller of crew_mpi_run, the only one that calls MPI) and
 * the pool's workers (which process bags and never call MPI).
 *
 *   work.c   the workers' side: a bag task, local splits, loot for a
 *            remote thief handed to the communicating thread (a demand);
 *   comm.c   the communicating thread's messages: steal requests,
 *            lifelines, loot, errors;
 *   run.c    crew_mpi_run: set-up and agreement on the arguments, the
 *            progress loop, termination waves, the result, tear-down.
 * docs/mpi.md explains the design and argues termination. */
#ifndef CREW_MPI_GLB_H
#define CREW_MPI_GLB_H

#include <crew_mpi.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Message tags on crew-mpi's own duplicate of the communicator. */
enum {
    TAG_STEAL = 1,   /* a random steal request (no payload) */
    TAG_LIFELINE,    /* a lifeline request: "send me loot when you have some" */
    TAG_LOOT_REPLY,  /* loot answering a TAG_STEAL */
    TAG_LOOT_PUSH,   /* loot for a rank waiting on a lifeline */
    TAG_NOLOOT,      /* a TAG_STEAL answered with nothing */
    TAG_ERROR,       /* the sender failed: stop (payload: its int32 error) */
};

/* A demand: loot that the communicating thread wants from some worker.
 * Only the communicating thread moves NONE -> OPEN and READY -> NONE (and
 * takes back OPEN -> NONE); only a worker moves OPEN -> TAKEN -> READY. */
enum { DEMAND_NONE, DEMAND_OPEN, DEMAND_TAKEN, DEMAND_READY };
enum { FOR_THIEF, FOR_LIFELINE }; /* whom a demand's loot is for */

/* One per worker, on cache lines of its own. Written only by the worker
 * of that index; read by the communicating thread after the run's last
 * task has finished (see glb.active). */
typedef struct glb_slot {
    _Alignas(64) unsigned char *split_buf; /* max_loot bytes, for local splits */
    void *result;                          /* this worker's accumulator */
    uint64_t process_calls, local_splits;
} glb_slot;

/* A bag being processed: what a posted task gets. */
typedef struct glb_task {
    struct glb *g;
    void *bag;
} glb_task;

typedef struct glb {
    /* Fixed for the run. */
    const crew_mpi_bag_ops *ops;
    crew_pool *pool;
    unsigned workers;
    size_t chunk, max_loot;
    glb_slot *slots;

    /* Tasks posted and not yet finished. A task's last act is its
     * decrement (release, made under lock): when the communicating thread
     * reads 0 (acquire), every task's writes to its slot are visible to
     * it, and no task can start again unless that thread posts one. */
    _Alignas(64) atomic_long active;
    /* Set on any failure, local or remote: workers drop their bags. A
     * hint (relaxed): the termination protocol does not depend on when a
     * worker sees it. */
    atomic_int stop;
    /* This rank's first failure, 0 if none (first writer wins). */
    atomic_int error;

    /* The demand (see DEMAND_*). buf and len are the payload: buf is
     * written by the communicating thread before it publishes OPEN
     * (release), the loot and len by the worker before READY (release). */
    _Alignas(64) atomic_int demand;
    unsigned char *demand_buf;
    size_t demand_len;

    /* Workers wake the communicating thread through this when something
     * needs it at once: loot ready, the rank ran dry, a failure. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool kicked;

    struct glb_comm *comm; /* the communicating thread's own state */
} glb;

/* work.c */
void *glb_task_run(void *arg);
/* Posts a task for bag (which the task then owns); 0 or an errno value
 * (bag is then still the caller's). */
int glb_post_bag(glb *g, void *bag);
/* Records err as this rank's failure (if it is the first) and stops. */
void glb_fail(glb *g, int err);
void glb_kick(glb *g);

/* The communicating thread's state (comm.c and run.c). */
typedef struct glb_comm {
    glb *g;
    MPI_Comm comm;
    int rank, nranks;
    const crew_mpi_config *cfg;

    uint64_t sent, received;   /* messages of every kind, for the waves */
    uint64_t now_ns;           /* this iteration's clock */

    /* Sends in flight, with the buffers to free when each completes. */
    MPI_Request *send_reqs;
    void **send_bufs;
    int nsends, send_cap;

    unsigned char *recv_buf;   /* max_loot bytes (at least 4) */

    /* Random steal requests waiting for an answer (at most one per rank). */
    int *thieves;
    int nthieves;
    unsigned char *is_thief;
    /* Ranks waiting on a lifeline to this rank. */
    int *waiters;
    int nwaiters;
    unsigned char *is_waiter;
    int *buddies; /* this rank's lifelines: the hypercube neighbours */
    int nbuddies;

    /* The demand's recipient. */
    int demand_rank, demand_for;

    /* This rank as a thief. */
    bool awaiting_reply;
    int victim;
    uint64_t asked_ns;
    unsigned attempts;
    bool lifelines_sent;
    uint64_t rng;

    bool error_sent;           /* this rank's failure told to every rank */
    int32_t error_payload;     /* what TAG_ERROR carries (stable while sends fly) */
    uint64_t failure_known_ns; /* first failure seen here (any rank's), 0 if none */

    crew_mpi_stats stats;
} glb_comm;

/* comm.c: each returns whether it did something. */
bool glb_drain_incoming(glb_comm *c);
bool glb_serve_demand(glb_comm *c);
bool glb_steal_if_dry(glb_comm *c);
bool glb_send_error_once(glb_comm *c);
bool glb_complete_sends(glb_comm *c);
/* Whether this rank has nothing left to do and nothing it will do unless
 * a message arrives (the condition for joining a termination wave). */
bool glb_passive(glb_comm *c);
int glb_comm_setup(glb_comm *c);
void glb_comm_free(glb_comm *c);

uint64_t glb_now_ns(void);

#endif
