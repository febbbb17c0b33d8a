/*
 * rt/gc/roots.c: the roots that are not stacks: the image's data, and ranges a
 * program registers (gc_add_roots).
 *
 * The image's .data and .bss, [__gc_roots_start, __gc_roots_end) from the linker
 * scripts, minus the kernel's tables listed with NOSCAN (arch/noscan.h), are
 * scanned conservatively every cycle, as root jobs of 64 KiB each so that every marker
 * takes a share and no job holds interrupts off for long. A program's own globals
 * are there, so they need no registration; stores into them take the write barrier
 * like stores into the heap (gc.h).
 *
 * Registered ranges live on a list under the ctl lock; the root job scans them all
 * with the lock held (registration is rare, and the lock keeps a removal from
 * freeing a range under the scan). A range registered while a cycle marks is scanned
 * at once: what it holds was stored before it was a root, without a barrier.
 */
#include <stdio.h>
#include <string.h>
#include <kernel/cpu.h>
#include <arch/noscan.h>
#include <kernel/panic.h>
#include "mark.h"

#define DATA_CHUNK (64u << 10)

struct root_range {
	uintptr_t lo, hi;
	struct root_range *next;
};

static struct spinlock roots_lock = SPINLOCK_INIT("gc_roots", LOCK_RANK_GC_CTL);
static struct root_range *roots;		/* roots_lock */

unsigned gc_roots_data_chunks(void)
{
	uintptr_t n = (uintptr_t)__gc_roots_end - (uintptr_t)__gc_roots_start;
	return (unsigned)((n + DATA_CHUNK - 1) / DATA_CHUNK);
}

/* Scan [lo, hi) minus the NOSCAN ranges (w NULL: only count); the bytes scanned. */
static uint64_t scan_minus_noscan(uintptr_t lo, uintptr_t hi, struct gcwork *w)
{
	uint64_t bytes = 0;
	while (lo < hi) {
		uintptr_t cut = hi;
		const struct noscan_range *skip = NULL;
		for (const struct noscan_range *r = __noscan_start; r < __noscan_end; r++) {
			uintptr_t a = (uintptr_t)r->start, b = (uintptr_t)r->end;
			if (b <= lo || a >= hi)
				continue;
			if (a <= lo) {		/* lo is inside r: jump past it */
				skip = r;
				break;
			}
			if (a < cut)
				cut = a;
		}
		if (skip) {
			lo = (uintptr_t)skip->end;
			continue;
		}
		if (w)
			gc_scan_conservative(lo, cut, w);
		bytes += cut - lo;
		lo = cut;
	}
	return bytes;
}

uint64_t gc_roots_scan_data(unsigned chunk, struct gcwork *w)
{
	(void)w;
	uintptr_t lo = (uintptr_t)__gc_roots_start + (uintptr_t)chunk * DATA_CHUNK;
	uintptr_t hi = lo + DATA_CHUNK;
	if (hi > (uintptr_t)__gc_roots_end)
		hi = (uintptr_t)__gc_roots_end;
	irq_push();
	uint64_t bytes = scan_minus_noscan(lo, hi, &gc_cpus[cpu_id()].w);
	irq_pop();
	return bytes;
}

uint64_t gc_roots_data_bytes(void)
{
	static _Atomic uint64_t bytes;	/* (the image does not change) */
	uint64_t b = atomic_load_explicit(&bytes, memory_order_relaxed);
	if (!b) {
		b = scan_minus_noscan((uintptr_t)__gc_roots_start, (uintptr_t)__gc_roots_end, NULL);
		atomic_store_explicit(&bytes, b, memory_order_relaxed);
	}
	return b;
}

uint64_t gc_roots_scan_registered(struct gcwork *w)
{
	(void)w;
	uint64_t bytes = 0;
	spin_lock_irqsave(&roots_lock);
	struct gcwork *mine = &gc_cpus[cpu_id()].w;
	for (struct root_range *r = roots; r; r = r->next) {
		gc_scan_conservative(r->lo, r->hi, mine);
		bytes += r->hi - r->lo;
	}
	spin_unlock_irqrestore(&roots_lock);
	return bytes;
}

void gc_add_roots(void *addr, size_t len)
{
	if (!addr || !len)
		panic("gc_add_roots: empty range (%p, %zu bytes)", addr, len);
	uintptr_t lo = (uintptr_t)addr;
	if (lo + len < lo)
		panic("gc_add_roots: range %p + %zu wraps around", addr, len);
	struct root_range *r = meta_alloc(sizeof(*r));
	r->lo = lo;
	r->hi = lo + len;
	spin_lock_irqsave(&roots_lock);
	for (struct root_range *o = roots; o; o = o->next)
		if (o->lo < r->hi && lo < o->hi) {
			uintptr_t olo = o->lo, ohi = o->hi;
			spin_unlock_irqrestore(&roots_lock);
			panic("gc_add_roots: [%p, +%zu) overlaps the registered root [0x%lx, 0x%lx)", addr,
			      len, (unsigned long)olo, (unsigned long)ohi);
		}
	r->next = roots;
	roots = r;
	if (atomic_load(&gc_phase) == GC_MARK)
		gc_scan_conservative(r->lo, r->hi, &gc_cpus[cpu_id()].w);
	spin_unlock_irqrestore(&roots_lock);
}

void gc_remove_roots(void *addr, size_t len)
{
	uintptr_t lo = (uintptr_t)addr;
	spin_lock_irqsave(&roots_lock);
	for (struct root_range **pp = &roots; *pp; pp = &(*pp)->next) {
		struct root_range *r = *pp;
		if (r->lo == lo && r->hi == lo + len) {
			*pp = r->next;
			spin_unlock_irqrestore(&roots_lock);
			meta_free(r, sizeof(*r));
			gc_shade_cut(addr, len);
			return;
		}
	}
	spin_unlock_irqrestore(&roots_lock);
	panic("gc_remove_roots: [%p, +%zu) was not registered (exactly that range)", addr, len);
}

bool gc_roots_describe(uintptr_t slot, char *buf, size_t len)
{
	if (slot >= (uintptr_t)__gc_roots_start && slot < (uintptr_t)__gc_roots_end) {
		snprintf(buf, len, "global at 0x%lx (image data + 0x%lx)", (unsigned long)slot,
			 (unsigned long)(slot - (uintptr_t)__gc_roots_start));
		return true;
	}
	for (struct root_range *r = roots; r; r = r->next)	/* world stopped: no lock */
		if (slot >= r->lo && slot < r->hi) {
			snprintf(buf, len, "registered root [0x%lx, 0x%lx) + 0x%lx", (unsigned long)r->lo,
				 (unsigned long)r->hi, (unsigned long)(slot - r->lo));
			return true;
		}
	return false;
}
