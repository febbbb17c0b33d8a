/*
 * kernel/stack.c: demand-paged stack reservations (kernel/stack.h, DESIGN.md "Stacks").
 *
 * The arena. STACK_ARENA (arch/memlayout.h) is cut into 16 equal sub-regions of R bytes,
 * a power of two. Sub-region c (0..12) holds the reservations of size class c, 16 KiB << c
 * (16 KiB .. 64 MiB), back to back from its start, so every reservation is aligned to
 * its size; the last sub-region holds the slot metadata of every class; the rest is
 * unused. Per platform:
 *
 *                 arena    sub-region   1 MiB stacks per class   16 KiB stacks
 *   x86-64        8 TiB    512 GiB      512 Ki                  32 Mi
 *   aarch64      16 TiB      1 TiB        1 Mi                  64 Mi
 *   host        512 GiB     32 GiB       32 Ki                   2 Mi
 *
 *   STACK_ARENA + 0 * R   class 0: |g 16 KiB      |g 16 KiB      |g ...
 *               + 1 * R   class 1: |g 32 KiB                      |g ...
 *               ...                 (g: the guard, the lowest page of each reservation)
 *               +15 * R   metadata: class c's slot array at + c * R / 16, mapped as
 *                         the class's slots are first handed out
 *
 * So a faulting address maps to (class, slot) by a subtraction and two shifts, with
 * no search and no lock: class = offset / R, slot = (offset % R) >> (14 + class). The
 * slot's metadata (struct stack_slot) is an array element whose page is mapped before
 * the slot is first handed out (the class's nslots is published after it, with
 * release), so the fault handler reads it without taking anything, and never faults
 * itself (on x86-64 a fault inside the fault handler would restart IST1 from its top,
 * over the running handler).
 *
 * A slot is FREE (never handed out, or on its class's free list) or LIVE. The fault
 * path decides on the state word alone; it maps a page only under the vm lock, after
 * checking the state again there, and stack_free sets FREE before it unmaps under the
 * same lock: a fault racing a free either maps first (and the free unmaps that page
 * too) or sees FREE. Two faults on one page (two CPUs touching a parked goroutine's
 * stack): the second finds the page mapped, before allocating or under the lock, and
 * resumes (its retry succeeds): never a double map, never a leak. A fault that keeps
 * coming back on a mapped page is not a growth fault (a jump into the stack: stack
 * pages are never executable); after SPURIOUS_MAX retries it goes back to the caller
 * as NOT_STACK and is reported as the fault it is.
 *
 * Per slot, under the vm lock: npages (pages mapped: stack_mapped_pages in O(1), and
 * the free's walk stops when it reaches 0) and low (no page below it is mapped), so
 * free and shrink walk only the part of a reservation that was ever touched, not its
 * whole size. Freed slots go on a LIFO free list per class (the most recently used
 * reservation has its page-table pages and cache lines warm); a class with an empty
 * list bumps its sub-region. Page-table pages and metadata pages are never given back:
 * reuse of the slot finds them in place, and the page accounting of a reused slot is
 * exact (one page for the top at alloc, one per grown page, all back at free).
 *
 * Unmapping (free, shrink) is done in chunks of UNMAP_CHUNK pages per hold of the vm
 * lock (interrupts are off while it is held; a 64 MiB stack must not keep them off for
 * 16384 unmaps). The unmapped pages are threaded into a list through their own first
 * word (through the direct map: no memory needed, any size), then one tlb_shootdown
 * for the whole unmapped range, outside every lock (the shootdown waits for the other
 * CPUs, which may be spinning on the vm lock with interrupts off), and only then are
 * the pages given back: no CPU can still reach a page that someone else gets.
 *
 * Locks: stack_lock (LOCK_RANK_STACK) guards the free lists and the bump pointers, and
 * is held across the mapping of a new metadata page; then vm (LOCK_RANK_VM, kernel/vm.c)
 * then pmm (LOCK_RANK_PMM). The fault path takes pmm (page_alloc) and vm, never
 * stack_lock, so a goroutine may grow its stack while holding stack_lock or any lock
 * ranked below vm. Code holding vm, pmm or a later lock must not grow its stack: the
 * outermost of those locks prefaults STACK_PREFAULT_BYTES below sp when taken
 * (stack_prefault, called by spinlock.c), and a stack fault under one of them panics
 * naming it (check_locks) rather than deadlock on the vm lock it already holds.
 *
 * The kernel's fault handler (panic.c) asks arch_probe_fixup first, then stack_fault:
 * an arch_probe_read of an unmapped stack page fails without growing it, which is what
 * its tests of unmapping want, and what a collector probing a stack would want too.
 *
 * Rejected:
 *   - a search (a tree or sorted array of reservations) on the fault path: O(log n) and
 *     a lock, in the fault handler;
 *   - a static per-class slot array: the smallest class has 32 Mi slots on x86-64;
 *   - one shootdown per unmapped page, or holding the vm lock across the shootdown
 *     (a CPU spinning on vm with interrupts off cannot answer it: deadlock);
 *   - a lazy, batched purge of freed stacks (Linux's vmap lazy purge): the goroutine
 *     runtime caches dead goroutines' stacks per P, so stack_free is rare; the
 *     accounting stays exact at every return instead;
 *   - mapping a whole reservation's page tables up front: tables come with the first
 *     mapping of each 2 MiB and stay; stacks of 2 MiB or less take one leaf table.
 */
