/*
 * arch/x86_64/irq.c: from an interrupt vector to the kernel's IRQ number.
 *
 * trap.S builds the frame on this CPU's interrupt stack (IST2) with interrupts off and
 * trap.c sends every vector >= 32 here. The vector map is in x86.h:
 *
 *   0xf0+kind  IRQ_IPI(kind)     EOI, then the handler
 *   0xe0       IRQ_TIMER         EOI, then the handler if the deadline has passed
 *                                (timer.c re-arms one that fired early and drops
 *                                one that was disarmed after it fired)
 *   0x20+n     IRQ_DEVICE(n)     the handler, then EOI
 *   0xfe       LAPIC error       ESR read and cleared, counted, EOI
 *   0xff       spurious          counted; no EOI (the LAPIC set no in-service bit)
 *   other      stray             counted, EOI
 *
 * Why the EOI comes first for IPIs and the timer: they are edge-triggered and the
 * handler runs with interrupts off, so an early EOI cannot nest; and a handler that
 * leaves by switching to another goroutine (preemption) would otherwise keep the
 * timer's priority class in service, blocking every later tick, until that goroutine
 * ran again. Device interrupts are level-triggered: an EOI before the handler has
 * quietened the device would deliver the same interrupt again at once.
 */
#include <stdio.h>
#include <arch/frame.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include "x86.h"

static irq_handler_fn irq_handler;

uint64_t x86_irq_spurious, x86_irq_stray, x86_lapic_errors;
uint32_t x86_lapic_last_esr;

void arch_irq_set_handler(irq_handler_fn fn)
{
	irq_handler = fn;
}

static void deliver(unsigned irq, struct arch_frame *f)
{
	if (irq_handler)
		irq_handler(irq, f);
}

void x86_irq(struct arch_frame *f)
{
	unsigned v = (unsigned)f->vector;

	if (v >= VEC_IPI && v < VEC_IPI + IPI_KINDS) {
		lapic_eoi();
		deliver(IRQ_IPI(v - VEC_IPI), f);
	} else if (v == VEC_TIMER) {
		bool due = x86_timer_expired();
		lapic_eoi();
		if (due)
			deliver(IRQ_TIMER, f);
	} else if (v >= VEC_DEVICE && v < VEC_DEVICE_END) {
		deliver(IRQ_DEVICE(v - VEC_DEVICE), f);
		lapic_eoi();
	} else if (v == VEC_SPURIOUS) {
		__atomic_fetch_add(&x86_irq_spurious, 1, __ATOMIC_RELAXED);
	} else if (v == VEC_ERROR) {
		lapic_write(LAPIC_ESR, 0);	/* latch, then read */
		x86_lapic_last_esr = lapic_read(LAPIC_ESR);
		__atomic_fetch_add(&x86_lapic_errors, 1, __ATOMIC_RELAXED);
		lapic_eoi();
	} else {
		__atomic_fetch_add(&x86_irq_stray, 1, __ATOMIC_RELAXED);
		lapic_eoi();
	}
}

/*
 * Global part, on the boot CPU: the 8259 out of the way, every IOAPIC entry masked,
 * then this CPU's LAPIC. Interrupts stay off (the caller turns them on).
 */
int arch_intc_init(const struct arch_intc_config *c, char *err, size_t errlen)
{
	if (c->nioapics > sizeof(c->ioapic) / sizeof(c->ioapic[0])) {
		snprintf(err, errlen, "interrupts: %u IOAPICs, at most 8 supported", c->nioapics);
		return -1;
	}
	if (lapic_setup(c->lapic, err, errlen))
		return -1;
	pic_disable();
	for (uint32_t i = 0; i < c->nioapics; i++)
		if (ioapic_init(c->ioapic[i], c->ioapic_gsi_base[i], i, err, errlen))
			return -1;
	lapic_init_cpu(true);
	return 0;
}

/* A secondary's LAPIC (after arch_cpu_init_ap, before it turns interrupts on). */
void arch_intc_init_cpu(void)
{
	lapic_init_cpu(false);
}
