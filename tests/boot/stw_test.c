/*
 * tests/boot/stw_test.c: stop_the_world_all and the halted participants (suite stw,
 * part of tests=all, so it runs at 1, 2, 4 and 8 CPUs on every arch; the matrix also
 * runs tests=stw alone). The plain stop's own tests are in smp_test.c.
 *
 *   - arch_wait_for_ipi with an IPI pending before the call returns (no lost wake-up),
 *     having run its handler, and leaves a due timer pending for later;
 *   - stop_the_world_all runs fn exactly once on every online CPU per stop, all of
 *     them inside fn at once (a counter barrier inside fn that would hang if one were
 *     missing: bounded, a failure with a message instead), interrupts off, the stop
 *     points as documented (one owner per stop), and on no CPU before every other
 *     one has taken the stop (fn starts without a word from the owner);
 *   - stop_the_world_all_early runs early once per stop, on the owner, before any CPU
 *     runs fn, and post once, after all returned;
 *   - every CPU calling stop_the_world_all and stop_the_world at once, repeatedly:
 *     exact counts of stops, of fn runs, and of owners;
 *   - a participant halted in a stop answers a cross-call while halted (a third CPU,
 *     not the stop's fn, sends it: fn must not cross-call);
 *   - timers that expire while their CPU is stopped are delivered after the release,
 *     not during the stop;
 *   - CPUs asleep in the scheduler's idle halt are claimed by a stop, not woken (no
 *     STOP IPI, stw_cpus() without them), and one woken during the stop waits for
 *     the release before its interrupt's handler runs;
 *   - tests=stw_panic ends the boot on purpose: a panic inside a stop, whose dump must
 *     walk the goroutine of a CPU halted in the stop (the panic's IPI stops it there).
 *
 * The barriers spin at most BARRIER_NS; after one failed, the rest of a test skips
 * them (the counts then say what went wrong) so a broken stop costs seconds, not
 * minutes.
 */
#include <stdatomic.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/panic.h>
#include <kernel/smp.h>
#include <kernel/stw.h>
#include <kernel/test.h>
#include <rt/gc.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include "everywhere.h"
#include "halting.h"

#define WAIT_NS    (10ull * 1000 * 1000 * 1000)
#define BARRIER_NS (5ull * 1000 * 1000 * 1000)

/* Run fn on every online CPU at once, then wait (tests/boot/everywhere.h). */
static void run_everywhere(void (*fn)(void *), void *arg)
{
	test_run_everywhere(fn, arg, WAIT_NS);
}

/*
 * A barrier for the CPUs of one stop that never needs resetting: stops are serial and
 * each adds exactly stw_cpus() arrivals, so stop k's tickets are [k*n, (k+1)*n) and
 * its CPUs wait until the count reaches the end of that range. False after
 * BARRIER_NS (a CPU missing), and then the barrier is off for the rest of the test.
 */
static _Atomic uint64_t barrier_count;
static _Atomic bool barrier_broken;

static bool barrier(unsigned n)
{
	uint64_t t = atomic_fetch_add(&barrier_count, 1);
	uint64_t end = t - t % n + n, start = clock_ns();
	while (atomic_load(&barrier_count) < end) {
		if (atomic_load(&barrier_broken))
			return false;
		if (clock_ns() - start > BARRIER_NS) {
			atomic_store(&barrier_broken, true);
			return false;
		}
		arch_cpu_relax();
	}
	return true;
}

static void barrier_reset(void)
{
	atomic_store(&barrier_count, 0);
	atomic_store(&barrier_broken, false);
}

/* ---- the arch's wait ------------------------------------------------------------ */

/*
 * arch_wait_for_ipi with an IPI already pending (sent to this CPU with interrupts
 * off, as a release can arrive between a participant's check and its halt) returns,
 * having run the IPI's handler once; a timer that is due meanwhile is not taken
 * inside it, but as soon as interrupts are on. A lost wake-up would hang here (the
 * runner's timeout).
 */
