/* arch/host/stkbar.S: the stack-barrier trampoline, x86-64's (arch/x86_64/stkbar.S). */
#include "../x86_64/stkbar.S"
