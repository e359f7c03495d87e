#include <criterion/criterion.h>
#include "cpp_cases.h"
#define CASE(name) CREW_CRITERION_CASE(cpp, name)
CPP_CASES(CASE)
