/*
 * rt/sched.c: the goroutine scheduler.
 *
 * Go's design (runtime/proc.go), on bare metal: M is the CPU itself, so there is no
 * M/P hand-off; each online CPU has one P (allp[cpu]) and runs sched_loop() on its
 * own boot/idle stack, the equivalent of Go's g0. A goroutine (G) runs on its own
 * demand-paged stack (kernel/stack.h) and gives the CPU back by switching to its P's
 * scheduler context, saying what it wants (p->action: yield, park, exit); the loop
 * acts on it only once the G's registers are saved, then picks the next G:
 *
 *   1. every 61st decision, the global queue first (fairness: a busy local queue
 *      cannot starve it);
 *   2. runnext, then the local queue (rt/runq.c);
 *   3. the global queue, taking a batch;
 *   4. stealing half of another P's queue, in random order, four rounds; a running
 *      P's runnext only in the last, after a grace period (rt/runq.c);
 *   5. nothing: set our bit in sched.idle_mask, spin a while (SCHED_SPIN_NS)
 *      watching the queues and the bit, look once more, and halt
 *      (stw_idle_halt: a stop-the-world meanwhile claims this CPU asleep instead of
 *      waking it, kernel/stw.c; it may claim it spinning too, stw_idle_begin).
 *      Whoever makes work runnable and sees idle bits claims one (clears it) and,
 *      if that P is halting, sends it IPI_RESCHEDULE (wakep); a spinning P sees its
 *      bit cleared instead. The idle side sets its bit and the
 *      waking side reads the bits, both with read-modify-writes of idle_mask: those
 *      are totally ordered, and the later one synchronizes with the earlier, so
 *      either the waker sees the bit or the idle CPU's second look sees the work.
 *      A wake-up cannot be lost (no fences: ThreadSanitizer checks this too).
 *
 * Interrupts are off in the scheduler loop and across every switch; a G runs with
 * them on. The interrupt-disable nesting (struct cpu irq_depth/irq_saved) belongs to
 * the flow of control, not the CPU: sched_switch keeps the G's on its own stack and
 * puts it back on whichever CPU resumes it, and the loop forces its own (depth 1)
 * after every switch. A G that parks on a wait list takes the list's lock with
 * spin_lock_irqsave, the scheduler releases it with the plain spin_unlock once the G
 * is marked waiting (on the same CPU, so the lock bookkeeping balances), and the G
 * pops the irqsave after it resumes. No G may switch holding any other lock: the
 * loop checks.
 *
 * Preemption: the CPU's slice timer (sched_tick) asks kernel/preempt.c to take the
 * CPU from a goroutine that kept it for a whole slice while others wait; the
 * goroutine then yields from wherever it was (sched_preempt), at once when it was
 * preemptible, or at the end of its interrupts-off or spinlock section. So code that
 * uses per-CPU data (p_this(), cpu_this()) must do it with interrupts off: a
 * goroutine may move to another CPU between any two instructions where they are on.
 */
#include <stddef.h>
#include <string.h>
#include <arch/memlayout.h>
#include <arch/noscan.h>
#include <kernel/clock.h>
#include <kernel/cmdline.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/preempt.h>
#include <kernel/smp.h>
#include <kernel/start.h>
#include <kernel/stw.h>
#include <rt/go.h>
#include <rt/libc_lock.h>
#include <rt/sched.h>

struct sched sched = { .lock = SPINLOCK_INIT("sched", LOCK_RANK_SCHED) };
struct p allp[ARCH_MAX_CPUS];
NOSCAN(allp);		/* goroutines and run queues: no heap pointers */

static int (*sched_main_fn)(void *);
static void *sched_main_arg;
static void (*sched_exit_fn)(int);

#define GFREE_MAX 64	/* dead Gs of one class a P keeps before returning some */
static struct g *gfree_global[GFREE_CLASSES];	/* sched.lock: chains of batches */

static unsigned gfree_class(size_t stack_size)
{
	unsigned c = (unsigned)(__builtin_ctzll(stack_size) - __builtin_ctz(STACK_MIN_SIZE));
	KASSERT((stack_size & (stack_size - 1)) == 0 && c < GFREE_CLASSES);
	return c;
}

static inline struct p *p_this(void)
{
	return &allp[cpu_id()];
}

struct g *sched_curg(void)
{
	irq_push();
	struct g *g = p_this()->curg;
	irq_pop();
	return g;
}

/* ---- global queue (sched.lock held) ------------------------------------------ */

