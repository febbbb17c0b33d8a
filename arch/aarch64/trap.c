/*
 * arch/aarch64/trap.c: from a vectors.S frame to the kernel's handler.
 *
 * Runs on SP_EL1 with D, A, I and F masked (the CPU sets them on exception entry).
 * ESR_EL1 says what happened: its exception class (EC, bits 31:26) names the trap,
 * and for aborts the syndrome (ISS) says read or write (WnR) and which fault (DFSC).
 * The kernel's handler gets a struct trap_info:
 *   vector  the EC for synchronous exceptions and SError; ARM64_VEC_IRQ / _FIQ (past
 *           every EC) for interrupts, which have no syndrome;
 *   code    the whole ESR_EL1; addr = FAR_EL1 when is_mem;
 *   pc, sp, fp = ELR_EL1, the interrupted sp (SP_EL0), x29.
 *
 * Three cases are settled here before the kernel sees anything:
 *   - the semihosting call of power.c without -semihosting (real boards): `hlt
 *     #0xf000` is then an undefined instruction; at that one call site it is skipped,
 *     so arch_poweroff can fall back to PSCI. Checked first, because it also happens
 *     inside handlers (a panic powering off runs on SP_EL1);
 *   - interrupts (IRQ from SP_EL0 code) go to gicv3.c, which calls the kernel's
 *     interrupt dispatcher (arch/irq.h), not the trap handler; an IRQ taken inside a
 *     handler that unmasked them comes through vectors.S's nested-IRQ path instead;
 *   - a nested exception (the SP_ELx vectors: a fault inside a handler) is reported
 *     through the same handler with "nested" in its name, once per CPU; a fault while
 *     reporting that stops the CPU. It resumes only if the kernel's handler returns,
 *     which it does for a fault it fixed up (arch_probe_read in an IPI handler).
 * With no handler registered yet (a fault before kernel_main got that far) the CPU
 * stops: nothing can print yet.
 */
#include <stddef.h>
#include <string.h>
#include <arch/frame.h>
#include <arch/ops.h>
#include <arch/smp.h>
#include <arch/trap.h>
#include <arch/mmu.h>
#include "arm64.h"

#define ARM64_VEC_IRQ	0x100
#define ARM64_VEC_FIQ	0x101

#define EC_UNKNOWN	0x00
#define EC_IABT_LOW	0x20
#define EC_IABT_CUR	0x21
#define EC_DABT_LOW	0x24
#define EC_DABT_CUR	0x25
#define EC_SERROR	0x2f

_Static_assert(offsetof(struct arch_frame, sp) == FRAME_SP, "frame.h: sp");
_Static_assert(offsetof(struct arch_frame, elr) == FRAME_ELR, "frame.h: elr");
_Static_assert(offsetof(struct arch_frame, esr) == FRAME_ESR, "frame.h: esr");
_Static_assert(offsetof(struct arch_frame, kind) == FRAME_KIND, "frame.h: kind");
_Static_assert(offsetof(struct arch_frame, fpsr) == FRAME_FPSR, "frame.h: fpsr");
_Static_assert(offsetof(struct arch_frame, record) == FRAME_RECORD, "frame.h: record");
_Static_assert(offsetof(struct arch_frame, q) == FRAME_Q0, "frame.h: q");
_Static_assert(sizeof(struct arch_frame) == FRAME_SIZE, "frame.h: size");

bool arm64_semihost_trapped;

static trap_handler_fn trap_handler;

void arch_trap_set_handler(trap_handler_fn fn)
{
	trap_handler = fn;
}

/* The name of an exception class (ESR_EL1.EC). */
static const char *ec_name(unsigned ec)
{
	switch (ec) {
	case 0x00: return "unknown/undefined instruction";
	case 0x01: return "trapped WFI/WFE";
	case 0x07: return "FP/SIMD access trap";
	case 0x0d: return "Branch Target exception";
	case 0x0e: return "illegal execution state";
	case 0x15: return "SVC";
	case 0x16: return "HVC";
	case 0x17: return "SMC";
	case 0x18: return "trapped system register access";
	case 0x19: return "SVE access trap";
	case 0x1c: return "pointer authentication failure";
	case 0x20: case 0x21: return "Instruction Abort";
	case 0x22: return "PC alignment fault";
	case 0x24: case 0x25: return "Data Abort";
	case 0x26: return "SP alignment fault";
	case 0x28: case 0x2c: return "FP exception";
	case 0x2f: return "SError";
	case 0x30: case 0x31: return "breakpoint";
	case 0x32: case 0x33: return "software step";
	case 0x34: case 0x35: return "watchpoint";
	case 0x3c: return "BRK";
	default: return "unexpected exception";
	}
}

