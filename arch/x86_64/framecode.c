/*
 * arch/x86_64/framecode.c: what a backtrace learns from x86-64 code itself, for the
 * frames the frame-pointer chain does not describe. The hosted platform runs on
 * x86-64 and compiles this file as its own (arch/host/framecode.c): both ports'
 * struct arch_frame name rip and rsp alike.
 */
#include <stdint.h>
#include <string.h>
#include <arch/frame.h>
#include <arch/mmu.h>
#include <arch/trap.h>

/*
 * Frame setup on x86-64 is "push %rbp; mov %rsp,%rbp" (55 48 89 e5) at the function's
 * start. Before the push, the return address is at sp; between push and mov, at sp+8;
 * a function that does not start that way is frameless and keeps it at sp (we only
 * trust that for the innermost frame, which is the only one asked about).
 */
bool arch_frame_unrecorded_ret(const struct arch_frame *f, uint64_t func_start, uint64_t *ret)
{
	const uint8_t *code = (const uint8_t *)func_start;
	uint64_t slot;

	/* At the first instruction (also: a call to an address with no symbol, where the
	 * kernel passes the pc itself) the code is not read: it may be unmapped. */
	if (f->rip == func_start)
		slot = f->rsp;
	else if (!(code[0] == 0x55 && code[1] == 0x48 && code[2] == 0x89 && code[3] == 0xe5))
		slot = f->rsp;
	else if (f->rip == func_start + 1)
		slot = f->rsp + 8;
	else
		return false;
	uint64_t pa;
	unsigned flags;
	if (!arch_mmu_query(slot, &pa, &flags) || !arch_mmu_query(slot + 7, &pa, &flags))
		return false;	/* sp on an unmapped page (a stack overflow): no reading there */
	*ret = *(const uint64_t *)slot;
	return true;
}

/* A direct call is e8 and a 32-bit displacement from its end, which is ret. */
bool arch_call_target(uint64_t ret, uint64_t ret_func_start, uint64_t *fn)
{
	if (ret < ret_func_start + 5)
		return false;
	const uint8_t *call = (const uint8_t *)(ret - 5);
	int32_t disp;
	if (call[0] != 0xe8)
		return false;
	memcpy(&disp, call + 1, sizeof(disp));
	*fn = ret + (uint64_t)(int64_t)disp;
	return true;
}
