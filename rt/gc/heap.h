/*
 * rt/gc/heap.h: the collector's heap as its files share it: size classes, spans, the
 * page heap (heap.c), the central lists (central.c), the per-CPU caches (cache.c) and
 * the metadata allocator (meta.c). Not for use outside rt/gc/.
 *
 * The layout of the GC arena (arch/memlayout.h GC_ARENA):
 *
 *   GC_ARENA                          the span map: one struct span pointer per heap
 *                                     page, mapped 64 KiB at a time as the heap grows
 *   GC_ARENA + GC_SPANMAP_RESERVE     the heap: chunks of 2 MiB (HEAP_CHUNK) mapped
 *                                     as it grows (physically contiguous where the page
 *                                     allocator can, so one 2 MiB block maps each),
 *                                     cut into spans of pages
 *
 * A span is a run of pages holding either objects of one size class, back to back
 * from its base (a small span), or one large object. Every page of an in-use span
 * maps to it in the span map, so any address in the heap finds its span with a
 * subtraction, a shift and a load, no lock (span_of). Free spans map only their
 * first and last pages (for coalescing); an interior entry may be stale, so a lookup
 * checks the span's state and bounds: span structs are never unmapped (meta.c keeps
 * them), so a stale entry is still safe to read.
 *
 * A span class is (size class, kind): kind NOSCAN (never scanned), TYPED (scanned by
 * a pointer bitmap: one bit per word of the span, written at each allocation from the
 * object's type) or CONS (scanned conservatively). Size class 0 is large objects.
 *
 * Per object, three bits live beside the span (meta.c): alloc (allocated as of the
 * last sweep), mark (this cycle) and check (the checkmark pass). An object is
 * allocated when its index is below freeindex or its alloc bit is set (Go's scheme:
 * allocation only advances freeindex; the sweep makes mark bits the new alloc bits).
 *
 * Sweep generations (Go's sweepgen), with sg = gcheap.sweepgen, which grows by 2 at
 * the end of each mark phase:
 *   span.sweepgen == sg - 2   the span needs sweeping
 *   span.sweepgen == sg - 1   it is being swept (claimed with a CAS)
 *   span.sweepgen == sg       it is swept and may be allocated from
 * The central lists come in two sets, swept and unswept, chosen by sg / 2 % 2, so the
 * flip at the end of marking turns every swept list into an unswept one at once.
 */
#ifndef RT_GC_HEAP_H
#define RT_GC_HEAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arch/memlayout.h>
#include <arch/smp.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>
#include <rt/gc.h>

/* ---- the arena --------------------------------------------------------------------------- */

#define HEAP_CHUNK		(2ul << 20)		/* the unit of mapping and release */
#define HEAP_CHUNK_PAGES	(HEAP_CHUNK / PAGE_SIZE)
#define HEAP_PIECE		(256ul << 10)		/* the unit of first touch (heap.c) */
#define HEAP_PIECES		(HEAP_CHUNK / HEAP_PIECE)	/* <= 8: one byte of bits a chunk */
#define GC_SPANMAP_RESERVE	(2ul << 30)		/* span map: covers 1 TiB of heap */
#define GC_SPANMAP_UNIT		(64ul << 10)		/* span map mapped this much at a time */
#define GC_HEAP_BASE		(GC_ARENA + GC_SPANMAP_RESERVE)
#if defined(GORT_HOSTED)
#define GC_HEAP_MAX		(256ul << 30)		/* the host's arena is 512 GiB */
#else
#define GC_HEAP_MAX		(1ul << 40)
#endif

/* ---- size classes (sizeclass.c) -------------------------------------------------------------- */

#define NUM_SIZECLASSES		72		/* upper bound; sizeclass.c computes the table */
#define SPAN_KINDS		3
enum span_kind { SPAN_NOSCAN = 0, SPAN_TYPED = 1, SPAN_CONS = 2 };
#define NUM_SPANCLASSES		(NUM_SIZECLASSES * SPAN_KINDS)

static inline unsigned spanclass_make(unsigned sizeclass, enum span_kind k) { return sizeclass * SPAN_KINDS + k; }
static inline unsigned spanclass_size(unsigned sc) { return sc / SPAN_KINDS; }
static inline enum span_kind spanclass_kind(unsigned sc) { return (enum span_kind)(sc % SPAN_KINDS); }

extern unsigned gc_nsizeclasses;			/* classes in use, 0 (large) included */
extern uint32_t gc_class_size[NUM_SIZECLASSES];	/* bytes per object */
extern uint32_t gc_class_npages[NUM_SIZECLASSES];	/* pages per span */
extern uint32_t gc_class_nelems[NUM_SIZECLASSES];	/* objects per span */

