/*
 * rt/cond.c: sync.Cond, on Go's notify list (runtime/sema.go notifyList).
 *
 * cond_wait must release the caller's mutex and go to sleep without missing a signal
 * sent in between, yet it cannot hold the cond's lock while unlocking the mutex (both
 * are LOCK_RANK_SYNC, and a mutex hand-off readies a goroutine). So, as in Go, a
 * waiter first takes a ticket (c->wait++) under the cond's lock, then unlocks the
 * mutex, then takes the cond's lock again and parks unless its ticket has been
 * notified meanwhile. cond_signal wakes the oldest ticket not yet notified
 * (c->notify++), whether that waiter is already parked or still on its way (then it
 * sees its ticket below c->notify and does not park); cond_broadcast notifies every
 * ticket handed out. A signal with no ticket outstanding is lost, as it should be.
 *
 * Waiters are recorded on their own stacks (struct cond_waiter: a G parked here is
 * on exactly one list and its frame outlives the wait), so tickets need no room in
 * struct g. Tickets wrap: they are compared by signed difference.
 */
#include <stddef.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/sched.h>
#include <rt/sync.h>

struct cond_waiter {
	struct g *g;
	uint32_t ticket;
	struct cond_waiter *next;	/* c->lock */
};

static bool ticket_notified(struct cond *c, uint32_t t)
{
	return (int32_t)(t - c->notify) < 0;
}

static bool cond_park_unlock(struct g *g, void *arg)
{
	(void)g;
	spin_unlock(arg);		/* the irqsave half is popped by cond_wait */
	return true;
}

void cond_wait(struct cond *c, struct mutex *m)
{
	struct cond_waiter w = { sched_curg(), 0, NULL };
	if (!w.g)
		panic("cond_wait: not called from a goroutine");

	spin_lock_irqsave(&c->lock);
	w.ticket = c->wait++;
	spin_unlock_irqrestore(&c->lock);

	mutex_unlock(m);

	spin_lock_irqsave(&c->lock);
	if (ticket_notified(c, w.ticket)) {
		spin_unlock_irqrestore(&c->lock);
	} else {
		if (c->tail)
			c->tail->next = &w;
		else
			c->head = &w;
		c->tail = &w;
		/* the lock is released by the scheduler, after we are marked waiting */
		sched_park("sync.Cond.Wait", cond_park_unlock, &c->lock);
		irq_pop();
	}
	mutex_lock(m);
}

void cond_signal(struct cond *c)
{
	struct g *g = NULL;
	spin_lock_irqsave(&c->lock);
	if (c->wait == c->notify) {
		spin_unlock_irqrestore(&c->lock);
		return;
	}
	uint32_t t = c->notify++;
	/* usually the head: tickets are queued nearly in order */
	for (struct cond_waiter *prev = NULL, *w = c->head; w; prev = w, w = w->next) {
		if (w->ticket != t)
			continue;
		if (prev)
			prev->next = w->next;
		else
			c->head = w->next;
		if (c->tail == w)
			c->tail = prev;
		g = w->g;		/* w lives on g's stack: not touched after this */
		break;
	}
	spin_unlock_irqrestore(&c->lock);
	if (g)
		sched_ready(g);
}

void cond_broadcast(struct cond *c)
{
	spin_lock_irqsave(&c->lock);
	if (c->wait == c->notify) {
		spin_unlock_irqrestore(&c->lock);
		return;
	}
	c->notify = c->wait;
	struct cond_waiter *list = c->head;
	c->head = c->tail = NULL;
	/* the waiters' records live on their stacks: collect the Gs before any runs */
	struct waitq wake_q = WAITQ_INIT;
	for (struct cond_waiter *w = list; w; w = w->next) {
		w->g->schedlink = NULL;
		if (wake_q.tail)
			wake_q.tail->schedlink = w->g;
		else
			wake_q.head = w->g;
		wake_q.tail = w->g;
	}
	struct g *wake = wake_q.head;
	spin_unlock_irqrestore(&c->lock);
	while (wake) {
		struct g *next = wake->schedlink;
		wake->schedlink = NULL;
		sched_ready(wake);
		wake = next;
	}
}
