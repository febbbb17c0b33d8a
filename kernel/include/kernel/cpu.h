/*
 * kernel/cpu.h: per-CPU data and interrupt-disable nesting.
 *
 * Every CPU owns one struct cpu, reached in O(1) through the arch's per-CPU pointer
 * (GS base / TPIDR_EL1). Fields are grouped by who may touch them.
 *
 * irq_push()/irq_pop() nest: the first push remembers whether interrupts were on,
 * the last pop restores that. Spinlocks use them, so a lock taken inside an
 * interrupts-off section does not turn interrupts back on when released.
 */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include <arch/smp.h>

#define CPU_LOCK_STACK 8

struct ipi_call;
struct arch_frame;

struct cpu {
	struct cpu *self;		/* must stay first: x86-64 reads it at %gs:0 */
	uintptr_t arch_scratch[ARCH_PERCPU_SCRATCH_WORDS];	/* the arch's (arch/smp.h) */

	/* Set at bring-up, read-only afterwards. */
	unsigned id;			/* 0 = the boot CPU, then firmware order */
	uint64_t hwid;			/* APIC id / MPIDR affinity */
	uintptr_t stack_lo, stack_hi;	/* the CPU's boot/idle stack */

	/* Owned by this CPU; touched only by itself with interrupts off. */
	int irq_depth;			/* irq_push nesting */
	unsigned long irq_saved;	/* arch_irq_save() of the outermost push */
	int nlocks;			/* spinlocks held */
	uint16_t lock_ranks[CPU_LOCK_STACK];	/* ranks of the locks held, in order */
	const char *lock_names[CPU_LOCK_STACK];
	bool in_irq;			/* inside the interrupt dispatcher */
	struct arch_frame *irq_frame;	/* while in_irq: the outermost interrupt's frame, which
					 * holds the interrupted flow's registers (the collector
					 * scans a goroutine stopped there) */
	_Atomic bool preempt_pending;	/* a tick asked to preempt non-preemptible code
					 * (atomic: a flow that just moved may peek) */
	bool preempt_inflight;		/* a redirected frame's call of the handler has not
					 * reached preempt_arrived yet (kernel/preempt.h) */
	uint64_t probe_va;		/* arch_probe_read in progress on this address */

	/* Written by other CPUs, atomically. */
	_Atomic bool online;		/* came up and answers IPIs */
	_Atomic bool stop_pending;	/* a stop-the-world wants this CPU */
	_Atomic(struct ipi_call *) calls;	/* cross-calls queued for this CPU (LIFO push) */
	_Atomic uint64_t irqs[IPI_KINDS + 1];	/* IPIs by kind, then timer interrupts */
	_Atomic uint64_t preempt_injected;	/* preemptions made from the interrupt */
	_Atomic uint64_t preempt_deferred;	/* ... at the end of a non-preemptible section */
	void (*_Atomic work_fn)(void *);	/* smp_run_on: for the idle loop */
	void *work_arg;
	_Atomic bool work_done;
};

extern struct cpu cpus[ARCH_MAX_CPUS];
extern _Atomic unsigned cpus_online;	/* CPUs that came up, the boot CPU included */
extern unsigned cpu_ids_end;	/* every CPU's id is below this (smp_init sets it, before
				 * anything runs on the others): loops over CPUs stop here */
extern unsigned cpus_described;	/* enabled CPUs the firmware described */
/* One CPU, for good: the firmware described one, and it runs (set by smp_init, before
 * anything else runs; a CPU left out of bring-up could still arrive late, so only a
 * machine described with one qualifies). Then nothing but this CPU's own interrupts
 * can come between its accesses to memory, and an atomic only against them
 * (arch_cas32_local) does what a locked one would. */
extern bool cpu_single;

static inline struct cpu *cpu_this(void) { return (struct cpu *)arch_percpu(); }
static inline unsigned cpu_id(void) { return cpu_this()->id; }
static inline unsigned cpu_count(void) { return atomic_load(&cpus_online); }

/* Make `c` this CPU's per-CPU data (bring-up, interrupts off). */
void cpu_attach(struct cpu *c, unsigned id, uint64_t hwid);

/* Nesting interrupt disable (xv6 push_off/pop_off); inline: the allocator's and the
 * channels' fast paths take them. */
void preempt_check(void);

static inline void irq_push(void)
{
	unsigned long saved = arch_irq_save();
	struct cpu *c = cpu_this();
	if (c->irq_depth++ == 0)
		c->irq_saved = saved;
}

void irq_pop_check_failed(void);

static inline void irq_pop(void)
{
	struct cpu *c = cpu_this();
#ifndef NDEBUG
	if (__builtin_expect(arch_irq_enabled() || c->irq_depth <= 0, 0))
		irq_pop_check_failed();
#endif
	if (--c->irq_depth == 0) {
		arch_irq_restore(c->irq_saved);
		/* the end of a non-preemptible section; c may be another CPU's by now (an
		 * interrupt could preempt us right here), then the check finds nothing */
		if (__builtin_expect(atomic_load_explicit(&c->preempt_pending, memory_order_relaxed), 0))
			preempt_check();
	}
}

#endif
