/*
 * arch/x86_64/lapic.c: the local APIC: enable, IPIs, EOI, identity.
 *
 * Two register interfaces, chosen once by arch_intc_init:
 *   x2APIC  MSR 0x800 + reg/16, when CPUID.1:ECX[21] says the CPU has it;
 *   xAPIC   MMIO at the address the MADT gave (the kernel maps it as device memory).
 * QEMU TCG has no x2APIC, so the xAPIC path is the one that runs there; the x2APIC one
 * is for real machines, where it is also the only way to name APIC ids above 254.
 * The differences that matter here: an x2APIC id is 32 bits and the ID register holds
 * it as is (xAPIC: bits 31:24); the ICR is a single 64-bit MSR write with no delivery
 * status to wait for (xAPIC: ICR high, then ICR low, then wait until idle); there is
 * no DFR.
 *
 * Destinations are physical APIC ids everywhere: the kernel's hwid, from the MADT;
 * a broadcast (arch_ipi_broadcast) uses the ICR's all-excluding-self shorthand instead.
 * The task priority is 0 except while a CPU waits for IPIs only (cpu.c, x86.h).
 * Every LVT entry is masked but the error vector and, on the boot CPU only, LINT1 as
 * NMI (the usual PC wiring; APs leave it masked, as Linux does); LINT0 (the 8259's
 * ExtINT path) is masked on every CPU: device interrupts come through the IOAPIC.
 */
#include <stdio.h>
#include <arch/ops.h>
#include <arch/irq.h>
#include <arch/smp.h>
#include "x86.h"

#define APIC_BASE_EXTD	(1ull << 10)	/* x2APIC mode */
#define APIC_BASE_EN	(1ull << 11)	/* globally enabled */
#define SVR_ENABLE	(1u << 8)

#define ICR_WAIT_US	1000		/* delivery takes well under a microsecond */

bool lapic_x2apic;
volatile uint32_t *lapic_mmio;

uint32_t lapic_read(uint32_t reg)
{
	if (lapic_x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_BASE + (reg >> 4));
	return lapic_mmio[reg / 4];
}

void lapic_write(uint32_t reg, uint32_t v)
{
	if (lapic_x2apic)
		wrmsr(MSR_X2APIC_BASE + (reg >> 4), v);
	else
		lapic_mmio[reg / 4] = v;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

bool lapic_ready(void)
{
	return lapic_x2apic || lapic_mmio;
}

static bool cpu_has_x2apic(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	return r[2] & (1u << 21);
}

int lapic_setup(uintptr_t mmio, char *err, size_t errlen)
{
	lapic_x2apic = cpu_has_x2apic();
	if (!lapic_x2apic) {
		if (!mmio) {
			snprintf(err, errlen, "interrupts: no local APIC address (MADT) and no x2APIC");
			return -1;
		}
		lapic_mmio = (volatile uint32_t *)mmio;
	}
	uint32_t v = lapic_read(LAPIC_VERSION);
	if (v == 0xffffffffu || (v & 0xff) < 0x10) {
		snprintf(err, errlen, "interrupts: local APIC version register reads 0x%x (no integrated APIC)", v);
		lapic_mmio = NULL;
		lapic_x2apic = false;
		return -1;
	}
	return 0;
}

void lapic_init_cpu(bool boot)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_EN))
		wrmsr(MSR_APIC_BASE, base |= APIC_BASE_EN);
	/* disabled -> x2APIC is not a legal transition, xAPIC -> x2APIC is */
	if (lapic_x2apic && !(base & APIC_BASE_EXTD))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);

	unsigned maxlvt = (lapic_read(LAPIC_VERSION) >> 16) & 0xff;
	if (!lapic_x2apic)
		lapic_write(LAPIC_DFR, 0xffffffffu);	/* flat model; unused: physical mode */
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	x86_this_cpu()->timer_lvt_set = false;		/* timer.c programs it on first use */
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, boot ? LVT_NMI : LVT_MASKED);
	if (maxlvt >= 4)
		lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	if (maxlvt >= 5)
		lapic_write(LAPIC_LVT_THERM, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, VEC_ERROR);
	lapic_write(LAPIC_ESR, 0);	/* twice: the first write latches, the second clears */
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	/* An interrupt the firmware left in service would block its priority class. */
	lapic_eoi();
}

