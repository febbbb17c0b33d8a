/*
 * tests/boot/stack_test.c: demand-paged stack reservations (kernel/stack.h).
 *
 * Growth is checked three ways: the reservation's own count (stack_mapped_pages), the
 * page tables (arch_mmu_query of every page) and the page allocator (kernel_pmm.nfree
 * moves by exactly one page per page grown). Exact page accounting needs warm page
 * tables: a reservation's first use may allocate page-table and metadata pages that
 * stay, so each accounting test first allocates and frees the slots it will use; the
 * free lists are LIFO, so the measured round reuses exactly those slots.
 *
 * Real stack use (calls and pushes on a reservation) runs through stack_test_call_on, a
 * few instructions of assembly below: a plain call on another stack that returns, which
 * needs no second context (arch/context.h) to come back to.
 *
 * The suites stack_overflow, stack_guard, stack_stale and stack_exec end the boot on
 * purpose (a panic checked by the boot matrix), and so do stack_overflow_g and
 * stack_growth_panic (the same, inside goroutines: the report names the goroutine).
 *
 * Goroutine stacks (TEST_G): a deep recursion on a large reservation, and the
 * collector's shrink hook (rt/gstack.c) on parked goroutines.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/pmm.h>
#include <kernel/smp.h>
#include <kernel/stack.h>
#include <kernel/test.h>
#include "probe.h"
#include <kernel/vm.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include "everywhere.h"

#define WAIT_NS (30ull * 1000 * 1000 * 1000)
#define KiB (1ul << 10)
#define MiB (1ul << 20)

/* Call fn(arg) with the stack pointer at top (16-byte aligned); returns what fn returns.
 * The frame record chain continues into the caller, so backtraces cross over. */
uintptr_t stack_test_call_on(uintptr_t (*fn)(uintptr_t), uintptr_t arg, uintptr_t top);
#if defined(__x86_64__)
__asm__(".text\n"
	".globl stack_test_call_on\n"
	".type stack_test_call_on, @function\n"
	"stack_test_call_on:\n"
	"	pushq %rbp\n"
	"	movq %rsp, %rbp\n"
	"	movq %rdx, %rsp\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	callq *%rax\n"
	"	movq %rbp, %rsp\n"
	"	popq %rbp\n"
	"	ret\n"
	".size stack_test_call_on, . - stack_test_call_on\n");
#elif defined(__aarch64__)
__asm__(".text\n"
	".globl stack_test_call_on\n"
	".type stack_test_call_on, %function\n"
	"stack_test_call_on:\n"
	"	stp x29, x30, [sp, #-16]!\n"
	"	mov x29, sp\n"
	"	mov sp, x2\n"
	"	mov x3, x0\n"
	"	mov x0, x1\n"
	"	blr x3\n"
	"	mov sp, x29\n"
	"	ldp x29, x30, [sp], #16\n"
	"	ret\n"
	".size stack_test_call_on, . - stack_test_call_on\n");
#endif

static bool mapped(uintptr_t va)
{
	uint64_t pa;
	unsigned flags;
	return arch_mmu_query(va, &pa, &flags);
}

/* Pages of [base, top) the page tables map. */
static size_t table_pages(const struct kstack *s)
{
	size_t n = 0;
	for (uintptr_t va = s->base; va < s->top; va += PAGE_SIZE)
		n += mapped(va);
	return n;
}

static uint64_t nfree(void)
{
	return kernel_pmm.nfree;
}

/* Allocate and free one stack of each given size: page tables and metadata for the
 * slot the next allocation of that size gets (LIFO) are then in place. */
static void warm(size_t size, unsigned count)
{
	static struct kstack w[64];
	for (unsigned i = 0; i < count && i < 64; i++)
		EXPECT_EQ(stack_alloc(&w[i], size), 0);
	for (unsigned i = count < 64 ? count : 64; i-- > 0;)
		stack_free(&w[i]);
}

TEST(stack, sizes)
{
	struct kstack s = { 1, 2 };
	EXPECT_EQ(stack_alloc(&s, 0), -1);
	EXPECT_EQ(stack_alloc(&s, STACK_MAX_SIZE + 1), -1);
	EXPECT_EQ(stack_alloc(&s, SIZE_MAX), -1);
	EXPECT_TRUE(s.base == 1 && s.top == 2);		/* untouched on failure */
	static const struct { size_t ask, get; } cases[] = {
		{ 1, STACK_MIN_SIZE }, { STACK_MIN_SIZE, STACK_MIN_SIZE },
		{ STACK_MIN_SIZE + 1, 2 * STACK_MIN_SIZE }, { 100 * KiB, 128 * KiB },
		{ STACK_DEFAULT_SIZE, 1 * MiB }, { 3 * MiB, 4 * MiB }, { STACK_MAX_SIZE, STACK_MAX_SIZE },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_TRUE(stack_alloc(&s, cases[i].ask) == 0);
		EXPECT_EQ(s.top - s.base, cases[i].get);
		EXPECT_EQ(s.base & (cases[i].get - 1), 0);	/* aligned to its size */
		EXPECT_TRUE(s.base >= STACK_ARENA && s.top <= GC_ARENA);
		EXPECT_EQ(stack_mapped_pages(&s), 1);
		stack_free(&s);
		EXPECT_TRUE(s.base == 0 && s.top == 0);
	}
	EXPECT_EQ(STACK_DEFAULT_SIZE, 1 * MiB);
}

