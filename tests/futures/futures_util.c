#include "futures_util.h"

#include <pthread.h>

void *gated_task(void *arg)
{
    gated *g = arg;
    for (int i = 0; i < 200000 && !atomic_load(&g->open); i++) {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
    return IP(g->value);
}

void gate_open(gated *g)
{
    atomic_store(&g->open, 1);
}

struct timespec deadline_in_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec + (long long)ms * 1000000LL;
    ts.tv_sec = (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

long wait_for_count(_Atomic long *count, long want)
{
    double t0 = test_now_s();
    long v;
    while ((v = atomic_load(count)) < want && test_now_s() - t0 < 5)
        test_sleep_ms(1);
    return v;
}

int nth_allowed_cpu(const cpu_set_t *set, int n)
{
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, set) && n-- == 0)
            return cpu;
    return -1;
}

void pin_to_cpu(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
}
