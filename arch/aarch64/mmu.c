/*
 * arch/aarch64/mmu.c: stage-1 EL1 page tables, 4 KiB granule, 48-bit virtual addresses.
 *
 *   63      48 47    39 38    30 29    21 20    12 11       0
 *  |  0xffff  |   L0   |   L1   |   L2   |   L3   |  offset  |     (TTBR1 half)
 *
 * The kernel owns only the upper half (TTBR1_EL1): its image at KERNEL_VBASE, the
 * direct map, the MMIO window, the heap and (later) the stack and GC arenas. The
 * lower half (TTBR0_EL1) holds only start.S's identity map, and arch_mmu_activate
 * turns it off (TCR_EL1.EPD0: a walk there faults at once), so a NULL dereference
 * is a translation fault and arch_mmu_query reports the lower half unmapped.
 *
 * Descriptors: table (L0-L2) and page (L3) have bits 1:0 = 0b11, a block (L1 1 GiB,
 * L2 2 MiB) 0b01. arch_mmu_map makes 2 MiB blocks where va, pa and size allow, 4 KiB
 * pages otherwise. Table descriptors carry no restrictions (rights are decided at the
 * leaf, so a walk reports exactly what the leaf says), though query and walk do fold
 * in APTable/PXNTable, which start.S uses for the early direct map.
 *
 * Leaf bits used:
 *   AttrIndx [4:2]  MAIR index: 0 Device-nGnRnE (MMU_DEVICE), 1 Normal write-back
 *                   (2 Normal non-cacheable, set up by start.S, unused yet)
 *   AP[2] [7]       read-only at EL1 (AP[1], EL0 access, stays 0: there is no EL0)
 *   SH [9:8]        inner shareable for normal memory
 *   AF [10]         set: no access-flag faults
 *   PXN [53]        unless MMU_EXEC (device memory: always); UXN [54] always
 *   [55] (software) writable in truth while AP[2] makes it read-only: a clean page
 *                   of dirty tracking (arch_mmu_dirty_take below)
 * SCTLR_EL1.WXN (set on activation) makes every writable page non-executable on top.
 *
 * Changes follow the architecture's rules: a new entry is made visible to the walker
 * with dsb ishst (invalid entries are never cached, so no TLB maintenance); a removed
 * one is break-before-make: clear, dsb ishst, tlbi vaae1is, dsb ish, isb. Table pages
 * are reached through the direct map (phys_to_virt).
 */
#include <stddef.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <arch/mmu_walk.h>
#include "arm64.h"

#define PTE_VALID	(1ull << 0)
#define PTE_TABLE	(1ull << 1)	/* table (L0-L2) or page (L3); clear: block */
#define PTE_ATTR_MASK	(7ull << 2)
#define PTE_ATTR_DEVICE	(0ull << 2)
#define PTE_ATTR_NORMAL	(1ull << 2)
#define PTE_AP_RO	(1ull << 7)
#define PTE_SH_INNER	(3ull << 8)
#define PTE_AF		(1ull << 10)
#define PTE_PXN		(1ull << 53)
#define PTE_UXN		(1ull << 54)
#define PTE_SW_WRITABLE	(1ull << 55)	/* software bit: see the top */
#define PTE_ADDR	0x0000fffffffff000ull
#define TBL_PXN		(1ull << 59)
#define TBL_AP_RO	(1ull << 62)	/* APTable[1]: no writes below */

#define TCR_EPD0	(1ull << 7)
#define TCR_EPD1	(1ull << 23)
#define SCTLR_WXN	(1ull << 19)

#define UPPER_BASE	0xffff000000000000ull

static mmu_page_alloc_fn mmu_alloc;
static uint64_t mmu_root;		/* physical address of the L0 table being built */

static inline uint64_t *table(uint64_t pa) { return phys_to_virt(pa & PTE_ADDR); }
/* level 3 = L0 ... level 0 = L3, as in the x86-64 walker */
static inline unsigned idx(uint64_t va, int level) { return (va >> (12 + 9 * level)) & 511; }
static inline bool is_upper(uint64_t va) { return (va >> 48) == 0xffff; }

int arch_mmu_init(mmu_page_alloc_fn alloc)
{
	mmu_alloc = alloc;
	mmu_root = alloc();
	return mmu_root ? 0 : -1;
}

/* Leaf attributes for generic flags (without the descriptor type bits). */
static uint64_t leaf_bits(unsigned flags)
{
	uint64_t b = PTE_AF | PTE_UXN;
	if (flags & MMU_DEVICE)
		b |= PTE_ATTR_DEVICE | PTE_PXN;
	else
		b |= PTE_ATTR_NORMAL | PTE_SH_INNER | ((flags & MMU_EXEC) ? 0 : PTE_PXN);
	if (!(flags & MMU_WRITE))
		b |= PTE_AP_RO;
	return b;
}

