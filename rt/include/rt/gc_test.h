/*
 * rt/gc_test.h: hooks into the collector for its tests only (Go's export_test.go).
 * Nothing here is part of the collector's interface (rt/gc.h); programs must not use it.
 *
 *   gc_test_mark_done_hook   if set, called by the collector's goroutine when
 *                            concurrent marking has found no work left, just before
 *                            the mark-termination pause: every object reachable then
 *                            is black. A test uses it to store a pointer without the
 *                            barrier (which checkmark must catch) or to look at mark
 *                            bits. Runs in the collector's goroutine; may not allocate.
 *                            In the stop-the-world mode: just before the pause.
 *   gc_test_mark_start_hook  if set, called by the collector's goroutine just after
 *                            the pause that begins concurrent marking, before it
 *                            marks anything itself (idle CPUs and assists may mark
 *                            meanwhile; on one CPU nothing else does while the hook
 *                            keeps the CPU busy). May block; may not allocate.
 *   gc_test_hold_marking     while true, no marker drains (the collector's goroutine,
 *                            idle CPUs, assists: a stack scan still greys what it
 *                            finds): set before a cycle and cleared by the mark-start
 *                            hook, it keeps every object white while the hook acts
 *   gc_test_hold_term        while true, the collector's goroutine, its marking done,
 *                            does not go on to mark termination: it yields until the
 *                            flag is cleared, as if the host held its CPU back (the
 *                            hooks above do not: while one runs, allocations do not
 *                            wait for the collector, which the hook may be waiting
 *                            for); gc_test_term_holds counts the holds begun
 *   gc_test_hold_sweep       while true, the background sweeper sweeps nothing and
 *                            gc_collect returns without finishing the sweep: after a
 *                            cycle, spans stay unswept until an allocation sweeps
 *                            them (its own class's lazily, any class's when the page
 *                            heap reclaims) or the next cycle begins
 *   gc_test_scan_stack(g)    while marking: scan g's stack now, as a stack job would
 *                            (g parked, runnable, running elsewhere, or the caller)
 *   gc_test_scrub_stack()    zero 16 KiB of the stack below the caller: a test that
 *                            wants an object collected calls it after the frames that
 *                            handled the object returned (the stack is scanned
 *                            conservatively: a stale word there would keep it)
 *   gc_test_cycles_started   cycles whose marking has begun
 *   gc_test_marked(p)        is the heap object p points into marked in the current
 *                            cycle? (false outside the heap)
 *   gc_test_span_type(p)     the type recorded by the span of p's object: the name
 *                            of the one type all its objects have, "typed, several
 *                            types", "(none)" (no object yet) or "(not typed)"
 *   gc_test_in_span(p)       does the collector's lookup (span_of) find p in an
 *                            in-use span? (what a marker asks of every conservative word)
 *   gc_test_meta_alias(hold) hold: take 64 metadata blocks of a span struct's size, as
 *                            a span's bitmaps would, fill each with bits that read as
 *                            an in-use span covering every address, and return how
 *                            many span-map entries name one of them (a stale entry
 *                            must only ever name a span struct: 0); !hold: give
 *                            them back
 *   gc_test_phase()          0 off, 1 marking, 2 mark termination
 *   gc_test_cycle()          the current (or last) cycle's number
 *   gc_test_cycle_info(n, &ci)  what cycle n cost (the last GC_TEST_CYCLES cycles are
 *                            kept): its two pauses, its concurrent mark, the bytes it
 *                            marked and scanned; false if n is not kept (or not over)
 *   gc_test_stackbar(on), gc_test_stkbar_*   stack barriers (below)
 *   gc_test_barrier(hybrid)  the concurrent mode's write barrier (below)
 *   gc_test_quiesce()        turn automatic collections off and wait until no cycle
 *                            runs and the background sweeper is idle (it shrinks
 *                            stacks and returns memory to the page allocator: tests
 *                            that count pages or stack pages want it quiet); returns
 *                            the percentage to give back to gc_set_percent
 */
#ifndef RT_GC_TEST_H
#define RT_GC_TEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

