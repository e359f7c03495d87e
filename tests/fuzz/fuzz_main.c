/*
 * crew-fuzz: the fuzzer of suite `fuzz` on its own (scripts/fuzz.sh runs
 * it in a loop, one process per seed).
 *
 *   crew-fuzz [--seed S] [--threads K] [--ops N] [--max-seconds T] [--quiet]
 *
 * --seed S: the run's seed (decimal or 0x hex); without it, one from
 * /dev/urandom. The seed is printed first, so that any failure, even a
 * crash or a sanitizer report, can be run again. --threads: callers (2 to
 * 8; by default drawn from the seed); --ops: calls per caller (default
 * 2000); --max-seconds: the callers stop early after this long (default
 * 20). Exit status 0 when the run passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static unsigned long long random_seed(void)
{
    unsigned long long s = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f != NULL) {
        if (fread(&s, sizeof s, 1, f) != 1)
            s = 0;
        fclose(f);
    }
    return s;
}

static int usage(void)
{
    fprintf(stderr, "usage: crew-fuzz [--seed S] [--threads K] [--ops N] [--max-seconds T] "
                    "[--quiet]\n");
    return 2;
}

int main(int argc, char **argv)
{
    unsigned long long seed = 0;
    int have_seed = 0;
    crew_fuzz_opts o = {.threads = 0, .ops = 2000, .max_seconds = 20, .verbose = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            o.verbose = 0;
            continue;
        }
        if (v == NULL)
            return usage();
        char *end;
        if (strcmp(a, "--seed") == 0) {
            seed = strtoull(v, &end, 0);
            have_seed = 1;
        } else if (strcmp(a, "--threads") == 0) {
            o.threads = (unsigned)strtoul(v, &end, 0);
        } else if (strcmp(a, "--ops") == 0) {
            o.ops = strtol(v, &end, 0);
        } else if (strcmp(a, "--max-seconds") == 0) {
            o.max_seconds = strtod(v, &end);
        } else {
            return usage();
        }
        if (*end != '\0')
            return usage();
        i++;
    }
    if (!have_seed)
        seed = random_seed();
    if (o.threads == 0)
        o.threads = 2 + (unsigned)(seed >> 16) % 7;
    printf("crew-fuzz: seed %llu, %u callers\n", seed, o.threads);
    fflush(stdout);
    return crew_fuzz_run(seed, &o) == 0 ? 0 : 1;
}
