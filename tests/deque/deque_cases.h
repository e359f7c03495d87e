#ifndef CREW_DEQUE_CASES_H
#define CREW_DEQUE_CASES_H
#include "harness.h"

#define DEQUE_CASES(X)                                                       \
    X(owner_pops_in_lifo_order)                                              \
    X(thieves_steal_in_fifo_order)                                           \
    X(empty_deque_pops_null_and_steals_empty)                                \
    X(growth_keeps_order_and_items)                                          \
    X(growth_from_tiny_capacity_under_concurrent_steals_loses_nothing)       \
    X(every_item_taken_exactly_once_with_three_thieves)                      \
    X(last_item_race_has_exactly_one_winner)                                 \
    X(pop_and_two_steals_never_share_an_item)                                \
    X(push_reports_enomem_when_growth_fails_and_keeps_items)

DEQUE_CASES(CREW_DECLARE_CASE)
#endif
