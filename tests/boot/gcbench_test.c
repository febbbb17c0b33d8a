/*
 * tests/boot/gcbench_test.c: the collector's benchmarks (explicit suites gcb_*), the
 * same programs as the peers of tools/gcbench.py (tests/bench/go/gc/main.go says what
 * each figure measures; this follows it: same sizes, same shapes), printed as
 * "BENCH gort_<figure>_p<CPUs> <value> <unit>":
 *
 *   gcb_gcbench  GCBench (Ellis, Kovac, Boehm): gcbench_ms, gcbench_pause_max_us,
 *                gcbench_pause_p99_us, gcbench_gcs
 *   gcb_bintree  binary-trees at depth 18, single goroutine: its output, bintree_ms
 *   gcb_parked   ns per gc_collect() with 0, 1000 and 10000 goroutines parked in a
 *                receive, a select, or idle (Go issue 6482's benchmarks)
 *   gcb_stwload  pauses with 10,000 parked goroutines while every CPU builds trees
 *   gcb_image    in the images: the mark-termination pause (the other CPUs idle,
 *                then each running a goroutine that makes no call: _busy_) against
 *                one broadcast cross-call's round trip measured in the same boot,
 *                and the floor under the pause in the busy state, an empty
 *                stop_the_world_all's round trip (image_stw_all_busy_us); the mark
 *                throughput (MB/s of heap marked per second of marking, per CPU)
 *   gcb_deepstack  goroutines 1000 frames deep swinging 100 frames: the second
 *                pause's rescanned share of the stacks (deepstack_rescan_pct_*) and
 *                its length (deepstack_term_pause_*_us), without stack barriers and
 *                with them (gc_stackbar) and under the hybrid barrier
 *                (gc_barrier=hybrid), medians over 30 cycles
 *   gcb_barriers the two write barriers on GCBench and on a slot churn that
 *                overwrites live pointers: times, pauses, marked bytes, ratios
 *
 * A pause is one cycle's two stop-the-world phases together (Go's PauseNs); max and
 * the 99th percentile by nearest rank over the cycles that ran during the figure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/stw.h>
#include <kernel/test.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sync.h>

static void bench(const char *figure, double value, const char *unit)
{
	char v[32];
	if (!strcmp(unit, "count"))
		snprintf(v, sizeof(v), "%.0f", value);
	else
		snprintf(v, sizeof(v), "%.1f", value);
	kprintf("BENCH gort_%s_p%u %s %s\n", figure, cpu_count(), v, unit);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The pauses of the cycles in (first, last]: max and p99 (nearest rank) in us. */
static void report_pauses(const char *prefix, uint32_t first, uint32_t last)
{
	unsigned n = 0;
	static uint64_t p[GC_TEST_CYCLES];
	GC_NOSCAN(p);
	for (uint32_t c = first + 1; c <= last && n < GC_TEST_CYCLES; c++) {
		struct gc_cycle_info ci;
		if (gc_test_cycle_info(c, &ci))
			p[n++] = ci.pause_setup_ns + ci.pause_term_ns;
	}
	char name[64];
	if (!n) {
		kprintf("[FAIL] %s: no collection ran\n", prefix);
		test_fail(__FILE__, __LINE__, "%s: no collection ran", prefix);
		return;
	}
	qsort(p, n, sizeof(p[0]), u64_cmp);
	unsigned rank = (99 * n + 99) / 100;
	snprintf(name, sizeof(name), "%s_pause_max_us", prefix);
	bench(name, (double)p[n - 1] / 1e3, "us");
	snprintf(name, sizeof(name), "%s_pause_p99_us", prefix);
	bench(name, (double)p[rank - 1] / 1e3, "us");
}

/* ---- GCBench ------------------------------------------------------------------------ */

#define STRETCH_DEPTH 18
#define LONG_LIVED_DEPTH 16
#define ARRAY_SIZE 500000
#define MIN_DEPTH 4
#define MAX_DEPTH 16

struct gnode {
	struct gnode *left, *right;
	int32_t i, j;
};

GC_TYPE(gnode_type, struct gnode, left, right);

static inline struct gnode *new_node(void)
{
	return gc_new(&gnode_type);
}

static int tree_size(int i)
{
	return (1 << (i + 1)) - 1;
}

