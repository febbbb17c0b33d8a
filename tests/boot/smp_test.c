/*
 * tests/boot/smp_test.c: every core online, clocks, timers, IPIs, stop-the-world,
 * spinlocks, TLB shootdown. Run at -smp 1, 2, 4 and 8 by the boot matrix; each test
 * holds at any core count (with one CPU the cross-CPU parts have nobody to talk to
 * and check exactly that).
 */
#include <stdatomic.h>
#include <string.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <arch/noscan.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/pmm.h>
#include <kernel/smp.h>
#include <kernel/spinlock.h>
#include <kernel/stw.h>
#include <kernel/test.h>
#include <kernel/vm.h>
#include "probe.h"
#include "everywhere.h"

#define WAIT_NS (10ull * 1000 * 1000 * 1000)

/* Run fn on every online CPU at once, then wait (tests/boot/everywhere.h). */
static void run_everywhere(void (*fn)(void *), void *arg)
{
	test_run_everywhere(fn, arg, WAIT_NS);
}

TEST(smp, all_described_cpus_online)
{
	/* the runner gives QEMU -smp N and checks "smp: N of N" in the log too */
	EXPECT_EQ(cpu_count(), cpus_described);
	EXPECT_TRUE(cpu_count() >= 1);
	unsigned online = 0;
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		if (!atomic_load(&cpus[i].online))
			continue;
		online++;
		EXPECT_EQ(cpus[i].id, i);
		EXPECT_TRUE(cpus[i].self == &cpus[i]);
		for (unsigned j = 0; j < i; j++)
			if (atomic_load(&cpus[j].online))
				EXPECT_NE(cpus[i].hwid, cpus[j].hwid);
	}
	EXPECT_EQ(online, cpu_count());
}

static void whoami(void *arg)
{
	_Atomic uint64_t *seen = arg;
	struct cpu *c = cpu_this();
	/* the per-CPU pointer and the hardware agree on who we are */
	if (c->self == c && c->hwid == arch_cpu_hwid())
		atomic_fetch_or(seen, 1ull << c->id);
}

TEST(smp, percpu_pointer_on_every_cpu)
{
	_Atomic uint64_t seen = 0;
	run_everywhere(whoami, &seen);
	uint64_t want = 0;
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online))
			want |= 1ull << i;
	EXPECT_EQ(seen, want);
}

struct mono {
	_Atomic unsigned bad;
	_Atomic unsigned ran;
};

static void monotonic_loop(void *arg)
{
	struct mono *m = arg;
	uint64_t prev = clock_ns();
	for (int i = 0; i < 20000; i++) {
		uint64_t now = clock_ns();
		if (now < prev)
			atomic_fetch_add(&m->bad, 1);
		prev = now;
	}
	atomic_fetch_add(&m->ran, 1);
}

TEST(clock, monotonic_on_every_cpu)
{
	struct mono m = { 0, 0 };
	run_everywhere(monotonic_loop, &m);
	EXPECT_EQ(m.ran, cpu_count());
	EXPECT_EQ(m.bad, 0);
	/* and it converts at the calibrated rate: N cycles read back-to-back with the
	 * clock are N / freq seconds of clock (exact arithmetic, whatever the host's load;
	 * the slack is the reads' own distance, bounded by taking the tighter of 5 tries) */
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		irq_push();
		uint64_t c0 = arch_cycles(), t0 = clock_ns();
		for (volatile int k = 0; k < 100000; k++)
			;
		uint64_t t1 = clock_ns(), c1 = arch_cycles();
		irq_pop();
		uint64_t want = (uint64_t)((unsigned __int128)(c1 - c0) * 1000000000u / arch_cycles_freq());
		uint64_t got = t1 - t0;
		uint64_t err = got > want ? got - want : want - got;
		if (err < best)
			best = err;
		EXPECT_TRUE(got <= want + 1000);	/* the clock's span lies inside the cycles' */
	}
	EXPECT_TRUE(best < 50000);
}

static void read_clock(void *arg)
{
	*(uint64_t *)arg = clock_ns();
}

/*
 * Cross-CPU agreement: CPU 0 reads t0, CPU k reads tk inside a synchronous cross-call,
 * CPU 0 reads t1. With synchronised counters, t0 <= tk <= t1; CLOCK_SKEW_NS is the
 * stated bound on how far outside that window tk may fall.
 */
#define CLOCK_SKEW_NS 100000ull

