/*
 * arch/aarch64/psci.c: calls into the Power State Coordination Interface.
 *
 * PSCI is firmware (EL3 through `smc`, or the hypervisor, QEMU's virt included,
 * through `hvc`); the device tree's /psci node names the conduit, which the kernel
 * passes to arch_firmware_init. Calls follow the SMC Calling Convention: function id
 * in w0, arguments in x1..x3, result in x0. SMCCC 1.0 firmware may change x1-x17
 * (1.1 keeps x4-x17), so all of them are clobbered. Used by power.c (SYSTEM_OFF) and
 * smp.c (CPU_ON). Context: any; the call itself does not block for long.
 */
#include <arch/ops.h>
#include "arm64.h"

static uint32_t psci_conduit;		/* 0 none, 1 hvc, 2 smc (enum psci_conduit) */

/* The conduit the device tree named (0 none, 1 hvc, 2 smc). */
void arch_firmware_init(const struct arch_firmware *fw)
{
	psci_conduit = fw->psci_conduit <= 2 ? fw->psci_conduit : 0;
}

/* Is there a PSCI to call? */
bool arm64_psci_present(void)
{
	return psci_conduit != 0;
}

#define SMCCC_CLOBBERS "x4", "x5", "x6", "x7", "x8", "x9", "x10", \
	"x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory"

/* fn(a1, a2, a3) through the conduit; PSCI_NOT_SUPPORTED without one. */
int64_t arm64_psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	if (psci_conduit == 1)
		__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : SMCCC_CLOBBERS);
	else if (psci_conduit == 2)
		__asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : SMCCC_CLOBBERS);
	else
		return PSCI_NOT_SUPPORTED;
	return (int64_t)x0;
}
