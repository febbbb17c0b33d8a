/*
 * kernel/newlib_lock.c: newlib's locks (built with --enable-newlib-retargetable-locking),
 * so malloc, stdio and friends are safe on every CPU at once.
 *
 * Each newlib lock is a spinlock taken with interrupts off, made recursive by an
 * owner (the CPU) and a depth. The owner can be the CPU rather than the goroutine
 * because a flow never switches while it holds a spinlock: newlib never blocks inside
 * its locks, and the scheduler refuses to switch a goroutine that holds a lock (and
 * preemption, later, will not interrupt code holding one). The locks are ranked
 * LOCK_RANK_NONE: newlib nests them in its own order, and the console (ranked last)
 * may be taken inside any of them.
 *
 * Cost: output written by printf happens with interrupts off on that CPU for the
 * length of the write. Rejected for now: goroutine-blocking locks (newlib's FILE
 * locks would then park, which needs the per-goroutine reent first).
 *
 * The static locks newlib names are defined here, so its default no-op lib_a-lock.o
 * is never linked; FILE locks created at run time come from a fixed pool.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <sys/lock.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>

struct __lock {
	struct spinlock sl;
	_Atomic int owner;		/* CPU id + 1 of the holder, 0 when free */
	unsigned depth;			/* recursive acquisitions by the owner */
};

#define NEWLIB_LOCK(name) struct __lock name = { SPINLOCK_INIT(#name, LOCK_RANK_NONE), 0, 0 }

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

static int me(void)
{
	return arch_percpu() ? (int)cpu_id() + 1 : 1;	/* before per-CPU data: the boot CPU */
}

void __retarget_lock_init(_LOCK_T *lock)
{
	unsigned i = atomic_fetch_add(&lock_pool_used, 1);
	if (i >= LOCK_POOL)
		panic("newlib: more than %d dynamic locks (open FILEs)", LOCK_POOL);
	lock_pool[i] = (struct __lock){ SPINLOCK_INIT("newlib_file", LOCK_RANK_NONE), 0, 0 };
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

void __retarget_lock_acquire_recursive(_LOCK_T lock)
{
	if (!arch_percpu())
		return;		/* before the boot CPU has per-CPU data: nothing else runs */
	if (atomic_load_explicit(&lock->owner, memory_order_relaxed) == me()) {
		lock->depth++;
		return;
	}
	spin_lock_irqsave(&lock->sl);
	atomic_store_explicit(&lock->owner, me(), memory_order_relaxed);
	lock->depth = 1;
}

void __retarget_lock_acquire(_LOCK_T lock)
{
	__retarget_lock_acquire_recursive(lock);
}

int __retarget_lock_try_acquire_recursive(_LOCK_T lock)
{
	if (!arch_percpu())
		return 1;
	if (atomic_load_explicit(&lock->owner, memory_order_relaxed) == me()) {
		lock->depth++;
		return 1;
	}
	irq_push();
	if (atomic_load_explicit(&lock->sl.locked, memory_order_relaxed)) {
		irq_pop();
		return 0;
	}
	irq_pop();
	__retarget_lock_acquire_recursive(lock);	/* may spin briefly if raced */
	return 1;
}

int __retarget_lock_try_acquire(_LOCK_T lock)
{
	return __retarget_lock_try_acquire_recursive(lock);
}

void __retarget_lock_release_recursive(_LOCK_T lock)
{
	if (!arch_percpu())
		return;
	KASSERT(atomic_load_explicit(&lock->owner, memory_order_relaxed) == me());
	if (--lock->depth)
		return;
	atomic_store_explicit(&lock->owner, 0, memory_order_relaxed);
	spin_unlock_irqrestore(&lock->sl);
}

void __retarget_lock_release(_LOCK_T lock)
{
	__retarget_lock_release_recursive(lock);
}
