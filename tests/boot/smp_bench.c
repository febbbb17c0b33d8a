/*
 * tests/boot/smp_bench.c: the SMP primitives' costs, as BENCH lines (tests=bench).
 *
 * Not timed tests: nothing here fails on a slow figure. Each figure is the median of
 * BENCH_N samples, in nanoseconds of clock_ns(); the self-IPI is measured in the same
 * run as the reference the cross-CPU figures are read against (ratio printed).
 *   ipi_self_ns        send a RESCHEDULE to oneself, until its handler ran
 *   ipi_oneway_ns      send a CALL to CPU 1, until its handler started (clock read there)
 *   ipi_roundtrip_ns   synchronous empty cross-call to CPU 1, there and back
 *   stw_ns             stop_the_world(empty): request, all stopped, all released
 *   stw_all_ns         stop_the_world_all(empty): the same, with the empty fn run on
 *                      every CPU (one more broadcast: "go")
 *   timer_latency_ns   timer armed 100 us ahead: deadline to handler
 *   timer_irq_ns       timer armed in the past: arm to handler (one interrupt's cost)
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/stw.h>
#include <kernel/test.h>

#define BENCH_N 301

static uint64_t samples[BENCH_N];

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(void)
{
	qsort(samples, BENCH_N, sizeof(samples[0]), cmp_u64);
	return samples[BENCH_N / 2];
}

/* "BENCH name ns" and, against the self-IPI of the same run, "BENCH name_vs_self ratio x". */
static void bench_line(const char *name, uint64_t ns, uint64_t ref)
{
	kprintf("BENCH %s %llu ns\n", name, (unsigned long long)ns);
	if (ref)
		kprintf("BENCH %s_vs_self %.2f x\n", name, (double)ns / (double)ref);
}

static uint64_t wait_change(_Atomic uint64_t *v, uint64_t old)
{
	uint64_t start = clock_ns();
	while (atomic_load_explicit(v, memory_order_acquire) == old)
		if (clock_ns() - start > 1000000000ull)
			return 0;
	return clock_ns();
}

static _Atomic uint64_t arrived_at;

static void note_arrival(void *arg)
{
	(void)arg;
	atomic_store_explicit(&arrived_at, clock_ns(), memory_order_release);
}

static void nothing(void *arg)
{
	(void)arg;
}

static _Atomic uint64_t timer_at;

static void timer_note(struct arch_frame *f)
{
	atomic_store_explicit(&timer_at, clock_ns(), memory_order_release);
}

TEST_EXPLICIT(bench, smp_primitives)
{
	struct cpu *self = cpu_this();

	for (int i = 0; i < BENCH_N; i++) {
		uint64_t old = atomic_load(&self->irqs[IPI_RESCHEDULE]);
		uint64_t t0 = clock_ns();
		arch_ipi_send(self->hwid, IPI_RESCHEDULE);
		uint64_t t1 = wait_change(&self->irqs[IPI_RESCHEDULE], old);
		samples[i] = t1 ? t1 - t0 : UINT64_MAX;
	}
	uint64_t self_ns = median();
	bench_line("ipi_self_ns", self_ns, 0);

	if (cpu_count() >= 2) {
		for (int i = 0; i < BENCH_N; i++) {
			atomic_store(&arrived_at, 0);
			uint64_t t0 = clock_ns();
			ipi_call(1, note_arrival, NULL, false);
			uint64_t t1 = wait_change(&arrived_at, 0);
			samples[i] = t1 ? atomic_load(&arrived_at) - t0 : UINT64_MAX;
		}
		bench_line("ipi_oneway_ns", median(), self_ns);
		for (int i = 0; i < BENCH_N; i++) {
			uint64_t t0 = clock_ns();
			ipi_call(1, nothing, NULL, true);
			samples[i] = clock_ns() - t0;
		}
		bench_line("ipi_roundtrip_ns", median(), self_ns);
	}

	for (int i = 0; i < BENCH_N; i++) {
		uint64_t t0 = clock_ns();
		stop_the_world(nothing, NULL);
		samples[i] = clock_ns() - t0;
	}
	bench_line("stw_ns", median(), self_ns);
	for (int i = 0; i < BENCH_N; i++) {
		uint64_t t0 = clock_ns();
		stop_the_world_all(nothing, NULL);
		samples[i] = clock_ns() - t0;
	}
	bench_line("stw_all_ns", median(), self_ns);

	clock_timer_set_handler(timer_note);
	for (int i = 0; i < BENCH_N; i++) {
		atomic_store(&timer_at, 0);
		irq_push();
		uint64_t deadline = clock_ns() + 100000;
		clock_timer_arm(deadline);
		irq_pop();
		uint64_t t1 = wait_change(&timer_at, 0);
		samples[i] = t1 && atomic_load(&timer_at) >= deadline ? atomic_load(&timer_at) - deadline : 0;
	}
	bench_line("timer_latency_ns", median(), 0);
	for (int i = 0; i < BENCH_N; i++) {
		atomic_store(&timer_at, 0);
		irq_push();
		uint64_t t0 = clock_ns();
		clock_timer_arm(t0 > 1000 ? t0 - 1000 : 0);
		irq_pop();
		uint64_t t1 = wait_change(&timer_at, 0);
		samples[i] = t1 ? atomic_load(&timer_at) - t0 : UINT64_MAX;
	}
	bench_line("timer_irq_ns", median(), self_ns);
	clock_timer_set_handler(NULL);
	EXPECT_TRUE(self_ns != UINT64_MAX);
}
