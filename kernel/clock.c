/*
 * kernel/clock.c: cycles -> nanoseconds.
 *
 * ns = (cycles - base) * mult >> 32, with mult = 1e9 << 32 / freq; the product is
 * taken in 128 bits so it never overflows (at 3 GHz the 64-bit cycle count wraps after
 * 194 years; the 128-bit product holds any of it).
 */
#include <stddef.h>
#include <stdlib.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <arch/irq.h>
#include <arch/ops.h>

static void (*_Atomic clock_timer_fn)(struct arch_frame *f);

static uint64_t clock_base;	/* cycles at clock_init */
static uint64_t clock_mult;	/* ns per cycle, 32.32 fixed point */
static uint64_t cycles_mult;	/* cycles per ns, 32.32 fixed point */
static uint64_t spin_ns_x256 = 256;	/* a wait loop's iteration, ns * 256 (kernel/clock.h) */

void clock_init(void)
{
	uint64_t f = arch_cycles_freq();
	clock_base = arch_cycles();
	clock_mult = (uint64_t)(((unsigned __int128)1000000000u << 32) / f);
	cycles_mult = (uint64_t)(((unsigned __int128)f << 32) / 1000000000u);
}

static void clock_timer_irq(unsigned irq, void *arg, struct arch_frame *fr)
{
	(void)irq, (void)arg;
	void (*fn)(struct arch_frame *) = clock_timer_fn;
	arch_timer_set(0);
	if (fn)
		fn(fr);
}

void clock_timer_set_handler(void (*fn)(struct arch_frame *f))
{
	clock_timer_fn = fn;
}

void clock_timer_init(void)
{
	irq_register(IRQ_TIMER, clock_timer_irq, NULL);
}

uint64_t clock_ns(void)
{
	if (!clock_mult)
		return 0;
	uint64_t c = arch_cycles() - clock_base;
	return (uint64_t)(((unsigned __int128)c * clock_mult) >> 32);
}

uint64_t clock_ns_to_cycles(uint64_t ns)
{
	return (uint64_t)(((unsigned __int128)ns * cycles_mult) >> 32);
}

void clock_timer_arm(uint64_t deadline_ns)
{
	arch_timer_set(clock_base + clock_ns_to_cycles(deadline_ns) + 1);
}

void clock_timer_disarm(void)
{
	arch_timer_set(0);
}

uint64_t clock_spin_iters(uint64_t ns)
{
	uint64_t n = ns * 256 / __atomic_load_n(&spin_ns_x256, __ATOMIC_RELAXED);
	return n ? n : 1;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The median of 9 runs of 256 iterations (a run an interrupt or the host lengthened is
 * an outlier, not the rate). */
void clock_spin_calibrate(void (*body)(void))
{
	uint64_t run[9];
	uint64_t flags = arch_irq_save();
	for (int r = 0; r < 9; r++) {
		uint64_t t0 = clock_ns();
		for (int i = 0; i < 256; i++) {
			body();
			arch_cpu_relax();
		}
		run[r] = clock_ns() - t0;
	}
	arch_irq_restore(flags);
	qsort(run, 9, sizeof(run[0]), u64_cmp);
	__atomic_store_n(&spin_ns_x256, run[4] ? run[4] : 1, __ATOMIC_RELAXED);
}
