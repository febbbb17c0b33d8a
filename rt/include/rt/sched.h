/*
 * rt/sched.h: goroutines (G) and per-CPU scheduler state (P), as the scheduler sees
 * them. The public API is rt/go.h; this header is for rt/ itself and its tests.
 *
 * G states and who may touch what (DESIGN.md "Goroutines"):
 *
 *   G_IDLE      allocated, never run; only its creator touches it
 *   G_RUNNABLE  on a run queue; whoever takes it off a queue owns it; its stack and
 *               saved context must not be touched by anyone else
 *   G_RUNNING   running on P p (g->p): only that CPU touches its stack
 *   G_WAITING   parked; whoever readies it (sched_ready) makes it RUNNABLE; a scanner
 *               (later: the GC) may claim it with the G_SCAN bit and read its stack
 *   G_DEAD      finished; its struct and stack sit in its P's free cache for reuse
 *   G_SCAN      (bit) set together with RUNNABLE or WAITING by a scanner that owns
 *               the stack for the moment; the G cannot run until the bit is cleared.
 *               A scanner holds it only with interrupts off, for a bounded time (one
 *               stack's scan or shrink), so whoever waits for it (sched_ready, the
 *               scheduler about to run the G) spins briefly, on another CPU
 *
 * Transitions happen only on the scheduler's side of a context switch (a G asks, by
 * sched_switch, and the CPU's scheduler loop acts once the G's context is saved), so
 * no other CPU ever sees a G runnable whose registers are still live somewhere.
 */
#ifndef RT_SCHED_H
#define RT_SCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <arch/context.h>
#include <arch/smp.h>
#include <kernel/cpu.h>
#include <kernel/libc_state.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>
#include <kernel/stack.h>

enum g_status {
	G_IDLE = 0,
	G_RUNNABLE = 1,
	G_RUNNING = 2,
	G_WAITING = 3,
	G_DEAD = 4,
	G_SCAN = 0x100,
};

struct p;

struct g {
	/* Saved when the G is not running: owned by whoever owns the G (see above). */
	struct arch_context ctx;
	struct kstack stack;

	/* Set at spawn. */
	uint64_t id;
	void (*fn)(void *);
	void *arg;

	_Atomic uint32_t status;	/* enum g_status */
	uint32_t gfree_n;		/* G_DEAD, heading a batch on a global free list: its length */
	union {
		const char *wait_reason;	/* why it is G_WAITING ("chan receive", ...) */
		struct g *gfree_tail;	/* G_DEAD, heading a batch: its last G (rt/sched.c) */
	};
	struct p *p;			/* the P running it, while G_RUNNING */
	struct g *schedlink;		/* next on a run queue, a free list, a wait list */
	struct g *alllink;		/* next in allgs (sched.lock) */

	uint64_t npreempt;		/* times preempted (the G itself, while running) */

	/* The collector's (rt/gc/stackscan.c). */
	_Atomic uint32_t gc_scancycle;	/* the cycle whose scan of this stack is current */
	_Atomic uint32_t gc_rescanq;	/* the cycle it was put on a rescan list in */
	struct g *gc_rescanlink;	/* next on a CPU's rescan list */
	int64_t gc_assist_bytes;	/* the G itself: allocation credit (> 0) or debt */
	uint32_t gc_assist_cycle;	/* ... in this cycle (another: the account is empty) */
	bool gc_system;			/* a goroutine of the runtime's (the collector's own) */
	bool gc_noroots;		/* its stack holds no roots: never scanned (stackscan.c);
					 * relaxed atomics: scanners read it racing a respawn */
	bool gc_stkbar;			/* stack barriers may be planted in it (stackbar.c) */

	/* errno and newlib's state: switched in and out with the G (kernel/libc_state.h) */
	struct libc_state libc;
};

#define RUNQ_SIZE 256
/* Stack size classes of dead Gs kept for reuse: a power of two from STACK_MIN_SIZE to
 * STACK_MAX_SIZE. */
#define GFREE_CLASSES (__builtin_ctz(STACK_MAX_SIZE) - __builtin_ctz(STACK_MIN_SIZE) + 1)

/*
 * The top bytes of every goroutine's stack reservation, which its first frame starts
 * below: the G itself at the very top (G_HDR_BYTES), then the collector's
 * stack-barrier bookkeeping (G_STKBAR_BYTES, rt/gc/stackbar.c).
 *
 *   stack.base                             stack.top - G_STACK_RESERVED      stack.top
 *   | guard | ... frames grow down <- sp  |  stack barriers  |    struct g    |
 *
 * A G lives as long as its stack (never freed: dead ones are reused with it), and
 * the top page is mapped for the reservation's whole life (kernel/stack.h; shrinking
 * keeps the pages at and above sp). Keeping the G there saves its own allocation
 * and, on every switch, spawn or exit, a second page's TLB entry and cache lines: a
 * goroutine touches one page until its stack grows.
 */
