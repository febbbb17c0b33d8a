/*
 * arch/ops.h: the per-CPU operations every arch supplies (the fast ones inline in
 * <arch/ops_impl.h> of each arch folder).
 *
 * Context: all of these may be called from any context, including exception handlers,
 * with interrupts on or off. None blocks or allocates.
 *
 *   arch_irq_save()        disable interrupts, return the previous state
 *   arch_irq_restore(s)    restore a state returned by arch_irq_save
 *   arch_irq_enabled()     are interrupts enabled on this CPU?
 *   arch_irq_enable()      turn them on (boot CPU after its controller is up; idle)
 *   arch_halt()            wait for an interrupt (hlt / wfi); returns after one
 *   arch_cpu_relax()       spin-wait hint (pause / yield)
 *   ARCH_RELAX_YIELDS      1 where arch_cpu_relax is a call to the host's scheduler
 *                          (the hosted platform's sched_yield), which may give the
 *                          core away for a whole time slice: a spin loop's iteration
 *                          then has no bounded cost (kernel/clock.h); 0 where it is
 *                          an instruction
 *   arch_relax_set_check(fn)  fn runs after each arch_cpu_relax where the wait is a
 *                          call an interrupt cannot preempt (the hosted platform's
 *                          sched_yield); a no-op where it is an instruction
 *   arch_irq_window()      in a wait with interrupts off: let pending ones in, then off
 *   arch_cycles()          a monotonic per-CPU cycle counter (TSC / CNTVCT_EL0)
 *   arch_cas32_local(p, &old, new), arch_fetch_add32_local(p, v)
 *                          compare-and-swap and fetch-and-add that are atomic against
 *                          this CPU's own interrupts only: for a machine with one CPU
 *                          (kernel/cpu.h cpu_single), where nothing else can come
 *                          between (x86-64: the instruction without its lock prefix)
 */
#ifndef ARCH_OPS_H
#define ARCH_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/ops_impl.h>

/* A moment with interrupts on inside a long wait that runs with them off (the
 * scheduler loop's idle marking and runnext grace): pending ones are taken here. */
static inline void arch_irq_window(void)
{
	arch_irq_enable();
	arch_cpu_relax();
	(void)arch_irq_save();
}

/* Frequency of arch_cycles() in Hz, measured or read once by arch_cycles_init(). */
uint64_t arch_cycles_freq(void);

/* Early CPU setup for the boot CPU: descriptor tables or vectors, FP, fault stacks. */
void arch_cpu_init(void);

/* Names the CPU for the banner ("GenuineIntel QEMU Virtual CPU", "ARM Cortex-A72 r0p3"). */
void arch_cpu_describe(char *buf, unsigned long len);

/* Calibrate arch_cycles_freq(); may use firmware timers the platform described. */
void arch_cycles_init(uint32_t pm_timer_port);

/* Firmware interfaces the platform described, for power-off and CPU bring-up. */
struct arch_firmware {
	uint32_t psci_conduit;		/* aarch64: PSCI's, 0 none, 1 hvc, 2 smc */
	/* x86-64: ACPI soft-off (S5), from the FADT and the DSDT's \_S5 (kernel/acpi.c) */
	bool acpi_s5;
	uint16_t pm1a_cnt, pm1b_cnt;	/* PM1 control ports; pm1b_cnt 0 when none */
	uint8_t slp_typa, slp_typb;	/* the SLP_TYP values to write there */
	uint16_t smi_cmd;		/* 0: the machine is always in ACPI mode */
	uint8_t acpi_enable;		/* written to smi_cmd to enter ACPI mode */
	/* hardware-reduced ACPI: the sleep control register instead of PM1 (0: none),
	 * an I/O port, or the virtual address the kernel mapped it at */
	uint64_t acpi_sleep_ctl;
	bool acpi_sleep_io;
};

/* Record what the platform described (copied); called again when more is known (the
 * device tree first, then the ACPI tables). Each arch reads only its own fields. */
void arch_firmware_init(const struct arch_firmware *fw);

/* Power off with an exit status the QEMU runner can read; never returns. */
_Noreturn void arch_poweroff(int status);

/* Stop this CPU for good, interrupts off (after a panic on real hardware). */
_Noreturn void arch_hang(void);

#endif
