/*
 * tests/boehm/tree.c: a tree program in the Boehm collector's style (plain stores,
 * GC_MALLOC, no barrier), built unchanged against Debian's libgc and against this
 * runtime's gc.h (tools/boehmprogs.py runs both and compares their output).
 *
 * Builds many short-lived binary trees next to a long-lived one and a pointer-free
 * array, grows a buffer with GC_REALLOC, keeps one object only through an
 * uncollectable holder, and checks every node's contents after the collections.
 */
#include <stdio.h>
#include <string.h>
#include <gc.h>

struct node {
	struct node *left, *right;
	long id;
};

static long next_id;

static struct node *make(int depth)
{
	struct node *n = GC_NEW(struct node);
	n->id = next_id++;
	if (depth > 0) {
		n->left = make(depth - 1);
		n->right = make(depth - 1);
	}
	return n;
}

/* nodes, and whether every id below is larger than its parent's (built in preorder) */
static long check(const struct node *n, int *ok)
{
	if (!n)
		return 0;
	if ((n->left && n->left->id <= n->id) || (n->right && n->right->id <= n->id))
		*ok = 0;
	return 1 + check(n->left, ok) + check(n->right, ok);
}

int main(void)
{
	GC_INIT();
	struct node *long_lived = make(16);
	double *array = GC_MALLOC_ATOMIC(100000 * sizeof(double));
	for (int i = 0; i < 100000; i++)
		array[i] = i * 0.5;
	struct node **holder = GC_MALLOC_UNCOLLECTABLE(sizeof(*holder));
	*holder = make(8);
	GC_word hidden = GC_HIDE_POINTER(holder);	/* the holder is kept by being uncollectable */
	holder = NULL;

	long total = 0;
	for (int depth = 4; depth <= 14; depth += 2) {
		int iters = 1 << (16 - depth);
		long nodes = 0;
		int ok = 1;
		for (int i = 0; i < iters; i++)
			nodes += check(make(depth), &ok);
		total += nodes;
		printf("%d trees of depth %d: %ld nodes, order %s\n", iters, depth, nodes, ok ? "ok" : "BROKEN");
	}

	char *buf = GC_STRDUP("x");
	for (int i = 0; i < 14; i++) {
		size_t n = strlen(buf);
		buf = GC_REALLOC(buf, 2 * n + 1);
		memcpy(buf + n, buf, n);
		buf[2 * n] = 0;
	}
	char *copy = GC_STRNDUP(buf, 100);
	GC_gcollect();

	int ok = 1;
	long kept = check(long_lived, &ok);
	long held = check(*(struct node **)GC_REVEAL_POINTER(hidden), &ok);
	double sum = 0;
	for (int i = 0; i < 100000; i++)
		sum += array[i];
	printf("long-lived tree: %ld nodes, order %s\n", kept, ok ? "ok" : "BROKEN");
	printf("uncollectable holder's tree: %ld nodes\n", held);
	printf("array sum: %.1f\n", sum);
	printf("buffer: %zu bytes, copy %zu bytes\n", strlen(buf), strlen(copy));
	printf("short-lived nodes: %ld\n", total);
	printf("collections ran: %s\n", GC_get_gc_no() > 0 ? "yes" : "no");
	GC_FREE(*(struct node **)GC_REVEAL_POINTER(hidden));
	GC_FREE(GC_REVEAL_POINTER(hidden));
	printf("done\n");
	return 0;
}
