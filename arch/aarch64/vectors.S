/*
 * arch/aarch64/vectors.S: the VBAR_EL1 table and the register save/restore around
 * arm64_trap() (trap.c).
 *
 * The table is 16 slots of 0x80 bytes, 2 KiB aligned, in four groups by origin:
 *
 *   0x000  current EL, SP_EL0   the normal case: kernel code (and, later, goroutines)
 *                               runs on SP_EL0; taking the exception switched to SP_EL1
 *   0x200  current EL, SP_ELx   an exception while already on SP_EL1, that is inside
 *                               an exception handler: "nested"
 *   0x400  lower EL, AArch64    no EL0 code exists; unexpected, handled like 0x000
 *   0x600  lower EL, AArch32    likewise
 *
 * and in each group sync, IRQ, FIQ, SError. The slot number (group * 4 + type) is
 * saved as frame->kind. All paths build a struct arch_frame (arch/frame.h) and call
 * arm64_trap(frame) with a frame record {interrupted x29, elr + 4} planted in the
 * frame and x29 pointing at it, so a backtrace taken inside the handler walks on into
 * the interrupted code. (elr + 4, as if the interrupted instruction were a call: a
 * walker names the return address minus one, which then lies inside that instruction
 * even when it is the first of its function.) If arm64_trap returns, the frame
 * (possibly edited: elr, sp, registers) is restored and the exception returns.
 *
 * Stacks. Each CPU has its own pair (start.S for the boot CPU, smp.c for the others),
 * found through TPIDRRO_EL0, which points at the CPU's struct arm64_cpu (arm64.h).
 * The SP_EL0 group saves on SP_EL1, which is at the top of the exception stack
 * whenever no handler is running (handlers run with I and F masked and leave SP_EL1
 * as they found it). The SP_ELx group cannot trust SP_EL1 (it may be the very thing
 * that faulted: overflow, misalignment), so it moves to the CPU's nested stack: to
 * its top, or, when the interrupted code was already running on the nested stack (a
 * fault in the nested handler, or the semihosting trap of arch_poweroff called from
 * it), below the interrupted sp. With less than 4 KiB of the nested stack left it
 * stops the CPU. Switching stacks needs two scratch registers before anything is
 * saved: x0 goes to TPIDR_EL0, the EL0 thread register, which the kernel never uses
 * (there is no EL0 code; do not use __thread in the kernel, GCC would put the thread
 * pointer in TPIDR_EL0), and each of the four slots has its own copy of the switch
 * code, so the slot number needs no register.
 *
 * Interrupts. An IRQ from the SP_EL0 group is the normal case (arm64_trap passes it
 * to gicv3.c). An IRQ in the SP_ELx group means a handler unmasked interrupts on
 * purpose (arch_wait_for_interrupt or arch_wait_for_ipi called inside a handler: a
 * stop-the-world participant halting in its IPI_STOP handler): SP_EL1 is then sound,
 * so the frame goes right below the interrupted SP_EL1, as long as at least
 * IRQ_NEST_ROOM bytes of the exception stack remain; the handler is arm64_irq_nested
 * and the interrupted SP_EL1 (frame->sp) comes back as it was. With less room, or
 * when the handler was running on the nested stack, it is a nested exception like
 * any other.
 */
#include <arch/frame.h>
#include <arch/fpsimd_asm.h>

#define NESTED_STACK_MIN	4096	/* less left than this: stop */
/* IRQ_NEST_ROOM (arch/frame.h): a nested IRQ needs this much SP_EL1 left */

