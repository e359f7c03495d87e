/* crew-bench WORKLOAD [--impl NAME] [--workers N] [--n SIZE] [--repeat R] */
#include "bench.h"

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

/* crew-bench report [--quick] [--out DIR] [--workers N] */
static int report(int argc, char **argv)
{
    int quick = 0;
    const char *out = NULL;
    unsigned workers = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            workers = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "crew-bench report: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    return bench_report_main(quick, out, workers);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: crew-bench WORKLOAD [--impl NAME] [--workers N] "
               "[--n SIZE] [--repeat R]\n"
               "       crew-bench report [--quick] [--out DIR] [--workers N]\n"
               "\nworkloads:\n");
    for (size_t i = 0; i < NWORKLOADS; i++)
        fprintf(f, "  %-10s %s\n", workloads[i].name, workloads[i].help);
}

static int parse_long(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "report") == 0)
        return report(argc, argv);
    bench_opts o = {0};
    for (int i = 2; i < argc; i++) {
        long v = 0;
        if (i + 1 >= argc) {
            fprintf(stderr, "crew-bench: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--impl") == 0) {
            o.impl = argv[++i];
            continue;
        }
        if (parse_long(argv[i + 1], &v) != 0) {
            fprintf(stderr, "crew-bench: bad value for %s: %s\n", argv[i],
                    argv[i + 1]);
            return 2;
        }
        if (strcmp(argv[i], "--workers") == 0)
            o.workers = (unsigned)v;
        else if (strcmp(argv[i], "--n") == 0)
            o.n = v;
        else if (strcmp(argv[i], "--repeat") == 0)
            o.repeat = (int)v;
        else {
            fprintf(stderr, "crew-bench: unknown option %s\n", argv[i]);
            return 2;
        }
        i++;
    }
    for (size_t i = 0; i < NWORKLOADS; i++)
        if (strcmp(argv[1], workloads[i].name) == 0)
            return workloads[i].run(&o);
    fprintf(stderr, "crew-bench: unknown workload %s\n", argv[1]);
    usage(stderr);
    return 2;
}
