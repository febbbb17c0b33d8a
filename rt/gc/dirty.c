/*
 * rt/gc/dirty.c: the dirty-page mode (gc_mode=dirty, gc_set_mode(GC_MODE_DIRTY)):
 * concurrent marking for programs that store pointers without gc_store.
 *
 * The mostly-parallel collector of Boehm, Demers and Shenker (PLDI 1991), with the
 * kernel's page tables in place of mprotect and signals: marking runs concurrently
 * with mutators that store anything anywhere with plain instructions, and the pages
 * they wrote meanwhile are rescanned, with the world stopped, at its end.
 *
 *  1. Before mark setup (concurrently, the collector's goroutine): the dirty state of
 *     every heap page and every goroutine stack page is taken (made clean), then
 *     every CPU drops its TLB (a shootdown): from here any write to one of those
 *     pages makes it dirty (arch/mmu.h: x86-64 D bits; aarch64 and the host:
 *     write-protection and one fault per page or granule). Writes before the
 *     shootdown need no record: marking has not read anything yet.
 *  2. Mark setup and concurrent marking as in the concurrent mode (gc.c), the barrier
 *     on for whoever calls gc_store (the runtime does), new objects black.
 *  3. Mark termination, world stopped: besides the concurrent mode's rescans (each
 *     CPU's running goroutine, the goroutines that ran since their scan), every CPU
 *     takes jobs from one counter: a heap chunk (each dirty page's marked objects
 *     are scanned again, the part on that page: gc_scan_marked_range), a 64 KiB
 *     piece of the image's data, the registered roots (globals and registered roots
 *     are written without barriers too: rescanned whole, they are small), and the
 *     stacks of goroutines not running whose pages were written (another goroutine
 *     may have stored into them through a pointer: stackscan.c). Then the parallel
 *     drain, as in every mode, to the end.
 *
 * Why it is correct: a white object reachable at the end is reachable through a chain
 * that some marked object, root or stack had when it was scanned, unless a mutator
 * stored the pointer after that scan: into a heap page (dirty: its marked objects
 * are scanned again), a global or registered root (scanned again), or a stack (a
 * running or re-run goroutine's is scanned again; another's is dirty). Objects not
 * marked when the world stops are scanned, if they get marked, with the world
 * stopped. The checkmark pass (gccheckmark=1) checks exactly this claim.
 *
 * What it costs: pause 2 grows with the pages written during marking (their marked
 * objects' bytes); the first write to each clean page costs a fault on aarch64 and
 * the host (nothing on x86-64); every page is mapped 4 KiB (MMU_SMALL, heap.c) so
 * that the state is per page, once the mode has been chosen; a take walks the page
 * tables of the heap and of the stack arena's used part. gctrace reports the dirty
 * pages.
 *
 * Precleaning (dirty_preclean, as in Boehm's collector): when concurrent marking runs
 * out of work, the heap's dirty pages are taken once more, in batches (take, one
 * shootdown, then their marked objects rescanned concurrently), so that pause 2 has
 * only the pages written after that; again while a round finds many (up to
 * PRECLEAN_ROUNDS, gc.c: mutators that write faster than the rescan reads never let
 * it converge). Correct for the same reason as step 1: a write
 * after the batch's shootdown dirties the page again; one before it happened before
 * the rescan reads the page. The stacks' state is not taken again: pause 2 compares
 * it with the mark's start.
 */
#include <arch/ops.h>
#include <string.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/panic.h>
#include <kernel/stack.h>
#include <kernel/vm.h>
#include <arch/memlayout.h>
#include <arch/mmu.h>
#include "mark.h"

_Atomic uint64_t gc_stat_dirty_pages;	/* heap pages rescanned for writes, since boot (gc.c adds) */
static uint64_t precleaned;		/* the coordinator's: pages precleaned this cycle */

static struct {
	uintptr_t heap_end;		/* GC_HEAP_BASE + the arena's size at the stop */
	uint32_t nchunks, ndata;	/* heap chunks, data pieces */
	_Atomic uint32_t next;		/* the next job */
	_Atomic uint64_t pages;		/* dirty heap pages rescanned this cycle */
	_Atomic uint64_t stacks;	/* stacks rescanned for their dirty pages */
} term;

uint64_t dirty_cycle_precleaned(void) { return precleaned; }
uint64_t dirty_cycle_pages(void) { return atomic_load(&term.pages); }
uint64_t dirty_cycle_stacks(void) { return atomic_load(&term.stacks); }

/* Make [lo, hi) clean, a piece per hold of the vm lock (interrupts are off while it
 * is held; it keeps the map and unmap paths off the entries); with bits (zeroed, a bit
 * per page from lo, pieces a multiple of 64 pages), say which pages were dirty. */
static void take_range(uintptr_t lo, uintptr_t hi, uintptr_t piece, uint64_t *bits)
{
	for (uintptr_t a = lo; a < hi; a += piece) {
		uintptr_t e = hi - a < piece ? hi : a + piece;
		vm_lock();
		arch_mmu_dirty_take(a, (e - a) / PAGE_SIZE, bits ? &bits[(a - lo) / PAGE_SIZE / 64] : NULL);
		vm_unlock();
	}
}

/* A stack class's used part of the arena (kernel/stack.h stack_extents): 64 MiB per
 * hold of the vm lock (32 page tables' walk with interrupts off). A stack mapped
 * after its part was taken is dirty: a page mapped since the take is. */
