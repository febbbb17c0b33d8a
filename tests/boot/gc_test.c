/*
 * tests/boot/gc_test.c: the collector's allocation and liveness tests (tests=gc).
 *
 * Every object a test keeps is checked after collections: a magic value derived from
 * its index in every word of its payload, so that an object freed and reused, or
 * clobbered, is caught. Run with gccheckmark=1 (the matrix does): every cycle is
 * then re-marked with the world stopped, and a reachable object the concurrent mark
 * missed is a panic naming it.
 */
#include <stdint.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/test.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include "halting.h"

struct node {
	struct node *next;
	uint64_t magic;
	void *payload;
	uint64_t tail[2];
};

GC_TYPE(node_type, struct node, next, payload);

static uint64_t magic_of(uint64_t i)
{
	return 0x9e3779b97f4a7c15ull * (i + 1) ^ 0x5bd1e995;
}

/* Garbage: n objects of assorted sizes, dropped at once. */
static void churn(size_t bytes)
{
	size_t done = 0;
	unsigned k = 0;
	while (done < bytes) {
		size_t sz = 16 + (k * 37) % 2000;
		void *p = gc_alloc(sz);
		memset(p, 0xa5, sz);
		done += sz;
		k++;
	}
}

TEST_G(gc, alloc_sizes_aligned_zeroed)
{
	static const size_t sizes[] = { 1, 7, 8, 9, 16, 24, 31, 48, 100, 256, 1000, 4096, 5000,
					32768, 32769, 100000, 1 << 20 };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *p = gc_alloc(n);
		ASSERT_TRUE(p != NULL);
		if (n > 8)
			EXPECT_EQ((uintptr_t)p % 16, 0);
		for (size_t k = 0; k < n; k++)
			if (p[k]) {
				EXPECT_EQ(p[k], 0);
				break;
			}
		EXPECT_TRUE(gc_size(p) >= n);
		EXPECT_TRUE(gc_base(p + n - 1) == p);
		memset(p, 0xff, n);
		unsigned char *q = gc_alloc_noscan(n);
		EXPECT_TRUE(q != p);
		for (size_t k = 0; k < n; k++)
			if (q[k]) {
				EXPECT_EQ(q[k], 0);
				break;
			}
	}
	EXPECT_TRUE(gc_base(&sizes[0]) == NULL);
	EXPECT_EQ(gc_size(&sizes[0]), 0);
}

TEST_G(gc, list_survives_collections)
{
	struct node *head = NULL;
	const unsigned n = 20000;
	for (unsigned i = 0; i < n; i++) {
		struct node *x = gc_new(&node_type);
		x->magic = magic_of(i);
		x->payload = gc_alloc_noscan(24);
		memcpy(x->payload, &x->magic, 8);
		gc_store(&x->next, head);
		head = x;
		if (i % 1000 == 0)
			churn(64 << 10);
	}
	for (int round = 0; round < 3; round++) {
		churn(4 << 20);
		gc_collect();
	}
	unsigned i = n;
	for (struct node *x = head; x; x = x->next) {
		i--;
		if (x->magic != magic_of(i) || memcmp(x->payload, &x->magic, 8) != 0) {
			EXPECT_EQ(x->magic, magic_of(i));
			return;
		}
	}
	EXPECT_EQ(i, 0);
}

/*
 * CPUs asleep at mark termination are left asleep (kernel/stw.c), and the CPU that
 * stopped the world gives back their span caches and work buffers (gc.c,
 * mark_termination_idle). Goroutines allocate on every CPU, so that each CPU's cache
 * holds partly used spans of several classes, and exit; collections run while those
 * CPUs sleep; then goroutines allocate as much again from the emptied caches. Every
 * object of both rounds must keep its magic: a cache given back wrong (or not at all)
 * hands a slot out twice across the sweep. With two CPUs or more, at least one cycle
 * must have left a CPU asleep (the path taken), within IDLE_TRIES tries.
 */
#define IDLE_G_PER_CPU 2
#define IDLE_NODES 3000
#define IDLE_TRIES 100
static struct node *idle_lists[2 * IDLE_G_PER_CPU * 64];
static struct wait_group idle_wg = WAIT_GROUP_INIT;

