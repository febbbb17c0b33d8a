/*
 * rt/gc/boehm.c: the Boehm-style interface (rt/include/gc.h, gc_typed.h) on this
 * collector: a thin layer, the differences documented in the header.
 *
 * The mode: programs of this interface store pointers without gc_store, so the first
 * call (GC_init, or any allocation) switches the collector to its dirty-page mode
 * once (gc_set_mode, which waits for a concurrent cycle under way to end), unless the
 * command line chose the stop-the-world mode; one that chose the concurrent mode is
 * refused (it would lose what plain stores hide).
 *
 * Uncollectable objects are kept alive by a set that is itself a conservatively
 * scanned heap object reachable from a global of this file: an open-addressing hash
 * table of their addresses (a tombstone marks a removed one), under unc.mu. GC_free
 * takes an object out of it before freeing.
 *
 * GC_gcollect returns once the finalizers queued by its collection (and any queued
 * before) have run, as Boehm's does when it invokes them itself: finalizers run in
 * their own goroutine here, so a program's "collect, then look at what the
 * finalizers did" works the same, with the finalizers' writes ordered before.
 *
 * GC_disable nests: the first call turns automatic collections off (remembering the
 * percentage), the matching last GC_enable restores it; while disabled, GC_gcollect
 * does nothing (as in Boehm's collector).
 */
#include <stdlib.h>
#include <string.h>
#include <gc.h>
#include <gc_typed.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/gc.h>
#include <rt/sync.h>
#include "mark.h"

static _Atomic bool boehm_ready;
static struct mutex boehm_mu = MUTEX_INIT;	/* the state below */
static int disabled;				/* boehm_mu: GC_disable depth */
static int percent_saved = 100;			/* boehm_mu: while disabled */
static GC_word divisor = 3;			/* boehm_mu */
static GC_warn_proc warn_proc;

void GC_init(void)
{
	if (atomic_load_explicit(&boehm_ready, memory_order_acquire))
		return;
	mutex_lock(&boehm_mu);
	if (!atomic_load(&boehm_ready)) {
		int opt = gc_mode_option();
		if (opt == GC_MODE_CONCURRENT)
			panic("gc.h: this program stores pointers without gc_store, which the concurrent "
			      "mode (gc_mode=concurrent) needs: use gc_mode=dirty (the default) or stw");
		gc_set_mode(opt == GC_MODE_STW ? GC_MODE_STW : GC_MODE_DIRTY);
		atomic_store_explicit(&boehm_ready, true, memory_order_release);
	}
	mutex_unlock(&boehm_mu);
}

int GC_is_init_called(void)
{
	return atomic_load(&boehm_ready);
}

static inline void ready(void)
{
	if (__builtin_expect(!atomic_load_explicit(&boehm_ready, memory_order_acquire), 0))
		GC_init();
}

void *GC_malloc(size_t n)
{
	ready();
	return gc_alloc(n ? n : 1);
}

void *GC_malloc_atomic(size_t n)
{
	ready();
	return gc_alloc_noscan(n ? n : 1);
}

void *GC_malloc_ignore_off_page(size_t n)
{
	return GC_malloc(n);
}

void *GC_malloc_atomic_ignore_off_page(size_t n)
{
	return GC_malloc_atomic(n);
}

/* ---- uncollectable objects -------------------------------------------------------------------- */

#define UNC_TOMB ((void *)1)

static struct {
	struct mutex mu;
	void **slots;		/* mu; a gc_alloc'd table: what keeps the objects alive */
	size_t cap, used;	/* mu; used counts tombstones too */
} unc = { .mu = MUTEX_INIT };

