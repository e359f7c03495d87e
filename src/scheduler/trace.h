/*
 * The opt-in trace (docs/trace.md): when a pool is created with
 * crew_config.trace_path (or the CREW_TRACE environment variable naming a
 * file), each worker records task spans, graph node and loop piece spans,
 * steals and sleeps into its own buffer (owner only, no lock, no atomic
 * RMW), and crew_pool_destroy writes them as Chrome trace-event JSON (one
 * process per pool, named after the pool, one row per worker), readable by
 * chrome://tracing, Perfetto and speedscope.
 *
 * Cost when off: one predictable branch on paths that are already slow
 * (a stolen or detached task, a steal, a sleep), once per graph frame and
 * once per loop task; spawns that run inline at their sync are never
 * traced, so the spawn/sync fast path is untouched.
 */
#ifndef CREW_SCHED_TRACE_H
#define CREW_SCHED_TRACE_H

#include <stdint.h>
#include <stdio.h>

enum crew_trace_kind {
    CREW_TRACE_TASK = 1,  /* a span: a task that was stolen or queued */
    CREW_TRACE_SLEEP = 2, /* a span: the worker slept */
    CREW_TRACE_STEAL = 3, /* an instant: took a task from another worker */
    CREW_TRACE_NODE = 4,  /* a span: a graph node ran */
    CREW_TRACE_PIECE = 5, /* a span: a subrange of a parallel loop ran */
};

typedef struct crew_trace_event {
    uint64_t start_ns, end_ns;
    const void *what;  /* the function that ran (a task's, a node's, a loop's) */
    const char *label; /* the user's label, or NULL */
    uint32_t kind;
    uint32_t arg;      /* a steal's victim index */
    uint64_t begin, end; /* a loop piece's subrange */
} crew_trace_event;

/* One worker's buffer. */
typedef struct crew_trace_buf {
    crew_trace_event *events;
    uint32_t count, capacity;
    uint64_t dropped; /* events past capacity */
} crew_trace_buf;

/* Workers whose events are written (more is unusual on one machine). */
#define CREW_TRACE_MAX_WORKERS 4096

/* Events a worker keeps at most (each is 56 bytes). */
#define CREW_TRACE_CAPACITY (1u << 20)

uint64_t crew_trace_now_ns(void);

/* Owner only. Returns the event to fill, or NULL when the buffer is full. */
crew_trace_event *crew_trace_add(crew_trace_buf *b, uint32_t kind);

void crew_trace_buf_free(crew_trace_buf *b);

/* The file a pool traces to: `requested`, with %p replaced by the process
 * id and %n by the pool's trace number (1 for the first pool of the
 * process that traces, 2 for the next...); a path without %n that another
 * pool of this process used already gets ".N" before its extension, so no
 * pool's file overwrites another's. A new string (the caller frees it),
 * or NULL with errno ENOMEM; *number gets the pool's trace number. */
char *crew_trace_claim_path(const char *requested, unsigned *number);

/* Writes the buffers as JSON to path: one process (pid `number`) named
 * after `pool_name`, a row per worker ("<pool_name>-<i>"). 0 or an errno
 * value. */
int crew_trace_write(const char *path, const char *pool_name, unsigned number,
                     crew_trace_buf *const *bufs, unsigned n, uint64_t origin_ns);

/* The calling thread's label for the tasks it submits, posts, and the
 * loops and graph runs it starts (crew_trace_label's storage). */
const char *crew_trace_current_label(void);

#endif
