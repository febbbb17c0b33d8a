/*
 * kernel/platform.h: the machine as the firmware describes it.
 *
 * Filled once at boot by the ACPI parser (x86-64, kernel/acpi.c) or the device-tree
 * parser (aarch64, kernel/fdt.c) from untrusted tables; read-only afterwards.
 * Nothing here is assumed: a field the firmware did not describe stays 0 and its
 * `have_*` flag false.
 */
#ifndef KERNEL_PLATFORM_H
#define KERNEL_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <arch/irq.h>
#include <stdint.h>

#define PLATFORM_MAX_CPUS    64
#define PLATFORM_MAX_IOAPICS 8
#define PLATFORM_MAX_ISO     16
#define PLATFORM_MAX_MEM     32
#define PLATFORM_MAX_RSV     32

struct platform_cpu {
	uint64_t hwid;		/* x86-64: local APIC id; aarch64: MPIDR affinity bits */
	uint32_t uid;		/* ACPI processor uid, or the DT node's index */
	bool enabled;		/* usable now (MADT enabled flag, DT status "okay") */
	bool online_capable;	/* MADT: may be brought online later */
};

struct platform_range {
	uint64_t base;
	uint64_t size;
};

/* x86-64 interrupt source override (MADT type 2): ISA irq -> GSI with flags. */
struct platform_iso {
	uint8_t bus, source;
	uint32_t gsi;
	uint16_t flags;
};

struct platform_ioapic {
	uint8_t id;
	uint64_t phys;
	uint32_t gsi_base;
};

enum psci_conduit { PSCI_NONE = 0, PSCI_HVC = 1, PSCI_SMC = 2 };

struct platform {
	/* CPUs, in firmware order; cpus[0] is not necessarily the boot CPU. */
	uint32_t ncpus;
	struct platform_cpu cpus[PLATFORM_MAX_CPUS];
	uint32_t ncpus_dropped;		/* described but past PLATFORM_MAX_CPUS */

	/* Memory, from the device tree (aarch64 direct boot); UEFI/PVH use the bootinfo map. */
	uint32_t nmem;
	struct platform_range mem[PLATFORM_MAX_MEM];
	uint32_t nrsv;			/* /memreserve/ and /reserved-memory */
	struct platform_range rsv[PLATFORM_MAX_RSV];

	/* The console UART's receive interrupt: x86-64, COM1's ISA IRQ 4 through the MADT's
	 * overrides (when there is an IOAPIC); aarch64, the console PL011's interrupts
	 * property (one SPI). Absent: the console takes no input. */
	bool have_uart_irq;
	struct arch_irq_line uart_irq;
	char uart_irq_missing[96];	/* why not, when the UART has interrupts we cannot use */

	/* x86-64 (ACPI) */
	char oem_id[7];			/* RSDP OEM id, NUL-terminated */
	uint8_t acpi_revision;		/* RSDP revision: 0 = ACPI 1.0 (RSDT), 2+ = XSDT */
	uint64_t lapic_phys;
	bool have_8259;			/* MADT PCAT_COMPAT */
	uint32_t nioapics;
	struct platform_ioapic ioapics[PLATFORM_MAX_IOAPICS];
	uint32_t niso;
	struct platform_iso iso[PLATFORM_MAX_ISO];
	bool have_hpet;
	uint64_t hpet_phys;
	bool have_pm_timer;
	uint32_t pm_timer_port;		/* FADT PM_TMR_BLK (I/O port) */
	bool pm_timer_32bit;		/* FADT flags TMR_VAL_EXT */
	/* ACPI soft-off (S5, ACPI 6.5 7.4.2 and 16.1.7): the FADT's PM1 control ports and
	 * the SLP_TYP values of the DSDT's \_S5 package. Optional: without them (s5_missing
	 * says why, when an FADT was there) power-off on hardware halts instead. */
	bool have_s5;
	uint16_t pm1a_cnt, pm1b_cnt;	/* I/O ports; pm1b_cnt 0 when there is none */
	uint8_t slp_typa, slp_typb;	/* 3-bit SLP_TYP fields */
	uint16_t smi_cmd;		/* FADT SMI_CMD: 0 when the machine is always in ACPI mode */
	uint8_t acpi_enable;		/* FADT ACPI_ENABLE: written to smi_cmd to enter it */
	/* hardware-reduced ACPI: the FADT's sleep control register instead of PM1
	 * (sleep_ctl 0: none); its address space is GAS's: 0 memory, 1 I/O */
	uint64_t sleep_ctl;
	uint8_t sleep_ctl_space;
	char s5_missing[96];

	/* aarch64 (device tree) */
	char model[64];			/* /model */
	char bootargs[1024];		/* /chosen/bootargs */
	uint32_t gic_version;		/* 2 or 3, 0 if none */
	struct platform_range gicd;	/* distributor */
	struct platform_range gicr;	/* v3 redistributors (first region) / v2 cpu interface */
	bool have_uart;
	struct platform_range uart;	/* PL011 */
	uint32_t timer_irq_virt;	/* generic timer virtual PPI (INTID) */
	uint32_t timer_irq_phys;	/* generic timer non-secure physical PPI (INTID) */
	uint32_t timer_freq;		/* clock-frequency property, 0 if absent (use CNTFRQ) */
	enum psci_conduit psci;		/* conduit for PSCI calls */
	uint32_t psci_cpu_on;		/* CPU_ON function id (0xc4000003 for psci-0.2+) */

	/* Set by the kernel around the parsers, not by them. */
	struct platform_range fdt;	/* where the device tree blob itself lies */
};

/*
 * Physical memory access for parsers. Firmware tables are reached by physical
 * address; the kernel maps them through its direct map, the host tests and fuzzers
 * through a buffer. map() returns a pointer to [phys, phys+len) or NULL when any byte
 * of that range is not readable: the parser treats NULL as "pointer out of bounds".
 */
struct phys_access {
	const void *(*map)(void *ctx, uint64_t phys, uint64_t len);
	void *ctx;
};

#define PLATFORM_ERR_MAX 160

#endif
