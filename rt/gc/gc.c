/*
 * rt/gc/gc.c: the garbage collector's cycle (Go's mgc.go), its options, statistics and
 * trace.
 *
 * A concurrent, parallel, non-moving, tri-colour mark-sweep collector for C programs
 * running as goroutines on every CPU: Go's design (Go 1.5-1.7, with the Dijkstra
 * insertion barrier and stack rescans), on bare metal, where the kernel owns the CPUs
 * and reaches a running goroutine with an IPI instead of a signal to a thread.
 *
 * The files: malloc.c allocation, cache.c per-CPU caches, central.c central lists,
 * heap.c the page heap and scavenging, meta.c metadata, sizeclass.c size classes,
 * mark.c marking and root jobs, markterm.c mark termination (the second pause),
 * stackscan.c goroutine stacks, roots.c data and registered roots, barrier.c the write
 * barrier, sweep.c sweeping (and the background sweeper and scavenger goroutines),
 * pacer.c pacing and assists, final.c finalizers, checkmark.c the self-check, work.c
 * work buffers, dirty.c the dirty-page mode, stackbar.c stack barriers, weak.c
 * disappearing links, boehm.c the gc.h interface.
 *
 * A cycle, run by the collector's goroutine (gc_coordinator) when the pacer's trigger
 * is reached or gc_collect() asks; each phase change happens with the world stopped,
 * so every CPU has seen it (acknowledged it: the stop is a full synchronisation of
 * every CPU) before the next phase acts:
 *
 *  1. Sweep termination: finish sweeping the previous cycle's spans (concurrently, by
 *     this goroutine): marking needs every span's mark bits clear.
 *  2. Mark setup, world stopped (pause 1): cycle number, root jobs and the snapshot
 *     of all goroutines for the stack jobs, the pacer's assist ratio, then phase
 *     GC_MARK and the barrier on. From here mutators shade what they store
 *     (gc_store), allocate black, and assist.
 *  3. Concurrent mark: this goroutine marks (background worker, about a quarter of the
 *     CPUs: it is one goroutine, yielding to runnable ones), idle CPUs mark from their
 *     scheduler loops (gc_sched_idle), allocating goroutines assist. Root jobs (data,
 *     registered roots, finalizers, every stack: stackscan.c's three cases) are taken
 *     by any of them. When no work is left: the stacks that ran since their scan are
 *     rescanned concurrently (those not running), then every CPU is asked to flush its
 *     work buffers (a cross-call: the barrier may have left grey objects on a CPU that
 *     marks nothing); any work found goes round again.
 *  4. Mark termination, world stopped by IPI (pause 2, stop_the_world_all: every CPU
 *     takes part): each CPU rescans the goroutine it was running (its registers are in
 *     the interrupt frame that stopped it, or it joined from a wait loop on that
 *     goroutine's stack) and a share of the rescan lists, then all drain what is left,
 *     in parallel, until no CPU has work (Go's nwait/nproc). With gccheckmark=1 the
 *     whole heap is marked again from the roots, and any miss is a panic
 *     (checkmark.c). Then each CPU gives back its own work buffers and span cache,
 *     and once all have, the CPU that stopped the world alone flips the sweep
 *     generation (every span becomes unswept), sets the pacer's next goal, phase
 *     GC_OFF, barrier off (markterm.c says why it has so few waits).
 *  5. Sweep: lazily by allocation, and by the sweeper goroutine, which then shrinks
 *     parked goroutines' stacks (sched_shrink_stacks, once per cycle) and wakes the
 *     scavenger, which later gives idle heap chunks back (heap_scavenge).
 *
 * The stop-the-world mode (gc_mode=stw, gc_set_mode(GC_MODE_STW)): steps 2 to 4 in
 * one pause. Mark setup, then every CPU scans the goroutine it was running, then all
 * take the root jobs (the parked goroutines' stacks scanned from their saved contexts,
 * no claim needed with the world stopped) and drain in parallel, then the end of step
 * 4. No mutator runs while anything is marked, so stores need no barrier: the mode
 * for programs that never call gc_store, at the price of a pause that grows with the
 * live heap.
 *
 * The dirty-page mode (gc_mode=dirty, GC_MODE_DIRTY): the concurrent mode for such
 * programs. Before step 2 the kernel makes the heap's and the stacks' pages clean;
 * step 4 also rescans the marked objects of the heap pages written since, the data
 * and registered roots, and the stacks written by other goroutines (dirty.c). The
 * mode of the Boehm-style interface, gc.h.
 *
 * The invariants: during GC_MARK no black object points to a white one (the barrier);
 * a stack's scan is current until its goroutine runs again (the rescan lists); an
 * object allocated during marking is black; at the end of pause 2 no grey object
 * exists anywhere and every stack's scan is current, so every white object is
 * unreachable.
 *
 * Stack barriers (gc_stackbar=1, stackbar.c) bound the rescans of step 4: only the
 * frames that ran since the scan, and above them the pages written (C writes into
 * outer frames through pointers, with no barrier).
 *
 * The hybrid barrier (gc_barrier=hybrid, barrier.c): stores shade what they overwrite
 * too, stack barriers are on, and a rescan reads only the frames rebuilt since the
 * scan, never the pages written above them. Not the default: every store that
 * overwrites a pointer needs the barrier then, NULL stores included (C code writes
 * those plainly), no pointer may be made from nothing while marking, its shading
 * doubles on stores that overwrite live pointers, and in C it still rescans (barrier.c
 * says why); what it buys is a shorter second pause on deep stacks (README).
 *
 * Rejected: a stop-the-world that waits for every
 * goroutine to reach a safe point (C has no safe points: the kernel stops CPUs where
 * they are and the collector reads the interrupted registers instead).
 */
