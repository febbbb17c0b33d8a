/*
 * rt/gc/mark.c: marking (Go's mgcmark.go): shading, scanning objects, the root jobs
 * of a cycle, and the drain loop every marker runs.
 *
 * Tri-colour: an object is white (mark bit clear), grey (mark bit set, queued in a
 * work buffer, not scanned yet) or black (mark bit set, scanned, or never needing a
 * scan: NOSCAN objects turn black at once). gc_mark_ptr turns white into grey; the
 * drain turns grey into black by scanning: a TYPED object word by word along its
 * pointer bits, a CONS object every aligned word, a large object in pieces of
 * OBLET_BYTES (each piece is a work item of its own, Go's oblets, so one huge array
 * is scanned by every marker in parallel and no single scan holds interrupts off for
 * long).
 *
 * A candidate pointer is any value v with GC_HEAP_BASE <= v < arena_used whose span
 * is in use and whose slot is allocated (heap.h span_isfree); interior pointers find
 * their object's start. Values that only look like pointers (conservative scanning)
 * can keep a dead object alive for a cycle: the price of scanning C stacks and
 * untyped blocks, and never a loss.
 *
 * Root jobs, taken by any marker from one counter (Go's markroot): the image's data
 * in 64 KiB chunks, the registered roots, the objects with finalizers (their contents)
 * and the finalizer queue, then every goroutine's stack (stackscan.c), from a cursor
 * over the list of all goroutines as it was when the cycle began (goroutines created
 * later are scanned at the end of marking, rt/gc/stackscan.c). A job in progress
 * counts in `inflight`: roots are done when none is left and none is running.
 *
 * The drain runs with interrupts on between objects and off for each one: a CPU's
 * work buffers are per-CPU data, and this keeps a goroutine that marks preemptible
 * and answering IPIs every few microseconds.
 *
 * A mark bit is set with an atomic OR: markers on other CPUs set other bits of the same
 * word. With one CPU (gc_one_cpu: kernel/cpu.h cpu_single, a machine described with
 * one, so that no CPU left out of bring-up can arrive late) nothing else can: every write of a mark bit, by a marker, a
 * barrier, the allocator's blackening or a stop's drain, happens with this CPU's
 * interrupts off, so a plain load and store cannot be interleaved with another, and
 * the locked instruction (a store-buffer drain at every object marked) is saved:
 * 3.6% of GCBench's and of binary-trees' time at one CPU. Checkmark, on in every
 * collector test at one CPU, would name any object this lost.
 *
 * Scanning reads memory other CPUs write (stacks, objects, globals) without
 * synchronisation by design; the scanners are built without the sanitizers'
 * instrumentation (ASan would refuse the redzones of globals, TSan report the benign
 * races a concurrent collector is made of).
 */
#include <arch/noscan.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/sched.h>
#include <rt/gc_test.h>
#include "mark.h"

#define OBLET_BYTES (128u << 10)

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_SANITIZE __attribute__((no_sanitize("address", "thread", "undefined")))
#else
#define NO_SANITIZE
#endif

_Atomic uint32_t gc_phase;
_Atomic uint32_t gc_cycle;
struct gc_cpu gc_cpus[ARCH_MAX_CPUS];
NOSCAN(gc_cpus);	/* work buffers and goroutines: not heap objects */
_Atomic uint64_t gc_mark_bytes, gc_scan_work;
bool checkmark_active;
bool gc_one_cpu;

/* ---- shading ------------------------------------------------------------------------------ */

/* The heap's extent, [GC_HEAP_BASE, GC_HEAP_BASE + heap_extent()): a scan loop reads it
 * once, not per word. The heap only grows, and an object made after a scan read it is
 * allocated black (it needs no marking), so a value read at the start of a range
 * covers every object a word of the range can keep. */
static inline uintptr_t heap_extent(void)
{
	return __atomic_load_n(&gcheap.arena_used, __ATOMIC_RELAXED) - GC_HEAP_BASE;
}

static inline bool in_heap_extent(uintptr_t v, uintptr_t extent)
{
	return v - GC_HEAP_BASE < extent;
}

static inline bool in_heap(uintptr_t v)
{
	return in_heap_extent(v, heap_extent());
}

