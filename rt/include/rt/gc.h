/*
 * rt/gc.h: the garbage-collected heap (DESIGN.md "Garbage collector"; the collector
 * itself is rt/gc/, its design essay at the top of rt/gc/gc.c).
 *
 * Allocate, never free: an object lives as long as something the collector can see
 * points to it (into it: interior pointers count), and its memory is reused some time
 * after the last such pointer is gone. The collector is concurrent (goroutines keep
 * running on every core while it marks; only two short stop-the-world pauses per
 * cycle), parallel (every core marks), non-moving (an object never changes address)
 * and precise for typed objects, conservative for untyped ones and for stacks.
 *
 * ---- Allocation ---------------------------------------------------------------------
 *
 *   gc_new(&type)            one zeroed object of a type described below; scanned
 *                            precisely: only the fields the type lists are pointers
 *   gc_new_array(&type, n)   n zeroed elements of the type, back to back
 *   gc_alloc(n)              n zeroed bytes with no type: scanned conservatively,
 *                            every aligned word that points into a heap object keeps
 *                            that object alive (C code that stores pointers anywhere)
 *   gc_alloc_noscan(n)       n zeroed bytes that hold no pointers the collector must
 *                            follow (strings, numbers, pixels): never scanned
 *   gc_realloc(p, n)         gc_alloc/gc_alloc_noscan semantics for a block of n
 *                            bytes holding p's first min(old, n) bytes (p NULL:
 *                            gc_alloc(n)); a typed p keeps its type, and n must then
 *                            be a multiple of the type's size
 *   gc_free(p)               optional early release: the caller promises nothing
 *                            refers to p any more. A large object's pages go back at
 *                            once (outside a collection); a small object is cleared
 *                            so it keeps nothing alive, and is reclaimed by the next
 *                            sweep. Never needed for correctness.
 *
 * Every allocation returns memory aligned to 16 bytes (8 for the 8-byte class) and
 * zeroed, or panics when the heap cannot grow even after a full collection
 * ("gc: out of memory allocating N bytes" with the heap's state). Sizes up to
 * GC_MAX_SMALL (32 KiB) come from size classes (about 65, Go's spacing); larger
 * objects get spans of their own.
 *
 * ---- Types ------------------------------------------------------------------------------
 *
 *   GC_TYPE(name, struct foo, next, left, right);
 *
 * defines `const struct gc_type name`, built at compile time from offsetof: the size
 * of struct foo and a bitmap of its pointer words. Each listed field must be a
 * pointer, or an array of pointers, at a pointer-aligned offset (checked at compile
 * time); nested fields are written with a dot (`inner.next`). Up to GC_TYPE_MAX_FIELDS
 * fields and GC_TYPE_MAX_WORDS words of struct. Predefined: gc_type_ptr (one
 * pointer: gc_new_array(&gc_type_ptr, n) is an array of n pointers) and
 * gc_type_u64 (a pointer-free word).
 *
 * ---- The write barrier ------------------------------------------------------------------
 *
 *   gc_store(&slot, ptr)     store ptr into slot (slot's type checked: a pointer)
 *   gc_copy(dst, src, n)     memmove n bytes that may hold pointers
 *
 * Every store of a pointer into memory that is not a stack (a heap object, a global,
 * a registered root) must go through gc_store or gc_copy: while a collection marks,
 * it shades the pointer stored (Dijkstra's insertion barrier), which is how an
 * object the collector has already scanned can be given a new pointer safely.
 * Outside a collection it costs two loads of a flag, one of the old value and two
 * predictable branches. Stores into a goroutine's own stack and registers need no
 * barrier (stacks are scanned again at the end of marking if they ran). A store into
 * another goroutine's stack (through a pointer to its locals: `go(worker, &result)`)
 * does: that goroutine may be parked, scanned already, and not run again before
 * marking ends (channels' element copies take it themselves). A missing
 * barrier can lose an object: run the program with gccheckmark=1, which finds it and
 * names the slot.
 *
 * With the kernel option gc_barrier=hybrid (Go 1.8's barrier) a store also shades the
 * pointer it overwrites, and the end of marking reads only the frames of a stack that
 * were rebuilt since its scan (stack barriers bound them; rt/gc/barrier.c says why a
 * conservative collector cannot skip even those). Then every store that overwrites a
 * pointer in a heap object or root must go through gc_store, a NULL store included
 * (`gc_store(&p->next, NULL)`, where the default barrier lets a plain `p->next = NULL`
 * pass), and a pointer must not be made from nothing while a collection marks (an
 * address revealed from a disappearing link or computed from an integer: the default
 * barrier's rescan of the stack catches those). gc_copy always moves in pieces with
 * interrupts off then. Not in the ThreadSanitizer build (no stack barriers there).
 *
 * ---- Roots --------------------------------------------------------------------------
 *
 * What the collector starts from: every goroutine's stack (from its stack pointer to
 * the top of its frames) and saved registers, and the argument of a goroutine not yet
 * started; the
 * image's initialised and zeroed data (.data and .bss: a program's own globals need
 * no registration) except the tables listed with GC_NOSCAN (below; the kernel lists
 * its own the same way: interrupt and exception stacks, per-CPU state, the run queues;
 * the page allocator's bitmaps and every other page the kernel allocates for itself
 * live outside the image altogether); ranges registered with
 * gc_add_roots; objects with pending finalizers. Memory from malloc (newlib's heap)
 * is NOT scanned: do not keep the only pointer to a heap object there (register the
 * range, or allocate it with gc_alloc instead).
 *
 *   gc_add_roots(addr, len)     scan [addr, addr+len) conservatively from now on
 *   gc_remove_roots(addr, len)  stop (exactly a range that was added)
 *   GC_NOSCAN(var);             at file scope after a global's definition: never scan
 *                               it. For large tables that hold no heap pointers:
 *                               scanning them costs every cycle time, and their pages
 *                               become resident when first read (hosted, where the
 *                               host has no shared zero page). A heap pointer kept
 *                               only there does not keep its object alive.
 *
 * ---- Finalizers ----------------------------------------------------------------------
 *
 *   gc_set_finalizer(p, fn)  once p is unreachable, run fn(p) once, in the finalizer
 *                            goroutine; p (and what it points to) is kept alive until
 *                            fn returned, so fn may use it (and even make it reachable
 *                            again). fn NULL removes p's finalizer. p must be the start
 *                            of a heap object, and may have one finalizer: otherwise
 *                            Go's panics ("gc_set_finalizer: pointer not at beginning of
 *                            allocated block", "... pointer not in allocated block",
 *                            "... finalizer already set"). As in Go, finalizers of
 *                            objects that form a cycle never run, and the order among
 *                            unrelated objects is unspecified.
 *
 * ---- Control and statistics --------------------------------------------------------------
 *
 *   gc_collect()             run a full collection now and wait for it: mark, then
 *                            sweep everything (only the caller blocks; the others
 *                            keep running but for the pauses)
 *   gc_set_percent(n)        Go's GOGC: the next collection starts when the heap has
 *                            grown n% over what the last one left live (default 100;
 *                            kernel option gc_percent=N); -1 turns automatic
 *                            collections off (option gc=off). Returns the old value.
 *   gc_set_mode(m)           how cycles mark: GC_MODE_CONCURRENT (the default: the
 *                            mutators run during marking, so every pointer store into
 *                            the heap or a registered root goes through gc_store) or
 *                            GC_MODE_STW (the whole mark with the world stopped, in
 *                            parallel on every CPU: stores need no barrier, pauses grow
 *                            with the live heap; the mode of gc.h, the Boehm-style
 *                            interface until GC_MODE_DIRTY) or GC_MODE_DIRTY (concurrent
 *                            marking with no barrier needed: the kernel tracks the pages
 *                            written during marking and the end of marking rescans them,
 *                            with the stacks written meanwhile; rt/gc/dirty.c). Waits
 *                            for a cycle under way to end; returns the old mode. Kernel
 *                            option gc_mode=concurrent|stw|dirty.
 *   gc_stats(&s)             heap in use, goal, cycles, pauses (below)
 *   gc_keep_alive(p)         p counts as used up to this point (the compiler may
 *                            otherwise drop the last reference earlier than the
 *                            source suggests, e.g. before a finalizer test)
 *   gc_base(p), gc_size(p)   the start and usable size of the heap object p points
 *                            into; NULL / 0 when p is not in one
 *
 * Kernel options: gc_percent=N, gc=off, gc_mode=concurrent|stw|dirty,
 * gc_barrier=dijkstra|hybrid, gc_stackbar=1, gctrace=1 (one line per cycle, Go's format),
 * gccheckmark=1 (after every cycle, re-mark the whole heap with the world stopped and
 * panic on any reachable object the concurrent mark missed, naming it and the slot
 * that points to it: a missing write barrier).
 *
 * ---- Context -----------------------------------------------------------------------------
 *
 * Allocation, gc_collect, gc_set_finalizer and the roots calls need a goroutine (they
 * may block: an allocation during a collection helps it mark, in proportion to what
 * it allocates); gc_store and gc_copy may be used anywhere, interrupt handlers
 * included. Not from interrupt handlers: everything else.
 */
