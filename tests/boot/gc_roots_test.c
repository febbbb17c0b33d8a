/*
 * tests/boot/gc_roots_test.c: objects reachable only from one kind of root survive
 * (tests=gc_roots): a stack deep in a recursion, the argument of a goroutine not yet
 * started, a parked goroutine's stack, a channel's buffer (typed and untyped), a
 * blocked sender's element, a registered root, a global, a timer's argument; and
 * (tests=gc_ipi, only when named: ThreadSanitizer cannot interrupt a loop without
 * calls, so the TSan build cannot run it) a register of a goroutine spinning without
 * calls on another CPU when its stack is scanned: the IPI path, counted.
 *
 * Each kept object is a `struct cell` whose words all carry a value derived from a
 * key: a cell that was freed and reused, or clobbered, fails the check. Collections
 * are forced with gc_collect() while other garbage is allocated, so that freed memory
 * is reused at once. The matrix runs these with gccheckmark=1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/preempt.h>
#include <kernel/test.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>

#define CELL_WORDS 6

struct cell {
	uint64_t w[CELL_WORDS];
};

GC_TYPE_NOPTR(cell_type, struct cell);

static uint64_t key_word(uint64_t key, unsigned i)
{
	return (key * 0x9e3779b97f4a7c15ull) ^ (i * 0xbf58476d1ce4e5b9ull) ^ 0x94d049bb133111ebull;
}

static struct cell *cell_new(uint64_t key)
{
	struct cell *c = gc_new(&cell_type);
	for (unsigned i = 0; i < CELL_WORDS; i++)
		c->w[i] = key_word(key, i);
	return c;
}

static bool cell_ok(const struct cell *c, uint64_t key)
{
	for (unsigned i = 0; i < CELL_WORDS; i++)
		if (c->w[i] != key_word(key, i))
			return false;
	return true;
}

/* Garbage of the cell's size class (so freed cells are reused at once), and more. */
static void churn(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct cell *c = gc_new(&cell_type);
		memset(c, 0x5a, sizeof(*c));
		if (i % 16 == 0)
			memset(gc_alloc(200 + i % 900), 0x6b, 200);
	}
}

static void collect_with_churn(int rounds)
{
	for (int r = 0; r < rounds; r++) {
		churn(20000);
		gc_collect();
	}
}

/* A pointer the compiler cannot see: stored disguised, so a test's own locals do not
 * keep the object alive by accident. */
#define HIDE(p) ((uintptr_t)(p) ^ 0xa5a5a5a5a5a5a5a5ull)
#define SHOW(h) ((void *)((h) ^ 0xa5a5a5a5a5a5a5a5ull))

/* ---- a stack deep in a recursion ---------------------------------------------------------- */

#define DEPTH 1000

static __attribute__((noinline)) unsigned recurse(unsigned depth)
{
	struct cell *mine = cell_new(1000000 + depth);	/* only this frame points to it */
	unsigned bad = 0;
	if (depth == DEPTH)
		collect_with_churn(3);
	else
		bad += recurse(depth + 1);
	if (!cell_ok(mine, 1000000 + depth))
		bad++;
	gc_keep_alive(mine);
	return bad;
}

TEST_G(gc_roots, deep_recursion)
{
	go_yield();
	EXPECT_EQ(recurse(1), 0);
}

/* ---- the argument of a goroutine not started yet -------------------------------------------- */

#define UNSTARTED 1000

struct keyed {
	struct cell cell;
	uint64_t key;
};

GC_TYPE_NOPTR(keyed_type, struct keyed);

static struct {
	struct wait_group wg;
	_Atomic unsigned bad, scanned_unstarted;
	uint32_t cycle;				/* the cycle the goroutines were spawned in */
	struct keyed *table[UNSTARTED];		/* handed to the hook, which clears it */
} us = { .wg = WAIT_GROUP_INIT };

static void unstarted_check(void *arg)
{
	/* scanned (in the spawn's cycle or later) before its first instruction: its
	 * argument was found in its saved context, the goroutine not started (a spawn
	 * clears the scan cycle) */
	if (atomic_load(&sched_curg()->gc_scancycle) >= us.cycle)
		atomic_fetch_add(&us.scanned_unstarted, 1);
	struct keyed *k = arg;
	if (!cell_ok(&k->cell, k->key))
		atomic_fetch_add(&us.bad, 1);
	wg_done(&us.wg);
}

