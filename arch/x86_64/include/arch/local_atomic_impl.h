/*
 * arch/local_atomic_impl.h (x86-64, the images and the hosted platform): the two
 * read-modify-writes of <arch/ops.h> that need to be atomic against this CPU's own
 * interrupts only, never against another CPU (the caller knows none exists:
 * kernel/cpu.h cpu_single). One instruction each, cmpxchg and xadd without the lock
 * prefix: an interrupt (or, hosted, a signal) is taken before or after it, never
 * inside, and without the prefix the instruction does not drain the store buffer or
 * lock the line, which is most of what an uncontended lock costs (Linux's
 * uniprocessor kernels drop the prefix the same way). The memory clobber is the
 * compiler barrier a lock's acquire and release need; the one CPU sees its own
 * accesses in program order.
 */
#ifndef ARCH_LOCAL_ATOMIC_IMPL_H
#define ARCH_LOCAL_ATOMIC_IMPL_H

#include <stdbool.h>
#include <stdint.h>

/* If *p == *old, *p = new and true; else *old = *p and false. */
static inline bool arch_cas32_local(_Atomic uint32_t *p, uint32_t *old, uint32_t new)
{
	bool ok;
	__asm__ volatile("cmpxchgl %3, %1"
			 : "=@ccz"(ok), "+m"(*(uint32_t *)p), "+a"(*old)
			 : "r"(new)
			 : "memory");
	return ok;
}

/* *p += v; the value before. */
static inline uint32_t arch_fetch_add32_local(_Atomic uint32_t *p, uint32_t v)
{
	__asm__ volatile("xaddl %0, %1" : "+r"(v), "+m"(*(uint32_t *)p) : : "memory", "cc");
	return v;
}

#endif
