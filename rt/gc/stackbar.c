/*
 * rt/gc/stackbar.c: stack barriers, which bound the rescan of a goroutine's stack at
 * the end of marking (Go 1.5-1.7's, DESIGN.md "Stack barriers"; option gc_stackbar=1,
 * the concurrent mode).
 *
 * With the insertion barrier, a goroutine that ran after its stack was scanned is
 * scanned again in the second pause: all of its stack, though it may have run only in
 * its innermost frames. At the first scan of a cycle, the return addresses of frames
 * at exponentially spaced distances above the stack pointer (1 KiB, 2 KiB, 4 KiB, ...
 * up to STKBAR_MAX of them) are replaced by the trampoline arch_stkbar_tramp
 * (arch/stkbar.h). A frame that returns through one goes on through the handler here
 * (stkbar_hit), which gives the trampoline the real return address. A barrier whose
 * frame is still live and whose slot still holds the trampoline was not hit: the
 * frames above it, its caller's and outward, have not run since the scan. So the
 * rescan reads the stack only from sp to the lowest unhit barrier's caller's frame
 * (gc_stkbar_bound).
 *
 * In C that is not enough. A frame that has not run can still be written: through a
 * pointer to one of its locals, handed down (an out-parameter) or to another goroutine,
 * with no barrier (stores into stacks take none, rt/gc.h). Go's compiler put a write
 * barrier on such stores; C has none. So the frames above the bound are guarded by the
 * kernel's dirty-page tracking: at mark start the stacks' pages are made clean (the
 * dirty mode's take, dirty.c), and the rescan also reads the pages above the bound
 * that were written since (stackscan.c). The hosted platform never tracks stack pages
 * (arch/host/mmu.c: system calls write into frames): there every page is dirty and the
 * bound saves nothing, but everything else here runs the same.
 *
 * Hits need no counter: "hit" is "slot below sp, or no longer holding the
 * trampoline", which also covers longjmp (the frames it skips are gone, their barriers
 * below sp) and a goroutine that exits with barriers planted (its stack is done with).
 *
 * The bookkeeping lives in the G_STKBAR_BYTES below the G at the top of the stack's
 * reservation (rt/sched.h), which the first frame never uses: found from any address of the stack
 * (kernel/stack.h stack_reservation_of), never allocated, logarithmic in the depth.
 * The array is written only while the goroutine is stopped (claimed, or in an IPI on
 * its CPU, or about to be switched in, or scanning itself); the handler only reads it.
 *
 * A return under way through the trampoline (its pc in it, or the handler's frame on
 * the stack, or the preemption record of a goroutine preempted in it) is "in flight":
 * the handler still needs its entry, and the slot may be the trampoline's own save
 * area. Then nothing is planted, removed or bounded (the rescan reads everything).
 *
 * A chain of frame records is trusted only if it is whole: from the starting fp to
 * the terminating record {0, 0} of arch_context_init, each record inside the stack
 * and above the last, each return address in the image's code and right after a call
 * instruction (or the preemption trampoline's record). Any other chain (code without
 * frame records on the stack: the hosted C library's) gets no barriers.
 *
 * Barriers are removed at the first switch-in of their goroutine after the cycle (the
 * scheduler's hook: it is stopped then), or by the next cycle's install; one that
 * stays planted meanwhile is harmless (a return through it still finds its entry).
 * Tracebacks see through them (kernel/panic.h backtrace_set_ret_fixup).
 */
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/stack.h>
#include <arch/stkbar.h>
#include <rt/sched.h>
#include <rt/gc_test.h>
#include "mark.h"

/* Not in the ThreadSanitizer build: TSan runs a held-back asynchronous signal's
 * handler (the timer's, an IPI's) at the end of the goroutine's next intercepted call,
 * on the goroutine's own demand-paged stack with every signal blocked, and a
 * stack-growth fault in that delivery path, before the kernel's handler unblocks the
 * fault signals (arch/host/irq.c), kills the process. The barrier tests' deep dives
 * grow their stacks all the time and met it in about one run in three (README, "What
 * does not work yet"). gc_stackbar=1 is refused at boot with that message. */
