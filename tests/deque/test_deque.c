#include <criterion/criterion.h>
#include "deque_cases.h"
#define CASE(name) CREW_CRITERION_CASE(deque, name)
DEQUE_CASES(CASE)
