/*
 * rt/gc/final.c: finalizers (Go's mfinal.go and the finalizer "specials" of mheap.go).
 *
 * gc_set_finalizer(p, fn) records a special on p's span: {offset of p, fn}, in a list
 * per span sorted by offset. Spans that have specials are on one list of their own, so
 * marking can find every finalizer without walking the heap: a record per span, which
 * the span points to (span->specials) and which holds the span's list, so that a span
 * whose last special goes leaves that list at once, however many spans are on it.
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
 * The Boehm-style interface (gc.h) registers finalizers through final_set_cd: a
 * function that also takes client data (kept alive like the object's contents), a
 * registration that replaces the old one and returns it instead of panicking, and an
 * "ignore self" flavour whose contents scan skips pointers into the object itself, so
 * that an object pointing to itself can still be finalized.
 *
 * One lock (the special lock, LOCK_RANK_GC_SPECIAL) guards the specials, the list of
 * spans with specials and the queue. The sweeper holds it while it queues.
 */
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/stack.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>
#include "mark.h"

/* What to call: fn(obj), or fn_cd(obj, cd) (final_set_cd). */
struct fin {
	void (*fn)(void *);
	void (*fn_cd)(void *, void *);
	void *cd;
	bool ignore_self;
};

struct special {
	struct special *next;		/* in the span's list, by offset */
	uint32_t offset;
	struct fin f;
};

struct finrec {
	struct finrec *next;
	void *obj;
	struct fin f;
};

static struct spinlock special_lock = SPINLOCK_INIT("gc_special", LOCK_RANK_GC_SPECIAL);
/* special_lock: a span with specials, on the list of them (doubly linked: removed
 * in place). span->specials points to it; first is never NULL while it is listed. */
struct special_span {
	struct special *first;		/* the span's specials, by offset */
	struct span *s;
	struct special_span *next, **pprev;
};
static struct special_span *special_spans;
static struct finrec *finq, *finq_tail;	/* special_lock: FIFO */
static struct sema fin_sema = SEMA_INIT(0);
_Atomic uint64_t final_run_count;

/* Finalizers queued or running (final_wait_idle: Boehm's GC_gcollect returns after the
 * finalizers its collection found have run). Decremented after each one returns; the
 * one that makes it 0 wakes the waiters under fin_idle_mu, which they check it under. */
static _Atomic uint64_t fin_pending;
static struct mutex fin_idle_mu = MUTEX_INIT;
static struct cond fin_idle_cv = COND_INIT;
static struct g *fin_g;			/* the finalizer goroutine */

/* s has a special again: its record goes on the list. special_lock held; r from
 * meta_alloc (taken before the lock). */
static void span_list_add(struct span *s, struct special_span *r)
{
	KASSERT(spin_held(&special_lock));
	r->s = s;
	r->next = special_spans;
	r->pprev = &special_spans;
	if (special_spans)
		special_spans->pprev = &r->next;
	special_spans = r;
	__atomic_store_n(&s->specials, r, __ATOMIC_RELEASE);	/* (span_has_specials) */
}

/* s has no special left: its record leaves the list (special_lock held); the record,
 * for the caller to free after the lock. */
static struct special_span *span_list_remove(struct span *s)
{
	KASSERT(spin_held(&special_lock));
	struct special_span *r = s->specials;
	KASSERT(r && r->s == s && !r->first);
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	__atomic_store_n(&s->specials, NULL, __ATOMIC_RELEASE);
	return r;
}

/* Mark what a finalizable object keeps alive: its contents (but itself, for an
 * ignore-self finalizer) and the client data. */
static void mark_fin(uintptr_t obj, const struct fin *f, struct gcwork *w)
{
	if (f->cd)
		gc_mark_ptr((uintptr_t)f->cd, w);
	if (!f->ignore_self) {
		gc_scan_object_contents(obj, w);
		return;
	}
	/* conservatively, word by word, skipping the object itself */
	size_t n = gc_size((void *)obj);
	for (size_t k = 0; k + 8 <= n; k += 8) {
		uintptr_t v = *(volatile uintptr_t *)(obj + k);
		if (v - obj >= n)
			gc_mark_ptr(v, w);
	}
}

