/*
 * rt/gc/cache.c: the per-CPU span caches (Go's mcache).
 *
 * Each CPU allocates small objects from one span per span class that only it holds,
 * so the fast path (malloc.c) takes no lock and makes no atomic read-modify-write: it
 * runs with interrupts off (the CPU's cache is per-CPU data, and a goroutine may move
 * between CPUs wherever interrupts are on), finds the next free object in the span's
 * alloccache with a count-trailing-zeros, and advances freeindex. When the span is
 * full, mcache_refill hands it back to its central list and takes another.
 *
 * The cache's state is consistent at every point where interrupts are on or a wait
 * loop may answer a cross-call: a stop-the-world (the end of marking flushes every
 * cache, heap.h) finds each class either holding a span or NULL.
 *
 * While marking, every object allocated is black (mark.h). The fast path does not set
 * mark bits one object at a time (that was an atomic OR per allocation, a quarter of
 * it): a span's free slots are blackened, a few words of atomic OR, when a cache takes
 * it while marking (mcache_refill) and, for the spans cached when marking starts, by
 * mark setup with the world stopped (mcache_blacken_all). A blackened slot that is
 * never allocated stays free: the sweep counts only the marks of allocated slots
 * (span_sweep), and a marker never marks a free slot (mark_slow). Since every cache is
 * flushed when marking ends, no span blackened in one cycle is allocated from after
 * it, and the phase cannot change between a refill's test of it and the blackening
 * (both with interrupts off; the phase changes with the world stopped).
 *
 * Accounting for the pacer (pacer.c): the free part of a span is counted as live
 * heap when the cache takes it, and what is still free is subtracted when it gives it
 * back (Go's heapLive). So heap_live grows a span at a time, not per object, and the
 * fast path updates no shared counter. The statistics of objects and bytes allocated
 * are kept the same way, per CPU: the fast path counts nothing at all.
 */
#include <arch/noscan.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include "heap.h"
#include "mark.h"

struct mcache gc_mcaches[ARCH_MAX_CPUS];
NOSCAN(gc_mcaches);	/* spans: metadata, not heap objects */

static bool spanclass_of_cache_check(struct span *s, unsigned sc)
{
	return s->spanclass != sc || atomic_load(&s->state) != SPAN_INUSE;
}

/* Mark the free slots of s from freeindex on: what is allocated there from now on is
 * black. Markers set other bits of the same words, hence the atomic OR. */
static void span_blacken_free(struct span *s)
{
	uint32_t fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
	for (uint32_t wi = fi / 64, bw = span_bitwords(s); wi < bw; wi++) {
		uint64_t free = span_valid_word(s, wi) & ~span_allocated_word(s, wi, fi);
		if (free)
			__atomic_fetch_or(&s->markbits[wi], free, __ATOMIC_RELAXED);
	}
}

/* Each class mc caches: for (sc = first(mc, 0); sc < NUM_SPANCLASSES; sc = first(mc, sc + 1)) */
static unsigned first_cached(const struct mcache *mc, unsigned from)
{
	for (unsigned w = from / 64; w < (NUM_SPANCLASSES + 63) / 64; w++) {
		uint64_t bits = mc->cached[w];
		if (w == from / 64)
			bits &= ~0ull << (from % 64);
		if (bits)
			return w * 64 + (unsigned)__builtin_ctzll(bits);
	}
	return NUM_SPANCLASSES;
}
#define FOR_EACH_CACHED(mc, sc) \
	for (unsigned sc = first_cached(mc, 0); sc < NUM_SPANCLASSES; sc = first_cached(mc, sc + 1))

static void cache_set(struct mcache *mc, unsigned sc, struct span *s)
{
	mc->alloc[sc] = s;
	if (s)
		mc->cached[sc / 64] |= 1ull << (sc % 64);
	else
		mc->cached[sc / 64] &= ~(1ull << (sc % 64));
}

void mcache_blacken_all(void)
{
	for (unsigned i = 0; i < cpu_ids_end; i++) {
		if (!atomic_load_explicit(&cpus[i].online, memory_order_relaxed))
			continue;	/* nothing cached */
		FOR_EACH_CACHED(&gc_mcaches[i], sc)
			span_blacken_free(gc_mcaches[i].alloc[sc]);
	}
}

bool mcache_refill(struct mcache *mc, unsigned sc)
{
	KASSERT(!arch_irq_enabled());
	struct central *c = &gc_central[sc];
	struct span *s = mc->alloc[sc];
	KASSERT(!s == !((mc->cached[sc / 64] >> (sc % 64)) & 1));
	if (s) {
		if (!s->incache || spanclass_of_cache_check(s, sc))
			panic("gc: cpu %u's cache of class %u holds span 0x%lx (class %u, incache %d, state %u)",
			      cpu_id(), sc, (unsigned long)s->base, s->spanclass, s->incache, atomic_load(&s->state));
		KASSERT(span_nfree(s) == 0);
		cache_set(mc, sc, NULL);
		central_uncache_span(c, s);
	}
	s = central_cache_span(c);
	if (!s)
		return false;
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) != GC_OFF)
		span_blacken_free(s);
	pacer_heap_live_add((int64_t)span_nfree(s) * s->elemsize);
	mc->nalloc += span_nfree(s);
	mc->nalloc_bytes += (uint64_t)span_nfree(s) * s->elemsize;
	cache_set(mc, sc, s);
	return true;
}

void mcache_flush(struct mcache *mc)
{
	FOR_EACH_CACHED(mc, sc) {
		struct span *s = mc->alloc[sc];
		if (!s || !s->incache || spanclass_of_cache_check(s, sc))
			panic("gc: flushing cpu %u's cache: class %u holds span 0x%lx (class %u, incache %d, state %u)",
			      (unsigned)(mc - gc_mcaches), sc, s ? (unsigned long)s->base : 0ul,
			      s ? s->spanclass : 0u, s ? s->incache : 0, s ? atomic_load(&s->state) : 0u);
		cache_set(mc, sc, NULL);
		pacer_heap_live_add(-(int64_t)span_nfree(s) * s->elemsize);
		mc->nalloc -= span_nfree(s);
		mc->nalloc_bytes -= (uint64_t)span_nfree(s) * s->elemsize;
		central_uncache_span(&gc_central[sc], s);
	}
	stats_flush_cache(mc);
}

uint64_t mcache_alloc_bytes(const struct mcache *mc)
{
	uint64_t n = mc->nalloc_bytes;
	FOR_EACH_CACHED(mc, sc)
		n -= (uint64_t)span_nfree(mc->alloc[sc]) * mc->alloc[sc]->elemsize;
	return n;
}