TEST(stack, alloc_maps_exactly_the_top_page)
{
	struct kstack s;
	warm(STACK_DEFAULT_SIZE, 1);
	uint64_t before = nfree();
	ASSERT_TRUE(stack_alloc(&s, STACK_DEFAULT_SIZE) == 0);
	EXPECT_EQ(before - nfree(), 1);
	EXPECT_EQ(stack_mapped_pages(&s), 1);
	EXPECT_EQ(table_pages(&s), 1);
	EXPECT_TRUE(mapped(s.top - PAGE_SIZE));
	EXPECT_TRUE(!mapped(s.top - 2 * PAGE_SIZE));
	EXPECT_TRUE(!mapped(s.base));
	const volatile uint64_t *w = (const uint64_t *)(s.top - PAGE_SIZE);
	uint64_t or = 0;
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		or |= w[i];
	EXPECT_EQ(or, 0);	/* zeroed */
	stack_free(&s);
	EXPECT_EQ(nfree(), before);
}

TEST(stack, grows_page_by_page_with_zeroes)
{
	struct kstack s;
	warm(256 * KiB, 1);
	uint64_t before = nfree();
	ASSERT_TRUE(stack_alloc(&s, 256 * KiB) == 0);
	size_t pages = (s.top - s.base) / PAGE_SIZE;
	/* downwards, as a stack grows: each first touch maps exactly one page */
	for (size_t k = 2; k < pages; k++) {
		volatile uint64_t *p = (volatile uint64_t *)(s.top - k * PAGE_SIZE);
		EXPECT_EQ(p[PAGE_SIZE / 16], 0);		/* a read grows it, zeroed */
		EXPECT_EQ(stack_mapped_pages(&s), k);
		p[0] = 0xfeed0000 + k;				/* a write to it faults no more */
		p[PAGE_SIZE / 8 - 1] = k;
		EXPECT_EQ(stack_mapped_pages(&s), k);
		EXPECT_EQ(before - nfree(), k);
	}
	EXPECT_EQ(table_pages(&s), pages - 1);		/* all but the guard */
	for (size_t k = 2; k < pages; k++) {
		volatile uint64_t *p = (volatile uint64_t *)(s.top - k * PAGE_SIZE);
		EXPECT_EQ(p[0], 0xfeed0000 + k);
		EXPECT_EQ(p[PAGE_SIZE / 8 - 1], k);
	}
	stack_free(&s);
	EXPECT_EQ(nfree(), before);
}

TEST(stack, out_of_order_touches)
{
	/* a large frame may skip pages: growth does not have to be contiguous */
	struct kstack s;
	warm(1 * MiB, 1);
	uint64_t before = nfree();
	ASSERT_TRUE(stack_alloc(&s, 1 * MiB) == 0);
	*(volatile uint8_t *)(s.base + PAGE_SIZE) = 1;		/* the lowest usable page */
	*(volatile uint8_t *)(s.top - 100 * PAGE_SIZE) = 2;
	*(volatile uint8_t *)(s.top - 7 * PAGE_SIZE + 123) = 3;
	EXPECT_EQ(stack_mapped_pages(&s), 4);
	EXPECT_EQ(table_pages(&s), 4);
	EXPECT_EQ(before - nfree(), 4);
	stack_free(&s);
	EXPECT_EQ(nfree(), before);
}

/* Recursion on a reservation: each frame holds a 256-byte buffer, down to `arg`. */
static uintptr_t __attribute__((noinline)) recurse_to(uintptr_t floor)
{
	volatile uint8_t buf[256];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	uintptr_t r = 1;
	if ((uintptr_t)buf > floor)
		r += recurse_to(floor);
	return r + buf[7] - 7;
}

TEST(stack, grows_under_recursion)
{
	struct kstack s;
	warm(256 * KiB, 1);
	uint64_t before = nfree();
	ASSERT_TRUE(stack_alloc(&s, 256 * KiB) == 0);
	uintptr_t floor = s.top - 192 * KiB;
	uintptr_t depth = stack_test_call_on(recurse_to, floor, s.top);
	EXPECT_TRUE(depth > 192 * KiB / 512);		/* frames are at least 256 bytes */
	size_t n = stack_mapped_pages(&s);
	/* every page from the top down to floor, plus at most a frame's worth below it */
	EXPECT_TRUE(n >= 192 * KiB / PAGE_SIZE && n <= 192 * KiB / PAGE_SIZE + 2);
	EXPECT_EQ(table_pages(&s), n);
	EXPECT_EQ(before - nfree(), n);
	/* again: nothing new to map */
	EXPECT_EQ(stack_test_call_on(recurse_to, floor, s.top), depth);
	EXPECT_EQ(stack_mapped_pages(&s), n);
	stack_free(&s);
	EXPECT_EQ(nfree(), before);
}

/*
 * The locked paths, run on a demand-paged stack whose stack pointer steps across a
 * page boundary above unmapped pages, 8 bytes at a time: the vm and pmm locks
 * prefault the stack when taken, so nothing faults while they are held (a fault
 * there panics, naming the lock). The first call after the alloca is the locked one,
 * so the unmapped page is first reached by frames run under the lock.
 */
