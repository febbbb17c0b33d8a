/*
 * rt/chan.h: Go's channels and select for C goroutines.
 *
 *   chan_make(elem_size, cap)   a channel of elements of elem_size bytes (1 .. 64 KiB)
 *                               with a buffer of cap elements (0: unbuffered; the
 *                               buffer is limited to 1 GiB); the elements may hold
 *                               pointers anywhere: a buffered element keeps whatever
 *                               its words point to alive (conservatively)
 *   chan_make_typed(&type, cap) the same with elements of a GC_TYPE (rt/gc.h): only
 *                               its pointer fields are followed (a type without
 *                               pointers: the buffer is never scanned)
 *   chan_send(c, elem)          copy *elem into c; blocks until a receiver or buffer
 *                               space takes it
 *   chan_recv(c, elem)          take one element into *elem (elem may be NULL to drop
 *                               it); false when c is closed and drained (*elem zeroed)
 *   chan_try_send / chan_try_recv   the same without blocking: false when they
 *                               would have blocked (chan_try_recv's ok: as chan_recv)
 *   chan_close(c)               no more sends; receivers drain the buffer, then get
 *                               false; blocked senders panic
 *   chan_len(c), chan_cap(c)    elements buffered now / buffer size (0 for NULL)
 *   chan_free(c)                optional early release: nobody may use c any more
 *                               (channels are garbage-collected objects, rt/gc.h)
 *
 *   chan_select(cases, n, has_default)
 *       Go's select: among the cases that can proceed, one chosen uniformly at random;
 *       if none can, -1 at once with has_default, else block until one can. Returns
 *       the chosen case's index. A case with a NULL channel is never chosen; a select
 *       with no cases (and no default) blocks forever. Receive cases store the element
 *       into elem (may be NULL) and, if ok is not NULL, whether it was a real one
 *       (false: closed and drained). Any number of cases up to CHAN_SELECT_MAX
 *       (Go's limit); a select keeps about 80 bytes a case on its goroutine's stack.
 *
 * A NULL channel blocks forever on send and receive, as in Go. Misuse panics with
 * Go's messages: "send on closed channel", "close of closed channel", "close of nil
 * channel". Context: goroutines only (they may block); chan_try_* and a select with a
 * default never block but still need a goroutine. Elements are copied (memcpy, with
 * the collector's write barrier): pass pointers as elements to share memory.
 */
#ifndef RT_CHAN_H
#define RT_CHAN_H

#include <stdbool.h>
#include <stddef.h>

struct chan;
struct g;

enum select_dir {
	SELECT_SEND = 1,
	SELECT_RECV = 2,
};

struct select_case {
	struct chan *c;		/* NULL: the case is never ready */
	enum select_dir dir;
	void *elem;		/* SEND: what to send; RECV: where to store (or NULL) */
	bool *ok;		/* RECV: set to false when closed and drained (or NULL) */
};

#define CHAN_SELECT_MAX 65536
#define CHAN_ELEM_MAX	65536u
#define CHAN_BUF_MAX	(1ul << 30)

struct gc_type;
struct chan *chan_make(size_t elem_size, size_t cap);
struct chan *chan_make_typed(const struct gc_type *t, size_t cap);
void chan_free(struct chan *c);

void chan_send(struct chan *c, const void *elem);
bool chan_recv(struct chan *c, void *elem);

/* Non-blocking: true if the element was sent. */
bool chan_try_send(struct chan *c, const void *elem);
/* chan_try_send from an interrupt handler: no goroutine needed; false (never a panic)
 * when c is NULL, closed or has no receiver and no buffer space. */
bool chan_try_send_irq(struct chan *c, const void *elem);
/* The same for a caller holding a spinlock: the receiver it handed elem to, if any, is
 * left in *wake (else NULL) for the caller to sched_ready once it holds none. */
bool chan_try_send_irq_nowake(struct chan *c, const void *elem, struct g **wake);
/* Non-blocking: true if a receive happened, with *ok as chan_recv's result. */
bool chan_try_recv(struct chan *c, void *elem, bool *ok);

void chan_close(struct chan *c);
size_t chan_len(struct chan *c);
size_t chan_cap(struct chan *c);

int chan_select(struct select_case *cases, int n, bool has_default);

#endif
