/*
 * tests/boot/hybrid_test.c: the concurrent mode's two write barriers (rt/gc/barrier.c),
 * suite gc_hybrid. Each test runs under both, switched with gc_test_barrier between
 * cycles whatever the gc_barrier option says (the hybrid barrier turns stack barriers
 * on); checkmark is on in every matrix line that runs them. The ThreadSanitizer build
 * has no stack barriers, hence no hybrid barrier: there the tests say so and stop
 * (barriers() says why).
 *
 *   cut_pointer_held_by_a_scanned_stack
 *                      just after marking begins, a parked goroutine's stack is
 *                      scanned; it then loads a node from a heap object the markers
 *                      have not reached (they are held: gc_test_hold_marking), cuts the heap's
 *                      pointer with gc_store and parks with the node only in its frame.
 *                      The hybrid barrier shades the node at the cut; the insertion
 *                      barrier does not, and rescans the stack. The node survives.
 *   store_into_a_parked_goroutines_stack
 *                      a goroutine parks holding a pointer to its local; just after
 *                      marking begins its stack is scanned, then another goroutine takes
 *                      a white node out of the heap and stores it into that local with
 *                      gc_store (rt/gc.h: a store into another goroutine's stack takes
 *                      the barrier), and the parked one does not run again before the
 *                      cycle ends: the node survives two cycles, intact
 *   spawned_during_mark_survives
 *                      a goroutine spawned while marking, its argument the only
 *                      pointer to a node that is still white: kept
 *   out_parameter_store_needs_no_page_rescan
 *                      a goroutine 300 frames deep takes a white node out of the heap
 *                      while marking, stores it into its outermost frame through a
 *                      pointer (no barrier: a stack), then unwinds 20 frames through
 *                      the stack barriers and parks: the node survives, and the end of
 *                      marking reads less than the whole stack under the hybrid barrier
 *                      on every platform (no written page above the barriers needs
 *                      reading), all of it on the hosted platform under the insertion
 *                      barrier (stack pages are not tracked there)
 *   mutators_on_every_cpu
 *                      goroutines on every CPU shuffle nodes through heap slots and
 *                      their own frames while cycles run: every node found once,
 *                      intact
 *
 * And the deliberate missing deletion barrier (tests=gc_missing_deletion, explicit,
 * not in the ThreadSanitizer build): the out-parameter test's cut made with a plain
 * NULL store, which the insertion barrier allows and the hybrid one does not:
 * checkmark must panic and name the goroutine's stack as the place the node was
 * found. And tests=gc_missing_cross_stack: the store into the parked goroutine's stack
 * made plainly, under the insertion barrier: checkmark must panic naming that
 * goroutine's stack.
 */
#include <stdint.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/test.h>
#include <rt/gc.h>
#include <rt/chan.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>

struct hnode {
	struct hnode *next;
	uint64_t tag;
};

GC_TYPE(hnode_type, struct hnode, next);

#define CHAIN 100		/* nodes before the holder: some marking work behind it */

static struct {
	struct hnode *chain;		/* CHAIN nodes, then the holder */
	struct hnode *holder;		/* the chain's last node (a root too, from here: white
					 * all the same until the hook ends gc_test_hold_marking) */
	struct chan *go_ch, *done_ch;
	struct g *victim;
	/* what the victim saw at the cut */
	bool white_before, marked_after;
	uint64_t tag;
} hy;

static uint64_t tagof(uint64_t n)
{
	uint64_t x = n * 0x9e3779b97f4a7c15ull + 77;
	x ^= x >> 31;
	return x * 0xbf58476d1ce4e5b9ull;
}

/* A fresh chain of CHAIN nodes from hy.chain, whose last node (hy.holder) holds the
 * node with tag `tag` in its next field. */
