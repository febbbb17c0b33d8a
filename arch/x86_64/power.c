/*
 * arch/x86_64/power.c: power-off with a status, and the final hang.
 *
 * QEMU: the isa-debug-exit device at port 0xf4 (the runner adds it) exits with
 * (status << 1) | 1. Without it (real hardware) the write is ignored and the CPU stops
 * with interrupts off; ACPI S5 comes with the ACPI interpreter-free shutdown later.
 */
#include <arch/ops.h>

void arch_firmware_init(uint32_t psci_conduit)
{
	(void)psci_conduit;
}

_Noreturn void arch_poweroff(int status)
{
	outb(0xf4, (uint8_t)status);
	arch_hang();
}

_Noreturn void arch_hang(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