static void fill_table(uint64_t base)
{
	for (unsigned i = 0; i < UNSTARTED; i++) {
		struct keyed *k = gc_new(&keyed_type);
		k->key = base + i;
		for (unsigned w = 0; w < CELL_WORDS; w++)
			k->cell.w[w] = key_word(k->key, w);
		gc_store(&us.table[i], k);
	}
}

/* Spawn them from the collector's goroutine when marking has found no work left: they
 * are queued (spawned during marking: scanned again at the end) while the world is
 * about to stop, their arguments in the table no more. */
static void spawn_from_hook(void)
{
	us.cycle = atomic_load(&gc_test_cycles_started) ? gc_test_cycle() : 0;
	for (unsigned i = 0; i < UNSTARTED; i++) {
		struct keyed *k = us.table[i];
		us.table[i] = NULL;
		go(unstarted_check, k);
	}
	gc_test_mark_done_hook = NULL;
}

TEST_G(gc_roots, argument_of_unstarted_goroutines)
{
	/* 1. queued before a cycle begins: the stack jobs claim them from their saved
	 *    contexts (on one CPU nothing else can run them first) */
	atomic_store(&us.bad, 0);
	atomic_store(&us.scanned_unstarted, 0);
	fill_table(5000000);
	wg_add(&us.wg, UNSTARTED);
	us.cycle = gc_test_cycle() ? gc_test_cycle() : 1;	/* (a cycle running now counts) */
	for (unsigned i = 0; i < UNSTARTED; i++) {
		struct keyed *k = us.table[i];
		us.table[i] = NULL;
		go(unstarted_check, k);
	}
	gc_collect();
	collect_with_churn(1);
	wg_wait(&us.wg);
	EXPECT_EQ(atomic_load(&us.bad), 0);
	unsigned before = atomic_load(&us.scanned_unstarted);
	/* not asserted: the collector's goroutine yields to them every millisecond, and
	 * idle CPUs take them at once */
	kprintf("gc_roots: %u of %u goroutines queued before a cycle were scanned before they ran\n",
		before, UNSTARTED);

	/* 2. spawned during marking, just before the world stops: scanned by the end of
	 *    marking, unstarted, on any number of CPUs. No preemption meanwhile, so that
	 *    on one CPU nothing runs them before the pause. */
	atomic_store(&us.scanned_unstarted, 0);
	fill_table(6000000);
	wg_add(&us.wg, UNSTARTED);
	uint64_t slice = preempt_slice_ns;
	preempt_slice_ns = 0;
	gc_test_mark_done_hook = spawn_from_hook;
	gc_collect();
	preempt_slice_ns = slice;
	collect_with_churn(1);
	wg_wait(&us.wg);
	EXPECT_EQ(atomic_load(&us.bad), 0);
	kprintf("gc_roots: %u of %u goroutines spawned at the end of marking were scanned before they ran\n",
		atomic_load(&us.scanned_unstarted), UNSTARTED);
	/* on one CPU (no preemption) nothing can run them before the pause: all of them;
	 * with more, idle CPUs may take some first */
	if (cpu_count() == 1)
		EXPECT_EQ(atomic_load(&us.scanned_unstarted), UNSTARTED);
}

/* ---- a register of a goroutine spinning on another CPU (the IPI path) ------------------------ */

static struct {
	_Atomic int started, stop;
	uintptr_t hidden;
	struct cell *keep;	/* the cell's reference until the spinner holds it */
	void *out;
	_Atomic unsigned cpu;
	/* seen by the collector's goroutine when concurrent marking found no work left */
	_Atomic bool hook_ran, marked_at_hook;
	uint64_t ipi_scans_at_hook;
} spin;

/* At the end of concurrent marking the spinner still runs: its cell can only have
 * been marked by a scan that read the spinner's registers where they were, in the
 * frame the IPI interrupted it with. */
static void spin_hook(void)
{
	struct gc_stats s;
	gc_stats(&s);
	spin.ipi_scans_at_hook = s.stack_scans_ipi;
	atomic_store(&spin.marked_at_hook, gc_test_marked(SHOW(spin.hidden)));
	atomic_store(&spin.hook_ran, true);
	gc_test_mark_done_hook = NULL;
}

/* Rebuild the pointer in a callee-saved register, spin without a call until told to
 * stop, then write it out: during the spin the only copy is in that register. */