#define G_HDR_BYTES	 ((sizeof(struct g) + 63) & ~(size_t)63)
#define G_STKBAR_BYTES	 256
#define G_STACK_RESERVED (G_STKBAR_BYTES + G_HDR_BYTES)

/* The top of g's frames: its first frame is built just below (sched.c's spawn); the
 * stack-barrier record and the G above are not frames, and the collector's scans of
 * the stack stop here (rt/gc/stackscan.c). */
static inline uintptr_t g_frames_top(const struct g *g)
{
	return g->stack.top - G_STACK_RESERVED;
}

/* The action a G asks of its CPU's scheduler loop when it switches to it. */
enum p_action {
	P_NONE = 0,
	P_YIELD,	/* put the G back on the global queue */
	P_PARK,		/* mark it waiting, then run park_fn(park_arg) (e.g. unlock) */
	P_EXIT,		/* the G finished: free it */
};

struct p {
	unsigned id;			/* == the CPU's id */

	/* Owned by this CPU. */
	struct arch_context sched_ctx;	/* the scheduler loop, while a G runs */
	struct g *curg;			/* the G running here, or NULL */
	enum p_action action;		/* set by curg just before it switches here */
	bool (*park_fn)(struct g *g, void *arg);	/* P_PARK: false = do not park after all */
	void *park_arg;
	uint32_t schedtick;		/* scheduling decisions, for fairness and slices */
	uint32_t slice_schedtick;	/* schedtick when the slice timer was armed */
	bool slice_armed;		/* this CPU's slice timer is set (rt/timer.c) */
	uint64_t rand;			/* xorshift state: steal order, select order */
	uint64_t goid_next, goid_end;	/* goroutine ids taken from sched.goid_next */
	/* Gs spawned here minus Gs that exited here (sched_live() adds them up): written
	 * by this CPU only, read by any */
	_Atomic int64_t nlive;
	struct g *gfree[GFREE_CLASSES];	/* dead Gs with their stacks, per stack size class,
					 * for reuse (rt/sched.c, gfree_get) */
	unsigned ngfree[GFREE_CLASSES];

	/* The local run queue: the owner puts at the tail and takes at the head; other
	 * CPUs steal from the head with a CAS (Go's runqput/runqget/runqgrab). */
	_Atomic uint32_t runqhead;
	_Atomic uint32_t runqtail;
	struct g *_Atomic runq[RUNQ_SIZE];
	struct g *_Atomic runnext;	/* the next G to run, ahead of the queue */

	/* Switches to a G (sched_loop), relaxed: thieves read it to tell a runnext
	 * that waits from one that keeps being consumed (rt/runq.c). */
	_Atomic uint32_t nswitch;

	/* Idle: set from just before this P's last look at its idle bit until it wakes
	 * from its halt; a waker that claims the bit sends the IPI only then (a P still
	 * spinning finds the work itself). rt/sched.c, find_runnable. */
	_Atomic bool halting;
};

/* Global scheduler state, on separate cache lines by who writes it: the lock's, the
 * idle Ps' mask, the rarely written. (All on one line, a spawn on one CPU and the
 * exit on another of what it spawned moved the line between them several times per
 * goroutine.) */
struct sched {
	struct spinlock lock;		/* guards the fields below it */
	struct g *runq_head, *runq_tail;	/* global run queue */
	_Atomic uint32_t runq_size;	/* written under lock, read without it as a hint */
	struct g *allgs;		/* every G ever created (never freed: reused) */
	uint64_t ngs;

	_Alignas(64) _Atomic uint64_t idle_mask;	/* Ps halted for want of work */

	_Alignas(64) _Atomic uint64_t goid_next;	/* Ps take GOID_BATCH ids at a time */
	_Atomic unsigned nps;		/* Ps running the scheduler */
	_Atomic unsigned span;		/* 1 + the highest id of those Ps: loops over Ps stop there */
};

extern struct sched sched;
extern struct p allp[ARCH_MAX_CPUS];

/* Goroutines not dead, on every P: exact while nothing spawns or exits. */
uint64_t sched_live(void);

/* The running G, or NULL on a scheduler loop / outside the scheduler. */
struct g *sched_curg(void);

/* The same with interrupts already off (a lock held): no CPU change can come between
 * finding this CPU and reading its G, so no interrupt toggle either. */
