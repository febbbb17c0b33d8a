/*
 * kernel/ipi.c: cross-calls and shootdowns on top of the arch's IPIs.
 *
 * Each CPU has a queue of calls (struct cpu.calls): senders push with a CAS (a
 * lock-free LIFO), then send IPI_CALL; the target takes the whole list with one
 * exchange, reverses it to FIFO order and runs it. A synchronous call's record lives
 * on the sender's stack and the sender spins on `done`; an asynchronous one comes from
 * a fixed pool and goes back to it after it ran. Losing an IPI is harmless: the
 * queue is also drained by every wait loop (ipi_poll), and the next IPI drains it.
 *
 * A panic (kernel/panic.c) stops the other CPUs through the same vector: its IPI_CALL
 * handler, and every wait loop's ipi_poll, first check panic_stop_requested() and, if
 * so, record where this CPU was (the interrupted frame, or the wait loop's own) and
 * halt there for good.
 *
 * Rejected: one shared call slot per CPU pair (N^2 memory), a lock per queue (a
 * CPU taking calls from inside its own send would need the lock recursively).
 */
#include <stddef.h>
#include <stdio.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/irq.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>

#define IPI_POOL 256

uint64_t ipi_wait_ns = IPI_WAIT_NS;

static struct ipi_call ipi_pool[IPI_POOL];
static struct ipi_call *ipi_pool_free;
static struct spinlock ipi_pool_lock = SPINLOCK_INIT("ipi_pool", LOCK_RANK_IPI_POOL);

void stw_participate(void);	/* kernel/stw.c */

static struct ipi_call *pool_get(void)
{
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	for (;;) {
		spin_lock_irqsave(&ipi_pool_lock);
		struct ipi_call *c = ipi_pool_free;
		if (c)
			ipi_pool_free = c->next;
		spin_unlock_irqrestore(&ipi_pool_lock);
		if (c)
			return c;
		/* all in flight: answer our own queue while the targets drain theirs */
		irq_push();
		ipi_poll();
		irq_pop();
		if (spin_deadline_over(&dl, ipi_wait_ns))
			panic("ipi: no free asynchronous call record for %llu ms",
			      (unsigned long long)(ipi_wait_ns / 1000000));
		arch_cpu_relax();
	}
}

static void pool_put(struct ipi_call *c)
{
	spin_lock_irqsave(&ipi_pool_lock);
	c->next = ipi_pool_free;
	ipi_pool_free = c;
	spin_unlock_irqrestore(&ipi_pool_lock);
}

static void run_calls(struct cpu *self)
{
	struct ipi_call *list = atomic_exchange_explicit(&self->calls, NULL, memory_order_acquire);
	struct ipi_call *fifo = NULL;
	while (list) {
		struct ipi_call *n = list->next;
		list->next = fifo;
		fifo = list;
		list = n;
	}
	while (fifo) {
		struct ipi_call *c = fifo;
		fifo = c->next;
		c->fn(c->arg);
		if (c->pooled)
			pool_put(c);
		else
			atomic_store_explicit(&c->done, true, memory_order_release);
	}
}

void ipi_run_calls(void)
{
	struct cpu *self = cpu_this();
	KASSERT(!arch_irq_enabled());
	if (panic_stop_requested())
		panic_stop_self(NULL);	/* a wait loop: halts here for the panic's report */
	if (atomic_load_explicit(&self->calls, memory_order_relaxed))
		run_calls(self);
}

void ipi_explain_silent(unsigned cpu, char *why, size_t len)
{
	char text[224];
	arch_ipi_unanswered(cpus[cpu].hwid, text, sizeof(text));
	snprintf(why, len, "%s%s", text[0] ? "; " : "", text);
}

bool ipi_pending(void)
{
	struct cpu *self = cpu_this();
	KASSERT(!arch_irq_enabled());
	return atomic_load_explicit(&self->calls, memory_order_relaxed) ||
	       atomic_load_explicit(&self->stop_pending, memory_order_relaxed) || panic_stop_requested();
}

void ipi_poll(void)
{
	struct cpu *self = cpu_this();
	ipi_run_calls();
	if (atomic_load_explicit(&self->stop_pending, memory_order_relaxed))
		stw_participate();
}

static void enqueue(struct cpu *t, struct ipi_call *c, enum ipi_kind kind)
{
	struct ipi_call *head = atomic_load_explicit(&t->calls, memory_order_relaxed);
	do
		c->next = head;
	while (!atomic_compare_exchange_weak_explicit(&t->calls, &head, c, memory_order_release,
						      memory_order_relaxed));
	arch_ipi_send(t->hwid, kind);
}