/* Append the chain head..tail of n Gs (linked through schedlink, tail's NULL). */
static void global_put_chain_locked(struct g *head, struct g *tail, uint32_t n)
{
	if (!n)
		return;
	if (sched.runq_tail)
		sched.runq_tail->schedlink = head;
	else
		sched.runq_head = head;
	sched.runq_tail = tail;
	sched.runq_size += n;
}

static void global_put_locked(struct g *g)
{
	g->schedlink = NULL;
	global_put_chain_locked(g, g, 1);
}

static struct g *global_get_locked(void)
{
	struct g *g = sched.runq_head;
	if (g) {
		sched.runq_head = g->schedlink;
		if (!sched.runq_head)
			sched.runq_tail = NULL;
		sched.runq_size--;
	}
	return g;
}

static void wakep(void);

/*
 * Take one G to run and up to a fair share more for the local queue (empty: the
 * caller found nothing there). The whole queue is taken off under the lock, the
 * share counted off it without the lock, and the rest put back in front of whatever
 * was queued meanwhile: each G's link is a cache miss (a G lives in its stack's top
 * page and was last written by the CPU that queued it), and a walk of up to
 * RUNQ_SIZE / 2 of them under the lock made a CPU spawning onto the global queue wait
 * for it. Meanwhile the queue looks empty: a P that looked then and went idle is
 * woken when the rest is back (wakep after the put, as for any new work).
 */
static struct g *global_get_batch(struct p *p)
{
	spin_lock_irqsave(&sched.lock);
	uint32_t size = sched.runq_size;
	uint32_t n = size / atomic_load(&sched.nps) + 1;
	if (n > RUNQ_SIZE / 2)
		n = RUNQ_SIZE / 2;
	if (n > size)
		n = size;
	struct g *g = sched.runq_head, *tail = sched.runq_tail;
	sched.runq_head = sched.runq_tail = NULL;
	sched.runq_size = 0;
	spin_unlock_irqrestore(&sched.lock);
	if (!g)
		return NULL;
	struct g *x = g->schedlink;
	for (uint32_t i = 1; i < n; i++) {
		struct g *next = x->schedlink;
		if (!runq_put(p, x))
			panic("global_get_batch: the local queue is full after %u of %u", i, n);
		x = next;
	}
	if (x) {
		spin_lock_irqsave(&sched.lock);
		tail->schedlink = sched.runq_head;
		if (!sched.runq_head)
			sched.runq_tail = tail;
		sched.runq_head = x;
		sched.runq_size += size - n;
		spin_unlock_irqrestore(&sched.lock);
		wakep();
	}
	return g;
}

/* ---- making Gs runnable -------------------------------------------------------- */

/* Wake one idle P, if any, to look for the work just published. */
static void wakep(void)
{
	/* one P in the scheduler (-smp 1, or before the others start): nobody to wake */
	if (atomic_load_explicit(&sched.nps, memory_order_relaxed) <= 1)
		return;
	/* an RMW, not a load: it is ordered with the idle side's fetch_or on the same
	 * word, and whichever comes second sees the other's writes (see the top); an add
	 * of 0, one locked instruction (a fetch_or whose result is used is a CAS loop) */
	uint64_t idle = atomic_fetch_add(&sched.idle_mask, 0);
	while (idle) {
		unsigned i = (unsigned)__builtin_ctzll(idle);
		uint64_t bit = 1ull << i;
		if (atomic_fetch_and(&sched.idle_mask, ~bit) & bit) {
			/* claimed: a P still spinning sees its bit gone and looks for work;
			 * one that halts (or is about to) needs the IPI (find_runnable) */
			if (atomic_load(&allp[i].halting))
				arch_ipi_send(cpus[i].hwid, IPI_RESCHEDULE);
			return;
		}
		idle = atomic_load(&sched.idle_mask);
	}
}

/* Put g on this CPU's queue; a full queue moves its older half to the global one
 * first, and g goes behind the half that stays: the Gs run in the order they were
 * queued (see find_runnable's fairness pick; sent along with the batch, one G in 129
 * of a burst ran out of turn). */
static void runq_put_or_spill(struct p *p, struct g *g)
{
	if (runq_put(p, g))
		return;
	/* linked into a chain before the lock is taken: ours until it is published */
	struct g *head = NULL, *tail = NULL, *x;
	unsigned n = 0;
	while (n < RUNQ_SIZE / 2 && (x = runq_get(p))) {
		x->schedlink = NULL;
		if (tail)
			tail->schedlink = x;
		else
			head = x;
		tail = x;
		n++;
	}
	spin_lock_irqsave(&sched.lock);
	global_put_chain_locked(head, tail, n);
	spin_unlock_irqrestore(&sched.lock);
	if (!runq_put(p, g))
		panic("runq_put_or_spill: the queue is still full after moving %u to the global one", n);
}