#ifndef RT_GC_H
#define RT_GC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arch/noscan.h>

#define GC_MAX_SMALL		32768u	/* larger objects get their own span */
#define GC_TYPE_MAX_WORDS	512	/* a GC_TYPE struct is at most 4 KiB */
#define GC_TYPE_MAX_FIELDS	32

/* A type: its size and which of its words are pointers (bit i of ptrmask[i/64]). */
struct gc_type {
	const char *name;
	size_t size;
	uint32_t nwords;		/* size / 8, rounded up */
	uint32_t nptr;			/* pointer words */
	uint64_t ptrmask[GC_TYPE_MAX_WORDS / 64];
};

extern const struct gc_type gc_type_ptr;
extern const struct gc_type gc_type_u64;

void *gc_new(const struct gc_type *t);
void *gc_new_array(const struct gc_type *t, size_t n);
void *gc_alloc(size_t n);
void *gc_alloc_noscan(size_t n);
void *gc_realloc(void *p, size_t n);
void gc_free(void *p);

void gc_add_roots(void *addr, size_t len);
void gc_remove_roots(void *addr, size_t len);

void gc_set_finalizer(void *p, void (*fn)(void *p));

void gc_collect(void);
int gc_set_percent(int percent);
enum { GC_MODE_CONCURRENT = 0, GC_MODE_STW = 1, GC_MODE_DIRTY = 2 };
int gc_set_mode(int mode);
void *gc_base(const void *p);
size_t gc_size(const void *p);

