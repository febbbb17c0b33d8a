/*
 * tests/boot/chan_test.c: channels and select (rt/chan.c). TEST_G: inside goroutines,
 * the scheduler on every CPU. The chan_* explicit suites end the boot on purpose with
 * Go's misuse panics.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <kernel/test.h>
#include <rt/chan.h>
#include <rt/go.h>

/* ---- ping-pong ---------------------------------------------------------------------- */

#define PINGS 2000

struct pp {
	struct chan *ping, *pong;
	struct wait_group done;
};

static void ponger(void *arg)
{
	struct pp *pp = arg;
	uint64_t v;
	for (int i = 0; i < PINGS; i++) {
		chan_recv(pp->ping, &v);
		v++;
		chan_send(pp->pong, &v);
	}
	wg_done(&pp->done);
}

TEST_G(chan, ping_pong_unbuffered)
{
	struct pp pp = { chan_make(sizeof(uint64_t), 0), chan_make(sizeof(uint64_t), 0), WAIT_GROUP_INIT };
	wg_add(&pp.done, 1);
	go(ponger, &pp);
	int good = 0;
	for (uint64_t i = 0; i < PINGS; i++) {
		uint64_t v = i * 3, back = 0;
		chan_send(pp.ping, &v);
		if (chan_recv(pp.pong, &back) && back == i * 3 + 1)
			good++;
	}
	wg_wait(&pp.done);
	EXPECT_EQ(good, PINGS);
	EXPECT_EQ(chan_len(pp.ping), 0);
	chan_free(pp.ping);
	chan_free(pp.pong);
}

/* ---- many to many ---------------------------------------------------------------------- */

#define M2M_SIDES 8
#define M2M_MAX (M2M_SIDES * 2000)

struct m2m {
	struct chan *c;
	int per_sender;
	_Atomic int next_sender;
	struct wait_group senders, receivers;
	_Atomic uint64_t sum, received, dups;
	_Atomic uint64_t seen[M2M_MAX / 64];
};

static void m2m_sender(void *arg)
{
	struct m2m *m = arg;
	uint64_t base = (uint64_t)atomic_fetch_add(&m->next_sender, 1) * (uint64_t)m->per_sender;
	for (int i = 0; i < m->per_sender; i++) {
		uint64_t v = base + (uint64_t)i;
		chan_send(m->c, &v);
	}
	wg_done(&m->senders);
}

static void m2m_receiver(void *arg)
{
	struct m2m *m = arg;
	uint64_t v, sum = 0, n = 0;
	while (chan_recv(m->c, &v)) {
		if (v >= M2M_MAX ||
		    (atomic_fetch_or(&m->seen[v / 64], 1ull << (v % 64)) & (1ull << (v % 64))))
			atomic_fetch_add(&m->dups, 1);
		sum += v;
		n++;
	}
	EXPECT_EQ(v, 0);	/* closed and drained: zeroed */
	atomic_fetch_add(&m->sum, sum);
	atomic_fetch_add(&m->received, n);
	wg_done(&m->receivers);
}

static void m2m_run(size_t cap, int per_sender)
{
	static struct m2m m;
	m = (struct m2m){ .c = chan_make(sizeof(uint64_t), cap), .per_sender = per_sender,
			  .senders = WAIT_GROUP_INIT, .receivers = WAIT_GROUP_INIT };
	uint64_t total = (uint64_t)M2M_SIDES * (uint64_t)per_sender;
	wg_add(&m.senders, M2M_SIDES);
	wg_add(&m.receivers, M2M_SIDES);
	for (int i = 0; i < M2M_SIDES; i++) {
		go(m2m_receiver, &m);
		go(m2m_sender, &m);
	}
	wg_wait(&m.senders);
	chan_close(m.c);
	wg_wait(&m.receivers);
	EXPECT_EQ(atomic_load(&m.received), total);
	EXPECT_EQ(atomic_load(&m.dups), 0);
	EXPECT_EQ(atomic_load(&m.sum), total * (total - 1) / 2);
	uint64_t missing = 0;
	for (uint64_t v = 0; v < total; v++)
		if (!(atomic_load(&m.seen[v / 64]) & (1ull << (v % 64))))
			missing++;
	EXPECT_EQ(missing, 0);
	chan_free(m.c);
}

TEST_G(chan, many_to_many_buffered)
{
	m2m_run(16, 2000);
}

TEST_G(chan, many_to_many_unbuffered)
{
	m2m_run(0, 500);
}

/* ---- buffered ---------------------------------------------------------------------------- */

