#ifndef CREW_FUZZ_CASES_H
#define CREW_FUZZ_CASES_H
#include "harness.h"

#define FUZZ_CASES(X)                                                        \
    X(fuzz_fixed_seeds_two_callers)                                          \
    X(fuzz_fixed_seeds_four_callers)                                         \
    X(fuzz_fixed_seeds_eight_callers)                                        \
    X(a_bounded_queue_never_refuses_a_submit_once_the_previous_task_finished)

FUZZ_CASES(CREW_DECLARE_CASE)
#endif
