/*
 * kernel/smp.h: bringing every described CPU online.
 *
 * smp_init() (boot CPU, interrupts and the interrupt controller up) starts each CPU
 * the firmware described and enabled, one at a time, and waits for it to report
 * online for at most SMP_START_NS; a CPU that does not is reported by id and hwid and
 * left out, and the boot goes on. Started CPUs idle: halted until an interrupt,
 * answering IPIs (nobody busy-waits for work).
 */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#define SMP_START_NS (5ull * 1000 * 1000 * 1000)

void smp_init(void);

/*
 * Run fn(arg) on `cpu`'s idle loop, in normal context (interrupts on, no locks held),
 * as the scheduler's goroutines will run later. One job per CPU at a time: returns -1
 * if the CPU is offline or busy. smp_run_wait() waits for it (bounded by timeout_ns:
 * -1 on timeout), answering IPIs meanwhile. The boot CPU runs no idle loop: not a target.
 */
int smp_run_on(unsigned cpu, void (*fn)(void *), void *arg);

/* Hand every other CPU's idle loop to fn (the scheduler's loop; it never returns).
 * The CPUs are woken to take it. smp_run_on is over from then on. */
void smp_set_idle_hook(void (*fn)(void));
int smp_run_wait(unsigned cpu, uint64_t timeout_ns);
/* The boot CPU's own per-CPU data, first thing in kernel_main. */
void smp_init_boot_cpu(void);

#endif
