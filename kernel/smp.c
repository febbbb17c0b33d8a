/*
 * kernel/smp.c: starting the other CPUs and their idle loop.
 *
 * The boot CPU is cpus[0]; the others take ids 1.. in the firmware's order,
 * skipping the boot CPU's own entry (found by hardware id) and disabled ones. Each
 * gets a 16 KiB idle stack from the page allocator (no guard page: only the idle
 * loop runs there; interrupts run on the arch's per-CPU interrupt stacks).
 * A CPU that fails to come up keeps its id and slot, offline, so that if it arrives
 * late it writes only to its own struct cpu.
 */
#include <string.h>
#include <arch/memlayout.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/pmm.h>
#include <kernel/smp.h>

#define AP_STACK_PAGES 4

bool cpu_single;

extern char boot_stack[], boot_stack_top[];

void smp_init_boot_cpu(void)
{
	struct cpu *c = &cpus[0];
	cpu_attach(c, 0, arch_cpu_hwid());
	c->stack_lo = (uintptr_t)boot_stack;
	c->stack_hi = (uintptr_t)boot_stack_top;
	atomic_store(&c->online, true);
	atomic_store(&cpus_online, 1);
}

/* Idle: halt until an interrupt, answer what it brought, run posted work, halt again. */
static void (*_Atomic idle_hook)(void);

void smp_set_idle_hook(void (*fn)(void))
{
	atomic_store_explicit(&idle_hook, fn, memory_order_release);
	for (unsigned i = 1; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online))
			arch_ipi_send(cpus[i].hwid, IPI_RESCHEDULE);
}

static _Noreturn void cpu_idle(void)
{
	struct cpu *c = cpu_this();
	for (;;) {
		ipi_poll();
		void (*hook)(void) = atomic_load_explicit(&idle_hook, memory_order_acquire);
		if (hook && !atomic_load_explicit(&c->work_fn, memory_order_acquire))
			hook();		/* never returns */
		void (*fn)(void *) = atomic_load_explicit(&c->work_fn, memory_order_acquire);
		if (fn) {
			arch_irq_enable();
			fn(c->work_arg);
			arch_irq_save();
			atomic_store_explicit(&c->work_fn, NULL, memory_order_relaxed);
			atomic_store_explicit(&c->work_done, true, memory_order_release);
			continue;
		}
		arch_wait_for_interrupt();
	}
}

int smp_run_on(unsigned cpu, void (*fn)(void *), void *arg)
{
	if (cpu == 0 || cpu >= ARCH_MAX_CPUS || !atomic_load(&cpus[cpu].online))
		return -1;
	struct cpu *c = &cpus[cpu];
	if (atomic_load(&c->work_fn))
		return -1;
	c->work_arg = arg;
	atomic_store_explicit(&c->work_done, false, memory_order_relaxed);
	atomic_store_explicit(&c->work_fn, fn, memory_order_release);
	arch_ipi_send(c->hwid, IPI_RESCHEDULE);
	return 0;
}

int smp_run_wait(unsigned cpu, uint64_t timeout_ns)
{
	struct cpu *c = &cpus[cpu];
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	irq_push();
	while (!atomic_load_explicit(&c->work_done, memory_order_acquire)) {
		ipi_poll();
		arch_cpu_relax();
		if (spin_deadline_over(&dl, timeout_ns)) {
			irq_pop();
			return -1;
		}
	}
	irq_pop();
	return 0;
}

static _Noreturn void smp_ap_main(void *arg)
{
	struct cpu *c = arg;
	arch_cpu_init_ap(c->id);
	cpu_attach(c, c->id, c->hwid);
	arch_intc_init_cpu();
	atomic_fetch_add(&cpus_online, 1);	/* counted before it reports online */
	atomic_store_explicit(&c->online, true, memory_order_release);
	cpu_idle();
}

static bool start_one(struct cpu *c)
{
	uint64_t stack = pmm_alloc_contig(&kernel_pmm, AP_STACK_PAGES, 1);
	if (!stack) {
		kprintf("smp: cpu %u (hwid 0x%llx): no memory for its stack; left out\n", c->id,
			(unsigned long long)c->hwid);
		return false;
	}
	c->stack_lo = (uintptr_t)phys_to_virt(stack);
	c->stack_hi = c->stack_lo + AP_STACK_PAGES * PAGE_SIZE;
	if (arch_cpu_start(c->hwid, c->stack_hi, (void (*)(void *))smp_ap_main, c) != 0) {
		kprintf("smp: cpu %u (hwid 0x%llx): start refused: %s; left out\n", c->id,
			(unsigned long long)c->hwid, arch_cpu_start_error());
		return false;
	}
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	while (!atomic_load_explicit(&c->online, memory_order_acquire)) {
		if (spin_deadline_over(&dl, SMP_START_NS)) {
			kprintf("smp: cpu %u (hwid 0x%llx) did not come up in %llu ms; left out\n", c->id,
				(unsigned long long)c->hwid, (unsigned long long)(SMP_START_NS / 1000000));
			return false;
		}
		arch_cpu_relax();
	}
	return true;
}

void smp_init(void)
{
	const struct platform *p = &boot_platform;
	uint64_t self = cpus[0].hwid;
	unsigned next = 1;

	cpus_described = 0;
	for (uint32_t i = 0; i < p->ncpus; i++) {
		if (!p->cpus[i].enabled)
			continue;
		cpus_described++;
		if (p->cpus[i].hwid == self)
			continue;
		if (next >= ARCH_MAX_CPUS) {
			kprintf("smp: more than %d CPUs; cpu hwid 0x%llx left out\n", ARCH_MAX_CPUS,
				(unsigned long long)p->cpus[i].hwid);
			continue;
		}
		struct cpu *c = &cpus[next];
		memset(c, 0, sizeof(*c));
		c->self = c;
		c->id = next;
		c->hwid = p->cpus[i].hwid;
		start_one(c);
		next++;
	}
	cpu_ids_end = next;
	cpu_single = cpus_described <= 1 && cpu_count() == 1;
	kprintf("smp: %u of %u CPUs online\n", cpu_count(), cpus_described);
}
