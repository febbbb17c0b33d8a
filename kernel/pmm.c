/*
 * kernel/pmm.c: physical pages, one bit each.
 *
 * Two bitmaps span [lowest usable page, highest usable page]: `bitmap` (set = free)
 * and `managed` (set = usable RAM the allocator owns; reserved pages and holes are
 * never managed, so freeing one is caught instead of adding it to the pool). Both live
 * in the first usable run large enough to hold them; those pages are not managed. Allocation scans from `hint` (every page below it is known to be used),
 * so the common case is O(1) amortised and pages come out lowest first, which keeps
 * early page-table pages inside the low memory the early direct map covers.
 *
 * Rejected: a free list threaded through the pages (touches every page at init and
 * cannot detect double frees), a buddy allocator (not needed before the GC's spans,
 * which take pages one run at a time from pmm_alloc_contig).
 *
 * The memory map is untrusted: entries with base + size overflowing, or past
 * DMAP_SIZE-like limits, are clipped; overlaps resolve towards "not usable".
 */
#include <stdio.h>
#include <string.h>
#include <arch/memlayout.h>
#include <kernel/pmm.h>

#define PMM_MAX_PHYS (1ull << 45)	/* matches the direct map's reach */

struct pmm kernel_pmm;

static inline uint64_t *pmm_bits(const struct pmm *pm) { return pm->bitmap; }

static inline bool bit_get(const struct pmm *pm, uint64_t i)
{
	return pmm_bits(pm)[i / 64] & (1ull << (i % 64));
}

static inline void bit_set(struct pmm *pm, uint64_t i) { pmm_bits(pm)[i / 64] |= 1ull << (i % 64); }
static inline bool managed(const struct pmm *pm, uint64_t i) { return pm->managed[i / 64] & (1ull << (i % 64)); }
static inline void bit_clear(struct pmm *pm, uint64_t i) { pmm_bits(pm)[i / 64] &= ~(1ull << (i % 64)); }

