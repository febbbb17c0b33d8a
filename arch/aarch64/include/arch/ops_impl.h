/* arch/ops_impl.h (aarch64): the inline half of <arch/ops.h>. */
#ifndef ARCH_OPS_IMPL_H
#define ARCH_OPS_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#define ARCH_RELAX_YIELDS 0
#define ARCH_NAME "aarch64"

#include <stdatomic.h>

/* <arch/ops.h>'s read-modify-writes atomic against this CPU's interrupts only: an
 * exclusive pair without the acquire and release barriers (no single instruction
 * without them would be cheaper), fenced for the compiler on both sides. */
static inline bool arch_cas32_local(_Atomic uint32_t *p, uint32_t *old, uint32_t new)
{
	atomic_signal_fence(memory_order_seq_cst);
	bool ok = atomic_compare_exchange_strong_explicit(p, old, new, memory_order_relaxed,
							  memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	return ok;
}

static inline uint32_t arch_fetch_add32_local(_Atomic uint32_t *p, uint32_t v)
{
	atomic_signal_fence(memory_order_seq_cst);
	uint32_t old = atomic_fetch_add_explicit(p, v, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	return old;
}

#define DAIF_F (1ul << 6)	/* PSTATE.F: FIQs masked */
#define DAIF_I (1ul << 7)	/* PSTATE.I: IRQs masked */

/* Mask IRQ and FIQ (debug and SError stay as they were); return the old DAIF. */
static inline unsigned long arch_irq_save(void)
{
	unsigned long daif;
	__asm__ volatile("mrs %0, daif\n\tmsr daifset, #3" : "=r"(daif) : : "memory");
	return daif;
}

/* Put DAIF back exactly as arch_irq_save found it. */
static inline void arch_irq_restore(unsigned long daif)
{
	__asm__ volatile("msr daif, %0" : : "r"(daif) : "memory");
}

static inline bool arch_irq_enabled(void)
{
	unsigned long daif;
	__asm__ volatile("mrs %0, daif" : "=r"(daif));
	return !(daif & DAIF_I);
}

static inline void arch_halt(void) { __asm__ volatile("wfi" : : : "memory"); }
static inline void arch_cpu_relax(void) { __asm__ volatile("yield"); }
/* (a yield is interruptible: a preemption needs no check after it) */
static inline void arch_relax_set_check(void (*fn)(void)) { (void)fn; }

/* The virtual count (CNTVCT_EL0). The isb keeps the read from being hoisted above
 * earlier instructions, so two reads bracket the code between them. */
static inline uint64_t arch_cycles(void)
{
	uint64_t v;
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}

/* The kernel's per-CPU pointer (arch/smp.h), TPIDR_EL1: set once per CPU by
 * arch_percpu_set; an EL1-only register, so nothing else can change it. */
static inline void *arch_percpu(void)
{
	void *p;
	__asm__ volatile("mrs %0, tpidr_el1" : "=r"(p));
	return p;
}

/* Interrupts on (the boot CPU, once its interrupt controller is set up). */
static inline void arch_irq_enable(void) { __asm__ volatile("msr daifclr, #2" : : : "memory"); }

#endif
