/*
 * tests/boot/halting.h: wait for the other CPUs to go to sleep, for the tests of
 * what a stop-the-world does with CPUs asleep in the scheduler's idle halt (claims
 * them, kernel/stw.c: stw_test.c, gc_test.c).
 *
 * test_wait_others_halting(): until every other online CPU's scheduler says it is
 * halting (rt/sched.h, p->halting), at most 100 ms: an idle CPU spins 20 us first, and
 * on a loaded host its thread may wait milliseconds for a core; then 100 us more, from
 * the flag to the halt itself. Goroutine context; it spins, so the caller's CPU stays
 * awake.
 */
#ifndef TESTS_BOOT_HALTING_H
#define TESTS_BOOT_HALTING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <rt/sched.h>

static inline void test_wait_others_halting(void)
{
	uint64_t start = clock_ns();
	for (bool all = false; !all && clock_ns() - start < 100000000;) {
		all = true;
		for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
			if (i != cpu_id() && atomic_load(&cpus[i].online) &&
			    !__atomic_load_n(&allp[i].halting, __ATOMIC_RELAXED))
				all = false;
	}
	for (uint64_t t = clock_ns(); clock_ns() - t < 100000;)
		;
}

#endif
