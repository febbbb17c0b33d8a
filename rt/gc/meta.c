/*
 * rt/gc/meta.c: memory for the collector's own metadata: span structs and the
 * per-span bitmaps (Go's fixalloc and gcBits arenas, simplified).
 *
 * Blocks are multiples of 64 bytes up to META_MAX, one free list per size, carved
 * from pages of the kernel's page allocator (reached through the direct map), recycled
 * and never given back. Bitmaps come from here rather than from the spans themselves
 * so that objects keep their natural alignment and a span's pages hold nothing but
 * objects.
 *
 * Span structs are type-stable (Go's fixalloc for mspans): they have a pool of their
 * own, and memory that once held a span struct only ever holds span structs. The span
 * map keeps naming a struct after its span went away (a free span's map entries are
 * set only at its ends, and a span merged into its neighbour is freed here), so a
 * lock-free reader of an entry (span_of, for every conservative word a marker
 * follows) may hold a struct that was freed meanwhile. That read is safe only because
 * the struct is still a span struct: DEAD while in the pool, and when handed out
 * again its state is published last (SPAN_INUSE with release once it is filled in),
 * so the reader finds the state or the bounds wrong and ignores it. Were the memory a
 * bitmap now, a word of bits could read as an in-use span covering the address, and
 * the marker would set a "mark bit" through a pointer made of bits. A recycled struct
 * is therefore cleared around its state byte, which stays DEAD throughout.
 *
 * The lock is the collector's highest rank: any of its other locks may be held.
 * Interrupts are off while it is held; allocation of a fresh page (pmm) nests inside.
 */
#include <stddef.h>
#include <string.h>
#include <arch/memlayout.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/spinlock.h>
#include <rt/gc_test.h>
#include "heap.h"
#include "mark.h"

#define META_GRAIN 64
#define META_LISTS (META_MAX / META_GRAIN)

struct meta_free_block {
	struct meta_free_block *next;
};

static struct spinlock meta_lock = SPINLOCK_INIT("gc_meta", LOCK_RANK_GC_META);
static struct meta_free_block *meta_lists[META_LISTS + 1];	/* meta_lock */
static char *meta_bump;						/* meta_lock: rest of the page */
static size_t meta_left;

static size_t grains(size_t bytes)
{
	return (bytes + META_GRAIN - 1) / META_GRAIN;
}

void *meta_alloc(size_t bytes)
{
	KASSERT(bytes > 0 && bytes <= META_MAX);
	size_t g = grains(bytes);
	size_t size = g * META_GRAIN;
	void *p = NULL;
	spin_lock_irqsave(&meta_lock);
	if (meta_lists[g]) {
		p = meta_lists[g];
		meta_lists[g] = meta_lists[g]->next;
	} else {
		if (meta_left < size) {
			/* the tail of the old page goes to the free list of its size */
			size_t tg = meta_left / META_GRAIN;
			if (tg) {
				struct meta_free_block *b = (void *)meta_bump;
				b->next = meta_lists[tg];
				meta_lists[tg] = b;
			}
			uint64_t pa = page_alloc();
			if (!pa) {
				spin_unlock_irqrestore(&meta_lock);
				panic("gc: out of memory for the collector's metadata (%zu bytes)", bytes);
			}
			meta_bump = phys_to_virt(pa);
			meta_left = PAGE_SIZE;

		}
		p = meta_bump;
		meta_bump += size;
		meta_left -= size;
	}
	spin_unlock_irqrestore(&meta_lock);
	memset(p, 0, size);
	return p;
}

void meta_free(void *p, size_t bytes)
{
	if (!p)
		return;
	size_t g = grains(bytes);
	KASSERT(g >= 1 && g <= META_LISTS);
	struct meta_free_block *b = p;
	spin_lock_irqsave(&meta_lock);
	b->next = meta_lists[g];
	meta_lists[g] = b;
	spin_unlock_irqrestore(&meta_lock);
}

/* Span structs: their own pool (the top), a cache line apart. */
#define SPAN_STRUCT_SIZE ((sizeof(struct span) + META_GRAIN - 1) / META_GRAIN * META_GRAIN)

static struct span *span_pool;		/* meta_lock: freed structs, linked through next */
static char *span_bump;			/* meta_lock: rest of the pool's page */
static size_t span_left;

struct span *span_struct_alloc(void)
{
	struct span *s;
	bool fresh = false;
	spin_lock_irqsave(&meta_lock);
	if (span_pool) {
		s = span_pool;
		span_pool = s->next;
	} else {
		if (span_left < SPAN_STRUCT_SIZE) {
			uint64_t pa = page_alloc();
			if (!pa) {
				spin_unlock_irqrestore(&meta_lock);
				panic("gc: out of memory for the collector's metadata (a span struct)");
			}
			span_bump = phys_to_virt(pa);
			span_left = PAGE_SIZE;
		}
		s = (struct span *)span_bump;
		span_bump += SPAN_STRUCT_SIZE;
		span_left -= SPAN_STRUCT_SIZE;
		fresh = true;
	}
	spin_unlock_irqrestore(&meta_lock);
	if (fresh) {
		memset(s, 0, sizeof(*s));	/* never named by the span map yet */
	} else {
		/* A stale span-map entry may name it: its state stays DEAD (the top) */
		KASSERT(atomic_load(&s->state) == SPAN_DEAD);
		size_t st = offsetof(struct span, state);
		memset(s, 0, st);
		memset((char *)s + st + 1, 0, sizeof(*s) - st - 1);
	}
	return s;
}

