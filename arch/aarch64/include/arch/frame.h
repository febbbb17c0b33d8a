/*
 * arch/frame.h (aarch64): the register frame vectors.S saves; private to arch/aarch64.
 *
 * Built on the exception stack (SP_EL1) by every vector: the general registers, the
 * interrupted stack pointer, the exception syndrome registers, a frame record for
 * backtraces, and the FP/SIMD state (the kernel is compiled with FP allowed, because
 * newlib's printf needs it, so a handler that returns must give the interrupted code
 * its q registers back). The offsets are shared with vectors.S; trap.c checks them
 * against the struct at compile time.
 *
 *   0    x0 .. x30
 *   248  sp      interrupted stack pointer: SP_EL0 normally; the SP_EL1 of the
 *                faulting handler for a nested exception
 *   256  elr     ELR_EL1: the faulting instruction (sync) or the resume address
 *   264  spsr    SPSR_EL1
 *   272  esr     ESR_EL1 (meaningless for IRQ/FIQ)
 *   280  far     FAR_EL1 (meaningful for aborts, PC alignment, watchpoints)
 *   288  kind    vector slot 0..15: group * 4 + type (see vectors.S)
 *   296  fpsr, fpcr
 *   312  (pad)
 *   320  record  {x29, elr + 4}: x29 points here while the C handler runs
 *   336  q0 .. q31
 *   848  end (a multiple of 16: SP stays aligned)
 */
#ifndef ARCH_AARCH64_FRAME_H
#define ARCH_AARCH64_FRAME_H

#define FRAME_X0	0
#define FRAME_X30	240
#define FRAME_SP	248
#define FRAME_ELR	256
#define FRAME_SPSR	264
#define FRAME_ESR	272
#define FRAME_FAR	280
#define FRAME_KIND	288
#define FRAME_FPSR	296
#define FRAME_FPCR	304
#define FRAME_RECORD	320
#define FRAME_Q0	336
#define FRAME_SIZE	848

/* Each CPU's two exception stacks: SP_EL1 (every exception and interrupt from SP_EL0
 * code) and the nested stack (a fault inside a handler, vectors.S moves to it). The
 * boot CPU's are in start.S, the others' in smp.c. */
#define EXC_STACK_SIZE	16384
#define NESTED_STACK_SIZE 16384
/* An IRQ taken inside a handler that unmasked them nests on SP_EL1 only with this much
 * of it left (vectors.S); arch_wait_for_ipi (gicv3.c) halts only when it is. */
#define IRQ_NEST_ROOM	8192

/* struct arm64_cpu (arm64.h), the arch's per-CPU block that TPIDRRO_EL0 points to:
 * the offsets vectors.S reads (smp.c checks them against the struct). */
#define CPU_NESTED_BASE	0	/* lowest address of this CPU's nested stack */
#define CPU_EXC_BASE	8	/* lowest address of its SP_EL1 exception stack */

/* Vector slots (kind): the group selects the stack and the origin, the type the cause. */
#define VEC_GROUP_SP0	0	/* current EL, SP_EL0: the kernel's normal case */
#define VEC_GROUP_SPX	1	/* current EL, SP_EL1: a fault inside an exception handler */
#define VEC_GROUP_A64	2	/* lower EL, AArch64 (no EL0 code exists: unexpected) */
#define VEC_GROUP_A32	3	/* lower EL, AArch32 (likewise) */
#define VEC_SYNC	0
#define VEC_IRQ		1
#define VEC_FIQ		2
#define VEC_SERROR	3

#ifndef __ASSEMBLER__
#include <stdint.h>

struct arch_frame {
	uint64_t x[31];		/* x29 = fp, x30 = lr */
	uint64_t sp;
	uint64_t elr, spsr, esr, far;
	uint64_t kind;
	uint64_t fpsr, fpcr;
	uint64_t pad;
	uint64_t record[2];	/* {x29, elr + 4} */
	__uint128_t q[32];
};
#endif

#endif
