/*
 * tests/bench/boehm/gcbench.c: GCBench on the Boehm collector (the Boehm side of the
 * collector benchmarks).
 *
 * GCBench (John Ellis and Pete Kovac, C version by Hans Boehm), with the sizes of the
 * original and of the Go side (tests/bench/go/gc): a stretch tree of depth 18 dropped
 * at once, a long-lived tree of depth 16 and a long-lived array of 500,000 doubles
 * (GC_MALLOC_ATOMIC: pointer-free, as in the original), then for depths 4, 6, ..., 16:
 * NumIters(d) trees built top down (Populate) and NumIters(d) bottom up (MakeTree),
 * each dropped at once, where NumIters(d) = 2 * TreeSize(18) / TreeSize(d) and
 * TreeSize(d) = 2^(d+1) - 1. Nodes (two pointers, two ints: 24 bytes) come from
 * GC_MALLOC, as in the original: every node may hold pointers. The heap is not
 * pre-expanded (no GC_expand_hp): it grows on demand, as Go's and ours do.
 *
 * Prints the original's progress lines, then
 *   BENCH boehm_gcbench_ms_m<M>            the whole run, ms
 *   BENCH boehm_gcbench_pause_max_us_m<M>  the longest collection pause, µs
 *   BENCH boehm_gcbench_pause_p99_us_m<M>  the 99th-percentile pause (nearest rank), µs
 *   BENCH boehm_gcbench_gcs_m<M>           how many collections ran
 * where M is the number of marker threads, taken from GC_MARKERS in the environment
 * (which the collector itself reads at GC_INIT); the program checks that the collector
 * really runs with M markers (GC_get_parallel() == M - 1 once the marker threads are
 * started) and fails otherwise.
 *
 * Pauses: each stop of the world, from GC_EVENT_PRE_STOP_WORLD to
 * GC_EVENT_POST_START_WORLD of GC_set_on_collection_event, both timed with
 * CLOCK_MONOTONIC: the whole collection when it is not incremental, each of its
 * stops when it is (GC_ENABLE_INCREMENTAL in the environment). Every collection
 * stops the world at least once, so fewer stops than collections (less the one
 * that may be under way at the end) fails the run.
 *
 *   GC_MARKERS=1 boehm_gcbench      (or GC_MARKERS=2)
 */
#define GC_THREADS
#include <gc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STRETCH_DEPTH    18
#define LONG_LIVED_DEPTH 16
#define ARRAY_SIZE       500000
#define MIN_DEPTH        4
#define MAX_DEPTH        16
#define MAX_PAUSES       4096

struct node {
	struct node *left, *right;
	int i, j;
};

static int markers;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "boehm_gcbench: %s\n", what);
	exit(1);
}

/* ---- pauses ------------------------------------------------------------------------- */

/* Written only by the collection-event callback, which runs with the GC lock held. */
static uint64_t pause_start;		/* 0: no collection in progress */
static uint64_t pauses[MAX_PAUSES];	/* ns, in order */
static int npauses;
static int pause_error;			/* a stop without a start, or the reverse, or overflow */

