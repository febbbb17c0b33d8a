/*
 * tests/boot/gc_final_test.c: finalizers and the collector's misuse panics
 * (tests=gc_final; the panics are explicit suites, checked by the matrix's regexes).
 *
 * Finalizers run exactly once, in the finalizer goroutine, after their object became
 * unreachable; the object, and what it points to, is intact when its finalizer runs
 * (it was kept alive for it); an object a finalizer makes reachable again stays, and
 * is not finalized twice; a finalizer removed with NULL never runs; unreachable
 * objects are freed within two cycles after their finalizers ran. Finalizers on
 * objects spread over a thousand spans, removed (with NULL, with gc_free) from spans
 * in the middle of the list of spans with specials, run exactly as many times as set.
 */
#include <stdint.h>
#include <string.h>
#include <kernel/console.h>
#include <kernel/test.h>
#include <rt/gc.h>
#include <rt/gc_test.h>
#include <rt/go.h>

struct fobj {
	struct fobj *child;	/* only this object points to it */
	uint64_t id;
	uint64_t check;
};

GC_TYPE(fobj_type, struct fobj, child);

#define NFIN 300

static struct {
	_Atomic unsigned runs[NFIN];
	_Atomic unsigned bad;
	struct fobj *resurrected;
	_Atomic unsigned removed_ran;
} fin;

static uint64_t check_of(uint64_t id)
{
	return id * 0x2545f4914f6cdd1dull + 17;
}

static void finalize(void *p)
{
	struct fobj *o = p;
	if (o->id >= NFIN || o->check != check_of(o->id) || !o->child ||
	    o->child->check != check_of(o->id + 100000)) {
		atomic_fetch_add(&fin.bad, 1);
		return;
	}
	atomic_fetch_add(&fin.runs[o->id], 1);
	if (o->id == 7)
		gc_store(&fin.resurrected, o);	/* reachable again, for good */
}

static void removed_finalizer(void *p)
{
	(void)p;
	atomic_fetch_add(&fin.removed_ran, 1);
}

static __attribute__((noinline)) void make_finalizable(void)
{
	for (uint64_t i = 0; i < NFIN; i++) {
		struct fobj *o = gc_new(&fobj_type);
		o->id = i;
		o->check = check_of(i);
		struct fobj *c = gc_new(&fobj_type);
		c->id = i + 100000;
		c->check = check_of(i + 100000);
		gc_store(&o->child, c);
		gc_set_finalizer(o, i % 50 == 3 ? removed_finalizer : finalize);
		if (i % 50 == 3)
			gc_set_finalizer(o, NULL);	/* removed: never runs */
	}
}

static void garbage(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		memset(gc_alloc(24 + i % 500), 0x77, 24);
}

TEST_G(gc_final, run_once_with_their_objects_intact)
{
	memset(&fin, 0, sizeof(fin));
	make_finalizable();
	/* the stack is scanned conservatively from sp up: a word the frames built after
	 * make_finalizable never overwrote (padding, an unused spill slot) could still
	 * point to one of its objects and keep it from its finalizer */
	gc_test_scrub_stack();
	unsigned expected = NFIN - NFIN / 50;	/* those with their finalizer removed do not count */
	uint64_t t0 = go_now();
	unsigned done = 0;
	while (go_now() - t0 < 30000000000ull) {
		garbage(10000);
		gc_collect();
		go_sleep(1000000);
		done = 0;
		for (unsigned i = 0; i < NFIN; i++)
			done += atomic_load(&fin.runs[i]) > 0;
		if (done == expected)
			break;
	}
	if (done != expected)
		for (unsigned i = 0; i < NFIN; i++)
			if (i % 50 != 3 && !atomic_load(&fin.runs[i]))
				kprintf("gc_final: object %u was not finalized\n", i);
	EXPECT_EQ(done, expected);
	/* more cycles: nothing runs twice, the resurrected one included */
	for (int r = 0; r < 4; r++) {
		garbage(10000);
		gc_collect();
		go_sleep(1000000);
	}
	for (unsigned i = 0; i < NFIN; i++)
		if (atomic_load(&fin.runs[i]) != (i % 50 == 3 ? 0u : 1u)) {
			EXPECT_EQ(atomic_load(&fin.runs[i]), 1);
			break;
		}
	EXPECT_EQ(atomic_load(&fin.bad), 0);
	EXPECT_EQ(atomic_load(&fin.removed_ran), 0);
	ASSERT_TRUE(fin.resurrected != NULL);
	EXPECT_EQ(fin.resurrected->check, check_of(7));
	EXPECT_EQ(fin.resurrected->child->check, check_of(100007));
	struct gc_stats s;
	gc_stats(&s);
	EXPECT_TRUE(s.finalizers_run >= expected);
	gc_store(&fin.resurrected, NULL);
}

/* 4000 objects of 2 KiB, four to a span: a thousand spans with specials. Of the
 * spans (groups of four objects, by allocation), every third keeps none (all four
 * removed, with NULL or by gc_free: the span leaves the list wherever it is on it),
 * every fifth keeps one; the rest keep all four. */
#define NSPREAD 4000
static _Atomic unsigned spread_runs[NSPREAD];
static _Atomic unsigned spread_bad;

struct sobj {
	uint64_t id, check;
	char pad[2048 - 16];
};