static int num_iters(int i)
{
	return 2 * tree_size(STRETCH_DEPTH) / tree_size(i);
}

static void populate(int depth, struct gnode *n)
{
	if (depth <= 0)
		return;
	depth--;
	gc_store(&n->left, new_node());
	gc_store(&n->right, new_node());
	populate(depth, n->left);
	populate(depth, n->right);
}

/* Bottom up: the children first, then their parent (the original's and the peers'
 * order: Go's &node{left: makeTree(..), right: makeTree(..)}, the Boehm program's). */
static struct gnode *make_tree(int depth)
{
	if (depth <= 0)
		return new_node();
	struct gnode *l = make_tree(depth - 1);
	struct gnode *r = make_tree(depth - 1);
	struct gnode *n = new_node();
	gc_store(&n->left, l);
	gc_store(&n->right, r);
	return n;
}

static double ms_since(uint64_t t0)
{
	return (double)(go_now() - t0) / 1e6;
}

static void gcbench_run(bool quiet);
static double gcbench_last_ms;		/* gcbench_run(true)'s results */
static uint32_t gcbench_c0, gcbench_c1;

TEST_G_EXPLICIT(gcb_gcbench, gcbench)
{
	gcbench_run(false);
}

static void gcbench_run(bool quiet)
{
	uint32_t c0 = gc_test_cycle();
	uint64_t t0 = go_now();
#define kprintf(...) do { if (!quiet) kprintf(__VA_ARGS__); } while (0)
	kprintf(" Stretching memory with a binary tree of depth %d\n", STRETCH_DEPTH);
	make_tree(STRETCH_DEPTH);
	kprintf(" Creating a long-lived binary tree of depth %d\n", LONG_LIVED_DEPTH);
	struct gnode *long_lived = new_node();
	populate(LONG_LIVED_DEPTH, long_lived);
	kprintf(" Creating a long-lived array of %d doubles\n", ARRAY_SIZE);
	double *array = gc_alloc_noscan(ARRAY_SIZE * sizeof(double));
	for (int i = 0; i < ARRAY_SIZE / 2; i++)
		array[i] = 1.0 / i;
	for (int d = MIN_DEPTH; d <= MAX_DEPTH; d += 2) {
		int iters = num_iters(d);
		kprintf("Creating %d trees of depth %d\n", iters, d);
		uint64_t t1 = go_now();
		for (int i = 0; i < iters; i++) {
			struct gnode *t = new_node();
			populate(d, t);
		}
		kprintf("\tTop down construction took %.0f msec\n", ms_since(t1));
		t1 = go_now();
		for (int i = 0; i < iters; i++)
			make_tree(d);
		kprintf("\tBottom up construction took %.0f msec\n", ms_since(t1));
	}
	ASSERT_TRUE(long_lived->left->right != NULL && array[1000] == 1.0 / 1000);
	double ms = ms_since(t0);
	uint32_t c1 = gc_test_cycle();
	kprintf("Completed in %.0f msec\n", ms);
#undef kprintf
	gc_keep_alive(long_lived);
	gc_keep_alive(array);
	if (quiet) {
		gcbench_last_ms = ms;
		gcbench_c0 = c0;
		gcbench_c1 = c1;
		return;
	}
	bench("gcbench_ms", ms, "ms");
	report_pauses("gcbench", c0, c1);
	bench("gcbench_gcs", c1 - c0, "count");
}

/* ---- binary-trees ---------------------------------------------------------------------- */

struct tnode {
	struct tnode *left, *right;
};

GC_TYPE(tnode_type, struct tnode, left, right);

static struct tnode *bottom_up(int depth)
{
	struct tnode *t = gc_new(&tnode_type);
	if (depth > 0) {
		struct tnode *l = bottom_up(depth - 1), *r = bottom_up(depth - 1);
		gc_store(&t->left, l);
		gc_store(&t->right, r);
	}
	return t;
}

static long check(const struct tnode *t)
{
	return t->left ? 1 + check(t->left) + check(t->right) : 1;
}

