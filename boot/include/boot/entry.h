/*
 * boot/entry.h: the hand-over from the boot paths to the kernel.
 *
 * boot_entry() is the first C code: it runs on the early page tables (see the arch's
 * start.S), turns whatever the boot path gave into a struct bootinfo, and calls
 * kernel_main(), the one upward call in the image: the boot layer exists only to hand
 * the machine to the kernel.
 */
#ifndef BOOT_ENTRY_H
#define BOOT_ENTRY_H

#include <stdint.h>
#include <boot/bootinfo.h>

_Noreturn void boot_entry(uint64_t arg, uint64_t magic, uint64_t load_phys);

/* Defined by the kernel. bi stays valid (it is the kernel's own copy). */
_Noreturn void kernel_main(struct bootinfo *bi);

/* Direct-boot converters, one per arch; each returns 0 or fills bi->cmdline with an error. */
int pvh_to_bootinfo(uint64_t start_info_phys, struct bootinfo *bi);
int dtb_to_bootinfo(uint64_t dtb_phys, struct bootinfo *bi);

/* Set when the boot data itself was unusable; kernel_main prints it and stops. */
extern char boot_error[160];

#endif