static size_t unc_hash(const void *p, size_t cap)
{
	return (size_t)(((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
}

static void unc_insert_locked(void *p)
{
	if ((unc.used + 1) * 2 > unc.cap) {
		size_t ncap = unc.cap ? unc.cap * 2 : 64;
		void **old = unc.slots;
		size_t ocap = unc.cap;
		void **nt = gc_alloc(ncap * sizeof(void *));
		size_t used = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i] && old[i] != UNC_TOMB) {
				size_t h = unc_hash(old[i], ncap);
				while (nt[h])
					h = (h + 1) & (ncap - 1);
				gc_store(&nt[h], old[i]);
				used++;
			}
		gc_store(&unc.slots, nt);
		unc.cap = ncap;
		unc.used = used;
	}
	size_t h = unc_hash(p, unc.cap);
	while (unc.slots[h] && unc.slots[h] != UNC_TOMB)
		h = (h + 1) & (unc.cap - 1);
	if (!unc.slots[h])
		unc.used++;
	gc_store(&unc.slots[h], p);
}

static bool unc_remove(void *p)
{
	bool found = false;
	mutex_lock(&unc.mu);
	if (unc.cap) {
		size_t h = unc_hash(p, unc.cap);
		while (unc.slots[h]) {
			if (unc.slots[h] == p) {
				unc.slots[h] = UNC_TOMB;
				found = true;
				break;
			}
			h = (h + 1) & (unc.cap - 1);
		}
	}
	mutex_unlock(&unc.mu);
	return found;
}

static void *uncollectable(void *p)
{
	mutex_lock(&unc.mu);
	unc_insert_locked(p);
	mutex_unlock(&unc.mu);
	return p;
}

void *GC_malloc_uncollectable(size_t n)
{
	return uncollectable(GC_malloc(n));
}

void *GC_malloc_atomic_uncollectable(size_t n)
{
	return uncollectable(GC_malloc_atomic(n));
}

void GC_free(void *p)
{
	if (!p)
		return;
	unc_remove(p);
	gc_free(p);
}

void *GC_realloc(void *p, size_t n)
{
	ready();
	if (!p)
		return GC_malloc(n);
	if (!n) {
		GC_free(p);
		return NULL;
	}
	bool keep = unc_remove(p);
	void *q = gc_realloc(p, n);
	return keep ? uncollectable(q) : q;
}

char *GC_strdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = GC_malloc_atomic(n);
	memcpy(d, s, n);
	return d;
}

