/*
 * arch/x86_64/timer.c: the per-CPU one-shot timer, in TSC cycles.
 *
 * Two ways, chosen once by arch_timer_init:
 *   TSC-deadline  (CPUID.1:ECX[24]; real hardware, not QEMU TCG): the LVT timer in
 *                 TSC-deadline mode fires when the TSC reaches IA32_TSC_DEADLINE, which
 *                 takes the deadline as is (0 disarms, a past value fires at once).
 *   one-shot      the LAPIC timer counts down from an initial count at the APIC bus
 *                 clock / 16. arch_timer_init measures its rate against the TSC over
 *                 10 ms on the boot CPU (timer_mult, counts per cycle in 32.32 fixed
 *                 point); every CPU uses that figure, as their LAPICs share the bus clock.
 *                 A deadline becomes delta * timer_mult >> 32 counts, rounded up, at
 *                 least 1 (a past deadline fires at once), at most 2^32 - 1.
 *
 * The contract is "IRQ_TIMER once arch_cycles() >= deadline", but a count can fire a
 * little early (calibration error) or far too early (a deadline beyond 2^32 counts).
 * So this CPU remembers its deadline (struct x86_cpu.timer_deadline) and the interrupt
 * path asks x86_timer_expired(): before the deadline it re-arms for the rest and the
 * kernel never hears of it; after a disarm (a tick already pending when the kernel
 * disarmed) it is dropped.
 *
 * Context: arch_timer_set with interrupts off (the interrupt path writes the same
 * per-CPU deadline), on any CPU whose LAPIC is up.
 */
#include <stdio.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include "x86.h"

#define DIVIDE_16	0x3		/* LAPIC_TIMER_DCR encoding of divide-by-16 */
#define CALIBRATE_MS	10

static bool timer_tsc_deadline;	/* TSC-deadline mode */
static uint64_t timer_mult;		/* LAPIC counts per TSC cycle, 32.32 */

/*
 * One reading of the LAPIC count with the TSC on both sides of it; the tightest of a
 * few tries, its TSC taken at the middle. Under TCG the virtual CPU may be descheduled
 * for milliseconds between any two instructions: a reading whose brackets are far
 * apart is worth little.
 */
static void sample(uint64_t *tsc, uint32_t *count)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = arch_cycles();
		uint32_t c = lapic_read(LAPIC_TIMER_CCR);
		uint64_t t1 = arch_cycles();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*count = c;
		}
	}
}

/* Measure the LAPIC timer against the TSC over CALIBRATE_MS; 0 when it does not count. */
static uint64_t calibrate(uint64_t freq)
{
	uint64_t t0, t1;
	uint32_t c0, c1;

	unsigned long s = arch_irq_save();
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_DCR, DIVIDE_16);
	lapic_write(LAPIC_TIMER_ICR, 0xffffffffu);
	sample(&t0, &c0);
	uint64_t span = freq / (1000 / CALIBRATE_MS);
	while (arch_cycles() - t0 < span)
		arch_cpu_relax();
	sample(&t1, &c1);
	lapic_write(LAPIC_TIMER_ICR, 0);
	arch_irq_restore(s);

	if (c1 == 0 || c1 >= c0 || t1 <= t0)
		return 0;
	return ((uint64_t)(c0 - c1) << 32) / (t1 - t0);
}

int arch_timer_init(char *err, size_t errlen)
{
	uint64_t freq = arch_cycles_freq();
	uint32_t r[4];

	if (!lapic_ready()) {
		snprintf(err, errlen, "timer: the local APIC is not set up");
		return -1;
	}
	if (!freq) {
		snprintf(err, errlen, "timer: the cycle counter's frequency is unknown");
		return -1;
	}
	cpuid(1, 0, r);
	if (r[2] & (1u << 24)) {
		timer_tsc_deadline = true;
		return 0;
	}
	timer_mult = calibrate(freq);
	if (!timer_mult) {
		snprintf(err, errlen, "timer: the LAPIC timer does not count (over %d ms of cycle counter)",
			 CALIBRATE_MS);
		return -1;
	}
	return 0;
}

/* Start the countdown (or the TSC-deadline compare) for deadline, on this CPU. */
static void program(uint64_t deadline)
{
	if (timer_tsc_deadline) {
		wrmsr(MSR_TSC_DEADLINE, deadline);
		return;
	}
	uint64_t now = arch_cycles(), count = 1;
	if (deadline > now) {
		unsigned __int128 n = ((unsigned __int128)(deadline - now) * timer_mult >> 32) + 1;
		count = n > 0xffffffffu ? 0xffffffffu : (uint64_t)n;
	}
	lapic_write(LAPIC_TIMER_ICR, (uint32_t)count);
}

void arch_timer_set(uint64_t deadline)
{
	struct x86_cpu *c = x86_this_cpu();

	if (!timer_mult && !timer_tsc_deadline)
		return;				/* arch_timer_init has not run (or failed) */
	if (!c->timer_lvt_set) {
		lapic_write(LAPIC_TIMER_DCR, DIVIDE_16);
		lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | (timer_tsc_deadline ? LVT_TSC_DEADLINE : 0));
		/* SDM 10.5.4.1: the LVT write must be ordered before the deadline MSR write */
		__asm__ volatile("mfence" : : : "memory");
		c->timer_lvt_set = true;
	}
	c->timer_deadline = deadline;
	if (deadline)
		program(deadline);
	else if (timer_tsc_deadline)
		wrmsr(MSR_TSC_DEADLINE, 0);
	else
		lapic_write(LAPIC_TIMER_ICR, 0);
}

bool x86_timer_expired(void)
{
	struct x86_cpu *c = x86_this_cpu();
	uint64_t d = c->timer_deadline;

	if (!d)
		return false;
	if (arch_cycles() < d) {
		program(d);
		return false;
	}
	c->timer_deadline = 0;
	return true;
}
