/*
 * rt/gc/barrier.c: the write barrier's slow paths (Go's mbarrier.go), for both of
 * the concurrent mode's barriers:
 *
 *  - Dijkstra's insertion barrier (the default; Go 1.5-1.7): a store shades the
 *    pointer it stores. The invariant while marking: no black object points to a
 *    white one. Stacks take no barrier, so a stack that ran after its scan may hold
 *    the only pointer to a white object: such stacks are scanned again at the end of
 *    marking (stackscan.c's rescans, bounded by stack barriers, stackbar.c).
 *
 *  - The hybrid barrier (gc_barrier=hybrid; Go 1.8's, Yuasa's deletion barrier with
 *    Dijkstra's insertion): a store shades the pointer it overwrites and the one it
 *    stores. The invariant is the weak one: a white object that a black object or a
 *    scanned stack points to is still reachable from a grey object through white
 *    ones, because cutting any pointer on that path shades its target. A scanned
 *    stack can only have obtained a white pointer by reading it from the heap (what
 *    it held when scanned was shaded), so in Go no stack is scanned twice. The price:
 *    twice the shading while marking, and every store that overwrites a pointer in
 *    the heap or a root needs the barrier, NULL stores included (under the insertion
 *    barrier a NULL store needs none); rt/'s own (channels, timers, finalizer queue,
 *    gc_free, gc_remove_roots) shade what they cut.
 *
 *    In C the stacks are scanned conservatively, and that takes back part of the
 *    gain. A frame built after the scan (over frames that returned, or deeper) has
 *    slots it never writes, holding what was there before, and images of registers
 *    that held nothing live (the argument registers a variadic call spills, the
 *    registers the preemption trampoline saves): words the program never reads, which
 *    point to objects the mark rightly left white, and which a whole-stack check
 *    (checkmark, and any later cycle's scan) reads as pointers. Go's precise stack
 *    maps tell such words apart; a conservative scan cannot. So the end of marking
 *    still reads, in every stack that ran since its scan, the frames rebuilt since:
 *    from sp to the lowest stack barrier not hit (stackbar.c; the hybrid barrier
 *    turns them on). What the frames above it hold was scanned, or was written there
 *    through a pointer by a deeper frame: a value the goroutine obtained after its
 *    scan, which the weak invariant keeps alive without a rescan. That is what the hybrid barrier
 *    saves in C: the pages written above the barriers that the insertion barrier
 *    must rescan (stackscan.c scan_written), on the hosted platform every page above
 *    them (its stack pages are not tracked).
 *
 * The fast paths (rt/gc.h) read the flag with a plain load and no fence: it only
 * changes with the world stopped, and a stop is a full synchronisation of every CPU.
 * A store that saw the flag set does the rest here with interrupts off and the phase
 * checked again: no pause can come in between, so a test that saw the flag just
 * before the pause that ends marking does nothing once it runs (marking is over; the
 * mark bits and work buffers belong to the sweep), and a store that overwrites a
 * pointer while marking has shaded it before the end of marking can look.
 *
 * Copies (gc_copy): the hybrid barrier must shade the pointers a copy overwrites, and
 * the fast path cannot read them before moving without copying them aside; so with
 * the hybrid barrier selected every copy takes the slow path (GC_BARRIER_HYBRID in
 * the flag at all times), which moves piece by piece with interrupts off and shades
 * what it overwrites while the collector marks. A copy that began before the pause
 * that starts marking and moved after it would otherwise overwrite unshaded pointers.
 *
 * Context: anywhere, interrupt handlers included (the timers' heaps are linked with
 * barriered stores in the timer interrupt): it uses this CPU's work buffers with
 * interrupts off, which no interrupted code can be in the middle of.
 */
#include <string.h>
#include <kernel/cpu.h>
#include "mark.h"

_Atomic uint32_t gc_barrier_on;
_Atomic bool gc_hybrid_active;

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

bool gc_barrier_shades_old(void)
{
	return gc_hybrid_active && atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK;
}

void gc_store_marking(void **slot, const void *p)
{
	irq_push();
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK) {
		struct gcwork *w = &gc_cpus[cpu_id()].w;
		void *old = __atomic_load_n(slot, __ATOMIC_RELAXED);
		if (gc_hybrid_active && old)
			gc_mark_ptr((uintptr_t)old, w);
		__atomic_store_n(slot, (void *)p, __ATOMIC_RELAXED);
		if (p)
			gc_mark_ptr((uintptr_t)p, w);
	} else {
		__atomic_store_n(slot, (void *)p, __ATOMIC_RELAXED);
	}
	irq_pop();
}

void gc_store_late(const void *old, const void *p)
{
	irq_push();
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK) {
		struct gcwork *w = &gc_cpus[cpu_id()].w;
		if (gc_hybrid_active && old)
			gc_mark_ptr((uintptr_t)old, w);
		if (p)
			gc_mark_ptr((uintptr_t)p, w);
	}
	irq_pop();
}

void gc_copy_slow(void *dst, const void *src, size_t n)
{
	/* overlapping with dst above src: from the end, so no piece reads what an
	 * earlier one wrote */
	bool back = (uintptr_t)dst > (uintptr_t)src && (uintptr_t)dst < (uintptr_t)src + n;
	for (size_t done = 0; done < n;) {
		size_t len = n - done > 4096 ? 4096 : n - done;
		size_t off = back ? n - done - len : done;
		uintptr_t d = (uintptr_t)dst + off;
		irq_push();
		bool marking = atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK;
		struct gcwork *w = &gc_cpus[cpu_id()].w;
		if (marking && gc_hybrid_active)
			gc_scan_conservative(d, d + len, w);
		memmove((void *)d, (const char *)src + off, len);
		if (marking)
			gc_scan_conservative(d, d + len, w);
		irq_pop();
		done += len;
	}
}

void gc_zero(void *p, size_t n)
{
	if (!(atomic_load_explicit(&gc_barrier_on, memory_order_relaxed) & GC_BARRIER_HYBRID)) {
		memset(p, 0, n);
		return;
	}
	for (size_t done = 0; done < n;) {
		size_t len = n - done > 4096 ? 4096 : n - done;
		uintptr_t d = (uintptr_t)p + done;
		irq_push();
		if (gc_barrier_shades_old())
			gc_scan_conservative(d, d + len, &gc_cpus[cpu_id()].w);
		memset((void *)d, 0, len);
		irq_pop();
		done += len;
	}
}

void gc_shade_cut(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, end = a + n;
	while (a < end) {
		uintptr_t piece = end - a > 4096 ? a + 4096 : end;
		irq_push();
		if (gc_barrier_shades_old())
			gc_scan_conservative(a, piece, &gc_cpus[cpu_id()].w);
		irq_pop();
		a = piece;
	}
}