static uintptr_t __attribute__((noinline)) services_at(uintptr_t depth)
{
	volatile uint8_t *p = __builtin_alloca(depth);
	p[0] = 1;
	uintptr_t ok = 1;
	uint64_t pa = page_alloc();			/* pmm */
	ok &= pa != 0;
	if (pa)
		page_free(pa);
	ok &= vm_sbrk(0) != (void *)-1;			/* vm */
	struct kstack t;				/* stack, vm, pmm, shootdown */
	if (stack_alloc(&t, 64 * KiB) != 0)
		return 0;
	*(volatile uint64_t *)(t.top - 3 * PAGE_SIZE) = 1;
	ok &= stack_shrink(&t, t.top, 0) == 2;
	stack_free(&t);
	return ok + p[0] - 1;
}

TEST(stack, locked_paths_on_a_demand_paged_stack)
{
	for (uintptr_t d = 2 * PAGE_SIZE - 1024; d < 2 * PAGE_SIZE + 256; d += 8) {
		struct kstack s;
		ASSERT_TRUE(stack_alloc(&s, 64 * KiB) == 0);
		EXPECT_EQ(stack_test_call_on(services_at, d, s.top), 1);
		stack_free(&s);
	}
}

TEST(stack, guard_page_and_fault_classes)
{
	struct kstack s, r;
	ASSERT_TRUE(stack_alloc(&s, 64 * KiB) == 0);
	uint64_t v = 7;
	EXPECT_EQ(arch_probe_read(s.base, &v), -1);		/* the guard is never mapped */
	EXPECT_EQ(arch_probe_read(s.base + PAGE_SIZE - 8, &v), -1);
	EXPECT_EQ(stack_fault(s.base + 8, &r), STACK_FAULT_OVERFLOW);
	EXPECT_TRUE(r.base == s.base && r.top == s.top);
	EXPECT_TRUE(!mapped(s.base));
	EXPECT_EQ(stack_mapped_pages(&s), 1);
	/* the fault handler's entry point, called directly: growth */
	EXPECT_EQ(stack_fault(s.base + PAGE_SIZE + 8, &r), STACK_FAULT_GREW);
	EXPECT_EQ(stack_fault(s.base + PAGE_SIZE + 16, NULL), STACK_FAULT_GREW);	/* already: still fine */
	EXPECT_EQ(stack_mapped_pages(&s), 2);
	/* outside the arena; far beyond every slot handed out; the metadata */
	EXPECT_EQ(stack_fault((uintptr_t)&v, NULL), STACK_FAULT_NOT_STACK);
	EXPECT_EQ(stack_fault(STACK_ARENA - 8, NULL), STACK_FAULT_NOT_STACK);
	EXPECT_EQ(stack_fault(GC_ARENA, NULL), STACK_FAULT_NOT_STACK);
	EXPECT_EQ(stack_fault(s.base + 100000 * 64 * KiB + PAGE_SIZE, NULL), STACK_FAULT_BAD);
	EXPECT_EQ(stack_fault(GC_ARENA - 8, NULL), STACK_FAULT_NOT_STACK);
	uintptr_t base = s.base;
	stack_free(&s);
	EXPECT_EQ(stack_fault(base + 2 * PAGE_SIZE, &r), STACK_FAULT_BAD);	/* freed */
	EXPECT_EQ(r.base, base);
	EXPECT_TRUE(!mapped(base + 2 * PAGE_SIZE));
}

TEST(stack, free_then_alloc_reuses_the_slot)
{
	struct kstack a, b, c;
	ASSERT_TRUE(stack_alloc(&a, 128 * KiB) == 0);
	uintptr_t base = a.base;
	memset((void *)(a.top - 5 * PAGE_SIZE), 0xab, 5 * PAGE_SIZE);
	stack_free(&a);
	ASSERT_TRUE(stack_alloc(&b, 128 * KiB) == 0);
	EXPECT_EQ(b.base, base);					/* LIFO */
	EXPECT_EQ(stack_mapped_pages(&b), 1);
	EXPECT_EQ(*(volatile uint64_t *)(b.top - 8), 0);		/* a fresh page */
	EXPECT_EQ(*(volatile uint64_t *)(b.top - 3 * PAGE_SIZE), 0);	/* grows fresh too */
	ASSERT_TRUE(stack_alloc(&c, 128 * KiB) == 0);
	EXPECT_TRUE(c.base != b.base);
	ASSERT_TRUE(stack_alloc(&a, 64 * KiB) == 0);			/* another class */
	EXPECT_TRUE(a.base != base);
	stack_free(&a);
	stack_free(&c);
	stack_free(&b);
}

