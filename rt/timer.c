/*
 * rt/timer.c: sleeping goroutines.
 *
 * Each P keeps its sleepers in a pairing heap ordered by deadline (Fredman et al.,
 * 1986): insert O(1), remove-min O(log n) amortised, and no storage of its own: a
 * node is a struct timer in the sleeping goroutine's frame, alive while it sleeps.
 * The heap belongs to its CPU and is touched only there with interrupts off (by the
 * sleeper before it parks, and by that CPU's timer interrupt), so it needs no lock.
 * The CPU's one-shot timer (kernel/clock.h) is armed for the earliest deadline.
 *
 * A sleeper puts itself in the heap and parks without re-enabling interrupts in
 * between, so the interrupt that readies it cannot come before it is G_WAITING.
 * A readied sleeper may run on any CPU (stealing): only the heap is per-CPU.
 *
 * The same one-shot timer also ends time slices: the scheduler sets this CPU's slice
 * deadline (timer_slice_set) when it starts a goroutine, and the timer is armed for
 * whichever comes first; a slice that ran out is handed to sched_tick() with the
 * interrupted frame.
 */
#include <stddef.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/go.h>
#include <rt/sched.h>

struct timer {
	uint64_t when;			/* clock_ns() deadline */
	struct g *g;			/* the sleeper */
	struct timer *child, *sibling;	/* pairing heap links */
};

static struct timer *timer_heap[ARCH_MAX_CPUS];	/* per CPU; that CPU, interrupts off */
static uint64_t slice_when[ARCH_MAX_CPUS];		/* likewise; 0 = no slice running */

/* Arm this CPU's timer for the earliest of its sleepers and its slice. */
static void timer_rearm(unsigned cpu)
{
	uint64_t when = slice_when[cpu];
	if (timer_heap[cpu] && (!when || timer_heap[cpu]->when < when))
		when = timer_heap[cpu]->when;
	if (when)
		clock_timer_arm(when);
	else
		clock_timer_disarm();
}

/* Sleepers not yet readied, all CPUs: raised before a sleeper enters a heap, lowered
 * only after the fired sleeper was made runnable (see the deadlock check, sched.c). */
_Atomic uint64_t timers_pending;

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
	b->sibling = a->child;
	a->child = b;
	return a;
}

/* Two-pass pairing of a removed root's children. */
static struct timer *merge_pairs(struct timer *first)
{
	struct timer *paired = NULL;
	while (first) {
		struct timer *a = first, *b = first->sibling;
		first = b ? b->sibling : NULL;
		a->sibling = NULL;
		if (b)
			b->sibling = NULL;
		struct timer *m = meld(a, b);
		m->sibling = paired;
		paired = m;
	}
	struct timer *root = NULL;
	while (paired) {
		struct timer *next = paired->sibling;
		paired->sibling = NULL;
		root = meld(root, paired);
		paired = next;
	}
	return root;
}

/* IRQ_TIMER on this CPU: ready every sleeper whose time has come, end the slice if
 * it ran out, re-arm. */
static void timer_fire(struct arch_frame *f)
{
	unsigned cpu = cpu_id();
	uint64_t now = clock_ns();
	struct timer *t;
	while ((t = timer_heap[cpu]) && t->when <= now) {
		timer_heap[cpu] = merge_pairs(t->child);
		sched_ready(t->g);
		atomic_fetch_sub(&timers_pending, 1);
	}
	if (slice_when[cpu] && slice_when[cpu] <= now) {
		slice_when[cpu] = 0;
		sched_tick(f);		/* may set a new slice */
	}
	timer_rearm(cpu);
}

void timer_slice_set(uint64_t deadline)
{
	KASSERT(!arch_irq_enabled());
	unsigned cpu = cpu_id();
	if (slice_when[cpu] == deadline)
		return;
	slice_when[cpu] = deadline;
	timer_rearm(cpu);
}

void go_sleep(uint64_t ns)
{
	struct g *self = sched_curg();
	if (!self)
		panic("go_sleep: not called from a goroutine");
	if (ns == 0) {
		sched_gosched();
		return;
	}
	struct timer t = { clock_ns() + ns, self, NULL, NULL };
	irq_push();
	atomic_fetch_add(&timers_pending, 1);
	unsigned cpu = cpu_id();
	timer_heap[cpu] = meld(timer_heap[cpu], &t);
	if (timer_heap[cpu] == &t)
		timer_rearm(cpu);
	sched_park("sleep", NULL, NULL);	/* interrupts stay off until we are waiting */
	irq_pop();
}

uint64_t go_now(void)
{
	return clock_ns();
}

void timer_init(void)
{
	clock_timer_set_handler(timer_fire);
}
