#include <crew.h>

const char *crew_version(void)
{
    return CREW_VERSION_STRING;
}
