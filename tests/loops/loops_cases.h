#ifndef CREW_LOOPS_CASES_H
#define CREW_LOOPS_CASES_H
#include "harness.h"

#define LOOPS_CASES(X)                                                       \
    X(for_visits_every_index_exactly_once_for_many_lengths_and_grains)       \
    X(for_never_calls_fn_on_more_than_an_explicit_grain)                     \
    X(for_stops_early_and_returns_the_first_nonzero_value)                   \
    X(nested_for_inside_a_task_visits_every_cell_once)                       \
    X(for_called_from_inside_a_task_and_from_outside)                        \
    X(for_splits_across_workers_when_they_are_idle)                          \
    X(reduce_equals_the_sequential_fold_in_index_order)                      \
    X(reduce_with_a_fixed_grain_is_bitwise_deterministic)                    \
    X(map_equals_the_sequential_map)                                         \
    X(loops_reject_bad_arguments_with_einval)

LOOPS_CASES(CREW_DECLARE_CASE)
#endif
