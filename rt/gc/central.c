/*
 * rt/gc/central.c: the central span lists of each span class (Go's mcentral).
 *
 * A span with free objects that no CPU caches is on its class's partial list, one
 * without on the full list; each list comes as a swept and an unswept set (heap.h:
 * the flip of sweepgen at the end of marking turns every swept set into the unswept
 * one). A span held by a CPU's cache (mcache) is on no list.
 *
 * central_cache_span, for a cache that ran out (cache.c, interrupts off):
 *   1. a swept partial span;
 *   2. an unswept partial span, swept here first (lazy sweeping: the allocator pays
 *      for the sweep of the spans it reuses); one the sweep leaves empty is taken
 *      as it is, not given back to the page heap only to be carved out again;
 *   3. unswept full spans, swept here, until one has a free object (the others go
 *      on the swept full list); at most SWEEP_BUDGET of 2 and 3 per call, so one
 *      allocation never sweeps a whole class;
 *   4. a new span from the page heap.
 * A span's sweepgen says "swept" only once it is where the sweep left it: on a swept
 * list (stored under the lock) or in the cache that took it.
 *
 * central_uncache_span puts a span back: on the swept lists if it was swept in the
 * current cycle, else (the cache held it across the end of a mark phase) on the
 * unswept ones, where the sweeper finds it.
 *
 * Each class has its own lock (LOCK_RANK_GC_CENTRAL). Sweeping happens with it
 * released: the span is off every list, so nobody else can reach it but markers
 * (not running: no sweep during a mark phase) and gc_base-style lookups (which read
 * only what the sweep keeps valid).
 */
#include <arch/noscan.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include "heap.h"
#include "mark.h"

#define SWEEP_BUDGET 100

struct central gc_central[NUM_SPANCLASSES];
NOSCAN(gc_central);

static inline uint32_t sweepgen_now(void)
{
	return atomic_load_explicit(&gcheap.sweepgen, memory_order_acquire);
}

/* The swept set's index for sweep generation sg, and the unswept one's. */
static inline unsigned swept_set(uint32_t sg) { return (sg / 2) % 2; }
static inline unsigned unswept_set(uint32_t sg) { return 1 - swept_set(sg); }

void central_init(void)
{
	for (unsigned i = 0; i < NUM_SPANCLASSES; i++) {
		gc_central[i].lock = (struct spinlock)SPINLOCK_INIT("gc_central", LOCK_RANK_GC_CENTRAL);
		gc_central[i].spanclass = i;
	}
}

/* A new span of c's class from the page heap: in use, swept, empty. */
static struct span *central_grow(struct central *c)
{
	unsigned sizeclass = spanclass_size(c->spanclass);
	KASSERT(sizeclass != 0);
	struct span *s = heap_alloc_span(gc_class_npages[sizeclass]);
	if (!s)
		return NULL;
	s->spanclass = (uint16_t)c->spanclass;
	s->kind = (uint8_t)spanclass_kind(c->spanclass);
	s->elemsize = gc_class_size[sizeclass];
	s->nelems = gc_class_nelems[sizeclass];
	s->limit = s->base + (uintptr_t)s->nelems * s->elemsize;
	s->divmul = (uint32_t)(((1ull << 32) + s->elemsize - 1) / s->elemsize);
	s->type = NULL;
	s->specials = NULL;
	span_bitmaps_alloc(s);
	span_alloc_reset(s);
	atomic_store_explicit(&s->sweepgen, sweepgen_now(), memory_order_relaxed);
	atomic_store_explicit(&s->state, SPAN_INUSE, memory_order_release);
	return s;
}

/* Claim an unswept span for sweeping: sg-2 -> sg-1. */
static bool claim(struct span *s, uint32_t sg)
{
	uint32_t want = sg - 2;
	return atomic_compare_exchange_strong(&s->sweepgen, &want, sg - 1);
}

struct span *central_cache_span(struct central *c)
{
	KASSERT(!arch_irq_enabled());
	uint32_t sg = sweepgen_now();
	int budget = SWEEP_BUDGET;
	struct span *s;

