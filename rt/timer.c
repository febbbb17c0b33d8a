/*
 * rt/timer.c: sleeping goroutines, channel timers and tickers, and time slices.
 *
 * Each CPU keeps its timers in a pairing heap ordered by deadline (Fredman et al.,
 * 1986): insert O(1), remove-min and remove-any O(log n) amortised, and no storage of
 * its own: a node is a struct timer, either in a sleeping goroutine's frame (alive
 * while it sleeps) or inside a struct go_timer (rt/timer.h), an object of the
 * collector's heap. The CPU's one-shot timer (kernel/clock.h) is armed for the
 * earliest deadline.
 *
 * The collector: timer_cpus (a global, so a root) links every armed timer through the
 * heaps' child/sibling/prev pointers, so an armed go_timer and what it refers to (its
 * channel, a function timer's argument) stay alive while armed, and an unarmed one
 * that nobody references is reclaimed (go_after's timer too). Every link is stored
 * with gc_store, also from the timer interrupt (the barrier is interrupt-safe), and
 * also into a sleeper's stack node: the collector may have scanned that stack already,
 * and the sleeper does not run again before the link changes.
 *
 * Who touches a heap: a timer is always inserted into the heap of the CPU that arms
 * it (go_sleep, go_timer_after/ticker/reset, a ticker's next tick in the interrupt),
 * so only that CPU ever needs its own timer armed earlier, and does it itself. Fires
 * happen in that CPU's timer interrupt. But a go_timer may be stopped or reset from
 * any CPU, so each heap has a spinlock (LOCK_RANK_TIMER, below the channels and the
 * scheduler: the interrupt fires under it). A removal from another CPU only makes
 * that heap's first deadline later: the owner's timer then goes off early, finds
 * nothing due and re-arms, which is harmless. The root's deadline is mirrored in
 * `first` so that re-arming (also from timer_slice_set, which the scheduler calls
 * with its own locks held) needs no lock.
 *
 * A fire is done entirely under the heap lock: a sleeper is readied; a go_timer sends
 * the clock on its channel with chan_try_send_irq (never blocks: capacity 1, a full
 * channel drops the value) and, for a ticker, goes back into the same heap for the
 * fire plus its period; a function timer readies the runner goroutine its arm spawned
 * (a goroutine cannot be spawned in an interrupt: spawning allocates; see struct
 * afunc). So once a stop holds the heap lock and finds the timer out of
 * the heap, its fire is complete (the value is in the channel) and nothing references
 * the timer any more: go_timer_free may free it right after the stop. `cpu` names the
 * heap holding the timer (-1: none); it is written only under that heap's lock, and a
 * fire sets -1 only after its send (a ticker keeps its cpu throughout), so a stop that
 * reads -1 without the lock also finds the fire complete.
 *
 * Stop, reset and free of one go_timer are serialised by its mutex. With it held,
 * `cpu` can only go from c to -1 (a one-shot fired) or stay c (a ticker re-inserted):
 * the transition from -1 to a heap (arming) is made only by the mutex holder. So a
 * stop reads cpu, locks that heap, and either finds the timer there (removes it:
 * true) or finds -1 (it fired: false), with no retry. Exactly one of the fire and the
 * stop wins, under the heap lock. (Go's timers use a status word with CAS states for
 * the same; one lock per heap plus one mutex per timer is simpler and enough here.)
 *
 * timers_pending counts armed timers on all CPUs (but the sleeps of the runtime's own
 * goroutines, g->gc_system), for the deadlock check (sched.c):
 * raised before a timer enters a heap, lowered only after its fire has readied its
 * sleeper or sent its value (a receiver blocked on the channel is readied inside the
 * send), or when a stop takes it out. A ticker stays pending from start to stop.
 *
 * A sleeper puts itself in the heap and parks without re-enabling interrupts in
 * between, so the interrupt that readies it cannot come before it is G_WAITING (and
 * no other CPU fires it). A readied sleeper may run on any CPU (stealing): only the
 * heap is per-CPU.
 *
 * The same one-shot timer also ends time slices: the scheduler sets this CPU's slice
 * deadline (timer_slice_set) when it starts a goroutine, and the timer is armed for
 * whichever comes first; a slice that ran out is handed to sched_tick() with the
 * interrupted frame (after the heap lock is released: sched_tick may switch away).
 *
 * Rejected: the timer goroutine of older Go versions (one more switch per fire, and a
 * goroutine that is always asleep); waking a remote CPU to re-arm for a timer reset
 * there (arming the resetting CPU instead needs no IPI).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>
#include <rt/timer.h>

#define NEVER UINT64_MAX

struct timer {
	/* Guarded by the lock of the heap holding the timer (cpu), else its owner's. */
	uint64_t when;				/* clock_ns() deadline */
	struct timer *child, *sibling;		/* pairing heap links */
	struct timer *prev;			/* the parent (first child) or the left sibling */
	_Atomic int cpu;			/* the heap holding it; -1: none */

	/* What a fire does; set while the timer is in no heap. */
	struct g *g;				/* a sleeper: ready it; else: */
	bool uncounted;				/* a runtime goroutine's sleep: not in timers_pending */
	struct afunc *run;			/* a function timer: start this arm's runner */
	struct chan *c;				/* else send the clock on c, without blocking */
	uint64_t period;			/* and if non-zero re-arm for the fire + period */
};