#include <stdio.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/cmdline.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <arch/irq.h>
#include <arch/noscan.h>
#include <kernel/panic.h>
#include <kernel/stack.h>
#include <kernel/stw.h>
#include <rt/gc.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>
#include "mark.h"

/* ---- options -------------------------------------------------------------------------------- */

static bool opt_gc = true;
static uint32_t opt_percent = 100;
static char opt_mode[16];		/* empty: not given (concurrent) */
static char opt_barrier[16];		/* empty: not given (dijkstra) */
bool gc_opt_trace, gc_opt_checkmark;

CMDLINE_OPTION(gc, "gc", CMDLINE_BOOL, &opt_gc, sizeof(opt_gc), 0, 0,
	       "automatic garbage collection (off: only gc_collect() collects)");
CMDLINE_OPTION(gc_percent, "gc_percent", CMDLINE_UINT, &opt_percent, sizeof(opt_percent), 0, 100000,
	       "heap growth over the live heap that starts a collection, in % (Go's GOGC); default 100");
CMDLINE_OPTION(gc_mode, "gc_mode", CMDLINE_STR, opt_mode, sizeof(opt_mode), 0, 0,
	       "how collections mark: concurrent (the default; stores into the heap go through gc_store) "
	       "or stw (with the world stopped: no barrier needed) or dirty (concurrent, no barrier "
	       "needed: the pages written while marking are rescanned at its end)");
CMDLINE_OPTION(gc_stackbar, "gc_stackbar", CMDLINE_BOOL, &gc_opt_stackbar, sizeof(gc_opt_stackbar), 0, 0,
	       "stack barriers in the concurrent mode: the end of marking rescans a stack only up to "
	       "the frames that did not return since its scan, and above them the pages written");
CMDLINE_OPTION(gc_barrier, "gc_barrier", CMDLINE_STR, opt_barrier, sizeof(opt_barrier), 0, 0,
	       "the concurrent mode's write barrier: dijkstra (the default: stores shade what they "
	       "store; stacks that ran are rescanned at the end of marking) or hybrid (they shade "
	       "what they overwrite too, and a rescan reads only the frames rebuilt since the scan, "
	       "bounded by stack barriers)");
CMDLINE_OPTION(gctrace, "gctrace", CMDLINE_BOOL, &gc_opt_trace, sizeof(gc_opt_trace), 0, 0,
	       "print one line per collection");
CMDLINE_OPTION(gccheckmark, "gccheckmark", CMDLINE_BOOL, &gc_opt_checkmark, sizeof(gc_opt_checkmark), 0, 0,
	       "re-mark the heap with the world stopped after every collection and panic on a miss");

/* ---- statistics --------------------------------------------------------------------------------- */

static struct {
	_Atomic uint64_t allocs, alloc_bytes;
	_Atomic uint64_t cycles, forced;
	_Atomic uint64_t pause_total, pause_last, pause_max;
	_Atomic uint64_t pause_hist[GC_PAUSE_BUCKETS];
	_Atomic uint64_t gc_cpu_ns;		/* CPU time spent in the collector since boot */
} stats;

