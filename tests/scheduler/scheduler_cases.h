#ifndef CREW_SCHEDULER_CASES_H
#define CREW_SCHEDULER_CASES_H
#include "harness.h"

#define SCHEDULER_CASES(X)                                                   \
    X(fib_is_right_with_1_2_4_and_8_workers)                                 \
    X(fib_through_crew_run_from_several_outside_threads)                     \
    X(spawn_and_sync_outside_a_pool_run_serially)                            \
    X(random_spawn_trees_run_every_node_exactly_once)                        \
    X(four_outside_threads_submit_and_every_future_has_its_result)           \
    X(bounded_queue_blocks_the_producer_and_loses_nothing)                   \
    X(bounded_queue_without_blocking_fails_eagain_and_loses_nothing)         \
    X(group_wait_returns_after_every_posted_task_ran)                        \
    X(task_waiting_on_a_future_it_submitted_completes_on_one_worker)         \
    X(nested_future_waits_inside_tasks_complete)                             \
    X(tasks_submitted_from_inside_run_at_sync_and_by_thieves)                \
    X(cancel_before_start_means_the_function_never_runs)                     \
    X(shutdown_with_cancel_pending_runs_or_cancels_every_task_exactly_once)  \
    X(submits_racing_shutdown_are_run_or_refused_never_lost)                 \
    X(destroy_runs_all_queued_work)                                          \
    X(two_pools_alive_at_once_both_work)                                     \
    X(futures_released_after_their_pool_is_destroyed)                        \
    X(idle_workers_stop_using_cpu)                                           \
    X(stats_are_exact_once_quiet)                                           \
    X(group_wait_inside_a_frame_with_spawns_keeps_sync_order)                \
    X(group_wait_on_the_only_worker_runs_a_task_posted_from_outside)         \
    X(leapfrogging_never_takes_work_older_than_the_awaited_job)              \
    X(shutdown_cancelling_with_a_queued_crew_run_root_returns)               \
    X(a_batch_mate_of_a_blocked_task_runs_on_an_idle_worker)                 \
    X(a_task_waiting_on_its_own_future_gets_edeadlk)                        \
    X(a_task_run_from_a_sync_pop_has_its_own_leapfrog_floor)                 \
    X(a_thief_is_named_runner_only_once_its_floor_is_set)                    \
    X(a_failed_group_post_never_runs_and_shutdown_still_returns)             \
    X(a_group_destroyed_after_its_pool_is_safe)                            \
    X(spawns_whose_deque_cannot_grow_at_publish_all_run_once_at_their_sync) \
    X(spawns_whose_deque_cannot_grow_at_a_requested_publish_run_once_at_their_sync) \
    X(an_inside_submit_whose_deque_cannot_grow_runs_and_loses_no_spawn)     \
    X(pool_create_out_of_memory_or_threads_returns_null_and_leaks_nothing) \
    X(producer_threads_that_come_and_go_do_not_grow_the_queue)              \
    X(tasks_posted_inside_back_to_back_each_wake_a_sleeper)                 \
    X(the_injector_never_looks_empty_while_it_holds_an_item)                \
    X(typed_fib_is_right_on_pools_and_outside_them)                         \
    X(typed_spawns_are_counted_exactly_in_the_stats)                         \
    X(typed_children_of_data_dependent_number_are_each_synced_once)         \
    X(typed_tasks_take_mixed_arguments_wide_results_and_void)               \
    X(typed_handles_keep_or_reload_arguments_and_sync_each_once)            \
    X(typed_calls_and_spawns_outside_bodies_share_the_slot_stack)           \
    X(typed_task_on_a_thread_whose_state_failed_first)                      \
    X(typed_sync_with_nothing_spawned_aborts_with_a_message)                \
    X(a_spawn_is_taken_by_an_idle_worker_while_its_spawner_works)           \
    SCHEDULER_DEBUG_CASES(X)

/* Only where the checks exist: a case that could not fail elsewhere. */
#ifdef CREW_DEBUG
#define SCHEDULER_DEBUG_CASES(X) X(a_sync_out_of_lifo_order_aborts_in_debug_builds)
#else
#define SCHEDULER_DEBUG_CASES(X)
#endif

SCHEDULER_CASES(CREW_DECLARE_CASE)
#endif
