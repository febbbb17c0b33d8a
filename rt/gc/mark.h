/*
 * rt/gc/mark.h: the collector's cycle state and the marking interface its files
 * share (gc.c drives cycles, markterm.c ends their marking, mark.c marks, stackscan.c
 * scans goroutine stacks, sweep.c sweeps, barrier.c shades, pacer.c paces, final.c
 * finalizes, checkmark.c checks).
 * Not for use outside rt/gc/ (the scheduler's hooks are in rt/gc_sched.h).
 */
#ifndef RT_GC_MARK_H
#define RT_GC_MARK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <arch/smp.h>
#include <kernel/spinlock.h>
#include <rt/gc.h>
#include <rt/sched.h>
#include "heap.h"
#include "work.h"

struct g;

/*
 * Phases (gc.c's essay says what each one asks of the mutators):
 *   GC_OFF       no marking; sweeping may be going on (sweepgen says what is swept)
 *   GC_MARK      concurrent marking: barrier on, new objects allocated black
 *   GC_MARKTERM  the world is stopped to finish marking
 * Changed only with the world stopped; read anywhere (with interrupts off when the
 * reader must act on a consistent phase: no stop can come in between).
 */
enum gc_phase { GC_OFF = 0, GC_MARK = 1, GC_MARKTERM = 2 };

extern _Atomic uint32_t gc_phase;
extern _Atomic uint32_t gc_cycle;		/* the current (or last) cycle, from 1 */

/* Kernel command-line options (gc.c). */
extern bool gc_opt_checkmark, gc_opt_trace;

/* The checkmark pass's bits (world stopped): the third part of a span's bitmap block
 * (meta.c) with gccheckmark=1, else NULL. */
static inline uint64_t *span_checkbits(const struct span *s)
{
	if (!gc_opt_checkmark || !s->allocbits)
		return NULL;
	uint64_t *block = s->allocbits < s->markbits ? s->allocbits : s->markbits;
	return block + 2 * span_bitwords(s);
}
/* The mode gc_mode= chose (GC_MODE_*), or -1 when the option was not given. */
int gc_mode_option(void);

/* Per-CPU collector state: touched by its CPU with interrupts off, or by anyone with
 * the world stopped. */
struct gc_cpu {
	struct gcwork w;
	struct g *_Atomic rescan;	/* goroutines to scan again (this CPU's scheduler pushes) */
	uint64_t assist_ns, bg_ns, idle_ns;	/* CPU time marking this cycle, by kind */
	const struct g *scanning;	/* the goroutine whose registers this CPU scans (checkmark's
					 * report names it) */
	uint64_t stack_scans;		/* stacks this CPU scanned, ever (gc_stats: the sum) */
	uint64_t stack_rescans;		/* and rescanned, ever (the same) */
	uint64_t term_rescan_bytes;	/* this cycle's pause: bytes of stack its rescans read, */
	uint64_t term_rescan_total;	/* of stacks this long in all (gctrace; 0 at mark setup) */
	uint64_t frames_skipped;	/* pauses it scanned none of its own frames (gc_test.h) */
	unsigned term_rescans;		/* stacks it rescanned in the last pause (markterm.c) */
} __attribute__((aligned(64)));

extern struct gc_cpu gc_cpus[ARCH_MAX_CPUS];

/* gc_cpu's counters are written only by their own CPU and read by any: a relaxed
 * store of the new value (no read-modify-write), and a sum over the CPUs. */
static inline void gc_cpu_count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

#define GC_CPUS_SUM(field)                                                              \
	({                                                                              \
		uint64_t sum_ = 0;                                                      \
		for (unsigned i_ = 0; i_ < cpu_ids_end; i_++)                           \
			sum_ += __atomic_load_n(&gc_cpus[i_].field, __ATOMIC_RELAXED);  \
		sum_;                                                                   \
	})

/* ---- marking (mark.c) ---------------------------------------------------------------------- */

/* Shade the object p points into (any address; ignored when not a heap object): set its
 * mark bit, queue it on w if it needs scanning. Interrupts off. Returns true if this
 * call marked it. */
