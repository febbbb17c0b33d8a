/*
 * arch/aarch64/timer.c: the per-CPU one-shot timer, the EL1 virtual timer.
 *
 * Each CPU's generic timer compares CNTVCT_EL0 (arch_cycles, the same count on every
 * CPU) with CNTV_CVAL_EL0 and, while CNTV_CTL_EL0 has ENABLE set and IMASK clear,
 * holds its PPI (the device tree's virtual timer interrupt, 27 on QEMU virt) asserted
 * once the count has reached it: deadlines are absolute counts, so there is nothing
 * to calibrate. The interrupt is level-sensitive: it stays asserted until the timer
 * is re-armed into the future or disabled. So the interrupt path disables it before
 * the kernel's handler runs (arm64_timer_fired), and the handler re-arms it or not;
 * a timer nobody re-arms stays quiet. Context: interrupts off (per-CPU registers).
 */
#include <stdio.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include "arm64.h"

#define CNTV_CTL_ENABLE		(1ull << 0)
#define CNTV_CTL_IMASK		(1ull << 1)
#define CNTV_CTL_ISTATUS	(1ull << 2)

/* Boot CPU: the counter must tick; the timer starts disarmed. */
int arch_timer_init(char *err, size_t errlen)
{
	if (!arch_cycles_freq()) {
		snprintf(err, errlen, "timer: CNTFRQ_EL0 is 0 (the firmware did not set the counter frequency)");
		return -1;
	}
	WRITE_SYSREG(cntv_ctl_el0, 0);
	__asm__ volatile("isb" : : : "memory");
	return 0;
}

/* Deadline in CNTVCT_EL0 counts; 0 disarms. */
void arch_timer_set(uint64_t deadline)
{
	if (!deadline) {
		WRITE_SYSREG(cntv_ctl_el0, 0);
	} else {
		WRITE_SYSREG(cntv_cval_el0, deadline);
		WRITE_SYSREG(cntv_ctl_el0, CNTV_CTL_ENABLE);
	}
	__asm__ volatile("isb" : : : "memory");
}

/* The timer's interrupt arrived: did it really fire? If so, disable the timer (which
 * drops the level-sensitive line). If not (it was re-armed later, or disarmed, after
 * the GIC had taken the interrupt), leave it as it is: disabling it would lose the
 * deadline it is armed for now. */
bool arm64_timer_fired(void)
{
	uint64_t ctl = READ_SYSREG(cntv_ctl_el0);

	if ((ctl & (CNTV_CTL_ENABLE | CNTV_CTL_IMASK | CNTV_CTL_ISTATUS)) !=
	    (CNTV_CTL_ENABLE | CNTV_CTL_ISTATUS))
		return false;
	WRITE_SYSREG(cntv_ctl_el0, 0);
	__asm__ volatile("isb" : : : "memory");
	return true;
}
