#include <criterion/criterion.h>
#include "scheduler_cases.h"
#define CASE(name) CREW_CRITERION_CASE(scheduler, name)
SCHEDULER_CASES(CASE)
