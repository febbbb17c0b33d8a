/*
 * kernel/vm.c: what is mapped where, with which rights.
 *
 * The arch builds entries (arch/mmu.h); this file decides them. Invariants, checked
 * by the vm tests on every boot path:
 *   - no page is writable and executable at once;
 *   - .text is read-only and executable, .rodata and .ksyms read-only, .data and .bss
 *     read-write; all three only at KERNEL_VBASE;
 *   - the direct map covers RAM only (usable, ACPI, loader and kernel ranges of the
 *     boot memory map), read-write, never executable; firmware-reserved ranges and
 *     MMIO are reached through vm_map_phys() with the right memory type;
 *   - nothing is mapped in the lower half once vm_init() returns, so a NULL
 *     dereference faults.
 */
#include <stdio.h>
#include <string.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/spinlock.h>
#include <kernel/vm.h>

extern char __image_start[], __text_end[], __rodata_end[], __image_end[];

static uint64_t kernel_phys;		/* load address, from the early tables */
static uint64_t mmio_next = MMIO_BASE;	/* bump allocator of the MMIO window */
static uint64_t heap_brk = KHEAP_BASE;	/* libc heap break */
static uint64_t heap_mapped = KHEAP_BASE;	/* end of the mapped part */
static uint64_t dmap_bytes;

/* The page tables (arch_mmu_map/unmap after vm_init) and mmio_next, heap_brk and
 * heap_mapped; and kernel_pmm for page_alloc/page_free. Both are taken in the stack
 * fault handler (kernel/stack.c), so always with interrupts off. */
static struct spinlock vm_spin = SPINLOCK_INIT("vm", LOCK_RANK_VM);
static struct spinlock pmm_lock = SPINLOCK_INIT("pmm", LOCK_RANK_PMM);

void vm_lock(void)
{
	spin_lock_irqsave(&vm_spin);
}

void vm_unlock(void)
{
	spin_unlock_irqrestore(&vm_spin);
}

uint64_t page_alloc(void)
{
	spin_lock_irqsave(&pmm_lock);
	uint64_t pa = pmm_alloc(&kernel_pmm);
	spin_unlock_irqrestore(&pmm_lock);
	if (pa)
		arch_phys_zero(pa, 1);
	return pa;
}

uint64_t page_alloc_unzeroed(void)
{
	spin_lock_irqsave(&pmm_lock);
	uint64_t pa = pmm_alloc(&kernel_pmm);
	spin_unlock_irqrestore(&pmm_lock);
	return pa;
}

uint64_t page_alloc_contig_unzeroed(uint64_t npages, uint64_t align)
{
	spin_lock_irqsave(&pmm_lock);
	uint64_t pa = pmm_alloc_contig(&kernel_pmm, npages, align);
	spin_unlock_irqrestore(&pmm_lock);
	return pa;
}

uint64_t page_alloc_contig(uint64_t npages, uint64_t align)
{
	spin_lock_irqsave(&pmm_lock);
	uint64_t pa = pmm_alloc_contig(&kernel_pmm, npages, align);
	spin_unlock_irqrestore(&pmm_lock);
	if (pa)
		arch_phys_zero(pa, npages);
	return pa;
}

uint64_t page_free_count(void)
{
	spin_lock_irqsave(&pmm_lock);
	uint64_t n = kernel_pmm.nfree;
	spin_unlock_irqrestore(&pmm_lock);
	return n;
}

void page_free(uint64_t pa)
{
	spin_lock_irqsave(&pmm_lock);
	int rc = pmm_free(&kernel_pmm, pa);
	spin_unlock_irqrestore(&pmm_lock);
	if (rc != 0)
		panic("page_free: 0x%llx was not allocated (double free or bad address)",
		      (unsigned long long)pa);
}

static bool is_ram(uint32_t type)
{
	return type == BOOTMEM_USABLE || type == BOOTMEM_ACPI_RECLAIM || type == BOOTMEM_ACPI_NVS ||
	       type == BOOTMEM_KERNEL || type == BOOTMEM_BOOTDATA;
}

static int map_image(char *err, size_t errlen)
{
	static const struct {
		const char *name;
		char *start, *end;
		unsigned flags;
	} secs[] = {
		{ "text", __image_start, __text_end, MMU_EXEC },
		{ "rodata", __text_end, __rodata_end, 0 },
		{ "data", __rodata_end, __image_end, MMU_WRITE },
	};
	for (unsigned i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		uint64_t va = (uint64_t)secs[i].start, len = (uint64_t)(secs[i].end - secs[i].start);
		if (arch_mmu_map(va, kernel_phys + (va - KERNEL_VBASE), len, secs[i].flags) != 0) {
			snprintf(err, errlen, "vm: cannot map the kernel's %s", secs[i].name);
			return -1;
		}
	}
	return 0;
}

