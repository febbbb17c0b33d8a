/*
 * arch/aarch64/probe.S: arch_probe_read(va, val), a read that may fault.
 * The load at arch_probe_insn is the only instruction that may fault; the kernel's
 * trap handler calls arch_probe_fixup (probe_fixup.c), which resumes at
 * arch_probe_fail, returning -1.
 */
	.text
	.globl arch_probe_read, arch_probe_insn, arch_probe_fail
	.type arch_probe_read, %function
arch_probe_read:
	stp x29, x30, [sp, #-16]!
	mov x29, sp
arch_probe_insn:
	ldr x2, [x0]
	str x2, [x1]
	mov w0, #0
	ldp x29, x30, [sp], #16
	ret
arch_probe_fail:
	mov w0, #-1
	ldp x29, x30, [sp], #16
	ret
	.size arch_probe_read, . - arch_probe_read
