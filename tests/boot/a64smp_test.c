/*
 * tests/boot/a64smp_test.c: the aarch64 arch side of SMP, where only the arch can
 * break it (tests=a64smp; explicit because it is aarch64-only and pokes at the arch
 * contract directly):
 *   - an IRQ taken inside an interrupt handler that waits with arch_wait_for_interrupt
 *     (vectors.S's nested-IRQ path on SP_EL1; the GIC must not hold it back behind
 *     the running priority of the first);
 *   - a timer disarmed while its interrupt is pending stays quiet (0 disarms);
 *   - an IPI to oneself arrives exactly once;
 *   - PSCI CPU_ON refusals come back as -1 with a reason;
 *   - the SGI register's encoding for CPUs QEMU never has (Aff0 16..255, the range
 *     selector; Aff1..Aff3), and its refusal on a GIC without the range selector.
 * tests=a64smp_fault ends the boot on purpose: a NULL write inside CPU 1's interrupt
 * handler, which must panic as a nested Data Abort on CPU 1's own nested stack.
 */
#include <stdatomic.h>
#include <string.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include <arch/smp.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/test.h>

#if defined(__aarch64__)
#include <arch/gicv3_sgi.h>

/* Spin for ns nanoseconds by the cycle counter, interrupts as they are. */
static void spin_ns(uint64_t ns)
{
	uint64_t start = arch_cycles(), n = arch_cycles_freq() / 1000000 * (ns / 1000);
	while (arch_cycles() - start < n)
		arch_cpu_relax();
}

struct nested {
	bool in_irq, on_sp_el1, masked_after;
	uint64_t taken;
};

/* Runs in the IPI_CALL handler of the target CPU: wait there for a second IPI. */
static void wait_in_handler(void *arg)
{
	struct nested *r = arg;
	struct cpu *c = cpu_this();
	uint64_t spsel, before = atomic_load(&c->irqs[IPI_RESCHEDULE]);

	__asm__ volatile("mrs %0, spsel" : "=r"(spsel));
	r->in_irq = c->in_irq;
	r->on_sp_el1 = spsel & 1;
	arch_ipi_send(c->hwid, IPI_RESCHEDULE);
	for (int i = 0; i < 1000 && atomic_load(&c->irqs[IPI_RESCHEDULE]) == before; i++)
		arch_wait_for_interrupt();
	r->taken = atomic_load(&c->irqs[IPI_RESCHEDULE]) - before;
	r->masked_after = !arch_irq_enabled();
}

TEST_EXPLICIT(a64smp, irq_nested_in_handler)
{
	if (cpu_count() < 2) {
		kprintf("a64smp: one CPU: no other CPU's handler to wait in\n");
		return;
	}
	struct nested r = { 0 };
	ipi_call(1, wait_in_handler, &r, true);
	EXPECT_TRUE(r.in_irq);
	EXPECT_TRUE(r.on_sp_el1);
	EXPECT_EQ(r.taken, 1);
	EXPECT_TRUE(r.masked_after);
}

TEST_EXPLICIT(a64smp, disarmed_timer_stays_quiet)
{
	struct cpu *c = cpu_this();
	ASSERT_TRUE(arch_irq_enabled());
	uint64_t before = atomic_load(&c->irqs[IPI_KINDS]);
	irq_push();
	arch_timer_set(arch_cycles());		/* due now: pending, but masked */
	spin_ns(1000000);
	arch_timer_set(0);
	irq_pop();
	spin_ns(2000000);
	EXPECT_EQ(atomic_load(&c->irqs[IPI_KINDS]) - before, 0);
	/* and armed again, it fires once */
	irq_push();
	arch_timer_set(arch_cycles() + arch_cycles_freq() / 1000);
	irq_pop();
	spin_ns(5000000);
	EXPECT_EQ(atomic_load(&c->irqs[IPI_KINDS]) - before, 1);
}

