#include "scheduler/trace.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "common/alloc.h"

uint64_t crew_trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

crew_trace_event *crew_trace_add(crew_trace_buf *b, uint32_t kind)
{
    if (b->events == NULL) {
        /* Allocated on first use, by the owner: off the measured path of
         * a pool that never traces, and once per worker otherwise. */
        b->events = crew_malloc(CREW_TRACE_CAPACITY * sizeof(*b->events));
        if (b->events == NULL) {
            b->capacity = 0;
            b->dropped++;
            return NULL;
        }
        b->capacity = CREW_TRACE_CAPACITY;
    }
    if (b->count == b->capacity) {
        b->dropped++;
        return NULL;
    }
    crew_trace_event *e = &b->events[b->count++];
    e->kind = kind;
    e->what = NULL;
    e->arg = 0;
    e->start_ns = e->end_ns = crew_trace_now_ns();
    return e;
}

void crew_trace_buf_free(crew_trace_buf *b)
{
    free(b->events);
    b->events = NULL;
    b->count = b->capacity = 0;
}

/* A function's name for the viewer: its symbol if the dynamic linker knows
 * it, else its address. JSON-safe: symbol names are C identifiers. */
static void name_of(const void *fn, char *out, size_t size)
{
    Dl_info info;
    /* dladdr takes a data pointer; a function's address converts. */
    if (fn != NULL && dladdr(*(void *const *)&fn, &info) != 0 && info.dli_sname != NULL)
        snprintf(out, size, "%s", info.dli_sname);
    else
        snprintf(out, size, "task %p", fn);
}

int crew_trace_write(const char *path, crew_trace_buf *const *bufs, unsigned n,
                     uint64_t origin_ns)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return errno;
    fprintf(f, "{\"displayTimeUnit\": \"ns\", \"traceEvents\": [\n");
    fprintf(f, "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, "
               "\"args\": {\"name\": \"crew pool\"}}");
    for (unsigned w = 0; w < n; w++) {
        fprintf(f, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %u, "
                   "\"args\": {\"name\": \"worker %u\"}}",
                w, w);
        const crew_trace_buf *b = bufs[w];
        for (uint32_t i = 0; i < b->count; i++) {
            const crew_trace_event *e = &b->events[i];
            double ts = (double)(e->start_ns - origin_ns) / 1000.0;
            double dur = (double)(e->end_ns - e->start_ns) / 1000.0;
            char name[160];
            switch (e->kind) {
            case CREW_TRACE_TASK:
                name_of(e->what, name, sizeof name);
                fprintf(f, ",\n{\"name\": \"%s\", \"cat\": \"task\", \"ph\": \"X\", "
                           "\"pid\": 1, \"tid\": %u, \"ts\": %.3f, \"dur\": %.3f}",
                        name, w, ts, dur);
                break;
            case CREW_TRACE_SLEEP:
                fprintf(f, ",\n{\"name\": \"sleep\", \"cat\": \"sleep\", \"ph\": \"X\", "
                           "\"pid\": 1, \"tid\": %u, \"ts\": %.3f, \"dur\": %.3f}",
                        w, ts, dur);
                break;
            case CREW_TRACE_STEAL:
                fprintf(f, ",\n{\"name\": \"steal\", \"cat\": \"steal\", \"ph\": \"i\", "
                           "\"s\": \"t\", \"pid\": 1, \"tid\": %u, \"ts\": %.3f, "
                           "\"args\": {\"victim\": %u}}",
                        w, ts, e->arg);
                break;
            }
        }
        if (b->dropped != 0)
            fprintf(f, ",\n{\"name\": \"trace full: %" PRIu64 " events dropped\", \"ph\": "
                       "\"i\", \"s\": \"t\", \"pid\": 1, \"tid\": %u, \"ts\": 0}",
                    b->dropped, w);
    }
    fprintf(f, "\n]}\n");
    int rc = ferror(f) ? EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = errno;
    return rc;
}
