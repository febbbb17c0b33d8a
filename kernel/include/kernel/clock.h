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

#include <stdbool.h>
#include <stdint.h>
#include <arch/ops.h>

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

/*
 * Time in wait loops. A loop that spins until another CPU does something bounds
 * itself in one of two ways, neither of which reads the clock each time round:
 *
 *   spin_window    a short spin before halting or giving up (microseconds): counted
 *                  in iterations, against the rate of a wait loop's body (ipi_poll and
 *                  arch_cpu_relax) measured at boot, clock_spin_calibrate. A loop
 *                  whose body does more, or that is interrupted, spins longer than the
 *                  window's nominal time; it is a spin before a halt, not a deadline.
 *                  Where arch_cpu_relax yields to the host's scheduler (ARCH_RELAX_YIELDS,
 *                  the hosted platform) an iteration may last a whole time slice of
 *                  another thread, so there the window also ends on the clock, read each
 *                  time round (cheap there): with two busy threads beside the 4 CPUs'
 *                  threads on 2 cores, windows of iterations alone made gc_stress's stop-the-world
 *                  mode take 22 s instead of 2, once more than 60.
 *   spin_deadline  a bound whose end is a panic (a CPU that never answers: seconds,
 *                  ms): the clock read once every SPIN_CLOCK_EVERY iterations, the time
 *                  counted from the first such reading (so up to that many iterations
 *                  late).
 *
 * Why not the clock: on hardware a counter read costs little, but under QEMU's TCG an
 * aarch64 guest's read of CNTVCT_EL0 is an access to a register QEMU flags as I/O,
 * made holding QEMU's global lock, which the CPU being waited for needs as well to
 * take its interrupt (the GIC's acknowledge and end are such accesses too); a vCPU
 * that finds the lock taken waits for the host to hand it over. Measured
 * at 2 vCPUs on 2026-12-07, a cross-call to a CPU running a goroutine (median of 101):
 * the caller spinning on the flag alone, 3.0 us a round trip; reading CNTVCT_EL0 each
 * time round, 26.5 us (the handler starting 9 us after the send instead of 2.5);
 * through clock_ns() each time round, 7.6 us. Mark termination with the other CPU
 * busy, in builds clocking each step: every wait reading the clock every 32nd time
 * round, 35 to 38 us (3 boots); every 1024th, 9 to 12.6 us.
 */
#define SPIN_CLOCK_EVERY 1024

/* Iterations of a wait loop in about ns (at least 1). */
uint64_t clock_spin_iters(uint64_t ns);
/* Measure the wait loop's rate: body() and arch_cpu_relax(), interrupts off, on the boot
 * CPU before the others start. Until then a window is ns iterations long. */
void clock_spin_calibrate(void (*body)(void));

struct spin_window {
	uint64_t left;		/* iterations */
	uint64_t end;		/* ARCH_RELAX_YIELDS: clock_ns() at the end */
};

static inline struct spin_window spin_window(uint64_t ns)
{
	return (struct spin_window){ .left = clock_spin_iters(ns), .end = ARCH_RELAX_YIELDS ? clock_ns() + ns : 0 };
}

/* Once each time round: true when the window is over. */
static inline bool spin_window_over(struct spin_window *w)
{
	if (!w->left)
		return true;
	w->left--;
	return ARCH_RELAX_YIELDS && clock_ns() >= w->end;
}

struct spin_deadline {
	uint64_t start;		/* clock_ns() at the first reading, 0 before it */
	uint32_t n;		/* iterations since the last reading */
};

#define SPIN_DEADLINE_INIT { 0, 0 }

/* Once each time round: true when ns have passed (see above). */
static inline bool spin_deadline_over(struct spin_deadline *d, uint64_t ns)
{
	if (++d->n < SPIN_CLOCK_EVERY)
		return false;
	d->n = 0;
	uint64_t now = clock_ns();
	if (!d->start) {
		d->start = now ? now : 1;
		return false;
	}
	return now - d->start > ns;
}

#endif
