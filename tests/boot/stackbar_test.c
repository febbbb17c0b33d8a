/*
 * tests/boot/stackbar_test.c: the collector's stack barriers (rt/gc/stackbar.c), suite
 * gc_stackbar. Every test turns them on (gc_test_stackbar) and runs with checkmark on.
 *
 *   hit_on_return_and_bound_the_rescan
 *                      a goroutine 300 frames deep, each frame holding a heap node,
 *                      parks; while the cycle marks, it stores a hidden object into
 *                      its outermost frame through a pointer (an out-parameter, above
 *                      every barrier, no gc_store), unwinds 20 frames through the
 *                      barriers and parks again: barriers hit, the end of marking
 *                      reads less than the whole stacks where stack pages are tracked
 *                      (the images), the object kept (the written page is rescanned),
 *                      every node and every return value (integer and floating point)
 *                      intact
 *   traceback_sees_through
 *                      with barriers planted in a parked goroutine's frames, the frame
 *                      walk the panic dump uses gives the same return addresses as
 *                      before, and the dump names every frame
 *   longjmp_across_barriers
 *                      a goroutine longjmps from under the barriers to a frame between
 *                      them while the cycle marks, then descends again with new nodes:
 *                      nothing lost, the later returns correct
 *   returns_under_preemption
 *                      goroutines on every CPU descend and unwind again and again while
 *                      cycles run back to back with a short preemption slice: returns
 *                      through barriers (some preempted inside the trampoline), every
 *                      node and return value checked, counts exact
 */
#include <setjmp.h>
#include <stdint.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/test.h>
#include <arch/stkbar.h>
#include <rt/gc.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>

struct sbnode {
	struct sbnode *next;
	uint64_t tag;
};

GC_TYPE(sbnode_type, struct sbnode, next);

struct sbret {
	uint64_t sum;	/* rax / x0 */
	double f;	/* xmm0 / x1 */
};

static uint64_t tagof(uint64_t salt, unsigned n)
{
	uint64_t x = salt * 0x9e3779b97f4a7c15ull + n;
	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ull;
}

/* A diving goroutine's reservation: hundreds of frames, deeper than go()'s 32 KiB. */
#define DIVE_STACK STACK_DEFAULT_SIZE

/* One script for a descending goroutine. */
struct dive {
	uint64_t salt;
	unsigned depth;			/* the bottom */
	unsigned park_at;		/* on the way up: park again here (0: no) */
	unsigned jump_at;		/* setjmp here (0: no); the bottom longjmps to it once */
	struct sbnode **box;		/* the outermost frame's local */
	struct sema parked, go;
	void (*at_bottom)(struct dive *d);	/* in the first bottom frame, before unwinding */
	jmp_buf env;
	bool jumped;
	_Atomic unsigned bad;		/* a frame's node or a return value was wrong */
	struct sbret result;
	struct wait_group done;
};

static __attribute__((noinline)) struct sbret sb_descend(struct dive *d, unsigned n);

static __attribute__((noinline)) struct sbret sb_bottom(struct dive *d)
{
	if (d->at_bottom)
		d->at_bottom(d);
	if (d->jump_at && !d->jumped) {
		d->jumped = true;
		longjmp(d->env, 1);
	}
	return (struct sbret){ 0, 0.0 };
}

static __attribute__((noinline)) struct sbret sb_descend(struct dive *d, unsigned n)
{
	volatile uint64_t pad[8];
	struct sbnode *volatile mine = gc_new(&sbnode_type);
	mine->tag = tagof(d->salt, n);
	pad[0] = n;
	if (n == d->jump_at && d->jump_at && setjmp(d->env)) {
		/* landed here from the bottom: descend again, with new nodes below */
		struct sbret r = sb_descend(d, n + 1);
		r.sum = r.sum * 3 + tagof(d->salt, n);
		r.f = r.f * 0.5 + (double)n;
		return r;
	}
	struct sbret r = n >= d->depth ? sb_bottom(d) : sb_descend(d, n + 1);
	if (mine->tag != tagof(d->salt, n) || pad[0] != n)
		atomic_fetch_add(&d->bad, 1);
	if (d->park_at && n == d->park_at) {
		sema_release(&d->parked);
		sema_acquire(&d->go);
	}
	/* the sums run from the bottom up: depth k contributes tagof(k) * 3^k */
	r.sum = r.sum * 3 + tagof(d->salt, n);
	r.f = r.f * 0.5 + (double)n;
	return r;
}

