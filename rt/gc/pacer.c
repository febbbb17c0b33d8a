/*
 * rt/gc/pacer.c: when to collect, and how much each allocating goroutine helps (Go's
 * GOGC pacer, in its Go 1.5 form).
 *
 * The goal: a cycle should end when the heap reaches heap_goal = heap_marked *
 * (1 + percent/100) (never below GOAL_MIN), where heap_marked is what the last cycle
 * found live. It starts at the trigger, heap_marked + ratio * (goal - heap_marked),
 * early enough that marking, which runs while the program allocates, ends near the
 * goal. `ratio` is corrected after each cycle by how far the heap grew and how much
 * the program had to assist (pacer_mark_done, within [0.6, 0.95]). In the stop-the-world mode the trigger is the goal:
 * the heap does not grow while a cycle marks. heap_marked counts what was allocated
 * during marking too (black, so kept: gc.c), as Go's does.
 *
 * heap_live counts the heap in use as the allocator sees it: spans' free space taken
 * into a CPU's cache counts whole (cache.c), large objects their pages; at the end of
 * marking it is reset to heap_marked (the caches are flushed in that same pause).
 *
 * Assists: during marking, a goroutine pays for what it allocates by marking, at
 * assist_ratio bytes of scan work per byte allocated, where the ratio spreads the
 * scan work expected (what the last cycle scanned, or the heap itself the first time)
 * over the room left until the goal. Its account is g->gc_assist_bytes (Go's
 * gcAssistBytes): allocation takes from it; below zero it first takes credit the
 * background and idle markers deposited, then drains at least ASSIST_MIN of work
 * itself. If it finds no work to take (the markers hold what is left, or marking is
 * ending) it waits, until markers deposit credit or the cycle ends (Go's
 * gcParkAssist, gcFlushBgCredit). With the heap at its goal while the cycle marks,
 * an assist marks all there is and then waits for the end, whatever its account (Go's
 * hard goal). An allocation that finds the heap at its goal
 * with the cycle asked for but not yet marking waits for the marking to begin. So
 * the heap stops near its goal however long the collector's goroutine takes to get
 * a CPU. (Before 2026-12-06 night an assist with no work to take forgave its debt and
 * allocated 256 KiB more before it looked again, and the start was only yielded to:
 * with the host's other load holding back the collector's CPU, GCBench's heap went
 * past its goal by up to 1.6x, 45 MB against 33 in one cycle, and its peak RSS to 2x
 * Go's under the same load.)
 *
 * With percent -1 no cycle is ever triggered (gc=off); gc_collect still runs one.
 */
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>
#include "mark.h"

#define GOAL_MIN	(4ull << 20)		/* Go's heapMinimum */
#define ASSIST_MIN	(64ull << 10)		/* bytes of scan work per assist, at least */

_Atomic int64_t pacer_live;	/* heap_live (the top); read inline by the allocator */
_Atomic uint64_t pacer_heap_marked, pacer_heap_goal = GOAL_MIN, pacer_heap_trigger = GOAL_MIN * 7 / 8;
_Atomic int pacer_percent = 100;
/* Runway fractions in fixed point, RATIO_ONE = 1: integer arithmetic only, since this
 * runs with the world stopped and floating point is a library call per operation
 * under emulation (QEMU's TCG: 1.7-2 us of a 15 us mark termination at two vCPUs). */
#define RATIO_SHIFT	16
#define RATIO_ONE	((int64_t)1 << RATIO_SHIFT)
/* changed by the coordinator alone (pacer_mark_done), read by set_goal anywhere */
static _Atomic int64_t trigger_ratio = RATIO_ONE * 7 / 10;
static _Atomic bool pacer_stw;			/* the stop-the-world mode: trigger at the goal */
static _Atomic uint64_t last_scan_work;
static _Atomic uint64_t assist_ratio_x1000;	/* scan bytes per allocated byte, x1000 */
static _Atomic int64_t bg_credit;		/* scan work markers did beyond assists */
static _Atomic unsigned nwaiting;		/* goroutines in collector_wait (a hint) */


void pacer_heap_live_add(int64_t delta)
{
	atomic_fetch_add_explicit(&pacer_live, delta, memory_order_relaxed);
}