void sched_ready(struct g *g)
{
	/* The caller holds no spinlock of its own (an interrupted flow's may be on the
	 * CPU's lock stack): the wait for a scanner below answers stops, and a CPU
	 * stopped holding a lock leaves those spinning for it with interrupts off
	 * unstoppable (rt/timer.c, fire_wakes). */
	/* A scanner holding the G (G_SCAN) owns its stack for the moment: wait for it,
	 * answering cross-calls meanwhile (the scanner may be waiting for a TLB shootdown
	 * this CPU must acknowledge, and we may be in an interrupt). */
	for (;;) {
		uint32_t st = atomic_load(&g->status);
		if (st == G_WAITING || st == G_IDLE) {
			if (atomic_compare_exchange_weak(&g->status, &st, G_RUNNABLE))
				break;
			continue;
		}
		if (!(st & G_SCAN))
			panic("sched_ready: goroutine %llu is not waiting (status %u)", (unsigned long long)g->id, st);
		arch_cpu_relax();
		irq_push();
		ipi_poll();
		irq_pop();
	}
	irq_push();
	struct p *p = p_this();
	/* runnext: a readied partner runs next here, near the data it was handed */
	struct g *old = atomic_exchange(&p->runnext, g);
	if (old)
		runq_put_or_spill(p, old);
	irq_pop();
	wakep();
}

/* ---- G allocation ----------------------------------------------------------------- */

/* A new G with a stack of `size` bytes, the G in the stack's top page
 * (G_STACK_RESERVED); NULL when out of memory or of stack arena. */
static struct g *g_alloc(size_t size)
{
	struct kstack st;
	if (stack_alloc(&st, size) != 0)
		return NULL;
	struct g *g = (struct g *)(st.top - G_HDR_BYTES);
	memset(g, 0, sizeof(*g));
	g->stack = st;
	spin_lock_irqsave(&sched.lock);
	g->alllink = sched.allgs;
	__atomic_store_n(&sched.allgs, g, __ATOMIC_RELEASE);	/* (a panic's dump reads it unlocked) */
	sched.ngs++;
	spin_unlock_irqrestore(&sched.lock);
	return g;
}

/*
 * Dead Gs (Go's gfget/gfput). A P keeps them per stack size class; beyond GFREE_MAX
 * of a class, its newest GFREE_BATCH go to that class's global list as one batch,
 * and a P with none of a class takes a whole batch back. A global list is a chain of
 * batches through schedlink, each batch's head holding its length and its last G
 * (gfree_n, gfree_tail): a batch moves under sched.lock in a few stores, touching no
 * G but its ends. (Finding a batch's end by walking it under the lock, a cache and
 * TLB miss per G, each G in its own stack's top page, held the lock so long that a
 * CPU spawning what another's goroutines free spent a quarter of its time waiting
 * for it.) Batches keep their order, so reuse stays last-in first-out as a whole: a
 * burst of spawns walks Gs and stacks in (reverse) order of their deaths, mostly
 * neighbours in memory; reversed batches scrambled that order over rounds, and a 10k
 * spawn took twice as long from TLB and cache misses.
 */
#define GFREE_BATCH (GFREE_MAX / 2)

/* Interrupts off: p is this CPU's. */
static struct g *gfree_get(struct p *p, size_t stack_size)
{
	unsigned c = gfree_class(stack_size);
	struct g *g = p->gfree[c];
	if (!g) {
		spin_lock(&sched.lock);
		if ((g = gfree_global[c])) {
			gfree_global[c] = g->gfree_tail->schedlink;
			g->gfree_tail->schedlink = NULL;
			p->ngfree[c] = g->gfree_n;
		}
		spin_unlock(&sched.lock);
	}
	if (g) {
		p->gfree[c] = g->schedlink;
		p->ngfree[c]--;
	}
	return g;
}

/* Interrupts off (the scheduler loop). */
static void gfree_put(struct p *p, struct g *g)
{
	unsigned c = gfree_class(g->stack.top - g->stack.base);
	g->schedlink = p->gfree[c];
	p->gfree[c] = g;
	if (++p->ngfree[c] <= GFREE_MAX)
		return;
	struct g *tail = g;
	for (unsigned i = 1; i < GFREE_BATCH; i++)
		tail = tail->schedlink;
	p->gfree[c] = tail->schedlink;
	p->ngfree[c] -= GFREE_BATCH;
	g->gfree_n = GFREE_BATCH;
	g->gfree_tail = tail;
	spin_lock(&sched.lock);
	tail->schedlink = gfree_global[c];
	gfree_global[c] = g;
	spin_unlock(&sched.lock);
}

