/*
 * boot/efi/loader.c: the UEFI loader, BOOTX64.EFI / BOOTAA64.EFI (GNU-EFI).
 *
 * Runs before ExitBootServices, and never again afterwards (boot-only code: it is a
 * separate binary, not part of the kernel). It:
 *   1. reads \kernel.elf from the volume it was loaded from and checks it (ELF64,
 *      this machine, every program header inside the file, sizes sane);
 *   2. copies its PT_LOAD segments to pages at a 2 MiB boundary (below 4 GiB on
 *      x86-64, where the kernel's early tables reach), zeroing .bss;
 *   3. reads \cmdline.txt if present (one line; too long is an error, not a cut);
 *   4. finds the ACPI 2.0 RSDP (x86-64) or the device tree (aarch64) among the
 *      configuration tables;
 *   5. takes the memory map, calls ExitBootServices (again with a fresh map if the
 *      key went stale), converts the map into the bootinfo, and jumps to the ELF entry
 *      with (bootinfo, BOOTINFO_MAGIC).
 * Every failure before step 5 prints one line naming what was wrong and returns to
 * the firmware.
 */
#include <efi.h>
#include <efilib.h>
#include <boot/bootinfo.h>

#define EM_X86_64  62
#define EM_AARCH64 183
#define PT_LOAD    1
#define KERNEL_MAX_SIZE (64u << 20)
#define ALIGN_2M   (2ull << 20)

#if defined(__x86_64__)
#define ELF_MACHINE EM_X86_64
#define MAX_PHYS    0xffffffffull	/* the early tables map the low 4 GiB */
#else
#define ELF_MACHINE EM_AARCH64
#define MAX_PHYS    0x7fffffffffull	/* the early tables map the low 512 GiB */
#endif

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static EFI_GUID acpi20_guid = { 0x8868e871, 0xe4f1, 0x11d3, { 0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81 } };
static EFI_GUID acpi10_guid = { 0xeb9d2d30, 0x2d88, 0x11d3, { 0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d } };
static EFI_GUID dtb_guid = { 0xb1b621d5, 0xf19c, 0x41a5, { 0x83, 0x0b, 0xd9, 0x15, 0x2c, 0x69, 0xaa, 0xe0 } };

static inline uint64_t read_cycles(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
#else
	uint64_t v;
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
#endif
}

static EFI_STATUS fail(const CHAR16 *what, EFI_STATUS st)
{
	Print(L"gort loader: %s (%r)\n", what, st);
	return st ? st : EFI_LOAD_ERROR;
}

/* Read a whole file from the root of `root` into pool memory. */
static EFI_STATUS read_file(EFI_FILE_HANDLE root, CHAR16 *name, UINTN max, void **out, UINTN *size)
{
	EFI_FILE_HANDLE f;
	EFI_STATUS st = uefi_call_wrapper(root->Open, 5, root, &f, name, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return st;
	EFI_FILE_INFO *info = LibFileInfo(f);
	if (!info) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_DEVICE_ERROR;
	}
	UINTN n = info->FileSize;
	FreePool(info);
	if (n > max) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_BAD_BUFFER_SIZE;
	}
	void *buf = AllocatePool(n + 1);
	if (!buf) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_OUT_OF_RESOURCES;
	}
	UINTN got = n;
	st = uefi_call_wrapper(f->Read, 3, f, &got, buf);
	uefi_call_wrapper(f->Close, 1, f);
	if (EFI_ERROR(st) || got != n) {
		FreePool(buf);
		return EFI_ERROR(st) ? st : EFI_END_OF_FILE;
	}
	((char *)buf)[n] = 0;
	*out = buf;
	*size = n;
	return EFI_SUCCESS;
}

