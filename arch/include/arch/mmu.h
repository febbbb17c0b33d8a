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
#include <string.h>
#include <arch/memlayout.h>

/* Generic mapping rights; the arch translates them. READ is implied. */
#define MMU_WRITE	(1u << 0)
#define MMU_EXEC	(1u << 1)
#define MMU_DEVICE	(1u << 2)	/* device memory: uncached, strongly ordered */
/* A hint, not a right: map with 4 KiB leaves even where a 2 MiB block would fit, so
 * that per-page state (arch_mmu_dirty_take below) is per 4 KiB page. */
#define MMU_SMALL	(1u << 4)

/* Returns the physical address of a zeroed page, or 0 when memory is exhausted. */
typedef uint64_t (*mmu_page_alloc_fn)(void);

/* Start a new, empty kernel address space whose table pages come from alloc. */
int arch_mmu_init(mmu_page_alloc_fn alloc);

/* Map [va, va+size) to [pa, pa+size) with flags. 0, or -1 if out of table memory or
 * already mapped. va, pa, size page-aligned. */
int arch_mmu_map(uint64_t va, uint64_t pa, uint64_t size, unsigned flags);

/* Unmap [va, va+size) on this CPU (no shootdown yet). Returns pages unmapped. */
uint64_t arch_mmu_unmap(uint64_t va, uint64_t size);

/* A hint: [va, va+size), mapped writable, is about to be written. The hosted platform
 * takes the host's page faults for it now, in one call (a host fault per page was a
 * tenth of the collector's benchmarks' time), and only then: memory the heap maps but
 * has not used yet is not resident. The hardware arches map physical pages directly,
 * with nothing to fault in: a no-op. Errors are ignored (the pages then fault in one
 * by one as they are written). */
#if defined(GORT_HOSTED)
void arch_mmu_prefault(uint64_t va, uint64_t size);
#else
static inline void arch_mmu_prefault(uint64_t va, uint64_t size)
{
	(void)va;
	(void)size;
}
#endif

/* Zero the physical pages [pa, pa + npages pages), which nothing maps but the direct
 * map. The hardware arches write zeros through the direct map. The hosted platform
 * punches a hole in its memory file instead: the pages read as zero and take memory
 * again only when written, through whichever mapping writes them. (Zeroed through the
 * direct map, a page became resident there, and was counted a second time in the
 * process's RSS once mapped elsewhere: every goroutine stack page, for one.) */
#if defined(GORT_HOSTED)
void arch_phys_zero(uint64_t pa, uint64_t npages);
#else
static inline void arch_phys_zero(uint64_t pa, uint64_t npages)
{
	memset(phys_to_virt(pa), 0, npages * PAGE_SIZE);
}
#endif

/* Translate va: true and *pa, *flags when mapped. Works on the active tables. */
bool arch_mmu_query(uint64_t va, uint64_t *pa, unsigned *flags);

/* Call fn for every leaf mapping of the active tables, in address order, merged into
 * runs of equal flags and contiguous physical addresses. */
void arch_mmu_walk(void (*fn)(void *ctx, uint64_t va, uint64_t pa, uint64_t size, unsigned flags),
		   void *ctx);

/*
 * Dirty-page tracking, for the collector's dirty mode (rt/gc/dirty.c): which pages of
 * a range were written since their state was last taken.
 *
 * arch_mmu_dirty_take(va, npages, bits): for every page of [va, va + npages pages)
 * mapped writable, set bit i of bits (when bits is not NULL; the caller zeroed it)
 * if page i is dirty, and make it clean. A page mapped writable since its last take
 * is dirty. A CPU holding a TLB entry from before the take may write without making
 * the page dirty until it drops that entry: the caller follows a take with a
 * tlb_shootdown of the range (kernel/ipi.h) before it relies on the state.
 * arch_mmu_dirty_peek(va, npages, bits): the same bits, changing nothing.
 *
 * x86-64: the leaf's D bit, set by the CPU on the first write through an entry
 * whose D bit was clear. aarch64: a clean page is mapped read-only with a software
 * bit saying it is writable; the first write takes a permission fault, which
 * arch_mmu_dirty_fault (the trap handler asks it first) resolves by making the page
 * writable again: writable means dirty. The host: the same with mprotect and
 * SIGSEGV, in 64 KiB granules (each granule made writable splits a Linux mapping;
 * pages tracked alone would exhaust vm.max_map_count), and never in the stack arena,
 * whose pages are always dirty (arch/host/mmu.c says why). A 2 MiB leaf is dirty or
 * clean as a whole (MMU_SMALL maps pages).
 *
 * Context: vm_lock held (the map and unmap paths); not against the hardware, the
 * fault path or other CPUs' writes: each entry changes atomically. A write through
 * the hosted platform's system calls into a clean page fails (EFAULT), as under any
 * mprotect-based collector: the kernel proper never writes the heap that way.
 */
void arch_mmu_dirty_take(uint64_t va, uint64_t npages, uint64_t *bits);
void arch_mmu_dirty_peek(uint64_t va, uint64_t npages, uint64_t *bits);
/* A write fault at va: true if it was a clean page's first write, now resolved (the
 * faulting access may be retried). Any context, lock-free. */
bool arch_mmu_dirty_fault(uint64_t va);

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
