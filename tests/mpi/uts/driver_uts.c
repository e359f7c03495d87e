#include "uts_cases.h"
static const crew_case cases[] = {UTS_CASES(CREW_TABLE_ENTRY)};
int main(int argc, char **argv)
{
    return crew_driver_main("uts", cases, sizeof cases / sizeof cases[0], argc, argv);
}