/* ---- running Gs -------------------------------------------------------------------- */

static _Noreturn void g_exit(void);

static void g_entry(void *arg)
{
	struct g *g = arg;
	cpu_this()->irq_depth = 0;	/* a new flow: nothing pushed, interrupts on */
	/* fn and its argument into registers before interrupts are on: a stop or a
	 * stack-scan IPI pending since the scheduler switched here is taken at the
	 * enable, and the scan of a running goroutine reads its registers and stack,
	 * not g->arg (scan_saved reads that for one not started). Loaded after it, the
	 * argument was in g->arg alone at that moment, and lost if nothing else held it
	 * (gc_roots.argument_of_unstarted_goroutines, stop-the-world mode at 8 hosted
	 * CPUs: about 1 run in 150 under load, where the pending stop is delivered by
	 * the enable itself). */
	void (*fn)(void *) = g->fn;
	void *a = g->arg;
	arch_irq_enable();
	fn(a);
	g_exit();
}

/* go()'s reservation (GO_STACK_DEFAULT, rt/go.h; gstack_kib): the memory a parked
 * goroutine costs against the depth it may reach. The program's main goroutine and the
 * runtime's own keep STACK_DEFAULT_SIZE. */
static uint32_t opt_gstack_kib = GO_STACK_DEFAULT >> 10;
CMDLINE_OPTION(gstack_kib, "gstack_kib", CMDLINE_UINT, &opt_gstack_kib, sizeof(opt_gstack_kib),
	       STACK_MIN_SIZE >> 10, STACK_MAX_SIZE >> 10,
	       "the stack reservation of a goroutine started with go(), in KiB, rounded up to a "
	       "power of two; default 32 (go_stack() chooses per goroutine; main and the "
	       "runtime's own goroutines keep 1024)");

static size_t stack_class(size_t size)
{
	size_t s = STACK_MIN_SIZE;
	if (size == 0)
		size = (size_t)opt_gstack_kib << 10;
	while (s < size)
		s <<= 1;
	return s;
}

size_t go_stack_default(void)
{
	return stack_class(0);
}

/* The kernel's panic on a stack overflow calls this after its line (kernel/stack.h): say
 * whose reservation it was, its size, and how to ask for a larger one. */
static void sched_overflow_word(uintptr_t addr, const struct kstack *s)
{
	(void)addr;
	struct g *g = sched_curg();
	size_t kib = (size_t)((s->top - s->base) >> 10);
	if (g && g->stack.base == s->base)
		kprintf("goroutine %llu outgrew its stack reservation of %zu KiB (go() gives %zu KiB; "
			"for more, go_stack(fn, arg, bytes) for one goroutine, up to %u MiB, or the "
			"boot option gstack_kib=N for every go())\n", (unsigned long long)g->id, kib,
			go_stack_default() >> 10, STACK_MAX_SIZE >> 20);
	else
		kprintf("the guard page of a %zu KiB stack reservation that is not the running "
			"goroutine's\n", kib);
}

/* Ids come to a P GOID_BATCH at a time (Go's goidcache): unique, increasing on each
 * P, not across them. */
#define GOID_BATCH 16

/* Interrupts off: p is this CPU's. */
static uint64_t goid_take(struct p *p)
{
	if (p->goid_next == p->goid_end) {
		p->goid_next = atomic_fetch_add(&sched.goid_next, GOID_BATCH);
		p->goid_end = p->goid_next + GOID_BATCH;
	}
	return ++p->goid_next;
}

