/*
 * arch/context_impl.h (host): the layout of struct arch_context and the inline half
 * of <arch/context.h> for the hosted platform.
 *
 * The host is x86-64 Linux and its context switch is x86-64's (arch/host/context.S
 * assembles arch/x86_64/context.S), so this is x86-64's header, included below: the
 * same registers at the same offsets (see there for what each is and why no xmm
 * register is kept). A suspended context stands as if arch_context_switch had just
 * returned; traceback from pc then fp; the collector scans [sp, stack top) plus
 * rbx..r15.
 *
 * After the registers, what the sanitizers must be told about stack switches
 * (arch/host/context.c). The fields exist in every build, so the layout is the same in
 * all three, and are used only in the build that has the sanitizer:
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
 * arch_context_init is out of line (context.c): the sanitizer builds have work to do
 * there, as in arch_context_switch (context.S names the register switch
 * host_context_swap in those builds, context.c wraps it).
 */
#ifndef ARCH_HOST_CONTEXT_IMPL_H
#define ARCH_HOST_CONTEXT_IMPL_H

#define CTX_PLATFORM_SIZE	32
#define CTX_PLATFORM_FIELDS		\
	uintptr_t asan_lo, asan_hi;	\
	void *asan_fake;		\
	void *tsan_fiber;
#define CTX_INIT_OUT_OF_LINE	1

#include "../../../x86_64/include/arch/context_impl.h"

#endif
