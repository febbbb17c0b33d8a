/*
 * kernel/newlib_lock.c: newlib's locks (built with --enable-newlib-retargetable-locking),
 * owned by the flow that took them, so malloc, stdio and friends are safe on every CPU
 * at once, and a goroutine that waits for one parks instead of spinning.
 *
 * A newlib lock is held across whole library calls: malloc's for an allocation,
 * stdout's FILE lock for a whole printf (which is what keeps a printed line whole:
 * stdout is line-buffered, so a line shorter than its 1024-byte buffer goes out as one
 * write(1), one console_write under the console lock, and no other printf can add to
 * the buffer in between), and for
 * as long as a program holds flockfile(). Its holder may therefore be preempted, or
 * block (a goroutine that sleeps between flockfile and funlockfile). So:
 *
 *   - the owner is the flow, not the CPU: the goroutine (its struct libc_state) when
 *     one runs, else this CPU (boot code, the scheduler loop). A goroutine that took
 *     the lock on one CPU may take it again recursively, and release it, on another;
 *   - a goroutine holds it with interrupts on (preemptible, as any code is);
 *   - a goroutine that finds it taken queues itself on the lock and parks, through the
 *     operations rt/ registered (kernel/libc_state.h; rt/libc_lock.c), and is handed
 *     the lock by the releaser: FIFO, no barging, so a waiter cannot starve;
 *   - a waiter that cannot park spins, re-enabling interrupts between looks when they
 *     were on: code outside goroutines, goroutines called with interrupts off or a
 *     spinlock held, and everyone before rt/ registered. Such a waiter is served only
 *     when no goroutine is queued.
 *
 * Each lock's state sits under its own spinlock, held only for the few instructions of
 * an acquire or release (and by a parking waiter until the scheduler has marked it
 * waiting, the protocol of rt/sema.c). It is ranked LOCK_RANK_NONE (outside the rank
 * check): nothing is taken under it, and it may be taken under any spinlock (the
 * waiter then spins, as above). Interrupt handlers must never take a newlib lock (a
 * handler cannot wait for a goroutine that holds it): that is a panic.
 * Before the boot CPU has per-CPU data only one CPU runs, and the locks do nothing.
 *
 * The static locks newlib names are defined here, so its default no-op lib_a-lock.o
 * is never linked; FILE locks created at run time come from a fixed pool.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <sys/lock.h>
#include <kernel/cpu.h>
#include <kernel/libc_state.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>

extern const struct libc_lock_ops *libc_lock_ops;	/* kernel/libc_state.c */

struct __lock {
	struct spinlock sl;		/* guards the fields below */
	const void *_Atomic owner;	/* the holder (libc_state or cpu), NULL when free;
					 * read without sl by spinning waiters, as a hint */
	unsigned depth;			/* recursive acquisitions by the owner */
	struct libc_state *head, *tail;	/* parked goroutines, oldest first (wait_next) */
};

#define NEWLIB_LOCK(name) struct __lock name = { SPINLOCK_INIT(#name, LOCK_RANK_NONE), NULL, 0, NULL, NULL }

NEWLIB_LOCK(__lock___sinit_recursive_mutex);
NEWLIB_LOCK(__lock___sfp_recursive_mutex);
NEWLIB_LOCK(__lock___atexit_recursive_mutex);
NEWLIB_LOCK(__lock___at_quick_exit_mutex);
NEWLIB_LOCK(__lock___malloc_recursive_mutex);
NEWLIB_LOCK(__lock___env_recursive_mutex);
NEWLIB_LOCK(__lock___tz_mutex);
NEWLIB_LOCK(__lock___dd_hash_mutex);
NEWLIB_LOCK(__lock___arc4random_mutex);

#define LOCK_POOL 128
static struct __lock lock_pool[LOCK_POOL];
static _Atomic unsigned lock_pool_used;

/* The calling flow: its goroutine's state (also in *g), or else this CPU. Interrupts
 * off. */
static const void *flow(struct cpu *c, struct libc_state **g)
{
	if (c->in_irq)
		panic("newlib: a C library lock taken in an interrupt handler");
	*g = libc_state_running();
	return *g ? (const void *)*g : (const void *)c;
}