static void set_goal(uint64_t marked)
{
	int pct = atomic_load(&pacer_percent);
	uint64_t goal = pct < 0 ? UINT64_MAX : marked + marked / 100 * (uint64_t)pct;
	if (goal < GOAL_MIN)
		goal = GOAL_MIN;
	uint64_t ratio = (uint64_t)atomic_load_explicit(&trigger_ratio, memory_order_relaxed);
	uint64_t trigger = pct < 0 ? UINT64_MAX : marked + (((goal - marked) * ratio) >> RATIO_SHIFT);
	if (pct >= 0 && atomic_load(&pacer_stw))
		trigger = goal;		/* nothing is allocated while a cycle marks */
	if (pct >= 0 && trigger < GOAL_MIN * 7 / 8)
		trigger = GOAL_MIN * 7 / 8;
	atomic_store(&pacer_heap_goal, goal);
	atomic_store(&pacer_heap_trigger, trigger);
}

int gc_set_percent(int percent)
{
	if (percent < -1)
		panic("gc_set_percent: %d (a percentage, or -1 for off)", percent);
	int old = atomic_exchange(&pacer_percent, percent);
	set_goal(atomic_load(&pacer_heap_marked));
	/* a heap already past the new trigger starts a cycle at the next span a cache
	 * takes (pacer_heap_grew) */
	return old;
}

void pacer_set_stw(bool stw)
{
	atomic_store(&pacer_stw, stw);
	set_goal(atomic_load(&pacer_heap_marked));
}

void pacer_bg_credit(uint64_t work)
{
	int64_t c = atomic_fetch_add_explicit(&bg_credit, (int64_t)work, memory_order_relaxed) + (int64_t)work;
	/* assists waiting for want of work: credit to take now (Go's gcFlushBgCredit) */
	if (c >= (int64_t)ASSIST_MIN && atomic_load_explicit(&nwaiting, memory_order_relaxed))
		pacer_wake_waiters();
}

/* Goroutines waiting for the collector to move on (collector_wait). */
static struct spinlock wait_lock = SPINLOCK_INIT("gc_pacer_wait", LOCK_RANK_SYNC);
static struct waitq waiters = WAITQ_INIT;	/* wait_lock */
static unsigned waits_suspended;		/* wait_lock: pacer_waits_suspend's nesting */
_Atomic uint64_t pacer_assist_waits;		/* waits since boot (gc_stats) */

/* Wait while the collector is in phase `phase` of cycle `cyc`. Checked under the lock
 * that the waker takes after each phase change (pacer_wake_waiters): either this sees
 * the change, or the waker finds it queued. A waiter woken by an earlier change than
 * the one it waits for (it queued between a change and its wake-up) returns early:
 * its caller then allocates one more span or object before it looks again. A
 * goroutine, interrupts on, no spinlock held (it parks). */
static void collector_wait(uint32_t cyc, enum gc_phase phase)
{
	KASSERT(arch_irq_enabled());
	spin_lock_irqsave(&wait_lock);
	if (atomic_load(&gc_phase) != phase || atomic_load(&gc_cycle) != cyc || waits_suspended) {
		spin_unlock_irqrestore(&wait_lock);
		return;
	}
	atomic_fetch_add_explicit(&pacer_assist_waits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&nwaiting, 1, memory_order_relaxed);
	waitq_park(&waiters, &wait_lock, phase == GC_MARK ? "GC assist wait" : "GC start wait");
}

static void wake_waiters(unsigned suspend)
{
	spin_lock_irqsave(&wait_lock);
	waits_suspended += suspend;
	struct waitq all = waiters;
	waiters = (struct waitq)WAITQ_INIT;
	atomic_store_explicit(&nwaiting, 0, memory_order_relaxed);
	spin_unlock_irqrestore(&wait_lock);
	struct g *g;
	while ((g = waitq_pop(&all)))
		sched_ready(g);
}

void pacer_wake_waiters(void)
{
	wake_waiters(0);
}

void pacer_waits_suspend(void)
{
	wake_waiters(1);
}

void pacer_waits_resume(void)
{
	spin_lock_irqsave(&wait_lock);
	KASSERT(waits_suspended > 0);
	waits_suspended--;
	spin_unlock_irqrestore(&wait_lock);
}

/* The heap has reached its goal (with percent -1 the goal is out of reach). */
static bool heap_at_goal(void)
{
	return (uint64_t)atomic_load_explicit(&pacer_live, memory_order_relaxed) >=
	       atomic_load_explicit(&pacer_heap_goal, memory_order_relaxed);
}

