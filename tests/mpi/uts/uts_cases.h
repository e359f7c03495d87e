#ifndef CREW_UTS_CASES_H
#define CREW_UTS_CASES_H
#include "harness.h"

/* Suite `uts`: the standard UTS generator of benchmarks/uts (no MPI). */
#define UTS_CASES(X)                                                         \
    X(sha1_gives_the_fips_180_example_digests)                               \
    X(sha1_streaming_equals_one_call_for_every_split_of_a_message)          \
    X(uts_root_and_child_states_are_the_sha1_of_the_definition)             \
    X(uts_granularity_repeats_the_hash_and_keeps_the_tree)                   \
    X(uts_small_tree_has_the_published_1732_nodes_and_1050_leaves)           \
    X(uts_t1_has_the_published_4130071_nodes)                                \
    X(uts_t3_has_the_published_4112897_nodes)                                \
    X(uts_t2_and_t5_have_their_published_sizes)                              \
    X(uts_params_check_rejects_out_of_range_parameters)

UTS_CASES(CREW_DECLARE_CASE)
#endif
