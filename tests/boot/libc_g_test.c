/*
 * tests/boot/libc_g_test.c: the C library from many goroutines on many CPUs
 * (kernel/libc_state.c, kernel/newlib_lock.c, rt/libc_lock.c). TEST_G: inside the
 * first goroutine, the scheduler running on every CPU.
 *
 *   errno_per_goroutine    each goroutine keeps its own errno across yields, sleeps
 *                          and moves between CPUs, set by itself or by newlib
 *   fresh_state_on_reuse   a goroutine reusing a dead one's G starts with errno 0 and
 *                          rand's default seed (bare metal: newlib's reent is reset)
 *   printf_lines_whole     goroutines on every CPU print "<L g=G s=S PAYLOAD L>" lines
 *                          at once, each line one printf of several pieces; the boot
 *                          matrix checks that every such line is whole (a regex)
 *   malloc_exact           malloc/free from many goroutines that yield and sleep while
 *                          holding blocks: exact counts, patterns intact, and (newlib)
 *                          the heap's in-use bytes back to the byte afterwards
 *   lock_parks             (bare metal) a goroutine holding stdout's lock sleeps; a
 *                          printf from another goroutine parks ("libc lock") until the
 *                          holder, after a recursive printf from wherever it woke up,
 *                          releases it
 *
 * libc_irq_lock (explicit): malloc from an interrupt handler must panic.
 *
 * There is no preemption yet: goroutines interleave where they yield or sleep.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/console.h>
#include <kernel/test.h>
#include <rt/go.h>
#include <rt/sched.h>
#ifndef GORT_HOSTED
#include <reent.h>
#endif

static unsigned this_cpu(void)
{
	irq_push();
	unsigned id = cpu_id();
	irq_pop();
	return id;
}

/* ---- errno ----------------------------------------------------------------------------- */

#define ERRNO_G 8
#define ERRNO_ROUNDS 300

static _Atomic unsigned errno_bad, errno_moves;

static void errno_worker(void *arg)
{
	struct wait_group *wg = arg;
	int base = 1000 * (int)go_id();
	unsigned cpu = this_cpu();
	for (int i = 0; i < ERRNO_ROUNDS; i++) {
		int want;
		if ((i + (int)go_id()) % 2) {
			errno = 0;
			strtoul("99999999999999999999999", NULL, 10);	/* newlib/glibc: ERANGE */
			want = ERANGE;
		} else {
			errno = want = base + i;
		}
		if (i % 3 == 0)
			go_yield();
		else if (i % 3 == 1)
			go_sleep(20000);
		if (errno != want)
			atomic_fetch_add(&errno_bad, 1);
		unsigned now = this_cpu();
		if (now != cpu)
			atomic_fetch_add(&errno_moves, 1);
		cpu = now;
	}
	wg_done(wg);
}

TEST_G(libc_g, errno_per_goroutine)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	atomic_store(&errno_bad, 0);
	atomic_store(&errno_moves, 0);
	errno = 12345;
	wg_add(&wg, ERRNO_G);
	for (int i = 0; i < ERRNO_G; i++)
		go(errno_worker, &wg);
	wg_wait(&wg);
	EXPECT_EQ(atomic_load(&errno_bad), 0);
	EXPECT_EQ(errno, 12345);
	kprintf("libc_g: %d goroutines x %d errno checks, %u moves between CPUs\n", ERRNO_G,
		ERRNO_ROUNDS, atomic_load(&errno_moves));
#ifndef GORT_HOSTED
	kprintf("libc_g: sizeof(struct _reent) = %zu, sizeof(struct libc_state) = %zu\n",
		sizeof(struct _reent), sizeof(struct libc_state));
#endif
}

/* ---- fresh state for a reused G -------------------------------------------------------- */

#define FRESH_ROUNDS 8

struct fresh {
	struct wait_group *wg;
	int errno_at_start;
	int first_rand;
};

static void fresh_dirty(void *arg)
{
	struct fresh *f = arg;
	f->errno_at_start = errno;
	errno = 77;
#ifndef GORT_HOSTED
	srand(4242);
	f->first_rand = rand();
	rand();
#endif
	wg_done(f->wg);
}

static void fresh_clean(void *arg)
{
	struct fresh *f = arg;
	f->errno_at_start = errno;
#ifndef GORT_HOSTED
	f->first_rand = rand();
#endif
	wg_done(f->wg);
}

