/*
 * kernel/vm.h: the kernel's address space (layout in arch/memlayout.h).
 *
 * Context: not from interrupt handlers. vm_init runs once on the boot CPU; the rest
 * take the vm lock (LOCK_RANK_VM, interrupts off while held).
 */
#ifndef KERNEL_VM_H
#define KERNEL_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <boot/bootinfo.h>
#include <kernel/platform.h>

/*
 * Build the final page tables and switch to them: the image by section (text RX,
 * rodata R, data RW), the direct map of every RAM range in the map (RW, NX), and
 * nothing in the lower half. Returns 0, or -1 with err set.
 */
int vm_init(const struct bootinfo_mem *map, uint32_t n, char *err, size_t errlen);

/* Map [pa, pa+len) into the MMIO window (device memory, or normal read-only memory
 * when `device` is false) and return its virtual address; NULL when out of space. */
void *vm_map_phys(uint64_t pa, uint64_t len, bool device);

/* Is [va, va+len) mapped readable? (checked page by page) */
bool vm_readable(uint64_t va, uint64_t len);

/* Grow the libc heap by `incr` bytes; returns the old break or (void *)-1. */
void *vm_sbrk(intptr_t incr);

/* The vm lock, for code that maps and unmaps with arch_mmu_map/unmap itself
 * (kernel/stack.c): the page tables change under it only. Interrupts off while held;
 * page_alloc/page_free (the pmm lock, ranked after it) may be called inside. */
void vm_lock(void);
void vm_unlock(void);

/* Statistics for the banner and tests. */
uint64_t vm_dmap_bytes(void);

#endif
