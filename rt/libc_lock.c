/*
 * rt/libc_lock.c: what the scheduler lends newlib's locks (kernel/newlib_lock.c) so
 * that a goroutine waiting for one parks instead of spinning.
 *
 * The kernel keeps each lock's owner, depth and FIFO of waiting goroutines (linked
 * through struct libc_state, which every struct g embeds) and cannot name the
 * scheduler; it calls the two operations registered here: park the running goroutine
 * (releasing the lock's spinlock once it is marked waiting: the wait-queue protocol of
 * rt/sema.c, so a release that finds it queued may ready it at once), and ready the
 * goroutine a libc_state belongs to. A parked waiter shows "libc lock" as its wait
 * reason in goroutine dumps.
 *
 * libc_lock_start() registers them; the scheduler calls it (rt/include/rt/libc_lock.h)
 * before the first goroutine runs. Until then every waiter spins, which is correct
 * while no goroutine can hold a newlib lock across a switch.
 */
#include <stddef.h>
#include <kernel/cpu.h>
#include <kernel/libc_state.h>
#include <kernel/spinlock.h>
#include <rt/libc_lock.h>
#include <rt/sched.h>

static bool libc_park_unlock(struct g *g, void *arg)
{
	(void)g;
	spin_unlock(arg);		/* the irqsave half is popped by libc_park */
	return true;
}

static void libc_park(struct spinlock *lock)
{
	sched_park("libc lock", libc_park_unlock, lock);
	irq_pop();
}

static void libc_ready(struct libc_state *s)
{
	sched_ready((struct g *)((char *)s - offsetof(struct g, libc)));
}

static const struct libc_lock_ops libc_lock_rt_ops = { libc_park, libc_ready };

void libc_lock_start(void)
{
	libc_lock_register(&libc_lock_rt_ops);
}