TEST_G(libc_g, fresh_state_on_reuse)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	struct fresh ref = { &wg, -1, 0 }, dirty[FRESH_ROUNDS], clean[FRESH_ROUNDS];
	wg_add(&wg, 1);
	go(fresh_clean, &ref);
	wg_wait(&wg);
	EXPECT_EQ(ref.errno_at_start, 0);
	for (int r = 0; r < FRESH_ROUNDS; r++) {
		dirty[r] = (struct fresh){ &wg, -1, 0 };
		clean[r] = (struct fresh){ &wg, -1, 0 };
		wg_add(&wg, 1);
		go(fresh_dirty, &dirty[r]);
		wg_wait(&wg);
		wg_add(&wg, 1);
		go(fresh_clean, &clean[r]);	/* most likely on the G fresh_dirty left */
		wg_wait(&wg);
		EXPECT_EQ(dirty[r].errno_at_start, 0);
		EXPECT_EQ(clean[r].errno_at_start, 0);
		EXPECT_EQ(clean[r].first_rand, ref.first_rand);
#ifndef GORT_HOSTED
		EXPECT_NE(dirty[r].first_rand, ref.first_rand);
#endif
	}
}

/* ---- whole lines ------------------------------------------------------------------------- */

#define PRINT_G 8
#define PRINT_LINES 12
#define PIECE 20		/* the payload is 4 pieces and one letter: 81 letters */

static _Atomic long print_bytes, print_expected;

static void printer(void *arg)
{
	struct wait_group *wg = arg;
	static _Atomic int next;
	int gi = atomic_fetch_add(&next, 1) % PRINT_G;
	char letter = (char)('a' + gi), piece[PIECE + 1], want[256];
	memset(piece, letter, PIECE);
	piece[PIECE] = 0;
	for (int s = 0; s < PRINT_LINES; s++) {
		/* several conversions: newlib's vfprintf hands the FILE several pieces */
		int n = printf("<L g=%d s=%d %s%s%c%s%s L>\n", gi, s, piece, piece, letter, piece, piece);
		int m = snprintf(want, sizeof(want), "<L g=%d s=%d %s%s%c%s%s L>\n", gi, s, piece,
				 piece, letter, piece, piece);
		atomic_fetch_add(&print_bytes, n);
		atomic_fetch_add(&print_expected, m);
		if (s % 2)
			go_yield();
	}
	wg_done(wg);
}

TEST_G(libc_g, printf_lines_whole)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	atomic_store(&print_bytes, 0);
	atomic_store(&print_expected, 0);
	wg_add(&wg, PRINT_G);
	for (int i = 0; i < PRINT_G; i++)
		go(printer, &wg);
	wg_wait(&wg);
	fflush(stdout);
	EXPECT_EQ(atomic_load(&print_bytes), atomic_load(&print_expected));
	/* 96 bytes a line, 97 from s=10 on */
	EXPECT_EQ(atomic_load(&print_expected), (long)PRINT_G * (PRINT_LINES * 96 + (PRINT_LINES - 10)));
}

/* ---- malloc ------------------------------------------------------------------------------ */

#define HEAP_G 12
#define HEAP_ROUNDS 1500
#define HEAP_HELD 8

static _Atomic unsigned heap_allocs, heap_frees, heap_bad;

static void heap_worker(void *arg)
{
	struct wait_group *wg = arg;
	unsigned seed = (unsigned)go_id() * 2654435761u;
	unsigned char *held[HEAP_HELD] = { 0 }, tag = (unsigned char)(go_id() * 7 + 1);
	size_t sizes[HEAP_HELD] = { 0 };
	for (int i = 0; i < HEAP_ROUNDS; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned k = (seed >> 8) % HEAP_HELD;
		if (held[k]) {
			for (size_t j = 0; j < sizes[k]; j++)
				if (held[k][j] != tag) {
					atomic_fetch_add(&heap_bad, 1);
					break;
				}
			free(held[k]);
			atomic_fetch_add(&heap_frees, 1);
			held[k] = NULL;
		}
		sizes[k] = 1 + (seed >> 16) % 3000;
		held[k] = malloc(sizes[k]);
		if (!held[k]) {
			atomic_fetch_add(&heap_bad, 1);
			continue;
		}
		atomic_fetch_add(&heap_allocs, 1);
		memset(held[k], tag, sizes[k]);
		if (i % 64 == 0)
			go_sleep(10000);
		else if (i % 8 == 0)
			go_yield();
	}
	for (unsigned k = 0; k < HEAP_HELD; k++)
		if (held[k]) {
			free(held[k]);
			atomic_fetch_add(&heap_frees, 1);
		}
	wg_done(wg);
}

#ifndef GORT_HOSTED
/* Bytes in use in newlib's heap. newlib 3.3.0's malloc fills a struct mallinfo of
 * ints (mallocr.c) while its malloc.h declares size_t fields: read the ints. */