static inline struct g *sched_curg_irqoff(void)
{
	KASSERT(!arch_irq_enabled());
	return allp[cpu_id()].curg;
}

/* Make g runnable (it was G_IDLE or G_WAITING). Any context, any CPU. */
void sched_ready(struct g *g);

/*
 * Park the running G: it becomes G_WAITING with `reason`, after which the scheduler
 * calls fn(g, arg) on its own stack, on the same CPU (typically to release, with the
 * plain spin_unlock, the lock protecting the wait list the G just put itself on: the
 * G took it with spin_lock_irqsave and calls irq_pop() itself once it resumes). If fn
 * returns false the G is made runnable again at once (the wait was already
 * satisfied). Returns when someone readied it.
 */
void sched_park(const char *reason, bool (*fn)(struct g *g, void *arg), void *arg);

/* Put the running G at the back of the global queue and run others. */
void sched_gosched(void);

/* Is any goroutine waiting to run (on any CPU)? A hint, for long-running work that
 * yields to others (the collector's background marker). */
bool sched_others_runnable(void);

/* Is CPU cpu's P halted in its idle loop (or about to halt, or just woken from it)?
 * A hint: what it said may have changed by the time the caller acts. Before it halts,
 * an idle CPU hands its collector work to the other markers (gc_sched_halt), so the
 * collector's end-of-mark flush need not wake it (rt/gc/gc.c, mark_concurrent). */
bool sched_cpu_halting(unsigned cpu);
/* Is CPU cpu in its scheduler between goroutines: no goroutine, and neither spinning
 * in its idle loop (where a stop may claim it, kernel/stw.h) nor halting? On its way
 * to one of those three, shortly (the collector waits for that before its second
 * pause: rt/gc/markterm.c, term_grace). A hint, as sched_cpu_halting. */
bool sched_cpu_between(unsigned cpu);
/* How long an idle CPU spins before it halts (rt/sched.c, SCHED_SPIN_NS); a test may
 * lengthen it to find idle CPUs spinning (tests/boot/stw_test.c). */
extern _Atomic uint64_t sched_spin_ns;

/* Spawn: a new G running fn(arg) on a stack of stack_size bytes (0: default). */
struct g *sched_spawn(void (*fn)(void *), void *arg, size_t stack_size);

/* Start the scheduler on every online CPU, run main_fn(arg) as the first goroutine on
 * this CPU; returns nothing: when main_fn returns, exit_fn(status) is called. */
_Noreturn void sched_start(int (*main_fn)(void *), void *arg, void (*exit_fn)(int));

/* Sleep timers (rt/timer.c): take the CPUs' timer interrupts. */
void timer_init(void);
extern _Atomic uint64_t timers_pending;
/* Wake-up sources other than timers, for the deadlock check: devices whose interrupts
 * may still ready a goroutine (rt/tty.c, while the console may receive). */
extern _Atomic unsigned sched_wakers;
/* The console's readers (rt/tty.c): newlib's read(0), or glibc's stdin hosted. */
void tty_init(void);
/* This CPU's running goroutine's slice ends at deadline (clock_ns; 0: no slice).
 * Interrupts off. When it passes, the timer interrupt calls sched_tick(frame). */
void timer_slice_set(uint64_t deadline);
struct arch_frame;
void sched_tick(struct arch_frame *f);

/* The first goroutine when the kernel runs no tests: the program (rt/program.c);
 * arg is its struct program_args (kernel/start.h). */
int rt_program_main(void *arg);

/* Print every goroutine (rt/traceback.c); the kernel's panic dump hook. */
void sched_dump(void);

/* Release the stack pages below every parked goroutine's saved sp (rt/gstack.c; the
 * collector's hook). Returns the bytes released. A goroutine, interrupts on. */
size_t sched_shrink_stacks(void);

/* The collector's hooks (rt/gc/stackscan.c, rt/gc/gc.c), called by the scheduler
 * with interrupts off: g is about to run here (it may have to be scanned again before
 * the collector's marking ends); g was just spawned; this CPU is idle (mark the heap
 * until stop() says there is something to run, or there is no marking to do; true if
 * it marked anything); this idle CPU is about to halt. */
void gc_sched_switchin(struct g *g);
void gc_sched_spawn(struct g *g);
bool gc_sched_idle(bool (*stop)(void));
void gc_sched_halt(void);
/* Start the collector (its goroutines) once the scheduler runs: sched_start. */
void gc_init(void);
void gc_start(void);

/* Local run queue operations (rt/runq.c). */
bool runq_put(struct p *p, struct g *g);
struct g *runq_get(struct p *p);
struct g *runq_steal(struct p *from, struct p *to, bool runnext);
uint32_t runq_len(struct p *p);

#endif