#include <stdatomic.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/spinlock.h>
#include <kernel/stack.h>
#include <kernel/vm.h>

#define ARENA_SIZE	(GC_ARENA - STACK_ARENA)
#define NREGIONS	16
#define REGION_SIZE	(ARENA_SIZE / NREGIONS)
#define REGION_SHIFT	((unsigned)__builtin_ctzl(REGION_SIZE))
#define MIN_SHIFT	14
#define MAX_SHIFT	26
#define NCLASSES	(MAX_SHIFT - MIN_SHIFT + 1)
#define META_BASE	(STACK_ARENA + (NREGIONS - 1) * REGION_SIZE)
#define META_STRIDE	(REGION_SIZE / NREGIONS)
#define UNMAP_CHUNK	64

_Static_assert((ARENA_SIZE & (ARENA_SIZE - 1)) == 0, "the stack arena must be a power of two");
_Static_assert(STACK_MIN_SIZE == 1u << MIN_SHIFT && STACK_MAX_SIZE == 1u << MAX_SHIFT,
	       "stack.h sizes and the classes disagree");
_Static_assert(NCLASSES < NREGIONS, "a sub-region per class and one for the metadata");
_Static_assert((REGION_SIZE >> MIN_SHIFT) <= UINT32_MAX, "slot numbers are 32-bit");

enum slot_state {
	SLOT_FREE = 0,		/* never handed out (a zeroed metadata page), or free */
	SLOT_LIVE = 1,		/* a reservation someone owns */
};

/* One per slot, in the class's metadata array (8 bytes, 16 under ASan: a power of two,
 * so an entry never straddles a page). A parked goroutine's share of the images'
 * memory, so kept small: page indexes fit 16 bits (the largest class has 16384
 * pages), and the free-list link and the live slot's page counts share their word (a
 * slot is on the free list only once its pages are all gone: stack_free's release
 * returns with npages 0 and no fault in flight, the vm lock ordering it after them). */
struct stack_slot {
	_Atomic uint16_t state;		/* enum slot_state: written by alloc/free (release),
					 * read by the fault path (acquire) */
	uint16_t grew;			/* vm lock: a page was mapped by growth since shrink
					 * cleared it (shrink's check) */
	union {
		uint32_t next;		/* FREE: the free-list link (stack_lock) */
		struct {		/* LIVE: vm lock (read without it for statistics) */
			_Atomic uint16_t npages;	/* pages mapped now */
			_Atomic uint16_t low;		/* page index (from base): nothing
							 * mapped below */
		};
	};
#if defined(__SANITIZE_ADDRESS__)
	_Atomic uint16_t deep;		/* vm lock: the lowest page index mapped since alloc
					 * (stack_free unpoisons from there) */
	uint16_t pad[3];
#endif
};
_Static_assert(sizeof(struct stack_slot) == 8 || sizeof(struct stack_slot) == 16,
	       "stack_slot must stay a power of two");
_Static_assert((STACK_MAX_SIZE >> PAGE_SHIFT) <= UINT16_MAX, "page indexes must fit 16 bits");
_Static_assert((REGION_SIZE >> MIN_SHIFT) * sizeof(struct stack_slot) <= META_STRIDE,
	       "the metadata of the smallest class must fit its part of the last sub-region");

struct stack_class {
	/* Guarded by stack_lock. */
	uint32_t free;			/* head of the free list (when nfree > 0) */
	uint32_t nfree;			/* slots on it */
	uint32_t meta_pages;		/* pages of the metadata array mapped */
	/* Written under stack_lock (release), read by the fault path (acquire): the
	 * slots handed out at least once are [0, nslots); their metadata is mapped. */
	_Atomic uint32_t nslots;
};