static void build_chain(uint64_t tag)
{
	struct hnode *x = gc_new(&hnode_type);
	x->tag = tag;
	struct hnode *holder = gc_new(&hnode_type);
	gc_store(&holder->next, x);
	struct hnode *head = holder;
	for (unsigned i = 0; i < CHAIN; i++) {
		struct hnode *n = gc_new(&hnode_type);
		gc_store(&n->next, head);
		head = n;
	}
	gc_store(&hy.chain, head);
	hy.holder = holder;
}

/* Fill the heap with other nodes, so that a node freed by mistake is overwritten. */
static void churn(void)
{
	for (unsigned i = 0; i < 20000; i++) {
		struct hnode *n = gc_new(&hnode_type);
		n->tag = ~0ull;
	}
}

/* Wake the goroutine waiting on go_ch and wait until it answers on done_ch. */
static void handshake(struct chan *go_ch, struct chan *done_ch)
{
	int t = 0;
	chan_send(go_ch, &t);
	chan_recv(done_ch, &t);
}

/* ---- the cut ---------------------------------------------------------------------------- */

static void victim(void *arg)
{
	(void)arg;
	int t = 0;
	__atomic_store_n(&hy.victim, sched_curg(), __ATOMIC_RELEASE);
	chan_recv(hy.go_ch, &t);			/* parked: the hook scans this stack */
	struct hnode *x = hy.holder->next;		/* from an object not scanned yet
							 * (gc_test_hold_marking) */
	hy.white_before = !gc_test_marked(x);
	gc_store(&hy.holder->next, NULL);
	hy.marked_after = gc_test_marked(x);
	chan_send(hy.done_ch, &t);
	chan_recv(hy.go_ch, &t);			/* parked, x only in this frame */
	hy.tag = x->tag;
	gc_keep_alive(x);
	chan_send(hy.done_ch, &t);
}

/* The goroutine *gp names once it has published itself there and parked. */
static struct g *await_parked(struct g **gp)
{
	struct g *g;
	while (!(g = __atomic_load_n(gp, __ATOMIC_ACQUIRE)) || atomic_load(&g->status) != G_WAITING)
		go_yield();
	return g;
}

/* The victim, parked in its first receive. */
static void start_victim(void)
{
	__atomic_store_n(&hy.victim, NULL, __ATOMIC_RELAXED);
	go(victim, NULL);
	await_parked(&hy.victim);
}

/* Just after marking began, in the collector's goroutine. */
static void cut_hook(void)
{
	gc_test_mark_start_hook = NULL;
	gc_test_scan_stack(hy.victim);
	handshake(hy.go_ch, hy.done_ch);
	atomic_store(&gc_test_hold_marking, false);
}

/* One round: returns whether the node was still white when it was cut (the case the
 * barrier is for). */
static bool cut_round(bool hybrid, unsigned round)
{
	uint64_t tag = tagof(round + (hybrid ? 1000 : 0));
	build_chain(tag);
	hy.go_ch = chan_make(sizeof(int), 1);
	hy.done_ch = chan_make(sizeof(int), 0);
	start_victim();
	struct gc_stats st0, st1;
	gc_stats(&st0);
	atomic_store(&gc_test_hold_marking, true);	/* nothing marked until the cut */
	gc_test_mark_start_hook = cut_hook;
	gc_collect();
	gc_stats(&st1);
	struct gc_cycle_info ci;
	EXPECT_TRUE(gc_test_cycle_info(gc_test_cycle(), &ci));
	EXPECT_EQ(ci.hybrid, hybrid);
	if (hy.white_before) {
		/* the hybrid barrier shades what it cuts; the insertion barrier does not
		 * (another CPU's marker may have got there meanwhile, though), and rescans
		 * the stack that ran instead (the hybrid one reads only the frames rebuilt
		 * since the scan: the node's is not among them) */
		if (hybrid)
			EXPECT_TRUE(hy.marked_after);
		else
			EXPECT_TRUE(st1.stack_rescans > st0.stack_rescans);
	}
	gc_collect();
	churn();
	gc_collect();
	handshake(hy.go_ch, hy.done_ch);
	EXPECT_EQ(hy.tag, tag);
	return hy.white_before;
}

