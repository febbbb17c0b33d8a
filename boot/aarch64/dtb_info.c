/*
 * boot/aarch64/dtb_info.c: the arm64 Image protocol -> struct bootinfo (direct boot).
 *
 * The protocol (Linux Documentation/arch/arm64/booting.rst) hands over only x0, the
 * physical address of the flattened device tree; x1-x3 are 0. Everything else comes
 * from the tree, which the kernel parses itself (kernel/fdt.c, through the early
 * direct map that covers the low 512 GiB): memory (so mmap_count stays 0), the
 * command line (/chosen/bootargs), the UART, the GIC, PSCI. Here the pointer is only
 * recorded; its contents are checked where they are read. No x0 means no machine
 * description at all: boot_error says so and the kernel stops.
 */
#include <string.h>
#include <boot/entry.h>

int dtb_to_bootinfo(uint64_t dtb_phys, struct bootinfo *bi)
{
	strcpy(bi->firmware, "direct (arm64 Image)");
	bi->mmap_count = 0;		/* memory comes from the device tree */
	bi->dtb = dtb_phys;
	if (!dtb_phys) {
		strcpy(boot_error, "no device tree: x0 was 0");
		return -1;
	}
	return 0;
}