/* x2..x29, x30; x0, x1 and the sp slot are the caller's business */
.macro SAVE_X2_X30
	stp	x2, x3, [sp, #16 * 1]
	stp	x4, x5, [sp, #16 * 2]
	stp	x6, x7, [sp, #16 * 3]
	stp	x8, x9, [sp, #16 * 4]
	stp	x10, x11, [sp, #16 * 5]
	stp	x12, x13, [sp, #16 * 6]
	stp	x14, x15, [sp, #16 * 7]
	stp	x16, x17, [sp, #16 * 8]
	stp	x18, x19, [sp, #16 * 9]
	stp	x20, x21, [sp, #16 * 10]
	stp	x22, x23, [sp, #16 * 11]
	stp	x24, x25, [sp, #16 * 12]
	stp	x26, x27, [sp, #16 * 13]
	stp	x28, x29, [sp, #16 * 14]
	str	x30, [sp, #FRAME_X30]
.endm

/* x0 = kind. Saves the system registers and the FP/SIMD state, plants the frame
 * record, calls handler(frame). x29 must still be the interrupted x29. */
.macro SAVE_REST_AND_CALL handler=arm64_trap
	str	x0, [sp, #FRAME_KIND]
	mrs	x1, elr_el1
	mrs	x2, spsr_el1
	stp	x1, x2, [sp, #FRAME_ELR]
	mrs	x3, esr_el1
	mrs	x4, far_el1
	stp	x3, x4, [sp, #FRAME_ESR]
	mrs	x3, fpsr
	mrs	x4, fpcr
	stp	x3, x4, [sp, #FRAME_FPSR]
	add	x3, x1, #4		/* a walker names ret - 1: the faulting instruction */
	stp	x29, x3, [sp, #FRAME_RECORD]
	add	x0, sp, #FRAME_Q0
	SAVE_Q0_Q31 x0
	add	x29, sp, #FRAME_RECORD
	mov	x0, sp
	bl	\handler
.endm

/* Everything but x0, x1 and sp back from the frame at sp. */
.macro RESTORE_X2_X30_SYS
	add	x0, sp, #FRAME_Q0
	RESTORE_Q0_Q31 x0
	ldp	x0, x1, [sp, #FRAME_FPSR]
	msr	fpsr, x0
	msr	fpcr, x1
	ldp	x0, x1, [sp, #FRAME_ELR]
	msr	elr_el1, x0
	msr	spsr_el1, x1
	ldp	x2, x3, [sp, #16 * 1]
	ldp	x4, x5, [sp, #16 * 2]
	ldp	x6, x7, [sp, #16 * 3]
	ldp	x8, x9, [sp, #16 * 4]
	ldp	x10, x11, [sp, #16 * 5]
	ldp	x12, x13, [sp, #16 * 6]
	ldp	x14, x15, [sp, #16 * 7]
	ldp	x16, x17, [sp, #16 * 8]
	ldp	x18, x19, [sp, #16 * 9]
	ldp	x20, x21, [sp, #16 * 10]
	ldp	x22, x23, [sp, #16 * 11]
	ldp	x24, x25, [sp, #16 * 12]
	ldp	x26, x27, [sp, #16 * 13]
	ldp	x28, x29, [sp, #16 * 14]
	ldr	x30, [sp, #FRAME_X30]
.endm

/* A slot of the SP_EL0 and lower-EL groups: room for the frame on SP_EL1. */
.macro VENTRY_SP0 kind
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #FRAME_X0]
	mov	x0, #\kind
	b	trap_sp0
.endm

/* A slot of the SP_ELx group: nothing may touch the stack yet. */
.macro VENTRY_SPX kind
	.balign	0x80
	msr	tpidr_el0, x0
	b	spx_switch_\kind
.endm

/*
 * Move to this CPU's nested stack (see the top) for slot `kind`: the interrupted x0
 * is in TPIDR_EL0, sp = the interrupted SP_EL1; only x0 may change. Ends with x0 =
 * kind, the new frame at sp, x0/x1 and the interrupted sp saved in it.
 */
.macro SPX_SWITCH kind
spx_switch_\kind:
	mrs	x0, tpidrro_el0		/* this CPU's struct arm64_cpu */
	ldr	x0, [x0, #CPU_NESTED_BASE]
	sub	x0, sp, x0		/* x0 = interrupted sp - nested stack base */
	cmp	x0, #NESTED_STACK_SIZE
	b.hi	1f			/* not on the nested stack (or below it): use its top */
	cmp	x0, #NESTED_STACK_MIN
	b.lo	nested_overflow
	/* Already on the nested stack: continue below the interrupted sp, aligned. */
	mov	x0, sp
	bic	x0, x0, #15
	b	2f
1:	mrs	x0, tpidrro_el0
	ldr	x0, [x0, #CPU_NESTED_BASE]
	add	x0, x0, #NESTED_STACK_SIZE
2:	sub	x0, x0, #FRAME_SIZE	/* x0 = the new frame; sp = the interrupted sp */
	str	x1, [x0, #FRAME_X0 + 8]
	mov	x1, sp
	str	x1, [x0, #FRAME_SP]
	mov	sp, x0
	mrs	x0, tpidr_el0		/* the interrupted x0 */
	str	x0, [sp, #FRAME_X0]
	mov	x0, #\kind
	b	trap_spx
.endm

	.text
	.balign	2048
	.globl	arm64_vectors
arm64_vectors:
	VENTRY_SP0 0
	VENTRY_SP0 1
	VENTRY_SP0 2
	VENTRY_SP0 3
	VENTRY_SPX 4
	.balign	0x80			/* 5: IRQ on SP_EL1, see the top */
	msr	tpidr_el0, x0
	b	irq_spx
	VENTRY_SPX 6
	VENTRY_SPX 7
	VENTRY_SP0 8
	VENTRY_SP0 9
	VENTRY_SP0 10
	VENTRY_SP0 11
	VENTRY_SP0 12
	VENTRY_SP0 13
	VENTRY_SP0 14
	VENTRY_SP0 15

/* From the SP_EL0 (and lower-EL) slots: x0 = kind, x0/x1 saved at [sp]. */
trap_sp0:
	SAVE_X2_X30
	mrs	x1, sp_el0
	str	x1, [sp, #FRAME_SP]
	SAVE_REST_AND_CALL
	ldr	x0, [sp, #FRAME_SP]	/* the handler may move the interrupted sp */
	msr	sp_el0, x0
	RESTORE_X2_X30_SYS
	ldp	x0, x1, [sp, #FRAME_X0]
	add	sp, sp, #FRAME_SIZE
	eret

	SPX_SWITCH 4
	SPX_SWITCH 5
	SPX_SWITCH 6
	SPX_SWITCH 7

/* After SPX_SWITCH: x0 = kind, sp = the frame on the nested stack. */
trap_spx:
	SAVE_X2_X30
	SAVE_REST_AND_CALL
	/* Returned: only a recoverable nested trap does (the semihosting probe, a
	 * fixed-up arch_probe_read).
	 * Back onto the interrupted SP_EL1, then x0/x1 from the frame left below it. */
	RESTORE_X2_X30_SYS
	ldr	x1, [sp, #FRAME_SP]
	mov	x0, sp
	mov	sp, x1
	ldp	x0, x1, [x0, #FRAME_X0]
	eret

/*
 * An IRQ taken on SP_EL1 (slot 5): the interrupted x0 in TPIDR_EL0. With room on this
 * CPU's exception stack, a nested interrupt on it; otherwise a nested exception.
 */
irq_spx:
	mrs	x0, tpidrro_el0
	ldr	x0, [x0, #CPU_EXC_BASE]
	sub	x0, sp, x0		/* x0 = room left on the exception stack */
	cmp	x0, #EXC_STACK_SIZE
	b.hi	spx_switch_5		/* not on it (the nested stack, or lost) */
	cmp	x0, #IRQ_NEST_ROOM
	b.lo	spx_switch_5
	mrs	x0, tpidr_el0
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #FRAME_X0]
	SAVE_X2_X30
	add	x1, sp, #FRAME_SIZE
	str	x1, [sp, #FRAME_SP]	/* the interrupted SP_EL1, for show: not reloaded */
	mov	x0, #5
	SAVE_REST_AND_CALL arm64_irq_nested
	RESTORE_X2_X30_SYS
	ldp	x0, x1, [sp, #FRAME_X0]
	add	sp, sp, #FRAME_SIZE
	eret

nested_overflow:
	msr	daifset, #0xf
3:	wfi
	b	3b
