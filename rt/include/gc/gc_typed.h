/* gc/gc_typed.h: the same as <gc_typed.h>, under the other name programs use. */
#include "../gc_typed.h"