/* The barrier under test for the cycles that follow (stack barriers off for the
 * insertion barrier: its plain form; the hybrid barrier turns them on itself). */
static struct gc_test_settings select_barrier(bool hybrid)
{
	return gc_test_settings_set(false, hybrid);
}

/* How many barriers to test: both, or none in the build that has no stack barriers
 * (said once per test): the insertion barrier alone is what the other suites test
 * there, and these tests' allocation loops make no intercepted call, so under load
 * ThreadSanitizer held the other CPUs' interrupts back from them for seconds (a stack
 * scan's IPI unanswered for 10 s, a stop that never completed). */
static int barriers(const char *test)
{
	if (gc_test_stackbar_supported())
		return 2;
	kprintf("gc_hybrid: %s: the hybrid barrier needs stack barriers, not in the "
		"ThreadSanitizer build: nothing to compare\n", test);
	return 0;
}

#define CUT_ROUNDS 6

TEST_G(gc_hybrid, cut_pointer_held_by_a_scanned_stack)
{
	for (int hybrid = 0, n = barriers("cut"); hybrid < n; hybrid++) {
		struct gc_test_settings s = select_barrier(hybrid);
		unsigned armed = 0;
		for (unsigned r = 0; r < CUT_ROUNDS; r++)
			armed += cut_round(hybrid, r);
		gc_test_settings_restore(s);
		kprintf("gc_hybrid: %s barrier: the node was white at the cut in %u of %u rounds\n",
			hybrid ? "hybrid" : "insertion", armed, CUT_ROUNDS);
		/* no marker ran before the cut (gc_test_hold_marking); only a stale word
		 * in the victim's reused stack, scanned conservatively, can have marked
		 * the node early (an earlier round's node at the same address) */
		EXPECT_TRUE(armed >= 1);
	}
	gc_store(&hy.chain, NULL);
}

/* ---- a store into a parked goroutine's stack -------------------------------------------------- */

static void op_scrub(void);

static struct {
	struct hnode **box;		/* the parked goroutine's local */
	struct chan *go_ch, *done_ch, *work_ch, *ack_ch;
	struct g *parked;
	bool plain, white_before;
	uint64_t tag;
} xs;

static void xs_parked(void *arg)
{
	(void)arg;
	int t = 0;
	struct hnode *local = NULL;
	xs.box = &local;
	__atomic_store_n(&xs.parked, sched_curg(), __ATOMIC_RELEASE);
	chan_recv(xs.go_ch, &t);		/* parked through the cycle: scanned, never run again */
	xs.tag = local ? local->tag : 0;
	gc_keep_alive(local);
	xs.box = NULL;
	chan_send(xs.done_ch, &t);
}

/* Hand the white node into xs_parked's frame and cut the heap's pointer to it; no copy
 * of it left in this frame or below (the worker runs again until it exits, and a rescan
 * of its stack would find it). */
__attribute__((noinline)) static void xs_hand_over(void)
{
	struct hnode *x = hy.holder->next;	/* white: gc_test_hold_marking */
	xs.white_before = !gc_test_marked(x);
	if (xs.plain)
		*xs.box = x;			/* (gc_missing_cross_stack) */
	else
		gc_store(xs.box, x);		/* another goroutine's stack: the barrier */
	gc_store(&hy.holder->next, NULL);	/* the parked frame is its only place now */
}

static void xs_worker(void *arg)
{
	(void)arg;
	int t = 0;
	chan_recv(xs.work_ch, &t);
	xs_hand_over();
	op_scrub();
	chan_send(xs.ack_ch, &t);
}

/* Just after marking began, in the collector's goroutine: the parked goroutine's stack
 * is scanned first, then written. */
