/*
 * rt/demo.c: what the image runs when it is given no tests (`make run`): Go's
 * concurrent prime sieve, as the first goroutine. A generator sends 2, 3, 4, ...
 * down an unbuffered channel; every prime found starts a goroutine that filters its
 * multiples out of the stream and passes the rest on, so the stream runs through a
 * chain of goroutines spread over every CPU by the scheduler. Then one goroutine per
 * CPU spins without making a call, and the sieve's last line is still printed: the
 * slice timer preempts them. The goroutines are left blocked when main returns, as
 * in Go: the image powers off.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/chan.h>
#include <rt/go.h>
#include <rt/sched.h>

#define DEMO_PRIMES 30

struct filter {
	struct chan *in, *out;
	uint64_t prime;
};

static _Atomic uint64_t cpus_used;	/* bit per CPU a filter was seen on */
static _Atomic bool spin_stop;

static void note_cpu(void)
{
	irq_push();
	atomic_fetch_or(&cpus_used, 1ull << cpu_id());
	irq_pop();
}

static void generate(void *arg)
{
	struct chan *out = arg;
	for (uint64_t i = 2;; i++)
		chan_send(out, &i);
}

static void filter(void *arg)
{
	struct filter *f = arg;
	for (uint64_t i;;) {
		chan_recv(f->in, &i);
		note_cpu();
		if (i % f->prime)
			chan_send(f->out, &i);
	}
}

static void spin(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		;
}

int rt_demo_main(void *arg)
{
	(void)arg;
	struct chan *ch = chan_make(sizeof(uint64_t), 0);
	go(generate, ch);
	unsigned n = cpu_count(), spinners = n;
#if defined(__SANITIZE_THREAD__)
	spinners = 0;	/* ThreadSanitizer's build cannot preempt a call-free loop (README) */
#endif
	for (unsigned i = 0; i < spinners; i++)
		go(spin, NULL);
	printf("sieve:");
	for (int k = 0; k < DEMO_PRIMES; k++) {
		uint64_t prime;
		chan_recv(ch, &prime);
		printf(" %llu", (unsigned long long)prime);
		struct filter *f = malloc(sizeof(*f));
		if (!f)
			panic("demo: out of memory");
		*f = (struct filter){ ch, chan_make(sizeof(uint64_t), 0), prime };
		go(filter, f);
		ch = f->out;
	}
	uint64_t preempted = 0;
	for (struct g *g = sched.allgs; g; g = g->alllink)
		preempted += g->npreempt;
	printf("\nsieve: %d filter goroutines ran on %d of %u CPUs, next to %u goroutines "
	       "spinning without a call (preempted %llu times)\n", DEMO_PRIMES,
	       __builtin_popcountll(atomic_load(&cpus_used)), n, spinners, (unsigned long long)preempted);
	atomic_store(&spin_stop, true);
	return 0;
}
