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
	printfn("rax %016llx rbx %016llx rcx %016llx rdx %016llx\n",
		(unsigned long long)f->rax, (unsigned long long)f->rbx,
		(unsigned long long)f->rcx, (unsigned long long)f->rdx);
	printfn("rsi %016llx rdi %016llx rbp %016llx rsp %016llx\n",
		(unsigned long long)f->rsi, (unsigned long long)f->rdi,
		(unsigned long long)f->rbp, (unsigned long long)f->rsp);
	printfn("r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n",
		(unsigned long long)f->r8, (unsigned long long)f->r9,
		(unsigned long long)f->r10, (unsigned long long)f->r11);
	printfn("r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n",
		(unsigned long long)f->r12, (unsigned long long)f->r13,
		(unsigned long long)f->r14, (unsigned long long)f->r15);
}

#endif
