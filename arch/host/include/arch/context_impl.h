/*
 * arch/context_impl.h (host): the layout of struct arch_context and the inline half
 * of <arch/context.h> for the hosted platform.
 *
 * The host is x86-64 Linux, so the machine part is x86-64's, field for field (see
 * arch/x86_64/include/arch/context_impl.h for what each register is and why no xmm
 * register is kept): a suspended context stands as if arch_context_switch had just
 * returned, traceback from pc then fp, collector scans [sp, stack top) plus rbx..r15.
 *
 * Then what the sanitizers must be told about stack switches (arch/host/context.c).
 * The fields exist in every build, so the layout is the same in all three, and are
 * used only in the build that has the sanitizer:
 *
 *   asan_lo, asan_hi   the stack's bounds as AddressSanitizer is told them when the
 *                      context is resumed: hi is the stack_top given to init; lo is
 *                      a guess (the contract gives no size, see context.c), or, for
 *                      a context that was only ever saved into, the bounds ASan had
 *                      for the thread's stack at the save
 *   asan_fake          ASan's fake stack of the suspended flow (none while
 *                      detect_stack_use_after_return=0, but the protocol asks for it)
 *   tsan_fiber         the ThreadSanitizer fiber the flow runs as: made by init for a
 *                      new context; the current fiber, for a context saved into
 *
 *   offset  field
 *   0..70   as x86-64: rbx rbp r12 r13 r14 r15 rsp rip mxcsr fcw (pad)
 *   72      asan_lo
 *   80      asan_hi
 *   88      asan_fake
 *   96      tsan_fiber
 *   104     end
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
#define CTX_ASAN_LO	72
#define CTX_ASAN_HI	80
#define CTX_ASAN_FAKE	88
#define CTX_TSAN_FIBER	96
#define CTX_SIZE	104

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
	/* host: sanitizer bookkeeping */
	uintptr_t asan_lo, asan_hi;
	void *asan_fake;
	void *tsan_fiber;
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
_Static_assert(offsetof(struct arch_context, asan_lo) == CTX_ASAN_LO, "CTX_ASAN_LO");
_Static_assert(offsetof(struct arch_context, asan_hi) == CTX_ASAN_HI, "CTX_ASAN_HI");
_Static_assert(offsetof(struct arch_context, asan_fake) == CTX_ASAN_FAKE, "CTX_ASAN_FAKE");
_Static_assert(offsetof(struct arch_context, tsan_fiber) == CTX_TSAN_FIBER, "CTX_TSAN_FIBER");
_Static_assert(sizeof(struct arch_context) == CTX_SIZE, "CTX_SIZE");

/* context.S: the first-run trampoline and its trap, as on x86-64. */
void arch_context_start(void);
void arch_context_entry_returned(void);

/* arch_context_init and arch_context_switch are out of line (context.c, context.S):
 * the sanitizer builds have work to do in both. */

static inline uintptr_t arch_context_sp(const struct arch_context *c) { return c->rsp; }
static inline uintptr_t arch_context_fp(const struct arch_context *c) { return c->rbp; }
static inline uintptr_t arch_context_pc(const struct arch_context *c) { return c->rip; }
#endif

#endif
