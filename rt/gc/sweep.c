/*
 * rt/gc/sweep.c: sweeping (Go's mgcsweep.go): turning a span's mark bits into its
 * allocation bits once marking is over.
 *
 * The end of marking flips the sweep generation (heap.h), which makes every span
 * unswept at once; from then on spans are swept lazily, by the allocator that wants
 * to reuse them (central.c), and in the background, by the sweeper goroutine, one
 * span at a time with a yield now and then. A new cycle first finishes the sweep
 * (gc_sweep_finish: sweep termination): marking needs every span's mark bits clear.
 *
 * Sweeping a span (claimed: sweepgen sg - 1, off every list):
 *   1. its finalizers (final.c): an object with a finalizer that was not marked is
 *      queued for its finalizer and marked, so it survives this sweep (what it points
 *      to was marked through it, final.c);
 *   2. the objects allocated before the sweep (index below freeindex, or alloc bit set)
 *      that are not marked are freed: the new alloc bits are the mark bits (masked by
 *      the allocated ones, so a stray mark on a free slot cannot turn it into an
 *      allocated one), and the mark and check bits are cleared for the next cycle;
 *   3. a span left with no object goes back to the page heap (unless the allocator
 *      sweeping it takes it at once: central.c); otherwise its allocation state
 *      restarts at freeindex 0, and memory of freed objects is dirty (needzero).
 * The caller publishes sweepgen = sg where it puts the span (central.c).
 *
 * Reclaiming (Go's mheap.reclaim): each span the page heap hands out while a sweep is
 * under way first has spans of any class swept until as many pages came back to it
 * (gc_sweep_reclaim). Without that, the spans garbage holds stay unswept while the
 * heap maps memory for new ones: an allocator sweeps only its own class's spans, a
 * hundred at most per refill (central.c), and the background sweeper gets little time
 * when the program keeps every CPU busy. (GCBench's peak heap: 2 MiB less.)
 *
 * Sweep termination must know no sweep is still running: `active` counts sweeps in
 * progress, and gc_sweep_finish waits for it to reach zero after the cursor ran out.
 */
#include <string.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/stack.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>
#include "mark.h"

_Atomic uint64_t gc_swept_frees, gc_swept_bytes;
static _Atomic unsigned sweep_cursor;	/* the span class being swept in the background */
static _Atomic int sweep_active;	/* sweeps in progress */

void gc_sweep_reset(void)
{
	atomic_store(&sweep_cursor, 0);
}

bool span_sweep(struct span *s, uint32_t sg, bool keep_empty)
{
	KASSERT(atomic_load(&s->sweepgen) == sg - 1);
	if (span_has_specials(s))
		final_sweep_span(s);
	uint32_t fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
	uint32_t allocated = 0, live = 0;
	uint64_t *checkbits = span_checkbits(s);
	for (uint32_t wi = 0, bw = span_bitwords(s); wi < bw; wi++) {
		uint64_t alloc = span_allocated_word(s, wi, fi);
		uint64_t mark = __atomic_load_n(&s->markbits[wi], __ATOMIC_RELAXED) & alloc;
		allocated += (uint32_t)__builtin_popcountll(alloc);
		live += (uint32_t)__builtin_popcountll(mark);
		/* (atomic: span_isfree reads these beside the sweep, then freeindex's reset
		 * in span_alloc_reset publishes them) */
		__atomic_store_n(&s->allocbits[wi], mark, __ATOMIC_RELAXED);
		__atomic_store_n(&s->markbits[wi], 0, __ATOMIC_RELAXED);
		if (checkbits)
			checkbits[wi] = 0;
	}
	uint32_t freed = allocated - live;
	if (freed) {
		atomic_fetch_add_explicit(&gc_swept_frees, freed, memory_order_relaxed);
		atomic_fetch_add_explicit(&gc_swept_bytes, (uint64_t)freed * s->elemsize, memory_order_relaxed);
	}
	if (live == 0 && !keep_empty) {
		if (spanclass_size(s->spanclass) == 0)
			atomic_fetch_sub_explicit(&gcheap.large_live, (uint64_t)s->npages * PAGE_SIZE,
						  memory_order_relaxed);
		KASSERT(!span_has_specials(s));
		heap_free_span(s);
		return true;
	}
	span_alloc_reset(s);
	if (freed)
		s->needzero = true;
	return false;
}

/*
 * One span is taken and swept with interrupts off, like the allocator's sweeps: the
 * flip at the end of marking happens with the world stopped, so it cannot fall between
 * reading the sweep generation and the sweep. (Were it to, a stale generation would
 * find no span "unswept" in it and move the cursor past classes that were never
 * swept.) The sweep also counts itself active, so that gc_sweep_finish, which waits
 * for the count to drop to zero after the cursor ran out, knows no span it did not see
 * is still being swept against the old marks.
 */
