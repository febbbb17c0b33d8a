/*
 * rt/gc/malloc.c: allocation (Go's mallocgc), the public gc_new / gc_alloc family.
 *
 * Small objects (up to GC_MAX_SMALL) come from this CPU's cached span of their span
 * class (cache.c): with interrupts off, the next free slot is found in the span's
 * alloccache and freeindex moves past it; no lock, no atomic read-modify-write.
 * During marking the object is black already: the cache blackened the span's free
 * slots (cache.c), so this cycle keeps it without scanning it (what it will point to
 * gets there through the barrier). Then, still with interrupts off:
 *   - a typed object's type is recorded: nothing to do while its span holds objects
 *     of that one type only (struct span), else its pointer bits in the span's
 *     bitmap (an array repeats the type), the rest of the slot's bits cleared.
 * The memory is zeroed in that same section (a span whose memory may be dirty: one
 * that held objects before, or fresh from unzeroed pages, heap.c): the object is black and reachable
 * from this goroutine's registers the moment interrupts come back on, and a pause
 * that came in between would find it holding a dead object's old pointers (the
 * checkmark pass, which scans black objects too, would report them). At most 32 KiB,
 * so a bounded time with interrupts off. A large object is zeroed before its span is
 * published, so nobody ever sees it dirty.
 *
 * Large objects get a span of their own from the page heap, on their class's central
 * list (size class 0 of their kind) so the sweeper finds them.
 *
 * Before allocating, the goroutine pays for it (pacer.c): it may start a cycle, or,
 * during one, help mark in proportion to what it allocates. When the heap cannot
 * grow, a full collection runs and the allocation is tried again; then the idle
 * chunks are given back to the page allocator and tried once more; then a panic that
 * names the request and the heap's state.
 */
#include <string.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <rt/sched.h>
#include "heap.h"
#include "mark.h"

const struct gc_type gc_type_ptr = { .name = "pointer", .size = 8, .nwords = 1, .nptr = 1, .ptrmask = { 1 } };
const struct gc_type gc_type_u64 = { .name = "uint64", .size = 8, .nwords = 1, .nptr = 0 };
const struct gc_type gc_type_mixed = { .name = "typed, several types", .size = 8, .nwords = 1 };

static _Atomic bool gc_ready;	/* gc_init ran */

/* Write the pointer bits of [x, x + elemsize) for n elements of type t (a TYPED small
 * span; interrupts off, this CPU caches the span). Slots of up to 64 words (512 bytes:
 * nearly every typed object) take the fast way: the object's bits are built in one word
 * and written into at most two words of the bitmap. */
static void write_ptrbits(struct span *s, uintptr_t x, const struct gc_type *t, size_t n)
{
	uint32_t first = (uint32_t)((x - s->base) / 8);
	uint32_t words = s->elemsize / 8;
	if (words <= 64 && t->nwords <= 64) {
		uint64_t one = t->nwords == 64 ? t->ptrmask[0] : t->ptrmask[0] & ((1ull << t->nwords) - 1);
		uint64_t val = 0;
		for (size_t k = 0; k < n && k * t->nwords < words; k++)
			val |= one << (k * t->nwords);
		uint64_t lomask = words == 64 ? ~0ull : (1ull << words) - 1;
		val &= lomask;
		uint64_t *bits = s->ptrbits;
		uint32_t wi = first / 64, off = first % 64;
		uint64_t old = __atomic_load_n(&bits[wi], __ATOMIC_RELAXED);
		__atomic_store_n(&bits[wi], (old & ~(lomask << off)) | (val << off), __ATOMIC_RELAXED);
		if (off + words > 64) {
			uint32_t sh = 64 - off;
			old = __atomic_load_n(&bits[wi + 1], __ATOMIC_RELAXED);
			__atomic_store_n(&bits[wi + 1], (old & ~(lomask >> sh)) | (val >> sh), __ATOMIC_RELAXED);
		}
		return;
	}
	uint32_t used = (uint32_t)(t->nwords * n);
	uint64_t *bits = s->ptrbits;
	uint32_t w = 0;
	while (w < words) {
		uint32_t bit = first + w;
		uint32_t wi = bit / 64, off = bit % 64;
		uint32_t take = 64 - off;
		if (take > words - w)
			take = words - w;
		uint64_t val = 0;
		for (uint32_t k = 0; k < take; k++) {
			uint32_t ow = w + k;
			if (ow < used) {
				uint32_t tw = ow % t->nwords;
				if ((t->ptrmask[tw / 64] >> (tw % 64)) & 1)
					val |= 1ull << k;
			}
		}
		uint64_t mask = take == 64 ? ~0ull : ((1ull << take) - 1) << off;
		uint64_t old = __atomic_load_n(&bits[wi], __ATOMIC_RELAXED);
		__atomic_store_n(&bits[wi], (old & ~mask) | (val << off), __ATOMIC_RELAXED);
		w += take;
	}
}

