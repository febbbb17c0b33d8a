/*
 * arch/host/host_test.c: in-image tests of the hosted platform itself (suite host),
 * built only into the host binary. They stand in for the vm tests that cannot apply
 * on the host (tests/boot/vm_test.c leaves them out there: the image is this program,
 * which Linux mapped), and check what the rest of the kernel takes for granted here:
 * W^X, stacks the backtrace can read, interrupts that wait for the mask, dirty-page
 * tracking.
 * A test file, so it sits above the kernel like tests/boot/ and uses its headers.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <arch/noscan.h>
#include <arch/frame.h>
#include <arch/trap.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/pmm.h>
#include <kernel/test.h>
#include <kernel/vm.h>
#include "host.h"

extern char __text_start[], __text_end[], __libc_text_start[], __libc_text_end[];
extern const struct test_case __tests_start[];

/* Calls fn for each line of /proc/self/maps: start, end, "rwxp". */
static void each_host_mapping(void (*fn)(void *ctx, uint64_t lo, uint64_t hi, const char *perms),
			      void *ctx)
{
	static char text[1 << 16];	/* boot CPU only */
	NOSCAN(text);
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, r;
	ASSERT_TRUE(fd >= 0);
	while (n < (ssize_t)sizeof(text) - 1 && (r = read(fd, text + n, sizeof(text) - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	text[n] = '\0';
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		unsigned long long lo, hi;
		char perms[5];
		if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) == 3)
			fn(ctx, lo, hi, perms);
		if (!nl)
			break;
		line = nl + 1;
	}
}

struct wx_count {
	unsigned mappings, wx;
	uint64_t first_wx;
};

static void count_wx(void *ctx, uint64_t lo, uint64_t hi, const char *perms)
{
	struct wx_count *c = ctx;
	(void)hi;
	c->mappings++;
	if (perms[1] == 'w' && perms[2] == 'x' && !c->wx++)
		c->first_wx = lo;
}

struct kernel_runs {
	unsigned runs, wx, outside_memfd, outside_window;
};

static void count_runs(void *ctx, uint64_t va, uint64_t pa, uint64_t size, unsigned flags)
{
	struct kernel_runs *k = ctx;
	k->runs++;
	if ((flags & MMU_WRITE) && (flags & MMU_EXEC))
		k->wx++;
	if (pa < HOST_PHYS_BASE || pa + size > HOST_PHYS_BASE + host_mem_size)
		k->outside_memfd++;
	if ((va < DMAP_BASE || va + size > HOST_VA_END) && va != (uint64_t)(uintptr_t)host_boot_area)
		k->outside_window++;
}

TEST(host, no_writable_executable_mapping)
{
	/* the whole process: image, libc, sanitizer runtimes, the kernel's mappings */
	struct wx_count c = { 0, 0, 0 };
	each_host_mapping(count_wx, &c);
	EXPECT_TRUE(c.mappings > 5);
	EXPECT_EQ(c.wx, 0);
	/* the kernel's own: physical memory only, in its window, never W and X */
	struct kernel_runs k = { 0, 0, 0, 0 };
	arch_mmu_walk(count_runs, &k);
	EXPECT_TRUE(k.runs >= 2);	/* the direct map and the boot area */
	EXPECT_EQ(k.wx, 0);
	EXPECT_EQ(k.outside_memfd, 0);
	EXPECT_EQ(k.outside_window, 0);
	/* and the arch refuses to make one */
	uint64_t pa = page_alloc();
	ASSERT_TRUE(pa != 0);
	EXPECT_EQ(arch_mmu_map(STACK_ARENA + 0x30000, pa, PAGE_SIZE, MMU_WRITE | MMU_EXEC), -1);
	EXPECT_EQ(arch_mmu_map(PAGE_SIZE, pa, PAGE_SIZE, MMU_WRITE), -1);	/* outside the window */
	page_free(pa);
}

struct rights {
	uint64_t addr;
	char perms[5];
};

static void find_rights(void *ctx, uint64_t lo, uint64_t hi, const char *perms)
{
	struct rights *r = ctx;
	if (r->addr >= lo && r->addr < hi)
		memcpy(r->perms, perms, 4);
}

static void expect_rights(uint64_t addr, const char *want)
{
	struct rights r = { addr, "none" };
	each_host_mapping(find_rights, &r);
	if (strncmp(r.perms, want, 3) != 0)
		test_fail(__FILE__, __LINE__, "0x%llx is %.4s, want %s", (unsigned long long)addr, r.perms, want);
}

