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
 * trust that for the innermost frame, which is the only one asked about). At its ret
 * (c3, or f3 c3), after the epilogue's leave or pop of rbp, rbp is the caller's again
 * and the return address is at sp.
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
	else if (((const uint8_t *)f->rip)[0] == 0xc3 ||
		 (((const uint8_t *)f->rip)[0] == 0xf3 && ((const uint8_t *)f->rip)[1] == 0xc3))
		slot = f->rsp;
	else
		return false;
	uint64_t pa;
	unsigned flags;
	if (!arch_mmu_query(slot, &pa, &flags) || !arch_mmu_query(slot + 7, &pa, &flags))
		return false;	/* sp on an unmapped page (a stack overflow): no reading there */
	*ret = *(const uint64_t *)slot;
	return true;
}

/* Both ports' trampolines (preempt.S) plant {interrupted rbp, rip + 1} at rec, above
 * it the interrupted rip as a return address; the interrupted rsp was just above that,
 * plus the red zone the hosted one steps over first. */
#ifndef PREEMPT_TRAMP
#define PREEMPT_TRAMP		x86_preempt_tramp
#define PREEMPT_TRAMP_END	x86_preempt_tramp_end
#define PREEMPT_RED_ZONE	0
#endif
extern const char PREEMPT_TRAMP[], PREEMPT_TRAMP_END[];

bool arch_preempt_frame(uint64_t ret, uint64_t rec, struct arch_frame *f)
{
	uint64_t pa;
	unsigned flags;
	if (ret <= (uint64_t)PREEMPT_TRAMP || ret > (uint64_t)PREEMPT_TRAMP_END || rec & 7 ||
	    !arch_mmu_query(rec, &pa, &flags) || !arch_mmu_query(rec + 23, &pa, &flags))
		return false;
	memset(f, 0, sizeof(*f));
	f->rbp = ((const uint64_t *)rec)[0];
	f->rip = ((const uint64_t *)rec)[2];
	f->rsp = rec + 24 + PREEMPT_RED_ZONE;
	return true;
}

/*
 * The calls GCC emits, read back from their end: e8 rel32 (direct: the target is ret
 * plus rel32); through a register, ff d0+r (a REX prefix before it changes nothing
 * here); through memory, ff with modrm 15 (rip-relative, rel32), 10+r (no
 * displacement), 50+r or 14 (an 8-bit one), 90+r or 94 (a 32-bit one, with a SIB byte
 * for 14/94). A byte pattern can also occur inside another instruction: for a
 * backtrace's judgement only, never for control flow.
 */
enum arch_call arch_call_before(uint64_t ret, uint64_t ret_func_start, uint64_t *target)
{
	const uint8_t *b = (const uint8_t *)ret;
	uint64_t len = ret - ret_func_start;	/* bytes of the function before ret */
	if (ret < ret_func_start)
		return ARCH_CALL_NONE;
	if (len >= 5 && b[-5] == 0xe8) {
		int32_t disp;
		memcpy(&disp, b - 4, sizeof(disp));
		*target = ret + (uint64_t)(int64_t)disp;
		return ARCH_CALL_DIRECT;
	}
	if (len >= 2 && b[-2] == 0xff && ((b[-1] & 0xf8) == 0xd0 ||
					  ((b[-1] & 0xf8) == 0x10 && (b[-1] & 7) != 4 && (b[-1] & 7) != 5)))
		return ARCH_CALL_INDIRECT;	/* *%reg, *(%reg) */
	if (len >= 3 && b[-3] == 0xff && (((b[-2] & 0xf8) == 0x50 && (b[-2] & 7) != 4) || b[-2] == 0x14))
		return ARCH_CALL_INDIRECT;	/* *d8(%reg), *(%reg,%reg) */
	if (len >= 4 && b[-4] == 0xff && b[-3] == 0x54)
		return ARCH_CALL_INDIRECT;	/* *d8(%reg,%reg) */
	if (len >= 6 && b[-6] == 0xff && (b[-5] == 0x15 || ((b[-5] & 0xf8) == 0x90 && (b[-5] & 7) != 4)))
		return ARCH_CALL_INDIRECT;	/* *rel32(%rip), *d32(%reg) */
	if (len >= 7 && b[-7] == 0xff && b[-6] == 0x94)
		return ARCH_CALL_INDIRECT;	/* *d32(%reg,%reg) */
	return ARCH_CALL_NONE;
}