void stats_flush_cache(struct mcache *mc)
{
	atomic_fetch_add_explicit(&stats.allocs, mc->nalloc, memory_order_relaxed);
	atomic_fetch_add_explicit(&stats.alloc_bytes, mc->nalloc_bytes, memory_order_relaxed);
	mc->nalloc = mc->nalloc_bytes = 0;
}

/* Bytes allocated since boot, the caches' unflushed counts included (world stopped;
 * a CPU that never came online never allocated). */
static uint64_t alloc_bytes_total(void)
{
	uint64_t n = atomic_load(&stats.alloc_bytes);
	for (unsigned i = 0; i < cpu_ids_end; i++)
		if (atomic_load_explicit(&cpus[i].online, memory_order_relaxed))
			n += mcache_alloc_bytes(&gc_mcaches[i]);
	return n;
}

/* alloc_bytes_total() at mark setup: what was allocated (black) during marking counts
 * as marked, as in Go, since this cycle keeps all of it. */
static uint64_t mark_alloc_start;

uint64_t gc_black_alloc_bytes(void)
{
	return alloc_bytes_total() - mark_alloc_start;
}

static void record_pause(uint64_t ns)
{
	atomic_fetch_add(&stats.pause_total, ns);
	atomic_store(&stats.pause_last, ns);
	uint64_t m = atomic_load(&stats.pause_max);
	while (ns > m && !atomic_compare_exchange_weak(&stats.pause_max, &m, ns))
		;
	uint64_t us = ns / 1000;
	unsigned b = 0;
	while (b + 1 < GC_PAUSE_BUCKETS && us >= (2ull << b))
		b++;
	atomic_fetch_add(&stats.pause_hist[b], 1);
}

void gc_stats(struct gc_stats *s)
{
	uint64_t inuse, freep, chunks, released;
	heap_counts(&inuse, &freep, &chunks, &released);
	*s = (struct gc_stats){
		.heap_inuse = inuse * PAGE_SIZE,
		.heap_live = pacer_heap_live(),
		.heap_marked = atomic_load(&pacer_heap_marked),
		.heap_goal = atomic_load(&pacer_heap_goal),
		.heap_trigger = atomic_load(&pacer_heap_trigger),
		.heap_mapped = chunks * HEAP_CHUNK,
		.heap_released = released,
		.cycles = atomic_load(&stats.cycles),
		.forced = atomic_load(&stats.forced),
		.pause_total_ns = atomic_load(&stats.pause_total),
		.pause_last_ns = atomic_load(&stats.pause_last),
		.pause_max_ns = atomic_load(&stats.pause_max),
		.allocs = atomic_load(&stats.allocs),
		.alloc_bytes = atomic_load(&stats.alloc_bytes),
		.frees = atomic_load(&gc_swept_frees),
		.finalizers_run = atomic_load(&final_run_count),
		.assist_waits = atomic_load(&pacer_assist_waits),
		.stack_scans_ipi = atomic_load(&gc_stat_stack_scans_ipi),
		.dirty_pages = atomic_load(&gc_stat_dirty_pages),
		.percent = atomic_load(&pacer_percent),
	};
	for (unsigned i = 0; i < GC_PAUSE_BUCKETS; i++)
		s->pause_hist[i] = atomic_load(&stats.pause_hist[i]);
	s->stack_scans = GC_CPUS_SUM(stack_scans);
	s->stack_rescans = GC_CPUS_SUM(stack_rescans);
}

/* ---- test hooks (rt/gc_test.h) --------------------------------------------------------------------- */

void (*_Atomic gc_test_mark_done_hook)(void);
void (*_Atomic gc_test_mark_start_hook)(void);
_Atomic bool gc_test_hold_marking;
_Atomic bool gc_test_hold_sweep;
_Atomic bool gc_test_hold_term;
_Atomic uint64_t gc_test_term_holds;
_Atomic uint64_t gc_test_cycles_started;
_Atomic uint64_t gc_test_term_idle_cpus;
_Atomic uint64_t gc_test_term_retired;

uint64_t gc_test_term_frames_skipped(void)
{
	return GC_CPUS_SUM(frames_skipped);
}

/* ---- cycle requests ---------------------------------------------------------------------------------- */

static struct {
	struct mutex mu;
	struct cond done_cv;
	uint64_t started, done;		/* mu: cycles started and completed */
	uint64_t forced_upto;		/* mu: run cycles (forced) until started reaches this */
} ctl = { .mu = MUTEX_INIT, .done_cv = COND_INIT };

