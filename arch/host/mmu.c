/*
 * arch/host/mmu.c: the kernel's "page tables" are mmap of the physical memfd.
 *
 * Mapping [va, va+size) to physical [pa, pa+size) is an mmap(MAP_SHARED) of the memfd
 * at offset pa - HOST_PHYS_BASE, at exactly va (MAP_FIXED_NOREPLACE: the host refuses
 * rather than replace anything already there), readable, writable if MMU_WRITE,
 * executable if MMU_EXEC. Two mappings of the same physical page are two views of the
 * same memory, as on the hardware. Unmapping is munmap; the process's TLBs are the
 * OS's business (irq.c's arch_tlb_flush_local has nothing to do).
 *
 * What the kernel mapped is also kept in a record (a sorted array of runs with their
 * physical address and rights), because the OS cannot be asked cheaply which physical
 * page backs a virtual one; the record answers arch_mmu_query and arch_mmu_walk, and
 * makes arch_mmu_map refuse overlaps itself. It covers exactly the kernel's mappings
 * in its window [DMAP_BASE, HOST_VA_END) of arch/memlayout.h: the direct map that
 * main.c builds (the "early tables"), and whatever the kernel maps later; plus the
 * boot data main.c maps over the image's stacks area (host_mmu_map_image, host.h).
 * Not the rest of the host program's image, nor libc or glibc's thread stacks: Linux
 * maps those, and the kernel never runs on them.
 *
 * Policy the host enforces itself: nothing writable and executable (refused), nothing
 * outside the window or the memfd (refused: there is no device memory). MMU_DEVICE is
 * recorded but means nothing here.
 *
 * Not done: arch_mmu_init / arch_mmu_activate. On the host the kernel builds no
 * tables (kernel/main.c skips vm_init on BOOT_PATH_HOSTED): the image is the host
 * program, which Linux has mapped, and the direct map exists before kernel_main.
 *
 * Locking: the record has its own lock (the contract lets the caller serialise map
 * and unmap, but queries come from every CPU, from panics and from fault handlers).
 * The lock is held with interrupts masked, and a query on the thread that holds it (a
 * fault inside a map, now printing its backtrace) reads without it.
 *
 * Rejected: PROT_NONE reservations of the whole window (a refused map must not
 * replace the reservation of someone else's range; MAP_FIXED_NOREPLACE over nothing
 * does the same check for free); asking /proc/self/maps in arch_mmu_query (slow, and
 * it knows no physical addresses).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <arch/noscan.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <arch/mmu_walk.h>
#include <arch/ops.h>
#include "host.h"

#define HOST_MAPS_MAX 16384	/* runs; a tree when the goroutine stack arena needs more */

struct host_map {
	uint64_t va, size, pa;
	unsigned flags;
};

/* Guarded by maps_owner. */
static struct host_map maps[HOST_MAPS_MAX];	/* sorted by va, disjoint */
NOSCAN(maps);
static unsigned nmaps;

static _Atomic int maps_owner;		/* thread id of the holder, 0 when free */
static __thread int my_tid;

/* Take the lock. false when this thread holds it already (see above): the caller
 * then reads without it, and must not write. */
static bool maps_lock(unsigned long *irq)
{
	*irq = arch_irq_save();
	if (!my_tid)
		my_tid = gettid();
	for (;;) {
		int holder = 0;
		if (atomic_compare_exchange_weak_explicit(&maps_owner, &holder, my_tid,
							  memory_order_acquire, memory_order_relaxed))
			return true;
		if (holder == my_tid)
			return false;
		sched_yield();
	}
}

static void maps_unlock(bool took, unsigned long irq)
{
	if (took)
		atomic_store_explicit(&maps_owner, 0, memory_order_release);
	arch_irq_restore(irq);
}