void sizeclass_init(void);
/* The smallest class holding `size` bytes (1 .. GC_MAX_SMALL). */
extern uint8_t gc_class8[1024 / 8 + 1], gc_class128[(GC_MAX_SMALL - 1024) / 128 + 1];	/* (sizeclass.c) */
static inline unsigned sizeclass_of(size_t size)
{
	KASSERT(size >= 1 && size <= GC_MAX_SMALL);
	if (size <= 1024)
		return gc_class8[(size + 7) / 8];
	return gc_class128[(size - 1024 + 127) / 128];
}

/* ---- spans ----------------------------------------------------------------------------------- */

enum span_state {
	SPAN_DEAD = 0,		/* the struct is not describing a span (free in meta.c) */
	SPAN_FREE = 1,		/* pages free in the heap (heap lock) */
	SPAN_INUSE = 2,		/* holds objects */
};

struct special_span;

struct span {
	/* Set when the span is handed out, constant while SPAN_INUSE; read without locks
	 * by markers (state first, with acquire). */
	uintptr_t base;
	uintptr_t limit;		/* base + nelems * elemsize; a large span: base + its size */
	uint32_t npages;
	uint32_t elemsize;		/* a large span: the object's size, rounded to 16 */
	uint32_t nelems;
	uint32_t divmul;		/* (offset * divmul) >> 32 == offset / elemsize (offset < span) */
	uint16_t spanclass;
	uint8_t kind;			/* enum span_kind */
	_Atomic uint8_t state;		/* enum span_state */
	_Atomic uint32_t sweepgen;	/* see the top */
	/* The bitmaps (meta.c): one block of alloc | mark (| check: span_checkbits) bits,
	 * span_bitwords(s) words each; the sweep swaps allocbits and markbits. */
	uint64_t *allocbits;
	uint64_t *markbits;		/* set with atomic OR by markers */
	uint64_t *ptrbits;		/* TYPED small spans gone mixed: bit i = word i is a pointer
					 * (NULL before; read only after type, with acquire) */
	/* TYPED large spans: the element type. TYPED small spans: NULL until the first
	 * object; then the type of every object in the span while all are one element of
	 * one type (ptrbits unused: the allocator writes no bits, markers scan by the
	 * type); &gc_type_mixed from the first object of another type or an array on
	 * (ptrbits then hold every object's bits). Changed by the CPU caching the span,
	 * the bits written before the release store of gc_type_mixed; read with acquire. */
	const struct gc_type *_Atomic type;

	/* Allocation: owned by the CPU caching the span (interrupts off), else by its
	 * central's lock. freeindex is also read by markers (isfree). */
	_Atomic uint32_t freeindex;	/* every object below is allocated */
	uint32_t allocount;		/* objects allocated (as of freeindex) */
	union {
		uint64_t alloccache;	/* SPAN_INUSE: 1 = free, bits below freeindex cleared */
		uint64_t freed_ns;	/* SPAN_FREE (heap lock): when it was freed (the
					 * scavenger's delay) */
	};
	uint32_t cachebase;		/* alloccache holds ~allocbits of [cachebase, +64) */
	bool needzero;			/* memory may be dirty: zero objects as they are handed out */
	bool incache;			/* held by a CPU's cache (central lock to change) */
	struct spanlist *onlist;	/* the list it is on (checked at every move) */

	/* List links: a central list (its lock) or the heap's free lists (heap lock). */
	struct span *next, *prev;

	/* Finalizers and other specials (final.c's lock): NULL, or the span's record on
	 * final.c's list of spans with specials, which holds them. */
	struct special_span *specials;
};

/* Two to a cache line: a span struct per 8 KiB span is 1.5% of a heap of small
 * objects' size (GCBench: 2,600 of them, 0.33 MB at 128 bytes, 0.5 MB at 192). */
_Static_assert(sizeof(struct span) <= 128, "struct span grew past 128 bytes");

static inline uint32_t span_bitwords(const struct span *s)
{
	return (s->nelems + 63) / 64;
}

/* span_of(p), the span containing address p: below, after the heap's state. */

/* Index of the object containing p (base <= p < limit). */
static inline uint32_t span_objindex(const struct span *s, uintptr_t p)
{
	return (uint32_t)(((uint64_t)(p - s->base) * s->divmul) >> 32);
}

static inline uintptr_t span_objbase(const struct span *s, uint32_t i)
{
	return s->base + (uintptr_t)i * s->elemsize;
}