/* Spin until *flag, answering our own IPIs; panic naming `who` after ipi_wait_ns. */
static void wait_for(_Atomic bool *flag, const struct cpu *who, const char *what)
{
	struct spin_deadline dl = SPIN_DEADLINE_INIT;
	irq_push();
	while (!atomic_load_explicit(flag, memory_order_acquire)) {
		ipi_poll();
		arch_cpu_relax();
		if (spin_deadline_over(&dl, ipi_wait_ns)) {
			char why[240];
			ipi_explain_silent(who->id, why, sizeof(why));
			panic("%s: cpu %u (hwid 0x%llx) did not answer in %llu ms%s", what, who->id,
			      (unsigned long long)who->hwid, (unsigned long long)(ipi_wait_ns / 1000000), why);
		}
	}
	irq_pop();
}

void ipi_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait)
{
	KASSERT(cpu < ARCH_MAX_CPUS && atomic_load(&cpus[cpu].online));
	struct cpu *t = &cpus[cpu];
	irq_push();		/* "this CPU" must stay this CPU (preemption) */
	if (t == cpu_this()) {
		fn(arg);
		irq_pop();
		return;
	}
	irq_pop();
	if (!wait) {
		struct ipi_call *c = pool_get();
		c->fn = fn, c->arg = arg, c->pooled = true;
		enqueue(t, c, IPI_CALL);
		return;
	}
	struct ipi_call c = { .fn = fn, .arg = arg, .pooled = false };
	atomic_init(&c.done, false);
	enqueue(t, &c, IPI_CALL);
	wait_for(&c.done, t, "ipi_call");
}

static void call_cpus(uint64_t mask, void (*fn)(void *), void *arg, bool wait, enum ipi_kind kind)
{
	struct ipi_call calls[ARCH_MAX_CPUS];
	irq_push();		/* "the others" are fixed by this CPU: no preemption */
	struct cpu *self = cpu_this();
	mask &= ~(1ull << self->id);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		struct cpu *t = &cpus[i];
		if (!(mask & (1ull << i)) || !atomic_load(&t->online)) {
			mask &= ~(1ull << i);
			continue;
		}
		if (!wait) {
			ipi_call(i, fn, arg, false);
			continue;
		}
		calls[i] = (struct ipi_call){ .fn = fn, .arg = arg, .pooled = false };
		atomic_init(&calls[i].done, false);
		enqueue(t, &calls[i], kind);
	}
	if (wait)
		for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
			if (mask & (1ull << i))
				wait_for(&calls[i].done, &cpus[i],
					 kind == IPI_TLB ? "tlb_shootdown" : "ipi_call_others");
	irq_pop();
}

void ipi_call_others(void (*fn)(void *), void *arg, bool wait)
{
	call_cpus(~0ull, fn, arg, wait, IPI_CALL);
}

void ipi_call_cpus(uint64_t mask, void (*fn)(void *), void *arg, bool wait)
{
	call_cpus(mask, fn, arg, wait, IPI_CALL);
}

void ipi_reschedule(unsigned cpu)
{
	arch_ipi_send(cpus[cpu].hwid, IPI_RESCHEDULE);
}

struct tlb_range {
	uint64_t va, size;
};

static void tlb_flush_call(void *arg)
{
	const struct tlb_range *r = arg;
	arch_tlb_flush_local(r->va, r->size);
}

void tlb_shootdown(uint64_t va, uint64_t size)
{
	struct tlb_range r = { va, size };
	irq_push();		/* flush here and on the others, with no move in between */
	arch_tlb_flush_local(va, size);
	call_cpus(~0ull, tlb_flush_call, &r, true, IPI_TLB);
	irq_pop();
}

static void ipi_call_irq(unsigned irq, void *arg, struct arch_frame *f)
{
	(void)irq, (void)arg;
	if (panic_stop_requested())
		panic_stop_self(f);	/* a panic elsewhere: record the interrupted frame, halt */
	ipi_poll();
}

static void ipi_resched_irq(unsigned irq, void *arg, struct arch_frame *f)
{
	(void)irq, (void)arg, (void)f;	/* the wake-up is the whole point */
}

void ipi_init(void)
{
	for (unsigned i = 0; i < IPI_POOL; i++) {
		ipi_pool[i].next = ipi_pool_free;
		ipi_pool_free = &ipi_pool[i];
	}
	irq_register(IRQ_IPI(IPI_CALL), ipi_call_irq, NULL);
	irq_register(IRQ_IPI(IPI_RESCHEDULE), ipi_resched_irq, NULL);
	irq_register(IRQ_IPI(IPI_TLB), ipi_call_irq, NULL);
}
