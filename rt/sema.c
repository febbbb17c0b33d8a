/*
 * rt/sema.c: a counting semaphore with FIFO hand-off, and the wait queues every
 * sync primitive parks on (rt/sync.h).
 *
 * Each primitive keeps its state and a queue of parked goroutines (linked through
 * g->schedlink, which a waiting G uses for nothing else) under one spinlock of rank
 * LOCK_RANK_SYNC. The protocol is rt/waitgroup.c's: the waiter takes the lock with
 * spin_lock_irqsave, queues itself and parks; the scheduler releases the lock with
 * the plain spin_unlock only after the G is marked waiting, so whoever takes the lock
 * next and finds the G on the queue may ready it. Wakers pop under the lock and call
 * sched_ready after dropping it (sched's lock ranks above ours, but readying may send
 * an IPI: no need to hold a wait list across that).
 *
 * The semaphore hands a released token straight to the oldest waiter rather than
 * adding it to the count and letting waiters race for it (Go's semrelease with
 * handoff=true): waiters are served strictly in arrival order, and a released token
 * can never be stolen by a newcomer. The count is therefore 0 whenever anyone waits.
 * The cost is a context switch per release under contention; Go's mutex avoids it by
 * letting newcomers barge (and adds starvation mode to bound the unfairness), which
 * is left for when preemption and a profiler make the trade measurable.
 */
#include <stddef.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/sched.h>
#include <rt/sync.h>

/* ---- wait queues ------------------------------------------------------------------------ */

static bool waitq_park_unlock(struct g *g, void *arg)
{
	(void)g;
	spin_unlock(arg);		/* the irqsave half is popped by waitq_park */
	return true;
}

static void waitq_park_at(struct waitq *q, struct spinlock *lock, const char *reason, bool front)
{
	struct g *self = sched_curg();
	if (!self) {
		spin_unlock_irqrestore(lock);
		panic("%s: not called from a goroutine", reason);
	}
	KASSERT(spin_held(lock));
	if (front) {
		self->schedlink = q->head;
		q->head = self;
		if (!q->tail)
			q->tail = self;
	} else {
		self->schedlink = NULL;
		if (q->tail)
			q->tail->schedlink = self;
		else
			q->head = self;
		q->tail = self;
	}
	/* the lock is released by the scheduler, after we are marked waiting */
	sched_park(reason, waitq_park_unlock, lock);
	irq_pop();
}

void waitq_park(struct waitq *q, struct spinlock *lock, const char *reason)
{
	waitq_park_at(q, lock, reason, false);
}

void waitq_park_front(struct waitq *q, struct spinlock *lock, const char *reason)
{
	waitq_park_at(q, lock, reason, true);
}

struct g *waitq_pop(struct waitq *q)
{
	struct g *g = q->head;
	if (g) {
		q->head = g->schedlink;
		if (!q->head)
			q->tail = NULL;
		g->schedlink = NULL;
	}
	return g;
}

/* ---- the semaphore ----------------------------------------------------------------------- */

void sema_acquire_as(struct sema *s, const char *reason, bool lifo)
{
	spin_lock_irqsave(&s->lock);
	if (s->count > 0) {
		s->count--;
		spin_unlock_irqrestore(&s->lock);
		return;
	}
	/* the token is handed to us by sema_release: nothing to re-check */
	if (lifo)
		waitq_park_front(&s->waiters, &s->lock, reason);
	else
		waitq_park(&s->waiters, &s->lock, reason);
}

void sema_acquire(struct sema *s)
{
	sema_acquire_as(s, "semacquire", false);
}

bool sema_tryacquire(struct sema *s)
{
	bool ok = false;
	spin_lock_irqsave(&s->lock);
	if (s->count > 0) {
		s->count--;
		ok = true;
	}
	spin_unlock_irqrestore(&s->lock);
	return ok;
}

void sema_release(struct sema *s)
{
	spin_lock_irqsave(&s->lock);
	struct g *g = waitq_pop(&s->waiters);
	if (!g) {
		if (s->count == UINT32_MAX) {
			spin_unlock_irqrestore(&s->lock);
			panic("sync: semaphore count overflow");
		}
		s->count++;
	}
	spin_unlock_irqrestore(&s->lock);
	if (g)
		sched_ready(g);
}