/* Fill ti from the frame: name, syndrome, and the memory access for aborts. */
static void trap_describe(struct trap_info *ti, const struct arch_frame *f)
{
	unsigned type = f->kind & 3, ec = (f->esr >> 26) & 0x3f;

	*ti = (struct trap_info){
		.vector = ec,
		.code = f->esr,
		.pc = f->elr,
		.sp = f->sp,
		.fp = f->x[29],
	};
	if (type == VEC_IRQ) {
		ti->name = "IRQ";
		ti->vector = ARM64_VEC_IRQ;
		ti->code = 0;
		return;
	}
	if (type == VEC_FIQ) {
		ti->name = "FIQ";
		ti->vector = ARM64_VEC_FIQ;
		ti->code = 0;
		return;
	}
	if (type == VEC_SERROR) {
		ti->name = "SError";
		ti->vector = EC_SERROR;
		return;
	}
	ti->name = ec_name(ec);
	if (ec == EC_DABT_LOW || ec == EC_DABT_CUR || ec == EC_IABT_LOW || ec == EC_IABT_CUR) {
		bool far_valid = !(f->esr & (1u << 10));	/* FnV */
		bool cache_op = f->esr & (1u << 8);		/* CM: reports WnR = 1 */
		ti->is_mem = far_valid;
		ti->addr = f->far;
		if (ec == EC_DABT_LOW || ec == EC_DABT_CUR)
			ti->is_write = (f->esr & (1u << 6)) && !cache_op;
	}
}

/* Called by vectors.S with the saved frame; returning resumes at f->elr. */
void arm64_trap(struct arch_frame *f)
{
	unsigned group = (f->kind >> 2) & 3, type = f->kind & 3;
	struct trap_info ti;

	if (type == VEC_SYNC && ((f->esr >> 26) & 0x3f) == EC_UNKNOWN &&
	    f->elr == (uint64_t)arm64_semihost_hlt) {
		arm64_semihost_trapped = true;
		f->elr += 4;
		return;
	}
	if (type == VEC_IRQ && group != VEC_GROUP_SPX) {
		arm64_irq(f);
		return;
	}
	/* a write to a clean page of dirty tracking, from any context (an interrupt handler
	 * writing a heap object included): resolved, the write retried (arch/mmu.h) */
	if (type == VEC_SYNC && ((f->esr >> 26) & 0x3f) == EC_DABT_CUR &&
	    (f->esr & 0x3c) == 0x0c && (f->esr & (1u << 6)) && !(f->esr & ((1u << 8) | (1u << 10))) &&
	    arch_mmu_dirty_fault(f->far))
		return;
	struct arm64_cpu *me = arm64_cpu_this();
	if (group == VEC_GROUP_SPX && me->nested_depth++)
		arch_hang();
	trap_describe(&ti, f);
	if (group == VEC_GROUP_SPX) {
		char *name = me->nested_name;
		strcpy(name, "nested ");
		strncat(name, ti.name, sizeof(me->nested_name) - sizeof("nested "));
		ti.name = name;
	}
	if (!trap_handler)
		arch_hang();
	trap_handler(&ti, f);
	/* The kernel returns only from a fault it fixed up (arch_probe_read inside an
	 * interrupt handler, say): resume it, on the interrupted SP_EL1 (vectors.S). */
	if (group == VEC_GROUP_SPX)
		me->nested_depth--;
}

/* A few words on the exception class and, for aborts, the fault status code. */
static const char *fault_status(uint64_t esr)
{
	unsigned ec = (esr >> 26) & 0x3f, fsc = esr & 0x3f;
	static const char *const level_kind[] = {
		"address size fault", "translation fault", "access flag fault", "permission fault",
	};
	static char buf[48];

	if (ec != EC_DABT_LOW && ec != EC_DABT_CUR && ec != EC_IABT_LOW && ec != EC_IABT_CUR)
		return "";
	if (fsc < 0x10) {
		/* 0b00TTLL: type TT at level LL */
		strcpy(buf, level_kind[fsc >> 2]);
		strcat(buf, ", level ");
		size_t n = strlen(buf);
		buf[n] = (char)('0' + (fsc & 3));
		buf[n + 1] = '\0';
		return buf;
	}
	switch (fsc) {
	case 0x10: return "synchronous external abort";
	case 0x11: return "tag check fault";
	case 0x21: return "alignment fault";
	case 0x30: return "TLB conflict abort";
	default: return "other fault status";
	}
}

/* Decode the mode bits of SPSR_EL1: where the exception came from. */
static const char *spsr_mode(uint64_t spsr)
{
	switch (spsr & 0x1f) {
	case 0x0: return "EL0t";
	case 0x4: return "EL1t";
	case 0x5: return "EL1h";
	case 0x8: return "EL2t";
	case 0x9: return "EL2h";
	default: return (spsr & 0x10) ? "AArch32" : "?";
	}
}

