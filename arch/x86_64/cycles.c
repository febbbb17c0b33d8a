/*
 * arch/x86_64/cycles.c: the TSC's frequency.
 *
 * CPUID leaf 0x15 gives it on recent hardware (not under QEMU TCG). Otherwise it is
 * measured over 20 ms against the ACPI PM timer (3.579545 MHz, port from the FADT) when
 * the platform has one and it advances, else against PIT channel 2 (1.193182 MHz),
 * which every PC and QEMU's q35 still has. The TSC under TCG follows the host clock,
 * so the result is only as exact as the emulation. The clock (kernel/clock.c) converts
 * with it; the LAPIC timer (timer.c) is calibrated against the TSC itself, so its
 * deadlines do not depend on this figure.
 */
#include <arch/ops.h>

static uint64_t cycles_freq;

uint64_t arch_cycles_freq(void)
{
	return cycles_freq;
}

/* 0 when the PM timer does not advance (a bad FADT port): the caller falls back. */
static uint64_t measure_pm_timer(uint16_t port)
{
	const uint32_t hz = 3579545, ticks = hz / 50;	/* 20 ms */
	uint32_t start = inl(port) & 0xffffff, now;
	uint64_t c0 = arch_cycles();
	for (uint32_t spins = 0;; spins++) {
		now = inl(port) & 0xffffff;
		if (((now - start) & 0xffffff) >= ticks)
			break;
		if (spins >= 10000000u)		/* 20 ms is ~20000 port reads */
			return 0;
	}
	return (arch_cycles() - c0) * 50;
}

static uint64_t measure_pit(void)
{
	const uint32_t hz = 1193182, count = hz / 50;	/* 20 ms */
	/* Gate channel 2 on, speaker off; mode 0 one-shot, lobyte/hibyte. */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	uint64_t c0 = arch_cycles();
	for (uint32_t spins = 0; !(inb(0x61) & 0x20) && spins < 100000000u; spins++)
		arch_cpu_relax();
	return (arch_cycles() - c0) * 50;
}

void arch_cycles_init(uint32_t pm_timer_port)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	if (a >= 0x15) {
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x15), "c"(0));
		if (a && b && c) {
			cycles_freq = (uint64_t)c * b / a;
			return;
		}
	}
	cycles_freq = pm_timer_port ? measure_pm_timer((uint16_t)pm_timer_port) : 0;
	if (!cycles_freq)
		cycles_freq = measure_pit();
	if (!cycles_freq)
		cycles_freq = 1000000000ull;	/* cannot happen unless the reference is dead */
}
