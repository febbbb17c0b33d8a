/* arch/aarch64/probe_fixup.c: resume a faulted arch_probe_read at its failure return. */
#include <arch/frame.h>
#include <arch/mmu.h>

extern const char arch_probe_insn[], arch_probe_fail[];

bool arch_probe_fixup(struct arch_frame *f)
{
	if (f->elr != (uint64_t)arch_probe_insn)
		return false;
	f->elr = (uint64_t)arch_probe_fail;
	return true;
}
