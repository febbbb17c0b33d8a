/*
 * rt/gc/heap.c: the page heap (Go's mheap): spans of pages in the GC arena, the span
 * map, growth in chunks, and the scavenger that gives idle memory back.
 *
 * Growth. The heap is a range of the arena, [GC_HEAP_BASE, arena_used), that only
 * grows, in chunks of 2 MiB. A new chunk takes 512 physically contiguous pages from
 * the page allocator when it has them (one 2 MiB block maps them: fewer TLB misses,
 * and on the hosted platform one mmap instead of 512), else 512 single pages. The
 * pages are not zeroed here: a span carved from them is dirty (needzero), and each
 * object is zeroed as it is handed out (malloc.c), so a page is first touched by the
 * allocation that uses it. (Zeroing each new chunk whole was 7% of GCBench's time on
 * the hosted platform: 2 MiB written at once, every page faulted in by the memset,
 * and written again when its objects were initialised.)
 *
 * First touch. On the hosted platform a page of a chunk becomes resident when it is
 * first written, through a host page fault each; faulting them one by one was a tenth
 * of the collector's benchmarks' time, and populating each chunk whole as it was
 * mapped made the process's memory grow in 2 MiB steps, a megabyte of never-used heap
 * resident on average. So a chunk is prefaulted (arch_mmu_prefault) a HEAP_PIECE at a
 * time, when the first span over each piece is handed out: chunk_touched keeps which
 * pieces were, cleared when the chunk is mapped again. On the hardware arches the
 * prefault is a no-op and the bits are bookkeeping only.
 *
 * Free spans. A span given back (the sweeper found no live object in it, a large
 * object died, gc_free) is coalesced with free neighbours, found through the span map
 * (a free span maps its first and last page), and goes on a free list: one list per
 * exact page count below HEAP_FREE_EXACT, one list for everything larger. Allocation
 * takes the smallest exact fit, else the best fit among the large ones, else grows;
 * the rest of a bigger span goes back as a free span. While a sweep is under way, a
 * span's allocation first sweeps spans of any class until as many pages came back
 * (gc_sweep_reclaim, sweep.c; Go's mheap.reclaim): memory that garbage holds is reused
 * before a free span of an unmapped chunk is mapped again or the heap grows, and the
 * sweep keeps ahead of the allocation. At most HEAP_RECLAIM_BUDGET spans per call, to
 * bound the time an allocation spends with interrupts off. A free span remembers whether
 * its memory may be dirty (needzero: the objects it held) and when it was freed.
 *
 * Scavenging. A chunk whose pages have all been free for HEAP_SCAVENGE_DELAY goes back
 * to the page allocator: unmapped, TLB shootdown, pages freed (only whole chunks, the
 * unit they were mapped in). The free span covering it stays; when a span is later
 * carved out of an unmapped chunk, the chunk is mapped again first. heap_scavenge() runs from the background scavenger after each sweep and, with
 * no delay, before the collector gives up on an allocation (out of memory).
 *
 * Locks: gcheap.lock (LOCK_RANK_GC_HEAP) guards everything but the span map's
 * entries' readers and the sweep generation; page_alloc (pmm) and the vm lock nest
 * inside. The TLB shootdown of a scavenge happens with the lock released (a CPU
 * spinning on the heap lock with interrupts off could not answer it); the chunk is
 * marked unmapped only after, so nothing allocates from it meanwhile: it is taken
 * off the free span first (see heap_scavenge).
 */
#include <arch/mmu.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/vm.h>
#include "heap.h"

#define HEAP_SCAVENGE_DELAY (500ull * 1000 * 1000)	/* 0.5 s free before release */
#define HEAP_RECLAIM_BUDGET 512		/* spans swept, at most, per span allocated */

struct gcheap gcheap = { .lock = SPINLOCK_INIT("gc_heap", LOCK_RANK_GC_HEAP), .sweepgen = 2 };

/* ---- lists ------------------------------------------------------------------------------ */

