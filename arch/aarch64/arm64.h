/*
 * arch/aarch64/arm64.h: what the files of arch/aarch64 share among themselves; not
 * part of the arch contract (the headers in arch/include/arch), never included outside this folder.
 */
#ifndef ARCH_AARCH64_ARM64_H
#define ARCH_AARCH64_ARM64_H

#include <arch/frame.h>

/* SCTLR_EL1 with the MMU and caches off: RES1 bits of ARMv8.0 (EOS, TSCXT, EIS, SPAN,
 * nTLSMD, LSMAOE) | SA | SA0. start.S and secondary.S start every CPU from it. */
#define SCTLR_EL1_OFF	0x30d00818
#define MPIDR_AFF_MASK	0xff00ffffffull	/* Aff3, Aff2, Aff1, Aff0 */

/*
 * What arch_cpu_start (smp.c) hands a secondary CPU through PSCI's context id: the
 * physical address of one of these, read with the MMU off (so cleaned to the point
 * of coherency first). Offsets for secondary.S; smp.c checks them.
 */
#define START_STACK	0	/* stack_top: SP_EL0 for entry */
#define START_ENTRY	8	/* entry(arg) */
#define START_ARG	16
#define START_TTBR1	24	/* the kernel's tables, as the boot CPU has them */
#define START_TCR	32	/* ... its TCR_EL1 with EPD0 clear (the identity map walks) */
#define START_MAIR	40
#define START_TTBR0	48	/* physical root of the identity map of secondary.S */
#define START_SCTLR	56	/* the boot CPU's SCTLR_EL1 (M, C, I, WXN) */
#define START_VBAR	64
#define START_CPU	72	/* this CPU's struct arm64_cpu: TPIDRRO_EL0 */
#define START_EXC_TOP	80	/* top of its exception stack: SP_EL1 */
#define START_HIGH	88	/* secondary_high at its kernel address */
#define START_SIZE	96

#ifdef __ASSEMBLER__
/*
 * The two steps every CPU takes from reset to the kernel's tables, for start.S (the
 * boot CPU, early tables) and secondary.S (the others, the final ones); \tmp is
 * clobbered.
 *
 * el1_defined_state: SCTLR_EL1 defined with the MMU and caches off, this CPU's
 * I-cache and TLB invalidated, FP/SIMD usable at EL1 and EL0 (CPACR_EL1.FPEN).
 */
	.macro	el1_defined_state tmp
	ldr	\tmp, =SCTLR_EL1_OFF
	msr	sctlr_el1, \tmp
	isb
	ic	iallu
	tlbi	vmalle1
	dsb	nsh
	isb
	mov	\tmp, #(3 << 20)
	msr	cpacr_el1, \tmp
	isb
	.endm

/*
 * mmu_on: the translation registers from the given registers, this CPU's TLB
 * dropped, then SCTLR_EL1 (the MMU on): the next instruction is fetched through the
 * new tables.
 */
	.macro	mmu_on mair, tcr, ttbr0, ttbr1, sctlr
	msr	mair_el1, \mair
	msr	tcr_el1, \tcr
	msr	ttbr0_el1, \ttbr0
	msr	ttbr1_el1, \ttbr1
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	msr	sctlr_el1, \sctlr
	isb
	.endm
#endif /* __ASSEMBLER__ */

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arch_frame;

#define READ_SYSREG(r) ({ uint64_t v_; __asm__ volatile("mrs %0, " #r : "=r"(v_)); v_; })
#define WRITE_SYSREG(r, v) __asm__ volatile("msr " #r ", %0" : : "r"((uint64_t)(v)) : "memory")

/*
 * The arch's own per-CPU block, one per CPU that ever ran (smp.c), reached through
 * TPIDRRO_EL0 (TPIDR_EL1 is the kernel's per-CPU pointer, which the arch does not
 * interpret). The vectors need it before anything is saved, to find this CPU's
 * nested stack; so it is set before VBAR_EL1 on every CPU (start.S, secondary.S).
 * TPIDRRO_EL0 is an EL0 register, free because no EL0 code exists.
 */
struct arm64_cpu {
	char *nested_base;	/* CPU_NESTED_BASE: bottom of the nested-exception stack */
	char *exc_base;		/* CPU_EXC_BASE: bottom of the SP_EL1 stack */
	char *exc_top;
	uint64_t hwid;		/* MPIDR affinity bits */
	uintptr_t gicr_rd;	/* this CPU's GICv3 redistributor (RD_base), 0 until found */
	unsigned cpu;		/* the kernel's index (arch_cpu_init_ap); 0 for the boot CPU */
	bool used;		/* handed to a CPU (arch_cpu_start) */
	int nested_depth;	/* trap.c: nested exceptions being reported */
	char nested_name[48];	/* trap.c: "nested <what>" */
};

extern struct arm64_cpu arm64_cpus[];

static inline struct arm64_cpu *arm64_cpu_this(void)
{
	return (struct arm64_cpu *)READ_SYSREG(tpidrro_el0);
}

/* vectors.S: the VBAR_EL1 table; trap.c: its C half. */
extern const char arm64_vectors[];
void arm64_trap(struct arch_frame *f);

/* power.c: the semihosting call and the address of its `hlt #0xf000`, which trap.c
 * skips when there is no semihosting host (and then sets arm64_semihost_trapped). */
uint64_t arm64_semihost(uint64_t op, const void *arg);
extern const uint32_t arm64_semihost_hlt[];
extern bool arm64_semihost_trapped;

/* uart.c: wait until the PL011 has sent everything (bounded). */
void pl011_drain(void);

/* mmu_switch.S: load TTBR1 through the identity map (see mmu.c). */
void arm64_ttbr1_replace(uint64_t ttbr1, uint64_t tcr);

/* psci.c: a PSCI call through the conduit arch_firmware_init recorded; returns x0,
 * or PSCI_NOT_SUPPORTED when there is no conduit. */
#define PSCI_NOT_SUPPORTED	(-1)
int64_t arm64_psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
bool arm64_psci_present(void);

/* gicv3.c: an IRQ exception, from arm64_trap (SP_EL0 group) or from the nested IRQ
 * path of vectors.S (arm64_irq_nested); also the redistributor lookup smp.c checks
 * before it starts a CPU (0 when there is none, or no GIC yet). */
void arm64_irq(struct arch_frame *f);
uintptr_t gicv3_find_redist(uint64_t hwid);
bool gicv3_ready(void);
/* Whether an SGI can name the CPU hwid (Aff0 16..255 needs ICC_CTLR_EL1.RSS). */
bool gicv3_can_target(uint64_t hwid);

/* timer.c: on the timer's interrupt, disable the timer (no storm if the kernel does
 * not re-arm it); true when it really fired (enabled and its condition met). */
bool arm64_timer_fired(void);

/* Clean [va, va+len) from the data caches to the point of coherency (smp.c). */
void arm64_dcache_clean_poc(const void *va, size_t len);

/* secondary.S: where PSCI starts a secondary CPU (physical address, MMU off). */
extern const char arm64_secondary_entry[], arm64_secondary_entry_end[], arm64_secondary_high[];

/* The nested-IRQ path of vectors.S (gicv3.c). */
void arm64_irq_nested(struct arch_frame *f);
#endif /* !__ASSEMBLER__ */

#endif
