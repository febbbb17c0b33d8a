/* arch/host/framecode.c: reading code for backtraces, x86-64's (arch/x86_64/framecode.c). */
#include "../x86_64/framecode.c"
