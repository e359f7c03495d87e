#ifndef CREW_API_CASES_H
#define CREW_API_CASES_H
#include "harness.h"

#define API_CASES(X)                                                         \
    X(null_pool_or_function_gives_einval)                                    \
    X(submit_post_and_run_after_shutdown_give_eshutdown)                     \
    X(shutdown_and_destroy_from_a_worker_give_edeadlk)                       \
    X(worker_index_is_set_inside_and_minus_one_outside)                      \
    X(zero_sized_config_reads_as_defaults)                                   \
    X(pool_reports_its_worker_count_and_zero_means_the_cpus)                 \
    X(future_cancel_after_start_is_ebusy_and_twice_is_zero)                  \
    X(timedwait_times_out_and_then_gets_the_result)                          \
    X(future_done_and_release_null)                                          \
    X(shutdown_is_idempotent)                                                \
    X(worker_hooks_run_once_per_worker)                                      \
    X(crew_run_returns_the_result_and_from_a_worker_calls_directly)         \
    X(crew_run_on_a_full_bounded_queue_waits_its_turn_not_eagain)

API_CASES(CREW_DECLARE_CASE)
#endif
