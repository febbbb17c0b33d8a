/*
 * arch/aarch64/cpu.c: the boot CPU's exception vectors, every CPU's identity, the
 * per-CPU pointer and the idle wait.
 *
 * start.S already did the per-CPU work that must come before any C (EL2 exit, MMU,
 * FP/SIMD, the SP_EL1 exception stack, TPIDRRO_EL0, an early VBAR_EL1). arch_cpu_init
 * makes the state explicit again for C: VBAR_EL1 = the vectors, every exception
 * masked until the interrupt controller is up, TPIDR_EL1 (the kernel's per-CPU
 * pointer) cleared. Secondary CPUs get the same from secondary.S and
 * arch_cpu_init_ap (smp.c).
 *
 * A CPU's hardware id is its MPIDR_EL1 affinity (Aff3 in bits 39:32, Aff2..Aff0 in
 * bits 23:0), the form the device tree's cpu reg uses; the other bits (U, MT) go.
 *
 * The CPU is named from MIDR_EL1: implementer, part number, variant and revision,
 * printed the way ARM's manuals do ("Cortex-A72 r0p3"); implementers and parts not in
 * the tables below are printed as numbers.
 */
#include <stdio.h>
#include <string.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include <arch/smp.h>
#include "arm64.h"

/* Boot CPU: vectors, everything masked, per-CPU pointer unset, its hwid noted. */
void arch_cpu_init(void)
{
	__asm__ volatile("msr daifset, #0xf\n\t"
			 "msr vbar_el1, %0\n\t"
			 "msr tpidr_el1, xzr\n\t"
			 "isb" : : "r"(arm64_vectors) : "memory");
	arm64_cpus[0].hwid = arch_cpu_hwid();
}

/* MPIDR_EL1's affinity fields: the hwid the device tree and arch_ipi_send use. */
uint64_t arch_cpu_hwid(void)
{
	return READ_SYSREG(mpidr_el1) & MPIDR_AFF_MASK;
}

/* TPIDR_EL1 = the kernel's per-CPU pointer (read by arch_percpu, ops_impl.h). */
void arch_percpu_set(void *p)
{
	WRITE_SYSREG(tpidr_el1, (uint64_t)p);
}

/*
 * Called with IRQs masked. WFI wakes on a pending interrupt even while it is masked,
 * so an interrupt that arrived after the caller's last check is not slept through;
 * then IRQs are unmasked just long enough (the isb) for it to be taken, and masked
 * again. A wake-up without an interrupt (WFI may return early) is harmless: the
 * caller loops. Inside an interrupt handler this takes a nested IRQ (vectors.S).
 */
void arch_wait_for_interrupt(void)
{
	__asm__ volatile("dsb sy\n\t"
			 "wfi\n\t"
			 "msr daifclr, #2\n\t"
			 "isb\n\t"
			 "msr daifset, #2" : : : "memory");
}

struct midr_name {
	uint16_t part;
	const char *name;
};

static const struct midr_name arm_parts[] = {
	{ 0xd01, "Cortex-A32" }, { 0xd02, "Cortex-A34" }, { 0xd03, "Cortex-A53" },
	{ 0xd04, "Cortex-A35" }, { 0xd05, "Cortex-A55" }, { 0xd06, "Cortex-A65" },
	{ 0xd07, "Cortex-A57" }, { 0xd08, "Cortex-A72" }, { 0xd09, "Cortex-A73" },
	{ 0xd0a, "Cortex-A75" }, { 0xd0b, "Cortex-A76" }, { 0xd0c, "Neoverse-N1" },
	{ 0xd0d, "Cortex-A77" }, { 0xd0e, "Cortex-A76AE" }, { 0xd40, "Neoverse-V1" },
	{ 0xd41, "Cortex-A78" }, { 0xd44, "Cortex-X1" }, { 0xd46, "Cortex-A510" },
	{ 0xd47, "Cortex-A710" }, { 0xd48, "Cortex-X2" }, { 0xd49, "Neoverse-N2" },
	{ 0xd4b, "Cortex-A78C" }, { 0xd4f, "Neoverse-V2" },
};

static const struct {
	uint8_t id;
	const char *name;
} implementers[] = {
	{ 0x41, "ARM" }, { 0x42, "Broadcom" }, { 0x43, "Cavium" }, { 0x46, "Fujitsu" },
	{ 0x48, "HiSilicon" }, { 0x4e, "NVIDIA" }, { 0x50, "APM" }, { 0x51, "Qualcomm" },
	{ 0x61, "Apple" }, { 0xc0, "Ampere" },
};

void arch_cpu_describe(char *buf, unsigned long len)
{
	uint64_t midr;
	const char *impl = NULL, *part = NULL;

	__asm__ volatile("mrs %0, midr_el1" : "=r"(midr));
	unsigned id = (midr >> 24) & 0xff, variant = (midr >> 20) & 0xf;
	unsigned partnum = (midr >> 4) & 0xfff, revision = midr & 0xf;

	for (size_t i = 0; i < sizeof(implementers) / sizeof(implementers[0]); i++)
		if (implementers[i].id == id)
			impl = implementers[i].name;
	if (id == 0x41)
		for (size_t i = 0; i < sizeof(arm_parts) / sizeof(arm_parts[0]); i++)
			if (arm_parts[i].part == partnum)
				part = arm_parts[i].name;

	char ibuf[24], pbuf[16];
	if (!impl) {
		snprintf(ibuf, sizeof(ibuf), "implementer 0x%02x", id);
		impl = ibuf;
	}
	if (!part) {
		snprintf(pbuf, sizeof(pbuf), "part 0x%03x", partnum);
		part = pbuf;
	}
	snprintf(buf, len, "%s %s r%up%u", impl, part, variant, revision);
}