void spanlist_insert(struct spanlist *l, struct span *s)
{
	if (s->onlist)
		panic("gc: span 0x%lx (class %u, state %u) inserted into list %p while on list %p",
		      (unsigned long)s->base, s->spanclass, atomic_load(&s->state), (void *)l, (void *)s->onlist);
	if (s->incache)
		panic("gc: span 0x%lx (class %u) inserted into a list while cached", (unsigned long)s->base,
		      s->spanclass);
	s->onlist = l;
	if (s->next || s->prev || l->first == s)
		panic("gc: span 0x%lx (class %u, state %u, sweepgen %u, incache %d) inserted into a list "
		      "while on one (next %p prev %p first %p)", (unsigned long)s->base, s->spanclass,
		      atomic_load(&s->state), atomic_load(&s->sweepgen), s->incache, (void *)s->next,
		      (void *)s->prev, (void *)l->first);
	s->next = l->first;
	if (l->first)
		l->first->prev = s;
	else
		l->last = s;
	l->first = s;
	l->n++;
}

void spanlist_remove(struct spanlist *l, struct span *s)
{
	if (s->onlist != l)
		panic("gc: span 0x%lx (class %u, state %u) removed from list %p but is on %p",
		      (unsigned long)s->base, s->spanclass, atomic_load(&s->state), (void *)l, (void *)s->onlist);
	s->onlist = NULL;
	if (s->prev)
		s->prev->next = s->next;
	else
		l->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->last = s->prev;
	s->next = s->prev = NULL;
	l->n--;
}

/* ---- the span map ------------------------------------------------------------------------ */

static void spanmap_set(struct span *s, uintptr_t base, uint32_t npages, bool all)
{
	size_t i = page_index(base);
	if (all || npages <= 2) {
		for (uint32_t k = 0; k < npages; k++)
			atomic_store_explicit(&GC_SPANMAP[i + k], s, memory_order_release);
	} else {
		atomic_store_explicit(&GC_SPANMAP[i], s, memory_order_release);
		atomic_store_explicit(&GC_SPANMAP[i + npages - 1], s, memory_order_release);
	}
}

/* Map span-map memory for heap pages up to `end` (heap lock). */
static bool spanmap_grow(uintptr_t end)
{
	uintptr_t need = (uintptr_t)&GC_SPANMAP[page_index(end - 1) + 1];
	while (gcheap.spanmap_mapped < need) {
		uint64_t n = GC_SPANMAP_UNIT / PAGE_SIZE;
		uint64_t pa = page_alloc_contig(n, 1);
		if (pa) {
			vm_lock();
			int rc = arch_mmu_map(gcheap.spanmap_mapped, pa, GC_SPANMAP_UNIT, MMU_WRITE);
			vm_unlock();
			if (rc)
				panic("gc: cannot map the span map at 0x%lx", (unsigned long)gcheap.spanmap_mapped);
		} else {
			for (uint64_t k = 0; k < n; k++) {
				uint64_t p1 = page_alloc();
				if (!p1)
					return false;	/* what is mapped stays: the next try continues */
				vm_lock();
				int rc = arch_mmu_map(gcheap.spanmap_mapped, p1, PAGE_SIZE, MMU_WRITE);
				vm_unlock();
				if (rc)
					panic("gc: cannot map the span map at 0x%lx", (unsigned long)gcheap.spanmap_mapped);
				gcheap.spanmap_mapped += PAGE_SIZE;
			}
			continue;
		}
		gcheap.spanmap_mapped += GC_SPANMAP_UNIT;
	}
	return true;
}

_Atomic bool gc_heap_small_pages;

/* ---- chunks ------------------------------------------------------------------------------ */

static size_t chunk_index(uintptr_t p)
{
	return (p - GC_HEAP_BASE) / HEAP_CHUNK;
}

/* Give chunk k physical memory, not zeroed (heap lock): spans over it are needzero.
 * The pages are touched only through the heap's mapping, never the direct map: on the
 * hosted platform a page is then counted once in the process's RSS, not twice. */