#define GC_PAUSE_BUCKETS 24	/* pause histogram: bucket i counts pauses in [2^i, 2^(i+1)) us
				 * (bucket 0: under 2 us; the last: everything longer) */

struct gc_stats {
	uint64_t heap_inuse;		/* bytes in spans holding objects (after the last sweep, plus
					 * what was allocated since) */
	uint64_t heap_live;		/* bytes marked live by the last cycle, plus allocated since */
	uint64_t heap_marked;		/* bytes marked live by the last cycle */
	uint64_t heap_goal;		/* the heap size at which the next cycle should end */
	uint64_t heap_trigger;		/* ... and at which it starts */
	uint64_t heap_mapped;		/* bytes of physical memory the heap holds (mapped) */
	uint64_t heap_released;		/* bytes given back to the page allocator since boot */
	uint64_t cycles;		/* completed collections */
	uint64_t forced;		/* of which gc_collect() */
	uint64_t pause_total_ns;	/* every stop-the-world pause of every cycle */
	uint64_t pause_last_ns;		/* the last one */
	uint64_t pause_max_ns;
	uint64_t pause_hist[GC_PAUSE_BUCKETS];
	uint64_t allocs;		/* objects allocated since boot (flushed from the per-CPU
					 * caches at each cycle: a lower bound between cycles) */
	uint64_t alloc_bytes;		/* bytes of those */
	uint64_t frees;			/* objects the sweeper freed */
	uint64_t finalizers_run;
	uint64_t assist_waits;		/* allocations that waited for the collector: an assist
					 * with no marking left to take, or the heap at its goal */
	uint64_t stack_scans_ipi;	/* stacks of goroutines running on another CPU scanned
					 * through an IPI to that CPU */
	uint64_t stack_scans;		/* every stack scan, rescans included */
	uint64_t stack_rescans;		/* ... of which rescans at the end of marking */
	uint64_t dirty_pages;		/* GC_MODE_DIRTY: written heap pages rescanned (while
					 * marking, precleaning, and at its end), every cycle's
					 * added up */
	int percent;			/* gc_set_percent; -1 off */
};
void gc_stats(struct gc_stats *s);

