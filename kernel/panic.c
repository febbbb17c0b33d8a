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
 *
 * A panic stops the other CPUs before it reports, so that what it prints is a
 * snapshot and the goroutines running elsewhere can be walked. The panicking CPU sets
 * `stop_req` and sends each other online CPU an IPI_CALL (the cross-call vector: its
 * handler, kernel/ipi.c, sees the interrupted frame, and every wait loop's ipi_poll
 * sees the request too). The CPU answering records where it was stopped in its
 * `stopped[]` slot (the interrupted pc, sp and fp, and the return address of a
 * function interrupted before its frame record existed; from a wait loop, its own
 * frame), publishes it with release, and halts for good with interrupts off. The
 * panicking CPU waits for every answer up to PANIC_STOP_NS: a CPU spinning with
 * interrupts off cannot answer, and the dump says so instead of walking a live
 * stack. A second CPU that panics meanwhile stops itself the same way (its report
 * would interleave with the first): one report per machine.
 *
 * The report: "PANIC: <message>" (a fault: the register dump), then the dump hook
 * the layer above registered (rt/: every goroutine, Go-style), which prints the
 * panicking flow's frames under its goroutine's header by calling
 * panic_print_backtrace(); without a hook, or if the hook did not, the kernel
 * prints them itself. Interrupt context, the scheduler's loop and a fault handler
 * in the middle of stack growth are all just flows here: nothing on the report path
 * takes a lock (the console writes without one once console_panicking is set).
 *
 * Rejected: stop-the-world (kernel/stw.c) for the panic's stop: it releases the CPUs
 * afterwards and panics itself on a silent CPU; a panic wants neither.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <arch/frame.h>
#include <arch/mmu.h>
#include <arch/ops.h>
#include <arch/trap.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ksyms.h>
#include <kernel/panic.h>
#include <kernel/stack.h>

/* How long the panicking CPU waits for the others to stop. */
#define PANIC_STOP_NS (2000ull * 1000 * 1000)

static volatile int panicking;
static void (*panic_dump_hook)(void);
static _Atomic unsigned panic_owner;	/* cpu id + 1 of the CPU reporting a panic */
static _Atomic bool stop_req;		/* the other CPUs must stop */

/* Where each CPU was when the panic stopped it (written by that CPU, then state). */
static struct stopped_cpu {
	_Atomic int state;		/* enum panic_cpu_state */
	uint64_t pc, ret, sp, fp;
} stopped[ARCH_MAX_CPUS];

/* The panicking flow's frames, for panic_print_backtrace (the panicking CPU only). */
static struct {
	bool set, printed;
	uint64_t pc, ret, fp;
} flow;

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

static uint64_t (*_Atomic ret_fixup)(uint64_t slot, uint64_t ret);

void backtrace_set_ret_fixup(uint64_t (*fn)(uint64_t slot, uint64_t ret))
{
	atomic_store(&ret_fixup, fn);
}

/* also asked of words a scan only supposes to be a record (scan_for_record): not for
 * ASan to judge */
__attribute__((no_sanitize_address))
uint64_t backtrace_record_ret(uint64_t fp)
{
	const struct frame_record *r = (const struct frame_record *)fp;
	uint64_t (*fn)(uint64_t, uint64_t) = atomic_load_explicit(&ret_fixup, memory_order_relaxed);
	return fn ? fn((uint64_t)&r->ret, r->ret) : r->ret;
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
	uint64_t prev = 0;
	while (i < 64 && fp && frame_readable(fp)) {
		const struct frame_record *r = (const struct frame_record *)fp;
		uint64_t rret = backtrace_record_ret(fp);
		if (!rret)
			break;
		/* ret points after the call; name the call itself */
		print_pc(i++, rret - 1);
		/* the record the preemption trampoline planted: the code it interrupted may
		 * have no record of its own yet (a frameless leaf): its caller from the
		 * saved registers */
		struct arch_frame f;
		uint64_t off, ret;
		if (prev && arch_preempt_frame(prev, fp, &f) && ksyms_lookup(arch_frame_pc(&f), &off) &&
		    arch_frame_unrecorded_ret(&f, arch_frame_pc(&f) - off, &ret) && ksyms_lookup(ret, &off))
			print_pc(i++, ret - 1);
		prev = rret;
		if ((uint64_t)r->next == fp || ((uint64_t)r->next < fp && ++switches > 2))
			break;
		fp = (uint64_t)r->next;
	}
}

