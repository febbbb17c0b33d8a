/*
 * tests/bench/boehm/bintree.c: binary-trees on the Boehm collector (the Boehm side of
 * the collector benchmarks).
 *
 * binary-trees of the Computer Language Benchmarks Game at depth 18, the
 * single-threaded form, as on the Go side (tests/bench/go/gc) and the malloc floor
 * (tests/bench/malloc/bintree.c): a stretch tree of depth 19, a long-lived tree of
 * depth 18, then for depths 4, 6, ..., 18: 2^(18 - d + 4) trees built bottom up,
 * each counted (check: its number of nodes) and dropped. Nodes are two pointers from
 * GC_MALLOC; nothing is freed by hand. Prints the benchmark's standard lines, which
 * tools/gcbench.py compares across every implementation, then
 *   BENCH boehm_bintree_ms_m<M>    the whole run, ms
 * where M is the number of marker threads from GC_MARKERS (checked, as in gcbench.c).
 *
 *   GC_MARKERS=1 boehm_bintree      (or GC_MARKERS=2)
 */
#define GC_THREADS
#include <gc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DEPTH     18
#define MIN_DEPTH 4

struct node {
	struct node *left, *right;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct node *bottom_up(int depth)
{
	struct node *n = GC_MALLOC(sizeof(*n));
	if (!n) {
		fprintf(stderr, "boehm_bintree: out of memory\n");
		exit(1);
	}
	if (depth > 0) {		/* GC_MALLOC zeroes: a leaf's children are NULL */
		n->left = bottom_up(depth - 1);
		n->right = bottom_up(depth - 1);
	}
	return n;
}

static long check(const struct node *n)
{
	return n->left ? 1 + check(n->left) + check(n->right) : 1;
}

int main(void)
{
	const char *env = getenv("GC_MARKERS");
	int markers = env ? atoi(env) : 0;
	if (markers < 1) {
		fprintf(stderr, "boehm_bintree: set GC_MARKERS to the number of marker threads (1 or 2)\n");
		return 1;
	}
	GC_INIT();
	GC_start_mark_threads();
	if (GC_get_parallel() != markers - 1) {
		fprintf(stderr, "boehm_bintree: GC_MARKERS=%d but the collector runs %d "
			"marker thread(s)\n", markers, GC_get_parallel() + 1);
		return 1;
	}

	int max = DEPTH < MIN_DEPTH + 2 ? MIN_DEPTH + 2 : DEPTH;
	uint64_t t0 = now_ns();
	printf("stretch tree of depth %d\t check: %ld\n", max + 1, check(bottom_up(max + 1)));
	struct node *volatile long_lived = bottom_up(max);
	for (int d = MIN_DEPTH; d <= max; d += 2) {
		long iters = 1L << (max - d + MIN_DEPTH), sum = 0;
		for (long i = 0; i < iters; i++)
			sum += check(bottom_up(d));
		printf("%ld\t trees of depth %d\t check: %ld\n", iters, d, sum);
	}
	printf("long lived tree of depth %d\t check: %ld\n", max, check(long_lived));
	printf("BENCH boehm_bintree_ms_m%d %.1f ms\n", markers, (double)(now_ns() - t0) / 1e6);
	return 0;
}