#if defined(__SANITIZE_THREAD__)
#define STKBAR_SUPPORTED false
#else
#define STKBAR_SUPPORTED true
#endif

/* These read and write other frames' words (redzones included, under ASan) */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_SANITIZE __attribute__((no_sanitize("address", "thread", "undefined")))
#else
#define NO_SANITIZE
#endif

#define STKBAR_MAX   15		/* barriers per stack: 1 KiB << 14 = 16 MiB deep */
#define STKBAR_FIRST 1024	/* the first barrier's distance above sp */
#define CHAIN_MAX    100000	/* records walked at most */

struct stkbar_buf {
	uint32_t n;			/* entries of the last install (ascending slots) */
	uint32_t cycle;			/* the cycle it was made in */
	uintptr_t slot[STKBAR_MAX];	/* where the trampoline was planted */
	uintptr_t ret[STKBAR_MAX];	/* what it replaced */
};
_Static_assert(sizeof(struct stkbar_buf) <= G_STKBAR_BYTES, "stack barrier bookkeeping too large");

extern char __text_start[], __text_end[];

bool gc_opt_stackbar;
bool gc_stkbar_active;		/* this cycle plants barriers (the coordinator, before pause 1) */
_Atomic uint64_t gc_stat_stkbar_planted, gc_stat_stkbar_hits, gc_stat_stkbar_inflight, gc_stat_stkbar_broken;

static inline struct stkbar_buf *buf_at(uintptr_t top)
{
	return (struct stkbar_buf *)(top - G_STACK_RESERVED);
}

static inline struct stkbar_buf *buf_of(const struct g *g)
{
	return buf_at(g->stack.top);
}

static inline bool in_text(uintptr_t a)
{
	return a >= (uintptr_t)__text_start + 8 && a < (uintptr_t)__text_end;
}

/* The trampoline's handler: the real return address of the barrier just returned
 * through, the one planted highest below the sp the trampoline was entered with. */
NO_SANITIZE static uintptr_t stkbar_hit(uintptr_t sp)
{
	struct kstack s;
	if (!stack_reservation_of(sp, &s))
		panic("gc: a stack barrier returned into on sp 0x%lx, outside every goroutine stack",
		      (unsigned long)sp);
	const struct stkbar_buf *b = buf_at(s.top);
	int best = -1;
	for (unsigned i = 0; i < b->n && i < STKBAR_MAX; i++)
		if (b->slot[i] < sp)
			best = (int)i;
	if (best < 0)
		panic("gc: a stack barrier returned into on sp 0x%lx, with none planted below it",
		      (unsigned long)sp);
	atomic_fetch_add_explicit(&gc_stat_stkbar_hits, 1, memory_order_relaxed);
	return b->ret[best];
}

/* For tracebacks: the return address a barrier replaced in slot. */
NO_SANITIZE static uint64_t ret_fixup(uint64_t slot, uint64_t ret)
{
	struct kstack s;
	if (ret != (uint64_t)(uintptr_t)arch_stkbar_tramp || !stack_reservation_of((uintptr_t)slot, &s))
		return ret;
	const struct stkbar_buf *b = buf_at(s.top);
	for (unsigned i = 0; i < b->n && i < STKBAR_MAX; i++)
		if (b->slot[i] == slot)
			return b->ret[i];
	return ret;
}

bool gc_stkbar_supported(void)
{
	return STKBAR_SUPPORTED;
}

void gc_stkbar_init(void)
{
	if (gc_opt_stackbar && !STKBAR_SUPPORTED)
		panic("gc_stackbar=1: stack barriers are not supported in the ThreadSanitizer build");
	arch_stkbar_set_handler(stkbar_hit);
	backtrace_set_ret_fixup(ret_fixup);
}

NO_SANITIZE void gc_stkbar_spawn(struct g *g)
{
	g->gc_stkbar = false;
	buf_of(g)->n = 0;
}

enum chain { CHAIN_OK, CHAIN_BAD, CHAIN_INFLIGHT };

/* Walk the records from fp (the stack from sp up to limit): CHAIN_OK if the chain is
 * whole (see the top); with plant, also choose the barriers into b. */