static void xs_hook(void)
{
	gc_test_mark_start_hook = NULL;
	gc_test_scan_stack(xs.parked);
	handshake(xs.work_ch, xs.ack_ch);
	atomic_store(&gc_test_hold_marking, false);
}

/* One round: whether the node was still white when it was handed over. */
static bool xs_round(bool hybrid, bool plain, unsigned round)
{
	uint64_t tag = tagof(round + (hybrid ? 9100 : 9000));
	build_chain(tag);
	xs.plain = plain;
	xs.go_ch = chan_make(sizeof(int), 1);
	xs.done_ch = chan_make(sizeof(int), 0);
	xs.work_ch = chan_make(sizeof(int), 1);
	xs.ack_ch = chan_make(sizeof(int), 0);
	__atomic_store_n(&xs.parked, NULL, __ATOMIC_RELAXED);
	go(xs_parked, NULL);
	go(xs_worker, NULL);
	struct g *g = await_parked(&xs.parked);
	if (plain)
		kprintf("gc_missing_cross_stack: the node will be in the frame of goroutine %llu\n",
			(unsigned long long)g->id);
	atomic_store(&gc_test_hold_marking, true);
	gc_test_mark_start_hook = xs_hook;
	gc_collect();			/* checkmark: a node the barrier missed is a panic here */
	churn();
	gc_collect();
	handshake(xs.go_ch, xs.done_ch);
	EXPECT_EQ(xs.tag, tag);
	return xs.white_before;
}

TEST_G(gc_hybrid, store_into_a_parked_goroutines_stack)
{
	for (int hybrid = 0, n = barriers("cross-stack"); hybrid < n; hybrid++) {
		struct gc_test_settings s = select_barrier(hybrid);
		unsigned armed = 0;
		for (unsigned r = 0; r < CUT_ROUNDS; r++)
			armed += xs_round(hybrid, false, r);
		gc_test_settings_restore(s);
		kprintf("gc_hybrid: %s barrier: the node was white at the store in %u of %u rounds\n",
			hybrid ? "hybrid" : "insertion", armed, CUT_ROUNDS);
		EXPECT_TRUE(armed >= 1);	/* (as in the cut test) */
	}
	gc_store(&hy.chain, NULL);
}

/* ---- spawned during marking --------------------------------------------------------------- */

static struct {
	struct chan *go_ch, *done_ch;
	bool white_before;
	uint64_t tag;
} sp;

static void spawnee(void *arg)
{
	struct hnode *x = arg;
	int t = 0;
	chan_recv(sp.go_ch, &t);
	sp.tag = x->tag;
	gc_keep_alive(x);
	chan_send(sp.done_ch, &t);
}

static void spawn_hook(void)
{
	gc_test_mark_start_hook = NULL;
	struct hnode *x = hy.holder->next;	/* not marked yet (gc_test_hold_marking) */
	sp.white_before = !gc_test_marked(x);
	go(spawnee, x);
	gc_store(&hy.holder->next, NULL);	/* the argument is its only pointer now */
	atomic_store(&gc_test_hold_marking, false);
}

TEST_G(gc_hybrid, spawned_during_mark_survives)
{
	for (int hybrid = 0, n = barriers("spawn"); hybrid < n; hybrid++) {
		struct gc_test_settings s = select_barrier(hybrid);
		unsigned armed = 0;
		for (unsigned r = 0; r < CUT_ROUNDS; r++) {
			uint64_t tag = tagof(r + 5000);
			build_chain(tag);
			sp.go_ch = chan_make(sizeof(int), 1);
			sp.done_ch = chan_make(sizeof(int), 0);
			atomic_store(&gc_test_hold_marking, true);
			gc_test_mark_start_hook = spawn_hook;
			gc_collect();
			armed += sp.white_before;
			churn();
			gc_collect();
			handshake(sp.go_ch, sp.done_ch);
			EXPECT_EQ(sp.tag, tag);
		}
		gc_test_settings_restore(s);
		kprintf("gc_hybrid: %s barrier: the argument was white at the spawn in %u of %u rounds\n",
			hybrid ? "hybrid" : "insertion", armed, CUT_ROUNDS);
		EXPECT_TRUE(armed >= 1);	/* (as in the cut test) */
	}
	gc_store(&hy.chain, NULL);
}

