/*
 * arch/stkbar.h: the stack-barrier trampoline (the collector's stack barriers,
 * rt/gc/stackbar.c).
 *
 * A stack barrier is a frame record whose return address was replaced by
 * arch_stkbar_tramp. The function of that frame returns into the trampoline, which
 * keeps the return-value registers (x86-64: rax, rdx, xmm0, xmm1; aarch64: x0-x8,
 * q0-q7; the x87 stack is not touched), calls the handler registered with
 * arch_stkbar_set_handler with the stack pointer it was entered with, and continues
 * at the address the handler returns, as the function's own return would have: every
 * register but the caller-saved scratch ones as the function left them. The handler
 * runs on the goroutine's stack, interrupts as they were (on); it may be preempted.
 *
 * Frame records are {saved fp, return address} on every arch; the return address
 * slot is 8 bytes above the record. The trampoline's code is [arch_stkbar_tramp,
 * arch_stkbar_tramp_end): a pc there, or a return address into it from the handler's
 * frame, means a barrier's return is under way.
 *
 *   arch_record_kind(fp, ret, limit)
 *       what the record at fp, holding return address ret (already checked to be in
 *       the image's code; the stack ends at limit), is: a call's return
 *       (STKBAR_RECORD_CALL: the instruction before ret is a call), the record the
 *       preemption trampoline plants for the interrupted code (STKBAR_RECORD_PREEMPT:
 *       its return address is not a return slot, walk on through it), or neither
 *       (STKBAR_RECORD_BAD).
 */
#ifndef ARCH_STKBAR_H
#define ARCH_STKBAR_H

#include <stdint.h>

enum stkbar_record {
	STKBAR_RECORD_BAD = 0,
	STKBAR_RECORD_CALL,
	STKBAR_RECORD_PREEMPT,
};

extern const char arch_stkbar_tramp[], arch_stkbar_tramp_end[];
extern uintptr_t (*arch_stkbar_fn)(uintptr_t sp);

static inline void arch_stkbar_set_handler(uintptr_t (*fn)(uintptr_t sp))
{
	arch_stkbar_fn = fn;
}

static inline int arch_stkbar_in_tramp(uintptr_t pc)
{
	return pc >= (uintptr_t)arch_stkbar_tramp && pc < (uintptr_t)arch_stkbar_tramp_end;
}

#include <arch/stkbar_impl.h>

#endif
