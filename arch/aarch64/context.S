/*
 * arch/aarch64/context.S: the context switch and the first-run trampoline
 * (contract: arch/include/arch/context.h; layout: <arch/context_impl.h>).
 *
 * arch_context_switch(from = x0, to = x1) is an ordinary call to its caller: it
 * stores x19-x30, sp, FPCR and d8-d15 into *from, loads them from *to and returns
 * with `ret`, that is to to's x30. Every store to *from comes before the first load
 * from *to, so from == to reloads what was just saved and returns at once. Nothing is
 * pushed on either stack: a suspended context's state lives only in its struct, where
 * the collector and the traceback read it.
 *
 * FPCR costs a compare, not a write, in the common case: a write to FPCR may be
 * self-synchronising (it is on several cores), so msr runs only when to's value
 * differs from the one just read.
 *
 * The interrupt mask (DAIF) is not touched (contract). An interrupt taken between
 * the write of sp and the ret runs on the exception stack (SP_EL1) or, nested, below
 * the new sp, which is free.
 *
 * Rejected: pushing the registers on the old stack and keeping only sp in the struct
 * (the collector and tracebacks would have to know that layout); saving all of
 * q8-q15 (only the low 64 bits are callee-saved).
 */
#include <arch/context_impl.h>

	.text

/* void arch_context_switch(struct arch_context *from, struct arch_context *to) */
	.globl	arch_context_switch
	.type	arch_context_switch, %function
	.p2align 4
arch_context_switch:
	.cfi_startproc
	mov	x9, sp
	mrs	x10, fpcr
	stp	x19, x20, [x0, #CTX_X19]
	stp	x21, x22, [x0, #CTX_X21]
	stp	x23, x24, [x0, #CTX_X23]
	stp	x25, x26, [x0, #CTX_X25]
	stp	x27, x28, [x0, #CTX_X27]
	stp	x29, x30, [x0, #CTX_X29]
	stp	x9, x10, [x0, #CTX_SP]		/* sp, fpcr */
	stp	d8, d9, [x0, #CTX_D8]
	stp	d10, d11, [x0, #CTX_D10]
	stp	d12, d13, [x0, #CTX_D12]
	stp	d14, d15, [x0, #CTX_D14]

	ldp	x9, x11, [x1, #CTX_SP]		/* to's sp, fpcr */
	cmp	x10, x11
	b.ne	.Lload_fpcr
.Lload:
	ldp	x19, x20, [x1, #CTX_X19]
	ldp	x21, x22, [x1, #CTX_X21]
	ldp	x23, x24, [x1, #CTX_X23]
	ldp	x25, x26, [x1, #CTX_X25]
	ldp	x27, x28, [x1, #CTX_X27]
	ldp	x29, x30, [x1, #CTX_X29]
	ldp	d8, d9, [x1, #CTX_D8]
	ldp	d10, d11, [x1, #CTX_D10]
	ldp	d12, d13, [x1, #CTX_D12]
	ldp	d14, d15, [x1, #CTX_D14]
	mov	sp, x9
	ret
.Lload_fpcr:
	msr	fpcr, x11
	b	.Lload
	.cfi_endproc
	.size	arch_context_switch, . - arch_context_switch

/*
 * A new context's first instructions: sp = stack_top (16-byte aligned), x29 = 0,
 * x19 = entry, x20 = arg (arch_context_init). The stored pair {x29 = 0, x30 = 0} is
 * the terminating frame record: entry's own record points at it, so a frame-pointer
 * walk from anywhere inside entry ends right after naming arch_context_start. sp
 * stays 16-byte aligned. .cfi_undefined x30 ends DWARF unwinds (gdb) here too.
 */
	.globl	arch_context_start
	.type	arch_context_start, %function
	.p2align 4
arch_context_start:
	.cfi_startproc
	.cfi_undefined x30
	stp	xzr, xzr, [sp, #-16]!
	mov	x29, sp
	mov	x0, x20
	blr	x19
	.cfi_endproc
	.size	arch_context_start, . - arch_context_start

/* entry returned, which it must not: a trap named for the mistake (the call's
 * return address is this symbol). */
	.globl	arch_context_entry_returned
	.type	arch_context_entry_returned, %function
arch_context_entry_returned:
	brk	#0xc7
	.size	arch_context_entry_returned, . - arch_context_entry_returned

	.section .note.GNU-stack, "", %progbits