void arch_frame_dump(const struct arch_frame *f, int (*printfn)(const char *fmt, ...))
{
	for (int i = 0; i < 28; i += 4)
		printfn("x%-2d %016llx x%-2d %016llx x%-2d %016llx x%-2d %016llx\n",
			i, (unsigned long long)f->x[i], i + 1, (unsigned long long)f->x[i + 1],
			i + 2, (unsigned long long)f->x[i + 2], i + 3, (unsigned long long)f->x[i + 3]);
	printfn("x28 %016llx fp  %016llx lr  %016llx sp  %016llx\n",
		(unsigned long long)f->x[28], (unsigned long long)f->x[29],
		(unsigned long long)f->x[30], (unsigned long long)f->sp);
	printfn("elr %016llx far %016llx spsr %08llx (%s, masked %c%c%c%c, NZCV %c%c%c%c)\n",
		(unsigned long long)f->elr, (unsigned long long)f->far,
		(unsigned long long)f->spsr, spsr_mode(f->spsr),
		f->spsr & (1 << 9) ? 'D' : '-', f->spsr & (1 << 8) ? 'A' : '-',
		f->spsr & (1 << 7) ? 'I' : '-', f->spsr & (1 << 6) ? 'F' : '-',
		f->spsr & (1u << 31) ? 'N' : '-', f->spsr & (1 << 30) ? 'Z' : '-',
		f->spsr & (1 << 29) ? 'C' : '-', f->spsr & (1 << 28) ? 'V' : '-');
	const char *fs = fault_status(f->esr);
	printfn("esr %08llx (EC 0x%02llx %s, IL %u, ISS 0x%07llx%s%s%s) vector slot %llu\n",
		(unsigned long long)f->esr, (unsigned long long)((f->esr >> 26) & 0x3f),
		ec_name((f->esr >> 26) & 0x3f), (unsigned)((f->esr >> 25) & 1),
		(unsigned long long)(f->esr & 0x1ffffff), fs[0] ? ": " : "", fs,
		fs[0] && ((f->esr >> 26) & 0x3f) >= EC_DABT_LOW ? ((f->esr & (1u << 6)) ? ", write" : ", read") : "",
		(unsigned long long)f->kind);
	printfn("fpsr %08llx fpcr %08llx\n", (unsigned long long)f->fpsr, (unsigned long long)f->fpcr);
}

/*
 * GCC's aarch64 prologue sets up the frame record in one of two ways:
 *     stp x29, x30, [sp, #-N]!      or      sub sp, sp, #N
 *     mov x29, sp                           stp x29, x30, [sp, #M]
 *                                           add x29, sp, #M
 * possibly after a `bti c` / `paciasp`, and the scheduler may move other instructions
 * in between (and a shrink-wrapped function may test and return before it). Until the
 * instruction that sets x29 has run, x29 is still the caller's and the return address
 * is only in x30. The same holds again once the epilogue's `ldp x29, x30, ...` has
 * run: GCC may schedule the function's last load or store after it (test_fault_target
 * does exactly that), and at the final `ret`. A function that never stores x29/x30 in
 * its first instructions has no record at all: x30 again.
 * So: x30 when pc is at or before the x29 set-up, at a `ret`, or after an epilogue
 * `ldp x29, x30` on the straight-line path leading to pc; otherwise the record is
 * live and the fp chain is right.
 */
#define INSN_STP_FP_LR_PRE	0xa9807bfdu	/* stp x29, x30, [sp, #imm]! */
#define INSN_STP_FP_LR_OFF	0xa9007bfdu	/* stp x29, x30, [sp, #imm] */
#define INSN_LDP_FP_LR_POST	0xa8c07bfdu	/* ldp x29, x30, [sp], #imm */
#define INSN_LDP_FP_LR_OFF	0xa9407bfdu	/* ldp x29, x30, [sp, #imm] */
#define MASK_PAIR_IMM		0xffc07fffu
#define INSN_ADD_FP_SP		0x910003fdu	/* add x29, sp, #imm (mov x29, sp) */
#define MASK_ADD_IMM		0xffc003ffu
#define PROLOGUE_SCAN		16		/* instructions */
#define EPILOGUE_SCAN		8

/* ret / br / b / eret: the straight-line path ends here. */
static bool insn_ends_block(uint32_t in)
{
	return (in & 0xfffffc1fu) == 0xd65f0000u ||	/* ret Xn */
	       (in & 0xfffffc1fu) == 0xd61f0000u ||	/* br Xn */
	       (in & 0xfc000000u) == 0x14000000u ||	/* b imm */
	       in == 0xd69f03e0u;			/* eret */
}

