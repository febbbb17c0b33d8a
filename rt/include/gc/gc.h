/* gc/gc.h: the same as <gc.h> (the Boehm-style interface), under the other name
 * programs include it by. */
#include "../gc.h"
