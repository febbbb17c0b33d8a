/*
 * arch/stkbar_impl.h (aarch64): the inline half of <arch/stkbar.h>.
 *
 * A call's return address follows BL (0x94000000 | imm26) or BLR Xn (0xd63f0000 |
 * n << 5). The preemption trampoline (preempt.S) plants a record {x29, pc + 4} at the
 * bottom of its frame, with the interrupted pc 272 bytes above it (P_PC).
 */
#ifndef ARCH_STKBAR_IMPL_H
#define ARCH_STKBAR_IMPL_H

#include <stdint.h>

#define A64_PREEMPT_PC_OFF 272

static inline int arch_record_kind(uintptr_t fp, uintptr_t ret, uintptr_t limit)
{
	uint32_t insn = *(const uint32_t *)(ret - 4);
	if ((insn & 0xfc000000u) == 0x94000000u || (insn & 0xfffffc1fu) == 0xd63f0000u)
		return STKBAR_RECORD_CALL;
	if (fp + A64_PREEMPT_PC_OFF + 8 <= limit && *(const uintptr_t *)(fp + A64_PREEMPT_PC_OFF) == ret - 4)
		return STKBAR_RECORD_PREEMPT;
	return STKBAR_RECORD_BAD;
}

#endif
