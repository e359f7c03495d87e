#include <criterion/criterion.h>
#include "fuzz_cases.h"
#define CASE(name) CREW_CRITERION_CASE(fuzz, name)
FUZZ_CASES(CASE)
