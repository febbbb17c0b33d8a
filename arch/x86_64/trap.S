/*
 * arch/x86_64/trap.S: IDT entry stubs for the 32 CPU exceptions and the 224
 * interrupt vectors.
 *
 * Each stub pushes a 0 error code where the CPU does not, then its vector, then the
 * general registers and the FXSAVE image of the x87/SSE state, building a struct
 * arch_frame (arch/frame.h) on the stack the IDT gate chose (IST1 for every
 * exception, so a fault on a bad kernel stack still lands on good memory; IST2 for
 * interrupts, see cpu.c), and calls x86_trap(frame). The SSE state is saved because
 * compiled C uses the XMM registers (memcpy, newlib): an interrupt that returns must
 * give the interrupted code its registers back, all of them. %rbp is pointed at a
 * fake frame record {interrupted rbp, interrupted rip} so a backtrace walks through
 * the trap into the interrupted code.
 *
 * In 64-bit mode the CPU aligns %rsp to 16 before pushing its frame; 176 bytes of
 * frame keep that, so the FXSAVE area (16-byte aligned) and the call are aligned too.
 */
#define FRAME_FX 512	/* sizeof the FXSAVE area at the bottom of struct arch_frame */
	.macro TRAP_NOERR n
	.p2align 4
trap_\n:
	pushq $0
	pushq $\n
	jmp trap_common
	.endm
	.macro TRAP_ERR n
	.p2align 4
trap_\n:
	pushq $\n
	jmp trap_common
	.endm

	.text
	TRAP_NOERR 0
	TRAP_NOERR 1
	TRAP_NOERR 2
	TRAP_NOERR 3
	TRAP_NOERR 4
	TRAP_NOERR 5
	TRAP_NOERR 6
	TRAP_NOERR 7
	TRAP_ERR 8
	TRAP_NOERR 9
	TRAP_ERR 10
	TRAP_ERR 11
	TRAP_ERR 12
	TRAP_ERR 13
	TRAP_ERR 14
	TRAP_NOERR 15
	TRAP_NOERR 16
	TRAP_ERR 17
	TRAP_NOERR 18
	TRAP_NOERR 19
	TRAP_NOERR 20
	TRAP_ERR 21
	TRAP_NOERR 22
	TRAP_NOERR 23
	TRAP_NOERR 24
	TRAP_NOERR 25
	TRAP_NOERR 26
	TRAP_NOERR 27
	TRAP_NOERR 28
	TRAP_ERR 29
	TRAP_ERR 30
	TRAP_NOERR 31

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	subq $FRAME_FX, %rsp
	fxsave (%rsp)
	movq %rsp, %rdi
	/* fake frame record: {rbp, rip + 1} of the interrupted code (a walker names a
	 * record's ret - 1, the call; for rip + 1 that is the interrupted instruction
	 * itself, also when it is a function's first, as preempt.S and aarch64's vectors
	 * do: with rip the dump named the function before it) */
	pushq FRAME_FX+17*8(%rdi)	/* rip */
	incq (%rsp)			/* (the flags are saved in the frame already) */
	pushq FRAME_FX+8*8(%rdi)	/* rbp */
	movq %rsp, %rbp
	call x86_trap
	addq $16, %rsp
	fxrstor (%rsp)
	addq $FRAME_FX, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	/* Interrupt vectors 32..255: 16 bytes apart from x86_irq_stubs, so the IDT computes
	 * their addresses (cpu.c). Encoded by hand so every stub has the same size:
	 * push $0 (6a 00), push imm32 (68 ...), jmp rel32 (e9 ...), int3 padding. */
	.p2align 4
	.globl x86_irq_stubs
x86_irq_stubs:
	.set vec, 32
	.rept 224
	.byte 0x6a, 0x00
	.byte 0x68
	.long vec
	.byte 0xe9
	.long trap_common - (. + 4)
	.fill 4, 1, 0xcc
	.set vec, vec + 1
	.endr
	.if . - x86_irq_stubs != 224 * 16
	.error "interrupt stubs are not 16 bytes apart"
	.endif

	.section .rodata
	.p2align 3
	.globl x86_trap_stubs
x86_trap_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_\n
	.endr
