/*
 * rt/waitgroup.c: sync.WaitGroup.
 *
 * The counter and the list of parked waiters share one lock. wg_wait puts its G on
 * the list and parks; the park callback releases the lock only after the scheduler
 * has marked the G waiting, so the wg_done that empties the counter (which takes the
 * lock) always finds a parked G to ready. Waiters are readied after the lock is
 * dropped (sched's lock ranks above the wait group's).
 */
#include <stddef.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/go.h>
#include <rt/sched.h>

void wg_add(struct wait_group *wg, int64_t delta)
{
	struct g *wake = NULL;
	spin_lock_irqsave(&wg->lock);
	wg->count += delta;
	if (wg->count < 0) {
		spin_unlock_irqrestore(&wg->lock);
		panic("sync: negative WaitGroup counter");
	}
	if (wg->count == 0) {
		wake = wg->waiters;
		wg->waiters = NULL;
	}
	spin_unlock_irqrestore(&wg->lock);
	while (wake) {
		struct g *next = wake->schedlink;
		sched_ready(wake);
		wake = next;
	}
}

void wg_done(struct wait_group *wg)
{
	wg_add(wg, -1);
}

static bool wg_park_unlock(struct g *g, void *arg)
{
	(void)g;
	struct wait_group *wg = arg;
	spin_unlock(&wg->lock);		/* the irqsave half is popped by wg_wait */
	return true;
}

void wg_wait(struct wait_group *wg)
{
	struct g *self = sched_curg();
	if (!self)
		panic("wg_wait: not called from a goroutine");
	spin_lock_irqsave(&wg->lock);
	if (wg->count == 0) {
		spin_unlock_irqrestore(&wg->lock);
		return;
	}
	self->schedlink = wg->waiters;
	wg->waiters = self;
	/* the lock is released by the scheduler, after we are marked waiting */
	sched_park("sync.WaitGroup.Wait", wg_park_unlock, wg);
	irq_pop();
}