static inline bool bit_get(const uint64_t *bits, uint32_t i)
{
	return (__atomic_load_n(&bits[i / 64], __ATOMIC_RELAXED) >> (i % 64)) & 1;
}

/* Set bit i atomically; true if this call set it (it was clear). */
static inline bool bit_set_atomic(uint64_t *bits, uint32_t i)
{
	uint64_t m = 1ull << (i % 64);
	if (__atomic_load_n(&bits[i / 64], __ATOMIC_RELAXED) & m)
		return false;
	return !(__atomic_fetch_or(&bits[i / 64], m, __ATOMIC_RELAXED) & m);
}

/* The same where no other CPU can write the word (mark.c, gc_one_cpu; interrupts off). */
static inline bool bit_set_plain(uint64_t *bits, uint32_t i)
{
	uint64_t m = 1ull << (i % 64), v = __atomic_load_n(&bits[i / 64], __ATOMIC_RELAXED);
	if (v & m)
		return false;
	__atomic_store_n(&bits[i / 64], v | m, __ATOMIC_RELAXED);
	return true;
}

/* The bits of word wi that stand for slots of s (below nelems). */
static inline uint64_t span_valid_word(const struct span *s, uint32_t wi)
{
	return s->nelems >= wi * 64 + 64 ? ~0ull : (1ull << (s->nelems - wi * 64)) - 1;
}

/* Word wi of s's allocated slots as the sweep counts them: allocbits, every index
 * below freeindex fi (handed out since), nothing at or past nelems. */
static inline uint64_t span_allocated_word(const struct span *s, uint32_t wi, uint32_t fi)
{
	uint32_t base = wi * 64;
	uint64_t alloc = s->allocbits[wi];
	if (fi >= base + 64)
		alloc = ~0ull;
	else if (fi > base)
		alloc |= (1ull << (fi - base)) - 1;
	return alloc & span_valid_word(s, wi);
}

/* Has s a special (a finalizer)? Without final.c's lock: the sweep's test, before it
 * takes the lock (final_sweep_span looks again under it). */
static inline bool span_has_specials(const struct span *s)
{
	return __atomic_load_n(&s->specials, __ATOMIC_ACQUIRE) != NULL;
}

/* Is object i free (neither below freeindex nor allocated at the last sweep)? A
 * marker may see a just-allocated object as free: it was allocated black (see
 * malloc.c), so it needs no marking. A mutator may ask about an object it holds
 * while the background sweeper sweeps its span (gc_set_finalizer's check, gc_free,
 * gc_size): freeindex is read first, with acquire, so that the sweep's reset of it
 * to 0 (a release, after the new alloc bits) is never seen with the old bits, where
 * an object handed out since the last sweep has its bit clear (weak memory:
 * aarch64; ThreadSanitizer reported the plain store). */
static inline bool span_isfree(const struct span *s, uint32_t i)
{
	return i >= atomic_load_explicit(&s->freeindex, memory_order_acquire) && !bit_get(s->allocbits, i);
}

/* ---- the page heap (heap.c) --------------------------------------------------------------- */

struct spanlist {
	struct span *first, *last;
	uint32_t n;
};

void spanlist_insert(struct spanlist *l, struct span *s);
void spanlist_remove(struct spanlist *l, struct span *s);

#define HEAP_FREE_EXACT 128	/* free lists by exact page count below this; one list above */

struct gcheap {
	struct spinlock lock;
	/* Guarded by lock. */
	uintptr_t arena_used;		/* heap pages [GC_HEAP_BASE, arena_used) exist */
	uintptr_t spanmap_mapped;	/* span map mapped up to here */
	struct spanlist free[HEAP_FREE_EXACT];	/* free spans of n pages (0: above) */
	uint64_t pages_inuse;		/* pages of in-use spans */
	uint64_t pages_free;		/* pages of free spans (mapped or not) */
	uint64_t chunks_mapped;		/* chunks with physical memory */
	uint64_t bytes_released;	/* given back to the page allocator since boot */
	uint8_t *chunk_state;		/* per chunk: CHUNK_UNMAPPED / CHUNK_MAPPED (arena_used / HEAP_CHUNK entries) */
	uint8_t *chunk_touched;		/* per chunk: bit i = piece i prefaulted since it was mapped */
	uint64_t nchunks;

	/* Read without the lock. */
	_Atomic uint32_t sweepgen;	/* changed with the world stopped */
	_Atomic uint64_t large_live;	/* bytes in large objects (approximate, for stats) */
};

enum { CHUNK_UNMAPPED = 0, CHUNK_MAPPED = 1 };