NO_SANITIZE static enum chain walk(uintptr_t sp, uintptr_t fp, uintptr_t limit, struct stkbar_buf *b)
{
	uintptr_t want = sp + STKBAR_FIRST, low = sp;
	unsigned n = 0;
	for (unsigned k = 0; k < CHAIN_MAX; k++) {
		if (fp < low || fp > limit - 16 || (fp & 7))
			return CHAIN_BAD;
		const uintptr_t *r = (const uintptr_t *)fp;
		uintptr_t next = r[0], ret = r[1];
		if (!next && !ret) {
			if (b)
				b->n = n;
			return CHAIN_OK;
		}
		if (arch_stkbar_in_tramp(ret - 1))
			return CHAIN_INFLIGHT;	/* the handler's frame, or a preemption in the trampoline */
		if (ret == (uintptr_t)arch_stkbar_tramp)
			ret = (uintptr_t)ret_fixup(fp + 8, ret);	/* planted (a walk before unplant) */
		if (!in_text(ret))
			return CHAIN_BAD;
		int kind = arch_record_kind(fp, ret, limit);
		if (kind == STKBAR_RECORD_BAD)
			return CHAIN_BAD;
		if (b && kind == STKBAR_RECORD_CALL && fp + 8 >= want && n < STKBAR_MAX) {
			b->slot[n] = fp + 8;
			b->ret[n] = ret;
			n++;
			want = sp + 2 * (fp + 8 - sp);
		}
		if (next <= fp)
			return CHAIN_BAD;
		low = fp + 16;
		fp = next;
	}
	return CHAIN_BAD;
}

/* The lowest slot at or above sp that still holds the trampoline (0: none). */
NO_SANITIZE static uintptr_t lowest_planted(const struct stkbar_buf *b, uintptr_t sp)
{
	for (unsigned i = 0; i < b->n && i < STKBAR_MAX; i++)
		if (b->slot[i] >= sp && b->slot[i] < (uintptr_t)b &&
		    *(const uintptr_t *)b->slot[i] == (uintptr_t)arch_stkbar_tramp)
			return b->slot[i];
	return 0;
}

/*
 * A return under way, for removal and the rescan's bound, which look only at the
 * barriers still planted: whatever marks one (the trampoline's pc, the handler's
 * record, the record of a preemption in the trampoline) lies below the frame being
 * returned into, so below the lowest barrier still planted (stop). The walk goes no
 * further (the pause's rescan reads that part anyway); a chain that breaks before
 * stop counts as in flight (it cannot be told).
 */
NO_SANITIZE static bool in_flight_below(uintptr_t sp, uintptr_t fp, uintptr_t pc, uintptr_t stop)
{
	if (arch_stkbar_in_tramp(pc))
		return true;
	uintptr_t low = sp;
	for (unsigned k = 0; k < CHAIN_MAX && fp + 8 < stop; k++) {
		if (fp < low || (fp & 7))
			return true;
		const uintptr_t *r = (const uintptr_t *)fp;
		if (arch_stkbar_in_tramp(r[1] - 1))
			return true;
		if (r[0] <= fp)
			return true;
		low = fp + 16;
		fp = r[0];
	}
	return false;
}

/* Put back every barrier still planted in a live frame. */
NO_SANITIZE static void unplant(struct g *g, uintptr_t sp)
{
	struct stkbar_buf *b = buf_of(g);
	for (unsigned i = 0; i < b->n && i < STKBAR_MAX; i++) {
		uintptr_t *slot = (uintptr_t *)b->slot[i];
		if (b->slot[i] >= sp && b->slot[i] < (uintptr_t)b && *slot == (uintptr_t)arch_stkbar_tramp)
			*slot = b->ret[i];
	}
	g->gc_stkbar = false;
}

