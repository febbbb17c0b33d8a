/*
 * kernel/ipi.h: cross-calls between CPUs, wake-ups and TLB shootdowns.
 *
 *   ipi_call(cpu, fn, arg, wait)   run fn(arg) on `cpu` from its IPI handler
 *                                  (interrupt context there). wait: return after
 *                                  it ran; else return at once.
 *   ipi_call_others(fn, arg, wait) the same on every other online CPU
 *   ipi_call_cpus(mask, fn, arg, wait)  the same on the online CPUs of mask (bit per
 *                                  CPU id), the caller's own CPU left out
 *   ipi_reschedule(cpu)            wake `cpu` from its idle halt
 *   tlb_shootdown(va, size)        after unmapping: make every other CPU drop the
 *                                  range from its TLB; returns when all have
 *
 * A CPU that waits (for a call, a shootdown, a stop-the-world) keeps answering what
 * is sent to it while it waits (ipi_poll), even with interrupts off, so CPUs waiting
 * on each other cannot deadlock. A CPU that does not answer within IPI_WAIT_NS is a
 * panic that names it.
 *
 * Context: any, including interrupts off and interrupt handlers (waiting from an
 * interrupt handler is allowed: the wait polls). fn runs with interrupts off and
 * must not block.
 */
#ifndef KERNEL_IPI_H
#define KERNEL_IPI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define IPI_WAIT_NS (10ull * 1000 * 1000 * 1000)

struct ipi_call {
	void (*fn)(void *arg);
	void *arg;
	struct ipi_call *next;		/* in the target's queue */
	_Atomic bool done;		/* set by the target after fn returned */
	bool pooled;			/* from the asynchronous pool: freed by the target */
};

void ipi_init(void);
void ipi_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait);
void ipi_call_others(void (*fn)(void *), void *arg, bool wait);
void ipi_call_cpus(uint64_t mask, void (*fn)(void *), void *arg, bool wait);
/* ipi_poll without the stop: run the queued cross-calls (a TLB shootdown's flush)
 * from a wait that must not join a stop of the world. Interrupts off. */
void ipi_run_calls(void);
void ipi_reschedule(unsigned cpu);
void tlb_shootdown(uint64_t va, uint64_t size);

/* Run whatever other CPUs asked of this one (queued calls, a pending stop). Called by
 * the IPI handlers and by every wait loop. Interrupts off. */
void ipi_poll(void);
/* Would ipi_poll do anything now (a call queued, a stop pending, a panic's stop)?
 * For a loop that must leave some state before it answers. Interrupts off. */
bool ipi_pending(void);

/* How long to wait for another CPU before panicking (tests shorten it). */
extern uint64_t ipi_wait_ns;

/* For the panic that names a CPU which did not answer an IPI within ipi_wait_ns:
 * what the platform knows of it (arch_ipi_unanswered), as "; ..." to append to the
 * message, or "". */
void ipi_explain_silent(unsigned cpu, char *why, size_t len);

#endif
