#include <criterion/criterion.h>
#include "pool_cases.h"
#define CASE(name) CREW_CRITERION_CASE(pool, name)
POOL_CASES(CASE)
