#include <criterion/criterion.h>
#include "loops_cases.h"
#define CASE(name) CREW_CRITERION_CASE(loops, name)
LOOPS_CASES(CASE)
