/*
 * crew-mpi: a bag of irregular work balanced across MPI ranks, worked by
 * crew's workers inside each rank. The model and the algorithm are those
 * of lifeline-based global load balancing (Saraswat, Kambadur, Kodali,
 * Grove, Krishnamoorthy, PPoPP 2011; X10's GLB library): the program
 * describes a bag of work items; a rank that runs out steals from random
 * ranks, then over a lifeline graph (a hypercube), then sleeps until loot
 * comes or the whole run is over. docs/mpi.md is the manual: the design,
 * the termination argument, running across machines.
 *
 * Found by pkg-config as `crew-mpi` (library libcrew-mpi, which needs
 * libcrew and an MPI library). Conventions as crew.h: an int result is 0
 * or a positive errno value; bad arguments give EINVAL, never a crash.
 *
 * Threading. crew_mpi_run needs MPI_THREAD_FUNNELED (or more): the thread
 * that calls it is the rank's only MPI caller while it runs (it must be
 * the thread that initialized MPI when the level is FUNNELED), and crew's
 * workers never call MPI. crew_mpi_init asks for that level. The user's
 * bag functions run on the pool's workers and must not call MPI either.
 */
#ifndef CREW_MPI_H
#define CREW_MPI_H

#include <crew.h>
#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CREW_MPI_API __attribute__((visibility("default")))
#else
#define CREW_MPI_API
#endif

/* The MPI thread level crew_mpi_run needs. */
#define CREW_MPI_THREAD_LEVEL MPI_THREAD_FUNNELED

#define CREW_MPI_MAX_RESULT 1024         /* most bytes a result may have */
#define CREW_MPI_MAX_LOOT (16u << 20)    /* most bytes max_loot may be */

/* ------------------------------------------------------------------ */
/* The bag of work                                                     */
/* ------------------------------------------------------------------ */

/* What the program tells crew-mpi about its work. Every rank has bags
 * (one per piece of work being processed: several per rank, one at a time
 * per worker); a bag holds items; processing an item may add items to
 * its bag. Loot, the part of a bag given to a thief, travels as bytes the
 * program writes and reads (split and merge), so items must be plain data.
 * The functions run on the pool's workers, several at once on different
 * bags (ctx is shared: read it, or protect what you write), except init,
 * which runs on the calling thread. */
typedef struct crew_mpi_bag_ops {
    /* A new, empty bag; NULL when out of memory (the run fails ENOMEM). */
    void *(*create)(void *ctx);
    /* Frees a bag, empty or not (a run that fails discards its items). */
    void (*destroy)(void *bag, void *ctx);
    /* Optional: puts this rank's first items in its first bag (rank is
     * the rank in the communicator given to crew_mpi_run). 0 or an errno
     * value (the run fails with it). NULL: every rank starts empty, so
     * nothing happens. */
    int (*init)(void *bag, int rank, int nranks, void *ctx);
    /* Processes at most n items of the bag (n > 0; new items may be
     * added), folding what they yield into *result, which is this
     * worker's accumulator (result_size bytes, starting as identity). 0,
     * or an errno value: the whole run stops and every rank returns it. */
    int (*process)(void *bag, size_t n, void *result, void *ctx);
    /* Whether the bag holds no item. */
    bool (*empty)(const void *bag, void *ctx);
    /* Moves part of the bag's items into loot, serialized in at most cap
     * bytes, and returns the number of bytes written; 0 when there is too
     * little to share (the bag keeps all its items). A return above cap
     * fails the run with EMSGSIZE (write no more than cap bytes: the
     * buffer has cap bytes). GLB's advice: give away half. */
    size_t (*split)(void *bag, void *loot, size_t cap, void *ctx);
    /* Adds the items of loot (len bytes, written by split on this rank or
     * another) to the bag: 0, or an errno value (EINVAL for bytes that do
     * not parse) that fails the run. */
    int (*merge)(void *bag, const void *loot, size_t len, void *ctx);

    /* The result: result_size bytes (1 .. CREW_MPI_MAX_RESULT), starting
     * as a copy of identity in every accumulator; reduce folds `other`
     * into `acc`. Which items a worker or a rank processes depends on
     * timing, so reduce must be associative and commutative (sums,
     * minima, maxima, counts) for the result to be that of a sequential
     * run. It runs on the calling thread. */
    size_t result_size;
    const void *identity;
    void (*reduce)(void *acc, const void *other, void *ctx);

    void *ctx;  /* passed to every function */
} crew_mpi_bag_ops;

/* ------------------------------------------------------------------ */
/* Tuning                                                              */
/* ------------------------------------------------------------------ */

/* As crew_config: start from crew_mpi_config_default and change fields.
 * A zeroed config (size 0) means the defaults, its non-zero fields taken
 * as given; with size set, every field is taken as given (steals 0: go to
 * the lifelines at once; abort_ms 0: never call MPI_Abort). chunk,
 * max_loot and the polling intervals must not be 0 (EINVAL); the
 * intervals are at most 1 s. */
