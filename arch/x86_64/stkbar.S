/*
 * arch/x86_64/stkbar.S: the stack-barrier trampoline (arch/stkbar.h); the hosted
 * platform assembles this file too (host/stkbar.S).
 *
 * Entered by a function's `ret`: %rsp is 16-byte aligned (it was at the call) and
 * 8 above the return address slot. The return values (rax, rdx, xmm0, xmm1) are kept
 * across the handler; it returns the real return address, which `jmp` takes with
 * %r11 (caller-saved, free at a return); %rbp is kept (the record below is popped).
 * No red zone is used: the hosted platform's
 * is dead here (the function that owned it has returned, and its caller's ended at
 * its call).
 */
	.text
	.globl arch_stkbar_tramp, arch_stkbar_tramp_end
	.type arch_stkbar_tramp, @function
arch_stkbar_tramp:
	subq $48, %rsp
	movq %rax, 0(%rsp)
	movq %rdx, 8(%rsp)
	movups %xmm0, 16(%rsp)
	movups %xmm1, 32(%rsp)
	leaq 48(%rsp), %rdi
	/* A frame record of our own, its return address in here, before the call: from
	 * the handler's first instruction on (before its prologue has made its own
	 * record), a walk from the frame pointer meets it and knows a return through a
	 * barrier is under way (rt/gc/stackbar.c: an install or a removal then must not
	 * change the bookkeeping the handler is about to read; seen: one in the handler's
	 * prologue, from an IPI, left it looking for a barrier no longer listed). */
	leaq 1f(%rip), %r11
	pushq %r11
	pushq %rbp
	movq %rsp, %rbp
	call *arch_stkbar_fn(%rip)
1:	popq %rbp
	addq $8, %rsp
	movq %rax, %r11
	movq 0(%rsp), %rax
	movq 8(%rsp), %rdx
	movups 16(%rsp), %xmm0
	movups 32(%rsp), %xmm1
	addq $48, %rsp
	jmpq *%r11
arch_stkbar_tramp_end:
	.size arch_stkbar_tramp, . - arch_stkbar_tramp

	.data
	.balign 8
	.globl arch_stkbar_fn
arch_stkbar_fn:
	.quad 0
