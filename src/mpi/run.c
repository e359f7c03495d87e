/* crew_mpi_run: agreement on the arguments, the progress loop of the
 * communicating thread, the termination waves, the result, tear-down.
 *
 * Termination (docs/mpi.md has the full argument). Every message of the
 * run, of any kind, is counted when it is sent and when it is received.
 * A rank joins the next wave (an MPI_Iallreduce of its counts) only when
 * it is passive: no task, no loot to hand over, no steal request
 * unanswered either way, done with its steal attempts and lifelines, so
 * that it will send nothing unless a message arrives first. A wave's
 * result is the sum of the counts. The run is over when the receives
 * counted by wave k-1 equal the sends counted by wave k: then at the
 * moment between the two waves no message was in flight and none was
 * sent afterwards, so every rank is passive for ever. */
#include "glb.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void crew_mpi_config_default(crew_mpi_config *cfg)
{
    if (cfg == NULL)
        return;
    *cfg = (crew_mpi_config){
        .size = sizeof *cfg,
        .chunk = 512,
        .max_loot = 64 * 1024,
        .steals = 1,
        .busy_poll_us = 100,
        .idle_poll_us = 2000,
        .timeout_ms = 0,
        .abort_ms = 10000,
        .seed = 1,
    };
}

/* As crew_config: size 0 is this header's layout with zeros meaning
 * defaults; a shorter (older) layout takes defaults past its end. */
static int resolve_config(const crew_mpi_config *in, crew_mpi_config *out)
{
    crew_mpi_config_default(out);
    if (in == NULL)
        return 0;
    if (in->size > sizeof *out || (in->size != 0 && in->size < offsetof(crew_mpi_config, chunk)))
        return EINVAL;
    if (in->size == 0) {
        crew_mpi_config d = *out;
        *out = *in;
        out->size = sizeof *out;
        out->chunk = in->chunk ? in->chunk : d.chunk;
        out->max_loot = in->max_loot ? in->max_loot : d.max_loot;
        out->steals = in->steals ? in->steals : d.steals;
        out->busy_poll_us = in->busy_poll_us ? in->busy_poll_us : d.busy_poll_us;
        out->idle_poll_us = in->idle_poll_us ? in->idle_poll_us : d.idle_poll_us;
        out->abort_ms = in->abort_ms ? in->abort_ms : d.abort_ms;
        out->seed = in->seed ? in->seed : d.seed;
    } else {
        memcpy(out, in, in->size);
        out->size = sizeof *out;
    }
    if (out->chunk == 0 || out->max_loot == 0 || out->max_loot > CREW_MPI_MAX_LOOT ||
        out->busy_poll_us == 0 || out->busy_poll_us > 1000000 || out->idle_poll_us == 0 ||
        out->idle_poll_us > 1000000)
        return EINVAL;
    return 0;
}

static int check_ops(const crew_mpi_bag_ops *ops)
{
    if (ops == NULL || !ops->create || !ops->destroy || !ops->process || !ops->empty ||
        !ops->split || !ops->merge || !ops->reduce || !ops->identity || ops->result_size == 0 ||
        ops->result_size > CREW_MPI_MAX_RESULT)
        return EINVAL;
    return 0;
}

/* ---- MPI threading ---- */

int crew_mpi_thread_level_ok(void)
{
    int init = 0, fin = 0, level = MPI_THREAD_SINGLE, main = 0;
    if (MPI_Initialized(&init) != MPI_SUCCESS || !init || MPI_Finalized(&fin) != MPI_SUCCESS ||
        fin)
        return EINVAL;
    if (MPI_Query_thread(&level) != MPI_SUCCESS || level < CREW_MPI_THREAD_LEVEL)
        return ENOTSUP;
    if (level == MPI_THREAD_FUNNELED && (MPI_Is_thread_main(&main) != MPI_SUCCESS || !main))
        return EPERM;
    return 0;
}

