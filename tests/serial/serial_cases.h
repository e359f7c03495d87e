#ifndef CREW_SERIAL_CASES_H
#define CREW_SERIAL_CASES_H
#include "harness.h"

/* Suite `serial`: crew_serial_* (docs/api.md, "Serial queues"). */
#define SERIAL_CASES_ALWAYS(X)                                               \
    X(tasks_of_one_queue_run_once_each_in_each_producers_order)              \
    X(no_two_tasks_of_one_queue_run_at_once_across_four_queues)              \
    X(posts_racing_a_queue_going_idle_are_never_lost)                        \
    X(each_task_sees_what_the_previous_task_of_its_queue_wrote)              \
    X(different_queues_run_in_parallel_with_each_other)                      \
    X(a_queue_runs_in_parallel_with_the_pools_other_work)                    \
    X(a_task_posted_from_its_own_queue_runs_after_the_current_one_returns)   \
    X(empty_queues_cost_the_workers_nothing)                                 \
    X(serial_futures_hold_their_tasks_results)                               \
    X(serial_calls_reject_bad_arguments_with_einval)                         \
    X(serial_calls_out_of_memory_fail_enomem_and_lose_nothing)               \
    X(waiting_on_a_serial_future_never_runs_the_task_inline)                 \
    X(waiting_on_a_later_task_from_a_task_of_the_same_queue_gets_edeadlk)    \
    X(serial_wait_from_a_task_of_its_own_queue_gets_edeadlk)                 \
    X(serial_wait_from_a_task_of_another_queue_blocks_then_returns)          \
    X(serial_wait_returns_once_every_task_posted_before_it_ran)              \
    X(cancelling_a_queued_serial_task_returns_0_and_it_never_runs)           \
    X(timed_waits_on_serial_futures_time_out_and_then_complete)              \
    X(a_busy_queue_yields_its_worker_every_64_tasks)                         \
    X(a_queue_is_not_starved_by_a_worker_whose_tasks_keep_posting)           \
    X(outside_serial_posts_after_shutdown_fail_eshutdown)                    \
    X(serial_posts_from_tasks_during_shutdown_are_accepted_and_run)          \
    X(shutdown_cancel_pending_cancels_queued_outside_tasks_runs_inside_ones) \
    X(serial_posts_racing_shutdown_are_run_or_refused_never_lost)            \
    X(serial_destroy_waits_for_every_accepted_task)

#ifdef CREW_DEBUG
#define SERIAL_CASES_DEBUG(X) X(serial_destroy_from_its_own_task_aborts_in_debug_builds)
#else
#define SERIAL_CASES_DEBUG(X)
#endif

#define SERIAL_CASES(X) SERIAL_CASES_ALWAYS(X) SERIAL_CASES_DEBUG(X)

SERIAL_CASES(CREW_DECLARE_CASE)
#endif
