/*
 * arch/x86_64/x86.h: what the files of arch/x86_64 share among themselves; not part
 * of the arch contract (the headers in arch/include/arch), never included outside
 * this folder. The constants are also read by the assembly files.
 *
 * Interrupt vectors, every one the kernel uses (a vector's LAPIC priority class is
 * its high nibble; a higher class is a higher priority):
 *
 *   vector     what                             stack  kernel sees       class
 *   0x00-0x1f  CPU exceptions                   IST1, trap handler        -
 *   0x20-0xcf  IOAPIC GSI n at 0x20+n           IST2, IRQ_DEVICE(n)       0x2-0xc (all masked)
 *   0xd0-0xdf  legacy 8259, remapped and masked IST2, ignored             0xd
 *   0xe0       LAPIC timer                      IST2, IRQ_TIMER           0xe
 *   0xf0-0xf3  IPIs, 0xf0 + enum ipi_kind       IST2, IRQ_IPI(kind)       0xf
 *   0xfe       LAPIC error                      IST2, cleared here        0xf
 *   0xff       LAPIC spurious                   IST2, ignored, no EOI     (never masked)
 *
 * The IPIs are alone in the top class with the LAPIC's own error and spurious
 * vectors (both handled inside this folder, harmlessly, in any context). So a task
 * priority of TPR_IPI_ONLY (class 0xe: "deliver only classes above 0xe") lets exactly
 * the IPIs through: arch_wait_for_ipi (cpu.c) raises it for its halt, through CR8,
 * the architectural alias of TPR[7:4] in 64-bit mode (no MMIO access, the same for
 * xAPIC and x2APIC). Anything new must keep the IPIs in a class of their own above
 * every other interrupt the kernel enables.
 */
#ifndef ARCH_X86_64_X86_H
#define ARCH_X86_64_X86_H

#define VEC_DEVICE	0x20
#define VEC_DEVICE_END	0xd0
#define VEC_PIC		0xd0
#define VEC_TIMER	0xe0
#define VEC_IPI		0xf0
#define VEC_ERROR	0xfe
#define VEC_SPURIOUS	0xff

/* CR8 while waiting for an IPI only: every class up to 0xe held back (above). */
#define TPR_IPI_ONLY	((VEC_IPI >> 4) - 1)
#if (VEC_TIMER >> 4) > TPR_IPI_ONLY || ((VEC_DEVICE_END - 1) >> 4) > TPR_IPI_ONLY || \
    ((VEC_PIC + 15) >> 4) > TPR_IPI_ONLY
#error "x86.h: the IPIs must be alone in the top priority class"
#endif

/* The SMP trampoline page (below 1 MiB, kept from the page allocator by
 * ARCH_LOW_RESERVED); SIPI vector = its page number. */
#define TRAMP_PHYS	0x8000

/* The trampoline's parameter block (struct tramp_params, smp.c): a header, then one
 * slot per CPU being started, found by the waking CPU from its own APIC id. */
#define TP_CR3		0	/* u32: the trampoline PML4, below 4 GiB */
#define TP_X2APIC	4	/* u32: nonzero: APIC ids are x2APIC ids (CPUID 0xb) */
#define TP_KERNEL_CR3	8	/* u64: the kernel's CR3 */
#define TP_SLOTS	16	/* struct tramp_slot[TRAMP_SLOTS] */
#define TRAMP_SLOTS	64
#define SLOT_STATE	0	/* u32: 0 free, 1 armed (the CPU clears it on its way out) */
#define SLOT_HWID	4	/* u32: APIC id of the CPU it is for */
#define SLOT_STACK	8	/* u64: stack_top */
#define SLOT_ENTRY	16	/* u64: entry */
#define SLOT_ARG	24	/* u64: arg */
#define SLOT_SIZE	32

#define EXC_STACK_SIZE	16384	/* IST1, per CPU */
#define IRQ_STACK_SIZE	16384	/* IST2, per CPU */
#define IRQ_NEST_ROOM	4096	/* arch_wait_for_ipi halts on IST2 only with this much
				 * left below it for the nested handlers (cpu.c) */

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arch/smp.h>

struct arch_frame;