int crew_mpi_init(int *argc, char ***argv)
{
    int init = 0, provided = MPI_THREAD_SINGLE;
    if (MPI_Initialized(&init) != MPI_SUCCESS)
        return EIO;
    if (init)
        return EALREADY;
    if (MPI_Init_thread(argc, argv, CREW_MPI_THREAD_LEVEL, &provided) != MPI_SUCCESS)
        return EIO;
    return provided < CREW_MPI_THREAD_LEVEL ? ENOTSUP : 0;
}

/* ---- the run's clock: timeout and last resort ---- */

typedef struct run_clock {
    uint64_t start_ns, deadline_ns; /* deadline 0: none */
    uint64_t abort_ns;              /* abort_ms in ns, 0: never */
} run_clock;

static void abort_run(glb_comm *c, MPI_Comm user, const char *why)
{
    fprintf(stderr,
            "crew-mpi: rank %d of %d: %s; calling MPI_Abort, the last resort (docs/mpi.md)\n",
            c->rank, c->nranks, why);
    fflush(stderr);
    MPI_Abort(user, ETIMEDOUT);
    abort(); /* MPI_Abort does not return; if it ever did, do not go on */
}

/* The last resort: peers that do not answer a failure, or a run past its
 * deadline that cannot finish collectively. */