/* The table below entry *e, allocated if absent; NULL when out of memory or when *e
 * is a block. The zeroed page is made visible before the entry that links it. */
static uint64_t *next_table(uint64_t *e)
{
	if (!(*e & PTE_VALID)) {
		uint64_t pa = mmu_alloc();
		if (!pa)
			return NULL;
		__asm__ volatile("dsb ishst" : : : "memory");
		*e = pa | PTE_VALID | PTE_TABLE;
	} else if (!(*e & PTE_TABLE)) {
		return NULL;
	}
	return table(*e);
}

int arch_mmu_map(uint64_t va, uint64_t pa, uint64_t size, unsigned flags)
{
	uint64_t bits = leaf_bits(flags);
	int rc = 0;

	if (!is_upper(va) || (size && !is_upper(va + size - 1)))
		return -1;	/* the kernel maps nothing in the lower half */
	while (size) {
		uint64_t *l0 = table(mmu_root);
		uint64_t *l1 = next_table(&l0[idx(va, 3)]);
		uint64_t *l2 = l1 ? next_table(&l1[idx(va, 2)]) : NULL;
		if (!l2) {
			rc = -1;
			break;
		}
		uint64_t *pde = &l2[idx(va, 1)];
		if (!(flags & MMU_SMALL) && !(va & (LARGE_PAGE_SIZE - 1)) && !(pa & (LARGE_PAGE_SIZE - 1)) &&
		    size >= LARGE_PAGE_SIZE && !(*pde & PTE_VALID)) {
			*pde = pa | bits | PTE_VALID;
			va += LARGE_PAGE_SIZE, pa += LARGE_PAGE_SIZE, size -= LARGE_PAGE_SIZE;
			continue;
		}
		uint64_t *l3 = next_table(pde);
		if (!l3) {
			rc = -1;
			break;
		}
		uint64_t *pte = &l3[idx(va, 0)];
		if (*pte & PTE_VALID) {
			rc = -1;
			break;
		}
		*pte = pa | bits | PTE_VALID | PTE_TABLE;
		va += PAGE_SIZE, pa += PAGE_SIZE, size -= PAGE_SIZE;
	}
	/* New entries visible to the walker before any access through them. */
	__asm__ volatile("dsb ishst\n\tisb" : : : "memory");
	return rc;
}

/* Break-before-make, second half: the entry for va is cleared; drop it from every
 * CPU's TLB (all ASIDs: kernel entries are global). TTL hint bits stay 0. */
static void tlb_flush_va(uint64_t va)
{
	uint64_t op = (va >> 12) & ((1ull << 44) - 1);
	__asm__ volatile("dsb ishst\n\t"
			 "tlbi vaae1is, %0\n\t"
			 "dsb ish\n\t"
			 "isb" : : "r"(op) : "memory");
}

/* Beyond this many pages one local flush of everything is cheaper than a loop. */
#define TLB_FLUSH_ALL_PAGES	64

/* This CPU only (non-shareable tlbi): the remote half of a shootdown; the unmap itself
 * already broadcast its invalidations (tlb_flush_va). */
void arch_tlb_flush_local(uint64_t va, uint64_t size)
{
	uint64_t first = va >> 12, last = (va + size - 1) >> 12;

	__asm__ volatile("dsb ishst" : : : "memory");
	if (!size) {
		return;
	} else if (last - first >= TLB_FLUSH_ALL_PAGES || last < first) {
		__asm__ volatile("tlbi vmalle1" : : : "memory");
	} else {
		for (uint64_t p = first; p <= last; p++)
			__asm__ volatile("tlbi vaae1, %0" : : "r"(p & ((1ull << 44) - 1)) : "memory");
	}
	__asm__ volatile("dsb nsh\n\tisb" : : : "memory");
}

uint64_t arch_mmu_unmap(uint64_t va, uint64_t size)
{
	uint64_t n = 0, end = va + size;

	if (!is_upper(va))
		return 0;
	while (va < end && va >= UPPER_BASE) {
		uint64_t *e = &table(mmu_root)[idx(va, 3)];
		int level = 3;
		while (level > 0 && (*e & PTE_VALID) && (*e & PTE_TABLE)) {
			level--;
			e = &table(*e)[idx(va, level)];
		}
		bool block = level > 0;
		if (!(*e & PTE_VALID) || (level == 3)) {
			va += PAGE_SIZE;
			continue;
		}
		/* A 2 MiB block is removed whole only when the range covers it. */
		uint64_t step = block ? (1ull << (12 + 9 * level)) : PAGE_SIZE;
		if (block && ((va & (step - 1)) || end - va < step)) {
			va += PAGE_SIZE;
			continue;
		}
		*e = 0;
		tlb_flush_va(va);
		n += step / PAGE_SIZE;
		va += step;
	}
	return n;
}

