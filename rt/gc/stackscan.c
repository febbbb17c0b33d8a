/*
 * rt/gc/stackscan.c: goroutine stacks as roots (DESIGN.md "Stacks are roots").
 *
 * A stack is scanned conservatively within its exact bounds, from the goroutine's
 * stack pointer to the top of its frames (g_frames_top: its G and stack-barrier record
 * above them are not roots), together with its registers. Stacks
 * take no write barrier, so with the insertion barrier a stack that ran after its
 * scan may hold a pointer the heap no longer has: such stacks are scanned again
 * before marking ends (rescans, below).
 *
 * The three cases of scanning goroutine g (gc_scan_stack), in this kernel:
 *
 *  1. g is the goroutine doing the scan (an assist, gc_collect's caller, the
 *     collector's own goroutine): it spills its callee-saved registers into a frame
 *     of its own and scans from there up (scan_here).
 *  2. g is parked or runnable: the scanner claims it with the G_SCAN bit (one CAS:
 *     G_WAITING or G_RUNNABLE -> | G_SCAN; rt/sched.h), which keeps it from running,
 *     and scans its saved context (callee-saved registers; a preempted goroutine's
 *     other registers are on its stack, where its preemption trampoline put them) and
 *     its stack from the saved stack pointer, plus the argument of a goroutine that has
 *     not started. The claim is held with interrupts off: someone who readies g meanwhile
 *     spins until it is released (from an interrupt too: the timer fires sleepers), and
 *     it must be another CPU that holds it, for a bounded time.
 *  3. g runs on another CPU: an IPI asks that CPU (a cross-call, kernel/ipi.h), and
 *     the handler scans g right there: g's registers are in the interrupt frame the
 *     IPI pushed (general and FP/SIMD, arch_frame_gc_areas), its stack is [frame's
 *     sp, frames' top). If that CPU was in a wait loop with interrupts off (a shootdown, a
 *     cross-call) when the call came, it runs it from the loop, on g's own stack: then
 *     it is case 1 there. A CPU with interrupts off delays the scan until it turns them
 *     on (a bounded section); one that never answers within IPI_WAIT_NS is the named
 *     panic "gc: cpu N did not answer the stack scan of goroutine G".
 *     Why scan in the handler rather than have g scan itself at its next preemption
 *     point (the other way Go's asynchronous preemption could be used): the scan
 *     happens now, so the scanner knows when it is done without waiting for g to
 *     become preemptible, and the same code serves the end of marking, where every
 *     CPU is stopped in exactly such a handler (or wait loop) and scans its own
 *     goroutine. The interrupt stays short: one stack, and IPIs are only sent to
 *     goroutines that keep running through a whole scan job.
 *
 * Which case applies is read from g's status; a goroutine that changes state between
 * the read and the act (it parks just as its CPU gets the IPI) is simply tried again.
 *
 * Rescans. After a goroutine's stack has been scanned in a cycle (gc_scancycle ==
 * cycle), running it again makes it dirty: the scheduler's switch-in hook puts it on
 * its CPU's rescan list (once per cycle: gc_rescanq), and a scan of a goroutine that
 * keeps running (cases 1 and 3) puts it there at once. Goroutines spawned during
 * marking go there at spawn (they are not in the stack jobs' snapshot of allgs). The
 * collector rescans the lists concurrently while it can (gc_rescan_concurrent: the
 * goroutines that are not running), then, with the world stopped at the end of
 * marking, every CPU rescans its own running goroutine and the goroutines left on the
 * lists (gc_rescan_stw), which are exactly those that ran since their last scan.
 * With stack barriers (gc_stackbar=1, stackbar.c) a rescan reads the stack only up to
 * the lowest barrier not hit, and above it the pages written since the mark began
 * (scan_range); the first scan of a cycle plants them. With the hybrid barrier
 * (gc_barrier=hybrid, barrier.c) the stack barriers are on and the pages above them
 * are not read: only the frames rebuilt since the scan are.
 *
 * The lists: each CPU pushes onto its own with a CAS (its scheduler, interrupts off);
 * takers swap a whole list out with one exchange, so no node is ever popped alone and
 * there is no ABA.
 */
#include <string.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/panic.h>
#include <kernel/stw.h>
#include <arch/context.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include <arch/trap.h>
#include <rt/gc_test.h>
#include <rt/sched.h>
#include "mark.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_SANITIZE __attribute__((no_sanitize("address", "thread", "undefined")))
#else
#define NO_SANITIZE
#endif

_Atomic uint64_t gc_stat_stack_scans_ipi;

/* The stack jobs' cursor: the next goroutine of the cycle's snapshot of allgs. Moved
 * under its lock (take_stacks); read without it to see whether any is left. */
