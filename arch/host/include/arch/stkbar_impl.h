/* arch/stkbar_impl.h (hosted): x86-64's, whose preemption record has the same shape. */
#include "../../../x86_64/include/arch/stkbar_impl.h"
