/*
 * rt/traceback.c: goroutine dumps, and the deadlock report.
 *
 * On a panic the kernel prints the panicking flow's backtrace, then calls
 * sched_dump() (registered as its dump hook), which prints, Go-style,
 *
 *   goroutine 7 [chan receive]:
 *     #0 0x... function+0x..
 *
 * for every goroutine that is not dead: the one running on the panicking CPU first
 * (its frames are the backtrace just above), then the others. A parked or runnable
 * goroutine is walked from its saved context (pc, then the frame chain from fp); a
 * goroutine running on another CPU is named with its CPU but not walked: its stack
 * is live (stopping that CPU to walk it is the collector's STOP path, later).
 */
#include <stddef.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/sched.h>

static const char *status_name(const struct g *g, uint32_t st)
{
	switch (st & ~(uint32_t)G_SCAN) {
	case G_IDLE: return "idle";
	case G_RUNNABLE: return "runnable";
	case G_RUNNING: return "running";
	case G_WAITING: return g->wait_reason ? g->wait_reason : "waiting";
	default: return "dead";
	}
}

void sched_dump(void)
{
	struct g *self = NULL;
	if (arch_percpu())
		self = allp[cpu_id()].curg;
	if (self)
		kprintf("\ngoroutine %llu [running]:\n  (its frames are the backtrace above)\n",
			(unsigned long long)self->id);
	unsigned shown = 0;
	for (struct g *g = sched.allgs; g && shown < 1000; g = g->alllink) {
		uint32_t st = atomic_load(&g->status);
		if (g == self || (st & ~(uint32_t)G_SCAN) == G_DEAD)
			continue;
		shown++;
		kprintf("\ngoroutine %llu [%s]:\n", (unsigned long long)g->id, status_name(g, st));
		if ((st & ~(uint32_t)G_SCAN) == G_RUNNING) {
			kprintf("  (running on cpu %u)\n", g->p ? g->p->id : 0);
			continue;
		}
		if ((st & ~(uint32_t)G_SCAN) == G_IDLE)
			continue;
		backtrace_print(arch_context_pc(&g->ctx), arch_context_fp(&g->ctx));
	}
}
