/*
 * rt/mutex.c: sync.Mutex.
 *
 * One atomic word, m->state: MUTEX_LOCKED and a count of parked waiters. With no
 * waiter, lock and unlock are one compare-and-swap each (Go's fast path). Otherwise
 * both take the mutex's spinlock, under which the waiter count and the FIFO of
 * waiters (rt/sema.c describes the wait-queue protocol) change together:
 *
 *   lock     the mutex is free: take it (CAS); held: count ourselves a waiter (CAS,
 *            so it cannot race an unlocker's fast path) and park; the unlocker hands
 *            the mutex over, still locked, and we return from the park owning it
 *   unlock   waiters: pop the oldest, uncount it, leave MUTEX_LOCKED set and ready it
 *            (the hand-off); none: clear MUTEX_LOCKED
 *
 * So a newcomer can take a free mutex ahead of no one (a mutex with waiters is never
 * free: it passes from hand to hand), and the waiters are served strictly in order:
 * Go's starvation mode whenever there is a queue, its fast path when there is not.
 * Rejected for now: Go's normal mode (waking a waiter to compete with newcomers) needs
 * spinning and a wait-time clock to pay off on a contended mutex; with preemption a
 * holder can lose its CPU, so a newcomer spinning for it helps less.
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
	uint32_t s = 0;
	if (atomic_compare_exchange_strong_explicit(&m->state, &s, MUTEX_LOCKED, memory_order_acquire,
						    memory_order_relaxed))
		return;
	spin_lock_irqsave(&m->lock);
	s = atomic_load_explicit(&m->state, memory_order_relaxed);
	for (;;) {
		if (!(s & MUTEX_LOCKED)) {
			if (atomic_compare_exchange_weak_explicit(&m->state, &s, s | MUTEX_LOCKED,
								  memory_order_acquire, memory_order_relaxed)) {
				spin_unlock_irqrestore(&m->lock);
				return;
			}
		} else if (atomic_compare_exchange_weak_explicit(&m->state, &s, s + MUTEX_WAITER,
								 memory_order_relaxed, memory_order_relaxed)) {
			break;
		}
	}
	/* mutex_unlock hands the (still locked) mutex to us */
	waitq_park(&m->waiters, &m->lock, "sync.Mutex.Lock");
}

bool mutex_trylock(struct mutex *m)
{
	uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
	while (!(s & MUTEX_LOCKED))
		if (atomic_compare_exchange_weak_explicit(&m->state, &s, s | MUTEX_LOCKED, memory_order_acquire,
							  memory_order_relaxed))
			return true;
	return false;
}

void mutex_unlock(struct mutex *m)
{
	uint32_t s = MUTEX_LOCKED;
	if (atomic_compare_exchange_strong_explicit(&m->state, &s, 0, memory_order_release,
						    memory_order_relaxed))
		return;
	if (!(s & MUTEX_LOCKED))
		panic("sync: unlock of unlocked mutex");
	spin_lock_irqsave(&m->lock);
	struct g *next = waitq_pop(&m->waiters);
	if (next) {
		atomic_fetch_sub_explicit(&m->state, MUTEX_WAITER, memory_order_release);
	} else {
		/* no waiter queued yet a count: cannot be (both change under the lock) */
		s = atomic_fetch_and_explicit(&m->state, ~MUTEX_LOCKED, memory_order_release);
		KASSERT(s == MUTEX_LOCKED);
	}
	spin_unlock_irqrestore(&m->lock);
	if (next)
		sched_ready(next);
}
