/*
 * rt/mutex.c: sync.Mutex.
 *
 * A flag and a FIFO of waiters under the mutex's spinlock (rt/sema.c describes the
 * wait-queue protocol). An uncontended lock or unlock is one spinlock round trip.
 * Under contention mutex_unlock hands the mutex directly to the oldest waiter: the
 * flag stays set and the waiter returns from its park owning it. That is Go's
 * starvation mode made permanent: strictly fair, no waiter starves, but every
 * contended hand-off costs a context switch where Go's normal mode would let the
 * running unlocker (or a spinning newcomer) take the mutex again at once. Go's
 * two-mode design needs spinning and a wait-time clock to pay off; revisit it with
 * preemption and a benchmark.
 *
 * As in Go, a mutex is not owned by a goroutine (any goroutine may unlock it), and
 * unlocking an unlocked mutex is a panic.
 */
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/sched.h>
#include <rt/sync.h>

void mutex_lock(struct mutex *m)
{
	spin_lock_irqsave(&m->lock);
	if (!m->locked) {
		m->locked = true;
		spin_unlock_irqrestore(&m->lock);
		return;
	}
	/* mutex_unlock hands the (still locked) mutex to us */
	waitq_park(&m->waiters, &m->lock, "sync.Mutex.Lock");
}

bool mutex_trylock(struct mutex *m)
{
	bool ok = false;
	spin_lock_irqsave(&m->lock);
	if (!m->locked) {
		m->locked = true;
		ok = true;
	}
	spin_unlock_irqrestore(&m->lock);
	return ok;
}

void mutex_unlock(struct mutex *m)
{
	spin_lock_irqsave(&m->lock);
	if (!m->locked) {
		spin_unlock_irqrestore(&m->lock);
		panic("sync: unlock of unlocked mutex");
	}
	struct g *next = waitq_pop(&m->waiters);
	if (!next)
		m->locked = false;
	spin_unlock_irqrestore(&m->lock);
	if (next)
		sched_ready(next);
}