extern struct gcheap gcheap;
/* Map new chunks with 4 KiB pages (MMU_SMALL): set once the dirty mode is chosen, so
 * that the dirty state of the heap is per page (dirty.c). */
extern _Atomic bool gc_heap_small_pages;
/* The span map, at a fixed address (the layout at the top). */
#define GC_SPANMAP ((struct span *_Atomic *)GC_ARENA)

static inline size_t page_index(uintptr_t p)
{
	return (p - GC_HEAP_BASE) >> PAGE_SHIFT;
}

/* span_of(p) below, for p already found in [GC_HEAP_BASE, arena_used) (a marker's
 * in_heap). */
static inline struct span *span_of_inheap(uintptr_t p)
{
	struct span *s = atomic_load_explicit(&GC_SPANMAP[page_index(p)], memory_order_acquire);
	if (!s || atomic_load_explicit(&s->state, memory_order_acquire) != SPAN_INUSE)
		return NULL;
	if (p < s->base || p >= s->limit)
		return NULL;
	return s;
}

/* The span containing address p, if p is in a heap object's span (INUSE), else NULL.
 * Lock-free; any context. Inline: a marker calls it for every object it scans and
 * every pointer it follows (7% of GCBench's time at one CPU was its calls). */
static inline struct span *span_of(uintptr_t p)
{
	uintptr_t used = __atomic_load_n(&gcheap.arena_used, __ATOMIC_ACQUIRE);
	if (p < GC_HEAP_BASE || p >= used)
		return NULL;
	return span_of_inheap(p);
}

void heap_init(void);
/* A span of npages, SPAN_INUSE, its pages mapped (zero when !needzero, which a fresh span is not), span-map
 * entries set; NULL when neither the heap nor the page allocator has them. While a
 * sweep is under way it first sweeps spans of any class until as many pages came back
 * (gc_sweep_reclaim), so the caller holds no lock of the collector. */
struct span *heap_alloc_span(uint32_t npages);
/* sweep.c: sweep spans until npages pages went back to the page heap, at most budget
 * spans, or nothing is left to sweep; the pages given back. */
uint32_t gc_sweep_reclaim(uint32_t npages, unsigned budget);
/* Give an in-use span's pages back to the heap (coalescing with free neighbours). */
void heap_free_span(struct span *s);
/* Give back to the page allocator the chunks that have been wholly free for at
 * least older_than_ns (0: all of them). Returns the bytes released, and in *next_ns
 * (if not NULL) the clock_ns() at which the next chunk free now becomes old enough (0:
 * none is waiting). A goroutine or the scheduler; takes the heap lock and waits for a
 * TLB shootdown. */
uint64_t heap_scavenge(uint64_t older_than_ns, uint64_t *next_ns);
/* Counters for stats and tests (heap lock taken). */
void heap_counts(uint64_t *inuse_pages, uint64_t *free_pages, uint64_t *mapped_chunks, uint64_t *released);

/* ---- metadata (meta.c) -------------------------------------------------------------------- */

/* Zeroed blocks of bytes (<= META_MAX) for bitmaps and the collector's other records,
 * from pages of the direct map. Span structs come from a pool of their own and are
 * type-stable (a stale span-map entry always names a span struct: meta.c's top).
 * Any context but interrupt handlers; takes the meta lock (highest of the
 * collector's ranks). */
#define META_MAX 4096
void *meta_alloc(size_t bytes);
void meta_free(void *p, size_t bytes);
struct span *span_struct_alloc(void);
void span_struct_free(struct span *s);

/* Give s, which has none, its per-object bitmaps for its nelems / npages / kind;
 * span_bitmaps_free (before nelems changes) frees them and its pointer bitmap.
 * span_ptrbits_alloc: a TYPED small span's pointer bitmap, zeroed, when it goes mixed
 * (its caching CPU, before publishing gc_type_mixed). */
void span_bitmaps_alloc(struct span *s);
void span_ptrbits_alloc(struct span *s);
void span_bitmaps_free(struct span *s);

/* ---- central lists (central.c) -------------------------------------------------------------- */

struct central {
	struct spinlock lock;
	uint32_t spanclass;
	/* Guarded by lock: spans with free objects / without, in the swept and unswept
	 * sets (index sweepgen / 2 % 2 is the swept one). Spans held by a CPU's cache are
	 * on no list. */
	struct spanlist partial[2];
	struct spanlist full[2];
};

extern struct central gc_central[NUM_SPANCLASSES];

void central_init(void);
/* A swept span with at least one free object for the cache (sweeping on the way,
 * growing the heap if need be); NULL when the heap cannot grow. Interrupts off. */
