/*
 * tests/boot/timer_test.c: sleep ordering, channel timers and tickers, stop and reset
 * from other goroutines (and so other CPUs), select with a timeout (rt/timer.c). TEST_G:
 * inside goroutines, the scheduler on every CPU. No assertion has a wall-clock upper
 * bound (the machine is loaded): times are checked against lower bounds only, and the
 * one ordering test that needs fires to be apart retries with a doubled gap.
 * timer_deadlock ends the boot on purpose with the deadlock report.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <kernel/test.h>
#include <rt/chan.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/timer.h>

#define MS 1000000ull

/* timers_pending drops just after a fired sleeper is readied, so a goroutine that
 * runs at once elsewhere may still see it counted: wait (yielding, bounded) until it
 * is back to at most n. A timer left counted for good fails. */
static bool pending_at_most(uint64_t n)
{
	for (int i = 0; i < 1000000; i++) {
		if (atomic_load(&timers_pending) <= n)
			return true;
		go_yield();
	}
	return false;
}

/* ---- sleep ordering ----------------------------------------------------------------- */

#define ORDER_SLEEPERS 8

struct order_run {
	uint64_t base, gap;
	_Atomic unsigned seq;
	_Atomic unsigned early;
	int order[ORDER_SLEEPERS];	/* order[k]: the k-th sleeper to wake */
	struct wait_group wg;
};

struct order_arg {
	struct order_run *run;
	int index;
};

static void order_sleeper(void *arg)
{
	struct order_arg *a = arg;
	struct order_run *run = a->run;
	uint64_t target = run->base + (uint64_t)(a->index + 1) * run->gap;
	uint64_t now = go_now();
	go_sleep(target > now ? target - now : 1);
	if (go_now() < target)
		atomic_fetch_add(&run->early, 1);
	run->order[atomic_fetch_add(&run->seq, 1)] = a->index;
	wg_done(&run->wg);
}

/* Sleepers with deadlines gap apart, spawned latest-deadline first, wake in deadline
 * order. A CPU stalled by the host for longer than the gap can reorder two wakes, so
 * a run out of order is retried with twice the gap; a heap that fires out of order
 * fails every attempt. Nobody wakes early in any attempt. */
TEST_G(go_timer, sleep_ordering)
{
	static struct order_run run;
	static struct order_arg args[ORDER_SLEEPERS];
	bool sorted = false;
	unsigned early = 0;
	for (uint64_t gap = 2 * MS; gap <= 64 * MS && !sorted; gap *= 2) {
		run.gap = gap;
		run.base = go_now() + 2 * MS;
		atomic_store(&run.seq, 0);
		atomic_store(&run.early, 0);
		run.wg = (struct wait_group)WAIT_GROUP_INIT;
		wg_add(&run.wg, ORDER_SLEEPERS);
		for (int i = ORDER_SLEEPERS - 1; i >= 0; i--) {
			args[i] = (struct order_arg){ &run, i };
			go(order_sleeper, &args[i]);
		}
		wg_wait(&run.wg);
		early += atomic_load(&run.early);
		sorted = true;
		for (int k = 0; k < ORDER_SLEEPERS; k++)
			if (run.order[k] != k)
				sorted = false;
	}
	EXPECT_TRUE(sorted);
	EXPECT_EQ(early, 0);
}

/* ---- one-shot timers -------------------------------------------------------------------- */

TEST_G(go_timer, after_fires_once_never_early)
{
	uint64_t pending0 = atomic_load(&timers_pending);
	uint64_t t0 = go_now();
	struct go_timer *t = go_timer_after(2 * MS);
	uint64_t v = 0;
	EXPECT_TRUE(chan_recv(go_timer_chan(t), &v));
	EXPECT_TRUE(v >= t0 + 2 * MS);
	EXPECT_TRUE(go_now() >= v);
	/* once: nothing more comes, and it no longer counts as pending */
	go_sleep(5 * MS);
	EXPECT_TRUE(!chan_try_recv(go_timer_chan(t), NULL, NULL));
	EXPECT_TRUE(pending_at_most(pending0));
	EXPECT_TRUE(!go_timer_stop(t));
	go_timer_free(t);
}

TEST_G(go_timer, go_after_zero_fires)
{
	uint64_t t0 = go_now(), v = 0;
	EXPECT_TRUE(chan_recv(go_after(0), &v));
	EXPECT_TRUE(v >= t0);
	EXPECT_TRUE(chan_recv(go_after(1 * MS), &v));
	EXPECT_TRUE(v >= t0 + 1 * MS);
}

