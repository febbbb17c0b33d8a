/*
 * kernel/irq.c: interrupt dispatch.
 *
 * The table is written at boot (before any CPU enables the interrupt it names) and
 * read-only afterwards, so dispatch takes no lock. An interrupt nobody claimed is
 * counted and reported once: it means a controller routed something we never asked
 * for. A CPU a stop-the-world claimed in its idle halt (kernel/stw.c) waits for that
 * stop's release before any handler runs on it.
 */
#include <stddef.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/irq.h>
#include <kernel/panic.h>
#include <kernel/stw.h>

static struct {
	irq_fn fn;
	void *arg;
} irq_table[IRQ_MAX];

static _Atomic unsigned irq_stray;

int irq_register(unsigned irq, irq_fn fn, void *arg)
{
	if (irq >= IRQ_MAX || irq_table[irq].fn)
		return -1;
	irq_table[irq].arg = arg;
	irq_table[irq].fn = fn;
	return 0;
}

static void irq_dispatch(unsigned irq, struct arch_frame *f)
{
	struct cpu *c = cpu_this();
	KASSERT(!arch_irq_enabled());
	bool nested = c->in_irq;
	c->in_irq = true;
	if (!nested) {
		c->irq_frame = f;
		stw_idle_wake();	/* a CPU a stop claimed asleep waits for its release first */
	}
	if (irq < IPI_KINDS)
		atomic_fetch_add_explicit(&c->irqs[irq], 1, memory_order_relaxed);
	else if (irq == IRQ_TIMER)
		atomic_fetch_add_explicit(&c->irqs[IPI_KINDS], 1, memory_order_relaxed);
	if (irq < IRQ_MAX && irq_table[irq].fn)
		irq_table[irq].fn(irq, irq_table[irq].arg, f);
	else if (atomic_fetch_add(&irq_stray, 1) == 0)
		kprintf("irq: cpu %u: unclaimed interrupt %u\n", c->id, irq);
	c->in_irq = nested;
	if (!nested)
		c->irq_frame = NULL;
}

void irq_init(void)
{
	arch_irq_set_handler(irq_dispatch);
}