static void idle_alloc_body(void *arg)
{
	unsigned slot = (unsigned)(uintptr_t)arg;
	struct node *head = NULL;
	for (unsigned i = 0; i < IDLE_NODES; i++) {
		struct node *x = gc_new(&node_type);
		x->magic = magic_of(slot * IDLE_NODES + i);
		size_t sz = 8 + (i % 13) * 24;		/* classes 16 .. 304 */
		x->payload = gc_alloc_noscan(sz);
		memset(x->payload, (int)(x->magic & 0xff), sz);
		x->tail[0] = sz;
		gc_store(&x->next, head);
		head = x;
	}
	gc_store(&idle_lists[slot], head);
	wg_done(&idle_wg);
}

static void idle_round(unsigned first, unsigned n)
{
	wg_add(&idle_wg, (int)n);
	for (unsigned k = 0; k < n; k++)
		go(idle_alloc_body, (void *)(uintptr_t)(first + k));
	wg_wait(&idle_wg);
}

/* Just before the termination pause, on the collecting CPU: until the other CPUs,
 * with nothing to run and no marking left, are asleep (halting.h). */
static void idle_spin_hook(void)
{
	test_wait_others_halting();
}

static bool idle_lists_intact(unsigned n)
{
	for (unsigned slot = 0; slot < n; slot++) {
		unsigned i = IDLE_NODES;
		for (struct node *x = idle_lists[slot]; x; x = x->next) {
			i--;
			const unsigned char *b = x->payload;
			bool ok = x->magic == magic_of(slot * IDLE_NODES + i) && x->tail[0] == 8 + (i % 13) * 24;
			for (size_t k = 0; ok && k < x->tail[0]; k++)
				ok = b[k] == (unsigned char)(x->magic & 0xff);
			if (!ok) {
				test_fail(__FILE__, __LINE__, "list %u, node %u (%p): magic 0x%llx, size %llu",
					  slot, i, (void *)x, (unsigned long long)x->magic,
					  (unsigned long long)x->tail[0]);
				return false;
			}
		}
		if (i != 0) {
			test_fail(__FILE__, __LINE__, "list %u: %u nodes missing", slot, i);
			return false;
		}
	}
	return true;
}

TEST_G(gc, idle_cpus_caches_given_back_by_the_owner)
{
	unsigned per = IDLE_G_PER_CPU * go_ncpu();
	ASSERT_TRUE(2 * per <= sizeof(idle_lists) / sizeof(idle_lists[0]));
	idle_round(0, per);
	uint64_t idle0 = atomic_load(&gc_test_term_idle_cpus);
	uint32_t c0 = gc_test_cycle(), seen = c0;
	uint64_t logged = 0;	/* the cycle log's count (gc_cycle_info.term_idle_cpus) */
	int tries = 0;
	gc_test_mark_done_hook = idle_spin_hook;
	while (tries++ < IDLE_TRIES) {
		gc_collect();
		for (uint32_t c1 = gc_test_cycle(); seen < c1; seen++) {
			struct gc_cycle_info ci;
			if (!gc_test_cycle_info(seen + 1, &ci))
				continue;
			EXPECT_TRUE(ci.term_idle_cpus <= go_ncpu() - 1);
			logged += ci.term_idle_cpus;
		}
		if (tries >= 3 && (go_ncpu() == 1 || logged > 0))
			break;
	}
	gc_test_mark_done_hook = NULL;
	uint64_t idle = atomic_load(&gc_test_term_idle_cpus) - idle0;
	if (go_ncpu() == 1)
		EXPECT_EQ(idle, 0);
	else
		EXPECT_TRUE(logged > 0);
	/* the counter saw at least as many: a cycle already running at c0 adds to it, not
	 * to the cycles logged after c0 */
	EXPECT_TRUE(logged <= idle);
	ASSERT_TRUE(idle_lists_intact(per));
	idle_round(per, per);		/* from the caches given back */
	gc_collect();
	gc_collect();
	ASSERT_TRUE(idle_lists_intact(2 * per));
	kprintf("gc: %llu CPU shares of mark termination done by the owner in %d cycles\n",
		(unsigned long long)idle, tries);
	for (unsigned slot = 0; slot < 2 * per; slot++)
		gc_store(&idle_lists[slot], NULL);
}

