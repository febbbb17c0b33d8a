/*
 * arch/context_impl.h (x86-64): the layout of struct arch_context and the inline
 * half of <arch/context.h>.
 *
 * A context holds exactly what the System V AMD64 ABI makes a callee preserve: rbx,
 * rbp, r12-r15, the stack pointer, and the control parts of MXCSR and of the x87
 * control word; plus the pc to resume at. No xmm register is callee-saved, so no
 * vector state is kept: whatever FP values a suspended function needs are in its
 * stack frame, where the caller of arch_context_switch spilled them.
 *
 * A suspended context stands as if arch_context_switch had just returned to its
 * caller: rip is that return address, rsp points just above it (the caller's sp
 * after the call), rbp is the caller's frame pointer. So a traceback of a suspended
 * context starts at rip (the function that switched) and walks on from rbp (its
 * frame record), and the collector scans [rsp, stack top) plus rbx..r15 here.
 *
 *   offset  field
 *   0       rbx
 *   8       rbp     frame pointer: the walk of a suspended context starts here
 *   16      r12
 *   24      r13
 *   32      r14
 *   40      r15
 *   48      rsp     stack pointer to resume with (16n + 8 after a switch, as after
 *                   any return; stack_top for a context that has not started)
 *   56      rip     where to resume: the switcher's return address, or
 *                   arch_context_start for a context that has not started
 *   64      mxcsr   MXCSR: rounding control, FTZ/DAZ, exception masks; the status
 *                   flags (bits 0-5) are saved too but not compared (caller-saved)
 *   68      fcw     x87 control word: precision and rounding control, masks
 *   70      (pad)
 *   72      end
 *
 * context.S uses the CTX_* offsets below; the _Static_asserts keep them honest.
 *
 * The hosted platform runs this very context code (arch/host/context.S) and includes
 * this header from its own, having defined what it keeps beyond the registers: the
 * fields CTX_PLATFORM_FIELDS, their size CTX_PLATFORM_SIZE, appended after the pad
 * (context.S never touches them), and CTX_INIT_OUT_OF_LINE when its
 * arch_context_init is a function of its own.
 */
#ifndef ARCH_CONTEXT_IMPL_H
#define ARCH_CONTEXT_IMPL_H

#define CTX_RBX		0
#define CTX_RBP		8
#define CTX_R12		16
#define CTX_R13		24
#define CTX_R14		32
#define CTX_R15		40
#define CTX_RSP		48
#define CTX_RIP		56
#define CTX_MXCSR	64
#define CTX_FCW		68
#ifndef CTX_PLATFORM_SIZE
#define CTX_PLATFORM_SIZE 0
#endif
#define CTX_SIZE	(72 + CTX_PLATFORM_SIZE)

/* The ABI's initial FP control state: every exception masked, round to nearest,
 * no flush-to-zero; x87 with extended precision. A new context starts with it. */
#define CTX_MXCSR_INIT	0x1f80
#define CTX_FCW_INIT	0x037f

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct arch_context {
	uint64_t rbx, rbp, r12, r13, r14, r15;
	uint64_t rsp;
	uint64_t rip;
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t pad;
#ifdef CTX_PLATFORM_FIELDS
	CTX_PLATFORM_FIELDS
#endif
};

_Static_assert(offsetof(struct arch_context, rbx) == CTX_RBX, "CTX_RBX");
_Static_assert(offsetof(struct arch_context, rbp) == CTX_RBP, "CTX_RBP");
_Static_assert(offsetof(struct arch_context, r12) == CTX_R12, "CTX_R12");
_Static_assert(offsetof(struct arch_context, r13) == CTX_R13, "CTX_R13");
_Static_assert(offsetof(struct arch_context, r14) == CTX_R14, "CTX_R14");
_Static_assert(offsetof(struct arch_context, r15) == CTX_R15, "CTX_R15");
_Static_assert(offsetof(struct arch_context, rsp) == CTX_RSP, "CTX_RSP");
_Static_assert(offsetof(struct arch_context, rip) == CTX_RIP, "CTX_RIP");
_Static_assert(offsetof(struct arch_context, mxcsr) == CTX_MXCSR, "CTX_MXCSR");
_Static_assert(offsetof(struct arch_context, fcw) == CTX_FCW, "CTX_FCW");
_Static_assert(sizeof(struct arch_context) == CTX_SIZE, "CTX_SIZE");

/*
 * context.S. arch_context_start is where a new context first runs: it pushes the
 * terminating frame record {0, 0}, points rbp at it and calls entry(arg) (rbx, r12)
 * with rsp 16-byte aligned. arch_context_entry_returned follows the call: a ud2, so
 * an entry that returns is reported as an invalid opcode in that named function.
 */
void arch_context_start(void);
void arch_context_entry_returned(void);

#ifndef CTX_INIT_OUT_OF_LINE
/* A new context: only what arch_context_start reads, the ABI's FP defaults, and
 * zeros (rbp = 0 ends a walk taken before the first switch). stack_top is rounded
 * down to 16 bytes, which the contract requires anyway. */
static inline void arch_context_init(struct arch_context *c, uintptr_t stack_top,
				     void (*entry)(void *), void *arg)
{
	*c = (struct arch_context){
		.rbx = (uint64_t)(uintptr_t)entry,
		.r12 = (uint64_t)(uintptr_t)arg,
		.rsp = stack_top & ~(uintptr_t)15,
		.rip = (uint64_t)(uintptr_t)arch_context_start,
		.mxcsr = CTX_MXCSR_INIT,
		.fcw = CTX_FCW_INIT,
	};
}
#endif

static inline uintptr_t arch_context_sp(const struct arch_context *c) { return c->rsp; }
static inline uintptr_t arch_context_fp(const struct arch_context *c) { return c->rbp; }
static inline uintptr_t arch_context_pc(const struct arch_context *c) { return c->rip; }
#endif

#endif
