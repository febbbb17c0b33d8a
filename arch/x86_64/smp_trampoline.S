/*
 * arch/x86_64/smp_trampoline.S: where a secondary CPU wakes up (see smp.c).
 *
 * x86_tramp_start..x86_tramp_end is not run where it is linked: smp.c copies it to
 * TRAMP_PHYS, below 1 MiB, and the SIPI starts the CPU there in real mode with
 * CS = TRAMP_PHYS >> 4, IP = 0. Every address in it is therefore written T(label),
 * the label's physical address in the copy. The parameter block (x86_tramp_params)
 * follows the code in the same page.
 *
 *   16-bit   load the trampoline GDT, set CR0.PE, far jump to 32-bit code
 *   32-bit   find this CPU's slot by its APIC id (no slot: halt for good);
 *            CR4.PAE|OSFXSR|OSXMMEXCPT; CR3 = the trampoline PML4; EFER.LME|NXE;
 *            CR0.PG|WP|MP|PE with caches on and no FPU emulation; far jump
 *   64-bit   (still on the low identity page) take the slot's values into registers,
 *            free the slot, jump to x86_ap_entry in the kernel's text (the trampoline
 *            PML4 has the kernel's upper half)
 *   x86_ap_entry  the kernel's CR3 and the stack, then entry(arg)
 *
 * No stack is used before x86_ap_entry, so several CPUs may pass through at once.
 */
#include "x86.h"

#define T(x)	((x) - x86_tramp_start + TRAMP_PHYS)
#define PARAMS	T(x86_tramp_params)

	.section .rodata
	.p2align 4
	.globl x86_tramp_start, x86_tramp_end, x86_tramp_params

	.code16
x86_tramp_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl T(tramp_gdtr)
	movl %cr0, %eax
	orl $1, %eax			/* PE */
	movl %eax, %cr0
	ljmpl $0x08, $T(tramp32)

	.code32
tramp32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs

	/* This CPU's APIC id -> %ebx: CPUID 0xb (x2APIC) or the xAPIC ID register,
	 * read at its physical address (paging is still off). */
	cmpl $0, PARAMS + TP_X2APIC
	je 1f
	movl $0xb, %eax
	xorl %ecx, %ecx
	cpuid
	movl %edx, %ebx
	jmp 2f
1:	movl $0x1b, %ecx		/* IA32_APIC_BASE */
	rdmsr
	andl $0xfffff000, %eax
	movl 0x20(%eax), %ebx
	shrl $24, %ebx
2:	/* Its slot -> %esi. */
	movl $(PARAMS + TP_SLOTS), %esi
	movl $TRAMP_SLOTS, %ecx
3:	cmpl $1, SLOT_STATE(%esi)
	jne 4f
	cmpl %ebx, SLOT_HWID(%esi)
	je 5f
4:	addl $SLOT_SIZE, %esi
	decl %ecx
	jnz 3b
	/* Nobody asked for this CPU (a stray SIPI): stop here for good. */
9:	cli
	hlt
	jmp 9b

5:	movl %cr4, %eax
	orl $((1 << 5) | (1 << 9) | (1 << 10)), %eax	/* PAE, OSFXSR, OSXMMEXCPT */
	movl %eax, %cr4
	movl PARAMS + TP_CR3, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $((1 << 8) | (1 << 11)), %eax	/* LME; NXE before paging: the kernel's
						 * leaves carry NX, reserved without it */
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | (1 << 1) | 1), %eax	/* PG, WP, MP, PE */
	andl $~((1 << 30) | (1 << 29) | (1 << 2)), %eax		/* caches on (CD, NW), no EM */
	movl %eax, %cr0
	ljmpl $0x18, $T(tramp64)

	.code64
tramp64:
	movl %esi, %esi			/* upper halves are undefined after the switch */
	movq PARAMS + TP_KERNEL_CR3, %r8
	movq SLOT_STACK(%rsi), %r9
	movq SLOT_ENTRY(%rsi), %r10
	movq SLOT_ARG(%rsi), %r11
	movl $0, SLOT_STATE(%rsi)	/* read: smp.c may reuse the slot */
	movabsq $x86_ap_entry, %rax
	jmpq *%rax

	.p2align 3
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
tramp_gdtr:
	.word 4 * 8 - 1
	.long T(tramp_gdt)

	.p2align 3
x86_tramp_params:
	.skip TP_SLOTS + TRAMP_SLOTS * SLOT_SIZE
x86_tramp_end:

/*
 * In the kernel's text, reached on the trampoline tables with %r8 = the kernel's CR3,
 * %r9 = stack_top, %r10 = entry, %r11 = arg. GDT and IDT are still the trampoline's
 * (the first is no longer mapped once CR3 changes): entry must call
 * arch_cpu_init_ap before anything can fault, with interrupts off until then.
 */
	.text
	.globl x86_ap_entry
x86_ap_entry:
	movq %r8, %cr3
	movq %r9, %rsp
	fninit
	xorl %ebp, %ebp
	movq %r11, %rdi
	call *%r10
6:	cli
	hlt
	jmp 6b