typedef struct crew_mpi_config {
    size_t   size;          /* sizeof(crew_mpi_config), set by crew_mpi_config_default */
    size_t   chunk;         /* n: items per process call between checks for thieves (512) */
    size_t   max_loot;      /* most bytes of one split, 1 .. CREW_MPI_MAX_LOOT (64 KiB) */
    unsigned steals;        /* random steal attempts before the lifelines, GLB's w (1) */
    unsigned busy_poll_us;  /* a rank with work looks at the network this often (100) */
    unsigned idle_poll_us;  /* the longest sleep of a rank without work (2000) */
    unsigned timeout_ms;    /* 0: none; otherwise the run fails ETIMEDOUT after this */
    unsigned abort_ms;      /* last resort: after a failure is known, the longest wait for
                               the other ranks to agree before MPI_Abort (10000) */
    uint64_t seed;          /* random victims: seed + rank (1) */
} crew_mpi_config;

/* What one rank did in a run (crew_mpi_run's stats are this rank's). */
typedef struct crew_mpi_stats {
    uint64_t process_calls;      /* calls of ops->process */
    uint64_t local_splits;       /* loot handed to another worker of this rank */
    uint64_t steals_sent;        /* random steal requests sent */
    uint64_t steals_won;         /* ... answered with loot */
    uint64_t lifelines_sent;     /* lifeline requests sent */
    uint64_t lifeline_loot;      /* loot sent to ranks waiting on a lifeline */
    uint64_t requests_served;    /* steal requests answered with loot */
    uint64_t loot_sent, loot_received;             /* loot messages */
    uint64_t loot_bytes_sent, loot_bytes_received; /* their bytes */
    uint64_t loot_bytes_max;     /* the largest loot message sent or received */
    uint64_t messages_sent, messages_received;     /* every kind */
    uint64_t waves;              /* termination waves completed */
    uint64_t steal_wait_ns;      /* sum, over steals_sent, of request-to-answer time */
    uint64_t idle_ns;            /* time with no work in the rank */
    uint64_t wakeups;            /* times the communicating thread woke up */
    double   seconds;            /* the run, on this rank */
} crew_mpi_stats;

CREW_MPI_API void crew_mpi_config_default(crew_mpi_config *cfg);

/* ------------------------------------------------------------------ */
/* Running                                                             */
/* ------------------------------------------------------------------ */

/* MPI_Init_thread asking for CREW_MPI_THREAD_LEVEL. 0; ENOTSUP when the
 * library gives less (MPI is then initialized: call MPI_Finalize);
 * EALREADY when MPI is initialized already (nothing is done; see
 * crew_mpi_thread_level_ok); EIO when MPI_Init_thread fails. */
CREW_MPI_API int crew_mpi_init(int *argc, char ***argv);

/* Whether this thread may run crew_mpi_run: 0; EINVAL (MPI not
 * initialized, or finalized); ENOTSUP (the thread level is below
 * MPI_THREAD_FUNNELED); EPERM (the level is FUNNELED and this is not the
 * thread that initialized MPI). */
CREW_MPI_API int crew_mpi_thread_level_ok(void);

/* Processes every item of the bag across every rank of comm, with pool's
 * workers inside this rank, and writes the reduction of all the ranks'
 * results to *result on every rank. Collective: every rank of comm calls
 * it, with the same ops (result_size) and the same max_loot; cfg NULL
 * means defaults; stats may be NULL. The caller is not a crew worker;
 * crew-mpi works on a duplicate of comm, so the program's own messages on
 * comm are safe, but the program makes no MPI call of its own during the
 * run; the pool must not be shut down during the run.
 *
 * Returns the same value on every rank: 0, or the error of the
 * lowest-numbered rank that failed: an errno value of the program's
 * functions, ENOMEM, EMSGSIZE (a split wrote more than the cap),
 * EPROTO (a message crew-mpi did not send, or larger than the bound),
 * EIO (an MPI call failed), ETIMEDOUT (timeout_ms passed), EINVAL (bad
 * arguments on any rank, a NULL pool or result included, or ranks that
 * disagree on result_size or max_loot). Returned locally, without
 * communicating (the other ranks then wait for this one: see timeout_ms):
 * EDEADLK when called from a crew worker, the errors of
 * crew_mpi_thread_level_ok, EINVAL for MPI_COMM_NULL.
 *
 * A rank whose peers stop answering (a crashed or stuck process, a rank
 * that never calls crew_mpi_run) cannot finish collectively: with
 * timeout_ms set, it fails ETIMEDOUT after timeout_ms and, when the
 * others still do not agree abort_ms later, calls MPI_Abort on comm with
 * ETIMEDOUT as the last resort (printing why on stderr). Without
 * timeout_ms such a rank waits as any MPI collective would. */
CREW_MPI_API int crew_mpi_run(crew_pool *pool, MPI_Comm comm, const crew_mpi_bag_ops *ops,
                              const crew_mpi_config *cfg, void *result,
                              crew_mpi_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* CREW_MPI_H */
