/*
 * tests/boot/stress_test.c: everything at once, on every CPU, with every message
 * accounted for (tests=stress, explicit: the matrix runs it at several core counts).
 *
 * The graph, per round:
 *
 *   producers --(A: unbuffered)--+                   +--(C: buffered 8)---+
 *   (spawn more                  +--> relays --------+                    +--> sinks
 *    mid-run)  --(B: buffered 16)+    (select recv,  +--(D: unbuffered)---+    (select recv,
 *                                      sometimes      \                         sometimes
 *                                      with default;   +-- helper goroutines    sleep)
 *                                      mutex table)        spawned per message
 *
 * Producers send numbered messages (a hash of producer and sequence number, never 0)
 * on A or B through a select over both; every tenth message they sleep a little;
 * halfway through, the first producers each spawn one more producer. Relays receive
 * with a select over A and B (every seventh turn with a default, which yields or
 * sleeps), add each message to a shared table under a mutex, and forward it with a
 * select over C and D, or every sixteenth message through a helper goroutine spawned
 * for it. Sinks receive with a select over C and D. Shutdown is Go's: producers done
 * -> close A and B; relays see both closed and drained, and finish; helpers done ->
 * close C and D; sinks drain and finish.
 *
 * Accounting: count, sum and xor of the payloads at the sources must equal those at
 * the sinks, and the mutex table's count and sum must equal them too. Everything is
 * bounded by counts (no time bound inside the test: the matrix has timeouts).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/test.h>
#include <rt/chan.h>
#include <rt/go.h>
#include <rt/sync.h>

#define PRODUCERS	4		/* at the start; as many more are spawned mid-run */
#define MESSAGES	2500		/* per producer */
#define RELAYS		3
#define SINKS		3
#define ROUNDS		3
#define TABLE		64

struct tally {
	_Atomic uint64_t count, sum, xor;
};

static struct {
	struct chan *a, *b, *c, *d;
	struct wait_group producers, relays, helpers, sinks;
	struct tally src, dst;
	_Atomic uint64_t defaults, spawned, sleeps;
	struct mutex table_lock;
	uint64_t table[TABLE];		/* table_lock: sum of payloads by payload % TABLE */
	uint64_t table_count;		/* table_lock */
} st = {
	.producers = WAIT_GROUP_INIT, .relays = WAIT_GROUP_INIT,
	.helpers = WAIT_GROUP_INIT, .sinks = WAIT_GROUP_INIT,
	.table_lock = MUTEX_INIT,
};

static uint64_t payload(uint64_t producer, uint64_t seq)
{
	uint64_t h = (producer << 32 | seq) + 0x9e3779b97f4a7c15ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	return h | 1;		/* never 0 */
}

static void tally_add(struct tally *t, uint64_t v)
{
	atomic_fetch_add(&t->count, 1);
	atomic_fetch_add(&t->sum, v);
	atomic_fetch_xor(&t->xor, v);
}

static void producer(void *arg);

static void producer(void *arg)
{
	uint64_t id = (uintptr_t)arg;
	for (uint64_t seq = 0; seq < MESSAGES; seq++) {
		uint64_t v = payload(id, seq);
		tally_add(&st.src, v);
		struct select_case cs[2] = {
			{ st.a, SELECT_SEND, &v, NULL },
			{ st.b, SELECT_SEND, &v, NULL },
		};
		chan_select(cs, 2, false);
		if (seq % 10 == 9) {
			atomic_fetch_add(&st.sleeps, 1);
			go_sleep(1000 * (1 + seq % 50));	/* 1 .. 50 us */
		}
		if (seq == MESSAGES / 2 && id < PRODUCERS) {
			/* a producer spawned mid-run (wg_add before our own wg_done) */
			wg_add(&st.producers, 1);
			atomic_fetch_add(&st.spawned, 1);
			go(producer, (void *)(uintptr_t)(id + PRODUCERS));
		}
	}
	wg_done(&st.producers);
}

static void table_add(uint64_t v)
{
	mutex_lock(&st.table_lock);
	st.table[v % TABLE] += v;
	st.table_count++;
	mutex_unlock(&st.table_lock);
}

static void forward(uint64_t v)
{
	struct select_case cs[2] = {
		{ st.c, SELECT_SEND, &v, NULL },
		{ st.d, SELECT_SEND, &v, NULL },
	};
	chan_select(cs, 2, false);
}

static void helper(void *arg)
{
	forward((uintptr_t)arg);
	wg_done(&st.helpers);
}