static _Atomic uint32_t wait_timer_hits;

static void wait_count_timer(struct arch_frame *f)
{
	(void)f;
	atomic_fetch_add(&wait_timer_hits, 1);
}

TEST(stw, wait_for_ipi_takes_a_pending_ipi_only)
{
	struct cpu *c = cpu_this();
	atomic_store(&wait_timer_hits, 0);
	clock_timer_set_handler(wait_count_timer);
	irq_push();
	uint64_t before = atomic_load(&c->irqs[IPI_RESCHEDULE]);
	clock_timer_arm(clock_ns() > 1000 ? clock_ns() - 1000 : 0);	/* due: pending */
	arch_ipi_send(c->hwid, IPI_RESCHEDULE);
	uint64_t start = clock_ns();
	while (clock_ns() - start < 1000000)
		arch_cpu_relax();	/* both pending by now, interrupts off */
	for (int i = 0; i < 100 && atomic_load(&c->irqs[IPI_RESCHEDULE]) == before; i++)
		arch_wait_for_ipi();
	EXPECT_EQ(atomic_load(&c->irqs[IPI_RESCHEDULE]) - before, 1);
	EXPECT_EQ(atomic_load(&wait_timer_hits), 0);
	EXPECT_TRUE(!arch_irq_enabled());
	irq_pop();
	start = clock_ns();
	while (!atomic_load(&wait_timer_hits) && clock_ns() - start < WAIT_NS)
		arch_cpu_relax();	/* interrupts on: the held timer now */
	clock_timer_set_handler(NULL);
	EXPECT_EQ(atomic_load(&wait_timer_hits), 1);
}

/* ---- fn on every CPU, all at once ------------------------------------------------ */

/* Rounds shrink with the core count: under TCG, CPUs spinning in fn at once share two
 * host cores, so each all-stop with a barrier costs milliseconds at 8 vCPUs. */
#define ALL_STOPS 80
static unsigned all_rounds;
static _Atomic uint32_t all_hits[ARCH_MAX_CPUS];
static _Atomic unsigned all_owner, all_irqs_on, all_bad_point, all_bad_ncpus, all_missed, all_early_start;

/* Another online CPU has not taken the stop yet (it clears stop_pending as it does). */
static bool others_still_running(void)
{
	for (unsigned i = 0; i < cpu_ids_end; i++)
		if (atomic_load(&cpus[i].online) && &cpus[i] != cpu_this() &&
		    atomic_load(&cpus[i].stop_pending))
			return true;
	return false;
}

static void all_fn(void *arg)
{
	(void)arg;
	enum stw_stop_point where = stw_stop_point();
	atomic_fetch_add(&all_hits[cpu_id()], 1);
	if (arch_irq_enabled())
		atomic_fetch_add(&all_irqs_on, 1);
	if (where == STW_OWNER)
		atomic_fetch_add(&all_owner, 1);
	else if (where != STW_STOPPED_IRQ && where != STW_STOPPED_WAIT)
		atomic_fetch_add(&all_bad_point, 1);
	if (stw_cpus() != cpu_count())
		atomic_fetch_add(&all_bad_ncpus, 1);
	if (others_still_running())
		atomic_fetch_add(&all_early_start, 1);
	if (!barrier(stw_cpus()))	/* everyone inside fn at the same time */
		atomic_fetch_add(&all_missed, 1);
}