TEST_G_EXPLICIT(gcb_bintree, bintree)
{
	const int n = 18, min = 4;
	int max = min + 2 > n ? min + 2 : n;
	uint64_t t0 = go_now();
	kprintf("stretch tree of depth %d\t check: %ld\n", max + 1, check(bottom_up(max + 1)));
	struct tnode *long_lived = bottom_up(max);
	for (int d = min; d <= max; d += 2) {
		long iters = 1l << (max - d + min), sum = 0;
		for (long i = 0; i < iters; i++)
			sum += check(bottom_up(d));
		kprintf("%ld\t trees of depth %d\t check: %ld\n", iters, d, sum);
	}
	kprintf("long lived tree of depth %d\t check: %ld\n", max, check(long_lived));
	bench("bintree_ms", ms_since(t0), "ms");
}

/* ---- GC cost per parked goroutine ------------------------------------------------------------ */

#define GC_ROUNDS 21
#define N_WARM 10000

static uint64_t timed_gcs(void (*before)(void *), void *arg)
{
	uint64_t samples[GC_ROUNDS];
	for (int r = 0; r < GC_ROUNDS; r++) {
		if (before)
			before(arg);
		uint64_t t0 = go_now();
		gc_collect();
		samples[r] = go_now() - t0;
	}
	qsort(samples, GC_ROUNDS, sizeof(samples[0]), u64_cmp);
	return samples[GC_ROUNDS / 2];
}

struct parked {
	unsigned n;
	struct chan **chans;		/* a typed array: n channels */
	struct chan *quit;
	struct wait_group woke, exited;
};

struct parked_arg {
	struct parked *pk;
	struct chan *c;
};

GC_TYPE(parked_arg_type, struct parked_arg, pk, c);

static void recv_loop(void *arg)
{
	struct parked_arg *a = arg;
	uint64_t v;
	while (chan_recv(a->c, &v))
		wg_done(&a->pk->woke);
	wg_done(&a->pk->exited);
}

static void select_loop(void *arg)
{
	struct parked_arg *a = arg;
	for (;;) {
		uint64_t v;
		bool ok = true;
		struct select_case cs[2] = { { a->c, SELECT_RECV, &v, &ok },
					     { a->pk->quit, SELECT_RECV, NULL, NULL } };
		if (chan_select(cs, 2, false) == 1 || !ok)
			break;
		wg_done(&a->pk->woke);
	}
	wg_done(&a->pk->exited);
}

static void wake_all(void *arg)
{
	struct parked *pk = arg;
	wg_add(&pk->woke, pk->n);
	uint64_t v = 1;
	for (unsigned i = 0; i < pk->n; i++)
		chan_send(pk->chans[i], &v);
	wg_wait(&pk->woke);
	go_sleep(10000000);
}

static uint64_t parked_woken(unsigned n, bool sel)
{
	struct parked pk = { .n = n, .woke = WAIT_GROUP_INIT, .exited = WAIT_GROUP_INIT };
	pk.chans = gc_new_array(&gc_type_ptr, n);
	pk.quit = chan_make_typed(&gc_type_u64, 0);
	wg_add(&pk.exited, n);
	for (unsigned i = 0; i < n; i++) {
		gc_store(&pk.chans[i], chan_make_typed(&gc_type_u64, 1));
		struct parked_arg *a = gc_new(&parked_arg_type);
		a->pk = &pk;
		gc_store(&a->c, pk.chans[i]);
		go_stack(sel ? select_loop : recv_loop, a, 64 << 10);
	}
	gc_collect();
	uint64_t ns = timed_gcs(wake_all, &pk);
	for (unsigned i = 0; i < n; i++)
		chan_close(pk.chans[i]);
	chan_close(pk.quit);
	wg_wait(&pk.exited);
	return ns;
}

/* n goroutines running fn on 64 KiB stacks, each counted on `started` once it is about
 * to park (and on `exited` when it ends): returns when all of them have started. */
static void spawn_parked(void (*fn)(void *), unsigned n, struct wait_group *started,
			 struct wait_group *exited)
{
	wg_add(started, n);
	wg_add(exited, n);
	for (unsigned i = 0; i < n; i++)
		go_stack(fn, NULL, 64 << 10);
	wg_wait(started);
}

static struct {
	struct chan *quit;
	struct wait_group started, exited;
} idle = { .started = WAIT_GROUP_INIT, .exited = WAIT_GROUP_INIT };

static void idle_body(void *arg)
{
	(void)arg;
	wg_done(&idle.started);
	chan_recv(idle.quit, NULL);
	wg_done(&idle.exited);
}

