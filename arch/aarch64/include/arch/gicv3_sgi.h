/*
 * arch/gicv3_sgi.h (aarch64): the value of ICC_SGI1R_EL1 that sends one SGI to one
 * CPU, named by its MPIDR affinity: Aff3.Aff2.Aff1 name the cluster, and the target
 * list has one bit per Aff0 among 16. Aff0 16..255 is reached through the range
 * selector (RS: which 16), which only a GIC with ICC_CTLR_EL1.RSS set accepts; on
 * another, such a CPU cannot be sent an IPI at all, and smp.c refuses to start it.
 * Pure, so that tests/boot/a64smp_test.c checks the encoding where QEMU has no CPU
 * with Aff0 over 15.
 */
#ifndef ARCH_GICV3_SGI_H
#define ARCH_GICV3_SGI_H

#include <stdbool.h>
#include <stdint.h>

/* false when this GIC cannot name the CPU (*v untouched) */
static inline bool gicv3_sgi1r_value(uint64_t mpidr, unsigned intid, bool rss, uint64_t *v)
{
	uint64_t aff0 = mpidr & 0xff;
	if (aff0 >= 16 && !rss)
		return false;
	*v = ((mpidr >> 32) & 0xff) << 48 |	/* Aff3 */
	     ((mpidr >> 16) & 0xff) << 32 |	/* Aff2 */
	     ((mpidr >> 8) & 0xff) << 16 |	/* Aff1 */
	     (aff0 >> 4) << 44 |		/* RS: which 16 of Aff0 */
	     ((uint64_t)intid & 0xf) << 24 |	/* INTID */
	     1ull << (aff0 & 0xf);		/* target list */
	return true;
}

#endif
