/*
 * tests/boot/sync_test.c: rt/sync.h (semaphore, mutex, rwmutex, once, cond). TEST_G:
 * they run inside the first goroutine once the scheduler runs on every CPU.
 *
 * Most tests yield inside critical sections to force interleavings even on one CPU,
 * and "deterministic" tests wait for a goroutine to be parked with the expected wait
 * reason (wait_parked) before taking the next step; mutex_exact_under_preemption
 * leaves the interleaving to the timer's preemption instead, inside the lock's fast
 * paths (on a machine with one CPU, the local atomics of kernel/cpu.h cpu_single).
 */
#include <stdatomic.h>
#include <string.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/preempt.h>
#include <kernel/test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>

/* Yield (and now and then sleep, so that a goroutine on a CPU thread the host has not
 * scheduled yet gets to run) until g is parked with `reason` (its status is WAITING
 * only once its context is saved and its wait-list lock released). The bound is a
 * hang detector, not a speed requirement: 20 s. */
static bool wait_parked(struct g *_Atomic *gp, const char *reason)
{
	uint64_t start = go_now();
	for (int i = 0; go_now() - start < 20000000000ull; i++) {
		struct g *g = atomic_load(gp);
		if (g && atomic_load(&g->status) == G_WAITING && g->wait_reason &&
		    strcmp(g->wait_reason, reason) == 0)
			return true;
		if (i % 128 == 127)
			go_sleep(100000);
		else
			go_yield();
	}
	return false;
}

/* ---- mutex ------------------------------------------------------------------------------ */

#define MU_GS 16
#define MU_ITERS 2000
static struct mutex mu = MUTEX_INIT;
static uint64_t mu_counter;		/* mu */
static _Atomic int mu_inside;
static _Atomic int mu_overlap;

static void mu_worker(void *arg)
{
	for (int i = 0; i < MU_ITERS; i++) {
		mutex_lock(&mu);
		if (atomic_fetch_add(&mu_inside, 1) != 0)
			atomic_fetch_add(&mu_overlap, 1);
		mu_counter++;
		if (i % 64 == 0)
			go_yield();	/* holding it: make the others queue */
		atomic_fetch_sub(&mu_inside, 1);
		mutex_unlock(&mu);
	}
	wg_done(arg);
}

TEST_G(sync, mutex_contention_exact)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	mu_counter = 0;
	atomic_store(&mu_overlap, 0);
	wg_add(&wg, MU_GS);
	for (int i = 0; i < MU_GS; i++)
		go(mu_worker, &wg);
	wg_wait(&wg);
	mutex_lock(&mu);
	EXPECT_EQ(mu_counter, (uint64_t)MU_GS * MU_ITERS);
	mutex_unlock(&mu);
	EXPECT_EQ(atomic_load(&mu_overlap), 0);
}

/* Goroutines that lock, count and unlock in a loop with no call and no yield until a
 * deadline: they are interleaved only by the timer's preemption, which lands inside
 * mutex_lock's and mutex_unlock's fast paths as often as anywhere. The count under the
 * lock must equal the sum of their own counts, and preemptions must have happened. */
#define MP_GS_MAX 32			/* twice the CPUs: each CPU has a goroutine to preempt for */
#define MP_NS 150000000ull		/* 150 ms of looping each */
#define MP_MORE_NS 3000000000ull	/* ... and up to 3 s more until one was preempted */
static struct mutex mp_mu = MUTEX_INIT;
static uint64_t mp_counter;		/* mp_mu */
static _Atomic uint64_t mp_total, mp_preempts;
static _Atomic bool mp_preempted;	/* some worker saw its own preemption */

/* A goroutine is preempted only when its slice ends with another runnable on its CPU;
 * contending for one mutex, the others are mostly parked in mutex_lock, so preemptions
 * are few (15 to 60 in 150 ms at 8 vCPUs) and with the host's cores busy there were
 * none in one boot: the workers go on until one has been. */
