/*
 * rt/runq.c: each P's local run queue, Go's design (runtime/proc.go runqput, runqget,
 * runqgrab), in C11 atomics.
 *
 * A ring of RUNQ_SIZE slots indexed by free-running 32-bit counters. Only the owner
 * CPU writes `tail` (and the slots between head and tail); anyone may advance `head`,
 * with a CAS: the owner to take one G, a thief to take half. A slot is read before
 * the CAS that claims it, and the CAS's success says nobody else claimed it first,
 * so the value read is the right one (the owner cannot overwrite the slot until head
 * has moved past it). `runnext` holds a G that should run next (a readied partner),
 * ahead of the ring.
 */
#include <stddef.h>
#include <kernel/clock.h>
#include <kernel/ipi.h>
#include <arch/ops.h>
#include <rt/sched.h>

bool runq_put(struct p *p, struct g *g)
{
	uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
	if (t - h >= RUNQ_SIZE)
		return false;
	atomic_store_explicit(&p->runq[t % RUNQ_SIZE], g, memory_order_relaxed);
	atomic_store_explicit(&p->runqtail, t + 1, memory_order_release);
	return true;
}

struct g *runq_get(struct p *p)
{
	struct g *g = atomic_exchange_explicit(&p->runnext, NULL, memory_order_acq_rel);
	if (g)
		return g;
	for (;;) {
		uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
		if (t == h)
			return NULL;
		g = atomic_load_explicit(&p->runq[h % RUNQ_SIZE], memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&p->runqhead, &h, h + 1, memory_order_release,
							  memory_order_relaxed))
			return g;
	}
}

uint32_t runq_len(struct p *p)
{
	uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_acquire);
	return (t - h) + (atomic_load_explicit(&p->runnext, memory_order_relaxed) != NULL);
}

/*
 * A thief takes a running P's runnext only if that P has not switched to any G for
 * RUNNEXT_GRACE_NS: a goroutine readied by the one running there (the other end of
 * a channel) is about to run there, next to the data it was handed, as soon as the
 * readier blocks. Taking it early moves channel partners apart, and then every
 * message crosses between caches and every block is a wake-up across CPUs (Go's
 * runqgrab sleeps 3 us for the same reason). Measured on the hosted platform at 2
 * CPUs, buffered channel / 4-case select / ping-pong: 3 us 52 / 220 / 285 ns, 20 us
 * 43 / 108 / 260 ns, 50 us 38 / 90 / 210 ns: a producer fills a 128-slot buffer in
 * about 5 us, and a grace shorter than that splits the pair every time. The cost: a
 * goroutine readied by one that then computes without blocking waits up to this long
 * before an idle CPU takes it (one per P: a later ready pushes it to the ring, which
 * thieves take at once). The thief waits on its own clock and looks at the victim
 * once at the end: polling the victim's runnext or switch count slowed the very P it
 * waited for. It answers cross-calls and stops as it waits, and opens a window for
 * its own interrupts at every turn (they are off in the scheduler loop).
 */
#define RUNNEXT_GRACE_NS 50000

static struct g *steal_runnext(struct p *from)
{
	if (!atomic_load_explicit(&from->runnext, memory_order_relaxed))
		return NULL;
	if (__atomic_load_n(&from->curg, __ATOMIC_RELAXED)) {
		uint32_t sw = atomic_load_explicit(&from->nswitch, memory_order_relaxed);
		struct spin_window spin = spin_window(RUNNEXT_GRACE_NS);
		while (!spin_window_over(&spin)) {
			ipi_poll();
			/* a window for this CPU's own interrupts (its timer, devices), as idle
			 * marking opens between its pieces: the wait is long next to them */
			arch_irq_window();
		}
		if (atomic_load_explicit(&from->nswitch, memory_order_relaxed) != sw)
			return NULL;	/* it switched meanwhile: its runnext is moving */
	}
	return atomic_exchange_explicit(&from->runnext, NULL, memory_order_acq_rel);
}

/*
 * Steal half of from's queue into to's (to is the calling CPU's own P); return one of
 * the stolen Gs to run now, or NULL. An empty ring yields from's runnext instead when
 * `runnext` is set (see RUNNEXT_GRACE_NS).
 */
struct g *runq_steal(struct p *from, struct p *to, bool runnext)
{
	struct g *batch[RUNQ_SIZE / 2];
	uint32_t n;

	for (;;) {
		uint32_t h = atomic_load_explicit(&from->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&from->runqtail, memory_order_acquire);
		n = t - h;
		n -= n / 2;
		if (n == 0)
			return runnext ? steal_runnext(from) : NULL;
		if (n > RUNQ_SIZE / 2)
			continue;	/* read head and tail at different times: again */
		for (uint32_t i = 0; i < n; i++)
			batch[i] = atomic_load_explicit(&from->runq[(h + i) % RUNQ_SIZE], memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&from->runqhead, &h, h + n, memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	/* our own queue is empty (we only steal when it is), so all but one fit */
	for (uint32_t i = 1; i < n; i++)
		runq_put(to, batch[i]);
	return batch[0];
}
