/*
 * kernel/panic.c: panics, fault reports and frame-pointer backtraces.
 *
 * Every function is built with frame pointers (-fno-omit-frame-pointer
 * -mno-omit-leaf-frame-pointer), so each frame starts with the record
 * {caller's fp, return address} at fp on both arches. The walk trusts nothing:
 * a record must be aligned, mapped, and above the previous one (stacks grow down)
 * except across a stack switch (an exception or interrupt stack into the interrupted
 * one: at most 2), and the walk stops after 64 frames. Trap entry code plants a record for the
 * interrupted context, so a fault's backtrace continues into the faulting code.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <arch/mmu.h>
#include <arch/ops.h>
#include <arch/trap.h>
#include <kernel/console.h>
#include <kernel/ksyms.h>
#include <kernel/panic.h>
#include <kernel/stack.h>

static volatile int panicking;
static void (*panic_dump_hook)(void);

void panic_set_dump_hook(void (*fn)(void))
{
	panic_dump_hook = fn;
}

static void panic_dump_more(void)
{
	if (panic_dump_hook)
		panic_dump_hook();
}

static bool frame_readable(uint64_t fp)
{
	uint64_t pa;
	unsigned flags;
	if (fp & 7)
		return false;
	return arch_mmu_query(fp, &pa, &flags) && arch_mmu_query(fp + 15, &pa, &flags);
}

static void print_pc(int i, uint64_t pc)
{
	uint64_t off;
	const char *name = ksyms_lookup(pc, &off);
	if (name)
		kprintf("  #%d 0x%016llx %s+0x%llx\n", i, (unsigned long long)pc, name,
			(unsigned long long)off);
	else
		kprintf("  #%d 0x%016llx ?\n", i, (unsigned long long)pc);
}

void backtrace_print(uint64_t pc, uint64_t fp)
{
	backtrace_print_trap(pc, 0, fp);
}

void backtrace_print_trap(uint64_t pc, uint64_t ret, uint64_t fp)
{
	int i = 0;
	kprintf("backtrace:\n");
	if (pc)
		print_pc(i++, pc);
	if (ret)
		print_pc(i++, ret - 1);
	int switches = 0;
	while (i < 64 && fp && frame_readable(fp)) {
		const struct frame_record *r = (const struct frame_record *)fp;
		if (!r->ret)
			break;
		/* ret points after the call; name the call itself */
		print_pc(i++, r->ret - 1);
		if ((uint64_t)r->next == fp || ((uint64_t)r->next < fp && ++switches > 2))
			break;
		fp = (uint64_t)r->next;
	}
}

_Noreturn void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	arch_irq_save();
	if (panicking++) {
		kprintf("PANIC (nested)\n");
		arch_poweroff(EXIT_PANIC);
	}
	console_panicking = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("\nPANIC: %s\n", msg);
	backtrace_print(0, (uint64_t)__builtin_frame_address(0));
	panic_dump_more();
	console_panic_flush();
	arch_poweroff(EXIT_PANIC);
}

static void panic_trap(const struct trap_info *ti, struct arch_frame *f)
{
	uint64_t off = 0;
	const char *fn = ksyms_lookup(ti->pc, &off);

	if (ti->is_mem && arch_probe_fixup(f))
		return;		/* an arch_probe_read that faulted: it returns -1 */
	struct kstack stk = { 0, 0 };
	enum stack_fault_result sf = ti->is_mem ? stack_fault(ti->addr, &stk) : STACK_FAULT_NOT_STACK;
	if (sf == STACK_FAULT_GREW)
		return;		/* a stack grew by a page: resume the faulting instruction */
	if (sf == STACK_FAULT_OVERFLOW)
		stack_overflow_report(ti->addr, &stk);	/* the upper layer's report, if any */
	console_panicking = true;
	if (panicking++) {
		kprintf("PANIC (nested): %s at pc 0x%llx\n", ti->name, (unsigned long long)ti->pc);
		arch_poweroff(EXIT_PANIC);
	}
	const char *what = NULL, *where = NULL;
	switch (sf) {
	case STACK_FAULT_OVERFLOW:
		what = "stack overflow", where = "on the guard page of the stack";
		break;
	case STACK_FAULT_BAD:
		what = "stale or unreserved stack access", where = "in a slot with no live stack";
		break;
	case STACK_FAULT_NOMEM:
		what = "out of memory growing a stack", where = "in the stack";
		break;
	default:
		break;
	}
	if (what)
		kprintf("\nPANIC: %s: fault at 0x%llx (%s) %s [0x%llx, 0x%llx) in %s+0x%llx\n", what,
			(unsigned long long)ti->addr, ti->is_write ? "write" : "read", where,
			(unsigned long long)stk.base, (unsigned long long)stk.top, fn ? fn : "?",
			(unsigned long long)off);
	else if (ti->is_mem)
		kprintf("\nPANIC: %s at address 0x%llx (%s) in %s+0x%llx\n", ti->name,
			(unsigned long long)ti->addr, ti->is_write ? "write" : "read",
			fn ? fn : "?", (unsigned long long)off);
	else
		kprintf("\nPANIC: %s in %s+0x%llx\n", ti->name, fn ? fn : "?", (unsigned long long)off);
	kprintf("registers:\n");
	arch_frame_dump(f, kprintf);
	/* The faulting function may not have pushed its frame record yet. */
	uint64_t ret = 0;
	if (!arch_frame_unrecorded_ret(f, fn ? ti->pc - off : ti->pc, &ret) || !ksyms_lookup(ret, &off))
		ret = 0;
	backtrace_print_trap(ti->pc, ret, ti->fp);
	panic_dump_more();
	console_panic_flush();
	arch_poweroff(EXIT_PANIC);
}

void panic_init(void)
{
	arch_trap_set_handler(panic_trap);
}