static void mp_worker(void *arg)
{
	uint64_t mine = 0, t0 = go_now(), now;
	while ((now = go_now()) < t0 + MP_NS ||
	       (!atomic_load_explicit(&mp_preempted, memory_order_relaxed) && now < t0 + MP_NS + MP_MORE_NS)) {
		for (int k = 0; k < 256; k++) {
			mutex_lock(&mp_mu);
			mp_counter++;
			mutex_unlock(&mp_mu);
		}
		mine += 256;
		if (sched_curg()->npreempt)
			atomic_store_explicit(&mp_preempted, true, memory_order_relaxed);
	}
	atomic_fetch_add(&mp_total, mine);
	atomic_fetch_add(&mp_preempts, sched_curg()->npreempt);
	wg_done(arg);
}

TEST_G(sync, mutex_exact_under_preemption)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	mp_counter = 0;
	atomic_store(&mp_total, 0);
	atomic_store(&mp_preempts, 0);
	uint64_t slice = atomic_load(&preempt_slice_ns);
	/* slice_ms=0 (no preemption), or TSan (below): nothing to wait for */
#if defined(__SANITIZE_THREAD__)
	atomic_store(&mp_preempted, true);
#else
	atomic_store(&mp_preempted, !slice);
#endif
	if (slice)
		atomic_store(&preempt_slice_ns, 100000);	/* 100 us: many preemptions */
	unsigned gs = 2 * cpu_count() < MP_GS_MAX ? 2 * cpu_count() : MP_GS_MAX;
	wg_add(&wg, gs);
	for (unsigned i = 0; i < gs; i++)
		go(mp_worker, &wg);
	wg_wait(&wg);
	if (slice)
		atomic_store(&preempt_slice_ns, slice);
	mutex_lock(&mp_mu);
	uint64_t n = mp_counter;
	mutex_unlock(&mp_mu);
	kprintf("sync: %llu lock/unlock pairs by %u goroutines, %llu preemptions among them, %s atomics\n",
		(unsigned long long)n, gs, (unsigned long long)atomic_load(&mp_preempts),
		MUTEX_LOCAL_OK ? "one CPU's local" : "locked");
	EXPECT_EQ(n, atomic_load(&mp_total));
#if !defined(__SANITIZE_THREAD__)	/* (TSan delivers a signal at a call it intercepts: the loop makes none) */
	EXPECT_TRUE(atomic_load(&mp_preempts) > 0 || !slice);	/* (slice_ms=0: none) */
#endif
}

static struct mutex try_mu = MUTEX_INIT;
static _Atomic int try_result;

static void try_other(void *arg)
{
	atomic_store(&try_result, mutex_trylock(&try_mu) ? 1 : 2);
	wg_done(arg);
}

static struct g *_Atomic blocked_g;

static void lock_blocker(void *arg)
{
	atomic_store(&blocked_g, sched_curg());
	mutex_lock(&try_mu);
	atomic_store(&try_result, 3);
	mutex_unlock(&try_mu);
	wg_done(arg);
}

TEST_G(sync, mutex_trylock_and_wait_reason)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	EXPECT_TRUE(mutex_trylock(&try_mu));
	EXPECT_TRUE(!mutex_trylock(&try_mu));
	atomic_store(&try_result, 0);
	wg_add(&wg, 1);
	go(try_other, &wg);
	wg_wait(&wg);
	EXPECT_EQ(atomic_load(&try_result), 2);

	/* a second goroutine blocks in mutex_lock, visibly, until we unlock */
	atomic_store(&blocked_g, NULL);
	wg_add(&wg, 1);
	go(lock_blocker, &wg);
	EXPECT_TRUE(wait_parked(&blocked_g, "sync.Mutex.Lock"));
	EXPECT_EQ(atomic_load(&try_result), 2);
	mutex_unlock(&try_mu);
	wg_wait(&wg);
	EXPECT_EQ(atomic_load(&try_result), 3);
	EXPECT_TRUE(mutex_trylock(&try_mu));
	mutex_unlock(&try_mu);
}

