/*
 * arch/stkbar_impl.h (x86-64, and the hosted platform, which includes it): the
 * inline half of <arch/stkbar.h>.
 *
 * A call's return address follows a call instruction: e8 rel32 (5 bytes), or ff /2
 * (an indirect call: the ModRM byte's reg field is 2, with up to a SIB byte and a
 * 32-bit displacement after it: 2 to 7 bytes). The preemption trampolines
 * (x86_64/preempt.S, host/preempt.S) push the interrupted rip, then a record {rbp,
 * rip + 1}: such a record has its ret - 1 in the word above it.
 */
#ifndef ARCH_STKBAR_IMPL_H
#define ARCH_STKBAR_IMPL_H

#include <stdint.h>

static inline int arch_record_kind(uintptr_t fp, uintptr_t ret, uintptr_t limit)
{
	const uint8_t *r = (const uint8_t *)ret;
	if (r[-5] == 0xe8)
		return STKBAR_RECORD_CALL;
	for (int k = 2; k <= 7; k++)
		if (r[-k] == 0xff && ((r[-k + 1] >> 3) & 7) == 2)
			return STKBAR_RECORD_CALL;
	if (fp + 24 <= limit && ((const uintptr_t *)fp)[2] == ret - 1)
		return STKBAR_RECORD_PREEMPT;
	return STKBAR_RECORD_BAD;
}

#endif
