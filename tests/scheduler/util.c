#include "util.h"

#include <stdatomic.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double test_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

int test_child_status(int (*body)(void *), void *arg)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(body(arg));
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return status;
}

void test_spin_until(_Atomic int *flag)
{
    double t0 = test_now_s();
    while (!atomic_load(flag) && test_now_s() - t0 < 2)
        ;
}

crew_pool *test_pool(unsigned workers, size_t queue_limit, bool block)
{
    crew_config c;
    crew_config_default(&c);
    c.workers = workers;
    c.queue_limit = queue_limit;
    c.block_when_full = block;
    return crew_pool_create(&c);
}

void *test_fib(void *arg)
{
    long n = PI(arg);
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, test_fib, IP(n - 1));
    long b = PI(test_fib(IP(n - 2)));
    long a = PI(crew_sync(&t));
    return IP(a + b);
}

long test_fib_seq(long n)
{
    return n < 2 ? n : test_fib_seq(n - 1) + test_fib_seq(n - 2);
}

long test_other_threads_cpu_ticks(void)
{
    long self = (long)syscall(SYS_gettid);
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return -1;
    long total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long tid = atol(e->d_name);
        if (tid <= 0 || tid == self)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* Fields after the ")" of the command name: state is field 3,
         * utime 14, stime 15. */
        char *p = strrchr(buf, ')');
        if (p == NULL)
            continue;
        long utime = 0, stime = 0;
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
                   &utime, &stime) == 2)
            total += utime + stime;
    }
    closedir(d);
    return total;
}