TEST_G(gc, garbage_is_freed)
{
	gc_collect();
	struct gc_stats s0, s1;
	gc_stats(&s0);
	churn(32 << 20);
	gc_collect();
	gc_collect();
	gc_stats(&s1);
	EXPECT_TRUE(s1.cycles >= s0.cycles + 2);
	EXPECT_TRUE(s1.frees > s0.frees);
	/* the heap holds what it held before, plus at most a few MiB of spans kept warm */
	if (s1.heap_inuse > s0.heap_inuse + (4 << 20))
		EXPECT_EQ(s1.heap_inuse >> 10, s0.heap_inuse >> 10);
}

/*
 * The heap stops at its goal while a cycle cannot end (rt/gc/pacer.c): the collector's
 * goroutine is held before mark termination (gc_test_hold_term), as a CPU the host
 * does not run would hold it, and a goroutine allocating garbage meanwhile spends
 * what credit the markers left, then waits in its allocation for the cycle's end
 * (counted in assist_waits) instead of growing the heap; in the stop-the-world mode
 * the hold comes before the cycle's one pause, and the allocation at the goal waits
 * for it. A watcher ends the hold once an allocation has waited, or after 2 s, or
 * once the allocator gave up (8 goals allocated while held: the heap would grow
 * without bound otherwise).
 */
struct goal_hold {
	uint64_t holds0, waits0;
	_Atomic bool gave_up, over;
	_Atomic uint64_t goal;		/* the watcher's, read by the allocator as it goes */
	uint64_t waits, max_live;	/* the watcher's, read after `over` */
	struct wait_group done;
};

/* It yields rather than sleeps: a sleep's timer is a heap object, whose allocation
 * would wait for the cycle it holds. */
static void goal_hold_watch(void *arg)
{
	struct goal_hold *h = arg;
	struct gc_stats s;
	uint64_t end = clock_ns() + 5000000000ull;
	while (atomic_load(&gc_test_term_holds) == h->holds0 && clock_ns() < end)
		go_yield();
	end = clock_ns() + 2000000000ull;
	for (;;) {
		gc_stats(&s);
		if (s.heap_live > h->max_live)
			h->max_live = s.heap_live;
		atomic_store(&h->goal, s.heap_goal);
		/* a wait since the held cycle began (it may have begun before the hold) */
		if (s.assist_waits > h->waits0 || atomic_load(&h->gave_up) || clock_ns() > end)
			break;
		go_yield();
	}
	h->waits = s.assist_waits - h->waits0;
	atomic_store(&gc_test_hold_term, false);
	atomic_store(&h->over, true);
	wg_done(&h->done);
}

TEST_G(gc, allocation_waits_at_the_goal_while_a_cycle_cannot_end)
{
	int pct = gc_test_quiesce();
	gc_set_percent(100);
	gc_collect();
	static struct goal_hold h;
	struct gc_stats s;
	gc_stats(&s);
	h = (struct goal_hold){ .done = WAIT_GROUP_INIT, .holds0 = atomic_load(&gc_test_term_holds),
				.waits0 = s.assist_waits };
	atomic_store(&gc_test_hold_term, true);
	wg_add(&h.done, 1);
	go(goal_hold_watch, &h);
	uint64_t during = 0, total = 0;
	while (!atomic_load(&h.over) && total < (1ull << 30)) {
		(void)gc_alloc_noscan(4096);	/* garbage at once */
		total += 4096;
		if (atomic_load(&gc_test_term_holds) != h.holds0) {
			during += 4096;
			uint64_t goal = atomic_load(&h.goal);
			if (goal && during > 8 * goal)
				atomic_store(&h.gave_up, true);
		}
	}
	atomic_store(&h.gave_up, true);
	wg_wait(&h.done);
	gc_collect();
	gc_set_percent(pct);
	uint64_t goal = atomic_load(&h.goal);
	kprintf("gc: while the cycle was held, %llu KiB allocated, heap at most %llu KiB, goal %llu "
		"KiB, %llu waits\n", (unsigned long long)(during >> 10), (unsigned long long)(h.max_live >> 10),
		(unsigned long long)(goal >> 10), (unsigned long long)h.waits);
	ASSERT_TRUE(atomic_load(&gc_test_term_holds) != h.holds0);
	EXPECT_TRUE(h.waits > 0);
	/* a span in each CPU's cache, and the allocation that found the heap there */
	if (h.max_live > goal + goal / 8 + (1 << 20))
		EXPECT_EQ(h.max_live >> 10, goal >> 10);
}