static uint64_t parked_idle(unsigned n)
{
	idle.quit = chan_make_typed(&gc_type_u64, 0);
	spawn_parked(idle_body, n, &idle.started, &idle.exited);
	go_sleep(10000000);
	gc_collect();
	uint64_t ns = timed_gcs(NULL, NULL);
	chan_close(idle.quit);
	wg_wait(&idle.exited);
	return ns;
}

static struct wait_group warm = WAIT_GROUP_INIT;

static void warm_body(void *arg)
{
	(void)arg;
	wg_done(&warm);
}

TEST_G_EXPLICIT(gcb_parked, parked)
{
	wg_add(&warm, N_WARM);
	for (unsigned i = 0; i < N_WARM; i++)
		go_stack(warm_body, NULL, 64 << 10);
	wg_wait(&warm);
	gc_collect();
	bench("parked_empty_ns", (double)timed_gcs(NULL, NULL), "ns");
	static const unsigned ns[2] = { 1000, 10000 };
	char name[48];
	for (int k = 0; k < 2; k++) {
		snprintf(name, sizeof(name), "parked_recv%u_ns", ns[k]);
		bench(name, (double)parked_woken(ns[k], false), "ns");
	}
	for (int k = 0; k < 2; k++) {
		snprintf(name, sizeof(name), "parked_select%u_ns", ns[k]);
		bench(name, (double)parked_woken(ns[k], true), "ns");
	}
	for (int k = 0; k < 2; k++) {
		snprintf(name, sizeof(name), "parked_idle%u_ns", ns[k]);
		bench(name, (double)parked_idle(ns[k]), "ns");
	}
}

/* ---- pauses under load ---------------------------------------------------------------------- */

#define N_LOAD_PARKED 10000
#define LOAD_TREES 32768
#define LOAD_DEPTH 10

static struct {
	struct chan *stop;
	struct wait_group started, exited, workers;
} ld = { .started = WAIT_GROUP_INIT, .exited = WAIT_GROUP_INIT, .workers = WAIT_GROUP_INIT };

static void load_parked(void *arg)
{
	(void)arg;
	wg_done(&ld.started);
	chan_recv(ld.stop, NULL);
	wg_done(&ld.exited);
}

static void load_worker(void *arg)
{
	unsigned share = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < share; i++)
		make_tree(LOAD_DEPTH);
	wg_done(&ld.workers);
}

TEST_G_EXPLICIT(gcb_stwload, stwload)
{
	ld.stop = chan_make_typed(&gc_type_u64, 0);
	spawn_parked(load_parked, N_LOAD_PARKED, &ld.started, &ld.exited);
	struct gnode *long_lived = new_node();
	populate(LONG_LIVED_DEPTH, long_lived);
	gc_collect();
	uint32_t c0 = gc_test_cycle();
	unsigned procs = cpu_count();
	wg_add(&ld.workers, procs);
	for (unsigned w = 0; w < procs; w++) {
		unsigned share = LOAD_TREES / procs + (w == 0 ? LOAD_TREES % procs : 0);
		go(load_worker, (void *)(uintptr_t)share);
	}
	wg_wait(&ld.workers);
	uint32_t c1 = gc_test_cycle();
	chan_close(ld.stop);
	wg_wait(&ld.exited);
	ASSERT_TRUE(long_lived->left->right != NULL);
	report_pauses("stwload", c0, c1);
}

/* ---- in the images: the pause against an IPI round trip, mark throughput ------------------- */

static void nothing(void *arg)
{
	(void)arg;
}

/* op's time, interrupts off around it, median of 101 in a row. */
static uint64_t median_ns_of_101(void (*op)(void))
{
	uint64_t s[101];
	for (int i = 0; i < 101; i++) {
		irq_push();
		uint64_t t0 = clock_ns();
		op();
		s[i] = clock_ns() - t0;
		irq_pop();
	}
	qsort(s, 101, sizeof(s[0]), u64_cmp);
	return s[50];
}

/* One broadcast cross-call to every other CPU and back. */
static void call_others(void)
{
	ipi_call_others(nothing, NULL, true);
}

/* An empty stop_the_world_all (every CPU stopped by IPI runs a function that returns,
 * then all are released): what a mark termination costs before its work. */