TEST_G(go_timer, stop_before_fire_prevents_it)
{
	uint64_t pending0 = atomic_load(&timers_pending);
	/* 200 ms: far enough that a preemption or a loaded host between the two calls
	 * does not let it fire first */
	struct go_timer *t = go_timer_after(200 * MS);
	EXPECT_TRUE(atomic_load(&timers_pending) >= 1);
	EXPECT_TRUE(go_timer_stop(t));
	EXPECT_TRUE(pending_at_most(pending0));
	EXPECT_TRUE(!go_timer_stop(t));		/* stopped already */
	go_sleep(300 * MS);			/* well past its deadline */
	EXPECT_TRUE(!chan_try_recv(go_timer_chan(t), NULL, NULL));
	go_timer_free(t);
}

TEST_G(go_timer, stop_after_fire_returns_false)
{
	/* received, then stopped */
	struct go_timer *t = go_timer_after(1 * MS);
	EXPECT_TRUE(chan_recv(go_timer_chan(t), NULL));
	EXPECT_TRUE(!go_timer_stop(t));
	go_timer_free(t);
	/* fired but not received: stop says so, and the value waits in the channel */
	uint64_t t0 = go_now(), v = 0;
	t = go_timer_after(1 * MS);
	go_sleep(5 * MS);
	EXPECT_TRUE(!go_timer_stop(t));
	EXPECT_TRUE(chan_try_recv(go_timer_chan(t), &v, NULL));
	EXPECT_TRUE(v >= t0 + 1 * MS);
	go_timer_free(t);
}

TEST_G(go_timer, reset_reschedules)
{
	/* a far timer brought near */
	struct go_timer *t = go_timer_after(3600000 * MS);
	uint64_t t0 = go_now(), v = 0;
	EXPECT_TRUE(go_timer_reset(t, 2 * MS));
	EXPECT_TRUE(chan_recv(go_timer_chan(t), &v));
	EXPECT_TRUE(v >= t0 + 2 * MS);
	/* a fired timer armed again */
	t0 = go_now();
	EXPECT_TRUE(!go_timer_reset(t, 1 * MS));
	EXPECT_TRUE(chan_recv(go_timer_chan(t), &v));
	EXPECT_TRUE(v >= t0 + 1 * MS);
	/* a near timer pushed back: the first deadline no longer fires. On a loaded
	 * machine (or a preemption between the two calls) the near one may fire first:
	 * then the reset says so and its value is in the channel, ahead of the new one. */
	t0 = go_now();
	EXPECT_TRUE(!go_timer_reset(t, 50 * MS));
	if (!go_timer_reset(t, 100 * MS)) {
		EXPECT_TRUE(chan_recv(go_timer_chan(t), &v));
		EXPECT_TRUE(v >= t0 + 50 * MS);
	}
	EXPECT_TRUE(chan_recv(go_timer_chan(t), &v));
	EXPECT_TRUE(v >= t0 + 100 * MS);
	go_timer_free(t);
}

/* ---- tickers -------------------------------------------------------------------------- */

#define TICKS 10

TEST_G(go_timer, ticker_increasing_at_least_a_period_apart)
{
	const uint64_t period = 2 * MS;
	uint64_t t0 = go_now();
	struct go_timer *tk = go_ticker(period);
	uint64_t v[TICKS];
	for (int i = 0; i < TICKS; i++)
		EXPECT_TRUE(chan_recv(go_timer_chan(tk), &v[i]));
	EXPECT_TRUE(v[0] >= t0 + period);
	int close = 0;
	for (int i = 1; i < TICKS; i++)
		if (v[i] < v[i - 1] + period)
			close++;
	EXPECT_EQ(close, 0);
	EXPECT_TRUE(go_timer_stop(tk));		/* a ticker stays pending until stopped */
	EXPECT_TRUE(!go_timer_stop(tk));
	go_timer_free(tk);
}

/* A reader that sleeps five periods per receive: the ticker drops what the channel
 * (capacity 1) cannot hold instead of queueing, and ticks on. */
