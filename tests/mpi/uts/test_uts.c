#include <criterion/criterion.h>
#include "uts_cases.h"
#define CASE(name) CREW_CRITERION_CASE(uts, name)
UTS_CASES(CASE)
