/*
 * kernel/clock.h: monotonic time and the per-CPU one-shot timer.
 *
 * clock_ns() counts nanoseconds since boot from the arch cycle counter (TSC /
 * CNTVCT), converted with a 64.64 fixed-point factor computed once. It is
 * monotonic on each CPU; across CPUs it agrees to within the counters' own sync
 * (tested). Context: any, lock-free.
 *
 * clock_timer_arm(deadline) asks for IRQ_TIMER on this CPU at clock_ns() >= deadline;
 * whoever registered IRQ_TIMER (kernel/irq.h) handles it. Interrupts off.
 */
#ifndef KERNEL_CLOCK_H
#define KERNEL_CLOCK_H

#include <stdint.h>

void clock_init(void);
/* Claim IRQ_TIMER (after irq_init). */
void clock_timer_init(void);
uint64_t clock_ns(void);
uint64_t clock_ns_to_cycles(uint64_t ns);
void clock_timer_arm(uint64_t deadline_ns);
void clock_timer_disarm(void);
/* Who handles IRQ_TIMER (the scheduler's timers, rt/timer.c; tests before it starts).
 * NULL: the timer is disarmed when it fires. Runs in interrupt context on the CPU whose
 * timer fired, with the interrupted context's frame (for preemption). */
struct arch_frame;
void clock_timer_set_handler(void (*fn)(struct arch_frame *f));

#endif
