/*
 * pipeline: a concurrent pipeline with a pool of workers, and select with timeouts.
 *
 *   pipeline [jobs [workers]]    default 200 jobs, two workers per CPU
 *
 * A producer sends job numbers down a buffered channel and closes it; the workers
 * take jobs until it is closed and drained, compute each (the length of a Collatz
 * sequence) and send the result on; the last worker to finish closes the results
 * channel (a wait group and one more goroutine, Go's idiom). One job in fifty, and
 * the last one, is slow: its worker sleeps first. main collects the results in a
 * select over three channels: the results, a 10 ms timer re-armed after each
 * timeout (progress reporting while the slow jobs hold things up), and an overall
 * 30 s deadline. It checks the sum against a serial computation: a lost or
 * duplicated result changes it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <rt/chan.h>
#include <rt/go.h>

struct result {
	uint32_t job, cpu;
	uint64_t steps;
};

static struct chan *jobs, *results;
static struct wait_group workers_done = WAIT_GROUP_INIT;
static long njobs;

static uint64_t collatz(uint64_t n)
{
	uint64_t steps = 0;
	for (n = n * 7919 + 1; n != 1; steps++)
		n = n & 1 ? 3 * n + 1 : n / 2;
	return steps;
}

static bool slow(uint32_t job)
{
	return job % 50 == 0 || job == njobs;
}

static void produce(void *arg)
{
	(void)arg;
	for (uint32_t j = 1; j <= njobs; j++)
		chan_send(jobs, &j);
	chan_close(jobs);
}

static void work(void *arg)
{
	(void)arg;
	uint32_t job;
	while (chan_recv(jobs, &job)) {
		if (slow(job))
			go_sleep(job == njobs ? 100000000 : 20000000);
		struct result r = { job, go_cpu(), collatz(job) };
		chan_send(results, &r);
	}
	wg_done(&workers_done);
}

static void close_when_done(void *arg)
{
	(void)arg;
	wg_wait(&workers_done);
	chan_close(results);
}

static long arg_or(int argc, char **argv, int i, long def, long max)
{
	if (argc <= i)
		return def;
	char *end;
	long v = strtol(argv[i], &end, 10);
	if (*argv[i] == '\0' || *end || v < 1 || v > max) {
		fprintf(stderr, "usage: %s [jobs [workers]]   (jobs 1..100000, workers 1..1000)\n", argv[0]);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	njobs = arg_or(argc, argv, 1, 200, 100000);
	long nworkers = arg_or(argc, argv, 2, 2 * (long)go_ncpu(), 1000);
	uint64_t expect = 0, sum = 0, cpus = 0;
	long got = 0, timeouts = 0;

	for (long j = 1; j <= njobs; j++)
		expect += collatz((uint64_t)j) * (uint64_t)j;
	jobs = chan_make(sizeof(uint32_t), 16);
	results = chan_make(sizeof(struct result), 0);
	wg_add(&workers_done, nworkers);
	for (long i = 0; i < nworkers; i++)
		go(work, NULL);
	go(close_when_done, NULL);
	go(produce, NULL);

	struct go_timer *tick = go_timer_after(10000000);
	struct chan *deadline = go_after(30000000000ull);
	for (;;) {
		struct result r;
		bool ok;
		struct select_case cs[3] = {
			{ results, SELECT_RECV, &r, &ok },
			{ go_timer_chan(tick), SELECT_RECV, NULL, NULL },
			{ deadline, SELECT_RECV, NULL, NULL },
		};
		int k = chan_select(cs, 3, false);
		if (k == 0 && !ok)
			break;		/* closed: every worker is done */
		if (k == 0) {
			got++;
			sum += r.steps * r.job;
			cpus |= 1ull << (r.cpu & 63);
		} else if (k == 1) {
			timeouts++;
			printf("pipeline: waiting, %ld of %ld results so far\n", got, njobs);
			go_timer_reset(tick, 10000000);
		} else {
			printf("pipeline: FAILED: the 30 s deadline passed with %ld of %ld results\n",
			       got, njobs);
			return 1;
		}
	}
	go_timer_free(tick);
	printf("pipeline: %ld jobs by %ld workers on %d of %u CPUs, %ld timeouts waiting\n", got,
	       nworkers, __builtin_popcountll(cpus), go_ncpu(), timeouts);
	if (got != njobs || sum != expect) {
		printf("pipeline: FAILED: %ld results, sum %llu, expected %ld and %llu\n", got,
		       (unsigned long long)sum, njobs, (unsigned long long)expect);
		return 1;
	}
	printf("pipeline: sum %llu agrees with the serial computation\n", (unsigned long long)sum);
	return 0;
}