/* The result sb_descend(d, 0) must give: the sums fold from the bottom (depth) up. */
static struct sbret want(const struct dive *d)
{
	struct sbret r = { 0, 0.0 };
	for (unsigned k = d->depth + 1; k-- > 0;) {
		r.sum = r.sum * 3 + tagof(d->salt, k);
		r.f = r.f * 0.5 + (double)k;
	}
	return r;
}

static void dive_entry(void *arg)
{
	struct dive *d = arg;
	struct sbnode *box = NULL;	/* the outermost frame's local, written from below */
	d->box = &box;
	d->result = sb_descend(d, 0);
	if (box && box->tag != 2)
		atomic_fetch_add(&d->bad, 1);
	d->box = NULL;
	gc_keep_alive(box);
	wg_done(&d->done);
}

static void dive_start(struct dive *d, uint64_t salt, unsigned depth)
{
	*d = (struct dive){ .salt = salt, .depth = depth, .parked = SEMA_INIT(0), .go = SEMA_INIT(0),
			    .done = WAIT_GROUP_INIT };
	wg_add(&d->done, 1);
}

static void dive_check(struct dive *d)
{
	struct sbret w = want(d);
	EXPECT_EQ(atomic_load(&d->bad), 0);
	EXPECT_TRUE(d->result.sum == w.sum);
	EXPECT_TRUE(d->result.f == w.f);
}

/* B: an object allocated before the cycle, reachable from nowhere the collector looks
 * (its address disguised), made in a frame that is gone. */
static uintptr_t hidden;

static __attribute__((noinline)) void make_hidden(void)
{
	struct sbnode *b = gc_new(&sbnode_type);
	b->tag = 2;
	hidden = (uintptr_t)b ^ 0x5555555555555555ull;
}

/* Stack barriers on, with the insertion barrier: what these tests check is its bound
 * (the pages written above it included; the hybrid barrier has its own tests,
 * hybrid_test.c), whatever the gc_barrier option says. */
static struct gc_test_settings sb_on(void)
{
	return gc_test_settings_set(true, false);
}

/* The ThreadSanitizer build plants none (stackbar.c says why): each test checks that a
 * cycle over a deep parked goroutine planted nothing, says so, and stops there. */
static bool sb_unsupported(void)
{
	if (gc_test_stackbar_supported())
		return false;
	struct gc_test_settings old = sb_on();
	uint64_t p0 = gc_test_stkbar_planted_total();
	gc_collect();
	EXPECT_EQ(gc_test_stkbar_planted_total(), p0);
	gc_test_settings_restore(old);
	kprintf("gc_stackbar: not supported in the ThreadSanitizer build: none planted\n");
	return true;
}

/* ---- barriers hit on return; the rescan bounded; an out-parameter store kept ---------------------- */

static struct dive d1;

static void d1_store_out(struct dive *d)
{
	/* first bottom: park; the hook wakes us during the mark: store B above the barriers */
	sema_release(&d->parked);
	sema_acquire(&d->go);
	*d->box = (struct sbnode *)(hidden ^ 0x5555555555555555ull);
}

static void d1_hook(void)
{
	gc_test_mark_done_hook = NULL;
	sema_release(&d1.go);		/* store B, unwind to park_at, park */
	sema_acquire(&d1.parked);
}

TEST_G(gc_stackbar, hit_on_return_and_bound_the_rescan)
{
	if (sb_unsupported())
		return;
	struct gc_test_settings old = sb_on();
	make_hidden();
	dive_start(&d1, 11, 300);
	d1.park_at = 280;
	d1.at_bottom = d1_store_out;
	go_stack(dive_entry, &d1, DIVE_STACK);
	sema_acquire(&d1.parked);		/* at the bottom */
	uint64_t hits0 = gc_test_stkbar_hits();
	gc_test_mark_done_hook = d1_hook;
	gc_collect();
	uint32_t cyc = gc_test_cycle();
	uint64_t hits = gc_test_stkbar_hits() - hits0;
	EXPECT_TRUE(gc_test_mark_done_hook == NULL);
	struct gc_cycle_info ci;
	EXPECT_TRUE(gc_test_cycle_info(cyc, &ci));
	EXPECT_TRUE(ci.stackbar);
	EXPECT_TRUE(hits >= 2);		/* the 1 KiB and 2 KiB ones: 20 frames are over 3 KiB */
	EXPECT_TRUE(ci.stack_rescan_total > 0);
#if defined(GORT_HOSTED)
	/* the host tracks no stack page: above the bound every page counts as written */
	EXPECT_EQ(ci.stack_rescan_bytes, ci.stack_rescan_total);
#else
	EXPECT_TRUE(ci.stack_rescan_bytes < ci.stack_rescan_total);
#endif
	kprintf("gc_stackbar: %llu returns through barriers; the pause rescanned %llu of %llu stack bytes\n",
		(unsigned long long)hits, (unsigned long long)ci.stack_rescan_bytes,
		(unsigned long long)ci.stack_rescan_total);
	gc_collect();				/* (checkmark on: a lost B or node panics) */
	gc_collect();
	EXPECT_TRUE(*d1.box != NULL);
	EXPECT_EQ((*d1.box)->tag, 2);
	sema_release(&d1.go);			/* unwind the rest */
	wg_wait(&d1.done);
	dive_check(&d1);
	gc_test_settings_restore(old);
}

