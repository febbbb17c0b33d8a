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
	movq %fs:host_preempt_fn@tpoff, %rdi
	CALLSAVE_FXSAVE
	call host_preempt_call
	CALLSAVE_POP
	popfq
	popq %rbp
	leaq 8(%rsp), %rsp
	ret $128
host_preempt_tramp_end:
	.size host_preempt_tramp, . - host_preempt_tramp
	.section .note.GNU-stack, "", @progbits
