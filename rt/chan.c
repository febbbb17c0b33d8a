/*
 * rt/chan.c: channels and select (Go's runtime/chan.go and select.go, in C).
 *
 * A channel is a lock, a ring of cap elements, and two FIFO wait queues of sudogs:
 * senders blocked for want of a receiver or buffer space, receivers blocked for want
 * of an element. At most one queue is non-empty at a time (outside select's brief
 * windows, as in Go). A sudog is a wait record on the blocked goroutine's own stack:
 * its G, where its element is (the value to send / the place to receive into), and,
 * for select, the select it belongs to.
 *
 *   send: closed → panic; a waiting receiver → copy straight into its element and
 *         ready it (unbuffered handoff is always this, stack to stack); buffer space
 *         → enqueue in the ring; else park on sendq.
 *   recv: a waiting sender → take its element (unbuffered) or the ring's head and put
 *         the sender's element at the tail (full buffer: FIFO is kept); an element in
 *         the ring → take it; closed → zero, ok = false; else park on recvq.
 *   close: mark closed, wake every receiver (ok = false) and every sender (it panics
 *         "send on closed channel" once it runs, as in Go).
 *
 * Parking follows sched.h's protocol: take the channel lock with spin_lock_irqsave,
 * enqueue the sudog, sched_park with a callback that releases the lock (plain
 * spin_unlock) only after the scheduler has marked the G waiting, irq_pop on return.
 * So whoever finds a sudog on a queue under the lock finds a G it may ready. Wakers
 * dequeue under the lock and ready after releasing it (the sudog stays valid: its G
 * cannot run until readied).
 *
 * The other side writes into (or reads from) the parked G's stack. Stacks are
 * demand-paged (kernel/stack.h); its fault handler maps a live stack's page for any
 * CPU, but every operation reads its element (and select its wait records) before
 * taking a lock anyway, so the copies under channel locks (interrupts off, a select
 * holding all of its channels' locks) do not take growth faults there.
 *
 * select (chan_select): a random permutation of the cases (xorshift on the P's
 * rand) is polled with every involved channel locked, in address order (the one
 * place where locks of one rank nest: LOCK_RANK_CHAN allows it, kernel/spinlock.c).
 * A ready case completes at once. Otherwise one sudog per case goes on its channel's
 * queue, all pointing at one select state whose `done` flag the first waker claims
 * with a CAS under its channel lock; a waker that loses the CAS skips the sudog (and
 * drops it from its queue). The woken select relocks everything and removes its
 * remaining sudogs. Unlike Go, the select's sudogs live on its stack (C cannot give
 * them to a collector): the select removes every one of them under the locks before
 * it returns, so no queue ever holds a pointer into a dead frame.
 *
 * Memory: a channel and its ring are objects of the collector's heap (rt/gc.h): the
 * channel (112 bytes) points to the ring, a separate object typed by the element
 * (chan_make_typed: scanned by the element's pointer map; chan_make: conservatively;
 * a pointer-free type: never scanned), so elements in the buffer keep what they point
 * to alive. A goroutine blocked on a channel keeps it alive from its stack (its
 * sudog). chan_free is an optional early release.
 *
 * Every element copy takes the write barrier (elem_write): the destination may be a
 * heap object (the ring, or a receive into a heap object's field) or another
 * goroutine's stack that the collector has already scanned (a parked receiver's),
 * and in both cases the pointers the element carries must be shaded while the
 * collector marks (Go's typedmemmove and its sendDirect barrier). Under the hybrid
 * barrier (gc_barrier=hybrid) what an element write overwrites is shaded too, clearing
 * included (a received slot, a receiver's element zeroed at close): elem_write.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <arch/memlayout.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/sched.h>

struct select_state;

struct sudog {
	struct g *g;
	struct sudog *next, *prev;	/* the channel's queue (channel lock) */
	struct chan *c;
	void *elem;			/* the sender's value / the receiver's buffer (or NULL) */
	struct select_state *sel;	/* NULL for a plain send or receive */
	int index;			/* select: the case */
	bool queued;			/* channel lock: on c's queue */
	bool success;			/* set by the waker: false = woken by close */
	struct sudog *wnext;		/* a waker's private list of Gs to ready */
};

