/*
 * tests/host/test_pmm.c: the physical page allocator against fake physical memory.
 *
 * "Physical" addresses start at FAKE_BASE; the allocator reaches them through
 * virt_offset = buffer - FAKE_BASE, exactly as the kernel does through its direct map.
 */
#define HTEST_SUITE "pmm"
#include "hosttest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <kernel/pmm.h>

#define PG 4096ull
#define FAKE_BASE 0x40000000ull
#define FAKE_SIZE (8ull << 20)

static uint8_t *fake_mem(void)
{
	static uint8_t *mem;
	if (!mem)
		mem = aligned_alloc(PG, FAKE_SIZE);
	memset(mem, 0xa5, FAKE_SIZE);
	return mem;
}

static uintptr_t offset_of(uint8_t *mem)
{
	return (uintptr_t)mem - FAKE_BASE;
}

static bool in_range(uint64_t pa, uint64_t base, uint64_t size)
{
	return pa >= base && pa < base + size;
}

HTEST(two_regions_and_a_hole)
{
	uint8_t *mem = fake_mem();
	struct bootinfo_mem map[] = {
		{ FAKE_BASE + 0x100000, 0x200000, BOOTMEM_USABLE, 0 },	/* 2 MiB */
		{ FAKE_BASE, 0x100000, BOOTMEM_USABLE, 0 },		/* 1 MiB, out of order */
		{ FAKE_BASE + 0x180000, 0x10000, BOOTMEM_RESERVED, 0 },	/* hole inside */
		{ FAKE_BASE + 0x400000, 0x100000, BOOTMEM_ACPI_RECLAIM, 0 },
	};
	struct pmm pm;
	char err[128] = "";
	HREQUIRE_EQ(pmm_init(&pm, map, 4, NULL, 0, offset_of(mem), false, err, sizeof(err)), 0);
	/* 3 MiB usable minus the 64 KiB hole, minus the bitmap pages (one page here) */
	HEXPECT_EQ(pm.total, (0x300000 - 0x10000) / PG - 1);
	HEXPECT_EQ(pm.nfree, pm.total);
	HEXPECT(!pmm_is_free(&pm, FAKE_BASE + 0x180000));
	HEXPECT(!pmm_is_free(&pm, FAKE_BASE + 0x400000));

	uint64_t n = 0, prev = 0;
	for (uint64_t pa; (pa = pmm_alloc(&pm)) != 0; n++) {
		HEXPECT(pa > prev);	/* lowest first, never the same page twice */
		HEXPECT(in_range(pa, FAKE_BASE, 0x300000));
		HEXPECT(!in_range(pa, FAKE_BASE + 0x180000, 0x10000));
		prev = pa;
	}
	HEXPECT_EQ(n, pm.total);
	HEXPECT_EQ(pm.nfree, 0);
	HEXPECT_EQ(pmm_alloc(&pm), 0);
}

HTEST(refuses_bad_frees)
{
	uint8_t *mem = fake_mem();
	struct bootinfo_mem map[] = {
		{ FAKE_BASE, 0x100000, BOOTMEM_USABLE, 0 },
		{ FAKE_BASE + 0x100000, 0x100000, BOOTMEM_USABLE, 0 },
	};
	struct platform_range rsv[] = { { FAKE_BASE + 0x20000, 0x1000 } };
	struct pmm pm;
	char err[128];
	HREQUIRE_EQ(pmm_init(&pm, map, 2, rsv, 1, offset_of(mem), false, err, sizeof(err)), 0);
	uint64_t a = pmm_alloc(&pm);
	HREQUIRE(a != 0);
	HEXPECT_EQ(pmm_free(&pm, a + 8), -1);			/* unaligned */
	HEXPECT_EQ(pmm_free(&pm, FAKE_BASE - PG), -1);		/* below the map */
	HEXPECT_EQ(pmm_free(&pm, FAKE_BASE + 0x200000), -1);	/* above it */
	HEXPECT_EQ(pmm_free(&pm, FAKE_BASE + 0x20000), -1);	/* reserved, never handed out */
	HEXPECT_EQ(pmm_free(&pm, a), 0);
	HEXPECT_EQ(pmm_free(&pm, a), -1);			/* double free */
	HEXPECT_EQ(pm.nfree, pm.total);
}