	spin_lock(&c->lock);
	if ((s = c->partial[swept_set(sg)].first)) {
		spanlist_remove(&c->partial[swept_set(sg)], s);
		goto have;
	}
	while (budget-- > 0 && (s = c->partial[unswept_set(sg)].first)) {
		spanlist_remove(&c->partial[unswept_set(sg)], s);
		spin_unlock(&c->lock);
		if (claim(s, sg)) {
			span_sweep(s, sg, true);	/* (emptied: ours all the same) */
			spin_lock(&c->lock);
			atomic_store_explicit(&s->sweepgen, sg, memory_order_release);
			if (span_nfree(s))
				goto have;
			spanlist_insert(&c->full[swept_set(sg)], s);
			continue;
		}
		panic("gc: span 0x%lx on an unswept list with sweepgen %u (now %u)",
		      (unsigned long)s->base, atomic_load(&s->sweepgen), sg);
	}
	while (budget-- > 0 && (s = c->full[unswept_set(sg)].first)) {
		spanlist_remove(&c->full[unswept_set(sg)], s);
		spin_unlock(&c->lock);
		if (!claim(s, sg))
			panic("gc: span 0x%lx on an unswept list with sweepgen %u (now %u)",
			      (unsigned long)s->base, atomic_load(&s->sweepgen), sg);
		span_sweep(s, sg, true);
		spin_lock(&c->lock);
		atomic_store_explicit(&s->sweepgen, sg, memory_order_release);
		if (span_nfree(s))
			goto have;
		spanlist_insert(&c->full[swept_set(sg)], s);
	}
	spin_unlock(&c->lock);
	s = central_grow(c);
	if (!s)
		return NULL;
	s->incache = true;
	return s;
have:
	if (s->incache || s->onlist)
		panic("gc: span 0x%lx (class %u) cached twice", (unsigned long)s->base, s->spanclass);
	s->incache = true;
	spin_unlock(&c->lock);
	return s;
}

void central_uncache_span(struct central *c, struct span *s)
{
	uint32_t sg = sweepgen_now();
	uint32_t ssg = atomic_load_explicit(&s->sweepgen, memory_order_relaxed);
	KASSERT(ssg == sg || ssg == sg - 2);
	spin_lock_irqsave(&c->lock);
	if (!s->incache)
		panic("gc: span 0x%lx (class %u) uncached but not in a cache", (unsigned long)s->base, s->spanclass);
	s->incache = false;
	unsigned set = ssg == sg ? swept_set(sg) : unswept_set(sg);
	spanlist_insert(span_nfree(s) ? &c->partial[set] : &c->full[set], s);
	spin_unlock_irqrestore(&c->lock);
}

void central_put_swept(struct central *c, struct span *s)
{
	spin_lock_irqsave(&c->lock);
	uint32_t sg = sweepgen_now();
	/* published under the lock: a span that says "swept" is on its list (gc_free) */
	atomic_store_explicit(&s->sweepgen, sg, memory_order_release);
	spanlist_insert(span_nfree(s) ? &c->partial[swept_set(sg)] : &c->full[swept_set(sg)], s);
	spin_unlock_irqrestore(&c->lock);
}

void central_put_unswept(struct central *c, struct span *s)
{
	uint32_t sg = sweepgen_now();
	spin_lock_irqsave(&c->lock);
	spanlist_insert(span_nfree(s) ? &c->partial[unswept_set(sg)] : &c->full[unswept_set(sg)], s);
	spin_unlock_irqrestore(&c->lock);
}

struct span *central_take_unswept(struct central *c, uint32_t sg)
{
	struct span *s;
	spin_lock_irqsave(&c->lock);
	if ((s = c->partial[unswept_set(sg)].first))
		spanlist_remove(&c->partial[unswept_set(sg)], s);
	else if ((s = c->full[unswept_set(sg)].first))
		spanlist_remove(&c->full[unswept_set(sg)], s);
	spin_unlock_irqrestore(&c->lock);
	if (s && !claim(s, sg))
		panic("gc: span 0x%lx on an unswept list with sweepgen %u (now %u)",
		      (unsigned long)s->base, atomic_load(&s->sweepgen), sg);
	return s;
}