/* ---- rwmutex ------------------------------------------------------------------------------ */

/* Readers share, writers exclude everyone, the data a writer changes is never seen
 * half-written. The readers' first round is a barrier with no writer around (all
 * twelve inside at once, which measured concurrency must show); the writers join
 * after it, and every read section yields so readers queue behind waiting writers. */
#define RW_READERS 12
#define RW_WRITERS 3
#define RW_RITERS 300
#define RW_WITERS 100
static struct rwmutex rw = RWMUTEX_INIT;
static uint64_t rw_a, rw_b;		/* rw: always equal outside a write */
static _Atomic int rw_rinside, rw_winside, rw_rmax, rw_bad, rw_arrived;
static _Atomic uint64_t rw_reads;

static void rw_reader(void *arg)
{
	for (int i = 0; i < RW_RITERS; i++) {
		rw_rlock(&rw);
		int n = atomic_fetch_add(&rw_rinside, 1) + 1;
		int m = atomic_load(&rw_rmax);
		while (n > m && !atomic_compare_exchange_weak(&rw_rmax, &m, n))
			;
		if (atomic_load(&rw_winside) != 0 || rw_a != rw_b)
			atomic_fetch_add(&rw_bad, 1);
		if (i == 0) {
			/* no writer yet: every reader gets in, and all are in at once */
			atomic_fetch_add(&rw_arrived, 1);
			while (atomic_load(&rw_arrived) < RW_READERS)
				go_yield();
		}
		for (int k = 0; k < 50; k++)
			arch_cpu_relax();	/* stay inside a little: let readers overlap */
		go_yield();			/* and let another reader in behind us */
		if (rw_a != rw_b)
			atomic_fetch_add(&rw_bad, 1);
		atomic_fetch_add(&rw_reads, 1);
		atomic_fetch_sub(&rw_rinside, 1);
		rw_runlock(&rw);
	}
	wg_done(arg);
}

static void rw_writer(void *arg)
{
	for (int i = 0; i < RW_WITERS; i++) {
		rw_lock(&rw);
		if (atomic_fetch_add(&rw_winside, 1) != 0 || atomic_load(&rw_rinside) != 0)
			atomic_fetch_add(&rw_bad, 1);
		rw_a++;
		if (i % 8 == 0)
			go_yield();
		rw_b++;
		atomic_fetch_sub(&rw_winside, 1);
		rw_unlock(&rw);
		go_yield();
	}
	wg_done(arg);
}

TEST_G(sync, rwmutex_readers_share_writers_exclusive)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	rw_a = rw_b = 0;
	atomic_store(&rw_rmax, 0);
	atomic_store(&rw_bad, 0);
	atomic_store(&rw_reads, 0);
	atomic_store(&rw_arrived, 0);
	wg_add(&wg, RW_READERS + RW_WRITERS);
	for (int i = 0; i < RW_READERS; i++)
		go(rw_reader, &wg);
	while (atomic_load(&rw_arrived) < RW_READERS)
		go_yield();
	for (int i = 0; i < RW_WRITERS; i++)
		go(rw_writer, &wg);
	wg_wait(&wg);
	rw_lock(&rw);
	EXPECT_EQ(rw_a, (uint64_t)RW_WRITERS * RW_WITERS);
	EXPECT_EQ(rw_b, (uint64_t)RW_WRITERS * RW_WITERS);
	rw_unlock(&rw);
	EXPECT_EQ(atomic_load(&rw_reads), (uint64_t)RW_READERS * RW_RITERS);
	EXPECT_EQ(atomic_load(&rw_bad), 0);
	/* the first round had every reader inside at once, at any core count */
	EXPECT_EQ(atomic_load(&rw_rmax), RW_READERS);
}

/* A writer waiting behind a reader blocks a new reader; the writer goes first. */
static struct rwmutex rwq = RWMUTEX_INIT;
static struct g *_Atomic rwq_writer_g, *_Atomic rwq_reader_g;
static _Atomic int rwq_seq, rwq_wseq, rwq_rseq;

