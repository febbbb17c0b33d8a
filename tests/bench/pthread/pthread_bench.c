/*
 * tests/bench/pthread/pthread_bench.c: the pthread side of the goroutine benchmarks.
 *
 * The closest plain-threads analogue of each program of tests/boot/gobench_test.c,
 * with the same sizes (spawn and ping-pong: a tenth of the count), printed as "BENCH pthread_<figure>_p<CPUs> <ns> ns" where CPUs
 * is the number of CPUs the process may run on (tools/gobench.py runs it under
 * `taskset -c 0` for p1). Each figure is the median of ROUNDS rounds, in nanoseconds
 * per operation:
 *   spawn     pthread_create N threads (default attributes) that each decrement a
 *             counter under a mutex, then pthread_join them all
 *   pingpong  a round trip between two threads through two one-slot mailboxes, each a
 *             mutex + condition variable (the blocking hand-off an unbuffered channel is)
 *   chanbuf   a producer and a consumer through a ring of CAP slots guarded by a mutex
 *             with two condition variables (not-full, not-empty)
 *   mutex     MUTEX_T threads each doing MUTEX_K pthread_mutex lock/increment/unlock
 *             (the final count is checked)
 * There is no select analogue, and no parked-thread memory figure (100k threads with
 * 8 MiB default stacks exceed the default vm.max_map_count).
 *
 *   pthread_bench [figure ...]      (no figure: all)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS   5
/* A tenth of the goroutine programs' counts: a thread start and a futex wake-up cost
 * tens of microseconds here, and the figures are per operation anyway. */
#define N_SPAWN  1000
#define N_PINGS  2000
#define N_MSGS   200000
#define CAP      128
#define MUTEX_T  4
#define MUTEX_K  50000

static int ncpus;
static double samples[ROUNDS];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name)
{
	qsort(samples, ROUNDS, sizeof(samples[0]), cmp_double);
	printf("BENCH pthread_%s_p%d %.1f ns\n", name, ncpus, samples[ROUNDS / 2]);
	fflush(stdout);
}

static void die(const char *what)
{
	fprintf(stderr, "pthread_bench: %s\n", what);
	exit(1);
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg) != 0)
		die("pthread_create failed");
}

/* ---- spawn ---------------------------------------------------------------------------- */

static pthread_mutex_t spawn_m = PTHREAD_MUTEX_INITIALIZER;
static int spawn_left;
static pthread_t spawn_t[N_SPAWN];

static void *spawn_fn(void *arg)
{
	pthread_mutex_lock(&spawn_m);
	spawn_left--;
	pthread_mutex_unlock(&spawn_m);
	return arg;
}

static void bench_spawn(void)
{
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = now_ns();
		spawn_left = N_SPAWN;
		for (int i = 0; i < N_SPAWN; i++)
			start(&spawn_t[i], spawn_fn, NULL);
		for (int i = 0; i < N_SPAWN; i++)
			pthread_join(spawn_t[i], NULL);
		samples[r] = (double)(now_ns() - t0) / N_SPAWN;
		if (spawn_left != 0)
			die("spawn: count");
	}
	report("spawn");
}

/* ---- ping-pong: two mailboxes --------------------------------------------------------- */

struct mailbox {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int full;		/* m */
	uint64_t v;		/* m */
};

static void mb_init(struct mailbox *b)
{
	pthread_mutex_init(&b->m, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->full = 0;
}

/* Hand v over and wait until it is taken (an unbuffered send). */
static void mb_send(struct mailbox *b, uint64_t v)
{
	pthread_mutex_lock(&b->m);
	while (b->full)
		pthread_cond_wait(&b->cv, &b->m);
	b->v = v;
	b->full = 1;
	pthread_cond_broadcast(&b->cv);
	while (b->full)
		pthread_cond_wait(&b->cv, &b->m);
	pthread_mutex_unlock(&b->m);
}

static uint64_t mb_recv(struct mailbox *b)
{
	pthread_mutex_lock(&b->m);
	while (!b->full)
		pthread_cond_wait(&b->cv, &b->m);
	uint64_t v = b->v;
	b->full = 0;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->m);
	return v;
}

