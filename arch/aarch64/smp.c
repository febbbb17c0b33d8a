/*
 * arch/aarch64/smp.c: per-CPU blocks and stacks, and starting secondary CPUs.
 *
 * Every CPU that runs kernel code owns a struct arm64_cpu (arm64.h) and, for the
 * secondaries, a pair of stacks from ap_stacks below (the boot CPU's are in start.S):
 *
 *   ap_stacks[i]:  | nested stack (16 KiB) | exception stack, SP_EL1 (16 KiB) |
 *                  low                                                    high
 *
 * Blocks are handed out by arch_cpu_start, one per hardware id for the life of the
 * image: a CPU that is started again (after a refused or a lost start) gets the same
 * block, so a late arrival never lands on another CPU's stacks. The block is found
 * through TPIDRRO_EL0, which secondary.S sets before the CPU's first exception can
 * happen; the kernel's own per-CPU pointer is TPIDR_EL1 (arch_percpu, ops_impl.h).
 *
 * Starting a CPU (PSCI CPU_ON, DEN0022): the target MPIDR, the physical address of
 * arm64_secondary_entry (secondary.S) and a context id, here the physical address of
 * the CPU's struct arm64_start: stack, entry, argument and the boot CPU's MMU
 * registers. The started CPU reads that block with its MMU and caches off, straight
 * from memory, so it is cleaned to the point of coherency before the call. For the
 * one instruction after its MMU comes on it needs its code mapped at its physical
 * address: a three-page identity map (L0, L1, one L2 entry) of the 2 MiB block that
 * holds the entry code, read-only and executable, built on the first start.
 * Rejected: reusing start.S's early identity map: its 1 GiB blocks are writable, which
 * WXN (in the SCTLR the secondary copies) makes non-executable, and they map device
 * space as normal memory, open to speculative reads on real hardware.
 *
 * Context: arch_cpu_start on the boot CPU, one start at a time, final page tables
 * active (arch/smp.h). arch_cpu_init_ap on the started CPU, interrupts off.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <arch/ops.h>
#include <arch/noscan.h>
#include <arch/smp.h>
#include "arm64.h"

#define PSCI_VERSION		0x84000000u
#define PSCI_CPU_ON_64		0xc4000003u

#define TCR_EPD0		(1ull << 7)

/* Identity-map descriptors: table; block = valid, AttrIndx 1 (normal), SH inner,
 * AF, AP read-only (AP[2]), executable at EL1 (PXN clear), UXN. */
#define DESC_TABLE		0x3ull
#define IDMAP_BLOCK		(0x1ull | (1ull << 2) | (1ull << 7) | (3ull << 8) | (1ull << 10) | (1ull << 54))

struct arm64_start {
	uint64_t stack_top, entry, arg;
	uint64_t ttbr1, tcr, mair, ttbr0, sctlr;
	uint64_t vbar, cpu, exc_top, high;
} __attribute__((aligned(128)));	/* a cache line (or two) of its own */

_Static_assert(offsetof(struct arm64_start, stack_top) == START_STACK, "arm64.h: START_STACK");
_Static_assert(offsetof(struct arm64_start, entry) == START_ENTRY, "arm64.h: START_ENTRY");
_Static_assert(offsetof(struct arm64_start, arg) == START_ARG, "arm64.h: START_ARG");
_Static_assert(offsetof(struct arm64_start, ttbr1) == START_TTBR1, "arm64.h: START_TTBR1");
_Static_assert(offsetof(struct arm64_start, tcr) == START_TCR, "arm64.h: START_TCR");
_Static_assert(offsetof(struct arm64_start, mair) == START_MAIR, "arm64.h: START_MAIR");
_Static_assert(offsetof(struct arm64_start, ttbr0) == START_TTBR0, "arm64.h: START_TTBR0");
_Static_assert(offsetof(struct arm64_start, sctlr) == START_SCTLR, "arm64.h: START_SCTLR");
_Static_assert(offsetof(struct arm64_start, vbar) == START_VBAR, "arm64.h: START_VBAR");
_Static_assert(offsetof(struct arm64_start, cpu) == START_CPU, "arm64.h: START_CPU");
_Static_assert(offsetof(struct arm64_start, exc_top) == START_EXC_TOP, "arm64.h: START_EXC_TOP");
_Static_assert(offsetof(struct arm64_start, high) == START_HIGH, "arm64.h: START_HIGH");
_Static_assert(offsetof(struct arm64_start, high) + 8 == START_SIZE, "arm64.h: START_SIZE");
_Static_assert(offsetof(struct arm64_cpu, nested_base) == CPU_NESTED_BASE, "frame.h: CPU_NESTED_BASE");
_Static_assert(offsetof(struct arm64_cpu, exc_base) == CPU_EXC_BASE, "frame.h: CPU_EXC_BASE");

