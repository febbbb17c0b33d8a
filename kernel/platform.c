/*
 * kernel/platform.c: finding the firmware's description of the machine.
 *
 * The parsers (kernel/acpi.c, kernel/fdt.c) read tables through a struct phys_access.
 * The kernel's map() hands out the direct map where it covers the range (RAM), and
 * otherwise maps the pages read-only into the MMIO window (SeaBIOS keeps the RSDP in
 * the BIOS area, which is not RAM in the memory map). A range that is neither
 * readable RAM nor mappable returns NULL: the parser reports it, nothing faults.
 *
 * The device tree is parsed before the page allocator exists (aarch64 direct boot
 * takes its memory from it), through the early tables' direct map; ACPI after
 * vm_init, through the final tables.
 */
#include <string.h>
#include <stdio.h>
#include <arch/memlayout.h>
#include <kernel/acpi.h>
#include <kernel/boot.h>
#include <kernel/fdt.h>
#include <kernel/vm.h>

struct platform boot_platform;

#define FDT_MAX_SIZE (2u << 20)

static const void *early_map(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	/* Early tables: the direct map covers 4 GiB (x86-64) / 512 GiB (aarch64). */
	uint64_t limit = (4ull << 30);
#if defined(__aarch64__)
	limit = 512ull << 30;
#endif
	if (len > limit || pa > limit - len)
		return NULL;
	return phys_to_virt(pa);
}

struct map_cache {
	uint64_t pa, len;
	const uint8_t *va;
};

static const void *kernel_map(void *ctx, uint64_t pa, uint64_t len)
{
	struct map_cache *c = ctx;
	if (len == 0 || pa + len < pa || pa + len > DMAP_SIZE)
		return NULL;
	if (vm_readable(DMAP_BASE + pa, len))
		return phys_to_virt(pa);
	for (int i = 0; i < 4; i++)
		if (c[i].va && pa >= c[i].pa && pa + len <= c[i].pa + c[i].len)
			return c[i].va + (pa - c[i].pa);
	/* Map whole pages, at least 64 KiB, so neighbouring tables share a window. */
	uint64_t base = pa & ~(PAGE_SIZE - 1);
	uint64_t size = ((pa + len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) - base;
	if (size < 0x10000)
		size = 0x10000;
	const uint8_t *va = vm_map_phys(base, size, false);
	if (!va)
		return NULL;
	memmove(&c[1], &c[0], 3 * sizeof(c[0]));
	c[0] = (struct map_cache){ base, size, va };
	return va + (pa - base);
}

int platform_init_dtb(const struct bootinfo *bi, char *err, size_t errlen)
{
	const void *hdr = early_map(NULL, bi->dtb, 40);
	if (!hdr) {
		snprintf(err, errlen, "FDT: blob at 0x%llx is outside memory", (unsigned long long)bi->dtb);
		return -1;
	}
	uint32_t size = fdt_totalsize(hdr);
	if (size == 0 || size > FDT_MAX_SIZE) {
		snprintf(err, errlen, "FDT: at 0x%llx: bad magic or totalsize %u (max %u)",
			 (unsigned long long)bi->dtb, size, FDT_MAX_SIZE);
		return -1;
	}
	const void *blob = early_map(NULL, bi->dtb, size);
	if (!blob) {
		snprintf(err, errlen, "FDT: blob at 0x%llx size %u is outside memory",
			 (unsigned long long)bi->dtb, size);
		return -1;
	}
	int rc = fdt_parse(blob, size, &boot_platform, err, errlen);
	boot_platform.fdt = (struct platform_range){ bi->dtb, size };
	return rc;
}

int platform_init_acpi(const struct bootinfo *bi, char *err, size_t errlen)
{
	static struct map_cache cache[4];
	struct phys_access pa = { kernel_map, cache };
	return acpi_parse(&pa, bi->acpi_rsdp, &boot_platform, err, errlen);
}
