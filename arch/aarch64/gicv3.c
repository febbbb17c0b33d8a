/*
 * arch/aarch64/gicv3.c: the GICv3 interrupt controller, IPIs and interrupt dispatch.
 *
 * A GICv3 has three parts (ARM IHI 0069):
 *   distributor     one, memory-mapped (GICD_*): shared peripheral interrupts (SPIs,
 *                   INTID 32..1019): group, priority, enable, routing;
 *   redistributors  one per CPU, memory-mapped frames in the GICR region (GICR_*):
 *                   each CPU's SGIs (0..15, the IPIs) and PPIs (16..31, the timer);
 *                   found by walking the frames for the one whose GICR_TYPER affinity
 *                   is the CPU's MPIDR;
 *   CPU interface   system registers (ICC_*_EL1): acknowledge (IAR1), end (EOIR1),
 *                   priority mask (PMR), group enable, and sending SGIs (SGI1R).
 * Everything is Non-secure group 1 (the only group EL1 owns when the firmware keeps
 * a secure state; with one security state, GICD_CTLR.DS = 1, the same settings make
 * it so), routing by affinity (ARE). Device interrupts start disabled and stay so
 * until a driver claims one (none yet).
 *
 * Priorities (lower is more urgent), two levels:
 *   GIC_PRIO_SGI  0x80  SGIs, the IPIs
 *   GIC_PRIO      0xa0  PPIs (the timer) and SPIs (devices)
 * The priority mask ICC_PMR_EL1 is 0xff (everything signalled) except while a CPU
 * waits for IPIs only (arch_wait_for_ipi): then GIC_PMR_IPI_ONLY (0xa0), which lets
 * through only what is more urgent than 0xa0, the SGIs; the CPU interface neither
 * signals the rest nor lets it wake the wfi, and it stays pending for later. QEMU's
 * GICv3 implements 5 priority bits, real ones at least 4 (ICC_CTLR_EL1.PRIbits):
 * 0x80 and 0xa0 differ in the top 3, so they are distinct everywhere. Preemption by
 * priority never happens: handlers run with PSTATE.I set, and each interrupt is
 * ended before its handler (below), so the running priority stays idle.
 *
 * The kernel's numbers (arch/irq.h): SGI k < IPI_KINDS -> IRQ_IPI(k); the virtual
 * timer PPI -> IRQ_TIMER; SPI n -> IRQ_DEVICE(n - 32); 1020..1023 are "nothing
 * pending" (spurious) and not acknowledged.
 *
 * Order of ending. An IPI and the timer are ended (EOIR, which with EOImode 0 drops
 * the running priority and deactivates) before the kernel's handler runs: a handler
 * may wait, with interrupts unmasked (arch_wait_for_interrupt), for another IPI, which
 * the GIC would hold back while the running priority stayed at the first one's.
 * Nothing is lost: an SGI sent meanwhile is pending again and taken after the handler.
 * The timer is level-sensitive, so it is disabled first (timer.c), which drops its
 * line. An SPI is ended after its handler (a driver will mask its device first).
 * A few interrupts are handled per exception (IRQ_BATCH), then the rest retrigger.
 *
 * GICv2 (Raspberry Pi 4) is not supported yet: arch_intc_init refuses it by name.
 * Every wait on the GIC (RWP, the redistributor waking up) is bounded.
 */
#include <stdio.h>
#include <arch/gicv3_sgi.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include <arch/smp.h>
#include "arm64.h"

/* Distributor */
#define GICD_CTLR		0x0000
#define GICD_TYPER		0x0004
#define GICD_IGROUPR		0x0080
#define GICD_ISENABLER		0x0100
#define GICD_ICENABLER		0x0180
#define GICD_ICPENDR		0x0280
#define GICD_ICACTIVER		0x0380
#define GICD_IPRIORITYR		0x0400
#define GICD_ICFGR		0x0c00
#define GICD_IGRPMODR		0x0d00
#define GICD_IROUTER		0x6000
#define GICD_PIDR2		0xffe8
#define GICD_CTLR_ENABLE_G1	(1u << 0)	/* NS view: EnableGrp1; DS=1: EnableGrp0 */
#define GICD_CTLR_ENABLE_G1A	(1u << 1)	/* NS view: EnableGrp1A; DS=1: EnableGrp1 */
#define GICD_CTLR_ARE_NS	(1u << 4)	/* affinity routing (ARE when DS=1) */
#define GICD_CTLR_RWP		(1u << 31)

