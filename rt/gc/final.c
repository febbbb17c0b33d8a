/*
 * rt/gc/final.c: finalizers (Go's mfinal.go and the finalizer "specials" of mheap.go).
 *
 * gc_set_finalizer(p, fn) records a special on p's span: {offset of p, fn}, in a list
 * per span sorted by offset. Spans that have specials are on one list of their own, so
 * marking can find every finalizer without walking the heap.
 *
 * Marking (a root job, final_mark_roots): for every finalizer, the object's contents
 * are scanned, not the object itself: whatever it points to survives, so that when it
 * turns out to be dead its finalizer finds everything it may use. Objects queued for
 * their finalizer are roots too (marked, contents and all).
 *
 * Sweeping (final_sweep_span, before the span's mark bits become its alloc bits): an
 * object with a finalizer that was not marked is dead; its special is removed, a
 * record {object, fn} goes on the finalizer queue, and its mark bit is set so this
 * sweep keeps it. The finalizer goroutine takes records one at a time and calls
 * fn(object); the object stays reachable from the queue until then and from the
 * goroutine's stack while fn runs, so it lives until fn returned (and longer if fn
 * stored it somewhere: Go's resurrection). A special is removed when its record is
 * queued, so a finalizer runs once. Objects in a cycle of finalizers keep each other
 * alive forever, as in Go.
 *
 * One lock (the special lock, LOCK_RANK_GC_SPECIAL) guards the specials, the list of
 * spans with specials and the queue. The sweeper holds it while it queues.
 */
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>
#include "mark.h"

struct special {
	struct special *next;		/* in the span's list, by offset */
	uint32_t offset;
	void (*fn)(void *);
};

struct finrec {
	struct finrec *next;
	void *obj;
	void (*fn)(void *);
};

static struct spinlock special_lock = SPINLOCK_INIT("gc_special", LOCK_RANK_GC_SPECIAL);
static struct span *special_spans;	/* special_lock: spans with specials */
static struct finrec *finq, *finq_tail;	/* special_lock: FIFO */
static struct sema fin_sema = SEMA_INIT(0);
_Atomic uint64_t final_run_count;

static void span_list_remove(struct span *s)
{
	for (struct span **pp = &special_spans; *pp; pp = &(*pp)->specials_next)
		if (*pp == s) {
			*pp = s->specials_next;
			s->specials_next = NULL;
			return;
		}
}

void gc_set_finalizer(void *p, void (*fn)(void *))
{
	struct span *s = span_of((uintptr_t)p);
	if (!s)
		panic("gc_set_finalizer: pointer not in allocated block (%p is not in the heap)", p);
	uint32_t i = span_objindex(s, (uintptr_t)p);
	if (span_isfree(s, i))
		panic("gc_set_finalizer: pointer not in allocated block (%p is in a free slot)", p);
	if ((uintptr_t)p != span_objbase(s, i))
		panic("gc_set_finalizer: pointer not at beginning of allocated block (%p is %lu bytes into "
		      "a %u-byte object)", p, (unsigned long)((uintptr_t)p - span_objbase(s, i)), s->elemsize);
	uint32_t off = (uint32_t)((uintptr_t)p - s->base);
	struct special *nw = fn ? meta_alloc(sizeof(*nw)) : NULL;
	spin_lock_irqsave(&special_lock);
	struct special **pp = &s->specials;
	while (*pp && (*pp)->offset < off)
		pp = &(*pp)->next;
	if (*pp && (*pp)->offset == off) {
		if (fn) {
			spin_unlock_irqrestore(&special_lock);
			panic("gc_set_finalizer: finalizer already set (object %p)", p);
		}
		struct special *old = *pp;
		*pp = old->next;
		if (!s->specials)
			span_list_remove(s);
		spin_unlock_irqrestore(&special_lock);
		meta_free(old, sizeof(*old));
		return;
	}
	if (!fn) {
		spin_unlock_irqrestore(&special_lock);
		return;			/* removing a finalizer that is not there: nothing */
	}
	nw->offset = off;
	nw->fn = fn;
	if (!s->specials) {
		s->specials_next = special_spans;
		special_spans = s;
	}
	nw->next = *pp;
	*pp = nw;
	/* marking now: what p points to must survive with it (the root job may have run) */
	if (atomic_load(&gc_phase) == GC_MARK)
		gc_scan_object_contents((uintptr_t)p, &gc_cpus[cpu_id()].w);
	spin_unlock_irqrestore(&special_lock);
}