static void spinner(void *arg)
{
	(void)arg;
	uintptr_t h = spin.hidden;
#if defined(__x86_64__)
	__asm__ volatile(
		"movq %[h], %%r12\n\t"
		"xorq %[m], %%r12\n\t"
		"movl $1, %[started]\n\t"
		"1: pause\n\t"
		"cmpl $0, %[stop]\n\t"
		"je 1b\n\t"
		"movq %%r12, %[out]\n\t"
		"xorq %%r12, %%r12\n\t"
		: [started] "=m"(spin.started), [out] "=m"(spin.out)
		: [h] "r"(h), [m] "r"(0xa5a5a5a5a5a5a5a5ull), [stop] "m"(spin.stop)
		: "r12", "memory", "cc");
#elif defined(__aarch64__)
	__asm__ volatile(
		"eor x19, %[h], %[m]\n\t"
		"mov w9, #1\n\t"
		"str w9, %[started]\n\t"
		"1: yield\n\t"
		"ldr w9, %[stop]\n\t"
		"cbz w9, 1b\n\t"
		"str x19, %[out]\n\t"
		"mov x19, xzr\n\t"
		: [started] "=m"(spin.started), [out] "=m"(spin.out)
		: [h] "r"(h), [m] "r"(0xa5a5a5a5a5a5a5a5ull), [stop] "m"(spin.stop)
		: "x19", "x9", "memory");
#else
#error "gc_roots spinner: no register-only loop for this architecture"
#endif
	irq_push();
	atomic_store(&spin.cpu, cpu_id());
	irq_pop();
}

TEST_G_EXPLICIT(gc_ipi, register_of_a_goroutine_running_elsewhere)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		struct cell *c = cell_new(7777 + attempt);
		spin.hidden = HIDE(c);
		gc_store(&spin.keep, c);	/* until the spinner has it in its register */
		c = NULL;
		atomic_store(&spin.started, 0);
		atomic_store(&spin.stop, 0);
		spin.out = NULL;
		go(spinner, NULL);
		while (!atomic_load(&spin.started))
			go_yield();
		gc_store(&spin.keep, NULL);	/* from here on only in the spinner's register */
		struct gc_stats s0, s1;
		gc_stats(&s0);
		atomic_store(&spin.hook_ran, false);
		gc_test_mark_done_hook = spin_hook;
		collect_with_churn(2);
		gc_stats(&s1);
		atomic_store(&spin.stop, 1);
		while (!spin.out)
			go_yield();
		struct cell *back = spin.out;
		EXPECT_TRUE(back == SHOW(spin.hidden));
		EXPECT_TRUE(cell_ok(back, 7777 + attempt));
		if (cpu_count() < 2) {
			/* one CPU: the spinner is preempted, its register saved on its stack */
			kprintf("gc_roots: 1 CPU, the spinner was scanned from its saved registers\n");
			return;
		}
		if (atomic_load(&spin.hook_ran) && spin.ipi_scans_at_hook > s0.stack_scans_ipi) {
			kprintf("gc_roots: %llu stack scans by IPI to a running goroutine's CPU; the cell "
				"in its register was %smarked before the pause\n",
				(unsigned long long)(s1.stack_scans_ipi - s0.stack_scans_ipi),
				atomic_load(&spin.marked_at_hook) ? "" : "NOT ");
			EXPECT_TRUE(atomic_load(&spin.marked_at_hook));
			return;
		}
	}
	EXPECT_TRUE(!"no stack was scanned through an IPI in 5 attempts");
}

/* ---- mark termination's drain: a stopped CPU out of work retires (rt/gc/gc.c, stw_drain) ------ */

struct link {
	struct link *next;
	uint64_t key;
};
GC_TYPE(link_type, struct link, next);

#define CHAIN_N 1000000
static struct link *chain_head;		/* a global: a root without registration */
static _Atomic int rs_stop;
static _Atomic unsigned rs_running;
static struct wait_group rs_wg = WAIT_GROUP_INIT;

/* A loop with no call, so that it can be preempted anywhere: on the hosted platform
 * arch_cpu_relax is a sched_yield, inside which the slice's signal finds nothing to
 * preempt, and a spinner that waits in it kept one of these from ever running (the
 * test's own goroutine yielding through the global queue, its P never stole it). */
static void retire_spinner(void *arg)
{
	(void)arg;
	atomic_fetch_add(&rs_running, 1);
	while (!atomic_load_explicit(&rs_stop, memory_order_relaxed))
		;
	wg_done(&rs_wg);
}