static struct spinlock stack_lock = SPINLOCK_INIT("stack", LOCK_RANK_STACK);
static struct stack_class classes[NCLASSES];
static void (*_Atomic overflow_fn)(uintptr_t addr, const struct kstack *s);

static inline unsigned class_shift(unsigned c) { return MIN_SHIFT + c; }
static inline uintptr_t class_size(unsigned c) { return (uintptr_t)1 << class_shift(c); }
static inline uint32_t class_slots(unsigned c) { return (uint32_t)(REGION_SIZE >> class_shift(c)); }

static inline uintptr_t slot_base(unsigned c, uint32_t slot)
{
	return STACK_ARENA + (uintptr_t)c * REGION_SIZE + ((uintptr_t)slot << class_shift(c));
}

static inline struct stack_slot *slot_meta(unsigned c, uint32_t slot)
{
	return (struct stack_slot *)(META_BASE + (uintptr_t)c * META_STRIDE) + slot;
}

void stack_extents(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg)
{
	for (unsigned c = 0; c < NCLASSES; c++) {
		uint32_t n = atomic_load_explicit(&classes[c].nslots, memory_order_acquire);
		if (n)
			fn(slot_base(c, 0), slot_base(c, n), arg);
	}
}

/* The class and slot of the reservation holding addr; false outside every class's
 * sub-region (outside the arena, or in the metadata). Lock-free, O(1). */
static bool locate(uintptr_t addr, unsigned *c, uint32_t *slot)
{
	uintptr_t off = addr - STACK_ARENA;
	if (off >= ARENA_SIZE)
		return false;
	unsigned r = (unsigned)(off >> REGION_SHIFT);
	if (r >= NCLASSES)
		return false;
	*c = r;
	*slot = (uint32_t)((off & (REGION_SIZE - 1)) >> class_shift(r));
	return true;
}

/* *s is a reservation that was handed out (live or freed since): its class and slot. */
static bool reservation(const struct kstack *s, unsigned *c, uint32_t *slot)
{
	return locate(s->base, c, slot) &&
	       *slot < atomic_load_explicit(&classes[*c].nslots, memory_order_acquire) &&
	       s->base == slot_base(*c, *slot) && s->top == s->base + class_size(*c);
}

bool stack_reservation_of(uintptr_t addr, struct kstack *s)
{
	unsigned c;
	uint32_t slot;
	if (!locate(addr, &c, &slot) || slot >= atomic_load_explicit(&classes[c].nslots, memory_order_acquire))
		return false;
	s->base = slot_base(c, slot);
	s->top = s->base + class_size(c);
	return true;
}

/* The class of a reservation of `size` bytes; -1 for a bad size. */
static int size_class(size_t size)
{
	if (size == 0 || size > STACK_MAX_SIZE)
		return -1;
	unsigned shift = MIN_SHIFT;
	while (((size_t)1 << shift) < size)
		shift++;
	return (int)(shift - MIN_SHIFT);
}

void stack_set_overflow_handler(void (*fn)(uintptr_t addr, const struct kstack *s))
{
	atomic_store_explicit(&overflow_fn, fn, memory_order_release);
}

void stack_overflow_report(uintptr_t addr, const struct kstack *s)
{
	void (*fn)(uintptr_t, const struct kstack *);
	fn = atomic_load_explicit(&overflow_fn, memory_order_acquire);
	if (fn)
		fn(addr, s);
}

/*
 * Map the zeroed page pa at va for slot m, under the vm lock, if the slot is still
 * live: 1 mapped (pa is used), 0 the page was mapped already (another CPU was
 * first; pa is not used), -1 not live any more or out of table memory (pa not used;
 * *bad tells which).
 */
static int map_locked(struct stack_slot *m, uintptr_t base, uintptr_t va, uint64_t pa, bool *bad)
{
	uint64_t old;
	unsigned flags;

	*bad = false;
	if (atomic_load_explicit(&m->state, memory_order_relaxed) != SLOT_LIVE) {
		*bad = true;
		return -1;
	}
	if (arch_mmu_query(va, &old, &flags))
		return 0;
	if (arch_mmu_map(va, pa, PAGE_SIZE, MMU_WRITE) != 0)
		return -1;
	uint16_t idx = (uint16_t)((va - base) >> PAGE_SHIFT);
	atomic_fetch_add_explicit(&m->npages, 1, memory_order_relaxed);
	if (idx < atomic_load_explicit(&m->low, memory_order_relaxed))
		atomic_store_explicit(&m->low, idx, memory_order_relaxed);
#if defined(__SANITIZE_ADDRESS__)
	if (idx < atomic_load_explicit(&m->deep, memory_order_relaxed))
		atomic_store_explicit(&m->deep, idx, memory_order_relaxed);
#endif
	m->grew = 1;
	return 1;
}