bool gc_mark_ptr(uintptr_t p, struct gcwork *w);
/* Shade every aligned word of [lo, hi) that points into a heap object. */
void gc_scan_conservative(uintptr_t lo, uintptr_t hi, struct gcwork *w);
/* Scan the parts over [lo, hi) of s's allocated, marked objects (dirty.c). */
void gc_scan_marked_range(struct span *s, uintptr_t lo, uintptr_t hi, struct gcwork *w);
/* Scan what obj points to without marking obj (finalizers). */
void gc_scan_object_contents(uintptr_t obj, struct gcwork *w);

/* The root jobs of a cycle: data/bss, registered roots, specials, finalizer queue,
 * then every goroutine's stack. Prepared with the world stopped (mark setup). */
void gc_roots_prepare(void);
/* Do one root job if any is left, its scan work in *work (bytes); false when none
 * is. Interrupts on, a goroutine or the scheduler loop (idle marking). */
bool gc_root_job(uint64_t *work);
/* The same with the world stopped, in the stop-the-world mode, after every CPU scanned
 * its running goroutine (stacks of the others straight from their saved contexts). */
bool gc_root_job_stopped(struct gcwork *w);
/* Scan up to a batch of grey objects of w, prefetching ahead; how many (interrupts
 * off). */
unsigned gc_drain_batch(struct gcwork *w);
/* Every root job done (none left to take and none in progress). */
bool gc_roots_done(void);

/* Drain: do root jobs and scan grey objects until there is no work or the budget (in
 * bytes of scan work, 0: unlimited) is spent, or until stop() says so (checked now
 * and then; may be NULL). Interrupts on (each object is scanned with them off).
 * Returns the scan work done. kind: where the time is accounted. */
enum mark_kind { MARK_ASSIST, MARK_BG, MARK_IDLE };
uint64_t gc_drain(enum mark_kind kind, uint64_t budget, bool (*stop)(void));

/* Registered roots (roots.c): scan them / the image's data conservatively (world
 * stopped or concurrently; the lists change under the ctl lock). */
uint64_t gc_roots_scan_data(unsigned chunk, struct gcwork *w);
unsigned gc_roots_data_chunks(void);
/* The bytes of the image's data that are scanned (without the NOSCAN ranges). */
uint64_t gc_roots_data_bytes(void);
uint64_t gc_roots_scan_registered(struct gcwork *w);
/* Describe a root address for checkmark's report ("global ...", "registered root
 * ..."); false if it is in none. */
bool gc_roots_describe(uintptr_t slot, char *buf, size_t len);

/* ---- stacks (stackscan.c) --------------------------------------------------------------------- */

/* Scan g's stack and registers for this cycle, by whichever of the three ways applies
 * (itself, claimed from its saved context, or an IPI to its CPU). Returns when done.
 * Interrupts on. */
void gc_scan_stack(struct g *g);
/* Scan g where it runs: on this CPU, interrupts off, g == this CPU's current
 * goroutine (a self-scan, or an IPI's handler, or the end of marking). */
void gc_scan_stack_here(struct g *g, struct gcwork *w);
/* Scan a goroutine that is not running (its G_SCAN claim held, or the world stopped). */
void gc_scan_stack_saved(struct g *g, struct gcwork *w);
/* The goroutines whose stacks must be scanned again before marking ends: take this
 * cycle's lists (every CPU's rescan list) and scan those not running now. */
void gc_rescan_concurrent(void);
/* Set up stack scanning for a new cycle (world stopped). */
void gc_stacks_prepare(void);
bool gc_stacks_done(void);
/* Take one stack job and run it; false if none was left. */
bool gc_stack_job(void);
bool gc_stack_job_stopped(struct gcwork *w);	/* (gc_root_job_stopped) */
/* Is any stack job left to take? (a hint, no atomic read-modify-write) */
bool gc_stack_jobs_left(void);
/* With the world stopped, on every CPU: rescan this CPU's running goroutine and the
 * goroutines on the rescan lists (any CPU may take any list). Returns how many. */