TEST(clock, agrees_across_cpus)
{
	for (unsigned k = 1; k < ARCH_MAX_CPUS; k++) {
		if (!atomic_load(&cpus[k].online))
			continue;
		for (int rep = 0; rep < 20; rep++) {
			uint64_t tk = 0, t0 = clock_ns();
			ipi_call(k, read_clock, &tk, true);
			uint64_t t1 = clock_ns();
			EXPECT_TRUE(tk + CLOCK_SKEW_NS >= t0);
			EXPECT_TRUE(tk <= t1 + CLOCK_SKEW_NS);
		}
	}
}

static _Atomic uint64_t timer_hits[ARCH_MAX_CPUS];

static void count_timer(struct arch_frame *f)
{
	atomic_fetch_add(&timer_hits[cpu_id()], 1);
}

static void arm_and_wait(void *arg)
{
	(void)arg;
	uint64_t before = atomic_load(&timer_hits[cpu_id()]);
	irq_push();
	clock_timer_arm(clock_ns() + 2000000);	/* 2 ms */
	irq_pop();
	uint64_t start = clock_ns();
	while (atomic_load(&timer_hits[cpu_id()]) == before && clock_ns() - start < WAIT_NS)
		arch_cpu_relax();	/* interrupts on: the timer interrupt lands here */
}

TEST(timer, fires_on_every_cpu)
{
	memset(timer_hits, 0, sizeof(timer_hits));
	clock_timer_set_handler(count_timer);
	uint64_t t0 = clock_ns();
	run_everywhere(arm_and_wait, NULL);
	uint64_t took = clock_ns() - t0;
	clock_timer_set_handler(NULL);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online))
			EXPECT_EQ(atomic_load(&timer_hits[i]), 1);	/* once: one-shot */
	EXPECT_TRUE(took >= 2000000);	/* not before its deadline */
}

TEST(timer, past_deadline_fires_at_once)
{
	memset(timer_hits, 0, sizeof(timer_hits));
	clock_timer_set_handler(count_timer);
	irq_push();
	clock_timer_arm(clock_ns() > 1000 ? clock_ns() - 1000 : 0);
	irq_pop();
	uint64_t start = clock_ns();
	while (!atomic_load(&timer_hits[0]) && clock_ns() - start < WAIT_NS)
		arch_cpu_relax();
	clock_timer_set_handler(NULL);
	EXPECT_EQ(atomic_load(&timer_hits[0]), 1);	/* fired (not taken as "disarm"), once */
}

/* IPI storm: every CPU sends CALLs to every other, synchronous and not, at once.
 * Rounds shrink with the core count so the total stays bounded under emulation. */
#define STORM_CALLS 3000
static unsigned storm_rounds;
static _Atomic uint32_t storm_count[ARCH_MAX_CPUS][ARCH_MAX_CPUS];	/* [target][source] */
NOSCAN(storm_count);

static void storm_hit(void *arg)
{
	unsigned src = (unsigned)(uintptr_t)arg;
	atomic_fetch_add(&storm_count[cpu_id()][src], 1);
}

static void storm(void *arg)
{
	(void)arg;
	unsigned me = cpu_id();
	for (unsigned r = 0; r < storm_rounds; r++)
		for (unsigned t = 0; t < ARCH_MAX_CPUS; t++)
			if (t != me && atomic_load(&cpus[t].online))
				ipi_call(t, storm_hit, (void *)(uintptr_t)me, r & 1);
}

TEST(ipi, storm_counts_exact)
{
	memset(storm_count, 0, sizeof(storm_count));
	unsigned n = cpu_count();
	storm_rounds = n > 1 ? STORM_CALLS / (n * (n - 1)) + 1 : 1;
	run_everywhere(storm, NULL);
	/* asynchronous calls may still be in flight: a synchronous round-trip to each CPU
	 * drains its queue (FIFO per sender) */
	for (unsigned t = 1; t < ARCH_MAX_CPUS; t++)
		if (atomic_load(&cpus[t].online))
			ipi_call(t, storm_hit, (void *)(uintptr_t)ARCH_MAX_CPUS - 1, true);
	for (unsigned t = 0; t < ARCH_MAX_CPUS; t++) {
		if (!atomic_load(&cpus[t].online))
			continue;
		for (unsigned s = 0; s < ARCH_MAX_CPUS; s++) {
			if (!atomic_load(&cpus[s].online) || s == t)
				continue;
			EXPECT_EQ(atomic_load(&storm_count[t][s]), storm_rounds);
		}
	}
}