/* Flags of a leaf, with the restrictions its table descriptors added. */
static unsigned flags_of(uint64_t e, bool tbl_ro, bool tbl_pxn)
{
	unsigned f = 0;
	if ((!(e & PTE_AP_RO) || (e & PTE_SW_WRITABLE)) && !tbl_ro)
		f |= MMU_WRITE;
	if (!(e & PTE_PXN) && !tbl_pxn)
		f |= MMU_EXEC;
	if ((e & PTE_ATTR_MASK) == PTE_ATTR_DEVICE)
		f |= MMU_DEVICE;
	return f;
}

/* The root that translates va on this CPU right now, or 0 when none does. */
static uint64_t active_root(uint64_t va)
{
	if (is_upper(va))
		return READ_SYSREG(ttbr1_el1) & PTE_ADDR;
	if ((va >> 48) != 0 || (READ_SYSREG(tcr_el1) & TCR_EPD0))
		return 0;
	return READ_SYSREG(ttbr0_el1) & PTE_ADDR;
}

bool arch_mmu_query(uint64_t va, uint64_t *pa, unsigned *flags)
{
	uint64_t tpa = active_root(va);
	bool ro = false, pxn = false;

	if (!tpa)
		return false;
	for (int level = 3; level >= 0; level--) {
		uint64_t e = table(tpa)[idx(va, level)];
		if (!(e & PTE_VALID))
			return false;
		if (level > 0 && (e & PTE_TABLE)) {
			ro |= !!(e & TBL_AP_RO);
			pxn |= !!(e & TBL_PXN);
			tpa = e & PTE_ADDR;
			continue;
		}
		if (level == 3 || (level == 0 && !(e & PTE_TABLE)))
			return false;	/* no L0 blocks with 4 KiB pages; 0b01 at L3 is reserved */
		uint64_t mask = (1ull << (12 + 9 * level)) - 1;
		*pa = (e & PTE_ADDR & ~mask) | (va & mask);
		*flags = flags_of(e, ro, pxn);
		return true;
	}
	return false;
}

static void walk_level(struct mmu_walk_run *r, uint64_t tpa, int level, uint64_t base, bool ro, bool pxn)
{
	uint64_t *t = table(tpa);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i];
		if (!(e & PTE_VALID))
			continue;
		uint64_t va = base + ((uint64_t)i << (12 + 9 * level));
		if (level > 0 && (e & PTE_TABLE))
			walk_level(r, e & PTE_ADDR, level - 1, va, ro || (e & TBL_AP_RO), pxn || (e & TBL_PXN));
		else if (level < 3 && (level > 0 || (e & PTE_TABLE)))
			mmu_walk_emit(r, va, e & PTE_ADDR & ~((1ull << (12 + 9 * level)) - 1),
				  1ull << (12 + 9 * level), flags_of(e, ro, pxn));
	}
}

void arch_mmu_walk(void (*fn)(void *, uint64_t, uint64_t, uint64_t, unsigned), void *ctx)
{
	struct mmu_walk_run r = { fn, ctx, 0, 0, 0, 0 };
	uint64_t lower = active_root(0);

	if (lower)
		walk_level(&r, lower, 3, 0, false, false);
	walk_level(&r, active_root(UPPER_BASE), 3, UPPER_BASE, false, false);
	mmu_walk_finish(&r);
}

/*
 * Dirty pages (arch/mmu.h). The cores this kernel boots on (Cortex-A72 under QEMU)
 * have no hardware dirty state (FEAT_HAFDBS), so it is kept with permissions: a take
 * makes a writable leaf read-only with PTE_SW_WRITABLE set (clean); the first write
 * takes a permission fault, and arch_mmu_dirty_fault makes it writable again (dirty).
 * Only read-only to writable changes happen outside the vm lock, so each is one
 * compare-and-swap; neither needs break-before-make (same output address and
 * attributes, permissions only). A permission fault's entry may sit in the TLB: the
 * fault drops it locally; another CPU holding the read-only entry faults once more and
 * does the same. The caller's shootdown after a take drops the writable entries.
 */