static void rwq_writer(void *arg)
{
	atomic_store(&rwq_writer_g, sched_curg());
	rw_lock(&rwq);
	atomic_store(&rwq_wseq, atomic_fetch_add(&rwq_seq, 1) + 1);
	go_yield();
	rw_unlock(&rwq);
	wg_done(arg);
}

static void rwq_reader(void *arg)
{
	atomic_store(&rwq_reader_g, sched_curg());
	rw_rlock(&rwq);
	atomic_store(&rwq_rseq, atomic_fetch_add(&rwq_seq, 1) + 1);
	rw_runlock(&rwq);
	wg_done(arg);
}

TEST_G(sync, rwmutex_waiting_writer_blocks_new_readers)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	atomic_store(&rwq_seq, 0);
	atomic_store(&rwq_wseq, 0);
	atomic_store(&rwq_rseq, 0);
	atomic_store(&rwq_writer_g, NULL);
	atomic_store(&rwq_reader_g, NULL);
	rw_rlock(&rwq);
	wg_add(&wg, 2);
	go(rwq_writer, &wg);
	ASSERT_TRUE(wait_parked(&rwq_writer_g, "sync.RWMutex.Lock"));
	go(rwq_reader, &wg);
	ASSERT_TRUE(wait_parked(&rwq_reader_g, "sync.RWMutex.RLock"));
	EXPECT_EQ(atomic_load(&rwq_seq), 0);
	rw_runlock(&rwq);
	wg_wait(&wg);
	EXPECT_EQ(atomic_load(&rwq_wseq), 1);
	EXPECT_EQ(atomic_load(&rwq_rseq), 2);
}

/* ---- once ----------------------------------------------------------------------------------- */

#define ONCE_GS 32
static struct once once = ONCE_INIT;
static _Atomic int once_ran, once_finished, once_early;

static void once_fn(void *arg)
{
	(void)arg;
	atomic_fetch_add(&once_ran, 1);
	for (int i = 0; i < 20; i++)
		go_yield();	/* let the other callers arrive and wait */
	atomic_store(&once_finished, 1);
}

static void once_caller(void *arg)
{
	once_do(&once, once_fn, NULL);
	if (!atomic_load(&once_finished))
		atomic_fetch_add(&once_early, 1);
	wg_done(arg);
}

TEST_G(sync, once_exactly_once_and_callers_wait)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	wg_add(&wg, ONCE_GS);
	for (int i = 0; i < ONCE_GS; i++)
		go(once_caller, &wg);
	wg_wait(&wg);
	EXPECT_EQ(atomic_load(&once_ran), 1);
	EXPECT_EQ(atomic_load(&once_early), 0);
	once_do(&once, once_fn, NULL);
	EXPECT_EQ(atomic_load(&once_ran), 1);
}

/* ---- cond ------------------------------------------------------------------------------------ */

#define Q_SIZE 8
#define PRODUCERS 4
#define CONSUMERS 4
#define ITEMS 1000		/* per producer */
struct pcq {
	struct mutex m;
	struct cond notempty, notfull;
	uint32_t buf[Q_SIZE];		/* m */
	unsigned head, len;		/* m */
	uint64_t consumed_sum;		/* m */
	uint64_t consumed;		/* m */
	unsigned next_producer;		/* m */
	struct wait_group done;
};

static struct pcq pcq = { MUTEX_INIT, COND_INIT, COND_INIT, { 0 }, 0, 0, 0, 0, 0, WAIT_GROUP_INIT };

static void producer(void *arg)
{
	(void)arg;
	mutex_lock(&pcq.m);
	unsigned me = pcq.next_producer++;
	mutex_unlock(&pcq.m);
	for (uint32_t i = 0; i < ITEMS; i++) {
		mutex_lock(&pcq.m);
		while (pcq.len == Q_SIZE)
			cond_wait(&pcq.notfull, &pcq.m);
		pcq.buf[(pcq.head + pcq.len++) % Q_SIZE] = me * ITEMS + i + 1;
		cond_signal(&pcq.notempty);
		mutex_unlock(&pcq.m);
	}
	wg_done(&pcq.done);
}