static void stop_all(void)
{
	stop_the_world_all(nothing, NULL);
}

static struct gnode **image_heap;

/* The median mark-termination pause of 31 collections in a row, ns; *idle_pct: of the
 * other CPUs' shares of those pauses, the percentage done for a CPU the stop found
 * idle (asleep, or spinning in its idle loop) rather than stopped by IPI. With
 * rt_cycle, one cross-call round trip after each collection too, the median of those
 * in *rt_cycle: a round trip taken once a cycle, like the pause's own STOP, where
 * median_ns_of_101's are back to back (the path each time as the last one left it). */
static uint64_t term_pause_median(unsigned *idle_pct, uint64_t *rt_cycle)
{
	uint64_t rt[31];
	uint32_t c0 = gc_test_cycle();
	for (int i = 0; i < 31; i++) {
		gc_collect();
		if (rt_cycle) {
			irq_push();
			uint64_t t0 = clock_ns();
			call_others();
			rt[i] = clock_ns() - t0;
			irq_pop();
		}
	}
	if (rt_cycle) {
		qsort(rt, 31, sizeof(rt[0]), u64_cmp);
		*rt_cycle = rt[15];
	}
	uint32_t c1 = gc_test_cycle();
	uint64_t term[64], idle = 0;
	unsigned n = 0;
	for (uint32_t c = c0 + 1; c <= c1 && n < 64; c++) {
		struct gc_cycle_info ci;
		if (gc_test_cycle_info(c, &ci)) {
			term[n++] = ci.pause_term_ns;
			idle += ci.term_idle_cpus;	/* (the cycles measured, and only those) */
		}
	}
	*idle_pct = n && cpu_count() > 1 ? (unsigned)(idle * 100 / ((uint64_t)n * (cpu_count() - 1))) : 0;
	if (n == 0)
		return 0;
	qsort(term, n, sizeof(term[0]), u64_cmp);
	return term[n / 2];
}

/* A goroutine that makes no call until told to stop: the stop reaches its CPU by IPI
 * and that CPU rescans it in the pause. */
static _Atomic bool busy_stop;
static _Atomic unsigned busy_running;
static struct wait_group busy_wg = WAIT_GROUP_INIT;

static void busy_spin(void *arg)
{
	(void)arg;
	atomic_fetch_add(&busy_running, 1);
	while (!atomic_load_explicit(&busy_stop, memory_order_relaxed))
		;
	wg_done(&busy_wg);
}