/* Objects of a second type (or an array) in a span that held one type only: give
 * every slot the bits of the type they all had so far, then let markers read ptrbits
 * (struct span). */
static void span_go_mixed(struct span *s)
{
	span_ptrbits_alloc(s);
	const struct gc_type *t = atomic_load_explicit(&s->type, memory_order_relaxed);
	if (t)
		for (uint32_t i = 0; i < s->nelems; i++)
			write_ptrbits(s, span_objbase(s, i), t, 1);
	atomic_store_explicit(&s->type, &gc_type_mixed, memory_order_release);
}

/* Record the type of a new object in its small TYPED span: nothing to do while the
 * span holds one type only, the common case. */
static inline void set_type(struct span *s, uintptr_t x, const struct gc_type *t, size_t n)
{
	const struct gc_type *st = atomic_load_explicit(&s->type, memory_order_relaxed);
	if (__builtin_expect(st == t && n == 1, 1))
		return;
	if (!st && n == 1) {
		atomic_store_explicit(&s->type, t, memory_order_release);
		return;
	}
	if (st != &gc_type_mixed)
		span_go_mixed(s);
	write_ptrbits(s, x, t, n);
}

static _Noreturn void oom(size_t size)
{
	uint64_t inuse, freep, chunks, released;
	heap_counts(&inuse, &freep, &chunks, &released);
	panic("gc: out of memory allocating %zu bytes (heap: %llu KiB in use, %llu KiB free in spans, "
	      "%llu MiB mapped, %llu MiB live after the last collection, goal %llu MiB; %llu pages "
	      "free in the page allocator)", size, (unsigned long long)(inuse * PAGE_SIZE >> 10),
	      (unsigned long long)(freep * PAGE_SIZE >> 10),
	      (unsigned long long)(chunks * HEAP_CHUNK >> 20),
	      (unsigned long long)(atomic_load(&pacer_heap_marked) >> 20),
	      (unsigned long long)(atomic_load(&pacer_heap_goal) >> 20),
	      (unsigned long long)page_free_count());
}

/*
 * From the moment an object exists until the caller has it, its address must be in
 * this goroutine's registers or stack, as itself: a cycle can begin and end while the
 * allocation is preempted at its last irq_pop, and the collector would not know that
 * `s->base`, which the compiler might load again from a span struct (metadata, never
 * scanned) at the return, is a heap pointer. The empty asm makes x opaque: the
 * compiler must keep the value it computed.
 */
static inline void hold(uintptr_t *x)
{
	__asm__ volatile("" : "+r"(*x));
}

/* Zero an object of a size class (a multiple of 8): up to 64 bytes with two
 * overlapping stores of 8, 16 or 32 bytes, no loop, no call and no jump table (a
 * switch over the classes cost GCBench seven instructions an object). */
static inline void zero_object(uintptr_t x, size_t n)
{
	char *p = (char *)x;
	if (n <= 16) {
		if (n == 8)
			__builtin_memset(p, 0, 8);
		else
			__builtin_memset(p, 0, 16);
	} else if (n <= 32) {
		__builtin_memset(p, 0, 16);
		__builtin_memset(p + n - 16, 0, 16);
	} else if (n <= 64) {
		__builtin_memset(p, 0, 32);
		__builtin_memset(p + n - 32, 0, 32);
	} else {
		memset(p, 0, n);
	}
}

/* Debit the allocating goroutine `size` bytes while a cycle marks (pacer_debit):
 * whether it must assist. Outside a cycle (most of the time) nothing is owed.
 * Interrupts off. */
static inline bool alloc_debit(size_t size)
{
	if (__builtin_expect(atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_OFF, 1))
		return false;
	struct g *g = sched_curg_irqoff();
	if (!g)
		panic("gc: allocation of %zu bytes outside a goroutine", size);
	return pacer_debit(g, size);
}

/* A small object of spanclass sc, zeroed, the whole way (the fast path's fallback): its
 * address, or 0 when the heap cannot grow. *grew set if the CPU's cache took a span
 * for it; *owe if a cycle marks and the goroutine, debited `size` here, must assist
 * (pacer_assist). */
