/* arch/host/framecode.c: reading code for backtraces, x86-64's (arch/x86_64/framecode.c). */
#define PREEMPT_TRAMP		host_preempt_tramp
#define PREEMPT_TRAMP_END	host_preempt_tramp_end
#define PREEMPT_RED_ZONE	128
#include "../x86_64/framecode.c"