static _Atomic bool requested;		/* the pacer's trigger fired */
static _Atomic int gc_mode = GC_MODE_CONCURRENT;	/* changed under ctl.mu with no cycle running */
static _Atomic int gc_mode_boot;		/* the command line's */
static struct sema coord_sema = SEMA_INIT(0);

/* The last cycles' costs (the coordinator writes, under the ctl mutex; tests read). */
static struct gc_cycle_info cycle_log[GC_TEST_CYCLES];
NOSCAN(cycle_log);	/* numbers */

bool gc_test_cycle_info(uint32_t cycle, struct gc_cycle_info *out)
{
	mutex_lock(&ctl.mu);
	const struct gc_cycle_info *ci = &cycle_log[cycle % GC_TEST_CYCLES];
	bool ok = cycle && ci->cycle == cycle;
	if (ok)
		*out = *ci;
	mutex_unlock(&ctl.mu);
	return ok;
}

bool gc_request_cycle(void)
{
	if (atomic_load_explicit(&requested, memory_order_relaxed) || atomic_exchange(&requested, true))
		return false;
	sema_release(&coord_sema);
	return true;
}

void gc_collect(void)
{
	if (!sched_curg())
		panic("gc_collect: not called from a goroutine");
	/* the frames that wait below are built on zeros, not on the caller's old ones (a
	 * stale word there would keep what the caller just dropped: stackscan.c) */
	gc_scrub_stack();
	mutex_lock(&ctl.mu);
	/* a cycle that started before this call may have missed what the caller just
	 * dropped: wait for one that starts after it */
	uint64_t target = ctl.started + 1;
	if (ctl.forced_upto < target)
		ctl.forced_upto = target;
	sema_release(&coord_sema);
	while (ctl.done < target)
		cond_wait(&ctl.done_cv, &ctl.mu);
	mutex_unlock(&ctl.mu);
	if (!atomic_load(&gc_test_hold_sweep))
		gc_sweep_finish();
}

extern _Atomic bool gc_sweeper_idle;

int gc_test_quiesce(void)
{
	int old = gc_set_percent(-1);
	for (;;) {
		mutex_lock(&ctl.mu);
		bool busy = ctl.started != ctl.done || ctl.forced_upto > ctl.started;
		mutex_unlock(&ctl.mu);
		if (!busy && !atomic_load(&requested) && atomic_load(&gc_sweeper_idle))
			return old;
		go_sleep(1000000);
	}
}

bool gc_test_barrier(bool hybrid)
{
	if (hybrid && !gc_stkbar_supported())
		panic("gc_test_barrier: the hybrid barrier needs stack barriers (not in this build)");
	mutex_lock(&ctl.mu);
	while (ctl.done != ctl.started)
		cond_wait(&ctl.done_cv, &ctl.mu);
	uint32_t old = hybrid ? atomic_fetch_or(&gc_barrier_on, GC_BARRIER_HYBRID)
			      : atomic_fetch_and(&gc_barrier_on, ~GC_BARRIER_HYBRID);
	mutex_unlock(&ctl.mu);
	return old & GC_BARRIER_HYBRID;
}

struct gc_test_settings gc_test_settings_set(bool stackbar, bool hybrid)
{
	struct gc_test_settings s;
	s.percent = gc_test_quiesce();
	s.stackbar = gc_test_stackbar(stackbar);
	s.hybrid = gc_test_barrier(hybrid);
	return s;
}

void gc_test_settings_restore(struct gc_test_settings s)
{
	gc_test_quiesce();
	gc_test_barrier(s.hybrid);
	gc_test_stackbar(s.stackbar);
	gc_set_percent(s.percent);
}

/* ---- phases ----------------------------------------------------------------------------------------------- */

static uint64_t gc_boot_ns;		/* when the collector started (gctrace's @) */
static unsigned nprocs(void) { return cpu_count(); }