/*
 * One arm of a function timer (go_after_func): a runner goroutine spawned at the arm
 * parks until the fire or the stop decides, and the state word says which. The
 * runner's park callback moves ARMED to PARKED; the fire (interrupt) and a stop swap
 * in FIRED or CANCELLED and ready the runner if it had parked; a runner that finds
 * the decision made before it parks does not park. The runner runs fn on FIRED, then
 * frees the record: whoever swapped the state touches the record only if it found
 * PARKED (the runner is then waiting for it to be readied).
 */
enum { AF_ARMED, AF_PARKED, AF_FIRED, AF_CANCELLED };

struct afunc {
	_Atomic int state;
	struct g *g;				/* the runner; set before it parks */
	void (*fn)(void *);
	void *arg;
};

struct go_timer {
	struct timer t;
	struct mutex mu;			/* serialises stop, reset and free */
	void (*fn)(void *);			/* function timers: what each arm runs */
	void *arg;
};

GC_TYPE(afunc_type, struct afunc, arg);
GC_TYPE(go_timer_type, struct go_timer, t.child, t.sibling, t.prev, t.run, t.c, arg);

struct timer_cpu {
	struct spinlock lock;
	struct timer *heap;			/* lock */
	_Atomic uint64_t first;			/* written under lock: the root's deadline
						 * (NEVER: empty); read without it */
	uint64_t slice_when;			/* this CPU only, interrupts off; 0 = no slice */
} __attribute__((aligned(64)));

static struct timer_cpu timer_cpus[ARCH_MAX_CPUS] = {
	[0 ... ARCH_MAX_CPUS - 1] = {
		.lock = SPINLOCK_INIT("timer", LOCK_RANK_TIMER),
		.first = NEVER,
	},
};

/* Armed timers not yet fired or stopped, all CPUs (see above and sched.c). */
_Atomic uint64_t timers_pending;

/* ---- the pairing heap (its lock held) ------------------------------------------------ */

/* Meld two roots; the winner's prev and sibling are left for the caller. */
static struct timer *meld(struct timer *a, struct timer *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (b->when < a->when) {
		struct timer *t = a;
		a = b;
		b = t;
	}
	gc_store(&b->prev, a);
	gc_store(&b->sibling, a->child);
	if (a->child)
		gc_store(&a->child->prev, b);
	gc_store(&a->child, b);
	return a;
}

/* Two-pass pairing of a removed node's children into one root. */
static struct timer *merge_pairs(struct timer *first)
{
	struct timer *paired = NULL;
	while (first) {
		struct timer *a = first, *b = first->sibling;
		first = b ? b->sibling : NULL;
		gc_store(&a->sibling, NULL);
		if (b)
			gc_store(&b->sibling, NULL);
		struct timer *m = meld(a, b);
		gc_store(&m->sibling, paired);
		paired = m;
	}
	struct timer *root = NULL;
	while (paired) {
		struct timer *next = paired->sibling;
		gc_store(&paired->sibling, NULL);
		root = meld(root, paired);
		paired = next;
	}
	if (root)
		gc_store(&root->prev, NULL);
	return root;
}

