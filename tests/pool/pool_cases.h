#ifndef CREW_POOL_CASES_H
#define CREW_POOL_CASES_H
#include "harness.h"

#define POOL_CASES(X)                                                        \
    X(treiber_stack_is_lifo_and_pops_null_when_empty)                        \
    X(treiber_aba_torture_never_gives_a_node_to_two_threads)                 \
    X(pool_aba_torture_never_gives_an_object_to_two_threads)                 \
    X(bad_arguments_give_einval_or_do_nothing)                               \
    X(allocation_failures_give_enomem_and_leak_nothing)                      \
    X(init_failure_returns_null_with_inits_errno_and_leaks_nothing)          \
    X(init_reset_fini_are_called_the_right_number_of_times)                  \
    X(max_idle_is_honoured_at_the_moment_of_release)                         \
    X(objects_are_aligned_for_max_align_t_and_fully_usable)                  \
    X(concurrent_rounds_account_for_every_object_exactly_once)               \
    X(concurrent_release_with_small_max_idle_frees_bodies_and_keeps_bound)   \
    X(slot_caches_spill_to_and_refill_from_the_shared_stack)                 \
    X(slot_caches_honour_max_idle)                                           \
    X(slot_caches_take_idle_credit_in_batches_within_max_idle)               \
    X(slot_caches_under_concurrency_drain_at_destroy_with_exact_counts)      \
    X(slot_caches_with_small_max_idle_keep_counts_exact)                     \
    X(slot_caches_with_batched_idle_credit_keep_counts_exact)                \
    X(thread_caches_under_concurrency_account_for_every_object_exactly_once) \
    X(thread_caches_with_small_max_idle_free_bodies_and_keep_bound)          \
    X(thread_caches_with_batched_idle_credit_keep_bound)                     \
    X(thread_caches_of_exited_threads_go_back_and_destroy_drains_them)       \
    X(thread_caches_survive_table_eviction_with_pools_used_alternately)      \
    X(thread_caches_of_large_objects_stay_small_and_spill)                   \
    X(a_new_pool_at_a_freed_pools_address_gets_its_own_thread_cache)        \
    X(callbacks_may_use_their_own_pool)                                      \
    X(short_lived_threads_one_after_another_reuse_what_the_last_one_built)   \
    X(more_live_threads_than_caches_use_the_shared_stack_and_lose_nothing)   \
    X(max_live_bounds_objects_and_timed_acquire_gives_up_at_its_deadline)    \
    X(acquire_timed_rejects_bad_deadlines_and_never_times_out_unbounded)     \
    X(bounded_pools_give_back_the_unit_of_a_failed_build)                    \
    X(validate_runs_on_reuse_only_and_a_rejected_object_is_finalized)        \
    X(max_live_counts_an_object_until_its_fini_has_returned)                 \
    X(acquire_sleeps_without_spinning_until_a_release_wakes_it)              \
    X(releases_back_to_back_wake_as_many_sleepers)                           \
    X(an_object_freed_in_the_lost_wakeup_window_is_still_found)              \
    X(rejected_objects_and_failed_builds_make_room_for_sleepers)             \
    X(max_live_under_contention_keeps_the_bound_and_loses_no_wakeup)         \
    X(the_config_grows_at_its_end_and_0_1_initializers_mean_unbounded)

POOL_CASES(CREW_DECLARE_CASE)
#endif
