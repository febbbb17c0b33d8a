/*
 * rt/gc/markterm.c: mark termination, the collector's second pause (Go's
 * gcMarkTermination with gcMarkDone's last step), on every CPU with the world stopped.
 *
 * The coordinator (gc.c's run_cycle) calls gc_mark_terminate once concurrent marking
 * found no work left (or, in the stop-the-world mode, for the whole mark). It stops
 * every CPU by IPI (stop_the_world_all: each CPU runs mark_termination where it was
 * stopped, interrupts off) and, in that pause, on every CPU in parallel:
 *
 *   1. rescan the goroutine it was running (its registers in the interrupt frame that
 *      stopped it) and a share of the rescan lists (stackscan.c), then its own stack;
 *      in the stop-the-world mode take the root jobs, in the dirty-page mode dirty.c's;
 *   2. drain until no CPU has work (stw_drain: Go's nwait/nproc, without a lock);
 *   3. with gccheckmark=1, mark the whole heap again from the roots (checkmark.c);
 *   4. give back its work buffers and span cache;
 *
 * and the owner, once every CPU's span cache is back (the others may still be on
 * their way out of the stop's function), flips the sweep generation, hands the pacer
 * the cycle's counts, and sets the phase GC_OFF with the barrier off (term_end). A
 * CPU the stop left asleep in its idle halt has its share done by the owner
 * (mark_termination_idle). What the pause costs is its waits: see
 * mark_termination_prep's comment and TERM_SPIN_NS.
 */
#include <stdatomic.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/panic.h>
#include <kernel/stw.h>
#include <arch/irq.h>
#include <rt/gc_test.h>
#include <rt/sched.h>
#include "mark.h"

struct term {
	unsigned n;			/* CPUs taking part */
	unsigned owner;			/* the CPU that stopped the world */
	_Atomic unsigned bar[8];	/* barriers, one per use */
	_Atomic unsigned nwait;		/* CPUs out of work (the drain's termination) */
	_Atomic unsigned sleepers;	/* CPUs halted in a wait (term_wake only if any) */
	uint64_t idle_cpus;		/* left asleep by the stop, their share done by the owner */
	uint64_t heap_marked, scan_work, heap_live_end;
	uint64_t assist_ns, free_mark_ns;	/* marking CPU time: assists, background and idle */
	_Atomic uint64_t cached_free;	/* free bytes of the spans the CPUs' caches gave back */
	_Atomic uint64_t spans_back;	/* CPUs whose span cache is claimed (give_back_spans) */
	_Atomic uint64_t spans_done;	/* ... and back on the centrals */
	uint64_t rescans;		/* stacks scanned in the pause (term_totals) */
	bool full;			/* the stop-the-world mode: the whole mark in this pause */
	bool dirty;			/* the dirty-page mode: dirty.c's jobs in this pause */
};

/*
 * Waiting inside mark termination. The CPUs wait for each other at barriers (the
 * parallel drain's end is not one: see stw_drain); a waiter spins briefly (on
 * hardware the others are a microsecond or two away), then halts with only IPIs
 * deliverable, and whoever completes the wait wakes the others (IPI_RESCHEDULE: a
 * wake-up and nothing else), if any halted (t->sleepers, HALT_COUNTED of kernel/stw.h).
 * Spinning throughout, as before, cost tens of milliseconds per pause with more vCPUs
 * than host cores: a spinning vCPU held the host core a late one needed (the problem
 * stop-the-world had before its participants halted, kernel/stw.c). The arch closes
 * the check-then-halt race (an IPI arriving before the halt ends it at once). The CPU
 * that stopped the world never halts at a barrier: it spins with a deadline, so that
 * a CPU that never arrives is a panic naming the barrier, not a hang.
 */
#define TERM_SPIN_NS 5000

static void term_wake(struct term *t)
{
	if (!atomic_load(&t->sleepers))
		return;		/* all still spinning: they see the change by themselves */
	unsigned me = cpu_id();
	for (unsigned i = 0; i < cpu_ids_end; i++)
		if (i != me && atomic_load_explicit(&cpus[i].online, memory_order_relaxed) &&
		    !(t->idle_cpus & (1ull << i)))
			ipi_reschedule(i);
}