TEST(stack, shrink_releases_exactly_the_pages_below)
{
	struct kstack s;
	warm(256 * KiB, 1);
	uint64_t before = nfree();
	ASSERT_TRUE(stack_alloc(&s, 256 * KiB) == 0);
	size_t pages = (s.top - s.base) / PAGE_SIZE;
	for (size_t k = 1; k < pages; k++)
		*(volatile uint64_t *)(s.top - k * PAGE_SIZE) = k;
	EXPECT_EQ(stack_mapped_pages(&s), pages - 1);
	/* sp - keep = top - 13 pages - 100: the 14 pages from there up stay */
	uintptr_t sp = s.top - 10 * PAGE_SIZE - 100;
	EXPECT_EQ(stack_shrink(&s, sp, 3 * PAGE_SIZE), pages - 1 - 14);
	EXPECT_EQ(stack_mapped_pages(&s), 14);
	EXPECT_EQ(table_pages(&s), 14);
	EXPECT_EQ(before - nfree(), 14);
	for (size_t k = 1; k < pages; k++) {
		uint64_t v = 0;
		int rc = arch_probe_read(s.top - k * PAGE_SIZE, &v);
		if (k <= 14) {
			EXPECT_EQ(rc, 0);
			EXPECT_EQ(v, k);
		} else {
			EXPECT_EQ(rc, -1);		/* released; the probe does not grow it */
		}
	}
	/* nothing more to release; keep larger than the stack; sp at the very bottom */
	EXPECT_EQ(stack_shrink(&s, sp, 3 * PAGE_SIZE), 0);
	EXPECT_EQ(stack_shrink(&s, s.top, 300 * KiB), 0);
	EXPECT_EQ(stack_shrink(&s, s.base, 0), 0);
	/* released pages grow back, zeroed */
	EXPECT_EQ(*(volatile uint64_t *)(s.top - 20 * PAGE_SIZE), 0);
	EXPECT_EQ(stack_mapped_pages(&s), 15);
	/* a shrink after that releases it again: the lower bound is right */
	EXPECT_EQ(stack_shrink(&s, sp, 3 * PAGE_SIZE), 1);
	/* sp = top, keep 0: even the top page goes */
	EXPECT_EQ(stack_shrink(&s, s.top, 0), 14);
	EXPECT_EQ(stack_mapped_pages(&s), 0);
	EXPECT_EQ(nfree(), before);
	EXPECT_EQ(*(volatile uint64_t *)(s.top - 8), 0);
	EXPECT_EQ(stack_mapped_pages(&s), 1);
	stack_free(&s);
	EXPECT_EQ(nfree(), before);
}

/* Shrinking the stack one runs on keeps what the running frames and the locks need. */
static struct kstack self_stack;

static uintptr_t __attribute__((noinline)) shrink_self(uintptr_t pages)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	for (uintptr_t k = 1; k <= pages; k++)		/* dead space below us, grown */
		*(volatile uint8_t *)((sp & ~(PAGE_SIZE - 1)) - k * PAGE_SIZE) = 1;
	size_t before = stack_mapped_pages(&self_stack);
	size_t n = stack_shrink(&self_stack, sp, 0);
	return n && n + 4 >= pages && stack_mapped_pages(&self_stack) == before - n;
}

TEST(stack, shrink_of_the_running_stack)
{
	ASSERT_TRUE(stack_alloc(&self_stack, 256 * KiB) == 0);
	EXPECT_EQ(stack_test_call_on(shrink_self, 24, self_stack.top), 1);
	/* what stayed is the top pages only: the ones it ran on, and two prefault pages */
	size_t left = stack_mapped_pages(&self_stack);
	EXPECT_TRUE(left >= 2 && left <= 5);
	EXPECT_EQ(table_pages(&self_stack), left);
	stack_free(&self_stack);
}

TEST(stack, stale_access_after_free_faults_everywhere)
{
	struct kstack s;
	ASSERT_TRUE(stack_alloc(&s, 64 * KiB) == 0);
	uintptr_t va = s.top - 2 * PAGE_SIZE;
	*(volatile uint64_t *)va = 0x5eed;
	*(volatile uint64_t *)(s.top - 8) = 0x5eed;
	/* every CPU reads it: their TLBs now hold the translations */
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		if (!atomic_load(&cpus[i].online))
			continue;
		struct probe p = { va, -2, 0 };
		ipi_call(i, probe_on, &p, true);
		EXPECT_EQ(p.rc, 0);
		EXPECT_EQ(p.val, 0x5eed);
	}
	uintptr_t top = s.top;
	stack_free(&s);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		if (!atomic_load(&cpus[i].online))
			continue;
		struct probe p = { va, -2, 0 }, q = { top - 8, -2, 0 };
		ipi_call(i, probe_on, &p, true);
		ipi_call(i, probe_on, &q, true);
		EXPECT_EQ(p.rc, -1);	/* no stale translation anywhere */
		EXPECT_EQ(q.rc, -1);
	}
}

#define MANY 2000
static struct kstack many[MANY];
NOSCAN(many);		/* stacks' addresses: no heap pointers */

TEST(stack, many_stacks_exact_accounting)
{
	for (int round = 0; round < 2; round++) {
		uint64_t before = nfree();
		for (unsigned i = 0; i < MANY; i++) {
			ASSERT_TRUE(stack_alloc(&many[i], 64 * KiB) == 0);
			*(volatile uint32_t *)(many[i].top - 4) = i;
		}
		for (unsigned i = 0; i < MANY; i++) {
			EXPECT_EQ(stack_mapped_pages(&many[i]), 1);
			EXPECT_EQ(*(volatile uint32_t *)(many[i].top - 4), i);	/* all distinct */
		}
		if (round == 1)
			EXPECT_EQ(before - nfree(), MANY);	/* warm: one page each, nothing else */
		for (unsigned i = MANY; i-- > 0;)
			stack_free(&many[i]);
		if (round == 1)
			EXPECT_EQ(nfree(), before);
	}
}

