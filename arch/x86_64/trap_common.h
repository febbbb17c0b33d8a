/*
 * arch/x86_64/trap_common.h: what x86-64's trap.c and the hosted platform's
 * (arch/host/trap.c, whose exceptions are the signals Linux makes of the same vectors)
 * share: the exceptions' names by vector, and the general registers' part of a frame
 * dump. The two struct arch_frame differ in layout (trap.S's against glibc's
 * gregset_t) but name these registers alike, so each includes this against its own.
 */
#ifndef ARCH_X86_64_TRAP_COMMON_H
#define ARCH_X86_64_TRAP_COMMON_H

#include <arch/frame.h>

static const char *const trap_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack-segment fault", "general protection fault",
	"page fault", "reserved 15", "x87 floating point", "alignment check", "machine check",
	"SIMD floating point", "virtualization", "control protection", "reserved 22",
	"reserved 23", "reserved 24", "reserved 25", "reserved 26", "reserved 27",
	"hypervisor injection", "VMM communication", "security", "reserved 31",
};

/* rax .. r15, four to a line; the caller prints rip, the flags and its own after. */
static void trap_dump_gprs(const struct arch_frame *f, int (*printfn)(const char *fmt, ...))
{
	static const char *const name[16] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	};
	const unsigned long long v[16] = {
		f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp, f->rsp,
		f->r8, f->r9, f->r10, f->r11, f->r12, f->r13, f->r14, f->r15,
	};
	for (unsigned i = 0; i < 16; i += 4)
		printfn("%-3s %016llx %-3s %016llx %-3s %016llx %-3s %016llx\n", name[i], v[i],
			name[i + 1], v[i + 1], name[i + 2], v[i + 2], name[i + 3], v[i + 3]);
}

#endif
