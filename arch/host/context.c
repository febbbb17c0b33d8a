/*
 * arch/host/context.c: contexts on the hosted platform, and what the sanitizers must
 * be told when a thread changes stacks under them.
 *
 * The registers are switched by context.S exactly as on x86-64. In the plain build
 * that is all: arch_context_switch is the assembly, arch_context_init fills the
 * struct. The sanitizer builds wrap the assembly (host_context_swap) in a C
 * arch_context_switch, because both runtimes keep per-stack state that a bare switch
 * would leave pointing at the wrong stack:
 *
 * AddressSanitizer knows each thread's stack bounds: its reports describe stack
 * addresses by them, its fast unwinder stops at them, and __asan_handle_no_return
 * (called before every noreturn call: panic, power-off) unpoisons from sp up to the
 * top it knows. So every switch is announced (__sanitizer_start_switch_fiber with the
 * bounds of the destination, __sanitizer_finish_switch_fiber on arrival: after the
 * swap, or first thing in the trampoline for a new context). The contract gives a
 * stack's top but not its size, so a new context's bounds are [top - ASAN_SPAN, top)
 * (1 MiB: the kernel's default goroutine stack). A bottom that is too low costs
 * nothing but precision in reports; the top, which is what matters, is exact. A
 * context that was only ever saved into (a CPU's own flow, the scheduler loop) gets
 * the bounds ASan had for the thread at the save: each thread remembers the bounds it
 * last announced (asked of ASan itself the first time). A stack is often reused (a
 * dead goroutine's stack cached for the next one) with the poisoned redzones of
 * frames that never returned still in its shadow, which the new flow's frame records
 * and unwinds would trip over: init unpoisons [top - ASAN_SPAN, top), as ASan does for
 * a new thread's stack. (That may also clear redzones of a neighbouring stack: a
 * missed report there, never a false one.)
 *
 * ThreadSanitizer keeps a shadow call stack and a vector clock per thread; a flow
 * that changes stacks must change TSan "threads" too: each new context runs as a
 * fiber (__tsan_create_fiber), and the switch calls __tsan_switch_to_fiber right
 * before the swap, which also orders everything before the switch before everything
 * after it. A context saved into records the fiber current at the save. TSan fibers
 * must be destroyed, and the contract has no "context is dead" call, so fibers are
 * kept per stack: a context started on a stack top retires the fiber of the previous
 * context started there (which cannot be alive: two live flows cannot share a stack).
 * Retiring the fiber one is running on is impossible; that one is leaked instead
 * (a flow that re-initialises a context on its own stack, then leaves it).
 * TSan also defers an asynchronous signal to the next intercepted call of the fiber
 * that was current when it came; a fiber switched away before making one would keep
 * the interrupt until it runs again. So in the TSan build the switch blocks the
 * interrupt signals around the swap (the blocking call delivers what is deferred,
 * and the OS holds anything newer for the thread), and the arriving side, resumed
 * or new, puts back the mask this thread had: the mask belongs to the CPU, like the
 * interrupt flag, not to the context. Two system calls per switch, TSan build only.
 *
 * Context: as the contract says (any interrupt state, never blocks). The sanitizer
 * runtimes allocate inside their calls; the TSan fiber table allocates when it grows.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <arch/context.h>
#include <arch/memlayout.h>
#include <arch/ops.h>
#include "host.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#define ASAN_SPAN (1ul << 20)

#if defined(__SANITIZE_THREAD__)
/*
 * Fibers by stack top: open addressing, linear probing, never shrinks (a top is
 * a stack the kernel made, and stacks are reused). Guarded by fibers_lock.
 */
struct fiber_slot {
	uintptr_t top;		/* 0: empty */
	void *fiber;
};
static pthread_mutex_t fibers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fiber_slot *fibers;
static size_t fibers_cap, fibers_len;
static size_t fibers_leaked;	/* retired while current: see above */

static struct fiber_slot *fiber_slot(struct fiber_slot *tab, size_t cap, uintptr_t top)
{
	size_t i = (top >> 4) * 0x9e3779b97f4a7c15ull >> 20;
	for (;; i++) {
		struct fiber_slot *s = &tab[i & (cap - 1)];
		if (s->top == top || s->top == 0)
			return s;
	}
}