void __retarget_lock_init(_LOCK_T *lock)
{
	unsigned i = atomic_fetch_add(&lock_pool_used, 1);
	if (i >= LOCK_POOL)
		panic("newlib: more than %d dynamic locks (open FILEs)", LOCK_POOL);
	lock_pool[i] = (struct __lock){ SPINLOCK_INIT("newlib_file", LOCK_RANK_NONE), NULL, 0, NULL, NULL };
	*lock = &lock_pool[i];
}

void __retarget_lock_init_recursive(_LOCK_T *lock)
{
	__retarget_lock_init(lock);
}

void __retarget_lock_close(_LOCK_T lock)
{
	(void)lock;	/* pool entries are not reused: FILEs are few and long-lived here */
}

void __retarget_lock_close_recursive(_LOCK_T lock)
{
	(void)lock;
}

/* Take it if free or ours; true if taken. l->sl held. */
static bool take_locked(_LOCK_T l, const void *me)
{
	const void *o = atomic_load_explicit(&l->owner, memory_order_relaxed);
	if (o == me) {
		l->depth++;
		return true;
	}
	if (!o && !l->head) {
		atomic_store_explicit(&l->owner, me, memory_order_relaxed);
		l->depth = 1;
		return true;
	}
	return false;
}

void __retarget_lock_acquire_recursive(_LOCK_T l)
{
	if (!arch_percpu())
		return;		/* before the boot CPU has per-CPU data: nothing else runs */
	bool was_on = arch_irq_enabled();
	spin_lock_irqsave(&l->sl);
	struct cpu *c = cpu_this();
	struct libc_state *g;
	const void *me = flow(c, &g);
	if (take_locked(l, me)) {
		spin_unlock_irqrestore(&l->sl);
		return;
	}
	const struct libc_lock_ops *ops = libc_lock_ops;
	if (g && ops && was_on && c->nlocks == 1) {
		/* park; the releaser hands us the lock (owner already set to us) */
		g->wait_next = NULL;
		if (l->tail)
			l->tail->wait_next = g;
		else
			l->head = g;
		l->tail = g;
		ops->park(&l->sl);	/* releases sl once parked, pops the irqsave */
		KASSERT(atomic_load_explicit(&l->owner, memory_order_relaxed) == me);
		return;
	}
	/* spin, with interrupts as the caller had them between looks */
	spin_unlock_irqrestore(&l->sl);
	for (;;) {
		while (atomic_load_explicit(&l->owner, memory_order_relaxed))
			arch_cpu_relax();
		spin_lock_irqsave(&l->sl);
		bool ok = take_locked(l, me);
		spin_unlock_irqrestore(&l->sl);
		if (ok)
			return;
	}
}

void __retarget_lock_acquire(_LOCK_T lock)
{
	__retarget_lock_acquire_recursive(lock);
}

int __retarget_lock_try_acquire_recursive(_LOCK_T l)
{
	if (!arch_percpu())
		return 1;
	spin_lock_irqsave(&l->sl);
	struct libc_state *g;
	bool ok = take_locked(l, flow(cpu_this(), &g));
	spin_unlock_irqrestore(&l->sl);
	return ok;
}

int __retarget_lock_try_acquire(_LOCK_T lock)
{
	return __retarget_lock_try_acquire_recursive(lock);
}

void __retarget_lock_release_recursive(_LOCK_T l)
{
	if (!arch_percpu())
		return;
	spin_lock_irqsave(&l->sl);
	struct libc_state *g, *next = NULL;
	const void *me = flow(cpu_this(), &g);
	if (atomic_load_explicit(&l->owner, memory_order_relaxed) != me || !l->depth) {
		spin_unlock_irqrestore(&l->sl);
		panic("newlib: lock %p released by a flow that does not hold it", (void *)l);
	}
	if (--l->depth == 0) {
		next = l->head;
		if (next) {
			l->head = next->wait_next;
			if (!l->head)
				l->tail = NULL;
			next->wait_next = NULL;
			l->depth = 1;	/* handed over: next returns from its park owning it */
		}
		atomic_store_explicit(&l->owner, next, memory_order_relaxed);
	}
	spin_unlock_irqrestore(&l->sl);
	if (next)
		libc_lock_ops->ready(next);
}

void __retarget_lock_release(_LOCK_T lock)
{
	__retarget_lock_release_recursive(lock);
}