TEST_G(go_timer, ticker_drops_for_slow_reader)
{
	const uint64_t period = 1 * MS;
	uint64_t t0 = go_now();
	struct go_timer *tk = go_ticker(period);
	unsigned got = 0, close = 0;
	uint64_t last = 0, v;
	for (int i = 0; i < 8; i++) {
		EXPECT_TRUE(chan_recv(go_timer_chan(tk), &v));
		got++;
		if (last && v < last + period)
			close++;
		last = v;
		EXPECT_TRUE(chan_len(go_timer_chan(tk)) <= 1);
		go_sleep(5 * period);
	}
	/* at most one tick waits; take it and every tick since */
	while (chan_try_recv(go_timer_chan(tk), &v, NULL)) {
		got++;
		if (v < last + period)
			close++;
		last = v;
	}
	uint64_t elapsed = go_now() - t0;
	EXPECT_TRUE(got <= elapsed / period + 1);
	EXPECT_TRUE(got < elapsed / period);	/* some were dropped: 8 reads over >= 40 periods */
	EXPECT_EQ(close, 0);
	/* still ticking */
	EXPECT_TRUE(chan_recv(go_timer_chan(tk), &v));
	EXPECT_TRUE(v >= last + period);
	go_timer_free(tk);
}

TEST_G(go_timer, ticker_reset_changes_period)
{
	struct go_timer *tk = go_ticker(3600000 * MS);
	uint64_t t0 = go_now(), v0 = 0, v1 = 0;
	EXPECT_TRUE(go_timer_reset(tk, 1 * MS));
	EXPECT_TRUE(chan_recv(go_timer_chan(tk), &v0));
	EXPECT_TRUE(chan_recv(go_timer_chan(tk), &v1));
	EXPECT_TRUE(v0 >= t0 + 1 * MS);
	EXPECT_TRUE(v1 >= v0 + 1 * MS);
	go_timer_free(tk);
}

/* ---- select with a timeout ------------------------------------------------------------- */

TEST_G(go_timer, select_timeout_wins_when_nothing_ready)
{
	struct chan *never = chan_make(sizeof(uint64_t), 0);
	uint64_t t0 = go_now(), item = 0, when = 0;
	struct go_timer *t = go_timer_after(2 * MS);
	struct select_case cs[2] = {
		{ never, SELECT_RECV, &item, NULL },
		{ go_timer_chan(t), SELECT_RECV, &when, NULL },
	};
	EXPECT_EQ(chan_select(cs, 2, false), 1);
	EXPECT_TRUE(when >= t0 + 2 * MS);
	go_timer_free(t);
	/* the same with go_after */
	t0 = go_now();
	cs[1].c = go_after(1 * MS);
	EXPECT_EQ(chan_select(cs, 2, false), 1);
	EXPECT_TRUE(when >= t0 + 1 * MS);
	chan_free(never);
}

static void send_later(void *arg)
{
	uint64_t v = 42;
	go_sleep(1 * MS);
	chan_send(arg, &v);
}

TEST_G(go_timer, select_ready_case_wins_over_timeout)
{
	/* ready before the select */
	struct chan *c = chan_make(sizeof(uint64_t), 1);
	uint64_t v = 7, item = 0;
	chan_send(c, &v);
	struct go_timer *t = go_timer_after(3600000 * MS);
	struct select_case cs[2] = {
		{ c, SELECT_RECV, &item, NULL },
		{ go_timer_chan(t), SELECT_RECV, NULL, NULL },
	};
	EXPECT_EQ(chan_select(cs, 2, false), 0);
	EXPECT_EQ(item, 7);
	/* ready while the select waits */
	struct chan *u = chan_make(sizeof(uint64_t), 0);
	cs[0].c = u;
	go(send_later, u);
	EXPECT_EQ(chan_select(cs, 2, false), 0);
	EXPECT_EQ(item, 42);
	EXPECT_TRUE(go_timer_stop(t));		/* the timeout never fired */
	go_timer_free(t);
	chan_free(c);
	chan_free(u);
}

/* ---- many timers, armed by one goroutine and stopped or reset by another -------------- */

#define PAIRS 16
#define ROUNDS 24

struct pair {
	struct go_timer *t;
	struct chan *to_stopper, *to_armer;	/* unbuffered tokens */
	uint64_t deadline_min;			/* armer: before it hands the timer over */
	uint64_t seed;
	unsigned fired, stopped, bad;
	struct wait_group *wg;
};

static uint64_t pair_rand(struct pair *p)
{
	uint64_t x = p->seed;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return p->seed = x;
}

static void pair_armer(void *arg)
{
	struct pair *p = arg;
	char tok = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t d = pair_rand(p) % (1 * MS);
		p->deadline_min = go_now() + d;
		if (r == 0)
			p->t = go_timer_after(d);
		else if (go_timer_reset(p->t, d))	/* the stopper left it stopped or fired */
			p->bad++;
		chan_send(p->to_stopper, &tok);
		chan_recv(p->to_armer, &tok);
	}
	wg_done(p->wg);
}