unsigned gc_rescan_stw(struct gcwork *w);
/* The dirty mode's end of marking, world stopped: point the stack jobs at every
 * goroutine; then each job rescans the ones not running whose stack pages were
 * written since the mark began (how many; *any false when no job was left). */
void gc_dirty_stacks_prepare(void);
unsigned gc_dirty_stack_job(struct gcwork *w, bool *any);
/* With the world stopped, on every CPU: the frames of this CPU's own (interrupt or
 * scheduler) stack, where it was stopped. */
void gc_scan_own_stack(struct gcwork *w);

/* ---- stack barriers (stackbar.c) ---------------------------------------------------------------- */

extern bool gc_opt_stackbar;		/* gc_stackbar= */
/* This cycle uses the hybrid barrier (gc_barrier=hybrid in the concurrent mode; set by
 * the coordinator before the pause that begins marking): stores shade what they
 * overwrite too, and no stack is rescanned (barrier.c). */
extern _Atomic bool gc_hybrid_active;
/* memset(p, 0, n) of heap memory holding pointers, with the hybrid barrier's shading
 * of what it overwrites (gc_free's clearing). */
void gc_zero(void *p, size_t n);
/* The pointers in [p, p+n) stop being roots (gc_remove_roots): the hybrid barrier
 * shades them while the collector marks. */
void gc_shade_cut(const void *p, size_t n);
extern bool gc_stkbar_active;		/* this cycle plants them */
extern _Atomic uint64_t gc_stat_stkbar_planted, gc_stat_stkbar_hits, gc_stat_stkbar_inflight, gc_stat_stkbar_broken;
void gc_stkbar_init(void);
bool gc_stkbar_supported(void);		/* false in the ThreadSanitizer build */
/* A new goroutine on g (its stack's bookkeeping emptied). */
void gc_stkbar_spawn(struct g *g);
/* At g's first scan of the cycle, g stopped (sp, fp, pc where it stands; pc 0: g is
 * scanning itself): plant its barriers. Interrupts off. */
void gc_stkbar_install(struct g *g, uintptr_t sp, uintptr_t fp, uintptr_t pc);
/* g, not running, about to: put back its barriers (the cycle is over). */
void gc_stkbar_remove(struct g *g);
/* A rescan of g (stopped at sp, fp, pc) must read [sp, the result) whole; above it,
 * only the pages written since the mark began. The top of g's frames (g_frames_top)
 * when barriers do not apply. */
uintptr_t gc_stkbar_bound(const struct g *g, uintptr_t sp, uintptr_t fp, uintptr_t pc);

/* Zero GC_SCRUB_BYTES of the stack below the caller (stackscan.c): the collector's own
 * goroutines call it before they park. */
#define GC_SCRUB_BYTES 4096
void gc_scrub_stack(void);

/* ---- the end of marking, the sweep, the cycle (gc.c, sweep.c) ------------------------------------ */

/* The heap reached the trigger: wake the coordinator for a cycle. True for the one
 * call that asked (later ones, until the cycle starts, find it asked). */
bool gc_request_cycle(void);

/* Mark setup (gc.c), the first pause's work, world stopped: the cycle number, root
 * jobs, pacer, phase GC_MARK and the barrier on. The stop-the-world mode runs it in
 * its one pause (markterm.c). */
void gc_mark_setup(void *arg);
/* Bytes allocated since mark setup (black: this cycle keeps them). World stopped. */
uint64_t gc_black_alloc_bytes(void);

/* Mark termination (markterm.c): the second pause, every CPU taking part, for a cycle
 * of mode (GC_MODE_*) whose concurrent mark is done (the stop-the-world mode's whole
 * mark). Ends with the sweep set up, phase GC_OFF and the pacer's next goal. The
 * coordinator only, interrupts on. Returns the pause in ns and the cycle's counts. */
struct gc_term_result {
	uint64_t heap_marked;		/* bytes marked, those allocated black included */
	uint64_t scan_work;		/* bytes scanned */
	uint64_t heap_live_end;		/* the heap in use at the end (trace) */
	uint64_t rescans;		/* stacks scanned in the pause */
	unsigned idle_cpus;		/* CPUs the stop found idle (their share done by the owner) */
};
uint64_t gc_mark_terminate(int mode, struct gc_term_result *r);

