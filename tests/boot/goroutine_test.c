/*
 * tests/boot/goroutine_test.c: the scheduler core (TEST_G: run inside the first
 * goroutine once the scheduler runs on every CPU).
 */
#include <stdatomic.h>
#include <kernel/clock.h>
#include <kernel/cpu.h>
#include <kernel/test.h>
#include <rt/go.h>
#include <rt/sched.h>

static _Atomic uint64_t counter;

static void inc_and_done(void *arg)
{
	atomic_fetch_add(&counter, 1);
	wg_done(arg);
}

/* 10,000 goroutines in batches of 1,000 alive at once (ThreadSanitizer's fiber limit
 * is 8,128 on the hosted build), joined with a wait group, counted exactly. */
TEST_G(goroutine, spawn_and_join_10k)
{
	atomic_store(&counter, 0);
	for (int batch = 0; batch < 10; batch++) {
		struct wait_group wg = WAIT_GROUP_INIT;
		wg_add(&wg, 1000);
		for (int i = 0; i < 1000; i++)
			go(inc_and_done, &wg);
		wg_wait(&wg);
		EXPECT_EQ(atomic_load(&counter), (uint64_t)(batch + 1) * 1000);
	}
}

TEST_G(goroutine, ids_are_unique_and_main_is_a_goroutine)
{
	EXPECT_TRUE(go_id() >= 1);
	EXPECT_TRUE(sched_curg() != NULL);
	EXPECT_EQ(atomic_load(&sched_curg()->status), G_RUNNING);
}

#define YIELDERS 16
#define YIELDS 200
static _Atomic uint32_t yields[YIELDERS];

static void yielder(void *arg)
{
	struct wait_group *wg = arg;
	static _Atomic unsigned next;
	unsigned me = atomic_fetch_add(&next, 1) % YIELDERS;
	for (int i = 0; i < YIELDS; i++) {
		atomic_fetch_add(&yields[me], 1);
		go_yield();
	}
	wg_done(wg);
}

TEST_G(goroutine, yield_round_robin_exact)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	for (int i = 0; i < YIELDERS; i++)
		atomic_store(&yields[i], 0);
	wg_add(&wg, YIELDERS);
	for (int i = 0; i < YIELDERS; i++)
		go(yielder, &wg);
	wg_wait(&wg);
	for (int i = 0; i < YIELDERS; i++)
		EXPECT_EQ(atomic_load(&yields[i]), YIELDS);
}

/* Ping-pong through park/ready: each side wakes the other and parks, N times. */
#define PINGS 2000
struct pingpong {
	struct spinlock lock;
	struct g *waiter[2];		/* lock: the side parked, if any */
	int turn;			/* lock: whose turn */
	uint32_t count[2];
	struct wait_group done;
};

static bool pp_unlock(struct g *g, void *arg)
{
	(void)g;
	spin_unlock(&((struct pingpong *)arg)->lock);
	return true;
}

static void pp_side(struct pingpong *pp, int me)
{
	for (int i = 0; i < PINGS; i++) {
		spin_lock_irqsave(&pp->lock);
		while (pp->turn != me) {
			pp->waiter[me] = sched_curg();
			sched_park("pingpong", pp_unlock, pp);
			irq_pop();
			spin_lock_irqsave(&pp->lock);
		}
		pp->count[me]++;
		pp->turn = 1 - me;
		struct g *other = pp->waiter[1 - me];
		pp->waiter[1 - me] = NULL;
		spin_unlock_irqrestore(&pp->lock);
		if (other)
			sched_ready(other);
	}
	wg_done(&pp->done);
}

static void pp_a(void *arg) { pp_side(arg, 0); }
static void pp_b(void *arg) { pp_side(arg, 1); }

TEST_G(goroutine, park_ready_ping_pong)
{
	static struct pingpong pp = { SPINLOCK_INIT("pingpong", LOCK_RANK_SYNC), { 0, 0 }, 0, { 0, 0 },
				      WAIT_GROUP_INIT };
	pp.turn = 0;
	pp.count[0] = pp.count[1] = 0;
	wg_add(&pp.done, 2);
	go(pp_a, &pp);
	go(pp_b, &pp);
	wg_wait(&pp.done);
	EXPECT_EQ(pp.count[0], PINGS);
	EXPECT_EQ(pp.count[1], PINGS);
}