static bool chunk_map(size_t k)
{
	uintptr_t va = GC_HEAP_BASE + k * HEAP_CHUNK;
	uint64_t pa = page_alloc_contig_unzeroed(HEAP_CHUNK_PAGES, HEAP_CHUNK_PAGES);
	if (pa) {
		vm_lock();
		int rc = arch_mmu_map(va, pa, HEAP_CHUNK, MMU_WRITE |
				      (atomic_load(&gc_heap_small_pages) ? MMU_SMALL : 0));
		vm_unlock();
		if (rc)
			panic("gc: cannot map heap chunk 0x%lx", (unsigned long)va);
	} else {
		uint64_t done = 0;
		for (; done < HEAP_CHUNK_PAGES; done++) {
			uint64_t p1 = page_alloc_unzeroed();
			if (!p1)
				break;
			vm_lock();
			int rc = arch_mmu_map(va + done * PAGE_SIZE, p1, PAGE_SIZE, MMU_WRITE);
			vm_unlock();
			if (rc)
				panic("gc: cannot map heap page 0x%lx", (unsigned long)(va + done * PAGE_SIZE));
		}
		if (done < HEAP_CHUNK_PAGES) {
			/* out of memory: undo (nothing ran on these pages, no shootdown needed:
			 * no CPU can have cached a translation of a page it never touched) */
			for (uint64_t i = 0; i < done; i++) {
				uint64_t p1;
				unsigned fl;
				uintptr_t a = va + i * PAGE_SIZE;
				if (!arch_mmu_query(a, &p1, &fl))
					continue;
				vm_lock();
				arch_mmu_unmap(a, PAGE_SIZE);
				vm_unlock();
				page_free(p1);
			}
			return false;
		}
	}
	gcheap.chunk_state[k] = CHUNK_MAPPED;
	gcheap.chunk_touched[k] = 0;
	gcheap.chunks_mapped++;
	return true;
}

/* The chunk-state array grows with the arena; it is small (one byte a chunk). */
static bool chunk_state_grow(size_t nchunks)
{
	size_t cap = gcheap.chunk_state ? META_MAX : 0;
	if (nchunks <= cap && gcheap.chunk_state)
		return true;
	if (nchunks > META_MAX)
		panic("gc: heap of more than %lu MiB", (unsigned long)(META_MAX * (HEAP_CHUNK >> 20)));
	if (!gcheap.chunk_state) {
		gcheap.chunk_state = meta_alloc(META_MAX);
		gcheap.chunk_touched = meta_alloc(META_MAX);
	}
	return true;
}

_Static_assert(HEAP_PIECES >= 1 && HEAP_PIECES <= 8, "chunk_touched holds a chunk's pieces in a byte");

/* Prefault the pieces of [base, base + npages pages) touched for the first time since
 * their chunk was mapped (heap lock; the chunks are mapped). */
static void touch(uintptr_t base, uint32_t npages)
{
	KASSERT(spin_held(&gcheap.lock));
	uintptr_t end = base + (uintptr_t)npages * PAGE_SIZE;
	uintptr_t run = 0, run_end = 0;		/* a run of untouched pieces, prefaulted at once */
	for (uintptr_t p = base & ~(HEAP_PIECE - 1); p < end; p += HEAP_PIECE) {
		size_t k = chunk_index(p);
		uint8_t bit = (uint8_t)(1u << ((p % HEAP_CHUNK) / HEAP_PIECE));
		if (gcheap.chunk_touched[k] & bit)
			continue;
		gcheap.chunk_touched[k] |= bit;
		if (run_end != p) {
			if (run_end)
				arch_mmu_prefault(run, run_end - run);
			run = p;
		}
		run_end = p + HEAP_PIECE;
	}
	if (run_end)
		arch_mmu_prefault(run, run_end - run);
}

/* ---- allocation ------------------------------------------------------------------------------ */

static struct spanlist *free_list_for(uint32_t npages)
{
	return &gcheap.free[npages < HEAP_FREE_EXACT ? npages : 0];
}

static void free_insert(struct span *s)
{
	atomic_store_explicit(&s->state, SPAN_FREE, memory_order_release);
	s->next = s->prev = NULL;
	spanmap_set(s, s->base, s->npages, false);
	spanlist_insert(free_list_for(s->npages), s);
	gcheap.pages_free += s->npages;
}

static void free_remove(struct span *s)
{
	spanlist_remove(free_list_for(s->npages), s);
	gcheap.pages_free -= s->npages;
}

/* A free span of at least npages, off its list (heap lock). */
static struct span *free_find(uint32_t npages)
{
	for (uint32_t n = npages; n < HEAP_FREE_EXACT; n++) {
		struct span *s = gcheap.free[n].first;
		if (s) {
			free_remove(s);
			return s;
		}
	}
	struct span *best = NULL;
	for (struct span *s = gcheap.free[0].first; s; s = s->next)
		if (s->npages >= npages && (!best || s->npages < best->npages ||
					   (s->npages == best->npages && s->base < best->base)))
			best = s;
	if (best)
		free_remove(best);
	return best;
}

