/*
 * arch/host/timer.c: the cycle counter and the per-CPU one-shot timer.
 *
 * arch_cycles() is CLOCK_MONOTONIC in nanoseconds (ops_impl.h), so its frequency is
 * 1 GHz exactly and needs no calibration; every CPU thread reads the same clock.
 *
 * Each CPU owns a POSIX timer on CLOCK_MONOTONIC whose expiry sends SIG_TIMER to that
 * CPU's thread alone (SIGEV_THREAD_ID). arch_timer_set arms it with an absolute
 * deadline (TIMER_ABSTIME), which Linux fires at once if it has passed, and never
 * before it. A SIG_TIMER may still be stale when it is handled: one that was
 * generated, then the timer was disarmed or re-armed later before the handler looked
 * (the signal stays pending through timer_settime). So the handler delivers IRQ_TIMER
 * only when a deadline is armed and has passed, as the x86-64 port checks the TSC.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include "host.h"

uint64_t arch_cycles_freq(void)
{
	return 1000000000ull;
}

void arch_cycles_init(uint32_t pm_timer_port)
{
	(void)pm_timer_port;
}

int host_timer_create(struct host_cpu *c)
{
	struct sigevent sev = { 0 };
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIG_TIMER;
	sev._sigev_un._tid = c->tid;
	return timer_create(CLOCK_MONOTONIC, &sev, &c->timer);
}

int arch_timer_init(char *err, size_t errlen)
{
	(void)err, (void)errlen;	/* nothing to calibrate; the timer exists already */
	return 0;
}

bool host_timer_due(struct host_cpu *c)
{
	return c->deadline && arch_cycles() >= c->deadline;
}

/* Interrupts off, this CPU. */
void arch_timer_set(uint64_t deadline)
{
	struct host_cpu *c = host_this_cpu;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (!c)
		return;
	c->deadline = deadline;
	if (deadline) {
		its.it_value.tv_sec = (time_t)(deadline / 1000000000u);
		its.it_value.tv_nsec = (long)(deadline % 1000000000u);
	}
	int saved_errno = errno;
	if (timer_settime(c->timer, TIMER_ABSTIME, &its, NULL) != 0)
		host_fatal("cpu %llu: timer_settime: %s", (unsigned long long)host_hwid,
			   strerror(errno));
	errno = saved_errno;
}