/* Index of the first run that ends after va. */
static unsigned lower_bound(uint64_t va)
{
	unsigned lo = 0, hi = nmaps;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (maps[mid].va + maps[mid].size <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int arch_mmu_init(mmu_page_alloc_fn alloc)
{
	(void)alloc;
	return 0;
}

void arch_mmu_activate(void)
{
}

/* Map and record; the lock is held. replace: MAP_FIXED over the host's own pages. */
static int map_locked(uint64_t va, uint64_t pa, uint64_t size, unsigned flags, bool replace)
{
	unsigned i = lower_bound(va);
	if ((i < nmaps && maps[i].va < va + size) || nmaps == HOST_MAPS_MAX)
		return -1;
	int prot = PROT_READ | (flags & MMU_WRITE ? PROT_WRITE : 0) | (flags & MMU_EXEC ? PROT_EXEC : 0);
	int saved_errno = errno;
	/* MMU_POPULATE (a heap chunk): one call instead of a host page fault per page,
	 * which was a tenth of the collector's benchmarks' time */
	int populate = flags & MMU_POPULATE ? MAP_POPULATE : 0;
	flags &= ~MMU_POPULATE;
	void *p = mmap((void *)va, size, prot,
		       MAP_SHARED | populate | (replace ? MAP_FIXED : MAP_FIXED_NOREPLACE),
		       host_memfd, (off_t)(pa - HOST_PHYS_BASE));
	if (p != MAP_FAILED && p != (void *)va)
		munmap(p, size);	/* a kernel before 4.17 took the address as a hint */
	errno = saved_errno;
	if (p != (void *)va)
		return -1;
	memmove(&maps[i + 1], &maps[i], (nmaps - i) * sizeof(maps[0]));
	maps[i] = (struct host_map){ va, size, pa, flags };
	nmaps++;
	return 0;
}

static bool phys_ok(uint64_t pa, uint64_t size)
{
	return pa >= HOST_PHYS_BASE && pa - HOST_PHYS_BASE < host_mem_size &&
	       size <= host_mem_size - (pa - HOST_PHYS_BASE);
}

int arch_mmu_map(uint64_t va, uint64_t pa, uint64_t size, unsigned flags)
{
	if (size == 0 || ((va | pa | size) & (PAGE_SIZE - 1)) || !phys_ok(pa, size))
		return -1;
	if (va < DMAP_BASE || va >= HOST_VA_END || size > HOST_VA_END - va)
		return -1;
	if ((flags & MMU_WRITE) && (flags & MMU_EXEC))
		return -1;

	unsigned long irq;
	bool took = maps_lock(&irq);
	int rc = took ? map_locked(va, pa, size, flags, false) : -1;
	maps_unlock(took, irq);
	return rc;
}

int host_mmu_map_image(uint64_t va, uint64_t pa, uint64_t size)
{
	if (size == 0 || ((va | pa | size) & (PAGE_SIZE - 1)) || !phys_ok(pa, size))
		return -1;
	unsigned long irq;
	bool took = maps_lock(&irq);
	int rc = took ? map_locked(va, pa, size, MMU_WRITE, true) : -1;
	maps_unlock(took, irq);
	return rc;
}

uint64_t arch_mmu_unmap(uint64_t va, uint64_t size)
{
	uint64_t end = va + size, n = 0;
	unsigned long irq;

	if (size == 0 || end < va)
		return 0;
	if (!maps_lock(&irq)) {
		maps_unlock(false, irq);
		return 0;
	}
	unsigned i = lower_bound(va);
	while (i < nmaps && maps[i].va < end) {
		struct host_map *m = &maps[i];
		uint64_t mend = m->va + m->size;
		uint64_t a = m->va > va ? m->va : va, b = mend < end ? mend : end;
		bool split = a > m->va && b < mend;
		if (split && nmaps == HOST_MAPS_MAX)
			break;		/* no room for the second half: stop here */
		int saved_errno = errno;
		if (munmap((void *)a, b - a) != 0)
			host_fatal("munmap 0x%llx+0x%llx: %s", (unsigned long long)a,
				   (unsigned long long)(b - a), strerror(errno));
		errno = saved_errno;
		n += (b - a) / PAGE_SIZE;
		if (a == m->va && b == mend) {
			memmove(&maps[i], &maps[i + 1], (nmaps - i - 1) * sizeof(maps[0]));
			nmaps--;
		} else if (a == m->va) {
			m->pa += b - m->va;
			m->size = mend - b;
			m->va = b;
			i++;
		} else if (b == mend) {
			m->size = a - m->va;
			i++;
		} else {
			memmove(&maps[i + 2], &maps[i + 1], (nmaps - i - 1) * sizeof(maps[0]));
			maps[i + 1] = (struct host_map){ b, mend - b, m->pa + (b - m->va), m->flags };
			m->size = a - m->va;
			nmaps++;
			i += 2;
		}
	}
	maps_unlock(true, irq);
	return n;
}

bool arch_mmu_query(uint64_t va, uint64_t *pa, unsigned *flags)
{
	unsigned long irq;
	bool took = maps_lock(&irq), found = false;
	unsigned i = lower_bound(va);
	if (i < nmaps && maps[i].va <= va) {
		*pa = maps[i].pa + (va - maps[i].va);
		*flags = maps[i].flags;
		found = true;
	}
	maps_unlock(took, irq);
	return found;
}

/* In address order, merged into runs. fn must not map or unmap. */
void arch_mmu_walk(void (*fn)(void *, uint64_t, uint64_t, uint64_t, unsigned), void *ctx)
{
	struct mmu_walk_run r = { fn, ctx, 0, 0, 0, 0 };
	unsigned long irq;
	bool took = maps_lock(&irq);
	for (unsigned i = 0; i < nmaps; i++)
		mmu_walk_emit(&r, maps[i].va, maps[i].pa, maps[i].size, maps[i].flags);
	mmu_walk_finish(&r);
	maps_unlock(took, irq);
}

/*
 * arch_probe_read(va, val): the load at host_probe_insn is the only instruction that
 * may fault; arch_probe_fixup (trap.c) resumes a fault there at host_probe_fail, which
 * returns -1. Assembly, so that no sanitizer instruments the load.
 */
__asm__(
	"	.text\n"
	"	.globl arch_probe_read, host_probe_insn, host_probe_fail\n"
	"	.type arch_probe_read, @function\n"
	"arch_probe_read:\n"
	"	pushq %rbp\n"
	"	movq %rsp, %rbp\n"
	"host_probe_insn:\n"
	"	movq (%rdi), %rax\n"
	"	movq %rax, (%rsi)\n"
	"	xorl %eax, %eax\n"
	"	popq %rbp\n"
	"	ret\n"
	"host_probe_fail:\n"
	"	movl $-1, %eax\n"
	"	popq %rbp\n"
	"	ret\n"
	"	.size arch_probe_read, . - arch_probe_read\n");
