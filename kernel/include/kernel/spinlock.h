/*
 * kernel/spinlock.h: spinlocks, with the lock order written down as data.
 *
 *   spin_lock_irqsave(l) / spin_unlock_irqrestore(l)
 *       interrupts off (nesting, kernel/cpu.h) for as long as the lock is held: for
 *       every lock an interrupt handler may also take.
 *   spin_lock(l) / spin_unlock(l)
 *       interrupts untouched: only for locks no interrupt handler takes.
 *   spin_lock_group(ls, n) / spin_unlock_group(ls, n)
 *       n locks of one rank, taken in the order given (the caller's total order, e.g.
 *       by address) and released in reverse, with interrupts already off; they are
 *       one entry of the CPU's lock stack (struct cpu.lock_ranks holds
 *       CPU_LOCK_STACK), so any number can be held at once (select over n channels).
 *
 * Every lock has a rank (enum lock_rank below, the one table of lock order). A CPU
 * may only take a lock of a strictly higher rank than every lock it holds (except
 * LOCK_RANK_CHAN over LOCK_RANK_CHAN, ordered by address by its one user); debug
 * builds check that on every acquire and panic naming both locks. A lock spun on for
 * longer than SPIN_PANIC_NS panics naming the lock and its holder: a deadlock is a
 * report, not a hang. Context: any (but the plain variants not from interrupts).
 */
#ifndef KERNEL_SPINLOCK_H
#define KERNEL_SPINLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <kernel/cpu.h>

/* The lock order, lowest first: take them in this order only. */
enum lock_rank {
	LOCK_RANK_NONE = 0,	/* test locks that are never nested */
	LOCK_RANK_STW,		/* stop-the-world ownership (not a spinlock, listed for order) */
	LOCK_RANK_TEST_OUTER,	/* tests of the rank checker */
	LOCK_RANK_TEST_INNER,
	LOCK_RANK_SYNC,		/* rt/ wait lists: wait groups, semaphores, mutexes, conds */
	LOCK_RANK_TIMER,	/* rt/ per-CPU timer heaps (taken by the timer interrupt,
				 * which sends on channels and readies under it) */
	LOCK_RANK_CHAN,		/* rt/ channels; the one rank that may nest with itself:
				 * select takes several, always in address order */
	LOCK_RANK_SCHED,	/* rt/ global run queue, allgs */
	LOCK_RANK_STACK,	/* stack reservations: free lists, bump (kernel/stack.c) */
	LOCK_RANK_GC_CTL,	/* rt/gc: the collector's cycle state, roots, finalizer queue */
	LOCK_RANK_GC_CENTRAL,	/* rt/gc: a size class's central span lists */
	LOCK_RANK_GC_SPECIAL,	/* rt/gc: finalizer records of the spans; disappearing links */
	LOCK_RANK_GC_HEAP,	/* rt/gc: the page heap (spans, chunks) */
	LOCK_RANK_GC_META,	/* rt/gc: span structs and bitmaps */
	LOCK_RANK_VM,		/* kernel page tables; this and later ranks prefault the stack */
	LOCK_RANK_PMM,		/* physical page allocator */
	LOCK_RANK_IPI_POOL,	/* free asynchronous cross-call records */
	LOCK_RANK_CONSOLE,	/* console output: last, so anything may print */
	LOCK_RANK_COUNT
};

struct spinlock {
	_Atomic uint32_t locked;
	uint16_t rank;			/* enum lock_rank */
	const char *name;
	_Atomic int holder;		/* CPU id + 1 of the holder, 0 when free (for reports) */
};

#define SPINLOCK_INIT(nm, rk) { 0, (rk), (nm), 0 }

void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
static inline void spin_lock_irqsave(struct spinlock *l);
static inline void spin_unlock_irqrestore(struct spinlock *l);
void spin_lock_group(struct spinlock *const *ls, int n);
void spin_unlock_group(struct spinlock *const *ls, int n);
/* Does this CPU hold l? (for asserts) */
bool spin_held(struct spinlock *l);

extern const char *const lock_rank_names[LOCK_RANK_COUNT];

/* The debug builds' checks before taking l (rank order, lock-stack depth, a second
 * take), in the order they are reported: the first that fails, or SPIN_OK. */
enum spin_check { SPIN_OK, SPIN_TOO_MANY, SPIN_ORDER, SPIN_TWICE };

static inline enum spin_check spin_check(const struct cpu *c, const struct spinlock *l)
{
#ifndef NDEBUG
	int n = c->nlocks;
	if (n >= CPU_LOCK_STACK)
		return SPIN_TOO_MANY;
	/* equal ranks nest only for channels: select orders them by address itself */
	if (n && l->rank != LOCK_RANK_NONE && c->lock_ranks[n - 1] >= l->rank &&
	    !(l->rank == LOCK_RANK_CHAN && c->lock_ranks[n - 1] == LOCK_RANK_CHAN))
		return SPIN_ORDER;
	if (atomic_load_explicit(&l->holder, memory_order_relaxed) == (int)c->id + 1)
		return SPIN_TWICE;
#else
	(void)c, (void)l;
#endif
	return SPIN_OK;
}

/* l was just taken by this CPU: its holder and its place on the lock stack. */
static inline void spin_push(struct cpu *c, struct spinlock *l)
{
	atomic_store_explicit(&l->holder, (int)c->id + 1, memory_order_relaxed);
	c->lock_ranks[c->nlocks] = l->rank;
	c->lock_names[c->nlocks] = l->name;
	c->nlocks++;
}

/* The out-of-line halves of the two below: everything but an uncontended lock whose
 * rank needs no stack prefault (and, in debug builds, that passes the rank check). */
void spin_lock_irqoff_slow(struct spinlock *l);
void spin_unlock_slow(struct spinlock *l);

/*
 * The irqsave pair inline (channels, wait lists and the allocator take them on every
 * operation; a call and acquire's general case were a fifth of a buffered channel's
 * time): the fast path does what acquire/release in kernel/spinlock.c do, in the same
 * order, and hands every other case (contention, a rank that prefaults the stack, a
 * check that would fail) to them.
 */
static inline void spin_lock_irqsave(struct spinlock *l)
{
	irq_push();
	struct cpu *c = cpu_this();
	/* a failing check goes out of line too, which panics naming the problem */
	if (__builtin_expect(spin_check(c, l) != SPIN_OK || l->rank >= LOCK_RANK_VM ||
			     atomic_load_explicit(&l->locked, memory_order_relaxed) ||
			     atomic_exchange_explicit(&l->locked, 1, memory_order_acquire), 0)) {
		spin_lock_irqoff_slow(l);
		return;
	}
	spin_push(c, l);
}

static inline void spin_unlock_irqrestore(struct spinlock *l)
{
	struct cpu *c = cpu_this();
	int n = c->nlocks - 1;
	if (__builtin_expect(n < 0 || c->lock_names[n] != l->name
#ifndef NDEBUG
			     || atomic_load_explicit(&l->holder, memory_order_relaxed) != (int)c->id + 1
#endif
			     , 0)) {
		spin_unlock_slow(l);	/* not the last taken, or a check that fails */
	} else {
		c->nlocks = n;
		atomic_store_explicit(&l->holder, 0, memory_order_relaxed);
		atomic_store_explicit(&l->locked, 0, memory_order_release);
	}
	irq_pop();
}

#endif
