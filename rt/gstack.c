/*
 * rt/gstack.c: giving back the stack pages of parked goroutines (DESIGN.md "Stacks":
 * "at GC time, pages far below the stack pointer of parked goroutines are unmapped
 * again").
 *
 * A goroutine that once recursed deep keeps every page it touched mapped: growth is
 * by fault, and nothing unmaps behind a returning function. sched_shrink_stacks()
 * is the collector's hook (it will call it once per cycle; tests call it directly):
 * for every parked goroutine it releases the pages wholly below its saved stack
 * pointer minus SHRINK_SLACK, and returns the bytes released. A released page that is
 * touched again grows back, zeroed, by the ordinary fault path.
 *
 * Ownership of the stack while it shrinks is the G_SCAN protocol (rt/sched.h): the
 * goroutine is claimed with one CAS, G_WAITING -> G_WAITING|G_SCAN, which fails if
 * anyone readied it first (then it is not parked any more: skipped). While the bit is
 * set, sched_ready of that goroutine spins, answering IPIs (the shrink's TLB shootdown
 * needs every CPU's answer, the spinning one's included), so the goroutine cannot run
 * on a stack half unmapped; clearing the bit (release) lets it go. The claim is held
 * with interrupts off: a timer interrupt on this CPU that readied the goroutine would
 * otherwise spin on a claim its own CPU holds. Only G_WAITING
 * goroutines are taken: a runnable one is about to run (its wait would be wasted), a
 * running one owns its stack, and a dead one sits in a free cache where sched_spawn
 * takes it without a status CAS. Its saved context is complete once the status says
 * G_WAITING (the scheduler stores it after the switch).
 *
 * SHRINK_SLACK: the frames right below the saved sp are what the goroutine touches
 * first when it resumes (the switch's return path, the caller's next calls): keeping
 * a few pages saves as many faults on every resume. 16 KiB: four pages.
 *
 * allgs only grows, at its head (an element's link never changes), so the walk reads
 * the head under the scheduler's lock and follows the links without it; goroutines
 * created during the walk are missed, which is fine for a shrink.
 *
 * Context: a goroutine or the scheduler's side, interrupts on (the shrink waits for
 * TLB shootdowns); not an interrupt handler. May run on any CPU, concurrently with
 * everything but another sched_shrink_stacks claiming the same goroutine (the CAS
 * settles that: one of them skips it).
 */
#include <stdatomic.h>
#include <arch/context.h>
#include <arch/memlayout.h>
#include <kernel/cpu.h>
#include <kernel/spinlock.h>
#include <kernel/stack.h>
#include <rt/sched.h>

#define SHRINK_SLACK (16u << 10)

size_t sched_shrink_stacks(void)
{
	size_t pages = 0;
	spin_lock_irqsave(&sched.lock);
	struct g *head = sched.allgs;
	spin_unlock_irqrestore(&sched.lock);
	for (struct g *g = head; g; g = g->alllink) {
		uint32_t st = G_WAITING;
		irq_push();	/* the claim is held with interrupts off (rt/sched.h G_SCAN) */
		if (!atomic_compare_exchange_strong(&g->status, &st, G_WAITING | G_SCAN)) {
			irq_pop();
			continue;
		}
		uintptr_t sp = arch_context_sp(&g->ctx);
		if (g->stack.top && sp > g->stack.base && sp <= g->stack.top)
			pages += stack_shrink(&g->stack, sp, SHRINK_SLACK);
		atomic_store_explicit(&g->status, G_WAITING, memory_order_release);
		irq_pop();
	}
	return pages * PAGE_SIZE;
}
