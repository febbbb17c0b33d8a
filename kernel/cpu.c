/*
 * kernel/cpu.c: per-CPU data and the nesting interrupt-disable.
 */
#include <stddef.h>
#include <string.h>
#include <arch/noscan.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/preempt.h>

_Static_assert(offsetof(struct cpu, arch_scratch) == ARCH_PERCPU_SCRATCH_OFF,
	       "arch/smp.h: the arch's scratch words follow the self pointer");

struct cpu cpus[ARCH_MAX_CPUS];
NOSCAN(cpus);		/* no pointer into the collector's heap */
_Atomic unsigned cpus_online;
unsigned cpus_described;

void cpu_attach(struct cpu *c, unsigned id, uint64_t hwid)
{
	KASSERT(!arch_irq_enabled());
	c->self = c;
	c->id = id;
	c->hwid = hwid;
	arch_percpu_set(c);
}

void irq_push(void)
{
	unsigned long saved = arch_irq_save();
	struct cpu *c = cpu_this();
	if (c->irq_depth++ == 0)
		c->irq_saved = saved;
}

void irq_pop(void)
{
	struct cpu *c = cpu_this();
	KASSERT(!arch_irq_enabled());
	KASSERT(c->irq_depth > 0);
	if (--c->irq_depth == 0) {
		arch_irq_restore(c->irq_saved);
		/* the end of a non-preemptible section; c may be another CPU's by now (an
		 * interrupt could preempt us right here), then the check finds nothing */
		if (atomic_load_explicit(&c->preempt_pending, memory_order_relaxed))
			preempt_check();
	}
}