/* Check that p starts a heap object (the panics name `who`); its span. */
static struct span *object_span(const char *who, void *p)
{
	struct span *s = span_of((uintptr_t)p);
	if (!s)
		panic("%s: pointer not in allocated block (%p is not in the heap)", who, p);
	uint32_t i = span_objindex(s, (uintptr_t)p);
	if (span_isfree(s, i))
		panic("%s: pointer not in allocated block (%p is in a free slot)", who, p);
	if ((uintptr_t)p != span_objbase(s, i))
		panic("%s: pointer not at beginning of allocated block (%p is %lu bytes into "
		      "a %u-byte object)", who, p, (unsigned long)((uintptr_t)p - span_objbase(s, i)), s->elemsize);
	return s;
}

/* Set (f->fn or f->fn_cd non-NULL) or remove p's finalizer. replace: a finalizer
 * already set is replaced (and returned in *old), else it is Go's panic. */
static void set_fin(const char *who, void *p, const struct fin *f, bool replace, struct fin *old)
{
	struct span *s = object_span(who, p);
	uint32_t off = (uint32_t)((uintptr_t)p - s->base);
	bool set = f->fn || f->fn_cd;
	struct special *nw = set ? meta_alloc(sizeof(*nw)) : NULL;
	struct special_span *rec = NULL;	/* the span's record, if it has none yet */
	struct special_span *unlisted = NULL;
	struct special *gone = NULL;
	struct special *none = NULL;
	if (old)
		*old = (struct fin){ 0 };
	/* A record is allocated only for a span seen without one (most sets are on a span
	 * that has specials already); meta_alloc is not called under special_lock, so a
	 * span that lost its record between the look and the lock sends us round again. */
	for (;;) {
		if (set && !rec && !span_has_specials(s))
			rec = meta_alloc(sizeof(*rec));
		spin_lock_irqsave(&special_lock);
		if (!set || rec || s->specials)
			break;
		spin_unlock_irqrestore(&special_lock);
	}
	if (set && !s->specials) {
		rec->first = NULL;
		span_list_add(s, rec);
		rec = NULL;	/* used */
	}
	struct special **pp = s->specials ? &s->specials->first : &none;
	while (*pp && (*pp)->offset < off)
		pp = &(*pp)->next;
	if (*pp && (*pp)->offset == off) {
		if (set && !replace) {
			spin_unlock_irqrestore(&special_lock);
			panic("%s: finalizer already set (object %p)", who, p);
		}
		gone = *pp;
		*pp = gone->next;
		if (old)
			*old = gone->f;
	}
	if (set) {
		nw->offset = off;
		nw->f = *f;
		nw->next = *pp;
		*pp = nw;
	}
	if (s->specials && !s->specials->first)
		unlisted = span_list_remove(s);
	/* marking now: what p keeps alive must survive with it (the root job may have run) */
	if (set && atomic_load(&gc_phase) == GC_MARK)
		mark_fin((uintptr_t)p, f, &gc_cpus[cpu_id()].w);
	/* the hybrid barrier: a root is cut, so what it kept alive is shaded (barrier.c) */
	if (gone && gc_barrier_shades_old())
		mark_fin((uintptr_t)p, &gone->f, &gc_cpus[cpu_id()].w);
	spin_unlock_irqrestore(&special_lock);
	if (gone)
		meta_free(gone, sizeof(*gone));
	if (unlisted)
		meta_free(unlisted, sizeof(*unlisted));
	if (rec)
		meta_free(rec, sizeof(*rec));
}

void gc_set_finalizer(void *p, void (*fn)(void *))
{
	set_fin("gc_set_finalizer", p, &(struct fin){ .fn = fn }, false, NULL);
}

void final_set_cd(const char *who, void *p, void (*fn)(void *, void *), void *cd, bool ignore_self,
		  void (**ofn)(void *, void *), void **ocd)
{
	struct fin old;
	set_fin(who, p, &(struct fin){ .fn_cd = fn, .cd = fn ? cd : NULL, .ignore_self = ignore_self }, true, &old);
	if (ofn)
		*ofn = old.fn_cd;
	if (ocd)
		*ocd = old.cd;
}