TEST_G_EXPLICIT(gcb_image, termination_pause_and_mark_throughput)
{
	/* 1. the mark-termination pause of cycles with a small live heap and a few
	 *    goroutines, against a broadcast IPI round trip measured in the same state:
	 *    with the other CPUs idle (this goroutine waits in gc_collect), then with
	 *    each of them running a goroutine that makes no call (an idle CPU may be
	 *    asleep, which a round trip wakes and a stop need not: the two states are
	 *    apart under emulation) */
	uint64_t ipi = cpu_count() > 1 ? median_ns_of_101(call_others) : 0;
	struct gnode *small = make_tree(10);
	unsigned idle_pct, busy_pct;
	uint64_t idle = term_pause_median(&idle_pct, NULL);
	ASSERT_TRUE(idle > 0);
	bench("image_markterm_pause_us", (double)idle / 1e3, "us");
	if (cpu_count() > 1)
		bench("image_markterm_idle_shares_pct", idle_pct, "%");
	if (ipi) {
		bench("image_ipi_round_trip_us", (double)ipi / 1e3, "us");
		bench("image_markterm_vs_ipi", (double)idle / (double)ipi, "x");
		unsigned others = cpu_count() - 1;
		atomic_store(&busy_stop, false);
		atomic_store(&busy_running, 0);
		wg_add(&busy_wg, (int)others);
		for (unsigned i = 0; i < others; i++)
			go(busy_spin, NULL);
		while (atomic_load(&busy_running) < others)
			go_yield();
		uint64_t busy_ipi = median_ns_of_101(call_others);
		uint64_t busy_ipi_cycle = 0;
		uint64_t busy = term_pause_median(&busy_pct, &busy_ipi_cycle);
		uint64_t busy_stw = median_ns_of_101(stop_all);
		atomic_store(&busy_stop, true);
		wg_wait(&busy_wg);
		ASSERT_TRUE(busy > 0 && busy_ipi > 0);
		bench("image_markterm_busy_pause_us", (double)busy / 1e3, "us");
		bench("image_ipi_busy_round_trip_us", (double)busy_ipi / 1e3, "us");
		bench("image_markterm_busy_vs_ipi", (double)busy / (double)busy_ipi, "x");
		/* the same pause against a round trip taken once a cycle (term_pause_median):
		 * the comparison of two events that each happen once a cycle, beside the
		 * target's, which is against the back-to-back median above */
		bench("image_ipi_busy_round_trip_per_cycle_us", (double)busy_ipi_cycle / 1e3, "us");
		bench("image_markterm_busy_vs_ipi_per_cycle", (double)busy / (double)busy_ipi_cycle, "x");
		bench("image_markterm_busy_idle_shares_pct", busy_pct, "%");
		bench("image_stw_all_busy_us", (double)busy_stw / 1e3, "us");
	}
	gc_keep_alive(small);

	/* 2. mark throughput: a live heap of trees (about 120 MiB), marked by every CPU */
	gc_store(&image_heap, (struct gnode **)gc_new_array(&gc_type_ptr, 40));
	for (int i = 0; i < 40; i++)		/* 40 trees of 131071 nodes: 120 MiB */
		gc_store(&image_heap[i], make_tree(16));
	uint64_t rate[8];
	for (int r = 0; r < 8; r++) {
		uint32_t c = gc_test_cycle();
		gc_collect();
		struct gc_cycle_info ci;
		uint32_t mine = gc_test_cycle();
		(void)c;
		ASSERT_TRUE(gc_test_cycle_info(mine, &ci));
		uint64_t ns = ci.mark_ns + ci.pause_term_ns;
		rate[r] = ns ? ci.marked_bytes * 1000 / ns : 0;	/* MB/s (bytes per us) */
	}
	qsort(rate, 8, sizeof(rate[0]), u64_cmp);
	bench("image_mark_mb_per_s", (double)rate[4], "MB/s");
	bench("image_mark_mb_per_s_per_cpu", (double)rate[4] / cpu_count(), "MB/s");
	gc_store(&image_heap, NULL);
}

/* ---- stack barriers on a deep-recursion workload ------------------------------------------------------ */

/*
 * Goroutines (two per CPU) 1000 frames deep that return 100 frames and call again,
 * over and over, while the collector runs back to back: per cycle, the stack bytes
 * the second pause rescans against the stacks' size, and that pause, without stack
 * barriers, with them (gc_stackbar), and under the hybrid barrier (gc_barrier=hybrid:
 * with them, and no written page above them read), in the same boot. Medians over
 * DEEP_CYCLES.
 */
#define DEEP_PER_CPU 2
#define DEEP_FRAMES 1000
#define DEEP_SWING 100
#define DEEP_CYCLES 30

static _Atomic bool deep_stop;
static _Atomic unsigned deep_ready;
static struct wait_group deep_wg = WAIT_GROUP_INIT;

static __attribute__((noinline)) uint64_t deep_frame(unsigned n)
{
	volatile uint64_t pad[6];
	pad[0] = n;
	uint64_t r = 0;
	if (n == DEEP_FRAMES - DEEP_SWING) {
		atomic_fetch_add(&deep_ready, 1);
		while (!atomic_load(&deep_stop))
			r += deep_frame(n + 1);		/* down 100 frames and back up */
	} else if (n < DEEP_FRAMES) {
		r = deep_frame(n + 1);
	} else {
		gc_alloc(64);				/* some garbage: the heap moves */
		r = 1;
	}
	return r + pad[0] - n;
}

static void deep_body(void *arg)
{
	(void)arg;
	deep_frame(0);
	wg_done(&deep_wg);
}

