/*
 * rt/gc/checkmark.c: the checkmark pass (Go's GODEBUG=gccheckmark=1): the collector
 * checking itself.
 *
 * With gccheckmark=1, at the end of every cycle's marking, still inside the
 * mark-termination pause, the whole heap is marked again from the roots, with the
 * world stopped (so nothing changes under it), into the spans' check bits. Every
 * object this second mark reaches must already carry the concurrent mark's bit: one
 * that does not was reachable and white, and the sweep would have freed it. That is a
 * lost object, the worst bug a collector can have (a missing write barrier in the
 * program or the runtime, a stack or register not scanned, a race in the collector),
 * and the pass panics at once, naming the object, its size and kind, and the slot it
 * was found through: a heap object and the offset in it, a global, a registered root,
 * a goroutine's stack or registers.
 *
 * Every CPU takes part (gc.c runs this inside stop_the_world_all): each re-scans its
 * own running goroutine (only that CPU can read its registers), the caller scans the
 * other roots, and all drain. The check bits are cleared by the sweep.
 */
#include <stdio.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/sched.h>
#include "mark.h"

static const char *kind_name(const struct span *s)
{
	const struct gc_type *t = atomic_load(&s->type);
	switch (s->kind) {
	case SPAN_NOSCAN:
		return "no pointers";
	case SPAN_TYPED:
		return t ? t->name : "typed";
	default:
		return "untyped, conservative";
	}
}

static void describe_slot(uintptr_t slot, char *buf, size_t len)
{
	if (!slot) {
		snprintf(buf, len, "a root with no address (the finalizer queue or a barrier)");
		return;
	}
	struct span *s = span_of(slot);
	if (s) {
		uint32_t i = span_objindex(s, slot);
		uintptr_t base = span_objbase(s, i);
		snprintf(buf, len, "heap object 0x%lx (%u bytes, %s) + 0x%lx", (unsigned long)base,
			 s->elemsize, kind_name(s), (unsigned long)(slot - base));
		return;
	}
	if (gc_roots_describe(slot, buf, len))
		return;
	for (struct g *g = sched.allgs; g; g = g->alllink)
		if (g->stack.top && slot >= g->stack.base && slot < g->stack.top) {
			snprintf(buf, len, "the stack of goroutine %llu at 0x%lx (top - 0x%lx)",
				 (unsigned long long)g->id, (unsigned long)slot,
				 (unsigned long)(g->stack.top - slot));
			return;
		}
	const struct g *g = gc_cpus[cpu_id()].scanning;
	if (g) {
		snprintf(buf, len, "the registers of goroutine %llu (saved context or interrupt frame, "
			 "at 0x%lx)", (unsigned long long)g->id, (unsigned long)slot);
		return;
	}
	snprintf(buf, len, "an unknown slot at 0x%lx", (unsigned long)slot);
}

void checkmark_found(uintptr_t slot, uintptr_t p, struct span *s, uint32_t idx)
{
	char where[160];
	describe_slot(slot, where, sizeof(where));
	uintptr_t obj = span_objbase(s, idx);
	panic("gc checkmark: object 0x%lx (%u bytes, %s) is reachable but was not marked: "
	      "found through %s, which holds 0x%lx (cycle %u)", (unsigned long)obj, s->elemsize,
	      kind_name(s), where, (unsigned long)p, atomic_load(&gc_cycle));
}

/* The roots but the running goroutines' stacks (the caller, once, world stopped). */
void checkmark_scan_roots(struct gcwork *w)
{
	KASSERT(checkmark_active);
	for (unsigned c = 0; c < gc_roots_data_chunks(); c++)
		gc_roots_scan_data(c, w);
	gc_roots_scan_registered(w);
	final_mark_roots(w);
	for (struct g *g = sched.allgs; g; g = g->alllink) {
		uint32_t st = atomic_load(&g->status) & ~(uint32_t)G_SCAN;
		if (st == G_DEAD || st == G_RUNNING || st == G_IDLE)
			continue;
		gc_scan_stack_saved(g, &gc_cpus[cpu_id()].w);
	}
}