/* Work spreads: with more than one CPU, goroutines run on more than one. */
static _Atomic uint64_t ran_on;

static void busy(void *arg)
{
	uint64_t end = clock_ns() + 2000000;	/* 2 ms of work, no yields */
	atomic_fetch_or(&ran_on, 1ull << cpu_id());
	while (clock_ns() < end)
		arch_cpu_relax();
	wg_done(arg);
}

TEST_G(goroutine, spreads_over_cpus)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	atomic_store(&ran_on, 0);
	wg_add(&wg, 64);
	for (int i = 0; i < 64; i++)
		go(busy, &wg);
	wg_wait(&wg);
	unsigned used = (unsigned)__builtin_popcountll(atomic_load(&ran_on));
	EXPECT_TRUE(used >= 1);
	if (cpu_count() > 1)
		EXPECT_TRUE(used >= 2);
}

TEST_G_EXPLICIT(wg_negative, panics)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	wg_done(&wg);
	test_fail(__FILE__, __LINE__, "a negative WaitGroup counter did not panic");
}

/* Sleep: never early, every sleeper wakes, sleepers overlap (not serialised). */
#define SLEEPERS 16
static _Atomic unsigned early, woke, asleep, max_asleep;

static void sleeper(void *arg)
{
	struct wait_group *wg = arg;
	static _Atomic unsigned n;
	uint64_t ns = (1 + atomic_fetch_add(&n, 1) % SLEEPERS) * 1000000ull;	/* 1..16 ms */
	uint64_t t0 = go_now();
	unsigned now_asleep = atomic_fetch_add(&asleep, 1) + 1;
	for (unsigned m = atomic_load(&max_asleep); now_asleep > m;)
		if (atomic_compare_exchange_weak(&max_asleep, &m, now_asleep))
			break;
	go_sleep(ns);
	atomic_fetch_sub(&asleep, 1);
	if (go_now() - t0 < ns)
		atomic_fetch_add(&early, 1);
	atomic_fetch_add(&woke, 1);
	wg_done(wg);
}

TEST_G(timer_sleep, never_early_all_wake_overlapping)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	atomic_store(&early, 0);
	atomic_store(&woke, 0);
	atomic_store(&asleep, 0);
	atomic_store(&max_asleep, 0);
	uint64_t t0 = go_now();
	wg_add(&wg, SLEEPERS);
	for (int i = 0; i < SLEEPERS; i++)
		go(sleeper, &wg);
	wg_wait(&wg);
	uint64_t took = go_now() - t0;
	EXPECT_EQ(atomic_load(&early), 0);
	EXPECT_EQ(atomic_load(&woke), SLEEPERS);
	EXPECT_TRUE(took >= 16000000ull);
	/* sleepers park: they do not hold their CPU, so several sleep at once */
	EXPECT_TRUE(atomic_load(&max_asleep) >= 2);
}

TEST_G(timer_sleep, zero_is_a_yield_and_main_can_sleep)
{
	uint64_t t0 = go_now();
	go_sleep(0);
	go_sleep(2000000);
	EXPECT_TRUE(go_now() - t0 >= 2000000);
}

/* Every goroutine blocked for good: Go's deadlock report and goroutine dump
 * (tests=deadlock). */
static void wait_forever(void *arg)
{
	wg_wait(arg);
}

TEST_G_EXPLICIT(deadlock, all_goroutines_asleep)
{
	static struct wait_group never = WAIT_GROUP_INIT;
	wg_add(&never, 1);
	go(wait_forever, &never);
	go_sleep(1000000);	/* a pending timer is not a deadlock: this one fires */
	wg_wait(&never);
	test_fail(__FILE__, __LINE__, "wg_wait on a wait group nobody finishes returned");
}