/* ---- an out-parameter store above the stack barriers ------------------------------------------- */

#define OP_DEPTH 300
#define OP_UNWIND 20

static struct {
	struct hnode **box;		/* the outermost frame's local */
	struct sema parked, go;
	struct wait_group done;
	_Atomic unsigned bad;
	bool white_before, plain_cut;
	uint64_t tag;
} op;

/* Take the white node out of the heap and store it into the outermost frame. */
__attribute__((noinline)) static void op_take(void)
{
	struct hnode *x = hy.holder->next;	/* white: gc_test_hold_marking */
	op.white_before = !gc_test_marked(x);
	if (op.plain_cut)
		hy.holder->next = NULL;		/* (gc_missing_deletion) */
	else
		gc_store(&hy.holder->next, NULL);
	*op.box = x;				/* into the outermost frame: no barrier */
}

/* Overwrite the frames op_take left below: the node must be in the outermost frame
 * only, above the stack barriers (which the pause does not read under the hybrid
 * barrier). */
__attribute__((noinline)) static void op_scrub(void)
{
	uint64_t buf[512];
	for (unsigned i = 0; i < 512; i++)
		((volatile uint64_t *)buf)[i] = 0;
	__asm__ volatile("" : : "r"(buf) : "memory");
}

__attribute__((noinline)) static unsigned op_descend(unsigned n)
{
	volatile uint64_t pad[8];
	pad[0] = n;
	if (n == OP_DEPTH) {
		sema_release(&op.parked);	/* parked at the bottom: scanned, barriers planted */
		sema_acquire(&op.go);
		op_take();
		op_scrub();			/* no copy of the node left down here */
		sema_release(&op.parked);	/* until the marking is done, then unwind */
		sema_acquire(&op.go);
	} else {
		op_descend(n + 1);
	}
	if (pad[0] != n)
		atomic_fetch_add(&op.bad, 1);
	if (n == OP_DEPTH - OP_UNWIND) {	/* back through the barriers: park again */
		sema_release(&op.parked);
		sema_acquire(&op.go);
	}
	return n;
}

static void op_goroutine(void *arg)
{
	(void)arg;
	struct hnode *box = NULL;
	op.box = &box;
	op_descend(0);
	if (!box || box->tag != op.tag)
		atomic_fetch_add(&op.bad, 1);
	op.box = NULL;
	gc_keep_alive(box);
	wg_done(&op.done);
}

static struct g *op_g;

static void op_start_hook(void)
{
	gc_test_mark_start_hook = NULL;
	gc_test_scan_stack(op_g);	/* plants the barriers (both barriers here) */
	sema_release(&op.go);		/* take the node, store it above, park */
	sema_acquire(&op.parked);
	atomic_store(&gc_test_hold_marking, false);
}

/* so that the pause rescans what the unwinding rebuilt (the concurrent rescans are
 * over): its statistics are the pause's */
static void op_done_hook(void)
{
	gc_test_mark_done_hook = NULL;
	sema_release(&op.go);		/* unwind 20 frames through the barriers, park */
	sema_acquire(&op.parked);
}

static void op_start(void *arg)
{
	op_g = sched_curg();
	op_goroutine(arg);
}