/* The checkmark pass's marking (world stopped): out of line, off the markers' path. */
static __attribute__((noinline)) bool mark_check(uintptr_t p, uintptr_t slot, struct span *s, uint32_t i,
						 struct gcwork *w)
{
	if (!bit_get(s->markbits, i))
		checkmark_found(slot, p, s, i);
	if (!bit_set_atomic(span_checkbits(s), i))
		return false;
	if (s->kind != SPAN_NOSCAN)
		gcwork_put(w, span_objbase(s, i));
	return true;
}

/* Grey what p points into (p in the heap's range: in_heap). Inlined into every scan
 * loop: a marker's every pointer comes here. */
static inline __attribute__((always_inline)) bool mark_slow(uintptr_t p, uintptr_t slot, struct gcwork *w)
{
	struct span *s = span_of_inheap(p);
	if (!s)
		return false;
	uint32_t i = span_objindex(s, p);
	if (span_isfree(s, i))
		return false;
	if (__builtin_expect(checkmark_active, 0))
		return mark_check(p, slot, s, i, w);
	if (!(gc_one_cpu ? bit_set_plain(s->markbits, i) : bit_set_atomic(s->markbits, i)))
		return false;
	w->bytes_marked += s->elemsize;
	if (s->kind != SPAN_NOSCAN)
		gcwork_put(w, span_objbase(s, i));
	return true;
}

static inline bool mark_slot(uintptr_t v, uintptr_t slot, struct gcwork *w)
{
	if (!in_heap(v))
		return false;
	return mark_slow(v, slot, w);
}

bool gc_mark_ptr(uintptr_t p, struct gcwork *w)
{
	KASSERT(!arch_irq_enabled());
	return mark_slot(p, 0, w);
}

NO_SANITIZE void gc_scan_conservative(uintptr_t lo, uintptr_t hi, struct gcwork *w)
{
	lo = (lo + 7) & ~(uintptr_t)7;
	hi &= ~(uintptr_t)7;
	uintptr_t extent = heap_extent();
	for (uintptr_t a = lo; a < hi; a += 8) {
		uintptr_t v = *(volatile uintptr_t *)a;
		if (in_heap_extent(v, extent))
			mark_slow(v, a, w);
	}
	w->scan_work += hi > lo ? hi - lo : 0;
}

/* Mark what the words that `bits` selects hold: bit j stands for the word at a + 8j. */
NO_SANITIZE static inline void mark_words(uintptr_t a, uint64_t bits, struct gcwork *w)
{
	uintptr_t extent = heap_extent();
	while (bits) {
		unsigned j = (unsigned)__builtin_ctzll(bits);
		bits &= bits - 1;
		uintptr_t slot = a + j * 8;
		uintptr_t v = *(volatile uintptr_t *)slot;
		if (in_heap_extent(v, extent))
			mark_slow(v, slot, w);
	}
}

/* The words of [b, b + n) whose bits are set in bits[] starting at bit `first`. */
NO_SANITIZE static void scan_bits(uintptr_t b, size_t nwords, const uint64_t *bits, size_t first,
				  struct gcwork *w)
{
	size_t k = 0;
	while (k < nwords) {
		size_t bit = first + k;
		uint64_t word = __atomic_load_n(&bits[bit / 64], __ATOMIC_RELAXED) >> (bit % 64);
		size_t span = 64 - bit % 64;
		if (span > nwords - k)
			span = nwords - k;
		if (span < 64)
			word &= (1ull << span) - 1;
		mark_words(b + k * 8, word, w);
		k += span;
	}
	w->scan_work += nwords * 8;
}

/* A large TYPED object [b, b + n): its type's bitmap repeated from the object's base. */
NO_SANITIZE static void scan_typed_range(uintptr_t base, uintptr_t b, uintptr_t e, const struct gc_type *t,
					 struct gcwork *w)
{
	uintptr_t extent = heap_extent();
	for (uintptr_t a = b; a < e; a += 8) {
		size_t word = ((a - base) / 8) % t->nwords;
		if (!((t->ptrmask[word / 64] >> (word % 64)) & 1))
			continue;
		uintptr_t v = *(volatile uintptr_t *)a;
		if (in_heap_extent(v, extent))
			mark_slow(v, a, w);
	}
	w->scan_work += e - b;
}