TEST(stw, all_runs_fn_on_every_cpu_at_once)
{
	memset(all_hits, 0, sizeof(all_hits));
	atomic_store(&all_owner, 0);
	atomic_store(&all_irqs_on, 0);
	atomic_store(&all_bad_point, 0);
	atomic_store(&all_bad_ncpus, 0);
	atomic_store(&all_missed, 0);
	atomic_store(&all_early_start, 0);
	barrier_reset();
	all_rounds = ALL_STOPS / cpu_count() > 10 ? ALL_STOPS / cpu_count() : 10;
	uint64_t before = atomic_load(&stw_count);
	for (unsigned r = 0; r < all_rounds && !atomic_load(&barrier_broken); r++)
		stop_the_world_all(all_fn, NULL);
	if (atomic_load(&barrier_broken))
		test_fail(__FILE__, __LINE__, "barrier inside fn: not every CPU came within %llu ms",
			  (unsigned long long)(BARRIER_NS / 1000000));
	EXPECT_EQ(atomic_load(&stw_count) - before, all_rounds);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		EXPECT_EQ(atomic_load(&all_hits[i]), atomic_load(&cpus[i].online) ? all_rounds : 0);
	EXPECT_EQ(atomic_load(&all_owner), all_rounds);
	EXPECT_EQ(atomic_load(&all_irqs_on), 0);
	EXPECT_EQ(atomic_load(&all_bad_point), 0);
	EXPECT_EQ(atomic_load(&all_bad_ncpus), 0);
	EXPECT_EQ(atomic_load(&all_missed), 0);
	EXPECT_EQ(atomic_load(&all_early_start), 0);
	EXPECT_EQ(stw_stop_point(), STW_NONE);
}

/* ---- stop_the_world_all_early: its hooks' order ----------------------------------- */

static _Atomic unsigned early_runs, early_bad, early_in_fn, early_posts;
static unsigned early_owner;

static void early_hook(void *arg)
{
	(void)arg;
	atomic_fetch_add(&early_runs, 1);
	early_owner = cpu_id();
	if (stw_stop_point() != STW_OWNER || atomic_load(&early_in_fn))
		atomic_fetch_add(&early_bad, 1);	/* not the owner, or fn already begun */
}

static void early_fn(void *arg)
{
	(void)arg;
	atomic_fetch_add(&early_in_fn, 1);
	if (others_still_running())
		atomic_fetch_add(&early_bad, 1);
	if (!barrier(stw_cpus()))
		atomic_fetch_add(&early_bad, 1);
}

static void early_post(void *arg)
{
	(void)arg;
	atomic_fetch_add(&early_posts, 1);
	if (cpu_id() != early_owner || atomic_load(&early_in_fn) != stw_cpus())
		atomic_fetch_add(&early_bad, 1);	/* post before every fn returned */
}

TEST(stw, all_early_hooks_in_order)
{
	atomic_store(&early_runs, 0);
	atomic_store(&early_bad, 0);
	atomic_store(&early_posts, 0);
	barrier_reset();
	unsigned rounds = ALL_STOPS / cpu_count() > 10 ? ALL_STOPS / cpu_count() : 10;
	for (unsigned r = 0; r < rounds && !atomic_load(&barrier_broken); r++) {
		atomic_store(&early_in_fn, 0);
		irq_push();	/* one CPU: the owner is the caller */
		stop_the_world_all_early(early_hook, early_fn, NULL, early_post, NULL);
		bool mine = early_owner == cpu_id();
		irq_pop();
		EXPECT_TRUE(mine);
	}
	EXPECT_EQ(atomic_load(&early_runs), rounds);
	EXPECT_EQ(atomic_load(&early_posts), rounds);
	EXPECT_EQ(atomic_load(&early_bad), 0);
	EXPECT_EQ(stw_stop_point(), STW_NONE);
}

/* ---- every CPU stopping the world at once, both kinds ----------------------------- */

#define MIX_STOPS 48
static unsigned mix_rounds;
static uint64_t mix_all_owned, mix_plain_hits;	/* written by the owner, world stopped */
static _Atomic uint64_t mix_all_runs;
static _Atomic unsigned mix_bad;

static void mix_all_fn(void *arg)
{
	(void)arg;
	if (stw_stop_point() == STW_OWNER)
		mix_all_owned++;	/* plain: only the owner writes it, others are in fn */
	atomic_fetch_add(&mix_all_runs, 1);
	if (!barrier(stw_cpus()))
		atomic_fetch_add(&mix_bad, 1);
}