/*
 * Every CPU at once: allocate a few stacks of mixed sizes, grow each to a pseudo-random
 * depth with a CPU-unique pattern, check it, shrink some, free all. Then the page
 * allocator must be exactly where it was.
 */
#define CONC_ALLOCS 96	/* rounds per CPU: this divided by the CPU count (shootdowns
			 * cost every CPU, and 8 emulated CPUs share 2 real ones) */
#define CONC_LIVE 4
static const size_t conc_sizes[CONC_LIVE] = { 64 * KiB, 128 * KiB, 256 * KiB, 1 * MiB };
static _Atomic unsigned conc_bad, conc_done;
static unsigned conc_rounds;

static void conc_worker(void *arg)
{
	(void)arg;
	uint64_t rnd = 0x9e3779b97f4a7c15ull * (cpu_id() + 1);
	struct kstack s[CONC_LIVE];
	size_t depth[CONC_LIVE];
	for (unsigned r = 0; r < conc_rounds; r++) {
		for (unsigned i = 0; i < CONC_LIVE; i++) {
			if (stack_alloc(&s[i], conc_sizes[i]) != 0) {
				atomic_fetch_add(&conc_bad, 1);
				depth[i] = 0;
				s[i].base = 0;
				continue;
			}
			rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
			size_t pages = conc_sizes[i] / PAGE_SIZE;
			depth[i] = 1 + rnd % (pages - 1 < 24 ? pages - 1 : 24);
			for (size_t k = 1; k <= depth[i]; k++) {
				volatile uint64_t *p = (volatile uint64_t *)(s[i].top - k * PAGE_SIZE);
				if (p[1] != 0)
					atomic_fetch_add(&conc_bad, 1);	/* not a fresh page */
				p[1] = ((uint64_t)cpu_id() << 32) | k;
			}
			if (stack_mapped_pages(&s[i]) != depth[i])
				atomic_fetch_add(&conc_bad, 1);
		}
		for (unsigned i = 0; i < CONC_LIVE; i++) {
			if (!s[i].base)
				continue;
			for (size_t k = 1; k <= depth[i]; k++)
				if (*(volatile uint64_t *)(s[i].top - k * PAGE_SIZE + 8) != (((uint64_t)cpu_id() << 32) | k))
					atomic_fetch_add(&conc_bad, 1);
			if ((r + i) % 3 == 0 && depth[i] > 2) {
				size_t n = stack_shrink(&s[i], s[i].top - 2 * PAGE_SIZE, 0);
				if (n != depth[i] - 2 || stack_mapped_pages(&s[i]) != 2)
					atomic_fetch_add(&conc_bad, 1);
			}
			stack_free(&s[i]);
		}
	}
	atomic_fetch_add(&conc_done, 1);
}

/* Run fn on every online CPU at once, then wait (tests/boot/everywhere.h). */
static void run_everywhere(void (*fn)(void *), void *arg)
{
	test_run_everywhere(fn, arg, WAIT_NS);
}

TEST(stack, concurrent_alloc_grow_free_exact)
{
	/* enough warm slots of every size for every CPU's live set at once */
	for (unsigned i = 0; i < CONC_LIVE; i++)
		warm(conc_sizes[i], CONC_LIVE * cpu_count());
	atomic_store(&conc_bad, 0);
	atomic_store(&conc_done, 0);
	conc_rounds = CONC_ALLOCS / cpu_count() > 6 ? CONC_ALLOCS / cpu_count() : 6;
	uint64_t before = nfree();
	run_everywhere(conc_worker, NULL);
	EXPECT_EQ(atomic_load(&conc_done), cpu_count());
	EXPECT_EQ(atomic_load(&conc_bad), 0);
	EXPECT_EQ(nfree(), before);
}

/* Every CPU touches every page of one shared stack at once: each page is mapped once,
 * whoever faults first; the losers give their page back. */
static struct kstack shared;

static void touch_shared(void *arg)
{
	(void)arg;
	size_t pages = (shared.top - shared.base) / PAGE_SIZE;
	size_t start = cpu_id() * 7;
	for (size_t j = 0; j < pages - 1; j++) {
		size_t k = 1 + (start + j) % (pages - 1);
		volatile uint64_t *p = (volatile uint64_t *)(shared.top - k * PAGE_SIZE);
#if defined(__SANITIZE_THREAD__)
		/* ThreadSanitizer takes the host's mmap for a write by the CPU that mapped
		 * the page, and a CPU that finds it mapped reads with no fault, so with no
		 * synchronisation it could see: enter the fault path (vm lock) first. */
		EXPECT_EQ(stack_fault((uintptr_t)p, NULL), STACK_FAULT_GREW);
#endif
		(void)p[cpu_id()];
	}
}

TEST(stack, concurrent_faults_on_one_page_map_it_once)
{
	warm(1 * MiB, 1);
	uint64_t before = nfree();
	ASSERT_TRUE(stack_alloc(&shared, 1 * MiB) == 0);
	run_everywhere(touch_shared, NULL);
	size_t pages = (shared.top - shared.base) / PAGE_SIZE;
	EXPECT_EQ(stack_mapped_pages(&shared), pages - 1);
	EXPECT_EQ(table_pages(&shared), pages - 1);
	EXPECT_EQ(before - nfree(), pages - 1);
	stack_free(&shared);
	EXPECT_EQ(nfree(), before);
}

