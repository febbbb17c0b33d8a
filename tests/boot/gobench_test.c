/*
 * tests/boot/gobench_test.c: what goroutines, channels, select and the mutex cost, as
 * BENCH lines (tests=gobench, only when named). TEST_G: inside goroutines, the
 * scheduler on every CPU.
 *
 * The same programs are written in Go (tests/bench/go/main.go) and, where there is an
 * analogue, with pthreads (tests/bench/pthread/); tools/gobench.py runs the three side
 * by side on the hosted platform and prints the ratios. Keep the shapes identical when
 * changing one: the sizes below are the Go program's too.
 *
 * Each timed figure is the median of GB_ROUNDS rounds of one run, in nanoseconds per
 * operation; the name ends in _p<CPUs> (the core count of the boot):
 *   gort_spawn_pN      spawn GB_SPAWN goroutines that each wg_done, then wg_wait:
 *                      ns per goroutine (spawn, first run, exit, join)
 *   gort_pingpong_pN   one unbuffered round trip between two goroutines (send, the
 *                      partner receives and sends back); at 2 CPUs the two may or may
 *                      not run on different CPUs: nothing pins them
 *   gort_chanbuf_pN    one message from a producer to a consumer through a channel of
 *                      capacity GB_CAP
 *   gort_select4_pN    one 4-case receive select, 4 senders feeding 4 channels of
 *                      capacity GB_CAP
 *   gort_mutex_pN      one lock/increment/unlock by one of GB_MUTEX_G goroutines
 *                      hammering one mutex (the final count is checked exactly)
 * and the memory figure (one measurement, not timed):
 *   gort_parked_bytes_pN      GB_PARKED goroutines (go()'s 32 KiB stack reservations)
 *                             parked on a channel: pages in use in the physical page
 *                             allocator after, minus before, per goroutine; everything
 *                             the runtime takes (G slab, stack pages, page tables) comes
 *                             from there
 *   gort_parked16k_bytes_pN   the same with 16 KiB reservations (go_stack), the
 *                             smallest: 128 stacks share a leaf page table where
 *                             32 KiB ones share it by 64
 *   gort_parked1m_bytes_pN    the same with 1 MiB ones (main's), two to a table
 * The memory figures come first, so that no dead goroutine of an earlier figure is
 * reused (its pages would count as in use before).
 * The channels of the timed figures carry uint64_t and say so (chan_make_typed with
 * gc_type_u64), as the Go program's `chan uint64` does: an element the collector
 * need not scan, whose slot a receive need not clear (an untyped channel's is
 * cleared, since it may hold a pointer: 25.8 against 24.3 ns a buffered message at one
 * CPU, medians of 5 interleaved runs).
 * Not timed tests: nothing fails on a slow figure; the counts are checked.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <arch/memlayout.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/pmm.h>
#include <kernel/test.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/go.h>
#include <rt/sync.h>

#define GB_ROUNDS	5
#define GB_SPAWN	10000
#define GB_PINGS	20000
#define GB_MSGS		200000
#define GB_CAP		128
#define GB_SELECTS	200000
#define GB_MUTEX_G	4
#define GB_MUTEX_K	50000
/* 100k goroutines in the images. The hosted platform maps every stack page with its own
 * mmap of the memory file, and Linux caps a process at vm.max_map_count (65530 by
 * default) mappings, which runs out at about 16k goroutines (dead ones keep their
 * pages for reuse): 4000 there. */
#ifdef GORT_HOSTED
#define GB_PARKED	4000
#else
#define GB_PARKED	100000
#endif

static double gb_samples[GB_ROUNDS];

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Print the median of the rounds as "BENCH gort_<name>_p<cpus> <ns> ns". */
static void gb_report(const char *name)
{
	qsort(gb_samples, GB_ROUNDS, sizeof(gb_samples[0]), cmp_double);
	kprintf("BENCH gort_%s_p%u %.1f ns\n", name, cpu_count(), gb_samples[GB_ROUNDS / 2]);
}

/* ---- memory per parked goroutine -------------------------------------------------------- */

static uint64_t pages_used(void)
{
	return kernel_pmm.total - __atomic_load_n(&kernel_pmm.nfree, __ATOMIC_RELAXED);
}

struct parked {
	struct chan *release;
	struct wait_group ready, exited;
	_Atomic uint64_t woke;
};