void gc_mark_setup(void *arg)
{
	(void)arg;
	uint32_t sg = atomic_load(&gcheap.sweepgen);
	for (unsigned c = 0; c < NUM_SPANCLASSES; c++) {
		struct central *ce = &gc_central[c];
		if (ce->partial[1 - (sg / 2) % 2].first || ce->full[1 - (sg / 2) % 2].first)
			panic("gc: mark setup with span class %u not swept", c);
	}
	atomic_fetch_add(&gc_cycle, 1);
	/* a request made since the coordinator took the last one (allocators past the
	 * trigger keep asking while the phase is still GC_OFF: during the sweep
	 * termination and, in the dirty mode, the take) is this cycle's: without this, it
	 * started another cycle as soon as this one ended, with the heap far below its
	 * trigger */
	atomic_store(&requested, false);
	for (unsigned i = 0; i < cpu_ids_end; i++) {
		gc_cpus[i].assist_ns = gc_cpus[i].bg_ns = gc_cpus[i].idle_ns = 0;
		gc_cpus[i].w.bytes_marked = gc_cpus[i].w.scan_work = 0;
	}
	atomic_store(&gc_mark_bytes, 0);
	atomic_store(&gc_scan_work, 0);
	for (unsigned i = 0; i < cpu_ids_end; i++)
		__atomic_store_n(&gc_cpus[i].term_rescan_bytes, 0, __ATOMIC_RELAXED),
		__atomic_store_n(&gc_cpus[i].term_rescan_total, 0, __ATOMIC_RELAXED);
	gc_roots_prepare();
	pacer_mark_start();
	mark_alloc_start = alloc_bytes_total();
	mcache_blacken_all();
	atomic_store(&gc_phase, GC_MARK);
	atomic_fetch_or(&gc_barrier_on, GC_BARRIER_MARK);
}

/*
 * The background marker's share of the CPUs (Go's gcBackgroundUtilization): it yields
 * to runnable goroutines once it has marked for at least 1 ms at a stretch and for
 * BG_SHARE of the CPU time since marking began. With one CPU this is what keeps the
 * mark phase short: a marker that yielded after every millisecond got one in eleven
 * (the program runs a whole slice in between), the phase stretched over many slices,
 * and what the program allocated meanwhile (black, so kept) swelled the next goal.
 * With a CPU to itself it never yields (nothing else is runnable there).
 */
#define BG_SHARE_PCT	25

static uint64_t bg_mark_start, bg_slice_start, bg_used;

static bool bg_should_stop(void)
{
	uint64_t now = clock_ns();
	if (now - bg_slice_start < 1000000)
		return false;
	uint64_t used = bg_used + (now - bg_slice_start);
	if (used * 100 < (now - bg_mark_start) * cpu_count() * BG_SHARE_PCT)
		return false;
	return sched_others_runnable();
}

/* The dirty-page mode's precleaning rounds (dirty.c): another while the last found
 * more pages than PRECLEAN_AGAIN, up to PRECLEAN_ROUNDS. */
#define PRECLEAN_ROUNDS 4
#define PRECLEAN_AGAIN 64

static void mark_concurrent(bool dirty)
{
	unsigned precleans = dirty ? 0 : PRECLEAN_ROUNDS;
	bg_mark_start = clock_ns();
	bg_used = 0;
	for (;;) {
		bg_slice_start = clock_ns();
		gc_drain(MARK_BG, 0, bg_should_stop);
		bg_used += clock_ns() - bg_slice_start;
		if (bg_should_stop()) {
			go_yield();
			continue;
		}
		if (!gc_roots_done()) {
			go_yield();	/* another marker holds a job (a stack scan waiting for an IPI) */
			continue;
		}
		gc_rescan_concurrent();
		if (!lfstack_empty(&gc_work_full))
			continue;
		/* every CPU's work buffers to the global lists, where this marker finds
		 * them: a cross-call to each CPU but those halted idle, which gave theirs
		 * up before they halted (gc_sched_halt). Waking one costs its wake-up,
		 * and it used to be awake still when the stop came, so that it took part
		 * in the pause instead of being claimed asleep (kernel/stw.c: the owner
		 * does its share, no IPI): 2 to 6 times the pause of one CPU under QEMU's
		 * TCG (2026-12-06). A CPU that wakes after the test and marks, or shades,
		 * before the stop leaves that work to the pause's drain, which takes
		 * every CPU's. */
		bool any = false;
		irq_push();
		gc_flush_cpu_work(&any);
		uint64_t wake = 0;
		for (unsigned i = 0; i < cpu_ids_end; i++)
			if (!sched_cpu_halting(i))
				wake |= 1ull << i;
		ipi_call_cpus(wake, gc_flush_cpu_work, &any, true);
		irq_pop();
		if (any || !lfstack_empty(&gc_work_full))
			continue;
		/* the last step before the stop, so that the pages written between the
		 * precleaning and the stop are few; what it greys, the pause drains */
		if (precleans < PRECLEAN_ROUNDS && dirty_preclean() > PRECLEAN_AGAIN &&
		    ++precleans < PRECLEAN_ROUNDS)
			continue;
		return;
	}
}

