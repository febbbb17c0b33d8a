/*
 * tests/boehm/finalize.c: finalizers in the Boehm collector's style, built unchanged
 * against Debian's libgc and against this runtime's gc.h (tools/boehmprogs.py).
 *
 * Many objects with finalizers and client data, dropped; then collections until the
 * finalizers ran: each exactly once, with its object intact. A chain of two
 * finalizable objects is finalized in order (the one pointing to the other first),
 * an object pointing to itself is finalized when registered ignoring self, and a
 * re-registration returns the old finalizer.
 */
#include <stdio.h>
#include <string.h>
#include <gc.h>

#define N 2000

struct obj {
	struct obj *self, *next;
	long id;
	char tag[16];
};

struct counts {
	long run, bad, twice;
	unsigned char seen[N];
	int order[4], norder;
};

static struct counts *counts;	/* a global: a root */

static void fin(void *p, void *cd)
{
	struct obj *o = p;
	struct counts *c = cd;
	if (o->id < 0 || o->id >= N || strcmp(o->tag, "finalize me") != 0) {
		c->bad++;
		return;
	}
	if (c->seen[o->id]++)
		c->twice++;
	c->run++;
}

static void fin_order(void *p, void *cd)
{
	(void)cd;
	struct obj *o = p;
	if (counts->norder < 4)
		counts->order[counts->norder++] = (int)o->id;
}

static void other(void *p, void *cd)
{
	(void)p, (void)cd;
}

static void __attribute__((noinline)) make_garbage(void)
{
	for (long i = 0; i < N; i++) {
		struct obj *o = GC_NEW(struct obj);
		o->id = i;
		strcpy(o->tag, "finalize me");
		GC_REGISTER_FINALIZER(o, fin, counts, NULL, NULL);
	}
}

static void __attribute__((noinline)) make_chain_and_self(void)
{
	struct obj *a = GC_NEW(struct obj), *b = GC_NEW(struct obj);
	a->id = 1;
	b->id = 2;
	a->next = b;		/* a points to b: a first, b in a later cycle */
	GC_REGISTER_FINALIZER(b, fin_order, NULL, NULL, NULL);
	GC_REGISTER_FINALIZER(a, fin_order, NULL, NULL, NULL);
	struct obj *s = GC_NEW(struct obj);
	s->id = 3;
	s->self = s;
	GC_REGISTER_FINALIZER_IGNORE_SELF(s, fin_order, NULL, NULL, NULL);
}

int main(void)
{
	GC_INIT();
	counts = GC_MALLOC_ATOMIC(sizeof(*counts));
	memset(counts, 0, sizeof(*counts));

	struct obj *x = GC_NEW(struct obj);
	GC_finalization_proc ofn = NULL;
	void *ocd = NULL;
	GC_REGISTER_FINALIZER(x, other, counts, &ofn, &ocd);
	int first_empty = ofn == NULL && ocd == NULL;
	GC_REGISTER_FINALIZER(x, NULL, NULL, &ofn, &ocd);
	printf("re-registration returned the old finalizer: %s\n",
	       first_empty && ofn == other && ocd == counts ? "yes" : "no");

	make_garbage();
	make_chain_and_self();
	for (int i = 0; i < 200 && (counts->run < N || counts->norder < 3); i++)
		GC_gcollect();
	printf("finalized %s of %d objects, %ld bad, %ld twice\n",
	       counts->run == N ? "all" : counts->run >= N * 9 / 10 ? "most" : "few", N, counts->bad,
	       counts->twice);
	int a_before_b = -1, self_done = 0;
	for (int i = 0; i < counts->norder; i++) {
		if (counts->order[i] == 1 && a_before_b < 0)
			a_before_b = 1;
		if (counts->order[i] == 2 && a_before_b < 0)
			a_before_b = 0;
		if (counts->order[i] == 3)
			self_done = 1;
	}
	printf("chain finalized in order: %s\n", a_before_b == 1 ? "yes" : "no");
	printf("self-referencing object finalized (ignore self): %s\n", self_done ? "yes" : "no");
	GC_gcollect();
	printf("no finalizer ran twice: %s\n", counts->twice == 0 ? "yes" : "no");
	printf("done\n");
	return 0;
}