static int image_data = 1;	/* .data */

TEST(host, image_sections_have_their_rights)
{
	expect_rights((uint64_t)(uintptr_t)__text_start, "r-x");
	expect_rights((uint64_t)(uintptr_t)__text_end - 1, "r-x");
	expect_rights((uint64_t)(uintptr_t)&image_data, "rw-");	/* .data */
	expect_rights((uint64_t)(uintptr_t)&kernel_pmm, "rw-");	/* .bss */
	expect_rights((uint64_t)(uintptr_t)__tests_start, "r--");	/* .tests, after .rodata */
	expect_rights((uint64_t)(uintptr_t)"a string literal", "r--");
}

/* Each CPU's current frame, and its signal stack (in an IPI), are physical memory the
 * arch's record knows: what a panic backtrace needs to walk them. */
static void frame_known(void *arg)
{
	_Atomic unsigned *bad = arg;
	uint64_t pa;
	unsigned f;
	if (!arch_mmu_query((uint64_t)(uintptr_t)__builtin_frame_address(0), &pa, &f) || !(f & MMU_WRITE))
		atomic_fetch_add(bad, 1);
}

/*
 * A goroutine is never preempted inside libc (arch_frame_inject_call): in the static
 * link (host.mk) libc's code is in the fenced section host.ld gives it, memcmp's
 * vector versions among it, whose registers the preemption trampoline does not save;
 * in the sanitizers' dynamic links it is outside the executable. Either way a frame
 * stopped there is refused, and this file's own code is not fenced. The address in
 * libc: where qsort calls its comparison back (a function's own address is its PLT
 * entry in the executable, for a static link's IFUNCs too).
 */
static bool in_libc_fence(uintptr_t p)
{
	return p >= (uintptr_t)__libc_text_start && p < (uintptr_t)__libc_text_end;
}

static uintptr_t libc_caller;

static int cmp_noting_caller(const void *a, const void *b)
{
	libc_caller = (uintptr_t)__builtin_return_address(0);
	return *(const int *)a - *(const int *)b;
}

static void never_called(void)
{
}

TEST(host, no_preemption_inside_libc)
{
	int v[3] = { 3, 1, 2 };
	qsort(v, 3, sizeof(v[0]), cmp_noting_caller);
	uintptr_t pc = libc_caller;
	ASSERT_TRUE(pc != 0);
	if ((uintptr_t)__libc_text_end > (uintptr_t)__libc_text_start)
		EXPECT_TRUE(in_libc_fence(pc));		/* static */
	else
		EXPECT_TRUE(pc < (uintptr_t)__text_start || pc >= (uintptr_t)__text_end);
	/* a live frame stopped there is refused, and left as it was */
	struct arch_frame f;
	memset(&f, 0, sizeof(f));
	f.live = 1;
	f.rip = pc;
	EXPECT_TRUE(!arch_frame_inject_call(&f, never_called));
	EXPECT_EQ(f.rip, pc);
	EXPECT_TRUE(!in_libc_fence((uintptr_t)in_libc_fence));
	EXPECT_TRUE(!in_libc_fence((uintptr_t)arch_frame_inject_call));
}

TEST(host, stacks_are_known_memory)
{
	_Atomic unsigned bad = 0;
	uint64_t pa;
	unsigned f;
	extern char boot_stack[];
	ASSERT_TRUE(arch_mmu_query((uint64_t)(uintptr_t)boot_stack, &pa, &f));
	EXPECT_EQ(pa, HOST_PHYS_BASE + HOST_BOOT_STACK_OFF);
	EXPECT_TRUE(!pmm_is_free(&kernel_pmm, pa));
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online)) {
			EXPECT_TRUE(arch_mmu_query(cpus[i].stack_lo, &pa, &f));
			ipi_call(i, frame_known, &bad, true);	/* on CPU i's signal stack */
		}
	frame_known(&bad);
	EXPECT_EQ(atomic_load(&bad), 0);
}

/* The software mask: an IPI to oneself while masked waits, and comes exactly once
 * when the mask is cleared. */