static void term_barrier(struct term *t, unsigned k)
{
	if (atomic_fetch_add(&t->bar[k], 1) + 1 == t->n) {
		term_wake(t);
		return;
	}
	bool owner = cpu_id() == t->owner;
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	struct spin_window spin = spin_window(TERM_SPIN_NS);
	while (atomic_load(&t->bar[k]) < t->n) {
		ipi_poll();
		if (owner && spin_deadline_over(&dl, ipi_wait_ns))
			panic("gc: mark termination: %u of %u CPUs did not reach barrier %u in %llu ms",
			      t->n - atomic_load(&t->bar[k]), t->n, k,
			      (unsigned long long)(ipi_wait_ns / 1000000));
		if (owner || !spin_window_over(&spin))
			arch_cpu_relax();
		else
			HALT_COUNTED(&t->sleepers, atomic_load(&t->bar[k]) != t->n);
	}
}

/*
 * Drain in parallel until no CPU has work (Go's getfull with nwait/nproc). A CPU out
 * of work spins a few microseconds for work another queues (taking it back out of
 * the count), then, if none came, retires: it leaves the drain still counted as out
 * of work, for good, and goes on with what follows (its give-back, then the stop's
 * wait for the release, where it halts). Work queued after it retired is taken by the
 * CPU that queued it, once that one runs out, so the count reaches n only when every
 * CPU is out of work with nothing queued, as before. What it saves: a CPU that halted
 * inside the drain had to be woken for the drain's end, and the owner waited for that
 * wake-up (done, kernel/stw.c) before it could release anyone; a retired one is woken
 * once, by the release, which the owner does not wait for. Under QEMU's TCG at two
 * busy vCPUs that wake-up was 40 to 80 us of a 90 to 150 us pause (aarch64, per-step
 * clocks, 2026-12-06). The owner never retires (it spins, as at a barrier): the pause
 * ends when it returns. No deadline here: a drain is as long as the heap it marks
 * (the stop-the-world mode).
 */
static void give_back_spans(struct term *t, unsigned cpu);

static void stw_drain(struct term *t, struct gcwork *w)
{
	for (;;) {
		while (gc_drain_batch(w))
			gcwork_balance(w);
		if (atomic_fetch_add(&t->nwait, 1) + 1 == t->n)
			return;		/* nobody works, so nothing can be queued: done */
		bool owner = cpu_id() == t->owner;
		if (owner) {
			/* the others still mark: their span caches can go back meanwhile,
			 * off the pause's critical path (give_back_spans), one at a time while
			 * one of them still marks (once none does, each gives back its own,
			 * alongside this CPU's totals: the owner must not be found busy
			 * flushing when the count completes) */
			for (unsigned i = 0; i < cpu_ids_end && atomic_load(&t->nwait) != t->n; i++)
				if (atomic_load_explicit(&cpus[i].online, memory_order_relaxed))
					give_back_spans(t, i);
		}
		struct spin_window spin = spin_window(TERM_SPIN_NS);
		for (;;) {
			if (!lfstack_empty(&gc_work_full)) {
				atomic_fetch_sub(&t->nwait, 1);
				break;		/* take it */
			}
			if (atomic_load(&t->nwait) == t->n)
				return;		/* nobody works and nothing is queued: done */
			ipi_poll();
			if (!owner && spin_window_over(&spin)) {
				atomic_fetch_add_explicit(&gc_test_term_retired, 1, memory_order_relaxed);
				return;		/* retire, counted out of work (above) */
			}
			arch_cpu_relax();
		}
	}
}

