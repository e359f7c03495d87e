/* Version and config ABI, as a program built against crew sees them
 * (tests/packaging/check_symbols.sh runs it). Only the public header. */
#include <crew.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef CREW_EXPECTED_VERSION
#error "build with -DCREW_EXPECTED_VERSION=\"<meson.project_version()>\""
#endif

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

static void *twice(void *arg)
{
    return (void *)((intptr_t)arg * 2);
}

/* A config from a header that knew only the fields up to queue_limit: its
 * size stops there, and the library must not read past it. What lies
 * beyond is poisoned (a garbage name pointer would crash the library). */
static int old_layout_works(void)
{
    union {
        crew_config cfg;
        unsigned char bytes[sizeof(crew_config) + 64];
    } u;
    memset(u.bytes, 0xA5, sizeof u.bytes);
    u.cfg.size = offsetof(crew_config, queue_limit);
    u.cfg.workers = 2;

    crew_pool *pool = crew_pool_create(&u.cfg);
    if (pool == NULL) {
        perror("crew_pool_create(old layout)");
        return 0;
    }
    int ok = crew_pool_workers(pool) == 2;
    crew_future *f = crew_submit(pool, twice, (void *)(intptr_t)21);
    void *r = NULL;
    ok = ok && f != NULL && crew_future_wait(f, &r) == 0 && (intptr_t)r == 42;
    if (f != NULL)
        crew_future_release(f);
    return crew_pool_destroy(pool) == 0 && ok;
}

int main(void)
{
    char numbers[64];
    snprintf(numbers, sizeof numbers, "%d.%d.%d", CREW_VERSION_MAJOR, CREW_VERSION_MINOR,
             CREW_VERSION_PATCH);

    printf("crew_version() = %s, header %s (%s), project %s\n", crew_version(),
           CREW_VERSION_STRING, numbers, CREW_EXPECTED_VERSION);
    check(strcmp(crew_version(), CREW_VERSION_STRING) == 0,
          "crew_version() differs from CREW_VERSION_STRING");
    check(strcmp(numbers, CREW_VERSION_STRING) == 0,
          "CREW_VERSION_MAJOR.MINOR.PATCH differ from CREW_VERSION_STRING");
    check(strcmp(CREW_EXPECTED_VERSION, CREW_VERSION_STRING) == 0,
          "meson.build's project version differs from CREW_VERSION_STRING");

    crew_config cfg;
    memset(&cfg, 0, sizeof cfg);
    crew_config_default(&cfg);
    check(cfg.size == sizeof(crew_config), "crew_config_default does not set size");
    check(old_layout_works(), "a crew_config of an older, shorter layout is not honoured");

    if (failures != 0)
        return 1;
    puts("abi: ok");
    return 0;
}