/* One round under the barrier just selected; plain: cut without the barrier. */
static void op_round(bool hybrid, bool plain)
{
	gc_test_stackbar(true);		/* the insertion barrier too: the bound to compare */
	op.tag = tagof(hybrid + 7000);
	op.plain_cut = plain;
	build_chain(op.tag);
	op.parked = (struct sema)SEMA_INIT(0);
	op.go = (struct sema)SEMA_INIT(0);
	op.done = (struct wait_group)WAIT_GROUP_INIT;
	atomic_store(&op.bad, 0);
	wg_add(&op.done, 1);
	go_stack(op_start, NULL, STACK_DEFAULT_SIZE);	/* OP_DEPTH frames and op_scrub: deeper than go()'s */
	sema_acquire(&op.parked);	/* at the bottom */
	if (plain)
		kprintf("gc_missing_deletion: the node will be in the outermost frame of goroutine %llu\n",
			(unsigned long long)op_g->id);
	atomic_store(&gc_test_hold_marking, true);
	gc_test_mark_start_hook = op_start_hook;
	gc_test_mark_done_hook = op_done_hook;
	gc_collect();			/* (gc_missing_deletion: checkmark panics here) */
	struct gc_cycle_info ci;
	EXPECT_TRUE(gc_test_cycle_info(gc_test_cycle(), &ci));
	EXPECT_TRUE(ci.stackbar);
	EXPECT_EQ(ci.hybrid, hybrid);
	EXPECT_TRUE(ci.stack_rescan_total > 0);
	kprintf("gc_hybrid: %s barrier: the node was %s when taken; the pause rescanned %llu "
		"of %llu stack bytes\n", hybrid ? "hybrid" : "insertion",
		op.white_before ? "white" : "marked already",
		(unsigned long long)ci.stack_rescan_bytes, (unsigned long long)ci.stack_rescan_total);
	if (hybrid)
		EXPECT_TRUE(ci.stack_rescan_bytes < ci.stack_rescan_total);
#if defined(GORT_HOSTED)
	else	/* no stack page tracked: every page above the barriers is read */
		EXPECT_EQ(ci.stack_rescan_bytes, ci.stack_rescan_total);
#endif
	churn();
	gc_collect();			/* (checkmark on: a lost node panics) */
	EXPECT_TRUE(*op.box != NULL);
	EXPECT_EQ((*op.box)->tag, op.tag);
	sema_release(&op.go);		/* unwind the rest */
	wg_wait(&op.done);
	EXPECT_EQ(atomic_load(&op.bad), 0);
	gc_store(&hy.chain, NULL);
}

TEST_G(gc_hybrid, out_parameter_store_needs_no_page_rescan)
{
	for (int hybrid = 0, n = barriers("out-parameter"); hybrid < n; hybrid++) {
		struct gc_test_settings s = select_barrier(hybrid);
		op_round(hybrid, false);
		gc_test_settings_restore(s);
	}
}

/* ---- mutators ------------------------------------------------------------------------- */

#define NSLOTS 64
#define NPER 48

static struct {
	struct hnode **slots[32];	/* global roots: each mutator's array of slots */
	unsigned n;
	_Atomic bool stop;
	struct wait_group done;
} nr = { .done = WAIT_GROUP_INIT };

static void nr_mutator(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	struct hnode **s = nr.slots[me];
	uint64_t r = tagof(me + 31);
	while (!atomic_load(&nr.stop)) {
		r = tagof(r);
		unsigned a = r % NSLOTS, b = (r >> 20) % NSLOTS;
		struct hnode *x = s[a], *y = s[b];
		gc_store(&s[a], NULL);		/* out of the heap ... */
		gc_store(&s[b], NULL);
		if (r & (1ull << 40))
			go_yield();		/* ... only in this frame across a switch ... */
		for (volatile unsigned k = 0; k < 50; k++)
			;
		gc_store(&s[a], y);		/* ... and back, swapped */
		gc_store(&s[b], x);
		if (r & (1ull << 41))
			(void)gc_alloc(24 + (r >> 50) % 200);	/* garbage: assists */
	}
	wg_done(&nr.done);
}

