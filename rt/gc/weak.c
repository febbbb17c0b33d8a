/*
 * rt/gc/weak.c: disappearing links, the weak references of the Boehm-style interface
 * (gc.h: GC_general_register_disappearing_link).
 *
 * A link is a pointer-sized word anywhere (a heap object, a global, a registered root)
 * registered together with a heap object: when a cycle finds the object unreachable,
 * the word is cleared, before the object's finalizer (if any) runs. The registry is
 * metadata, never scanned, so a registration does not keep the object alive; the
 * link's word itself is scanned like any other word, so a program that wants the
 * object to go stores it hidden there (GC_HIDE_POINTER) or in pointer-free memory.
 *
 * The clearing (weak_clear_dead) runs in mark termination with the world stopped, on
 * the CPU that stopped it, after the last object was marked and before the sweep
 * generation flips: the mark bits are final and no goroutine runs. A link that sits
 * in a heap object found unreachable itself is dropped without being written (that
 * memory is about to be freed). Links registered during a cycle are as good as any:
 * the registration takes the lock the clearing takes.
 *
 * The registry: a hash table by the link's address, chained, nodes from meta_alloc,
 * under weak_lock (taken with interrupts off; never held across anything that waits,
 * so a stopped CPU never holds it).
 */
#include <arch/ops.h>
#include <arch/noscan.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>
#include <rt/gc.h>
#include "heap.h"
#include "mark.h"

#define WEAK_BUCKETS 4096

struct weak {
	struct weak *next;
	void **link;
	uintptr_t obj;
};

static struct spinlock weak_lock = SPINLOCK_INIT("gc_weak", LOCK_RANK_GC_SPECIAL);
static struct weak *weak_table[WEAK_BUCKETS];	/* weak_lock */
NOSCAN(weak_table);	/* metadata: the nodes hold the objects, unscanned */
static uint64_t weak_count;			/* weak_lock */
/* weak_lock: nodes dropped with the world stopped, freed by the next registration or
 * removal (meta_free takes locks a stopped CPU may hold: not inside the stop) */
static struct weak *weak_dead;

static void free_dead(void)
{
	spin_lock_irqsave(&weak_lock);
	struct weak *dead = weak_dead;
	weak_dead = NULL;
	spin_unlock_irqrestore(&weak_lock);
	while (dead) {
		struct weak *w = dead;
		dead = w->next;
		meta_free(w, sizeof(*w));
	}
}

static unsigned bucket(void **link)
{
	uint64_t h = (uintptr_t)link >> 3;
	h *= 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> 52) % WEAK_BUCKETS;
}

int weak_register(void **link, const void *obj)
{
	if ((uintptr_t)link % sizeof(void *))
		panic("GC_general_register_disappearing_link: link %p is not aligned to a pointer", (void *)link);
	if (!obj || gc_base(obj) != obj)
		panic("GC_general_register_disappearing_link: object %p is not the start of a heap object",
		      obj);
	free_dead();
	struct weak *nw = meta_alloc(sizeof(*nw));
	nw->link = link;
	nw->obj = (uintptr_t)obj;
	unsigned b = bucket(link);
	spin_lock_irqsave(&weak_lock);
	for (struct weak *w = weak_table[b]; w; w = w->next)
		if (w->link == link) {
			spin_unlock_irqrestore(&weak_lock);
			meta_free(nw, sizeof(*nw));
			return 1;	/* GC_DUPLICATE: the old registration stays */
		}
	nw->next = weak_table[b];
	weak_table[b] = nw;
	weak_count++;
	spin_unlock_irqrestore(&weak_lock);
	return 0;
}

bool weak_unregister(void **link)
{
	free_dead();
	unsigned b = bucket(link);
	struct weak *gone = NULL;
	spin_lock_irqsave(&weak_lock);
	for (struct weak **pp = &weak_table[b]; *pp; pp = &(*pp)->next)
		if ((*pp)->link == link) {
			gone = *pp;
			*pp = gone->next;
			weak_count--;
			break;
		}
	spin_unlock_irqrestore(&weak_lock);
	if (gone)
		meta_free(gone, sizeof(*gone));
	return gone != NULL;
}

static bool marked(uintptr_t p)
{
	struct span *s = span_of(p);
	return s && bit_get(s->markbits, span_objindex(s, p));
}

unsigned weak_clear_dead(void)
{
	KASSERT(!arch_irq_enabled());
	unsigned cleared = 0;
	/* no link, no lock: the world is stopped, and no stopped CPU holds weak_lock or
	 * is inside a registration (see the top), so the count cannot move */
	if (!__atomic_load_n(&weak_count, __ATOMIC_RELAXED))
		return 0;
	spin_lock_irqsave(&weak_lock);
	for (unsigned b = 0; b < WEAK_BUCKETS; b++) {
		struct weak **pp = &weak_table[b];
		while (*pp) {
			struct weak *w = *pp;
			bool link_dies = span_of((uintptr_t)w->link) && !marked((uintptr_t)w->link);
			bool obj_dies = !marked(w->obj);
			if (!link_dies && !obj_dies) {
				pp = &w->next;
				continue;
			}
			if (!link_dies) {
				*w->link = NULL;
				cleared++;
			}
			*pp = w->next;
			weak_count--;
			w->next = weak_dead;
			weak_dead = w;
		}
	}
	spin_unlock_irqrestore(&weak_lock);
	return cleared;
}