HTEST(overlaps_resolve_to_unusable)
{
	uint8_t *mem = fake_mem();
	struct bootinfo_mem map[] = {
		{ FAKE_BASE, 0x200000, BOOTMEM_USABLE, 0 },
		{ FAKE_BASE + 0x80000, 0x200000, BOOTMEM_USABLE, 0 },		/* overlaps the first */
		{ FAKE_BASE + 0x100800, 0x800, BOOTMEM_ACPI_NVS, 0 },		/* unaligned, mid-page */
		{ FAKE_BASE + 0x1ff000, 0x1000, BOOTMEM_RESERVED, 0 },
	};
	struct pmm pm;
	char err[128];
	HREQUIRE_EQ(pmm_init(&pm, map, 4, NULL, 0, offset_of(mem), false, err, sizeof(err)), 0);
	HEXPECT(!pmm_is_free(&pm, FAKE_BASE + 0x100000));	/* page holding the NVS bytes */
	HEXPECT(!pmm_is_free(&pm, FAKE_BASE + 0x1ff000));
	HEXPECT(pmm_is_free(&pm, FAKE_BASE + 0x200000));	/* covered by the second entry */
	HEXPECT_EQ(pm.total, 0x280000 / PG - 2 - 1);
}

HTEST(hostile_entries)
{
	uint8_t *mem = fake_mem();
	struct bootinfo_mem map[] = {
		{ UINT64_MAX - 0x1000, 0x10000, BOOTMEM_USABLE, 0 },	/* wraps */
		{ FAKE_BASE + 0x1000, 0, BOOTMEM_USABLE, 0 },		/* empty */
		{ FAKE_BASE + 0x800, 0x1000, BOOTMEM_USABLE, 0 },	/* no whole page inside */
		{ FAKE_BASE + 0x10000, 0x100000, BOOTMEM_USABLE, 0 },
		{ 0, UINT64_MAX, BOOTMEM_RESERVED + 7, 0 },		/* unknown type covering all */
	};
	struct pmm pm;
	char err[128] = "";
	/* everything is covered by a non-usable entry: nothing may be handed out */
	int rc = pmm_init(&pm, map, 5, NULL, 0, offset_of(mem), false, err, sizeof(err));
	HEXPECT(rc == -1 ? strstr(err, "bitmap") != NULL : pm.total == 0);
	/* without the blanket entry, only the sane region counts: the wrapping entry lies
	 * past the direct map's reach and is dropped, the others hold no whole page */
	rc = pmm_init(&pm, map, 4, NULL, 0, offset_of(mem), false, err, sizeof(err));
	HREQUIRE_EQ(rc, 0);
	HEXPECT_EQ(pm.total, 0x100000 / PG - 1);
	HEXPECT(!pmm_is_free(&pm, FAKE_BASE + 0x1000));
}

HTEST(empty_map_is_an_error)
{
	struct pmm pm;
	char err[128] = "";
	struct bootinfo_mem map[] = { { FAKE_BASE, 0x100000, BOOTMEM_RESERVED, 0 } };
	HEXPECT_EQ(pmm_init(&pm, map, 1, NULL, 0, 0, false, err, sizeof(err)), -1);
	HEXPECT(strstr(err, "no usable RAM") != NULL);
	HEXPECT_EQ(pmm_init(&pm, NULL, 0, NULL, 0, 0, false, err, sizeof(err)), -1);
}

HTEST(bitmap_never_handed_out)
{
	uint8_t *mem = fake_mem();
	struct bootinfo_mem map[] = { { FAKE_BASE, FAKE_SIZE, BOOTMEM_USABLE, 0 } };
	struct platform_range rsv[] = { { FAKE_BASE, 0x3000 } };	/* the bitmap must go after this */
	struct pmm pm;
	char err[128];
	HREQUIRE_EQ(pmm_init(&pm, map, 1, rsv, 1, offset_of(mem), false, err, sizeof(err)), 0);
	uint64_t bm = (uint64_t)((uintptr_t)pm.bitmap - offset_of(mem));
	HEXPECT(bm >= FAKE_BASE + 0x3000);
	for (uint64_t pa; (pa = pmm_alloc(&pm)) != 0;)
		HEXPECT(pa != bm);
	HEXPECT_EQ(pmm_free(&pm, bm), -1);
}

