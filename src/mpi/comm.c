/* The communicating thread's messages: everything here runs on the thread
 * that called crew_mpi_run, the rank's only MPI caller. Every message
 * sent or received is counted (glb_comm.sent / received): the
 * termination waves of run.c compare the sums. */
#include "glb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t glb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t next_random(glb_comm *c)
{
    /* xorshift64*: victims only need to be spread, not unpredictable. */
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

int glb_comm_setup(glb_comm *c)
{
    size_t n = (size_t)c->nranks;
    c->thieves = malloc(n * sizeof *c->thieves);
    c->waiters = malloc(n * sizeof *c->waiters);
    c->buddies = malloc(32 * sizeof *c->buddies);
    c->is_thief = calloc(n, 1);
    c->is_waiter = calloc(n, 1);
    c->recv_buf = malloc(c->g->max_loot < 4 ? 4 : c->g->max_loot);
    c->send_cap = 64;
    c->send_reqs = malloc((size_t)c->send_cap * sizeof *c->send_reqs);
    c->send_bufs = malloc((size_t)c->send_cap * sizeof *c->send_bufs);
    if (!c->thieves || !c->waiters || !c->buddies || !c->is_thief || !c->is_waiter ||
        !c->recv_buf || !c->send_reqs || !c->send_bufs)
        return ENOMEM;
    /* The lifeline graph: a binary hypercube, rank XOR 2^d for every d
     * with a neighbour below nranks. Clearing bits leads from any rank to
     * 0 and setting them from 0 to any rank (every step stays below the
     * target, so below nranks): the graph is connected for any size. */
    c->nbuddies = 0;
    for (int d = 0; d < 31 && (1 << d) < c->nranks; d++) {
        int b = c->rank ^ (1 << d);
        if (b < c->nranks)
            c->buddies[c->nbuddies++] = b;
    }
    c->rng = (c->cfg->seed + (uint64_t)c->rank) * 0x9e3779b97f4a7c15ull | 1;
    return 0;
}

void glb_comm_free(glb_comm *c)
{
    for (int i = 0; i < c->nsends; i++)
        free(c->send_bufs[i]);
    free(c->send_reqs);
    free(c->send_bufs);
    free(c->thieves);
    free(c->waiters);
    free(c->buddies);
    free(c->is_thief);
    free(c->is_waiter);
    free(c->recv_buf);
}

/* This rank's own failure: recorded like a worker's. */
static void fail(glb_comm *c, int err)
{
    glb_fail(c->g, err);
}

/* Sends len bytes of buf (which the send then owns and frees; NULL for
 * the static payloads) to dest. */
static void send_msg(glb_comm *c, int dest, int tag, void *owned, const void *buf, size_t len)
{
    static const unsigned char nothing;
    if (c->nsends == c->send_cap) {
        int cap = 2 * c->send_cap;
        MPI_Request *r = realloc(c->send_reqs, (size_t)cap * sizeof *r);
        if (r != NULL)
            c->send_reqs = r;
        void **b = realloc(c->send_bufs, (size_t)cap * sizeof *b);
        if (b != NULL)
            c->send_bufs = b;
        if (r == NULL || b == NULL) {
            free(owned);
            fail(c, ENOMEM);
            return;
        }
        c->send_cap = cap;
    }
    MPI_Request req;
    if (MPI_Isend(len > 0 ? buf : &nothing, (int)len, MPI_BYTE, dest, tag, c->comm, &req) !=
        MPI_SUCCESS) {
        free(owned);
        fail(c, EIO);
        return;
    }
    c->send_reqs[c->nsends] = req;
    c->send_bufs[c->nsends] = owned;
    c->nsends++;
    c->sent++;
    c->stats.messages_sent++;
}

bool glb_complete_sends(glb_comm *c)
{
    if (c->nsends == 0)
        return false;
    int done = 0;
    for (int i = 0; i < c->nsends;) {
        int flag = 0;
        if (MPI_Test(&c->send_reqs[i], &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
            fail(c, EIO);
            flag = 1; /* a failed send will not complete: drop it */
        }
        if (!flag) {
            i++;
            continue;
        }
        free(c->send_bufs[i]);
        c->nsends--;
        c->send_reqs[i] = c->send_reqs[c->nsends];
        c->send_bufs[i] = c->send_bufs[c->nsends];
        done++;
    }
    return done > 0;
}

/* ---- receiving ---- */

static void add_loot_stats(crew_mpi_stats *st, size_t len)
{
    if (len > st->loot_bytes_max)
        st->loot_bytes_max = len;
}

/* Loot from src: a new bag for the workers (dropped after a failure). */
static void on_loot(glb_comm *c, int src, int tag, const void *buf, size_t len)
{
    glb *g = c->g;
    const crew_mpi_bag_ops *ops = g->ops;
    c->stats.loot_received++;
    c->stats.loot_bytes_received += len;
    add_loot_stats(&c->stats, len);
    if (tag == TAG_LOOT_REPLY) {
        if (!c->awaiting_reply || src != c->victim) {
            fail(c, EPROTO);
            return;
        }
        c->awaiting_reply = false;
        c->stats.steals_won++;
        c->stats.steal_wait_ns += c->now_ns - c->asked_ns;
    }
    /* relaxed: stop is a hint here too; loot dropped after a failure is
     * still counted as received, which is all the waves need. */
    if (atomic_load_explicit(&g->stop, memory_order_relaxed))
        return;
    void *bag = ops->create(ops->ctx);
    if (bag == NULL) {
        fail(c, ENOMEM);
        return;
    }
    int rc = ops->merge(bag, buf, len, ops->ctx);
    if (rc == 0)
        rc = glb_post_bag(g, bag);
    if (rc != 0) {
        ops->destroy(bag, ops->ctx);
        fail(c, rc);
        return;
    }
    /* Work again: the next time this rank runs dry it starts over with
     * random steals, then lifelines. */
    c->attempts = 0;
    c->lifelines_sent = false;
}

static bool has_work(glb_comm *c)
{
    /* relaxed: a guess made on this thread's behalf (answering a thief
     * at once or later); a wrong guess costs an answer, never a loss. */
    return atomic_load_explicit(&c->g->stop, memory_order_relaxed) == 0 &&
           atomic_load_explicit(&c->g->active, memory_order_relaxed) > 0;
}

static void on_message(glb_comm *c, int src, int tag, const void *buf, size_t len)
{
    switch (tag) {
    case TAG_STEAL:
        if (c->is_thief[src]) { /* one request at a time per thief */
            fail(c, EPROTO);
        } else if (has_work(c)) {
            c->is_thief[src] = 1;
            c->thieves[c->nthieves++] = src;
        } else {
            send_msg(c, src, TAG_NOLOOT, NULL, NULL, 0);
        }
        break;
    case TAG_LIFELINE:
        if (!c->is_waiter[src]) {
            c->is_waiter[src] = 1;
            c->waiters[c->nwaiters++] = src;
        }
        break;
    case TAG_LOOT_REPLY:
    case TAG_LOOT_PUSH:
        on_loot(c, src, tag, buf, len);
        break;
    case TAG_NOLOOT:
        if (!c->awaiting_reply || src != c->victim) {
            fail(c, EPROTO);
            break;
        }
        c->awaiting_reply = false;
        c->stats.steal_wait_ns += c->now_ns - c->asked_ns;
        break;
    case TAG_ERROR: {
        /* relaxed: a hint to the workers, as every store of stop. */
        atomic_store_explicit(&c->g->stop, 1, memory_order_relaxed);
        if (c->failure_known_ns == 0)
            c->failure_known_ns = c->now_ns;
        break;
    }
    default:
        fail(c, EPROTO);
    }
}

/* The largest payload a tag may carry, or -1 for a tag crew-mpi never sends. */
static long payload_limit(glb_comm *c, int tag)
{
    switch (tag) {
    case TAG_STEAL:
    case TAG_LIFELINE:
    case TAG_NOLOOT:
        return 0;
    case TAG_ERROR:
        return (long)sizeof(int32_t);
    case TAG_LOOT_REPLY:
    case TAG_LOOT_PUSH:
        return (long)c->g->max_loot;
    default:
        return -1;
    }
}

bool glb_drain_incoming(glb_comm *c)
{
    bool any = false;
    /* A bounded batch, so a flood cannot starve the rest of the loop. */
    for (int batch = 0; batch < 256; batch++) {
        int flag = 0;
        MPI_Message msg;
        MPI_Status st;
        if (MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->comm, &flag, &msg, &st) != MPI_SUCCESS) {
            fail(c, EIO);
            return any;
        }
        if (!flag)
            return any;
        any = true;
        int count = 0;
        if (MPI_Get_count(&st, MPI_BYTE, &count) != MPI_SUCCESS)
            count = MPI_UNDEFINED;
        long limit = payload_limit(c, st.MPI_TAG);
        bool fits = count != MPI_UNDEFINED && count >= 0 && limit >= 0 && count <= limit;
        /* Every matched message is received, a bad one too (into the
         * bounded buffer: a longer one is truncated, an MPI error we
         * expect and ignore), so nothing is left behind on the
         * communicator. */
        int rc = MPI_Mrecv(c->recv_buf, fits ? count : 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
        c->received++;
        c->stats.messages_received++;
        bool loot = st.MPI_TAG == TAG_LOOT_REPLY || st.MPI_TAG == TAG_LOOT_PUSH;
        bool exact = st.MPI_TAG != TAG_ERROR || count == (int)sizeof(int32_t);
        if (!fits || !exact || (loot && count == 0)) {
            fail(c, EPROTO);
            continue;
        }
        if (rc != MPI_SUCCESS) {
            fail(c, EIO);
            continue;
        }
        on_message(c, st.MPI_SOURCE, st.MPI_TAG, c->recv_buf, (size_t)count);
    }
    return any;
}

/* ---- giving loot away ---- */

static void answer_thieves_with_nothing(glb_comm *c)
{
    for (int i = 0; i < c->nthieves; i++) {
        c->is_thief[c->thieves[i]] = 0;
        send_msg(c, c->thieves[i], TAG_NOLOOT, NULL, NULL, 0);
    }
    c->nthieves = 0;
}

static void add_waiter(glb_comm *c, int r)
{
    if (!c->is_waiter[r]) {
        c->is_waiter[r] = 1;
        c->waiters[c->nwaiters++] = r;
    }
}

/* The demand ended without loot: tell a random thief; keep a lifeline. */
static void demand_gave_nothing(glb_comm *c)
{
    if (c->demand_for == FOR_THIEF)
        send_msg(c, c->demand_rank, TAG_NOLOOT, NULL, NULL, 0);
    else
        add_waiter(c, c->demand_rank);
}

bool glb_serve_demand(glb_comm *c)
{
    glb *g = c->g;
    bool did = false;
    /* acquire: pairs with the worker's READY (release): loot and length. */
    int d = atomic_load_explicit(&g->demand, memory_order_acquire);
    if (d == DEMAND_READY) {
        size_t len = g->demand_len;
        /* relaxed: after a failure, loot is not worth sending (a hint). */
        if (len == 0 || atomic_load_explicit(&g->stop, memory_order_relaxed)) {
            free(g->demand_buf);
            demand_gave_nothing(c);
        } else {
            bool thief = c->demand_for == FOR_THIEF;
            send_msg(c, c->demand_rank, thief ? TAG_LOOT_REPLY : TAG_LOOT_PUSH, g->demand_buf,
                     g->demand_buf, len);
            c->stats.loot_sent++;
            c->stats.loot_bytes_sent += len;
            add_loot_stats(&c->stats, len);
            if (thief)
                c->stats.requests_served++;
            else
                c->stats.lifeline_loot++;
        }
        g->demand_buf = NULL;
        /* relaxed: only this thread publishes the next demand (release). */
        atomic_store_explicit(&g->demand, DEMAND_NONE, memory_order_relaxed);
        d = DEMAND_NONE;
        did = true;
    }
    if (!has_work(c)) {
        int open = DEMAND_OPEN;
        /* Take an unclaimed demand back (relaxed: the buffer was never
         * touched). A claimed one is answered by its worker, which is
         * still running, so it is READY by the time active reads 0. */
        if (d == DEMAND_OPEN &&
            atomic_compare_exchange_strong_explicit(&g->demand, &open, DEMAND_NONE,
                                                    memory_order_relaxed, memory_order_relaxed)) {
            free(g->demand_buf);
            g->demand_buf = NULL;
            demand_gave_nothing(c);
            did = true;
        }
        if (c->nthieves > 0) {
            answer_thieves_with_nothing(c);
            did = true;
        }
        return did;
    }
    if (d != DEMAND_NONE)
        return did;
    /* Random thieves first: they wait for an answer; lifelines can wait. */
    if (c->nthieves > 0) {
        c->demand_rank = c->thieves[0];
        c->demand_for = FOR_THIEF;
        c->is_thief[c->demand_rank] = 0;
        memmove(c->thieves, c->thieves + 1, (size_t)--c->nthieves * sizeof *c->thieves);
    } else if (c->nwaiters > 0) {
        c->demand_rank = c->waiters[0];
        c->demand_for = FOR_LIFELINE;
        c->is_waiter[c->demand_rank] = 0;
        memmove(c->waiters, c->waiters + 1, (size_t)--c->nwaiters * sizeof *c->waiters);
    } else {
        return did;
    }
    g->demand_buf = malloc(g->max_loot);
    if (g->demand_buf == NULL) {
        demand_gave_nothing(c);
        fail(c, ENOMEM);
        return true;
    }
    /* release: demand_buf is set before a worker can claim the demand. */
    atomic_store_explicit(&g->demand, DEMAND_OPEN, memory_order_release);
    return true;
}

/* ---- stealing ---- */

bool glb_steal_if_dry(glb_comm *c)
{
    glb *g = c->g;
    /* relaxed loads: this thread alone posts bags from outside the pool,
     * and a rank that has work again (loot posted by this very thread)
     * reads it at once; a task finishing meanwhile only delays the
     * steal to the next iteration. */
    if (c->nranks == 1 || c->awaiting_reply ||
        atomic_load_explicit(&g->stop, memory_order_relaxed) ||
        atomic_load_explicit(&g->active, memory_order_relaxed) > 0 ||
        atomic_load_explicit(&g->demand, memory_order_relaxed) != DEMAND_NONE)
        return false;
    if (c->attempts < c->cfg->steals) {
        int v = (int)(next_random(c) % (uint64_t)(c->nranks - 1));
        if (v >= c->rank)
            v++;
        c->victim = v;
        c->awaiting_reply = true;
        c->asked_ns = c->now_ns;
        c->attempts++;
        c->stats.steals_sent++;
        send_msg(c, v, TAG_STEAL, NULL, NULL, 0);
        return true;
    }
    if (!c->lifelines_sent) {
        for (int i = 0; i < c->nbuddies; i++)
            send_msg(c, c->buddies[i], TAG_LIFELINE, NULL, NULL, 0);
        c->stats.lifelines_sent += (uint64_t)c->nbuddies;
        c->lifelines_sent = true;
        return true;
    }
    return false;
}

/* ---- failures ---- */

bool glb_send_error_once(glb_comm *c)
{
    /* relaxed: see glb_fail; this rank's own failures are stored on this
     * thread or before a task's decrement of active. */
    int err = atomic_load_explicit(&c->g->error, memory_order_relaxed);
    if (err == 0 || c->error_sent)
        return false;
    c->error_sent = true;
    if (c->failure_known_ns == 0)
        c->failure_known_ns = c->now_ns;
    c->error_payload = err;
    for (int r = 0; r < c->nranks; r++)
        if (r != c->rank)
            send_msg(c, r, TAG_ERROR, NULL, &c->error_payload, sizeof c->error_payload);
    return true;
}

bool glb_passive(glb_comm *c)
{
    glb *g = c->g;
    /* acquire on active: reading 0 makes every finished task's writes
     * (its slot, its failure) visible here (see glb.active). demand is
     * read after it: a READY stored by a task before its decrement is
     * seen, so loot handed over at the very end is never skipped. */
    if (atomic_load_explicit(&g->active, memory_order_acquire) != 0 ||
        atomic_load_explicit(&g->demand, memory_order_acquire) != DEMAND_NONE ||
        c->awaiting_reply || c->nthieves > 0)
        return false;
    if (atomic_load_explicit(&g->error, memory_order_relaxed) != 0 && !c->error_sent)
        return false;
    /* relaxed: stop, once seen, stays set for the run. */
    if (atomic_load_explicit(&g->stop, memory_order_relaxed) || c->nranks == 1)
        return true;
    return c->attempts >= c->cfg->steals && c->lifelines_sent;
}