static void deep_median(uint32_t first, uint32_t last, uint64_t *pct_x10, uint64_t *pause_ns)
{
	static uint64_t r[GC_TEST_CYCLES], p[GC_TEST_CYCLES];
	GC_NOSCAN(r);
	GC_NOSCAN(p);
	unsigned n = 0;
	for (uint32_t c = first + 1; c <= last && n < GC_TEST_CYCLES; c++) {
		struct gc_cycle_info ci;
		if (gc_test_cycle_info(c, &ci) && ci.stack_rescan_total) {
			r[n] = ci.stack_rescan_bytes * 1000 / ci.stack_rescan_total;
			p[n++] = ci.pause_term_ns;
		}
	}
	if (!n) {
		test_fail(__FILE__, __LINE__, "gcb_deepstack: no cycle rescanned a stack");
		*pct_x10 = *pause_ns = 0;
		return;
	}
	qsort(r, n, sizeof(r[0]), u64_cmp);
	qsort(p, n, sizeof(p[0]), u64_cmp);
	*pct_x10 = r[n / 2];
	*pause_ns = p[n / 2];
}

TEST_G_EXPLICIT(gcb_deepstack, rescan_with_and_without_barriers)
{
	unsigned n = cpu_count() * DEEP_PER_CPU;
	atomic_store(&deep_stop, false);
	atomic_store(&deep_ready, 0);
	wg_add(&deep_wg, (int)n);
	for (unsigned i = 0; i < n; i++)
		go(deep_body, NULL);
	while (atomic_load(&deep_ready) < n)
		go_sleep(1000000);
	/* 0: the insertion barrier alone; 1: with stack barriers; 2: the hybrid barrier
	 * (which turns them on; not in the ThreadSanitizer build) */
	uint64_t pct[3] = { 0 }, pause[3] = { 0 };
	int settings = gc_test_stackbar_supported() ? 3 : 2;
	int percent = gc_test_quiesce();
	for (int k = 0; k < settings; k++) {
		bool old_bar = gc_test_stackbar(k == 1);
		bool old_hyb = gc_test_barrier(k == 2);
		gc_collect();	/* (the first cycle with the setting plants the barriers) */
		uint32_t first = gc_test_cycle();
		for (unsigned c = 0; c < DEEP_CYCLES; c++)
			gc_collect();
		deep_median(first, gc_test_cycle(), &pct[k], &pause[k]);
		gc_test_barrier(old_hyb);
		gc_test_stackbar(old_bar);
	}
	gc_set_percent(percent);
	atomic_store(&deep_stop, true);
	wg_wait(&deep_wg);
	bench("deepstack_rescan_pct_nobar", (double)pct[0] / 10, "%");
	bench("deepstack_rescan_pct_stackbar", (double)pct[1] / 10, "%");
	bench("deepstack_term_pause_nobar_us", (double)pause[0] / 1e3, "us");
	bench("deepstack_term_pause_stackbar_us", (double)pause[1] / 1e3, "us");
	bench("deepstack_term_pause_stackbar_vs_nobar_pct", pause[0] ? 100.0 * (double)pause[1] / (double)pause[0] : 0, "%");
	if (settings == 3) {
		bench("deepstack_rescan_pct_hybrid", (double)pct[2] / 10, "%");
		bench("deepstack_term_pause_hybrid_us", (double)pause[2] / 1e3, "us");
		bench("deepstack_term_pause_hybrid_vs_nobar_pct", pause[0] ? 100.0 * (double)pause[2] / (double)pause[0] : 0, "%");
	}
}

/* ---- the two write barriers on the same programs ---------------------------------------------- */

/*
 * gcb_barriers: GCBench (its stores go into new objects: the hybrid barrier's extra
 * shading finds NULL there) and a slot churn (goroutines on every CPU overwrite random
 * slots of a live array with new nodes: every store while marking shades the node it
 * replaces too), each under the insertion barrier (with stack barriers, as the hybrid
 * one has them) and under the hybrid barrier, one after the other in the same boot:
 * total times, pauses and the cycles' marked bytes, and the ratios.
 */
#define CHURN_SLOTS (64u << 10)
#define CHURN_STORES 3000000u

static struct gnode **churn_slots;
static struct wait_group churn_wg = WAIT_GROUP_INIT;

static void churn_body(void *arg)
{
	uint64_t r = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	unsigned n = CHURN_STORES / cpu_count();
	for (unsigned i = 0; i < n; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		struct gnode *x = new_node();
		x->i = (int32_t)i;
		gc_store(&churn_slots[r % CHURN_SLOTS], x);
	}
	wg_done(&churn_wg);
}

