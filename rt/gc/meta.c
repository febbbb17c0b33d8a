/*
 * rt/gc/meta.c: memory for the collector's own metadata: span structs and the
 * per-span bitmaps (Go's fixalloc and gcBits arenas, simplified).
 *
 * Blocks are multiples of 64 bytes up to META_MAX, one free list per size, carved
 * from pages of the kernel's page allocator (reached through the direct map). Blocks
 * are recycled, never given back: a marker that read a stale span-map entry may still
 * be looking at a span struct that was freed meanwhile, and that read must stay safe
 * (it then finds the state or the bounds wrong and ignores the span). Bitmaps come
 * from here rather than from the spans themselves so that objects keep their natural
 * alignment and a span's pages hold nothing but objects.
 *
 * The lock is the collector's highest rank: any of its other locks may be held.
 * Interrupts are off while it is held; allocation of a fresh page (pmm) nests inside.
 */
#include <string.h>
#include <arch/memlayout.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/spinlock.h>
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

struct span *span_struct_alloc(void)
{
	return meta_alloc(sizeof(struct span));
}

void span_struct_free(struct span *s)
{
	KASSERT(atomic_load(&s->state) != SPAN_INUSE);
	atomic_store_explicit(&s->state, SPAN_DEAD, memory_order_release);
	meta_free(s, sizeof(*s));
}

/*
 * One block: [alloc | mark | check] (bitwords each; check only with gccheckmark=1, set
 * at boot before the first span), then for a TYPED small span the pointer bitmap of
 * its words. A large TYPED span scans by its type instead.
 */
void span_bitmaps_alloc(struct span *s)
{
	span_bitmaps_free(s);
	uint32_t bw = (s->nelems + 63) / 64;
	size_t ptrwords = 0;
	if (s->kind == SPAN_TYPED && s->spanclass / SPAN_KINDS != 0)
		ptrwords = ((size_t)s->npages * PAGE_SIZE / 8 + 63) / 64;
	size_t nbits = gc_opt_checkmark ? 3 : 2;
	size_t bytes = (nbits * (size_t)bw + ptrwords) * 8;
	if (bytes > META_MAX)
		panic("gc: span bitmaps of %zu bytes (class %u, %u objects, %u pages)", bytes,
		      spanclass_size(s->spanclass), s->nelems, s->npages);
	uint64_t *b = meta_alloc(bytes);
	s->metablock = b;
	s->metasize = (uint32_t)bytes;
	s->bitwords = bw;
	s->allocbits = b;
	s->markbits = b + bw;
	s->checkbits = gc_opt_checkmark ? b + 2 * bw : NULL;
	s->ptrbits = ptrwords ? b + nbits * bw : NULL;
}

void span_bitmaps_free(struct span *s)
{
	if (s->metablock)
		meta_free(s->metablock, s->metasize);
	s->metablock = NULL;
	s->metasize = 0;
	s->allocbits = s->markbits = s->checkbits = s->ptrbits = NULL;
	s->bitwords = 0;
}
