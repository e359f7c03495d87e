#include "scheduler/trace.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <crew.h>

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
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->start_ns = e->end_ns = crew_trace_now_ns();
    return e;
}

void crew_trace_buf_free(crew_trace_buf *b)
{
    free(b->events);
    b->events = NULL;
    b->count = b->capacity = 0;
}

/* ---- labels ---- */

static _Thread_local const char *thread_label;

const char *crew_trace_label(const char *label)
{
    const char *old = thread_label;
    thread_label = label;
    return old;
}

const char *crew_trace_current_label(void)
{
    return thread_label;
}

/* ---- file names ---- */

/* The paths pools of this process traced to, and how many did: so that a
 * second pool traces beside the first instead of over it. Create only. */
typedef struct used_path {
    struct used_path *next;
    unsigned uses;
    char path[];
} used_path;

static pthread_mutex_t paths_lock = PTHREAD_MUTEX_INITIALIZER;
static used_path *paths;
static unsigned pools_traced;

/* How often `path` was claimed before (and counts this claim); -1 when
 * out of memory. */
static int count_use(const char *path)
{
    for (used_path *u = paths; u != NULL; u = u->next)
        if (strcmp(u->path, path) == 0)
            return (int)u->uses++;
    size_t len = strlen(path) + 1;
    used_path *u = crew_malloc(sizeof(*u) + len);
    if (u == NULL)
        return -1;
    memcpy(u->path, path, len);
    u->uses = 1;
    u->next = paths;
    paths = u;
    return 0;
}

/* `requested` with %p and %n expanded (%% is a percent sign). */
static char *expand(const char *requested, unsigned number)
{
    size_t cap = strlen(requested) + 64;
    char *out = crew_malloc(cap);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (const char *s = requested; *s != '\0' && o + 24 < cap; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            o += (size_t)snprintf(out + o, cap - o, "%ld", (long)getpid());
            s++;
        } else if (s[0] == '%' && s[1] == 'n') {
            o += (size_t)snprintf(out + o, cap - o, "%u", number);
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            out[o++] = '%';
            s++;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return out;
}

/* path with ".N" inserted before its extension (or at its end). */
static char *numbered(const char *path, unsigned n)
{
    size_t len = strlen(path);
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    size_t cut = dot != NULL && (slash == NULL || dot > slash) && dot != path ? (size_t)(dot - path) : len;
    char *out = crew_malloc(len + 16);
    if (out == NULL)
        return NULL;
    snprintf(out, len + 16, "%.*s.%u%s", (int)cut, path, n, path + cut);
    return out;
}

char *crew_trace_claim_path(const char *requested, unsigned *number_out)
{
    pthread_mutex_lock(&paths_lock);
    unsigned number = ++pools_traced;
    *number_out = number;
    char *path = expand(requested, number);
    if (path != NULL && strstr(requested, "%n") == NULL) {
        int before = count_use(path);
        if (before < 0) {
            free(path);
            path = NULL;
        } else if (before > 0) {
            char *other = numbered(path, (unsigned)before + 1);
            free(path);
            path = other;
        }
    }
    pthread_mutex_unlock(&paths_lock);
    if (path == NULL)
        errno = ENOMEM;
    return path;
}

/* ---- names of functions ---- */

/* A module's static symbols, read from its ELF .symtab (functions the
 * dynamic linker does not know: `static` ones, and a program's own unless
 * it was linked -rdynamic). */
typedef struct module_syms {
    char path[512];
    uintptr_t base;  /* dli_fbase */
    int relative;    /* ET_DYN: symbol values are offsets from base */
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *strtab;
    void *map;
    size_t map_len;
} module_syms;

enum { MAX_MODULES = 16 };

typedef struct name_cache {
    module_syms mods[MAX_MODULES];
    unsigned n;
} name_cache;

static void module_load(module_syms *m)
{
    m->syms = NULL;
    m->map = NULL;
    int fd = open(m->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(Elf64_Ehdr)) {
        close(fd);
        return;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    m->map = map;
    m->map_len = (size_t)st.st_size;
    const unsigned char *img = map;
    const Elf64_Ehdr *eh = map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > m->map_len)
        return;
    m->relative = eh->e_type == ET_DYN;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > m->map_len ||
            str->sh_offset + str->sh_size > m->map_len || str->sh_size == 0)
            return;
        m->syms = (const Elf64_Sym *)(img + sh[i].sh_offset);
        m->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
        m->strtab = (const char *)(img + str->sh_offset);
        /* The string table must end in a NUL for strings read from it. */
        if (m->strtab[str->sh_size - 1] != '\0')
            m->syms = NULL;
        return;
    }
}

