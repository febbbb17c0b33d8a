/*
 * rt/gc/work.c: work buffers and the two global lock-free stacks (design in work.h).
 *
 * The stacks' head word: the low 40 bits hold (buffer's offset in the direct map /
 * WORKBUF_SIZE) + 1, 0 meaning empty; the high 24 bits a counter bumped by every push.
 * Buffers come from the page allocator (two per page) and are never given back, so a
 * popper that read a head and then lost the race still reads a buffer's link from
 * valid memory; the counter makes its CAS fail. The direct map of 32 TiB holds 2^34
 * buffer slots, well within 40 bits.
 */
#include <arch/memlayout.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include "work.h"

struct lfstack gc_work_full, gc_work_empty;
_Atomic uint64_t gc_work_nfull;
_Atomic uint64_t gc_workbufs;

static inline uint64_t lf_index(const struct workbuf *b)
{
	return ((uintptr_t)b - DMAP_BASE) / WORKBUF_SIZE + 1;
}

static inline struct workbuf *lf_buf(uint64_t word)
{
	uint64_t i = word & LF_INDEX_MASK;
	return i ? (struct workbuf *)(DMAP_BASE + (i - 1) * WORKBUF_SIZE) : NULL;
}

void lfstack_push(struct lfstack *s, struct workbuf *b)
{
	uint64_t old = atomic_load_explicit(&s->head, memory_order_relaxed), nw;
	do {
		__atomic_store_n(&b->link, old, __ATOMIC_RELAXED);
		nw = (((old >> LF_INDEX_BITS) + 1) << LF_INDEX_BITS) | lf_index(b);
	} while (!atomic_compare_exchange_weak_explicit(&s->head, &old, nw, memory_order_release,
							memory_order_relaxed));
}

struct workbuf *lfstack_pop(struct lfstack *s)
{
	uint64_t old = atomic_load_explicit(&s->head, memory_order_acquire);
	for (;;) {
		struct workbuf *b = lf_buf(old);
		if (!b)
			return NULL;
		/* the link may be stale (b popped and pushed elsewhere meanwhile): the CAS
		 * then fails, since every push changed the counter */
		uint64_t next = __atomic_load_n(&b->link, __ATOMIC_RELAXED);
		uint64_t nw = (old & ~LF_INDEX_MASK) | (next & LF_INDEX_MASK);
		if (atomic_compare_exchange_weak_explicit(&s->head, &old, nw, memory_order_acquire,
							  memory_order_acquire))
			return b;
	}
}

static struct workbuf *getempty(void)
{
	struct workbuf *b = lfstack_pop(&gc_work_empty);
	if (b) {
		b->nobj = 0;
		return b;
	}
	uint64_t pa = page_alloc();
	if (!pa)
		panic("gc: out of memory for mark work buffers (%llu allocated)",
		      (unsigned long long)atomic_load(&gc_workbufs));
	_Static_assert(PAGE_SIZE % WORKBUF_SIZE == 0, "workbufs per page");
	struct workbuf *first = phys_to_virt(pa);
	for (unsigned i = 1; i < PAGE_SIZE / WORKBUF_SIZE; i++)
		lfstack_push(&gc_work_empty, (struct workbuf *)((char *)first + i * WORKBUF_SIZE));
	atomic_fetch_add(&gc_workbufs, PAGE_SIZE / WORKBUF_SIZE);
	first->nobj = 0;
	return first;
}

static void putfull(struct workbuf *b)
{
	atomic_fetch_add_explicit(&gc_work_nfull, 1, memory_order_relaxed);
	lfstack_push(&gc_work_full, b);
}

static struct workbuf *trygetfull(void)
{
	struct workbuf *b = lfstack_pop(&gc_work_full);
	if (b)
		atomic_fetch_sub_explicit(&gc_work_nfull, 1, memory_order_relaxed);
	return b;
}

void gcwork_put_slow(struct gcwork *w, uintptr_t obj)
{
	KASSERT(!arch_irq_enabled());
	struct workbuf *b = w->wbuf1;
	if (!b) {
		b = w->wbuf1 = getempty();
		if (!w->wbuf2)
			w->wbuf2 = getempty();
	} else if (b->nobj == WORKBUF_N) {
		/* swap with the spare; if that is full too, publish it */
		w->wbuf1 = w->wbuf2;
		w->wbuf2 = b;
		b = w->wbuf1;
		if (b->nobj == WORKBUF_N) {
			putfull(b);
			b = w->wbuf1 = getempty();
		}
	}
	b->obj[b->nobj++] = obj;
}

uintptr_t gcwork_tryget_local_slow(struct gcwork *w)
{
	KASSERT(!arch_irq_enabled());
	struct workbuf *b = w->wbuf1;
	if (!b)
		return 0;
	if (b->nobj == 0) {
		w->wbuf1 = w->wbuf2;
		w->wbuf2 = b;
		b = w->wbuf1;
		if (!b || b->nobj == 0)
			return 0;
	}
	return b->obj[--b->nobj];
}

uintptr_t gcwork_tryget_slow(struct gcwork *w)
{
	uintptr_t obj = gcwork_tryget_local_slow(w);
	if (obj)
		return obj;
	struct workbuf *full = trygetfull();
	if (!full)
		return 0;
	/* the empty wbuf1 goes back; the full one takes its place */
	if (w->wbuf1) {
		KASSERT(w->wbuf1->nobj == 0);
		lfstack_push(&gc_work_empty, w->wbuf1);
	}
	w->wbuf1 = full;
	if (!w->wbuf2)
		w->wbuf2 = getempty();
	return full->obj[--full->nobj];
}

static bool flush(struct gcwork *w, bool keep_empty)
{
	KASSERT(!arch_irq_enabled());
	bool any = false;
	struct workbuf **bs[2] = { &w->wbuf1, &w->wbuf2 };
	for (int i = 0; i < 2; i++) {
		struct workbuf *b = *bs[i];
		if (!b || (!b->nobj && keep_empty))
			continue;
		*bs[i] = NULL;
		if (b->nobj) {
			putfull(b);
			any = true;
		} else {
			lfstack_push(&gc_work_empty, b);
		}
	}
	return any;
}

bool gcwork_flush(struct gcwork *w)
{
	return flush(w, false);
}

bool gcwork_flush_full(struct gcwork *w)
{
	return flush(w, true);
}

void gcwork_balance(struct gcwork *w)
{
	KASSERT(!arch_irq_enabled());
	if (!lfstack_empty(&gc_work_full))
		return;
	if (w->wbuf2 && w->wbuf2->nobj) {
		putfull(w->wbuf2);
		w->wbuf2 = getempty();
	} else if (w->wbuf1 && w->wbuf1->nobj > 4) {
		/* split: half of wbuf1 into a buffer of its own */
		struct workbuf *b = getempty();
		uint32_t half = w->wbuf1->nobj / 2;
		for (uint32_t i = 0; i < half; i++)
			b->obj[i] = w->wbuf1->obj[--w->wbuf1->nobj];
		b->nobj = half;
		putfull(b);
	}
}

bool gcwork_empty(const struct gcwork *w)
{
	return (!w->wbuf1 || !w->wbuf1->nobj) && (!w->wbuf2 || !w->wbuf2->nobj);
}
