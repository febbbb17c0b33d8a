/*
 * arch/aarch64/secondary.S: where a secondary CPU starts (PSCI CPU_ON, smp.c).
 *
 * PSCI enters arm64_secondary_entry at its physical address with x0 = the context id,
 * here the physical address of the CPU's struct arm64_start block (arm64.h, START_*),
 * the MMU and caches off, at EL1 (or EL2: arm64_el2_to_el1 of start.S makes it EL1,
 * as on the boot CPU), every exception masked. The boot CPU is long past its own
 * start-up: its early tables are gone from its registers, so this CPU goes straight
 * to the kernel's final tables:
 *
 *   1. EL1 with a defined SCTLR (MMU off), local I-cache and TLB invalidated, FP/SIMD
 *      on, the virtual timer off (its control register is UNKNOWN after reset);
 *   2. the block's values into registers (the only memory this CPU reads with its MMU
 *      off: arch_cpu_start cleaned the block to the point of coherency);
 *   3. MAIR, TCR (lower half on), TTBR0 = smp.c's identity map, which maps just the
 *      2 MiB around this code read-only and executable (WXN, which the boot CPU's
 *      SCTLR carries, would make a writable one non-executable), TTBR1 = the kernel's
 *      tables; SCTLR = the boot CPU's (M, C, I, WXN): the next instruction is fetched
 *      through the identity map; jump to the kernel address of arm64_secondary_high;
 *   4. the lower half off again (TCR.EPD0, TTBR0 = 0) and the local TLB dropped, as
 *      arch_mmu_activate does on the boot CPU; TPIDRRO_EL0 = this CPU's struct
 *      arm64_cpu (the vectors need it), VBAR_EL1, TPIDR_EL1 = 0 (per-CPU pointer
 *      unset), SP_EL1 = its exception stack, `msr spsel, #0`, sp = stack_top,
 *      x29 = x30 = 0; entry(arg). entry must not return; if it does, the CPU stops.
 * The code up to the jump is position-independent (adr only) and sits in .text.boot,
 * in the first 2 MiB of the image, which is the block the identity map covers.
 */
#include <arch/frame.h>
#include "arm64.h"

#define TCR_EPD0	(1 << 7)

	.section .text.boot, "ax"
	.globl	arm64_secondary_entry, arm64_secondary_entry_end
	.p2align 3
arm64_secondary_entry:
	msr	daifset, #0xf
	mov	x19, x0			/* physical address of the start block */
	mrs	x0, CurrentEL
	ubfx	x0, x0, #2, #2
	cmp	x0, #2
	b.ne	1f
	adr	x30, 1f
	b	arm64_el2_to_el1
1:	mrs	x0, CurrentEL
	ubfx	x0, x0, #2, #2
	cmp	x0, #1
	b.ne	early_hang		/* EL3: firmware broke the PSCI contract */

	el1_defined_state x0
	msr	cntv_ctl_el0, xzr
	isb

	ldp	x20, x21, [x19, #START_STACK]	/* stack_top, entry */
	ldp	x22, x23, [x19, #START_ARG]	/* arg, ttbr1 */
	ldp	x24, x25, [x19, #START_TCR]	/* tcr, mair */
	ldp	x26, x27, [x19, #START_TTBR0]	/* ttbr0, sctlr */
	ldp	x1, x2, [x19, #START_VBAR]	/* vbar, struct arm64_cpu */
	ldp	x3, x4, [x19, #START_EXC_TOP]	/* exception stack top, secondary_high */

	mmu_on	x25, x24, x26, x23, x27
	br	x4
	.ltorg
arm64_secondary_entry_end:

	.text
	.globl	arm64_secondary_high
	.type	arm64_secondary_high, %function
	.p2align 2
arm64_secondary_high:
	orr	x0, x24, #TCR_EPD0
	msr	tcr_el1, x0
	msr	ttbr0_el1, xzr
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	msr	tpidrro_el0, x2
	msr	vbar_el1, x1
	msr	tpidr_el1, xzr
	isb
	msr	spsel, #1
	mov	sp, x3			/* SP_EL1: exceptions and interrupts */
	msr	spsel, #0
	mov	sp, x20			/* SP_EL0: the kernel's code */
	mov	x29, #0			/* the end of every backtrace */
	mov	x30, #0
	mov	x0, x22
	blr	x21
	b	early_hang
	.size	arm64_secondary_high, . - arm64_secondary_high
