/*
 * rt/rwmutex.c: sync.RWMutex.
 *
 * State under one spinlock: the readers inside, whether a writer is inside, and two
 * FIFOs of waiters (readers, writers). The rules, which are Go's:
 *
 *   - a reader enters at once only if no writer is inside and no writer waits:
 *     a waiting writer blocks new readers, so a stream of readers cannot starve it;
 *   - a writer enters at once only if nobody is inside (then nobody waits either);
 *   - the last reader out hands the lock to the oldest waiting writer;
 *   - a writer going out admits every reader that queued while it waited or held the
 *     lock, all at once (Go's "readers that were blocked by the writer run first"),
 *     else hands to the next writer. Writers then wait for that batch of readers
 *     only, so neither side starves.
 *
 * Ownership is always handed over under the lock (readers counted in, writer flag
 * set) before the waiter is readied, so a woken goroutine never re-checks anything.
 * Go builds this from a mutex, two semaphores and atomic counters so that the
 * uncontended read path is a single atomic add; a lock round trip is simpler to
 * reason about and is the same cost here until benchmarks say otherwise.
 */
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/sched.h>
#include <rt/sync.h>

void rw_rlock(struct rwmutex *rw)
{
	spin_lock_irqsave(&rw->lock);
	if (!rw->writer && rw->nwwait == 0) {
		rw->readers++;
		spin_unlock_irqrestore(&rw->lock);
		return;
	}
	/* rw_unlock counts us in before readying us */
	waitq_park(&rw->rwait, &rw->lock, "sync.RWMutex.RLock");
}

void rw_runlock(struct rwmutex *rw)
{
	struct g *w = NULL;
	spin_lock_irqsave(&rw->lock);
	if (rw->readers <= 0) {
		spin_unlock_irqrestore(&rw->lock);
		panic("sync: RUnlock of unlocked RWMutex");
	}
	if (--rw->readers == 0 && (w = waitq_pop(&rw->wwait))) {
		rw->nwwait--;
		rw->writer = true;
	}
	spin_unlock_irqrestore(&rw->lock);
	if (w)
		sched_ready(w);
}

void rw_lock(struct rwmutex *rw)
{
	spin_lock_irqsave(&rw->lock);
	if (!rw->writer && rw->readers == 0) {
		rw->writer = true;
		spin_unlock_irqrestore(&rw->lock);
		return;
	}
	rw->nwwait++;
	/* the last reader out, or the writer before us, sets rw->writer for us */
	waitq_park(&rw->wwait, &rw->lock, "sync.RWMutex.Lock");
}

void rw_unlock(struct rwmutex *rw)
{
	spin_lock_irqsave(&rw->lock);
	if (!rw->writer) {
		spin_unlock_irqrestore(&rw->lock);
		panic("sync: Unlock of unlocked RWMutex");
	}
	rw->writer = false;
	struct g *wake = NULL;
	if (rw->rwait.head) {
		/* admit every waiting reader; the list moves to us, linked by schedlink */
		wake = rw->rwait.head;
		for (struct g *r = wake; r; r = r->schedlink)
			rw->readers++;
		rw->rwait.head = rw->rwait.tail = NULL;
	} else if ((wake = waitq_pop(&rw->wwait))) {
		rw->nwwait--;
		rw->writer = true;
	}
	spin_unlock_irqrestore(&rw->lock);
	while (wake) {
		struct g *next = wake->schedlink;
		wake->schedlink = NULL;
		sched_ready(wake);
		wake = next;
	}
}