char *GC_strndup(const char *s, size_t max)
{
	if (!s)
		return NULL;
	size_t n = strnlen(s, max);
	char *d = GC_malloc_atomic(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

void *GC_base(void *p)
{
	return gc_base(p);
}

size_t GC_size(const void *p)
{
	return gc_size(p);
}

/* ---- collections ---------------------------------------------------------------------------- */

void GC_gcollect(void)
{
	ready();
	mutex_lock(&boehm_mu);
	bool off = disabled > 0;
	mutex_unlock(&boehm_mu);
	if (!off) {
		gc_collect();
		final_wait_idle();	/* as Boehm's: the finalizers it found have run */
	}
}

int GC_invoke_finalizers(void)
{
	return (int)final_wait_idle();
}

int GC_should_invoke_finalizers(void)
{
	return final_pending();
}

void GC_disable(void)
{
	mutex_lock(&boehm_mu);
	if (disabled++ == 0)
		percent_saved = gc_set_percent(-1);
	mutex_unlock(&boehm_mu);
}

void GC_enable(void)
{
	mutex_lock(&boehm_mu);
	if (disabled <= 0) {
		mutex_unlock(&boehm_mu);
		panic("GC_enable: called more often than GC_disable");
	}
	if (--disabled == 0)
		gc_set_percent(percent_saved);
	mutex_unlock(&boehm_mu);
}

int GC_is_disabled(void)
{
	mutex_lock(&boehm_mu);
	int d = disabled > 0;
	mutex_unlock(&boehm_mu);
	return d;
}

void GC_enable_incremental(void)
{
	ready();	/* (the dirty-page mode is incremental already) */
}

int GC_is_incremental_mode(void)
{
	ready();
	return gc_mode_option() != GC_MODE_STW;
}

void GC_set_free_space_divisor(GC_word d)
{
	if (d == 0)
		panic("GC_set_free_space_divisor: 0 (the heap would grow without bound)");
	int pct = (int)(300 / d);
	if (pct < 1)
		pct = 1;
	mutex_lock(&boehm_mu);
	divisor = d;
	if (disabled)
		percent_saved = pct;
	else
		gc_set_percent(pct);
	mutex_unlock(&boehm_mu);
}

GC_word GC_get_free_space_divisor(void)
{
	mutex_lock(&boehm_mu);
	GC_word d = divisor;
	mutex_unlock(&boehm_mu);
	return d;
}

/* ---- statistics ---------------------------------------------------------------------------- */

size_t GC_get_heap_size(void)
{
	struct gc_stats s;
	gc_stats(&s);
	return s.heap_mapped;
}

size_t GC_get_free_bytes(void)
{
	struct gc_stats s;
	gc_stats(&s);
	return s.heap_mapped > s.heap_inuse ? s.heap_mapped - s.heap_inuse : 0;
}

size_t GC_get_bytes_since_gc(void)
{
	struct gc_stats s;
	gc_stats(&s);
	return s.heap_live > s.heap_marked ? s.heap_live - s.heap_marked : 0;
}

size_t GC_get_total_bytes(void)
{
	struct gc_stats s;
	gc_stats(&s);
	return s.alloc_bytes;
}

GC_word GC_get_gc_no(void)
{
	struct gc_stats s;
	gc_stats(&s);
	return s.cycles;
}

/* ---- roots, finalizers, links ------------------------------------------------------------------ */

void GC_add_roots(void *low, void *high)
{
	if ((uintptr_t)high > (uintptr_t)low)
		gc_add_roots(low, (size_t)((uintptr_t)high - (uintptr_t)low));
}

void GC_remove_roots(void *low, void *high)
{
	if ((uintptr_t)high > (uintptr_t)low)
		gc_remove_roots(low, (size_t)((uintptr_t)high - (uintptr_t)low));
}

void GC_register_finalizer(void *obj, GC_finalization_proc fn, void *cd, GC_finalization_proc *ofn, void **ocd)
{
	ready();
	final_set_cd("GC_register_finalizer", obj, fn, cd, false, ofn, ocd);
}

void GC_register_finalizer_no_order(void *obj, GC_finalization_proc fn, void *cd, GC_finalization_proc *ofn,
				    void **ocd)
{
	ready();
	final_set_cd("GC_register_finalizer_no_order", obj, fn, cd, false, ofn, ocd);
}

void GC_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn, void *cd, GC_finalization_proc *ofn,
				       void **ocd)
{
	ready();
	final_set_cd("GC_register_finalizer_ignore_self", obj, fn, cd, true, ofn, ocd);
}

int GC_general_register_disappearing_link(void **link, const void *obj)
{
	ready();
	return weak_register(link, obj) ? GC_DUPLICATE : GC_SUCCESS;
}

int GC_register_disappearing_link(void **link)
{
	void *base = gc_base(link);
	if (!base)
		panic("GC_register_disappearing_link: link %p is not in a heap object", (void *)link);
	return GC_general_register_disappearing_link(link, base);
}

int GC_unregister_disappearing_link(void **link)
{
	return weak_unregister(link) ? 1 : 0;	/* Boehm: 1 if it was registered */
}

void GC_set_warn_proc(GC_warn_proc p)
{
	warn_proc = p;
}

GC_warn_proc GC_get_warn_proc(void)
{
	return warn_proc;
}

int GC_pthread_create(void *thread, const void *attr, void *(*fn)(void *), void *arg)
{
	(void)thread, (void)attr, (void)fn, (void)arg;
	panic("GC_pthread_create: this runtime has no threads to create: goroutines are its threads "
	      "(start one with go(fn, arg), rt/go.h; no registration needed)");
}

/* ---- typed allocation (gc_typed.h) ------------------------------------------------------------ */

GC_descr GC_make_descriptor(const GC_word *bm, size_t len)
{
	if (len == 0 || len > GC_TYPE_MAX_WORDS)
		panic("GC_make_descriptor: %zu words (1 to %u)", len, (unsigned)GC_TYPE_MAX_WORDS);
	/* permanent, outside the collected heap: spans refer to their objects' types */
	struct gc_type *t = calloc(1, sizeof(*t));
	if (!t)
		panic("GC_make_descriptor: out of memory");
	t->name = "GC_make_descriptor type";
	t->size = len * sizeof(GC_word);
	t->nwords = (uint32_t)len;
	for (size_t i = 0; i < len; i++)
		if ((bm[i / GC_WORDSZ] >> (i % GC_WORDSZ)) & 1) {
			t->ptrmask[i / 64] |= 1ull << (i % 64);
			t->nptr++;
		}
	return (GC_descr)(uintptr_t)t;
}

void *GC_malloc_explicitly_typed(size_t n, GC_descr d)
{
	ready();
	const struct gc_type *t = (const struct gc_type *)(uintptr_t)d;
	if (!t)
		panic("GC_malloc_explicitly_typed: no descriptor");
	if (n > t->size)
		return gc_alloc(n);
	return t->nptr ? gc_new(t) : gc_alloc_noscan(t->size);
}

void *GC_malloc_explicitly_typed_ignore_off_page(size_t n, GC_descr d)
{
	return GC_malloc_explicitly_typed(n, d);
}

void *GC_calloc_explicitly_typed(size_t k, size_t n, GC_descr d)
{
	ready();
	const struct gc_type *t = (const struct gc_type *)(uintptr_t)d;
	if (!t)
		panic("GC_calloc_explicitly_typed: no descriptor");
	if (n && k > SIZE_MAX / n)
		return NULL;	/* Boehm: the size overflows */
	if (n != t->size || !t->nptr)
		return t->nptr ? gc_alloc(k * n) : gc_alloc_noscan(k * n);
	return gc_new_array(t, k);
}

/* ---- collection events, markers -------------------------------------------------------------- */

static _Atomic(GC_on_collection_event_proc) event_proc;

/* A stop's two edges on each side are reported together: the callback cannot run
 * inside the stop (it is the program's code, and every CPU is stopped), so
 * PRE_STOP_WORLD and POST_STOP_WORLD come just before it, PRE_START_WORLD and
 * POST_START_WORLD just after. */
static void on_cycle(enum gc_hook_event ev)
{
	GC_on_collection_event_proc fn = atomic_load(&event_proc);
	if (!fn)
		return;
	switch (ev) {
	case GC_HOOK_START:
		fn(GC_EVENT_START);
		break;
	case GC_HOOK_STOP:
		fn(GC_EVENT_PRE_STOP_WORLD);
		fn(GC_EVENT_POST_STOP_WORLD);
		break;
	case GC_HOOK_RESUME:
		fn(GC_EVENT_PRE_START_WORLD);
		fn(GC_EVENT_POST_START_WORLD);
		break;
	case GC_HOOK_END:
		fn(GC_EVENT_END);
		break;
	}
}

/* Between cycles (gc_cycles_hold): a collection under way reports all its events to
 * the callback it started with, and none comes after this returns with NULL (Boehm's
 * collections run inside the allocating call, so its callers never see a collection
 * cut in two; ours run on the collector's goroutine). Not from the callback. */
void GC_set_on_collection_event(GC_on_collection_event_proc fn)
{
	gc_cycles_hold();
	atomic_store(&event_proc, fn);
	gc_cycle_hook = fn ? on_cycle : NULL;
	gc_cycles_release();
}

GC_on_collection_event_proc GC_get_on_collection_event(void)
{
	return atomic_load(&event_proc);
}

int GC_get_parallel(void)
{
	return (int)cpu_count() - 1;
}

void GC_start_mark_threads(void)
{
}