/*
 * Mark termination costs what its waits cost: each CPU that waits for another halts
 * after a few microseconds and is woken by an IPI (a round trip under emulation
 * costs about as much as the whole stop), and even a spinning wait costs a hand-off.
 * So it has as few as the work allows. In the concurrent mode nothing needs setting
 * up with the world stopped before the others run: the owner resets what the pause
 * shares while the others are on their way (mark_termination_early, run by
 * stop_the_world_all_early), and each CPU starts as soon as all have stopped, the
 * phase set by each for itself (the same store by all, before anything of theirs
 * reads it; a CPU still running must see GC_MARK, so no earlier). The stop-the-world
 * and dirty-page modes set up with the world stopped first (mark_termination_prep,
 * stop_the_world_all_prep). The parallel drain's own end (every CPU waiting, no work
 * anywhere) is the point after which nobody marks; then the owner takes the totals
 * and clears the weak links while each CPU gives back its own work buffers and span
 * cache, and once every span cache is back the owner alone sets up the sweep
 * (term_end: no barrier, and no wait for the others to return from the stop's
 * function, which the stop then does while the owner's end runs). The pacer's
 * arithmetic for the next cycle follows the release (pacer_mark_done). The checkmark
 * pass adds its barriers.
 */
static void mark_termination_prep(void *arg)
{
	struct term *t = arg;
	t->n = stw_cpus();	/* the CPUs that run mark_termination: not those left asleep */
	if (t->full)
		gc_mark_setup(NULL);
	atomic_store(&gc_phase, GC_MARKTERM);
	if (t->dirty)
		dirty_term_prepare();
}

/* The concurrent mode's setup, on the owner while its STOP flies to the others (see
 * above). Its own span cache goes back here, not in the pause: nothing on this CPU
 * allocates until the stop returns (interrupts are off), the others may still be
 * allocating from theirs, and the centrals' locks are held with interrupts off for
 * short sections that wait on nothing (central.c), so none is held by a CPU the
 * stop has already taken. */
static void mark_termination_early(void *arg)
{
	struct term *t = arg;
	t->n = stw_cpus();
	give_back_spans(t, t->owner);
}

/* The concurrent mode's phase, set by each CPU (and by the owner for a sleeper's share)
 * before its part reads it; the other modes' prep set it with the world stopped. */
static void term_phase(const struct term *t)
{
	if (!t->full && !t->dirty)
		atomic_store(&gc_phase, GC_MARKTERM);
}

/*
 * CPU cpu's cached spans go back to the centrals, its cache's free slots counted for
 * the trace (term_end), once: by whichever CPU claims it first, the CPU itself once
 * out of the drain, or the owner while it waits there for the others' marking
 * (stw_drain) or at the end (term_end), which takes it off the pause's critical path
 * when the others are the last to finish; the owner's own while its STOP flies
 * (mark_termination_early). Another CPU may flush a stopped CPU's cache: nothing in
 * the pause allocates, so its own CPU does not touch it until the claim. spans_done
 * says when the flush is over (term_end waits for every CPU's).
 */
static void give_back_spans(struct term *t, unsigned cpu)
{
	uint64_t bit = 1ull << cpu;
	if ((atomic_load_explicit(&t->spans_back, memory_order_relaxed) & bit) ||
	    (atomic_fetch_or(&t->spans_back, bit) & bit))
		return;
	struct mcache *mc = &gc_mcaches[cpu];
	atomic_fetch_add_explicit(&t->cached_free, mc->nalloc_bytes - mcache_alloc_bytes(mc),
				  memory_order_relaxed);
	mcache_flush(mc);
	atomic_fetch_or_explicit(&t->spans_done, bit, memory_order_release);
}

/* CPU cpu's work buffers holding work go to the full list (after the drain, none
 * do but an idle CPU's whose marking the stop cut short, before the drain; empty ones
 * stay for the next cycle), and its cached spans go back. */
static void give_back(struct term *t, unsigned cpu)
{
	gcwork_flush_full(&gc_cpus[cpu].w);
	give_back_spans(t, cpu);
}

static void term_end(struct term *t);

/* Once the last object is marked (every CPU is out of the drain, checkmark's
 * included), on the owner while the others give back their caches: the cycle's
 * totals (each CPU's counters are final: only marking moves them), and the weak
 * links to objects left unmarked are cleared, before the sweep generation flips. The
 * marking times for the pacer too: a CPU stopped in its idle marking adds its last
 * stretch once released. */
