/*
 * arch/x86_64/preempt.S: the trampoline a preempted context returns into
 * (arch_frame_inject_call, trap.c).
 *
 * The injection left every register as the interrupted code had it, except %rip
 * (here) and IF (cleared, so nothing can interrupt us before the per-CPU scratch words
 * are read: this CPU's cpu.arch_scratch = {interrupted rip, interrupted rflags, fn}).
 * The trampoline pushes the interrupted rip as a return address and a frame record
 * {rbp, rip + 1} (backtraces of the preempted goroutine walk through into the
 * interrupted function; a walker names ret - 1, which for rip + 1 is the interrupted
 * instruction itself, even the first of its function), saves the flags, the caller-saved registers and the x87/SSE state (the
 * callee-saved ones are fn's to keep), turns interrupts on and calls fn. fn may switch
 * to another goroutine and come back on another CPU: nothing per-CPU is used after
 * the call. Then everything is put back and `ret` resumes the interrupted code; an
 * interrupt during the restore is harmless (it saves and restores all of it too).
 * The kernel's code has no red zone (-mno-red-zone), so pushing below the interrupted
 * %rsp clobbers nothing; a push onto a not-yet-mapped stack page is an ordinary
 * stack-growth fault.
 */
#define SCRATCH_RIP	8	/* ARCH_PERCPU_SCRATCH_OFF + 8 * n, arch/smp.h */
#define SCRATCH_RFLAGS	16
#define SCRATCH_FN	24

#include <arch/callsave_asm.h>

	.text
	.globl x86_preempt_tramp, x86_preempt_tramp_end
	.type x86_preempt_tramp, @function
x86_preempt_tramp:
	pushq %gs:SCRATCH_RIP		/* the return address: where it was interrupted */
	pushq %gs:SCRATCH_RIP
	incq (%rsp)			/* the record's copy, rip + 1 (the flags are saved) */
	pushq %rbp
	movq %rsp, %rbp			/* frame record {rbp, rip + 1} */
	pushq %gs:SCRATCH_RFLAGS
	CALLSAVE_PUSH
	movq %gs:SCRATCH_FN, %rax
	CALLSAVE_FXSAVE
	sti
	call *%rax
	CALLSAVE_POP
	popfq
	popq %rbp
	leaq 8(%rsp), %rsp		/* the record's copy; lea leaves the flags alone */
	ret
x86_preempt_tramp_end:
	.size x86_preempt_tramp, . - x86_preempt_tramp
