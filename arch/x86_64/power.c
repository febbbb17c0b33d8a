/*
 * arch/x86_64/power.c: power-off with a status, and the final hang.
 *
 * Order of attempts in arch_poweroff:
 *   1. QEMU's isa-debug-exit device at port 0xf4 (the runner adds it): QEMU exits with
 *      (status << 1) | 1. Without the device the write goes nowhere;
 *   2. ACPI soft-off, S5 (ACPI 6.5 16.1.7 and 7.4.2), when the tables described it
 *      (kernel/acpi.c: the FADT's PM1 control ports, the DSDT's \_S5 values): enter
 *      ACPI mode first if the firmware left the machine in legacy mode (SCI_EN clear:
 *      ACPI_ENABLE written to SMI_CMD, then SCI_EN awaited, boundedly), then write
 *      SLP_TYP into each PM1 control register and, in a second write, SLP_EN with it,
 *      as the specification orders. On hardware-reduced ACPI (QEMU's microvm) one
 *      write of SLP_TYP and SLP_EN to the sleep control register instead (4.8.3.7).
 *      The machine goes off; QEMU exits with status 0, whatever the status was;
 *   3. arch_hang, if the machine is still running after about a second.
 * Context: any, including exception handlers (a panic powers off from its stack).
 */
#include <arch/ops.h>

#define PM1_SCI_EN		(1u << 0)
#define PM1_SLP_TYP_SHIFT	10
#define PM1_SLP_TYP_MASK	(7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN		(1u << 13)
#define SLEEP_CTL_TYP_SHIFT	2	/* the hardware-reduced sleep control register */
#define SLEEP_CTL_EN		(1u << 5)
#define PORT_READS_PER_SECOND	1000000	/* an I/O port read takes about a microsecond */

static struct arch_firmware firmware;

void arch_firmware_init(const struct arch_firmware *fw)
{
	firmware = *fw;
}

/* The power goes within a few cycles; give a slow board its second. */
static void wait_a_second(void)
{
	for (unsigned i = 0; i < PORT_READS_PER_SECOND; i++)
		(void)inb(0x80);	/* the POST port: any PC ignores its reads */
}

/* Write SLP_TYP, then SLP_TYP with SLP_EN, into one PM1 control register. */
static void pm1_sleep(uint16_t port, uint8_t typ)
{
	uint16_t v = (uint16_t)((inw(port) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN)) |
				(uint16_t)typ << PM1_SLP_TYP_SHIFT);
	outw(port, v);
	outw(port, (uint16_t)(v | PM1_SLP_EN));
}

static void acpi_soft_off(void)
{
	const struct arch_firmware *fw = &firmware;
	if (fw->acpi_sleep_ctl) {
		uint8_t v = (uint8_t)((fw->slp_typa & 7u) << SLEEP_CTL_TYP_SHIFT | SLEEP_CTL_EN);
		if (fw->acpi_sleep_io)
			outb((uint16_t)fw->acpi_sleep_ctl, v);
		else
			*(volatile uint8_t *)(uintptr_t)fw->acpi_sleep_ctl = v;
		wait_a_second();
		return;
	}
	if (!(inw(fw->pm1a_cnt) & PM1_SCI_EN) && fw->smi_cmd && fw->acpi_enable) {
		outb(fw->smi_cmd, fw->acpi_enable);
		for (unsigned i = 0; i < 3 * PORT_READS_PER_SECOND && !(inw(fw->pm1a_cnt) & PM1_SCI_EN); i++)
			;
	}
	pm1_sleep(fw->pm1a_cnt, fw->slp_typa);
	if (fw->pm1b_cnt)
		pm1_sleep(fw->pm1b_cnt, fw->slp_typb);
	wait_a_second();
}

_Noreturn void arch_poweroff(int status)
{
	outb(0xf4, (uint8_t)status);
	if (firmware.acpi_s5)
		acpi_soft_off();
	arch_hang();
}

_Noreturn void arch_hang(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
