#include <criterion/criterion.h>
#include "api_cases.h"
#define CASE(name) CREW_CRITERION_CASE(api, name)
API_CASES(CASE)