/* Extend the arena by whole chunks for npages, as one free span (heap lock). */
static struct span *grow(uint32_t npages)
{
	uintptr_t old = gcheap.arena_used;
	uintptr_t bytes = ((uintptr_t)npages * PAGE_SIZE + HEAP_CHUNK - 1) & ~(HEAP_CHUNK - 1);
	if (old + bytes > GC_HEAP_BASE + GC_HEAP_MAX || old + bytes < old)
		return NULL;
	size_t nchunks = chunk_index(old + bytes - 1) + 1;
	if (!chunk_state_grow(nchunks) || !spanmap_grow(old + bytes))
		return NULL;
	gcheap.nchunks = nchunks;
	struct span *s = span_struct_alloc();
	s->base = old;
	s->npages = (uint32_t)(bytes / PAGE_SIZE);
	s->needzero = true;	/* (chunk_map does not zero) */
	__atomic_store_n(&gcheap.arena_used, old + bytes, __ATOMIC_RELEASE);
	return s;
}

/* Map every unmapped chunk under [base, base + npages pages) (heap lock). */
static bool ensure_mapped(uintptr_t base, uint32_t npages)
{
	size_t first = chunk_index(base), last = chunk_index(base + (uintptr_t)npages * PAGE_SIZE - 1);
	for (size_t k = first; k <= last; k++)
		if (gcheap.chunk_state[k] == CHUNK_UNMAPPED && !chunk_map(k))
			return false;
	return true;
}

struct span *heap_alloc_span(uint32_t npages)
{
	KASSERT(npages > 0);
	/* garbage first: while a sweep is under way, sweep until as many pages came back */
	gc_sweep_reclaim(npages, HEAP_RECLAIM_BUDGET);
	spin_lock_irqsave(&gcheap.lock);
	struct span *s = free_find(npages);
	if (!s) {
		s = grow(npages);
		if (!s) {
			spin_unlock_irqrestore(&gcheap.lock);
			return NULL;
		}
		/* an earlier free span that ends where the growth starts joins it */
		if (s->base > GC_HEAP_BASE) {
			struct span *prev = atomic_load(&GC_SPANMAP[page_index(s->base - 1)]);
			if (prev && atomic_load(&prev->state) == SPAN_FREE &&
			    prev->base + (uintptr_t)prev->npages * PAGE_SIZE == s->base) {
				free_remove(prev);
				prev->npages += s->npages;
				span_struct_free(s);
				s = prev;
			}
		}
	}
	if (s->npages > npages) {
		/* the rest stays free */
		struct span *rest = span_struct_alloc();
		rest->base = s->base + (uintptr_t)npages * PAGE_SIZE;
		rest->npages = s->npages - npages;
		rest->needzero = s->needzero;
		rest->freed_ns = s->freed_ns;
		s->npages = npages;
		free_insert(rest);
	}
	if (!ensure_mapped(s->base, npages)) {
		free_insert(s);		/* coalescing is not needed: it came from one free span */
		spin_unlock_irqrestore(&gcheap.lock);
		return NULL;
	}
	touch(s->base, npages);
	s->next = s->prev = NULL;
	gcheap.pages_inuse += npages;
	/* Not FREE any more before the lock goes: a neighbour freed meanwhile must not
	 * coalesce with it. Not INUSE yet either: the caller publishes that once the span
	 * is filled in (markers and lookups refuse it until then). */
	atomic_store_explicit(&s->state, SPAN_DEAD, memory_order_release);
	spanmap_set(s, s->base, npages, true);
	spin_unlock_irqrestore(&gcheap.lock);
	return s;
}

/* Put s on the free lists, merged with its free neighbours (heap lock). The merged
 * span may be dirty if any part was; it counts as freed at the latest time. */
