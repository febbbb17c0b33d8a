/*
 * tests/bench/malloc/bintree.c: binary-trees with glibc malloc and free (the floor of
 * the collector benchmarks: what the trees cost with no collector at all).
 *
 * binary-trees of the Computer Language Benchmarks Game at depth 18, the
 * single-threaded form, as on the Go and Boehm sides (tests/bench/go/gc,
 * tests/bench/boehm/bintree.c): a stretch tree of depth 19, a long-lived tree of
 * depth 18, then for depths 4, 6, ..., 18: 2^(18 - d + 4) trees built bottom up, each
 * counted (check: its number of nodes) and freed node by node. Nodes are two pointers
 * from malloc. Prints the benchmark's standard lines, which tools/gcbench.py compares
 * across every implementation, then
 *   BENCH malloc_bintree_ms_p1    the whole run, ms
 *
 *   malloc_bintree
 */
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
	struct node *n = malloc(sizeof(*n));
	if (!n) {
		fprintf(stderr, "malloc_bintree: out of memory\n");
		exit(1);
	}
	if (depth > 0) {
		n->left = bottom_up(depth - 1);
		n->right = bottom_up(depth - 1);
	} else {
		n->left = n->right = NULL;
	}
	return n;
}

static long check(const struct node *n)
{
	return n->left ? 1 + check(n->left) + check(n->right) : 1;
}

static void free_tree(struct node *n)
{
	if (n->left) {
		free_tree(n->left);
		free_tree(n->right);
	}
	free(n);
}

int main(void)
{
	int max = DEPTH < MIN_DEPTH + 2 ? MIN_DEPTH + 2 : DEPTH;
	uint64_t t0 = now_ns();
	struct node *t = bottom_up(max + 1);
	printf("stretch tree of depth %d\t check: %ld\n", max + 1, check(t));
	free_tree(t);
	struct node *long_lived = bottom_up(max);
	for (int d = MIN_DEPTH; d <= max; d += 2) {
		long iters = 1L << (max - d + MIN_DEPTH), sum = 0;
		for (long i = 0; i < iters; i++) {
			t = bottom_up(d);
			sum += check(t);
			free_tree(t);
		}
		printf("%ld\t trees of depth %d\t check: %ld\n", iters, d, sum);
	}
	printf("long lived tree of depth %d\t check: %ld\n", max, check(long_lived));
	free_tree(long_lived);
	printf("BENCH malloc_bintree_ms_p1 %.1f ms\n", (double)(now_ns() - t0) / 1e6);
	return 0;
}
