/*
 * arch/frame.h (x86-64): the register frame trap.S saves; private to arch/x86_64.
 * Lowest address first: the FXSAVE image, the general registers trap.S pushed, the
 * vector and error code, then what the CPU pushed. 16-byte aligned, 688 bytes.
 */
#ifndef ARCH_X86_64_FRAME_H
#define ARCH_X86_64_FRAME_H

#include <stdint.h>

struct arch_frame {
	uint8_t fx[512] __attribute__((aligned(16)));	/* FXSAVE: x87, MXCSR, XMM0-15 */
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

#endif
