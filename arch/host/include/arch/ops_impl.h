/*
 * arch/ops_impl.h (host): the inline half of <arch/ops.h> for the hosted platform.
 *
 * The interrupt flag is a software mask, one per thread (= CPU), not sigprocmask:
 * spinlocks call irq_push/irq_pop on every acquire, and a system call there would cost
 * a microsecond each time. So:
 *
 *   host_irq_off       1 while "interrupts are disabled". Threads start with it set,
 *                      as CPUs start with interrupts off.
 *   host_irq_pending   set by the interrupt signal handler (arch/host/irq.c) when it
 *                      finds host_irq_off set: it records that something came (the
 *                      IPI kinds are in the CPU's pending mask, the timer in its
 *                      timer_fired flag) and returns at once.
 *
 * Turning interrupts back on (arch_irq_enable, arch_irq_restore of an "on" state)
 * clears the mask and then looks at host_irq_pending; if set, host_irq_replay() sends
 * SIG_IPI to this very thread, so the recorded interrupts are taken the way every
 * interrupt is: in the signal handler, on the CPU's signal stack, with the interrupted
 * registers in a real ucontext. A signal that lands between the clear and the check
 * finds the mask clear and does the work itself; the replay then finds nothing to do.
 *
 * Every access to these per-thread variables is one %fs-relative instruction inside
 * an asm volatile with a memory clobber: that is both the compiler barrier the signal
 * handler needs (a signal fence) and a guarantee that nothing caches the address of
 * one thread's variable, which matters once goroutines move between CPU threads
 * (the x86-64 port reads %gs:0 the same way, for the same reason). The accesses are
 * invisible to ThreadSanitizer, rightly: only the thread and its own signal handler
 * touch them. The variables are defined in the executable (arch/host/irq.c,
 * arch/host/cpu.c), which is not PIE, so @tpoff (local-exec TLS) is exact.
 */
#ifndef ARCH_OPS_IMPL_H
#define ARCH_OPS_IMPL_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define ARCH_RELAX_YIELDS 1
#define ARCH_NAME "host"

#include "../../../x86_64/include/arch/local_atomic_impl.h"	/* (an x86-64 host) */

extern __thread int host_irq_off;
extern __thread int host_irq_pending;
extern __thread void *host_percpu;

#define HOST_TLS_READ(var, out) __asm__ volatile("mov %%fs:" #var "@tpoff, %0" : "=r"(out) : : "memory")
#define HOST_TLS_WRITE(var, val) __asm__ volatile("mov %0, %%fs:" #var "@tpoff" : : "r"(val) : "memory")

void host_irq_replay(void);
void host_halt(void);
void host_cpu_relax(void);

/* Returns 1 if interrupts were on (the state arch_irq_restore takes back). */
static inline unsigned long arch_irq_save(void)
{
	int off, one = 1;
	HOST_TLS_READ(host_irq_off, off);
	HOST_TLS_WRITE(host_irq_off, one);
	return !off;
}

static inline void arch_irq_enable(void)
{
	int pending, zero = 0;
	HOST_TLS_WRITE(host_irq_off, zero);
	HOST_TLS_READ(host_irq_pending, pending);
	if (__builtin_expect(pending, 0))
		host_irq_replay();
}

static inline void arch_irq_restore(unsigned long was_on)
{
	int one = 1;
	if (was_on)
		arch_irq_enable();
	else
		HOST_TLS_WRITE(host_irq_off, one);
}

static inline bool arch_irq_enabled(void)
{
	int off;
	HOST_TLS_READ(host_irq_off, off);
	return !off;
}

/* Sleep until a signal (sigsuspend), arch/host/cpu.c. */
static inline void arch_halt(void) { host_halt(); }

/* The kernel's check for a preemption left pending (arch_relax_set_check). */
extern void (*host_relax_check)(void);

/*
 * A spinning CPU is a thread that may share a core with the one it waits for (more
 * CPUs than cores, or a loaded machine): yield, so the holder gets to run. Under
 * ThreadSanitizer the call also takes interrupts (see arch/host/cpu.c). The slice's
 * signal then nearly always lands inside the call, in libc, where it may not
 * redirect the flow (arch/host/irq.c): it leaves the preemption pending, and the
 * check after the call takes it, as the end of an interrupts-off section does (a
 * goroutine spinning here was otherwise never preempted, and what waited on its
 * CPU's run queue waited for another CPU to steal it).
 */
static inline void arch_cpu_relax(void)
{
#if defined(__SANITIZE_THREAD__)
	host_cpu_relax();
#else
	sched_yield();
#endif
	void (*check)(void) = __atomic_load_n(&host_relax_check, __ATOMIC_RELAXED);
	if (check)
		check();
}

/* fn: called after each arch_cpu_relax (the kernel's preempt_check). */
static inline void arch_relax_set_check(void (*fn)(void))
{
	__atomic_store_n(&host_relax_check, fn, __ATOMIC_RELAXED);
}

/* CLOCK_MONOTONIC in nanoseconds: arch_cycles_freq() is 1 GHz. The same clock on
 * every thread, through the vDSO (about 20 ns). */
static inline uint64_t arch_cycles(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This CPU's per-CPU pointer (arch/smp.h): one %fs-relative load, never merged. */
static inline void *arch_percpu(void)
{
	void *p;
	HOST_TLS_READ(host_percpu, p);
	return p;
}

#endif