static void mix_plain_fn(void *arg)
{
	(void)arg;
	mix_plain_hits++;	/* exact only if nobody else runs */
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online) && &cpus[i] != cpu_this() &&
		    atomic_load(&cpus[i].stop_pending))
			atomic_fetch_add(&mix_bad, 1);	/* someone not stopped */
}

static void mix_loop(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < mix_rounds; i++) {
		stop_the_world_all(mix_all_fn, NULL);
		stop_the_world(mix_plain_fn, NULL);
	}
}

TEST(stw, all_and_plain_from_every_cpu_at_once)
{
	unsigned n = cpu_count();
	mix_rounds = MIX_STOPS / n > 5 ? MIX_STOPS / n : 5;
	mix_all_owned = mix_plain_hits = 0;
	atomic_store(&mix_all_runs, 0);
	atomic_store(&mix_bad, 0);
	barrier_reset();
	uint64_t before = atomic_load(&stw_count);
	run_everywhere(mix_loop, NULL);
	uint64_t stops = (uint64_t)mix_rounds * n;
	EXPECT_EQ(atomic_load(&stw_count) - before, 2 * stops);
	EXPECT_EQ(mix_all_owned, stops);
	EXPECT_EQ(mix_plain_hits, stops);
	EXPECT_EQ(atomic_load(&mix_all_runs), stops * n);
	EXPECT_EQ(atomic_load(&mix_bad), 0);
	EXPECT_TRUE(!atomic_load(&barrier_broken));
}

/* ---- a halted participant answers a cross-call ------------------------------------ */

/*
 * CPU 0 stops the world; CPU 2 (the sender), interrupts off, waits until CPU 1 (the
 * target) has taken its stop, then makes a synchronous cross-call to it: its wait
 * loop joins the stop, which therefore cannot end before the sender's call is queued.
 * The owner's fn (no cross-call of its own) waits, bounded, until the target answered:
 * only a participant that answers while halted lets it see that. The call records
 * where the target was: inside the stop.
 */
static _Atomic bool xc_answered, xc_sender_ready;
static _Atomic int xc_target_point;
static _Atomic uint64_t xc_waited;

static void xc_call(void *arg)
{
	(void)arg;
	atomic_store(&xc_target_point, stw_stop_point());
	atomic_store(&xc_answered, true);
}

static void xc_sender(void *arg)
{
	(void)arg;
	struct cpu *t = &cpus[1];
	irq_push();		/* deaf to the stop until the call's wait loop */
	atomic_store(&xc_sender_ready, true);
	uint64_t start = clock_ns();
	bool seen = false;
	while (clock_ns() - start < 1000000000ull) {	/* the target took its stop */
		bool p = atomic_load(&t->stop_pending);
		if (p)
			seen = true;
		else if (seen)
			break;
		arch_cpu_relax();
	}
	ipi_call(1, xc_call, NULL, true);
	irq_pop();
}

static void xc_owner_fn(void *arg)
{
	(void)arg;
	uint64_t start = clock_ns();
	while (!atomic_load(&xc_answered) && clock_ns() - start < 2000000000ull)
		arch_cpu_relax();
	atomic_store(&xc_waited, clock_ns() - start);
}

TEST(stw, halted_participant_answers_cross_call)
{
	if (cpu_count() < 3) {
		kprintf("stw: %u CPU(s): needs an owner, a sender and a target\n", cpu_count());
		return;
	}
	atomic_store(&xc_answered, false);
	atomic_store(&xc_sender_ready, false);
	atomic_store(&xc_target_point, -1);
	ASSERT_TRUE(smp_run_on(2, xc_sender, NULL) == 0);
	uint64_t start = clock_ns();
	while (!atomic_load(&xc_sender_ready) && clock_ns() - start < WAIT_NS)
		arch_cpu_relax();
	ASSERT_TRUE(atomic_load(&xc_sender_ready));
	stop_the_world(xc_owner_fn, NULL);
	EXPECT_TRUE(atomic_load(&xc_answered));
	EXPECT_EQ(atomic_load(&xc_target_point), STW_STOPPED_IRQ);
	EXPECT_EQ(smp_run_wait(2, WAIT_NS), 0);
	kprintf("stw: the halted target answered %llu us into the owner's fn\n",
		(unsigned long long)(atomic_load(&xc_waited) / 1000));
}