/* MSRs */
#define MSR_APIC_BASE		0x1b
#define MSR_TSC_DEADLINE	0x6e0
#define MSR_X2APIC_BASE		0x800	/* x2APIC register r at 0x800 + r/16 */
#define MSR_EFER		0xc0000080
#define MSR_GS_BASE		0xc0000101

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

/*
 * The arch's own per-CPU state, one per kernel CPU index. The kernel's per-CPU
 * pointer (GS base) belongs to the kernel, so the arch finds its own through the
 * GDTR, which is per-CPU already: x86_this_cpu() is one SGDT.
 */
struct x86_cpu {
	uint64_t gdt[5];		/* must stay first: x86_this_cpu() reads it from SGDT */
	struct tss64 tss;		/* IST1 exceptions, IST2 interrupts */
	unsigned index;			/* the kernel's CPU index (0 = boot CPU) */

	/* The timer (timer.c); this CPU only, interrupts off. */
	bool timer_lvt_set;		/* LVT timer programmed on this CPU */
	uint64_t timer_deadline;	/* armed deadline in TSC cycles, 0 = disarmed */
} __attribute__((aligned(64)));

static inline struct x86_cpu *x86_this_cpu(void)
{
	struct desc_ptr p;
	__asm__ volatile("sgdt %0" : "=m"(p));
	return (struct x86_cpu *)p.base;
}

/* cpu.c: the exception stubs (trap.S) and the IDT's second half (vectors 32..255). */
extern const uint64_t x86_trap_stubs[32];
extern const char x86_irq_stubs[];	/* 224 stubs, 16 bytes apart, from vector 32 */

/* trap.c -> irq.c: an interrupt (vector >= 32), on IST2. */
void x86_irq(struct arch_frame *f);
/* irq.c: interrupts that reached no handler (for a debugger or a statistics line). */
extern uint64_t x86_irq_spurious, x86_irq_stray, x86_lapic_errors;
extern uint32_t x86_lapic_last_esr;

/* lapic.c: the local APIC, xAPIC (MMIO) or x2APIC (MSRs). */
#define LAPIC_ID	0x020
#define LAPIC_VERSION	0x030
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0b0
#define LAPIC_LDR	0x0d0
#define LAPIC_DFR	0x0e0
#define LAPIC_SVR	0x0f0
#define LAPIC_ESR	0x280
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_THERM	0x330
#define LAPIC_LVT_PERF	0x340
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERROR	0x370
#define LAPIC_TIMER_ICR	0x380	/* initial count */
#define LAPIC_TIMER_CCR	0x390	/* current count */
#define LAPIC_TIMER_DCR	0x3e0	/* divide configuration */

#define LVT_MASKED	(1u << 16)
#define LVT_NMI		(4u << 8)
#define LVT_TSC_DEADLINE (2u << 17)

#define ICR_FIXED	(0u << 8)
#define ICR_INIT	(5u << 8)
#define ICR_STARTUP	(6u << 8)
#define ICR_BUSY	(1u << 12)
#define ICR_ASSERT	(1u << 14)
#define ICR_LEVEL	(1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18)	/* destination shorthand: every other CPU */

extern bool lapic_x2apic;		/* x2APIC mode (CPUID has it), else xAPIC */
extern volatile uint32_t *lapic_mmio;	/* xAPIC registers; NULL until arch_intc_init */

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
void lapic_eoi(void);
bool lapic_ready(void);
/* Choose xAPIC or x2APIC; check that an integrated local APIC answers (boot CPU). */
int lapic_setup(uintptr_t mmio, char *err, size_t errlen);
/* This CPU's LAPIC: enabled, every LVT masked but LINT1 (NMI) on the boot CPU. */
void lapic_init_cpu(bool boot);
/* Write the ICR (interrupts off inside); false when delivery never went idle. */
bool lapic_send(uint64_t hwid, uint32_t icr_lo);
/* Wait about us microseconds on the cycle counter. */
void x86_delay_us(uint64_t us);

/* ioapic.c: every IOAPIC entry and the 8259 masked. */
int ioapic_init(uintptr_t base, uint32_t gsi_base, unsigned n, char *err, size_t errlen);
void pic_disable(void);

/* timer.c: a timer interrupt; false when it came before the deadline (re-armed). */
bool x86_timer_expired(void);

#endif
#endif
