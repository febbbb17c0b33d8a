/*
 * rt/sync.h: Go's sync package for goroutines (C programs).
 *
 *   struct sema       a counting semaphore with FIFO hand-off (the runtime's
 *                     semacquire/semrelease): sema_acquire(s), sema_tryacquire(s),
 *                     sema_release(s)
 *   struct mutex      sync.Mutex: mutex_lock(m), mutex_trylock(m), mutex_unlock(m)
 *   struct rwmutex    sync.RWMutex: rw_rlock/rw_runlock (shared), rw_lock/rw_unlock
 *                     (exclusive); once a writer waits, new readers wait behind it
 *   struct once       sync.Once: once_do(o, fn, arg) runs fn(arg) exactly once;
 *                     concurrent callers return only after it has finished
 *   struct cond       sync.Cond: cond_wait(c, m) / cond_signal(c) / cond_broadcast(c),
 *                     used in a loop: while (!condition) cond_wait(c, m);
 *
 * Every object is statically initialisable (SEMA_INIT(n), MUTEX_INIT, RWMUTEX_INIT,
 * ONCE_INIT, COND_INIT) and embedded by the caller: nothing here allocates. A zeroed
 * object is NOT valid (its spinlock would have no rank or name): use the initialiser.
 *
 * Context: goroutines only (the blocking calls park the caller: never from an
 * interrupt handler, before the scheduler runs, or holding a spinlock). The release
 * calls (sema_release, mutex_unlock, rw_runlock, rw_unlock, cond_signal,
 * cond_broadcast) never block. Misuse is a panic with Go's message:
 * "sync: unlock of unlocked mutex", "sync: RUnlock of unlocked RWMutex",
 * "sync: Unlock of unlocked RWMutex". A parked goroutine's wait reason is
 * "semacquire", "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock" or
 * "sync.Cond.Wait". As in Go, a mutex is not tied to a goroutine: one may lock it
 * and another unlock it.
 */
#ifndef RT_SYNC_H
#define RT_SYNC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <arch/ops.h>
#include <kernel/cpu.h>
#include <kernel/spinlock.h>

struct g;

/* A FIFO of parked goroutines linked by g->schedlink, guarded by its owner's lock. */
struct waitq {
	struct g *head, *tail;
};

#define WAITQ_INIT { NULL, NULL }

/* ---- semaphore (rt/sema.c) ---------------------------------------------------------- */

struct sema {
	struct spinlock lock;
	uint32_t count;			/* lock: tokens available (0 while anyone waits) */
	struct waitq waiters;		/* lock: in sema_acquire, oldest first */
};

#define SEMA_INIT(n) { SPINLOCK_INIT("sema", LOCK_RANK_SYNC), (n), WAITQ_INIT }

void sema_acquire(struct sema *s);
/* The same, shown as `reason` in goroutine dumps; lifo: wait at the head of the queue
 * (a waiter that was woken and lost the race again, as in Go's mutex). */
void sema_acquire_as(struct sema *s, const char *reason, bool lifo);
bool sema_tryacquire(struct sema *s);
void sema_release(struct sema *s);

/* ---- mutex (rt/mutex.c) --------------------------------------------------------------- */

struct mutex {
	/* MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING | waiters * MUTEX_WAITER, changed
	 * by atomic read-modify-writes only (rt/mutex.c) */
	_Atomic uint32_t state;
	struct sema sema;		/* where waiters park */
};

#define MUTEX_LOCKED   1u		/* held */
#define MUTEX_WOKEN    2u		/* a waiter is awake and competing: wake no other */
#define MUTEX_STARVING 4u		/* hand-off mode: unlock passes it to the oldest waiter */
#define MUTEX_WAITER   8u		/* one parked (or about to park) waiter */
#define MUTEX_INIT { 0, SEMA_INIT(0) }

static inline void mutex_lock(struct mutex *m);
bool mutex_trylock(struct mutex *m);
static inline void mutex_unlock(struct mutex *m);

/* The slow halves (rt/mutex.c): a held mutex; an unlock that finds waiters, a
 * starving mutex or no lock held (the panic). */
void mutex_lock_slow(struct mutex *m);
void mutex_unlock_slow(struct mutex *m, uint32_t new_state);

