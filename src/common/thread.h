/*
 * crew's thread creation: pthread_create behind the thread fault point
 * (common/fault.h), so a test can make any worker's creation fail EAGAIN.
 */
#ifndef CREW_COMMON_THREAD_H
#define CREW_COMMON_THREAD_H

#include <pthread.h>

/* pthread_create's contract: 0 or an errno value (EAGAIN when injected). */
int crew_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                       void *arg);

#endif
