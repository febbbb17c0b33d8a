/*
 * arch/x86_64/cpu.c: each CPU's descriptor tables and identity.
 *
 * GDT, one per CPU (in struct x86_cpu): null, kernel code 0x08, kernel data 0x10,
 *      TSS 0x18 (16 bytes).
 * TSS, one per CPU:
 *      IST1 = the CPU's exception stack, so that every CPU exception (a page fault on
 *             a guard page, a double fault) runs on known-good memory, whatever %rsp was;
 *      IST2 = the CPU's interrupt stack, so that an interrupt never pushes onto a
 *             goroutine stack: those are demand-paged (the push itself could fault)
 *             and scanned by the collector.
 * IDT, one for all CPUs: vectors 0..31 -> the exception stubs on IST1, 32..255 -> the
 *      interrupt stubs on IST2 (trap.S). All are interrupt gates: the handler starts
 *      with interrupts off.
 *
 * An IST stack is not reentrant: every entry starts again at its top. That is safe
 * because handlers run with interrupts off and return before they are turned on
 * again; code that wants to leave an interrupt by switching to another goroutine
 * must first move the frame off the IST stack. The one handler that turns interrupts
 * on is a wait for IPIs (arch_wait_for_ipi, below: a stopped CPU halting inside its
 * IPI_STOP handler): for the length of that halt it moves this CPU's IST2 entry in
 * the TSS below its own stack pointer, so a nested interrupt's frame lands under the
 * waiting handler's frames instead of over them, and puts it back afterwards. (The
 * CPU reads the IST slot from the TSS in memory at every interrupt.) Rejected: a
 * second IST slot for the nested case (the IDT gate names one slot per vector, and a
 * vector cannot know whether it interrupts a waiting handler); spinning instead of
 * halting (under TCG a spinning vCPU holds a host core the others need).
 *
 * The stacks are static: 32 KiB per possible CPU (2 MiB of .bss for ARCH_MAX_CPUS),
 * because the arch never calls the kernel's page allocator.
 *
 * The per-CPU pointer lives in IA32_GS_BASE. Loading a selector into %gs (gdt_load
 * does) clears it, so arch_percpu_set comes after arch_cpu_init / arch_cpu_init_ap.
 */
#include <stdint.h>
#include <string.h>
#include <arch/ops.h>
#include <arch/noscan.h>
#include <arch/smp.h>
#include "x86.h"

struct __attribute__((packed)) idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
};