/* Redistributor: RD_base frame, then the SGI_base frame 64 KiB above it */
#define GICR_CTLR		0x0000
#define GICR_TYPER		0x0008
#define GICR_WAKER		0x0014
#define GICR_PIDR2		0xffe8
#define GICR_SGI_BASE		0x10000
#define GICR_IGROUPR0		(GICR_SGI_BASE + 0x0080)
#define GICR_ISENABLER0		(GICR_SGI_BASE + 0x0100)
#define GICR_ICENABLER0		(GICR_SGI_BASE + 0x0180)
#define GICR_ICPENDR0		(GICR_SGI_BASE + 0x0280)
#define GICR_ICACTIVER0		(GICR_SGI_BASE + 0x0380)
#define GICR_IPRIORITYR0	(GICR_SGI_BASE + 0x0400)
#define GICR_IGRPMODR0		(GICR_SGI_BASE + 0x0d00)
#define GICR_CTLR_RWP		(1u << 3)
#define GICR_TYPER_VLPIS	(1ull << 1)
#define GICR_TYPER_LAST		(1ull << 4)
#define GICR_WAKER_SLEEP	(1u << 1)	/* ProcessorSleep */
#define GICR_WAKER_ASLEEP	(1u << 2)	/* ChildrenAsleep */
#define GICR_FRAME_V3		0x20000		/* RD_base + SGI_base */
#define GICR_FRAME_V4		0x40000		/* + VLPI_base + reserved */

/* CPU interface */
#define ICC_SRE_SRE		(1ull << 0)
#define ICC_CTLR_EOIMODE	(1ull << 1)
#define ICC_CTLR_RSS		(1ull << 18)	/* SGIs reach Aff0 16..255 */

#define GIC_PRIO		0xa0		/* PPIs, SPIs */
#define GIC_PRIO4		0xa0a0a0a0u
#define GIC_PRIO_SGI4		0x80808080u	/* SGIs: above everything else */
#define GIC_PMR_ALL		0xff
#define GIC_PMR_IPI_ONLY	GIC_PRIO	/* signal only what is more urgent: SGIs */
#define SGI1R_IRM		(1ull << 40)	/* route to every PE but this one */
#define INTID_SPURIOUS		1020		/* 1020..1023 */
#define IRQ_BATCH		8
#define GIC_WAIT_US		10000		/* RWP and waking: 10 ms */

static struct {
	uintptr_t dist;
	uintptr_t redist;	/* the redistributor region */
	uint64_t redist_size;
	uint32_t timer_ppi;
	uint32_t nlines;	/* INTIDs the distributor implements (32 * (ITLinesNumber + 1)) */
	bool rss;
	bool ready;
} gic;

static irq_handler_fn irq_handler;

/* Device-memory accessors (the GIC's registers are mapped Device-nGnRnE). */
static inline uint32_t rd32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t rd64(uintptr_t a) { return *(volatile uint64_t *)a; }
static inline void wr32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void wr64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

/* Wait until (*reg & mask) == want, at most GIC_WAIT_US. */
static bool wait_reg(uintptr_t reg, uint32_t mask, uint32_t want)
{
	uint64_t f = arch_cycles_freq(), start = arch_cycles();
	uint64_t limit = f ? f / 1000000 * GIC_WAIT_US : 0;

	for (unsigned long n = 0; n < 100000000ul; n++) {
		if ((rd32(reg) & mask) == want)
			return true;
		if (limit && arch_cycles() - start > limit)
			break;
		arch_cpu_relax();
	}
	return (rd32(reg) & mask) == want;
}

