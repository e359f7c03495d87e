#include "mpi_cases.h"
static const crew_case cases[] = {MPI_CASES(CREW_TABLE_ENTRY)};
int main(int argc, char **argv)
{
    return crew_driver_main("mpi", cases, sizeof cases / sizeof cases[0], argc, argv);
}
