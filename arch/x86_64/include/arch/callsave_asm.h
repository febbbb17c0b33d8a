/*
 * arch/callsave_asm.h (x86-64, assembly only; the hosted platform's preempt.S uses it
 * too): around a call made from a point where no register may change (the preemption
 * trampolines), save and restore what the callee may clobber: the nine caller-saved
 * general registers, then (16-byte aligned, below them) the x87/SSE state. %rbp must
 * point 8 bytes above the nine (the trampoline's frame record, with one word between:
 * the saved flags), so that CALLSAVE_POP can find them whatever the alignment did.
 * The hosted trampoline saves the AVX state as well when the OS enabled it (XSAVE,
 * arch/host/preempt.S) and pops the nine with CALLSAVE_POP_GPRS.
 */
#ifndef ARCH_X86_64_CALLSAVE_ASM_H
#define ARCH_X86_64_CALLSAVE_ASM_H

.macro CALLSAVE_PUSH
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
.endm

.macro CALLSAVE_FXSAVE
	subq $512, %rsp
	andq $-16, %rsp
	fxsave64 (%rsp)
.endm

/* after the call: the SSE state, then the nine registers (at %rbp - 80) */
.macro CALLSAVE_POP
	fxrstor64 (%rsp)
	CALLSAVE_POP_GPRS
.endm

/* the nine registers alone (the hosted trampoline restores its vector state itself) */
.macro CALLSAVE_POP_GPRS
	leaq -80(%rbp), %rsp
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
.endm

#endif