static module_syms *module_of(name_cache *c, const char *path, uintptr_t base)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->mods[i].base == base && strcmp(c->mods[i].path, path) == 0)
            return &c->mods[i];
    if (c->n == MAX_MODULES)
        return NULL;
    module_syms *m = &c->mods[c->n++];
    snprintf(m->path, sizeof m->path, "%s", path);
    m->base = base;
    module_load(m);
    return m;
}

static void name_cache_free(name_cache *c)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->mods[i].map != NULL)
            munmap(c->mods[i].map, c->mods[i].map_len);
    c->n = 0;
}

/* Copies s into out as the inside of a JSON string. */
static void json_text(char *out, size_t size, const char *s)
{
    size_t o = 0;
    for (; *s != '\0' && o + 7 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = '\0';
}

/* A function's label for the viewer (name) and where it is, for addr2line
 * (module and offset, as JSON members, or empty). */
static void describe(name_cache *c, const void *fn, const char *label, char *name,
                     size_t nsize, char *where, size_t wsize)
{
    where[0] = '\0';
    const char *sym = NULL;
    Dl_info info;
    if (fn != NULL && dladdr(fn, &info) != 0 && info.dli_fname != NULL) {
        uintptr_t addr = (uintptr_t)fn, base = (uintptr_t)info.dli_fbase;
        if (info.dli_sname != NULL && (uintptr_t)info.dli_saddr == addr)
            sym = info.dli_sname;
        module_syms *m = module_of(c, info.dli_fname, base);
        if (sym == NULL && m != NULL && m->syms != NULL) {
            uintptr_t key = m->relative ? addr - base : addr;
            for (size_t i = 0; i < m->nsyms; i++) {
                const Elf64_Sym *s = &m->syms[i];
                if (ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_value <= key &&
                    key < s->st_value + (s->st_size ? s->st_size : 1)) {
                    sym = m->strtab + s->st_name;
                    break;
                }
            }
        }
        char module[600];
        json_text(module, sizeof module, info.dli_fname);
        snprintf(where, wsize, "\"module\": \"%s\", \"offset\": \"0x%" PRIxPTR "\"", module,
                 addr - base);
    }
    char text[400];
    if (label != NULL)
        json_text(text, sizeof text, label);
    else if (sym != NULL)
        json_text(text, sizeof text, sym);
    else if (fn != NULL)
        snprintf(text, sizeof text, "task %p", fn);
    else
        snprintf(text, sizeof text, "task");
    snprintf(name, nsize, "%s", text);
}

/* The names shown, each with the place of the function behind it (the
 * first one seen, for a label several functions share): written once, in
 * the file's "otherData", so that spans stay plain names in every viewer
 * (speedscope shows a span's args as part of its name). */
typedef struct located {
    char name[400], where[700];
} located;

typedef struct locations {
    located *items;
    size_t n, cap;
} locations;

static void locate(locations *l, const char *name, const char *where)
{
    if (where[0] == '\0')
        return;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        located *items = crew_malloc(cap * sizeof(*items));
        if (items == NULL)
            return; /* the span is still written; only its place is not */
        if (l->n > 0)
            memcpy(items, l->items, l->n * sizeof(*items));
        free(l->items);
        l->items = items;
        l->cap = cap;
    }
    snprintf(l->items[l->n].name, sizeof l->items[l->n].name, "%s", name);
    snprintf(l->items[l->n].where, sizeof l->items[l->n].where, "%s", where);
    l->n++;
}

