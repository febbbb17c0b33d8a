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
 *      smc, psci.c); QEMU then exits with status 0 whatever the status was;
 *   3. arch_hang.
 * Context: any, including exception handlers (a panic powers off from SP_EL1).
 */
#include <arch/ops.h>
#include "arm64.h"

#define SEMIHOST_SYS_EXIT		0x18
#define ADP_STOPPED_APPLICATION_EXIT	0x20026
#define PSCI_SYSTEM_OFF			0x84000008u

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

_Noreturn void arch_poweroff(int status)
{
	/* volatile: the host reads it through memory, the compiler cannot see that */
	volatile uint64_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint64_t)(int64_t)status };

	arch_irq_save();
	pl011_drain();		/* let the last line leave the UART */
	arm64_semihost(SEMIHOST_SYS_EXIT, (const void *)block);
	arm64_psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);	/* psci.c: nothing without a conduit */
	arch_hang();
}

_Noreturn void arch_hang(void)
{
	for (;;)
		__asm__ volatile("msr daifset, #0xf\n\twfi" : : : "memory");
}