/*
 * Spans of one type. A small typed span whose objects are all one element of one
 * type records that type and keeps no pointer bitmap (struct span in rt/gc/heap.h);
 * the first object of another type, or an array, turns it mixed: every slot gets its
 * bitmap from the type it had. Two types of the same size class whose pointers sit at
 * different words, and arrays of pointers, allocated interleaved while collections
 * run: what each one points to (a payload carrying its magic) must survive, which it
 * does only if every object is scanned by its own type, before and after the switch.
 */
struct head_ptr {
	uint64_t *p;
	uint64_t pad[3];
};
struct tail_ptr {
	uint64_t pad[3];
	uint64_t *p;
};
GC_TYPE(head_ptr_type, struct head_ptr, p);
GC_TYPE(tail_ptr_type, struct tail_ptr, p);

static uint64_t *payload(uint64_t i)
{
	uint64_t *x = gc_alloc_noscan(48);
	for (int k = 0; k < 6; k++)
		x[k] = magic_of(i * 8 + (uint64_t)k);
	return x;
}

static bool payload_ok(const uint64_t *x, uint64_t i)
{
	for (int k = 0; k < 6; k++)
		if (x[k] != magic_of(i * 8 + (uint64_t)k))
			return false;
	return true;
}

TEST_G(gc, one_type_spans_turn_mixed)
{
	enum { N = 6000 };
	/* the objects, each kind from its own index range of magics */
	void **keep = gc_new_array(&gc_type_ptr, 3 * N);
	for (unsigned i = 0; i < N; i++) {
		struct head_ptr *h = gc_new(&head_ptr_type);
		gc_store(&h->p, payload(i));
		gc_store(&keep[i], h);
	}
	/* so far one type in its spans */
	EXPECT_STREQ(gc_test_span_type(keep[N - 1]), "struct head_ptr");
	for (unsigned i = 0; i < N; i++) {
		struct tail_ptr *t = gc_new(&tail_ptr_type);
		gc_store(&t->p, payload(N + i));
		gc_store(&keep[N + i], t);
		uint64_t **a = gc_new_array(&gc_type_ptr, 4);	/* 32 bytes: the same class */
		for (unsigned k = 0; k < 4; k++)
			gc_store(&a[k], payload(2 * N + i * 4 + k));
		gc_store(&keep[2 * N + i], a);
		if (i % 500 == 0)
			churn(256 << 10);	/* cycles start and end while the spans switch */
	}
	for (int round = 0; round < 3; round++) {
		churn(2 << 20);
		gc_collect();
	}
	unsigned bad = 0;
	for (unsigned i = 0; i < N; i++) {
		bad += !payload_ok(((struct head_ptr *)keep[i])->p, i);
		bad += !payload_ok(((struct tail_ptr *)keep[N + i])->p, N + i);
		uint64_t **a = keep[2 * N + i];
		for (unsigned k = 0; k < 4; k++)
			bad += !payload_ok(a[k], 2 * N + i * 4 + k);
	}
	EXPECT_EQ(bad, 0);
	/* the types shared spans: the last tail_ptr's span holds arrays too by now */
	EXPECT_STREQ(gc_test_span_type(keep[2 * N - 1]), "typed, several types");
	gc_keep_alive(keep);
}

/* Runtime objects on the heap: an unbuffered channel of words is one small object (no
 * page of its own), a buffered one adds its ring, and both go away unreferenced. */
