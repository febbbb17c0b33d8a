/*
 * rt/gc/work.h: the marker's queue of grey objects (Go's gcWork and workbuf,
 * work.c).
 *
 * A grey object is an address in a work buffer. Each CPU owns two buffers (Go's
 * double buffering: a CPU that alternates pushes and pops at a buffer's boundary does
 * not bounce one buffer back and forth to the global lists); full buffers go to the
 * global `full` stack, where any marker takes them: that is the stealing, and the
 * only place it happens. Empty buffers wait on the global `empty` stack. Both are
 * lock-free LIFO stacks whose head word packs a buffer's index with a counter that
 * changes on every push, so a pop cannot be fooled by a buffer that left and came
 * back between its read and its CAS (ABA).
 *
 * A CPU's buffers are per-CPU data: touched only with interrupts off, by that CPU (a
 * marker draining, an assist, the write barrier, a stack scan in an interrupt, the
 * end of marking flushing them with the world stopped).
 *
 * Termination (Go's nwait/nproc): a marker that finds no work anywhere counts itself
 * idle; marking is done when no root jobs are left, every marker is idle, the full
 * stack is empty and every CPU's buffers are empty. The last condition is checked
 * by asking each CPU to flush its buffers (gc.c, a cross-call), since the barrier may
 * have put work in the buffers of a CPU that runs no marker.
 */
#ifndef RT_GC_WORK_H
#define RT_GC_WORK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <arch/ops.h>
#include <kernel/panic.h>

#define WORKBUF_SIZE	2048
#define WORKBUF_N	((WORKBUF_SIZE - 16) / 8)

struct workbuf {
	uint64_t link;			/* packed next (on a global stack) */
	uint32_t nobj;
	uint32_t pad;
	uintptr_t obj[WORKBUF_N];
};

/* A lock-free stack of workbufs (LIFO), ABA-safe: the head packs a buffer index (low
 * LF_INDEX_BITS, 0 = empty) with a push counter (work.c). */
struct lfstack {
	_Atomic uint64_t head;
};

#define LF_INDEX_BITS 40
#define LF_INDEX_MASK ((1ull << LF_INDEX_BITS) - 1)

void lfstack_push(struct lfstack *s, struct workbuf *b);
struct workbuf *lfstack_pop(struct lfstack *s);
static inline bool lfstack_empty(struct lfstack *s)
{
	return (atomic_load_explicit(&s->head, memory_order_acquire) & LF_INDEX_MASK) == 0;
}

struct gcwork {
	struct workbuf *wbuf1, *wbuf2;	/* wbuf1: pushed and popped; wbuf2: the spare */
	uint64_t bytes_marked;		/* since the last flush into the cycle's counters */
	uint64_t scan_work;		/* bytes scanned, likewise */
};

/* Global work (work.c). */
extern struct lfstack gc_work_full, gc_work_empty;
extern _Atomic uint64_t gc_work_nfull;	/* buffers on the full stack (a hint) */

/* The three below are inline for their common case (this CPU's first buffer has room,
 * or an object), a marker's every object; the rest is out of line (work.c). */
void gcwork_put_slow(struct gcwork *w, uintptr_t obj);
uintptr_t gcwork_tryget_slow(struct gcwork *w);
uintptr_t gcwork_tryget_local_slow(struct gcwork *w);

/* Queue obj (interrupts off, this CPU's w). Never fails: a new buffer is allocated
 * if none is free (from the page allocator; also from an interrupt handler). */
static inline void gcwork_put(struct gcwork *w, uintptr_t obj)
{
	KASSERT(!arch_irq_enabled());
	struct workbuf *b = w->wbuf1;
	if (__builtin_expect(b != NULL && b->nobj < WORKBUF_N, 1))
		b->obj[b->nobj++] = obj;
	else
		gcwork_put_slow(w, obj);
}

/* The first buffer's last object, or 0 if it has none (objects are never 0). */
static inline uintptr_t gcwork_pop_first(struct gcwork *w)
{
	KASSERT(!arch_irq_enabled());
	struct workbuf *b = w->wbuf1;
	if (__builtin_expect(b != NULL && b->nobj != 0, 1))
		return b->obj[--b->nobj];
	return 0;
}

/* Take an object: own buffers, then a full buffer from the global stack. 0: none. */
static inline uintptr_t gcwork_tryget(struct gcwork *w)
{
	uintptr_t obj = gcwork_pop_first(w);
	return __builtin_expect(obj != 0, 1) ? obj : gcwork_tryget_slow(w);
}

/* Only own buffers. */
static inline uintptr_t gcwork_tryget_local(struct gcwork *w)
{
	uintptr_t obj = gcwork_pop_first(w);
	return __builtin_expect(obj != 0, 1) ? obj : gcwork_tryget_local_slow(w);
}
/* Give every non-empty buffer to the global full stack; true if there were any. */
bool gcwork_flush(struct gcwork *w);
/* The same for the buffers holding work; empty ones stay with w (the end of marking:
 * the next cycle's first greying needs no pop from the empty stack). */
bool gcwork_flush_full(struct gcwork *w);
/* Share: if the global stack is empty and w holds more than one buffer's worth... */
void gcwork_balance(struct gcwork *w);
bool gcwork_empty(const struct gcwork *w);

/* Buffers allocated so far (for statistics). */
extern _Atomic uint64_t gc_workbufs;

#endif