static const char *span_category(uint32_t kind)
{
    return kind == CREW_TRACE_TASK ? "task" : kind == CREW_TRACE_NODE ? "node" : "piece";
}

int crew_trace_write(const char *path, const char *pool_name, unsigned number,
                     crew_trace_buf *const *bufs, unsigned n, uint64_t origin_ns)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return errno;
    char pname[128];
    json_text(pname, sizeof pname, pool_name);
    name_cache *cache = crew_calloc(1, sizeof(*cache)); /* NULL: names are addresses */
    locations where_list = {NULL, 0, 0};
    fprintf(f, "{\"displayTimeUnit\": \"ns\", \"traceEvents\": [\n");
    fprintf(f, "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": %u, \"tid\": 0, "
               "\"args\": {\"name\": \"crew pool %s\"}}",
            number, pname);
    for (unsigned w = 0; w < n; w++) {
        fprintf(f, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": %u, \"tid\": %u, "
                   "\"args\": {\"name\": \"%s-%u\"}}",
                number, w, pname, w);
        const crew_trace_buf *b = bufs[w];
        for (uint32_t i = 0; i < b->count; i++) {
            const crew_trace_event *e = &b->events[i];
            double ts = (double)(e->start_ns - origin_ns) / 1000.0;
            double dur = (double)(e->end_ns - e->start_ns) / 1000.0;
            char name[400], where[700];
            switch (e->kind) {
            case CREW_TRACE_TASK:
            case CREW_TRACE_NODE:
            case CREW_TRACE_PIECE:
                if (cache != NULL) {
                    describe(cache, e->what, e->label, name, sizeof name, where, sizeof where);
                    locate(&where_list, name, where);
                } else {
                    snprintf(name, sizeof name, "%s", e->label != NULL ? "labelled task" : "task");
                }
                fprintf(f, ",\n{\"name\": \"%s\", \"cat\": \"%s\", \"ph\": \"X\", "
                           "\"pid\": %u, \"tid\": %u, \"ts\": %.3f, \"dur\": %.3f",
                        name, span_category(e->kind), number, w, ts, dur);
                if (e->kind == CREW_TRACE_PIECE)
                    fprintf(f, ", \"args\": {\"begin\": %" PRIu64 ", \"end\": %" PRIu64 "}",
                            e->begin, e->end);
                fprintf(f, "}");
                break;
            case CREW_TRACE_SLEEP:
                fprintf(f, ",\n{\"name\": \"sleep\", \"cat\": \"sleep\", \"ph\": \"X\", "
                           "\"pid\": %u, \"tid\": %u, \"ts\": %.3f, \"dur\": %.3f}",
                        number, w, ts, dur);
                break;
            case CREW_TRACE_STEAL:
                fprintf(f, ",\n{\"name\": \"steal\", \"cat\": \"steal\", \"ph\": \"i\", "
                           "\"s\": \"t\", \"pid\": %u, \"tid\": %u, \"ts\": %.3f, "
                           "\"args\": {\"victim\": %u}}",
                        number, w, ts, e->arg);
                break;
            }
        }
        if (b->dropped != 0)
            fprintf(f, ",\n{\"name\": \"trace full: %" PRIu64 " events dropped\", \"ph\": "
                       "\"i\", \"s\": \"t\", \"pid\": %u, \"tid\": %u, \"ts\": 0}",
                    b->dropped, number, w);
    }
    /* Where each named function is: `addr2line -f -e MODULE OFFSET`. */
    fprintf(f, "\n], \"otherData\": {\"pool\": \"%s\", \"functions\": {", pname);
    for (size_t i = 0; i < where_list.n; i++)
        fprintf(f, "%s\n\"%s\": {%s}", i ? "," : "", where_list.items[i].name,
                where_list.items[i].where);
    fprintf(f, "}}}\n");
    free(where_list.items);
    if (cache != NULL) {
        name_cache_free(cache);
        free(cache);
    }
    int rc = ferror(f) ? EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = errno;
    return rc;
}