/*
 * The whole mark in the pause (the stop-the-world mode), a goroutine running on every
 * CPU (so that the CPUs other than the owner are stopped by IPI and take part, not
 * left asleep), and a heap that is one chain of CHAIN_N objects: whoever takes its
 * head marks it alone, one object after the other (a buffer of one object is never
 * shared), for milliseconds, far longer than a CPU out of work spins before it
 * retires. At three CPUs or more, then, some CPU other than the owner is out of
 * work while another marks the chain, and retires; at two, the chain may be the
 * other CPU's (a buffer the owner filled in its root scan and shared), and the owner,
 * out of work, never retires: the count is only printed there. (A CPU whose thread
 * the host takes away for the whole chain finds the drain over when it runs again,
 * and does not retire either: so up to ten cycles, for one retirement.) The chain,
 * marked by one CPU, survives whole.
 */
TEST_G_EXPLICIT(gc_ipi, a_stopped_cpu_out_of_work_retires_from_the_pause_drain)
{
	struct link *head = NULL;
	for (uint64_t i = 0; i < CHAIN_N; i++) {
		struct link *l = gc_new(&link_type);
		l->key = CHAIN_N - 1 - i;
		gc_store(&l->next, head);
		head = l;
	}
	gc_store(&chain_head, head);
	head = NULL;
	int old = gc_set_mode(GC_MODE_STW);
	unsigned n = cpu_count();
	atomic_store(&rs_stop, 0);
	atomic_store(&rs_running, 0);
	wg_add(&rs_wg, (int)n);
	for (unsigned i = 0; i < n; i++)
		go(retire_spinner, NULL);
	while (atomic_load(&rs_running) < n)
		go_yield();
	uint64_t r0 = atomic_load(&gc_test_term_retired);
	int cycles;
	for (cycles = 1;; cycles++) {
		gc_collect();
		if (cycles == 10 || (cycles >= 2 && (n < 3 || atomic_load(&gc_test_term_retired) > r0)))
			break;
	}
	uint64_t retired = atomic_load(&gc_test_term_retired) - r0;
	atomic_store(&rs_stop, 1);
	wg_wait(&rs_wg);
	gc_set_mode(old);
	uint64_t k = 0;
	for (struct link *l = chain_head; l; l = l->next, k++)
		if (l->key != k) {
			EXPECT_TRUE(!"a link of the chain lost its key");
			break;
		}
	EXPECT_EQ(k, CHAIN_N);
	if (n == 1)
		EXPECT_EQ(retired, 0);
	else if (n >= 3)
		EXPECT_TRUE(retired > 0);
	kprintf("gc_roots: %llu CPUs retired from the pause's drain in %d cycles (%u CPUs); "
		"the chain of %llu links survived\n", (unsigned long long)retired, cycles, n,
		(unsigned long long)k);
	gc_store(&chain_head, NULL);
}

/*
 * A CPU stopped for the end of marking while it runs a goroutine (the STOP's interrupt
 * the outermost one) scans no frame of its own stack: all of them are the stop's
 * (markterm.c, stackscan.c scan_own_frames). Counted, with a goroutine that makes no
 * call running on every other CPU through concurrent cycles; what that goroutine
 * holds in its registers and stack survives (a cell it checks after, with garbage of
 * its size churned between the cycles).
 */
static struct {
	_Atomic int stop;
	_Atomic unsigned running, bad;
	struct wait_group wg;
} fs = { .wg = WAIT_GROUP_INIT };

static void frames_spinner(void *arg)
{
	uint64_t key = (uint64_t)(uintptr_t)arg;
	struct cell *mine = cell_new(key);	/* in a register or this stack only */
	atomic_fetch_add(&fs.running, 1);
	while (!atomic_load_explicit(&fs.stop, memory_order_relaxed))
		__asm__ volatile("" : "+r"(mine));
	if (!cell_ok(mine, key))
		atomic_fetch_add(&fs.bad, 1);
	wg_done(&fs.wg);
}

