/*
 * tests/boot/pmm_test.c: the page allocator, built from this boot's real memory map.
 */
#include <string.h>
#include <arch/memlayout.h>
#include <kernel/boot.h>
#include <kernel/pmm.h>
#include <kernel/test.h>

TEST(pmm, map_taken)
{
	/* The allocator saw the firmware's RAM: its pages are the usable pages of this
	 * boot's map minus what the kernel keeps (image, low memory, bitmap, firmware
	 * reservations), and nothing reserved leaked in. */
	uint64_t usable = 0;
	for (uint32_t i = 0; i < boot_mmap_count; i++)
		if (boot_mmap[i].type == BOOTMEM_USABLE)
			usable += boot_mmap[i].size / PAGE_SIZE;
	EXPECT_TRUE(usable > 0);
	EXPECT_TRUE(kernel_pmm.total <= usable);
	EXPECT_TRUE(kernel_pmm.total >= usable - usable / 8 - boot_bootinfo->kernel_size / PAGE_SIZE -
				       ARCH_LOW_RESERVED / PAGE_SIZE);
	EXPECT_TRUE(kernel_pmm.nfree <= kernel_pmm.total);
	EXPECT_TRUE(kernel_pmm.nfree > kernel_pmm.total / 2);
	for (uint32_t i = 0; i < boot_mmap_count; i++) {
		const struct bootinfo_mem *m = &boot_mmap[i];
		if (m->type == BOOTMEM_USABLE || m->size == 0)
			continue;
		for (uint64_t pa = m->base & ~(PAGE_SIZE - 1); pa < m->base + m->size; pa += PAGE_SIZE)
			if (pmm_is_free(&kernel_pmm, pa)) {
				EXPECT_TRUE(!pmm_is_free(&kernel_pmm, pa));
				return;
			}
	}
}

TEST(pmm, kernel_and_low_memory_reserved)
{
	const struct bootinfo *bi = boot_bootinfo;
	for (uint64_t pa = bi->kernel_phys; pa < bi->kernel_phys + bi->kernel_size; pa += PAGE_SIZE)
		if (pmm_is_free(&kernel_pmm, pa)) {
			EXPECT_TRUE(!pmm_is_free(&kernel_pmm, pa));
			break;
		}
	EXPECT_TRUE(!pmm_is_free(&kernel_pmm, 0));
	for (uint64_t pa = 0; pa < ARCH_LOW_RESERVED; pa += PAGE_SIZE)
		if (pmm_is_free(&kernel_pmm, pa)) {
			EXPECT_TRUE(!pmm_is_free(&kernel_pmm, pa));
			break;
		}
}

#define NPAGES 512

TEST(pmm, distinct_pages)
{
	static uint64_t pages[NPAGES];
	uint64_t before = kernel_pmm.nfree;

	for (int i = 0; i < NPAGES; i++) {
		pages[i] = pmm_alloc(&kernel_pmm);
		ASSERT_TRUE(pages[i] != 0);
		EXPECT_EQ(pages[i] & (PAGE_SIZE - 1), 0);
		/* write a pattern through the direct map: every page is real, distinct memory */
		memset(phys_to_virt(pages[i]), (uint8_t)i, PAGE_SIZE);
	}
	EXPECT_EQ(kernel_pmm.nfree, before - NPAGES);
	for (int i = 0; i < NPAGES; i++) {
		const uint8_t *p = phys_to_virt(pages[i]);
		EXPECT_EQ(p[0], (uint8_t)i);
		EXPECT_EQ(p[PAGE_SIZE - 1], (uint8_t)i);
		for (int j = i + 1; j < NPAGES; j++)
			if (pages[i] == pages[j])
				EXPECT_NE(pages[i], pages[j]);
	}
	for (int i = 0; i < NPAGES; i++)
		EXPECT_EQ(pmm_free(&kernel_pmm, pages[i]), 0);
	EXPECT_EQ(kernel_pmm.nfree, before);
}

TEST(pmm, free_and_reuse)
{
	uint64_t a = pmm_alloc(&kernel_pmm);
	ASSERT_TRUE(a != 0);
	EXPECT_TRUE(!pmm_is_free(&kernel_pmm, a));
	EXPECT_EQ(pmm_free(&kernel_pmm, a), 0);
	EXPECT_TRUE(pmm_is_free(&kernel_pmm, a));
	/* freeing twice is refused, and so is an address the allocator never gave */
	EXPECT_EQ(pmm_free(&kernel_pmm, a), -1);
	EXPECT_EQ(pmm_free(&kernel_pmm, a + 1), -1);
	EXPECT_EQ(pmm_free(&kernel_pmm, 0), -1);
	/* lowest-first: the page just freed is the next one handed out */
	uint64_t b = pmm_alloc(&kernel_pmm);
	EXPECT_EQ(b, a);
	EXPECT_EQ(pmm_free(&kernel_pmm, b), 0);
}

TEST(pmm, contiguous)
{
	uint64_t before = kernel_pmm.nfree;
	uint64_t run = pmm_alloc_contig(&kernel_pmm, 64, 512);	/* 256 KiB at a 2 MiB boundary */
	ASSERT_TRUE(run != 0);
	EXPECT_EQ(run % LARGE_PAGE_SIZE, 0);
	for (uint64_t i = 0; i < 64; i++)
		EXPECT_TRUE(!pmm_is_free(&kernel_pmm, run + i * PAGE_SIZE));
	for (uint64_t i = 0; i < 64; i++)
		EXPECT_EQ(pmm_free(&kernel_pmm, run + i * PAGE_SIZE), 0);
	EXPECT_EQ(kernel_pmm.nfree, before);
}
