#include <criterion/criterion.h>
#include "mpi_cases.h"
#define CASE(name) CREW_CRITERION_CASE(mpi, name)
MPI_CASES(CASE)