/*
 * Map the RAM ranges at DMAP_BASE. Overlapping entries are merged first (firmware maps
 * overlap more often than they should), so arch_mmu_map never sees a page twice.
 */
static int map_direct(const struct bootinfo_mem *map, uint32_t n, char *err, size_t errlen)
{
	uint64_t lo[BOOTINFO_MMAP_MAX], hi[BOOTINFO_MMAP_MAX];
	uint32_t k = 0;

	for (uint32_t i = 0; i < n && k < BOOTINFO_MMAP_MAX; i++) {
		if (!is_ram(map[i].type) || map[i].size == 0)
			continue;
		uint64_t b = map[i].base & ~(PAGE_SIZE - 1);
		uint64_t e = map[i].base + map[i].size;
		if (e < map[i].base || e > DMAP_SIZE)
			e = DMAP_SIZE;
		e = (e + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		if (b >= e)
			continue;
		lo[k] = b, hi[k] = e, k++;
	}
	/* insertion sort by base, then merge */
	for (uint32_t i = 1; i < k; i++)
		for (uint32_t j = i; j > 0 && lo[j] < lo[j - 1]; j--) {
			uint64_t t = lo[j]; lo[j] = lo[j - 1]; lo[j - 1] = t;
			t = hi[j]; hi[j] = hi[j - 1]; hi[j - 1] = t;
		}
	for (uint32_t i = 0; i < k;) {
		uint64_t b = lo[i], e = hi[i++];
		while (i < k && lo[i] <= e) {
			if (hi[i] > e)
				e = hi[i];
			i++;
		}
		if (arch_mmu_map(DMAP_BASE + b, b, e - b, MMU_WRITE) != 0) {
			snprintf(err, errlen, "vm: out of memory mapping RAM 0x%llx-0x%llx",
				 (unsigned long long)b, (unsigned long long)e);
			return -1;
		}
		dmap_bytes += e - b;
	}
	return 0;
}

int vm_init(const struct bootinfo_mem *map, uint32_t n, char *err, size_t errlen)
{
	uint64_t pa;
	unsigned flags;

	/* The early tables map KERNEL_VBASE to the load address: ask them where. */
	if (!arch_mmu_query(KERNEL_VBASE, &pa, &flags)) {
		snprintf(err, errlen, "vm: the early tables do not map the kernel");
		return -1;
	}
	kernel_phys = pa;
	if (arch_mmu_init(page_alloc) != 0) {
		snprintf(err, errlen, "vm: no memory for the page-table root");
		return -1;
	}
	if (map_image(err, errlen) || map_direct(map, n, err, errlen))
		return -1;
	arch_mmu_activate();
	return 0;
}

void *vm_map_phys(uint64_t pa, uint64_t len, bool device)
{
	uint64_t off = pa & (PAGE_SIZE - 1);
	uint64_t size = (off + len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (len == 0 || pa + len < pa)
		return NULL;
	vm_lock();
	uint64_t va = mmio_next;
	if (size > MMIO_BASE + MMIO_SIZE - mmio_next ||
	    arch_mmu_map(va, pa - off, size, device ? MMU_DEVICE | MMU_WRITE : 0) != 0) {
		vm_unlock();
		return NULL;
	}
	mmio_next += size + PAGE_SIZE;	/* an unmapped page between windows */
	vm_unlock();
	return (void *)(va + off);
}

bool vm_readable(uint64_t va, uint64_t len)
{
	uint64_t pa;
	unsigned flags;
	if (va + len < va)
		return false;
	for (uint64_t p = va & ~(PAGE_SIZE - 1); p < va + len; p += PAGE_SIZE)
		if (!arch_mmu_query(p, &pa, &flags))
			return false;
	return true;
}

void *vm_sbrk(intptr_t incr)
{
	vm_lock();
	uint64_t old = heap_brk;
	if (incr < 0) {
		if ((uint64_t)-incr > heap_brk - KHEAP_BASE)
			goto fail;
		heap_brk -= (uint64_t)-incr;	/* pages stay mapped for reuse */
		vm_unlock();
		return (void *)old;
	}
	if ((uint64_t)incr > KHEAP_BASE + KHEAP_SIZE - heap_brk)
		goto fail;
	while (heap_mapped < heap_brk + (uint64_t)incr) {
		uint64_t p = page_alloc();
		if (!p || arch_mmu_map(heap_mapped, p, PAGE_SIZE, MMU_WRITE) != 0) {
			if (p)
				page_free(p);
			goto fail;
		}
		heap_mapped += PAGE_SIZE;
	}
	heap_brk += (uint64_t)incr;
	vm_unlock();
	return (void *)old;
fail:
	vm_unlock();
	return (void *)-1;
}

uint64_t vm_dmap_bytes(void)
{
	return dmap_bytes;
}