static void take_stacks(uintptr_t lo, uintptr_t hi, void *arg)
{
	(void)arg;
	take_range(lo, hi, 64ul << 20, NULL);
}

void dirty_mark_start(void)
{
	spin_lock_irqsave(&gcheap.lock);
	uintptr_t used = gcheap.arena_used;
	spin_unlock_irqrestore(&gcheap.lock);
	take_range(GC_HEAP_BASE, used, HEAP_CHUNK, NULL);
	stack_extents(take_stacks, NULL);
	precleaned = 0;
	tlb_shootdown(STACK_ARENA, used - STACK_ARENA);	/* both: the whole TLB */
}

void dirty_take_stacks(void)
{
	stack_extents(take_stacks, NULL);
	tlb_shootdown(STACK_ARENA, GC_ARENA - STACK_ARENA);	/* the whole TLB */
}

/* The pages from va on set in bits[0 .. nwords): their marked objects' parts on
 * them, scanned again. How many. Interrupts off (w is this CPU's). */
static uint64_t scan_pages(uintptr_t va, const uint64_t *bits, unsigned nwords, struct gcwork *w)
{
	uint64_t n = 0;
	for (unsigned wi = 0; wi < nwords; wi++)
		for (uint64_t b = bits[wi]; b; b &= b - 1, n++) {
			uintptr_t page = va + ((uintptr_t)wi * 64 + (unsigned)__builtin_ctzll(b)) * PAGE_SIZE;
			struct span *s = span_of(page);
			if (s)
				gc_scan_marked_range(s, page, page + PAGE_SIZE, w);
		}
	return n;
}

/* Rescan the pages set in bits (chunks k0 .. k0 + nk), 64 pages at a time with
 * interrupts off (at most 256 KiB of objects: a bounded window). */
static void preclean_scan(uint32_t k0, uint32_t nk, const uint64_t *bits)
{
	for (uint32_t wi = 0; wi < nk * (HEAP_CHUNK_PAGES / 64); wi++) {
		if (!bits[wi])
			continue;
		irq_push();
		precleaned += scan_pages(GC_HEAP_BASE + (uintptr_t)k0 * HEAP_CHUNK + (uintptr_t)wi * 64 * PAGE_SIZE,
					 &bits[wi], 1, &gc_cpus[cpu_id()].w);
		irq_pop();
	}
}

#define PRECLEAN_BATCH 32	/* chunks per take and shootdown (64 MiB; bits: 2 KiB) */

uint64_t dirty_preclean(void)
{
	uint64_t before = precleaned;
	static uint64_t bits[PRECLEAN_BATCH * HEAP_CHUNK_PAGES / 64];	/* the coordinator's */
	spin_lock_irqsave(&gcheap.lock);
	uintptr_t used = gcheap.arena_used;
	spin_unlock_irqrestore(&gcheap.lock);
	uint32_t nchunks = (uint32_t)((used - GC_HEAP_BASE) / HEAP_CHUNK);
	for (uint32_t k = 0; k < nchunks; k += PRECLEAN_BATCH) {
		uint32_t nk = nchunks - k < PRECLEAN_BATCH ? nchunks - k : PRECLEAN_BATCH;
		uintptr_t va = GC_HEAP_BASE + (uintptr_t)k * HEAP_CHUNK;
		memset(bits, 0, sizeof(bits));
		take_range(va, va + (uintptr_t)nk * HEAP_CHUNK, HEAP_CHUNK, bits);
		tlb_shootdown(va, (uintptr_t)nk * HEAP_CHUNK);
		preclean_scan(k, nk, bits);
	}
	return precleaned - before;
}

void dirty_term_prepare(void)
{
	term.heap_end = gcheap.arena_used;	/* world stopped: nobody holds it changing */
	term.nchunks = (uint32_t)((term.heap_end - GC_HEAP_BASE + HEAP_CHUNK - 1) / HEAP_CHUNK);
	term.ndata = gc_roots_data_chunks();
	atomic_store(&term.next, 0);
	atomic_store(&term.pages, 0);
	atomic_store(&term.stacks, 0);
	gc_dirty_stacks_prepare();
}

/* The dirty pages of heap chunk k: their marked objects' parts on them. */
static void rescan_chunk(uint32_t k, struct gcwork *w)
{
	uintptr_t va = GC_HEAP_BASE + (uintptr_t)k * HEAP_CHUNK;
	if (gcheap.chunk_state[k] != CHUNK_MAPPED)
		return;
	uint64_t bits[HEAP_CHUNK_PAGES / 64] = { 0 };
	arch_mmu_dirty_peek(va, HEAP_CHUNK_PAGES, bits);
	atomic_fetch_add_explicit(&term.pages, scan_pages(va, bits, HEAP_CHUNK_PAGES / 64, w), memory_order_relaxed);
}

bool dirty_term_job(struct gcwork *w)
{
	KASSERT(!arch_irq_enabled());
	uint32_t j = atomic_fetch_add(&term.next, 1);
	if (j < term.nchunks) {
		rescan_chunk(j, w);
		return true;
	}
	j -= term.nchunks;
	if (j < term.ndata) {
		gc_roots_scan_data(j, w);
		return true;
	}
	if (j == term.ndata) {
		gc_roots_scan_registered(w);
		return true;
	}
	bool any;
	atomic_fetch_add_explicit(&term.stacks, gc_dirty_stack_job(w, &any), memory_order_relaxed);
	return any;
}
