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
 * Dirty-page tracking (arch_mmu_dirty_take/peek/fault, arch/mmu.h), the hardware's
 * dirty bits done with mprotect and SIGSEGV. A clean page is write-protected
 * (PROT_READ); the first write to it faults, trap.c asks arch_mmu_dirty_fault before
 * anything else, and that makes the page's whole 64 KiB granule writable again, which
 * is "dirty". Per granule, not per page: each stretch made writable inside a
 * read-only one splits a Linux mapping, and a large heap written here and there would
 * exhaust vm.max_map_count (65530) page by page; a take's one mprotect over the range
 * merges them back. The state is one 64-bit word per granule of the tracked window
 * [GC_ARENA, HOST_VA_END), the collector's arena, the one range whose dirty state the
 * kernel asks for (rt/gc/dirty.c), in an array reserved once with MAP_NORESERVE
 * (untouched parts cost nothing: 8 bytes per 64 KiB mapped; 64 MiB of address space).
 * The window once began at the direct map, whose 4 GiB mapping alone, never asked
 * about, made half a megabyte of words resident:
 *
 *   bits  0-15  clean: the page was made read-only by a take, and not written since
 *   bits 16-31  writable: the page is mapped with MMU_WRITE (the record's view, kept
 *               by map and unmap under the record's lock)
 *   bit  32     busy: a fault handler is between claiming the granule and the end of
 *               its mprotect
 *
 * dirty = writable and not clean; pages outside the window (the boot area, the direct
 * map, the goroutine stacks) are never protected and always dirty. The rules that keep
 * the protection and the words in step, with no lock in the fault path (a signal
 * handler, on any thread, interrupts masked or not, the record's lock possibly held by
 * the thread it interrupted):
 *  - take sets the clean bits before its mprotect(PROT_READ): a write that faults on a
 *    page it protects finds the bit set.
 *  - a fault whose page is not writable is a real fault (false: the kernel's handler
 *    reports it). Otherwise it claims the granule (busy, clean bits cleared, one
 *    compare-and-swap), makes every writable page of it PROT_READ|PROT_WRITE and
 *    drops busy: true, the access is retried. A fault that finds busy returns true at
 *    once and refaults until the claimer's mprotect has landed. A fault on a writable
 *    page already dirty (it lost a race: the claimer finished meanwhile, or a take's
 *    mprotect landed after the claimer's) claims and makes it writable all the same:
 *    that is what ends the race, and makes nothing writable that should not be.
 *  - take waits for busy to clear before it sets clean bits: a take's bit either is
 *    cleared by a fault's claim, or comes after that fault's mprotect, and then so
 *    does the take's own mprotect(PROT_READ). So a page never stays writable with its
 *    clean bit set.
 *  - unmap waits for busy too before it clears the pages' bits (then munmaps): a
 *    fault's mprotect covers only pages still mapped, never a range remapped since.
 *    map clears the bits of its range (a remapped page starts dirty) and sets
 *    writable.
 * Busy is only ever held by a fault handler, which touches nothing tracked (it runs
 * on the CPU's signal stack, in the boot area): nothing that waits for it can be
 * what it interrupted. The words use relaxed atomics: what orders them against the
 * mprotects is the system calls themselves (and x86-64's locked instructions), and
 * relaxed atomics keep ThreadSanitizer's runtime from taking its locks inside the
 * handler. mprotect is a raw system call (no sanitizer interceptor, no errno).
 * A failed mprotect (ENOMEM: vm.max_map_count) is fatal: there is no way to go on.
 *
 * The goroutine stacks (the stack arena) are outside the window: always dirty, never
 * protected. Code on a goroutine stack makes system calls that write into its frame
 * (pthread_sigmask's old mask, clock and timer results): on a clean page each would
 * fail with EFAULT, some after doing half their work (rt_sigprocmask sets the new mask
 * first). And ThreadSanitizer runs deferred asynchronous signals from the end of an
 * intercepted call with every signal blocked, on the current stack, where the first
 * write to a clean page is a SIGSEGV the kernel cannot deliver. Correct all the same
 * (the collector rescans every goroutine stack that is dirty), only slower.
 *
 * Rejected: PROT_NONE reservations of the whole window (a refused map must not
 * replace the reservation of someone else's range; MAP_FIXED_NOREPLACE over nothing
 * does the same check for free); asking /proc/self/maps in arch_mmu_query (slow, and
 * it knows no physical addresses).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <arch/noscan.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <arch/mmu_walk.h>
#include <arch/ops.h>
#include "host.h"

/* Runs recorded: about one per live goroutine (its stack's top page, which holds the
 * G), so this caps goroutines alive at once on the host, short of Linux's own cap
 * (vm.max_map_count, 65530 mappings). 16384 stopped 50,000 parked goroutines at
 * 16,251. Inserts come mostly at the end (stack slots are handed out upwards). */
#define HOST_MAPS_MAX 61440

struct host_map {
	uint64_t va, size, pa;
	unsigned flags;
};

/* Guarded by maps_owner. */
static struct host_map maps[HOST_MAPS_MAX];	/* sorted by va, disjoint */
NOSCAN(maps);
static unsigned nmaps;

/* Dirty-page tracking (above): a word per 64 KiB granule of the window. The pointer
 * is set once, under maps_owner, by the first map of all (the direct map,
 * main.c, before any other CPU runs); the words change atomically, never under a
 * lock. */
#define DIRTY_GRANULE_SHIFT	16
#define DIRTY_GRANULE		(1ul << DIRTY_GRANULE_SHIFT)
#define DIRTY_GRANULE_PAGES	(DIRTY_GRANULE / PAGE_SIZE)
#define DIRTY_WRITABLE_SHIFT	16
#define DIRTY_CLEAN_MASK	0xffffull
#define DIRTY_BUSY		(1ull << 32)
#define DIRTY_BASE		GC_ARENA
#define DIRTY_NGRANULES		((HOST_VA_END - DIRTY_BASE) >> DIRTY_GRANULE_SHIFT)
_Static_assert(DIRTY_GRANULE_PAGES == 16 && DIRTY_BASE % DIRTY_GRANULE == 0 &&
	       HOST_VA_END % DIRTY_GRANULE == 0, "a granule's pages are one 16-bit field");
static _Atomic uint64_t *_Atomic dirty_words;

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

/* The window's granule words, reserved at the first map (maps_owner held). */
static _Atomic uint64_t *dirty_words_get(void)
{
	_Atomic uint64_t *w = atomic_load_explicit(&dirty_words, memory_order_relaxed);
	if (w)
		return w;
	int saved_errno = errno;
	void *p = mmap(NULL, DIRTY_NGRANULES * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		host_fatal("mmap of the dirty-page words: %s", strerror(errno));
	errno = saved_errno;
	w = p;
	atomic_store_explicit(&dirty_words, w, memory_order_release);
	return w;
}

static bool in_window(uint64_t a, uint64_t b)
{
	return a >= DIRTY_BASE && b <= HOST_VA_END && a < b;
}

/* The pages of [a, b) inside a's granule, as a 16-bit mask; *next: the granule's end
 * or b. */
static uint64_t granule_pages(uint64_t a, uint64_t b, uint64_t *next)
{
	uint64_t gend = (a | (DIRTY_GRANULE - 1)) + 1;
	if (gend > b)
		gend = b;
	*next = gend;
	unsigned first = (unsigned)(a >> PAGE_SHIFT) & (DIRTY_GRANULE_PAGES - 1);
	unsigned n = (unsigned)((gend - a) >> PAGE_SHIFT);
	return ((1ull << n) - 1) << first;
}

static _Atomic uint64_t *granule_word(_Atomic uint64_t *words, uint64_t va)
{
	return &words[(va - DIRTY_BASE) >> DIRTY_GRANULE_SHIFT];
}

/* The word *w, once no fault handler holds its granule (busy). Waits for another
 * thread's handler only: see the top of the file. */
static uint64_t word_unbusy(_Atomic uint64_t *w)
{
	uint64_t old = atomic_load_explicit(w, memory_order_relaxed);
	while (old & DIRTY_BUSY) {
		sched_yield();
		old = atomic_load_explicit(w, memory_order_relaxed);
	}
	return old;
}

/* Map or unmap [va, va+size) in the words (maps_owner held): its pages dirty, and
 * writable or not. Unmap waits for busy (before it munmaps); map need not (a handler
 * claiming the granule knows none of these pages yet). */
static void dirty_set_mapped(uint64_t va, uint64_t size, bool writable, bool wait_busy)
{
	_Atomic uint64_t *words = dirty_words_get();
	if (!in_window(va, va + size))
		return;
	for (uint64_t a = va, next; a < va + size; a = next) {
		uint64_t pages = granule_pages(a, va + size, &next);
		_Atomic uint64_t *w = granule_word(words, a);
		uint64_t old = wait_busy ? word_unbusy(w) : atomic_load_explicit(w, memory_order_relaxed), nw;
		do {
			while (wait_busy && (old & DIRTY_BUSY))
				old = word_unbusy(w);
			nw = (old & ~(pages | pages << DIRTY_WRITABLE_SHIFT)) |
			     (writable ? pages << DIRTY_WRITABLE_SHIFT : 0);
		} while (!atomic_compare_exchange_weak_explicit(w, &old, nw, memory_order_relaxed,
								memory_order_relaxed));
	}
}

/* mprotect as a raw system call: no errno, no sanitizer's interceptor; fine in a
 * signal handler. 0 or -errno. */
HOST_NO_TSAN static long host_mprotect(uint64_t va, uint64_t len, int prot)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_mprotect), "D"(va), "S"(len), "d"((long)prot)
			 : "rcx", "r11", "memory");
	return ret;
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
	flags &= ~MMU_SMALL;	/* a hint: a mapping here has no page size */
	void *p = mmap((void *)va, size, prot,
		       MAP_SHARED | (replace ? MAP_FIXED : MAP_FIXED_NOREPLACE),
		       host_memfd, (off_t)(pa - HOST_PHYS_BASE));
	if (p != MAP_FAILED && p != (void *)va)
		munmap(p, size);	/* a kernel before 4.17 took the address as a hint */
	errno = saved_errno;
	if (p != (void *)va)
		return -1;
	memmove(&maps[i + 1], &maps[i], (nmaps - i) * sizeof(maps[0]));
	maps[i] = (struct host_map){ va, size, pa, flags };
	nmaps++;
	dirty_set_mapped(va, size, flags & MMU_WRITE, false);
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

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

void arch_mmu_prefault(uint64_t va, uint64_t size)
{
	/* (EINVAL before Linux 5.14, EFAULT over a page the dirty tracking protected:
	 * the pages then fault in as they are written) */
	int saved_errno = errno;
	madvise((void *)va, size, MADV_POPULATE_WRITE);
	errno = saved_errno;
}

void arch_phys_zero(uint64_t pa, uint64_t npages)
{
	int saved_errno = errno;
	if (!phys_ok(pa, npages * PAGE_SIZE))
		host_fatal("arch_phys_zero: 0x%llx + %llu pages is not physical memory",
			   (unsigned long long)pa, (unsigned long long)npages);
	if (fallocate(host_memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(pa - HOST_PHYS_BASE),
		      (off_t)(npages * PAGE_SIZE)) != 0)
		memset(phys_to_virt(pa), 0, npages * PAGE_SIZE);	/* (a file system without holes) */
	errno = saved_errno;
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
		dirty_set_mapped(a, b - a, false, true);
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

static void set_bit(uint64_t *bits, uint64_t i)
{
	bits[i / 64] |= 1ull << (i % 64);
}

/* A stretch of contiguous pages made clean, to be write-protected with one call. */
struct dirty_stretch {
	uint64_t lo, hi;
	bool fresh;		/* some page of it was dirty: an mprotect is needed */
};

static void stretch_flush(struct dirty_stretch *st)
{
	if (st->fresh) {
		long rc = host_mprotect(st->lo, st->hi - st->lo, PROT_READ);
		if (rc != 0)
			host_fatal("dirty take: mprotect 0x%llx+0x%llx read-only: %s (vm.max_map_count?)",
				   (unsigned long long)st->lo, (unsigned long long)(st->hi - st->lo),
				   strerror((int)-rc));
	}
	st->lo = st->hi = 0;
	st->fresh = false;
}

/* take and peek: the record's writable runs in [va, end), granule by granule. */
static void dirty_scan(uint64_t va, uint64_t npages, uint64_t *bits, bool take)
{
	uint64_t end = va + npages * PAGE_SIZE;
	if (npages == 0 || npages > (UINT64_MAX - va) / PAGE_SIZE)
		return;
	unsigned long irq;
	bool took = maps_lock(&irq);
	if (!took && take) {
		maps_unlock(false, irq);	/* a take from inside a map: a kernel bug */
		host_fatal("arch_mmu_dirty_take inside the record's lock");
	}
	_Atomic uint64_t *words = atomic_load_explicit(&dirty_words, memory_order_relaxed);
	struct dirty_stretch st = { 0, 0, false };
	for (unsigned i = lower_bound(va); i < nmaps && maps[i].va < end; i++) {
		const struct host_map *m = &maps[i];
		if (!(m->flags & MMU_WRITE))
			continue;
		uint64_t a = m->va > va ? m->va : va, mend = m->va + m->size, b = mend < end ? mend : end;
		if (!words || !in_window(a, b)) {
			/* outside the window (above): always dirty, never protected */
			for (uint64_t p = a; bits && p < b; p += PAGE_SIZE)
				set_bit(bits, (p - va) / PAGE_SIZE);
			continue;
		}
		if (take && a != st.hi)
			stretch_flush(&st);
		if (take && !st.hi)
			st.lo = a;
		for (uint64_t g = a, next; g < b; g = next) {
			uint64_t pages = granule_pages(g, b, &next);
			_Atomic uint64_t *w = granule_word(words, g);
			uint64_t old;
			if (take) {
				uint64_t nw;
				old = word_unbusy(w);
				do {
					while (old & DIRTY_BUSY)
						old = word_unbusy(w);
					nw = old | (pages & old >> DIRTY_WRITABLE_SHIFT);
				} while (nw != old &&
					 !atomic_compare_exchange_weak_explicit(w, &old, nw, memory_order_relaxed,
										memory_order_relaxed));
				if (nw != old)
					st.fresh = true;
			} else {
				old = atomic_load_explicit(w, memory_order_relaxed);
			}
			uint64_t dirty = pages & (old >> DIRTY_WRITABLE_SHIFT) & ~old;
			/* bit k of the granule is page g's (k - first) */
			uint64_t base = (g - va) / PAGE_SIZE - (unsigned)__builtin_ctzll(pages);
			for (; bits && dirty; dirty &= dirty - 1)
				set_bit(bits, base + (unsigned)__builtin_ctzll(dirty));
		}
		st.hi = b;
	}
	if (take)
		stretch_flush(&st);
	maps_unlock(took, irq);
}

void arch_mmu_dirty_take(uint64_t va, uint64_t npages, uint64_t *bits)
{
	dirty_scan(va, npages, bits, true);
}

void arch_mmu_dirty_peek(uint64_t va, uint64_t npages, uint64_t *bits)
{
	dirty_scan(va, npages, bits, false);
}

/* A write fault at va (trap.c, first thing in its SIGSEGV handler, for SEGV_ACCERR
 * writes): see the top of the file. Lock-free, async-signal-safe, errno untouched;
 * calls nothing instrumented by ThreadSanitizer but the fatal report (HOST_NO_TSAN). */
HOST_NO_TSAN bool arch_mmu_dirty_fault(uint64_t va)
{
	_Atomic uint64_t *words = atomic_load_explicit(&dirty_words, memory_order_relaxed);
	if (!words || va < DIRTY_BASE || va >= HOST_VA_END)
		return false;
	_Atomic uint64_t *w = &words[(va - DIRTY_BASE) >> DIRTY_GRANULE_SHIFT];
	uint64_t mine = 1ull << (DIRTY_WRITABLE_SHIFT + ((va >> PAGE_SHIFT) & (DIRTY_GRANULE_PAGES - 1)));
	uint64_t old = atomic_load_explicit(w, memory_order_relaxed);
	do {
		if (!(old & mine))
			return false;	/* not mapped writable: a real fault */
		if (old & DIRTY_BUSY)
			return true;	/* another thread is resolving it: retry */
	} while (!atomic_compare_exchange_weak_explicit(w, &old, (old & ~DIRTY_CLEAN_MASK) | DIRTY_BUSY,
							memory_order_relaxed, memory_order_relaxed));
	/* the granule's writable pages, in runs (a stack's guard page is a hole) */
	uint64_t gva = va & ~(DIRTY_GRANULE - 1);
	unsigned mask = (unsigned)(old >> DIRTY_WRITABLE_SHIFT) & 0xffff;
	long rc = 0;
	while (mask && !rc) {
		unsigned lo = (unsigned)__builtin_ctz(mask), n = (unsigned)__builtin_ctz(~(mask >> lo));
		rc = host_mprotect(gva + (uint64_t)lo * PAGE_SIZE, (uint64_t)n * PAGE_SIZE,
				   PROT_READ | PROT_WRITE);
		mask &= ~(((1u << n) - 1) << lo);
	}
	atomic_fetch_and_explicit(w, ~DIRTY_BUSY, memory_order_relaxed);
	if (rc != 0)
		host_fatal("dirty fault at 0x%llx: mprotect of its granule writable: %s (vm.max_map_count?)",
			   (unsigned long long)va, strerror((int)-rc));
	return true;
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
