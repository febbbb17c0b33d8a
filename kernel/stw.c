/*
 * kernel/stw.c: stop-the-world.
 *
 * State (all atomic): `owner` (CPU id + 1 of the CPU running a stop, 0 if none),
 * `gen` (the stop's number), `arrived`/`left` (participants in and out),
 * `release` (the gen participants may leave).
 *
 *   owner                                participant (STOP IPI or any wait loop)
 *   CAS owner 0 -> me (answering others'  sees stop_pending, clears it
 *     stops while it fails)               reads gen; arrived++
 *   gen++; arrived = left = 0             spins until release == gen
 *   stop_pending = 1 + IPI_STOP to each   left++
 *   wait arrived == n (bounded)
 *   fn(arg); release = gen
 *   wait left == n; owner = 0
 *
 * Waiting for `left` before giving up ownership keeps a slow participant of stop k
 * from counting itself into stop k+1.
 */
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/irq.h>
#include <kernel/panic.h>
#include <kernel/stw.h>

static _Atomic int stw_owner;
static _Atomic uint64_t stw_gen, stw_release;
static _Atomic unsigned stw_arrived, stw_left;
_Atomic uint64_t stw_count;

void stw_participate(void);

void stw_participate(void)
{
	struct cpu *self = cpu_this();
	if (!atomic_exchange_explicit(&self->stop_pending, false, memory_order_acquire))
		return;
	uint64_t g = atomic_load_explicit(&stw_gen, memory_order_acquire);
	atomic_fetch_add_explicit(&stw_arrived, 1, memory_order_acq_rel);
	while (atomic_load_explicit(&stw_release, memory_order_acquire) != g)
		arch_cpu_relax();
	atomic_fetch_add_explicit(&stw_left, 1, memory_order_release);
}

/* Wait until *counter == n; on timeout, panic naming a CPU that has not answered. */
static void wait_count(_Atomic unsigned *counter, unsigned n, const char *what)
{
	uint64_t start = clock_ns();
	while (atomic_load_explicit(counter, memory_order_acquire) != n) {
		arch_cpu_relax();
		if (clock_ns() - start <= ipi_wait_ns)
			continue;
		for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
			if (atomic_load(&cpus[i].online) && atomic_load(&cpus[i].stop_pending))
				panic("stop-the-world: cpu %u (hwid 0x%llx) did not %s in %llu ms", i,
				      (unsigned long long)cpus[i].hwid, what,
				      (unsigned long long)(ipi_wait_ns / 1000000));
		panic("stop-the-world: %u of %u CPUs did not %s in %llu ms",
		      n - atomic_load(counter), n, what, (unsigned long long)(ipi_wait_ns / 1000000));
	}
}

void stop_the_world(void (*fn)(void *), void *arg)
{
	irq_push();
	struct cpu *self = cpu_this();
	KASSERT(!self->in_irq);

	int expected = 0;
	while (!atomic_compare_exchange_weak_explicit(&stw_owner, &expected, (int)self->id + 1,
						      memory_order_acquire, memory_order_relaxed)) {
		expected = 0;
		ipi_poll();	/* another CPU is stopping the world: join it */
		arch_cpu_relax();
	}

	uint64_t g = atomic_load_explicit(&stw_gen, memory_order_relaxed) + 1;
	atomic_store_explicit(&stw_arrived, 0, memory_order_relaxed);
	atomic_store_explicit(&stw_left, 0, memory_order_relaxed);
	atomic_store_explicit(&stw_gen, g, memory_order_release);
	unsigned n = 0;
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		struct cpu *c = &cpus[i];
		if (c == self || !atomic_load(&c->online))
			continue;
		atomic_store_explicit(&c->stop_pending, true, memory_order_release);
		arch_ipi_send(c->hwid, IPI_STOP);
		n++;
	}
	wait_count(&stw_arrived, n, "stop");

	fn(arg);

	atomic_store_explicit(&stw_release, g, memory_order_release);
	wait_count(&stw_left, n, "leave the stop");
	atomic_fetch_add_explicit(&stw_count, 1, memory_order_relaxed);
	atomic_store_explicit(&stw_owner, 0, memory_order_release);
	irq_pop();
}

static void stw_irq(unsigned irq, void *arg, struct arch_frame *f)
{
	(void)irq, (void)arg, (void)f;
	ipi_poll();
}

void stw_init(void)
{
	irq_register(IRQ_IPI(IPI_STOP), stw_irq, NULL);
}