/* The page-aligned interior of [base, base+size) clipped to PMM_MAX_PHYS; false if empty. */
static bool clip(uint64_t base, uint64_t size, uint64_t *lo, uint64_t *hi)
{
	uint64_t end = base + size;
	if (size == 0 || end < base)
		end = size ? UINT64_MAX : base;
	if (end > PMM_MAX_PHYS)
		end = PMM_MAX_PHYS;
	*lo = (base + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	*hi = end & ~(PAGE_SIZE - 1);
	if (base > UINT64_MAX - PAGE_SIZE)
		return false;
	return *lo < *hi;
}

/* The page-covering hull of a non-usable range, for removal. */
static bool hull(uint64_t base, uint64_t size, uint64_t *lo, uint64_t *hi)
{
	uint64_t end = base + size;
	if (size == 0)
		return false;
	if (end < base)
		end = UINT64_MAX;
	*lo = base & ~(PAGE_SIZE - 1);
	*hi = end > UINT64_MAX - PAGE_SIZE ? UINT64_MAX & ~(PAGE_SIZE - 1) : (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	return true;
}

static void mark_range(struct pmm *pm, uint64_t lo, uint64_t hi, bool free)
{
	if (hi <= pm->base || lo >= pm->base + pm->npages * PAGE_SIZE)
		return;
	if (lo < pm->base)
		lo = pm->base;
	if (hi > pm->base + pm->npages * PAGE_SIZE)
		hi = pm->base + pm->npages * PAGE_SIZE;
	for (uint64_t pa = lo; pa < hi; pa += PAGE_SIZE) {
		uint64_t i = (pa - pm->base) / PAGE_SIZE;
		if (free && !bit_get(pm, i)) {
			bit_set(pm, i);
			pm->managed[i / 64] |= 1ull << (i % 64);
			pm->nfree++;
		} else if (!free) {
			if (bit_get(pm, i))
				pm->nfree--;
			bit_clear(pm, i);
			pm->managed[i / 64] &= ~(1ull << (i % 64));
		}
	}
}

static void mark_unusable(struct pmm *pm, const struct bootinfo_mem *map, uint32_t n,
			  const struct platform_range *rsv, uint32_t nrsv)
{
	uint64_t lo, hi;
	for (uint32_t i = 0; i < n; i++)
		if (map[i].type != BOOTMEM_USABLE && hull(map[i].base, map[i].size, &lo, &hi))
			mark_range(pm, lo, hi, false);
	for (uint32_t i = 0; i < nrsv; i++)
		if (hull(rsv[i].base, rsv[i].size, &lo, &hi))
			mark_range(pm, lo, hi, false);
}

int pmm_init(struct pmm *pm, const struct bootinfo_mem *map, uint32_t n,
	     const struct platform_range *rsv, uint32_t nrsv, uintptr_t virt_offset,
	     char *err, size_t errlen)
{
	uint64_t lo, hi, min = UINT64_MAX, max = 0;

	memset(pm, 0, sizeof(*pm));
	pm->virt_offset = virt_offset;
	for (uint32_t i = 0; i < n; i++) {
		if (map[i].type != BOOTMEM_USABLE || !clip(map[i].base, map[i].size, &lo, &hi))
			continue;
		if (lo < min)
			min = lo;
		if (hi > max)
			max = hi;
	}
	if (max == 0) {
		snprintf(err, errlen, "memory: the memory map has no usable RAM (%u entries)", n);
		return -1;
	}
	pm->base = min;
	pm->npages = (max - min) / PAGE_SIZE;
	uint64_t bytes = ((pm->npages + 63) / 64) * 8;
	uint64_t need = (2 * bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

	/*
	 * Find room for the bitmap: the lowest usable run of `need` bytes that no
	 * non-usable entry or reserved range overlaps. Candidates start at a usable
	 * entry's base or right after an obstacle.
	 */
	uint64_t where = 0;
	for (uint32_t i = 0; i < n && !where; i++) {
		if (map[i].type != BOOTMEM_USABLE || !clip(map[i].base, map[i].size, &lo, &hi))
			continue;
		uint64_t cand = lo;
		/* written so that nothing overflows: hi - need cannot wrap once need <= hi - lo */
		for (int tries = 0; tries < 64 && need <= hi - lo && cand >= lo && cand <= hi - need && !where;
		     tries++) {
			uint64_t bump = 0, olo, ohi;
			for (uint32_t j = 0; j < n; j++)
				if (map[j].type != BOOTMEM_USABLE && hull(map[j].base, map[j].size, &olo, &ohi) &&
				    olo < cand + need && ohi > cand && ohi > bump)
					bump = ohi;
			for (uint32_t j = 0; j < nrsv; j++)
				if (hull(rsv[j].base, rsv[j].size, &olo, &ohi) &&
				    olo < cand + need && ohi > cand && ohi > bump)
					bump = ohi;
			if (bump)
				cand = bump;
			else
				where = cand;
		}
	}
	if (!where) {
		snprintf(err, errlen, "memory: no usable run of %llu KiB for the page bitmap",
			 (unsigned long long)(need / 1024));
		return -1;
	}
	pm->bitmap = (uint64_t *)(where + virt_offset);
	pm->managed = pm->bitmap + bytes / 8;
	memset(pm->bitmap, 0, 2 * bytes);

	for (uint32_t i = 0; i < n; i++)
		if (map[i].type == BOOTMEM_USABLE && clip(map[i].base, map[i].size, &lo, &hi))
			mark_range(pm, lo, hi, true);
	mark_unusable(pm, map, n, rsv, nrsv);
	mark_range(pm, where, where + need, false);
	pm->total = pm->nfree;
	return 0;
}

uint64_t pmm_alloc(struct pmm *pm)
{
	for (uint64_t w = pm->hint / 64; w < (pm->npages + 63) / 64; w++) {
		uint64_t bits = pm->bitmap[w];
		if (!bits)
			continue;
		uint64_t i = w * 64 + (uint64_t)__builtin_ctzll(bits);
		if (i >= pm->npages)
			break;
		bit_clear(pm, i);
		pm->nfree--;
		pm->hint = i;
		return pm->base + i * PAGE_SIZE;
	}
	pm->hint = pm->npages;
	return 0;
}

uint64_t pmm_alloc_contig(struct pmm *pm, uint64_t npages, uint64_t align)
{
	if (npages == 0 || npages > pm->nfree)
		return 0;
	if (align == 0)
		align = 1;
	uint64_t run = 0, start = 0;
	for (uint64_t i = pm->hint; i < pm->npages; i++) {
		if (run == 0) {
			uint64_t page = (pm->base / PAGE_SIZE) + i;
			if (page % align) {
				continue;
			}
			start = i;
		}
		if (bit_get(pm, i)) {
			if (++run == npages) {
				for (uint64_t k = start; k < start + npages; k++)
					bit_clear(pm, k);
				pm->nfree -= npages;
				return pm->base + start * PAGE_SIZE;
			}
		} else {
			run = 0;
		}
	}
	return 0;
}

int pmm_free(struct pmm *pm, uint64_t pa)
{
	if (pa & (PAGE_SIZE - 1) || pa < pm->base || pa >= pm->base + pm->npages * PAGE_SIZE)
		return -1;
	uint64_t i = (pa - pm->base) / PAGE_SIZE;
	if (!managed(pm, i) || bit_get(pm, i))
		return -1;
	bit_set(pm, i);
	pm->nfree++;
	if (i < pm->hint)
		pm->hint = i;
	return 0;
}

bool pmm_is_free(const struct pmm *pm, uint64_t pa)
{
	if (pa < pm->base || pa >= pm->base + pm->npages * PAGE_SIZE)
		return false;
	return bit_get(pm, (pa - pm->base) / PAGE_SIZE);
}