static void relay(void *arg)
{
	(void)arg;
	bool a_open = true, b_open = true;
	for (uint64_t turn = 0; a_open || b_open; turn++) {
		uint64_t v = 0;
		bool ok = false;
		struct select_case cs[2] = {
			{ a_open ? st.a : NULL, SELECT_RECV, &v, &ok },
			{ b_open ? st.b : NULL, SELECT_RECV, &v, &ok },
		};
		int k = chan_select(cs, 2, turn % 7 == 3);
		if (k < 0) {
			atomic_fetch_add(&st.defaults, 1);
			if (turn % 2)
				go_yield();
			else
				go_sleep(2000);
			continue;
		}
		if (!ok) {
			if (k == 0)
				a_open = false;
			else
				b_open = false;
			continue;
		}
		table_add(v);
		if (turn % 16 == 5) {
			wg_add(&st.helpers, 1);
			atomic_fetch_add(&st.spawned, 1);
			go(helper, (void *)(uintptr_t)v);
		} else {
			forward(v);
		}
	}
	wg_done(&st.relays);
}

static void sink(void *arg)
{
	uint64_t me = (uintptr_t)arg;
	bool c_open = true, d_open = true;
	for (uint64_t n = 0; c_open || d_open; n++) {
		uint64_t v = 0;
		bool ok = false;
		struct select_case cs[2] = {
			{ c_open ? st.c : NULL, SELECT_RECV, &v, &ok },
			{ d_open ? st.d : NULL, SELECT_RECV, &v, &ok },
		};
		int k = chan_select(cs, 2, false);
		if (!ok) {
			if (k == 0)
				c_open = false;
			else
				d_open = false;
			continue;
		}
		tally_add(&st.dst, v);
		if (n % 97 == me) {
			atomic_fetch_add(&st.sleeps, 1);
			go_sleep(5000);
		}
	}
	wg_done(&st.sinks);
}

static void tally_reset(struct tally *t)
{
	atomic_store(&t->count, 0);
	atomic_store(&t->sum, 0);
	atomic_store(&t->xor, 0);
}

TEST_G_EXPLICIT(stress, channels_select_sleep_mutex_spawn_exact)
{
	uint64_t total_spawned = 0, total_defaults = 0, total_sleeps = 0;
	for (int round = 0; round < ROUNDS; round++) {
		tally_reset(&st.src);
		tally_reset(&st.dst);
		atomic_store(&st.defaults, 0);
		atomic_store(&st.spawned, 0);
		atomic_store(&st.sleeps, 0);
		for (int i = 0; i < TABLE; i++)
			st.table[i] = 0;
		st.table_count = 0;
		st.a = chan_make(sizeof(uint64_t), 0);
		st.b = chan_make(sizeof(uint64_t), 16);
		st.c = chan_make(sizeof(uint64_t), 8);
		st.d = chan_make(sizeof(uint64_t), 0);

		wg_add(&st.sinks, SINKS);
		for (uint64_t i = 0; i < SINKS; i++)
			go(sink, (void *)(uintptr_t)i);
		wg_add(&st.relays, RELAYS);
		for (int i = 0; i < RELAYS; i++)
			go(relay, NULL);
		wg_add(&st.producers, PRODUCERS);
		for (uint64_t i = 0; i < PRODUCERS; i++)
			go(producer, (void *)(uintptr_t)i);

		wg_wait(&st.producers);
		chan_close(st.a);
		chan_close(st.b);
		wg_wait(&st.relays);
		wg_wait(&st.helpers);
		chan_close(st.c);
		chan_close(st.d);
		wg_wait(&st.sinks);

		uint64_t n = 2ull * PRODUCERS * MESSAGES;
		EXPECT_EQ(atomic_load(&st.src.count), n);
		EXPECT_EQ(atomic_load(&st.dst.count), n);
		EXPECT_TRUE(atomic_load(&st.src.sum) == atomic_load(&st.dst.sum));
		EXPECT_TRUE(atomic_load(&st.src.xor) == atomic_load(&st.dst.xor));
		uint64_t tsum = 0;
		mutex_lock(&st.table_lock);
		for (int i = 0; i < TABLE; i++)
			tsum += st.table[i];
		EXPECT_EQ(st.table_count, n);
		mutex_unlock(&st.table_lock);
		EXPECT_TRUE(tsum == atomic_load(&st.src.sum));
		/* the mix happened: producers spawned mid-run, helpers spawned */
		EXPECT_TRUE(atomic_load(&st.spawned) > PRODUCERS);
		total_spawned += atomic_load(&st.spawned);
		total_defaults += atomic_load(&st.defaults);
		total_sleeps += atomic_load(&st.sleeps);

		chan_free(st.a);
		chan_free(st.b);
		chan_free(st.c);
		chan_free(st.d);
	}
	kprintf("stress: %d rounds of %llu messages on %u cpus: %llu goroutines spawned mid-run, "
		"%llu select defaults, %llu sleeps\n", ROUNDS,
		(unsigned long long)(2ull * PRODUCERS * MESSAGES), cpu_count(),
		(unsigned long long)total_spawned, (unsigned long long)total_defaults,
		(unsigned long long)total_sleeps);
}
