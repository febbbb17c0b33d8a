/* arch/ops_impl.h (x86-64): the inline half of <arch/ops.h>. */
#ifndef ARCH_OPS_IMPL_H
#define ARCH_OPS_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#define ARCH_RELAX_YIELDS 0
#define ARCH_NAME "x86_64"

#include <arch/local_atomic_impl.h>

static inline unsigned long arch_irq_save(void)
{
	unsigned long flags;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void arch_irq_restore(unsigned long flags)
{
	if (flags & (1ul << 9))
		__asm__ volatile("sti" : : : "memory");
}

static inline bool arch_irq_enabled(void)
{
	unsigned long flags;
	__asm__ volatile("pushfq; popq %0" : "=r"(flags));
	return flags & (1ul << 9);
}

static inline void arch_halt(void) { __asm__ volatile("hlt" : : : "memory"); }
static inline void arch_cpu_relax(void) { __asm__ volatile("pause"); }
/* (a pause is interruptible: a preemption needs no check after it) */
static inline void arch_relax_set_check(void (*fn)(void)) { (void)fn; }

static inline uint64_t arch_cycles(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * This CPU's per-CPU pointer (arch/smp.h), one load from %gs:0. Requirement: the
 * structure given to arch_percpu_set() starts with a pointer to itself (the kernel's
 * struct cpu.self): the GS base holds its address, and %gs:0 reads that first field.
 * volatile: a goroutine may move to another CPU between two calls, so two reads must
 * never be merged into one.
 */
static inline void *arch_percpu(void)
{
	void *p;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* Interrupts on (the boot CPU, once its interrupt controller is set up). */
static inline void arch_irq_enable(void) { __asm__ volatile("sti" : : : "memory"); }

#endif
