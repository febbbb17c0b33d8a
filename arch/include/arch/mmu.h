/*
 * arch/mmu.h: the kernel's page tables, one address space.
 *
 * The arch owns the table format; kernel/vm.c owns the policy (what is mapped where,
 * with which rights, see arch/memlayout.h). Page-table pages come from the allocator
 * the kernel registers with arch_mmu_init(); the arch never calls up otherwise.
 *
 * Context: not from interrupt handlers; the caller serialises (one boot CPU for now,
 * the vm lock later). arch_mmu_map picks 2 MiB blocks where va, pa and size allow.
 */
#ifndef ARCH_MMU_H
#define ARCH_MMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Generic mapping rights; the arch translates them. READ is implied. */
#define MMU_WRITE	(1u << 0)
#define MMU_EXEC	(1u << 1)
#define MMU_DEVICE	(1u << 2)	/* device memory: uncached, strongly ordered */
/* A hint, not a right: the range is about to be written, so an arch that can map it
 * eagerly does (the hosted platform: one mmap populating it instead of a host page
 * fault per page). The hardware arches ignore it; arch_mmu_query never returns it. */
#define MMU_POPULATE	(1u << 3)

/* Returns the physical address of a zeroed page, or 0 when memory is exhausted. */
typedef uint64_t (*mmu_page_alloc_fn)(void);

/* Start a new, empty kernel address space whose table pages come from alloc. */
int arch_mmu_init(mmu_page_alloc_fn alloc);

/* Map [va, va+size) to [pa, pa+size) with flags. 0, or -1 if out of table memory or
 * already mapped. va, pa, size page-aligned. */
int arch_mmu_map(uint64_t va, uint64_t pa, uint64_t size, unsigned flags);

/* Unmap [va, va+size) on this CPU (no shootdown yet). Returns pages unmapped. */
uint64_t arch_mmu_unmap(uint64_t va, uint64_t size);

/* Translate va: true and *pa, *flags when mapped. Works on the active tables. */
bool arch_mmu_query(uint64_t va, uint64_t *pa, unsigned *flags);

/* Call fn for every leaf mapping of the active tables, in address order, merged into
 * runs of equal flags and contiguous physical addresses. */
void arch_mmu_walk(void (*fn)(void *ctx, uint64_t va, uint64_t pa, uint64_t size, unsigned flags),
		   void *ctx);

/*
 * Read 8 bytes at va: 0 and *val, or -1 if the read faulted. The fault is absorbed:
 * the kernel's trap handler asks arch_probe_fixup() first, which redirects a fault
 * inside arch_probe_read to its failure return. For tests of unmapping and TLB
 * shootdown; any context.
 */
int arch_probe_read(uint64_t va, uint64_t *val);
struct arch_frame;
bool arch_probe_fixup(struct arch_frame *f);

/* Switch this CPU to the tables built by arch_mmu_init/arch_mmu_map. */
void arch_mmu_activate(void);

#endif
