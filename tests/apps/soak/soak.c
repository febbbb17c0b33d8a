/*
 * soak: everything at once on every core, for a while, losing nothing.
 *
 *   soak [seconds]       run for that long (default 60, at most 86400)
 *
 * Two producers per CPU make messages: a typed object on the collector's heap with a
 * payload array (gc_alloc_noscan) and its checksum, sent on a buffered channel, with
 * a sleep now and then. Two consumers per CPU take them in a select with a 5 ms
 * timeout (go_after), verify the checksum, count them under a mutex, and hand one in
 * eight to a goroutine spawned for it, which sends it to a second stage over an
 * unbuffered channel (spawn and exit all the time). One goroutine per CPU spins
 * without a call for a few milliseconds at a time (preemption: run it with a short
 * slice, slice_ms=1), another allocates and drops trees (garbage), and one calls
 * gc_collect every 5 ms. At the end the producers stop, the channels drain, and the
 * totals must agree: messages sent = received, the sum of their checksums the same on
 * both sides, none corrupt. The last line says so, with the counts; status 0 only
 * then. `make soak` boots it with checkmark on (every collection re-marked).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/go.h>
#include <rt/sync.h>

#define PAYLOAD_WORDS 16

struct msg {
	uint64_t seq, producer, sum;
	uint64_t *payload;		/* PAYLOAD_WORDS words, gc_alloc_noscan */
};
GC_TYPE(msg_type, struct msg, payload);

struct node {
	struct node *left, *right;
};
GC_TYPE(node_type, struct node, left, right);

static struct chan *work, *stage2;
static _Atomic bool stopping;
static uint64_t deadline;

static struct wait_group producers = WAIT_GROUP_INIT, consumers = WAIT_GROUP_INIT;
static struct wait_group helpers = WAIT_GROUP_INIT, stage2_done = WAIT_GROUP_INIT;

/* Totals: producers add to sent, the consumers and stage 2 to received, under lock. */
static struct mutex lock = MUTEX_INIT;
static uint64_t sent, sent_sum, received, received_sum, corrupt, spawned;
static _Atomic uint64_t spins, collections, timeouts, garbage_nodes;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33;
	return x;
}

static uint64_t checksum(const struct msg *m)
{
	uint64_t s = mix(m->seq * 31 + m->producer);
	for (int i = 0; i < PAYLOAD_WORDS; i++)
		s = mix(s ^ m->payload[i]);
	return s;
}

static void account_received(const struct msg *m)
{
	bool ok = checksum(m) == m->sum;
	mutex_lock(&lock);
	received++;
	received_sum += m->sum;
	corrupt += !ok;
	mutex_unlock(&lock);
}

static void produce(void *arg)
{
	uint64_t id = (uintptr_t)arg, seq = 0, n = 0, sum = 0;
	while (go_now() < deadline) {
		struct msg *m = gc_new(&msg_type);
		uint64_t *p = gc_alloc_noscan(PAYLOAD_WORDS * sizeof(uint64_t));
		for (int i = 0; i < PAYLOAD_WORDS; i++)
			p[i] = mix(id << 40 ^ seq << 8 ^ (uint64_t)i);
		m->seq = seq++;
		m->producer = id;
		gc_store(&m->payload, p);
		m->sum = checksum(m);
		chan_send(work, &m);
		n++, sum += m->sum;
		if (seq % 64 == 0)
			go_sleep(seq % 128 ? 0 : 200000);
	}
	mutex_lock(&lock);
	sent += n, sent_sum += sum;
	mutex_unlock(&lock);
	wg_done(&producers);
}

static void helper(void *arg)
{
	struct msg *m = arg;
	chan_send(stage2, &m);
	wg_done(&helpers);
}

static void consume(void *arg)
{
	(void)arg;
	for (uint64_t k = 0;;) {
		struct msg *m;
		bool ok;
		struct select_case cs[2] = {
			{ work, SELECT_RECV, &m, &ok },
			{ go_after(5000000), SELECT_RECV, NULL, NULL },
		};
		if (chan_select(cs, 2, false) == 1) {
			atomic_fetch_add(&timeouts, 1);
			continue;
		}
		if (!ok)
			break;		/* closed and drained */
		if (++k % 8 == 0) {
			wg_add(&helpers, 1);
			mutex_lock(&lock);
			spawned++;
			mutex_unlock(&lock);
			go(helper, m);
		} else {
			account_received(m);
		}
	}
	wg_done(&consumers);
}