extern char nested_stack[], exc_stack[], exc_stack_top[];	/* start.S */

struct arm64_cpu arm64_cpus[ARCH_MAX_CPUS] = {
	[0] = {
		.nested_base = nested_stack,
		.exc_base = exc_stack,
		.exc_top = exc_stack_top,
		.used = true,
	},
};

static char ap_stacks[ARCH_MAX_CPUS - 1][NESTED_STACK_SIZE + EXC_STACK_SIZE] __attribute__((aligned(16)));
NOSCAN(ap_stacks);
extern char boot_stack_top[];			/* start.S: nested, exception, boot, in order */
NOSCAN_RANGE(boot_cpu_stacks, nested_stack, boot_stack_top);
static struct arm64_start ap_start[ARCH_MAX_CPUS];
static uint64_t idmap[3][512] __attribute__((aligned(4096)));	/* L0, L1, L2 */
static uint64_t idmap_root;		/* physical address of idmap[0], once built */

static char start_error[96];

/* Why the last arch_cpu_start failed (empty after a success). */
const char *arch_cpu_start_error(void)
{
	return start_error;
}

/* Record why a start failed; returns -1 for the caller to return. */
__attribute__((format(printf, 1, 2)))
static int start_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(start_error, sizeof(start_error), fmt, ap);
	va_end(ap);
	return -1;
}

/* The name of a PSCI return code (DEN0022 5.2.2). */
static const char *psci_error_name(int32_t r)
{
	static const char *const names[] = {
		"SUCCESS", "NOT_SUPPORTED", "INVALID_PARAMETERS", "DENIED", "ALREADY_ON",
		"ON_PENDING", "INTERNAL_FAILURE", "NOT_PRESENT", "DISABLED", "INVALID_ADDRESS",
	};
	return r <= 0 && r >= -9 ? names[-r] : "unknown error";
}

/* dc cvac by line (CTR_EL0.DminLine) over the range, then a full-system dsb. */
void arm64_dcache_clean_poc(const void *va, size_t len)
{
	uint64_t ctr = READ_SYSREG(ctr_el0);
	uint64_t line = 4ull << ((ctr >> 16) & 0xf);	/* DminLine: log2 of words */
	uint64_t a = (uint64_t)va & ~(line - 1), end = (uint64_t)va + len;

	__asm__ volatile("dsb ish" : : : "memory");
	for (; a < end; a += line)
		__asm__ volatile("dc cvac, %0" : : "r"(a) : "memory");
	__asm__ volatile("dsb sy" : : : "memory");
}

/* The physical address behind a kernel address (final tables), 0 if unmapped. */
static uint64_t kernel_pa(const void *va)
{
	uint64_t pa;
	unsigned f;
	return arch_mmu_query((uint64_t)va, &pa, &f) ? pa : 0;
}

/* Build the identity map of the 2 MiB block holding secondary.S's entry code. */
static int idmap_build(void)
{
	uint64_t entry = kernel_pa(arm64_secondary_entry);
	uint64_t end = kernel_pa((const void *)((uintptr_t)arm64_secondary_entry_end - 1));
	uint64_t block = entry & ~(LARGE_PAGE_SIZE - 1);
	uint64_t l0 = kernel_pa(idmap[0]), l1 = kernel_pa(idmap[1]), l2 = kernel_pa(idmap[2]);

	if (idmap_root)
		return 0;
	if (!entry || !l0 || !l1 || !l2)
		return start_fail("the secondary entry or its identity map is unmapped");
	if ((end & ~(LARGE_PAGE_SIZE - 1)) != block || (entry >> 48))
		return start_fail("the secondary entry at 0x%llx cannot be identity-mapped",
				  (unsigned long long)entry);
	idmap[0][(entry >> 39) & 511] = l1 | DESC_TABLE;
	idmap[1][(entry >> 30) & 511] = l2 | DESC_TABLE;
	idmap[2][(entry >> 21) & 511] = block | IDMAP_BLOCK;
	arm64_dcache_clean_poc(idmap, sizeof(idmap));
	idmap_root = l0;
	return 0;
}

/* The block for hwid: the one it had before, else a fresh one; NULL when all are taken. */
static struct arm64_cpu *block_for(uint64_t hwid, unsigned *index)
{
	unsigned fresh = 0;
	for (unsigned i = 1; i < ARCH_MAX_CPUS; i++) {
		if (arm64_cpus[i].used && arm64_cpus[i].hwid == hwid) {
			*index = i;
			return &arm64_cpus[i];
		}
		if (!arm64_cpus[i].used && !fresh)
			fresh = i;
	}
	if (!fresh)
		return NULL;
	struct arm64_cpu *c = &arm64_cpus[fresh];
	c->nested_base = ap_stacks[fresh - 1];
	c->exc_base = c->nested_base + NESTED_STACK_SIZE;
	c->exc_top = c->exc_base + EXC_STACK_SIZE;
	c->hwid = hwid;
	c->gicr_rd = 0;
	c->cpu = 0;
	c->nested_depth = 0;
	*index = fresh;
	return c;
}

/* PSCI CPU_ON for hwid with its start block and stacks (see the top). */
int arch_cpu_start(uint64_t hwid, uintptr_t stack_top, void (*entry)(void *), void *arg)
{
	static bool version_ok;
	unsigned i;

	start_error[0] = '\0';
	hwid &= MPIDR_AFF_MASK;
	if (!arm64_psci_present())
		return start_fail("no PSCI conduit (the device tree has no /psci node)");
	if (!version_ok) {
		int64_t v = arm64_psci_call(PSCI_VERSION, 0, 0, 0);
		if (v < 0 || (uint32_t)v < 0x2)	/* 0.1 has no PSCI_VERSION and other ids */
			return start_fail("PSCI 0.1 firmware (CPU_ON by its own function id) not supported yet");
		version_ok = true;
	}
	if (hwid == arch_cpu_hwid())
		return start_fail("MPIDR 0x%llx is the calling CPU", (unsigned long long)hwid);
	if (gicv3_ready() && !gicv3_find_redist(hwid))
		return start_fail("GICv3: no redistributor for MPIDR 0x%llx", (unsigned long long)hwid);
	if (gicv3_ready() && !gicv3_can_target(hwid))
		return start_fail("GICv3: MPIDR 0x%llx has Aff0 %llu, and this GIC's SGIs reach Aff0 0..15 "
				  "only (ICC_CTLR_EL1.RSS 0): no IPI could reach it",
				  (unsigned long long)hwid, (unsigned long long)(hwid & 0xff));
	if (idmap_build())
		return -1;
	struct arm64_cpu *c = block_for(hwid, &i);
	if (!c)
		return start_fail("no per-CPU stacks left (%d CPUs)", ARCH_MAX_CPUS);

	struct arm64_start *s = &ap_start[i];
	*s = (struct arm64_start){
		.stack_top = stack_top,
		.entry = (uint64_t)entry,
		.arg = (uint64_t)arg,
		.ttbr1 = READ_SYSREG(ttbr1_el1),
		.tcr = READ_SYSREG(tcr_el1) & ~TCR_EPD0,
		.mair = READ_SYSREG(mair_el1),
		.ttbr0 = idmap_root,
		.sctlr = READ_SYSREG(sctlr_el1),
		.vbar = (uint64_t)arm64_vectors,
		.cpu = (uint64_t)c,
		.exc_top = (uint64_t)c->exc_top,
		.high = (uint64_t)arm64_secondary_high,
	};
	uint64_t s_pa = kernel_pa(s), entry_pa = kernel_pa(arm64_secondary_entry);
	if (!s_pa)
		return start_fail("the start block is unmapped");
	bool was_used = c->used;
	c->used = true;
	arm64_dcache_clean_poc(s, sizeof(*s));
	int32_t r = (int32_t)arm64_psci_call(PSCI_CPU_ON_64, hwid, entry_pa, s_pa);
	if (r != 0) {
		c->used = was_used;
		return start_fail("PSCI CPU_ON for MPIDR 0x%llx: %s (%d)", (unsigned long long)hwid,
				  psci_error_name(r), (int)r);
	}
	return 0;
}

/* First thing on a secondary: secondary.S did the rest; note the kernel's index,
 * mask everything, vectors again, the virtual timer off. */
void arch_cpu_init_ap(unsigned cpu)
{
	struct arm64_cpu *c = arm64_cpu_this();

	__asm__ volatile("msr daifset, #0xf\n\t"
			 "msr vbar_el1, %0\n\t"
			 "msr cntv_ctl_el0, xzr\n\t"
			 "isb" : : "r"(arm64_vectors) : "memory");
	c->cpu = cpu;
}