static uintptr_t alloc_small(unsigned sc, const struct gc_type *t, size_t n, size_t size, bool *grew, bool *owe)
{
	irq_push();
	struct mcache *mc = &gc_mcaches[cpu_id()];
	struct span *s = mc->alloc[sc];
	uint32_t idx;
	if (!s || (idx = span_next_free(s)) == UINT32_MAX) {
		if (!atomic_load_explicit(&gc_ready, memory_order_relaxed))
			panic("gc: allocation before the collector is initialised (no goroutine yet?)");
		if (!sched_curg_irqoff())
			panic("gc: allocation outside a goroutine");
		*grew = true;
		if (!mcache_refill(mc, sc)) {
			irq_pop();
			return 0;
		}
		s = mc->alloc[sc];
		idx = span_next_free(s);
		KASSERT(idx != UINT32_MAX);
	}
	uintptr_t x = span_objbase(s, idx);
	hold(&x);
	if (s->needzero)
		zero_object(x, s->elemsize);
	if (s->kind == SPAN_TYPED)
		set_type(s, x, t, n);
	*owe = alloc_debit(size);
	irq_pop();
	return x;
}

/* A large object, zeroed: its address, or 0 when the heap cannot grow. */
static __attribute__((noinline)) uintptr_t alloc_large(size_t size, enum span_kind kind, const struct gc_type *t, bool *grew)
{
	if (!atomic_load_explicit(&gc_ready, memory_order_relaxed))
		panic("gc: allocation before the collector is initialised (no goroutine yet?)");
	*grew = true;
	size_t rounded = (size + 15) & ~(size_t)15;
	uint64_t npages = (rounded + PAGE_SIZE - 1) / PAGE_SIZE;
	if (npages > UINT32_MAX || rounded > UINT32_MAX)
		return 0;
	struct span *s = heap_alloc_span((uint32_t)npages);
	if (!s)
		return 0;
	unsigned sc = spanclass_make(0, kind);
	s->spanclass = (uint16_t)sc;
	s->kind = (uint8_t)kind;
	s->elemsize = (uint32_t)rounded;
	s->nelems = 1;
	s->limit = s->base + rounded;
	s->divmul = 0;			/* every offset is object 0 */
	s->type = kind == SPAN_TYPED ? t : NULL;
	s->specials = NULL;
	span_bitmaps_alloc(s);
	atomic_store_explicit(&s->freeindex, 1, memory_order_relaxed);
	s->allocount = 1;
	s->cachebase = 64;
	s->alloccache = 0;
	if (s->needzero)	/* before it is published: nobody can see it yet */
		memset((void *)s->base, 0, rounded);
	uintptr_t x = s->base;
	hold(&x);	/* (see hold) */
	irq_push();	/* the phase and the span's publication together */
	atomic_store_explicit(&s->sweepgen, atomic_load(&gcheap.sweepgen), memory_order_relaxed);
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) != GC_OFF)
		bit_set_atomic(s->markbits, 0);
	atomic_store_explicit(&s->state, SPAN_INUSE, memory_order_release);
	central_put_swept(&gc_central[sc], s);
	irq_pop();
	pacer_heap_live_add((int64_t)npages * PAGE_SIZE);
	atomic_fetch_add_explicit(&gcheap.large_live, npages * PAGE_SIZE, memory_order_relaxed);
	irq_push();
	struct mcache *mc = &gc_mcaches[cpu_id()];
	mc->nalloc++;
	mc->nalloc_bytes += rounded;
	irq_pop();
	return x;
}

/* The allocating goroutine, for the pacer's slow paths. */
static struct g *alloc_g(size_t size)
{
	struct g *g = sched_curg();
	if (!g)
		panic("gc: allocation of %zu bytes outside a goroutine", size);
	return g;
}

/* Pay for an allocation while a cycle marks: assist (pacer.c). A large one is debited
 * here; a small one was, by alloc_small, and pays only if in debt. */
static __attribute__((noinline)) void alloc_pay(size_t size)
{
	pacer_alloc(alloc_g(size), size);
}

static __attribute__((noinline)) void alloc_assist(size_t size)
{
	pacer_assist(alloc_g(size));
}

/* The heap grew: a cache took a span, or a large object was made. heap_live moves
 * only then (cache.c), so the trigger is checked only then (pacer.c), as Go checks it
 * when a cache is refilled: the fast path reads no shared counter. */