TEST_G(gc, channels_are_small_heap_objects)
{
	struct chan *c0 = chan_make(8, 0), *c4 = chan_make(8, 4);
	size_t s0 = gc_size(c0), s4 = gc_size(c4);
	kprintf("gc: an unbuffered channel of 8-byte elements costs %zu bytes\n", s0);
	EXPECT_TRUE(gc_base(c0) == c0);
	EXPECT_TRUE(s0 > 0 && s0 < 200);
	EXPECT_EQ(s4, s0);		/* the ring is an object of its own */
	chan_close(c0);
	chan_close(c4);
	gc_keep_alive(c0);
	gc_keep_alive(c4);
	/* 20,000 unreferenced channels: freed by two cycles (each would have been a page) */
	gc_collect();
	struct gc_stats a, b;
	gc_stats(&a);
	for (int i = 0; i < 20000; i++)
		chan_make(8, i % 2 ? 0 : 2);
	gc_collect();
	gc_collect();
	gc_stats(&b);
	EXPECT_TRUE(b.heap_inuse < a.heap_inuse + (1 << 20));
}

/* Garbage's pages are reused before new memory is mapped: a cycle leaves 8 MiB of
 * dead 48-byte objects unswept (the background sweeper held), and 6 MiB of 1 KiB
 * objects, more than the heap has free, then come from the pages the page heap
 * reclaims by sweeping (heap.c), not from new chunks. An allocation sweeps only its
 * own class's spans itself (central.c): without the reclaim, every one of those
 * 6 MiB would be new memory. */
#define RECLAIM_SMALL 48
#define RECLAIM_OBJ 1024
static __attribute__((noinline)) void small_garbage(size_t bytes)
{
	for (size_t n = 0; n < bytes; n += RECLAIM_SMALL)
		gc_alloc_noscan(RECLAIM_SMALL);
}

TEST_G(gc, allocation_reuses_unswept_garbage)
{
	int pct = gc_test_quiesce();
	gc_collect();
	small_garbage(8u << 20);
	atomic_store(&gc_test_hold_sweep, true);
	gc_collect();			/* finds the garbage dead, leaves it unswept */
	struct gc_stats a, b;
	gc_stats(&a);
	size_t n = (size_t)(a.heap_mapped - a.heap_inuse + (6u << 20)) / RECLAIM_OBJ;
	void **keep = gc_alloc(n * sizeof(void *));
	for (size_t i = 0; i < n; i++)
		gc_store(&keep[i], gc_alloc_noscan(RECLAIM_OBJ));
	gc_stats(&b);
	atomic_store(&gc_test_hold_sweep, false);
	kprintf("gc: %zu KiB of 1 KiB objects: %llu KiB mapped (was %llu, %llu KiB free)\n",
		n, (unsigned long long)b.heap_mapped >> 10, (unsigned long long)a.heap_mapped >> 10,
		(unsigned long long)(a.heap_mapped - a.heap_inuse) >> 10);
	EXPECT_TRUE(b.heap_mapped <= a.heap_mapped + (2u << 20));
	EXPECT_TRUE(b.frees > a.frees);		/* the reclaim swept the garbage */
	gc_keep_alive(keep);
	gc_set_percent(pct);
	gc_collect();
}

/* Idle memory goes back to the page allocator: 16 MiB of large objects, dropped and
 * swept, are unmapped by the scavenger once they have been free for its delay. */
#define LARGE_N 64
static __attribute__((noinline)) void large_garbage(struct gc_stats *a)
{
	void *keep[LARGE_N];	/* all alive at once: no cycle frees some while others come */
	for (unsigned i = 0; i < LARGE_N; i++) {
		keep[i] = gc_alloc_noscan(256u << 10);
		memset(keep[i], 0x5c, 256u << 10);
	}
	gc_stats(a);
	memset(keep, 0, sizeof(keep));
	__asm__ volatile("" : : "r"(keep) : "memory");
}

TEST_G(gc, idle_memory_is_released)
{
	gc_collect();
	struct gc_stats a, b;
	large_garbage(&a);
	gc_collect();
	gc_collect();
	uint64_t t0 = go_now();
	do {
		go_sleep(50000000);
		gc_stats(&b);
	} while (b.heap_released < a.heap_released + (8u << 20) && go_now() - t0 < 5000000000ull);
	kprintf("gc: %llu KiB released, %llu KiB mapped (was %llu)\n",
		(unsigned long long)(b.heap_released - a.heap_released) >> 10,
		(unsigned long long)b.heap_mapped >> 10, (unsigned long long)a.heap_mapped >> 10);
	EXPECT_TRUE(b.heap_released >= a.heap_released + (8u << 20));
	EXPECT_TRUE(b.heap_mapped + (8u << 20) <= a.heap_mapped);
}

