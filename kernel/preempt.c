/*
 * kernel/preempt.c: involuntary switches (the design is in kernel/preempt.h).
 */
#include <stddef.h>
#include <arch/ops.h>
#include <arch/trap.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/preempt.h>

_Atomic uint64_t preempt_slice_ns = 10ull * 1000 * 1000;

static void (*preempt_handler)(void);

void preempt_set_handler(void (*fn)(void))
{
	preempt_handler = fn;
	arch_relax_set_check(preempt_check);	/* a spin-wait is a preemption point */
}

/* Where a redirected frame lands (through the arch's trampoline). */
static void preempt_entry(void)
{
	KASSERT(arch_irq_enabled());
	preempt_handler();
	__asm__ volatile("");	/* not a tail call: dumps show this frame */
}

bool preempt_irq(struct arch_frame *f)
{
	struct cpu *c = cpu_this();
	KASSERT(!arch_irq_enabled());
	if (!preempt_handler)
		return false;
	if (c->preempt_inflight)
		return true;	/* the flow is on its way to the handler already */
	if (c->irq_depth == 0 && c->nlocks == 0 && arch_frame_inject_call(f, preempt_entry)) {
		c->preempt_inflight = true;
		atomic_store_explicit(&c->preempt_pending, false, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->preempt_injected, 1, memory_order_relaxed);
		return true;
	}
	atomic_store_explicit(&c->preempt_pending, true, memory_order_relaxed);
	return false;
}

void preempt_arrived(void)
{
	KASSERT(!arch_irq_enabled());
	cpu_this()->preempt_inflight = false;
}

void preempt_check(void)
{
	if (!arch_irq_enabled() || !preempt_handler)
		return;		/* still inside an interrupts-off section: its end checks */
	unsigned long flags = arch_irq_save();
	struct cpu *c = cpu_this();
	bool now = atomic_load_explicit(&c->preempt_pending, memory_order_relaxed) &&
		   c->nlocks == 0 && c->irq_depth == 0;
	if (now) {
		atomic_store_explicit(&c->preempt_pending, false, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->preempt_deferred, 1, memory_order_relaxed);
	}
	arch_irq_restore(flags);
	if (now)
		preempt_handler();
}

void preempt_cancel(void)
{
	KASSERT(!arch_irq_enabled());
	struct cpu *c = cpu_this();
	atomic_store_explicit(&c->preempt_pending, false, memory_order_relaxed);
	/* A redirect always arrives before its flow can give the CPU back, except where
	 * the redirected frame was a copy the flow never resumes from (the hosted
	 * platform under ThreadSanitizer, whose held-back signals get one): the mark must
	 * not outlive that flow and block every later redirect on this CPU. */
	c->preempt_inflight = false;
}