static __attribute__((noinline)) void alloc_grew(size_t size)
{
	pacer_heap_grew(alloc_g(size));
}

/* Everything alloc's fast path leaves: a refill (which may grow the heap: the pacer's
 * trigger), a type to record, a large object, an assist, and when the heap cannot
 * grow a collection and the retries. */
static __attribute__((noinline)) void *alloc_slow(size_t size, enum span_kind kind, const struct gc_type *t,
						   size_t n)
{
	if (size > GC_MAX_SMALL && atomic_load_explicit(&gc_phase, memory_order_relaxed) != GC_OFF)
		alloc_pay(size);
	for (int attempt = 0;; attempt++) {
		bool grew = false, owe = false;
		uintptr_t x = size <= GC_MAX_SMALL ? alloc_small(spanclass_make(sizeclass_of(size), kind), t, n,
								 size, &grew, &owe)
						   : alloc_large(size, kind, t, &grew);
		if (grew)
			alloc_grew(size);
		if (owe)
			alloc_assist(size);
		if (x)
			return (void *)x;
		if (attempt == 0)
			gc_collect();
		else if (attempt == 1)
			heap_scavenge(0, NULL);
		else
			oom(size);
	}
}

/* The fast path's object when its goroutine owes an assist: pay, then hand it over. */
static __attribute__((noinline)) void *alloc_owed(uintptr_t x, size_t size)
{
	hold(&x);
	alloc_assist(size);
	return (void *)x;
}

/*
 * Allocation, inlined into each allocator (Go's mallocgc with nextFreeFast). The fast
 * path: the next free slot of this CPU's cached span of the class, when its
 * alloccache has one and the span's type needs no recording (one object of the one
 * type the span holds); the pacer's debit while a cycle marks. It takes interrupts
 * off with the architecture's save and restore alone, not irq_push's nesting count:
 * it is entered with them on (asserted), calls nothing with them off, and an
 * interrupt that came meanwhile is taken at the restore (a tick's preemption then
 * finds the count at 0, as it must). Anything else goes the whole way, alloc_slow,
 * with nothing taken here. (Counted by cachegrind over GCBench, 15.3 million
 * allocations: 160 instructions each through irq_push/irq_pop, set_type, a jump table
 * to zero, and gc_new through gc_new_array's overflow check; 83 this way.)
 */
static inline __attribute__((always_inline)) void *alloc(size_t size, enum span_kind kind,
							 const struct gc_type *t, size_t n)
{
	if (__builtin_expect(size <= GC_MAX_SMALL, 1)) {
		unsigned sc = spanclass_make(sizeclass_of(size), kind);
		KASSERT(arch_irq_enabled());
		unsigned long flags = arch_irq_save();
		struct span *s = gc_mcaches[cpu_id()].alloc[sc];
		uint64_t ac;
		uint32_t idx;
		if (__builtin_expect(s && (ac = s->alloccache) != 0 &&
				     (idx = s->cachebase + (uint32_t)__builtin_ctzll(ac)) < s->nelems &&
				     (kind != SPAN_TYPED ||
				      (n == 1 && atomic_load_explicit(&s->type, memory_order_relaxed) == t)), 1)) {
			span_take(s, idx);
			uintptr_t x = span_objbase(s, idx);
			hold(&x);
			if (s->needzero)
				zero_object(x, s->elemsize);
			bool owe = alloc_debit(size);
			arch_irq_restore(flags);
			if (__builtin_expect(owe, 0))
				return alloc_owed(x, size);
			return (void *)x;
		}
		arch_irq_restore(flags);
	}
	return alloc_slow(size, kind, t, n);
}

void *gc_new(const struct gc_type *t)
{
	if (!t || t->size == 0)
		panic("gc_new: a type of size 0");
	if (t->nptr == 0)
		return alloc(t->size, SPAN_NOSCAN, NULL, 0);
	return alloc(t->size, SPAN_TYPED, t, 1);
}

void *gc_new_array(const struct gc_type *t, size_t n)
{
	if (!t || t->size == 0)
		panic("gc_new: a type of size 0");
	size_t size;	/* (no division: gc_new comes this way) */
	if (__builtin_mul_overflow(t->size, n ? n : 1, &size) || size > SIZE_MAX / 2)
		panic("gc_new_array: %zu elements of %zu bytes overflow", n, t->size);
	if (t->nptr == 0)
		return alloc(size, SPAN_NOSCAN, NULL, 0);
	return alloc(size, SPAN_TYPED, t, n ? n : 1);
}