static void fibers_grow(void)
{
	size_t cap = fibers_cap ? fibers_cap * 2 : 256;
	struct fiber_slot *tab = calloc(cap, sizeof(*tab));
	if (!tab)
		host_fatal("context: out of memory for the TSan fiber table");
	for (size_t i = 0; i < fibers_cap; i++)
		if (fibers[i].top)
			*fiber_slot(tab, cap, fibers[i].top) = fibers[i];
	free(fibers);
	fibers = tab;
	fibers_cap = cap;
}

/*
 * A fresh fiber for a context starting at top; the previous one there is retired.
 * The interrupt signals stay blocked while the lock is held: TSan delivers a deferred
 * signal when an intercepted call returns, pthread_mutex_lock included, and a CPU
 * stopped by an IPI while it held the lock would leave every other CPU that wants it
 * asleep in the kernel, where TSan defers their IPIs too: a stop that never completes.
 */
static void *fiber_for_stack(uintptr_t top)
{
	void *fresh = __tsan_create_fiber(0), *old;
	sigset_t irq, before;

	host_irq_sigset(&irq);
	pthread_sigmask(SIG_BLOCK, &irq, &before);
	pthread_mutex_lock(&fibers_lock);
	if (2 * (fibers_len + 1) > fibers_cap)
		fibers_grow();
	struct fiber_slot *s = fiber_slot(fibers, fibers_cap, top);
	if (!s->top) {
		s->top = top;
		fibers_len++;
	}
	old = s->fiber;
	s->fiber = fresh;
	if (old && old == __tsan_get_current_fiber()) {
		fibers_leaked++;
		old = NULL;
	}
	pthread_mutex_unlock(&fibers_lock);
	pthread_sigmask(SIG_SETMASK, &before, NULL);
	if (old)
		__tsan_destroy_fiber(old);
	return fresh;
}
#endif

void arch_context_init(struct arch_context *c, uintptr_t stack_top, void (*entry)(void *), void *arg)
{
	uintptr_t top = stack_top & ~(uintptr_t)15;

	*c = (struct arch_context){
		.rbx = (uint64_t)(uintptr_t)entry,
		.r12 = (uint64_t)(uintptr_t)arg,
		.rsp = top,
		.rip = (uint64_t)(uintptr_t)arch_context_start,
		.mxcsr = CTX_MXCSR_INIT,
		.fcw = CTX_FCW_INIT,
		.asan_lo = top - ASAN_SPAN,
		.asan_hi = top,
	};
#if defined(__SANITIZE_ADDRESS__)
	__asan_unpoison_memory_region((void *)c->asan_lo, ASAN_SPAN);
#endif
#if defined(__SANITIZE_THREAD__)
	c->tsan_fiber = fiber_for_stack(top);
#endif
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)

#if defined(__SANITIZE_ADDRESS__)
/* The stack bounds this thread last announced to ASan (valid once known). Read and
 * written only before the swap, on the thread that switches. */
static __thread uintptr_t asan_cur_lo, asan_cur_hi;
static __thread bool asan_cur_known;

/* Ask ASan for the thread's current bounds: announce a switch to a dummy stack and
 * read the old bounds from its completion, then switch back to them. Nothing runs
 * in between, and it happens once per thread. */
static void asan_learn_bounds(void)
{
	void *fake;
	const void *bottom;
	size_t size;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)(PAGE_SIZE - 1);

	__sanitizer_start_switch_fiber(&fake, (const void *)here, PAGE_SIZE);
	__sanitizer_finish_switch_fiber(fake, &bottom, &size);
	__sanitizer_start_switch_fiber(&fake, bottom, size);
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
	asan_cur_lo = (uintptr_t)bottom;
	asan_cur_hi = (uintptr_t)bottom + size;
	asan_cur_known = true;
}
#endif

#if defined(__SANITIZE_THREAD__)
/* The interrupt-signal mask this thread had before the switching side blocked
 * them; the arriving side restores it (on the same thread: the swap does not move
 * threads). */
static __thread sigset_t tsan_mask_before;

/* noinline: the TLS address is computed here, on the thread that is running now,
 * never carried across a swap that may have moved the flow to another thread. */
__attribute__((noinline)) static void tsan_irq_block(void)
{
	sigset_t irq;
	host_irq_sigset(&irq);
	pthread_sigmask(SIG_BLOCK, &irq, &tsan_mask_before);
}