/* GICD_PIDR2 / GICR_PIDR2 ArchRev: 1, 2, 3 or 4. */
static unsigned arch_rev(uintptr_t frame)
{
	return (rd32(frame + GICD_PIDR2) >> 4) & 0xf;
}

/* The kernel's dispatcher; set once at boot, before any interrupt is enabled. */
void arch_irq_set_handler(irq_handler_fn fn)
{
	irq_handler = fn;
}

/* Is the distributor up (arch_intc_init succeeded)? */
bool gicv3_ready(void)
{
	return gic.ready;
}

/* Walk the redistributor frames for the one whose GICR_TYPER affinity is hwid's;
 * stop at GICR_TYPER.Last, at the end of the region, or at a frame that is not one. */
uintptr_t gicv3_find_redist(uint64_t hwid)
{
	uint64_t aff = ((hwid >> 32) & 0xff) << 24 | (hwid & 0xffffff);
	uint64_t stride = GICR_FRAME_V3;

	if (!gic.redist)
		return 0;
	for (uint64_t off = 0; off + GICR_FRAME_V3 <= gic.redist_size; off += stride) {
		uintptr_t rd = gic.redist + off;
		unsigned rev = arch_rev(rd);
		if (rev != 3 && rev != 4)
			break;	/* not a redistributor frame: the region ends here */
		uint64_t typer = rd64(rd + GICR_TYPER);
		if ((typer >> 32) == aff)
			return rd;
		if (typer & GICR_TYPER_LAST)
			break;
		stride = (typer & GICR_TYPER_VLPIS) ? GICR_FRAME_V4 : GICR_FRAME_V3;
	}
	return 0;
}

/* An SPI: its trigger (GICD_ICFGR, written while it is disabled, as it is since
 * gic_dist_init), routed to this CPU, then enabled. The GIC takes only active-high
 * levels and rising edges on SPIs. */
int arch_irq_line_enable(const struct arch_irq_line *l, char *err, size_t errlen)
{
	uint32_t intid = 32 + l->num;

	if (!gic.ready || intid >= gic.nlines) {
		snprintf(err, errlen, "GICv3: SPI %u (INTID %u) is not one of the %u the distributor has",
			 (unsigned)l->num, (unsigned)intid, gic.ready ? (unsigned)gic.nlines - 32 : 0u);
		return -1;
	}
	if (l->active_low) {
		snprintf(err, errlen, "GICv3: SPI %u is active-low or falling-edge, which the GIC "
			 "cannot take", (unsigned)l->num);
		return -1;
	}
	uintptr_t d = gic.dist, cfg = d + GICD_ICFGR + 4 * (intid / 16);
	unsigned shift = 2 * (intid % 16) + 1;
	unsigned long irq = arch_irq_save();
	wr32(cfg, (rd32(cfg) & ~(1u << shift)) | (l->level ? 0 : 1u << shift));
	wr64(d + GICD_IROUTER + 8 * intid, arch_cpu_hwid());
	wr32(d + GICD_ISENABLER + 4 * (intid / 32), 1u << (intid % 32));
	arch_irq_restore(irq);
	return 0;
}

/* The distributor: every SPI group 1, priority GIC_PRIO, disabled, inactive, not
 * pending, routed to this CPU; then affinity routing and group 1 on. */