static void term_totals(struct term *t)
{
	uint64_t marked = atomic_load(&gc_mark_bytes), work = atomic_load(&gc_scan_work);
	uint64_t assist = 0, free = 0, rescans = 0;
	for (unsigned i = 0; i < cpu_ids_end; i++) {
		if (atomic_load_explicit(&cpus[i].online, memory_order_relaxed))
			rescans += gc_cpus[i].term_rescans;	/* (0 for a sleeper's share) */
		marked += gc_cpus[i].w.bytes_marked;
		work += gc_cpus[i].w.scan_work;
		assist += gc_cpus[i].assist_ns;
		free += gc_cpus[i].bg_ns + gc_cpus[i].idle_ns;
	}
	t->heap_marked = marked;
	t->scan_work = work;
	t->assist_ns = assist;
	t->free_mark_ns = free;
	t->rescans = rescans;
	weak_clear_dead();
}

static void mark_termination(void *arg)
{
	struct term *t = arg;
	unsigned me = cpu_id();
	struct gcwork *w = &gc_cpus[me].w;
	bool owner = me == t->owner;
	term_phase(t);
	gc_cpus[me].term_rescans = gc_rescan_stw(w);	/* (summed by term_totals) */
	gc_scan_own_stack(w);
	if (t->full) {
		/* every running goroutine is scanned now, so the stack jobs find parked ones */
		term_barrier(t, 6);
		while (gc_root_job_stopped(w))
			;
	} else if (t->dirty) {
		while (dirty_term_job(w))
			;
	}
	stw_drain(t, w);
	if (gc_opt_checkmark) {
		term_barrier(t, 1);	/* everyone out of the drain before nwait is reused */
		if (owner) {
			checkmark_active = true;
			atomic_store(&t->nwait, 0);
		}
		term_barrier(t, 2);
		if (allp[me].curg)
			gc_scan_stack_here(allp[me].curg, w);
		gc_scan_own_stack(w);
		if (owner)
			checkmark_scan_roots(w);
		stw_drain(t, w);
		term_barrier(t, 3);
		if (owner)
			checkmark_active = false;
	}
	/* This CPU's own share of the end, alongside the others: its work buffers (empty:
	 * the drain is over) and its cached spans go back (unless the owner gave them back
	 * already: give_back_spans). Before the sweep generation flips (term_end): a span
	 * given back now goes on its central's swept list of this generation, which the
	 * flip makes the next one's unswept list, where it would have gone after the flip
	 * (central.c). Its free slots were counted live (cache.c): term_end adds them back
	 * for the trace's "heap at the end". */
	KASSERT(gcwork_empty(w));
	if (!owner) {
		give_back_spans(t, me);
		return;
	}
	term_totals(t);
	term_end(t);	/* (this CPU's span cache among the others') */
}

/*
 * The share of a CPU the stop left asleep in its idle halt (kernel/stw.c), done by the
 * owner before its own mark_termination, while that CPU cannot run: what
 * mark_termination does on a CPU that runs no goroutine. It has none to rescan, and
 * nothing on its stack to scan: the idle loop holds no heap pointer it uses after the
 * halt (it looks for work afresh); its work buffers go to the full list, for the drain
 * (it halted with them empty, unless its idle marking was cut short), and its span
 * cache back to the centrals.
 */
static void mark_termination_idle(void *arg, unsigned cpu)
{
	struct term *t = arg;
	KASSERT(!__atomic_load_n(&allp[cpu].curg, __ATOMIC_RELAXED));
	term_phase(t);
	t->idle_cpus |= 1ull << cpu;
	gc_cpus[cpu].term_rescans = 0;
	atomic_fetch_add_explicit(&gc_test_term_idle_cpus, 1, memory_order_relaxed);
	give_back(t, cpu);
}

