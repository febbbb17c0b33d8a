/*
 * arch/aarch64/arm64.h: what the files of arch/aarch64 share among themselves; not
 * part of the arch contract (the headers in arch/include/arch), never included outside this folder.
 */
#ifndef ARCH_AARCH64_ARM64_H
#define ARCH_AARCH64_ARM64_H

#include <stdbool.h>
#include <stdint.h>

struct arch_frame;

/* vectors.S: the VBAR_EL1 table; trap.c: its C half. */
extern const char arm64_vectors[];
void arm64_trap(struct arch_frame *f);

/* power.c: the semihosting call and the address of its `hlt #0xf000`, which trap.c
 * skips when there is no semihosting host (and then sets arm64_semihost_trapped). */
uint64_t arm64_semihost(uint64_t op, const void *arg);
extern const uint32_t arm64_semihost_hlt[];
extern bool arm64_semihost_trapped;

/* uart.c: wait until the PL011 has sent everything (bounded). */
void pl011_drain(void);

/* mmu_switch.S: load TTBR1 through the identity map (see mmu.c). */
void arm64_ttbr1_replace(uint64_t ttbr1, uint64_t tcr);

#endif