/* [b, e) of a small object `base` that is one t (a span of one type): its words
 * below t's size whose bits are set in t's mask. */
NO_SANITIZE static void scan_one(uintptr_t base, uintptr_t b, uintptr_t e, const struct gc_type *t,
				 struct gcwork *w)
{
	size_t lo = (b - base) / 8, hi = (e - base) / 8;
	if (hi > t->nwords)
		hi = t->nwords;
	for (size_t k = lo & ~(size_t)63; k < hi; k += 64) {
		uint64_t word = t->ptrmask[k / 64];
		if (k < lo)
			word &= ~0ull << (lo - k);
		if (hi - k < 64)
			word &= (1ull << (hi - k)) - 1;
		mark_words(base + k * 8, word, w);
	}
	w->scan_work += e - b;
}

/* Scan [b, e) of object `base` in span s by the span's kind. */
static void scan_part(struct span *s, uintptr_t base, uintptr_t b, uintptr_t e, struct gcwork *w)
{
	switch (s->kind) {
	case SPAN_NOSCAN:
		return;
	case SPAN_CONS:
		gc_scan_conservative(b, e, w);
		return;
	case SPAN_TYPED: {
		const struct gc_type *t = atomic_load_explicit(&s->type, memory_order_acquire);
		if (spanclass_size(s->spanclass) == 0)	/* large */
			t ? scan_typed_range(base, b, e, t, w) : gc_scan_conservative(b, e, w);
		else if (t == &gc_type_mixed)
			scan_bits(b, (e - b) / 8, s->ptrbits, (b - s->base) / 8, w);
		else if (t)
			scan_one(base, b, e, t, w);
		return;
	}
	}
}

/* The general case of scan_object: any kind, any size, a large object's pieces. */
NO_SANITIZE static __attribute__((noinline)) void scan_object_slow(struct span *s, uintptr_t obj,
								     struct gcwork *w)
{
	uint32_t i = span_objindex(s, obj);
	uintptr_t base = span_objbase(s, i);
	uintptr_t end = base + s->elemsize;
	if (s->elemsize <= OBLET_BYTES) {
		scan_part(s, base, base, end, w);
		return;
	}
	/* a large object: its base stands for the first piece and queues the others */
	if (obj == base)
		for (uintptr_t o = base + OBLET_BYTES; o < end; o += OBLET_BYTES)
			gcwork_put(w, o);
	uintptr_t pe = obj + OBLET_BYTES < end ? obj + OBLET_BYTES : end;
	scan_part(s, base, obj, pe, w);
}

/*
 * Scan a grey object: obj is what mark_slow queued, a small object's base or a large
 * object's base or piece, so its span is in use until the sweep and the span map
 * alone finds it. Inlined into the drain. The common case, GCBench's every object: a
 * small object in a span of one type of at most 64 words, its pointer words straight
 * from the type's first mask word (scan_part's general way cost a hundred
 * instructions an object).
 */
NO_SANITIZE static inline __attribute__((always_inline)) void scan_object(uintptr_t obj, struct gcwork *w)
{
	struct span *s = atomic_load_explicit(&GC_SPANMAP[page_index(obj)], memory_order_acquire);
	if (!s || atomic_load_explicit(&s->state, memory_order_relaxed) != SPAN_INUSE)
		panic("gc: scanning 0x%lx, which is not in a heap span", (unsigned long)obj);
	if (s->kind == SPAN_TYPED && spanclass_size(s->spanclass) != 0) {
		const struct gc_type *t = atomic_load_explicit(&s->type, memory_order_acquire);
		if (t && t != &gc_type_mixed && t->nwords <= 64) {
			uint64_t bits = t->ptrmask[0];
			if (t->nwords < 64)
				bits &= (1ull << t->nwords) - 1;
			mark_words(obj, bits, w);
			w->scan_work += s->elemsize;
			return;
		}
	}
	scan_object_slow(s, obj, w);
}

/* The marked objects of s over [lo, hi) (page-aligned, inside s), just that part of
 * each: the dirty mode's rescan of a written page (dirty.c). A slot is taken only if
 * it is allocated (a free slot of a span holds stale words) and marked (an unmarked
 * object is scanned whole if something marks it later). World stopped. */