static void nr_run(bool hybrid)
{
	unsigned n = 2 * cpu_count();
	if (n > 32)
		n = 32;
	nr.n = n;
	atomic_store(&nr.stop, false);
	for (unsigned i = 0; i < n; i++) {
		struct hnode **s = gc_new_array(&gc_type_ptr, NSLOTS);
		for (unsigned k = 0; k < NPER; k++) {
			struct hnode *x = gc_new(&hnode_type);
			x->tag = tagof(i * NSLOTS + k);
			gc_store(&s[k], x);
		}
		gc_store(&nr.slots[i], s);
	}
	struct gc_stats st0;
	gc_stats(&st0);
	wg_add(&nr.done, n);
	for (unsigned i = 0; i < n; i++)
		go(nr_mutator, (void *)(uintptr_t)i);
	unsigned cycles = 0, rescanning = 0;
	uint64_t rescans = 0;
	for (; cycles < 30; cycles++) {
		gc_collect();
		struct gc_cycle_info ci;
		EXPECT_TRUE(gc_test_cycle_info(gc_test_cycle(), &ci));
		EXPECT_EQ(ci.hybrid, hybrid);
		rescans += ci.rescanned_stacks;
		rescanning += ci.rescanned_stacks > 0;
		go_sleep(300000);
	}
	atomic_store(&nr.stop, true);
	wg_wait(&nr.done);
	struct gc_stats st1;
	gc_stats(&st1);
	/* every node once, intact */
	uint64_t found = 0, bad = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t seen = 0;
		for (unsigned k = 0; k < NSLOTS; k++) {
			struct hnode *x = nr.slots[i][k];
			if (!x)
				continue;
			found++;
			bool ok = false;
			for (unsigned j = 0; j < NPER; j++)
				if (x->tag == tagof(i * NSLOTS + j) && !(seen & (1ull << j))) {
					seen |= 1ull << j;
					ok = true;
					break;
				}
			bad += !ok;
		}
	}
	kprintf("gc_hybrid: %s barrier: %u mutators, %u cycles, %u of them rescanned %llu stacks "
		"in the pause, %llu rescans in all\n", hybrid ? "hybrid" : "insertion", n, cycles, rescanning,
		(unsigned long long)rescans, (unsigned long long)(st1.stack_rescans - st0.stack_rescans));
	EXPECT_EQ(found, (uint64_t)n * NPER);
	EXPECT_EQ(bad, 0);
	EXPECT_TRUE(cycles > 0);
	for (unsigned i = 0; i < n; i++)
		gc_store(&nr.slots[i], NULL);
}

TEST_G(gc_hybrid, mutators_on_every_cpu)
{
	for (int hybrid = 0, n = barriers("mutators"); hybrid < n; hybrid++) {
		struct gc_test_settings s = select_barrier(hybrid);
		nr_run(hybrid);
		gc_test_settings_restore(s);
	}
}

/* ---- the missing deletion barrier ----------------------------------------------------------- */

TEST_G_EXPLICIT(gc_missing_deletion, plain_cut_is_caught)
{
	if (!gc_test_stackbar_supported())
		panic("gc_missing_deletion: the hybrid barrier is not in the ThreadSanitizer build");
	struct gc_test_settings s = select_barrier(true);
	for (unsigned r = 0; r < CUT_ROUNDS; r++)
		op_round(true, true);	/* checkmark panics in it when the node was white */
	gc_test_settings_restore(s);
	EXPECT_TRUE(!"checkmark did not catch the missing deletion barrier");
}

/* ---- the missing barrier on a store into another goroutine's stack ------------------------------- */

TEST_G_EXPLICIT(gc_missing_cross_stack, plain_store_is_caught)
{
	struct gc_test_settings s = select_barrier(false);	/* (the hybrid one shades at the cut) */
	for (unsigned r = 0; r < CUT_ROUNDS; r++)
		xs_round(false, true, r);	/* checkmark panics in it when the node was white */
	gc_test_settings_restore(s);
	EXPECT_TRUE(!"checkmark did not catch the plain store into a parked goroutine's stack");
}