/* malloc.c: size classes, heap and centrals (gc_init). */
void gc_alloc_init(void);
/* A new sweep generation: the background sweep starts from the first class (world stopped). */
void gc_sweep_reset(void);

/* Sweep one span of any class; false when nothing is left to sweep. */
bool gc_sweep_one(void);
/* Sweep until everything is swept. */
void gc_sweep_finish(void);
/* The background sweeper goroutine. */
void gc_sweeper_start(void);
/* Ask the sweeper to start on a new sweep generation. */
void gc_sweeper_wake(void);
extern _Atomic uint64_t gc_swept_frees, gc_swept_bytes;

/* Cross-call target: flush this CPU's work buffers; *arg (a bool) set if any had work. */
void gc_flush_cpu_work(void *arg);

/* ---- pacing (pacer.c) ------------------------------------------------------------------------------ */

void pacer_heap_live_add(int64_t delta);
extern _Atomic int64_t pacer_live;
static inline uint64_t pacer_heap_live(void)
{
	int64_t v = atomic_load_explicit(&pacer_live, memory_order_relaxed);
	return v > 0 ? (uint64_t)v : 0;
}
/* Allocation of n bytes by the current goroutine during marking: assist in
 * proportion. Interrupts on, a goroutine. */
void pacer_alloc(struct g *g, size_t n);
/* The same in two halves, for the small-object path, which has interrupts off already
 * (Go's deductAssistCredit, then gcAssistAlloc): pacer_debit takes n bytes from g's
 * account, with interrupts off, and says whether g is in debt; pacer_assist then
 * pays, with interrupts on. */
static inline bool pacer_debit(struct g *g, size_t n)
{
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) != GC_MARK || g->gc_system)
		return false;
	uint32_t cyc = atomic_load_explicit(&gc_cycle, memory_order_relaxed);
	if (g->gc_assist_cycle != cyc) {	/* a new cycle: a clean account */
		g->gc_assist_cycle = cyc;
		g->gc_assist_bytes = 0;
	}
	g->gc_assist_bytes -= (int64_t)n;
	return g->gc_assist_bytes < 0;
}
void pacer_assist(struct g *g);
/* The heap grew for the current goroutine's allocation (a span cached, a large
 * object): start a cycle if it reached the trigger. Interrupts on, a goroutine. */
void pacer_heap_grew(struct g *g);
/* Cycle boundaries (world stopped), and the end's second half on the coordinator
 * once the world runs again (the trigger's feedback, the next goal). */
void pacer_mark_start(void);
void pacer_mark_end(uint64_t heap_marked, uint64_t scan_work, uint64_t assist_ns, uint64_t free_ns);
void pacer_mark_done(void);
/* Ready the goroutines waiting for the collector to move on (pacer.c: assists with
 * no work to take, allocations past the goal before a cycle's marking began), after
 * each phase change, and when markers deposit credit. Any context. */
void pacer_wake_waiters(void);
/* Around code the collector's goroutine runs that it does not own (gc.c call_hook):
 * no allocation waits for the collector meanwhile, and those waiting are readied. */
void pacer_waits_suspend(void);
void pacer_waits_resume(void);
extern _Atomic uint64_t pacer_assist_waits;
/* The stop-the-world mode (gc_set_mode): cycles start at the goal itself, since the
 * heap does not grow while they mark. */
void pacer_set_stw(bool stw);
extern _Atomic uint64_t pacer_heap_marked, pacer_heap_goal, pacer_heap_trigger;
extern _Atomic int pacer_percent;
/* Scan work done by background/idle marking, which assists may spend (bytes). */
void pacer_bg_credit(uint64_t work);

/* ---- statistics (stats in gc.c) ------------------------------------------------------------------------ */

void stats_flush_cache(struct mcache *mc);
extern _Atomic uint64_t gc_stat_stack_scans_ipi;
extern _Atomic uint64_t gc_mark_bytes;	/* bytes marked this cycle (flushed gcwork counters) */
extern _Atomic uint64_t gc_scan_work;	/* bytes scanned this cycle */