struct select_state {
	_Atomic uint32_t done;		/* 0 until a waker claims the select */
	int winner;			/* written by that waker, read by the select once readied */
	bool winner_success;
};

struct waitq {
	struct sudog *first, *last;
};

/*
 * Two cache lines, by how they are written. The first: the lock and what every send
 * and receive writes under it. The second: what every operation reads and only a
 * goroutine that blocks, or make, writes. A sender and a receiver on two CPUs then
 * pass one line between them per operation (plus the ring's, one per 64 bytes of
 * elements), and each keeps its own copy of the second; in 112 bytes at any
 * alignment, the lock, the indices and the queues fell on two or three lines that
 * every operation wrote or had invalidated. 128 bytes: the heap's 128-byte class
 * keeps objects 128-aligned (spans start on a page).
 */
struct chan {
	/* Guarded by lock, written by every send and receive. */
	struct spinlock lock;
	uint32_t count;			/* elements in the ring */
	uint32_t sendx, recvx;		/* ring indices */
	bool closed;

	/* Set at make, read-only afterwards. */
	_Alignas(64) const struct gc_type *type;	/* the element's type (NULL: untyped,
							 * conservative) */
	char *buf;			/* the ring: cap elements (a heap object; NULL for cap 0) */
	uint32_t elem_size;
	uint32_t cap;
	/* Guarded by lock, written when a goroutine blocks or is woken. */
	struct waitq recvq, sendq;	/* sudogs, on their goroutines' stacks */
};

GC_TYPE(chan_gc_type, struct chan, buf);
_Static_assert(sizeof(struct chan) == 128 && offsetof(struct chan, type) == 64,
	       "a channel is two cache lines, in the 128-byte size class");

/* ---- wait queues (channel lock held) ------------------------------------------ */

static void waitq_push(struct waitq *q, struct sudog *sd)
{
	sd->next = NULL;
	sd->prev = q->last;
	if (q->last)
		q->last->next = sd;
	else
		q->first = sd;
	q->last = sd;
	sd->queued = true;
}

static void waitq_remove(struct waitq *q, struct sudog *sd)
{
	if (!sd->queued)
		return;
	if (sd->prev)
		sd->prev->next = sd->next;
	else
		q->first = sd->next;
	if (sd->next)
		sd->next->prev = sd->prev;
	else
		q->last = sd->prev;
	sd->next = sd->prev = NULL;
	sd->queued = false;
}

/* The first waiter that is still waiting: a select already won elsewhere is skipped
 * (and dropped from this queue; its G removes the rest of its sudogs itself). */
static struct sudog *waitq_dequeue_slow(struct waitq *q)
{
	struct sudog *sd;
	while ((sd = q->first)) {
		waitq_remove(q, sd);
		if (!sd->sel)
			return sd;
		uint32_t zero = 0;
		if (atomic_compare_exchange_strong(&sd->sel->done, &zero, 1)) {
			sd->sel->winner = sd->index;
			return sd;
		}
	}
	return NULL;
}

static inline struct sudog *waitq_dequeue(struct waitq *q)
{
	return q->first ? waitq_dequeue_slow(q) : NULL;
}

/* ---- elements ---------------------------------------------------------------------- */

static inline char *slot(struct chan *c, size_t i)
{
	return c->buf + i * c->elem_size;
}

/* Shade the pointers the element at p holds. Interrupts off. */
static void elem_shade(const struct chan *c, const void *p)
{
	const struct gc_type *t = c->type;
	if (!t) {
		gc_shade_range(p, c->elem_size);
	} else if (t->nptr) {
		for (uint32_t w = 0; w < t->nwords; w++)
			if ((t->ptrmask[w / 64] >> (w % 64)) & 1)
				gc_shade(((void *const *)p)[w]);
	}
}

/* Copy or clear elem_size bytes: the common sizes as one or two moves the compiler
 * inlines (a call to memcpy for 8 bytes was a tenth of a buffered channel's time). */
