/*
 * arch/host/context.S: the context switch and the first-run trampoline of the hosted
 * platform (contract: arch/include/arch/context.h; layout: <arch/context_impl.h>).
 *
 * The host is x86-64 and this is arch/x86_64/context.S instruction for instruction
 * (read the reasons there), with two differences for the sanitizer builds:
 *
 *   - the register switch is named host_context_swap, and arch_context_switch is a C
 *     function around it (context.c) that tells AddressSanitizer and
 *     ThreadSanitizer about the switch; in the plain build the register switch is
 *     arch_context_switch itself, so a suspended context's pc names its switcher
 *     exactly as on bare metal (with the wrapper, pc is in arch_context_switch and
 *     the switcher is the next frame);
 *   - in those builds the trampoline first calls host_context_first_run, the
 *     arriving half of the wrapper (ASan's __sanitizer_finish_switch_fiber, the
 *     TSan build's signal mask), on the new stack before entry runs.
 *
 * GCC defines __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__ for preprocessed assembly
 * too, from the same -fsanitize flags host.mk gives every file of a variant.
 */
#include <arch/context_impl.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CONTEXT_SWAP host_context_swap
#else
#define CONTEXT_SWAP arch_context_switch
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
 * rbx = entry, r12 = arg (context.c). Then as on x86-64: the terminating frame
 * record {0, 0}, rbp at it, entry(arg) called with rsp 16-byte aligned.
 */
	.globl	arch_context_start
	.type	arch_context_start, @function
	.p2align 4
arch_context_start:
	.cfi_startproc
	.cfi_undefined rip
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	callq	host_context_first_run		/* rbx, r12 survive: callee-saved */
#endif
	pushq	$0				/* return address 0 */
	pushq	$0				/* caller's rbp 0 */
	movq	%rsp, %rbp
	movq	%r12, %rdi
	callq	*%rbx
	.cfi_endproc
	.size	arch_context_start, . - arch_context_start

/* entry returned, which it must not: ud2, which arch/host/trap.c reports as an
 * invalid opcode in this named function (the call's return address). */
	.globl	arch_context_entry_returned
	.type	arch_context_entry_returned, @function
arch_context_entry_returned:
	ud2
	.size	arch_context_entry_returned, . - arch_context_entry_returned

	.section .note.GNU-stack, "", @progbits
