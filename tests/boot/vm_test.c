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