/* gc_free: an object explicitly freed has no finalizer any more. */
void final_forget(void *p)
{
	struct span *s = span_of((uintptr_t)p);
	if (!s || !s->specials)
		return;
	uint32_t off = (uint32_t)((uintptr_t)p - s->base);
	struct special *dead = NULL;
	spin_lock_irqsave(&special_lock);
	for (struct special **pp = &s->specials; *pp; pp = &(*pp)->next)
		if ((*pp)->offset == off) {
			dead = *pp;
			*pp = dead->next;
			break;
		}
	if (dead && !s->specials)
		span_list_remove(s);
	spin_unlock_irqrestore(&special_lock);
	if (dead)
		meta_free(dead, sizeof(*dead));
}

void final_mark_roots(struct gcwork *w)
{
	(void)w;
	spin_lock_irqsave(&special_lock);
	struct gcwork *mine = &gc_cpus[cpu_id()].w;
	for (struct span *s = special_spans; s; s = s->specials_next)
		for (struct special *sp = s->specials; sp; sp = sp->next)
			gc_scan_object_contents(s->base + sp->offset, mine);
	for (struct finrec *r = finq; r; r = r->next)
		gc_mark_ptr((uintptr_t)r->obj, mine);
	spin_unlock_irqrestore(&special_lock);
}

void final_sweep_span(struct span *s)
{
	bool queued = false;
	spin_lock_irqsave(&special_lock);
	struct special **pp = &s->specials;
	while (*pp) {
		struct special *sp = *pp;
		uint32_t i = span_objindex(s, s->base + sp->offset);
		if (bit_get(s->markbits, i)) {
			pp = &sp->next;
			continue;
		}
		/* dead: queue its finalizer, keep it for this sweep */
		*pp = sp->next;
		struct finrec *r = meta_alloc(sizeof(*r));
		r->obj = (void *)(s->base + sp->offset);
		r->fn = sp->fn;
		if (finq_tail)
			finq_tail->next = r;
		else
			finq = r;
		finq_tail = r;
		bit_set_atomic(s->markbits, i);
		meta_free(sp, sizeof(*sp));
		queued = true;
	}
	if (!s->specials)
		span_list_remove(s);
	spin_unlock_irqrestore(&special_lock);
	if (queued)
		sema_release(&fin_sema);
}

bool final_describe(uintptr_t slot, char *buf, size_t len)
{
	(void)slot, (void)buf, (void)len;
	return false;
}

static void finalizer(void *arg)
{
	(void)arg;
	sched_curg()->gc_system = true;
	for (;;) {
		gc_scrub_stack();	/* no finalized object stays alive through this stack */
		sema_acquire_as(&fin_sema, "finalizer wait", false);
		for (;;) {
			spin_lock_irqsave(&special_lock);
			struct finrec *r = finq;
			void *obj = NULL;
			void (*fn)(void *) = NULL;
			if (r) {
				finq = r->next;
				if (!finq)
					finq_tail = NULL;
				obj = r->obj;	/* from here on on this stack: a root */
				fn = r->fn;
			}
			spin_unlock_irqrestore(&special_lock);
			if (!r)
				break;
			meta_free(r, sizeof(*r));
			fn(obj);
			atomic_fetch_add(&final_run_count, 1);
			gc_keep_alive(obj);
			obj = NULL;	/* not left in a register of the parked context */
			__asm__ volatile("" : "+r"(obj));
		}
	}
}

void final_start(void)
{
	go(finalizer, NULL);
}
