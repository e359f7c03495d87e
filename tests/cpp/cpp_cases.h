/* Suite `cpp` (issue 13): crew.hpp, the C++17 layer over the C API. The
 * cases are C++ (cases_*.cpp) with C linkage, so the project's two C
 * runners drive them unchanged: test_cpp.c through Criterion, and
 * driver_cpp.c, the plain driver, under ThreadSanitizer. */
#ifndef CREW_TEST_CPP_CASES_H
#define CREW_TEST_CPP_CASES_H
#include "harness.h"

#define CPP_CASES(X)                                                         \
    X(submit_get_returns_an_int)                                             \
    X(submit_get_of_void_waits_for_the_task)                                 \
    X(submit_get_moves_a_move_only_result_out)                               \
    X(submit_get_returns_a_large_result_intact)                              \
    X(get_twice_throws_logic_error)                                          \
    X(exception_thrown_in_a_task_reaches_get)                                \
    X(future_destroyed_unread_does_not_wait_and_the_task_still_runs)         \
    X(cancelled_future_throws_ecanceled_and_frees_its_callable)              \
    X(wait_for_times_out_then_sees_the_result)                               \
    X(task_captures_are_destroyed_once_it_has_run)                           \
    X(submit_after_shutdown_throws_system_error_eshutdown)                   \
    X(get_inside_a_task_of_a_one_worker_pool_runs_it_inline)                 \
    X(run_returns_the_result_and_rethrows_the_exception)                     \
    X(parallel_for_visits_every_index_once_with_mixed_integer_types)         \
    X(parallel_for_rejects_end_before_begin_and_runs_empty_ranges)           \
    X(parallel_for_rethrows_the_first_exception_after_the_loop_stops)        \
    X(parallel_for_starts_no_chunk_after_a_throw_on_one_worker)              \
    X(parallel_for_nested_in_a_task_visits_every_cell_once)                  \
    X(join_fib_matches_the_sequential_fib_inside_and_outside_a_pool)         \
    X(join_of_void_move_only_and_large_results)                              \
    X(exception_in_a_spawned_lambda_reaches_join)                            \
    X(exception_in_a_stolen_lambda_reaches_the_sync)                         \
    X(spawned_fib_and_its_exception_reach_sync)                              \
    X(spawned_sync_twice_throws_logic_error)                                 \
    X(unwinding_past_an_unsynced_spawn_syncs_it)                             \
    X(pool_destroyed_at_scope_exit_runs_what_was_submitted)                  \
    X(pool_moves_and_chains_the_users_hooks_and_ctx)                         \
    X(group_waits_and_rethrows_the_first_exception_once)                     \
    X(group_destroyed_at_scope_exit_waits_for_its_tasks)                     \
    X(group_tasks_cancelled_by_shutdown_free_their_callables)                \
    X(graph_runs_in_order_and_again_and_frees_its_callables)                 \
    X(graph_node_exception_skips_the_rest_and_reaches_run)                   \
    X(graph_cycle_and_misuse_throw_system_error)                            \
    X(typed_macros_in_a_stolen_lambda_use_the_thiefs_state)                  \
    X(typed_macros_in_a_std_thread_started_by_a_body_use_its_state)

#ifdef __cplusplus
extern "C" {
#endif
CPP_CASES(CREW_DECLARE_CASE)
#ifdef __cplusplus
}
#endif
#endif
