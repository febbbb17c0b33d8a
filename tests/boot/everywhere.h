/*
 * tests/boot/everywhere.h: run a function on every online CPU at once, for the SMP
 * suites (smp_test.c, stack_test.c).
 *
 * test_run_everywhere(fn, arg, wait_ns): fn(arg) on every online secondary CPU in
 * normal context (smp_run_on) and on the calling CPU, then wait up to wait_ns for each
 * secondary to finish; a CPU that cannot take the call or does not finish in time
 * fails the running test (EXPECT). Boot CPU, before the scheduler.
 */
#ifndef TESTS_BOOT_EVERYWHERE_H
#define TESTS_BOOT_EVERYWHERE_H

#include <stdatomic.h>
#include <stdint.h>
#include <kernel/cpu.h>
#include <kernel/smp.h>
#include <kernel/test.h>

static inline void test_run_everywhere(void (*fn)(void *), void *arg, uint64_t wait_ns)
{
	for (unsigned i = 1; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online))
			EXPECT_EQ(smp_run_on(i, fn, arg), 0);
	fn(arg);
	for (unsigned i = 1; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online))
			EXPECT_EQ(smp_run_wait(i, wait_ns), 0);
}

#endif