static inline void elem_copy(const struct chan *c, void *dst, const void *src)
{
#define ELEM_MOVE(n)                                  \
	do {                                          \
		if (src)                              \
			__builtin_memcpy(dst, src, n); \
		else                                  \
			__builtin_memset(dst, 0, n);   \
	} while (0)
	switch (c->elem_size) {
	case 4: ELEM_MOVE(4); break;
	case 8: ELEM_MOVE(8); break;
	case 16: ELEM_MOVE(16); break;
	default: ELEM_MOVE(c->elem_size); break;
	}
#undef ELEM_MOVE
}

/* elem_put while the collector marks: the barrier around the copy. */
static __attribute__((noinline)) void elem_put_marking(const struct chan *c, void *dst, const void *src)
{
	if (gc_barrier_shades_old())
		elem_shade(c, dst);
	elem_copy(c, dst, src);
	if (src)
		elem_shade(c, dst);
}

/* Write an element (src NULL: zeros) at dst, with the write barrier (see the top),
 * interrupts off (a channel lock held), so that no pause of the collector comes
 * between the barrier's test and the write. Inline: with the barrier off it is one or
 * two moves. */
static inline __attribute__((always_inline)) void elem_put(const struct chan *c, void *dst,
							  const void *src)
{
	KASSERT(!arch_irq_enabled());
	if (!dst)
		return;
	uint32_t on = atomic_load_explicit(&gc_barrier_on, memory_order_relaxed);
	if (__builtin_expect(!(on & GC_BARRIER_MARK), 1))
		elem_copy(c, dst, src);
	else
		elem_put_marking(c, dst, src);
}

/* elem_put with no lock held (a receiver zeroing its own element after a close). */
static void elem_write(const struct chan *c, void *dst, const void *src)
{
	irq_push();
	elem_put(c, dst, src);
	irq_pop();
}

/* Does a received slot need clearing? Only if what it holds may be a pointer that
 * would keep garbage alive (Go's typedmemclr for pointer types): untyped elements are
 * scanned conservatively, typed ones only where their map says. */
static inline bool elem_may_point(const struct chan *c)
{
	return !c->type || c->type->nptr;
}

/* Fault in the pages under [p, p + n) now (reading: it must not change them), not
 * later under a lock. Up to a page (every element but a huge one) its first and last
 * byte cover them, with no loop. */
static inline void touch(const void *p, size_t n)
{
	if (!p || !n)
		return;
	const volatile char *b = (const volatile char *)p;
	(void)b[0];
	for (size_t off = PAGE_SIZE; off < n; off += PAGE_SIZE)
		(void)b[off];
	(void)b[n - 1];
}

static bool unlock_one(struct g *g, void *arg)
{
	(void)g;
	struct chan *c = arg;
	spin_unlock(&c->lock);		/* the irqsave half is popped by the parker */
	return true;
}

static struct g *self_or_panic(const char *what)
{
	struct g *self = sched_curg();
	if (!self)
		panic("%s: not called from a goroutine", what);
	return self;
}

/* The same with c locked (interrupts off): no interrupt toggle of its own. */
static inline struct g *locked_self_or_panic(struct chan *c, const char *what)
{
	struct g *self = sched_curg_irqoff();
	if (__builtin_expect(!self, 0)) {
		spin_unlock_irqrestore(&c->lock);
		panic("%s: not called from a goroutine", what);
	}
	return self;
}

/* ---- make / free -------------------------------------------------------------------- */

static struct chan *make(size_t elem_size, size_t cap, const struct gc_type *t)
{
	if (elem_size == 0 || elem_size > CHAN_ELEM_MAX)
		panic("makechan: element size %zu out of range (1 .. %u)", elem_size, (unsigned)CHAN_ELEM_MAX);
	if (cap > CHAN_BUF_MAX / elem_size)
		panic("makechan: size out of range (%zu elements of %zu bytes)", cap, elem_size);
	struct chan *c = gc_new(&chan_gc_type);
	c->lock = (struct spinlock)SPINLOCK_INIT("chan", LOCK_RANK_CHAN);
	c->type = t;
	c->elem_size = (uint32_t)elem_size;
	c->cap = cap;
	if (cap) {
		void *buf = !t ? gc_alloc(cap * elem_size) : t->nptr ? gc_new_array(t, cap)
								  : gc_alloc_noscan(cap * elem_size);
		gc_store(&c->buf, (char *)buf);
	}
	return c;
}

