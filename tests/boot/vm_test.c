/*
 * tests/boot/vm_test.c: the page tables this boot built, walked entry by entry.
 */
#include <string.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <kernel/pmm.h>
#include <kernel/test.h>
#include <kernel/vm.h>

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __bss_end[], __image_start[];

/*
 * Not on the hosted platform (GORT_HOSTED): there the image is the host program,
 * mapped by Linux, not by these tables, and the kernel's window is in the lower half
 * of the address space. arch/host/host_test.c checks the host's equivalents (suite
 * host: W^X over the whole process and the kernel's mappings, the image's rights).
 */
#if !defined(GORT_HOSTED)
struct wx_scan {
	uint64_t runs, wx, exec_outside_text, lower_half;
	uint64_t first_wx;
};

static void wx_visit(void *ctx, uint64_t va, uint64_t pa, uint64_t size, unsigned flags)
{
	struct wx_scan *s = ctx;
	(void)pa;
	s->runs++;
	if ((flags & MMU_WRITE) && (flags & MMU_EXEC)) {
		if (!s->wx++)
			s->first_wx = va;
	}
	if ((flags & MMU_EXEC) && (va < (uint64_t)__text_start || va + size > (uint64_t)__text_end))
		s->exec_outside_text++;
	if (va < 0x800000000000ull)
		s->lower_half++;
}

TEST(vm, no_writable_executable_page)
{
	struct wx_scan s = { 0 };
	arch_mmu_walk(wx_visit, &s);
	EXPECT_TRUE(s.runs > 3);
	EXPECT_EQ(s.wx, 0);
	EXPECT_EQ(s.exec_outside_text, 0);
	EXPECT_EQ(s.lower_half, 0);
}

TEST(vm, sections_have_their_rights)
{
	uint64_t pa;
	unsigned f;

	for (char *p = __text_start; p < __text_end; p += PAGE_SIZE) {
		ASSERT_TRUE(arch_mmu_query((uint64_t)p, &pa, &f));
		EXPECT_EQ(f & (MMU_WRITE | MMU_EXEC), MMU_EXEC);
	}
	for (char *p = __text_end; p < __rodata_end; p += PAGE_SIZE) {
		ASSERT_TRUE(arch_mmu_query((uint64_t)p, &pa, &f));
		EXPECT_EQ(f & (MMU_WRITE | MMU_EXEC), 0);
	}
	for (char *p = __data_start; p < __bss_end; p += PAGE_SIZE) {
		ASSERT_TRUE(arch_mmu_query((uint64_t)p, &pa, &f));
		EXPECT_EQ(f & (MMU_WRITE | MMU_EXEC), MMU_WRITE);
	}
	/* the direct map sees the image's physical pages at the same place */
	ASSERT_TRUE(arch_mmu_query((uint64_t)__image_start, &pa, &f));
	uint64_t pa2;
	ASSERT_TRUE(arch_mmu_query(DMAP_BASE + pa, &pa2, &f));
	EXPECT_EQ(pa, pa2);
	EXPECT_EQ(f & MMU_EXEC, 0);
	EXPECT_EQ(memcmp(phys_to_virt(pa), __image_start, 256), 0);
}
#endif

TEST(vm, null_is_unmapped)
{
	uint64_t pa;
	unsigned f;
	EXPECT_TRUE(!arch_mmu_query(0, &pa, &f));
	EXPECT_TRUE(!arch_mmu_query(PAGE_SIZE, &pa, &f));
	EXPECT_TRUE(!vm_readable(0, 8));
}