/* ---- the cycle ------------------------------------------------------------------------------------------- */

static void trace_line(uint32_t cyc, uint64_t start, uint64_t p1, uint64_t mark, uint64_t p2,
		       uint64_t heap0, uint64_t heap1, uint64_t marked, uint64_t goal, bool forced, int64_t dirty)
{
	uint64_t assist = 0, bg = 0, idle = 0;
	for (unsigned i = 0; i < cpu_ids_end; i++) {
		assist += gc_cpus[i].assist_ns;
		bg += gc_cpus[i].bg_ns;
		idle += gc_cpus[i].idle_ns;
	}
	unsigned np = nprocs();
	uint64_t cpu = (p1 + p2) * np + assist + bg + idle;
	uint64_t total = atomic_fetch_add(&stats.gc_cpu_ns, cpu) + cpu;
	uint64_t since = clock_ns() - gc_boot_ns;
	unsigned pct = since ? (unsigned)(total * 100 / (since * np)) : 0;
	uint64_t at_ms = (start - gc_boot_ns) / 1000000;
	uint64_t globals = gc_roots_data_bytes();
	kprintf("gc %u @%llu.%03llus %u%%: %llu.%03llu+%llu.%03llu+%llu.%03llu ms clock, "
		"%llu.%03llu+%llu.%03llu/%llu.%03llu/%llu.%03llu+%llu.%03llu ms cpu, "
		"%llu->%llu->%llu MB, %llu MB goal, %llu MB globals, %u P%s",
		cyc, (unsigned long long)(at_ms / 1000), (unsigned long long)(at_ms % 1000), pct,
#define MS3(ns) (unsigned long long)((ns) / 1000000), (unsigned long long)((ns) / 1000 % 1000)
		MS3(p1), MS3(mark), MS3(p2), MS3(p1 * np), MS3(assist), MS3(bg), MS3(idle), MS3(p2 * np),
#undef MS3
		(unsigned long long)(heap0 >> 20), (unsigned long long)(heap1 >> 20),
		(unsigned long long)(marked >> 20), (unsigned long long)(goal >> 20),
		(unsigned long long)(globals >> 20), np, forced ? " (forced)" : "");
	if (dirty >= 0)
		kprintf(", %llu+%lld dirty pages", (unsigned long long)dirty_cycle_precleaned(), (long long)dirty);
	if (gc_hybrid_active)
		kprintf(", hybrid barrier");
	uint64_t rb = GC_CPUS_SUM(term_rescan_bytes), rt = GC_CPUS_SUM(term_rescan_total);
	if (rt)
		kprintf(", %llu/%llu KB stacks rescanned%s", (unsigned long long)((rb + 1023) >> 10),
			(unsigned long long)((rt + 1023) >> 10), gc_stkbar_active ? " (barriers)" : "");
	kprintf("\n");
}

void (*_Atomic gc_cycle_hook)(enum gc_hook_event ev);

/*
 * Code the collector does not own, run on its goroutine: a program's event callback
 * (gc_cycle_hook), a test's hook. It may wait for goroutines that allocate, which must
 * not wait for the collector meanwhile (pacer.c), or neither would go on.
 */
static void call_hook(void (*hook)(enum gc_hook_event), enum gc_hook_event ev)
{
	if (hook) {
		pacer_waits_suspend();
		hook(ev);
		pacer_waits_resume();
	}
}

static void call_test_hook(void (*_Atomic *slot)(void))
{
	void (*fn)(void) = atomic_load(slot);	/* (one load: a test may reset it) */
	if (fn) {
		pacer_waits_suspend();
		fn();
		pacer_waits_resume();
	}
}

/* gc_test_hold_term: the collector's goroutine held back before mark termination, as
 * a CPU the host does not run would hold it (not a hook: allocations wait for it). */
static void test_hold_term(void)
{
	if (__builtin_expect(atomic_load_explicit(&gc_test_hold_term, memory_order_relaxed), 0)) {
		atomic_fetch_add(&gc_test_term_holds, 1);
		while (atomic_load(&gc_test_hold_term))
			go_yield();
	}
}

