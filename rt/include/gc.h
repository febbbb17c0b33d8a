/*
 * gc.h: the commonly used interface of the Boehm-Demers-Weiser collector (its gc.h,
 * version 8.2), on this runtime's collector (rt/gc.h). A program written for that
 * collector builds unchanged against this header (also reachable as <gc/gc.h>; typed
 * allocation in <gc_typed.h>) and runs as a goroutine program here.
 *
 * What is the same: GC_MALLOC'd memory is scanned conservatively (every aligned word
 * that points into an object, interior pointers included, keeps it alive), atomic
 * memory is never scanned, globals are roots, finalizers run once after their object
 * became unreachable, in Boehm's order (an object reachable from a finalizable one is
 * finalized in a later cycle), disappearing links are cleared before finalizers run,
 * GC_HIDE_POINTER hides a pointer from the collector.
 *
 * Where this one differs (say so when porting):
 *  - Marking. Boehm-style programs store pointers with plain assignments, never through
 *    gc_store, so GC_INIT (or, without it, the first allocation through this header)
 *    puts the collector in its dirty-page mode (gc_set_mode(GC_MODE_DIRTY)): marking
 *    runs concurrently with the program, in parallel, and the kernel's page tables
 *    tell which pages the program wrote meanwhile, which the end of marking rescans
 *    with the world stopped (Boehm's incremental mode, with the kernel in place of
 *    mprotect: GC_enable_incremental changes nothing, GC_is_incremental_mode says 1).
 *    With gc_mode=stw on the command line it keeps the stop-the-world mode instead
 *    (each cycle marks in parallel on every CPU with the world stopped, like Boehm's
 *    default); with gc_mode=concurrent it panics (that mode needs gc_store).
 *    Do not mix: goroutines of the same program storing through gc_store are fine,
 *    but switching the mode to concurrent loses objects stored by plain code.
 *    On the hosted platform a system call that writes into the heap (read(2) into a
 *    GC_MALLOC_ATOMIC buffer) during marking fails with EFAULT, as under Boehm's
 *    mprotect-based incremental mode: read into other memory and copy.
 *  - Threads. Goroutines are the threads and need no registration (GC_THREADS,
 *    GC_register_my_thread are not needed). GC_pthread_create is refused with a panic
 *    that says to start a goroutine (go(fn, arg), rt/go.h) instead.
 *  - Every allocation is zeroed, GC_MALLOC_ATOMIC's too.
 *  - GC_MALLOC_IGNORE_OFF_PAGE is GC_MALLOC: interior pointers are recognised anyway.
 *  - Finalizers run in a goroutine of their own (not inside an allocation); GC_gcollect
 *    and GC_invoke_finalizers wait until the queued ones have run.
 *    GC_REGISTER_FINALIZER_NO_ORDER behaves as the ordered registration: finalizable
 *    objects in a cycle are never finalized. Registering on a pointer that does not
 *    start a heap object panics naming it (Boehm ignores or aborts).
 *  - GC_set_free_space_divisor(d) sets the heap growth percentage to 300 / d (Boehm's
 *    default divisor, 3, is this collector's default, 100%).
 *  - GC_malloc_explicitly_typed: the descriptor's bitmap covers the object; a request
 *    larger than the descriptor's words is allocated untyped (scanned conservatively).
 *  - GC_remove_roots removes exactly a range that GC_add_roots added (else a panic).
 *  - GC_get_heap_size is the memory mapped for the heap, GC_get_free_bytes the part of
 *    it not in use, GC_get_bytes_since_gc what was allocated since the last cycle
 *    ended (counted by span).
 *  - GC_set_warn_proc is accepted; this collector has no warnings to give (misuse is a
 *    panic that names it).
 *  - Allocation needs a goroutine (main is one).
 */
#ifndef GC_H
#define GC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GC_VERSION_MAJOR 8
#define GC_VERSION_MINOR 2
#define GC_VERSION_MICRO 0

#define GC_API extern
#define GC_CALL
#define GC_CALLBACK
#define GC_ATTR_MALLOC __attribute__((__malloc__))
#define GC_ATTR_ALLOC_SIZE(n) __attribute__((__alloc_size__(n)))

typedef unsigned long GC_word;
typedef long GC_signed_word;

/* Status codes of the registration calls. */
#define GC_SUCCESS 0
#define GC_DUPLICATE 1
#define GC_NO_MEMORY 2
#define GC_UNIMPLEMENTED 3
#define GC_NOT_FOUND 4

GC_API void GC_init(void);
GC_API int GC_is_init_called(void);

GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_atomic(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_uncollectable(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_ignore_off_page(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_atomic_ignore_off_page(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_atomic_uncollectable(size_t);
GC_API void *GC_realloc(void *, size_t) GC_ATTR_ALLOC_SIZE(2);
GC_API void GC_free(void *);
GC_API GC_ATTR_MALLOC char *GC_strdup(const char *);
GC_API GC_ATTR_MALLOC char *GC_strndup(const char *, size_t);

GC_API void *GC_base(void *);
GC_API size_t GC_size(const void *);

GC_API void GC_gcollect(void);	/* returns after the finalizers it found ran */
GC_API int GC_invoke_finalizers(void);	/* wait for queued finalizers; how many ran */
GC_API int GC_should_invoke_finalizers(void);
GC_API void GC_disable(void);
GC_API void GC_enable(void);
GC_API int GC_is_disabled(void);
GC_API void GC_enable_incremental(void);
GC_API int GC_is_incremental_mode(void);
GC_API void GC_set_free_space_divisor(GC_word);
GC_API GC_word GC_get_free_space_divisor(void);

GC_API size_t GC_get_heap_size(void);
GC_API size_t GC_get_free_bytes(void);
GC_API size_t GC_get_bytes_since_gc(void);
GC_API size_t GC_get_total_bytes(void);
GC_API GC_word GC_get_gc_no(void);

/* [low, high_plus_one), scanned conservatively as a root */
GC_API void GC_add_roots(void *low, void *high_plus_one);
GC_API void GC_remove_roots(void *low, void *high_plus_one);

typedef void (*GC_finalization_proc)(void *obj, void *client_data);
GC_API void GC_register_finalizer(void *obj, GC_finalization_proc fn, void *cd,
				  GC_finalization_proc *ofn, void **ocd);
GC_API void GC_register_finalizer_no_order(void *obj, GC_finalization_proc fn, void *cd,
					   GC_finalization_proc *ofn, void **ocd);
GC_API void GC_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn, void *cd,
					      GC_finalization_proc *ofn, void **ocd);

/* *link is set to NULL once obj is unreachable (before obj's finalizer runs). */
GC_API int GC_general_register_disappearing_link(void **link, const void *obj);
GC_API int GC_register_disappearing_link(void **link);	/* obj = GC_base(link) */
GC_API int GC_unregister_disappearing_link(void **link);

typedef GC_word GC_hidden_pointer;
#define GC_HIDE_POINTER(p) (~(GC_hidden_pointer)(p))
#define GC_REVEAL_POINTER(p) ((void *)GC_HIDE_POINTER(p))
#define HIDE_POINTER(p) GC_HIDE_POINTER(p)
#define REVEAL_POINTER(p) GC_REVEAL_POINTER(p)

/* Collection events: GC_EVENT_START just before a cycle's first pause, GC_EVENT_END
 * just after its last; around each stop of the world (two in the dirty-page mode, one,
 * the whole mark, in the stop-the-world mode) GC_EVENT_PRE_STOP_WORLD and
 * GC_EVENT_POST_STOP_WORLD just before it, GC_EVENT_PRE_START_WORLD and
 * GC_EVENT_POST_START_WORLD just after it; called in the collector's goroutine, so a
 * callback must be short and must not allocate or block. The other kinds are never
 * reported. Setting the callback waits for a collection under way to end: all of a
 * collection's events go to one callback, and none comes after the call that sets
 * it to 0 returns (so not from inside the callback). */
typedef enum {
	GC_EVENT_START,
	GC_EVENT_MARK_START,
	GC_EVENT_MARK_END,
	GC_EVENT_RECLAIM_START,
	GC_EVENT_RECLAIM_END,
	GC_EVENT_END,
	GC_EVENT_PRE_STOP_WORLD,
	GC_EVENT_POST_STOP_WORLD,
	GC_EVENT_PRE_START_WORLD,
	GC_EVENT_POST_START_WORLD,
	GC_EVENT_THREAD_SUSPENDED,
	GC_EVENT_THREAD_UNSUSPENDED
} GC_EventType;
typedef void (*GC_on_collection_event_proc)(GC_EventType);
GC_API void GC_set_on_collection_event(GC_on_collection_event_proc);
GC_API GC_on_collection_event_proc GC_get_on_collection_event(void);

/* Marking runs on every CPU: GC_get_parallel is the number of CPUs but one (Boehm's
 * "marker threads besides the caller"); GC_start_mark_threads does nothing. */
GC_API int GC_get_parallel(void);
GC_API void GC_start_mark_threads(void);

typedef void (*GC_warn_proc)(char *msg, GC_word arg);
GC_API void GC_set_warn_proc(GC_warn_proc);
GC_API GC_warn_proc GC_get_warn_proc(void);

/* Refused (a panic): goroutines are the threads here. */
GC_API int GC_pthread_create(void *thread, const void *attr, void *(*fn)(void *), void *arg);

#define GC_INIT() GC_init()
#define GC_MALLOC(n) GC_malloc(n)
#define GC_MALLOC_ATOMIC(n) GC_malloc_atomic(n)
#define GC_MALLOC_UNCOLLECTABLE(n) GC_malloc_uncollectable(n)
#define GC_MALLOC_ATOMIC_UNCOLLECTABLE(n) GC_malloc_atomic_uncollectable(n)
#define GC_MALLOC_IGNORE_OFF_PAGE(n) GC_malloc_ignore_off_page(n)
#define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(n) GC_malloc_atomic_ignore_off_page(n)
#define GC_REALLOC(p, n) GC_realloc(p, n)
#define GC_FREE(p) GC_free(p)
#define GC_STRDUP(s) GC_strdup(s)
#define GC_STRNDUP(s, n) GC_strndup(s, n)
#define GC_NEW(t) ((t *)GC_MALLOC(sizeof(t)))
#define GC_NEW_ATOMIC(t) ((t *)GC_MALLOC_ATOMIC(sizeof(t)))
#define GC_NEW_UNCOLLECTABLE(t) ((t *)GC_MALLOC_UNCOLLECTABLE(sizeof(t)))
#define GC_REGISTER_FINALIZER(p, f, d, of, od) GC_register_finalizer(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od) GC_register_finalizer_no_order(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od) GC_register_finalizer_ignore_self(p, f, d, of, od)
#define GC_GENERAL_REGISTER_DISAPPEARING_LINK(link, obj) GC_general_register_disappearing_link(link, obj)
#define GC_REGISTER_DISPLACEMENT(n) ((void)(n))	/* interior pointers are always recognised */

#ifdef __cplusplus
}
#endif

#endif
