/*
 * Task graphs: nodes that run once per run, each after all its
 * predecessors have returned. docs/graph.md is the design; in short:
 *
 * - Building. Nodes live in fixed-size chunks (their addresses never
 *   move); each keeps a growable list of its successors' ids.
 *   crew_graph_precede appends without searching for duplicates; a list
 *   that fills up is deduplicated before it grows, so repeated edges cost
 *   no memory.
 * - Preparing (in the caller, before anything runs), when nodes or edges
 *   were added since the last run: deduplicate every successor list (one
 *   pass, with per-node stamps), count each node's distinct predecessors,
 *   and run Kahn's algorithm (a loop, no recursion) to find a cycle
 *   (ELOOP: nothing runs) and the roots. Every run resets the counters.
 * - Running (on a worker, through crew_run). A frame runs a node, then
 *   decrements its successors' counters (acq_rel); of those that reach 0
 *   it continues with the first (a chain is a loop, not a recursion) and
 *   crew_spawns the others, the crew_task record living in the node (a
 *   node becomes ready once per run). When its chain ends, it syncs its
 *   newest spawn (LIFO, as crew_sync requires): if nobody stole it,
 *   node_task, called inline by crew_sync, hands the node back and the
 *   frame runs it in the same loop; if a thief took it, the thief runs it
 *   and what it makes ready in a frame of its own.
 * - A state word (idle, editing, running) makes add/precede, run and
 *   destroy exclusive: EBUSY or EINVAL rather than a race.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

/* Nodes per chunk: a power of two, so a node id names its chunk and slot. */
#define CHUNK_SHIFT 8
#define CHUNK_NODES (1u << CHUNK_SHIFT)

/* Most graph frames nested on one thread's stack (a frame nests when a
 * worker waiting on a stolen node runs another node's frame meanwhile, or a
 * node runs a graph itself). A frame at the limit spawns nothing: it runs
 * every node it makes ready itself, so nothing nests deeper. */
#define MAX_NESTED_FRAMES 64

/* A successor list entry is the successor's id, with the top bit set when
 * this node is its only predecessor (set by each preparation): such a
 * successor is ready when this node returns, with no counter to touch. */
#define SOLE_PREDECESSOR (1u << 31)
#define ID_MASK (SOLE_PREDECESSOR - 1)
#define MAX_NODES ID_MASK

enum { GRAPH_IDLE, GRAPH_EDITING, GRAPH_RUNNING };

/* Two cache lines; a run reads the first, and the second when it spawns
 * the node. */
struct crew_node {
    /* Read by every run. */
    _Alignas(64) crew_fn fn;
    void *arg;
    uint32_t *succ;    /* successors' ids; deduplicated while the graph runs */
    uint32_t nsucc;
    uint32_t id;       /* its index in the graph's chunks and counters */
    crew_graph *graph;
    /* Written by the run. */
    void *result;
    crew_node *deferred_next; /* the frame that deferred it: the next older */
    crew_task task;          /* the node's spawn record, at most once per run */
    /* Building only. */
    uint32_t cap;      /* successor slots allocated */
    uint32_t checked;  /* succ[0, checked) are known to be distinct */
    uint64_t stamp;    /* deduplication: the pass that last saw this node */
    const char *label; /* the trace's name for it (crew_node_set_label) */
};
_Static_assert(sizeof(void *) != 8 || sizeof(crew_node) == 128,
               "a node is two cache lines");

struct crew_graph {
    _Atomic int state;    /* GRAPH_*: see graph_acquire */
    crew_node **chunks;   /* chunks of CHUNK_NODES nodes */
    size_t nchunks, chunks_cap;
    uint32_t n;           /* nodes */
    int dirty;            /* nodes or edges added since the last preparation */
    uint64_t stamp;       /* deduplication passes so far */
    /* Indexed by node id, sized by the last preparation. pending: the
     * node's predecessors that have not returned in this run, reset to
     * npred (its distinct predecessors) before each run. Dense, so that a
     * decrement touches 4 bytes, not the node's cache line. */
    _Atomic uint32_t *pending;
    uint32_t *npred;
    crew_node **order;    /* a topological order; order[0, nroots) are roots */
    uint32_t prepared_cap, nroots;
};