/* A call is bl (100101, a 26-bit word displacement from the bl itself) or blr Xn. */
enum arch_call arch_call_before(uint64_t ret, uint64_t ret_func_start, uint64_t *target)
{
	if (ret & 3 || ret < ret_func_start + 4)
		return ARCH_CALL_NONE;
	uint32_t in = *(const uint32_t *)(ret - 4);
	if ((in & 0xfc000000u) == 0x94000000u) {
		*target = ret - 4 + (uint64_t)((int64_t)((int32_t)(in << 6) >> 6) * 4);
		return ARCH_CALL_DIRECT;
	}
	return (in & 0xfffffc1fu) == 0xd63f0000u ? ARCH_CALL_INDIRECT : ARCH_CALL_NONE;
}

bool arch_frame_unrecorded_ret(const struct arch_frame *f, uint64_t func_start, uint64_t *ret)
{
	const uint32_t *code = (const uint32_t *)func_start;
	uint64_t pc = f->elr, set_fp = 0;
	bool stored = false;

	if ((func_start | pc) & 3 || pc < func_start)
		return false;
	/* At the first instruction (also: a branch to an address with no symbol, where
	 * the kernel passes the pc itself) nothing is read: the code may be unmapped. */
	if (pc == func_start) {
		*ret = f->x[30];
		return true;
	}
	for (unsigned i = 0; i < PROLOGUE_SCAN; i++) {
		uint32_t in = code[i];
		if (!stored && ((in & MASK_PAIR_IMM) == INSN_STP_FP_LR_PRE ||
				(in & MASK_PAIR_IMM) == INSN_STP_FP_LR_OFF)) {
			stored = true;
		} else if (stored && (in & MASK_ADD_IMM) == INSN_ADD_FP_SP) {
			set_fp = func_start + 4 * i;
			break;
		}
		if (insn_ends_block(in))
			break;
	}
	*ret = f->x[30];
	if (!set_fp || pc <= set_fp)
		return true;	/* no record, or not set up yet */
	if ((*(const uint32_t *)pc & 0xfffffc1fu) == 0xd65f0000u)
		return true;	/* at the ret */
	for (uint64_t a = pc; a > set_fp + 4 && pc - a < 4 * EPILOGUE_SCAN; a -= 4) {
		uint32_t in = *(const uint32_t *)(a - 4);
		if ((in & MASK_PAIR_IMM) == INSN_LDP_FP_LR_POST || (in & MASK_PAIR_IMM) == INSN_LDP_FP_LR_OFF)
			return true;	/* the epilogue restored the caller's x29 already */
		if (insn_ends_block(in))
			break;
	}
	return false;
}

uint64_t arch_frame_pc(const struct arch_frame *f) { return f->elr; }
uint64_t arch_frame_sp(const struct arch_frame *f) { return f->sp; }
uint64_t arch_frame_fp(const struct arch_frame *f) { return f->x[29]; }

/* ---- preemption: see preempt.S --------------------------------------------------- */

#define SPSR_M_EL1T	0x4		/* EL1 using SP_EL0: the kernel's ordinary mode */
#define SPSR_I		(1u << 7)

extern const char a64_preempt_tramp[], a64_preempt_tramp_end[];

/* preempt.S's frame at rec: the record, x0..x30 at 16, the interrupted pc at 272;
 * the interrupted sp was rec + 816 */
#define PT_X0	16
#define PT_PC	272
#define PT_SIZE	816

bool arch_preempt_frame(uint64_t ret, uint64_t rec, struct arch_frame *f)
{
	uint64_t pa;
	unsigned flags;
	if (ret <= (uint64_t)a64_preempt_tramp || ret > (uint64_t)a64_preempt_tramp_end || rec & 15 ||
	    !arch_mmu_query(rec, &pa, &flags) || !arch_mmu_query(rec + PT_PC + 7, &pa, &flags))
		return false;
	const uint64_t *w = (const uint64_t *)rec;
	memset(f, 0, sizeof(*f));
	for (unsigned i = 0; i < 31; i++)
		f->x[i] = w[PT_X0 / 8 + i];
	f->elr = w[PT_PC / 8];
	f->sp = rec + PT_SIZE;
	return true;
}

bool arch_frame_inject_call(struct arch_frame *f, void (*fn)(void))
{
	unsigned group = (f->kind >> 2) & 3, type = f->kind & 3;
	if (group != VEC_GROUP_SP0 || type != VEC_IRQ || (f->spsr & 0xf) != SPSR_M_EL1T ||
	    (f->spsr & SPSR_I) ||
	    (f->elr >= (uint64_t)a64_preempt_tramp && f->elr < (uint64_t)a64_preempt_tramp_end))
		return false;
	uintptr_t *scratch = (uintptr_t *)((char *)arch_percpu() + ARCH_PERCPU_SCRATCH_OFF);
	scratch[0] = f->elr;
	scratch[1] = f->spsr;
	scratch[2] = (uintptr_t)fn;
	f->elr = (uint64_t)a64_preempt_tramp;
	f->spsr |= SPSR_I;
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