static int gic_dist_init(char *err, size_t errlen)
{
	uintptr_t d = gic.dist;
	uint64_t self = arch_cpu_hwid();

	wr32(d + GICD_CTLR, 0);
	if (!wait_reg(d + GICD_CTLR, GICD_CTLR_RWP, 0))
		goto stuck;
	gic.nlines = 32 * ((rd32(d + GICD_TYPER) & 0x1f) + 1);
	if (gic.nlines > 1020)
		gic.nlines = 1020;
	for (uint32_t i = 32; i < gic.nlines; i += 32) {
		wr32(d + GICD_ICENABLER + i / 8, ~0u);
		wr32(d + GICD_ICPENDR + i / 8, ~0u);
		wr32(d + GICD_ICACTIVER + i / 8, ~0u);
		wr32(d + GICD_IGROUPR + i / 8, ~0u);
		wr32(d + GICD_IGRPMODR + i / 8, 0);
	}
	for (uint32_t i = 32; i < gic.nlines; i += 4)
		wr32(d + GICD_IPRIORITYR + i, GIC_PRIO4);
	for (uint32_t i = 32; i < gic.nlines; i++)	/* Aff3.Aff2.Aff1.Aff0, IRM = 0 */
		wr64(d + GICD_IROUTER + 8 * i, self);
	if (!wait_reg(d + GICD_CTLR, GICD_CTLR_RWP, 0))
		goto stuck;
	wr32(d + GICD_CTLR, GICD_CTLR_ARE_NS);
	if (!wait_reg(d + GICD_CTLR, GICD_CTLR_RWP, 0))
		goto stuck;
	wr32(d + GICD_CTLR, GICD_CTLR_ARE_NS | GICD_CTLR_ENABLE_G1A | GICD_CTLR_ENABLE_G1);
	if (!wait_reg(d + GICD_CTLR, GICD_CTLR_RWP, 0))
		goto stuck;
	if (!(rd32(d + GICD_CTLR) & GICD_CTLR_ARE_NS)) {
		snprintf(err, errlen, "GICv3: the distributor refuses affinity routing (GICD_CTLR 0x%x)",
			 (unsigned)rd32(d + GICD_CTLR));
		return -1;
	}
	return 0;
stuck:
	snprintf(err, errlen, "GICv3: distributor register writes never complete (GICD_CTLR.RWP)");
	return -1;
}

/* This CPU's redistributor (awake; SGIs and PPIs group 1, SGI 0..3 and the timer
 * enabled) and its CPU interface (system registers on, every priority unmasked). */
static int gic_cpu_init(char *err, size_t errlen)
{
	struct arm64_cpu *me = arm64_cpu_this();
	uint64_t hwid = arch_cpu_hwid();
	uintptr_t rd = gicv3_find_redist(hwid);

	if (!rd) {
		snprintf(err, errlen, "GICv3: redistributor for MPIDR 0x%llx not found",
			 (unsigned long long)hwid);
		return -1;
	}
	me->gicr_rd = rd;
	wr32(rd + GICR_WAKER, rd32(rd + GICR_WAKER) & ~GICR_WAKER_SLEEP);
	if (!wait_reg(rd + GICR_WAKER, GICR_WAKER_ASLEEP, 0)) {
		snprintf(err, errlen, "GICv3: redistributor of MPIDR 0x%llx does not wake up",
			 (unsigned long long)hwid);
		return -1;
	}
	wr32(rd + GICR_ICENABLER0, ~0u);
	if (!wait_reg(rd + GICR_CTLR, GICR_CTLR_RWP, 0)) {
		snprintf(err, errlen, "GICv3: redistributor of MPIDR 0x%llx: writes never complete",
			 (unsigned long long)hwid);
		return -1;
	}
	wr32(rd + GICR_ICPENDR0, ~0u);
	wr32(rd + GICR_ICACTIVER0, ~0u);
	wr32(rd + GICR_IGROUPR0, ~0u);
	wr32(rd + GICR_IGRPMODR0, 0);
	for (unsigned i = 0; i < 32; i += 4)	/* SGIs 0..15, then the PPIs */
		wr32(rd + GICR_IPRIORITYR0 + i, i < 16 ? GIC_PRIO_SGI4 : GIC_PRIO4);
	wr32(rd + GICR_ISENABLER0, ((1u << IPI_KINDS) - 1) | (1u << gic.timer_ppi));

	WRITE_SYSREG(icc_sre_el1, READ_SYSREG(icc_sre_el1) | ICC_SRE_SRE);
	__asm__ volatile("isb" : : : "memory");
	if (!(READ_SYSREG(icc_sre_el1) & ICC_SRE_SRE)) {
		snprintf(err, errlen, "GICv3: the system-register CPU interface is disabled (ICC_SRE_EL1.SRE stays 0)");
		return -1;
	}
	WRITE_SYSREG(icc_pmr_el1, GIC_PMR_ALL);
	WRITE_SYSREG(icc_bpr1_el1, 0);
	uint64_t ctlr = READ_SYSREG(icc_ctlr_el1) & ~ICC_CTLR_EOIMODE;
	WRITE_SYSREG(icc_ctlr_el1, ctlr);
	gic.rss = ctlr & ICC_CTLR_RSS;		/* the same on every CPU */
	WRITE_SYSREG(icc_igrpen1_el1, 1);
	__asm__ volatile("isb" : : : "memory");
	return 0;
}

/*
 * Which GIC is this? Asked of the hardware without touching anything a GICv2 does
 * not map: a CPU without the GICv3 system-register interface (ID_AA64PFR0_EL1.GIC)
 * cannot use this driver; a GICv2 distributor is 4 KiB with its ICPIDR2 at 0xfe8
 * (reserved, reading 0, in a GICv3's); only then GICD_PIDR2 at 0xffe8.
 */
static int gic_check_version(const struct arch_intc_config *c, char *err, size_t errlen)
{
	const char *why = NULL;

	if (!c->gicr || !c->gicr_size)
		why = "no GICv3 redistributors";
	else if (!((READ_SYSREG(id_aa64pfr0_el1) >> 24) & 0xf))
		why = "this CPU has no GICv3 system-register interface";
	else if (((rd32(c->gicd + 0xfe8) >> 4) & 0xf) == 2)
		why = "the distributor's ICPIDR2 says GICv2";
	if (why) {
		snprintf(err, errlen, "GICv2 not supported yet (%s)", why);
		return -1;
	}
	unsigned rev = arch_rev(c->gicd);
	if (rev != 3 && rev != 4) {
		snprintf(err, errlen, "GICv3: distributor reports architecture revision %u", rev);
		return -1;
	}
	return 0;
}

/* The boot CPU: check the GIC, then the distributor and this CPU's parts. */
int arch_intc_init(const struct arch_intc_config *c, char *err, size_t errlen)
{
	if (!c->gicd) {
		snprintf(err, errlen, "GIC: the device tree describes no interrupt controller");
		return -1;
	}
	if (gic_check_version(c, err, errlen))
		return -1;
	if (c->timer_ppi < 16 || c->timer_ppi >= 32) {
		snprintf(err, errlen, "GICv3: virtual timer interrupt %u is not a PPI (16..31)",
			 (unsigned)c->timer_ppi);
		return -1;
	}
	gic.dist = c->gicd;
	gic.redist = c->gicr;
	gic.redist_size = c->gicr_size;
	gic.timer_ppi = c->timer_ppi;
	if (gic_dist_init(err, errlen) || gic_cpu_init(err, errlen))
		return -1;
	gic.ready = true;
	return 0;
}

/* On a secondary CPU. arch_cpu_start checked that its redistributor exists; a
 * redistributor that does not wake up leaves the CPU stopped here (the kernel's
 * bounded wait for it then reports it). */
void arch_intc_init_cpu(void)
{
	char err[128];

	if (!gic.ready || gic_cpu_init(err, sizeof(err)))
		arch_hang();
}

bool gicv3_can_target(uint64_t hwid)
{
	uint64_t v;
	return gicv3_sgi1r_value(hwid, 0, gic.rss, &v);
}

/* SGI `kind` to the CPU with affinity hwid through ICC_SGI1R_EL1 (arch/gicv3_sgi.h). */
void arch_ipi_send(uint64_t hwid, enum ipi_kind kind)
{
	uint64_t v;
	if (!gic.ready || !gicv3_sgi1r_value(hwid, kind, gic.rss, &v))
		return;		/* no GIC yet; or a CPU smp.c never started (gicv3_can_target) */
	/* Stores before the IPI (the work it announces) visible to the target first. */
	__asm__ volatile("dsb ishst\n\t"
			 "msr icc_sgi1r_el1, %0\n\t"
			 "isb" : : "r"(v) : "memory");
}

/* Every other CPU with one write: IRM = 1 ignores the affinity fields and target list
 * (arch/irq.h; CPUs never brought online may get it too). */