/* Interrupts off: p is this CPU's. */
static void live_add(struct p *p, int64_t d)
{
	atomic_store_explicit(&p->nlive, atomic_load_explicit(&p->nlive, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

uint64_t sched_live(void)
{
	int64_t n = 0;
	for (unsigned i = 0; i < cpu_ids_end; i++)
		n += atomic_load_explicit(&allp[i].nlive, memory_order_relaxed);
	return n > 0 ? (uint64_t)n : 0;
}

struct g *sched_spawn(void (*fn)(void *), void *arg, size_t stack_size)
{
	if (stack_size > STACK_MAX_SIZE)
		panic("go: stack size %zu exceeds the limit of %u bytes", stack_size, STACK_MAX_SIZE);
	size_t size = stack_class(stack_size);
	irq_push();
	struct p *p = p_this();
	struct g *g = gfree_get(p, size);
	uint64_t id = goid_take(p);
	irq_pop();
	if (!g) {
		g = g_alloc(size);
		if (!g)
			panic("go: out of memory for a goroutine (%llu live)",
			      (unsigned long long)sched_live());
	}
	__atomic_store_n(&g->id, id, __ATOMIC_RELAXED);	/* (read by scanners racing a reuse) */
	__atomic_store_n(&g->wait_reason, NULL, __ATOMIC_RELAXED);
	g->schedlink = NULL;
	g->npreempt = 0;
	libc_state_init(&g->libc);
	arch_context_init(&g->ctx, g_frames_top(g), g_entry, g);
	g->gc_system = false;
	__atomic_store_n(&g->gc_noroots, false, __ATOMIC_RELAXED);	/* (as id) */
	/*
	 * From here arg is in g->arg only: the caller need not hold it any longer. The
	 * collector reads a G's argument only once it is runnable (a G_DEAD or G_IDLE one
	 * is skipped) and, while it marks, only if the G is in its snapshot of allgs or
	 * on a rescan list (gc_sched_spawn). So the argument, the status and the hook go
	 * in one stretch with interrupts off, which no stop-the-world and no stack-scan
	 * IPI can split: before it, arg is still in this frame (a register or a slot the
	 * scan of this running goroutine reads); after it, the G is a runnable one the
	 * collector finds. With interrupts on in between, a stop that landed after the
	 * store to g->arg and before the status could lose the argument (g_entry has
	 * the same window's other end).
	 */
	irq_push();
	g->fn = fn;
	g->arg = arg;
	atomic_store(&g->status, G_RUNNABLE);
	gc_sched_spawn(g);	/* spawned while the collector marks: its stack is scanned at the end */
	p = p_this();		/* (preempted since: on another CPU) */
	live_add(p, 1);
	runq_put_or_spill(p, g);
	irq_pop();
	wakep();
	return g;
}

/* Give the CPU to the scheduler loop with an action for it; returns when resumed. */
static void sched_switch(enum p_action action)
{
	irq_push();
	struct cpu *c = cpu_this();
	int depth = c->irq_depth;
	unsigned long saved = c->irq_saved;
	struct p *p = &allp[c->id];
	struct g *g = p->curg;
	KASSERT(g != NULL);
	p->action = action;
	arch_context_switch(&g->ctx, &p->sched_ctx);
	/* resumed, perhaps on another CPU: our nesting, not the loop's */
	c = cpu_this();
	c->irq_depth = depth;
	c->irq_saved = saved;
	irq_pop();
}

void sched_gosched(void)
{
	sched_switch(P_YIELD);
}

void sched_park(const char *reason, bool (*fn)(struct g *g, void *arg), void *arg)
{
	irq_push();
	struct p *p = p_this();
	__atomic_store_n(&p->curg->wait_reason, reason, __ATOMIC_RELAXED);	/* (a panic's dump reads it) */
	p->park_fn = fn;
	p->park_arg = arg;
	sched_switch(P_PARK);
	irq_pop();
}

static _Noreturn void g_exit(void)
{
	sched_switch(P_EXIT);
	panic("g_exit: a dead goroutine was resumed");
}

/* ---- the scheduler loop --------------------------------------------------------------- */

static uint64_t p_rand(struct p *p)
{
	uint64_t x = p->rand;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return p->rand = x;
}

static bool work_anywhere(void)
{
	if (atomic_load(&sched.runq_size))
		return true;
	unsigned n = atomic_load(&sched.span);
	for (unsigned i = 0; i < n; i++)
		if (atomic_load(&cpus[i].online) && runq_len(&allp[i]))
			return true;
	return false;
}

/* Work an idle P can take at once: the global queue or a P's ring. Not a runnext: a
 * runnext is taken by its own P, or by a thief that a wakep sent (find_runnable),
 * and a spinner watching runnexts would keep stealing channel partners apart. */
static bool work_to_steal(void)
{
	if (atomic_load(&sched.runq_size))
		return true;
	unsigned n = atomic_load(&sched.span);
	for (unsigned i = 0; i < n; i++) {
		struct p *o = &allp[i];
		if (atomic_load(&cpus[i].online) &&
		    atomic_load_explicit(&o->runqtail, memory_order_acquire) !=
			    atomic_load_explicit(&o->runqhead, memory_order_acquire))
			return true;
	}
	return false;
}

_Atomic unsigned sched_wakers;

/*
 * Go's "all goroutines are asleep": every P idle, no sleeper pending, nothing
 * runnable, yet goroutines live. Nothing but timers and the devices counted in
 * sched_wakers (the console's input, rt/tty.c) readies goroutines from outside, so
 * without them nothing could ever run again. The order of the
 * reads matters: timers_pending first (it drops only after a fired sleeper was
 * queued), then the queues, so a sleeper being readied is seen in one or the other.
 *
 * The reads are not one snapshot: a P whose bit we saw may, while we read the
 * queues, take the last runnable goroutine (it clears its bit first, then takes,
 * then counts a switch), so the queues look empty and that goroutine runs: tsan
 * smp8 once reported a deadlock with goroutine 1 running. So the mask and every
 * P's switch count are read again after the queues: all bits still set and no
 * switch since means no P took anything in between (a P that took and went idle
 * again counted the switch before it set its bit again).
 */
static uint64_t switches(uint64_t online)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < cpu_ids_end; i++)
		if (online >> i & 1)
			n += atomic_load_explicit(&allp[i].nswitch, memory_order_acquire);
	return n;
}

static void check_deadlock(void)
{
	static _Atomic bool reported;
	uint64_t online = 0;
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (atomic_load(&cpus[i].online))
			online |= 1ull << i;
	if ((atomic_fetch_or(&sched.idle_mask, 0) & online) != online)
		return;
	uint64_t sw = switches(online);
	if (atomic_load(&timers_pending) || atomic_load(&sched_wakers) || work_anywhere() ||
	    !sched_live())
		return;
	if ((atomic_fetch_or(&sched.idle_mask, 0) & online) != online || switches(online) != sw)
		return;
	if (atomic_exchange(&reported, true))
		return;
	kprintf("\nfatal error: all goroutines are asleep - deadlock!\n");
	sched_dump();
	console_panic_flush();
	arch_poweroff(EXIT_PANIC);
}

bool sched_others_runnable(void)
{
	return work_anywhere();
}

bool sched_cpu_halting(unsigned cpu)
{
	return atomic_load(&allp[cpu].halting);
}

bool sched_cpu_between(unsigned cpu)
{
	return !__atomic_load_n(&allp[cpu].curg, __ATOMIC_RELAXED) && !stw_cpu_idle_spinning(cpu) &&
	       !atomic_load_explicit(&allp[cpu].halting, memory_order_relaxed);
}

/* The collector's idle marking on this idle CPU; true if it marked anything (the
 * caller then looks for goroutines again before it halts). */
static bool gc_idle_marked(struct p *p)
{
	(void)p;
	return gc_sched_idle(work_anywhere);
}

/*
 * An idle P spins this long (its idle bit set, not halting) before it halts, since
 * it last ran a goroutine or woke: work readied meanwhile reaches it without an IPI
 * (on the hosted platform a signal, a system call on the waker's side, which was most
 * of a cross-CPU channel operation). Interrupts stay off while it spins, so its own
 * timer and devices wait at most this long; cross-calls and stops are answered
 * (ipi_poll). Go's spinning Ms, bounded by time.
 */
#define SCHED_SPIN_NS 20000
_Atomic uint64_t sched_spin_ns = SCHED_SPIN_NS;	/* (tests lengthen it: rt/sched.h) */

static struct g *find_runnable(struct p *p)
{
	struct spin_window spin;	/* this spell of spinning (kernel/clock.h) */
	bool spinning = false;
	for (;;) {
		struct g *g;
		/* Fairness (Go's 1 in 61): the global queue's head gets a turn even while
		 * this P's queue never empties. It goes to this queue's tail when there is
		 * room, not ahead of it: it runs after what is queued here either way, but
		 * a burst of spawns that spilled there keeps its order. Taken ahead of the
		 * queue, one G in 61 of a burst ran out of turn (and one in 129 at each
		 * spill, runq_put_or_spill), and over rounds of 10k spawns at one CPU the
		 * dead Gs' order, hence the next rounds' Gs and stacks, decayed from 89% of
		 * neighbours a reservation apart to 30% in 30 rounds, a spawn costing 300
		 * to 500 ns by then with the TLB misses; in order, 97% throughout and 165
		 * to 175 ns. */
		if (++p->schedtick % 61 == 0 && atomic_load(&sched.runq_size)) {
			spin_lock_irqsave(&sched.lock);
			g = global_get_locked();
			spin_unlock_irqrestore(&sched.lock);
			if (g && !runq_put(p, g))
				return g;
		}
		/* runnext inherits the time slice (Go's inheritTime): not a new scheduling
		 * decision for the slice timer, so two goroutines that ready each other in
		 * turn are preempted after a slice like one goroutine would be, and the
		 * rest of the queue gets its turn (sched_tick) */
		if ((g = atomic_exchange_explicit(&p->runnext, NULL, memory_order_acq_rel))) {
			p->schedtick--;
			return g;
		}
		if ((g = runq_get(p)))
			return g;
		if (atomic_load(&sched.runq_size) && (g = global_get_batch(p)))
			return g;
		unsigned n = atomic_load(&sched.span);
		for (int round = 0; round < 4; round++) {
			unsigned start = (unsigned)(p_rand(p) % n);
			for (unsigned k = 0; k < n; k++) {
				unsigned i = (start + k) % n;
				if (i == p->id || !atomic_load(&cpus[i].online) || !runq_len(&allp[i]))
					continue;
				/* runnext only in the last round (rt/runq.c) */
				if ((g = runq_steal(&allp[i], p, round == 3)))
					return g;
			}
		}
		/* nothing to run: help the collector mark, if it is marking, then look again */
		if (gc_idle_marked(p))
			continue;
		/* nothing: announce idleness, spin a while, halt */
		uint64_t bit = 1ull << p->id;
		atomic_fetch_or(&sched.idle_mask, bit);
		if (!spinning) {
			spin = spin_window(atomic_load_explicit(&sched_spin_ns, memory_order_relaxed));
			spinning = true;
		}
		bool found = false;
		/* a stop may claim this CPU while it spins, as while it halts (kernel/stw.h):
		 * it reads only; before it answers an IPI, or acts on what it saw, it leaves
		 * the claimable state, waiting for the release of a stop that claimed it */
		stw_idle_begin();
		while (!spin_window_over(&spin)) {
			if (!(atomic_load(&sched.idle_mask) & bit) || work_to_steal()) {
				found = true;	/* claimed by a waker, or work seen: look */
				break;
			}
			if (ipi_pending()) {
				stw_idle_wake();
				ipi_poll();
				stw_idle_begin();
			}
			arch_cpu_relax();
		}
		stw_idle_wake();
		if (!found) {
			gc_sched_halt();	/* before halting is seen: sched_cpu_halting */
			/* an RMW, then a load of our bit; the waker clears the bit (an RMW),
			 * then loads halting: one of the two sees the other's write, so either
			 * we see the claim and do not halt, or the waker sends the IPI. An
			 * exchange rather than a seq_cst store: under QEMU's TCG an arm64 stlr
			 * and a later ldar may pass each other (kernel/stw.c wake_sleepers) */
			(void)atomic_exchange(&p->halting, true);
			if ((atomic_load(&sched.idle_mask) & bit) && !work_to_steal()) {
				check_deadlock();
				stw_idle_halt();	/* a stop may claim it asleep */
			}
			atomic_store(&p->halting, false);
			spinning = false;	/* woken: a new spell of spinning next time */
		}
		atomic_fetch_and(&sched.idle_mask, ~bit);
		ipi_poll();
	}
}

static _Noreturn void sched_loop(void)
{
	irq_push();
	struct cpu *c = cpu_this();
	const unsigned long loop_saved = c->irq_saved;
	struct p *p = p_this();
	atomic_fetch_add(&sched.nps, 1);
	for (unsigned sp = atomic_load(&sched.span); sp < p->id + 1;)
		atomic_compare_exchange_weak(&sched.span, &sp, p->id + 1);
	for (;;) {
		struct g *g = find_runnable(p);
		/* RUNNABLE -> RUNNING; a collector scanning g's saved context holds G_SCAN for
		 * the length of one stack scan, on another CPU: wait for it */
		for (uint32_t st = G_RUNNABLE;
		     !atomic_compare_exchange_strong(&g->status, &st, G_RUNNING); st = G_RUNNABLE) {
			if (st != (G_RUNNABLE | G_SCAN))
				panic("sched: goroutine %llu on a run queue with status %u",
				      (unsigned long long)g->id, st);
			ipi_poll();
			arch_cpu_relax();
		}
		__atomic_store_n(&p->curg, g, __ATOMIC_RELEASE);
		__atomic_store_n(&g->p, p, __ATOMIC_RELEASE);
		atomic_store_explicit(&p->nswitch, atomic_load_explicit(&p->nswitch, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		gc_sched_switchin(g);
		if (preempt_slice_ns && !p->slice_armed) {
			p->slice_armed = true;
			p->slice_schedtick = p->schedtick;
			timer_slice_set(clock_ns() + preempt_slice_ns);
		}
		libc_state_switch_in(&g->libc);
		arch_context_switch(&p->sched_ctx, &g->ctx);
		/* g switched back, its registers saved: act on what it asked */
		libc_state_switch_out(&g->libc);
		preempt_cancel();	/* a request pending for g is void now */
		c->irq_depth = 1;
		c->irq_saved = loop_saved;
		__atomic_store_n(&p->curg, NULL, __ATOMIC_RELAXED);
		__atomic_store_n(&g->p, NULL, __ATOMIC_RELAXED);	/* read by stack scanners */
		switch (p->action) {
		case P_YIELD:
			atomic_store(&g->status, G_RUNNABLE);
			spin_lock_irqsave(&sched.lock);
			global_put_locked(g);
			spin_unlock_irqrestore(&sched.lock);
			break;
		case P_PARK:
			atomic_store(&g->status, G_WAITING);
			if (p->park_fn && !p->park_fn(g, p->park_arg))
				sched_ready(g);	/* the wait was over before it began */
			break;
		case P_EXIT:
			atomic_store(&g->status, G_DEAD);
			live_add(p, -1);
			gfree_put(p, g);
			break;
		default:
			panic("sched: goroutine %llu switched with no action", (unsigned long long)g->id);
		}
		if (c->nlocks)
			panic("sched: goroutine %llu switched holding lock %s", (unsigned long long)g->id,
			      c->lock_names[c->nlocks - 1]);
		p->action = P_NONE;
		p->park_fn = NULL;
	}
}

/* ---- preemption ------------------------------------------------------------------------ */

/*
 * The slice timer fired on this CPU (rt/timer.c, interrupt context, frame f). Go's
 * sysmon rule, without the thread: a goroutine that has been running since the
 * previous tick (p->schedtick unchanged: no scheduling decision here in between) is
 * preempted if anything else is waiting to run; so a goroutine keeps the CPU for at
 * least one slice and at most two before it is asked to give it up. The timer runs
 * only while goroutines do: an idle CPU lets it lapse and the next switch re-arms it.
 */
void sched_tick(struct arch_frame *f)
{
	struct p *p = p_this();
	p->slice_armed = false;
	if (!p->curg || !preempt_slice_ns)
		return;
	uint32_t seen = p->slice_schedtick;
	p->slice_armed = true;
	p->slice_schedtick = p->schedtick;
	timer_slice_set(clock_ns() + preempt_slice_ns);
	if (seen == p->schedtick && work_anywhere())
		preempt_irq(f);
}

/* The preemption handler (kernel/preempt.h): the running G goes to the back of the
 * global queue, as a yield does. */
static void sched_preempt(void)
{
	irq_push();
	preempt_arrived();	/* no second redirect until here; none after, until the switch */
	struct g *g = p_this()->curg;
	if (g) {		/* else not a goroutine: nothing to give away */
		g->npreempt++;
		sched_switch(P_YIELD);
	}
	irq_pop();
}

/* ---- start ------------------------------------------------------------------------------ */

static void main_goroutine(void *arg)
{
	(void)arg;
	int status = sched_main_fn(sched_main_arg);
	sched_exit_fn(status);
	panic("sched: the exit function returned");
}

static void sched_ap_loop(void)
{
	sched_loop();
}

/* main_fn NULL: no tests to run; arg is the program's argv (rt/program.c). */
static void sched_start_kernel(int (*main_fn)(void *), void *arg, void (*exit_fn)(int))
{
	sched_start(main_fn ? main_fn : rt_program_main, arg, exit_fn);
}

_Noreturn void sched_start(int (*main_fn)(void *), void *arg, void (*exit_fn)(int))
{
	/* the Ps of CPUs that exist (smp_init ran): the rest of allp is never touched,
	 * and on the hosted platform stays out of the process's memory */
	for (unsigned i = 0; i < cpu_ids_end; i++) {
		allp[i].id = i;
		allp[i].rand = 0x9e3779b97f4a7c15ull * (i + 1);
	}
	sched_main_fn = main_fn;
	sched_main_arg = arg;
	sched_exit_fn = exit_fn;
	timer_init();
	preempt_set_handler(sched_preempt);
	libc_lock_start();		/* newlib's locks park goroutines from now on */
	panic_set_dump_hook(sched_dump);
	stack_set_overflow_handler(sched_overflow_word);
	gc_init();			/* the heap: channels and timers live there */
	sched_spawn(main_goroutine, NULL, STACK_DEFAULT_SIZE);
	gc_start();			/* the collector's goroutines, after main (goroutine 1) */
	tty_init();			/* standard input reads the console (rt/tty.c) */
	smp_set_idle_hook(sched_ap_loop);
	sched_loop();
}

KERNEL_START(sched_start_kernel);