/*
 * The end, on the CPU that stopped the world, at the end of its own mark_termination,
 * once every CPU's span cache is back on the centrals (spans_done: the owner claims
 * any still in a cache and waits for flushes others are doing) and before any CPU is
 * released: the heap at the end, the sweep generation, the pacer's counts, the phase.
 * The others may still be on their way out of mark_termination (their give-back found
 * already done, the stop's done count): nothing there reads what this writes, and
 * nothing of theirs is left to mark (the drain is over) or to give back. So the end
 * runs while they return, not after (it was the stop's post until 2026-12-07: at two
 * busy vCPUs under TCG, x86-64, about 0.9 us of a 10 us pause after the other's
 * return), and the others' wait for the release is that much shorter, so likelier
 * still a spin than a halt (a wake-up each, 10-70 us under emulation).
 */
static void term_end(struct term *t)
{
	uint64_t all = 0;
	for (unsigned i = 0; i < cpu_ids_end; i++)
		if (atomic_load_explicit(&cpus[i].online, memory_order_relaxed)) {
			give_back_spans(t, i);
			all |= 1ull << i;
		}
	while ((atomic_load_explicit(&t->spans_done, memory_order_acquire) & all) != all)
		arch_cpu_relax();	/* a flush in progress on its own CPU: microseconds */
	/* (The stores need no order of their own: the release of the stop publishes them
	 * to every CPU, and only this one writes; no read-modify-write where a load and a
	 * store will do, each one a locked instruction on the pause's last stretch.) */
	t->heap_live_end = pacer_heap_live() + atomic_load(&t->cached_free);
	atomic_store_explicit(&gcheap.sweepgen, atomic_load_explicit(&gcheap.sweepgen, memory_order_relaxed) + 2,
			      memory_order_release);
	gc_sweep_reset();
	t->heap_marked += gc_black_alloc_bytes();
	pacer_mark_end(t->heap_marked, t->scan_work, t->assist_ns, t->free_mark_ns);
	atomic_store_explicit(&gc_phase, GC_OFF, memory_order_release);
	atomic_fetch_and(&gc_barrier_on, ~GC_BARRIER_MARK);
}

/* ---- the pause --------------------------------------------------------------------------------------------- */

/*
 * Before the stop: a CPU in its scheduler with no goroutine is on its way into the
 * idle loop, where a stop claims it for the cost of its share instead of stopping it
 * by IPI and waiting for it: the CPUs that marked in their idle loop until the mark
 * ran out of work, as the coordinator's own check did, are that. Wait for such CPUs
 * a little (TERM_GRACE_NS in all, interrupts on, before the pause begins). Measured
 * at 2 vCPUs under TCG with the other CPU so: a pause of 21 to 24 us stopping it, 5
 * us claiming it.
 */
#define TERM_GRACE_NS 5000

static void term_grace(void)
{
	struct spin_window spin = spin_window(TERM_GRACE_NS);	/* for all of them */
	for (unsigned i = 0; i < cpu_ids_end; i++) {
		/* (this CPU runs the coordinator: it is never between goroutines here, even
		 * if the coordinator moved since) */
		if (!atomic_load_explicit(&cpus[i].online, memory_order_relaxed))
			continue;
		while (sched_cpu_between(i) && !spin_window_over(&spin))
			arch_cpu_relax();
	}
}

uint64_t gc_mark_terminate(int mode, struct gc_term_result *r)
{
	struct term t = { .n = cpu_count(), .full = mode == GC_MODE_STW, .dirty = mode == GC_MODE_DIRTY };

	if (!t.full && t.n > 1)
		term_grace();
	irq_push();
	t.owner = cpu_id();	/* stop_the_world_all runs fn here too, with interrupts off */
	uint64_t t0 = clock_ns();
	if (t.full || t.dirty)
		stop_the_world_all_prep(mark_termination_prep, mark_termination, mark_termination_idle,
					NULL, &t);
	else
		stop_the_world_all_early(mark_termination_early, mark_termination, mark_termination_idle,
					 NULL, &t);
	uint64_t pause = clock_ns() - t0;
	pacer_mark_done();	/* (interrupts still off: no slice between the two halves) */
	irq_pop();
	*r = (struct gc_term_result){
		.heap_marked = t.heap_marked, .scan_work = t.scan_work,
		.heap_live_end = t.heap_live_end, .rescans = t.rescans,
		.idle_cpus = (unsigned)__builtin_popcountll(t.idle_cpus),
	};
	return pause;
}
