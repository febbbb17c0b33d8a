/*
 * rt/traceback.c: goroutine dumps, and the deadlock report.
 *
 * On a panic the kernel prints the message (and a fault's registers), stops the other
 * CPUs, then calls sched_dump() (registered as its dump hook), which prints, Go-style,
 *
 *   goroutine 7 [running]:            the goroutine that panicked, first, with the
 *   backtrace:                        panicking flow's frames (a fault handler's,
 *     #0 0x... function+0x..          an interrupt's: they run on top of it)
 *
 *   goroutine 9 [running on cpu 1]:   one running elsewhere, walked from where the
 *   backtrace:                        panic's stop interrupted its CPU
 *     ...
 *   goroutine 3 [chan receive]:       a parked or runnable one, from its saved
 *   backtrace:                        context (pc, then the frame chain from fp)
 *     ...
 *
 * for every goroutine that is not dead. A panic on a CPU running no goroutine (its
 * scheduler loop, a park callback, early boot) prints the flow under "cpu K
 * scheduler:" instead. A CPU that did not answer the stop (it spins with interrupts
 * off) is named, and its goroutine is not walked: its stack is live. Outside a panic
 * (the deadlock report) nothing runs anywhere, so every goroutine is parked.
 *
 * Everything here only reads: the dump runs with other CPUs halted wherever they were,
 * possibly holding the scheduler's lock, so it takes none; allgs only ever grows at
 * its head (an element's link never changes), so the walk is safe without it. The
 * walk of each stack checks every frame record (kernel/panic.c) and is bounded.
 */
#include <stddef.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/sched.h>

#define DUMP_MAX 1000	/* goroutines printed at most (then a count of the rest) */

static const char *status_name(const struct g *g, uint32_t st)
{
	switch (st & ~(uint32_t)G_SCAN) {
	case G_IDLE: return "idle";
	case G_RUNNABLE: return "runnable";
	case G_RUNNING: return "running";
	case G_WAITING: {
		const char *why = __atomic_load_n(&g->wait_reason, __ATOMIC_RELAXED);
		return why ? why : "waiting";
	}
	default: return "dead";
	}
}

/* A goroutine running on another CPU: walk it from where the panic stopped that CPU. */
static void dump_running(const struct g *g)
{
	const struct p *p = __atomic_load_n(&g->p, __ATOMIC_RELAXED);	/* (its CPU is stopped, or not) */
	unsigned cpu = p ? p->id : 0;
	uint64_t pc = 0, ret = 0, fp = 0;
	kprintf("\ngoroutine %llu [running on cpu %u]:\n",
		(unsigned long long)__atomic_load_n(&g->id, __ATOMIC_RELAXED), cpu);
	if (!p)
		return;
	switch (panic_cpu_frame(cpu, &pc, &ret, &fp)) {
	case PANIC_CPU_STOPPED:
		backtrace_print_trap(pc, ret, fp);
		break;
	case PANIC_CPU_SILENT:
		kprintf("  (cpu %u did not stop within %llu ms: interrupts off? its stack is live, "
			"not walked)\n", cpu, (unsigned long long)panic_stop_wait_ms());
		break;
	case PANIC_CPU_SELF:	/* it was switching in or out here: the backtrace has it */
		break;
	default:
		kprintf("  (not stopped: its stack is live, not walked)\n");
		break;
	}
}

void sched_dump(void)
{
	struct g *self = NULL;
	uint64_t pc, ret, fp;
	if (arch_percpu() && panic_cpu_frame(cpu_id(), &pc, &ret, &fp) == PANIC_CPU_SELF) {
		self = allp[cpu_id()].curg;
		if (self)
			kprintf("\ngoroutine %llu [running]:\n", (unsigned long long)self->id);
		else
			kprintf("\ncpu %u scheduler:\n", cpu_id());
	}
	panic_print_backtrace();	/* the panicking flow's frames (nothing outside a panic) */
	unsigned shown = 0, more = 0;
	for (struct g *g = __atomic_load_n(&sched.allgs, __ATOMIC_ACQUIRE); g;
	     g = __atomic_load_n(&g->alllink, __ATOMIC_RELAXED)) {
		uint32_t st = atomic_load(&g->status);
		if (g == self || (st & ~(uint32_t)G_SCAN) == G_DEAD)
			continue;
		if (shown >= DUMP_MAX) {
			more++;
			continue;
		}
		shown++;
		if ((st & ~(uint32_t)G_SCAN) == G_RUNNING) {
			dump_running(g);
			continue;
		}
		kprintf("\ngoroutine %llu [%s]:\n", (unsigned long long)__atomic_load_n(&g->id, __ATOMIC_RELAXED),
			status_name(g, st));
		if ((st & ~(uint32_t)G_SCAN) == G_IDLE)
			continue;
		backtrace_print(arch_context_pc(&g->ctx), arch_context_fp(&g->ctx));
	}
	if (more)
		kprintf("\n...additional goroutines elided: %u\n", more);
}
