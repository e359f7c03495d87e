#include "common/thread.h"

#include <errno.h>

#include "common/fault.h"

int crew_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                       void *arg)
{
    if (crew_fault_hit(CREW_FAULT_THREAD))
        return EAGAIN;
    return pthread_create(t, attr, fn, arg);
}
