/*
 * boot/x86_64/pvh.S: the direct-boot entry on x86-64 (PVH, `qemu -kernel kernel.elf`).
 *
 * QEMU finds the XEN_ELFNOTE_PHYS32_ENTRY note, loads the ELF segments at their
 * physical addresses (linker.ld LOAD_PHYS) and enters _start_pvh in 32-bit protected
 * mode, paging off, %ebx = physical address of the PVH start_info.
 *
 * Here: identity-map the low 4 GiB with 2 MiB pages (static tables), enter long mode and
 * continue at the common 64-bit entry _start (arch/x86_64/start.S) with
 * %rdi = start_info, %rsi = its magic. Nothing else: the real page tables are built
 * later, position-independently, on every path.
 */
#define KERNEL_VBASE 0xffffffff80000000
#define LOAD_PHYS    0x200000
#define PHYS(x)      ((x) - KERNEL_VBASE + LOAD_PHYS)
#define PVH_MAGIC    0x336ec578

	.section .note.pvh, "a", @note
	.p2align 2
	.long 4			/* namesz: "Xen\0" */
	.long 8			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.p2align 2
	.quad PHYS(_start_pvh)
	.p2align 2

	.section .text.boot, "ax"
	.code32
	.globl _start_pvh
_start_pvh:
	cli
	cld
	/* PAE on, then the identity tables, then long mode, then paging. */
	movl %cr4, %eax
	orl $(1 << 5), %eax
	movl %eax, %cr4
	movl $PHYS(pvh_pml4), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $(1 << 8), %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | 1), %eax	/* PG | PE */
	movl %eax, %cr0
	lgdt PHYS(pvh_gdt_desc)
	ljmp $0x08, $PHYS(pvh_long)

	.code64
pvh_long:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movl %ebx, %edi			/* start_info (physical) */
	movl $PVH_MAGIC, %esi
	jmp _start

	.section .data
	.p2align 3
pvh_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
pvh_gdt_end:
pvh_gdt_desc:
	.word pvh_gdt_end - pvh_gdt - 1
	.long PHYS(pvh_gdt)

	.p2align 12
pvh_pml4:
	.quad PHYS(pvh_pdpt) + 3
	.fill 511, 8, 0
pvh_pdpt:
	.quad PHYS(pvh_pd) + 0x0003
	.quad PHYS(pvh_pd) + 0x1003
	.quad PHYS(pvh_pd) + 0x2003
	.quad PHYS(pvh_pd) + 0x3003
	.fill 508, 8, 0
pvh_pd:				/* 2048 x 2 MiB = 4 GiB, present | writable | PS */
	.set i, 0
	.rept 2048
	.quad (i << 21) | 0x83
	.set i, i + 1
	.endr