void arch_ipi_broadcast(enum ipi_kind kind)
{
	uint64_t v = SGI1R_IRM | ((uint64_t)kind & 0xf) << 24;

	if (!gic.ready || (unsigned)kind >= IPI_KINDS)
		return;
	__asm__ volatile("dsb ishst\n\t"
			 "msr icc_sgi1r_el1, %0\n\t"
			 "isb" : : "r"(v) : "memory");
}

/* Nothing to ask a CPU that does not answer (arch/irq.h). */
void arch_ipi_unanswered(uint64_t hwid, char *buf, size_t len)
{
	(void)hwid;
	if (len)
		buf[0] = '\0';
}

/*
 * Wait for an IPI with only SGIs signalled (arch/irq.h): the priority mask lets
 * through only the SGIs' priority for the wfi and the unmasked window after it; the
 * timer and devices stay pending. wfi with PSTATE.I set still wakes for a signalled
 * IRQ, so an SGI that came before the wfi ends it at once (no lost wake-up), and the
 * daifclr/isb window takes it, nested on SP_EL1 when called inside a handler
 * (vectors.S irq_spx). There, with less than IRQ_NEST_ROOM of SP_EL1 left, the nested
 * IRQ would not fit: no halt, return at once (the caller's loop spins). Writes to
 * ICC_PMR_EL1 are self-synchronising for the interrupts they mask; the isb after
 * raising it is for the wfi's wake-up condition.
 */
void arch_wait_for_ipi(void)
{
	if (READ_SYSREG(spsel) & 1) {
		struct arm64_cpu *me = arm64_cpu_this();
		uintptr_t sp;
		__asm__ volatile("mov %0, sp" : "=r"(sp));
		if (sp <= (uintptr_t)me->exc_base + IRQ_NEST_ROOM + 256 || sp > (uintptr_t)me->exc_top) {
			arch_cpu_relax();
			return;
		}
	}
	uint64_t pmr = READ_SYSREG(icc_pmr_el1);
	WRITE_SYSREG(icc_pmr_el1, GIC_PMR_IPI_ONLY);
	__asm__ volatile("isb\n\t"
			 "dsb sy\n\t"
			 "wfi\n\t"
			 "msr daifclr, #2\n\t"
			 "isb\n\t"
			 "msr daifset, #2" : : : "memory");
	WRITE_SYSREG(icc_pmr_el1, pmr);
	__asm__ volatile("isb" : : : "memory");
}

/* End an acknowledged interrupt: priority drop and deactivation (EOImode 0). */
static inline void gic_eoi(uint32_t intid)
{
	__asm__ volatile("msr icc_eoir1_el1, %0\n\tisb" : : "r"((uint64_t)intid) : "memory");
}

/* Into the kernel, if it registered a dispatcher yet. */
static inline void call_handler(unsigned irq, struct arch_frame *f)
{
	if (irq_handler)
		irq_handler(irq, f);
}

/* IRQ exception: acknowledge, translate, end, dispatch (see the top for the order). */
void arm64_irq(struct arch_frame *f)
{
	for (unsigned n = 0; n < IRQ_BATCH; n++) {
		uint32_t intid = (uint32_t)READ_SYSREG(icc_iar1_el1) & 0xffffff;
		if (intid >= INTID_SPURIOUS && intid <= 1023)
			return;
		if (intid < 16) {
			gic_eoi(intid);
			if (intid < IPI_KINDS)
				call_handler(IRQ_IPI(intid), f);
		} else if (intid == gic.timer_ppi) {
			bool fired = arm64_timer_fired();
			gic_eoi(intid);
			if (fired)
				call_handler(IRQ_TIMER, f);
		} else if (intid >= 32 && intid < INTID_SPURIOUS) {
			call_handler(IRQ_DEVICE(intid - 32), f);
			gic_eoi(intid);
		} else {
			gic_eoi(intid);	/* another PPI, or an LPI: never enabled, ignored */
		}
	}
}

/* An IRQ taken inside a handler that unmasked them (vectors.S irq_spx): the same. */
void arm64_irq_nested(struct arch_frame *f)
{
	arm64_irq(f);
}
