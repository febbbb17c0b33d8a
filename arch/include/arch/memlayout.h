/*
 * arch/memlayout.h: the virtual memory map, the one place it is written down.
 *
 * Both bare-metal arches use 4 KiB pages and 48-bit virtual addresses. The kernel
 * lives in the top half; the bottom half is mapped only during early boot (the
 * identity map the entry code runs on) and is empty once vm_init() has switched to
 * the kernel's own tables.
 *
 * x86-64                                         aarch64 (TTBR1 half)
 * ffff ffff 8000 0000  kernel image (2 GiB)        ffff ffff 8000 0000  kernel image
 *                      -mcmodel=kernel                                  (same link address)
 * ffff e800 0000 0000  GC heap arena (later)       ffff 7000 0000 0000  GC heap arena
 * ffff e000 0000 0000  goroutine stacks (later)    ffff 6000 0000 0000  goroutine stacks
 * ffff d000 0000 0000  libc heap (sbrk), grows up  ffff 5000 0000 0000  libc heap
 * ffff c000 0000 0000  MMIO window (vm_map_mmio)   ffff 4000 0000 0000  MMIO window
 * ffff 8000 0000 0000  direct map of physical RAM  ffff 0000 0000 0000  direct map
 *                      (phys + DMAP_BASE)                               (phys + DMAP_BASE)
 * 0000 0000 0000 0000  early identity map only     0000 0000 0000 0000  early identity (TTBR0)
 *
 * Kernel image, by section (linker.ld), each page-aligned so permissions can differ:
 *   .text            read + execute
 *   .rodata .ksyms   read only, never executable
 *   .data .bss       read + write, never executable
 * The direct map is read + write, never executable: kernel text is also reachable
 * there, writable, but no page is ever mapped writable and executable at once.
 */
#ifndef ARCH_MEMLAYOUT_H
#define ARCH_MEMLAYOUT_H

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1ul << PAGE_SHIFT)
#define LARGE_PAGE_SIZE	(1ul << 21)	/* 2 MiB: x86 PS pages, arm64 level-2 blocks */

#define KERNEL_VBASE	0xffffffff80000000ul

#if defined(GORT_HOSTED)
/*
 * The hosted platform (arch/host): the kernel is a Linux program whose image Linux
 * maps. Its own regions live in user space, in the one range that the plain build,
 * AddressSanitizer (application memory above 0x10007fff8000) and ThreadSanitizer (its
 * "mid" application range, where only a PIE executable would go; the host binary is
 * not PIE) all leave free:
 *
 * 5680 0000 0000  end of the kernel's regions (HOST_VA_END, arch/host/host.h)
 * 5600 0000 0000  GC heap arena (512 GiB)
 * 5580 0000 0000  goroutine stacks (512 GiB)
 * 5550 0000 0000  libc heap (unused: glibc's malloc serves the host build)
 * 5540 0000 0000  MMIO window (unused: the host has no devices)
 * 5500 0000 0000  direct map of "physical" memory, a memfd (phys + DMAP_BASE);
 *                 physical memory starts at 1 MiB, so physical 0 is never RAM
 */
#define DMAP_BASE	0x550000000000ul
#define MMIO_BASE	0x554000000000ul
#define KHEAP_BASE	0x555000000000ul
#define STACK_ARENA	0x558000000000ul
#define GC_ARENA	0x560000000000ul
#define DMAP_SIZE	(1ul << 38)	/* 256 GiB of "physical" memory */
#define MMIO_SIZE	(1ul << 36)
#define KHEAP_SIZE	(1ul << 36)
#elif defined(__x86_64__)
#define DMAP_BASE	0xffff800000000000ul
#define MMIO_BASE	0xffffc00000000000ul
#define KHEAP_BASE	0xffffd00000000000ul
#define STACK_ARENA	0xffffe00000000000ul
#define GC_ARENA	0xffffe80000000000ul
#elif defined(__aarch64__)
#define DMAP_BASE	0xffff000000000000ul
#define MMIO_BASE	0xffff400000000000ul
#define KHEAP_BASE	0xffff500000000000ul
#define STACK_ARENA	0xffff600000000000ul
#define GC_ARENA	0xffff700000000000ul
#endif

#if !defined(GORT_HOSTED)
#define DMAP_SIZE	(1ul << 45)	/* 32 TiB of physical memory */
#define MMIO_SIZE	(1ul << 40)
#define KHEAP_SIZE	(1ul << 40)
#endif

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline void *phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)(pa + DMAP_BASE); }
static inline uint64_t virt_to_phys_dmap(const void *va) { return (uint64_t)(uintptr_t)va - DMAP_BASE; }
#endif

#endif

/*
 * Physical memory the page allocator never hands out, from address 0:
 * x86-64 keeps the first MiB (real-mode IVT/BDA/EBDA, BIOS ROM shadows, and the
 * SMP trampoline page later); aarch64 keeps page 0 so that physical 0 is never a
 * valid allocation, and so does the hosted platform (whose RAM starts at 1 MiB).
 */
#if defined(__x86_64__) && !defined(GORT_HOSTED)
#define ARCH_LOW_RESERVED (1ul << 20)
#else
#define ARCH_LOW_RESERVED PAGE_SIZE
#endif
