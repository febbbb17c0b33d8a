/*
 * kernel/boot.h: what the kernel learnt at boot, for the rest of it (read-only after
 * kernel_main's bring-up).
 */
#ifndef KERNEL_BOOT_H
#define KERNEL_BOOT_H

#include <boot/bootinfo.h>
#include <kernel/platform.h>

extern const struct bootinfo *boot_bootinfo;
extern struct platform boot_platform;
/* The memory map the allocator was built from (bootinfo's, or the DTB's). */
extern struct bootinfo_mem boot_mmap[BOOTINFO_MMAP_MAX];
extern uint32_t boot_mmap_count;

/* Find and parse the firmware tables (kernel/platform.c). */
int platform_init_dtb(const struct bootinfo *bi, char *err, size_t errlen);
int platform_init_acpi(const struct bootinfo *bi, char *err, size_t errlen);

#endif