/* (NULL stores into timers go through gc_store too: the hybrid barrier shades what
 * they overwrite) */
static void unlink_node(struct timer *t)
{
	gc_store(&t->child, NULL);
	gc_store(&t->sibling, NULL);
	gc_store(&t->prev, NULL);
}

static void heap_set_root(struct timer_cpu *tc, struct timer *root)
{
	gc_store(&tc->heap, root);
	atomic_store(&tc->first, root ? root->when : NEVER);
}

static void heap_insert(struct timer_cpu *tc, struct timer *t, unsigned cpu)
{
	unlink_node(t);
	struct timer *root = meld(tc->heap, t);
	gc_store(&root->prev, NULL);
	gc_store(&root->sibling, NULL);
	heap_set_root(tc, root);
	atomic_store(&t->cpu, (int)cpu);
}

/* Unlink t; its cpu is the caller's to update (a ticker's stays while it fires). */
static void heap_remove(struct timer_cpu *tc, struct timer *t)
{
	struct timer *sub = merge_pairs(t->child);
	if (t == tc->heap) {
		heap_set_root(tc, sub);
	} else {
		if (t->prev->child == t)
			gc_store(&t->prev->child, t->sibling);
		else
			gc_store(&t->prev->sibling, t->sibling);
		if (t->sibling)
			gc_store(&t->sibling->prev, t->prev);
		struct timer *root = meld(tc->heap, sub);
		gc_store(&root->prev, NULL);
		heap_set_root(tc, root);
	}
	unlink_node(t);
}

/* Decide a function timer's arm (FIRED or CANCELLED) and take it off the timer; the
 * runner to ready if it had parked (the caller readies it: a is the runner's again
 * from then), else NULL. */
static struct g *afunc_decide(struct afunc **run, int decision)
{
	struct afunc *a = *run;
	gc_store(run, NULL);
	return atomic_exchange(&a->state, decision) == AF_PARKED ? a->g : NULL;
}

/* ---- arming and firing ------------------------------------------------------------------ */

/* Arm this CPU's timer for the earliest of its timers and its slice. Interrupts off. */
static void timer_rearm(unsigned cpu)
{
	struct timer_cpu *tc = &timer_cpus[cpu];
	uint64_t when = atomic_load(&tc->first);
	if (tc->slice_when && tc->slice_when < when)
		when = tc->slice_when;
	if (when != NEVER)
		clock_timer_arm(when);
	else
		clock_timer_disarm();
}

/*
 * The goroutines a fire readies, readied once the heap lock is released: sched_ready
 * may wait for a stack scan of the G, answering stops meanwhile, and a CPU stopped
 * holding the lock would leave every CPU that wants it spinning with interrupts off,
 * never answering the stop: a deadlock on any platform (found by reading, while
 * chasing stop timeouts in gc_stress's messages test, where relays reset timers on
 * other CPUs' heaps while collections scan stacks; those had other causes, in the
 * hosted platform). Each with the timers_pending count it retires, after the ready:
 * the deadlock check must never find a sleeper's timer gone before the sleeper is
 * runnable.
 */
#define FIRE_BATCH 16

struct fire_wakes {
	unsigned n;
	struct { struct g *g; bool counted; } w[FIRE_BATCH];
};

static void fire_wakes_run(struct fire_wakes *fw)
{
	for (unsigned i = 0; i < fw->n; i++) {
		if (fw->w[i].g)
			sched_ready(fw->w[i].g);
		if (fw->w[i].counted)
			atomic_fetch_sub(&timers_pending, 1);
	}
	fw->n = 0;
}

/* Queue a wake (g may be NULL: the count alone); a full batch is run with the lock
 * dropped for the moment (the heap is consistent between two fires). */
static void fire_wake(struct timer_cpu *tc, struct fire_wakes *fw, struct g *g, bool counted)
{
	fw->w[fw->n].g = g;
	fw->w[fw->n].counted = counted;
	if (++fw->n < FIRE_BATCH)
		return;
	spin_unlock_irqrestore(&tc->lock);
	fire_wakes_run(fw);
	spin_lock_irqsave(&tc->lock);
}

