/*
 * arch/aarch64/start.S: the arm64 Image header and the common entry.
 *
 * Two ways in, both landing on the first instruction of the image (_start, the ELF
 * entry and offset 0 of the Image that `objcopy -O binary` makes):
 *   - the arm64 Image protocol (QEMU -kernel, U-Boot booti): x0 = DTB, x1 = 0, MMU and
 *     D-cache off, at EL2 or EL1, the image at a 2 MiB boundary (flags below);
 *   - the UEFI loader (boot/efi/loader.c): x0 = bootinfo, x1 = BOOTINFO_MAGIC, the
 *     firmware's identity-mapped MMU still on; the loader cleaned the kernel image
 *     and the bootinfo to the point of coherency first.
 *
 * Steps, position-independent (adr/adrp) until the jump to KERNEL_VBASE:
 *   1. at EL2: turn EL2's MMU off, configure EL1 as AArch64 with the counters and
 *      FP/SIMD untrapped (and GICv3 system registers allowed), eret to EL1
 *      (arm64_el2_to_el1, which secondary CPUs share);
 *   2. at EL1: MMU and caches off (a defined SCTLR_EL1), TLBs and I-cache invalidated;
 *      FP/SIMD on (CPACR_EL1.FPEN) before any C, since newlib's printf uses it;
 *   3. clear .bss and build the early tables in it (below), then invalidate the
 *      D-cache over .bss: it was written with the MMU off, straight to memory, and a
 *      line speculatively fetched earlier must not hide it once caches are on;
 *   4. MAIR, TCR, TTBR0/1, SCTLR_EL1 M|C|I; jump high;
 *   5. TPIDRRO_EL0 = &arm64_cpus[0] (the arch's per-CPU block, which the vectors read);
 *      VBAR_EL1; SP_EL1 = the exception stack; `msr spsel, #0` and the boot stack in
 *      SP_EL0 (DESIGN.md: exceptions on SP_EL1, kernel code and goroutines on
 *      SP_EL0); boot_entry(x0, x1, load address).
 *
 * Early tables (4 KiB granule, 48-bit VA, all in .bss):
 *   TTBR0  L0[0]   -> L1_id: 512 x 1 GiB normal blocks, identity of the low 512 GiB
 *   TTBR1  L0[0]   -> L1_id again, with PXNTable: the direct map at DMAP_BASE
 *          L0[511] -> L1_k; L1_k[510] -> L2_k: 2 MiB blocks, KERNEL_VBASE -> load
 *                     address, as many as the image (with .bss) needs
 * The identity map is executable only because the few instructions between turning
 * the MMU on and the jump high run through it. kernel/vm.c replaces all of this with
 * the final tables (arch_mmu_activate), which also switches the lower half off.
 * WXN is not set here (the early kernel blocks are RWX); arch_mmu_activate sets it.
 */
#include <arch/frame.h>		/* EXC_STACK_SIZE, NESTED_STACK_SIZE */
#include "arm64.h"			/* SCTLR_EL1_OFF */

#define SCTLR_M		(1 << 0)
#define SCTLR_C		(1 << 2)
#define SCTLR_I		(1 << 12)
#define SCTLR_EL1_ON	(SCTLR_EL1_OFF | SCTLR_M | SCTLR_C | SCTLR_I)

#define HCR_RW		(1 << 31)	/* EL1 is AArch64 */
#define CPTR_EL2_RES1	0x33ff		/* TFP (bit 10) clear: FP/SIMD not trapped */
#define SPSR_EL1H_MASKED 0x3c5		/* EL1 with SP_EL1, D A I F masked */
#define ICC_SRE_EL2	S3_4_C12_C9_5

/* MAIR: index 0 Device-nGnRnE, 1 Normal write-back RW-allocate, 2 Normal non-cacheable */
#define MAIR_VALUE	0x44ff00
/* TCR: T0SZ = T1SZ = 16, 4 KiB granules (TG0 0, TG1 2), inner-shareable write-back
 * write-allocate walks for both halves; IPS is inserted from ID_AA64MMFR0_EL1. */
#define TCR_VALUE	0xb5103510

#define DESC_TABLE	0x3
#define DESC_PXNTABLE	(1 << 59)
/* Block: valid, AttrIndx 1 (normal), SH inner, AF, AP EL1 read-write; UXN */
#define BLOCK_NORMAL	(0x705 | (1 << 54))

	.section .text.head, "ax"
	.globl _start
