/*
 * arch/x86_64/context.S: the context switch and the first-run trampoline
 * (contract: arch/include/arch/context.h; layout: <arch/context_impl.h>).
 *
 * arch_context_switch(from = rdi, to = rsi) is an ordinary call to its caller: it
 * stores the callee-saved state into *from as it will be once the call returns
 * (rip = the return address, rsp = just above it), then loads *to and jumps to its
 * rip. Every store to *from comes before the first load from *to, so from == to
 * reloads what was just saved and returns at once. Nothing is pushed on either
 * stack: a suspended context's state lives only in its struct, where the collector
 * and the traceback read it.
 *
 * The FP control state costs a compare, not a reload, in the common case: ldmxcsr and
 * fldcw are slow (microcoded; fldcw serialises x87 on many cores), so they run only
 * when to's control bits differ from the ones just saved. MXCSR status flags (bits
 * 0-5) are caller-saved: they take no part in the compare, and when MXCSR is loaded
 * they come from *to.
 *
 * The interrupt flag is not touched (contract). An interrupt taken between the load
 * of rsp and the jump runs on the new stack below its rsp, which is free.
 *
 * Rejected: pushing the registers on the old stack and keeping only rsp in the struct
 * (the usual kernel switch; one store fewer, but the collector and tracebacks would
 * then have to know that stack layout); `push rip; ret` instead of `jmp *` (the
 * return-stack predictor is wrong either way: a switch never returns where it was
 * called).
 */
#include <arch/context_impl.h>

/*
 * The hosted platform assembles this very file (arch/host/context.S), with the
 * register switch under another name and a first-run hook for the sanitizer builds.
 */
#ifndef CONTEXT_SWAP
#define CONTEXT_SWAP arch_context_switch
#endif
#ifndef CONTEXT_FIRST_RUN
#define CONTEXT_FIRST_RUN
#endif

	.text

/* void CONTEXT_SWAP(struct arch_context *from, struct arch_context *to) */
	.globl	CONTEXT_SWAP
	.type	CONTEXT_SWAP, @function
	.p2align 4
CONTEXT_SWAP:
	.cfi_startproc
	movq	(%rsp), %rax			/* from resumes at our return address */
	leaq	8(%rsp), %rcx			/* with rsp as after the ret */
	movq	%rbx, CTX_RBX(%rdi)
	movq	%rbp, CTX_RBP(%rdi)
	movq	%r12, CTX_R12(%rdi)
	movq	%r13, CTX_R13(%rdi)
	movq	%r14, CTX_R14(%rdi)
	movq	%r15, CTX_R15(%rdi)
	movq	%rcx, CTX_RSP(%rdi)
	movq	%rax, CTX_RIP(%rdi)
	stmxcsr	CTX_MXCSR(%rdi)
	fnstcw	CTX_FCW(%rdi)

	movl	CTX_MXCSR(%rdi), %eax
	xorl	CTX_MXCSR(%rsi), %eax
	testl	$~0x3f, %eax			/* control bits differ? */
	jnz	.Lload_fp
	movzwl	CTX_FCW(%rdi), %eax
	cmpw	CTX_FCW(%rsi), %ax
	jne	.Lload_fp
.Lload_gprs:
	movq	CTX_RBX(%rsi), %rbx
	movq	CTX_RBP(%rsi), %rbp
	movq	CTX_R12(%rsi), %r12
	movq	CTX_R13(%rsi), %r13
	movq	CTX_R14(%rsi), %r14
	movq	CTX_R15(%rsi), %r15
	movq	CTX_RSP(%rsi), %rsp
	jmpq	*CTX_RIP(%rsi)
.Lload_fp:
	ldmxcsr	CTX_MXCSR(%rsi)
	fldcw	CTX_FCW(%rsi)
	jmp	.Lload_gprs
	.cfi_endproc
	.size	CONTEXT_SWAP, . - CONTEXT_SWAP

/*
 * A new context's first instructions: rsp = stack_top (16-byte aligned), rbp = 0,
 * rbx = entry, r12 = arg (arch_context_init). The pushed pair {saved rbp = 0, return
 * address = 0} is the terminating frame record: entry's own record points at it, so
 * a frame-pointer walk from anywhere inside entry ends right after naming
 * arch_context_start. After the two pushes rsp is still 16-byte aligned, as the call
 * requires. .cfi_undefined rip ends DWARF unwinds (gdb) here too.
 */
	.globl	arch_context_start
	.type	arch_context_start, @function
	.p2align 4
arch_context_start:
	.cfi_startproc
	.cfi_undefined rip
	CONTEXT_FIRST_RUN
	pushq	$0				/* return address 0 */
	pushq	$0				/* caller's rbp 0 */
	movq	%rsp, %rbp
	movq	%r12, %rdi
	callq	*%rbx
	.cfi_endproc
	.size	arch_context_start, . - arch_context_start

/* entry returned, which it must not: a trap named for the mistake (the call's
 * return address is this symbol). */
	.globl	arch_context_entry_returned
	.type	arch_context_entry_returned, @function
arch_context_entry_returned:
	ud2
	.size	arch_context_entry_returned, . - arch_context_entry_returned

	.section .note.GNU-stack, "", @progbits