TEST_G(chan, buffered_fifo_len_cap)
{
	struct chan *c = chan_make(sizeof(int), 8);
	EXPECT_EQ(chan_cap(c), 8);
	EXPECT_EQ(chan_len(c), 0);
	int v, next = 0, want = 0;
	bool ok = true;
	/* fill, drain half, refill: the ring wraps */
	for (int round = 0; round < 10; round++) {
		while (chan_try_send(c, &next))
			next++;
		EXPECT_EQ(chan_len(c), 8);
		for (int i = 0; i < 5; i++) {
			chan_recv(c, &v);
			EXPECT_EQ(v, want);
			want++;
		}
		EXPECT_EQ(chan_len(c), 3);
	}
	while (chan_try_recv(c, &v, &ok)) {
		EXPECT_TRUE(ok);
		EXPECT_EQ(v, want);
		want++;
	}
	EXPECT_EQ(want, next);
	EXPECT_EQ(chan_len(c), 0);
	chan_free(c);

	/* a ring over several pages */
	c = chan_make(sizeof(uint64_t), 1500);
	for (uint64_t i = 0; i < 1500; i++)
		EXPECT_TRUE(chan_try_send(c, &i));
	uint64_t x = 0;
	EXPECT_TRUE(!chan_try_send(c, &x));
	EXPECT_EQ(chan_len(c), 1500);
	int bad = 0;
	for (uint64_t i = 0; i < 1500; i++)
		if (!chan_recv(c, &x) || x != i)
			bad++;
	EXPECT_EQ(bad, 0);
	chan_free(c);
	EXPECT_EQ(chan_len(NULL), 0);
	EXPECT_EQ(chan_cap(NULL), 0);
}

/* A full buffer with a blocked sender: the receiver takes the head, the sender's
 * element goes to the tail, order kept. */
static void send_three(void *arg)
{
	struct chan *c = arg;
	for (int i = 1; i <= 3; i++)
		chan_send(c, &i);
}

TEST_G(chan, buffered_blocked_sender_keeps_order)
{
	struct chan *c = chan_make(sizeof(int), 1);
	go(send_three, c);
	int v = 0, bad = 0;
	for (int i = 1; i <= 3; i++)
		if (!chan_recv(c, &v) || v != i)
			bad++;
	EXPECT_EQ(bad, 0);
	chan_free(c);
}

/* ---- close ------------------------------------------------------------------------------- */

struct closer_wait {
	struct chan *c;
	struct wait_group wg;
	_Atomic int not_ok;
};

static void recv_until_closed(void *arg)
{
	struct closer_wait *w = arg;
	int v = 7;
	if (!chan_recv(w->c, &v) && v == 0)
		atomic_fetch_add(&w->not_ok, 1);
	wg_done(&w->wg);
}

TEST_G(chan, close_semantics)
{
	struct chan *c = chan_make(sizeof(int), 4);
	for (int i = 10; i < 13; i++)
		chan_send(c, &i);
	chan_close(c);
	int v;
	bool ok;
	for (int i = 10; i < 13; i++) {
		EXPECT_TRUE(chan_recv(c, &v));
		EXPECT_EQ(v, i);
	}
	for (int i = 0; i < 100; i++) {
		v = 5;
		EXPECT_TRUE(!chan_recv(c, &v));
		EXPECT_EQ(v, 0);
	}
	EXPECT_TRUE(chan_try_recv(c, &v, &ok));
	EXPECT_TRUE(!ok);
	chan_free(c);

	/* close wakes every blocked receiver with ok = false */
	static struct closer_wait w;
	w = (struct closer_wait){ .c = chan_make(sizeof(int), 0), .wg = WAIT_GROUP_INIT };
	wg_add(&w.wg, 6);
	for (int i = 0; i < 6; i++)
		go(recv_until_closed, &w);
	for (int i = 0; i < 50; i++)
		go_yield();
	chan_close(w.c);
	wg_wait(&w.wg);
	EXPECT_EQ(atomic_load(&w.not_ok), 6);
	chan_free(w.c);
}

/* ---- select ------------------------------------------------------------------------------- */

TEST_G(chan, select_nil_never_chosen)
{
	struct chan *c = chan_make(sizeof(int), 1);
	int v = 1, got = 0, sv = 9;
	struct select_case cases[3] = {
		{ NULL, SELECT_RECV, &got, NULL },
		{ NULL, SELECT_SEND, &sv, NULL },
		{ c, SELECT_RECV, &got, NULL },
	};
	int wrong = 0;
	for (int i = 0; i < 200; i++) {
		chan_send(c, &v);
		if (chan_select(cases, 3, false) != 2)
			wrong++;
	}
	EXPECT_EQ(wrong, 0);
	/* only nil channels and a default: the default */
	EXPECT_EQ(chan_select(cases, 2, true), -1);
	EXPECT_EQ(chan_select(NULL, 0, true), -1);
	EXPECT_TRUE(!chan_try_send(NULL, &v));
	EXPECT_TRUE(!chan_try_recv(NULL, &v, NULL));
	chan_free(c);
}

