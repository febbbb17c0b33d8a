/*
 * arch/frame.h (host): the registers of an interrupted thread, private to arch/host.
 *
 * A copy of the general registers of the signal's ucontext, in the order of glibc's
 * x86-64 gregset_t (REG_R8 = 0 ... REG_CR2 = 22; trap.c checks the order), so that
 * the copy in and out is one memcpy. The kernel's trap handler may change the frame
 * (arch_probe_fixup moves rip) and return: the signal handler writes it back to the
 * ucontext, and sigreturn resumes there. The FP/SSE state stays in the ucontext,
 * which the kernel restores untouched on sigreturn.
 */
#ifndef ARCH_HOST_FRAME_H
#define ARCH_HOST_FRAME_H

#include <stdint.h>

struct arch_frame {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
	uint64_t eflags;
	uint64_t csgsfs;	/* cs, gs, fs, ss packed by Linux */
	uint64_t err;		/* the page-fault error code of a fault */
	uint64_t trapno;	/* the x86 exception vector of a fault */
	uint64_t oldmask;
	uint64_t cr2;		/* the faulting address of a page fault */
	/* not from the ucontext: */
	uint64_t signo;		/* the signal that delivered this frame */
	uint64_t live;		/* the ucontext it came from is the one sigreturn uses */
	const void *fpregs;	/* the ucontext's FP/SSE state (fxsave layout), or NULL */
};

#endif