static void parked_fn(void *arg)
{
	struct parked *pk = arg;
	wg_done(&pk->ready);
	bool ok = chan_recv(pk->release, NULL);	/* parks until the close */
	if (!ok)
		atomic_fetch_add(&pk->woke, 1);
	wg_done(&pk->exited);
}

/* stack: the reservation's size (0: go's default) */
static void parked_run(const char *name, size_t stack)
{
	struct parked pk = { chan_make(1, 0), WAIT_GROUP_INIT, WAIT_GROUP_INIT, 0 };
	wg_add(&pk.ready, GB_PARKED);
	wg_add(&pk.exited, GB_PARKED);
	uint64_t before = pages_used();
	for (int i = 0; i < GB_PARKED; i++)
		go_stack(parked_fn, &pk, stack);
	wg_wait(&pk.ready);
	uint64_t after = pages_used();
	chan_close(pk.release);
	wg_wait(&pk.exited);
	EXPECT_EQ(atomic_load(&pk.woke), GB_PARKED);
	chan_free(pk.release);
	kprintf("BENCH gort_%s_p%u %llu bytes\n", name, cpu_count(),
		(unsigned long long)((after - before) * PAGE_SIZE / GB_PARKED));
}


/* ---- spawn and exit ----------------------------------------------------------------------- */

static void spawn_fn(void *arg)
{
	wg_done(arg);
}

static struct wait_group spawn_gate;

static void spawn_gated_fn(void *arg)
{
	wg_wait(&spawn_gate);
	wg_done(arg);
}

static void bench_spawn(void)
{
	/* Warm-up, untimed: GB_SPAWN goroutines alive at once, so that the timed rounds
	 * reuse dead goroutines and their stacks, as the Go peer does (its parked figure
	 * left 100k behind): the figure is the steady state, not the first allocation of
	 * every G and stack (on the hosted platform an mmap and a fault each). */
	struct wait_group warm = WAIT_GROUP_INIT;
	spawn_gate = (struct wait_group)WAIT_GROUP_INIT;
	wg_add(&spawn_gate, 1);
	wg_add(&warm, GB_SPAWN);
	for (int i = 0; i < GB_SPAWN; i++)
		go(spawn_gated_fn, &warm);
	wg_done(&spawn_gate);
	wg_wait(&warm);
	for (int r = 0; r < GB_ROUNDS; r++) {
		struct wait_group wg = WAIT_GROUP_INIT;
		uint64_t t0 = go_now();
		wg_add(&wg, GB_SPAWN);
		for (int i = 0; i < GB_SPAWN; i++)
			go(spawn_fn, &wg);
		wg_wait(&wg);
		gb_samples[r] = (double)(go_now() - t0) / GB_SPAWN;
	}
	gb_report("spawn");
}

/* ---- unbuffered ping-pong ------------------------------------------------------------------- */

struct pingpong {
	struct chan *ping, *pong;
	struct wait_group done;
};

static void pong_fn(void *arg)
{
	struct pingpong *pp = arg;
	uint64_t v;
	for (int i = 0; i < GB_PINGS; i++) {
		chan_recv(pp->ping, &v);
		v++;
		chan_send(pp->pong, &v);
	}
	wg_done(&pp->done);
}

static void bench_pingpong(void)
{
	for (int r = 0; r < GB_ROUNDS; r++) {
		struct pingpong pp = { chan_make_typed(&gc_type_u64, 0), chan_make_typed(&gc_type_u64, 0),
				       WAIT_GROUP_INIT };
		uint64_t good = 0;
		wg_add(&pp.done, 1);
		go(pong_fn, &pp);
		uint64_t t0 = go_now();
		for (uint64_t i = 0; i < GB_PINGS; i++) {
			uint64_t v = i, back = 0;
			chan_send(pp.ping, &v);
			chan_recv(pp.pong, &back);
			good += back == i + 1;
		}
		gb_samples[r] = (double)(go_now() - t0) / GB_PINGS;
		wg_wait(&pp.done);
		EXPECT_EQ(good, GB_PINGS);
		chan_free(pp.ping);
		chan_free(pp.pong);
	}
	gb_report("pingpong");
}

/* ---- buffered throughput -------------------------------------------------------------------- */

struct stream {
	struct chan *c;
	struct wait_group done;
};

static void producer_fn(void *arg)
{
	struct stream *s = arg;
	for (uint64_t i = 0; i < GB_MSGS; i++)
		chan_send(s->c, &i);
	wg_done(&s->done);
}

