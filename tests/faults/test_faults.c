#include <criterion/criterion.h>
#include "faults_cases.h"
#define CASE(name) CREW_CRITERION_CASE(faults, name)
FAULTS_CASES(CASE)