/* ---- finalizers (final.c) ------------------------------------------------------------------------------- */

/* Mark what objects with finalizers point to, and the finalizer queue (a root job). */
void final_mark_roots(struct gcwork *w);
/* A sweep found object obj of span s dead: if it has a finalizer, queue it, mark obj
 * (it lives until the finalizer ran) and return true. Called for every dead object of
 * spans with specials. */
void final_sweep_span(struct span *s);
void final_start(void);
/* If set: called by the collector's goroutine at a cycle's start (before its first
 * pause), just before and just after each stop of the world, and at its end (after
 * the last). Short, no allocation, no blocking. */
enum gc_hook_event { GC_HOOK_START, GC_HOOK_STOP, GC_HOOK_RESUME, GC_HOOK_END };
extern void (*_Atomic gc_cycle_hook)(enum gc_hook_event ev);
/* Between cycles, to change what the hook reports to: gc_cycles_hold returns once no
 * cycle is under way, and none starts until gc_cycles_release (each cycle reads the
 * hook once, at its start: so all of a cycle's events go to one hook, and none comes
 * after a release that set it NULL). Goroutine context, never from the hook. */
void gc_cycles_hold(void);
void gc_cycles_release(void);
/* Wait until no finalizer is queued or running (not from a finalizer: returns at once);
 * how many ran meanwhile. */
uint64_t final_wait_idle(void);
bool final_pending(void);
/* gc_free of p: its finalizer, if any, is dropped. */
void final_forget(void *p);
/* The Boehm-style registration (gc.h): fn(obj, cd) once obj is unreachable; replaces
 * (and returns through ofn/ocd) a finalizer registered this way; fn NULL removes it.
 * ignore_self: pointers from obj into itself do not keep it alive. Panics named `who`
 * when p does not start a heap object. */
void final_set_cd(const char *who, void *p, void (*fn)(void *, void *), void *cd, bool ignore_self,
		  void (**ofn)(void *, void *), void **ocd);
bool final_describe(uintptr_t slot, char *buf, size_t len);

/* Disappearing links (weak.c). register: 0, or 1 when link is registered already (the
 * old registration stays); panics on a misaligned link or an obj that does not start a
 * heap object. unregister: whether link was registered. clear_dead: world stopped,
 * marking over: clear the links whose object is unmarked; how many. */
int weak_register(void **link, const void *obj);
bool weak_unregister(void **link);
unsigned weak_clear_dead(void);
extern _Atomic uint64_t final_run_count;

/* ---- the dirty-page mode (dirty.c) ----------------------------------------------------------------------- */

/* Before mark setup: make the heap's and the stacks' pages clean (and shoot down). */
void dirty_mark_start(void);
/* ... the stacks' only (stack barriers' guard, stackbar.c). */
void dirty_take_stacks(void);
/* Mark termination: set up the jobs (world stopped, the owner alone); then every CPU
 * takes them until none is left. */
void dirty_term_prepare(void);
bool dirty_term_job(struct gcwork *w);
/* Concurrent marking out of work: rescan the heap pages written so far (the
 * collector's goroutine, interrupts on); how many. */
uint64_t dirty_preclean(void);
uint64_t dirty_cycle_precleaned(void);
uint64_t dirty_cycle_pages(void);
uint64_t dirty_cycle_stacks(void);
extern _Atomic uint64_t gc_stat_dirty_pages;

/* ---- checkmark (checkmark.c) ----------------------------------------------------------------------------- */

/* World stopped, marking done: re-mark everything from the roots with the check bits
 * and panic on any reachable object whose mark bit is clear. */
void checkmark_scan_roots(struct gcwork *w);
extern bool checkmark_active;	/* gc_mark_ptr uses the check bits (the check pass) */
extern bool gc_one_cpu;		/* one CPU online: mark bits set without atomics (mark.c) */
/* The check pass reports the slot: the marker tells it where it read the pointer. */
void checkmark_found(uintptr_t slot, uintptr_t p, struct span *s, uint32_t idx);

#endif