/* Untyped requests keep malloc's alignment: 16 bytes above 8. */
static size_t untyped_size(size_t n)
{
	if (n == 0)
		return 8;
	if (n > SIZE_MAX / 2)
		panic("gc_alloc: %zu bytes", n);
	return n <= 8 ? 8 : (n + 15) & ~(size_t)15;
}

void *gc_alloc(size_t n)
{
	return alloc(untyped_size(n), SPAN_CONS, NULL, 0);
}

void *gc_alloc_noscan(size_t n)
{
	return alloc(untyped_size(n), SPAN_NOSCAN, NULL, 0);
}

void *gc_base(const void *p)
{
	struct span *s = span_of((uintptr_t)p);
	if (!s)
		return NULL;
	uint32_t i = span_objindex(s, (uintptr_t)p);
	if (span_isfree(s, i))
		return NULL;
	return (void *)span_objbase(s, i);
}

size_t gc_size(const void *p)
{
	struct span *s = span_of((uintptr_t)p);
	if (!s)
		return 0;
	uint32_t i = span_objindex(s, (uintptr_t)p);
	if (span_isfree(s, i))
		return 0;
	return s->elemsize;
}

void *gc_realloc(void *p, size_t n)
{
	if (!p)
		return gc_alloc(n);
	struct span *s = span_of((uintptr_t)p);
	if (!s || (uintptr_t)p != span_objbase(s, span_objindex(s, (uintptr_t)p)))
		panic("gc_realloc: %p is not the start of a heap object", p);
	size_t old = s->elemsize;
	void *q;
	if (s->kind == SPAN_TYPED) {
		const struct gc_type *t = atomic_load_explicit(&s->type, memory_order_acquire);
		if (!t || t == &gc_type_mixed)
			panic("gc_realloc: %p is a small typed object (its type is not kept: use "
			      "gc_new_array and copy)", p);
		if (n % t->size)
			panic("gc_realloc: %zu bytes is not a multiple of %s (%zu bytes)", n, t->name, t->size);
		q = gc_new_array(t, n / t->size);
	} else {
		q = s->kind == SPAN_NOSCAN ? gc_alloc_noscan(n) : gc_alloc(n);
	}
	size_t keep = old < n ? old : n;
	if (s->kind == SPAN_NOSCAN)
		memcpy(q, p, keep);
	else
		gc_copy(q, p, keep);
	return q;
}

void gc_free(void *p)
{
	if (!p)
		return;
	struct span *s = span_of((uintptr_t)p);
	if (!s)
		panic("gc_free: %p is not in the heap", p);
	uint32_t i = span_objindex(s, (uintptr_t)p);
	if ((uintptr_t)p != span_objbase(s, i) || span_isfree(s, i))
		panic("gc_free: %p is not the start of an allocated heap object", p);
	final_forget(p);
	if (spanclass_size(s->spanclass) == 0 && !span_has_specials(s)) {
		/* A large object goes back at once if nothing can be looking at its span:
		 * no marking (a marker could hold its address; with interrupts off here no
		 * stop, hence no phase change, can come until it is done) and swept (not
		 * in the sweeper's hands). Off its central list, then to the page heap. */
		irq_push();
		struct central *c = &gc_central[s->spanclass];
		bool freed = false;
		spin_lock(&c->lock);
		uint32_t sg = atomic_load(&gcheap.sweepgen);
		bool take = atomic_load(&gc_phase) == GC_OFF && atomic_load(&s->sweepgen) == sg;
		if (take)
			spanlist_remove(&c->full[(sg / 2) % 2], s);
		spin_unlock(&c->lock);
		if (take) {
			uint64_t bytes = (uint64_t)s->npages * PAGE_SIZE;
			heap_free_span(s);
			pacer_heap_live_add(-(int64_t)bytes);
			atomic_fetch_sub_explicit(&gcheap.large_live, bytes, memory_order_relaxed);
			freed = true;
		}
		irq_pop();
		if (freed)
			return;
	}
	/* A small object (or a large one during a collection) is cleared, so it keeps
	 * nothing alive whatever points at it next; the sweep reclaims it. (Clearing
	 * cuts pointers: the hybrid barrier shades them.) */
	gc_zero(p, s->elemsize);
}

void gc_alloc_init(void)
{
	sizeclass_init();
	heap_init();
	central_init();
	atomic_store(&gc_ready, true);
}

