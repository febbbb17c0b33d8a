/*
 * trees: the Benchmarks Game's binary-trees on the collector.
 *
 *   trees [depth]        maximum depth, 6..21 (default 12)
 *
 * Allocates a stretch tree one level deeper than the maximum and checks it, keeps a
 * long-lived tree of the maximum depth for the whole run, then for every depth from 4
 * to the maximum in steps of two builds and checks 2^(max - depth + 4) trees: one
 * goroutine per depth, all at once, each sending its line back on its own channel
 * (so the output comes out in order). Nodes are typed objects (GC_TYPE, gc_new):
 * nothing is freed by hand, the collector reclaims every tree once its check is done.
 * The long-lived tree hangs from a global only: a program's globals are roots.
 * The lines are the benchmark's, so the counts can be compared with any other
 * implementation's; a last line gives the collector's statistics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/go.h>

#define MIN_DEPTH 4

struct node {
	struct node *left, *right;
};
GC_TYPE(node_type, struct node, left, right);

struct line {
	long trees, depth, check;
};

static struct node *build(int depth)
{
	struct node *n = gc_new(&node_type);
	if (depth > 0) {
		gc_store(&n->left, build(depth - 1));
		gc_store(&n->right, build(depth - 1));
	}
	return n;
}

static long check(const struct node *n)
{
	return 1 + (n->left ? check(n->left) + check(n->right) : 0);
}

static int max_depth;
static struct node *long_lived;		/* a root: the image's data and bss are scanned */

struct job {
	int depth;
	struct chan *out;
};

static void depth_worker(void *arg)
{
	struct job *j = arg;
	struct line l = { 1L << (max_depth - j->depth + MIN_DEPTH), j->depth, 0 };
	for (long i = 0; i < l.trees; i++)
		l.check += check(build(j->depth));
	chan_send(j->out, &l);
}

int main(int argc, char **argv)
{
	char *end = "";
	max_depth = argc > 1 ? (int)strtol(argv[1], &end, 10) : 12;
	if (argc > 2 || *end || max_depth < MIN_DEPTH + 2 || max_depth > 21) {
		fprintf(stderr, "usage: %s [depth]   (6..21)\n", argv[0]);
		return 2;
	}
	uint64_t t0 = go_now();
	printf("stretch tree of depth %d\t check: %ld\n", max_depth + 1, check(build(max_depth + 1)));
	gc_store(&long_lived, build(max_depth));

	int njobs = (max_depth - MIN_DEPTH) / 2 + 1;
	struct job *jobs = gc_alloc(sizeof(struct job) * (size_t)njobs);
	for (int i = 0; i < njobs; i++) {
		jobs[i].depth = MIN_DEPTH + 2 * i;
		gc_store(&jobs[i].out, chan_make(sizeof(struct line), 1));
		go(depth_worker, &jobs[i]);
	}
	for (int i = 0; i < njobs; i++) {
		struct line l;
		chan_recv(jobs[i].out, &l);
		printf("%ld\t trees of depth %ld\t check: %ld\n", l.trees, l.depth, l.check);
	}
	printf("long lived tree of depth %d\t check: %ld\n", max_depth, check(long_lived));

	struct gc_stats s;
	gc_stats(&s);
	printf("trees: %.0f ms on %u CPUs; the collector: %llu cycles, %llu of %llu objects "
	       "freed, longest pause %llu us, heap %llu KiB\n", (double)(go_now() - t0) / 1e6,
	       go_ncpu(), (unsigned long long)s.cycles, (unsigned long long)s.frees,
	       (unsigned long long)s.allocs, (unsigned long long)s.pause_max_ns / 1000,
	       (unsigned long long)s.heap_inuse >> 10);
	return 0;
}