static struct mailbox ping, pong;

static void *pong_fn(void *arg)
{
	for (int i = 0; i < N_PINGS; i++)
		mb_send(&pong, mb_recv(&ping) + 1);
	return arg;
}

static void bench_pingpong(void)
{
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t t;
		mb_init(&ping);
		mb_init(&pong);
		start(&t, pong_fn, NULL);
		uint64_t t0 = now_ns();
		for (uint64_t i = 0; i < N_PINGS; i++) {
			mb_send(&ping, i);
			if (mb_recv(&pong) != i + 1)
				die("pingpong: wrong value");
		}
		samples[r] = (double)(now_ns() - t0) / N_PINGS;
		pthread_join(t, NULL);
	}
	report("pingpong");
}

/* ---- buffered: a ring ------------------------------------------------------------------- */

static struct ring {
	pthread_mutex_t m;
	pthread_cond_t not_full, not_empty;
	uint64_t slot[CAP];	/* m */
	unsigned head, len;	/* m */
} ring = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, 0, 0 };

static void *producer_fn(void *arg)
{
	for (uint64_t i = 0; i < N_MSGS; i++) {
		pthread_mutex_lock(&ring.m);
		while (ring.len == CAP)
			pthread_cond_wait(&ring.not_full, &ring.m);
		ring.slot[(ring.head + ring.len) % CAP] = i;
		ring.len++;
		pthread_cond_signal(&ring.not_empty);
		pthread_mutex_unlock(&ring.m);
	}
	return arg;
}

static void bench_chanbuf(void)
{
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t t;
		uint64_t sum = 0;
		uint64_t t0 = now_ns();
		start(&t, producer_fn, NULL);
		for (int i = 0; i < N_MSGS; i++) {
			pthread_mutex_lock(&ring.m);
			while (ring.len == 0)
				pthread_cond_wait(&ring.not_empty, &ring.m);
			sum += ring.slot[ring.head];
			ring.head = (ring.head + 1) % CAP;
			ring.len--;
			pthread_cond_signal(&ring.not_full);
			pthread_mutex_unlock(&ring.m);
		}
		samples[r] = (double)(now_ns() - t0) / N_MSGS;
		pthread_join(t, NULL);
		if (sum != (uint64_t)N_MSGS * (N_MSGS - 1) / 2)
			die("chanbuf: sum");
	}
	report("chanbuf");
}

/* ---- mutex contention --------------------------------------------------------------------- */

static pthread_mutex_t count_m = PTHREAD_MUTEX_INITIALIZER;
static uint64_t count;		/* count_m */

static void *locker_fn(void *arg)
{
	for (int i = 0; i < MUTEX_K; i++) {
		pthread_mutex_lock(&count_m);
		count++;
		pthread_mutex_unlock(&count_m);
	}
	return arg;
}

static void bench_mutex(void)
{
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t t[MUTEX_T];
		count = 0;
		uint64_t t0 = now_ns();
		for (int i = 0; i < MUTEX_T; i++)
			start(&t[i], locker_fn, NULL);
		for (int i = 0; i < MUTEX_T; i++)
			pthread_join(t[i], NULL);
		samples[r] = (double)(now_ns() - t0) / (MUTEX_T * MUTEX_K);
		if (count != (uint64_t)MUTEX_T * MUTEX_K)
			die("mutex: count");
	}
	report("mutex");
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } figures[] = {
		{ "spawn", bench_spawn }, { "pingpong", bench_pingpong },
		{ "chanbuf", bench_chanbuf }, { "mutex", bench_mutex },
	};
	const int nfig = sizeof(figures) / sizeof(figures[0]);
	cpu_set_t set;
	ncpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	for (int f = 0; f < nfig; f++) {
		int want = argc == 1;
		for (int a = 1; a < argc; a++)
			want |= strcmp(argv[a], figures[f].name) == 0;
		if (want)
			figures[f].fn();
	}
	return 0;
}