/* IRQ_TIMER on this CPU: fire every timer whose time has come, end the slice if it
 * ran out, re-arm. */
static void timer_fire(struct arch_frame *f)
{
	unsigned cpu = cpu_id();
	struct timer_cpu *tc = &timer_cpus[cpu];
	struct fire_wakes fw = { .n = 0 };
	spin_lock_irqsave(&tc->lock);
	uint64_t now = clock_ns();
	struct timer *t;
	while ((t = tc->heap) && t->when <= now) {
		heap_remove(tc, t);
		if (t->g) {
			atomic_store(&t->cpu, -1);
			/* t dies with the sleeper's frame once it is readied: not touched after */
			fire_wake(tc, &fw, t->g, !t->uncounted);
			continue;
		}
		uint64_t value = now;
		struct g *wake;
		if (t->run)
			wake = afunc_decide(&t->run, AF_FIRED);
		else
			chan_try_send_irq_nowake(t->c, &value, &wake);	/* full: the reader is slow, drop it */
		if (t->period) {
			t->when = now + t->period;
			heap_insert(tc, t, cpu);
			if (wake)
				fire_wake(tc, &fw, wake, false);
		} else {
			/* only now: a stop that reads -1 without the lock may free t */
			atomic_store(&t->cpu, -1);
			fire_wake(tc, &fw, wake, true);
		}
	}
	spin_unlock_irqrestore(&tc->lock);
	fire_wakes_run(&fw);
	if (tc->slice_when && tc->slice_when <= now) {
		tc->slice_when = 0;
		sched_tick(f);		/* may set a new slice */
	}
	timer_rearm(cpu);
}

void timer_slice_set(uint64_t deadline)
{
	KASSERT(!arch_irq_enabled());
	unsigned cpu = cpu_id();
	struct timer_cpu *tc = &timer_cpus[cpu];
	if (tc->slice_when == deadline)
		return;
	tc->slice_when = deadline;
	timer_rearm(cpu);
}

/* Put t (in no heap) into this CPU's heap for `when`. Interrupts off. */
static void timer_add(struct timer *t, uint64_t when)
{
	KASSERT(!arch_irq_enabled());
	t->when = when;
	if (!t->uncounted)
		atomic_fetch_add(&timers_pending, 1);
	unsigned cpu = cpu_id();
	struct timer_cpu *tc = &timer_cpus[cpu];
	spin_lock_irqsave(&tc->lock);
	heap_insert(tc, t, cpu);
	bool earliest = tc->heap == t;
	spin_unlock_irqrestore(&tc->lock);
	if (earliest)
		timer_rearm(cpu);
}

/* Take t out of whichever heap holds it: true if it was pending. The go_timer's
 * mutex is held (so t cannot be armed meanwhile; see the top of the file). */
static bool timer_del(struct timer *t)
{
	int cpu = atomic_load(&t->cpu);
	if (cpu < 0)
		return false;
	struct timer_cpu *tc = &timer_cpus[cpu];
	spin_lock_irqsave(&tc->lock);
	bool pending = atomic_load(&t->cpu) == cpu;
	if (pending) {
		heap_remove(tc, t);
		atomic_store(&t->cpu, -1);
		if (!t->uncounted)
			atomic_fetch_sub(&timers_pending, 1);
	}
	spin_unlock_irqrestore(&tc->lock);
	return pending;
}

/* ---- sleep ------------------------------------------------------------------------------ */

void go_sleep(uint64_t ns)
{
	struct g *self = sched_curg();
	if (!self)
		panic("go_sleep: not called from a goroutine");
	if (self->gc_noroots)	/* the node below would link the heap through it */
		panic("go_sleep: goroutine %lu's stack is not scanned by the collector, so it "
		      "cannot hold a timer node", (unsigned long)self->id);
	if (ns == 0) {
		sched_gosched();
		return;
	}
	/* the runtime's own sleepers (the collector's scavenger) ready nothing the
	 * program waits for: the deadlock check does not count them, and a program's
	 * count of pending timers is its own */
	struct timer t = { .g = self, .cpu = -1, .uncounted = self->gc_system };
	irq_push();
	timer_add(&t, clock_ns() + ns);
	sched_park("sleep", NULL, NULL);	/* interrupts stay off until we are waiting */
	irq_pop();
}

