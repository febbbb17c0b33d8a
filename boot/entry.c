/*
 * boot/entry.c: boot_entry(), where every boot path meets.
 *
 * Inputs by path:
 *   UEFI (both arches): arg = physical address of the loader's struct bootinfo,
 *                       magic = BOOTINFO_MAGIC.
 *   PVH (x86-64):       arg = start_info, magic = its own magic (boot/pvh.c).
 *   arm64 Image:        arg = DTB (x0), magic = x1, which the protocol says is 0
 *                       (boot/dtb_direct.c).
 * The early tables map physical memory at DMAP_BASE (x86-64: the low 4 GiB, where
 * loaders put these; aarch64: the low 512 GiB), so phys_to_virt() works already.
 */
#include <string.h>
#include <arch/memlayout.h>
#include <arch/ops.h>
#include <boot/entry.h>

static struct bootinfo boot_info;
char boot_error[160];

extern char __image_start[], __image_end[];

_Noreturn void boot_entry(uint64_t arg, uint64_t magic, uint64_t load_phys)
{
	struct bootinfo *bi = &boot_info;
	uint64_t now = arch_cycles();

	if (magic == BOOTINFO_MAGIC) {
		const struct bootinfo *src = phys_to_virt(arg);
		if (src->magic != BOOTINFO_MAGIC || src->version != BOOTINFO_VERSION) {
			strcpy(boot_error, "bootinfo: loader handed a bootinfo of another version");
		} else {
			memcpy(bi, src, sizeof(*bi));
			bi->cmdline[BOOTINFO_CMDLINE_MAX - 1] = '\0';
			bi->firmware[sizeof(bi->firmware) - 1] = '\0';
			if (bi->mmap_count > BOOTINFO_MMAP_MAX) {
				strcpy(boot_error, "bootinfo: mmap_count larger than the map");
				bi->mmap_count = 0;
			}
		}
	} else {
		bi->magic = BOOTINFO_MAGIC;
		bi->version = BOOTINFO_VERSION;
		bi->boot_path = BOOT_PATH_DIRECT;
		bi->entry_cycles = now;
#if defined(__x86_64__)
		pvh_to_bootinfo(arg, bi);
#else
		dtb_to_bootinfo(arg, bi);
#endif
	}
	if (!bi->entry_cycles)
		bi->entry_cycles = now;
	bi->kernel_phys = load_phys;
	bi->kernel_size = (uint64_t)(__image_end - __image_start);
	kernel_main(bi);
}