static void bench_chanbuf(void)
{
	for (int r = 0; r < GB_ROUNDS; r++) {
		struct stream s = { chan_make_typed(&gc_type_u64, GB_CAP), WAIT_GROUP_INIT };
		uint64_t sum = 0, v;
		wg_add(&s.done, 1);
		uint64_t t0 = go_now();
		go(producer_fn, &s);
		for (int i = 0; i < GB_MSGS; i++) {
			chan_recv(s.c, &v);
			sum += v;
		}
		gb_samples[r] = (double)(go_now() - t0) / GB_MSGS;
		wg_wait(&s.done);
		EXPECT_EQ(sum, (uint64_t)GB_MSGS * (GB_MSGS - 1) / 2);
		chan_free(s.c);
	}
	gb_report("chanbuf");
}

/* ---- select over 4 channels ---------------------------------------------------------------- */

struct feed {
	struct chan *c;
	struct wait_group *done;
};

static void feeder_fn(void *arg)
{
	struct feed *f = arg;
	for (uint64_t i = 0; i < GB_SELECTS / 4; i++)
		chan_send(f->c, &i);
	wg_done(f->done);
}

static void bench_select4(void)
{
	for (int r = 0; r < GB_ROUNDS; r++) {
		struct wait_group done = WAIT_GROUP_INIT;
		struct feed feeds[4];
		struct select_case cases[4];
		uint64_t v, got[4] = { 0 };
		wg_add(&done, 4);
		for (int k = 0; k < 4; k++) {
			feeds[k] = (struct feed){ chan_make_typed(&gc_type_u64, GB_CAP), &done };
			cases[k] = (struct select_case){ feeds[k].c, SELECT_RECV, &v, NULL };
		}
		uint64_t t0 = go_now();
		for (int k = 0; k < 4; k++)
			go(feeder_fn, &feeds[k]);
		for (int i = 0; i < GB_SELECTS; i++)
			got[chan_select(cases, 4, false)]++;
		gb_samples[r] = (double)(go_now() - t0) / GB_SELECTS;
		wg_wait(&done);
		for (int k = 0; k < 4; k++) {
			EXPECT_EQ(got[k], GB_SELECTS / 4);
			chan_free(feeds[k].c);
		}
	}
	gb_report("select4");
}

/* ---- mutex contention ------------------------------------------------------------------------ */

struct counter {
	struct mutex m;
	uint64_t n;			/* m */
	struct wait_group done;
};

static void locker_fn(void *arg)
{
	struct counter *c = arg;
	for (int i = 0; i < GB_MUTEX_K; i++) {
		mutex_lock(&c->m);
		c->n++;
		mutex_unlock(&c->m);
	}
	wg_done(&c->done);
}

static void bench_mutex(void)
{
	for (int r = 0; r < GB_ROUNDS; r++) {
		struct counter c = { MUTEX_INIT, 0, WAIT_GROUP_INIT };
		wg_add(&c.done, GB_MUTEX_G);
		uint64_t t0 = go_now();
		for (int i = 0; i < GB_MUTEX_G; i++)
			go(locker_fn, &c);
		wg_wait(&c.done);
		gb_samples[r] = (double)(go_now() - t0) / (GB_MUTEX_G * GB_MUTEX_K);
		mutex_lock(&c.m);
		EXPECT_EQ(c.n, (uint64_t)GB_MUTEX_G * GB_MUTEX_K);
		mutex_unlock(&c.m);
	}
	gb_report("mutex");
}

/* ---- the suite ---------------------------------------------------------------------------- */

static void memory_figures(void)
{
	parked_run("parked_bytes", 0);
	parked_run("parked16k_bytes", 16 << 10);	/* its own size class: nothing to reuse */
	parked_run("parked1m_bytes", 1 << 20);		/* and main's, whose one slot is live */
}

/* One test, so that the order is fixed: the memory figures first, before any dead
 * goroutine (whose stack pages stay mapped for reuse) exists to be reused. */
TEST_G_EXPLICIT(gobench, figures)
{
	memory_figures();
	bench_spawn();
	bench_pingpong();
	bench_chanbuf();
	bench_select4();
	bench_mutex();
}

/* The memory figures alone (tools/gobench.py boots the images with it, to set them
 * beside Go's in one run: they are counts of pages, not timed). */
TEST_G_EXPLICIT(gobench_mem, figures)
{
	memory_figures();
}