TEST_EXPLICIT(a64smp, ipi_to_self_once)
{
	struct cpu *c = cpu_this();
	uint64_t before = atomic_load(&c->irqs[IPI_RESCHEDULE]);
	arch_ipi_send(c->hwid, IPI_RESCHEDULE);
	spin_ns(2000000);
	EXPECT_EQ(atomic_load(&c->irqs[IPI_RESCHEDULE]) - before, 1);
}

static void never_entered(void *arg)
{
	(void)arg;
	for (;;)
		arch_halt();
}

TEST_EXPLICIT(a64smp, cpu_start_refusals)
{
	static char stack[4096] __attribute__((aligned(16)));
	uintptr_t top = (uintptr_t)(stack + sizeof(stack));

	EXPECT_EQ(arch_cpu_start(arch_cpu_hwid(), top, never_entered, NULL), -1);
	kprintf("a64smp: self: %s\n", arch_cpu_start_error());
	EXPECT_TRUE(strstr(arch_cpu_start_error(), "calling CPU") != NULL);
	EXPECT_EQ(arch_cpu_start(0xfe00fe, top, never_entered, NULL), -1);
	kprintf("a64smp: no such CPU: %s\n", arch_cpu_start_error());
	EXPECT_TRUE(strstr(arch_cpu_start_error(), "no redistributor") != NULL);
	if (cpu_count() >= 2) {
		EXPECT_EQ(arch_cpu_start(cpus[1].hwid, top, never_entered, NULL), -1);
		kprintf("a64smp: online CPU: %s\n", arch_cpu_start_error());
		EXPECT_TRUE(strstr(arch_cpu_start_error(), "ALREADY_ON") != NULL);
	}
}

TEST_EXPLICIT(a64smp, sgi_encoding)
{
	uint64_t v = 0;
	/* Aff0 3 of cluster 0: target list bit 3, RS 0, the SGI's number in 27:24 */
	EXPECT_TRUE(gicv3_sgi1r_value(0x3, 5, false, &v));
	EXPECT_EQ(v, (5ull << 24) | (1ull << 3));
	/* Aff3.Aff2.Aff1 = 0x12.0x34.0x56, Aff0 0x2b: RS 2, bit 11 */
	EXPECT_TRUE(gicv3_sgi1r_value(0x1200345600ull | 0x2b, 1, true, &v));
	EXPECT_EQ(v, (0x12ull << 48) | (0x34ull << 32) | (0x56ull << 16) | (2ull << 44) |
		     (1ull << 24) | (1ull << 11));
	/* Aff0 255: RS 15, bit 15 */
	EXPECT_TRUE(gicv3_sgi1r_value(0xff, 0, true, &v));
	EXPECT_EQ(v, (15ull << 44) | (1ull << 15));
	/* Aff0 16 and up without the range selector: refused, v untouched */
	v = 42;
	EXPECT_TRUE(!gicv3_sgi1r_value(0x10, 0, false, &v));
	EXPECT_TRUE(!gicv3_sgi1r_value(0xff, 0, false, &v));
	EXPECT_EQ(v, 42);
	/* Aff0 15, the last one without it, and the MPIDR's other bits ignored */
	EXPECT_TRUE(gicv3_sgi1r_value((1ull << 31) | (1ull << 30) | 0xf, 2, false, &v));
	EXPECT_EQ(v, (2ull << 24) | (1ull << 15));
}

/* Out of line, so the backtrace has a frame to name. */
__attribute__((noinline)) static void a64smp_fault_in_handler(void *arg)
{
	*(volatile uint64_t *)arg = 1;
}

TEST_EXPLICIT(a64smp_fault, null_write_in_irq_handler)
{
	ASSERT_TRUE(cpu_count() >= 2);
	ipi_call(1, a64smp_fault_in_handler, (void *)0x18, true);
	test_fail(__FILE__, __LINE__, "the faulting handler returned");
}

#endif
