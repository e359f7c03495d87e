#include <criterion/criterion.h>
#include "graph_cases.h"
#define CASE(name) CREW_CRITERION_CASE(graph, name)
GRAPH_CASES(CASE)
