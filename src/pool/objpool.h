/*
 * The object pool's slot caches: crew's scheduler takes its task records
 * and futures from a pool made here, one slot per worker.
 *
 * A slot is a small cache of idle objects in front of the pool's shared
 * Treiber stack, used without any atomic operation. Who may call what:
 *   crew_objpool_acquire_at, crew_objpool_release_at with slot s:
 *       one thread at a time per slot (the scheduler passes its worker
 *       index), concurrently with every other slot and with
 *       crew_objpool_acquire / crew_objpool_release from any thread;
 *   slot >= the pool's slot count (CREW_OBJPOOL_SHARED, for one): the
 *       shared stack itself, any thread. (The public calls go through the
 *       calling thread's own cache instead; docs/pool.md.)
 * An object may be released at a slot other than the one it came from,
 * or on the public path. crew_objpool_destroy drains every cache.
 */
#ifndef CREW_OBJPOOL_H
#define CREW_OBJPOOL_H

#include <limits.h>

#include <crew.h>

/* Maximum slot count accepted by crew_objpool_create_slots. */
#define CREW_OBJPOOL_MAX_SLOTS 4096u

/* A slot number that is never a slot: the shared stack, no cache. */
#define CREW_OBJPOOL_SHARED UINT_MAX

/* crew_objpool_create with nslots caches (0: none, as the public create;
 * a pool with max_live > 0 gets none either: every slot is then the shared
 * stack). NULL with errno EINVAL (the config's rules, or nslots above
 * CREW_OBJPOOL_MAX_SLOTS) or ENOMEM. */
crew_objpool *crew_objpool_create_slots(const crew_objpool_config *cfg,
                                        unsigned nslots);

/* As crew_objpool_acquire, served from the slot's cache first. */
void *crew_objpool_acquire_at(crew_objpool *p, unsigned slot);

/* As crew_objpool_release, kept in the slot's cache first. */
void crew_objpool_release_at(crew_objpool *p, unsigned slot, void *obj);

/* Tests: how many thread caches the pool has made (one per thread that
 * ever used its public calls). Any thread. */
unsigned crew_objpool_thread_caches(const crew_objpool *p);

/* Tests: acquirers of a max_live pool announced as going to sleep now.
 * Any thread. */
unsigned crew_objpool_waiters(const crew_objpool *p);

/* Tests: hook(pool, arg) runs on the wait path of a max_live pool's
 * acquire, after the try that found the pool exhausted and before the
 * acquirer announces itself as a sleeper: the window a lost wake-up would
 * fall in. NULL: none (the default). Process-wide; set it from the thread
 * that then calls, while no other thread waits on any pool. */
typedef void (*crew_objpool_wait_hook)(crew_objpool *p, void *arg);
void crew_objpool_set_wait_hook(crew_objpool_wait_hook hook, void *arg);

#endif /* CREW_OBJPOOL_H */