/* The dirty leaves over [va, va + npages pages) into bits; made clean if take. */
static void dirty_walk(uint64_t va, uint64_t npages, uint64_t *bits, bool take)
{
	uint64_t i = 0;
	if (!is_upper(va))
		return;
	while (i < npages) {
		uint64_t a = va + i * PAGE_SIZE;
		uint64_t *e = &table(mmu_root)[idx(a, 3)];
		int level = 3;
		while (level > 0 && (*e & PTE_VALID) && (*e & PTE_TABLE)) {
			level--;
			e = &table(*e)[idx(a, level)];
		}
		/* level 0: an L3 table entry, walked to its table's end; otherwise an
		 * absent entry or a block covering span */
		uint64_t span = level == 0 ? LARGE_PAGE_SIZE : 1ull << (12 + 9 * level);
		uint64_t left = (span - (a & (span - 1))) / PAGE_SIZE;
		if (left > npages - i)
			left = npages - i;
		uint64_t n = level == 0 ? left : 1;	/* entries to look at */
		for (uint64_t k = 0; k < n; k++) {
			uint64_t v = __atomic_load_n(&e[k], __ATOMIC_RELAXED);
			if (!(v & PTE_VALID) || (level == 3) || (v & PTE_AP_RO))
				continue;	/* absent, or clean, or read-only in truth */
			/* writable entries change only under the vm lock, which the caller
			 * holds: nothing else writes this one (one atomic store, for single-copy
			 * atomicity against the walker) */
			if (take)
				__atomic_store_n(&e[k], v | PTE_AP_RO | PTE_SW_WRITABLE, __ATOMIC_RELAXED);
			uint64_t first = i + (level == 0 ? k : 0), cnt = level == 0 ? 1 : left;
			for (uint64_t p = first; bits && p < first + cnt; p++)
				bits[p / 64] |= 1ull << (p % 64);
		}
		i += left;
	}
	if (take)
		__asm__ volatile("dsb ishst" : : : "memory");
}

void arch_mmu_dirty_take(uint64_t va, uint64_t npages, uint64_t *bits)
{
	dirty_walk(va, npages, bits, true);
}

void arch_mmu_dirty_peek(uint64_t va, uint64_t npages, uint64_t *bits)
{
	dirty_walk(va, npages, bits, false);
}

bool arch_mmu_dirty_fault(uint64_t va)
{
	if (!is_upper(va))
		return false;
	uint64_t *e = &table(READ_SYSREG(ttbr1_el1) & PTE_ADDR)[idx(va, 3)];
	int level = 3;
	while (level > 0 && (*e & PTE_VALID) && (*e & PTE_TABLE)) {
		level--;
		e = &table(*e)[idx(va, level)];
	}
	uint64_t v = __atomic_load_n(e, __ATOMIC_RELAXED);
	if (level == 3 || !(v & PTE_VALID) || !(v & PTE_SW_WRITABLE))
		return false;		/* not a tracked page: a real fault */
	if (v & PTE_AP_RO)
		(void)__atomic_compare_exchange_n(e, &v, v & ~PTE_AP_RO, false, __ATOMIC_RELAXED,
						  __ATOMIC_RELAXED);	/* lost: another CPU did it */
	uint64_t op = (va >> 12) & ((1ull << 44) - 1);
	__asm__ volatile("dsb ishst\n\t"
			 "tlbi vaae1, %0\n\t"
			 "dsb nsh\n\t"
			 "isb" : : "r"(op) : "memory");
	return true;
}

/*
 * Switch to the new tables: TTBR1 through the identity-mapped trampoline when start.S's
 * identity map is still there (the first activation), else directly; then the lower
 * half off (EPD0, TTBR0 = 0), WXN on, and the whole local TLB dropped, since WXN and
 * the identity entries may both sit in it.
 */
void arch_mmu_activate(void)
{
	uint64_t tcr = READ_SYSREG(tcr_el1) & ~TCR_EPD1;
	uint64_t tramp_pa, id_pa;
	unsigned f, id_f;

	__asm__ volatile("dsb ishst" : : : "memory");
	if (arch_mmu_query((uint64_t)arm64_ttbr1_replace, &tramp_pa, &f) &&
	    arch_mmu_query(tramp_pa, &id_pa, &id_f) && id_pa == tramp_pa && (id_f & MMU_EXEC)) {
		void (*replace)(uint64_t, uint64_t) = (void (*)(uint64_t, uint64_t))(uintptr_t)tramp_pa;
		replace(mmu_root, tcr);
	} else {
		WRITE_SYSREG(ttbr1_el1, mmu_root);
		__asm__ volatile("isb" : : : "memory");
	}
	WRITE_SYSREG(tcr_el1, tcr | TCR_EPD0);
	WRITE_SYSREG(ttbr0_el1, 0);
	WRITE_SYSREG(sctlr_el1, READ_SYSREG(sctlr_el1) | SCTLR_WXN);
	__asm__ volatile("isb\n\t"
			 "tlbi vmalle1\n\t"
			 "dsb nsh\n\t"
			 "isb" : : : "memory");
}
