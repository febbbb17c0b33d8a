/*
 * tests/boehm/links.c: disappearing links (weak references) in the Boehm collector's
 * style, built unchanged against Debian's libgc and against this runtime's gc.h
 * (tools/boehmprogs.py).
 *
 * A table holds hidden pointers to N objects, each registered as a disappearing link;
 * the objects with an even index stay reachable from a list, the odd ones are dropped.
 * After collections, every even link still points to its intact object, and the odd
 * ones are cleared. Registering twice says GC_DUPLICATE; unregistering says whether
 * the link was registered.
 */
#include <stdio.h>
#include <gc.h>

#define N 4000

struct obj {
	struct obj *next;
	long id;
};

static void **table;		/* pointer-free memory: the links do not keep anything */
static struct obj *keep;	/* the even objects */

static void __attribute__((noinline)) build(void)
{
	for (long i = 0; i < N; i++) {
		struct obj *o = GC_NEW(struct obj);
		o->id = i;
		table[i] = o;
		if (GC_GENERAL_REGISTER_DISAPPEARING_LINK(&table[i], o) != GC_SUCCESS)
			printf("registration %ld failed\n", i);
		if (i % 2 == 0) {
			o->next = keep;
			keep = o;
		}
	}
}

int main(void)
{
	GC_INIT();
	table = GC_MALLOC_ATOMIC(N * sizeof(void *));
	build();
	printf("second registration: %s\n",
	       GC_GENERAL_REGISTER_DISAPPEARING_LINK(&table[0], table[0]) == GC_DUPLICATE ? "duplicate" : "accepted");
	long cleared = 0;
	for (int round = 0; round < 50; round++) {
		GC_gcollect();
		cleared = 0;
		for (long i = 1; i < N; i += 2)
			cleared += table[i] == NULL;
		if (cleared == N / 2)
			break;
	}
	long even_ok = 0;
	for (long i = 0; i < N; i += 2) {
		struct obj *o = table[i];
		even_ok += o && o->id == i;
	}
	long listed = 0;
	for (struct obj *o = keep; o; o = o->next)
		listed++;
	printf("reachable objects' links intact: %ld of %d\n", even_ok, N / 2);
	printf("unreachable objects' links cleared: %s\n",
	       cleared == N / 2 ? "all" : cleared >= N / 2 * 9 / 10 ? "most" : "few");
	printf("list still holds %ld objects\n", listed);
	printf("unregister a registered link: %d\n", GC_unregister_disappearing_link(&table[0]));
	printf("unregister it again: %d\n", GC_unregister_disappearing_link(&table[0]));
	printf("done\n");
	return 0;
}