static void GC_CALLBACK on_event(GC_EventType e)
{
	uint64_t t = now_ns();
	if (e == GC_EVENT_PRE_STOP_WORLD) {
		pause_error |= pause_start != 0;
		pause_start = t;
	} else if (e == GC_EVENT_POST_START_WORLD) {
		if (pause_start == 0 || npauses == MAX_PAUSES)
			pause_error = 1;
		else
			pauses[npauses++] = t - pause_start;
		pause_start = 0;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- GCBench ------------------------------------------------------------------------ */

static struct node *new_node(void)
{
	struct node *n = GC_MALLOC(sizeof(struct node));
	if (!n)
		die("out of memory");
	return n;			/* zeroed by GC_MALLOC */
}

static int tree_size(int i) { return (1 << (i + 1)) - 1; }

static int num_iters(int i) { return 2 * tree_size(STRETCH_DEPTH) / tree_size(i); }

/* Build a tree top down, storing new nodes into older ones. */
static void populate(int depth, struct node *n)
{
	if (depth <= 0)
		return;
	depth--;
	n->left = new_node();
	n->right = new_node();
	populate(depth, n->left);
	populate(depth, n->right);
}

/* Build a tree bottom up. */
static struct node *make_tree(int depth)
{
	if (depth <= 0)
		return new_node();
	struct node *left = make_tree(depth - 1);
	struct node *right = make_tree(depth - 1);
	struct node *n = new_node();
	n->left = left;
	n->right = right;
	return n;
}

static void time_construction(int depth)
{
	int iters = num_iters(depth);
	struct node *volatile temp;

	printf("Creating %d trees of depth %d\n", iters, depth);
	uint64_t t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		temp = new_node();
		populate(depth, temp);
		temp = NULL;
	}
	printf("\tTop down construction took %d msec\n", (int)((now_ns() - t0) / 1000000));
	t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		temp = make_tree(depth);
		temp = NULL;
	}
	printf("\tBottom up construction took %d msec\n", (int)((now_ns() - t0) / 1000000));
	(void)temp;
}

int main(void)
{
	const char *env = getenv("GC_MARKERS");
	markers = env ? atoi(env) : 0;
	if (markers < 1)
		die("set GC_MARKERS to the number of marker threads (1 or 2)");
	GC_INIT();
	GC_start_mark_threads();
	if (GC_get_parallel() != markers - 1) {
		fprintf(stderr, "boehm_gcbench: GC_MARKERS=%d but the collector runs %d "
			"marker thread(s)\n", markers, GC_get_parallel() + 1);
		return 1;
	}
	GC_set_on_collection_event(on_event);
	GC_word gc0 = GC_get_gc_no();

	uint64_t t0 = now_ns();
	struct node *volatile temp;
	printf(" Stretching memory with a binary tree of depth %d\n", STRETCH_DEPTH);
	temp = make_tree(STRETCH_DEPTH);
	temp = NULL;
	(void)temp;

	printf(" Creating a long-lived binary tree of depth %d\n", LONG_LIVED_DEPTH);
	struct node *volatile long_lived = new_node();
	populate(LONG_LIVED_DEPTH, long_lived);

	printf(" Creating a long-lived array of %d doubles\n", ARRAY_SIZE);
	double *volatile array = GC_MALLOC_ATOMIC(sizeof(double) * ARRAY_SIZE);
	if (!array)
		die("out of memory");
	for (int i = 0; i < ARRAY_SIZE / 2; i++)
		array[i] = 1.0 / i;

	for (int d = MIN_DEPTH; d <= MAX_DEPTH; d += 2)
		time_construction(d);
	if (long_lived->left->right == NULL || array[1000] != 1.0 / 1000)
		die("the long-lived tree or array was lost");
	double ms = (double)(now_ns() - t0) / 1e6;

	GC_set_on_collection_event(0);
	int gcs = (int)(GC_get_gc_no() - gc0);
	printf("Completed in %.0f msec\n", ms);
	if (pause_error || pause_start != 0)
		die("collection events out of order (an abandoned collection?) or too many");
	if (npauses + 1 < gcs) {
		fprintf(stderr, "boehm_gcbench: %d collections but %d pauses recorded\n", gcs, npauses);
		return 1;
	}
	if (npauses == 0)
		die("no collection ran");
	qsort(pauses, (size_t)npauses, sizeof(pauses[0]), cmp_u64);
	int rank = (99 * npauses + 99) / 100;	/* ceil(0.99 n) */
	printf("BENCH boehm_gcbench_ms_m%d %.1f ms\n", markers, ms);
	printf("BENCH boehm_gcbench_pause_max_us_m%d %.1f us\n", markers, pauses[npauses - 1] / 1e3);
	printf("BENCH boehm_gcbench_pause_p99_us_m%d %.1f us\n", markers, pauses[rank - 1] / 1e3);
	printf("BENCH boehm_gcbench_gcs_m%d %d count\n", markers, gcs);
	return 0;
}
