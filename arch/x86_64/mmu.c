/*
 * arch/x86_64/mmu.c: 4-level x86-64 page tables (48-bit virtual addresses).
 *
 *   63      48 47    39 38    30 29    21 20    12 11       0
 *  | sign ext | PML4  |  PDPT  |   PD   |   PT   |  offset  |
 *
 * Leaves are 4 KiB PT entries or 2 MiB PD entries (PS). Intermediate entries are
 * present + writable and never NX: rights are decided at the leaf alone, so the walk
 * reports exactly what the leaf says. Table pages are reached through the direct map.
 *
 * Leaf bits used: P, RW, PCD|PWT (device), PS, NX (bit 63), and D (dirty: set by the
 * CPU on a write, cleared by arch_mmu_dirty_take). NX needs EFER.NXE, set by start.S;
 * CR0.WP makes read-only apply to the kernel too.
 */
#include <stddef.h>
#include <string.h>
#include <arch/irq.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <arch/mmu_walk.h>

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_PWT		(1ull << 3)
#define PTE_PCD		(1ull << 4)
#define PTE_D		(1ull << 6)
#define PTE_PS		(1ull << 7)
#define PTE_NX		(1ull << 63)
#define PTE_ADDR	0x000ffffffffff000ull

static mmu_page_alloc_fn mmu_alloc;
static uint64_t mmu_root;		/* physical address of the PML4 being built */

static inline uint64_t *table(uint64_t pa) { return phys_to_virt(pa & PTE_ADDR); }
static inline unsigned idx(uint64_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

int arch_mmu_init(mmu_page_alloc_fn alloc)
{
	mmu_alloc = alloc;
	mmu_root = alloc();
	return mmu_root ? 0 : -1;
}

static uint64_t leaf_bits(unsigned flags)
{
	uint64_t b = PTE_P;
	if (flags & MMU_WRITE)
		b |= PTE_W | PTE_D;	/* mapped is dirty (arch/mmu.h), and no locked update on the first write */
	if (!(flags & MMU_EXEC))
		b |= PTE_NX;
	if (flags & MMU_DEVICE)
		b |= PTE_PCD | PTE_PWT;
	return b;
}

/* The table at `level` below entry *e, allocated if absent; NULL when out of memory
 * or when *e is a large-page leaf. */
static uint64_t *next_table(uint64_t *e)
{
	if (!(*e & PTE_P)) {
		uint64_t pa = mmu_alloc();
		if (!pa)
			return NULL;
		*e = pa | PTE_P | PTE_W;
	} else if (*e & PTE_PS) {
		return NULL;
	}
	return table(*e);
}

int arch_mmu_map(uint64_t va, uint64_t pa, uint64_t size, unsigned flags)
{
	uint64_t bits = leaf_bits(flags);

	while (size) {
		uint64_t *pml4 = table(mmu_root);
		uint64_t *pdpt = next_table(&pml4[idx(va, 3)]);
		uint64_t *pd = pdpt ? next_table(&pdpt[idx(va, 2)]) : NULL;
		if (!pd)
			return -1;
		uint64_t *pde = &pd[idx(va, 1)];
		if (!(flags & MMU_SMALL) && !(va & (LARGE_PAGE_SIZE - 1)) && !(pa & (LARGE_PAGE_SIZE - 1)) &&
		    size >= LARGE_PAGE_SIZE && !(*pde & PTE_P)) {
			*pde = pa | bits | PTE_PS;
			va += LARGE_PAGE_SIZE, pa += LARGE_PAGE_SIZE, size -= LARGE_PAGE_SIZE;
			continue;
		}
		uint64_t *pt = next_table(pde);
		if (!pt)
			return -1;
		uint64_t *pte = &pt[idx(va, 0)];
		if (*pte & PTE_P)
			return -1;
		*pte = pa | bits;
		va += PAGE_SIZE, pa += PAGE_SIZE, size -= PAGE_SIZE;
	}
	return 0;
}

static inline void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

uint64_t arch_mmu_unmap(uint64_t va, uint64_t size)
{
	uint64_t n = 0, end = va + size;

	while (va < end) {
		uint64_t *e = &table(mmu_root)[idx(va, 3)];
		for (int level = 2; level >= 0 && (*e & PTE_P) && !(*e & PTE_PS); level--)
			e = &table(*e)[idx(va, level)];
		if (*e & PTE_P) {
			/* A 2 MiB leaf is removed whole only when the range covers it. */
			if ((*e & PTE_PS) && (va & (LARGE_PAGE_SIZE - 1) || end - va < LARGE_PAGE_SIZE)) {
				va += PAGE_SIZE;
				continue;
			}
			uint64_t step = (*e & PTE_PS) ? LARGE_PAGE_SIZE : PAGE_SIZE;
			*e = 0;
			invlpg(va);
			n += step / PAGE_SIZE;
			va += step;
		} else {
			va += PAGE_SIZE;
		}
	}
	return n;
}

static uint64_t active_root(void)
{
	uint64_t cr3;
	__asm__ volatile("movq %%cr3, %0" : "=r"(cr3));
	return cr3 & PTE_ADDR;
}

static unsigned flags_of(uint64_t e)
{
	unsigned f = 0;
	if (e & PTE_W)
		f |= MMU_WRITE;
	if (!(e & PTE_NX))
		f |= MMU_EXEC;
	if (e & PTE_PCD)
		f |= MMU_DEVICE;
	return f;
}

bool arch_mmu_query(uint64_t va, uint64_t *pa, unsigned *flags)
{
	uint64_t e = table(active_root())[idx(va, 3)];
	for (int level = 2; level >= 0; level--) {
		if (!(e & PTE_P))
			return false;
		e = table(e)[idx(va, level)];
		if ((e & PTE_P) && (e & PTE_PS) && level > 0) {
			uint64_t mask = (1ull << (12 + 9 * level)) - 1;
			*pa = (e & PTE_ADDR & ~mask) | (va & mask);
			*flags = flags_of(e);
			return true;
		}
	}
	if (!(e & PTE_P))
		return false;
	*pa = (e & PTE_ADDR) | (va & (PAGE_SIZE - 1));
	*flags = flags_of(e);
	return true;
}

static void walk_level(struct mmu_walk_run *r, uint64_t tpa, int level, uint64_t base)
{
	uint64_t *t = table(tpa);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i];
		if (!(e & PTE_P))
			continue;
		uint64_t va = base + ((uint64_t)i << (12 + 9 * level));
		if (level == 3 && i >= 256)
			va |= 0xffff000000000000ull;		/* sign extension */
		if (level == 0 || (e & PTE_PS))
			mmu_walk_emit(r, va, e & PTE_ADDR & ~((1ull << (12 + 9 * level)) - 1),
				  1ull << (12 + 9 * level), flags_of(e));
		else
			walk_level(r, e, level - 1, va);
	}
}