extern void (*_Atomic gc_test_mark_done_hook)(void);	/* (atomic: tests set them while an */
extern void (*_Atomic gc_test_mark_start_hook)(void);	/*  automatic cycle may run) */
extern _Atomic bool gc_test_hold_marking;
extern _Atomic bool gc_test_hold_sweep;
extern _Atomic bool gc_test_hold_term;
extern _Atomic uint64_t gc_test_term_holds;
struct g;
void gc_test_scan_stack(struct g *g);
void gc_test_scrub_stack(void);
extern _Atomic uint64_t gc_test_cycles_started;
extern _Atomic uint64_t gc_test_term_idle_cpus;	/* CPUs' shares of mark termination
							 * done by the owner (left asleep) */
extern _Atomic uint64_t gc_test_term_retired;	/* CPUs that retired from mark
							 * termination's drain out of work */
uint64_t gc_test_term_frames_skipped(void);	/* own-stack scans skipped: the stop's
						 * interrupt stacked every frame */
bool gc_test_marked(const void *p);
bool gc_test_in_span(const void *p);
unsigned gc_test_meta_alias(bool hold);
const char *gc_test_span_type(const void *p);
unsigned gc_test_phase(void);
uint32_t gc_test_cycle(void);
int gc_test_quiesce(void);

#define GC_TEST_CYCLES 4096

struct gc_cycle_info {
	uint32_t cycle;
	unsigned nprocs;
	uint64_t pause_setup_ns;	/* the first stop: sweep termination, mark setup */
	uint64_t mark_ns;		/* concurrent marking, wall clock */
	uint64_t pause_term_ns;		/* the second stop: mark termination */
	uint64_t marked_bytes, scan_bytes;
	uint64_t heap_goal;		/* the goal the cycle ran against (the pacer's when it
					 * started; gctrace's "MB goal", as Go's) */
	uint64_t rescanned_stacks;	/* stacks scanned in the second pause */
	unsigned term_idle_cpus;	/* CPUs the second stop found idle (claimed, their
					 * share done by the stopping CPU), not stopped by IPI */
	uint64_t dirty_pages;		/* GC_MODE_DIRTY: heap pages written during marking,
					 * rescanned in the second pause */
	uint64_t precleaned_pages;	/* ... rescanned before it (dirty.c's precleaning) */
	uint64_t dirty_stacks;		/* ... and stacks rescanned because pages of theirs were */
	int mode;			/* the cycle's GC_MODE_* */
	uint64_t stack_rescan_bytes;	/* stack bytes the second pause's rescans read */
	uint64_t stack_rescan_total;	/* ... of stacks this large (sp to top) */
	bool stackbar;			/* stack barriers were planted (gc_stackbar=1) */
	bool hybrid;			/* the hybrid barrier (gc_barrier=hybrid) */
};
bool gc_test_cycle_info(uint32_t cycle, struct gc_cycle_info *out);

/* Stack barriers (rt/gc/stackbar.c): turn them on or off for the cycles that start
 * from now (the gc_stackbar option; returns the old setting); how many are planted in
 * g's live frames; the returns through one since boot; the installs given up because
 * a return through one was under way. */
struct g;
bool gc_test_stackbar(bool on);
/* The concurrent mode's barrier for the cycles that start from now: the hybrid one
 * (true) or the insertion barrier (the gc_barrier option; returns the old setting).
 * Call it with automatic collections off (gc_test_quiesce): a copy under way when it
 * changes must not meet the start of a cycle. */
bool gc_test_barrier(bool hybrid);
/* Both at once, for the cycles that follow, with automatic collections off
 * (gc_test_quiesce) until gc_test_settings_restore puts back what it returns. */
struct gc_test_settings {
	int percent;
	bool stackbar, hybrid;
};
struct gc_test_settings gc_test_settings_set(bool stackbar, bool hybrid);
void gc_test_settings_restore(struct gc_test_settings s);
bool gc_test_stackbar_supported(void);	/* false in the ThreadSanitizer build */
unsigned gc_test_stkbar_planted(const struct g *g);
uint64_t gc_test_stkbar_hits(void);
uint64_t gc_test_stkbar_inflight(void);
/* ... stacks left without barriers (a chain of frame records not whole); barriers
 * planted since boot */
uint64_t gc_test_stkbar_broken(void);
uint64_t gc_test_stkbar_planted_total(void);

#endif