static struct spinlock stack_cursor_lock = SPINLOCK_INIT("gc_stack_cursor", LOCK_RANK_GC_CTL);
static struct g *_Atomic stack_cursor;
static _Atomic uint32_t stack_inflight;

/* ---- rescan lists ---------------------------------------------------------------------------- */

static void rescan_push(struct g *g, unsigned cpu)
{
	uint32_t cyc = atomic_load_explicit(&gc_cycle, memory_order_relaxed);
	/* acquire: pairs with the rescanner's store of 0 after it read the link */
	if (atomic_exchange_explicit(&g->gc_rescanq, cyc, memory_order_acquire) == cyc)
		return;		/* already on a list this cycle */
	struct g *_Atomic *head = &gc_cpus[cpu].rescan;
	struct g *old = atomic_load_explicit(head, memory_order_relaxed);
	do
		g->gc_rescanlink = old;
	while (!atomic_compare_exchange_weak_explicit(head, &old, g, memory_order_release,
						      memory_order_relaxed));
}

void gc_sched_switchin(struct g *g)
{
	KASSERT(!arch_irq_enabled());
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) != GC_MARK) {
		if (g->gc_stkbar)
			gc_stkbar_remove(g);	/* the cycle is over (stackbar.c) */
		return;
	}
	if (atomic_load_explicit(&g->gc_scancycle, memory_order_acquire) ==
	    atomic_load_explicit(&gc_cycle, memory_order_relaxed))
		rescan_push(g, cpu_id());
}

void gc_sched_spawn(struct g *g)
{
	/* a new life: no scan of this stack is current (a dead G's stack job may have set it) */
	atomic_store_explicit(&g->gc_scancycle, 0, memory_order_relaxed);
	gc_stkbar_spawn(g);
	irq_push();
	if (atomic_load_explicit(&gc_phase, memory_order_relaxed) == GC_MARK)
		rescan_push(g, cpu_id());
	irq_pop();
}

/* ---- scanning one goroutine ------------------------------------------------------------------------ */

static inline bool on_stack(const struct g *g, uintptr_t a)
{
	return a >= g->stack.base && a < g->stack.top;
}

/* Scans stop at the top of g's frames (rt/sched.h g_frames_top): above them the
 * stack-barrier record and the G hold no roots (code addresses, stack bounds, links
 * between Gs, which live in their stacks' top pages, and newlib's state, in pages of
 * its own) but the G's saved context and its argument, which scan_saved reads by
 * name. Half a kilobyte a goroutine not read: with 10,000 parked ones, about half of
 * what their stacks held from sp up, in cache lines nothing else touches. */
/* From this function's own frame to the top of g's stack: the caller's spilled
 * registers are in its frame, above ours. */
