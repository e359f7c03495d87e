#include "fuzz_cases.h"
static const crew_case cases[] = {FUZZ_CASES(CREW_TABLE_ENTRY)};
int main(int argc, char **argv)
{
    return crew_driver_main("fuzz", cases, sizeof cases / sizeof cases[0],
                            argc, argv);
}