static struct x86_cpu x86_cpus[ARCH_MAX_CPUS];
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t exc_stacks[ARCH_MAX_CPUS][EXC_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t irq_stacks[ARCH_MAX_CPUS][IRQ_STACK_SIZE] __attribute__((aligned(16)));
NOSCAN(exc_stacks);
NOSCAN(irq_stacks);
extern char boot_stack[], boot_stack_top[];	/* start.S */
NOSCAN_RANGE(boot_stack, boot_stack, boot_stack_top);

/* Load c's GDT, reload every segment register, load its TSS. */
static void gdt_load(struct x86_cpu *c)
{
	uint64_t base = (uint64_t)&c->tss, limit = sizeof(c->tss) - 1;

	c->gdt[0] = 0;
	c->gdt[1] = 0x00af9a000000ffffull;	/* code: L, P, DPL0, exec/read */
	c->gdt[2] = 0x00cf92000000ffffull;	/* data: P, DPL0, read/write */
	c->gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		    (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	c->gdt[4] = base >> 32;

	struct desc_ptr p = { sizeof(c->gdt) - 1, (uint64_t)c->gdt };
	__asm__ volatile(
		"lgdt %0\n"
		"pushq $0x08\n"
		"leaq 1f(%%rip), %%rax\n"
		"pushq %%rax\n"
		"lretq\n"
		"1:\n"
		"movl $0x10, %%eax\n"
		"movl %%eax, %%ds\n"
		"movl %%eax, %%es\n"
		"movl %%eax, %%ss\n"
		"xorl %%eax, %%eax\n"
		"movl %%eax, %%fs\n"
		"movl %%eax, %%gs\n"
		"movw $0x18, %%ax\n"
		"ltr %%ax\n"
		: : "m"(p) : "rax", "memory");
}

static void idt_set(unsigned v, uint64_t off, uint8_t ist)
{
	idt[v] = (struct idt_gate){
		.off_lo = off & 0xffff, .sel = 0x08, .ist = ist, .type = 0x8e,
		.off_mid = (off >> 16) & 0xffff, .off_hi = off >> 32,
	};
}

/* Fill the shared IDT (boot CPU, once). */
static void idt_build(void)
{
	for (unsigned v = 0; v < 32; v++)
		idt_set(v, x86_trap_stubs[v], 1);
	for (unsigned v = 32; v < 256; v++)
		idt_set(v, (uint64_t)(x86_irq_stubs + 16 * (v - 32)), 2);
}

/* Everything one CPU needs to take exceptions and interrupts. */
static void cpu_tables_load(unsigned cpu)
{
	struct x86_cpu *c = &x86_cpus[cpu];

	memset(c, 0, sizeof(*c));
	c->index = cpu;
	c->tss.ist[0] = (uint64_t)(exc_stacks[cpu] + EXC_STACK_SIZE);
	c->tss.ist[1] = (uint64_t)(irq_stacks[cpu] + IRQ_STACK_SIZE);
	c->tss.iomap_base = sizeof(c->tss);
	gdt_load(c);
	struct desc_ptr p = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
}

void arch_cpu_init(void)
{
	idt_build();
	cpu_tables_load(0);
}

/* First thing on a secondary (smp.c's trampoline has set up long mode, NX, WP and
 * SSE already). A bad index cannot be reported: nothing can print from here. */
void arch_cpu_init_ap(unsigned cpu)
{
	if (cpu == 0 || cpu >= ARCH_MAX_CPUS)
		arch_hang();
	cpu_tables_load(cpu);
}

/* The GS base: see arch_percpu() in ops_impl.h for what p must point at. */
void arch_percpu_set(void *p)
{
	wrmsr(MSR_GS_BASE, (uint64_t)p);
}

/* Wait for an interrupt with none lost: the instruction after sti runs before any
 * interrupt is taken, so one that is already pending wakes the hlt. */
void arch_wait_for_interrupt(void)
{
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}

/*
 * Wait for an IPI with only IPIs deliverable (arch/irq.h). The task priority (CR8 =
 * TPR_IPI_ONLY, x86.h) holds back every class but the IPIs' for the halt, so the timer
 * and devices stay pending in the IRR for later; `sti; hlt` leaves no gap for a
 * wake-up to be lost (an IPI already pending is taken right after the hlt starts).
 * When the caller runs on this CPU's interrupt stack (IST2: inside a handler), IST2
 * points below it for the halt (see the top); with less than IRQ_NEST_ROOM left there
 * it does not halt at all and returns, and the caller's loop spins instead. So it does
 * on the exception stack (IST1: a fault handler that waits), where nothing says
 * whether the faulting code was itself an interrupt handler with frames on IST2.
 */
void arch_wait_for_ipi(void)
{
	struct x86_cpu *c = x86_this_cpu();
	uint64_t lo = (uint64_t)irq_stacks[c->index], hi = lo + IRQ_STACK_SIZE;
	uint64_t elo = (uint64_t)exc_stacks[c->index], ehi = elo + EXC_STACK_SIZE;
	uint64_t ist = c->tss.ist[1], rsp, tpr;

	__asm__ volatile("movq %%rsp, %0" : "=r"(rsp));
	if (rsp > elo && rsp <= ehi) {
		arch_cpu_relax();
		return;
	}
	if (rsp > lo && rsp <= hi) {
		/* 256 bytes of slack: the asm below pushes nothing, but rsp was read in C */
		uint64_t below = (rsp - 256) & ~15ull;
		if (below < lo + IRQ_NEST_ROOM) {
			arch_cpu_relax();
			return;
		}
		c->tss.ist[1] = below;
	}
	__asm__ volatile("movq %%cr8, %0" : "=r"(tpr));
	__asm__ volatile("movq %0, %%cr8\n\t"
			 "sti\n\t"
			 "hlt\n\t"
			 "cli\n\t"
			 "movq %1, %%cr8"
			 : : "r"((uint64_t)TPR_IPI_ONLY), "r"(tpr) : "memory");
	c->tss.ist[1] = ist;
}

void arch_cpu_describe(char *buf, unsigned long len)
{
	uint32_t r[12], v[4];

	cpuid(0x80000000, 0, v);
	if (v[0] >= 0x80000004) {
		for (uint32_t i = 0; i < 3; i++)
			cpuid(0x80000002 + i, 0, &r[i * 4]);
		char brand[49];
		memcpy(brand, r, 48);
		brand[48] = '\0';
		const char *s = brand;
		while (*s == ' ')
			s++;
		strncpy(buf, s, len - 1);
		buf[len - 1] = '\0';
		return;
	}
	cpuid(0, 0, v);
	r[0] = v[1], r[1] = v[3], r[2] = v[2];	/* vendor: EBX, EDX, ECX */
	memcpy(buf, r, len > 13 ? 12 : len - 1);
	buf[len > 13 ? 12 : len - 1] = '\0';
}
