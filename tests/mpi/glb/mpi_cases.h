#ifndef CREW_MPI_CASES_H
#define CREW_MPI_CASES_H
#include "harness.h"

/* Suite `mpi`: crew-mpi under mpirun (cases_mpi.c). */
#define MPI_CASES(X)                                                          \
    X(uts_and_nqueens_counts_equal_the_sequential_ones_on_1_rank)             \
    X(uts_and_nqueens_counts_equal_the_sequential_ones_on_2_ranks)            \
    X(uts_and_nqueens_counts_equal_the_sequential_ones_on_4_ranks)            \
    X(a_failing_rank_makes_every_rank_return_its_error_on_1_rank)             \
    X(a_failing_rank_makes_every_rank_return_its_error_on_2_ranks)            \
    X(a_failing_rank_makes_every_rank_return_its_error_on_4_ranks)            \
    X(a_thread_level_below_funneled_fails_enotsup_on_every_rank)              \
    X(a_rank_stuck_in_its_work_is_aborted_within_the_bound)                   \
    X(hybrid_static_split_example_sums_right_on_1_2_4_ranks)

MPI_CASES(CREW_DECLARE_CASE)
#endif