/* The boot matrix checks these panics (tests=stack_overflow, stack_guard, stack_stale,
 * stack_exec). */

/* Recursion until the stack is full: the fault on the guard page comes with no stack
 * left to the faulting code; the report still comes, from the fault stack. */
static uintptr_t __attribute__((noinline)) stack_test_recurse(uintptr_t n)
{
	volatile uint8_t buf[512];
	for (unsigned i = sizeof(buf); i-- > 0;)
		buf[i] = (uint8_t)n;
	if (n == UINTPTR_MAX)		/* never: only for the compiler's -Winfinite-recursion */
		return 0;
	return stack_test_recurse(n + 1) + buf[3];
}

TEST_EXPLICIT(stack_overflow, recursion_hits_the_guard_page)
{
	struct kstack s;
	ASSERT_TRUE(stack_alloc(&s, 64 * KiB) == 0);
	stack_test_call_on(stack_test_recurse, 0, s.top);
	test_fail(__FILE__, __LINE__, "recursing without end on a 64 KiB stack did not panic");
}

TEST_EXPLICIT(stack_guard, write_to_the_guard_page)
{
	struct kstack s;
	ASSERT_TRUE(stack_alloc(&s, 64 * KiB) == 0);
	*(volatile uint64_t *)(s.base + PAGE_SIZE - 8) = 1;
	test_fail(__FILE__, __LINE__, "a write to the guard page did not panic");
}

TEST_EXPLICIT(stack_stale, write_to_a_freed_stack)
{
	struct kstack s;
	ASSERT_TRUE(stack_alloc(&s, 64 * KiB) == 0);
	uintptr_t top = s.top;
	stack_free(&s);
	*(volatile uint64_t *)(top - 16) = 1;
	test_fail(__FILE__, __LINE__, "a write to a freed stack did not panic");
}

/* A jump into a stack page: mapped, never executable. Growth cannot help (the page is
 * there); after a few retries the fault is reported as the fault it is, not looped on. */
TEST_EXPLICIT(stack_exec, jump_into_the_stack)
{
	struct kstack s;
	ASSERT_TRUE(stack_alloc(&s, STACK_MIN_SIZE) == 0);
	void (*fn)(void) = (void (*)(void))(s.top - PAGE_SIZE);
	fn();
	test_fail(__FILE__, __LINE__, "executing from a stack page did not panic");
}

/* ---- goroutine stacks ------------------------------------------------------------ */

/* A frame's words are a function of its level and index: each frame checks its own on
 * the way back (a page lost or zeroed under it shows), and the sum of the levels'
 * values is the checksum, known in closed form once the depth is. */
static uint64_t frame_word(uint64_t level, uint64_t i)
{
	uint64_t h = (level << 8 | i) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static uint64_t frames_expected(uint64_t depth)
{
	uint64_t sum = 0;
	for (uint64_t l = 0; l < depth; l++)
		sum += frame_word(l, 255);
	return sum;
}

#define FRAME_WORDS 60
static _Atomic unsigned frames_bad;

static uint64_t __attribute__((noinline)) frames_down(uintptr_t floor, uint64_t level, uint64_t *depth)
{
	volatile uint64_t buf[FRAME_WORDS];
	for (unsigned i = 0; i < FRAME_WORDS; i++)
		buf[i] = frame_word(level, i);
	uint64_t r = frame_word(level, 255);
	if ((uintptr_t)buf > floor)
		r += frames_down(floor, level + 1, depth);
	else
		*depth = level + 1;
	for (unsigned i = 0; i < FRAME_WORDS; i++)
		if (buf[i] != frame_word(level, i)) {
			atomic_fetch_add(&frames_bad, 1);
			break;
		}
	return r;
}

/* Recurse until `bytes` below the caller's frame are in use; true if every frame came
 * back intact and the checksum is the expected one. */
static bool frames_use(uintptr_t bytes, uint64_t *depth_out)
{
	uint64_t depth = 0;
	unsigned bad0 = atomic_load(&frames_bad);
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uint64_t sum = frames_down(here - bytes, 0, &depth);
	if (depth_out)
		*depth_out = depth;
	return sum == frames_expected(depth) && atomic_load(&frames_bad) == bad0;
}

/* A goroutine with an 8 MiB reservation recurses through more than 4 MiB of it. */
static struct {
	bool ok;
	uint64_t depth;
	size_t pages;
	struct wait_group wg;
} deep = { false, 0, 0, WAIT_GROUP_INIT };

static void deep_goroutine(void *arg)
{
	(void)arg;
	deep.ok = frames_use(5 * MiB, &deep.depth);
	deep.pages = stack_mapped_pages(&sched_curg()->stack);
	wg_done(&deep.wg);
}

TEST_G(gstack, deep_recursion_grows_a_goroutine_stack_past_4mib)
{
	deep.ok = false;
	wg_add(&deep.wg, 1);
	go_stack(deep_goroutine, NULL, 8 * MiB);
	wg_wait(&deep.wg);
	EXPECT_TRUE(deep.ok);
	EXPECT_TRUE(deep.depth >= 5 * MiB / 1024);	/* frames of at most 1 KiB */
	EXPECT_TRUE(deep.pages >= 5 * MiB / PAGE_SIZE);
}

/* The smallest reservation (STACK_MIN_SIZE: the guard page and three pages, the G at
 * the top of the highest): a goroutine recurses down to within 2 KiB of the guard and
 * comes back with every frame intact, its three pages mapped and nothing else. */
static struct {
	bool ok;
	size_t size, pages;
	struct wait_group wg;
} small = { false, 0, 0, WAIT_GROUP_INIT };

static void small_goroutine(void *arg)
{
	(void)arg;
	struct kstack st = sched_curg()->stack;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t floor = st.base + PAGE_SIZE + 2 * KiB;
	small.size = st.top - st.base;
	small.ok = here > floor && frames_use(here - floor, NULL);
	small.pages = stack_mapped_pages(&st);
	wg_done(&small.wg);
}

TEST_G(gstack, smallest_reservation_fills_its_three_pages)
{
	small.ok = false;
	wg_add(&small.wg, 1);
	go_stack(small_goroutine, NULL, 1);	/* rounded up to the smallest */
	wg_wait(&small.wg);
	EXPECT_EQ(small.size, STACK_MIN_SIZE);
	EXPECT_TRUE(small.ok);
	EXPECT_EQ(small.pages, STACK_MIN_SIZE / PAGE_SIZE - 1);
}

/* go() gives go_stack_default(): 32 KiB, or the boot's gstack_kib rounded up to a power
 * of two (the matrix boots tests=gstack with gstack_kib=16 and checks the line printed
 * here); the program's main goroutine, which runs this, keeps 1 MiB whatever it says. */
static struct {
	size_t size;
	bool filled;
	struct wait_group wg;
} dflt = { 0, false, WAIT_GROUP_INIT };

/* Uses all but three pages of its reservation (the guard, the top page with the G,
 * and one for the frames above this one): what go() promises is usable. */
static __attribute__((noinline)) bool dflt_fill(size_t n)
{
	volatile unsigned char buf[n];
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 7);
	for (size_t i = 0; i < n; i++)
		if (buf[i] != (unsigned char)(i * 7))
			return false;
	return true;
}