TEST(vm, map_query_unmap)
{
	uint64_t pa = page_alloc();
	uint64_t va = STACK_ARENA + 0x10000;
	uint64_t got;
	unsigned f;
	ASSERT_TRUE(pa != 0);
	EXPECT_EQ(arch_mmu_map(va, pa, PAGE_SIZE, MMU_WRITE), 0);
	EXPECT_EQ(arch_mmu_map(va, pa, PAGE_SIZE, MMU_WRITE), -1);	/* already mapped */
	ASSERT_TRUE(arch_mmu_query(va + 123, &got, &f));
	EXPECT_EQ(got, pa + 123);
	EXPECT_EQ(f & (MMU_WRITE | MMU_EXEC), MMU_WRITE);
	*(volatile uint64_t *)va = 0x1234;
	EXPECT_EQ(*(volatile uint64_t *)phys_to_virt(pa), 0x1234);
	EXPECT_EQ(arch_mmu_unmap(va, PAGE_SIZE), 1);
	EXPECT_TRUE(!arch_mmu_query(va, &got, &f));
	page_free(pa);
}

#if !defined(GORT_HOSTED)
/*
 * Dirty-page tracking (arch/mmu.h), per 4 KiB page: mapped is dirty; a take reports
 * and cleans; after the shootdown a write (and only a write) dirties its page again,
 * through the D bit on x86-64, through the write fault on aarch64; a clean page still
 * reads as writable. (The host's 64 KiB granules: arch/host/host_test.c.)
 */
#include <kernel/ipi.h>

static uint64_t dirty_word(uint64_t va, uint64_t n, bool take)
{
	uint64_t bits[1] = { 0 };
	vm_lock();
	if (take)
		arch_mmu_dirty_take(va, n, bits);
	else
		arch_mmu_dirty_peek(va, n, bits);
	vm_unlock();
	return bits[0];
}

TEST(vm, dirty_pages)
{
	enum { N = 8 };
	uint64_t va = STACK_ARENA + 0x40000, pa[N], got;
	unsigned f;
	for (unsigned i = 0; i < N; i++) {
		pa[i] = page_alloc();
		ASSERT_TRUE(pa[i] != 0);
		vm_lock();
		int rc = arch_mmu_map(va + i * PAGE_SIZE, pa[i], PAGE_SIZE, MMU_WRITE | MMU_SMALL);
		vm_unlock();
		ASSERT_TRUE(rc == 0);
	}
	EXPECT_EQ(dirty_word(va, N, false), 0xffull);	/* mapped: dirty */
	EXPECT_EQ(dirty_word(va, N, true), 0xffull);
	EXPECT_EQ(dirty_word(va, N, false), 0);	/* taken: clean */
	tlb_shootdown(va, N * PAGE_SIZE);
	ASSERT_TRUE(arch_mmu_query(va + 3 * PAGE_SIZE, &got, &f));
	EXPECT_EQ(f & MMU_WRITE, MMU_WRITE);	/* clean is still writable */
	*(volatile uint64_t *)(va + 3 * PAGE_SIZE + 8) = 42;
	(void)*(volatile uint64_t *)(va + 5 * PAGE_SIZE);
	EXPECT_EQ(dirty_word(va, N, false), 1ull << 3);	/* the write, not the read */
	EXPECT_EQ(*(volatile uint64_t *)phys_to_virt(pa[3] + 8), 42);
	EXPECT_EQ(dirty_word(va, N, true), 1ull << 3);
	EXPECT_EQ(dirty_word(va, N, false), 0);
	tlb_shootdown(va, N * PAGE_SIZE);
	*(volatile uint64_t *)(va + 3 * PAGE_SIZE) = 1;	/* again after a take */
	*(volatile uint64_t *)(va + 7 * PAGE_SIZE) = 1;
	EXPECT_EQ(dirty_word(va, N, false), (1ull << 3) | (1ull << 7));
	EXPECT_EQ(dirty_word(va + PAGE_SIZE, N - 2, false), (1ull << 2));	/* offsets from va */
	vm_lock();
	EXPECT_EQ(arch_mmu_unmap(va, N * PAGE_SIZE), N);
	vm_unlock();
	tlb_shootdown(va, N * PAGE_SIZE);
	EXPECT_EQ(dirty_word(va, N, false), 0);	/* unmapped: nothing */
	for (unsigned i = 0; i < N; i++)
		page_free(pa[i]);
}
#endif