static long heap_in_use(void)
{
	struct mallinfo mi = mallinfo();
	int w[10];
	_Static_assert(sizeof(mi) >= sizeof(w), "the library's struct fits");
	memcpy(w, &mi, sizeof(w));
	return w[7];		/* uordblks */
}
#endif

TEST_G(libc_g, malloc_exact)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	atomic_store(&heap_allocs, 0);
	atomic_store(&heap_frees, 0);
	atomic_store(&heap_bad, 0);
#ifndef GORT_HOSTED
	long before = heap_in_use();
#endif
	wg_add(&wg, HEAP_G);
	for (int i = 0; i < HEAP_G; i++)
		go(heap_worker, &wg);
	wg_wait(&wg);
	EXPECT_EQ(atomic_load(&heap_bad), 0);
	EXPECT_EQ(atomic_load(&heap_allocs), HEAP_G * HEAP_ROUNDS);
	EXPECT_EQ(atomic_load(&heap_frees), HEAP_G * HEAP_ROUNDS);
#ifndef GORT_HOSTED
	/* (not on glibc: its per-thread caches keep freed blocks counted as in use) */
	EXPECT_EQ(heap_in_use(), before);
#endif
}

/* ---- a waiter parks ---------------------------------------------------------------------- */
#ifndef GORT_HOSTED

static _Atomic int park_phase;
static struct g *_Atomic park_waiter;
static _Atomic bool park_waiter_done, park_seen, park_early;
static _Atomic unsigned park_holder_moves;

static void park_holder(void *arg)
{
	struct wait_group *wg = arg;
	flockfile(stdout);
	unsigned cpu = this_cpu();
	atomic_store(&park_phase, 1);
	/* sleep holding the lock until the waiter is seen parked on it (bounded) */
	for (int i = 0; i < 20000 && !atomic_load(&park_seen); i++) {
		go_sleep(100000);
		struct g *w = atomic_load(&park_waiter);
		if (w && atomic_load(&w->status) == G_WAITING && w->wait_reason &&
		    strcmp(w->wait_reason, "libc lock") == 0)
			atomic_store(&park_seen, true);
		if (this_cpu() != cpu)
			atomic_fetch_add(&park_holder_moves, 1);
		cpu = this_cpu();
	}
	if (atomic_load(&park_waiter_done))
		atomic_store(&park_early, true);
	printf("libc_g: the holder prints inside its own lock on cpu %u\n", this_cpu());
	funlockfile(stdout);
	wg_done(wg);
}

static void park_waiter_fn(void *arg)
{
	struct wait_group *wg = arg;
	while (atomic_load(&park_phase) == 0)
		go_yield();
	atomic_store(&park_waiter, sched_curg());
	printf("libc_g: the waiter prints after the holder let go\n");
	atomic_store(&park_waiter_done, true);
	wg_done(wg);
}

TEST_G(libc_g, lock_parks)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	printf("libc_g: stdout is set up\n");
	atomic_store(&park_phase, 0);
	atomic_store(&park_waiter, NULL);
	atomic_store(&park_waiter_done, false);
	atomic_store(&park_seen, false);
	atomic_store(&park_early, false);
	wg_add(&wg, 2);
	go(park_holder, &wg);
	go(park_waiter_fn, &wg);
	wg_wait(&wg);
	fflush(stdout);
	EXPECT_TRUE(atomic_load(&park_seen));
	EXPECT_TRUE(!atomic_load(&park_early));
	EXPECT_TRUE(atomic_load(&park_waiter_done));
	kprintf("libc_g: lock holder moved between CPUs %u times while holding\n",
		atomic_load(&park_holder_moves));
}

/* ---- interrupt handlers must not take newlib's locks ------------------------------------- */

/* A cross-call runs in the target's interrupt handler, or from its scheduler loop
 * when that polls for calls (not an interrupt: a newlib lock is fine there). */
static void irq_malloc(void *arg)
{
	if (cpu_this()->in_irq)
		*(void **)arg = malloc(16);	/* panics */
}

TEST_G_EXPLICIT(libc_irq_lock, malloc_in_handler)
{
	void *p = NULL;
	for (int i = 0; i < 10000 && !p; i++) {
		irq_push();	/* another CPU's handler (a call to oneself runs inline) */
		unsigned target = (cpu_id() + 1) % cpu_count();
		ipi_call(target, irq_malloc, &p, true);
		irq_pop();
		go_sleep(100000);	/* let the target go idle: the next call interrupts it */
	}
	EXPECT_TRUE(p == NULL);		/* not reached: the handler panics */
	test_fail(__FILE__, __LINE__, "no cross-call ran in an interrupt handler");
}

#endif