struct chan *chan_make(size_t elem_size, size_t cap)
{
	return make(elem_size, cap, NULL);
}

struct chan *chan_make_typed(const struct gc_type *t, size_t cap)
{
	if (!t)
		panic("makechan: no element type");
	return make(t->size, cap, t);
}

void chan_free(struct chan *c)
{
	if (!c)
		return;
	spin_lock_irqsave(&c->lock);
	bool busy = c->recvq.first || c->sendq.first;
	char *buf = c->buf;
	c->buf = NULL;
	spin_unlock_irqrestore(&c->lock);
	if (busy)
		panic("chan_free: goroutines are blocked on the channel");
	gc_free(buf);
	gc_free(c);
}

size_t chan_len(struct chan *c)
{
	if (!c)
		return 0;
	spin_lock_irqsave(&c->lock);
	size_t n = c->count;
	spin_unlock_irqrestore(&c->lock);
	return n;
}

size_t chan_cap(struct chan *c)
{
	return c ? c->cap : 0;
}

/* ---- the operations, lock held; each returns the G to ready (or NULL) ------------- */

/* A receiver is waiting: hand elem to it. */
static struct g *send_direct(struct chan *c, struct sudog *sd, const void *elem)
{
	elem_put(c, sd->elem, elem);
	sd->success = true;
	if (sd->sel)
		sd->sel->winner_success = true;
	return sd->g;
}

static void send_buf(struct chan *c, const void *elem)
{
	elem_put(c, slot(c, c->sendx), elem);
	if (++c->sendx == c->cap)
		c->sendx = 0;
	__atomic_store_n(&c->count, c->count + 1, __ATOMIC_RELAXED);	/* count_hint */
}

/* A sender is waiting: take its element (unbuffered), or the ring's head while its
 * element goes to the tail (the ring is full, so the tail is the head's slot). */
static struct g *recv_direct(struct chan *c, struct sudog *sd, void *elem)
{
	if (c->cap == 0) {
		elem_put(c, elem, sd->elem);
	} else {
		char *s = slot(c, c->recvx);
		elem_put(c, elem, s);
		elem_put(c, s, sd->elem);
		if (++c->recvx == c->cap)
			c->recvx = 0;
		c->sendx = c->recvx;
	}
	sd->success = true;
	if (sd->sel)
		sd->sel->winner_success = true;
	return sd->g;
}

static void recv_buf(struct chan *c, void *elem)
{
	char *s = slot(c, c->recvx);
	elem_put(c, elem, s);
	if (elem_may_point(c))
		elem_put(c, s, NULL);
	if (++c->recvx == c->cap)
		c->recvx = 0;
	__atomic_store_n(&c->count, c->count - 1, __ATOMIC_RELAXED);	/* count_hint */
}

/* ---- send / receive -------------------------------------------------------------------- */

static _Noreturn void block_forever(const char *reason)
{
	sched_park(reason, NULL, NULL);
	panic("%s: a goroutine blocked forever was woken", reason);
}

/* c locked and open: hand elem to a waiting receiver (*wake: ready it once unlocked)
 * or put it in the buffer. False: neither could take it. */
static inline __attribute__((always_inline)) bool send_locked(struct chan *c, const void *elem,
							 struct g **wake)
{
	struct sudog *sd = waitq_dequeue(&c->recvq);
	*wake = NULL;
	if (sd) {
		*wake = send_direct(c, sd, elem);
		return true;
	}
	if (c->count < c->cap) {
		send_buf(c, elem);
		return true;
	}
	return false;
}

/* c locked: take an element from a waiting sender (*wake: ready it once unlocked)
 * or from the buffer. False: there was none (closed or not). */