static bool cpu_known(void)
{
	return arch_percpu() != NULL;
}

bool panic_stop_requested(void)
{
	return atomic_load_explicit(&stop_req, memory_order_relaxed) && cpu_known() &&
	       atomic_load(&panic_owner) != cpu_id() + 1;
}

/*
 * Interrupted outside the kernel's code (hosted: inside libc or a sanitizer's runtime,
 * which may keep no frame records, and ThreadSanitizer runs a deferred signal's
 * handler from there): the frame pointer may not lead back into our frames. Look
 * above sp, within SCAN_BYTES, for the first word pair that is a plausible record of
 * ours: {a frame pointer above it within the same stack, a return address in our
 * code that follows a call}, and walk from there. A foreign runtime's frames hold
 * stale words (old records, function pointers): a return address must follow a call
 * (arch_call_before), which a function pointer does not. Below the record, the
 * return into the function that called out, if it pushed none (called_out_ret). A
 * heuristic, for a dump only. Found nothing: keep fp.
 */
#define SCAN_BYTES 16384
#define SCAN_SPAN  (1ull << 20)

/* ret is a return address into our code: it follows a call there. *fn: the start of
 * the function it returns into. */
static enum arch_call return_address(uint64_t ret, uint64_t *target, uint64_t *fn)
{
	uint64_t off;
	if (!ksyms_lookup(ret, &off))
		return ARCH_CALL_NONE;
	*fn = ret - off;
	return arch_call_before(ret, ret - off, target);
}

/* The return into the function whose record is at rec, whose own return address
 * follows a call of kind rec_call to callee: the word of our code nearest below rec
 * that follows a call, in callee when that call is direct. Further down are the
 * foreign frames and what earlier, deeper calls left there (a deferred signal
 * handler's returns, under ThreadSanitizer): not frames of this walk. */
__attribute__((no_sanitize_address))
static uint64_t called_out_ret(uint64_t lo, uint64_t rec, enum arch_call rec_call, uint64_t callee)
{
	uint64_t t, fn;
	for (uint64_t a = rec; a > lo;) {
		a -= 8;
		uint64_t w = *(const uint64_t *)a;
		if (return_address(w, &t, &fn) != ARCH_CALL_NONE &&
		    (rec_call != ARCH_CALL_DIRECT || fn == callee))
			return w;
	}
	return 0;
}

/* reads a live stack's words wholesale, redzones included: not for ASan to judge */
__attribute__((no_sanitize_address))
static uint64_t scan_for_record(uint64_t sp, uint64_t fp, uint64_t *ret)
{
	uint64_t lo = (sp + 7) & ~7ull, callee = 0, fn;
	*ret = 0;
	for (uint64_t a = lo; a < sp + SCAN_BYTES; a += 8) {
		if (!frame_readable(a))
			break;
		const struct frame_record *r = (const struct frame_record *)a;
		uint64_t next = (uint64_t)r->next;
		if (!(next > a && next - a < SCAN_SPAN))
			continue;
		enum arch_call k = return_address(backtrace_record_ret(a), &callee, &fn);
		if (k != ARCH_CALL_NONE) {
			*ret = called_out_ret(lo, a, k, callee);
			return a;
		}
	}
	return fp;
}

_Noreturn void panic_stop_self(const struct arch_frame *f)
{
	arch_irq_save();
	if (!cpu_known())
		arch_hang();
	struct stopped_cpu *r = &stopped[cpu_id()];
	if (f) {
		uint64_t off, ret = 0;
		r->pc = arch_frame_pc(f);
		r->sp = arch_frame_sp(f);
		r->fp = arch_frame_fp(f);
		const char *fn = ksyms_lookup(r->pc, &off);
		if (fn && arch_frame_unrecorded_ret(f, r->pc - off, &ret) && ksyms_lookup(ret, &off))
			r->ret = ret;
		if (!fn)
			r->fp = scan_for_record(r->sp, r->fp, &r->ret);
	} else {
		/* a wait loop: its own frames are what the CPU was doing */
		r->pc = 0;
		r->fp = (uint64_t)__builtin_frame_address(0);
		r->sp = r->fp;
	}
	atomic_store_explicit(&r->state, PANIC_CPU_STOPPED, memory_order_release);
	arch_hang();
}