TEST_G_EXPLICIT(gc_ipi, a_cpu_stopped_in_a_goroutine_scans_none_of_its_own_frames)
{
	unsigned others = cpu_count() - 1;
	atomic_store(&fs.stop, 0);
	atomic_store(&fs.running, 0);
	atomic_store(&fs.bad, 0);
	wg_add(&fs.wg, (int)others);
	for (unsigned i = 0; i < others; i++)
		go(frames_spinner, (void *)(uintptr_t)(0x5eed0 + i));
	while (atomic_load(&fs.running) < others)
		go_yield();
	uint64_t s0 = gc_test_term_frames_skipped();
	for (int c = 0; c < 8; c++) {
		churn(2000);	/* a freed cell would be reused at once */
		gc_collect();
	}
	uint64_t skipped = gc_test_term_frames_skipped() - s0;
	atomic_store(&fs.stop, 1);
	wg_wait(&fs.wg);
	kprintf("gc_ipi: %llu own-stack scans skipped in 8 cycles (%u other CPUs running a goroutine)\n",
		(unsigned long long)skipped, others);
	if (others)
		EXPECT_TRUE(skipped > 0);
	else
		EXPECT_EQ(skipped, 0);
	EXPECT_EQ(atomic_load(&fs.bad), 0);
}

/* ---- a parked goroutine's stack --------------------------------------------------------------- */

static struct {
	struct chan *wake;
	struct wait_group done;
	_Atomic unsigned bad, parked;
} pk = { .done = WAIT_GROUP_INIT };

static void parked_holder(void *arg)
{
	uint64_t key = (uint64_t)(uintptr_t)arg;
	struct cell *mine = cell_new(key);
	atomic_fetch_add(&pk.parked, 1);
	int token;
	chan_recv(pk.wake, &token);
	if (!cell_ok(mine, key))
		atomic_fetch_add(&pk.bad, 1);
	gc_keep_alive(mine);
	wg_done(&pk.done);
}

TEST_G(gc_roots, parked_goroutine_stacks)
{
	const unsigned n = 200;
	pk.wake = chan_make(sizeof(int), 0);
	atomic_store(&pk.bad, 0);
	atomic_store(&pk.parked, 0);
	wg_add(&pk.done, n);
	for (unsigned i = 0; i < n; i++)
		go(parked_holder, (void *)(uintptr_t)(9000000 + i));
	while (atomic_load(&pk.parked) < n)
		go_sleep(100000);
	collect_with_churn(3);
	for (unsigned i = 0; i < n; i++) {
		int t = (int)i;
		chan_send(pk.wake, &t);
	}
	wg_wait(&pk.done);
	EXPECT_EQ(atomic_load(&pk.bad), 0);
}

/* ---- a channel's buffer, typed and untyped ----------------------------------------------------- */

TEST_G(gc_roots, channel_buffers)
{
	const unsigned n = 64;
	struct chan *typed = chan_make_typed(&gc_type_ptr, n);
	struct chan *untyped = chan_make(2 * sizeof(void *), n);
	for (unsigned i = 0; i < n; i++) {
		struct cell *a = cell_new(100 + i), *b = cell_new(200 + i), *c = cell_new(300 + i);
		chan_send(typed, &a);
		void *pair[2] = { b, c };
		chan_send(untyped, pair);
		a = b = c = NULL;
		pair[0] = pair[1] = NULL;
	}
	collect_with_churn(3);
	for (unsigned i = 0; i < n; i++) {
		struct cell *a;
		void *pair[2];
		EXPECT_TRUE(chan_recv(typed, &a));
		EXPECT_TRUE(chan_recv(untyped, pair));
		EXPECT_TRUE(cell_ok(a, 100 + i));
		EXPECT_TRUE(cell_ok(pair[0], 200 + i));
		EXPECT_TRUE(cell_ok(pair[1], 300 + i));
	}
}

/* ---- a blocked sender's element ---------------------------------------------------------------- */

static struct {
	struct chan *c;
	_Atomic unsigned blocked;
} bs;

static void blocked_sender(void *arg)
{
	uint64_t key = (uint64_t)(uintptr_t)arg;
	struct cell *mine = cell_new(key);
	atomic_fetch_add(&bs.blocked, 1);
	chan_send(bs.c, &mine);		/* the element stays in this frame while blocked */
	mine = NULL;
}

TEST_G(gc_roots, blocked_senders_elements)
{
	const unsigned n = 50;
	bs.c = chan_make_typed(&gc_type_ptr, 0);
	atomic_store(&bs.blocked, 0);
	for (unsigned i = 0; i < n; i++)
		go(blocked_sender, (void *)(uintptr_t)(4000000 + i));
	while (atomic_load(&bs.blocked) < n)
		go_sleep(100000);
	go_sleep(2000000);		/* all of them parked in the send */
	collect_with_churn(3);
	uint64_t seen = 0;
	for (unsigned i = 0; i < n; i++) {
		struct cell *c;
		chan_recv(bs.c, &c);
		bool ok = false;
		for (unsigned k = 0; k < n && !ok; k++)
			if (cell_ok(c, 4000000 + k)) {
				ok = true;
				seen |= 1ull << k;
			}
		EXPECT_TRUE(ok);
	}
	EXPECT_EQ(seen, (1ull << n) - 1);
}