TEST(ipi, reschedule_wakes_idle_cpu)
{
	for (unsigned i = 1; i < ARCH_MAX_CPUS; i++) {
		if (!atomic_load(&cpus[i].online))
			continue;
		uint64_t before = atomic_load(&cpus[i].irqs[IPI_RESCHEDULE]);
		ipi_reschedule(i);
		uint64_t start = clock_ns();
		while (atomic_load(&cpus[i].irqs[IPI_RESCHEDULE]) == before && clock_ns() - start < WAIT_NS)
			arch_cpu_relax();
		EXPECT_EQ(atomic_load(&cpus[i].irqs[IPI_RESCHEDULE]), before + 1);
	}
}

/* Spinlock contention: every CPU adds to one counter under one lock. */
#define LOCK_ROUNDS 20000
static struct spinlock contended = SPINLOCK_INIT("test_contended", LOCK_RANK_NONE);
static uint64_t contended_count;	/* guarded by contended */

static void lock_loop(void *arg)
{
	(void)arg;
	for (int i = 0; i < LOCK_ROUNDS; i++) {
		spin_lock_irqsave(&contended);
		contended_count++;
		spin_unlock_irqrestore(&contended);
	}
}

TEST(spinlock, contended_counter_exact)
{
	contended_count = 0;
	run_everywhere(lock_loop, NULL);
	EXPECT_EQ(contended_count, (uint64_t)LOCK_ROUNDS * cpu_count());
}

TEST(spinlock, irqsave_nests)
{
	static struct spinlock a = SPINLOCK_INIT("test_outer", LOCK_RANK_TEST_OUTER);
	static struct spinlock b = SPINLOCK_INIT("test_inner", LOCK_RANK_TEST_INNER);
	EXPECT_TRUE(arch_irq_enabled());
	spin_lock_irqsave(&a);
	spin_lock_irqsave(&b);
	EXPECT_TRUE(spin_held(&a) && spin_held(&b));
	EXPECT_EQ(cpu_this()->nlocks, 2);
	spin_unlock_irqrestore(&b);
	EXPECT_TRUE(!arch_irq_enabled());	/* still inside a */
	spin_unlock_irqrestore(&a);
	EXPECT_TRUE(arch_irq_enabled());
	EXPECT_EQ(cpu_this()->nlocks, 0);
}

/* Taking locks against the rank table panics, naming both (tests=lockorder). */
TEST_EXPLICIT(lockorder, inverted_ranks_panic)
{
	static struct spinlock a = SPINLOCK_INIT("test_outer", LOCK_RANK_TEST_OUTER);
	static struct spinlock b = SPINLOCK_INIT("test_inner", LOCK_RANK_TEST_INNER);
	spin_lock_irqsave(&b);
	spin_lock_irqsave(&a);
	test_fail(__FILE__, __LINE__, "taking test_outer under test_inner did not panic");
}

/* Stop-the-world: every CPU calls it repeatedly at once (STW_STOPS in all, split
 * between the CPUs, at least 5 each, so that the calls really overlap). */
#define STW_STOPS 120
static unsigned stw_rounds;
static uint64_t stw_hits;		/* written only with the world stopped */
static _Atomic unsigned stw_bad;

static void stw_fn(void *arg)
{
	(void)arg;
	stw_hits++;	/* a plain increment: exact only if nobody else runs */
	/* every other online CPU is parked in its stop handler */
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online) && &cpus[i] != cpu_this() &&
		    atomic_load(&cpus[i].stop_pending))
			atomic_fetch_add(&stw_bad, 1);
}

static void stw_loop(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < stw_rounds; i++)
		stop_the_world(stw_fn, NULL);
}

TEST(stw, all_cpus_at_once)
{
	stw_hits = 0;
	atomic_store(&stw_bad, 0);
	uint64_t before = atomic_load(&stw_count);
	stw_rounds = STW_STOPS / cpu_count() > 5 ? STW_STOPS / cpu_count() : 5;
	run_everywhere(stw_loop, NULL);
	EXPECT_EQ(stw_hits, (uint64_t)stw_rounds * cpu_count());
	EXPECT_EQ(atomic_load(&stw_count) - before, (uint64_t)stw_rounds * cpu_count());
	EXPECT_EQ(atomic_load(&stw_bad), 0);
}

/* A CPU with interrupts off delays the stop until it turns them back on. */
static _Atomic bool held_started;
static _Atomic uint64_t held_until;

