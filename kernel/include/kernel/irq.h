/*
 * kernel/irq.h: the interrupt dispatch table.
 *
 * Upper layers register a handler per interrupt number (arch/irq.h: IRQ_IPI(kind),
 * IRQ_TIMER, IRQ_DEVICE(n)); the arch calls irq_dispatch for each interrupt, with
 * interrupts off, on the CPU's interrupt stack. A handler runs in interrupt context:
 * it must not block, and it should only wake someone (DESIGN.md: an interrupt reaches
 * a driver goroutine as a wake-up, never as work done in the handler).
 * The IPI kinds are claimed by kernel/ipi.c and kernel/stw.c.
 */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include <arch/irq.h>

struct arch_frame;
typedef void (*irq_fn)(unsigned irq, void *arg, struct arch_frame *f);

/* Claim irq. -1 if it is already claimed or out of range. Boot CPU, before use. */
int irq_register(unsigned irq, irq_fn fn, void *arg);
/* Install the dispatcher with the arch (once, at boot). */
void irq_init(void);

#endif
