/*
 * crew: a lock-free work-stealing task runtime for C11.
 *
 * This header is the manual's table of contents: every public name lives
 * here. Conventions (see docs/api.md):
 *   - an int result is 0 or a positive errno value (as pthreads does);
 *   - a pointer result is NULL on failure, with errno set;
 *   - bad arguments give EINVAL, never a crash.
 */
#ifndef CREW_H
#define CREW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CREW_API __attribute__((visibility("default")))
#else
#define CREW_API
#endif

#define CREW_VERSION_MAJOR 0
#define CREW_VERSION_MINOR 1
#define CREW_VERSION_PATCH 0
#define CREW_VERSION_STRING "0.1.0"

/* The version of the library actually linked, "MAJOR.MINOR.PATCH". */
CREW_API const char *crew_version(void);

/* ------------------------------------------------------------------ */
/* Object pool: a lock-free, ABA-safe free list of reusable objects.   */
/* ------------------------------------------------------------------ */

typedef struct crew_objpool crew_objpool;

typedef struct crew_objpool_config {
    size_t obj_size;                    /* bytes per object, > 0 */
    size_t max_idle;                    /* most released objects kept for reuse; 0: unlimited */
    int  (*init)(void *obj, void *ctx); /* optional: build a new object; 0 or an errno value */
    void (*reset)(void *obj, void *ctx);/* optional: on release, before reuse */
    void (*fini)(void *obj, void *ctx); /* optional: before the memory is freed */
    void  *ctx;
} crew_objpool_config;

typedef struct crew_objpool_stats {
    uint64_t created; /* objects built (init succeeded) */
    uint64_t reused;  /* acquires served by an idle object */
    uint64_t freed;   /* objects finalized and freed (past max_idle, or at destroy) */
    uint64_t idle;    /* released objects waiting for reuse now */
} crew_objpool_stats;

/* NULL cfg, obj_size 0 or absurd sizes: NULL with errno EINVAL. */
CREW_API crew_objpool *crew_objpool_create(const crew_objpool_config *cfg);
/* A reused or new object, aligned for max_align_t; NULL + errno (ENOMEM,
 * or init's value, or EINVAL for a NULL pool). Any thread, lock-free. */
CREW_API void *crew_objpool_acquire(crew_objpool *p);
/* Any thread, lock-free. NULL p or obj: does nothing. */
CREW_API void crew_objpool_release(crew_objpool *p, void *obj);
/* Every object must be released first. NULL: does nothing. */
CREW_API void crew_objpool_destroy(crew_objpool *p);
/* Counts; exact when no acquire or release is in flight. */
CREW_API void crew_objpool_stats_get(const crew_objpool *p, crew_objpool_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* CREW_H */