TEST(host, masked_ipi_waits_for_unmask)
{
	struct cpu *c = cpu_this();
	uint64_t before = atomic_load(&c->irqs[IPI_RESCHEDULE]);
	irq_push();
	arch_ipi_send(c->hwid, IPI_RESCHEDULE);
	uint64_t start = clock_ns();
	while (clock_ns() - start < 2000000)	/* 2 ms: the signal came and was recorded */
		arch_cpu_relax();
	EXPECT_EQ(atomic_load(&c->irqs[IPI_RESCHEDULE]), before);
	irq_pop();
	EXPECT_EQ(atomic_load(&c->irqs[IPI_RESCHEDULE]), before + 1);
}

/* Dirty-page tracking (mmu.c): 1 MiB mapped writable where nothing of the kernel's
 * lives (the far end of the collector's arena, which the tracked window covers and
 * no heap reaches: GC_HEAP_MAX is half of it), taken, written, peeked. */
#define DT_VA		(HOST_VA_END - (1ul << 30))
#define DT_PAGES	256

static void dt_take(uint64_t *bits)
{
	vm_lock();
	arch_mmu_dirty_take(DT_VA, DT_PAGES, bits);
	vm_unlock();
}

static void dt_peek(uint64_t *bits)
{
	vm_lock();
	arch_mmu_dirty_peek(DT_VA, DT_PAGES, bits);
	vm_unlock();
}

/* Exactly the pages [lo, hi) of the range set in bits. */
static void expect_dirty(const uint64_t bits[DT_PAGES / 64], unsigned lo, unsigned hi, int line)
{
	for (unsigned i = 0; i < DT_PAGES; i++) {
		bool set = bits[i / 64] >> (i % 64) & 1, want = i >= lo && i < hi;
		if (set != want) {
			test_fail(__FILE__, line, "page %u is %s, want %s (dirty pages %u..%u)", i,
				  set ? "dirty" : "clean", want ? "dirty" : "clean", lo, hi);
			return;
		}
	}
}

struct span_count {
	uint64_t lo, hi;
	unsigned n;
};

static void count_in(void *ctx, uint64_t lo, uint64_t hi, const char *perms)
{
	struct span_count *c = ctx;
	(void)perms;
	if (lo < c->hi && hi > c->lo)
		c->n++;
}

/* Linux mappings over [lo, hi): what the granules and the coalesced takes bound. */
static unsigned host_mappings_in(uint64_t lo, uint64_t hi)
{
	struct span_count c = { lo, hi, 0 };
	each_host_mapping(count_in, &c);
	return c.n;
}

struct dt_racer {
	_Atomic unsigned go, done;
	volatile uint64_t *p;
};

static void dt_race_write(void *arg)
{
	struct dt_racer *r = arg;
	while (!atomic_load(&r->go))
		arch_cpu_relax();
	r->p[1] = 0x5678;	/* the same granule as the boot CPU's write, another word */
	atomic_store(&r->done, 1);
}

struct dt_writer {
	_Atomic unsigned *stop, *running;
	uint64_t seed;
};

static void dt_write_random(void *arg)
{
	struct dt_writer *w = arg;
	uint64_t x = w->seed;
	while (!atomic_load(w->stop)) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		atomic_store_explicit(&((_Atomic uint64_t *)DT_VA)[(x >> 33) % (DT_PAGES * PAGE_SIZE / 8)], x,
				      memory_order_relaxed);
	}
	atomic_fetch_sub(w->running, 1);
}

struct page_rights {
	char w[DT_PAGES];	/* 1: rw, 0: read-only */
};

static void find_page_rights(void *ctx, uint64_t lo, uint64_t hi, const char *perms)
{
	struct page_rights *r = ctx;
	uint64_t end = DT_VA + DT_PAGES * PAGE_SIZE;
	for (uint64_t a = lo > DT_VA ? lo : DT_VA; a < hi && a < end; a += PAGE_SIZE)
		r->w[(a - DT_VA) / PAGE_SIZE] = perms[1] == 'w';
}

/* One round: takes on this CPU for 5 ms while every other CPU writes random words of
 * the range; then no page may be writable on the host and clean in the words (a
 * write there would go unrecorded). Dirty and read-only is allowed: it refaults. */
