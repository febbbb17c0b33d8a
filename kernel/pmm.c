/*
 * kernel/pmm.c: physical pages, one bit each.
 *
 * Two bitmaps span [lowest usable page, highest usable page]: `bitmap` (set = not
 * free: allocated, reserved, or not RAM) and `unmanaged` (set = not usable RAM the
 * allocator owns; reserved pages and holes are never managed, so freeing one is caught
 * instead of adding it to the pool). A free page is a zero bit in both, so the bitmaps
 * of memory the boot found already zero need no writing at all (pmm_init's `zeroed`:
 * the hosted platform's RAM is a fresh memory file, and a page of it written or even
 * read becomes resident: 4 GiB of RAM was 256 KiB of resident bitmaps from boot on).
 * Both live in the first usable run large enough to hold them; those pages are not
 * managed. Allocation scans from `hint` (every page below it is known to be used),
 * so the common case is O(1) amortised and pages come out lowest first, which keeps
 * early page-table pages inside the low memory the early direct map covers; the
 * words past the highest page allocated so far are never read.
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

static inline bool used(const struct pmm *pm, uint64_t i)
{
	return pm->bitmap[i / 64] & (1ull << (i % 64));
}

static inline void set_used(struct pmm *pm, uint64_t i) { pm->bitmap[i / 64] |= 1ull << (i % 64); }
static inline void clear_used(struct pmm *pm, uint64_t i) { pm->bitmap[i / 64] &= ~(1ull << (i % 64)); }
static inline bool managed(const struct pmm *pm, uint64_t i)
{
	return !(pm->unmanaged[i / 64] & (1ull << (i % 64)));
}

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

/* Take [lo, hi) out of the pool for good: used and unmanaged. */
static void mark_unusable_range(struct pmm *pm, uint64_t lo, uint64_t hi)
{
	if (hi <= pm->base || lo >= pm->base + pm->npages * PAGE_SIZE)
		return;
	if (lo < pm->base)
		lo = pm->base;
	if (hi > pm->base + pm->npages * PAGE_SIZE)
		hi = pm->base + pm->npages * PAGE_SIZE;
	for (uint64_t pa = lo; pa < hi; pa += PAGE_SIZE) {
		uint64_t i = (pa - pm->base) / PAGE_SIZE;
		if (!used(pm, i)) {
			set_used(pm, i);
			pm->nfree--;
		}
		pm->unmanaged[i / 64] |= 1ull << (i % 64);
	}
}

/* The pages of [base, base + npages) no usable entry covers (the holes between
 * entries): a cursor walks up, jumping over the entry covering it furthest or to
 * the next entry's start. O(n^2) in the entries, no sorting, no memory. */
static void mark_holes(struct pmm *pm, const struct bootinfo_mem *map, uint32_t n)
{
	uint64_t end = pm->base + pm->npages * PAGE_SIZE, cur = pm->base, lo, hi;
	while (cur < end) {
		uint64_t cover = 0, next = end;
		for (uint32_t i = 0; i < n; i++) {
			if (map[i].type != BOOTMEM_USABLE || !clip(map[i].base, map[i].size, &lo, &hi))
				continue;
			if (lo <= cur && hi > cur && hi > cover)
				cover = hi;
			else if (lo > cur && lo < next)
				next = lo;
		}
		if (cover) {
			cur = cover;
		} else {
			mark_unusable_range(pm, cur, next);
			cur = next;
		}
	}
}

static void mark_unusable(struct pmm *pm, const struct bootinfo_mem *map, uint32_t n,
			  const struct platform_range *rsv, uint32_t nrsv)
{
	uint64_t lo, hi;
	for (uint32_t i = 0; i < n; i++)
		if (map[i].type != BOOTMEM_USABLE && hull(map[i].base, map[i].size, &lo, &hi))
			mark_unusable_range(pm, lo, hi);
	for (uint32_t i = 0; i < nrsv; i++)
		if (hull(rsv[i].base, rsv[i].size, &lo, &hi))
			mark_unusable_range(pm, lo, hi);
}

int pmm_init(struct pmm *pm, const struct bootinfo_mem *map, uint32_t n,
	     const struct platform_range *rsv, uint32_t nrsv, uintptr_t virt_offset, bool zeroed,
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
	pm->unmanaged = pm->bitmap + bytes / 8;
	if (!zeroed)
		memset(pm->bitmap, 0, 2 * bytes);	/* every page free, then take out: */
	pm->nfree = pm->npages;
	mark_holes(pm, map, n);
	mark_unusable(pm, map, n, rsv, nrsv);
	mark_unusable_range(pm, where, where + need);
	pm->total = pm->nfree;
	return 0;
}

uint64_t pmm_alloc(struct pmm *pm)
{
	for (uint64_t w = pm->hint / 64; w < (pm->npages + 63) / 64; w++) {
		uint64_t bits = ~pm->bitmap[w];		/* free pages */
		if (!bits)
			continue;
		uint64_t i = w * 64 + (uint64_t)__builtin_ctzll(bits);
		if (i >= pm->npages)
			break;
		set_used(pm, i);
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
		if (!used(pm, i)) {
			if (++run == npages) {
				for (uint64_t k = start; k < start + npages; k++)
					set_used(pm, k);
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
	if (!managed(pm, i) || !used(pm, i))
		return -1;
	clear_used(pm, i);
	pm->nfree++;
	if (i < pm->hint)
		pm->hint = i;
	return 0;
}

bool pmm_is_free(const struct pmm *pm, uint64_t pa)
{
	if (pa < pm->base || pa >= pm->base + pm->npages * PAGE_SIZE)
		return false;
	return !used(pm, (pa - pm->base) / PAGE_SIZE);
}