/* Map a fresh zeroed page at va in slot m: 1 mapped now, 0 mapped already (by another
 * CPU), -1 no memory, -2 the slot is not live. */
static int grow(struct stack_slot *m, uintptr_t base, uintptr_t va)
{
	bool bad;
	uint64_t pa = page_alloc();
	if (!pa)
		return -1;
	vm_lock();
	int rc = map_locked(m, base, va, pa, &bad);
	vm_unlock();
	if (rc != 1)
		page_free(pa);
	return rc >= 0 ? rc : bad ? -2 : -1;
}

/* The metadata entry of slot `slot` of class c is mapped (stack_lock held). */
static int meta_map(unsigned c, uint32_t slot)
{
	struct stack_class *k = &classes[c];
	uint32_t page = (uint32_t)(((uint64_t)slot * sizeof(struct stack_slot)) >> PAGE_SHIFT);
	if (page < k->meta_pages)
		return 0;
	uint64_t pa = page_alloc();
	if (!pa)
		return -1;
	uintptr_t va = (uintptr_t)slot_meta(c, 0) + ((uintptr_t)page << PAGE_SHIFT);
	vm_lock();
	int rc = arch_mmu_map(va, pa, PAGE_SIZE, MMU_WRITE);
	vm_unlock();
	if (rc) {
		page_free(pa);
		return -1;
	}
	k->meta_pages = page + 1;
	return 0;
}

/* Put slot back on its class's free list. */
static void slot_put(unsigned c, uint32_t slot)
{
	struct stack_slot *m = slot_meta(c, slot);
	spin_lock_irqsave(&stack_lock);
	m->next = classes[c].free;
	classes[c].free = slot;
	classes[c].nfree++;
	spin_unlock_irqrestore(&stack_lock);
}

/*
 * Unmap the mapped pages of slot m in [from, to) (page-aligned), UNMAP_CHUNK pages
 * per hold of the vm lock, stopping early once the slot has none left; shoot the
 * range down and give the pages back. Returns the pages released.
 */
static size_t release(struct stack_slot *m, uintptr_t base, uintptr_t from, uintptr_t to)
{
	uint64_t list = 0;		/* physical pages, linked through their first word */
	uintptr_t lo = to, hi = from;	/* the range actually unmapped */
	size_t n = 0;

	uint16_t low = atomic_load_explicit(&m->low, memory_order_relaxed);
	uintptr_t va = base + ((uintptr_t)low << PAGE_SHIFT);
	if (va < from)
		va = from;
	bool more = true;
	while (va < to && more) {
		vm_lock();
		for (unsigned i = 0; i < UNMAP_CHUNK && va < to; i++, va += PAGE_SIZE) {
			uint16_t left = atomic_load_explicit(&m->npages, memory_order_relaxed);
			uint64_t pa;
			unsigned flags;
			if (!left) {
				more = false;
				break;
			}
			if (!arch_mmu_query(va, &pa, &flags))
				continue;
			arch_mmu_unmap(va, PAGE_SIZE);
			atomic_fetch_sub_explicit(&m->npages, 1, memory_order_relaxed);
			*(uint64_t *)phys_to_virt(pa) = list;
			list = pa;
			n++;
			if (va < lo)
				lo = va;
			hi = va + PAGE_SIZE;
		}
		vm_unlock();
	}
	if (!n)
		return 0;
	tlb_shootdown(lo, hi - lo);
	while (list) {
		uint64_t pa = list;
		list = *(uint64_t *)phys_to_virt(pa);
		page_free(pa);
	}
	return n;
}