static void second_stage(void *arg)
{
	(void)arg;
	struct msg *m;
	while (chan_recv(stage2, &m))
		account_received(m);
	wg_done(&stage2_done);
}

static void spin(void *arg)
{
	(void)arg;
	while (!atomic_load(&stopping)) {
		uint64_t until = go_now() + 3000000;
		while (go_now() < until)
			;
		atomic_fetch_add(&spins, 1);
		go_sleep(2000000);
	}
}

static struct node *tree(int depth)
{
	struct node *n = gc_new(&node_type);
	if (depth > 0) {
		gc_store(&n->left, tree(depth - 1));
		gc_store(&n->right, tree(depth - 1));
	}
	atomic_fetch_add_explicit(&garbage_nodes, 1, memory_order_relaxed);
	return n;
}

static void garbage(void *arg)
{
	(void)arg;
	while (!atomic_load(&stopping)) {
		tree(10);
		go_yield();
	}
}

static void collector(void *arg)
{
	(void)arg;
	while (!atomic_load(&stopping)) {
		gc_collect();
		atomic_fetch_add(&collections, 1);
		go_sleep(5000000);
	}
}

int main(int argc, char **argv)
{
	char *end = "";
	long seconds = argc > 1 ? strtol(argv[1], &end, 10) : 60;
	if (argc > 2 || *end || seconds < 1 || seconds > 86400) {
		fprintf(stderr, "usage: %s [seconds]   (1..86400)\n", argv[0]);
		return 2;
	}
	unsigned ncpu = go_ncpu();
	uint64_t t0 = go_now();
	deadline = t0 + (uint64_t)seconds * 1000000000ull;
	gc_store(&work, chan_make(sizeof(struct msg *), 64));
	gc_store(&stage2, chan_make(sizeof(struct msg *), 0));
	printf("soak: %ld s on %u CPUs\n", seconds, ncpu);
	fflush(stdout);

	wg_add(&producers, 2 * ncpu);
	wg_add(&consumers, 2 * ncpu);
	wg_add(&stage2_done, 1);
	for (unsigned i = 0; i < 2 * ncpu; i++) {
		go(produce, (void *)(uintptr_t)i);
		go(consume, NULL);
	}
	go(second_stage, NULL);
	for (unsigned i = 0; i < ncpu; i++)
		go(spin, NULL);
	go(garbage, NULL);
	go(collector, NULL);

	for (long s = 10; s < seconds; s += 10) {	/* a sign of life every 10 s */
		go_sleep(10000000000ull);
		mutex_lock(&lock);
		uint64_t r = received;
		mutex_unlock(&lock);
		printf("soak: %ld s: %llu received, %llu collections\n", s, (unsigned long long)r,
		       (unsigned long long)atomic_load(&collections));
		fflush(stdout);
	}
	wg_wait(&producers);
	chan_close(work);
	wg_wait(&consumers);
	wg_wait(&helpers);
	chan_close(stage2);
	wg_wait(&stage2_done);
	atomic_store(&stopping, true);

	double secs = (double)(go_now() - t0) / 1e9;
	printf("soak: %.0f s on %u CPUs: %llu messages sent, %llu received (%.0f/s), %llu "
	       "goroutines spawned for them, %llu collections, %llu garbage nodes, %llu spins "
	       "preempted, %llu timeouts\n", secs, ncpu, (unsigned long long)sent,
	       (unsigned long long)received, (double)received / secs, (unsigned long long)spawned,
	       (unsigned long long)atomic_load(&collections), (unsigned long long)atomic_load(&garbage_nodes),
	       (unsigned long long)atomic_load(&spins), (unsigned long long)atomic_load(&timeouts));
	uint64_t lost = sent - received;
	if (sent != received || sent_sum != received_sum || corrupt) {
		printf("soak: FAILED: %lld lost, %llu corrupt, checksums %s\n", (long long)lost,
		       (unsigned long long)corrupt, sent_sum == received_sum ? "agree" : "differ");
		return 1;
	}
	printf("soak: 0 lost, 0 corrupt, checksums agree\n");
	return 0;
}