static void hold_irqs_off(void *arg)
{
	uint64_t ns = (uint64_t)(uintptr_t)arg;
	irq_push();
	atomic_store(&held_started, true);
	uint64_t end = clock_ns() + ns;
	while (clock_ns() < end)
		arch_cpu_relax();	/* no ipi_poll: deaf to STOP */
	atomic_store(&held_until, clock_ns());
	irq_pop();
}

static uint64_t stw_ran_at;

static void note_time(void *arg)
{
	(void)arg;
	stw_ran_at = clock_ns();
}

TEST(stw, waits_for_cpu_with_interrupts_off)
{
	if (cpu_count() < 2) {
		EXPECT_EQ(cpu_count(), 1);	/* nothing to wait for: the stop is immediate */
		stop_the_world(note_time, NULL);
		EXPECT_TRUE(stw_ran_at != 0);
		return;
	}
	atomic_store(&held_started, false);
	atomic_store(&held_until, 0);
	ASSERT_TRUE(smp_run_on(1, hold_irqs_off, (void *)(uintptr_t)200000000) == 0);	/* 200 ms */
	uint64_t start = clock_ns();
	while (!atomic_load(&held_started) && clock_ns() - start < WAIT_NS)
		arch_cpu_relax();
	ASSERT_TRUE(atomic_load(&held_started));
	stop_the_world(note_time, NULL);
	EXPECT_TRUE(atomic_load(&held_until) != 0);
	EXPECT_TRUE(stw_ran_at >= atomic_load(&held_until));
	EXPECT_EQ(smp_run_wait(1, WAIT_NS), 0);
}

/* A CPU that never answers: the named panic (tests=stw_dead, at -smp 2 or more). */
static void deaf_forever(void *arg)
{
	(void)arg;
	irq_push();
	atomic_store(&held_started, true);
	for (;;)
		arch_cpu_relax();
}

TEST_EXPLICIT(stw_dead, unresponsive_cpu_panics)
{
	ASSERT_TRUE(cpu_count() >= 2);
	atomic_store(&held_started, false);
	ASSERT_TRUE(smp_run_on(1, deaf_forever, NULL) == 0);
	while (!atomic_load(&held_started))
		arch_cpu_relax();
	ipi_wait_ns = 300000000;	/* 300 ms */
	stop_the_world(note_time, NULL);
	test_fail(__FILE__, __LINE__, "stop-the-world returned with cpu 1 deaf");
}

/* A CPU that stops but never returns from the stop's function: the panic names it
 * from its own "in fn" mark (tests=stw_stuck, at -smp 2: kernel/stw.c wait_count). */
static void stuck_unless_owner(void *arg)
{
	(void)arg;
	if (stw_stop_point() == STW_OWNER)
		return;
	for (;;)
		arch_cpu_relax();
}

TEST_EXPLICIT(stw_stuck, cpu_stuck_in_fn_panics)
{
	ASSERT_TRUE(cpu_count() == 2);
	ASSERT_TRUE(cpu_id() == 0);	/* so the stuck one is cpu 1 */
	ipi_wait_ns = 300000000;	/* 300 ms */
	stop_the_world_all(stuck_unless_owner, NULL);
	test_fail(__FILE__, __LINE__, "stop_the_world_all returned with cpu 1 stuck in its function");
}

/* TLB shootdown: a page unmapped on one CPU faults when touched afterwards on another. */
TEST(tlb, shootdown_unmaps_everywhere)
{
	uint64_t pa = page_alloc();
	ASSERT_TRUE(pa != 0);
	*(uint64_t *)phys_to_virt(pa) = 0x5eed;
	/* a window of its own (vm_map_phys never reuses one), mapped under the vm lock */
	uint64_t va = (uint64_t)vm_map_phys(pa, PAGE_SIZE, false);
	ASSERT_TRUE(va != 0);
	/* every CPU reads it: their TLBs now hold the translation */
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		if (!atomic_load(&cpus[i].online))
			continue;
		struct probe p = { va, -2, 0 };
		ipi_call(i, probe_on, &p, true);
		EXPECT_EQ(p.rc, 0);
		EXPECT_EQ(p.val, 0x5eed);
	}
	vm_lock();
	EXPECT_EQ(arch_mmu_unmap(va, PAGE_SIZE), 1);
	vm_unlock();
	tlb_shootdown(va, PAGE_SIZE);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		if (!atomic_load(&cpus[i].online))
			continue;
		struct probe p = { va, -2, 0 };
		ipi_call(i, probe_on, &p, true);
		EXPECT_EQ(p.rc, -1);	/* faulted: no stale translation anywhere */
	}
	page_free(pa);
}
