/*
 * arch/aarch64/stkbar.S: the stack-barrier trampoline (arch/stkbar.h).
 *
 * Entered by a function's `ret` through x30: sp is the caller's (16-byte aligned),
 * above the record whose return address was replaced. The return values (x0-x7, x8
 * for good measure, q0-q7) are kept across the handler; it returns the real return
 * address, which becomes x30 for the final `ret` (x30 is the return address after a
 * normal return too).
 */
	.text
	.globl	arch_stkbar_tramp, arch_stkbar_tramp_end
	.type	arch_stkbar_tramp, %function
arch_stkbar_tramp:
	sub	sp, sp, #224
	stp	x0, x1, [sp, #0]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, xzr, [sp, #64]		/* the pad too: every word of the area written */
	stp	q0, q1, [sp, #80]
	stp	q2, q3, [sp, #112]
	stp	q4, q5, [sp, #144]
	stp	q6, q7, [sp, #176]
	/* A frame record of our own above the save area, its return address in here:
	 * from the handler's first instruction on (before its prologue has made its own
	 * record), a walk from x29 meets it and knows a return through a barrier is under
	 * way (rt/gc/stackbar.c: an install or a removal must not change the bookkeeping
	 * the handler is about to read). x29 is put back below. */
	adr	x10, 1f
	stp	x29, x10, [sp, #208]
	add	x29, sp, #208
	add	x0, sp, #224
	adrp	x9, arch_stkbar_fn
	ldr	x9, [x9, :lo12:arch_stkbar_fn]
	blr	x9
1:	mov	x30, x0
	ldr	x29, [sp, #208]
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldr	x8, [sp, #64]
	ldp	q0, q1, [sp, #80]
	ldp	q2, q3, [sp, #112]
	ldp	q4, q5, [sp, #144]
	ldp	q6, q7, [sp, #176]
	add	sp, sp, #224
	ret
arch_stkbar_tramp_end:
	.size	arch_stkbar_tramp, . - arch_stkbar_tramp

	.data
	.balign	8
	.globl	arch_stkbar_fn
arch_stkbar_fn:
	.quad	0
