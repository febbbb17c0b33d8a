/*
 * arch/mmu_walk.h: the half of arch_mmu_walk() that does not depend on the table
 * format. Each arch's walker visits leaves in address order and feeds them to
 * mmu_walk_emit(), which merges neighbours (contiguous in both virtual and physical
 * address, same rights) into runs before calling the visitor.
 */
#ifndef ARCH_MMU_WALK_H
#define ARCH_MMU_WALK_H

#include <stdint.h>

typedef void (*mmu_walk_fn)(void *ctx, uint64_t va, uint64_t pa, uint64_t size, unsigned flags);

struct mmu_walk_run {
	mmu_walk_fn fn;
	void *ctx;
	uint64_t va, pa, size;		/* the run being gathered; size 0: none yet */
	unsigned flags;
};

static inline void mmu_walk_emit(struct mmu_walk_run *r, uint64_t va, uint64_t pa, uint64_t size,
				 unsigned flags)
{
	if (r->size && r->va + r->size == va && r->pa + r->size == pa && r->flags == flags) {
		r->size += size;
		return;
	}
	if (r->size)
		r->fn(r->ctx, r->va, r->pa, r->size, r->flags);
	r->va = va, r->pa = pa, r->size = size, r->flags = flags;
}

/* Deliver the last run. */
static inline void mmu_walk_finish(struct mmu_walk_run *r)
{
	if (r->size)
		r->fn(r->ctx, r->va, r->pa, r->size, r->flags);
}

#endif