/* Exactly one of: the fire (its value is in the channel when stop or reset says it was
 * not pending) or the stop (the channel is empty, and stays empty). */
static void pair_stopper(void *arg)
{
	struct pair *p = arg;
	char tok;
	uint64_t v;
	for (int r = 0; r < ROUNDS; r++) {
		chan_recv(p->to_stopper, &tok);
		uint64_t wait = pair_rand(p) % (1 * MS);
		if (wait & 1)
			go_sleep(wait);
		else
			go_yield();
		bool was_pending = (r % 3 == 2) ? go_timer_reset(p->t, 3600000 * MS) : go_timer_stop(p->t);
		if (was_pending) {
			p->stopped++;
			if (chan_try_recv(go_timer_chan(p->t), NULL, NULL))
				p->bad++;
		} else {
			p->fired++;
			if (!chan_try_recv(go_timer_chan(p->t), &v, NULL) || v < p->deadline_min)
				p->bad++;
		}
		if (r % 3 == 2 && !go_timer_stop(p->t))	/* the far re-arm is still pending */
			p->bad++;
		chan_send(p->to_armer, &tok);
	}
}

TEST_G(go_timer, stop_reset_across_cpus_exact)
{
	static struct pair pairs[PAIRS];
	struct wait_group wg = WAIT_GROUP_INIT;
	uint64_t pending0 = atomic_load(&timers_pending);
	wg_add(&wg, PAIRS);
	for (int i = 0; i < PAIRS; i++) {
		pairs[i] = (struct pair){
			.to_stopper = chan_make(1, 0),
			.to_armer = chan_make(1, 0),
			.seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1),
			.wg = &wg,
		};
		go(pair_armer, &pairs[i]);
		go(pair_stopper, &pairs[i]);
	}
	wg_wait(&wg);
	unsigned fired = 0, stopped = 0, bad = 0;
	for (int i = 0; i < PAIRS; i++) {
		fired += pairs[i].fired;
		stopped += pairs[i].stopped;
		bad += pairs[i].bad;
	}
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(fired + stopped, PAIRS * ROUNDS);
	EXPECT_TRUE(pending_at_most(pending0));
	/* a stopped timer never fires later */
	go_sleep(5 * MS);
	unsigned late = 0;
	for (int i = 0; i < PAIRS; i++) {
		if (chan_try_recv(go_timer_chan(pairs[i].t), NULL, NULL))
			late++;
		go_timer_free(pairs[i].t);
		chan_free(pairs[i].to_stopper);
		chan_free(pairs[i].to_armer);
	}
	EXPECT_EQ(late, 0);
}

/* ---- function timers ------------------------------------------------------------------ */

struct func_state {
	_Atomic unsigned runs;
	uint64_t at, goid;
	struct wait_group wg;
};

static void func_fire(void *arg)
{
	struct func_state *st = arg;
	st->at = go_now();
	st->goid = go_id();
	atomic_fetch_add(&st->runs, 1);
	wg_done(&st->wg);
}

/* Live goroutines back to at most n (a cancelled runner exits): bounded yields. */
static bool live_at_most(uint64_t n)
{
	for (int i = 0; i < 1000000; i++) {
		if (sched_live() <= n)
			return true;
		go_yield();
	}
	return false;
}

TEST_G(go_timer, after_func_runs_once_in_a_goroutine)
{
	static struct func_state st;
	st = (struct func_state){ .wg = WAIT_GROUP_INIT };
	wg_add(&st.wg, 1);
	uint64_t t0 = go_now();
	struct go_timer *t = go_after_func(2 * MS, func_fire, &st);
	EXPECT_TRUE(go_timer_chan(t) == NULL);
	wg_wait(&st.wg);
	EXPECT_TRUE(st.at >= t0 + 2 * MS);
	EXPECT_NE(st.goid, go_id());
	go_sleep(5 * MS);
	EXPECT_EQ(atomic_load(&st.runs), 1);
	EXPECT_TRUE(!go_timer_stop(t));
	/* reset after the fire: one more run */
	wg_add(&st.wg, 1);
	t0 = go_now();
	EXPECT_TRUE(!go_timer_reset(t, 1 * MS));
	wg_wait(&st.wg);
	EXPECT_EQ(atomic_load(&st.runs), 2);
	EXPECT_TRUE(st.at >= t0 + 1 * MS);
	go_timer_free(t);
}