/*
 * Interrupts a deferred delivery took to another CPU. TSan keeps a deferred signal
 * with the fiber that was current when it came and runs the handler at that fiber's
 * next intercepted call, which may be on another CPU's thread by then (a goroutine
 * that moved): there the handler dispatches that CPU's pending IPI kinds, and this
 * CPU's stay set with no signal on its way (a sender signals only when the kinds were
 * clear). Seen: a CPU running goroutines for 10 s with IPI_STOP pending and no signal
 * held by Linux, the stop's panic naming it (gc_stress's messages test, about one
 * boot in ten with two boots at a time). So each switch on this thread (and each
 * spin-wait's relax, cpu.c) looks at this CPU's own word, and a timer deadline
 * passed, and records what it finds as an interrupt taken while masked: turning
 * interrupts on replays it to the thread itself (irq.c), which TSan runs at once (a
 * switch runs with them off; a relax that finds them on replays at once).
 */
__attribute__((noinline)) void host_irq_recover(void)
{
	struct host_cpu *c = host_this_cpu;
	int off;
	if (!c || !host_irq_note_lost(c))
		return;
	HOST_TLS_READ(host_irq_off, off);
	if (!off)
		host_irq_replay();	/* interrupts on (a spin-wait's relax): take it now */
}

/*
 * The mask restored is the saved one, with two repairs. The fault signals never stay
 * blocked: TSan delivers deferred signals with every signal blocked, and that mask can
 * be the one saved here; a fault (a stack growing, a clean heap page written) with
 * SIGSEGV blocked kills the process. And outside the interrupt handler (whose sa_mask
 * blocks them) the interrupt signals never stay blocked either: the CPU's interrupt
 * state is the software flag, and a thread was seen running goroutines for 10 s with
 * every signal but the faults blocked (the stop's panic naming it, IPI_STOP and both
 * interrupt signals held by Linux). TSan's delivery pass saves the thread's mask in
 * a per-fiber slot, blocks everything, runs the handlers and puts the slot back; a
 * signal armed just before the pass blocked everything is run by a second pass
 * nested in the first at the handler's first intercepted call, which saves the
 * all-blocked mask into that same slot, so the first pass "restores" it (irq.c's
 * top says the same of an earlier case). A switch on such a thread puts the signals
 * back here, and host_irq_recover has recorded what they brought.
 */
__attribute__((noinline)) static void tsan_irq_restore(void)
{
	host_irq_recover();
	sigset_t m = tsan_mask_before, faults, irq;
	host_fault_sigset(&faults);
	host_irq_sigset(&irq);
	bool in_handler = host_irq_in_handler;
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&faults, s) || (!in_handler && sigismember(&irq, s)))
			sigdelset(&m, s);
	pthread_sigmask(SIG_SETMASK, &m, NULL);
}
#endif

void host_context_swap(struct arch_context *from, struct arch_context *to);
void host_context_first_run(void);

void arch_context_switch(struct arch_context *from, struct arch_context *to)
{
#if defined(__SANITIZE_ADDRESS__)
	if (!asan_cur_known)
		asan_learn_bounds();
	from->asan_lo = asan_cur_lo;
	from->asan_hi = asan_cur_hi;
	__sanitizer_start_switch_fiber(&from->asan_fake, (const void *)to->asan_lo,
				       to->asan_hi - to->asan_lo);
	asan_cur_lo = to->asan_lo;
	asan_cur_hi = to->asan_hi;
#endif
#if defined(__SANITIZE_THREAD__)
	tsan_irq_block();
	void *cur = __tsan_get_current_fiber();
	from->tsan_fiber = cur;
	if (to->tsan_fiber != cur)
		__tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
	host_context_swap(from, to);
	/* Resumed: `from` is this flow again, perhaps on another thread. */
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_finish_switch_fiber(from->asan_fake, NULL, NULL);
#endif
#if defined(__SANITIZE_THREAD__)
	tsan_irq_restore();
#endif
}

/* Called by arch_context_start on a new context's stack before entry: the arriving
 * half of the switch that started it. */
void host_context_first_run(void)
{
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
#if defined(__SANITIZE_THREAD__)
	tsan_irq_restore();
#endif
}
#endif