static void assist(struct g *g)
{
	if (heap_at_goal()) {
		/* at the goal while the cycle marks (more work than the last cycle's, which
		 * set the ratio, or markers without a CPU): mark all there is, then wait
		 * for the end, so the heap grows no further until the cycle ends (Go's
		 * hard goal, reached at once) */
		gc_drain(MARK_ASSIST, 0, NULL);
		gc_scrub_stack();
		collector_wait(g->gc_assist_cycle, GC_MARK);
		return;
	}
	uint64_t ratio = atomic_load_explicit(&assist_ratio_x1000, memory_order_relaxed);
	uint64_t debt = (uint64_t)(-g->gc_assist_bytes);
	uint64_t want = debt * ratio / 1000;
	if (want < ASSIST_MIN)
		want = ASSIST_MIN;
	/* background credit first */
	uint64_t credit = 0;
	int64_t avail = atomic_load_explicit(&bg_credit, memory_order_relaxed);
	while (avail > 0) {
		int64_t take = avail < (int64_t)want ? avail : (int64_t)want;
		if (atomic_compare_exchange_weak(&bg_credit, &avail, avail - take)) {
			credit = (uint64_t)take;
			break;
		}
	}
	uint64_t work = want - credit;
	uint64_t done = work ? gc_drain(MARK_ASSIST, work, NULL) : 0;
	gc_scrub_stack();	/* the addresses the drain handled: not left below the caller */
	if (work && done < work) {
		/* no work to take: the markers hold what is left, or marking is ending.
		 * Wait until they deposit credit or the cycle ends (see the top); the
		 * allocation then goes ahead, and the next one pays */
		collector_wait(g->gc_assist_cycle, GC_MARK);
		return;
	}
	/* what was paid, in allocation bytes, the credit taken included (counting only
	 * the drained part made an assist covered by credit pay for its one allocation,
	 * and the next allocation assisted again, ASSIST_MIN of credit each time); a
	 * surplus over the debt stays as credit */
	uint64_t paid = ratio ? (credit + done) * 1000 / ratio : debt;
	g->gc_assist_bytes += (int64_t)(paid > debt ? paid : debt);
}

void pacer_alloc(struct g *g, size_t n)
{
	irq_push();
	bool owe = pacer_debit(g, n);
	irq_pop();
	if (owe)
		assist(g);
}

void pacer_assist(struct g *g)
{
	/* the cycle may have ended since the debit, or a new one begun (a clean account) */
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK &&
	    g->gc_assist_cycle == atomic_load_explicit(&gc_cycle, memory_order_relaxed) &&
	    g->gc_assist_bytes < 0)
		assist(g);
}

void pacer_heap_grew(struct g *g)
{
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_OFF && !g->gc_system &&
	    (uint64_t)atomic_load_explicit(&pacer_live, memory_order_relaxed) >=
	    atomic_load_explicit(&pacer_heap_trigger, memory_order_relaxed)) {
		/* Past the trigger and the cycle not marking yet: let the coordinator start it
		 * now, not at the end of our slice (Go's allocating goroutine starts the
		 * cycle itself). At every span taken until it has, not only the one that
		 * asked: the coordinator may have yielded in its sweep termination to a
		 * sweeper preempted mid-span, and an allocator that ran on through its slice
		 * took the heap to twice its goal. */
		uint32_t cyc = atomic_load(&gc_cycle);	/* before the request: see below */
		gc_request_cycle();
		/* At the goal already (the coordinator's CPU held back, or the
		 * stop-the-world mode, whose trigger is the goal): wait for the marking to
		 * begin, as Go's allocating goroutine runs the cycle's start itself. The
		 * cycle waited for is the next after `cyc`, which the request (or one
		 * pending) starts; read after it, a cycle it started and finished meanwhile
		 * would leave the wait for one nobody asked for. */
		if (heap_at_goal())
			collector_wait(cyc, GC_OFF);
		else
			go_yield();
	}
}

void pacer_mark_start(void)
{
	/* world stopped */
	uint64_t live = pacer_heap_live();
	uint64_t goal = atomic_load(&pacer_heap_goal);
	uint64_t expected = atomic_load(&last_scan_work);
	if (!expected)
		expected = live;
	uint64_t room = goal > live ? goal - live : 0;
	if (room < (goal / 10 ? goal / 10 : 1))
		room = goal / 10 ? goal / 10 : 1;	/* past the goal: assist hard, not infinitely */
	atomic_store(&assist_ratio_x1000, expected * 1000 / room);
	atomic_store(&bg_credit, 0);
}