static void dt_race_takes(unsigned round)
{
	static struct dt_writer wr[ARCH_MAX_CPUS];
	_Atomic unsigned stop = 0, running = 0;
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (i != cpu_id() && atomic_load(&cpus[i].online)) {
			wr[i] = (struct dt_writer){ &stop, &running, round * 64 + i + 1 };
			atomic_fetch_add(&running, 1);
			ipi_call(i, dt_write_random, &wr[i], false);
		}
	uint64_t start = clock_ns();
	while (clock_ns() - start < 5000000)	/* 5 ms of takes */
		dt_take(NULL);
	atomic_store(&stop, 1);
	while (atomic_load(&running))
		arch_cpu_relax();
	uint64_t bits[DT_PAGES / 64] = { 0 };
	struct page_rights r;
	memset(&r, 0, sizeof(r));
	dt_peek(bits);
	each_host_mapping(find_page_rights, &r);
	for (unsigned i = 0; i < DT_PAGES; i++)
		if (r.w[i] && !(bits[i / 64] >> (i % 64) & 1)) {
			test_fail(__FILE__, __LINE__, "round %u: page %u writable but clean", round, i);
			return;
		}
}

TEST(host, dirty_pages_granules)
{
	uint64_t pa = page_alloc_contig(DT_PAGES, 16), bits[DT_PAGES / 64];
	ASSERT_TRUE(pa != 0);
	volatile uint8_t *p = (volatile uint8_t *)DT_VA;
	uint64_t qpa;
	unsigned f;
	vm_lock();
	int rc = arch_mmu_map(DT_VA, pa, DT_PAGES * PAGE_SIZE, MMU_WRITE | MMU_SMALL);
	vm_unlock();
	ASSERT_TRUE(rc == 0);
	EXPECT_TRUE(arch_mmu_query(DT_VA, &qpa, &f));
	EXPECT_EQ(f, MMU_WRITE);	/* MMU_SMALL is a hint, never returned */

	/* newly mapped: all dirty; a take reports so and cleans them, in one mapping */
	memset(bits, 0, sizeof(bits));
	dt_peek(bits);
	expect_dirty(bits, 0, DT_PAGES, __LINE__);
	memset(bits, 0, sizeof(bits));
	dt_take(bits);
	expect_dirty(bits, 0, DT_PAGES, __LINE__);
	EXPECT_EQ(host_mappings_in(DT_VA, DT_VA + DT_PAGES * PAGE_SIZE), 1);
	expect_rights(DT_VA, "r--");
	memset(bits, 0, sizeof(bits));
	dt_peek(bits);
	expect_dirty(bits, 0, 0, __LINE__);

	/* a read does not dirty; a write to page 20 dirties its granule, pages 16..31 */
	EXPECT_EQ(p[5 * PAGE_SIZE], 0);
	memset(bits, 0, sizeof(bits));
	dt_peek(bits);
	expect_dirty(bits, 0, 0, __LINE__);
	p[20 * PAGE_SIZE + 7] = 42;
	EXPECT_EQ(p[20 * PAGE_SIZE + 7], 42);
	memset(bits, 0, sizeof(bits));
	dt_peek(bits);
	expect_dirty(bits, 16, 32, __LINE__);
	EXPECT_EQ(host_mappings_in(DT_VA, DT_VA + DT_PAGES * PAGE_SIZE), 3);
	expect_rights(DT_VA + 31 * PAGE_SIZE, "rw-");
	expect_rights(DT_VA + 32 * PAGE_SIZE, "r--");
	/* bits NULL, and a range that starts mid-granule: bit 0 is the range's first page */
	vm_lock();
	arch_mmu_dirty_peek(DT_VA, DT_PAGES, NULL);
	vm_unlock();
	memset(bits, 0, sizeof(bits));
	vm_lock();
	arch_mmu_dirty_peek(DT_VA + 20 * PAGE_SIZE, 64, bits);
	vm_unlock();
	EXPECT_EQ(bits[0], 0xfff);

	/* take again: the same bits, then all clean and one mapping again */
	memset(bits, 0, sizeof(bits));
	dt_take(bits);
	expect_dirty(bits, 16, 32, __LINE__);
	memset(bits, 0, sizeof(bits));
	dt_peek(bits);
	expect_dirty(bits, 0, 0, __LINE__);
	EXPECT_EQ(host_mappings_in(DT_VA, DT_VA + DT_PAGES * PAGE_SIZE), 1);
	EXPECT_EQ(p[20 * PAGE_SIZE + 7], 42);

	/* not a clean page's first write: a page not mapped writable, nothing mapped */
	EXPECT_TRUE(!arch_mmu_dirty_fault((uint64_t)(uintptr_t)__text_start));
	EXPECT_TRUE(!arch_mmu_dirty_fault(DT_VA + DT_PAGES * PAGE_SIZE));

	/* the direct map is outside the window: always dirty, a take protects nothing */
	uint64_t dpa = page_alloc();
	ASSERT_TRUE(dpa != 0);
	uint64_t dbits[1] = { 0 };
	vm_lock();
	arch_mmu_dirty_take((uint64_t)(uintptr_t)phys_to_virt(dpa), 1, dbits);
	vm_unlock();
	EXPECT_EQ(dbits[0], 1);
	expect_rights((uint64_t)(uintptr_t)phys_to_virt(dpa), "rw-");
	*(volatile uint64_t *)phys_to_virt(dpa) = 1;	/* no fault to resolve */
	dbits[0] = 0;
	vm_lock();
	arch_mmu_dirty_peek((uint64_t)(uintptr_t)phys_to_virt(dpa), 1, dbits);
	vm_unlock();
	EXPECT_EQ(dbits[0], 1);
	page_free(dpa);

	/* two CPUs write into the same clean granule at once, many times */
	unsigned other = ARCH_MAX_CPUS;
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (i != cpu_id() && atomic_load(&cpus[i].online)) {
			other = i;
			break;
		}
	if (other != ARCH_MAX_CPUS) {
		for (unsigned round = 0; round < 200; round++) {
			unsigned g = round % (DT_PAGES / 16);
			volatile uint64_t *w = (volatile uint64_t *)(DT_VA + (g * 16 + round % 16) * PAGE_SIZE);
			struct dt_racer r = { 0, 0, w };
			dt_take(NULL);
			ipi_call(other, dt_race_write, &r, false);
			atomic_store(&r.go, 1);
			w[0] = 0x1234;
			while (!atomic_load(&r.done))
				arch_cpu_relax();
			EXPECT_EQ(w[0], 0x1234);
			EXPECT_EQ(w[1], 0x5678);
			memset(bits, 0, sizeof(bits));
			dt_peek(bits);
			expect_dirty(bits, g * 16, g * 16 + 16, __LINE__);
			w[0] = w[1] = 0;
		}
	}

	/* takes racing with writes on every other CPU */
	if (other != ARCH_MAX_CPUS)
		for (unsigned round = 0; round < 20; round++)
			dt_race_takes(round);

	/* unmapped while clean and mapped again: dirty, and writable without a fault; a
	 * read-only page in a granule stays read-only when a write dirties the granule */
	dt_take(NULL);
	vm_lock();
	EXPECT_EQ(arch_mmu_unmap(DT_VA, DT_PAGES * PAGE_SIZE), DT_PAGES);
	rc = arch_mmu_map(DT_VA, pa, 40 * PAGE_SIZE, MMU_WRITE);
	if (rc == 0)
		rc = arch_mmu_map(DT_VA + 40 * PAGE_SIZE, pa + 40 * PAGE_SIZE, PAGE_SIZE, 0);
	if (rc == 0)
		rc = arch_mmu_map(DT_VA + 41 * PAGE_SIZE, pa + 41 * PAGE_SIZE, (DT_PAGES - 41) * PAGE_SIZE,
				  MMU_WRITE);
	vm_unlock();
	ASSERT_TRUE(rc == 0);
	expect_rights(DT_VA, "rw-");
	memset(bits, 0, sizeof(bits));
	dt_peek(bits);
	EXPECT_EQ(bits[0], ~(1ull << 40));	/* page 40 is not writable: never dirty */
	EXPECT_EQ(bits[1] & bits[2] & bits[3], ~0ull);
	dt_take(NULL);
	p[33 * PAGE_SIZE] = 1;	/* granule 2: pages 32..47, page 40 read-only */
	memset(bits, 0, sizeof(bits));
	dt_peek(bits);
	EXPECT_EQ(bits[0], 0xffffull << 32 & ~(1ull << 40));
	EXPECT_EQ(bits[1] | bits[2] | bits[3], 0);
	expect_rights(DT_VA + 39 * PAGE_SIZE, "rw-");
	expect_rights(DT_VA + 40 * PAGE_SIZE, "r--");
	expect_rights(DT_VA + 41 * PAGE_SIZE, "rw-");
	EXPECT_TRUE(!arch_mmu_dirty_fault(DT_VA + 40 * PAGE_SIZE));

	vm_lock();
	arch_mmu_unmap(DT_VA, DT_PAGES * PAGE_SIZE);
	vm_unlock();
	for (unsigned i = 0; i < DT_PAGES; i++)
		page_free(pa + i * PAGE_SIZE);
}