uint64_t go_now(void)
{
	return clock_ns();
}

/* ---- channel timers ------------------------------------------------------------------------ */

static void arm(struct go_timer *gt, uint64_t ns)
{
	irq_push();
	timer_add(&gt->t, clock_ns() + ns);
	irq_pop();
}

static bool afunc_park(struct g *g, void *arg)
{
	(void)g;
	struct afunc *a = arg;
	int armed = AF_ARMED;
	return atomic_compare_exchange_strong(&a->state, &armed, AF_PARKED);
}

static void afunc_runner(void *arg)
{
	struct afunc *a = arg;
	a->g = sched_curg();
	sched_park("timer func", afunc_park, a);
	if (atomic_load(&a->state) == AF_FIRED)
		a->fn(a->arg);
}

/* A function timer's next arm: its runner, started before the timer is armed. */
static void afunc_start(struct go_timer *gt)
{
	struct afunc *a = gc_new(&afunc_type);
	atomic_store(&a->state, AF_ARMED);
	a->fn = gt->fn;
	gc_store(&a->arg, gt->arg);
	gc_store(&gt->t.run, a);
	go(afunc_runner, a);
}

/* The go_timer's mutex held: stop it; a function timer's cancelled runner exits. */
static bool timer_stop_locked(struct go_timer *gt)
{
	bool stopped = timer_del(&gt->t);
	if (stopped && gt->t.run) {
		struct g *g = afunc_decide(&gt->t.run, AF_CANCELLED);
		if (g)
			sched_ready(g);
	}
	return stopped;
}

static struct go_timer *timer_new(const char *what, uint64_t ns, uint64_t period)
{
	if (!sched_curg())
		panic("%s: not called from a goroutine", what);
	struct go_timer *gt = gc_new(&go_timer_type);
	gt->mu = (struct mutex)MUTEX_INIT;
	gt->t.cpu = -1;
	gt->t.period = period;
	return gt;
}

static struct go_timer *chan_timer(const char *what, uint64_t ns, uint64_t period)
{
	struct go_timer *gt = timer_new(what, ns, period);
	gc_store(&gt->t.c, chan_make_typed(&gc_type_u64, 1));
	arm(gt, ns);
	return gt;
}

struct go_timer *go_timer_after(uint64_t ns)
{
	return chan_timer("go_timer_after", ns, 0);
}

struct go_timer *go_after_func(uint64_t ns, void (*fn)(void *), void *arg)
{
	struct go_timer *gt = timer_new("go_after_func", ns, 0);
	gt->fn = fn;
	gc_store(&gt->arg, arg);
	afunc_start(gt);
	arm(gt, ns);
	return gt;
}

struct go_timer *go_ticker(uint64_t period)
{
	if (period == 0)
		panic("non-positive interval for go_ticker");
	return chan_timer("go_ticker", period, period);
}

struct chan *go_timer_chan(struct go_timer *gt)
{
	return gt->t.c;
}

bool go_timer_stop(struct go_timer *gt)
{
	mutex_lock(&gt->mu);
	bool stopped = timer_stop_locked(gt);
	mutex_unlock(&gt->mu);
	return stopped;
}

bool go_timer_reset(struct go_timer *gt, uint64_t ns)
{
	mutex_lock(&gt->mu);
	bool stopped = timer_stop_locked(gt);
	if (gt->fn)
		afunc_start(gt);
	if (gt->t.period) {
		if (ns == 0) {
			mutex_unlock(&gt->mu);
			panic("non-positive interval for go_ticker reset");
		}
		gt->t.period = ns;
	}
	arm(gt, ns);
	mutex_unlock(&gt->mu);
	return stopped;
}

void go_timer_free(struct go_timer *gt)
{
	if (!gt)
		return;
	go_timer_stop(gt);	/* out of every heap: no CPU refers to it any more */
	chan_free(gt->t.c);
	gc_store(&gt->t.c, NULL);
	gc_free(gt);
}

struct chan *go_after(uint64_t ns)
{
	return chan_timer("go_after", ns, 0)->t.c;
}

void timer_init(void)
{
	clock_timer_set_handler(timer_fire);
}