/* ---- tracebacks see through planted barriers --------------------------------------------------------- */

#define WALK_MAX 512

static unsigned walk_rets(uintptr_t fp, uint64_t *raw, uint64_t *fixed)
{
	unsigned n = 0;
	while (fp && n < WALK_MAX) {
		const uint64_t *r = (const uint64_t *)fp;
		if (!r[1])
			break;
		raw[n] = r[1];
		fixed[n] = backtrace_record_ret(fp);
		n++;
		fp = r[0];
	}
	return n;
}

static struct dive d2;

static void d2_park(struct dive *d)
{
	sema_release(&d->parked);
	sema_acquire(&d->go);
}

static __attribute__((noinline)) void sb_walk_descend(unsigned n, struct dive *d)
{
	volatile uint64_t pad[4];
	pad[0] = n;
	if (n)
		sb_walk_descend(n - 1, d);
	else
		d2_park(d);
	if (pad[0] != n)
		atomic_fetch_add(&d->bad, 1);
}

static void d2_entry(void *arg)
{
	struct dive *d = arg;
	sb_walk_descend(200, d);
	wg_done(&d->done);
}

TEST_G(gc_stackbar, traceback_sees_through)
{
	if (sb_unsupported())
		return;
	static uint64_t raw0[WALK_MAX], fixed0[WALK_MAX], raw1[WALK_MAX], fixed1[WALK_MAX];
	struct gc_test_settings old = sb_on();
	dive_start(&d2, 0, 0);
	struct g *g = sched_spawn(d2_entry, &d2, DIVE_STACK);
	sema_acquire(&d2.parked);
	while (atomic_load(&g->status) != G_WAITING)	/* its context saved */
		go_yield();
	unsigned n0 = walk_rets(arch_context_fp(&g->ctx), raw0, fixed0);
	gc_collect();
	unsigned planted = gc_test_stkbar_planted(g);
	unsigned n1 = walk_rets(arch_context_fp(&g->ctx), raw1, fixed1);
	EXPECT_TRUE(planted >= 3);
	EXPECT_EQ(n1, n0);
	unsigned tramp = 0, same = 0;
	for (unsigned i = 0; i < n0 && i < n1; i++) {
		tramp += raw1[i] == (uint64_t)(uintptr_t)arch_stkbar_tramp;
		same += fixed1[i] == raw0[i];
	}
	EXPECT_EQ(tramp, planted);
	EXPECT_EQ(same, n0);
	kprintf("gc_stackbar: %u barriers planted in %u frames; the parked goroutine's backtrace:\n", planted, n0);
	backtrace_print(arch_context_pc(&g->ctx), arch_context_fp(&g->ctx));
	sema_release(&d2.go);
	wg_wait(&d2.done);
	EXPECT_EQ(atomic_load(&d2.bad), 0);
	gc_test_settings_restore(old);
}

/* ---- longjmp across barriers ---------------------------------------------------------------------------- */

static struct dive d3;

static void d3_bottom(struct dive *d)
{
	if (d->jumped)
		return;		/* the second descent: go back up */
	sema_release(&d->parked);
	sema_acquire(&d->go);	/* woken during the mark: longjmp from here */
}

static void d3_hook(void)
{
	gc_test_mark_done_hook = NULL;
	sema_release(&d3.go);		/* longjmp, descend again, park at park_at */
	sema_acquire(&d3.parked);
}

TEST_G(gc_stackbar, longjmp_across_barriers)
{
	if (sb_unsupported())
		return;
	struct gc_test_settings old = sb_on();
	dive_start(&d3, 33, 300);
	d3.jump_at = 250;
	d3.park_at = 280;
	d3.at_bottom = d3_bottom;
	go_stack(dive_entry, &d3, DIVE_STACK);
	sema_acquire(&d3.parked);
	gc_test_mark_done_hook = d3_hook;
	gc_collect();
	EXPECT_TRUE(gc_test_mark_done_hook == NULL);
	EXPECT_TRUE(d3.jumped);
	gc_collect();
	gc_collect();
	sema_release(&d3.go);
	wg_wait(&d3.done);
	dive_check(&d3);
	gc_test_settings_restore(old);
}