static inline __attribute__((always_inline)) bool recv_locked(struct chan *c, void *elem,
							 struct g **wake)
{
	struct sudog *sd = waitq_dequeue(&c->sendq);
	*wake = NULL;
	if (sd) {
		*wake = recv_direct(c, sd, elem);
		return true;
	}
	if (c->count > 0) {
		recv_buf(c, elem);
		return true;
	}
	return false;
}

/* The element count read without the lock: a hint, true once, checked again under it. */
static inline size_t count_hint(const struct chan *c)
{
	return __atomic_load_n(&c->count, __ATOMIC_RELAXED);
}

static bool chan_send_impl(struct chan *c, const void *elem, bool block)
{
	if (!c) {
		self_or_panic("chan send");
		if (!block)
			return false;
		block_forever("chan send (nil chan)");
	}
	touch(elem, c->elem_size);
	spin_lock_irqsave(&c->lock);
	struct g *self = locked_self_or_panic(c, "chan send");
	if (c->closed) {
		spin_unlock_irqrestore(&c->lock);
		panic("send on closed channel");
	}
	struct g *wake;
	if (send_locked(c, elem, &wake)) {
		spin_unlock_irqrestore(&c->lock);
		if (wake)
			sched_ready(wake);
		return true;
	}
	if (!block) {
		spin_unlock_irqrestore(&c->lock);
		return false;
	}
	struct sudog me = { .g = self, .c = c, .elem = (void *)elem };
	waitq_push(&c->sendq, &me);
	sched_park("chan send", unlock_one, c);
	irq_pop();
	if (!me.success)
		panic("send on closed channel");
	return true;
}

/* Returns whether a receive happened (always, when blocking); *ok as chan_recv. */
static bool chan_recv_impl(struct chan *c, void *elem, bool block, bool *ok)
{
	if (!c) {
		self_or_panic("chan receive");
		if (!block)
			return false;
		block_forever("chan receive (nil chan)");
	}
	touch(elem, c->elem_size);
	spin_lock_irqsave(&c->lock);
	struct g *self = locked_self_or_panic(c, "chan receive");
	struct g *wake;
	if (recv_locked(c, elem, &wake)) {
		spin_unlock_irqrestore(&c->lock);
		if (wake)
			sched_ready(wake);
		*ok = true;
		return true;
	}
	if (c->closed) {
		spin_unlock_irqrestore(&c->lock);
		if (elem)
			elem_write(c, elem, NULL);
		*ok = false;
		return true;
	}
	if (!block) {
		spin_unlock_irqrestore(&c->lock);
		return false;
	}
	struct sudog me = { .g = self, .c = c, .elem = elem };
	waitq_push(&c->recvq, &me);
	sched_park("chan receive", unlock_one, c);
	irq_pop();
	if (!me.success && elem)
		elem_write(c, elem, NULL);
	*ok = me.success;
	return true;
}

void chan_send(struct chan *c, const void *elem)
{
	chan_send_impl(c, elem, true);
}

bool chan_recv(struct chan *c, void *elem)
{
	bool ok;
	chan_recv_impl(c, elem, true, &ok);
	return ok;
}

bool chan_try_send(struct chan *c, const void *elem)
{
	return chan_send_impl(c, elem, false);
}

/* chan_try_send for interrupt handlers (the timers, rt/timer.c): needs no goroutine,
 * never blocks, never panics: false when c is NULL, closed or full. elem must not
 * fault (interrupt stack or kernel data). */
bool chan_try_send_irq(struct chan *c, const void *elem)
{
	struct g *wake;
	bool sent = chan_try_send_irq_nowake(c, elem, &wake);
	if (wake)
		sched_ready(wake);
	return sent;
}

bool chan_try_send_irq_nowake(struct chan *c, const void *elem, struct g **wake)
{
	*wake = NULL;
	if (!c)
		return false;
	spin_lock_irqsave(&c->lock);
	bool sent = !c->closed && send_locked(c, elem, wake);
	spin_unlock_irqrestore(&c->lock);
	return sent;
}