_start:
	b	arm64_entry		/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset: at the 2 MiB boundary itself */
	.quad	__image_end - _start	/* image_size, .bss included */
	.quad	0xa			/* flags: little-endian, 4 KiB pages, anywhere in RAM */
	.quad	0, 0, 0			/* res2, res3, res4 */
	.ascii	"ARM\x64"		/* magic */
	.long	0			/* res5: no PE/COFF header */

arm64_entry:
	msr	daifset, #0xf
	mov	x19, x0			/* DTB or bootinfo */
	mov	x20, x1			/* 0 or BOOTINFO_MAGIC */
	adr	x21, _start		/* load address: physical, MMU off or identity */

	mrs	x0, CurrentEL
	ubfx	x0, x0, #2, #2
	cmp	x0, #1
	b.eq	el1_entry
	cmp	x0, #2
	b.ne	early_hang		/* EL3 (or EL0): not a place a loader may enter */
	adr	x30, el1_entry
	b	arm64_el2_to_el1

/*
 * At EL2: make EL1 a plain AArch64 kernel EL and drop to it, at x30 (a physical
 * address: the MMU is off), with D A I F masked. Clobbers x0 only. Also the way in
 * for secondary CPUs that PSCI starts at EL2 (secondary.S).
 */
	.globl	arm64_el2_to_el1
arm64_el2_to_el1:
	mrs	x0, sctlr_el2
	bic	x0, x0, #SCTLR_M
	bic	x0, x0, #SCTLR_C
	bic	x0, x0, #SCTLR_I
	msr	sctlr_el2, x0
	isb
	ic	iallu
	tlbi	alle2
	dsb	nsh
	isb
	mov	x0, #HCR_RW		/* no VHE, no stage 2, no traps */
	msr	hcr_el2, x0
	mov	x0, #3			/* CNTHCTL_EL2.EL1PCTEN | EL1PCEN */
	msr	cnthctl_el2, x0
	msr	cntvoff_el2, xzr	/* every CPU: virtual count = physical count */
	mov	x0, #CPTR_EL2_RES1
	msr	cptr_el2, x0
	msr	hstr_el2, xzr
	msr	vttbr_el2, xzr
	mrs	x0, midr_el1		/* EL1 reads the real MIDR/MPIDR */
	msr	vpidr_el2, x0
	mrs	x0, mpidr_el1
	msr	vmpidr_el2, x0
	mrs	x0, id_aa64pfr0_el1	/* GICv3 CPU interface: let EL1 use it */
	ubfx	x0, x0, #24, #4
	cbz	x0, 1f
	mrs	x0, ICC_SRE_EL2
	orr	x0, x0, #1		/* SRE */
	orr	x0, x0, #8		/* Enable: EL1 may set its own SRE */
	msr	ICC_SRE_EL2, x0
	isb
1:	ldr	x0, =SCTLR_EL1_OFF
	msr	sctlr_el1, x0
	mov	x0, #SPSR_EL1H_MASKED
	msr	spsr_el2, x0
	msr	elr_el2, x30
	eret

	/* ---- EL1 ---- */
el1_entry:
	el1_defined_state x0		/* MMU and caches off, everything else defined (arm64.h) */

	tst	x21, #0x1fffff		/* the kernel blocks below need a 2 MiB boundary */
	b.ne	early_hang
	lsr	x0, x21, #39		/* and the identity map must cover the image */
	cbnz	x0, early_hang

	/* .bss = 0 (the Image protocol does not clear it) */
	adrp	x0, __bss_start
	add	x0, x0, :lo12:__bss_start
	adrp	x1, __bss_end
	add	x1, x1, :lo12:__bss_end
2:	stp	xzr, xzr, [x0], #16
	cmp	x0, x1
	b.lo	2b

	/* L1_id: 512 x 1 GiB identity blocks */
	adrp	x0, early_l1_id
	ldr	x1, =BLOCK_NORMAL
	mov	x2, #0
