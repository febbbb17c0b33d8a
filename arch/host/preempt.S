/*
 * arch/host/preempt.S: the trampoline a preempted context returns into
 * (arch_frame_inject_call, irq.c) on the hosted platform.
 *
 * As on x86-64 (arch/x86_64/preempt.S), with three differences. The scratch words
 * are this thread's host_preempt_rip and host_preempt_fn (the signal return restored
 * the flags, so they are simply pushed). "Interrupts off" is the software mask
 * host_irq_off, which the signal handler left set; host_preempt_call clears it (and
 * takes what was recorded meanwhile) before calling fn. And the host program is
 * compiled with the System V red zone, 128 bytes below %rsp that a leaf may use
 * without moving %rsp: the trampoline steps over it first and `ret $128` steps back.
 *
 * The vector registers: Linux enables AVX (and AVX-512 where the CPU has it) for
 * every program, so code built with -mavx or above may hold ymm/zmm state where it
 * is preempted, and the goroutine that runs meanwhile may change it. The trampoline
 * saves with XSAVE what host_xsave_mask names (irq.c: x87, SSE, AVX and AVX-512 as
 * XCR0 enables them; 2.7 KiB at most, on the goroutine's stack), and falls back to
 * FXSAVE (x87/SSE, the image's own state) where the OS has no XSAVE.
 */
#include "../x86_64/include/arch/callsave_asm.h"

	.text
	.globl host_preempt_tramp, host_preempt_tramp_end
	.type host_preempt_tramp, @function
host_preempt_tramp:
	leaq -128(%rsp), %rsp		/* leave the interrupted code's red zone alone */
	pushq %fs:host_preempt_rip@tpoff
	pushq %fs:host_preempt_rec@tpoff	/* rip + 1, for the record (x86_64/preempt.S) */
	pushq %rbp
	movq %rsp, %rbp			/* frame record {rbp, rip + 1} */
	pushfq
	CALLSAVE_PUSH
	movq host_xsave_mask(%rip), %rax
	testq %rax, %rax
	jz 1f
	/* XSAVE of the components host_xsave_mask names (irq.c), 64-byte aligned, its
	 * header zeroed first (XRSTOR refuses a standard-form area whose header bytes
	 * past XSTATE_BV are not zero, and XSAVE writes only XSTATE_BV) */
	subq host_xsave_size(%rip), %rsp
	andq $-64, %rsp
	xorl %ecx, %ecx
	movq %rcx, 512(%rsp)
	movq %rcx, 520(%rsp)
	movq %rcx, 528(%rsp)
	movq %rcx, 536(%rsp)
	movq %rcx, 544(%rsp)
	movq %rcx, 552(%rsp)
	movq %rcx, 560(%rsp)
	movq %rcx, 568(%rsp)
	xorl %edx, %edx			/* (the mask is below bit 32) */
	xsave64 (%rsp)
	movq %fs:host_preempt_fn@tpoff, %rdi
	call host_preempt_call
	movq host_xsave_mask(%rip), %rax
	xorl %edx, %edx
	xrstor64 (%rsp)
	jmp 2f
1:	CALLSAVE_FXSAVE			/* no XSAVE: the x87/SSE state */
	movq %fs:host_preempt_fn@tpoff, %rdi
	call host_preempt_call
	fxrstor64 (%rsp)
2:	CALLSAVE_POP_GPRS
	popfq
	popq %rbp
	leaq 8(%rsp), %rsp
	ret $128
host_preempt_tramp_end:
	.size host_preempt_tramp, . - host_preempt_tramp
	.section .note.GNU-stack, "", @progbits