static bool sweep_next(uint32_t *freed_pages)
{
	atomic_fetch_add(&sweep_active, 1);
	irq_push();
	uint32_t sg = atomic_load(&gcheap.sweepgen);
	bool did = false;
	for (;;) {
		unsigned c = atomic_load(&sweep_cursor);
		if (c >= NUM_SPANCLASSES)
			break;
		struct span *s = central_take_unswept(&gc_central[c], sg);
		if (!s) {
			/* none left in this class for this sweep generation: on to the next */
			atomic_compare_exchange_strong(&sweep_cursor, &c, c + 1);
			continue;
		}
		uint32_t npages = s->npages;	/* (a freed span may be merged at once) */
		if (!span_sweep(s, sg, false))
			central_put_swept(&gc_central[c], s);
		else
			*freed_pages += npages;
		did = true;
		break;
	}
	irq_pop();
	atomic_fetch_sub(&sweep_active, 1);
	return did;
}

bool gc_sweep_one(void)
{
	uint32_t freed = 0;
	return sweep_next(&freed);
}

uint32_t gc_sweep_reclaim(uint32_t npages, unsigned budget)
{
	/* nearly always nothing is left: then no shared counter is touched (a flip read
	 * late only skips one reclaim) */
	if (atomic_load_explicit(&sweep_cursor, memory_order_relaxed) >= NUM_SPANCLASSES)
		return 0;
	uint32_t freed = 0;
	while (freed < npages && budget-- > 0 && sweep_next(&freed))
		;
	return freed;
}

void gc_sweep_finish(void)
{
	while (gc_sweep_one())
		;
	/* wait for sweeps others started (the allocator's, the sweeper's) */
	while (atomic_load(&sweep_active))
		go_yield();
}

/* ---- the background sweeper ------------------------------------------------------------------ */

static struct sema sweeper_sema = SEMA_INIT(0);
static void scavenger_wake(void);
_Atomic bool gc_sweeper_idle;		/* parked, with no wake-up pending */

void gc_sweeper_wake(void)
{
	atomic_store(&gc_sweeper_idle, false);
	sema_release(&sweeper_sema);
}

/*
 * The sweeper's stack is never scanned (gc_noroots, stackscan.c), so it never sleeps:
 * a sleeping goroutine's timer node is a link of its CPU's timer heap, and the
 * go_timer objects below it would be reachable through an unscanned stack only (a
 * lost object: seen as a freed go_after_func timer whose memory the timer interrupt
 * kept firing). The delay before scavenging is the scavenger's, a goroutine of its
 * own whose stack is scanned like any other: it handles spans, never objects.
 */
static void sweeper(void *arg)
{
	(void)arg;
	struct g *self = sched_curg();
	self->gc_system = true;
	__atomic_store_n(&self->gc_noroots, true, __ATOMIC_RELAXED);	/* (stackscan.c) */
	for (;;) {
		if (!sema_tryacquire(&sweeper_sema)) {
			atomic_store(&gc_sweeper_idle, true);
			sema_acquire_as(&sweeper_sema, "GC sweep wait", false);
			atomic_store(&gc_sweeper_idle, false);
		}
		while (atomic_load(&gc_test_hold_sweep))
			go_yield();
		unsigned n = 0;
		while (gc_sweep_one())
			if (++n % 16 == 0)
				go_yield();
		/* once per cycle: parked goroutines' stacks give back their deep pages */
		sched_shrink_stacks();
		scavenger_wake();
	}
}

/* ---- the background scavenger ------------------------------------------------------------------ */

/* Idle heap memory goes back to the page allocator once it has been free this long. */
#define SCAVENGE_DELAY_NS (500ull * 1000 * 1000)

static struct sema scavenger_sema = SEMA_INIT(0);
static _Atomic bool scavenger_pending;	/* woken, not yet past its wait */

static void scavenger_wake(void)
{
	if (!atomic_exchange(&scavenger_pending, true))
		sema_release(&scavenger_sema);
}

/* After each sweep, wait out the delay and give back what has been idle as long, and
 * so on while free chunks are still waiting for their time (they were freed after the
 * wait began). One wake-up per delay at most, however many cycles ran meanwhile. */
static void scavenger(void *arg)
{
	(void)arg;
	sched_curg()->gc_system = true;
	for (;;) {
		sema_acquire_as(&scavenger_sema, "GC scavenge wait", false);
		uint64_t due = clock_ns() + SCAVENGE_DELAY_NS;
		do {
			uint64_t now = clock_ns();
			if (due > now)
				go_sleep(due - now);
			atomic_store(&scavenger_pending, false);
			heap_scavenge(SCAVENGE_DELAY_NS, &due);
		} while (due);
	}
}

void gc_sweeper_start(void)
{
	go_stack(sweeper, NULL, STACK_DEFAULT_SIZE);	/* the runtime's: not gstack_kib's */
	go_stack(scavenger, NULL, STACK_DEFAULT_SIZE);
}