static void run_cycle(bool forced, int mode)
{
	uint64_t start = clock_ns();
	gc_sweep_finish();
	uint64_t heap0 = pacer_heap_live();
	uint64_t goal = atomic_load(&pacer_heap_goal);	/* this cycle's (the end sets the next) */

	bool full = mode == GC_MODE_STW, dirty = mode == GC_MODE_DIRTY;
	struct gc_term_result t;
	uint64_t p1 = 0, mark = 0;
	void (*hook)(enum gc_hook_event) = atomic_load(&gc_cycle_hook);
	call_hook(hook, GC_HOOK_START);
	gc_hybrid_active = (atomic_load(&gc_barrier_on) & GC_BARRIER_HYBRID) && mode == GC_MODE_CONCURRENT;
	/* the hybrid barrier bounds its rescans with stack barriers (barrier.c) */
	gc_stkbar_active = (gc_opt_stackbar || gc_hybrid_active) && mode == GC_MODE_CONCURRENT;
	if (!full) {
		if (dirty)
			dirty_mark_start();
		else if (gc_stkbar_active && !gc_hybrid_active)
			dirty_take_stacks();	/* the guard above the barriers (stackbar.c) */
		call_hook(hook, GC_HOOK_STOP);
		uint64_t t1 = clock_ns();
		stop_the_world(gc_mark_setup, NULL);
		p1 = clock_ns() - t1;
		pacer_wake_waiters();	/* (the allocations that waited for the start) */
		call_hook(hook, GC_HOOK_RESUME);
		atomic_fetch_add(&gc_test_cycles_started, 1);
		call_test_hook(&gc_test_mark_start_hook);

		uint64_t t2 = clock_ns();
		mark_concurrent(dirty);
		call_test_hook(&gc_test_mark_done_hook);
		test_hold_term();
		mark = clock_ns() - t2;
	} else {
		call_test_hook(&gc_test_mark_done_hook);	/* (just before the pause, which does it all) */
		test_hold_term();
	}

	call_hook(hook, GC_HOOK_STOP);
	uint64_t p2 = gc_mark_terminate(mode, &t);
	pacer_wake_waiters();	/* (the allocations that waited for the end: pacer.c) */
	call_hook(hook, GC_HOOK_RESUME);
	call_hook(hook, GC_HOOK_END);
	uint32_t cyc = atomic_load(&gc_cycle);
	if (full)
		atomic_fetch_add(&gc_test_cycles_started, 1);

	record_pause(p1 + p2);
	atomic_fetch_add(&stats.cycles, 1);
	mutex_lock(&ctl.mu);
	cycle_log[cyc % GC_TEST_CYCLES] = (struct gc_cycle_info){
		.cycle = cyc, .nprocs = nprocs(), .pause_setup_ns = p1, .mark_ns = mark, .pause_term_ns = p2,
		.marked_bytes = t.heap_marked, .scan_bytes = t.scan_work, .heap_goal = goal,
		.rescanned_stacks = t.rescans, .term_idle_cpus = t.idle_cpus,
		.dirty_pages = dirty ? dirty_cycle_pages() : 0,
		.precleaned_pages = dirty ? dirty_cycle_precleaned() : 0,
		.dirty_stacks = dirty ? dirty_cycle_stacks() : 0, .mode = mode,
		.stack_rescan_bytes = GC_CPUS_SUM(term_rescan_bytes),
		.stack_rescan_total = GC_CPUS_SUM(term_rescan_total), .stackbar = gc_stkbar_active,
		.hybrid = gc_hybrid_active,
	};
	if (dirty)
		atomic_fetch_add(&gc_stat_dirty_pages, dirty_cycle_precleaned() + dirty_cycle_pages());
	mutex_unlock(&ctl.mu);
	if (forced)
		atomic_fetch_add(&stats.forced, 1);
	if (gc_opt_trace)
		trace_line(cyc, start, p1, mark, p2, heap0, t.heap_live_end, t.heap_marked, goal, forced,
			   dirty ? (int64_t)dirty_cycle_pages() : -1);
	gc_sweeper_wake();
}

static void gc_coordinator(void *arg)
{
	(void)arg;
	sched_curg()->gc_system = true;
	__atomic_store_n(&sched_curg()->gc_noroots, true, __ATOMIC_RELAXED);	/* (stackscan.c) */
	for (;;) {
		sema_acquire_as(&coord_sema, "GC idle", false);
		for (;;) {
			mutex_lock(&ctl.mu);
			bool forced = ctl.forced_upto > ctl.started;
			bool want = atomic_exchange(&requested, false) || forced;
			if (!want) {
				mutex_unlock(&ctl.mu);
				break;
			}
			ctl.started++;
			int mode = atomic_load(&gc_mode);
			mutex_unlock(&ctl.mu);
			run_cycle(forced, mode);
			mutex_lock(&ctl.mu);
			ctl.done++;
			cond_broadcast(&ctl.done_cv);
			mutex_unlock(&ctl.mu);
		}
	}
}