void x86_delay_us(uint64_t us)
{
	uint64_t f = arch_cycles_freq();
	if (!f) {
		for (uint64_t i = 0; i < us * 1000; i++)	/* no clock yet: pause is ~ns-ish */
			arch_cpu_relax();
		return;
	}
	uint64_t start = arch_cycles(), n = us * f / 1000000;
	while (arch_cycles() - start < n)
		arch_cpu_relax();
}

/* xAPIC: wait until the last ICR write has been delivered, at most ICR_WAIT_US. */
static bool icr_idle(void)
{
	if (!(lapic_read(LAPIC_ICR_LO) & ICR_BUSY))
		return true;
	uint64_t f = arch_cycles_freq(), start = arch_cycles();
	uint64_t limit = f ? ICR_WAIT_US * f / 1000000 : 0;
	for (unsigned spins = 0; spins < 10000000u; spins++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_BUSY))
			return true;
		if (f && arch_cycles() - start > limit)
			break;
		arch_cpu_relax();
	}
	return false;
}

/*
 * The ICR is two registers on the xAPIC, so the write pair must not be split by an
 * interrupt handler on this CPU that sends an IPI of its own: interrupts are off
 * inside. Other CPUs have their own ICR; nothing is shared.
 */
bool lapic_send(uint64_t hwid, uint32_t icr_lo)
{
	unsigned long s = arch_irq_save();
	bool ok = true;
	if (lapic_x2apic) {
		/* WRMSR to the x2APIC is not serializing: the stores the IPI announces
		 * (a queued call, a flag) must be visible before it arrives. */
		__asm__ volatile("mfence" : : : "memory");
		wrmsr(MSR_X2APIC_BASE + (LAPIC_ICR_LO >> 4), (hwid << 32) | icr_lo);
	} else {
		ok = icr_idle();
		lapic_write(LAPIC_ICR_HI, (uint32_t)hwid << 24);
		lapic_write(LAPIC_ICR_LO, icr_lo);
		ok = icr_idle() && ok;
	}
	arch_irq_restore(s);
	return ok;
}

void arch_ipi_send(uint64_t hwid, enum ipi_kind kind)
{
	if ((unsigned)kind >= IPI_KINDS || !lapic_ready())
		return;
	lapic_send(hwid, ICR_FIXED | ICR_ASSERT | (VEC_IPI + (unsigned)kind));
}

/* One ICR write reaches every other CPU (arch/irq.h): the all-excluding-self
 * shorthand, which ignores the destination field on both xAPIC and x2APIC. */
void arch_ipi_broadcast(enum ipi_kind kind)
{
	if ((unsigned)kind >= IPI_KINDS || !lapic_ready())
		return;
	lapic_send(0, ICR_FIXED | ICR_ASSERT | ICR_ALL_BUT_SELF | (VEC_IPI + (unsigned)kind));
}

/* Nothing to ask a CPU that does not answer (arch/irq.h). */
void arch_ipi_unanswered(uint64_t hwid, char *buf, size_t len)
{
	(void)hwid;
	if (len)
		buf[0] = '\0';
}

/*
 * The local APIC id. Before arch_intc_init the registers are not mapped yet: CPUID
 * gives the initial id (leaf 0xb: the full 32-bit x2APIC id; leaf 1: 8 bits), which is
 * what the LAPIC holds unless firmware rewrote it.
 */
uint64_t arch_cpu_hwid(void)
{
	uint32_t r[4];
	if (cpu_has_x2apic()) {
		cpuid(0, 0, r);
		if (r[0] >= 0xb) {
			cpuid(0xb, 0, r);
			return r[3];
		}
	}
	if (lapic_mmio)
		return lapic_mmio[LAPIC_ID / 4] >> 24;
	cpuid(1, 0, r);
	return r[1] >> 24;
}