void span_struct_free(struct span *s)
{
	KASSERT(atomic_load(&s->state) != SPAN_INUSE);
	atomic_store_explicit(&s->state, SPAN_DEAD, memory_order_release);
	spin_lock_irqsave(&meta_lock);
	s->next = span_pool;
	span_pool = s;
	spin_unlock_irqrestore(&meta_lock);
}

/*
 * One block: [alloc | mark | check] (bitwords each; check only with gccheckmark=1, set
 * at boot before the first span). A TYPED small span gets its pointer bitmap (a bit a
 * word) in a second block only when it goes mixed (span_ptrbits_alloc): a span of one
 * type, nearly every span, is scanned by that type and never reads it. Allocating it
 * with the others cost GCBench 128 of every 256 bytes of bitmaps, 0.4 MB of its peak.
 * A large TYPED span scans by its type instead.
 */
static size_t bitmaps_bytes(const struct span *s)
{
	return (gc_opt_checkmark ? 3 : 2) * (size_t)span_bitwords(s) * 8;
}

void span_bitmaps_alloc(struct span *s)
{
	/* a span struct comes zeroed, and heap_free_span freed the bitmaps (sized by
	 * nelems, which the caller has changed by now) */
	KASSERT(!s->allocbits && !s->ptrbits);
	uint32_t bw = span_bitwords(s);
	size_t bytes = bitmaps_bytes(s);
	if (bytes > META_MAX)
		panic("gc: span bitmaps of %zu bytes (class %u, %u objects, %u pages)", bytes,
		      spanclass_size(s->spanclass), s->nelems, s->npages);
	uint64_t *b = meta_alloc(bytes);
	s->allocbits = b;
	s->markbits = b + bw;
	s->ptrbits = NULL;
}

static size_t ptrbits_bytes(const struct span *s)
{
	return ((size_t)s->npages * PAGE_SIZE / 8 + 63) / 64 * 8;
}

void span_ptrbits_alloc(struct span *s)
{
	KASSERT(s->kind == SPAN_TYPED && spanclass_size(s->spanclass) != 0 && !s->ptrbits);
	size_t bytes = ptrbits_bytes(s);
	if (bytes > META_MAX)
		panic("gc: a pointer bitmap of %zu bytes (class %u, %u pages)", bytes,
		      spanclass_size(s->spanclass), s->npages);
	s->ptrbits = meta_alloc(bytes);
}

void span_bitmaps_free(struct span *s)
{
	if (s->allocbits)
		meta_free(s->allocbits < s->markbits ? s->allocbits : s->markbits, bitmaps_bytes(s));
	if (s->ptrbits)
		meta_free(s->ptrbits, ptrbits_bytes(s));
	s->allocbits = s->markbits = s->ptrbits = NULL;
}

/* ---- test hooks (rt/gc_test.h) -------------------------------------------------------------- */

#define ALIAS_BLOCKS 64
static uint64_t *alias_blocks[ALIAS_BLOCKS];	/* held between the two calls (one test) */
static uint64_t alias_scratch[2];

unsigned gc_test_meta_alias(bool hold)
{
	if (!hold) {
		for (unsigned i = 0; i < ALIAS_BLOCKS; i++) {
			meta_free(alias_blocks[i], SPAN_STRUCT_SIZE);
			alias_blocks[i] = NULL;
		}
		return 0;
	}
	/* Blocks of a span struct's size as a bitmap would take them, whose bits read as
	 * an in-use span covering every address (its bits pointing at scratch words). */
	struct span fake;
	memset(&fake, 0, sizeof(fake));
	fake.base = 0;
	fake.limit = UINTPTR_MAX;
	fake.npages = UINT32_MAX;
	fake.elemsize = 1u << 31;
	fake.nelems = 1;
	fake.allocbits = &alias_scratch[0];
	fake.markbits = &alias_scratch[1];
	atomic_init(&fake.state, SPAN_INUSE);
	for (unsigned i = 0; i < ALIAS_BLOCKS; i++) {
		alias_blocks[i] = meta_alloc(SPAN_STRUCT_SIZE);
		memcpy(alias_blocks[i], &fake, sizeof(fake));
	}
	/* How many span-map entries name one of them? */
	unsigned n = 0;
	uintptr_t used = __atomic_load_n(&gcheap.arena_used, __ATOMIC_ACQUIRE);
	for (uintptr_t a = GC_HEAP_BASE; a < used; a += PAGE_SIZE) {
		uintptr_t e = (uintptr_t)atomic_load(&GC_SPANMAP[page_index(a)]);
		for (unsigned i = 0; i < ALIAS_BLOCKS; i++)
			if (e >= (uintptr_t)alias_blocks[i] && e < (uintptr_t)alias_blocks[i] + SPAN_STRUCT_SIZE)
				n++;
	}
	return n;
}

bool gc_test_in_span(const void *p)
{
	return span_of((uintptr_t)p) != NULL;
}