/* ---- idle marking (the scheduler's hook) -------------------------------------------------------------------- */

bool gc_sched_idle(bool (*stop)(void))
{
	KASSERT(!arch_irq_enabled());
	bool did = false;
	while (atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK && !stop()) {
		/* a window for interrupts between pieces: the idle CPU still takes IPIs and
		 * its timer while it marks */
		arch_irq_window();
		if (gc_drain(MARK_IDLE, 256 << 10, stop) == 0)
			break;
		did = true;
	}
	return did;
}

/* Before an idle CPU halts: its work buffers go to the global lists (a halted CPU
 * marks nothing), for the other markers, and so that the end of the concurrent mark
 * need not wake it to ask for them (mark_concurrent). */
void gc_sched_halt(void)
{
	KASSERT(!arch_irq_enabled());
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK) {
		bool any = false;
		gc_flush_cpu_work(&any);
	}
}

/* ---- start ---------------------------------------------------------------------------------------------------- */

int gc_mode_option(void)
{
	return !opt_mode[0] ? -1 : atomic_load(&gc_mode_boot);
}

void gc_cycles_hold(void)
{
	mutex_lock(&ctl.mu);
	while (ctl.done != ctl.started)
		cond_wait(&ctl.done_cv, &ctl.mu);
}

void gc_cycles_release(void)
{
	mutex_unlock(&ctl.mu);
}

int gc_set_mode(int mode)
{
	if (mode != GC_MODE_CONCURRENT && mode != GC_MODE_STW && mode != GC_MODE_DIRTY)
		panic("gc_set_mode: %d is not a mode (GC_MODE_CONCURRENT, GC_MODE_STW or GC_MODE_DIRTY)", mode);
	if (mode == GC_MODE_DIRTY)
		atomic_store(&gc_heap_small_pages, true);
	gc_cycles_hold();	/* a concurrent cycle under way relies on the barrier until its end */
	int old = atomic_exchange(&gc_mode, mode);
	pacer_set_stw(mode == GC_MODE_STW);
	gc_cycles_release();
	return old;
}

void gc_init(void)
{
	if (!opt_mode[0] || !strcmp(opt_mode, "concurrent"))
		atomic_store(&gc_mode, GC_MODE_CONCURRENT);
	else if (!strcmp(opt_mode, "stw"))
		atomic_store(&gc_mode, GC_MODE_STW);
	else if (!strcmp(opt_mode, "dirty"))
		atomic_store(&gc_mode, GC_MODE_DIRTY);
	else
		panic("gc_mode=%s: not a collector mode (concurrent, stw or dirty)", opt_mode);
	if (atomic_load(&gc_mode) == GC_MODE_DIRTY)
		atomic_store(&gc_heap_small_pages, true);
	if (!strcmp(opt_barrier, "hybrid"))
		atomic_fetch_or(&gc_barrier_on, GC_BARRIER_HYBRID);
	else if (opt_barrier[0] && strcmp(opt_barrier, "dijkstra"))
		panic("gc_barrier=%s: not a write barrier (dijkstra or hybrid)", opt_barrier);
	if ((atomic_load(&gc_barrier_on) & GC_BARRIER_HYBRID) && !gc_stkbar_supported())
		panic("gc_barrier=hybrid: the hybrid barrier needs stack barriers, which are not "
		      "supported in the ThreadSanitizer build");
	atomic_store(&gc_mode_boot, atomic_load(&gc_mode));
	gc_one_cpu = cpu_single;	/* (mark.c; kernel/cpu.h: one CPU for good) */
	gc_alloc_init();	/* (maps the first chunk: the mode first) */
	gc_stkbar_init();
	pacer_set_stw(atomic_load(&gc_mode) == GC_MODE_STW);
	atomic_store(&pacer_percent, opt_gc ? (int)opt_percent : -1);
	gc_set_percent(opt_gc ? (int)opt_percent : -1);
	gc_boot_ns = clock_ns();
}

void gc_start(void)
{
	go_stack(gc_coordinator, NULL, STACK_DEFAULT_SIZE);	/* the runtime's: not gstack_kib's */
	gc_sweeper_start();
	final_start();
}