TEST_G(chan, select_fairness)
{
	struct chan *a = chan_make(sizeof(int), 0), *b = chan_make(sizeof(int), 0);
	chan_close(a);
	chan_close(b);
	int x;
	bool ok = true;
	struct select_case cases[2] = {
		{ a, SELECT_RECV, &x, &ok },
		{ b, SELECT_RECV, &x, &ok },
	};
	int count[2] = { 0, 0 };
	for (int i = 0; i < 2000; i++) {
		int k = chan_select(cases, 2, false);
		if (k == 0 || k == 1)
			count[k]++;
	}
	EXPECT_TRUE(!ok);
	EXPECT_EQ(count[0] + count[1], 2000);
	EXPECT_TRUE(count[0] >= 800 && count[0] <= 1200);
	EXPECT_TRUE(count[1] >= 800 && count[1] <= 1200);
	chan_free(a);
	chan_free(b);
}

TEST_G(chan, select_default_when_nothing_ready)
{
	struct chan *a = chan_make(sizeof(int), 0), *full = chan_make(sizeof(int), 1);
	int v = 3;
	chan_send(full, &v);
	struct select_case cases[2] = {
		{ a, SELECT_RECV, &v, NULL },
		{ full, SELECT_SEND, &v, NULL },
	};
	EXPECT_EQ(chan_select(cases, 2, true), -1);
	/* ... and nothing was left behind on the queues */
	EXPECT_TRUE(!chan_try_send(a, &v));
	EXPECT_EQ(chan_len(full), 1);
	chan_free(a);
	chan_free(full);
}

/* Two goroutines each selecting over a send and a receive, in opposite roles: every
 * exchange is select against select (one blocked, the other polling). */
#define MIXED 500

struct mixed {
	struct chan *a, *b;
	_Atomic int bad;
	struct wait_group wg;
};

static void mixed_side(struct mixed *m, struct chan *out, struct chan *in)
{
	int sent = 0, recvd = 0, v;
	while (sent < MIXED || recvd < MIXED) {
		struct select_case cases[2] = {
			{ sent < MIXED ? out : NULL, SELECT_SEND, &sent, NULL },
			{ recvd < MIXED ? in : NULL, SELECT_RECV, &v, NULL },
		};
		int k = chan_select(cases, 2, false);
		if (k == 0) {
			sent++;
		} else {
			if (v != recvd)
				atomic_fetch_add(&m->bad, 1);
			recvd++;
		}
	}
}

static void mixed_other(void *arg)
{
	struct mixed *m = arg;
	mixed_side(m, m->b, m->a);
	wg_done(&m->wg);
}

TEST_G(chan, select_send_and_receive_mixed)
{
	static struct mixed m;
	m = (struct mixed){ chan_make(sizeof(int), 0), chan_make(sizeof(int), 0), 0, WAIT_GROUP_INIT };
	wg_add(&m.wg, 1);
	go(mixed_other, &m);
	mixed_side(&m, m.a, m.b);
	wg_wait(&m.wg);
	EXPECT_EQ(atomic_load(&m.bad), 0);
	chan_free(m.a);
	chan_free(m.b);
}

struct later {
	struct chan *c;
	int op;		/* 0 send 42, 1 receive, 2 close */
	int got;
	struct wait_group wg;
};

static void later_op(void *arg)
{
	struct later *l = arg;
	for (int i = 0; i < 20; i++)
		go_yield();
	int v = 42;
	if (l->op == 0)
		chan_send(l->c, &v);
	else if (l->op == 1)
		chan_recv(l->c, &l->got);
	else
		chan_close(l->c);
	wg_done(&l->wg);
}