/* ---- the write barrier (fast path inline; rt/gc/barrier.c) ------------------------------- */

/* GC_BARRIER_MARK while a collection marks (set and cleared with the world stopped);
 * GC_BARRIER_HYBRID while the hybrid barrier is selected (gc_barrier=hybrid), marking
 * or not: gc_copy then always takes its slow path (below). */
#define GC_BARRIER_MARK 1u
#define GC_BARRIER_HYBRID 2u
extern _Atomic uint32_t gc_barrier_on;
/* The slow paths (rt/gc/barrier.c). gc_shade: shade p (its object's mark bit set and
 * the object queued for scanning) if it points into the heap and the collector is still
 * marking. gc_shade_range: every pointer in [p, p+n). gc_store_marking: the whole
 * store, for one that saw the barrier on before it stored. gc_store_late: the shading
 * for one that saw it on only after (a collection began in between; old is what the
 * slot held). gc_copy_slow: gc_copy, piece by piece with interrupts off. */
void gc_shade(const void *p);
void gc_shade_range(const void *p, size_t n);
void gc_store_marking(void **slot, const void *p);
void gc_store_late(const void *old, const void *p);
void gc_copy_slow(void *dst, const void *src, size_t n);
/* Interrupts off: must a write shade what it overwrites now (the collector marks
 * with the hybrid barrier)? For runtime code that writes without gc_store (channel
 * elements). */
bool gc_barrier_shades_old(void);

/*
 * Outside a collection: a load of the old value, two of the flag, the store. The old
 * value is read first because the hybrid barrier (barrier.c) shades what a store
 * overwrites. A store that sees the flag before it stores takes the slow path, which
 * reads, stores and shades with interrupts off, so that no pause of the collector
 * comes in between (the end of marking must not find a value overwritten and not
 * shaded). A store that sees the flag only after it stored crossed the pause that
 * began marking: what it overwrote was read before and is shaded now (the program
 * owns the slot: nobody else wrote it in between), and both values are in this
 * goroutine's registers until then, where a stack scan finds them.
 */
static inline void gc_store_ptr(void **slot, const void *p)
{
	void *old = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (__builtin_expect(atomic_load_explicit(&gc_barrier_on, memory_order_relaxed) & GC_BARRIER_MARK, 0)) {
		gc_store_marking(slot, p);
		return;
	}
	__atomic_store_n(slot, (void *)p, __ATOMIC_RELAXED);
	if (__builtin_expect(atomic_load_explicit(&gc_barrier_on, memory_order_relaxed) & GC_BARRIER_MARK, 0))
		gc_store_late(old, p);
}

#define gc_store(slotp, val)                                                          \
	do {                                                                          \
		_Static_assert(sizeof(*(slotp)) == sizeof(void *), "gc_store: not a pointer slot"); \
		(void)sizeof(*(slotp) = (val));	/* the assignment must type-check */ \
		gc_store_ptr((void **)(slotp), (const void *)(val));                \
	} while (0)

/* The insertion barrier needs only the move and then the new pointers shaded (as
 * gc_store: a copy that crossed the pause that began marking sees the flag after).
 * The hybrid one must shade what the move overwrites, which cannot be read cheaply
 * before it: with it selected, every copy moves with interrupts off (gc_copy_slow). */