int stack_alloc(struct kstack *s, size_t size)
{
	int cls = size_class(size);
	if (cls < 0)
		return -1;
	unsigned c = (unsigned)cls;
	struct stack_class *k = &classes[c];
	uint32_t slot;

	spin_lock_irqsave(&stack_lock);
	if (k->nfree) {
		slot = k->free;
		k->free = slot_meta(c, slot)->next;
		k->nfree--;
	} else {
		slot = atomic_load_explicit(&k->nslots, memory_order_relaxed);
		if (slot >= class_slots(c) || meta_map(c, slot) != 0) {
			spin_unlock_irqrestore(&stack_lock);
			return -1;
		}
		atomic_store_explicit(&k->nslots, slot + 1, memory_order_release);
	}
	struct stack_slot *m = slot_meta(c, slot);
	uintptr_t base = slot_base(c, slot), top = base + class_size(c);
	KASSERT(atomic_load_explicit(&m->state, memory_order_relaxed) == SLOT_FREE);
	/* The link in the shared word is spent: the live slot's counts start there. */
	atomic_store_explicit(&m->npages, 0, memory_order_relaxed);
	atomic_store_explicit(&m->low, (uint16_t)(class_size(c) >> PAGE_SHIFT), memory_order_relaxed);
#if defined(__SANITIZE_ADDRESS__)
	atomic_store_explicit(&m->deep, (uint16_t)(class_size(c) >> PAGE_SHIFT), memory_order_relaxed);
#endif
	m->grew = 0;
	atomic_store_explicit(&m->state, SLOT_LIVE, memory_order_release);
	spin_unlock_irqrestore(&stack_lock);

	if (grow(m, base, top - PAGE_SIZE) < 0) {
		atomic_store_explicit(&m->state, SLOT_FREE, memory_order_release);
		release(m, base, base + PAGE_SIZE, top);	/* a stray access may have grown it */
		slot_put(c, slot);
		return -1;
	}
	s->base = base;
	s->top = top;
	return 0;
}

#if defined(__SANITIZE_ADDRESS__)
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

void stack_free(struct kstack *s)
{
	unsigned c;
	uint32_t slot;
	if (!reservation(s, &c, &slot))
		panic("stack_free: [0x%llx, 0x%llx) is not a stack reservation",
		      (unsigned long long)s->base, (unsigned long long)s->top);
	struct stack_slot *m = slot_meta(c, slot);
	if (atomic_exchange_explicit(&m->state, SLOT_FREE, memory_order_acq_rel) != SLOT_LIVE)
		panic("stack_free: the stack [0x%llx, 0x%llx) is not live (freed twice?)",
		      (unsigned long long)s->base, (unsigned long long)s->top);
#if defined(__SANITIZE_ADDRESS__)
	/* Frames abandoned on the stack (a goroutine switched away for good) leave their
	 * redzones poisoned; the next owner of these addresses must not inherit them. */
	uintptr_t deep = s->base + ((uintptr_t)atomic_load(&m->deep) << PAGE_SHIFT);
	if (deep < s->top)
		__asan_unpoison_memory_region((void *)deep, s->top - deep);
#endif
	release(m, s->base, s->base + PAGE_SIZE, s->top);
	KASSERT(atomic_load_explicit(&m->npages, memory_order_relaxed) == 0);
	slot_put(c, slot);
	s->base = s->top = 0;
}

size_t stack_shrink(struct kstack *s, uintptr_t sp, size_t keep)
{
	unsigned c;
	uint32_t slot;
	if (!reservation(s, &c, &slot) || sp < s->base || sp > s->top)
		panic("stack_shrink: sp 0x%llx outside the stack [0x%llx, 0x%llx)",
		      (unsigned long long)sp, (unsigned long long)s->base, (unsigned long long)s->top);
	struct stack_slot *m = slot_meta(c, slot);
	KASSERT(atomic_load_explicit(&m->state, memory_order_relaxed) == SLOT_LIVE);
	if (sp - s->base <= keep)
		return 0;
	uintptr_t limit = (sp - keep) & ~(PAGE_SIZE - 1);	/* pages wholly below sp - keep */
	/* Shrinking the stack we run on: leave room for this function's own frames, and
	 * for the prefault of the vm lock, which would otherwise map what it unmaps. */
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	if (here > s->base && here <= s->top) {
		uintptr_t room = s->base;
		if (here - s->base > 2 * STACK_PREFAULT_BYTES)
			room = (here - 2 * STACK_PREFAULT_BYTES) & ~(PAGE_SIZE - 1);
		if (limit > room)
			limit = room;
	}
	if (limit <= s->base + PAGE_SIZE)
		return 0;
	vm_lock();
	m->grew = 0;
	vm_unlock();
	size_t n = release(m, s->base, s->base + PAGE_SIZE, limit);
	/* Nothing below limit is mapped any more, unless a fault mapped it meanwhile:
	 * then keep the older, lower bound. */
	vm_lock();
	uint16_t lim = (uint16_t)((limit - s->base) >> PAGE_SHIFT);
	if (!m->grew && atomic_load_explicit(&m->low, memory_order_relaxed) < lim)
		atomic_store_explicit(&m->low, lim, memory_order_relaxed);
	vm_unlock();
	return n;
}

