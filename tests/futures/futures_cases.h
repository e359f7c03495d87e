#ifndef CREW_FUTURES_CASES_H
#define CREW_FUTURES_CASES_H
#include "harness.h"

/* Suite `futures`: futures that compose (docs/api.md, "Futures that
 * compose"): done callbacks, wait_any / wait_all, completion queues. */
#define FUTURES_CASES(X)                                                     \
    X(on_done_on_a_done_future_runs_at_once_in_the_caller)                  \
    X(on_done_on_a_pending_future_runs_on_the_completing_worker_after_the_result) \
    X(a_cancelled_future_runs_its_callbacks_on_the_cancelling_thread)       \
    X(callbacks_of_one_future_run_in_the_order_they_were_added)             \
    X(a_late_on_done_waits_for_the_callbacks_running_on_another_thread)     \
    X(a_callback_that_releases_its_future_can_still_use_it)                 \
    X(on_done_inside_a_callback_of_the_same_future_runs_after_the_ones_due) \
    X(callbacks_racing_the_completion_run_exactly_once)                     \
    X(on_done_from_two_threads_while_futures_complete_runs_each_once_in_order) \
    X(on_done_errors_are_einval_and_enomem_with_nothing_registered)         \
    X(wait_any_gives_the_lowest_index_of_a_done_future)                     \
    X(wait_any_sleeps_until_one_is_done_or_the_deadline)                    \
    X(wait_all_returns_once_every_future_is_done)                           \
    X(wait_any_and_wait_all_errors_are_einval)                              \
    X(wait_any_and_wait_all_never_run_a_task_inline)                        \
    X(wait_any_and_wait_all_without_memory_still_wait_and_never_fail)       \
    X(waiters_of_overlapping_sets_each_return_once_their_futures_are_done)  \
    X(a_wait_any_loop_finds_every_future_once)                              \
    X(completion_hands_out_futures_in_the_order_they_became_done)           \
    X(completion_on_one_worker_hands_out_futures_in_submission_order)       \
    X(completion_next_sleeps_until_one_is_done_or_the_deadline)             \
    X(completion_next_gives_enoent_once_everything_added_was_handed_out)    \
    X(completion_add_takes_its_own_reference_and_destroy_releases_them)     \
    X(completion_errors_are_einval_and_enomem_loses_nothing)                \
    X(completion_with_concurrent_adders_and_takers_hands_out_each_future_once) \
    X(completion_takers_racing_over_a_full_queue_take_each_future_once)     \
    X(completion_memory_is_bounded_by_its_backlog)

FUTURES_CASES(CREW_DECLARE_CASE)
#endif
