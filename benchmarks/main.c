/* crew-bench WORKLOAD [--impl NAME] [--workers N] [--n SIZE] [--repeat R] */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct workload {
    const char *name, *help;
    int (*run)(const bench_opts *o);
} workload;

#define BENCH_ENTRY(name, help) {#name, help, bench_##name},
static const workload workloads[] = {BENCH_WORKLOADS(BENCH_ENTRY)};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

int bench_known_workload(const char *name)
{
    for (size_t i = 0; i < NWORKLOADS; i++)
        if (strcmp(name, workloads[i].name) == 0)
            return 1;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: crew-bench WORKLOAD [--impl NAME] [--workers N] "
               "[--n SIZE] [--repeat R]\n"
               "       crew-bench report [--quick] [--out DIR] [--workers N]\n"
               "       crew-bench report --from DIR/raw.txt [--out DIR]\n"
               "       crew-bench --help\n"
               "\n  --workers N  1..%d (default 2; a workload runs 1 and N)\n"
               "  --n SIZE     the problem size, 1 or more (default: the workload's)\n"
               "  --repeat R   timed runs, 1..%d (default: the workload's)\n"
               "\nexit status: 0 done, 1 a run failed (a wrong result, an error, a "
               "workload of the report), 2 bad usage\n"
               "\nworkloads:\n",
            BENCH_MAX_WORKERS, BENCH_MAX_REPEAT);
    for (size_t i = 0; i < NWORKLOADS; i++)
        fprintf(f, "  %-10s %s\n", workloads[i].name, workloads[i].help);
}

/* An option error: the message, then the usage; exit status 2. */
static int bad_usage(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "crew-bench: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n\n");
    usage(stderr);
    return 2;
}

/* A whole decimal number in [lo, hi]: 0, or -1 (not a number) or -2 (out
 * of range). */
static int parse_range(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE)
        return errno == ERANGE ? -2 : -1;
    if (v < lo || v > hi)
        return -2;
    *out = v;
    return 0;
}

/* The value of option argv[*i]: argv[*i + 1], or NULL (missing: then an
 * error was printed). */
static const char *value_of(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0) {
        bad_usage("%s needs a value%s", argv[*i], "");
        return NULL;
    }
    return argv[++*i];
}

/* A numeric option's value into *out: 0, or 2 after printing why. */
static int numeric(int argc, char **argv, int *i, long lo, long hi, long *out)
{
    const char *name = argv[*i];
    const char *v = value_of(argc, argv, i);
    if (v == NULL)
        return 2;
    int rc = parse_range(v, lo, hi, out);
    if (rc == 0)
        return 0;
    char range[64];
    snprintf(range, sizeof range, "%ld..%ld", lo, hi);
    if (rc == -1)
        return bad_usage("%s wants a whole number, not '%s'", name, v);
    fprintf(stderr, "crew-bench: %s %s is out of range (%s)\n\n", name, v, range);
    usage(stderr);
    return 2;
}

/* crew-bench report [--quick] [--out DIR] [--workers N] [--from RAW] */
static int report(int argc, char **argv)
{
    int quick = 0;
    const char *out = NULL, *from = NULL;
    long workers = 0;
    for (int i = 2; i < argc; i++) {
        int rc;
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--out") == 0) {
            if ((out = value_of(argc, argv, &i)) == NULL)
                return 2;
        } else if (strcmp(argv[i], "--from") == 0) {
            if ((from = value_of(argc, argv, &i)) == NULL)
                return 2;
        } else if (strcmp(argv[i], "--workers") == 0) {
            if ((rc = numeric(argc, argv, &i, 1, BENCH_MAX_WORKERS, &workers)) != 0)
                return rc;
        } else {
            return bad_usage("report: unknown option %s%s", argv[i], "");
        }
    }
    if (from != NULL && (quick || workers != 0))
        return bad_usage("report: --from reads results; it takes no %s%s",
                         quick ? "--quick" : "--workers", "");
    return bench_report_main(quick, out, (unsigned)workers, from);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "report") == 0)
        return report(argc, argv);
    const workload *wl = NULL;
    for (size_t i = 0; i < NWORKLOADS; i++)
        if (strcmp(argv[1], workloads[i].name) == 0)
            wl = &workloads[i];
    if (wl == NULL)
        return bad_usage("unknown workload %s%s", argv[1], "");
    bench_opts o = {0};
    for (int i = 2; i < argc; i++) {
        long v = 0;
        int rc = 0;
        if (strcmp(argv[i], "--impl") == 0) {
            if ((o.impl = value_of(argc, argv, &i)) == NULL)
                return 2;
        } else if (strcmp(argv[i], "--workers") == 0) {
            rc = numeric(argc, argv, &i, 1, BENCH_MAX_WORKERS, &v);
            o.workers = (unsigned)v;
        } else if (strcmp(argv[i], "--n") == 0) {
            rc = numeric(argc, argv, &i, 1, LONG_MAX, &v);
            o.n = v;
        } else if (strcmp(argv[i], "--repeat") == 0) {
            rc = numeric(argc, argv, &i, 1, BENCH_MAX_REPEAT, &v);
            o.repeat = (int)v;
        } else {
            return bad_usage("unknown option %s%s", argv[i], "");
        }
        if (rc != 0)
            return rc;
    }
    int rc = wl->run(&o);
    if (rc == 2) { /* the workload refused an option (an unknown --impl) */
        fprintf(stderr, "\n");
        usage(stderr);
    }
    return rc;
}
