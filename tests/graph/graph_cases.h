#ifndef CREW_GRAPH_CASES_H
#define CREW_GRAPH_CASES_H
#include "harness.h"

#define GRAPH_CASES(X)                                                       \
    X(a_diamond_runs_each_node_once_after_its_predecessors)                  \
    X(a_chain_of_100000_runs_in_order)                                       \
    X(a_fan_out_and_fan_in_of_10000_respects_every_edge)                     \
    X(random_dags_of_1000_nodes_respect_every_edge)                          \
    X(the_same_graph_run_100_times_is_right_every_time)                      \
    X(a_graph_of_100000_nodes_builds_and_runs)                               \
    X(independent_nodes_all_run_once)                                        \
    X(a_long_chain_with_side_leaves_runs_on_small_worker_stacks)             \
    X(graphs_run_from_outside_and_nested_inside_tasks_and_nodes)             \
    X(graphs_nested_100_deep_run_every_node_once)                            \
    X(several_threads_run_their_own_graphs_on_one_pool)                      \
    X(a_graph_grows_between_runs_and_the_new_edges_hold)                     \
    X(node_results_are_null_before_the_first_run_and_from_the_last_run)      \
    X(an_empty_graph_runs_and_returns_0)                                     \
    X(a_cycle_gives_eloop_and_runs_nothing)                                  \
    X(a_cycle_100000_long_gives_eloop_and_runs_nothing)                      \
    X(an_edge_between_two_graphs_is_einval_and_adds_nothing)                 \
    X(a_duplicate_edge_is_allowed_and_counts_once)                           \
    X(running_a_graph_from_its_own_node_gives_ebusy)                         \
    X(running_a_graph_another_thread_runs_gives_ebusy)                       \
    X(editing_or_destroying_a_running_graph_is_refused)                      \
    X(null_arguments_and_self_edges_are_einval)                              \
    X(allocation_failures_give_enomem_and_change_nothing)                    \
    X(running_on_a_shut_down_pool_gives_eshutdown_and_runs_nothing)

GRAPH_CASES(CREW_DECLARE_CASE)
#endif