static void free_coalesce(struct span *s)
{
	if (s->base > GC_HEAP_BASE) {
		struct span *prev = atomic_load(&GC_SPANMAP[page_index(s->base - 1)]);
		if (prev && atomic_load(&prev->state) == SPAN_FREE &&
		    prev->base + (uintptr_t)prev->npages * PAGE_SIZE == s->base) {
			free_remove(prev);
			prev->npages += s->npages;
			prev->needzero |= s->needzero;
			if (s->freed_ns > prev->freed_ns)
				prev->freed_ns = s->freed_ns;
			span_struct_free(s);
			s = prev;
		}
	}
	uintptr_t end = s->base + (uintptr_t)s->npages * PAGE_SIZE;
	if (end < gcheap.arena_used) {
		struct span *next = atomic_load(&GC_SPANMAP[page_index(end)]);
		if (next && atomic_load(&next->state) == SPAN_FREE && next->base == end) {
			free_remove(next);
			s->npages += next->npages;
			s->needzero |= next->needzero;
			if (next->freed_ns > s->freed_ns)
				s->freed_ns = next->freed_ns;
			span_struct_free(next);
		}
	}
	free_insert(s);
}

void heap_free_span(struct span *s)
{
	KASSERT(atomic_load(&s->state) == SPAN_INUSE);
	if (s->onlist || s->incache)
		panic("gc: span 0x%lx (class %u) freed while on list %p / cached %d", (unsigned long)s->base,
		      s->spanclass, (void *)s->onlist, s->incache);
	span_bitmaps_free(s);
	uint64_t now = clock_ns();
	spin_lock_irqsave(&gcheap.lock);
	/* span_of refuses it from here on */
	atomic_store_explicit(&s->state, SPAN_FREE, memory_order_release);
	gcheap.pages_inuse -= s->npages;
	s->needzero = true;
	s->freed_ns = now;
	s->elemsize = s->nelems = 0;
	s->limit = s->base;
	s->type = NULL;
	s->specials = NULL;
	free_coalesce(s);
	spin_unlock_irqrestore(&gcheap.lock);
}

/* ---- scavenging ---------------------------------------------------------------------------------- */

