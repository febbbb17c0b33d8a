/*
 * arch/x86_64/probe.S: arch_probe_read(va, val), a read that may fault.
 * The load at arch_probe_insn is the only instruction that may fault; the kernel's
 * trap handler calls arch_probe_fixup (probe_fixup.c), which resumes at
 * arch_probe_fail, returning -1.
 */
	.text
	.globl arch_probe_read, arch_probe_insn, arch_probe_fail
	.type arch_probe_read, @function
arch_probe_read:
	pushq %rbp
	movq %rsp, %rbp
arch_probe_insn:
	movq (%rdi), %rax
	movq %rax, (%rsi)
	xorl %eax, %eax
	popq %rbp
	ret
arch_probe_fail:
	movl $-1, %eax
	popq %rbp
	ret
	.size arch_probe_read, . - arch_probe_read
