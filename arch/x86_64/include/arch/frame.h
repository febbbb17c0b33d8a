/* arch/frame.h (x86-64): the register frame trap.S saves; private to arch/x86_64. */
#ifndef ARCH_X86_64_FRAME_H
#define ARCH_X86_64_FRAME_H

#include <stdint.h>

struct arch_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

#endif