/*
 * The fast paths inline, as Go inlines Lock's and Unlock's: one atomic each. On a
 * machine with one CPU (cpu_single) that atomic need only be one against this CPU's
 * interrupts (arch_cas32_local: on x86-64 the instruction without its lock prefix;
 * 4.6 against 5.2 ns a lock and unlock hosted); the slow halves keep their ordinary atomics,
 * which are that and more. Not in the ThreadSanitizer build, which sees only the
 * ordinary ones.
 */
#if defined(__SANITIZE_THREAD__)
#define MUTEX_LOCAL_OK false
#else
#define MUTEX_LOCAL_OK cpu_single
#endif

static inline void mutex_lock(struct mutex *m)
{
	uint32_t s = 0;
	bool ok = MUTEX_LOCAL_OK ? arch_cas32_local(&m->state, &s, MUTEX_LOCKED)
				 : atomic_compare_exchange_strong_explicit(&m->state, &s, MUTEX_LOCKED,
									   memory_order_acquire,
									   memory_order_relaxed);
	if (!ok)
		mutex_lock_slow(m);
}

static inline void mutex_unlock(struct mutex *m)
{
	uint32_t s = (MUTEX_LOCAL_OK ? arch_fetch_add32_local(&m->state, -MUTEX_LOCKED)
				     : atomic_fetch_sub_explicit(&m->state, MUTEX_LOCKED, memory_order_release)) -
		     MUTEX_LOCKED;
	if (s != 0)
		mutex_unlock_slow(m, s);
}

/* ---- reader/writer mutex (rt/rwmutex.c) ------------------------------------------------- */

struct rwmutex {
	struct spinlock lock;
	int32_t readers;		/* lock: readers inside */
	bool writer;			/* lock: a writer inside */
	uint32_t nwwait;		/* lock: writers waiting (length of wwait) */
	struct waitq rwait;		/* lock: readers waiting, oldest first */
	struct waitq wwait;		/* lock: writers waiting, oldest first */
};

#define RWMUTEX_INIT { SPINLOCK_INIT("rwmutex", LOCK_RANK_SYNC), 0, false, 0, WAITQ_INIT, WAITQ_INIT }

void rw_rlock(struct rwmutex *rw);
void rw_runlock(struct rwmutex *rw);
void rw_lock(struct rwmutex *rw);
void rw_unlock(struct rwmutex *rw);

/* ---- once (rt/once.c) ---------------------------------------------------------------- */

struct once {
	_Atomic uint32_t done;		/* 1 once fn has returned (release/acquire) */
	struct mutex m;			/* held while fn runs */
};

#define ONCE_INIT { 0, MUTEX_INIT }

void once_do(struct once *o, void (*fn)(void *), void *arg);

/* ---- condition variable (rt/cond.c) ---------------------------------------------------- */

struct cond_waiter;

struct cond {
	struct spinlock lock;
	uint32_t wait;			/* lock: next ticket to hand a waiter */
	uint32_t notify;		/* lock: next ticket to wake; tickets below it are woken */
	struct cond_waiter *head, *tail;	/* lock: parked waiters, on their stacks */
};

#define COND_INIT { SPINLOCK_INIT("cond", LOCK_RANK_SYNC), 0, 0, NULL, NULL }

void cond_wait(struct cond *c, struct mutex *m);
void cond_signal(struct cond *c);
void cond_broadcast(struct cond *c);

/* ---- rt/ internals (rt/sema.c): wait queues ------------------------------------------- */

/*
 * Park the running goroutine at the tail of q with `reason`. The caller holds `lock`
 * (the lock guarding q), taken with spin_lock_irqsave; it is released once the
 * goroutine is marked waiting, and the irqsave half is popped here after it resumes.
 * Returns when someone popped it off q and readied it: the lock is not held then.
 */
void waitq_park(struct waitq *q, struct spinlock *lock, const char *reason);
/* The same at the head of q. */
void waitq_park_front(struct waitq *q, struct spinlock *lock, const char *reason);
/* Take the oldest goroutine off q (NULL if empty); the caller holds q's lock and
 * readies it with sched_ready after dropping the lock. */
struct g *waitq_pop(struct waitq *q);

#endif
