/*
 * kernel/pmm.h: the physical page allocator.
 *
 * Built once from the boot memory map minus reserved ranges; hands out 4 KiB pages.
 * A struct pmm is self-contained so host tests can run several against fake memory.
 * Context: not from interrupt handlers. Single boot CPU for now: SMP adds the lock
 * (the fields it will guard are marked below).
 */
#ifndef KERNEL_PMM_H
#define KERNEL_PMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <boot/bootinfo.h>
#include <kernel/platform.h>

struct pmm {
	/* Set by pmm_init, read-only afterwards. */
	uint64_t base;		/* physical address of bit 0 */
	uint64_t npages;	/* pages the bitmap covers, usable or not */
	uint64_t *bitmap;	/* 1 = not free; lives inside managed memory, marked used */
	uint64_t *unmanaged;	/* 1 = the allocator does not own the page (not usable
				 * RAM, or reserved); a free of such a page is refused */
	uintptr_t virt_offset;	/* virtual = physical + virt_offset */
	uint64_t total;		/* usable pages at init */

	/* Guarded by the pmm lock (SMP). */
	uint64_t nfree;
	uint64_t hint;		/* no free page below this bit index */
};

/*
 * Build the allocator from a memory map (any order, overlaps allowed: a page is free
 * only if some USABLE entry covers it and no other entry type or reserved range does).
 * zeroed: the usable RAM outside the reserved ranges is known to read as zero (the
 * hosted platform's fresh memory file), so the bitmaps are not cleared: only the words
 * of pages taken out are written. Returns 0, or -1 with err set (no usable memory, no
 * room for the bitmap).
 */
int pmm_init(struct pmm *pm, const struct bootinfo_mem *map, uint32_t n,
	     const struct platform_range *rsv, uint32_t nrsv, uintptr_t virt_offset, bool zeroed,
	     char *err, size_t errlen);

/* A free page's physical address (lowest first), or 0 when none is left. */
uint64_t pmm_alloc(struct pmm *pm);
/* npages physically contiguous pages, aligned to align pages; 0 if none. */
uint64_t pmm_alloc_contig(struct pmm *pm, uint64_t npages, uint64_t align);
/* Give a page back. -1 if pa is not a page this allocator handed out (double free,
 * unaligned, outside the map): the caller decides whether that is fatal. */
int pmm_free(struct pmm *pm, uint64_t pa);
bool pmm_is_free(const struct pmm *pm, uint64_t pa);

/* The kernel's allocator and its wrappers (page_alloc zeroes the page). */
extern struct pmm kernel_pmm;
uint64_t page_alloc(void);
/* npages physically contiguous zeroed pages aligned to align pages, or 0. */
uint64_t page_alloc_contig(uint64_t npages, uint64_t align);
/* The same, and page_alloc, not zeroed: for a caller that maps the pages elsewhere and
 * zeroes them through that mapping. Same cost on hardware; on the hosted platform a
 * page touched through two mappings of its memfd counts twice in the process's RSS. */
uint64_t page_alloc_contig_unzeroed(uint64_t npages, uint64_t align);
uint64_t page_alloc_unzeroed(void);
void page_free(uint64_t pa);
/* Free pages right now (a snapshot, for statistics and tests). */
uint64_t page_free_count(void);

#endif