/*
 * The trigger's feedback. A cycle should end at the goal with no assists: the markers
 * that cost the program nothing (the background worker, idle CPUs) did all the work,
 * and the heap grew as far as it may. Two signals, in runway units (the goal is 1, the
 * trigger trigger_ratio): `reached`, how far the heap grew by the cycle's end, and
 * `share`, the part of the marking time that assists took. The error e = (1 - reached)
 * - ASSIST_WEIGHT * share moves the trigger by TRIGGER_GAIN of it: a cycle that ended short
 * of the goal without assists starts the next one later, one that needed assists
 * starts it earlier, so that the free markers have the runway to finish alone (with
 * two CPUs or more: the background worker has one of its own then). (Go
 * 1.5's pacer weighs assists by a utilization goal; correcting on overshoot only, as
 * before, never learned from assists, since they keep the heap under the goal by
 * slowing the program: GCBench's allocating goroutine assisted through half of every
 * mark phase with a CPU idle beside it.)
 *
 * The trigger stays within [0.6, 0.95] of the runway, Go 1.5's bounds. Everything
 * allocated while a cycle marks is black, counted in heap_marked, and so in the next
 * goal: a trigger early in the runway lets the program allocate most of it during
 * marking, and when marking is slow because the markers do not get a CPU (the host's
 * other load), assists take a large share, which moves the trigger earlier still. At
 * 0.2 (the bound until 2026-12-06 night) GCBench under such load, with the waits
 * above, marked 9 to 16 MB a cycle where 7 to 9 are live, goals up to 33 MB; at 0.6,
 * 7 to 11 MB, goals up to 22.
 */
#define TRIGGER_GAIN_SHIFT 1			/* TRIGGER_GAIN 1/2 */
#define ASSIST_WEIGHT	2
#define TRIGGER_MIN	(RATIO_ONE * 60 / 100)
#define TRIGGER_MAX	(RATIO_ONE * 95 / 100)

/* What pacer_mark_done needs of the cycle's end, taken with the world stopped. */
static uint64_t end_live, end_marked_before, end_assist_ns, end_free_ns;

/*
 * The end of marking, with the world stopped and the caches flushed: the heap is
 * counted from what was marked, and no cycle can be asked for (the trigger is out of
 * reach) until pacer_mark_done, on the coordinator once the world runs again, has
 * corrected the trigger and set the next goal: that arithmetic is not the pause's.
 * (Until then an allocation that grows the heap finds the phase off and the trigger
 * unreachable: nothing to do.)
 */
void pacer_mark_end(uint64_t heap_marked, uint64_t scan_work, uint64_t assist_ns, uint64_t free_ns)
{
	end_live = pacer_heap_live();
	end_assist_ns = assist_ns;	/* marking's CPU time: by assists, by the free markers */
	end_free_ns = free_ns;
	end_marked_before = atomic_load(&pacer_heap_marked);
	/* (release stores, not sequentially consistent ones: the world is stopped, and
	 * its release publishes them) */
	atomic_store_explicit(&pacer_heap_trigger, UINT64_MAX, memory_order_release);
	atomic_store_explicit(&pacer_heap_marked, heap_marked, memory_order_release);
	atomic_store_explicit(&pacer_live, (int64_t)heap_marked, memory_order_release);
	atomic_store_explicit(&last_scan_work, scan_work, memory_order_release);
}

void pacer_mark_done(void)
{
	uint64_t live_at_end = end_live, marked_before = end_marked_before;
	uint64_t goal = atomic_load(&pacer_heap_goal);
	int pct = atomic_load(&pacer_percent);
	if (pct > 0 && goal != UINT64_MAX && goal > marked_before && !atomic_load(&pacer_stw)) {
		uint64_t assist = end_assist_ns, free = end_free_ns;
		/* with one CPU the background worker shares it with the program, and assists
		 * are how marking gets its share of it: the trigger then aims at the goal */
		int64_t share = assist + free && cpu_count() > 1
					? (int64_t)((assist << RATIO_SHIFT) / (assist + free)) : 0;
		int64_t reached = (((int64_t)live_at_end - (int64_t)marked_before) * RATIO_ONE) /
				  (int64_t)(goal - marked_before);
		int64_t e = (RATIO_ONE - reached) - ASSIST_WEIGHT * share;
		int64_t r = atomic_load(&trigger_ratio) + e / (1 << TRIGGER_GAIN_SHIFT);
		if (r < TRIGGER_MIN)
			r = TRIGGER_MIN;
		if (r > TRIGGER_MAX)
			r = TRIGGER_MAX;
		atomic_store(&trigger_ratio, r);
	}
	set_goal(atomic_load(&pacer_heap_marked));
}