/*
 * A span freed into a free neighbour gives its struct back, while its pages' span-map
 * entries still name it; a marker following a conservative word into those pages
 * reads that struct without a lock. The memory must still be a span struct (DEAD),
 * never a bitmap block whose bits could read as an in-use span covering the word.
 */
TEST_G(gc, freed_span_structs_never_become_bitmaps)
{
	int pct = gc_test_quiesce();
	enum { N = 32, SZ = 64 << 10 };
	char *big[N];
	for (unsigned i = 0; i < N; i++)
		big[i] = gc_alloc_noscan(SZ);
	for (unsigned i = 0; i < N; i++)
		EXPECT_TRUE(gc_test_in_span(big[i] + SZ / 2));
	for (unsigned i = 0; i < N; i++)
		gc_free(big[i]);	/* at once: large, swept, no cycle */
	unsigned alias = gc_test_meta_alias(true);
	unsigned found = 0;
	for (unsigned i = 0; i < N; i++)
		for (unsigned off = 0; off < SZ; off += 4096)
			found += gc_test_in_span(big[i] + off);
	gc_test_meta_alias(false);
	gc_set_percent(pct);
	EXPECT_EQ(alias, 0);
	EXPECT_EQ(found, 0);
}

/* ---- options: gc=off and gc_percent=N (explicit suites, run with the option) ------------- */

static __attribute__((noinline)) void garbage_mib(unsigned mib)
{
	churn((size_t)mib << 20);
}

TEST_G_EXPLICIT(gc_off, no_automatic_cycles)
{
	struct gc_stats s0, s1, s2;
	gc_stats(&s0);
	EXPECT_EQ(s0.percent, -1);
	garbage_mib(48);
	gc_stats(&s1);
	EXPECT_EQ(s1.cycles, s0.cycles);	/* 48 MiB allocated, no collection */
	EXPECT_TRUE(s1.heap_inuse >= (40u << 20));
	gc_collect();				/* an explicit one still runs */
	gc_stats(&s2);
	EXPECT_EQ(s2.cycles, s1.cycles + 1);
	EXPECT_TRUE(s2.heap_inuse < s1.heap_inuse);
	EXPECT_EQ(gc_set_percent(100), -1);
	EXPECT_EQ(gc_set_percent(-1), 100);
}

static struct node *pct_keep;

TEST_G_EXPLICIT(gc_percent, goal_follows_the_percentage)
{
	struct gc_stats s;
	gc_stats(&s);
	EXPECT_EQ(s.percent, 50);
	/* about 16 MiB live: the goal must be 1.5 times what the cycle marked */
	for (unsigned i = 0; i < 16 * 1024; i++) {
		struct node *x = gc_new_array(&node_type, 1024 / sizeof(struct node));
		gc_store(&x->next, pct_keep);
		gc_store(&pct_keep, x);
	}
	gc_collect();
	gc_stats(&s);
	kprintf("gc_percent: marked %llu KiB, goal %llu KiB\n", (unsigned long long)(s.heap_marked >> 10),
		(unsigned long long)(s.heap_goal >> 10));
	EXPECT_TRUE(s.heap_marked >= (16u << 20));
	EXPECT_EQ(s.heap_goal, s.heap_marked + s.heap_marked / 100 * 50);
	EXPECT_TRUE(s.heap_trigger > s.heap_marked && s.heap_trigger < s.heap_goal);
	/* the next cycle runs against that goal, and says so (gctrace's "MB goal", as
	 * Go's: the cycle's own, not the next one's) */
	gc_collect();
	struct gc_stats s2;
	gc_stats(&s2);
	struct gc_cycle_info ci;
	EXPECT_TRUE(gc_test_cycle_info((uint32_t)s2.cycles, &ci));
	EXPECT_EQ(ci.heap_goal, s.heap_goal);
	gc_store(&pct_keep, NULL);
}