/* ---- timers that expire during a stop --------------------------------------------- */

/*
 * stop_the_world_all: every CPU arms its timer 2 ms ahead from inside fn; the owner
 * keeps the world stopped 30 ms more. The handler records whether its CPU was still in
 * the stop (it must not be: only IPIs get through a stopped CPU's halt) and whether it
 * ran before the owner's fn was over (it must not: that was during the stop).
 */
#define TIMER_AHEAD_NS 2000000
#define TIMER_STOP_NS  30000000
static _Atomic uint32_t tm_hits[ARCH_MAX_CPUS];
static _Atomic unsigned tm_in_stop, tm_early;
static _Atomic uint64_t tm_fn_end;

static void tm_handler(struct arch_frame *f)
{
	(void)f;
	if (stw_stop_point() != STW_NONE)
		atomic_fetch_add(&tm_in_stop, 1);
	uint64_t end = atomic_load(&tm_fn_end);
	if (!end || clock_ns() < end)
		atomic_fetch_add(&tm_early, 1);
	atomic_fetch_add(&tm_hits[cpu_id()], 1);
}

static void tm_fn(void *arg)
{
	(void)arg;
	clock_timer_arm(clock_ns() + TIMER_AHEAD_NS);
	if (stw_stop_point() == STW_OWNER) {
		uint64_t start = clock_ns();
		while (clock_ns() - start < TIMER_AHEAD_NS + TIMER_STOP_NS)
			arch_cpu_relax();
		atomic_store(&tm_fn_end, clock_ns());	/* the stop lasts at least until here */
	}
}

static void tm_wait(void *arg)
{
	(void)arg;
	uint64_t start = clock_ns();
	while (!atomic_load(&tm_hits[cpu_id()]) && clock_ns() - start < WAIT_NS)
		arch_cpu_relax();	/* interrupts on */
}

TEST(stw, timers_expiring_in_a_stop_come_after_it)
{
	memset(tm_hits, 0, sizeof(tm_hits));
	atomic_store(&tm_in_stop, 0);
	atomic_store(&tm_early, 0);
	atomic_store(&tm_fn_end, 0);
	clock_timer_set_handler(tm_handler);
	irq_push();		/* our own timer too waits until we turn interrupts on */
	stop_the_world_all(tm_fn, NULL);
	irq_pop();
	run_everywhere(tm_wait, NULL);
	clock_timer_set_handler(NULL);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		EXPECT_EQ(atomic_load(&tm_hits[i]), atomic_load(&cpus[i].online) ? 1 : 0);
	EXPECT_EQ(atomic_load(&tm_in_stop), 0);
	EXPECT_EQ(atomic_load(&tm_early), 0);
}

/* ---- CPUs asleep in the scheduler's idle halt: claimed, not woken ---------------- */

/*
 * With the other CPUs idle (no goroutine to run), a plain stop takes them asleep: no
 * STOP IPI reaches them, stw_idle_claims counts them, and fn runs with stw_cpus() == 1.
 * An idle CPU halts after spinning a few microseconds (rt/sched.c): each try waits
 * until the others' schedulers say they are halting, and there are up to CLAIM_TRIES
 * (one CPU's timer may wake it just then): passing needs one stop that claimed every
 * other CPU.
 */
#define CLAIM_TRIES 200
static unsigned claim_ncpus;
static uint64_t claim_mask;

static void claim_fn(void *arg)
{
	(void)arg;
	claim_ncpus = stw_cpus();
	claim_mask = 0;
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (stw_cpu_claimed(i))
			claim_mask |= 1ull << i;
}

