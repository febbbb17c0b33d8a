/*
 * arch/aarch64/power.c: power-off with a status, and the final hang.
 *
 * Order of attempts in arch_poweroff:
 *   1. semihosting SYS_EXIT (0x18) with the block {ADP_Stopped_ApplicationExit,
 *      status}: under `qemu -semihosting` QEMU exits with exactly that status, which
 *      is how the runner reads pass / fail / panic. The call is `hlt #0xf000`; without
 *      a semihosting host (real boards, QEMU without -semihosting) that instruction is
 *      undefined, and trap.c skips it at this one call site (arm64_semihost_hlt) and
 *      notes it in arm64_semihost_trapped;
 *   2. PSCI SYSTEM_OFF (0x84000008) through the conduit the device tree named (hvc or
 *      smc); QEMU then exits with status 0 whatever the status was;
 *   3. arch_hang.
 * Context: any, including exception handlers (a panic powers off from SP_EL1).
 */
#include <arch/ops.h>
#include "arm64.h"

#define SEMIHOST_SYS_EXIT		0x18
#define ADP_STOPPED_APPLICATION_EXIT	0x20026
#define PSCI_SYSTEM_OFF			0x84000008u

static uint32_t psci_conduit;		/* 0 none, 1 hvc, 2 smc (enum psci_conduit) */

/*
 * The semihosting call: x0 = operation, x1 = parameter block; x0 = result. Out of
 * line, in one copy, so that its `hlt` has one address trap.c can recognise.
 */
__asm__(
	"	.text\n"
	"	.globl	arm64_semihost, arm64_semihost_hlt\n"
	"	.type	arm64_semihost, %function\n"
	"	.p2align 2\n"
	"arm64_semihost:\n"
	"arm64_semihost_hlt:\n"
	"	hlt	#0xf000\n"
	"	ret\n"
	"	.size	arm64_semihost, . - arm64_semihost\n");

/* A PSCI call with no arguments through the recorded conduit. SMCCC 1.0 firmware
 * may change x1-x17 (1.1 keeps x4-x17), so all of them are clobbered. */
#define SMCCC_CLOBBERS "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", \
	"x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory"
static uint64_t psci_call(uint32_t fn)
{
	register uint64_t x0 __asm__("x0") = fn;
	if (psci_conduit == 1)
		__asm__ volatile("hvc #0" : "+r"(x0) : : SMCCC_CLOBBERS);
	else if (psci_conduit == 2)
		__asm__ volatile("smc #0" : "+r"(x0) : : SMCCC_CLOBBERS);
	return x0;
}

void arch_firmware_init(uint32_t conduit)
{
	psci_conduit = conduit <= 2 ? conduit : 0;
}

_Noreturn void arch_poweroff(int status)
{
	/* volatile: the host reads it through memory, the compiler cannot see that */
	volatile uint64_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint64_t)(int64_t)status };

	arch_irq_save();
	pl011_drain();		/* let the last line leave the UART */
	arm64_semihost(SEMIHOST_SYS_EXIT, (const void *)block);
	if (psci_conduit)
		psci_call(PSCI_SYSTEM_OFF);
	arch_hang();
}

_Noreturn void arch_hang(void)
{
	for (;;)
		__asm__ volatile("msr daifset, #0xf\n\twfi" : : : "memory");
}