struct span *central_cache_span(struct central *c);
/* A cache gives s back (it is full, or the cache is being flushed). Interrupts off. */
void central_uncache_span(struct central *c, struct span *s);
/* A swept (or freshly allocated) large span or a span the sweeper is done with goes
 * on its list. */
void central_put_swept(struct central *c, struct span *s);
void central_put_unswept(struct central *c, struct span *s);
/* Take one unswept span of c off its list for sweeping (claimed: sweepgen sg-1), or
 * NULL. */
struct span *central_take_unswept(struct central *c, uint32_t sg);

/* ---- per-CPU caches (cache.c) ------------------------------------------------------------------- */

struct mcache {
	struct span *alloc[NUM_SPANCLASSES];	/* the span each class allocates from (or NULL) */
	/* bit sc: alloc[sc] is set. What walks the cache (its flush, the mark setup's
	 * blackening, mcache_alloc_bytes) visits the few classes in use, not all 204:
	 * those walks are stop-the-world time. */
	uint64_t cached[(NUM_SPANCLASSES + 63) / 64];
	/* Objects allocated since the last flush into the global stats, counted a span at
	 * a time: a span's free slots when the cache takes it, less those still free when
	 * it gives it back (cache.c; mcache_alloc_bytes for the exact figure). */
	uint64_t nalloc, nalloc_bytes;
};

extern struct mcache gc_mcaches[ARCH_MAX_CPUS];
/* The bytes mc allocated since its last flush (its CPU with interrupts off, or the
 * world stopped). */
uint64_t mcache_alloc_bytes(const struct mcache *mc);

/* The type of a small TYPED span whose objects have several types (see struct span). */
extern const struct gc_type gc_type_mixed;

/* Refill class sc of this CPU's cache: give back the full span, take a span with a
 * free object. false when the heap cannot grow. Interrupts off. */
bool mcache_refill(struct mcache *mc, unsigned sc);
/* Blacken the free slots of every cached span (mark setup, world stopped). */
void mcache_blacken_all(void);
/* Give every cached span back to its central (end of marking, world stopped; or the
 * CPU's own cache with interrupts off). */
void mcache_flush(struct mcache *mc);

/* ---- spans' allocation state (malloc.c, central.c) ------------------------------------------------ */

/* Objects free as far as allocation is concerned. */
static inline uint32_t span_nfree(const struct span *s) { return s->nelems - s->allocount; }

/* Reset the allocation state after a sweep or at creation: freeindex 0, alloccache
 * from the first word of alloc bits, allocount the objects still allocated. */
static inline void span_alloc_reset(struct span *s)
{
	uint32_t n = 0;
	for (uint32_t i = 0, bw = span_bitwords(s); i < bw; i++)
		n += (uint32_t)__builtin_popcountll(s->allocbits[i]);
	s->allocount = n;
	s->cachebase = 0;
	s->alloccache = ~s->allocbits[0];
	/* release: whoever sees freeindex 0 sees the sweep's alloc bits (span_isfree) */
	atomic_store_explicit(&s->freeindex, 0, memory_order_release);
}

/* Object idx, the first free one in s's alloccache, is handed out: move past it. The
 * owner of the span only (a CPU's cache, interrupts off). */
static inline void span_take(struct span *s, uint32_t idx)
{
	s->alloccache &= s->alloccache - 1;
	s->allocount++;
	atomic_store_explicit(&s->freeindex, idx + 1, memory_order_relaxed);
}

/* The next free object of s, or UINT32_MAX when s is full; advances freeindex. The
 * owner of the span only (a CPU's cache, interrupts off). */
static inline uint32_t span_next_free(struct span *s)
{
	for (;;) {
		if (__builtin_expect(s->alloccache != 0, 1)) {
			uint32_t idx = s->cachebase + (uint32_t)__builtin_ctzll(s->alloccache);
			if (idx >= s->nelems)
				break;
			span_take(s, idx);
			return idx;
		}
		s->cachebase += 64;
		if (s->cachebase >= s->nelems)
			break;
		s->alloccache = ~s->allocbits[s->cachebase / 64];
	}
	s->alloccache = 0;
	s->cachebase = (s->nelems + 63) & ~63u;
	atomic_store_explicit(&s->freeindex, s->nelems, memory_order_relaxed);
	return UINT32_MAX;
}

/* Sweep s (claimed by the caller: sweepgen sg - 1). Returns true if the span was freed
 * back to the heap (then s must not be touched): one left with no object, unless
 * keep_empty (an allocator that will take it at once, central.c). The caller puts it
 * on a list otherwise. sweep.c. */
bool span_sweep(struct span *s, uint32_t sg, bool keep_empty);

#endif
