/*
 * kernel/spinlock.c: test-and-test-and-set spinlocks with rank checking.
 *
 * Acquire spins on a plain load (no cache-line ping-pong while held), then swaps.
 * The per-CPU lock stack (struct cpu.lock_ranks) records what this CPU holds, for
 * the rank check and for "is this code preemptible?" (nlocks == 0, kernel/preempt.h).
 * The spin is bounded by time: SPIN_PANIC_NS without the lock panics, naming the lock
 * and the CPU holding it (deadlock, or a holder stuck with interrupts off).
 * spin_lock_irqsave/spin_unlock_irqrestore are inline in kernel/spinlock.h: their
 * uncontended case does acquire/release's work there and every other case comes
 * here (spin_lock_irqoff_slow, spin_unlock_slow).
 */
#include <stdbool.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/preempt.h>
#include <kernel/spinlock.h>
#include <kernel/stack.h>

#define SPIN_PANIC_NS (20ull * 1000 * 1000 * 1000)	/* TCG with 8 vCPUs on 2 cores is slow */

const char *const lock_rank_names[LOCK_RANK_COUNT] = {
	[LOCK_RANK_NONE] = "none",
	[LOCK_RANK_STW] = "stw",
	[LOCK_RANK_TEST_OUTER] = "test_outer",
	[LOCK_RANK_TEST_INNER] = "test_inner",
	[LOCK_RANK_SYNC] = "sync",
	[LOCK_RANK_TIMER] = "timer",
	[LOCK_RANK_CHAN] = "chan",
	[LOCK_RANK_SCHED] = "sched",
	[LOCK_RANK_STACK] = "stack",
	[LOCK_RANK_GC_CTL] = "gc_ctl",
	[LOCK_RANK_GC_CENTRAL] = "gc_central",
	[LOCK_RANK_GC_SPECIAL] = "gc_special",
	[LOCK_RANK_GC_HEAP] = "gc_heap",
	[LOCK_RANK_GC_META] = "gc_meta",
	[LOCK_RANK_VM] = "vm",
	[LOCK_RANK_PMM] = "pmm",
	[LOCK_RANK_IPI_POOL] = "ipi_pool",
	[LOCK_RANK_CONSOLE] = "console",
};

/* spin_check (kernel/spinlock.h), as a panic naming what failed. */
static void rank_check(struct cpu *c, struct spinlock *l)
{
	switch (spin_check(c, l)) {
	case SPIN_OK:
		return;
	case SPIN_TOO_MANY:
		panic("spinlock %s: more than %d locks held", l->name, CPU_LOCK_STACK);
	case SPIN_ORDER:
		panic("lock order: taking %s (rank %s) while holding %s (rank %s)", l->name,
		      lock_rank_names[l->rank], c->lock_names[c->nlocks - 1],
		      lock_rank_names[c->lock_ranks[c->nlocks - 1]]);
	case SPIN_TWICE:
		panic("spinlock %s: taken twice by cpu %u", l->name, c->id);
	}
}

/*
 * With interrupts on (the plain spin_lock from a goroutine) the flow may be preempted
 * and moved to another CPU at any instruction until it holds a lock, so everything
 * that names this CPU (the rank check, the lock stack, the holder) happens with
 * interrupts off, and they come back on only while spinning; once the lock is on this
 * CPU's lock stack the flow is not preemptible and stays here.
 */