static void busy_wait_ns(uint64_t ns)
{
	uint64_t start = clock_ns();
	while (clock_ns() - start < ns)
		arch_cpu_relax();
}

static uint64_t others_mask(void)
{
	uint64_t m = 0;
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online) && i != cpu_id())
			m |= 1ull << i;
	return m;
}

/* One plain stop from this CPU (interrupts off, so the counters are this stop's):
 * checks that its claims add up and returns how many of them *counter counted
 * (stw_idle_claims: all; stw_idle_spin_claims: those of spinning CPUs); *unsent: no
 * CPU it claimed was sent a STOP (its count has not moved). */
static uint64_t claim_stop(_Atomic uint64_t *counter, bool *unsent)
{
	uint64_t stops[ARCH_MAX_CPUS];
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		stops[i] = atomic_load(&cpus[i].irqs[IPI_STOP]);
	uint64_t c0 = atomic_load(&stw_idle_claims), k0 = atomic_load(counter);
	stop_the_world(claim_fn, NULL);
	uint64_t claims = atomic_load(&stw_idle_claims) - c0, counted = atomic_load(counter) - k0;
	EXPECT_EQ(claims, (uint64_t)__builtin_popcountll(claim_mask));
	EXPECT_TRUE(counted <= claims);
	EXPECT_EQ(claim_ncpus, cpu_count() - (unsigned)__builtin_popcountll(claim_mask));
	EXPECT_EQ(claim_mask & ~others_mask(), 0);
	*unsent = true;
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if ((claim_mask & (1ull << i)) && atomic_load(&cpus[i].irqs[IPI_STOP]) != stops[i])
			*unsent = false;
	return counted;
}

/* At one CPU there is nobody to claim. */
static void one_cpu_claims_none(_Atomic uint64_t *counter)
{
	bool unsent;
	irq_push();
	EXPECT_EQ(claim_stop(counter, &unsent), 0);
	irq_pop();
	EXPECT_EQ(claim_ncpus, 1);
}

TEST_G(stw, idle_cpus_claimed_asleep_not_woken)
{
	if (cpu_count() < 2) {
		one_cpu_claims_none(&stw_idle_claims);
		return;
	}
	/* the collector quiet: a background sweep or a cycle would keep a CPU awake
	 * (after an allocating suite, under a loaded host, for many seconds) */
	int pct = gc_test_quiesce();
	bool all = false;
	int tries = 0;
	while (!all && tries++ < CLAIM_TRIES) {
		test_wait_others_halting();
		irq_push();	/* one CPU throughout: the mask and the counters are this stop's */
		/* a claimed CPU was sent nothing: its STOP count has not moved. (Only when
		 * every other CPU was claimed: a participant that halted makes the release
		 * a broadcast, which does wake the claimed ones, after the stop.) */
		bool unsent;
		claim_stop(&stw_idle_claims, &unsent);
		irq_pop();
		all = claim_mask == others_mask() && unsent;
	}
	gc_set_percent(pct);
	if (!all) {
		for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
			if ((others_mask() & (1ull << i)) && !(claim_mask & (1ull << i)))
				kprintf("stw: cpu %u not claimed at the last try (halting %d)\n", i,
					(int)__atomic_load_n(&allp[i].halting, __ATOMIC_RELAXED));
		test_fail(__FILE__, __LINE__, "no stop in %d found every other CPU asleep to claim "
			  "and left them unsent", CLAIM_TRIES);
		return;
	}
	kprintf("stw: every other CPU claimed asleep, no STOP sent to it, at try %d\n", tries);
}

/*
 * The same for CPUs spinning in their idle loop (rt/sched.c: after a wake-up, before
 * the halt; kernel/stw.h, stw_idle_begin): with the spell of spinning made 50 ms
 * (sched_spin_ns; its 20 us window is missed on a loaded host), a cross-call wakes
 * the other CPUs, each goes back to its idle loop and spins; once every one of them
 * says so, a plain stop claims them there, counted in stw_idle_spin_claims, with no
 * STOP IPI sent. A CPU's timer or a goroutine readied may end a spell early: up to
 * SPIN_TRIES tries, passing needs one stop that claimed every other CPU spinning.
 */
#define SPIN_TRIES 20
#define SPIN_NS 50000000ull

static void woken(void *arg)
{
	(void)arg;
}

static bool others_spinning(uint64_t others)
{
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if ((others & (1ull << i)) && !stw_cpu_idle_spinning(i))
			return false;
	return true;
}

TEST_G(stw, idle_cpus_claimed_while_spinning)
{
	if (cpu_count() < 2) {
		one_cpu_claims_none(&stw_idle_spin_claims);
		return;
	}
	int pct = gc_test_quiesce();
	uint64_t spin0 = atomic_exchange(&sched_spin_ns, SPIN_NS);
	bool all = false;
	int tries = 0;
	uint64_t spun = 0;
	while (!all && tries++ < SPIN_TRIES) {
		irq_push();
		uint64_t others = others_mask();
		ipi_call_others(woken, NULL, true);	/* those halted spin again */
		for (uint64_t t = clock_ns(); !others_spinning(others) && clock_ns() - t < SPIN_NS / 2;)
			ipi_poll();
		bool unsent;
		spun = claim_stop(&stw_idle_spin_claims, &unsent);
		irq_pop();
		all = claim_mask == others && spun == (uint64_t)__builtin_popcountll(others) && unsent;
	}
	atomic_store(&sched_spin_ns, spin0);
	gc_set_percent(pct);
	if (!all) {
		test_fail(__FILE__, __LINE__, "no stop in %d claimed every other CPU while it spun in its "
			  "idle loop and left them unsent (last try: %llu of %u claimed spinning)",
			  SPIN_TRIES, (unsigned long long)spun, cpu_count() - 1);
		return;
	}
	kprintf("stw: every other CPU claimed spinning in its idle loop, no STOP sent to it, at try %d\n",
		tries);
}

/*
 * A claimed CPU that something wakes during the stop waits in the stop for the
 * release: fn (owner) sends it IPI_RESCHEDULE and sees it wake and wait there (counted
 * among the halted: stw_halted), holds the stop 20 ms more; after the release the
 * CPU has run its reschedule handler. (Where the IPI itself woke the CPU its handler
 * waits for the release; a CPU already waiting, woken by something else first,
 * answers IPIs from its wait as every stopped CPU does: the hosted TSan build, whose
 * idle halt wakes every 5 ms. So the handler's count is not checked inside.)
 */
static _Atomic int woke_cpu = -1;
static _Atomic bool woke_waited;
static _Atomic uint64_t woke_before;

static void woke_fn(void *arg)
{
	(void)arg;
	int t = -1;
	for (unsigned i = 0; i < ARCH_MAX_CPUS && t < 0 && stw_cpus() == 1; i++)
		if (stw_cpu_claimed(i))
			t = (int)i;	/* every other CPU claimed: none halts as a participant */
	atomic_store(&woke_cpu, t);
	if (t < 0)
		return;
	atomic_store(&woke_before, atomic_load(&cpus[t].irqs[IPI_RESCHEDULE]));
	ipi_reschedule((unsigned)t);
	/* seen once is enough: read once per look (a second read to store the answer
	 * could come just as the CPU woke from its halt to look at the release again) */
	uint64_t start = clock_ns();
	bool waited;
	while (!(waited = stw_halted() > 0) && clock_ns() - start < WAIT_NS)
		arch_cpu_relax();
	atomic_store(&woke_waited, waited);
	busy_wait_ns(20000000);
}

