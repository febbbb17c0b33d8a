/*
 * arch/host/host_test.c: in-image tests of the hosted platform itself (suite host),
 * built only into the host binary. They stand in for the vm tests that cannot apply
 * on the host (tests/boot/vm_test.c leaves them out there: the image is this program,
 * which Linux mapped), and check what the rest of the kernel takes for granted here:
 * W^X, stacks the backtrace can read, interrupts that wait for the mask.
 * A test file, so it sits above the kernel like tests/boot/ and uses its headers.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/pmm.h>
#include <kernel/test.h>
#include "host.h"

extern char __text_start[], __text_end[];
extern const struct test_case __tests_start[];

/* Calls fn for each line of /proc/self/maps: start, end, "rwxp". */
static void each_host_mapping(void (*fn)(void *ctx, uint64_t lo, uint64_t hi, const char *perms),
			      void *ctx)
{
	static char text[1 << 16];	/* boot CPU only */
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