void gc_scan_marked_range(struct span *s, uintptr_t lo, uintptr_t hi, struct gcwork *w)
{
	if (s->kind == SPAN_NOSCAN || lo >= s->limit)
		return;
	if (hi > s->limit)
		hi = s->limit;
	if (spanclass_size(s->spanclass) == 0) {
		if (bit_get(s->markbits, 0))
			scan_part(s, s->base, lo, hi, w);
		return;
	}
	uint32_t fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
	uint32_t i0 = span_objindex(s, lo), i1 = span_objindex(s, hi - 1);
	for (uint32_t i = i0; i <= i1; i++) {
		uint32_t wi = i / 64;
		uint64_t live = span_allocated_word(s, wi, fi) &
				__atomic_load_n(&s->markbits[wi], __ATOMIC_RELAXED);
		if (!((live >> (i % 64)) & 1))
			continue;
		uintptr_t base = span_objbase(s, i), end = base + s->elemsize;
		scan_part(s, base, base > lo ? base : lo, end < hi ? end : hi, w);
	}
}

/* Scan an object's contents without marking it (finalizers: what the object points to
 * must survive until its finalizer ran; the object itself is kept by the sweep). */
void gc_scan_object_contents(uintptr_t obj, struct gcwork *w)
{
	struct span *s = span_of(obj);
	if (!s)
		return;
	uint32_t i = span_objindex(s, obj);
	uintptr_t base = span_objbase(s, i);
	scan_part(s, base, base, base + s->elemsize, w);
}

/* ---- root jobs ------------------------------------------------------------------------------- */

enum { ROOT_REGISTERED, ROOT_FINALIZERS, ROOT_FIXED };

/* The scan work a job counts when it cannot say (finalizers, a stack job). */
#define ROOT_JOB_WORK 4096

static _Atomic uint32_t root_next;	/* the next job to take */
static uint32_t root_njobs;		/* fixed jobs + data chunks (set at mark setup) */
static _Atomic uint32_t root_inflight;

void gc_roots_prepare(void)
{
	root_njobs = ROOT_FIXED + gc_roots_data_chunks();
	atomic_store(&root_next, 0);
	atomic_store(&root_inflight, 0);
	gc_stacks_prepare();
}

/* One fixed root job; the bytes it scanned (a finalizer job counts a page). */
static uint64_t root_job(uint32_t j, struct gcwork *w)
{
	switch (j) {
	case ROOT_REGISTERED:
		return gc_roots_scan_registered(w);
	case ROOT_FINALIZERS:
		final_mark_roots(w);
		return ROOT_JOB_WORK;
	default:
		return gc_roots_scan_data(j - ROOT_FIXED, w);
	}
}

/* Called with interrupts on: each job turns them off for its pieces (the work
 * buffers are per-CPU, and a goroutine may move between pieces). */
static bool gc_fixed_root_job(uint64_t *work)
{
	if (atomic_load_explicit(&root_next, memory_order_relaxed) >= root_njobs)
		return false;
	atomic_fetch_add(&root_inflight, 1);
	uint32_t j = atomic_fetch_add(&root_next, 1);
	bool did = j < root_njobs;
	if (did)
		*work = root_job(j, NULL);
	atomic_fetch_sub(&root_inflight, 1);
	return did;
}

bool gc_root_job(uint64_t *work)
{
	/* the drain asks before every object: plain loads while nothing is left */
	if (atomic_load_explicit(&root_next, memory_order_relaxed) >= root_njobs &&
	    !gc_stack_jobs_left())
		return false;
	*work = ROOT_JOB_WORK;		/* a stack job: a few small stacks */
	return gc_fixed_root_job(work) || gc_stack_job();
}

bool gc_root_job_stopped(struct gcwork *w)
{
	uint64_t work;
	return gc_fixed_root_job(&work) || gc_stack_job_stopped(w);
}

bool gc_roots_done(void)
{
	return atomic_load(&root_next) >= root_njobs && atomic_load(&root_inflight) == 0 && gc_stacks_done();
}

/* ---- the drain ------------------------------------------------------------------------------------ */