static void consumer(void *arg)
{
	(void)arg;
	for (int i = 0; i < PRODUCERS * ITEMS / CONSUMERS; i++) {
		mutex_lock(&pcq.m);
		while (pcq.len == 0)
			cond_wait(&pcq.notempty, &pcq.m);
		uint32_t v = pcq.buf[pcq.head];
		pcq.head = (pcq.head + 1) % Q_SIZE;
		pcq.len--;
		pcq.consumed_sum += v;
		pcq.consumed++;
		cond_signal(&pcq.notfull);
		mutex_unlock(&pcq.m);
	}
	wg_done(&pcq.done);
}

TEST_G(sync, cond_producer_consumer_exact)
{
	pcq.head = pcq.len = 0;
	pcq.consumed_sum = pcq.consumed = 0;
	pcq.next_producer = 0;
	wg_add(&pcq.done, PRODUCERS + CONSUMERS);
	for (int i = 0; i < CONSUMERS; i++)
		go(consumer, NULL);
	for (int i = 0; i < PRODUCERS; i++)
		go(producer, NULL);
	wg_wait(&pcq.done);
	uint64_t n = (uint64_t)PRODUCERS * ITEMS;
	EXPECT_EQ(pcq.consumed, n);
	EXPECT_EQ(pcq.consumed_sum, n * (n + 1) / 2);
	EXPECT_EQ(pcq.len, 0);
}

#define BC_GS 16
static struct mutex bc_m = MUTEX_INIT;
static struct cond bc_c = COND_INIT;
static int bc_go, bc_waiting, bc_woken;	/* bc_m */

static void bc_waiter(void *arg)
{
	mutex_lock(&bc_m);
	bc_waiting++;
	while (!bc_go)
		cond_wait(&bc_c, &bc_m);
	bc_woken++;
	mutex_unlock(&bc_m);
	wg_done(arg);
}

TEST_G(sync, cond_broadcast_wakes_all)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	bc_go = bc_waiting = bc_woken = 0;
	cond_signal(&bc_c);		/* nobody waits: lost, as it should be */
	cond_broadcast(&bc_c);
	wg_add(&wg, BC_GS);
	for (int i = 0; i < BC_GS; i++)
		go(bc_waiter, &wg);
	for (;;) {
		mutex_lock(&bc_m);
		int n = bc_waiting;
		mutex_unlock(&bc_m);
		if (n == BC_GS)
			break;
		go_yield();
	}
	/* one signal wakes one waiter, which finds bc_go unset and waits again */
	cond_signal(&bc_c);
	mutex_lock(&bc_m);
	EXPECT_EQ(bc_woken, 0);
	bc_go = 1;
	cond_broadcast(&bc_c);
	mutex_unlock(&bc_m);
	wg_wait(&wg);
	EXPECT_EQ(bc_woken, BC_GS);
}

/* ---- semaphore -------------------------------------------------------------------------------- */

#define SEMA_GS 8
static struct sema sem = SEMA_INIT(0);
static struct g *_Atomic sem_g[SEMA_GS];
static _Atomic int sem_order[SEMA_GS], sem_done;

struct sem_arg {
	int idx;
	struct wait_group *wg;
};

static void sem_waiter(void *arg)
{
	struct sem_arg *a = arg;
	atomic_store(&sem_g[a->idx], sched_curg());
	sema_acquire(&sem);
	/* one token at a time is released: one waiter at a time is here */
	int k = atomic_load(&sem_done);
	atomic_store(&sem_order[k], a->idx);
	atomic_store(&sem_done, k + 1);
	wg_done(a->wg);
}

