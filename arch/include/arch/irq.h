/*
 * arch/irq.h: interrupt controllers, IPIs and the per-CPU timer.
 *
 * The kernel sees interrupts as small numbers, whatever the controller calls them:
 *
 *   IRQ_IPI(kind)     an inter-processor interrupt of one of the four kinds
 *                     (x86-64: LAPIC fixed vectors 0xf0+kind; aarch64: SGI kind)
 *   IRQ_TIMER         this CPU's one-shot timer (LAPIC timer / EL1 virtual timer)
 *   IRQ_DEVICE(n)     device interrupt n (x86-64: IOAPIC GSI n; aarch64: SPI n),
 *                     masked until a driver claims it (none yet)
 *
 * The arch acknowledges and ends each interrupt (EOI) around the handler it was
 * given, which runs with interrupts off on this CPU's interrupt stack.
 *
 * STOP is a maskable IPI, not an NMI, on both arches: a core that holds a spinlock
 * has interrupts off and must not be stopped inside its critical section;
 * stop-the-world waits for it, bounded, and names it if it never answers.
 */
#ifndef ARCH_IRQ_H
#define ARCH_IRQ_H

#include <stddef.h>
#include <stdint.h>

enum ipi_kind {
	IPI_RESCHEDULE = 0,	/* wake an idle core; the handler does nothing else */
	IPI_CALL = 1,		/* run the queued cross-calls */
	IPI_STOP = 2,		/* join a stop-the-world */
	IPI_TLB = 3,		/* flush the TLB range the shootdown asks for */
	IPI_KINDS = 4,
};

#define IRQ_IPI(kind)	((unsigned)(kind))
#define IRQ_TIMER	8u
#define IRQ_DEVICE(n)	(32u + (n))
#define IRQ_MAX		1024u

struct arch_frame;
typedef void (*irq_handler_fn)(unsigned irq, struct arch_frame *f);

/* What the kernel found in the firmware tables, already mapped (device memory). */
struct arch_intc_config {
	/* x86-64 */
	uintptr_t lapic;		/* local APIC registers (xAPIC MMIO) */
	uint32_t nioapics;
	uintptr_t ioapic[8];		/* IOAPIC registers */
	uint32_t ioapic_gsi_base[8];
	/* aarch64, GICv3 */
	uintptr_t gicd;			/* distributor */
	uintptr_t gicr;			/* redistributor region (all CPUs' frames) */
	uint64_t gicr_size;
	uint32_t timer_ppi;		/* INTID of the EL1 virtual timer (27 on QEMU virt) */
};

/* Global controller state and this (boot) CPU's part: every device interrupt masked.
 * 0, or -1 with err set ("GICv3: redistributor for MPIDR 0x3 not found"). */
int arch_intc_init(const struct arch_intc_config *c, char *err, size_t errlen);
/* This CPU's part (LAPIC enable / redistributor wake-up and CPU interface). */
void arch_intc_init_cpu(void);
/* The kernel's dispatcher for every interrupt. */
void arch_irq_set_handler(irq_handler_fn fn);

/* Send an IPI to the CPU with hardware id hwid (may be this CPU). Any context. */
void arch_ipi_send(uint64_t hwid, enum ipi_kind kind);

/*
 * Per-CPU one-shot timer, in arch_cycles() units: IRQ_TIMER on this CPU once
 * arch_cycles() >= deadline (at once if already past); 0 disarms. Interrupts off.
 * arch_timer_init calibrates it on the boot CPU (x86-64: the LAPIC timer against the
 * cycle counter); the other CPUs use the same calibration.
 */
int arch_timer_init(char *err, size_t errlen);
void arch_timer_set(uint64_t deadline);

/* Drop this CPU's TLB entries for [va, va+size) (a shootdown's remote half). */
void arch_tlb_flush_local(uint64_t va, uint64_t size);

/* Wait for an interrupt: called with interrupts off, enables them for the wait
 * atomically (no lost wake-up: sti;hlt / wfi with the interrupt pending), returns with
 * them off again after one was taken. */
void arch_wait_for_interrupt(void);

#endif