bool chan_try_recv(struct chan *c, void *elem, bool *ok)
{
	bool ok_;
	bool done = chan_recv_impl(c, elem, false, &ok_);
	if (done && ok)
		*ok = ok_;
	return done;
}

void chan_close(struct chan *c)
{
	if (!c)
		panic("close of nil channel");
	spin_lock_irqsave(&c->lock);
	if (c->closed) {
		spin_unlock_irqrestore(&c->lock);
		panic("close of closed channel");
	}
	c->closed = true;
	struct sudog *wake = NULL, *sd;
	while ((sd = waitq_dequeue(&c->recvq))) {
		sd->success = false;
		sd->wnext = wake;
		wake = sd;
	}
	while ((sd = waitq_dequeue(&c->sendq))) {
		sd->success = false;
		sd->wnext = wake;
		wake = sd;
	}
	spin_unlock_irqrestore(&c->lock);
	while (wake) {
		sd = wake;
		wake = sd->wnext;	/* before the ready: the sudog dies with its frame */
		sched_ready(sd->g);
	}
}

/* ---- select ------------------------------------------------------------------------------ */

struct select_locks {
	struct spinlock **l;		/* the distinct channels' locks, by address */
	int n;
};

/* Lock every distinct channel in address order, interrupts off once for all; one
 * entry on the CPU's lock stack however many channels there are. */
static void sellock(struct select_locks *l)
{
	irq_push();
	spin_lock_group(l->l, l->n);
}

static void selunlock_locks(struct select_locks *l)
{
	spin_unlock_group(l->l, l->n);
}

static void selunlock(struct select_locks *l)
{
	selunlock_locks(l);
	irq_pop();
}

static bool selunlock_park(struct g *g, void *arg)
{
	(void)g;
	selunlock_locks(arg);		/* the irq_push half is popped by the select */
	return true;
}

