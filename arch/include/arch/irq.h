/*
 * arch/irq.h: interrupt controllers, IPIs and the per-CPU timer.
 *
 * The kernel sees interrupts as small numbers, whatever the controller calls them:
 *
 *   IRQ_IPI(kind)     an inter-processor interrupt of one of the four kinds
 *                     (x86-64: LAPIC fixed vectors 0xf0+kind; aarch64: SGI kind)
 *   IRQ_TIMER         this CPU's one-shot timer (LAPIC timer / EL1 virtual timer)
 *   IRQ_DEVICE(n)     device interrupt n (x86-64: IOAPIC GSI n; aarch64: SPI n, INTID
 *                     32 + n; hosted: the console's input, n = 0), masked until a
 *                     driver routes it (arch_irq_line_enable)
 *
 * The arch acknowledges and ends each interrupt (EOI) around the handler it was
 * given, which runs with interrupts off on this CPU's interrupt stack.
 *
 * STOP is a maskable IPI, not an NMI, on both arches: a core that holds a spinlock
 * has interrupts off and must not be stopped inside its critical section;
 * stop-the-world waits for it, bounded, and names it if it never answers.
 *
 * IPIs outrank every other interrupt: x86-64 puts them in the LAPIC's highest
 * priority class (0xf0+kind, above the timer's 0xe0 and the devices'); aarch64 gives
 * SGIs a higher GIC priority than PPIs and SPIs. So a CPU can wait with only IPIs
 * deliverable (arch_wait_for_ipi: the task-priority register, the GIC's priority
 * mask, the host's held timer signal), which is how a CPU stopped by a stop-the-world
 * halts instead of spinning while still answering cross-calls, shootdowns and panics.
 */
#ifndef ARCH_IRQ_H
#define ARCH_IRQ_H

#include <stdbool.h>
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

/*
 * A device's interrupt line, as the firmware describes it (the MADT's interrupt source
 * overrides, a device-tree node's interrupts property).
 */
struct arch_irq_line {
	uint32_t num;			/* IRQ_DEVICE(num): GSI / SPI number / 0 hosted */
	bool level;			/* level-triggered (else edge) */
	bool active_low;		/* active low / falling edge (else high / rising) */
};

/*
 * Route a device line to this CPU and unmask it: its interrupts arrive as
 * IRQ_DEVICE(l->num), to the handler irq_register installed (claim it first). 0, or
 * -1 with err ("IOAPIC: no IOAPIC serves GSI 40"). Boot CPU, once per line, before
 * the device is told to interrupt.
 */
int arch_irq_line_enable(const struct arch_irq_line *l, char *err, size_t errlen);

/* Send an IPI to the CPU with hardware id hwid (may be this CPU). Any context. */
void arch_ipi_send(uint64_t hwid, enum ipi_kind kind);

/*
 * Send kind to every other CPU at once, with the controller's broadcast where it has
 * one (x86-64: the ICR's all-excluding-self shorthand; GICv3: ICC_SGI1R_EL1.IRM), else
 * one IPI per CPU (hosted: a tgkill per live CPU thread). It may also reach CPUs the
 * kernel never brought online (a CPU that came up too late, or not at all): the
 * handler of kind must be harmless on them (stop-the-world uses IPI_STOP, whose
 * handler only polls). Stores before the call are visible to the handlers. Any context.
 */
void arch_ipi_broadcast(enum ipi_kind kind);

/*
 * What the platform can tell of CPU hwid, which has not answered an IPI for far longer
 * than it should (for the panic that names it): one line into buf, empty when there is
 * nothing to add. Hardware CPUs give nothing a stuck CPU could be asked; the hosted
 * platform describes the CPU's thread as Linux sees it. Any context, the panicking
 * flow's.
 */
void arch_ipi_unanswered(uint64_t hwid, char *buf, size_t len);

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

/*
 * Wait for an IPI with nothing else deliverable; for a CPU that waits on other CPUs
 * (a stopped participant of a stop-the-world) and must neither spin nor run anything
 * but IPI handlers meanwhile.
 *
 * Called with interrupts off, from any context: normal code or an interrupt handler
 * (the stop-the-world participant waits inside its IPI_STOP handler). Halts (hlt /
 * wfi / sigwaitinfo) until an IPI arrives, letting only IPIs be delivered meanwhile:
 * their handlers run nested in the wait, with interrupts off, on this CPU's interrupt
 * stack below the caller's frames (hosted: below the caller, on its stack), and may
 * be several. Returns with interrupts off. Every other
 * interrupt (the timer, devices) stays pending and is taken once the caller turns
 * interrupts on the ordinary way. No lost wake-up: an IPI that became pending before
 * the call (sent between the caller's check of its condition and the halt) ends the
 * wait at once. It may also return without an IPI (a spurious wake-up, or no room
 * left on the interrupt stack for a nested frame, when it does not halt at all), so
 * callers loop on their condition:
 *
 *     while (!done)
 *         arch_wait_for_ipi();
 *
 * Nested handlers must not preempt (only the timer's does, and it is held back). They
 * may wait with arch_wait_for_ipi in turn while the interrupt stack has room; with
 * too little left it returns at once instead of halting, and the caller's loop spins.
 */
void arch_wait_for_ipi(void);

#endif