static void dflt_goroutine(void *arg)
{
	(void)arg;
	dflt.size = sched_curg()->stack.top - sched_curg()->stack.base;
	dflt.filled = dflt_fill(dflt.size - 3 * PAGE_SIZE);
	wg_done(&dflt.wg);
}

TEST_G(gstack, go_takes_the_default_reservation)
{
	size_t d = go_stack_default();
	kprintf("gstack: go() reservation %zu KiB\n", d >> 10);
	EXPECT_TRUE(d >= STACK_MIN_SIZE && d <= STACK_MAX_SIZE && (d & (d - 1)) == 0);
	wg_add(&dflt.wg, 1);
	go(dflt_goroutine, NULL);
	wg_wait(&dflt.wg);
	EXPECT_EQ(dflt.size, d);
	EXPECT_TRUE(dflt.filled);
	EXPECT_EQ(sched_curg()->stack.top - sched_curg()->stack.base, STACK_DEFAULT_SIZE);
}

/*
 * The shrink hook. SHR_N goroutines each recurse SHR_DEEP bytes deep, come back,
 * and park on their own channel; once all are parked, sched_shrink_stacks() must
 * release at least most of what they grew, leave each with a few pages, and every
 * goroutine must then recurse again (growing back, zeroed pages) with exact
 * checksums. Then the same with a waker goroutine readying them while the shrink
 * runs (on another CPU when there is one): a goroutine readied mid-shrink waits for
 * the G_SCAN bit to clear; a checksum would show a page unmapped under it.
 */
#define SHR_N 8
#define SHR_DEEP (192 * KiB)
#define SHR_ROUNDS 6		/* rounds 0..2: plain shrink; 3..5: with a waker */

static struct {
	struct g *g[SHR_N];
	struct chan *wake[SHR_N];
	_Atomic unsigned parked, ok, next;
	struct wait_group done;
	_Atomic bool waker_go, waker_finished;
	struct wait_group waker_done;
} shr = { .done = WAIT_GROUP_INIT, .waker_done = WAIT_GROUP_INIT };

static void shr_worker(void *arg)
{
	(void)arg;
	unsigned me = atomic_fetch_add(&shr.next, 1);
	shr.g[me] = sched_curg();
	for (int round = 0; round <= SHR_ROUNDS; round++) {
		if (frames_use(SHR_DEEP, NULL))
			atomic_fetch_add(&shr.ok, 1);
		if (round == SHR_ROUNDS)
			break;
		atomic_fetch_add(&shr.parked, 1);
		int token;
		chan_recv(shr.wake[me], &token);
	}
	wg_done(&shr.done);
}

/* Until every worker has parked `round + 1` times and is G_WAITING (no scanner). */
static void shr_wait_parked(unsigned round)
{
	for (;;) {
		bool all = atomic_load(&shr.parked) == (round + 1) * SHR_N;
		for (unsigned i = 0; all && i < SHR_N; i++)
			all = atomic_load(&shr.g[i]->status) == G_WAITING;
		if (all)
			return;
		go_yield();
	}
}

