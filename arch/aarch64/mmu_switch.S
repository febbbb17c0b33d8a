/*
 * arch/aarch64/mmu_switch.S: replace TTBR1_EL1 without two live translations.
 *
 * arm64_ttbr1_replace(ttbr1, tcr) runs through the identity map (mmu.c calls it at
 * its physical address while the early TTBR0 tables are still active), so it can
 * switch the upper half off entirely: with TCR.EPD1 set no TTBR1 walk happens, the
 * TLB is emptied, the new root is loaded, and only then are TTBR1 walks allowed
 * again. Old and new translations of the kernel (2 MiB early blocks, 4 KiB final
 * pages) therefore never sit in the TLB together: the architecture allows a TLB
 * conflict abort when they do (break-before-make). No memory is touched in between.
 * x0 = the new TTBR1, x1 = the TCR value to end with (EPD1 clear). Returns to a
 * kernel address through the new tables.
 */
#define TCR_EPD1	(1 << 23)

	.text
	.globl	arm64_ttbr1_replace
	.type	arm64_ttbr1_replace, %function
	.p2align 2
arm64_ttbr1_replace:
	orr	x2, x1, #TCR_EPD1
	msr	tcr_el1, x2
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	msr	ttbr1_el1, x0
	isb
	msr	tcr_el1, x1
	isb
	ret
	.size	arm64_ttbr1_replace, . - arm64_ttbr1_replace
