/*
 * arch/context_impl.h (aarch64): the layout of struct arch_context and the inline
 * half of <arch/context.h>.
 *
 * A context holds exactly what AAPCS64 makes a callee preserve: x19-x28, the frame
 * pointer x29, the link register x30, sp, the low 64 bits of v8-v15 (d8-d15), and
 * FPCR (rounding mode, flush-to-zero, default NaN; FPSR's cumulative flags are
 * caller-saved and stay out). There is no separate pc: a context resumes with `ret`
 * to its x30, as the function that called arch_context_switch expects.
 *
 * A suspended context stands as if arch_context_switch had just returned: x30 is the
 * return address into the switcher, sp and x29 are the switcher's. So a traceback of
 * a suspended context starts at x30 (the function that switched) and walks on from
 * x29 (its frame record); the collector scans [sp, stack top) plus x19-x28 here.
 *
 *   offset  field
 *   0       x19 .. x28   (8 bytes each, to 72)
 *   80      x29     frame pointer: the walk of a suspended context starts here
 *   88      x30     where to resume (arch_context_pc): the switcher's return
 *                   address, or arch_context_start for a context not yet started
 *   96      sp      stack pointer to resume with (stack_top before the first run)
 *   104     fpcr
 *   112     d8 .. d15    (8 bytes each, to 168)
 *   176     end
 *
 * Pairs sit at 16-byte aligned offsets for ldp/stp. context.S uses the CTX_* offsets
 * below; the _Static_asserts keep them honest.
 */
#ifndef ARCH_CONTEXT_IMPL_H
#define ARCH_CONTEXT_IMPL_H

#define CTX_X19		0
#define CTX_X21		16
#define CTX_X23		32
#define CTX_X25		48
#define CTX_X27		64
#define CTX_X29		80
#define CTX_X30		88
#define CTX_SP		96
#define CTX_FPCR	104
#define CTX_D8		112
#define CTX_D10		128
#define CTX_D12		144
#define CTX_D14		160
#define CTX_SIZE	176

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct arch_context {
	uint64_t x[10];		/* x19 .. x28 */
	uint64_t fp;		/* x29 */
	uint64_t lr;		/* x30: the resume pc */
	uint64_t sp;
	uint64_t fpcr;
	uint64_t d[8];		/* d8 .. d15, as bits */
};

_Static_assert(offsetof(struct arch_context, x) == CTX_X19, "CTX_X19");
_Static_assert(offsetof(struct arch_context, x[2]) == CTX_X21, "CTX_X21");
_Static_assert(offsetof(struct arch_context, x[4]) == CTX_X23, "CTX_X23");
_Static_assert(offsetof(struct arch_context, x[6]) == CTX_X25, "CTX_X25");
_Static_assert(offsetof(struct arch_context, x[8]) == CTX_X27, "CTX_X27");
_Static_assert(offsetof(struct arch_context, fp) == CTX_X29, "CTX_X29");
_Static_assert(offsetof(struct arch_context, lr) == CTX_X30, "CTX_X30");
_Static_assert(offsetof(struct arch_context, sp) == CTX_SP, "CTX_SP");
_Static_assert(offsetof(struct arch_context, fpcr) == CTX_FPCR, "CTX_FPCR");
_Static_assert(offsetof(struct arch_context, d) == CTX_D8, "CTX_D8");
_Static_assert(offsetof(struct arch_context, d[2]) == CTX_D10, "CTX_D10");
_Static_assert(offsetof(struct arch_context, d[4]) == CTX_D12, "CTX_D12");
_Static_assert(offsetof(struct arch_context, d[6]) == CTX_D14, "CTX_D14");
_Static_assert(sizeof(struct arch_context) == CTX_SIZE, "CTX_SIZE");

/*
 * context.S. arch_context_start is where a new context first runs: it pushes the
 * terminating frame record {0, 0}, points x29 at it and calls entry(arg) (x19, x20)
 * with sp 16-byte aligned. arch_context_entry_returned follows the call: a brk, so an
 * entry that returns is reported as a BRK in that named function.
 */
void arch_context_start(void);
void arch_context_entry_returned(void);

/* A new context: only what arch_context_start reads, FPCR 0 (round to nearest, no
 * flush-to-zero, IEEE NaNs, traps off) and zeros (x29 = 0 ends a walk taken before
 * the first switch). stack_top is rounded down to 16 bytes, which the contract
 * requires anyway (and sp must be, for every access through it). */
static inline void arch_context_init(struct arch_context *c, uintptr_t stack_top,
				     void (*entry)(void *), void *arg)
{
	*c = (struct arch_context){
		.x = { [0] = (uint64_t)(uintptr_t)entry, [1] = (uint64_t)(uintptr_t)arg },
		.lr = (uint64_t)(uintptr_t)arch_context_start,
		.sp = stack_top & ~(uintptr_t)15,
	};
}

static inline uintptr_t arch_context_sp(const struct arch_context *c) { return c->sp; }
static inline uintptr_t arch_context_fp(const struct arch_context *c) { return c->fp; }
static inline uintptr_t arch_context_pc(const struct arch_context *c) { return c->lr; }
#endif

#endif