/* Check the ELF and copy it to 2 MiB-aligned pages; returns the entry point. */
static EFI_STATUS load_kernel(const uint8_t *file, UINTN size, uint64_t *base_out,
			      uint64_t *entry_out, uint64_t *span_out)
{
	const struct elf64_ehdr *eh = (const void *)file;
	if (size < sizeof(*eh) || eh->ident[0] != 0x7f || eh->ident[1] != 'E' ||
	    eh->ident[2] != 'L' || eh->ident[3] != 'F')
		return fail(L"kernel.elf: not an ELF file", EFI_LOAD_ERROR);
	if (eh->ident[4] != 2 || eh->ident[5] != 1 || eh->machine != ELF_MACHINE)
		return fail(L"kernel.elf: not a little-endian ELF64 for this machine", EFI_UNSUPPORTED);
	if (eh->phentsize != sizeof(struct elf64_phdr) || eh->phnum == 0 || eh->phnum > 64 ||
	    eh->phoff > size || size - eh->phoff < (UINTN)eh->phnum * sizeof(struct elf64_phdr))
		return fail(L"kernel.elf: program headers out of the file", EFI_LOAD_ERROR);

	const struct elf64_phdr *ph = (const void *)(file + eh->phoff);
	uint64_t lo = ~0ull, hi = 0;
	for (int i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD)
			continue;
		if (ph[i].filesz > ph[i].memsz || ph[i].offset > size || size - ph[i].offset < ph[i].filesz ||
		    ph[i].vaddr + ph[i].memsz < ph[i].vaddr)
			return fail(L"kernel.elf: a segment lies outside the file", EFI_LOAD_ERROR);
		if (ph[i].vaddr < lo)
			lo = ph[i].vaddr;
		if (ph[i].vaddr + ph[i].memsz > hi)
			hi = ph[i].vaddr + ph[i].memsz;
	}
	if (hi <= lo || hi - lo > KERNEL_MAX_SIZE || eh->entry < lo || eh->entry >= hi)
		return fail(L"kernel.elf: no loadable segments, too large, or entry outside them", EFI_LOAD_ERROR);

	uint64_t span = (hi - lo + 4095) & ~4095ull;
	UINTN pages = (span + ALIGN_2M) / 4096;
	EFI_PHYSICAL_ADDRESS addr = MAX_PHYS;
	EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress, EfiLoaderData, pages, &addr);
	if (EFI_ERROR(st))
		return fail(L"no memory for the kernel", st);
	uint64_t base = (addr + ALIGN_2M - 1) & ~(ALIGN_2M - 1);
	SetMem((void *)base, span, 0);
	for (int i = 0; i < eh->phnum; i++)
		if (ph[i].type == PT_LOAD)
			CopyMem((void *)(base + ph[i].vaddr - lo), (void *)(file + ph[i].offset), ph[i].filesz);
	*base_out = base;
	*entry_out = base + (eh->entry - lo);
	*span_out = span;
	return EFI_SUCCESS;
}

static uint32_t mem_type(UINT32 t)
{
	switch (t) {
	case EfiLoaderCode: case EfiLoaderData: case EfiBootServicesCode:
	case EfiBootServicesData: case EfiConventionalMemory:
		return BOOTMEM_USABLE;
	case EfiACPIReclaimMemory:
		return BOOTMEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BOOTMEM_ACPI_NVS;
	default:
		return BOOTMEM_RESERVED;
	}
}

/* UEFI map -> bootinfo map, merging neighbours of the same type. No firmware calls. */
static void convert_map(struct bootinfo *bi, const uint8_t *map, UINTN size, UINTN desc_size)
{
	uint32_t n = 0;
	for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
		uint64_t base = d->PhysicalStart, len = d->NumberOfPages * 4096;
		uint32_t type = mem_type(d->Type);
		if (n && bi->mmap[n - 1].type == type && bi->mmap[n - 1].base + bi->mmap[n - 1].size == base) {
			bi->mmap[n - 1].size += len;
			continue;
		}
		if (n == BOOTINFO_MMAP_MAX)
			break;	/* the kernel sees fewer regions; it never sees wrong ones */
		bi->mmap[n++] = (struct bootinfo_mem){ base, len, type, 0 };
	}
	bi->mmap_count = n;
}