/* ---- a registered root, and a global -------------------------------------------------------------- */

static struct cell *global_cells[8];

TEST_G(gc_roots, registered_root_and_globals)
{
	/* a root the collector would not otherwise scan: memory from malloc */
	struct cell **table = malloc(16 * sizeof(*table));
	ASSERT_TRUE(table != NULL);
	gc_add_roots(table, 16 * sizeof(*table));
	for (unsigned i = 0; i < 16; i++)
		gc_store(&table[i], cell_new(600 + i));
	for (unsigned i = 0; i < 8; i++)
		gc_store(&global_cells[i], cell_new(700 + i));
	collect_with_churn(3);
	for (unsigned i = 0; i < 16; i++)
		EXPECT_TRUE(cell_ok(table[i], 600 + i));
	for (unsigned i = 0; i < 8; i++)
		EXPECT_TRUE(cell_ok(global_cells[i], 700 + i));
	gc_remove_roots(table, 16 * sizeof(*table));
	free(table);
	for (unsigned i = 0; i < 8; i++)
		gc_store(&global_cells[i], NULL);
}

/* ---- a global listed with GC_NOSCAN is not a root ------------------------------------------------- */

#define NOSCAN_CELLS 64

static struct cell *noscan_cells[NOSCAN_CELLS];
GC_NOSCAN(noscan_cells);
static _Atomic unsigned noscan_finalized;

static void noscan_fin(void *p)
{
	(void)p;
	atomic_fetch_add(&noscan_finalized, 1);
}

static __attribute__((noinline)) void noscan_fill(void)
{
	for (unsigned i = 0; i < NOSCAN_CELLS; i++) {
		struct cell *c = cell_new(950 + i);
		gc_set_finalizer(c, noscan_fin);
		noscan_cells[i] = c;	/* (no barrier: not a root) */
	}
}

TEST_G(gc_roots, noscan_global_is_not_a_root)
{
	atomic_store(&noscan_finalized, 0);
	noscan_fill();
	gc_test_scrub_stack();	/* a stale word of noscan_fill's frames would keep a cell */
	uint64_t t0 = go_now();
	while (atomic_load(&noscan_finalized) < NOSCAN_CELLS && go_now() - t0 < 20000000000ull) {
		collect_with_churn(1);
		go_sleep(1000000);
	}
	/* every cell unreachable but for the listed table: each was finalized (a table the
	 * collector scanned would keep every one) */
	EXPECT_EQ(atomic_load(&noscan_finalized), NOSCAN_CELLS);
	memset(noscan_cells, 0, sizeof(noscan_cells));
}

/* ---- a timer's argument ------------------------------------------------------------------------------ */

static struct {
	_Atomic unsigned ran, bad;
} tm;

static void timer_fn(void *arg)
{
	struct keyed *k = arg;
	if (!cell_ok(&k->cell, k->key))
		atomic_fetch_add(&tm.bad, 1);
	atomic_fetch_add(&tm.ran, 1);
}

TEST_G(gc_roots, timer_argument)
{
	const unsigned n = 20;
	atomic_store(&tm.ran, 0);
	atomic_store(&tm.bad, 0);
	for (unsigned i = 0; i < n; i++) {
		struct keyed *k = gc_new(&keyed_type);
		k->key = 800 + i;
		for (unsigned w = 0; w < CELL_WORDS; w++)
			k->cell.w[w] = key_word(k->key, w);
		/* the timer is dropped: only its CPU's timer heap holds it, through other
		 * timers and through sleepers' stack nodes (deadlines up to 0.9 s: past the
		 * runtime's own sleeps, such as the scavenger's 0.5 s) */
		go_after_func(50000000 + i * 45000000ull, timer_fn, k);
	}
	collect_with_churn(3);
	uint64_t t0 = go_now();
	while (atomic_load(&tm.ran) < n && go_now() - t0 < 20000000000ull) {
		collect_with_churn(1);
		go_sleep(5000000);
	}
	EXPECT_EQ(atomic_load(&tm.ran), n);
	EXPECT_EQ(atomic_load(&tm.bad), 0);
}