void arch_mmu_walk(void (*fn)(void *, uint64_t, uint64_t, uint64_t, unsigned), void *ctx)
{
	struct mmu_walk_run r = { fn, ctx, 0, 0, 0, 0 };
	walk_level(&r, active_root(), 3, 0);
	mmu_walk_finish(&r);
}

/*
 * Dirty pages (arch/mmu.h): the D bits of the writable leaves, read and cleared with
 * an atomic AND (the CPU sets D with a locked update of its own, so a plain write
 * could undo an A bit or a D set meanwhile). A CPU caches D in its TLB entry and
 * sets it in memory only through an entry whose D is clear: hence the caller's
 * shootdown after a take.
 */
static void dirty_scan(uint64_t va, uint64_t npages, uint64_t *bits, bool take)
{
	uint64_t i = 0;
	while (i < npages) {
		uint64_t a = va + i * PAGE_SIZE;
		uint64_t *e = &table(mmu_root)[idx(a, 3)];
		int level = 2;
		for (; level >= 0 && (*e & PTE_P) && !(*e & PTE_PS); level--)
			e = &table(*e)[idx(a, level)];
		/* e is an entry of the table at level + 1: a page table's (level -1: walked
		 * to its end), else an absent entry's or a large leaf's, covering span */
		uint64_t span = level < 0 ? LARGE_PAGE_SIZE : 1ull << (12 + 9 * (level + 1));
		uint64_t left = (span - (a & (span - 1))) / PAGE_SIZE;	/* pages of it from a on */
		if (left > npages - i)
			left = npages - i;
		if (level >= 0 && !(*e & PTE_PS)) {
			i += left;	/* absent at an upper level: nothing mapped there */
			continue;
		}
		if (level < 0) {
			/* a page table: walk its entries in a row */
			uint64_t *pte = e;
			for (uint64_t k = 0; k < left; k++, pte++) {
				uint64_t v = *pte;
				if ((v & (PTE_P | PTE_W | PTE_D)) != (PTE_P | PTE_W | PTE_D))
					continue;
				if (take)
					__atomic_fetch_and(pte, ~PTE_D, __ATOMIC_RELAXED);
				if (bits)
					bits[(i + k) / 64] |= 1ull << ((i + k) % 64);
			}
		} else if ((*e & (PTE_P | PTE_W | PTE_D)) == (PTE_P | PTE_W | PTE_D)) {
			if (take)
				__atomic_fetch_and(e, ~PTE_D, __ATOMIC_RELAXED);
			for (uint64_t k = 0; bits && k < left; k++)
				bits[(i + k) / 64] |= 1ull << ((i + k) % 64);
		}
		i += left;
	}
}

void arch_mmu_dirty_take(uint64_t va, uint64_t npages, uint64_t *bits)
{
	dirty_scan(va, npages, bits, true);
}

void arch_mmu_dirty_peek(uint64_t va, uint64_t npages, uint64_t *bits)
{
	dirty_scan(va, npages, bits, false);
}

bool arch_mmu_dirty_fault(uint64_t va)
{
	(void)va;
	return false;		/* the CPU keeps the state itself: a write never faults for it */
}

/*
 * Drop this CPU's TLB entries for [va, va+size): invlpg per page (one inside a 2 MiB
 * leaf drops the whole leaf), or, past 64 pages, a CR3 reload, which drops every
 * entry: the kernel maps nothing global.
 */
void arch_tlb_flush_local(uint64_t va, uint64_t size)
{
	uint64_t end = va + size;

	if (end < va || size > 64 * PAGE_SIZE) {
		__asm__ volatile("movq %%cr3, %%rax; movq %%rax, %%cr3" : : : "rax", "memory");
		return;
	}
	for (uint64_t p = va & ~(PAGE_SIZE - 1); p < end; p += PAGE_SIZE)
		invlpg(p);
}

void arch_mmu_activate(void)
{
	__asm__ volatile("movq %0, %%cr3" : : "r"(mmu_root) : "memory");
}