static void spread_finalize(void *p)
{
	struct sobj *o = p;
	if (o->id >= NSPREAD || o->check != check_of(o->id)) {
		atomic_fetch_add(&spread_bad, 1);
		return;
	}
	atomic_fetch_add(&spread_runs[o->id], 1);
}

static bool spread_kept(unsigned i)
{
	unsigned group = i / 4;
	if (group % 3 == 1)
		return false;
	return group % 5 != 2 || i % 4 == 1;
}

static __attribute__((noinline)) unsigned make_spread(void)
{
	static struct sobj *objs[NSPREAD];	/* a root until cleared below */
	unsigned kept = 0;
	for (unsigned i = 0; i < NSPREAD; i++) {
		struct sobj *o = gc_alloc_noscan(sizeof(struct sobj));
		o->id = i;
		o->check = check_of(i);
		gc_set_finalizer(o, spread_finalize);
		gc_store(&objs[i], o);	/* a global: the barrier, as for any store there */
	}
	/* removals after all are set: each span's record is deep in the list by now */
	for (unsigned i = 0; i < NSPREAD; i++) {
		if (spread_kept(i)) {
			kept++;
			continue;
		}
		if (i % 2) {
			gc_set_finalizer(objs[i], NULL);
		} else {
			struct sobj *o = objs[i];
			gc_store(&objs[i], NULL);	/* no root left to a freed block */
			gc_free(o);
		}
	}
	for (unsigned i = 0; i < NSPREAD; i++)
		gc_store(&objs[i], NULL);
	return kept;
}

TEST_G(gc_final, spread_over_spans_removed_in_the_middle)
{
	for (unsigned i = 0; i < NSPREAD; i++)
		atomic_store(&spread_runs[i], 0);
	atomic_store(&spread_bad, 0);
	unsigned expected = make_spread(), done = 0;
	gc_test_scrub_stack();
	uint64_t t0 = go_now();
	while (go_now() - t0 < 30000000000ull) {
		gc_collect();
		go_sleep(1000000);
		done = 0;
		for (unsigned i = 0; i < NSPREAD; i++)
			done += atomic_load(&spread_runs[i]) > 0;
		if (done == expected)
			break;
	}
	EXPECT_EQ(done, expected);
	for (int r = 0; r < 2; r++) {
		gc_collect();
		go_sleep(1000000);
	}
	for (unsigned i = 0; i < NSPREAD; i++)
		if (atomic_load(&spread_runs[i]) != (spread_kept(i) ? 1u : 0u)) {
			kprintf("gc_final: object %u finalized %u times\n", i, atomic_load(&spread_runs[i]));
			EXPECT_EQ(atomic_load(&spread_runs[i]), spread_kept(i) ? 1u : 0u);
			break;
		}
	EXPECT_EQ(atomic_load(&spread_bad), 0);
}

/* About 12 MiB of linked garbage, typed and untyped, small and large, built in a frame
 * that is gone before the collections, as 1000 lists of 200: stacks and registers are
 * scanned conservatively, so a stale word that still points into a list keeps the rest
 * of that list (once, on aarch64 at 4 CPUs, 3.6 MiB of a single 200,000-node list
 * stayed); with short lists one such word costs at most 200 nodes, and the bound below
 * still catches garbage that is not freed. */
static __attribute__((noinline)) void linked_garbage(void)
{
	struct fobj *head = NULL;
	for (unsigned i = 0; i < 200000; i++) {
		struct fobj *o = gc_new(&fobj_type);
		if (i % 200)
			gc_store(&o->child, head);
		head = o;
		if (i % 1000 == 0)
			memset(gc_alloc(40000), 1, 64);
	}
	gc_keep_alive(head);
}

/* Unreachable objects go within two cycles: the heap returns to where it started. */
TEST_G(gc_final, unreachable_freed_within_two_cycles)
{
	gc_collect();
	gc_collect();
	struct gc_stats s0, s1;
	gc_stats(&s0);
	linked_garbage();
	gc_collect();
	gc_collect();
	gc_stats(&s1);
	kprintf("gc_final: heap in use %llu KiB before, %llu KiB after two cycles\n",
		(unsigned long long)(s0.heap_inuse >> 10), (unsigned long long)(s1.heap_inuse >> 10));
	/* within 2 MiB (spans cached by CPUs, a chunk's worth of partial spans) */
	EXPECT_TRUE(s1.heap_inuse <= s0.heap_inuse + (2u << 20));
}

/* ---- misuse: Go's panics (explicit suites, the matrix checks the messages) ------------- */

static void fin_noop(void *p)
{
	(void)p;
}

static char not_in_heap[64];

TEST_G_EXPLICIT(gc_fin_twice, finalizer_set_twice)
{
	struct fobj *o = gc_new(&fobj_type);
	gc_set_finalizer(o, fin_noop);
	gc_set_finalizer(o, fin_noop);
	EXPECT_TRUE(!"a second finalizer was accepted");
}

TEST_G_EXPLICIT(gc_fin_interior, finalizer_on_an_interior_pointer)
{
	struct fobj *o = gc_new(&fobj_type);
	gc_set_finalizer(&o->id, fin_noop);
	EXPECT_TRUE(!"a finalizer on an interior pointer was accepted");
}

TEST_G_EXPLICIT(gc_fin_nonheap, finalizer_on_a_pointer_outside_the_heap)
{
	gc_set_finalizer(not_in_heap, fin_noop);
	EXPECT_TRUE(!"a finalizer on a global was accepted");
}