TEST_G(go_timer, after_func_stop_cancels_and_runner_exits)
{
	static struct func_state st;
	st = (struct func_state){ .wg = WAIT_GROUP_INIT };
	uint64_t live0 = sched_live();
	uint64_t pending0 = atomic_load(&timers_pending);
	struct go_timer *t = go_after_func(200 * MS, func_fire, &st);	/* see stop_before_fire */
	EXPECT_TRUE(go_timer_stop(t));
	EXPECT_TRUE(live_at_most(live0));	/* the cancelled runner is gone */
	EXPECT_TRUE(pending_at_most(pending0));
	go_sleep(300 * MS);
	EXPECT_EQ(atomic_load(&st.runs), 0);
	/* reset while pending: the first arm is cancelled, the second runs once */
	wg_add(&st.wg, 1);
	uint64_t t0 = go_now();
	EXPECT_TRUE(!go_timer_reset(t, 3600000 * MS));
	EXPECT_TRUE(go_timer_reset(t, 2 * MS));
	wg_wait(&st.wg);
	EXPECT_TRUE(st.at >= t0 + 2 * MS);
	go_sleep(5 * MS);
	EXPECT_EQ(atomic_load(&st.runs), 1);
	go_timer_free(t);
	EXPECT_TRUE(live_at_most(live0));
}

#define FUNCS 64
#define FUNC_STOPPERS 4

static _Atomic unsigned func_ran[FUNCS];
static bool func_stopped[FUNCS];
static struct go_timer *func_timers[FUNCS];

static void func_count(void *arg)
{
	atomic_fetch_add(&func_ran[(uintptr_t)arg], 1);
}

static void func_stopper(void *arg)
{
	uintptr_t k = (uintptr_t)((void **)arg)[0];
	struct wait_group *wg = ((void **)arg)[1];
	for (unsigned i = (unsigned)k; i < FUNCS; i += FUNC_STOPPERS) {
		if (i % 3)
			go_sleep((i * 37 % 20) * MS / 10);
		func_stopped[i] = go_timer_stop(func_timers[i]);
	}
	wg_done(wg);
}

/* Function timers on whichever CPU created them, stopped from other goroutines: each
 * ran exactly once or was stopped, never both. */
TEST_G(go_timer, after_func_stopped_concurrently_exact)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	static void *args[FUNC_STOPPERS][2];
	for (uintptr_t i = 0; i < FUNCS; i++) {
		atomic_store(&func_ran[i], 0);
		func_timers[i] = go_after_func((i * 7919 % 20) * MS / 10, func_count, (void *)i);
	}
	wg_add(&wg, FUNC_STOPPERS);
	for (uintptr_t k = 0; k < FUNC_STOPPERS; k++) {
		args[k][0] = (void *)k;
		args[k][1] = &wg;
		go(func_stopper, args[k]);
	}
	wg_wait(&wg);
	unsigned expect = 0;
	for (int i = 0; i < FUNCS; i++)
		expect += !func_stopped[i];
	/* every deadline has passed: wait (bounded) for the runners of the fired ones */
	go_sleep(5 * MS);
	for (int n = 0; n < 1000; n++) {
		unsigned ran = 0;
		for (int i = 0; i < FUNCS; i++)
			ran += atomic_load(&func_ran[i]);
		if (ran >= expect)
			break;
		go_sleep(1 * MS);
	}
	unsigned wrong = 0;
	for (int i = 0; i < FUNCS; i++) {
		if (atomic_load(&func_ran[i]) != (func_stopped[i] ? 0u : 1u))
			wrong++;
		go_timer_free(func_timers[i]);
	}
	EXPECT_EQ(wrong, 0);
}

/* ---- the deadlock report still comes with stopped timers around (tests=timer_deadlock) */

TEST_G_EXPLICIT(timer_deadlock, stopped_timers_do_not_count)
{
	/* blocked on a pending timer's channel: not a deadlock, the timer fires */
	struct go_timer *t = go_timer_after(5 * MS);
	EXPECT_TRUE(chan_recv(go_timer_chan(t), NULL));
	/* stopped timers and tickers are no future wake-up */
	struct go_timer *far = go_timer_after(3600000 * MS);
	struct go_timer *tk = go_ticker(3600000 * MS);
	struct go_timer *fn = go_after_func(3600000 * MS, func_count, NULL);
	EXPECT_TRUE(go_timer_stop(far));
	EXPECT_TRUE(go_timer_stop(tk));
	EXPECT_TRUE(go_timer_stop(fn));		/* and its runner exits */
	struct chan *never = chan_make(sizeof(uint64_t), 0);
	chan_recv(never, NULL);
	test_fail(__FILE__, __LINE__, "a receive nobody sends to returned");
}
