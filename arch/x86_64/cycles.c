/*
 * arch/x86_64/cycles.c: the TSC's frequency.
 *
 * CPUID leaf 0x15 gives it on recent hardware (not under QEMU TCG). Otherwise it is
 * measured over about 20 ms against, in this order, the ACPI PM timer (3.579545 MHz,
 * port from the FADT) when the platform has one and it advances; PIT channel 2
 * (1.193182 MHz), gated and read through port 0x61; the CMOS RTC's periodic flag at
 * 1024 Hz. A legacy-free machine may lack the first two (hardware-reduced ACPI has no
 * PM timer; QEMU's microvm has a PIT but no port 0x61, which reads 0xff there), and a
 * reference that is absent must not pass for one that answers: each measurement is
 * refused unless the reference was seen to run, and unless it gives 50 MHz to 20 GHz.
 * None left: 0, and the kernel stops the boot naming them (kernel/main.c). The TSC
 * under TCG follows the host clock, so the result is only as exact as the emulation.
 * The clock (kernel/clock.c) converts with it; the LAPIC timer (timer.c) is
 * calibrated against the TSC itself, so its deadlines do not depend on this figure.
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

/* 0 when OUT2 is already high once the count is loaded (mode 0 holds it low until the
 * count runs out: no port 0x61 reads 0xff), or never goes high. */
static uint64_t measure_pit(void)
{
	const uint32_t hz = 1193182, count = hz / 50;	/* 20 ms */
	/* Gate channel 2 on, speaker off; mode 0 one-shot, lobyte/hibyte. */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	uint64_t c0 = arch_cycles();
	if (inb(0x61) & 0x20)
		return 0;
	for (uint32_t spins = 0; !(inb(0x61) & 0x20); spins++)
		if (spins >= 100000000u)
			return 0;
	return (arch_cycles() - c0) * 50;
}

/* The CMOS RTC (MC146818): register A's rate 6 sets register C's periodic flag (bit 6)
 * 1024 times a second; reading C clears it. The periodic interrupt is enabled for the
 * measurement (register B, PIE: some RTCs run the divider chain's tap only then); its
 * line is masked at the interrupt controller this early, and B and A are put back. 0
 * when there is no RTC (A and B read 0xff) or the flag never comes. */
static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	outb(0x70, reg);
	outb(0x71, v);
}

static bool rtc_wait_period(void)
{
	for (uint32_t spins = 0; spins < 10000000u; spins++)
		if (cmos_read(0x0c) & 0x40)
			return true;
	return false;
}

static uint64_t measure_rtc(void)
{
	const unsigned periods = 20;		/* 19.5 ms at 1024 Hz */
	uint8_t a = cmos_read(0x0a), b = cmos_read(0x0b);
	if (a == 0xff && b == 0xff)
		return 0;			/* nothing there */
	cmos_write(0x0a, (uint8_t)((a & 0xf0) | 6));
	cmos_write(0x0b, (uint8_t)(b | 0x40));
	(void)cmos_read(0x0c);
	uint64_t c0 = 0, c1 = 0;
	bool ok = rtc_wait_period();		/* a period's start */
	if (ok) {
		c0 = arch_cycles();
		for (unsigned i = 0; ok && i < periods; i++)
			ok = rtc_wait_period();
		c1 = arch_cycles();
	}
	cmos_write(0x0b, b);
	cmos_write(0x0a, a);
	(void)cmos_read(0x0c);
	return ok ? (c1 - c0) * 1024 / periods : 0;
}

/* A measured frequency, or 0 when it is not one a TSC runs at. */
static uint64_t plausible(uint64_t hz)
{
	return hz >= 50000000ull && hz <= 20000000000ull ? hz : 0;
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
	cycles_freq = pm_timer_port ? plausible(measure_pm_timer((uint16_t)pm_timer_port)) : 0;
	if (!cycles_freq)
		cycles_freq = plausible(measure_pit());
	if (!cycles_freq)
		cycles_freq = plausible(measure_rtc());
}
