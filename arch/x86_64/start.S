/*
 * arch/x86_64/start.S: the common 64-bit entry, reached from the UEFI loader
 * (%rdi = bootinfo, %rsi = BOOTINFO_MAGIC) and from the PVH entry
 * (%rdi = start_info, %rsi = PVH magic).
 *
 * Runs wherever the image was loaded (any 2 MiB boundary), on an identity map, with
 * interrupts off. Every address is RIP-relative until the jump to KERNEL_VBASE.
 * Steps: clear .bss; build the early tables (low 4 GiB identity and direct map with
 * 2 MiB pages, and KERNEL_VBASE -> load address for 1 GiB); turn on NX, write protect
 * and SSE; switch tables; jump high; call boot_entry(arg, magic, load address).
 * kernel/vm.c replaces these tables with the final ones, permissions and all.
 */
#define KERNEL_VBASE 0xffffffff80000000
#define PTE_P  1
#define PTE_W  2
#define PTE_PS 0x80

	.section .text.boot, "ax"
	.code64
	.globl _start
_start:
	cli
	cld
	movq %rdi, %r12			/* arg */
	movq %rsi, %r13			/* magic */
	leaq __image_start(%rip), %r14	/* load address */

	/* .bss = 0 (the UEFI loader and PVH zero it too; Image-style loaders do not). */
	leaq __bss_start(%rip), %rdi
	leaq __bss_end(%rip), %rcx
	subq %rdi, %rcx
	shrq $3, %rcx
	xorl %eax, %eax
	rep stosq

	/* Identity + direct map: 4 PDs of 512 2 MiB pages. */
	leaq early_pd_id(%rip), %rdi
	xorl %ecx, %ecx
1:	movq %rcx, %rax
	shlq $21, %rax
	orq $(PTE_P | PTE_W | PTE_PS), %rax
	movq %rax, (%rdi, %rcx, 8)
	incq %rcx
	cmpq $2048, %rcx
	jb 1b
	leaq early_pdpt_id(%rip), %rdi
	leaq early_pd_id(%rip), %rax
	orq $(PTE_P | PTE_W), %rax
	xorl %ecx, %ecx
2:	movq %rax, (%rdi, %rcx, 8)
	addq $4096, %rax
	incq %rcx
	cmpq $4, %rcx
	jb 2b

	/* Kernel: KERNEL_VBASE -> load address, 512 x 2 MiB. */
	leaq early_pd_k(%rip), %rdi
	movq %r14, %rax
	orq $(PTE_P | PTE_W | PTE_PS), %rax
	xorl %ecx, %ecx
3:	movq %rax, (%rdi, %rcx, 8)
	addq $(1 << 21), %rax
	incq %rcx
	cmpq $512, %rcx
	jb 3b
	leaq early_pdpt_k(%rip), %rdi
	leaq early_pd_k(%rip), %rax
	orq $(PTE_P | PTE_W), %rax
	movq %rax, 510*8(%rdi)

	leaq early_pml4(%rip), %rdi
	leaq early_pdpt_id(%rip), %rax
	orq $(PTE_P | PTE_W), %rax
	movq %rax, 0(%rdi)		/* identity */
	movq %rax, 256*8(%rdi)		/* direct map at DMAP_BASE */
	leaq early_pdpt_k(%rip), %rax
	orq $(PTE_P | PTE_W), %rax
	movq %rax, 511*8(%rdi)

	/* EFER.NXE; CR0.WP, CR0.MP, no EM; CR4.OSFXSR|OSXMMEXCPT (SSE for newlib). */
	movl $0xc0000080, %ecx
	rdmsr
	orl $(1 << 11), %eax
	wrmsr
	movq %cr0, %rax
	orq $((1 << 16) | (1 << 1)), %rax
	andq $~(1 << 2), %rax
	movq %rax, %cr0
	movq %cr4, %rax
	orq $((1 << 9) | (1 << 10)), %rax
	movq %rax, %cr4

	leaq early_pml4(%rip), %rax
	movq %rax, %cr3
	movabsq $_start_high, %rax
	jmp *%rax
_start_high:
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp
	movq %r12, %rdi
	movq %r13, %rsi
	movq %r14, %rdx
	call boot_entry
4:	cli
	hlt
	jmp 4b

	.section .bss
	.p2align 12
early_pml4:	.skip 4096
early_pdpt_id:	.skip 4096
early_pd_id:	.skip 4 * 4096
early_pdpt_k:	.skip 4096
early_pd_k:	.skip 4096
	.p2align 4
	.globl boot_stack, boot_stack_top
boot_stack:	.skip 32768
boot_stack_top:
