/*
 * kernel/stw.c: stop-the-world.
 *
 * State (all atomic): `owner` (CPU id + 1 of the CPU running a stop, 0 if none),
 * `gen` (the stop's number), `arrived`/`done`/`left` (participants in, back from the
 * stop's function, out), `go` (the gen whose participants may run the function: only
 * for stop_the_world_all), `release` (the gen participants may leave).
 *
 *   owner                                participant (STOP IPI or any wait loop)
 *   CAS owner 0 -> me (answering others'  sees stop_pending, clears it
 *     stops while it fails)               reads gen (and the stop's all_fn); arrived++
 *   gen++; counters = 0; all_fn = fn|NULL
 *   stop_pending = 1 on each
 *   IPI_STOP to each whose stop_pending
 *     is still set (a broadcast if all)
 *   [all, no prep: early(arg) if any;
 *         go = gen]
 *   wait arrived == n (bounded)
 *   [all: prep(arg) if any,               [all: spin, then halt, until go == g
 *           then go = gen; IPI_STOP if any       and arrived == n
 *         (no prep: IPI_STOP if any)
 *         fn(arg)                                fn(arg)
 *         wait done == n (bounded)               done++]
 *         post(arg) if any]
 *   [plain: fn(arg)]
 *   release = gen; IPI_STOP if any       spin, then halt, until release == g
 *   owner = 0                             left++
 *
 * ("if any": only when a participant halted, see wait_gen.) Without prep, fn starts
 * on each CPU as soon as every CPU has stopped, which each sees for itself in
 * `arrived`: the owner publishes go while its IPIs fly, before the others arrive, so
 * the pause has no hand-off from the owner between the last arrival and fn (under
 * QEMU's TCG each hand-off cost 0.3 to 2 us of a 13 us mark termination at two vCPUs,
 * measured: a spinning vCPU's `pause` there costs 0.16 to 0.44 us, a plain loop
 * iteration 6 ns).
 *
 * The next owner, once it holds ownership, waits for `left` to reach the previous
 * stop's count (stw_prev_n) before it resets the counters: that keeps a slow
 * participant of stop k from counting itself into stop k+1. The owner of stop k does
 * not wait for them itself: a participant that halted wakes from the release
 * broadcast in its own time (on hardware a few microseconds; under QEMU's TCG 10 to 70
 * us, which was most of a mark-termination pause at two vCPUs when the owner waited),
 * and it runs nothing but IPI handlers until it has left. So the world restarts, as
 * in Go's startTheWorld, when the owner returns: the others resume as their wake-up
 * lands, and by the next stop, milliseconds later, they have left.
 *
 * Participants halt rather than spin (DESIGN.md, "Stop-the-world for pauses"): after
 * a few microseconds of spinning (wait_gen), each wait is a loop of arch_wait_for_ipi
 * (arch/irq.h), which lets only IPIs in (the LAPIC task priority, the GIC priority
 * mask, the held timer signal), so the owner's broadcast after it moved `go` or
 * `release` is what wakes them (sent only when one halted). Under emulation with more
 * vCPUs than host cores, a spinning participant held a host core that the owner and
 * the late participants needed, and a stop cost milliseconds; a halted one costs
 * nothing until its IPI. The check-then-halt race is closed by the arch: an IPI that
 * arrives between the check of `release` and the halt is pending, and ends the halt
 * at once. A halted participant keeps answering what is sent to it (ipi.h): its IPI
 * handlers run nested inside the halt (calls, shootdowns, a panic's stop, which then
 * records the halt as where this CPU was), and every wake-up also runs ipi_poll, for
 * calls whose IPI was taken before the stop (the hosted dispatch takes all pending
 * kinds at once). Timers and device interrupts wait until the participant is released
 * and turns interrupts on again: a stopped CPU runs nothing but IPI handlers, so a
 * spinlock it holds from its wait loop cannot be wanted by a handler it runs.
 *
 * The owner spins (arch_cpu_relax) while it waits: it must notice a CPU that never
 * answers (the bounded wait, a panic naming it), and with only IPIs deliverable a
 * halted owner would have nothing to wake it at its deadline. One spinning vCPU per
 * stop is what remains of the old cost.
 *
 * stop_the_world_all runs fn on every CPU at once: participants call it from their
 * stop point (the STOP handler, or the wait loop whose ipi_poll found the stop), after
 * every CPU has stopped, so fn may spin on the others' progress through memory. The
 * owner waits for all of them to return from fn before it releases anyone: "all
 * returned" is one point in time, after which the world is still stopped.
 *
 * CPUs asleep in the scheduler's idle halt are claimed, not stopped (Go's idle Ps:
 * stopTheWorld takes them without waking anyone). The idle CPU publishes
 * stw_idle[cpu] = HALTED (an exchange) before it halts, and before it spins in the
 * scheduler's idle loop (stw_idle_begin: there it only reads, and it leaves the state
 * through stw_idle_wake before it acts on what it read or answers an IPI); the
 * owner, for each CPU, tries a CAS from HALTED or SPINNING (or from a claim of an
 * earlier, released stop: the CPU slept through it) to CLAIMED(gen). A CPU it
 * claimed counts as stopped: no STOP IPI, no stop_pending, not in arrived/done/left;
 * in an all-stop the owner runs the caller's idle(arg, cpu) for it. Whatever wakes the CPU (an interrupt, whose dispatch calls
 * stw_idle_wake first, or the end of the halt) exchanges its word back to RUNNING: a
 * claim found there means the owner may be doing its share this moment, so it waits
 * for that stop's release (spinning, then halting like a participant) before anything
 * runs. A CAS that fails finds the CPU awake, and the owner stops it with an IPI as
 * any other. Either the CPU's exchange or the owner's CAS comes first, so a CPU is
 * either claimed and waits, or stopped, never both and never neither. The claim of a
 * CPU still asleep after the release is stale and harmless: the next stop may take
 * it over, or the CPU on waking finds that stop released and goes on.
 *
 * Per-CPU state of this file (no struct cpu field: only this file touches it):
 * stw_where[cpu], where that CPU is in a stop, for stw_stop_point(); stw_idle[cpu],
 * its idle claim word.
 */
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/irq.h>
#include <kernel/panic.h>
#include <kernel/stw.h>

static _Atomic int stw_owner;
static _Atomic uint64_t stw_gen, stw_go, stw_release;
static _Atomic unsigned stw_arrived, stw_done, stw_left;
static unsigned stw_prev_n;		/* owner: the previous stop's participants */
_Atomic uint64_t stw_count;

/* The current stop; written by the owner before it publishes gen (release), read by
 * participants after they read gen (acquire), and by fn on any CPU. */
static void (*stw_all_fn)(void *);	/* stop_the_world_all's fn, NULL for a plain stop */
static void *stw_all_arg;
static unsigned stw_ncpus;		/* CPUs running fn in the stop, the owner included */
static uint64_t stw_claimed;		/* CPUs left asleep in their idle halt (bit per id) */

/* Where each CPU is in a stop (enum stw_stop_point); written only by that CPU. */
static _Atomic unsigned char stw_where[ARCH_MAX_CPUS];

/* Idle claims (see the top): 0 running, STW_IDLE_HALTED asleep in stw_idle_halt,
 * STW_IDLE_SPINNING spinning in the idle loop (stw_idle_begin), 2 * gen claimed by
 * stop gen. Written by the CPU itself (exchanges) and by owners (CAS). */
#define STW_IDLE_RUNNING 0
#define STW_IDLE_HALTED 1
#define STW_IDLE_SPINNING 3
static _Atomic uint64_t stw_idle[ARCH_MAX_CPUS];
_Atomic uint64_t stw_idle_claims, stw_idle_spin_claims;

/* Whether this CPU took the current stop in the STOP IPI's own handler entered as the
 * outermost interrupt (stw_stopped_at_entry); written only by that CPU. */
static bool stw_at_entry[ARCH_MAX_CPUS];

/* Whether each CPU is inside the stop's fn, to name a slow one in the panic; written
 * only by that CPU (a store to its own byte: no read-modify-write of a line all the
 * stop's CPUs share, twice each, in every pause). */
static _Atomic bool stw_in_fn[ARCH_MAX_CPUS];

void stw_participate(void);

/* Halt until *v >= g (generations only grow), answering IPIs (see the top).
 * Interrupts off. */
/*
 * A participant waiting for `go` or `release` spins for STW_SPIN_NS first, then
 * halts counted in stw_sleepers (HALT_COUNTED, kernel/stw.h), and the owner, after
 * moving the flag, sends the broadcast that wakes halted participants only when that
 * count is not zero. A stop whose owner moves
 * on within a few microseconds (on hardware: always) thus costs one broadcast, the
 * STOP itself, instead of three halt-and-wake round trips; a longer one (mark
 * termination's work, emulation with more vCPUs than host cores) still halts, and
 * takes no host core while it waits.
 */
#define STW_SPIN_NS 5000

static _Atomic unsigned stw_sleepers;

static void wait_gen(_Atomic uint64_t *v, uint64_t g)
{
	if (atomic_load_explicit(v, memory_order_acquire) >= g)
		return;		/* already (no window, no poll: see wait_arrived) */
	struct spin_window spin = spin_window(STW_SPIN_NS);
	for (;;) {
		ipi_poll();	/* queued calls, a panic; the stop itself is taken already */
		if (atomic_load_explicit(v, memory_order_acquire) >= g)
			return;
		if (!spin_window_over(&spin)) {
			arch_cpu_relax();
			continue;
		}
		HALT_COUNTED(&stw_sleepers, atomic_load(v) < g);
	}
}

/* The owner moved `go` or `release` to g: wake whoever halted waiting for it. */
static void wake_sleepers(_Atomic uint64_t *v, uint64_t g)
{
	/* An exchange, not a store: the store of v and the load of the count must not be
	 * reordered (the sleeper counts itself, then loads v). A seq_cst store and load
	 * are enough in the C model and on hardware (x86-64's store is an xchg, arm64's
	 * stlr/ldar pair is ordered), but QEMU's TCG runs arm64's stlr and ldar as plain
	 * x86 moves, which TSO lets pass each other: an aarch64 guest then saw the count
	 * at 0 while the sleeper saw the old v, and both halted for good (mark
	 * termination, gc_stackbar2). An RMW is a locked instruction there. */
	(void)atomic_exchange(v, g);
	/* whatever the stop's participants: a CPU claimed asleep that woke during the stop
	 * waits for the release among the sleepers too (stw_idle_wake) */
	if (atomic_load(&stw_sleepers))
		arch_ipi_broadcast(IPI_STOP);
}

/*
 * A participant of an all-stop without prep: fn starts once every CPU has stopped,
 * which each one sees for itself (stw_arrived == n), with no go from the owner after
 * the last arrival. One that halted waiting is woken by the owner, who sends the
 * broadcast once it has seen the count complete if any CPU halted meanwhile: the
 * sleeper counts itself, then reads the count; the last arriver's increment and the
 * owner's read of the count, then of the sleepers, are all sequentially consistent,
 * so either the sleeper sees n or the owner sees it counted (HALT_COUNTED).
 */
static void wait_arrived(unsigned n)
{
	/* The usual case at the STOP's own interrupt (the last to arrive, or the owner's
	 * early go already there): return before the window's arithmetic and a poll, which
	 * a call queued meanwhile does not need (its IPI is taken once released). */
	if (atomic_load(&stw_arrived) == n)
		return;
	struct spin_window spin = spin_window(STW_SPIN_NS);
	for (;;) {
		ipi_poll();
		if (atomic_load(&stw_arrived) == n)
			return;
		if (!spin_window_over(&spin)) {
			arch_cpu_relax();
			continue;
		}
		HALT_COUNTED(&stw_sleepers, atomic_load(&stw_arrived) != n);
	}
}

void stw_participate(void)
{
	struct cpu *self = cpu_this();
	KASSERT(!arch_irq_enabled());
	if (!atomic_exchange_explicit(&self->stop_pending, false, memory_order_acquire))
		return;
	uint64_t g = atomic_load_explicit(&stw_gen, memory_order_acquire);
	void (*fn)(void *) = stw_all_fn;
	void *arg = stw_all_arg;
	atomic_store_explicit(&stw_where[self->id], self->in_irq ? STW_STOPPED_IRQ : STW_STOPPED_WAIT,
			      memory_order_relaxed);
	atomic_fetch_add(&stw_arrived, 1);	/* seq_cst: see wait_arrived */
	if (fn) {
		wait_gen(&stw_go, g);
		wait_arrived(stw_ncpus - 1);	/* (read after go: written before it) */
		atomic_store_explicit(&stw_in_fn[self->id], true, memory_order_relaxed);
		fn(arg);
		atomic_store_explicit(&stw_in_fn[self->id], false, memory_order_relaxed);
		atomic_fetch_add_explicit(&stw_done, 1, memory_order_release);
	}
	wait_gen(&stw_release, g);
	atomic_store_explicit(&stw_where[self->id], STW_NONE, memory_order_relaxed);
	atomic_fetch_add_explicit(&stw_left, 1, memory_order_release);
}

void stw_idle_begin(void)
{
	KASSERT(!arch_irq_enabled());
	/* an exchange: after every write of the idle CPU's own state that an owner may
	 * take over, and (stw_idle_halt) before the halt's check for pending interrupts */
	(void)atomic_exchange(&stw_idle[cpu_id()], STW_IDLE_SPINNING);
}

void stw_idle_halt(void)
{
	KASSERT(!arch_irq_enabled());
	(void)atomic_exchange(&stw_idle[cpu_id()], STW_IDLE_HALTED);	/* (as above) */
	arch_wait_for_interrupt();
	stw_idle_wake();
}

void stw_idle_wake(void)
{
	struct cpu *self = cpu_this();
	KASSERT(!arch_irq_enabled());
	if (atomic_load_explicit(&stw_idle[self->id], memory_order_relaxed) == STW_IDLE_RUNNING)
		return;
	uint64_t v = atomic_exchange_explicit(&stw_idle[self->id], STW_IDLE_RUNNING, memory_order_acq_rel);
	if (v == STW_IDLE_HALTED || v == STW_IDLE_SPINNING)
		return;		/* not claimed: the stop (if any) sends its IPI */
	/* claimed by stop v / 2, which may be doing this CPU's share: wait for its release */
	atomic_store_explicit(&stw_where[self->id], self->in_irq ? STW_STOPPED_IRQ : STW_STOPPED_WAIT,
			      memory_order_relaxed);
	wait_gen(&stw_release, v / 2);
	atomic_store_explicit(&stw_where[self->id], STW_NONE, memory_order_relaxed);
}

/* Claim CPU i, asleep in its idle halt, for stop g; false if it is awake. */
static bool idle_claim(unsigned i, uint64_t g)
{
	uint64_t v = atomic_load_explicit(&stw_idle[i], memory_order_relaxed);
	while (v != STW_IDLE_RUNNING) {
		KASSERT(v == STW_IDLE_HALTED || v == STW_IDLE_SPINNING || (v % 2 == 0 && v / 2 < g));
		uint64_t was = v;
		if (atomic_compare_exchange_weak_explicit(&stw_idle[i], &v, 2 * g, memory_order_acq_rel,
							  memory_order_relaxed)) {
			if (was == STW_IDLE_SPINNING)
				atomic_fetch_add_explicit(&stw_idle_spin_claims, 1, memory_order_relaxed);
			return true;
		}
	}
	return false;
}

/* Wait until *counter == n; on timeout, panic naming a CPU that has not answered. */
static void wait_count(_Atomic unsigned *counter, unsigned n, const char *what)
{
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	while (atomic_load_explicit(counter, memory_order_acquire) != n) {
		arch_cpu_relax();
		if (!spin_deadline_over(&dl, ipi_wait_ns))
			continue;
		for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
			if (atomic_load(&cpus[i].online) &&
			    (atomic_load(&cpus[i].stop_pending) || atomic_load(&stw_in_fn[i]))) {
				char why[240];
				ipi_explain_silent(i, why, sizeof(why));
				panic("stop-the-world: cpu %u (hwid 0x%llx) did not %s in %llu ms%s", i,
				      (unsigned long long)cpus[i].hwid, what,
				      (unsigned long long)(ipi_wait_ns / 1000000), why);
			}
		panic("stop-the-world: %u of %u CPUs did not %s in %llu ms",
		      n - atomic_load(counter), n, what, (unsigned long long)(ipi_wait_ns / 1000000));
	}
}

static void stop(void (*early)(void *), void (*prep)(void *), void (*fn)(void *),
		 void (*idle)(void *, unsigned), void (*post)(void *), void *arg, bool all)
{
	irq_push();
	struct cpu *self = cpu_this();
	KASSERT(!self->in_irq);
	KASSERT(fn != NULL);

	int expected = 0;
	while (!atomic_compare_exchange_weak_explicit(&stw_owner, &expected, (int)self->id + 1,
						      memory_order_acquire, memory_order_relaxed)) {
		expected = 0;
		ipi_poll();	/* another CPU is stopping the world: join it */
		arch_cpu_relax();
	}

	/* the previous stop's participants have all left it (see the top) */
	wait_count(&stw_left, stw_prev_n, "leave the previous stop");
	uint64_t g = atomic_load_explicit(&stw_gen, memory_order_relaxed) + 1;
	atomic_store_explicit(&stw_arrived, 0, memory_order_relaxed);
	atomic_store_explicit(&stw_done, 0, memory_order_relaxed);
	atomic_store_explicit(&stw_left, 0, memory_order_relaxed);
	stw_all_fn = all ? fn : NULL;
	stw_all_arg = arg;
	atomic_store_explicit(&stw_gen, g, memory_order_release);
	unsigned n = 0;
	uint64_t claimed = 0;	/* CPUs left asleep in their idle halt (see the top) */
	uint64_t stopping = 0;	/* the others: sent STOP */
	bool may_claim = !all || idle;
	for (unsigned i = 0; i < cpu_ids_end; i++) {
		struct cpu *c = &cpus[i];
		if (c == self || !atomic_load(&c->online))
			continue;
		if (may_claim && idle_claim(i, g)) {
			claimed |= 1ull << i;
			continue;
		}
		atomic_store_explicit(&c->stop_pending, true, memory_order_release);
		stopping |= 1ull << i;
		n++;
	}
	stw_ncpus = n + 1;	/* read by fn only, after go (release) or on this CPU */
	stw_claimed = claimed;
	atomic_store_explicit(&stw_where[self->id], STW_OWNER, memory_order_relaxed);
	/* A CPU that took the stop already (its wait loop's ipi_poll saw stop_pending and
	 * cleared it) needs no IPI: one would only interrupt it once released. */
	uint64_t send = 0;
	for (uint64_t m = stopping; m; m &= m - 1)
		if (atomic_load_explicit(&cpus[__builtin_ctzll(m)].stop_pending, memory_order_relaxed))
			send |= m & -m;
	/* A broadcast for two or more (one write to the interrupt controller instead of
	 * one per CPU), not for one: the same single write on hardware, but QEMU's TCG
	 * goes through every possible APIC id for an x86-64 shorthand, holding its
	 * global lock. At 2 vCPUs, the other busy (2026-12-07): the ICR write 0.95 us
	 * against 0.44 for the unicast; stop_the_world_all 3.6 us against 3.1-3.3
	 * (gcb_image's image_stw_all_busy_us). */
	if (send && send == stopping && !claimed && (send & (send - 1))) {
		arch_ipi_broadcast(IPI_STOP);
	} else {		/* one CPU, or the sleepers claimed must not be woken: one IPI each */
		for (uint64_t m = send; m; m &= m - 1)
			arch_ipi_send(cpus[__builtin_ctzll(m)].hwid, IPI_STOP);
	}
	if (all && !prep) {
		/* After the IPIs, while they fly: a CPU stopped by one is not in fn before
		 * its interrupt is taken (microseconds after the send, under emulation as on
		 * hardware), so early's work and go are off the pause's critical path; a
		 * CPU that found the stop from a wait loop waits for go (wait_gen) that
		 * much longer, the less common case. */
		if (early)
			early(arg);
		/* fn may start on each CPU as soon as all have arrived (wait_arrived) */
		(void)atomic_exchange(&stw_go, g);
	}
	if (claimed)
		atomic_fetch_add_explicit(&stw_idle_claims, (uint64_t)__builtin_popcountll(claimed),
					  memory_order_relaxed);
	wait_count(&stw_arrived, n, "stop");

	if (all) {
		if (prep) {
			prep(arg);	/* the others are stopped, none runs fn yet */
			wake_sleepers(&stw_go, g);
		} else if (atomic_load(&stw_sleepers)) {
			arch_ipi_broadcast(IPI_STOP);	/* halted in wait_arrived (or for go) */
		}
		for (uint64_t m = claimed; m; m &= m - 1)
			idle(arg, (unsigned)__builtin_ctzll(m));	/* the sleepers' shares */
		atomic_store_explicit(&stw_in_fn[self->id], true, memory_order_relaxed);
		fn(arg);
		atomic_store_explicit(&stw_in_fn[self->id], false, memory_order_relaxed);
		wait_count(&stw_done, n, "return from the stop's function");
		if (post)
			post(arg);	/* everyone returned from fn, nobody released yet */
	} else {
		fn(arg);
	}

	stw_prev_n = n;		/* the next owner waits for them to leave */
	wake_sleepers(&stw_release, g);
	atomic_store_explicit(&stw_where[self->id], STW_NONE, memory_order_relaxed);
	/* (only owners write it, one at a time: no read-modify-write) */
	atomic_store_explicit(&stw_count, atomic_load_explicit(&stw_count, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&stw_owner, 0, memory_order_release);
	irq_pop();
}

void stop_the_world(void (*fn)(void *), void *arg)
{
	stop(NULL, NULL, fn, NULL, NULL, arg, false);
}

void stop_the_world_all(void (*fn)(void *), void *arg)
{
	stop(NULL, NULL, fn, NULL, NULL, arg, true);
}

void stop_the_world_all_prep(void (*prep)(void *), void (*fn)(void *), void (*idle)(void *, unsigned),
			     void (*post)(void *), void *arg)
{
	stop(NULL, prep, fn, idle, post, arg, true);
}

void stop_the_world_all_early(void (*early)(void *), void (*fn)(void *), void (*idle)(void *, unsigned),
			      void (*post)(void *), void *arg)
{
	stop(early, NULL, fn, idle, post, arg, true);
}

enum stw_stop_point stw_stop_point(void)
{
	irq_push();
	enum stw_stop_point w = atomic_load_explicit(&stw_where[cpu_id()], memory_order_relaxed);
	irq_pop();
	return w;
}

unsigned stw_cpus(void)
{
	KASSERT(stw_stop_point() != STW_NONE);
	return stw_ncpus;
}

bool stw_cpu_idle_spinning(unsigned cpu)
{
	return atomic_load_explicit(&stw_idle[cpu], memory_order_relaxed) == STW_IDLE_SPINNING;
}

bool stw_cpu_claimed(unsigned cpu)
{
	KASSERT(stw_stop_point() != STW_NONE);
	return cpu < 64 && (stw_claimed & (1ull << cpu));
}

unsigned stw_halted(void)
{
	return atomic_load(&stw_sleepers);
}

static void stw_irq(unsigned irq, void *arg, struct arch_frame *f)
{
	(void)irq, (void)arg;
	struct cpu *self = cpu_this();
	ipi_run_calls();
	/* f the outermost frame: below it this CPU's stack holds only this handler's
	 * frames, the dispatcher's and the stop's (the calls just run have returned) */
	stw_at_entry[self->id] = self->irq_frame == f;
	stw_participate();	/* (returns at once without a stop pending) */
	stw_at_entry[self->id] = false;
}

bool stw_stopped_at_entry(void)
{
	KASSERT(!arch_irq_enabled());
	return stw_at_entry[cpu_id()];
}

void stw_init(void)
{
	irq_register(IRQ_IPI(IPI_STOP), stw_irq, NULL);
}