static void abort_if_stuck(glb_comm *c, MPI_Comm user, const run_clock *k)
{
    if (k->abort_ns == 0)
        return;
    if (c->failure_known_ns != 0 && c->now_ns - c->failure_known_ns > k->abort_ns)
        abort_run(c, user, "the other ranks did not agree on a failure in time");
    if (k->deadline_ns != 0 && c->now_ns > k->deadline_ns + k->abort_ns)
        abort_run(c, user, "the run is past its timeout and the ranks cannot agree");
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* The next sleep of a rank waiting for an answer that started at
 * since_ns: a quarter of the time waited so far, between the two polling
 * intervals (a prompt answer is seen promptly; a long wait costs little). */
static unsigned patient_sleep_us(const glb_comm *c, uint64_t since_ns)
{
    uint64_t quarter = (c->now_ns - since_ns) / 4000u;
    if (quarter > c->cfg->idle_poll_us)
        return c->cfg->idle_poll_us;
    return quarter < c->cfg->busy_poll_us ? c->cfg->busy_poll_us : (unsigned)quarter;
}

/* Waits, sleeping, for a collective request every rank must join. */
static void wait_collective(glb_comm *c, MPI_Comm user, const run_clock *k, MPI_Request *req,
                            const char *what)
{
    uint64_t since = glb_now_ns();
    unsigned us = 5;
    for (;;) {
        int flag = 0;
        if (MPI_Test(req, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            abort_run(c, user, what);
        if (flag)
            return;
        c->now_ns = glb_now_ns();
        if (k->deadline_ns != 0 && c->failure_known_ns == 0 && c->now_ns > k->deadline_ns)
            c->failure_known_ns = c->now_ns;
        abort_if_stuck(c, user, k);
        unsigned cap = patient_sleep_us(c, since);
        sleep_us(us < cap ? us : cap);
        us *= 2;
    }
}

/* Sleeps until a worker kicks or us microseconds pass. */
static void wait_for_kick(glb *g, unsigned us)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += us / 1000000;
    until.tv_nsec += (long)(us % 1000000) * 1000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&g->lock);
    while (!g->kicked)
        if (pthread_cond_timedwait(&g->cond, &g->lock, &until) != 0)
            break;
    g->kicked = false;
    pthread_mutex_unlock(&g->lock);
}

/* ---- termination waves ---- */

/* What a rank contributes to a wave; the reduction sums the counts and
 * keeps the failure of the lowest-numbered failed rank. */
typedef struct wave {
    int64_t sent, received;
    int64_t error, error_rank;
} wave;

static void wave_combine(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const wave *a = in;
    wave *b = inout;
    for (int i = 0; i < *len; i++) {
        b[i].sent += a[i].sent;
        b[i].received += a[i].received;
        if (a[i].error != 0 && (b[i].error == 0 || a[i].error_rank < b[i].error_rank)) {
            b[i].error = a[i].error;
            b[i].error_rank = a[i].error_rank;
        }
    }
}

/* The progress loop: returns the run's agreed failure (0: none). */
static int progress(glb_comm *c, MPI_Comm user, const run_clock *k, MPI_Datatype wave_type,
                    MPI_Op wave_op)
{
    glb *g = c->g;
    const crew_mpi_config *cfg = c->cfg;
    bool wave_open = false, timed_out = false;
    MPI_Request wave_req = MPI_REQUEST_NULL;
    wave out, in;
    int64_t prev_received = -1; /* none before the first wave */
    unsigned poll_us = 5;
    uint64_t idle_since = 0;
    /* A wave completes only when every rank was passive at its turn: the
     * end is near, and the next waves would crawl at idle_poll_us per
     * round of the reduction. For a while after a wave, look as often as
     * a busy rank does. */
    uint64_t eager_until = 0;
    for (;;) {
        c->now_ns = glb_now_ns();
        bool did = glb_drain_incoming(c);
        did |= glb_send_error_once(c);
        did |= glb_serve_demand(c);
        did |= glb_steal_if_dry(c);
        did |= glb_complete_sends(c);

        /* relaxed: bookkeeping only. */
        long active = atomic_load_explicit(&g->active, memory_order_relaxed);
        if (active == 0 && idle_since == 0) {
            idle_since = c->now_ns;
        } else if (active > 0 && idle_since != 0) {
            c->stats.idle_ns += c->now_ns - idle_since;
            idle_since = 0;
        }

        if (wave_open) {
            int flag = 0;
            if (MPI_Test(&wave_req, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
                abort_run(c, user, "a termination wave failed in MPI");
            if (flag) {
                wave_open = false;
                c->stats.waves++;
                did = true;
                if (prev_received >= 0 && prev_received == in.sent) {
                    if (idle_since != 0)
                        c->stats.idle_ns += c->now_ns - idle_since;
                    return (int)in.error;
                }
                prev_received = in.received;
                eager_until = c->now_ns + 50ull * cfg->busy_poll_us * 1000u;
            }
        }
        if (!wave_open && glb_passive(c)) {
            /* relaxed: passive read active 0 (acquire) after any failing
             * task stored its error, and this thread stores its own. */
            int err = atomic_load_explicit(&g->error, memory_order_relaxed);
            out = (wave){(int64_t)c->sent, (int64_t)c->received, err, c->rank};
            if (MPI_Iallreduce(&out, &in, 1, wave_type, wave_op, c->comm, &wave_req) !=
                MPI_SUCCESS)
                abort_run(c, user, "a termination wave failed in MPI");
            wave_open = true;
            did = true;
        }

        /* A timeout is the only thing a rank starts on its own once
         * passive; inside a wave it waits for the wave's end, or the
         * argument above would not hold. */
        if (k->deadline_ns != 0 && !timed_out && !wave_open && c->now_ns > k->deadline_ns) {
            timed_out = true;
            glb_fail(g, ETIMEDOUT);
            did = true;
        }
        if (k->deadline_ns != 0 && c->failure_known_ns == 0 && c->now_ns > k->deadline_ns)
            c->failure_known_ns = c->now_ns;
        abort_if_stuck(c, user, k);

        if (did) {
            poll_us = 5;
            continue;
        }
        /* Nothing happened: sleep (Open MPI's blocking calls poll at full
         * speed, so the waiting is ours), doubling the sleep up to a cap.
         * A rank with work looks every busy_poll_us for thieves; a dry one
         * backs off to idle_poll_us; alone, nobody can message it and the
         * workers' kicks are enough. A thief waiting for an answer looks
         * every quarter of the time it has waited so far (between the two
         * caps): it notices a prompt answer promptly and costs little
         * while a victim is slow to split. */
        unsigned cap = cfg->idle_poll_us;
        /* relaxed: only how soon to look again depends on it. */
        int demand = atomic_load_explicit(&g->demand, memory_order_relaxed);
        if (c->nranks > 1 && (active > 0 || demand != DEMAND_NONE || c->now_ns < eager_until))
            cap = cfg->busy_poll_us;
        if (c->awaiting_reply && patient_sleep_us(c, c->asked_ns) < cap)
            cap = patient_sleep_us(c, c->asked_ns);
        if (poll_us > cap)
            poll_us = cap;
        wait_for_kick(g, poll_us);
        c->stats.wakeups++;
        poll_us *= 2;
    }
}

/* ---- set-up and tear-down ---- */

static int setup(glb *g, glb_comm *c, crew_pool *pool, const crew_mpi_bag_ops *ops,
                 const crew_mpi_config *cfg)
{
    g->ops = ops;
    g->pool = pool;
    g->workers = crew_pool_workers(pool);
    g->chunk = cfg->chunk;
    g->max_loot = cfg->max_loot;
    if (g->workers == 0)
        return EINVAL;
    g->slots = aligned_alloc(64, g->workers * sizeof *g->slots);
    if (g->slots == NULL)
        return ENOMEM;
    memset(g->slots, 0, g->workers * sizeof *g->slots);
    for (unsigned w = 0; w < g->workers; w++) {
        glb_slot *s = &g->slots[w];
        s->split_buf = malloc(g->max_loot);
        s->result = malloc(ops->result_size);
        if (s->split_buf == NULL || s->result == NULL)
            return ENOMEM;
        memcpy(s->result, ops->identity, ops->result_size);
    }
    return glb_comm_setup(c);
}

static void teardown(glb *g, glb_comm *c)
{
    if (g->slots != NULL) {
        for (unsigned w = 0; w < g->workers; w++) {
            free(g->slots[w].split_buf);
            free(g->slots[w].result);
        }
        free(g->slots);
    }
    free(g->demand_buf);
    glb_comm_free(c);
}

/* The rank's first bag, from ops->init. */
static void start(glb *g)
{
    const crew_mpi_bag_ops *ops = g->ops;
    if (ops->init == NULL)
        return;
    void *bag = ops->create(ops->ctx);
    if (bag == NULL) {
        glb_fail(g, ENOMEM);
        return;
    }
    int rc = ops->init(bag, g->comm->rank, g->comm->nranks, ops->ctx);
    if (rc == 0 && !ops->empty(bag, ops->ctx)) {
        rc = glb_post_bag(g, bag);
        if (rc == 0)
            return;
    }
    ops->destroy(bag, ops->ctx);
    if (rc != 0)
        glb_fail(g, rc);
}

/* Folds the workers' accumulators, then every rank's (gathered to every
 * rank, folded in rank order). */
static void reduce_results(glb_comm *c, MPI_Comm user, const run_clock *k,
                           unsigned char *gathered, void *result)
{
    glb *g = c->g;
    const crew_mpi_bag_ops *ops = g->ops;
    size_t rs = ops->result_size;
    unsigned char mine[CREW_MPI_MAX_RESULT];
    memcpy(mine, ops->identity, rs);
    for (unsigned w = 0; w < g->workers; w++)
        ops->reduce(mine, g->slots[w].result, ops->ctx);
    MPI_Request req;
    if (MPI_Iallgather(mine, (int)rs, MPI_BYTE, gathered, (int)rs, MPI_BYTE, c->comm, &req) !=
        MPI_SUCCESS)
        abort_run(c, user, "gathering the results failed in MPI");
    wait_collective(c, user, k, &req, "gathering the results failed in MPI");
    memcpy(mine, ops->identity, rs);
    for (int r = 0; r < c->nranks; r++)
        ops->reduce(mine, gathered + (size_t)r * rs, ops->ctx);
    memcpy(result, mine, rs);
}

int crew_mpi_run(crew_pool *pool, MPI_Comm comm, const crew_mpi_bag_ops *ops,
                 const crew_mpi_config *cfg_in, void *result, crew_mpi_stats *stats)
{
    /* A crew worker must not block on MPI (and under FUNNELED may not
     * call it): checked first, before the thread level says EPERM. */
    if (crew_worker_index() >= 0)
        return EDEADLK;
    int rc = crew_mpi_thread_level_ok();
    if (rc != 0)
        return rc;
    if (comm == MPI_COMM_NULL)
        return EINVAL;
    uint64_t t0 = glb_now_ns();

    crew_mpi_config cfg;
    glb g;
    glb_comm c;
    memset(&g, 0, sizeof g);
    memset(&c, 0, sizeof c);
    g.comm = &c;
    c.g = &g;
    c.cfg = &cfg;
    c.comm = MPI_COMM_NULL;
    if (MPI_Comm_rank(comm, &c.rank) != MPI_SUCCESS ||
        MPI_Comm_size(comm, &c.nranks) != MPI_SUCCESS)
        return EINVAL;
    int local = resolve_config(cfg_in, &cfg);
    if (local == 0 && (pool == NULL || result == NULL))
        local = EINVAL;
    if (local == 0)
        local = check_ops(ops);
    if (local == 0)
        local = setup(&g, &c, pool, ops, &cfg);
    unsigned char *gathered = NULL;
    if (local == 0 && (gathered = malloc((size_t)c.nranks * ops->result_size)) == NULL)
        local = ENOMEM;
    MPI_Datatype wave_type = MPI_DATATYPE_NULL;
    MPI_Op wave_op = MPI_OP_NULL;
    if (local == 0 && (MPI_Type_contiguous(4, MPI_INT64_T, &wave_type) != MPI_SUCCESS ||
                       MPI_Type_commit(&wave_type) != MPI_SUCCESS ||
                       MPI_Op_create(wave_combine, 1, &wave_op) != MPI_SUCCESS))
        local = EIO;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g.cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&g.lock, NULL);

    run_clock k = {t0, cfg.timeout_ms ? t0 + (uint64_t)cfg.timeout_ms * 1000000u : 0,
                   (uint64_t)cfg.abort_ms * 1000000u};
    /* Every rank takes part from here on, whatever its arguments, so that
     * all of them return the same error. */
    MPI_Request req;
    if (MPI_Comm_idup(comm, &c.comm, &req) != MPI_SUCCESS)
        abort_run(&c, comm, "MPI_Comm_idup failed");
    wait_collective(&c, comm, &k, &req, "MPI_Comm_idup failed");
    MPI_Comm_set_errhandler(c.comm, MPI_ERRORS_RETURN);
    long long rs = ops != NULL ? (long long)ops->result_size : 0;
    long long agree[5] = {local, (long long)cfg.max_loot, -(long long)cfg.max_loot, rs, -rs};
    long long agreed[5];
    if (MPI_Iallreduce(agree, agreed, 5, MPI_LONG_LONG, MPI_MAX, c.comm, &req) != MPI_SUCCESS)
        abort_run(&c, comm, "agreeing on the arguments failed in MPI");
    wait_collective(&c, comm, &k, &req, "agreeing on the arguments failed in MPI");
    rc = (int)agreed[0];
    if (rc == 0 && (agreed[1] != -agreed[2] || agreed[3] != -agreed[4]))
        rc = EINVAL;

    if (rc == 0) {
        start(&g);
        rc = progress(&c, comm, &k, wave_type, wave_op);
        if (rc == 0)
            reduce_results(&c, comm, &k, gathered, result);
        /* Every message was received (the last wave says so): the sends
         * complete at once. */
        while (c.nsends > 0) {
            c.now_ns = glb_now_ns();
            if (!glb_complete_sends(&c)) {
                abort_if_stuck(&c, comm, &k);
                sleep_us(10);
            }
        }
    }
    if (stats != NULL) {
        c.stats.seconds = (double)(glb_now_ns() - t0) * 1e-9;
        for (unsigned w = 0; g.slots != NULL && w < g.workers; w++) {
            c.stats.process_calls += g.slots[w].process_calls;
            c.stats.local_splits += g.slots[w].local_splits;
        }
        *stats = c.stats;
    }
    if (wave_op != MPI_OP_NULL)
        MPI_Op_free(&wave_op);
    if (wave_type != MPI_DATATYPE_NULL)
        MPI_Type_free(&wave_type);
    MPI_Comm_free(&c.comm);
    free(gathered);
    /* The last task decrements active under the lock (work.c): once we
     * hold it, no task touches g any more. */
    pthread_mutex_lock(&g.lock);
    pthread_mutex_unlock(&g.lock);
    teardown(&g, &c);
    pthread_cond_destroy(&g.cond);
    pthread_mutex_destroy(&g.lock);
    return rc;
}