/* ---- returns under preemption, on every CPU ------------------------------------------------------------- */

#define PDIVERS_PER_CPU 2
#define PDIVES 60

static _Atomic bool pcollect_stop;
static _Atomic unsigned pcycles, pbad, pdone, pfinished;
static struct wait_group pwg = WAIT_GROUP_INIT;

static void pcollector(void *arg)
{
	(void)arg;
	while (!atomic_load(&pcollect_stop)) {
		gc_collect();
		atomic_fetch_add(&pcycles, 1);
		go_sleep(200000);
	}
	wg_done(&pwg);
}

/* at the bottom, let the collector's scans find us deep */
static void pdiver_bottom(struct dive *d)
{
	(void)d;
	for (int k = 0; k < 3; k++)
		go_yield();
}

static _Atomic unsigned pstarted;
static uint64_t phits0;

static void pdiver(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	/* PDIVES, and more (for up to 20 s) until a return through a barrier was seen
	 * with more than one CPU (on one, the collector's goroutine mostly finishes its
	 * cycle before a diver runs again, and then the barriers are gone; on a loaded
	 * machine few cycles overlap the first dives) */
	uint64_t t0 = go_now();
	for (unsigned i = 0; i < PDIVES || (cpu_count() > 1 && gc_test_stkbar_hits() == phits0 &&
					      go_now() - t0 < 20000000000ull); i++) {
		atomic_fetch_add(&pstarted, 1);
		struct dive d;
		dive_start(&d, id * 1000 + i, 100 + (unsigned)((id * 37 + i * 101) % 300));
		d.at_bottom = pdiver_bottom;
		struct sbret r = sb_descend(&d, 0);
		struct sbret w = want(&d);
		if (atomic_load(&d.bad) || r.sum != w.sum || r.f != w.f)
			atomic_fetch_add(&pbad, 1);
		atomic_fetch_add(&pdone, 1);
	}
	atomic_fetch_add(&pfinished, 1);
	wg_done(&pwg);
}

TEST_G(gc_stackbar, returns_under_preemption)
{
	if (sb_unsupported())
		return;
	struct gc_test_settings old = sb_on();
	uint64_t hits0 = gc_test_stkbar_hits(), inflight0 = gc_test_stkbar_inflight();
	phits0 = hits0;
	atomic_store(&pstarted, 0);
	uint64_t broken0 = gc_test_stkbar_broken(), planted0 = gc_test_stkbar_planted_total();
	unsigned n = cpu_count() * PDIVERS_PER_CPU;
	atomic_store(&pcollect_stop, false);
	atomic_store(&pcycles, 0);
	atomic_store(&pbad, 0);
	atomic_store(&pdone, 0);
	atomic_store(&pfinished, 0);
	wg_add(&pwg, 1);
	go(pcollector, NULL);
	wg_add(&pwg, (int)n);
	for (uintptr_t i = 0; i < n; i++)
		go_stack(pdiver, (void *)i, DIVE_STACK);
	struct wait_group *wg = &pwg;
	while (atomic_load(&pdone) < n * PDIVES || atomic_load(&pdone) != atomic_load(&pstarted) ||
	       atomic_load(&pfinished) < n)
		go_sleep(1000000);
	atomic_store(&pcollect_stop, true);
	wg_wait(wg);
	uint64_t hits = gc_test_stkbar_hits() - hits0;
	kprintf("gc_stackbar: %u dives on %u cpus, %u collections, %llu barriers planted, %llu returns "
		"through them, %llu installs deferred (a return under way), %llu chains not whole, %u wrong\n",
		atomic_load(&pdone), cpu_count(), atomic_load(&pcycles),
		(unsigned long long)(gc_test_stkbar_planted_total() - planted0), (unsigned long long)hits,
		(unsigned long long)(gc_test_stkbar_inflight() - inflight0),
		(unsigned long long)(gc_test_stkbar_broken() - broken0), atomic_load(&pbad));
	EXPECT_EQ(atomic_load(&pbad), 0);
	EXPECT_EQ(atomic_load(&pdone), atomic_load(&pstarted));
	EXPECT_TRUE(atomic_load(&pdone) >= n * PDIVES);
	EXPECT_TRUE(atomic_load(&pcycles) >= 1);
	if (cpu_count() > 1)
		EXPECT_TRUE(hits >= 1);
	gc_test_settings_restore(old);
}