NO_SANITIZE void gc_stkbar_install(struct g *g, uintptr_t sp, uintptr_t fp, uintptr_t pc)
{
	KASSERT(!arch_irq_enabled());
	if (!STKBAR_SUPPORTED || !gc_stkbar_active || g->gc_noroots || !g->stack.top || sp < g->stack.base || sp >= g->stack.top)
		return;
	/* one walk: it sees through barriers still planted (their real return addresses
	 * are what nb records), so the old ones come out only once the new are chosen */
	struct stkbar_buf *b = buf_of(g), nb;
	enum chain ch = arch_stkbar_in_tramp(pc) ? CHAIN_INFLIGHT : walk(sp, fp, (uintptr_t)b, &nb);
	if (ch == CHAIN_INFLIGHT) {
		atomic_fetch_add_explicit(&gc_stat_stkbar_inflight, 1, memory_order_relaxed);
		return;
	}
	if (g->gc_stkbar)
		unplant(g, sp);
	if (ch != CHAIN_OK || !nb.n) {
		if (ch != CHAIN_OK)
			atomic_fetch_add_explicit(&gc_stat_stkbar_broken, 1, memory_order_relaxed);
		return;
	}
	for (unsigned i = 0; i < nb.n; i++) {
		b->slot[i] = nb.slot[i];
		b->ret[i] = nb.ret[i];
	}
	b->n = nb.n;
	b->cycle = atomic_load_explicit(&gc_cycle, memory_order_relaxed);
	for (unsigned i = 0; i < nb.n; i++)
		*(uintptr_t *)nb.slot[i] = (uintptr_t)arch_stkbar_tramp;
	g->gc_stkbar = true;
	atomic_fetch_add_explicit(&gc_stat_stkbar_planted, nb.n, memory_order_relaxed);
}

NO_SANITIZE void gc_stkbar_remove(struct g *g)
{
	KASSERT(!arch_irq_enabled());
	uintptr_t sp = arch_context_sp(&g->ctx), stop = lowest_planted(buf_of(g), sp);
	if (!stop)
		g->gc_stkbar = false;	/* every one hit (or its frame gone) */
	else if (!in_flight_below(sp, arch_context_fp(&g->ctx), arch_context_pc(&g->ctx), stop))
		unplant(g, sp);
}

NO_SANITIZE uintptr_t gc_stkbar_bound(const struct g *g, uintptr_t sp, uintptr_t fp, uintptr_t pc)
{
	uintptr_t top = g_frames_top(g);
	const struct stkbar_buf *b = buf_of(g);
	if (!gc_stkbar_active || !g->gc_stkbar || b->cycle != atomic_load(&gc_cycle))
		return top;
	/* the lowest barrier not hit: a hit one's slot is below sp, or holds something else */
	uintptr_t s = lowest_planted(b, sp);
	if (!s || in_flight_below(sp, fp, pc, s))
		return top;
	uintptr_t caller_fp = *(const uintptr_t *)(s - 8);
	return caller_fp > s && caller_fp < top ? caller_fp : top;
}

/* ---- tests (rt/gc_test.h) ---------------------------------------------------------------------- */

bool gc_test_stackbar(bool on)
{
	bool old = gc_opt_stackbar;
	gc_opt_stackbar = on;
	return old;
}

/* g parked (or g the caller) */
NO_SANITIZE unsigned gc_test_stkbar_planted(const struct g *g)
{
	const struct stkbar_buf *b = buf_of(g);
	uintptr_t sp = g == sched_curg() ? (uintptr_t)__builtin_frame_address(0) : arch_context_sp(&g->ctx);
	unsigned n = 0;
	if (!g->gc_stkbar)
		return 0;
	for (unsigned i = 0; i < b->n && i < STKBAR_MAX; i++)
		if (b->slot[i] >= sp && *(const uintptr_t *)b->slot[i] == (uintptr_t)arch_stkbar_tramp)
			n++;
	return n;
}

bool gc_test_stackbar_supported(void)
{
	return STKBAR_SUPPORTED;
}

uint64_t gc_test_stkbar_hits(void)
{
	return atomic_load(&gc_stat_stkbar_hits);
}

uint64_t gc_test_stkbar_inflight(void)
{
	return atomic_load(&gc_stat_stkbar_inflight);
}

uint64_t gc_test_stkbar_broken(void)
{
	return atomic_load(&gc_stat_stkbar_broken);
}

uint64_t gc_test_stkbar_planted_total(void)
{
	return atomic_load(&gc_stat_stkbar_planted);
}