uint64_t heap_scavenge(uint64_t older_than_ns, uint64_t *next_ns)
{
	uint64_t now = clock_ns(), released = 0, next = 0;
	for (;;) {
		/* Take one chunk at a time: find a free span old enough that covers a whole
		 * mapped chunk, and split the chunk out as a span of its own, off the lists
		 * (so nobody allocates it while it is being unmapped). */
		spin_lock_irqsave(&gcheap.lock);
		struct span *victim = NULL;
		uintptr_t cva = 0;
		for (uint32_t li = 0; li < HEAP_FREE_EXACT && !victim; li++) {
			if (li != 0 && li < HEAP_CHUNK_PAGES)
				continue;
			for (struct span *s = gcheap.free[li].first; s; s = s->next) {
				uintptr_t lo = (s->base + HEAP_CHUNK - 1) & ~(HEAP_CHUNK - 1);
				uintptr_t hi = (s->base + (uintptr_t)s->npages * PAGE_SIZE) & ~(HEAP_CHUNK - 1);
				uintptr_t found = 0;
				for (uintptr_t c = lo; c < hi && !found; c += HEAP_CHUNK)
					if (gcheap.chunk_state[chunk_index(c)] == CHUNK_MAPPED)
						found = c;
				if (!found)
					continue;
				if (older_than_ns && now - s->freed_ns < older_than_ns) {
					/* not yet: when it will be */
					uint64_t due = s->freed_ns + older_than_ns;
					if (!next || due < next)
						next = due;
					continue;
				}
				victim = s;
				cva = found;
				break;
			}
		}
		if (!victim) {
			spin_unlock_irqrestore(&gcheap.lock);
			if (next_ns)
				*next_ns = next;
			return released;
		}
		free_remove(victim);
		for (uintptr_t a = cva; a < cva + HEAP_CHUNK; a += PAGE_SIZE) {
			struct span *o = atomic_load(&GC_SPANMAP[page_index(a)]);
			if (o && o != victim && atomic_load(&o->state) == SPAN_INUSE && a >= o->base &&
			    a < o->base + (uintptr_t)o->npages * PAGE_SIZE)
				panic("gc: scavenging chunk 0x%lx, but span 0x%lx (%u pages) is in use there "
				      "(victim 0x%lx, %u pages)", (unsigned long)cva, (unsigned long)o->base,
				      o->npages, (unsigned long)victim->base, victim->npages);
		}
		/* cut [cva, cva + chunk) out of the victim: up to two free remainders */
		uintptr_t vend = victim->base + (uintptr_t)victim->npages * PAGE_SIZE;
		if (cva > victim->base) {
			struct span *lo = span_struct_alloc();
			lo->base = victim->base;
			lo->npages = (uint32_t)((cva - victim->base) / PAGE_SIZE);
			lo->needzero = victim->needzero;
			lo->freed_ns = victim->freed_ns;
			free_insert(lo);
		}
		if (cva + HEAP_CHUNK < vend) {
			struct span *hi = span_struct_alloc();
			hi->base = cva + HEAP_CHUNK;
			hi->npages = (uint32_t)((vend - hi->base) / PAGE_SIZE);
			hi->needzero = victim->needzero;
			hi->freed_ns = victim->freed_ns;
			free_insert(hi);
		}
		victim->base = cva;
		victim->npages = HEAP_CHUNK_PAGES;
		spanmap_set(victim, cva, HEAP_CHUNK_PAGES, false);
		gcheap.pages_free += HEAP_CHUNK_PAGES;	/* still counted free while off the lists */
		/* SPAN_FREE but on no list: a neighbour being freed meanwhile must not merge
		 * with it, so it is DEAD for the span map until it is back */
		atomic_store_explicit(&victim->state, SPAN_DEAD, memory_order_release);
		spin_unlock_irqrestore(&gcheap.lock);

		/* unmap, one shootdown, then give the pages back */
		uint64_t pa0, pa_last;
		unsigned fl;
		bool contiguous = arch_mmu_query(cva, &pa0, &fl) &&
				  arch_mmu_query(cva + HEAP_CHUNK - PAGE_SIZE, &pa_last, &fl) &&
				  pa_last == pa0 + HEAP_CHUNK - PAGE_SIZE;
		if (contiguous) {
			vm_lock();
			arch_mmu_unmap(cva, HEAP_CHUNK);
			vm_unlock();
			tlb_shootdown(cva, HEAP_CHUNK);
			for (uint64_t i = 0; i < HEAP_CHUNK_PAGES; i++)
				page_free(pa0 + i * PAGE_SIZE);
		} else {
			/* single pages: threaded through their own first words (direct map)
			 * while unmapped, freed after the shootdown */
			uint64_t list = 0;
			for (uint64_t i = 0; i < HEAP_CHUNK_PAGES; i++) {
				uint64_t pa;
				if (!arch_mmu_query(cva + i * PAGE_SIZE, &pa, &fl))
					continue;
				vm_lock();
				arch_mmu_unmap(cva + i * PAGE_SIZE, PAGE_SIZE);
				vm_unlock();
				*(uint64_t *)phys_to_virt(pa) = list;
				list = pa;
			}
			tlb_shootdown(cva, HEAP_CHUNK);
			while (list) {
				uint64_t next = *(uint64_t *)phys_to_virt(list);
				page_free(list);
				list = next;
			}
		}
		released += HEAP_CHUNK;

		spin_lock_irqsave(&gcheap.lock);
		gcheap.chunk_state[chunk_index(cva)] = CHUNK_UNMAPPED;
		gcheap.chunks_mapped--;
		gcheap.bytes_released += HEAP_CHUNK;
		gcheap.pages_free -= HEAP_CHUNK_PAGES;
		victim->needzero = true;	/* a later map brings pages as they are */
		free_coalesce(victim);
		spin_unlock_irqrestore(&gcheap.lock);
	}
}

void heap_counts(uint64_t *inuse_pages, uint64_t *free_pages, uint64_t *mapped_chunks, uint64_t *released)
{
	spin_lock_irqsave(&gcheap.lock);
	if (inuse_pages)
		*inuse_pages = gcheap.pages_inuse;
	if (free_pages)
		*free_pages = gcheap.pages_free;
	if (mapped_chunks)
		*mapped_chunks = gcheap.chunks_mapped;
	if (released)
		*released = gcheap.bytes_released;
	spin_unlock_irqrestore(&gcheap.lock);
}

void heap_init(void)
{
	spin_lock_irqsave(&gcheap.lock);
	gcheap.arena_used = GC_HEAP_BASE;
	gcheap.spanmap_mapped = GC_ARENA;
	spin_unlock_irqrestore(&gcheap.lock);
}