TEST_G(stw, claimed_cpu_woken_waits_for_the_release)
{
	if (cpu_count() < 2) {
		kprintf("stw: 1 CPU: nothing to claim\n");
		return;
	}
	int tries = 0;
	int pct = gc_test_quiesce();	/* (as above) */
	atomic_store(&woke_cpu, -1);
	while (atomic_load(&woke_cpu) < 0 && tries++ < CLAIM_TRIES) {
		test_wait_others_halting();
		stop_the_world(woke_fn, NULL);
	}
	gc_set_percent(pct);
	int t = atomic_load(&woke_cpu);
	ASSERT_TRUE(t >= 0);
	EXPECT_TRUE(atomic_load(&woke_waited));
	uint64_t start = clock_ns();
	while (atomic_load(&cpus[t].irqs[IPI_RESCHEDULE]) == atomic_load(&woke_before) &&
	       clock_ns() - start < WAIT_NS)
		go_yield();
	EXPECT_TRUE(atomic_load(&cpus[t].irqs[IPI_RESCHEDULE]) > atomic_load(&woke_before));	/* then ran */
}

/* ---- a panic inside a stop (tests=stw_panic, ends the boot) ----------------------- */

/*
 * A goroutine spins on another CPU; this one stops the world and panics inside fn.
 * The spinner's CPU is halted in its stop handler (fn waits until every participant
 * has halted, past its spinning), interrupts masked but for IPIs: the
 * panic's IPI_CALL must still stop it there, so the dump walks it ("goroutine N
 * [running on cpu K]:", from the halt in arch_wait_for_ipi down to the spinner, the
 * matrix checks) instead of reporting a CPU that did not stop.
 */
static _Atomic int stw_spinner_cpu = -1;
static _Atomic uint64_t stw_spin_count;

__attribute__((noinline)) uint64_t stw_test_spin_work(uint64_t x);
__attribute__((noinline)) uint64_t stw_test_spin_work(uint64_t x)
{
	return x * 0x9e3779b97f4a7c15ull + (clock_ns() & 1);	/* hosted TSan: a libc call */
}

__attribute__((noinline)) void stw_test_spinner(void *arg);
__attribute__((noinline)) void stw_test_spinner(void *arg)
{
	(void)arg;
	uint64_t x = 1;
	atomic_store(&stw_spinner_cpu, (int)cpu_id());
	for (;;) {
		x = stw_test_spin_work(x);
		atomic_fetch_add_explicit(&stw_spin_count, 1, memory_order_relaxed);
	}
}

static void panic_in_stop(void *arg)
{
	(void)arg;
	/* participants spin a few microseconds before they halt (kernel/stw.c): wait for
	 * every one to halt, however long its vCPU is kept off a host core; a clock bound
	 * would let a slow one still be spinning when the panic's IPI comes. (CPUs asleep
	 * in their idle halt are claimed, not participants: stw_cpus() leaves them out.)
	 * A participant counts itself just before it halts: 20 ms more, so that the count
	 * is the halt (the hosted TSan build was caught between the two, the dump then
	 * showing the wait loop's poll instead of the halt) */
	uint64_t t0 = clock_ns();
	while (stw_halted() < stw_cpus() - 1) {
		if (clock_ns() - t0 > 20000000000ull)
			panic("stw_panic: %u of %u participants halted after 20 s", stw_halted(),
			      stw_cpus() - 1);
		arch_cpu_relax();
	}
	busy_wait_ns(20000000);
	panic("deliberate panic inside a stop, goroutine halted on cpu %d",
	      atomic_load(&stw_spinner_cpu));
}

TEST_G_EXPLICIT(stw_panic, inside_a_stop_with_a_goroutine_halted_elsewhere)
{
	ASSERT_TRUE(cpu_count() >= 2);
	go(stw_test_spinner, NULL);
	while (atomic_load(&stw_spinner_cpu) < 0 || atomic_load(&stw_spinner_cpu) == (int)cpu_id())
		go_yield();
	uint64_t c = atomic_load(&stw_spin_count);
	while (atomic_load(&stw_spin_count) < c + 1000)
		arch_cpu_relax();
	stop_the_world(panic_in_stop, NULL);
	test_fail(__FILE__, __LINE__, "the panic inside the stop returned");
}