static inline uint64_t xorshift64(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* A select's seed: this P's xorshift state, advanced once (interrupts off for that
 * alone); the select draws its cases' positions from it without touching the P again. */
static uint64_t select_seed(void)
{
	irq_push();
	struct p *p = &allp[cpu_id()];
	uint64_t x = xorshift64(p->rand);
	p->rand = x;
	irq_pop();
	return x;
}

int chan_select(struct select_case *cases, int n, bool has_default)
{
	struct g *self = self_or_panic("select");
	if (n < 0 || n > CHAN_SELECT_MAX)
		panic("select: %d cases (at most %d)", n, CHAN_SELECT_MAX);
	if (n == 0) {
		if (has_default)
			return -1;
		block_forever("select (no cases)");
	}

	/* The poll order: a random permutation of the cases with a channel. The arrays
	 * are on the goroutine's stack, sized by n (about 80 bytes a case). */
	int order[n];
	int norder = 0;
	uint64_t r = select_seed();
	for (int i = 0; i < n; i++) {
		if (!cases[i].c)
			continue;
		if (cases[i].dir != SELECT_SEND && cases[i].dir != SELECT_RECV)
			panic("select: case %d has no direction", i);
		touch(cases[i].elem, cases[i].c->elem_size);
		/* a position in [0, norder]: the top 32 bits scaled, no division */
		r = xorshift64(r);
		int j = (int)(((r >> 32) * (uint64_t)(norder + 1)) >> 32);
		order[norder] = order[j];
		order[j] = i;
		norder++;
	}

	/* Pass 0: a buffered case whose count says it is ready (count_hint) is tried
	 * under its own channel's lock alone, in poll order. Selects over busy buffered
	 * channels mostly end here, holding one lock for a moment instead of every
	 * channel's through a poll, which is what the senders on other CPUs waited on.
	 * As pass 1 would have taken the first ready case in the same order, nothing but
	 * the locking differs. */
	for (int k = 0; k < norder; k++) {
		int i = order[k];
		struct select_case *sc = &cases[i];
		struct chan *c = sc->c;
		size_t cnt = count_hint(c);
		if (!c->cap || (sc->dir == SELECT_SEND ? cnt >= c->cap : cnt == 0))
			continue;
		struct g *wake;
		spin_lock_irqsave(&c->lock);
		if (c->closed && sc->dir == SELECT_SEND) {
			spin_unlock_irqrestore(&c->lock);
			panic("send on closed channel");
		}
		if (sc->dir == SELECT_SEND ? send_locked(c, sc->elem, &wake) : recv_locked(c, sc->elem, &wake)) {
			spin_unlock_irqrestore(&c->lock);
			if (wake)
				sched_ready(wake);
			if (sc->dir == SELECT_RECV && sc->ok)
				*sc->ok = true;
			return i;
		}
		spin_unlock_irqrestore(&c->lock);
	}

	/* The lock order: distinct channels by address (insertion sort: selects are
	 * small; a big one pays n^2/4 compares, still no lock held). */
	struct spinlock *lockv[n];
	struct select_locks locks = { .l = lockv, .n = 0 };
	for (int k = 0; k < norder; k++) {
		struct spinlock *l = &cases[order[k]].c->lock;
		int pos = locks.n;
		while (pos > 0 && (uintptr_t)lockv[pos - 1] > (uintptr_t)l)
			pos--;
		if (pos > 0 && lockv[pos - 1] == l)
			continue;
		memmove(&lockv[pos + 1], &lockv[pos], (size_t)(locks.n - pos) * sizeof(lockv[0]));
		lockv[pos] = l;
		locks.n++;
	}

	struct sudog sds[n];
	touch(sds, (size_t)norder * sizeof(sds[0]));	/* pass 2 writes them under the locks */
	sellock(&locks);

	/* Pass 1: the first ready case in poll order. */
	for (int k = 0; k < norder; k++) {
		int i = order[k];
		struct select_case *sc = &cases[i];
		struct chan *c = sc->c;
		if (sc->dir == SELECT_SEND) {
			if (c->closed) {
				selunlock(&locks);
				panic("send on closed channel");
			}
			struct g *wake;
			if (send_locked(c, sc->elem, &wake)) {
				selunlock(&locks);
				if (wake)
					sched_ready(wake);
				return i;
			}
		} else {
			bool ok;
			struct g *wake;
			if (recv_locked(c, sc->elem, &wake)) {
				selunlock(&locks);
				if (wake)
					sched_ready(wake);
				ok = true;
			} else if (c->closed) {
				selunlock(&locks);
				if (sc->elem)
					elem_write(c, sc->elem, NULL);
				ok = false;
			} else {
				continue;
			}
			if (sc->ok)
				*sc->ok = ok;
			return i;
		}
	}
	if (has_default) {
		selunlock(&locks);
		return -1;
	}

	/* Pass 2: wait on every case; the first waker claims sel.done. */
	struct select_state sel = { .done = 0, .winner = -1 };
	for (int k = 0; k < norder; k++) {
		int i = order[k];
		struct select_case *sc = &cases[i];
		sds[k] = (struct sudog){ .g = self, .c = sc->c, .elem = sc->elem, .sel = &sel, .index = i };
		waitq_push(sc->dir == SELECT_SEND ? &sc->c->sendq : &sc->c->recvq, &sds[k]);
	}
	sched_park("select", selunlock_park, &locks);
	irq_pop();

	/* Woken by the winner's waker: take the losers off their queues. */
	sellock(&locks);
	for (int k = 0; k < norder; k++) {
		struct select_case *sc = &cases[order[k]];
		waitq_remove(sc->dir == SELECT_SEND ? &sc->c->sendq : &sc->c->recvq, &sds[k]);
	}
	selunlock(&locks);

	int i = sel.winner;
	KASSERT(i >= 0 && i < n);
	struct select_case *sc = &cases[i];
	if (sc->dir == SELECT_SEND) {
		if (!sel.winner_success)
			panic("send on closed channel");
	} else {
		if (!sel.winner_success && sc->elem)
			elem_write(sc->c, sc->elem, NULL);
		if (sc->ok)
			*sc->ok = sel.winner_success;
	}
	return i;
}