static void shr_waker(void *arg)
{
	(void)arg;
	while (!atomic_load(&shr.waker_go))
		go_yield();
	for (unsigned i = 0; i < SHR_N; i++) {
		int token = (int)i;
		chan_send(shr.wake[i], &token);
	}
	atomic_store(&shr.waker_finished, true);
	wg_done(&shr.waker_done);
}

TEST_G(gstack, shrink_parked_goroutines_then_regrow_exactly)
{
	/* the collector's sweeper shrinks parked stacks after each cycle too: keep it
	 * quiet, so that the stacks are as deep as the workers left them */
	int gc_percent = gc_test_quiesce();
	atomic_store(&shr.parked, 0);
	atomic_store(&shr.ok, 0);
	atomic_store(&shr.next, 0);
	for (unsigned i = 0; i < SHR_N; i++)
		shr.wake[i] = chan_make(sizeof(int), 0);
	wg_add(&shr.done, SHR_N);
	for (unsigned i = 0; i < SHR_N; i++)
		go_stack(shr_worker, NULL, STACK_DEFAULT_SIZE);	/* SHR_DEEP, whatever gstack_kib */
	size_t plain = 0, concurrent = 0;
	for (unsigned round = 0; round < SHR_ROUNDS; round++) {
		shr_wait_parked(round);
		EXPECT_EQ(atomic_load(&shr.ok), (round + 1) * SHR_N);
		if (round < SHR_ROUNDS / 2) {
			size_t before = 0, after = 0;
			for (unsigned i = 0; i < SHR_N; i++)
				before += stack_mapped_pages(&shr.g[i]->stack);
			size_t bytes = sched_shrink_stacks();
			for (unsigned i = 0; i < SHR_N; i++) {
				size_t n = stack_mapped_pages(&shr.g[i]->stack);
				EXPECT_TRUE(n <= 16);	/* the frames above sp and the slack */
				after += n;
			}
			/* at least what these lost (other parked goroutines may add) */
			EXPECT_TRUE(bytes >= (before - after) * PAGE_SIZE);
			EXPECT_TRUE(before - after >= SHR_N * (SHR_DEEP / 2) / PAGE_SIZE);
			plain += bytes;
			for (unsigned i = 0; i < SHR_N; i++) {
				int token = (int)i;
				chan_send(shr.wake[i], &token);
			}
		} else {
			atomic_store(&shr.waker_go, false);
			atomic_store(&shr.waker_finished, false);
			wg_add(&shr.waker_done, 1);
			go_stack(shr_waker, NULL, STACK_DEFAULT_SIZE);
			atomic_store(&shr.waker_go, true);
			while (!atomic_load(&shr.waker_finished)) {
				concurrent += sched_shrink_stacks();
				go_yield();	/* one CPU: let the waker run */
			}
			wg_wait(&shr.waker_done);
		}
	}
	wg_wait(&shr.done);
	EXPECT_EQ(atomic_load(&shr.ok), (SHR_ROUNDS + 1) * SHR_N);
	EXPECT_EQ(atomic_load(&frames_bad), 0);
	EXPECT_TRUE(plain > 0);
	(void)concurrent;
	for (unsigned i = 0; i < SHR_N; i++)
		chan_free(shr.wake[i]);
	gc_set_percent(gc_percent);
}

/* ---- panics inside goroutines (the matrix checks the reports) ---------------------- */

/* tests=stack_overflow_g: a goroutine on the smallest reservation recurses without end;
 * the report names it ("goroutine N [running]:") above its frames, then lists the
 * others (the test's own goroutine waits for it). It starts recursing only once the
 * test's goroutine is parked in wg_wait, which the report must show: on a loaded host
 * the new goroutine could otherwise overflow on another CPU first (a fresh-check run
 * showed goroutine 1 not yet waiting). */
static void overflow_goroutine(void *arg)
{
	struct g *waiter = arg;
	uint64_t start = clock_ns();
	while ((atomic_load(&waiter->status) & ~(uint32_t)G_SCAN) != G_WAITING &&
	       clock_ns() - start < 10ull * 1000 * 1000 * 1000)
		go_yield();
	stack_test_recurse(0);
}

TEST_G_EXPLICIT(stack_overflow_g, in_a_goroutine)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	wg_add(&wg, 1);
	go_stack(overflow_goroutine, sched_curg(), STACK_MIN_SIZE);
	wg_wait(&wg);
	test_fail(__FILE__, __LINE__, "a goroutine recursing without end did not panic");
}

/* tests=stack_growth_panic: a panic from inside the fault handler in the middle of
 * growing a goroutine's stack (growth under the vm lock is refused): the report
 * must come out whole, the goroutine named, its frames below the fault handler's. */
__attribute__((noinline)) void stack_test_grow_locked(void);
__attribute__((noinline)) void stack_test_grow_locked(void)
{
	volatile uint8_t *p = (volatile uint8_t *)__builtin_frame_address(0) - 256 * KiB;
	vm_lock();
	*p = 1;
	vm_unlock();
}

TEST_G_EXPLICIT(stack_growth_panic, under_the_vm_lock)
{
	stack_test_grow_locked();
	test_fail(__FILE__, __LINE__, "growing a goroutine stack under the vm lock did not panic");
}
