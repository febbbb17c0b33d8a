/*
 * boot/x86_64/pvh_info.c: PVH start_info -> struct bootinfo (x86-64 direct boot).
 *
 * The start_info layout is the PVH boot ABI's (version 0 and 1); its memory map
 * entries are E820 typed. QEMU's PVH path does not always fill rsdp_paddr; the RSDP
 * is then found the BIOS way, by its signature and checksum in 0xe0000-0xfffff and the
 * first KiB of the EBDA. Everything here is checked: a bad start_info leaves
 * boot_error set for the kernel to print.
 */
#include <stdio.h>
#include <string.h>
#include <arch/memlayout.h>
#include <boot/entry.h>

#define PVH_START_MAGIC 0x336ec578

struct pvh_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Early tables map 4 GiB; refuse anything past that. */
static int pvh_readable(uint64_t pa, uint64_t len)
{
	return pa < (4ull << 30) && len <= (4ull << 30) - pa;
}

static uint32_t e820_to_bootmem(uint32_t t)
{
	switch (t) {
	case 1: return BOOTMEM_USABLE;
	case 3: return BOOTMEM_ACPI_RECLAIM;
	case 4: return BOOTMEM_ACPI_NVS;
	default: return BOOTMEM_RESERVED;
	}
}

static uint64_t rsdp_scan(uint64_t base, uint64_t len)
{
	for (uint64_t pa = base; pa + 20 <= base + len; pa += 16) {
		const uint8_t *p = phys_to_virt(pa);
		if (memcmp(p, "RSD PTR ", 8) != 0)
			continue;
		uint8_t sum = 0;
		for (int i = 0; i < 20; i++)
			sum += p[i];
		if (sum == 0)
			return pa;
	}
	return 0;
}

int pvh_to_bootinfo(uint64_t start_info_phys, struct bootinfo *bi)
{
	if (!pvh_readable(start_info_phys, sizeof(struct pvh_start_info))) {
		snprintf(boot_error, sizeof(boot_error), "PVH: start_info at 0x%llx is outside low memory",
			 (unsigned long long)start_info_phys);
		return -1;
	}
	const struct pvh_start_info *si = phys_to_virt(start_info_phys);
	if (si->magic != PVH_START_MAGIC) {
		snprintf(boot_error, sizeof(boot_error), "PVH: start_info magic 0x%x, expected 0x%x",
			 si->magic, PVH_START_MAGIC);
		return -1;
	}
	if (si->cmdline_paddr && pvh_readable(si->cmdline_paddr, 1)) {
		const char *s = phys_to_virt(si->cmdline_paddr);
		size_t n = 0;
		while (n < BOOTINFO_CMDLINE_MAX - 1 && pvh_readable(si->cmdline_paddr + n, 1) && s[n])
			n++;
		if (n == BOOTINFO_CMDLINE_MAX - 1 && s[n]) {
			snprintf(boot_error, sizeof(boot_error), "PVH: command line longer than %d bytes",
				 BOOTINFO_CMDLINE_MAX - 1);
			return -1;
		}
		memcpy(bi->cmdline, s, n);
		bi->cmdline[n] = '\0';
	}
	if (si->version >= 1 && si->memmap_paddr) {
		uint64_t n = si->memmap_entries;
		if (n > BOOTINFO_MMAP_MAX ||
		    !pvh_readable(si->memmap_paddr, n * sizeof(struct pvh_memmap_entry))) {
			snprintf(boot_error, sizeof(boot_error), "PVH: memmap of %llu entries at 0x%llx is unusable",
				 (unsigned long long)n, (unsigned long long)si->memmap_paddr);
			return -1;
		}
		const struct pvh_memmap_entry *e = phys_to_virt(si->memmap_paddr);
		for (uint64_t i = 0; i < n; i++) {
			bi->mmap[i].base = e[i].addr;
			bi->mmap[i].size = e[i].size;
			bi->mmap[i].type = e820_to_bootmem(e[i].type);
		}
		bi->mmap_count = (uint32_t)n;
	} else {
		strcpy(boot_error, "PVH: start_info has no memory map (version 0)");
		return -1;
	}
	bi->acpi_rsdp = si->rsdp_paddr;
	if (!bi->acpi_rsdp) {
		const uint16_t *ebda_seg = phys_to_virt(0x40e);
		uint64_t ebda = (uint64_t)*ebda_seg << 4;
		if (ebda >= 0x80000 && ebda < 0xa0000)
			bi->acpi_rsdp = rsdp_scan(ebda, 1024);
		if (!bi->acpi_rsdp)
			bi->acpi_rsdp = rsdp_scan(0xe0000, 0x20000);
	}
	strcpy(bi->firmware, "PVH (direct)");
	return 0;
}
