/*
 * rt/gc/barrier.c: the write barrier's slow path (Go's mbarrier.go, the Dijkstra
 * insertion barrier of Go 1.5-1.7).
 *
 * The invariant while marking: no black object points to a white one. A store of p
 * into a heap object (or a global, or a registered root) shades p: whatever the object
 * was, p is now at least grey. Stores into stacks are not barriered, which is why
 * stacks that ran are scanned again at the end of marking (stackscan.c).
 *
 * The fast path (rt/gc.h gc_store) stores first and then tests gc_barrier_on with a
 * plain load, no fence: the flag only changes with the world stopped, and a stop is a
 * full synchronisation of every CPU, so a store and the test that follows it are
 * either both before the pause that turns marking on (and the store is in the heap
 * when marking starts), or the test is after it and sees the flag. gc_shade then
 * checks the phase again with interrupts off: a test that saw the flag just before the
 * pause that ends marking must not touch mark bits or work buffers that belong to the
 * sweep by the time it runs; with interrupts off no pause can come in between.
 *
 * Context: anywhere, interrupt handlers included (the timers' heaps are linked with
 * barriered stores in the timer interrupt): it uses this CPU's work buffers with
 * interrupts off, which no interrupted code can be in the middle of.
 */
#include <kernel/cpu.h>
#include "mark.h"

_Atomic uint32_t gc_barrier_on;

void gc_shade(const void *p)
{
	if (!p)
		return;
	irq_push();
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK)
		gc_mark_ptr((uintptr_t)p, &gc_cpus[cpu_id()].w);
	irq_pop();
}

void gc_shade_range(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, end = a + n;
	while (a < end) {
		uintptr_t piece = end - a > 4096 ? a + 4096 : end;
		irq_push();
		if (atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK)
			gc_scan_conservative(a, piece, &gc_cpus[cpu_id()].w);
		irq_pop();
		a = piece;
	}
}