TEST_G(chan, select_blocked_then_woken)
{
	for (int op = 0; op < 3; op++) {
		struct chan *a = chan_make(sizeof(int), 0), *b = chan_make(sizeof(int), 0);
		static struct later l;
		l = (struct later){ op == 1 ? a : b, op, 0, WAIT_GROUP_INIT };
		int v = -1, sv = 77;
		bool ok = true;
		struct select_case cases[3] = {
			{ a, op == 1 ? SELECT_SEND : SELECT_RECV, op == 1 ? &sv : &v, &ok },
			{ b, SELECT_RECV, &v, &ok },
			{ NULL, SELECT_RECV, &v, &ok },
		};
		wg_add(&l.wg, 1);
		go(later_op, &l);
		int k = chan_select(cases, 3, false);
		wg_wait(&l.wg);
		if (op == 0) {
			EXPECT_EQ(k, 1);
			EXPECT_EQ(v, 42);
			EXPECT_TRUE(ok);
		} else if (op == 1) {
			EXPECT_EQ(k, 0);
			EXPECT_EQ(l.got, 77);
		} else {
			EXPECT_EQ(k, 1);
			EXPECT_EQ(v, 0);
			EXPECT_TRUE(!ok);
		}
		/* the losing case's wait record is gone: a is empty of receivers/senders */
		int x = 1;
		EXPECT_TRUE(!chan_try_send(a, &x));
		EXPECT_TRUE(!chan_try_recv(a, &x, NULL));
		chan_free(a);
		chan_free(b);
	}
}

/* ---- misuse (explicit: each ends the boot with a panic) ------------------------------- */

TEST_G_EXPLICIT(chan_send_closed, panics)
{
	struct chan *c = chan_make(sizeof(int), 1);
	int v = 1;
	chan_close(c);
	chan_send(c, &v);
}

TEST_G_EXPLICIT(chan_close_closed, panics)
{
	struct chan *c = chan_make(sizeof(int), 0);
	chan_close(c);
	chan_close(c);
}

TEST_G_EXPLICIT(chan_close_nil, panics)
{
	chan_close(NULL);
}

static void blocked_sender(void *arg)
{
	int v = 1;
	chan_send(arg, &v);	/* woken by the close: panics */
}

TEST_G_EXPLICIT(chan_close_wakes_sender, panics)
{
	struct chan *c = chan_make(sizeof(int), 0);
	go(blocked_sender, c);
	for (int i = 0; i < 50; i++)
		go_yield();
	chan_close(c);
	for (;;)
		go_yield();
}

/*
 * A select over many channels (more than a CPU's lock stack holds: the select locks
 * them as one group). Each round a sender goroutine sends to one channel chosen by
 * the round number while the selector waits on all of them (blocking) or polls (with
 * a default after the send completed); the winner must be that channel's case, with
 * its value. Half the channels appear twice, as a receive and as a never-ready send.
 */
#define MANY_CHANS 100
#define MANY_ROUNDS 300

struct many {
	struct chan *c[MANY_CHANS];
	struct chan *full;		/* capacity 1, kept full: its send case never fires */
	struct wait_group wg;
};

static void many_sender(void *arg)
{
	struct many *m = arg;
	for (int r = 0; r < MANY_ROUNDS; r++) {
		int v = r * 7 + 1;
		chan_send(m->c[(r * 37) % MANY_CHANS], &v);
	}
	wg_done(&m->wg);
}

TEST_G(chan, select_over_many_channels)
{
	static struct many m;
	static struct select_case cases[MANY_CHANS + MANY_CHANS / 2];
	int n = 0, got = 0, filler = 0;
	m.full = chan_make(sizeof(int), 1);
	chan_send(m.full, &filler);
	for (int i = 0; i < MANY_CHANS; i++)
		m.c[i] = chan_make(sizeof(int), 0);
	for (int i = 0; i < MANY_CHANS; i++) {
		cases[n++] = (struct select_case){ m.c[i], SELECT_RECV, &got, NULL };
		if (i % 2)
			cases[n++] = (struct select_case){ m.full, SELECT_SEND, &filler, NULL };
	}
	m.wg = (struct wait_group)WAIT_GROUP_INIT;
	wg_add(&m.wg, 1);
	go(many_sender, &m);
	int wrong = 0;
	for (int r = 0; r < MANY_ROUNDS; r++) {
		int k = chan_select(cases, n, false);
		int want = (r * 37) % MANY_CHANS;
		if (k < 0 || cases[k].c != m.c[want] || got != r * 7 + 1)
			wrong++;
	}
	wg_wait(&m.wg);
	EXPECT_EQ(wrong, 0);
	/* nothing left queued: every channel is idle, the full one still full */
	for (int i = 0; i < MANY_CHANS; i++)
		EXPECT_TRUE(!chan_try_send(m.c[i], &got));
	EXPECT_EQ(chan_select(cases, n, true), -1);
	for (int i = 0; i < MANY_CHANS; i++)
		chan_free(m.c[i]);
	chan_free(m.full);
}