#if defined(__aarch64__)
/* The kernel starts with the MMU and caches off: push what we wrote out to memory. */
static void clean_dcache(uint64_t start, uint64_t len)
{
	uint64_t ctr, line;
	__asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
	line = 4ull << ((ctr >> 16) & 0xf);
	for (uint64_t a = start & ~(line - 1); a < start + len; a += line)
		__asm__ volatile("dc civac, %0" : : "r"(a) : "memory");
	__asm__ volatile("dsb sy; ic iallu; dsb sy; isb" : : : "memory");
}
#endif

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_STATUS st;
	EFI_LOADED_IMAGE *li;

	InitializeLib(image, systab);
	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return fail(L"no loaded-image protocol", st);
	EFI_FILE_HANDLE root = LibOpenRoot(li->DeviceHandle);
	if (!root)
		return fail(L"cannot open the boot volume", EFI_NOT_FOUND);

	void *file;
	UINTN fsize;
	st = read_file(root, L"\\kernel.elf", KERNEL_MAX_SIZE, &file, &fsize);
	if (EFI_ERROR(st))
		return fail(L"cannot read \\kernel.elf", st);

	EFI_PHYSICAL_ADDRESS bi_addr = MAX_PHYS;
	UINTN bi_pages = (sizeof(struct bootinfo) + 4095) / 4096;
	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress, EfiLoaderData, bi_pages, &bi_addr);
	if (EFI_ERROR(st))
		return fail(L"no memory for the bootinfo", st);
	struct bootinfo *bi = (struct bootinfo *)bi_addr;
	SetMem(bi, sizeof(*bi), 0);
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->boot_path = BOOT_PATH_UEFI;

	uint64_t kbase, entry, kspan;
	st = load_kernel(file, fsize, &kbase, &entry, &kspan);
	if (EFI_ERROR(st))
		return st;
	FreePool(file);
	bi->kernel_phys = kbase;
	bi->kernel_size = kspan;

	void *cmd;
	UINTN csize;
	st = read_file(root, L"\\cmdline.txt", BOOTINFO_CMDLINE_MAX * 4, &cmd, &csize);
	if (!EFI_ERROR(st)) {
		char *c = cmd;
		while (csize && (c[csize - 1] == '\n' || c[csize - 1] == '\r' || c[csize - 1] == ' '))
			csize--;
		if (csize >= BOOTINFO_CMDLINE_MAX)
			return fail(L"\\cmdline.txt is longer than 1023 bytes", EFI_BAD_BUFFER_SIZE);
		for (UINTN i = 0; i < csize; i++)
			if (c[i] == '\n' || c[i] == '\r' || c[i] == 0)
				return fail(L"\\cmdline.txt must be one line of text", EFI_INVALID_PARAMETER);
		CopyMem(bi->cmdline, c, csize);
		FreePool(cmd);
	} else if (st != EFI_NOT_FOUND) {
		return fail(L"cannot read \\cmdline.txt", st);
	}

	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		if (!CompareGuid(&t->VendorGuid, &acpi10_guid) && !bi->acpi_rsdp)
			bi->acpi_rsdp = (uint64_t)t->VendorTable;
		if (!CompareGuid(&t->VendorGuid, &acpi20_guid))
			bi->acpi_rsdp = (uint64_t)t->VendorTable;
		if (!CompareGuid(&t->VendorGuid, &dtb_guid))
			bi->dtb = (uint64_t)t->VendorTable;
	}
#if defined(__aarch64__)
	bi->acpi_rsdp = 0;	/* aarch64 takes the device tree (ACPI arm64 servers: later) */
	if (!bi->dtb)
		return fail(L"no device tree from the firmware (QEMU: -machine virt,acpi=off)", EFI_NOT_FOUND);
#else
	if (!bi->acpi_rsdp)
		return fail(L"no ACPI RSDP from the firmware", EFI_NOT_FOUND);
#endif
	if (ST->FirmwareVendor) {
		int i = 0;
		for (; i < (int)sizeof(bi->firmware) - 1 && ST->FirmwareVendor[i]; i++)
			bi->firmware[i] = ST->FirmwareVendor[i] < 128 ? (char)ST->FirmwareVendor[i] : '?';
		bi->firmware[i] = 0;
	}

	/* The memory map, with room for the entries allocating it adds. */
	UINTN msize = 0, key, dsize;
	UINT32 dver;
	uint8_t *map = NULL;
	for (int tries = 0;; tries++) {
		msize = 0;
		uefi_call_wrapper(BS->GetMemoryMap, 5, &msize, NULL, &key, &dsize, &dver);
		msize += 8 * dsize;
		map = AllocatePool(msize);
		if (!map)
			return fail(L"no memory for the memory map", EFI_OUT_OF_RESOURCES);
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &msize, (EFI_MEMORY_DESCRIPTOR *)map, &key, &dsize, &dver);
		if (EFI_ERROR(st))
			return fail(L"GetMemoryMap failed", st);
		if (tries == 0)
			Print(L"gort loader: kernel at 0x%lx, entering it\n", kbase);
		bi->entry_cycles = read_cycles();
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
		if (!EFI_ERROR(st))
			break;
		if (tries == 2)
			return fail(L"ExitBootServices failed", st);
		/* The key went stale: the map changed; only GetMemoryMap is allowed now. */
		FreePool(map);
	}
	convert_map(bi, map, msize, dsize);
#if defined(__aarch64__)
	clean_dcache(kbase, kspan);
	clean_dcache((uint64_t)bi, sizeof(*bi));
	typedef void (*kernel_entry_fn)(uint64_t, uint64_t);
#else
	typedef void __attribute__((sysv_abi)) (*kernel_entry_fn)(uint64_t, uint64_t);
#endif
	((kernel_entry_fn)entry)((uint64_t)bi, BOOTINFO_MAGIC);
	for (;;)
		;
}