/*
 * Scan up to DRAIN_BATCH grey objects with interrupts off once; the number taken
 * (gc_drain, and the end of marking's parallel drain).
 * Marking is bound by the memory latency of the objects it scans (an object taken
 * from a buffer is rarely in the cache), so each is prefetched when taken and scanned
 * PREFETCH_DEPTH takes later, from a small queue (Boehm's collector prefetches its
 * mark stack likewise). The queue is empty again before interrupts are back on: an
 * object in it is in no buffer, and the end of marking must find every grey object
 * in a buffer (a flush cannot run before the batch ends).
 */
#define DRAIN_BATCH	64
#define PREFETCH_DEPTH	8

NO_SANITIZE unsigned gc_drain_batch(struct gcwork *w)
{
	uintptr_t q[PREFETCH_DEPTH];
	unsigned head = 0, n = 0, got = 0;
	for (;;) {
		uintptr_t obj = got < DRAIN_BATCH ? gcwork_tryget(w) : 0;
		if (obj) {
			got++;
			__builtin_prefetch((const void *)obj);
			q[(head + n) % PREFETCH_DEPTH] = obj;
			if (++n < PREFETCH_DEPTH)
				continue;
		}
		if (!n)
			return got;
		uintptr_t next = q[head];
		head = (head + 1) % PREFETCH_DEPTH;
		n--;
		scan_object(next, w);
	}
}

uint64_t gc_drain(enum mark_kind kind, uint64_t budget, bool (*stop)(void))
{
	uint64_t t0 = clock_ns(), done = 0;
	unsigned n = 0;
	for (;;) {
		if (atomic_load_explicit(&gc_phase, memory_order_relaxed) != GC_MARK)
			break;
		if (__builtin_expect(atomic_load_explicit(&gc_test_hold_marking, memory_order_relaxed), 0))
			break;		/* (a test's moment: rt/gc_test.h) */
		if ((++n & 3) == 0 && stop && stop())
			break;
		uint64_t work;
		if (gc_root_job(&work)) {
			/* what it scanned, so that an assist's budget means the same for
			 * roots as for objects (a data job scans 64 KiB) */
			done += work;
			if (kind != MARK_ASSIST)
				pacer_bg_credit(work);
			continue;
		}
		irq_push();
		struct gcwork *w = &gc_cpus[cpu_id()].w;
		uint64_t before = w->scan_work;
		unsigned got = gc_drain_batch(w);
		if (got && kind != MARK_ASSIST)
			gcwork_balance(w);
		uint64_t d = w->scan_work - before;
		done += d;
		irq_pop();
		/* the credit as it is earned, not at the end: a background drain lasts the
		 * whole mark phase, and an assist that finds no credit marks itself */
		if (kind != MARK_ASSIST && d)
			pacer_bg_credit(d);
		if (!got)
			break;
		if (budget && done >= budget)
			break;
	}
	uint64_t dt = clock_ns() - t0;
	irq_push();
	struct gc_cpu *gc = &gc_cpus[cpu_id()];
	if (kind == MARK_ASSIST)
		gc->assist_ns += dt;
	else if (kind == MARK_BG)
		gc->bg_ns += dt;
	else
		gc->idle_ns += dt;
	irq_pop();
	return done;
}

void gc_flush_cpu_work(void *arg)
{
	KASSERT(!arch_irq_enabled());
	bool *any = arg;
	if (gcwork_flush(&gc_cpus[cpu_id()].w))
		__atomic_store_n(any, true, __ATOMIC_RELAXED);
}

/* ---- tests' view (rt/gc_test.h) --------------------------------------------------------------- */

bool gc_test_marked(const void *p)
{
	struct span *s = span_of((uintptr_t)p);
	return s && bit_get(s->markbits, span_objindex(s, (uintptr_t)p));
}

const char *gc_test_span_type(const void *p)
{
	struct span *s = span_of((uintptr_t)p);
	if (!s || s->kind != SPAN_TYPED)
		return "(not typed)";
	const struct gc_type *t = atomic_load(&s->type);
	return t ? t->name : "(none)";
}

unsigned gc_test_phase(void)
{
	return atomic_load(&gc_phase);
}

uint32_t gc_test_cycle(void)
{
	return atomic_load(&gc_cycle);
}