/* gc_free: an object explicitly freed has no finalizer any more. */
void final_forget(void *p)
{
	struct span *s = span_of((uintptr_t)p);
	if (!s || !span_has_specials(s))
		return;
	uint32_t off = (uint32_t)((uintptr_t)p - s->base);
	struct special *dead = NULL;
	struct special_span *unlisted = NULL;
	spin_lock_irqsave(&special_lock);
	if (s->specials) {
		for (struct special **pp = &s->specials->first; *pp; pp = &(*pp)->next)
			if ((*pp)->offset == off) {
				dead = *pp;
				*pp = dead->next;
				break;
			}
		if (!s->specials->first)
			unlisted = span_list_remove(s);
	}
	spin_unlock_irqrestore(&special_lock);
	if (dead)
		meta_free(dead, sizeof(*dead));
	if (unlisted)
		meta_free(unlisted, sizeof(*unlisted));
}

void final_mark_roots(struct gcwork *w)
{
	(void)w;
	spin_lock_irqsave(&special_lock);
	struct gcwork *mine = &gc_cpus[cpu_id()].w;
	for (struct special_span *r = special_spans; r; r = r->next)
		for (struct special *sp = r->first; sp; sp = sp->next)
			mark_fin(r->s->base + sp->offset, &sp->f, mine);
	for (struct finrec *r = finq; r; r = r->next) {
		gc_mark_ptr((uintptr_t)r->obj, mine);
		if (r->f.cd)
			gc_mark_ptr((uintptr_t)r->f.cd, mine);
	}
	spin_unlock_irqrestore(&special_lock);
}

void final_sweep_span(struct span *s)
{
	bool queued = false;
	struct special_span *unlisted = NULL;
	spin_lock_irqsave(&special_lock);
	if (!s->specials) {	/* (the caller's check was without the lock: all gone since) */
		spin_unlock_irqrestore(&special_lock);
		return;
	}
	struct special **pp = &s->specials->first;
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
		r->f = sp->f;
		if (finq_tail)
			finq_tail->next = r;
		else
			finq = r;
		finq_tail = r;
		atomic_fetch_add(&fin_pending, 1);
		bit_set_atomic(s->markbits, i);
		meta_free(sp, sizeof(*sp));
		queued = true;
	}
	if (!s->specials->first)
		unlisted = span_list_remove(s);
	spin_unlock_irqrestore(&special_lock);
	if (unlisted)
		meta_free(unlisted, sizeof(*unlisted));
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
	fin_g = sched_curg();
	for (;;) {
		gc_scrub_stack();	/* no finalized object stays alive through this stack */
		sema_acquire_as(&fin_sema, "finalizer wait", false);
		for (;;) {
			spin_lock_irqsave(&special_lock);
			struct finrec *r = finq;
			void *obj = NULL;
			struct fin f = { 0 };
			if (r) {
				finq = r->next;
				if (!finq)
					finq_tail = NULL;
				obj = r->obj;	/* from here on on this stack: a root (cd too) */
				f = r->f;
				/* off the queue, a root: the hybrid barrier shades what it cuts
				 * (this stack may have been scanned already; barrier.c) */
				if (gc_barrier_shades_old()) {
					gc_shade(obj);
					gc_shade(f.cd);
				}
			}
			spin_unlock_irqrestore(&special_lock);
			if (!r)
				break;
			meta_free(r, sizeof(*r));
			if (f.fn_cd)
				f.fn_cd(obj, f.cd);
			else
				f.fn(obj);
			atomic_fetch_add(&final_run_count, 1);
			if (atomic_fetch_sub(&fin_pending, 1) == 1) {
				mutex_lock(&fin_idle_mu);
				cond_broadcast(&fin_idle_cv);
				mutex_unlock(&fin_idle_mu);
			}
			gc_keep_alive(obj);
			gc_keep_alive(f.cd);
			obj = NULL;	/* not left in a register of the parked context */
			f.cd = NULL;
			__asm__ volatile("" : "+r"(obj), "+m"(f));
		}
	}
}

uint64_t final_wait_idle(void)
{
	uint64_t before = atomic_load(&final_run_count);
	if (sched_curg() == fin_g)
		return 0;	/* a finalizer waiting for the finalizers: itself among them */
	mutex_lock(&fin_idle_mu);
	while (atomic_load(&fin_pending))
		cond_wait(&fin_idle_cv, &fin_idle_mu);
	mutex_unlock(&fin_idle_mu);
	return atomic_load(&final_run_count) - before;
}

bool final_pending(void)
{
	return atomic_load(&fin_pending) != 0;
}

void final_start(void)
{
	go_stack(finalizer, NULL, STACK_DEFAULT_SIZE);	/* the runtime's: not gstack_kib's */
}