enum panic_cpu_state panic_cpu_frame(unsigned cpu, uint64_t *pc, uint64_t *ret, uint64_t *fp)
{
	if (cpu >= ARCH_MAX_CPUS || !atomic_load(&panic_owner))
		return PANIC_CPU_UNKNOWN;
	int st = atomic_load_explicit(&stopped[cpu].state, memory_order_acquire);
	if (st == PANIC_CPU_STOPPED) {
		*pc = stopped[cpu].pc;
		*ret = stopped[cpu].ret;
		*fp = stopped[cpu].fp;
	}
	return (enum panic_cpu_state)st;
}

/* Become the CPU that reports; false if another one is reporting already. */
static bool claim(void)
{
	if (!cpu_known())
		return true;
	unsigned me = cpu_id(), expected = 0;
	return atomic_compare_exchange_strong(&panic_owner, &expected, me + 1) || expected == me + 1;
}

/* Stop every other online CPU, waiting for their answers up to PANIC_STOP_NS. */
static void stop_others(void)
{
	if (!cpu_known() || atomic_load(&stop_req))
		return;
	unsigned me = cpu_id(), n = 0;
	atomic_store(&stopped[me].state, PANIC_CPU_SELF);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (i != me && atomic_load(&cpus[i].online)) {
			atomic_store(&stopped[i].state, PANIC_CPU_SILENT);
			n++;
		}
	atomic_store(&stop_req, true);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&stopped[i].state) == PANIC_CPU_SILENT)
			arch_ipi_send(cpus[i].hwid, IPI_CALL);
	if (!n)
		return;
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	for (;;) {
		unsigned left = 0;
		for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
			if (atomic_load_explicit(&stopped[i].state, memory_order_acquire) == PANIC_CPU_SILENT)
				left++;
		if (!left || spin_deadline_over(&dl, PANIC_STOP_NS))
			break;
		arch_cpu_relax();
	}
}

uint64_t panic_stop_wait_ms(void)
{
	return PANIC_STOP_NS / 1000000;
}

void panic_print_backtrace(void)
{
	if (!flow.set || flow.printed || !cpu_known() || atomic_load(&panic_owner) != cpu_id() + 1)
		return;
	flow.printed = true;
	backtrace_print_trap(flow.pc, flow.ret, flow.fp);
}

/* The report's common tail: the hook (or the plain backtrace), then power-off. */
static _Noreturn void report(uint64_t pc, uint64_t ret, uint64_t fp)
{
	flow.pc = pc, flow.ret = ret, flow.fp = fp;
	flow.set = true;
	panic_dump_more();
	panic_print_backtrace();	/* if the hook did not */
	console_panic_flush();
	arch_poweroff(EXIT_PANIC);
}

_Noreturn void panic(const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	arch_irq_save();
	if (!claim())
		panic_stop_self(NULL);	/* another CPU reports: be one of its stopped CPUs */
	if (panicking++) {
		kprintf("PANIC (nested)\n");
		if (flow.set && !flow.printed) {
			flow.printed = true;
			backtrace_print_trap(flow.pc, flow.ret, flow.fp);
		}
		console_panic_flush();
		arch_poweroff(EXIT_PANIC);
	}
	console_panicking = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("\nPANIC: %s\n", msg);
	stop_others();
	report(0, 0, (uint64_t)__builtin_frame_address(0));
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
	arch_irq_save();
	if (!claim())
		panic_stop_self(f);	/* another CPU reports: be one of its stopped CPUs */
	console_panicking = true;
	if (panicking++) {
		kprintf("PANIC (nested): %s at pc 0x%llx\n", ti->name, (unsigned long long)ti->pc);
		if (flow.set && !flow.printed) {
			flow.printed = true;
			backtrace_print_trap(flow.pc, flow.ret, flow.fp);
		}
		console_panic_flush();
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
	if (what) {
		kprintf("\nPANIC: %s: fault at 0x%llx (%s) %s [0x%llx, 0x%llx) in %s+0x%llx\n", what,
			(unsigned long long)ti->addr, ti->is_write ? "write" : "read", where,
			(unsigned long long)stk.base, (unsigned long long)stk.top, fn ? fn : "?",
			(unsigned long long)off);
		if (sf == STACK_FAULT_OVERFLOW)
			stack_overflow_report(ti->addr, &stk);	/* the upper layer's word, if any */
	} else if (ti->is_mem)
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
	stop_others();
	report(ti->pc, ret, ti->fp);
}

void panic_init(void)
{
	arch_trap_set_handler(panic_trap);
}
