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
unsigned cpu_ids_end = 1;
unsigned cpus_described;

void cpu_attach(struct cpu *c, unsigned id, uint64_t hwid)
{
	KASSERT(!arch_irq_enabled());
	c->self = c;
	c->id = id;
	c->hwid = hwid;
	arch_percpu_set(c);
}

void irq_pop_check_failed(void)
{
	if (arch_irq_enabled())
		panic("irq_pop: interrupts are on (pop without a push, or turned on in between)");
	panic("irq_pop: depth %d: more pops than pushes", cpu_this()->irq_depth);
}