static double churn_run(void)
{
	churn_slots = gc_new_array(&gc_type_ptr, CHURN_SLOTS);
	for (unsigned i = 0; i < CHURN_SLOTS; i++)
		gc_store(&churn_slots[i], new_node());
	uint64_t t0 = go_now();
	unsigned n = cpu_count();
	wg_add(&churn_wg, (int)n);
	for (unsigned i = 0; i < n; i++)
		go(churn_body, (void *)(uintptr_t)(i + 1));
	wg_wait(&churn_wg);
	double ms = ms_since(t0);
	churn_slots = NULL;
	return ms;
}

static uint64_t p99_pause_ns(uint32_t first, uint32_t last, uint64_t *marked)
{
	static uint64_t p[GC_TEST_CYCLES];
	GC_NOSCAN(p);
	unsigned n = 0;
	*marked = 0;
	for (uint32_t c = first + 1; c <= last && n < GC_TEST_CYCLES; c++) {
		struct gc_cycle_info ci;
		if (gc_test_cycle_info(c, &ci)) {
			p[n++] = ci.pause_setup_ns + ci.pause_term_ns;
			*marked += ci.marked_bytes;
		}
	}
	if (!n)
		return 0;
	qsort(p, n, sizeof(p[0]), u64_cmp);
	return p[(99 * n + 99) / 100 - 1];
}

TEST_G_EXPLICIT(gcb_barriers, insertion_and_hybrid)
{
	if (!gc_test_stackbar_supported()) {
		kprintf("gcb_barriers: the hybrid barrier needs stack barriers, not in the "
			"ThreadSanitizer build\n");
		return;
	}
	static const char *const name[2] = { "insertion", "hybrid" };
	double gcb[2], chu[2];
	uint64_t gcb_p99[2], chu_p99[2], gcb_marked[2], chu_marked[2];
	for (int hybrid = 0; hybrid < 2; hybrid++) {
		int percent = gc_test_quiesce();
		bool old_bar = gc_test_stackbar(true);
		bool old_hyb = gc_test_barrier(hybrid);
		gc_set_percent(percent);
		gc_collect();
		gcbench_run(true);
		gcb[hybrid] = gcbench_last_ms;
		gcb_p99[hybrid] = p99_pause_ns(gcbench_c0, gcbench_c1, &gcb_marked[hybrid]);
		gc_collect();
		uint32_t c0 = gc_test_cycle();
		chu[hybrid] = churn_run();
		chu_p99[hybrid] = p99_pause_ns(c0, gc_test_cycle(), &chu_marked[hybrid]);
		percent = gc_test_quiesce();
		gc_test_barrier(old_hyb);
		gc_test_stackbar(old_bar);
		gc_set_percent(percent);
		kprintf("gcb_barriers: %s: GCBench %.0f ms (p99 pause %llu us, %llu MB marked), churn %.0f ms "
			"(p99 pause %llu us, %llu MB marked)\n", name[hybrid], gcb[hybrid],
			(unsigned long long)(gcb_p99[hybrid] / 1000), (unsigned long long)(gcb_marked[hybrid] >> 20),
			chu[hybrid], (unsigned long long)(chu_p99[hybrid] / 1000),
			(unsigned long long)(chu_marked[hybrid] >> 20));
	}
	bench("barrier_gcbench_insertion_ms", gcb[0], "ms");
	bench("barrier_gcbench_hybrid_ms", gcb[1], "ms");
	bench("barrier_gcbench_hybrid_vs_insertion_pct", 100.0 * gcb[1] / gcb[0], "%");
	bench("barrier_gcbench_insertion_pause_p99_us", (double)gcb_p99[0] / 1e3, "us");
	bench("barrier_gcbench_hybrid_pause_p99_us", (double)gcb_p99[1] / 1e3, "us");
	bench("barrier_churn_insertion_ms", chu[0], "ms");
	bench("barrier_churn_hybrid_ms", chu[1], "ms");
	bench("barrier_churn_hybrid_vs_insertion_pct", 100.0 * chu[1] / chu[0], "%");
	bench("barrier_churn_insertion_pause_p99_us", (double)chu_p99[0] / 1e3, "us");
	bench("barrier_churn_hybrid_pause_p99_us", (double)chu_p99[1] / 1e3, "us");
	bench("barrier_churn_marked_hybrid_vs_insertion_pct",
	      chu_marked[0] ? 100.0 * (double)chu_marked[1] / (double)chu_marked[0] : 0, "%");
}