HTEST(contiguous_aligned_runs)
{
	uint8_t *mem = fake_mem();
	struct bootinfo_mem map[] = { { FAKE_BASE, FAKE_SIZE, BOOTMEM_USABLE, 0 } };
	struct pmm pm;
	char err[128];
	HREQUIRE_EQ(pmm_init(&pm, map, 1, NULL, 0, offset_of(mem), false, err, sizeof(err)), 0);
	uint64_t a = pmm_alloc_contig(&pm, 16, 512);
	HREQUIRE(a != 0);
	HEXPECT_EQ(a % (2 << 20), 0);
	HEXPECT(a != FAKE_BASE);	/* the bitmap page sits at the first 2 MiB boundary */
	uint64_t b = pmm_alloc_contig(&pm, 16, 512);
	HEXPECT(b != 0 && b != a && b % (2 << 20) == 0);
	HEXPECT_EQ(pmm_alloc_contig(&pm, FAKE_SIZE / PG, 1), 0);	/* more than is free */
	HEXPECT_EQ(pmm_alloc_contig(&pm, 0, 1), 0);
	HEXPECT_EQ(pm.nfree, pm.total - 32);
}

HTEST(random_against_a_model)
{
	uint8_t *mem = fake_mem();
	struct bootinfo_mem map[] = {
		{ FAKE_BASE, 0x300000, BOOTMEM_USABLE, 0 },
		{ FAKE_BASE + 0x400000, 0x200000, BOOTMEM_USABLE, 0 },
	};
	struct pmm pm;
	char err[128];
	HREQUIRE_EQ(pmm_init(&pm, map, 2, NULL, 0, offset_of(mem), false, err, sizeof(err)), 0);
	static uint64_t held[2048];
	static uint8_t owner[FAKE_SIZE / PG];
	size_t nheld = 0;
	memset(owner, 0, sizeof(owner));
	srand(12345);
	for (int step = 0; step < 200000; step++) {
		if (nheld < 2048 && (rand() % 3 != 0 || nheld == 0)) {
			uint64_t pa = pmm_alloc(&pm);
			if (!pa) {
				HEXPECT_EQ(pm.nfree, 0);
				continue;
			}
			uint64_t i = (pa - FAKE_BASE) / PG;
			HREQUIRE(owner[i] == 0);	/* never handed out twice */
			owner[i] = 1;
			*(uint64_t *)(mem + (pa - FAKE_BASE)) = pa;	/* real memory behind it */
			held[nheld++] = pa;
		} else {
			size_t k = (size_t)rand() % nheld;
			uint64_t pa = held[k];
			HEXPECT_EQ(*(uint64_t *)(mem + (pa - FAKE_BASE)), pa);
			HREQUIRE_EQ(pmm_free(&pm, pa), 0);
			owner[(pa - FAKE_BASE) / PG] = 0;
			held[k] = held[--nheld];
		}
		if (pm.nfree + nheld != pm.total) {
			HEXPECT_EQ(pm.nfree + nheld, pm.total);
			break;
		}
	}
	while (nheld)
		HEXPECT_EQ(pmm_free(&pm, held[--nheld]), 0);
	HEXPECT_EQ(pm.nfree, pm.total);
}

/* pmm_init with zeroed = true on memory that reads as zero builds exactly the
 * allocator the clearing init builds on garbage: the same pages free, the same order. */
