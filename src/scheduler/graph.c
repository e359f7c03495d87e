/* Task graphs (issue 5): being written. */
#include <crew.h>
