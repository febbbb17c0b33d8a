/*
 * arch/aarch64/preempt.S: the trampoline a preempted context returns into
 * (arch_frame_inject_call, trap.c).
 *
 * The injection left every register as the interrupted code had it, except the pc
 * (here) and PSTATE.I (set, so nothing can interrupt us before the per-CPU scratch
 * words are read: this CPU's cpu.arch_scratch = {interrupted pc, interrupted SPSR,
 * fn}). The trampoline saves all general registers, the FP/SIMD state and the two
 * words on the interrupted stack (SP_EL0; a store to a not-yet-mapped stack page is
 * an ordinary stack-growth fault), plants a frame record {x29, pc + 4} so backtraces
 * walk into the interrupted function (a walker names ret - 1, as for trap frames),
 * unmasks interrupts and calls fn. fn may switch to another goroutine and come back
 * on another CPU: nothing per-CPU is used after the call. Going back needs the pc in
 * a register and every register restored at once, which only an exception return
 * gives: with interrupts masked, ELR_EL1/SPSR_EL1 get the saved pair, the registers
 * come back, and eret resumes the interrupted code on SP_EL0 with its own PSTATE.
 *
 * Frame on the stack (816 bytes, a multiple of 16; sp is always 16-aligned):
 *   0 record {x29, pc + 4}   16 x0..x30   264 (pad)   272 pc, spsr   288 fpsr, fpcr
 *   304 q0..q31
 */
#include <arch/fpsimd_asm.h>

#define SCRATCH_PC	8	/* ARCH_PERCPU_SCRATCH_OFF + 8 * n, arch/smp.h */
#define SCRATCH_FN	24
#define P_X0		16
#define P_PC		272
#define P_FPSR		288
#define P_Q0		304
#define P_SIZE		816

	.text
	.globl	a64_preempt_tramp, a64_preempt_tramp_end
	.type	a64_preempt_tramp, %function
a64_preempt_tramp:
	sub	sp, sp, #P_SIZE
	stp	x0, x1, [sp, #P_X0 + 16 * 0]
	stp	x2, x3, [sp, #P_X0 + 16 * 1]
	stp	x4, x5, [sp, #P_X0 + 16 * 2]
	stp	x6, x7, [sp, #P_X0 + 16 * 3]
	stp	x8, x9, [sp, #P_X0 + 16 * 4]
	stp	x10, x11, [sp, #P_X0 + 16 * 5]
	stp	x12, x13, [sp, #P_X0 + 16 * 6]
	stp	x14, x15, [sp, #P_X0 + 16 * 7]
	stp	x16, x17, [sp, #P_X0 + 16 * 8]
	stp	x18, x19, [sp, #P_X0 + 16 * 9]
	stp	x20, x21, [sp, #P_X0 + 16 * 10]
	stp	x22, x23, [sp, #P_X0 + 16 * 11]
	stp	x24, x25, [sp, #P_X0 + 16 * 12]
	stp	x26, x27, [sp, #P_X0 + 16 * 13]
	stp	x28, x29, [sp, #P_X0 + 16 * 14]
	str	x30, [sp, #P_X0 + 16 * 15]
	mrs	x0, tpidr_el1		/* struct cpu: the scratch words */
	ldp	x1, x2, [x0, #SCRATCH_PC]
	ldr	x3, [x0, #SCRATCH_FN]
	stp	x1, x2, [sp, #P_PC]
	mrs	x4, fpsr
	mrs	x5, fpcr
	stp	x4, x5, [sp, #P_FPSR]
	add	x4, x1, #4
	stp	x29, x4, [sp]
	mov	x29, sp
	add	x0, sp, #P_Q0
	SAVE_Q0_Q31 x0
	msr	daifclr, #2
	blr	x3
	msr	daifset, #3		/* ELR/SPSR must survive until eret */
	add	x0, sp, #P_Q0
	RESTORE_Q0_Q31 x0
	ldp	x0, x1, [sp, #P_FPSR]
	msr	fpsr, x0
	msr	fpcr, x1
	ldp	x0, x1, [sp, #P_PC]
	msr	elr_el1, x0
	msr	spsr_el1, x1
	ldp	x2, x3, [sp, #P_X0 + 16 * 1]
	ldp	x4, x5, [sp, #P_X0 + 16 * 2]
	ldp	x6, x7, [sp, #P_X0 + 16 * 3]
	ldp	x8, x9, [sp, #P_X0 + 16 * 4]
	ldp	x10, x11, [sp, #P_X0 + 16 * 5]
	ldp	x12, x13, [sp, #P_X0 + 16 * 6]
	ldp	x14, x15, [sp, #P_X0 + 16 * 7]
	ldp	x16, x17, [sp, #P_X0 + 16 * 8]
	ldp	x18, x19, [sp, #P_X0 + 16 * 9]
	ldp	x20, x21, [sp, #P_X0 + 16 * 10]
	ldp	x22, x23, [sp, #P_X0 + 16 * 11]
	ldp	x24, x25, [sp, #P_X0 + 16 * 12]
	ldp	x26, x27, [sp, #P_X0 + 16 * 13]
	ldp	x28, x29, [sp, #P_X0 + 16 * 14]
	ldr	x30, [sp, #P_X0 + 16 * 15]
	ldp	x0, x1, [sp, #P_X0]
	add	sp, sp, #P_SIZE
	eret
a64_preempt_tramp_end:
	.size	a64_preempt_tramp, . - a64_preempt_tramp