NO_SANITIZE __attribute__((noinline)) static void scan_from_my_frame(struct g *g, struct gcwork *w)
{
	uintptr_t lo = (uintptr_t)__builtin_frame_address(0);
	gc_scan_conservative(lo, g_frames_top(g), w);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

/* Case 1 (and case 3 from a wait loop): spill every callee-saved register (the
 * caller-saved ones are dead across this call: what the callers need is in their
 * frames or in callee-saved registers), then scan. */
NO_SANITIZE __attribute__((noinline)) static void scan_here_spilled(struct g *g, struct gcwork *w)
{
	__builtin_unwind_init();
	scan_from_my_frame(g, w);
	__asm__ volatile("" ::: "memory");
}

/*
 * A rescan reads [sp, bound) whole and, above the bound the stack barriers give
 * (stackbar.c), only the pages written since the mark began (their dirty state: the
 * take at mark start). The bytes it read. top need not be page-aligned (g_frames_top):
 * the page it falls in is looked at whole, and read only up to it.
 */
static uint64_t scan_written(uintptr_t lo, uintptr_t top, struct gcwork *w)
{
	uint64_t bytes = 0;
	for (uintptr_t p = lo & ~(uintptr_t)(PAGE_SIZE - 1); p < top;) {
		uint64_t bits[8] = { 0 }, n = (top - p + PAGE_SIZE - 1) / PAGE_SIZE;
		if (n > 512)
			n = 512;
		arch_mmu_dirty_peek(p, n, bits);
		for (unsigned k = 0; k < 8; k++)
			for (uint64_t b = bits[k]; b; b &= b - 1) {
				uintptr_t a = p + ((uintptr_t)k * 64 + (unsigned)__builtin_ctzll(b)) * PAGE_SIZE;
				uintptr_t s = a > lo ? a : lo, e = a + PAGE_SIZE < top ? a + PAGE_SIZE : top;
				gc_scan_conservative(s, e, w);
				bytes += e - s;
			}
		p += n * PAGE_SIZE;
	}
	return bytes;
}

NO_SANITIZE static uint64_t scan_range(struct g *g, uintptr_t lo, uintptr_t fp, uintptr_t pc, bool rescan,
				       struct gcwork *w)
{
	uintptr_t top = g_frames_top(g);
	uintptr_t hi = rescan ? gc_stkbar_bound(g, lo, fp, pc) : top;	/* (<= top) */
	if (lo >= top)
		return 0;	/* a goroutine that has not started: no frame yet */
	gc_scan_conservative(lo, hi, w);
	/* above the bound: the pages written meanwhile, through pointers from deeper
	 * frames; the hybrid barrier makes those writes safe (barrier.c) */
	return hi - lo + (hi < top && !gc_hybrid_active ? scan_written(hi, top, w) : 0);
}

/* Scan the goroutine this CPU runs; rescan: as a rescan (see scan_range), adding what
 * it read to *bytes and the whole stack's size to *total. */
static void scan_here(struct g *g, struct gcwork *w, bool rescan, uint64_t *bytes, uint64_t *total)
{
	KASSERT(!arch_irq_enabled());
	struct cpu *c = cpu_this();
	KASSERT(allp[c->id].curg == g);
	if (g->gc_noroots)
		return;		/* see "Stale words" */
	gc_cpus[c->id].scanning = g;
	if (on_stack(g, (uintptr_t)__builtin_frame_address(0))) {
		scan_here_spilled(g, w);
	} else {
		/* an interrupt stopped g: its registers and stack pointer are in the frame */
		struct arch_frame *f = c->in_irq ? c->irq_frame : NULL;
		if (!f)
			panic("gc: cpu %u cannot find the registers of goroutine %llu (not on its stack, "
			      "not in an interrupt)", c->id, (unsigned long long)g->id);
		uint64_t lo;
		const void *area[2];
		uint64_t len[2];
		unsigned n = arch_frame_gc_areas(f, &lo, area, len);
		if (!on_stack(g, lo + 256) && !on_stack(g, lo))
			panic("gc: goroutine %llu was interrupted with sp 0x%llx outside its stack [0x%lx, 0x%lx)",
			      (unsigned long long)g->id, (unsigned long long)lo, (unsigned long)g->stack.base,
			      (unsigned long)g->stack.top);
		if (lo < g->stack.base)
			lo = g->stack.base;
		for (unsigned i = 0; i < n; i++)
			gc_scan_conservative((uintptr_t)area[i], (uintptr_t)area[i] + len[i], w);
		uint64_t read = scan_range(g, lo, arch_frame_fp(f), arch_frame_pc(f), rescan, w);
		if (rescan) {
			*bytes += read;
			*total += g_frames_top(g) - lo;
		}
	}
	gc_cpus[c->id].scanning = NULL;
	gc_cpu_count(&gc_cpus[c->id].stack_scans, 1);
}

void gc_scan_stack_here(struct g *g, struct gcwork *w)
{
	scan_here(g, w, false, NULL, NULL);
}

/*
 * Stale words. Stacks are scanned conservatively from sp up, and a goroutine builds
 * its frames over whatever deeper calls left there: a word a frame never writes
 * (padding, a spill slot of a path not taken) still holds an old pointer, and keeps
 * that object alive while the frame lives. The collector's own goroutines handle
 * every object of the heap, so they would be the worst offenders; seen: an object
 * kept from its finalizer for good by a word in the coordinator's frames, which its
 * own scan marked, and whose draining wrote the address there again, every cycle.
 *
 * So the stacks of the coordinator and the sweeper are never scanned (gc_noroots):
 * they hold no roots. The sweeper holds no pointer the program needs; the coordinator
 * holds, between loading it from an object it is scanning and marking it, a pointer
 * it is about to mark itself (a run of marking never spans a pause: the coordinator
 * is the one that stops the world), as Go's mark workers hold them on their unscanned
 * system stacks. Neither may keep anything on its stack that links heap objects
 * together: no timer node (go_sleep panics for them), no waiter node of a structure
 * that reaches the heap (they wait only on semaphores, whose waiters are stacks'
 * nodes linked to one another).
 *
 * The finalizer goroutine runs the program's finalizers, so its stack is scanned; it
 * zeroes the stack below it before it parks instead (Boehm's collector does the same
 * from its allocator, GC_clear_stack): the frames that park are built on zeros (a few
 * KiB is more than they take). So do a mark assist when it is done (it handled heap
 * addresses on the program's stack) and gc_collect before it waits (its caller has
 * often just dropped what it wants collected).
 */
__attribute__((noinline)) void gc_scrub_stack(void)
{
	char pad[GC_SCRUB_BYTES];
	memset(pad, 0, sizeof(pad));
	__asm__ volatile("" : : "r"(pad) : "memory");	/* the stores are the point */
}

__attribute__((noinline)) void gc_test_scrub_stack(void)
{
	char pad[16384];
	memset(pad, 0, sizeof(pad));
	__asm__ volatile("" : : "r"(pad) : "memory");
}

/* Scan a goroutine that is not running; rescan: as a rescan (see scan_range), adding
 * what it read to *bytes and the whole stack's size to *total. */
NO_SANITIZE static void scan_saved(struct g *g, struct gcwork *w, bool rescan, uint64_t *bytes, uint64_t *total)
{
	KASSERT(!arch_irq_enabled());
	if (g->gc_noroots)
		return;		/* see "Stale words" */
	unsigned me = cpu_id();
	gc_cpus[me].scanning = g;
	uintptr_t sp = arch_context_sp(&g->ctx), start = g_frames_top(g);
	gc_scan_conservative((uintptr_t)&g->ctx, (uintptr_t)(&g->ctx + 1), w);
	gc_scan_conservative((uintptr_t)&g->arg, (uintptr_t)(&g->arg + 1), w);
	if (g->stack.top && on_stack(g, sp)) {
		uint64_t n = scan_range(g, sp, arch_context_fp(&g->ctx), arch_context_pc(&g->ctx), rescan, w);
		if (rescan) {
			*bytes += n;
			*total += sp < g_frames_top(g) ? g_frames_top(g) - sp : 0;
		}
	} else if (g->stack.top && sp != start && sp != (start & ~(uintptr_t)15))
		panic("gc: goroutine %llu's saved sp 0x%lx is outside its stack [0x%lx, 0x%lx)",
		      (unsigned long long)g->id, (unsigned long)sp, (unsigned long)g->stack.base,
		      (unsigned long)g->stack.top);
	gc_cpus[me].scanning = NULL;
	/* this CPU's count, not one shared counter: with 10,000 parked goroutines that
	 * was a cache line moving between the scanning CPUs at every stack */
	gc_cpu_count(&gc_cpus[me].stack_scans, 1);
}

NO_SANITIZE void gc_scan_stack_saved(struct g *g, struct gcwork *w)
{
	scan_saved(g, w, false, NULL, NULL);
}

/* Claim a goroutine that is not running (interrupts off): true with G_SCAN set. */
static bool claim(struct g *g, uint32_t *st)
{
	*st = atomic_load(&g->status);
	if (*st != G_WAITING && *st != G_RUNNABLE)
		return false;
	return atomic_compare_exchange_strong(&g->status, st, *st | G_SCAN);
}

static void release(struct g *g, uint32_t st)
{
	atomic_store_explicit(&g->status, st, memory_order_release);
}

struct scan_req {
	struct g *g;
	_Atomic int state;	/* 0 pending, 1 scanned, 2 not running there any more */
};

/* Case 3's handler, on the CPU the goroutine runs on, interrupts off. */
static void scan_ipi(void *arg)
{
	struct scan_req *r = arg;
	struct g *g = r->g;
	unsigned cpu = cpu_id();
	if (__atomic_load_n(&allp[cpu].curg, __ATOMIC_RELAXED) != g || atomic_load(&g->status) != G_RUNNING ||
	    atomic_load(&gc_phase) != GC_MARK) {
		atomic_store_explicit(&r->state, 2, memory_order_release);
		return;
	}
	gc_scan_stack_here(g, &gc_cpus[cpu].w);
	/* barriers only from the interrupted frame: answered on g's own stack (a wait
	 * loop, or ThreadSanitizer's deferred delivery, whose frame is a stale copy), the
	 * frames between are the handler's machinery; under TSan even the interrupt
	 * frame may be such a copy */
#if !defined(__SANITIZE_THREAD__)
	struct cpu *c = cpu_this();
	if (!on_stack(g, (uintptr_t)__builtin_frame_address(0)) && c->in_irq && c->irq_frame)
		gc_stkbar_install(g, arch_frame_sp(c->irq_frame), arch_frame_fp(c->irq_frame),
				  arch_frame_pc(c->irq_frame));
#endif
	atomic_store_explicit(&g->gc_scancycle, atomic_load(&gc_cycle), memory_order_release);
	rescan_push(g, cpu);		/* it goes on running: dirty again */
	atomic_fetch_add_explicit(&gc_stat_stack_scans_ipi, 1, memory_order_relaxed);
	atomic_store_explicit(&r->state, 1, memory_order_release);
}

/* Ask `cpu` to scan g; wait (answering IPIs ourselves) for the answer. */
static bool scan_remote(struct g *g, unsigned cpu)
{
	struct scan_req r = { .g = g };
	atomic_init(&r.state, 0);
	ipi_call(cpu, scan_ipi, &r, false);
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	irq_push();
	while (!atomic_load_explicit(&r.state, memory_order_acquire)) {
		ipi_poll();
		arch_cpu_relax();
		if (spin_deadline_over(&dl, ipi_wait_ns)) {
			char why[240];
			ipi_explain_silent(cpu, why, sizeof(why));
			panic("gc: cpu %u did not answer the stack scan of goroutine %llu in %llu ms "
			      "(interrupts off?)%s", cpu, (unsigned long long)__atomic_load_n(&g->id, __ATOMIC_RELAXED),
			      (unsigned long long)(ipi_wait_ns / 1000000), why);
		}
	}
	irq_pop();
	return atomic_load(&r.state) == 1;
}

void gc_scan_stack(struct g *g)
{
	uint32_t cyc = atomic_load(&gc_cycle);
	for (unsigned tries = 0;; tries++) {
		if (atomic_load_explicit(&g->gc_scancycle, memory_order_acquire) == cyc)
			return;
		if (atomic_load(&gc_phase) != GC_MARK)
			return;		/* (the stop-the-world mode scans with gc_stack_job_stopped) */
		irq_push();
		unsigned me = cpu_id();
		if (__atomic_load_n(&allp[me].curg, __ATOMIC_RELAXED) == g) {	/* case 1 */
			gc_scan_stack_here(g, &gc_cpus[me].w);
			uintptr_t here = (uintptr_t)__builtin_frame_address(0);
			gc_stkbar_install(g, here, here, 0);
			atomic_store_explicit(&g->gc_scancycle, cyc, memory_order_release);
			rescan_push(g, me);
			irq_pop();
			return;
		}
		uint32_t st;
		if (claim(g, &st)) {					/* case 2 */
			gc_scan_stack_saved(g, &gc_cpus[me].w);
			gc_stkbar_install(g, arch_context_sp(&g->ctx), arch_context_fp(&g->ctx),
					  arch_context_pc(&g->ctx));
			atomic_store_explicit(&g->gc_scancycle, cyc, memory_order_release);
			release(g, st);
			irq_pop();
			return;
		}
		irq_pop();
		uint32_t base = st & ~(uint32_t)G_SCAN;
		if (base == G_DEAD || base == G_IDLE) {
			/* nothing to scan; if it comes back to life this cycle, its spawn puts
			 * it on a rescan list */
			uint32_t old = atomic_load(&g->gc_scancycle);
			atomic_compare_exchange_strong(&g->gc_scancycle, &old, cyc);
			return;
		}
		if (base == G_RUNNING && !(st & G_SCAN) &&
		    __atomic_load_n(&g->gc_noroots, __ATOMIC_RELAXED)) {
			/* never scanned ("Stale words"): no IPI to the collector's own goroutine
			 * marking on another CPU (read once it was seen running: its own write
			 * came before; under ThreadSanitizer, whose signals wait for an
			 * intercepted call, such an IPI went unanswered for 10 s once). An
			 * atomic read: the G may die and be spawned again meanwhile, whose
			 * spawn clears the flag (TSan reported that race in gc_stress) */
			uint32_t old = atomic_load(&g->gc_scancycle);
			atomic_compare_exchange_strong(&g->gc_scancycle, &old, cyc);
			return;
		}
		if (base == G_RUNNING && !(st & G_SCAN)) {		/* case 3 */
			struct p *p = __atomic_load_n(&g->p, __ATOMIC_ACQUIRE);
			if (p && scan_remote(g, p->id))
				return;
		}
		/* in transition, or claimed by someone else for a moment: try again,
		 * running queued cross-calls meanwhile: the claimer may be waiting for
		 * this CPU's part of a TLB shootdown (the sweeper shrinks a claimed stack),
		 * and idle marking gets here from the scheduler loop, interrupts off (seen:
		 * both waiting for the other for good). Not a stop: no stop is joined from
		 * the middle of a stack job. */
		(void)tries;
		irq_push();
		ipi_run_calls();
		irq_pop();
		arch_cpu_relax();
	}
}

void gc_test_scan_stack(struct g *g)
{
	if (atomic_load(&gc_phase) != GC_MARK)
		panic("gc_test_scan_stack: the collector is not marking");
	gc_scan_stack(g);
}

/* ---- a stopped CPU's own stack ------------------------------------------------------------------ */

/*
 * With the world stopped, a CPU may be stopped inside an interrupt handler (a timer
 * firing: a go_timer off its heap and held only by the handler's frame) or in a wait
 * loop of its scheduler: the frames on its own stack, not a goroutine's, may hold
 * pointers too. The end of marking (and checkmark) scans them here, on that CPU:
 * [sp, the outermost interrupt frame] on the interrupt stack (without the frame when
 * it interrupted a goroutine, whose scan read it), or [sp, top) of the scheduler's
 * stack. The CPUs' stacks themselves are not data roots (arch/noscan.h):
 * they change under a concurrent scan.
 */
NO_SANITIZE __attribute__((noinline)) static void scan_own_frames(struct gcwork *w)
{
	struct cpu *c = cpu_this();
	uintptr_t lo = (uintptr_t)__builtin_frame_address(0);
	struct g *cur = allp[c->id].curg;
	if (cur && on_stack(cur, lo))
		return;		/* a goroutine's stack: its own scan covers it */
	uintptr_t hi = 0;
	if (c->in_irq && c->irq_frame) {
		const void *area[2];
		uint64_t len[2], slo;
		arch_frame_gc_areas(c->irq_frame, &slo, area, len);
		/* the interrupted goroutine's registers in the frame were read by its own
		 * scan in this pass (scan_here: the pass's callers scan curg first); only
		 * the frames the interrupt stacked below them are this CPU's, and none of
		 * them is a root when the stop's own interrupt stacked them all (no other
		 * handler or wait loop under it: kernel/stw.h stw_stopped_at_entry): a
		 * running goroutine stopped for the end of marking, the usual case, costs
		 * its CPU no scan of them in the pause */
		if (cur && on_stack(cur, slo) && stw_stopped_at_entry()) {
			gc_cpu_count(&gc_cpus[c->id].frames_skipped, 1);
			return;
		}
		hi = cur && on_stack(cur, slo) ? (uintptr_t)c->irq_frame : (uintptr_t)area[0] + len[0];
	} else if (lo >= c->stack_lo && lo < c->stack_hi) {
		hi = c->stack_hi;
	}
	if (hi > lo && hi - lo < (64u << 10) * 16)
		gc_scan_conservative(lo, hi, w);
	__asm__ volatile("" ::: "memory");
}

NO_SANITIZE __attribute__((noinline)) void gc_scan_own_stack(struct gcwork *w)
{
	KASSERT(!arch_irq_enabled());
	__builtin_unwind_init();
	scan_own_frames(w);
	__asm__ volatile("" ::: "memory");
}

/* ---- stack jobs ------------------------------------------------------------------------------------- */

void gc_stacks_prepare(void)
{
	/* with the world stopped: allgs only grows at its head; this is the snapshot */
	atomic_store(&stack_cursor, __atomic_load_n(&sched.allgs, __ATOMIC_ACQUIRE));
	atomic_store(&stack_inflight, 0);
	for (unsigned i = 0; i < cpu_ids_end; i++)
		atomic_store(&gc_cpus[i].rescan, NULL);
}

/*
 * Scanning a parked goroutine waits on memory: its G and the top of its stack are in
 * pages nobody touched lately (a TLB miss and a few cache misses each, most of the
 * cost of a small stack). A stack job therefore prefetches ahead along the snapshot:
 * the stack words of the next goroutine (its G, prefetched one job earlier, gives the
 * saved sp) and the G after that, so that the misses overlap with this scan. Plain
 * reads of another goroutine's saved sp: only a hint, never trusted (the scan proper
 * reads it again once the goroutine is claimed).
 */
#define STACK_PREFETCH_LINES 8

NO_SANITIZE static void prefetch_ahead(const struct g *g)
{
	const struct g *n1 = __atomic_load_n(&g->alllink, __ATOMIC_RELAXED);
	if (!n1)
		return;
#if !defined(__SANITIZE_THREAD__)	/* (arch_context_sp is not inlined there: a racy read it reports) */
	uintptr_t sp = arch_context_sp(&n1->ctx), top = g_frames_top(n1);
	if (top && sp < top && top - sp < (64u << 10))
		for (unsigned k = 0; k < STACK_PREFETCH_LINES && sp + 64 * k < top; k++)
			__builtin_prefetch((const void *)(sp + 64 * k));
#endif
	/* the whole G after it, for writing: the scan reads its context (first line),
	 * stack bounds (second), claims its status and follows alllink (third) and
	 * writes gc_scancycle (fourth) */
	const struct g *n2 = __atomic_load_n(&n1->alllink, __ATOMIC_RELAXED);
	if (n2)
		for (size_t off = 0; off < sizeof(struct g); off += 64)
			__builtin_prefetch((const char *)n2 + off, 1);
}

/* A job takes this many goroutines off the snapshot at once: the prefetching ahead
 * pays only if the CPU that prefetched a goroutine also scans it, and CPUs scanning
 * neighbouring goroutines mark neighbouring objects (a program makes a goroutine's
 * objects in the order it spawns them): the same mark-bitmap words, a cache line
 * moving between the CPUs at every mark. With 8 per job two CPUs took longer than one
 * over 10,000 parked goroutines; with 256, 1.6 ms against 2.0 (64: 1.7 to 2.0). */
#define STACK_JOB_GS 256

/*
 * Take up to STACK_JOB_GS goroutines off the snapshot: [first, *end); NULL when none
 * is left. The cursor's lock is held while the taker follows the alllink words: the
 * walk is a cache miss per goroutine (the Gs are cold), and a compare-and-swap after
 * it would lose to any other taker that finished meanwhile and walk again. Nothing
 * inside waits for another CPU, so a waiter, interrupts off, waits at most one walk.
 */
static struct g *take_stacks(struct g **end)
{
	spin_lock_irqsave(&stack_cursor_lock);
	struct g *g = atomic_load_explicit(&stack_cursor, memory_order_relaxed), *e = g;
	for (unsigned k = 0; e && k < STACK_JOB_GS; k++)
		e = e->alllink;
	atomic_store(&stack_cursor, e);
	spin_unlock_irqrestore(&stack_cursor_lock);
	*end = e;
	return g;
}

bool gc_stack_job(void)
{
	atomic_fetch_add(&stack_inflight, 1);
	struct g *end, *g = take_stacks(&end);
	for (struct g *x = g, *next; x != end; x = next) {
		next = x->alllink;	/* (allgs links never change) */
		prefetch_ahead(x);
		gc_scan_stack(x);
	}
	atomic_fetch_sub(&stack_inflight, 1);
	return g != NULL;
}

/*
 * stopped_claim_ok: with the world stopped, a goroutine may still carry a G_SCAN claim:
 * the sweeper shrinking its stack (gstack.c) holds the claim across the TLB shootdown,
 * whose wait answers IPIs, the stop's included. Its frames from sp up are not what the
 * shrink touches (it unmaps below sp), and the claimer stays stopped until the world
 * restarts: the stack is scanned as if unclaimed. (A scanner's claim is never held
 * across a wait that answers a stop.)
 */

/* A stack with the world stopped (the stop-the-world mode): every running goroutine
 * was scanned by its own CPU, so one not scanned yet this cycle is parked or runnable,
 * and nobody can run it or claim it meanwhile. */
static void scan_stopped(struct g *g, struct gcwork *w)
{
	uint32_t cyc = atomic_load(&gc_cycle);
	if (atomic_load(&g->gc_scancycle) == cyc)
		return;
	uint32_t st = atomic_load(&g->status) & ~(uint32_t)G_SCAN;	/* (see stopped_claim_ok) */
	if (st == G_DEAD || st == G_IDLE)
		return;
	if (st == G_RUNNING)
		panic("gc: goroutine %llu is running but no stopped CPU was running it", (unsigned long long)g->id);
	gc_scan_stack_saved(g, w);
	atomic_store(&g->gc_scancycle, cyc);
}

bool gc_stack_job_stopped(struct gcwork *w)
{
	KASSERT(!arch_irq_enabled());
	struct g *end, *g = take_stacks(&end);
	for (struct g *x = g, *next; x != end; x = next) {
		next = x->alllink;
		prefetch_ahead(x);
		scan_stopped(x, w);
	}
	return g != NULL;
}

bool gc_stack_jobs_left(void)
{
	return atomic_load_explicit(&stack_cursor, memory_order_relaxed) != NULL;
}

bool gc_stacks_done(void)
{
	return !atomic_load(&stack_cursor) && !atomic_load(&stack_inflight);
}

/*
 * The dirty mode's end of marking (dirty.c): a goroutine that did not run since its
 * scan may still have had its stack written by another one (a C program hands out
 * pointers to its locals: `struct result r; go(worker, &r); ...`), with no barrier.
 * The stack pages' dirty state says which: every goroutine not running is looked at,
 * and rescanned if a page of [sp, top) was written since the mark began. (A goroutine
 * that ran since its scan dirtied its own stack: the same rescan the lists would
 * give it.)
 */
void gc_dirty_stacks_prepare(void)
{
	atomic_store(&stack_cursor, __atomic_load_n(&sched.allgs, __ATOMIC_ACQUIRE));
}

static bool stack_dirty(const struct g *g)
{
	uintptr_t lo = arch_context_sp(&g->ctx) & ~(uintptr_t)(PAGE_SIZE - 1), top = g->stack.top;
	if (lo < g->stack.base || lo >= top)
		return true;	/* no sane saved sp: scan it (scan_stopped's checks report it) */
	while (lo < top) {
		uint64_t bits[8] = { 0 }, n = (top - lo) / PAGE_SIZE;
		if (n > 512)
			n = 512;
		arch_mmu_dirty_peek(lo, n, bits);
		for (unsigned k = 0; k < 8; k++)
			if (bits[k])
				return true;
		lo += n * PAGE_SIZE;
	}
	return false;
}

unsigned gc_dirty_stack_job(struct gcwork *w, bool *any)
{
	KASSERT(!arch_irq_enabled());
	uint32_t cyc = atomic_load(&gc_cycle);
	unsigned n = 0;
	struct g *end, *g = take_stacks(&end);
	*any = g != NULL;
	for (struct g *x = g, *next; x != end; x = next) {
		next = x->alllink;
		uint32_t st = atomic_load(&x->status) & ~(uint32_t)G_SCAN;	/* (see stopped_claim_ok) */
		if (st == G_DEAD || st == G_IDLE || st == G_RUNNING || !stack_dirty(x))
			continue;
		gc_scan_stack_saved(x, w);
		atomic_store(&x->gc_scancycle, cyc);
		n++;
	}
	return n;
}

/* ---- rescans ------------------------------------------------------------------------------------------ */

static struct g *take_list(unsigned cpu)
{
	return atomic_exchange_explicit(&gc_cpus[cpu].rescan, NULL, memory_order_acquire);
}

void gc_rescan_concurrent(void)
{
	uint32_t cyc = atomic_load(&gc_cycle);
	for (unsigned cpu = 0; cpu < cpu_ids_end; cpu++) {
		if (!atomic_load(&cpus[cpu].online))
			continue;
		struct g *list = take_list(cpu);
		while (list) {
			struct g *g = list;
			list = g->gc_rescanlink;
			/* off the list: if it runs again from here on, it is queued again */
			atomic_store(&g->gc_rescanq, 0);
			irq_push();
			uint32_t st;
			unsigned me = cpu_id();
			if (claim(g, &st)) {
				uint64_t bytes = 0, total = 0;
				scan_saved(g, &gc_cpus[me].w, true, &bytes, &total);
				atomic_store_explicit(&g->gc_scancycle, cyc, memory_order_release);
				release(g, st);
				gc_cpu_count(&gc_cpus[me].stack_rescans, 1);
			} else if ((st & ~(uint32_t)G_SCAN) != G_DEAD) {
				rescan_push(g, me);	/* running (or busy): the end of marking has it */
			}
			irq_pop();
		}
	}
}

/*
 * With the world stopped: this CPU's running goroutine, then every goroutine on the
 * lists (not running: a running one is its own CPU's to scan). Each CPU looks at the
 * lists from its own on and takes whichever still has a head (one exchange; a list
 * another CPU took is empty by then), so the usual pause, where the lists are empty or
 * each CPU's holds its own few, moves no line between CPUs but the heads'. The
 * counts go to this CPU's own counters (gc_stats and the trace sum them).
 */
unsigned gc_rescan_stw(struct gcwork *w)
{
	unsigned me = cpu_id(), n = 0;
	uint32_t cyc = atomic_load_explicit(&gc_cycle, memory_order_relaxed);
	uint64_t bytes = 0, total = 0;
	struct g *cur = allp[me].curg;
	if (cur) {
		n++;
		scan_here(cur, w, true, &bytes, &total);
		atomic_store_explicit(&cur->gc_scancycle, cyc, memory_order_release);
	}
	for (unsigned k = 0; k < cpu_ids_end; k++) {
		unsigned i = (me + k) % cpu_ids_end;
		if (!atomic_load_explicit(&gc_cpus[i].rescan, memory_order_relaxed))
			continue;
		struct g *list = take_list(i);
		while (list) {
			struct g *g = list;
			list = g->gc_rescanlink;
			/* (release: pairs with rescan_push's acquire, after the link's read) */
			atomic_store_explicit(&g->gc_rescanq, 0, memory_order_release);
			uint32_t st = atomic_load(&g->status) & ~(uint32_t)G_SCAN;	/* (stopped_claim_ok) */
			if (st == G_RUNNING || st == G_DEAD)
				continue;	/* a running one: its own CPU scans it */
			scan_saved(g, w, true, &bytes, &total);
			atomic_store_explicit(&g->gc_scancycle, cyc, memory_order_release);
			n++;
		}
	}
	struct gc_cpu *c = &gc_cpus[me];
	gc_cpu_count(&c->stack_rescans, n);
	gc_cpu_count(&c->term_rescan_bytes, bytes);
	gc_cpu_count(&c->term_rescan_total, total);
	return n;
}
