/*
 * rt/mutex.c: sync.Mutex, Go's design (sync/mutex.go) on this runtime's semaphore.
 *
 * One atomic word, m->state: MUTEX_LOCKED, MUTEX_WOKEN, MUTEX_STARVING and a count of
 * waiters; waiters park on m->sema (rt/sema.c). Without contention lock and unlock
 * are one atomic operation each, inline in rt/sync.h; everything else is here
 * (mutex_lock_slow, mutex_unlock_slow). Two modes:
 *
 *   normal     an unlock clears MUTEX_LOCKED and, if there are waiters and none is
 *              awake already, wakes one (MUTEX_WOKEN), which then competes with
 *              whoever else wants the mutex: a goroutine that is running now (it
 *              may have spun a little on another CPU) usually wins, which keeps a
 *              contended mutex moving at the speed of running code instead of that of
 *              a context switch; a woken waiter that loses parks again at the head.
 *   starving   a waiter that has waited more than STARVE_NS sets MUTEX_STARVING:
 *              newcomers no longer take the mutex nor spin but queue, and an unlock
 *              hands the mutex to the oldest waiter. The last waiter, or one that
 *              waited less than STARVE_NS, turns the mode back to normal.
 *
 * Spinning: a lock that finds the mutex held by someone running (not starving), with
 * more than one CPU, spins up to SPIN_ROUNDS short rounds before it parks.
 *
 * As in Go, a mutex is not owned by a goroutine (any goroutine may unlock it), and
 * unlocking an unlocked mutex is a panic.
 */
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/sched.h>
#include <rt/sync.h>

#define STARVE_NS	1000000ull	/* 1 ms, Go's starvationThresholdNs */
#define SPIN_ROUNDS	4
#define SPIN_PAUSES	30

#define WAITERS(s)	((s) / MUTEX_WAITER)

void mutex_lock_slow(struct mutex *m)
{
	uint64_t wait_start = 0;
	bool starving = false, awoke = false;
	int iter = 0;
	uint32_t old = atomic_load_explicit(&m->state, memory_order_relaxed);
	for (;;) {
		/* held by someone running, not starving: spin a little (multicore only) */
		if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED && iter < SPIN_ROUNDS &&
		    cpu_count() > 1) {
			/* tell unlock not to wake another waiter: we are awake and trying */
			if (!awoke && !(old & MUTEX_WOKEN) && WAITERS(old) &&
			    atomic_compare_exchange_weak_explicit(&m->state, &old, old | MUTEX_WOKEN,
								  memory_order_relaxed, memory_order_relaxed))
				awoke = true;
			for (int i = 0; i < SPIN_PAUSES; i++)
				arch_cpu_relax();
			iter++;
			old = atomic_load_explicit(&m->state, memory_order_relaxed);
			continue;
		}
		uint32_t new = old;
		if (!(old & MUTEX_STARVING))
			new |= MUTEX_LOCKED;		/* normal mode: try to take it */
		if (old & (MUTEX_LOCKED | MUTEX_STARVING))
			new += MUTEX_WAITER;		/* we will wait */
		if (starving && (old & MUTEX_LOCKED))
			new |= MUTEX_STARVING;		/* waited too long: switch modes */
		if (awoke) {
			KASSERT(new & MUTEX_WOKEN);
			new &= ~MUTEX_WOKEN;
		}
		if (!atomic_compare_exchange_weak_explicit(&m->state, &old, new, memory_order_acquire,
							   memory_order_relaxed))
			continue;
		if (!(old & (MUTEX_LOCKED | MUTEX_STARVING)))
			return;				/* taken */
		bool requeue = wait_start != 0;
		if (!wait_start)
			wait_start = clock_ns();
		sema_acquire_as(&m->sema, "sync.Mutex.Lock", requeue);
		starving = starving || clock_ns() - wait_start > STARVE_NS;
		old = atomic_load_explicit(&m->state, memory_order_relaxed);
		if (old & MUTEX_STARVING) {
			/* handed to us: MUTEX_LOCKED is not set yet, nobody else can take it */
			KASSERT(!(old & (MUTEX_LOCKED | MUTEX_WOKEN)) && WAITERS(old) > 0);
			uint32_t delta = MUTEX_LOCKED - MUTEX_WAITER;
			if (!starving || WAITERS(old) == 1)
				delta -= MUTEX_STARVING;	/* back to normal mode */
			atomic_fetch_add_explicit(&m->state, delta, memory_order_acquire);
			return;
		}
		awoke = true;
		iter = 0;
	}
}

bool mutex_trylock(struct mutex *m)
{
	uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
	while (!(s & (MUTEX_LOCKED | MUTEX_STARVING)))
		if (atomic_compare_exchange_weak_explicit(&m->state, &s, s | MUTEX_LOCKED, memory_order_acquire,
							  memory_order_relaxed))
			return true;
	return false;
}

/* new: the state after the unlock's subtraction, not 0 */
void mutex_unlock_slow(struct mutex *m, uint32_t new)
{
	if (!((new + MUTEX_LOCKED) & MUTEX_LOCKED))
		panic("sync: unlock of unlocked mutex");
	if (new & MUTEX_STARVING) {
		/* hand-off: the oldest waiter takes it (MUTEX_STARVING keeps others out) */
		sema_release(&m->sema);
		return;
	}
	uint32_t old = new;
	for (;;) {
		/* nobody to wake, or someone already took it, or a waiter is awake */
		if (!WAITERS(old) || (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)))
			return;
		if (atomic_compare_exchange_weak_explicit(&m->state, &old, (old - MUTEX_WAITER) | MUTEX_WOKEN,
							  memory_order_relaxed, memory_order_relaxed)) {
			sema_release(&m->sema);
			return;
		}
	}
}