HTEST(zeroed_init_matches_the_clearing_one)
{
	struct bootinfo_mem map[] = {
		{ FAKE_BASE + 0x100000, 0x233000, BOOTMEM_USABLE, 0 },	/* ends mid-word */
		{ FAKE_BASE + 0x3000, 0xf0000, BOOTMEM_USABLE, 0 },	/* out of order, a hole below */
		{ FAKE_BASE + 0x180000, 0x10000, BOOTMEM_RESERVED, 0 },
		{ FAKE_BASE + 0x500000, 0x5000, BOOTMEM_USABLE, 0 },	/* far, a hole between */
		{ FAKE_BASE + 0x501000, 0x1000, BOOTMEM_ACPI_NVS, 0 },
	};
	struct platform_range rsv[] = { { FAKE_BASE + 0x200000, 0x2000 } };
	static uint8_t *zmem;
	if (!zmem)
		zmem = aligned_alloc(PG, FAKE_SIZE);
	memset(zmem, 0, FAKE_SIZE);
	uint8_t *mem = fake_mem();	/* garbage */
	struct pmm a, z;
	char err[128];
	HREQUIRE_EQ(pmm_init(&a, map, 5, rsv, 1, offset_of(mem), false, err, sizeof(err)), 0);
	HREQUIRE_EQ(pmm_init(&z, map, 5, rsv, 1, offset_of(zmem), true, err, sizeof(err)), 0);
	HEXPECT_EQ(a.total, z.total);
	HEXPECT_EQ(a.nfree, z.nfree);
	/* 0x233000 + 0xf0000 + 0x4000 (the NVS page out) - 0x10000 - 0x2000 - the bitmap page */
	HEXPECT_EQ(a.total, (0x233000 + 0xf0000 - 0x10000 - 0x2000 + 0x4000) / PG - 1);
	for (uint64_t pa = FAKE_BASE; pa < FAKE_BASE + 0x600000; pa += PG)
		if (pmm_is_free(&a, pa) != pmm_is_free(&z, pa)) {
			HEXPECT_EQ(pmm_is_free(&a, pa), pmm_is_free(&z, pa));
			break;
		}
	HEXPECT_EQ(pmm_alloc_contig(&a, 4, 4), pmm_alloc_contig(&z, 4, 4));
	for (;;) {
		uint64_t pa = pmm_alloc(&a), pz = pmm_alloc(&z);
		HREQUIRE_EQ(pa, pz);
		if (!pa)
			break;
	}
	HEXPECT_EQ(pmm_free(&z, FAKE_BASE + 0x180000), -1);	/* reserved: never managed */
	HEXPECT_EQ(pmm_free(&z, FAKE_BASE + 0x250000 + 0x100000), -1);	/* the hole */
}

/* A zeroed init writes (and reads) only the words of the pages it takes out: with 1 GiB
 * of "RAM" (64 KiB of bitmaps) every bitmap page but the two holding those words is
 * unreadable, and the init and a few allocations still succeed. */
HTEST(zeroed_init_touches_only_what_it_takes_out)
{
	const uint64_t size = 1ull << 30;
	uint8_t *big = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	HREQUIRE(big != MAP_FAILED);
	struct bootinfo_mem map[] = { { FAKE_BASE, size, BOOTMEM_USABLE, 0 } };
	const uint64_t bytes = size / PG / 8;	/* each bitmap: 32 KiB at FAKE_BASE */
	HREQUIRE_EQ(mprotect(big + PG, bytes - PG, PROT_NONE), 0);
	HREQUIRE_EQ(mprotect(big + bytes + PG, bytes - PG, PROT_NONE), 0);
	struct pmm pm;
	char err[128];
	HREQUIRE_EQ(pmm_init(&pm, map, 1, NULL, 0, (uintptr_t)big - FAKE_BASE, true, err, sizeof(err)), 0);
	HEXPECT_EQ((uintptr_t)pm.bitmap, (uintptr_t)big);
	HEXPECT_EQ(pm.total, size / PG - 2 * bytes / PG);
	uint64_t first = pmm_alloc(&pm);
	HEXPECT_EQ(first, FAKE_BASE + 2 * bytes);	/* right after the bitmaps */
	for (int i = 0; i < 100; i++)
		HEXPECT(pmm_alloc(&pm) != 0);
	HEXPECT_EQ(pm.nfree, pm.total - 101);
	munmap(big, size);
}
