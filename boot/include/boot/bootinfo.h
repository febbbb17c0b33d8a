/*
 * boot/bootinfo.h: what every boot path hands the kernel.
 *
 * Two ways in, one kernel (DESIGN.md "Boot"):
 *   - UEFI: boot/efi/loader.c (BOOTX64.EFI / BOOTAA64.EFI) loads kernel.elf from the
 *     ESP, fills a struct bootinfo from the firmware, calls ExitBootServices and jumps
 *     to the ELF entry with (bootinfo, BOOTINFO_MAGIC) in the first two argument
 *     registers.
 *   - Direct: boot/pvh.c (x86-64 PVH start_info) and boot/dtb_direct.c (arm64 Image
 *     protocol, x0 = DTB) build the same struct inside the kernel.
 *
 * The struct is self-contained (no pointers into firmware memory other than the
 * physical addresses of the ACPI RSDP and the DTB), so it survives the switch to the
 * kernel's own page tables: the kernel copies it into its data at entry.
 *
 * Everything in it is untrusted: the kernel checks counts against the array sizes and
 * ranges against overflow before it uses them.
 */
#ifndef BOOT_BOOTINFO_H
#define BOOT_BOOTINFO_H

#include <stdint.h>

#define BOOTINFO_MAGIC     0x6f6f42746f6f4267ull   /* "gBootBoo" */
#define BOOTINFO_VERSION   1
#define BOOTINFO_MMAP_MAX  256
#define BOOTINFO_CMDLINE_MAX 1024

enum boot_path {
	BOOT_PATH_UEFI   = 1,
	BOOT_PATH_DIRECT = 2,
	BOOT_PATH_HOSTED = 3,	/* the kernel as a Linux program (arch/host/main.c) */
};

/* Memory region types, normalised from UEFI, PVH (E820) and device-tree sources. */
enum bootinfo_mem_type {
	BOOTMEM_USABLE       = 1,	/* free RAM, the page allocator may take it */
	BOOTMEM_RESERVED     = 2,	/* firmware or device: never touched */
	BOOTMEM_ACPI_RECLAIM = 3,	/* ACPI tables: kept while they are read */
	BOOTMEM_ACPI_NVS     = 4,
	BOOTMEM_KERNEL       = 5,	/* the kernel image (set by the kernel itself) */
	BOOTMEM_BOOTDATA     = 6,	/* loader data: bootinfo, command line, DTB copy */
};

struct bootinfo_mem {
	uint64_t base;
	uint64_t size;
	uint32_t type;			/* enum bootinfo_mem_type */
	uint32_t pad;
};

struct bootinfo {
	uint64_t magic;			/* BOOTINFO_MAGIC */
	uint32_t version;		/* BOOTINFO_VERSION */
	uint32_t boot_path;		/* enum boot_path */
	uint64_t kernel_phys;		/* physical address the image was loaded at */
	uint64_t kernel_size;		/* bytes, from the first to the last loaded byte */
	uint64_t acpi_rsdp;		/* physical address of the RSDP, 0 if none */
	uint64_t dtb;			/* physical address of the flattened device tree, 0 if none */
	uint64_t entry_cycles;		/* cycle counter at the loader's hand-off, 0 if unknown */
	uint32_t mmap_count;		/* entries used in mmap[]; 0: take memory from the DTB */
	uint32_t pad;
	struct bootinfo_mem mmap[BOOTINFO_MMAP_MAX];
	char cmdline[BOOTINFO_CMDLINE_MAX];	/* NUL-terminated */
	char firmware[64];		/* firmware vendor, for the banner */
};

#endif
