/*
 * arch/aarch64/cycles.c: the generic timer's counter frequency.
 *
 * arch_cycles() reads CNTVCT_EL0 (inline, arch/ops_impl.h); its frequency is
 * CNTFRQ_EL0, which the firmware programs (QEMU: 62.5 MHz on 7.2's virt). Nothing to
 * measure, so the PM timer port of the contract is ignored. A firmware that left
 * CNTFRQ_EL0 at 0 gives 0 here; the device tree's timer clock-frequency would be the
 * fallback, when the timer driver comes.
 */
#include <arch/ops.h>

static uint64_t cycles_freq;

uint64_t arch_cycles_freq(void)
{
	if (!cycles_freq)
		__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(cycles_freq));
	return cycles_freq;
}

void arch_cycles_init(uint32_t pm_timer_port)
{
	(void)pm_timer_port;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(cycles_freq));
	cycles_freq &= 0xffffffffu;	/* the upper half is RES0 */
}