static void acquire(struct spinlock *l)
{
	/* already off (the irqsave variants, interrupt handlers): nothing to save */
	bool was_on = arch_irq_enabled();
	unsigned long flags = was_on ? arch_irq_save() : 0;
	struct cpu *c = cpu_this();
	/* The stack-growth path needs vm and pmm (kernel/stack.h): the outermost lock of
	 * those ranks maps the stack below sp for everything taken inside it. */
	if (l->rank >= LOCK_RANK_VM && (!c->nlocks || c->lock_ranks[c->nlocks - 1] < LOCK_RANK_VM))
		stack_prefault();
	rank_check(c, l);
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	for (;;) {
		if (!atomic_load_explicit(&l->locked, memory_order_relaxed) &&
		    !atomic_exchange_explicit(&l->locked, 1, memory_order_acquire))
			break;
		if (was_on)
			arch_irq_restore(flags);
		arch_cpu_relax();
		if (spin_deadline_over(&dl, SPIN_PANIC_NS)) {
			int h = atomic_load(&l->holder);
			panic("spinlock %s: not acquired in %llu s; held by cpu %d", l->name,
			      (unsigned long long)(SPIN_PANIC_NS / 1000000000ull), h - 1);
		}
		if (was_on)
			flags = arch_irq_save();
		c = cpu_this();		/* preempted meanwhile: holding nothing, it moved */
	}
	spin_push(c, l);
	if (was_on)
		arch_irq_restore(flags);
}

static void release(struct spinlock *l)
{
	struct cpu *c = cpu_this();
	KASSERT(atomic_load_explicit(&l->holder, memory_order_relaxed) == (int)c->id + 1);
	KASSERT(c->nlocks > 0);
	/* locks are usually released in reverse order; find it wherever it is */
	int i = c->nlocks - 1;
	while (i > 0 && c->lock_names[i] != l->name)
		i--;
	for (; i < c->nlocks - 1; i++) {
		c->lock_ranks[i] = c->lock_ranks[i + 1];
		c->lock_names[i] = c->lock_names[i + 1];
	}
	c->nlocks--;
	atomic_store_explicit(&l->holder, 0, memory_order_relaxed);
	atomic_store_explicit(&l->locked, 0, memory_order_release);
}

void spin_lock(struct spinlock *l)
{
	acquire(l);
}

void spin_unlock(struct spinlock *l)
{
	release(l);
	struct cpu *c = cpu_this();
	if (atomic_load_explicit(&c->preempt_pending, memory_order_relaxed))
		preempt_check();	/* the end of a non-preemptible section, maybe */
}

void spin_lock_irqoff_slow(struct spinlock *l)
{
	KASSERT(!arch_irq_enabled());
	acquire(l);
}

void spin_unlock_slow(struct spinlock *l)
{
	release(l);
}

/* The members after the first: held, but not on the lock stack (the first stands for
 * the group there: its rank, its name, its place in the order). */
void spin_lock_group(struct spinlock *const *ls, int n)
{
	KASSERT(!arch_irq_enabled());
	if (n <= 0)
		return;
	acquire(ls[0]);
	int holder = (int)cpu_this()->id + 1;
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	for (int i = 1; i < n; i++) {
		KASSERT(ls[i]->rank == ls[0]->rank);
		while (atomic_load_explicit(&ls[i]->locked, memory_order_relaxed) ||
		       atomic_exchange_explicit(&ls[i]->locked, 1, memory_order_acquire)) {
			arch_cpu_relax();
			if (spin_deadline_over(&dl, SPIN_PANIC_NS)) {
				panic("spinlock %s: not acquired in %llu s; held by cpu %d", ls[i]->name,
				      (unsigned long long)(SPIN_PANIC_NS / 1000000000ull),
				      atomic_load(&ls[i]->holder) - 1);
			}
		}
		atomic_store_explicit(&ls[i]->holder, holder, memory_order_relaxed);
	}
}

void spin_unlock_group(struct spinlock *const *ls, int n)
{
	KASSERT(!arch_irq_enabled());
	for (int i = n - 1; i >= 1; i--) {
		KASSERT(atomic_load_explicit(&ls[i]->holder, memory_order_relaxed) == (int)cpu_this()->id + 1);
		atomic_store_explicit(&ls[i]->holder, 0, memory_order_relaxed);
		atomic_store_explicit(&ls[i]->locked, 0, memory_order_release);
	}
	if (n > 0)
		release(ls[0]);
}

bool spin_held(struct spinlock *l)
{
	unsigned long flags = arch_irq_save();	/* "this CPU" must not change under us */
	bool held = atomic_load_explicit(&l->holder, memory_order_relaxed) == (int)cpu_this()->id + 1;
	arch_irq_restore(flags);
	return held;
}