static inline void gc_copy(void *dst, const void *src, size_t n)
{
	if (__builtin_expect(atomic_load_explicit(&gc_barrier_on, memory_order_relaxed) != 0, 0)) {
		gc_copy_slow(dst, src, n);
		return;
	}
	memmove(dst, src, n);
	if (__builtin_expect(atomic_load_explicit(&gc_barrier_on, memory_order_relaxed) != 0, 0))
		gc_shade_range(dst, n);
}

static inline void gc_keep_alive(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* ---- GC_TYPE: a type descriptor from offsetof, at compile time ------------------------------ */

/* Words [lo, hi) of a struct set in bitmap word k (a constant expression). */
#define GC_RANGE_BITS_(lo, hi, k)                                                     \
	(((hi) <= (lo) || (hi) <= 64u * (k) || (lo) >= 64u * (k) + 64) ? 0ull :     \
	 ((((((hi) < 64u * (k) + 64 ? (hi) : 64u * (k) + 64) -                        \
	     ((lo) > 64u * (k) ? (lo) : 64u * (k))) >= 64) ? ~0ull :                   \
	   ((1ull << (((hi) < 64u * (k) + 64 ? (hi) : 64u * (k) + 64) -                \
		      ((lo) > 64u * (k) ? (lo) : 64u * (k)))) - 1)) <<                \
	  (((lo) > 64u * (k) ? (lo) : 64u * (k)) - 64u * (k))))
#define GC_FIELD_LO_(T, f) (offsetof(T, f) / 8u)
#define GC_FIELD_HI_(T, f) ((offsetof(T, f) + sizeof(((T *)0)->f)) / 8u)
#define GC_FIELD_BITS_(T, f, k) GC_RANGE_BITS_(GC_FIELD_LO_(T, f), GC_FIELD_HI_(T, f), k)
#define GC_FIELD_OK_(T, f)                                                            \
	_Static_assert(offsetof(T, f) % sizeof(void *) == 0 &&                        \
		       sizeof(((T *)0)->f) % sizeof(void *) == 0 && sizeof(((T *)0)->f) > 0, \
		       "GC_TYPE: field " #f " is not a pointer-aligned pointer (or array of pointers)");

/* for-each over up to 32 arguments */
#define GC_NARG_(...) GC_NARG_N_(__VA_ARGS__, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, \
	19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define GC_NARG_N_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, \
	_18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, N, ...) N
#define GC_CAT_(a, b) GC_CAT2_(a, b)
#define GC_CAT2_(a, b) a##b
#define GC_EACH_(m, sep, T, k, ...) GC_CAT_(GC_EACH_, GC_NARG_(__VA_ARGS__))(m, sep, T, k, __VA_ARGS__)
#define GC_EACH_1(m, s, T, k, a) m(T, a, k)
#define GC_EACH_2(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_1(m, s, T, k, __VA_ARGS__)
#define GC_EACH_3(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_2(m, s, T, k, __VA_ARGS__)
#define GC_EACH_4(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_3(m, s, T, k, __VA_ARGS__)
#define GC_EACH_5(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_4(m, s, T, k, __VA_ARGS__)
#define GC_EACH_6(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_5(m, s, T, k, __VA_ARGS__)
#define GC_EACH_7(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_6(m, s, T, k, __VA_ARGS__)
#define GC_EACH_8(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_7(m, s, T, k, __VA_ARGS__)
#define GC_EACH_9(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_8(m, s, T, k, __VA_ARGS__)
#define GC_EACH_10(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_9(m, s, T, k, __VA_ARGS__)
#define GC_EACH_11(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_10(m, s, T, k, __VA_ARGS__)
#define GC_EACH_12(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_11(m, s, T, k, __VA_ARGS__)
#define GC_EACH_13(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_12(m, s, T, k, __VA_ARGS__)
#define GC_EACH_14(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_13(m, s, T, k, __VA_ARGS__)
#define GC_EACH_15(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_14(m, s, T, k, __VA_ARGS__)
#define GC_EACH_16(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_15(m, s, T, k, __VA_ARGS__)
#define GC_EACH_17(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_16(m, s, T, k, __VA_ARGS__)
#define GC_EACH_18(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_17(m, s, T, k, __VA_ARGS__)
#define GC_EACH_19(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_18(m, s, T, k, __VA_ARGS__)
#define GC_EACH_20(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_19(m, s, T, k, __VA_ARGS__)
#define GC_EACH_21(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_20(m, s, T, k, __VA_ARGS__)
#define GC_EACH_22(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_21(m, s, T, k, __VA_ARGS__)
#define GC_EACH_23(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_22(m, s, T, k, __VA_ARGS__)
#define GC_EACH_24(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_23(m, s, T, k, __VA_ARGS__)
#define GC_EACH_25(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_24(m, s, T, k, __VA_ARGS__)
#define GC_EACH_26(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_25(m, s, T, k, __VA_ARGS__)
#define GC_EACH_27(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_26(m, s, T, k, __VA_ARGS__)
#define GC_EACH_28(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_27(m, s, T, k, __VA_ARGS__)
#define GC_EACH_29(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_28(m, s, T, k, __VA_ARGS__)
#define GC_EACH_30(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_29(m, s, T, k, __VA_ARGS__)
#define GC_EACH_31(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_30(m, s, T, k, __VA_ARGS__)
#define GC_EACH_32(m, s, T, k, a, ...) m(T, a, k) s GC_EACH_31(m, s, T, k, __VA_ARGS__)
#define GC_EMPTY_
#define GC_OR_ |
#define GC_COUNT_FIELD_(T, f, k) (GC_FIELD_HI_(T, f) - GC_FIELD_LO_(T, f))
#define GC_OK_FIELD_(T, f, k) GC_FIELD_OK_(T, f)
#define GC_MASK_(T, k, ...) (GC_EACH_(GC_FIELD_BITS_, GC_OR_, T, k, __VA_ARGS__))

/* GC_TYPE(name, T, field...): a struct type's descriptor (see the top). Fields that
 * overlap are counted once in the bitmap but twice in nptr: do not list one twice. */
#define GC_TYPE(var_, T, ...)                                                         \
	GC_EACH_(GC_OK_FIELD_, GC_EMPTY_, T, 0, __VA_ARGS__)                          \
	_Static_assert(sizeof(T) <= 8u * GC_TYPE_MAX_WORDS, "GC_TYPE: " #T " is too large"); \
	const struct gc_type var_ = {                                                 \
		.name = #T,                                                           \
		.size = sizeof(T),                                                    \
		.nwords = (uint32_t)((sizeof(T) + 7) / 8),                            \
		.nptr = (uint32_t)(GC_EACH_(GC_COUNT_FIELD_, +, T, 0, __VA_ARGS__)),  \
		.ptrmask = { GC_MASK_(T, 0, __VA_ARGS__), GC_MASK_(T, 1, __VA_ARGS__),  \
			     GC_MASK_(T, 2, __VA_ARGS__), GC_MASK_(T, 3, __VA_ARGS__),  \
			     GC_MASK_(T, 4, __VA_ARGS__), GC_MASK_(T, 5, __VA_ARGS__),  \
			     GC_MASK_(T, 6, __VA_ARGS__), GC_MASK_(T, 7, __VA_ARGS__) }, \
	}

/* A type with no pointers at all: gc_new of it is a zeroed, never scanned object. */
#define GC_TYPE_NOPTR(var_, T)                                                        \
	_Static_assert(sizeof(T) <= 8u * GC_TYPE_MAX_WORDS, "GC_TYPE: " #T " is too large"); \
	const struct gc_type var_ = { .name = #T, .size = sizeof(T),                  \
				      .nwords = (uint32_t)((sizeof(T) + 7) / 8) }

/* Keep a global out of the collector's roots (see "Roots"): `GC_NOSCAN(table);` at
 * file scope, after the definition. */
#define GC_NOSCAN(var) NOSCAN(var)

#endif
