/*
 * arch/smp.h: starting CPUs and finding oneself.
 *
 *   arch_percpu()           this CPU's per-CPU pointer, O(1) from any context
 *                           (x86-64: GS base; aarch64: TPIDR_EL1); inline in ops_impl.h
 *   arch_percpu_set(p)      set it, once per CPU, before interrupts are enabled
 *   arch_cpu_hwid()         this CPU's hardware id: x86-64 local APIC id, aarch64
 *                           MPIDR_EL1 affinity bits (Aff3..Aff0, as the device tree's reg)
 *   arch_cpu_start()        start a secondary CPU (INIT-SIPI-SIPI / PSCI CPU_ON)
 *   arch_cpu_init_ap(cpu)   the arch's per-CPU set-up, first thing on a secondary
 *
 * Context: arch_cpu_start runs on the boot CPU only, one start at a time, with the
 * kernel's final page tables active. The started CPU runs entry(arg) on stack_top,
 * at KERNEL_VBASE with those page tables, interrupts off, FP enabled, per-CPU pointer
 * unset. Whether it arrives is the caller's business (it waits, bounded).
 */
#ifndef ARCH_SMP_H
#define ARCH_SMP_H

#include <stdint.h>

#define ARCH_MAX_CPUS 64

/* The structure given to arch_percpu_set starts with a pointer to itself (x86-64
 * reads it at %gs:0), then ARCH_PERCPU_SCRATCH_WORDS words the arch owns: it uses them
 * with interrupts off to hand values to code that has no free register yet (the
 * preemption trampoline, arch/trap.h arch_frame_inject_call). */
#define ARCH_PERCPU_SCRATCH_OFF   8
#define ARCH_PERCPU_SCRATCH_WORDS 3

void arch_percpu_set(void *p);
uint64_t arch_cpu_hwid(void);

/* 0 when the start was requested; -1 when the firmware or hardware refused (PSCI
 * error, no trampoline memory); the reason is printable with arch_cpu_start_error(). */
int arch_cpu_start(uint64_t hwid, uintptr_t stack_top, void (*entry)(void *), void *arg);
const char *arch_cpu_start_error(void);

/* Per-CPU descriptor tables / vectors / exception and interrupt stacks for CPU `cpu`
 * (the kernel's index, 1..ARCH_MAX_CPUS-1; the boot CPU is 0 and uses arch_cpu_init). */
void arch_cpu_init_ap(unsigned cpu);

#endif