TEST_G(sync, sema_fifo)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	static struct sem_arg args[SEMA_GS];
	EXPECT_TRUE(!sema_tryacquire(&sem));
	sema_release(&sem);
	sema_release(&sem);
	EXPECT_TRUE(sema_tryacquire(&sem));
	sema_acquire(&sem);		/* a token is there: no wait */
	EXPECT_TRUE(!sema_tryacquire(&sem));

	atomic_store(&sem_done, 0);
	wg_add(&wg, SEMA_GS);
	for (int i = 0; i < SEMA_GS; i++) {
		atomic_store(&sem_g[i], NULL);
		args[i] = (struct sem_arg){ i, &wg };
		go(sem_waiter, &args[i]);
		ASSERT_TRUE(wait_parked(&sem_g[i], "semacquire"));	/* queued in order */
	}
	for (int i = 0; i < SEMA_GS; i++) {
		sema_release(&sem);
		while (atomic_load(&sem_done) < i + 1)
			go_yield();
		EXPECT_EQ(sem_order[i], i);
	}
	wg_wait(&wg);
	EXPECT_TRUE(!sema_tryacquire(&sem));	/* every token was handed, none counted */
}

/* ---- misuse: each ends the boot with a Go-style panic ---------------------------------- */

TEST_G_EXPLICIT(sync_unlock, panics)
{
	static struct mutex m = MUTEX_INIT;
	mutex_unlock(&m);
	test_fail(__FILE__, __LINE__, "unlock of an unlocked mutex did not panic");
}

TEST_G_EXPLICIT(sync_runlock, panics)
{
	static struct rwmutex m = RWMUTEX_INIT;
	rw_lock(&m);
	rw_runlock(&m);
	test_fail(__FILE__, __LINE__, "RUnlock of a write-locked RWMutex did not panic");
}

TEST_G_EXPLICIT(sync_wunlock, panics)
{
	static struct rwmutex m = RWMUTEX_INIT;
	rw_rlock(&m);
	rw_unlock(&m);
	test_fail(__FILE__, __LINE__, "Unlock of a read-locked RWMutex did not panic");
}

/*
 * Starvation mode: holders sleep with the mutex held, so waiters wait past the 1 ms
 * threshold while the holder re-locks at once each time it unlocks (normal mode lets
 * it): a starved waiter must switch the mutex to hand-off mode, after which every
 * waiter gets its turn. The count is exact and the mode was seen.
 */
#define STARVE_G 4
#define STARVE_N 40
static struct mutex starve_mu = MUTEX_INIT;
static uint64_t starve_count;			/* starve_mu */
static _Atomic bool starve_seen;

static void starve_worker(void *arg)
{
	struct wait_group *wg = arg;
	for (int i = 0; i < STARVE_N; i++) {
		mutex_lock(&starve_mu);
		starve_count++;
		if (atomic_load(&starve_mu.state) & MUTEX_STARVING)
			atomic_store(&starve_seen, true);
		if (i % 8 == 0)
			go_sleep(2000000);	/* 2 ms, holding it */
		mutex_unlock(&starve_mu);
	}
	wg_done(wg);
}

TEST_G(sync, mutex_starvation_mode_hands_off)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	starve_count = 0;
	atomic_store(&starve_seen, false);
	/* rounds until the mode was seen, for up to 20 s: on a loaded machine (the
	 * ThreadSanitizer build under make test's parallel boots) one round could pass
	 * with no waiter kept past the threshold while a holder was in */
	uint64_t t0 = go_now(), rounds = 0;
	do {
		wg_add(&wg, STARVE_G);
		for (int i = 0; i < STARVE_G; i++)
			go(starve_worker, &wg);
		wg_wait(&wg);
		rounds++;
	} while (!atomic_load(&starve_seen) && go_now() - t0 < 20000000000ull);
	mutex_lock(&starve_mu);
	EXPECT_EQ(starve_count, rounds * STARVE_G * STARVE_N);
	mutex_unlock(&starve_mu);
	EXPECT_TRUE(atomic_load(&starve_seen));
	EXPECT_EQ(atomic_load(&starve_mu.state), 0);
}
