/*
 * sieve: Go's concurrent prime sieve, the image's demo (`make run`).
 *
 *   sieve [count]        print the first count primes (default 30, at most 1000)
 *
 * A generator sends 2, 3, 4, ... down an unbuffered channel; every prime found
 * starts a goroutine that filters its multiples out of the stream and passes the
 * rest on, so the numbers run through a chain of goroutines that the scheduler
 * spreads over every CPU. Next to them, one goroutine per CPU spins without making a
 * call, and the sieve still finishes: the time slice preempts the spinners. When
 * main returns the image powers off, the goroutines still blocked, as in Go.
 * Each filter's state is a typed object on the collector's heap (GC_TYPE, gc_new),
 * its pointer fields written through gc_store.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/go.h>

struct filter {
	struct chan *in, *out;
	uint64_t prime;
};
GC_TYPE(filter_type, struct filter, in, out);

static _Atomic uint64_t cpus_used;	/* a bit for each CPU a filter ran on */
static _Atomic bool spin_stop;

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
		atomic_fetch_or(&cpus_used, 1ull << go_cpu());
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

int main(int argc, char **argv)
{
	char *end;
	long count = argc > 1 ? strtol(argv[1], &end, 10) : 30;

	if (argc > 2 || (argc > 1 && (*end || end == argv[1])) || count < 1 || count > 1000) {
		fprintf(stderr, "usage: %s [count]   (count of primes from 1 to 1000)\n", argv[0]);
		return 2;
	}
	struct chan *ch = chan_make(sizeof(uint64_t), 0);
	go(generate, ch);
	unsigned spinners = go_ncpu();
#if defined(__SANITIZE_THREAD__)
	spinners = 0;	/* the ThreadSanitizer build cannot preempt a call-free loop (README) */
#endif
	for (unsigned i = 0; i < spinners; i++)
		go(spin, NULL);
	printf("sieve:");
	for (long k = 0; k < count; k++) {
		uint64_t prime;
		chan_recv(ch, &prime);
		printf(" %llu", (unsigned long long)prime);
		struct filter *f = gc_new(&filter_type);	/* zeroed; panics if out of memory */
		gc_store(&f->in, ch);
		gc_store(&f->out, chan_make(sizeof(uint64_t), 0));
		f->prime = prime;
		go(filter, f);
		ch = f->out;
	}
	printf("\nsieve: %ld filter goroutines ran on %d of %u CPUs, next to %u goroutines "
	       "spinning without a call\n", count, __builtin_popcountll(atomic_load(&cpus_used)),
	       go_ncpu(), spinners);
	atomic_store(&spin_stop, true);
	return 0;
}