3:	orr	x3, x1, x2, lsl #30
	str	x3, [x0, x2, lsl #3]
	add	x2, x2, #1
	cmp	x2, #512
	b.lo	3b

	/* TTBR0 L0[0] -> L1_id; TTBR1 L0[0] -> L1_id (direct map, never executable) */
	adrp	x0, early_l0_lo
	adrp	x1, early_l1_id
	orr	x1, x1, #DESC_TABLE
	str	x1, [x0]
	adrp	x0, early_l0_hi
	orr	x2, x1, #DESC_PXNTABLE
	str	x2, [x0]
	/* TTBR1 L0[511] -> L1_k; L1_k[510] -> L2_k */
	adrp	x1, early_l1_k
	orr	x2, x1, #DESC_TABLE
	str	x2, [x0, #511 * 8]
	adrp	x2, early_l2_k
	orr	x3, x2, #DESC_TABLE
	str	x3, [x1, #510 * 8]

	/* L2_k[i] = load address + i * 2 MiB, for ceil(image size / 2 MiB) blocks */
	adrp	x5, __image_end
	add	x5, x5, :lo12:__image_end
	sub	x5, x5, x21
	sub	x5, x5, #1
	lsr	x5, x5, #21
	add	x5, x5, #1
	cmp	x5, #512
	b.hi	early_hang
	ldr	x1, =BLOCK_NORMAL
	orr	x1, x1, x21
	mov	x3, #0
4:	str	x1, [x2, x3, lsl #3]
	add	x1, x1, #0x200000
	add	x3, x3, #1
	cmp	x3, x5
	b.lo	4b

	/* Drop any cache line over .bss: memory holds the truth now. */
	adrp	x0, __bss_start
	add	x0, x0, :lo12:__bss_start
	adrp	x1, __bss_end
	add	x1, x1, :lo12:__bss_end
	mrs	x3, ctr_el0
	ubfx	x3, x3, #16, #4		/* DminLine: log2 of the line in words */
	mov	x2, #4
	lsl	x2, x2, x3
	sub	x3, x2, #1
	bic	x0, x0, x3
5:	dc	ivac, x0
	add	x0, x0, x2
	cmp	x0, x1
	b.lo	5b
	dsb	sy

	/* Translation registers, then the MMU (mmu_on, arm64.h) */
	ldr	x3, =MAIR_VALUE
	ldr	x4, =TCR_VALUE
	mrs	x1, id_aa64mmfr0_el1
	and	x1, x1, #0xf		/* PARange; 48 bits at most (52 needs LPA2) */
	mov	x2, #5
	cmp	x1, x2
	csel	x1, x1, x2, ls
	bfi	x4, x1, #32, #3		/* TCR.IPS */
	adrp	x5, early_l0_lo
	adrp	x6, early_l0_hi
	ldr	x7, =SCTLR_EL1_ON
	mmu_on	x3, x4, x5, x6, x7
	ldr	x0, =start_high
	br	x0

	.ltorg

	.section .text.boot, "ax"
start_high:
	adrp	x0, arm64_cpus		/* the vectors find this CPU's stacks through it */
	add	x0, x0, :lo12:arm64_cpus
	msr	tpidrro_el0, x0
	adrp	x0, arm64_vectors
	add	x0, x0, :lo12:arm64_vectors
	msr	vbar_el1, x0
	isb
	adrp	x0, exc_stack_top	/* SPSel is 1 here: this sets SP_EL1 */
	add	x0, x0, :lo12:exc_stack_top
	mov	sp, x0
	msr	spsel, #0
	adrp	x0, boot_stack_top	/* and this SP_EL0 */
	add	x0, x0, :lo12:boot_stack_top
	mov	sp, x0
	mov	x29, #0			/* the end of every backtrace */
	mov	x30, #0
	mov	x0, x19
	mov	x1, x20
	mov	x2, x21
	bl	boot_entry
	.globl	early_hang
early_hang:
	msr	daifset, #0xf
6:	wfi
	b	6b

	.section .bss
	.p2align 12
early_l0_lo:	.skip 4096
early_l0_hi:	.skip 4096
early_l1_id:	.skip 4096
early_l1_k:	.skip 4096
early_l2_k:	.skip 4096
	/* Stacks, lowest first: nested exceptions (vectors.S), exceptions (SP_EL1), boot
	 * (SP_EL0). A frame record a vector plants then points up into the interrupted
	 * frames, the direction a backtrace walk requires. */
	.p2align 4
	.globl nested_stack, nested_stack_top, exc_stack, exc_stack_top, boot_stack, boot_stack_top
nested_stack:	.skip NESTED_STACK_SIZE
nested_stack_top:
exc_stack:	.skip EXC_STACK_SIZE
exc_stack_top:
boot_stack:	.skip 32768
boot_stack_top:
