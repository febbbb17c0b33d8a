/*
 * arch/x86_64/trap.c: from a trap.S frame to the kernel's handler.
 *
 * Exceptions (vectors 0..31) run on IST1 with interrupts off. This turns the vector,
 * error code and CR2 into a struct trap_info and calls the handler the kernel
 * registered; with none registered (a fault before kernel_main got that far) it stops
 * the CPU: nothing can print yet. Interrupts (32..255, on IST2) go to irq.c.
 */
#include <stddef.h>
#include <arch/frame.h>
#include <arch/mmu.h>
#include <arch/ops.h>
#include <arch/smp.h>
#include <arch/trap.h>
#include "trap_common.h"
#include "x86.h"

#define RFLAGS_IF (1ull << 9)

_Static_assert(offsetof(struct arch_frame, r15) == 512 && offsetof(struct arch_frame, rip) == 512 + 17 * 8 &&
	       sizeof(struct arch_frame) == 688, "trap.S builds struct arch_frame by hand");

static trap_handler_fn trap_handler;

void arch_trap_set_handler(trap_handler_fn fn)
{
	trap_handler = fn;
}

void x86_trap(struct arch_frame *f);

void x86_trap(struct arch_frame *f)
{
	if (f->vector >= 32) {
		x86_irq(f);
		return;
	}
	struct trap_info ti = {
		.name = trap_names[f->vector],
		.vector = f->vector,
		.code = f->error,
		.pc = f->rip,
		.sp = f->rsp,
		.fp = f->rbp,
	};
	if (f->vector == 14) {
		uint64_t cr2;
		__asm__ volatile("movq %%cr2, %0" : "=r"(cr2));
		ti.addr = cr2;
		ti.is_mem = true;
		ti.is_write = f->error & 2;
	}
	if (!trap_handler)
		arch_hang();
	trap_handler(&ti, f);
}

void arch_frame_dump(const struct arch_frame *f, int (*printfn)(const char *fmt, ...))
{
	uint64_t cr0, cr2, cr3, cr4;
	__asm__ volatile("movq %%cr0, %0; movq %%cr2, %1; movq %%cr3, %2; movq %%cr4, %3"
			 : "=r"(cr0), "=r"(cr2), "=r"(cr3), "=r"(cr4));
	trap_dump_gprs(f, printfn);
	printfn("rip %016llx rflags %08llx cs %04llx ss %04llx vector %llu error %llx\n",
		(unsigned long long)f->rip, (unsigned long long)f->rflags,
		(unsigned long long)f->cs, (unsigned long long)f->ss,
		(unsigned long long)f->vector, (unsigned long long)f->error);
	printfn("cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n",
		(unsigned long long)cr0, (unsigned long long)cr2,
		(unsigned long long)cr3, (unsigned long long)cr4);
}

/* arch_frame_unrecorded_ret: framecode.c */
uint64_t arch_frame_pc(const struct arch_frame *f) { return f->rip; }
uint64_t arch_frame_sp(const struct arch_frame *f) { return f->rsp; }
uint64_t arch_frame_fp(const struct arch_frame *f) { return f->rbp; }

/* ---- preemption: see preempt.S --------------------------------------------------- */

extern const char x86_preempt_tramp[], x86_preempt_tramp_end[];

bool arch_frame_inject_call(struct arch_frame *f, void (*fn)(void))
{
	if ((f->cs & 3) != 0 || !(f->rflags & RFLAGS_IF) ||
	    (f->rip >= (uint64_t)x86_preempt_tramp && f->rip < (uint64_t)x86_preempt_tramp_end))
		return false;
	uintptr_t *scratch = (uintptr_t *)((char *)arch_percpu() + ARCH_PERCPU_SCRATCH_OFF);
	scratch[0] = f->rip;
	scratch[1] = f->rflags;
	scratch[2] = (uintptr_t)fn;
	f->rip = (uint64_t)x86_preempt_tramp;
	f->rflags &= ~(uint64_t)RFLAGS_IF;
	return true;
}

unsigned arch_frame_gc_areas(const struct arch_frame *f, uint64_t *stack_lo, const void *area[2],
			     uint64_t len[2])
{
	*stack_lo = arch_frame_sp(f);		/* no red zone: -mno-red-zone / AAPCS64 has none */
	area[0] = f;				/* every register the trap entry saved, FP/SIMD included */
	len[0] = sizeof(*f);
	return 1;
}