size_t stack_mapped_pages(const struct kstack *s)
{
	unsigned c;
	uint32_t slot;
	if (!reservation(s, &c, &slot))
		return 0;
	struct stack_slot *m = slot_meta(c, slot);
	if (atomic_load_explicit(&m->state, memory_order_acquire) != SLOT_LIVE)
		return 0;	/* freed: its pages are gone, and the word holds the link */
	return atomic_load_explicit(&m->npages, memory_order_relaxed);
}

/* Growth takes pmm and vm: a fault with either (or a later lock) held cannot grow. */
static void check_locks(uintptr_t addr)
{
	struct cpu *cpu = cpu_this();
	for (int i = 0; i < cpu->nlocks; i++)
		if (cpu->lock_ranks[i] >= LOCK_RANK_VM)
			panic("stack growth at 0x%llx while holding lock %s: code on a demand-paged "
			      "stack must not grow it under a lock ranked vm or later (spinlock.c "
			      "prefaults %u bytes)", (unsigned long long)addr, cpu->lock_names[i],
			      STACK_PREFAULT_BYTES);
}

/*
 * A fault on a page that is mapped already is normally a race lost to another CPU
 * that mapped it meanwhile: resuming retries the access, which then succeeds. A fault
 * that comes back on the same mapped page is something else (executing from the
 * stack: no page is executable), which growth cannot fix: after SPURIOUS_MAX of them in
 * a row the fault is left to the caller as not a stack matter, to be reported as the
 * fault it is. Per CPU, touched only by the CPU itself in its fault handler.
 */
#define SPURIOUS_MAX 3
static struct {
	uintptr_t va;		/* the page of the last fault that found it mapped */
	unsigned n;		/* how many in a row */
} spurious[ARCH_MAX_CPUS];

enum stack_fault_result stack_fault(uintptr_t addr, struct kstack *s)
{
	unsigned c;
	uint32_t slot;
	uint64_t pa;
	unsigned flags;

	if (!locate(addr, &c, &slot))
		return STACK_FAULT_NOT_STACK;
	uintptr_t base = slot_base(c, slot);
	if (s)
		s->base = base, s->top = base + class_size(c);
	if (slot >= atomic_load_explicit(&classes[c].nslots, memory_order_acquire))
		return STACK_FAULT_BAD;
	struct stack_slot *m = slot_meta(c, slot);
	if (atomic_load_explicit(&m->state, memory_order_acquire) != SLOT_LIVE)
		return STACK_FAULT_BAD;
	uintptr_t va = addr & ~(PAGE_SIZE - 1);
	if (va == base)
		return STACK_FAULT_OVERFLOW;
	check_locks(addr);
	int rc = arch_mmu_query(va, &pa, &flags) ? 0 : grow(m, base, va);
	unsigned cpu = cpu_id();
	if (rc != 0) {
		spurious[cpu].n = 0;
	} else if (spurious[cpu].va == va && spurious[cpu].n >= SPURIOUS_MAX) {
		spurious[cpu].n = 0;
		return STACK_FAULT_NOT_STACK;
	} else {
		spurious[cpu].n = spurious[cpu].va == va ? spurious[cpu].n + 1 : 1;
		spurious[cpu].va = va;
	}
	return rc >= 0 ? STACK_FAULT_GREW : rc == -2 ? STACK_FAULT_BAD : STACK_FAULT_NOMEM;
}

/* Not instrumented: the reads land in other frames' redzones (AddressSanitizer) and
 * mean nothing as accesses (ThreadSanitizer). */
__attribute__((no_sanitize_address, no_sanitize_thread))
void stack_prefault(void)
{
	unsigned c;
	uint32_t slot;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	if (!locate(sp, &c, &slot))
		return;
	uintptr_t last = slot_base(c, slot) + PAGE_SIZE;	/* never the guard page */
	if (sp >= last + STACK_PREFAULT_BYTES)
		last = (sp - STACK_PREFAULT_BYTES) & ~(PAGE_SIZE - 1);
	for (uintptr_t va = sp & ~(PAGE_SIZE - 1); va >= last; va -= PAGE_SIZE)
		(void)*(volatile const uint8_t *)va;	/* a read grows the page like a write */
}