static crew_node *node_at(const crew_graph *g, uint32_t id)
{
    return &g->chunks[id >> CHUNK_SHIFT][id & (CHUNK_NODES - 1)];
}

/* ---- the state word ---- */

/* Moves the graph from idle to `to`. An edit in progress on another thread
 * is waited for (it takes a few instructions and never blocks); a running
 * graph gives EBUSY. Acquire: we see what the last editor or run wrote. */
static int graph_acquire(crew_graph *g, int to)
{
    for (;;) {
        int expect = GRAPH_IDLE;
        if (atomic_compare_exchange_weak_explicit(&g->state, &expect, to,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return 0;
        if (expect == GRAPH_RUNNING)
            return EBUSY;
        if (expect == GRAPH_EDITING)
            sched_yield();
    }
}

/* Release: the next editor or run sees our writes (and, after a run, every
 * node's result and counter, which the run's final sync made ours). */
static void graph_release(crew_graph *g)
{
    atomic_store_explicit(&g->state, GRAPH_IDLE, memory_order_release);
}

/* ---- building ---- */

crew_graph *crew_graph_create(void)
{
    crew_graph *g = crew_calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL; /* errno ENOMEM */
    atomic_init(&g->state, GRAPH_IDLE);
    return g;
}

/* Room for node number g->n: 0 or ENOMEM (nothing changed). */
static int reserve_node(crew_graph *g)
{
    if (g->n >= MAX_NODES)
        return ENOMEM;
    if ((size_t)g->n < g->nchunks * CHUNK_NODES)
        return 0;
    if (g->nchunks == g->chunks_cap) {
        size_t cap = g->chunks_cap ? 2 * g->chunks_cap : 16;
        crew_node **c = crew_malloc(cap * sizeof(*c));
        if (c == NULL)
            return ENOMEM;
        if (g->nchunks > 0)
            memcpy(c, g->chunks, g->nchunks * sizeof(*c));
        free(g->chunks);
        g->chunks = c;
        g->chunks_cap = cap;
    }
    crew_node *chunk = crew_aligned_alloc(64, CHUNK_NODES * sizeof(*chunk));
    if (chunk == NULL)
        return ENOMEM;
    g->chunks[g->nchunks++] = chunk;
    return 0;
}

crew_node *crew_graph_add(crew_graph *g, crew_fn fn, void *arg)
{
    if (g == NULL || fn == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (graph_acquire(g, GRAPH_EDITING) != 0) {
        errno = EINVAL; /* crew.h: adding to a running graph is EINVAL */
        return NULL;
    }
    int rc = reserve_node(g);
    if (rc != 0) {
        graph_release(g);
        errno = rc;
        return NULL;
    }
    crew_node *node = node_at(g, g->n);
    memset(node, 0, sizeof(*node));
    node->fn = fn;
    node->arg = arg;
    node->graph = g;
    node->id = g->n;
    g->n++;
    g->dirty = 1;
    graph_release(g);
    return node;
}

/* Drops repeated entries of u's successor list, keeping the first of each,
 * in one pass: a successor whose stamp is this pass's was seen already. */
static void dedupe_successors(crew_graph *g, crew_node *u)
{
    uint64_t stamp = ++g->stamp;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < u->nsucc; i++) {
        crew_node *v = node_at(g, u->succ[i] & ID_MASK);
        if (v->stamp == stamp)
            continue;
        v->stamp = stamp;
        u->succ[kept++] = u->succ[i];
    }
    u->nsucc = kept;
    u->checked = kept;
}

/* Room for one more successor of u: 0 or ENOMEM (the list unchanged, up to
 * removed duplicates). A full list is deduplicated first and grows only if
 * that freed less than half of it: repeated edges never cost memory, and
 * each pass is paid for by the appends since the previous one. */
static int reserve_successor(crew_graph *g, crew_node *u)
{
    if (u->nsucc < u->cap)
        return 0;
    if (u->checked < u->nsucc) {
        dedupe_successors(g, u);
        if (u->nsucc <= u->cap / 2)
            return 0;
    }
    if (u->cap > UINT32_MAX / 2)
        return ENOMEM;
    uint32_t cap = u->cap ? 2 * u->cap : 4;
    uint32_t *s = crew_malloc((size_t)cap * sizeof(*s));
    if (s == NULL)
        return ENOMEM;
    if (u->nsucc > 0)
        memcpy(s, u->succ, (size_t)u->nsucc * sizeof(*s));
    free(u->succ);
    u->succ = s;
    u->cap = cap;
    return 0;
}

int crew_graph_precede(crew_node *before, crew_node *after)
{
    if (before == NULL || after == NULL || before == after ||
        before->graph != after->graph)
        return EINVAL;
    crew_graph *g = before->graph;
    int rc = graph_acquire(g, GRAPH_EDITING);
    if (rc != 0)
        return rc;
    /* The cheapest duplicate to spot: the edge just added. */
    if (before->nsucc > 0 && (before->succ[before->nsucc - 1] & ID_MASK) == after->id) {
        graph_release(g);
        return 0;
    }
    rc = reserve_successor(g, before);
    if (rc == 0) {
        before->succ[before->nsucc++] = after->id;
        g->dirty = 1;
    }
    graph_release(g);
    return rc;
}

int crew_node_set_label(crew_node *n, const char *label)
{
    if (n == NULL)
        return EINVAL;
    int rc = graph_acquire(n->graph, GRAPH_EDITING);
    if (rc != 0)
        return rc;
    n->label = label;
    graph_release(n->graph);
    return 0;
}

void *crew_node_result(const crew_node *n)
{
    return n == NULL ? NULL : n->result;
}

void crew_graph_destroy(crew_graph *g)
{
    if (g == NULL)
        return;
    /* crew.h forbids destroying a running graph; refusing (and leaking it)
     * beats freeing memory its workers are using. */
    if (graph_acquire(g, GRAPH_EDITING) != 0)
        return;
    for (uint32_t id = 0; id < g->n; id++)
        free(node_at(g, id)->succ);
    for (size_t c = 0; c < g->nchunks; c++)
        free(g->chunks[c]);
    free(g->chunks);
    free(g->pending);
    free(g->npred);
    free(g->order);
    free(g);
}

/* ---- preparing a run ---- */

/* Room for the per-node arrays: 0 or ENOMEM (the old ones kept). They
 * grow by half again at least, so a graph that gains a node before each
 * run does not reallocate each time. */
static int reserve_prepared(crew_graph *g)
{
    if (g->prepared_cap >= g->n)
        return 0;
    size_t cap = (size_t)g->prepared_cap + g->prepared_cap / 2;
    if (cap < g->n)
        cap = g->n;
    if (cap > MAX_NODES)
        cap = MAX_NODES;
    _Atomic uint32_t *pending = crew_malloc(cap * sizeof(*pending));
    uint32_t *npred = crew_malloc(cap * sizeof(*npred));
    crew_node **order = crew_malloc(cap * sizeof(*order));
    if (pending == NULL || npred == NULL || order == NULL) {
        free(pending);
        free(npred);
        free(order);
        return ENOMEM;
    }
    free(g->pending);
    free(g->npred);
    free(g->order);
    g->pending = pending;
    g->npred = npred;
    g->order = order;
    g->prepared_cap = (uint32_t)cap;
    return 0;
}

/* After nodes or edges were added: deduplicate, count predecessors, and
 * order the nodes with Kahn's algorithm (a loop over a queue: no
 * recursion, whatever the graph's depth). 0, ELOOP (a cycle: the nodes
 * Kahn never reaches) or ENOMEM. The counters serve as the remaining
 * in-degrees here; nothing runs, so relaxed accesses do. */
static int prepare_structure(crew_graph *g)
{
    int rc = reserve_prepared(g);
    if (rc != 0)
        return rc;
    memset(g->npred, 0, (size_t)g->n * sizeof(*g->npred));
    for (uint32_t id = 0; id < g->n; id++) {
        crew_node *u = node_at(g, id);
        if (u->checked < u->nsucc)
            dedupe_successors(g, u);
        for (uint32_t i = 0; i < u->nsucc; i++)
            g->npred[u->succ[i] & ID_MASK]++;
    }
    uint32_t tail = 0;
    for (uint32_t id = 0; id < g->n; id++) {
        atomic_store_explicit(&g->pending[id], g->npred[id], memory_order_relaxed);
        if (g->npred[id] == 0)
            g->order[tail++] = node_at(g, id);
    }
    g->nroots = tail;
    for (uint32_t head = 0; head < tail; head++) {
        crew_node *u = g->order[head];
        for (uint32_t i = 0; i < u->nsucc; i++) {
            uint32_t v = u->succ[i] & ID_MASK;
            uint32_t left = atomic_load_explicit(&g->pending[v], memory_order_relaxed) - 1;
            atomic_store_explicit(&g->pending[v], left, memory_order_relaxed);
            if (left == 0)
                g->order[tail++] = node_at(g, v);
        }
    }
    if (tail != g->n)
        return ELOOP; /* stays dirty: the next run looks again */
    for (uint32_t id = 0; id < g->n; id++) {
        crew_node *u = node_at(g, id);
        for (uint32_t i = 0; i < u->nsucc; i++) {
            uint32_t v = u->succ[i] & ID_MASK;
            u->succ[i] = g->npred[v] == 1 ? v | SOLE_PREDECESSOR : v;
        }
    }
    g->dirty = 0;
    return 0;
}

static int prepare_run(crew_graph *g)
{
    if (g->dirty) {
        int rc = prepare_structure(g);
        if (rc != 0)
            return rc;
    }
    /* Relaxed: crew_run publishes the root task after these stores (a
     * seq_cst store into the injection queue, which the worker loads with
     * seq_cst), and a nested run's root runs on this very thread. */
    for (uint32_t id = 0; id < g->n; id++)
        atomic_store_explicit(&g->pending[id], g->npred[id], memory_order_relaxed);
    return 0;
}

/* ---- running ---- */

/* Graph frames on this thread's stack now (see MAX_NESTED_FRAMES). */
static _Thread_local unsigned nested_frames;

/* The node whose record this thread's innermost graph frame is syncing:
 * if crew_sync calls node_task for it here, nobody stole it, and the frame
 * runs it in its own loop instead of nesting a frame inside crew_sync. */
static _Thread_local crew_node *syncing;

/* node_task's answer to such a sync. */
static char run_here_marker;
#define RUN_HERE ((void *)&run_here_marker)

static void run_frame(crew_node *first, crew_node *const *more, uint32_t nmore);

/* A spawned node's task. On a thief it runs the node, and what becomes
 * ready after it, in a frame of its own. */
static void *node_task(void *arg)
{
    crew_node *node = arg;
    if (syncing == node)
        return RUN_HERE;
    run_frame(node, NULL, 0);
    return NULL;
}

/* `node` is ready and the current chain goes on without it: push it on
 * the frame's stack of deferred nodes and spawn it (a thief may take it),
 * unless the frame is past MAX_NESTED_FRAMES. */
static crew_node *defer_node(crew_node *deferred, crew_node *node, int may_spawn)
{
    node->deferred_next = deferred;
    if (may_spawn)
        crew_spawn(&node->task, node_task, node);
    return node;
}

/* Runs `first`, then everything that becomes ready along the way and that
 * no thief takes, in a loop; `more` are further ready nodes (the roots).
 * Returns when every node it spawned has been synced. */
static void run_frame(crew_node *first, crew_node *const *more, uint32_t nmore)
{
    const int may_spawn = nested_frames < MAX_NESTED_FRAMES;
    nested_frames++;
    /* A traced pool records every node's run: one test per frame when the
     * pool does not trace. */
    crew_worker *self = crew_self();
    crew_worker *traced = self;
    if (traced != NULL && traced->pool->trace_path == NULL)
        traced = NULL;
    crew_graph *g = first->graph;
    _Atomic uint32_t *pending = g->pending;
    crew_node *deferred = NULL; /* newest first */
    for (uint32_t i = nmore; i-- > 0;)
        deferred = defer_node(deferred, more[i], may_spawn);
    crew_node *cur = first;
    for (;;) {
        while (cur != NULL) {
            crew_trace_event *ev = traced != NULL ? crew_trace(traced, CREW_TRACE_NODE) : NULL;
            cur->result = cur->fn(cur->arg);
            if (ev != NULL) {
                ev->what = *(const void **)&cur->fn;
                ev->label = cur->label;
                ev->end_ns = crew_trace_now_ns();
            }
            crew_node *next = NULL;
            const uint32_t *succ = cur->succ;
            uint32_t nsucc = cur->nsucc;
            for (uint32_t i = 0; i < nsucc; i++) {
                uint32_t id = succ[i] & ID_MASK;
                /* A sole predecessor needs no counter. Otherwise the
                 * decrement releases our node's effects to whoever runs
                 * the successor, and the last one acquires the others'. */
                if (!(succ[i] & SOLE_PREDECESSOR) &&
                    atomic_fetch_sub_explicit(&pending[id], 1, memory_order_acq_rel) != 1)
                    continue;
                crew_node *s = node_at(g, id);
                if (next == NULL)
                    next = s;
                else
                    deferred = defer_node(deferred, s, may_spawn);
            }
            cur = next;
        }
        /* The chain ended: sync the newest deferred node's record (the
         * LIFO order crew_sync requires). Not stolen: node_task returns
         * RUN_HERE and we run it in this loop. Stolen: crew_sync returns
         * once the thief has run it (leapfrogging meanwhile). */
        while (cur == NULL && deferred != NULL) {
            crew_node *s = deferred;
            deferred = s->deferred_next;
            if (!may_spawn) {
                cur = s;
                break;
            }
            /* This frame spawns nothing more (a wide graph spawns its
             * ready nodes at once and then only syncs them): answer a
             * thief's request here, as a spawn would. */
            if (self != NULL)
                crew_answer_request(self);
            crew_node *outer = syncing;
            syncing = s;
            void *r = crew_sync(&s->task);
            syncing = outer;
            if (r == RUN_HERE)
                cur = s;
        }
        if (cur == NULL)
            break;
    }
    nested_frames--;
}

static void *graph_root(void *arg)
{
    crew_graph *g = arg;
    run_frame(g->order[0], g->order + 1, g->nroots - 1);
    return NULL;
}

int crew_graph_run(crew_pool *pool, crew_graph *g)
{
    if (pool == NULL || g == NULL)
        return EINVAL;
    int rc = graph_acquire(g, GRAPH_RUNNING);
    if (rc != 0)
        return rc;
    rc = prepare_run(g);
    /* An acyclic graph with nodes has a root. From one of pool's workers,
     * crew_run calls graph_root directly (a nested run); otherwise the
     * caller sleeps until a worker has run it, every frame synced. */
    if (rc == 0 && g->n > 0)
        rc = crew_run(pool, graph_root, g, NULL);
    graph_release(g);
    return rc;
}
