#ifndef CREW_FAULTS_CASES_H
#define CREW_FAULTS_CASES_H
#include "harness.h"

#define FAULTS_CASES(X)                                                      \
    X(the_scenario_runs_clean_without_faults)                                \
    X(every_allocation_failing_in_turn_gives_documented_errors_two_workers)  \
    X(every_allocation_failing_in_turn_gives_documented_errors_one_worker)   \
    X(every_allocation_failing_in_turn_gives_documented_errors_bounded_queue) \
    X(every_thread_creation_failing_in_turn_gives_eagain)

FAULTS_CASES(CREW_DECLARE_CASE)
#endif
