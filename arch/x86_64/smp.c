/*
 * arch/x86_64/smp.c: starting a secondary CPU with INIT-SIPI-SIPI.
 *
 * A CPU woken by a SIPI starts in real mode at vector << 12, so its first code must
 * lie below 1 MiB: smp_trampoline.S is copied to TRAMP_PHYS (0x8000, reached through
 * the direct map; ARCH_LOW_RESERVED keeps that page from the page allocator), and its
 * parameter block lies right after the code in the same page. The trampoline goes
 * 16-bit -> 32-bit -> long mode on page tables of its own, because the kernel's map
 * nothing in the lower half and paging must be turned on at an identity-mapped
 * address:
 *
 *   tramp_pml4[0]         -> tramp_pdpt -> tramp_pd -> tramp_pt: TRAMP_PHYS only
 *   tramp_pml4[256..511]  =  the kernel's active PML4 entries (image, direct map, ...)
 *
 * They are static .bss; CR3 is loaded from 32-bit code, so they must lie below 4 GiB,
 * which they do because both boot paths load the kernel there (checked anyway). In
 * long mode the CPU jumps to x86_ap_entry in the kernel's text, which loads the
 * kernel's CR3, takes stack_top and calls entry(arg).
 *
 * One trampoline, many CPUs: the block has a slot per CPU being started, and a CPU
 * takes the slot that names its own APIC id, then frees it. So a CPU that wakes late
 * (after the caller gave up on it and went on to the next) still finds its own stack
 * and argument, never another CPU's; a CPU woken by a stray SIPI finds no slot and
 * halts.
 *
 * Timing, as the Intel SDM prescribes (vol. 3A, 8.4.4.1): INIT (assert, and on the
 * xAPIC de-assert), 10 ms, SIPI, 200 us, SIPI. The second SIPI is skipped when the
 * CPU has already taken its slot; a CPU that is past wait-for-SIPI ignores it anyway.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <arch/ops.h>
#include <arch/smp.h>
#include "x86.h"

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_ADDR	0x000ffffffffff000ull

struct tramp_slot {
	uint32_t state;		/* 0 free, 1 armed: written by us, cleared by the CPU */
	uint32_t hwid;
	uint64_t stack, entry, arg;
};

struct tramp_params {
	uint32_t cr3;		/* tramp_pml4, physical */
	uint32_t x2apic;
	uint64_t kernel_cr3;
	struct tramp_slot slot[TRAMP_SLOTS];
};

_Static_assert(offsetof(struct tramp_params, x2apic) == TP_X2APIC &&
	       offsetof(struct tramp_params, kernel_cr3) == TP_KERNEL_CR3 &&
	       offsetof(struct tramp_params, slot) == TP_SLOTS &&
	       offsetof(struct tramp_slot, hwid) == SLOT_HWID &&
	       offsetof(struct tramp_slot, stack) == SLOT_STACK &&
	       offsetof(struct tramp_slot, entry) == SLOT_ENTRY &&
	       offsetof(struct tramp_slot, arg) == SLOT_ARG &&
	       sizeof(struct tramp_slot) == SLOT_SIZE, "smp_trampoline.S reads these offsets");

extern const char x86_tramp_start[], x86_tramp_params[], x86_tramp_end[];

static uint64_t tramp_pml4[512] __attribute__((aligned(4096)));
static uint64_t tramp_pdpt[512] __attribute__((aligned(4096)));
static uint64_t tramp_pd[512] __attribute__((aligned(4096)));
static uint64_t tramp_pt[512] __attribute__((aligned(4096)));
static bool tramp_installed;	/* the parameter block has been cleared once */
static char start_err[128];

const char *arch_cpu_start_error(void)
{
	return start_err;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(start_err, sizeof(start_err), fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("movq %%cr3, %0" : "=r"(v));
	return v;
}

/* Physical address of an object in the kernel image (0 if unmapped). */
static uint64_t image_phys(const void *p)
{
	uint64_t pa;
	unsigned flags;
	return arch_mmu_query((uint64_t)p, &pa, &flags) ? pa : 0;
}

/* The trampoline PML4: the identity page plus the kernel's current upper half. */
static int tables_build(uint32_t *cr3)
{
	uint64_t pml4 = image_phys(tramp_pml4), pdpt = image_phys(tramp_pdpt);
	uint64_t pd = image_phys(tramp_pd), pt = image_phys(tramp_pt);

	if (!pml4 || !pdpt || !pd || !pt)
		return fail("the trampoline's page tables are not mapped");
	if ((pml4 | pdpt | pd | pt) >> 32)
		return fail("the trampoline's page tables lie above 4 GiB (kernel loaded at 0x%llx)",
			    (unsigned long long)image_phys((void *)KERNEL_VBASE));
	const uint64_t *kernel = phys_to_virt(read_cr3() & PTE_ADDR);
	memcpy(&tramp_pml4[256], &kernel[256], 256 * sizeof(uint64_t));
	tramp_pml4[0] = pdpt | PTE_P | PTE_W;
	tramp_pdpt[0] = pd | PTE_P | PTE_W;
	tramp_pd[0] = pt | PTE_P | PTE_W;
	tramp_pt[TRAMP_PHYS >> 12] = TRAMP_PHYS | PTE_P | PTE_W;
	*cr3 = (uint32_t)pml4;
	return 0;
}

/* The slot already armed for hwid (a retry), else a free one. */
static struct tramp_slot *slot_for(struct tramp_params *tp, uint32_t hwid)
{
	struct tramp_slot *free = NULL;
	for (unsigned i = 0; i < TRAMP_SLOTS; i++) {
		struct tramp_slot *s = &tp->slot[i];
		uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (state && s->hwid == hwid)
			return s;
		if (!state && !free)
			free = s;
	}
	return free;
}

static int send_or_fail(struct tramp_slot *s, uint64_t hwid, uint32_t icr, const char *what)
{
	if (lapic_send(hwid, icr))
		return 0;
	__atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);
	return fail("%s to APIC id %llu: never delivered", what, (unsigned long long)hwid);
}

int arch_cpu_start(uint64_t hwid, uintptr_t stack_top, void (*entry)(void *), void *arg)
{
	size_t code = (size_t)(x86_tramp_params - x86_tramp_start);
	struct tramp_params *tp = phys_to_virt(TRAMP_PHYS + code);
	uint64_t pa;
	unsigned flags;
	uint32_t cr3 = 0;

	start_err[0] = '\0';
	if (!lapic_ready())
		return fail("the local APIC is not set up");
	if (!arch_cycles_freq())
		return fail("the cycle counter's frequency (for the INIT/SIPI delays) is unknown");
	if (hwid > (lapic_x2apic ? 0xffffffffull : 0xfeull))
		return fail("APIC id %llu cannot be addressed in %s mode", (unsigned long long)hwid,
			    lapic_x2apic ? "x2APIC" : "xAPIC");
	if (hwid == arch_cpu_hwid())
		return fail("APIC id %llu is the CPU doing the starting", (unsigned long long)hwid);
	if ((size_t)(x86_tramp_end - x86_tramp_start) > PAGE_SIZE)
		return fail("the trampoline is larger than a page");
	if (!arch_mmu_query((uint64_t)phys_to_virt(TRAMP_PHYS), &pa, &flags) || pa != TRAMP_PHYS ||
	    !(flags & MMU_WRITE))
		return fail("the trampoline page 0x%x is not RAM in the direct map", TRAMP_PHYS);
	if (tables_build(&cr3))
		return -1;

	if (!tramp_installed) {
		memset(tp, 0, sizeof(*tp));
		tramp_installed = true;
	}
	memcpy(phys_to_virt(TRAMP_PHYS), x86_tramp_start, code);	/* same bytes every time */
	struct tramp_slot *s = slot_for(tp, (uint32_t)hwid);
	if (!s)
		return fail("every trampoline slot is held by a CPU that never arrived");
	tp->cr3 = cr3;
	tp->x2apic = lapic_x2apic;
	tp->kernel_cr3 = read_cr3();
	__atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);	/* a retry: not armed while written */
	s->hwid = (uint32_t)hwid;
	s->stack = stack_top;
	s->entry = (uint64_t)entry;
	s->arg = (uint64_t)arg;
	__atomic_store_n(&s->state, 1, __ATOMIC_RELEASE);

	if (!lapic_x2apic)
		lapic_write(LAPIC_ESR, 0);
	if (send_or_fail(s, hwid, ICR_INIT | ICR_LEVEL | ICR_ASSERT, "INIT"))
		return -1;
	if (!lapic_x2apic && send_or_fail(s, hwid, ICR_INIT | ICR_LEVEL, "INIT de-assert"))
		return -1;
	x86_delay_us(10000);
	for (int i = 0; i < 2; i++) {
		if (i == 1 && __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == 0)
			break;		/* it took its slot after the first SIPI */
		if (send_or_fail(s, hwid, ICR_STARTUP | (TRAMP_PHYS >> 12), "SIPI"))
			return -1;
		x86_delay_us(200);
	}
	return 0;
}
