/*
 * The opt-in trace: when a pool is created with crew_config.trace_path (or
 * the CREW_TRACE environment variable naming a file), each worker records
 * task start and end, steals and sleeps into its own buffer (owner only, no
 * lock, no atomic RMW), and crew_pool_destroy writes them as Chrome
 * trace-event JSON (chrome://tracing, Perfetto: one row per worker).
 *
 * Cost when off: one predictable branch on paths that are already slow
 * (a stolen or detached task, a steal, a sleep); spawns that run inline at
 * sync are never traced, so the spawn/sync fast path is untouched.
 */
#ifndef CREW_SCHED_TRACE_H
#define CREW_SCHED_TRACE_H

#include <stdint.h>
#include <stdio.h>

enum crew_trace_kind {
    CREW_TRACE_TASK = 1,  /* a span: a task that was stolen or queued */
    CREW_TRACE_SLEEP = 2, /* a span: the worker slept */
    CREW_TRACE_STEAL = 3, /* an instant: took a task from another worker */
};

typedef struct crew_trace_event {
    uint64_t start_ns, end_ns;
    const void *what; /* the task's function, or the victim for a steal */
    uint32_t kind;
    uint32_t arg; /* a steal's victim index */
} crew_trace_event;

/* One worker's buffer. */
typedef struct crew_trace_buf {
    crew_trace_event *events;
    uint32_t count, capacity;
    uint64_t dropped; /* events past capacity */
} crew_trace_buf;

/* Workers whose events are written (more is unusual on one machine). */
#define CREW_TRACE_MAX_WORKERS 4096

/* Events a worker keeps at most (each is 32 bytes). */
#define CREW_TRACE_CAPACITY (1u << 20)

uint64_t crew_trace_now_ns(void);

/* Owner only. Returns the event to fill, or NULL when the buffer is full. */
crew_trace_event *crew_trace_add(crew_trace_buf *b, uint32_t kind);

void crew_trace_buf_free(crew_trace_buf *b);

/* Writes the buffers as JSON to path. 0 or an errno value. */
int crew_trace_write(const char *path, crew_trace_buf *const *bufs, unsigned n,
                     uint64_t origin_ns);

#endif
